"""Run a scenario: for each draw, deliver the campaign, simulate every user, assemble."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from simcore import seeding
from simcore.acquisition import buy, cost_moves, deliver
from simcore.kernel import layout as K
from simcore.kernel.users import simulate_tasks
from simcore.plan import Plan, compile_loaded
from simcore.policy import Policy
from simcore.scenario import LoadedScenario

if TYPE_CHECKING:
    import xarray as xr

CHUNK_USERS = 16_384  # users per random stream; fixed, so results never depend on it


def simulate_draw(plan: Plan, draw: int, activations: np.ndarray, point: int = 0) -> np.ndarray:
    """Kernel sums float64[n_cohorts, N_VARS, horizon + 1] for one draw's cohorts."""
    n_cohorts = activations.size
    users, cohorts, states = [], [], []
    for cohort, n in enumerate(activations):
        n_chunks = -(-int(n) // CHUNK_USERS)
        if n_chunks == 0:
            continue
        sizes = np.full(n_chunks, CHUNK_USERS, dtype=np.int64)
        sizes[-1] = int(n) - CHUNK_USERS * (n_chunks - 1)
        users.append(sizes)
        cohorts.append(np.full(n_chunks, cohort, dtype=np.int64))
        states.append(seeding.chunk_states(plan.seed, draw, cohort, n_chunks, point))
    if not users:
        return np.zeros((n_cohorts, K.N_VARS, plan.horizon + 1))
    return simulate_tasks(np.concatenate(users), np.concatenate(cohorts),
                          np.concatenate(states), plan.params, plan.survival, plan.no_purchase,
                          plan.tiers, plan.tier_edges, plan.horizon, n_cohorts, plan.aggregate)


def simulate_campaign(plan: Plan, draw: int, point: int = 0,
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One draw's campaign: (spend [USD], activations) per cohort and the kernel sums.

    Without UA rules the schedule is bought at once. With rules, day by day: the policy sets
    the day's budget from what was seen up to yesterday, the day's users are bought and
    simulated, and the policy observes their cohort. Streams are the same either way, so rules
    that never fire change nothing.
    """
    acq = plan.acquisition
    rng = seeding.acquisition_rng(plan.seed, draw, point)
    if not plan.rules:
        spend, activations = deliver(acq, rng)
        return spend, activations, simulate_draw(plan, draw, activations, point)
    policy = Policy(plan.rules, acq.budgets_usd)
    moves = cost_moves(acq, rng)
    spend = np.zeros(acq.days)
    activations = np.zeros(acq.days, dtype=np.int64)
    sums = np.zeros((acq.days, K.N_VARS, plan.horizon + 1))
    for day in range(acq.days):
        spend[day] = policy.budget(day)
        activations[day] = buy(acq, spend[day], acq.unit_cost(spend[day]) * moves[day], rng)
        only_today = np.zeros(acq.days, dtype=np.int64)
        only_today[day] = activations[day]
        sums[day] = simulate_draw(plan, draw, only_today, point)[day]
        policy.observe(day, spend[day], activations[day], plan.money.net_revenue(sums[day]))
    return spend, activations, sums


def draw_plans(loaded: LoadedScenario, point: int = 0) -> tuple[list[Plan], dict[str, np.ndarray]]:
    """One plan per draw and the sampled uncertain values [draw] by dotted key.

    Every draw's scenario is validated and compiled before any user is simulated, so a bad
    draw fails fast (fits are memoised: draws share the sections they do not vary).
    """
    scenarios, values = loaded.draw_scenarios(point)
    if not values:
        return [compile_loaded(loaded)] * len(scenarios), values
    central = compile_loaded(loaded).retention  # each draw's fit starts from the medians'
    return [compile_loaded(loaded, s, central) for s in scenarios], values


def run(loaded: LoadedScenario, progress: Callable[[int], None] | None = None) -> xr.Dataset:
    """Simulate every draw of a loaded scenario; return the ROAS dataset.

    Each draw samples its uncertain parameters, then delivers the campaign and simulates
    every user. ``progress`` (optional) is called with 1 after each finished draw.
    """
    from simcore.dataset import build_dataset  # xarray loads in ~0.4 s: only when assembling

    plans, values = draw_plans(loaded)
    base = plans[0]
    n_cohorts = base.acquisition.days
    sums = np.zeros((base.draws, n_cohorts, K.N_VARS, base.horizon + 1))
    spend = np.zeros((base.draws, n_cohorts))
    activations = np.zeros((base.draws, n_cohorts), dtype=np.int64)
    money = np.zeros((base.draws, 3))
    for d, plan in enumerate(plans):
        spend[d], activations[d], sums[d] = simulate_campaign(plan, d)
        money[d] = plan.money.rewarded_usd, plan.money.interstitial_usd, plan.money.iap_net_share
        if progress is not None:
            progress(1)
    return build_dataset(sums, spend, activations, money, base, loaded, values)
