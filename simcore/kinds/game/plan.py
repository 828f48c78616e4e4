"""The game's compile step: the one place a game scenario's fields become the kernel's
numbers (the campaign's own compile, shared by every kind, is ``simcore.model.acquisition``)."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from simcore.errors import ScenarioError
from simcore.kernel import layout as K
from simcore.model.acquisition import (
    MAX_IMPRESSIONS_PER_DAY,
    MAX_USERS_PER_DAY,
    Acquisition,
    check_delivery,
    compile_acquisition,
    rules_reach,
)
from simcore.model.iap import IapParams, resolve_iap, tier_edges
from simcore.model.retention import RetentionFit, active_share, fit_retention, survival
from simcore.scenario import LoadedScenario
from simcore.scenario.quality import channel_scenario
from simcore.scenario.schema import Retention, Scenario
from simcore.scenario.uncertainty import Z90


@dataclass(frozen=True)
class Money:
    """Per-unit revenue net to the developer [USD]."""

    rewarded_usd: float          # per rewarded impression shown
    interstitial_usd: float      # per interstitial impression shown
    iap_net_share: float         # net share of gross purchase value

    def net_revenue(self, sums: np.ndarray) -> np.ndarray:
        """Net revenue [USD] by age from kernel sums [..., N_VARS, age]."""
        return net_revenue_of(sums, self.rewarded_usd, self.interstitial_usd, self.iap_net_share)


def net_revenue_of(sums: np.ndarray, rewarded_usd, interstitial_usd, iap_net_share):
    """Net revenue [USD] by age from kernel sums [..., N_VARS, age]: the one place the kernel's
    counts meet their money (``Money``; arrays broadcast against ``sums[..., 0, :]``)."""
    return (sums[..., K.V_REWARDED, :] * rewarded_usd
            + sums[..., K.V_INTERSTITIAL, :] * interstitial_usd
            + sums[..., K.V_IAP_GROSS, :] * iap_net_share)


@dataclass(frozen=True)
class Fission:
    """Social fission: share activations on day t ~ Poisson(k_per_active_day * DAU(t - 1))."""

    k_per_active_day: float      # new users per active user-day (shares x conversion)
    k_effective: float           # new users per user over the horizon (K-factor)
    window_days: int             # calendar days over which share users are acquired
    max_users_per_day: int | None


@dataclass(frozen=True)
class Creators:
    """Creator videos per day and what a view brings and costs."""

    videos_per_day: float
    log_views_median: float      # log of the median views per video
    log_views_sd: float          # log-sd of views per video
    activation_per_view: float   # anchor CTR x load success x first play
    usd_per_view: float          # payment per view [USD] (0 when paid by revenue share)
    revenue_share: float         # share of their users' net revenue paid (0 when per view)
    days: int


@dataclass(frozen=True)
class Plan:
    """Everything a run needs, as plain numbers and arrays."""

    params: np.ndarray           # float64[N_PARAMS], see simcore.kernel.layout
    survival: np.ndarray         # S(t), t = 0..horizon: share not yet churned (probability)
    no_purchase: np.ndarray      # P(no purchase over a played days), a = 0..horizon + 1
    tiers: np.ndarray            # price tiers [USD] (empty = no snapping)
    tier_edges: np.ndarray
    horizon: int                 # last age [days]
    aggregate: bool
    seed: int
    draws: int
    acquisition: Acquisition
    money: Money
    retention: RetentionFit
    iap: IapParams | None
    rules: tuple = ()            # UA rules (simcore.scenario.schema.Rule): simcore.model.ua_rules
    fission: Fission | None = None
    creators: Creators | None = None
    organic: object | None = None  # simcore.scenario.schema.Organic (rates per day)
    organic_days: int = 0
    market: int = 0              # index of the market in a multi-market run (random streams)
    channel_plans: dict = dataclasses.field(default_factory=dict)  # channel -> Plan of its
                                 # users, where [quality] makes them differ from paid ads

    def for_channel(self, channel: str) -> "Plan":
        """The plan of the users a channel brings."""
        return self.channel_plans.get(channel, self)

    def in_market(self, market: int) -> "Plan":
        """This plan (and its channels' plans) on the random streams of market ``market``."""
        return dataclasses.replace(self, market=market, channel_plans={
            c: dataclasses.replace(p, market=market) for c, p in self.channel_plans.items()})

    @property
    def n_cohorts(self) -> int:
        """Cohorts (calendar days with activations): the longest of the campaign, creator,
        organic and share days."""
        window = self.fission.window_days if self.fission is not None else 0
        creator = self.creators.days if self.creators is not None else 0
        return max(self.acquisition.days, window, creator, self.organic_days)


_FITS: dict = {}  # memo of deterministic fits: draws share most of their sections


def _memo(key, make):
    if key not in _FITS:
        if len(_FITS) >= 4096:
            _FITS.clear()
        _FITS[key] = make()
    return _FITS[key]


def resolve_retention(ret: Retention, start: RetentionFit | None = None) -> RetentionFit:
    """The retention parameters in use: given directly, or fitted to the targets (``start``:
    a fit to nearby targets to begin from, see ``fit_retention``)."""
    return _memo(("retention", ret, start), lambda: _resolve_retention(ret, start))


def _resolve_retention(ret: Retention, start: RetentionFit | None) -> RetentionFit:
    targets = ret.targets()
    if targets:
        return fit_retention(ret.model, list(targets), list(targets.values()),
                             ret.daily_play_probability, start)
    c = ret.c if ret.model == "bdw" else 1.0
    return RetentionFit(ret.model, ret.alpha, ret.beta, c, ret.daily_play_probability)


def check_creators(cr: Creators) -> None:
    """Refuse creator numbers whose expected views or activations a day exceed what is
    simulated (``MAX_IMPRESSIONS_PER_DAY``, ``MAX_USERS_PER_DAY``); the mean of the heavy
    lognormal tail counts, since a draw's videos sample it."""
    log_views = (math.log(cr.videos_per_day) + cr.log_views_median
                 + 0.5 * cr.log_views_sd ** 2)           # log of the mean views per day
    limit_views = math.log(MAX_IMPRESSIONS_PER_DAY)
    limit_users = math.log(MAX_USERS_PER_DAY / cr.activation_per_view)
    if log_views > min(limit_views, limit_users):
        mean = math.exp(min(log_views, 700.0))
        what = (f"{mean:.3g} views a day in expectation (at most {MAX_IMPRESSIONS_PER_DAY:.0e})"
                if log_views > limit_views else f"{mean * cr.activation_per_view:.3g} "
                f"activations a day in expectation (at most {MAX_USERS_PER_DAY:.0e})")
        raise ScenarioError("creator.views_p90", f"with creator.videos_per_day "
                            f"{cr.videos_per_day:g} and views_median "
                            f"{math.exp(cr.log_views_median):.4g}, the videos bring {what}: "
                            "lower views_p90 (the tail), views_median or videos_per_day")


def compile_plan(s: Scenario, retention_start: RetentionFit | None = None,
                 retention: RetentionFit | None = None) -> Plan:
    """Map a validated scenario to a ``Plan`` (``retention_start``: see ``fit_retention``;
    ``retention``: the fit of ``s.retention`` when the caller made it, e.g. many draws at
    once with ``fit_retention_many``)."""
    if s.title.kind != "game":
        raise ScenarioError("title.kind", f"= '{s.title.kind}': a drama compiles with "
                            "simcore.kinds.drama.plan.compile_drama")
    ret = retention if retention is not None else resolve_retention(s.retention,
                                                                     retention_start)
    prm = np.zeros(K.N_PARAMS)
    prm[K.RET_ALPHA], prm[K.RET_BETA], prm[K.RET_C] = ret.alpha, ret.beta, ret.c
    prm[K.PLAY_PROB] = ret.play_probability
    prm[K.SESS_EXTRA_MEAN] = s.engagement.sessions_per_day - 1.0
    prm[K.SESS_SHAPE] = s.engagement.sessions_shape or 0.0
    prm[K.INTERSTITIAL_CAP] = -1.0
    rewarded_usd = interstitial_usd = 0.0
    if s.ads is not None:
        a = s.ads
        prm[K.REWARDED_RATE] = a.rewarded_per_session * a.fill_rate_rewarded
        prm[K.INTERSTITIAL_RATE] = a.interstitial_per_session * a.fill_rate_interstitial
        if a.interstitial_cap_per_day is not None:
            prm[K.INTERSTITIAL_CAP] = a.interstitial_cap_per_day
        rewarded_usd = a.ecpm_rewarded_usd / 1000.0 * a.developer_share
        interstitial_usd = a.ecpm_interstitial_usd / 1000.0 * a.developer_share
    iap = None
    iap_net = 0.0
    tiers = np.zeros(0)
    if s.iap is not None:
        iap = _memo(("iap", s.iap.model_dump_json(), ret), lambda: resolve_iap(s.iap, ret))
        prm[K.IAP_R], prm[K.IAP_ALPHA] = iap.r, iap.alpha
        prm[K.GG_P], prm[K.GG_Q], prm[K.GG_GAMMA] = iap.p, iap.q, iap.gamma
        tiers = np.asarray(iap.tiers, dtype=float)
        iap_net = s.iap.net_share

    c = s.campaign
    acq = compile_acquisition(c)
    check_delivery(acq, rules_reach(s.rules, acq))
    horizon = s.simulation.horizon_days
    played_days = np.arange(horizon + 2)
    no_purchase = np.ones(horizon + 2)
    if iap is not None:
        no_purchase = (iap.alpha / (iap.alpha + played_days)) ** iap.r
    channel_plans = {}
    if s.quality is not None:
        for channel in type(s.quality).model_fields:
            variant = channel_scenario(s, channel)  # scenario layer: validated there
            if variant is not s:
                channel_plans[channel] = compile_plan(variant, retention_start)
    fission = None
    if s.share is not None:
        k_day = s.share.shares_per_active_day * s.share.conversion
        sharers = channel_plans["share"].retention if "share" in channel_plans else ret
        active_days = active_share(np.arange(horizon + 1), sharers.alpha, sharers.beta,
                                   sharers.c, sharers.play_probability).sum()
        k_eff = k_day * active_days
        if k_eff >= 1.0 and s.share.max_users_per_day is None:
            raise ScenarioError("share.shares_per_active_day", f"= {s.share.shares_per_active_day}"
                                f": effective K-factor {k_eff:.3g} >= 1 (each user brings "
                                f"{k_eff:.3g} more over {active_days:.3g} active days): the "
                                "process explodes; lower it or share.conversion, or set "
                                "share.max_users_per_day")
        fission = Fission(k_day, float(k_eff), s.share.window_days or c.days,
                          s.share.max_users_per_day)
    creators = None
    if s.creator is not None:
        cr = s.creator
        creators = Creators(cr.videos_per_day, math.log(cr.views_median),
                            math.log(cr.views_p90 / cr.views_median) / Z90,
                            cr.anchor_ctr * cr.load_success * cr.first_play,
                            (cr.usd_per_1000_views or 0.0) / 1000.0, cr.revenue_share or 0.0,
                            cr.days or c.days)
        check_creators(creators)
    organic_days = (s.organic.days or c.days) if s.organic is not None else 0
    return Plan(prm, survival(np.arange(horizon + 1), ret.alpha, ret.beta, ret.c),
                no_purchase, tiers, tier_edges(tiers) if tiers.size else np.zeros(0),
                horizon, s.simulation.sampling == "aggregated",
                s.simulation.seed, s.simulation.draws, acq,
                Money(rewarded_usd, interstitial_usd, iap_net), ret, iap, tuple(s.rules),
                fission, creators, s.organic, organic_days, channel_plans=channel_plans)


def compile_loaded(loaded: LoadedScenario, scenario: Scenario | None = None,
                   retention_start: RetentionFit | None = None,
                   retention: RetentionFit | None = None) -> Plan:
    """``compile_plan`` for a loaded file (or one draw's ``scenario`` of it): fitting errors
    name the file they came from."""
    try:
        return compile_plan(loaded.scenario if scenario is None else scenario, retention_start,
                            retention)
    except ScenarioError as exc:
        raise exc.with_source(loaded.source) from None


def game_users(plan) -> dict[str, float]:
    """Expected activations per draw [users] by channel of a game's plan (the channels that
    bring any). Organic and share users follow what came before; their expectations here use
    the expected paid, creator and organic arrivals (share: the branching process in
    expectation, held by the daily cap)."""
    from simcore.model.acquisition import expected_share_activations

    n = plan.n_cohorts
    daily = np.zeros(n)
    acq = plan.acquisition
    daily[:acq.days] = acq.expected_activations()
    users = {"paid_ads": float(daily.sum())}
    cr = plan.creators
    if cr is not None:
        per_day = math.exp(math.log(cr.videos_per_day) + cr.log_views_median
                           + 0.5 * cr.log_views_sd ** 2) * cr.activation_per_view
        daily[:cr.days] += per_day
        users["creator"] = per_day * cr.days
    o = plan.organic
    if o is not None:
        days = plan.organic_days
        users["search"], users["profile"] = o.search_per_day * days, o.profile_per_day * days
        recent = 7.0 * daily[:days].mean() if days else 0.0
        users["games_center"] = days * o.games_center_scale * (recent / 1000.0) \
            ** o.games_center_exponent
        users["profile_return"] = o.profile_return_probability * daily.sum() * days
        daily[:days] += (users["search"] + users["profile"] + users["games_center"]) / days
    if plan.fission is not None:
        users["share"] = float(expected_share_activations(plan, daily).sum())
    return {k: v for k, v in users.items() if v > 0}
