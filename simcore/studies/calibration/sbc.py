"""Simulation-based calibration (Talts, Betancourt, Simpson, Vehtari & Gelman 2018): is a
calibrated forecast's interval a true claim about frequency?

Replication r draws a truth from the prior (draw 0 of the scenario with seed ``seed + r``:
its uncertain values, then its campaign and users simulated), with a discrepancy tau from its
prior added to every observed cell as the observation model says (sd tau x the cell's
expected value) and carried over the cells still to come as a persistent factor (as the
forecast assumes, the kind's ``carry_discrepancy``); reports its first ``days`` calendar
days; calibrates on that report; and compares the forecast with the truth's ROAS at each
age: the truth's rank among the forecast draws (uniform on 0..draws when the method is
calibrated) and whether each central interval covers it. The truth keeps the reported
values where observed, as the forecast does: a real campaign's report is what happened.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simcore import seeding
from simcore.errors import ScenarioError
from simcore.studies.calibration import calibrate
from simcore.studies.calibration.latent import TAU_SCALE

AGES = (30, 90, 180)
LEVELS = (0.5, 0.8, 0.95)


@dataclass(frozen=True)
class Replication:
    """One replication: truth ROAS [age], its rank among the forecast draws [age], coverage
    [age, level] and the forecast's interval widths [age, level]; each uncertain
    assumption's true value's rank among the posterior particles [key] (the SBC of the
    posterior itself)."""

    truth: np.ndarray
    rank: np.ndarray
    covered: np.ndarray
    width: np.ndarray
    draws: int
    param_rank: np.ndarray
    particles: int


def truth_and_report(loaded, days: int, rng: np.random.Generator):
    """(truth dataset of one draw, its report through calendar day ``days`` - 1)."""
    from simcore.data.observed import from_run
    from simcore.engine.run import run
    from simcore.studies.calibration.posterior import Model

    truth = run(loaded, draws=np.array([0]))
    report = from_run(truth, 0, days)
    model = Model(loaded, report)
    values = {k: v[[0]] for k, v in loaded.uncertainty.sample(
        loaded.scenario.simulation.seed, [0]).items()}
    plans, valid = model.kind.plans(loaded, values, model.central)
    if not valid[0]:
        raise ScenarioError("", "the truth's values do not compile", loaded.source)
    expected = model.kind.replicate(plans, report, model.series, np.zeros((1, 2)),
                                    rng)["expected"][0]
    tau = np.asarray(TAU_SCALE) * np.abs(rng.standard_normal(2))
    for s, name in enumerate(model.series):
        cells = np.isfinite(report[name].values) & (expected[s] > 0)
        if name == "active_users":
            cells[:, 0] = False                 # age 0: the activations, exactly
        noise = tau[min(s, 1)] * expected[s] * rng.standard_normal(expected[s].shape)
        report[name].values[:] = np.where(cells, report[name].values + noise,
                                          report[name].values)
    if "revenue_iaa" in report:
        report["revenue"].values[:] = report["revenue_iaa"].values + report["revenue_iap"].values
    # the same model error persists over what is still to come, as the forecast assumes
    future = model.kind.carry_discrepancy(truth, tau[None, :], loaded.scenario.simulation.seed)
    return model.kind.keep_observed(future, report), report


def replicate(loaded, days: int, particles: int, draws: int) -> Replication:
    """One SBC replication of ``loaded`` (its seed picks the truth)."""
    rng = seeding.draw_rng(seeding.CALIBRATION, loaded.scenario.simulation.seed, 2)
    truth, report = truth_and_report(loaded, days, rng)
    fc = calibrate(loaded, report, particles=particles, draws=draws)
    true_roas = truth["roas_paid"].sel(draw=truth.draw[0], age=list(AGES)).values
    roas = fc["roas_paid"].sel(age=list(AGES)).values           # [draw, age]
    rank = (roas < true_roas[None, :]).sum(axis=0)
    covered = np.zeros((len(AGES), len(LEVELS)), dtype=bool)
    width = np.zeros((len(AGES), len(LEVELS)))
    for j, level in enumerate(LEVELS):
        lo, hi = np.quantile(roas, [(1 - level) / 2, (1 + level) / 2], axis=0)
        covered[:, j] = (lo <= true_roas) & (true_roas <= hi)
        width[:, j] = hi - lo
    keys = loaded.uncertainty.keys
    param_rank = np.array([(fc[f"posterior_{k}"].values
                            < float(truth[f"param_{k}"].values[0])).sum() for k in keys])
    return Replication(true_roas, rank, covered, width, draws, param_rank,
                       fc.sizes["particle"])


def run_sbc(loaded, replications: int, days: int, particles: int, draws: int,
            progress=None) -> list[Replication]:
    """``replications`` replications, r using seed ``simulation.seed + r``; a truth whose
    sampled values conflict (the prior puts no mass there) is skipped and replaced."""
    from simcore.scenario import scenario_from_text

    out, r = [], 0
    base = loaded.scenario.simulation.seed
    while len(out) < replications:
        one = scenario_from_text(loaded.text, loaded.source,
                                 (*loaded.overrides, f"simulation.seed={base + r}"))
        r += 1
        try:
            out.append(replicate(one, days, particles, draws))
        except ScenarioError:
            if r > 2 * replications + 10:
                raise
            continue
        if progress is not None:
            progress(1)
    return out


def coverage_table(reps: list[Replication]) -> tuple[np.ndarray, np.ndarray]:
    """Coverage [age, level] and its binomial standard error."""
    cov = np.mean([r.covered for r in reps], axis=0)
    levels = np.asarray(LEVELS)[None, :]
    return cov, np.sqrt(levels * (1 - levels) / len(reps))


def rank_uniformity(reps: list[Replication], bins: int = 10,
                    parameters: bool = False) -> np.ndarray:
    """Chi-square p-value [age] of the truth's ranks against uniform on 0..draws, in
    ``bins`` equal bins (``parameters``: of the true values' ranks among the posterior
    particles [key])."""
    from scipy import stats

    draws = reps[0].particles if parameters else reps[0].draws
    ranks = np.array([r.param_rank if parameters else r.rank for r in reps])
    edges = np.linspace(0, draws + 1, bins + 1)
    out = []
    for a in range(ranks.shape[1]):
        counts, _ = np.histogram(ranks[:, a], bins=edges)
        expected = np.diff(edges) / (draws + 1) * len(reps)
        out.append(stats.chisquare(counts, expected).pvalue)
    return np.array(out)
