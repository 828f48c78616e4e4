"""Multi-market runs: markets add up to the totals, each market is its scenario moved to its
region's levels, markets share each draw's uncertain parameters, bad markets are refused."""

from __future__ import annotations

import numpy as np
import pytest

import simcore
from simcore.analysis import revenue_of
from simcore.engine.markets import market_scenarios
from simcore.scenario.regions import REGION_LEVELS

SMALL = ["simulation.draws=3", "campaign.days=3", "campaign.daily_budget_usd=1000",
         "simulation.horizon_days=10"]
THREE = ('markets=[{region="US", budget_share=0.6}, {region="JP", budget_share=0.3}, '
         '{region="BR", budget_share=0.1, set={"retention.d1"=0.28}}]')


def loaded(*extra: str, name: str = "reborn_emperor_us"):
    return simcore.load_scenario(name, SMALL + list(extra))


def test_one_market_in_the_home_region_is_the_plain_run():
    plain = simcore.run(loaded())
    one = simcore.run(loaded('markets=[{region="US", budget_share=1.0}]'))
    for name in plain.data_vars:
        np.testing.assert_array_equal(plain[name].values, one[name].values, err_msg=name)
    assert list(one.region.values) == ["US"]


def test_markets_add_up_to_the_totals():
    ds = simcore.run(loaded(THREE))
    assert list(ds.region.values) == ["US", "JP", "BR"]
    np.testing.assert_allclose(ds.spend_by_region.sum("region"), ds.spend)
    np.testing.assert_array_equal(ds.activations_by_region.sum("region"), ds.activations)
    revenue = (ds.revenue_iaa + ds.revenue_iap).sum("cohort")
    np.testing.assert_allclose(ds.revenue_by_region.sum("region"), revenue)
    np.testing.assert_allclose(ds.roas, revenue.cumsum("age") / ds.spend.sum("cohort"))
    np.testing.assert_allclose(ds.spend_by_region.sum(("draw", "cohort")) / (3 * 3 * 1000),
                               [0.6, 0.3, 0.1])
    # each market's ROAS is its own revenue over its own spend
    np.testing.assert_allclose(ds.roas_by_region, ds.revenue_by_region.cumsum("age")
                               / ds.spend_by_region.sum("cohort"))
    # on UA, the markets' paid users add up to the run's
    np.testing.assert_allclose(ds.revenue_by_region_paid.sum("region"),
                               revenue_of(ds, "paid").transpose("draw", "age"))


def test_a_markets_revenue_on_ua_leaves_out_its_free_users():
    ds = simcore.run(simcore.load_scenario("reborn_emperor_global", [
        "simulation.draws=2", "campaign.days=3", "simulation.horizon_days=20"]))
    paid, every = ds.revenue_by_region_paid, ds.revenue_by_region
    assert (paid <= every + 1e-9).all() and float(paid.sum()) < float(every.sum())


def test_each_market_moves_to_its_regions_levels():
    base = loaded(THREE).fixed()
    us, jp, br = market_scenarios(base)
    s = base.scenario
    assert us.scenario.campaign.target_cpa_usd == s.campaign.target_cpa_usd
    assert jp.scenario.campaign.region == "JP"
    assert jp.scenario.campaign.daily_budget_usd == pytest.approx(300.0)
    assert jp.scenario.campaign.target_cpa_usd == pytest.approx(
        s.campaign.target_cpa_usd * REGION_LEVELS["JP"].cost_index)
    assert br.scenario.ads.ecpm_rewarded_usd == pytest.approx(
        s.ads.ecpm_rewarded_usd * REGION_LEVELS["BR"].ecpm_index)
    assert br.scenario.retention.d1 == 0.28                        # the market's own set
    # a hybrid title from Japan: purchase values and tax move to the US
    jp_home = simcore.load_scenario("backpack_battle_jp", SMALL + [
        'markets=[{region="JP", budget_share=0.5}, {region="US", budget_share=0.5}]']).fixed()
    home, us_market = market_scenarios(jp_home)
    assert home.scenario.iap == jp_home.scenario.iap
    assert us_market.scenario.iap.arppu_d30_usd == pytest.approx(
        jp_home.scenario.iap.arppu_d30_usd / REGION_LEVELS["JP"].price_index)
    assert us_market.scenario.iap.tax_rate == 0.0


def test_markets_share_each_draws_uncertain_parameters():
    markets = market_scenarios(loaded(THREE))
    seed = markets[0].scenario.simulation.seed
    samples = [m.uncertainty.sample(seed, np.arange(20)) for m in markets]
    for other in samples[1:]:
        np.testing.assert_array_equal(samples[0]["ads.developer_share"],
                                      other["ads.developer_share"])
    ratio = samples[1]["campaign.target_cpa_usd"] / samples[0]["campaign.target_cpa_usd"]
    np.testing.assert_allclose(ratio, REGION_LEVELS["JP"].cost_index)


@pytest.mark.parametrize("markets, key, message", [
    ('[{region="US", budget_share=0.6}, {region="JP", budget_share=0.3}]', "markets",
     "sum to 1"),
    ('[{region="XX", budget_share=1.0}]', "markets.0.region", "valid values"),
    ('[{region="US", budget_share=0.5}, {region="US", budget_share=0.5}]', "markets.1.region",
     "twice"),
    ('[{region="US", budget_share=1.0, set={"campaign.days"=5}}]', "markets.0.set",
     "every market"),
    ('[{region="JP", budget_share=1.0, set={"ads.ecpm_rewarded"=5.0}}]', "markets.0 (JP)",
     "did you mean 'ads.ecpm_rewarded_usd'"),
])
def test_bad_markets_are_one_line_errors(markets, key, message):
    with pytest.raises(simcore.ScenarioError) as err:
        scenario = loaded(f"markets={markets}")
        simcore.run(scenario)
    text = str(err.value)
    assert key in text and message in text and "\n" not in text, text


def test_summary_and_report_show_each_market():
    from simcore.text.report import build_report

    ds = simcore.run(loaded(THREE))
    s = simcore.summarize(ds, day=3)
    assert [m[0] for m in s.markets] == ["US", "JP", "BR"]
    assert sum(m[1] for m in s.markets) == pytest.approx(1.0)
    text = simcore.format_summary(s)
    us = next(line for line in text.splitlines() if line.startswith("US "))
    assert f"{float(ds.roas_by_region.sel(region='US', age=3).median()):.3f}" in us
    assert "Markets (each on its own spend and users)" in build_report(ds, day=3)


@pytest.mark.parametrize("name", sorted(simcore.scenario.packaged_scenarios()))
def test_every_packaged_scenario_validates_and_runs_small(name):
    """Scenario files run as they are (here two draws of a short, cheap campaign)."""
    scenario = simcore.load_scenario(name, ["simulation.draws=2", "campaign.days=2",
                                            "simulation.horizon_days=14"])
    scenario = scenario.with_overrides(
        f"campaign.daily_budget_usd={min(scenario.scenario.campaign.daily_budget_usd, 300.0)}")
    ds = simcore.run(scenario)
    assert np.isfinite(ds.roas.values).all() and (ds.activations.sum("cohort") > 0).all()


def test_markets_split_the_budget_draws_and_the_shared_traffic():
    scenario = loaded(THREE, 'campaign.daily_budget_usd={dist="uniform", low=500.0, '
                             'high=1500.0}', "organic.search_per_day=100.0",
                      "creator.videos_per_day=10.0", "creator.views_median=1000.0",
                      "creator.views_p90=3000.0", "creator.anchor_ctr=0.01",
                      "creator.load_success=0.9", "creator.first_play=0.8",
                      "creator.usd_per_1000_views=1.0")
    us, jp, br = market_scenarios(scenario)
    assert jp.scenario.organic.search_per_day == pytest.approx(30.0)
    assert br.scenario.creator.videos_per_day == pytest.approx(1.0)
    ds = simcore.run(scenario)
    paid = ds.spend_by_channel.sel(channel="paid_ads").sum("cohort")
    budget = ds["param_campaign.daily_budget_usd"]
    np.testing.assert_allclose(paid, budget * 3, rtol=1e-12)   # 3 days, each draw's budget
