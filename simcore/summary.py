"""The run summary a UA manager reads: CPA, ROAS by day, odds of payback, payback day."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

KEY_DAYS = (0, 1, 3, 7, 14, 30, 60, 90, 180)
QUANTILES = (0.05, 0.5, 0.95)


@dataclass(frozen=True)
class Summary:
    title: str
    draws: int
    seed: int
    scenario_hash: str
    horizon: int
    spend_usd: float                          # mean total spend per draw
    activations: float                        # mean total activations per draw
    cpa: dict[str, float]                     # mean, p5, p50, p95 [USD]
    roas: dict[int, dict[str, float]]         # day -> mean, p5, p50, p95, p_ge_1
    payback: dict[str, float]                 # p5, p50, p95 [days] (inf: beyond horizon)
    paid_back_share: float                    # share of draws paying back within horizon


def _stats(values: np.ndarray) -> dict[str, float]:
    q = np.quantile(values, QUANTILES)
    return {"mean": float(np.mean(values)), "p5": float(q[0]), "p50": float(q[1]),
            "p95": float(q[2])}


def summarize(ds: xr.Dataset) -> Summary:
    """Summary statistics over draws of a run dataset (saved or fresh)."""
    horizon = int(ds.age.values[-1])
    roas = {}
    for day in KEY_DAYS:
        if day <= horizon:
            v = ds.roas.sel(age=day).values
            roas[day] = {**_stats(v), "p_ge_1": float(np.mean(v >= 1.0))}
    payback = ds.payback_day.values
    days = np.where(np.isnan(payback), np.inf, payback)
    pq = np.quantile(days, QUANTILES, method="inverted_cdf")
    return Summary(
        title=str(ds.attrs.get("title", "")), draws=int(ds.sizes["draw"]),
        seed=int(ds.attrs.get("seed", -1)), scenario_hash=str(ds.attrs.get("scenario_hash", "")),
        horizon=horizon, spend_usd=float(ds.spend.sum("cohort").mean()),
        activations=float(ds.activations.sum("cohort").mean()), cpa=_stats(ds.cpa.values),
        roas=roas, payback={"p5": float(pq[0]), "p50": float(pq[1]), "p95": float(pq[2])},
        paid_back_share=float(np.mean(np.isfinite(days))))


def format_summary(s: Summary) -> str:
    """Plain-text summary table."""
    def day(v: float) -> str:
        return f"D{int(v)}" if np.isfinite(v) else f">D{s.horizon}"

    lines = [
        f"{s.title}  ({s.draws} draws, seed {s.seed}, scenario {s.scenario_hash[:12]})",
        f"spend per draw     {s.spend_usd:>14,.0f} USD",
        f"activations        {s.activations:>14,.0f} users (mean per draw)",
        "realised CPA       mean {mean:.3f}  p5 {p5:.3f}  p50 {p50:.3f}  p95 {p95:.3f} USD"
        .format(**s.cpa),
        "",
        f"{'ROAS':<6}{'mean':>9}{'p5':>9}{'p50':>9}{'p95':>9}{'P(>=1)':>9}",
    ]
    for d, r in s.roas.items():
        lines.append(f"{'D' + str(d):<6}{r['mean']:>9.3f}{r['p5']:>9.3f}{r['p50']:>9.3f}"
                     f"{r['p95']:>9.3f}{r['p_ge_1']:>9.2f}")
    lines += [
        "",
        f"payback day        p5 {day(s.payback['p5'])}  p50 {day(s.payback['p50'])}  "
        f"p95 {day(s.payback['p95'])}",
        f"paid back by D{s.horizon}  {s.paid_back_share:.0%} of draws",
    ]
    return "\n".join(lines)
