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

    Paid users: without UA rules the schedule is bought and simulated at once; with rules,
    day by day, the policy setting each day's budget from what was seen up to yesterday
    (streams are the same either way, so rules that never fire change nothing). Then, with
    sharing, share users day by day (see ``_share_users``).
    """
    acq = plan.acquisition
    n = plan.n_cohorts
    rng = seeding.acquisition_rng(plan.seed, draw, point, plan.market)
    spend = np.zeros(n)
    activations = np.zeros((len(CHANNELS), n), dtype=np.int64)
    sums = np.zeros((len(CHANNELS), n, K.N_VARS, plan.horizon + 1))
    if not plan.rules:
        spend[:acq.days], activations[0, :acq.days] = deliver(acq, rng)
        sums[0] = simulate_draw(plan, draw, activations[0], point)
    else:
        policy = Policy(plan.rules, acq.budgets_usd)
        moves = cost_moves(acq, rng)
        for day in range(acq.days):
            spend[day] = policy.budget(day)
            activations[0, day] = buy(acq, spend[day],
                                      acq.unit_cost(spend[day]) * moves[day], rng)
            sums[0, day] = _one_cohort(plan, draw, day, activations[0, day], point,
                                       seeding.USERS)
            policy.observe(day, spend[day], activations[0, day],
                           plan.money.net_revenue(sums[0, day]))
    if plan.fission is not None:
        _share_users(plan, draw, point, activations, sums)
    return spend, activations, sums


def _one_cohort(plan: Plan, draw: int, day: int, users: int, point: int,
                stream: int) -> np.ndarray:
    """Kernel sums [N_VARS, age] of one cohort of ``users`` activated on ``day``."""
    only_today = np.zeros(plan.n_cohorts, dtype=np.int64)
    only_today[day] = users
    return simulate_draw(plan, draw, only_today, point, stream)[day]


def _share_users(plan: Plan, draw: int, point: int, activations: np.ndarray,
                 sums: np.ndarray) -> None:
    """Add share users (channel 1) in place: day t brings Poisson(k * DAU(t - 1)) new users
    (capped), simulated on their own streams; their activity joins the DAU of later days."""
    f = plan.fission
    h = plan.horizon
    rng = seeding.share_rng(plan.seed, draw, point, plan.market)
    dau = np.zeros(plan.n_cohorts + h)          # active users by calendar day
    for cohort in range(plan.n_cohorts):
        dau[cohort:cohort + h + 1] += sums[0, cohort, K.V_ACTIVE]
    for day in range(1, f.window_days):
        arrivals = rng.poisson(f.k_per_active_day * dau[day - 1])
        if f.max_users_per_day is not None:
            arrivals = min(arrivals, f.max_users_per_day)
        activations[1, day] = arrivals
        if arrivals:
            sums[1, day] = _one_cohort(plan, draw, day, arrivals, point, seeding.SHARE_USERS)
            dau[day:day + h + 1] += sums[1, day, K.V_ACTIVE]


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
