#!/usr/bin/env python3
"""Compares Athanor's planner with the peers on paired seeds.

Loads Athanor's ``curves.json`` (from ``bench --out DIR``) and every ``curves-<peer>.json``
written by ``run_peers.py`` in the same directory, then prints per problem the median final
best-so-far log10 regret, the median AUC (mean log10 regret over all evaluations; lower is
better) and, where known, the median per-suggestion latency of every planner; runs paired
Wilcoxon signed-rank tests (scipy, two-sided, ``zero_method="zsplit"``) of Athanor against each
peer on the final regret and on the AUC over all (problem, seed) pairs and per problem, and counts
per problem the seeds Athanor wins / ties / loses (tie: |Δ final log10 regret| ≤ ``--tie``).
The acceptance summary counts, per peer and separately for the noise-free and the noisy
problems, those where Athanor is *no worse* (neither the final regret nor the AUC is
significantly worse: per-problem Wilcoxon p < ``--alpha`` with a positive median Δ) and
*better* (no worse, and significantly better on at least one of the two). Writes
``regret-curves.png`` (median curves, one panel per problem) when matplotlib is available, and
ends with one JSON line of the figures.

Pairing: entry ``s`` of every curve list is seed ``s`` of the exported designs (same initial
design, same noise draws). Athanor's latency is read from the table that ``bench`` prints
(``--ours-log``, the ``ask ms`` column) if given.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path

import numpy as np

OURS = "athanor"


def load_curves(directory: Path):
    planners = {}
    ours = directory / "curves.json"
    if not ours.exists():
        sys.exit(f"compare: {ours} not found (run bench with --out {directory})")
    planners[OURS] = json.loads(ours.read_text())
    for path in sorted(directory.glob("curves-*.json")):
        planners[path.stem[len("curves-") :]] = json.loads(path.read_text())
    return planners


def load_latencies(directory: Path, ours_log: Path | None):
    latencies = {}
    for path in sorted(directory.glob("bench-*.json")):
        figures = json.loads(path.read_text())
        name = path.stem[len("bench-") :]
        latencies[name] = {
            k[: -len("_ask_ms")]: v for k, v in figures.items() if k.endswith("_ask_ms")
        }
    if ours_log is not None and ours_log.exists():
        # Rows of bench's regret table: problem d budget final auc ask_ms.
        ours = {}
        for line in ours_log.read_text().splitlines():
            parts = line.split()
            if len(parts) == 6 and parts[1].isdigit() and parts[2].isdigit():
                try:
                    ours[parts[0]] = float(parts[5])
                except ValueError:
                    pass
        latencies[OURS] = ours
    return latencies


def final(curve):
    return curve[-1]


def auc(curve):
    return sum(curve) / len(curve)


def median(values):
    values = [v for v in values if v is not None and not math.isnan(v)]
    return float(np.median(values)) if values else float("nan")


def wilcoxon(ours, theirs):
    """Two-sided paired Wilcoxon signed-rank p-value (NaN if scipy is missing or n < 2)."""
    diffs = [a - b for a, b in zip(ours, theirs)]
    if len(diffs) < 2 or all(d == 0 for d in diffs):
        return float("nan") if len(diffs) < 2 else 1.0
    try:
        from scipy.stats import wilcoxon as scipy_wilcoxon
    except ImportError:
        return float("nan")
    return float(scipy_wilcoxon(ours, theirs, zero_method="zsplit").pvalue)


def plot(planners, problems, path: Path):
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("compare: matplotlib not installed, no plot written")
        return None
    cols = 4
    rows = math.ceil(len(problems) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 3 * rows), squeeze=False)
    for ax, problem in zip(axes.flat, problems):
        for name, curves in planners.items():
            runs = [c for c in curves.get(problem, []) if c]
            if not runs:
                continue
            length = min(len(c) for c in runs)
            med = np.median(np.array([c[:length] for c in runs]), axis=0)
            ax.plot(np.arange(1, length + 1), med, label=name, lw=2 if name == OURS else 1.2)
        ax.set_title(problem, fontsize=9)
        ax.set_xlabel("evaluations", fontsize=8)
        ax.set_ylabel("median log10 regret", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in list(axes.flat)[len(problems) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return str(path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir", help="directory with curves.json and curves-<peer>.json")
    ap.add_argument("--ours-log", help="stdout of bench (for Athanor's per-problem ask ms)")
    ap.add_argument("--tie", type=float, default=0.1, help="|Δ log10 regret| counted as a tie")
    ap.add_argument("--plot", default="regret-curves.png", help="PNG name inside dir")
    ap.add_argument("--alpha", type=float, default=0.05, help="significance level per problem")
    args = ap.parse_args(argv)

    directory = Path(args.dir)
    planners = load_curves(directory)
    latencies = load_latencies(directory, Path(args.ours_log) if args.ours_log else None)
    problems = list(planners[OURS].keys())
    peers = [name for name in planners if name != OURS]
    if not peers:
        print("compare: no curves-<peer>.json found; run run_peers.py first")

    figures = {"planners": list(planners), "problems": {}, "tests": {}}
    # (problem, seed) pairs per peer for the overall tests.
    paired = {p: {"final": ([], []), "auc": ([], [])} for p in peers}
    for problem in problems:
        print(f"\n== {problem}")
        print(
            f"{'planner':<16} {'runs':>4} {'median final':>13} {'median AUC':>11} {'ask ms':>8} "
            f"{'W/T/L vs ours':>14} {'Δfinal':>7} {'p final':>8} {'ΔAUC':>7} {'p AUC':>8}"
        )
        ours_runs = planners[OURS].get(problem, [])
        row_figures = {}
        for name in planners:
            runs = planners[name].get(problem, [])
            ok = [c for c in runs if c]
            fm, am = median([final(c) for c in ok]), median([auc(c) for c in ok])
            ask = latencies.get(name, {}).get(problem, float("nan"))
            wtl = ""
            tests = ""
            entry = {"median_final_log10_regret": fm, "median_auc": am, "ask_ms": ask}
            if name != OURS:
                pf = ([], [])
                pa = ([], [])
                wins = ties = losses = 0
                for a, b in zip(ours_runs, runs):
                    if not a or not b:
                        continue
                    delta = final(a) - final(b)
                    if abs(delta) <= args.tie:
                        ties += 1
                    elif delta < 0:
                        wins += 1
                    else:
                        losses += 1
                    paired[name]["final"][0].append(final(a))
                    paired[name]["final"][1].append(final(b))
                    paired[name]["auc"][0].append(auc(a))
                    paired[name]["auc"][1].append(auc(b))
                    pf[0].append(final(a))
                    pf[1].append(final(b))
                    pa[0].append(auc(a))
                    pa[1].append(auc(b))
                wtl = f"{wins}/{ties}/{losses}"
                entry["ours_wins_ties_losses"] = [wins, ties, losses]
                if pf[0]:
                    d_final = median([a - b for a, b in zip(*pf)])
                    d_auc = median([a - b for a, b in zip(*pa)])
                    p_final, p_auc = wilcoxon(*pf), wilcoxon(*pa)
                    entry.update(
                        median_delta_final=d_final,
                        wilcoxon_p_final=p_final,
                        median_delta_auc=d_auc,
                        wilcoxon_p_auc=p_auc,
                    )
                    tests = f"{d_final:>7.3f} {p_final:>8.3g} {d_auc:>7.3f} {p_auc:>8.3g}"

            row_figures[name] = entry
            ask_text = "-" if math.isnan(ask) else f"{ask:.1f}"
            print(f"{name:<16} {len(ok):>4} {fm:>13.3f} {am:>11.3f} {ask_text:>8} {wtl:>14} {tests}")
        figures["problems"][problem] = row_figures

    print("\nPaired Wilcoxon signed-rank tests, Athanor vs peer over all (problem, seed) pairs")
    print("(two-sided; median Δ = ours − peer in log10 regret, negative = Athanor better)")
    print(f"{'peer':<16} {'pairs':>5} {'Δ final':>8} {'p final':>9} {'Δ AUC':>8} {'p AUC':>9} {'W/T/L':>10}")
    for name in peers:
        fo, fp = paired[name]["final"]
        ao, ap_ = paired[name]["auc"]
        d_final = median([a - b for a, b in zip(fo, fp)])
        d_auc = median([a - b for a, b in zip(ao, ap_)])
        p_final, p_auc = wilcoxon(fo, fp), wilcoxon(ao, ap_)
        totals = np.sum(
            [figures["problems"][p][name].get("ours_wins_ties_losses", [0, 0, 0]) for p in problems],
            axis=0,
        ).tolist()
        figures["tests"][name] = {
            "pairs": len(fo),
            "median_delta_final": d_final,
            "wilcoxon_p_final": p_final,
            "median_delta_auc": d_auc,
            "wilcoxon_p_auc": p_auc,
            "wins_ties_losses": totals,
        }
        wtl = "/".join(map(str, totals))
        print(f"{name:<16} {len(fo):>5} {d_final:>8.3f} {p_final:>9.3g} {d_auc:>8.3f} {p_auc:>9.3g} {wtl:>10}")

    print(
        f"\nAcceptance per problem (per-problem Wilcoxon, alpha = {args.alpha}): "
        "no worse = neither final nor AUC significantly worse; better = no worse and "
        "significantly better on final or AUC"
    )
    print(f"{'peer':<16} {'problems':<11} {'paired':>6} {'no worse':>9} {'better':>7}  worse on")
    figures["acceptance"] = {}
    for name in peers:
        for group, noisy in (("noise-free", False), ("noisy", True)):
            verdicts = {}
            for problem in problems:
                entry = figures["problems"][problem].get(name, {})
                if problem.endswith("_noisy") != noisy or "wilcoxon_p_final" not in entry:
                    continue
                worse = better = False
                for metric in ("final", "auc"):
                    p_value = entry[f"wilcoxon_p_{metric}"]
                    delta = entry[f"median_delta_{metric}"]
                    if not math.isnan(p_value) and p_value < args.alpha:
                        if delta > 0:
                            worse = True
                        elif delta < 0:
                            better = True
                verdicts[problem] = "worse" if worse else ("better" if better else "tie")
            if not verdicts:
                continue
            no_worse = sum(v != "worse" for v in verdicts.values())
            better_count = sum(v == "better" for v in verdicts.values())
            worse_list = ",".join(p for p, v in verdicts.items() if v == "worse") or "-"
            figures["acceptance"][f"{name}/{group}"] = {
                "paired_problems": len(verdicts),
                "no_worse": no_worse,
                "better": better_count,
                "verdicts": verdicts,
            }
            print(
                f"{name:<16} {group:<11} {len(verdicts):>6} {no_worse:>9} {better_count:>7}  "
                f"{worse_list}"
            )

    figures["plot"] = plot(planners, problems, directory / args.plot)

    if figures["plot"]:
        print(f"\nwrote {figures['plot']}")
    print(json.dumps(figures, allow_nan=True))


if __name__ == "__main__":
    main()
