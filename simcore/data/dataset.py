"""The run's output: an xarray Dataset with units, written atomically to NetCDF."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import xarray as xr

from simcore import __version__
from simcore.data.outcomes import net_revenue, payback_days
from simcore.data.outputs import write_atomic
from simcore.model.channels import PAID_CHANNELS

ENGINE = "h5netcdf"


def scenario_attrs(loaded) -> dict:
    """The attributes that say which scenario a dataset came from."""
    return {"title": loaded.scenario.title.name, "scenario_toml": loaded.text,
            "scenario_overrides": "\n".join(loaded.overrides),
            "scenario_json": loaded.resolved_json, "scenario_hash": loaded.hash,
            "seed": int(loaded.scenario.simulation.seed), "simcore_version": __version__,
            "kind": loaded.scenario.title.kind,
            "goal_age": int(loaded.scenario.goal_age()),
            "goal_roas": float(loaded.scenario.goal_roas())}


def add_parameters(ds: xr.Dataset, loaded, values: dict) -> xr.Dataset:
    """Add ``param_<key>`` (draw) for each uncertain parameter's sampled values."""
    for dist in loaded.uncertainty.parameters:
        ds[f"param_{dist.key}"] = (("draw",), np.asarray(values[dist.key], dtype=float), {
            "units": dist.unit or "1", "long_name": f"sampled value of {dist.key}",
            "distribution": dist.describe()})
    return ds


def add_outcomes(ds: xr.Dataset) -> xr.Dataset:
    """Add roas, roas_paid, payback_day and cpa, derived from spend, activations and revenue
    (after assembling a run, or after adding markets together).

    ROAS at age d divides revenue through d by the spend incurred through d: all spend but
    creators' revenue share counts from day 0, which is paid as the revenue comes in.
    """
    total_spend = ds.spend.sum("cohort").values
    share_cost = ds.spend_revenue_share.sum("cohort").transpose("draw", "age").values
    to_age = (total_spend - share_cost.sum(axis=1))[:, None] + np.cumsum(share_cost, axis=1)
    revenue = net_revenue(ds).transpose("draw", "age").values
    paid = ds.revenue_by_channel.sel(channel=list(PAID_CHANNELS)).sum("channel")
    paid_revenue = paid.transpose("draw", "age").values
    spent = to_age > 0
    with np.errstate(invalid="ignore", divide="ignore"):  # a draw that spent nothing: NaN
        roas = np.where(spent, np.cumsum(revenue, axis=1) / to_age, np.nan)
        roas_paid = np.where(spent, np.cumsum(paid_revenue, axis=1) / to_age, np.nan)
    paid_act = ds.activations_by_channel.sel(channel=list(PAID_CHANNELS)).sum(
        ("channel", "cohort")).values
    with np.errstate(divide="ignore"):
        cpa = np.where(paid_act > 0, total_spend / np.maximum(paid_act, 1), np.inf)
    ds = ds.assign(
        roas=(("draw", "age"), roas, {"units": "1", "long_name": "blended: cumulative net "
                                      "revenue through age of all cohorts and channels / "
                                      "total spend"}),
        roas_paid=(("draw", "age"), roas_paid, {"units": "1", "long_name": "paid-only: "
                                                "cumulative net revenue through age of paid "
                                                "users / total spend"}),
        cpa=(("draw",), cpa, {"units": "USD", "long_name": "realised cost per paid "
                              "activation"}))
    payback = payback_days(ds, 1.0, "blended")
    return ds.assign(payback_day=(("draw",), payback.values, payback.attrs))



def write_dataset(ds: xr.Dataset, path: str | os.PathLike) -> Path:
    """Write ``ds`` to NetCDF atomically: a temporary file in the same folder, then rename."""
    encoding = {name: {"zlib": True, "complevel": 4} for name in ds.data_vars}
    if "simcore_version" not in ds.attrs:     # the mark outputs.written_by_simcore looks for
        ds = ds.copy()
        ds.attrs["simcore_version"] = __version__
    return write_atomic(path, lambda tmp: ds.to_netcdf(tmp, engine=ENGINE, encoding=encoding))


def open_dataset(path: str | os.PathLike) -> xr.Dataset:
    """Read a dataset written by ``write_dataset`` fully into memory."""
    with xr.open_dataset(path, engine=ENGINE) as ds:
        return ds.load()


REQUIRED_VARS = ("spend", "activations", "roas", "payback_day", "cpa")
# what an allocation (``simcore optimize -o``, ``simcore.studies.allocation.optimize``) holds
# on its dim ``cell`` and in its attributes, as its report and figures read them
ALLOCATION_VARS = ("allocation_usd_per_day", "share", "marginal_roas", "bound",
                   "risk_neutral_usd_per_day", "net_profit", "roas_chance")
ALLOCATION_ATTRS = ("scenario_hash", "total_budget_usd_per_day", "at_most", "objective",
                    "lambda", "cvar_alpha", "age", "target", "horizon_days",
                    "chance_probability", "expected_profit_usd",
                    "expected_profit_risk_neutral_usd", "p_loss", "cvar_loss_usd",
                    "p_roas_at_least", "p_roas_at_least_risk_neutral", "binding", "method")


def is_allocation(ds: xr.Dataset) -> bool:
    """True for an allocation dataset (``simcore optimize -o``): ``allocation_usd_per_day``
    on a dim ``cell``; a run or a forecast is not one."""
    return "allocation_usd_per_day" in ds and "cell" in ds["allocation_usd_per_day"].dims


def read_run(path: str | os.PathLike, allocation: bool = False) -> xr.Dataset:
    """Open a saved run for analysis (or, with ``allocation``, a saved run or allocation); a
    missing or foreign file is a one-line ``ScenarioError``."""
    from simcore.errors import ScenarioError

    path = Path(path)
    if not path.is_file():
        raise ScenarioError("", "no such dataset file", str(path))
    try:
        ds = open_dataset(path)
    except Exception as exc:  # h5py/netCDF raise many types for a non-NetCDF file
        raise ScenarioError("", f"not a NetCDF dataset ({type(exc).__name__})", str(path)) \
            from None
    if allocation and is_allocation(ds):
        missing = ([v for v in ALLOCATION_VARS if v not in ds]
                   + [f"attribute {a}" for a in ALLOCATION_ATTRS if a not in ds.attrs])
        if missing:
            raise ScenarioError("", "not a simcore allocation dataset (missing "
                                f"{', '.join(missing)})", str(path))
        return ds
    missing = [v for v in REQUIRED_VARS if v not in ds]
    if missing or "scenario_hash" not in ds.attrs:
        what = ", ".join(missing) or "attribute scenario_hash"
        study = ("a budget scan (simcore scale -o; its figure: scale --plot)"
                 if "best_budget_usd" in ds.attrs else
                 "a sweep (simcore sweep -o)" if "swept_keys" in ds.attrs else "")
        if study:
            raise ScenarioError("", f"{study}, not a run dataset: summary, plot and report "
                                "read runs, forecasts and allocations", str(path))
        raise ScenarioError("", f"not a simcore run dataset (missing {what})", str(path))
    return ds


def label_draws(ds: xr.Dataset, streams: np.ndarray | None) -> xr.Dataset:
    """Label a dataset's draws by the draw numbers whose streams they used (a subset of a
    run's draws); repeated streams (common random numbers) keep 0 .. n - 1."""
    if streams is None or np.unique(streams).size != ds.sizes["draw"]:
        return ds
    return ds.assign_coords(draw=ds.draw.copy(data=np.asarray(streams, dtype=np.int64)))
