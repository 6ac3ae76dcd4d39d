#!/usr/bin/env python3
"""Runs peer Bayesian-optimisation planners on Athanor's benchmark protocol.

Reads the problems, initial designs and noise draws that Athanor's harness exports
(``cargo run --release -p athanor-plan --example bench -- --export-designs FILE``) and drives
each installed peer on exactly the same protocol as ``athanor_plan::bench::run_regret``:

* evaluations ``0 … n0−1`` are the exported initial design (the Sobol points Athanor's planner
  evaluates for that seed), ``n0 = max(5, 2d)``;
* evaluation ``i`` (0-based, initial design included) *observes* ``f(x_i) + noise_sd · z_i``
  with the exported standard-normal draws ``z_i`` of that seed, so every planner sees the same
  noise stream at the same evaluation index (paired seeds);
* the recorded curve is the best-so-far regret of the *noise-free* function,
  ``log10(max(min_{s≤t} f(x_s) − f*, 1e-12))``, one entry per evaluation, up to the budget.

Peers (each skipped with a message when its package is missing):

* ``botorch-rust`` (``botorch_rs``): SingleTaskGP on inputs scaled to the unit cube with
  ``Standardize`` outcomes, fitted by ``fit_gpytorch_mll``; acquisition ``LogEI`` (best_f = best
  observed) on noise-free problems and ``qLogNEI`` (128 seeded Sobol QMC samples) on noisy ones,
  the acquisitions BoTorch recommends; ``optimize_acqf`` with BoTorch/Ax's defaults
  (20 restarts, 1024 raw samples), seeded.
* ``optuna``: ``GPSampler(seed, n_startup_trials=n0, deterministic_objective=noise-free)``
  with the initial design enqueued by ``study.enqueue_trial``. GPSampler needs torch; without
  it the peer falls back to ``TPESampler`` and is reported as ``optuna-tpe``.
* ``botorch`` (real BoTorch, torch): same recipe as botorch-rust, when installed.

Output per peer in ``--out``: ``curves-<peer>.json`` (same format as Athanor's ``curves.json``:
``{problem: [curve of seed 0, curve of seed 1, …]}``, seeds in the exported order, ``null`` for a
run that failed) and ``bench-<peer>.json`` (median final log10 regret, median AUC and median
per-suggestion latency per problem, plus the peer's settings).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import sys
import time
import traceback
import warnings
from pathlib import Path

# One thread everywhere (torch reads this at import): Athanor's latency is single-threaded too.
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

# ---------------------------------------------------------------------------------------------
# Test functions: the same formulas as athanor_plan::bench::TestFunction::value (minimised).
# They are checked against the values the Rust harness exports before any run.

HARTMANN_ALPHA = np.array([1.0, 1.2, 3.0, 3.2])
HARTMANN3_A = np.array([[3.0, 10.0, 30.0], [0.1, 10.0, 35.0], [3.0, 10.0, 30.0], [0.1, 10.0, 35.0]])
HARTMANN3_P = np.array(
    [
        [0.3689, 0.1170, 0.2673],
        [0.4699, 0.4387, 0.7470],
        [0.1091, 0.8732, 0.5547],
        [0.038150, 0.5743, 0.8828],
    ]
)
HARTMANN6_A = np.array(
    [
        [10.0, 3.0, 17.0, 3.5, 1.7, 8.0],
        [0.05, 10.0, 17.0, 0.1, 8.0, 14.0],
        [3.0, 3.5, 1.7, 10.0, 17.0, 8.0],
        [17.0, 8.0, 0.05, 10.0, 0.1, 14.0],
    ]
)
HARTMANN6_P = np.array(
    [
        [0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886],
        [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
        [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650],
        [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381],
    ]
)


def test_function(family: str, dims: int):
    """The noise-free function ``f(x)`` (x a 1-D array) of an exported problem."""
    pi = math.pi
    if family == "branin":

        def f(x):
            x1, x2 = x[0], x[1]
            b, c, t = 5.1 / (4 * pi * pi), 5 / pi, 1 / (8 * pi)
            return (x2 - b * x1 * x1 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10

    elif family == "hartmann":
        a, p = {3: (HARTMANN3_A, HARTMANN3_P), 6: (HARTMANN6_A, HARTMANN6_P)}[dims]

        def f(x):
            e = (a * (np.asarray(x) - p) ** 2).sum(axis=1)
            return -float((HARTMANN_ALPHA * np.exp(-e)).sum())

    elif family == "ackley":

        def f(x):
            x = np.asarray(x)
            sq = (x * x).sum() / dims
            cs = np.cos(2 * pi * x).sum() / dims
            return float(-20 * math.exp(-0.2 * math.sqrt(sq)) - math.exp(cs) + 20 + math.e)

    elif family == "michalewicz":

        def f(x):
            x = np.asarray(x)
            i = np.arange(1, dims + 1)
            return -float((np.sin(x) * np.sin(i * x * x / pi) ** 20).sum())

    elif family == "rosenbrock":

        def f(x):
            x = np.asarray(x)
            return float((100 * (x[1:] - x[:-1] ** 2) ** 2 + (x[:-1] - 1) ** 2).sum())

    elif family == "styblinski_tang":

        def f(x):
            x = np.asarray(x)
            return float(0.5 * (x**4 - 16 * x * x + 5 * x).sum())

    else:
        raise ValueError(f"unknown test function family {family!r}")
    return f


def check_functions(problems) -> None:
    """Asserts that the Python functions reproduce the Rust values at the exported designs."""
    for p in problems:
        f = test_function(p["family"], p["dims"])
        for seed, run in p["seeds"].items():
            for x, expected in zip(run["x"], run["f"]):
                got = f(np.array(x))
                if abs(got - expected) > 1e-9 * (1 + abs(expected)):
                    raise SystemExit(
                        f"{p['name']} seed {seed}: Python f(x) = {got!r}, Rust {expected!r}"
                    )
        at_argmin = f(np.array(p["argmin"]))
        if abs(at_argmin - p["optimum"]) > 1e-5 * (1 + abs(p["optimum"])):
            raise SystemExit(f"{p['name']}: f(argmin) = {at_argmin}, f* = {p['optimum']}")


# ---------------------------------------------------------------------------------------------
# Peers: each is a factory ``make(problem, seed) -> suggest(k, X_observed, y_observed)`` that
# proposes evaluation ``k`` (k ≥ n0) from all observations so far (minimisation).


class BotorchLike:
    """BoTorch's recommended single-objective loop, for botorch_rs or real BoTorch."""

    def __init__(self, module: str, restarts: int, raw_samples: int, mc_samples: int):
        self.module = module
        self.restarts, self.raw_samples, self.mc_samples = restarts, raw_samples, mc_samples
        self.optimizer_warnings = 0
        if module == "botorch_rs":
            import botorch_rs as bt
            from botorch_rs.acquisition import (
                LogExpectedImprovement,
                qLogNoisyExpectedImprovement,
            )
            from botorch_rs.fit import fit_gpytorch_mll
            from botorch_rs.mlls import ExactMarginalLogLikelihood
            from botorch_rs.models import SingleTaskGP
            from botorch_rs.models.transforms import Standardize
            from botorch_rs.optim import optimize_acqf
            from botorch_rs.sampling import SobolQMCNormalSampler

            self.version = getattr(bt, "__version__", _dist_version("botorch-rust"))
            self.to_array = np.asarray
        else:
            import botorch as bt
            import torch
            from botorch.acquisition import LogExpectedImprovement, qLogNoisyExpectedImprovement
            from botorch.fit import fit_gpytorch_mll
            from botorch.models import SingleTaskGP
            from botorch.models.transforms import Standardize
            from botorch.optim import optimize_acqf
            from botorch.sampling import SobolQMCNormalSampler
            from gpytorch.mlls import ExactMarginalLogLikelihood

            self.version = bt.__version__
            self.torch = torch
            self.to_array = lambda a: torch.as_tensor(np.asarray(a), dtype=torch.float64)
        self.SingleTaskGP, self.Standardize = SingleTaskGP, Standardize
        self.fit, self.Mll = fit_gpytorch_mll, ExactMarginalLogLikelihood
        self.LogEI, self.qLogNEI = LogExpectedImprovement, qLogNoisyExpectedImprovement
        self.optimize_acqf, self.Sampler = optimize_acqf, SobolQMCNormalSampler

    def settings(self):
        return {
            "model": "SingleTaskGP(unit-cube inputs, Standardize)",
            "acquisition": "LogEI if noise-free else qLogNEI",
            "num_restarts": self.restarts,
            "raw_samples": self.raw_samples,
            "mc_samples": self.mc_samples,
        }

    def make(self, problem, seed):
        lo = np.array([b[0] for b in problem["bounds"]])
        hi = np.array([b[1] for b in problem["bounds"]])
        d = problem["dims"]
        noisy = problem["noise_sd"] > 0

        def suggest(k, xs, ys):
            unit = (np.array(xs) - lo) / (hi - lo)
            # BoTorch maximises: model −y.
            train_x = self.to_array(unit)
            train_y = self.to_array(-np.array(ys)[:, None])
            sub_seed = (seed * 1_000_003 + k) % (2**31)
            if self.module == "botorch":
                self.torch.manual_seed(sub_seed)
            else:
                np.random.seed(sub_seed)
            model = self.SingleTaskGP(
                train_x, train_y, outcome_transform=self.Standardize(m=1)
            )
            self.fit(self.Mll(model.likelihood, model))
            if noisy:
                shape = [self.mc_samples]
                if self.module == "botorch":
                    shape = self.torch.Size(shape)  # BoTorch insists on a torch.Size
                sampler = self.Sampler(sample_shape=shape, seed=sub_seed)
                acqf = self.qLogNEI(model, X_baseline=train_x, sampler=sampler)
            else:
                acqf = self.LogEI(model, best_f=train_y.max())
            bounds = self.to_array(np.stack([np.zeros(d), np.ones(d)]))
            options = {"seed": sub_seed} if self.module == "botorch_rs" else None
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", RuntimeWarning)
                candidate, _ = self.optimize_acqf(
                acqf,
                    bounds=bounds,
                    q=1,
                    num_restarts=self.restarts,
                    raw_samples=self.raw_samples,
                    options=options,
                )
            # L-BFGS-B "abnormal termination" retries are routine; count them, don't print.
            self.optimizer_warnings += len(caught)
            u = np.asarray(candidate.detach() if hasattr(candidate, "detach") else candidate)
            return lo + np.clip(u.reshape(-1), 0.0, 1.0) * (hi - lo)

        return suggest


class OptunaPeer:
    """Optuna's GPSampler (TPESampler when torch is missing) through the ask/tell interface."""

    def __init__(self, force_tpe: bool):
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
        self.optuna = optuna
        self.version = optuna.__version__
        self.gp = (not force_tpe) and importlib.util.find_spec("torch") is not None
        self.name = "optuna" if self.gp else "optuna-tpe"

    def settings(self):
        if self.gp:
            return {"sampler": "GPSampler", "n_startup_trials": "initial design (enqueued)"}
        return {"sampler": "TPESampler (torch missing)", "n_startup_trials": "initial design"}

    def make(self, problem, seed):
        optuna = self.optuna
        n0 = problem["initial_design"]
        if self.gp:
            sampler = optuna.samplers.GPSampler(
                seed=seed,
                n_startup_trials=n0,
                deterministic_objective=problem["noise_sd"] == 0,
            )
        else:
            sampler = optuna.samplers.TPESampler(seed=seed, n_startup_trials=n0)
        study = optuna.create_study(direction="minimize", sampler=sampler)
        names = [f"x{i}" for i in range(problem["dims"])]
        distributions = {
            n: optuna.distributions.FloatDistribution(lo, hi)
            for n, (lo, hi) in zip(names, problem["bounds"])
        }
        state = {"trial": None}

        def enqueue(x):
            study.enqueue_trial(dict(zip(names, map(float, x))))

        def suggest(k, xs, ys):
            # Report the previous evaluation (the harness owns the noisy values).
            if state["trial"] is not None:
                study.tell(state["trial"], float(ys[-1]))
            trial = study.ask(distributions)
            state["trial"] = trial
            return np.array([trial.params[n] for n in names])

        suggest.enqueue = enqueue
        return suggest


def _dist_version(name):
    try:
        from importlib.metadata import version

        return version(name)
    except Exception:  # noqa: BLE001 - only used for a label
        return "unknown"


# ---------------------------------------------------------------------------------------------
# The protocol.


def run_one(problem, seed, suggest, floor):
    """One paired run; returns (log10 regret curve, suggestion latencies in ms)."""
    f = test_function(problem["family"], problem["dims"])
    data = problem["seeds"][str(seed)]
    design, noise = data["x"], data["noise"]
    budget, sd, optimum = problem["budget"], problem["noise_sd"], problem["optimum"]
    lo = np.array([b[0] for b in problem["bounds"]])
    hi = np.array([b[1] for b in problem["bounds"]])
    enqueue = getattr(suggest, "enqueue", None)
    if enqueue is not None:
        for x in design:
            enqueue(x)
    xs, ys, curve, latencies = [], [], [], []
    best = math.inf
    for k in range(budget):
        if enqueue is not None:
            # Optuna hands out the enqueued design first; it must be the exported one.
            start = time.perf_counter()
            x = suggest(k, xs, ys)
            if k >= len(design):
                latencies.append(1e3 * (time.perf_counter() - start))
            elif not np.allclose(x, design[k], rtol=0, atol=1e-12):
                raise RuntimeError(f"peer did not evaluate design point {k} first")
        elif k < len(design):
            x = np.array(design[k])
        else:
            start = time.perf_counter()
            x = suggest(k, xs, ys)
            latencies.append(1e3 * (time.perf_counter() - start))
        x = np.clip(np.asarray(x, dtype=float), lo, hi)
        truth = f(x)
        observed = truth + sd * noise[k]
        best = min(best, truth)
        curve.append(math.log10(max(best - optimum, floor)))
        xs.append(x)
        ys.append(observed)
    if enqueue is not None:
        suggest(budget, xs, ys)  # tell the last observation (keeps the study consistent)
    return curve, latencies


def median(values):
    values = [v for v in values if v is not None and not math.isnan(v)]
    return float(np.median(values)) if values else float("nan")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--designs", required=True, help="file written by bench --export-designs")
    ap.add_argument("--out", required=True, help="directory for curves-<peer>.json")
    ap.add_argument(
        "--peers",
        default="botorch-rust,optuna,botorch",
        help="comma-separated: botorch-rust, optuna, optuna-tpe, botorch (missing ones skipped)",
    )
    ap.add_argument("--problems", default="", help="comma-separated problem names (default all)")
    ap.add_argument("--restarts", type=int, default=20, help="optimize_acqf num_restarts")
    ap.add_argument("--raw-samples", type=int, default=1024, help="optimize_acqf raw_samples")
    ap.add_argument("--mc-samples", type=int, default=128, help="qLogNEI QMC samples")
    args = ap.parse_args(argv)

    doc = json.loads(Path(args.designs).read_text())
    problems = doc["problems"]
    if args.problems:
        wanted = set(args.problems.split(","))
        problems = [p for p in problems if p["name"] in wanted]
    check_functions(problems)
    seeds = doc["seeds"]
    floor = doc["regret_floor"]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    for requested in [p.strip() for p in args.peers.split(",") if p.strip()]:
        try:
            if requested == "botorch-rust":
                if importlib.util.find_spec("botorch_rs") is None:
                    print("skip botorch-rust: package botorch_rs not installed")
                    continue
                peer = BotorchLike("botorch_rs", args.restarts, args.raw_samples, args.mc_samples)
                name = "botorch-rust"
            elif requested == "botorch":
                if importlib.util.find_spec("botorch") is None:
                    print("skip botorch: not installed (bench/peers/setup.sh --full)")
                    continue
                peer = BotorchLike("botorch", args.restarts, args.raw_samples, args.mc_samples)
                name = "botorch"
            elif requested in ("optuna", "optuna-tpe"):
                if importlib.util.find_spec("optuna") is None:
                    print("skip optuna: not installed")
                    continue
                peer = OptunaPeer(force_tpe=requested == "optuna-tpe")
                name = peer.name
                if requested == "optuna" and not peer.gp:
                    print("optuna: torch missing, GPSampler unavailable -> TPESampler (optuna-tpe)")
            else:
                print(f"skip {requested}: unknown peer")
                continue
        except ImportError as e:
            print(f"skip {requested}: {e}")
            continue

        print(f"\n{name} {peer.version}: {json.dumps(peer.settings())}")
        print(f"{'problem':<22} {'d':>3} {'budget':>7} {'median final':>14} {'median AUC':>10} {'ask ms':>10}")
        curves, figures = {}, {"peer": name, "version": peer.version, "settings": peer.settings()}
        started = time.perf_counter()
        for problem in problems:
            finals, aucs, asks, runs = [], [], [], []
            for seed in seeds:
                try:
                    curve, latencies = run_one(problem, seed, peer.make(problem, seed), floor)
                except Exception as e:  # noqa: BLE001 - a failing peer run is reported, not fatal
                    print(f"{problem['name']} seed {seed}: {name} failed: {e}", file=sys.stderr)
                    traceback.print_exc(limit=2)
                    runs.append(None)
                    continue
                runs.append(curve)
                finals.append(curve[-1])
                aucs.append(sum(curve) / len(curve))
                asks.append(float(np.mean(latencies)) if latencies else 0.0)
            curves[problem["name"]] = runs
            fm, am, lm = median(finals), median(aucs), median(asks)
            figures[f"{problem['name']}_median_final_log10_regret"] = fm
            figures[f"{problem['name']}_auc"] = am
            figures[f"{problem['name']}_ask_ms"] = lm
            print(
                f"{problem['name']:<22} {problem['dims']:>3} {problem['budget']:>7} "
                f"{fm:>14.3f} {am:>10.3f} {lm:>10.1f}",
                flush=True,
            )
        figures["wall_s"] = time.perf_counter() - started
        if getattr(peer, "optimizer_warnings", 0):
            figures["optimizer_warnings"] = peer.optimizer_warnings
            print(f"{name}: {peer.optimizer_warnings} optimize_acqf warnings (L-BFGS-B retries)")
        (out / f"curves-{name}.json").write_text(json.dumps(curves))
        (out / f"bench-{name}.json").write_text(json.dumps(figures))
        print(f"{name}: {figures['wall_s']:.0f} s, wrote {out / f'curves-{name}.json'}")


if __name__ == "__main__":
    main()
