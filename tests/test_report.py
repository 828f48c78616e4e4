"""The HTML report: one self-contained page with the run's facts, the summary numbers as the
tables show them, five embedded figures and the scenario; written atomically."""

from __future__ import annotations

import base64
import html
import io
import re
import shutil
import subprocess
from html.parser import HTMLParser

import numpy as np
import pytest
import xarray as xr
from matplotlib.image import imread

import simcore
from simcore.errors import ScenarioError
from simcore.report import build_report, write_report
from simcore.summary import summarize

SMALL = ["simulation.draws=6", "campaign.days=2", "campaign.daily_budget_usd=300",
         "simulation.horizon_days=30"]
BROWSERS = ("chromium", "chromium-browser", "google-chrome", "headless_shell")
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
    assert [k for k, _, _ in s.drivers][0] == "ads.ecpm_rewarded_usd"
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
    path.write_text("old")
    assert write_report(ds, path, day=7, target=1.0) == path
    assert path.read_text(encoding="utf-8") == page
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


@pytest.mark.parametrize("name", ["report.pdf", "missing/report.html"])
def test_write_report_bad_path(ds, tmp_path, name):
    with pytest.raises(ScenarioError) as info:
        write_report(ds, tmp_path / name)
    assert info.value.key == "-o"
    assert list(tmp_path.iterdir()) == []


def test_headless_browser_loads_without_console_errors(ds, tmp_path):
    browser = next((shutil.which(b) for b in BROWSERS if shutil.which(b)), None)
    if browser is None:
        pytest.skip(f"no headless browser found (looked for {', '.join(BROWSERS)})")
    path = write_report(ds, tmp_path / "report.html")
    result = subprocess.run(
        [browser, "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run",
         "--enable-logging=stderr", "--v=0", "--virtual-time-budget=3000",
         f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", path.as_uri()],
        capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Reborn Emperor (US)" in result.stdout and result.stdout.count("<img") == 5
    console = [ln for ln in result.stderr.splitlines() if "CONSOLE" in ln
               or "ERR_" in ln or "Uncaught" in ln]
    assert console == [], "\n".join(console)
