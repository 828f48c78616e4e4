"""Uncertain parameters: each distribution's stated moments or quantiles, the Gaussian copula's
rank correlations, reproducible per-draw sampling, and how uncertainty adds to the spread of
ROAS across draws (law of total variance).

Tolerances are 5 standard errors computed from the samples themselves; seeds are fixed.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from simcore.engine.run import run
from simcore.errors import ScenarioError
from simcore.scenario import load_scenario
from simcore.scenario.uncertainty import Correlation, Uncertainty, check_matrix

N = 20_000
SIGMAS = 5.0


def uncertain(*overrides: str) -> Uncertainty:
    """The uncertainty of reborn_emperor_us with the given fields made uncertain."""
    return load_scenario("reborn_emperor_us", list(overrides)).uncertainty


def sample(spec: str, key: str = "ads.ecpm_rewarded_usd", seed: int = 7) -> np.ndarray:
    return uncertain(f"{key}={spec}").sample(seed, np.arange(N))[key]


def assert_share_below(x: np.ndarray, value: float, p: float) -> None:
    """The share of samples below ``value`` is p within 5 binomial standard errors."""
    se = math.sqrt(p * (1 - p) / x.size)
    assert abs(np.mean(x < value) - p) <= SIGMAS * se, (np.mean(x < value), p)


def assert_mean(x: np.ndarray, mean: float) -> None:
    se = x.std(ddof=1) / math.sqrt(x.size)
    assert abs(x.mean() - mean) <= SIGMAS * se, (x.mean(), mean, se)


def assert_sd(x: np.ndarray, sd: float) -> None:
    dev2 = (x - x.mean()) ** 2
    se_var = dev2.std(ddof=1) / math.sqrt(x.size)
    assert abs(dev2.mean() - sd**2) <= SIGMAS * se_var, (math.sqrt(dev2.mean()), sd)


def test_lognormal_median_and_p90():
    x = sample('{dist="lognormal", median=12.0, p90=20.0}')
    assert_share_below(x, 12.0, 0.5)
    assert_share_below(x, 20.0, 0.9)


def test_beta_mean_and_sd():
    x = sample('{dist="beta", mean=0.03, sd=0.01}', key="ads.fill_rate_rewarded")
    assert_mean(x, 0.03)
    assert_sd(x, 0.01)
    assert x.min() > 0 and x.max() < 1


def test_uniform_bounds_and_mean():
    x = sample('{dist="uniform", low=8.0, high=20.0}')
    assert 8.0 <= x.min() and x.max() <= 20.0
    assert_mean(x, 14.0)
    assert_sd(x, 12.0 / math.sqrt(12.0))


def test_triangular_mean_and_mode_share():
    x = sample('{dist="triangular", low=5.0, mode=9.0, high=15.0}')
    assert 5.0 <= x.min() and x.max() <= 15.0
    assert_mean(x, (5.0 + 9.0 + 15.0) / 3.0)
    assert_share_below(x, 9.0, (9.0 - 5.0) / (15.0 - 5.0))


def test_truncated_normal_mean_and_bounds():
    x = sample('{dist="normal", mean=10.0, sd=6.0, low=0.0, high=30.0}')
    assert 0.0 <= x.min() and x.max() <= 30.0
    expected = stats.truncnorm(-10 / 6, 20 / 6, loc=10.0, scale=6.0)
    assert_mean(x, expected.mean())
    assert_sd(x, expected.std())


def test_untruncated_normal_mean_and_sd():
    x = sample('{dist="normal", mean=18.0, sd=2.0}')
    assert_mean(x, 18.0)
    assert_sd(x, 2.0)


def test_choice_frequencies_follow_weights():
    x = sample('{dist="choice", values=[4, 8, 12], weights=[1, 2, 1]}',
               key="ads.interstitial_cap_per_day")
    assert x.dtype.kind == "i"
    for value, p in ((4, 0.25), (8, 0.5), (12, 0.25)):
        se = math.sqrt(p * (1 - p) / N)
        assert abs(np.mean(x == value) - p) <= SIGMAS * se


def test_central_value_is_the_median():
    loaded = load_scenario("reborn_emperor_us",
                           ['ads.ecpm_rewarded_usd={dist="lognormal", median=12.0, p90=20.0}'])
    assert loaded.scenario.ads.ecpm_rewarded_usd == pytest.approx(12.0, rel=1e-12)


def test_copula_reaches_requested_rank_correlations():
    u = Uncertainty(
        load_scenario("reborn_emperor_us").fixed().with_overrides(
            'ads.ecpm_rewarded_usd={dist="lognormal", median=12.0, p90=20.0}',
            'ads.ecpm_interstitial_usd={dist="triangular", low=5.0, mode=9.0, high=15.0}',
            'retention.daily_play_probability={dist="beta", mean=0.8, sd=0.05}',
        ).uncertainty.parameters,
        (Correlation(("ads.ecpm_rewarded_usd", "ads.ecpm_interstitial_usd"), 0.7),
         Correlation(("ads.ecpm_rewarded_usd", "retention.daily_play_probability"), -0.4)))
    x = u.sample(3, np.arange(N))
    want = {("ads.ecpm_rewarded_usd", "ads.ecpm_interstitial_usd"): 0.7,
            ("ads.ecpm_rewarded_usd", "retention.daily_play_probability"): -0.4,
            ("ads.ecpm_interstitial_usd", "retention.daily_play_probability"): 0.0}
    for (a, b), r in want.items():
        rho = stats.spearmanr(x[a], x[b]).statistic
        assert abs(rho - r) <= 0.03, (a, b, rho, r)


def test_invalid_correlation_matrix_is_refused():
    base = uncertain()
    a, b, c = "ads.ecpm_rewarded_usd", "ads.ecpm_interstitial_usd", "ads.developer_share"
    bad = Uncertainty(base.parameters, (Correlation((a, b), 0.9), Correlation((a, c), 0.9),
                                        Correlation((b, c), -0.9)))
    with pytest.raises(ScenarioError, match="positive definite"):
        check_matrix(bad)


def test_a_draws_values_do_not_depend_on_how_many_draws_run():
    u = uncertain('ads.ecpm_rewarded_usd={dist="lognormal", median=12.0, p90=20.0}',
                  'ads.developer_share={dist="uniform", low=0.5, high=0.8}')
    few, many = u.sample(11, np.arange(5)), u.sample(11, np.arange(50))
    for key in u.keys:
        np.testing.assert_array_equal(few[key], many[key][:5])
    other = u.sample(12, np.arange(5))
    assert not np.array_equal(few[u.keys[0]], other[u.keys[0]])
    # nor on which other fields are uncertain
    alone = uncertain('ads.developer_share={dist="uniform", low=0.5, high=0.8}'
                      ).sample(11, np.arange(5))
    np.testing.assert_array_equal(alone["ads.developer_share"], few["ads.developer_share"])


def test_dataset_records_sampled_values_along_draw():
    loaded = load_scenario("reborn_emperor_us", [
        'ads.ecpm_rewarded_usd={dist="lognormal", median=12.0, p90=20.0}',
        "simulation.draws=3", "campaign.days=1", "campaign.daily_budget_usd=50",
        "simulation.horizon_days=7"])
    ds = run(loaded)
    param = ds["param_ads.ecpm_rewarded_usd"]
    assert param.dims == ("draw",)
    assert param.attrs["units"] == "USD per 1,000 impressions"
    assert param.attrs["distribution"] == "lognormal(median=12, p90=20)"
    expected = loaded.uncertainty.sample(loaded.scenario.simulation.seed, np.arange(3))
    np.testing.assert_array_equal(param.values, expected["ads.ecpm_rewarded_usd"])
    assert "uncertainty" in loaded.resolved_json


def test_fixing_an_uncertain_field_drops_its_correlations():
    loaded = load_scenario("reborn_emperor_us", ["ads.ecpm_rewarded_usd=15.0"])
    assert "ads.ecpm_rewarded_usd" not in loaded.uncertainty.keys
    assert all("ads.ecpm_rewarded_usd" not in c.between for c in loaded.uncertainty.correlations)
    fixed = load_scenario("reborn_emperor_us").fixed()
    assert not fixed.uncertainty.parameters and not fixed.uncertainty.correlations
    assert fixed.scenario.ads.ecpm_rewarded_usd == pytest.approx(18.0, rel=1e-12)


# --- spread across draws: sampling noise, then parameter uncertainty --------------------------

# An IAA scenario with rewarded ads only, no CPA movement: ROAS(D7) = ecpm * R, where R is the
# (noisy) rewarded impressions per USD of spend times the developer share / 1000.
SPREAD = ["simulation.horizon_days=7", "campaign.days=1", "campaign.daily_cost_volatility=0",
          "ads.interstitial_per_session=0", "campaign.saturation_budget_usd=1e9"]


def roas_d7(budget: float, draws: int, *extra: str) -> tuple[np.ndarray, object]:
    """ROAS at D7 by draw, every assumption fixed at its median except those in ``extra``."""
    loaded = load_scenario("reborn_emperor_us").fixed().with_overrides(*SPREAD, *[
        f"campaign.daily_budget_usd={budget}", f"simulation.draws={draws}", *extra])
    ds = run(loaded)
    return ds.roas.sel(age=7).values, ds


def log_var_se(x: np.ndarray) -> float:
    """Standard error of log(sample variance), from the sample's fourth moment."""
    dev2 = (x - x.mean()) ** 2
    return dev2.std(ddof=1) / math.sqrt(x.size) / dev2.mean()


def test_fixed_parameters_spread_is_sampling_noise_shrinking_with_users():
    small, _ = roas_d7(500.0, 400)      # ~1,700 users per draw
    large, _ = roas_d7(2000.0, 400)     # 4x the users
    log_ratio = math.log(small.var(ddof=1) / large.var(ddof=1))
    se = math.hypot(log_var_se(small), log_var_se(large))
    assert abs(log_ratio - math.log(4.0)) <= SIGMAS * se, (math.exp(log_ratio), se)
    # same mean: only the noise changed
    se_mean = math.hypot(small.std(ddof=1) / 20, large.std(ddof=1) / 20)
    assert abs(small.mean() - large.mean()) <= SIGMAS * se_mean


def test_uncertain_ecpm_adds_variance_as_the_decomposition_says():
    """ROAS = e * R with e independent of R: Var = Var(e) E[R]^2 + E[e^2] Var(R)."""
    fixed, ds = roas_d7(1000.0, 400)
    r = fixed / load_scenario("reborn_emperor_us").scenario.ads.ecpm_rewarded_usd  # median
    low, high = 6.0, 30.0
    mixed, mds = roas_d7(1000.0, 400,
                         f'ads.ecpm_rewarded_usd={{dist="uniform", low={low}, high={high}}}')
    var_e = (high - low) ** 2 / 12.0
    mean_e2 = var_e + ((low + high) / 2) ** 2
    predicted = var_e * r.mean() ** 2 + mean_e2 * r.var(ddof=1)
    observed = mixed.var(ddof=1)
    # uncertainty of the prediction (through E[R] and Var(R)) and of the observed variance
    se_pred = math.hypot(2 * var_e * r.mean() ** 2 * (r.std(ddof=1) / math.sqrt(r.size))
                         / r.mean(), mean_e2 * r.var(ddof=1) * log_var_se(r))
    se = math.hypot(observed * log_var_se(mixed), se_pred)
    assert abs(observed - predicted) <= SIGMAS * se, (observed, predicted, se)
    assert observed > 10 * fixed.var(ddof=1)
    # same seed: the users are the same, only their eCPM differs, so ROAS / eCPM is unchanged
    e = mds["param_ads.ecpm_rewarded_usd"].values
    np.testing.assert_allclose(mixed / e, r, rtol=1e-12)
