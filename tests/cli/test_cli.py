"""The command line, end to end: every test runs ``python -m simcore ...`` in a subprocess.

Runs use small sizes (2 draws, 2 campaign days, $300 a day, 30-day horizon) so the whole file
takes well under a minute of CPU.
"""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from tests.cli_helpers import ok, simcore

REPO = Path(__file__).resolve().parents[2]
REPO_SCENARIOS = sorted((REPO / "scenarios").glob("*.toml"))
PACKAGED = ("backpack_battle_jp", "brain_puzzle_us", "drama_free_licensed_us",
            "drama_paywall_us", "reborn_emperor_global", "reborn_emperor_us")
SMALL = ["--set", "campaign.days=2", "--set", "campaign.daily_budget_usd=300",
         "--set", "simulation.horizon_days=30"]
FAST_SCENARIO = REPO / "scenarios" / "brain_puzzle_us.toml"

VARIABLES = ("spend", "activations", "active_users", "sessions", "ad_impressions",
             "revenue_iaa", "revenue_iap", "payers", "roas", "payback_day", "cpa")


def one_line_error(result: subprocess.CompletedProcess) -> str:
    err = result.stderr
    assert result.returncode == 2, (result.returncode, err[-3000:])
    assert "Traceback" not in err, err
    assert result.stdout == ""
    assert err.endswith("\n") and err.count("\n") == 1, f"not exactly one line: {err!r}"
    line = err.rstrip("\n")
    assert line.startswith("simcore: error: ") and len(line) > len("simcore: error: "), line
    return line


def summary_lines(run_stdout: str, out_name: str) -> list[str]:
    """The summary table of ``simcore run -o`` stdout, without its trailing 'written' line."""
    lines = run_stdout.splitlines()
    assert lines[-1] == f"dataset written to {out_name}", lines[-3:]
    assert lines[-2] == ""
    return lines[:-2]


def assert_roas_table(stdout: str) -> None:
    lines = stdout.splitlines()
    for day in ("D0", "D1", "D7"):
        rows = [ln for ln in lines if ln.split()[:1] == [day]]
        assert len(rows) == 1, f"no single ROAS row {day}:\n{stdout}"
        numbers = rows[0].split()[1:]
        # mean p5 p50 p95 P(>=1), and the blended p50 where organic or share users exist
        assert len(numbers) in (5, 6), rows[0]
        assert all(float(v) >= 0 for v in numbers), rows[0]
    assert any(ln.startswith("payback day") for ln in lines), stdout


# --- shared small runs (module scope: each is one subprocess) ---------------------------------

@pytest.fixture(scope="module")
def seed5(tmp_path_factory):
    """Two runs of the same scenario and seed (in two folders, same relative -o name) and one
    with another seed."""
    runs = {}
    for name, seed in (("a", 5), ("b", 5), ("c", 6)):
        folder = tmp_path_factory.mktemp(f"seed_{name}")
        result = simcore("run", FAST_SCENARIO, "-o", "out.nc", "--seed", seed, "--draws", 2,
                         *SMALL, cwd=folder)
        runs[name] = (ok(result), folder / "out.nc")
    return runs


def open_nc(path: Path) -> xr.Dataset:
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        return ds.load()


# --- help and listing -------------------------------------------------------------------------

@pytest.mark.parametrize("args, usage, mentions", [
    (["--help"], "usage: simcore", ("run", "validate", "summary", "scenarios")),
    (["run", "--help"], "usage: simcore run",
     ("--output", "--seed", "--draws", "--set", "--no-progress")),
    (["validate", "--help"], "usage: simcore validate", ("--set",)),
    (["summary", "--help"], "usage: simcore summary", ("dataset",)),
    (["scenarios", "--help"], "usage: simcore scenarios", ()),
], ids=["top", "run", "validate", "summary", "scenarios"])
def test_help(args, usage, mentions):
    result = ok(simcore(*args))
    assert result.stdout.startswith(usage), result.stdout[:200]
    for text in mentions:
        assert text in result.stdout, text
    assert result.stderr == ""


def test_scenarios_lists_the_packaged_ones():
    result = ok(simcore("scenarios"))
    lines = result.stdout.splitlines()
    names = [ln.split()[0] for ln in lines]
    assert names == sorted(PACKAGED)
    for ln in lines:
        path = Path(ln.split()[1])
        assert path.is_file() and path.suffix == ".toml", ln
    default = [ln for ln in lines if "(default)" in ln]
    assert len(default) == 1 and default[0].startswith("reborn_emperor_us")


def test_bad_command_line_is_one_line():
    line = one_line_error(simcore("run", "--seed", "abc"))
    assert "--seed" in line
    line = one_line_error(simcore("frobnicate"))
    assert "frobnicate" in line


def test_a_reader_that_leaves_early_is_no_error():
    """``simcore schema | head -1``: the pipe closes under simcore's output (here before it
    writes at all); it stops quietly (exit 0), without a BrokenPipeError traceback."""
    import os
    import sys

    read, write = os.pipe()
    os.close(read)                                  # the reader has left
    try:
        proc = subprocess.run([sys.executable, "-m", "simcore", "schema"], stdout=write,
                              stderr=subprocess.PIPE, text=True, timeout=60)
    finally:
        os.close(write)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "BrokenPipe" not in proc.stderr, proc.stderr


# --- every repository scenario ----------------------------------------------------------------

def test_repository_has_scenarios():
    assert {p.stem for p in REPO_SCENARIOS} >= set(PACKAGED)


@pytest.mark.parametrize("path", REPO_SCENARIOS, ids=[p.stem for p in REPO_SCENARIOS])
def test_validate_repository_scenario(path):
    result = ok(simcore("validate", path))
    out = result.stdout
    assert out.splitlines()[0].startswith(f"# {path}: valid (scenario hash ")
    if 'kind = "drama"' in path.read_text():      # a series: no retention model to fit
        assert "[resolved.series]" in out and "[resolved.acquisition]" in out
        return
    assert "[resolved.retention]" in out
    resolved = out.split("[resolved.retention]", 1)[1]
    assert re.search(r"model = '(sbg|bdw)'\s+alpha = \S+\s+beta = \S+\s+c = \S+", resolved), out
    assert "[resolved.acquisition]" in out
    assert result.stderr == ""


@pytest.mark.parametrize("path", REPO_SCENARIOS, ids=[p.stem for p in REPO_SCENARIOS])
def test_run_then_summary_repository_scenario(path, tmp_path):
    run = ok(simcore("run", path, "-o", "out.nc", "--draws", 2, *SMALL, cwd=tmp_path))
    assert run.stderr == ""
    assert_roas_table(run.stdout)
    table = summary_lines(run.stdout, "out.nc")
    assert (tmp_path / "out.nc").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.nc"]   # no temp file left
    summary = ok(simcore("summary", "out.nc", cwd=tmp_path))
    assert summary.stderr == ""
    assert summary.stdout.splitlines() == table


# --- running ----------------------------------------------------------------------------------

def test_run_default_scenario(tmp_path):
    result = ok(simcore("run", "--draws", 1, "--set", "campaign.days=1",
                        "--set", "campaign.daily_budget_usd=300",
                        "--set", "simulation.horizon_days=10", cwd=tmp_path))
    assert result.stdout.splitlines()[0].startswith("Reborn Emperor")
    assert "(1 draws," in result.stdout.splitlines()[0]
    assert_roas_table(result.stdout)
    assert "dataset written" not in result.stdout
    assert list(tmp_path.iterdir()) == []          # no -o: nothing written


def test_seed_and_draws_show_in_header(seed5):
    result, _ = seed5["a"]
    header = result.stdout.splitlines()[0]
    assert header.startswith("Brain Puzzle (US)  (2 draws, seed 5, scenario "), header
    assert "(2 draws, seed 6, " in seed5["c"][0].stdout.splitlines()[0]
    assert_roas_table(result.stdout)


def test_no_progress_bar_when_stderr_is_not_a_tty(seed5):
    for result, _ in seed5.values():
        assert result.stderr == ""


def test_same_seed_is_reproducible(seed5):
    (run_a, path_a), (run_b, path_b) = seed5["a"], seed5["b"]
    assert run_a.stdout.encode() == run_b.stdout.encode()
    a, b = open_nc(path_a), open_nc(path_b)
    np.testing.assert_array_equal(a.roas.values, b.roas.values)
    assert a.equals(b)                                 # every variable and coordinate
    assert a.attrs["scenario_hash"] == b.attrs["scenario_hash"]


def test_other_seed_differs(seed5):
    a, c = open_nc(seed5["a"][1]), open_nc(seed5["c"][1])
    assert a.roas.shape == c.roas.shape
    assert not np.array_equal(a.roas.values, c.roas.values)
    assert a.attrs["seed"] == 5 and c.attrs["seed"] == 6


def test_dataset_contents(seed5):
    ds = open_nc(seed5["a"][1])
    assert set(ds.dims) == {"draw", "cohort", "channel", "age"}
    assert dict(ds.sizes) == {"draw": 2, "cohort": 2, "channel": 7, "age": 31}
    assert list(ds.channel.values) == ["paid_ads", "creator", "search", "profile",
                                       "profile_return", "games_center", "share"]
    for name in VARIABLES:
        assert name in ds.data_vars, name
        attrs = ds[name].attrs
        for attr in ("units", "long_name"):
            assert isinstance(attrs.get(attr), str) and attrs[attr].strip(), (name, attr)
    assert ds.roas.dims == ("draw", "age")
    assert ds.spend.dims == ds.activations.dims == ("draw", "cohort")
    assert ds.payback_day.dims == ds.cpa.dims == ("draw",)
    for name in ("active_users", "sessions", "ad_impressions", "revenue_iaa", "revenue_iap",
                 "payers"):
        assert ds[name].dims == ("draw", "cohort", "age"), name
    assert np.all(ds.spend.values == 300.0)
    assert np.all(ds.activations.values > 0)
    assert np.all(np.diff(ds.roas.values, axis=1) >= 0)     # cumulative
    assert np.all(ds.revenue_iap.values == 0)               # an IAA title
    assert ds.attrs["scenario_toml"] == FAST_SCENARIO.read_text(encoding="utf-8")
    assert re.fullmatch(r"[0-9a-f]{64}", ds.attrs["scenario_hash"])
    assert ds.attrs["seed"] == 5
    assert ds.attrs["simcore_version"] == importlib.metadata.version("simcore")


# --- errors -----------------------------------------------------------------------------------

def test_summary_of_missing_file(tmp_path):
    line = one_line_error(simcore("summary", "nothere.nc", cwd=tmp_path))
    assert "nothere.nc" in line


def test_summary_of_non_netcdf_file(tmp_path):
    (tmp_path / "fake.nc").write_text("this is not NetCDF\n")
    line = one_line_error(simcore("summary", "fake.nc", cwd=tmp_path))
    assert "fake.nc" in line and "NetCDF" in line


def test_summary_of_foreign_netcdf_file(tmp_path):
    xr.Dataset({"x": ("i", np.arange(3.0))}).to_netcdf(tmp_path / "other.nc",
                                                       engine="h5netcdf")
    line = one_line_error(simcore("summary", "other.nc", cwd=tmp_path))
    assert "other.nc" in line and "simcore" in line


def test_output_into_missing_folder(tmp_path):
    line = one_line_error(simcore("run", FAST_SCENARIO, "-o", "nosuch/out.nc", "--draws", 1,
                                  *SMALL, cwd=tmp_path))
    assert "--output" in line and "nosuch" in line
    assert list(tmp_path.iterdir()) == []


def test_output_not_nc(tmp_path):
    line = one_line_error(simcore("run", FAST_SCENARIO, "-o", "out.csv", "--draws", 1, *SMALL,
                                  cwd=tmp_path))
    assert "--output" in line and ".nc" in line
    assert list(tmp_path.iterdir()) == []


def test_output_is_an_existing_directory(tmp_path):
    (tmp_path / "out.nc").mkdir()
    line = one_line_error(simcore("run", FAST_SCENARIO, "-o", "out.nc", "--draws", 1, *SMALL,
                                  cwd=tmp_path))
    assert "--output" in line and "out.nc" in line
    assert [p.name for p in tmp_path.iterdir()] == ["out.nc"]    # no temp file left
    assert (tmp_path / "out.nc").is_dir() and not any((tmp_path / "out.nc").iterdir())
