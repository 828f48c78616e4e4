"""The day and target ROAS a command judges a run at (``--day``, ``--target``, a budget scan's
``age``), checked against the run: one-line ``ScenarioError``s keyed by the flag."""

from __future__ import annotations

import math

from simcore.errors import ScenarioError

DEFAULT_DAY = 7             # age [days] of the ROAS a sweep prints unless told otherwise


def horizon(ds) -> int:
    """Last age of a run [days]."""
    return int(ds.age.values[-1])


def check_age(age, last: int, key: str, name: str = "day") -> int:
    """``age`` as a whole number of days in 0 .. ``last`` (the horizon)."""
    if isinstance(age, bool) or not hasattr(age, "__index__") or not 0 <= age <= last:
        raise ScenarioError(key, f"= {age!r}: not an age of the run (valid range: "
                            f"0 <= {name} <= {last}, the horizon)")
    return int(age)


def check_day(ds, day: int | None, key: str = "--day") -> int:
    """``day`` as an age within the run [days]; None = the age of the run's payback goal
    (``[goal] age``; the horizon without one)."""
    h = horizon(ds)
    if day is None:
        return min(int(ds.attrs.get("goal_age", h)), h)
    return check_age(day, h, key)


def check_target(target: float | None, key: str = "--target", ds=None) -> float:
    """``target`` as a finite ROAS > 0; None = the ROAS of the run ``ds``'s payback goal
    (``[goal] roas``), 1.0 (break-even) without one."""
    if target is None:
        return float(ds.attrs.get("goal_roas", 1.0)) if ds is not None else 1.0
    try:
        value = float(target)
    except (TypeError, ValueError):
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise ScenarioError(key, f"= {target!r}: the target ROAS must be a number > 0 "
                            "(1.0 = break-even)")
    return value
