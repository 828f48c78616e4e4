"""Sensitivity: the pipeline reproduces the Ishigami function's analytic Sobol indices, and
its intervals have the width of the true sampling error (repeated runs on Ishigami); Morris
ranks a linear model's inputs, OAT swings are exact, and the simulator wrapper runs."""

from __future__ import annotations

import math

import numpy as np
import pytest
import xarray as xr
from scipy import stats

import simcore
from simcore.errors import ScenarioError
from simcore.studies.sensitivity import (
    format_sensitivity,
    model_runs,
    morris,
    oat,
    saltelli_design,
    saltelli_indices,
    sensitivity,
    sobol,
)

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


ISHIGAMI_DISTS = [stats.uniform(-math.pi, 2 * math.pi)] * 3
ISHIGAMI_KEYS = ["x1", "x2", "x3"]


def test_sobol_reproduces_the_ishigami_indices():
    calls = []

    def model(x):
        calls.append(len(x))
        return ishigami(x)

    ds = sobol(model, ISHIGAMI_DISTS, ISHIGAMI_KEYS, n=2**13, seed=1)
    assert calls == [model_runs("sobol", 2**13, 3)]        # one call, n (d + 2) runs
    assert ds.attrs["replicates"] == 8 and ds.attrs["base_samples"] == 2**13
    s1, st = ishigami_indices()
    for name, truth in (("S1", s1), ("ST", st)):
        est, se = (ds[v].isel(output=0).values for v in (name, f"{name}_se"))
        assert np.all(np.abs(est - truth) <= 5 * se), (name, est, truth, se)
        assert np.all(se < 0.005)
        t = stats.t.ppf(0.975, 7)
        np.testing.assert_allclose(ds[f"{name}_high"].isel(output=0) - est, t * se, rtol=1e-9)
        np.testing.assert_allclose(est - ds[f"{name}_low"].isel(output=0), t * se, rtol=1e-9)


def test_sobol_intervals_have_the_width_of_the_true_sampling_error():
    """M runs with different seeds: the spread of the point estimates matches the reported
    standard errors, and the analytic indices are covered at the nominal 95 %."""
    runs, n, replicates = 300, 1024, 8
    ds = [sobol(ishigami, ISHIGAMI_DISTS, ISHIGAMI_KEYS, n=n, seed=s).isel(output=0)
          for s in range(runs)]
    # var(estimates over runs) / mean(se^2) ~ F(M - 1, M (K - 1)) when the intervals are honest
    # (ratio of two independent variance estimates, each chi-square / its degrees of freedom)
    alpha = 1e-6                                           # ~5 sigma, two-sided
    dfs = (runs - 1, runs * (replicates - 1))
    low, high = stats.f.ppf(alpha / 2, *dfs), stats.f.ppf(1 - alpha / 2, *dfs)
    # coverage of the analytic values ~ Binomial(M, 0.95)
    c_low, c_high = stats.binom.ppf(alpha / 2, runs, 0.95), stats.binom.ppf(1 - alpha / 2,
                                                                          runs, 0.95)
    for name, truth in zip(("S1", "ST"), ishigami_indices()):
        est, se, lo, hi = (np.array([d[v].values for d in ds])
                           for v in (name, f"{name}_se", f"{name}_low", f"{name}_high"))
        ratio = est.var(axis=0, ddof=1) / np.mean(se**2, axis=0)
        assert np.all((low <= ratio) & (ratio <= high)), (name, ratio, low, high)
        covered = np.sum((lo <= truth) & (truth <= hi), axis=0)
        assert np.all((c_low <= covered) & (covered <= c_high)), (name, covered, c_low, c_high)
        # and the mean over runs is unbiased within 5 of its standard errors
        assert np.all(np.abs(est.mean(axis=0) - truth)
                      <= 5 * est.std(axis=0, ddof=1) / math.sqrt(runs)), (name, est.mean(0))


def test_sobol_same_seed_gives_identical_indices_and_intervals():
    a, b = (sobol(ishigami, ISHIGAMI_DISTS, ISHIGAMI_KEYS, n=256, seed=5) for _ in range(2))
    xr.testing.assert_identical(a, b)
    other = sobol(ishigami, ISHIGAMI_DISTS, ISHIGAMI_KEYS, n=256, seed=6)
    assert not np.array_equal(a.S1_low.values, other.S1_low.values)


def test_saltelli_indices_match_scipy_on_the_same_design():
    d, m = 3, 64
    x = saltelli_design(ISHIGAMI_DISTS, m, np.random.default_rng(2))
    assert x.shape == ((d + 2) * m, d)
    a, b = x[:m], x[m:2 * m]
    for i in range(d):                                   # AB_i: A with column i from B
        ab = x[(2 + i) * m:(3 + i) * m]
        np.testing.assert_array_equal(ab[:, i], b[:, i])
        np.testing.assert_array_equal(np.delete(ab, i, 1), np.delete(a, i, 1))
    y = np.column_stack([ishigami(x)[:, 0], 2 * ishigami(x)[:, 0] + x[:, 2]])   # 2 outputs
    s1, st = saltelli_indices(y, d)
    blocks = y.T.reshape(2, d + 2, m)                    # [output, block, m]
    ref = stats.sobol_indices(func={"f_A": blocks[:, 0], "f_B": blocks[:, 1],
                                    "f_AB": blocks[:, 2:].transpose(1, 0, 2)}, n=m)
    np.testing.assert_allclose(s1, ref.first_order, rtol=1e-12)
    np.testing.assert_allclose(st, ref.total_order, rtol=1e-12)


def test_sobol_interval_from_few_base_samples():
    ds = sobol(ishigami, ISHIGAMI_DISTS, ISHIGAMI_KEYS, n=8, seed=0)   # 4 scramblings of 2
    assert ds.attrs["replicates"] == 4
    assert np.all(ds.S1_low < ds.S1) and np.all(ds.S1 < ds.S1_high)
    with pytest.raises(ScenarioError, match="at least 4"):
        sobol(ishigami, ISHIGAMI_DISTS, ISHIGAMI_KEYS, n=2, seed=0)


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
    assert all(np.isfinite(s[v]).all() for v in ("S1_low", "S1_high", "ST_low", "ST_high"))
    assert "S1" in format_sensitivity(s) and "95% CI" in format_sensitivity(s)
    from simcore.studies.executors import LocalExecutor

    runs = []          # tasks of 16 rows, all replicates in one call: the same indices
    again = sensitivity(loaded, "sobol", "roas:7", n=8, executor=LocalExecutor(),
                        progress=runs.append)
    xr.testing.assert_identical(s, again)
    assert sum(runs) == model_runs("sobol", 8, len(loaded.uncertainty.parameters))


def test_sensitivity_refuses_what_it_cannot_analyse():
    loaded = simcore.load_scenario("brain_puzzle_us", ["simulation.horizon_days=10"])
    with pytest.raises(ScenarioError, match="independent") as err:
        sensitivity(loaded, "oat")
    assert err.value.source == loaded.source and str(err.value).startswith(loaded.source)
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
    errors = [line for line in bad.stderr.splitlines() if line.startswith("simcore: error")]
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert len(errors) == 1 and "--n" in errors[0] and "power of 2" in errors[0]


def test_cli_correlation_error_names_the_scenario(capsys):
    from simcore.cli import main

    loaded = simcore.load_scenario("reborn_emperor_us")
    assert loaded.uncertainty.correlations
    assert main(["sensitivity", "reborn_emperor_us", "--method", "sobol", "--n", "8",
                 "--no-progress"]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith(f"simcore: error: {loaded.source}: correlations:"), err
