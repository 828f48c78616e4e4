"""Allocate a total daily budget across cells (markets, channels, weeks) under risk.

    from simcore.studies.allocation import optimize
    ds = optimize(loaded, 10_000, chance=(30, 1.0, 0.8))
    from simcore.text.allocation import format_allocation
    print(format_allocation(ds))

Steps, each a module of this package:

1. ``cells``: the decision variables (a market's daily budget [USD/day] for a channel, over
   the campaign or a week of it), their bounds, and the budget grid each is simulated on.
2. ``response``: every cell at every grid budget with common random numbers (one simulation
   per market and channel gives every budget); kept per draw: the channel's spend [USD] and
   its users' cumulative net revenue by age [USD].
3. ``solve``: the sample-average approximation over the draws (MILP with HiGHS, CVaR as
   Rockafellar-Uryasev's linear programme, the chance constraint with one binary per draw;
   SLSQP polish on the PCHIP interpolants).
4. Here: the answer's figures at the optimum (expected profit, P(loss), CVaR, P(ROAS >=
   target), marginal ROAS of the last dollar per cell, binding bounds) and the out-of-sample
   check: the allocation re-simulated on fresh seeds.

The additive model. The scenario's total is the sum of its cells, each simulated on its own
(as ``simcore.engine.markets`` runs markets), and a cell's account is its own channel's users
only (ROAS on UA). Left out: users that bought users bring on top (shares, Mini Games Center
recommendations growing with activations), which would make a cell's return a little higher
than counted, and any interaction between markets (none is modelled in the engine either).
Weeks are additive exactly as the engine models a campaign: a day's unit cost depends on that
day's budget only (no carry-over of spend between days). The budget schedule's shape (flat,
ramp, pulse) is kept within each cell.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from simcore.analysis import cvar
from simcore.data.checks import check_age, check_target
from simcore.errors import ScenarioError
from simcore.studies.allocation.cells import (
    bounds_of,
    budget_grid,
    cells_of,
    check_grid_points,
    check_total,
)
from simcore.studies.allocation.posterior import read_posterior
from simcore.studies.allocation.response import (
    n_tasks,
    simulate_allocation,
    simulate_response,
)
from simcore.studies.allocation.solve import Chance, Curves, Problem, solve
from simcore.studies.workload import check_block_draws

if TYPE_CHECKING:
    import xarray as xr

__all__ = ["check_channels", "evaluate", "fresh_seed", "n_tasks", "optimize", "parse_chance",
           "parse_payback", "pilot_draws", "workload"]
OBJECTIVES = ("mean", "cvar")


def parse_chance(text: str, key: str = "--chance") -> tuple[int, float, float]:
    """``"30:1:0.8"`` -> (age [days], target ROAS, probability)."""
    parts = str(text).split(":")
    try:
        if len(parts) != 3:
            raise ValueError
        age, target, p = int(parts[0]), float(parts[1]), float(parts[2])
    except ValueError:
        raise ScenarioError(key, f"= {text!r}: write AGE:TARGET:P, e.g. 30:1:0.8 for "
                            "P(ROAS D30 >= 1) >= 0.8") from None
    if not 0.0 < p < 1.0:
        raise ScenarioError(key, f"= {text!r}: the probability must lie in 0 < p < 1")
    if not (math.isfinite(target) and target > 0):
        raise ScenarioError(key, f"= {text!r}: the target ROAS must be > 0")
    return age, target, p


def parse_payback(text: str) -> tuple[int, float, float]:
    """``"0.8:90"`` (the 0.8-quantile of the payback day at most day 90) -> the chance
    constraint it is, (90, 1.0, 0.8): P(payback by D90) = P(ROAS D90 >= 1)."""
    q, sep, day = str(text).partition(":")
    try:
        if not sep:
            raise ValueError
        return parse_chance(f"{int(day)}:1:{float(q)}", "--payback")
    except ValueError:
        raise ScenarioError("--payback", f"= {text!r}: write Q:DAY, e.g. 0.8:90 for the "
                            "0.8-quantile of the payback day at most D90") from None


def fresh_seed(seed: int) -> int:
    """A seed for the out-of-sample check, derived from ``simulation.seed``: new uncertain
    parameters and new campaign and user streams, never those the optimiser saw."""
    from simcore import seeding

    return seeding.out_of_sample_seed(seed)


def _check_risk(objective: str, lam: float, alpha: float) -> None:
    if objective not in OBJECTIVES:
        raise ScenarioError("--objective", f"= {objective!r}: use one of "
                            f"{', '.join(OBJECTIVES)}")
    if not (math.isfinite(lam) and lam >= 0):
        raise ScenarioError("--lambda", f"= {lam!r}: give a weight >= 0 on CVaR")
    if objective == "cvar" and lam != 0:
        raise ScenarioError("--lambda", f"= {lam!r}: weighs CVaR against expected profit "
                            "(--objective mean); --objective cvar minimises CVaR alone")
    if not 0.0 < alpha < 1.0:
        raise ScenarioError("--cvar-alpha", f"= {alpha!r}: give 0 < alpha < 1, e.g. 0.95 "
                            "(CVaR: the mean loss of the worst 5 % of draws)")


def optimize(loaded, total_budget_usd: float, over=("markets",), objective: str = "mean",
             lam: float = 0.0, alpha: float = 0.95, chance=None, lower=None, upper=None,
             at_most: bool = False, grid_points: int = 6, chance_method: str = "milp",
             time_limit_s: float = 60.0, executor=None,
             block_draws: int | None = None, progress: Callable[[int], None] | None = None,
             out_of_sample: bool = True, pilot: bool = True, forecast=None,
             max_cvar: float | None = None, store=None) -> xr.Dataset:
    """The daily budget of each cell that maximises the objective under the constraints.

    Parameters
    ----------
    loaded : LoadedScenario
        A scenario; with ``[[markets]]`` each market is a cell, else the one campaign is.
    total_budget_usd : float
        Total daily budget [USD/day] (the cells' budgets averaged over the campaign's days),
        spent in full (or at most, ``at_most=True``).
    over : tuple of str
        What to allocate over beyond the markets: ``"channels"`` (paid ads and creators),
        ``"weeks"`` (a budget per week of the campaign); see ``cells``.
    objective : "mean" | "cvar"
        Expected net profit [USD] minus ``lam`` x CVaR_``alpha`` of the loss, or CVaR of the
        loss alone (minimised).
    chance : (age [days], target, probability), optional
        The constraint P(ROAS at age >= target) >= probability (ROAS on UA of all cells).
        A payback quantile (the q-quantile of the payback day at most D days) is the same
        constraint: (D, 1.0, q).
    max_cvar : float, optional
        The constraint CVaR_``alpha`` of the loss <= ``max_cvar`` [USD] (Rockafellar-Uryasev's
        linear programme inside the MILP).
    lower, upper : dict cell -> USD/day, optional
        Bounds per cell [USD/day] (default 0 and what the total pays for in the cell's
        days: the total, or total / weight for a week).
    grid_points : int
        Simulated budgets per cell (geometric up to the cell's upper bound; 0 is added).
    chance_method : "milp" | "cvar"
        The chance constraint exactly on the draws (one binary per draw), or by its
        conservative CVaR approximation (a linear programme; also the fallback when the MILP
        finds no allocation within ``time_limit_s`` [s]).
    executor, block_draws, progress
        Where the tasks run (``simcore.studies.executors``), draws per task, and a callback
        called with 1 per finished task.
    out_of_sample : bool
        Re-simulate the allocation on fresh seeds (``fresh_seed``).
    pilot : bool
        First run a tenth of the draws (``pilot_draws``) on the full grids, then simulate
        each market's channel only up to twice the most the pilot's answers give it (a
        grid an answer then reaches the top of is widened and re-run): the users simulated
        follow the answer instead of every cell's bound. False: the full grids at once.
    store : ``store.TaskStore``, optional
        Keeps every finished simulation task on disk and reuses those it holds (resume).
    forecast : path, optional
        A calibrated forecast (``simcore calibrate -o``): its posterior replaces the prior
        of the assumptions it learned, in every market (``posterior``).

    Returns
    -------
    xr.Dataset
        ``allocation_usd_per_day`` (cell) [USD/day] with ``region``, ``channel``, ``week``
        (0: the whole campaign) and ``weight`` on ``cell``; ``share`` [1];
        ``marginal_roas`` [1]; ``lower_usd_per_day`` /
        ``upper_usd_per_day``; ``bound`` ("min", "max" or ""); ``risk_neutral_usd_per_day``
        (the allocation without risk terms or chance constraint); the in-sample per-draw
        ``net_profit`` and ``roas_chance`` (draw); out of sample ``oos_net_profit`` and
        ``oos_roas_chance`` (oos_draw); the responses ``grid_usd_per_day`` (cell, point),
        ``response_spend`` and ``response_revenue`` (cell, point, draw). Figures in attrs.
    """
    s = loaded.scenario
    total = check_total(total_budget_usd)
    _check_risk(objective, float(lam), float(alpha))
    if chance_method not in ("milp", "cvar"):
        raise ScenarioError("--chance-method", f"= {chance_method!r}: use milp or cvar")
    if max_cvar is not None and not math.isfinite(float(max_cvar)):
        raise ScenarioError("--max-cvar", f"= {max_cvar!r}: give a finite amount in USD "
                            "(negative: require a profit in the worst tail)")
    horizon = s.simulation.horizon_days
    if chance is not None:
        age, target, probability = chance
        age = check_age(age, horizon, "--chance", "age")
        target = check_target(target, "--chance")
        chance = Chance(age, float(target), float(probability))
    # the rule the figures judge (P(ROAS at age >= target)): the chance constraint's, else
    # the title's payback goal
    rule_age, rule_target = (chance.age, chance.target) if chance is not None else \
        (s.goal_age(), s.goal_roas())
    check_grid_points(grid_points)
    check_block_draws(block_draws, s.simulation.draws)
    cells = cells_of(loaded, over)
    lo, hi = bounds_of(cells, total, lower, upper, at_most)   # checked in the user's order
    check_channels(cells, hi)
    post = None if forecast is None else read_posterior(forecast, loaded)
    if post is not None:
        cells = [dataclasses.replace(c, loaded=post.condition(c.loaded, s.simulation.seed))
                 for c in cells]
    # solved in a canonical order (by region), shown in the scenario's: the order of
    # [[markets]] changes nothing, to the last bit
    shown = [c.name for c in cells]
    cells = sorted(cells, key=lambda c: c.stream)
    lo, hi = bounds_of(cells, total, lower, upper, at_most)
    weight = np.array([c.weight for c in cells])

    def problem_of(r) -> Problem:
        # a cell's budget stays within its simulated grid (a grid the pilot narrowed ends
        # below the cell's bound: an answer at its top widens it, see below)
        return Problem(r.grid, r.spend, r.revenue[..., horizon], total, lo,
                       np.minimum(hi, r.grid.max(axis=1)), at_most,
                       objective, float(lam), float(alpha), chance, r.revenue[..., rule_age],
                       target=rule_target,
                       chance_method=chance_method, time_limit=float(time_limit_s),
                       weight=weight,
                       max_cvar=None if max_cvar is None else float(max_cvar))

    run = dict(executor=executor, block_draws=block_draws, progress=progress, store=store)
    reach = _reach(cells, hi)                 # the most a source's cells may get [USD/day]
    tops = dict(reach)
    n_draws = s.simulation.draws
    n_pilot = pilot_draws(n_draws)
    if pilot and n_pilot < n_draws and len(reach) > 1:
        r = simulate_response(cells, _grids(cells, tops, grid_points), draws=n_pilot, **run)
        tops = _pilot_tops(cells, problem_of(r), reach, lo)
    response = simulate_response(cells, _grids(cells, tops, grid_points), **run)
    notes = []
    for _ in range(MAX_EXTENSIONS + 1):
        problem = problem_of(response)
        curves = Curves(problem)
        sol, neutral, found = _solve_all(problem, curves)
        short = _short_grids(cells, [sol.budgets, neutral.budgets] + [f[0] for f in found],
                             tops, reach)
        if not short:
            break
        # an answer at the top of a grid the pilot narrowed: widen it (4x, up to the bound)
        for key in short:
            tops[key] = min(reach[key], 4.0 * tops[key])
        again = [i for i, c in enumerate(cells) if c.source in short]
        r = simulate_response([cells[i] for i in again],
                              _grids([cells[i] for i in again], tops, grid_points), **run)
        response.grid[again], response.spend[again] = r.grid, r.spend
        response.revenue[again] = r.revenue
    else:
        notes.append("an answer still sits at the top of a narrowed budget grid")
    oos = None
    if out_of_sample:
        oos = simulate_allocation(fresh_cells(cells, fresh_seed(s.simulation.seed), post),
                                  sol.budgets, executor, block_draws, progress, store)
    sol.notes += notes
    # shown against the cells' own bounds (after the loop no answer rests on a narrowed top)
    problem.upper = hi
    ds = allocation_dataset(loaded, cells, problem, curves, sol, neutral.budgets, oos)
    ds.attrs["pilot_draws"] = n_pilot if tops != reach else 0
    if post is not None:
        ds.attrs["forecast"] = post.source
        ds.attrs["forecast_title"] = post.title
        ds.attrs["forecast_keys"] = ", ".join(post.keys)
        ds.attrs["forecast_particles"] = post.particles
        ds.attrs["forecast_dropped"] = ", ".join(post.dropped)
    ds = add_frontier(ds, problem, found)
    return ds.isel(cell=[[c.name for c in cells].index(name) for name in shown])


def workload(cells, upper: np.ndarray, pilot: bool = True):
    """An upper bound on ``optimize``'s work (``simcore.studies.workload.Workload``): every
    market's channels simulated once at the top of their full grids (each paid source as its
    market run at that budget, which covers its other channels' users too), again on the
    pilot's share of the draws, and once more for the out-of-sample check; grids the pilot
    narrows cost less."""
    from simcore.studies.workload import estimate

    reach = _reach(cells, upper)
    markets = {}
    for c in cells:
        top = max(reach.get((c.stream, ch), 0.0) for ch in ("paid_ads", "creator"))
        top = max(top, 2.0)                   # as budget_grid: a grid tops out at 2 or more
        markets[c.stream] = c.loaded.with_overrides(f"campaign.daily_budget_usd={top!r}")
    work = estimate(cells[0].loaded, points=list(markets.values()))
    n = cells[0].loaded.scenario.simulation.draws
    factor = 1.0 + (pilot_draws(n) / n if pilot else 0.0) + 1.0
    return dataclasses.replace(work, users=work.users * factor,
                               runs=math.ceil(work.runs * factor),
                               seconds=work.seconds * factor)


def fresh_cells(cells, seed: int, post=None) -> list:
    """The cells on root seed ``seed`` (new uncertain draws, campaigns and users); on a
    posterior, the draws take its particles in the order that seed gives."""
    out = []
    for c in cells:
        loaded = c.loaded.with_overrides(f"simulation.seed={int(seed)}")
        if post is not None:
            loaded = post.condition(loaded, seed)
        out.append(dataclasses.replace(c, loaded=loaded))
    return out


PILOT_SHARE = 0.1        # the pilot runs this share of the draws (at least PILOT_MIN)
PILOT_MIN = 10
MAX_EXTENSIONS = 4       # times a narrowed grid may be widened


def pilot_draws(draws: int) -> int:
    """Draws of the pilot: a tenth of them, at least ``PILOT_MIN``."""
    return max(PILOT_MIN, math.ceil(PILOT_SHARE * draws))


def _reach(cells, upper: np.ndarray) -> dict:
    """The highest bound [USD/day] of each source's cells."""
    reach: dict = {}
    for cell, h in zip(cells, upper):
        reach[cell.source] = max(reach.get(cell.source, 0.0), float(h))
    return reach


def _grids(cells, tops: dict, points: int) -> np.ndarray:
    """Each cell's budget grid [cell, point] (USD/day), up to its source's top."""
    return np.stack([budget_grid(tops[c.source], points) for c in cells])


def _solve_all(problem: Problem, curves: Curves):
    """The answer, the risk-neutral answer and the frontier's (``frontier_solutions``)."""
    sol = solve(problem, curves)
    neutral = sol
    if problem.chance is not None or problem.lam != 0 or problem.objective != "mean" \
            or problem.max_cvar is not None:
        neutral = solve(dataclasses.replace(problem, objective="mean", lam=0.0, chance=None,
                                            max_cvar=None), curves)
    same = problem.objective == "mean" and problem.lam == 0     # the frontier's lambda 0
    return sol, neutral, frontier_solutions(problem, curves, known=sol if same else None)


def _pilot_tops(cells, problem: Problem, reach: dict, lower: np.ndarray) -> dict:
    """Grid tops [USD/day] from the pilot's answers: twice the most any answer (the
    allocation, the risk-neutral one, the frontier's) gives a source's cells, at least a
    sixteenth of its reach and twice its lower bounds, at most its reach. The full run then
    spends its users where the answers lie; an answer at a narrowed top widens the grid
    (``optimize``). A pilot without an answer (its draws miss the chance constraint) keeps
    the full grids."""
    try:
        sol, neutral, found = _solve_all(problem, Curves(problem))
    except ScenarioError:
        return dict(reach)
    most = np.max([sol.budgets, neutral.budgets] + [f[0] for f in found], axis=0)
    tops = {}
    for key, full in reach.items():
        own = [i for i, c in enumerate(cells) if c.source == key]
        want = max(2.0 * most[own].max(), full / 16.0, 2.0 * lower[own].max())
        tops[key] = min(full, want)
    return tops


def _short_grids(cells, answers: list, tops: dict, reach: dict) -> set:
    """Sources whose narrowed grid (top below its reach) an answer reaches the top of."""
    most = np.max(answers, axis=0)
    return {c.source for c, x in zip(cells, most)
            if tops[c.source] < reach[c.source] and x >= tops[c.source] * (1.0 - 1e-6)}


def check_channels(cells, upper: np.ndarray) -> None:
    """Refuse, in one line, a channel whose budget cannot be a decision up to its bound."""
    from simcore import kinds

    for cell, h in zip(cells, upper):
        br = kinds.for_scenario(cell.loaded).budget_response
        if br is not None:
            br.check_channel(cell.loaded, cell.channel, float(h), cell.loaded.source)


FRONTIER_LAMBDAS = (0.0, 0.1, 0.3, 1.0, 3.0, 10.0)   # risk aversion of the frontier's points


def frontier_solutions(problem: Problem, curves: Curves, lambdas=FRONTIER_LAMBDAS,
                       known=None) -> list:
    """The efficient frontier: for each lambda, the allocation maximising expected profit -
    lambda x CVaR of the loss (with the problem's bounds and chance constraint), with its
    expected profit [USD], CVaR of the loss [USD] and P(ROAS >= target): a list of
    (budgets, profit, cvar, p) per lambda. Solved on the same responses (no new
    simulation). ``known``: the problem's own solution when it is lambda 0's (not solved
    again)."""
    target = problem.target
    found = []
    for lam in lambdas:
        sol = known if lam == 0 and known is not None else \
            solve(dataclasses.replace(problem, objective="mean", lam=float(lam)), curves)
        out = evaluate(problem, curves, sol.budgets)
        found.append((sol.budgets, float(out["net_profit"].mean()),
                      cvar(-out["net_profit"], problem.alpha),
                      float((out["roas_chance"] >= target).mean())))
    # each lambda keeps the best of the allocations found for its own objective: they all meet
    # the same constraints, and the solver's answers differ by its tolerance (the risk-neutral
    # one is polished on the smooth curves), so the frontier is monotone, as it must be
    return [max(found, key=lambda r, lam=lam: r[1] - lam * r[2]) for lam in lambdas]


def add_frontier(ds: xr.Dataset, problem: Problem, rows: list,
                 lambdas=FRONTIER_LAMBDAS) -> xr.Dataset:
    """``ds`` with the frontier (``frontier_solutions``'s ``rows``): dims ``lambda`` and
    (``lambda``, ``cell``)."""
    ds = ds.assign_coords({"lambda": ("lambda", np.asarray(lambdas, dtype=float))})
    ds["frontier_usd_per_day"] = (("lambda", "cell"), np.array([r[0] for r in rows]),
                                  {"units": "USD/day", "long_name": "allocation maximising "
                                   "expected profit - lambda x CVaR of the loss"})
    ds["frontier_profit_usd"] = ("lambda", [r[1] for r in rows], {
        "units": "USD", "long_name": "expected net profit of the frontier's allocation"})
    ds["frontier_cvar_loss_usd"] = ("lambda", [r[2] for r in rows], {
        "units": "USD", "long_name": f"CVaR{problem.alpha:g} of the loss of the frontier's "
        "allocation (negative: a profit)"})
    ds["frontier_p_roas"] = ("lambda", [r[3] for r in rows], {
        "units": "1", "long_name": "P(ROAS >= target) of the frontier's allocation"})
    return ds


def evaluate(problem: Problem, curves: Curves, x: np.ndarray) -> dict[str, np.ndarray]:
    """Per-draw outcomes of allocation ``x`` [USD/day] on the interpolants: ``net_profit``
    [USD], ``spend`` [USD], ``roas_chance`` [1] (ROAS on UA at the rule's age: the chance
    constraint's, else the title's goal), and per cell ``marginal_roas`` [1] (mean revenue
    slope / mean spend slope: the return of the last dollar, from the right at 0)."""
    rev, spd, age = curves.at(x)
    d_rev, d_spd, _ = curves.at(x, 1)
    spend = spd.sum(axis=0)
    through = (rev if age is None else age).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        roas = np.where(spend > 0, through / spend, np.nan)
        marginal = d_rev.mean(axis=1) / d_spd.mean(axis=1)
    return {"net_profit": (rev - spd).sum(axis=0), "spend": spend, "roas_chance": roas,
            "marginal_roas": marginal}


def allocation_dataset(loaded, cells, problem: Problem, curves: Curves, sol, neutral,
                       oos) -> xr.Dataset:
    """The dataset ``optimize`` returns (see there)."""
    import xarray as xr

    from simcore.data import dataset

    x = sol.budgets
    total, horizon = problem.total, loaded.scenario.simulation.horizon_days
    ch = problem.chance
    age = ch.age if ch is not None else loaded.scenario.goal_age()
    target = problem.target
    out = evaluate(problem, curves, x)
    tol = 1e-6 * total
    bound = np.array(["min" if xi <= lo + tol and lo < hi else
                      "max" if xi >= hi - tol and lo < hi else
                      ("fixed" if lo == hi else "")
                      for xi, lo, hi in zip(x, problem.lower, problem.upper)])
    profit = out["net_profit"]
    names = [c.name for c in cells]
    weight = np.array([c.weight for c in cells])
    ds = xr.Dataset(
        {
            "allocation_usd_per_day": ("cell", x, {"units": "USD/day", "long_name":
                                                   "daily paid-ads budget of the cell"}),
            "share": ("cell", weight * x / max(weight @ x, 1e-300), {
                "units": "1", "long_name": "share of the allocated total (weight x budget)"}),
            "marginal_roas": ("cell", out["marginal_roas"], {
                "units": "1", "long_name": "return of the last dollar: mean d(paid net "
                "revenue through the horizon) / mean d(paid spend) at the allocation"}),
            "lower_usd_per_day": ("cell", problem.lower, {"units": "USD/day"}),
            "upper_usd_per_day": ("cell", problem.upper, {"units": "USD/day"}),
            "bound": ("cell", bound, {"long_name": "bound the cell sits on (min, max, fixed) "
                                      "or empty"}),
            "risk_neutral_usd_per_day": ("cell", neutral, {
                "units": "USD/day", "long_name": "allocation maximising expected profit "
                "without risk terms or chance constraint"}),
            "net_profit": ("draw", profit, {"units": "USD", "long_name": "in sample: paid net "
                                            "revenue through the horizon - paid spend"}),
            "roas_chance": ("draw", out["roas_chance"], {
                "units": "1", "long_name": f"in sample: ROAS on UA at D{age}"}),
            "grid_usd_per_day": (("cell", "point"), problem.grid, {"units": "USD/day"}),
            "response_spend": (("cell", "point", "draw"), problem.spend, {
                "units": "USD", "long_name": "paid spend at the grid budget"}),
            "response_revenue": (("cell", "point", "draw"), problem.revenue, {
                "units": "USD", "long_name": "paid net revenue through the horizon at the "
                "grid budget"}),
        },
        coords={"cell": ("cell", names), "region": ("cell", [c.region for c in cells]),
                "channel": ("cell", [c.channel for c in cells]),
                "week": ("cell", [c.week for c in cells]),
                "weight": ("cell", [c.weight for c in cells]),
                "draw": np.arange(problem.spend.shape[2])})
    alpha = problem.alpha
    neutral_out = evaluate(problem, curves, neutral)
    attrs = {
        **dataset.scenario_attrs(loaded),
        "total_budget_usd_per_day": total, "at_most": int(problem.at_most),
        "objective": problem.objective, "lambda": problem.lam, "cvar_alpha": alpha,
        "age": age, "target": target, "horizon_days": horizon,
        "chance_probability": ch.probability if ch is not None else math.nan,
        "max_cvar_usd": problem.max_cvar if problem.max_cvar is not None else math.nan,
        "method": sol.method, "milp_seconds": sol.milp_seconds,
        "notes": "; ".join(sol.notes),
        "expected_profit_usd": float(profit.mean()),
        "expected_profit_risk_neutral_usd": float(neutral_out["net_profit"].mean()),
        "p_loss_risk_neutral": float((neutral_out["net_profit"] < 0).mean()),
        "cvar_loss_risk_neutral_usd": cvar(-neutral_out["net_profit"], alpha),
        "p_loss": float((profit < 0).mean()),
        "cvar_loss_usd": cvar(-profit, alpha),
        "p_roas_at_least": float((out["roas_chance"] >= target).mean()),
        "p_roas_at_least_risk_neutral": float((neutral_out["roas_chance"] >= target).mean()),
    }
    if oos is not None:
        spend, revenue = oos
        s_tot = spend.sum(axis=0)
        oos_profit = revenue[..., horizon].sum(axis=0) - s_tot
        with np.errstate(divide="ignore", invalid="ignore"):
            oos_roas = np.where(s_tot > 0, revenue[..., age].sum(axis=0) / s_tot, np.nan)
        n = oos_roas.size
        p_oos = float((oos_roas >= target).mean())
        ds["oos_net_profit"] = ("oos_draw", oos_profit, {"units": "USD", "long_name":
                                "out of sample (fresh seeds): net profit"})
        ds["oos_roas_chance"] = ("oos_draw", oos_roas, {"units": "1", "long_name":
                                 f"out of sample (fresh seeds): ROAS on UA at D{age}"})
        attrs |= {"oos_seed": fresh_seed(loaded.scenario.simulation.seed),
                  "oos_p_roas_at_least": p_oos,
                  "oos_p_roas_at_least_se": math.sqrt(max(p_oos * (1 - p_oos), 0.0) / n),
                  "oos_expected_profit_usd": float(oos_profit.mean()),
                  "oos_expected_profit_se_usd": float(oos_profit.std(ddof=1) / math.sqrt(n))
                  if n > 1 else math.nan}
    binding = [f"{n} fixed at {xi:,.0f} USD/day" if b == "fixed" else f"{n} at its {b}"
               for n, b, xi in zip(names, bound, x) if b]
    if ch is not None and attrs["p_roas_at_least_risk_neutral"] < ch.probability:
        binding.append(f"{ch.label()} >= {ch.probability:g} (the risk-neutral allocation "
                       f"has {attrs['p_roas_at_least_risk_neutral']:.3g})")
    # the cap binds when the risk-neutral allocation breaks it (it holds exactly on the
    # MILP's piecewise-linear responses; on the smooth interpolants shown, to their error)
    if problem.max_cvar is not None and \
            attrs["cvar_loss_risk_neutral_usd"] > problem.max_cvar:
        binding.append(f"CVaR{alpha:g} of the loss <= {problem.max_cvar:,.0f} USD (the "
                       f"risk-neutral allocation has {attrs['cvar_loss_risk_neutral_usd']:,.0f})")
    if problem.at_most and weight @ x >= total - tol:
        binding.append("the total budget")
    attrs["binding"] = "; ".join(binding)
    ds.attrs = attrs
    return ds
