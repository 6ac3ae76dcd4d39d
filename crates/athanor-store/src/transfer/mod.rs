//! Import and export: moving a store's records in and out as files.
//!
//! ## The exchange format (`athanor-exchange`, version 1)
//!
//! JSON lines: a header line, then one record per line, each tagged with its kind:
//!
//! ```text
//! {"format":"athanor-exchange","version":1,"record_kinds":["campaign","blob","experiment","planner_state"]}
//! {"kind":"campaign","record":{"id":"…","lab_id":"C0001","name":"cdse",…}}
//! {"kind":"blob","record":{"hash":"ab12…","size":4096,"media_type":"image/tiff","created_at":"…","content_base64":"…"}}
//! {"kind":"experiment","record":{"id":"…","lab_id":"C0001-E001","recipe":{…},"results":[…],…}}
//! {"kind":"planner_state","record":{"campaign_id":"…","seq":1,"state_json":"{…}","recorded_at":"…"}}
//! {"kind":"prov_record","record":{"id":"…","lab_id":"C0001-E001","version":1,"kind":"process_run","status":"completed","latest":true,"previous_id":null,"body":{…},"extras":[],…}}
//! {"kind":"prov_edge","record":{"source":"…","target":"…","kind":"part_of"}}
//! ```
//!
//! Each record kind has its own layout (the store's public record types, serialised with
//! serde), so a new kind (provenance edges, revisions, samples…) is a new `kind` value and a
//! reader that does not know it fails with a message naming the line and the kind instead of
//! misreading it. The header's `version` changes only when an existing kind's layout changes
//! incompatibly (adding the provenance kinds did not change it: version-1 files without them
//! still import, their experiments then have no graph records). Records come in dependency
//! order (campaigns, blobs, experiments, planner states, provenance record versions by lab id
//! then version — so a revision follows the version it revises — and provenance edges), so an import can write them as it reads them: export and import both stream, one
//! record in memory at a time (plus one page of database rows on export).
//!
//! Export → import into an empty store → export gives the same file (ids, lab ids, statuses,
//! timestamps and values are kept bit for bit), on either database and either blob storage.
//! An import is one database transaction: rejected input, a reader error or a crash part-way
//! leaves the store exactly as before.
//!
//! ## Importing tables
//!
//! [`table`] imports past experiments from a CSV table with a column mapping (TOML): each row
//! becomes a completed experiment of a new or existing campaign, with units converted and
//! bounds checked; see its docs for the mapping format.
//!
//! ## Other export formats
//!
//! * [`ExportFormat::Csv`]: one row per experiment (lab ids, status, times, failure), one column
//!   per recipe parameter (`recipe.NAME [UNIT]`) and per result (`NAME [UNIT]`, with
//!   `NAME std [UNIT]`). For spreadsheets; lossy (no steps, measurements or analyses).
//! * [`ExportFormat::Parquet`]: a typed Parquet table for analysis tools, one row per
//!   experiment, units in the column metadata, streamed in row groups; re-importable with
//!   [`import_parquet`] (export → import → export gives the same table). See [`parquet_file`].
//! * [`ExportFormat::Gemd`]: JSON lines of Citrine GEMD objects (Citrine Informatics, *GEMD:
//!   Graphical Expression of Materials Data*, <https://github.com/CitrineInformatics/gemd-python>):
//!   per experiment a `process_spec` (the planned recipe as parameters, the spec steps), a
//!   `process_run` (the run steps' actuals), a `material_spec`/`material_run` pair (the
//!   product), and one `measurement_run` per measurement plus one holding the results as
//!   properties (value, standard deviation, units, origin). Objects are linked with
//!   `link_by_uid` in scope `athanor`; the ids are the store's ids, the lab ids are tags.

mod csv;
mod gemd;
pub mod parquet_file;
pub mod table;

pub use parquet_file::import_parquet;

use crate::error::{Result, StoreError};
use crate::records::{CampaignRecord, ExperimentRecord};
use crate::store::provenance::{LineageEdge, ProvRecord};
use crate::store::Store;
use serde::{Deserialize, Serialize};
use std::io::{BufRead, Write};

/// The `format` value of an exchange file's header.
pub const EXCHANGE_FORMAT: &str = "athanor-exchange";
/// The newest exchange-format version this build writes and reads.
pub const EXCHANGE_VERSION: u32 = 1;
/// The record kinds of this version, in the order an export writes them.
pub const RECORD_KINDS: [&str; 6] = [
    "campaign",
    "blob",
    "experiment",
    "planner_state",
    "prov_record",
    "prov_edge",
];

/// The first line of an exchange file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExchangeHeader {
    /// Always [`EXCHANGE_FORMAT`].
    pub format: String,
    /// The format version ([`EXCHANGE_VERSION`] for files this build writes).
    pub version: u32,
    /// The record kinds the writer knew (informative).
    #[serde(default)]
    pub record_kinds: Vec<String>,
}

/// One record of an exchange file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "record", rename_all = "snake_case")]
pub enum ExchangeRecord {
    /// A campaign.
    Campaign(CampaignRecord),
    /// A registered blob (raw file), optionally with its bytes.
    Blob(BlobEntry),
    /// An experiment with everything recorded about it.
    Experiment(ExperimentRecord),
    /// The planner state recorded after an experiment finished.
    PlannerState(PlannerStateEntry),
    /// One version of a provenance record (all versions are exported, oldest first, with
    /// their status, `latest` flag, `previous_id`, revision note, body and extras).
    ProvRecord(ProvRecord),
    /// A provenance edge (source → target, kind), between records of the file or the store.
    ProvEdge(LineageEdge),
}

impl ExchangeRecord {
    /// The record's kind as written in the file (`"campaign"`, `"experiment"`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            ExchangeRecord::Campaign(_) => "campaign",
            ExchangeRecord::Blob(_) => "blob",
            ExchangeRecord::Experiment(_) => "experiment",
            ExchangeRecord::PlannerState(_) => "planner_state",
            ExchangeRecord::ProvRecord(_) => "prov_record",
            ExchangeRecord::ProvEdge(_) => "prov_edge",
        }
    }
}

/// A registered blob: its hash, size, media type and registration time, and (when the export
/// included blob content) its bytes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BlobEntry {
    /// SHA-256 of the bytes (64 lower-case hex digits).
    pub hash: String,
    /// Size in bytes.
    pub size: u64,
    /// Media type given when it was first stored.
    pub media_type: String,
    /// When it was first registered (RFC 3339 UTC).
    pub created_at: String,
    /// The bytes, base64-encoded in the file; `None` when the export left them out (the blobs
    /// must then already be in the importing store's blob storage).
    #[serde(
        default,
        rename = "content_base64",
        with = "base64_bytes",
        skip_serializing_if = "Option::is_none"
    )]
    pub content: Option<Vec<u8>>,
}

/// The planner state a campaign recorded after experiment `seq`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannerStateEntry {
    /// The campaign's id.
    pub campaign_id: String,
    /// The experiment's seq.
    pub seq: u32,
    /// The planner's state (JSON text, kept verbatim).
    pub state_json: String,
    /// When it was recorded (RFC 3339 UTC).
    pub recorded_at: String,
}

/// What an import wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportSummary {
    /// Campaigns imported.
    pub campaigns: u64,
    /// Blobs registered (and uploaded, when the file carried their content).
    pub blobs: u64,
    /// Experiments imported.
    pub experiments: u64,
    /// Planner states imported.
    pub planner_states: u64,
    /// Provenance record versions imported.
    #[serde(default)]
    pub prov_records: u64,
    /// Provenance edges imported.
    #[serde(default)]
    pub prov_edges: u64,
    /// Value indexes that the import dropped and built again in one pass because it was large
    /// (see [`crate::StoreConfig::index_deferral_after`]); 0 for a small import. Not records.
    #[serde(default)]
    pub rebuilt_indexes: u32,
}

impl ImportSummary {
    /// All records imported.
    pub fn total(&self) -> u64 {
        self.campaigns
            + self.blobs
            + self.experiments
            + self.planner_states
            + self.prov_records
            + self.prov_edges
    }
}

/// The file formats [`export`] writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// The lossless exchange format (JSON lines, see the module docs); re-importable.
    JsonLines,
    /// A flat table, one row per experiment (lossy; for spreadsheets).
    Csv,
    /// Citrine GEMD objects as JSON lines (spec/run split, linked by uid).
    Gemd,
    /// A typed Parquet table, one row per experiment, units in the column metadata (see
    /// [`parquet_file`]); re-importable with [`import_parquet`].
    Parquet,
}

impl std::str::FromStr for ExportFormat {
    type Err = StoreError;

    fn from_str(text: &str) -> Result<ExportFormat> {
        match text.to_ascii_lowercase().as_str() {
            "json" | "jsonl" | "json-lines" => Ok(ExportFormat::JsonLines),
            "csv" => Ok(ExportFormat::Csv),
            "gemd" => Ok(ExportFormat::Gemd),
            "parquet" => Ok(ExportFormat::Parquet),
            other => Err(StoreError::invalid(
                "export",
                "format",
                format!("unknown format '{other}' (expected json, csv, gemd or parquet)"),
            )),
        }
    }
}

/// Options of [`export`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExportOptions {
    /// JSON lines only: include every blob's bytes (base64), so that the file alone restores
    /// the store, blobs included. Without it, blob entries carry hash, size and media type and
    /// an import needs the blobs in its blob storage already.
    pub include_blob_content: bool,
}

/// Writes the whole store to `out` in `format`, streaming (one record in memory at a time).
/// Returns the number of records (JSON lines), rows (CSV, Parquet) or GEMD objects written.
pub fn export(
    store: &Store,
    format: ExportFormat,
    options: ExportOptions,
    out: &mut dyn Write,
) -> Result<u64> {
    let written = match format {
        ExportFormat::JsonLines => export_json_lines(store, options, out)?,
        ExportFormat::Csv => csv::export_csv(store, out)?,
        ExportFormat::Gemd => gemd::export_gemd(store, out)?,
        ExportFormat::Parquet => parquet_file::export_parquet(store, out)?,
    };
    out.flush().map_err(write_error)?;
    Ok(written)
}

fn export_json_lines(store: &Store, options: ExportOptions, out: &mut dyn Write) -> Result<u64> {
    let header = ExchangeHeader {
        format: EXCHANGE_FORMAT.to_string(),
        version: EXCHANGE_VERSION,
        record_kinds: RECORD_KINDS.iter().map(|k| k.to_string()).collect(),
    };
    write_json_line(out, &header)?;
    store.for_each_record(options.include_blob_content, |record| {
        write_json_line(out, &record)
    })
}

pub(crate) fn write_json_line<T: Serialize>(out: &mut dyn Write, value: &T) -> Result<()> {
    serde_json::to_writer(&mut *out, value)
        .map_err(|e| StoreError::invalid("export", "record", format!("cannot serialise: {e}")))?;
    out.write_all(b"\n").map_err(write_error)
}

pub(crate) fn write_error(e: std::io::Error) -> StoreError {
    StoreError::io("write the export", std::path::PathBuf::from("<output>"), e)
}

/// Imports an exchange file (JSON lines, as [`export`] writes with
/// [`ExportFormat::JsonLines`]) into `store`, streaming, in one transaction (see
/// [`Store::import_records`]). Errors name the line.
pub fn import_json_lines(store: &Store, input: impl BufRead) -> Result<ImportSummary> {
    let mut lines = input.lines().enumerate();
    let header_line = match lines.next() {
        Some((_, Ok(line))) => line,
        Some((_, Err(e))) => return Err(read_error(1, e)),
        None => return Err(line_error(1, "header", "the file is empty")),
    };
    let header: ExchangeHeader = serde_json::from_str(&header_line)
        .map_err(|e| line_error(1, "header", format!("not an exchange header: {e}")))?;
    if header.format != EXCHANGE_FORMAT {
        return Err(line_error(
            1,
            "format",
            format!("'{}' is not '{EXCHANGE_FORMAT}'", header.format),
        ));
    }
    if header.version == 0 || header.version > EXCHANGE_VERSION {
        return Err(line_error(
            1,
            "version",
            format!(
                "version {} is not supported (this build reads 1 to {EXCHANGE_VERSION}; \
                 use a newer Athanor)",
                header.version
            ),
        ));
    }
    let records = lines
        .filter(|(_, line)| line.as_ref().map_or(true, |l| !l.trim().is_empty()))
        .map(|(index, line)| {
            let number = index + 1;
            let line = line.map_err(|e| read_error(number, e))?;
            serde_json::from_str::<ExchangeRecord>(&line).map_err(|e| {
                let hint = if e.to_string().contains("unknown variant") {
                    " (a record kind this build does not know: written by a newer Athanor?)"
                } else {
                    ""
                };
                line_error(number, "record", format!("{e}{hint}"))
            })
        });
    store.import_records(records)
}

fn line_error(line: usize, field: &str, problem: impl Into<String>) -> StoreError {
    StoreError::invalid(format!("import line {line}"), field, problem)
}

fn read_error(line: usize, e: std::io::Error) -> StoreError {
    line_error(line, "text", format!("cannot read: {e}"))
}

/// serde helper: `Option<Vec<u8>>` as an optional base64 string (standard alphabet, padded).
mod base64_bytes {
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(bytes) => {
                s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
            }
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        let text: Option<String> = Option::deserialize(d)?;
        text.map(|t| {
            base64::engine::general_purpose::STANDARD
                .decode(t.as_bytes())
                .map_err(serde::de::Error::custom)
        })
        .transpose()
    }
}
