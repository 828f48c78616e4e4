"""A game channel's response to its daily budget: every budget of a grid from one simulation.

For the allocation study (``simcore.studies.allocation``): a market's paid ads (or its creator
programme) run at budgets b_1 < ... < b_K [USD/day], each day's schedule scaled in proportion
(flat, ramp and pulse shapes kept). What is simulated once, at the top budget:

* the draw's uncertain parameters and the day's cost movements, as in any run;
* each day's activations at every budget by inversion of their distribution at ONE uniform
  per day (paid ads: Poisson(spend / CPA) for target CPA, binomial(impressions, funnel) for
  CPM; creators: Poisson videos, each video's lognormal views in a fixed order, Poisson
  activations of the views bought). At a common uniform the inverse distribution function
  grows with its mean, so the users bought at b_k are a subset of those at b_(k+1)
  (nested), and at every single budget the count has exactly its model distribution;
* the users in segments: segment k is the users bought at b_k but not at b_(k-1), simulated
  by the kernel on the streams sweep point k would use, so segments are independent and the
  users at b_k (segments 1..k) are an exact sample of that many users.

So every budget's response has the distribution a separate run at that budget has, and the
budgets share their draws, cost movements and users (common random numbers, more tightly
than separate runs: a separate run redraws the counts). The cost is one run at the top budget
instead of one per budget, and only the channel's own users are simulated (organic and share
users do not enter a channel's account). Numbers differ, bit for bit, from ``simcore run`` at
the same budget (that run draws its counts with ``rng.poisson``); the equivalence test in
``tests/kinds/test_budget_response.py`` compares the distributions.

Not covered (``nested_ok`` says so, and the study runs each budget on its own): UA rules
(the budget of a day depends on what earlier days brought), a schedule given day by day, and
a cost model in which more budget buys fewer expected users (saturation shape > 1 far past
the saturation budget): nesting needs expected users to grow with the budget.
"""

from __future__ import annotations

import math

import numpy as np

from simcore import seeding
from simcore.errors import ScenarioError
from simcore.model.acquisition import cost_moves

CHANNELS = ("paid_ads", "creator")       # channels whose budget is a decision
MAX_VIDEOS_PER_DAY = 1e6                 # creator videos a budget may buy a day


def _uniforms(rng: np.random.Generator, n: int) -> np.ndarray:
    """n uniforms strictly inside (0, 1) (an inverse distribution function is finite there)."""
    return (rng.integers(0, 2**53, n) + 0.5) / 2.0**53


def expected_paid_users(acq, budgets: np.ndarray, daily_budget: float) -> np.ndarray:
    """Expected paid activations [budget, day] at each daily budget [USD/day] (cost movement
    of mean one), the schedule scaled from ``daily_budget`` [USD/day]."""
    day = acq.budgets_usd[None, :] * (np.asarray(budgets, dtype=float)[:, None] / daily_budget)
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        return day / acq.unit_cost(day) * acq.per_unit


def video_cost_usd(cr) -> float:
    """Expected payment per creator video [USD]: views per video (lognormal mean) x USD per
    view."""
    return cr.usd_per_view * math.exp(cr.log_views_median + 0.5 * cr.log_views_sd ** 2)


def nested_ok(loaded, channel: str, budgets: np.ndarray) -> bool:
    """Whether ``budget_response`` applies (see the module docstring)."""
    from simcore.kinds.game.plan import compile_loaded

    s = loaded.scenario
    if s.rules or s.campaign.budget_schedule == "list":
        return False
    if channel == "creator":
        return True
    plan = compile_loaded(loaded)
    users = expected_paid_users(plan.acquisition, np.sort(budgets),
                                float(s.campaign.daily_budget_usd))
    return bool(np.all(np.diff(users, axis=0) >= 0))


def check_channel(loaded, channel: str, top_usd: float, source=None) -> None:
    """Refuse a channel whose budget cannot be a decision, in one line."""
    from simcore.kinds.game.plan import compile_loaded

    if channel == "paid_ads":
        return
    cr = compile_loaded(loaded).creators
    if cr is None:
        raise ScenarioError("--over", "channels: the scenario has no [creator] programme to "
                            "give a budget to", source)
    if cr.usd_per_view <= 0:
        raise ScenarioError("creator.payment", "creators paid by revenue share (or 0 USD per "
                            "1,000 views) have no budget to allocate; give "
                            "creator.usd_per_1000_views > 0", source)
    videos = top_usd / video_cost_usd(cr)
    if videos > MAX_VIDEOS_PER_DAY:
        raise ScenarioError("--max", f"{top_usd:.4g} USD/day buys {videos:.3g} creator "
                            f"videos a day at {video_cost_usd(cr):.3g} USD a video; at most "
                            f"{MAX_VIDEOS_PER_DAY:.0e} are simulated (valid range: <= "
                            f"{MAX_VIDEOS_PER_DAY * video_cost_usd(cr):.4g} USD/day)", source)


def _paid_counts(plan, budgets: np.ndarray, daily_budget: float, draw: int,
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Spend [budget, day] [USD] and nested activations [budget, day] of paid ads."""
    from scipy.stats import binom, poisson

    acq = plan.acquisition
    rng = seeding.acquisition_rng(plan.seed, draw, 0, plan.market)
    moves = cost_moves(acq, rng)
    u = _uniforms(rng, acq.days)
    spend = acq.budgets_usd[None, :] * (budgets[:, None] / daily_budget)
    unit = acq.unit_cost(spend) * moves[None, :]
    if acq.bidding == "target_cpa":
        users = poisson.ppf(u[None, :], spend / unit)
    else:
        impressions = np.floor(spend / unit * 1000.0)
        users = binom.ppf(u[None, :], impressions, acq.funnel_rate)
    return spend, np.asarray(users, dtype=np.int64)


def _creator_counts(plan, budgets: np.ndarray, draw: int) -> tuple[np.ndarray, np.ndarray]:
    """Spend [budget, day] [USD] and nested activations [budget, day] of creator videos."""
    from scipy.stats import poisson

    cr = plan.creators
    rng = seeding.draw_rng(seeding.CREATOR, plan.seed, draw, 0, plan.market)
    per_video = video_cost_usd(cr)
    spend = np.zeros((budgets.size, cr.days))
    users = np.zeros((budgets.size, cr.days), dtype=np.int64)
    for day in range(cr.days):
        u_videos, u_users = _uniforms(rng, 2)
        videos = poisson.ppf(u_videos, budgets / per_video).astype(np.int64)
        views = np.concatenate([[0.0], np.cumsum(rng.lognormal(
            cr.log_views_median, cr.log_views_sd, int(videos[-1])))])[videos]
        spend[:, day] = views * cr.usd_per_view
        users[:, day] = poisson.ppf(u_users, views * cr.activation_per_view)
    return spend, users


def budget_response(loaded, budgets, draws, market: int = 0, channel: str = "paid_ads",
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Spend [budget, draw, cohort] [USD] and net revenue [budget, draw, cohort, age] [USD]
    of the users ``channel`` buys at each daily budget in ``budgets`` (ascending, > 0) [USD/day],
    for draws ``draws`` of ``loaded`` on the streams of market key ``market``; nested as the
    module docstring says. Cohorts are the campaign's (or the creator programme's) days."""
    from simcore.kinds.game.simulate import draw_plans, simulate_groups

    budgets = np.asarray(budgets, dtype=float)
    if np.any(np.diff(budgets) <= 0) or budgets[0] <= 0:
        raise ValueError("budgets must be positive and ascending")
    draws = np.asarray(draws, dtype=np.int64)
    plans, _ = draw_plans(loaded, draws=draws)
    daily = float(loaded.scenario.campaign.daily_budget_usd)
    stream = seeding.CHANNEL_USERS[channel]
    out_spend, out_revenue = None, None
    for i, (plan, draw) in enumerate(zip(plans, draws)):
        plan = plan.in_market(market) if market else plan
        if channel == "paid_ads":
            spend, users = _paid_counts(plan, budgets, daily, int(draw))
        else:
            spend, users = _creator_counts(plan, budgets, int(draw))
        if out_spend is None:
            out_spend = np.zeros((budgets.size, draws.size, spend.shape[1]))
            out_revenue = np.zeros((budgets.size, draws.size, spend.shape[1],
                                    plan.horizon + 1))
        out_spend[:, i] = spend
        own = plan.for_channel(channel)
        below = np.zeros(users.shape[1], dtype=np.int64)
        running = np.zeros((users.shape[1], plan.horizon + 1))
        for k in range(budgets.size):
            new = users[k] - below
            if np.any(new < 0):          # cannot happen when nested_ok holds
                raise RuntimeError("activations fall as the budget grows: not nested")
            groups = [(day, int(n), stream) for day, n in enumerate(new) if n > 0]
            if groups:
                sums = simulate_groups(own, int(draw), groups, point=k)
                for (day, _, _), block in zip(groups, sums):
                    running[day] += own.money.net_revenue(block)
            out_revenue[k, i] = running
            below = users[k]
    return out_spend, out_revenue
