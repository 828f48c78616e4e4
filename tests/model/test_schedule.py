"""Budget schedules: spend by campaign day, and activations following each day's saturated
unit cost (target-CPA bidding: Poisson(budget_d / CPA(budget_d)))."""

from __future__ import annotations

import numpy as np
import pytest

import simcore
from simcore.kinds.game.plan import compile_plan
from simcore.model.acquisition import saturated_cost

SMALL = ["simulation.horizon_days=1", "campaign.daily_cost_volatility=0"]


def schedule(*overrides: str, days: int = 10):
    loaded = simcore.load_scenario("reborn_emperor_us").fixed().with_overrides(
        *SMALL, f"campaign.days={days}", "campaign.daily_budget_usd=1000", *overrides)
    return loaded, compile_plan(loaded.scenario).acquisition.budgets_usd


def test_flat_is_the_daily_budget_every_day():
    _, budgets = schedule()
    np.testing.assert_array_equal(budgets, np.full(10, 1000.0))


def test_ramp_rises_linearly_then_holds():
    _, budgets = schedule('campaign.budget_schedule="ramp"', "campaign.ramp_days=4",
                          "campaign.ramp_start_share=0.2")
    np.testing.assert_allclose(budgets, [200, 400, 600, 800] + [1000] * 6)


def test_pulse_alternates_full_and_off_share():
    _, budgets = schedule('campaign.budget_schedule="pulse"', "campaign.pulse_period_days=4",
                          "campaign.pulse_length_days=1", "campaign.pulse_off_share=0.25")
    np.testing.assert_allclose(budgets, [1000, 250, 250, 250] * 2 + [1000, 250])


def test_list_is_taken_as_given_and_lands_in_the_dataset():
    days = [500.0, 0.0, 2000.0]
    loaded, budgets = schedule('campaign.budget_schedule="list"',
                               f"campaign.daily_budgets_usd={days}", "simulation.draws=3",
                               days=3)
    np.testing.assert_array_equal(budgets, days)
    ds = simcore.run(loaded)
    np.testing.assert_array_equal(ds.spend.values, np.tile(days, (3, 1)))
    assert (ds.activations.sel(cohort=1) == 0).all()


def test_activations_follow_each_days_saturated_cost():
    """Day d: mean activations = budget_d / (cpa * (1 + budget_d / saturation)) within 5 SE."""
    draws = 200
    loaded, budgets = schedule('campaign.budget_schedule="ramp"', "campaign.ramp_days=3",
                               "campaign.ramp_start_share=0.25", f"simulation.draws={draws}",
                               "campaign.saturation_budget_usd=800", days=4)
    ds = simcore.run(loaded)
    c = loaded.scenario.campaign
    expected = budgets / saturated_cost(c.target_cpa_usd, budgets, 800.0, c.saturation_shape)
    got = ds.activations.values.astype(float)
    se = got.std(axis=0, ddof=1) / np.sqrt(draws)
    assert np.all(np.abs(got.mean(axis=0) - expected) <= 5 * se), (got.mean(axis=0), expected)
    # saturation: a dollar buys fewer users on the bigger days
    per_dollar = expected / budgets
    assert np.all(np.diff(per_dollar) < 0)


@pytest.mark.parametrize("overrides, message", [
    (['campaign.budget_schedule="list"', "campaign.daily_budgets_usd=[100.0]"],
     "give one per campaign day"),
    (['campaign.budget_schedule="pulse"', "campaign.pulse_period_days=3",
      "campaign.pulse_length_days=3", "campaign.pulse_off_share=0"], "must be shorter"),
    (['campaign.budget_schedule="ramp"', "campaign.ramp_start_share=0.5"], "missing"),
    (["campaign.ramp_days=3"], "only used with campaign.budget_schedule = 'ramp'"),
])
def test_bad_schedules_name_the_key(overrides, message):
    with pytest.raises(simcore.ScenarioError, match=message) as err:
        schedule(*overrides)
    assert "campaign." in str(err.value) and "\n" not in str(err.value)
