"""Run a scenario: for each draw, deliver the campaign, simulate every user, assemble."""

from __future__ import annotations

import dataclasses
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


CHANNELS = ("paid_ads", "share")   # sources of activated users, in dataset order


def simulate_draw(plan: Plan, draw: int, activations: np.ndarray, point: int = 0,
                  stream: int = seeding.USERS) -> np.ndarray:
    """Kernel sums float64[n_cohorts, N_VARS, horizon + 1] for one draw's cohorts.

    ``stream`` keeps users of different channels on different random streams.
    """
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
        states.append(seeding.chunk_states(plan.seed, draw, cohort, n_chunks, point, stream,
                                           plan.market))
    if not users:
        return np.zeros((n_cohorts, K.N_VARS, plan.horizon + 1))
    args = (np.concatenate(users), np.concatenate(cohorts), np.concatenate(states),
            plan.params, plan.survival, plan.no_purchase, plan.tiers, plan.tier_edges,
            plan.horizon, n_cohorts, plan.aggregate)
    if len(users) > 1 or users[0].size > 1:
        return simulate_tasks(*args)
    import numba  # one chunk: nothing to share out, so skip the threads' start and wait

    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        return simulate_tasks(*args)
    finally:
        numba.set_num_threads(threads)


def simulate_campaign(plan: Plan, draw: int, point: int = 0,
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One draw's campaign: spend [USD] per cohort, activations [channel, cohort] and kernel
    sums [channel, cohort, N_VARS, age] (channels as in ``CHANNELS``).

    Without UA rules or sharing the schedule is bought at once. Otherwise day by day: the
    policy sets the day's budget from what was seen up to yesterday; share users arrive in
    proportion to yesterday's active users; the day's users are simulated, and their activity
    is added to the days ahead. Streams are the same either way, so rules that never fire
    change nothing.
    """
    acq = plan.acquisition
    n = plan.n_cohorts
    rng = seeding.acquisition_rng(plan.seed, draw, point, plan.market)
    spend = np.zeros(n)
    activations = np.zeros((len(CHANNELS), n), dtype=np.int64)
    if not plan.rules and plan.fission is None:
        spend[:], activations[0] = deliver(acq, rng)
        sums = np.zeros((len(CHANNELS), n, K.N_VARS, plan.horizon + 1))
        sums[0] = simulate_draw(plan, draw, activations[0], point)
        return spend, activations, sums
    policy = Policy(plan.rules, acq.budgets_usd)
    moves = cost_moves(acq, rng)
    fission, share_rng = plan.fission, seeding.share_rng(plan.seed, draw, point, plan.market)
    sums = np.zeros((len(CHANNELS), n, K.N_VARS, plan.horizon + 1))
    dau = np.zeros(n + plan.horizon)            # active users by calendar day, so far
    for day in range(n):
        if day < acq.days:
            spend[day] = policy.budget(day)
            activations[0, day] = buy(acq, spend[day], acq.unit_cost(spend[day]) * moves[day],
                                      rng)
        if fission is not None and 0 < day < fission.window_days:
            arrivals = share_rng.poisson(fission.k_per_active_day * dau[day - 1])
            if fission.max_users_per_day is not None:
                arrivals = min(arrivals, fission.max_users_per_day)
            activations[1, day] = arrivals
        for channel, stream in enumerate((seeding.USERS, seeding.SHARE_USERS)):
            if activations[channel, day]:
                only_today = np.zeros(n, dtype=np.int64)
                only_today[day] = activations[channel, day]
                sums[channel, day] = simulate_draw(plan, draw, only_today, point, stream)[day]
        dau[day:day + plan.horizon + 1] += sums[:, day, K.V_ACTIVE].sum(axis=0)
        if day < acq.days:
            policy.observe(day, spend[day], activations[0, day],
                           plan.money.net_revenue(sums[0, day]))
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
    every user. A scenario with ``[[markets]]`` runs each market and adds them up (see
    ``simcore.markets``). ``progress`` (optional) is called with 1 after each finished draw
    (of each market).
    """
    if loaded.scenario.markets:
        from simcore.markets import run_markets

        return run_markets(loaded, progress)
    return run_market(loaded, progress=progress)


def run_market(loaded: LoadedScenario, market: int = 0,
               progress: Callable[[int], None] | None = None) -> xr.Dataset:
    """``run`` for one market; ``market`` (its index in a multi-market run) picks its streams."""
    from simcore.dataset import build_dataset  # xarray loads in ~0.4 s: only when assembling

    plans, values = draw_plans(loaded)
    plans = [dataclasses.replace(p, market=market) for p in plans] if market else plans
    base = plans[0]
    n_cohorts = base.n_cohorts
    sums = np.zeros((base.draws, len(CHANNELS), n_cohorts, K.N_VARS, base.horizon + 1))
    spend = np.zeros((base.draws, n_cohorts))
    activations = np.zeros((base.draws, len(CHANNELS), n_cohorts), dtype=np.int64)
    money = np.zeros((base.draws, 3))
    for d, plan in enumerate(plans):
        spend[d], activations[d], sums[d] = simulate_campaign(plan, d)
        money[d] = plan.money.rewarded_usd, plan.money.interstitial_usd, plan.money.iap_net_share
        if progress is not None:
            progress(1)
    return build_dataset(sums, spend, activations, money, base, loaded, values)
