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

TARGET_AGES = (1, 3, 7, 14, 30, 60, 90)


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
        a, b, c = unpack(x)
        log_s = special.betaln(a, b + ages**c) - special.betaln(a, b)
        return log_s - log_targets

    def jacobian(x):  # d log S(t) / d (log a, log b[, log c]), from digamma identities
        a, b, c = unpack(x)
        tc = ages**c
        late = special.digamma(b + tc) - special.digamma(a + b + tc)
        cols = [a * (special.digamma(a + b) - special.digamma(a + b + tc)),
                b * (late - special.digamma(b) + special.digamma(a + b))]
        if with_c:
            cols.append(c * late * tc * np.log(ages))
        return np.column_stack(cols)

    lo = np.log([1e-3, 1e-3, 0.05][: 2 + with_c])
    hi = np.log([1e4, 1e4, 5.0][: 2 + with_c])
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
    return RetentionFit(model, float(a), float(b), float(c), play_probability,
                        tuple(int(t) for t in ages), tuple(float(v) for v in targets),
                        tuple(float(v) for v in fitted))


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
