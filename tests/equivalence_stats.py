"""Two-sample statistics for checking that two samplers give the same distribution.

Each sample is R independent replicates (rows) of some statistics (columns). The tests here
are valid for skewed, heavy-tailed replicate statistics (cohort revenue with a few payers):
  * means: Welch z, (mean_a - mean_b) / sqrt(var_a / R_a + var_b / R_b);
  * spread: Brown-Forsythe, the Welch z of the absolute deviations from each sample's median
    (Levene's test centred on the median; needs only a finite variance, Brown & Forsythe
    1974), and Mood's rank test of scale (exact permutation moments: valid whatever the tails,
    ties included);
  * dependence: Spearman rank correlation between two statistics, its difference between the
    samples divided by a bootstrap standard error (ranks: no moment assumptions).
Every test gives a z score; ``bonferroni_z`` turns a family-wise false-alarm probability over
m tests into the two-sided threshold each |z| must stay within.
"""

from __future__ import annotations

import numpy as np
from scipy import stats


def bonferroni_z(n_tests: int, family_alpha: float) -> float:
    """Two-sided z threshold: P(any of ``n_tests`` null |z| exceeds it) <= ``family_alpha``."""
    return float(stats.norm.isf(family_alpha / (2.0 * n_tests)))


def welch_z(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Welch z of the difference in means, per column of a [R_a, ...] and b [R_b, ...]
    (0 where both columns are constant and equal, inf where constant and different)."""
    diff = a.mean(axis=0) - b.mean(axis=0)
    se = np.sqrt(a.var(axis=0, ddof=1) / len(a) + b.var(axis=0, ddof=1) / len(b))
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(se > 0.0, diff / np.where(se > 0.0, se, 1.0),
                        np.where(diff == 0.0, 0.0, np.inf))


def brown_forsythe_z(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Brown-Forsythe z per column: Welch z of |a - median(a)| against |b - median(b)|;
    positive when ``a`` is the more spread out."""
    return welch_z(np.abs(a - np.median(a, axis=0)), np.abs(b - np.median(b, axis=0)))


def mood_z(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Mood's rank test of scale, per column, as a z score (positive: ``a`` more spread).

    The two samples are ranked together; a value scores its squared rank distance from the
    pooled middle, (rank - (N + 1) / 2) ** 2 (tied values: the mean score of their ranks, as
    ``scipy.stats.mood``). The sum of a's scores is standardised by its exact mean and
    variance over all ways of splitting the N pooled values into samples of R_a and R_b, so
    under the null of one distribution the z is valid whatever the tails, ties included.
    """
    n_a, n_b = len(a), len(b)
    n = n_a + n_b
    pooled = np.concatenate([a, b])
    low = stats.rankdata(pooled, method="min", axis=0)
    high = stats.rankdata(pooled, method="max", axis=0)
    tied = high - low + 1.0  # mean of (i - (N + 1) / 2) ** 2 over the tied ranks low..high
    scores = ((low + high) / 2.0 - (n + 1) / 2.0) ** 2 + (tied**2 - 1.0) / 12.0
    mean = scores.mean(axis=0)
    var = n_a * n_b / (n * (n - 1.0)) * ((scores - mean) ** 2).sum(axis=0)
    excess = scores[:n_a].sum(axis=0) - n_a * mean
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(var > 0.0, excess / np.sqrt(np.where(var > 0.0, var, 1.0)), 0.0)


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman rank correlation of two [R] samples (average ranks for ties)."""
    return float(stats.spearmanr(x, y)[0])


def spearman_diff_z(a: tuple[np.ndarray, np.ndarray], b: tuple[np.ndarray, np.ndarray],
                    rng: np.random.Generator, n_boot: int = 300) -> float:
    """z of rho_a - rho_b, the Spearman correlations of pairs (x, y) in two independent
    samples, each rho's standard error from ``n_boot`` bootstrap resamples of its replicates
    (pairs resampled together; ranks of the whole sample kept, ties for repeated rows)."""
    rho, var = [], []
    for x, y in (a, b):
        rx = stats.rankdata(x) - (len(x) + 1) / 2.0
        ry = stats.rankdata(y) - (len(y) + 1) / 2.0
        rho.append(_corr(rx, ry))
        rows = rng.integers(0, len(x), size=(n_boot, len(x)))
        var.append(np.var(_corr(rx[rows], ry[rows]), ddof=1))
    se = np.sqrt(sum(var))
    if se == 0.0:
        return 0.0 if rho[0] == rho[1] else np.inf
    return float((rho[0] - rho[1]) / se)


def _corr(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson correlation along the last axis (0 where either side is constant)."""
    x = x - x.mean(axis=-1, keepdims=True)
    y = y - y.mean(axis=-1, keepdims=True)
    den = np.sqrt((x * x).sum(axis=-1) * (y * y).sum(axis=-1))
    return (x * y).sum(axis=-1) / np.where(den > 0.0, den, np.inf)


def inflate(a: np.ndarray, variance_ratio: float) -> np.ndarray:
    """``a`` with each column's deviations from its mean scaled by sqrt(variance_ratio): the
    same mean, ``variance_ratio`` times the variance (a sampler with a variance error)."""
    mean = a.mean(axis=0)
    return mean + (a - mean) * np.sqrt(variance_ratio)


def shuffle_ages(sums: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Replicate sums [rep, var, age] with the replicates permuted independently at each age:
    every per-age distribution is kept, the dependence between ages is destroyed (a sampler
    that draws each age on its own)."""
    out = np.empty_like(sums)
    for t in range(sums.shape[2]):
        out[:, :, t] = sums[rng.permutation(len(sums)), :, t]
    return out


def normal_power(n_reps: int, variance_ratio: float, z_crit: float) -> float:
    """Power of the Brown-Forsythe z (threshold ``z_crit``, ``n_reps`` replicates a sampler)
    against ``variance_ratio`` times the variance, for normal replicate statistics: with
    d = |x - median|, E d = sigma sqrt(2 / pi) and sd d = sigma sqrt(1 - 2 / pi), scaled by
    sqrt(ratio) in the inflated sample, so the z has mean
    (sqrt(ratio) - 1) sqrt(2 / pi) / sqrt((1 - 2 / pi) (1 + ratio) / n_reps)."""
    shift = (np.sqrt(variance_ratio) - 1.0) * np.sqrt(2.0 / np.pi) / np.sqrt(
        (1.0 - 2.0 / np.pi) * (1.0 + variance_ratio) / n_reps)
    return float(stats.norm.sf(z_crit - shift) + stats.norm.cdf(-z_crit - shift))


def rejection_rate(a: np.ndarray, test, variance_ratio: float, z_crit: float,
                   rng: np.random.Generator, n_sim: int = 100) -> np.ndarray:
    """Simulated power, per column of ``a`` [R, k], of ``test`` (a z-score function of two
    samples) at threshold ``z_crit`` against a sampler with ``variance_ratio`` times the
    variance: in each of ``n_sim`` experiments two samples of R rows are resampled from
    ``a`` (with replacement), the second ``inflate``d; |z| > z_crit counts as a detection."""
    hits = np.zeros(a.shape[1:])
    for _ in range(n_sim):
        x = a[rng.integers(0, len(a), len(a))]
        y = inflate(a[rng.integers(0, len(a), len(a))], variance_ratio)
        hits += np.abs(test(x, y)) > z_crit
    return hits / n_sim
