"""Kept for user code and notebooks (``from simcore.drama import plots``): the micro-drama
kind lives in ``simcore.kinds.drama``. Nothing in simcore imports this module."""

from simcore.kinds.drama import funnel, plots

__all__ = ["funnel", "plots"]
