"""The game's report model for calibration: batched retention fits, the moments of a
cohort's report against the simulator, the Gaussian log density."""

import dataclasses

import numpy as np
import pytest
from scipy import stats

import simcore
from simcore.kernel import layout as K
from simcore.kinds.game import observation
from simcore.kinds.game.plan import compile_loaded
from simcore.kinds.game.simulate import simulate_draw
from simcore.model.retention import fit_retention, fit_retention_many, survival


@pytest.mark.parametrize("name", ["reborn_emperor_us", "brain_puzzle_us", "backpack_battle_jp"])
def test_batched_retention_fits_match_single_fits(name):
    loaded = simcore.load_scenario(f"scenarios/{name}.toml")
    _, values = loaded.draw_scenarios(0, np.arange(200))
    ret = loaded.scenario.retention
    base = compile_loaded(loaded).retention
    ages = list(ret.targets())
    targets = np.column_stack([values.get(f"retention.d{a}", np.full(200, ret.targets()[a]))
                               for a in ages])
    params, _ = fit_retention_many(ret.model, ages, targets, base.play_probability, base)
    t = np.arange(181)
    for i in range(0, 200, 5):
        one = fit_retention(ret.model, ages, list(targets[i]), base.play_probability, base)
        # a flat valley (alpha at its bound) leaves both fits within 1e-5 of each other
        np.testing.assert_allclose(survival(t, *params[i]),
                                   survival(t, one.alpha, one.beta, one.c), rtol=1e-4)


@pytest.mark.parametrize("name,capped", [
    ("reborn_emperor_us", True),        # capped interstitials, heterogeneous sessions
    ("backpack_battle_jp", True),       # hybrid: price tiers, intermittent play
    ("brain_puzzle_us", False),         # no cap: the closed forms
])
def test_observation_moments_match_the_simulator(name, capped):
    """Mean and variance of every report cell: model vs 400 simulated cohorts."""
    plan = compile_loaded(simcore.load_scenario(f"scenarios/{name}.toml"))
    if not capped:
        params = plan.params.copy()
        params[K.INTERSTITIAL_CAP] = -1.0
        plan = dataclasses.replace(plan, params=params)
    reps, users, last = 400, 1500, 6
    sums = simulate_draw(plan, 0, np.full(reps, users))
    ads = (sums[:, K.V_REWARDED] * plan.money.rewarded_usd
           + sums[:, K.V_INTERSTITIAL] * plan.money.interstitial_usd)
    iap = sums[:, K.V_IAP_GROSS] * plan.money.iap_net_share
    report = _report(users, last)
    kinds = observation.revenue_kinds(report, plan)
    cells = [sums[:, K.V_ACTIVE, 1:last + 1]] + [
        {"revenue_iaa": ads, "revenue_iap": iap}[k][:, :last + 1] for k in kinds]
    y = np.concatenate(cells, axis=1)
    mom = observation.moments([plan], report, kinds)
    mean, cov = observation.cohort_gaussian(mom, users, last, np.zeros((1, 2)))
    var = np.diag(cov[0])
    z = (y.mean(axis=0) - mean[0]) / np.sqrt(var / reps)
    assert np.abs(z).max() < 4.5
    # the sample variance's standard error, from the sample's own fourth moment
    centred = y - y.mean(axis=0)
    sample_var = centred.var(axis=0, ddof=1)
    se_var = np.sqrt(((centred**2 - sample_var) ** 2).mean(axis=0) / reps)
    assert np.all(np.abs(sample_var - var) <= 5 * se_var)
    # and the correlation between ages (persistent heterogeneity), e.g. D1 vs D3 actives
    corr = cov[0, 0, 2] / np.sqrt(cov[0, 0, 0] * cov[0, 2, 2])
    assert abs(np.corrcoef(y[:, 0], y[:, 2])[0, 1] - corr) < 5 * (1 - corr**2) / np.sqrt(reps)


def _report(users: int, last: int):
    import xarray as xr

    zeros = np.zeros((1, last + 1))
    return xr.Dataset({"spend": ("cohort", [1000.0]), "activations": ("cohort", [float(users)]),
                       "observed_through": ("cohort", [last]),
                       "active_users": (("cohort", "age"), zeros),
                       "revenue_iaa": (("cohort", "age"), zeros),
                       "revenue_iap": (("cohort", "age"), zeros),
                       "revenue": (("cohort", "age"), zeros)},
                      coords={"cohort": [0], "age": np.arange(last + 1)})


def test_gaussian_logpdf_matches_scipy():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 4, 4))
    cov = a @ a.transpose(0, 2, 1) + np.eye(4)
    mean = rng.standard_normal((3, 4))
    y = rng.standard_normal(4)
    got = observation.gaussian_logpdf(y, mean, cov)
    want = [stats.multivariate_normal(mean[i], cov[i]).logpdf(y) for i in range(3)]
    np.testing.assert_allclose(got, want, rtol=1e-10)
