"""The cells of an allocation: what gets a daily budget, and the bounds on it.

A cell is one market's budget [USD/day] for one paying channel, over the whole campaign or
one week of it. ``over`` names what is split beyond the markets (a ``[[markets]]`` scenario
always has a cell per market; a scenario without markets is one market, its own region):

* ``markets``: each market's paid ads (cells named by region: ``US``);
* ``channels``: each market's paid ads and creator programme (``US/paid_ads``,
  ``US/creator``; creators paid per 1,000 views: the budget buys videos at their expected
  cost, so a creator budget's expected return is linear in it);
* ``weeks``: each cell's budget per week of the campaign (``US/w1``, ``US/paid_ads/w2``);
  the last week may be shorter. A week's budget buys that week's cohorts only.

The total budget [USD/day] is the cells' daily budgets averaged over the campaign's days:
sum over cells of weight x budget, the weight being the share of the channel's days the cell
runs (1 without weeks). A cell's bounds are USD/day while it runs.

Streams. A cell's campaign and user streams are keyed by its region's position in
``simcore.scenario.schema.REGIONS`` (never by its position in ``[[markets]]``), so the same
markets listed in another order give bit-identical responses and the same allocation. The
cells of one market and channel (its weeks) are one simulation, a ``Source``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from simcore.errors import ScenarioError

OVER = ("markets", "channels", "weeks")
PAID_CHANNEL = "paid_ads"
CHANNELS = (PAID_CHANNEL, "creator")     # the channels whose budget is a decision
WEEK_DAYS = 7
MAX_GRID_POINTS = 40     # simulated budgets per cell (4 MILP pieces between each two)
MIN_CELL_USD = 1.0       # [USD/day] the least a cell's campaign spends (schema: >= 1)
MAX_CELL_USD = 1e8       # [USD/day] the most (schema: campaign.daily_budget_usd <= 1e8)


@dataclass(frozen=True)
class Cell:
    """One decision variable: a market's daily budget [USD/day] for one channel, over the
    campaign (``week`` 0) or one week of it (``week`` 1, 2, ...: cohort days ``days``)."""

    name: str                # "US", "US/creator", "US/w2", "US/paid_ads/w2"
    region: str
    channel: str             # "paid_ads" or "creator"
    stream: int              # the ``market`` key of its random streams (by region)
    loaded: object           # the cell's LoadedScenario (the market's scenario)
    week: int = 0
    days: tuple[int, int] | None = None   # cohort days [first, last) its budget buys
    weight: float = 1.0      # share of the channel's days the cell runs [1]

    @property
    def source(self) -> tuple[int, str]:
        """The simulation the cell's response comes from: (market key, channel)."""
        return self.stream, self.channel


def check_over(over) -> tuple[str, ...]:
    """``over`` as a tuple of known names ("channels,weeks" is split at commas)."""
    if isinstance(over, str):
        over = over.split(",")
    over = tuple(o.strip() for part in over for o in str(part).split(","))
    bad = [o for o in over if o not in OVER]
    if not over or bad:
        raise ScenarioError("--over", f"= {','.join(map(str, over))!r}: allocate over any of "
                            f"{', '.join(OVER)}, comma-separated")
    return over


def channel_days(loaded, channel: str) -> int:
    """Days the channel buys users on: the campaign's, or the creator programme's."""
    s = loaded.scenario
    if channel == "creator":
        return int(s.creator.days or s.campaign.days)
    return int(s.campaign.days)


def cells_of(loaded, over=("markets",)) -> list[Cell]:
    """The cells of ``loaded``, in its ``[[markets]]`` order (then channel, then week).
    Refuses a ``list`` budget schedule (its daily budgets ignore
    ``campaign.daily_budget_usd``), and channels or weeks where a budget cannot be a decision
    (no creator programme; creators paid by revenue share; UA rules)."""
    from simcore import kinds
    from simcore.scenario.markets import market_scenarios
    from simcore.scenario.schema import REGIONS

    over = check_over(over)
    s = loaded.scenario
    if getattr(s.campaign, "budget_schedule", "flat") == "list":
        raise ScenarioError("campaign.budget_schedule", "= 'list': the daily budgets are given "
                            "day by day, so a cell's campaign.daily_budget_usd changes "
                            "nothing; use flat, ramp or pulse", loaded.source)
    split = "channels" in over or "weeks" in over
    if split and kinds.for_scenario(loaded).budget_response is None:
        raise ScenarioError("--over", f"= {','.join(over)}: a {s.title.kind} allocates over "
                            "markets only", loaded.source)
    if split and s.rules:
        raise ScenarioError("--over", f"= {','.join(over)}: UA rules set each day's budget "
                            "from what earlier days brought, so channels and weeks cannot be "
                            "split; remove [[rules]] or allocate over markets", loaded.source)
    if s.markets:
        markets = [(m.region, 1 + REGIONS.index(m.region), ml)
                   for m, ml in zip(s.markets, market_scenarios(loaded))]
    else:
        markets = [(s.campaign.region, 0, loaded)]
    channels = CHANNELS if "channels" in over else (PAID_CHANNEL,)
    cells = []
    for region, stream, ml in markets:
        for channel in channels:
            if channel != PAID_CHANNEL:     # the kind refuses a channel without a budget
                kinds.for_scenario(ml).budget_response.check_channel(ml, channel, 0.0,
                                                                     loaded.source)
            days = channel_days(ml, channel)
            weeks = range(1, -(-days // WEEK_DAYS) + 1) if "weeks" in over else (0,)
            for week in weeks:
                parts = [region] + ([channel] if "channels" in over else []) \
                    + ([f"w{week}"] if week else [])
                span = ((week - 1) * WEEK_DAYS, min(week * WEEK_DAYS, days)) if week else None
                weight = (span[1] - span[0]) / days if week else 1.0
                cells.append(Cell("/".join(parts), region, channel, stream, ml, week, span,
                                  weight))
    return cells


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
    """Lower and upper bounds [USD/day] per cell (defaults 0 and what the total pays for in
    the cell's days, total / weight, at most ``MAX_CELL_USD``), checked: a total of at least
    ``MIN_CELL_USD`` a cell, every named cell exists, each bound within what the total pays
    for, min <= max, the minima fit in the total, some cell may spend and (a fixed total) the
    maxima reach it."""
    names = [c.name for c in cells]
    w = np.array([c.weight for c in cells])
    if total < MIN_CELL_USD * len(cells):
        raise ScenarioError("--total-budget", f"= {total:g} USD/day: give at least "
                            f"{MIN_CELL_USD * len(cells):g} for {len(cells)} cells "
                            f"({MIN_CELL_USD:g} USD/day each, the least a campaign spends)")
    cap = np.minimum(total / w, MAX_CELL_USD)
    lo, hi = np.zeros(len(cells)), cap.copy()
    for key, given, out in (("--min", lower or {}, lo), ("--max", upper or {}, hi)):
        for name, value in given.items():
            if name not in names:
                raise ScenarioError(f"{key} {name}", f"unknown cell; the cells are "
                                    f"{', '.join(names)}")
            i = names.index(name)
            if value > cap[i] * (1 + 1e-12):
                what = "the total budget" if w[i] == 1 else \
                    f"what a cell may spend ({MAX_CELL_USD:g})" if cap[i] == MAX_CELL_USD else \
                    "what the total budget pays for in its days"
                raise ScenarioError(f"{key} {name}", f"= {value:g} USD/day is above {what} "
                                    f"({cap[i]:g} USD/day) by {value - cap[i]:g}")
            out[i] = value
    for i, name in enumerate(names):
        if lo[i] > hi[i]:
            raise ScenarioError(f"--min {name}", f"= {lo[i]:g} is above --max {name} = "
                                f"{hi[i]:g} USD/day by {lo[i] - hi[i]:g}")
    if w @ lo > total * (1 + 1e-12):
        raise ScenarioError("--min", f"the minima add up to {w @ lo:g} USD/day, above the "
                            f"total budget ({total:g}) by {w @ lo - total:g}")
    if not hi.any():
        raise ScenarioError("--max", "every cell is held at 0 USD/day: nothing to allocate")
    if not at_most and w @ hi < total * (1 - 1e-12):
        raise ScenarioError("--max", f"the maxima add up to {w @ hi:g} USD/day, below the "
                            f"total budget ({total:g}) by {total - w @ hi:g}; lower "
                            "--total-budget or allow spending less with --at-most")
    return lo, hi


def check_grid_points(points: int) -> int:
    """Simulated budgets per cell: 2 to ``MAX_GRID_POINTS``."""
    if not 2 <= int(points) <= MAX_GRID_POINTS:
        raise ScenarioError("--grid-points", f"= {points}: give 2 to {MAX_GRID_POINTS} "
                            "budgets per cell (the MILP grows with them; 6 come within "
                            "0.2 % of the analytic optimum on saturation curves)")
    return int(points)


def budget_grid(upper: float, points: int = 6, ratio: float = 32.0) -> np.ndarray:
    """The budgets [USD/day] a cell is simulated at: 0 (no spend, no paid users: exact, not
    simulated) and ``points`` geometric steps from ``upper / ratio`` to ``upper``."""
    check_grid_points(points)
    top = max(float(upper), 2.0)
    return np.concatenate([[0.0], np.geomspace(max(top / ratio, 1.0), top, points)])
