"""The one jit policy every kernel function is compiled with.

``error_model="numpy"`` makes division by zero give inf/nan instead of raising (no Python
exception machinery in hot loops); ``cache=True`` stores compiled code next to the module so a
second process starts in well under a second; ``fastmath`` stays off so results do not depend
on the compiler's reassociation choices (bit-identical runs are a requirement). Parallel
kernels' threads wait passively (``OMP_WAIT_POLICY``), so a busy core does not stall them.
"""

import os

# OpenMP threads that wait by spinning take a busy core from whatever else runs (a second test
# worker, another job): each parallel call then stalls, up to ~30x on 2 cores
# (benchmarks/bench_floor.py). Waiting passively changes no result; set before the OpenMP
# runtime starts, at the first parallel call. An explicit OMP_WAIT_POLICY is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from numba import njit  # noqa: E402  (after the environment it reads)

jit = njit(cache=True, error_model="numpy", nogil=True)
jit_parallel = njit(cache=True, error_model="numpy", nogil=True, parallel=True)
