"""The drama kernel: follow each viewer of a series day by day, episode by episode.

The viewer model (heterogeneity drawn once per viewer):
  continuation propensity theta ~ Beta(a, b) (or fixed); after episode k the viewer goes on
  with probability theta ** w_k (w: ``weights``, smaller after cliffhangers);
  pace: episodes on an active day = 1 + Poisson(lam), lam ~ Gamma(shape, extra / shape)
  (or fixed); day 0 is active, each later day with probability ``WATCH_PROB``;
  TikTok pay: with probability ``TT_SHARE`` the viewer pays through TikTok pay (its
  conversion chances apply; prices are recorded at list value, the discount is applied when
  the dataset is assembled, so it changes no random draw);
  locked episodes (after ``FREE``): a running pass unlocks them; a viewer who chose ads
  watches one rewarded ad per episode; coins are spent while they last. Otherwise the viewer
  faces the paywall: a past coin buyer buys again with probability ``REPURCHASE``, a past
  pass holder renews with probability ``RENEWAL``, else leaves; a viewer who has not paid
  buys coins / a pass / chooses ads with the paywall chances, else leaves. Coins: the
  smallest pack covering the shortfall (the largest, repeatedly, when none does); leftover
  coins are kept.
Viewers who finish the last episode or leave are done; the horizon ends everything else.
"""

import math

import numpy as np
from numba import prange

from simcore.kernel import drama_layout as D
from simcore.kernel._jit import jit, jit_leaf, jit_parallel
from simcore.kernel.rng import gamma, log_gamma_variate, poisson, uniform

_NONE, _COINS, _PASS, _AD = 0, 1, 2, 3


@jit_leaf
def _log_theta(s, prm):
    """log of a viewer's continuation propensity."""
    a = prm[D.THETA_A]
    if a <= 0.0:
        return prm[D.LOG_THETA]
    lx = log_gamma_variate(s, a)
    ly = log_gamma_variate(s, prm[D.THETA_B])
    hi = max(lx, ly)
    return lx - (hi + math.log(math.exp(lx - hi) + math.exp(ly - hi)))


@jit_leaf
def _buy_coins(shortfall, pack_coins, pack_usd, usd_row, t, acc):
    """Buy the smallest pack covering ``shortfall`` coins (the largest, repeatedly, when none
    does); returns the coins bought."""
    n = pack_coins.shape[0]
    bought = 0.0
    while bought < shortfall:
        i = 0
        while i < n - 1 and pack_coins[i] < shortfall - bought:
            i += 1
        bought += pack_coins[i]
        acc[D.PACKS, t] += 1.0
        acc[usd_row, t] += pack_usd[i]
    acc[D.COINS_BOUGHT, t] += bought
    return bought


@jit_leaf
def _buy_pass(weekly, tt, prm, t, acc):
    """Record a pass bought at age ``t``; returns the age its access ends (exclusive)."""
    row = D.PASSES_USD_TT if tt else D.PASSES_USD
    if weekly:
        acc[D.PASSES_WEEKLY, t] += 1.0
        acc[row, t] += prm[D.WEEKLY_USD]
        return t + np.int64(prm[D.WEEKLY_DAYS])
    acc[D.PASSES_MONTHLY, t] += 1.0
    acc[row, t] += prm[D.MONTHLY_USD]
    return t + np.int64(prm[D.MONTHLY_DAYS])


@jit
def _chunk(s, n_viewers, prm, weights, price, pack_coins, pack_usd, horizon, acc, reach):
    n_ep = np.int64(prm[D.EPISODES])
    free = np.int64(prm[D.FREE])
    watch_prob = prm[D.WATCH_PROB]
    extra, shape = prm[D.PACE_EXTRA], prm[D.PACE_SHAPE]
    tt_share = prm[D.TT_SHARE]
    for _ in range(n_viewers):
        log_theta = _log_theta(s, prm)
        lam = gamma(s, shape) * (extra / shape) if shape > 0.0 else extra
        tt = tt_share > 0.0 and uniform(s) < tt_share
        p_coins = prm[D.COINS_P_TT] if tt else prm[D.COINS_P]
        p_pass = prm[D.PASS_P_TT] if tt else prm[D.PASS_P]
        p_ad = prm[D.AD_P]
        pack_row = D.PACKS_USD_TT if tt else D.PACKS_USD
        ep = np.int64(1)              # next episode to watch
        coins = 0.0
        method = _NONE
        weekly = True
        pass_until = np.int64(-1)     # first age without pass access
        paid = False
        done = False
        for t in range(horizon + 1):
            if t > 0 and watch_prob < 1.0 and uniform(s) >= watch_prob:
                continue
            today = 1 + poisson(s, lam)
            watched = 0
            for _j in range(today):
                if ep > 1 and log_theta < 0.0:
                    if uniform(s) >= math.exp(weights[ep - 1] * log_theta):
                        done = True
                        break
                if ep > free:
                    if pass_until > t:
                        acc[D.UNLOCK_PASS, t] += 1.0
                    elif method == _AD:
                        acc[D.UNLOCK_AD, t] += 1.0
                    elif coins >= price[ep]:
                        coins -= price[ep]
                        acc[D.COINS_SPENT, t] += price[ep]
                        acc[D.UNLOCK_COINS, t] += 1.0
                    else:
                        acc[D.PAYWALL, t] += 1.0
                        u = uniform(s)
                        if method == _COINS:
                            choice = _COINS if u < prm[D.REPURCHASE] else _NONE
                        elif method == _PASS:
                            choice = _PASS if u < prm[D.RENEWAL] else _NONE
                        elif u < p_coins:
                            choice = _COINS
                        elif u < p_coins + p_pass:
                            choice = _PASS
                            weekly = uniform(s) < prm[D.WEEKLY_SHARE]
                        elif u < p_coins + p_pass + p_ad:
                            choice = _AD
                        else:
                            choice = _NONE
                        if choice == _NONE:
                            done = True
                            break
                        method = choice
                        if choice == _AD:
                            acc[D.UNLOCK_AD, t] += 1.0
                        else:
                            if not paid:
                                paid = True
                                acc[D.NEW_PAYERS, t] += 1.0
                            if choice == _COINS:
                                coins += _buy_coins(price[ep] - coins, pack_coins, pack_usd,
                                                    pack_row, t, acc)
                                coins -= price[ep]
                                acc[D.COINS_SPENT, t] += price[ep]
                                acc[D.UNLOCK_COINS, t] += 1.0
                            else:
                                pass_until = _buy_pass(weekly, tt, prm, t, acc)
                                acc[D.UNLOCK_PASS, t] += 1.0
                else:
                    acc[D.FREE_VIEWS, t] += 1.0
                acc[D.EPISODES_WATCHED, t] += 1.0
                reach[ep - 1] += 1.0
                watched += 1
                ep += 1
                if ep > n_ep:
                    done = True
                    break
            if watched > 0:
                acc[D.VIEWERS, t] += 1.0
            if done:
                break


@jit_parallel
def simulate_viewers(task_viewers, task_group, task_seeds, prm, weights, price, pack_coins,
                     pack_usd, horizon, out, out_reach):
    """Simulate a batch of tasks (chunks of one group's viewers) and add them to the groups.

    task_viewers: int64[n_tasks]; task_group: int64[n_tasks] group index; task_seeds:
    uint64[n_tasks, 4] xoshiro256** states; prm: float64[N_PARAMS]; weights[k]: exponent of
    the continuation after episode k (k = 1 .. episodes - 1; index 0 unused); price[k]: coins
    to unlock episode k; pack_coins, pack_usd: coin packs [coins], [USD]. Adds in place to
    ``out`` (float64[n_groups, N_ROWS, horizon + 1] sums by age) and ``out_reach``
    (float64[n_groups, episodes] viewers who watched each episode). Blocks are added in task
    order, so consecutive batches give the same sums as one call: no dependence on threads.
    """
    n_tasks = task_viewers.shape[0]
    n_ep = np.int64(prm[D.EPISODES])
    blocks = np.zeros((n_tasks, D.N_ROWS, horizon + 1))
    reach = np.zeros((n_tasks, n_ep))
    for i in prange(n_tasks):
        state = task_seeds[i].copy()
        _chunk(state, task_viewers[i], prm, weights, price, pack_coins, pack_usd, horizon,
               blocks[i], reach[i])
    for i in range(n_tasks):
        out[task_group[i]] += blocks[i]
        out_reach[task_group[i]] += reach[i]
