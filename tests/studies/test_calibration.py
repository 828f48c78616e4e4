"""Calibration: the posterior against an exact grid posterior, the forecast keeping the
report, the checks, and what is refused (the game's report model: tests/kinds)."""

import json

import numpy as np
import pytest

import simcore
from simcore.data.observed import from_run
from simcore.errors import ScenarioError
from simcore.model.retention import fit_retention, survival
from simcore.scenario import scenario_from_text
from simcore.studies.calibration import calibrate
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
    from simcore.data.dataset import read_run, write_dataset
    from simcore.text.calibration import format_calibration
    from simcore.text.summary import format_summary, summarize

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


@pytest.mark.parametrize("which,fragment", [("global", "one market"),
                                            ("drama", "no report model for a drama"),
                                            ("creator", "creator")])
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
