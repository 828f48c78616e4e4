"""Sensitivity: the pipeline reproduces the Ishigami function's analytic Sobol indices, Morris
ranks a linear model's inputs, OAT swings are exact, and the simulator wrapper runs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import simcore
from simcore.errors import ScenarioError
from simcore.sensitivity import format_sensitivity, morris, oat, sensitivity, sobol

A, B = 7.0, 0.1


def ishigami(x: np.ndarray) -> np.ndarray:
    """x [n, 3] -> y [n, 1]."""
    return (np.sin(x[:, 0]) + A * np.sin(x[:, 1]) ** 2
            + B * x[:, 2] ** 4 * np.sin(x[:, 0]))[:, None]


def ishigami_indices() -> tuple[np.ndarray, np.ndarray]:
    v1 = 0.5 * (1 + B * math.pi**4 / 5) ** 2
    v2 = A**2 / 8
    v13 = B**2 * math.pi**8 * (1 / 18 - 1 / 50)
    v = v1 + v2 + v13
    return np.array([v1, v2, 0.0]) / v, np.array([v1 + v13, v2, v13]) / v


def test_sobol_reproduces_the_ishigami_indices():
    dists = [stats.uniform(-math.pi, 2 * math.pi)] * 3
    ds = sobol(ishigami, dists, ["x1", "x2", "x3"], n=2**13, seed=1)
    s1, st = ishigami_indices()
    for name, truth in (("S1", s1), ("ST", st)):
        est = ds[name].isel(output=0).values
        half = (ds[f"{name}_high"] - ds[f"{name}_low"]).isel(output=0).values / 2
        # the bootstrap 95 % half-width is ~2 standard errors: allow 5 of them (2.5 x half)
        assert np.all(np.abs(est - truth) <= 2.5 * half + 1e-3), (name, est, truth, half)
        assert np.all(half < 0.05)


def test_morris_ranks_a_linear_models_inputs():
    dists = [stats.uniform(0, 1)] * 4
    coef = np.array([5.0, 2.0, 0.5, 0.0])
    ds = morris(lambda x: (x @ coef)[:, None], dists, ["a", "b", "c", "d"], n=20, seed=3)
    mu = ds.mu_star.isel(output=0).values
    assert list(np.argsort(-mu)) == [0, 1, 2, 3]
    # exact for a linear model, but for the end levels kept 1e-6 inside (0, 1)
    np.testing.assert_allclose(mu, coef, rtol=1e-5)
    np.testing.assert_allclose(ds.sigma.isel(output=0).values, 0.0, atol=1e-9)


def test_oat_swings_are_p95_minus_p5():
    dists = [stats.norm(0, 1), stats.uniform(0, 10)]
    ds = oat(lambda x: (3 * x[:, 0] - x[:, 1])[:, None], dists, ["u", "v"])
    z = stats.norm.ppf(0.95)
    np.testing.assert_allclose(ds.swing.isel(output=0).values, [6 * z, -9.0], rtol=1e-12)


def test_simulator_sensitivity_runs_on_the_scenarios_uncertain_parameters():
    loaded = simcore.load_scenario("brain_puzzle_us", [
        "campaign.days=1", "campaign.daily_budget_usd=300", "simulation.horizon_days=10",
        "correlations=[]"])
    ds = sensitivity(loaded, "oat", "roas", n=8)
    assert list(ds.output.values) == ["roas_d0", "roas_d1", "roas_d3", "roas_d7"]
    assert set(ds.parameter.values) == set(loaded.uncertainty.keys)
    swing = ds.swing.sel(output="roas_d7")
    # a higher CPM lowers ROAS, a higher rewarded eCPM raises it
    assert float(swing.sel(parameter="campaign.cpm_usd")) < 0
    assert float(swing.sel(parameter="ads.ecpm_rewarded_usd")) > 0
    assert "campaign.cpm_usd" in format_sensitivity(ds)
    s = sensitivity(loaded, "sobol", "roas:7", n=8)
    assert s.S1.dims == ("parameter", "output") and np.isfinite(s.ST).all()


def test_sensitivity_refuses_what_it_cannot_analyse():
    loaded = simcore.load_scenario("brain_puzzle_us", ["simulation.horizon_days=10"])
    with pytest.raises(ScenarioError, match="independent"):
        sensitivity(loaded, "oat")
    ok = loaded.with_overrides("correlations=[]")
    with pytest.raises(ScenarioError, match="power of 2"):
        sensitivity(ok, "sobol", n=6)
    with pytest.raises(ScenarioError, match="--target"):
        sensitivity(ok, "oat", "roas:99")


def test_cli_sensitivity_prints_the_ranking(tmp_path):
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "simcore", "sensitivity", "brain_puzzle_us", "--method", "oat",
         "--target", "roas:3", "--set", "campaign.days=1", "--set",
         "campaign.daily_budget_usd=300", "--set", "simulation.horizon_days=5",
         "--set", "correlations=[]", "-o", "oat.nc"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "oat sensitivity of roas:3" in result.stdout and "swing" in result.stdout
    assert (tmp_path / "oat.nc").is_file()
    bad = subprocess.run([sys.executable, "-m", "simcore", "sensitivity", "brain_puzzle_us",
                          "--method", "sobol", "--n", "6", "--set", "correlations=[]"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "--n" in bad.stderr
