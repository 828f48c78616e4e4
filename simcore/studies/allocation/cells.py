"""The cells of an allocation: what gets a daily budget, and the bounds on it.

A cell is one market's paid-ads budget [USD/day] (``over=("markets",)`` on a ``[[markets]]``
scenario; a scenario without markets is one cell, its own campaign). Each cell is simulated
as its market runs in ``simcore.engine.markets`` (the scenario moved to the market's region),
with ``campaign.daily_budget_usd`` set to the cell's budget.

Streams. A cell's campaign and user streams are keyed by its region's position in
``simcore.scenario.schema.REGIONS`` (never by its position in ``[[markets]]``), so the same
markets listed in another order give bit-identical responses and the same allocation.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from simcore.errors import ScenarioError

OVER = ("markets",)          # what this slice allocates over (channels, weeks: not yet)
PAID_CHANNEL = "paid_ads"


@dataclass(frozen=True)
class Cell:
    """One decision variable: a market's paid-ads daily budget [USD/day]."""

    name: str                # "US" (a market), or the scenario's region without markets
    region: str
    channel: str             # "paid_ads"
    stream: int              # the ``market`` key of its random streams (by region)
    loaded: object           # the cell's LoadedScenario (the market's scenario)
    current_usd: float       # the cell's daily budget in the scenario as written [USD/day]


def check_over(over) -> tuple[str, ...]:
    """``over`` as a tuple of known names (only ``markets`` in this slice)."""
    over = (over,) if isinstance(over, str) else tuple(over)
    bad = [o for o in over if o not in OVER]
    if not over or bad:
        raise ScenarioError("--over", f"= {','.join(map(str, over))!r}: allocation over "
                            f"{', '.join(OVER)} only (channels and weeks are not built yet)")
    return over


def cells_of(loaded, over=("markets",)) -> list[Cell]:
    """The cells of ``loaded``, in its ``[[markets]]`` order. Refuses a ``list`` budget
    schedule (its daily budgets ignore ``campaign.daily_budget_usd``)."""
    from simcore.scenario.markets import market_scenarios
    from simcore.scenario.schema import REGIONS

    check_over(over)
    s = loaded.scenario
    if getattr(s.campaign, "budget_schedule", "flat") == "list":
        raise ScenarioError("campaign.budget_schedule", "= 'list': the daily budgets are given "
                            "day by day, so a cell's campaign.daily_budget_usd changes "
                            "nothing; use flat, ramp or pulse", loaded.source)
    if not s.markets:
        return [Cell(s.campaign.region, s.campaign.region, PAID_CHANNEL, 0, loaded,
                     float(s.campaign.daily_budget_usd))]
    return [Cell(m.region, m.region, PAID_CHANNEL, 1 + REGIONS.index(m.region), ml,
                 float(ml.scenario.campaign.daily_budget_usd))
            for m, ml in zip(s.markets, market_scenarios(loaded))]


def _number(text: str, key: str) -> float:
    try:
        value = float(str(text).replace("_", ""))
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise ScenarioError(key, f"= {text!r}: give a daily budget in USD/day, >= 0")
    return value


def parse_bounds(items, key: str) -> dict[str, float]:
    """``["US=1000", "JP=500"]`` -> {cell: USD/day}; a cell given twice is refused."""
    out: dict[str, float] = {}
    for item in items or ():
        name, sep, value = str(item).partition("=")
        if not sep or not name.strip():
            raise ScenarioError(key, f"= {item!r}: write CELL=USD, e.g. {key} US=1000")
        name = name.strip()
        if name in out:
            raise ScenarioError(key, f"{name} is given twice")
        out[name] = _number(value, f"{key} {name}")
    return out


def check_total(total) -> float:
    """The total daily budget [USD/day]: finite and >= 1."""
    try:
        value = float(total)
    except (TypeError, ValueError):
        value = math.nan
    if not (math.isfinite(value) and 1.0 <= value <= 1e8):
        raise ScenarioError("--total-budget", f"= {total!r}: give the total daily budget in "
                            "USD/day, 1 <= total <= 1e8")
    return value


def bounds_of(cells: list[Cell], total: float, lower: dict | None, upper: dict | None,
              at_most: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds [USD/day] per cell (defaults 0 and the total), checked: every
    named cell exists, each bound <= the total, min <= max, the minima fit in the total and
    (a fixed total) the maxima reach it."""
    names = [c.name for c in cells]
    lo, hi = np.zeros(len(cells)), np.full(len(cells), float(total))
    for key, given, out in (("--min", lower or {}, lo), ("--max", upper or {}, hi)):
        for name, value in given.items():
            if name not in names:
                raise ScenarioError(f"{key} {name}", f"unknown market; the cells are "
                                    f"{', '.join(names)}")
            if value > total:
                raise ScenarioError(f"{key} {name}", f"= {value:g} USD/day is above the total "
                                    f"budget ({total:g} USD/day) by {value - total:g}")
            out[names.index(name)] = value
    for i, name in enumerate(names):
        if lo[i] > hi[i]:
            raise ScenarioError(f"--min {name}", f"= {lo[i]:g} is above --max {name} = "
                                f"{hi[i]:g} USD/day by {lo[i] - hi[i]:g}")
    if lo.sum() > total * (1 + 1e-12):
        raise ScenarioError("--min", f"the minima add up to {lo.sum():g} USD/day, above the "
                            f"total budget ({total:g}) by {lo.sum() - total:g}")
    if not at_most and hi.sum() < total * (1 - 1e-12):
        raise ScenarioError("--max", f"the maxima add up to {hi.sum():g} USD/day, below the "
                            f"total budget ({total:g}) by {total - hi.sum():g}; lower "
                            "--total-budget or allow spending less with --at-most")
    return lo, hi


def budget_grid(upper: float, points: int = 6, ratio: float = 32.0) -> np.ndarray:
    """The budgets [USD/day] a cell is simulated at: 0 (no spend, no paid users: exact, not
    simulated) and ``points`` geometric steps from ``upper / ratio`` to ``upper``."""
    if points < 2:
        raise ScenarioError("--grid-points", f"= {points}: give at least 2")
    top = max(float(upper), 2.0)
    return np.concatenate([[0.0], np.geomspace(max(top / ratio, 1.0), top, points)])
