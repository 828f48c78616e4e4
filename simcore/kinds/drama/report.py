"""The drama section of the HTML report: funnel, unlocks, revenue by source, series P&L,
and the three drama figures (embedded PNG)."""

from __future__ import annotations

import base64

from simcore.figures.html import esc, share, table, usd
from simcore.figures.plots import to_bytes
from simcore.kinds.drama import plots as drama_plots
from simcore.kinds.drama.summary import DramaSummary

_CAPTIONS = {
    "funnel": "Share of the viewers starting episode 1 who watch each episode (median, "
              "p5-p95 of draws) and the paywall.",
    "sources": "Cumulative net revenue by source (mean over draws), against UA spend and UA "
               "spend + production budget.",
    "pnl": "Series P&amp;L by age: every source, licence included, minus UA spend and the "
           "production budget (bands over draws).",
}


def drama_section(ds, d: DramaSummary, horizon: int) -> str:
    """HTML of the series: tables, then the funnel, sources and P&L figures."""
    total = sum(d.revenue.values())
    parts = ["<h2>Series</h2>", table(
        ("episode", *(f"E{k}" for k in d.funnel)),
        [("share of starters watching", *(share(v) for v in d.funnel.values()))],
        caption=f"Episode funnel: {d.episodes} episodes, {d.free_episodes} free; viewers "
                f"watch {d.watch_minutes:.1f} minutes each (mean)")]
    parts.append(table(
        ("unlocked with", "episodes per draw (mean)"),
        [(esc(m), f"{v:,.0f}") for m, v in d.unlocks.items()],
        caption=f"Unlocks: payers are {d.payers_share:.2%} of viewers"))
    parts.append(table(
        ("source", "net revenue per draw [USD]", "share"),
        [(esc(s), usd(v, 0), share(v / total) if total else "n/a")
         for s, v in d.revenue.items()] + [("total", usd(total, 0), "")],
        caption="Revenue by source (mean over draws; licence at age 0)"))
    p, r = d.pnl, d.roi
    payback = f"D{int(d.payback_p50)}" if d.payback_p50 != float("inf") else f"&gt;D{horizon}"
    parts.append(table(
        ("", "mean", "p5", "p50", "p95"),
        [("series P&amp;L [USD]", *(usd(p[k], 0) for k in ("mean", "p5", "p50", "p95"))),
         ("ROI incl. production", *(f"{r[k]:+.1%}" for k in ("mean", "p5", "p50", "p95")))],
        caption=f"Series P&amp;L through D{horizon}: revenue incl. licence - UA spend "
                f"({usd(d.spend_usd, 0)} USD) - production ({usd(d.production_usd, 0)} "
                f"USD); P(profit) {share(p['prob_profit'])}, median series payback "
                f"{payback}; ROAS on UA {d.roas_ua:.3f} (paid viewers; {d.roas_all:.3f} with "
                f"organic viewers; licence excluded)"))
    for kind, make in drama_plots.KINDS.items():
        fig = make(ds)
        data = base64.b64encode(to_bytes(fig, "png")).decode("ascii")
        alt = esc(fig.axes[0].get_title())
        parts.append(f'<figure id="fig-{kind}"><img alt="{alt}" '
                     f'src="data:image/png;base64,{data}">'
                     f"<figcaption>{_CAPTIONS[kind]}</figcaption></figure>")
    return "\n".join(parts)
