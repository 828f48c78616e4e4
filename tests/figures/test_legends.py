"""Legends never cover data: every figure kind (game, drama, profit by budget, and the side-by-side
panels the notebooks draw) is rendered, and its legend box is checked against the display
geometry of everything plotted: line segments, band and bar polygons, scatter points, texts, and
the axis labels and tick labels. Also: the payback CDF's "never paid back" bar sits right of the
horizon, clear of the curve. And the two messages of the same issue (12, item 6): ``validate``
prints scenario values without float noise, and a missing relative scenario path names the
absolute path looked for."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import PathCollection
from matplotlib.figure import Figure
from matplotlib.path import Path as MplPath
from matplotlib.transforms import Bbox, BboxBase

import simcore
import simcore.studies.budget_scan
from simcore import plots
from simcore.errors import ScenarioError
from simcore.kinds.drama import plots as drama_plots
from simcore.scenario.describe import value_text
from simcore.scenario.loading import packaged_scenarios
from tests.cli_helpers import ok
from tests.cli_helpers import simcore as simcore_cli
from tests.figures.test_plots import synthetic_run

# small runs: few draws, users and days (organic and creator traffic cut down as well)
SMALL = ["simulation.draws=8", "campaign.days=2", "simulation.horizon_days=30",
         "campaign.daily_budget_usd=300", "organic.days=2"]
EXTRA = {"reborn_emperor_global": ["creator.videos_per_day=6"]}
GAME = ("reborn_emperor_us", "reborn_emperor_global")
DRAMA = ("drama_paywall_us", "drama_free_licensed_us")
TOUCH_PX = 0.5          # boxes closer than this [display pixels] count as touching


# --- runs -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def runs() -> dict:
    """Small real runs of two games (one multi-market) and two dramas, and a budget scale."""
    out = {name: simcore.run(simcore.load_scenario(name, SMALL + EXTRA.get(name, [])))
           for name in GAME + DRAMA}
    out["scale"] = simcore.studies.budget_scan.scale(
        simcore.load_scenario("reborn_emperor_us", SMALL), [1000, 2000, 4000])
    return out


# --- geometry -----------------------------------------------------------------------------------

def rendered(fig: Figure):
    """Draw ``fig`` (constrained layout runs on draw) and return its renderer."""
    if fig.canvas is None or not hasattr(fig.canvas, "get_renderer"):
        FigureCanvasAgg(fig)
    fig.canvas.draw()
    return fig.canvas.get_renderer()


def _finite(vertices: np.ndarray) -> np.ndarray:
    return vertices[np.all(np.isfinite(vertices), axis=1)]


def data_shapes(ax, renderer) -> list[tuple[str, MplPath | Bbox, bool]]:
    """(what, shape in display pixels, filled) for every data artist of ``ax``: lines as
    their drawn segments (steps included), bands and bars as polygons, scatter points as
    single points, texts as their boxes."""
    shapes = []
    for line in ax.get_lines():
        if not line.get_visible():
            continue
        xy = _finite(line.get_transform().transform_path(line.get_path()).vertices)
        if len(xy) == 1:
            xy = np.vstack([xy, xy])
        if len(xy):
            shapes.append((f"line {line.get_label()!r}", MplPath(xy), False))
    for coll in ax.collections:
        if isinstance(coll, PathCollection):                      # a scatter: its points
            offsets = np.asarray(coll.get_offsets(), dtype=float).reshape(-1, 2)
            for point in _finite(coll.get_offset_transform().transform(offsets)):
                shapes.append((f"point of {coll.get_label()!r}", MplPath([point, point]),
                               False))
            continue
        for path in coll.get_paths():
            xy = _finite(coll.get_transform().transform_path(path).vertices)
            if len(xy):
                shapes.append((f"polygon of {coll.get_label()!r}", MplPath(xy), True))
    for patch in ax.patches:
        xy = _finite(patch.get_transform().transform_path(patch.get_path()).vertices)
        if len(xy) and np.ptp(xy, axis=0).min() > 0:                # a bar of zero height
            shapes.append((f"patch {patch.get_label()!r}", MplPath(xy), True))
    for text in ax.texts:
        if text.get_visible() and text.get_text():
            shapes.append((f"text {text.get_text()!r}", text.get_window_extent(renderer), True))
    return shapes


def decorations(ax, renderer) -> list[tuple[str, Bbox]]:
    """Boxes of the axes' title, axis labels and visible tick labels [display pixels]."""
    texts = [ax.title, ax.xaxis.label, ax.yaxis.label, *ax.get_xticklabels(),
             *ax.get_yticklabels()]
    return [(f"{t.get_text()!r}", t.get_window_extent(renderer)) for t in texts
            if t.get_visible() and t.get_text()]


def overlaps(box: BboxBase, shape: MplPath | BboxBase, filled: bool) -> bool:
    """Whether ``shape`` (display pixels) reaches inside ``box``: a box or a polygon that
    overlaps it, a line segment that crosses it, or any vertex inside it."""
    inner = box.padded(-TOUCH_PX)
    if isinstance(shape, BboxBase):
        return bool(inner.overlaps(shape))
    xy = shape.vertices
    inside = ((xy[:, 0] > inner.x0) & (xy[:, 0] < inner.x1) & (xy[:, 1] > inner.y0)
              & (xy[:, 1] < inner.y1))
    return bool(inside.any() or shape.intersects_bbox(inner, filled=filled))


def legend_problems(fig: Figure) -> list[str]:
    """What every legend of ``fig`` covers: data of any axes, the axes' plotting area, their
    labels and tick labels, another legend; or where it leaves the figure."""
    renderer = rendered(fig)
    axes = [ax for ax in fig.axes if ax.get_visible()]
    legends = [(ax, ax.get_legend()) for ax in axes if ax.get_legend() is not None]
    problems = []
    page = fig.bbox.padded(TOUCH_PX)
    for i, (owner, legend) in enumerate(legends):
        box = legend.get_window_extent(renderer)
        name = f"legend of axes {axes.index(owner)}"
        if not (page.contains(box.x0, box.y0) and page.contains(box.x1, box.y1)):
            problems.append(f"{name} {box.bounds} leaves the figure {fig.bbox.bounds}")
        for j, ax in enumerate(axes):
            if overlaps(box, ax.get_window_extent(renderer), True):
                problems.append(f"{name} covers the plotting area of axes {j}")
            for what, shape, filled in data_shapes(ax, renderer):
                if overlaps(box, shape, filled):
                    problems.append(f"{name} covers {what} of axes {j}")
            for what, label in decorations(ax, renderer):
                if overlaps(box, label, True):
                    problems.append(f"{name} covers the label {what} of axes {j}")
        for _, other in legends[i + 1:]:
            if overlaps(box, other.get_window_extent(renderer), True):
                problems.append(f"{name} covers another legend")
    return problems


def check_legend_clear(fig: Figure, n_legends: int = 1) -> None:
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend() is not None]
    assert len(legends) == n_legends
    renderer = rendered(fig)
    assert all(data_shapes(ax, renderer) for ax in fig.axes), "nothing plotted to check"
    problems = legend_problems(fig)
    assert not problems, "\n".join(problems)


# --- the checker finds a real overlap ------------------------------------------------------------

def test_checker_flags_a_legend_over_data():
    fig = plots.new_figure()
    ax = fig.add_subplot()
    x = np.linspace(0, 1, 50)
    ax.fill_between(x, x - 0.2, x + 0.2, alpha=0.3, label="band")
    ax.plot(x, x, label="line")
    ax.legend(loc="center")
    problems = legend_problems(fig)
    assert any("line 'line'" in p for p in problems), problems
    assert any("polygon of 'band'" in p for p in problems), problems
    ax.get_legend().remove()
    plots.legend_below(ax)
    assert legend_problems(fig) == []


def test_checker_flags_a_legend_over_bars_and_points():
    fig = plots.new_figure()
    ax = fig.add_subplot()
    ax.bar([0, 1, 2], [3, 3, 3], width=0.98, label="bars")
    ax.scatter([1.0, 2.0], [1.5, 0.5], label="points")
    ax.legend(loc="center")
    problems = legend_problems(fig)
    assert any(p.endswith("covers patch '_nolegend_' of axes 0") for p in problems), problems
    assert any("point of 'points'" in p for p in problems), problems


# --- every figure kind --------------------------------------------------------------------------

CASES = ([(name, kind) for name in GAME for kind in plots.KINDS]
         + [(name, kind) for name in DRAMA for kind in drama_plots.KINDS]
         + [("scale", "profit_by_budget")])


@pytest.mark.parametrize("name, kind", CASES, ids=[f"{n}-{k}" for n, k in CASES])
def test_legend_covers_no_data(runs, name, kind):
    ds = runs[name]
    if kind == "profit_by_budget":
        fig = plots.profit_by_budget(ds)
    else:
        fig = plots.plot(ds, kind)
    check_legend_clear(fig)


@pytest.mark.parametrize("kind", list(plots.KINDS))
def test_legend_covers_no_data_synthetic(kind):
    """A hand-made run with draws that never pay back (the 'never' bar is drawn); it has no
    uncertain parameters, so its tornado has a message and no legend."""
    check_legend_clear(plots.plot(synthetic_run(), kind), n_legends=int(kind != "tornado"))


# --- the notebooks' panels -----------------------------------------------------------------------

def panels(n: int, width: float, height: float = 4.5):
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig, fig.subplots(1, n, sharey=True)


@pytest.mark.parametrize("kind", list(drama_plots.KINDS))
def test_drama_panels(runs, kind):
    """drama_strategy.ipynb: funnels side by side, sources and P&L in three panels."""
    fig, axes = panels(len(DRAMA) + 1, 18.0)
    for ax, ds in zip(axes, [runs[n] for n in DRAMA] + [runs[DRAMA[0]]]):
        drama_plots.KINDS[kind](ds, ax=ax)
    check_legend_clear(fig, n_legends=3)


def test_fan_panels(runs):
    """what_if.ipynb: base and pessimistic fans side by side."""
    fig, axes = panels(2, 15.0, 4.8)
    for ax, name in zip(axes, GAME):
        plots.fan(runs[name], ax=ax)
    check_legend_clear(fig, n_legends=2)


# --- the payback CDF's "never paid back" bar -----------------------------------------------------

def test_never_paid_back_bar_right_of_the_horizon():
    ds = synthetic_run()
    fig = plots.payback(ds)
    ax = fig.axes[0]
    renderer = rendered(fig)
    never = float(simcore.analysis.never_pays_back(ds))
    assert 0.1 < never < 0.9
    step = ax.get_lines()[0]
    assert step.get_ydata()[-1] == pytest.approx(1.0 - never)
    (bars,) = ax.containers
    assert bars.get_label() == f"never paid back by D20: {never:.0%} of draws"
    (bar,) = bars.patches
    # the bar fills the gap the CDF leaves: from its last value up to 100 %
    assert bar.get_y() == pytest.approx(1.0 - never) and bar.get_height() == pytest.approx(never)
    horizon = float(ds.age.values[-1])
    assert bar.get_x() > horizon and bar.get_x() + bar.get_width() < ax.get_xlim()[1]
    curve = step.get_transform().transform_path(step.get_path())
    share = [t for t in ax.texts if t.get_text() == f"{never:.0%}"]
    assert share, [t.get_text() for t in ax.texts]
    for shape in (bar.get_window_extent(renderer), share[0].get_window_extent(renderer)):
        assert shape.x0 > curve.vertices[:, 0].max()         # clear of the curve
        assert not curve.intersects_bbox(shape, filled=False)
    labels = {t.get_text(): t.get_position()[0] for t in ax.get_xticklabels()}
    assert labels["never"] == pytest.approx(bar.get_x() + bar.get_width() / 2)
    assert max(float(x) for x in labels if x != "never") <= horizon
    check_legend_clear(fig)


@pytest.mark.parametrize("width", [8.0, 3.0])
def test_never_tick_label_clear_of_the_age_labels(width):
    """The "never" column is wide enough for its tick label, on a full figure and a narrow
    panel alike."""
    fig = Figure(figsize=(width, 4.5), layout="constrained")
    FigureCanvasAgg(fig)
    plots.payback(synthetic_run(), ax=fig.add_subplot())
    renderer = rendered(fig)
    boxes = {t.get_text(): t.get_window_extent(renderer)
             for t in fig.axes[0].get_xticklabels() if t.get_text()}
    never = boxes.pop("never")
    assert boxes and not any(box.overlaps(never) for box in boxes.values()), boxes
    assert fig.bbox.contains(never.x1, never.y0)
    check_legend_clear(fig)


def test_never_bar_empty_when_every_draw_pays_back():
    ds = synthetic_run()
    fig = plots.payback(ds, target=0.05)
    (bar,) = fig.axes[0].containers[0].patches
    assert bar.get_height() == 0.0 and bar.get_y() == 1.0
    assert "0%" in [t.get_text() for t in fig.axes[0].texts]


# --- validate prints values without float noise --------------------------------------------------

NOISE = re.compile(r"\d\.\d*(?:0{6,}|9{6,})\d")     # 0.22499999999999998, 0.30000000000000004


@pytest.mark.parametrize("value, text", [
    (0.22499999999999998, "0.225"), (0.1 + 0.2, "0.3"), (10000.0, "10000.0"), (1e-12, "1e-12"),
    (0.1025834261322606, "0.1025834261"), (190455.4884989668, "190455.4885"), (7, "7"),
    (True, "True"), ("bdw", "'bdw'"), ([4.99, 0.1 + 0.2], "[4.99, 0.3]"), ((3,), "(3,)"),
    (float("nan"), "nan"),
])
def test_value_text(value, text):
    assert value_text(value) == text


def test_validate_prints_no_float_noise():
    game = ok(simcore_cli("validate", "reborn_emperor_us", "--set", "retention.d1=0.225")).stdout
    assert "\n  d1 = 0.225    # probability\n" in game
    # the median of uniform(0.15, 0.3) is 0.22499999999999998 in floating point
    drama = ok(simcore_cli("validate", "drama_paywall_us")).stdout
    assert "\n  platform_fee = 0.225    # share\n" in drama
    for out in (game, drama):
        assert not NOISE.findall(out), NOISE.findall(out)


# --- relative scenario paths ---------------------------------------------------------------------

def test_relative_path_resolves_against_the_working_directory(tmp_path, monkeypatch):
    (tmp_path / "sub").mkdir()
    shutil.copy(packaged_scenarios()["reborn_emperor_us"], tmp_path / "sub" / "mine.toml")
    monkeypatch.chdir(tmp_path)
    loaded = simcore.load_scenario("sub/mine.toml", ["simulation.draws=2"])
    assert loaded.origin == "sub/mine.toml" and loaded.scenario.simulation.draws == 2
    with pytest.raises(ScenarioError) as info:
        simcore.load_scenario("sub/missing.toml")
    looked_for = Path.cwd() / "sub" / "missing.toml"
    assert str(info.value) == (f"sub/missing.toml: no such scenario file (looked for "
                               f"{looked_for}; packaged scenarios: simcore scenarios)")


def test_cli_names_the_absolute_path_of_a_missing_scenario(tmp_path):
    result = simcore_cli("validate", "nowhere/x.toml", cwd=tmp_path)
    assert result.returncode == 2 and result.stdout == ""
    line = result.stderr.strip()
    assert "\n" not in line and "Traceback" not in line
    assert f"looked for {tmp_path.resolve() / 'nowhere' / 'x.toml'};" in line
    assert "packaged scenarios: simcore scenarios" in line
