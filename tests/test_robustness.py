"""Regression tests of the robustness contract (issue 11): values that validate but could not
run are refused with the range that works, work is estimated (and refused or confirmed) before
it starts, outputs are replaced only when simcore wrote them or with --force, and SIGTERM is
handled like Ctrl-C."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import simcore
from simcore import cli
from simcore.data.outputs import check_output, write_atomic, written_by_simcore
from simcore.errors import ScenarioError
from simcore.kinds.game.plan import compile_loaded
from simcore.model.acquisition import MAX_USERS_PER_DAY
from simcore.studies import workload

SMALL = ("simulation.draws=2", "campaign.days=2", "simulation.horizon_days=30")


def loaded(name: str, *overrides: str):
    return simcore.load_scenario(name, [*SMALL, *overrides])


# --- values that validate but cannot run: refused with the range that works ---------------------

REFUSED = [
    ("reborn_emperor_us", ("campaign.target_cpa_usd=1e-300",), "campaign.target_cpa_usd",
     "valid range: >= "),
    ("reborn_emperor_us", ("campaign.target_cpa_usd=1e-6",), "campaign.target_cpa_usd",
     "a day are simulated"),
    ("brain_puzzle_us", ("campaign.cpm_usd=1e-300",), "campaign.cpm_usd", "impressions"),
    ("reborn_emperor_us", ("campaign.saturation_budget_usd=1e-300",
                           "campaign.saturation_shape=5"), "campaign.saturation_budget_usd",
     "valid range with saturation_shape 5: >= "),
    ("reborn_emperor_us", ("campaign.daily_budget_usd=1",
                           "campaign.target_cpa_usd=1000"), "campaign.target_cpa_usd",
     "too few to measure ROAS"),
    ("reborn_emperor_global", ("creator.videos_per_day=1e5", "creator.views_median=1e9",
                               "creator.views_p90=1e10", "creator.anchor_ctr=1",
                               "creator.load_success=1", "creator.first_play=1",
                               "creator.usd_per_1000_views=0"), "creator.views_p90",
     "views a day in expectation"),
    ("drama_paywall_us", ("campaign.target_cpa_usd=1e-300",), "campaign.target_cpa_usd",
     "valid range: >= "),
]


@pytest.mark.parametrize("name, overrides, key, text", REFUSED,
                         ids=[f"{r[0]}:{r[2]}" for r in REFUSED])
def test_values_that_cannot_run_are_refused_with_the_range(name, overrides, key, text):
    with pytest.raises(ScenarioError) as err:
        simcore.run(loaded(name, *overrides))
    message = str(err.value)
    assert err.value.key == key and text in message, message
    assert name in message and "\n" not in message


def test_the_range_given_is_the_range_that_works():
    """The bound printed for a CPA that buys too many users is the one that runs."""
    with pytest.raises(ScenarioError) as err:
        compile_loaded(loaded("reborn_emperor_us", "campaign.target_cpa_usd=1e-9"))
    least = float(err.value.message.rsplit(">= ", 1)[1].rstrip(")"))
    plan = compile_loaded(loaded("reborn_emperor_us", f"campaign.target_cpa_usd={least * 1.01}"))
    assert plan.acquisition.expected_activations().max() <= MAX_USERS_PER_DAY
    with pytest.raises(ScenarioError):
        compile_loaded(loaded("reborn_emperor_us", f"campaign.target_cpa_usd={least * 0.99}"))


def test_scale_rules_without_a_cap_count_the_budget_they_can_reach():
    rule = ('rules=[{metric="roas_d0", above=0.0, action="scale", factor=10.0}]')
    with pytest.raises(ScenarioError) as err:
        compile_loaded(loaded("reborn_emperor_us", "campaign.days=14", rule))
    assert err.value.key == "rules.max_daily_budget_usd", str(err.value)
    assert "scale rules can raise the daily budget to" in str(err.value)
    capped = rule.replace("factor=10.0", "factor=10.0, max_daily_budget_usd=50000")
    compile_loaded(loaded("reborn_emperor_us", "campaign.days=14", capped))


def test_a_saturated_campaign_at_the_edge_runs_without_nan():
    ds = simcore.run(loaded("reborn_emperor_us", "campaign.saturation_budget_usd=0.1",
                            "campaign.saturation_shape=1", "campaign.daily_budget_usd=100",
                            "campaign.target_cpa_usd=0.001"))   # cost 1001-fold at 100 USD
    assert ds.activations.values.min() > 0
    assert np.isfinite(ds.roas.values).all()


# --- the work estimate ----------------------------------------------------------------------------

def test_estimate_counts_the_expected_paid_users_and_the_arrays():
    lo = loaded("reborn_emperor_us")
    work = workload.estimate(lo)
    plan = compile_loaded(lo)
    paid = plan.acquisition.expected_activations().sum()
    assert work.users == pytest.approx(paid * 2)
    assert work.runs == 2
    assert work.bytes > 2 * 7 * 2 * 7 * 31 * 8       # draws x channels x cohorts x vars x ages
    assert "users in 2 runs" in work.describe()


def test_estimate_of_every_channel_is_close_to_a_run():
    """The expected users of a multi-market scenario with creators, organic entrances and
    sharing against the mean of a run (the estimate is a guide: within 10 %)."""
    lo = simcore.load_scenario("reborn_emperor_global", ["simulation.draws=4",
                                                          "simulation.horizon_days=30"])
    ds = simcore.run(lo)
    simulated = float(ds.activations_by_channel.sum(("channel", "cohort")).mean())
    estimated = workload.estimate(lo).users / 4
    assert estimated == pytest.approx(simulated, rel=0.1), (estimated, simulated)


def test_arrays_larger_than_memory_are_refused_naming_the_keys(monkeypatch):
    monkeypatch.setattr(workload, "available_bytes", lambda: 1e3)
    with pytest.raises(ScenarioError) as err:
        workload.check(workload.estimate(loaded("reborn_emperor_us")))
    assert "simulation.draws, campaign.days, simulation.horizon_days" in str(err.value)
    assert "of memory available" in str(err.value)


def test_too_many_runs_are_refused():
    work = workload.Workload(1.0, workload.MAX_RUNS + 1, 0.0, 0.0, "simulation.draws")
    with pytest.raises(ScenarioError, match="simulator runs"):
        workload.check(work, what="--n")


class _Terminal(io.StringIO):
    def isatty(self):
        return True


def test_long_work_asks_on_a_terminal_and_warns_without_one(monkeypatch):
    work = workload.Workload(1e12, 10, 0.0, 10 * workload.CONFIRM_SECONDS, "simulation.draws")
    out = io.StringIO()
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))          # a batch job: warn, go on
    workload.check(work, stream=out)
    assert "warning: this is estimated to take about" in out.getvalue()
    monkeypatch.setattr(sys, "stdin", _Terminal("n\n"))         # a person says no
    with pytest.raises(ScenarioError, match="add --yes"):
        workload.check(work, stream=io.StringIO())
    monkeypatch.setattr(sys, "stdin", _Terminal("y\n"))
    workload.check(work, stream=io.StringIO())
    workload.check(work, yes=True, stream=io.StringIO())        # --yes: no question


def test_validate_prints_the_estimate(capsys):
    assert cli.main(["validate", "brain_puzzle_us"]) == 0
    assert "[work: " in capsys.readouterr().out


def test_a_negative_budget_is_a_value_not_a_flag(capsys):
    assert cli.main(["scale", "--budgets", "-1,100"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--budgets" in err and "-1 is not a daily budget" in err


# --- outputs: replaced only when simcore wrote them, or with --force -----------------------------

@pytest.mark.parametrize("suffix", [".nc", ".png", ".svg", ".html"])
def test_a_file_simcore_did_not_write_is_kept(tmp_path, suffix):
    path = tmp_path / f"notes{suffix}"
    path.write_text("my notes")
    with pytest.raises(ScenarioError, match="not written by simcore; add --force"):
        check_output(path, (suffix,))
    assert check_output(path, (suffix,), force=True) == path
    assert path.read_text() == "my notes"


def test_files_simcore_wrote_are_recognised(tmp_path):
    from simcore import plots
    from simcore.data.dataset import write_dataset
    from simcore.text.report import build_report

    ds = simcore.run(loaded("reborn_emperor_us"))
    write_dataset(ds, tmp_path / "run.nc")
    fig = plots.plot(ds, "fan")
    plots.save(fig, tmp_path / "fan.png")
    plots.save(fig, tmp_path / "fan.svg")
    write_atomic(tmp_path / "run.html", build_report(ds).encode())
    for name in ("run.nc", "fan.png", "fan.svg", "run.html"):
        assert written_by_simcore(tmp_path / name), name
        check_output(tmp_path / name, (os.path.splitext(name)[1],))


def test_cli_keeps_a_foreign_output_and_replaces_it_with_force(tmp_path):
    (tmp_path / "notes.nc").write_text("not a dataset")
    args = [sys.executable, "-m", "simcore", "run", "brain_puzzle_us", *sum(
        (["--set", o] for o in SMALL), []), "-o", "notes.nc"]
    refused = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1, refused.stderr
    assert (tmp_path / "notes.nc").read_text() == "not a dataset"
    done = subprocess.run(args + ["--force"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert written_by_simcore(tmp_path / "notes.nc")
    assert sorted(os.listdir(tmp_path)) == ["notes.nc"]


# --- signals -----------------------------------------------------------------------------------

def test_an_interrupted_write_leaves_no_temporary_file(tmp_path):
    def stopped(tmp):
        with open(tmp, "wb") as f:
            f.write(b"half a file")
        raise cli.Terminated()

    with pytest.raises(cli.Terminated):
        write_atomic(tmp_path / "out.nc", stopped)
    assert os.listdir(tmp_path) == []


def test_sigterm_stops_a_run_with_one_line_and_no_file(tmp_path):
    """SIGTERM (SLURM, Kubernetes) is handled like Ctrl-C: one line, exit 143, nothing left."""
    proc = subprocess.Popen([sys.executable, "-m", "simcore", "run", "reborn_emperor_us",
                             "--draws", "2000", "-o", "out.nc"], cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    # wait until the run is simulating (its Numba threads are up), then terminate it
    while time.monotonic() < deadline and len(os.listdir(f"/proc/{proc.pid}/task")) < 3:
        time.sleep(0.2)
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 143, (proc.returncode, err[-2000:])
    assert err == "simcore: terminated (SIGTERM)\n", err
    assert os.listdir(tmp_path) == []


def test_errors_never_carry_terminal_control_characters():
    """A value with an escape sequence or NUL is shown escaped, on one line."""
    text = str(ScenarioError("campaign.days", "= '\x1b[2J\x00': bad\nvalue", "f.toml"))
    assert text == "f.toml: campaign.days: = '\\x1b[2J\\x00': bad\\nvalue"
    assert text.isprintable()


def test_summary_of_a_sweep_store_says_what_to_use(tmp_path, capsys):
    store = tmp_path / "sweep.zarr"
    store.mkdir()
    (store / "zarr.json").write_text("{}")
    for command in (["summary", str(store)], ["report", str(store), "-o", "r.html"]):
        assert cli.main(command) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "a sweep store" in err and "open_sweep" in err
