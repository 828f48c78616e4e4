"""One self-contained HTML page about a run: facts, summary tables, the five figures, and the
scenario with its uncertain assumptions; or about an allocation (``simcore optimize -o``): its
table, profit and risk in and out of sample, binding constraints and efficient frontier
(``simcore.text.allocation_report``).

The page needs nothing outside itself (no scripts, style sheets or fonts from the network;
figures are embedded as base64 PNG), so it can be mailed or archived beside the dataset.

    from simcore.text.report import write_report
    write_report(ds, "report.html", day=7, target=1.0)
"""

from __future__ import annotations

import base64
import math
from pathlib import Path

import numpy as np

from simcore import __version__, analysis, kinds
from simcore.data.checks import check_day, check_target
from simcore.data.dataset import is_allocation
from simcore.data.outputs import check_output, write_atomic
from simcore.figures import plots
from simcore.figures.html import corr, day_text, esc, ratio, share, table, usd, value_text
from simcore.text.summary import Summary, basis_line, summarize

FORMATS = (".html", ".htm")

_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif;
       max-width: 62rem; margin: 2rem auto; padding: 0 1rem; color: #222; line-height: 1.4; }
h1 { margin-bottom: 0.2rem; }
h2 { margin-top: 2rem; border-bottom: 1px solid #ccc; padding-bottom: 0.2rem; }
table { border-collapse: collapse; margin: 0.5rem 0 1.5rem; font-variant-numeric: tabular-nums; }
caption { text-align: left; font-weight: 600; padding-bottom: 0.3rem; }
th, td { padding: 0.2rem 0.8rem; border-bottom: 1px solid #e2e2e2; text-align: right; }
th { background: #f3f5f8; }
th:first-child, td:first-child { text-align: left; }
table.facts td, table.facts th { text-align: left; }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
pre { background: #f6f6f6; padding: 1rem; overflow-x: auto; font-size: 0.85rem; }
figure { margin: 1.5rem 0; }
figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.9rem; }
footer { margin-top: 3rem; color: #777; font-size: 0.85rem; }
"""


# --- sections ----------------------------------------------------------------------------------

def _facts(ds, s: Summary) -> str:
    overrides = str(ds.attrs.get("scenario_overrides", "")).strip()
    rows = [
        ("scenario", esc(s.title)),
        ("draws", f"{s.draws:,}"),
        ("seed", esc(s.seed)),
        ("scenario hash", f"<code>{esc(s.scenario_hash)}</code>"),
        ("simcore version of the run", esc(ds.attrs.get("simcore_version", "unknown"))),
        ("cohorts (days with activations)", f"{ds.sizes['cohort']}"),
        ("horizon", f"D{s.horizon}"),
        ("judged at", f"D{s.day}, target ROAS {s.target:g}"),
    ]
    if overrides:
        rows.append(("overrides", "<br>".join(f"<code>{esc(o)}</code>"
                                              for o in overrides.splitlines())))
    return table(None, rows, cls="facts")


def _summary_tables(ds, s: Summary) -> str:
    h = s.horizon
    parts = [table(
        ("", "mean", "p5", "p50", "p95"),
        [("spend per draw [USD]", usd(s.spend_usd, 0), "", "", ""),
         ("activations per draw [users]", f"{s.activations:,.0f}", "", "", ""),
         ("realised CPA [USD]", *(usd(s.cpa[k]) for k in ("mean", "p5", "p50", "p95")))],
        caption="Spend and acquisition")]

    extra = s.target != 1.0
    headers = ["age", "mean", "p5", "p50", "p95", "P(ROAS &ge; 1)"]
    if extra:
        headers.append(f"P(ROAS &ge; {s.target:g})")
        prob = analysis.prob_roas_at_least(ds, target=s.target, basis=s.basis)
    if s.blended:
        headers.append("blended p50")
    rows = []
    for d, r in s.roas.items():
        row = [f"D{d}", *(ratio(r[k]) for k in ("mean", "p5", "p50", "p95")),
               f"{r['p_ge_1']:.2f}"]
        if extra:
            row.append(f"{float(prob.sel(age=d)):.2f}")
        if s.blended:
            row.append(ratio(s.blended[d]["p50"]))
        rows.append(row)
    parts.append(table(headers, rows, caption=f"ROAS by age (over draws). "
                        f"{esc(basis_line(s))}"))

    parts.append(table(
        ("", "p5", "p50", "p95"),
        [("payback day (ROAS &ge; 1)",
          *(day_text(s.payback[k], h) for k in ("p5", "p50", "p95")))],
        caption=f"Payback: {share(s.paid_back_share)} of draws pay back by D{h}"))

    parts.append(table(
        ("required P(ROAS D%d &ge; %s)" % (s.day, esc(f"{s.target:g}")), "break-even CPA [USD]"),
        [(f"{p:.0%}", usd(cpa)) for p, cpa in s.break_even_cpa.items()],
        caption=f"Break-even CPA: the highest CPA at which ROAS D{s.day} reaches "
                f"{s.target:g} with the stated probability"))

    p = s.profit
    parts.append(table(
        ("mean [USD]", "p5 [USD]", "CVaR 5% [USD]", "P(loss)"),
        [(usd(p["mean"], 0), usd(p["p5"], 0), usd(p["cvar"], 0), share(p["prob_loss"]))],
        caption=f"Net profit through D{h} (net revenue - spend, per draw)"))

    if s.markets:
        parts.append(table(
            ("market", "share of spend", "CPA p50 [USD]", f"ROAS D{s.day} p50",
             f"P(ROAS D{s.day} &ge; {esc(f'{s.target:g}')})"),
            [(esc(r), share(sh), usd(cpa), ratio(roas), f"{p:.2f}")
             for r, sh, cpa, roas, p in s.markets],
            caption="Markets (each on its own spend and users)"))

    if s.drivers:
        parts.append(table(
            ("parameter", "Spearman", "partial rank", "kind"),
            [(f"<code>{esc(k)}</code>", corr(sp), corr(pr), esc(kind))
             for k, sp, pr, kind in s.drivers],
            caption=f"Drivers of ROAS D{s.day} (rank correlation across draws)"))
    else:
        parts.append(f"<p>Drivers of ROAS D{s.day}: {esc(plots.NO_PARAMETERS)}.</p>")
    return "\n".join(parts)


def _figures(ds, day: int, target: float, basis: str) -> str:
    name = plots.roas_name(basis)
    figures = [
        (plots.fan(ds, target=target, basis=basis), "fan",
         f"{name} by age: p5-p95 and p25-p75 bands over draws, median, break-even at "
         f"{target:g} and the median payback day."),
        (plots.payback(ds, target=target, basis=basis), "payback",
         f"Share of draws that have paid back ({name} &ge; {target:g}) by each age."),
        (plots.histogram(ds, day=day, target=target, basis=basis), "hist",
         f"{name} at D{day} across draws, with the target {target:g}."),
        (plots.tornado(ds, day=day, basis=basis), "tornado",
         f"Rank correlation of each uncertain parameter with {name} at D{day}."),
        (plots.ltv(ds, basis=basis), "ltv", "LTV per activation [USD] by age (on UA: the "
         "paid users' revenue per paid activation), with the median CPA."),
    ]
    out = []
    for fig, kind, caption in figures:
        data = base64.b64encode(plots.to_bytes(fig, "png")).decode("ascii")
        alt = esc(fig.axes[0].get_title()) if fig.axes else kind
        out.append(f'<figure id="fig-{kind}"><img alt="{alt}" '
                   f'src="data:image/png;base64,{data}">'
                   f"<figcaption>{caption}</figcaption></figure>")
    return "\n".join(out)


def _calibration_section(ds, basis: str) -> str:
    """A calibrated forecast's section: the forecast figure and the calibration's text (fit,
    assumptions moved, forecast, warnings); "" for a plain run."""
    from simcore.figures.forecast import forecast, is_forecast
    from simcore.text.calibration import format_calibration

    if not is_forecast(ds):
        return ""
    fig = forecast(ds, basis=basis)
    data = base64.b64encode(plots.to_bytes(fig, "png")).decode("ascii")
    alt = esc(fig.axes[0].get_title())
    return "\n".join([
        "<h2>Calibration</h2>",
        "<p>This run is a forecast calibrated on a cohort report: its draws come from the "
        "posterior of the uncertain assumptions, and what the report observed is kept.</p>",
        f'<figure id="fig-forecast"><img alt="{alt}" src="data:image/png;base64,{data}">'
        "<figcaption>Each observed cohort's cumulative ROAS to date over the forecast of those "
        "cohorts together (5-95 % and 25-75 % bands, median); the dotted line is today."
        "</figcaption></figure>",
        f"<pre>{esc(format_calibration(ds, basis))}</pre>"])


def _assumptions(ds) -> str:
    keys = analysis.uncertain_parameters(ds)
    if not keys:
        return f"<p>{esc(plots.NO_PARAMETERS)}: every assumption is a fixed value.</p>"
    rows = []
    for key in keys:
        var = ds[analysis.PARAM_PREFIX + key]
        values = var.values.astype(float)
        values = values[np.isfinite(values)]
        q = np.quantile(values, (0.05, 0.5, 0.95)) if values.size else [math.nan] * 3
        rows.append((f"<code>{esc(key)}</code>", esc(var.attrs.get("distribution", "")),
                     esc(var.attrs.get("units", "")), *(value_text(float(v)) for v in q)))
    return table(("parameter", "distribution", "units", "sampled p5", "p50", "p95"), rows,
                  caption="Uncertain assumptions (sampled once per draw)")


def _kind_section(ds, s: Summary) -> str:
    """The title kind's own section (a drama's funnel, sources and series P&L), if any."""
    if s.block is None:
        return ""
    return kinds.get(s.kind).report_section(ds, s.block, s.horizon)


# --- public ------------------------------------------------------------------------------------

def _page(ds, title: str, body: list[str]) -> str:
    """The page around ``body`` (HTML pieces): head, title, the scenario file, footer."""
    title = esc(title)
    toml = str(ds.attrs.get("scenario_toml", ""))
    return "\n".join([
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        # the mark by which simcore.data.outputs.written_by_simcore knows a page it may replace
        f'<meta name="generator" content="simcore {esc(__version__)}">',
        f"<title>{title}: simcore report</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>{title}</h1>",
        *body,
        "<h2>Scenario file</h2>",
        f"<pre>{esc(toml)}</pre>" if toml else "<p>(not stored in the dataset)</p>",
        f"<footer>Report written by simcore {esc(__version__)}.</footer>",
        "</body>",
        "</html>",
        "",
    ])


def build_report(ds, day: int | None = None, target: float | None = None,
                 basis: str = "paid") -> str:
    """The HTML page of run dataset ``ds``; ``day`` [days] is the age at which the histogram,
    break-even CPA and drivers are judged, ``target`` the ROAS to reach (None: the scenario's
    payback goal), ``basis`` what ROAS counts (``simcore.analysis.BASES``: ROAS on UA).

    An allocation dataset (``simcore optimize -o``) gets its own page; it is judged at the
    age and target it was optimised for, so ``day``, ``target`` and ``basis`` do not apply.
    """
    if is_allocation(ds):
        from simcore.text.allocation_report import allocation_body

        return _page(ds, str(ds.attrs.get("title") or "simcore allocation"),
                     allocation_body(ds))
    day = check_day(ds, day, "day")
    target = check_target(target, "target", ds)
    s = summarize(ds, day=day, target=target, basis=basis)
    return _page(ds, s.title or "simcore run", [
        f"<p>Monte Carlo run of {s.draws:,} draws; ROAS = cumulative net revenue / spend.</p>",
        _facts(ds, s),
        "<h2>Summary</h2>",
        _summary_tables(ds, s),
        _kind_section(ds, s),
        _calibration_section(ds, basis),
        "<h2>Figures</h2>",
        _figures(ds, day, target, basis),
        "<h2>Uncertain assumptions</h2>",
        _assumptions(ds),
    ])


def write_report(ds, path, day: int | None = None, target: float = 1.0,
                 force: bool = False) -> Path:
    """Write ``build_report(ds, day, target)`` to ``path`` (.html) atomically: a temporary
    file in the same folder, then a rename. A bad path, or an existing file simcore did not
    write (unless ``force``), is a one-line ``ScenarioError``."""
    path = check_output(path, FORMATS, key="-o", force=force)
    page = build_report(ds, day=day, target=target)
    return write_atomic(path, page.encode("utf-8"))
