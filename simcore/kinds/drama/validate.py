"""Text for ``simcore validate`` of a drama: every value in use, the campaign as bought, the
expected episode funnel and what each unit is worth."""

from __future__ import annotations

from simcore.kernel import drama_layout as D
from simcore.kinds.drama.funnel import episode_share
from simcore.kinds.drama.plan import DramaPlan
from simcore.model.acquisition import acquisition_lines
from simcore.scenario import LoadedScenario
from simcore.scenario.describe import scenario_lines


def format_resolved_drama(loaded: LoadedScenario, plan: DramaPlan) -> str:
    se = loaded.scenario.series
    share = episode_share(plan.weights, se.continuation, se.continuation_concentration)
    free = se.free_episodes
    marks = sorted({1, 2, min(free, se.episodes), min(free + 1, se.episodes), se.episodes})
    p, m = plan.params, plan.money
    lines = scenario_lines(loaded) + acquisition_lines(plan.acquisition)
    lines += ["", "[resolved.series]",
              "  share of starters who would watch episode k without a paywall: "
              + "  ".join(f"E{k} {share[k - 1]:.3f}" for k in marks)]
    if free < se.episodes:
        lines.append(f"  paywall before episode {free + 1}: chances coins {p[D.COINS_P]:.3g}, "
                     f"pass {p[D.PASS_P]:.3g}, ads {p[D.AD_P]:.3g} (TikTok pay: coins "
                     f"{p[D.COINS_P_TT]:.3g}, pass {p[D.PASS_P_TT]:.3g})")
    else:
        lines.append("  no paywall: every episode is free")
    lines += [f"  net share of a purchase {m.purchase_net_share:.4f} (TikTok pay: "
              f"{m.purchase_net_share * m.tiktok_pay_factor:.4f}); per rewarded ad "
              f"{m.ad_unlock_usd:.4g} USD; ad share per free view {m.ad_share_usd:.4g} USD",
              f"  licence {m.licence_usd:,.0f} USD at age 0; production budget "
              f"{m.production_usd:,.0f} USD"]
    if plan.organic_per_day:
        rates = ", ".join(f"{c} {r:g}" for c, r in plan.organic_per_day.items())
        lines.append(f"  organic viewers per day: {rates}; x{plan.launch_spike:g} on release "
                     f"day, back to x1 by day {plan.launch_days}")
    return "\n".join(lines)
