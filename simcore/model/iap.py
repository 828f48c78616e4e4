"""In-app purchases: closed forms of the Gamma-Poisson / Gamma-Gamma model and the
translation of intuitive inputs (payer share by D7/D30, ARPPU, price tiers) to its parameters.

Purchases on an active day ~ Poisson(lambda), lambda ~ Gamma(r, rate alpha) across users, so
over ``a`` active days the count is negative binomial: E[N] = a r / alpha and
P(N = 0) = (alpha / (alpha + a)) ** r. Each purchase's value z ~ Gamma(p, rate nu),
nu ~ Gamma(q, rate gamma) per user (Fader, Hardie & Lee 2005): E[z] = p gamma / (q - 1), and
marginally z / gamma ~ BetaPrime(p, q). With price tiers, z is replaced by the nearest tier in
log space.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

from simcore.errors import ScenarioError
from simcore.model.retention import (
    FIT_TOLERANCE,
    RetentionFit,
    feasible_range,
    level_curve,
    played_days_pmf,
)


@dataclass(frozen=True)
class IapParams:
    """Published-form parameters in use (r, alpha per active day; p, q, gamma in USD)."""

    r: float
    alpha: float
    p: float
    q: float
    gamma: float
    tiers: tuple[float, ...]
    payer_share_d7: float       # implied by the parameters and the retention
    payer_share_d30: float
    mean_transaction_usd: float  # after snapping to tiers
    arppu_d30_usd: float


def tier_edges(tiers) -> np.ndarray:
    """Geometric midpoints between consecutive price tiers [USD]."""
    t = np.asarray(tiers, dtype=float)
    return np.sqrt(t[1:] * t[:-1])


def mean_transaction(p: float, q: float, gamma: float, tiers=()) -> float:
    """Expected value of one purchase [USD], after snapping to ``tiers`` if any."""
    if not len(tiers):
        return p * gamma / (q - 1.0)
    x = tier_edges(tiers) / gamma
    cdf = special.betainc(p, q, x / (1.0 + x))  # BetaPrime(p, q) CDF at x
    probs = np.diff(np.concatenate(([0.0], cdf, [1.0])))
    return float(np.dot(probs, tiers))


def payer_share(days: int, r: float, alpha: float, ret: RetentionFit) -> float:
    """Share of a cohort with at least one purchase in ages 0..``days``."""
    pmf = played_days_pmf(days, ret.alpha, ret.beta, ret.c, ret.play_probability)
    a = np.arange(pmf.size)
    return float(np.dot(pmf, 1.0 - (alpha / (alpha + a)) ** r))


def mean_purchases(days: int, r: float, alpha: float, ret: RetentionFit) -> float:
    """Expected purchases per activated user in ages 0..``days``."""
    pmf = played_days_pmf(days, ret.alpha, ret.beta, ret.c, ret.play_probability)
    return float(np.dot(pmf, np.arange(pmf.size)) * r / alpha)


def resolve_iap(iap, ret: RetentionFit) -> IapParams:
    """Published-form parameters from an ``Iap`` section, given the retention in use."""
    tiers = tuple(iap.price_tiers_usd or ())
    if iap.r is not None:
        r, alpha = iap.r, iap.alpha
    else:
        r, alpha = _fit_rate(iap.payer_share_d7, iap.payer_share_d30, ret)
    share30 = payer_share(30, r, alpha, ret)
    per_payer30 = mean_purchases(30, r, alpha, ret) / share30
    if iap.gamma is not None:
        gamma = iap.gamma
    else:
        gamma = _solve_gamma(iap.arppu_d30_usd, per_payer30, iap.p, iap.q, tiers)
    m = mean_transaction(iap.p, iap.q, gamma, tiers)
    return IapParams(r, alpha, iap.p, iap.q, gamma, tiers, payer_share(7, r, alpha, ret),
                     share30, m, m * per_payer30)


def _fit_rate(share7: float, share30: float, ret: RetentionFit) -> tuple[float, float]:
    def residuals(x):
        r, alpha = np.exp(x)
        return [np.log(payer_share(7, r, alpha, ret) / share7),
                np.log(payer_share(30, r, alpha, ret) / share30)]

    best = None
    for x0 in ((0.1, 10.0), (1.0, 100.0), (0.02, 1.0)):
        res = optimize.least_squares(residuals, np.log(x0), bounds=(np.log(1e-4), np.log(1e6)),
                                     xtol=1e-12, ftol=1e-12)
        if best is None or res.cost < best.cost:
            best = res
    r, alpha = np.exp(best.x)
    got7, got30 = payer_share(7, r, alpha, ret), payer_share(30, r, alpha, ret)
    if abs(got7 / share7 - 1) > FIT_TOLERANCE or abs(got30 / share30 - 1) > FIT_TOLERANCE:
        return _rate_on_curve(share7, share30, ret)
    return float(r), float(alpha)


RATE_BOX = (float(np.log(1e-4)), float(np.log(1e6)))   # log r and log alpha searched by fits


def _share_curve(given_days: int, given: float, days: int, ret: RetentionFit):
    """With the payer share by ``given_days`` held at ``given``: the log payer share by
    ``days`` along log r (alpha solved for each r: shares rise with r, fall with alpha)."""
    pmfs = {d: played_days_pmf(d, ret.alpha, ret.beta, ret.c, ret.play_probability)
            for d in (given_days, days)}

    def log_share(d, x, y):
        r, alpha = np.exp(x), np.exp(y)
        a = np.arange(pmfs[d].size)
        return float(np.log(np.dot(pmfs[d], 1.0 - (alpha / (alpha + a)) ** r)))

    return level_curve(lambda x, y: log_share(days, x, y),
                       lambda x, y: log_share(given_days, x, y) - np.log(given),
                       RATE_BOX, RATE_BOX)


def _rate_on_curve(share7: float, share30: float, ret: RetentionFit) -> tuple[float, float]:
    """The least-squares fit missed: solve along the curve that keeps D7, or raise with the
    payer shares D30 that some (r, alpha) reaches with this D7 (and the D7 with this D30)."""
    curve = _share_curve(7, share7, 30, ret)
    span30 = curve.range()
    if span30 is not None and span30[0] <= np.log(share30) <= span30[1]:
        found = curve.solve(np.log(share30))
        if found is not None:
            r, alpha = np.exp(found)
            if (abs(payer_share(7, r, alpha, ret) / share7 - 1) <= FIT_TOLERANCE
                    and abs(payer_share(30, r, alpha, ret) / share30 - 1) <= FIT_TOLERANCE):
                return float(r), float(alpha)
    text = (f"= {share30:g}: no purchase-rate model reaches it with payer_share_d7 "
            f"{share7:g} and this retention")
    if span30 is not None:
        lo, hi = np.exp(span30)
        text += f"; feasible: {feasible_range(share30, lo, hi, 'payer_share_d30')}"
        span7 = _share_curve(30, share30, 7, ret).range()
        if span7 is not None:
            lo, hi = np.exp(span7)
            text += (f", or {feasible_range(share7, lo, hi, 'payer_share_d7')} with "
                     f"payer_share_d30 {share30:g}")
    raise ScenarioError("iap.payer_share_d30",
                        f"{text} (fit tolerance {FIT_TOLERANCE * 100:g} %)")


def _solve_gamma(arppu: float, per_payer: float, p: float, q: float, tiers) -> float:
    """Gamma-Gamma rate gamma [USD] that gives ARPPU ``arppu`` [USD] by day 30 at
    ``per_payer`` purchases per payer by day 30, purchases snapped to ``tiers``."""
    target = arppu / per_payer           # mean purchase [USD]
    if not tiers:
        return target * (q - 1.0) / p

    def gap(g):
        return mean_transaction(p, q, g, tiers) - target

    if tiers[0] < target < tiers[-1]:
        g0 = target * (q - 1.0) / p
        try:
            return float(optimize.brentq(gap, g0 * 1e-4, g0 * 1e4, xtol=1e-12, rtol=1e-12))
        except ValueError:   # within a hair of a tier: search wider (failure path only)
            try:
                return float(optimize.brentq(gap, g0 * 1e-12, g0 * 1e12, xtol=1e-14,
                                             rtol=1e-12))
            except ValueError:
                pass
    span = feasible_range(arppu, tiers[0] * per_payer, tiers[-1] * per_payer,
                          "arppu_d30_usd", "USD").replace("<=", "<")
    raise ScenarioError("iap.arppu_d30_usd", f"= {arppu:g}: implies a mean purchase of "
                        f"{target:.4g} USD, outside the price tiers ({tiers[0]} ... "
                        f"{tiers[-1]} USD); feasible with these payer shares and retention "
                        f"({per_payer:.4g} purchases per payer by day 30): {span}")
