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
from simcore.scenario.uncertainty import TAIL

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
        white = _solve_lower(self.chol, z[:, :k])
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


def _solve_lower(chol: np.ndarray, z: np.ndarray) -> np.ndarray:
    """chol^-1 z for rows z [n, k], by forward substitution (no BLAS call whose rounding
    could depend on the thread count)."""
    out = np.empty_like(z)
    for i in range(z.shape[1]):
        out[:, i] = (z[:, i] - np.einsum("nj,j->n", out[:, :i], chol[i, :i])) / chol[i, i]
    return out
