"""The kernel's exact lookups give the variates they replace, bit for bit: lifetimes from the
guide table (``_lifetime_guided``) against bisection (``_lifetime_from_table``), and whole
chunks of the aggregated sampler with the guide, the capped-interstitial cdf table
(``_interstitial_table``) and per-user session rows (``rng.poisson_cdf_row``) against chunks
without them (bisection, ``_user_day``'s inversion stopped at the cap), each pair from the
same random stream and leaving it in the same state. ``tests/kernel/test_rng.py`` checks the
rows draw by draw."""

import numpy as np
import pytest

from simcore.kernel import layout as K
from simcore.kernel.users import (
    _EXP_TABLE,
    _chunk_aggregated,
    _interstitial_table,
    _lifetime_from_table,
    _lifetime_guide,
    _lifetime_guided,
)
from simcore.kinds.game.plan import compile_loaded
from simcore.model.retention import survival
from simcore.scenario import load_scenario
from simcore.seeding import chunk_states

HORIZON = 180


def _states(n: int, seed: int) -> np.ndarray:
    return chunk_states(seed, 0, 0, n)


@pytest.mark.parametrize("alpha, beta, c", [(0.6, 1.2, 0.7), (3.0, 40.0, 1.0),
                                            (0.05, 0.05, 2.0), (50.0, 1.0, 1.0)])
def test_guided_lifetimes_are_bisections(alpha, beta, c):
    surv = survival(np.arange(HORIZON + 1), alpha, beta, c)
    guide = _lifetime_guide(surv, HORIZON)
    assert guide.size == 1025
    for state in _states(4, 11):
        a, b = state.copy(), state.copy()
        for _ in range(20_000):
            assert _lifetime_guided(a, surv, HORIZON, guide) == \
                _lifetime_from_table(b, surv, HORIZON)
        np.testing.assert_array_equal(a, b)


def test_guide_falls_back_to_bisection_off_a_falling_table():
    surv = np.linspace(1.0, 0.0, HORIZON + 1)
    surv[7] = surv[6] + 1e-3                    # not non-increasing: no guide
    guide = _lifetime_guide(surv, HORIZON)
    assert guide.size == 0
    a, b = _states(1, 3)[0], _states(1, 3)[0]
    for _ in range(1000):
        assert _lifetime_guided(a, surv, HORIZON, guide) == \
            _lifetime_from_table(b, surv, HORIZON)


def _plan(name: str):
    return compile_loaded(load_scenario(name, ["simulation.horizon_days=60"]).fixed())


@pytest.mark.parametrize("name", ["reborn_emperor_us", "backpack_battle_jp"])
@pytest.mark.parametrize("is_rate, is_cap, extra_mean", [
    (None, None, None),          # the scenario's own
    (1.3, 8.0, 4.0), (0.7, 3.0, 2.5), (0.0, 8.0, 4.0), (5.0, 2.0, 4.0), (2.9, 0.0, 1.0),
    (0.2, 64.0, 20.0),           # PTRS session counts
    (0.3, 5.0, 70.0),            # session counts past the table
    (1.3, 8.0, 0.0), (1.3, 8.0, 1e-9),  # session rows of a zero and a vanishing rate
    (0.5, 6.0, 10.0),            # session rates on both sides of PTRS_SWITCH
])
def test_tabled_chunks_are_plain_chunks(name, is_rate, is_cap, extra_mean):
    """A chunk with the guide, the interstitial table and per-user session rows equals one
    with none of them (bisection and ``_user_day``): the same sums and the same stream state
    after it."""
    plan = _plan(name)
    prm = plan.params.copy()
    if is_rate is not None:
        prm[K.INTERSTITIAL_RATE], prm[K.INTERSTITIAL_CAP] = is_rate, is_cap
        prm[K.SESS_EXTRA_MEAN] = extra_mean
    h, rate = plan.horizon, prm[K.INTERSTITIAL_RATE]
    guide = _lifetime_guide(plan.survival, h)
    is_cdf, is_limit = _interstitial_table(rate, prm[K.INTERSTITIAL_CAP],
                                           np.exp(-rate * np.arange(_EXP_TABLE)))
    assert guide.size and is_limit.size
    no_guide, no_cdf, no_limit = np.zeros(0, np.int64), np.zeros((0, 0)), np.zeros(0, np.int64)
    for state in _states(2, 17):
        out = []
        for tables in ((guide, is_cdf, is_limit, True), (no_guide, no_cdf, no_limit, False)):
            s, acc = state.copy(), np.zeros((K.N_VARS, h + 1))
            _chunk_aggregated(s, 3000, prm, plan.survival, plan.no_purchase, plan.tiers,
                              plan.tier_edges, h, acc, *tables)
            out.append((s, acc))
        np.testing.assert_array_equal(out[0][0], out[1][0])
        np.testing.assert_array_equal(out[0][1], out[1][1])
        assert out[0][1][K.V_ACTIVE].sum() > 3000


def test_no_table_without_a_small_cap():
    exp_is = np.exp(-np.arange(_EXP_TABLE))
    assert _interstitial_table(1.0, -1.0, exp_is)[1].size == 0     # no cap
    assert _interstitial_table(1.0, 65.0, exp_is)[1].size == 0     # above _TABLE_CAP
