"""Global sensitivity of an outcome to the scenario's uncertain parameters.

The input space is the scenario's uncertain parameters, each through its own distribution
(inverse CDF of uniform samples). Sampling and analysis are separate steps, as in SALib:

- ``oat``: one at a time, each parameter at its p5 and p95 with the others at their medians;
  the swing is the change of the outcome (the input of a tornado chart);
- ``morris``: elementary effects (SALib's sampler and estimator): mu* and sigma;
- ``sobol``: first-order and total indices S1 and ST with confidence intervals, for each
  output, e.g. ROAS at each key age.

Sobol intervals come from replicated designs, not from a bootstrap. The ``n`` base samples
are split into K independent scramblings (K = 8 of n/8 base samples each; K = n/2 of 2 when
n < 16), each its own Saltelli design (A, B and the d matrices AB_i, from one scrambled
Sobol' sequence of 2d dimensions, ``scipy.stats.qmc.Sobol``), so the model still runs
n (d + 2) times. Each replicate gives S1 (Saltelli 2010) and ST (Jansen 1999); the reported
index is the mean of the K replicates, its standard error ``S1_se``/``ST_se`` is their
standard deviation / sqrt(K), and ``S1_low``/``S1_high`` (``ST_...``) is the Student-t
interval (K - 1 degrees of freedom) at ``confidence``. Replicates are independent and
identically distributed, so this interval has the width of the true sampling error of the
replicated design (an iid bootstrap of one Sobol' design ignores its stratification: on
Ishigami at n >= 1024 it was 3-6 times too wide, and its BCa jackknife cost n^2), costs
nothing beyond the model runs and is linear in n. The price: n split into 8 scramblings
estimates less precisely than one Sobol' design of n (on Ishigami at n = 1024 the standard
deviation of the indices is 1.3-4 times larger), but now the interval says so. Each
scrambling is seeded from the scenario's seed (``seeding.draw_rng``, stream
``SOBOL_DESIGN``, draw = replicate): the same seed gives bit-identical indices and intervals.

The model is the simulator: each parameter set is one simulated campaign, every set on the
same random streams (common random numbers: draw 0's), so differences between sets come from
the parameters. The same analysis functions take any model ``f(x[n, d]) -> y[n, k]``, which
is how the Ishigami function anchors the tests.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import xarray as xr

from simcore.analysis import KEY_AGES
from simcore.errors import ScenarioError

__all__ = ["METHODS", "REPLICATES", "evaluate", "format_sensitivity", "model_runs", "morris", "oat",
           "parse_target", "saltelli_design", "saltelli_indices", "sensitivity", "simulator",
           "sobol", "sobol_replicates"]

METHODS = ("oat", "morris", "sobol")


def parse_target(text: str, horizon: int) -> tuple[str, tuple[int, ...]]:
    """``roas:7`` | ``roas`` (every key age) | ``payback_day`` | ``profit``."""
    name, _, age = text.partition(":")
    if name == "roas":
        if not age:
            return "roas", tuple(a for a in KEY_AGES if a <= horizon)
        if age.isdigit() and int(age) <= horizon:
            return "roas", (int(age),)
        raise ScenarioError("--target", f"= {text!r}: the age must be a whole number of days "
                            f"within the horizon (0 ... {horizon})")
    if name in ("payback_day", "profit") and not age:
        return name, ()
    raise ScenarioError("--target", f"= {text!r}: use roas:AGE, roas (every key age), "
                        "payback_day or profit")


ROWS_PER_TASK = 16   # parameter sets per task when the evaluations run on an executor


def evaluate(loaded, target: str, ages: Sequence[int], x: np.ndarray) -> np.ndarray:
    """The target for each row of ``x[n, d]`` (values of the uncertain parameters, in
    ``loaded.uncertainty.keys`` order): y[n, k], ROAS at each of ``ages``, the payback day
    [days] (horizon + 1 when never), or net profit [USD], all on UA (paid users' revenue).
    Every row runs on draw 0's random streams (common random numbers), so a row's result does
    not depend on the others."""
    from simcore.analysis import net_profit, payback_days
    from simcore.data.outcomes import roas_of

    keys = loaded.uncertainty.keys
    x = np.atleast_2d(x)
    scenarios = [loaded.scenario_for(dict(zip(keys, row))) for row in x]
    from simcore import kinds

    kind = kinds.for_scenario(loaded)
    values = {k: x[:, j] for j, k in enumerate(keys)}
    ds = kind.simulate_plans(loaded, kind.plans(loaded, scenarios), values,
                             streams=np.zeros(len(scenarios), dtype=int))
    if target == "roas":
        return roas_of(ds, "paid").sel(age=list(ages)).values
    if target == "payback_day":
        horizon = loaded.scenario.simulation.horizon_days
        return np.nan_to_num(payback_days(ds, 1.0, "paid").values, nan=horizon + 1.0)[:, None]
    return net_profit(ds, "paid").values[:, None]


def simulator(loaded, target: str, ages: Sequence[int] = (), executor=None,
              progress: Callable[[int], None] | None = None,
              ) -> Callable[[np.ndarray], np.ndarray]:
    """The model ``f(x[n, d]) -> y[n, k]`` of ``evaluate``. With an ``executor`` (see
    ``simcore.studies.executors``) the rows run as tasks of ``ROWS_PER_TASK``; ``progress`` is
    called with the number of rows after each task."""
    def f(x: np.ndarray) -> np.ndarray:
        x = np.atleast_2d(x)
        if executor is None:
            y = evaluate(loaded, target, ages, x)
            if progress is not None:
                progress(len(x))
            return y
        tasks = [(loaded, target, tuple(ages), x[i:i + ROWS_PER_TASK])
                 for i in range(0, len(x), ROWS_PER_TASK)]
        parts = {}                       # tasks finish in any order: keep each by its task
        for task, y in executor.map(evaluate, tasks):
            parts[id(task)] = y
            if progress is not None:
                progress(len(task[3]))
        return np.concatenate([parts[id(t)] for t in tasks])

    return f


def _medians(dists) -> np.ndarray:
    return np.array([float(d.ppf(np.array([0.5]))[0]) for d in dists])


def oat(f, dists, keys: Sequence[str]) -> xr.Dataset:
    """Swings: f with parameter j at its p5 and at its p95, the others at their medians."""
    mid = _medians(dists)
    rows = [mid]
    for j, d in enumerate(dists):
        for q in (0.05, 0.95):
            row = mid.copy()
            row[j] = float(d.ppf(np.array([q]))[0])
            rows.append(row)
    y = np.asarray(f(np.array(rows)), dtype=float)
    low, high = y[1::2], y[2::2]                            # [parameter, output]
    return xr.Dataset({"low": (("parameter", "output"), low),
                       "high": (("parameter", "output"), high),
                       "swing": (("parameter", "output"), high - low),
                       "base": (("output",), y[0])},
                      coords={"parameter": list(keys)},
                      attrs={"method": "oat"})


def morris(f, dists, keys: Sequence[str], n: int, seed: int, levels: int = 4) -> xr.Dataset:
    """Elementary effects over ``n`` trajectories (SALib): mu* and sigma per output."""
    from SALib.analyze import morris as analyze
    from SALib.sample import morris as sample

    problem = {"num_vars": len(keys), "names": list(keys), "bounds": [[0.0, 1.0]] * len(keys)}
    u = sample.sample(problem, n, num_levels=levels, seed=seed)
    u = np.clip(u, 1e-6, 1 - 1e-6)             # the end levels map to the 1e-6 quantiles
    x = np.column_stack([d.ppf(u[:, j]) for j, d in enumerate(dists)])
    y = np.asarray(f(x), dtype=float)
    mu_star, sigma = [], []
    for k in range(y.shape[1]):
        r = analyze.analyze(problem, u, y[:, k], num_levels=levels, seed=seed)
        mu_star.append(r["mu_star"])
        sigma.append(r["sigma"])
    return xr.Dataset({"mu_star": (("output", "parameter"), np.array(mu_star)),
                       "sigma": (("output", "parameter"), np.array(sigma))},
                      coords={"parameter": list(keys)},
                      attrs={"method": "morris", "trajectories": n}).transpose("parameter",
                                                                               "output")


REPLICATES = 8      # independent scramblings behind a Sobol interval (fewer when n < 16)


def sobol_replicates(n: int) -> int:
    """Independent scramblings for ``n`` base samples: 8 of n/8 each, or n/2 of 2 when n < 16."""
    return min(REPLICATES, n // 2)


def check_sobol_n(n: int) -> None:
    """Sobol needs a power of 2 base samples, at least 4 (two scramblings of 2)."""
    if n < 4 or n & (n - 1):
        raise ScenarioError("--n", f"= {n}: Sobol needs a power of 2 base samples, at least 4 "
                            "(its interval needs 2 or more independent scramblings of 2 or more)")


def saltelli_design(dists, m: int, rng: np.random.Generator) -> np.ndarray:
    """x[(d + 2) m, d]: the Saltelli design of ``m`` base samples (a power of 2), blocks A, B,
    AB_1 ... AB_d (A with column i from B), from one Sobol' sequence of 2d dimensions
    scrambled by ``rng`` (A = its first d columns, B the others), mapped through each
    parameter's inverse CDF."""
    from scipy.stats import qmc

    d = len(dists)
    u = qmc.Sobol(2 * d, scramble=True, rng=rng).random(m)
    u += 2.0**-31           # the centre of each 2^-30 cell: never exactly 0 (ppf(0) = -inf)
    a, b = u[:, :d], u[:, d:]
    blocks = [a, b]
    for i in range(d):
        ab = a.copy()
        ab[:, i] = b[:, i]
        blocks.append(ab)
    u = np.concatenate(blocks)
    return np.column_stack([dist.ppf(u[:, j]) for j, dist in enumerate(dists)])


def saltelli_indices(y: np.ndarray, d: int) -> tuple[np.ndarray, np.ndarray]:
    """S1 and ST [output, parameter] from y[(d + 2) m, output], the model on one
    ``saltelli_design``: S1 by Saltelli (2010), ST by Jansen (1999), both over the variance
    of the outputs at A and B, after subtracting their mean (Sobol' and Levitan 1999, as
    ``scipy.stats.sobol_indices`` does). An output that does not vary has indices 0."""
    y = y.reshape(d + 2, -1, y.shape[-1])                     # [block, m, output]
    fab = np.concatenate([y[0], y[1]])
    y = y - fab.mean(axis=0)
    f_a, f_b, f_ab = y[0], y[1], y[2:]
    var = np.var(fab, axis=0)                                 # [output]
    with np.errstate(divide="ignore", invalid="ignore"):
        s1 = np.mean(f_b * (f_ab - f_a), axis=1) / var        # [parameter, output]
        st = 0.5 * np.mean((f_a - f_ab) ** 2, axis=1) / var
    s1[:, var == 0] = 0.0
    st[:, var == 0] = 0.0
    return s1.T, st.T


def sobol(f, dists, keys: Sequence[str], n: int, seed: int,
          confidence: float = 0.95) -> xr.Dataset:
    """S1 and ST per output with Student-t intervals over independent scramblings (see the
    module docstring); ``n`` base samples (a power of 2, at least 4), n * (d + 2) model runs,
    all in one call of ``f``."""
    from scipy import stats

    from simcore.seeding import SOBOL_DESIGN, draw_rng

    check_sobol_n(n)
    d, replicates = len(dists), sobol_replicates(n)
    m = n // replicates
    x = np.concatenate([saltelli_design(dists, m, draw_rng(SOBOL_DESIGN, seed, r))
                        for r in range(replicates)])
    y = np.asarray(f(x), dtype=float).reshape(replicates, (d + 2) * m, -1)
    s1, st = (np.array(v) for v in zip(*(saltelli_indices(y_r, d) for y_r in y)))
    t = float(stats.t.ppf(0.5 + confidence / 2, replicates - 1))
    dims = ("output", "parameter")
    data = {}
    for name, est in (("S1", s1), ("ST", st)):                # est [replicate, output, param]
        mean = est.mean(axis=0)
        se = est.std(axis=0, ddof=1) / np.sqrt(replicates)
        data.update({name: (dims, mean), f"{name}_low": (dims, mean - t * se),
                     f"{name}_high": (dims, mean + t * se), f"{name}_se": (dims, se)})
    return xr.Dataset(data, coords={"parameter": list(keys)},
                      attrs={"method": "sobol", "base_samples": n, "replicates": replicates,
                             "confidence": confidence,
                             "interval": f"Student-t over {replicates} independent "
                                         f"scramblings of {m} base samples"}
                      ).transpose("parameter", "output")


def model_runs(method: str, n: int, parameters: int) -> int:
    """How many times the simulator runs: OAT 2d + 1, Morris n(d + 1), Sobol n(d + 2) (its
    replicates share the n base samples)."""
    return {"oat": 2 * parameters + 1, "morris": n * (parameters + 1),
            "sobol": n * (parameters + 2)}[method]


def sensitivity(loaded, method: str, target: str = "roas:7", n: int = 64,
                seed: int | None = None, executor=None,
                progress: Callable[[int], None] | None = None) -> xr.Dataset:
    """Sensitivity of ``target`` to the scenario's uncertain parameters by ``method``.

    ``executor`` (optional, see ``simcore.studies.executors``) runs the model evaluations as tasks
    (the indices do not depend on it); ``progress`` is called with the number of model runs
    finished."""
    if method not in METHODS:
        raise ScenarioError("--method", f"= {method!r}: use one of {', '.join(METHODS)}")
    u = loaded.uncertainty
    if len(u.parameters) < 2:
        raise ScenarioError("--method", "needs at least two uncertain parameters in the "
                            "scenario (write them as distributions)", loaded.source)
    if loaded.scenario.markets:
        raise ScenarioError("markets", "sensitivity analysis runs one market: drop "
                            "[[markets]] (markets=[]) and set campaign.region", loaded.source)
    if u.correlations:
        raise ScenarioError("correlations", "sensitivity indices assume independent "
                            "parameters: remove the [[correlations]] for this analysis",
                            loaded.source)
    horizon = loaded.scenario.simulation.horizon_days
    name, ages = parse_target(target, horizon)
    seed = loaded.scenario.simulation.seed if seed is None else seed
    f = simulator(loaded, name, ages, executor, progress)
    dists, keys = u.parameters, u.keys
    if method == "oat":
        ds = oat(f, dists, keys)
    elif method == "morris":
        ds = morris(f, dists, keys, n, seed)
    else:
        ds = sobol(f, dists, keys, n, seed)
    outputs = [f"roas_d{a}" for a in ages] if name == "roas" else [name]
    from simcore.data.dataset import scenario_attrs

    ds = ds.assign_coords(output=outputs)
    ds.attrs.update({**scenario_attrs(loaded), "target": target})
    return ds


def format_sensitivity(ds: xr.Dataset) -> str:
    """A table per output: parameters by importance."""
    method = ds.attrs["method"]
    lines = [f"{ds.attrs.get('title', '')}: {method} sensitivity of {ds.attrs['target']}"]
    for out in ds.output.values:
        d = ds.sel(output=out)
        if method == "sobol":
            order = np.argsort(-d.ST.values)
            ci = f"{ds.attrs.get('confidence', 0.95):.0%} CI"
            lines += ["", f"{out:<32}{'S1':>8}{ci:>18}{'ST':>8}{ci:>18}"]
            lines += [f"{str(d.parameter.values[j]):<32}{d.S1.values[j]:>8.3f}"
                      f"  [{d.S1_low.values[j]:>6.3f}, {d.S1_high.values[j]:>6.3f}]"
                      f"{d.ST.values[j]:>8.3f}"
                      f"  [{d.ST_low.values[j]:>6.3f}, {d.ST_high.values[j]:>6.3f}]"
                      for j in order]
        elif method == "morris":
            order = np.argsort(-d.mu_star.values)
            lines += ["", f"{out:<32}{'mu*':>10}{'sigma':>10}"]
            lines += [f"{str(d.parameter.values[j]):<32}{d.mu_star.values[j]:>10.4g}"
                      f"{d.sigma.values[j]:>10.4g}" for j in order]
        else:
            order = np.argsort(-np.abs(d.swing.values))
            lines += ["", f"{out} at the medians: {float(d.base):.4g}",
                      f"{'parameter':<32}{'at p5':>10}{'at p95':>10}{'swing':>10}"]
            lines += [f"{str(d.parameter.values[j]):<32}{d.low.values[j]:>10.4g}"
                      f"{d.high.values[j]:>10.4g}{d.swing.values[j]:>+10.4g}" for j in order]
    return "\n".join(lines)
