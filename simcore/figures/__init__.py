"""Figures and tables for people, shared by every title kind: matplotlib figures of any run
(``plots``) and HTML pieces (``html``). May import data, model, scenario, analysis."""

# the figures every run has (``simcore.figures.plots.KINDS``), named here so the CLI can offer
# them without importing matplotlib; each title kind's own are in ``simcore.kinds.FIGURES``
SHARED = ("fan", "payback", "hist", "tornado", "ltv")
# the figures of a calibrated forecast (``simcore calibrate -o``) on top of those
FORECAST = ("forecast",)
# the figures of an allocation (``simcore optimize -o``): the only ones it has
ALLOCATION = ("frontier",)
