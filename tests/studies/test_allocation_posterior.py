"""Allocation on a calibrated forecast (``optimize --from``): the posterior's particles move
to every market by quantile, the calibrated scenario gets them back unchanged, and the CLI
runs the loop test campaign -> calibrate -> allocate."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

import simcore
from simcore.data.observed import from_run
from simcore.errors import ScenarioError
from simcore.scenario import load_scenario
from simcore.studies.allocation.cells import cells_of
from simcore.studies.allocation.posterior import read_posterior
from tests.cli_helpers import ok
from tests.cli_helpers import simcore as cli

US = "scenarios/reborn_emperor_us.toml"
SMALL = ("campaign.daily_budget_usd=500", "campaign.days=7", "simulation.horizon_days=90")


@pytest.fixture(scope="module")
def forecast(tmp_path_factory):
    """A forecast calibrated on 4 days of a simulated US test campaign."""
    truth = simcore.run(load_scenario(US, (*SMALL, "simulation.draws=1", "simulation.seed=9")))
    loaded = load_scenario(US, SMALL)
    ds = simcore.calibrate(loaded, from_run(truth, 0, 4), particles=200, draws=4)
    path = tmp_path_factory.mktemp("forecast") / "forecast.nc"
    ds.to_netcdf(path)
    return path


def test_the_calibrated_scenario_gets_the_particles_back(forecast):
    loaded = load_scenario(US, (*SMALL, "simulation.draws=400"))
    post = read_posterior(forecast, loaded)
    _, values = post.condition(loaded, 7).draw_scenarios()
    with xr.open_dataset(forecast) as ds:
        for key in post.keys:
            particles = np.sort(np.unique(ds[f"posterior_{key}"].values))
            got = values[key]
            # every draw is one of the particles (to the CDF's interpolation)
            near = particles[np.clip(np.searchsorted(particles, got), 0, particles.size - 1)]
            below = particles[np.clip(np.searchsorted(particles, got) - 1, 0, None)]
            err = np.minimum(np.abs(near - got), np.abs(below - got))
            assert np.all(err <= 1e-4 * np.abs(got) + 1e-9), key


def test_markets_take_the_same_quantile(forecast):
    """In the global scenario each market's distribution is the US one moved to its region;
    a draw's quantile is the same in every market, and the US market's values are the
    forecast's particles. The posterior is narrower than the prior."""
    from scipy.stats import rankdata

    loaded = load_scenario("reborn_emperor_global", ["simulation.draws=300"])
    post = read_posterior(forecast, loaded)
    cells = cells_of(loaded)
    by_region = {c.region: post.condition(c.loaded, 3).draw_scenarios()[1] for c in cells}
    prior = {c.region: c.loaded.draw_scenarios()[1] for c in cells}
    key = "retention.d1"
    assert key in post.keys
    ranks = {r: rankdata(v[key]) for r, v in by_region.items()}
    for region in by_region:
        np.testing.assert_array_equal(ranks[region], ranks["US"])
        assert np.std(by_region[region][key]) < 0.8 * np.std(prior[region][key])


def test_optimize_from_a_forecast_through_the_cli(forecast, tmp_path):
    out = tmp_path / "alloc.nc"
    result = ok(cli("optimize", "reborn_emperor_global", "--from", forecast, "--total-budget",
                    "2000", "--draws", "10", "--set", "simulation.horizon_days=30",
                    "--set", "campaign.days=3", "--set", "organic.days=2",
                    "--grid-points", "3", "--no-progress", "-o", out))
    assert f"on the posterior of {forecast} (Reborn Emperor (US), " in result.stdout
    assert "learned but fixed in this scenario, so not used: retention.d90" in result.stdout
    with xr.open_dataset(out) as ds:
        assert ds.attrs["forecast"] == str(forecast)
        assert "retention.d1" in ds.attrs["forecast_keys"]


def test_a_run_is_not_a_forecast(tmp_path):
    run = tmp_path / "run.nc"
    loaded = load_scenario(US, (*SMALL, "simulation.draws=2"))
    simcore.run(loaded).to_netcdf(run)
    with pytest.raises(ScenarioError) as err:
        read_posterior(run, loaded)
    assert err.value.key == "--from" and "not a calibrated forecast" in err.value.message


def test_learned_assumptions_the_scenario_fixes_are_listed(forecast):
    loaded = load_scenario(US, (*SMALL, "retention.d1=0.3"))
    post = read_posterior(forecast, loaded)
    assert post.dropped == ("retention.d1",) and "retention.d1" not in post.keys
    fixed = loaded.fixed()
    assert not fixed.uncertainty.parameters
    with pytest.raises(ScenarioError) as err:
        read_posterior(forecast, fixed)
    assert err.value.key == "--from" and "all of which" in err.value.message


def test_a_missing_forecast_is_one_line_naming_from(tmp_path):
    loaded = load_scenario(US, SMALL)
    for path in (tmp_path / "none.nc", tmp_path / "text.nc"):
        if path.name == "text.nc":
            path.write_text("not a dataset")
        with pytest.raises(ScenarioError) as err:
            read_posterior(path, loaded)
        assert err.value.key == "--from" and str(path) in err.value.message


def test_a_forecast_of_another_kind_is_refused_and_its_title_shown(forecast):
    """A game's posterior cannot move a drama's assumptions; another game's is used as the
    user asks, with its title printed beside the allocation."""
    with pytest.raises(ScenarioError) as err:
        read_posterior(forecast, load_scenario("drama_paywall_us"))
    assert err.value.key == "--from" and "a forecast of a game (Reborn Emperor (US)), not " \
        "of a drama" in err.value.message
    post = read_posterior(forecast, load_scenario("reborn_emperor_global"))
    assert post.title == "Reborn Emperor (US)"
