//! `athanor data ingest FILE…`: bring instrument files into the store.
//!
//! For each file:
//!
//! 1. **Read** it with `athanor_formats::read_path` (format recognised by content; an SEM image
//!    is paired with its metadata sidecar, and a sidecar given alone finds its image). A file
//!    that does not read is bad input: nothing is stored for it.
//! 2. **Store the raw bytes** as content-addressed blobs (`Store::put_blob`): the file, and the
//!    sidecar when one was used. The same bytes are stored once, however often they are ingested.
//! 3. **Skip re-ingests**: when a measurement record already lists the file's blob among its raw
//!    files, the file is reported as `already ingested: <lab id>` and nothing new is written
//!    (so re-running a batch is idempotent). `--again` records a new measurement anyway (the
//!    blob is still shared).
//! 4. **Store the original metadata** (the file's whole tag tree / header as JSON) as one more
//!    blob, referenced from the record's extras (`original_metadata`, an array reference): the
//!    tree can be large and stays out of the record.
//! 5. **Create the `measurement_run` record** in ONE transaction (`Store::create_record`),
//!    completed (immutable): technique (`--technique`, else the file's), instrument (vendor and
//!    model), acquisition conditions as typed attributes with units (origin `measured`), the raw
//!    blobs (linked measurement —generated→ blob by the store) and extras (file name, format,
//!    dtype, shape, axis calibrations, metadata blob). `--sample` adds the edge
//!    material —measured→ measurement, `--campaign` campaign —part_of→ measurement.
//!
//! `--sample` and `--campaign` are checked before any file is touched: an unknown lab id (or a
//! record of the wrong kind) is bad input and nothing is stored. A failure after the blobs were
//! written leaves, at worst, blobs without a record: harmless, since blobs are named by their
//! content and the next ingest reuses them.

use crate::DataDirArg;
use anyhow::Context;
use athanor_formats::dataset::{detect_kind, Dataset, FileKind, NormalisedMetadata};
use athanor_formats::files::sidecar_candidates;
use athanor_formats::{parse_sem_sidecar, read_path, FormatError};
use athanor_model::attributes::{validate_attributes, Attribute, AttributeValue};
use athanor_model::provenance::{EdgeKind, RecordBody, RecordKind};
use athanor_model::units::Unit;
use athanor_model::Origin;
use athanor_store::{BlobRef, LineageDirection, Link, NewRecord, Store, StoreError};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// What `athanor data ingest` was asked to do besides reading the files.
#[derive(Debug, Clone, Default)]
pub struct IngestOptions {
    /// Lab id (or id) of the campaign the measurements belong to.
    pub campaign: Option<String>,
    /// Lab id (or id) of the material that was measured.
    pub sample: Option<String>,
    /// Technique to record instead of the one the file states.
    pub technique: Option<String>,
    /// Record a new measurement even when the file was ingested before.
    pub again: bool,
    /// Print a JSON array instead of lines.
    pub json: bool,
}

/// Bad input to `athanor data ingest` (an unreadable file, an unknown lab id): exit code 2.
#[derive(Debug)]
pub struct BadInput(pub String);

impl std::fmt::Display for BadInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadInput {}

/// Exit code for an ingest error: 2 when the input (file, lab id, option) was at fault, 1 for
/// a failure (store, disk, several files of which some failed).
pub fn exit_code(error: &anyhow::Error) -> u8 {
    if error.downcast_ref::<BadInput>().is_some() || error.downcast_ref::<FormatError>().is_some() {
        return 2;
    }
    match error.downcast_ref::<StoreError>() {
        Some(StoreError::InvalidInput { .. } | StoreError::NotFound { .. }) => 2,
        _ => 1,
    }
}

/// The outcome of one file, as printed by `--json`.
#[derive(Debug, Clone, Serialize)]
pub struct FileOutcome {
    /// The path as given on the command line.
    pub file: String,
    /// `ingested`, `already_ingested` or `failed`.
    pub status: &'static str,
    /// Lab id of the measurement record (new, or the earlier one for `already_ingested`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lab_id: Option<String>,
    /// Machine id of the measurement record.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// What was read from the file (absent when reading failed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<FileSummary>,
    /// Raw blobs (the file, and its sidecar when there is one).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub raw_files: Vec<BlobRef>,
    /// Blob holding the file's original metadata tree as JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata_blob: Option<String>,
    /// Why the file failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Key facts about an ingested file.
#[derive(Debug, Clone, Serialize)]
pub struct FileSummary {
    /// The reader that recognised it, e.g. `DM3`, `TIFF (FEI/Thermo)`.
    pub format: String,
    /// Technique recorded.
    pub technique: String,
    /// Instrument recorded.
    pub instrument: String,
    /// Array shape, slowest axis first.
    pub shape: Vec<usize>,
    /// NumPy name of the element type.
    pub dtype: String,
    /// The acquisition conditions recorded (typed, with units).
    pub conditions: Vec<Attribute>,
}

/// Ingests `files` into the store of `data` (see the module docs). Prints one line per file,
/// or a JSON array with `json`. Errors: a single file's own error, or, with several files, one
/// error listing the files that failed (the others are ingested).
pub fn ingest(data: &DataDirArg, files: &[PathBuf], options: &IngestOptions) -> anyhow::Result<()> {
    if let Some(technique) = &options.technique {
        if technique.trim().is_empty() {
            return Err(BadInput("--technique must not be empty".into()).into());
        }
    }
    let store = data.open()?;
    let links = resolve_links(&store, options)?;
    let mut outcomes = Vec::with_capacity(files.len());
    let mut failures: Vec<(PathBuf, anyhow::Error)> = Vec::new();
    for file in files {
        match ingest_one(&store, file, options, &links) {
            Ok(outcome) => {
                if !options.json {
                    print_outcome(&outcome);
                }
                outcomes.push(outcome);
            }
            Err(error) => {
                if files.len() > 1 {
                    eprintln!("error: {:#}", error);
                }
                outcomes.push(FileOutcome {
                    file: file.display().to_string(),
                    status: "failed",
                    lab_id: None,
                    id: None,
                    summary: None,
                    raw_files: Vec::new(),
                    metadata_blob: None,
                    error: Some(format!("{error:#}")),
                });
                failures.push((file.clone(), error));
            }
        }
    }
    if options.json {
        println!("{}", serde_json::to_string_pretty(&outcomes)?);
    }
    match failures.len() {
        0 => Ok(()),
        _ if files.len() == 1 => Err(failures.remove(0).1),
        n => anyhow::bail!(
            "{n} of {} files failed (nothing was stored for them): {}",
            files.len(),
            failures
                .iter()
                .map(|(path, _)| path.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Checks `--sample` and `--campaign` before anything is stored and turns them into upstream
/// links of the new records.
fn resolve_links(store: &Store, options: &IngestOptions) -> anyhow::Result<Vec<Link>> {
    let mut links = Vec::new();
    let checks = [
        (
            &options.sample,
            "--sample",
            EdgeKind::Measured,
            &[RecordKind::MaterialRun, RecordKind::MaterialSpec][..],
        ),
        (
            &options.campaign,
            "--campaign",
            EdgeKind::PartOf,
            &[RecordKind::Campaign][..],
        ),
    ];
    for (key, flag, edge, kinds) in checks {
        let Some(key) = key else { continue };
        let record = store.record(key)?.ok_or_else(|| {
            BadInput(format!(
                "{flag} {key}: no record with this lab id or id in {}",
                store.data_dir().display()
            ))
        })?;
        if !kinds.contains(&record.kind) {
            return Err(BadInput(format!(
                "{flag} {key}: {} is a {} record, expected {}",
                record.lab_id,
                record.kind.as_str(),
                kinds
                    .iter()
                    .map(|k| k.as_str())
                    .collect::<Vec<_>>()
                    .join(" or ")
            ))
            .into());
        }
        links.push(Link {
            kind: edge,
            source: record.id,
        });
    }
    Ok(links)
}

/// The files that make up one measurement: the image (or pattern, spectrum, …) and the SEM
/// sidecar that was merged into it, if any.
struct SourceFiles {
    primary: PathBuf,
    sidecar: Option<PathBuf>,
}

/// Which files `read_path` used for `given`: the same pairing rules as the reader (first
/// candidate sidecar that parses; for a sidecar given alone, the image it read).
fn source_files(
    given: &Path,
    given_bytes: &[u8],
    dataset: &Dataset,
) -> anyhow::Result<SourceFiles> {
    let name = given.file_name().map(|n| n.to_string_lossy().into_owned());
    if detect_kind(given_bytes, name.as_deref()).ok() == Some(FileKind::SemSidecar) {
        // The reader says where it found the pixels (athanor_formats::files).
        let image = dataset
            .notes
            .iter()
            .find_map(|note| note.strip_prefix("pixels read from "))
            .map(PathBuf::from)
            .ok_or_else(|| {
                BadInput(format!(
                    "{}: an SEM sidecar, but the reader did not say which image it belongs \
                     to; ingest the image instead",
                    given.display()
                ))
            })?;
        return Ok(SourceFiles {
            primary: image,
            sidecar: Some(given.to_path_buf()),
        });
    }
    let sidecar = sidecar_candidates(given).into_iter().find(|candidate| {
        std::fs::read(candidate)
            .map(|bytes| parse_sem_sidecar(&bytes).is_ok())
            .unwrap_or(false)
    });
    Ok(SourceFiles {
        primary: given.to_path_buf(),
        sidecar,
    })
}

fn file_name_of(path: &Path) -> anyhow::Result<String> {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .ok_or_else(|| BadInput(format!("{}: not a file name", path.display())).into())
}

/// IANA media type (or a conventional `application/x-…` one) of a recognised file.
fn media_type(bytes: &[u8], name: &str) -> &'static str {
    match detect_kind(bytes, Some(name)) {
        Ok(FileKind::Dm3) => "application/x-dm3",
        Ok(FileKind::Dm4) => "application/x-dm4",
        Ok(FileKind::Tiff) => "image/tiff",
        Ok(FileKind::Png) => "image/png",
        Ok(FileKind::Brml) => "application/zip",
        Ok(FileKind::Xrdml) => "application/xml",
        Ok(FileKind::Jcamp) => "chemical/x-jcamp-dx",
        Ok(FileKind::RigakuRas | FileKind::XyText | FileKind::SemSidecar) => "text/plain",
        Ok(FileKind::Mrc) => "application/x-mrc",
        Ok(FileKind::Hdf5) => "application/x-hdf5",
        Ok(FileKind::BrukerRaw) | Err(_) => "application/octet-stream",
    }
}

fn ingest_one(
    store: &Store,
    given: &Path,
    options: &IngestOptions,
    links: &[Link],
) -> anyhow::Result<FileOutcome> {
    // 1. Read and understand everything before writing anything.
    let given_bytes = std::fs::read(given)
        .map_err(|e| BadInput(format!("{}: cannot read the file: {e}", given.display())))?;
    let dataset = read_path(given).map_err(|e| {
        BadInput(format!(
            "{}: not a readable instrument file: {e}",
            given.display()
        ))
    })?;
    let sources = source_files(given, &given_bytes, &dataset)?;
    let primary_bytes = if sources.primary == given {
        given_bytes
    } else {
        std::fs::read(&sources.primary).map_err(|e| {
            BadInput(format!(
                "{}: cannot read the file: {e}",
                sources.primary.display()
            ))
        })?
    };
    let primary_name = file_name_of(&sources.primary)?;
    let sidecar = match &sources.sidecar {
        Some(path) => {
            let bytes = std::fs::read(path).map_err(|e| {
                BadInput(format!("{}: cannot read the sidecar: {e}", path.display()))
            })?;
            Some((file_name_of(path)?, bytes))
        }
        None => None,
    };
    let technique = options
        .technique
        .clone()
        .or_else(|| dataset.metadata.technique.clone())
        .filter(|t| !t.trim().is_empty())
        .ok_or_else(|| {
            BadInput(format!(
                "{}: the file does not state the technique ({} file); pass --technique",
                given.display(),
                dataset.format
            ))
        })?;
    let instrument = instrument_of(&dataset.metadata);
    let conditions = conditions_of(&dataset.metadata);
    let mut extras = extras_of(&dataset, &primary_name, &sources, primary_bytes.len());
    validate_attributes(&conditions)
        .and_then(|()| validate_attributes(&extras))
        .map_err(|e| {
            anyhow::anyhow!(
                "{}: the metadata do not make a valid record ({}: {})",
                given.display(),
                e.field,
                e.problem
            )
        })?;
    let summary = FileSummary {
        format: dataset.format.clone(),
        technique: technique.clone(),
        instrument: instrument.clone(),
        shape: dataset.shape.clone(),
        dtype: dataset.data_type().numpy_name().to_string(),
        conditions: conditions.clone(),
    };

    // 2. The raw file: content-addressed, so storing it again is a no-op.
    let what = |path: &Path| format!("{}: storing the raw file", path.display());
    let primary_blob = store
        .put_blob(
            &primary_bytes,
            media_type(&primary_bytes, &primary_name),
            &primary_name,
        )
        .with_context(|| what(&sources.primary))?;

    // 3. Already ingested?
    if !options.again {
        if let Some(earlier) = measurement_of_blob(store, &primary_blob.hash)? {
            return Ok(FileOutcome {
                file: given.display().to_string(),
                status: "already_ingested",
                lab_id: Some(earlier.0),
                id: Some(earlier.1),
                summary: Some(summary),
                raw_files: vec![primary_blob],
                metadata_blob: None,
                error: None,
            });
        }
    }
    let mut raw_files = vec![primary_blob];
    if let (Some((name, bytes)), Some(path)) = (&sidecar, &sources.sidecar) {
        raw_files.push(
            store
                .put_blob(bytes, "text/plain", name)
                .with_context(|| what(path))?,
        );
    }

    // 4. The original metadata tree, out of the record.
    let tree = serde_json::to_vec_pretty(&dataset.original_metadata)
        .context("serialising the original metadata")?;
    let metadata_blob = store
        .put_blob(
            &tree,
            "application/json",
            &format!("{primary_name}.metadata.json"),
        )
        .with_context(|| format!("{}: storing the original metadata", given.display()))?;
    extras.push(Attribute::new(
        "original_metadata",
        AttributeValue::ArrayRef {
            blob: metadata_blob.hash.clone(),
            path: String::new(),
            shape: Vec::new(),
        },
        "",
        Origin::Measured,
    ));

    // 5. The record and its edges, in one transaction.
    let mut new = NewRecord::new(
        RecordKind::MeasurementRun,
        &primary_name,
        RecordBody::Measurement {
            technique,
            instrument,
            conditions,
            raw_files: raw_files.iter().map(|b| b.hash.clone()).collect(),
            properties: Vec::new(),
        },
    );
    new.extras = extras;
    new.inputs = links.to_vec();
    new.completed = true;
    let record = store
        .create_record(&new)
        .with_context(|| format!("{}: creating the measurement record", given.display()))?;
    Ok(FileOutcome {
        file: given.display().to_string(),
        status: "ingested",
        lab_id: Some(record.lab_id),
        id: Some(record.id),
        summary: Some(summary),
        raw_files,
        metadata_blob: Some(metadata_blob.hash),
        error: None,
    })
}

/// The (lab id, id) of a measurement that lists the blob `hash` as a raw file, if any
/// (the lowest lab id when there are several).
fn measurement_of_blob(store: &Store, hash: &str) -> anyhow::Result<Option<(String, String)>> {
    if store.record(hash)?.is_none() {
        return Ok(None);
    }
    let up = store.lineage(hash, LineageDirection::Up, 1)?;
    Ok(up
        .nodes
        .iter()
        .filter(|node| node.kind == RecordKind::MeasurementRun)
        .filter(|node| {
            up.edges
                .iter()
                .any(|e| e.source == node.id && e.target == hash && e.kind == EdgeKind::Generated)
        })
        .map(|node| (node.lab_id.clone(), node.id.clone()))
        .min())
}

/// `vendor model`, or whichever is known, or `unknown`.
fn instrument_of(metadata: &NormalisedMetadata) -> String {
    let parts: Vec<&str> = [&metadata.instrument_vendor, &metadata.instrument_model]
        .into_iter()
        .flatten()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect();
    if parts.is_empty() {
        "unknown".to_string()
    } else {
        parts.join(" ")
    }
}

/// A measured number with a unit. The model's unit table may lack a unit (e.g. degrees of
/// angle): then the unit moves into the name (`scan_step_deg`) and the attribute is
/// dimensionless, so the value is still recorded and the record still validates.
fn measured_number(name: &str, value: f64, unit: &str) -> Option<Attribute> {
    if !value.is_finite() {
        return None;
    }
    let value = AttributeValue::Nominal { value };
    Some(if Unit::parse(unit).is_ok() {
        Attribute::new(name, value, unit, Origin::Measured)
    } else {
        Attribute::new(&format!("{name}_{unit}"), value, "", Origin::Measured)
    })
}

fn measured_category(name: &str, category: &Option<String>) -> Option<Attribute> {
    let category = category.as_deref()?.trim();
    (!category.is_empty()).then(|| {
        Attribute::new(
            name,
            AttributeValue::Categorical {
                category: category.to_string(),
            },
            "",
            Origin::Measured,
        )
    })
}

fn text(name: &str, text: &str) -> Attribute {
    Attribute::new(
        name,
        AttributeValue::Text {
            text: text.to_string(),
        },
        "",
        Origin::Measured,
    )
}

/// Acquisition conditions from the normalised metadata, in the units of the standard
/// vocabulary (kV, mm, nm, pm, s, A; X-ray lines in Å).
fn conditions_of(metadata: &NormalisedMetadata) -> Vec<Attribute> {
    let number = |name: &str, value: Option<f64>, unit: &str| {
        value.and_then(|v| measured_number(name, v, unit))
    };
    let pixel_size = metadata.pixel_size.as_ref().and_then(|q| {
        // In nm when the unit converts (the usual case); as the file states it otherwise.
        let nm = Unit::parse("nm").ok()?;
        match Unit::parse(&q.unit).and_then(|u| u.convert(q.value, &nm)) {
            Ok(value) => measured_number("pixel_size", value, "nm"),
            Err(_) => measured_number("pixel_size", q.value, &q.unit),
        }
    });
    let mut list: Vec<Attribute> = [
        number("beam_energy", metadata.beam_energy_kv, "kV"),
        number("magnification", metadata.magnification, ""),
        number("camera_length", metadata.camera_length_mm, "mm"),
        number("working_distance", metadata.working_distance_mm, "mm"),
        pixel_size,
        number("wavelength", metadata.wavelength_pm, "pm"),
        number("dwell_time", metadata.dwell_time_s, "s"),
        number("beam_current", metadata.beam_current_a, "A"),
        measured_category("detector", &metadata.detector),
    ]
    .into_iter()
    .flatten()
    .collect();
    if let Some(time) = metadata.acquisition_time.as_deref() {
        if !time.trim().is_empty() {
            list.push(text("acquisition_time", time.trim()));
        }
    }
    if let Some(x) = &metadata.xray {
        list.extend(
            [
                measured_category("xray_anode", &x.anode),
                number("xray_wavelength_k_alpha1", x.k_alpha1_angstrom, "Å"),
                number("xray_wavelength_k_alpha2", x.k_alpha2_angstrom, "Å"),
                number("xray_wavelength_k_beta", x.k_beta_angstrom, "Å"),
                number("xray_k_alpha2_ratio", x.k_alpha2_ratio, ""),
                measured_category("scan_type", &x.scan_type),
                measured_category("scan_axis", &x.scan_axis),
                number("scan_step", x.step_deg, "deg"),
                number("time_per_step", x.time_per_step_s, "s"),
                number("tube_voltage", x.tube_voltage_kv, "kV"),
                number("tube_current", x.tube_current_ma, "mA"),
            ]
            .into_iter()
            .flatten(),
        );
    }
    list
}

/// Everything else worth keeping in the record: where the data came from and how the array
/// is laid out.
fn extras_of(
    dataset: &Dataset,
    primary_name: &str,
    sources: &SourceFiles,
    size: usize,
) -> Vec<Attribute> {
    let mut extras = vec![
        text("file_name", primary_name),
        text(
            "source_path",
            &std::fs::canonicalize(&sources.primary)
                .unwrap_or_else(|_| sources.primary.clone())
                .display()
                .to_string(),
        ),
        Attribute::new(
            "file_size_bytes",
            AttributeValue::Integer {
                value: i64::try_from(size).unwrap_or(i64::MAX),
            },
            "",
            Origin::Measured,
        ),
        Attribute::new(
            "format",
            AttributeValue::Categorical {
                category: dataset.format.clone(),
            },
            "",
            Origin::Measured,
        ),
        Attribute::new(
            "dtype",
            AttributeValue::Categorical {
                category: dataset.data_type().numpy_name().to_string(),
            },
            "",
            Origin::Measured,
        ),
        text(
            "shape",
            &dataset
                .shape
                .iter()
                .map(|n| n.to_string())
                .collect::<Vec<_>>()
                .join("×"),
        ),
    ];
    if let Some(sidecar) = sources.sidecar.as_deref().and_then(Path::file_name) {
        extras.push(text("sidecar_file_name", &sidecar.to_string_lossy()));
    }
    for (i, axis) in dataset.axes.iter().enumerate() {
        let calibration = match &axis.units {
            Some(units) => format!(
                "{}: {} points, scale {} {units}, offset {} {units}",
                axis.name, axis.size, axis.scale, axis.offset
            ),
            None => format!("{}: {} points, uncalibrated", axis.name, axis.size),
        };
        extras.push(text(&format!("axis_{i}"), &calibration));
    }
    for (name, value) in [
        ("operator", &dataset.metadata.operator),
        ("sample_name", &dataset.metadata.sample_name),
    ] {
        if let Some(value) = value.as_deref().filter(|v| !v.trim().is_empty()) {
            extras.push(text(name, value.trim()));
        }
    }
    if !dataset.notes.is_empty() {
        extras.push(text("reader_notes", &dataset.notes.join("; ")));
    }
    extras
}

fn print_outcome(outcome: &FileOutcome) {
    let Some(summary) = &outcome.summary else {
        return;
    };
    let lab_id = outcome.lab_id.as_deref().unwrap_or("-");
    let key: Vec<String> = summary
        .conditions
        .iter()
        .filter(|a| {
            matches!(
                a.name.as_str(),
                "pixel_size"
                    | "beam_energy"
                    | "magnification"
                    | "working_distance"
                    | "wavelength"
                    | "xray_wavelength_k_alpha1"
            )
        })
        .filter_map(|a| {
            let value = a.value.central()?;
            let unit = if a.unit.is_empty() {
                String::new()
            } else {
                format!(" {}", a.unit)
            };
            Some(format!("{} {value}{unit}", a.name))
        })
        .collect();
    let shape = summary
        .shape
        .iter()
        .map(|n| n.to_string())
        .collect::<Vec<_>>()
        .join("×");
    let prefix = if outcome.status == "already_ingested" {
        format!("already ingested: {lab_id}")
    } else {
        lab_id.to_string()
    };
    println!(
        "{prefix}  {}  {} on {}  [{}, {shape} {}]{}{}",
        outcome.file,
        summary.technique,
        summary.instrument,
        summary.format,
        summary.dtype,
        if key.is_empty() {
            String::new()
        } else {
            format!("  {}", key.join(", "))
        },
        match outcome.raw_files.len() {
            0 | 1 => String::new(),
            n => format!("  ({n} raw files)"),
        }
    );
}
