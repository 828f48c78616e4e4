"""A tiny drama scenario for tests (valid, seconds to run), and replicate helpers."""

from __future__ import annotations

import numpy as np

from simcore.kinds.drama.plan import compile_drama
from simcore.kinds.drama.simulate import simulate_groups
from simcore.scenario import scenario_from_text
from tests.cli_helpers import render

# Values are TOML literals, so a test can put in any TOML value.
TINY: dict[str, dict[str, str]] = {
    "title": {"name": '"Tiny Drama"', "kind": '"drama"'},
    "simulation": {"seed": "7", "draws": "3", "horizon_days": "40"},
    "campaign": {"region": '"US"', "days": "2", "daily_budget_usd": "600.0",
                 "bidding": '"target_cpa"', "target_cpa_usd": "0.3"},
    "series": {"episodes": "30", "free_episodes": "8", "continuation": "0.92",
               "continuation_concentration": "5.0", "cliffhanger_episodes": "[4, 12, 20]",
               "cliffhanger_dropoff_ratio": "0.4", "episodes_per_day": "5.0",
               "pace_shape": "2.0", "watch_probability": "0.7"},
    "unlocks": {"coins_per_episode": "60", "later_coins_per_episode": "80",
                "later_price_from_episode": "20", "pack_coins": "[500, 1050, 2200]",
                "pack_prices_usd": "[4.99, 9.99, 19.99]", "coins_probability": "0.2",
                "pass_probability": "0.1", "ad_probability": "0.2",
                "coins_repurchase": "0.6", "weekly_pass_usd": "14.99",
                "monthly_pass_usd": "39.99", "weekly_pass_share": "0.7",
                "pass_renewal": "0.5", "ad_ecpm_usd": "15.0", "ad_developer_share": "0.7",
                "tiktok_pay_share": "0.6", "tiktok_pay_discount": "0.1",
                "price_elasticity": "1.0", "platform_fee": "0.3", "refund_rate": "0.02"},
    "deal": {"licence_fee_usd": "5000.0", "ad_share_rpm_usd": "4.0", "ad_share": "0.5",
             "production_budget_usd": "20000.0", "launch_spike": "3.0", "launch_days": "8"},
    "organic": {"search_per_day": "300.0", "profile_per_day": "200.0", "days": "3"},
}


def scenario_text(put: dict[str, str] | None = None, drop: tuple[str, ...] = (),
                  add: dict[str, dict[str, str]] | None = None) -> str:
    """TOML of the tiny scenario without the ``drop`` keys or sections, with ``put``
    (dotted key -> TOML literal) and the ``add`` sections."""
    sections = {name: dict(keys) for name, keys in TINY.items()}
    for key in drop:
        section, _, name = key.partition(".")
        if name:
            del sections[section][name]
        else:
            del sections[section]
    for key, value in (put or {}).items():
        section, name = key.split(".")
        sections.setdefault(section, {})[name] = value
    return render({**sections, **(add or {})})


def tiny(*overrides: str, drop: tuple[str, ...] = ()):
    """The tiny drama scenario, loaded, without the ``drop`` keys (dotted) or sections and
    with ``dotted.key=value`` overrides."""
    return scenario_from_text(scenario_text(drop=drop), "tiny_drama.toml", tuple(overrides))


def tiny_plan(*overrides: str, drop: tuple[str, ...] = ()):
    return compile_drama(tiny(*overrides, drop=drop).scenario)


def replicates(plan, n_viewers: int, n_reps: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-viewer sums [rep, row, age] and episode reach [rep, episode] of independent
    cohorts of ``n_viewers`` (one per draw)."""
    sums, reach = zip(*(simulate_groups(plan, d, [(0, n_viewers, 12)]) for d in
                        range(n_reps)))
    return np.stack([s[0] for s in sums]) / n_viewers, np.stack([r[0] for r in reach]) \
        / n_viewers
