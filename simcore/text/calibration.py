"""What ``simcore calibrate`` prints: fit, assumptions moved, forecast, warnings."""

from __future__ import annotations

import json

import numpy as np

from simcore import analysis
from simcore.figures.forecast import is_forecast
from simcore.studies.calibration.checks import SERIES_NAMES

__all__ = ["format_calibration", "is_forecast"]

FORECAST_AGES = (7, 30, 90, 180)
INTERVALS = (0.5, 0.8, 0.95)
PAYBACK_AGES = (90, 180)


def format_calibration(ds, basis: str = "paid") -> str:
    """The calibration's text: a report of the fit, the assumptions, the forecast."""
    info = json.loads(ds.attrs["calibration"])
    lines = [_header(ds, info), ""]
    lines += _fit_table(ds) + [""] + _assumptions(ds) + [""] + _forecast(ds, basis)
    if info["warnings"]:
        lines += ["", "Warnings:"] + [f"  ! {w}" for w in info["warnings"]]
    return "\n".join(lines)


def _header(ds, info: dict) -> str:
    users = float(np.nansum(ds["observed_activations"].values))
    spend = float(np.nansum(ds["observed_spend"].values))
    cohorts = int(np.isfinite(ds["observed_activations"].values).sum())
    acc = info["acceptance"]
    return (f"Calibration of {ds.attrs['title']} on {info['report']}\n"
            f"  report: {cohorts} cohorts through calendar day {info['last_day']}, "
            f"{users:,.0f} activations, ${spend:,.0f} spent\n"
            f"  sampler: tempered SMC, {info['particles']} particles, {info['steps']} steps, "
            f"acceptance {min(acc):.2f}-{max(acc):.2f}, {info['unique'] * 100:.0f} % distinct "
            "particles at the end")


def _fit_table(ds) -> list[str]:
    names = [str(s) for s in ds.series.values]
    head = "  age  " + "".join(f"{SERIES_NAMES[n]:>34s}" for n in names)
    lines = ["Fit at the observed ages: the report pooled over cohorts, and the posterior "
             "predictive median [90 %]", head]
    obs, pred = ds["fit_observed"].values, ds["fit_predicted"].values
    for age in ds.report_age.values:
        cells = []
        for s, name in enumerate(names):
            v, (lo, mid, hi) = obs[s, age], pred[:, s, age]
            if not np.isfinite(v) or (name == "active_users" and age == 0):
                cells.append(f"{'':>34s}")
                continue
            cells.append(f"{_num(v):>9s}  {_num(mid):>7s} [{_num(lo)}, {_num(hi)}]".rjust(34))
        lines.append(f"  D{int(age):<3d} " + "".join(cells))
    p = ds["ppc_p"].values
    lines.append("  posterior predictive p (misfit, trend with age): " + "; ".join(
        f"{SERIES_NAMES[n]} {_p(p[s, 0])}, {_p(p[s, 1])}" for s, n in enumerate(names)))
    return lines


def _p(value: float) -> str:
    """A p-value, or n/a where the report has too few varying cells to test."""
    return f"{value:.2f}" if np.isfinite(value) else "n/a"


def _assumptions(ds) -> list[str]:
    keys = [str(v)[len("prior_"):] for v in ds.data_vars if str(v).startswith("prior_")]
    width = max(len(k) for k in keys)
    lines = ["Assumptions, prior -> posterior: median [90 %]; moved = median shift in prior "
             "sds, width = posterior / prior 90 % width",]
    for key in keys:
        prior, post = ds[f"prior_{key}"].values, ds[f"posterior_{key}"].values
        p5, p50, p95 = np.quantile(prior, [0.05, 0.5, 0.95])
        q5, q50, q95 = np.quantile(post, [0.05, 0.5, 0.95])
        sd = prior.std()
        moved = (q50 - p50) / sd if sd > 0 else 0.0
        ratio = (q95 - q5) / (p95 - p5) if p95 > p5 else 1.0
        lines.append(f"  {key:<{width}s}  {_num(p50)} [{_num(p5)}, {_num(p95)}] -> "
                     f"{_num(q50)} [{_num(q5)}, {_num(q95)}]  moved {moved:+.1f} sd, "
                     f"width {ratio:.2f}")
    return lines


def _forecast(ds, basis: str) -> list[str]:
    roas = analysis.roas_of(ds, basis)
    label = "paid" if basis == "paid" else "blended"
    lines = [f"Forecast ({ds.sizes['draw']} posterior draws), {label} ROAS: median and central "
             "intervals", "  age   median" + "".join(f"   {int(c * 100)} % interval    "
                                                    for c in INTERVALS)]
    for age in FORECAST_AGES:
        if age > int(ds.age.max()):
            continue
        v = roas.sel(age=age).values
        cells = "".join(f"  [{np.quantile(v, (1 - c) / 2):6.3f}, "
                        f"{np.quantile(v, (1 + c) / 2):6.3f}]  " for c in INTERVALS)
        lines.append(f"  D{age:<4d} {np.median(v):6.3f}{cells}")
    payback = analysis.payback_days(ds, 1.0, basis).values
    last = int(ds.age.max())
    probs = ", ".join(f"by D{a} {np.mean(payback <= a) * 100:.0f} %"
                      for a in sorted({a for a in PAYBACK_AGES if a <= last} | {last}))
    lines.append(f"  P(payback) {probs}")
    age, target = int(ds.attrs["goal_age"]), float(ds.attrs["goal_roas"])
    cpa = analysis.break_even_cpa(ds, age, target, 0.5, basis)
    cpa80 = analysis.break_even_cpa(ds, age, target, 0.8, basis)
    so_far = (np.nansum(ds["observed_spend"].values)
              / max(np.nansum(ds["observed_activations"].values), 1.0))
    lines.append(f"  break-even CPA for ROAS D{age} >= {target:g}: ${cpa:.3f} (half the draws), "
                 f"${cpa80:.3f} (80 % of draws); realised CPA so far ${so_far:.3f}")
    return lines


def _num(x: float) -> str:
    x = float(x)
    if x == 0 or 0.001 <= abs(x) < 10000:
        return f"{x:.4g}"
    return f"{x:.3g}"
