"""The aggregated sampler has the same distribution as the plain per-user model.

For each scenario shape (grouped lifetimes; intermittent play with capped interstitials and
purchases) both samplers simulate many independent cohorts. For every per-age sum at key ages
the means must agree within 5 standard errors of their difference, and the variances within
5 standard errors of the log variance ratio (sqrt(2/(K-1)) per sample, normal sums).
"""

import numpy as np
import pytest

from simcore.kernel import layout as K
from tests.helpers import per_user_replicates, plan_for

AGES = [0, 1, 7, 30]
N_USERS, N_REPS = 4_000, 120

CASES = {
    # every alive day played, no cap: lifetime groups, Gamma-sum session rates
    "grouped": ("brain_puzzle_us", (), ("ads.interstitial_cap_per_day",)),
    # intermittent play, interstitial cap, purchases with tiers
    "hybrid": ("backpack_battle_jp", (), ()),
}


@pytest.mark.parametrize("case", list(CASES))
def test_per_age_sums_have_the_same_distribution(case):
    name, sets, drop = CASES[case]
    sums = {}
    for aggregate in (True, False):
        plan = plan_for(name, *sets, "simulation.horizon_days=30", aggregate=aggregate,
                        drop=drop)
        sums[aggregate] = per_user_replicates(plan, N_USERS, N_REPS, seed=17)[:, :, AGES]
    a, b = sums[True], sums[False]
    checked = 0
    for v in range(K.N_VARS):
        for i, age in enumerate(AGES):
            x, y = a[:, v, i], b[:, v, i]
            if x.var() == 0 and y.var() == 0:
                assert x.mean() == y.mean()
                continue
            se = np.sqrt(x.var(ddof=1) / N_REPS + y.var(ddof=1) / N_REPS)
            assert abs(x.mean() - y.mean()) <= 5 * se, (v, age)
            log_ratio = np.log(x.var(ddof=1) / y.var(ddof=1))
            assert abs(log_ratio) <= 5 * np.sqrt(4.0 / (N_REPS - 1)), (v, age, log_ratio)
            checked += 1
    assert checked >= 15  # every non-constant sum was compared
