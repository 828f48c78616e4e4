"""Each market's scenario, resolved and validated when a scenario loads.

A ``[[markets]]`` table becomes a full scenario: the scenario's values (which describe its
own ``campaign.region``) moved to the market's region levels (``simcore.scenario.regions``:
unit cost, eCPMs, purchase values scaled by the ratio of the indices; the region's tax rate),
the daily budget and the shared traffic times the market's budget share, then the market's ``set``
overrides. The loader resolves every market, so ``simcore validate`` refuses what
``simcore run`` would refuse, and a bad value is named as ``markets.1 (JP).set."key"``.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from simcore.errors import ScenarioError
from simcore.scenario.regions import REGION_LEVELS

if TYPE_CHECKING:
    from simcore.scenario.loading import LoadedScenario

BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")   # a key part TOML writes without quotes


def quoted(part: str) -> str:
    """A key part as TOML writes it: bare when it can be, else a quoted string."""
    return part if BARE_KEY.fullmatch(part) else json.dumps(part)


def toml_value(value) -> str:
    """A value as TOML text, for an override."""
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{quoted(str(k))} = {toml_value(v)}"
                                for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, str):
        return json.dumps(value)
    return repr(value)


def move_overrides(loaded: LoadedScenario, i: int) -> list[str]:
    """The overrides that move the scenario to market ``i``'s region and budget share.

    The market's share of the budget also splits what the scenario states for all markets
    together: creator videos, organic arrivals (search, profile, Mini Games Center scale) and
    the daily-budget caps of UA rules.
    """
    s = loaded.scenario
    market = s.markets[i]
    base = REGION_LEVELS[s.campaign.region]
    level, share = REGION_LEVELS[market.region], market.budget_share
    split = {"campaign.daily_budget_usd": share}
    if s.campaign.bidding == "target_cpa":
        split["campaign.target_cpa_usd"] = level.cost_index / base.cost_index
    else:
        split["campaign.cpm_usd"] = level.cost_index / base.cost_index
    if s.ads is not None:
        ratio = level.ecpm_index / base.ecpm_index
        split |= {"ads.ecpm_rewarded_usd": ratio, "ads.ecpm_interstitial_usd": ratio}
    if s.iap is not None:
        key = "iap.gamma" if s.iap.gamma is not None else "iap.arppu_d30_usd"
        split[key] = level.price_index / base.price_index
    if s.creator is not None:
        split["creator.videos_per_day"] = share
    if s.organic is not None:
        split |= {f"organic.{k}": share for k in ("search_per_day", "profile_per_day",
                                                    "games_center_scale")}
    overrides = ["markets=[]", f'campaign.region="{market.region}"']
    if s.campaign.daily_budgets_usd is not None:
        overrides.append("campaign.daily_budgets_usd="
                         + toml_value([b * share for b in s.campaign.daily_budgets_usd]))
    if s.iap is not None and market.region != s.campaign.region:
        overrides.append(f"iap.tax_rate={level.tax_rate!r}")
    if s.rules:
        rules = [{k: v for k, v in r.model_dump().items() if v is not None} for r in s.rules]
        for r in rules:
            if "max_daily_budget_usd" in r:
                r["max_daily_budget_usd"] *= share
        overrides.append(f"rules={toml_value(rules)}")
    # each scaled field is independent of the overrides above, so it is scaled from here
    overrides += [loaded.scaled_override(key, factor) for key, factor in split.items()
                  if factor != 1.0]
    return overrides


def resolve_markets(loaded: LoadedScenario) -> tuple[LoadedScenario, ...]:
    """The validated scenario of each market, in ``[[markets]]`` order.

    A problem is one ``ScenarioError`` naming the market, its region and the key: the
    ``set`` entry (``markets.1 (JP).set."ads.fill_rate_rewarded"``) when the market's own
    value is refused, else the field that moving to the region put out of range.
    """
    out = []
    for i, market in enumerate(loaded.scenario.markets):
        where = f"markets.{i} ({market.region})"
        own = [f"{k}={toml_value(v)}" for k, v in market.set.items()]
        try:
            move = move_overrides(loaded, i)
            out.append(loaded.with_overrides(*move, *own))
        except ScenarioError as err:
            raise _market_error(loaded, i, where, own, err).with_source(loaded.source) \
                from None
    return tuple(out)


def _market_error(loaded: LoadedScenario, i: int, where: str, own: list[str],
                  err: ScenarioError) -> ScenarioError:
    """Name the ``set`` entry the error is about, or say that the region move caused it."""
    market = loaded.scenario.markets[i]
    moved = f"after moving the scenario to {market.region}'s levels (simcore/regions.py)"
    if own:
        try:
            loaded.with_overrides(*move_overrides(loaded, i))
        except ScenarioError as bare:        # the move alone fails: not the set's doing
            err = bare
        else:
            for key in market.set:
                name = ".".join(quoted(p) for p in key.split("."))
                if err.key == name or name.startswith(err.key + "."):
                    return ScenarioError(f"{where}.set.{quoted(key)}", err.message)
                if err.key.startswith(name + "."):       # an argument of a distribution
                    return ScenarioError(f"{where}.set.{quoted(key)}{err.key[len(name):]}",
                                         err.message)
            return ScenarioError(f"{where}: {err.key}" if err.key else where,
                                 f"{err.message} (with this market's set)")
    return ScenarioError(f"{where}: {err.key}" if err.key else where,
                         f"{err.message} ({moved})")


def market_scenarios(loaded: LoadedScenario) -> list[LoadedScenario]:
    """The scenario of each market, in ``[[markets]]`` order (resolved when it loaded)."""
    if len(loaded.markets) == len(loaded.scenario.markets):
        return list(loaded.markets)
    return list(resolve_markets(loaded))
