#!/usr/bin/env bash
# The whole Athanor test suite: formatting, lints, and every test of every crate.
# Tests run in release mode: the twin, the vision pipeline and the planner are numeric code and
# the end-to-end tests run whole campaigns (including one killed and resumed many times).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v cargo-nextest >/dev/null 2>&1; then
    echo "cargo-nextest not found; installing it (one time)" >&2
    cargo install --locked cargo-nextest
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --release --workspace --all-targets -- -D warnings
echo "== tests"
cargo nextest run --release --workspace --no-fail-fast
cargo test --release --workspace --doc
