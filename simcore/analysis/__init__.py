"""Answers from a run dataset: ROAS odds, payback timing, break-even CPA, profit risk, drivers.

Every function reads a run dataset (fresh from ``simcore.run`` or read back with
``simcore.data.dataset.read_run``) and never re-simulates. Ages are integer days since
activation. May import data, model and scenario.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import xarray as xr

# the dataset contract's outcomes, part of this module's API as before
from simcore.data.outcomes import (  # noqa: F401  # noqa: F401
    BASES,
    check_basis,
    first_age_at_least,
    net_revenue,
    payback_days,
    roas_of,
)
from simcore.model.channels import PAID_CHANNELS

QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
KEY_AGES = (0, 1, 3, 7, 14, 30, 60, 90, 180)   # ages [days] a summary or study reports
PARAM_PREFIX = "param_"


def cvar(loss, alpha: float) -> float:
    """CVaR_alpha of ``loss`` [USD] over equally likely draws: the mean of the worst
    1 - alpha of them, the boundary draw weighted (Rockafellar-Uryasev's minimum, as the
    allocation's linear programme counts it); nan without draws."""
    d = np.sort(np.asarray(loss, dtype=float))[::-1]
    if d.size == 0:
        return math.nan
    tail = (1.0 - alpha) * d.size
    k = math.floor(tail + 1e-12)
    part = d[:k].sum() + (d[k] * (tail - k) if k < d.size else 0.0)
    return float(part / tail)


def revenue_of(ds: xr.Dataset, basis: str = "paid") -> xr.DataArray:
    """Net revenue at each age of the users ``basis`` counts [USD], dims (draw, age)."""
    if check_basis(basis) == "paid" and "revenue_by_channel" in ds:
        return ds.revenue_by_channel.sel(channel=list(PAID_CHANNELS)).sum("channel")
    return net_revenue(ds)


def has_unpaid_users(ds: xr.Dataset) -> bool:
    """True when some users came without spend (organic entrances, shares), so ROAS on UA
    and blended ROAS differ."""
    if "activations_by_channel" not in ds:
        return False
    unpaid = [c for c in ds.channel.values if c not in PAID_CHANNELS]
    return bool(ds.activations_by_channel.sel(channel=unpaid).sum() > 0)


# --- parameters -------------------------------------------------------------------------------

def uncertain_parameters(ds: xr.Dataset) -> list[str]:
    """Dotted keys of the uncertain scenario parameters (the ``param_<key>`` variables).

    Returns
    -------
    list of str
        Keys such as ``"ads.ecpm_rewarded_usd"``, in the dataset's variable order; empty when
        the scenario has no uncertain parameters.
    """
    return [str(name)[len(PARAM_PREFIX):] for name in ds.data_vars
            if str(name).startswith(PARAM_PREFIX) and ds[name].dims == ("draw",)]


# --- ROAS and payback -------------------------------------------------------------------------

def roas_quantiles(ds: xr.Dataset, quantiles=QUANTILES, basis: str = "paid") -> xr.DataArray:
    """Quantiles of ROAS on ``basis`` over draws (linear interpolation, as ``np.quantile``).

    Returns
    -------
    xr.DataArray
        dims (quantile, age) [1]: ROAS = cumulative net revenue / spend.
    """
    q = roas_of(ds, basis).quantile(list(quantiles), dim="draw")
    return q.assign_attrs(units="1", long_name="ROAS quantile over draws")


def prob_roas_at_least(ds: xr.Dataset, target: float = 1.0, basis: str = "paid",
                       ) -> xr.DataArray:
    """Share of draws with ROAS on ``basis`` >= ``target`` at each age.

    Returns
    -------
    xr.DataArray
        dims (age,) [probability]. A NaN ROAS counts as not reaching the target.
    """
    p = (roas_of(ds, basis) >= target).mean("draw")
    return p.assign_attrs(units="1", long_name=f"P(ROAS >= {target:g})")


def day_quantiles(days, q):
    """Quantiles over draws of days [days] where NaN means never (it sorts last): inf where
    the quantile falls among the nevers (``inverted_cdf``: always a day some draw had)."""
    days = np.asarray(days, dtype=float)
    return np.quantile(np.where(np.isnan(days), np.inf, days), q, method="inverted_cdf")


def payback_cdf(ds: xr.Dataset, target: float = 1.0, basis: str = "paid") -> xr.DataArray:
    """Share of draws that have reached ROAS >= ``target`` by each age.

    Returns
    -------
    xr.DataArray
        dims (age,) [probability], non-decreasing in age; its last value is
        ``1 - never_pays_back(ds, target)``.
    """
    first = payback_days(ds, target, basis).values
    ages = ds.age.values
    with np.errstate(invalid="ignore"):
        paid = first[:, None] <= ages[None, :]          # NaN compares False: never paid
    return xr.DataArray(paid.mean(axis=0), dims=("age",), coords={"age": ages},
                        attrs={"units": "1",
                               "long_name": f"share of draws paid back (ROAS >= {target:g}) "
                                            "by age"})


def never_pays_back(ds: xr.Dataset, target: float = 1.0, basis: str = "paid") -> float:
    """Share of draws whose ROAS never reaches ``target`` within the horizon [probability]."""
    return float(np.mean(np.isnan(payback_days(ds, target, basis).values)))


# --- LTV and break-even CPA -------------------------------------------------------------------

def _paid_activations(ds: xr.Dataset) -> xr.DataArray:
    """Activations the spend paid for, per draw (all activations in datasets without
    channels)."""
    if "activations_by_channel" not in ds:
        return ds.activations.sum("cohort").astype(float)
    return ds.activations_by_channel.sel(channel=list(PAID_CHANNELS)).sum(
        ("channel", "cohort")).astype(float)


def ltv_per_activation(ds: xr.Dataset, basis: str = "paid") -> xr.DataArray:
    """Cumulative net revenue through each age per activation of the draw: the paid users'
    revenue per paid activation (``basis="paid"``, the denominator of the realised CPA, so
    ROAS on UA = LTV / CPA), or every user's per activation (``"blended"``).

    Returns
    -------
    xr.DataArray
        dims (draw, age) [USD]; NaN for a draw without activations.
    """
    activations = (_paid_activations(ds) if check_basis(basis) == "paid"
                   else ds.activations.sum("cohort").astype(float))
    activations = activations.where(activations > 0)
    ltv = revenue_of(ds, basis).cumsum("age") / activations
    return ltv.transpose("draw", "age").assign_attrs(
        units="USD", long_name="cumulative net revenue through age per activation")


def ltv_quantiles(ds: xr.Dataset, quantiles=QUANTILES, basis: str = "paid") -> xr.DataArray:
    """Quantiles over draws of LTV per activation (linear interpolation, NaN draws skipped).

    Returns
    -------
    xr.DataArray
        dims (quantile, age) [USD].
    """
    q = ltv_per_activation(ds, basis).quantile(list(quantiles), dim="draw")
    return q.assign_attrs(units="USD", long_name="LTV per activation, quantile over draws")


def _draws_needed(n: int, probability: float) -> int:
    """Smallest k in 1..n with k / n >= probability, as the float comparison sees it."""
    k = min(max(math.ceil(probability * n), 1), n)
    while k > 1 and (k - 1) / n >= probability:
        k -= 1
    while k < n and k / n < probability:
        k += 1
    return k


def break_even_cpa(ds: xr.Dataset, age: int, target: float = 1.0,
                   probability: float = 0.5, basis: str = "paid") -> float:
    """Highest CPA at which P(ROAS(age) >= target) >= ``probability``.

    Revenue per paid activation does not depend on the CPA paid, so ROAS(age) = L / c with
    L = net revenue through ``age`` of the users ``basis`` counts (paid users, or all users,
    free ones too) per paid activation (one value per draw) and c the CPA. With k the least
    number of draws making k / n >= ``probability``, the answer is the k-th largest L divided by
    ``target`` (a lower empirical quantile, no interpolation): at that CPA at least k draws
    reach the target, at any higher CPA fewer than k do. (With creators paid a share of
    revenue, part of the spend is not a CPA; the answer then treats all spend as one.)

    Parameters
    ----------
    age : int
        Age [days] at which ROAS is judged.
    target : float
        ROAS target (> 0), e.g. 1.0 for payback.
    probability : float
        Required share of draws, in (0, 1].

    Returns
    -------
    float
        CPA [USD]. 0.0 when that many draws earn nothing by ``age``; draws without
        activations (NaN LTV) count as missing the target.
    """
    if not 0.0 < probability <= 1.0:
        raise ValueError(f"probability = {probability}: must be in (0, 1]")
    if not target > 0.0:
        raise ValueError(f"target = {target}: must be > 0")
    paid = _paid_activations(ds)
    revenue = revenue_of(ds, basis).cumsum("age").sel(age=age)
    ltv = (revenue / paid.where(paid > 0)).values     # all users' revenue per paid user
    ltv = np.where(np.isnan(ltv), -np.inf, ltv)
    n = ltv.size
    k = _draws_needed(n, probability)
    level = float(np.sort(ltv)[n - k])
    if level <= 0.0:
        return 0.0
    cpa = level / target
    # guard against rounding in level / target: step down until the k-th draw still counts
    while np.count_nonzero(ltv / cpa >= target) < k:
        cpa = float(np.nextafter(cpa, 0.0))
    return cpa


# --- profit -----------------------------------------------------------------------------------

def net_profit(ds: xr.Dataset, basis: str = "paid") -> xr.DataArray:
    """Net revenue through the horizon of the users ``basis`` counts minus spend, per draw.

    Returns
    -------
    xr.DataArray
        dims (draw,) [USD].
    """
    profit = revenue_of(ds, basis).sum("age") - ds.spend.sum("cohort")
    return profit.assign_attrs(units="USD",
                               long_name="net revenue through the horizon - spend")


def profit_risk(ds: xr.Dataset, alpha: float = 0.05, basis: str = "paid") -> dict[str, float]:
    """Risk of the net profit distribution over draws.

    Returns
    -------
    dict
        ``mean`` [USD]; ``p5`` [USD]: the ``alpha``-quantile (linear interpolation, as
        ``np.quantile``); ``cvar`` [USD]: mean of the worst ``ceil(alpha * n)`` draws (at least
        one), the lower-tail conditional value at risk; ``prob_loss`` [probability]: share of
        draws with profit < 0.
    """
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha = {alpha}: must be in (0, 1)")
    profit = np.sort(net_profit(ds, basis).values)
    worst = max(math.ceil(alpha * profit.size - 1e-9), 1)
    return {"mean": float(profit.mean()), "p5": float(np.quantile(profit, alpha)),
            "cvar": float(profit[:worst].mean()), "prob_loss": float(np.mean(profit < 0))}


# --- drivers (rank correlations) --------------------------------------------------------------

def _ranks(values: np.ndarray) -> np.ndarray:
    """Average ranks along axis 0 (ties share their mean rank; a column holding a NaN is all
    NaN): ``scipy.stats.rankdata(values, axis=0)``, the same values (ranks are exact in
    floating point), without importing scipy.stats (0.3-0.4 s, a run's summary paid it)."""
    v = np.asarray(values, dtype=float)
    out = np.empty(v.shape)
    columns, ranked = v.reshape(v.shape[0], -1), out.reshape(v.shape[0], -1)
    for j in range(columns.shape[1]):
        col = columns[:, j]
        if np.isnan(col).any():
            ranked[:, j] = np.nan
            continue
        order = np.argsort(col, kind="stable")
        ordered = col[order]
        first = np.flatnonzero(np.concatenate(([True], ordered[1:] != ordered[:-1])))
        counts = np.diff(np.append(first, col.size))
        ranked[order, j] = np.repeat((first + 1.0) + (counts - 1.0) / 2.0, counts)
    return out


def _is_constant(x: np.ndarray) -> bool:
    return bool(np.all(x == x[0])) if x.size else True


def _spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman rank correlation; NaN for fewer than two draws, a constant input or a NaN
    (``scipy.stats.spearmanr``'s statistic, bit for bit: the Pearson correlation of the
    ranks by ``np.corrcoef``, as it computes it)."""
    if x.size < 2 or _is_constant(x) or _is_constant(y):
        return float("nan")
    if np.isnan(x).any() or np.isnan(y).any():
        return float("nan")
    return float(np.corrcoef(np.column_stack((_ranks(x), _ranks(y))), rowvar=False)[1, 0])


def _residual(v: np.ndarray, design: np.ndarray) -> np.ndarray:
    coef, *_ = np.linalg.lstsq(design, v, rcond=None)
    return v - design @ coef


def _partial_rank(ranked: np.ndarray, ry: np.ndarray, j: int, usable: np.ndarray) -> float:
    """Partial rank correlation of column j with ``ry``, the other usable columns regressed
    out of both; NaN when nothing is left of either after the regression."""
    others = [i for i in np.flatnonzero(usable) if i != j]
    design = np.column_stack([np.ones(ry.size), ranked[:, others]])
    ex, ey = _residual(ranked[:, j], design), _residual(ry, design)
    scale_x = np.linalg.norm(ranked[:, j] - ranked[:, j].mean())
    scale_y = np.linalg.norm(ry - ry.mean())
    nx, ny = np.linalg.norm(ex), np.linalg.norm(ey)
    if nx <= 1e-9 * scale_x or ny <= 1e-9 * scale_y:
        return float("nan")
    return float(np.clip(ex @ ey / (nx * ny), -1.0, 1.0))


def _partial_ranks(x: np.ndarray, y: np.ndarray, usable: np.ndarray) -> np.ndarray:
    """Partial rank correlation of every usable column of ``x`` [draw, parameter] with y."""
    out = np.full(x.shape[1], np.nan)
    if x.shape[0] < 3 or _is_constant(y) or not usable.any():
        return out
    ranked, ry = _ranks(x), _ranks(y)
    for j in np.flatnonzero(usable):
        out[j] = _partial_rank(ranked, ry, j, usable)
    return out


def _order_by_strength(spearman: np.ndarray) -> np.ndarray:
    """Indices by |spearman| descending, NaN last, ties kept in dataset order."""
    strength = np.where(np.isnan(spearman), -1.0, np.abs(spearman))
    return np.argsort(-strength, kind="stable")


def drivers(ds: xr.Dataset, age: int = 7, basis: str = "paid") -> xr.Dataset:
    """Rank correlations of each uncertain parameter with ROAS on ``basis`` at ``age`` across
    draws; ``kind`` says what the parameter is (``driver_kind``).

    ``spearman`` is the Spearman rank correlation; ``partial_rank`` the partial rank
    correlation (ranks of the parameter and of ROAS, each with the ranks of the other
    parameters regressed out by least squares, then correlated). Both are NaN for a parameter
    constant across draws, when ROAS is constant, or with too few draws to tell.

    Returns
    -------
    xr.Dataset
        dim ``parameter`` (dotted keys), variables ``spearman`` and ``partial_rank`` [1],
        sorted by |spearman| descending (NaN last); size 0 without uncertain parameters.
    """
    keys = uncertain_parameters(ds)
    y = roas_of(ds, basis).sel(age=age).values.astype(float)
    x = np.column_stack([ds[PARAM_PREFIX + k].values.astype(float) for k in keys]) \
        if keys else np.empty((y.size, 0))
    usable = np.array([not _is_constant(x[:, j]) for j in range(x.shape[1])], dtype=bool)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        spearman = np.array([_spearman(x[:, j], y) for j in range(x.shape[1])], dtype=float)
        partial = _partial_ranks(x, y, usable)
    order = _order_by_strength(spearman)

    def var(data, long_name):
        return ("parameter", data[order], {"units": "1", "long_name": long_name})

    return xr.Dataset(
        {"spearman": var(spearman, f"Spearman rank correlation with ROAS at age {age}"),
         "partial_rank": var(partial, f"partial rank correlation with ROAS at age {age}"),
         "kind": var(np.array([driver_kind(k) for k in keys], dtype=object).astype(str)
                     if keys else np.array([], dtype=str), "what the parameter is")},
        coords={"parameter": ("parameter", np.array(keys, dtype=object)[order].astype(str)
                              if keys else np.array([], dtype=str))},
        attrs={"age": int(age)})


# what each section's uncertain values are, for a reader deciding what to act on
_KINDS = {"campaign": "UA lever", "creator": "UA lever", "rules": "UA lever",
          "retention": "title", "engagement": "title", "ads": "title", "iap": "title",
          "series": "title", "unlocks": "title", "organic": "organic (not bought)",
          "share": "organic (not bought)", "deal": "deal", "quality": "channel quality"}


def driver_kind(key: str) -> str:
    """What an uncertain parameter is: a UA lever (bought or bid), a property of the title,
    organic traffic nobody buys, a deal term or a channel's quality."""
    return _KINDS.get(key.partition(".")[0], "other")


def calendar(ds: xr.Dataset) -> xr.Dataset:
    """The run by calendar day (cohort + age), as a UA manager's daily report sees it.

    Returns dims (draw, day), day = 0 .. campaign days - 1 + horizon [days since launch]:
    ``spend`` [USD], ``activations`` [users], ``dau`` (active users, all cohorts) [users],
    ``revenue`` (net, all cohorts) [USD], ``cumulative_roas`` (net revenue to date / spend
    to date) and ``cumulative_profit`` (net revenue to date - spend to date) [USD]. Each total
    over days equals the cohort view's total: this is the same data re-indexed.
    """
    n_cohorts, n_ages = ds.sizes["cohort"], ds.sizes["age"]
    n_days = n_cohorts + n_ages - 1

    def by_day(cohort_age: xr.DataArray) -> np.ndarray:
        values = cohort_age.transpose("draw", "cohort", "age").values
        out = np.zeros((values.shape[0], n_days))
        for c in range(n_cohorts):
            out[:, c:c + n_ages] += values[:, c]
        return out

    def campaign_days(per_cohort: xr.DataArray) -> np.ndarray:
        out = np.zeros((ds.sizes["draw"], n_days))
        out[:, :n_cohorts] = per_cohort.transpose("draw", "cohort").values
        return out

    spend = campaign_days(ds.spend)
    if "spend_revenue_share" in ds:   # creators' share is paid when the revenue is earned
        share = ds.spend_revenue_share
        spend = campaign_days(ds.spend - share.sum("age")) + by_day(share)
    revenue = by_day(ds.revenue_iaa + ds.revenue_iap)
    cum_spend, cum_revenue = np.cumsum(spend, axis=1), np.cumsum(revenue, axis=1)
    dims = ("draw", "day")
    return xr.Dataset(
        {"spend": (dims, spend, {"units": "USD", "long_name": "spend on the day"}),
         "activations": (dims, campaign_days(ds.activations),
                         {"units": "users", "long_name": "users activated on the day"}),
         "dau": (dims, by_day(ds.active_users),
                 {"units": "users", "long_name": "daily active users, all cohorts"}),
         "revenue": (dims, revenue, {"units": "USD", "long_name": "net revenue on the day"}),
         "cumulative_roas": (dims, cum_revenue / cum_spend, {
             "units": "1", "long_name": "net revenue to date / spend to date (blended)"}),
         "cumulative_profit": (dims, cum_revenue - cum_spend, {
             "units": "USD", "long_name": "net revenue to date - spend to date"})},
        coords={"draw": ds.draw.values,
                "day": ("day", np.arange(n_days), {"units": "days",
                                                   "long_name": "days since launch"})},
        attrs={"title": ds.attrs.get("title", "")})
