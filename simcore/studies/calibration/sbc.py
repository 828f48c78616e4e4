"""Simulation-based calibration (Talts, Betancourt, Simpson, Vehtari & Gelman 2018): is a
calibrated forecast's interval a true claim about frequency?

Replication r draws a truth from the prior (draw 0 of the scenario with seed ``seed + r``:
its uncertain values, then its campaign and users simulated), with a discrepancy tau from its
prior added to every observed cell as the observation model says (sd tau x the cell's
expected value); reports its first ``days`` calendar days; calibrates on that report; and
compares the forecast with the truth's ROAS at each age: the truth's rank among the forecast
draws (uniform on 0..draws when the method is calibrated) and whether each central interval
covers it. The truth keeps the reported values where observed, as the forecast does: a real
campaign's report is what happened.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simcore import seeding
from simcore.errors import ScenarioError
from simcore.studies.calibration import calibrate, forecast, observation
from simcore.studies.calibration.latent import TAU_SCALE

AGES = (30, 90, 180)
LEVELS = (0.5, 0.8, 0.95)


@dataclass(frozen=True)
class Replication:
    """One replication: truth ROAS [age], its rank among the forecast draws [age], coverage
    [age, level] and the forecast's interval widths [age, level]."""

    truth: np.ndarray
    rank: np.ndarray
    covered: np.ndarray
    width: np.ndarray
    draws: int


def truth_and_report(loaded, days: int, rng: np.random.Generator):
    """(truth dataset of one draw, its report through calendar day ``days`` - 1)."""
    import simcore
    from simcore.observed import from_run
    from simcore.studies.calibration.posterior import Model

    truth = simcore.run(loaded, draws=np.array([0]))
    report = from_run(truth, 0, days)
    model = Model(loaded, report)
    plan = model.central if not loaded.uncertainty.parameters else _truth_plan(loaded, model)
    mom = observation.moments([plan], report, model.kinds)
    tau = np.asarray(TAU_SCALE) * np.abs(rng.standard_normal(2))
    users = report["activations"].values
    through = report["observed_through"].values
    for c in range(users.size):
        t = int(through[c])
        mean, _ = observation.cohort_gaussian(mom, users[c], t, np.zeros((1, 2)))
        noise = tau[[0] * t + [1] * (t + 1) * len(model.kinds)] * mean[0] * \
            rng.standard_normal(mean.shape[1])
        report["active_users"].values[c, 1:t + 1] += noise[:t]
        for k, name in enumerate(model.kinds):
            report[name].values[c, :t + 1] += noise[t + k * (t + 1):t + (k + 1) * (t + 1)]
    if "revenue_iaa" in report:
        report["revenue"].values[:] = report["revenue_iaa"].values + report["revenue_iap"].values
    return forecast.keep_observed(truth, report), report


def _truth_plan(loaded, model):
    values = {k: v[[0]] for k, v in loaded.uncertainty.sample(
        loaded.scenario.simulation.seed, [0]).items()}
    from simcore.studies.calibration.latent import plans_for

    plans, valid = plans_for(loaded, values, model.central)
    if not valid[0]:
        raise ScenarioError("", "the truth's values do not compile")
    return plans[0]


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
    return Replication(true_roas, rank, covered, width, draws)


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


def rank_uniformity(reps: list[Replication], bins: int = 10) -> np.ndarray:
    """Chi-square p-value [age] of the truth's ranks against uniform on 0..draws, in
    ``bins`` equal bins."""
    from scipy import stats

    draws = reps[0].draws
    ranks = np.array([r.rank for r in reps])            # [rep, age]
    edges = np.linspace(0, draws + 1, bins + 1)
    out = []
    for a in range(ranks.shape[1]):
        counts, _ = np.histogram(ranks[:, a], bins=edges)
        expected = np.diff(edges) / (draws + 1) * len(reps)
        out.append(stats.chisquare(counts, expected).pvalue)
    return np.array(out)
