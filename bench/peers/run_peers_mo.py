#!/usr/bin/env python3
"""Runs BoTorch's qLogNEHVI on Athanor's two multi-objective benchmark problems and compares
the hypervolume traces with Athanor's, seed by seed.

Protocol (the same as ``athanor bench planner``'s multi-objective runs,
``athanor_plan::bench::multi::run_hypervolume``):

* problems ZDT1 in 6 dimensions and Branin–Currin, both objectives minimised, reference points
  and true-front hypervolumes as exported by Athanor;
* the first ``initial`` evaluations of seed ``s`` are exactly the points Athanor's planner
  evaluates for that seed (exported by ``cargo run --release -p athanor-plan --example
  mo_designs``), then ``budget − initial`` model-based suggestions, one at a time (q = 1);
* the trace is the hypervolume dominated by all evaluated points after each evaluation.

BoTorch's recipe is the one of its multi-objective tutorial and of Ax's defaults: one
``SingleTaskGP`` per objective (inputs already on the unit cube, ``Standardize`` outcomes,
BoTorch's default priors) in a ``ModelListGP``, ``fit_gpytorch_mll``,
``qLogNoisyExpectedHypervolumeImprovement`` (Ament et al. 2023) on the negated objectives
with the negated reference point, ``X_baseline`` = all evaluated points, 128 seeded Sobol QMC
samples, ``optimize_acqf`` with 10 restarts and 512 raw samples.

Usage (from the repository root; ``bash bench/peers/setup.sh --full`` installs BoTorch)::

    OUT=bench/peers/out-mo
    mkdir -p $OUT
    cargo run --release -p athanor-plan --example mo_designs -- --seeds 0-19 --initial 10 \\
        --out $OUT/mo-designs.json
    cargo run --release -p athanor-cli -- bench planner --problems zdt1_6,branin_currin \\
        --no-latency --out $OUT | tee $OUT/ours.txt
    bench/peers/.venv/bin/python bench/peers/run_peers_mo.py --designs $OUT/mo-designs.json \\
        --ours $OUT/planner-bench.json --out $OUT

It prints, per problem, the median final hypervolume and the median area under the log10
hypervolume-gap curve of both planners, the wins/ties/losses over paired seeds and Wilcoxon
signed-rank p-values, and writes ``traces-botorch-qlognehvi.json`` and ``compare-mo.txt``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np


def zdt1(x: np.ndarray) -> tuple[float, float]:
    d = len(x)
    f1 = x[0]
    g = 1.0 + 9.0 / (d - 1.0) * float(np.sum(x[1:]))
    return f1, g * (1.0 - math.sqrt(f1 / g))


def branin_currin(x: np.ndarray) -> tuple[float, float]:
    u, v = 15.0 * x[0] - 5.0, 15.0 * x[1]
    pi = math.pi
    branin = (v - 5.1 / (4 * pi * pi) * u * u + 5.0 / pi * u - 6.0) ** 2 + 10.0 * (
        1.0 - 1.0 / (8 * pi)
    ) * math.cos(u) + 10.0
    a, b = x[0], x[1]
    factor = 1.0 - math.exp(-1.0 / (2.0 * b)) if b > 0 else 1.0
    currin = factor * (2300 * a**3 + 1900 * a * a + 2092 * a + 60) / (
        100 * a**3 + 500 * a * a + 4 * a + 20
    )
    return branin, currin


FUNCTIONS = {"zdt1_6": zdt1, "branin_currin": branin_currin}


def hypervolume_2d(points: list[tuple[float, float]], reference: list[float]) -> float:
    """Hypervolume dominated by minimised 2-D points with respect to ``reference``."""
    inside = sorted(p for p in points if p[0] < reference[0] and p[1] < reference[1])
    volume, best_f2 = 0.0, reference[1]
    for f1, f2 in inside:
        if f2 < best_f2:
            volume += (reference[0] - f1) * (best_f2 - f2)
            best_f2 = f2
    return volume


def run_botorch(problem: dict, seed_doc: dict, budget: int) -> tuple[list[float], float]:
    import torch
    from botorch.acquisition.multi_objective.logei import (
        qLogNoisyExpectedHypervolumeImprovement,
    )
    from botorch.fit import fit_gpytorch_mll
    from botorch.models import ModelListGP, SingleTaskGP
    from botorch.models.transforms.outcome import Standardize
    from botorch.optim import optimize_acqf
    from botorch.sampling.normal import SobolQMCNormalSampler
    from gpytorch.mlls.sum_marginal_log_likelihood import SumMarginalLogLikelihood

    torch.manual_seed(seed_doc["seed"])
    f = FUNCTIONS[problem["name"]]
    d = problem["dims"]
    reference = problem["reference"]
    xs = [np.array(x, dtype=float) for x in seed_doc["x"]]
    ys = [f(x) for x in xs]
    trace = []
    for i in range(len(ys)):
        trace.append(hypervolume_2d(ys[: i + 1], reference))
    bounds = torch.stack([torch.zeros(d), torch.ones(d)]).double()
    ref_point = torch.tensor([-reference[0], -reference[1]], dtype=torch.double)
    seconds = []
    while len(ys) < budget:
        started = time.perf_counter()
        train_x = torch.tensor(np.array(xs), dtype=torch.double)
        train_y = -torch.tensor(np.array(ys), dtype=torch.double)
        models = [
            SingleTaskGP(train_x, train_y[:, i : i + 1], outcome_transform=Standardize(m=1))
            for i in range(2)
        ]
        model = ModelListGP(*models)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit_gpytorch_mll(SumMarginalLogLikelihood(model.likelihood, model))
            acquisition = qLogNoisyExpectedHypervolumeImprovement(
                model=model,
                ref_point=ref_point,
                X_baseline=train_x,
                prune_baseline=True,
                sampler=SobolQMCNormalSampler(
                    sample_shape=torch.Size([128]), seed=seed_doc["seed"] * 1000 + len(ys)
                ),
            )
            candidate, _ = optimize_acqf(
                acquisition,
                bounds=bounds,
                q=1,
                num_restarts=10,
                raw_samples=512,
                options={"batch_limit": 5, "maxiter": 200, "seed": seed_doc["seed"] * 1000 + len(ys)},
            )
        seconds.append(time.perf_counter() - started)
        x = candidate.detach().numpy()[0].clip(0.0, 1.0)
        xs.append(x)
        ys.append(f(x))
        trace.append(hypervolume_2d(ys, reference))
    return trace, float(np.median(seconds)) if seconds else 0.0


def log_gap_auc(trace: list[float], maximum: float) -> float:
    return float(np.mean([math.log10(max(maximum - h, 1e-9)) for h in trace]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--designs", required=True, type=Path)
    parser.add_argument("--ours", required=True, type=Path, help="planner-bench.json of athanor bench planner")
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--method", default="qnehvi", help="our method to compare (qnehvi or parego)")
    parser.add_argument(
        "--peer-traces",
        type=Path,
        help="traces-botorch-qlognehvi.json of an earlier run: compare again without rerunning BoTorch",
    )
    args = parser.parse_args()
    earlier = json.loads(args.peer_traces.read_text()) if args.peer_traces else None
    designs = json.loads(args.designs.read_text())
    ours_doc = json.loads(args.ours.read_text())
    if "hypervolume" not in ours_doc:
        print(f"no multi-objective results ('hypervolume') in {args.ours}", file=sys.stderr)
        return 2
    ours_by_name = {p["name"]: p for p in ours_doc["hypervolume"]}
    from scipy.stats import wilcoxon

    args.out.mkdir(parents=True, exist_ok=True)
    traces_out = {}
    lines = []
    for problem in designs["problems"]:
        name = problem["name"]
        ours_problem = ours_by_name[name]
        ours_traces = ours_problem["methods"][args.method]["hypervolume_traces"]
        budget = len(ours_traces[0])
        f = FUNCTIONS[name]
        maximum = problem["max_hypervolume"]
        peer_traces, latencies = [], []
        for k, seed_doc in enumerate(problem["seeds"]):
            # Same formulas and same initial points as Athanor: the first hypervolumes agree.
            for x, y in zip(seed_doc["x"], seed_doc["y"]):
                mine = f(np.array(x))
                assert abs(mine[0] - y[0]) < 1e-9 and abs(mine[1] - y[1]) < 1e-9, (name, x)
            initial = len(seed_doc["x"])
            ours_initial = ours_traces[k][:initial]
            check = [hypervolume_2d([tuple(y) for y in seed_doc["y"][: i + 1]], problem["reference"]) for i in range(initial)]
            assert np.allclose(check, ours_initial, rtol=1e-9, atol=1e-9), (name, k, check, ours_initial)
            if earlier is not None:
                trace, latency = earlier[name][k], float("nan")
            else:
                trace, latency = run_botorch(problem, seed_doc, budget)
            peer_traces.append(trace)
            latencies.append(latency)
            print(f"{name} seed {seed_doc['seed']}: final HV ours {ours_traces[k][-1]:.4f} botorch {trace[-1]:.4f} ({latency:.2f} s/suggestion)", flush=True)
        traces_out[name] = peer_traces
        ours_final = np.array([t[-1] for t in ours_traces[: len(peer_traces)]])
        peer_final = np.array([t[-1] for t in peer_traces])
        ours_auc = np.array([log_gap_auc(t, maximum) for t in ours_traces[: len(peer_traces)]])
        peer_auc = np.array([log_gap_auc(t, maximum) for t in peer_traces])
        wins = int(np.sum(ours_final > peer_final + 1e-9))
        losses = int(np.sum(ours_final < peer_final - 1e-9))
        ties = len(peer_final) - wins - losses
        p_final = wilcoxon(ours_final, peer_final).pvalue if wins + losses > 0 else 1.0
        p_auc = wilcoxon(ours_auc, peer_auc).pvalue if np.any(ours_auc != peer_auc) else 1.0
        no_worse = not (np.median(ours_final - peer_final) < 0 and p_final < 0.05)
        lines.append(
            f"| {name} | {np.median(ours_final):.4f} / {np.median(ours_auc):.3f} | "
            f"{np.median(peer_final):.4f} / {np.median(peer_auc):.3f} | {wins}/{ties}/{losses} | "
            f"{p_final:.3g} / {p_auc:.3g} | {'no worse' if no_worse else 'WORSE'} | {np.median(latencies):.2f} s |"
        )
    header = [
        f"Hypervolume, Athanor ({args.method}) vs BoTorch qLogNEHVI, paired seeds",
        "| problem | ours final HV / AUC log10 gap | BoTorch final HV / AUC | W/T/L (final) | p final / p AUC | verdict | BoTorch s/suggestion |",
        "|---|---|---|---|---|---|---|",
    ]
    text = "\n".join(header + lines)
    print(text)
    (args.out / "compare-mo.txt").write_text(text + "\n")
    (args.out / "traces-botorch-qlognehvi.json").write_text(json.dumps(traces_out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
