//! `athanor plan init|ask|tell`: the planner as a stateless command line over a JSON state
//! file, so that any lab software (LabVIEW, a spreadsheet macro, a Python script) can use it.
//!
//! `init` validates a configuration (TOML or JSON, the fields of `athanor_plan::PlannerConfig`,
//! plus an optional `space` table with the fields of `athanor_plan::SearchSpace`: parameter
//! `kinds` (integer, categorical), `constraints`, `candidates`, `initial_design`) and writes the
//! state; categorical values are category indices; `ask` prints the next recipe (CSV or JSON) without changing the state;
//! `tell` reads results (CSV with one column per parameter and per objective, optional
//! `failed`) and appends them. The state file is replaced atomically, so an interrupted `tell`
//! leaves the previous state intact.

use anyhow::{bail, Context};
use athanor_plan::{Observation, Planner, PlannerConfig, SearchSpace};
use std::path::Path;

/// The `init` configuration: the planner configuration plus the optional search-space
/// refinements (absent = the plain box of the parameters' bounds).
#[derive(serde::Deserialize)]
struct InitConfig {
    #[serde(flatten)]
    config: PlannerConfig,
    #[serde(default)]
    space: SearchSpace,
}

fn read_state(path: &Path) -> anyhow::Result<Planner> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading the planner state {}", path.display()))?;
    Planner::from_json(&text)
        .with_context(|| format!("{}: not a valid planner state", path.display()))
}

fn write_state(path: &Path, planner: &Planner) -> anyhow::Result<()> {
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, planner.to_json())
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))?;
    Ok(())
}

/// `athanor plan init CONFIG --state STATE`.
pub fn init(config_path: &Path, state: &Path, force: bool) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(config_path)
        .with_context(|| format!("reading {}", config_path.display()))?;
    let config: InitConfig = if text.trim_start().starts_with('{') {
        serde_json::from_str(&text)
            .with_context(|| format!("{}: invalid JSON configuration", config_path.display()))?
    } else {
        toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", config_path.display()))?
    };
    if state.exists() && !force {
        bail!(
            "{} exists; pass --force to start over (its observations would be lost)",
            state.display()
        );
    }
    let planner = Planner::with_space(config.config, config.space)
        .with_context(|| config_path.display().to_string())?;
    write_state(state, &planner)?;
    eprintln!("planner state written to {}", state.display());
    Ok(())
}

/// `athanor plan ask --state STATE`: the next suggestion, as CSV (header + one row) or JSON.
pub fn ask(state: &Path, json: bool) -> anyhow::Result<()> {
    let planner = read_state(state)?;
    let suggestion = planner.ask()?;
    let names: Vec<&str> = planner
        .config()
        .parameters
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    if json {
        let recipe: serde_json::Map<String, serde_json::Value> = planner
            .config()
            .parameters
            .iter()
            .zip(&suggestion.x)
            .map(|(p, v)| {
                (
                    p.name.clone(),
                    serde_json::json!({"value": v, "unit": p.unit}),
                )
            })
            .collect();
        let predicted: serde_json::Map<String, serde_json::Value> = planner
            .config()
            .objectives
            .iter()
            .zip(&suggestion.predicted)
            .map(|(o, p)| {
                (
                    o.name.clone(),
                    serde_json::json!(p.map(|(m, s)| serde_json::json!({"mean": m, "std": s}))),
                )
            })
            .collect();
        println!(
            "{}",
            serde_json::json!({"recipe": recipe, "strategy": suggestion.strategy, "predicted": predicted,
                "acquisition": suggestion.acquisition, "observations": planner.observations().len()})
        );
    } else {
        let mut w = csv::Writer::from_writer(std::io::stdout().lock());
        w.write_record(&names)?;
        w.write_record(suggestion.x.iter().map(|v| v.to_string()))?;
        w.flush()?;
    }
    Ok(())
}

/// `athanor plan tell --state STATE RESULTS.csv`: appends every row as an observation.
pub fn tell(state: &Path, results: &Path) -> anyhow::Result<usize> {
    let mut planner = read_state(state)?;
    let mut reader = csv::Reader::from_path(results)
        .with_context(|| format!("reading {}", results.display()))?;
    let headers: Vec<String> = reader
        .headers()?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    let config = planner.config().clone();
    let column = |name: &str| headers.iter().position(|h| h == name);
    let known: Vec<&str> = config
        .parameters
        .iter()
        .map(|p| p.name.as_str())
        .chain(config.objectives.iter().map(|o| o.name.as_str()))
        .chain(["failed"])
        .collect();
    if let Some(extra) = headers.iter().find(|h| !known.contains(&h.as_str())) {
        bail!(
            "{}: unknown column `{extra}` (known: {})",
            results.display(),
            known.join(", ")
        );
    }
    let mut param_cols = Vec::new();
    for p in &config.parameters {
        match column(&p.name) {
            Some(i) => param_cols.push(i),
            None => bail!(
                "{}: no column `{}` (the parameters are: {})",
                results.display(),
                p.name,
                config
                    .parameters
                    .iter()
                    .map(|p| p.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
    let objective_cols: Vec<Option<usize>> =
        config.objectives.iter().map(|o| column(&o.name)).collect();
    if objective_cols.iter().all(Option::is_none) {
        bail!(
            "{}: no objective column (expected one of: {})",
            results.display(),
            config
                .objectives
                .iter()
                .map(|o| o.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let failed_col = column("failed");
    let mut observations = Vec::new();
    for (row, record) in reader.records().enumerate() {
        let record = record?;
        let line = row + 2;
        let number = |col: usize, what: &str| -> anyhow::Result<Option<f64>> {
            let cell = record.get(col).unwrap_or("").trim();
            if cell.is_empty() {
                return Ok(None);
            }
            cell.parse::<f64>().map(Some).map_err(|_| {
                anyhow::anyhow!(
                    "{}: line {line}, column `{what}`: `{cell}` is not a number",
                    results.display()
                )
            })
        };
        let mut x = Vec::new();
        for (p, &col) in config.parameters.iter().zip(&param_cols) {
            match number(col, &p.name)? {
                Some(v) => x.push(v),
                None => bail!(
                    "{}: line {line}: parameter `{}` is empty",
                    results.display(),
                    p.name
                ),
            }
        }
        let mut y = Vec::new();
        for (o, col) in config.objectives.iter().zip(&objective_cols) {
            y.push(match col {
                Some(c) => number(*c, &o.name)?,
                None => None,
            });
        }
        let failed =
            match failed_col.map(|c| record.get(c).unwrap_or("").trim().to_ascii_lowercase()) {
                None => false,
                Some(v) => matches!(v.as_str(), "1" | "true" | "yes"),
            };
        observations.push((line, Observation { x, y, failed }));
    }
    let count = observations.len();
    // All rows are checked before any is kept: a bad row leaves the state as it was.
    for (line, obs) in observations {
        planner
            .tell(obs)
            .with_context(|| format!("{}: line {line}", results.display()))?;
    }
    write_state(state, &planner)?;
    Ok(count)
}
