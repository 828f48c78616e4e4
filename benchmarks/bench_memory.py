"""Peak memory of one draw by number of users: it should stay flat (simcore issue 11).

    python benchmarks/bench_memory.py                    # 1e6, 1e7, 1e8 users (~1 min on 2 cores)
    python benchmarks/bench_memory.py --billion          # and 1e9 (~1 more minute)
    python benchmarks/bench_memory.py --users 1000000,20000000 --batch 64
    python benchmarks/bench_memory.py --speed 100000000  # batched vs one kernel call, users/s

Scenario: scenarios/reborn_emperor_us.toml at its medians with the interstitial cap removed
(every alive day played, no cap: the aggregated sampler's fastest shape, so large sizes take
seconds). Each size runs in a fresh interpreter: a warm-up call (100k users: numba cache
loaded, threads started), then one cohort of n users, ``simulate_draw(plan, draw, [n])``,
``--repeats`` times on different draws. Peak memory is ``ru_maxrss`` (MB = 2^20 bytes) after
the runs; growth is peak minus ``ru_maxrss`` after the warm-up. users/s is n over the
fastest run; cores busy is that run's process CPU time over its wall time (well under the
thread count when other processes share the cores: compare figures taken side by side).
``--batch`` sets ``simcore.seeding.BATCH_CHUNKS`` (chunks per kernel call) in the child, to
choose it by measurement. ``--speed N`` times N users in one process, alternating batches of
``BATCH_CHUNKS`` (or ``--batch``) with one kernel call over all chunks (how draws ran before
batching), so both see the same load; the fastest of ``--repeats`` rounds each. Prints
results only.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ALL = 10**12                       # a batch this large holds every chunk: one kernel call

# argv = users, rounds, batch sizes (comma-separated; 0 = the package's BATCH_CHUNKS), run in
# turn each round. Prints one JSON line: peak memory and, per batch size, the fastest run.
_CHILD = r"""
import json, resource, sys, time, tomllib
import numba
import numpy as np
from simcore import seeding
from simcore.kinds.game.plan import compile_plan
from simcore.scenario import packaged_scenarios
from simcore.scenario.loading import split_uncertainty
from simcore.scenario.validation import validate
from simcore.kinds.game.simulate import simulate_draw

n, rounds = int(sys.argv[1]), int(sys.argv[2])
batches = [int(b) or seeding.BATCH_CHUNKS for b in sys.argv[3].split(",")]
data = tomllib.loads(packaged_scenarios()["reborn_emperor_us"].read_text())
data, _ = split_uncertainty(data)
data["ads"].pop("interstitial_cap_per_day")
plan = compile_plan(validate(data, "reborn_emperor_us (no cap)"))
simulate_draw(plan, 0, np.array([100_000]))     # cache loaded, threads started
rss = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # kB -> MB
base = rss()
best = {b: (float("inf"), 0.0) for b in batches}
for rep in range(rounds):
    for b in batches:
        seeding.BATCH_CHUNKS = b
        t, c = time.perf_counter(), time.process_time()
        simulate_draw(plan, rep, np.array([n]))
        wall, cpu = time.perf_counter() - t, time.process_time() - c
        if wall < best[b][0]:
            best[b] = (wall, cpu)
print(json.dumps({"base_mb": base, "peak_mb": rss(), "threads": numba.get_num_threads(),
                  "runs": [[b, *best[b]] for b in batches]}))
"""


def measure(users: int, rounds: int, batches: list[int]) -> dict:
    """Run ``_CHILD`` for ``users`` in a fresh interpreter; its JSON result."""
    proc = subprocess.run([sys.executable, "-c", _CHILD, str(users), str(rounds),
                           ",".join(map(str, batches))],
                          cwd=ROOT, capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"benchmark subprocess failed (exit {proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def batch_label(batch: int) -> str:
    return "one call (all chunks)" if batch >= ALL else f"batches of {batch} chunks"


def memory_table(sizes: list[int], repeats: int, batch: int) -> None:
    """Peak memory and users/s of one draw at each size, one fresh process per size."""
    rows = [(n, measure(n, 1 if n >= 10**9 else repeats, [batch])) for n in sizes]
    first = rows[0][1]
    print(f"reborn_emperor_us, no interstitial cap; {first['threads']} numba threads; "
          f"{batch_label(first['runs'][0][0])}")
    print(f"{'users':>14}{'peak MB':>10}{'growth MB':>11}{'peak / first':>14}{'users/s':>12}"
          f"{'cores busy':>12}")
    for n, r in rows:
        _, wall, cpu = r["runs"][0]
        print(f"{n:>14,}{r['peak_mb']:>10.1f}{r['peak_mb'] - r['base_mb']:>11.1f}"
              f"{r['peak_mb'] / first['peak_mb']:>14.3f}{n / wall / 1e6:>11.2f}M"
              f"{cpu / wall:>12.2f}")
    peaks = [r["peak_mb"] for _, r in rows]
    print(f"largest / smallest peak - 1 = {max(peaks) / min(peaks) - 1.0:.1%} "
          "(issue 11 goal: within 10 %)")


def speed_table(users: int, rounds: int, batch: int) -> None:
    """users/s of batched draws beside one kernel call over all chunks, in one process."""
    r = measure(users, rounds, [ALL, batch])
    print(f"{users:,} users, reborn_emperor_us without cap; {r['threads']} numba threads; "
          f"fastest of {rounds} alternating rounds")
    base = r["runs"][0][1]
    for b, wall, cpu in r["runs"]:
        print(f"{batch_label(b):<26}{users / wall / 1e6:>9.2f}M users/s  cores busy "
              f"{cpu / wall:.2f}  time / one call {wall / base:.3f}")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--users", default="1000000,10000000,100000000",
                    help="comma-separated users per draw (default 1e6,1e7,1e8)")
    ap.add_argument("--billion", action="store_true", help="add 1e9 users (one run)")
    ap.add_argument("--repeats", type=int, default=2,
                    help="timed draws per size below 1e9 (fastest reported; default 2)")
    ap.add_argument("--batch", type=int, default=0,
                    help="chunks per kernel call (default: simcore.seeding.BATCH_CHUNKS)")
    ap.add_argument("--speed", type=float, default=0,
                    help="instead: users/s at this many users, batched vs one kernel call")
    args = ap.parse_args(argv)
    if args.speed:
        speed_table(int(args.speed), args.repeats, args.batch)
        return 0
    sizes = [int(float(s)) for s in args.users.split(",")]
    if args.billion:
        sizes.append(1_000_000_000)
    memory_table(sizes, args.repeats, args.batch)
    return 0


if __name__ == "__main__":
    sys.exit(main())
