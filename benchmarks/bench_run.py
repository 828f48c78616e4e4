"""End-to-end run speed: one market bought at once vs a multi-market launch with creators,
organic entrances and sharing (organic and share users arrive day by day; a market's day is
one kernel call for all its arriving channels). Run: python benchmarks/bench_run.py [DRAWS]

Both with the scenario's own distributions at their medians (``fixed()``; a market's own
``set`` distribution, JP's D1 here, stays uncertain), $10,000 a day for 14 days, 180-day
horizon; users/s counts every simulated user (all channels) over the whole run() call.
"""

import sys
import time

import simcore


def timed(name: str, draws: int) -> tuple[float, float, float]:
    loaded = simcore.load_scenario(name, [f"simulation.draws={draws}"]).fixed()
    simcore.run(loaded.with_overrides("simulation.draws=1"))      # compile / warm caches
    t = time.perf_counter()
    ds = simcore.run(loaded)
    seconds = time.perf_counter() - t
    users = float(ds.activations.sum())
    return seconds, users, users / seconds


def main():
    draws = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    rows = {name: timed(name, draws) for name in ("reborn_emperor_us", "reborn_emperor_global")}
    print(f"{'scenario':<24}{'seconds':>9}{'users':>14}{'users/s':>12}   ({draws} draws)")
    for name, (sec, users, rate) in rows.items():
        print(f"{name:<24}{sec:>9.2f}{users:>14,.0f}{rate / 1e6:>10.2f}M")
    one, many = rows["reborn_emperor_us"][2], rows["reborn_emperor_global"][2]
    print(f"global / single-market users per second: {many / one:.2f}")


if __name__ == "__main__":
    main()
