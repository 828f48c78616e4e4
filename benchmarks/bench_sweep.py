"""Sweep throughput by executor: this process (Numba threads over all cores) and Dask
LocalClusters of 1 and 2 single-threaded workers (the scaling of the executor: parallel
efficiency of 2 workers over 1) and of 2 workers with the automatic threads (cores / workers).

Run: python benchmarks/bench_sweep.py [DRAWS] [BLOCK_DRAWS]

Reborn Emperor (US) at its medians, 14 campaign days, 180-day horizon, a 2 x 2 grid of daily
budget and rewarded eCPM. Each cluster is started and warmed (workers import simcore and
load the compiled kernels) before the clock starts; every executor must give the identical
dataset. Efficiency = (time on 1 worker / time on 2 workers) / 2, both 1 thread per worker.
"""

import os
import sys
import time

import xarray as xr

import simcore
from simcore.executors import open_executor
from simcore.sweeps import Sweep

GRID = {"campaign.daily_budget_usd": [5000.0, 10000.0], "ads.ecpm_rewarded_usd": [10.0, 16.0]}


def timed(plan: Sweep, cluster: str | None, threads: int | None = None,
          ) -> tuple[float, xr.Dataset]:
    with open_executor(cluster, worker_threads=threads) as executor:
        warm = Sweep(plan.loaded.with_overrides("simulation.draws=1", "campaign.days=1"),
                     {"campaign.daily_budget_usd": [100.0, 200.0, 300.0, 400.0]})
        warm.run(executor)                             # imports and compiled kernels loaded
        t = time.perf_counter()
        ds = plan.run(executor)
        return time.perf_counter() - t, ds


def main():
    draws = int(sys.argv[1]) if len(sys.argv) > 1 else 16
    block = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    loaded = simcore.load_scenario("reborn_emperor_us", [f"simulation.draws={draws}",
                                                         "campaign.days=14"]).fixed()
    plan = Sweep(loaded, GRID, block_draws=block)
    rows = {}
    for name, cluster, threads in (("this process", None, None),
                                   ("1 worker x 1 thread", "local:1", 1),
                                   ("2 workers x 1 thread", "local:2", 1),
                                   ("2 workers, auto threads", "local:2", None)):
        rows[name] = timed(plan, cluster, threads)
    reference = rows["this process"][1]
    users = float(reference.activations.sum())
    print(f"{len(plan.tasks)} tasks ({len(plan.variants)} points x {draws} draws, "
          f"{block} draws per task), {users:,.0f} users, {os.cpu_count()} cores")
    print(f"{'executor':<26}{'seconds':>9}{'tasks/s':>9}{'users/s':>10}")
    for name, (sec, ds) in rows.items():
        xr.testing.assert_identical(ds.compute(), reference)
        print(f"{name:<26}{sec:>9.2f}{len(plan.tasks) / sec:>9.2f}{users / sec / 1e6:>9.2f}M")
    one, two = rows["1 worker x 1 thread"][0], rows["2 workers x 1 thread"][0]
    print(f"speed-up 2 workers / 1 worker: {one / two:.2f}x, parallel efficiency "
          f"{one / two / 2:.0%}; 2 workers (auto threads) / this process: "
          f"{rows['this process'][0] / rows['2 workers, auto threads'][0]:.2f}x")
    print("datasets identical across executors: yes")


if __name__ == "__main__":
    main()
