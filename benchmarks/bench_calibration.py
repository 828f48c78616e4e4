"""Time `simcore.calibrate` on reborn_emperor_us: a report of 7 cohorts x 7 days.

    python benchmarks/bench_calibration.py [--particles 1000] [--draws 100] [--days 7]

The report is the first DAYS calendar days of one simulated draw (budget $10,000/day, the
scenario as shipped); the script prints the time of the posterior (tempered SMC: steps, moves,
likelihood evaluations and the time per particle evaluation), of the forecast (DRAWS draws of
the 14-day campaign to D180) and of the checks, and the total.
"""

import argparse
import sys
import time

import numpy as np


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--particles", type=int, default=1000)
    p.add_argument("--draws", type=int, default=100)
    p.add_argument("--days", type=int, default=7)
    p.add_argument("--set", dest="overrides", action="append", default=[])
    a = p.parse_args()
    import simcore
    from simcore.data.observed import from_run
    from simcore.studies.calibration import calibrate
    from simcore.studies.calibration.posterior import sample_posterior

    loaded = simcore.load_scenario("scenarios/reborn_emperor_us.toml", overrides=a.overrides)
    truth = simcore.run(loaded, draws=np.array([0]))
    report = from_run(truth, 0, a.days)
    calibrate(loaded, report, particles=100, draws=2)          # compile and warm caches
    t0 = time.perf_counter()
    post = sample_posterior(loaded, report, a.particles)
    t_post = time.perf_counter() - t0
    r = post.result
    evaluations = a.particles * (1 + sum(r.moves))
    t0 = time.perf_counter()
    calibrate(loaded, report, particles=a.particles, draws=a.draws)
    t_all = time.perf_counter() - t0
    users = int(report["activations"].sum())
    print(f"calibrate reborn_emperor_us {' '.join(a.overrides)}: {report.sizes['cohort']} "
          f"cohorts x {a.days} days ({users:,} users), {a.particles} particles, "
          f"{a.draws} forecast draws")
    print(f"  posterior  {t_post:6.1f} s  ({len(r.temperatures)} steps, {sum(r.moves)} moves, "
          f"{evaluations:,} particle likelihoods, {t_post / evaluations * 1e3:.2f} ms each)")
    print(f"  forecast + checks {t_all - t_post:6.1f} s")
    print(f"  total      {t_all:6.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
