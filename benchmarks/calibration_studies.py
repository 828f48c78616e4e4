"""Calibration validation studies (issue 14): narrowing, misspecification and a real backtest.

    python benchmarks/calibration_studies.py narrowing --reps 12 --particles 300 --draws 100
    python benchmarks/calibration_studies.py misspecified --reps 30 --particles 200 --draws 100
    python benchmarks/calibration_studies.py backtest --particles 1000 --draws 400

* ``narrowing``: R truths from the prior of SCENARIO (default reborn_emperor_us at $2,000/day,
  a 14-day campaign), each with the discrepancy noise the observation model assumes (as in
  benchmarks/calibration_sbc.py), calibrated on its first 2, 4, 7 and 14 days. Per day count:
  the mean width of the central 80 % interval of paid ROAS at D30/D90/D180, the mean
  |forecast median - truth| / truth, the 80 % coverage, and the mean posterior sd of
  retention.d1/d7/d30/d90 relative to their prior sd.
* ``misspecified``: coverage of the 50/80/95 % intervals of paid ROAS at D30/D90/D180 and the
  share of replications whose checks flag a misfit (any ppc_p < 0.01, or a prior-conflict
  warning) under truths the model does not contain: ``sbg`` (the scenario calibrated with a
  shifted-beta-geometric retention model while the truth is simulated with the scenario's
  beta-discrete-Weibull) and ``ecpm`` (the truth's ad revenue x 0.6 from calendar day 4 on,
  before the report is cut), beside ``well`` (the same pipeline with a well-specified truth,
  so the flag rate there is the checks' false-alarm rate). These truths carry no extra
  discrepancy noise (the only misfit is the one named). The seeds are shared across arms,
  so the arms differ only in what is wrong.
* ``backtest``: the published survivors of a 1000-customer cohort by year (Fader & Hardie
  2007, benchmarks/data/fader_hardie_2007_retention.csv), year -> age in days; a one-cohort
  sBG scenario with wide priors on d1 and d7 and no revenue is calibrated on ages 0-7 and
  forecasts ages 8-12, with and without the discrepancy term.

``--jobs`` runs replications in that many processes (each single-threaded). Default sizes take
about 8-11 minutes each on 2 idle cores (a calibration of the 7-14 day report: 15-25 s).
"""

import argparse
import json
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SCENARIO = "scenarios/reborn_emperor_us.toml"
AGES = (30, 90, 180)
LEVELS = (0.5, 0.8, 0.95)
RETENTION = ("retention.d1", "retention.d7", "retention.d30", "retention.d90")
PPC_ALPHA = 0.01
ECPM_DROP, ECPM_DAY = 0.6, 4
DATA = HERE / "data" / "fader_hardie_2007_retention.csv"
FIT_AGES, HELD_OUT = 7, (8, 9, 10, 11, 12)


# ----------------------------------------------------------------------------- shared
def _interval(values: np.ndarray, level: float, axis=0):
    return np.quantile(values, [(1 - level) / 2, (1 + level) / 2], axis=axis)


def _load(path, overrides, seed):
    import simcore

    return simcore.load_scenario(path, overrides=(*overrides, f"simulation.seed={seed}"))


def _run_tasks(fn, tasks, jobs):
    if jobs <= 1:
        return [fn(t) for t in tasks]
    with ProcessPoolExecutor(jobs) as pool:
        return list(pool.map(fn, tasks))


def _header(name, a, overrides, n, elapsed, extra=""):
    print(f"{name} of {a.scenario} {' '.join(overrides)}: {n} replications, {a.particles} "
          f"particles, {a.draws} forecast draws{extra}, {elapsed:.0f} s ({a.jobs} jobs)")
    print("command: python " + " ".join(sys.argv))


def _truth(loaded, seed_limit=50):
    """A truth from the prior (draw 0 of ``loaded``'s seed), skipping truths whose values do
    not compile: returns (loaded with the seed used, truth dataset)."""
    import simcore
    from simcore.errors import ScenarioError
    from simcore.scenario import scenario_from_text

    base = loaded.scenario.simulation.seed
    for r in range(seed_limit):
        one = scenario_from_text(loaded.text, loaded.source,
                                 (*loaded.overrides, f"simulation.seed={base + r}"))
        try:
            return one, simcore.run(one, draws=np.array([0]))    # the values compile
        except ScenarioError:
            continue
    raise RuntimeError("no valid truth in 50 seeds")


# ----------------------------------------------------------------------------- narrowing
def _narrow_one(task):
    path, overrides, seed, day_list, particles, draws = task
    import simcore
    from simcore import seeding
    from simcore.data.observed import from_run
    from simcore.errors import ScenarioError
    from simcore.studies.calibration import sbc

    for r in range(50):
        loaded = _load(path, overrides, seed + r)
        rng = seeding.draw_rng(seeding.CALIBRATION, loaded.scenario.simulation.seed, 2)
        try:
            # the whole campaign's report, with the model's discrepancy noise; shorter
            # reports are its first days, so every day count sees the same truth
            truth, _ = sbc.truth_and_report(loaded, max(day_list), rng)
            break
        except ScenarioError:
            continue
    true_roas = truth["roas_paid"].sel(draw=truth.draw[0], age=list(AGES)).values
    out = []
    for days in day_list:
        fc = simcore.calibrate(loaded, from_run(truth, int(truth.draw[0]), days),
                               particles=particles, draws=draws)
        roas = fc["roas_paid"].sel(age=list(AGES)).values
        lo, hi = _interval(roas, 0.8)
        med = np.median(roas, axis=0)
        sd = [float(fc[f"posterior_{k}"].std() / fc[f"prior_{k}"].std()) for k in RETENTION]
        out.append({"days": days, "width80": hi - lo, "err": np.abs(med - true_roas) / true_roas,
                    "cover80": (lo <= true_roas) & (true_roas <= hi), "sd_ratio": np.array(sd)})
    return out


def narrowing(a, overrides):
    days = tuple(int(d) for d in a.days.split(","))
    tasks = [(a.scenario, overrides, a.seed + 1000 * r, days, a.particles, a.draws)
             for r in range(a.reps)]
    t0 = time.time()
    reps = _run_tasks(_narrow_one, tasks, a.jobs)
    _header("Narrowing", a, overrides, len(reps), time.time() - t0)
    print(f"{'days':>4s} | {'80 % width of paid ROAS':^26s} | {'|median - truth| / truth':^26s}"
          f" | {'80 % cover':^17s} | {'posterior sd / prior sd':^27s}")
    print(f"{'':4s} | " + " ".join(f"{'D' + str(g):>8s}" for g in AGES) + " | "
          + " ".join(f"{'D' + str(g):>8s}" for g in AGES) + " | "
          + " ".join(f"{'D' + str(g):>5s}" for g in AGES) + " | "
          + " ".join(f"{k.split('.')[1]:>6s}" for k in RETENTION))
    for i, d in enumerate(days):
        rows = [r[i] for r in reps]
        w = np.mean([x["width80"] for x in rows], axis=0)
        e = np.mean([x["err"] for x in rows], axis=0)
        c = np.mean([x["cover80"] for x in rows], axis=0)
        s = np.mean([x["sd_ratio"] for x in rows], axis=0)
        print(f"{d:4d} | " + " ".join(f"{v:8.3f}" for v in w) + " | "
              + " ".join(f"{v * 100:7.1f}%" for v in e) + " | "
              + " ".join(f"{v * 100:4.0f}%" for v in c) + " | "
              + " ".join(f"{v:6.2f}" for v in s))
    return 0


# ----------------------------------------------------------------------------- misspecified
def ecpm_drop(truth, factor: float = ECPM_DROP, day: int = ECPM_DAY):
    """``truth`` with its ad revenue x ``factor`` in every cell of calendar day >= ``day``
    (cohort + age >= day), revenue by channel and the outcomes recomputed."""
    from simcore.data.dataset import add_outcomes
    from simcore.model.channels import CHANNELS

    ds = truth.drop_vars(["roas", "roas_paid", "cpa", "payback_day"]).copy(deep=True)
    calendar = ds["cohort"].values[:, None] + ds["age"].values[None, :]
    scale = np.where(calendar >= day, factor, 1.0)[None]
    old = ds["revenue_iaa"].values.copy()
    ds["revenue_iaa"].values[:] = old * scale
    paid = CHANNELS.index("paid_ads")
    others = np.delete(ds["revenue_by_channel"].values, paid, axis=1)
    if np.any(others != 0):
        raise ValueError("ecpm_drop assumes every user is a paid one (no organic revenue)")
    ds["revenue_by_channel"].values[:, paid] = (ds["revenue_iaa"] + ds["revenue_iap"]).sum(
        "cohort").values
    return add_outcomes(ds)


def _flags(fc):
    p = fc["ppc_p"].values
    warnings = json.loads(fc.attrs["calibration"])["warnings"]
    return bool(np.nanmin(p) < PPC_ALPHA), bool(warnings)


def _misfit_one(task):
    arm, path, overrides, seed, days, particles, draws = task
    import simcore
    from simcore.data.observed import from_run

    loaded, truth = _truth(_load(path, overrides, seed))
    model = loaded
    if arm == "sbg":
        model = simcore.load_scenario(path, overrides=(*loaded.overrides,
                                                       'retention.model="sbg"'))
    elif arm == "ecpm":
        truth = ecpm_drop(truth)
    report = from_run(truth, int(truth.draw[0]), days)
    fc = simcore.calibrate(model, report, particles=particles, draws=draws)
    true_roas = truth["roas_paid"].sel(draw=truth.draw[0], age=list(AGES)).values
    roas = fc["roas_paid"].sel(age=list(AGES)).values
    covered = np.zeros((len(AGES), len(LEVELS)), dtype=bool)
    for j, level in enumerate(LEVELS):
        lo, hi = _interval(roas, level)
        covered[:, j] = (lo <= true_roas) & (true_roas <= hi)
    ppc, warn = _flags(fc)
    tau = float(np.median(fc["posterior_discrepancy.active_users"])), float(
        np.median(fc["posterior_discrepancy.revenue"]))
    return {"arm": arm, "covered": covered, "bias": np.median(roas, axis=0) / true_roas - 1,
            "ppc": ppc, "warn": warn, "p": fc["ppc_p"].values, "tau": tau}


def misspecified(a, overrides):
    arms = a.arms.split(",")
    tasks = [(arm, a.scenario, overrides, a.seed + 1000 * r, a.days, a.particles, a.draws)
             for arm in arms for r in range(a.reps)]
    t0 = time.time()
    results = _run_tasks(_misfit_one, tasks, a.jobs)
    _header("Misspecification", a, overrides, a.reps, time.time() - t0,
            f", first {a.days} days reported, arms {','.join(arms)}")
    names = {"well": "well-specified (same pipeline)",
             "sbg": "sBG model, BdW truth",
             "ecpm": f"eCPM x{ECPM_DROP} from day {ECPM_DAY}"}
    se = np.sqrt(np.array(LEVELS) * (1 - np.array(LEVELS)) / a.reps)
    print(f"binomial se of coverage at R={a.reps}: "
          + ", ".join(f"{int(l * 100)} %: {s * 100:.1f}" for l, s in zip(LEVELS, se)))
    print(f"{'arm':32s} {'ROAS':5s}" + "".join(f" {int(l * 100):>4d} %" for l in LEVELS)
          + "  median bias  flagged (ppc | warning | either)  median tau act/rev")
    fails = []
    for arm in arms:
        rows = [r for r in results if r["arm"] == arm]
        cov = np.mean([r["covered"] for r in rows], axis=0)
        bias = np.median([r["bias"] for r in rows], axis=0)
        ppc = np.mean([r["ppc"] for r in rows])
        warn = np.mean([r["warn"] for r in rows])
        either = np.mean([r["ppc"] or r["warn"] for r in rows])
        tau = np.median([r["tau"] for r in rows], axis=0)
        for i, age in enumerate(AGES):
            flag = (f"  {ppc * 100:4.0f}% | {warn * 100:4.0f}% | {either * 100:4.0f}%"
                    f"          {tau[0]:.3f}/{tau[1]:.3f}") if i == 0 else ""
            print(f"{names.get(arm, arm) if i == 0 else '':32s} D{age:<4d}"
                  + "".join(f" {c * 100:5.0f}%" for c in cov[i])
                  + f"  {bias[i] * 100:+9.1f}%" + flag)
            for j, level in enumerate(LEVELS):
                if cov[i, j] < level - 2 * se[j]:
                    fails.append(f"{names.get(arm, arm)}: D{age} {int(level * 100)} % interval "
                                 f"covers {cov[i, j] * 100:.0f}% (< nominal - 2 se)")
        worst = np.array([r["p"] for r in rows])          # [rep, series, statistic]
        print(f"{'':32s} share with ppc_p < {PPC_ALPHA} by series x (squares, trend): "
              + ", ".join(f"{np.mean(worst[:, s, t] < PPC_ALPHA) * 100:.0f}%"
                          for s in range(worst.shape[1]) for t in range(worst.shape[2])))
    print("coverage failures (below nominal by more than 2 binomial se):")
    for line in fails or ["none"]:
        print("  " + line)
    return 0


# ----------------------------------------------------------------------------- backtest
BACKTEST_SCENARIO = """
[title]
name = "Backtest: Fader & Hardie (2007) {segment}"
genre = "puzzle"
monetization = "iaa"

[simulation]
seed = {seed}
draws = 20
horizon_days = 12

[campaign]
region = "US"
days = 1
daily_budget_usd = 1000.0
bidding = "target_cpa"
target_cpa_usd = 1.0

[retention]
model = "sbg"
daily_play_probability = 1.0
d1 = {{ dist = "uniform", low = 0.3, high = 0.95 }}
d7 = {{ dist = "uniform", low = 0.1, high = 0.7 }}

[engagement]
sessions_per_day = 1.0

[ads]
rewarded_per_session = 0.0
interstitial_per_session = 0.0
ecpm_rewarded_usd = 10.0
ecpm_interstitial_usd = 5.0
fill_rate_rewarded = 0.9
fill_rate_interstitial = 0.9
developer_share = 0.7
"""


def read_survivors(path=DATA) -> dict[str, np.ndarray]:
    """Survivors by year [0..12] per segment from the CSV (``#`` lines are comments)."""
    rows = [line.split(",") for line in Path(path).read_text().splitlines()
            if line and not line.startswith("#")][1:]
    out: dict[str, list] = {}
    for segment, year, survivors in rows:
        out.setdefault(segment, []).append((int(year), float(survivors)))
    return {k: np.array([s for _, s in sorted(v)]) for k, v in out.items()}


def backtest(segment: str, *, particles: int, draws: int, discrepancy: bool = True,
             seed: int = 7, survivors: np.ndarray | None = None) -> dict:
    """Calibrate the one-cohort sBG scenario on ages 0..FIT_AGES of ``segment``'s survivors
    (year -> age in days) and forecast the held-out ages: returns the actual survivors,
    the forecast median, 80 % and 95 % intervals [held-out age] and the posterior d1, d7."""
    import simcore
    from simcore.data.observed import observed_dataset
    from simcore.scenario import scenario_from_text

    survivors = read_survivors()[segment] if survivors is None else survivors
    loaded = scenario_from_text(BACKTEST_SCENARIO.format(segment=segment, seed=seed),
                                f"backtest_{segment}.toml")
    seen = survivors[:FIT_AGES + 1]
    zeros = np.zeros((1, FIT_AGES + 1))
    report = observed_dataset([float(survivors[0])], [float(survivors[0])],
                              {"active_users": seen[None, :], "revenue": zeros},
                              [FIT_AGES], [0], {"source": f"Fader & Hardie (2007), {segment}",
                                                "layout": "long", "last_day": FIT_AGES})
    fc = simcore.calibrate(loaded, report, particles=particles, draws=draws,
                           discrepancy=discrepancy)
    sim = fc["active_users"].sel(cohort=0, age=list(HELD_OUT)).values    # [draw, age]
    out = {"actual": survivors[list(HELD_OUT)], "median": np.median(sim, axis=0),
           "d1": fc["posterior_retention.d1"].values, "d7": fc["posterior_retention.d7"].values,
           "ppc_p": fc["ppc_p"].values,
           "warnings": json.loads(fc.attrs["calibration"])["warnings"]}
    for level in (0.8, 0.95):
        out[level] = _interval(sim, level)
    out["error"] = np.abs(out["median"] - out["actual"]) / out["actual"]
    return out


def _backtest_one(task):
    segment, particles, draws, discrepancy, seed = task
    return segment, discrepancy, backtest(segment, particles=particles, draws=draws,
                                          discrepancy=discrepancy, seed=seed)


def backtest_study(a):
    segments = tuple(read_survivors())
    tasks = [(s, a.particles, a.draws, d, a.seed) for d in (True, False) for s in segments]
    t0 = time.time()
    results = _run_tasks(_backtest_one, tasks, a.jobs)
    print(f"Backtest on Fader & Hardie (2007) survivors (years as ages in days): fit ages "
          f"0-{FIT_AGES}, predict {HELD_OUT[0]}-{HELD_OUT[-1]}; {a.particles} particles, "
          f"{a.draws} forecast draws, seed {a.seed}, {time.time() - t0:.0f} s ({a.jobs} jobs)")
    print("command: python " + " ".join(sys.argv))
    for segment, discrepancy, r in results:
        print(f"\n{segment}, discrepancy {'on' if discrepancy else 'off'}: posterior d1 "
              f"{np.median(r['d1']):.3f} [{np.quantile(r['d1'], 0.05):.3f}, "
              f"{np.quantile(r['d1'], 0.95):.3f}], d7 {np.median(r['d7']):.3f} "
              f"[{np.quantile(r['d7'], 0.05):.3f}, {np.quantile(r['d7'], 0.95):.3f}]; "
              f"min ppc_p {np.nanmin(r['ppc_p']):.3f}; warnings {len(r['warnings'])}")
        print(f"  {'year':>4s} {'actual':>6s} {'median':>7s} {'abs err':>7s} "
              f"{'80 % interval':>15s} {'95 % interval':>15s}")
        for i, age in enumerate(HELD_OUT):
            print(f"  {age:4d} {r['actual'][i]:6.0f} {r['median'][i]:7.1f} "
                  f"{r['error'][i] * 100:6.1f}% "
                  + " ".join(f"{'[' + f'{r[l][0, i]:.0f}, {r[l][1, i]:.0f}' + ']':>15s}"
                             for l in (0.8, 0.95)))
        cover = {l: int(np.sum((r[l][0] <= r["actual"]) & (r["actual"] <= r[l][1])))
                 for l in (0.8, 0.95)}
        print(f"  covered: 80 % {cover[0.8]}/{len(HELD_OUT)}, 95 % {cover[0.95]}/"
              f"{len(HELD_OUT)}; mean abs error {r['error'].mean() * 100:.1f}%")
    return 0


# ----------------------------------------------------------------------------- main
def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="study", required=True)
    for name, reps, days, default_set in (
            ("narrowing", 12, "2,4,7,14", ("campaign.daily_budget_usd=2000", "campaign.days=14")),
            ("misspecified", 30, "7", ("campaign.daily_budget_usd=2000", "campaign.days=7")),
            ("backtest", 0, "", ())):
        s = sub.add_parser(name)
        s.add_argument("--particles", type=int,
                       default={"backtest": 1000, "narrowing": 300, "misspecified": 200}[name])
        s.add_argument("--draws", type=int, default=400 if name == "backtest" else 100)
        s.add_argument("--jobs", type=int, default=2)
        s.add_argument("--seed", type=int, default=7 if name == "backtest" else 1000)
        if name != "backtest":
            s.add_argument("scenario", nargs="?", default=SCENARIO)
            s.add_argument("--set", dest="overrides", action="append", default=None)
            s.add_argument("--reps", type=int, default=reps)
            s.add_argument("--days", type=type(days) if name == "narrowing" else int,
                           default=days if name == "narrowing" else int(days),
                           help="calendar days reported" + (" (comma-separated)"
                                                            if name == "narrowing" else ""))
            s.set_defaults(default_set=default_set)
        if name == "misspecified":
            s.add_argument("--arms", default="well,sbg,ecpm")
    a = p.parse_args()
    os.environ.setdefault("NUMBA_NUM_THREADS", "1")
    os.chdir(ROOT)
    if a.study == "backtest":
        return backtest_study(a)
    overrides = tuple(a.overrides) if a.overrides is not None else a.default_set
    return {"narrowing": narrowing, "misspecified": misspecified}[a.study](a, overrides)


if __name__ == "__main__":
    sys.exit(main())
