//! The provenance graph: typed records (specs and runs of processes, materials and
//! measurements; analyses; results; blobs; campaigns) and typed edges between them, with
//! lineage queries up and down (recursive SQL on both backends), immutability of completed
//! runs and revisions.
//!
//! Tables (schema version 3): `prov_records` (one row per record *version*; a lab id names all
//! versions of a record, reads by lab id give the latest), `prov_edges` (source → target, kind;
//! primary key `(source_id, target_id, kind)` serves downstream walks, index
//! `prov_edges_by_target` upstream walks) and `prov_counters` (lab-id numbering per prefix).
//!
//! The campaign runner's records join the graph in the same transactions that write them
//! ([`link_planned`], [`link_finished`]): campaign `C0001` —part_of→ process run `C0001-E001`
//! (the experiment; its spec `C0001-E001-SPEC` —specifies→ it) —generated→ sample
//! `C0001-E001-S1` —measured→ measurement `C0001-E001-M1` —generated→ raw blob `B-3f2a…`
//! —used→ analysis `C0001-E001-A1` —derived_from→ result `C0001-E001-R1`.

use super::{from_json, not_found, query_rows, to_json, ExperimentRow, Store};
use crate::backend::{params, Tx};
use crate::error::{db_boxed, Result, StoreError};
use crate::records::CompletedExperiment;
use crate::timestamp::now_rfc3339;
use athanor_model::attributes::{validate_attributes, Attribute, AttributeValue, Template};
use athanor_model::ids::new_id;
use athanor_model::provenance::{EdgeKind, RecordBody, RecordKind};
use athanor_model::{Origin, Recipe};
use serde::{Deserialize, Serialize};

/// Largest depth a lineage query accepts (deeper graphs are walked in several queries).
pub const MAX_LINEAGE_DEPTH: u32 = 1000;

/// Life-cycle state of a provenance record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordStatus {
    /// Still being written (a planned process, a running measurement): may be updated.
    Open,
    /// Finished: immutable; corrections are revisions ([`Store::revise_record`]).
    Completed,
}

impl RecordStatus {
    fn as_str(self) -> &'static str {
        match self {
            RecordStatus::Open => "open",
            RecordStatus::Completed => "completed",
        }
    }
}

/// An upstream link of a new record: the record `source` (id or lab id) is connected to the
/// new one by an edge of `kind` (source → new record).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Link {
    /// The edge kind.
    pub kind: EdgeKind,
    /// Id or lab id (latest version) of the upstream record.
    pub source: String,
}

/// What is needed to create a provenance record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NewRecord {
    /// The kind (must fit the body: a process body for process kinds, …).
    pub kind: RecordKind,
    /// Human-readable lab id; `None` generates one (`PR000001`, `S000002`, …).
    pub lab_id: Option<String>,
    /// Human name.
    pub name: String,
    /// Kind-specific content.
    pub body: RecordBody,
    /// Free-form typed key-values with units.
    pub extras: Vec<Attribute>,
    /// Upstream records and how they connect. A process's ingredients are linked with `used`
    /// edges automatically; a measurement's raw files with `generated` edges.
    pub inputs: Vec<Link>,
    /// Write it as completed (immutable) at once.
    pub completed: bool,
    /// If given, the body's values must lie within this template's bounds.
    pub template: Option<Template>,
}

impl NewRecord {
    /// A new open record of `kind` with no lab id, extras, inputs or template.
    pub fn new(kind: RecordKind, name: &str, body: RecordBody) -> NewRecord {
        NewRecord {
            kind,
            lab_id: None,
            name: name.to_string(),
            body,
            extras: Vec::new(),
            inputs: Vec::new(),
            completed: false,
            template: None,
        }
    }
}

/// One stored version of a provenance record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProvRecord {
    /// Machine id of this version (UUIDv7; a blob's record id is its SHA-256).
    pub id: String,
    /// Human-readable id shared by all versions.
    pub lab_id: String,
    /// Version number, from 1.
    pub version: u32,
    /// Kind.
    pub kind: RecordKind,
    /// Human name.
    pub name: String,
    /// Open or completed.
    pub status: RecordStatus,
    /// True for the newest version of the lab id.
    pub latest: bool,
    /// The version this one revises.
    pub previous_id: Option<String>,
    /// Why this revision was made.
    pub revision_note: Option<String>,
    /// Content.
    pub body: RecordBody,
    /// Free-form typed key-values.
    pub extras: Vec<Attribute>,
    /// Creation time (RFC 3339 UTC).
    pub created_at: String,
}

/// Direction of a lineage walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LineageDirection {
    /// Towards sources: how was this made?
    Up,
    /// Towards products: what was made from this?
    Down,
}

/// A record reached by a lineage walk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LineageNode {
    /// Machine id.
    pub id: String,
    /// Lab id.
    pub lab_id: String,
    /// Version.
    pub version: u32,
    /// Kind.
    pub kind: RecordKind,
    /// Name.
    pub name: String,
    /// Fewest edges from the start (0 for the start).
    pub depth: u32,
}

/// An edge between two records of a lineage.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct LineageEdge {
    /// Upstream record id.
    pub source: String,
    /// Downstream record id.
    pub target: String,
    /// Kind.
    pub kind: EdgeKind,
}

/// The result of [`Store::lineage`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Lineage {
    /// Direction walked.
    pub direction: LineageDirection,
    /// Depth limit used.
    pub max_depth: u32,
    /// Records reached, the start first, then by depth and lab id.
    pub nodes: Vec<LineageNode>,
    /// Edges between reached records that the walk followed.
    pub edges: Vec<LineageEdge>,
}

const RECORD_COLUMNS: &str = "id, lab_id, version, kind, name, status, is_latest, previous_id, \
     revision_note, body_json, extras_json, created_at";

fn record_from_row(row: &crate::backend::Row) -> Result<ProvRecord> {
    let text = |i| row.text(i).map_err(db_boxed("read a provenance record"));
    let lab_id = text(1)?;
    let label = format!("record {lab_id}");
    let kind_text = text(3)?;
    let status = match text(5)?.as_str() {
        "open" => RecordStatus::Open,
        "completed" => RecordStatus::Completed,
        other => return Err(StoreError::corrupt(&label, "status", format!("'{other}'"))),
    };
    Ok(ProvRecord {
        id: text(0)?,
        version: row.u32(2).map_err(db_boxed("read a provenance record"))?,
        kind: RecordKind::parse(&kind_text)
            .ok_or_else(|| StoreError::corrupt(&label, "kind", format!("'{kind_text}'")))?,
        name: text(4)?,
        status,
        latest: row.int(6).map_err(db_boxed("read a provenance record"))? == 1,
        previous_id: row
            .opt_text(7)
            .map_err(db_boxed("read a provenance record"))?,
        revision_note: row
            .opt_text(8)
            .map_err(db_boxed("read a provenance record"))?,
        body: from_json(&text(9)?, &label, "body")?,
        extras: from_json(&text(10)?, &label, "extras")?,
        created_at: text(11)?,
        lab_id,
    })
}

/// The record `key`: a version id, or a lab id (its latest version).
fn find_record(tx: &mut dyn Tx, key: &str) -> Result<Option<ProvRecord>> {
    let rows = tx
        .query(
            &format!(
                "SELECT {RECORD_COLUMNS} FROM prov_records WHERE id = ?1 \
                 UNION ALL SELECT {RECORD_COLUMNS} FROM prov_records \
                 WHERE lab_id = ?1 AND is_latest = 1"
            ),
            params![key],
        )
        .map_err(db_boxed(format!("look up record {key}")))?;
    rows.first().map(record_from_row).transpose()
}

fn require_record(tx: &mut dyn Tx, key: &str) -> Result<ProvRecord> {
    find_record(tx, key)?.ok_or_else(|| not_found("record", key))
}

/// Checks that the body fits the kind, validates values (and the template); errors name the
/// field.
fn validate_new(new: &NewRecord, label: &str) -> Result<()> {
    let invalid = |e: athanor_model::attributes::ValidationError| {
        StoreError::invalid(label, e.field, e.problem)
    };
    if new.name.trim().is_empty() {
        return Err(StoreError::invalid(label, "name", "must not be empty"));
    }
    let fits = matches!(
        (new.kind, &new.body),
        (_, RecordBody::Plain)
            | (
                RecordKind::ProcessSpec | RecordKind::ProcessRun,
                RecordBody::Process { .. }
            )
            | (
                RecordKind::MaterialSpec | RecordKind::MaterialRun,
                RecordBody::Material { .. }
            )
            | (
                RecordKind::MeasurementSpec | RecordKind::MeasurementRun,
                RecordBody::Measurement { .. }
            )
            | (RecordKind::Analysis, RecordBody::Analysis { .. })
            | (RecordKind::Result, RecordBody::Result { .. })
    );
    if !fits {
        return Err(StoreError::invalid(
            label,
            "body",
            format!("a {} record cannot have this body", new.kind.as_str()),
        ));
    }
    new.body.validate().map_err(invalid)?;
    validate_attributes(&new.extras).map_err(invalid)?;
    if let Some(template) = &new.template {
        template
            .check(&body_attributes(&new.body), false)
            .map_err(invalid)?;
    }
    Ok(())
}

/// The attributes of a body that a template constrains.
fn body_attributes(body: &RecordBody) -> Vec<Attribute> {
    match body {
        RecordBody::Plain => Vec::new(),
        RecordBody::Process { parameters, .. } => parameters.clone(),
        RecordBody::Material { properties } => properties.clone(),
        RecordBody::Measurement {
            conditions,
            properties,
            ..
        } => conditions.iter().chain(properties).cloned().collect(),
        RecordBody::Analysis { results, .. } => results.clone(),
        RecordBody::Result { value, .. } => vec![value.clone()],
    }
}

/// Next generated lab id for `kind` (`PR000001`, …), skipping ids people already used.
fn next_lab_id(tx: &mut dyn Tx, kind: RecordKind) -> Result<String> {
    let prefix = kind.lab_prefix();
    loop {
        tx.execute(
            "INSERT INTO prov_counters (prefix, last) VALUES (?1, 1) \
             ON CONFLICT (prefix) DO UPDATE SET last = prov_counters.last + 1",
            params![prefix],
        )
        .map_err(db_boxed("count lab ids"))?;
        let n = query_rows(
            tx,
            "SELECT last FROM prov_counters WHERE prefix = ?1",
            params![prefix],
            "count lab ids",
            |row| row.int(0),
        )?
        .pop()
        .unwrap_or(1);
        let lab_id = format!("{prefix}{n:06}");
        if !lab_id_taken(tx, &lab_id)? {
            return Ok(lab_id);
        }
    }
}

fn lab_id_taken(tx: &mut dyn Tx, lab_id: &str) -> Result<bool> {
    Ok(!query_rows(
        tx,
        "SELECT 1 FROM prov_records WHERE lab_id = ?1 LIMIT 1",
        params![lab_id],
        "look up a lab id",
        |row| row.int(0),
    )?
    .is_empty())
}

#[allow(clippy::too_many_arguments)]
fn insert_record_row(
    tx: &mut dyn Tx,
    id: &str,
    lab_id: &str,
    version: u32,
    kind: RecordKind,
    name: &str,
    status: RecordStatus,
    previous: Option<(&str, &str)>,
    body: &RecordBody,
    extras: &[Attribute],
) -> Result<ProvRecord> {
    let label = format!("record {lab_id}");
    let record = ProvRecord {
        id: id.to_string(),
        lab_id: lab_id.to_string(),
        version,
        kind,
        name: name.to_string(),
        status,
        latest: true,
        previous_id: previous.map(|p| p.0.to_string()),
        revision_note: previous.map(|p| p.1.to_string()),
        body: body.clone(),
        extras: extras.to_vec(),
        created_at: now_rfc3339(),
    };
    tx.execute(
        "INSERT INTO prov_records (id, lab_id, version, kind, name, status, is_latest, \
         previous_id, revision_note, body_json, extras_json, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, ?7, ?8, ?9, ?10, ?11)",
        params![
            &record.id,
            &record.lab_id,
            version,
            kind.as_str(),
            name,
            status.as_str(),
            record.previous_id.clone(),
            record.revision_note.clone(),
            to_json(body, &label, "body")?,
            to_json(extras, &label, "extras")?,
            &record.created_at,
        ],
    )
    .map_err(db_boxed(format!("insert {label}")))?;
    Ok(record)
}

fn insert_edge(tx: &mut dyn Tx, source: &str, target: &str, kind: EdgeKind) -> Result<()> {
    if source == target {
        return Err(StoreError::invalid(
            format!("edge {source} → {target}"),
            "target",
            "a record cannot be linked to itself",
        ));
    }
    tx.execute(
        "INSERT INTO prov_edges (source_id, target_id, kind) VALUES (?1, ?2, ?3) \
         ON CONFLICT DO NOTHING",
        params![source, target, kind.as_str()],
    )
    .map_err(db_boxed(format!(
        "insert edge {source} -{}-> {target}",
        kind.as_str()
    )))?;
    Ok(())
}

/// The record of a blob (id = its hash, lab id `B-` + the first 12 hex digits), created if
/// missing. The blob must be registered.
fn ensure_blob_record(tx: &mut dyn Tx, hash: &str) -> Result<String> {
    let exists = !query_rows(
        tx,
        "SELECT 1 FROM prov_records WHERE id = ?1",
        params![hash],
        "look up a blob record",
        |row| row.int(0),
    )?
    .is_empty();
    if !exists {
        let registered = !query_rows(
            tx,
            "SELECT 1 FROM blobs WHERE hash = ?1",
            params![hash],
            "look up a blob",
            |row| row.int(0),
        )?
        .is_empty();
        if !registered {
            return Err(StoreError::invalid(
                format!("blob {hash}"),
                "hash",
                "no blob with this hash is stored (store it with put_blob first)",
            ));
        }
        let short: String = hash.chars().take(12).collect();
        insert_record_row(
            tx,
            hash,
            &format!("B-{short}"),
            1,
            RecordKind::Blob,
            &format!("blob {short}"),
            RecordStatus::Completed,
            None,
            &RecordBody::Plain,
            &[],
        )?;
    }
    Ok(hash.to_string())
}

fn create_in(tx: &mut dyn Tx, new: &NewRecord) -> Result<ProvRecord> {
    let label = match &new.lab_id {
        Some(lab_id) => format!("new record {lab_id}"),
        None => format!("new {} '{}'", new.kind.as_str(), new.name),
    };
    validate_new(new, &label)?;
    let lab_id = match &new.lab_id {
        Some(lab_id) => {
            if lab_id.trim().is_empty() || lab_id.len() > 64 {
                return Err(StoreError::invalid(
                    &label,
                    "lab_id",
                    "must be 1 to 64 characters",
                ));
            }
            if lab_id_taken(tx, lab_id)? {
                return Err(StoreError::invalid(&label, "lab_id", "is already used"));
            }
            lab_id.clone()
        }
        None => next_lab_id(tx, new.kind)?,
    };
    let mut sources = Vec::new();
    for link in &new.inputs {
        sources.push((require_record(tx, &link.source)?.id, link.kind));
    }
    match &new.body {
        RecordBody::Process { ingredients, .. } => {
            for ingredient in ingredients {
                let material = require_record(tx, &ingredient.material)?;
                if !matches!(
                    material.kind,
                    RecordKind::MaterialRun | RecordKind::MaterialSpec
                ) {
                    return Err(StoreError::invalid(
                        &label,
                        "ingredients",
                        format!("{} is not a material", material.lab_id),
                    ));
                }
                sources.push((material.id, EdgeKind::Used));
            }
        }
        RecordBody::Analysis { results, .. }
        | RecordBody::Material {
            properties: results,
        } => {
            for attribute in results {
                if let AttributeValue::ArrayRef { blob, .. } = &attribute.value {
                    sources.push((ensure_blob_record(tx, blob)?, EdgeKind::DerivedFrom));
                }
            }
        }
        _ => {}
    }
    let status = if new.completed {
        RecordStatus::Completed
    } else {
        RecordStatus::Open
    };
    let record = insert_record_row(
        tx,
        &new_id(),
        &lab_id,
        1,
        new.kind,
        &new.name,
        status,
        None,
        &new.body,
        &new.extras,
    )?;
    for (source, kind) in sources {
        insert_edge(tx, &source, &record.id, kind)?;
    }
    if let RecordBody::Measurement { raw_files, .. } = &new.body {
        for hash in raw_files {
            let blob = ensure_blob_record(tx, hash)?;
            insert_edge(tx, &record.id, &blob, EdgeKind::Generated)?;
        }
    }
    Ok(record)
}

fn immutable(record: &ProvRecord) -> StoreError {
    StoreError::invalid(
        format!("record {} (version {})", record.lab_id, record.version),
        "status",
        "is completed and immutable; record a correction with Store::revise_record",
    )
}

impl Store {
    /// Creates a provenance record (and its upstream edges) in one transaction.
    ///
    /// Fails with [`StoreError::InvalidInput`] naming the field for a value that does not
    /// validate (units, bounds of the template, body not fitting the kind, a lab id already
    /// used) and [`StoreError::NotFound`] for an unknown input or ingredient.
    pub fn create_record(&self, new: &NewRecord) -> Result<ProvRecord> {
        self.backend
            .write("create a provenance record", |tx| create_in(tx, new))
    }

    /// Creates several records in ONE transaction (all or none), in order, so later ones may
    /// link to earlier ones by lab id. For imports and bulk loads.
    pub fn create_records(&self, records: &[NewRecord]) -> Result<Vec<ProvRecord>> {
        self.backend.write("create provenance records", |tx| {
            records.iter().map(|new| create_in(tx, new)).collect()
        })
    }

    /// Adds the edge `source` → `target` of `kind` (ids or lab ids). Adding inputs to a
    /// completed record would rewrite its history, so the target must be open.
    pub fn link_records(&self, source: &str, kind: EdgeKind, target: &str) -> Result<()> {
        self.backend.write("link provenance records", |tx| {
            let source = require_record(tx, source)?;
            let target = require_record(tx, target)?;
            if target.status == RecordStatus::Completed {
                return Err(immutable(&target));
            }
            insert_edge(tx, &source.id, &target.id, kind)
        })
    }

    /// The record `key`: a version id, or a lab id (its latest version).
    pub fn record(&self, key: &str) -> Result<Option<ProvRecord>> {
        self.backend.read(|tx| find_record(tx, key))
    }

    /// All versions of the record `key` (id or lab id), oldest first.
    pub fn record_versions(&self, key: &str) -> Result<Vec<ProvRecord>> {
        self.backend.read(|tx| {
            let record = require_record(tx, key)?;
            let rows = tx
                .query(
                    &format!(
                        "SELECT {RECORD_COLUMNS} FROM prov_records WHERE lab_id = ?1 \
                         ORDER BY version"
                    ),
                    params![&record.lab_id],
                )
                .map_err(db_boxed("list record versions"))?;
            rows.iter().map(record_from_row).collect()
        })
    }

    /// Replaces the body and extras of an OPEN record (e.g. a run still in progress).
    /// A completed record is immutable: the error says to revise it instead.
    pub fn update_record(
        &self,
        key: &str,
        body: &RecordBody,
        extras: &[Attribute],
    ) -> Result<ProvRecord> {
        self.backend.write("update a provenance record", |tx| {
            let record = require_record(tx, key)?;
            if record.status == RecordStatus::Completed {
                return Err(immutable(&record));
            }
            let label = format!("record {}", record.lab_id);
            let mut probe = NewRecord::new(record.kind, &record.name, body.clone());
            probe.extras = extras.to_vec();
            validate_new(&probe, &label)?;
            let changed = tx
                .execute(
                    "UPDATE prov_records SET body_json = ?2, extras_json = ?3 \
                     WHERE id = ?1 AND status = 'open'",
                    params![
                        &record.id,
                        to_json(body, &label, "body")?,
                        to_json(extras, &label, "extras")?
                    ],
                )
                .map_err(db_boxed(format!("update {label}")))?;
            if changed != 1 {
                return Err(immutable(&record));
            }
            find_record(tx, &record.id)?.ok_or_else(|| not_found("record", key))
        })
    }

    /// Marks an open record completed; from then on it is immutable.
    pub fn complete_record(&self, key: &str) -> Result<ProvRecord> {
        self.backend.write("complete a provenance record", |tx| {
            let record = require_record(tx, key)?;
            tx.execute(
                "UPDATE prov_records SET status = 'completed' WHERE id = ?1",
                params![&record.id],
            )
            .map_err(db_boxed(format!("complete record {}", record.lab_id)))?;
            find_record(tx, &record.id)?.ok_or_else(|| not_found("record", key))
        })
    }

    /// Corrects a record by creating a new version (same lab id, version + 1, status
    /// completed) linked to the old one (`previous_id`, and an edge old —derived_from→ new);
    /// the old version keeps its content and its downstream edges (what was made from it),
    /// the new one gets copies of the old one's upstream edges. Reads by lab id then return
    /// the new version. Only the latest version can be revised.
    pub fn revise_record(
        &self,
        key: &str,
        body: &RecordBody,
        extras: &[Attribute],
        note: &str,
    ) -> Result<ProvRecord> {
        self.backend.write("revise a provenance record", |tx| {
            let old = require_record(tx, key)?;
            let label = format!("record {}", old.lab_id);
            if !old.latest {
                return Err(StoreError::invalid(
                    &label,
                    "version",
                    format!(
                        "version {} is not the latest; revise the latest",
                        old.version
                    ),
                ));
            }
            if note.trim().is_empty() {
                return Err(StoreError::invalid(&label, "revision note", "must say why"));
            }
            let mut probe = NewRecord::new(old.kind, &old.name, body.clone());
            probe.extras = extras.to_vec();
            validate_new(&probe, &label)?;
            tx.execute(
                "UPDATE prov_records SET is_latest = 0 WHERE id = ?1",
                params![&old.id],
            )
            .map_err(db_boxed(format!("supersede {label}")))?;
            let new = insert_record_row(
                tx,
                &new_id(),
                &old.lab_id,
                old.version + 1,
                old.kind,
                &old.name,
                RecordStatus::Completed,
                Some((&old.id, note)),
                body,
                extras,
            )?;
            tx.execute(
                "INSERT INTO prov_edges (source_id, target_id, kind) \
                 SELECT source_id, ?2, kind FROM prov_edges WHERE target_id = ?1",
                params![&old.id, &new.id],
            )
            .map_err(db_boxed(format!("copy the inputs of {label}")))?;
            insert_edge(tx, &old.id, &new.id, EdgeKind::DerivedFrom)?;
            Ok(new)
        })
    }

    /// The records upstream (`Up`: how was this made?) or downstream (`Down`: what was made
    /// from it?) of `key` (id or lab id), at most `max_depth` edges away, with the edges
    /// between them. One recursive query on either backend; both walk directions are index
    /// range scans (`prov_edges` primary key for down, `prov_edges_by_target` for up).
    pub fn lineage(
        &self,
        key: &str,
        direction: LineageDirection,
        max_depth: u32,
    ) -> Result<Lineage> {
        if max_depth > MAX_LINEAGE_DEPTH {
            return Err(StoreError::invalid(
                format!("lineage of {key}"),
                "depth",
                format!("{max_depth} is above the limit of {MAX_LINEAGE_DEPTH}"),
            ));
        }
        self.backend.read(|tx| {
            let start = require_record(tx, key)?;
            let (near, far) = match direction {
                LineageDirection::Down => ("source_id", "target_id"),
                LineageDirection::Up => ("target_id", "source_id"),
            };
            let walk = format!(
                "WITH RECURSIVE walk (id, depth) AS (\
                   SELECT CAST(?1 AS TEXT), CAST(0 AS INTEGER) \
                   UNION \
                   SELECT e.{far}, w.depth + 1 FROM walk w \
                   JOIN prov_edges e ON e.{near} = w.id WHERE w.depth < ?2), \
                 reached (id, depth) AS (SELECT id, MIN(depth) FROM walk GROUP BY id)"
            );
            let depth = i64::from(max_depth);
            let nodes = query_rows(
                tx,
                &format!(
                    "{walk} SELECT r.id, r.lab_id, r.version, r.kind, r.name, w.depth \
                     FROM reached w JOIN prov_records r ON r.id = w.id \
                     ORDER BY w.depth, r.lab_id, r.version"
                ),
                params![&start.id, depth],
                &format!("walk the lineage of {}", start.lab_id),
                |row| {
                    Ok((
                        row.text(0)?,
                        row.text(1)?,
                        row.u32(2)?,
                        row.text(3)?,
                        row.text(4)?,
                        row.u32(5)?,
                    ))
                },
            )?;
            let nodes = nodes
                .into_iter()
                .map(|(id, lab_id, version, kind, name, depth)| {
                    Ok(LineageNode {
                        kind: RecordKind::parse(&kind).ok_or_else(|| {
                            StoreError::corrupt(format!("record {lab_id}"), "kind", kind)
                        })?,
                        id,
                        lab_id,
                        version,
                        name,
                        depth,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            let edges = query_rows(
                tx,
                &format!(
                    "{walk} SELECT e.source_id, e.target_id, e.kind FROM reached n \
                     JOIN prov_edges e ON e.{near} = n.id \
                     JOIN reached f ON f.id = e.{far} WHERE n.depth < ?2"
                ),
                params![&start.id, depth],
                &format!("read the lineage edges of {}", start.lab_id),
                |row| Ok((row.text(0)?, row.text(1)?, row.text(2)?)),
            )?;
            let mut edges = edges
                .into_iter()
                .map(|(source, target, kind)| {
                    Ok(LineageEdge {
                        kind: EdgeKind::parse(&kind)
                            .ok_or_else(|| StoreError::corrupt("provenance edge", "kind", kind))?,
                        source,
                        target,
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            edges.sort();
            Ok(Lineage {
                direction,
                max_depth,
                nodes,
                edges,
            })
        })
    }
}

// --------------------------------------------------------------------------------------------
// The campaign runner's records in the graph
// --------------------------------------------------------------------------------------------

fn recipe_attributes(recipe: &Recipe) -> Vec<Attribute> {
    recipe
        .parameters
        .iter()
        .map(|(name, q)| Attribute {
            name: name.clone(),
            value: match q.std {
                Some(std) => AttributeValue::Normal { mean: q.value, std },
                None => AttributeValue::Nominal { value: q.value },
            },
            unit: q.unit.clone(),
            origin: Origin::Specified,
        })
        .collect()
}

/// Called inside `record_planned`'s transaction: the campaign's record (created once), the
/// experiment's process spec (`<lab id>-SPEC`) and its process run (id and lab id of the
/// experiment, open until the experiment finishes).
pub(super) fn link_planned(
    tx: &mut dyn Tx,
    campaign_lab_id: &str,
    campaign_name: &str,
    experiment: &crate::records::ExperimentRecord,
) -> Result<()> {
    tx.execute(
        "INSERT INTO prov_records (id, lab_id, version, kind, name, status, is_latest, \
         body_json, extras_json, created_at) \
         VALUES (?1, ?2, 1, 'campaign', ?3, 'open', 1, '{\"type\":\"plain\"}', '[]', ?4) \
         ON CONFLICT DO NOTHING",
        params![
            &experiment.campaign_id,
            campaign_lab_id,
            campaign_name,
            now_rfc3339()
        ],
    )
    .map_err(db_boxed(format!(
        "record campaign {campaign_lab_id} in the graph"
    )))?;
    let parameters = recipe_attributes(&experiment.recipe);
    let spec = insert_record_row(
        tx,
        &new_id(),
        &format!("{}-SPEC", experiment.lab_id),
        1,
        RecordKind::ProcessSpec,
        &format!("plan of {}", experiment.lab_id),
        RecordStatus::Completed,
        None,
        &RecordBody::Process {
            steps: experiment.spec_steps.clone(),
            parameters: parameters.clone(),
            ingredients: Vec::new(),
        },
        &[],
    )?;
    insert_record_row(
        tx,
        &experiment.id,
        &experiment.lab_id,
        1,
        RecordKind::ProcessRun,
        &format!("experiment {}", experiment.lab_id),
        RecordStatus::Open,
        None,
        &RecordBody::Process {
            steps: Vec::new(),
            parameters,
            ingredients: Vec::new(),
        },
        &[],
    )?;
    insert_edge(tx, &experiment.campaign_id, &spec.id, EdgeKind::PartOf)?;
    insert_edge(
        tx,
        &experiment.campaign_id,
        &experiment.id,
        EdgeKind::PartOf,
    )?;
    insert_edge(tx, &spec.id, &experiment.id, EdgeKind::Specifies)
}

/// Called inside `record_completed`'s / `record_failed`'s transaction: completes the process
/// run (with its run steps and, for a failure, the reason as an extra) and, for a completed
/// experiment, adds the sample it made, its measurements with raw blobs, analyses and results.
pub(super) fn link_finished(
    tx: &mut dyn Tx,
    experiment: &ExperimentRow,
    done: Option<&CompletedExperiment>,
    failure: Option<&str>,
) -> Result<()> {
    let run = match find_record(tx, &experiment.id)? {
        Some(run) => run,
        // Planned before schema version 3: not in the graph.
        None => return Ok(()),
    };
    let lab = &experiment.lab_id;
    let label = format!("record {lab}");
    let mut body = run.body.clone();
    if let (RecordBody::Process { steps, .. }, Some(done)) = (&mut body, done) {
        *steps = done.run_steps.clone();
    }
    let extras: Vec<Attribute> = failure
        .map(|reason| {
            vec![Attribute::new(
                "failure",
                AttributeValue::Text {
                    text: reason.to_string(),
                },
                "",
                Origin::Measured,
            )]
        })
        .unwrap_or_default();
    tx.execute(
        "UPDATE prov_records SET status = 'completed', body_json = ?2, extras_json = ?3 \
         WHERE id = ?1",
        params![
            &run.id,
            to_json(&body, &label, "body")?,
            to_json(&extras, &label, "extras")?
        ],
    )
    .map_err(db_boxed(format!("complete {label}")))?;
    let Some(done) = done else { return Ok(()) };

    let sample = insert_record_row(
        tx,
        &new_id(),
        &format!("{lab}-S1"),
        1,
        RecordKind::MaterialRun,
        &format!("sample of {lab}"),
        RecordStatus::Completed,
        None,
        &RecordBody::Material {
            properties: Vec::new(),
        },
        &[],
    )?;
    insert_edge(tx, &run.id, &sample.id, EdgeKind::Generated)?;

    let measurement_ids = query_rows(
        tx,
        "SELECT id FROM measurements WHERE experiment_id = ?1 ORDER BY position",
        params![&experiment.id],
        &format!("list the measurements of {lab}"),
        |row| row.text(0),
    )?;
    let mut technique_nodes = Vec::new();
    for (n, (id, m)) in measurement_ids.iter().zip(&done.measurements).enumerate() {
        let conditions = match &m.conditions {
            serde_json::Value::Object(map) => map
                .iter()
                .filter_map(|(k, v)| {
                    let value = match v {
                        serde_json::Value::Number(x) => {
                            AttributeValue::Nominal { value: x.as_f64()? }
                        }
                        serde_json::Value::String(s) => AttributeValue::Text { text: s.clone() },
                        _ => return None,
                    };
                    Some(Attribute::new(k, value, "", Origin::Specified))
                })
                .collect(),
            _ => Vec::new(),
        };
        let raw_files: Vec<String> = m.blob.iter().map(|b| b.hash.clone()).collect();
        insert_record_row(
            tx,
            id,
            &format!("{lab}-M{}", n + 1),
            1,
            RecordKind::MeasurementRun,
            &format!("{} on {lab}", m.technique),
            RecordStatus::Completed,
            None,
            &RecordBody::Measurement {
                technique: m.technique.clone(),
                instrument: m.instrument.clone(),
                conditions,
                raw_files: raw_files.clone(),
                properties: Vec::new(),
            },
            &[],
        )?;
        insert_edge(tx, &sample.id, id, EdgeKind::Measured)?;
        for hash in &raw_files {
            ensure_blob_record(tx, hash)?;
            insert_edge(tx, id, hash, EdgeKind::Generated)?;
        }
        technique_nodes.push((m.technique.to_lowercase(), id.clone(), raw_files));
    }

    let analysis_ids = query_rows(
        tx,
        "SELECT id FROM analyses WHERE experiment_id = ?1 ORDER BY position",
        params![&experiment.id],
        &format!("list the analyses of {lab}"),
        |row| row.text(0),
    )?;
    let mut analysis_outputs = Vec::new();
    for (n, (id, a)) in analysis_ids.iter().zip(&done.analyses).enumerate() {
        insert_record_row(
            tx,
            id,
            &format!("{lab}-A{}", n + 1),
            1,
            RecordKind::Analysis,
            &a.kind,
            RecordStatus::Completed,
            None,
            &RecordBody::Analysis {
                method: a.kind.clone(),
                software: a.software.clone(),
                parameters: Vec::new(),
                results: Vec::new(),
                distribution: None,
            },
            &[],
        )?;
        for hash in &a.input_blobs {
            ensure_blob_record(tx, hash)?;
            insert_edge(tx, hash, id, EdgeKind::Used)?;
        }
        // The techniques of the measurements whose raw files the analysis read.
        let techniques: Vec<String> = technique_nodes
            .iter()
            .filter(|(_, _, files)| files.iter().any(|f| a.input_blobs.contains(f)))
            .map(|(technique, _, _)| technique.clone())
            .collect();
        analysis_outputs.push((id.clone(), a.outputs.to_string(), techniques));
    }

    for (n, result) in done.results.iter().enumerate() {
        let id = new_id();
        let value = Attribute {
            name: result.name.clone(),
            value: match result.quantity.std {
                Some(std) => AttributeValue::Normal {
                    mean: result.quantity.value,
                    std,
                },
                None => AttributeValue::Nominal {
                    value: result.quantity.value,
                },
            },
            unit: result.quantity.unit.clone(),
            origin: result.origin,
        };
        insert_record_row(
            tx,
            &id,
            &format!("{lab}-R{}", n + 1),
            1,
            RecordKind::Result,
            &result.name,
            RecordStatus::Completed,
            None,
            &RecordBody::Result {
                value,
                method: result.method.clone(),
            },
            &[],
        )?;
        // Which record the number came from: an analysis whose outputs name it; else, for a
        // computed value, an analysis of a measurement whose technique the method names; else
        // that measurement; else the process run itself.
        let method = result.method.to_lowercase();
        let source = analysis_outputs
            .iter()
            .find(|(_, outputs, _)| outputs.contains(&format!("\"{}", result.name)))
            .or_else(|| {
                analysis_outputs.iter().find(|(_, _, techniques)| {
                    result.origin == Origin::Computed
                        && techniques.iter().any(|t| method.contains(t.as_str()))
                })
            })
            .map(|(id, _, _)| id.clone())
            .or_else(|| {
                technique_nodes
                    .iter()
                    .find(|(technique, _, _)| method.contains(technique.as_str()))
                    .map(|(_, id, _)| id.clone())
            })
            .unwrap_or_else(|| run.id.clone());
        insert_edge(tx, &source, &id, EdgeKind::DerivedFrom)?;
    }
    Ok(())
}
