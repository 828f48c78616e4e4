"""Each cell's response to its budget, simulated on a grid with common random numbers.

For every cell c, grid budget b and draw d the cell's market is run with
``campaign.daily_budget_usd = b`` on the same streams at every b (sweep point 0 keyed by the
cell's region, see ``cells``): draw d has the same uncertain parameters, cost movements and
users (as far as each budget buys as many) at every budget, so differences between budgets
are the budget's effect. What is kept is the paid channel's own account (ROAS on UA): the
spend [USD] on paid ads and the cumulative net revenue [USD] of the users it bought, by age.
Budget 0 is exact without a simulation (no spend, no paid users).

The tasks (a cell, a budget, a block of draws) run on any ``simcore.studies.executors``
executor; each result depends only on its arguments.

Interpolation: each draw's response is a monotone cubic (PCHIP) in the budget through the grid
values (``Response.revenue_at``), or piecewise linear on a refined grid for the MILP.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from simcore.studies.allocation.cells import PAID_CHANNEL, Cell

BUDGET_KEY = "campaign.daily_budget_usd"


def run_cell(variant, stream: int, start: int, stop: int) -> dict[str, np.ndarray]:
    """One task: draws ``start .. stop - 1`` of a cell's scenario ``variant`` (its budget set),
    on the streams of market key ``stream`` at sweep point 0. Returns ``spend`` [draw] (USD,
    paid ads) and ``revenue`` [draw, age] (USD, cumulative net revenue of paid users)."""
    from simcore import kinds
    from simcore.model.channels import CHANNELS

    ds = kinds.for_scenario(variant).run(variant, None, 0, np.arange(start, stop),
                                         market=stream)
    k = CHANNELS.index(PAID_CHANNEL)
    spend = ds.spend_by_channel.transpose("draw", "channel", "cohort").values[:, k].sum(axis=1)
    revenue = np.cumsum(ds.revenue_by_channel.transpose("draw", "channel", "age").values[:, k],
                        axis=1)
    return {"spend": spend, "revenue": revenue}


@dataclass
class Response:
    """Simulated responses: ``grid`` [cell, point] budgets [USD/day] (point 0 is 0),
    ``spend`` [cell, point, draw] and ``revenue`` [cell, point, draw, age] in USD."""

    grid: np.ndarray
    spend: np.ndarray
    revenue: np.ndarray


def simulate_response(cells: list[Cell], grids: np.ndarray, draws: np.ndarray | None = None,
                      executor=None, block_draws: int | None = None,
                      progress: Callable[[int], None] | None = None,
                      seed: int | None = None) -> Response:
    """Run every cell at every nonzero grid budget; ``grids`` [cell, point] (USD/day).
    ``seed`` (optional) replaces ``simulation.seed`` (the out-of-sample check's fresh
    streams); ``draws`` defaults to all of the scenario's."""
    from simcore.studies.executors import LocalExecutor

    executor = LocalExecutor() if executor is None else executor
    n_draws = cells[0].loaded.scenario.simulation.draws
    horizon = cells[0].loaded.scenario.simulation.horizon_days
    block = n_draws if block_draws is None else int(block_draws)
    tasks = []
    for c, cell in enumerate(cells):
        for j, budget in enumerate(grids[c]):
            if budget <= 0:
                continue
            variant = with_budget(cell, budget, seed)
            for start in range(0, n_draws, block):
                task = (variant, cell.stream, start, min(start + block, n_draws))
                tasks.append(task)
    spend = np.zeros(grids.shape + (n_draws,))
    revenue = np.zeros(grids.shape + (n_draws, horizon + 1))
    for task, result in executor.map(run_cell, tasks):
        c, j, start = _place(task, cells, grids, seed)
        stop = task[3]
        spend[c, j, task[2]:stop] = result["spend"]
        revenue[c, j, task[2]:stop] = result["revenue"]
        if progress is not None:
            progress(1)
    return Response(np.asarray(grids, dtype=float), spend, revenue)


def _place(task, cells, grids, seed) -> tuple[int, int, int]:
    """Cell and grid index of a finished task (tasks may come back in any order, from
    another process): found from the variant's stream and budget."""
    variant, stream, start, _ = task
    budget = float(variant.scenario.campaign.daily_budget_usd)
    c = next(i for i, cell in enumerate(cells) if cell.stream == stream)
    j = int(np.argmin(np.abs(grids[c] - budget)))
    return c, j, start


def with_budget(cell: Cell, budget: float, seed: int | None = None):
    """The cell's scenario at ``budget`` [USD/day] (and ``seed``, when given)."""
    overrides = [f"{BUDGET_KEY}={max(float(budget), 1.0)!r}"]
    if seed is not None:
        overrides.append(f"simulation.seed={int(seed)}")
    return cell.loaded.with_overrides(*overrides)


def simulate_allocation(cells: list[Cell], budgets: np.ndarray, seed: int | None = None,
                        executor=None, block_draws: int | None = None,
                        progress: Callable[[int], None] | None = None):
    """Each cell run once at its allocated budget [USD/day] (a cell under 1 USD/day, the
    smallest budget a campaign takes, spends nothing): (spend [cell, draw], revenue
    [cell, draw, age]) in USD."""
    grids = np.asarray(budgets, dtype=float)[:, None]
    grids = np.where(grids >= 1.0, grids, 0.0)
    r = simulate_response(cells, grids, None, executor, block_draws, progress, seed)
    return r.spend[:, 0], r.revenue[:, 0]
