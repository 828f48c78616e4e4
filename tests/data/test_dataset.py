"""The assembled dataset: identities between variables, units, campaign delivery, atomic write."""

import numpy as np
import pytest

import simcore
from simcore.data.dataset import open_dataset, write_dataset
from simcore.kinds.game.plan import compile_plan

SMALL = ["simulation.draws=6", "campaign.days=3", "campaign.daily_budget_usd=400",
         "simulation.horizon_days=45"]


@pytest.fixture(scope="module")
def hybrid():
    loaded = simcore.load_scenario("backpack_battle_jp", SMALL)
    return loaded, simcore.run(loaded)


def test_roas_payback_cpa_identities(hybrid):
    _, ds = hybrid
    revenue = (ds.revenue_iaa + ds.revenue_iap).sum("cohort").cumsum("age")
    np.testing.assert_allclose(ds.roas, revenue / ds.spend.sum("cohort"), rtol=1e-12)
    for d in range(ds.sizes["draw"]):
        roas = ds.roas.isel(draw=d).values
        paid = np.nonzero(roas >= 1.0)[0]
        expected = paid[0] if paid.size else np.nan
        np.testing.assert_equal(ds.payback_day.values[d], expected)
    np.testing.assert_allclose(ds.cpa, ds.spend.sum("cohort") / ds.activations.sum("cohort"))
    # every activated user is active on day 0; ads and revenue are non-negative
    np.testing.assert_array_equal(ds.active_users.isel(age=0), ds.activations)
    assert (ds.revenue_iap >= 0).all() and (ds.revenue_iaa > 0).any()
    assert (ds.payers.sum("age") <= ds.activations).all()


def test_every_variable_has_units_and_long_name(hybrid):
    _, ds = hybrid
    assert dict(ds.sizes) == {"draw": 6, "cohort": 3, "channel": 7, "age": 46}
    for name, var in ds.variables.items():
        if name not in ("draw", "channel"):  # labels, not quantities
            assert var.attrs.get("units"), name
        assert var.attrs.get("long_name"), name
    for key in ("scenario_toml", "scenario_json", "scenario_hash", "seed", "simcore_version"):
        assert key in ds.attrs


def test_round_trip_and_atomic_write(hybrid, tmp_path):
    loaded, ds = hybrid
    path = write_dataset(ds, tmp_path / "run.nc")
    back = open_dataset(path)
    for name in ds.data_vars:
        np.testing.assert_array_equal(back[name].values, ds[name].values)
    assert back.attrs["scenario_hash"] == loaded.hash
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.nc"]  # no temp file left
    # a failed write leaves neither a partial file nor a temp file
    with pytest.raises(Exception):
        write_dataset(ds.assign_attrs(bad=object()), tmp_path / "bad.nc")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run.nc"]


@pytest.mark.parametrize("scenario", ["reborn_emperor_us", "brain_puzzle_us"])
def test_activations_per_day_match_the_cost_model(scenario):
    """Target-CPA: Poisson(budget / CPA); CPM: Binomial(impressions, funnel) (lognormal
    daily cost, mean-one, so E[activations] = E[budget / cost] = mean * exp(sigma^2))."""
    loaded = simcore.load_scenario(scenario, ["simulation.draws=40", "campaign.days=5",
                                              "campaign.daily_budget_usd=200",
                                              "simulation.horizon_days=1"]).fixed()
    ds = simcore.run(loaded)
    acq = compile_plan(loaded.scenario).acquisition
    per_day = ds.activations.values.ravel().astype(float)
    expected = acq.expected_activations().mean() * np.exp(acq.cost_volatility**2)  # flat
    se = per_day.std(ddof=1) / np.sqrt(per_day.size)
    assert abs(per_day.mean() - expected) <= 5 * se
