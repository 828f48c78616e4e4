"""Simulation-based calibration, reduced for CI: 30 truths from the prior, each calibrated on
its first 5 days; the forecast's central 80 % interval of paid ROAS at D30, D90 and D180
covers the truth at its nominal rate within 4 binomial standard errors. The full study
(200+ replications, 50/80/95 % intervals, rank uniformity) is benchmarks/calibration_sbc.py."""

import numpy as np
import pytest

import simcore
from simcore.studies.calibration import sbc

REPS = 30
LEVEL = sbc.LEVELS.index(0.8)


@pytest.mark.slow
def test_forecast_intervals_cover_at_their_nominal_rate():
    loaded = simcore.load_scenario("scenarios/reborn_emperor_us.toml", overrides=(
        "campaign.daily_budget_usd=500", "campaign.days=7", "simulation.seed=4000"))
    reps = sbc.run_sbc(loaded, REPS, days=5, particles=200, draws=40)
    coverage, se = sbc.coverage_table(reps)
    assert len(reps) == REPS
    assert np.all(np.abs(coverage[:, LEVEL] - 0.8) <= 4 * se[0, LEVEL]), coverage
    # the intervals are not vacuous: they widen with age, as the long tail is unseen
    width = np.mean([r.width for r in reps], axis=0)[:, LEVEL]
    assert np.all(np.diff(width) > 0)
