"""Analysis of run datasets: known answers on hand-built datasets, then one small real run."""

import math
import warnings

import numpy as np
import pytest
import xarray as xr

from simcore import analysis as A
from simcore.errors import ScenarioError
from simcore.text.summary import format_summary, summarize

# --- a hand-built run dataset with the contract's variables -----------------------------------

def make_run(revenue, spend=1.0, activations=1, params=None) -> xr.Dataset:
    """Run dataset from net revenue [draw, cohort, age] (or [draw, age]: one cohort), spend
    and activations (scalars or [draw, cohort]), and ``params`` {dotted key: [draw] values};
    roas, payback_day and cpa are derived as ``simcore.data.dataset.add_outcomes`` does."""
    revenue = np.asarray(revenue, dtype=float)
    if revenue.ndim == 2:
        revenue = revenue[:, None, :]
    n, c, a = revenue.shape
    spend = np.broadcast_to(np.asarray(spend, dtype=float), (n, c)).copy()
    activations = np.broadcast_to(np.asarray(activations), (n, c)).copy()
    roas = np.cumsum(revenue.sum(axis=1), axis=1) / spend.sum(axis=1)[:, None]
    paid = roas >= 1.0
    payback = np.where(paid.any(axis=1), paid.argmax(axis=1), np.nan).astype(float)
    total_act = activations.sum(axis=1)
    with np.errstate(divide="ignore"):
        cpa = np.where(total_act > 0, spend.sum(axis=1) / np.maximum(total_act, 1), np.inf)
    data = {
        "spend": (("draw", "cohort"), spend, {"units": "USD"}),
        "activations": (("draw", "cohort"), activations, {"units": "users"}),
        "revenue_iaa": (("draw", "cohort", "age"), revenue, {"units": "USD"}),
        "revenue_iap": (("draw", "cohort", "age"), np.zeros_like(revenue), {"units": "USD"}),
        "roas": (("draw", "age"), roas, {"units": "1"}),
        "payback_day": (("draw",), payback, {"units": "days"}),
        "cpa": (("draw",), cpa, {"units": "USD"}),
    }
    for key, values in (params or {}).items():
        data[f"param_{key}"] = (("draw",), np.asarray(values, dtype=float),
                                {"units": "1", "long_name": key, "distribution": "test"})
    return xr.Dataset(data, coords={"draw": np.arange(n), "cohort": np.arange(c),
                                    "age": np.arange(a)},
                      attrs={"title": "Synthetic", "seed": 0, "scenario_hash": "0" * 64})


def roas_run(roas, spend=1.0, activations=1, params=None) -> xr.Dataset:
    """Run with one cohort whose ROAS curves are ``roas`` [draw, age] (non-decreasing)."""
    roas = np.asarray(roas, dtype=float)
    revenue = np.diff(roas * spend, axis=1, prepend=0.0)
    return make_run(revenue, spend, activations, params)


def se_corr(n: int) -> float:
    """Standard error of a sample correlation under independence."""
    return 1.0 / math.sqrt(n - 1)


# Exactly representable ROAS curves (multiples of 1/8, spend 1): ages 0..4.
CURVES = np.array([
    [0.250, 0.500, 1.000, 1.250, 1.500],   # pays back at D2 (exactly 1)
    [1.125, 1.250, 1.375, 1.500, 1.625],   # pays back at D0
    [0.125, 0.250, 0.375, 0.500, 0.625],   # never
    [0.500, 0.625, 0.750, 0.875, 1.000],   # pays back at D4, the last day
])


@pytest.fixture(scope="module")
def curves():
    return roas_run(CURVES)


# --- parameters -------------------------------------------------------------------------------

def test_uncertain_parameters_in_dataset_order():
    ds = roas_run(CURVES, params={"retention.d1": [1, 2, 3, 4], "ads.ecpm": [4, 3, 2, 1]})
    assert A.uncertain_parameters(ds) == ["retention.d1", "ads.ecpm"]
    assert A.uncertain_parameters(roas_run(CURVES)) == []


# --- ROAS and payback -------------------------------------------------------------------------

def test_roas_quantiles_equal_numpy():
    rng = np.random.default_rng(1)
    roas = np.cumsum(rng.gamma(2.0, 0.1, size=(37, 6)), axis=1)
    ds = roas_run(roas, spend=250.0)
    q = A.roas_quantiles(ds)
    assert q.dims == ("quantile", "age")
    np.testing.assert_array_equal(q["quantile"].values, A.QUANTILES)
    np.testing.assert_array_equal(q.values, np.quantile(ds.roas.values, A.QUANTILES, axis=0))
    q2 = A.roas_quantiles(ds, quantiles=(0.1, 0.9))
    np.testing.assert_array_equal(q2.values, np.quantile(ds.roas.values, [0.1, 0.9], axis=0))


def test_prob_roas_at_least_counts_draws(curves):
    p = A.prob_roas_at_least(curves)
    assert p.dims == ("age",)
    np.testing.assert_array_equal(p.values, [1 / 4, 1 / 4, 2 / 4, 2 / 4, 3 / 4])
    np.testing.assert_array_equal(A.prob_roas_at_least(curves, target=0.5).values,
                                  [2 / 4, 3 / 4, 3 / 4, 4 / 4, 4 / 4])


def test_payback_days_and_cdf_by_hand(curves):
    days = A.payback_days(curves)
    assert days.dims == ("draw",)
    np.testing.assert_array_equal(days.values, [2, 0, np.nan, 4])
    np.testing.assert_array_equal(days.values, curves.payback_day.values)
    np.testing.assert_array_equal(A.payback_days(curves, target=1.5).values,
                                  [4, 3, np.nan, np.nan])
    cdf = A.payback_cdf(curves)
    assert cdf.dims == ("age",)
    np.testing.assert_array_equal(cdf.values, [1 / 4, 1 / 4, 2 / 4, 2 / 4, 3 / 4])
    np.testing.assert_array_equal(A.payback_cdf(curves, target=1.5).values,
                                  [0, 0, 0, 1 / 4, 2 / 4])
    assert A.never_pays_back(curves) == 1 / 4
    assert A.never_pays_back(curves, target=1.5) == 2 / 4


def test_payback_cdf_is_first_passage_and_non_decreasing():
    rng = np.random.default_rng(2)
    roas = np.cumsum(rng.uniform(0.0, 0.3, size=(50, 20)), axis=1)
    ds = roas_run(roas)
    cdf = A.payback_cdf(ds).values
    assert np.all(np.diff(cdf) >= 0)
    expected = [np.mean((ds.roas.values[:, : a + 1] >= 1.0).any(axis=1)) for a in range(20)]
    np.testing.assert_array_equal(cdf, expected)
    assert cdf[-1] == 1 - A.never_pays_back(ds)


def test_roas_never_reaching_target():
    ds = roas_run(CURVES * 0.5)
    assert np.all(A.prob_roas_at_least(ds).values == 0)
    assert np.all(np.isnan(A.payback_days(ds).values))
    assert np.all(A.payback_cdf(ds).values == 0)
    assert A.never_pays_back(ds) == 1.0
    assert A.break_even_cpa(ds, age=4) > 0


# --- LTV and break-even CPA -------------------------------------------------------------------

def test_ltv_per_activation_by_hand_and_roas_identity():
    # two draws, two cohorts, ages 0..2
    revenue = np.array([[[3.0, 1.0, 1.0], [2.0, 2.0, 0.0]],
                        [[0.0, 0.0, 6.0], [0.0, 0.0, 0.0]]])
    ds = make_run(revenue, spend=[[4.0, 6.0], [5.0, 5.0]], activations=[[2, 3], [4, 0]])
    ltv = A.ltv_per_activation(ds)
    assert ltv.dims == ("draw", "age") and ltv.attrs["units"] == "USD"
    np.testing.assert_allclose(ltv.values, [[5 / 5, 8 / 5, 9 / 5], [0, 0, 6 / 4]])
    # ROAS = LTV / CPA: revenue per activation over spend per activation
    np.testing.assert_allclose(ltv / ds.cpa, ds.roas, rtol=1e-12)
    q = A.ltv_quantiles(ds, quantiles=(0.5,))
    assert q.dims == ("quantile", "age")
    np.testing.assert_allclose(q.values[0], np.median(ltv.values, axis=0))


def test_ltv_is_nan_without_activations():
    ds = make_run(np.ones((2, 1, 3)), spend=1.0, activations=[[0], [2]])
    ltv = A.ltv_per_activation(ds).values
    assert np.all(np.isnan(ltv[0])) and np.all(np.isfinite(ltv[1]))


def test_break_even_cpa_by_hand():
    # LTV at age 0 is 1, 2, 3, 4, 5 USD (one activation, spend 1)
    ds = roas_run(np.array([[1.0], [2.0], [3.0], [4.0], [5.0]]))
    assert A.break_even_cpa(ds, age=0, probability=0.5) == 3.0     # 3 of 5 draws >= 0.5
    assert A.break_even_cpa(ds, age=0, probability=0.8) == 2.0     # 4 of 5
    assert A.break_even_cpa(ds, age=0, probability=0.4) == 4.0     # 2 of 5
    assert A.break_even_cpa(ds, age=0, probability=1.0) == 1.0     # all
    assert A.break_even_cpa(ds, age=0, target=2.0, probability=0.5) == 1.5
    with pytest.raises(ValueError):
        A.break_even_cpa(ds, age=0, probability=0.0)
    with pytest.raises(ValueError):
        A.break_even_cpa(ds, age=0, target=0.0)


def _prob_at(ltv: np.ndarray, cpa: float, target: float) -> float:
    return float(np.mean(ltv / cpa >= target))


@pytest.mark.parametrize("n, probability, target", [
    (5, 0.5, 1.0), (10, 0.7, 1.0), (10, 0.8, 3.0), (20, 0.95, 1.0), (33, 0.3, 0.7),
    (100, 0.5, 1.3), (1, 0.5, 1.0), (7, 1.0, 2.0), (12, 0.1, 1.1),
])
def test_break_even_cpa_is_the_highest_cpa_meeting_the_probability(n, probability, target):
    rng = np.random.default_rng(n)
    ltv_draws = rng.lognormal(-1.0, 0.5, size=n)
    ltv_draws[: n // 4] = ltv_draws[n // 4]            # ties
    ds = roas_run(ltv_draws[:, None] * 0.25, spend=4.0, activations=1)   # LTV = roas * 4
    ltv = A.ltv_per_activation(ds).sel(age=0).values
    cpa = A.break_even_cpa(ds, age=0, target=target, probability=probability)
    assert _prob_at(ltv, cpa, target) >= probability
    assert _prob_at(ltv, cpa * (1 + 1e-9), target) < probability
    # the ceil(probability * n)-th largest LTV over the target
    np.testing.assert_allclose(cpa, np.sort(ltv)[::-1][math.ceil(probability * n - 1e-9) - 1]
                               / target, rtol=1e-12)


def test_break_even_cpa_is_zero_when_nothing_is_earned():
    ds = roas_run(np.zeros((4, 3)))
    assert A.break_even_cpa(ds, age=2) == 0.0


# --- profit -----------------------------------------------------------------------------------

def profit_run(profits, spend=100.0) -> xr.Dataset:
    """One age; net revenue = spend + profit, so net profit is exactly ``profits``."""
    profits = np.asarray(profits, dtype=float)
    return make_run((spend + profits)[:, None, None], spend=spend)


def test_net_profit_is_revenue_minus_spend():
    revenue = np.array([[[3.0, 1.0], [2.0, 2.0]], [[0.0, 0.0], [1.0, 0.0]]])
    ds = make_run(revenue, spend=[[4.0, 6.0], [5.0, 5.0]])
    profit = A.net_profit(ds)
    assert profit.dims == ("draw",) and profit.attrs["units"] == "USD"
    np.testing.assert_array_equal(profit.values, [8 - 10, 1 - 10])


def test_profit_risk_on_a_known_vector():
    profits = np.array([-50.0, -20.0, -5.0, 0.0, 5.0, 10.0, 15.0, 20.0, 30.0, 45.0,
                        -30.0, 60.0, 70.0, 80.0, 90.0, 100.0, 110.0, 120.0, 130.0, 140.0])
    ds = profit_run(profits)
    np.testing.assert_array_equal(A.net_profit(ds).values, profits)
    risk = A.profit_risk(ds)
    assert set(risk) == {"mean", "p5", "cvar", "prob_loss"}
    assert risk["mean"] == pytest.approx(profits.mean())
    assert risk["p5"] == np.quantile(profits, 0.05)
    assert risk["cvar"] == -50.0                         # ceil(0.05 * 20) = 1 worst draw
    assert risk["prob_loss"] == 4 / 20                   # 0 is not a loss
    r10 = A.profit_risk(ds, alpha=0.1)
    assert r10["p5"] == np.quantile(profits, 0.1)
    assert r10["cvar"] == (-50.0 - 30.0) / 2             # ceil(0.1 * 20) = 2 worst draws
    # 0.1 * 30 is 3.0000000000000004 in floating point: still the worst 3 draws
    assert A.profit_risk(profit_run(np.arange(30.0)), alpha=0.1)["cvar"] == 1.0
    assert A.profit_risk(profit_run([7.0]))["cvar"] == 7.0   # one draw


# --- drivers ----------------------------------------------------------------------------------

def test_drivers_monotone_parameter_and_independent_noise():
    n = 400
    rng = np.random.default_rng(42)
    p1, p2 = rng.uniform(0.5, 2.0, n), rng.normal(size=n)
    roas = np.column_stack([0.2 * np.exp(p1), 0.5 * np.exp(p1)])   # ages 0, 1
    d = A.drivers(roas_run(roas, params={"noise.p2": p2, "lever.p1": p1}), age=1)
    assert d.spearman.dims == d.partial_rank.dims == ("parameter",)
    assert list(d.parameter.values) == ["lever.p1", "noise.p2"]   # sorted by |spearman|
    assert d.attrs["age"] == 1
    assert d.spearman.sel(parameter="lever.p1") == pytest.approx(1.0, abs=1e-12)
    assert abs(float(d.spearman.sel(parameter="noise.p2"))) < 4 * se_corr(n)
    # ROAS ranks are p1's ranks: nothing of ROAS is left for p2 once p1 is regressed out
    assert d.partial_rank.sel(parameter="lever.p1") == pytest.approx(1.0, abs=1e-12)
    assert np.isnan(d.partial_rank.sel(parameter="noise.p2"))


def test_partial_rank_with_one_other_parameter_is_the_textbook_formula():
    """With two parameters, partial rank = (r_xy - r_xz r_yz) / sqrt((1-r_xz^2)(1-r_yz^2))
    on Spearman correlations."""
    from scipy.stats import spearmanr

    n = 300
    rng = np.random.default_rng(7)
    x = rng.normal(size=n)
    z = 0.6 * x + rng.normal(size=n)
    y = np.exp(x + z + rng.normal(size=n))
    d = A.drivers(roas_run(y[:, None], params={"a.x": x, "a.z": z}), age=0)
    r_xy, r_zy, r_xz = (spearmanr(u, v).statistic for u, v in ((x, y), (z, y), (x, z)))
    for key, r_py, r_qy in (("a.x", r_xy, r_zy), ("a.z", r_zy, r_xy)):
        expected = (r_py - r_xz * r_qy) / math.sqrt((1 - r_xz**2) * (1 - r_qy**2))
        assert float(d.partial_rank.sel(parameter=key)) == pytest.approx(expected, abs=1e-12)
        assert float(d.spearman.sel(parameter=key)) == pytest.approx(
            r_py if key == "a.x" else r_zy, abs=1e-12)


def test_partial_rank_of_additive_levers_and_noise():
    """ROAS = p1 + p2 + small noise, p1, p2, p3 independent normal. Ranks of a normal pair
    correlate as s = (6/pi) asin(rho/2) (rho = 1/sqrt(2.01) for each lever with ROAS); the
    partial rank correlation tends to the partial correlation of that rank correlation matrix,
    s / sqrt(1 - s^2) with the levers uncorrelated; p3 is about 0 on both."""
    n = 1000
    rng = np.random.default_rng(3)
    p1, p2, p3 = rng.normal(size=(3, n))
    roas = (2.0 + 0.3 * (p1 + p2 + 0.1 * rng.normal(size=n)))[:, None]
    d = A.drivers(roas_run(roas, params={"p.p3": p3, "p.p2": p2, "p.p1": p1}), age=0)
    s = 6 / math.pi * math.asin(1 / math.sqrt(2.01) / 2)
    partial = s / math.sqrt(1 - s**2)                          # 0.949
    for key in ("p.p1", "p.p2"):
        assert float(d.spearman.sel(parameter=key)) == pytest.approx(s, abs=4 * se_corr(n))
        # standard error of a partial correlation given two others: (1 - r^2) / sqrt(n - 4)
        assert float(d.partial_rank.sel(parameter=key)) == pytest.approx(
            partial, abs=4 * (1 - partial**2) / math.sqrt(n - 4))
    assert abs(float(d.spearman.sel(parameter="p.p3"))) < 4 * se_corr(n)
    assert abs(float(d.partial_rank.sel(parameter="p.p3"))) < 4 * se_corr(n - 2)
    assert list(d.parameter.values)[-1] == "p.p3"


def test_drivers_edge_cases_give_nan_not_errors():
    rng = np.random.default_rng(5)
    roas = rng.uniform(0.5, 1.5, size=(30, 2))
    params = {"const.c": np.full(30, 3.0), "var.v": rng.normal(size=30)}
    with warnings.catch_warnings():
        warnings.simplefilter("error")           # no warnings escape either
        d = A.drivers(roas_run(roas, params=params), age=1)
        assert list(d.parameter.values) == ["var.v", "const.c"]     # NaN last
        assert np.isnan(d.spearman.sel(parameter="const.c"))
        assert np.isnan(d.partial_rank.sel(parameter="const.c"))
        assert np.isfinite(d.spearman.sel(parameter="var.v"))
        # the constant parameter does not spoil the other's partial rank (= its Spearman)
        assert float(d.partial_rank.sel(parameter="var.v")) == pytest.approx(
            float(d.spearman.sel(parameter="var.v")), abs=1e-12)
        one = A.drivers(roas_run(roas[:1], params={"var.v": [1.0]}), age=0)
        assert one.sizes["parameter"] == 1 and np.isnan(one.spearman).all()
        assert np.isnan(one.partial_rank).all()
        flat = A.drivers(roas_run(np.ones((30, 1)), params=params), age=0)
        assert np.isnan(flat.spearman).all() and np.isnan(flat.partial_rank).all()


def test_drivers_without_uncertain_parameters_is_empty():
    d = A.drivers(roas_run(CURVES), age=2)
    assert d.sizes["parameter"] == 0
    assert set(d.data_vars) == {"spearman", "partial_rank", "kind"}


# --- summary ----------------------------------------------------------------------------------

def test_summary_has_break_even_profit_and_drivers():
    n = 50
    rng = np.random.default_rng(11)
    p1, p2 = rng.uniform(size=(2, n))
    roas = np.cumsum(np.column_stack([0.5 + p1, 0.1 * np.exp(p1) + 0.01 * p2] * 5), axis=1)
    ds = roas_run(roas, spend=100.0, activations=200, params={"a.p2": p2, "a.p1": p1})
    s = summarize(ds, day=3, target=1.5)
    assert s.day == 3 and s.target == 1.5
    assert set(s.break_even_cpa) == {0.5, 0.8}
    assert s.break_even_cpa[0.5] == A.break_even_cpa(ds, 3, 1.5, 0.5)
    assert s.break_even_cpa[0.8] <= s.break_even_cpa[0.5]
    assert s.profit == A.profit_risk(ds)
    assert [k for k, *_ in s.drivers] == ["a.p1", "a.p2"]
    text = format_summary(s)
    assert "break-even CPA" in text and "(ROAS D3 >= 1.5)" in text
    assert "net profit" in text and "CVaR5%" in text and "P(loss)" in text
    assert "drivers of ROAS D3" in text and "a.p1" in text
    assert "no uncertain parameters" in format_summary(summarize(roas_run(roas), day=3))


def test_summary_day_beyond_horizon_is_a_scenario_error(curves):
    with pytest.raises(ScenarioError) as err:
        summarize(curves, day=5)
    assert str(err.value) == ("--day: = 5: not an age of the run (valid range: 0 <= day <= 4, "
                              "the horizon)")


# --- a real (small) run, fresh and read back from disk ----------------------------------------

@pytest.fixture(scope="module")
def real_run():
    from simcore.engine.run import run
    from simcore.scenario import load_scenario

    return run(load_scenario("reborn_emperor_us", [
        "simulation.draws=4", "campaign.days=2", "campaign.daily_budget_usd=300",
        "simulation.horizon_days=30"]))


def _check_against_dataset(ds: xr.Dataset) -> None:
    np.testing.assert_array_equal(A.payback_days(ds).values, ds.payback_day.values)
    np.testing.assert_array_equal(A.prob_roas_at_least(ds).values,
                                  (ds.roas.values >= 1.0).mean(axis=0))
    np.testing.assert_array_equal(A.roas_quantiles(ds).values,
                                  np.quantile(ds.roas.values, A.QUANTILES, axis=0))
    assert A.payback_cdf(ds).values[-1] == 1 - A.never_pays_back(ds)
    np.testing.assert_allclose(A.ltv_per_activation(ds) / ds.cpa, ds.roas, rtol=1e-12)
    assert A.ltv_quantiles(ds).dims == ("quantile", "age")
    revenue = (ds.revenue_iaa + ds.revenue_iap).sum(("cohort", "age"))
    np.testing.assert_allclose(A.net_profit(ds), revenue - ds.spend.sum("cohort"))
    cpa = A.break_even_cpa(ds, age=7, probability=0.5)
    ltv7 = A.ltv_per_activation(ds).sel(age=7).values
    assert np.mean(ltv7 / cpa >= 1.0) >= 0.5 > np.mean(ltv7 / (cpa * (1 + 1e-9)) >= 1.0)
    risk = A.profit_risk(ds)
    assert risk["cvar"] <= risk["p5"] <= risk["mean"]
    d = A.drivers(ds, age=7)
    assert sorted(d.parameter.values) == sorted(A.uncertain_parameters(ds))
    strength = np.abs(d.spearman.values)
    finite = strength[np.isfinite(strength)]
    assert np.all(np.diff(finite) <= 0) and np.all(np.isfinite(strength[: finite.size]))
    format_summary(summarize(ds))


def test_real_run_fresh_and_from_disk(real_run, tmp_path):
    from simcore.data.dataset import read_run, write_dataset

    _check_against_dataset(real_run)
    back = read_run(write_dataset(real_run, tmp_path / "run.nc"))
    _check_against_dataset(back)
    assert format_summary(summarize(back)) == format_summary(summarize(real_run))


@pytest.mark.parametrize("probability", [0.5, 0.8])
def test_break_even_cpa_is_confirmed_by_resimulating_at_that_cpa(probability):
    """Run, read the break-even CPA for P(ROAS D7 >= 1) = p, re-run bidding exactly that CPA:
    the share of draws reaching ROAS 1 at D7 is p within 5 binomial standard errors (both the
    estimate and the check carry sampling error, hence the variance of two proportions)."""
    from simcore.engine.run import run
    from simcore.scenario import load_scenario

    draws = 300
    base = load_scenario("reborn_emperor_us").fixed().with_overrides(
        f"simulation.draws={draws}", "campaign.days=1", "campaign.daily_budget_usd=300",
        "simulation.horizon_days=7", "campaign.daily_cost_volatility=0",
        "campaign.saturation_budget_usd=1e9")
    cpa = A.break_even_cpa(run(base), age=7, target=1.0, probability=probability)
    # the same expected users as the first run (budget / CPA), so revenue per user has the
    # same sampling noise: only the CPA differs
    users = 300 / base.scenario.campaign.target_cpa_usd
    check = run(base.with_overrides(f"campaign.target_cpa_usd={cpa!r}", "simulation.seed=99",
                                    f"campaign.daily_budget_usd={users * cpa!r}"))
    share = float((check.roas.sel(age=7) >= 1.0).mean())
    se = math.sqrt(2 * probability * (1 - probability) / draws)
    assert abs(share - probability) <= 5 * se, (cpa, share, probability, se)


def test_calendar_view_is_the_cohort_view_reindexed():
    from simcore.engine.run import run
    from simcore.scenario import load_scenario

    ds = run(load_scenario("reborn_emperor_us", [
        "simulation.draws=3", "campaign.days=4", "campaign.daily_budget_usd=300",
        "simulation.horizon_days=10"]))
    cal = A.calendar(ds)
    assert dict(cal.sizes) == {"draw": 3, "day": 4 + 10}
    revenue = ds.revenue_iaa + ds.revenue_iap
    np.testing.assert_allclose(cal.revenue.sum("day"), revenue.sum(("cohort", "age")))
    np.testing.assert_allclose(cal.dau.sum("day"), ds.active_users.sum(("cohort", "age")))
    np.testing.assert_array_equal(cal.spend.sum("day"), ds.spend.sum("cohort"))
    # day t holds cohort c at age t - c
    t = 5
    expected = sum(ds.active_users.isel(cohort=c).sel(age=t - c) for c in range(4))
    np.testing.assert_allclose(cal.dau.sel(day=t), expected)
    # once every cohort has reached the horizon, blended ROAS equals the cohort view's
    np.testing.assert_allclose(cal.cumulative_roas.isel(day=-1), ds.roas.isel(age=-1))
    profit = cal.cumulative_profit.isel(day=-1)
    np.testing.assert_allclose(profit, A.net_profit(ds))


def test_ranks_and_spearman_are_scipys_bit_for_bit():
    """The drivers' ranks and Spearman correlations, written without scipy.stats (slow to
    import), equal scipy's exactly: ties, NaN and 2-D input included."""
    from scipy import stats

    from simcore.analysis import _ranks, _spearman

    rng = np.random.default_rng(7)
    for trial in range(300):
        n = int(rng.integers(2, 200))
        x = rng.normal(size=n)
        y = rng.integers(0, 4, n).astype(float) if trial % 2 else rng.lognormal(size=n)
        if trial % 3 == 0:
            x = np.round(x, 1)
        if trial % 7 == 0:
            y[rng.integers(0, n)] = np.nan
        both = np.column_stack([x, y, np.round(3 * x)])
        np.testing.assert_array_equal(_ranks(both), stats.rankdata(both, axis=0))
        np.testing.assert_array_equal(_ranks(y), stats.rankdata(y))
        if np.unique(x).size > 1 and np.unique(y[~np.isnan(y)]).size > 1:
            with np.errstate(invalid="ignore"):
                expected = stats.spearmanr(x, y).statistic
            np.testing.assert_array_equal(_spearman(x, y), expected)
