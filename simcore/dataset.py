"""The run's output: an xarray Dataset with units, written atomically to NetCDF."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import xarray as xr

from simcore import __version__
from simcore.kernel import layout as K
from simcore.outputs import write_atomic
from simcore.analysis import net_revenue, payback_days
from simcore.channels import CHANNELS, PAID_CHANNELS

ENGINE = "h5netcdf"


def build_dataset(sums: np.ndarray, spend: np.ndarray, activations: np.ndarray,
                  money: np.ndarray, plan, loaded, values: dict | None = None) -> xr.Dataset:
    """Assemble kernel sums [draw, channel, cohort, var, age], spend and activations
    [draw, channel, cohort] into the dataset.

    ``money`` [draw, 4] holds each draw's USD per rewarded and per interstitial impression,
    its net share of purchase value and the creators' revenue share (0 when paid per view);
    ``values`` the sampled uncertain parameters [draw].
    """
    by_channel = sums
    sums = by_channel.sum(axis=1)
    n_draws, n_cohorts, _, n_ages = sums.shape
    dca = ("draw", "cohort", "age")
    per_draw = money[:, None, :, None, None]
    revenue_cohort = (by_channel[:, :, :, K.V_REWARDED] * per_draw[:, :, 0]
                      + by_channel[:, :, :, K.V_INTERSTITIAL] * per_draw[:, :, 1]
                      + by_channel[:, :, :, K.V_IAP_GROSS] * per_draw[:, :, 2])
    revenue_channel = revenue_cohort.sum(axis=2)
    creator = CHANNELS.index("creator")
    revenue_share_cost = revenue_cohort[:, creator] * money[:, 3, None, None]
    spend = spend.copy()
    spend[:, creator] += revenue_share_cost.sum(axis=2)
    per_draw = money[:, :, None, None]
    rewarded = sums[:, :, K.V_REWARDED]
    interstitial = sums[:, :, K.V_INTERSTITIAL]
    revenue_iaa = rewarded * per_draw[:, 0] + interstitial * per_draw[:, 1]
    revenue_iap = sums[:, :, K.V_IAP_GROSS] * per_draw[:, 2]

    def var(dims, data, units, long_name):
        return dims, data, {"units": units, "long_name": long_name}

    ds = xr.Dataset(
        {
            "spend": var(("draw", "cohort"), spend.sum(axis=1), "USD",
                         "spend on the cohort, all channels"),
            "spend_by_channel": var(("draw", "channel", "cohort"), spend, "USD",
                                    "spend on the cohort by channel"),
            "spend_revenue_share": var(dca, revenue_share_cost, "USD", "creators' share of "
                                       "their users' net revenue, paid at the age it is "
                                       "earned (included in spend)"),
            "activations": var(("draw", "cohort"), activations.sum(axis=1), "users",
                               "activated users (first play) in the cohort, all channels"),
            "activations_by_channel": var(("draw", "channel", "cohort"), activations, "users",
                                          "activated users in the cohort by channel"),
            "revenue_by_channel": var(("draw", "channel", "age"), revenue_channel, "USD",
                                      "net revenue at age of all cohorts, by the channel that "
                                      "brought the users"),
            "active_users": var(dca, sums[:, :, K.V_ACTIVE], "users", "users active at age"),
            "sessions": var(dca, sums[:, :, K.V_SESSIONS], "sessions", "sessions at age"),
            "ad_impressions": var(dca, rewarded + interstitial, "impressions",
                                  "ad impressions shown at age (rewarded + interstitial)"),
            "ad_impressions_rewarded": var(dca, rewarded, "impressions",
                                           "rewarded ad impressions shown at age"),
            "purchases": var(dca, sums[:, :, K.V_PURCHASES], "purchases",
                             "in-app purchases at age"),
            "revenue_iaa": var(dca, revenue_iaa, "USD",
                               "ad revenue at age, net to the developer"),
            "revenue_iap": var(dca, revenue_iap, "USD", "purchase revenue at age, net to the "
                               "developer (after tax, platform fee and refunds)"),
            "payers": var(dca, sums[:, :, K.V_NEW_PAYERS], "users",
                          "users making their first purchase at age (cumulative sum = payers)"),
        },
        coords={
            "draw": ("draw", np.arange(n_draws), {"long_name": "Monte Carlo draw"}),
            "cohort": ("cohort", np.arange(n_cohorts),
                       {"units": "days", "long_name": "acquisition day (0-based)"}),
            "channel": ("channel", list(CHANNELS), {"long_name": "source of the users"}),
            "age": ("age", np.arange(n_ages),
                    {"units": "days", "long_name": "days since activation"}),
        },
        attrs={
            **scenario_attrs(loaded),
            "retention_model": plan.retention.model,
            "retention_alpha": plan.retention.alpha,
            "retention_beta": plan.retention.beta,
            "retention_c": plan.retention.c,
        },
    )
    return add_outcomes(add_parameters(ds, loaded, values))


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


def read_run(path: str | os.PathLike) -> xr.Dataset:
    """Open a saved run for analysis; a missing or foreign file is a one-line ``ScenarioError``."""
    from simcore.errors import ScenarioError

    path = Path(path)
    if not path.is_file():
        raise ScenarioError("", "no such dataset file", str(path))
    try:
        ds = open_dataset(path)
    except Exception as exc:  # h5py/netCDF raise many types for a non-NetCDF file
        raise ScenarioError("", f"not a NetCDF dataset ({type(exc).__name__})", str(path)) \
            from None
    missing = [v for v in REQUIRED_VARS if v not in ds]
    if missing or "scenario_hash" not in ds.attrs:
        what = ", ".join(missing) or "attribute scenario_hash"
        raise ScenarioError("", f"not a simcore run dataset (missing {what})", str(path))
    return ds
