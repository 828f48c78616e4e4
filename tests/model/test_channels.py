"""Creator and organic channels: arrivals follow their models, organic users cost nothing,
and paid-only figures count exactly the channels that cost money."""

from __future__ import annotations

import math

import numpy as np
import pytest

import simcore

BASE = ["simulation.horizon_days=10", "campaign.days=4", "campaign.daily_budget_usd=200",
        "campaign.daily_cost_volatility=0"]
CREATOR = ["creator.videos_per_day=6.0", "creator.views_median=2000.0",
           "creator.views_p90=8000.0", "creator.anchor_ctr=0.02", "creator.load_success=0.9",
           "creator.first_play=0.8", "creator.usd_per_1000_views=5.0"]


def run(*extra: str, draws: int = 200):
    loaded = simcore.load_scenario("reborn_emperor_us").fixed().with_overrides(
        *BASE, f"simulation.draws={draws}", *extra)
    return simcore.run(loaded)


def assert_mean(values: np.ndarray, expected: float) -> None:
    values = np.asarray(values, dtype=float).ravel()
    se = values.std(ddof=1) / math.sqrt(values.size)
    assert abs(values.mean() - expected) <= 5 * se, (values.mean(), expected, se)


def test_creator_views_activations_and_payments_follow_the_model():
    ds = run(*CREATOR)
    sigma = math.log(8000 / 2000) / 1.2815515655446004
    views_per_day = 6.0 * 2000 * math.exp(sigma**2 / 2)      # lognormal mean x videos
    creator = ds.activations_by_channel.sel(channel="creator").values
    assert_mean(creator, views_per_day * 0.02 * 0.9 * 0.8)
    spend = ds.spend_by_channel.sel(channel="creator").values
    assert_mean(spend, views_per_day * 5.0 / 1000)
    # paid-only figures count paid ads and creators, the channels that cost money
    paid = ds.activations_by_channel.sel(channel=["paid_ads", "creator"]).sum(
        ("channel", "cohort"))
    np.testing.assert_allclose(ds.cpa, ds.spend.sum("cohort") / paid)
    np.testing.assert_allclose(ds.spend, ds.spend_by_channel.sum("channel"))
    np.testing.assert_allclose(ds.roas_paid, ds.roas)      # no unpaid channel here


def test_search_and_profile_bring_their_rates_and_cost_nothing():
    ds = run("organic.search_per_day=30.0", "organic.profile_per_day=12.0", "organic.days=6",
             draws=100)
    assert ds.sizes["cohort"] == 6                          # organic days beyond the campaign
    assert_mean(ds.activations_by_channel.sel(channel="search").values, 30.0)
    assert_mean(ds.activations_by_channel.sel(channel="profile").values, 12.0)
    unpaid = ["search", "profile"]
    assert (ds.spend_by_channel.sel(channel=unpaid) == 0).all()
    assert (ds.roas_paid <= ds.roas).all() and (ds.roas_paid < ds.roas).any()


def test_games_center_follows_the_last_seven_days_of_activations():
    """Given what each draw's previous 7 days brought, arrivals are Poisson with mean
    scale * (recent / 1000) ** exponent: the standardised total is within 5."""
    ds = run("organic.games_center_scale=40.0", "organic.games_center_exponent=0.6",
             "organic.days=12", draws=60)
    acts = ds.activations_by_channel.transpose("draw", "channel", "cohort").values
    center = list(ds.channel.values).index("games_center")
    got, mean = 0.0, 0.0
    for day in range(12):
        recent = acts[:, :, max(day - 7, 0):day].sum(axis=(1, 2))
        lam = 40.0 * (recent / 1000.0) ** 0.6
        got += acts[:, center, day].sum()
        mean += lam.sum()
    assert abs(got - mean) <= 5 * math.sqrt(mean), (got, mean)
    assert (acts[:, center, 0] == 0).all()                  # nothing seen yet on day 0


def test_bad_creator_input_names_the_key():
    import pytest

    with pytest.raises(simcore.ScenarioError, match="creator.views_p90"):
        run(*CREATOR, "creator.views_p90=1000.0")


QUALITY = ["quality.creator.retention=1.3", "quality.creator.engagement=1.5"]


def test_channel_quality_changes_only_that_channels_users():
    """Creator users with retention x1.3 and sessions x1.5: their active users follow the
    creator plan's fitted retention, their sessions per active day are 1.5x, and paid-ad
    users are bit-identical to a run without [quality]."""
    from simcore.kinds.game.plan import compile_plan
    from simcore.model.retention import active_share

    plain = run(*CREATOR, draws=60)
    loaded = simcore.load_scenario("reborn_emperor_us").fixed().with_overrides(
        *BASE, "simulation.draws=60", *CREATOR, *QUALITY)
    better = simcore.run(loaded)
    np.testing.assert_array_equal(plain.revenue_by_channel.sel(channel="paid_ads"),
                                  better.revenue_by_channel.sel(channel="paid_ads"))
    np.testing.assert_array_equal(plain.activations_by_channel, better.activations_by_channel)
    plan = compile_plan(loaded.scenario)
    creator = plan.for_channel("creator")
    r = creator.retention
    assert r.targets == tuple(1.3 * t for t in plan.retention.targets)
    # expected creator users active at each age, given each draw's creator cohorts
    users = better.activations_by_channel.sel(channel="creator").sum("cohort").values
    share = active_share(np.arange(11), r.alpha, r.beta, r.c, r.play_probability)
    # only cohorts old enough count at each age: the run's horizon is per cohort, so all do
    paid_users = better.activations_by_channel.sel(channel="paid_ads").sum("cohort").values
    paid_plan = plan.retention
    paid_share = active_share(np.arange(11), paid_plan.alpha, paid_plan.beta, paid_plan.c,
                              paid_plan.play_probability)
    active = better.active_users.sum("cohort").values                 # all channels
    expected = users[:, None] * share + paid_users[:, None] * paid_share
    resid = (active - expected).sum(axis=0)
    se = np.sqrt(((active - expected) ** 2).sum(axis=0))
    assert np.all(np.abs(resid[1:]) <= 5 * se[1:]), (resid, se)
    assert creator.params[4] + 1 == pytest.approx(1.5 * (plan.params[4] + 1))  # sessions


def test_quality_on_retention_parameters_is_refused():
    from simcore.kinds.game.plan import compile_plan
    from simcore.scenario import scenario_from_text
    from tests.cli.test_bad_input import BASE as TINY
    from tests.cli.test_bad_input import render

    text = render(TINY) + "[quality.creator]\nretention = 1.2\n"
    with pytest.raises(simcore.ScenarioError, match="quality.creator.retention: needs "
                                                    "retention targets"):
        compile_plan(scenario_from_text(text).scenario)


def test_break_even_cpa_counts_free_users_revenue_per_paid_user():
    """With search users, ROAS = (revenue / paid activations) / CPA still holds on both bases,
    and the break-even CPA at P = 1 is the smallest such revenue per paid user over draws:
    the paid users' revenue for ROAS on UA (the default), everyone's when blended."""
    from simcore.analysis import break_even_cpa

    ds = run("organic.search_per_day=300.0", draws=20)
    blended = (ds.roas.sel(age=7) * ds.cpa).values
    paid = (ds.roas_paid.sel(age=7) * ds.cpa).values
    assert break_even_cpa(ds, 7, 1.0, 1.0, "blended") == pytest.approx(blended.min(), rel=1e-12)
    assert break_even_cpa(ds, 7, 1.0, 1.0) == pytest.approx(paid.min(), rel=1e-12)
    assert paid.min() < blended.min()


def test_run_shape_keys_cannot_be_uncertain():
    with pytest.raises(simcore.ScenarioError, match="organic.days: cannot be uncertain"):
        simcore.load_scenario("reborn_emperor_us", [
            "organic.search_per_day=10.0", 'organic.days={dist="choice", values=[5, 12]}'])


REVENUE_SHARE = [c for c in CREATOR if "usd_per_1000" not in c] + [
    'creator.payment="revenue_share"', "creator.revenue_share=0.3"]


def test_creators_paid_a_share_of_their_users_revenue_as_it_is_earned():
    from simcore.analysis import calendar, net_profit

    ds = run(*REVENUE_SHARE, draws=5)
    creator_revenue = ds.revenue_by_channel.sel(channel="creator")
    cost = ds.spend_revenue_share.sum("cohort")
    np.testing.assert_allclose(cost, 0.3 * creator_revenue, rtol=1e-12)
    np.testing.assert_allclose(ds.spend_by_channel.sel(channel="creator").sum("cohort"),
                               cost.sum("age"), rtol=1e-12)
    # ROAS at age d: revenue through d / (spend paid up front + the share earned through d)
    upfront = ds.spend.sum("cohort") - cost.sum("age")
    revenue = (ds.revenue_iaa + ds.revenue_iap).sum("cohort").cumsum("age")
    np.testing.assert_allclose(ds.roas, revenue / (upfront + cost.cumsum("age")), rtol=1e-12)
    np.testing.assert_allclose(net_profit(ds), revenue.isel(age=-1) - ds.spend.sum("cohort"))
    cal = calendar(ds)
    np.testing.assert_allclose(cal.spend.sum("day"), ds.spend.sum("cohort"), rtol=1e-12)
    np.testing.assert_allclose(cal.cumulative_profit.isel(day=-1), net_profit(ds))


def test_creator_payment_keys_follow_the_payment_mode():
    with pytest.raises(simcore.ScenarioError, match="creator.revenue_share: missing"):
        run(*[c for c in CREATOR if "usd_per_1000" not in c], 'creator.payment="revenue_share"')
    with pytest.raises(simcore.ScenarioError, match="creator.usd_per_1000_views: only used"):
        run(*REVENUE_SHARE, "creator.usd_per_1000_views=2.0")


def test_lapsed_users_come_back_through_the_profile_entrance():
    """Given each draw's cohorts, returns on day t are Poisson with mean q * lapsed(t - 1),
    lapsed = users activated so far - expected survivors: the standardised total is within 5."""
    from simcore.kinds.game.plan import compile_plan

    loaded = simcore.load_scenario("reborn_emperor_us").fixed().with_overrides(
        *BASE, "simulation.draws=60", "organic.profile_return_probability=0.02",
        "organic.days=12")
    ds = simcore.run(loaded)
    surv = compile_plan(loaded.scenario).survival
    acts = ds.activations_by_channel.transpose("draw", "channel", "cohort").values
    back = list(ds.channel.values).index("profile_return")
    got = mean = 0.0
    for day in range(1, 12):
        users = acts[:, :, :day].sum(axis=1)                       # [draw, cohort < day]
        alive = (users * surv[day - 1 - np.arange(day)]).sum(axis=1)
        lam = 0.02 * (users.sum(axis=1) - alive)
        got += acts[:, back, day].sum()
        mean += lam.sum()
    assert mean > 100
    assert abs(got - mean) <= 5 * math.sqrt(mean), (got, mean)
    assert (ds.spend_by_channel.sel(channel="profile_return") == 0).all()
