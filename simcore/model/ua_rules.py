"""UA rules as a policy: each campaign day's budget from what a UA manager has seen so far.

At the start of day d the policy reads only cohorts and ages already over: cohort k at age a
is visible when k + a <= d - 1. It never sees today's or later numbers, so a simulated policy
is one a person could have run.
"""

from __future__ import annotations

import math

import numpy as np

from simcore.scenario.schema import Rule


class Policy:
    """Daily budgets for one draw under ``rules``; call ``budget(day)`` then ``observe(...)``.

    ``planned`` [USD/day] is the schedule's budget for each campaign day.
    """

    def __init__(self, rules: tuple[Rule, ...], planned: np.ndarray):
        self.rules = rules
        self.planned = np.asarray(planned, dtype=float)
        days = self.planned.size
        self.spend = np.zeros(days)
        self.activations = np.zeros(days)
        self.revenue: np.ndarray | None = None   # [cohort, age] net revenue [USD]
        self.multiplier = 1.0
        self.cap = math.inf                      # USD/day, from fired scale rules
        self.stopped_on: int | None = None       # first day without spend after a stop
        self.fired: list[tuple[int, int]] = []   # (day, rule index)

    def metric(self, name: str, day: int) -> float:
        """The metric as known at the start of ``day`` (NaN when not yet observable)."""
        if self.revenue is None or day < 1:
            return math.nan
        if name == "cpa":
            k = day - 1
            return self.spend[k] / self.activations[k] if self.activations[k] > 0 else math.nan
        if name == "cumulative_roas":
            # cohort k is visible through age day - 1 - k
            seen = sum(self.revenue[k, :day - k].sum() for k in range(day))
            spent = self.spend[:day].sum()
            return seen / spent if spent > 0 else math.nan
        age = int(name.removeprefix("roas_d"))
        k = day - 1 - age
        if k < 0 or age >= self.revenue.shape[1] or self.spend[k] <= 0:
            return math.nan
        return self.revenue[k, :age + 1].sum() / self.spend[k]

    def budget(self, day: int) -> float:
        """Apply the rules on what is known at the start of ``day``; the day's budget [USD]."""
        if self.stopped_on is None:
            for i, rule in enumerate(self.rules):
                value = self.metric(rule.metric, day)
                if math.isnan(value):
                    continue
                hit = value < rule.below if rule.below is not None else value > rule.above
                if not hit:
                    continue
                self.fired.append((day, i))
                if rule.action == "stop":
                    self.stopped_on = day
                    break
                self.multiplier *= rule.factor
                if rule.max_daily_budget_usd is not None:
                    self.cap = min(self.cap, rule.max_daily_budget_usd)
        if self.stopped_on is not None:
            return 0.0
        return float(min(self.planned[day] * self.multiplier, self.cap))

    def observe(self, day: int, spend: float, activations: int, revenue: np.ndarray) -> None:
        """Record day ``day``'s cohort: its spend, activations and net revenue by age [USD]."""
        if self.revenue is None:
            self.revenue = np.zeros((self.planned.size, revenue.size))
        self.spend[day], self.activations[day] = spend, activations
        self.revenue[day] = revenue
