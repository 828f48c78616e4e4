"""Executors: the same sweep, bit for bit, in this process, on LocalClusters of 1 and 2
workers and on a real ``dask scheduler`` with two ``dask worker`` processes; a worker killed
mid-sweep; sensitivity evaluations on a cluster; bad executor options."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time

import numba
import numpy as np
import pytest
import xarray as xr

import simcore
from simcore.data.dataset import open_dataset
from simcore.errors import ScenarioError
from simcore.studies.executors import open_executor, parse_cluster, usable_cores
from simcore.studies.sweeps import Sweep, sweep

SMALL = ["simulation.draws=4", "campaign.days=2", "simulation.horizon_days=14",
         "campaign.daily_budget_usd=300"]
GRID = {"campaign.daily_budget_usd": [300.0, 600.0], "ads.ecpm_rewarded_usd": [10.0, 20.0]}


@pytest.fixture(scope="module")
def loaded():
    return simcore.load_scenario("reborn_emperor_us", SMALL)


@pytest.fixture(scope="module")
def reference(loaded):
    """The sweep in this process, one task per point (all draws at once)."""
    return sweep(loaded, GRID, block_draws=4)


def _closed_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def dask_cluster(tmp_path):
    """A real ``dask scheduler`` (on a port it picks, written to a scheduler file) and two
    ``dask worker`` processes (no nanny, one thread each) on 127.0.0.1: yields (address,
    worker processes)."""
    file = tmp_path / "scheduler.json"
    procs = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler",
                               "--host", "127.0.0.1", "--port", "0", "--scheduler-file",
                               str(file), "--dashboard-address", ":0", "--no-show"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        deadline = time.monotonic() + 120
        while not file.exists() or not file.read_text().strip():
            assert time.monotonic() < deadline and procs[0].poll() is None, "no scheduler"
            time.sleep(0.05)
        address = json.loads(file.read_text())["address"]
        workers = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker",
                                     address, "--host", "127.0.0.1", "--nthreads", "1",
                                     "--no-nanny", "--no-dashboard", "--death-timeout", "60"],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                   for _ in range(2)]
        procs += workers
        from distributed import Client

        with Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=120)
        yield address, workers
    finally:
        for p in reversed(procs):
            p.kill()
            p.wait(timeout=30)


def test_block_size_does_not_change_the_sweep(loaded, reference):
    xr.testing.assert_identical(sweep(loaded, GRID, block_draws=1), reference)
    xr.testing.assert_identical(sweep(loaded, GRID, block_draws=3), reference)


def _numba_threads(executor, tasks: int = 4) -> set[int]:
    """The Numba thread counts tasks see on the executor's workers."""
    return {threads for _, threads in executor.map(numba.get_num_threads, [()] * tasks)}


@pytest.mark.parametrize("workers", [1, 2])
def test_local_cluster_gives_the_identical_dataset(loaded, reference, workers):
    cap = numba.config.NUMBA_NUM_THREADS        # inherited by the workers (NUMBA_NUM_THREADS)
    with open_executor(cluster=f"local:{workers}") as executor:
        assert executor.workers == workers
        # each worker's Numba threads: the cores this process may use, shared among workers
        assert executor.threads == max(1, usable_cores() // workers)
        assert _numba_threads(executor) == {min(executor.threads, cap)}
        ds = sweep(loaded, GRID, executor=executor, block_draws=1)
    xr.testing.assert_identical(ds, reference)
    with open_executor(cluster=f"local:{workers}", worker_threads=1) as executor:
        assert _numba_threads(executor) == {1}
        ds = sweep(loaded, GRID, executor=executor, block_draws=3)
    xr.testing.assert_identical(ds, reference)


def test_scheduler_with_two_workers_survives_a_killed_worker(loaded, reference, dask_cluster):
    address, workers = dask_cluster
    with open_executor(scheduler=address) as executor:
        assert executor.workers == 2
        assert _numba_threads(executor) == {1}      # each worker's --nthreads 1
        ds = sweep(loaded, GRID, executor=executor, block_draws=2)
    xr.testing.assert_identical(ds, reference)

    # again, killing one worker while it runs a task, as soon as the first task is back
    plan = Sweep(loaded, GRID, block_draws=1)
    finished, lost = [], []
    with open_executor(scheduler=address) as executor:
        client = executor.client
        victim = next(a for a, pid in client.run(os.getpid).items() if pid == workers[1].pid)

        def progress(n):
            finished.append(n)
            if len(finished) == 1:
                lost.extend(client.processing(workers=[victim])[victim])
                workers[1].kill()

        ds = plan.run(executor, progress=progress)
    assert workers[1].wait(timeout=30) == -signal.SIGKILL
    assert lost, "the killed worker held no task"      # its tasks had to run again
    assert len(finished) == len(plan.tasks) == 16
    xr.testing.assert_identical(ds, reference)


def test_sensitivity_on_a_cluster_matches_this_process():
    from simcore.studies.sensitivity import sensitivity

    loaded = simcore.load_scenario("reborn_emperor_us", SMALL + ["correlations=[]"])
    here = sensitivity(loaded, "morris", "roas:7", n=4)
    runs = []
    with open_executor(cluster="local:2") as executor:
        there = sensitivity(loaded, "morris", "roas:7", n=4, executor=executor,
                            progress=runs.append)
    xr.testing.assert_identical(here, there)
    assert sum(runs) == 4 * (len(loaded.uncertainty.parameters) + 1)


@pytest.mark.parametrize("text", ["local", "local:0", "local:x", "tcp:2", "local:2:3"])
def test_bad_cluster_options_are_one_line_errors(text):
    with pytest.raises(ScenarioError, match="write local:N") as err:
        parse_cluster(text)
    assert "\n" not in str(err.value)


def test_cli_executor_errors_are_one_line(tmp_path):
    base = [sys.executable, "-m", "simcore", "sweep", "reborn_emperor_us", "--draws", "2",
            "--grid", "campaign.daily_budget_usd=300,600"]
    port = _closed_port()
    cases = [
        (["--cluster", "local:2", "--scheduler", f"tcp://127.0.0.1:{port}"], "not both"),
        (["--cluster", "remote:2"], "--cluster"),
        (["--scheduler", "127.0.0.1"], "tcp://HOST:PORT"),
        (["--scheduler", f"tcp://127.0.0.1:{port}", "--set", "simulation.horizon_days=7",
          "--set", "campaign.days=1"], "cannot reach the scheduler"),
        (["--block-draws", "3"], "--block-draws"),
        (["--cluster", "local:0", "-o", "a.zarr"], "--cluster"),
        (["--scheduler", f"tcp://127.0.0.1:{port}", "-o", "b.zarr", "--set",
          "campaign.days=1"], "cannot reach the scheduler"),
        (["--worker-threads", "2"], "only with --cluster or --scheduler"),
        (["--cluster", "local:1", "--worker-threads", "0"], "give 1 .. 1024"),
    ]
    for extra, message in cases:
        result = subprocess.run(base + extra, cwd=tmp_path, capture_output=True, text=True,
                                timeout=120)
        assert result.returncode == 2, (extra, result.stderr)
        assert message in result.stderr and result.stderr.count("\n") == 1, result.stderr
        assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_the_cli_runs_a_sweep_on_a_local_cluster(tmp_path, reference):
    result = subprocess.run(
        [sys.executable, "-m", "simcore", "sweep", "reborn_emperor_us", *sum(
            (["--set", o] for o in SMALL), []), "--grid", "campaign.daily_budget_usd=300,600",
         "--grid", "ads.ecpm_rewarded_usd=10,20", "--cluster", "local:2", "--block-draws", "2",
         "-o", "sweep.nc"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "computed 8 of 8 tasks (4 points x 2 blocks of up to 2 draws) on a local cluster " \
           "of 2 workers" in result.stdout
    ds = open_dataset(tmp_path / "sweep.nc")
    np.testing.assert_array_equal(ds.roas.values, reference.roas.values)
