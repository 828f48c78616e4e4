"""How well the calibrated model fits the report, and where the report and the prior disagree.

* Fit table: per age, the report's pooled active share (active users / activations of the
  cohorts observed at that age) and revenue per activation, beside the posterior predictive
  median and 90 % interval of the same figures (one replicated report per posterior
  particle, from the observation model with its discrepancy).
* Posterior predictive p-values per series (Gelman, Meng & Stern 1996): P(T(replica) >=
  T(report)) for T the sum of squared standardised residuals (misfit of any shape) and for
  T the residuals' trend with age (a curve of the wrong shape: e.g. a power-law tail that the
  model's retention cannot follow bends the residuals upward with age even when the
  discrepancy term absorbs their size); the trend's p-value is two-sided. Values below
  ``PPC_ALPHA`` are flagged.
* Prior-data conflict: where the report's pooled figure lies outside the prior predictive
  range (beyond the ``CONFLICT_QUANTILE`` tails of reports replicated from the prior draws,
  sampling noise and discrepancy included), the
  warning names the uncertain assumption that moves that figure most (rank correlation
  across prior draws) and asks to widen it.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

PPC_ALPHA = 0.01
CONFLICT_QUANTILE = 0.001
SERIES_NAMES = {"active_users": "active share", "revenue_iaa": "ad revenue per activation",
                "revenue_iap": "purchase revenue per activation",
                "revenue": "revenue per activation"}


def grids(observed, series) -> np.ndarray:
    """The report's ``series`` as [series, cohort, age] (NaN where not observed)."""
    return np.stack([observed[name].values for name in series])


def pooled(grid: np.ndarray, users: np.ndarray) -> np.ndarray:
    """Pooled figures [..., series, age]: sum over cohorts observed at an age / their users."""
    seen = np.isfinite(grid)
    total = np.where(seen, grid, 0.0).sum(axis=-2)
    base = (seen * users[:, None]).sum(axis=-2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(base > 0, total / base, np.nan)


def ppc(observed, series, expected, replica, variance) -> np.ndarray:
    """Posterior predictive p-values [series, 2]: (squared residuals, trend with age), from
    the expected report, one replica and the cells' variances per particle [n, series,
    cohort, age]."""
    report = grids(observed, series)
    sd = np.sqrt(np.maximum(np.nan_to_num(variance), 1e-300))
    ages = np.arange(report.shape[-1], dtype=float)
    out = np.full((report.shape[0], 2), np.nan)
    for s in range(report.shape[0]):
        seen = np.isfinite(report[s]) & (np.nan_to_num(variance[:, s]) > 0).all(axis=0)
        if seen.sum() < 2:
            continue
        centred = np.where(seen, ages - ages[seen.nonzero()[1]].mean(), 0.0)
        r_obs = np.where(seen, (report[s] - expected[:, s]) / sd[:, s], 0.0)
        r_rep = np.where(seen, (replica[:, s] - expected[:, s]) / sd[:, s], 0.0)
        size = ((r_rep**2).sum(axis=(1, 2)) >= (r_obs**2).sum(axis=(1, 2))).mean()
        t_obs = (r_obs * centred).sum(axis=(1, 2))
        t_rep = (r_rep * centred).sum(axis=(1, 2))
        upper = (t_rep >= t_obs).mean()
        out[s] = size, min(1.0, 2.0 * min(upper, 1.0 - upper))
    return out


def conflicts(observed, series, prior_reports: np.ndarray, prior_values: dict,
              prior_activations: np.ndarray) -> list[str]:
    """One line per figure of the report outside the prior predictive range (see the module):
    ``prior_reports`` [n, series, cohort, age] and ``prior_activations`` [n, cohort] are
    reports replicated from n prior draws, whose values by key are ``prior_values``."""
    users = observed["activations"].values
    report = pooled(grids(observed, series), users)
    prior = pooled(prior_reports, users)
    lines = []
    for s, name in enumerate(series):
        for age in range(report.shape[1]):
            value = report[s, age]
            if not np.isfinite(value) or (s == 0 and age == 0):
                continue
            line = _conflict(f"observed {SERIES_NAMES[name]} at D{age}", value,
                             prior[:, s, age], prior_values)
            if line:
                lines.append(line)
                break                              # the earliest age says enough
    cpa = observed["spend"].values.sum() / max(users.sum(), 1.0)
    line = _conflict("observed CPA", cpa,
                     observed["spend"].values.sum() / prior_activations.sum(axis=1),
                     prior_values)
    return lines + ([line] if line else [])


def _conflict(what: str, value: float, prior: np.ndarray, prior_values: dict) -> str:
    usable = np.isfinite(prior)
    prior = prior[usable]
    prior_values = {k: np.asarray(v, dtype=float)[usable] for k, v in prior_values.items()}
    if prior.size < 10 or np.ptp(prior) <= 1e-9 * max(abs(float(np.median(prior))), 1e-300):
        return ""                      # no prior spread: nothing to widen
    lo, hi = np.quantile(prior, [CONFLICT_QUANTILE, 1.0 - CONFLICT_QUANTILE])
    if lo <= value <= hi:
        return ""
    side, edge = ("above", hi) if value > hi else ("below", lo)
    driver = _driver(prior, prior_values)
    p = np.quantile(prior, 0.99 if side == "above" else 0.01)
    where = f"p{99 if side == 'above' else 1} {_fmt(p)}"
    if driver:
        return (f"{what} {_fmt(value)} lies {side} the prior's range ({where}, extreme "
                f"{_fmt(edge)}): {driver} drives it; widen its distribution")
    return f"{what} {_fmt(value)} lies {side} the prior's range ({where})"


def _driver(figure: np.ndarray, prior_values: dict) -> str:
    best, key = 0.0, ""
    if np.ptp(figure) == 0:
        return key
    for k, v in prior_values.items():
        if np.ptp(v) == 0:
            continue
        rho = abs(stats.spearmanr(v, figure).statistic)
        if np.isfinite(rho) and rho > best:
            best, key = rho, k
    return key


def _fmt(x: float) -> str:
    return f"{x:.3g}"
