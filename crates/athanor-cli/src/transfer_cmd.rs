//! `athanor data import` / `athanor data export`: move a store's records in and out as files
//! (see `athanor_store::transfer` for the formats).

use crate::DataDirArg;
use anyhow::Context;
use athanor_store::transfer::table::{import_csv, import_spreadsheet, TableMapping};
use athanor_store::transfer::{
    export, import_json_lines, import_parquet, ExportFormat, ExportOptions,
};
use athanor_store::StoreError;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

/// Exit code for an error: 2 when the input (file, format) was at fault, 1 otherwise.
pub fn exit_code(error: &anyhow::Error) -> u8 {
    match error.downcast_ref::<StoreError>() {
        Some(StoreError::InvalidInput { .. } | StoreError::NotFound { .. }) => 2,
        _ if error.downcast_ref::<std::io::Error>().is_some() => 2,
        _ => 1,
    }
}

/// How to read a table of past experiments: its column mapping (TOML) and, for a
/// spreadsheet, which sheet.
pub struct TableSource<'a> {
    /// The mapping file.
    pub mapping: &'a Path,
    /// The sheet of a spreadsheet (default: the first).
    pub sheet: Option<&'a str>,
}

/// Spreadsheet file extensions (read with `calamine`); anything else with a mapping is CSV.
const SPREADSHEET_EXTENSIONS: &[&str] = &["xlsx", "xlsm", "xlsb", "xls", "ods"];

/// Imports an exchange file (JSON lines written by `athanor data export --format json`) or a
/// Parquet table (`--format parquet`, recognised by its magic bytes) in one transaction and
/// prints what was imported; with a `table` source, a CSV table or spreadsheet of past
/// experiments.
pub fn import(
    data: &DataDirArg,
    file: &Path,
    table: Option<TableSource>,
    json: bool,
) -> anyhow::Result<()> {
    if let Some(table) = table {
        return import_table(data, file, &table, json);
    }
    let mut input = File::open(file)
        .map_err(anyhow::Error::from)
        .with_context(|| format!("opening {}", file.display()))?;
    let parquet = is_parquet(&mut input)
        .map_err(anyhow::Error::from)
        .with_context(|| format!("reading {}", file.display()))?;
    let store = data.open()?;
    let summary = if parquet {
        import_parquet(&store, input)
    } else {
        import_json_lines(&store, BufReader::with_capacity(1 << 20, input))
    }
    .map_err(anyhow::Error::from)?;
    if json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        println!(
            "imported {} campaign(s), {} experiment(s), {} blob(s), {} planner state(s) from {}",
            summary.campaigns,
            summary.experiments,
            summary.blobs,
            summary.planner_states,
            file.display()
        );
    }
    Ok(())
}

/// Whether the file starts with Parquet's magic bytes (`PAR1`); leaves it at its start.
fn is_parquet(file: &mut File) -> std::io::Result<bool> {
    let mut magic = [0u8; 4];
    let mut read = 0;
    while read < magic.len() {
        match file.read(&mut magic[read..])? {
            0 => break,
            n => read += n,
        }
    }
    file.seek(SeekFrom::Start(0))?;
    Ok(read == magic.len() && magic == *b"PAR1")
}

/// Imports a CSV table or a spreadsheet with a column mapping (TOML) in one transaction: each
/// row becomes a completed experiment of the mapping's campaign.
fn import_table(
    data: &DataDirArg,
    file: &Path,
    table: &TableSource,
    json: bool,
) -> anyhow::Result<()> {
    let mapping_text = std::fs::read_to_string(table.mapping)
        .map_err(anyhow::Error::from)
        .with_context(|| format!("reading {}", table.mapping.display()))?;
    let parsed = TableMapping::from_toml(&mapping_text).map_err(anyhow::Error::from)?;
    let spreadsheet = file
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| SPREADSHEET_EXTENSIONS.contains(&e.to_ascii_lowercase().as_str()));
    if table.sheet.is_some() && !spreadsheet {
        return Err(StoreError::InvalidInput {
            record: file.display().to_string(),
            field: "--sheet".to_string(),
            problem: format!(
                "applies to spreadsheets ({}) only",
                SPREADSHEET_EXTENSIONS.join(", ")
            ),
        }
        .into());
    }
    let summary = if spreadsheet {
        let store = data.open()?;
        import_spreadsheet(&store, file, table.sheet, &parsed, &mapping_text)
    } else {
        let input = File::open(file)
            .map_err(anyhow::Error::from)
            .with_context(|| format!("opening {}", file.display()))?;
        let store = data.open()?;
        let name = file.file_name().map_or_else(
            || file.display().to_string(),
            |n| n.to_string_lossy().into_owned(),
        );
        import_csv(
            &store,
            BufReader::with_capacity(1 << 20, input),
            &name,
            &parsed,
            &mapping_text,
        )
    }
    .map_err(anyhow::Error::from)?;
    if json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        println!(
            "imported {} experiment(s) into campaign {} from {}",
            summary.experiments.len(),
            summary.campaign,
            file.display()
        );
    }
    Ok(())
}

/// Exports the whole store in `format` to `output` (standard output when `None`).
pub fn export_store(
    data: &DataDirArg,
    format: &str,
    output: Option<&Path>,
    with_blobs: bool,
) -> anyhow::Result<()> {
    let format: ExportFormat = format.parse().map_err(anyhow::Error::from)?;
    let store = data.open_existing()?;
    let options = ExportOptions {
        include_blob_content: with_blobs,
    };
    let written = match output {
        Some(path) => {
            // Written next to the target and renamed at the end: an interrupted export never
            // leaves a truncated file under the requested name.
            let temporary = path.with_extension("partial");
            let file = File::create(&temporary)
                .with_context(|| format!("creating {}", temporary.display()))?;
            let mut out = BufWriter::with_capacity(1 << 20, file);
            let written = export(&store, format, options, &mut out)?;
            out.into_inner()
                .map_err(|e| e.into_error())
                .and_then(|f| f.sync_all())
                .with_context(|| format!("writing {}", temporary.display()))?;
            std::fs::rename(&temporary, path).with_context(|| {
                format!("renaming {} to {}", temporary.display(), path.display())
            })?;
            eprintln!("wrote {written} record(s) to {}", path.display());
            written
        }
        None => {
            let stdout = std::io::stdout();
            let mut out = BufWriter::with_capacity(1 << 20, stdout.lock());
            let written = export(&store, format, options, &mut out)?;
            out.flush()?;
            written
        }
    };
    let _ = written;
    Ok(())
}
