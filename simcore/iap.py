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
from simcore.retention import RetentionFit, played_days_pmf


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
        target = iap.arppu_d30_usd / per_payer30
        gamma = _solve_gamma(target, iap.p, iap.q, tiers)
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
    if abs(got7 / share7 - 1) > 1e-3 or abs(got30 / share30 - 1) > 1e-3:
        raise ScenarioError("iap.payer_share_d30", f"= {share30}: with payer_share_d7 = "
                            f"{share7} no purchase-rate model fits this retention (closest: "
                            f"D7 {got7:.4f}, D30 {got30:.4f}); the D30/D7 ratio must lie "
                            "between what the extra active days allow")
    return float(r), float(alpha)


def _solve_gamma(target: float, p: float, q: float, tiers) -> float:
    if not tiers:
        return target * (q - 1.0) / p
    if not tiers[0] < target < tiers[-1]:
        raise ScenarioError("iap.arppu_d30_usd", f"implies a mean purchase of {target:.2f} "
                            f"USD, outside the price tiers ({tiers[0]} ... {tiers[-1]} USD)")
    g0 = target * (q - 1.0) / p
    return float(optimize.brentq(lambda g: mean_transaction(p, q, g, tiers) - target,
                                 g0 * 1e-4, g0 * 1e4, xtol=1e-12, rtol=1e-12))
