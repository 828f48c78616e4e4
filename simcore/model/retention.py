"""Retention with heterogeneity: closed-form survival and fitting to D1/D7/D30 targets.

Each user churns with probability theta per day, theta ~ Beta(alpha, beta) across users. The
share of a cohort not yet churned at age t (days) is

* shifted-beta-geometric (Fader & Hardie 2007):  S(t) = B(alpha, beta + t) / B(alpha, beta)
* beta-discrete-Weibull (Fader, Hardie et al. 2018):  S(t) = B(alpha, beta + t**c) / B(alpha, beta)

With intermittent play (a not-yet-churned user plays on a given day with probability q), the
share of a cohort active at age t >= 1 is q * S(t); day 0 (the activation day) is always 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

from simcore.errors import ScenarioError

TARGET_AGES = (1, 3, 7, 14, 30, 60, 90)
FIT_TOLERANCE = 1e-3    # a fit reaches a target when within 0.1 % of it (relative)
GRADIENT_TOL = 1e-6     # fit_retention_many: a row's projected gradient at its optimum
MANY_ITERATIONS = 60    # fit_retention_many: Levenberg-Marquardt steps at most
PARAMETER_BOX = ((1e-3, 1e4), (1e-3, 1e4), (0.05, 5.0))   # alpha, beta, c searched by fits


def survival(t, alpha: float, beta: float, c: float = 1.0) -> np.ndarray:
    """Share of a cohort not yet churned at age ``t`` [days] (probability, S(0) = 1)."""
    t = np.asarray(t, dtype=float)
    return np.exp(special.betaln(alpha, beta + t**c) - special.betaln(alpha, beta))


def active_share(t, alpha: float, beta: float, c: float = 1.0, play_probability: float = 1.0):
    """Expected share of a cohort active at age ``t`` [days] (day 0 = 1)."""
    t = np.asarray(t, dtype=float)
    return np.where(t == 0, 1.0, play_probability * survival(t, alpha, beta, c))


@dataclass(frozen=True)
class RetentionFit:
    """Model parameters in use, and how well they match the targets (if any were given)."""

    model: str                 # "sbg" or "bdw"
    alpha: float
    beta: float
    c: float                   # 1.0 for sbg
    play_probability: float
    target_ages: tuple[int, ...] = ()
    targets: tuple[float, ...] = ()
    fitted: tuple[float, ...] = ()

    @property
    def rmse_pp(self) -> float:
        """Root-mean-square fit error in percentage points (0 when no targets)."""
        if not self.targets:
            return 0.0
        err = np.subtract(self.fitted, self.targets)
        return float(np.sqrt(np.mean(err**2)) * 100.0)

    @property
    def max_rel_error(self) -> float:
        """Largest relative error of a fitted point against its target (0 when no targets)."""
        if not self.targets:
            return 0.0
        return float(np.max(np.abs(np.subtract(self.fitted, self.targets)) / self.targets))


def _log_survival(a, b, c, ages):
    """log S(ages) and its derivatives by (log alpha, log beta, log c), from digamma
    identities; ``a``, ``b``, ``c`` broadcast against ``ages`` [days]."""
    tc = ages**c
    log_s = special.betaln(a, b + tc) - special.betaln(a, b)
    late = special.digamma(b + tc) - special.digamma(a + b + tc)
    return log_s, (a * (special.digamma(a + b) - special.digamma(a + b + tc)),
                   b * (late - special.digamma(b) + special.digamma(a + b)),
                   c * late * tc * np.log(ages))


def fit_retention(model: str, ages, targets, play_probability: float = 1.0,
                  start: RetentionFit | None = None) -> RetentionFit:
    """Fit sbg or bdw parameters to active-share targets at ``ages`` [days].

    Least squares on the log of the active share (relative errors, so D90 = 0.5 % counts as
    much as D1 = 30 %), from several starting points; deterministic. ``start`` (a fit to
    nearby targets, e.g. the scenario's medians) is tried first and kept when it converges.
    """
    ages = np.asarray(ages, dtype=float)
    targets = np.asarray(targets, dtype=float)
    log_targets = np.log(targets / play_probability)
    with_c = model == "bdw"

    def unpack(x):
        a, b = np.exp(x[0]), np.exp(x[1])
        c = np.exp(x[2]) if with_c else 1.0
        return a, b, c

    def residuals(x):
        return _log_survival(*unpack(x), ages)[0] - log_targets

    def jacobian(x):
        return np.column_stack(_log_survival(*unpack(x), ages)[1][:2 + with_c])

    lo = np.log([box[0] for box in PARAMETER_BOX][: 2 + with_c])
    hi = np.log([box[1] for box in PARAMETER_BOX][: 2 + with_c])
    starts = [np.log([a0, b0, c0][: 2 + with_c])
              for a0, b0 in ((0.5, 1.0), (1.0, 5.0), (0.2, 0.5), (3.0, 10.0))
              for c0 in ((0.5, 1.0) if with_c else (1.0,))]
    if start is not None and start.model == model:
        starts.insert(0, np.clip(np.log([start.alpha, start.beta, start.c][: 2 + with_c]),
                                 lo, hi))
    best = None
    for i, x0 in enumerate(starts):
        res = optimize.least_squares(residuals, x0, jac=jacobian, bounds=(lo, hi),
                                     xtol=1e-12, ftol=1e-12, gtol=1e-12)
        if best is None or res.cost < best.cost:
            best = res
        if i == 0 and start is not None and res.status > 0 and res.optimality < 1e-9:
            break  # converged from a neighbouring fit: the same optimum, 8x faster
    a, b, c = unpack(best.x)
    fitted = play_probability * survival(ages, a, b, c)
    fit = RetentionFit(model, float(a), float(b), float(c), play_probability,
                       tuple(int(t) for t in ages), tuple(float(v) for v in targets),
                       tuple(float(v) for v in fitted))
    if len(ages) == 2 + with_c and fit.max_rel_error > FIT_TOLERANCE:
        return _exact_fit(model, ages, targets, play_probability)
    return fit


def fit_retention_many(model: str, ages, targets, play_probability,
                       start: RetentionFit) -> tuple[np.ndarray, np.ndarray]:
    """``fit_retention`` for many target sets at once (one row each): parameters
    float64[n, 3] (alpha, beta, c; c = 1 for sbg) and a boolean[n] ``fitted``.

    Levenberg-Marquardt on the same residuals (log active share) in the same parameter box,
    every row from ``start`` (a fit to nearby targets), vectorised over rows, at most
    ``MANY_ITERATIONS`` steps; a row is ``fitted`` when its projected gradient is below
    ``GRADIENT_TOL`` and, with as many targets as parameters, it reaches them within
    ``FIT_TOLERANCE``. Rows that are not fitted (a bound, a slow valley or targets no model
    reaches) are left to ``fit_retention``, which the caller runs for them.
    ``play_probability``: a number or float64[n].
    """
    ages = np.asarray(ages, dtype=float)
    targets = np.atleast_2d(np.asarray(targets, dtype=float))
    n, with_c = targets.shape[0], model == "bdw"
    k = 2 + with_c
    log_t = np.log(targets / np.broadcast_to(np.asarray(play_probability, float), (n,))[:, None])
    lo = np.log([box[0] for box in PARAMETER_BOX][:k])
    hi = np.log([box[1] for box in PARAMETER_BOX][:k])
    x = np.tile(np.clip(np.log([start.alpha, start.beta, start.c][:k]), lo, hi), (n, 1))

    def parts(x, log_t):
        a, b = np.exp(x[:, :1]), np.exp(x[:, 1:2])
        c = np.exp(x[:, 2:3]) if with_c else np.ones_like(a)
        log_s, cols = _log_survival(a, b, c, ages)
        return log_s - log_t, np.stack(cols[:k], axis=2)

    res, jac = parts(x, log_t)
    cost = (res**2).sum(axis=1)
    damping = np.full(n, 1e-3)
    eye = np.eye(k)
    active = np.arange(n)
    for _ in range(MANY_ITERATIONS):
        grad = np.einsum("nij,ni->nj", jac[active], res[active])
        xa = x[active]
        free = ~(((xa <= lo) & (grad > 0)) | ((xa >= hi) & (grad < 0)))
        active = active[np.abs(grad * free).max(axis=1) >= 1e-12]
        if not active.size:
            break
        grad = np.einsum("nij,ni->nj", jac[active], res[active])
        hess = np.einsum("nij,nik->njk", jac[active], jac[active])
        scale = np.einsum("njj->nj", hess)[:, :, None] * eye + 1e-12 * eye
        step = np.linalg.solve(hess + damping[active, None, None] * scale,
                               -grad[:, :, None])[..., 0]
        x_new = np.clip(x[active] + step, lo, hi)
        res_new, jac_new = parts(x_new, log_t[active])
        cost_new = (res_new**2).sum(axis=1)
        better = cost_new <= cost[active]
        rows = active[better]
        x[rows], res[rows], jac[rows], cost[rows] = (
            x_new[better], res_new[better], jac_new[better], cost_new[better])
        damping[active] = np.where(better, np.maximum(damping[active] / 3.0, 1e-12),
                                   damping[active] * 4.0)
    grad = np.einsum("nij,ni->nj", jac, res)
    free = ~(((x <= lo) & (grad > 0)) | ((x >= hi) & (grad < 0)))
    fitted = np.all(np.isfinite(x), axis=1) & (np.abs(grad * free).max(axis=1) < GRADIENT_TOL)
    if ages.size == k:
        fitted &= np.abs(np.expm1(res)).max(axis=1) <= FIT_TOLERANCE
    params = np.ones((n, 3))
    params[:, :k] = np.exp(x)
    return params, fitted


def played_days_pmf(days: int, alpha: float, beta: float, c: float,
                    play_probability: float) -> np.ndarray:
    """Distribution of the number of days played in ages 0..``days``: pmf over 1..days+1.

    Returns an array p of length days + 2 with p[a] = P(a days played); p[0] = 0.
    """
    surv = survival(np.arange(days + 2), alpha, beta, c)
    last = surv[:-1] - surv[1:]          # P(L = l), l = 0..days-1, then tail
    last[-1] = surv[days]                # P(L >= days)
    pmf = np.zeros(days + 2)
    if play_probability >= 1.0:
        pmf[1:] = last
        return pmf
    # a user churning after age l plays day 0 and Binomial(l, p) of days 1..l
    l = np.arange(days + 1)[:, None]
    k = np.arange(days + 1)[None, :]
    with np.errstate(invalid="ignore"):
        binom = np.where(k <= l, special.binom(l, k) * play_probability**k
                         * (1.0 - play_probability) ** np.maximum(l - k, 0), 0.0)
    pmf[1:] = last @ binom
    return pmf


# --- when a fit misses: the feasible range of the target that failed -----------------------
#
# With as many targets as parameters (sbg: 2, bdw: 3) a model either reaches the targets or no
# model in the parameter box does. On a miss, the targets are taken in age order; the first
# one outside the range that the model reaches given the earlier ones (matched exactly) is
# reported with that range. The ranges come from the model's structure: given S(t1), the
# parameters left free trace a curve (beta solved for each alpha, as S rises with beta and
# falls with alpha); bdw adds c, over which the sbg curves in t**c are followed.


def _log_s(t: float, la: float, lb: float, lc: float) -> float:
    """log S(t) at log-parameters (log alpha, log beta, log c)."""
    a, b = np.exp(la), np.exp(lb)
    return float(special.betaln(a, b + t ** np.exp(lc)) - special.betaln(a, b))


def _root(f, lo: float, hi: float, slack: float = 1e-10) -> float | None:
    """A root of the monotone ``f`` in [lo, hi], or None when f keeps its sign there (an end
    within ``slack`` of zero counts as a root)."""
    f_lo, f_hi = f(lo), f(hi)
    if f_lo * f_hi <= 0.0:
        return lo if f_lo == 0.0 else hi if f_hi == 0.0 else optimize.brentq(
            f, lo, hi, xtol=1e-13, rtol=1e-13)
    if min(abs(f_lo), abs(f_hi)) <= slack:
        return lo if abs(f_lo) <= abs(f_hi) else hi
    return None


class Curve:
    """A model's values along a one-parameter curve of parameters.

    ``point(x)`` gives (parameters, value) at x, or None where the curve leaves the parameter
    box; the x where it exists form one interval within ``x_box`` (true of the monotone models
    here). Sampled on ``points`` x, the interval's ends located by bisection; ``range`` refines
    interior extremes, ``solve`` finds the parameters that give a value.
    """

    def __init__(self, point, x_box, points: int = 25):
        self._point = point
        self._seen: dict[float, tuple | None] = {}
        xs = np.linspace(x_box[0], x_box[1], points) if x_box[1] > x_box[0] else [x_box[0]]
        inside = [i for i, x in enumerate(xs) if self._at(x) is not None]
        if not inside:
            return
        for i, step in ((inside[0], -1), (inside[-1], 1)):
            if 0 <= i + step < len(xs):
                good, bad = xs[i], xs[i + step]
                for _ in range(40):
                    mid = 0.5 * (good + bad)
                    good, bad = (mid, bad) if self._at(mid) is not None else (good, mid)

    def _at(self, x: float):
        x = float(x)
        if x not in self._seen:
            self._seen[x] = self._point(x)
        return self._seen[x]

    def _found(self) -> list[tuple[float, tuple, float]]:
        return [(x, p[0], p[1]) for x, p in sorted(self._seen.items()) if p is not None]

    def range(self) -> tuple[float, float] | None:
        """Smallest and largest value along the curve (None: the curve misses the box)."""
        found = self._found()
        if not found:
            return None
        for sign in (1.0, -1.0):
            k = int(np.argmin([sign * v for _, _, v in found]))
            if 0 < k < len(found) - 1:
                optimize.minimize_scalar(
                    lambda x: np.inf if self._at(x) is None else sign * self._at(x)[1],
                    bounds=(found[k - 1][0], found[k + 1][0]), method="bounded",
                    options={"xatol": 1e-10})
        values = [v for _, _, v in self._found()]
        return min(values), max(values)

    def solve(self, target: float) -> tuple | None:
        """Parameters at which the value equals ``target`` (None: nowhere on the curve)."""
        found = self._found()
        for (x0, p0, v0), (x1, _, v1) in zip(found, found[1:]):
            if v0 == target:
                return p0
            if (v0 - target) * (v1 - target) < 0.0:
                x = optimize.brentq(lambda x: self._at(x)[1] - target, x0, x1,
                                    xtol=1e-13, rtol=1e-13)
                return self._at(x)[0]
        return found[-1][1] if found and found[-1][2] == target else None


def level_curve(value, constraint, x_box, y_box, points: int = 25) -> Curve:
    """The curve ``constraint(x, y) = 0`` in the box ``x_box`` x ``y_box`` (constraint
    monotone in x and in y), with ``value(x, y)`` along it; parameters are (x, y)."""
    def y_at(x):
        return _root(lambda y: constraint(x, y), *y_box)

    def inside(x):
        return y_at(x) is not None

    # the curve's x interval: between where it crosses the box's y edges (or the x ends)
    cuts = [x_box[0], x_box[1]]
    for y in y_box:
        edge = _root(lambda x: constraint(x, y), *x_box, slack=0.0)
        if edge is not None:
            cuts.append(edge)
    cuts = sorted(cuts)
    spans = [(a, b) for a, b in zip(cuts, cuts[1:]) if inside(0.5 * (a + b))]
    spans += [(x, x) for x in cuts if inside(x)]
    if not spans:
        return Curve(lambda x: None, x_box, points=1)
    x_lo, x_hi = min(a for a, _ in spans), max(b for _, b in spans)

    def point(x):
        y = y_at(x)
        return None if y is None else ((x, y), value(x, y))
    return Curve(point, (x_lo, x_hi), points)


def _box(i: int) -> tuple[float, float]:
    return float(np.log(PARAMETER_BOX[i][0])), float(np.log(PARAMETER_BOX[i][1]))


def _sbg_curve(t1: float, ls1: float, t2: float, lc: float, points: int = 25) -> Curve:
    """Given log S(t1) = ls1 and log c = lc: log S(t2) along log alpha (parameters: log alpha,
    log beta)."""
    return level_curve(lambda la, lb: _log_s(t2, la, lb, lc),
                       lambda la, lb: _log_s(t1, la, lb, lc) - ls1, _box(0), _box(1), points)


def _c_extreme(f, sign: float) -> float:
    """Extreme (sign = 1: smallest, -1: largest) of f(log c) over the c box; f is None where
    nothing exists."""
    grid = np.linspace(*_box(2), 13)
    vals = np.array([np.inf if (v := f(x)) is None else sign * v for x in grid])
    k = int(np.argmin(vals))
    if np.isinf(vals[k]):
        return np.nan
    lo, hi = grid[max(k - 1, 0)], grid[min(k + 1, len(grid) - 1)]
    res = optimize.minimize_scalar(lambda x: np.inf if (v := f(x)) is None else sign * v,
                                   bounds=(lo, hi), method="bounded", options={"xatol": 1e-8})
    return sign * min(vals[k], res.fun)


def _bdw_curve(ts, ls) -> Curve:
    """Given log S at the first two ages ``ts[:2]``: log S(ts[2]) along log c (parameters:
    log alpha, log beta, log c)."""
    def point(lc):
        ab = _sbg_curve(ts[0], ls[0], ts[1], lc, points=13).solve(ls[1])
        return None if ab is None else ((*ab, lc), _log_s(ts[2], *ab, lc))
    return Curve(point, _box(2), points=17)


def target_range(model: str, ages, log_s, k: int) -> tuple[float, float]:
    """Range of log S(ages[k]) that ``model`` reaches in the parameter box while matching
    log S(ages[j]) = log_s[j] for j < k exactly ((nan, nan) when the earlier ones cannot)."""
    lc_box = _box(2) if model == "bdw" else (0.0, 0.0)
    t = [float(a) for a in ages]
    if k == 0:   # S falls with alpha and c, rises with beta
        return (_log_s(t[0], _box(0)[1], _box(1)[0], lc_box[1]),
                _log_s(t[0], _box(0)[0], _box(1)[1], lc_box[0]))
    if k == 1 and model == "sbg":
        return _sbg_curve(t[0], log_s[0], t[1], 0.0).range() or (np.nan, np.nan)
    if k == 1:
        def end(lc, i):
            r = _sbg_curve(t[0], log_s[0], t[1], lc, points=13).range()
            return None if r is None else r[i]
        return _c_extreme(lambda lc: end(lc, 0), 1.0), _c_extreme(lambda lc: end(lc, 1), -1.0)
    if k == 2 and model == "bdw":
        return _bdw_curve(t, log_s).range() or (np.nan, np.nan)
    raise ValueError(f"no single-target range for target {k} of model {model!r}")


def _exact_fit(model: str, ages, targets, play_probability: float) -> RetentionFit:
    """The least-squares fit missed: solve the targets along the model's curves, or raise the
    first target outside what the model reaches given the earlier ones."""
    log_s = np.log(targets / play_probability)
    for k in range(len(ages)):
        lo, hi = target_range(model, ages, log_s, k)
        if not lo <= log_s[k] <= hi:
            raise ScenarioError(f"retention.d{int(ages[k])}",
                                _retention_miss(model, ages, targets, play_probability, k,
                                                lo, hi))
    t = [float(a) for a in ages]
    if model == "sbg":
        found = _sbg_curve(t[0], log_s[0], t[1], 0.0).solve(log_s[1])
        params = None if found is None else (*found, 0.0)
    else:
        params = _bdw_curve(t, log_s).solve(log_s[2])
    if params is not None:
        a, b, c = np.exp(params)
        c = c if model == "bdw" else 1.0
        fitted = play_probability * survival(ages, a, b, c)
        if np.max(np.abs(fitted / targets - 1.0)) <= FIT_TOLERANCE:
            return RetentionFit(model, float(a), float(b), float(c), play_probability,
                                tuple(int(x) for x in ages), tuple(float(v) for v in targets),
                                tuple(float(v) for v in fitted))
    raise ScenarioError(f"retention.d{int(ages[-1])}", f"= {targets[-1]}: no {model} "
                        "retention model reaches these targets (fit tolerance "
                        f"{FIT_TOLERANCE * 100:g} %)")


def _retention_miss(model, ages, targets, q, k, lo, hi) -> str:
    key = f"d{int(ages[k])}"
    given = " and ".join(f"d{int(a)} {v:g}" for a, v in zip(ages[:k], targets[:k]))
    names = {"sbg": "shifted-beta-geometric", "bdw": "beta-discrete-Weibull"}
    what = f"no {names[model]} model reaches it" + (f" with {given}" if given else "")
    if np.isnan(lo):
        return f"= {targets[k]:g}: {what}"
    return (f"= {targets[k]:g}: {what}; feasible: "
            f"{feasible_range(targets[k], q * np.exp(lo), q * np.exp(hi), key)} "
            f"(fit tolerance {FIT_TOLERANCE * 100:g} %)")


def feasible_range(value: float, lo: float, hi: float, name: str, unit: str = "",
                   rel_tol: float = FIT_TOLERANCE) -> str:
    """'lo <= name <= hi unit' with the significant digits that ``rel_tol`` implies (4 for
    0.1 %), more where needed to tell the bounds from ``value`` and from each other."""
    digits = max(2, 1 - int(np.floor(np.log10(rel_tol))))
    while digits < 15:
        text = [f"{x:.{digits}g}" for x in (value, lo, hi)]
        if all(text[i] != text[j] for i, j in ((0, 1), (0, 2), (1, 2))
               if (value, lo, hi)[i] != (value, lo, hi)[j]):
            break
        digits += 1
    return f"{text[1]} <= {name} <= {text[2]}" + (f" {unit}" if unit else "")
