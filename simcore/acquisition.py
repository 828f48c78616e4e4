"""Campaign delivery per calendar day: spend [USD] and activations per cohort, for one draw."""

from __future__ import annotations

import numpy as np

from simcore.plan import Acquisition


def cost_moves(acq: Acquisition, rng: np.random.Generator) -> np.ndarray:
    """Mean-one lognormal movement of the unit cost on each campaign day."""
    sigma = acq.cost_volatility
    return np.exp(sigma * rng.standard_normal(acq.days) - 0.5 * sigma**2)


def buy(acq: Acquisition, spend, unit_cost, rng: np.random.Generator) -> np.ndarray:
    """Activations bought with ``spend`` [USD] at ``unit_cost`` [USD] (per day, or arrays).

    Target CPA: Poisson(spend / CPA); CPM: spend / CPM * 1000 impressions, each activating
    with the funnel rate (binomial).
    """
    if acq.bidding == "target_cpa":
        activations = rng.poisson(np.asarray(spend) / unit_cost)
    else:
        impressions = np.floor(np.asarray(spend) / unit_cost * 1000.0).astype(np.int64)
        activations = rng.binomial(impressions, acq.funnel_rate)
    return np.asarray(activations, dtype=np.int64)


def deliver(acq: Acquisition, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(spend [USD], activations) per cohort (= campaign day) for one draw of the schedule.

    The day's unit cost is its saturated cost times the day's cost movement. Buying day by
    day with ``buy`` after ``cost_moves`` (as a policy does) uses the stream the same way.
    """
    moves = cost_moves(acq, rng)
    spend = acq.budgets_usd.copy()
    return spend, buy(acq, spend, acq.unit_costs_usd * moves, rng)


def expected_share_activations(plan, paid: np.ndarray) -> np.ndarray:
    """Expected share activations on each calendar day, given paid activations by day.

    The branching process in expectation: arrivals on day t are k * E[DAU(t - 1)] (at most
    ``share.max_users_per_day``), and E[DAU(t)] sums every earlier cohort (paid and share)
    times its expected active share at age t - c (retention, intermittent play). With
    effective K-factor K < 1, no cap and a long window, the total tends to
    sum(paid) * K / (1 - K).
    """
    from simcore.retention import active_share

    f, ret, n = plan.fission, plan.retention, plan.n_cohorts
    active = active_share(np.arange(plan.horizon + 1), ret.alpha, ret.beta, ret.c,
                          ret.play_probability)
    cohorts = np.zeros(n)
    cohorts[:paid.size] = paid
    share = np.zeros(n)
    dau = np.zeros(n + plan.horizon)
    for t in range(n):
        if 0 < t < f.window_days:
            share[t] = f.k_per_active_day * dau[t - 1]
            if f.max_users_per_day is not None:
                share[t] = min(share[t], f.max_users_per_day)
        dau[t:t + plan.horizon + 1] += (cohorts[t] + share[t]) * active
    return share
