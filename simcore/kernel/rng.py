"""Random variates for the kernel: xoshiro256** plus the few samplers the user model needs.

Each chunk of users owns a 4-word uint64 state (from ``numpy.random.SeedSequence``, see
``simcore.seeding``); nothing here touches global random state. Samplers are exact algorithms,
checked against scipy.stats in ``tests/kernel/test_rng.py``:

* ``uniform``: 53-bit double on (0, 1].
* ``normal``: Marsaglia's polar method.
* ``gamma``: Marsaglia & Tsang (2000) for shape >= 1; shape < 1 via Gamma(a+1) * U**(1/a),
  in log space so tiny shapes do not underflow.
* ``poisson``: sequential inversion below mean 12, Hoermann's PTRS (1993) above;
  ``poisson_cdf_row`` writes inversion's cdf out as a lookup row for many draws at one mean.
"""

import math

import numpy as np

from simcore.kernel._jit import jit_leaf

_ONE = np.uint64(1)
_S7 = np.uint64(7)
_S11 = np.uint64(11)
_S17 = np.uint64(17)
_S45 = np.uint64(45)
_M5 = np.uint64(5)
_M9 = np.uint64(9)
_TWO_M53 = 1.0 / 9007199254740992.0
PTRS_SWITCH = 12.0  # means below use inversion, above Hoermann's PTRS
NO_CAP = np.iinfo(np.int64).max
_INV = 1.0 / np.maximum(np.arange(64), 1)  # 1/k: a multiply is cheaper than a divide


@jit_leaf
def _rotl(x, k):
    return (x << k) | (x >> (np.uint64(64) - k))


@jit_leaf
def next_u64(s):
    """Advance the xoshiro256** state ``s`` (uint64[4]) in place; return 64 random bits."""
    s0 = s[0]
    s1 = s[1]
    s2 = s[2]
    s3 = s[3]
    result = _rotl(s1 * _M5, _S7) * _M9
    t = s1 << _S17
    s2 ^= s0
    s3 ^= s1
    s1 ^= s2
    s0 ^= s3
    s2 ^= t
    s3 = _rotl(s3, _S45)
    s[0] = s0
    s[1] = s1
    s[2] = s2
    s[3] = s3
    return result


@jit_leaf
def uniform(s):
    """Uniform double on (0, 1] (never 0, so its logarithm is finite)."""
    return float((next_u64(s) >> _S11) + _ONE) * _TWO_M53


@jit_leaf
def normal(s):
    """Standard normal variate (Marsaglia polar method)."""
    while True:
        x = 2.0 * uniform(s) - 1.0
        y = 2.0 * uniform(s) - 1.0
        r2 = x * x + y * y
        if 0.0 < r2 < 1.0:
            return x * math.sqrt(-2.0 * math.log(r2) / r2)


@jit_leaf
def _gamma_mt(s, a):
    """Gamma(shape=a >= 1, scale=1) by Marsaglia & Tsang."""
    d = a - 1.0 / 3.0
    c = 1.0 / math.sqrt(9.0 * d)
    while True:
        x = normal(s)
        v = 1.0 + c * x
        if v <= 0.0:
            continue
        v = v * v * v
        u = uniform(s)
        x2 = x * x
        if u < 1.0 - 0.0331 * x2 * x2:
            return d * v
        if math.log(u) < 0.5 * x2 + d * (1.0 - v + math.log(v)):
            return d * v


@jit_leaf
def log_gamma_variate(s, a):
    """Logarithm of a Gamma(shape=a, scale=1) variate; safe for any a > 0."""
    if a >= 1.0:
        return math.log(_gamma_mt(s, a))
    return math.log(_gamma_mt(s, a + 1.0)) + math.log(uniform(s)) / a


@jit_leaf
def gamma(s, a):
    """Gamma(shape=a, scale=1) variate (may underflow to 0.0 for shapes far below 1)."""
    if a >= 1.0:
        return _gamma_mt(s, a)
    return _gamma_mt(s, a + 1.0) * uniform(s) ** (1.0 / a)


@jit_leaf
def poisson_inverse(u, lam, exp_neg_lam, cap):
    """min(Poisson(lam), cap) at the uniform ``u`` by sequential inversion, given exp(-lam);
    for lam < 12.

    Callers that draw many variates with one mean pass exp(-lam) precomputed; stopping the
    search at ``cap`` gives min(X, cap) exactly (frequency caps) and saves the tail.
    """
    p = exp_neg_lam
    cdf = p
    k = 0
    while u > cdf and k < cap:
        k += 1
        p *= lam * (_INV[k] if k < _INV.size else 1.0 / k)
        cdf += p
        if p < 1e-300 and cdf >= 1.0 - 1e-15:
            break
    return k


@jit_leaf
def poisson_inversion(s, lam, exp_neg_lam, cap):
    """``poisson_inverse`` at a fresh uniform."""
    return poisson_inverse(uniform(s), lam, exp_neg_lam, cap)


@jit_leaf
def poisson_cdf_row(lam, exp_neg_lam, cap, tail, row):
    """The cdf that ``poisson_inverse`` accumulates, as a lookup row: row[j] for j < n is its
    value after j steps, computed with the same operations, so for any u the count of
    j < n with u > row[j] (the cdf never falls) is ``poisson_inverse(u, ...)``, bit for bit,
    whenever that count is below n. Returns (n, whole). whole: n is where inversion stops
    whatever u (the cap, or its underflow break), so a count of n is its answer too; not
    whole: the row ends where the cdf reaches 1 - ``tail`` (never, for tail < 0) or at
    row.size, and a count of n means ``poisson_inverse`` must run at that u."""
    p = exp_neg_lam
    c = p
    for j in range(min(cap, row.size)):
        row[j] = c
        if c >= 1.0 - tail:
            return j + 1, False
        p *= lam * (_INV[j + 1] if j + 1 < _INV.size else 1.0 / (j + 1))
        c += p
        if p < 1e-300 and c >= 1.0 - 1e-15:
            return j + 1, True
    if cap <= row.size:
        return cap, True
    return row.size, False


@jit_leaf
def count_below(u, row, n):
    """How many of row[0..n) lie below ``u`` (branch-free: every entry compared)."""
    c = 0
    for j in range(n):
        c += u > row[j]
    return c


@jit_leaf
def poisson_from_row(u, row, n, whole, lam, exp_neg_lam, cap):
    """``poisson_inverse(u, lam, exp_neg_lam, cap)`` from its ``poisson_cdf_row`` (n, whole):
    the count of row entries below u, or inversion where the row is cut short."""
    k = count_below(u, row, n)
    if k == n and not whole:
        return poisson_inverse(u, lam, exp_neg_lam, cap)
    return k


@jit_leaf
def poisson(s, lam):
    """Poisson(lam) variate as int64; lam <= 0 (or NaN) gives 0."""
    if not lam > 0.0:
        return 0
    if lam < PTRS_SWITCH:
        return poisson_inversion(s, lam, math.exp(-lam), NO_CAP)
    slam = math.sqrt(lam)
    loglam = math.log(lam)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    log_inv_alpha = math.log(1.1239 + 1.1328 / (b - 3.4))
    vr = 0.9277 - 3.6224 / (b - 2.0)
    while True:
        u = uniform(s) - 0.5
        v = uniform(s)
        us = 0.5 - abs(u)
        if us <= 0.0:
            continue
        k = math.floor((2.0 * a / us + b) * u + lam + 0.43)
        if us >= 0.07 and v <= vr:
            return np.int64(k)
        if k < 0.0 or (us < 0.013 and v > us):
            continue
        if math.log(v) + log_inv_alpha - math.log(a / (us * us) + b) <= (
            -lam + k * loglam - math.lgamma(k + 1.0)
        ):
            return np.int64(k)
