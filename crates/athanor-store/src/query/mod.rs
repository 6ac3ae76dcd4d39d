//! The filter language of [`crate::Store::search`]: a subset of the OPTIMADE filter grammar
//! (Andersen et al., *OPTIMADE, an API for exchanging materials data*, Sci. Data 8, 217 (2021);
//! grammar in the OPTIMADE specification, section "API Filtering Format Specification") over
//! Athanor's fields, with physical units on numbers.
//!
//! ```text
//! technique = "TEM" AND d50 < 6 nm AND process.temperature >= 240 degC
//! pl_peak >= 615 nm AND pl_peak <= 625 nm AND NOT status = "failed"
//! campaign = "C0001" AND (size_cv < 10 % OR quantum_yield > 0.6)
//! recipe.growth_temperature > 500 K
//! name CONTAINS "620"
//! d50 IS KNOWN
//! ```
//!
//! ## Grammar
//!
//! ```text
//! filter      := expression END
//! expression  := term { OR term }                      (lowest precedence)
//! term        := factor { AND factor }
//! factor      := NOT factor | '(' expression ')' | comparison
//! comparison  := field operator value
//!              | value operator field                  (6 nm > d50 means d50 < 6 nm)
//!              | field CONTAINS string
//!              | field STARTS [WITH] string
//!              | field ENDS [WITH] string
//!              | field IS KNOWN | field IS UNKNOWN
//! operator    := '=' | '!=' | '<' | '<=' | '>' | '>='
//! value       := string | number [unit]
//! field       := identifier { '.' identifier }         identifier: [A-Za-z_][A-Za-z0-9_]*
//! string      := '"' { character | '\"' | '\\' } '"'
//! number      := [+-] (digits [. digits] | . digits) [(e|E) [+-] digits]
//! unit        := one word right after the number, parsed by athanor_model::units::Unit:
//!                nm, µm, Å, K, degC, %, mol/L, mL/min, eV, … (no spaces inside: mL/min)
//! ```
//!
//! Keywords (`AND`, `OR`, `NOT`, `CONTAINS`, `STARTS`, `ENDS`, `WITH`, `IS`, `KNOWN`,
//! `UNKNOWN`) are matched without regard to case; OPTIMADE writes them in upper case. `NOT`
//! binds tighter than `AND`, which binds tighter than `OR`: `a OR b AND c` is `a OR (b AND c)`.
//!
//! ## Fields
//!
//! | field | meaning |
//! |---|---|
//! | `id`, `lab_id` | the experiment's ids (text) |
//! | `status` | `planned`, `completed` or `failed` (text) |
//! | `seq` | position in its campaign (whole number) |
//! | `campaign` | the campaign's lab id (`C0001`) or its name: either may match |
//! | `name` | the campaign's name (experiments have no name of their own) |
//! | `technique` | technique of a measurement (`TEM`, `PL`, …) |
//! | `recipe.<p>`, `process.<p>` | recipe parameter `<p>` (number with unit) |
//! | `result.<r>`, `<r>` | result property `<r>` (number with unit): any stored result name |
//!
//! Numbers are compared in physical terms: the query's value is converted to each unit the
//! property is stored in (`d50 < 0.006 µm` finds a d50 stored as `5 nm`); a dimensionless
//! number and a percentage compare as fractions (`0.6` = `60 %`). A unit of the wrong
//! dimension, or a missing unit on a dimensioned property, is an error naming the field.
//!
//! A field with several values (`technique`: an experiment has several measurements) matches
//! when *any* of its values matches; so `technique != "TEM"` means "has a measurement that is
//! not TEM", and `NOT technique = "TEM"` means "has no TEM measurement". A comparison with a
//! value the experiment does not have is false, as in OPTIMADE: `d50 < 6 nm` and
//! `d50 >= 6 nm` both exclude experiments without a d50 (`d50 IS UNKNOWN` finds those).
//!
//! Errors are [`crate::StoreError::Query`] with the 1-based character position of the problem.

pub(crate) mod sql;

use crate::error::StoreError;
use athanor_model::units::Unit;
use std::fmt;

/// The deepest nesting of parentheses and `NOT`s accepted: the parser is recursive, and a
/// filter is user input, so its depth must be bounded (a stack overflow is not an error).
pub const MAX_NESTING: usize = 64;

/// A parsed filter: the root of the expression tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// Both sides match.
    And(Box<Expr>, Box<Expr>),
    /// Either side matches.
    Or(Box<Expr>, Box<Expr>),
    /// The inner expression does not match.
    Not(Box<Expr>),
    /// `field op value`.
    Compare {
        /// The field compared.
        field: Field,
        /// The comparison.
        op: CompareOp,
        /// The value it is compared with.
        value: Literal,
    },
    /// `field CONTAINS "…"`, `field STARTS WITH "…"`, `field ENDS WITH "…"`.
    Text {
        /// The field searched.
        field: Field,
        /// Which kind of match.
        op: TextOp,
        /// The text looked for.
        text: String,
        /// Position of the quoted text.
        position: usize,
    },
    /// `field IS KNOWN` (`known = true`) or `field IS UNKNOWN`.
    Known {
        /// The field.
        field: Field,
        /// `true` for `IS KNOWN`.
        known: bool,
    },
}

/// A field name as written (`d50`, `recipe.growth_temperature`), with its position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The name, dots included.
    pub name: String,
    /// 1-based character position of its first character.
    pub position: usize,
}

/// A comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CompareOp {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `>`
    Gt,
    /// `>=`
    Ge,
}

impl CompareOp {
    /// The operator as written in a filter.
    pub fn symbol(self) -> &'static str {
        match self {
            CompareOp::Eq => "=",
            CompareOp::Ne => "!=",
            CompareOp::Lt => "<",
            CompareOp::Le => "<=",
            CompareOp::Gt => ">",
            CompareOp::Ge => ">=",
        }
    }

    /// The operator with its sides swapped: `a < b` is `b > a`.
    pub fn mirrored(self) -> CompareOp {
        match self {
            CompareOp::Lt => CompareOp::Gt,
            CompareOp::Le => CompareOp::Ge,
            CompareOp::Gt => CompareOp::Lt,
            CompareOp::Ge => CompareOp::Le,
            other => other,
        }
    }
}

/// A string operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextOp {
    /// `CONTAINS`
    Contains,
    /// `STARTS WITH`
    StartsWith,
    /// `ENDS WITH`
    EndsWith,
}

impl TextOp {
    /// The operator as written in a filter.
    pub fn keyword(self) -> &'static str {
        match self {
            TextOp::Contains => "CONTAINS",
            TextOp::StartsWith => "STARTS WITH",
            TextOp::EndsWith => "ENDS WITH",
        }
    }
}

/// A value in a comparison.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// A number, with its unit if one was written.
    Number {
        /// The number as written (for messages).
        text: String,
        /// Its value.
        value: f64,
        /// Its unit; `None` when none was written (a plain or dimensionless number).
        unit: Option<Unit>,
        /// 1-based character position of the number.
        position: usize,
    },
    /// A quoted string (escapes resolved).
    Text {
        /// The string.
        value: String,
        /// 1-based character position of the opening quote.
        position: usize,
    },
}

impl Literal {
    /// Where the value starts in the filter.
    pub fn position(&self) -> usize {
        match self {
            Literal::Number { position, .. } | Literal::Text { position, .. } => *position,
        }
    }
}

impl fmt::Display for Literal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Literal::Number {
                text, unit: None, ..
            } => write!(f, "{text}"),
            Literal::Number {
                text,
                unit: Some(unit),
                ..
            } => write!(f, "{text} {unit}"),
            Literal::Text { value, .. } => write!(f, "{value:?}"),
        }
    }
}

/// Parses a filter into its expression tree, or fails with [`StoreError::Query`] naming the
/// problem and its position. Does not look at any data: whether the fields exist and units fit
/// is checked by [`crate::Store::search`].
pub fn parse(filter: &str) -> Result<Expr, StoreError> {
    let tokens = lex(filter)?;
    let mut parser = Parser {
        tokens,
        next: 0,
        depth: 0,
    };
    if parser.peek().kind == TokenKind::End {
        return Err(query_error(1, "the filter is empty"));
    }
    let expr = parser.expression()?;
    let token = parser.peek();
    if token.kind != TokenKind::End {
        let message = match token.kind {
            TokenKind::RParen => "')' without a matching '('".to_string(),
            _ => format!(
                "expected AND, OR or the end of the filter, found {}",
                token.kind
            ),
        };
        return Err(query_error(token.position, message));
    }
    Ok(expr)
}

pub(crate) fn query_error(position: usize, message: impl Into<String>) -> StoreError {
    StoreError::Query {
        position,
        message: message.into(),
    }
}

// --------------------------------------------------------------------------------------------
// Lexer
// --------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq)]
enum TokenKind {
    Identifier(String),
    Number {
        text: String,
        value: f64,
        unit: Option<Unit>,
    },
    Text(String),
    Operator(CompareOp),
    LParen,
    RParen,
    Keyword(Keyword),
    End,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Keyword {
    And,
    Or,
    Not,
    Contains,
    Starts,
    Ends,
    With,
    Is,
    Known,
    Unknown,
}

const KEYWORDS: [(&str, Keyword); 10] = [
    ("AND", Keyword::And),
    ("OR", Keyword::Or),
    ("NOT", Keyword::Not),
    ("CONTAINS", Keyword::Contains),
    ("STARTS", Keyword::Starts),
    ("ENDS", Keyword::Ends),
    ("WITH", Keyword::With),
    ("IS", Keyword::Is),
    ("KNOWN", Keyword::Known),
    ("UNKNOWN", Keyword::Unknown),
];

fn keyword(word: &str) -> Option<Keyword> {
    KEYWORDS
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case(word))
        .map(|(_, keyword)| *keyword)
}

impl fmt::Display for TokenKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenKind::Identifier(name) => write!(f, "`{name}`"),
            TokenKind::Number {
                text, unit: None, ..
            } => write!(f, "the number {text}"),
            TokenKind::Number {
                text,
                unit: Some(unit),
                ..
            } => write!(f, "the value {text} {unit}"),
            TokenKind::Text(text) => write!(f, "the string {text:?}"),
            TokenKind::Operator(op) => write!(f, "'{}'", op.symbol()),
            TokenKind::LParen => f.write_str("'('"),
            TokenKind::RParen => f.write_str("')'"),
            TokenKind::Keyword(keyword) => {
                let name = KEYWORDS
                    .iter()
                    .find(|(_, k)| k == keyword)
                    .map_or("?", |(name, _)| name);
                f.write_str(name)
            }
            TokenKind::End => f.write_str("the end of the filter"),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Token {
    kind: TokenKind,
    /// 1-based character position.
    position: usize,
}

fn is_identifier_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_identifier_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Characters that end a unit word besides white space.
fn ends_unit(c: char) -> bool {
    c.is_whitespace() || matches!(c, '(' | ')' | '"' | '<' | '>' | '=' | '!')
}

fn starts_unit(c: char) -> bool {
    c.is_alphabetic() || matches!(c, '%' | '°' | 'µ' | 'μ' | 'Å')
}

fn lex(filter: &str) -> Result<Vec<Token>, StoreError> {
    let chars: Vec<char> = filter.chars().collect();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let position = i + 1;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let kind = if c == '(' {
            i += 1;
            TokenKind::LParen
        } else if c == ')' {
            i += 1;
            TokenKind::RParen
        } else if matches!(c, '=' | '!' | '<' | '>') {
            let followed_by_eq = chars.get(i + 1) == Some(&'=');
            let (op, len) = match (c, followed_by_eq) {
                ('=', _) => (CompareOp::Eq, 1),
                ('!', true) => (CompareOp::Ne, 2),
                ('<', true) => (CompareOp::Le, 2),
                ('<', false) => (CompareOp::Lt, 1),
                ('>', true) => (CompareOp::Ge, 2),
                ('>', false) => (CompareOp::Gt, 1),
                _ => return Err(query_error(position, "'!' must be followed by '=' (!=)")),
            };
            i += len;
            TokenKind::Operator(op)
        } else if c == '"' {
            let (text, end) = lex_string(&chars, i)?;
            i = end;
            TokenKind::Text(text)
        } else if c.is_ascii_digit()
            || ((c == '.' || c == '-' || c == '+') && starts_number(&chars[i + 1..], c != '.'))
        {
            let (kind, end) = lex_number(&chars, i)?;
            i = end;
            kind
        } else if is_identifier_start(c) {
            let start = i;
            while i < chars.len() {
                if is_identifier_char(chars[i]) {
                    i += 1;
                } else if chars[i] == '.'
                    && chars.get(i + 1).copied().is_some_and(is_identifier_start)
                {
                    i += 2;
                } else {
                    break;
                }
            }
            let word: String = chars[start..i].iter().collect();
            match keyword(&word) {
                Some(keyword) => TokenKind::Keyword(keyword),
                None => TokenKind::Identifier(word),
            }
        } else {
            let hint = if c == '\'' {
                " (strings are written in double quotes: \"TEM\")"
            } else {
                ""
            };
            return Err(query_error(
                position,
                format!("unexpected character '{c}'{hint}"),
            ));
        };
        tokens.push(Token { kind, position });
    }
    tokens.push(Token {
        kind: TokenKind::End,
        position: chars.len() + 1,
    });
    Ok(tokens)
}

/// Whether what follows a sign (`allow_dot`: or a sign) starts a number: a digit, or a dot
/// and a digit.
fn starts_number(rest: &[char], allow_dot: bool) -> bool {
    match rest {
        [d, ..] if d.is_ascii_digit() => true,
        ['.', d, ..] if allow_dot && d.is_ascii_digit() => true,
        _ => false,
    }
}

/// A double-quoted string starting at `start`; returns it (escapes resolved) and the index
/// after the closing quote.
fn lex_string(chars: &[char], start: usize) -> Result<(String, usize), StoreError> {
    let mut text = String::new();
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i] {
            '"' => return Ok((text, i + 1)),
            '\\' => match chars.get(i + 1) {
                Some(&escaped @ ('"' | '\\')) => {
                    text.push(escaped);
                    i += 2;
                }
                _ => {
                    return Err(query_error(
                        i + 1,
                        "unknown escape in a string (only \\\" and \\\\ are allowed)",
                    ))
                }
            },
            c => {
                text.push(c);
                i += 1;
            }
        }
    }
    Err(query_error(
        start + 1,
        "unterminated string: no closing '\"' for the quote here",
    ))
}

/// A number (and the unit written right after it) starting at `start`.
fn lex_number(chars: &[char], start: usize) -> Result<(TokenKind, usize), StoreError> {
    let mut i = start;
    if matches!(chars[i], '+' | '-') {
        i += 1;
    }
    while i < chars.len() && chars[i].is_ascii_digit() {
        i += 1;
    }
    if i < chars.len() && chars[i] == '.' {
        i += 1;
        while i < chars.len() && chars[i].is_ascii_digit() {
            i += 1;
        }
    }
    // An exponent only if digits follow (`6eV` is 6 electronvolts, `6e3` is 6000).
    if i < chars.len() && matches!(chars[i], 'e' | 'E') {
        let mut j = i + 1;
        if j < chars.len() && matches!(chars[j], '+' | '-') {
            j += 1;
        }
        if j < chars.len() && chars[j].is_ascii_digit() {
            while j < chars.len() && chars[j].is_ascii_digit() {
                j += 1;
            }
            i = j;
        }
    }
    let text: String = chars[start..i].iter().collect();
    let value: f64 = text
        .parse()
        .map_err(|e| query_error(start + 1, format!("'{text}' is not a number: {e}")))?;
    if !value.is_finite() {
        return Err(query_error(
            start + 1,
            format!("the number {text} is too large"),
        ));
    }
    // The unit: the next word, unless it is a keyword (`6 AND …`).
    let mut j = i;
    while j < chars.len() && chars[j].is_whitespace() {
        j += 1;
    }
    let mut unit = None;
    if j < chars.len() && starts_unit(chars[j]) {
        let unit_start = j;
        while j < chars.len() && !ends_unit(chars[j]) {
            j += 1;
        }
        let word: String = chars[unit_start..j].iter().collect();
        if keyword(&word).is_none() {
            let parsed = Unit::parse(&word)
                .map_err(|e| query_error(unit_start + 1, format!("{e} after the number {text}")))?;
            unit = Some(parsed);
            i = j;
        }
    }
    Ok((TokenKind::Number { text, value, unit }, i))
}

// --------------------------------------------------------------------------------------------
// Parser
// --------------------------------------------------------------------------------------------

struct Parser {
    tokens: Vec<Token>,
    next: usize,
    depth: usize,
}

impl Parser {
    fn peek(&self) -> &Token {
        // The lexer always ends the list with `End`, and `advance` never moves past it.
        &self.tokens[self.next.min(self.tokens.len() - 1)]
    }

    fn advance(&mut self) -> Token {
        let token = self.peek().clone();
        if token.kind != TokenKind::End {
            self.next += 1;
        }
        token
    }

    fn at_keyword(&self, keyword: Keyword) -> bool {
        self.peek().kind == TokenKind::Keyword(keyword)
    }

    fn expression(&mut self) -> Result<Expr, StoreError> {
        let mut left = self.term()?;
        while self.at_keyword(Keyword::Or) {
            self.advance();
            let right = self.term()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn term(&mut self) -> Result<Expr, StoreError> {
        let mut left = self.factor()?;
        while self.at_keyword(Keyword::And) {
            self.advance();
            let right = self.factor()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn nested<T>(
        &mut self,
        position: usize,
        parse: impl FnOnce(&mut Parser) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        if self.depth >= MAX_NESTING {
            return Err(query_error(
                position,
                format!("the filter nests parentheses and NOTs more than {MAX_NESTING} deep"),
            ));
        }
        self.depth += 1;
        let result = parse(self);
        self.depth -= 1;
        result
    }

    fn factor(&mut self) -> Result<Expr, StoreError> {
        let token = self.peek().clone();
        match &token.kind {
            TokenKind::Keyword(Keyword::Not) => {
                self.advance();
                let inner = self.nested(token.position, Parser::factor)?;
                Ok(Expr::Not(Box::new(inner)))
            }
            TokenKind::LParen => {
                self.advance();
                let inner = self.nested(token.position, Parser::expression)?;
                let close = self.advance();
                if close.kind != TokenKind::RParen {
                    return Err(query_error(
                        close.position,
                        format!(
                            "expected ')' to close the '(' at position {}, found {}",
                            token.position, close.kind
                        ),
                    ));
                }
                Ok(inner)
            }
            TokenKind::Identifier(name) => {
                self.advance();
                let field = Field {
                    name: name.clone(),
                    position: token.position,
                };
                self.after_field(field)
            }
            TokenKind::Number { .. } | TokenKind::Text(_) => {
                // `value op field`: the mirrored form of `field op value`.
                self.advance();
                let Some(value) = literal(token.clone()) else {
                    return Err(query_error(token.position, "expected a value"));
                };
                let op_token = self.advance();
                let TokenKind::Operator(op) = op_token.kind else {
                    return Err(query_error(
                        op_token.position,
                        format!(
                            "expected a comparison (=, !=, <, <=, >, >=) after {}, found {}",
                            token.kind, op_token.kind
                        ),
                    ));
                };
                let field_token = self.advance();
                let TokenKind::Identifier(name) = field_token.kind else {
                    return Err(query_error(
                        field_token.position,
                        format!(
                            "expected a field name after '{}' (a value must be compared with \
                             a field), found {}",
                            op.symbol(),
                            field_token.kind
                        ),
                    ));
                };
                Ok(Expr::Compare {
                    field: Field {
                        name,
                        position: field_token.position,
                    },
                    op: op.mirrored(),
                    value,
                })
            }
            other => Err(query_error(
                token.position,
                format!("expected a field name, a value, NOT or '(', found {other}"),
            )),
        }
    }

    fn after_field(&mut self, field: Field) -> Result<Expr, StoreError> {
        let token = self.advance();
        match token.kind {
            TokenKind::Operator(op) => {
                let value_token = self.advance();
                match literal(value_token.clone()) {
                    Some(value) => Ok(Expr::Compare { field, op, value }),
                    None => Err(query_error(
                        value_token.position,
                        format!(
                            "expected a value after '{}' (a number with an optional unit, or a \
                             quoted string), found {}",
                            op.symbol(),
                            value_token.kind
                        ),
                    )),
                }
            }
            TokenKind::Keyword(keyword @ (Keyword::Contains | Keyword::Starts | Keyword::Ends)) => {
                let op = match keyword {
                    Keyword::Contains => TextOp::Contains,
                    Keyword::Starts => TextOp::StartsWith,
                    _ => TextOp::EndsWith,
                };
                if op != TextOp::Contains && self.at_keyword(Keyword::With) {
                    self.advance();
                }
                let text_token = self.advance();
                match text_token.kind {
                    TokenKind::Text(text) => Ok(Expr::Text {
                        field,
                        op,
                        text,
                        position: text_token.position,
                    }),
                    other => Err(query_error(
                        text_token.position,
                        format!(
                            "expected a quoted string after {}, found {other}",
                            op.keyword()
                        ),
                    )),
                }
            }
            TokenKind::Keyword(Keyword::Is) => {
                let next = self.advance();
                match next.kind {
                    TokenKind::Keyword(Keyword::Known) => Ok(Expr::Known { field, known: true }),
                    TokenKind::Keyword(Keyword::Unknown) => Ok(Expr::Known {
                        field,
                        known: false,
                    }),
                    other => Err(query_error(
                        next.position,
                        format!("expected KNOWN or UNKNOWN after IS, found {other}"),
                    )),
                }
            }
            other => Err(query_error(
                token.position,
                format!(
                    "expected an operator after `{}` (=, !=, <, <=, >, >=, CONTAINS, STARTS \
                     WITH, ENDS WITH, IS KNOWN or IS UNKNOWN), found {other}",
                    field.name
                ),
            )),
        }
    }
}

/// The literal a number or string token stands for, `None` for any other token.
fn literal(token: Token) -> Option<Literal> {
    match token.kind {
        TokenKind::Number { text, value, unit } => Some(Literal::Number {
            text,
            value,
            unit,
            position: token.position,
        }),
        TokenKind::Text(value) => Some(Literal::Text {
            value,
            position: token.position,
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(name: &str, position: usize) -> Field {
        Field {
            name: name.to_string(),
            position,
        }
    }

    fn error_of(filter: &str) -> (usize, String) {
        match parse(filter) {
            Err(StoreError::Query { position, message }) => (position, message),
            other => panic!("expected a query error for {filter:?}, got {other:?}"),
        }
    }

    #[test]
    fn and_binds_tighter_than_or_and_not_tighter_than_and() {
        let expr = parse("a = 1 OR NOT b = 2 AND c = 3").unwrap();
        let Expr::Or(left, right) = expr else {
            panic!("OR must be the root: {expr:?}")
        };
        assert!(matches!(*left, Expr::Compare { ref field, .. } if field.name == "a"));
        let Expr::And(not_b, c) = *right else {
            panic!("AND must be under OR")
        };
        assert!(matches!(*not_b, Expr::Not(_)));
        assert!(matches!(*c, Expr::Compare { ref field, .. } if field.name == "c"));
        // Parentheses override.
        let grouped = parse("(a = 1 OR b = 2) AND c = 3").unwrap();
        assert!(matches!(grouped, Expr::And(ref l, _) if matches!(**l, Expr::Or(..))));
    }

    #[test]
    fn numbers_take_units_and_keywords_are_not_units() {
        let expr = parse("d50 < 6 nm AND x >= -1.5e3 AND y = 6eV AND z < 10% AND q > 0.6").unwrap();
        let mut found = Vec::new();
        fn walk(expr: &Expr, found: &mut Vec<(String, f64, Option<String>)>) {
            match expr {
                Expr::And(a, b) | Expr::Or(a, b) => {
                    walk(a, found);
                    walk(b, found);
                }
                Expr::Compare {
                    field,
                    value: Literal::Number { value, unit, .. },
                    ..
                } => found.push((
                    field.name.clone(),
                    *value,
                    unit.as_ref().map(|u| u.symbol().to_string()),
                )),
                other => panic!("unexpected {other:?}"),
            }
        }
        walk(&expr, &mut found);
        assert_eq!(
            found,
            vec![
                ("d50".into(), 6.0, Some("nm".into())),
                ("x".into(), -1500.0, None),
                ("y".into(), 6.0, Some("eV".into())),
                ("z".into(), 10.0, Some("%".into())),
                ("q".into(), 0.6, None),
            ]
        );
    }

    #[test]
    fn strings_fields_and_string_operators() {
        assert_eq!(
            parse(r#"name CONTAINS "a \"b\" \\ c""#).unwrap(),
            Expr::Text {
                field: field("name", 1),
                op: TextOp::Contains,
                text: r#"a "b" \ c"#.to_string(),
                position: 15,
            }
        );
        assert!(matches!(
            parse(r#"lab_id starts "C0001""#).unwrap(),
            Expr::Text {
                op: TextOp::StartsWith,
                ..
            }
        ));
        assert!(matches!(
            parse(r#"lab_id ENDS WITH "E001""#).unwrap(),
            Expr::Text {
                op: TextOp::EndsWith,
                ..
            }
        ));
        assert_eq!(
            parse("recipe.growth_temperature IS UNKNOWN").unwrap(),
            Expr::Known {
                field: field("recipe.growth_temperature", 1),
                known: false
            }
        );
    }

    #[test]
    fn a_value_on_the_left_mirrors_the_operator() {
        let Expr::Compare { field, op, value } = parse("6 nm > d50").unwrap() else {
            panic!("not a comparison")
        };
        assert_eq!(field, self::field("d50", 8));
        assert_eq!(op, CompareOp::Lt);
        assert_eq!(value.position(), 1);
    }

    #[test]
    fn errors_name_the_problem_and_its_position() {
        let filter = r#"technique = "TEM" AND d50 < AND x = 1"#;
        assert_eq!(
            error_of(filter),
            (
                29,
                "expected a value after '<' (a number with an optional unit, or a quoted \
                 string), found AND"
                    .to_string()
            )
        );
        assert_eq!(error_of("d50 < 6 nm AND").0, 15);
        assert_eq!(error_of("").0, 1);
        assert_eq!(error_of("(d50 < 6 nm").1, {
            "expected ')' to close the '(' at position 1, found the end of the filter"
        });
        assert_eq!(error_of("d50 < 6 nm)").1, "')' without a matching '('");
        assert_eq!(error_of("d50 < 6 furlongs").0, 9);
        assert!(error_of("d50 < 6 furlongs").1.contains("furlongs"));
        assert_eq!(error_of(r#"name = "abc"#).0, 8);
        assert_eq!(error_of("name = 'abc'").0, 8);
        assert_eq!(error_of("d50 ! 3").0, 5);
        assert_eq!(error_of("d50 6").0, 5);
        assert_eq!(error_of("status IS maybe").0, 11);
        assert_eq!(error_of("name CONTAINS 6").0, 15);
        assert_eq!(error_of("d50 < 6 nm d50").0, 12);
        // Positions count characters, not bytes.
        assert_eq!(error_of("d50 < 6 µm AND <").0, 16);
    }

    #[test]
    fn nesting_is_bounded() {
        let deep = format!("{}a = 1{}", "(".repeat(10_000), ")".repeat(10_000));
        let (position, message) = error_of(&deep);
        assert_eq!(position, MAX_NESTING + 1);
        assert!(message.contains("deep"), "{message}");
        let nots = format!("{}a = 1", "NOT ".repeat(10_000));
        assert!(error_of(&nots).1.contains("deep"));
        let fine = format!("{}a = 1{}", "(".repeat(30), ")".repeat(30));
        assert!(parse(&fine).is_ok());
    }
}
