"""Test session settings.

Under pytest-xdist each worker process is already one of the machine's cores: give each
worker's Numba one thread, so workers x threads <= cores (oversubscribed threads make every
parallel region wait on a busy core). Results do not depend on the thread count (tested in
test_reproducibility.py, which sets its own counts in subprocesses).
"""

import os

if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
