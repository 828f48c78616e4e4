"""Every budget of a grid from one simulation (``simcore.kinds.game.response``): at each
budget the response has the distribution of a separate run at that budget, the users are
nested across budgets, and creators' budgets buy videos at their expected cost.

The scenario has no uncertain assumption, so draws are independent replicates of one model
and the two samplers' draws are compared as two samples: means and variances of the
activations and of the net revenue, within 4.5 standard errors."""

from __future__ import annotations

import numpy as np
import pytest

from simcore import kinds
from simcore.errors import ScenarioError
from simcore.kinds.game.response import budget_response, nested_ok, video_cost_usd
from simcore.model.channels import CHANNELS
from simcore.scenario import load_scenario

FIXED = """
[title]
name = "Fixed (test)"
genre = "puzzle"
monetization = "hybrid"
[simulation]
seed = 5
draws = 400
horizon_days = 20
[campaign]
region = "US"
days = 3
daily_budget_usd = 100.0
bidding = "{bidding}"
{cost}
saturation_budget_usd = 400.0
saturation_shape = 1.0
daily_cost_volatility = 0.2
budget_schedule = "ramp"
ramp_start_share = 0.5
ramp_days = 2
[retention]
model = "sbg"
d1 = 0.3
d7 = 0.1
[engagement]
sessions_per_day = 3.0
sessions_shape = 2.0
[ads]
rewarded_per_session = 1.0
interstitial_per_session = 1.0
interstitial_cap_per_day = 2
fill_rate_rewarded = 0.9
fill_rate_interstitial = 0.9
ecpm_rewarded_usd = 20.0
ecpm_interstitial_usd = 10.0
developer_share = 0.7
[iap]
payer_share_d7 = 0.015
payer_share_d30 = 0.02
arppu_d30_usd = 12.0
platform_fee = 0.3
tax_rate = 0.0
refund_rate = 0.0
[creator]
videos_per_day = 2.0
views_median = 3000.0
views_p90 = 20000.0
anchor_ctr = 0.01
load_success = 0.9
first_play = 0.8
usd_per_1000_views = 4.0
"""
CPA = 'target_cpa_usd = 0.5'
CPM = 'cpm_usd = 6.0\nanchor_ctr = 0.02\nload_success = 0.9\nfirst_play = 0.7'
BUDGETS = np.array([40.0, 150.0, 600.0])
Z = 4.5


def fixed(tmp_path, bidding="target_cpa"):
    path = tmp_path / f"fixed_{bidding}.toml"
    path.write_text(FIXED.format(bidding=bidding, cost=CPA if bidding == "target_cpa" else CPM),
                    encoding="utf-8")
    return load_scenario(str(path))


def runs(loaded, budget, channel):
    """Activations [draw], spend [draw] and net revenue [draw] of ``channel`` from separate
    ``simcore run``s at ``budget`` (creators: videos a day scaled to cost ``budget``)."""
    if channel == "paid_ads":
        key = f"campaign.daily_budget_usd={budget!r}"
    else:
        cr = kinds.for_scenario(loaded).compile(loaded).creators
        key = f"creator.videos_per_day={budget / video_cost_usd(cr)!r}"
    variant = loaded.with_overrides(key)
    ds = kinds.for_scenario(variant).run(variant)
    k = CHANNELS.index(channel)
    return (ds.activations_by_channel.values[:, k].sum(axis=1),
            ds.spend_by_channel.values[:, k].sum(axis=1),
            ds.revenue_by_channel.values[:, k].sum(axis=1))


def same_distribution(a, b, what):
    """Two independent samples: equal means and variances within Z standard errors."""
    n = a.size
    se_mean = np.sqrt(a.var(ddof=1) / n + b.var(ddof=1) / n)
    assert abs(a.mean() - b.mean()) <= Z * se_mean, what
    # variance: se of a sample variance ~ sqrt((m4 - s^4) / n)
    se_var = np.sqrt(sum((((x - x.mean()) ** 4).mean() - x.var() ** 2) / n for x in (a, b)))
    assert abs(a.var(ddof=1) - b.var(ddof=1)) <= Z * se_var, what


@pytest.mark.parametrize("bidding,channel", [("target_cpa", "paid_ads"), ("cpm", "paid_ads"),
                                             ("target_cpa", "creator")])
def test_each_budget_has_the_distribution_of_its_own_run(tmp_path, bidding, channel):
    loaded = fixed(tmp_path, bidding)
    draws = np.arange(loaded.scenario.simulation.draws)
    spend, revenue = budget_response(loaded, BUDGETS, draws, 0, channel)
    for k, budget in enumerate(BUDGETS.tolist()):
        users, run_spend, run_revenue = runs(loaded, budget, channel)
        if channel == "paid_ads":      # spend is the schedule, exactly
            np.testing.assert_allclose(spend[k].sum(axis=1), run_spend, rtol=1e-12)
        else:
            same_distribution(spend[k].sum(axis=1), run_spend, f"creator spend at {budget}")
        same_distribution(revenue[k].sum(axis=(1, 2)), run_revenue, f"revenue at {budget}")
    # the users are nested: revenue never falls as the budget grows, age by age
    assert np.all(np.diff(np.cumsum(revenue, axis=3), axis=0) >= -1e-9)


def test_creator_budget_buys_videos_at_their_expected_cost(tmp_path):
    loaded = fixed(tmp_path)
    spend, _ = budget_response(loaded, BUDGETS, np.arange(400), 0, "creator")
    per_day = spend.reshape(BUDGETS.size, -1)           # [budget, draw x day]
    se = per_day.std(axis=1, ddof=1) / np.sqrt(per_day.shape[1])
    assert np.all(np.abs(per_day.mean(axis=1) - BUDGETS) <= Z * se)


def test_the_same_for_any_block_of_draws(tmp_path):
    loaded = fixed(tmp_path)
    whole = budget_response(loaded, BUDGETS, np.arange(10))
    parts = [budget_response(loaded, BUDGETS, np.arange(a, b)) for a, b in ((0, 3), (3, 10))]
    for i in range(2):
        np.testing.assert_array_equal(whole[i], np.concatenate([p[i] for p in parts], axis=1))


def test_not_nested_where_more_budget_buys_fewer_users(tmp_path):
    loaded = fixed(tmp_path).with_overrides("campaign.saturation_shape=3.0")
    assert not nested_ok(loaded, "paid_ads", np.array([100.0, 2000.0]))
    assert nested_ok(loaded, "paid_ads", np.array([10.0, 100.0]))
    assert nested_ok(fixed(tmp_path), "paid_ads", np.array([100.0, 2000.0]))


def test_creators_paid_by_revenue_share_are_refused(tmp_path):
    from simcore.kinds.game.response import check_channel

    path = tmp_path / "share.toml"
    path.write_text(FIXED.format(bidding="target_cpa", cost=CPA).replace(
        "usd_per_1000_views = 4.0", 'payment = "revenue_share"\nrevenue_share = 0.3'))
    loaded = load_scenario(str(path))
    with pytest.raises(ScenarioError) as err:
        check_channel(loaded, "creator", 100.0)
    assert err.value.key == "creator.payment"
