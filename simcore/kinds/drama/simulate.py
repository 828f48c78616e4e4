"""Run a drama scenario: for each draw, deliver the campaign and the organic viewers, follow
every viewer through the series (``simcore.kernel.drama``), assemble the dataset."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from simcore import seeding
from simcore.kernel import drama_layout as D
from simcore.kernel.drama import simulate_viewers
from simcore.kinds.drama.plan import DramaPlan, compile_loaded_drama
from simcore.model.acquisition import deliver
from simcore.model.channels import CHANNELS
from simcore.model.chunks import run_chunks
from simcore.scenario import LoadedScenario

_CH = {name: i for i, name in enumerate(CHANNELS)}


def arrivals(plan: DramaPlan, draw: int, point: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Spend [channel, cohort] [USD] and viewers starting episode 1 [channel, cohort].

    Paid ads: the campaign's schedule bought as for a game (``simcore.model.acquisition``); search
    and profile: Poisson(base rate x launch spike of the day) on each organic day.
    """
    n = plan.n_cohorts
    spend = np.zeros((len(CHANNELS), n))
    viewers = np.zeros((len(CHANNELS), n), dtype=np.int64)
    acq = plan.acquisition
    rng = seeding.acquisition_rng(plan.seed, draw, point, plan.market)
    paid = _CH["paid_ads"]
    spend[paid, :acq.days], viewers[paid, :acq.days] = deliver(acq, rng)
    if plan.organic_per_day:
        rng = seeding.draw_rng(seeding.ORGANIC, plan.seed, draw, point, plan.market)
        for day in range(plan.organic_days):
            spike = plan.spike(day)
            for channel, rate in plan.organic_per_day.items():
                viewers[_CH[channel], day] = rng.poisson(rate * spike)
    return spend, viewers


def simulate_groups(plan: DramaPlan, draw: int, groups: list[tuple[int, int, int]],
                    point: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Kernel sums [group, N_ROWS, age] and episode reach [group, episode] of groups of
    viewers, each (cohort, viewers, stream), in batches of chunks (memory bounded by a batch:
    ``simcore.model.chunks.run_chunks``); each chunk of a group has its own stream."""
    out = np.zeros((len(groups), D.N_ROWS, plan.horizon + 1))
    reach = np.zeros((len(groups), plan.episodes))
    run_chunks(simulate_viewers, plan.seed, draw, groups, point, plan.market,
               (plan.params, plan.weights, plan.price, plan.pack_coins, plan.pack_usd,
                plan.horizon), (out, reach))
    return out, reach


def simulate_series(plan: DramaPlan, draw: int, point: int = 0):
    """One draw: spend and viewers [channel, cohort], kernel sums [channel, cohort, N_ROWS,
    age] and viewers who watched each episode [episode]."""
    spend, viewers = arrivals(plan, draw, point)
    where = [(_CH[channel], cohort, stream) for channel, stream in seeding.DRAMA_VIEWERS.items()
             for cohort in range(plan.n_cohorts)]
    out, reach = simulate_groups(plan, draw, [(cohort, viewers[ch, cohort], stream)
                                              for ch, cohort, stream in where], point)
    sums = np.zeros((len(CHANNELS), plan.n_cohorts, D.N_ROWS, plan.horizon + 1))
    for g, (ch, cohort, _) in enumerate(where):
        sums[ch, cohort] = out[g]
    return spend, viewers, sums, reach.sum(axis=0)


def draw_drama_plans(loaded: LoadedScenario, draws: np.ndarray | None = None,
                     ) -> tuple[list[DramaPlan], dict[str, np.ndarray]]:
    """One plan per draw (``draws``: their numbers, default all; each draw's scenario
    validated and compiled before any viewer is simulated) and the sampled uncertain values
    [draw] by dotted key."""
    scenarios, values = loaded.draw_scenarios(draws=draws)
    if not values:
        return [compile_loaded_drama(loaded)] * len(scenarios), values
    return [compile_loaded_drama(loaded, s) for s in scenarios], values


def run_drama(loaded: LoadedScenario, progress: Callable[[int], None] | None = None,
              point: int = 0, draws: np.ndarray | None = None):
    """``simcore.run`` for a drama: the dataset of every draw (see ``simcore.kinds.drama.dataset``).

    ``point`` (a sweep point) picks the campaign and viewer streams; draw d's uncertain
    parameters are the same at every point. ``draws`` (optional) runs only those draw
    numbers: each draw's result is the same as in a run of all draws.
    """
    plans, values = draw_drama_plans(loaded, draws)
    return simulate_drama_plans(loaded, plans, values, point, progress, streams=draws)


def simulate_drama_plans(loaded: LoadedScenario, plans: list[DramaPlan], values: dict,
                         point: int = 0, progress: Callable[[int], None] | None = None,
                         streams: np.ndarray | None = None):
    """The dataset of ``plans`` (one per draw); draw i uses the streams of draw
    ``streams[i]`` (default i) and is labelled so when the streams differ."""
    from simcore.kinds.drama.dataset import build_drama_dataset, revenue_rows

    base = plans[0]
    n, c, ages = len(plans), base.n_cohorts, base.horizon + 1
    spend = np.zeros((n, len(CHANNELS), c))
    viewers = np.zeros((n, len(CHANNELS), c), dtype=np.int64)
    total = np.zeros((n, c, D.N_ROWS, ages))          # all channels: memory ~ draws x cohorts
    revenue_channel = np.zeros((n, len(CHANNELS), ages))
    reach = np.zeros((n, base.episodes))
    money = np.stack([plan.money.as_array() for plan in plans])
    for d, plan in enumerate(plans):
        stream = d if streams is None else int(streams[d])
        spend[d], viewers[d], sums, reach[d] = simulate_series(plan, stream, point)
        total[d] = sums.sum(axis=0)
        revenue_channel[d] = revenue_rows(sums.sum(axis=1), money[d]).sum(axis=-2)
        if progress is not None:
            progress(1)
    from simcore.data.dataset import label_draws

    return label_draws(build_drama_dataset(total, revenue_channel, spend, viewers, reach,
                                           money, loaded, values), streams)
