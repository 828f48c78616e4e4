"""The prior in the copula's latent space, and the parameter sets it maps to.

A scenario's uncertain assumptions are a Gaussian copula: correlated standard normals z, each
mapped through the normal CDF and its distribution's inverse CDF
(``simcore.scenario.uncertainty``). The calibration samples in z, where the prior is exactly
N(0, R) (R the copula's correlation), so moves are smooth whatever the distributions' shapes,
and every z maps to a valid value of each field. Two more independent normals give the
discrepancy (``observation``): tau = scale x |z| in distribution (half-normal), with scales
``TAU_SCALE`` for active users and revenue.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import ndtr, ndtri

from simcore.errors import ScenarioError
from simcore.plan import compile_loaded
from simcore.retention import RetentionFit, fit_retention, fit_retention_many, survival
from simcore.scenario.uncertainty import TAIL
from simcore.studies.calibration.observation import solve_lower

# Prior scale of the relative discrepancy tau (half-normal): active users, revenue. Real
# cohorts' day-to-day quality moves active users by a few per cent of the curve; revenue per
# user moves more (eCPM by calendar day, a few whales), hence a wider prior.
TAU_SCALE = (0.05, 0.10)
TAU_NAMES = ("discrepancy.active_users", "discrepancy.revenue")


@dataclass(frozen=True)
class LatentPrior:
    """The uncertain fields of a loaded scenario as a N(0, R) prior in latent space."""

    keys: tuple[str, ...]
    chol: np.ndarray            # Cholesky factor of R (fields only; tau's normals are free)
    discrepancy: bool = True    # False: tau = 0 (the model is taken as exact)

    @classmethod
    def of(cls, loaded, discrepancy: bool = True) -> LatentPrior:
        unc = loaded.uncertainty
        if not unc.parameters:
            raise ScenarioError("", "no uncertain assumptions to calibrate: write the ones "
                                "the report should inform as distributions ({ dist = ... })",
                                loaded.source)
        return cls(tuple(unc.keys), np.linalg.cholesky(unc.normal_correlation()),
                   discrepancy)

    @property
    def dim(self) -> int:
        """Latent dimensions: one per uncertain field, then the two discrepancy scales."""
        return len(self.keys) + (len(TAU_SCALE) if self.discrepancy else 0)

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """n prior draws of z [n, dim]."""
        z = rng.standard_normal((n, self.dim))
        k = len(self.keys)
        z[:, :k] = np.einsum("ij,nj->ni", self.chol, z[:, :k])
        return z

    def log_density(self, z: np.ndarray) -> np.ndarray:
        """log prior density of z [n] (up to a constant)."""
        k = len(self.keys)
        white = solve_lower(np.broadcast_to(self.chol, (z.shape[0], k, k)), z[:, :k])
        return -0.5 * ((white**2).sum(axis=1) + (z[:, k:] ** 2).sum(axis=1))

    def values(self, loaded, z: np.ndarray) -> dict[str, np.ndarray]:
        """Field values [n] by dotted key (field units) at latent points z [n, dim]."""
        u = np.clip(ndtr(z[:, :len(self.keys)]), TAIL, 1.0 - TAIL)
        return {d.key: d.ppf(u[:, i]) for i, d in enumerate(loaded.uncertainty.parameters)}

    def tau(self, z: np.ndarray) -> np.ndarray:
        """Relative discrepancy [n, 2] (active users, revenue) at latent points z."""
        if not self.discrepancy:
            return np.zeros((z.shape[0], len(TAU_SCALE)))
        u = ndtr(z[:, len(self.keys):])
        return np.asarray(TAU_SCALE) * ndtri(0.5 + 0.5 * np.clip(u, 0.0, 1.0 - TAIL))


def plans_for(loaded, values: dict[str, np.ndarray], central) -> tuple[list, np.ndarray]:
    """The compiled plan of each parameter set (None where the values conflict: a field's
    validation or a retention fit fails) and a boolean [n] of the valid ones.

    Retention fits run for all sets at once (``fit_retention_many``, from the scenario's
    central fit); a set it does not settle is fitted alone by ``fit_retention``.
    """
    n = len(next(iter(values.values())))
    scenarios = []
    for i in range(n):
        try:
            scenarios.append(loaded.scenario_for({k: v[i] for k, v in values.items()}))
        except ScenarioError:
            scenarios.append(None)
    fits = _retention_fits(scenarios, central.retention)
    plans = []
    for s, fit in zip(scenarios, fits):
        plan = None
        if s is not None and fit is not None:
            try:
                plan = compile_loaded(loaded, s, central.retention, fit)
            except ScenarioError:
                plan = None
        plans.append(plan)
    return plans, np.array([p is not None for p in plans])


def _retention_fits(scenarios: list, start: RetentionFit) -> list:
    """Each scenario's retention fit (None where no model reaches its targets)."""
    fits: list = [None] * len(scenarios)
    rows, targets = [], []
    for i, s in enumerate(scenarios):
        if s is None:
            continue
        given = s.retention.targets()
        if given:
            rows.append(i)
            targets.append(given)
        else:
            fits[i] = _given(s.retention)
    if not rows:
        return fits
    first = scenarios[rows[0]].retention
    ages = list(targets[0])
    targets = np.array([list(t.values()) for t in targets])
    play = np.array([scenarios[i].retention.daily_play_probability for i in rows])
    params, settled = fit_retention_many(first.model, ages, targets, play, start)
    exact = len(ages) == (3 if first.model == "bdw" else 2)
    fitted = play[:, None] * survival(np.asarray(ages, float)[None, :], params[:, :1],
                                      params[:, 1:2], params[:, 2:])
    for j, i in enumerate(rows):
        if settled[j] or (not exact and np.all(np.isfinite(params[j]))):
            a, b, c = params[j]
            fits[i] = RetentionFit(first.model, float(a), float(b), float(c), float(play[j]),
                                   tuple(ages), tuple(targets[j].tolist()),
                                   tuple(fitted[j].tolist()))
            continue
        try:
            fits[i] = fit_retention(first.model, ages, list(targets[j]), float(play[j]), start)
        except ScenarioError:
            fits[i] = None
    return fits


def _given(ret) -> RetentionFit:
    c = ret.c if ret.model == "bdw" else 1.0
    return RetentionFit(ret.model, ret.alpha, ret.beta, c, ret.daily_play_probability)
