"""Multi-market runs: one scenario across several regions, each with its share of the budget.

Each ``[[markets]]`` table becomes a full scenario (``simcore.scenario.markets``, resolved and
validated when the scenario loads): the scenario's values (which describe its own
``campaign.region``) moved to the market's region levels (``simcore.scenario.regions``: unit cost,
eCPMs, purchase values scaled by the ratio of the indices; the region's tax rate), the daily
budget times the market's share, then the market's ``set`` overrides. Markets share each
draw's uncertain parameters (draw d is one state of the world everywhere) and use their own
random streams for campaigns and users. The run's dataset adds the markets up and keeps
``*_by_region`` breakdowns.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import xarray as xr

from simcore import kinds
from simcore.analysis import revenue_of
from simcore.data.dataset import add_outcomes, add_parameters, scenario_attrs
from simcore.data.outcomes import net_revenue
from simcore.scenario import LoadedScenario
from simcore.scenario.markets import market_scenarios

__all__ = ["ADDITIVE", "market_scenarios", "run_markets"]

# variables that add up across markets (the rest are derived by ``add_outcomes``)
ADDITIVE = ("spend", "spend_by_channel", "spend_revenue_share", "activations",
            "activations_by_channel",
            "revenue_by_channel",
            "active_users", "sessions", "ad_impressions", "ad_impressions_rewarded", "purchases",
            "revenue_iaa", "revenue_iap", "payers")


def run_markets(loaded: LoadedScenario, progress: Callable[[int], None] | None = None,
                point: int = 0, draws: np.ndarray | None = None) -> xr.Dataset:
    """Simulate every market and add them up: totals as in a single-market run, and
    ``spend_by_region``, ``activations_by_region``, ``revenue_by_region`` (and on UA,
    ``revenue_by_region_paid``), ``roas_by_region``
    and ``cpa_by_region`` along ``region``. ``draws``: the draw numbers (default all)."""
    markets = market_scenarios(loaded)
    regions = [m.region for m in loaded.scenario.markets]
    runs = [kinds.for_scenario(m).run(m, progress, point, draws, market=i)
            for i, m in enumerate(markets)]
    stacked = xr.concat([r[list(ADDITIVE)] for r in runs],
                        dim=xr.DataArray(regions, dims="region", name="region"))
    total = stacked.sum("region", keep_attrs=True)
    for name in ADDITIVE:
        total[name] = total[name].astype(runs[0][name].dtype)
    total = total.assign_coords(region=("region", regions,
                                        {"long_name": "market region"}))
    total.attrs = {**runs[0].attrs, **scenario_attrs(loaded), "regions": ",".join(regions)}
    sim = loaded.scenario.simulation
    values = loaded.uncertainty.sample(sim.seed, np.arange(sim.draws) if draws is None
                                       else draws)
    ds = add_outcomes(add_parameters(total, loaded, values))
    per_market = runs                              # each market on its own spend and users
    revenue = net_revenue(stacked)
    return ds.assign(
        spend_by_region=stacked.spend.assign_attrs(units="USD", long_name="spend on the "
                                                   "cohort in the market"),
        activations_by_region=stacked.activations.assign_attrs(
            units="users", long_name="activated users in the cohort in the market"),
        revenue_by_region=revenue.transpose("draw", "region", "age").assign_attrs(
            units="USD", long_name="net revenue at age of the market's cohorts"),
        revenue_by_region_paid=revenue_of(stacked, "paid").transpose(
            "draw", "region", "age").assign_attrs(
            units="USD", long_name="net revenue at age of the market's paid users (on UA)"),
        roas_by_region=xr.concat([r.roas for r in per_market], dim="region").transpose(
            "draw", "region", "age").assign_attrs(units="1", long_name="the market's blended "
                                                  "ROAS by age"),
        cpa_by_region=xr.concat([r.cpa for r in per_market], dim="region").transpose(
            "draw", "region").assign_attrs(units="USD", long_name="the market's realised "
                                           "cost per paid activation"))
