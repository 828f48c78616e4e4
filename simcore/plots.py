"""Kept for user code and notebooks (``from simcore import plots``): the figures of
``simcore.figures.plots`` and ``plot`` (any figure by name, ``simcore.text.figure``). Nothing in
simcore imports this module."""

from simcore.figures.plots import (DPI, FIGSIZE, FORMATS, KINDS, NO_PARAMETERS, fan, histogram,
                                   legend_below, ltv, median_payback_day, new_figure, payback,
                                   profit_by_budget, roas_name, save, to_bytes, tornado)
from simcore.text.figure import plot

__all__ = ["DPI", "FIGSIZE", "FORMATS", "KINDS", "NO_PARAMETERS", "fan", "histogram",
           "legend_below", "ltv", "median_payback_day", "new_figure", "payback", "plot",
           "profit_by_budget", "roas_name", "save", "to_bytes", "tornado"]
