"""The one place random streams are derived: ``numpy.random.SeedSequence`` keyed by purpose.

Every stream is ``SeedSequence(seed, spawn_key=(point, stream, draw, ...[, market]))``, with
the full 128-bit state (never a 32-bit seed), so streams do not collide and do not depend on
threads, workers or the order in which work runs. ``point`` indexes a sweep point (0 for a
single run); ``market`` a market of a multi-market run after the first.
"""

import hashlib
from collections.abc import Iterator

import numpy as np

CHUNK_USERS = 16_384  # users per random stream; fixed, so results never depend on it
# Chunks per parallel kernel call. Each call's per-chunk sums (~10 kB a chunk at a 180-day
# horizon: ~10 MB a batch) are added up in chunk order before the next call, so memory is
# bounded by one batch, never by users, and no result depends on it. A multiple of any
# power-of-two thread count up to 1024; smaller batches measured slower on 2 busy cores (each
# call wakes the threads: benchmarks/bench_memory.py --batch).
BATCH_CHUNKS = 1024

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
SOBOL_DESIGN = 15  # per replicate (as the draw): the scrambling of a Sobol' sensitivity design
CALIBRATION = 16   # per calibration: the sequential Monte Carlo's particles, moves, resampling
FORECAST = 17      # per calibration: the root of its forecast's streams (see forecast_seed)
OUT_OF_SAMPLE = 18  # the root seed of an out-of-sample check (simcore.studies.allocation)


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


def forecast_seed(seed: int) -> int:
    """The root seed of a calibrated forecast's draws: its campaign and user streams are
    those of a run with this seed, apart from any run of the scenario's own ``seed``."""
    return int(np.random.SeedSequence(seed, spawn_key=(FORECAST,)).generate_state(1, np.uint64)[0]
               >> np.uint64(1))


def draw_rng(stream: int, seed: int, draw: int, point: int = 0, market: int = 0,
             ) -> np.random.Generator:
    """Generator for one draw's randomness of one kind (``SHARE``, ``CREATOR``, ``ORGANIC``)."""
    return np.random.Generator(np.random.PCG64(
        np.random.SeedSequence(seed, spawn_key=_key(point, stream, draw, market=market))))


def chunk_states(seed: int, draw: int, cohort: int, n_chunks: int, point: int = 0,
                 stream: int = USERS, market: int = 0, first: int = 0) -> np.ndarray:
    """uint64[n_chunks, 4] xoshiro256** states of user chunks ``first .. first + n_chunks - 1``
    of one (draw, cohort) (``stream``: the channel's, from ``CHANNEL_USERS``)."""
    out = np.empty((n_chunks, 4), dtype=np.uint64)
    for i in range(n_chunks):
        ss = np.random.SeedSequence(seed, spawn_key=_key(point, stream, draw, cohort, first + i,
                                                         market=market))
        out[i] = ss.generate_state(4, np.uint64)
        if not out[i].any():  # the all-zero state is xoshiro's one fixed point
            out[i, 0] = 1
    return out


Layout = tuple[np.ndarray, np.ndarray, np.ndarray]


def chunk_layout(seed: int, draw: int, groups: list[tuple[int, int, int]], point: int = 0,
                 market: int = 0, batch_chunks: int | None = None) -> Iterator[Layout]:
    """Cut groups of users, each (cohort, users, stream), into chunks of ``CHUNK_USERS`` and
    yield them in batches of at most ``batch_chunks`` chunks (default ``BATCH_CHUNKS``), in
    chunk order: users int64[chunk], group index int64[chunk] and xoshiro256** states
    uint64[chunk, 4] (each chunk its own stream). Nothing is yielded when there are no users.

    Only one batch's arrays exist at a time, so memory does not grow with users; chunk k of a
    group gets the same stream whatever the batch size.
    """
    size = BATCH_CHUNKS if batch_chunks is None else int(batch_chunks)
    if size < 1:
        raise ValueError(f"batch_chunks must be >= 1, got {size}")
    users, slots, states = [], [], []
    held = 0                                   # chunks in the batch being filled
    for slot, (cohort, n, stream) in enumerate(groups):
        n = int(n)
        n_chunks = -(-n // CHUNK_USERS)
        k = 0                                  # next chunk of this group
        while k < n_chunks:
            take = min(size - held, n_chunks - k)
            sizes = np.full(take, CHUNK_USERS, dtype=np.int64)
            if k + take == n_chunks:
                sizes[-1] = n - CHUNK_USERS * (n_chunks - 1)
            users.append(sizes)
            slots.append(np.full(take, slot, dtype=np.int64))
            states.append(chunk_states(seed, draw, cohort, take, point, stream, market, k))
            k += take
            held += take
            if held == size:
                yield np.concatenate(users), np.concatenate(slots), np.concatenate(states)
                users, slots, states = [], [], []
                held = 0
    if held:
        yield np.concatenate(users), np.concatenate(slots), np.concatenate(states)



def out_of_sample_seed(seed: int) -> int:
    """A root seed derived from ``seed`` for a check on fresh streams: every stream it keys
    (uncertain parameters, campaigns, users) differs from those of ``seed``. In 0 .. 2**63-1."""
    state = np.random.SeedSequence(seed, spawn_key=(OUT_OF_SAMPLE,)).generate_state(2, np.uint64)
    return int(state[0] >> np.uint64(1))
