//! `athanor` — the command line of the Athanor autonomous materials lab.
//!
//! Thin commands over the library crates: `run` drives a campaign through the closed loop,
//! `show` and `export` read what the store holds, `bench` measures the loop.
//! Exit codes: 0 ok, 1 failure, 2 bad input or usage.

mod bench;
mod output;
mod plan_cmd;
mod plot;
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
}

impl DataDirArg {
    /// Opens (creating if needed) the store.
    pub fn open(&self) -> anyhow::Result<Store> {
        let config = match &self.database_url {
            Some(url) => StoreConfig::postgres(url.clone(), self.data_dir.clone()),
            None => StoreConfig::sqlite(self.data_dir.clone()),
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
        after_help = "Examples:\n  athanor vision analyze tem.tif\n  athanor vision analyze scans/*.png --pixel-size 0.5 --json\n  athanor vision analyze tem.tif --labels labels/ --overlay overlays/"
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
        }) => match vision_cmd::analyze_files(
            &files,
            pixel_size,
            json,
            &vision_cmd::ImageOutputs {
                labels,
                overlays: overlay,
            },
        ) {
            Ok(true) => Ok(()),
            Ok(false) => Err(Failure {
                code: 1,
                error: anyhow::anyhow!("some images could not be analysed (listed above)"),
            }),
            Err(e) => Err(Failure::from(e)),
        },
        Command::Vision(VisionCommand::Eval {
            dir,
            limit,
            ids,
            held_out,
            per_image,
        }) => vision_cmd::eval_dir(&dir, limit, ids.as_deref(), held_out, per_image)
            .map_err(Failure::from),
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
