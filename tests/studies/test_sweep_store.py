"""Sweeps written to Zarr task by task: interrupted and resumed (through the API and the CLI),
only the missing tasks computed, the final dataset identical to an uninterrupted run; bad
stores; the progress bar over tasks."""

from __future__ import annotations

import fcntl
import json
import os
import pty
import re
import shutil
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
from simcore.studies.sweep_store import ZarrSink, open_sweep
from simcore.studies.sweeps import OUTCOMES, Sweep, sweep

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


def stopper(tasks: int):
    """A progress callback that interrupts a sweep after ``tasks`` finished tasks."""
    seen = []

    def progress(n):
        seen.append(n)
        if len(seen) == tasks:
            raise Stop
    return progress


def test_an_interrupted_sweep_resumes_with_only_the_missing_tasks(loaded, reference,
                                                                  tmp_path):
    store = tmp_path / "sweep.zarr"
    plan = Sweep(loaded, GRID, block_draws=2)          # 4 points x 3 blocks = 12 tasks
    assert len(plan.tasks) == 12

    stop_after_five = stopper(5)
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


# --- a damaged store: resume verifies what the store claims done (checksums) -------------

@pytest.fixture(scope="module")
def pristine(loaded, tmp_path_factory):
    """A complete store of 12 tasks (4 points x 3 blocks of 2 draws), copied by each test."""
    store = tmp_path_factory.mktemp("pristine") / "sweep.zarr"
    sweep(loaded, GRID, store=store, block_draws=2)
    return store


def _copy(pristine, tmp_path):
    store = tmp_path / "sweep.zarr"
    shutil.copytree(pristine, store)
    return store


def _garbage(file):
    file.write_bytes(np.random.default_rng(0).bytes(200))


def _truncate(file):
    file.write_bytes(file.read_bytes()[:file.stat().st_size // 2])


DAMAGE = {"garbage": ("roas/c/0/1/2/0", _garbage), "truncated": ("roas_paid/c/1/0/0/0",
                                                                   _truncate),
          "deleted": ("roas/c/1/1/1/0", lambda f: f.unlink()),
          "deleted scalar": ("cpa/c/0/0/1", lambda f: f.unlink()),
          "checksum garbage": ("checksum/c/1/0/2", _garbage)}


def _resume(loaded, store, reference, repaired, computed_tasks):
    """Resume ``store``: ``repaired`` tasks fail the check, ``computed_tasks`` are computed,
    and the result is the uninterrupted sweep's, with no NaN ROAS."""
    plan = Sweep(loaded, GRID, block_draws=2)
    sink = ZarrSink(plan, store, resume=True)
    pending = sink.missing(plan.tasks)
    assert (sink.repaired, len(pending), sink.already) == (repaired, computed_tasks,
                                                           12 - computed_tasks)
    computed = []
    ds = plan.run(sink=sink, progress=computed.append).load()
    assert sum(computed) == computed_tasks and sink.repaired == repaired
    xr.testing.assert_identical(ds, reference)
    assert not np.isnan(ds.roas.values).any()
    xr.testing.assert_identical(open_sweep(store).load(), reference)
    return sink


@pytest.mark.parametrize("case", list(DAMAGE))
def test_resume_recomputes_the_tasks_whose_chunks_are_damaged(case, loaded, reference,
                                                              pristine, tmp_path):
    store = _copy(pristine, tmp_path)
    chunk, damage = DAMAGE[case]
    damage(store / chunk)
    with pytest.raises(ScenarioError, match="1 of 12 tasks are not done or fail their "
                                            "checksum.*--resume"):
        open_sweep(store)                # never the values a deleted chunk reads as (NaN)
    _resume(loaded, store, reference, repaired=1, computed_tasks=1)


def test_a_done_flag_without_its_values_is_recomputed(loaded, reference, tmp_path):
    """A task flagged done whose values were never written (a crash between the writes,
    had the flag come first) and an unreadable flag: both computed again."""
    import zarr

    store = tmp_path / "sweep.zarr"
    plan = Sweep(loaded, GRID, block_draws=2)

    stop_after_five = stopper(5)
    with pytest.raises(Stop):
        plan.run(sink=ZarrSink(plan, store), progress=stop_after_five)
    done = zarr.open_group(str(store), mode="r+")["done"]
    assert int(done[...].sum()) == 10    # tasks 0-4: point 0 (3 blocks) and point 1's first
    done[1, 1, 2:4] = 1                  # point 3, block 1: never written
    _garbage(store / "done/c/0/0/0")     # task 0's flag unreadable: not done
    _resume(loaded, store, reference, repaired=1, computed_tasks=8)


def test_damaged_coordinates_and_parameters_are_written_again(loaded, reference, pristine,
                                                              tmp_path):
    store = _copy(pristine, tmp_path)
    (store / "param_retention.d1/c/0").unlink()
    _garbage(store / "ads.ecpm_rewarded_usd/c/0")
    with pytest.raises(ScenarioError, match="sampled parameters fail their checksum"):
        open_sweep(store)
    sink = _resume(loaded, store, reference, repaired=0, computed_tasks=0)
    assert sorted(sink.rewritten) == ["ads.ecpm_rewarded_usd", "param_retention.d1"]


def test_a_failed_write_never_leaves_a_task_flagged_done(loaded, reference, tmp_path,
                                                         monkeypatch):
    """The flag comes after the values are flushed to disk and their checksum recorded."""
    import simcore.studies.sweep_store as sweep_store

    flushed = []

    def fail_on_checksum(path, arrays, cell):
        flushed.append(sorted(arrays))
        if "checksum" in arrays:
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(sweep_store, "_flush", fail_on_checksum)
    store = tmp_path / "sweep.zarr"
    plan = Sweep(loaded, GRID, block_draws=2)
    with pytest.raises(sweep_store.StoreWriteError):
        plan.run(sink=ZarrSink(plan, store))
    assert flushed == [sorted(OUTCOMES), ["checksum"]]
    monkeypatch.undo()
    _resume(loaded, store, reference, repaired=0, computed_tasks=12)


def _remove_attr(name):
    def edit(store):
        meta = json.loads((store / "zarr.json").read_text())
        del meta["attributes"][name]
        (store / "zarr.json").write_text(json.dumps(meta))
    return edit


METADATA = {"array zarr.json garbage": (lambda s: _garbage(s / "roas/zarr.json"),
                                        "metadata of 'roas' cannot be read"),
            "done array deleted": (lambda s: shutil.rmtree(s / "done"),
                                   "metadata of 'done' cannot be read"),
            "group zarr.json garbage": (lambda s: _garbage(s / "zarr.json"),
                                        "not a simcore sweep store, or its metadata is damaged"),
            "fingerprint missing": (_remove_attr("sweep_fingerprint"),
                                    "not a simcore sweep store, or its metadata is damaged"),
            "checksum attribute missing": (_remove_attr("sweep_check"),
                                           "'sweep_check' attribute is missing")}


@pytest.mark.parametrize("case", list(METADATA))
def test_a_store_with_damaged_metadata_cannot_be_resumed(case, loaded, pristine, tmp_path):
    store = _copy(pristine, tmp_path)
    damage, message = METADATA[case]
    damage(store)
    plan = Sweep(loaded, GRID, block_draws=2)
    with pytest.raises(ScenarioError, match=re.escape(message) + ".*new -o"):
        ZarrSink(plan, store, resume=True)


def test_cli_damaged_metadata_is_one_line(pristine, tmp_path):
    store = _copy(pristine, tmp_path)
    _garbage(store / "done/zarr.json")
    result = subprocess.run(_cli("--block-draws", "2", "-o", "sweep.zarr", "--resume"),
                            cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    assert len(errors) == 1 and "damaged beyond repair" in errors[0], result.stderr
    assert "Traceback" not in result.stderr
