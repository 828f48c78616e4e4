"""Each cell's response to its budget, simulated on a grid with common random numbers.

A source (one market's channel, ``cells.Cell.source``) is simulated at every budget of its
grid for every draw: with its kind's ``budget_response`` (one simulation at the top budget
gives every budget, users nested: ``simcore.kinds.game.response``) or, where that does not
apply (UA rules, a drama, more budget buying fewer expected users), one run per budget on
the same streams (sweep point 0 keyed by the cell's region). Either way draw d has the same
uncertain parameters and cost movements at every budget, so differences between budgets are
the budget's effect. What is kept is the channel's own account: its spend [USD] and the
cumulative net revenue [USD] of the users it bought, by age; a week's cell keeps its own
cohorts. Budget 0 is exact without a simulation (no spend, no users).

The tasks (a source, its budgets, a block of draws) run on any ``simcore.studies.executors``
executor; each result depends only on its arguments.

Interpolation: each draw's response is a monotone cubic (PCHIP) in the budget through the grid
values (``solve.Curves``), or piecewise linear on a refined grid for the MILP.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from simcore.studies.allocation.cells import PAID_CHANNEL, Cell, channel_days

BUDGET_KEY = "campaign.daily_budget_usd"


def run_source(loaded, channel: str, stream: int, budgets: tuple, start: int, stop: int,
               nested: bool) -> dict[str, np.ndarray]:
    """One task: draws ``start .. stop - 1`` of a source at ``budgets`` (ascending, >= 1)
    [USD/day], on the streams of market key ``stream``. Returns ``spend`` [budget, draw,
    cohort] and ``revenue`` [budget, draw, cohort, age] (USD; net revenue by age, not
    cumulated). One run per budget (``nested`` False) keeps no cohorts (a cohort axis of 1)."""
    from simcore import kinds
    from simcore.model.channels import CHANNELS

    kind = kinds.for_scenario(loaded)
    draws = np.arange(start, stop)
    if nested:
        spend, revenue = kind.budget_response.budget_response(loaded, np.asarray(budgets),
                                                              draws, stream, channel)
        return {"spend": spend, "revenue": revenue}
    k = CHANNELS.index(PAID_CHANNEL)
    spend, revenue = [], []
    for budget in budgets:
        # the budget changes no distribution: keep the draws' uncertainty (a posterior's)
        variant = dataclasses.replace(loaded.with_overrides(f"{BUDGET_KEY}={float(budget)!r}"),
                                      uncertainty=loaded.uncertainty)
        ds = kind.run(variant, None, 0, draws, market=stream)
        spend.append(ds.spend_by_channel.transpose("draw", "channel", "cohort").values[:, k]
                     .sum(axis=1)[:, None])
        revenue.append(ds.revenue_by_channel.transpose("draw", "channel", "age").values[:, k]
                       [:, None])
    return {"spend": np.stack(spend), "revenue": np.stack(revenue)}


@dataclass
class Response:
    """Simulated responses: ``grid`` [cell, point] budgets [USD/day] (point 0 is 0),
    ``spend`` [cell, point, draw] and ``revenue`` [cell, point, draw, age] in USD
    (cumulative by age)."""

    grid: np.ndarray
    spend: np.ndarray
    revenue: np.ndarray


def _nested(cell: Cell, budgets: np.ndarray) -> bool:
    from simcore import kinds

    br = kinds.for_scenario(cell.loaded).budget_response
    return br is not None and br.nested_ok(cell.loaded, cell.channel, budgets)


def simulate_points(cells: list[Cell], points: np.ndarray, executor=None,
                    block_draws: int | None = None,
                    progress: Callable[[int], None] | None = None,
                    draws: int | None = None, store=None) -> tuple[np.ndarray, np.ndarray]:
    """Every cell at each of its budgets ``points`` [cell, point] (USD/day; under 1 USD/day,
    the smallest a campaign takes, is no spend and no users): (spend [cell, point, draw],
    cumulative revenue [cell, point, draw, age]) in USD. The cells of one source are one
    simulation at the union of their budgets. ``draws`` (optional) runs only the first that
    many draws (the pilot's); ``store`` (``store.TaskStore``, optional) gives the tasks it
    holds and keeps those that run."""
    from simcore.studies.executors import LocalExecutor

    executor = LocalExecutor() if executor is None else executor
    points = np.asarray(points, dtype=float)
    n_draws = cells[0].loaded.scenario.simulation.draws if draws is None else int(draws)
    horizon = cells[0].loaded.scenario.simulation.horizon_days
    block = n_draws if block_draws is None else int(block_draws)
    sources: dict[tuple, list[int]] = {}
    for c, cell in enumerate(cells):
        sources.setdefault(cell.source, []).append(c)
    tasks, plan = [], {}
    for key, members in sources.items():
        budgets = np.unique(points[members][points[members] >= 1.0])
        if budgets.size == 0:
            continue
        cell = cells[members[0]]
        nested = _nested(cell, budgets)
        plan[key] = budgets
        for start in range(0, n_draws, block):
            tasks.append((cell.loaded, cell.channel, cell.stream, tuple(budgets), start,
                          min(start + block, n_draws), nested))
    spend = np.zeros(points.shape + (n_draws,))
    revenue = np.zeros(points.shape + (n_draws, horizon + 1))
    kept = [None if store is None else store.get(task) for task in tasks]

    def place(task, result) -> None:
        key, start, stop = (task[2], task[1]), task[4], task[5]
        budgets = plan[key]
        for c in sources[key]:
            cell = cells[c]
            first, last = cell.days if cell.days is not None else (0, None)
            for j, budget in enumerate(points[c]):
                if budget < 1.0:
                    continue
                i = int(np.searchsorted(budgets, budget))
                spend[c, j, start:stop] = result["spend"][i, :, first:last].sum(axis=1)
                revenue[c, j, start:stop] = np.cumsum(
                    result["revenue"][i, :, first:last].sum(axis=1), axis=1)
        if progress is not None:
            progress(1)

    for task, result in zip(tasks, kept):
        if result is not None:
            place(task, result)
    for task, result in executor.map(run_source, [t for t, r in zip(tasks, kept)
                                                  if r is None]):
        if store is not None:
            store.put(task, result)
        place(task, result)
    return spend, revenue


def simulate_response(cells: list[Cell], grids: np.ndarray, executor=None,
                      block_draws: int | None = None,
                      progress: Callable[[int], None] | None = None,
                      draws: int | None = None, store=None) -> Response:
    """Every cell at every grid budget; ``grids`` [cell, point] (USD/day, point 0 is 0);
    ``draws``: the first that many draws only (default all); ``store``: as
    ``simulate_points``."""
    spend, revenue = simulate_points(cells, grids, executor, block_draws, progress,
                                     draws=draws, store=store)
    for c, cell in enumerate(cells):
        if cell.channel != PAID_CHANNEL:
            _known_mean_spend(cell, np.asarray(grids[c], dtype=float), spend[c], revenue[c])
    return Response(np.asarray(grids, dtype=float), spend, revenue)


def _known_mean_spend(cell: Cell, grid: np.ndarray, spend: np.ndarray,
                      revenue: np.ndarray) -> None:
    """A ratio estimator, in place, for a channel whose spend is random (creators: views
    are): its expected spend is known (the budget on each of the cell's days), so each grid
    budget's draws are scaled by budget x days / their mean spend, spend and revenue alike
    (each draw's ROAS unchanged). Without it the sample's cost of a budgeted dollar (heavy-
    tailed views, few draws) differs from the budget, and the optimiser would buy that
    sampling error against the total, which counts budgeted dollars."""
    days = cell.days[1] - cell.days[0] if cell.days is not None \
        else channel_days(cell.loaded, cell.channel)
    for j, budget in enumerate(grid):
        mean = spend[j].mean()
        if budget >= 1.0 and mean > 0:
            factor = budget * days / mean
            spend[j] *= factor
            revenue[j] *= factor


def simulate_allocation(cells: list[Cell], budgets: np.ndarray, executor=None,
                        block_draws: int | None = None,
                        progress: Callable[[int], None] | None = None, store=None):
    """Each cell run at its allocated budget [USD/day] (under 1 USD/day: nothing spent):
    (spend [cell, draw], revenue [cell, draw, age]) in USD."""
    spend, revenue = simulate_points(cells, np.asarray(budgets, dtype=float)[:, None],
                                     executor, block_draws, progress, store=store)
    return spend[:, 0], revenue[:, 0]


def n_tasks(cells: list[Cell], block_draws: int | None = None) -> int:
    """Tasks of one ``simulate_points`` call (one per source and block of draws)."""
    n_draws = cells[0].loaded.scenario.simulation.draws
    block = n_draws if block_draws is None else int(block_draws)
    return len({c.source for c in cells}) * -(-n_draws // block)
