"""The per-user kernel: simulate chunks of activated users and accumulate (age) sums.

The user model (all heterogeneity is per user, drawn once):
  churn propensity theta ~ Beta(alpha, beta); last alive age L with
  P(L >= t | theta) = (1 - theta) ** (t ** c)  (c = 1: shifted-beta-geometric, else BdW), so
  P(L >= t) = S(t), the model's survival;
  on each alive day after day 0 the user plays with probability ``PLAY_PROB`` (day 0, the
  activation day, is always played);
  sessions on a played day = 1 + Poisson(mu), mu ~ Gamma(k, mean / k) (homogeneous if k = 0);
  per session Poisson(REWARDED_RATE) rewarded and Poisson(INTERSTITIAL_RATE) interstitial
  impressions filled, interstitials capped per day;
  purchases on a played day ~ Poisson(lambda), lambda ~ Gamma(r, rate alpha);
  each purchase's value ~ Gamma(p, rate nu), nu ~ Gamma(q, rate gamma) (Gamma-Gamma), snapped
  to the nearest price tier (in log space) when tiers are given.

Two samplers, the same distribution of every per-age sum:
  * ``_chunk_per_user``: the model as written, every user-day and every count drawn;
  * ``_chunk_aggregated`` (default), exact shortcuts:
    - L by inversion of the survival table S(t) (theta is used for nothing else);
    - sums of independent Poisson counts drawn once per age from the summed rate (rewarded
      always; sessions and interstitials when no per-day cap applies);
    - with every alive day played and no cap, users are grouped by L: the session rates of
      n users are one Gamma(n k) draw (a sum of Gammas);
    - purchases: a user's total over A played days is negative binomial (r, alpha/(alpha+A));
      one uniform against P(no purchase) decides whether the user pays at all, payers draw
      the zero-truncated count, and the purchases fall uniformly on the played days (a
      Poisson process given its count).
    The work per user no longer grows with the days played.
``tests/kernel/test_sampling_equivalence.py`` checks the two against each other.

Lookups that give the same variates, bit for bit, as the draws they replace (the same
uniforms consumed, the same comparisons): the lifetime inversion starts from a guide table
(``_lifetime_guide``) instead of bisecting; a capped day's interstitials compare the uniform
with a per-call table of the capped Poisson cdf for each session count
(``_interstitial_table``), and a capped user alive past age ``_ROW_MIN_LAST`` compares each
day's uniform with a row of their own session-count cdf (``rng.poisson_cdf_row``, built once
per user), both built with inversion's own arithmetic.
"""

import math

import numpy as np
from numba import prange

from simcore.kernel import layout as K
from simcore.kernel._jit import jit, jit_leaf, jit_parallel
from simcore.kernel.rng import (
    NO_CAP,
    PTRS_SWITCH,
    count_below,
    gamma,
    log_gamma_variate,
    poisson,
    poisson_cdf_row,
    poisson_from_row,
    poisson_inversion,
    uniform,
)


@jit_leaf
def _softplus(z):
    if z > 0.0:
        return z + math.log1p(math.exp(-z))
    return math.log1p(math.exp(z))


@jit_leaf
def _last_alive_age(s, alpha, beta, c, horizon):
    """Last age (0..horizon) at which the user has not churned."""
    lx = log_gamma_variate(s, alpha)
    ly = log_gamma_variate(s, beta)
    log_survive = -_softplus(lx - ly)  # log(1 - theta), theta = X / (X + Y)
    u = uniform(s)
    if log_survive >= 0.0:
        return horizon
    ratio = math.log(u) / log_survive
    if c != 1.0:
        ratio = ratio ** (1.0 / c)
    if ratio >= horizon:
        return horizon
    return np.int64(ratio)


@jit_leaf
def _snap_to_tier(value, tiers, edges):
    """Nearest price tier in log space; ``edges`` are geometric midpoints between tiers."""
    n = tiers.shape[0]
    if n == 0:
        return value
    i = 0
    while i < n - 1 and value > edges[i]:
        i += 1
    return tiers[i]


@jit_leaf
def _lifetime_from_table(s, surv, horizon):
    """Last alive age by inversion: the largest t <= horizon with S(t) >= U."""
    u = uniform(s)
    lo = 0
    hi = horizon
    while lo < hi:
        mid = (lo + hi + 1) >> 1
        if surv[mid] >= u:
            lo = mid
        else:
            hi = mid - 1
    return lo


_GUIDE = 1024  # buckets of the lifetime guide table (a power of two: u * _GUIDE is exact)


@jit
def _lifetime_guide(surv, horizon):
    """Guide table for ``_lifetime_guided``: int64[_GUIDE + 1], entry j the last alive age for
    U = (j + 1) / _GUIDE (0 past U = 1), a lower bound of the answer for any U in bucket j
    (U * _GUIDE in [j, j + 1)); or an empty array when ``surv`` is not non-increasing, where
    only the bisection of ``_lifetime_from_table`` is defined."""
    for t in range(horizon):
        if not surv[t + 1] <= surv[t]:
            return np.zeros(0, dtype=np.int64)
    guide = np.zeros(_GUIDE + 1, dtype=np.int64)
    t = horizon
    for j in range(_GUIDE):       # U = (j + 1) / _GUIDE rises with j: the answer falls
        u = (j + 1) / _GUIDE
        while t > 0 and not surv[t] >= u:
            t -= 1
        guide[j] = t
    return guide


@jit_leaf
def _lifetime_guided(s, surv, horizon, guide):
    """``_lifetime_from_table`` (the same uniform, the same answer, bit for bit) from the
    guide table's lower bound and a short upward scan; bisection without a guide."""
    if guide.size == 0:
        return _lifetime_from_table(s, surv, horizon)
    u = uniform(s)
    t = guide[np.int64(u * _GUIDE)]
    while t < horizon and surv[t + 1] >= u:
        t += 1
    return t


@jit_leaf
def _session_rate(s, extra_mean, shape):
    """A user's mean extra sessions per played day (Gamma heterogeneity; shape 0 = none)."""
    if shape > 0.0:
        return gamma(s, shape) * (extra_mean / shape)
    return extra_mean


@jit_leaf
def _purchase(s, nu, gg_p, tiers, tier_edges, t, acc):
    value = _snap_to_tier(gamma(s, gg_p) / nu, tiers, tier_edges)
    acc[K.V_PURCHASES, t] += 1.0
    acc[K.V_IAP_GROSS, t] += value


_EXP_TABLE = 64  # sessions per day with a precomputed exp(-rate * sessions)


@jit_leaf
def _user_day(s, t, mu, exp_neg_mu, is_rate, is_cap, exp_is, acc):
    """Sessions and capped interstitials of one played user-day; returns the sessions.

    ``exp_neg_mu`` = exp(-mu) for the user; ``exp_is[k]`` = exp(-is_rate * k).
    """
    if mu < PTRS_SWITCH:
        sessions = 1 + poisson_inversion(s, mu, exp_neg_mu, NO_CAP)
    else:
        sessions = 1 + poisson(s, mu)
    lam = is_rate * sessions
    cap = np.int64(is_cap) if is_cap >= 0.0 else NO_CAP
    if lam <= 0.0:
        shown = 0
    elif lam < PTRS_SWITCH and sessions < _EXP_TABLE:
        shown = poisson_inversion(s, lam, exp_is[sessions], cap)
    else:
        shown = min(poisson(s, lam), cap)
    acc[K.V_ACTIVE, t] += 1.0
    acc[K.V_SESSIONS, t] += sessions
    acc[K.V_INTERSTITIAL, t] += shown
    return sessions


_TABLE_CAP = 64  # per-day caps up to this use the interstitial table (``_interstitial_table``)


@jit
def _interstitial_table(is_rate, is_cap, exp_is):
    """The capped interstitial draw of ``_user_day`` as a lookup, for each session count
    k < _EXP_TABLE: cdf[k, :limit[k]] is the ``poisson_cdf_row`` of Poisson(is_rate * k) up to
    the cap, so the count of its entries below U is the count that inversion returns, bit for
    bit; limit[k] is the cap or where inversion stops early, -1 marks no draw (rate 0) and -2 a
    count drawn by ``poisson`` (rate >= PTRS_SWITCH). Empty without a cap or above
    _TABLE_CAP."""
    if not (is_cap >= 0.0 and is_cap <= _TABLE_CAP):
        return np.zeros((0, 0)), np.zeros(0, dtype=np.int64)
    cap = np.int64(is_cap)
    cdf = np.zeros((_EXP_TABLE, max(cap, 1)))
    limit = np.empty(_EXP_TABLE, dtype=np.int64)
    for k in range(_EXP_TABLE):
        lam = is_rate * k
        if lam <= 0.0:
            limit[k] = -1
            continue
        if not lam < PTRS_SWITCH:
            limit[k] = -2
            continue
        limit[k] = poisson_cdf_row(lam, exp_is[k], cap, -1.0, cdf[k])[0]
    return cdf, limit


@jit_leaf
def _shown_untabled(s, sessions, is_rate, is_cap, is_limit):
    """The capped interstitials of a day whose session count is off ``_interstitial_table``
    (rate 0: no draw; rate >= PTRS_SWITCH or _EXP_TABLE sessions and more: ``poisson``), as
    ``_user_day`` draws them."""
    if sessions < _EXP_TABLE and is_limit[sessions] == -1:
        return 0
    lam = is_rate * sessions
    if sessions >= _EXP_TABLE and not lam > 0.0:
        return 0
    return min(poisson(s, lam), np.int64(is_cap))


@jit
def _chunk_per_user(state, n_users, prm, tiers, tier_edges, horizon, acc):
    """Plain sampler: every user-day, impression count and purchase drawn individually."""
    play_prob = prm[K.PLAY_PROB]
    played = np.empty(horizon + 1, dtype=np.int64)
    exp_is = np.exp(-prm[K.INTERSTITIAL_RATE] * np.arange(_EXP_TABLE))
    for _ in range(n_users):
        last = _last_alive_age(state, prm[K.RET_ALPHA], prm[K.RET_BETA], prm[K.RET_C], horizon)
        mu = _session_rate(state, prm[K.SESS_EXTRA_MEAN], prm[K.SESS_SHAPE])
        exp_neg_mu = math.exp(-mu)
        n_played = 0
        for t in range(last + 1):
            if t > 0 and play_prob < 1.0 and uniform(state) >= play_prob:
                continue
            played[n_played] = t
            n_played += 1
            sessions = _user_day(state, t, mu, exp_neg_mu, prm[K.INTERSTITIAL_RATE],
                                 prm[K.INTERSTITIAL_CAP], exp_is, acc)
            acc[K.V_REWARDED, t] += poisson(state, prm[K.REWARDED_RATE] * sessions)
        if prm[K.IAP_R] <= 0.0:
            continue
        lam = gamma(state, prm[K.IAP_R]) / prm[K.IAP_ALPHA]
        nu = -1.0
        first = -1
        for k in range(n_played):
            t = played[k]
            for _j in range(poisson(state, lam)):
                if nu < 0.0:
                    nu = gamma(state, prm[K.GG_Q]) / prm[K.GG_GAMMA]
                    first = t
                _purchase(state, nu, prm[K.GG_P], tiers, tier_edges, t, acc)
        if first >= 0:
            acc[K.V_NEW_PAYERS, first] += 1.0


@jit_leaf
def _truncated_negbin(s, r, p):
    """N >= 1 from a negative binomial with P(N = 0) = p ** r, by inversion."""
    p0 = p**r
    u = p0 + (1.0 - p0) * uniform(s)
    pk = p0
    cdf = p0
    k = 0
    while cdf < u:
        pk *= (r + k) / (k + 1.0) * (1.0 - p)
        k += 1
        cdf += pk
        if pk < 1e-300 and k > r:
            break
    return max(k, 1)


_ROW_MIN_LAST = 2     # users alive past this age draw their sessions from a row of their own
_ROW_TAIL = 1e-6      # a session row ends where the cdf reaches 1 - this (then inversion)
_ROW_SIZE = 64


@jit
def _chunk_aggregated(state, n_users, prm, surv, no_purchase, tiers, tier_edges, horizon,
                      acc, guide, is_cdf, is_limit, session_rows):
    """Exact aggregated sampler (see the module docstring); same distribution as per-user.

    ``guide``: ``_lifetime_guide(surv, horizon)``; ``is_cdf, is_limit``:
    ``_interstitial_table`` of the plan's rate and cap (empty arrays: bisection and
    ``_user_day``, the same variates). ``session_rows``: with the interstitial table, a user
    alive past age ``_ROW_MIN_LAST`` draws each day's extra sessions from a
    ``poisson_cdf_row`` of their rate (the same variates as inversion, without its
    multiplications per draw)."""
    play_prob = prm[K.PLAY_PROB]
    extra_mean = prm[K.SESS_EXTRA_MEAN]
    sess_shape = prm[K.SESS_SHAPE]
    is_rate = prm[K.INTERSTITIAL_RATE]
    is_cap = prm[K.INTERSTITIAL_CAP]
    capped = is_cap >= 0.0
    grouped = play_prob >= 1.0 and not capped
    iap_r = prm[K.IAP_R]
    n_ages = horizon + 1
    users_by_last = np.zeros(n_ages)
    mu_sum = np.zeros(n_ages)
    played = np.arange(n_ages)
    exp_is = np.exp(-is_rate * np.arange(_EXP_TABLE))
    row = np.empty(_ROW_SIZE)

    for _ in range(n_users):
        last = _lifetime_guided(state, surv, horizon, guide)
        if grouped:
            users_by_last[last] += 1.0
            n_played = last + 1
        else:
            mu = _session_rate(state, extra_mean, sess_shape)
            exp_neg_mu = math.exp(-mu)
            n_row, whole = 0, False      # the user's session row: entries (0: none)
            if session_rows and is_limit.size and last > _ROW_MIN_LAST and mu < PTRS_SWITCH:
                n_row, whole = poisson_cdf_row(mu, exp_neg_mu, NO_CAP, _ROW_TAIL, row)
            n_played = 0
            for t in range(last + 1):
                if t > 0 and play_prob < 1.0 and uniform(state) >= play_prob:
                    continue
                played[n_played] = t
                n_played += 1
                if is_limit.size:      # _user_day with the tables, written out so that
                    if n_row:             # the common path stays in this loop
                        sessions = 1 + poisson_from_row(uniform(state), row, n_row, whole, mu,
                                                        exp_neg_mu, NO_CAP)
                    elif mu < PTRS_SWITCH:
                        sessions = 1 + poisson_inversion(state, mu, exp_neg_mu, NO_CAP)
                    else:
                        sessions = 1 + poisson(state, mu)
                    if sessions < _EXP_TABLE and is_limit[sessions] >= 0:
                        shown = count_below(uniform(state), is_cdf[sessions],
                                            is_limit[sessions])
                    else:
                        shown = _shown_untabled(state, sessions, is_rate, is_cap, is_limit)
                    acc[K.V_ACTIVE, t] += 1.0
                    acc[K.V_SESSIONS, t] += sessions
                    acc[K.V_INTERSTITIAL, t] += shown
                elif capped:
                    _user_day(state, t, mu, exp_neg_mu, is_rate, is_cap, exp_is, acc)
                else:
                    acc[K.V_ACTIVE, t] += 1.0
                    mu_sum[t] += mu
        if iap_r <= 0.0 or uniform(state) <= no_purchase[n_played]:
            continue
        alpha = prm[K.IAP_ALPHA]
        n_buy = _truncated_negbin(state, iap_r, alpha / (alpha + n_played))
        nu = gamma(state, prm[K.GG_Q]) / prm[K.GG_GAMMA]
        first = n_ages
        for _j in range(n_buy):
            k = min(np.int64(uniform(state) * n_played), n_played - 1)
            t = played[k]
            _purchase(state, nu, prm[K.GG_P], tiers, tier_edges, t, acc)
            first = min(first, t)
        acc[K.V_NEW_PAYERS, first] += 1.0

    if grouped:  # suffix sums over the lifetime groups, one Gamma draw per group
        run_users = 0.0
        run_rate = 0.0
        for t in range(horizon, -1, -1):
            n = users_by_last[t]
            if n > 0.0:
                run_users += n
                if sess_shape > 0.0:
                    run_rate += gamma(state, n * sess_shape) * (extra_mean / sess_shape)
                else:
                    run_rate += n * extra_mean
            acc[K.V_ACTIVE, t] = run_users
            mu_sum[t] = run_rate
    for t in range(n_ages):
        if not capped:
            acc[K.V_SESSIONS, t] = acc[K.V_ACTIVE, t] + poisson(state, mu_sum[t])
            acc[K.V_INTERSTITIAL, t] = poisson(state, is_rate * acc[K.V_SESSIONS, t])
        acc[K.V_REWARDED, t] = poisson(state, prm[K.REWARDED_RATE] * acc[K.V_SESSIONS, t])


@jit_parallel
def simulate_tasks(task_users, task_cohort, task_seeds, prm, surv, no_purchase, tiers,
                   tier_edges, horizon, aggregate, out):
    """Simulate a batch of tasks (chunks of one cohort's users) and add them to ``out``.

    task_users: int64[n_tasks] users per task; task_cohort: int64[n_tasks] cohort (row of
    ``out``); task_seeds: uint64[n_tasks, 4] xoshiro256** states; prm: float64[N_PARAMS];
    surv: survival S(0..horizon); no_purchase[a]: P(no purchase over a played days),
    a = 0..horizon+1; tiers, tier_edges: price tiers [USD] and their log-midpoints; out:
    float64[n_cohorts, N_VARS, horizon + 1], added to in place. Tasks run in parallel, each
    into its own block; the blocks are then added to ``out`` in task order, so calling this
    on consecutive batches of tasks gives the same sums, bit for bit, as one call on all of
    them, whatever the thread count.
    """
    n_tasks = task_users.shape[0]
    blocks = np.zeros((n_tasks, K.N_VARS, horizon + 1))
    guide = _lifetime_guide(surv, horizon) if aggregate else np.zeros(0, dtype=np.int64)
    is_rate = prm[K.INTERSTITIAL_RATE]
    is_cdf, is_limit = _interstitial_table(is_rate, prm[K.INTERSTITIAL_CAP],
                                           np.exp(-is_rate * np.arange(_EXP_TABLE)))
    for i in prange(n_tasks):
        state = task_seeds[i].copy()
        if aggregate:
            _chunk_aggregated(state, task_users[i], prm, surv, no_purchase, tiers, tier_edges,
                              horizon, blocks[i], guide, is_cdf, is_limit, True)
        else:
            _chunk_per_user(state, task_users[i], prm, tiers, tier_edges, horizon, blocks[i])
    for i in range(n_tasks):
        out[task_cohort[i]] += blocks[i]
