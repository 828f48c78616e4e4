"""Shared test helpers: build plans from packaged scenarios with overrides, run draws."""

import dataclasses
import tomllib

import numpy as np

from simcore.kinds.game.plan import compile_plan
from simcore.kinds.game.simulate import simulate_draw
from simcore.scenario import packaged_scenarios
from simcore.scenario.overrides import apply_overrides
from simcore.scenario.loading import split_uncertainty
from simcore.scenario.validation import validate
from simcore.scenario.schema import RETENTION_TARGET_KEYS


def plan_for(name: str, *overrides: str, aggregate: bool | None = None,
             retention_params: bool = False, drop: tuple[str, ...] = ()):
    """Plan of a packaged scenario (uncertain fields at their medians) with overrides;
    ``drop`` removes dotted keys first, and
    ``retention_params`` drops the retention targets so overrides can give alpha/beta/c."""
    data = tomllib.loads(packaged_scenarios()[name].read_text())
    if retention_params:
        drop = drop + tuple(f"retention.{k}" for k in RETENTION_TARGET_KEYS)
    for key in drop:
        section, name_ = key.split(".")
        data[section].pop(name_, None)
    data.pop("correlations", None)  # medians only: correlations play no part
    data, _ = split_uncertainty(apply_overrides(data, overrides, name))
    plan = compile_plan(validate(data, name))
    if aggregate is not None:
        plan = dataclasses.replace(plan, aggregate=aggregate)
    return plan


def per_user_replicates(plan, n_users: int, n_reps: int, seed: int = 0) -> np.ndarray:
    """[rep, var, age] per-user mean sums, from independent draws of one cohort of n users."""
    plan = dataclasses.replace(plan, seed=seed)
    return np.stack([simulate_draw(plan, d, np.array([n_users]))[0] / n_users
                     for d in range(n_reps)])


def within_sigmas(values: np.ndarray, expected, sigmas: float = 5.0) -> bool:
    """Mean of independent replicates within ``sigmas`` standard errors of ``expected``."""
    values = np.asarray(values, dtype=float)
    se = values.std(ddof=1, axis=0) / np.sqrt(values.shape[0])
    return bool(np.all(np.abs(values.mean(axis=0) - expected) <= sigmas * se))
