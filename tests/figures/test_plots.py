"""Figures: each kind rendered to real PNG and SVG files and checked for content (pixel size,
not blank, title and axis labels, the numbers they show), on a small real run and on a
hand-made dataset whose answers are known."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import matplotlib
import numpy as np
import pytest
import xarray as xr
from matplotlib.figure import Figure
from matplotlib.image import imread

import simcore
from simcore import analysis, plots
from simcore.errors import ScenarioError

SMALL = ["simulation.draws=6", "campaign.days=2", "campaign.daily_budget_usd=300",
         "simulation.horizon_days=30"]
WIDTH, HEIGHT = 800, 450            # plots.FIGSIZE at plots.DPI


# --- datasets ---------------------------------------------------------------------------------

def without_params(ds: xr.Dataset) -> xr.Dataset:
    return ds.drop_vars([v for v in ds.data_vars if str(v).startswith("param_")])


def with_params(ds: xr.Dataset, day: int = 7, seed: int = 1) -> xr.Dataset:
    """``ds`` with two hand-made uncertain parameters: eCPM rising with ROAS at ``day``
    (strong driver) and D1 retention drawn at random (weak)."""
    rng = np.random.default_rng(seed)
    n = ds.sizes["draw"]
    roas = ds.roas.sel(age=day).values
    return without_params(ds).assign({
        "param_ads.ecpm_rewarded_usd": ("draw", 4.0 * roas + rng.normal(0, 1e-3, n),
                                        {"units": "USD", "long_name": "rewarded eCPM",
                                         "distribution": "lognormal(median=12, p90=20)"}),
        "param_retention.d1": ("draw", rng.uniform(0.25, 0.4, n),
                               {"units": "1", "long_name": "D1 retention",
                                "distribution": "uniform(0.25, 0.4)"}),
    })


def synthetic_run(n_draws: int = 40, horizon: int = 20, seed: int = 3) -> xr.Dataset:
    """A run dataset with known answers: LTV(age) = a (1 - exp(-(age + 1) / 6)) per activation,
    CPA 1 USD, ``a`` spread so that some draws never pay back."""
    rng = np.random.default_rng(seed)
    ages = np.arange(horizon + 1)
    a = np.linspace(0.6, 1.8, n_draws)[rng.permutation(n_draws)]
    ltv = a[:, None] * (1 - np.exp(-(ages + 1) / 6.0))
    activations = np.full((n_draws, 1), 1000)
    revenue = np.diff(ltv, axis=1, prepend=0.0)[:, None, :] * 1000.0   # [draw, cohort, age]
    roas = ltv / 1.0
    paid = roas >= 1.0
    payback = np.where(paid.any(axis=1), paid.argmax(axis=1), np.nan)
    dca = ("draw", "cohort", "age")
    return xr.Dataset(
        {"spend": (("draw", "cohort"), np.full((n_draws, 1), 1000.0), {"units": "USD"}),
         "activations": (("draw", "cohort"), activations, {"units": "users"}),
         "revenue_iaa": (dca, revenue, {"units": "USD"}),
         "revenue_iap": (dca, np.zeros_like(revenue), {"units": "USD"}),
         "roas": (("draw", "age"), roas, {"units": "1"}),
         "payback_day": ("draw", payback, {"units": "days"}),
         "cpa": ("draw", np.full(n_draws, 1.0), {"units": "USD"})},
        coords={"draw": np.arange(n_draws), "cohort": [0], "age": ages},
        attrs={"title": "Synthetic <Test> & Co", "scenario_hash": "0" * 64, "seed": 0,
               "simcore_version": simcore.__version__, "scenario_toml": "[title]\n"})


@pytest.fixture(scope="module")
def run_ds() -> xr.Dataset:
    """A small real run (6 draws, 2 cohorts, 30-day horizon), no uncertain parameters."""
    return without_params(simcore.run(simcore.load_scenario("reborn_emperor_us", SMALL)))


@pytest.fixture(scope="module")
def synth() -> xr.Dataset:
    return synthetic_run()


# --- checking rendered files --------------------------------------------------------------------

def check_png(path: Path, fig: Figure, size=(WIDTH, HEIGHT)) -> np.ndarray:
    """The PNG at ``path`` has ``size`` pixels, several colours, and ink inside the axes."""
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    img = imread(path)
    assert img.shape[1] == size[0] and img.shape[0] == size[1], img.shape
    rgb = np.round(img[..., :3] * 255).astype(np.uint8).reshape(-1, 3)
    assert len(np.unique(rgb, axis=0)) >= 8, "nearly a single colour"
    box = fig.axes[0].get_window_extent()          # display pixels, origin bottom left
    rows = slice(int(size[1] - box.y1) + 3, int(size[1] - box.y0) - 3)
    cols = slice(int(box.x0) + 3, int(box.x1) - 3)
    inside = img[rows, cols, :3]
    ink = np.mean(np.any(inside < 0.9, axis=-1))
    assert ink > 0.002, f"the plotted area is blank ({ink:.4f} of pixels inked)"
    return img


def svg_text(path: Path) -> str:
    """All text in the SVG file (it must parse as XML)."""
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    return " ".join(t.strip() for t in root.itertext() if t.strip())


def legend_texts(fig: Figure) -> list[str]:
    legend = fig.axes[0].get_legend()
    return [t.get_text() for t in legend.get_texts()] if legend else []


def all_texts(fig: Figure) -> str:
    ax = fig.axes[0]
    return " | ".join([ax.get_title(), ax.get_xlabel(), ax.get_ylabel(),
                       *(t.get_text() for t in ax.texts), *legend_texts(fig)])


# --- every kind, to PNG and SVG ---------------------------------------------------------------

LABELS = {"fan": ("age [days]", "ROAS on UA"),
          "payback": ("age [days]", "share of draws paid back"),
          "hist": ("ROAS on UA at D7", "draws"), "tornado": (None, None),
          "ltv": ("age [days]", "USD per paid activation")}


@pytest.mark.parametrize("kind", list(plots.KINDS))
def test_every_kind_renders_png_and_svg(kind, run_ds, tmp_path):
    fig = plots.plot(run_ds, kind)
    assert isinstance(fig, Figure)
    png, svg = tmp_path / f"{kind}.png", tmp_path / f"{kind}.svg"
    assert plots.save(fig, png) == png
    check_png(png, fig)
    plots.save(fig, svg)
    text = svg_text(svg)
    title = fig.axes[0].get_title()
    assert title.startswith("Reborn Emperor (US): ") and title in text
    for label in LABELS[kind]:
        if label:
            assert label in text, (label, text[:300])
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([png.name, svg.name])


def test_kinds_name_the_figures():
    assert plots.KINDS["hist"] is plots.histogram


# --- what each figure shows -------------------------------------------------------------------

def test_fan_bands_median_break_even_and_payback_marker(synth):
    fig = plots.fan(synth, target=1.0)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "age [days]" and ax.get_ylabel() == "ROAS on UA"
    assert len(ax.collections) == 2                     # p5-p95 and p25-p75 bands
    median = np.median(synth.roas.values, axis=0)
    lines = {ln.get_label(): ln for ln in ax.get_lines()}
    np.testing.assert_allclose(lines["median ROAS"].get_ydata(), median)
    assert list(lines["break-even (ROAS = 1)"].get_ydata()) == [1.0, 1.0]
    paid = synth.roas.values >= 1.0
    days = np.where(paid.any(axis=1), paid.argmax(axis=1), np.inf)
    expected = int(np.sort(days)[(days.size + 1) // 2 - 1])     # lower median, a real draw's day
    marker = lines[f"median payback D{expected}"]
    assert list(marker.get_xdata()) == [expected, expected]
    assert f"median payback D{expected}" in [t.get_text() for t in ax.texts]


def test_fan_without_median_payback_says_so(synth):
    fig = plots.fan(synth, target=50.0)
    text = all_texts(fig)
    assert "break-even (ROAS = 50)" in text
    assert "median draw does not pay back by D20" in text
    assert not any(ln.get_label().startswith("median payback") for ln in fig.axes[0].get_lines())


def test_payback_cdf_and_never_share(synth):
    fig = plots.payback(synth)
    ax = fig.axes[0]
    paid = synth.roas.values >= 1.0
    never = 1.0 - paid.any(axis=1).mean()
    assert 0.1 < never < 0.9                             # the synthetic run is built that way
    assert f"never paid back by D20: {never:.0%} of draws" in legend_texts(fig)
    step = ax.get_lines()[0]
    first = np.where(paid.any(axis=1), paid.argmax(axis=1), np.inf)
    expected = [(first <= age).mean() for age in synth.age.values]
    np.testing.assert_allclose(step.get_ydata(), expected)
    assert np.all(np.diff(step.get_ydata()) >= 0)
    assert ax.get_ylabel() == "share of draws paid back"


def test_histogram_shows_probability_of_target(synth):
    day, target = 10, 1.2
    fig = plots.histogram(synth, day=day, target=target)
    values = synth.roas.sel(age=day).values
    p = np.mean(values >= target)
    assert 0 < p < 1
    ax = fig.axes[0]
    assert f"P(ROAS >= 1.2) = {p:.0%}" in ax.get_title()
    assert ax.get_xlabel() == f"ROAS on UA at D{day}"
    assert sum(patch.get_height() for patch in ax.patches) == values.size
    target_line = [ln for ln in ax.get_lines() if ln.get_label().startswith("target")]
    assert list(target_line[0].get_xdata()) == [target, target]


def test_tornado_without_parameters(run_ds, tmp_path):
    fig = plots.tornado(run_ds, day=7)
    assert plots.NO_PARAMETERS == "no uncertain parameters in this scenario"
    assert plots.NO_PARAMETERS in [t.get_text() for t in fig.axes[0].texts]
    plots.save(fig, tmp_path / "t.svg")
    assert plots.NO_PARAMETERS in svg_text(tmp_path / "t.svg")
    check_png(plots.save(fig, tmp_path / "t.png"), fig)


def test_tornado_with_parameters(run_ds, tmp_path):
    ds = with_params(run_ds, day=7)
    fig = plots.tornado(ds, day=7)
    ax = fig.axes[0]
    drivers = analysis.drivers(ds, age=7)
    assert [t.get_text() for t in ax.get_yticklabels()] == list(drivers.parameter.values)
    assert ax.get_yticklabels()[0].get_text() == "ads.ecpm_rewarded_usd"   # strongest on top
    widths = [bar.get_width() for bar in ax.patches]
    np.testing.assert_allclose(widths, np.nan_to_num(drivers.spearman.values))
    assert widths[0] == pytest.approx(1.0)
    assert ax.get_xlabel() == "rank correlation with ROAS on UA at D7"
    assert {"Spearman correlation", "partial rank correlation"} <= set(legend_texts(fig))
    text = svg_text(plots.save(fig, tmp_path / "t.svg"))
    assert "ads.ecpm_rewarded_usd" in text and "retention.d1" in text
    check_png(plots.save(fig, tmp_path / "t.png"), fig)


def test_ltv_median_is_revenue_per_activation(synth):
    fig = plots.ltv(synth)
    ax = fig.axes[0]
    assert ax.get_ylabel() == "USD per paid activation" and ax.get_xlabel() == "age [days]"
    revenue = (synth.revenue_iaa + synth.revenue_iap).sum("cohort").cumsum("age").values
    ltv = revenue / synth.activations.sum("cohort").values[:, None]
    median = [ln for ln in ax.get_lines() if ln.get_label() == "median LTV"][0]
    np.testing.assert_allclose(median.get_ydata(), np.median(ltv, axis=0))
    assert "median CPA 1.000 USD" in legend_texts(fig)


def test_titles_carry_the_scenario_name(synth):
    for kind in plots.KINDS:
        assert plots.plot(synth, kind).axes[0].get_title().startswith("Synthetic <Test> & Co: ")


# --- axes, global state, saving ---------------------------------------------------------------

def test_draws_into_a_given_axes(synth):
    fig = Figure(figsize=(10, 8))
    axes = fig.subplots(2, 3).ravel()
    drawn = [plots.fan(synth, ax=axes[0]), plots.payback(synth, ax=axes[1]),
             plots.histogram(synth, ax=axes[2]), plots.tornado(synth, ax=axes[3]),
             plots.ltv(synth, ax=axes[4])]
    assert all(f is fig for f in drawn)
    assert len(fig.axes) == 6
    assert all(ax.get_title() for ax in axes[:5]) and not axes[5].get_title()


def test_sets_nothing_global(synth, tmp_path):
    before = dict(matplotlib.rcParams)
    backend = matplotlib.get_backend()
    fig = plots.payback(synth)
    plots.save(fig, tmp_path / "payback.svg")
    plots.save(fig, tmp_path / "payback.png")
    assert dict(matplotlib.rcParams) == before
    assert matplotlib.get_backend() == backend


def test_no_pyplot_and_headless(tmp_path):
    code = ("import sys, numpy as np, xarray as xr\n"
            "from simcore import plots\n"
            "ds = xr.Dataset({'roas': (('draw', 'age'), np.cumsum(np.ones((3, 4)), 1) / 3),\n"
            "    'revenue_iaa': (('draw', 'cohort', 'age'), np.ones((3, 1, 4))),\n"
            "    'revenue_iap': (('draw', 'cohort', 'age'), np.zeros((3, 1, 4))),\n"
            "    'activations': (('draw', 'cohort'), np.full((3, 1), 4))},\n"
            "    coords={'age': np.arange(4)}, attrs={'title': 'T'})\n"
            "plots.save(plots.fan(ds), sys.argv[1])\n"
            "assert 'matplotlib.pyplot' not in sys.modules\n")
    out = tmp_path / "fan.png"
    result = subprocess.run([sys.executable, "-c", code, str(out)], capture_output=True,
                            text=True, timeout=120, env={"PATH": "/usr/bin:/bin",
                                                         "MPLBACKEND": "", "DISPLAY": ""})
    assert result.returncode == 0, result.stderr[-2000:]
    assert imread(out).shape[:2] == (HEIGHT, WIDTH)


@pytest.mark.parametrize("name", ["fig.pdf", "fig.jpg", "fig", "fig.png.txt"])
def test_save_other_suffix_is_an_input_error(synth, tmp_path, name):
    with pytest.raises(ScenarioError) as info:
        plots.save(plots.ltv(synth), tmp_path / name)
    assert info.value.key == "-o" and "use .png or .svg" in str(info.value)
    assert list(tmp_path.iterdir()) == []


def test_save_replaces_and_leaves_no_temp_file(synth, tmp_path):
    path = tmp_path / "fig.PNG"
    path.write_text("old")
    plots.save(plots.fan(synth), path)
    assert imread(path, format="png").shape[:2] == (HEIGHT, WIDTH)
    assert [p.name for p in tmp_path.iterdir()] == ["fig.PNG"]


def test_svg_is_reproducible(synth):
    fig = plots.fan(synth)
    assert plots.to_bytes(fig, "svg") == plots.to_bytes(fig, "svg")
    assert plots.to_bytes(fig, "png")[:4] == b"\x89PNG"


@pytest.mark.parametrize("kind, kwargs, key", [
    ("hist", {"day": 21}, "day"), ("hist", {"day": -1}, "day"), ("tornado", {"day": 99}, "day"),
    ("fan", {"target": 0.0}, "target"), ("hist", {"target": float("nan")}, "target"),
    ("payback", {"target": -1}, "target"),
])
def test_bad_day_or_target(synth, kind, kwargs, key):
    with pytest.raises(ScenarioError) as info:
        plots.KINDS[kind](synth, **kwargs)
    assert info.value.key == key
