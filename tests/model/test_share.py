"""Social fission: share users follow the branching process's expectation, the channels add
up to the totals, and an exploding process is refused."""

from __future__ import annotations

import numpy as np
import pytest

import simcore
from simcore.kinds.game.plan import compile_plan
from simcore.model.acquisition import expected_share_activations

BASE = ["campaign.days=3", "campaign.daily_budget_usd=300", "simulation.horizon_days=30",
        "campaign.daily_cost_volatility=0", "campaign.saturation_budget_usd=1e9"]


def with_share(*extra: str):
    return simcore.load_scenario("reborn_emperor_us").fixed().with_overrides(*BASE, *extra)


def test_share_users_follow_the_branching_expectation():
    loaded = with_share("simulation.draws=200", "share.shares_per_active_day=0.3",
                        "share.conversion=0.5", "share.window_days=25")
    plan = compile_plan(loaded.scenario)
    assert 0.3 < plan.fission.k_effective < 0.9
    ds = simcore.run(loaded)
    share = ds.activations_by_channel.sel(channel="share").values.astype(float)
    expected = expected_share_activations(plan, plan.acquisition.expected_activations())
    totals = share.sum(axis=1)
    se = totals.std(ddof=1) / np.sqrt(totals.size)
    assert abs(totals.mean() - expected.sum()) <= 5 * se, (totals.mean(), expected.sum(), se)
    # day by day, too
    se_day = share.std(axis=0, ddof=1) / np.sqrt(share.shape[0])
    ok = se_day > 0
    assert np.all(np.abs(share.mean(axis=0) - expected)[ok] <= 5 * se_day[ok])


def test_long_window_total_tends_to_k_over_one_minus_k():
    loaded = with_share("simulation.horizon_days=120", "share.shares_per_active_day=0.1",
                        "share.conversion=0.5", "share.window_days=900")
    plan = compile_plan(loaded.scenario)
    paid = plan.acquisition.expected_activations()
    total = expected_share_activations(plan, paid).sum()
    k = plan.fission.k_effective
    assert total == pytest.approx(paid.sum() * k / (1 - k), rel=1e-6)


def test_channels_add_up_and_paid_roas_is_below_blended():
    ds = simcore.run(with_share("simulation.draws=4", "share.shares_per_active_day=0.1",
                                "share.conversion=0.5", "share.window_days=6"))
    np.testing.assert_array_equal(ds.activations_by_channel.sum("channel"), ds.activations)
    revenue = (ds.revenue_iaa + ds.revenue_iap).sum("cohort")
    np.testing.assert_allclose(ds.revenue_by_channel.sum("channel"), revenue)
    assert (ds.spend.isel(cohort=slice(3, None)) == 0).all()          # sharing goes on
    assert (ds.activations_by_channel.sel(channel="share").isel(cohort=slice(3, None)) > 0).any()
    assert (ds.roas_paid <= ds.roas).all() and (ds.roas_paid < ds.roas).any()
    paid = ds.activations_by_channel.sel(channel="paid_ads").sum("cohort")
    np.testing.assert_array_equal(ds.cpa, ds.spend.sum("cohort") / paid)


def test_sharing_leaves_paid_users_unchanged():
    """Paid users keep their own streams: adding sharing changes only what sharing brings."""
    plain = simcore.run(with_share("simulation.draws=3"))
    shared = simcore.run(with_share("simulation.draws=3", "share.shares_per_active_day=0.1",
                                    "share.conversion=0.5"))
    np.testing.assert_array_equal(plain.roas_paid, shared.roas_paid)
    np.testing.assert_array_equal(plain.spend, shared.spend)


def test_exploding_sharing_needs_a_cap():
    with pytest.raises(simcore.ScenarioError, match="K-factor .* >= 1") as err:
        compile_plan(with_share("share.shares_per_active_day=2.0", "share.conversion=0.5")
                     .scenario)
    assert "share.shares_per_active_day" in str(err.value)
    capped = with_share("simulation.draws=2", "share.shares_per_active_day=2.0",
                        "share.conversion=0.5", "share.max_users_per_day=200",
                        "share.window_days=5")
    ds = simcore.run(capped)
    assert ds.activations_by_channel.sel(channel="share").max() <= 200


def test_cli_warns_when_sharing_would_explode_without_its_cap(tmp_path):
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "simcore", "run", "reborn_emperor_us", "--draws", "1",
         *[f"--set={s}" for s in BASE], "--set", "share.shares_per_active_day=2.0",
         "--set", "share.conversion=0.5", "--set", "share.max_users_per_day=50",
         "--set", "share.window_days=4"],
        capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "K-factor" in warnings[0] and "(50)" in warnings[0]
