"""Sweep throughput by executor: this process (Numba threads over all cores) and Dask
LocalClusters of 1 and 2 single-threaded workers (the scaling of the executor: parallel
efficiency of 2 workers over 1) and of 2 workers with the automatic threads (cores / workers).

Run: python benchmarks/bench_sweep.py [DRAWS] [BLOCK_DRAWS]

The cost of a Zarr store's checks: python benchmarks/bench_sweep.py store [POINTS] [DRAWS]
writes POINTS x DRAWS tasks of 1 draw (random values of the sweep's shape, 180-day horizon,
no simulation), with and without flushing each task's chunks to disk, then times a resume's
read-back of every task against its checksum and ``open_sweep``'s check of a complete store.

Reborn Emperor (US) at its medians, 14 campaign days, 180-day horizon, a 2 x 2 grid of daily
budget and rewarded eCPM. Each cluster is started and warmed (workers import simcore and
load the compiled kernels) before the clock starts; every executor must give the identical
dataset. Efficiency = (time on 1 worker / time on 2 workers) / 2, both 1 thread per worker.
"""

import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import xarray as xr

import simcore
from simcore.studies import sweep_store
from simcore.studies.executors import open_executor
from simcore.studies.sweep_store import ZarrSink, open_sweep
from simcore.studies.sweeps import OUTCOMES, Sweep

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


def _write_store(plan: Sweep, path: Path, flush: bool = True) -> float:
    """Seconds to write every task of ``plan`` (random values) to a new store at ``path``."""
    ages = plan.loaded.scenario.simulation.horizon_days + 1
    rng = np.random.default_rng(1)
    results = [{name: (rng.integers(0, 10**6, stop - start) if name == "activations" else
                       rng.random((stop - start, ages) if dims else stop - start))
                for name, (dims, _, _) in OUTCOMES.items()} for _, _, start, stop in plan.tasks]
    fsync = sweep_store._fsync
    if not flush:
        sweep_store._fsync = lambda p: None
    try:
        t = time.perf_counter()
        sink = ZarrSink(plan, path)
        sink.missing(plan.tasks)
        for task, result in zip(plan.tasks, results):
            sink.write(plan.place(task), result)
        sink.finish()
        return time.perf_counter() - t
    finally:
        sweep_store._fsync = fsync


def store_costs(points: int = 8, draws: int = 40) -> None:
    loaded = simcore.load_scenario("reborn_emperor_us", [f"simulation.draws={draws}"]).fixed()
    plan = Sweep(loaded, {"campaign.daily_budget_usd": np.linspace(1000, 20000, points)},
                 block_draws=1)
    n = len(plan.tasks)
    with tempfile.TemporaryDirectory() as folder:
        no_flush = _write_store(plan, Path(folder) / "a.zarr", flush=False)
        written = _write_store(plan, Path(folder) / "b.zarr")
        store = Path(folder) / "b.zarr"
        size = sum(f.stat().st_size for f in store.rglob("*") if f.is_file())
        t = time.perf_counter()
        sink = ZarrSink(plan, store, resume=True)
        assert sink.missing(plan.tasks) == [] and sink.repaired == 0
        resume = time.perf_counter() - t
        t = time.perf_counter()
        open_sweep(store)
        verify = time.perf_counter() - t
        shutil.rmtree(store / "roas" / "c" / "0")             # point 0: every roas chunk gone
        sink = ZarrSink(plan, store, resume=True)
        assert len(sink.missing(plan.tasks)) == draws and sink.repaired == draws
    print(f"store of {n} tasks ({points} points x {draws} draws, 1 draw per task, "
          f"{loaded.scenario.simulation.horizon_days + 1} ages), {size / 1e6:.1f} MB on disk")
    print(f"{'step':<44}{'seconds':>9}{'ms/task':>9}")
    for name, sec in (("write, chunks not flushed", no_flush),
                      ("write, each task's chunks fsync'd", written),
                      ("resume: open + read back every task", resume),
                      ("open_sweep: check a complete store", verify)):
        print(f"{name:<44}{sec:>9.2f}{sec / n * 1e3:>9.2f}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["store"]:
        store_costs(*(int(a) for a in sys.argv[2:4]))
    else:
        main()
