//! Physical units parsed at run time, with dimensions, so that a value typed in a campaign file or
//! read from an instrument file can be checked ("is this a temperature?") and converted.
//!
//! A unit is a scale (and, for temperatures on a shifted scale such as °C, an offset) relative to
//! the SI base units, plus a dimension vector. Compound units are written with `*`, `·`, `/`,
//! spaces and integer powers: `mol/L`, `mol L^-1`, `mL/min`, `m^2`, `1/s`.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Exponents of the SI base dimensions (length, mass, time, temperature, amount, current, luminous
/// intensity). Dimensionless quantities (ratios, %, monolayers) have all exponents zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Dimension {
    /// Exponent of length (m).
    pub length: i8,
    /// Exponent of mass (kg).
    pub mass: i8,
    /// Exponent of time (s).
    pub time: i8,
    /// Exponent of thermodynamic temperature (K).
    pub temperature: i8,
    /// Exponent of amount of substance (mol).
    pub amount: i8,
    /// Exponent of electric current (A).
    pub current: i8,
    /// Exponent of luminous intensity (cd).
    pub luminous: i8,
}

impl Dimension {
    /// No dimension: ratios, fractions, counts.
    pub const NONE: Dimension = Dimension::new([0, 0, 0, 0, 0, 0, 0]);
    /// Length (m).
    pub const LENGTH: Dimension = Dimension::new([1, 0, 0, 0, 0, 0, 0]);
    /// Mass (kg).
    pub const MASS: Dimension = Dimension::new([0, 1, 0, 0, 0, 0, 0]);
    /// Time (s).
    pub const TIME: Dimension = Dimension::new([0, 0, 1, 0, 0, 0, 0]);
    /// Temperature (K).
    pub const TEMPERATURE: Dimension = Dimension::new([0, 0, 0, 1, 0, 0, 0]);
    /// Amount of substance (mol).
    pub const AMOUNT: Dimension = Dimension::new([0, 0, 0, 0, 1, 0, 0]);
    /// Volume (m³).
    pub const VOLUME: Dimension = Dimension::new([3, 0, 0, 0, 0, 0, 0]);
    /// Amount concentration (mol/m³).
    pub const CONCENTRATION: Dimension = Dimension::new([-3, 0, 0, 0, 1, 0, 0]);
    /// Energy (J).
    pub const ENERGY: Dimension = Dimension::new([2, 1, -2, 0, 0, 0, 0]);

    const fn new(e: [i8; 7]) -> Dimension {
        Dimension {
            length: e[0],
            mass: e[1],
            time: e[2],
            temperature: e[3],
            amount: e[4],
            current: e[5],
            luminous: e[6],
        }
    }

    fn exponents(self) -> [i8; 7] {
        [
            self.length,
            self.mass,
            self.time,
            self.temperature,
            self.amount,
            self.current,
            self.luminous,
        ]
    }

    fn combine(self, other: Dimension, power: i8) -> Dimension {
        let a = self.exponents();
        let b = other.exponents();
        let mut out = [0i8; 7];
        for i in 0..7 {
            out[i] = a[i] + b[i] * power;
        }
        Dimension::new(out)
    }

    /// A short human name for the common dimensions ("temperature", "length", …), or the
    /// exponents in SI base units otherwise.
    pub fn describe(self) -> String {
        let named = [
            (Dimension::NONE, "dimensionless"),
            (Dimension::LENGTH, "length"),
            (Dimension::MASS, "mass"),
            (Dimension::TIME, "time"),
            (Dimension::TEMPERATURE, "temperature"),
            (Dimension::AMOUNT, "amount of substance"),
            (Dimension::VOLUME, "volume"),
            (Dimension::CONCENTRATION, "concentration"),
            (Dimension::ENERGY, "energy"),
        ];
        if let Some((_, name)) = named.iter().find(|(d, _)| *d == self) {
            return (*name).to_string();
        }
        let symbols = ["m", "kg", "s", "K", "mol", "A", "cd"];
        let parts: Vec<String> = self
            .exponents()
            .iter()
            .zip(symbols)
            .filter(|(e, _)| **e != 0)
            .map(|(e, s)| {
                if *e == 1 {
                    s.to_string()
                } else {
                    format!("{s}^{e}")
                }
            })
            .collect();
        parts.join("·")
    }
}

/// Why a unit string could not be understood or used.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum UnitError {
    /// A symbol that is not in the unit table.
    #[error("unknown unit `{symbol}` in `{text}`")]
    UnknownSymbol {
        /// The symbol that was not recognised.
        symbol: String,
        /// The whole unit text.
        text: String,
    },
    /// A malformed power such as `m^x`.
    #[error("malformed power in unit `{0}`")]
    BadPower(String),
    /// A temperature on a shifted scale (°C, °F) multiplied or divided by something else.
    #[error("unit `{0}` combines an offset temperature scale (degC/degF) with other units; use K")]
    OffsetInCompound(String),
    /// Two units of different dimension.
    #[error("unit `{from}` ({from_dim}) cannot be converted to `{to}` ({to_dim})")]
    Incompatible {
        /// The source unit.
        from: String,
        /// Its dimension.
        from_dim: String,
        /// The target unit.
        to: String,
        /// Its dimension.
        to_dim: String,
    },
}

/// A parsed unit: `value_in_si = value * scale + offset`.
#[derive(Debug, Clone, PartialEq)]
pub struct Unit {
    symbol: String,
    dimension: Dimension,
    scale: f64,
    offset: f64,
}

struct BaseUnit {
    symbol: &'static str,
    dimension: Dimension,
    scale: f64,
    offset: f64,
    takes_prefix: bool,
}

const fn base(
    symbol: &'static str,
    dimension: Dimension,
    scale: f64,
    offset: f64,
    takes_prefix: bool,
) -> BaseUnit {
    BaseUnit {
        symbol,
        dimension,
        scale,
        offset,
        takes_prefix,
    }
}

const PRESSURE: Dimension = Dimension::new([-1, 1, -2, 0, 0, 0, 0]);
const FREQUENCY: Dimension = Dimension::new([0, 0, -1, 0, 0, 0, 0]);
const POWER: Dimension = Dimension::new([2, 1, -3, 0, 0, 0, 0]);
const CHARGE: Dimension = Dimension::new([0, 0, 1, 0, 0, 1, 0]);
const VOLTAGE: Dimension = Dimension::new([2, 1, -3, 0, 0, -1, 0]);

/// The unit table. Symbols that take SI prefixes are marked; prefixed forms are tried only when
/// the whole symbol is not itself in the table (so `min` is minutes, not milli-inches).
const BASE_UNITS: &[BaseUnit] = &[
    base("m", Dimension::LENGTH, 1.0, 0.0, true),
    base("Å", Dimension::LENGTH, 1e-10, 0.0, false),
    base("angstrom", Dimension::LENGTH, 1e-10, 0.0, false),
    base("g", Dimension::MASS, 1e-3, 0.0, true),
    base("s", Dimension::TIME, 1.0, 0.0, true),
    base("min", Dimension::TIME, 60.0, 0.0, false),
    base("h", Dimension::TIME, 3600.0, 0.0, false),
    base("K", Dimension::TEMPERATURE, 1.0, 0.0, true),
    base("degC", Dimension::TEMPERATURE, 1.0, 273.15, false),
    base("°C", Dimension::TEMPERATURE, 1.0, 273.15, false),
    base("celsius", Dimension::TEMPERATURE, 1.0, 273.15, false),
    base(
        "degF",
        Dimension::TEMPERATURE,
        5.0 / 9.0,
        273.15 - 32.0 * 5.0 / 9.0,
        false,
    ),
    base(
        "°F",
        Dimension::TEMPERATURE,
        5.0 / 9.0,
        273.15 - 32.0 * 5.0 / 9.0,
        false,
    ),
    base("mol", Dimension::AMOUNT, 1.0, 0.0, true),
    base("L", Dimension::VOLUME, 1e-3, 0.0, true),
    base("l", Dimension::VOLUME, 1e-3, 0.0, true),
    base("M", Dimension::CONCENTRATION, 1e3, 0.0, true),
    base("J", Dimension::ENERGY, 1.0, 0.0, true),
    base("eV", Dimension::ENERGY, 1.602_176_634e-19, 0.0, true),
    base("W", POWER, 1.0, 0.0, true),
    base("Pa", PRESSURE, 1.0, 0.0, true),
    base("bar", PRESSURE, 1e5, 0.0, true),
    base("atm", PRESSURE, 101_325.0, 0.0, false),
    base("Hz", FREQUENCY, 1.0, 0.0, true),
    base("rpm", FREQUENCY, 1.0 / 60.0, 0.0, false),
    base("A", Dimension::new([0, 0, 0, 0, 0, 1, 0]), 1.0, 0.0, true),
    base("C", CHARGE, 1.0, 0.0, true),
    base("V", VOLTAGE, 1.0, 0.0, true),
    base("%", Dimension::NONE, 1e-2, 0.0, false),
    base("percent", Dimension::NONE, 1e-2, 0.0, false),
    base("ppm", Dimension::NONE, 1e-6, 0.0, false),
    base("1", Dimension::NONE, 1.0, 0.0, false),
    base("ML", Dimension::NONE, 1.0, 0.0, false),
    base("monolayer", Dimension::NONE, 1.0, 0.0, false),
    base("monolayers", Dimension::NONE, 1.0, 0.0, false),
    base("px", Dimension::NONE, 1.0, 0.0, false),
    base("counts", Dimension::NONE, 1.0, 0.0, false),
    base("a.u.", Dimension::NONE, 1.0, 0.0, false),
];

const PREFIXES: &[(&str, f64)] = &[
    ("Y", 1e24),
    ("Z", 1e21),
    ("E", 1e18),
    ("P", 1e15),
    ("T", 1e12),
    ("G", 1e9),
    ("M", 1e6),
    ("k", 1e3),
    ("h", 1e2),
    ("da", 1e1),
    ("d", 1e-1),
    ("c", 1e-2),
    ("m", 1e-3),
    ("µ", 1e-6),
    ("μ", 1e-6),
    ("u", 1e-6),
    ("n", 1e-9),
    ("p", 1e-12),
    ("f", 1e-15),
    ("a", 1e-18),
];

fn lookup_symbol(symbol: &str) -> Option<(Dimension, f64, f64)> {
    if let Some(b) = BASE_UNITS.iter().find(|b| b.symbol == symbol) {
        return Some((b.dimension, b.scale, b.offset));
    }
    for (prefix, factor) in PREFIXES {
        if let Some(rest) = symbol.strip_prefix(prefix) {
            if let Some(b) = BASE_UNITS
                .iter()
                .find(|b| b.takes_prefix && b.symbol == rest)
            {
                return Some((b.dimension, b.scale * factor, b.offset));
            }
        }
    }
    None
}

impl Unit {
    /// Parses a unit string such as `degC`, `nm`, `mol/L`, `mL min^-1` or `%`. An empty string
    /// is dimensionless.
    pub fn parse(text: &str) -> Result<Unit, UnitError> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Ok(Unit::dimensionless());
        }
        let mut dimension = Dimension::NONE;
        let mut scale = 1.0;
        let mut offset = 0.0;
        let mut factors = 0;
        // Split into factors, remembering whether each one follows a '/'.
        let mut denominator = false;
        let mut token = String::new();
        let mut pieces: Vec<(String, bool)> = Vec::new();
        for ch in trimmed.chars() {
            match ch {
                '*' | '·' | ' ' | '/' => {
                    if !token.is_empty() {
                        pieces.push((std::mem::take(&mut token), denominator));
                    }
                    if ch == '/' {
                        denominator = true;
                    }
                }
                _ => token.push(ch),
            }
        }
        if !token.is_empty() {
            pieces.push((token, denominator));
        }
        for (piece, in_denominator) in pieces {
            let (symbol, power) =
                split_power(&piece).ok_or_else(|| UnitError::BadPower(text.into()))?;
            let (dim, s, off) = lookup_symbol(symbol).ok_or_else(|| UnitError::UnknownSymbol {
                symbol: symbol.to_string(),
                text: text.to_string(),
            })?;
            let power = if in_denominator { -power } else { power };
            if off != 0.0 {
                offset = off;
            }
            dimension = dimension.combine(dim, power);
            scale *= s.powi(power as i32);
            factors += 1;
        }
        if offset != 0.0 && (factors != 1 || dimension != Dimension::TEMPERATURE) {
            return Err(UnitError::OffsetInCompound(text.to_string()));
        }
        Ok(Unit {
            symbol: trimmed.to_string(),
            dimension,
            scale,
            offset,
        })
    }

    /// The dimensionless unit `1`.
    pub fn dimensionless() -> Unit {
        Unit {
            symbol: "1".into(),
            dimension: Dimension::NONE,
            scale: 1.0,
            offset: 0.0,
        }
    }

    /// The unit as it was written.
    pub fn symbol(&self) -> &str {
        &self.symbol
    }

    /// The unit's dimension.
    pub fn dimension(&self) -> Dimension {
        self.dimension
    }

    /// Converts `value` in this unit to SI base units.
    pub fn to_si(&self, value: f64) -> f64 {
        value * self.scale + self.offset
    }

    /// Converts `value` in SI base units to this unit.
    pub fn from_si(&self, value: f64) -> f64 {
        (value - self.offset) / self.scale
    }

    /// Converts a value in this unit to `target`, or says why the two do not fit.
    pub fn convert(&self, value: f64, target: &Unit) -> Result<f64, UnitError> {
        self.check_compatible(target)?;
        Ok(target.from_si(self.to_si(value)))
    }

    /// Converts a difference (an uncertainty, a tolerance) rather than an absolute value: offsets
    /// cancel, so 3 K and 3 °C are the same width.
    pub fn convert_difference(&self, delta: f64, target: &Unit) -> Result<f64, UnitError> {
        self.check_compatible(target)?;
        Ok(delta * self.scale / target.scale)
    }

    /// Fails with [`UnitError::Incompatible`] unless both units have the same dimension.
    pub fn check_compatible(&self, target: &Unit) -> Result<(), UnitError> {
        if self.dimension == target.dimension {
            Ok(())
        } else {
            Err(UnitError::Incompatible {
                from: self.symbol.clone(),
                from_dim: self.dimension.describe(),
                to: target.symbol.clone(),
                to_dim: target.dimension.describe(),
            })
        }
    }
}

fn split_power(piece: &str) -> Option<(&str, i8)> {
    if let Some((symbol, power)) = piece.split_once('^') {
        return power.parse().ok().map(|p| (symbol, p));
    }
    for (sup, p) in [("²", 2), ("³", 3), ("⁻¹", -1), ("⁻²", -2), ("⁻³", -3)] {
        if let Some(symbol) = piece.strip_suffix(sup) {
            return Some((symbol, p));
        }
    }
    // Trailing integer powers without a caret (`L-1`, `m2`), but not symbols like `a.u.`.
    let digits_start = piece
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_ascii_digit() || *c == '-')
        .last()
        .map(|(i, _)| i);
    match digits_start {
        Some(i) if i > 0 && piece != "1" => piece[i..].parse().ok().map(|p| (&piece[..i], p)),
        _ => Some((piece, 1)),
    }
}

impl fmt::Display for Unit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.symbol)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
    }

    #[test]
    fn converts_temperatures_with_offsets() {
        let c = Unit::parse("degC").unwrap();
        let k = Unit::parse("K").unwrap();
        let f = Unit::parse("degF").unwrap();
        assert!(close(c.convert(300.0, &k).unwrap(), 573.15));
        assert!(close(f.convert(212.0, &c).unwrap(), 100.0));
        assert!(close(c.convert_difference(3.0, &k).unwrap(), 3.0));
    }

    #[test]
    fn parses_compound_and_prefixed_units() {
        let molar = Unit::parse("mol/L").unwrap();
        let mm = Unit::parse("mmol L^-1").unwrap();
        let mm2 = Unit::parse("mM").unwrap();
        assert_eq!(molar.dimension(), Dimension::CONCENTRATION);
        assert!(close(mm.convert(1.0, &molar).unwrap(), 1e-3));
        assert!(close(mm2.convert(1.0, &molar).unwrap(), 1e-3));
        assert!(close(
            Unit::parse("µm")
                .unwrap()
                .convert(1.0, &Unit::parse("nm").unwrap())
                .unwrap(),
            1000.0
        ));
        assert!(close(Unit::parse("min").unwrap().to_si(2.0), 120.0));
        assert!(close(Unit::parse("mL/min").unwrap().to_si(60.0), 1e-6));
        assert_eq!(Unit::parse("%").unwrap().dimension(), Dimension::NONE);
    }

    #[test]
    fn rejects_unknown_and_incompatible_units() {
        assert!(matches!(
            Unit::parse("furlong"),
            Err(UnitError::UnknownSymbol { .. })
        ));
        let err = Unit::parse("nm")
            .unwrap()
            .convert(1.0, &Unit::parse("K").unwrap())
            .unwrap_err();
        assert!(err.to_string().contains("length") && err.to_string().contains("temperature"));
        assert!(matches!(
            Unit::parse("degC/s"),
            Err(UnitError::OffsetInCompound(_))
        ));
    }

    proptest::proptest! {
        #[test]
        fn conversion_round_trips(v in -1e6f64..1e6, a in 0usize..6, b in 0usize..6) {
            let units = ["nm", "um", "m", "angstrom", "mm", "km"];
            let ua = Unit::parse(units[a]).unwrap();
            let ub = Unit::parse(units[b]).unwrap();
            let back = ub.convert(ua.convert(v, &ub).unwrap(), &ua).unwrap();
            proptest::prop_assert!((back - v).abs() <= 1e-9 * v.abs().max(1.0));
        }
    }
}
