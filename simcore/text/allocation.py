"""The allocation as a person reads it: the table by cell, then the answer's figures, the
binding constraints and the out-of-sample check (``simcore optimize``)."""

from __future__ import annotations

import math

import xarray as xr


def _usd(x: float) -> str:
    return f"{x:,.0f}" if math.isfinite(x) else "-"


def _constraints(a: dict, rule: str) -> str:
    """"; subject to ..." for the chance and CVaR constraints ("" without any)."""
    parts = []
    if math.isfinite(a["chance_probability"]):
        parts.append(f"{rule} >= {a['chance_probability']:g}")
    if math.isfinite(a.get("max_cvar_usd", math.nan)):
        parts.append(f"CVaR{a['cvar_alpha']:g} of the loss <= {_usd(a['max_cvar_usd'])} USD")
    return f"; subject to {' and '.join(parts)}" if parts else ""


def format_allocation(ds: xr.Dataset) -> str:
    """A plain-text report of an ``simcore.studies.allocation.optimize`` dataset."""
    a = ds.attrs
    age, target = int(a["age"]), float(a["target"])
    rule = f"P(ROAS D{age} >= {target:g})"
    total = float(a["total_budget_usd_per_day"])
    objective = ("expected net profit" if a["objective"] == "mean" and not a["lambda"] else
                 f"expected net profit - {a['lambda']:g} x CVaR{a['cvar_alpha']:g} of the loss"
                 if a["objective"] == "mean" else f"CVaR{a['cvar_alpha']:g} of the loss "
                 "(minimised)")
    channels = sorted({str(c) for c in ds.channel.values}) if "channel" in ds.coords else []
    weeks = "week" in ds.coords and int(ds.week.max()) > 0
    width = max([8] + [len(str(c)) for c in ds.cell.values])
    lines = [(f"{a.get('title', '')}: {_usd(total)} USD/day "
             f"{'at most ' if a['at_most'] else ''}across {ds.sizes['cell']} cells "
             f"({ds.sizes['draw']} draws; {', '.join(channels) or 'paid_ads'}"
             f"{', by week' if weeks else ''}; ROAS on UA)"),
             *([f"on the posterior of {a['forecast']} ("
                + (f"{a['forecast_title']}, " if a.get("forecast_title") else "")
                + f"{a['forecast_particles']} particles; "
                f"learned: {a['forecast_keys']})"] if a.get("forecast") else []),
             *([f"learned but fixed in this scenario, so not used: {a['forecast_dropped']}"]
               if a.get("forecast_dropped") else []),
             f"objective: {objective}" + _constraints(a, rule), "",
             (f"{'cell':>{width}} {'USD/day':>10} {'share':>6} {'marginal':>9} {'bound':>6} "
             f"{'risk-neutral':>13}"),
             (f"{'':>{width}} {'':>10} {'':>6} {'ROAS D' + str(a['horizon_days']):>9} "
             f"{'':>6} {'USD/day':>13}")]
    for i, name in enumerate(ds.cell.values):
        lines.append(f"{name!s:>{width}} {_usd(float(ds.allocation_usd_per_day[i])):>10} "
                     f"{float(ds.share[i]):>6.1%} {float(ds.marginal_roas[i]):>9.3f} "
                     f"{ds.bound.values[i]!s:>6} "
                     f"{_usd(float(ds.risk_neutral_usd_per_day[i])):>13}")
    if weeks:
        lines.append("(a week's USD/day is its budget on that week's days; the total is the "
                     "cells' budgets averaged over the campaign's days)")
    alpha = float(a["cvar_alpha"])
    lines += ["",
              (f"expected profit: {_usd(a['expected_profit_usd'])} USD (risk-neutral "
              f"allocation: {_usd(a['expected_profit_risk_neutral_usd'])} USD)"),
              (f"P(loss): {a['p_loss']:.1%}   CVaR{alpha:g} of the loss (mean of the worst "
              f"{1 - alpha:.0%}; negative: a profit): {_usd(a['cvar_loss_usd'])} USD"),
              (f"{rule}: {a['p_roas_at_least']:.1%} in sample (risk-neutral allocation: "
              f"{a['p_roas_at_least_risk_neutral']:.1%})")]
    if "oos_p_roas_at_least" in a:
        lines.append(f"out of sample ({ds.sizes['oos_draw']} draws on fresh seeds): {rule} = "
                     f"{a['oos_p_roas_at_least']:.1%} +/- {a['oos_p_roas_at_least_se']:.1%} "
                     f"(1 s.e.); expected profit {_usd(a['oos_expected_profit_usd'])} +/- "
                     f"{_usd(a['oos_expected_profit_se_usd'])} USD")
    if "frontier_profit_usd" in ds:
        lines += ["", f"efficient frontier (expected profit - lambda x CVaR{alpha:g} of the loss, "
                  "same constraints):",
                  f"{'lambda':>8} {'profit':>12} {'CVaR loss':>12} {rule:>22}  allocation "
                  "USD/day"]
        for i, lam in enumerate(ds["lambda"].values):
            cells = " ".join(f"{c}={_usd(float(v))}" for c, v in
                             zip(ds.cell.values, ds.frontier_usd_per_day.values[i]) if v > 0.5)
            lines.append(f"{lam:>8g} {_usd(float(ds.frontier_profit_usd[i])):>12} "
                         f"{_usd(float(ds.frontier_cvar_loss_usd[i])):>12} "
                         f"{float(ds.frontier_p_roas[i]):>22.1%}  {cells}")
        lines.append("")
    lines.append(f"binding: {a['binding'] or 'nothing (every cell interior)'}")
    lines.append(f"solved by {a['method']} ({a['milp_seconds']:.2f} s in HiGHS)")
    if a.get("notes"):
        lines.append(f"note: {a['notes']}")
    return "\n".join(lines)
