"""The budget scan (``simcore.studies.budget_scan`` and ``simcore scale``): one scenario at several
daily budgets, a one-key sweep, every budget on the same streams unless asked otherwise.

Small runs (12-16 draws, 2 campaign days, budgets in the hundreds, 30-day horizon) with a low
saturation budget, so the unit cost moves a lot between budgets. Known answers: mean CPA follows
the saturation curve; under common random numbers mean ROAS at a fixed age falls as the budget
grows and marginal ROAS stays below average ROAS (revenue is concave in spend).
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import xarray as xr
from matplotlib.image import imread

from simcore.errors import ScenarioError
from simcore.model.acquisition import saturated_cost
from simcore.scenario import load_scenario
from simcore.studies.budget_scan import (
    check_budgets,
    format_scale,
    largest_safe_budget,
    parse_budgets,
    scale,
)
from tests.cli.test_cli import ok, one_line_error, simcore

SATURATION_USD, SHAPE = 500.0, 1.5
SMALL = ("campaign.days=2", "simulation.horizon_days=30",
         f"campaign.saturation_budget_usd={SATURATION_USD}", f"campaign.saturation_shape={SHAPE}",
         "campaign.daily_cost_volatility=0")
BUDGETS = (1600.0, 200.0, 800.0, 400.0)           # unsorted on purpose
AGE, PROBABILITY, TARGET = 30, 0.8, 2.0


@pytest.fixture(scope="module")
def uncertain():
    """Scale of reborn_emperor_us as shipped (uncertain CPA, retention, eCPM...)."""
    loaded = load_scenario("reborn_emperor_us", [*SMALL, "simulation.draws=12"])
    return scale(loaded, BUDGETS, age=AGE, probability=PROBABILITY, target=TARGET)


@pytest.fixture(scope="module")
def fixed():
    """Scale of reborn_emperor_us with every uncertain value at its median."""
    loaded = load_scenario("reborn_emperor_us", [*SMALL, "simulation.draws=16"]).fixed()
    return loaded, scale(loaded, BUDGETS, age=AGE, probability=PROBABILITY, target=TARGET)


# --- shape of the dataset -----------------------------------------------------------------------

def test_dataset_layout(uncertain):
    ds = uncertain
    assert list(ds.budget.values) == sorted(BUDGETS)
    assert ds.budget.attrs["units"] == "USD/day"
    assert ds.roas.dims == ("budget", "draw", "age")
    for name in ("net_profit", "spend", "cpa"):
        assert ds[name].dims == ("budget", "draw") and ds[name].attrs["units"] == "USD"
    assert ds.expected_profit.dims == ("budget",)
    assert ds.p_roas_at_least.dims == ("budget",)
    assert ds.marginal_roas.dims == ("budget", "age")
    assert ds.sizes["draw"] == 12 and ds.sizes["age"] == 31
    params = [v for v in ds.data_vars if str(v).startswith("param_")]
    assert "param_campaign.target_cpa_usd" in params
    assert all(ds[v].dims == ("draw",) for v in params)
    assert ds.attrs["title"] == "Reborn Emperor (US)"
    assert (ds.attrs["age"], ds.attrs["probability"], ds.attrs["target"]) == (AGE, PROBABILITY,
                                                                              TARGET)
    assert len(ds.attrs["scenario_hash"]) == 64
    # spend = budget x campaign days in every draw (flat schedule)
    np.testing.assert_allclose(ds.spend.values, np.repeat(ds.budget.values[:, None] * 2, 12,
                                                          axis=1))


# --- (1) CPA follows the saturation curve -------------------------------------------------------

def test_mean_cpa_follows_saturation_curve(fixed):
    """mean CPA(b) / mean CPA(smallest) = saturated_cost ratio within 5 standard errors.

    CPA = spend / Poisson(spend / unit cost) activations; the draws are correlated across
    budgets (same seed), so the ratio's standard error comes from the delta method with the
    draws' covariance.
    """
    loaded, ds = fixed
    base = loaded.scenario.campaign.target_cpa_usd
    cpa = ds.cpa.values                                   # [budget, draw]
    n = cpa.shape[1]
    m0 = cpa[0].mean()
    for i, b in enumerate(ds.budget.values):
        expected = (float(saturated_cost(base, b, SATURATION_USD, SHAPE))
                    / float(saturated_cost(base, ds.budget.values[0], SATURATION_USD, SHAPE)))
        mb = cpa[i].mean()
        ratio = mb / m0
        if i == 0:
            assert ratio == 1.0
            continue
        cov = np.cov(cpa[i], cpa[0])                      # ddof 1
        var = ratio**2 * (cov[0, 0] / mb**2 + cov[1, 1] / m0**2 - 2 * cov[0, 1] / (mb * m0))
        se = math.sqrt(max(var, 0.0) / n)
        assert se > 0
        assert abs(ratio - expected) <= 5 * se, (b, ratio, expected, se)
        assert expected > 1.3                             # the curve is steep enough to see


# --- (2) ROAS falls with the budget; (3) marginal ROAS < average ROAS ---------------------------

@pytest.mark.parametrize("which", ("uncertain", "fixed"))
def test_roas_falls_as_budget_grows(which, request):
    ds = request.getfixturevalue(which)
    ds = ds[1] if isinstance(ds, tuple) else ds
    mean = ds.roas.mean("draw").values                    # [budget, age]
    assert np.all(np.diff(mean[:, AGE]) < 0), mean[:, AGE]
    assert np.all(np.diff(mean[:, 1:], axis=0) < 0)      # at every age from D1 on


@pytest.mark.parametrize("which", ("uncertain", "fixed"))
def test_marginal_roas_below_average(which, request):
    ds = request.getfixturevalue(which)
    ds = ds[1] if isinstance(ds, tuple) else ds
    revenue = (ds.roas * ds.spend).values                 # cumulative net revenue [b, d, a]
    spend = ds.spend.values
    expected = (np.diff(revenue, axis=0).mean(axis=1)
                / np.diff(spend, axis=0).mean(axis=1)[:, None])
    marginal = ds.marginal_roas.values
    assert np.all(np.isnan(marginal[0]))
    np.testing.assert_allclose(marginal[1:], expected, rtol=1e-12)
    average = ds.roas.mean("draw").values
    assert np.all(marginal[1:, 1:] < average[1:, 1:]), (marginal[1:, AGE], average[1:, AGE])
    # past the point where more budget buys fewer users, marginal ROAS turns negative


# --- (4) the two answers ------------------------------------------------------------------------

@pytest.mark.parametrize("which", ("uncertain", "fixed"))
def test_best_and_largest_safe_budget(which, request):
    ds = request.getfixturevalue(which)
    ds = ds[1] if isinstance(ds, tuple) else ds
    budgets = ds.budget.values
    profit = ds.net_profit.mean("draw").values
    np.testing.assert_allclose(ds.expected_profit.values, profit)
    assert ds.attrs["best_budget_usd"] == budgets[np.argmax(profit)]
    p = (ds.roas.sel(age=AGE) >= TARGET).mean("draw").values
    np.testing.assert_array_equal(ds.p_roas_at_least.values, p)
    assert np.all(np.diff(p) <= 0)                        # same seed: no budget beats a smaller
    safe = ds.attrs["largest_safe_budget_usd"]
    if math.isnan(safe):
        assert not np.any(p >= PROBABILITY)
    else:
        i = int(np.flatnonzero(budgets == safe)[0])
        assert p[i] >= PROBABILITY and np.all(p[i + 1:] < PROBABILITY)


def test_largest_safe_budget_over_targets(uncertain):
    """The rule at many targets: interior answers, the largest budget, and none (NaN)."""
    ds = uncertain
    roas = ds.roas.sel(age=AGE)
    targets = [*np.quantile(roas.values, np.linspace(0, 1, 15)), float(roas.max()) * 2]
    seen = set()
    for target in targets:
        p = (roas >= target).mean("draw")
        safe = largest_safe_budget(p, PROBABILITY)
        ok_ = p.values >= PROBABILITY
        if not ok_.any():
            assert math.isnan(safe)
            seen.add("none")
            continue
        i = int(np.flatnonzero(ds.budget.values == safe)[0])
        assert ok_[i] and not ok_[i + 1:].any()
        seen.add("largest" if i == ds.sizes["budget"] - 1 else "interior")
    assert seen == {"none", "largest", "interior"}


def test_format_scale(uncertain):
    text = format_scale(uncertain)
    lines = text.splitlines()
    assert lines[0].startswith("Reborn Emperor (US)  (12 draws per budget, same seed")
    rows = [ln for ln in lines if re.match(r"\s+[\d,]+\s+\d", ln)]
    assert [float(r.split()[0].replace(",", "")) for r in rows] == sorted(BUDGETS)
    assert rows[0].split()[-1] == "-"                     # no marginal ROAS at the first budget
    assert len(rows[1].split()) == 10
    best = uncertain.attrs["best_budget_usd"]
    assert f"Budget that maximises expected profit: {best:,.0f} USD/day" in text
    assert f"Largest budget with P(ROAS D{AGE} >= {TARGET:g}) >= 80%: " in text
    none = uncertain.copy()
    none.attrs["largest_safe_budget_usd"] = math.nan
    assert "none of these budgets" in format_scale(none)


# --- input checks -------------------------------------------------------------------------------

def test_budget_checks():
    np.testing.assert_array_equal(parse_budgets("2500, 1000,1e4"), [1000, 2500, 10000])
    for text, words in (("1000,abc", "'abc'"), ("100", "at least two"), ("0,100", "1 <= budget"),
                        ("100,100.0", "twice"), ("", "not a number"), ("1,2e9", "1e+08")):
        with pytest.raises(ScenarioError, match=re.escape(words)) as err:
            parse_budgets(text)
        assert str(err.value).startswith("--budgets: ")
    with pytest.raises(ScenarioError, match="budgets"):
        check_budgets([100, float("nan")])


def test_scale_checks_before_simulating():
    loaded = load_scenario("reborn_emperor_us", [*SMALL, "simulation.draws=2"])
    for kwargs, key in (({"age": 31}, "age"), ({"probability": 1.0}, "probability"),
                        ({"probability": 0}, "probability"), ({"target": 0}, "target"),
                        ({"budgets": [100]}, "budgets")):
        args = {"budgets": [100, 200], **kwargs}
        with pytest.raises(ScenarioError, match=key):
            scale(loaded, **args, progress=lambda n: pytest.fail("simulated"))


# --- the figure ---------------------------------------------------------------------------------

def test_profit_by_budget_figure(uncertain):
    from simcore import plots

    fig = plots.profit_by_budget(uncertain)
    root = ET.fromstring(plots.to_bytes(fig, "svg"))
    text = " ".join(t.strip() for t in root.itertext() if t.strip())
    assert "Reborn Emperor (US): profit by daily budget (12 draws per budget)" in text
    assert "daily budget [USD/day]" in text and "net profit over the horizon [USD]" in text
    assert "p5-p95 of draws" in text and "p25-p75 of draws" in text and "mean profit" in text
    assert f"highest mean profit: {uncertain.attrs['best_budget_usd']:,.0f} USD/day" in text
    ax = fig.axes[0]
    xs = sorted({float(line.get_xdata()[0]) for line in ax.get_lines()
                 if len(line.get_xdata()) == 2 and line.get_xdata()[0] == line.get_xdata()[1]})
    safe = uncertain.attrs["largest_safe_budget_usd"]
    want = {uncertain.attrs["best_budget_usd"], *([safe] if not math.isnan(safe) else [])}
    assert set(xs) == want
    none = uncertain.copy()
    none.attrs["largest_safe_budget_usd"] = math.nan
    text = " ".join(t.strip() for t in ET.fromstring(plots.to_bytes(
        plots.profit_by_budget(none), "svg")).itertext() if t.strip())
    assert "no budget keeps P(ROAS D30 >= 2) >= 80%" in text


# --- (5) the command line -----------------------------------------------------------------------

CLI = ["scale", "reborn_emperor_us", "--draws", 8, "--set", "campaign.days=1",
       "--set", "simulation.horizon_days=30", "--set", f"campaign.saturation_budget_usd={500}"]


def test_cli_scale(tmp_path):
    result = ok(simcore(*CLI, "--budgets", "800,200,400", "--age", 7, "-o", "scale.nc",
                        "--plot", "profit.png", cwd=tmp_path))
    assert result.stderr == ""                            # no progress bar without a TTY
    out = result.stdout
    assert out.startswith("Reborn Emperor (US)  (8 draws per budget, same seed")
    assert "ROAS D7" in out and "marginal" in out
    ds = xr.open_dataset(tmp_path / "scale.nc", engine="h5netcdf").load()
    assert list(ds.budget.values) == [200.0, 400.0, 800.0]
    assert ds.roas.dims == ("budget", "draw", "age") and ds.sizes["draw"] == 8
    assert ds.attrs["age"] == 7 and ds.attrs["probability"] == 0.8 and ds.attrs["target"] == 1.0
    best = ds.attrs["best_budget_usd"]
    assert f"Budget that maximises expected profit: {best:,.0f} USD/day" in out
    answer = re.search(r"Largest budget with P\(ROAS D7 >= 1\) >= 80%: (.*)", out).group(1)
    safe = ds.attrs["largest_safe_budget_usd"]
    assert answer.startswith("none" if math.isnan(safe) else f"{safe:,.0f} USD/day")
    assert out.endswith("\nscale dataset written to scale.nc\n"
                        "profit_by_budget figure written to profit.png\n")
    img = imread(tmp_path / "profit.png")
    assert img.shape[:2] == (450, 800)
    assert np.mean(np.any(img[60:-60, 100:-40, :3] < 0.9, axis=-1)) > 0.002   # not blank
    assert sorted(p.name for p in tmp_path.iterdir()) == ["profit.png", "scale.nc"]
    line = one_line_error(simcore("summary", "scale.nc", cwd=tmp_path))
    assert line == ("simcore: error: scale.nc: a budget scan (simcore scale -o; its figure: "
                    "scale --plot), not a run dataset: summary, plot and report read runs, "
                    "forecasts and allocations")


def test_cli_help():
    out = ok(simcore("scale", "--help")).stdout
    for text in ("--budgets", "--age", "--probability", "--target", "--draws", "--seed",
                 "--set", "--output", "--plot"):
        assert text in out, text


@pytest.mark.parametrize("bad, mentions", [
    (["--budgets", "1000,abc"], ("--budgets", "abc")),
    (["--budgets", "0,100"], ("--budgets",)),
    (["--budgets=-5,100"], ("--budgets",)),
    (["--budgets", "100,100"], ("--budgets", "twice")),
    (["--budgets", "100"], ("--budgets", "two")),
    (["--budgets", ""], ("--budgets",)),
    (["--budgets", "100,2e8"], ("--budgets",)),
    (["--probability", 0], ("--probability",)),
    (["--probability", 1], ("--probability",)),
    (["--probability", 1.5], ("--probability",)),
    (["--probability", "nan"], ("--probability",)),
    (["--probability", "x"], ("--probability",)),
    (["--age", 31], ("--age", "31", "30")),
    (["--target", 0], ("--target",)),
    (["-o", "scale.txt"], ("--output", ".nc")),
    (["--plot", "fig.pdf"], ("--plot", ".png or .svg")),
    (["--plot", "nosuch/fig.png"], ("--plot", "nosuch")),
    (["--set", "campaign.nosuch=1"], ("campaign.nosuch",)),
], ids=lambda v: "_".join(map(str, v)) if isinstance(v, list) else None)
def test_cli_bad_input_is_one_line_and_writes_nothing(tmp_path, bad, mentions):
    line = one_line_error(simcore(*CLI, "--budgets", "200,400", "-o", "scale.nc",
                                  "--plot", "fig.png", *bad, cwd=tmp_path))
    for text in mentions:
        assert text in line, (text, line)
    assert list(tmp_path.iterdir()) == []


def test_cli_budgets_required(tmp_path):
    line = one_line_error(simcore("scale", "reborn_emperor_us", cwd=tmp_path))
    assert "--budgets" in line


def test_multi_market_scale_reports_each_markets_last_dollar():
    """Per market, marginal ROAS comes from that market's own revenue and spend, and the
    markets' changes add up to the total change."""
    from simcore.studies.budget_scan import scale

    loaded = load_scenario("reborn_emperor_us", [
        "simulation.draws=4", "campaign.days=2", "simulation.horizon_days=14",
        'markets=[{region="US", budget_share=0.7}, {region="BR", budget_share=0.3}]'])
    ds = scale(loaded, [400.0, 800.0], age=7)
    per = ds.marginal_roas_by_region
    assert per.dims == ("budget", "region", "age") and list(ds.region.values) == ["US", "BR"]
    assert np.isnan(per.isel(budget=0)).all() and np.isfinite(per.isel(budget=1)).all()
    spend_share = np.array([0.7, 0.3])     # each market's share of the change of spend
    total = (per.isel(budget=1).values * spend_share[:, None]).sum(axis=0)
    np.testing.assert_allclose(total, ds.marginal_roas.isel(budget=1).values, rtol=1e-9)
    assert "Marginal ROAS D7 of the last dollar by market" in format_scale(ds)


# --- the budget scan is a one-key sweep ---------------------------------------------------------

@pytest.fixture(scope="module")
def small():
    return load_scenario("reborn_emperor_us", [*SMALL, "simulation.draws=4"])


def test_common_random_numbers_by_default_and_own_streams_on_request(small):
    """Default: every budget on point 0's streams, as a run of each budget's scenario; with
    ``common_random_numbers=False`` budget i is sweep point i (its own streams), as
    ``simcore sweep`` runs it."""
    from simcore.engine.run import run
    from simcore.studies.budget_scan import scenarios_at

    budgets = (200.0, 800.0)
    variants = scenarios_at(small, budgets)
    common = scale(small, budgets, age=7)
    own = scale(small, budgets, age=7, common_random_numbers=False)
    assert common.attrs["streams"] == "common" and own.attrs["streams"] == "own"
    for i, variant in enumerate(variants):
        np.testing.assert_array_equal(common.roas.values[i], run(variant).roas.values)
        np.testing.assert_array_equal(own.roas.values[i], run(variant, point=i).roas.values)
    np.testing.assert_array_equal(own.roas.values[0], common.roas.values[0])   # point 0
    assert not np.array_equal(own.roas.values[1], common.roas.values[1])
    assert "own streams per budget" in format_scale(own)


def test_scan_runs_on_executors_into_a_store_and_resumes(small, tmp_path):
    """Block by block on an executor, written to a Zarr store, resumed: the same numbers as
    in memory."""
    from simcore.studies.executors import LocalExecutor

    memory = scale(small, (200.0, 800.0), age=7)
    calls = []
    stored = scale(small, (200.0, 800.0), age=7, executor=LocalExecutor(),
                   store=tmp_path / "scan.zarr", block_draws=2, progress=calls.append)
    assert len(calls) == 4                                    # 2 budgets x 2 blocks
    xr.testing.assert_identical(stored.drop_attrs(), memory.drop_attrs())
    calls.clear()
    resumed = scale(small, (200.0, 800.0), age=7, store=tmp_path / "scan.zarr", resume=True,
                    block_draws=2, progress=calls.append)
    assert calls == []                                        # nothing left to compute
    np.testing.assert_array_equal(resumed.marginal_roas.values, memory.marginal_roas.values)


def test_cli_scale_store_and_resume(tmp_path):
    args = (*CLI, "--budgets", "200,400", "--age", 7, "--store", "scan.zarr", "--block-draws", 4)
    first = ok(simcore(*args, cwd=tmp_path))
    again = ok(simcore(*args, "--resume", cwd=tmp_path))
    assert "resuming scan.zarr: 4 of 4 tasks already computed" in again.stderr
    assert again.stdout == first.stdout
    assert "--resume" in one_line_error(simcore(*CLI, "--budgets", "200,400", "--resume",
                                               cwd=tmp_path))


@pytest.mark.parametrize("name", ["drama_paywall_us", "reborn_emperor_global"])
def test_scale_and_sweep_judge_on_ua_where_free_users_exist(name):
    """With organic or shared users beside the paid ones, the scan's ROAS and profit are
    those of a run on UA (its paid users' revenue over the spend), not the blended ones."""
    from simcore.analysis import net_profit
    from simcore.engine.run import run
    from simcore.studies.budget_scan import scale
    from simcore.studies.sweeps import format_sweep, sweep

    loaded = load_scenario(name, ["simulation.draws=3", "campaign.days=3",
                                  "simulation.horizon_days=30"])
    budget = float(loaded.scenario.campaign.daily_budget_usd)
    ran = run(loaded)
    assert not np.allclose(ran.roas.values, ran.roas_paid.values)     # free users count
    ds = scale(loaded, [budget / 2, budget], age=7)
    np.testing.assert_array_equal(ds.roas.sel(budget=budget).values, ran.roas_paid.values)
    np.testing.assert_array_equal(ds.net_profit.sel(budget=budget).values,
                                  net_profit(ran, "paid").values)
    swept = sweep(loaded, {"campaign.daily_budget_usd": [budget]}, common_streams=True)
    assert float(swept.net_profit_paid.isel({"campaign.daily_budget_usd": 0}).mean()) == \
        pytest.approx(float(net_profit(ran, "paid").mean()), rel=1e-12)
    assert "on UA" in format_sweep(swept) and "on UA" in format_scale(ds)
