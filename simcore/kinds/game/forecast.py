"""The forecast: a run dataset drawn from the posterior that keeps what was observed.

Draw d takes one posterior parameter set and simulates the whole campaign on the streams of
draw d of the forecast seed (``seeding.forecast_seed``, apart from the scenario's own runs).
Observed cohorts are simulated with exactly their observed activations; days after the
report buy users at the scenario's budgets. Then every observed cell (cohort, age <= its last
observed age) is replaced by the report: spend, activations, active users and revenue (and
sessions, ad impressions and first payers when given), so the forecast's ROAS through the
report's last day is the observed one and only what is still to come is simulated.

Survivors: the users still active at a cohort's last observed age are a selected, stickier
group. The forecast does not treat them as fresh users: each cohort is simulated from its
activation under the posterior's retention model, so its later ages come from the same
heterogeneous population whose early churn matched the report (the survivors at age T are
the model's own survivors, with their higher retention). What the forecast does not carry
over is the chance part of the report: a cohort that by luck kept 2 % more users than its
parameters imply gets the parameters' expected survivors, not those 2 %; at the report's
cohort sizes that luck is small beside the parameters' uncertainty (the simulation-based
calibration in benchmarks/calibration_sbc.py measures the combined effect).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from simcore import seeding
from simcore.kernel import layout as K
from simcore.kinds.game.simulate import simulate_draw
from simcore.model.acquisition import deliver
from simcore.model.channels import CHANNELS

KEPT = ("active_users", "revenue_iaa", "revenue_iap", "sessions", "ad_impressions", "payers")
_PAID = CHANNELS.index("paid_ads")


DRAWS_PER_TASK = 8        # forecast draws per executor task


def forecast_arrays(plans: list, observed, progress=None, executor=None):
    """Spend and activations [draw, channel, cohort] and kernel sums [draw, channel, cohort,
    var, age] of the forecast draws (one plan each, already on the forecast seed), here or
    on ``executor`` in tasks of ``DRAWS_PER_TASK`` draws (the same result either way)."""
    n, base = len(plans), plans[0]
    sums = np.zeros((n, len(CHANNELS), base.n_cohorts, K.N_VARS, base.horizon + 1))
    spend = np.zeros((n, len(CHANNELS), base.n_cohorts))
    activations = np.zeros((n, len(CHANNELS), base.n_cohorts), dtype=np.int64)
    tasks = [(start, plans[start:start + DRAWS_PER_TASK], observed)
             for start in range(0, n, DRAWS_PER_TASK)]
    results = (executor.map(_draws, tasks) if executor is not None
               else ((task, _draws(*task)) for task in tasks))
    for (start, block, _), (s, a, k) in results:
        stop = start + len(block)
        spend[start:stop, _PAID], activations[start:stop, _PAID], sums[start:stop, _PAID] = s, a, k
        if progress is not None:
            progress(len(block))
    return spend, activations, sums


def _draws(start: int, plans: list, observed):
    """Paid-ads spend, activations [draw, cohort] and sums [draw, cohort, var, age] of the
    forecast draws start, start + 1, ...: observed cohorts bought exactly as reported."""
    cohorts = observed["cohort"].values
    out = None
    for i, plan in enumerate(plans):
        d = start + i
        rng = seeding.acquisition_rng(plan.seed, d, 0, plan.market)
        spend, activations = deliver(plan.acquisition, rng)
        spend[cohorts] = observed["spend"].values
        activations[cohorts] = observed["activations"].values.astype(np.int64)
        sums = simulate_draw(plan, d, activations)
        if out is None:
            out = (np.zeros((len(plans), *spend.shape)),
                   np.zeros((len(plans), *activations.shape), dtype=np.int64),
                   np.zeros((len(plans), *sums.shape)))
        out[0][i], out[1][i], out[2][i] = spend, activations, sums
    return out


def forecast_dataset(loaded, plans: list, values: dict, observed, tau: np.ndarray,
                     progress=None, executor=None):
    """The forecast dataset: draw d runs ``plans[d]`` (``values``: their uncertain values by
    key) on the streams of draw d of the forecast seed, its unobserved cells carry the model
    error ``tau[d]`` (see ``carry_discrepancy``), then the report is kept."""
    from simcore.kinds.game.dataset import build_dataset
    from simcore.kinds.game.plan import compile_loaded

    root = seeding.forecast_seed(loaded.scenario.simulation.seed)
    plans = [dataclasses.replace(p, seed=root) for p in plans]
    spend, activations, sums = forecast_arrays(plans, observed, progress, executor)
    money = np.array([(p.money.rewarded_usd, p.money.interstitial_usd, p.money.iap_net_share,
                       0.0) for p in plans])
    ds = build_dataset(sums, spend, activations, money, compile_loaded(loaded), loaded, values)
    return keep_observed(carry_discrepancy(ds, tau, root), observed)


def carry_discrepancy(ds, tau: np.ndarray, root: int):
    """The model error the report showed, carried into what is still to come.

    The likelihood lets each reported cell miss the model by a relative error of sd tau
    (active users, revenue). What made the report miss (a retention curve of another shape,
    eCPM moving by calendar day) does not stop at the report's last day, so draw d scales
    every simulated cell by a persistent factor exp(tau z - tau^2 / 2), z ~ N(0, 1) from the
    draw's own stream (mean one): active users, sessions, impressions and payers by the
    active users' factor, revenue by both. Observed cells are replaced by the report
    afterwards (``keep_observed``). When the model fits, tau is near zero and this changes
    little; when it does not, the forecast widens by the size of the misfit.
    """
    factors = np.ones((ds.sizes["draw"], 2))
    for d in range(ds.sizes["draw"]):
        z = seeding.draw_rng(seeding.FORECAST, root, d).standard_normal(2)
        factors[d] = np.exp(tau[d] * z - 0.5 * tau[d] ** 2)
    scale = {"active": factors[:, 0], "revenue": factors[:, 0] * factors[:, 1]}
    ds = ds.copy(deep=True)
    for name, which in (("active_users", "active"), ("sessions", "active"),
                        ("ad_impressions", "active"), ("ad_impressions_rewarded", "active"),
                        ("purchases", "active"), ("payers", "active"),
                        ("revenue_iaa", "revenue"), ("revenue_iap", "revenue")):
        ds[name].values[:] *= scale[which][:, None, None]
    ds["revenue_by_channel"].values[:] *= scale["revenue"][:, None, None]
    return ds


def keep_observed(ds, observed):
    """``ds`` with every observed cell replaced by the report, outcomes recomputed."""
    from simcore.data.dataset import add_outcomes

    cohorts = observed["cohort"].values
    through = observed["observed_through"].values
    ages = np.arange(ds.sizes["age"])
    seen = np.zeros((ds.sizes["cohort"], ds.sizes["age"]), dtype=bool)
    seen[cohorts] = ages[None, :] <= through[:, None]
    n_obs = observed.sizes["age"]

    def report(name):
        grid = np.zeros((ds.sizes["cohort"], ds.sizes["age"]))
        grid[cohorts, :n_obs] = np.nan_to_num(observed[name].values)
        return grid

    ds = ds.drop_vars(["roas", "roas_paid", "cpa", "payback_day"]).copy(deep=True)
    if "revenue_iaa" not in observed:          # the report gives the total: keep the split
        total = ds["revenue_iaa"] + ds["revenue_iap"]
        with np.errstate(invalid="ignore", divide="ignore"):
            share = np.where(total.values > 0, ds["revenue_iaa"].values / total.values, 1.0)
        revenue = report("revenue")[None]
        ds["revenue_iaa"].values[:] = np.where(seen, revenue * share, ds["revenue_iaa"].values)
        ds["revenue_iap"].values[:] = np.where(seen, revenue * (1.0 - share),
                                               ds["revenue_iap"].values)
    for name in KEPT:
        if name in observed:
            ds[name].values[:] = np.where(seen, report(name)[None], ds[name].values)
    ds["revenue_by_channel"].values[:, _PAID] = (ds["revenue_iaa"]
                                                 + ds["revenue_iap"]).sum("cohort").values
    for name in ("spend", "activations"):
        ds[name].values[:, cohorts] = observed[name].values
        ds[f"{name}_by_channel"].values[:, _PAID, cohorts] = observed[name].values
    return add_outcomes(ds)
