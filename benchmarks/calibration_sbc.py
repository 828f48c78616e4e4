"""Simulation-based calibration of `simcore calibrate`: coverage and rank uniformity.

    python benchmarks/calibration_sbc.py --reps 200 --days 7 --particles 500 --draws 100

Truths are drawn from the prior of SCENARIO (default: reborn_emperor_us at $2,000/day for a
7-day test), their first DAYS calendar days reported, calibrated and forecast; the table
prints, for paid ROAS at D30, D90 and D180, how often the 50/80/95 % central intervals cover
the truth (with the binomial standard error), the mean interval width, and the chi-square
p-value of the truth's rank among the forecast draws (uniform when calibrated). ``--jobs``
runs replications in that many processes (each single-threaded).
"""

import argparse
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor

import numpy as np

DEFAULT = ("scenarios/reborn_emperor_us.toml",
           ("campaign.daily_budget_usd=2000", "campaign.days=7"))


def _chunk(args):
    path, overrides, start, count, days, particles, draws = args
    import simcore
    from simcore.studies.calibration import sbc

    loaded = simcore.load_scenario(path, overrides=(*overrides, f"simulation.seed={start}"))
    return sbc.run_sbc(loaded, count, days, particles, draws)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("scenario", nargs="?", default=DEFAULT[0])
    p.add_argument("--set", dest="overrides", action="append", default=None)
    p.add_argument("--reps", type=int, default=200)
    p.add_argument("--days", type=int, default=7)
    p.add_argument("--particles", type=int, default=500)
    p.add_argument("--draws", type=int, default=100)
    p.add_argument("--jobs", type=int, default=2)
    p.add_argument("--seed", type=int, default=1000)
    a = p.parse_args()
    overrides = tuple(a.overrides) if a.overrides is not None else DEFAULT[1]
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    from simcore.studies.calibration import sbc

    per = -(-a.reps // a.jobs)
    # each job takes a disjoint block of seeds (a skipped truth moves to the next seed, so
    # blocks are spaced far apart)
    tasks = [(a.scenario, overrides, a.seed + 100_000 * j, min(per, a.reps - j * per), a.days,
              a.particles, a.draws) for j in range(a.jobs) if a.reps - j * per > 0]
    t0 = time.time()
    with ProcessPoolExecutor(len(tasks)) as pool:
        reps = [r for chunk in pool.map(_chunk, tasks) for r in chunk]
    elapsed = time.time() - t0
    cov, se = sbc.coverage_table(reps)
    width = np.mean([r.width for r in reps], axis=0)
    uniform = sbc.rank_uniformity(reps)
    print(f"SBC of {a.scenario} {' '.join(overrides)}: {len(reps)} replications, first "
          f"{a.days} days reported, {a.particles} particles, {a.draws} forecast draws, "
          f"{elapsed:.0f} s ({elapsed / len(reps):.1f} s a replication, {a.jobs} jobs)")
    print(f"{'ROAS':6s}" + "".join(f"  {int(l * 100)} % cover (se)  width" for l in sbc.LEVELS)
          + "   rank chi2 p")
    for i, age in enumerate(sbc.AGES):
        cells = "".join(f"  {cov[i, j] * 100:5.1f} % ({se[0, j] * 100:.1f})  {width[i, j]:6.3f}"
                        for j in range(len(sbc.LEVELS)))
        print(f"D{age:<5d}{cells}   {uniform[i]:.3f}")
    import simcore

    keys = simcore.load_scenario(a.scenario, overrides=overrides).uncertainty.keys
    by_key = sbc.rank_uniformity(reps, parameters=True)
    print("posterior ranks of the true values, chi-square p (uniform when calibrated): "
          + ", ".join(f"{k} {p:.2f}" for k, p in zip(keys, by_key)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
