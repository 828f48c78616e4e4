"""What simulating costs on this machine, measured: users per core-second by the shape of the
work, per-cohort-age overheads, and the size of one draw (``DrawSize``), which each title kind
reports for the work estimate (``simcore.studies.workload``)."""

from __future__ import annotations

import os
from dataclasses import dataclass

# Simulated users per second per core, by the shape of the work: the aggregated sampler
# without a per-day interstitial cap and with daily play; with a cap or intermittent play; the
# per-user sampler; a drama's viewers. Measured on a quiet 2-core machine (2026-11-30,
# benchmarks/bench_floor.py 2000000 --repeats 3, its kernel column: 164M, 10.8-11.7M,
# 2.5-3.3M users/s; drama runs ~1.8M viewers/s), halved per core and rounded down.
USERS_PER_CORE_SECOND = {"uncapped": 80e6, "capped": 5e6, "per_user": 1.2e6, "drama": 0.9e6}
SECONDS_PER_COHORT_AGE = 1.5e-6   # per draw, channel, cohort and age: sums and assembly [s]
FLOAT = 8                   # bytes per value


def cores() -> int:
    """Cores this process may use (CPU affinity)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:          # not on Linux
        return os.cpu_count() or 1


@dataclass(frozen=True)
class DrawSize:
    """One draw of one market: expected users, its kernel sums' bytes and its time [s]."""

    users: float
    bytes: float
    seconds: float


def seconds(users: float, shape: str) -> float:
    """Estimated time [s] to simulate ``users`` of a work shape (``USERS_PER_CORE_SECOND``)
    on the cores this process may use."""
    return users / (USERS_PER_CORE_SECOND[shape] * cores())
