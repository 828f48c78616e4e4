"""Sweeps written to Zarr task by task: interrupted and resumed (through the API and the CLI),
only the missing tasks computed, the final dataset identical to an uninterrupted run; bad
stores; the progress bar over tasks."""

from __future__ import annotations

import fcntl
import os
import pty
import re
import signal
import struct
import subprocess
import sys
import termios
import time

import numpy as np
import pytest
import xarray as xr

import simcore
from simcore.errors import ScenarioError
from simcore.sweep_store import ZarrSink, open_sweep
from simcore.sweeps import Sweep, sweep

SMALL = ["simulation.draws=6", "campaign.days=2", "simulation.horizon_days=14",
         "campaign.daily_budget_usd=300"]
GRID = {"campaign.daily_budget_usd": [300.0, 600.0], "ads.ecpm_rewarded_usd": [10.0, 20.0]}
CLI_GRID = ["--grid", "campaign.daily_budget_usd=300,600", "--grid",
            "ads.ecpm_rewarded_usd=10,20"]


def _cli(*args):
    return [sys.executable, "-m", "simcore", "sweep", "reborn_emperor_us",
            *sum((["--set", o] for o in SMALL), []), *CLI_GRID, *args]


@pytest.fixture(scope="module")
def loaded():
    return simcore.load_scenario("reborn_emperor_us", SMALL)


@pytest.fixture(scope="module")
def reference(loaded):
    return sweep(loaded, GRID)


class Stop(Exception):
    pass


def test_an_interrupted_sweep_resumes_with_only_the_missing_tasks(loaded, reference,
                                                                  tmp_path):
    store = tmp_path / "sweep.zarr"
    plan = Sweep(loaded, GRID, block_draws=2)          # 4 points x 3 blocks = 12 tasks
    assert len(plan.tasks) == 12

    def stop_after_five(n, seen=[]):
        seen.append(n)
        if len(seen) == 5:
            raise Stop

    with pytest.raises(Stop):
        plan.run(sink=ZarrSink(plan, store), progress=stop_after_five)
    with pytest.raises(ScenarioError, match="not finished"):
        open_sweep(store)
    with pytest.raises(ScenarioError, match="already exists"):
        ZarrSink(plan, store)                          # never clobbered without resume

    computed = []
    sink = ZarrSink(plan, store, resume=True)
    assert len(sink.missing(plan.tasks)) == 7 and sink.already == 5
    ds = plan.run(sink=sink, progress=computed.append)
    assert sum(computed) == 7
    xr.testing.assert_identical(ds.load(), reference)
    xr.testing.assert_identical(open_sweep(store).load(), reference)
    # resuming a finished store computes nothing and reads the same dataset
    computed.clear()
    ds = sweep(loaded, GRID, store=store, resume=True, block_draws=2,
               progress=computed.append)
    assert computed == []
    xr.testing.assert_identical(ds.load(), reference)


def test_resume_refuses_a_store_of_another_sweep(loaded, tmp_path):
    store = tmp_path / "sweep.zarr"
    sweep(loaded, {"campaign.daily_budget_usd": [300.0, 600.0]}, store=store)
    other = {"campaign.daily_budget_usd": [300.0, 900.0]}
    with pytest.raises(ScenarioError, match="holds a different sweep"):
        sweep(loaded, other, store=store, resume=True)
    with pytest.raises(ScenarioError, match="holds a different sweep"):
        sweep(loaded.with_overrides("simulation.seed=1"),
              {"campaign.daily_budget_usd": [300.0, 600.0]}, store=store, resume=True)
    (tmp_path / "foreign.zarr").mkdir()
    with pytest.raises(ScenarioError, match="not a simcore sweep store"):
        sweep(loaded, other, store=tmp_path / "foreign.zarr", resume=True)


def _done_tasks(store) -> int:
    import zarr

    try:
        done = np.asarray(zarr.open_group(str(store), mode="r")["done"][...])
    except Exception:                        # not created yet, or a chunk being written
        return 0
    return int(done.sum())


def test_cli_interrupt_then_resume_computes_only_the_missing_tasks(reference, tmp_path):
    # 4 points x 6 blocks of 1 draw = 24 tasks; interrupt once a few are in the store
    command = _cli("--block-draws", "1", "-o", "sweep.zarr", "--no-progress")
    proc = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    while _done_tasks(tmp_path / "sweep.zarr") < 2 and proc.poll() is None:
        assert time.monotonic() < deadline, "no task finished"
        time.sleep(0.02)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    saved = int(re.search(r"interrupted: (\d+) of 24 tasks are saved", err).group(1))
    assert 2 <= saved < 24, err
    assert "--resume" in err and "Traceback" not in err

    result = subprocess.run(_cli("--block-draws", "1", "-o", "sweep.zarr", "--resume"),
                            cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert f"{saved} of 24 tasks already computed" in result.stderr
    assert f"computed {24 - saved} of 24 tasks" in result.stdout
    xr.testing.assert_identical(open_sweep(tmp_path / "sweep.zarr").load(), reference)


def test_cli_store_errors_are_one_line(tmp_path):
    cases = [(["--resume"], "needs -o STORE.zarr"),
             (["--resume", "-o", "x.nc"], "needs -o STORE.zarr"),
             (["-o", "x.csv"], ".nc or .zarr"),
             (["-o", "missing/x.zarr"], "does not exist")]
    for extra, message in cases:
        result = subprocess.run(_cli(*extra), cwd=tmp_path,
                                capture_output=True, text=True, timeout=120)
        assert result.returncode == 2, result.stderr
        assert message in result.stderr and result.stderr.count("\n") == 1, result.stderr
    assert list(tmp_path.iterdir()) == []


def test_progress_bar_counts_tasks_with_an_eta(tmp_path):
    """On a terminal, stderr shows the tasks done, the rate and the time left."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))  # 120 columns
    proc = subprocess.Popen(_cli("--block-draws", "2"), cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    chunks = []
    while True:
        try:
            data = os.read(master, 4096)
        except OSError:                      # the other end closed: the command is done
            break
        if not data:
            break
        chunks.append(data.decode(errors="replace"))
    os.close(master)
    assert proc.wait(timeout=300) == 0
    shown = "".join(chunks)
    assert "12/12" in shown, shown
    # tqdm's meter: [elapsed<remaining, rate]
    assert re.search(r"\[\d\d:\d\d<\d\d:\d\d, +[\d.]+ ?(task/s|s/task)\]", shown), shown
