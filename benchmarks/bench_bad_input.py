"""Time to the one-line error for bad input, as a person meets it: a fresh ``python -m
simcore`` process per case, wall time from spawn to exit (imports included). Target: every
input error (file, TOML, schema, flags) in under 1 s, so simcore reads and validates before it
imports xarray, Numba or Dask. Also the estimate's refusals (arrays beyond memory, grid points).

Run: python benchmarks/bench_bad_input.py [REPEATS]   (best of REPEATS, default 3)
"""

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_S = 1.0

CASES = {
    "missing file": ["run", "nothere.toml"],
    "not a regular file": ["validate", "/dev/zero"],
    "not TOML": ["run", "{dir}/bad.toml"],
    "unknown key": ["run", "--set", "ads.fill_rate_rewardd=0.5"],
    "out of range": ["run", "--set", "campaign.daily_budget_usd=-5"],
    "bad flag value": ["run", "--draws", "x"],
    "negative budgets": ["scale", "--budgets", "-1,100"],
    "foreign output": ["run", "-o", "{dir}/notes.nc"],
    "missing dataset": ["summary", "nothere.nc"],
    "CPA buys too many": ["run", "--set", "campaign.target_cpa_usd=1e-300"],
    "arrays beyond memory": ["run", "--set", "simulation.horizon_days=1095",
                             "--set", "campaign.days=365", "--set", "simulation.draws=100"],
    "too many grid points": ["sweep", "--grid", "campaign.daily_budget_usd=1:2:100000000"],
}


def wall(args: list[str]) -> tuple[float, int, str]:
    t = time.perf_counter()
    res = subprocess.run([sys.executable, "-m", "simcore", *args], capture_output=True,
                         text=True, timeout=120)
    return time.perf_counter() - t, res.returncode, res.stderr.strip()


def main():
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    with tempfile.TemporaryDirectory() as d:
        Path(d, "bad.toml").write_text("[title\nname = 1\n")
        Path(d, "notes.nc").write_text("my notes")
        print(f"{'case':<24}{'best s':>8}{'exit':>6}   message   ({repeats} repeats, "
              f"{os.cpu_count()} cores)")
        worst = 0.0
        for name, args in CASES.items():
            args = [a.format(dir=d) for a in args]
            runs = [wall(args) for _ in range(repeats)]
            best = min(r[0] for r in runs)
            worst = max(worst, best)
            _, code, message = runs[0]
            print(f"{name:<24}{best:>8.2f}{code:>6}   {message[:90]}")
        print(f"slowest {worst:.2f} s; target < {TARGET_S:.0f} s: "
              f"{'met' if worst < TARGET_S else 'NOT met'} (ratio {worst / TARGET_S:.2f})")


if __name__ == "__main__":
    main()
