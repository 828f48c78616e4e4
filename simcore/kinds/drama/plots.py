"""Figures of a drama run: the episode funnel, revenue by source, the series P&L fan.

Same conventions as ``simcore.figures.plots`` (Agg figures, optional ``ax``, nothing re-simulated,
legends below the x-axis label where they cover no data).
"""

from __future__ import annotations

import math

from matplotlib.figure import Figure
from matplotlib.ticker import PercentFormatter, StrMethodFormatter

from simcore import kinds
from simcore.analysis import day_quantiles
from simcore.data.checks import horizon
from simcore.errors import ScenarioError
from simcore.figures.plots import MARK, figure_axes, legend_below, quantile_bands, run_title

_SOURCE_COLOURS = {"coins": "C1", "passes": "C4", "ad_unlocks": "C2", "ad_share": "C0",
                   "licence": "C7"}


def _check(ds) -> None:
    if kinds.name_of(ds) != "drama":
        raise ScenarioError("--kind", "a drama figure: this run is not a drama "
                            "(title.kind = 'game')")


def funnel(ds, ax=None) -> Figure:
    """Share of the viewers starting episode 1 who watch each episode: median over draws,
    p5-p95 band, and the paywall."""
    _check(ds)
    fig, ax = figure_axes(ax)
    starters = ds.episode_viewers.sel(episode=1)
    share = ds.episode_viewers / starters.where(starters > 0)
    episode = ds.episode.values
    q = share.quantile([0.05, 0.5, 0.95], dim="draw")
    ax.fill_between(episode, q.sel(quantile=0.05), q.sel(quantile=0.95), step="mid",
                    color="C0", alpha=0.25, linewidth=0, label="p5-p95 of draws")
    ax.step(episode, q.sel(quantile=0.5), where="mid", color="C0", linewidth=2,
            label="median share of starters")
    free = int(ds.attrs.get("free_episodes", episode[-1]))
    if free < episode[-1]:
        ax.axvline(free + 0.5, color=MARK, linestyle="--", linewidth=1.5,
                   label=f"paywall (episodes 1-{free} free)")
    ax.set_xlim(episode[0] - 0.5, episode[-1] + 0.5)
    ax.set_ylim(0, 1.02)
    ax.yaxis.set_major_formatter(PercentFormatter(xmax=1.0))
    ax.set_xlabel("episode")
    ax.set_ylabel("share of starters watching")
    ax.set_title(run_title(ds, f"episode funnel ({ds.sizes['draw']} draws)"))
    ax.grid(alpha=0.3)
    legend_below(ax)
    return fig


def sources(ds, ax=None) -> Figure:
    """Cumulative net revenue by source through each age, mean over draws, stacked; UA
    spend and UA spend + production budget as lines."""
    _check(ds)
    fig, ax = figure_axes(ax)
    age = ds.age.values
    mean = ds.revenue_by_source.mean("draw").cumsum("age")
    shown = [s for s in ds.source.values if float(mean.sel(source=s)[-1]) > 0]
    ax.stackplot(age, *[mean.sel(source=s).values for s in shown],
                 colors=[_SOURCE_COLOURS.get(str(s), "C5") for s in shown],
                 labels=[f"{s}: {float(mean.sel(source=s)[-1]):,.0f} USD" for s in shown],
                 alpha=0.85)
    spend = float(ds.spend.sum("cohort").mean())
    cost = spend + float(ds.production_budget.mean())
    ax.axhline(spend, color="k", linestyle="--", linewidth=1,
               label=f"UA spend {spend:,.0f} USD")
    ax.axhline(cost, color=MARK, linestyle=":", linewidth=1.5,
               label=f"UA spend + production {cost:,.0f} USD")
    ax.set_xlim(age[0], age[-1])
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    ax.set_xlabel("age [days]")
    ax.set_ylabel("cumulative net revenue [USD]")
    ax.set_title(run_title(ds, "revenue by source (mean over draws)"))
    ax.grid(alpha=0.3)
    legend_below(ax)
    return fig


def pnl(ds, ax=None) -> Figure:
    """Series P&L by age [USD]: every source (licence included) - UA spend - production
    budget; p5-p95 and p25-p75 bands over draws, the median and the median payback day."""
    _check(ds)
    fig, ax = figure_axes(ax)
    age = ds.age.values
    q = ds.series_pnl.quantile([0.05, 0.25, 0.5, 0.75, 0.95], dim="draw")
    quantile_bands(ax, age, q, "P&L")
    ax.axhline(0.0, color="k", linestyle="--", linewidth=1, label="break-even")
    median = float(day_quantiles(ds.series_payback_day.values, 0.5))
    if math.isfinite(median):
        ax.axvline(median, color=MARK, linestyle=":", linewidth=1.5,
                   label=f"median series payback D{median:.0f}")
    else:
        ax.annotate(f"median draw does not earn back production by D{horizon(ds)}",
                    xy=(0.98, 0.03), xycoords="axes fraction", ha="right", va="bottom",
                    color=MARK)
    ax.set_xlim(age[0], age[-1])
    ax.yaxis.set_major_formatter(StrMethodFormatter("{x:,.0f}"))
    ax.set_xlabel("age [days]")
    ax.set_ylabel("series P&L [USD]")
    ax.set_title(run_title(ds, "series P&L incl. production and licence"))
    ax.grid(alpha=0.3)
    legend_below(ax)
    return fig


# by the names the registry lists for a drama (simcore.kinds.FIGURES)
KINDS = dict(zip(kinds.FIGURES["drama"], (funnel, sources, pnl), strict=True))
