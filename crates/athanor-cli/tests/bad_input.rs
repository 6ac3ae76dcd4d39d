//! A malformed campaign, an unknown parameter, a unit that does not fit, or limits that
//! contradict the search space: exit code 2, an error naming the field and line, nothing written.

mod common;
use common::*;

fn assert_rejected(path: &std::path::Path, expected: &[&str], line: Option<usize>) {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = run(&[
        "run",
        path.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "exit code for {}: stderr: {stderr}",
        path.display()
    );
    for e in expected {
        assert!(stderr.contains(e), "stderr should mention `{e}`: {stderr}");
    }
    if let Some(l) = line {
        assert!(
            stderr.contains(&format!(":{l}:")),
            "stderr should name line {l}: {stderr}"
        );
    }
    assert!(
        !data.exists(),
        "nothing may be written for a rejected campaign"
    );
}

fn line_of(path: &std::path::Path, needle: &str) -> usize {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines()
        .position(|l| l.contains(needle))
        .expect("needle present")
        + 1
}

#[test]
fn malformed_toml_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = campaign_variant(dir.path(), "c.toml", &[("budget = 40", "budget = 40 40")]);
    let line = line_of(&p, "budget = 40 40");
    assert_rejected(&p, &["c.toml"], Some(line));
}

#[test]
fn unknown_parameter_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let p = campaign_variant(
        dir.path(),
        "c.toml",
        &[("name = \"cd_se_ratio\"", "name = \"stirring_speed\"")],
    );
    let line = line_of(&p, "stirring_speed");
    assert_rejected(
        &p,
        &["unknown parameter `stirring_speed`", "cd_se_ratio"],
        Some(line),
    );
}

#[test]
fn unknown_key_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let p = campaign_variant(
        dir.path(),
        "c.toml",
        &[("budget = 40", "budget = 40\nbudgett = 3")],
    );
    assert_rejected(&p, &["budgett"], Some(line_of(&p, "budgett")));
}

#[test]
fn unit_that_does_not_fit_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let p = campaign_variant(
        dir.path(),
        "c.toml",
        &[(
            "name = \"growth_temperature\"\nmin = 220\nmax = 300\nunit = \"degC\"",
            "name = \"growth_temperature\"\nmin = 220\nmax = 300\nunit = \"nm\"",
        )],
    );
    let text = std::fs::read_to_string(&p).unwrap();
    let line = text
        .lines()
        .enumerate()
        .skip_while(|(_, l)| !l.contains("growth_temperature"))
        .find(|(_, l)| l.contains("unit = \"nm\""))
        .unwrap()
        .0
        + 1;
    assert_rejected(
        &p,
        &["growth_temperature", "`nm`", "temperature"],
        Some(line),
    );
}

#[test]
fn unit_that_is_unknown_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let p = campaign_variant(
        dir.path(),
        "c.toml",
        &[("unit = \"mol/L\"", "unit = \"mol/furlong\"")],
    );
    assert_rejected(
        &p,
        &["precursor_concentration", "furlong"],
        Some(line_of(&p, "furlong")),
    );
}

#[test]
fn limit_contradicting_the_search_space_is_named() {
    let dir = tempfile::tempdir().unwrap();
    // The growth temperature is searched from 220 degC; a limit of 400 K (127 degC) leaves nothing.
    let p = campaign_variant(
        dir.path(),
        "c.toml",
        &[("max = 310\nunit = \"degC\"", "max = 400\nunit = \"K\"")],
    );
    assert_rejected(
        &p,
        &[
            "limit on `growth_temperature`",
            "contradicts the search space",
        ],
        Some(line_of(&p, "max = 400")),
    );
}

#[test]
fn out_of_range_parameter_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let p = campaign_variant(
        dir.path(),
        "c.toml",
        &[("min = 220\nmax = 300", "min = 220\nmax = 450")],
    );
    assert_rejected(
        &p,
        &["growth_temperature", "outside what the twin can run"],
        Some(line_of(&p, "max = 450")),
    );
}

#[test]
fn missing_file_and_bad_usage_exit_2() {
    let out = run(&[
        "run",
        "/nonexistent/campaign.toml",
        "--data-dir",
        "/nonexistent/data",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read the campaign file"));
    let out = run(&["run"]);
    assert_eq!(out.status.code(), Some(2), "clap usage errors exit with 2");
    let out = run(&["frobnicate"]);
    assert_eq!(out.status.code(), Some(2));
}
