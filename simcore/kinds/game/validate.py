"""Text for ``simcore validate`` of a game: every value in use, with units, and the fitted
models."""

from __future__ import annotations

from simcore.errors import ScenarioError
from simcore.kinds.game.plan import Plan, compile_loaded
from simcore.model.acquisition import acquisition_lines
from simcore.scenario import LoadedScenario
from simcore.scenario.describe import scenario_lines, span_text


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
                     f"{a.budgets_usd.sum():,.0f} USD  {cost} {span_text(a.unit_costs_usd, '.4g')}"
                     f" USD  expected activations/day "
                     f"{span_text(a.expected_activations(), ',.0f')}")
    return lines


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


