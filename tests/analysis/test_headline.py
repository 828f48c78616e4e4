"""The headline is what the money buys (ROAS on UA), judged at the title's own goal."""

from __future__ import annotations

import numpy as np
import pytest

import simcore
from simcore import analysis
from simcore.errors import ScenarioError
from simcore.studies.budget_scan import grid_edge, scale
from simcore.text.summary import format_summary, summarize

BASE = ["simulation.draws=12", "campaign.days=3", "simulation.horizon_days=30",
        "campaign.daily_budget_usd=500"]


@pytest.fixture(scope="module")
def runs():
    """The same scenario with and without organic users, on the same streams."""
    paid_only = simcore.load_scenario("reborn_emperor_us", BASE)
    with_organic = paid_only.with_overrides("organic.search_per_day=400.0",
                                            "organic.profile_per_day=200.0")
    return simcore.run(paid_only), simcore.run(with_organic)


def test_roas_on_ua_equals_a_run_without_organic_users(runs):
    plain, organic = runs
    assert analysis.has_unpaid_users(organic) and not analysis.has_unpaid_users(plain)
    np.testing.assert_array_equal(organic.roas_paid.values, plain.roas.values)
    a, b = summarize(organic, day=7), summarize(plain, day=7)
    assert a.roas == b.roas and a.payback == b.payback
    assert a.break_even_cpa == b.break_even_cpa and a.profit == b.profit
    assert a.drivers == b.drivers


def test_blended_is_beside_the_headline_and_a_flag_away(runs):
    _, organic = runs
    paid, blended = summarize(organic, day=7), summarize(organic, day=7, basis="blended")
    assert blended.roas[7]["p50"] > paid.roas[7]["p50"]
    assert paid.blended[7]["p50"] == pytest.approx(blended.roas[7]["p50"])
    assert blended.break_even_cpa[0.5] > paid.break_even_cpa[0.5]
    text = format_summary(paid)
    assert "ROAS on UA" in text and "blended p50" in text
    assert "blended ROAS" in format_summary(blended)


def test_ltv_and_its_cpa_line_share_the_denominator(runs):
    """ROAS on UA = LTV per paid activation / realised CPA, draw by draw."""
    _, organic = runs
    ltv = analysis.ltv_per_activation(organic).sel(age=30)
    np.testing.assert_allclose(ltv / organic.cpa, organic.roas_paid.sel(age=30), rtol=1e-12)


def test_drivers_are_labelled_by_kind(runs):
    _, organic = runs
    d = analysis.drivers(organic, age=7)
    kinds = dict(zip(d.parameter.values, d.kind.values))
    assert kinds["campaign.target_cpa_usd"] == "UA lever"
    assert kinds["ads.ecpm_rewarded_usd"] == "title"
    assert analysis.driver_kind("organic.search_per_day") == "organic (not bought)"


def test_the_goal_sets_the_day_and_target():
    loaded = simcore.load_scenario("reborn_emperor_us", BASE + ["goal.age=7", "goal.roas=0.5"])
    ds = simcore.run(loaded)
    s = summarize(ds)
    assert (s.day, s.target) == (7, 0.5)
    assert "(ROAS D7 >= 0.5)" in format_summary(s)
    assert summarize(ds, day=3, target=2.0).day == 3
    no_goal = summarize(simcore.run(simcore.load_scenario("reborn_emperor_us", BASE)))
    assert (no_goal.day, no_goal.target) == (30, 1.0)       # payback by the horizon


def test_a_goal_beyond_the_horizon_is_refused():
    with pytest.raises(ScenarioError, match="goal.age: = 60: beyond the horizon"):
        simcore.load_scenario("reborn_emperor_us", BASE + ["goal.age=60"])


def test_scale_says_when_the_best_budget_is_at_the_edge():
    loaded = simcore.load_scenario("reborn_emperor_us", BASE)
    ds = scale(loaded, [250, 500, 1000], age=30)
    assert float(ds.attrs["best_budget_usd"]) == 1000       # profitable: more is better
    note = grid_edge(ds)
    assert "largest budget tried" in note and "--budgets 1000,2000,4000,8000" in note
    inside = ds.copy()
    inside.attrs["best_budget_usd"] = 500.0
    assert grid_edge(inside) == ""
