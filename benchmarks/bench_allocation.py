"""The allocation study's cost: Reborn Emperor (global), its 7 markets x paid ads, default
draws (100) and horizon (180 days), total $10,000/day, P(ROAS D30 >= 1) >= 0.8; 6 simulated
budgets per market (42 market runs) and the out-of-sample check (7 more).

Run: python benchmarks/bench_allocation.py [DRAWS] [GRID_POINTS] [HORIZON_DAYS]

Prints the seconds of each step: the kernels' first compile (warm-up, not counted), the
response grid, the solve (HiGHS MILP and SLSQP polish) and the out-of-sample check, then the
allocation. Target: under 5 minutes on 2 cores at the defaults.
"""

import os
import sys
import time

import numpy as np
from machine import cpu_model

from simcore.scenario import load_scenario
from simcore.studies.allocation import fresh_seed
from simcore.studies.allocation.cells import bounds_of, budget_grid, cells_of
from simcore.studies.allocation.response import simulate_allocation, simulate_response
from simcore.studies.allocation.solve import Chance, Curves, Problem, solve

TOTAL = 10_000.0


def main():
    draws = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    points = int(sys.argv[2]) if len(sys.argv) > 2 else 6
    horizon = int(sys.argv[3]) if len(sys.argv) > 3 else 180
    loaded = load_scenario("reborn_emperor_global", [f"simulation.draws={draws}",
                                                     f"simulation.horizon_days={horizon}"])
    cells = sorted(cells_of(loaded), key=lambda c: c.stream)
    lo, hi = bounds_of(cells, TOTAL, None, None)
    warm = load_scenario("reborn_emperor_global", ["simulation.draws=1", "campaign.days=1"])
    simulate_response(cells_of(warm)[:1], np.array([[0.0, 100.0]]))       # compile first
    print(f"{cpu_model()}, {os.cpu_count()} cores; {len(cells)} markets x paid ads, "
          f"{draws} draws, {horizon}-day horizon, {points} budgets per market + 0")
    t0 = time.perf_counter()
    grids = np.stack([budget_grid(h, points) for h in hi])
    r = simulate_response(cells, grids)
    t1 = time.perf_counter()
    chance = Chance(min(30, horizon), 1.0, 0.8)
    p = Problem(r.grid, r.spend, r.revenue[..., horizon], TOTAL, lo, hi, chance=chance,
                revenue_chance=r.revenue[..., chance.age])
    sol = solve(p, Curves(p))
    t2 = time.perf_counter()
    spend, revenue = simulate_allocation(cells, sol.budgets, fresh_seed(loaded.scenario
                                                                      .simulation.seed))
    t3 = time.perf_counter()
    roas = revenue[..., chance.age].sum(0) / spend.sum(0)
    print(f"response grid ({len(cells) * points} market runs): {t1 - t0:8.1f} s")
    print(f"solve (MILP {sol.milp_seconds:.2f} s + polish):      {t2 - t1:8.2f} s")
    print(f"out-of-sample check ({int((sol.budgets >= 1).sum())} runs):     {t3 - t2:8.1f} s")
    print(f"total:                                {t3 - t0:8.1f} s")
    print("allocation USD/day: " + ", ".join(f"{c.name} {x:,.0f}"
                                             for c, x in zip(cells, sol.budgets)))
    print(f"out of sample P(ROAS D{chance.age} >= 1) = {(roas >= 1).mean():.1%}; "
          f"method: {sol.method}")


if __name__ == "__main__":
    main()
