"""HTML pieces shared by the report and each kind's report section: escaping (every string
from a dataset or a scenario passes ``esc``), number formats that print ``n/a`` for NaN, and
tables."""

from __future__ import annotations

import html
import math


def esc(value) -> str:
    """``value`` as HTML text, safe in element content and in quoted attributes alike.

    Every string that comes from a dataset or a scenario (attributes, coordinate labels such
    as region names, variable and parameter names, the stored scenario text) goes through
    here before it enters the page: a crafted dataset must not inject markup or script.
    """
    return html.escape(str(value), quote=True)


def usd(v: float, digits: int = 3) -> str:
    return f"{v:,.{digits}f}" if math.isfinite(v) else "n/a"


def ratio(v: float) -> str:
    return f"{v:.3f}" if math.isfinite(v) else "n/a"


def share(v: float) -> str:
    return f"{v:.0%}" if math.isfinite(v) else "n/a"


def corr(v: float) -> str:
    return f"{v:+.2f}" if math.isfinite(v) else "n/a"


def day_text(v: float, horizon: int) -> str:
    return f"D{int(v)}" if math.isfinite(v) else f"&gt;D{horizon}"


def value_text(v: float) -> str:
    return f"{v:.4g}" if math.isfinite(v) else "n/a"


def table(headers, rows, caption: str | None = None, cls: str | None = None) -> str:
    """An HTML table; ``caption``, ``headers`` and the cells of ``rows`` are already-escaped
    HTML (pass dataset strings through ``esc`` first), ``cls`` a fixed class name."""
    out = [f'<table class="{cls}">' if cls else "<table>"]
    if caption:
        out.append(f"<caption>{caption}</caption>")
    if headers:
        out.append("<thead><tr>" + "".join(f"<th>{h}</th>" for h in headers) + "</tr></thead>")
    out.append("<tbody>")
    for row in rows:
        cells = [f"<th>{row[0]}</th>" if cls == "facts" else f"<td>{row[0]}</td>"]
        cells += [f"<td>{c}</td>" for c in row[1:]]
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)
