"""Campaign delivery per calendar day: spend [USD] and activations per cohort, for one draw."""

from __future__ import annotations

import numpy as np

from simcore.plan import Acquisition


def expected_activations(acq: Acquisition) -> np.ndarray:
    """Mean activations on each campaign day (before the day's cost movement)."""
    if acq.bidding == "target_cpa":
        return acq.budgets_usd / acq.unit_costs_usd
    return acq.budgets_usd / acq.unit_costs_usd * 1000.0 * acq.funnel_rate


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
