"""The observation model: the distribution of a cohort report under each parameter set.

A cohort of n users activated on one day is n independent users of the simulator's model, so
what its report shows at ages 0..T (active users at ages 1..T, net revenue by kind at ages
0..T) is a sum of n independent, identically distributed user vectors. Its mean is n times a
user's mean and its covariance n times a user's covariance; with the cohort sizes of a paid
campaign (hundreds to tens of thousands of users) the sum is close to Gaussian (central limit
theorem), and that Gaussian is the likelihood. A user's first two moments come in closed form
from the model the kernel simulates (``simcore.kernel.users``):

* activity: X_a = 1 when the user plays at age a; X_0 = 1; for a >= 1, P(X_a) = q S(a) and
  P(X_a X_b) = q^2 S(max(a, b)) (a != b), S the survival, q the daily play probability;
* revenue of kind k (ads, purchases) at age a: Y_ka = X_a V_ka. Given the user's
  heterogeneity (session rate mu; purchase rate lambda and spend rate nu) the V_ka are
  independent across days with mean m_k; so with M1 = E[m_k], M2 = E[m_k^2] and V2 = E[V_k^2],
  E[Y_ka Y_kb] = P(X_a X_b) M2 (a != b) and p_a V2 (a = b); kinds are independent given X.
  Ads: sessions 1 + Poisson(mu), mu ~ Gamma; rewarded Poisson(rate x sessions); interstitials
  min(Poisson(rate x sessions), cap): moments by Gauss-Laguerre quadrature over mu and exact
  sums over sessions. Purchases: Poisson(lambda) a day, lambda ~ Gamma(r, alpha); values
  Gamma(p, nu), nu ~ Gamma(q, gamma), snapped to price tiers: quadrature over nu.

Acquisition: a cohort's activations given its spend s are Poisson(s / (cost(s) x move)) with a
mean-one lognormal daily move of log-sd sigma (CPM: binomial from impressions), so
log(activations) ~ Normal(log(s units / cost(s)) + sigma^2 / 2, sigma^2 + 1 / activations).

Discrepancy: real cohorts never follow a model exactly (day-of-week quality, eCPM moving by
calendar day, a retention curve of another shape). The likelihood adds an independent error
of relative size tau to every cell: sd tau_retention x mean for active users and
tau_revenue x mean for revenue, with tau learned from the data (its prior in
``simcore.studies.calibration.latent``). When the model fits, tau stays near zero and the
sampling noise alone sets the precision; when it does not, tau grows and the posterior, and
so the forecast, widens instead of collapsing on a wrong curve.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import special

from simcore.errors import ScenarioError
from simcore.kernel import layout as K

QUADRATURE_NODES = 40        # Gauss-Laguerre nodes over a user's session or spend rate
NORMAL_SHAPE = 200.0         # Gamma shapes above this are integrated as normals
ROW_BLOCK = 128              # parameter sets per block of the session sums (bounds memory)
LOG_2PI = float(np.log(2.0 * np.pi))


@dataclass(frozen=True)
class Moments:
    """Per-user moments of the observations under n parameter sets (one row each).

    ``active`` [n, age]: P(active at age) (1 at age 0); ``survival`` [n, age] S(age);
    ``play`` [n] q; ``kinds`` the revenue series (``revenue_iaa``, ``revenue_iap``, or
    ``revenue`` when the report gives only the total); ``m1``, ``m2``, ``v2`` [n, kind]: a
    user's mean net revenue [USD] per active day, the mean square of its per-user mean
    [USD^2] and the mean square of a day's revenue [USD^2]; ``log_activations`` [n, cohort]
    and ``log_activations_var`` [n, cohort]: the mean and variance of log(activations) given
    each observed cohort's spend.
    """

    kinds: tuple[str, ...]
    survival: np.ndarray
    play: np.ndarray
    m1: np.ndarray
    m2: np.ndarray
    v2: np.ndarray
    log_activations: np.ndarray
    cost_var: np.ndarray

    @property
    def active(self) -> np.ndarray:
        p = self.play[:, None] * self.survival
        p[:, 0] = 1.0
        return p


def revenue_kinds(observed, plan, source: str = "") -> tuple[str, ...]:
    """The revenue series a report gives and the model earns: the split when the report
    has one (less a kind the scenario does not earn and the report shows none of), else the
    total. Revenue of a kind the scenario cannot earn is a one-line error."""
    prm = plan.params
    earns = {"revenue_iaa": prm[K.REWARDED_RATE] > 0 or prm[K.INTERSTITIAL_RATE] > 0,
             "revenue_iap": prm[K.IAP_R] > 0}
    if not ("revenue_iaa" in observed and "revenue_iap" in observed):
        if earns["revenue_iaa"] or earns["revenue_iap"]:
            return ("revenue",)
        if np.nansum(observed["revenue"].values) > 0:
            raise ScenarioError("revenue", "the report has revenue but the scenario earns "
                                "none: add [ads] or [iap] to calibrate", source)
        return ()
    kinds = []
    for name, section in (("revenue_iaa", "ads"), ("revenue_iap", "iap")):
        if earns[name]:
            kinds.append(name)
        elif np.nansum(observed[name].values) > 0:
            raise ScenarioError(name, f"the report has {name.split('_')[1].upper()} revenue "
                                f"but the scenario has no [{section}]: add it to calibrate",
                                source)
    return tuple(kinds)


def moments(plans: list, observed, kinds: tuple[str, ...]) -> Moments:
    """Moments of ``observed``'s cohorts under each plan (a game ``Plan`` per row)."""
    ages = observed.sizes["age"]
    prm = np.array([p.params for p in plans])
    survival = np.array([p.survival[:ages] for p in plans])
    if survival.shape[1] < ages:
        raise ScenarioError("simulation.horizon_days", f"= {plans[0].horizon}: the report "
                            f"has ages up to {ages - 1}; follow cohorts at least that long")
    ads = _ad_moments(prm, np.array([p.money.rewarded_usd for p in plans]),
                      np.array([p.money.interstitial_usd for p in plans]))
    iap = _purchase_moments(prm, np.array([p.money.iap_net_share for p in plans]),
                            plans[0].tiers)
    if not kinds:
        by_kind = []
    elif kinds == ("revenue",):
        m1 = ads[0] + iap[0]
        cross = 2.0 * ads[0] * iap[0]
        by_kind = [(m1, ads[1] + iap[1] + cross, ads[2] + iap[2] + cross)]
    else:
        by_kind = [{"revenue_iaa": ads, "revenue_iap": iap}[k] for k in kinds]
    m1, m2, v2 = (np.stack([k[i] for k in by_kind], axis=1) if by_kind
                  else np.zeros((len(plans), 0)) for i in range(3))
    spend = observed["spend"].values
    mean, var = _log_activations(plans, spend, observed["activations"].values)
    return Moments(kinds, survival, prm[:, K.PLAY_PROB].copy(), m1, m2, v2, mean, var)


# --- the likelihood ---------------------------------------------------------------------------

def cohort_vectors(observed, kinds: tuple[str, ...], cohort: int) -> np.ndarray:
    """The observed vector of cohort index ``cohort``: active users at ages 1..T, then each
    revenue kind at ages 0..T (T its last observed age)."""
    t = int(observed["observed_through"].values[cohort])
    parts = [observed["active_users"].values[cohort, 1:t + 1]]
    parts += [observed[k].values[cohort, :t + 1] for k in kinds]
    return np.concatenate(parts)


def cohort_gaussian(mom: Moments, users: float, through: int, tau: np.ndarray,
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Mean [n, d] and covariance [n, d, d] of a cohort of ``users`` observed through age
    ``through`` (the layout of ``cohort_vectors``); ``tau`` [n, 2] the relative discrepancy
    of active users and of revenue."""
    ages = through + 1
    p = mom.active[:, :ages]
    q = mom.play[:, None, None]
    s = mom.survival[:, :ages]
    later = np.maximum.outer(np.arange(ages), np.arange(ages))
    joint = q * q * s[:, later]                       # P(X_a X_b), a != b, both >= 1
    joint[:, 0, :] = p
    joint[:, :, 0] = p
    eye = np.eye(ages, dtype=bool)
    joint[:, eye] = p
    outer = p[:, :, None] * p[:, None, :]
    base = joint - outer                              # Cov(X_a, X_b)
    off = np.where(eye, 0.0, joint)
    n_kinds = len(mom.kinds)
    blocks = [[base[:, 1:, 1:]] + [mom.m1[:, k, None, None] * base[:, 1:, :]
                                   for k in range(n_kinds)]]
    for k in range(n_kinds):
        row = [mom.m1[:, k, None, None] * base[:, :, 1:]]
        for j in range(n_kinds):
            if j == k:
                same_day, other_day = mom.v2[:, k], mom.m2[:, k]
            else:
                same_day = other_day = mom.m1[:, k] * mom.m1[:, j]
            row.append(off * other_day[:, None, None]
                       + eye * (p * same_day[:, None])[:, :, None]
                       - outer * (mom.m1[:, k] * mom.m1[:, j])[:, None, None])
        blocks.append(row)
    cov = users * np.concatenate([np.concatenate(r, axis=2) for r in blocks], axis=1)
    mean = users * np.concatenate([p[:, 1:]] + [p * mom.m1[:, k, None]
                                                for k in range(n_kinds)], axis=1)
    rel = np.concatenate([np.repeat(tau[:, :1], ages - 1, axis=1),
                          np.repeat(tau[:, 1:2], ages * n_kinds, axis=1)], axis=1)
    diag = np.einsum("nii->ni", cov)
    diag += (rel * mean) ** 2 + 1e-9 * diag + 1e-9
    return mean, cov


def gaussian_logpdf(y: np.ndarray, mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """log N(y; mean, cov) [n]; -inf where ``cov`` is not positive definite."""
    out = np.full(mean.shape[0], -np.inf)
    try:
        chol = np.linalg.cholesky(cov)
        good = np.ones(mean.shape[0], dtype=bool)
    except np.linalg.LinAlgError:
        good = np.array([_is_pd(c) for c in cov])
        if not good.any():
            return out
        chol = np.linalg.cholesky(cov[good])
    white = solve_lower(chol, (y - mean[good]))
    half_logdet = np.log(np.einsum("nii->ni", chol)).sum(axis=1)
    out[good] = -0.5 * (white**2).sum(axis=1) - half_logdet - 0.5 * y.size * LOG_2PI
    return out


def solve_lower(chol: np.ndarray, r: np.ndarray) -> np.ndarray:
    """L^-1 r for lower-triangular L [n, d, d] and r [n, d], by forward substitution (no
    BLAS call whose rounding could depend on the thread count)."""
    out = np.empty_like(r)
    for i in range(r.shape[1]):
        out[:, i] = (r[:, i] - np.einsum("nj,nj->n", chol[:, i, :i], out[:, :i])) / chol[:, i, i]
    return out


def _is_pd(c: np.ndarray) -> bool:
    try:
        np.linalg.cholesky(c)
        return True
    except np.linalg.LinAlgError:
        return False


def log_likelihood(mom: Moments, observed, tau: np.ndarray) -> np.ndarray:
    """log p(report | parameters) [n]: every observed cohort's Gaussian and the
    activations bought with its spend."""
    users = observed["activations"].values
    through = observed["observed_through"].values
    total = np.zeros(mom.m1.shape[0])
    with np.errstate(over="ignore", invalid="ignore"):   # a report beyond any model: -inf
        for c in range(users.size):
            if users[c] <= 0:
                continue
            y = cohort_vectors(observed, mom.kinds, c)
            total += gaussian_logpdf(y, *cohort_gaussian(mom, users[c], int(through[c]), tau))
        total += acquisition_loglik(mom, users)
    return np.where(np.isfinite(total), total, -np.inf)


def acquisition_loglik(mom: Moments, activations: np.ndarray) -> np.ndarray:
    """log density of each cohort's log(activations + 0.5) given its spend [n]."""
    x = np.log(activations + 0.5)
    var = mom.cost_var + 1.0 / (activations + 0.5)
    return (-0.5 * ((x - mom.log_activations) ** 2 / var + np.log(var) + LOG_2PI)).sum(axis=1)


def _log_activations(plans, spend: np.ndarray, activations: np.ndarray):
    """Mean of log(activations) [n, cohort] given the cohorts' spend, and the variance of the
    daily cost move (log-sd squared) [n, cohort]."""
    mean = np.empty((len(plans), spend.size))
    var = np.empty((len(plans), spend.size))
    for i, plan in enumerate(plans):
        acq = plan.acquisition
        with np.errstate(divide="ignore"):
            mean[i] = (np.log(np.maximum(spend, 1e-300) * acq.per_unit / acq.unit_cost(spend))
                       + 0.5 * acq.cost_volatility**2)
        var[i] = acq.cost_volatility**2
    return mean, var


# --- a user's revenue moments -----------------------------------------------------------------

def _gamma_nodes(shape: np.ndarray, mean: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Quadrature nodes [n, J] and weights [n, J] (summing to 1) of the Gamma distribution
    with ``shape`` and ``mean`` per row: generalized Gauss-Laguerre; a shape over
    ``NORMAL_SHAPE`` by Gauss-Hermite on its normal approximation; shape 0 a point mass."""
    n = shape.size
    nodes = np.repeat(np.asarray(mean, dtype=float)[:, None], QUADRATURE_NODES, axis=1)
    weights = np.zeros((n, QUADRATURE_NODES))
    weights[:, 0] = 1.0
    for k in np.unique(shape[shape > 0.0]):
        rows = shape == k
        if k <= NORMAL_SHAPE:
            x, w = special.roots_genlaguerre(QUADRATURE_NODES, k - 1.0)
            nodes[rows] = x[None, :] * (mean[rows] / k)[:, None]
        else:
            x, w = special.roots_hermitenorm(QUADRATURE_NODES)
            nodes[rows] = np.maximum(mean[rows, None] * (1.0 + x[None, :] / np.sqrt(k)), 0.0)
        weights[rows] = w[None, :] / w.sum()
    return nodes, weights


def _ad_moments(prm: np.ndarray, rewarded_usd: np.ndarray, interstitial_usd: np.ndarray):
    """(M1, M2, V2) [n] of a user's net ad revenue per active day.

    Given the session rate mu, sessions S = 1 + Poisson(mu): E[S] = 1 + mu and
    E[S^2] = (1 + mu)^2 + mu close the rewarded and uncapped parts; capped interstitials
    need E[g(S)] for g the capped Poisson moments, summed over S up to where either the
    Poisson tail of S or the cap's saturation makes the rest exact.
    """
    extra, shape = prm[:, K.SESS_EXTRA_MEAN], prm[:, K.SESS_SHAPE]
    rate_r, rate_i = prm[:, K.REWARDED_RATE], prm[:, K.INTERSTITIAL_RATE]
    cap = prm[:, K.INTERSTITIAL_CAP]
    wr, wi = rewarded_usd[:, None], interstitial_usd[:, None]
    mu, w = _gamma_nodes(shape, extra)
    es = 1.0 + mu
    es2 = es**2 + mu
    ri = rate_i[:, None]
    g1, sg1, g2 = ri * es, ri * es2, ri * es + ri**2 * es2      # no cap
    for lo in range(0, mu.shape[0], ROW_BLOCK):
        rows = np.arange(lo, min(lo + ROW_BLOCK, mu.shape[0]))
        rows = rows[(cap[rows] >= 0.0) & (rate_i[rows] > 0.0)]
        if rows.size:
            g1[rows], sg1[rows], g2[rows] = _capped_session_moments(
                mu[rows], es[rows], rate_i[rows], cap[rows])
    rr = rate_r[:, None]
    m_node = wr * rr * es + wi * g1
    second = wr**2 * (rr * es + rr**2 * es2) + 2.0 * wr * wi * rr * sg1 + wi**2 * g2
    return (w * m_node).sum(axis=1), (w * m_node**2).sum(axis=1), (w * second).sum(axis=1)


def _capped_session_moments(mu, es, rate_i, cap):
    """E[g1(S)], E[S g1(S)], E[g2(S)] given mu [n, J], with g1, g2 the first two moments of
    min(Poisson(rate_i S), cap)."""
    top = float(mu.max())
    by_tail = 2.0 + top + 12.0 * np.sqrt(top) + 12.0
    by_cap = (cap.max() + 12.0 * np.sqrt(cap.max()) + 40.0) / rate_i.min()
    s = np.arange(1.0, np.ceil(min(by_tail, by_cap)) + 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_pmf = ((s - 1.0) * np.log(mu[:, :, None]) - mu[:, :, None]
                   - special.gammaln(s))
    pmf = np.where(mu[:, :, None] > 0.0, np.exp(log_pmf), (s == 1.0) * 1.0)
    lam = rate_i[:, None] * s
    c = cap.astype(np.int64)
    e1 = np.zeros_like(lam)
    e2 = np.zeros_like(lam)
    for j in range(int(c.max())):     # E[min(X, c)] = sum_{j < c} P(X > j); squares: 2j + 1
        tail = np.where((j < c)[:, None], 1.0 - special.pdtr(j, lam), 0.0)
        e1 += tail
        e2 += (2 * j + 1) * tail
    beyond = 1.0 - pmf.sum(axis=2)                     # P(S > s_max): saturated at the cap
    capf = cap[:, None]
    g1 = np.einsum("njs,ns->nj", pmf, e1) + capf * beyond
    sg1 = np.einsum("njs,ns->nj", pmf, s * e1) + capf * (es - np.einsum("njs,s->nj", pmf, s))
    g2 = np.einsum("njs,ns->nj", pmf, e2) + capf**2 * beyond
    return g1, sg1, g2


def _purchase_moments(prm: np.ndarray, net_share: np.ndarray, tiers: np.ndarray):
    """(M1, M2, V2) [n] of a user's net purchase revenue per active day."""
    r, alpha = prm[:, K.IAP_R], prm[:, K.IAP_ALPHA]
    n = r.size
    if not np.any(r > 0.0):
        return np.zeros(n), np.zeros(n), np.zeros(n)
    p, q, gamma_rate = prm[:, K.GG_P], prm[:, K.GG_Q], prm[:, K.GG_GAMMA]
    with np.errstate(divide="ignore", invalid="ignore"):
        lam1 = np.where(r > 0.0, r / alpha, 0.0)
        lam2 = np.where(r > 0.0, r * (r + 1.0) / alpha**2, 0.0)
    if len(tiers) == 0:
        if np.any((q <= 2.0) & (r > 0.0)):
            raise ScenarioError("iap", "purchase values without price tiers have infinite "
                                f"variance when the Gamma-Gamma q <= 2 (q = {q.min():.3g}): "
                                "give iap.price_tiers_usd to calibrate")
        inv1 = gamma_rate / (q - 1.0)
        inv2 = gamma_rate**2 / ((q - 1.0) * (q - 2.0))
        e1, e1sq, e2 = p * inv1, p**2 * inv2, p * (p + 1.0) * inv2
    else:
        tiers = np.asarray(tiers, dtype=float)
        edges = np.sqrt(tiers[1:] * tiers[:-1])
        nu, w = _gamma_nodes(q, q / gamma_rate)      # nu ~ Gamma(q, rate gamma)
        cdf = special.gammainc(p[:, None, None], nu[:, :, None] * edges[None, None, :])
        probs = np.diff(np.concatenate([np.zeros(cdf.shape[:2] + (1,)), cdf,
                                        np.ones(cdf.shape[:2] + (1,))], axis=2), axis=2)
        first = np.einsum("njt,t->nj", probs, tiers)
        second = np.einsum("njt,t->nj", probs, tiers**2)
        e1, e1sq, e2 = ((w * first).sum(axis=1), (w * first**2).sum(axis=1),
                        (w * second).sum(axis=1))
    share = net_share
    return share * lam1 * e1, share**2 * lam2 * e1sq, share**2 * (lam1 * e2 + lam2 * e1sq)


def replicate(mom: Moments, observed, tau: np.ndarray, rng: np.random.Generator,
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Expected report, one replicated report and the cells' variances per parameter set,
    each [n, series, cohort, age] (series: active users, then ``mom.kinds``; NaN where the
    report has no cell; age 0 of active users is the activations, variance 0)."""
    users = observed["activations"].values
    through = observed["observed_through"].values
    shape = (mom.m1.shape[0], 1 + len(mom.kinds), users.size, observed.sizes["age"])
    expected, replica, variance = (np.full(shape, np.nan) for _ in range(3))
    for c in range(users.size):
        t = int(through[c])
        mean, cov = cohort_gaussian(mom, max(users[c], 0.0), t, tau)
        noise = np.einsum("nij,nj->ni", np.linalg.cholesky(cov),
                          rng.standard_normal(mean.shape))
        for target, values in ((expected, mean), (replica, mean + noise),
                               (variance, np.einsum("nii->ni", cov))):
            target[:, 0, c, 0] = 0.0 if target is variance else users[c]
            target[:, 0, c, 1:t + 1] = values[:, :t]
            for k in range(len(mom.kinds)):
                target[:, 1 + k, c, :t + 1] = values[:, t + k * (t + 1):t + (k + 1) * (t + 1)]
    return expected, replica, variance
