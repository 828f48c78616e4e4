"""An allocation written by ``simcore optimize -o`` is read back by ``simcore report`` (an HTML
page: the allocation table, profit and risk in and out of sample, binding constraints, the
frontier embedded), ``simcore plot`` (the frontier figure) and ``simcore summary``; run through
the CLI as a person does, the page loaded in a headless browser."""

from __future__ import annotations

import base64
import html
import io
import math

import numpy as np
import pytest
import xarray as xr
from matplotlib.image import imread

from simcore.analysis import cvar
from simcore.text.allocation_report import outcome_rows
from simcore.text.report import build_report
from tests.cli.test_cli import one_line_error
from tests.cli.test_optimize import ARGS
from tests.cli_helpers import ok, simcore
from tests.figures.test_plots import svg_text
from tests.studies.test_allocation import two_markets
from tests.text.test_report import (  # noqa: F401  (browser: a fixture)
    ARTIFACTS,
    IMG,
    SCRIPT,
    Page,
    browser,
    no_markup_from_data,
)


@pytest.fixture(scope="module")
def alloc(tmp_path_factory):
    """``simcore optimize`` of two markets under P(ROAS D30 >= 1) >= 0.85 (which the
    risk-neutral allocation breaks at 60 draws), written to a dataset: (its path, the
    dataset)."""
    folder = tmp_path_factory.mktemp("alloc")
    path = folder / "alloc.nc"
    args = ["30:1:0.85" if a == "30:1:0.8" else a for a in ARGS]
    ok(simcore("optimize", two_markets(folder), *args, "-o", path))
    with xr.open_dataset(path) as ds:
        return path, ds.load()


@pytest.fixture(scope="module")
def page(alloc, tmp_path_factory):
    path = tmp_path_factory.mktemp("page") / "alloc.html"
    result = ok(simcore("report", alloc[0], "-o", path))
    assert result.stdout == f"report written to {path}\n"
    return path


def test_report_of_an_allocation_holds_its_table_and_figures(alloc, page):
    _, ds = alloc
    text = page.read_text(encoding="utf-8")
    parsed = Page(text)
    assert parsed.errors == [] and parsed.stack == []
    assert "<title>Two markets (test): simcore report</title>" in text
    for heading in ("Allocation", "Profit and risk", "Binding constraints",
                    "Efficient frontier", "Scenario file"):
        assert f"<h2>{heading}</h2>" in text, heading
    # the table: one row per cell, with its coordinates, as stored
    for i, cell in enumerate(ds.cell.values):
        usd = f"{float(ds.allocation_usd_per_day[i]):,.0f}"
        row = (f"<tr><td>{cell}</td><td>{ds.region.values[i]}</td>"
               f"<td>{ds.channel.values[i]}</td><td>{usd}</td>"
               f"<td>{float(ds.share[i]):.1%}</td><td>{float(ds.marginal_roas[i]):.3f}</td>")
        assert row in text, row
    assert "<th>region</th><th>channel</th>" in text
    assert "<tr><td><strong>total</strong></td><td></td><td></td><td>400</td>" in text
    # profit and risk in sample, out of sample and for the risk-neutral allocation
    a = ds.attrs
    assert (f"<tr><td>expected net profit [USD]</td><td>{a['expected_profit_usd']:,.0f}</td>"
            f"<td>{a['oos_expected_profit_usd']:,.0f} &plusmn; "
            f"{a['oos_expected_profit_se_usd']:,.0f}</td>"
            f"<td>{a['expected_profit_risk_neutral_usd']:,.0f}</td></tr>") in text
    assert (f"<tr><td>P(ROAS D30 &ge; 1)</td><td>{a['p_roas_at_least']:.1%}</td>"
            f"<td>{a['oos_p_roas_at_least']:.1%} &plusmn; {a['oos_p_roas_at_least_se']:.1%}"
            f"</td><td>{a['p_roas_at_least_risk_neutral']:.1%}</td></tr>") in text
    assert f"<td>{a['p_loss']:.1%}</td>" in text
    assert f"<td>{a['cvar_loss_usd']:,.0f}</td>" in text
    cost = a["expected_profit_risk_neutral_usd"] - a["expected_profit_usd"]
    assert f"constraints cost {cost:,.0f} USD of expected profit" in text
    # the chance constraint binds here (the case the optimiser tests): it is listed
    assert a["p_roas_at_least_risk_neutral"] < 0.85 <= a["p_roas_at_least"]
    for item in a["binding"].split("; "):
        assert f"<li>{html.escape(item)}</li>" in text, item
    assert "P(ROAS D30 &gt;= 1) &gt;= 0.85 (the risk-neutral allocation has" in text
    assert cost > 0
    # the frontier: one row per lambda, and the figure embedded
    for i, lam in enumerate(ds["lambda"].values):
        assert (f"<tr><td>{lam:g}</td><td>{float(ds.frontier_profit_usd[i]):,.0f}</td>"
                f"<td>{float(ds.frontier_cvar_loss_usd[i]):,.0f}</td>") in text
    images = parsed.find("img")
    assert len(images) == 1 and 'id="fig-frontier"' in text
    png = base64.b64decode(images[0]["src"].split(",", 1)[1], validate=True)
    img = imread(io.BytesIO(png), format="png")
    assert img.shape[:2] == (450, 800)
    assert len(np.unique(img.reshape(-1, img.shape[-1]), axis=0)) >= 8
    assert images[0]["alt"] == "Two markets (test): profit against risk, 400 USD/day"
    assert f"<code>{ds.attrs['scenario_hash']}</code>" in text


def test_out_of_sample_figures_are_the_datasets(alloc):
    """The page's CVaR is the optimiser's (in sample), and out of sample the same measure of
    ``oos_net_profit``; P(loss) out of sample with its binomial standard error."""
    _, ds = alloc
    alpha = ds.attrs["cvar_alpha"]
    assert cvar(-ds.net_profit.values, alpha) == pytest.approx(
        ds.attrs["cvar_loss_usd"], rel=1e-12, abs=1e-9)
    rows = {r[0]: r for r in outcome_rows(ds)}
    oos = ds.oos_net_profit.values
    p = float((oos < 0).mean())
    se = math.sqrt(p * (1 - p) / oos.size)
    assert rows["P(loss)"][2] == f"{p:.1%} &plusmn; {se:.1%}"
    assert rows["CVaR0.95 of the loss [USD] (negative: a profit)"][2] == \
        f"{cvar(-oos, alpha):,.0f}"


def test_plot_draws_the_frontier_of_an_allocation(alloc, tmp_path):
    path, ds = alloc
    svg, png = tmp_path / "f.svg", tmp_path / "f.png"
    result = ok(simcore("plot", path, "-o", svg))              # --kind: frontier, the only one
    assert result.stdout == f"frontier figure written to {svg}\n"
    text = svg_text(svg)
    for part in ("Two markets (test): profit against risk, 400 USD/day", "lambda 0",
                 "lambda 10", "chosen allocation", "CVaR0.95 of the loss [thousand USD]",
                 "expected net profit [thousand USD]"):
        assert part in text, part
    ok(simcore("plot", path, "--kind", "frontier", "-o", png))
    img = imread(png, format="png")
    assert img.shape[0] > 300 and img[..., :3].std() > 0.05          # drawn, not blank


def test_summary_of_an_allocation_is_what_optimize_printed(alloc):
    path, _ = alloc
    text = ok(simcore("summary", path)).stdout
    for words in ("USD/day", "marginal", "expected profit", "P(loss)", "CVaR0.95",
                  "P(ROAS D30 >= 1)", "out of sample", "efficient frontier", "binding:"):
        assert words in text, words


@pytest.mark.parametrize("command, extra, words", [
    ("plot", ["--kind", "fan"], "--kind: = 'fan': a figure of a run; this is an allocation"),
    ("plot", ["--day", "7"], "--day: an allocation (simcore optimize) is judged at the age"),
    ("report", ["--target", "1.5"], "--target: an allocation (simcore optimize) is judged"),
    ("report", ["--basis", "blended"], "--basis: an allocation counts ROAS on UA"),
])
def test_run_options_on_an_allocation_are_one_line(alloc, tmp_path, command, extra, words):
    out = tmp_path / ("x.png" if command == "plot" else "x.html")
    line = one_line_error(simcore(command, alloc[0], *extra, "-o", out))
    assert words in line, line
    assert not out.exists()


def test_a_run_has_no_frontier_and_needs_a_kind(tmp_path):
    run = tmp_path / "run.nc"
    ok(simcore("run", two_markets(tmp_path), "--draws", "3", "-o", run, "--no-progress"))
    out = tmp_path / "x.png"
    line = one_line_error(simcore("plot", run, "--kind", "frontier", "-o", out))
    assert "--kind: = 'frontier': a figure of an allocation" in line, line
    line = one_line_error(simcore("plot", run, "-o", out))
    assert "--kind: choose the figure of a run: one of fan, payback" in line, line
    assert "forecast" not in line, line            # a calibrated forecast's figure only
    assert not out.exists()


def test_a_damaged_allocation_is_one_line(alloc, tmp_path):
    bad = tmp_path / "bad.nc"
    alloc[1].drop_vars("marginal_roas").to_netcdf(bad, engine="h5netcdf")
    line = one_line_error(simcore("report", bad, "-o", tmp_path / "r.html"))
    assert "not a simcore allocation dataset (missing marginal_roas)" in line, line


@pytest.fixture(scope="module")
def crafted(alloc) -> xr.Dataset:
    """The allocation with markup in every string its page shows: cell names and
    coordinates, the binding constraints, notes and the scenario attributes."""
    _, ds = alloc
    n = ds.sizes["cell"]
    return ds.assign_coords(
        cell=("cell", [SCRIPT, IMG][:n]), region=("cell", [IMG, SCRIPT][:n]),
        channel=("cell", [SCRIPT] * n)).assign_attrs(
        title=f"{SCRIPT} {IMG}", binding=f"{SCRIPT}; {IMG}", notes=IMG,
        scenario_hash=SCRIPT, simcore_version=IMG, scenario_overrides=f"{SCRIPT}\n{IMG}",
        scenario_toml=f"# {SCRIPT} {IMG}\n")


def test_allocation_strings_are_escaped(crafted):
    page = build_report(crafted)
    no_markup_from_data(page)
    script, img = html.escape(SCRIPT), html.escape(IMG)
    assert f"<h1>{script} {img}</h1>" in page
    assert f"<tr><td>{script}</td><td>{img}</td><td>{script}</td>" in page
    assert f"<li>{script}</li><li>{img}</li>" in page
    assert f"<p>Note: {img}</p>" in page
    assert f'alt="{script} {img}: profit against risk' in page


@pytest.mark.parametrize("name", ["alloc", "crafted"])
def test_allocation_report_loads_cleanly_in_a_browser(browser, alloc, crafted, page,  # noqa: F811
                                                      tmp_path, name):
    if name == "alloc":
        path, title = page, "Two markets (test)"
    else:
        path, title = tmp_path / "crafted.html", f"{SCRIPT} {IMG}"
        path.write_text(build_report(crafted), encoding="utf-8")
    check = browser.check_page(path, screenshot=ARTIFACTS / f"report-allocation-{name}.png")
    assert check.problems() == [], "\n".join(check.problems())
    assert check.title == f"{title}: simcore report"
    assert check.images == 1
    assert check.requests[0] == path.as_uri() and len(check.requests) == 2
    shot = imread(ARTIFACTS / f"report-allocation-{name}.png", format="png")
    assert shot.shape[1] >= 800 and shot.shape[0] > 450
