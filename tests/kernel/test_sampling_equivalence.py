"""The aggregated sampler has the same distribution as the plain per-user model.

Five scenario shapes, one per branch of the aggregated kernel (users grouped by lifetime; a
per-day interstitial cap; intermittent play; the grouped path with negative-binomial purchases;
intermittent play with a cap and purchases). Each sampler simulates R = 8,000 independent
cohorts of 200 users (one draw, one random stream per cohort; the samplers on different draws).
Per cohort: active users and net revenue [USD] at ages 0, 1, 7, 30, 60; totals over ages 0..60
of every kernel variable and of net revenue; ROAS at D7 and D30 (net revenue through the age /
a fixed spend of 1 USD a user). Between the samplers, per statistic:
  * means: Welch z;
  * spread: the Brown-Forsythe z (median-centred Levene; needs only a finite variance) and
    Mood's rank z of scale (exact permutation moments; valid whatever the tails);
  * dependence between ages: the difference of Spearman correlations of (active D1, D7),
    (active D7, D30), (ROAS D7, ROAS D30), (ROAS D7, revenue D8-D60), bootstrap standard errors.
Every |z| is held to one Bonferroni threshold: false-alarm probability 1e-3 over all ~300
comparisons of the module, |z| <= 4.63 (4.66 for the shapes with purchases).

Power against a 20 % variance error (one sampler's deviations scaled by sqrt(1.2) about their
mean), R = 8,000, |z| <= 4.66: 0.998 for normal replicate statistics (Brown-Forsythe,
``equivalence_stats.normal_power``; ``test_normal_theory_power``). Simulated on the replicates
observed here (two samples resampled from the aggregated ones, one inflated, 100 experiments;
``test_power``, slow): 0.99-1.00 for every statistic of every shape (either spread test). The
rank test matters for per-age revenue with purchases (a few $0.99-$99.99 purchases among 200
users, excess kurtosis up to ~140): there Brown-Forsythe alone has power 0.58-0.65 at D0 and
0.00-0.05 at D1-D60, Mood's test 1.00. ``test_negative_controls`` checks that the comparison
rejects an inflated-variance and an ages-shuffled copy of the per-user sampler.
"""

from __future__ import annotations

import dataclasses
import re

import numba
import numpy as np
import pytest
from scipy import stats

from simcore.kernel import layout as K
from simcore.kinds.game.plan import Plan, compile_loaded
from simcore.kinds.game.simulate import simulate_draw
from simcore.scenario import load_scenario, packaged_scenarios, scenario_from_text
from tests import equivalence_stats as st

HORIZON = 60                       # last age followed [days]
AGES = (0, 1, 7, 30, HORIZON)      # ages whose per-age sums are compared [days]
ROAS_AGES = (7, 30)                # ROAS(d) = net revenue through age d / spend
SPEND_PER_USER_USD = 1.0           # fixed spend per activation [USD]
N_USERS = 200                      # users per replicate cohort
N_REPS = 8_000                     # replicates per sampler: power 0.998 against a 20 %
                                   # variance error (normal statistics), module docstring
FAMILY_ALPHA = 1e-3                # P(any false alarm) over all comparisons of all shapes
VARIANCE_ERROR = 1.2               # the variance ratio the spread tests must detect
POWER_FLOOR = 0.9                  # simulated power each statistic must reach (test_power)
VAR_NAMES = {getattr(K, n): n[2:].lower() for n in dir(K) if n.startswith("V_")}

# shape -> (packaged scenario, --set overrides, [ads] keys removed: --set cannot unset one)
CASES = {
    # every alive day played, no cap: users grouped by lifetime, Gamma-sum session rates
    "iaa_grouped": ("reborn_emperor_us", (), ("interstitial_cap_per_day",)),
    # every day played, interstitials capped per day: per played user-day draws
    "iaa_capped": ("brain_puzzle_us", (), ()),
    # intermittent play, no cap: session rates summed per age, one Poisson per age
    "iaa_intermittent": ("reborn_emperor_us", ("retention.daily_play_probability=0.7",),
                         ("interstitial_cap_per_day",)),
    # hybrid, every day played, no cap: the grouped path with negative-binomial purchases
    "hybrid_grouped": ("backpack_battle_jp", ("retention.daily_play_probability=1.0",),
                       ("interstitial_cap_per_day",)),
    # hybrid as shipped: intermittent play, capped interstitials, purchases on played days
    "hybrid_capped": ("backpack_battle_jp", (), ()),
}
# statistics whose rank correlation across cohorts must agree: the dependence between ages
# within a user (lifetime, session rate, purchase rate) that a sampler must keep
PAIRS = (("active@D1", "active@D7"), ("active@D7", "active@D30"),
         ("ROAS D7", "ROAS D30"), ("ROAS D7", f"revenue D8-D{HORIZON}"))


def case_plan(case: str, sampling: str) -> Plan:
    """The plan of a shape with ``simulation.sampling`` = ``sampling``, horizon ``HORIZON``."""
    name, sets, drop = CASES[case]
    sets = (*sets, f"simulation.horizon_days={HORIZON}", f"simulation.sampling={sampling}")
    if not drop:
        loaded = load_scenario(name, sets)
    else:
        text = packaged_scenarios()[name].read_text(encoding="utf-8")
        for key in drop:
            text, found = re.subn(rf"(?m)^{key}\s*=.*$", "", text)
            assert found == 1, key
        loaded = scenario_from_text(text, name, sets)
    plan = compile_loaded(loaded)
    assert plan.aggregate == (sampling == "aggregated")
    return plan


def replicates(case: str, sampling: str, n_reps: int = N_REPS) -> np.ndarray:
    """Kernel sums [rep, var, age] of ``n_reps`` independent cohorts of ``N_USERS`` users.

    Cohort i of draw d has its own random streams; the aggregated sampler runs draw 0 and the
    per-user sampler draw 1, so the two samples are independent."""
    draw = {"aggregated": 0, "per_user": 1}[sampling]
    plan = case_plan(case, sampling)
    # one Numba thread: thousands of tiny cohorts make many short parallel calls whose thread
    # start and wait cost more than they share out (the sums do not depend on threads)
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        return simulate_draw(plan, draw, np.full(n_reps, N_USERS))
    finally:
        numba.set_num_threads(threads)


def statistics(sums: np.ndarray, plan: Plan) -> dict[str, np.ndarray]:
    """Per-cohort statistics [rep] from kernel sums [rep, var, age]: active users and net
    revenue [USD] at ``AGES``, totals over ages 0..horizon of each kernel variable and of
    revenue [USD], ROAS at ``ROAS_AGES`` and revenue after D7 [USD]."""
    revenue = plan.money.net_revenue(sums)               # [rep, age] USD
    through = np.cumsum(revenue, axis=1)
    spend = N_USERS * SPEND_PER_USER_USD                 # USD per cohort
    out = {}
    for age in AGES:
        out[f"active@D{age}"] = sums[:, K.V_ACTIVE, age]
        out[f"revenue@D{age}"] = revenue[:, age]
    for v, name in sorted(VAR_NAMES.items()):
        out[f"total {name}"] = sums[:, v, :].sum(axis=1)
    out["total revenue"] = through[:, -1]
    for age in ROAS_AGES:
        out[f"ROAS D{age}"] = through[:, age] / spend
    out[f"revenue D8-D{HORIZON}"] = through[:, -1] - through[:, 7]
    return out


def critical_z(n_tests: int) -> float:
    """The Bonferroni threshold of one shape's ``n_tests`` comparisons: FAMILY_ALPHA is
    shared equally by the shapes (CASES), so the whole module's false-alarm probability is
    at most FAMILY_ALPHA."""
    return st.bonferroni_z(n_tests * len(CASES), FAMILY_ALPHA)


def compare(a: dict[str, np.ndarray], b: dict[str, np.ndarray], seed: int = 0,
            ) -> tuple[list[tuple[str, str]], int]:
    """Every comparison of two samples of ``statistics``: the failures as (kind, one line with
    figures), kind "mean", "spread", "dependence" or "constant", and the number of tests."""
    names = list(a)
    x = np.column_stack([a[n] for n in names])
    y = np.column_stack([b[n] for n in names])
    constant = (x.var(axis=0) == 0.0) & (y.var(axis=0) == 0.0)
    n_tests = 3 * int((~constant).sum()) + len(PAIRS)
    z_crit = critical_z(n_tests)
    mean_z, bf_z, mood_z = st.welch_z(x, y), st.brown_forsythe_z(x, y), st.mood_z(x, y)
    failures = []
    for i, n in enumerate(names):
        if constant[i]:
            if x[0, i] != y[0, i]:
                failures.append(("constant", f"{n}: {x[0, i]} vs {y[0, i]}"))
            continue
        if abs(mean_z[i]) > z_crit:
            failures.append(("mean", f"{n}: means {x[:, i].mean():.6g} vs {y[:, i].mean():.6g}"
                             f" (Welch z {mean_z[i]:.2f}, limit {z_crit:.2f})"))
        if max(abs(bf_z[i]), abs(mood_z[i])) > z_crit:
            failures.append(("spread", f"{n}: variances {x[:, i].var():.6g} vs "
                             f"{y[:, i].var():.6g} (Brown-Forsythe z {bf_z[i]:.2f}, Mood z "
                             f"{mood_z[i]:.2f}, limit {z_crit:.2f})"))
    rng = np.random.default_rng(seed)
    for p, q in PAIRS:
        z = st.spearman_diff_z((a[p], a[q]), (b[p], b[q]), rng)
        if abs(z) > z_crit:
            failures.append(("dependence", f"Spearman {p} ~ {q}: {st.spearman(a[p], a[q]):.4f}"
                             f" vs {st.spearman(b[p], b[q]):.4f} (z {z:.2f}, limit "
                             f"{z_crit:.2f})"))
    return failures, n_tests


@dataclasses.dataclass(frozen=True)
class Shape:
    """Both samplers' replicates of one shape: statistics a (aggregated), b (per-user), and
    the per-user kernel sums [rep, var, age] the negative controls tamper with."""

    case: str
    plan: Plan
    a: dict
    b: dict
    per_user: np.ndarray


def simulate_shape(case: str, n_reps: int = N_REPS) -> Shape:
    """Both samplers' replicates of shape ``case`` and their statistics."""
    plan = case_plan(case, "aggregated")
    per_user = replicates(case, "per_user", n_reps)
    return Shape(case, plan, statistics(replicates(case, "aggregated", n_reps), plan),
                 statistics(per_user, plan), per_user)


@pytest.fixture(scope="module", params=list(CASES))
def shape(request) -> Shape:
    """One shape's replicates, simulated once for all the tests of this module (pytest runs
    the tests of one shape together, so one shape's arrays, ~40 MB, are held at a time)."""
    return simulate_shape(request.param)


def test_samplers_have_the_same_distribution(shape):
    """Means, spreads and dependence between ages of every statistic agree."""
    failures, _ = compare(shape.a, shape.b)
    assert not failures, f"{shape.case}: " + "; ".join(line for _, line in failures)
    # only what is constant by construction escaped the comparison
    constant = {n for n in shape.a if shape.a[n].var() == 0.0 and shape.b[n].var() == 0.0}
    no_iap = {"total purchases", "total iap_gross", "total new_payers"}
    assert constant == {"active@D0"} | (no_iap if shape.plan.iap is None else set())


def test_negative_controls(shape):
    """The comparison itself has power: a per-user sampler with 20 % more variance, or with
    its ages drawn independently of each other, is rejected."""
    a, plan = shape.a, shape.plan
    failures, _ = compare(a, statistics(st.inflate(shape.per_user, VARIANCE_ERROR), plan))
    spread = {line.split(":")[0] for kind, line in failures if kind == "spread"}
    compared = [n for n in a if a[n].var() > 0.0]
    # each statistic's power is >= POWER_FLOOR (test_power): most of them must be caught
    assert len(spread) >= len(compared) // 2, (shape.case, sorted(spread))
    assert not [f for f in failures if f[0] == "mean"]  # inflation keeps the means

    shuffled = st.shuffle_ages(shape.per_user, np.random.default_rng(1))
    failures, _ = compare(a, statistics(shuffled, plan))
    lines = [line for _, line in failures]
    for p, q in PAIRS[:2]:  # active users at two ages: strongly dependent within a user
        assert any(line.startswith(f"Spearman {p} ~ {q}") for line in lines), lines
    assert any(line.startswith("total revenue: variances") for line in lines), lines


def test_statistics_match_scipy():
    """The vectorised tests agree with scipy's: Mood's z (ties included) with
    ``scipy.stats.mood``; for equal sample sizes the Welch and pooled t coincide, so the
    Brown-Forsythe z squared is ``scipy.stats.levene(center="median")``'s statistic."""
    rng = np.random.default_rng(0)
    a = np.column_stack([rng.poisson(3.0, 400), rng.lognormal(0.0, 2.0, 400)])
    b = np.column_stack([rng.poisson(3.0, 400) * 1.2, rng.lognormal(0.0, 2.2, 400)])
    mood, bf = st.mood_z(a, b), st.brown_forsythe_z(a, b)
    for i in range(2):
        assert mood[i] == pytest.approx(stats.mood(a[:, i], b[:, i]).statistic, rel=1e-10)
        assert bf[i] ** 2 == pytest.approx(
            stats.levene(a[:, i], b[:, i], center="median").statistic, rel=1e-10)
    assert st.spearman_diff_z((a[:, 0], a[:, 1]), (a[:, 0], a[:, 1]), rng) == 0.0


def test_normal_theory_power():
    """Brown-Forsythe power against a 20 % variance error at the chosen R and threshold,
    normal replicate statistics (the figure the module docstring states)."""
    z_crit = critical_z(3 * 20 + len(PAIRS))  # the most comparisons of a shape
    assert st.normal_power(N_REPS, VARIANCE_ERROR, z_crit) >= 0.99
    assert st.normal_power(N_REPS, 2.0, z_crit) == pytest.approx(1.0)  # twice the variance


@pytest.mark.slow
def test_power(shape):
    """Simulated power of the spread comparison (Brown-Forsythe or Mood beyond the threshold)
    against a 20 % variance error, on the distribution of this shape's replicates: every
    statistic's power is at least ``POWER_FLOOR``."""
    a = shape.a
    names = [n for n in a if a[n].var() > 0.0]
    x = np.column_stack([a[n] for n in names])
    z_crit = critical_z(3 * len(names) + len(PAIRS))

    def spread_z(p, q):
        return np.maximum(np.abs(st.brown_forsythe_z(p, q)), np.abs(st.mood_z(p, q)))

    power = st.rejection_rate(x, spread_z, VARIANCE_ERROR, z_crit, np.random.default_rng(3))
    weak = {n: p for n, p in zip(names, power) if p < POWER_FLOOR}
    assert not weak, (shape.case, weak)
