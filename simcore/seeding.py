"""The one place random streams are derived: ``numpy.random.SeedSequence`` keyed by purpose.

Every stream is ``SeedSequence(seed, spawn_key=(point, stream, draw, ...[, market]))``, with
the full 128-bit state (never a 32-bit seed), so streams do not collide and do not depend on
threads, workers or the order in which work runs. ``point`` indexes a sweep point (0 for a
single run); ``market`` a market of a multi-market run after the first.
"""

import hashlib

import numpy as np

CHUNK_USERS = 16_384  # users per random stream; fixed, so results never depend on it

ACQUISITION = 0   # per draw: daily cost movements and activation counts
USERS = 1         # per (draw, cohort, chunk): the kernel's xoshiro256** state
PARAMETERS = 2    # per (draw, field): the uniform behind an uncertain parameter
SHARE = 3         # per draw: share activations by day (social fission)
SHARE_USERS = 4   # per (draw, cohort, chunk): the kernel state for users who came by a share
CREATOR = 5       # per draw: creator videos, their views and activations
ORGANIC = 6       # per draw: search, profile and Mini Games Center activations
# per (draw, cohort, chunk): the kernel state of the users each channel brought
CHANNEL_USERS = {"paid_ads": USERS, "creator": 7, "search": 8, "profile": 9,
                 "games_center": 10, "share": SHARE_USERS, "profile_return": 11}
# per (draw, cohort, chunk): the drama kernel's state for the viewers each channel brought
DRAMA_VIEWERS = {"paid_ads": 12, "search": 13, "profile": 14}


def _key(*parts: int, market: int = 0) -> tuple[int, ...]:
    """Spawn key; markets after the first of a multi-market run add their index."""
    return parts + ((market,) if market else ())


def acquisition_rng(seed: int, draw: int, point: int = 0, market: int = 0,
                    ) -> np.random.Generator:
    """Generator for one draw's paid-ads campaign randomness (in one market)."""
    return draw_rng(ACQUISITION, seed, draw, point, market)


def parameter_uniform(seed: int, draw: int, key: str, point: int = 0) -> float:
    """The uniform in (0, 1) behind uncertain field ``key`` (dotted name) in one draw."""
    key_id = int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "little")
    bits = np.random.SeedSequence(seed, spawn_key=(point, PARAMETERS, draw, key_id)
                                  ).generate_state(1, np.uint64)[0]
    return (float(bits >> np.uint64(11)) + 0.5) * 2.0**-53


def draw_rng(stream: int, seed: int, draw: int, point: int = 0, market: int = 0,
             ) -> np.random.Generator:
    """Generator for one draw's randomness of one kind (``SHARE``, ``CREATOR``, ``ORGANIC``)."""
    return np.random.Generator(np.random.PCG64(
        np.random.SeedSequence(seed, spawn_key=_key(point, stream, draw, market=market))))


def chunk_states(seed: int, draw: int, cohort: int, n_chunks: int, point: int = 0,
                 stream: int = USERS, market: int = 0) -> np.ndarray:
    """uint64[n_chunks, 4] xoshiro256** states for the user chunks of one (draw, cohort)
    (``stream``: the channel's, from ``CHANNEL_USERS``)."""
    out = np.empty((n_chunks, 4), dtype=np.uint64)
    for k in range(n_chunks):
        ss = np.random.SeedSequence(seed, spawn_key=_key(point, stream, draw, cohort, k,
                                                         market=market))
        out[k] = ss.generate_state(4, np.uint64)
        if not out[k].any():  # the all-zero state is xoshiro's one fixed point
            out[k, 0] = 1
    return out


def chunk_layout(seed: int, draw: int, groups: list[tuple[int, int, int]], point: int = 0,
                 market: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Cut groups of users, each (cohort, users, stream), into chunks of ``CHUNK_USERS``:
    users int64[chunk], group index int64[chunk] and xoshiro256** states uint64[chunk, 4]
    (each chunk its own stream). None when there are no users."""
    users, slots, states = [], [], []
    for slot, (cohort, n, stream) in enumerate(groups):
        n_chunks = -(-int(n) // CHUNK_USERS)
        if n_chunks == 0:
            continue
        sizes = np.full(n_chunks, CHUNK_USERS, dtype=np.int64)
        sizes[-1] = int(n) - CHUNK_USERS * (n_chunks - 1)
        users.append(sizes)
        slots.append(np.full(n_chunks, slot, dtype=np.int64))
        states.append(chunk_states(seed, draw, cohort, n_chunks, point, stream, market))
    if not users:
        return None
    return np.concatenate(users), np.concatenate(slots), np.concatenate(states)
