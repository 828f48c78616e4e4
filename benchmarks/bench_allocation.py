"""The allocation study's cost: Reborn Emperor (global), its 7 markets x 2 channels (paid ads
and creators; ``--over`` to change), default draws (100) and horizon (180 days), total
$10,000/day, P(ROAS D30 >= 1) >= 0.8; 6 simulated budgets per cell (one simulation per
market and channel gives them all: ``simcore.kinds.game.response``) and the out-of-sample
check.

Run: python benchmarks/bench_allocation.py [DRAWS] [GRID_POINTS] [HORIZON_DAYS] [--over X]
     [--no-pilot]

Prints the seconds of ``optimize`` (wall, and CPU of this process), after the kernels' first
compile (not counted): the pilot, the response grids, the solves (the allocation, the
risk-neutral one, the frontier's six lambdas) and the out-of-sample check; then each cell's
grid top and the allocation. ``--no-pilot`` simulates every cell's full grid instead.
Target: under 5 minutes on 2 cores at the defaults.
"""

import argparse
import os
import time

import numpy as np
from machine import cpu_model

from simcore.scenario import load_scenario
from simcore.studies.allocation import optimize, pilot_draws
from simcore.studies.allocation.cells import cells_of
from simcore.studies.allocation.response import simulate_response

TOTAL = 10_000.0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("draws", nargs="?", type=int, default=100)
    ap.add_argument("points", nargs="?", type=int, default=6)
    ap.add_argument("horizon", nargs="?", type=int, default=180)
    ap.add_argument("--over", default="markets,channels")
    ap.add_argument("--no-pilot", action="store_true", help="simulate the full grids at once")
    a = ap.parse_args()
    over = a.over.split(",")
    loaded = load_scenario("reborn_emperor_global", [f"simulation.draws={a.draws}",
                                                     f"simulation.horizon_days={a.horizon}"])
    warm = load_scenario("reborn_emperor_global", ["simulation.draws=1", "campaign.days=1"])
    simulate_response(cells_of(warm, over)[:2], np.array([[0.0, 100.0]] * 2))  # compile
    n_cells = len(cells_of(loaded, over))
    print(f"{cpu_model()}, {os.cpu_count()} cores; {n_cells} cells ({a.over}), {a.draws} "
          f"draws, {a.horizon}-day horizon, {a.points} budgets per cell + 0, pilot "
          f"{'off' if a.no_pilot else f'{pilot_draws(a.draws)} draws'}")
    tasks = []
    wall, cpu = time.perf_counter(), time.process_time()
    ds = optimize(loaded, TOTAL, over, chance=(min(30, a.horizon), 1.0, 0.8),
                  grid_points=a.points, pilot=not a.no_pilot, progress=tasks.append)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"optimize: {wall:.1f} s wall, {cpu:.1f} s CPU of this process, {len(tasks)} tasks "
          f"(MILP {ds.attrs['milp_seconds']:.2f} s)")
    grid_top = ds.grid_usd_per_day.max("point").values
    print("grid tops USD/day: " + ", ".join(f"{c} {t:,.0f}" for c, t in
                                            zip(ds.cell.values, grid_top)))
    print("allocation USD/day: " + ", ".join(
        f"{c} {x:,.0f}" for c, x in zip(ds.cell.values, ds.allocation_usd_per_day.values)
        if x >= 1))
    a_ = ds.attrs
    print(f"expected profit {a_['expected_profit_usd']:,.0f} USD; out of sample "
          f"P(ROAS D{a_['age']} >= 1) = {a_['oos_p_roas_at_least']:.1%} +/- "
          f"{a_['oos_p_roas_at_least_se']:.1%}; {a_['method']}"
          + (f"; note: {a_['notes']}" if a_["notes"] else ""))


if __name__ == "__main__":
    main()
