"""A run's plans compiled on a thread beside the simulation (``PlansAhead``): the same plans and
dataset, bit for bit, as compiling every draw first, and a draw whose compile fails still
stops the run with its error."""

import threading
import time

import numpy as np
import pytest

from simcore.errors import ScenarioError
from simcore.kinds.game import simulate
from simcore.kinds.game.simulate import PlansAhead, draw_plans, run_market, simulate_plans
from simcore.scenario import load_scenario

SMALL = ["simulation.draws=6", "campaign.days=2", "simulation.horizon_days=30",
         "campaign.daily_budget_usd=300"]


def _loaded():
    return load_scenario("reborn_emperor_us", SMALL)


def test_same_plans_and_dataset_as_compiling_first():
    loaded = _loaded()
    plans, values = draw_plans(loaded)
    scenarios, _ = loaded.draw_scenarios()
    ahead = PlansAhead(loaded, scenarios)
    try:
        assert len(ahead) == len(plans)
        for mine, theirs in zip(ahead, plans):
            np.testing.assert_array_equal(mine.params, theirs.params)
            np.testing.assert_array_equal(mine.survival, theirs.survival)
            assert mine.retention == theirs.retention
    finally:
        ahead.close()
    ds = run_market(loaded)
    expected = simulate_plans(loaded, plans, values)
    for name in expected.data_vars:
        np.testing.assert_array_equal(ds[name].values, expected[name].values, err_msg=name)


def test_a_failing_draw_stops_the_run_with_its_error(monkeypatch):
    loaded = _loaded()
    scenarios, _ = loaded.draw_scenarios()
    compile_loaded = simulate.compile_loaded
    bad = scenarios[4]

    def failing(loaded_, scenario=None, *args):
        if scenario is bad:
            raise ScenarioError("retention.d7", "no bdw retention model reaches it")
        return compile_loaded(loaded_, scenario, *args)

    monkeypatch.setattr(simulate, "compile_loaded", failing)
    ahead = PlansAhead(loaded, scenarios)
    ahead._thread.join()                     # the thread has met the failing draw
    with pytest.raises(ScenarioError, match="no bdw retention model"):
        ahead[0]                             # raised at the next plan asked for, whichever
    ahead.close()
    monkeypatch.setattr(simulate.LoadedScenario, "draw_scenarios",
                        lambda self, point=0, draws=None: (scenarios, {"x": np.zeros(6)}))
    with pytest.raises(ScenarioError, match="no bdw retention model"):
        run_market(loaded)
    assert not [t for t in threading.enumerate() if t.name == "simcore-plans"]


def test_close_stops_compiling(monkeypatch):
    loaded = _loaded()
    scenarios, _ = loaded.draw_scenarios()
    compile_loaded = simulate.compile_loaded

    def slow(*args):
        time.sleep(0.01)
        return compile_loaded(*args)

    monkeypatch.setattr(simulate, "compile_loaded", slow)
    ahead = PlansAhead(loaded, scenarios * 50)   # 300 plans: far from done when closed
    ahead.close()
    assert not ahead._thread.is_alive()
    assert any(p is None for p in ahead._plans)
