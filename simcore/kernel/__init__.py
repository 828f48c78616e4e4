"""Numba loops: plain arrays in, sums out (no I/O, no xarray). May import numpy, numba and
the kernel itself only."""
