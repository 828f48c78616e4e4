"""The sample-average approximation over the draws, solved with HiGHS and SLSQP.

Per draw d and cell c the response is known at the cell's grid budgets (``response``). The
problem, with x_c the daily budget of cell c [USD/day]:

    maximise  mean_d P_d(x) - lambda * CVaR_alpha(-P)        (objective "mean")
    or        -CVaR_alpha(-P)                                (objective "cvar")
    (optionally with CVaR_alpha(-P) <= L: ``max_cvar``)
    subject to sum_c w_c x_c = total (or <= total with ``at_most``), lo_c <= x_c <= hi_c,
              share of draws with ROAS_age_d(x) >= target  >=  p      (the chance constraint)

with P_d(x) = sum_c R_dc(x_c) - S_dc(x_c) (the cells' net revenue through the horizon - their
spend), ROAS_age_d(x) = sum_c R_age_dc(x_c) / sum_c S_dc(x_c) and w_c the share of the campaign's
days cell c's budget runs (1 for a whole campaign, 7/days for a week of it).

1. A mixed-integer linear programme (``scipy.optimize.milp``, HiGHS) on piecewise-linear
   responses: each draw's monotone cubic (PCHIP) interpolant sampled at ``refine`` points
   per grid interval; a budget is the sum of its segments' fills (the incremental "delta"
   formulation, with one binary per segment, forcing fills in order, only in cells where
   some draw's response is not concave: elsewhere filling in order is optimal by itself).
   CVaR is Rockafellar-Uryasev's: t + sum_d u_d / ((1 - alpha) D), u_d >= loss_d - t, u >= 0.
   The chance constraint has one binary y_d per draw (big-M): R_age_d - target * S_d >=
   -M_d (1 - y_d) and sum_d y_d >= ceil(p D). Global on the piecewise-linear responses.
2. Polish (objective "mean" without lambda): SLSQP on the PCHIP interpolants from the MILP's
   answer, with the draws the MILP counted as meeting the target held to it (smooth
   constraints R_age_d - target S_d >= 0). Interior cells then end with equal marginal ROAS.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from dataclasses import dataclass, field

import numpy as np

from simcore.analysis import cvar
from simcore.errors import ScenarioError


@dataclass(frozen=True)
class Chance:
    """P(ROAS at ``age`` [days] >= ``target``) >= ``probability``."""

    age: int
    target: float
    probability: float

    def label(self) -> str:
        return f"P(ROAS D{self.age} >= {self.target:g})"


@dataclass
class Problem:
    """What is solved: responses by cell and the decision's limits (USD/day)."""

    grid: np.ndarray              # [cell, point] budgets, point 0 = 0 [USD/day]
    spend: np.ndarray             # [cell, point, draw] paid spend [USD]
    revenue: np.ndarray           # [cell, point, draw] paid net revenue through the horizon
    total: float
    lower: np.ndarray
    upper: np.ndarray
    at_most: bool = False
    objective: str = "mean"       # "mean" (minus lambda x CVaR) or "cvar"
    lam: float = 0.0
    alpha: float = 0.95
    chance: Chance | None = None
    revenue_chance: np.ndarray | None = None   # [cell, point, draw] through the rule's age
    target: float = 1.0           # the rule's ROAS: the chance's, else the title's goal
    refine: int = 4
    weight: np.ndarray | None = None   # [cell] share of the campaign's days the budget runs
    max_cvar: float | None = None      # CVaR_alpha of the loss must stay <= this [USD]
    chance_method: str = "milp"   # "milp" (one binary per draw) or "cvar" (approximation)
    time_limit: float = 60.0      # seconds HiGHS may take [s]


@dataclass
class Solution:
    """An allocation [USD/day] and how it was found."""

    budgets: np.ndarray
    method: str
    milp_seconds: float = 0.0
    notes: list[str] = field(default_factory=list)


def weights(p: Problem) -> np.ndarray:
    """Each cell's weight in the total [1] (``Problem.weight``; ones when not given)."""
    return np.ones(p.grid.shape[0]) if p.weight is None else np.asarray(p.weight, dtype=float)


# --- interpolation ---------------------------------------------------------------------------

def _pchip(grid: np.ndarray, values: np.ndarray):
    from scipy.interpolate import PchipInterpolator

    return PchipInterpolator(grid, values, axis=0)


class Curves:
    """PCHIP interpolants of every cell's per-draw responses; ``at(x)`` evaluates them."""

    def __init__(self, p: Problem):
        self.p = p
        self.rev = [_pchip(p.grid[c], p.revenue[c]) for c in range(p.grid.shape[0])]
        self.spd = [_pchip(p.grid[c], p.spend[c]) for c in range(p.grid.shape[0])]
        self.age = None if p.revenue_chance is None else [
            _pchip(p.grid[c], p.revenue_chance[c]) for c in range(p.grid.shape[0])]

    def at(self, x: np.ndarray, nu: int = 0):
        """(revenue, spend, revenue through the chance age or None) [cell, draw] at budgets
        ``x`` [USD/day]; ``nu=1``: their derivatives [USD per USD/day]."""
        rev = np.stack([f(xc, nu) for f, xc in zip(self.rev, x)])
        spd = np.stack([f(xc, nu) for f, xc in zip(self.spd, x)])
        age = None if self.age is None else np.stack([f(xc, nu) for f, xc in zip(self.age, x)])
        return rev, spd, age


# --- the MILP ---------------------------------------------------------------------------------

def _segments(p: Problem, curves: Curves):
    """Per cell: breakpoints [USD/day] within its bounds' reach and values there
    (revenue, spend, revenue at the chance age) [point, draw]."""
    out = []
    for c in range(p.grid.shape[0]):
        g = p.grid[c]
        pts = np.unique(np.concatenate(
            [np.linspace(a, b, p.refine + 1) for a, b in itertools.pairwise(g)]))
        pts = pts[pts <= p.upper[c] + 1e-9]
        if pts[-1] < p.upper[c]:
            pts = np.append(pts, p.upper[c])
        rev, spd = curves.rev[c](pts), curves.spd[c](pts)
        age = None if curves.age is None else curves.age[c](pts)
        out.append((pts, rev, spd, age))
    return out


def _slope_steps(values: np.ndarray, widths: np.ndarray) -> np.ndarray:
    """Changes of slope between a cell's segments, relative to its largest slope (none for
    a cell held at one budget)."""
    slopes = np.diff(values, axis=0) / widths[:, None]
    if not slopes.size:
        return slopes
    return np.diff(slopes, axis=0) / (np.abs(slopes).max() + 1e-300)


def _concave(values: np.ndarray, widths: np.ndarray) -> bool:
    return bool((_slope_steps(values, widths) <= 1e-9).all())


def _linear(values: np.ndarray, widths: np.ndarray) -> bool:
    return bool((np.abs(_slope_steps(values, widths)) <= 1e-9).all())


def solve_milp(p: Problem, curves: Curves, maximise_chance: bool = False,
               time_limit: float = 60.0, chance_by_cvar: bool = False):
    """The MILP of the module docstring; returns (budgets [USD/day], set of draws meeting
    the target or None, status). ``maximise_chance``: maximise the share of draws meeting
    the target instead (to say how far an infeasible chance constraint is).
    ``chance_by_cvar``: the chance constraint by its conservative CVaR approximation
    (Nemirovski & Shapiro 2006): CVaR_p of target x spend - revenue at the age <= 0, i.e.
    t + sum_d v_d / ((1 - p) D) <= 0 with v_d >= target S_d - R_age_d - t, v >= 0; it
    implies P(ROAS >= target) >= p and needs no binaries. ``status``: HiGHS's (0 optimal,
    1 time or iteration limit, 2 infeasible)."""
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import lil_matrix

    n_cells, n_draws = p.grid.shape[0], p.spend.shape[2]
    segs = _segments(p, curves)
    widths = [np.diff(s[0]) for s in segs]
    slope = [{name: np.diff(v, axis=0) / w[:, None] for name, v in
              (("rev", s[1]), ("spd", s[2]), ("age", s[3])) if v is not None}
             for s, w in zip(segs, widths)]
    ordered = [not (_concave(s[1], w) and _linear(s[2], w)
                    and (p.chance is None or _concave(s[3], w))) for s, w in zip(segs, widths)]
    # variable layout: delta per cell-segment | order binaries | t, u[draw] | y[draw]
    d_at = np.cumsum([0] + [w.size for w in widths])
    n_delta = int(d_at[-1])
    z_at = [n_delta]
    for c in range(n_cells):
        z_at.append(z_at[-1] + (widths[c].size - 1 if ordered[c] else 0))
    use_cvar = not maximise_chance and (p.objective == "cvar" or p.lam > 0
                                        or p.max_cvar is not None)
    cap_cvar = use_cvar and p.max_cvar is not None
    t_at = z_at[-1]
    u_at = t_at + 1 if use_cvar else t_at
    y_at = u_at + n_draws if use_cvar else u_at
    use_chance = p.chance is not None
    by_cvar = use_chance and chance_by_cvar and not maximise_chance
    n_var = y_at + (n_draws + (1 if by_cvar else 0) if use_chance else 0)

    cost = np.zeros(n_var)
    lo, hi = np.zeros(n_var), np.full(n_var, np.inf)
    integrality = np.zeros(n_var)
    for c in range(n_cells):
        hi[d_at[c]:d_at[c + 1]] = widths[c]
        integrality[z_at[c]:z_at[c + 1]] = 1
        hi[z_at[c]:z_at[c + 1]] = 1
    profit_slope = [s["rev"] - s["spd"] for s in slope]          # [segment, draw]
    mean_profit = np.concatenate([g.mean(axis=1) for g in profit_slope])
    if maximise_chance:
        cost[y_at:] = -1.0
    elif p.objective == "cvar":
        cost[:n_delta] = -1e-6 * mean_profit          # a tie-break towards more profit
    else:
        cost[:n_delta] = -mean_profit
    if use_cvar:
        weight = 1.0 if p.objective == "cvar" else p.lam
        lo[t_at], cost[t_at] = -np.inf, weight
        cost[u_at:y_at] = weight / ((1.0 - p.alpha) * n_draws)
    if by_cvar:                                    # t2 free, v[draw] >= 0
        lo[y_at] = -np.inf
    elif use_chance:
        integrality[y_at:], hi[y_at:] = 1, 1

    lower_b, upper_b = [], []
    A = lil_matrix((n_cells + 1 + sum(int(o) * 2 * (w.size - 1) for o, w in
                                      zip(ordered, widths))
                    + (n_draws if use_cvar else 0) + (n_draws + 1 if use_chance else 0)
                    + (1 if cap_cvar else 0),
                    n_var))
    r = 0
    for c in range(n_cells):                       # bounds per cell, then the total
        A[r, d_at[c]:d_at[c + 1]] = 1.0
        lower_b.append(p.lower[c])
        upper_b.append(p.upper[c])
        r += 1
    for c, w in enumerate(weights(p)):
        A[r, d_at[c]:d_at[c + 1]] = w
    lower_b.append(-np.inf if p.at_most else p.total)
    upper_b.append(p.total)
    r += 1
    for c in range(n_cells):                       # fill in order where needed
        if not ordered[c]:
            continue
        for k in range(widths[c].size - 1):
            z = z_at[c] + k
            A[r, d_at[c] + k], A[r, z] = 1.0, -widths[c][k]          # delta_k >= w_k z_k
            lower_b.append(0.0)
            upper_b.append(np.inf)
            A[r + 1, d_at[c] + k + 1], A[r + 1, z] = 1.0, -widths[c][k + 1]  # <= w z_k
            lower_b.append(-np.inf)
            upper_b.append(0.0)
            r += 2
    base_profit = sum(s[1][0] - s[2][0] for s in segs)            # [draw], 0 at budget 0
    if use_cvar:                                   # u_d + t + sum g delta >= -profit0_d
        for d in range(n_draws):
            for c in range(n_cells):
                A[r, d_at[c]:d_at[c + 1]] = profit_slope[c][:, d]
            A[r, t_at], A[r, u_at + d] = 1.0, 1.0
            lower_b.append(-base_profit[d])
            upper_b.append(np.inf)
            r += 1
    if cap_cvar:                                   # t + sum u / ((1 - alpha) D) <= L
        A[r, t_at] = 1.0
        A[r, u_at:y_at] = 1.0 / ((1.0 - p.alpha) * n_draws)
        lower_b.append(-np.inf)
        upper_b.append(p.max_cvar)
        r += 1
    if use_chance:
        tau = p.chance.target
        h0 = sum(s[3][0] - tau * s[2][0] for s in segs)
        worst = h0.copy()          # the smallest the left side can be, over any fill
        for c, w in enumerate(widths):
            h = slope[c]["age"] - tau * slope[c]["spd"]
            worst += (np.minimum(h, 0.0) * w[:, None]).sum(axis=0)
        big = np.maximum(0.0, -worst) + 1.0
        for d in range(n_draws):
            for c in range(n_cells):
                A[r, d_at[c]:d_at[c + 1]] = slope[c]["age"][:, d] - tau * slope[c]["spd"][:, d]
            if by_cvar:                            # v_d + t2 + h_d(x) >= 0
                A[r, y_at], A[r, y_at + 1 + d] = 1.0, 1.0
                lower_b.append(-h0[d])
            else:                                  # h_d(x) >= -M_d (1 - y_d)
                A[r, y_at + d] = -big[d]
                lower_b.append(-big[d] - h0[d])
            upper_b.append(np.inf)
            r += 1
        if by_cvar:                                # t2 + sum v / ((1 - p) D) <= 0
            A[r, y_at] = 1.0
            A[r, y_at + 1:] = 1.0 / ((1.0 - p.chance.probability) * n_draws)
            lower_b.append(-np.inf)
            upper_b.append(0.0)
        else:
            A[r, y_at:] = 1.0
            need = 0 if maximise_chance else math.ceil(p.chance.probability * n_draws - 1e-9)
            lower_b.append(need)
            upper_b.append(np.inf)
        r += 1
    res = milp(cost, integrality=integrality, bounds=Bounds(lo, hi),
               constraints=LinearConstraint(A.tocsr(), lower_b, upper_b),
               options={"time_limit": time_limit, "mip_rel_gap": 1e-7})
    if res.x is None:
        return None, None, res.status
    x = np.array([res.x[d_at[c]:d_at[c + 1]].sum() for c in range(n_cells)])
    met = None
    if use_chance:
        if by_cvar:          # the draws that meet the target at the approximation's answer
            h = h0 + sum(((slope[c]["age"] - tau * slope[c]["spd"])
                          * res.x[d_at[c]:d_at[c + 1]][:, None]).sum(axis=0)
                         for c in range(n_cells))
            met = np.flatnonzero(h >= 0)
        else:
            met = np.flatnonzero(res.x[y_at:] > 0.5)
    return np.clip(x, p.lower, p.upper), met, res.status


# --- SLSQP polish --------------------------------------------------------------------------

def polish(p: Problem, curves: Curves, x0: np.ndarray, met=None) -> np.ndarray | None:
    """SLSQP on the smooth interpolants from ``x0`` (mean profit; the draws ``met`` held to
    ROAS >= target). Returns the better of x0 and the polished point, or None."""
    from scipy.optimize import minimize

    scale = p.total
    n_draws = p.spend.shape[2]
    w = weights(p)

    def f(u):
        rev, spd, _ = curves.at(u * scale)
        return -float((rev - spd).sum()) / (n_draws * scale)

    def grad(u):
        rev, spd, _ = curves.at(u * scale, 1)
        return -(rev - spd).sum(axis=1) / n_draws

    cons = [{"type": "ineq" if p.at_most else "eq", "fun": lambda u: 1.0 - w @ u,
             "jac": lambda u: -w}]
    if met is not None and len(met):
        tau = p.chance.target

        def g(u):
            _, spd, age = curves.at(u * scale)
            # a relative margin of 1e-7 keeps a draw on the boundary counted as meeting it
            return (age - tau * (1.0 + 1e-7) * spd).sum(axis=0)[met] / scale

        def g_jac(u):
            _, spd, age = curves.at(u * scale, 1)
            return (age - tau * (1.0 + 1e-7) * spd)[:, met].T

        cons.append({"type": "ineq", "fun": g, "jac": g_jac})
    res = minimize(f, x0 / scale, jac=grad, method="SLSQP",
                   bounds=list(zip(p.lower / scale, p.upper / scale)), constraints=cons,
                   options={"ftol": 1e-12, "maxiter": 500})
    u = np.clip(res.x, p.lower / scale, p.upper / scale)
    if not p.at_most:
        u = u / (w @ u)       # exactly the total
    feasible = abs(w @ u - 1.0) < 1e-9 and np.all(u <= p.upper / scale * (1 + 1e-12))
    if p.at_most:
        feasible = w @ u <= 1.0 + 1e-12
    if met is not None:           # still as many draws at the target (no margin)
        _, spd, age = curves.at(u * scale)
        spend = spd.sum(axis=0)
        count = int((age.sum(axis=0) >= p.chance.target * spend).sum())
        feasible = feasible and count >= math.ceil(p.chance.probability * n_draws - 1e-9)
    if not feasible or f(u) > f(x0 / scale):
        return None
    return u * scale


def solve(p: Problem, curves: Curves | None = None) -> Solution:
    """The allocation of ``p`` (see the module docstring); an infeasible chance constraint is
    one ``ScenarioError`` saying how far the best allocation falls short."""
    import time

    curves = Curves(p) if curves is None else curves
    start = time.perf_counter()
    by_cvar = p.chance is not None and p.chance_method == "cvar"
    x, met, status = solve_milp(p, curves, time_limit=p.time_limit, chance_by_cvar=by_cvar)
    notes = []
    if x is None and status == 1 and p.chance is not None and not by_cvar:
        # no allocation found in time (not proven infeasible): the conservative approximation
        notes.append(f"the chance constraint's MILP found no allocation in {p.time_limit:g} s; "
                     "solved with its conservative CVaR approximation instead")
        by_cvar = True
        x, met, status = solve_milp(p, curves, time_limit=p.time_limit, chance_by_cvar=True)
    seconds = time.perf_counter() - start
    if x is None and p.max_cvar is not None:
        least, _, st = solve_milp(dataclasses.replace(p, objective="cvar", lam=0.0,
                                                      max_cvar=None, chance=None), curves)
        if least is not None and st == 0:
            out = cvar(-(sum(f(xc) for f, xc in zip(curves.rev, least))
                         - sum(f(xc) for f, xc in zip(curves.spd, least))), p.alpha)
            if out > p.max_cvar:
                raise ScenarioError("--max-cvar", f"CVaR{p.alpha:g} of the loss <= "
                                    f"{p.max_cvar:,.0f} USD cannot be met with this total and "
                                    f"these bounds: the least any allocation reaches is "
                                    f"{out:,.0f} USD ({out - p.max_cvar:,.0f} above)")
        if p.chance is not None:
            raise ScenarioError("--max-cvar", f"CVaR{p.alpha:g} of the loss <= "
                                f"{p.max_cvar:,.0f} USD and {p.chance.label()} >= "
                                f"{p.chance.probability:g} cannot be met together with this "
                                "total and these bounds (each alone can be)")
    if x is None:
        if p.chance is not None:
            _best, met_best, st = solve_milp(p, curves, maximise_chance=True,
                                            time_limit=p.time_limit)
            reach = 0.0 if met_best is None else met_best.size / p.spend.shape[2]
            bound = "at most" if st == 0 else "the best allocation found in " \
                f"{p.time_limit:g} s has"
            how = " (its CVaR approximation, which is conservative)" if by_cvar else ""
            raise ScenarioError("--chance", f"{p.chance.label()} >= {p.chance.probability:g}"
                                f"{how} cannot be met with this total and these bounds: "
                                f"{bound} {reach:.3g} of the draws reaching it "
                                f"({p.chance.probability - reach:.3g} short)")
        raise ScenarioError("--total-budget", f"no allocation meets the bounds (HiGHS status "
                            f"{status})")
    if status == 1:
        notes.append(f"HiGHS stopped at its {p.time_limit:g} s limit with a feasible, perhaps "
                     "not optimal, allocation")
    method = "MILP (HiGHS) on piecewise-linear responses" + (
        ", chance constraint by its CVaR approximation (conservative)" if by_cvar else "")
    sol = Solution(x, method, seconds, notes)
    if p.objective == "mean" and p.lam == 0 and p.max_cvar is None:
        better = polish(p, curves, x, met)
        if better is not None:
            sol.budgets = better
            sol.method += ", polished by SLSQP on the PCHIP interpolants"
    return sol
