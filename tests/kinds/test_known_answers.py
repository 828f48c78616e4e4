"""Monte Carlo means against closed forms, within 5 standard errors (fixed seeds).

Standard errors come from independent replicate draws (each a cohort of n users), so the
tolerance is what the simulation's own noise allows, not a magic number.
"""

import numpy as np
import pytest
from scipy import stats

from simcore.kernel import layout as K
from simcore.model.iap import mean_purchases, mean_transaction, payer_share
from simcore.model.retention import survival
from tests.helpers import per_user_replicates, plan_for, within_sigmas

SAMPLERS = pytest.mark.parametrize("aggregate", [True, False], ids=["aggregated", "per_user"])


def expected_played_days(plan) -> float:
    r = plan.retention
    s = survival(np.arange(plan.horizon + 1), r.alpha, r.beta, r.c)
    return 1.0 + r.play_probability * s[1:].sum()


def expected_capped_interstitials(extra_mean, shape, rate, cap) -> float:
    """E[min(cap, X)] per played day, X | s ~ Poisson(rate * s), s = 1 + NegBin(shape, mean)."""
    j = np.arange(0, 400)
    if shape > 0:
        pj = stats.nbinom.pmf(j, shape, shape / (shape + extra_mean))
    else:
        pj = stats.poisson.pmf(j, extra_mean)
    if cap < 0:
        return float(np.dot(pj, rate * (1 + j)))
    x = np.arange(int(cap))
    lam = rate * (1 + j)[:, None]
    shortfall = ((cap - x) * stats.poisson.pmf(x, lam)).sum(axis=1)
    return float(np.dot(pj, cap - shortfall))


@SAMPLERS
@pytest.mark.parametrize("scenario,sets", [
    ("reborn_emperor_us", ("simulation.horizon_days=90",)),          # capped interstitials
    ("brain_puzzle_us", ("simulation.horizon_days=60", "retention.daily_play_probability=0.8",
                         "retention.d1=0.3", "retention.d7=0.07", "retention.d30=0.02")),
])
def test_iaa_revenue_per_activation(scenario, sets, aggregate):
    plan = plan_for(scenario, *sets, aggregate=aggregate)
    reps = per_user_replicates(plan, 40_000, 10, seed=3).sum(axis=2)  # [rep, var]
    money = plan.money
    revenue = reps[:, K.V_REWARDED] * money.rewarded_usd + \
        reps[:, K.V_INTERSTITIAL] * money.interstitial_usd
    prm = plan.params
    days = expected_played_days(plan)
    sessions = 1.0 + prm[K.SESS_EXTRA_MEAN]
    inter = expected_capped_interstitials(prm[K.SESS_EXTRA_MEAN], prm[K.SESS_SHAPE],
                                          prm[K.INTERSTITIAL_RATE], prm[K.INTERSTITIAL_CAP])
    expected = days * (sessions * prm[K.REWARDED_RATE] * money.rewarded_usd
                       + inter * money.interstitial_usd)
    assert within_sigmas(reps[:, K.V_ACTIVE], days)
    assert within_sigmas(reps[:, K.V_SESSIONS], days * sessions)
    assert within_sigmas(revenue, expected)


IAP_PUBLISHED = ("iap.r=0.4", "iap.alpha=8.0", "iap.gamma=3.0", "simulation.horizon_days=60")
IAP_INTUITIVE = ("iap.payer_share_d7", "iap.payer_share_d30", "iap.arppu_d30_usd")


@SAMPLERS
@pytest.mark.parametrize("tiers", [False, True], ids=["no_tiers", "tiers"])
def test_purchases_and_spend_match_gamma_poisson_and_gamma_gamma(aggregate, tiers):
    drop = IAP_INTUITIVE + (() if tiers else ("iap.price_tiers_usd",))
    plan = plan_for("backpack_battle_jp", *IAP_PUBLISHED, aggregate=aggregate, drop=drop)
    reps = per_user_replicates(plan, 40_000, 10, seed=5).sum(axis=2)
    iap, ret, h = plan.iap, plan.retention, plan.horizon
    assert within_sigmas(reps[:, K.V_PURCHASES], mean_purchases(h, iap.r, iap.alpha, ret))
    assert within_sigmas(reps[:, K.V_NEW_PAYERS], payer_share(h, iap.r, iap.alpha, ret))
    per_purchase = reps[:, K.V_IAP_GROSS] / reps[:, K.V_PURCHASES]
    expected = mean_transaction(iap.p, iap.q, iap.gamma, iap.tiers)
    if not tiers:
        assert expected == pytest.approx(iap.p * iap.gamma / (iap.q - 1.0))
    assert within_sigmas(per_purchase, expected)


def test_intuitive_iap_form_is_translated_to_its_targets():
    plan = plan_for("backpack_battle_jp")
    assert plan.iap.payer_share_d7 == pytest.approx(0.015, rel=1e-3)
    assert plan.iap.payer_share_d30 == pytest.approx(0.025, rel=1e-3)
    assert plan.iap.arppu_d30_usd == pytest.approx(18.0, rel=1e-6)
    # and the simulation reproduces the D30 payer share
    plan = plan_for("backpack_battle_jp", "simulation.horizon_days=30")
    reps = per_user_replicates(plan, 40_000, 10, seed=9).sum(axis=2)
    assert within_sigmas(reps[:, K.V_NEW_PAYERS], 0.025)
