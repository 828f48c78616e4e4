"""Memory does not grow with the number of users (streaming sums per chunk, reduced in
batches of chunks), and the batching changes no result, bit for bit."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from simcore import seeding
from simcore.kernel import layout as K
from simcore.kinds.drama.simulate import simulate_groups as drama_groups
from simcore.kinds.game.plan import compile_plan
from simcore.kinds.game.simulate import simulate_groups
from simcore.scenario import load_scenario
from tests.drama_helpers import tiny_plan

# One draw of one cohort in a fresh interpreter: argv = users. The shape is reborn_emperor_us
# without its interstitial cap (users grouped by lifetime: tens of millions of users/s).
PROBE = r"""
import json, resource, sys, tomllib
import numpy as np
from simcore.kinds.game.plan import compile_plan
from simcore.scenario import packaged_scenarios
from simcore.scenario.loading import split_uncertainty
from simcore.scenario.validation import validate
from simcore.kinds.game.simulate import simulate_draw
data, _ = split_uncertainty(tomllib.loads(packaged_scenarios()["reborn_emperor_us"].read_text()))
data["ads"].pop("interstitial_cap_per_day")
plan = compile_plan(validate(data, "reborn_emperor_us"))
simulate_draw(plan, 0, np.array([50_000]))     # cache loaded and threads started (4 chunks)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
out = simulate_draw(plan, 1, np.array([int(sys.argv[1])]))
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"growth_kb": peak - base, "output_kb": out.nbytes // 1024}))
"""

# Per-chunk sums of one batch: the only allocation that grows with users up to a batch.
BATCH_KB = seeding.BATCH_CHUNKS * K.N_VARS * 181 * 8 // 1024
SLACK_KB = 4 * 1024      # allocator and interpreter noise between two fresh processes


def _growth(n_users: int) -> dict:
    res = subprocess.run([sys.executable, "-c", PROBE, str(n_users)], check=True,
                         capture_output=True, text=True, timeout=600)
    return json.loads(res.stdout)


def _assert_flat(small_users: int, large_users: int):
    small, large = _growth(small_users), _growth(large_users)
    # without batches the per-chunk sums alone would grow by (chunks x N_VARS x ages x 8 B):
    # ~37 MB more at 6e7 than at 2e5 users; with them, by at most one batch (~10 MB)
    unbatched_kb = (large_users // seeding.CHUNK_USERS) * K.N_VARS * 181 * 8 // 1024
    assert unbatched_kb > 2 * (BATCH_KB + SLACK_KB)  # the check can tell the two apart
    assert large["growth_kb"] - small["growth_kb"] <= BATCH_KB + SLACK_KB, (small, large)


def test_three_hundred_times_the_users_does_not_grow_peak_memory():
    _assert_flat(200_000, 60_000_000)


@pytest.mark.slow
def test_a_thousand_times_the_users_does_not_grow_peak_memory():
    _assert_flat(200_000, 200_000_000)


def test_chunk_layout_batches_are_the_same_chunks_in_the_same_order():
    groups = [(0, 5 * seeding.CHUNK_USERS + 7, seeding.USERS), (1, 0, seeding.USERS),
              (2, 1, 7), (3, 2 * seeding.CHUNK_USERS, seeding.USERS)]
    whole = list(seeding.chunk_layout(5, 2, groups, batch_chunks=10**9))
    assert len(whole) == 1 and whole[0][0].sum() == sum(n for _, n, _ in groups)
    for size in (1, 3, 4, 9):
        batches = list(seeding.chunk_layout(5, 2, groups, batch_chunks=size))
        assert [b[0].size for b in batches[:-1]] == [size] * (len(batches) - 1)
        for part, full in zip(zip(*batches), whole[0]):
            np.testing.assert_array_equal(np.concatenate(part), full)
    assert list(seeding.chunk_layout(5, 2, [(0, 0, seeding.USERS)])) == []


# 9 chunks over four groups: batches of 3 cut through groups, batches of 1 are single chunks
GROUPS = [(0, 5 * seeding.CHUNK_USERS + 7, seeding.USERS), (1, 0, seeding.USERS),
          (2, 1, 7), (3, 2 * seeding.CHUNK_USERS - 5, seeding.USERS)]
DRAMA_GROUPS = [(0, 3 * seeding.CHUNK_USERS + 1, 12), (1, 0, 13), (1, 2, 14),
                (0, seeding.CHUNK_USERS, 13)]


def _game_plan(aggregate: bool):
    import dataclasses

    plan = compile_plan(load_scenario("backpack_battle_jp").scenario)
    return dataclasses.replace(plan, aggregate=aggregate)


@pytest.mark.parametrize("aggregate", [True, False])
def test_game_sums_bit_identical_for_any_batch_size(monkeypatch, aggregate):
    plan = _game_plan(aggregate)
    groups = GROUPS if aggregate else [(c, n // 4, s) for c, n, s in GROUPS]
    reference = simulate_groups(plan, 3, groups)
    assert reference[:, K.V_ACTIVE, 0].tolist() == [n for _, n, _ in groups]
    for size in (1, 3):
        monkeypatch.setattr(seeding, "BATCH_CHUNKS", size)
        np.testing.assert_array_equal(simulate_groups(plan, 3, groups), reference)


def test_drama_sums_bit_identical_for_any_batch_size(monkeypatch):
    plan = tiny_plan()
    sums, reach = drama_groups(plan, 1, DRAMA_GROUPS)
    assert reach[:, 0].tolist() == [n for _, n, _ in DRAMA_GROUPS]
    for size in (1, 3):
        monkeypatch.setattr(seeding, "BATCH_CHUNKS", size)
        other_sums, other_reach = drama_groups(plan, 1, DRAMA_GROUPS)
        np.testing.assert_array_equal(other_sums, sums)
        np.testing.assert_array_equal(other_reach, reach)


# argv = output .npz; NUMBA_NUM_THREADS=2. Game and drama sums for 1 and 2 threads and batch
# sizes 1, 3 and the default, all in one process.
THREADS_PROBE = r"""
import sys
import numba
import numpy as np
from simcore import seeding
from simcore.kinds.drama.simulate import simulate_groups as drama_groups
from simcore.kinds.game.simulate import simulate_groups
from tests.engine.test_memory import DRAMA_GROUPS, GROUPS, _game_plan
from tests.drama_helpers import tiny_plan
game, drama = _game_plan(True), tiny_plan()
default = seeding.BATCH_CHUNKS
out = {}
for threads in (1, 2):
    numba.set_num_threads(threads)
    for size in (1, 3, default):
        seeding.BATCH_CHUNKS = size
        key = f"{threads}_{size}"
        out["game_" + key] = simulate_groups(game, 3, GROUPS)
        out["drama_" + key], out["reach_" + key] = drama_groups(drama, 1, DRAMA_GROUPS)
np.savez(sys.argv[1], **out)
"""


def test_bit_identical_for_one_and_two_threads_and_any_batch_size(tmp_path):
    path = tmp_path / "sums.npz"
    env = {**os.environ, "NUMBA_NUM_THREADS": "2"}
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    subprocess.run([sys.executable, "-c", THREADS_PROBE, str(path)], check=True, env=env,
                   cwd=root, capture_output=True, timeout=600)
    sums = np.load(path)
    for kind in ("game", "drama", "reach"):
        reference = sums[f"{kind}_2_{seeding.BATCH_CHUNKS}"]
        for key in sums.files:
            if key.startswith(kind + "_"):
                np.testing.assert_array_equal(sums[key], reference, err_msg=key)
