"""The drama model against closed forms and identities (fixed seeds, 5-sigma tolerances from
independent replicates), and its reproducibility."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import simcore
from simcore.kernel import drama_layout as D
from simcore.kinds.drama.funnel import episode_share
from tests.cli_helpers import render
from tests.drama_helpers import TINY, replicates, tiny, tiny_plan
from tests.helpers import within_sigmas


@pytest.mark.parametrize("heterogeneity", [True, False], ids=["beta", "homogeneous"])
def test_funnel_without_paywall_matches_closed_form(heterogeneity):
    drop = ("unlocks",) + (() if heterogeneity else ("series.continuation_concentration",))
    plan = tiny_plan("series.free_episodes=30", "series.watch_probability=1.0", drop=drop)
    _, reach = replicates(plan, 20_000, 10)
    expected = episode_share(plan.weights, 0.92, 5.0 if heterogeneity else None)
    assert reach[:, 0].min() == 1.0                  # every viewer watches episode 1
    assert within_sigmas(reach[:, 1:], expected[1:])
    assert np.all(np.diff(reach, axis=1) <= 0)       # nobody skips an episode


def test_funnel_behind_an_ad_paywall_matches_closed_form():
    """Viewers who choose rewarded ads keep unlocking with ads: after the paywall the funnel
    is the continuation's times the chance of choosing ads; each such episode is one ad,
    ad revenue and no coin revenue."""
    plan = tiny_plan("unlocks.coins_probability=0.0", "unlocks.pass_probability=0.0",
                     "unlocks.ad_probability=0.3", "series.watch_probability=1.0")
    sums, reach = replicates(plan, 20_000, 10)
    share = episode_share(plan.weights, 0.92, 5.0)
    expected = np.where(np.arange(1, 31) > 8, 0.3 * share, share)
    assert within_sigmas(reach[:, 1:], expected[1:])
    per_age = sums.sum(axis=2)
    np.testing.assert_allclose(per_age[:, D.UNLOCK_AD], reach[:, 8:].sum(axis=1), rtol=1e-12)
    for row in (D.UNLOCK_COINS, D.UNLOCK_PASS, D.COINS_BOUGHT, D.COINS_SPENT, D.PACKS,
                D.PACKS_USD, D.PACKS_USD_TT, D.PASSES_USD, D.PASSES_USD_TT, D.NEW_PAYERS):
        assert per_age[:, row].max() == 0.0, row


def test_pass_holders_never_pay_per_episode():
    """Everyone at the paywall buys a pass and renews it: nobody leaves there, and no coin is
    bought or spent."""
    plan = tiny_plan("unlocks.coins_probability=0.0", "unlocks.pass_probability=1.0",
                     "unlocks.ad_probability=0.0", "unlocks.pass_renewal=1.0",
                     "unlocks.price_elasticity=0.0", "series.watch_probability=1.0")
    sums, reach = replicates(plan, 20_000, 10)
    per_age = sums.sum(axis=2)
    assert within_sigmas(reach[:, 1:], episode_share(plan.weights, 0.92, 5.0)[1:])
    for row in (D.UNLOCK_COINS, D.COINS_BOUGHT, D.COINS_SPENT, D.PACKS, D.UNLOCK_AD):
        assert per_age[:, row].max() == 0.0, row
    np.testing.assert_allclose(per_age[:, D.UNLOCK_PASS], reach[:, 8:].sum(axis=1), rtol=1e-12)
    assert per_age[:, D.PASSES_WEEKLY].min() > 0 and per_age[:, D.PASSES_MONTHLY].min() > 0


def test_coin_buyers_buy_the_smallest_covering_pack_and_keep_the_rest():
    """Single price, one pack size that covers many episodes: coins spent = price x coin
    unlocks; coins bought = 500 x packs; leftovers below one pack per payer."""
    plan = tiny_plan("unlocks.coins_probability=1.0", "unlocks.pass_probability=0.0",
                     "unlocks.ad_probability=0.0", "unlocks.coins_repurchase=1.0",
                     "unlocks.later_coins_per_episode=60", "unlocks.pack_coins=[500]",
                     "unlocks.pack_prices_usd=[4.99]", "unlocks.price_elasticity=0.0",
                     "series.watch_probability=1.0")
    sums, reach = replicates(plan, 20_000, 10)
    per_age = sums.sum(axis=2)
    assert within_sigmas(reach[:, 1:], episode_share(plan.weights, 0.92, 5.0)[1:])
    np.testing.assert_allclose(per_age[:, D.COINS_SPENT], 60 * per_age[:, D.UNLOCK_COINS],
                               rtol=1e-12)
    np.testing.assert_allclose(per_age[:, D.COINS_BOUGHT], 500 * per_age[:, D.PACKS], rtol=1e-12)
    np.testing.assert_allclose(per_age[:, D.PACKS_USD] + per_age[:, D.PACKS_USD_TT],
                               4.99 * per_age[:, D.PACKS], rtol=1e-12)
    leftover = per_age[:, D.COINS_BOUGHT] - per_age[:, D.COINS_SPENT]
    assert np.all(leftover >= 0) and np.all(leftover < 500 * per_age[:, D.NEW_PAYERS])
    assert np.all(np.cumsum(sums[:, D.COINS_SPENT], axis=1)
                  <= np.cumsum(sums[:, D.COINS_BOUGHT], axis=1))


@pytest.fixture(scope="module")
def run_ds():
    return simcore.run(tiny())


def test_revenue_identities(run_ds):
    ds = run_ds
    by_source = ds.revenue_by_source
    viewers = (ds.revenue_iaa + ds.revenue_iap).sum("cohort")
    np.testing.assert_allclose(by_source.sum("source"), viewers + ds.licence_fee
                               * (ds.age == 0), rtol=1e-12)
    np.testing.assert_allclose(by_source.sel(source=["coins", "passes"]).sum("source"),
                               ds.revenue_iap.sum("cohort"), rtol=1e-12)
    np.testing.assert_allclose(ds.revenue_by_channel.sum("channel"), viewers, rtol=1e-12)
    assert float(by_source.sel(source="licence").sum()) == 3 * 5000.0
    # ad share: 4 USD per 1,000 free views, half to the producer; ad unlocks: eCPM x share
    free_views = float(ds.episode_viewers.sel(episode=slice(1, 8)).sum())
    assert float(by_source.sel(source="ad_share").sum()) == pytest.approx(
        free_views * 0.004 * 0.5, rel=1e-12)
    assert float(by_source.sel(source="ad_unlocks").sum()) == pytest.approx(
        float(ds.unlocks.sel(unlock="ad").sum()) * 0.015 * 0.7, rel=1e-12)
    # coins spent never exceed coins bought, at any age of any draw
    assert np.all(ds.coins_spent.cumsum("age") <= ds.coins_bought.cumsum("age"))
    # every viewer watches episode 1; locked views are all unlocked one way
    np.testing.assert_array_equal(ds.episode_viewers.sel(episode=1),
                                  ds.activations.sum("cohort"))
    np.testing.assert_array_equal(ds.unlocks.sum(("unlock", "age")),
                                  ds.episode_viewers.sel(episode=slice(9, None)).sum("episode"))
    np.testing.assert_array_equal(ds.sessions.sum(("cohort", "age")),
                                  ds.episode_viewers.sum("episode"))
    # the series P&L: every source, licence included, minus UA spend and production
    cost = ds.spend.sum("cohort") + 20000.0
    np.testing.assert_allclose(ds.series_pnl.isel(age=-1),
                               by_source.sum(("source", "age")) - cost, rtol=1e-12)
    np.testing.assert_allclose(ds.roi, ds.series_pnl / cost, rtol=1e-12)
    # ROAS on UA: the paid viewers' revenue; blended: every viewer's; the licence in neither
    spend = ds.spend.sum("cohort")
    paid = ds.revenue_by_channel.sel(channel="paid_ads").sum("age")
    np.testing.assert_allclose(ds.roas_paid.isel(age=-1) * spend, paid, rtol=1e-12)
    np.testing.assert_allclose(ds.roas.isel(age=-1) * spend, viewers.sum("age"), rtol=1e-12)
    assert np.all(paid < viewers.sum("age"))                    # organic viewers pay too


def test_dataset_has_units_and_dims(run_ds):
    ds = run_ds
    assert ds.episode_viewers.dims == ("draw", "episode")
    assert ds.unlocks.dims == ("draw", "unlock", "age")
    assert ds.revenue_by_source.dims == ("draw", "source", "age")
    assert list(ds.source.values) == ["coins", "passes", "ad_unlocks", "ad_share", "licence"]
    for name in ("roas", "roas_paid", "payback_day", "cpa", "spend", "activations"):
        assert name in ds
    for name in ds.data_vars:
        assert ds[name].attrs.get("units") and ds[name].attrs.get("long_name"), name
    assert ds.attrs["kind"] == "drama"


def _purchases(*sets):
    ds = simcore.run(tiny("unlocks.tiktok_pay_share=1.0", *sets))
    return ds


def test_discount_lowers_affected_revenue_by_exactly_the_discount():
    """Elasticity 0: the same viewers make the same choices (common random numbers); every
    purchase goes through TikTok pay, so purchase revenue falls by exactly 10 %."""
    full = _purchases("unlocks.price_elasticity=0.0", "unlocks.tiktok_pay_discount=0.0")
    off = _purchases("unlocks.price_elasticity=0.0", "unlocks.tiktok_pay_discount=0.1")
    assert float(full.revenue_iap.sum()) > 0
    np.testing.assert_allclose(off.revenue_iap, 0.9 * full.revenue_iap, rtol=1e-12, atol=0)
    for name in ("revenue_iaa", "episode_viewers", "unlocks", "coins_bought", "passes_sold"):
        np.testing.assert_array_equal(off[name].values, full[name].values, err_msg=name)
    # with a positive elasticity the discount brings more payers
    elastic = _purchases("unlocks.price_elasticity=2.0", "unlocks.tiktok_pay_discount=0.1")
    assert float(elastic.payers.sum()) > float(off.payers.sum())


def test_uncertain_drama_fields_are_sampled_per_draw():
    loaded = tiny('series.continuation={ dist = "uniform", low = 0.85, high = 0.95 }',
                  'unlocks.coins_probability={ dist = "triangular", low = 0.1, mode = 0.2, '
                  'high = 0.3 }', "simulation.draws=4")
    ds = simcore.run(loaded)
    values = ds["param_series.continuation"].values
    assert values.shape == (4,) and np.unique(values).size == 4
    assert "param_unlocks.coins_probability" in ds
    # the sampled values reach the kernel: draw 2 is a run with them fixed, on its streams
    fixed = loaded.with_overrides(
        f"series.continuation={float(values[2])!r}",
        f"unlocks.coins_probability={float(ds['param_unlocks.coins_probability'][2])!r}")
    again = simcore.run(fixed, draws=np.array([2]))
    for name in ("episode_viewers", "unlocks", "revenue_by_source", "roas"):
        np.testing.assert_array_equal(again[name].sel(draw=2).values,
                                      ds[name].sel(draw=2).values, err_msg=name)


def test_sweep_over_a_drama_key():
    """A sweep cut into blocks of draws gives what whole runs give (draws are independent)."""
    from simcore.studies.sweeps import sweep

    loaded = tiny("simulation.draws=3")
    ds = sweep(loaded, {"unlocks.coins_probability": [0.05, 0.4]}, block_draws=2)
    whole = simcore.run(loaded.with_overrides("unlocks.coins_probability=0.4"), point=1)
    np.testing.assert_array_equal(ds.roas.isel({"unlocks.coins_probability": 1}).values,
                                  whole.roas.values)
    assert ds.roas.dims == ("unlocks.coins_probability", "draw", "age")
    for name in ("roas_paid", "payback_day", "cpa", "net_profit", "spend", "activations"):
        assert name in ds
    # the series P&L at the horizon, licence and production included, as in the run
    at = {"unlocks.coins_probability": 1}
    np.testing.assert_array_equal(ds.series_pnl.isel(at).values,
                                  whole.series_pnl.isel(age=-1).values)
    np.testing.assert_array_equal(ds.roi.isel(at).values, whole.roi.isel(age=-1).values)
    np.testing.assert_array_equal(ds.series_payback_day.isel(at).values,
                                  whole.series_payback_day.values)
    final = ds.roas.isel(age=-1).mean("draw").values
    assert final[1] > final[0]


def test_bit_identical_across_thread_counts(tmp_path):
    """Three chunks per paid cohort, so threads share the work."""
    path = tmp_path / "tiny.toml"
    path.write_text(render(TINY))
    outs = []
    for threads in (1, 2):
        out = tmp_path / f"t{threads}.nc"
        subprocess.run([sys.executable, "-m", "simcore", "run", str(path), "--draws", "2",
                        "--set", "campaign.daily_budget_usd=12000", "-o", str(out)],
                       check=True, capture_output=True, timeout=600,
                       env={**os.environ, "NUMBA_NUM_THREADS": str(threads)})
        outs.append(out)
    from simcore.data.dataset import open_dataset

    one, two = (open_dataset(o) for o in outs)
    assert one.activations.sel(cohort=0).min() > 2 * 16_384
    for name in one.data_vars:
        np.testing.assert_array_equal(one[name].values, two[name].values, err_msg=name)


@pytest.mark.parametrize("sets, drop, key, text", [
    (("series.cliffhanger_episodes=[4, 30]",), (), "series.cliffhanger_episodes",
     "episode 30"),
    (("series.episodes_per_dy=5.0",), (), "series.episodes_per_dy",
     "did you mean 'series.episodes_per_day'"),
    ((), ("unlocks",), "unlocks", "missing section"),
    (("unlocks.later_price_from_episode=40",), (), "unlocks.later_price_from_episode",
     "beyond the last episode"),
    (("organic.games_center_scale=10.0",), (), "organic.games_center_scale", "for games"),
    (("title.monetization=\"iaa\"",), (), "title.monetization", "for games"),
    (("unlocks.pack_prices_usd=[4.99, 9.99]",), (), "unlocks.pack_prices_usd",
     "one per unlocks.pack_coins"),
    (("unlocks.weekly_pass_share=0.5",), ("unlocks.monthly_pass_usd",),
     "unlocks.monthly_pass_usd", "missing"),
    (('series.episodes={ dist = "choice", values = [30, 40] }',), (), "series.episodes",
     "cannot be uncertain"),
])
def test_bad_drama_values_name_their_key(sets, drop, key, text):
    from simcore.errors import ScenarioError

    with pytest.raises(ScenarioError) as info:
        tiny(*sets, drop=drop)
    message = str(info.value)
    assert "\n" not in message and f"{key}: " in message and text in message, message


def test_sensitivity_of_a_drama():
    """OAT swings over a drama's uncertain parameters, on common random numbers: more
    viewers paying at the paywall raises ROAS, a dearer viewer lowers it."""
    from simcore.studies.sensitivity import sensitivity

    loaded = tiny('unlocks.coins_probability={ dist = "uniform", low = 0.1, high = 0.3 }',
                  'campaign.target_cpa_usd={ dist = "uniform", low = 0.2, high = 0.4 }')
    ds = sensitivity(loaded, "oat", "roas:7")
    swing = ds.swing.sel(output="roas_d7")
    assert float(swing.sel(parameter="unlocks.coins_probability")) > 0
    assert float(swing.sel(parameter="campaign.target_cpa_usd")) < 0
