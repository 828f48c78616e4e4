"""Scenario files: schema (pydantic models) and loading (TOML, overrides, one-line errors)."""

from simcore.scenario.loading import (DEFAULT_SCENARIO, LoadedScenario, load_scenario,
                                      packaged_scenarios, scenario_from_text)
from simcore.scenario.schema import Scenario

__all__ = ["DEFAULT_SCENARIO", "LoadedScenario", "Scenario", "load_scenario",
           "packaged_scenarios", "scenario_from_text"]
