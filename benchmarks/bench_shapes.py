"""Users per second by scenario shape: which parts of the model the aggregated sampler can
aggregate decides its speed. Run: python benchmarks/bench_shapes.py [USERS]

* hybrid_jp: intermittent play + interstitial cap (per played day draws remain);
* reborn_capped: every alive day played, interstitial cap (per played day draws remain);
* reborn_nocap: no cap: users grouped by lifetime, O(1) work per user.
"""

import dataclasses
import sys
import time
import tomllib

import numpy as np

from simcore.kinds.game.plan import compile_plan
from simcore.kinds.game.simulate import simulate_draw
from simcore.scenario import packaged_scenarios
from simcore.scenario.loading import split_uncertainty
from simcore.scenario.validation import validate


def plan(name, drop_cap=False):
    data = tomllib.loads(packaged_scenarios()[name].read_text())
    data, _ = split_uncertainty(data)           # uncertain fields at their medians
    if drop_cap:
        data["ads"].pop("interstitial_cap_per_day")
    return compile_plan(validate(data, name))


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2_000_000
    cases = {"hybrid_jp": plan("backpack_battle_jp"), "reborn_capped": plan("reborn_emperor_us"),
             "reborn_nocap": plan("reborn_emperor_us", drop_cap=True)}
    print(f"{'shape':<16}{'sampler':<12}{'users/s':>12}   ({n:,} users, best of 3)")
    for name, base in cases.items():
        for aggregate in (True, False):
            p = dataclasses.replace(base, aggregate=aggregate)
            simulate_draw(p, 0, np.array([20_000]))
            best = np.inf
            for rep in range(3):
                t = time.perf_counter()
                simulate_draw(p, rep, np.array([n]))
                best = min(best, time.perf_counter() - t)
            label = "aggregated" if aggregate else "per_user"
            print(f"{name:<16}{label:<12}{n / best / 1e6:>10.2f}M")


if __name__ == "__main__":
    main()
