"""The one jit policy every kernel function is compiled with.

``error_model="numpy"`` makes division by zero give inf/nan instead of raising (no Python
exception machinery in hot loops); ``cache=True`` stores compiled code next to the module so a
second process starts in well under a second; ``fastmath`` stays off so results do not depend
on the compiler's reassociation choices (bit-identical runs are a requirement).
"""

from numba import njit

jit = njit(cache=True, error_model="numpy", nogil=True)
jit_parallel = njit(cache=True, error_model="numpy", nogil=True, parallel=True)
