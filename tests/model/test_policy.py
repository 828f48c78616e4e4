"""UA rules: budgets follow only what was visible, a stop takes effect the next day, and rules
that never fire change nothing."""

from __future__ import annotations

import math

import numpy as np
import pytest

import simcore
from simcore.model.ua_rules import Policy
from simcore.scenario.schema import RULE_METRICS, Rule

BASE = ["simulation.draws=3", "campaign.days=6", "campaign.daily_budget_usd=500",
        "simulation.horizon_days=10"]


def scenario(rules: str | None = None):
    loaded = simcore.load_scenario("reborn_emperor_us", BASE)
    return loaded if rules is None else loaded.with_overrides(f"rules={rules}")


def test_rules_that_never_fire_change_nothing():
    plain = simcore.run(scenario())
    ruled = simcore.run(scenario('[{metric="roas_d0", below=1e-9, action="stop"}, '
                                 '{metric="cpa", above=1e5, action="scale", factor=2.0}]'))
    for name in plain.data_vars:
        np.testing.assert_array_equal(plain[name].values, ruled[name].values, err_msg=name)


def test_a_stop_rule_stops_spending_the_day_after_it_triggers():
    # yesterday's cohort D0 ROAS is always below 100: first visible at the start of day 1
    ds = simcore.run(scenario('[{metric="roas_d0", below=100.0, action="stop"}]'))
    np.testing.assert_array_equal(ds.spend.values, [[500.0] + [0.0] * 5] * 3)
    assert (ds.activations.isel(cohort=slice(1, None)) == 0).all()
    # D1 ROAS of day 0's cohort is visible at the start of day 2: one more day of spend
    ds = simcore.run(scenario('[{metric="roas_d1", below=100.0, action="stop"}]'))
    np.testing.assert_array_equal(ds.spend.values, [[500.0, 500.0] + [0.0] * 4] * 3)


def test_scale_rule_compounds_up_to_its_cap():
    ds = simcore.run(scenario('[{metric="roas_d0", above=0.0, action="scale", factor=1.2, '
                              'max_daily_budget_usd=800.0}]'))
    expected = [500.0, 600.0, 720.0, 800.0, 800.0, 800.0]
    np.testing.assert_allclose(ds.spend.values, [expected] * 3)


def _policy_with_history(day: int, revenue: np.ndarray, poison: float) -> Policy:
    """A policy at the start of ``day``; entries not yet visible (k + a >= day) = poison."""
    rules = tuple(Rule(metric=m, below=0.0, action="stop") for m in RULE_METRICS)
    policy = Policy(rules, np.full(6, 100.0))
    for k in range(day):
        seen = revenue[k].copy()
        seen[max(day - k, 0):] = poison
        policy.observe(k, 100.0, 50 + k, seen)
    return policy


@pytest.mark.parametrize("day", [1, 2, 3, 5])
def test_metrics_never_read_numbers_not_yet_seen(day):
    rng = np.random.default_rng(3)
    revenue = rng.uniform(0, 40, size=(6, 11))
    honest = _policy_with_history(day, revenue, poison=0.0)
    poisoned = _policy_with_history(day, revenue, poison=1e12)
    for metric in RULE_METRICS:
        a, b = honest.metric(metric, day), poisoned.metric(metric, day)
        assert (math.isnan(a) and math.isnan(b)) or a == b, (metric, a, b)
    # and the visible numbers are the ones a UA manager would compute
    assert honest.metric("roas_d0", day) == pytest.approx(revenue[day - 1, 0] / 100.0)
    assert honest.metric("cpa", day) == pytest.approx(100.0 / (50 + day - 1))
    seen = sum(revenue[k, :day - k].sum() for k in range(day))
    assert honest.metric("cumulative_roas", day) == pytest.approx(seen / (100.0 * day))
    if day >= 2:
        assert honest.metric("roas_d1", day) == pytest.approx(revenue[day - 2, :2].sum() / 100)
    else:
        assert math.isnan(honest.metric("roas_d1", day))


@pytest.mark.parametrize("rules, message", [
    ('[{metric="roas_d5", below=0.6, action="stop"}]', "rules.0.metric"),
    ('[{metric="roas_d0", below=0.6, above=1.1, action="stop"}]', "exactly one of below"),
    ('[{metric="roas_d0", above=1.1, action="scale"}]', "rules.factor"),
])
def test_bad_rules_are_one_line_errors(rules, message):
    with pytest.raises(simcore.ScenarioError, match=message.replace(".", r"\.")) as err:
        scenario(rules)
    assert "\n" not in str(err.value)


def test_validate_lists_the_rules():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "simcore", "validate", "reborn_emperor_us",
                          "--set", 'rules=[{metric="roas_d0", below=0.6, action="stop"}]'],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "[[rules]]\n  metric = 'roas_d0'\n  below = 0.6\n  action = 'stop'" in out.stdout
