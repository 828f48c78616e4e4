"""Scenario files: schema (pydantic models), loading (TOML, overrides, one-line errors),
uncertainty, regions and the reference. May import errors and seeding only (no kernel,
model, data, kinds or engine)."""

from simcore.scenario.loading import (
                                      DEFAULT_SCENARIO,
                                      LoadedScenario,
                                      load_scenario,
                                      packaged_scenarios,
                                      scenario_from_text,
)
from simcore.scenario.schema import Scenario

__all__ = ["DEFAULT_SCENARIO", "LoadedScenario", "Scenario", "load_scenario",
           "packaged_scenarios", "scenario_from_text"]
