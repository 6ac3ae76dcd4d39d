//! `athanor plan init|ask|tell` driven the way a spreadsheet macro or LabVIEW would: files in,
//! files out, no state but the JSON file.

mod common;
use common::*;
use std::path::Path;

const CONFIG: &str = r#"
seed = 11
initial_design = 5

[[parameters]]
name = "temperature"
unit = "degC"
min = 200
max = 300

[[parameters]]
name = "time"
unit = "min"
min = 1
max = 100
log_scale = true

[[objectives]]
name = "yield"
goal = { kind = "maximize" }
"#;

/// A smooth "yield" with its maximum at 260 °C and 10 min.
fn yield_of(temperature: f64, time: f64) -> f64 {
    let a = (temperature - 260.0) / 40.0;
    let b = (time.ln() - 10f64.ln()) / 1.5;
    100.0 * (-(a * a + b * b)).exp()
}

fn ask(state: &Path) -> (f64, f64, String) {
    let out = run_ok(&["plan", "ask", "--state", state.to_str().unwrap()]);
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("temperature,time"));
    let row: Vec<f64> = lines
        .next()
        .unwrap()
        .split(',')
        .map(|v| v.parse().unwrap())
        .collect();
    (row[0], row[1], text)
}

#[test]
fn init_ask_tell_loop_converges_and_is_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("planner.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let state = dir.path().join("state.json");
    let s = state.to_str().unwrap();
    run_ok(&["plan", "init", config.to_str().unwrap(), "--state", s]);
    let again = run(&["plan", "init", config.to_str().unwrap(), "--state", s]);
    assert_eq!(
        again.status.code(),
        Some(2),
        "an existing state is not overwritten without --force"
    );

    let mut best = f64::NEG_INFINITY;
    for i in 0..14 {
        let (t, m, text) = ask(&state);
        assert_eq!(ask(&state).2, text, "ask does not change the state");
        assert!((200.0..=300.0).contains(&t) && (1.0..=100.0).contains(&m));
        let y = yield_of(t, m);
        best = best.max(y);
        let results = dir.path().join(format!("r{i}.csv"));
        std::fs::write(&results, format!("time,temperature,yield\n{m},{t},{y}\n")).unwrap();
        run_ok(&["plan", "tell", "--state", s, results.to_str().unwrap()]);
    }
    assert!(
        best > 95.0,
        "14 experiments should come close to the maximum of 100, best {best}"
    );
    let json = run(&["plan", "ask", "--state", s, "--json"]);
    let doc = last_json_line(&json);
    assert_eq!(doc["observations"], 14);
    assert_eq!(doc["recipe"]["temperature"]["unit"], "degC");
}

#[test]
fn bad_results_are_rejected_and_leave_the_state_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("planner.toml");
    std::fs::write(&config, CONFIG).unwrap();
    let state = dir.path().join("state.json");
    let s = state.to_str().unwrap();
    assert!(
        run(&["plan", "init", config.to_str().unwrap(), "--state", s])
            .status
            .success()
    );
    let before = std::fs::read(&state).unwrap();

    let cases = [
        (
            "temperature,time,yeild\n250,10,5\n",
            "unknown column `yeild`",
        ),
        ("temperature,yield\n250,5\n", "no column `time`"),
        (
            "temperature,time,yield\n250,10,5\n260,abc,7\n",
            "line 3, column `time`: `abc` is not a number",
        ),
    ];
    for (i, (csv, expected)) in cases.iter().enumerate() {
        let path = dir.path().join(format!("bad{i}.csv"));
        std::fs::write(&path, csv).unwrap();
        let out = run(&["plan", "tell", "--state", s, path.to_str().unwrap()]);
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.contains(expected),
            "expected `{expected}` in: {stderr}"
        );
        assert_eq!(
            std::fs::read(&state).unwrap(),
            before,
            "a rejected tell keeps the state"
        );
    }

    let bad_config = dir.path().join("bad.toml");
    std::fs::write(&bad_config, CONFIG.replace("min = 200", "min = 400")).unwrap();
    let out = run(&[
        "plan",
        "init",
        bad_config.to_str().unwrap(),
        "--state",
        dir.path().join("x.json").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("temperature"));
}

/// The `[space]` table of a configuration: an integer parameter, a linear constraint and a
/// Latin-hypercube design, all honoured by `ask`; a constraint on an unknown parameter is
/// rejected with its name.
#[test]
fn init_accepts_search_space_refinements() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("planner.toml");
    let space = r#"
[space.initial_design]
method = "latin_hypercube"

[space.kinds.time]
kind = "integer"

[[space.constraints]]
type = "linear_inequality"
name = "thermal_budget"
bound = 3000.0
coefficients = { temperature = 1.0, time = 20.0 }
"#;
    std::fs::write(&config, format!("{CONFIG}{space}")).unwrap();
    let state = dir.path().join("state.json");
    let s = state.to_str().unwrap();
    run_ok(&["plan", "init", config.to_str().unwrap(), "--state", s]);
    for i in 0..7 {
        let (t, m, _) = ask(&state);
        assert_eq!(m.fract(), 0.0, "time {m} is not an integer");
        assert!(
            t + 20.0 * m <= 3000.0 + 1e-6,
            "{t} + 20·{m} breaks the budget"
        );
        let results = dir.path().join(format!("r{i}.csv"));
        std::fs::write(
            &results,
            format!("time,temperature,yield\n{m},{t},{}\n", yield_of(t, m)),
        )
        .unwrap();
        let out = run(&["plan", "tell", "--state", s, results.to_str().unwrap()]);
        assert!(out.status.success());
    }

    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        format!("{CONFIG}{}", space.replace("time = 20.0", "tme = 20.0")),
    )
    .unwrap();
    let out = run(&[
        "plan",
        "init",
        bad.to_str().unwrap(),
        "--state",
        s,
        "--force",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("thermal_budget") && stderr.contains("tme"),
        "{stderr}"
    );
}
