"""Benchmark of the Sobol intervals on the Ishigami function (a = 7, b = 0.1, d = 3).

    python benchmarks/bench_sobol.py                # about three minutes
    python benchmarks/bench_sobol.py --quick        # smoke test, a few seconds

1. Cost of ``simcore.studies.sensitivity.sobol`` (K = 8 independent scramblings, Student-t interval)
   for N = 1024, 4096, 16384 base samples: best-of-``--timing-repeats`` wall time and peak
   traced memory (``tracemalloc``, which sees NumPy's buffers), with the ratio to the previous
   N (4x the samples: 4x is linear). The old method (``scipy.stats.sobol_indices`` then
   ``.bootstrap()``, BCa: a jackknife over all N samples) is timed the same way up to
   ``--old-max`` (its time and memory grow as N^2; N = 16384 took over 10 minutes and 6.7 GB).
2. Honesty of the intervals: ``--runs`` runs with different seeds at each N of ``--width-n``;
   the true sampling error is the standard deviation of the point estimates over the runs
   (the old method is run at the N <= ``--old-max`` only, ``--old-runs`` times).
   Printed per index: mean interval width / (2 x 1.96 x true sd) (1 = the width of an exact
   normal 95 % interval; the new Student-t interval on 7 degrees of freedom is 2.365 / 1.96
   = 1.21 times that by design), for the new method also mean standard error / true sd
   (1 = honest), and the share of runs whose interval covers the analytic index.

No model other than Ishigami and no simulator: this measures the interval method only.
Prints results only.
"""

from __future__ import annotations

import argparse
import math
import platform
import time
import tracemalloc

import numpy as np
from scipy import stats

from simcore.studies.sensitivity import sobol

A, B = 7.0, 0.1
DISTS = [stats.uniform(-math.pi, 2 * math.pi)] * 3
KEYS = ["x1", "x2", "x3"]
NAMES = [f"{kind}_{k}" for kind in ("S1", "ST") for k in KEYS]


def ishigami(x: np.ndarray) -> np.ndarray:
    """x [n, 3] -> y [n, 1]."""
    return (np.sin(x[:, 0]) + A * np.sin(x[:, 1]) ** 2
            + B * x[:, 2] ** 4 * np.sin(x[:, 0]))[:, None]


def analytic() -> np.ndarray:
    """S1 (x1, x2, x3) then ST (x1, x2, x3) of Ishigami."""
    v1 = 0.5 * (1 + B * math.pi**4 / 5) ** 2
    v2 = A**2 / 8
    v13 = B**2 * math.pi**8 * (1 / 18 - 1 / 50)
    v = v1 + v2 + v13
    return np.array([v1, v2, 0.0, v1 + v13, v2, v13]) / v


def new_method(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Estimates, interval low and high, standard errors, each [6] (S1 then ST)."""
    ds = sobol(ishigami, DISTS, KEYS, n, seed).isel(output=0)
    return tuple(np.concatenate([ds[f"S1{s}"].values, ds[f"ST{s}"].values])
                 for s in ("", "_low", "_high", "_se"))


def old_method(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The replaced code path: one scrambled Saltelli design of n, BCa bootstrap intervals
    (200 resamples; seeded here so that the benchmark repeats)."""
    result = stats.sobol_indices(func=lambda x: ishigami(x.T).T, n=n, dists=DISTS,
                                 rng=np.random.default_rng(seed))
    boot = result.bootstrap(confidence_level=0.95, n_resamples=200)
    est = np.concatenate([result.first_order.ravel(), result.total_order.ravel()])
    low = np.concatenate([np.ravel(boot.first_order.confidence_interval.low),
                          np.ravel(boot.total_order.confidence_interval.low)])
    high = np.concatenate([np.ravel(boot.first_order.confidence_interval.high),
                           np.ravel(boot.total_order.confidence_interval.high)])
    return est, low, high


def measure(fn, n: int, repeats: int) -> tuple[float, float]:
    """Best wall time [s] over ``repeats`` calls and the peak traced memory [MB] of one."""
    fn(n, 0)                                   # warm: imports, caches
    best = math.inf
    for r in range(repeats):
        t0 = time.perf_counter()
        fn(n, r)
        best = min(best, time.perf_counter() - t0)
    tracemalloc.start()
    fn(n, 0)
    peak = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    return best, peak


def cost_table(label: str, fn, sizes: list[int], repeats: int) -> None:
    print(f"\n{label}")
    print(f"{'N':>7}{'model runs':>12}{'time s':>10}{'x prev':>8}{'peak MB':>10}{'x prev':>8}")
    prev = None
    for n in sizes:
        t, mb = measure(fn, n, repeats)
        t_ratio, mb_ratio = (f"{t / prev[0]:.2f}", f"{mb / prev[1]:.2f}") if prev else ("", "")
        print(f"{n:>7}{n * 5:>12}{t:>10.4f}{t_ratio:>8}{mb:>10.2f}{mb_ratio:>8}")
        prev = (t, mb)


def width_table(n: int, runs: int, old_runs: int) -> None:
    truth = analytic()
    z = stats.norm.ppf(0.975)
    new = [new_method(n, seed) for seed in range(runs)]
    est, low, high, se = (np.array(v) for v in zip(*new))
    sd = est.std(axis=0, ddof=1)
    rows = {"new width/true": (high - low).mean(axis=0) / (2 * z * sd),
            "new se/true sd": se.mean(axis=0) / sd,
            "new coverage": ((low <= truth) & (truth <= high)).mean(axis=0)}
    if old_runs:
        old = [old_method(n, seed) for seed in range(old_runs)]
        o_est, o_low, o_high = (np.array(v) for v in zip(*old))
        o_sd = o_est.std(axis=0, ddof=1)
        rows.update({"old width/true": (o_high - o_low).mean(axis=0) / (2 * z * o_sd),
                     "old coverage": ((o_low <= truth) & (truth <= o_high)).mean(axis=0),
                     "old sd / new sd": o_sd / sd})
    print(f"\nN = {n}: {runs} runs of the new method"
          + (f", {old_runs} of the old" if old_runs else "") + " (seeds 0, 1, ...)")
    print(f"{'':<18}" + "".join(f"{name:>9}" for name in NAMES))
    print(f"{'new true sd':<18}" + "".join(f"{v:>9.4f}" for v in sd))
    for label, values in rows.items():
        print(f"{label:<18}" + "".join(f"{v:>9.3f}" for v in values))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="1024,4096,16384", help="N for the cost of the new method")
    p.add_argument("--old-max", type=int, default=4096, help="largest N for the old method")
    p.add_argument("--timing-repeats", type=int, default=5)
    p.add_argument("--width-n", default="1024,4096", help="N for the width / true error table")
    p.add_argument("--runs", type=int, default=200, help="runs of the new method per N")
    p.add_argument("--old-runs", type=int, default=30,
                   help="runs of the old method at each N <= --old-max (0: none)")
    p.add_argument("--quick", action="store_true", help="small sizes and few runs")
    args = p.parse_args()
    if args.quick:
        args.sizes, args.old_max, args.timing_repeats = "1024,4096,16384", 1024, 2
        args.width_n, args.runs, args.old_runs = "1024", 40, 10
    sizes = [int(s) for s in args.sizes.split(",")]
    print(f"Sobol intervals on Ishigami (d = 3, model runs N (d + 2)); python "
          f"{platform.python_version()}, numpy {np.__version__}, {platform.machine()}")
    cost_table("new: 8 independent scramblings of N/8, Student-t interval", new_method, sizes,
               args.timing_repeats)
    old_sizes = [n for n in (1024, 2048, 4096, 8192, 16384) if n <= args.old_max]
    cost_table("old: one design of N, BCa bootstrap (200 resamples)", old_method, old_sizes,
               args.timing_repeats)
    for n in (int(s) for s in args.width_n.split(",")):
        width_table(n, args.runs, args.old_runs if n <= args.old_max else 0)


if __name__ == "__main__":
    main()
