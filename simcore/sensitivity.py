"""Kept for user code and notebooks (``from simcore.sensitivity import sensitivity``): the
sensitivity study lives in ``simcore.studies.sensitivity``. Nothing in simcore imports this
module."""

from simcore.studies.sensitivity import (METHODS, format_sensitivity, model_runs, morris, oat,
                                         sensitivity, sobol)

__all__ = ["METHODS", "format_sensitivity", "model_runs", "morris", "oat", "sensitivity",
           "sobol"]
