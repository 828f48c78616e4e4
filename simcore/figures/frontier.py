"""The efficient frontier of an allocation (``simcore optimize --plot``): expected net profit
against the CVaR of the loss for a range of risk aversions, the chosen allocation marked."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from simcore.figures.plots import MARK, figure_axes, legend_below, run_title


def frontier(ds, ax=None) -> Figure:
    """Expected net profit [USD] against CVaR of the loss [USD] of the frontier's allocations
    (``frontier_*`` of an allocation dataset), each labelled by its lambda, and the
    allocation chosen (its own profit and CVaR)."""
    fig, ax = figure_axes(ax)
    alpha = float(ds.attrs["cvar_alpha"])
    risk = ds["frontier_cvar_loss_usd"].values / 1e3
    profit = ds["frontier_profit_usd"].values / 1e3
    ax.plot(risk, profit, marker="o", color="C0", linewidth=1.5,
            label="frontier: max profit - lambda x CVaR")
    labels: dict[tuple[float, float], list[str]] = {}   # lambdas sharing a point: one label
    for lam, x, y in zip(ds["lambda"].values, risk, profit):
        labels.setdefault((float(x), float(y)), []).append(f"lambda {lam:g}")
    for (x, y), names in labels.items():
        ax.annotate(", ".join(names), xy=(x, y), xytext=(4, 4), textcoords="offset points",
                    fontsize="small")
    ax.plot([float(ds.attrs["cvar_loss_usd"]) / 1e3],
            [float(ds.attrs["expected_profit_usd"]) / 1e3], marker="*", markersize=14,
            color=MARK, linestyle="none", label="chosen allocation")
    ax.set_xlabel(f"CVaR{alpha:g} of the loss [thousand USD] (negative: a profit)")
    ax.set_ylabel("expected net profit [thousand USD]")
    span = np.ptp(np.concatenate([risk, profit]))
    ax.margins(x=0.15, y=0.15 if span > 0 else 0.5)
    ax.set_title(run_title(ds, "profit against risk, "
                               f"{float(ds.attrs['total_budget_usd_per_day']):,.0f} USD/day"))
    ax.grid(alpha=0.3)
    legend_below(ax)
    return fig
