"""Campaign delivery per calendar day: spend [USD] and activations per cohort, for one draw."""

from __future__ import annotations

import numpy as np

from simcore.plan import Acquisition


def expected_activations(acq: Acquisition) -> np.ndarray:
    """Mean activations on each campaign day (before the day's cost movement)."""
    if acq.bidding == "target_cpa":
        return acq.budgets_usd / acq.unit_costs_usd
    return acq.budgets_usd / acq.unit_costs_usd * 1000.0 * acq.funnel_rate


def deliver(acq: Acquisition, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(spend [USD], activations) per cohort (= campaign day) for one draw.

    The day's unit cost (CPA or CPM) is its saturated cost times a mean-one lognormal
    movement; target-CPA activations are Poisson(budget / CPA); CPM buys
    budget / CPM * 1000 impressions, each activating with the funnel rate (binomial).
    """
    sigma = acq.cost_volatility
    move = np.exp(sigma * rng.standard_normal(acq.days) - 0.5 * sigma**2)
    unit_cost = acq.unit_costs_usd * move
    spend = acq.budgets_usd.copy()
    if acq.bidding == "target_cpa":
        activations = rng.poisson(spend / unit_cost)
    else:
        impressions = np.floor(spend / unit_cost * 1000.0).astype(np.int64)
        activations = rng.binomial(impressions, acq.funnel_rate)
    return spend, activations.astype(np.int64)
