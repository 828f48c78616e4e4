"""The posterior of a scenario's uncertain assumptions given a cohort report."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simcore import kinds, seeding
from simcore.errors import ScenarioError
from simcore.studies.calibration import smc
from simcore.studies.calibration.latent import LatentPrior

PARTICLES = 1000          # default particles (posterior sample size)
# Each particle's likelihood costs ~0.4 ms and a calibration evaluates it ~100 times, so 20,000
# particles take ~15 minutes on 2 cores: the most one command runs.
MIN_PARTICLES, MAX_PARTICLES = 100, 20_000
# Particles per task: their likelihoods are computed together (vectorised; on an executor's
# workers when given). Fixed, so no result depends on the executor or its workers; fewer
# when the report's cells make a block's covariances big (at most ~2e7 numbers).
BLOCK_PARTICLES = 250
BLOCK_CELLS = 2e7


@dataclass
class Posterior:
    """Prior and posterior particles of one calibration, with the model that made them.

    ``values`` and ``prior_values``: field values [particle] by dotted key; ``tau`` and
    ``prior_tau`` [particle, 2] the discrepancy; ``plans`` the posterior particles' plans.
    """

    model: Model
    result: smc.SmcResult
    values: dict[str, np.ndarray]
    prior_values: dict[str, np.ndarray]
    tau: np.ndarray
    prior_tau: np.ndarray
    plans: list


def report_model(loaded):
    """The title kind's report model, after refusing what it does not describe (one line)."""
    kind = kinds.for_scenario(loaded)
    if loaded.markets:
        raise ScenarioError("markets", "calibration reads one market's cohorts; calibrate each "
                            "market's scenario on its own report", loaded.source)
    if kind.calibration is None:
        raise ScenarioError("title.kind", f"= '{kind.name}': calibration has no report model "
                            f"for a {kind.name} yet (games only)", loaded.source)
    kind.calibration.check(loaded)
    return kind.calibration


class Model:
    """log prior and log likelihood of latent points for one scenario and report
    (``executor``: where blocks of particles are evaluated; None: here)."""

    def __init__(self, loaded, observed, discrepancy: bool = True, executor=None):
        self.loaded, self.observed, self.executor = loaded, observed, executor
        self.kind = report_model(loaded)
        self.prior = LatentPrior.of(loaded, discrepancy)
        self.central = self.kind.central(loaded)
        self.series = self.kind.series(observed, self.central, loaded.source)

    def plans(self, z: np.ndarray) -> tuple[list, np.ndarray]:
        """Each latent point's plan (None where invalid) and the valid mask [n]."""
        return self.kind.plans(self.loaded, self.prior.values(self.loaded, z), self.central)

    def log_likelihood(self, z: np.ndarray) -> np.ndarray:
        """log p(report | z) [n], by blocks of particles (see ``BLOCK_PARTICLES``)."""
        cells = len(self.series) * self.observed.sizes["age"]
        size = max(16, min(BLOCK_PARTICLES, int(BLOCK_CELLS / cells**2)))
        blocks = [z[i:i + size] for i in range(0, len(z), size)]
        if self.executor is None:
            return np.concatenate([self.block(b) for b in blocks])
        out = [None] * len(blocks)
        tasks = [(i, self.loaded, self.observed, self.prior.discrepancy, b)
                 for i, b in enumerate(blocks)]
        for task, result in self.executor.map(_block_task, tasks):
            out[task[0]] = result
        return np.concatenate(out)

    def block(self, z: np.ndarray) -> np.ndarray:
        """log p(report | z) [n] of one block, here."""
        plans, valid = self.plans(z)
        out = np.full(z.shape[0], -np.inf)
        if valid.any():
            good = [p for p in plans if p is not None]
            out[valid] = self.kind.log_likelihood(good, self.observed, self.series,
                                                  self.prior.tau(z[valid]))
        return np.where(np.isfinite(out), out, -np.inf)


def _block_task(index: int, loaded, observed, discrepancy: bool, z: np.ndarray) -> np.ndarray:
    """One block's log-likelihoods (an executor's task; ``index`` orders the results)."""
    return Model(loaded, observed, discrepancy).block(z)


def sample_posterior(loaded, observed, particles: int = PARTICLES,
                     discrepancy: bool = True, executor=None) -> Posterior:
    """Tempered SMC over the scenario's uncertain assumptions and (unless ``discrepancy`` is
    False) the discrepancy; likelihoods on ``executor`` when given."""
    model = Model(loaded, observed, discrepancy, executor)
    if isinstance(particles, bool) or not MIN_PARTICLES <= particles <= MAX_PARTICLES:
        raise ScenarioError("particles", f"= {particles}: {MIN_PARTICLES}-{MAX_PARTICLES} "
                            "posterior particles", loaded.source)
    rng = seeding.draw_rng(seeding.CALIBRATION, loaded.scenario.simulation.seed, 0)
    prior_z = model.prior.sample(rng, particles)
    try:
        result = smc.tempered_smc(model.log_likelihood, model.prior.log_density, prior_z, rng)
    except RuntimeError as exc:
        report = observed.attrs.get("source", "the report")
        raise ScenarioError("", f"calibration failed: {exc}; the report ({report}) and the "
                            "prior disagree too much (see the prior check)",
                            loaded.source) from None
    plans, valid = model.plans(result.z)
    if not valid.all():          # every posterior particle has a finite likelihood
        raise AssertionError("a posterior particle without a plan")
    return Posterior(model, result, model.prior.values(loaded, result.z),
                     model.prior.values(loaded, prior_z), model.prior.tau(result.z),
                     model.prior.tau(prior_z), plans)
