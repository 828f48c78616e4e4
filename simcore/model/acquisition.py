"""A paid campaign, shared by every title kind: its cost model and funnel per calendar day
(``compile_acquisition``), the limits of what can be simulated exactly (``check_delivery``),
and its delivery in one draw: spend [USD] and activations per cohort."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from simcore.errors import ScenarioError
from simcore.scenario.describe import span_text
from simcore.scenario.schema import Campaign


@dataclass(frozen=True)
class Acquisition:
    """Campaign numbers per calendar day: cost model and funnel (CPM bidding)."""

    days: int
    budgets_usd: np.ndarray      # spend on each campaign day [USD/day], from the schedule
    bidding: str                 # "target_cpa" or "cpm"
    base_cost_usd: float         # CPA (target_cpa) or CPM at small budgets [USD]
    saturation_budget_usd: float | None
    saturation_shape: float
    funnel_rate: float           # activations per impression (cpm); 1.0 for target_cpa
    cost_volatility: float       # log-sd of the day-to-day unit cost

    def unit_cost(self, budget) -> np.ndarray:
        """CPA or CPM [USD] at daily budget(s) [USD/day], after saturation."""
        return saturated_cost(self.base_cost_usd, budget, self.saturation_budget_usd,
                              self.saturation_shape)

    @property
    def unit_costs_usd(self) -> np.ndarray:
        """Unit cost on each campaign day of the schedule [USD]."""
        return self.unit_cost(self.budgets_usd)

    @property
    def per_unit(self) -> float:
        """Activations per unit bought: 1 per CPA, 1000 impressions x the funnel per CPM."""
        return 1.0 if self.bidding == "target_cpa" else 1000.0 * self.funnel_rate

    def expected_activations(self) -> np.ndarray:
        """Mean activations on each campaign day (the day's cost movement has mean one); inf
        where a unit cost too small to divide by makes it overflow."""
        with np.errstate(over="ignore", divide="ignore"):
            return self.budgets_usd / self.unit_costs_usd * self.per_unit


# What one channel can bring on one calendar day: beyond these, a value is refused with the
# range that works (no real campaign comes near them; they keep every count and rate exact).
MAX_USERS_PER_DAY = 1e9          # activations per channel and day [users/day]
MAX_IMPRESSIONS_PER_DAY = 1e12   # ad impressions (cpm) or creator views per day
MAX_COST_FACTOR = 1e6            # saturation may raise the unit cost at most this much


def saturated_cost(base: float, budget, saturation_budget: float | None, shape: float):
    """Unit cost [USD] at daily budget(s) [USD/day]:
    base * (1 + (budget / saturation) ** shape)."""
    if saturation_budget is None:
        return base + 0.0 * np.asarray(budget, dtype=float)
    with np.errstate(over="ignore"):   # an overflow is refused by check_delivery
        return base * (1.0 + (np.asarray(budget, dtype=float) / saturation_budget) ** shape)


def compile_acquisition(c: Campaign) -> Acquisition:
    """The campaign's cost model and funnel, per calendar day."""
    if c.bidding == "target_cpa":
        base, funnel = c.target_cpa_usd, 1.0
    else:
        base, funnel = c.cpm_usd, c.anchor_ctr * c.load_success * c.first_play
    budgets = np.asarray(c.budgets(), dtype=float)
    return Acquisition(c.days, budgets, c.bidding, base, c.saturation_budget_usd,
                       c.saturation_shape, funnel, c.daily_cost_volatility)


def check_delivery(acq: Acquisition, reach: float = 0.0) -> None:
    """Refuse a campaign whose numbers cannot be simulated exactly, naming the range that
    works: unit cost raised more than ``MAX_COST_FACTOR`` by saturation, more than
    ``MAX_USERS_PER_DAY`` activations or ``MAX_IMPRESSIONS_PER_DAY`` impressions a day
    expected, or less than one activation over the whole campaign. ``reach`` [USD/day]: the
    highest daily budget UA rules can raise the schedule to (see ``rules_reach``)."""
    top = float(acq.budgets_usd.max())
    with np.errstate(over="ignore"):
        factor = acq.unit_cost(acq.budgets_usd) / acq.base_cost_usd   # saturation, >= 1
    if reach > top and reach > (limit := max_simulated_budget(acq)):
        raise ScenarioError("rules.max_daily_budget_usd", f"scale rules can raise the daily "
                            f"budget to {reach:.3g} USD/day, beyond the {limit:.4g} USD/day "
                            "that can be simulated at this unit cost; give every scale rule "
                            f"with factor > 1 a max_daily_budget_usd (valid range: <= "
                            f"{limit:.4g})")
    sat, shape = acq.saturation_budget_usd, acq.saturation_shape
    if sat is not None and top / sat > 0.0 \
            and shape * math.log(top / sat) > math.log(MAX_COST_FACTOR - 1.0):
        raise ScenarioError("campaign.saturation_budget_usd", f"= {sat:.4g}: at {top:.6g} USD/"
                            f"day the unit cost would rise more than {MAX_COST_FACTOR:.0e}-fold "
                            f"(valid range with saturation_shape {shape:g}: >= "
                            f"{top / (MAX_COST_FACTOR - 1.0) ** (1.0 / shape):.4g})")
    key = "campaign.target_cpa_usd" if acq.bidding == "target_cpa" else "campaign.cpm_usd"
    base = acq.base_cost_usd
    users = acq.expected_activations()
    # the smallest unit cost at which each day stays within the limit: users = budget /
    # (base x saturation factor) x per unit
    if acq.bidding == "cpm":
        impressions = float((users / acq.funnel_rate).max())
        if impressions > MAX_IMPRESSIONS_PER_DAY:
            least = float((acq.budgets_usd * 1000.0 / (factor * MAX_IMPRESSIONS_PER_DAY)).max())
            raise ScenarioError(key, f"= {base:.4g}: buys {impressions:.3g} impressions a day; "
                                f"at most {MAX_IMPRESSIONS_PER_DAY:.0e} are simulated (valid "
                                f"range: >= {least:.4g})")
    if users.max() > MAX_USERS_PER_DAY:
        least = float((acq.budgets_usd * acq.per_unit / (factor * MAX_USERS_PER_DAY)).max())
        raise ScenarioError(key, f"= {base:.4g}: buys {users.max():.3g} activations a day; at "
                            f"most {MAX_USERS_PER_DAY:.0e} a day are simulated (valid range: "
                            f">= {least:.4g})")
    if users.sum() < 1.0:
        raise ScenarioError(key, f"= {base:.4g}: the campaign buys {users.sum():.3g} "
                            f"activations in expectation over its {acq.days} days "
                            f"({acq.budgets_usd.sum():.4g} USD in all), too few to measure "
                            f"ROAS: raise campaign.daily_budget_usd, or lower {key} (valid "
                            f"range at these budgets: <= {base * users.sum():.4g})")


def max_simulated_budget(acq: Acquisition) -> float:
    """The largest daily budget [USD/day] ``check_delivery`` accepts at this unit cost: the
    saturation factor and the activations (and impressions) a day within their limits
    (saturation ignored for the latter, so the bound is safe)."""
    limits = [MAX_USERS_PER_DAY * acq.base_cost_usd / acq.per_unit]
    if acq.bidding == "cpm":
        limits.append(MAX_IMPRESSIONS_PER_DAY * acq.base_cost_usd / 1000.0)
    if acq.saturation_budget_usd is not None:
        limits.append(acq.saturation_budget_usd
                      * (MAX_COST_FACTOR - 1.0) ** (1.0 / acq.saturation_shape))
    return min(limits)


def rules_reach(rules, acq: Acquisition) -> float:
    """The highest daily budget [USD/day] scale rules can reach: each rule fires at most once
    a day, from day 1; a rule's ``max_daily_budget_usd`` caps every budget after it fires."""
    growth = [r for r in rules if r.action == "scale" and r.factor > 1.0]
    if not growth:
        return 0.0
    caps = [r.max_daily_budget_usd for r in growth]
    if all(c is not None for c in caps):
        return max(caps)
    factor = math.prod(r.factor for r in growth)
    return float(acq.budgets_usd.max()) * factor ** max(acq.days - 1, 0)


def cost_moves(acq: Acquisition, rng: np.random.Generator) -> np.ndarray:
    """Mean-one lognormal movement of the unit cost on each campaign day."""
    sigma = acq.cost_volatility
    return np.exp(sigma * rng.standard_normal(acq.days) - 0.5 * sigma**2)


def buy(acq: Acquisition, spend, unit_cost, rng: np.random.Generator) -> np.ndarray:
    """Activations bought with ``spend`` [USD] at ``unit_cost`` [USD] (per day, or arrays).

    Target CPA: Poisson(spend / CPA); CPM: spend / CPM * 1000 impressions, each activating
    with the funnel rate (binomial).
    """
    if acq.bidding == "target_cpa":
        activations = rng.poisson(np.asarray(spend) / unit_cost)
    else:
        impressions = np.floor(np.asarray(spend) / unit_cost * 1000.0).astype(np.int64)
        activations = rng.binomial(impressions, acq.funnel_rate)
    return np.asarray(activations, dtype=np.int64)


def deliver(acq: Acquisition, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(spend [USD], activations) per cohort (= campaign day) for one draw of the schedule.

    The day's unit cost is its saturated cost times the day's cost movement. Buying day by
    day with ``buy`` after ``cost_moves`` (as a policy does) uses the stream the same way.
    """
    moves = cost_moves(acq, rng)
    spend = acq.budgets_usd.copy()
    return spend, buy(acq, spend, acq.unit_costs_usd * moves, rng)


def expected_share_activations(plan, paid: np.ndarray) -> np.ndarray:
    """Expected share activations on each calendar day, given paid activations by day.

    The branching process in expectation: arrivals on day t are k * E[DAU(t - 1)] (at most
    ``share.max_users_per_day``), and E[DAU(t)] sums every earlier cohort (paid and share)
    times its expected active share at age t - c (retention, intermittent play). With
    effective K-factor K < 1, no cap and a long window, the total tends to
    sum(paid) * K / (1 - K).
    """
    from simcore.model.retention import active_share

    f, ret, n = plan.fission, plan.retention, plan.n_cohorts
    active = active_share(np.arange(plan.horizon + 1), ret.alpha, ret.beta, ret.c,
                          ret.play_probability)
    cohorts = np.zeros(n)
    cohorts[:paid.size] = paid
    share = np.zeros(n)
    dau = np.zeros(n + plan.horizon)
    for t in range(n):
        if 0 < t < f.window_days:
            share[t] = f.k_per_active_day * dau[t - 1]
            if f.max_users_per_day is not None:
                share[t] = min(share[t], f.max_users_per_day)
        dau[t:t + plan.horizon + 1] += (cohorts[t] + share[t]) * active
    return share


def acquisition_lines(a) -> list[str]:
    """The campaign as bought: spend, unit cost and expected activations per day."""
    cost = "CPA" if a.bidding == "target_cpa" else "CPM"
    return ["", "[resolved.acquisition]",
            f"  spend: {a.budgets_usd.sum():,.0f} USD over {a.days} days "
            f"({span_text(a.budgets_usd, ',.0f')} USD/day)",
            f"  unit cost at these budgets: {cost} {span_text(a.unit_costs_usd, '.4g')} USD",
            f"  expected activations per day: {span_text(a.expected_activations(), ',.0f')}"]
