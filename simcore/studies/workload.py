"""How much work a command asks for, estimated before it starts: the users it simulates, the
memory of its arrays and its time on this machine; and the limits that refuse it or ask first.

The estimate uses each plan's expected users (paid, creator, organic and share channels) and
rates measured on the kernel (``benchmarks/bench_shapes.py``); it is a guide (within a factor of
about two), not a promise. Limits, documented in the README:

- a command whose arrays would need more than ``MEMORY_SHARE`` of the memory available now is
  refused, naming the keys that drive the size;
- a command estimated to take more than ``CONFIRM_SECONDS`` asks before it starts (a terminal),
  or prints a warning line (no terminal: a batch job goes on); ``--yes`` skips the question;
- values that cannot be simulated at all (more than ``simcore.model.acquisition.MAX_USERS_PER_DAY``
  users a day on a channel, ...) are refused when the scenario compiles.
"""

from __future__ import annotations

import math
import os
import sys
from dataclasses import dataclass

from simcore.errors import ScenarioError
from simcore.model.cost import (  # noqa: F401
    FLOAT,
    SECONDS_PER_COHORT_AGE,
    USERS_PER_CORE_SECOND,
    DrawSize,
    cores,
    seconds,
)

MEMORY_SHARE = 0.8          # of the memory available when the command starts
CONFIRM_SECONDS = 600.0     # estimated wall time [s] above which a command asks first
MAX_RUNS = 10_000_000       # simulator runs (draws x markets x points) in one command
SECONDS_PER_RUN = 0.015     # per draw of a market: its retention fit and campaign [s]
ARRAY_OVERHEAD = 1.5        # peak bytes / the kernel sums' bytes (assembly copies, measured)


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


def check_block_draws(block_draws: int | None, draws: int) -> int | None:
    """``--block-draws`` (draws per task) is None (automatic) or a whole number in 1 ..
    ``draws``; anything else is refused in one line."""
    if block_draws is not None and (isinstance(block_draws, bool)
                                    or not 1 <= block_draws <= draws):
        raise ScenarioError("--block-draws", f"= {block_draws!r}: give a whole number in "
                            f"1 .. {draws} (the draws)")
    return block_draws


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


def draw_size(loaded) -> DrawSize:
    """The size of one draw of each market of ``loaded``, added up (compiled at the medians;
    each title kind sizes its own draws: ``simcore.kinds``)."""
    from simcore import kinds
    from simcore.scenario.markets import market_scenarios

    scenarios = market_scenarios(loaded) if loaded.scenario.markets else [loaded]
    sizes = [kinds.for_scenario(s).draw_size(s) for s in scenarios]
    return DrawSize(sum(s.users for s in sizes), sum(s.bytes for s in sizes),
                    sum(s.seconds for s in sizes))


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


def _duration(secs: float) -> str:
    if secs < 90:
        return f"{max(secs, 1):.0f} s"
    if secs < 5400:
        return f"{secs / 60:.0f} min"
    if secs < 2 * 86400:
        return f"{secs / 3600:.1f} h"
    return f"{secs / 86400:.0f} days"
