"""The random-number floor of the exact user model, beside the kernel's speed, per scenario
shape. Run: python benchmarks/bench_floor.py [USERS] [--repeats N]

The floor of a shape is the time of the random variates that an exact model of that shape
cannot avoid, drawn with the kernel's own samplers (``simcore.kernel.rng``), jit policy and
chunking (one xoshiro256** stream per chunk of ``seeding.CHUNK_USERS`` users, chunks in
parallel on the kernel's Numba threads), with nothing accumulated but a checksum:

* per user: the lifetime (one uniform, inverted on the survival table from the kernel's guide
  table, ``users._lifetime_guided``); with a per-day cap,
  the session rate (Gamma) and its exp(-mu); with purchases, one uniform (payer or not), and
  per payer a truncated negative binomial count, the spend rate nu (Gamma) and per purchase a
  day (uniform) and a value (Gamma);
* per played user-day, with a per-day interstitial cap: sessions (Poisson, inversion; for a
  user alive past age ``users._ROW_MIN_LAST``, one uniform against the user's own
  ``rng.poisson_cdf_row``, built once, as the kernel does) and the capped interstitials
  (one uniform against the kernel's table of the capped Poisson cdf per session count,
  ``users._interstitial_table``: the same count as inversion stopped at the cap, without its
  multiplications);
* per alive day after day 0, with intermittent play: one uniform (play or not);
* per chunk and age: the aggregated Poisson sums (rewarded always; sessions and interstitials
  without a cap) and, with users grouped by lifetime, one Gamma per lifetime.

Days per user are not drawn: each user gets the scenario's expected alive and played days
(sums of ``retention.survival`` and ``retention.active_share`` over ages 0..horizon, handed
out so that the totals are exact), so the floor counts the variates of an average user.
Columns: variates per user; core-ns per variate (process CPU time / variates); floor users/s;
the kernel's users/s (``simulate_draw``, as in ``bench_shapes.py``) for the default
aggregated sampler and the per-user one, and kernel / floor speed, by best wall time and by
best CPU time (steadier on shared cores). Floor and kernels alternate repeat by repeat.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import math
import os
import time
import tomllib

import numba
import numpy as np
from machine import cpu_model
from numba import prange

from simcore import seeding
from simcore.kernel import layout as K
from simcore.kernel._jit import jit, jit_parallel
from simcore.kernel.rng import (
    NO_CAP,
    PTRS_SWITCH,
    count_below,
    gamma,
    poisson,
    poisson_cdf_row,
    poisson_from_row,
    poisson_inversion,
    uniform,
)
from simcore.kernel.users import (
    _EXP_TABLE,
    _ROW_MIN_LAST,
    _ROW_SIZE,
    _ROW_TAIL,
    _interstitial_table,
    _lifetime_from_table,
    _lifetime_guide,
    _lifetime_guided,
    _truncated_negbin,
)
from simcore.kinds.game.plan import Plan, compile_plan
from simcore.kinds.game.simulate import simulate_draw
from simcore.model.retention import active_share, played_days_pmf
from simcore.scenario import packaged_scenarios
from simcore.scenario.loading import split_uncertainty
from simcore.scenario.validation import validate


def shape_plan(name: str, drop_cap: bool = False, drop_iap: bool = False) -> Plan:
    """A packaged scenario's plan, uncertain fields at their medians (as ``bench_shapes``),
    optionally without its interstitial cap or its purchases."""
    data = tomllib.loads(packaged_scenarios()[name].read_text())
    data, _ = split_uncertainty(data)
    if drop_cap:
        data["ads"].pop("interstitial_cap_per_day")
    if drop_iap:
        data.pop("iap")
        data["title"]["monetization"] = "iaa"
    return compile_plan(validate(data, name))


SHAPES = {  # name: (plan arguments, what the shape is)
    "iaa_nocap": (("reborn_emperor_us", True, False), "reborn_emperor_us without its cap"),
    "iaa_capped": (("reborn_emperor_us", False, False), "reborn_emperor_us"),
    "cap_intermittent": (("backpack_battle_jp", False, True),
                         "backpack_battle_jp without purchases"),
    "hybrid_iap": (("backpack_battle_jp", False, False), "backpack_battle_jp"),
}


@dataclasses.dataclass(frozen=True)
class Days:
    """Expected days per user over ages 0..horizon (from the fitted retention)."""

    alive: float        # ages not yet churned (incl. day 0)
    played: float       # ages played (day 0 always)
    pay_share: float    # probability that a user buys at least once
    payer_played: float  # expected played days of a payer


def expected_days(plan: Plan) -> Days:
    """The days of an average user, from ``plan.retention`` (and ``plan.no_purchase``)."""
    r = plan.retention
    ages = np.arange(plan.horizon + 1)
    alive = float(plan.survival.sum())
    played = float(active_share(ages, r.alpha, r.beta, r.c, r.play_probability).sum())
    pmf = played_days_pmf(plan.horizon, r.alpha, r.beta, r.c, r.play_probability)
    pays = pmf * (1.0 - plan.no_purchase)
    pay_share = float(pays.sum())
    payer_played = float((pays * np.arange(pmf.size)).sum() / pay_share) if pay_share else 0.0
    return Days(alive, played, pay_share, payer_played)


@jit
def _floor_chunk(s, n_users, prm, surv, horizon, alive, played, pay_share, payer_played,
                 out, guide):
    """Draw one chunk's unavoidable variates; out[0] += checksum, out[1] += variates."""
    play_prob = prm[K.PLAY_PROB]
    extra_mean = prm[K.SESS_EXTRA_MEAN]
    sess_shape = prm[K.SESS_SHAPE]
    is_rate = prm[K.INTERSTITIAL_RATE]
    is_cap = prm[K.INTERSTITIAL_CAP]
    capped = is_cap >= 0.0
    cap = np.int64(is_cap) if capped else NO_CAP
    grouped = play_prob >= 1.0 and not capped
    iap_r = prm[K.IAP_R]
    exp_is = np.exp(-is_rate * np.arange(_EXP_TABLE))
    is_cdf, is_limit = _interstitial_table(is_rate, is_cap, exp_is)
    row = np.empty(_ROW_SIZE)
    check = 0.0
    n_var = 0
    played_acc = 0.0
    alive_acc = 0.0
    for _ in range(n_users):
        check += _lifetime_guided(s, surv, horizon, guide)
        n_var += 1
        # this user's share of the expected days, handed out so the totals are exact
        days = np.int64(math.floor(played_acc + played) - math.floor(played_acc))
        played_acc += played
        alive_days = np.int64(math.floor(alive_acc + alive) - math.floor(alive_acc))
        alive_acc += alive
        if not grouped and play_prob < 1.0:
            for _d in range(alive_days - 1):
                check += uniform(s) >= play_prob
            n_var += alive_days - 1
        mu = extra_mean
        if not grouped:
            if sess_shape > 0.0:
                mu = gamma(s, sess_shape) * (extra_mean / sess_shape)
                n_var += 1
            check += mu
        if capped:
            exp_neg_mu = math.exp(-mu)
            n_row, whole = 0, False
            if is_limit.size and alive_days - 1 > _ROW_MIN_LAST and mu < PTRS_SWITCH:
                n_row, whole = poisson_cdf_row(mu, exp_neg_mu, NO_CAP, _ROW_TAIL, row)
            for _d in range(days):
                if n_row:
                    sessions = 1 + poisson_from_row(uniform(s), row, n_row, whole, mu,
                                                    exp_neg_mu, NO_CAP)
                elif mu < PTRS_SWITCH:
                    sessions = 1 + poisson_inversion(s, mu, exp_neg_mu, NO_CAP)
                else:
                    sessions = 1 + poisson(s, mu)
                lam = is_rate * sessions
                if sessions < _EXP_TABLE and is_limit.size and is_limit[sessions] >= 0:
                    check += count_below(uniform(s), is_cdf[sessions], is_limit[sessions])
                elif lam < PTRS_SWITCH and sessions < _EXP_TABLE:
                    check += poisson_inversion(s, lam, exp_is[sessions], cap)
                else:
                    check += min(poisson(s, lam), cap)
            n_var += 2 * days
        if iap_r > 0.0:
            n_var += 1
            if uniform(s) < pay_share:
                alpha = prm[K.IAP_ALPHA]
                n_buy = _truncated_negbin(s, iap_r, alpha / (alpha + payer_played))
                nu = gamma(s, prm[K.GG_Q]) / prm[K.GG_GAMMA]
                n_var += 2 + 2 * n_buy
                for _j in range(n_buy):
                    check += uniform(s) * payer_played + gamma(s, prm[K.GG_P]) / nu
    n_ages = horizon + 1
    rate = n_users * played / n_ages * (extra_mean + 1.0)  # sessions per age, a typical size
    for _t in range(n_ages):
        if grouped:
            if sess_shape > 0.0:
                check += gamma(s, n_users * sess_shape / n_ages)
            n_var += 1
        if not capped:
            check += poisson(s, rate) + poisson(s, is_rate * rate)
            n_var += 2
        check += poisson(s, prm[K.REWARDED_RATE] * rate)
        n_var += 1
    out[0] += check
    out[1] += n_var


@jit_parallel
def floor_tasks(task_users, task_seeds, prm, surv, horizon, alive, played, pay_share,
                payer_played, out):
    """The floor of a batch of chunks, in parallel like ``simulate_tasks``; out[chunk, 2]."""
    guide = _lifetime_guide(surv, horizon)
    for i in prange(task_users.shape[0]):
        state = task_seeds[i].copy()
        _floor_chunk(state, task_users[i], prm, surv, horizon, alive, played, pay_share,
                     payer_played, out[i], guide)


def run_floor(plan: Plan, days: Days, n: int, draw: int) -> float:
    """Variates of the floor for ``n`` users (chunks as the kernel's)."""
    variates = 0.0
    for users, _, states in seeding.chunk_layout(plan.seed, draw, [(0, n, seeding.USERS)]):
        out = np.zeros((users.size, 2))
        floor_tasks(users, states, plan.params, plan.survival, plan.horizon, days.alive,
                    days.played, days.pay_share, days.payer_played, out)
        variates += out[:, 1].sum()
    return variates


def timed(call) -> tuple[float, float]:
    """Wall and process CPU seconds (all threads) of ``call()``."""
    wall, cpu = time.perf_counter(), time.process_time()
    call()
    return time.perf_counter() - wall, time.process_time() - cpu


def measure(plan: Plan, n: int, repeats: int) -> dict[str, tuple[float, float]]:
    """Best wall and best CPU seconds of the floor and of both samplers on ``n`` users,
    the three interleaved repeat by repeat so that they see the same load."""
    days = expected_days(plan)
    runs = {"floor": lambda rep, users: run_floor(plan, days, users, rep)}
    for name, aggregate in (("aggregated", True), ("per_user", False)):
        p = dataclasses.replace(plan, aggregate=aggregate)
        runs[name] = lambda rep, users, p=p: simulate_draw(p, rep, np.array([users]))
    for run in runs.values():
        run(0, 20_000)                                     # compile / warm up
    best = {name: (math.inf, math.inf) for name in runs}
    for rep in range(repeats):
        for name, run in runs.items():
            wall, cpu = timed(lambda: run(rep, n))
            best[name] = (min(best[name][0], wall), min(best[name][1], cpu))
    return best


@jit
def _uniform_loop(s, n):
    acc = 0.0
    for _ in range(n):
        acc += uniform(s)
    return acc


def ns_per_uniform(repeats: int) -> float:
    """Core-ns of one ``uniform`` in a tight loop (one thread), best of ``repeats``."""
    s = seeding.chunk_states(1, 0, 0, 1)[0]
    _uniform_loop(s, 10)
    best = math.inf
    for _ in range(repeats):
        t = time.perf_counter()
        _uniform_loop(s, 20_000_000)
        best = min(best, time.perf_counter() - t)
    return best / 20_000_000 * 1e9


@jit
def _variate_loop(s, kind, n, a, b, cap, surv, horizon, guide, cdf_row):
    """n variates of one kind (0 lifetime from the guide table, 1 Gamma(a), 2 Poisson(a) by
    inversion, 3 min(Poisson(a), cap) by inversion, 4 Poisson(b) by PTRS, 5 the capped count
    looked up in ``cdf_row``, 6 lifetime by bisection, 7 Poisson(a) from its
    ``poisson_cdf_row``, built once); returns a checksum."""
    acc = 0.0
    exp_a = math.exp(-a)
    row = np.empty(_ROW_SIZE)
    n_row, whole = poisson_cdf_row(a, exp_a, NO_CAP, _ROW_TAIL, row)
    for _ in range(n):
        if kind == 0:
            acc += _lifetime_guided(s, surv, horizon, guide)
        elif kind == 6:
            acc += _lifetime_from_table(s, surv, horizon)
        elif kind == 7:
            acc += poisson_from_row(uniform(s), row, n_row, whole, a, exp_a, NO_CAP)
        elif kind == 5:
            u = uniform(s)
            for j in range(cdf_row.size):
                acc += u > cdf_row[j]
        elif kind == 1:
            acc += gamma(s, a)
        elif kind == 2:
            acc += poisson_inversion(s, a, exp_a, NO_CAP)
        elif kind == 3:
            acc += poisson_inversion(s, a, exp_a, cap)
        else:
            acc += poisson(s, b)
    return acc


def variate_costs(plan: Plan, repeats: int, n: int = 2_000_000) -> dict[str, float]:
    """Core-ns of each kind of variate at the shape's typical parameters (one thread)."""
    prm = plan.params
    sessions = 1.0 + prm[K.SESS_EXTRA_MEAN]
    cap = np.int64(prm[K.INTERSTITIAL_CAP]) if prm[K.INTERSTITIAL_CAP] >= 0 else NO_CAP
    is_cdf, is_limit = _interstitial_table(prm[K.INTERSTITIAL_RATE], prm[K.INTERSTITIAL_CAP],
                                           np.exp(-prm[K.INTERSTITIAL_RATE]
                                                  * np.arange(_EXP_TABLE)))
    k = int(round(sessions))
    row = is_cdf[k, :max(is_limit[k], 0)] if is_limit.size else np.zeros(0)
    kinds = {"lifetime": (0, 0.0), "(bisection)": (6, 0.0),
             f"gamma({prm[K.SESS_SHAPE]:.2g})": (1, prm[K.SESS_SHAPE]),
             f"pois({prm[K.SESS_EXTRA_MEAN]:.2g})": (2, prm[K.SESS_EXTRA_MEAN]),
             "(row)": (7, prm[K.SESS_EXTRA_MEAN]),
             f"pois({prm[K.INTERSTITIAL_RATE] * sessions:.2g})"
             + (f"<={cap}" if cap != NO_CAP else ""):
                 (3, prm[K.INTERSTITIAL_RATE] * sessions),
             "pois(1e5)": (4, 0.0)}
    if row.size:
        kinds[f"(table, {k} sessions)"] = (5, 0.0)
    guide = _lifetime_guide(plan.survival, plan.horizon)
    s = seeding.chunk_states(1, 0, 0, 1)[0]
    out = {}
    for name, (kind, a) in kinds.items():
        _variate_loop(s, kind, 10, a, 1e5, cap, plan.survival, plan.horizon, guide, row)
        best = math.inf
        for _ in range(repeats):
            t = time.perf_counter()
            _variate_loop(s, kind, n, a, 1e5, cap, plan.survival, plan.horizon, guide, row)
            best = min(best, time.perf_counter() - t)
        out[name] = best / n * 1e9
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("users", nargs="?", type=int, default=2_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args(argv)
    n, threads = args.users, numba.get_num_threads()
    print(f"bench_floor  {datetime.datetime.now():%Y-%m-%d %H:%M}  {cpu_model()}, "
          f"{os.cpu_count()} cores, {threads} Numba threads, load {os.getloadavg()[0]:.2f}")
    print(f"{n:,} users of one cohort per timing, best of {args.repeats}; xoshiro256** "
          f"uniform alone: {ns_per_uniform(args.repeats):.2f} core-ns")
    print(f"{'':<40}{'floor':>16}{'aggregated (default)':>21}{'per_user':>20}")
    print(f"{'shape':<18}{'alive':>6}{'played':>7}{'var/user':>9}{'ns/var':>7}"
          f"{'users/s':>9}{'users/s':>9}{'wall':>6}{'cpu':>6}{'users/s':>9}{'wall':>6}"
          f"{'cpu':>6}")
    for name, (spec, what) in SHAPES.items():
        plan = shape_plan(*spec)
        days = expected_days(plan)
        variates = run_floor(plan, days, n, 0)     # the same count every repeat
        best = measure(plan, n, args.repeats)
        floor = n / best["floor"][0]
        cpu_floor = best["floor"][1]
        line = (f"{name:<18}{days.alive:>6.1f}{days.played:>7.1f}{variates / n:>9.1f}"
                f"{cpu_floor / variates * 1e9:>7.2f}{floor / 1e6:>8.1f}M")
        for sampler in ("aggregated", "per_user"):
            wall, cpu = best[sampler]
            line += f"{n / wall / 1e6:>8.1f}M{n / wall / floor:>6.2f}{cpu_floor / cpu:>6.2f}"
        print(line + f"   ({what})")
    print("core-ns per variate at each shape's typical parameters (one thread):")
    for name, (spec, _) in SHAPES.items():
        costs = variate_costs(shape_plan(*spec), args.repeats)
        print(f"  {name:<18}" + "  ".join(f"{k} {v:.1f}" for k, v in costs.items()))
    print("alive/played: expected days per user (ages 0..horizon); ns/var: process CPU time "
          "(all threads) / variates; wall, cpu: kernel speed / floor speed, by best wall "
          "time and by best CPU time (CPU time is steadier when other processes share the "
          "cores)")


if __name__ == "__main__":
    main()
