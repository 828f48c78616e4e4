"""The sections of a micro-drama series (``[title] kind = "drama"``): ``[series]``,
``[unlocks]`` and ``[deal]``.

A drama reuses ``[campaign]`` (paid viewers: an activation is a viewer starting episode 1),
``[organic]`` (search and profile-entrance viewers; the release spike scales them) and the
uncertainty machinery; the game-only sections do not apply. The viewer model is in
``simcore.kernel.drama``; units are in brackets in each description.
"""

from __future__ import annotations

from pydantic import model_validator

from simcore.errors import ScenarioError
from simcore.scenario.base import PurchaseDeductions, Section, field

PASS_DAYS = {"weekly": 7, "monthly": 30}   # days a pass unlocks every episode
# sections that describe a game and mean nothing for a drama, and the other way round
GAME_ONLY = ("retention", "engagement", "ads", "iap", "creator", "quality", "share")
DRAMA_ONLY = ("series", "unlocks", "deal")


def conversion_multiplier(discount: float, elasticity: float) -> float:
    """How much more often a viewer buys at (1 - discount) of the list price."""
    return (1.0 - discount) ** -elasticity


class Series(Section):
    """The episodes and how viewers move through them.

    A viewer who has watched episode k goes on to k + 1 with probability theta ** w_k:
    theta is the viewer's continuation propensity (Beta with mean ``continuation`` and
    concentration a + b = ``continuation_concentration``; the same for all viewers when
    absent), w_k = ``cliffhanger_dropoff_ratio`` after a cliffhanger episode and 1 otherwise
    (drop-off 1 - theta ** w is about w times the usual). The paywall's drop is the unlock
    choice (``[unlocks]``): viewers who pick no unlock method leave there.
    """

    episodes: int = field(unit="episodes", description="Episodes in the series", ge=1, le=500)
    free_episodes: int = field(unit="episodes", description="Episodes before the paywall "
                               "(free to watch; at least the first); = episodes for a free "
                               "series", ge=1, le=500)
    minutes_per_episode: float = field(1.5, unit="minutes", description="Running time of an "
                                       "episode", gt=0, le=30)
    continuation: float = field(unit="probability/episode", description="Mean chance that a "
                                "viewer who finished an episode starts the next", gt=0, le=1)
    continuation_concentration: float | None = field(
        None, unit="1", description="Beta concentration a + b of the viewers' continuation "
        "propensity (smaller = more heterogeneous); absent = all viewers alike", gt=0, le=1e4)
    cliffhanger_episodes: list[int] = field(
        [], unit="episode numbers", description="Episodes that end on a cliffhanger "
        "(1-based; fewer viewers drop after them)")
    cliffhanger_dropoff_ratio: float = field(
        0.5, unit="1", description="Drop-off after a cliffhanger relative to the usual: "
        "continuation there is theta ** ratio", ge=0, le=1)
    episodes_per_day: float = field(unit="episodes/active day", description="Binge pace: "
                                    "mean episodes a viewer watches per active day (>= 1)",
                                    ge=1, le=500)
    pace_shape: float | None = field(
        None, unit="1", description="Gamma shape of the viewers' pace beyond one episode a "
        "day (smaller = more heterogeneous); absent = all viewers alike", ge=1e-3, le=1e4)
    watch_probability: float = field(
        1.0, unit="probability/day", description="Chance a viewer who has not left comes back "
        "to watch on a given day after day 0", gt=0, le=1)

    @model_validator(mode="after")
    def _episodes(self):
        if self.free_episodes > self.episodes:
            raise ScenarioError("series.free_episodes", f"= {self.free_episodes}: cannot "
                                f"exceed series.episodes ({self.episodes})")
        bad = [e for e in self.cliffhanger_episodes if not 1 <= e < self.episodes]
        if bad:
            raise ScenarioError("series.cliffhanger_episodes", f"= {self.cliffhanger_episodes}"
                                f": episode {bad[0]} is not followed by another (valid range: "
                                f"1 <= episode <= {self.episodes - 1})")
        if self.continuation_concentration is not None and self.continuation >= 1.0:
            raise ScenarioError("series.continuation", "= 1.0 leaves no room for "
                                "heterogeneity: lower it or drop "
                                "series.continuation_concentration")
        return self


class Unlocks(PurchaseDeductions):
    """How a viewer unlocks an episode after the paywall, and what it brings.

    A viewer who wants a locked episode and holds neither a running pass nor enough coins
    faces the paywall: buys coins (``coins_probability``), a pass (``pass_probability``),
    watches a rewarded ad (``ad_probability``, and from then on one ad per episode), or
    leaves. Later, a coin buyer who runs short buys again (``coins_repurchase``) and a pass
    that has run out is renewed (``pass_renewal``), or the viewer leaves. Viewers paying
    through TikTok pay (``tiktok_pay_share`` of them) pay (1 - ``tiktok_pay_discount``) of
    the price, and at the paywall choose coins or a pass (1 - discount) **
    -``price_elasticity`` times as often (repurchase and renewal chances are not lifted).
    """

    coins_per_episode: int = field(unit="coins", description="Coins to unlock one episode",
                                   ge=1, le=100_000)
    later_coins_per_episode: int | None = field(
        None, unit="coins", description="Coins per episode from later_price_from_episode on "
        "(later episodes may cost more)", ge=1, le=100_000)
    later_price_from_episode: int | None = field(
        None, unit="episode number", description="First episode at the later price", ge=1,
        le=500)
    pack_coins: list[int] = field(unit="coins", description="Coins in each coin pack, "
                                  "smallest first, e.g. [500, 1000, 2000]")
    pack_prices_usd: list[float] = field(unit="USD", description="Price of each coin pack "
                                         "(platform price tiers), e.g. [4.99, 9.99, 19.99]")
    coins_probability: float = field(unit="probability", description="Chance a viewer at "
                                     "the paywall buys coins", ge=0, le=1)
    pass_probability: float = field(0.0, unit="probability", description="Chance a viewer at "
                                    "the paywall buys a pass", ge=0, le=1)
    ad_probability: float = field(0.0, unit="probability", description="Chance a viewer at "
                                  "the paywall unlocks with rewarded ads (one per episode)",
                                  ge=0, le=1)
    weekly_pass_usd: float | None = field(None, unit="USD", description="Price of a 7-day "
                                          "pass (every episode unlocked)", gt=0, le=1000)
    monthly_pass_usd: float | None = field(None, unit="USD", description="Price of a 30-day "
                                           "pass", gt=0, le=1000)
    weekly_pass_share: float = field(1.0, unit="share", description="Share of pass buyers "
                                     "who take the weekly pass (the rest monthly)", ge=0, le=1)
    pass_renewal: float = field(0.0, unit="probability", description="Chance a pass that has "
                                "run out is renewed when its holder next wants a locked "
                                "episode (else the viewer leaves)", ge=0, le=1)
    coins_repurchase: float = field(0.5, unit="probability", description="Chance a viewer "
                                    "who bought coins before buys again when they run short "
                                    "(else the viewer leaves)", ge=0, le=1)
    ad_ecpm_usd: float = field(0.0, unit="USD per 1,000 impressions", description="eCPM of "
                               "the rewarded ads that unlock episodes", ge=0, le=1000)
    ad_developer_share: float = field(1.0, unit="share", description="Share of rewarded-ad "
                                      "revenue paid to the producer", ge=0, le=1)
    tiktok_pay_share: float = field(0.0, unit="share", description="Share of viewers who pay "
                                    "through TikTok pay", ge=0, le=1)
    tiktok_pay_discount: float = field(0.0, unit="share", description="Price discount when "
                                       "paying through TikTok pay (about 0.10)", ge=0, lt=1)
    price_elasticity: float = field(0.0, unit="1", description="Elasticity of conversion to "
                                    "price: a price (1 - d) times the list price multiplies "
                                    "the chances to buy coins or a pass at the paywall by "
                                    "(1 - d) ** -elasticity",
                                    ge=0, le=10)

    @model_validator(mode="after")
    def _consistent(self):
        coins, prices = self.pack_coins, self.pack_prices_usd
        if not coins or any(not 1 <= c <= 10**7 for c in coins) or any(
                b <= a for a, b in zip(coins, coins[1:])):
            raise ScenarioError("unlocks.pack_coins", f"= {coins}: need at least one pack, "
                                "each 1 <= coins <= 1e7, rising")
        if len(prices) != len(coins):
            raise ScenarioError("unlocks.pack_prices_usd", f"has {len(prices)} prices for "
                                f"{len(coins)} packs: give one per unlocks.pack_coins")
        if any(not 0 < p <= 10_000 for p in prices) or any(
                b <= a for a, b in zip(prices, prices[1:])):
            raise ScenarioError("unlocks.pack_prices_usd", f"= {prices}: each price must lie "
                                "in 0 < value <= 10000 USD, rising")
        total = self.coins_probability + self.pass_probability + self.ad_probability
        if total > 1.0 + 1e-12:
            raise ScenarioError("unlocks.ad_probability", f"coins, pass and ad probabilities "
                                f"sum to {total:.6g}: they must sum to at most 1")
        lift = conversion_multiplier(self.tiktok_pay_discount, self.price_elasticity)
        total = (self.coins_probability + self.pass_probability) * lift + self.ad_probability
        if self.tiktok_pay_share > 0 and total > 1.0 + 1e-12:
            raise ScenarioError("unlocks.price_elasticity", f"= {self.price_elasticity}: with "
                                f"the TikTok pay discount the paywall chances sum to "
                                f"{total:.4g} > 1 (lower the elasticity, coins_probability or "
                                "pass_probability)")
        if (self.later_coins_per_episode is None) != (self.later_price_from_episode is None):
            raise ScenarioError("unlocks.later_price_from_episode", "give both "
                                "later_coins_per_episode and later_price_from_episode, "
                                "or neither")
        if self.pass_probability > 0:
            if self.weekly_pass_share > 0 and self.weekly_pass_usd is None:
                raise ScenarioError("unlocks.weekly_pass_usd", "missing: needed when "
                                    "pass_probability > 0 and weekly_pass_share > 0")
            if self.weekly_pass_share < 1 and self.monthly_pass_usd is None:
                raise ScenarioError("unlocks.monthly_pass_usd", "missing: needed when "
                                    "pass_probability > 0 and weekly_pass_share < 1")
        return self


class Deal(Section):
    """The platform deal, the production budget and the release pattern.

    The licence fee is paid once per series, counted at age 0 of the series: it enters the
    series P&L and ROI, not ROAS on UA (which divides UA-attributable viewer revenue by UA
    spend). The ad share is the producer's part of the platform's ad revenue on free
    episodes. Organic viewers ([organic]) arrive ``launch_spike`` times as fast on release
    day, falling linearly back to the base rate over ``launch_days``.
    """

    licence_fee_usd: float = field(0.0, unit="USD", description="Licence fee the platform "
                                   "pays per series (up to about 10,000)", ge=0, le=1e6)
    ad_share_rpm_usd: float = field(0.0, unit="USD per 1,000 views", description="Platform "
                                    "ad revenue per 1,000 views of free episodes", ge=0,
                                    le=1000)
    ad_share: float = field(0.0, unit="share", description="Producer's share of the ad "
                            "revenue on free episodes", ge=0, le=1)
    production_budget_usd: float = field(0.0, unit="USD", description="Cost of producing "
                                         "the series (typically 100,000-300,000)", ge=0,
                                         le=1e8)
    launch_spike: float = field(1.0, unit="1", description="Organic arrivals on release day "
                                "relative to the base rate", ge=1, le=100)
    launch_days: int = field(8, unit="days", description="Days over which the launch spike "
                             "falls back to the base rate (typically 7-10)", ge=1, le=60)


def check_kind(s) -> None:
    """The sections a scenario's ``title.kind`` needs are given, and no section of the other
    kind is (it would be silently ignored)."""
    kind = s.title.kind
    if kind == "game":
        for name in DRAMA_ONLY:
            if getattr(s, name) is not None:
                raise ScenarioError(name, f"section [{name}] is for dramas but title.kind = "
                                    "'game' (set title.kind = 'drama')")
        for name in ("retention", "engagement"):
            if getattr(s, name) is None:
                raise ScenarioError(name, f"missing section [{name}]: required when "
                                    "title.kind = 'game'")
        if s.title.monetization is None:
            raise ScenarioError("title.monetization", "missing required key; valid values: "
                                "'iaa', 'iap', 'hybrid'")
        return
    for name in ("series", "deal"):
        if getattr(s, name) is None:
            raise ScenarioError(name, f"missing section [{name}]: required when title.kind "
                                "= 'drama'")
    if s.unlocks is None and s.series.free_episodes < s.series.episodes:
        raise ScenarioError("unlocks", "missing section [unlocks]: required when episodes "
                            "are locked (series.free_episodes < series.episodes)")
    if s.unlocks is not None and s.series.free_episodes == s.series.episodes:
        raise ScenarioError("unlocks", "section [unlocks] would be ignored: every episode is "
                            "free (series.free_episodes = series.episodes)")
    for name in GAME_ONLY:
        if getattr(s, name) is not None:
            raise ScenarioError(name, f"section [{name}] is for games and would be ignored: "
                                "title.kind = 'drama'")
    if s.title.monetization is not None:
        raise ScenarioError("title.monetization", "is for games: a drama earns through "
                            "[unlocks] and [deal]")
    for name, what in (("markets", "[[markets]]"), ("rules", "[[rules]]")):
        if getattr(s, name):
            raise ScenarioError(name, f"{what} are not supported for dramas yet")
    o = s.organic
    if o is not None and (o.games_center_scale > 0 or o.profile_return_probability > 0):
        key = "games_center_scale" if o.games_center_scale > 0 else "profile_return_probability"
        raise ScenarioError(f"organic.{key}", "is for games: a drama's organic viewers come "
                            "through search and the profile entrance")
    later = s.unlocks.later_price_from_episode if s.unlocks is not None else None
    if later is not None and later > s.series.episodes:
        raise ScenarioError("unlocks.later_price_from_episode", f"= {later}: beyond the last "
                            f"episode (series.episodes = {s.series.episodes})")
