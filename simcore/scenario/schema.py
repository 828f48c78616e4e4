"""The scenario schema: frozen, validated pydantic models, one per TOML section.

Every numeric field states its unit and valid range (``Field`` constraints); the loader turns
any violation into one line naming the file, the dotted key, the value and the range.
Cross-field rules raise ``ScenarioError`` with the dotted key they concern.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import model_validator

from simcore.errors import ScenarioError
from simcore.scenario.base import PurchaseDeductions, Section, field
from simcore.scenario.base import mode_keys as _mode_keys
from simcore.scenario.drama import Deal, Series, Unlocks, check_kind
from simcore.scenario.markets import BARE_KEY, quoted
from simcore.scenario.regions import REGION_LEVELS

REGIONS = tuple(REGION_LEVELS)     # the regions simcore has levels for (simcore.scenario.regions)
# keys that set the shape of a run (its dimensions and streams): never uncertain, and the
# same in every market
RUN_SHAPE_SECTIONS = ("simulation",)
RUN_SHAPE_KEYS = ("campaign.days", "campaign.region", "creator.days", "organic.days",
                  "share.window_days", "series.episodes", "deal.launch_days")
RETENTION_TARGET_KEYS = ("d1", "d3", "d7", "d14", "d30", "d60", "d90")


class Title(Section):
    name: str = field(description="Title name used in summaries and reports", min_length=1)
    genre: str = field("", description="Free-text category, e.g. simulation, puzzle")
    kind: Literal["game", "drama"] = field(
        "game", description="game: a mini-game; drama: a micro-drama series "
        "([series], [unlocks], [deal])")
    monetization: Literal["iaa", "iap", "hybrid"] | None = field(
        None, description="Revenue model of a game: in-app ads, in-app purchases, or both")


class Simulation(Section):
    seed: int = field(0, description="Root seed of every random stream", ge=0, le=2**63 - 1)
    draws: int = field(100, description="Monte Carlo draws (independent realisations)",
                       ge=1, le=100_000)
    horizon_days: int = field(180, unit="days", description="Last age simulated per cohort",
                              ge=1, le=1095)
    sampling: Literal["aggregated", "per_user"] = field(
        "aggregated", description="Exact aggregated sampler (fast) or plain per-user-day draws")


class Campaign(Section):
    region: Literal[REGIONS] = field(description="Market the campaign buys")
    days: int = field(unit="days", description="Days of spend (one cohort per day)",
                      ge=1, le=365)
    daily_budget_usd: float = field(unit="USD/day", description="Spend per campaign day",
                                    ge=1, le=1e8)
    bidding: Literal["target_cpa", "cpm"] = field(
        description="target_cpa: pay per activation; cpm: pay per 1,000 impressions")
    target_cpa_usd: float | None = field(
        None, unit="USD", description="Bid CPA at small budgets (target_cpa bidding)",
        gt=0, le=1000)
    cpm_usd: float | None = field(None, unit="USD", description="Cost per 1,000 ad impressions "
                                  "at small budgets (cpm bidding)", gt=0, le=1000)
    anchor_ctr: float | None = field(None, unit="probability", description="Share of "
                                     "impressions whose viewer taps the Play anchor", gt=0, le=1)
    load_success: float | None = field(None, unit="probability", description="Share of anchor "
                                       "taps whose mini-game loads", gt=0, le=1)
    first_play: float | None = field(None, unit="probability", description="Share of loads "
                                     "that reach a first real play (activation)", gt=0, le=1)
    saturation_budget_usd: float | None = field(
        None, unit="USD/day", description="Daily budget at which the unit cost (CPA or CPM) "
        "has doubled: cost = base * (1 + (budget / this) ** saturation_shape); "
        "absent = no saturation", gt=0, le=1e9)
    saturation_shape: float = field(1.0, description="Exponent of the saturation curve",
                                    ge=0.1, le=5)
    daily_cost_volatility: float = field(
        0.0, unit="log-sd", description="Day-to-day movement of the unit cost: standard "
        "deviation of its logarithm (mean-preserving lognormal, so a fixed budget buys "
        "exp(sd^2) times the users of the mean cost on average: 1.02x at 0.15, 2.7x at 1)",
        ge=0, le=1)
    budget_schedule: Literal["flat", "ramp", "pulse", "list"] = field(
        "flat", description="Spend by day: flat (daily_budget_usd every day), ramp (from "
        "ramp_start_share of it up to it over ramp_days), pulse (daily_budget_usd for "
        "pulse_length_days of every pulse_period_days, pulse_off_share of it otherwise), "
        "list (daily_budgets_usd)")
    ramp_days: int | None = field(None, unit="days", description="Days to reach the full "
                                  "daily budget (ramp)", ge=1, le=365)
    ramp_start_share: float | None = field(None, unit="share", description="Share of the "
                                           "daily budget spent on day 0 (ramp)", gt=0, le=1)
    pulse_period_days: int | None = field(None, unit="days", description="Days from one "
                                          "pulse start to the next (pulse)", ge=2, le=365)
    pulse_length_days: int | None = field(None, unit="days", description="Days at full "
                                          "budget in each pulse (pulse)", ge=1, le=364)
    pulse_off_share: float | None = field(None, unit="share", description="Share of the daily "
                                          "budget spent between pulses (pulse)", ge=0, lt=1)
    daily_budgets_usd: list[float] | None = field(
        None, unit="USD/day", description="Spend on each campaign day (list): one value per "
        "day, each 0 <= value <= 1e8, at least one >= 1")

    @model_validator(mode="after")
    def _bidding_fields(self):
        _mode_keys(self, "campaign", "bidding", {
            "target_cpa": ("target_cpa_usd",),
            "cpm": ("cpm_usd", "anchor_ctr", "load_success", "first_play")})
        return self

    SCHEDULE_KEYS: ClassVar[dict[str, tuple[str, ...]]] = {
        "ramp": ("ramp_days", "ramp_start_share"),
        "pulse": ("pulse_period_days", "pulse_length_days", "pulse_off_share"),
        "list": ("daily_budgets_usd",)}

    @model_validator(mode="after")
    def _schedule_fields(self):
        _mode_keys(self, "campaign", "budget_schedule", self.SCHEDULE_KEYS)
        if self.budget_schedule == "pulse" and self.pulse_length_days >= self.pulse_period_days:
            raise ScenarioError("campaign.pulse_length_days", f"= {self.pulse_length_days}: "
                                "must be shorter than campaign.pulse_period_days "
                                f"({self.pulse_period_days})")
        if self.budget_schedule == "list":
            budgets = self.daily_budgets_usd
            if len(budgets) != self.days:
                raise ScenarioError("campaign.daily_budgets_usd", f"has {len(budgets)} values: "
                                    f"give one per campaign day (campaign.days = {self.days})")
            if any(not 0 <= b <= 1e8 for b in budgets) or max(budgets) < 1:
                raise ScenarioError("campaign.daily_budgets_usd", f"= {budgets}: each value "
                                    "must lie in 0 <= value <= 1e8 USD/day, at least one >= 1")
        return self

    def budgets(self) -> list[float]:
        """Spend on each campaign day [USD/day], from the schedule."""
        full = self.daily_budget_usd
        if self.budget_schedule == "list":
            return list(self.daily_budgets_usd)
        if self.budget_schedule == "ramp":
            start, n = self.ramp_start_share, self.ramp_days
            return [full * (start + (1 - start) * min(d / n, 1.0)) for d in range(self.days)]
        if self.budget_schedule == "pulse":
            on = self.pulse_length_days
            return [full if d % self.pulse_period_days < on else full * self.pulse_off_share
                    for d in range(self.days)]
        return [full] * self.days


class Retention(Section):
    model: Literal["sbg", "bdw"] = field(
        "bdw", description="sbg: shifted-beta-geometric; bdw: beta-discrete-Weibull")
    alpha: float | None = field(None, description="Beta shape alpha of the daily churn "
                                "probability", gt=0.001, le=1e4)
    beta: float | None = field(None, description="Beta shape beta of the daily churn "
                               "probability", gt=0.001, le=1e4)
    c: float | None = field(None, description="Discrete-Weibull exponent (bdw only): < 1 "
                            "churn slows with age, > 1 it speeds up", ge=0.05, le=5)
    d1: float | None = field(None, unit="probability", description="Target share of a cohort "
                             "active on day 1", gt=0, lt=1)
    d3: float | None = field(None, unit="probability", description="Target active share, day 3",
                             gt=0, lt=1)
    d7: float | None = field(None, unit="probability", description="Target active share, day 7",
                             gt=0, lt=1)
    d14: float | None = field(None, unit="probability", description="Target active share, "
                              "day 14", gt=0, lt=1)
    d30: float | None = field(None, unit="probability", description="Target active share, "
                              "day 30", gt=0, lt=1)
    d60: float | None = field(None, unit="probability", description="Target active share, "
                              "day 60", gt=0, lt=1)
    d90: float | None = field(None, unit="probability", description="Target active share, "
                              "day 90", gt=0, lt=1)
    daily_play_probability: float = field(
        1.0, unit="probability/day", description="Intermittent play: chance a not-yet-churned "
        "user plays on a given day after day 0", gt=0, le=1)

    def targets(self) -> dict[int, float]:
        """Active-share targets given, by age [days]."""
        return {int(k[1:]): getattr(self, k) for k in RETENTION_TARGET_KEYS
                if getattr(self, k) is not None}

    @model_validator(mode="after")
    def _parameters_or_targets(self):
        targets = self.targets()
        given = [k for k in ("alpha", "beta", "c") if getattr(self, k) is not None]
        if targets and given:
            raise ScenarioError(f"retention.{given[0]}", "give either model parameters "
                                "(alpha, beta[, c]) or targets (d1 ... d90), not both")
        if not targets:
            need = ("alpha", "beta", "c") if self.model == "bdw" else ("alpha", "beta")
            for key in need:
                if getattr(self, key) is None:
                    raise ScenarioError(f"retention.{key}", f"missing: retention.model = "
                                        f"'{self.model}' needs {', '.join(need)}, or give "
                                        "targets d1 ... d90 instead")
            if self.model == "sbg" and self.c is not None:
                raise ScenarioError("retention.c", "only used with retention.model = 'bdw'")
            return self
        need = 3 if self.model == "bdw" else 2
        if len(targets) < need:
            raise ScenarioError("retention", f"model '{self.model}' needs at least {need} "
                                f"targets among d1 ... d90, got {len(targets)}")
        ages = sorted(targets)
        for prev, age in zip(ages, ages[1:]):
            if targets[age] >= targets[prev]:
                raise ScenarioError(f"retention.d{age}", f"= {targets[age]}: retention "
                                    f"targets must fall with age (d{prev} = {targets[prev]})")
        if targets[ages[0]] > self.daily_play_probability:
            raise ScenarioError(f"retention.d{ages[0]}", "cannot exceed "
                                "retention.daily_play_probability "
                                f"({self.daily_play_probability})")
        return self


class Engagement(Section):
    sessions_per_day: float = field(unit="sessions/active day", description="Mean sessions "
                                    "per active day (at least the one that makes it active)",
                                    ge=1, le=100)
    sessions_shape: float | None = field(
        None, description="Gamma shape of per-user session rates (smaller = more "
        "heterogeneous); absent = all users alike", ge=1e-3, le=1e4)


class Ads(Section):
    rewarded_per_session: float = field(0.0, unit="impressions/session", description="Rewarded "
                                        "(opt-in) ad opportunities per session", ge=0, le=50)
    interstitial_per_session: float = field(0.0, unit="impressions/session", description=""
                                            "Interstitial opportunities per session",
                                            ge=0, le=50)
    interstitial_cap_per_day: int | None = field(
        None, unit="impressions/user/day", description="Frequency cap on interstitials shown "
        "per user per day; absent = no cap", ge=0, le=1000)
    fill_rate_rewarded: float = field(unit="probability", description="Share of rewarded "
                                      "requests filled", ge=0, le=1)
    fill_rate_interstitial: float = field(unit="probability", description="Share of "
                                          "interstitial requests filled", ge=0, le=1)
    ecpm_rewarded_usd: float = field(unit="USD per 1,000 impressions", description="Rewarded "
                                     "eCPM", ge=0, le=1000)
    ecpm_interstitial_usd: float = field(unit="USD per 1,000 impressions", description=""
                                         "Interstitial eCPM", ge=0, le=1000)
    developer_share: float = field(unit="share", description="Share of ad revenue paid to "
                                   "the developer", gt=0, le=1)


class Iap(PurchaseDeductions):
    r: float | None = field(None, description="Gamma shape r of the purchase rate per active "
                            "day (Pareto/NBD, BG/NBD naming)", gt=0, le=1e3)
    alpha: float | None = field(None, unit="active days", description="Gamma rate alpha of "
                                "the purchase rate: mean purchases per active day = r / alpha",
                                gt=0, le=1e6)
    payer_share_d7: float | None = field(None, unit="probability", description="Share of a "
                                         "cohort that has purchased by day 7", gt=0, lt=1)
    payer_share_d30: float | None = field(None, unit="probability", description="Share of a "
                                          "cohort that has purchased by day 30", gt=0, lt=1)
    p: float = field(6.25, description="Gamma-Gamma shape p of a transaction's value "
                     "(default: Fader, Hardie & Lee 2005 CDNOW fit)", gt=0, le=1e3)
    q: float = field(3.74, description="Gamma-Gamma shape q of the per-user value rate "
                     "(> 1 for a finite mean)", gt=1, le=1e3)
    gamma: float | None = field(None, unit="USD", description="Gamma-Gamma rate gamma: mean "
                                "transaction = p * gamma / (q - 1)", gt=0, le=1e6)
    arppu_d30_usd: float | None = field(None, unit="USD", description="Mean gross spend "
                                        "through day 30 per user who paid by day 30",
                                        gt=0, le=1e5)
    price_tiers_usd: list[float] | None = field(
        None, unit="USD", description="Platform price points; each purchase is the tier "
        "nearest its Gamma-Gamma value (in log space)")

    @model_validator(mode="after")
    def _one_form_each(self):
        pairs = ((("r", "alpha"), ("payer_share_d7", "payer_share_d30")),
                 (("gamma",), ("arppu_d30_usd",)))
        for published, intuitive in pairs:
            have_pub = [k for k in published if getattr(self, k) is not None]
            have_int = [k for k in intuitive if getattr(self, k) is not None]
            if have_pub and have_int:
                raise ScenarioError(f"iap.{have_int[0]}", f"give either {' and '.join(published)}"
                                    f" or {' and '.join(intuitive)}, not both")
            group = published if have_pub else intuitive
            for key in group:
                if getattr(self, key) is None:
                    raise ScenarioError(f"iap.{key}", f"missing: needed with "
                                        f"{', '.join('iap.' + k for k in group)}")
        if self.payer_share_d7 is not None and self.payer_share_d30 <= self.payer_share_d7:
            raise ScenarioError("iap.payer_share_d30", f"= {self.payer_share_d30}: must exceed "
                                f"iap.payer_share_d7 ({self.payer_share_d7})")
        if self.price_tiers_usd is not None:
            tiers = self.price_tiers_usd
            if not tiers or any(not (0 < t <= 10_000) for t in tiers):
                raise ScenarioError("iap.price_tiers_usd", f"= {tiers}: need at least one "
                                    "price, each in (0, 10000] USD")
            if any(b <= a for a, b in zip(tiers, tiers[1:])):
                raise ScenarioError("iap.price_tiers_usd", f"= {tiers}: prices must rise")
        return self


class Share(Section):
    """Social fission: active users share the title, and shares bring new users, who share in
    turn (a branching process). A share sent on day t activates its user on day t + 1."""

    shares_per_active_day: float = field(unit="shares/active user-day", description="Mean "
                                         "shares sent per active user per day", ge=0, le=100)
    conversion: float = field(unit="probability", description="Chance a share activates a "
                              "new user", ge=0, le=1)
    window_days: int | None = field(
        None, unit="days", description="Calendar days over which share users are acquired "
        "(each day a cohort); absent = the campaign days", ge=1, le=1095)
    max_users_per_day: int | None = field(
        None, unit="users/day", description="Cap on share activations per day (needed when the "
        "effective K-factor is >= 1)", ge=0, le=10**9)


class Creator(Section):
    """Creator videos carrying the Play anchor (the creator programme).

    Each campaign day brings Poisson(videos_per_day) videos; each video's views are lognormal
    (heavy-tailed: a few videos carry most views); each view activates a user with
    probability anchor_ctr * load_success * first_play.
    """

    videos_per_day: float = field(unit="videos/day", description="Mean creator videos "
                                  "published per day", gt=0, le=1e5)
    views_median: float = field(unit="views/video", description="Median views of a video",
                                gt=0, le=1e9)
    views_p90: float = field(unit="views/video", description="90th percentile of views of a "
                             "video (> views_median)", gt=0, le=1e10)
    anchor_ctr: float = field(unit="probability", description="Share of views whose viewer "
                              "taps the Play anchor", gt=0, le=1)
    load_success: float = field(unit="probability", description="Share of taps whose "
                                "mini-game loads", gt=0, le=1)
    first_play: float = field(unit="probability", description="Share of loads that reach a "
                              "first real play", gt=0, le=1)
    payment: Literal["per_1000_views", "revenue_share"] = field(
        "per_1000_views", description="How creators are paid: per 1,000 views of their "
        "videos, or a share of the net revenue of the users they bring (paid as it is earned)")
    usd_per_1000_views: float | None = field(None, unit="USD per 1,000 views", description=""
                                             "Payment per 1,000 views (per_1000_views)",
                                             ge=0, le=1000)
    revenue_share: float | None = field(None, unit="share", description="Share of their "
                                        "users' net revenue paid to creators (revenue_share)",
                                        gt=0, lt=1)
    days: int | None = field(None, unit="days", description="Days with creator videos; absent "
                             "= the campaign days", ge=1, le=1095)

    @model_validator(mode="after")
    def _p90_above_median(self):
        _mode_keys(self, "creator", "payment", {"per_1000_views": ("usd_per_1000_views",),
                                                "revenue_share": ("revenue_share",)})
        if self.views_p90 <= self.views_median:
            raise ScenarioError("creator.views_p90", f"= {self.views_p90}: must exceed "
                                f"creator.views_median ({self.views_median})")
        return self


class Organic(Section):
    """Users who come without spend: search, the profile entrance, the Mini Games Center."""

    search_per_day: float = field(0.0, unit="users/day", description="Mean activations per "
                                  "day through search", ge=0, le=1e7)
    profile_per_day: float = field(0.0, unit="users/day", description="Mean activations of "
                                   "new users per day through the profile entrance",
                                   ge=0, le=1e7)
    profile_return_probability: float = field(
        0.0, unit="probability/day", description="Chance per day that a lapsed (churned) "
        "user comes back through the profile entrance; returning users play again like a new "
        "cohort (channel profile_return: reactivations)", ge=0, le=0.5)
    games_center_scale: float = field(0.0, unit="users/day", description="Mini Games Center "
                                      "recommendations: mean activations per day = scale * "
                                      "(activations of the last 7 days / 1000) ** exponent",
                                      ge=0, le=1e7)
    games_center_exponent: float = field(0.5, description="Rank effect: how recommendation "
                                         "traffic grows with recent activations", ge=0, le=1)
    days: int | None = field(None, unit="days", description="Calendar days with organic "
                             "arrivals (each a cohort); absent = the campaign days",
                             ge=1, le=1095)


class ChannelQuality(Section):
    """How a channel's users differ from paid-ad users (the scenario's values = 1)."""

    retention: float = field(1.0, description="Multiplier on every retention target d1 ... "
                             "d90 (targets form only)", gt=0, le=5)
    engagement: float = field(1.0, description="Multiplier on engagement.sessions_per_day",
                              gt=0, le=10)
    payers: float = field(1.0, description="Multiplier on payer conversion: iap.payer_share_d7"
                          " and _d30, or the purchase rate r / alpha", gt=0, le=10)


class Quality(Section):
    """User quality by channel ([quality.creator], [quality.share], ...)."""

    creator: ChannelQuality | None = None
    search: ChannelQuality | None = None
    profile: ChannelQuality | None = None
    games_center: ChannelQuality | None = None
    share: ChannelQuality | None = None


class Market(Section):
    """One market of a multi-market run: a region with its share of the daily budget. The
    scenario's values (which describe ``campaign.region``) are moved to this region's levels
    (``simcore.scenario.regions``); ``set`` then overrides any field, as ``--set`` would."""

    region: Literal[REGIONS] = field(description="Market region")
    budget_share: float = field(unit="share", description="Share of campaign.daily_budget_usd "
                                "spent in this market", gt=0, le=1)
    set: dict[str, float | int | str | dict | list] = field(
        {}, description="Overrides for this market: dotted key -> value (numbers or "
        "distribution tables)")


RULE_METRICS = ("roas_d0", "roas_d1", "roas_d3", "roas_d7", "cpa", "cumulative_roas")


class Rule(Section):
    """A UA rule evaluated at the start of each campaign day on what was seen up to yesterday.

    The rules see the paid-ads channel (the one they steer): ``roas_dN``: ROAS at age N of
    the latest cohort whose day N is over (cohort of day d - 1 - N); ``cpa``: yesterday's
    realised CPA [USD]; ``cumulative_roas``: paid-ads net revenue to date / paid-ads spend to
    date. A metric not yet observable never triggers.
    """

    metric: Literal[RULE_METRICS] = field(description="What the rule reads")
    below: float | None = field(None, description="Trigger when the metric is below this",
                                ge=0, le=1e6)
    above: float | None = field(None, description="Trigger when the metric is above this",
                                ge=0, le=1e6)
    action: Literal["stop", "scale"] = field(
        description="stop: no spend from today on; scale: multiply the daily budget by factor")
    factor: float | None = field(None, description="Budget multiplier of a scale action",
                                 gt=0, le=10)
    max_daily_budget_usd: float | None = field(
        None, unit="USD/day", description="Cap on the daily budget a scale action can reach",
        gt=0, le=1e8)

    @model_validator(mode="after")
    def _threshold_and_factor(self):
        if (self.below is None) == (self.above is None):
            raise ScenarioError("rules.below", "give exactly one of below or above")
        if self.action == "scale" and self.factor is None:
            raise ScenarioError("rules.factor", "missing: required when action = 'scale'")
        if self.action == "stop" and (self.factor is not None
                                      or self.max_daily_budget_usd is not None):
            raise ScenarioError("rules.factor", "only used with action = 'scale'")
        return self


class Goal(Section):
    """The title's payback goal: the ROAS the spend must reach by an age. Summaries, reports
    and scale judge the odds, break-even CPA and drivers there (--day and --target override
    it); absent: payback (ROAS 1) by the horizon."""

    age: int | None = field(None, unit="days", description="Age at which ROAS is judged; "
                            "absent = the horizon", ge=0, le=1095)
    roas: float = field(1.0, unit="1", description="ROAS to reach by that age (1.0 = "
                        "payback; e.g. 0.25 at D7 for a title that pays back by D180)",
                        gt=0, le=100)


class Scenario(Section):
    title: Title
    simulation: Simulation = Simulation()
    goal: Goal | None = None                # absent: payback by the horizon
    campaign: Campaign
    retention: Retention | None = None      # games: required (see check_kind)
    engagement: Engagement | None = None
    ads: Ads | None = None
    iap: Iap | None = None
    creator: Creator | None = None
    organic: Organic | None = None
    quality: Quality | None = None
    share: Share | None = None
    markets: list[Market] = field([], description="Markets of a multi-market run "
                                  "([[markets]] tables); empty = campaign.region only")
    rules: list[Rule] = field([], description="UA rules ([[rules]] tables), evaluated daily "
                              "in order")
    series: Series | None = None            # dramas: required (see check_kind)
    unlocks: Unlocks | None = None
    deal: Deal | None = None

    @model_validator(mode="after")
    def _kind(self):
        check_kind(self)
        return self

    @model_validator(mode="after")
    def _goal_within_horizon(self):
        horizon = self.simulation.horizon_days
        if self.goal is not None and self.goal.age is not None and self.goal.age > horizon:
            raise ScenarioError("goal.age", f"= {self.goal.age}: beyond the horizon (valid "
                                f"range: 0 <= age <= simulation.horizon_days = {horizon})")
        return self

    def goal_age(self) -> int:
        """The age [days] of the payback goal (the horizon when no goal is given)."""
        age = self.goal.age if self.goal is not None else None
        return self.simulation.horizon_days if age is None else age

    def goal_roas(self) -> float:
        """The ROAS of the payback goal (1.0 when no goal is given)."""
        return self.goal.roas if self.goal is not None else 1.0

    @model_validator(mode="after")
    def _markets(self):
        if not self.markets:
            return self
        regions = [m.region for m in self.markets]
        for i, region in enumerate(regions):
            if region in regions[:i]:
                raise ScenarioError(f"markets.{i}.region", f"= '{region}': given twice")
        total = sum(m.budget_share for m in self.markets)
        if abs(total - 1.0) > 1e-9:
            shares = ", ".join(f"{m.region} {m.budget_share:g}" for m in self.markets)
            raise ScenarioError("markets", f"budget shares sum to {total:.6g}: they must sum "
                                f"to 1 ({shares})")
        for i, m in enumerate(self.markets):
            for key in m.set:
                parts = key.split(".")
                if len(parts) < 2 or not all(BARE_KEY.fullmatch(p) for p in parts):
                    raise ScenarioError(f"markets.{i}.set.{quoted(key)}", "not a dotted "
                                        "scenario key: write \"section.key\" = value, e.g. "
                                        "\"retention.d1\" = 0.3")
                if parts[0] in RUN_SHAPE_SECTIONS + ("markets", "rules") \
                        or key in RUN_SHAPE_KEYS:
                    raise ScenarioError(f"markets.{i}.set", f"'{key}' is the same for every "
                                        "market: set it for the scenario")
        return self

    @model_validator(mode="after")
    def _monetization_sections(self):
        m = self.title.monetization
        if self.title.kind == "drama":
            return self
        if m in ("iaa", "hybrid") and self.ads is None:
            raise ScenarioError("ads", f"missing section [ads]: required when "
                                f"title.monetization = '{m}'")
        if m in ("iap", "hybrid") and self.iap is None:
            raise ScenarioError("iap", f"missing section [iap]: required when "
                                f"title.monetization = '{m}'")
        if m == "iaa" and self.iap is not None:
            raise ScenarioError("iap", "section [iap] given but title.monetization = 'iaa' "
                                "(use 'hybrid')")
        if m == "iap" and self.ads is not None:
            raise ScenarioError("ads", "section [ads] given but title.monetization = 'iap' "
                                "(use 'hybrid')")
        return self
