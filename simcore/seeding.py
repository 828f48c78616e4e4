"""The one place random streams are derived: ``numpy.random.SeedSequence`` keyed by purpose.

Every stream is ``SeedSequence(seed, spawn_key=(point, stream, draw, ...))``, with the full
128-bit state (never a 32-bit seed), so streams do not collide and do not depend on threads,
workers or the order in which work runs. ``point`` indexes a sweep point (0 for a single run).
"""

import numpy as np

ACQUISITION = 0   # per draw: daily cost movements and activation counts
USERS = 1         # per (draw, cohort, chunk): the kernel's xoshiro256** state
PARAMETERS = 2    # per draw: the copula normals of the uncertain parameters
SHARE = 3         # per draw: share activations by day (social fission)
SHARE_USERS = 4   # per (draw, cohort, chunk): the kernel state for users who came by a share


def acquisition_rng(seed: int, draw: int, point: int = 0) -> np.random.Generator:
    """Generator for one draw's campaign-level randomness."""
    return np.random.Generator(np.random.PCG64(
        np.random.SeedSequence(seed, spawn_key=(point, ACQUISITION, draw))))


def parameter_rng(seed: int, draw: int, point: int = 0) -> np.random.Generator:
    """Generator for one draw's uncertain-parameter values."""
    return np.random.Generator(np.random.PCG64(
        np.random.SeedSequence(seed, spawn_key=(point, PARAMETERS, draw))))


def share_rng(seed: int, draw: int, point: int = 0) -> np.random.Generator:
    """Generator for one draw's share activations."""
    return np.random.Generator(np.random.PCG64(
        np.random.SeedSequence(seed, spawn_key=(point, SHARE, draw))))


def chunk_states(seed: int, draw: int, cohort: int, n_chunks: int, point: int = 0,
                 stream: int = USERS) -> np.ndarray:
    """uint64[n_chunks, 4] xoshiro256** states for the user chunks of one (draw, cohort)
    (``stream``: USERS for paid users, SHARE_USERS for users who came by a share)."""
    out = np.empty((n_chunks, 4), dtype=np.uint64)
    for k in range(n_chunks):
        ss = np.random.SeedSequence(seed, spawn_key=(point, stream, draw, cohort, k))
        out[k] = ss.generate_state(4, np.uint64)
        if not out[k].any():  # the all-zero state is xoshiro's one fixed point
            out[k, 0] = 1
    return out
