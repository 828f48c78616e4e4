"""The kernel's exact lookups give the variates they replace, bit for bit: lifetimes from the
guide table (``_lifetime_guided``) against bisection (``_lifetime_from_table``), capped
interstitials from the per-session-count cdf table (``_interstitial_table``, as
``_user_day_table`` reads it) against inversion stopped at the cap (``_user_day``), each pair
from the same random stream and leaving it in the same state."""

import numpy as np
import pytest

from simcore.kernel import layout as K
from simcore.kernel.users import (
    _EXP_TABLE,
    _interstitial_table,
    _lifetime_from_table,
    _lifetime_guide,
    _lifetime_guided,
    _user_day,
    _user_day_table,
)
from simcore.model.retention import survival
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


@pytest.mark.parametrize("is_rate, is_cap", [(1.3, 8.0), (0.7, 3.0), (0.0, 8.0), (5.0, 2.0),
                                             (2.9, 0.0), (0.2, 64.0), (1e-3, 1.0)])
def test_tabled_interstitials_are_inversions(is_rate, is_cap):
    exp_is = np.exp(-is_rate * np.arange(_EXP_TABLE))
    cdf, limit = _interstitial_table(is_rate, is_cap, exp_is)
    assert limit.size == _EXP_TABLE
    # session counts cover inversion (rate < 12), PTRS (rate >= 12) and past the table
    mus = [0.0, 0.5, 4.0, 11.5, 15.0, 70.0]
    for mu, state in zip(mus, _states(len(mus), 5)):
        a, b = state.copy(), state.copy()
        acc_a, acc_b = np.zeros((K.N_VARS, 3)), np.zeros((K.N_VARS, 3))
        for day in range(3000):
            sessions = _user_day(b, day % 3, mu, np.exp(-mu), is_rate, is_cap, exp_is, acc_b)
            assert _user_day_table(a, day % 3, mu, np.exp(-mu), is_rate, is_cap, cdf, limit,
                                   acc_a) == sessions
        np.testing.assert_array_equal(acc_a, acc_b)
        np.testing.assert_array_equal(a, b)


def test_no_table_without_a_small_cap():
    exp_is = np.exp(-np.arange(_EXP_TABLE))
    assert _interstitial_table(1.0, -1.0, exp_is)[1].size == 0     # no cap
    assert _interstitial_table(1.0, 65.0, exp_is)[1].size == 0     # above _TABLE_CAP
