"""``--set dotted.key=value`` overrides, applied to parsed TOML before validation."""

from __future__ import annotations

import copy
import tomllib
from typing import Any

from simcore.errors import ScenarioError

MAX_NESTING = 32                # deepest nesting of arrays and tables in a scenario
TOO_DEEP = (f"nested too deeply: arrays and tables may nest at most {MAX_NESTING} levels "
            "(MAX_NESTING)")

def parse_override(item: str, source: str) -> tuple[list[str], Any]:
    """``dotted.key=value`` -> (key parts, TOML-typed value; bare words stay strings).

    A top-level list of tables (``rules=[{...}]``, ``correlations=[{...}]``) is set whole.
    """
    key, sep, raw = item.partition("=")
    key = key.strip()
    parts = key.split(".")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    except RecursionError:
        raise ScenarioError(key, TOO_DEEP, source) from None
    if not sep or not all(parts) or (len(parts) < 2 and not isinstance(value, list)):
        raise ScenarioError(key or item, "--set needs section.key=value, e.g. "
                            "--set campaign.daily_budget_usd=5000", source)
    return parts, value


def apply_overrides(data: dict, overrides, source: str) -> dict:
    """A copy of ``data`` with each ``dotted.key=value`` set (validated later, as a whole)."""
    data = copy.deepcopy(data)
    for item in overrides:
        parts, value = parse_override(item, source)
        node = data
        for i, part in enumerate(parts[:-1]):
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ScenarioError(".".join(parts[: i + 1]), "is a value, not a section",
                                    source)
            node = child
        node[parts[-1]] = value
    return data
