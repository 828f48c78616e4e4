"""Figures of a run dataset: ROAS fan, payback CDF, ROAS histogram, drivers tornado, LTV.

Every function draws on a ``matplotlib.figure.Figure`` (Agg canvas, no pyplot, no global
state), takes an optional ``ax`` to draw into, and returns the figure. The numbers come from
``simcore.analysis``; nothing is re-simulated. ``save(fig, path)`` writes ``.png`` or ``.svg``.
Legends sit below the x-axis label, outside the plotted area (``legend_below``), so they never
cover data.

    from simcore.figures import plots
    fig = plots.fan(ds, target=1.0)
    plots.save(fig, "fan.png")
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import matplotlib
import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.ticker import MaxNLocator, PercentFormatter, StrMethodFormatter
from matplotlib.transforms import ScaledTranslation

from simcore import __version__, analysis
from simcore.data.checks import check_day, check_target, horizon
from simcore.data.outputs import GENERATOR, write_atomic
from simcore.errors import ScenarioError
from simcore.figures import SHARED

__all__ = ["DPI", "FIGSIZE", "FORMATS", "KINDS", "MARK", "NO_PARAMETERS", "fan", "figure_axes",
           "histogram", "legend_below", "ltv", "median_payback_day", "new_figure", "payback",
           "profit_by_budget", "quantile_bands", "roas_name", "run_title", "save", "to_bytes",
           "tornado"]

DPI = 100                       # pixels per inch of saved PNGs
FIGSIZE = (8.0, 4.5)            # inches: 800 x 450 px at DPI
FORMATS = (".png", ".svg")
# SVG text stays text (searchable, smaller); fixed hash salt: the same figure, the same file.
_SVG_RC = {"svg.fonttype": "none", "svg.hashsalt": "simcore"}
_BAND = "C0"
_MEDIAN = "C0"
MARK = "C3"
_LEGEND_GAP_PT = 4.0            # [points] between the x-axis label and the legend below it
_LINE_HEIGHT = 1.2              # a line of text is this many times its font size tall
_CHAR_WIDTH = 0.6               # a legend character is about this many times its font size wide
_HANDLE_PT = 40.0               # [points] a legend entry's handle, gaps and padding
_NEVER_SPACE = 0.12             # width of the "never" column of the payback CDF, share of horizon
_NEVER_MIN_IN = 0.8             # [inches] the narrowest "never" column (room for its tick label)


# --- figure plumbing ---------------------------------------------------------------------------

def new_figure(figsize=FIGSIZE) -> Figure:
    """A figure on an Agg canvas (works headless; touches no global backend)."""
    fig = Figure(figsize=figsize, dpi=DPI, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def figure_axes(ax, figsize=FIGSIZE):
    if ax is None:
        fig = new_figure(figsize)
        return fig, fig.add_subplot()
    try:
        fig = ax.get_figure(root=True)          # matplotlib >= 3.10 (subfigures)
    except TypeError:
        fig = ax.figure
    return fig, ax


def _font_pt(size) -> float:
    """A font size (points or a name such as 'medium') in points."""
    return FontProperties(size=size).get_size_in_points()


def _below_x_axis_pt(ax) -> float:
    """How far [points] the x-axis decorations reach below the axes: ticks, their labels and
    the axis label (from the font sizes and pads in use; a little more than they take)."""
    rc = matplotlib.rcParams
    tick = max(rc["xtick.major.size"], 0.0) + rc["xtick.major.pad"]
    tick_labels = _LINE_HEIGHT * _font_pt(rc["xtick.labelsize"]) * max(
        (t.get_text().count("\n") + 1 for t in ax.get_xticklabels()), default=1)
    label = ax.xaxis.label
    text = label.get_text()
    below = tick + tick_labels
    if text:
        below += ax.xaxis.labelpad + _LINE_HEIGHT * label.get_fontsize() * (text.count("\n") + 1)
    return below + _LEGEND_GAP_PT


def _width_in(ax) -> float:
    """Width of the axes [inches] as placed now (before any layout engine adjusts it)."""
    return ax.bbox.width / ax.figure.dpi


def legend_below(ax, ncols: int = 2):
    """The axes' legend centred below its x-axis label, outside the plotted area, so that it
    never covers data (a constrained-layout figure makes room for it); None without labels.

    Call it last, once the x label and ticks are set. ``ncols``: at most this many columns,
    fewer where the labels would not fit side by side under the axes."""
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return None
    size = _font_pt("small")
    widest = (max(len(t) for t in labels) * _CHAR_WIDTH * size + _HANDLE_PT) / 72.0   # inches
    ncols = max(1, min(ncols, len(handles), int(_width_in(ax) // widest)))
    down = ScaledTranslation(0.0, -_below_x_axis_pt(ax) / 72.0, ax.figure.dpi_scale_trans)
    return ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0),
                     bbox_transform=ax.transAxes + down, borderaxespad=0.0, ncols=ncols,
                     fontsize=size)


def run_title(ds, what: str) -> str:
    name = str(ds.attrs.get("title", "")).strip()
    return f"{name}: {what}" if name else what


def _q(da, q: float) -> np.ndarray:
    return da.sel(quantile=q, method="nearest").values


def quantile_bands(ax, age, q, label_unit: str) -> None:
    ax.fill_between(age, _q(q, 0.05), _q(q, 0.95), color=_BAND, alpha=0.18, linewidth=0,
                    label="p5-p95 of draws")
    ax.fill_between(age, _q(q, 0.25), _q(q, 0.75), color=_BAND, alpha=0.38, linewidth=0,
                    label="p25-p75 of draws")
    ax.plot(age, _q(q, 0.5), color=_MEDIAN, linewidth=2, label=f"median {label_unit}")


def median_payback_day(ds, target: float = 1.0, basis: str = "paid") -> float | None:
    """Median over draws of the payback day [days]; None when most draws never pay back."""
    median = float(analysis.day_quantiles(analysis.payback_days(ds, target, basis), 0.5))
    return median if math.isfinite(median) else None


# --- the five figures --------------------------------------------------------------------------

def roas_name(basis: str) -> str:
    """How a figure names the ROAS it draws (``simcore.analysis.BASES``)."""
    return "ROAS on UA" if analysis.check_basis(basis) == "paid" else "blended ROAS"


def fan(ds, ax=None, target: float = 1.0, basis: str = "paid") -> Figure:
    """ROAS on ``basis`` by age: p5-p95 and p25-p75 bands over draws, the median, the
    break-even line at ``target`` and a marker at the median payback day."""
    target = check_target(target, "target")
    fig, ax = figure_axes(ax)
    age = ds.age.values
    quantile_bands(ax, age, analysis.roas_quantiles(ds, basis=basis), "ROAS")
    ax.axhline(target, color="k", linestyle="--", linewidth=1,
               label=f"break-even (ROAS = {target:g})")
    day = median_payback_day(ds, target, basis)
    if day is not None:
        ax.axvline(day, color=MARK, linestyle=":", linewidth=1.5,
                   label=f"median payback D{day:.0f}")
        ax.annotate(f"median payback D{day:.0f}", xy=(day, 0.03),
                    xycoords=("data", "axes fraction"), xytext=(4, 0),
                    textcoords="offset points", ha="left", va="bottom", color=MARK)
    else:
        ax.annotate(f"median draw does not pay back by D{horizon(ds)}", xy=(0.98, 0.03),
                    xycoords="axes fraction", ha="right", va="bottom", color=MARK)
    ax.set_xlim(age[0], age[-1])
    ax.set_ylim(bottom=0)
    ax.set_xlabel("age [days]")
    ax.set_ylabel(roas_name(basis))
    ax.set_title(run_title(ds, f"{roas_name(basis)} by age ({ds.sizes['draw']} draws)"))
    ax.grid(alpha=0.3)
    legend_below(ax)
    return fig


def payback(ds, ax=None, target: float = 1.0, basis: str = "paid") -> Figure:
    """Share of draws paid back (ROAS >= ``target``) by each age, and the share that never
    pays back within the horizon: a bar from the curve's last value up to 100 %, in a
    "never" column right of the horizon (the gap the CDF leaves, where it ends)."""
    target = check_target(target, "target")
    fig, ax = figure_axes(ax)
    age = ds.age.values
    cdf = analysis.payback_cdf(ds, target, basis).values
    never = float(analysis.never_pays_back(ds, target, basis))
    ax.step(age, cdf, where="post", color=_MEDIAN, linewidth=2,
            label=f"paid back by age ({roas_name(basis)} >= {target:g})")
    last = float(age[-1])
    width = _width_in(ax)
    share = max(_NEVER_SPACE, _NEVER_MIN_IN / max(width - _NEVER_MIN_IN, _NEVER_MIN_IN))
    space = share * max(last - float(age[0]), 1.0)
    column = last + 0.6 * space                 # the bar's centre, right of the horizon
    ax.axvline(last, color="0.5", linewidth=0.8)
    ax.bar(column, never, bottom=1.0 - never, width=0.5 * space, color=MARK, alpha=0.6,
           label=f"never paid back by D{horizon(ds)}: {never:.0%} of draws")
    ax.annotate(f"{never:.0%}", xy=(column, 1.0), xytext=(0, 2), textcoords="offset points",
                ha="center", va="bottom", color=MARK, fontsize="small")
    bins = max(2, min(6, int(width)))          # about one numbered age per inch
    ticks = [t for t in MaxNLocator(nbins=bins, integer=True).tick_values(age[0], last)
             if age[0] <= t <= last]
    ax.set_xticks([*ticks, column], [f"{t:g}" for t in ticks] + ["never"])
    ax.set_xlim(age[0], last + space)
    ax.set_ylim(0, 1.1)
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0))
    ax.set_xlabel("age [days]")
    ax.set_ylabel("share of draws paid back")
    ax.set_title(run_title(ds, "payback day (CDF over draws)"))
    ax.grid(alpha=0.3)
    legend_below(ax)
    return fig


def histogram(ds, day: int = 7, ax=None, target: float = 1.0, basis: str = "paid") -> Figure:
    """ROAS on ``basis`` at age ``day`` across draws, with the target line and
    P(ROAS >= target)."""
    day = check_day(ds, day, "day")
    target = check_target(target, "target")
    fig, ax = figure_axes(ax)
    values = analysis.roas_of(ds, basis).sel(age=day).values.astype(float)
    values = values[np.isfinite(values)]
    prob = float(analysis.prob_roas_at_least(ds, target, basis).sel(age=day))
    edges = np.histogram_bin_edges(values, bins="auto") if values.size else 10
    if not np.isscalar(edges) and len(edges) > 61:
        edges = 60
    ax.hist(values, bins=edges, color=_BAND, alpha=0.8, edgecolor="white",
            label=f"{roas_name(basis)} at D{day} ({values.size} draws)")
    ax.axvline(target, color="k", linestyle="--", linewidth=1,
               label=f"target {target:g}: P(ROAS >= {target:g}) = {prob:.0%}")
    if values.size:
        median = float(np.median(values))
        ax.axvline(median, color=MARK, linestyle=":", linewidth=1.5,
                   label=f"median {median:.3f}")
    ax.set_xlabel(f"{roas_name(basis)} at D{day}")
    ax.set_ylabel("draws")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_title(run_title(ds, f"ROAS at D{day}, P(ROAS >= {target:g}) = {prob:.0%}"))
    ax.grid(alpha=0.3, axis="y")
    legend_below(ax)
    return fig


NO_PARAMETERS = "no uncertain parameters in this scenario"


def tornado(ds, day: int = 7, ax=None, basis: str = "paid") -> Figure:
    """Rank correlation of each uncertain parameter with ROAS on ``basis`` at age ``day``:
    Spearman (bars) and partial rank correlation (markers), strongest driver on top."""
    day = check_day(ds, day, "day")
    drivers = analysis.drivers(ds, age=day, basis=basis)
    keys = [str(k) for k in drivers["parameter"].values]
    height = max(FIGSIZE[1], 1.6 + 0.4 * len(keys))
    fig, ax = figure_axes(ax, (FIGSIZE[0], height))
    title = run_title(ds, f"drivers of {roas_name(basis)} at D{day}")
    if not keys:
        ax.text(0.5, 0.5, NO_PARAMETERS, transform=ax.transAxes, ha="center", va="center",
                fontsize="large", color="0.3")
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_title(title)
        return fig
    y = np.arange(len(keys))
    spearman = np.nan_to_num(drivers["spearman"].values.astype(float))
    partial = drivers["partial_rank"].values.astype(float)
    colours = np.where(spearman >= 0, "C0", "C3")
    ax.barh(y, spearman, height=0.6, color=colours, alpha=0.8, label="Spearman correlation")
    ok = np.isfinite(partial)
    ax.scatter(partial[ok], y[ok], marker="D", color="k", zorder=3, s=28,
               label="partial rank correlation")
    ax.axvline(0, color="k", linewidth=0.8)
    ax.set_yticks(y, keys)
    ax.set_ylim(len(keys) - 0.5, -0.5)          # strongest on top
    ax.set_xlim(-1.05, 1.05)
    ax.set_xlabel(f"rank correlation with {roas_name(basis)} at D{day}")
    ax.set_title(title)
    ax.grid(alpha=0.3, axis="x")
    legend_below(ax)
    return fig


def ltv(ds, ax=None, basis: str = "paid") -> Figure:
    """LTV per activation [USD] by age: quantile bands over draws, the median, and the median
    realised CPA. On UA (``basis="paid"``) the LTV is per paid activation, the CPA's own
    denominator, so LTV above the line = paid back; blended divides everyone's revenue by
    every activation."""
    fig, ax = figure_axes(ax)
    age = ds.age.values
    quantile_bands(ax, age, analysis.ltv_quantiles(ds, basis=basis), "LTV")
    cpa = ds.cpa.values.astype(float)
    cpa = cpa[np.isfinite(cpa)]
    if cpa.size:
        median_cpa = float(np.median(cpa))
        ax.axhline(median_cpa, color="k", linestyle="--", linewidth=1,
                   label=f"median CPA {median_cpa:.3f} USD")
    ax.set_xlim(age[0], age[-1])
    ax.set_ylim(bottom=0)
    ax.set_xlabel("age [days]")
    per = "paid activation" if basis == "paid" else "activation (blended)"
    ax.set_ylabel(f"USD per {per}")
    ax.set_title(run_title(ds, f"LTV per {per} [USD]"))
    ax.grid(alpha=0.3)
    legend_below(ax)
    return fig


# the figures every run has, by the names listed in simcore.figures.SHARED
KINDS = dict(zip(SHARED, (fan, payback, histogram, tornado, ltv), strict=True))


# --- output ------------------------------------------------------------------------------------

def to_bytes(fig: Figure, fmt: str = "png") -> bytes:
    """The figure encoded as PNG (at ``DPI``) or SVG (text kept as text)."""
    fmt = fmt.lower().lstrip(".")
    if fmt not in ("png", "svg"):
        raise ValueError(f"format {fmt!r}: use png or svg")
    buf = io.BytesIO()
    if fmt == "svg":
        with matplotlib.rc_context(_SVG_RC):
            fig.savefig(buf, format="svg", dpi=DPI,
                        metadata={"Date": None, "Creator": f"{GENERATOR} {__version__}"})
    else:
        fig.savefig(buf, format="png", dpi=DPI,
                    metadata={"Software": f"{GENERATOR} {__version__}"})
    return buf.getvalue()


def save(fig: Figure, path) -> Path:
    """Write ``fig`` to ``path`` (.png at ``DPI`` or .svg, by suffix), atomically."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ScenarioError("-o", f"= {str(path)!r}: use .png or .svg")
    return write_atomic(path, to_bytes(fig, suffix))


# --- budget scan (a dataset from simcore.studies.budget_scan) ----------------------------------

def profit_by_budget(scale_ds, ax=None) -> Figure:
    """Net profit over the horizon [USD] against the daily budget [USD/day]: p5-p95 and
    p25-p75 bands over draws, the mean, and markers at the budget that maximises expected
    profit and at the largest budget meeting the risk rule (the attrs of
    ``simcore.studies.budget_scan.scale``)."""
    fig, ax = figure_axes(ax)
    budget = scale_ds.budget.values.astype(float)
    q = scale_ds.net_profit.quantile([0.05, 0.25, 0.75, 0.95], dim="draw")
    ax.fill_between(budget, _q(q, 0.05), _q(q, 0.95), color=_BAND, alpha=0.18, linewidth=0,
                    label="p5-p95 of draws")
    ax.fill_between(budget, _q(q, 0.25), _q(q, 0.75), color=_BAND, alpha=0.38, linewidth=0,
                    label="p25-p75 of draws")
    ax.plot(budget, scale_ds.expected_profit.values, color=_MEDIAN, linewidth=2, marker="o",
            markersize=4, label="mean profit")
    ax.axhline(0.0, color="k", linewidth=0.8)
    attrs = scale_ds.attrs
    best = float(attrs.get("best_budget_usd", math.nan))
    if math.isfinite(best):
        ax.axvline(best, color=MARK, linestyle="--", linewidth=1.5,
                   label=f"highest mean profit: {best:,.0f} USD/day")
    age, target = int(attrs.get("age", 30)), float(attrs.get("target", 1.0))
    probability = float(attrs.get("probability", 0.8))
    rule = f"P(ROAS D{age} >= {target:g}) >= {probability:.0%}"
    safe = float(attrs.get("largest_safe_budget_usd", math.nan))
    if math.isfinite(safe):
        ax.axvline(safe, color="C2", linestyle=":", linewidth=2,
                   label=f"largest with {rule}: {safe:,.0f} USD/day")
    else:
        ax.annotate(f"no budget keeps {rule}", xy=(0.98, 0.03), xycoords="axes fraction",
                    ha="right", va="bottom", color="C2")
    pad = 0.03 * (budget[-1] - budget[0])       # markers at the ends stay visible
    ax.set_xlim(budget[0] - pad, budget[-1] + pad)
    ax.xaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    ax.set_xlabel("daily budget [USD/day]")
    ax.set_ylabel("net profit over the horizon [USD]")
    ax.set_title(run_title(scale_ds, f"profit by daily budget ({scale_ds.sizes['draw']} draws "
                                  "per budget)"))
    ax.grid(alpha=0.3)
    legend_below(ax)
    return fig
