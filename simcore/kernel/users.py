"""The per-user kernel: simulate chunks of activated users and accumulate (age) sums.

Per user (all heterogeneity is per user, drawn once):
  churn propensity theta ~ Beta(alpha, beta); last alive age L with
  P(L >= t | theta) = (1 - theta) ** (t ** c)  (c = 1: shifted-beta-geometric, else BdW);
  on each alive day after day 0 the user plays with probability ``PLAY_PROB`` (day 0, the
  activation day, is always played);
  sessions on a played day = 1 + Poisson(mu), mu ~ Gamma(k, mean / k) (homogeneous if k = 0);
  per session Poisson(REWARDED_RATE) rewarded and Poisson(INTERSTITIAL_RATE) interstitial
  impressions filled, interstitials capped per day;
  purchases on a played day ~ Poisson(lambda), lambda ~ Gamma(r, rate alpha);
  each purchase's value ~ Gamma(p, rate nu), nu ~ Gamma(q, rate gamma) (Gamma-Gamma), snapped
  to the nearest price tier (in log space) when tiers are given.

Two samplers with the same distribution of every (age) sum:
  * per-user (``aggregate=False``): every user-day and every count is drawn individually;
  * aggregated (``aggregate=True``): sums of independent Poisson counts are drawn once per age
    from the summed rate (rewarded always; sessions and interstitials when no cap applies),
    and each user's purchases are drawn as one Poisson(lambda * played days) total spread
    uniformly over the played days (a Poisson process conditioned on its count). The work per
    user then no longer grows with the days played.
``tests/test_sampling_equivalence.py`` checks the two against each other.
"""

import math

import numpy as np
from numba import prange

from simcore.kernel import layout as K
from simcore.kernel._jit import jit, jit_parallel
from simcore.kernel.rng import gamma, log_gamma_variate, poisson, uniform


@jit
def _softplus(z):
    if z > 0.0:
        return z + math.log1p(math.exp(-z))
    return math.log1p(math.exp(z))


@jit
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


@jit
def _snap_to_tier(value, tiers, edges):
    """Nearest price tier in log space; ``edges`` are geometric midpoints between tiers."""
    n = tiers.shape[0]
    if n == 0:
        return value
    i = 0
    while i < n - 1 and value > edges[i]:
        i += 1
    return tiers[i]


@jit
def _simulate_chunk(state, n_users, prm, tiers, tier_edges, horizon, aggregate, acc):
    """Simulate ``n_users`` users with RNG ``state``; add their per-age sums into ``acc``."""
    alpha = prm[K.RET_ALPHA]
    beta = prm[K.RET_BETA]
    c = prm[K.RET_C]
    play_prob = prm[K.PLAY_PROB]
    extra_mean = prm[K.SESS_EXTRA_MEAN]
    sess_shape = prm[K.SESS_SHAPE]
    rw_rate = prm[K.REWARDED_RATE]
    is_rate = prm[K.INTERSTITIAL_RATE]
    is_cap = prm[K.INTERSTITIAL_CAP]
    iap_r = prm[K.IAP_R]
    iap_alpha = prm[K.IAP_ALPHA]
    gg_p = prm[K.GG_P]
    gg_q = prm[K.GG_Q]
    gg_gamma = prm[K.GG_GAMMA]

    capped = is_cap >= 0.0
    # aggregated sessions need no per-day user draws unless a per-day cap is applied
    agg_sessions = aggregate and not capped
    n_ages = horizon + 1
    active_diff = np.zeros(n_ages + 1)   # difference arrays for always-played lifetimes
    mu_diff = np.zeros(n_ages + 1)
    mu_sum = np.zeros(n_ages)            # summed session rates per age (intermittent play)
    played = np.empty(n_ages, dtype=np.int64)

    for _ in range(n_users):
        last = _last_alive_age(state, alpha, beta, c, horizon)
        if sess_shape > 0.0:
            mu = gamma(state, sess_shape) * (extra_mean / sess_shape)
        else:
            mu = extra_mean

        n_played = 0
        if play_prob >= 1.0 and agg_sessions:
            active_diff[0] += 1.0
            active_diff[last + 1] -= 1.0
            mu_diff[0] += mu
            mu_diff[last + 1] -= mu
            n_played = last + 1
        else:
            for t in range(last + 1):
                if t > 0 and play_prob < 1.0 and uniform(state) >= play_prob:
                    continue
                played[n_played] = t
                n_played += 1
                if agg_sessions:
                    acc[K.V_ACTIVE, t] += 1.0
                    mu_sum[t] += mu
                    continue
                sessions = 1 + poisson(state, mu)
                acc[K.V_ACTIVE, t] += 1.0
                acc[K.V_SESSIONS, t] += sessions
                if not aggregate:
                    acc[K.V_REWARDED, t] += poisson(state, rw_rate * sessions)
                shown = poisson(state, is_rate * sessions)
                if capped and shown > is_cap:
                    shown = np.int64(is_cap)
                acc[K.V_INTERSTITIAL, t] += shown

        if iap_r <= 0.0:
            continue
        lam = gamma(state, iap_r) / iap_alpha
        if lam <= 0.0:
            continue
        if aggregate:
            n_buy = poisson(state, lam * n_played)
        else:
            n_buy = 0
        first = n_ages
        nu = -1.0
        if aggregate:
            for _j in range(n_buy):
                k = np.int64(uniform(state) * n_played)
                if k >= n_played:
                    k = n_played - 1
                t = k if (play_prob >= 1.0 and agg_sessions) else played[k]
                if nu < 0.0:
                    nu = gamma(state, gg_q) / gg_gamma
                value = _snap_to_tier(gamma(state, gg_p) / nu, tiers, tier_edges)
                acc[K.V_PURCHASES, t] += 1.0
                acc[K.V_IAP_GROSS, t] += value
                if t < first:
                    first = t
        else:
            for k in range(n_played):
                t = played[k]
                n_day = poisson(state, lam)
                for _j in range(n_day):
                    if nu < 0.0:
                        nu = gamma(state, gg_q) / gg_gamma
                    value = _snap_to_tier(gamma(state, gg_p) / nu, tiers, tier_edges)
                    acc[K.V_PURCHASES, t] += 1.0
                    acc[K.V_IAP_GROSS, t] += value
                if n_day > 0 and t < first:
                    first = t
        if first < n_ages:
            acc[K.V_NEW_PAYERS, first] += 1.0

    # per-age totals drawn from summed Poisson rates (aggregated sampler only)
    if agg_sessions:
        run_active = 0.0
        run_mu = 0.0
        for t in range(n_ages):
            run_active += active_diff[t]
            run_mu += mu_diff[t]
            active_t = acc[K.V_ACTIVE, t] + run_active
            rate_t = mu_sum[t] + (run_mu if run_active > 0.0 else 0.0)
            acc[K.V_ACTIVE, t] = active_t
            sessions_t = active_t + poisson(state, rate_t)
            acc[K.V_SESSIONS, t] = sessions_t
            acc[K.V_INTERSTITIAL, t] = poisson(state, is_rate * sessions_t)
    if aggregate:
        for t in range(n_ages):
            acc[K.V_REWARDED, t] = poisson(state, rw_rate * acc[K.V_SESSIONS, t])


@jit_parallel
def simulate_tasks(task_users, task_cohort, task_seeds, prm, tiers, tier_edges, horizon,
                   n_cohorts, aggregate):
    """Simulate every task (a chunk of one cohort's users) and reduce into cohort sums.

    task_users: int64[n_tasks] users per task; task_cohort: int64[n_tasks] cohort index;
    task_seeds: uint64[n_tasks, 4] xoshiro256** states. Returns float64
    [n_cohorts, N_VARS, horizon + 1]. Tasks run in parallel, each into its own block; blocks
    are then added in task order, so the result does not depend on the thread count.
    """
    n_tasks = task_users.shape[0]
    n_ages = horizon + 1
    blocks = np.zeros((n_tasks, K.N_VARS, n_ages))
    for i in prange(n_tasks):
        state = task_seeds[i].copy()
        _simulate_chunk(state, task_users[i], prm, tiers, tier_edges, horizon, aggregate,
                        blocks[i])
    out = np.zeros((n_cohorts, K.N_VARS, n_ages))
    for i in range(n_tasks):
        out[task_cohort[i]] += blocks[i]
    return out
