"""The kernel's samplers against scipy.stats: KS tests for continuous, chi-square for Poisson.

Fixed seeds; each test would fail by chance with probability ~1e-6 (p-value threshold), so a
failure means a wrong sampler, not bad luck.
"""

import numpy as np
import pytest
from numba import njit
from scipy import stats

from simcore.kernel import rng

P_MIN = 1e-6
N = 200_000


def _state(seed):
    return np.random.SeedSequence(seed).generate_state(4, np.uint64)


@njit
def _draw_gamma(state, a, n):
    out = np.empty(n)
    for i in range(n):
        out[i] = rng.gamma(state, a)
    return out


@njit
def _draw_log_gamma(state, a, n):
    out = np.empty(n)
    for i in range(n):
        out[i] = rng.log_gamma_variate(state, a)
    return out


@njit
def _draw_normal(state, n):
    out = np.empty(n)
    for i in range(n):
        out[i] = rng.normal(state)
    return out


@njit
def _draw_uniform(state, n):
    out = np.empty(n)
    for i in range(n):
        out[i] = rng.uniform(state)
    return out


@njit
def _draw_poisson(state, lam, n):
    out = np.empty(n, dtype=np.int64)
    for i in range(n):
        out[i] = rng.poisson(state, lam)
    return out


def test_uniform_is_uniform_and_never_zero():
    u = _draw_uniform(_state(1), N)
    assert u.min() > 0.0 and u.max() <= 1.0
    assert stats.kstest(u, "uniform").pvalue > P_MIN


def test_normal():
    assert stats.kstest(_draw_normal(_state(2), N), "norm").pvalue > P_MIN


@pytest.mark.parametrize("a", [0.05, 0.3, 1.0, 2.5, 40.0])
def test_gamma(a):
    x = _draw_gamma(_state(3), a, N)
    assert stats.kstest(x, stats.gamma(a).cdf).pvalue > P_MIN


@pytest.mark.parametrize("a", [0.01, 0.3, 4.0])
def test_log_gamma_variate(a):
    # compare exp(log X) in log space so tiny shapes (which underflow as X) are checked too
    lx = _draw_log_gamma(_state(4), a, N)
    assert np.all(np.isfinite(lx))
    cdf = lambda v: stats.gamma(a).cdf(np.exp(v))  # noqa: E731
    assert stats.kstest(lx, cdf).pvalue > P_MIN


@pytest.mark.parametrize("lam", [0.02, 0.7, 3.0, 11.9, 12.0, 45.0, 1234.5, 2.0e6])
def test_poisson(lam):
    x = _draw_poisson(_state(5), lam, N)
    lo, hi = stats.poisson(lam).ppf([1e-4, 1 - 1e-4]).astype(int)
    edges = np.arange(max(lo, 0), hi + 2)
    # bins: (<= lo), each value lo+1 .. hi-1, (>= hi); merge small expectations
    observed = np.array([np.sum(x <= edges[0])] + [np.sum(x == k) for k in edges[1:-2]]
                        + [np.sum(x >= edges[-2])], dtype=float)
    cdf = stats.poisson(lam).cdf
    expected = np.concatenate(([cdf(edges[0])], stats.poisson(lam).pmf(edges[1:-2]),
                               [1 - cdf(edges[-2] - 1)])) * N
    keep = expected >= 5
    obs = np.append(observed[keep], observed[~keep].sum())
    exp = np.append(expected[keep], expected[~keep].sum())
    if exp[-1] < 5:
        obs, exp = obs[:-1], exp[:-1]
    exp *= obs.sum() / exp.sum()
    assert stats.chisquare(obs, exp).pvalue > P_MIN
    se = np.sqrt(lam / N)
    assert abs(x.mean() - lam) < 5 * se


def test_zero_rate_poisson_is_zero():
    assert _draw_poisson(_state(6), 0.0, 10).sum() == 0


@njit
def _row_against_inversion(lam, cap, tail, size, u):
    """Count of the uniforms ``u`` where ``poisson_from_row`` differs from inversion, and
    how many of them the row's count answered (not the fallback)."""
    row = np.empty(size)
    e = np.exp(-lam)
    n, whole = rng.poisson_cdf_row(lam, e, cap, tail, row)
    differ = 0
    by_row = 0
    for x in u:
        differ += rng.poisson_from_row(x, row, n, whole, lam, e, cap) != \
            rng.poisson_inverse(x, lam, e, cap)
        by_row += rng.count_below(x, row, n) < n or whole
    return differ, by_row


@pytest.mark.parametrize("lam", [0.0, 1e-12, 1e-3, 0.3, 2.5, 4.0, 11.9])
@pytest.mark.parametrize("cap", [rng.NO_CAP, 0, 1, 3, 8])
@pytest.mark.parametrize("tail, size", [(-1.0, 64), (1e-6, 64), (0.2, 64), (-1.0, 3)])
def test_cdf_row_gives_inversions_bit_for_bit(lam, cap, tail, size):
    """A ``poisson_cdf_row`` answers every uniform as ``poisson_inverse`` does: uniforms from
    the stream, the row's own entries and their neighbours (ties), and 1.0; rows cut by the
    tail or by their size fall back to inversion."""
    row = np.empty(size)
    n, whole = rng.poisson_cdf_row(lam, np.exp(-lam), cap, tail, row)
    edges = row[:n]
    u = np.concatenate([_draw_uniform(_state(5), 20_000), edges, np.nextafter(edges, 0.0),
                        np.nextafter(edges, 2.0), [1.0]])
    u = u[(u > 0.0) & (u <= 1.0)]
    differ, by_row = _row_against_inversion(lam, cap, tail, size, u)
    assert differ == 0
    assert by_row > 0                      # both ways of answering are exercised
    if n and not whole and edges[-1] < 1.0:
        assert by_row < u.size


def test_cdf_row_ends():
    """Whole at the cap or at inversion's underflow break; cut at the tail or the row's
    size."""
    row = np.empty(64)
    assert rng.poisson_cdf_row(2.0, np.exp(-2.0), 3, -1.0, row) == (3, True)
    assert rng.poisson_cdf_row(2.0, np.exp(-2.0), 0, -1.0, row) == (0, True)
    n, whole = rng.poisson_cdf_row(2.0, np.exp(-2.0), rng.NO_CAP, 1e-6, row)
    assert not whole and row[n - 1] >= 1.0 - 1e-6 > row[n - 2]
    assert rng.poisson_cdf_row(2.0, np.exp(-2.0), rng.NO_CAP, -1.0, row[:5]) == (5, False)
    n, whole = rng.poisson_cdf_row(1e-30, np.exp(-1e-30), rng.NO_CAP, -1.0, row)
    assert whole and n < 64                # p underflows below 1e-300: inversion stops
