"""The drama part of the run summary: the episode funnel, unlocks, revenue by source and the
series P&L (production budget and licence included)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from simcore.analysis import day_quantiles
from simcore.kinds.drama.names import METHODS, SOURCES


@dataclass(frozen=True)
class DramaSummary:
    episodes: int
    free_episodes: int
    funnel: dict[int, float]                  # episode -> mean share of starters watching it
    unlocks: dict[str, float]                 # method -> mean locked episodes per draw
    payers_share: float                       # payers / viewers, mean over draws
    watch_minutes: float                      # minutes watched per viewer, mean
    revenue: dict[str, float]                 # source -> mean net revenue per draw [USD]
    spend_usd: float                          # mean UA spend per draw
    production_usd: float                     # mean production budget per draw
    pnl: dict[str, float]                     # series P&L at the horizon [USD]: mean, p5,
                                              #   p50, p95, prob_profit
    roi: dict[str, float]                     # ROI incl. production at the horizon: mean,
                                              #   p5, p50, p95
    payback_p50: float                        # median series payback day [days] (inf: never)
    roas_ua: float                            # mean ROAS on UA at the horizon: paid viewers'
                                              #   net revenue / UA spend (roas_paid)
    roas_all: float                           # mean blended ROAS: all viewers' revenue / UA
                                              #   spend (roas)


def _funnel_marks(episodes: int, free: int) -> list[int]:
    marks = {1, 2, episodes, (episodes + 1) // 2}
    if 0 < free < episodes:
        marks |= {free, free + 1}
    return sorted(marks)


def summarize_drama(ds: xr.Dataset) -> DramaSummary:
    episodes = int(ds.sizes["episode"])
    free = int(ds.attrs.get("free_episodes", episodes))
    starters = ds.episode_viewers.sel(episode=1)
    share = (ds.episode_viewers / starters.where(starters > 0)).mean("draw")
    viewers = ds.activations.sum("cohort").astype(float)
    viewers = viewers.where(viewers > 0)
    pnl = ds.series_pnl.isel(age=-1).values
    roi = ds.roi.isel(age=-1).values

    def stats(v):
        q = np.nanquantile(v, (0.05, 0.5, 0.95))
        return {"mean": float(np.nanmean(v)), "p5": float(q[0]), "p50": float(q[1]),
                "p95": float(q[2])}

    return DramaSummary(
        episodes=episodes, free_episodes=free,
        funnel={k: float(share.sel(episode=k)) for k in _funnel_marks(episodes, free)},
        unlocks={m: float(ds.unlocks.sel(unlock=m).sum("age").mean()) for m in METHODS},
        payers_share=float((ds.payers.sum(("cohort", "age")) / viewers).mean()),
        watch_minutes=float((ds.sessions.sum(("cohort", "age")) / viewers).mean()
                            * float(ds.attrs.get("minutes_per_episode", 0.0))),
        revenue={s: float(ds.revenue_by_source.sel(source=s).sum("age").mean())
                 for s in SOURCES},
        spend_usd=float(ds.spend.sum("cohort").mean()),
        production_usd=float(ds.production_budget.mean()),
        pnl={**stats(pnl), "prob_profit": float(np.mean(pnl >= 0))}, roi=stats(roi),
        payback_p50=float(day_quantiles(ds.series_payback_day.values, 0.5)),
        roas_ua=float(ds.roas_paid.isel(age=-1).mean()),
        roas_all=float(ds.roas.isel(age=-1).mean()))


def format_drama(d: DramaSummary, horizon: int) -> list[str]:
    """Lines of the drama block of the plain-text summary."""
    total = sum(d.revenue.values())
    funnel = "  ".join(f"E{k} {v:.1%}" for k, v in d.funnel.items())
    payback = f"D{int(d.payback_p50)}" if np.isfinite(d.payback_p50) else f">D{horizon}"
    lines = [
        "",
        f"series             {d.episodes} episodes, {d.free_episodes} free; viewers watch "
        f"{d.watch_minutes:.1f} min each (mean)",
        f"episode funnel     {funnel}  (share of starters)",
        "unlocks per draw   " + "  ".join(f"{m} {v:,.0f}" for m, v in d.unlocks.items())
        + f"  (payers {d.payers_share:.2%} of viewers)",
        "",
        f"{'revenue by source':<22}{'mean USD':>12}{'share':>8}",
    ]
    lines += [f"  {s:<20}{v:>12,.0f}{(v / total if total else 0.0):>8.0%}"
              for s, v in d.revenue.items()]
    p, r = d.pnl, d.roi
    lines += [
        f"  {'total':<20}{total:>12,.0f}",
        "",
        f"series P&L D{horizon}     mean {p['mean']:,.0f}  p5 {p['p5']:,.0f}  p50 "
        f"{p['p50']:,.0f}  p95 {p['p95']:,.0f} USD  P(profit) {p['prob_profit']:.0%}",
        f"                   (revenue incl. licence - UA spend {d.spend_usd:,.0f} - "
        f"production {d.production_usd:,.0f})",
        f"ROI incl. production  mean {r['mean']:+.1%}  p5 {r['p5']:+.1%}  p50 {r['p50']:+.1%}"
        f"  p95 {r['p95']:+.1%}",
        f"ROAS on UA D{horizon}   mean {d.roas_ua:.3f} (paid viewers' revenue / UA spend; with "
        f"organic viewers {d.roas_all:.3f}; licence in neither)",
        f"series payback day p50 {payback}",
    ]
    return lines
