"""The drama compile step: the one place a drama scenario's fields become kernel numbers."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from simcore.errors import ScenarioError
from simcore.kernel import drama_layout as D
from simcore.model.acquisition import Acquisition, check_delivery, compile_acquisition
from simcore.scenario import LoadedScenario
from simcore.scenario.drama import PASS_DAYS, Unlocks, conversion_multiplier
from simcore.scenario.schema import Scenario


@dataclass(frozen=True)
class DramaMoney:
    """What the kernel's counts are worth to the producer, net [USD]."""

    purchase_net_share: float    # net share of the price paid: (1 - tax)(1 - fee)(1 - refunds)
    tiktok_pay_factor: float     # price paid through TikTok pay / list price (1 - discount)
    ad_unlock_usd: float         # per rewarded ad shown
    ad_share_usd: float          # per free-episode view
    licence_usd: float           # per series, at age 0
    production_usd: float        # per series

    def as_array(self) -> np.ndarray:
        """The fields in declaration order (their positions: ``money_column``)."""
        return np.array(dataclasses.astuple(self), dtype=float)


def money_column(name: str) -> int:
    """Position of a ``DramaMoney`` field in ``DramaMoney.as_array()``."""
    return [f.name for f in dataclasses.fields(DramaMoney)].index(name)


@dataclass(frozen=True)
class DramaPlan:
    """Everything a drama run needs, as plain numbers and arrays."""

    params: np.ndarray           # float64[N_PARAMS], see simcore.kernel.drama_layout
    weights: np.ndarray          # continuation exponent after episode k, k = 0 .. episodes
    price: np.ndarray            # coins to unlock episode k, k = 0 .. episodes (0: free)
    pack_coins: np.ndarray       # coins per pack
    pack_usd: np.ndarray         # list price per pack [USD]
    horizon: int                 # last age [days]
    seed: int
    draws: int
    episodes: int
    acquisition: Acquisition
    money: DramaMoney
    organic_per_day: dict        # channel -> base arrivals per day [viewers/day]
    organic_days: int
    launch_spike: float
    launch_days: int
    market: int = 0              # random streams (multi-market runs are not supported yet)

    @property
    def n_cohorts(self) -> int:
        return max(self.acquisition.days, self.organic_days)

    def spike(self, day: int) -> float:
        """Organic arrival rate on ``day`` relative to the base: ``launch_spike`` on release
        day, falling linearly to 1 at ``launch_days``."""
        return 1.0 + (self.launch_spike - 1.0) * max(0.0, 1.0 - day / self.launch_days)


# what a free series without [unlocks] stands for: nothing to unlock, nothing to buy
FREE_SERIES = Unlocks(coins_per_episode=1, pack_coins=[1], pack_prices_usd=[0.01],
                      coins_probability=0.0, platform_fee=0.0)


def continuation_weights(s: Scenario) -> np.ndarray:
    """Exponent w_k of the continuation after episode k (index 0 unused)."""
    w = np.ones(s.series.episodes + 1)
    for k in s.series.cliffhanger_episodes:
        w[k] = s.series.cliffhanger_dropoff_ratio
    return w


def episode_prices(s: Scenario, u: Unlocks) -> np.ndarray:
    """Coins to unlock episode k, k = 0 .. episodes (0 for free episodes)."""
    se = s.series
    price = np.zeros(se.episodes + 1)
    price[se.free_episodes + 1:] = u.coins_per_episode
    if u.later_price_from_episode is not None:
        price[max(u.later_price_from_episode, se.free_episodes + 1):] = \
            u.later_coins_per_episode
    return price


def compile_drama(s: Scenario) -> DramaPlan:
    """Map a validated drama scenario to a ``DramaPlan`` (a free series without
    ``[unlocks]`` locks nothing and sells nothing)."""
    se, deal = s.series, s.deal
    u = s.unlocks if s.unlocks is not None else FREE_SERIES
    prm = np.zeros(D.N_PARAMS)
    prm[D.EPISODES], prm[D.FREE] = se.episodes, se.free_episodes
    if se.continuation_concentration is not None:
        prm[D.THETA_A] = se.continuation * se.continuation_concentration
        prm[D.THETA_B] = (1.0 - se.continuation) * se.continuation_concentration
    prm[D.LOG_THETA] = math.log(se.continuation)
    prm[D.PACE_EXTRA] = se.episodes_per_day - 1.0
    prm[D.PACE_SHAPE] = se.pace_shape or 0.0
    prm[D.WATCH_PROB] = se.watch_probability
    lift = conversion_multiplier(u.tiktok_pay_discount, u.price_elasticity)
    prm[D.COINS_P], prm[D.PASS_P], prm[D.AD_P] = (u.coins_probability, u.pass_probability,
                                                  u.ad_probability)
    prm[D.COINS_P_TT], prm[D.PASS_P_TT] = u.coins_probability * lift, u.pass_probability * lift
    prm[D.TT_SHARE] = u.tiktok_pay_share
    prm[D.WEEKLY_SHARE] = u.weekly_pass_share
    prm[D.RENEWAL] = u.pass_renewal
    prm[D.REPURCHASE] = u.coins_repurchase
    prm[D.WEEKLY_USD] = u.weekly_pass_usd or 0.0
    prm[D.MONTHLY_USD] = u.monthly_pass_usd or 0.0
    prm[D.WEEKLY_DAYS], prm[D.MONTHLY_DAYS] = PASS_DAYS["weekly"], PASS_DAYS["monthly"]
    money = DramaMoney(
        purchase_net_share=u.net_share,
        tiktok_pay_factor=1.0 - u.tiktok_pay_discount,
        ad_unlock_usd=u.ad_ecpm_usd / 1000.0 * u.ad_developer_share,
        ad_share_usd=deal.ad_share_rpm_usd / 1000.0 * deal.ad_share,
        licence_usd=deal.licence_fee_usd, production_usd=deal.production_budget_usd)
    o = s.organic
    organic = {} if o is None else {"search": o.search_per_day, "profile": o.profile_per_day}
    organic_days = 0 if o is None else (o.days or s.campaign.days)
    acq = compile_acquisition(s.campaign)
    check_delivery(acq)                 # dramas refuse UA rules: the schedule is the budget
    return DramaPlan(prm, continuation_weights(s), episode_prices(s, u),
                     np.asarray(u.pack_coins, dtype=float),
                     np.asarray(u.pack_prices_usd, dtype=float), s.simulation.horizon_days,
                     s.simulation.seed, s.simulation.draws, se.episodes,
                     acq, money, organic, organic_days,
                     deal.launch_spike, deal.launch_days)


def compile_loaded_drama(loaded: LoadedScenario, scenario: Scenario | None = None) -> DramaPlan:
    """``compile_drama`` for a loaded file (or one draw's ``scenario`` of it): errors name the
    file."""
    try:
        return compile_drama(loaded.scenario if scenario is None else scenario)
    except ScenarioError as exc:
        raise exc.with_source(loaded.source) from None
