"""Simulate a game: for each draw, deliver the campaign, simulate every user, assemble."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from simcore import seeding
from simcore.kernel import layout as K
from simcore.kernel.users import simulate_tasks
from simcore.kinds.game.plan import Plan, compile_loaded
from simcore.model.acquisition import buy, cost_moves, deliver
from simcore.model.channels import CHANNELS
from simcore.model.chunks import run_chunks
from simcore.model.ua_rules import Policy
from simcore.scenario import LoadedScenario

if TYPE_CHECKING:
    import xarray as xr

_CH = {name: i for i, name in enumerate(CHANNELS)}

def simulate_groups(plan: Plan, draw: int, groups: list[tuple[int, int, int]],
                    point: int = 0) -> np.ndarray:
    """Kernel sums float64[len(groups), N_VARS, horizon + 1], one block per group of users.

    A group is (cohort, users, stream): the users activated on day ``cohort`` through the
    channel whose random stream is ``stream``. The groups' chunks run in batches of
    ``seeding.BATCH_CHUNKS``, one parallel kernel call each (see ``run_chunks``); each chunk
    has its own stream, so a group's sums do not depend on the others.
    """
    out = np.zeros((len(groups), K.N_VARS, plan.horizon + 1))
    run_chunks(simulate_tasks, plan.seed, draw, groups, point, plan.market,
               (plan.params, plan.survival, plan.no_purchase, plan.tiers, plan.tier_edges,
                plan.horizon, plan.aggregate), (out,))
    return out


def simulate_draw(plan: Plan, draw: int, activations: np.ndarray, point: int = 0,
                  stream: int = seeding.USERS) -> np.ndarray:
    """Kernel sums float64[n_cohorts, N_VARS, horizon + 1] of one channel's cohorts
    (``activations`` [cohort] users; ``stream``: the channel's random stream)."""
    return simulate_groups(plan, draw, [(c, n, stream) for c, n in enumerate(activations)],
                           point)


def simulate_campaign(plan: Plan, draw: int, point: int = 0,
                      ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One draw's campaign: spend [channel, cohort] [USD], activations [channel, cohort] and
    kernel sums [channel, cohort, N_VARS, age] (channels as in ``CHANNELS``).

    Paid ads: without UA rules the schedule is bought and simulated at once; with rules, day
    by day, the policy setting each day's budget from what was seen up to yesterday (streams
    are the same either way, so rules that never fire change nothing). Creator videos next
    (they depend on nothing simulated). Then organic and share users day by day, since they
    follow recent activations and active users (see ``_later_users``).
    """
    acq = plan.acquisition
    n = plan.n_cohorts
    rng = seeding.acquisition_rng(plan.seed, draw, point, plan.market)
    spend = np.zeros((len(CHANNELS), n))
    activations = np.zeros((len(CHANNELS), n), dtype=np.int64)
    sums = np.zeros((len(CHANNELS), n, K.N_VARS, plan.horizon + 1))
    paid = _CH["paid_ads"]
    if not plan.rules:
        spend[paid, :acq.days], activations[paid, :acq.days] = deliver(acq, rng)
        sums[paid] = _cohorts(plan, draw, activations[paid], point, "paid_ads")
    else:
        policy = Policy(plan.rules, acq.budgets_usd)
        moves = cost_moves(acq, rng)
        for day in range(acq.days):
            spend[paid, day] = policy.budget(day)
            activations[paid, day] = buy(acq, spend[paid, day],
                                         acq.unit_cost(spend[paid, day]) * moves[day], rng)
            sums[paid, day] = _one_cohort(plan, draw, day, activations[paid, day], point,
                                          "paid_ads")
            policy.observe(day, spend[paid, day], activations[paid, day],
                           plan.money.net_revenue(sums[paid, day]))
    if plan.creators is not None:
        c, cr = _CH["creator"], plan.creators
        rng = seeding.draw_rng(seeding.CREATOR, plan.seed, draw, point, plan.market)
        for day in range(cr.days):
            views = rng.lognormal(cr.log_views_median, cr.log_views_sd,
                                  rng.poisson(cr.videos_per_day)).sum()
            activations[c, day] = rng.poisson(views * cr.activation_per_view)
            spend[c, day] = views * cr.usd_per_view
        sums[c] = _cohorts(plan, draw, activations[c], point, "creator")
    if plan.organic is not None or plan.fission is not None:
        _later_users(plan, draw, point, activations, sums)
    return spend, activations, sums


def _cohorts(plan: Plan, draw: int, users: np.ndarray, point: int, channel: str) -> np.ndarray:
    """Kernel sums [cohort, N_VARS, age] of a channel's cohorts (users [cohort])."""
    return simulate_draw(plan.for_channel(channel), draw, users, point,
                         seeding.CHANNEL_USERS[channel])


def _one_cohort(plan: Plan, draw: int, day: int, users: int, point: int,
                channel: str) -> np.ndarray:
    """Kernel sums [N_VARS, age] of one cohort of ``users`` activated on ``day``."""
    return simulate_groups(plan.for_channel(channel), draw,
                           [(day, users, seeding.CHANNEL_USERS[channel])], point)[0]


def _later_users(plan: Plan, draw: int, point: int, activations: np.ndarray,
                 sums: np.ndarray) -> None:
    """Add organic and share users in place, day by day, from what earlier days brought.

    Day t: search and profile bring Poisson(their rate); lapsed users come back through the
    profile entrance, Poisson(q * lapsed(t - 1)), lapsed = users activated so far minus those
    expected not to have churned (survival); the Mini Games Center brings
    Poisson(scale * (activations of days t-7 .. t-1 / 1000) ** exponent); sharing brings
    Poisson(k * DAU(t - 1)), capped. Each group is simulated on its own streams; their
    activations and activity count for the days after.
    """
    h, n = plan.horizon, plan.n_cohorts
    organic, fission = plan.organic, plan.fission
    organic_rng = seeding.draw_rng(seeding.ORGANIC, plan.seed, draw, point, plan.market)
    share_rng = seeding.draw_rng(seeding.SHARE, plan.seed, draw, point, plan.market)
    dau = np.zeros(n + h)                       # active users by calendar day
    alive = np.zeros(n + h)                     # expected users not yet churned, by day
    for cohort in range(n):
        dau[cohort:cohort + h + 1] += sums[:, cohort, K.V_ACTIVE].sum(axis=0)
        for channel in ("paid_ads", "creator"):
            alive[cohort:cohort + h + 1] += (activations[_CH[channel], cohort]
                                             * plan.for_channel(channel).survival)
    for day in range(n):
        arrivals = {}
        if organic is not None and day < plan.organic_days:
            recent = activations[:, max(day - 7, 0):day].sum()
            arrivals["search"] = organic_rng.poisson(organic.search_per_day)
            arrivals["profile"] = organic_rng.poisson(organic.profile_per_day)
            if organic.profile_return_probability > 0.0 and day > 0:
                lapsed = activations[:, :day].sum() - alive[day - 1]
                arrivals["profile_return"] = organic_rng.poisson(
                    organic.profile_return_probability * max(lapsed, 0.0))
            arrivals["games_center"] = organic_rng.poisson(
                organic.games_center_scale * (recent / 1000.0) ** organic.games_center_exponent)
        if fission is not None and 0 < day < fission.window_days:
            share = share_rng.poisson(fission.k_per_active_day * dau[day - 1])
            if fission.max_users_per_day is not None:
                share = min(share, fission.max_users_per_day)
            arrivals["share"] = share
        by_plan: dict[str, list[str]] = {}      # channels whose users share a plan: one call
        for channel, users in arrivals.items():
            if users:
                own = channel if channel in plan.channel_plans else "paid_ads"
                by_plan.setdefault(own, []).append(channel)
        for channels in by_plan.values():
            blocks = simulate_groups(plan.for_channel(channels[0]), draw, [
                (day, arrivals[c], seeding.CHANNEL_USERS[c]) for c in channels], point)
            for channel, block in zip(channels, blocks):
                activations[_CH[channel], day] = arrivals[channel]
                sums[_CH[channel], day] = block
                dau[day:day + h + 1] += block[K.V_ACTIVE]
                alive[day:day + h + 1] += arrivals[channel] * plan.for_channel(channel).survival


def draw_plans(loaded: LoadedScenario, point: int = 0, draws: np.ndarray | None = None,
               ) -> tuple[list[Plan], dict[str, np.ndarray]]:
    """One plan per draw (``draws``: their numbers, default all) and the sampled uncertain
    values [draw] by dotted key.

    Every draw's scenario is validated and compiled before any user is simulated, so a bad
    draw fails fast (fits are memoised: draws share the sections they do not vary).
    """
    scenarios, values = loaded.draw_scenarios(point, draws)
    if not values:
        return [compile_loaded(loaded)] * len(scenarios), values
    central = compile_loaded(loaded).retention  # each draw's fit starts from the medians'
    return [compile_loaded(loaded, s, central) for s in scenarios], values


class PlansAhead(Sequence):
    """The plans of a run's draws, compiled in draw order on a background thread while the
    draws already compiled are simulated (``simcore run`` spent 1.3 s of fits before its
    first user otherwise); the same plans, bit for bit, as ``draw_plans``.

    ``self[i]`` waits for plan i. A compile error (e.g. targets no retention model reaches)
    is raised by the next ``self[i]`` whatever i, so a bad draw still stops the run within a
    draw of its fit; the thread stops there, or at ``close()``.
    """

    def __init__(self, loaded: LoadedScenario, scenarios: list, market: int = 0):
        self._loaded, self._scenarios, self._market = loaded, scenarios, market
        self._plans: list[Plan | None] = [None] * len(scenarios)
        self._error: BaseException | None = None
        self._stop = False
        self._ready = threading.Condition()
        central = compile_loaded(loaded).retention  # each draw's fit starts from the medians'
        self._thread = threading.Thread(target=self._compile, args=(central,), daemon=True,
                                        name="simcore-plans")
        self._thread.start()

    def _compile(self, central) -> None:
        for i, scenario in enumerate(self._scenarios):
            try:
                if self._stop:
                    return
                plan = compile_loaded(self._loaded, scenario, central)
                plan = plan.in_market(self._market) if self._market else plan
            except BaseException as exc:   # handed to the caller's thread
                with self._ready:
                    self._error = exc
                    self._ready.notify_all()
                return
            with self._ready:
                self._plans[i] = plan
                self._ready.notify_all()

    def __len__(self) -> int:
        return len(self._plans)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self)))]
        with self._ready:
            while self._error is None and self._plans[i] is None:
                self._ready.wait()
            if self._error is not None:
                raise self._error
            return self._plans[i]

    def close(self) -> None:
        """Stop compiling (after the fit under way) and wait for the thread."""
        self._stop = True
        self._thread.join()


def run_market(loaded: LoadedScenario, market: int = 0,
               progress: Callable[[int], None] | None = None, point: int = 0,
               draws: np.ndarray | None = None) -> xr.Dataset:
    """``simcore.engine.run`` for one market; ``market`` (its index in a multi-market run) and
    ``point`` pick its streams; ``draws`` the draw numbers (default all).

    Every draw's scenario is sampled and validated first; the draws' retention fits then run
    on a thread beside the simulation (``PlansAhead``)."""
    scenarios, values = loaded.draw_scenarios(0, draws)   # values: the same at every point
    if not values:
        plan = compile_loaded(loaded)
        plans = [plan.in_market(market) if market else plan] * len(scenarios)
        return simulate_plans(loaded, plans, values, point=point, progress=progress,
                              streams=draws)
    plans = PlansAhead(loaded, scenarios, market)
    try:
        return simulate_plans(loaded, plans, values, point=point, progress=progress,
                              streams=draws)
    finally:
        plans.close()


def simulate_plans(loaded: LoadedScenario, plans: list[Plan], values: dict, point: int = 0,
                   progress: Callable[[int], None] | None = None,
                   streams: np.ndarray | None = None) -> xr.Dataset:
    """The dataset of ``plans`` (one per draw; ``values``: their uncertain values [draw]).

    Draw i uses the random streams of draw ``streams[i]`` (default i) and is labelled so;
    sensitivity analysis gives every parameter set the same streams (common random numbers).
    """
    # xarray loads in ~0.4 s: only when assembling
    from simcore.data.dataset import label_draws
    from simcore.kinds.game.dataset import build_dataset

    base = plans[0]
    n_draws, n_cohorts = len(plans), base.n_cohorts
    sums = np.zeros((n_draws, len(CHANNELS), n_cohorts, K.N_VARS, base.horizon + 1))
    spend = np.zeros((n_draws, len(CHANNELS), n_cohorts))
    activations = np.zeros((n_draws, len(CHANNELS), n_cohorts), dtype=np.int64)
    money = np.zeros((n_draws, 4))
    for d, plan in enumerate(plans):
        stream = d if streams is None else int(streams[d])
        spend[d], activations[d], sums[d] = simulate_campaign(plan, stream, point)
        share = plan.creators.revenue_share if plan.creators is not None else 0.0
        money[d] = (plan.money.rewarded_usd, plan.money.interstitial_usd,
                    plan.money.iap_net_share, share)
        if progress is not None:
            progress(1)
    central = compile_loaded(loaded)     # the dataset's attributes describe the medians
    return label_draws(build_dataset(sums, spend, activations, money, central, loaded, values),
                       streams)


