"""Memory does not grow with the number of users (streaming sums per chunk)."""

import json
import subprocess
import sys

PROBE = r"""
import json, resource, sys
import numpy as np
from simcore.plan import compile_plan
from simcore.scenario import load_scenario
from simcore.simulate import simulate_draw
plan = compile_plan(load_scenario("backpack_battle_jp").scenario)
simulate_draw(plan, 0, np.array([1000]))            # compile / load the cache first
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
out = simulate_draw(plan, 0, np.array([int(sys.argv[1])]))
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"growth_kb": peak - base, "output_kb": out.nbytes // 1024}))
"""


def _growth(n_users: int) -> dict:
    res = subprocess.run([sys.executable, "-c", PROBE, str(n_users)], check=True,
                         capture_output=True, text=True, timeout=600)
    return json.loads(res.stdout)


def test_ten_times_the_users_does_not_grow_peak_memory():
    small, large = _growth(200_000), _growth(2_000_000)
    # per-chunk accumulator blocks (N_VARS x ages x 8 bytes per 16,384 users) are the only
    # allocation that scales with users: 123 chunks -> ~1.3 MB; allow 8 MB for allocator noise
    chunk_blocks_kb = (2_000_000 // 16_384 + 1) * 7 * 181 * 8 // 1024
    assert large["growth_kb"] - small["growth_kb"] <= chunk_blocks_kb + 8 * 1024, (small, large)
