"""Grid sweeps: parsing, one dimension per key, each point equal to a run at that point's
streams, shared draws of the uncertain parameters, and the CLI."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import simcore
from simcore.engine.run import run
from simcore.errors import ScenarioError
from simcore.studies.sweeps import parse_grid, sweep

SMALL = ["simulation.draws=3", "campaign.days=2", "simulation.horizon_days=14",
         "campaign.daily_budget_usd=300"]


def test_parse_grid_lists_ranges_and_log_ranges():
    key, values = parse_grid("campaign.daily_budget_usd=1000,5000,10000")
    assert key == "campaign.daily_budget_usd"
    np.testing.assert_array_equal(values, [1000, 5000, 10000])
    np.testing.assert_allclose(parse_grid("ads.ecpm_rewarded_usd=8:20:7")[1],
                               [8, 10, 12, 14, 16, 18, 20])
    np.testing.assert_allclose(parse_grid("campaign.daily_budget_usd=1000:100000:3:log")[1],
                               [1000, 10000, 100000])


@pytest.mark.parametrize("text, message", [
    ("campaign.daily_budget_usd", "KEY=v1,v2"),
    ("campaign.daily_budget_usd=1,x", "must be numbers"),
    ("campaign.daily_budget_usd=5:5:3", "a != b"),
    ("campaign.daily_budget_usd=-1:10:3:log", "a, b > 0"),
    ("campaign.daily_budget_usd=1,1", "repeat"),
    ("simulation.draws=1,2", "cannot be swept"),
])
def test_bad_grids_are_one_line_errors(text, message):
    with pytest.raises(ScenarioError, match=message) as err:
        parse_grid(text)
    assert str(err.value).startswith("--grid") and "\n" not in str(err.value)


def test_each_point_is_a_run_on_its_own_streams_with_shared_parameter_draws():
    loaded = simcore.load_scenario("reborn_emperor_us", SMALL)
    grid = {"campaign.daily_budget_usd": [300.0, 600.0], "campaign.days": [1.0, 2.0]}
    assert simcore.sweep is sweep           # the public API name
    ds = sweep(loaded, grid)
    assert ds.roas.dims == ("campaign.daily_budget_usd", "campaign.days", "draw", "age")
    assert ds.payback_day.dims == ("campaign.daily_budget_usd", "campaign.days", "draw")
    np.testing.assert_array_equal(ds["campaign.days"].values, [1, 2])
    # point (600, 1) has flat index 2: the same as a run at that point
    direct = run(loaded.with_overrides("campaign.daily_budget_usd=600.0", "campaign.days=1"),
                 point=2)
    at = {"campaign.daily_budget_usd": 600.0, "campaign.days": 1}
    np.testing.assert_array_equal(ds.roas.sel(at).values, direct.roas.values)
    np.testing.assert_array_equal(ds.cpa.sel(at).values, direct.cpa.values)
    # the uncertain parameters are one set of draws for every point
    np.testing.assert_array_equal(ds["param_ads.developer_share"].values,
                                  direct["param_ads.developer_share"].values)
    # but users differ between points: not the same streams
    a = ds.roas.sel({"campaign.daily_budget_usd": 300.0, "campaign.days": 1})
    assert not np.array_equal(a.values, ds.roas.sel(at).values)


def test_integer_keys_refuse_fractions():
    loaded = simcore.load_scenario("reborn_emperor_us", SMALL)
    with pytest.raises(ScenarioError, match="whole numbers"):
        sweep(loaded, {"campaign.days": [1.5, 2.0]})


def test_cli_sweep_prints_the_grid_and_writes_the_dataset(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "simcore", "sweep", "reborn_emperor_us", "--draws", "2",
         "--set", "campaign.days=1", "--set", "simulation.horizon_days=10",
         "--set", "campaign.daily_budget_usd=200", "--grid", "ads.ecpm_rewarded_usd=10,20",
         "-o", "sweep.nc"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "ecpm_rewarded_usd" in lines[2] and len(lines) >= 5
    ds = simcore.data.dataset.open_dataset(tmp_path / "sweep.nc")
    np.testing.assert_array_equal(ds["ads.ecpm_rewarded_usd"].values, [10.0, 20.0])
    assert (ds.roas.sel({"ads.ecpm_rewarded_usd": 20.0}) >
            ds.roas.sel({"ads.ecpm_rewarded_usd": 10.0})).all()
    bad = subprocess.run([sys.executable, "-m", "simcore", "sweep", "--grid", "x=1",
                          "-o", "bad.nc"], cwd=tmp_path, capture_output=True, text=True,
                         timeout=300)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "--grid" in bad.stderr
    assert not (tmp_path / "bad.nc").exists()
