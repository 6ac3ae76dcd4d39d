//! Past experiments seed new campaigns: a CSV imported with `athanor data import --mapping`
//! becomes campaign C0001, and a campaign file with `[prior] campaign = "C0001"` starts with
//! the planner already knowing those experiments (converted to its parameters' units).

mod common;
use athanor_plan::Planner;
use athanor_store::Store;
use common::*;
use std::fs;
use std::path::Path;

/// Imports `csv` with a mapping that maps `parameters` (header, name, unit) and the three
/// measured objectives into a new campaign named `name`.
fn import(dir: &Path, data: &str, name: &str, csv: &str, parameters: &[(&str, &str, &str)]) {
    let table = dir.join(format!("{name}.csv"));
    fs::write(&table, csv).unwrap();
    let mut mapping = format!("[campaign]\nname = \"{name}\"\nseed = 0\nbudget = 20\n");
    let results = [("PL (nm)", "pl_peak", "nm"), ("CV (%)", "size_cv", "%")];
    let columns = parameters
        .iter()
        .map(|c| (c.0, c.1, c.2, "parameter"))
        .chain(results.iter().map(|c| (c.0, c.1, c.2, "result")));
    for (column, name, unit, role) in columns {
        mapping.push_str(&format!(
            "\n[[columns]]\ncolumn = \"{column}\"\nrole = \"{role}\"\nname = \"{name}\"\nunit = \"{unit}\"\n"
        ));
    }
    let mapping_path = dir.join(format!("{name}.toml"));
    fs::write(&mapping_path, mapping).unwrap();
    let out = run(&[
        "data",
        "import",
        table.to_str().unwrap(),
        "--mapping",
        mapping_path.to_str().unwrap(),
        "--data-dir",
        data,
    ]);
    assert!(
        out.status.success(),
        "import failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The example campaign, two experiments, two initial-design points, small images, and an
/// optional `[prior]` table.
fn campaign_file(dir: &Path, name: &str, prior: Option<&str>) -> String {
    let path = campaign_variant(
        dir,
        name,
        &[
            ("budget = 40", "budget = 2"),
            ("initial = 10", "initial = 2"),
            ("stop_when_satisfied = true", "stop_when_satisfied = false"),
            ("width = 1024", "width = 256"),
            ("height = 1024", "height = 256"),
        ],
    );
    if let Some(prior) = prior {
        let mut text = fs::read_to_string(&path).unwrap();
        text.push_str(&format!("\n[prior]\ncampaign = \"{prior}\"\n"));
        fs::write(&path, text).unwrap();
    }
    path.to_str().unwrap().to_string()
}

/// Strategies of a campaign's experiments (from their planner notes), in seq order.
fn strategies(data: &str, campaign_lab_id: &str) -> Vec<String> {
    let store = Store::open(Path::new(data)).unwrap();
    let c = store.campaign(campaign_lab_id).unwrap().unwrap();
    let mut exps = store.experiments(&c.id).unwrap();
    exps.sort_by_key(|e| e.seq);
    exps.iter()
        .map(|e| {
            e.planner_note["strategy"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .collect()
}

#[test]
fn imported_experiments_seed_a_new_campaign() {
    let dir = tempfile::tempdir().unwrap();
    let data_dir = dir.path().join("lab");
    let data = data_dir.to_str().unwrap();
    // Units differ from the campaign's (K vs degC, s vs min) on purpose.
    let parameters = [
        ("Tinj (K)", "injection_temperature", "K"),
        ("Tgrowth (C)", "growth_temperature", "degC"),
        ("t (s)", "growth_time", "s"),
        ("Cd:Se", "cd_se_ratio", "1"),
        ("c (M)", "precursor_concentration", "mol/L"),
        ("shell", "shell_monolayers", "ML"),
        ("tinj (s)", "injection_time", "s"),
    ];
    let csv = "Tinj (K),Tgrowth (C),t (s),Cd:Se,c (M),shell,tinj (s),PL (nm),CV (%)\n\
               553.15,240,120,2,0.1,1,2,560,12\n\
               573.15,260,300,3,0.2,2,5,590,9\n\
               593.15,280,600,4,0.3,3,1,615,8\n\
               563.15,250,60,1.5,0.15,0,10,540,15\n";
    import(dir.path(), data, "legacy", csv, &parameters);

    let seeded = campaign_file(dir.path(), "seeded.toml", Some("C0001"));
    let out = run_ok(&["run", &seeded, "--data-dir", data, "--json"]);
    let summary = last_json_line(&out);
    let lab_id = summary["campaign"].as_str().unwrap().to_string();
    assert_ne!(lab_id, "C0001");
    // The imported rows do not use up the budget...
    assert_eq!(summary["executed_now"], 2);
    // ...but they complete the initial design: the first suggestion is already model-based.
    assert_eq!(
        strategies(data, &lab_id),
        vec![athanor_plan::STRATEGY_BAYES; 2]
    );
    // The saved planner state holds the four imported rows first, converted to the
    // campaign's units (553.15 K = 280 degC, 120 s = 2 min).
    let store = Store::open(&data_dir).unwrap();
    let record = store.campaign(&lab_id).unwrap().unwrap();
    let (_, json) = store.latest_planner_state(&record.id).unwrap().unwrap();
    let planner = Planner::from_json(&json).unwrap();
    let obs = planner.observations();
    assert_eq!(obs.len(), 4 + 2);
    assert!((obs[0].x[0] - 280.0).abs() < 1e-9, "{:?}", obs[0].x);
    assert!(
        (obs[0].x[2] - 2.0).abs() < 1e-9,
        "120 s = 2 min: {:?}",
        obs[0].x
    );
    assert_eq!(obs[2].y[0], Some(615.0));
    assert_eq!(obs[2].y[2], None, "quantum yield was not imported");

    // Resuming the finished campaign rebuilds nothing and runs nothing.
    let out = run(&["run", &seeded, "--data-dir", data, "--json"]);
    assert!(out.status.success());
    assert_eq!(last_json_line(&out)["executed_now"], 0);

    // Without the prior the same campaign starts with its initial design.
    let plain = campaign_file(dir.path(), "plain.toml", None);
    let out = run(&["run", &plain, "--data-dir", data, "--json"]);
    assert!(out.status.success());
    let plain_id = last_json_line(&out)["campaign"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        strategies(data, &plain_id),
        vec![athanor_plan::STRATEGY_SOBOL; 2]
    );

    // A prior that does not exist, or lacks one of the campaign's parameters: exit code 2,
    // naming it.
    let missing = campaign_file(dir.path(), "missing.toml", Some("C0099"));
    let out = run(&["run", &missing, "--data-dir", data]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("C0099"));
    import(
        dir.path(),
        data,
        "partial",
        "Tinj (K),PL (nm),CV (%)\n553.15,560,12\n",
        &parameters[..1],
    );
    let partial_id = format!("C{:04}", store.campaigns().unwrap().len());
    let partial = campaign_file(dir.path(), "partial.toml", Some(&partial_id));
    let out = run(&["run", &partial, "--data-dir", data]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("growth_temperature"), "{stderr}");
}
