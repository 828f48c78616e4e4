"""Benchmark of the simcore kernel: compile and start-up times, users per second, peak memory,
beside a vectorised NumPy reference of the same user model.

    python benchmarks/bench_kernel.py                      # 1M and 10M users (a few minutes)
    python benchmarks/bench_kernel.py --quick              # 200k users, smoke test
    python benchmarks/bench_kernel.py --users 1000000,10000000 --numpy-10m

Scenario: scenarios/backpack_battle_jp.toml (hybrid IAA + IAP, 180-day horizon), loaded with
``simcore.scenario.load_scenario`` and compiled with ``simcore.kinds.game.plan.compile_plan``;
the kernel is timed through ``simcore.kinds.game.simulate.simulate_draw(plan, 0,
np.array([n]))`` (one cohort of n activated users). Start-up and memory figures come from
fresh subprocesses that share one temporary NUMBA_CACHE_DIR (empty at the start, removed at
the end), so nothing is read from or written to the package's own __pycache__. Prints results
only.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCENARIO = ROOT / "scenarios" / "backpack_battle_jp.toml"

TARGET_USERS_PER_S = 5e6
TARGET_RSS_MB = 500.0
TARGET_RSS_USERS = 10_000_000
TARGET_CACHED_START_S = 2.0
TINY_USERS = 1_000
SHORT = {"aggregated": "agg", "per_user": "per-user"}
NUMPY_SEED = 20240601
SANITY_BLOCKS = 40        # batches for the s.e. of the NumPy per-user means
SANITY_BLOCK_MIN = 5_000

# Run in a fresh interpreter: argv = t_spawn (parent's time.time() just before the spawn),
# scenario path, tiny users, big users (0 = none). Prints one JSON line.
_CHILD = r"""
import sys, time
t_python = time.time()
t_spawn = float(sys.argv[1])
import json, resource
import numpy as np
import numba
t_numba = time.time()
from simcore.scenario import load_scenario
from simcore.kinds.game.plan import compile_plan
from simcore.kinds.game.simulate import simulate_draw
t_import = time.time()
plan = compile_plan(load_scenario(sys.argv[2], []).scenario)
t_plan = time.time()
simulate_draw(plan, 0, np.array([int(sys.argv[3])]))
t_first = time.time()
rss = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # kB -> MB (Linux)
res = {"python_s": t_python - t_spawn, "import_s": t_import - t_python,
       "import_numba_s": t_numba - t_python,
       "plan_s": t_plan - t_import, "first_call_s": t_first - t_plan,
       "to_first_result_s": t_first - t_spawn, "rss_base_mb": rss(),
       "threads": numba.get_num_threads(), "aggregate": bool(plan.aggregate)}
big = int(sys.argv[4])
if big:
    t0 = time.perf_counter()
    simulate_draw(plan, 0, np.array([big]))
    res["big_s"] = time.perf_counter() - t0
    res["rss_peak_mb"] = rss()
print(json.dumps(res))
"""


def run_child(cache_dir: str, big_users: int = 0) -> dict:
    """Run ``_CHILD`` in a fresh interpreter with NUMBA_CACHE_DIR = ``cache_dir``."""
    env = dict(os.environ, NUMBA_CACHE_DIR=cache_dir)
    t_spawn = time.time()
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, repr(t_spawn), str(SCENARIO), str(TINY_USERS),
         str(big_users)], env=env, cwd=ROOT, capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"benchmark subprocess failed (exit {proc.returncode})")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def cpu_snapshot():
    """(wall s, busy CPU s of the whole machine or None, CPU s of this process + children)."""
    t = os.times()
    busy = None
    try:
        with open("/proc/stat") as f:
            ticks = [int(x) for x in f.readline().split()[1:]]
        # user nice system idle iowait irq softirq steal ...: busy = all but idle and iowait
        busy = (sum(ticks[:8]) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        pass
    return time.perf_counter(), busy, t.user + t.system + t.children_user + t.children_system


def other_cpu_load(a, b) -> float | None:
    """Average number of cores used by other processes between snapshots ``a`` and ``b``."""
    if a[1] is None or b[1] is None or b[0] <= a[0]:
        return None
    return max(0.0, ((b[1] - a[1]) - (b[2] - a[2])) / (b[0] - a[0]))


def fmt_users(n: int) -> str:
    if n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n % 1_000 == 0:
        return f"{n // 1_000}k"
    return f"{n:,}"


def fmt_rate(r: float) -> str:
    return f"{r / 1e6:.2f}M/s"


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("MET" if ok else "NOT MET")


def best_time(fn, repeats: int):
    """(wall s, cores busy = process CPU s / wall s) of the fastest of ``repeats`` calls of
    ``fn``, and the last result."""
    best = (float("inf"), 0.0)
    out = None
    for _ in range(repeats):
        c0, t0 = time.process_time(), time.perf_counter()
        out = fn()
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
        if wall < best[0]:
            best = (wall, cpu / wall)
    return best, out


def per_user_metrics(sums, n: int, money) -> dict:
    """Per activated user, summed over all ages."""
    from simcore.kernel import layout as K

    tot = sums.sum(axis=-1) / n
    m = {
        "active user-days": tot[K.V_ACTIVE],
        "sessions": tot[K.V_SESSIONS],
        "rewarded impressions": tot[K.V_REWARDED],
        "interstitial impressions": tot[K.V_INTERSTITIAL],
        "purchases": tot[K.V_PURCHASES],
        "IAP gross [USD]": tot[K.V_IAP_GROSS],
        "payers": tot[K.V_NEW_PAYERS],
    }
    m["net revenue [USD]"] = (tot[K.V_REWARDED] * money.rewarded_usd
                              + tot[K.V_INTERSTITIAL] * money.interstitial_usd
                              + tot[K.V_IAP_GROSS] * money.iap_net_share)
    return m


def exact_metrics(plan) -> dict:
    """Closed-form expectations where simcore provides them (empty on any failure)."""
    try:
        import numpy as np

        from simcore.kernel import layout as K
        from simcore.model.iap import mean_purchases, payer_share
        from simcore.model.retention import active_share

        ret, iap, prm = plan.retention, plan.iap, plan.params
        ages = np.arange(plan.horizon + 1)
        days = float(np.sum(active_share(ages, ret.alpha, ret.beta, ret.c,
                                         ret.play_probability)))
        sessions = days * (1.0 + prm[K.SESS_EXTRA_MEAN])
        out = {"active user-days": days, "sessions": sessions,
               "rewarded impressions": sessions * prm[K.REWARDED_RATE]}
        if prm[K.INTERSTITIAL_CAP] < 0:
            out["interstitial impressions"] = sessions * prm[K.INTERSTITIAL_RATE]
        if iap is not None:
            buys = mean_purchases(plan.horizon, iap.r, iap.alpha, ret)
            out["purchases"] = buys
            out["IAP gross [USD]"] = buys * iap.mean_transaction_usd
            out["payers"] = payer_share(plan.horizon, iap.r, iap.alpha, ret)
        return out
    except Exception:  # noqa: BLE001 - the exact column is a convenience only
        return {}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--users", default=None,
                    help="comma-separated kernel sizes (default 1000000,10000000)")
    ap.add_argument("--quick", action="store_true", help="small sizes (200k users), smoke test")
    ap.add_argument("--repeats", type=int, default=None, help="timed kernel calls per size "
                    "(best is reported; default 3, --quick 2)")
    ap.add_argument("--numpy-users", type=int, default=None,
                    help="users for the NumPy reference (default 1000000, --quick 200000)")
    ap.add_argument("--numpy-repeats", type=int, default=2,
                    help="timed NumPy reference runs per size (best is reported; default 2)")
    ap.add_argument("--numpy-10m", action="store_true",
                    help="also time the NumPy reference at 10M users (slow)")
    args = ap.parse_args(argv)

    if args.users:
        sizes = [int(float(s)) for s in args.users.split(",") if s.strip()]
    else:
        sizes = [200_000] if args.quick else [1_000_000, 10_000_000]
    repeats = args.repeats or (2 if args.quick else 3)
    np_sizes = [args.numpy_users or (200_000 if args.quick else 1_000_000)]
    if args.numpy_10m and 10_000_000 not in np_sizes:
        np_sizes.append(10_000_000)

    cpu_start = cpu_snapshot()
    with tempfile.TemporaryDirectory(prefix="simcore-bench-numba-") as cache_dir:
        # Fresh subprocesses first, before this process touches numba or the cache.
        cold = run_child(cache_dir)
        cached = run_child(cache_dir)
        rss = {n: run_child(cache_dir, big_users=n) for n in sizes}

        # This process: same (now filled) cache, so nothing is written into the package.
        os.environ["NUMBA_CACHE_DIR"] = cache_dir
        import numba
        import numpy as np

        sys.path.insert(0, str(Path(__file__).resolve().parent))
        import numpy_reference

        from simcore.kinds.game.plan import compile_plan
        from simcore.kinds.game.simulate import simulate_draw
        from simcore.scenario import load_scenario

        plan_agg = compile_plan(load_scenario(str(SCENARIO), []).scenario)
        plan_agg = dataclasses.replace(plan_agg, aggregate=True)
        plan_per = dataclasses.replace(plan_agg, aggregate=False)
        samplers = {"aggregated": plan_agg, "per_user": plan_per}
        for plan in samplers.values():  # warm: load from cache, first touch of memory
            simulate_draw(plan, 0, np.array([TINY_USERS]))
        try:
            layer = numba.threading_layer()
        except ValueError:
            layer = "?"

        kern = {}   # (sampler, n) -> (best seconds, cores busy, sums[N_VARS, ages])
        for n in sizes:
            for name, plan in samplers.items():
                (t, cores), out = best_time(lambda: simulate_draw(plan, 0, np.array([n])),
                                            repeats)
                kern[name, n] = (t, cores, out[0])

        ref = {}    # n -> (seconds, cores) of the NumPy reference (blocks of 100k users)
        for n in np_sizes:
            ref[n], _ = best_time(lambda: numpy_reference.simulate_users(
                plan_agg.params, plan_agg.tiers, plan_agg.tier_edges, plan_agg.horizon, n,
                seed=NUMPY_SEED), args.numpy_repeats)
        # sanity run (not timed): smaller blocks, so their sums give a batch-means s.e.
        n_cmp = np_sizes[0]
        ref_sums, ref_blocks = numpy_reference.simulate_users(
            plan_agg.params, plan_agg.tiers, plan_agg.tier_edges, plan_agg.horizon, n_cmp,
            seed=NUMPY_SEED + 1, block_users=max(SANITY_BLOCK_MIN, n_cmp // SANITY_BLOCKS),
            return_blocks=True)
        # kernel runs at the NumPy sizes, for the ratio and the sanity check, if not timed yet
        for n in np_sizes:
            for name, plan in samplers.items():
                if (name, n) not in kern:
                    (t, cores), out = best_time(
                        lambda: simulate_draw(plan, 0, np.array([n])), repeats)
                    kern[name, n] = (t, cores, out[0])

    other_cores = other_cpu_load(cpu_start, cpu_snapshot())
    # ------------------------------------------------------------------------------ report
    P = print
    prm = plan_agg.params
    from simcore.kernel import layout as K

    cap = prm[K.INTERSTITIAL_CAP]
    P("simcore kernel benchmark")
    P("  command    " + " ".join([Path(sys.executable).name, "benchmarks/bench_kernel.py",
                                     *(sys.argv[1:] if argv is None else argv)]))
    P(f"  scenario   {SCENARIO.relative_to(ROOT)} (hybrid IAA + IAP, horizon "
      f"{plan_agg.horizon} days, play probability {prm[K.PLAY_PROB]:g}, interstitial cap "
      f"{'none' if cap < 0 else f'{cap:g}/day'}), one cohort, draw 0")
    P(f"  machine    {os.cpu_count()} CPUs, Python {platform.python_version()}, numpy "
      f"{np.__version__}, numba {numba.__version__}; numba threads in use: "
      f"{numba.get_num_threads()} (threading layer {layer})")
    if other_cores is not None:
        P(f"  other load {other_cores:.2f} cores busy on average with other processes during the "
          "benchmark" + (" (figures are pessimistic)" if other_cores > 0.2 else ""))
    P("")

    P("Start-up (fresh subprocesses, NUMBA_CACHE_DIR = one new empty temporary directory)")
    P(f"  cold compile: first kernel call, {TINY_USERS:,} users, empty cache "
      f"{cold['first_call_s']:8.2f} s")
    P(f"  cold start: interpreter start -> first kernel result         "
      f"{cold['to_first_result_s']:8.2f} s")
    ok_start = cached["to_first_result_s"] < TARGET_CACHED_START_S
    P(f"  cached start: interpreter start -> first kernel result       "
      f"{cached['to_first_result_s']:8.2f} s   target < {TARGET_CACHED_START_S:g} s: "
      f"{verdict(ok_start)}")
    P(f"    of which: interpreter {cached['python_s']:.2f} s, imports {cached['import_s']:.2f}"
      f" s (numpy + numba {cached['import_numba_s']:.2f} s), load_scenario + compile_plan "
      f"{cached['plan_s']:.2f} s, first call (cache load + run) {cached['first_call_s']:.2f} s")
    P("")

    P(f"Throughput: activated users per second, simulate_draw(plan, 0, [n]), warm, best of "
      f"{repeats}, {numba.get_num_threads()} numba threads")
    P(f"  {'implementation':<26}{'users':>8}{'best s':>10}{'cores':>7}{'users/s':>11}"
      f"{'vs NumPy':>10}   target >= {TARGET_USERS_PER_S / 1e6:g}M/s")
    for n in sorted({n for _, n in kern}):
        for name in samplers:
            t, cores, _ = kern[name, n]
            rate = n / t
            vs = f"{ref[n][0] / t:.1f}x" if n in ref else ""
            shown = n in sizes
            P(f"  {'kernel, ' + name:<26}{fmt_users(n):>8}{t:>10.3f}{cores:>7.2f}"
              f"{fmt_rate(rate):>11}{vs:>10}   {verdict(rate >= TARGET_USERS_PER_S)}"
              + ("" if shown else "  (extra run for the NumPy comparison)"))
    for n, (t, cores) in ref.items():
        P(f"  {'NumPy reference, 1 proc':<26}{fmt_users(n):>8}{t:>10.3f}{cores:>7.2f}"
          f"{fmt_rate(n / t):>11}{'1.0x':>10}   (blocks of "
          f"{fmt_users(numpy_reference.BLOCK_USERS)} users, best of {args.numpy_repeats})")
    P("  cores = process CPU time / wall time of that run (up to the thread count; "
      "lower means the threads waited for the CPU)")
    P("")

    P("Peak memory (fresh subprocess per size, cached numba, default sampler "
      f"{'aggregated' if cached['aggregate'] else 'per_user'}; ru_maxrss, 1 MB = 2^20 bytes)")
    P(f"  {'users':>8}{'after tiny call':>17}{'peak after run':>16}{'run s':>8}"
      f"   target < {TARGET_RSS_MB:g} MB at {fmt_users(TARGET_RSS_USERS)}")
    for n, r in rss.items():
        tgt = verdict(r["rss_peak_mb"] < TARGET_RSS_MB) if n == TARGET_RSS_USERS else "-"
        P(f"  {fmt_users(n):>8}{r['rss_base_mb']:>14.0f} MB{r['rss_peak_mb']:>13.0f} MB"
          f"{r['big_s']:>8.2f}   {tgt}")
    P("")

    money = plan_agg.money
    m_ref = per_user_metrics(ref_sums, n_cmp, money)
    m_exact = exact_metrics(plan_agg)
    m_kern = {name: per_user_metrics(kern[name, n_cmp][2], n_cmp, money) for name in samplers}
    # batch-means standard error of the NumPy per-user means (blocks of equal size but maybe
    # the last); the kernel's error at the same n is taken to be the same (same model).
    block_metrics = [per_user_metrics(b, m, money) for m, b in ref_blocks]
    nb = len(block_metrics)
    P(f"Sanity: per activated user, summed over ages 0..{plan_agg.horizon} "
      f"({fmt_users(n_cmp)} users each; exact = closed form where simcore has one)")
    P(f"  diff = kernel / NumPy - 1; z = (kernel - NumPy) / (sqrt(2) x NumPy batch-means "
      f"s.e., {nb} batches); |z| < 3 expected")
    hdr = f"  {'quantity':<26}{'exact':>10}{'NumPy':>10}"
    for name in samplers:
        hdr += f"{'kernel ' + SHORT[name]:>17}{'diff %':>8}{'z':>6}"
    P(hdr)
    for key, v_ref in m_ref.items():
        line = f"  {key:<26}"
        line += f"{m_exact[key]:>10.4f}" if key in m_exact else f"{'-':>10}"
        line += f"{v_ref:>10.4f}"
        se = None
        if nb >= 2:
            se = float(np.std([b[key] for b in block_metrics], ddof=1)) / np.sqrt(nb)
        for name in samplers:
            v = m_kern[name][key]
            d = v / v_ref - 1.0 if v_ref else float("nan")
            z = (v - v_ref) / (np.sqrt(2.0) * se) if se else float("nan")
            line += f"{v:>17.4f}{100 * d:>+8.2f}{z:>+6.1f}"
        P(line)
    P("")

    big = max(sizes)
    P("Targets (spec)")
    for name in samplers:
        rate = big / kern[name, big][0]
        P(f"  >= {TARGET_USERS_PER_S / 1e6:g}M users/s, kernel {name:<11} at {fmt_users(big):>4}"
          f" users   {fmt_rate(rate):>10}   {verdict(rate >= TARGET_USERS_PER_S)}")
    if TARGET_RSS_USERS in rss:
        peak = rss[TARGET_RSS_USERS]["rss_peak_mb"]
        P(f"  peak RSS < {TARGET_RSS_MB:g} MB at {fmt_users(TARGET_RSS_USERS)} users"
          f"{'':>17}{peak:>7.0f} MB   {verdict(peak < TARGET_RSS_MB)}")
    else:
        P(f"  peak RSS < {TARGET_RSS_MB:g} MB at {fmt_users(TARGET_RSS_USERS)} users"
          f"{'':>17}{'-':>10}   n/a (not run at {fmt_users(TARGET_RSS_USERS)})")
    P(f"  cached start < {TARGET_CACHED_START_S:g} s{'':>30}"
      f"{cached['to_first_result_s']:>8.2f} s   {verdict(ok_start)}")
    if args.quick or big < TARGET_RSS_USERS:
        P(f"  (throughput measured at {fmt_users(big)} users; the spec's sizes are 1M and 10M)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
