"""The one jit policy every kernel function is compiled with.

``error_model="numpy"`` makes division by zero give inf/nan instead of raising (no Python
exception machinery in hot loops); ``cache=True`` stores compiled code next to the module so a
second process starts in well under a second; ``fastmath`` stays off so results do not depend
on the compiler's reassociation choices (bit-identical runs are a requirement). Parallel
kernels' threads wait passively (``OMP_WAIT_POLICY``), so a busy core does not stall them.

``jit_leaf`` is for helpers called in the kernels' hot loops that allocate nothing (the
samplers, a user-day): compiled without the Numba runtime (``_nrt=False``), a call no longer
increments and decrements the reference count of each array it is passed (an atomic
instruction each, which LLVM cannot remove after inlining). They were 70 % of the kernel's
time in reborn_emperor_us (perf); results are the same, bit for bit. A helper that creates an
array needs ``jit``.
"""

import os

# OpenMP threads that wait by spinning take a busy core from whatever else runs (a second test
# worker, another job): each parallel call then stalls, up to ~30x on 2 cores
# (benchmarks/bench_floor.py). Waiting passively changes no result; set before the OpenMP
# runtime starts, at the first parallel call. An explicit OMP_WAIT_POLICY is kept.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from numba import njit  # noqa: E402  (after the environment it reads)

jit = njit(cache=True, error_model="numpy", nogil=True)
jit_leaf = njit(cache=True, error_model="numpy", nogil=True, _nrt=False)
jit_parallel = njit(cache=True, error_model="numpy", nogil=True, parallel=True)
