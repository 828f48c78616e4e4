"""The ``forecast`` figure of a calibrated forecast (``simcore calibrate -o``): each observed
cohort's cumulative ROAS to date over the forecast fan of the observed cohorts together,
today marked."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from simcore.errors import ScenarioError
from simcore.figures.plots import MARK, figure_axes, legend_below, roas_name, run_title

BANDS = ((0.05, 0.95, 0.18), (0.25, 0.75, 0.35))    # (low, high, alpha) quantile bands


def is_forecast(ds) -> bool:
    """True for a dataset written by ``simcore calibrate`` (it holds the report)."""
    return "calibration" in ds.attrs and all(
        name in ds for name in ("observed_activations", "observed_spend", "observed_revenue",
                                "observed_through", "fit_observed", "ppc_p"))


def forecast(ds, ax=None, basis: str = "paid") -> Figure:
    """Observed cohorts' cumulative ROAS [revenue / spend] by age [days]: one thin line per
    cohort through its last observed age, over the forecast's 5-95 % and 25-75 % bands and
    median for those cohorts together, and a vertical line at today (the oldest cohort's
    age). ``basis`` labels the axis; a forecast holds paid-ads cohorts only, so both agree."""
    if not is_forecast(ds):
        raise ScenarioError("--kind", "= 'forecast': a figure of a calibrated forecast "
                            "(simcore calibrate ... -o forecast.nc); this is a run")
    fig, ax = figure_axes(ax)
    seen = np.isfinite(ds["observed_activations"].values)
    cohorts = ds.cohort.values[seen]
    spend = ds["observed_spend"].values[seen]
    through = ds["observed_through"].values[seen].astype(int)
    revenue = (ds["revenue_iaa"] + ds["revenue_iap"]).sel(cohort=cohorts)   # [draw, cohort, age]
    together = revenue.sum("cohort").cumsum("age") / spend.sum()
    age = ds.age.values
    for lo, hi, alpha in BANDS:
        q = together.quantile([lo, hi], "draw").values
        ax.fill_between(age, q[0], q[1], color="C0", alpha=alpha, linewidth=0,
                        label=f"forecast {int(lo * 100)}-{int(hi * 100)} %")
    ax.plot(age, together.median("draw").values, color="C0", linewidth=1.5,
            label="forecast median")
    observed = ds["observed_revenue"]          # the report's total revenue at each age
    for i, c in enumerate(cohorts):
        t = through[i]
        roas = np.cumsum(observed.sel(cohort=c).values[:t + 1]) / spend[i]
        ax.plot(age[:t + 1], roas, color="k", linewidth=0.8, marker=".", markersize=3,
                alpha=0.8, label="observed cohorts" if i == 0 else None)
    today = int(through.max())
    ax.axvline(today, color=MARK, linestyle=":", linewidth=1.5, label=f"today (D{today})")
    ax.axhline(1.0, color="k", linestyle="--", linewidth=1, label="break-even")
    ax.set_xlim(age[0], age[-1])
    ax.set_ylim(bottom=0)
    ax.set_xlabel("age [days]")
    ax.set_ylabel(roas_name(basis))
    ax.set_title(run_title(ds, f"forecast of the {cohorts.size} observed cohorts "
                               f"({ds.sizes['draw']} posterior draws)"))
    ax.grid(alpha=0.3)
    legend_below(ax, ncols=3)
    return fig
