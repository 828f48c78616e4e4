"""How much work a command asks for, estimated before it starts: the users it simulates, the
memory of its arrays and its time on this machine; and the limits that refuse it or ask first.

The estimate uses each plan's expected users (paid, creator, organic and share channels) and
rates measured on the kernel (``benchmarks/bench_shapes.py``); it is a guide (within a factor of
about two), not a promise. Limits, documented in the README:

- a command whose arrays would need more than ``MEMORY_SHARE`` of the memory available now is
  refused, naming the keys that drive the size;
- a command estimated to take more than ``CONFIRM_SECONDS`` asks before it starts (a terminal),
  or prints a warning line (no terminal: a batch job goes on); ``--yes`` skips the question;
- values that cannot be simulated at all (more than ``simcore.plan.MAX_USERS_PER_DAY`` users a
  day on a channel, ...) are refused when the scenario compiles (``simcore.plan``).
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass

import numpy as np

from simcore.errors import ScenarioError

MEMORY_SHARE = 0.8          # of the memory available when the command starts
CONFIRM_SECONDS = 600.0     # estimated wall time [s] above which a command asks first
MAX_RUNS = 10_000_000       # simulator runs (draws x markets x points) in one command

# Simulated users per second per core, by the shape of the work: the aggregated sampler
# without a per-day interstitial cap and with daily play; with a cap or intermittent play; the
# per-user sampler; a drama's viewers. Measured on a quiet 2-core machine (2026-11-30,
# benchmarks/bench_floor.py's kernel column: 98.5M, 4.4-5.7M, 2.3-3.2M users/s; drama runs
# ~1.8M viewers/s), halved per core and rounded down.
USERS_PER_CORE_SECOND = {"uncapped": 45e6, "capped": 2.2e6, "per_user": 1.1e6, "drama": 0.9e6}
SECONDS_PER_COHORT_AGE = 1.5e-6   # per draw, channel, cohort and age: sums and assembly [s]
SECONDS_PER_RUN = 0.015     # per draw of a market: its retention fit and campaign [s]
ARRAY_OVERHEAD = 1.5        # peak bytes / the kernel sums' bytes (assembly copies, measured)
FLOAT = 8                   # bytes per value


@dataclass(frozen=True)
class Workload:
    """The size of a command: expected users, runs, peak array memory and time here."""

    users: float            # simulated users (expected), over every run
    runs: int               # simulator runs: draws x markets x points (or model runs)
    bytes: float            # peak memory of the arrays held at once [bytes]
    seconds: float          # estimated wall time on this machine [s]
    drivers: str            # the keys that drive the memory, for messages

    def describe(self) -> str:
        """One line, e.g. 'work: 48.0M users in 100 runs, 12 MB of arrays, about 20 s'."""
        return (f"work: {_count(self.users)} users in {self.runs:,} runs, "
                f"{_bytes(self.bytes)} of arrays, about {_duration(self.seconds)} on "
                f"{cores()} cores")


def cores() -> int:
    """Cores this process may use (CPU affinity)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:          # not on Linux
        return os.cpu_count() or 1


def available_bytes() -> float:
    """Memory available to this process now [bytes]: MemAvailable, within a cgroup limit."""
    free = math.inf
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    free = float(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        with open("/sys/fs/cgroup/memory.max") as f:
            limit = f.read().strip()
        with open("/sys/fs/cgroup/memory.current") as f:
            used = float(f.read().strip())
        if limit != "max":
            free = min(free, float(limit) - used)
    except (OSError, ValueError):
        pass
    if math.isinf(free):
        free = float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    return free


@dataclass(frozen=True)
class DrawSize:
    """One draw of one market: expected users, its kernel sums' bytes and its time [s]."""

    users: float
    bytes: float
    seconds: float


def draw_size(loaded) -> DrawSize:
    """The size of one draw of each market of ``loaded``, added up (compiled at the medians;
    each title kind sizes its own draws: ``simcore.kinds``)."""
    from simcore import kinds
    from simcore.scenario.markets import market_scenarios

    scenarios = market_scenarios(loaded) if loaded.scenario.markets else [loaded]
    sizes = [kinds.for_scenario(s).draw_size(s) for s in scenarios]
    return DrawSize(sum(s.users for s in sizes), sum(s.bytes for s in sizes),
                    sum(s.seconds for s in sizes))


def seconds(users: float, shape: str) -> float:
    """Estimated time [s] to simulate ``users`` of a work shape (``USERS_PER_CORE_SECOND``)
    on the cores this process may use."""
    return users / (USERS_PER_CORE_SECOND[shape] * cores())


def game_users(plan) -> dict[str, float]:
    """Expected activations per draw [users] by channel of a game's plan (the channels that
    bring any). Organic and share users follow what came before; their expectations here use
    the expected paid, creator and organic arrivals (share: the branching process in
    expectation, held by the daily cap)."""
    from simcore.acquisition import expected_share_activations

    n = plan.n_cohorts
    daily = np.zeros(n)
    acq = plan.acquisition
    daily[:acq.days] = acq.expected_activations()
    users = {"paid_ads": float(daily.sum())}
    cr = plan.creators
    if cr is not None:
        per_day = math.exp(math.log(cr.videos_per_day) + cr.log_views_median
                           + 0.5 * cr.log_views_sd ** 2) * cr.activation_per_view
        daily[:cr.days] += per_day
        users["creator"] = per_day * cr.days
    o = plan.organic
    if o is not None:
        days = plan.organic_days
        users["search"], users["profile"] = o.search_per_day * days, o.profile_per_day * days
        recent = 7.0 * daily[:days].mean() if days else 0.0
        users["games_center"] = days * o.games_center_scale * (recent / 1000.0) \
            ** o.games_center_exponent
        users["profile_return"] = o.profile_return_probability * daily.sum() * days
        daily[:days] += (users["search"] + users["profile"] + users["games_center"]) / days
    if plan.fission is not None:
        users["share"] = float(expected_share_activations(plan, daily).sum())
    return {k: v for k, v in users.items() if v > 0}


def estimate(loaded, runs_per_point: int | None = None, held_draws: int | None = None,
             result_bytes: float = 0.0, points: list | None = None) -> Workload:
    """The work of simulating ``loaded``, or each of ``points`` (its sweep points or budgets:
    loaded scenarios), ``runs_per_point`` draws each (default the scenario's).

    ``held_draws``: draws whose arrays are held at once (default all of a point's);
    ``result_bytes``: what the command keeps of every run [bytes] on top (e.g. a sweep's ROAS
    by point, draw and age).
    """
    points = [loaded] if points is None else points
    draws = loaded.scenario.simulation.draws if runs_per_point is None else runs_per_point
    sizes = [draw_size(p) for p in points]
    markets = max(1, len(loaded.scenario.markets))
    held = draws if held_draws is None else min(held_draws, draws)
    keys = ["simulation.draws", "campaign.days", "simulation.horizon_days"]
    if loaded.scenario.markets:
        keys.append("[[markets]]")
    return Workload(sum(s.users for s in sizes) * draws, draws * markets * len(points),
                    ARRAY_OVERHEAD * max(s.bytes for s in sizes) * held + result_bytes,
                    (sum(s.seconds for s in sizes) + SECONDS_PER_RUN * markets * len(points))
                    * draws, ", ".join(keys))


def estimate_points(loaded, overrides: list[str]) -> Workload:
    """``estimate`` of running ``loaded`` once with each override (e.g. each daily budget)."""
    return estimate(loaded, points=[loaded.with_overrides(o) for o in overrides])


def check(work: Workload, yes: bool = False, what: str = "", show: bool = False,
          stream=None) -> None:
    """Refuse work that cannot fit in memory or is unbounded (``ScenarioError``); print the
    estimate on ``stream`` (stderr) when ``show`` (beside a progress bar); above
    ``CONFIRM_SECONDS`` ask on a terminal (unless ``yes``), or warn when there is none."""
    stream = sys.stderr if stream is None else stream
    if work.runs > MAX_RUNS:
        raise ScenarioError(what or "simulation.draws", f"asks for {work.runs:,} simulator runs; "
                            f"at most {MAX_RUNS:,} in one command (split it, or lower the "
                            "draws, grid points or --n)")
    free = available_bytes()
    if work.bytes > MEMORY_SHARE * free:
        raise ScenarioError(what or work.drivers.split(", ")[0], f"the arrays would need about "
                            f"{_bytes(work.bytes)}, more than {MEMORY_SHARE:.0%} of the "
                            f"{_bytes(free)} of memory available: lower {work.drivers}")
    if show:
        print(f"simcore: {work.describe()}", file=stream)
    if work.seconds <= CONFIRM_SECONDS or yes:
        return
    if not sys.stdin.isatty():
        print(f"simcore: warning: this is estimated to take about {_duration(work.seconds)} "
              "(more than " f"{_duration(CONFIRM_SECONDS)}); going on", file=stream)
        return
    stream.write(f"simcore: this is estimated to take about {_duration(work.seconds)}. "
                 "Go on? [y/N] ")
    stream.flush()
    answer = sys.stdin.readline().strip().lower()
    if answer not in ("y", "yes"):
        raise ScenarioError("--yes", f"not started: estimated {_duration(work.seconds)} "
                            f"(more than {_duration(CONFIRM_SECONDS)}); add --yes to start "
                            "without asking")


def _count(n: float) -> str:
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.3g}{unit}"
    return f"{n:.0f}"


def _bytes(n: float) -> str:
    for unit, size in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.3g} {unit}"
    return f"{n:.0f} B"


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(seconds, 1):.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    if seconds < 2 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.0f} days"
