"""The HTML report of an allocation (``simcore optimize -o alloc.nc``, then ``simcore report
alloc.nc``): the allocation table by cell, the answer's figures in and out of sample beside the
risk-neutral allocation's, the binding constraints, and the efficient frontier (figure and
table).

Written over the dataset's dim ``cell`` and whatever coordinates lie on it (``region``,
``channel``, ``week`` ...), so cells of any kind show as they are stored.
"""

from __future__ import annotations

import base64
import math

from simcore.analysis import cvar
from simcore.figures import plots
from simcore.figures.frontier import frontier
from simcore.figures.html import esc, ratio, table, usd

__all__ = ["allocation_body", "allocation_facts"]


def _pct(v: float) -> str:
    return f"{v:.1%}" if math.isfinite(v) else "n/a"


def _rule(ds) -> str:
    a = ds.attrs
    target = esc(f"{float(a['target']):g}")
    return f"P(ROAS D{int(a['age'])} &ge; {target})"


def cell_coords(ds) -> list[str]:
    """The coordinates on ``cell`` besides the cell's name, in the dataset's order."""
    # the weight (a week's share of the days) is arithmetic, not a label; the week only
    # labels cells when they are weeks
    return [str(n) for n, c in ds.coords.items() if c.dims == ("cell",)
            and n not in ("cell", "weight") and not (n == "week" and int(c.max()) == 0)]


def objective_text(ds) -> str:
    """What was optimised and under which chance constraint (plain text)."""
    a = ds.attrs
    alpha = float(a["cvar_alpha"])
    if a["objective"] == "mean":
        what = ("expected net profit" if not float(a["lambda"]) else
                f"expected net profit - {float(a['lambda']):g} x CVaR{alpha:g} of the loss")
    else:
        what = f"CVaR{alpha:g} of the loss (minimised)"
    p = float(a["chance_probability"])
    if math.isfinite(p):
        what += (f", subject to P(ROAS D{int(a['age'])} >= {float(a['target']):g}) >= "
                 f"{p:g}")
    return what


def allocation_facts(ds) -> str:
    """The facts table of an allocation's page."""
    a = ds.attrs
    total = float(a["total_budget_usd_per_day"])
    rows = [
        ("scenario", esc(a.get("title", ""))),
        ("total budget", f"{usd(total, 0)} USD/day" + (" at most" if int(a["at_most"]) else
                                                       ", spent in full")),
        ("cells", f"{ds.sizes['cell']}" + (f" ({', '.join(esc(c) for c in cell_coords(ds))})"
                                           if cell_coords(ds) else "")),
        ("objective", esc(objective_text(ds))),
        ("draws (in sample)", f"{ds.sizes['draw']:,}"),
        ("seed", esc(a.get("seed", ""))),
    ]
    if "oos_draw" in ds.sizes:
        rows.append(("out-of-sample check", f"{ds.sizes['oos_draw']:,} draws on fresh seeds "
                     f"(seed {esc(a.get('oos_seed', ''))})"))
    rows += [
        ("horizon", f"D{int(a['horizon_days'])}"),
        ("scenario hash", f"<code>{esc(a['scenario_hash'])}</code>"),
        ("simcore version of the run", esc(a.get("simcore_version", "unknown"))),
        ("solved by", esc(a["method"]) + (f" ({float(a['milp_seconds']):.2f} s in HiGHS)"
                                          if "milp_seconds" in a else "")),
    ]
    overrides = str(a.get("scenario_overrides", "")).strip()
    if overrides:
        rows.append(("overrides", "<br>".join(f"<code>{esc(o)}</code>"
                                              for o in overrides.splitlines())))
    return table(None, rows, cls="facts")


def _cells_table(ds) -> str:
    coords = cell_coords(ds)
    h = int(ds.attrs["horizon_days"])
    headers = ["cell", *(esc(c) for c in coords), "USD/day", "share",
               f"marginal ROAS D{h}", "bound", "risk-neutral USD/day", "min USD/day",
               "max USD/day"]
    lo = ds["lower_usd_per_day"].values if "lower_usd_per_day" in ds else None
    hi = ds["upper_usd_per_day"].values if "upper_usd_per_day" in ds else None
    rows = []
    for i, name in enumerate(ds.cell.values):
        rows.append([esc(name), *(esc(ds[c].values[i]) for c in coords),
                     usd(float(ds.allocation_usd_per_day[i]), 0),
                     _pct(float(ds.share[i])), ratio(float(ds.marginal_roas[i])),
                     esc(ds.bound.values[i]),
                     usd(float(ds.risk_neutral_usd_per_day[i]), 0),
                     usd(float(lo[i]), 0) if lo is not None else "n/a",
                     usd(float(hi[i]), 0) if hi is not None else "n/a"])
    rows.append(["<strong>total</strong>", *("" for _ in coords),
                 usd(float(ds.allocation_usd_per_day.sum()), 0), "", "", "",
                 usd(float(ds.risk_neutral_usd_per_day.sum()), 0), "", ""])
    return table(headers, rows, caption=(
        "Daily paid-ads budget per cell; the marginal ROAS is the return of the last dollar "
        "(mean d revenue / d spend at the allocation: equal across interior cells at a "
        "risk-neutral optimum); bound: the bound a cell sits on"))


def outcome_rows(ds) -> list[tuple[str, str, str, str]]:
    """(figure, chosen in sample, chosen out of sample, risk-neutral in sample), as shown."""
    a = ds.attrs
    alpha = float(a["cvar_alpha"])
    oos = "oos_net_profit" in ds and "oos_p_roas_at_least" in a
    if oos:
        profit = ds["oos_net_profit"].values.astype(float)
        n = profit.size
        p_loss = float((profit < 0).mean()) if n else math.nan
        se_loss = math.sqrt(p_loss * (1 - p_loss) / n) if n else math.nan
        oos_cells = (
            f"{usd(float(a['oos_expected_profit_usd']), 0)} &plusmn; "
            f"{usd(float(a['oos_expected_profit_se_usd']), 0)}",
            f"{_pct(p_loss)} &plusmn; {_pct(se_loss)}",
            usd(cvar(-profit, alpha), 0),
            f"{_pct(float(a['oos_p_roas_at_least']))} &plusmn; "
            f"{_pct(float(a['oos_p_roas_at_least_se']))}")
    else:
        oos_cells = ("not checked",) * 4
    neutral_loss = a.get("p_loss_risk_neutral", math.nan)
    neutral_cvar = a.get("cvar_loss_risk_neutral_usd", math.nan)
    return [
        ("expected net profit [USD]", usd(float(a["expected_profit_usd"]), 0), oos_cells[0],
         usd(float(a["expected_profit_risk_neutral_usd"]), 0)),
        ("P(loss)", _pct(float(a["p_loss"])), oos_cells[1], _pct(float(neutral_loss))),
        (f"CVaR{alpha:g} of the loss [USD] (negative: a profit)",
         usd(float(a["cvar_loss_usd"]), 0), oos_cells[2], usd(float(neutral_cvar), 0)),
        (_rule(ds), _pct(float(a["p_roas_at_least"])), oos_cells[3],
         _pct(float(a["p_roas_at_least_risk_neutral"]))),
    ]


def _outcome(ds) -> str:
    a = ds.attrs
    h = int(a["horizon_days"])
    cost = float(a["expected_profit_risk_neutral_usd"]) - float(a["expected_profit_usd"])
    cost = 0.0 if abs(cost) < 0.5 else cost          # the solver's tolerance, not a gain
    base = abs(float(a["expected_profit_risk_neutral_usd"]))
    parts = [table(
        ("", "chosen allocation, in sample", "out of sample (fresh seeds), &plusmn; 1 s.e.",
         "risk-neutral allocation, in sample"),
        outcome_rows(ds),
        caption=f"Net profit through D{h} (paid net revenue - paid spend, summed over the "
                f"cells) and {_rule(ds)} of ROAS on UA, over the draws")]
    if a["objective"] != "mean" or float(a["lambda"]) or math.isfinite(
            float(a["chance_probability"])):
        share = f" ({cost / base:.1%} of it)" if base > 0 else ""
        parts.append(f"<p>The risk terms and constraints cost {usd(cost, 0)} USD of expected "
                     f"profit{share} against the risk-neutral allocation, in sample.</p>")
    return "\n".join(parts)


def _binding(ds) -> str:
    items = [b for b in str(ds.attrs["binding"]).split("; ") if b]
    out = ["<ul>" + "".join(f"<li>{esc(b)}</li>" for b in items) + "</ul>" if items else
           "<p>Nothing binds: every cell is interior and the chance constraint (if any) is "
           "met by the risk-neutral allocation.</p>"]
    notes = str(ds.attrs.get("notes", "")).strip()
    if notes:
        out.append(f"<p>Note: {esc(notes)}</p>")
    return "\n".join(out)


def _frontier(ds) -> str:
    if "frontier_profit_usd" not in ds:
        return "<p>This allocation holds no efficient frontier.</p>"
    a = ds.attrs
    alpha = float(a["cvar_alpha"])
    fig = frontier(ds)
    data = base64.b64encode(plots.to_bytes(fig, "png")).decode("ascii")
    alt = esc(fig.axes[0].get_title()) if fig.axes else "frontier"
    rows = []
    for i, lam in enumerate(ds["lambda"].values):
        cells = ", ".join(f"{esc(c)} {usd(float(v), 0)}" for c, v in
                          zip(ds.cell.values, ds.frontier_usd_per_day.values[i]) if v > 0.5)
        rows.append((f"{float(lam):g}", usd(float(ds.frontier_profit_usd[i]), 0),
                     usd(float(ds.frontier_cvar_loss_usd[i]), 0),
                     _pct(float(ds.frontier_p_roas[i])), cells))
    return "\n".join([
        f'<figure id="fig-frontier"><img alt="{alt}" src="data:image/png;base64,{data}">'
        f"<figcaption>Expected net profit against CVaR{alpha:g} of the loss of the "
        "allocations maximising expected profit - lambda x CVaR (same bounds and "
        "constraints, same draws), each labelled by its lambda; the star is the chosen "
        "allocation.</figcaption></figure>",
        table(("lambda", "expected profit [USD]", f"CVaR{alpha:g} of the loss [USD]",
               _rule(ds), "allocation [USD/day]"), rows,
              caption="The efficient frontier")])


def allocation_body(ds) -> list[str]:
    """The sections of an allocation's page, after its title."""
    a = ds.attrs
    total = float(a["total_budget_usd_per_day"])
    return [
        f"<p>Allocation of {usd(total, 0)} USD/day across {ds.sizes['cell']} cells "
        f"({ds.sizes['draw']:,} draws; paid ads, ROAS on UA): {esc(objective_text(ds))}.</p>",
        allocation_facts(ds),
        "<h2>Allocation</h2>",
        _cells_table(ds),
        "<h2>Profit and risk</h2>",
        _outcome(ds),
        "<h2>Binding constraints</h2>",
        _binding(ds),
        "<h2>Efficient frontier</h2>",
        _frontier(ds),
    ]
