"""Run a Numba kernel over users cut into chunks, each on its own random stream
(``simcore.seeding``), batch by batch: shared by every title kind's simulation."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from simcore import seeding


def run_chunks(kernel: Callable, seed: int, draw: int, groups: list[tuple[int, int, int]],
               point: int, market: int, args: tuple, outs: tuple[np.ndarray, ...]) -> None:
    """Call ``kernel(users, group, states, *args, *outs)`` once per batch of the groups'
    chunks (``seeding.chunk_layout``), in chunk order; the kernel adds each chunk's sums into
    ``outs`` in chunk order, so the result is the same, bit for bit, for any batch size and
    thread count, and memory is bounded by one batch whatever the number of users.

    A batch of one chunk runs on one thread: nothing to share out, so the threads' start
    and wait are skipped.
    """
    for batch in seeding.chunk_layout(seed, draw, groups, point, market,
                                      seeding.BATCH_CHUNKS):
        if batch[0].size > 1:
            kernel(*batch, *args, *outs)
            continue
        import numba

        threads = numba.get_num_threads()
        numba.set_num_threads(1)
        try:
            kernel(*batch, *args, *outs)
        finally:
            numba.set_num_threads(threads)
