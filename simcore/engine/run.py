"""Run any scenario: its title kind's run (``simcore.kinds``), or, for a scenario with
``[[markets]]``, every market's run added up (``simcore.engine.markets``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from simcore import kinds
from simcore.scenario import LoadedScenario

if TYPE_CHECKING:
    import xarray as xr

def run(loaded: LoadedScenario, progress: Callable[[int], None] | None = None,
        point: int = 0, draws: np.ndarray | None = None) -> xr.Dataset:
    """Simulate every draw of a loaded scenario; return the ROAS dataset.

    Each draw samples its uncertain parameters, then delivers the campaign and simulates
    every user. A scenario with ``[[markets]]`` runs each market and adds them up (see
    ``simcore.engine.markets``). ``progress`` (optional) is called with 1 after each finished draw
    (of each market). ``point`` (a sweep point) picks the campaign and user streams; draw d's
    uncertain parameters are the same at every point. ``draws`` (optional) runs only those
    draw numbers: each draw's result is the same as in a run of all draws.
    """
    if loaded.scenario.markets:
        from simcore.engine.markets import run_markets

        return run_markets(loaded, progress, point, draws)
    return kinds.for_scenario(loaded).run(loaded, progress, point, draws)
