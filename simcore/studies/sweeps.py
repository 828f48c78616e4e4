"""Grid sweeps: the scenario run at every combination of values of some keys.

``--grid campaign.daily_budget_usd=1000,5000,10000`` (a list), ``--grid
ads.ecpm_rewarded_usd=8:20:7`` (7 values from 8 to 20) or ``...=1000:20000:5:log``
(geometric). The result has one dimension per swept key (its values as coordinates) beside
``draw`` and ``age``. Each grid point is a sweep point of the seeding (its own campaign and
user streams, keyed by the point's flat index), while draw d's uncertain parameters are the
same at every point: the sweep compares the same states of the world.

Common random numbers (``common_streams=True``) give every point the streams of point 0
instead: draw d then also has the same cost movements, creator videos, organic arrivals and
users (as far as each point buys as many) at every point, so the difference between two points
is the effect of the swept value alone, without the noise of independent streams. That is what
comparing budgets needs (``simcore.studies.budget_scan``, where it is the default); a grid
whose points are separate worlds (or whose results are pooled across points) wants its own
streams per point, the default here.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from simcore import kinds
from simcore.errors import ScenarioError
from simcore.studies.workload import check_block_draws

if TYPE_CHECKING:           # xarray loads in ~0.5 s: input errors answer before it
    import xarray as xr

# run-shape keys a grid cannot move (the result's dims and streams depend on them)
FIXED = ("simulation.", "markets", "rules", "correlations")
# outcomes kept per (point, draw): name -> (dims after draw, units, long name)
OUTCOMES = {
    "roas": (("age",), "1", "blended: cumulative net revenue through age of all cohorts and "
             "channels / total spend"),
    "roas_paid": (("age",), "1", "paid-only: cumulative net revenue through age of paid users "
                  "/ total spend"),
    "payback_day": ((), "days", "first age at which blended ROAS reaches 1 (NaN: not within "
                    "the horizon)"),
    "cpa": ((), "USD", "realised cost per paid activation"),
    "net_profit": ((), "USD", "blended: net revenue of all users through the horizon - "
                   "spend"),
    "net_profit_paid": ((), "USD", "on UA: net revenue of paid users through the horizon - "
                        "spend"),
    "spend": ((), "USD", "spend over all cohorts"),
    "activations": ((), "users", "activations, all channels"),
}
# outcomes a study may ask for on top (``Sweep(extra=...)``): name -> as ``OUTCOMES``
EXTRA_OUTCOMES = {
    "net_revenue": (("age",), "USD", "cumulative net revenue through age, all cohorts and "
                    "channels"),
    "net_revenue_paid": (("age",), "USD", "cumulative net revenue through age of paid users"),
    "revenue_by_region": (("region", "age"), "USD", "cumulative net revenue through age of "
                          "the market's cohorts"),
    "revenue_by_region_paid": (("region", "age"), "USD", "cumulative net revenue through age "
                               "of the market's paid users"),
    "spend_by_region": (("region",), "USD", "spend over the market's cohorts"),
}
USERS_PER_TASK = 5_000_000   # aim: a task of a few seconds at ~2-3M users/s
MAX_POINTS = 10_000          # grid points of one sweep (each compiled before any task runs)


def parse_grid(text: str, key: str = "--grid") -> tuple[str, np.ndarray]:
    """``dotted.key=v1,v2`` | ``dotted.key=a:b:n`` | ``dotted.key=a:b:n:log`` -> values."""
    name, sep, spec = text.partition("=")
    name = name.strip()
    if not sep or "." not in name or not spec.strip():
        raise ScenarioError(key, f"= {text!r}: write KEY=v1,v2,... or KEY=a:b:n[:log], e.g. "
                            "campaign.daily_budget_usd=1000,5000,10000")
    if name.startswith(FIXED):
        raise ScenarioError(key, f"= {text!r}: {name} sets the shape of the run and cannot be "
                            "swept")
    try:
        if ":" in spec:
            parts = spec.split(":")
            if len(parts) not in (3, 4) or (len(parts) == 4 and parts[3] != "log"):
                raise ValueError
            a, b, n = float(parts[0]), float(parts[1]), int(parts[2])
            if n < 2 or not (math.isfinite(a) and math.isfinite(b)) or a == b:
                raise ValueError
            if n > MAX_POINTS:
                raise ScenarioError(key, f"= {text!r}: {n:,} values; a sweep has at most "
                                    f"{MAX_POINTS:,} points")
            if len(parts) == 4:
                if a <= 0 or b <= 0:
                    raise ValueError
                values = np.geomspace(a, b, n)
            else:
                values = np.linspace(a, b, n)
        else:
            values = np.array([float(v) for v in spec.split(",")])
            if not np.all(np.isfinite(values)):
                raise ValueError
    except ValueError:
        raise ScenarioError(key, f"= {text!r}: values must be numbers v1,v2,... or a:b:n "
                            "(n >= 2, a != b) or a:b:n:log (a, b > 0)") from None
    if np.unique(values).size != values.size:
        raise ScenarioError(key, f"= {text!r}: values repeat")
    return name, values


def _literal(loaded, key: str, value: float) -> str:
    """The value as the TOML the field takes (whole numbers for integer fields)."""
    section, _, name = key.partition(".")
    current = getattr(getattr(loaded.scenario, section, None), name, None)
    if isinstance(current, int) and not isinstance(current, bool):
        if not float(value).is_integer():
            raise ScenarioError("--grid", f"{key} takes whole numbers, got {value:g}")
        return str(int(value))
    return repr(float(value))


def run_block(variant, point: int, start: int, stop: int, common_streams: bool = False,
              extra: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """One task: draws ``start`` .. ``stop - 1`` of sweep point ``point`` (flat index) of
    the scenario ``variant`` (the point's values set), on the point's own streams or, with
    ``common_streams``, on those of point 0. Returns each of ``OUTCOMES`` (the kind's
    ``sweep_outcomes`` and the ``extra`` of ``EXTRA_OUTCOMES``) with draw first. Runs
    anywhere: the result depends only on its arguments."""
    from simcore.analysis import net_profit, net_revenue, revenue_of
    from simcore.engine.run import run

    ds = run(variant, point=0 if common_streams else point, draws=np.arange(start, stop))
    out = {"roas": ds.roas.values, "roas_paid": ds.roas_paid.values,
           "payback_day": ds.payback_day.values, "cpa": ds.cpa.values,
           "net_profit": net_profit(ds, "blended").values,
           "net_profit_paid": net_profit(ds, "paid").values,
           "spend": ds.spend.sum("cohort").values,
           "activations": ds.activations.sum("cohort").values}
    more = {"net_revenue": lambda: net_revenue(ds).cumsum("age").transpose("draw", "age"),
            "net_revenue_paid": lambda: revenue_of(ds, "paid").cumsum("age").transpose(
                "draw", "age"),
            "revenue_by_region": lambda: ds.revenue_by_region.cumsum("age").transpose(
                "draw", "region", "age"),
            "revenue_by_region_paid": lambda: ds.revenue_by_region_paid.cumsum("age").transpose(
                "draw", "region", "age"),
            "spend_by_region": lambda: ds.spend_by_region.sum("cohort").transpose(
                "draw", "region")}
    out |= {name: more[name]().values for name in extra}
    return out | kinds.for_scenario(variant).sweep_values(ds)


class Sweep:
    """A grid sweep cut into tasks of (sweep point, block of draws).

    ``loaded``: the scenario; ``grid``: dotted key -> values (one dimension each, in order);
    ``block_draws``: draws per task (default: enough for about ``USERS_PER_TASK`` simulated
    users, so a task lasts seconds). Every point's scenario is built and validated here,
    before anything runs. ``common_streams``: every point on the streams of point 0 (common
    random numbers, see above); ``extra``: names of ``EXTRA_OUTCOMES`` kept too; ``key``: the
    option an error about a point names.
    """

    def __init__(self, loaded, grid: dict[str, Sequence[float]], block_draws: int | None = None,
                 common_streams: bool = False, extra: Sequence[str] = (), key: str = "--grid"):
        if not grid:
            raise ScenarioError(key, "give at least one key to sweep")
        unknown = [name for name in extra if name not in EXTRA_OUTCOMES]
        if unknown:
            raise ValueError(f"unknown extra outcomes {unknown}: use {list(EXTRA_OUTCOMES)}")
        self.loaded = loaded
        self.common_streams = bool(common_streams)
        self.extra = tuple(extra)
        self.keys = list(grid)
        self.values = [np.asarray(grid[k], dtype=float) for k in self.keys]
        self.shape = tuple(v.size for v in self.values)
        if math.prod(self.shape) > MAX_POINTS:
            raise ScenarioError(key, f"{' x '.join(map(str, self.shape))} = "
                                f"{math.prod(self.shape):,} points; a sweep has at most "
                                f"{MAX_POINTS:,} (each point is compiled before any task runs)")
        self.draws = loaded.scenario.simulation.draws
        self.variants = []
        for index in np.ndindex(*self.shape):
            overrides = [f"{k}={_literal(loaded, k, v[i])}"
                         for k, v, i in zip(self.keys, self.values, index)]
            try:
                variant = loaded.with_overrides(*overrides)
                kinds.for_scenario(variant).compile(variant)   # fitting errors too, first
            except ScenarioError as err:
                where = ", ".join(overrides)
                raise ScenarioError(f"{key} {err.key}", f"{err.message} (at {where})",
                                    loaded.source) from None
            self.variants.append(variant)
        if check_block_draws(block_draws, self.draws) is None:
            block_draws = _block_draws(self.variants, self.draws)
        self.block_draws = int(block_draws)
        self.tasks = [(self.variants[flat], flat, start, min(start + self.block_draws,
                                                               self.draws))
                      for flat in range(len(self.variants))
                      for start in range(0, self.draws, self.block_draws)]

    @property
    def fingerprint(self) -> str:
        """What the result depends on: equal fingerprints, equal sweeps (sha256; the
        simcore version included, since a new version may simulate differently)."""
        from simcore import __version__

        text = json.dumps({"scenario": self.loaded.hash, "simcore": __version__,
                           "draws": self.draws,
                           "block_draws": self.block_draws,
                           "grid": {k: v.tolist() for k, v in zip(self.keys, self.values)}}
                          | ({"streams": "common"} if self.common_streams else {})
                          | ({"extra": list(self.extra)} if self.extra else {}))
        return hashlib.sha256(text.encode()).hexdigest()

    def template(self, lazy: bool = False) -> xr.Dataset:
        """The result's variables (NaN until written; ``lazy``: dask arrays chunked by task,
        never computed), coordinates, sampled uncertain parameters and attributes."""
        from simcore.data.dataset import add_parameters, scenario_attrs

        ages = self.loaded.scenario.simulation.horizon_days + 1
        regions = [m.region for m in self.loaded.scenario.markets]
        sizes = {"age": ages, "region": len(regions)}
        data = {}
        outcomes = (OUTCOMES | kinds.for_scenario(self.loaded).sweep_outcomes
                    | {name: EXTRA_OUTCOMES[name] for name in self.extra})
        for name, (dims, units, long_name) in outcomes.items():
            shape = self.shape + (self.draws,) + tuple(sizes[d] for d in dims)
            chunks = (1,) * len(self.shape) + (self.block_draws,) + tuple(sizes[d] for d in dims)
            dtype = np.int64 if name == "activations" else np.float64
            fill = 0 if name == "activations" else np.nan
            if lazy:
                import dask.array as da

                values = da.full(shape, fill, dtype=dtype, chunks=chunks)
            else:
                values = np.full(shape, fill, dtype=dtype)
            data[name] = ((*self.keys, "draw", *dims), values,
                          {"units": units, "long_name": long_name})
        coords = {k: (k, v, {"long_name": f"swept value of {k}"})
                  for k, v in zip(self.keys, self.values)}
        coords["draw"] = ("draw", np.arange(self.draws), {"long_name": "Monte Carlo draw"})
        coords["age"] = ("age", np.arange(ages), {"units": "days",
                                                  "long_name": "days since activation"})
        if any("region" in dims for dims, _, _ in outcomes.values()):
            coords["region"] = ("region", regions, {"long_name": "market region"})
        import xarray as xr

        ds = xr.Dataset(data, coords=coords)
        first = self.variants[0]
        values = first.uncertainty.sample(self.loaded.scenario.simulation.seed,
                                          np.arange(self.draws))
        ds = add_parameters(ds, first, values)
        ds.attrs = {**scenario_attrs(self.loaded), "swept_keys": ",".join(self.keys)}
        if self.common_streams:
            ds.attrs["sweep_streams"] = "common"     # every point on point 0's streams
        return ds

    def place(self, task) -> tuple:
        """The index of a task's block in the result: grid position, then draws."""
        _, flat, start, stop = task
        return np.unravel_index(flat, self.shape) + (slice(start, stop),)

    def run(self, executor=None, sink=None, progress: Callable[[int], None] | None = None,
            ) -> xr.Dataset:
        """Run the tasks the sink still lacks on ``executor`` (default: this process) and
        return the dataset. ``sink`` (default in memory) receives each finished task;
        ``progress`` is called with 1 after each."""
        from simcore.studies.executors import LocalExecutor

        executor = LocalExecutor() if executor is None else executor
        sink = MemorySink(self) if sink is None else sink
        block = run_block
        if self.common_streams or self.extra:      # a partial of a module function pickles
            block = functools.partial(run_block, common_streams=self.common_streams,
                                      extra=self.extra)
        for task, result in executor.map(block, sink.missing(self.tasks)):
            sink.write(self.place(task), result)
            if progress is not None:
                progress(1)
        return sink.finish()


def _block_draws(variants, draws: int) -> int:
    """Draws per task: about ``USERS_PER_TASK`` paid users per task at the point that buys
    the most (organic, creator and share users come on top)."""
    from simcore.model.acquisition import compile_acquisition

    users = max(float(compile_acquisition(v.scenario.campaign).expected_activations().sum())
                * max(1, len(v.scenario.markets)) for v in variants)
    return int(min(draws, max(1, USERS_PER_TASK // max(users, 1.0))))


class MemorySink:
    """Collects a sweep's results in memory."""

    def __init__(self, sweep: Sweep):
        self.ds = sweep.template()

    def missing(self, tasks):
        return tasks

    def write(self, index: tuple, result: dict[str, np.ndarray]) -> None:
        for name, values in result.items():
            self.ds[name].values[index] = values

    def finish(self) -> xr.Dataset:
        return self.ds


def sweep(loaded, grid: dict[str, Sequence[float]], executor=None, store=None,
          resume: bool = False, block_draws: int | None = None,
          progress: Callable[[int], None] | None = None,
          common_streams: bool = False) -> xr.Dataset:
    """Run ``loaded`` at every point of ``grid`` (dotted key -> values).

    Returns a dataset with dims (*grid keys, draw, age): ``roas`` (blended), ``roas_paid``
    (on UA) (1), ``payback_day`` [days], ``cpa`` [USD], ``net_profit`` (blended),
    ``net_profit_paid`` (on UA) [USD], ``spend`` [USD],
    ``activations`` [users] by point and draw; the uncertain parameters ``param_<key>``
    (draw), shared by every point. Each point runs on its own streams (its flat index is
    the seeding's point), so the result is the same on any ``executor`` (default: this
    process; see ``simcore.studies.executors``) and for any ``block_draws``. ``store`` (a ``.zarr``
    path) writes each finished task there and returns the dataset read from it (lazily);
    ``resume=True`` continues the sweep a store holds, running only its missing tasks and
    those whose values, read back, fail their checksum (``simcore.studies.sweep_store``).
    ``progress`` is called with 1 after each finished task. ``common_streams``: every point
    on the streams of point 0 (common random numbers; see the module's docstring).
    """
    plan = Sweep(loaded, grid, block_draws, common_streams)
    sink = None
    if store is not None:
        from simcore.studies.sweep_store import ZarrSink

        sink = ZarrSink(plan, store, resume)
    return plan.run(executor, sink, progress)


def format_sweep(ds: xr.Dataset, day: int = 7) -> str:
    """One line per grid point: the swept values, ROAS on UA at ``day`` (p5/p50/p95),
    P(ROAS >= 1) there, median payback day and mean net profit, all on UA (paid users'
    revenue over the spend)."""
    from simcore.analysis import day_quantiles
    from simcore.data.outcomes import first_age_at_least, roas_of

    keys = ds.attrs["swept_keys"].split(",")
    paid = roas_of(ds, "paid")
    roas = paid.sel(age=day)
    profit = ds.net_profit_paid if "net_profit_paid" in ds else ds.net_profit
    q = roas.quantile([0.05, 0.5, 0.95], dim="draw")
    head = "".join(f"{k.split('.')[-1][:18]:>20}" for k in keys)
    lines = [f"{ds.attrs.get('title', '')}  ({ds.sizes['draw']} draws per point; ROAS, "
             "payback and profit on UA)", "",
             f"{head}{'ROAS D' + str(day) + ' p5':>14}{'p50':>8}{'p95':>8}{'P(>=1)':>8}"
             f"{'payback p50':>13}{'profit mean':>14}"]
    for index in np.ndindex(*(ds.sizes[k] for k in keys)):
        at = dict(zip(keys, index))
        point = paid.isel(at).transpose("draw", "age").values
        median = float(day_quantiles(first_age_at_least(point, ds.age.values, 1.0), 0.5))
        lines.append("".join(f"{float(ds[k].values[i]):>20,.6g}" for k, i in at.items())
                     + f"{float(q.isel(at).sel(quantile=0.05)):>14.3f}"
                     + f"{float(q.isel(at).sel(quantile=0.5)):>8.3f}"
                     + f"{float(q.isel(at).sel(quantile=0.95)):>8.3f}"
                     + f"{float((roas.isel(at) >= 1).mean()):>8.0%}"
                     + (f"{'D' + str(int(median)):>13}" if math.isfinite(median)
                        else f"{'never':>13}")
                     + f"{float(profit.isel(at).mean()):>14,.0f}")
    return "\n".join(lines)
