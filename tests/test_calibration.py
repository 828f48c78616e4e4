"""Calibration: batched retention fits, the observation model against the simulator, the
posterior against an exact grid posterior, the forecast keeping the report, checks."""

import dataclasses
import json

import numpy as np
import pytest
from scipy import stats

import simcore
from simcore.errors import ScenarioError
from simcore.kernel import layout as K
from simcore.observed import from_run
from simcore.plan import compile_loaded
from simcore.retention import fit_retention, fit_retention_many, survival
from simcore.scenario import scenario_from_text
from simcore.simulate import simulate_draw
from simcore.studies.calibration import calibrate, observation
from simcore.studies.calibration.posterior import sample_posterior

KNOWN_ANSWER = """
[title]
name = "Known answer"
genre = "puzzle"
monetization = "iaa"

[simulation]
seed = 11
draws = 20
horizon_days = 30

[campaign]
region = "US"
days = 7
daily_budget_usd = 1000.0
bidding = "target_cpa"
target_cpa_usd = 0.5

[retention]
model = "sbg"
d1 = { dist = "uniform", low = 0.25, high = 0.45 }
d7 = 0.12

[engagement]
sessions_per_day = 3.0

[ads]
rewarded_per_session = 0.0
interstitial_per_session = 0.0
ecpm_rewarded_usd = 10.0
ecpm_interstitial_usd = 5.0
fill_rate_rewarded = 0.9
fill_rate_interstitial = 0.9
developer_share = 0.7
"""

US = "scenarios/reborn_emperor_us.toml"
SMALL = ("simulation.draws=2", "campaign.daily_budget_usd=500", "campaign.days=7",
         "simulation.horizon_days=90")


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


def _exact_posterior(observed, grid):
    """Posterior of d1 on a grid: sBG with every user playing, d7 = 0.12, the report's
    deaths by age multinomial (Fader & Hardie 2007), uniform prior."""
    active = observed["active_users"].values
    through = observed["observed_through"].values
    log_lik = np.zeros(grid.size)
    for i, d1 in enumerate(grid):
        fit = fit_retention("sbg", [1, 7], [d1, 0.12])
        s = survival(np.arange(32), fit.alpha, fit.beta)
        for c in range(active.shape[0]):
            n = active[c, :through[c] + 1]
            log_lik[i] += ((n[:-1] - n[1:]) * np.log(s[:through[c]] - s[1:through[c] + 1])).sum()
            log_lik[i] += n[-1] * np.log(s[through[c]])
    w = np.exp(log_lik - log_lik.max())
    return w / w.sum()


def test_posterior_matches_the_exact_grid_posterior():
    loaded = scenario_from_text(KNOWN_ANSWER)
    truth = simcore.run(loaded, draws=np.array([3]))
    observed = from_run(truth, 3, 7).drop_vars(["revenue_iaa", "revenue_iap"])
    post = sample_posterior(loaded, observed, 1000, discrepancy=False)
    d1 = post.values["retention.d1"]
    grid = np.linspace(0.25, 0.45, 4001)[1:-1]
    w = _exact_posterior(observed, grid)
    mean = (w * grid).sum()
    sd = np.sqrt((w * (grid - mean) ** 2).sum())
    # SMC particles are correlated: Monte Carlo error taken at an effective size of N / 4
    ess = d1.size / 4
    assert abs(d1.mean() - mean) < 4 * sd / np.sqrt(ess)
    assert abs(d1.std() / sd - 1) < 4 * np.sqrt(1 / (2 * ess))
    assert abs(d1.mean() - float(truth["param_retention.d1"][0])) < 4 * sd


@pytest.fixture(scope="module")
def us_truth():
    loaded = simcore.load_scenario(US, overrides=(*SMALL, "simulation.seed=5"))
    return loaded, simcore.run(loaded, draws=np.array([0]))


@pytest.fixture(scope="module")
def us_forecast(us_truth):
    loaded, truth = us_truth
    report = from_run(truth, 0, 4)
    return report, calibrate(loaded, report, particles=300, draws=24)


def test_forecast_keeps_the_report_and_simulates_the_rest(us_forecast):
    report, fc = us_forecast
    through = report["observed_through"].values
    for c in report.cohort.values:
        t = int(through[c])
        for name in ("active_users", "revenue_iaa", "revenue_iap"):
            kept = fc[name].sel(cohort=c, age=slice(0, t)).values
            assert np.array_equal(kept, np.broadcast_to(report[name].values[c, :t + 1],
                                                        kept.shape))
        assert np.all(fc["activations"].sel(cohort=c).values == report["activations"].values[c])
        later = fc["active_users"].sel(cohort=c, age=t + 1).values
        assert np.unique(later).size > 1                   # the future is simulated
    # ROAS through the report's last day is the report's (cohort 0 at age 3)
    assert np.all(np.isfinite(fc["roas_paid"].values))
    assert fc.attrs["kind"] == "game"
    info = json.loads(fc.attrs["calibration"])
    assert info["particles"] == 300 and info["temperatures"][-1] == 1.0
    assert set(fc["ppc_p"].series.values) == {"active_users", "revenue_iaa"}


def test_forecast_is_a_run_dataset(us_forecast, tmp_path):
    from simcore.dataset import read_run, write_dataset
    from simcore.studies.calibration.text import format_calibration
    from simcore.summary import format_summary, summarize

    _, fc = us_forecast
    path = write_dataset(fc, tmp_path / "fc.nc")
    back = read_run(path)
    text = format_summary(summarize(back))
    assert "ROAS" in text
    out = format_calibration(back)
    for part in ("Fit at the observed ages", "retention.d1", "P(payback)", "break-even CPA",
                 "95 % interval"):
        assert part in out


def test_prior_data_conflict_is_named():
    loaded = simcore.load_scenario(US, overrides=(*SMALL, "simulation.seed=5"))
    truth = simcore.run(loaded, draws=np.array([0]))
    report = from_run(truth, 0, 3)
    users = report["activations"].values
    report["active_users"].values[:, 1] = np.round(0.62 * users)   # D1 retention 0.62
    report["active_users"].values[0, 2] = np.round(0.40 * users[0])
    fc = calibrate(loaded, report, particles=200, draws=4)
    warnings = json.loads(fc.attrs["calibration"])["warnings"]
    line = next(w for w in warnings if "active share at D1" in w)
    assert "0.62" in line and "above" in line and "retention.d1" in line


def test_misfit_is_flagged():
    """Retention that bends away from the model's curve: the checks say so."""
    loaded = simcore.load_scenario(US, overrides=(*SMALL, "simulation.seed=5"))
    truth = simcore.run(loaded, draws=np.array([0]))
    report = from_run(truth, 0, 7)
    ages = report.age.values
    report["active_users"].values[:] *= np.where(ages >= 1, (1 + ages) ** 0.35 / 2 ** 0.35, 1)
    report["active_users"].values[:] = np.minimum(report["active_users"].values,
                                                  report["activations"].values[:, None])
    fc = calibrate(loaded, report, particles=300, draws=4)
    p = fc["ppc_p"].sel(series="active_users").values
    warnings = json.loads(fc.attrs["calibration"])["warnings"]
    assert min(p) < 0.01 or any("active share" in w for w in warnings)
    tau = fc["posterior_discrepancy.active_users"].values
    assert np.median(tau) > np.quantile(fc["prior_discrepancy.active_users"].values, 0.5)


@pytest.mark.parametrize("change,fragment", [
    ("campaign.days=3", "cohort"),
    ("campaign.region=\"JP\"", "region"),
])
def test_report_that_does_not_fit_the_scenario_is_one_line(us_truth, change, fragment):
    loaded, truth = us_truth
    report = from_run(truth, 0, 5)
    report.attrs["regions"] = "US"
    other = simcore.load_scenario(US, overrides=(*SMALL, change))
    with pytest.raises(ScenarioError, match=fragment):
        calibrate(other, report, particles=100, draws=2)


CREATORS = """
[creator]
videos_per_day = 6.0
views_median = 3000.0
views_p90 = 25000.0
anchor_ctr = 0.008
load_success = 0.9
first_play = 0.85
usd_per_1000_views = 2.0
"""


@pytest.mark.parametrize("which,fragment", [("global", "multi-market"),
                                            ("drama", "micro-drama"), ("creator", "creator")])
def test_scenarios_the_model_does_not_cover_are_refused(us_truth, which, fragment):
    _, truth = us_truth
    if which == "creator":
        with open(US) as f:
            other = scenario_from_text(f.read() + CREATORS, "us+creator.toml")
    else:
        name = {"global": "reborn_emperor_global", "drama": "drama_paywall_us"}[which]
        other = simcore.load_scenario(f"scenarios/{name}.toml")
    with pytest.raises(ScenarioError, match=fragment):
        calibrate(other, from_run(truth, 0, 3))


def test_particles_out_of_range(us_truth):
    loaded, truth = us_truth
    with pytest.raises(ScenarioError, match="particles.*100-20000"):
        calibrate(loaded, from_run(truth, 0, 3), particles=10)


def test_iap_in_the_report_without_iap_in_the_scenario(us_truth):
    loaded, truth = us_truth
    report = from_run(truth, 0, 3)
    report["revenue_iap"].values[0, 0] = 5.0
    with pytest.raises(ScenarioError, match="no \\[iap\\]"):
        calibrate(loaded, report, particles=100, draws=2)


def test_calibration_narrows_with_more_days(us_truth):
    loaded, truth = us_truth
    widths = []
    for days in (2, 7):
        post = sample_posterior(loaded, from_run(truth, 0, days), 300)
        v = post.values["retention.d7"]
        widths.append(np.quantile(v, 0.95) - np.quantile(v, 0.05))
    assert widths[1] < 0.7 * widths[0]


def test_gaussian_logpdf_matches_scipy():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 4, 4))
    cov = a @ a.transpose(0, 2, 1) + np.eye(4)
    mean = rng.standard_normal((3, 4))
    y = rng.standard_normal(4)
    got = observation.gaussian_logpdf(y, mean, cov)
    want = [stats.multivariate_normal(mean[i], cov[i]).logpdf(y) for i in range(3)]
    np.testing.assert_allclose(got, want, rtol=1e-10)
