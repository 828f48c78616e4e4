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
  range (beyond the ``CONFLICT_QUANTILE`` tails of the prior draws' expected figures), the
  warning names the uncertain assumption that moves that figure most (rank correlation
  across prior draws) and asks to widen it.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from simcore.studies.calibration import observation

PPC_ALPHA = 0.01
CONFLICT_QUANTILE = 0.001
SERIES_NAMES = {"active_users": "active share", "revenue_iaa": "ad revenue per activation",
                "revenue_iap": "purchase revenue per activation",
                "revenue": "revenue per activation"}
UNITS = {"active_users": "1", "revenue_iaa": "USD", "revenue_iap": "USD", "revenue": "USD"}


def series(kinds: tuple[str, ...]) -> tuple[str, ...]:
    return ("active_users", *kinds)


def grids(observed, kinds) -> np.ndarray:
    """The report as [series, cohort, age] (NaN where not observed)."""
    return np.stack([observed[name].values for name in series(kinds)])


def pooled(grid: np.ndarray, users: np.ndarray) -> np.ndarray:
    """Pooled figures [..., series, age]: sum over cohorts observed at an age / their users."""
    seen = np.isfinite(grid)
    total = np.where(seen, grid, 0.0).sum(axis=-2)
    base = (seen * users[:, None]).sum(axis=-2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(base > 0, total / base, np.nan)


def replicate(mom: observation.Moments, observed, tau: np.ndarray,
              rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Expected and one replicated report per parameter set, each [n, series, cohort, age]."""
    users = observed["activations"].values
    through = observed["observed_through"].values
    n_series = 1 + len(mom.kinds)
    shape = (mom.m1.shape[0], n_series, users.size, observed.sizes["age"])
    expected, replica = np.full(shape, np.nan), np.full(shape, np.nan)
    for c in range(users.size):
        t = int(through[c])
        mean, cov = observation.cohort_gaussian(mom, max(users[c], 0.0), t, tau)
        noise = np.einsum("nij,nj->ni", np.linalg.cholesky(cov),
                          rng.standard_normal(mean.shape))
        for target, values in ((expected, mean), (replica, mean + noise)):
            target[:, 0, c, 0] = users[c]
            target[:, 0, c, 1:t + 1] = values[:, :t]
            for k in range(n_series - 1):
                target[:, 1 + k, c, :t + 1] = values[:, t + k * (t + 1):t + (k + 1) * (t + 1)]
    return expected, replica


def ppc(observed, kinds, expected, replica, mom, tau) -> np.ndarray:
    """Posterior predictive p-values [series, 2]: (squared residuals, trend with age)."""
    report = grids(observed, kinds)
    sd = np.sqrt(np.maximum(_variances(mom, observed, tau), 1e-300))
    ages = np.arange(report.shape[-1], dtype=float)
    out = np.full((report.shape[0], 2), np.nan)
    for s in range(report.shape[0]):
        seen = np.isfinite(report[s]) & (sd[:, s] > 0).all(axis=0)
        if s == 0:
            seen[:, 0] = False                 # age 0: every activated user is active
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


def _variances(mom, observed, tau) -> np.ndarray:
    """Marginal variances [n, series, cohort, age] of the report's cells."""
    users = observed["activations"].values
    through = observed["observed_through"].values
    n_series = 1 + len(mom.kinds)
    out = np.zeros((mom.m1.shape[0], n_series, users.size, observed.sizes["age"]))
    for c in range(users.size):
        t = int(through[c])
        var = np.einsum("nii->ni", observation.cohort_gaussian(mom, max(users[c], 0.0), t,
                                                               tau)[1])
        out[:, 0, c, 1:t + 1] = var[:, :t]
        for k in range(n_series - 1):
            out[:, 1 + k, c, :t + 1] = var[:, t + k * (t + 1):t + (k + 1) * (t + 1)]
    return out


def conflicts(observed, kinds, prior_expected: np.ndarray, prior_values: dict,
              activations_model: np.ndarray) -> list[str]:
    """One line per figure of the report outside what the prior expects (see the module)."""
    users = observed["activations"].values
    report = pooled(grids(observed, kinds), users)
    prior = pooled(prior_expected, users)
    lines = []
    for s, name in enumerate(series(kinds)):
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
                     observed["spend"].values.sum() / np.exp(activations_model).sum(axis=1),
                     prior_values)
    return lines + ([line] if line else [])


def _conflict(what: str, value: float, prior: np.ndarray, prior_values: dict) -> str:
    usable = np.isfinite(prior)
    prior = prior[usable]
    prior_values = {k: np.asarray(v, dtype=float)[usable] for k, v in prior_values.items()}
    if prior.size < 10:
        return ""
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
    for k, v in prior_values.items():
        if np.ptp(v) == 0:
            continue
        rho = abs(stats.spearmanr(v, figure).statistic)
        if np.isfinite(rho) and rho > best:
            best, key = rho, k
    return key


def _fmt(x: float) -> str:
    return f"{x:.3g}"
