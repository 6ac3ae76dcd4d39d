#!/usr/bin/env bash
# Creates bench/peers/.venv with the peer planners for Athanor's benchmark comparison.
#
#   bash bench/peers/setup.sh          # light: botorch-rust, optuna, numpy, scipy, matplotlib
#   bash bench/peers/setup.sh --torch  # + torch (CPU use) and greenlet: enables Optuna's GPSampler
#   bash bench/peers/setup.sh --full   # + torch, BoTorch and BayBE (heavy; each tried separately)
#
# Without torch, run_peers.py runs Optuna's TPESampler instead of GPSampler (reported as
# optuna-tpe). PyPI's torch wheel for Linux pulls the CUDA libraries (~3 GB); it is used on CPU.
# Peers are optional: nothing in CI depends on this environment.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="${PYTHON:-python3}"
mode="${1:-}"
case "$mode" in
  "" | --torch | --full) ;;
  *) echo "usage: $0 [--torch|--full]" >&2; exit 2 ;;
esac

"$python" -c 'import sys; assert sys.version_info >= (3, 11), "botorch-rust needs Python >= 3.11"'
if [ ! -x "$here/.venv/bin/python" ]; then
  "$python" -m venv "$here/.venv"
fi
pip=("$here/.venv/bin/python" -m pip install --quiet --disable-pip-version-check)
"${pip[@]}" botorch-rust optuna numpy scipy
"${pip[@]}" matplotlib || echo "setup: matplotlib not installed; compare.py will skip the plot"

if [ "$mode" = --torch ] || [ "$mode" = --full ]; then
  "${pip[@]}" torch greenlet || echo "setup: torch not installed; Optuna falls back to TPESampler"
fi
if [ "$mode" = --full ]; then
  "${pip[@]}" botorch || echo "setup: BoTorch not installed (peer 'botorch' will be skipped)"
  "${pip[@]}" baybe || echo "setup: BayBE not installed"
fi
"$here/.venv/bin/python" - <<'PY'
import importlib.util
for module in ["botorch_rs", "optuna", "scipy", "matplotlib", "torch", "botorch", "baybe"]:
    print(f"{module:<12} {'installed' if importlib.util.find_spec(module) else 'missing'}")
PY
