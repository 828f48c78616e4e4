"""Outcomes every run dataset carries or derives from its variables, on either basis (ROAS on
UA or blended): ROAS, net revenue and payback day. Part of the dataset contract: the dataset's
assembly (``add_outcomes``) and the analysis both use them."""

from __future__ import annotations

import numpy as np
import xarray as xr

# What a ROAS, payback, LTV or profit counts: "paid" = ROAS on UA, the revenue of the users
# the spend bought (paid ads and creators); "blended" = every user's revenue (organic and
# share users too) over the same spend. A run without organic or share users has one value.
BASES = ("paid", "blended")


def check_basis(basis: str) -> str:
    if basis not in BASES:
        raise ValueError(f"basis = {basis!r}: use one of {', '.join(BASES)}")
    return basis


def roas_of(ds: xr.Dataset, basis: str = "paid") -> xr.DataArray:
    """ROAS by draw and age on ``basis`` [1] (a dataset written before ROAS on UA existed
    has only the blended one: it is used for both)."""
    if check_basis(basis) == "paid" and "roas_paid" in ds:
        return ds.roas_paid
    return ds.roas


def first_age_at_least(values: np.ndarray, ages: np.ndarray, level: float) -> np.ndarray:
    """First age [days] at which ``values`` [draw, age] >= ``level``, per draw; NaN when
    never within the horizon."""
    reached = values >= level
    return np.where(reached.any(axis=1), ages[reached.argmax(axis=1)].astype(float), np.nan)


def payback_days(ds: xr.Dataset, target: float = 1.0, basis: str = "paid") -> xr.DataArray:
    """First age at which each draw's ROAS on ``basis`` reaches ``target``.

    Returns
    -------
    xr.DataArray
        dims (draw,) [days]; NaN where ROAS stays below ``target`` through the horizon.
        With ``target=1`` and ``basis="blended"`` this equals the dataset's ``payback_day``.
    """
    roas = roas_of(ds, basis).transpose("draw", "age").values
    first = first_age_at_least(roas, ds.age.values, target)
    return xr.DataArray(first, dims=("draw",), coords={"draw": ds.draw.values},
                        attrs={"units": "days",
                               "long_name": f"first age with roas >= {target:g} "
                                            "(NaN: not within the horizon)"})


def net_revenue(ds: xr.Dataset) -> xr.DataArray:
    """Net revenue of all cohorts at each age [USD], dims (draw, age)."""
    return (ds.revenue_iaa + ds.revenue_iap).sum("cohort")
