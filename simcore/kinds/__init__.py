"""Title kinds (a mini-game, a micro-drama series) behind one protocol, chosen in this one place.

The engine, the studies, the summary, the figures and the report ask this registry for the kind
of a scenario (``for_scenario``) or of a dataset (``for_dataset``: its ``kind`` attribute; files
written before datasets carried one read as games) and call the ``TitleKind`` it returns; they
never import a concrete kind. Adding a kind means a folder here (its ``kind.py`` holding
``KIND``) and a line in ``_MODULES`` and ``FIGURES``.

May import: everything below the kinds (kernel, scenario, model, data, analysis, figures);
concrete kinds are imported lazily, by name, from ``_MODULES``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    import numpy as np
    import xarray as xr

    from simcore.scenario import LoadedScenario

# kind name -> module holding its TitleKind as ``KIND`` (imported on first use)
_MODULES = {"game": "simcore.kinds.game.kind", "drama": "simcore.kinds.drama.kind"}
# figure kinds of each title kind, beside the shared ones (simcore.figures.SHARED): listed here
# so the CLI can offer them without importing matplotlib or a kind
FIGURES = {"game": (), "drama": ("funnel", "sources", "pnl")}
NAMES = tuple(_MODULES)     # the title kinds, as ``[title] kind`` names them
DEFAULT = "game"            # what a dataset without a ``kind`` attribute is


class TitleKind(Protocol):
    """What the shared layers need of a title kind."""

    name: str
    sweep_outcomes: dict        # extra per-(point, draw) outcomes of a sweep: name -> (dims
                                #   after draw, units, long name), as
                                #   simcore.studies.sweeps.OUTCOMES
    calibration: Any            # its report model for simcore.studies.calibration (check,
                                #   central, series, plans, log_likelihood, replicate,
                                #   forecast_dataset, keep_observed); None: not calibratable
    budget_response: Any        # every budget of a grid from one simulation, for
                                #   simcore.studies.allocation (nested_ok, check_channel,
                                #   budget_response); None: each budget is
                                #   run on its own, markets only

    def plans(self, loaded: LoadedScenario, scenarios: list) -> list:
        """The compiled plan of each scenario (one per parameter set or draw) of ``loaded``;
        a compile error names the file."""

    def compile(self, loaded: LoadedScenario) -> Any:
        """The plan of ``loaded`` at its medians (checks that the scenario compiles)."""

    def simulate_plans(self, loaded: LoadedScenario, plans: list, values: dict, point: int = 0,
                       progress: Callable[[int], None] | None = None,
                       streams: np.ndarray | None = None) -> xr.Dataset:
        """The run dataset of ``plans`` (draw i on the streams of draw ``streams[i]``)."""

    def run(self, loaded: LoadedScenario, progress: Callable[[int], None] | None = None,
            point: int = 0, draws: np.ndarray | None = None, market: int = 0) -> xr.Dataset:
        """Every draw (or ``draws``) of ``loaded`` on one market: the run dataset. ``market``
        (its index in a multi-market run, ``simcore.engine.markets``) picks its streams."""

    def warnings(self, loaded: LoadedScenario) -> list[str]:
        """Lines worth a warning before ``loaded`` runs (it runs anyway)."""

    def validate_text(self, loaded: LoadedScenario) -> str:
        """``simcore validate``'s text: every value in use and what the compile made of it."""

    def sweep_values(self, ds: xr.Dataset) -> dict:
        """This kind's ``sweep_outcomes`` of a run dataset, draw first."""

    def summary_block(self, ds: xr.Dataset) -> Any:
        """The kind's own part of the summary (None when it has none)."""

    def summary_lines(self, block: Any, horizon: int) -> list[str]:
        """Plain-text lines of ``summary_block``'s result."""

    def report_section(self, ds: xr.Dataset, block: Any, horizon: int) -> str:
        """HTML of the kind's own report section ("" when none)."""

    def figure(self, ds: xr.Dataset, name: str) -> Any:
        """The kind's own figure ``name`` (one of ``FIGURES[kind]``)."""

    def draw_size(self, loaded: LoadedScenario) -> Any:
        """``simcore.model.cost.DrawSize`` of one draw of ``loaded``."""


def get(name: str) -> TitleKind:
    """The title kind called ``name`` (``game``, ``drama``)."""
    if name not in _MODULES:
        raise ValueError(f"unknown title kind {name!r}: one of {', '.join(_MODULES)}")
    return importlib.import_module(_MODULES[name]).KIND


def for_scenario(loaded: LoadedScenario) -> TitleKind:
    """The kind of a loaded scenario (``[title] kind``)."""
    return get(loaded.scenario.title.kind)


def name_of(ds: xr.Dataset) -> str:
    """The kind of a dataset: its ``kind`` attribute (``DEFAULT`` for older files)."""
    return str(ds.attrs.get("kind", DEFAULT))


def for_dataset(ds: xr.Dataset) -> TitleKind:
    """The kind of a dataset (see ``name_of``)."""
    return get(name_of(ds))
