"""Closed forms of the continuation model: the share of starters who watch each episode.

A viewer with propensity theta goes on after episode j with probability theta ** w_j, so
they watch episode k with probability theta ** W_k, W_k = w_1 + ... + w_(k-1). Over viewers,
theta ~ Beta(a, b) gives E[theta ** W] = B(a + W, b) / B(a, b) (a Beta moment, valid for
any real W >= 0); fixed theta gives theta ** W_k. This is the funnel without a paywall, or
behind a paywall where every viewer who unlocks keeps unlocking (rewarded ads): there the
share after the paywall is multiplied by the chance of unlocking.
"""

from __future__ import annotations

import math

import numpy as np


def exponents(weights: np.ndarray) -> np.ndarray:
    """W_k for k = 1 .. episodes, from ``weights`` (index j: exponent after episode j;
    index 0 unused, as in ``DramaPlan.weights``)."""
    return np.concatenate([[0.0], np.cumsum(weights[1:-1])])


def episode_share(weights: np.ndarray, continuation: float,
                  concentration: float | None = None) -> np.ndarray:
    """Expected share of the viewers starting episode 1 who watch episode k, k = 1 ..
    episodes [probability], with no paywall and no horizon.

    ``continuation`` is the mean propensity; ``concentration`` the Beta's a + b (None: every
    viewer has the same propensity).
    """
    w = exponents(np.asarray(weights, dtype=float))
    if concentration is None:
        return continuation ** w
    a, b = continuation * concentration, (1.0 - continuation) * concentration
    lg = np.vectorize(math.lgamma)
    return np.exp(lg(a + w) - math.lgamma(a) + math.lgamma(a + b) - lg(a + b + w))
