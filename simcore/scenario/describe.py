"""Text describing a loaded scenario, as ``simcore validate`` prints it: every value in use
with its unit, and the uncertain fields (each kind adds what its compile made of them)."""

from __future__ import annotations

import numpy as np

from simcore.scenario.loading import LoadedScenario

SIGNIFICANT_DIGITS = 10     # of a scenario value as printed: all an input needs, no float noise


def scenario_lines(loaded: LoadedScenario) -> list[str]:
    """The head line, every value in use with its unit, and the uncertain fields."""
    s = loaded.scenario
    lines = [f"# {loaded.source}: valid (scenario hash {loaded.hash[:12]})"]
    for name in type(s).model_fields:
        section = getattr(s, name)
        tables = section if isinstance(section, list) else [section]
        for table in tables:
            if table is None:
                continue
            lines.append(f"[[{name}]]" if isinstance(section, list) else f"[{name}]")
            for key, info in type(table).model_fields.items():
                value = getattr(table, key)
                if value is None:
                    continue
                unit = (info.json_schema_extra or {}).get("unit", "")
                lines.append(f"  {key} = {value_text(value)}"
                             + (f"    # {unit}" if unit else ""))
    return lines + uncertainty_lines(loaded)


def value_text(value) -> str:
    """A scenario value as ``validate`` prints it: a float to ``SIGNIFICANT_DIGITS``
    significant digits in its shortest form (0.225, not 0.22499999999999998; 10000.0 stays
    10000.0), lists and tuples element by element, anything else as ``repr``."""
    if isinstance(value, float):
        return repr(float(f"{value:.{SIGNIFICANT_DIGITS}g}"))
    if isinstance(value, list | tuple):
        inner = ", ".join(value_text(v) for v in value)
        return f"[{inner}]" if isinstance(value, list) else f"({inner}{',' * (len(value) == 1)})"
    return repr(value)


def uncertainty_lines(loaded: LoadedScenario) -> list[str]:
    """The uncertain fields (values above are their medians), after checking every draw."""
    u = loaded.uncertainty
    if not u.parameters:
        return []
    scenarios, _ = loaded.draw_scenarios()  # raises on a draw whose sampled values conflict
    each = f" in each of the {len(loaded.markets)} markets" if loaded.markets else ""
    lines = ["", f"[uncertainty]  (values above are medians; all {len(scenarios)} draws "
             f"valid{each})"]
    for d in u.parameters:
        p5, p50, p95 = d.ppf(np.array([0.05, 0.5, 0.95]))
        lines.append(f"  {d.key} ~ {d.describe()}    p5 {p5:.4g}  p50 {p50:.4g}  "
                     f"p95 {p95:.4g}" + (f" {d.unit}" if d.unit else ""))
    for c in u.correlations:
        lines.append(f"  spearman({c.between[0]}, {c.between[1]}) = {c.spearman:g}")
    return lines


def span_text(values, fmt: str) -> str:
    """'5' or '2 ... 5' for per-day values."""
    lo, hi = float(np.min(values)), float(np.max(values))
    return format(lo, fmt) if lo == hi else f"{format(lo, fmt)} ... {format(hi, fmt)}"
