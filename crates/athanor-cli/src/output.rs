//! Human and machine output: run summaries, `show` tables and `export` files.

use crate::DataDirArg;
use anyhow::{bail, Context};
use athanor_lab::campaign::Campaign;
use athanor_lab::runner::CampaignSummary;
use athanor_model::{Quantity, Recipe};
use athanor_store::{CampaignRecord, ExperimentRecord, Store};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;

fn fmt_value(q: &Quantity) -> String {
    let v = format_number(q.value);
    match q.std {
        Some(s) => format!("{v} ± {} {}", format_number(s), q.unit),
        None => format!("{v} {}", q.unit),
    }
}

fn format_number(v: f64) -> String {
    if v == 0.0 || (v.abs() >= 0.01 && v.abs() < 1e5) {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        format!("{v:.3e}")
    }
}

/// The headline properties in one short line.
pub fn brief_properties(p: &BTreeMap<String, Quantity>) -> String {
    let keys = ["pl_peak", "size_cv", "quantum_yield", "d50"];
    keys.iter()
        .filter_map(|k| {
            p.get(*k)
                .map(|q| format!("{k} {} {}", format_number(q.value), q.unit))
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn recipe_lines(recipe: &Recipe) -> Vec<String> {
    recipe
        .parameters
        .iter()
        .map(|(k, q)| format!("{k} = {}", fmt_value(q)))
        .collect()
}

/// Prints the end-of-run report.
pub fn print_summary(s: &CampaignSummary, campaign: &Campaign) {
    let verdict = if s.satisfied {
        "target met"
    } else {
        "target not met"
    };
    println!(
        "Campaign {} \"{}\" (seed {}): {verdict} — {} experiments ({} run now; stopped: {})",
        s.campaign_lab_id, s.name, s.seed, s.experiments, s.executed_now, s.stop_reason
    );
    match &s.best {
        None => println!("No experiment succeeded."),
        Some(b) => {
            println!("Best experiment: {} (utility {:.3})", b.lab_id, b.utility);
            println!("  recipe:");
            for line in recipe_lines(&b.recipe) {
                println!("    {line}");
            }
            println!("  measured:");
            let objective_names: Vec<&str> = campaign
                .objectives
                .iter()
                .map(|o| o.objective.name.as_str())
                .collect();
            let mut names: Vec<&String> = b.properties.keys().collect();
            names.sort_by_key(|n| {
                (
                    objective_names
                        .iter()
                        .position(|o| o == n)
                        .unwrap_or(usize::MAX),
                    n.to_string(),
                )
            });
            for n in names {
                let mark = match campaign.objectives.iter().find(|o| &o.objective.name == n) {
                    Some(o) if !o.has_criterion() => "  (objective: as good as possible)",
                    Some(o) if o.satisfied(b.properties[n].value) => "  ✓ objective met",
                    Some(_) => "  ✗ objective not met",
                    None => "",
                };
                println!("    {n} = {}{mark}", fmt_value(&b.properties[n]));
            }
        }
    }
    println!(
        "Data: {} (database {})",
        s.data_dir.display(),
        s.database.display()
    );
}

/// The one-line JSON document that ends `run --json`.
pub fn summary_json(s: &CampaignSummary) -> serde_json::Value {
    serde_json::json!({
        "campaign": s.campaign_lab_id,
        "campaign_id": s.campaign_id,
        "name": s.name,
        "seed": s.seed,
        "experiments": s.experiments,
        "executed_now": s.executed_now,
        "satisfied": s.satisfied,
        "stop_reason": s.stop_reason,
        "best": s.best.as_ref().map(|b| serde_json::json!({
            "experiment": b.lab_id,
            "experiment_id": b.experiment_id,
            "seq": b.seq,
            "recipe": b.recipe.parameters,
            "properties": b.properties,
            "utility": b.utility,
            "satisfied": b.satisfied,
        })),
        "data_dir": s.data_dir,
        "database": s.database,
    })
}

fn selected(store: &Store, campaign: Option<&str>) -> anyhow::Result<Vec<CampaignRecord>> {
    match campaign {
        None => Ok(store.campaigns()?),
        Some(id) => match store.campaign(id)? {
            Some(c) => Ok(vec![c]),
            None => bail!("no campaign `{id}` in this data directory"),
        },
    }
}

fn experiment_json(e: &ExperimentRecord) -> serde_json::Value {
    serde_json::json!({
        "experiment": e.lab_id,
        "id": e.id,
        "seq": e.seq,
        "status": e.status.as_str(),
        "recipe": e.recipe.parameters,
        "results": e.results,
        "failure": e.failure,
        "planned_at": e.planned_at,
        "completed_at": e.completed_at,
    })
}

/// `athanor show`.
pub fn show(data: &DataDirArg, campaign: Option<&str>, json: bool) -> anyhow::Result<()> {
    let data_dir = &data.data_dir;
    let store = data.open_existing()?;
    let campaigns = selected(&store, campaign)?;
    if json {
        let mut all = Vec::new();
        for c in &campaigns {
            let exps = store.experiments(&c.id)?;
            all.push(serde_json::json!({
                "campaign": c.lab_id, "id": c.id, "name": c.name, "seed": c.seed,
                "status": c.status.as_str(), "budget": c.budget, "created_at": c.created_at,
                "experiments": exps.iter().map(experiment_json).collect::<Vec<_>>(),
            }));
        }
        println!("{}", serde_json::to_string_pretty(&all)?);
        return Ok(());
    }
    if campaigns.is_empty() {
        println!("No campaigns in {}.", data_dir.display());
    }
    for c in &campaigns {
        let exps = store.experiments(&c.id)?;
        println!(
            "{} \"{}\"  seed {}  status {}  {} of {} experiments  created {}",
            c.lab_id,
            c.name,
            c.seed,
            c.status.as_str(),
            exps.len(),
            c.budget,
            c.created_at
        );
        for e in &exps {
            let status = e.status.as_str();
            println!("  {}  {status}", e.lab_id);
            println!("    recipe:  {}", recipe_lines(&e.recipe).join(", "));
            if !e.results.is_empty() {
                let results: Vec<String> = e
                    .results
                    .iter()
                    .map(|r| format!("{} = {}", r.name, fmt_value(&r.quantity)))
                    .collect();
                println!("    results: {}", results.join(", "));
            }
            if let Some(f) = &e.failure {
                println!("    failure: {f}");
            }
        }
    }
    Ok(())
}

/// `athanor export`: one row per experiment.
pub fn export(
    data: &DataDirArg,
    campaign: Option<&str>,
    json: bool,
    output: Option<&Path>,
) -> anyhow::Result<()> {
    let store = data.open_existing()?;
    let campaigns = selected(&store, campaign)?;
    let mut rows: Vec<(CampaignRecord, ExperimentRecord)> = Vec::new();
    for c in campaigns {
        for e in store.experiments(&c.id)? {
            rows.push((c.clone(), e));
        }
    }
    let mut sink: Box<dyn Write> = match output {
        Some(p) => {
            Box::new(std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?)
        }
        None => Box::new(std::io::stdout().lock()),
    };
    if json {
        let docs: Vec<serde_json::Value> = rows
            .iter()
            .map(|(c, e)| {
                let mut v = experiment_json(e);
                v["campaign"] = serde_json::json!(c.lab_id);
                v
            })
            .collect();
        writeln!(sink, "{}", serde_json::to_string_pretty(&docs)?)?;
        return Ok(());
    }
    // Columns: every parameter and result seen, each with its unit in the header.
    let mut params: BTreeSet<(String, String)> = BTreeSet::new();
    let mut results: BTreeSet<(String, String)> = BTreeSet::new();
    for (_, e) in &rows {
        params.extend(
            e.recipe
                .parameters
                .iter()
                .map(|(k, q)| (k.clone(), q.unit.clone())),
        );
        results.extend(
            e.results
                .iter()
                .map(|r| (r.name.clone(), r.quantity.unit.clone())),
        );
    }
    let mut w = csv::Writer::from_writer(sink);
    let mut header = vec![
        "campaign".to_string(),
        "campaign_name".into(),
        "seed".into(),
        "experiment".into(),
        "seq".into(),
        "status".into(),
    ];
    header.extend(params.iter().map(|(k, u)| format!("{k} [{u}]")));
    for (k, u) in &results {
        header.push(format!("{k} [{u}]"));
        header.push(format!("{k} std [{u}]"));
    }
    header.push("failure".into());
    header.push("completed_at".into());
    w.write_record(&header)?;
    for (c, e) in &rows {
        let mut rec = vec![
            c.lab_id.clone(),
            c.name.clone(),
            c.seed.to_string(),
            e.lab_id.clone(),
            e.seq.to_string(),
            e.status.as_str().to_string(),
        ];
        for (k, u) in &params {
            rec.push(
                e.recipe
                    .parameters
                    .get(k)
                    .filter(|q| &q.unit == u)
                    .map(|q| q.value.to_string())
                    .unwrap_or_default(),
            );
        }
        for (k, u) in &results {
            let r = e
                .results
                .iter()
                .find(|r| &r.name == k && &r.quantity.unit == u);
            rec.push(r.map(|r| r.quantity.value.to_string()).unwrap_or_default());
            rec.push(
                r.and_then(|r| r.quantity.std)
                    .map(|s| s.to_string())
                    .unwrap_or_default(),
            );
        }
        rec.push(e.failure.clone().unwrap_or_default());
        rec.push(e.completed_at.clone().unwrap_or_default());
        w.write_record(&rec)?;
    }
    w.flush()?;
    Ok(())
}

/// The validated campaign a stored campaign record was run with.
pub fn campaign_of(record: &CampaignRecord) -> anyhow::Result<Campaign> {
    serde_json::from_str(&record.config_text).with_context(|| {
        format!(
            "campaign {}: the stored configuration cannot be read",
            record.lab_id
        )
    })
}

/// `athanor plot`: writes the convergence SVG and returns its path.
pub fn plot(
    data: &DataDirArg,
    campaign: Option<&str>,
    output: Option<&Path>,
) -> anyhow::Result<std::path::PathBuf> {
    plot_from(&data.open_existing()?, &data.data_dir, campaign, output)
}

/// Writes the convergence SVG of `campaign` (default: the most recent) from an open store; by
/// default into `DATA_DIR/plots/`.
pub fn plot_from(
    store: &Store,
    data_dir: &Path,
    campaign: Option<&str>,
    output: Option<&Path>,
) -> anyhow::Result<std::path::PathBuf> {
    let record = match campaign {
        Some(_) => selected(store, campaign)?.remove(0),
        None => match store.campaigns()?.pop() {
            Some(c) => c,
            None => bail!("no campaigns in {}", data_dir.display()),
        },
    };
    let config = campaign_of(&record)?;
    let experiments = store.experiments(&record.id)?;
    let path = match output {
        Some(p) => p.to_path_buf(),
        None => {
            let dir = data_dir.join("plots");
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            dir.join(format!("{}-convergence.svg", record.lab_id))
        }
    };
    crate::plot::write_convergence_svg(&path, &record, &config, &experiments)?;
    Ok(path)
}

/// `athanor data search`: experiments matching a filter.
pub fn search(
    data: &DataDirArg,
    filter: &str,
    limit: Option<usize>,
    json: bool,
) -> anyhow::Result<()> {
    let store = data.open_existing()?;
    let found = match limit {
        Some(n) => store.search_limit(filter, n),
        None => store.search(filter),
    }
    .map_err(anyhow::Error::from)?;
    if json {
        let docs: Vec<serde_json::Value> = found.iter().map(experiment_json).collect();
        println!("{}", serde_json::to_string_pretty(&docs)?);
        return Ok(());
    }
    for e in &found {
        let results: Vec<String> = e
            .results
            .iter()
            .map(|r| format!("{} = {}", r.name, fmt_value(&r.quantity)))
            .collect();
        println!("{}  {}", e.lab_id, e.status.as_str());
        println!("    recipe:  {}", recipe_lines(&e.recipe).join(", "));
        if !results.is_empty() {
            println!("    results: {}", results.join(", "));
        }
    }
    eprintln!("{} experiments match", found.len());
    Ok(())
}
