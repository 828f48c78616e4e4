"""Calibration: a Bayesian update of a scenario's uncertain assumptions from a live
campaign's cohort report, and the forecast drawn from the posterior.

    import simcore
    loaded = simcore.load_scenario("scenarios/reborn_emperor_us.toml")
    observed = simcore.read_observed("report.csv", campaign_days=14)
    forecast = simcore.calibrate(loaded, observed)      # a run dataset, plus the calibration
    print(simcore.format_calibration(forecast))

The prior is the scenario's distributions (their copula correlations included); the data is
the report; the model is the simulator's, through its title kind's report model
(``simcore.kinds``: a kind's ``calibration``; the game's is ``simcore.kinds.game.observation``,
the closed-form moments of a cohort's report); the posterior is sampled by tempered sequential
Monte Carlo (``smc``) in the copula's latent space (``latent``); the forecast runs the
simulator on posterior draws and keeps what was observed (the kind's ``forecast_dataset``);
``checks`` says how well the model fits and where the report and the prior disagree; ``sbc``
tests the whole by simulation-based calibration.
"""

from __future__ import annotations

import json

import numpy as np

from simcore import seeding
from simcore.errors import ScenarioError
from simcore.studies.calibration import checks
from simcore.studies.calibration.latent import TAU_NAMES
from simcore.studies.calibration.posterior import (
    MAX_PARTICLES,
    MIN_PARTICLES,
    PARTICLES,
    report_model,
    sample_posterior,
)

__all__ = ["MAX_PARTICLES", "MIN_PARTICLES", "PARTICLES", "calibrate"]
PPC_REPLICAS = 1000        # posterior particles used for the fit table and p-values (at most)
FIT_QUANTILES = (0.05, 0.5, 0.95)


def check_report(loaded, observed) -> None:
    """The report must describe this scenario's campaign: one line naming what does not."""
    s = loaded.scenario
    source = observed.attrs.get("source", "observed")
    cohorts = observed["cohort"].values
    if cohorts.size and cohorts.max() >= s.campaign.days:
        raise ScenarioError("cohort", f"= {int(cohorts.max())}: the scenario's campaign runs "
                            f"{s.campaign.days} days (cohorts 0-{s.campaign.days - 1}); set "
                            "campaign.days to cover the report", source)
    if observed.sizes["age"] - 1 > s.simulation.horizon_days:
        raise ScenarioError("age", f"= {observed.sizes['age'] - 1}: beyond the scenario's "
                            f"simulation.horizon_days {s.simulation.horizon_days}", source)
    channels = observed.attrs.get("channels")
    if channels and channels != "paid_ads":
        raise ScenarioError("channel", f"= {channels}: calibration reads paid_ads cohorts "
                            "only", source)
    region = observed.attrs.get("regions")
    if region and region != s.campaign.region:
        raise ScenarioError("region", f"= {region}: the scenario's campaign.region is "
                            f"{s.campaign.region}", source)
    spend, users = observed["spend"].values, observed["activations"].values
    unpaid = np.flatnonzero((spend <= 0) & (users > 0))
    if unpaid.size:
        c = unpaid[0]
        raise ScenarioError("spend", f"= {spend[c]:g} USD for cohort {int(cohorts[c])} with "
                            f"{users[c]:g} activations: paid users are bought with spend; "
                            "give each cohort's spend in USD (> 0)", source)
    if not (users > 0).any():
        raise ScenarioError("activations", "no cohort has activated users: nothing to "
                            "calibrate on", source)


def calibrate(loaded, observed, *, particles: int = PARTICLES, draws: int | None = None,
              discrepancy: bool = True, executor=None, progress=None):
    """Calibrate ``loaded`` (one market; for a game, its paid-ads cohorts) on ``observed``
    (from ``simcore.read_observed``) and return the forecast dataset.

    ``particles``: posterior sample size (100-20,000); ``draws``: forecast draws (default the
    scenario's ``simulation.draws``); ``discrepancy``: learn the model's misfit (default; False
    takes the model as exact, for known-answer checks); ``executor`` (``simcore.studies.executors``,
    e.g. a Dask cluster): where the particles' likelihoods and the forecast's draws run, with
    the same result anywhere. ``progress`` is called with 1 per forecast draw.

    The dataset is a run dataset (``summary``, ``plot``, ``report`` read it) whose draws come
    from the posterior, with the report kept where observed, plus: ``observed_*`` and
    ``observed_through`` (cohort[, age]), ``prior_<key>`` and ``posterior_<key>`` (particle),
    the fit table ``fit_observed`` (series, report_age) and ``fit_predicted`` (quantile,
    series, report_age), ``ppc_p`` (series, statistic) and attrs ``calibration`` (JSON:
    sampler diagnostics and warnings).
    """
    report_model(loaded)
    check_report(loaded, observed)
    n_draws = loaded.scenario.simulation.draws if draws is None else int(draws)
    if not 1 <= n_draws <= 100_000:
        raise ScenarioError("draws", f"= {draws}: 1-100000 forecast draws", loaded.source)
    post = sample_posterior(loaded, observed, particles, discrepancy, executor)
    rng = seeding.draw_rng(seeding.CALIBRATION, loaded.scenario.simulation.seed, 1)
    order = rng.permutation(len(post.plans))
    pick = order[np.arange(n_draws) % order.size]
    values = {k: v[pick] for k, v in post.values.items()}
    ds = post.model.kind.forecast_dataset(loaded, [post.plans[i] for i in pick], values,
                                          observed, post.tau[pick], progress, executor)
    return _add_calibration(ds, loaded, observed, post, rng)


def _add_calibration(ds, loaded, observed, post, rng):
    """The report, the particles, the fit table, p-values and diagnostics, added to ``ds``."""
    model = post.model
    series = model.series
    users = observed["activations"].values
    for name in observed.data_vars:           # the whole report, as read
        on = {"cohort": ds.cohort, **({"age": ds.age} if "age" in observed[name].dims
                                      else {})}
        kept = name if name == "observed_through" else f"observed_{name}"
        ds[kept] = observed[name].reindex(on)
        ds[kept].attrs = dict(observed[name].attrs)
    for prefix, values, tau in (("prior", post.prior_values, post.prior_tau),
                                ("posterior", post.values, post.tau)):
        for dist in loaded.uncertainty.parameters:
            ds[f"{prefix}_{dist.key}"] = (("particle",), np.asarray(values[dist.key], float),
                                          {"units": dist.unit or "1",
                                           "long_name": f"{prefix} draw of {dist.key}",
                                           "distribution": dist.describe()})
        for j, name in enumerate(TAU_NAMES if model.prior.discrepancy else ()):
            ds[f"{prefix}_{name}"] = (("particle",), tau[:, j], {
                "units": "1", "long_name": f"{prefix} draw of the relative discrepancy of "
                f"{name.split('.')[1]}"})
    sub = np.sort(rng.permutation(len(post.plans))[:PPC_REPLICAS])
    rep = model.kind.replicate([post.plans[i] for i in sub], observed, series, post.tau[sub],
                               rng)
    p_values = checks.ppc(observed, series, rep["expected"], rep["replica"], rep["variance"])
    fit = np.quantile(checks.pooled(rep["replica"], users), FIT_QUANTILES, axis=0)
    ds["fit_observed"] = (("series", "report_age"),
                          checks.pooled(checks.grids(observed, series), users),
                          {"long_name": "the report pooled over cohorts: active share, "
                           "revenue per activation [USD] at age"})
    ds["fit_predicted"] = (("quantile", "series", "report_age"), fit,
                           {"long_name": "posterior predictive quantiles of fit_observed"})
    ds["ppc_p"] = (("series", "statistic"), p_values,
                   {"long_name": "posterior predictive p-value", "units": "probability"})
    ds = ds.assign_coords(series=list(series), statistic=["squares", "trend"],
                          quantile=list(FIT_QUANTILES),
                          report_age=np.arange(observed.sizes["age"]))
    warnings = _prior_conflicts(loaded, observed, post, rng)
    for s, name in enumerate(series):
        for j, what in enumerate(("misfit", "trend with age")):
            if p_values[s, j] < checks.PPC_ALPHA:
                warnings.append(f"{checks.SERIES_NAMES[name]}: the calibrated model misses the "
                                f"report ({what}, posterior predictive p = "
                                f"{p_values[s, j]:.3g}); the forecast may be off beyond its "
                                "interval: check the retention model and the report")
    r = post.result
    ds.attrs["calibration"] = json.dumps({
        "particles": int(r.z.shape[0]), "steps": len(r.temperatures),
        "temperatures": [round(t, 6) for t in r.temperatures],
        "ess": [round(e, 4) for e in r.ess], "acceptance": [round(a, 4) for a in r.acceptance],
        "moves": r.moves, "unique": round(r.unique, 4), "log_evidence": r.log_evidence,
        "report": observed.attrs.get("source", ""),
        "last_day": int(observed.attrs.get("last_day", -1)),
        "warnings": warnings})
    ds.attrs["forecast_seed"] = int(seeding.forecast_seed(loaded.scenario.simulation.seed))
    return ds


def _prior_conflicts(loaded, observed, post, rng) -> list[str]:
    """Warnings where the report lies outside the prior predictive range (reports replicated
    from the prior draws, their discrepancy and sampling noise included)."""
    model = post.model
    plans, valid = model.plans(post.result.prior_z)
    good = [p for p in plans if p is not None]
    if len(good) < 10:
        return ["fewer than 10 prior draws compile: the prior check was skipped"]
    rep = model.kind.replicate(good, observed, model.series, post.prior_tau[valid], rng)
    values = {k: np.asarray(v)[valid] for k, v in post.prior_values.items()}
    return checks.conflicts(observed, model.series, rep["replica"], values,
                            rep["activations"])
