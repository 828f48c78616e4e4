"""The drama run's dataset: the variables every run has (so ROAS, payback, break-even CPA,
profit, sweeps and the analysis work unchanged) plus the series' own.

Shared variables, read for a drama: ``activations`` = viewers starting episode 1;
``active_users`` = viewers who watched that day; ``sessions`` = episodes watched;
``ad_impressions`` = rewarded ads that unlocked episodes; ``purchases`` = coin packs and
passes bought; ``revenue_iap`` = coins and passes, ``revenue_iaa`` = ad unlocks and the ad
share on free episodes (net, USD). ``roas_paid`` is ROAS on UA: the paid viewers' net
revenue / UA spend; ``roas`` (blended) counts every viewer's revenue, organic ones too. The
licence fee and the production budget are in neither. They are in the series P&L:
``series_pnl`` = all net revenue through the age, licence included (at age 0), - UA spend -
production budget; ``roi`` = series_pnl / (UA spend + production budget).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from simcore.analysis import first_age_at_least
from simcore.data.dataset import add_outcomes, add_parameters, scenario_attrs
from simcore.kernel import drama_layout as D
from simcore.kinds.drama.names import METHODS, PASSES, SOURCES
from simcore.kinds.drama.plan import money_column
from simcore.model.channels import CHANNELS

# money columns (DramaMoney.as_array)
NET, TT_FACTOR, AD_UNLOCK, AD_SHARE, LICENCE, PRODUCTION = (money_column(name) for name in (
    "purchase_net_share", "tiktok_pay_factor", "ad_unlock_usd", "ad_share_usd",
    "licence_usd", "production_usd"))


def revenue_rows(sums: np.ndarray, money: np.ndarray) -> np.ndarray:
    """Net revenue [USD] by source (coins, passes, ad unlocks, ad share) from kernel sums
    [..., N_ROWS, age] and one draw's money: an array [..., 4, age]."""
    tt = money[TT_FACTOR]
    return np.stack([
        (sums[..., D.PACKS_USD, :] + sums[..., D.PACKS_USD_TT, :] * tt) * money[NET],
        (sums[..., D.PASSES_USD, :] + sums[..., D.PASSES_USD_TT, :] * tt) * money[NET],
        sums[..., D.UNLOCK_AD, :] * money[AD_UNLOCK],
        sums[..., D.FREE_VIEWS, :] * money[AD_SHARE]], axis=-2)


def build_drama_dataset(total: np.ndarray, revenue_channel: np.ndarray, spend: np.ndarray,
                        viewers: np.ndarray, reach: np.ndarray, money: np.ndarray, loaded,
                        values: dict | None = None) -> xr.Dataset:
    """Assemble kernel sums of all channels [draw, cohort, row, age], viewers' net revenue
    by channel [draw, channel, age], spend and viewers [draw, channel, cohort], episode reach
    [draw, episode] and each draw's money [draw, 6]."""
    n_draws, n_cohorts, _, n_ages = total.shape
    by_cohort = np.stack([revenue_rows(total[d], money[d]) for d in range(n_draws)])
    coins, passes, ad_unlocks, ad_share = (by_cohort[:, :, i] for i in range(4))
    iap, iaa = coins + passes, ad_unlocks + ad_share
    licence = np.zeros((n_draws, 1, n_ages))
    licence[:, 0, 0] = money[:, LICENCE]
    by_source = np.concatenate([by_cohort.sum(axis=1), licence], axis=1)
    everywhere = total.sum(axis=1)                # [draw, row, age]
    dca = ("draw", "cohort", "age")

    def var(dims, data, units, long_name):
        return dims, data, {"units": units, "long_name": long_name}

    ds = xr.Dataset(
        {
            "spend": var(("draw", "cohort"), spend.sum(axis=1), "USD",
                         "UA spend on the cohort, all channels"),
            "spend_by_channel": var(("draw", "channel", "cohort"), spend, "USD",
                                    "UA spend on the cohort by channel"),
            "spend_revenue_share": var(dca, np.zeros((n_draws, n_cohorts, n_ages)), "USD",
                                       "creators' revenue share (none for a drama)"),
            "activations": var(("draw", "cohort"), viewers.sum(axis=1), "users",
                               "viewers starting episode 1 in the cohort, all channels"),
            "activations_by_channel": var(("draw", "channel", "cohort"), viewers, "users",
                                          "viewers starting episode 1 by channel"),
            "revenue_by_channel": var(("draw", "channel", "age"), revenue_channel,
                                      "USD", "viewers' net revenue at age, by the channel "
                                      "that brought them"),
            "active_users": var(dca, total[:, :, D.VIEWERS], "users",
                                "viewers who watched at least one episode at age"),
            "sessions": var(dca, total[:, :, D.EPISODES_WATCHED], "episodes",
                            "episodes watched at age"),
            "ad_impressions": var(dca, total[:, :, D.UNLOCK_AD], "impressions",
                                  "rewarded ads shown at age (one per ad-unlocked episode)"),
            "ad_impressions_rewarded": var(dca, total[:, :, D.UNLOCK_AD], "impressions",
                                           "rewarded ads shown at age"),
            "purchases": var(dca, total[:, :, D.PACKS] + total[:, :, D.PASSES_WEEKLY]
                             + total[:, :, D.PASSES_MONTHLY], "purchases",
                             "coin packs and passes bought at age"),
            "revenue_iaa": var(dca, iaa, "USD", "ad revenue at age, net to the "
                               "producer: rewarded-ad unlocks and the ad share on free "
                               "episodes"),
            "revenue_iap": var(dca, iap, "USD", "coin and pass revenue at age, "
                               "net to the producer (after discount, tax, platform fee and "
                               "refunds)"),
            "payers": var(dca, total[:, :, D.NEW_PAYERS], "users",
                          "viewers making their first purchase at age"),
            "episode_viewers": var(("draw", "episode"), reach, "users",
                                   "viewers who watched the episode (all cohorts)"),
            "unlocks": var(("draw", "unlock", "age"), everywhere[:, [
                D.UNLOCK_COINS, D.UNLOCK_PASS, D.UNLOCK_AD]], "episodes",
                "locked episodes watched at age, by how they were unlocked"),
            "revenue_by_source": var(("draw", "source", "age"), by_source, "USD",
                                     "net revenue at age by source (licence at age 0)"),
            "coins_bought": var(("draw", "age"), everywhere[:, D.COINS_BOUGHT], "coins",
                                "coins bought at age"),
            "coins_spent": var(("draw", "age"), everywhere[:, D.COINS_SPENT], "coins",
                               "coins spent on episodes at age"),
            "passes_sold": var(("draw", "pass_type", "age"), everywhere[:, [
                D.PASSES_WEEKLY, D.PASSES_MONTHLY]], "passes",
                "passes bought at age (renewals included)"),
            "paywall_choices": var(("draw", "age"), everywhere[:, D.PAYWALL], "choices",
                                   "times a viewer faced the paywall (chose to pay, watch "
                                   "ads or leave) at age"),
            "licence_fee": var(("draw",), money[:, LICENCE], "USD",
                               "licence fee for the series (revenue at age 0)"),
            "production_budget": var(("draw",), money[:, PRODUCTION], "USD",
                                     "cost of producing the series"),
        },
        coords={
            "draw": ("draw", np.arange(n_draws), {"long_name": "Monte Carlo draw"}),
            "cohort": ("cohort", np.arange(n_cohorts),
                       {"units": "days", "long_name": "acquisition day (0-based)"}),
            "channel": ("channel", list(CHANNELS), {"long_name": "source of the viewers"}),
            "age": ("age", np.arange(n_ages),
                    {"units": "days", "long_name": "days since the viewer's first episode"}),
            "episode": ("episode", np.arange(1, reach.shape[1] + 1),
                        {"long_name": "episode number (1-based)"}),
            "unlock": ("unlock", list(METHODS), {"long_name": "how an episode was unlocked"}),
            "source": ("source", list(SOURCES), {"long_name": "source of revenue"}),
            "pass_type": ("pass_type", list(PASSES), {"long_name": "pass type"}),
        },
        attrs={**scenario_attrs(loaded),
               "free_episodes": int(loaded.scenario.series.free_episodes),
               "minutes_per_episode": float(loaded.scenario.series.minutes_per_episode)},
    )
    ds = add_outcomes(add_parameters(ds, loaded, values or {}))
    return add_pnl(ds)


def add_pnl(ds: xr.Dataset) -> xr.Dataset:
    """Add the series P&L by age: ``series_pnl``, ``roi`` and ``series_payback_day``."""
    revenue = ds.revenue_by_source.sum("source").transpose("draw", "age").values
    cost = ds.spend.sum("cohort").values + ds.production_budget.values
    pnl = np.cumsum(revenue, axis=1) - cost[:, None]
    with np.errstate(invalid="ignore", divide="ignore"):
        roi = np.where(cost[:, None] > 0, pnl / cost[:, None], np.nan)
    return ds.assign(
        series_pnl=(("draw", "age"), pnl, {
            "units": "USD", "long_name": "series P&L through age: net revenue of every "
            "source (licence included) - UA spend - production budget"}),
        roi=(("draw", "age"), roi, {
            "units": "1", "long_name": "ROI including production: series_pnl / (UA spend + "
            "production budget)"}),
        series_payback_day=(("draw",), first_age_at_least(pnl, ds.age.values, 0.0), {
            "units": "days", "long_name": "first age with series_pnl >= 0 (NaN: not within "
            "the horizon)"}))
