"""Retention closed forms, fitting, and the kernel's simulated retention against S(t)."""

import numpy as np
import pytest

from simcore.kernel import layout as K
from simcore.model.retention import fit_retention, played_days_pmf, survival
from tests.helpers import per_user_replicates, plan_for


def test_survival_closed_forms():
    t = np.arange(0, 50)
    s = survival(t, 0.8, 2.5)
    assert s[0] == 1.0 and np.all(np.diff(s) < 0)
    # sBG by recursion (Fader & Hardie 2007): S(t) = S(t-1) * (beta + t - 1) / (alpha + beta + t - 1)
    rec = np.cumprod(np.concatenate(([1.0], (2.5 + t[1:] - 1) / (0.8 + 2.5 + t[1:] - 1))))
    np.testing.assert_allclose(s, rec, rtol=1e-12)
    np.testing.assert_allclose(survival(t, 0.8, 2.5, 1.0), s)


@pytest.mark.parametrize("model,params", [("sbg", (0.7, 2.2, 1.0)), ("bdw", (1.3, 0.9, 0.6)),
                                          ("bdw", (0.4, 3.0, 1.4))])
def test_fit_recovers_generating_parameters(model, params):
    ages = [1, 3, 7, 14, 30, 60, 90]
    targets = survival(ages, *params)
    fit = fit_retention(model, ages, targets)
    np.testing.assert_allclose((fit.alpha, fit.beta, fit.c), params, rtol=1e-4)
    assert fit.max_rel_error < 1e-6


def test_fit_with_intermittent_play_divides_out_play_probability():
    ages = [1, 7, 30]
    targets = 0.8 * survival(ages, 0.7, 2.2)
    fit = fit_retention("sbg", ages, targets, play_probability=0.8)
    np.testing.assert_allclose((fit.alpha, fit.beta), (0.7, 2.2), rtol=1e-4)


@pytest.mark.parametrize("q", [1.0, 0.7])
def test_played_days_pmf_is_a_distribution_with_the_right_mean(q):
    pmf = played_days_pmf(30, 0.9, 1.7, 0.8, q)
    assert pmf[0] == 0 and abs(pmf.sum() - 1) < 1e-12
    s = survival(np.arange(31), 0.9, 1.7, 0.8)
    expected_mean = 1 + q * s[1:].sum()
    assert abs(np.dot(pmf, np.arange(pmf.size)) - expected_mean) < 1e-10


@pytest.mark.parametrize("sampling", [True, False])
@pytest.mark.parametrize("model,sets", [
    ("sbg", ("retention.alpha=0.6", "retention.beta=1.8")),
    ("bdw", ("retention.alpha=1.2", "retention.beta=0.8", "retention.c=0.55")),
])
def test_simulated_retention_matches_closed_form(model, sets, sampling):
    plan = plan_for("brain_puzzle_us", f"retention.model='{model}'", *sets,
                    "simulation.horizon_days=60", aggregate=sampling, retention_params=True)
    n, reps = 100_000, 8
    active = per_user_replicates(plan, n, reps, seed=11)[:, K.V_ACTIVE, :]
    ages = np.array([0, 1, 2, 5, 10, 30, 60])
    p = survival(ages, plan.retention.alpha, plan.retention.beta, plan.retention.c)
    se = np.sqrt(p * (1 - p) / (n * reps))  # binomial: each user is active or not
    assert np.all(np.abs(active.mean(axis=0)[ages] - p) <= 5 * se + 1e-12)
