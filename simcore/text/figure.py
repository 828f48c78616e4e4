"""Any figure of a run by name: a figure every run has (``simcore.figures.plots.KINDS``) or one
of its title kind's own (``simcore.kinds.FIGURES``), as ``simcore plot --kind`` draws it; and
an allocation's (``simcore optimize -o``) frontier."""

from __future__ import annotations

from matplotlib.figure import Figure

from simcore import kinds
from simcore.data.dataset import is_allocation
from simcore.errors import ScenarioError
from simcore.figures import ALLOCATION, FORECAST
from simcore.figures.forecast import forecast
from simcore.figures.frontier import frontier
from simcore.figures.plots import KINDS, fan, histogram, ltv, payback, tornado


def plot(ds, kind: str | None, day: int = 7, target: float = 1.0, basis: str = "paid") -> Figure:
    """The figure ``kind`` (a key of ``KINDS``, or one of the run's title kind's own,
    ``simcore.kinds.FIGURES``), given the day, target and basis (``simcore.analysis.BASES``)
    it uses. An allocation has one figure, ``frontier`` (the default, ``kind=None``)."""
    if is_allocation(ds):
        if kind not in (None, *ALLOCATION):
            raise ScenarioError("--kind", f"= {kind!r}: a figure of a run; this is an "
                                "allocation (simcore optimize), whose figure is frontier")
        if "frontier_profit_usd" not in ds:
            raise ScenarioError("--kind", "= 'frontier': this allocation holds no efficient "
                                "frontier (frontier_* variables)")
        return frontier(ds)
    if kind in ALLOCATION:
        raise ScenarioError("--kind", f"= {kind!r}: a figure of an allocation (simcore "
                            "optimize ... -o alloc.nc); this is a run")
    own = kinds.FIGURES[kinds.name_of(ds)]
    offered = (*KINDS, *(FORECAST if "calibration" in ds.attrs else ()), *own)
    if kind is None:
        raise ScenarioError("--kind", f"choose the figure of a run: one of {', '.join(offered)}")
    if kind in FORECAST:
        return forecast(ds, basis=basis)
    if kind in own:
        return kinds.for_dataset(ds).figure(ds, kind)
    if kind not in KINDS:
        others = {k: name for name, figs in kinds.FIGURES.items() for k in figs}
        if kind in others:
            raise ScenarioError("--kind", f"= {kind!r}: a figure of a {others[kind]} run; "
                                f"this run is a {kinds.name_of(ds)}")
        raise ScenarioError("--kind", f"= {kind!r}: use one of {', '.join(offered)}")
    if kind == "fan":
        return fan(ds, target=target, basis=basis)
    if kind == "payback":
        return payback(ds, target=target, basis=basis)
    if kind == "hist":
        return histogram(ds, day=day, target=target, basis=basis)
    if kind == "tornado":
        return tornado(ds, day=day, basis=basis)
    return ltv(ds, basis=basis)
