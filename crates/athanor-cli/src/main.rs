//! `athanor` — the command line of the Athanor autonomous materials lab.
//!
//! Thin commands over the library crates: `run` drives a campaign through the closed loop,
//! `show` and `export` read what the store holds, `bench` measures the loop.
//! Exit codes: 0 ok, 1 failure, 2 bad input or usage.

mod bench;
mod data_cmd;
mod ingest_cmd;
mod output;
mod plan_bench;
mod plan_cmd;
mod plot;
mod store_bench;
mod transfer_cmd;
mod vision_cmd;

use anyhow::Context;
use athanor_lab::campaign::load_campaign;
use athanor_lab::runner::{run_campaign, Event};
use athanor_lab::LabError;
use athanor_store::{Store, StoreConfig};
use clap::{Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "athanor",
    version,
    about = "Athanor: an autonomous lab for nanomaterials — plan, run, measure, analyse, learn.",
    after_help = "Examples:\n  athanor run examples/qd-620nm.toml\n  athanor run examples/qd-620nm.toml --seed 3 --json\n  athanor show\n  athanor export --format csv --output experiments.csv\n  athanor inspect image.dm4\n  athanor vision eval ../shared/datasets/emps-train --limit 50"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the data live: a data directory (SQLite database and blobs) and, optionally, a
/// PostgreSQL database that holds the records instead of the SQLite file.
#[derive(clap::Args, Clone)]
pub struct DataDirArg {
    /// Directory holding the database and raw files.
    #[arg(long, env = "ATHANOR_DATA_DIR", default_value = "athanor-data")]
    pub data_dir: PathBuf,
    /// Keep the records in this PostgreSQL database (postgres://user@host:port/db) instead of
    /// DATA_DIR/athanor.sqlite; raw files stay in DATA_DIR.
    #[arg(long, env = "ATHANOR_DATABASE_URL")]
    pub database_url: Option<String>,
    /// Keep raw files (blobs) in this object store instead of DATA_DIR/blobs:
    /// s3://BUCKET[/PREFIX][?endpoint=http://host:port&region=…]; credentials from the
    /// AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY environment variables.
    #[arg(long, env = "ATHANOR_OBJECT_STORE_URL")]
    pub object_store: Option<String>,
}

impl DataDirArg {
    /// Opens (creating if needed) the store.
    pub fn open(&self) -> anyhow::Result<Store> {
        let config = match &self.database_url {
            Some(url) => StoreConfig::postgres(url.clone(), self.data_dir.clone()),
            None => StoreConfig::sqlite(self.data_dir.clone()),
        };
        let config = match &self.object_store {
            Some(url) => config.with_object_store(url.clone()),
            None => config,
        };
        Store::open_with(&config)
            .with_context(|| format!("opening the data directory {}", self.data_dir.display()))
    }

    /// Opens a store that must already hold data (for reading commands).
    pub fn open_existing(&self) -> anyhow::Result<Store> {
        if self.database_url.is_none() && !self.data_dir.join("athanor.sqlite").exists() {
            anyhow::bail!(
                "no Athanor data in {} (run a campaign first, or pass --data-dir)",
                self.data_dir.display()
            );
        }
        self.open()
    }
}

#[derive(Subcommand)]
enum Command {
    /// Run a campaign to its target or budget; running it again resumes where it stopped.
    #[command(
        after_help = "Examples:\n  athanor run examples/qd-620nm.toml\n  athanor run examples/qd-620nm.toml --seed 2 --data-dir /tmp/lab\n  athanor run examples/qd-620nm.toml --json | tail -n 1"
    )]
    Run {
        /// The campaign file (TOML).
        campaign: PathBuf,
        /// Seed of the planner and the twin (overrides the campaign file's).
        #[arg(long)]
        seed: Option<u64>,
        #[command(flatten)]
        data: DataDirArg,
        /// End the output with one JSON line: the best experiment's recipe and properties.
        #[arg(long)]
        json: bool,
    },
    /// List campaigns and their experiments with recipes and results.
    #[command(
        after_help = "Examples:\n  athanor show\n  athanor show C0001\n  athanor show --json"
    )]
    Show {
        /// Only this campaign (id or lab id such as C0001).
        campaign: Option<String>,
        #[command(flatten)]
        data: DataDirArg,
        /// Print JSON instead of tables.
        #[arg(long)]
        json: bool,
    },
    /// Export experiments, one row per experiment.
    #[command(
        after_help = "Examples:\n  athanor export --format csv > experiments.csv\n  athanor export --format csv --campaign C0001 --output c1.csv"
    )]
    Export {
        /// Output format.
        #[arg(long, value_enum, default_value = "csv")]
        format: ExportFormat,
        /// Only this campaign (id or lab id).
        #[arg(long)]
        campaign: Option<String>,
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
        #[command(flatten)]
        data: DataDirArg,
    },
    /// Plot a campaign's convergence (each objective against the experiment number) as SVG.
    #[command(after_help = "Examples:\n  athanor plot\n  athanor plot C0002 --output c2.svg")]
    Plot {
        /// The campaign (id or lab id); default: the most recent one.
        campaign: Option<String>,
        /// Output file (default: DATA_DIR/plots/<campaign>-convergence.svg).
        #[arg(long, short)]
        output: Option<PathBuf>,
        #[command(flatten)]
        data: DataDirArg,
    },
    /// Print a data file's normalised metadata as JSON (DM3/DM4, TIFF, PNG, …); the pixels are
    /// not read unless a preview is asked for.
    #[command(
        after_help = "Examples:\n  athanor inspect image.dm4\n  athanor inspect sem.tif --preview sem.png"
    )]
    Inspect {
        /// The file.
        file: PathBuf,
        /// Also write an 8-bit PNG preview of the image here.
        #[arg(long)]
        preview: Option<PathBuf>,
    },
    /// Query the data platform.
    #[command(subcommand)]
    Data(DataCommand),
    /// The experiment planner as a stateless command line over a JSON state file.
    #[command(subcommand)]
    Plan(PlanCommand),
    /// Micrograph analysis: particle sizes, and scoring against hand-made ground truth.
    #[command(subcommand)]
    Vision(VisionCommand),
    /// Benchmarks that print a table and end with one JSON line of figures.
    #[command(subcommand)]
    Bench(bench::BenchCommand),
}

/// `athanor data` subcommands.
#[derive(Subcommand)]
enum DataCommand {
    /// Find experiments with a filter (OPTIMADE-style; units are converted).
    #[command(
        after_help = "Filter fields: status, seq, lab_id, campaign, name, technique, recipe.<parameter>\n(or process.<parameter>), and any result by name (d50, pl_peak, size_cv, …).\nOperators: = != < <= > >=, CONTAINS, STARTS WITH, ENDS WITH, IS KNOWN, IS UNKNOWN, AND, OR, NOT, ( ).\n\nExamples:\n  athanor data search 'pl_peak >= 617 nm AND pl_peak <= 623 nm AND size_cv < 10 %'\n  athanor data search 'technique = \"TEM\" AND d50 < 6 nm AND process.growth_temperature >= 240 degC'\n  athanor data search 'campaign = \"C0001\" AND NOT quantum_yield IS KNOWN' --json"
    )]
    Search {
        /// The filter.
        filter: String,
        /// At most this many experiments.
        #[arg(long)]
        limit: Option<usize>,
        /// Print JSON instead of lines.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        data: DataDirArg,
    },
    /// Walk the provenance graph from a record: upstream (how it was made) or downstream (what
    /// was made from it).
    #[command(
        after_help = "ID is a lab id (C0001, C0001-E003, C0001-E003-R2, LOT-7; the latest version) or a UUID.\nEdges point downstream: used, generated, derived_from, measured, part_of, specifies.\n\nExamples:\n  athanor data lineage C0001-E003-R2 --up\n  athanor data lineage C0001 --down --depth 3\n  athanor data lineage LOT-CDO-7 --down --json"
    )]
    Lineage {
        /// Lab id or UUID of the record.
        id: String,
        /// Walk upstream: how was this made? (the default)
        #[arg(long, conflicts_with = "down")]
        up: bool,
        /// Walk downstream: what was made from this?
        #[arg(long)]
        down: bool,
        /// At most this many edges from the record.
        #[arg(long, default_value_t = 10)]
        depth: u32,
        /// Print JSON instead of lines.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        data: DataDirArg,
    },
    /// Show one provenance record (latest version for a lab id) and its direct neighbours.
    #[command(
        after_help = "Examples:\n  athanor data show C0001-E003\n  athanor data show C0001-E003-A1 --json"
    )]
    Show {
        /// Lab id or UUID of the record.
        id: String,
        /// Print JSON instead of lines.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        data: DataDirArg,
    },
    /// Import an exchange file (from `athanor data export --format json`) in one transaction:
    /// all of it or, on any error, nothing.
    #[command(
        after_help = "Examples:\n  athanor data import lab-a.jsonl\n  athanor data import lab-a.jsonl --data-dir new-lab --json\n  athanor data import old-runs.csv --mapping old-runs.toml\n  athanor data import notebook.xlsx --sheet 2024 --mapping old-runs.toml\n  athanor data import lab-a.parquet --data-dir new-lab\n\nA Parquet table from `athanor data export --format parquet` is recognised by its content.\nA CSV table or a spreadsheet (.xlsx, .xlsm, .xlsb, .xls, .ods; the first sheet unless\n--sheet names one; its first non-empty row is the header) needs --mapping (TOML): which\ncolumn is which recipe parameter, result or condition, in which unit (converted), with\nbounds, the campaign (new or existing by lab id) and what to do with empty cells. Errors name the row and column.\n\nIds, lab ids and timestamps are kept; an id already in the store is an error. Files\nexported without --with-blobs need the raw files in this store's blob storage already.\n\nExit codes: 0 imported, 1 failure (nothing imported), 2 bad file (nothing imported)."
    )]
    Import {
        /// The exchange file (JSON lines), a Parquet table, or a CSV table or spreadsheet
        /// with --mapping.
        file: PathBuf,
        /// Column mapping (TOML) for importing a CSV table or spreadsheet of past
        /// experiments: each row becomes a completed experiment of a new or existing campaign
        /// (see `athanor_store::transfer::table` for the format).
        #[arg(long)]
        mapping: Option<PathBuf>,
        /// The sheet of a spreadsheet to import (default: the first).
        #[arg(long, requires = "mapping")]
        sheet: Option<String>,
        /// Print the summary as JSON.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        data: DataDirArg,
    },
    /// Export the whole store: json (lossless exchange format, re-importable), csv (one row per
    /// experiment), gemd (Citrine GEMD objects as JSON lines) or parquet (typed table, units
    /// in the column metadata, re-importable).
    #[command(
        after_help = "Examples:\n  athanor data export --format json --with-blobs -o lab-a.jsonl\n  athanor data export --format csv -o experiments.csv\n  athanor data export --format gemd > lab-a.gemd.jsonl\n  athanor data export --format parquet -o lab-a.parquet\n\nExports stream: memory use does not grow with the size of the store. Parquet: one row per\nexperiment, typed columns (recipe.NAME, NAME, NAME.std, ...) with the unit in each column's\nmetadata; raw files, planner states and the provenance graph are only in json."
    )]
    Export {
        /// json, csv, gemd or parquet.
        #[arg(long, default_value = "json")]
        format: String,
        /// Write here (atomically, via OUT.partial) instead of standard output.
        #[arg(short = 'o', long = "output")]
        output: Option<PathBuf>,
        /// json only: include the raw files' bytes (base64), so the file alone restores them.
        #[arg(long)]
        with_blobs: bool,
        #[command(flatten)]
        data: DataDirArg,
    },
    /// Ingest instrument files: store each raw file (and its SEM sidecar) as a blob and record
    /// a completed measurement_run with the normalised metadata, linked to the blobs and, when
    /// given, to the sample and campaign.
    #[command(
        after_help = "Examples:\n  athanor data ingest image.dm3\n  athanor data ingest sem/*.tif --sample C0001-E003-S1 --campaign C0001\n  athanor data ingest pattern.xrdml --technique XRD --json\n  athanor data show X000001 && athanor data lineage X000001 --down\n\nThe format is recognised by content; an SEM image is paired with its sidecar (.txt/.hdr).\nConditions are typed with units (beam_energy kV, pixel_size nm, working_distance mm, …);\nthe file's whole metadata tree is stored as a JSON blob referenced from the record.\nA file whose bytes a measurement already lists is reported as \"already ingested: <lab id>\"\nand nothing new is written (re-running a batch is safe); --again records a new measurement.\n\nExit codes: 0 all ingested (or already there), 1 some of several files failed (the others\nare ingested; nothing is stored for a failed file) or a store failure, 2 bad input (an\nunreadable file, an unknown --sample/--campaign: then nothing is stored)."
    )]
    Ingest {
        /// Instrument files (DM3/DM4, TIFF, PNG, MRC, EMD, XRD patterns, JCAMP-DX, …).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Lab id of the campaign the measurements belong to (campaign -part_of-> measurement).
        #[arg(long)]
        campaign: Option<String>,
        /// Lab id of the material measured (material -measured-> measurement).
        #[arg(long)]
        sample: Option<String>,
        /// Technique to record instead of the file's (SEM, TEM, EELS, XRD, …).
        #[arg(long)]
        technique: Option<String>,
        /// Record a new measurement even for a file ingested before.
        #[arg(long)]
        again: bool,
        /// Print a JSON array (one object per file) instead of lines.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        data: DataDirArg,
    },
}

/// `athanor plan` subcommands.
#[derive(Subcommand)]
enum PlanCommand {
    /// Validate a planner configuration (TOML or JSON) and write a fresh state file.
    #[command(
        after_help = "Example configuration (TOML):\n  seed = 1\n  initial_design = 6\n  [[parameters]]\n  name = \"temperature\"\n  unit = \"degC\"\n  min = 200\n  max = 300\n  [[objectives]]\n  name = \"yield\"\n  goal = { kind = \"maximize\" }\n\nExamples:\n  athanor plan init planner.toml --state state.json"
    )]
    Init {
        /// The configuration: parameters (name, unit, min, max, log_scale), objectives (name,
        /// goal {kind = maximize|minimize|target|below|above, …}, weight, scale), initial_design, seed.
        config: PathBuf,
        /// The state file to create.
        #[arg(long)]
        state: PathBuf,
        /// Overwrite an existing state file.
        #[arg(long)]
        force: bool,
    },
    /// Print the next suggested recipe (CSV: a header and one row; or JSON). Does not change the state.
    #[command(
        after_help = "Examples:\n  athanor plan ask --state state.json\n  athanor plan ask --state state.json --json"
    )]
    Ask {
        /// The state file.
        #[arg(long)]
        state: PathBuf,
        /// Print JSON (recipe with units, strategy, predictions) instead of CSV.
        #[arg(long)]
        json: bool,
    },
    /// Add results: a CSV with a column per parameter and per objective (empty = not measured)
    /// and an optional `failed` column; rows may be in any order, including recipes the planner
    /// did not propose.
    #[command(after_help = "Examples:\n  athanor plan tell --state state.json results.csv")]
    Tell {
        /// The state file.
        #[arg(long)]
        state: PathBuf,
        /// The results CSV.
        results: PathBuf,
    },
}

/// `athanor vision` subcommands.
#[derive(Subcommand)]
enum VisionCommand {
    /// Segment particles and print size statistics for each image; continues past bad files.
    #[command(
        after_help = "Examples:\n  athanor vision analyze tem.tif\n  athanor vision analyze scans/*.png --pixel-size 0.5 --json\n  athanor vision analyze tem.tif --labels labels/ --overlay overlays/\n  athanor vision analyze batch/ --spec qc.toml --fail-on-reject --csv out/ --histogram out/\n  athanor vision analyze sem.png --scale-bar \"200 nm\"\n\nData bars (info strips at the bottom) and scale bars are found and masked; the pixel size\ncomes from --pixel-size (source: user), else the file (metadata), else the scale bar's\nmeasured length with --scale-bar (scale bar), else the bar's label read from the image\n(scale bar (read: \"100 nm\")), else none (sizes in pixels).\n\nExit codes: 0 all analysed (QC verdicts are reported, not enforced, unless\n--fail-on-reject), 1 some file failed (the rest are still analysed and written) or a QC\nreject with --fail-on-reject, 2 bad arguments or spec."
    )]
    Analyze {
        /// Image files (TIFF, DM3/DM4, PNG).
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// nm per pixel, overriding the files' calibration.
        #[arg(long)]
        pixel_size: Option<f64>,
        /// Print one JSON document instead of lines.
        #[arg(long)]
        json: bool,
        /// Also write each image's instance label map here (16-bit PNG, 0 = background).
        #[arg(long)]
        labels: Option<PathBuf>,
        /// Also write each image with the particle outlines drawn here (PNG).
        #[arg(long)]
        overlay: Option<PathBuf>,
        /// Also write per-particle tables (<stem>.particles.csv) and summary.csv here.
        #[arg(long)]
        csv: Option<PathBuf>,
        /// Also write size histograms with the log-normal fit (<stem>.histogram.svg) here.
        #[arg(long)]
        histogram: Option<PathBuf>,
        /// Judge each image against this QC spec (TOML: d50 = "5.0 ± 0.3 nm", cv_max = 0.08,
        /// agglomerates_max, outliers_max, span_max, d90_max, mean, min_count).
        #[arg(long)]
        spec: Option<PathBuf>,
        /// Exit with code 1 when any image fails its QC spec (default: the verdict is only
        /// reported and the exit code is 0).
        #[arg(long, requires = "spec")]
        fail_on_reject: bool,
        /// Seed of the bootstrap confidence intervals (1000 resamples).
        #[arg(long, default_value_t = 0)]
        seed: u64,
        /// What the scale bar burnt into the images stands for, e.g. "100 nm": images without
        /// a pixel size in their metadata are calibrated from the bar's measured length.
        /// Without it, the bar's label is read from the image (OCR) when it can be read
        /// with confidence; this option wins over the reading.
        #[arg(long)]
        scale_bar: Option<String>,
        /// Do not detect and mask data bars and scale bars (analyse them as image content).
        #[arg(long)]
        keep_annotations: bool,
        #[command(flatten)]
        segmenter: vision_cmd::SegmenterArgs,
    },
    /// Train the learned (U-Net) backend on an EMPS-layout dataset, CPU only; writes
    /// unet.safetensors and the record unet.json (config, seed, ids, losses) to --out.
    #[command(
        after_help = "Examples:\n  athanor vision train ../shared/datasets/emps-train --out weights/ --epochs 10 --seed 1\n  athanor vision train DIR --out /tmp/smoke --epochs 1 --max-images 2 --no-eval\n  athanor vision train DIR --out run3 --init-weights crates/athanor-vision/weights/emps-unet.safetensors --base-channels 8 --depth 5 --downsample 2 --minutes 120 --learning-rate 0.001"
    )]
    Train(vision_cmd::TrainOptions),
    /// Time the classical pipeline on a generated 2048×1536 8-bit micrograph with ~500
    /// particles and report the peak memory; ends with one JSON line.
    #[command(after_help = "Examples:\n  athanor vision bench\n  athanor vision bench --learned")]
    Bench {
        /// Image width, pixels.
        #[arg(long, default_value_t = 2048)]
        width: usize,
        /// Image height, pixels.
        #[arg(long, default_value_t = 1536)]
        height: usize,
        /// Timed runs of the classical pipeline (the median is reported).
        #[arg(long, default_value_t = 3)]
        repeats: usize,
        /// Also time the learned backend (shipped weights), segmentation plus measurement.
        #[arg(long)]
        learned: bool,
    },
    /// Score the segmentation against instance label maps (EMPS layout: DIR/images, DIR/segmaps).
    #[command(
        after_help = "Examples:\n  athanor vision eval ../shared/datasets/emps-train --limit 50\n  athanor vision eval DIR --ids held-out.txt --per-image"
    )]
    Eval {
        /// Directory with images/ and segmaps/.
        dir: PathBuf,
        /// Only the first N images (sorted by id).
        #[arg(long)]
        limit: Option<usize>,
        /// Only the ids listed in this file (one per line).
        #[arg(long)]
        ids: Option<PathBuf>,
        /// Only the fixed held-out split that training never reads (see
        /// crates/athanor-vision/data/emps-heldout.txt).
        #[arg(long)]
        held_out: bool,
        /// Print a line per image.
        #[arg(long)]
        per_image: bool,
        #[command(flatten)]
        segmenter: vision_cmd::SegmenterArgs,
    },
}

/// Export formats.
#[derive(Clone, Copy, ValueEnum)]
enum ExportFormat {
    /// Comma-separated values with `name [unit]` headers.
    Csv,
    /// One JSON document.
    Json,
}

/// A failure with the exit code it deserves.
struct Failure {
    code: u8,
    error: anyhow::Error,
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(e: E) -> Self {
        Failure {
            code: 1,
            error: e.into(),
        }
    }
}

fn bad_input(error: anyhow::Error) -> Failure {
    Failure { code: 2, error }
}

fn main() -> ExitCode {
    restore_default_sigpipe();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Run {
            campaign,
            seed,
            data,
            json,
        } => cmd_run(&campaign, seed, &data, json),
        Command::Show {
            campaign,
            data,
            json,
        } => output::show(&data, campaign.as_deref(), json).map_err(Failure::from),
        Command::Export {
            format,
            campaign,
            output,
            data,
        } => {
            let json = matches!(format, ExportFormat::Json);
            output::export(&data, campaign.as_deref(), json, output.as_deref())
                .map_err(Failure::from)
        }
        Command::Plot {
            campaign,
            output,
            data,
        } => output::plot(&data, campaign.as_deref(), output.as_deref())
            .map(|path| println!("{}", path.display()))
            .map_err(Failure::from),
        Command::Data(DataCommand::Lineage {
            id,
            up: _,
            down,
            depth,
            json,
            data,
        }) => {
            let direction = if down {
                athanor_store::LineageDirection::Down
            } else {
                athanor_store::LineageDirection::Up
            };
            data_cmd::lineage(&data, &id, direction, depth, json).map_err(|error| Failure {
                code: data_cmd::exit_code(&error),
                error,
            })
        }
        Command::Data(DataCommand::Show { id, json, data }) => data_cmd::show(&data, &id, json)
            .map_err(|error| Failure {
                code: data_cmd::exit_code(&error),
                error,
            }),
        Command::Data(DataCommand::Import {
            file,
            mapping,
            sheet,
            json,
            data,
        }) => {
            let table = mapping.as_deref().map(|mapping| transfer_cmd::TableSource {
                mapping,
                sheet: sheet.as_deref(),
            });
            transfer_cmd::import(&data, &file, table, json).map_err(|error| Failure {
                code: transfer_cmd::exit_code(&error),
                error,
            })
        }
        Command::Data(DataCommand::Ingest {
            files,
            campaign,
            sample,
            technique,
            again,
            json,
            data,
        }) => {
            let options = ingest_cmd::IngestOptions {
                campaign,
                sample,
                technique,
                again,
                json,
            };
            ingest_cmd::ingest(&data, &files, &options).map_err(|error| Failure {
                code: ingest_cmd::exit_code(&error),
                error,
            })
        }
        Command::Data(DataCommand::Export {
            format,
            output,
            with_blobs,
            data,
        }) => transfer_cmd::export_store(&data, &format, output.as_deref(), with_blobs).map_err(
            |error| Failure {
                code: transfer_cmd::exit_code(&error),
                error,
            },
        ),
        Command::Data(DataCommand::Search {
            filter,
            limit,
            json,
            data,
        }) => {
            output::search(&data, &filter, limit, json).map_err(|e| {
                // A filter that does not parse is the user's input, not a failure.
                let code = if matches!(
                    e.downcast_ref::<athanor_store::StoreError>(),
                    Some(athanor_store::StoreError::Query { .. })
                ) {
                    2
                } else {
                    1
                };
                Failure { code, error: e }
            })
        }
        Command::Plan(PlanCommand::Init {
            config,
            state,
            force,
        }) => plan_cmd::init(&config, &state, force).map_err(bad_input),
        Command::Plan(PlanCommand::Ask { state, json }) => {
            plan_cmd::ask(&state, json).map_err(bad_input)
        }
        Command::Plan(PlanCommand::Tell { state, results }) => plan_cmd::tell(&state, &results)
            .map(|n| eprintln!("{n} observations added"))
            .map_err(bad_input),
        Command::Inspect { file, preview } => {
            vision_cmd::inspect(&file, preview.as_deref()).map_err(bad_input)
        }
        Command::Vision(VisionCommand::Analyze {
            files,
            pixel_size,
            json,
            labels,
            overlay,
            csv,
            histogram,
            spec,
            fail_on_reject,
            seed,
            scale_bar,
            keep_annotations,
            segmenter,
        }) => vision_cmd::analyze_command(
            &files,
            &vision_cmd::AnalyzeOptions {
                segmenter,
                pixel_size_nm: pixel_size,
                json,
                outputs: vision_cmd::ImageOutputs {
                    labels,
                    overlays: overlay,
                    csv,
                    histograms: histogram,
                },
                spec,
                seed,
                scale_bar,
                keep_annotations,
            },
            fail_on_reject,
        )
        .map_err(|(code, error)| Failure { code, error }),
        Command::Vision(VisionCommand::Train(options)) => {
            vision_cmd::train(&options).map_err(Failure::from)
        }
        Command::Vision(VisionCommand::Bench {
            width,
            height,
            repeats,
            learned,
        }) => vision_cmd::bench(width, height, repeats, learned).map_err(Failure::from),
        Command::Vision(VisionCommand::Eval {
            dir,
            limit,
            ids,
            held_out,
            per_image,
            segmenter,
        }) => match segmenter.segmentation() {
            Err(e) => Err(bad_input(e)),
            Ok(segmentation) => vision_cmd::eval_dir(
                &dir,
                &vision_cmd::EvalOptions {
                    limit,
                    ids,
                    held_out,
                    per_image,
                    segmentation,
                },
            )
            .map_err(Failure::from),
        },
        Command::Bench(b) => bench::run(b).map_err(Failure::from),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("error: {:#}", f.error);
            ExitCode::from(f.code)
        }
    }
}

/// Rust ignores SIGPIPE, so `athanor show | head` would panic on the closed pipe; a command-line
/// tool should instead end quietly, as `cat` does.
fn restore_default_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any thread exists; only resets a disposition.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn cmd_run(
    path: &std::path::Path,
    seed: Option<u64>,
    data: &DataDirArg,
    json: bool,
) -> Result<(), Failure> {
    // Everything about the campaign file is checked before anything is written.
    let mut campaign = load_campaign(path).map_err(|e| bad_input(e.into()))?;
    if let Some(s) = seed {
        campaign.seed = s;
    }
    for note in &campaign.notes {
        eprintln!("note: {note}");
    }
    let store = data.open()?;
    let bar = ProgressBar::new(campaign.budget as u64);
    bar.set_style(
        ProgressStyle::with_template("{spinner} {prefix} [{bar:30}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let mut observer = |event: Event| match event {
        Event::Started {
            campaign: c,
            completed,
            budget,
        } => {
            bar.set_prefix(c.lab_id.clone());
            bar.set_length(budget as u64);
            bar.set_position(completed as u64);
            if completed > 0 {
                bar.println(format!(
                    "resuming {} with {completed} experiments done",
                    c.lab_id
                ));
            }
        }
        Event::Experiment(report) => {
            bar.set_position(report.seq as u64);
            if let Some(best) = &report.best {
                bar.set_message(format!(
                    "best {}: {}",
                    best.lab_id,
                    output::brief_properties(&best.properties)
                ));
            }
        }
    };
    let summary = run_campaign(&campaign, &store, &mut observer).map_err(|e: LabError| {
        if e.is_bad_input() {
            bad_input(e.into())
        } else {
            Failure::from(e)
        }
    })?;
    bar.finish_and_clear();
    output::print_summary(&summary, &campaign);
    // The plot is a convenience: failing to draw it must not fail a finished campaign.
    match output::plot_from(&store, &data.data_dir, Some(&summary.campaign_id), None) {
        Ok(path) => println!("Plot: {}", path.display()),
        Err(e) => eprintln!("warning: could not draw the convergence plot: {e:#}"),
    }
    if json {
        println!(
            "{}",
            serde_json::to_string(&output::summary_json(&summary))?
        );
    }
    Ok(())
}
