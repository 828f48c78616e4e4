"""Dramas through the real command line: bad input is one line naming the key (exit 2,
nothing written); both packaged drama scenarios run; summary, figures and report cover the
series (files rendered and checked for content)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest
from matplotlib.image import imread

from tests.cli_helpers import ok, simcore
from tests.drama_helpers import scenario_text

SMALL = ["--draws", "3", "--set", "campaign.days=2", "--set", "simulation.horizon_days=30",
         "--set", "organic.days=3"]


BAD = [
    ("free-above-episodes", {"series.free_episodes": "31"}, (), {}, "series.free_episodes",
     ("31", "series.episodes")),
    ("negative-pass-price", {"unlocks.weekly_pass_usd": "-14.99"}, (), {},
     "unlocks.weekly_pass_usd", ("-14.99", "valid range", "0 < value")),
    ("negative-pack-price", {"unlocks.pack_prices_usd": "[-4.99, 9.99, 19.99]"}, (), {},
     "unlocks.pack_prices_usd", ("-4.99", "0 < value")),
    ("continuation-above-1", {"series.continuation": "1.2"}, (), {}, "series.continuation",
     ("1.2", "valid range", "value <= 1")),
    ("paywall-chances-above-1", {"unlocks.ad_probability": "0.8"}, (), {},
     "unlocks.ad_probability", ("sum to 1.1",)),
    ("elasticity-pushes-chances-above-1",
     {"unlocks.coins_probability": "0.5", "unlocks.ad_probability": "0.4",
      "unlocks.price_elasticity": "3.0"}, (), {}, "unlocks.price_elasticity", ("> 1",)),
    ("game-section-in-drama", {}, (), {"engagement": {"sessions_per_day": "2.0"}},
     "engagement", ("for games", "ignored")),
    ("missing-series", {}, ("series",), {}, "series", ("missing section",)),
    ("no-free-episode", {"series.free_episodes": "0"}, (), {}, "series.free_episodes",
     ("valid range", "1 <= value")),
    ("unlocks-on-a-free-series", {"series.free_episodes": "30"}, (), {}, "unlocks",
     ("would be ignored",)),
    ("drama-section-in-game", {"title.kind": '"game"', "title.monetization": '"iaa"'},
     ("series", "unlocks", "deal"), {"deal": {"licence_fee_usd": "1.0"}}, "deal",
     ("for dramas",)),
]


@pytest.mark.parametrize("case", BAD, ids=[c[0] for c in BAD])
def test_bad_drama_input_is_one_line_naming_the_key(case, tmp_path):
    _, put, drop, add, key, contains = case
    (tmp_path / "bad.toml").write_text(scenario_text(put, drop, add), encoding="utf-8")
    result = simcore("run", "bad.toml", "-o", "out.nc", cwd=tmp_path)
    err = result.stderr
    assert result.returncode == 2, (result.returncode, err[-2000:])
    assert "Traceback" not in err and result.stdout == ""
    assert err.endswith("\n") and err.count("\n") == 1, f"not one line: {err!r}"
    line = err.rstrip("\n")
    assert line.startswith("simcore: error: bad.toml") and f"{key}" in line, line
    for text in contains:
        assert text in line, (text, line)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.toml"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("drama_cli")
    out = {}
    for name in ("drama_paywall_us", "drama_free_licensed_us"):
        result = ok(simcore("run", name, "-o", f"{name}.nc", *SMALL, cwd=folder))
        out[name] = (result.stdout, folder / f"{name}.nc")
    return folder, out


def test_both_scenarios_run_and_summarise_the_series(runs):
    folder, out = runs
    paywall, free = out["drama_paywall_us"][0], out["drama_free_licensed_us"][0]
    for text in (paywall, free):
        for mark in ("episode funnel", "revenue by source", "series P&L D30",
                     "ROI incl. production", "series payback day", "ROAS"):
            assert mark in text, (mark, text)
    assert "E10" in paywall and "E11" in paywall           # both sides of the paywall
    assert "(payers 0.00% of viewers)" in free
    licence = next(ln for ln in free.splitlines() if ln.strip().startswith("licence"))
    assert "10,000" in licence
    summary = ok(simcore("summary", "drama_paywall_us.nc", cwd=folder)).stdout
    assert summary.splitlines() == paywall.splitlines()[:-2]


def check_png(path: Path) -> None:
    img = imread(path)
    assert img.shape[:2] == (450, 800), img.shape
    rgb = np.round(img[..., :3] * 255).astype(np.uint8).reshape(-1, 3)
    assert len(np.unique(rgb, axis=0)) >= 8, "nearly a single colour"


FIGURES = {
    "funnel": ("episode funnel", "share of starters watching", "paywall (episodes 1-10 free)"),
    "sources": ("revenue by source", "cumulative net revenue [USD]", "coins:", "passes:",
                "UA spend + production"),
    "pnl": ("series P&L", "series P&L [USD]", "break-even"),
}


def test_drama_figures(runs):
    """Each drama figure through the CLI to PNG (size, colours), and to SVG in-process
    (title, axis labels and legend as text); a game run has no drama figures."""
    from simcore import plots
    from simcore.data.dataset import read_run
    from simcore.errors import ScenarioError

    folder, out = runs
    ds = read_run(out["drama_paywall_us"][1])
    for kind, texts in FIGURES.items():
        ok(simcore("plot", "drama_paywall_us.nc", "--kind", kind, "-o", f"{kind}.png",
                   cwd=folder))
        check_png(folder / f"{kind}.png")
        plots.save(plots.plot(ds, kind), folder / f"{kind}.svg")
        root = ET.parse(folder / f"{kind}.svg").getroot()
        text = " ".join(t.strip() for t in root.itertext() if t.strip())
        assert "Midnight Vows (paywall, US)" in text
        for t in texts:
            assert t in text, (kind, t, text[:500])
    game = ds.assign_attrs(kind="game")
    with pytest.raises(ScenarioError, match="a figure of a drama run; this run is a game"):
        plots.plot(game, "funnel")


def test_drama_report(runs):
    folder, out = runs
    ok(simcore("report", "drama_free_licensed_us.nc", "-o", "free.html", cwd=folder))
    page = (folder / "free.html").read_text(encoding="utf-8")
    for mark in ("<h2>Series</h2>", 'id="fig-funnel"', 'id="fig-sources"', 'id="fig-pnl"',
                 'id="fig-fan"', "Revenue by source", "ROI incl. production", "licence",
                 "Series P&amp;L through D30", "Midnight Vows (free + licence, US)"):
        assert mark in page, mark
    assert page.count("data:image/png;base64,") == 8
    assert "http://" not in page and "https://" not in page


def test_validate_and_scenarios_list_the_dramas():
    out = ok(simcore("validate", "drama_paywall_us")).stdout
    assert "[resolved.series]" in out and "paywall before episode 11" in out
    assert "kind = 'drama'" in out
    listed = ok(simcore("scenarios")).stdout
    assert "drama_paywall_us" in listed and "drama_free_licensed_us" in listed


def test_figure_names_are_one_fact():
    """Figure names are listed once: the shared ones in simcore.figures.SHARED, each kind's
    in simcore.kinds.FIGURES (no matplotlib needed); the figure modules and the CLI use them."""
    from simcore import figures, kinds, plots
    from simcore.cli import FIGURE_CHOICES
    from simcore.kinds.drama import plots as drama_plots

    assert tuple(drama_plots.KINDS) == kinds.FIGURES["drama"]
    assert tuple(plots.KINDS) == figures.SHARED
    assert FIGURE_CHOICES == (figures.SHARED + figures.FORECAST + figures.ALLOCATION
                              + kinds.FIGURES["game"] + kinds.FIGURES["drama"])
