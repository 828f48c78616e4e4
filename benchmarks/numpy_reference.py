"""Vectorised NumPy reference of the kernel's user model (the baseline for bench_kernel.py).

The same model as ``simcore.kernel.users`` (see its module docstring), written the way a
competent engineer writes "the best plain NumPy": one process, ``numpy.random.Generator``,
users processed in blocks; per block every per-user quantity (lifetime, session rate,
purchase rate, Gamma-Gamma spend rate) is drawn up front, then a loop over ages draws the
per-day counts for the users still alive with array operations.

Per user: churn propensity theta ~ Beta(alpha, beta); last alive age L with
P(L >= t | theta) = (1 - theta) ** (t ** c), capped at the horizon; day 0 is always played,
each later alive day with probability PLAY_PROB; sessions on a played day = 1 + Poisson(mu),
mu ~ Gamma(k, scale mean / k) (homogeneous if k = 0); rewarded impressions
Poisson(rate * sessions); interstitials Poisson(rate * sessions), capped per day; purchases
Poisson(lambda) per played day, lambda ~ Gamma(r, rate alpha); each purchase's value
Gamma(p, rate nu), nu ~ Gamma(q, rate gamma) per user, snapped to the nearest price tier in
log space (geometric midpoints ``tier_edges``).

Input: the plan's float64 parameter vector (slots in ``simcore.kernel.layout``), price tiers
and their edges [USD], the horizon [days]. Output: float64[N_VARS, horizon + 1] sums per age
(rows as in ``simcore.kernel.layout``: active users, sessions, impressions, purchases, gross
purchase value [USD], new payers), the same array the kernel fills for one cohort.

The random streams differ from the kernel's (numpy PCG64 instead of xoshiro256**), so results
agree in distribution, not bit for bit.
"""

from __future__ import annotations

import numpy as np

from simcore.kernel import layout as K

BLOCK_USERS = 100_000


def _lifetimes(rng: np.random.Generator, m: int, alpha: float, beta: float, c: float,
               horizon: int) -> np.ndarray:
    """Last alive age (0..horizon) of ``m`` users, int64."""
    theta = rng.beta(alpha, beta, m)
    log_survive = np.log1p(-theta)                  # log(1 - theta) <= 0
    u = 1.0 - rng.random(m)                         # uniform on (0, 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.log(u) / log_survive             # P(ratio >= t**c) = (1 - theta)**(t**c)
    ratio = np.where(log_survive < 0.0, ratio, np.inf)   # theta = 0: never churns
    if c != 1.0:
        ratio = ratio ** (1.0 / c)
    return np.floor(np.minimum(ratio, horizon)).astype(np.int64)


def simulate_block(rng: np.random.Generator, m: int, prm: np.ndarray, tiers: np.ndarray,
                   tier_edges: np.ndarray, horizon: int) -> np.ndarray:
    """Per-age sums float64[N_VARS, horizon + 1] of ``m`` activated users."""
    n_ages = horizon + 1
    acc = np.zeros((K.N_VARS, n_ages))
    play_prob = prm[K.PLAY_PROB]
    extra_mean = prm[K.SESS_EXTRA_MEAN]
    sess_shape = prm[K.SESS_SHAPE]
    rw_rate = prm[K.REWARDED_RATE]
    is_rate = prm[K.INTERSTITIAL_RATE]
    is_cap = prm[K.INTERSTITIAL_CAP]
    iap_r = prm[K.IAP_R]

    # --- everything per user, drawn up front -----------------------------------------------
    last = _lifetimes(rng, m, prm[K.RET_ALPHA], prm[K.RET_BETA], prm[K.RET_C], horizon)
    # Users are exchangeable and their other traits are independent of L, so sorting the
    # lifetimes (longest first) leaves the model unchanged and makes "alive at age t" a prefix.
    last = np.sort(last)[::-1]
    n_alive = np.searchsorted(-last, -np.arange(n_ages), side="right")  # users with L >= t
    if sess_shape > 0.0:
        mu = rng.standard_gamma(sess_shape, m) * (extra_mean / sess_shape)
    else:
        mu = np.full(m, extra_mean)
    buys = iap_r > 0.0
    if buys:
        lam = rng.standard_gamma(iap_r, m) / prm[K.IAP_ALPHA]
        nu = rng.standard_gamma(prm[K.GG_Q], m) / prm[K.GG_GAMMA]
        paid = np.zeros(m, dtype=bool)

    # --- loop over ages, vectorised over the users alive --------------------------------------
    for t in range(n_ages):
        n = n_alive[t]
        if n == 0:
            break
        if t > 0 and play_prob < 1.0:
            who = np.flatnonzero(rng.random(n) < play_prob)
        else:
            who = np.arange(n)
        sessions = 1 + rng.poisson(mu[who])
        shown = rng.poisson(is_rate * sessions)
        if is_cap >= 0.0:
            np.minimum(shown, int(is_cap), out=shown)
        acc[K.V_ACTIVE, t] = who.size
        acc[K.V_SESSIONS, t] = sessions.sum()
        acc[K.V_REWARDED, t] = rng.poisson(rw_rate * sessions).sum()
        acc[K.V_INTERSTITIAL, t] = shown.sum()
        if not buys:
            continue
        count = rng.poisson(lam[who])
        hit = count > 0
        if not hit.any():
            continue
        buyers = who[hit]
        count = count[hit]
        value = rng.standard_gamma(prm[K.GG_P], int(count.sum())) / np.repeat(nu[buyers], count)
        if tiers.size:
            value = tiers[np.searchsorted(tier_edges, value, side="left")]
        acc[K.V_PURCHASES, t] = count.sum()
        acc[K.V_IAP_GROSS, t] = value.sum()
        new = buyers[~paid[buyers]]
        acc[K.V_NEW_PAYERS, t] = new.size
        paid[new] = True
    return acc


def simulate_users(prm: np.ndarray, tiers: np.ndarray, tier_edges: np.ndarray, horizon: int,
                   n_users: int, seed=0, block_users: int = BLOCK_USERS,
                   return_blocks: bool = False):
    """Per-age sums float64[N_VARS, horizon + 1] of ``n_users`` activated users.

    ``seed``: an int or a ``numpy.random.Generator``. With ``return_blocks`` also returns the
    list of per-block sums (for a batch-means standard error).
    """
    rng = np.random.default_rng(seed)
    tiers = np.asarray(tiers, dtype=float)
    tier_edges = np.asarray(tier_edges, dtype=float)
    total = np.zeros((K.N_VARS, horizon + 1))
    blocks = []
    for start in range(0, n_users, block_users):
        m = min(block_users, n_users - start)
        acc = simulate_block(rng, m, prm, tiers, tier_edges, horizon)
        total += acc
        if return_blocks:
            blocks.append((m, acc))
    return (total, blocks) if return_blocks else total
