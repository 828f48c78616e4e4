"""The HTML report: one self-contained page with the run's facts, the summary numbers as the
tables show them, five embedded figures and the scenario; written atomically."""

from __future__ import annotations

import base64
import html
import io
import os
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from matplotlib.image import imread

import simcore
from simcore.errors import ScenarioError
from simcore.text.report import build_report, write_report
from simcore.text.summary import summarize
from tests.browser import Chromium, find_browser

SMALL = ["simulation.draws=6", "campaign.days=2", "campaign.daily_budget_usd=300",
         "simulation.horizon_days=30"]
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


def without_params(ds: xr.Dataset) -> xr.Dataset:
    return ds.drop_vars([v for v in ds.data_vars if str(v).startswith("param_")])


def with_params(ds: xr.Dataset, day: int = 7) -> xr.Dataset:
    rng = np.random.default_rng(7)
    n = ds.sizes["draw"]
    return without_params(ds).assign({
        "param_ads.ecpm_rewarded_usd": ("draw", 3.0 * ds.roas.sel(age=day).values,
                                        {"units": "USD", "long_name": "rewarded eCPM",
                                         "distribution": "lognormal(median=12, p90=20)"}),
        "param_retention.d1": ("draw", rng.uniform(0.25, 0.4, n),
                               {"units": "1", "long_name": "D1 retention",
                                "distribution": "uniform(0.25, 0.4)"}),
    })


class Page(HTMLParser):
    """Tags, attributes and nesting of an HTML page; fails on a mismatched end tag."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: list[tuple[str, dict]] = []
        self.errors: list[str] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:]}")
        else:
            self.stack.pop()

    def find(self, tag: str) -> list[dict]:
        return [attrs for t, attrs in self.tags if t == tag]


@pytest.fixture(scope="module")
def ds() -> xr.Dataset:
    """A small real run with two hand-made uncertain parameters."""
    return with_params(simcore.run(simcore.load_scenario("reborn_emperor_us", SMALL)))


@pytest.fixture(scope="module")
def page(ds) -> str:
    return build_report(ds, day=7, target=1.0)


def test_page_is_well_formed_and_self_contained(page):
    assert page.startswith("<!DOCTYPE html>")
    parsed = Page(page)
    assert parsed.errors == [] and parsed.stack == []
    assert not parsed.find("script") and not parsed.find("link") and not parsed.find("iframe")
    for tag, attrs in parsed.tags:
        for name in ("src", "href", "srcset", "action", "data"):
            value = (attrs.get(name) or "").strip().lower()
            assert not value.startswith(("http://", "https://", "//")), (tag, name, value[:80])
    assert not re.search(r"(src|href)\s*=\s*[\"']?\s*https?://", page, re.I)
    assert "@import" not in page and "url(" not in page


def test_five_embedded_figures(page):
    images = Page(page).find("img")
    assert len(images) == 5
    for attrs in images:
        src = attrs["src"]
        assert src.startswith("data:image/png;base64,")
        png = base64.b64decode(src.split(",", 1)[1], validate=True)
        img = imread(io.BytesIO(png), format="png")
        assert img.shape[:2] == (450, 800)
        assert len(np.unique(img.reshape(-1, img.shape[-1]), axis=0)) >= 8
        assert attrs["alt"].startswith("Reborn Emperor (US): ")


def test_title_and_run_facts(ds, page):
    assert "<title>Reborn Emperor (US): simcore report</title>" in page
    assert "<h1>Reborn Emperor (US)</h1>" in page
    assert f"<th>seed</th><td>{ds.attrs['seed']}</td>" in page
    assert "<th>draws</th><td>6</td>" in page
    assert ds.attrs["scenario_hash"] in page
    assert f"<td>{ds.attrs['simcore_version']}</td>" in page
    assert "<code>campaign.daily_budget_usd=300</code>" in page       # overrides


def test_key_numbers_as_in_the_tables(ds, page):
    s = summarize(ds, day=7, target=1.0)
    d7 = s.roas[7]
    assert (f"<tr><td>D7</td><td>{d7['mean']:.3f}</td><td>{d7['p5']:.3f}</td>"
            f"<td>{d7['p50']:.3f}</td><td>{d7['p95']:.3f}</td>") in page
    assert f"<td>{s.cpa['p50']:.3f}</td>" in page
    for p, cpa in s.break_even_cpa.items():
        assert f"<tr><td>{p:.0%}</td><td>{cpa:,.3f}</td></tr>" in page
    assert s.break_even_cpa[0.5] > 0
    assert f"<td>{s.profit['mean']:,.0f}</td>" in page
    assert f"<td>{s.profit['cvar']:,.0f}</td>" in page
    assert f"{s.paid_back_share:.0%} of draws pay back by D30" in page
    assert [k for k, *_ in s.drivers][0] == "ads.ecpm_rewarded_usd"
    assert "<tr><td><code>ads.ecpm_rewarded_usd</code></td><td>+1.00</td>" in page


def test_scenario_and_uncertain_assumptions(ds, page):
    toml = ds.attrs["scenario_toml"]
    assert '"' in toml and f"<pre>{html.escape(toml)}</pre>" in page
    ecpm = ds["param_ads.ecpm_rewarded_usd"].values
    p5, p50, p95 = np.quantile(ecpm, (0.05, 0.5, 0.95))
    assert (f"<tr><td><code>ads.ecpm_rewarded_usd</code></td>"
            f"<td>lognormal(median=12, p90=20)</td><td>USD</td>"
            f"<td>{p5:.4g}</td><td>{p50:.4g}</td><td>{p95:.4g}</td></tr>") in page
    assert "<td>uniform(0.25, 0.4)</td>" in page


def test_day_and_target_change_the_page(ds):
    page = build_report(without_params(ds), day=3, target=1.5)
    s = summarize(ds, day=3, target=1.5)
    assert "ROAS D3 reaches 1.5" in page and "<th>P(ROAS &ge; 1.5)</th>" in page
    assert f"<td>{s.break_even_cpa[0.8]:,.3f}</td>" in page
    assert "no uncertain parameters in this scenario" in page
    assert "ROAS at D3" in page                                        # histogram alt text
    assert len(Page(page).find("img")) == 5


def test_title_is_escaped(ds):
    odd = without_params(ds).assign_attrs(title="<b>A & B</b>",
                                          scenario_toml="x = \"</pre><script>\"\n")
    page = build_report(odd)
    assert "<h1>&lt;b&gt;A &amp; B&lt;/b&gt;</h1>" in page
    assert "<script>" not in page and "&lt;/pre&gt;&lt;script&gt;" in page


@pytest.mark.parametrize("day, target, key", [(31, 1.0, "day"), (-1, 1.0, "day"),
                                              (7, 0.0, "target"), (7, -2.0, "target")])
def test_bad_day_or_target(ds, day, target, key):
    with pytest.raises(ScenarioError) as info:
        build_report(ds, day=day, target=target)
    assert info.value.key == key


def test_write_report_atomically(ds, page, tmp_path):
    path = tmp_path / "report.html"
    path.write_text('<!DOCTYPE html>\n<meta name="generator" content="simcore 0.0.1">old')
    assert write_report(ds, path, day=7, target=1.0) == path
    assert path.read_text(encoding="utf-8") == page
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_write_report_keeps_a_page_simcore_did_not_write(ds, tmp_path):
    path = tmp_path / "notes.html"
    path.write_text("<p>mine</p>")
    with pytest.raises(ScenarioError) as info:
        write_report(ds, path)
    assert info.value.key == "-o" and "--force" in info.value.message
    assert path.read_text() == "<p>mine</p>"
    write_report(ds, path, force=True)
    assert '<meta name="generator" content="simcore ' in path.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", ["report.pdf", "missing/report.html"])
def test_write_report_bad_path(ds, tmp_path, name):
    with pytest.raises(ScenarioError) as info:
        write_report(ds, tmp_path / name)
    assert info.value.key == "-o"
    assert list(tmp_path.iterdir()) == []


# --- strings from a dataset are escaped ----------------------------------------------------------

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
BROWSER_RUN = ["simulation.draws=8", "campaign.days=2", "campaign.daily_budget_usd=300",
               "simulation.horizon_days=30"]


@pytest.fixture(scope="module")
def markets_ds() -> xr.Dataset:
    """A small multi-market run (seven regions); two days of organic users, not 30, which
    more than halves its time."""
    return simcore.run(simcore.load_scenario("reborn_emperor_global",
                                             BROWSER_RUN + ["organic.days=2"]))


@pytest.fixture(scope="module")
def drama_ds() -> xr.Dataset:
    """A small drama run."""
    return simcore.run(simcore.load_scenario("drama_paywall_us", BROWSER_RUN))


@pytest.fixture(scope="module")
def crafted_ds(markets_ds) -> xr.Dataset:
    """The multi-market run with markup in every string the report shows: region labels,
    parameter names and their attributes, and the scenario attributes."""
    params = [str(v) for v in markets_ds.data_vars if str(v).startswith("param_")][:2]
    ds = markets_ds.rename({params[0]: f"param_{SCRIPT}", params[1]: f"param_{IMG}"})
    ds[f"param_{SCRIPT}"].attrs.update(distribution=SCRIPT, units=IMG)
    regions = [SCRIPT, IMG, *markets_ds.region.values[2:]]
    return ds.assign_coords(region=("region", regions, markets_ds.region.attrs)).assign_attrs(
        title=f"{SCRIPT} {IMG}", simcore_version=IMG, scenario_hash=SCRIPT,
        scenario_overrides=f"{SCRIPT}\n{IMG}",
        scenario_toml=markets_ds.attrs["scenario_toml"] + f"\n# {SCRIPT} {IMG}\n")


@pytest.fixture(scope="module")
def crafted_page(crafted_ds) -> str:
    return build_report(crafted_ds, day=7)


def no_markup_from_data(page: str) -> None:
    """``page`` has no raw payload, and no element, attribute or URL that a payload makes."""
    assert SCRIPT not in page and IMG not in page and "<img src=x" not in page
    parsed = Page(page)
    assert parsed.errors == [] and parsed.stack == []
    assert not parsed.find("script")
    assert all(a["src"].startswith("data:image/png;base64,") for a in parsed.find("img"))
    assert [(t, n) for t, attrs in parsed.tags for n in attrs if n.startswith("on")] == []


def test_dataset_strings_are_escaped(crafted_page):
    no_markup_from_data(crafted_page)
    script, img = html.escape(SCRIPT), html.escape(IMG)
    assert img.startswith("&quot;&gt;&lt;img")
    assert f"<h1>{script} {img}</h1>" in crafted_page
    assert f"<title>{script} {img}: simcore report</title>" in crafted_page
    assert f"<tr><td>{script}</td>" in crafted_page and f"<tr><td>{img}</td>" in crafted_page
    assert f"<td><code>{script}</code></td><td>{script}</td><td>{img}</td>" in crafted_page
    assert f"<td><code>{img}</code></td>" in crafted_page            # drivers, assumptions
    assert f'alt="{script} {img}: ' in crafted_page                  # figure titles
    assert f"<code>{script}</code><br><code>{img}</code>" in crafted_page   # overrides
    assert f"<td>{img}</td>" in crafted_page                         # simcore version
    assert f"<code>{script}</code>" in crafted_page                  # scenario hash
    assert f"# {script} {img}\n</pre>" in crafted_page               # scenario file


def test_drama_strings_are_escaped(drama_ds):
    page = build_report(drama_ds.assign_attrs(title=IMG, scenario_overrides=SCRIPT))
    no_markup_from_data(page)
    assert len(Page(page).find("img")) == 8
    assert page.count(f'alt="{html.escape(IMG)}') == 8                # every figure's title


# --- the pages in a real browser -----------------------------------------------------------------

ARTIFACTS = Path(os.environ.get("SIMCORE_TEST_ARTIFACTS")
                 or Path(__file__).resolve().parents[1] / "artifacts")


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for this module's browser tests. Missing: a skip, but a failure
    under CI (``.ci/run`` installs it), so the test can never silently not run there."""
    path = find_browser()
    if path is None:
        reason = ("no headless Chromium on PATH (Debian: apt-get install "
                  "chromium-headless-shell)")
        if in_ci():
            pytest.fail(f"{reason}; CI must run the browser tests", pytrace=False)
        pytest.skip(reason)
    with Chromium(path) as chromium:
        yield chromium


def test_browser_check_sees_every_kind_of_problem(browser, tmp_path):
    bad = tmp_path / "bad.html"
    bad.write_text('<!DOCTYPE html><title>bad</title><img alt="gone" src="missing.png">'
                   '<img alt="far" src="https://example.com/a.png">'
                   '<script>console.error("boom"); alert("hi")</script>')
    check = browser.check_page(bad)
    assert check.title == "bad" and check.images == 2
    assert sorted(check.broken_images) == ["far", "gone"]
    assert check.external_requests == [(tmp_path / "missing.png").as_uri(),
                                       "https://example.com/a.png"]
    assert "boom" in check.console_errors and check.dialogs == ["hi"]
    assert len(check.problems()) == len(check.console_errors) + 2 + 2 + 1


@pytest.mark.parametrize("name, fixture, title, images", [
    ("game", "ds", "Reborn Emperor (US)", 5),
    ("markets", "markets_ds", "Reborn Emperor (global)", 5),
    ("drama", "drama_ds", "Midnight Vows (paywall, US)", 8),
    ("crafted", "crafted_ds", f"{SCRIPT} {IMG}", 5),
])
def test_report_loads_cleanly_in_a_browser(browser, request, tmp_path, name, fixture, title,
                                           images):
    """No console error, broken image, request beyond the page and its data: URLs, or script
    dialog; the screenshot is kept in ``$SIMCORE_TEST_ARTIFACTS`` (default tests/artifacts)."""
    path = write_report(request.getfixturevalue(fixture), tmp_path / f"{name}.html", day=7)
    check = browser.check_page(path, screenshot=ARTIFACTS / f"report-{name}.png")
    assert check.problems() == [], "\n".join(check.problems())
    assert check.title == f"{title}: simcore report"
    assert check.images == images
    assert check.requests[0] == path.as_uri() and len(check.requests) == images + 1
    shot = imread(ARTIFACTS / f"report-{name}.png", format="png")
    assert shot.shape[1] >= 800 and shot.shape[0] > 450 * images
