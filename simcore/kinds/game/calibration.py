"""The mini-game's side of calibration (``simcore.studies.calibration``): which reports its
model describes, each parameter set's compiled plan, the report's likelihood and replicas
(``observation``), and the forecast's draws with the report kept (``forecast``)."""

from __future__ import annotations

import numpy as np

from simcore.errors import ScenarioError
from simcore.kinds.game import forecast, observation
from simcore.kinds.game.plan import compile_loaded
from simcore.model.retention import RetentionFit, fit_retention, fit_retention_many, survival


class GameCalibration:
    """What ``simcore.studies.calibration`` asks of a title kind, for a game."""

    def check(self, loaded) -> None:
        """Refuse, in one line, what the report model does not describe (yet)."""
        s = loaded.scenario
        for section in ("creator", "organic", "share", "quality"):
            if getattr(s, section, None) is not None:
                raise ScenarioError(section, f"calibration reads paid-ads cohorts only; remove "
                                    f"[{section}] to calibrate (its users are not in the "
                                    "report model yet)", loaded.source)
        if s.rules:
            raise ScenarioError("rules", "calibration assumes the report's spend was set by "
                                "hand; remove [[rules]] to calibrate", loaded.source)

    def central(self, loaded):
        """The plan at the scenario's medians."""
        return compile_loaded(loaded)

    def series(self, observed, central, source: str = "") -> tuple[str, ...]:
        """The report's series the likelihood reads: active users, then the revenue kinds."""
        return ("active_users", *observation.revenue_kinds(observed, central, source))

    def plans(self, loaded, values: dict[str, np.ndarray], central) -> tuple[list, np.ndarray]:
        """Each parameter set's plan (None where its values conflict or no retention model
        reaches its targets) and a boolean [n] of the valid ones. Retention fits run for all
        sets at once (``fit_retention_many``, from the central fit); a set it does not settle
        is fitted alone by ``fit_retention``."""
        n = len(next(iter(values.values())))
        scenarios = []
        for i in range(n):
            try:
                scenarios.append(loaded.scenario_for({k: v[i] for k, v in values.items()}))
            except ScenarioError:
                scenarios.append(None)
        plans = []
        for s, fit in zip(scenarios, _retention_fits(scenarios, central.retention)):
            plan = None
            if s is not None and fit is not None:
                try:
                    plan = compile_loaded(loaded, s, central.retention, fit)
                except ScenarioError:
                    plan = None
            plans.append(plan)
        return plans, np.array([p is not None for p in plans])

    def log_likelihood(self, plans: list, observed, series, tau: np.ndarray) -> np.ndarray:
        """log p(report | plan) [n] (``tau`` [n, 2]: the discrepancy)."""
        mom = observation.moments(plans, observed, series[1:])
        return observation.log_likelihood(mom, observed, tau)

    def replicate(self, plans: list, observed, series, tau: np.ndarray,
                  rng: np.random.Generator) -> dict[str, np.ndarray]:
        """``expected`` report, one ``replica`` and the cells' ``variance`` [n, series,
        cohort, age]; ``activations``: replicated activations [n, cohort] given each cohort's
        spend."""
        mom = observation.moments(plans, observed, series[1:])
        expected, replica, variance = observation.replicate(mom, observed, tau, rng)
        users = observed["activations"].values
        sd = np.sqrt(mom.cost_var + 1.0 / (users + 0.5))
        activations = np.exp(mom.log_activations + sd * rng.standard_normal(sd.shape))
        return {"expected": expected, "replica": replica, "variance": variance,
                "activations": activations}

    forecast_dataset = staticmethod(forecast.forecast_dataset)
    carry_discrepancy = staticmethod(forecast.carry_discrepancy)
    keep_observed = staticmethod(forecast.keep_observed)


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
            ret = s.retention
            fits[i] = RetentionFit(ret.model, ret.alpha, ret.beta,
                                   ret.c if ret.model == "bdw" else 1.0,
                                   ret.daily_play_probability)
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


CALIBRATION = GameCalibration()
