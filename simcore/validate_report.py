"""Text for ``simcore validate``: every value in use, with units, and the fitted models."""

from __future__ import annotations

import numpy as np

from simcore.errors import ScenarioError
from simcore.plan import Plan, compile_loaded
from simcore.scenario import LoadedScenario

SIGNIFICANT_DIGITS = 10     # of a scenario value as printed: all an input needs, no float noise


def format_resolved(loaded: LoadedScenario, plan: Plan) -> str:
    lines = scenario_lines(loaded)
    r = plan.retention
    lines += ["", "[resolved.retention]",
              f"  model = {r.model!r}  alpha = {r.alpha:.6g}  beta = {r.beta:.6g}  c = {r.c:.6g}"]
    if r.targets:
        lines.append(f"  fitted to targets: RMSE {r.rmse_pp:.3f} percentage points, largest "
                     f"relative error {r.max_rel_error:.2%}")
        for age, want, got in zip(r.target_ages, r.targets, r.fitted):
            lines.append(f"    d{age:<3} target {want:8.4f}  fitted {got:8.4f}")
    lines += acquisition_lines(plan.acquisition)
    lines += _share_and_iap_lines(plan)
    lines += market_lines(loaded)
    return "\n".join(lines)


def market_lines(loaded: LoadedScenario) -> list[str]:
    """Each market's campaign, after checking the market as ``simcore run`` runs it: every
    draw's scenario and the compiled plan (a problem names the market and the key)."""
    if not loaded.markets:
        return []
    lines = ["", "[resolved.markets]  (each market: the scenario moved to its region, its "
             "share of the budget, its set applied)"]
    for i, (market, m) in enumerate(zip(loaded.scenario.markets, loaded.markets)):
        where = f"markets.{i} ({market.region})"
        try:
            m.draw_scenarios()
            a = compile_loaded(m).acquisition
        except ScenarioError as err:
            raise ScenarioError(f"{where}: {err.key}" if err.key else where, err.message,
                                loaded.source) from None
        cost = "CPA" if a.bidding == "target_cpa" else "CPM"
        lines.append(f"  {market.region}  share {market.budget_share:<5g} spend "
                     f"{a.budgets_usd.sum():,.0f} USD  {cost} {_range(a.unit_costs_usd, '.4g')}"
                     f" USD  expected activations/day "
                     f"{_range(a.expected_activations(), ',.0f')}")
    return lines


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
    return lines + _uncertainty_lines(loaded)


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


def acquisition_lines(a) -> list[str]:
    """The campaign as bought: spend, unit cost and expected activations per day."""
    cost = "CPA" if a.bidding == "target_cpa" else "CPM"
    return ["", "[resolved.acquisition]",
            f"  spend: {a.budgets_usd.sum():,.0f} USD over {a.days} days "
            f"({_range(a.budgets_usd, ',.0f')} USD/day)",
            f"  unit cost at these budgets: {cost} {_range(a.unit_costs_usd, '.4g')} USD",
            f"  expected activations per day: {_range(a.expected_activations(), ',.0f')}"]


def _share_and_iap_lines(plan: Plan) -> list[str]:
    lines = []
    if plan.fission is not None:
        f = plan.fission
        lines += ["", "[resolved.share]",
                  f"  new users per active user-day: {f.k_per_active_day:.4g}; effective "
                  f"K-factor over the horizon: {f.k_effective:.3g}"
                  + ("  (>= 1: growth held only by share.max_users_per_day)"
                     if f.k_effective >= 1 else ""),
                  f"  share users acquired over {f.window_days} days"]
    if plan.iap is not None:
        i = plan.iap
        lines += ["", "[resolved.iap]",
                  f"  r = {i.r:.6g}  alpha = {i.alpha:.6g}  (purchases per active day: mean "
                  f"{i.r / i.alpha:.4g})",
                  f"  p = {i.p:.6g}  q = {i.q:.6g}  gamma = {i.gamma:.6g}",
                  f"  payer share D7 {i.payer_share_d7:.4f}  D30 {i.payer_share_d30:.4f}",
                  f"  mean purchase {i.mean_transaction_usd:.2f} USD  "
                  f"ARPPU D30 {i.arppu_d30_usd:.2f} USD (gross)"]
    return lines


def _uncertainty_lines(loaded: LoadedScenario) -> list[str]:
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


def _range(values, fmt: str) -> str:
    """'5' or '2 ... 5' for per-day values."""
    lo, hi = float(np.min(values)), float(np.max(values))
    return format(lo, fmt) if lo == hi else f"{format(lo, fmt)} ... {format(hi, fmt)}"
