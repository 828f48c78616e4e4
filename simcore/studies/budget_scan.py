"""The budget scan: how ROAS and profit change as the daily budget grows.

ROAS at $500 a day says little about $10,000 a day: the unit cost (CPA or CPM) rises with the
budget (``campaign.saturation_budget_usd``), so each extra dollar buys fewer users. ``scale``
is a one-key sweep of ``campaign.daily_budget_usd`` (``simcore.studies.sweeps``: the same
tasks, executors, Zarr store and resume) that answers two questions: which budget maximises
expected profit, and how far the budget can go while P(ROAS at D``age`` >= ``target``) stays
>= ``probability``.

Streams. By default every budget runs on the same random streams (common random numbers,
``common_random_numbers=True``): draw d samples the same uncertain parameters, cost
movements, creator videos, organic arrivals and users at every budget, so the differences
between budgets (the marginal ROAS above all, a difference of two noisy means) are the
budget's effect, not noise; the best budget is then found with far fewer draws. With
``common_random_numbers=False`` each budget is a sweep point with its own streams (the
convention of ``simcore sweep``): draw d keeps its uncertain parameters but its campaign and
users are independent between budgets, as if each budget were a separate campaign. Use it to
check that a conclusion does not hang on one shared stream of luck.

    from simcore.studies.budget_scan import scale, format_scale
    ds = scale(loaded, [1000, 2500, 5000, 10000, 20000], age=30, probability=0.8)
    print(format_scale(ds))
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

import numpy as np

from simcore.data.checks import check_age, check_target
from simcore.errors import ScenarioError

if TYPE_CHECKING:           # xarray loads in ~0.5 s: input errors answer before it
    import xarray as xr

BUDGET_KEY = "campaign.daily_budget_usd"
MIN_BUDGET_USD, MAX_BUDGET_USD = 1.0, 1e8   # the schema's campaign.daily_budget_usd [USD/day]


# --- input checks (shared with the CLI, which passes its option names as ``key``) ------------

def parse_budgets(text: str, key: str = "--budgets") -> np.ndarray:
    """Daily budgets [USD/day] from text such as ``"1000,2500,5000"``; see ``check_budgets``."""
    items = [t.strip() for t in str(text).split(",")]
    values = []
    for item in items:
        try:
            value = float(item.replace("_", "")) if item else math.nan
        except ValueError:
            value = math.nan
        if not math.isfinite(value):
            raise ScenarioError(key, f"= {text!r}: {item!r} is not a number; give daily "
                                "budgets in USD/day separated by commas, e.g. "
                                "1000,2500,5000")
        values.append(value)
    return check_budgets(values, key)


def check_budgets(budgets: Iterable[float], key: str = "budgets") -> np.ndarray:
    """Budgets as a sorted float array [USD/day]: at least two, each finite and > 0 (at most
    the schema's 1e8 USD/day), no two equal."""
    try:
        values = np.asarray([float(b) for b in budgets], dtype=float)
    except (TypeError, ValueError):
        raise ScenarioError(key, f"= {budgets!r}: daily budgets must be numbers "
                            "[USD/day]") from None
    shown = ",".join(f"{b:g}" for b in values)
    if values.size < 2:
        raise ScenarioError(key, f"= {shown!r}: give at least two daily budgets to compare, "
                            "e.g. 1000,2500,5000")
    bad = values[~(np.isfinite(values) & (values >= MIN_BUDGET_USD)
                   & (values <= MAX_BUDGET_USD))]
    if bad.size:
        raise ScenarioError(key, f"= {shown!r}: {bad[0]:g} is not a daily budget; each must "
                            f"lie in {MIN_BUDGET_USD:g} <= budget <= {MAX_BUDGET_USD:g} USD/day")
    values = np.sort(values)
    same = values[1:][np.diff(values) == 0]
    if same.size:
        raise ScenarioError(key, f"= {shown!r}: {same[0]:g} is given twice; budgets must be "
                            "distinct")
    return values


def check_probability(probability, key: str = "probability") -> float:
    """``probability`` as a float with 0 < p < 1."""
    try:
        value = float(probability)
    except (TypeError, ValueError):
        value = math.nan
    if not 0.0 < value < 1.0:
        raise ScenarioError(key, f"= {probability!r}: the required probability must lie in "
                            "0 < p < 1, e.g. 0.8")
    return value


# --- the scale study -------------------------------------------------------------------------

def scenarios_at(loaded, budgets) -> list:
    """The scenario at each budget (``campaign.daily_budget_usd`` overridden), all validated
    before any is simulated. A ``list`` budget schedule ignores the daily budget: refused."""
    schedule = getattr(loaded.scenario.campaign, "budget_schedule", "flat")
    if schedule == "list":
        raise ScenarioError("campaign.budget_schedule", "= 'list': the daily budgets are "
                            "given day by day, so scaling campaign.daily_budget_usd changes "
                            "nothing; use flat, ramp or pulse", loaded.source)
    return [loaded.with_overrides(f"{BUDGET_KEY}={float(b)!r}") for b in budgets]


def scale(loaded, budgets, age: int = 30, probability: float = 0.8, target: float = 1.0,
          progress: Callable[[int], None] | None = None, executor=None, store=None,
          resume: bool = False, block_draws: int | None = None,
          common_random_numbers: bool = True) -> xr.Dataset:
    """Run ``loaded`` at each daily budget (a one-key sweep); ROAS and profit by budget.

    Parameters
    ----------
    loaded : LoadedScenario
        The scenario; its ``campaign.daily_budget_usd`` is replaced by each budget in turn.
    budgets : sequence of float
        Daily budgets [USD/day]: at least two, each > 0, distinct (sorted here).
    age : int
        Age [days] at which ROAS is judged (within the horizon).
    probability : float
        Required share of draws with ROAS(age) >= ``target`` (0 < p < 1).
    target : float
        ROAS target (> 0), 1.0 = break-even.
    progress : callable, optional
        Called with 1 after each finished task (a budget x a block of draws).
    executor, store, resume, block_draws
        As ``simcore.studies.sweeps.sweep``: where the tasks run (default this process), a
        ``.zarr`` store written task by task, continuing the scan a store holds, and draws
        per task.
    common_random_numbers : bool
        Every budget on the same streams (default; see the module's docstring), else each
        budget on its own.

    Returns
    -------
    xr.Dataset
        dims ``budget`` [USD/day], ``draw``, ``age`` [days]; variables ``roas`` (budget, draw,
        age), ``net_profit`` (budget, draw) [USD], ``spend`` (budget, draw) [USD], ``cpa``
        (budget, draw) [USD], the first run's ``param_`` variables; summaries
        ``expected_profit`` (budget) [USD], ``p_roas_at_least`` (budget) [probability] at
        ``age`` and ``target``, ``marginal_roas`` (budget, age) [1]. attrs: title, age,
        probability, target, best_budget_usd, largest_safe_budget_usd (NaN if no budget
        meets the rule), scenario_hash, seed, simcore_version, streams ("common" or "own").
    """
    budgets = check_budgets(budgets)
    probability = check_probability(probability)
    target = check_target(target, "target")
    age = check_age(age, loaded.scenario.simulation.horizon_days, "age", "age")
    scenarios_at(loaded, budgets)           # every budget's scenario valid before any runs
    swept = sweep_budgets(loaded, budgets, executor, store, resume, block_draws, progress,
                          common_random_numbers)
    return scan_dataset(loaded, swept, budgets, age, probability, target,
                        common_random_numbers)


def sweep_budgets(loaded, budgets, executor=None, store=None, resume: bool = False,
                  block_draws: int | None = None,
                  progress: Callable[[int], None] | None = None,
                  common_random_numbers: bool = True) -> xr.Dataset:
    """The one-key sweep behind ``scale``: ``simcore.studies.sweeps.Sweep`` over
    ``campaign.daily_budget_usd``, keeping cumulative net revenue (and each market's revenue
    and spend) for the marginal ROAS."""
    plan = budget_sweep(loaded, budgets, block_draws, common_random_numbers)
    sink = None
    if store is not None:
        from simcore.studies.sweep_store import ZarrSink

        sink = ZarrSink(plan, store, resume)
    return plan.run(executor, sink, progress)


def budget_sweep(loaded, budgets, block_draws: int | None = None,
                 common_random_numbers: bool = True):
    """The ``Sweep`` (tasks not yet run) of a budget scan."""
    from simcore.studies.sweeps import Sweep

    extra = ("net_revenue_paid",) + (("revenue_by_region_paid", "spend_by_region")
                                if loaded.scenario.markets else ())
    return Sweep(loaded, {BUDGET_KEY: check_budgets(budgets)}, block_draws,
                 common_streams=common_random_numbers, extra=extra, key="--budgets")


def scan_dataset(loaded, swept: xr.Dataset, budgets, age: int, probability: float,
                 target: float, common_random_numbers: bool = True) -> xr.Dataset:
    """The budget scan's dataset from its sweep (see ``scale``)."""
    import xarray as xr

    from simcore.analysis import PARAM_PREFIX
    from simcore.data import dataset

    swept = swept.load()
    params = {name: swept[name] for name in swept.data_vars
              if str(name).startswith(PARAM_PREFIX)}

    def var(name, dims, units, long_name):
        return (("budget", *dims), swept[name].values, {"units": units, "long_name": long_name})

    ds = xr.Dataset(
        {
            "roas": var("roas_paid", ("draw", "age"), "1", "ROAS on UA: cumulative net "
                        "revenue of paid users through age / spend"),
            "net_profit": var("net_profit_paid", ("draw",), "USD", "profit on UA: paid users' "
                              "net revenue through the horizon - spend"),
            "spend": var("spend", ("draw",), "USD", "campaign spend over all cohorts"),
            "cpa": var("cpa", ("draw",), "USD", "realised cost per paid activation"),
            **params,
        },
        coords={
            "budget": ("budget", np.asarray(budgets, dtype=float),
                       {"units": "USD/day",
                        "long_name": "daily budget (campaign.daily_budget_usd)"}),
            "draw": swept.draw.values,
            "age": swept.age,
        },
    )
    ds["expected_profit"] = ds.net_profit.mean("draw").assign_attrs(
        units="USD", long_name="mean over draws of net profit over the horizon")
    ds["p_roas_at_least"] = (ds.roas.sel(age=age) >= target).mean("draw").assign_attrs(
        units="1", long_name=f"P(ROAS at D{age} >= {target:g}) over draws")
    ds["marginal_roas"] = (("budget", "age"), _marginal_roas(swept.net_revenue_paid.values,
                                                             swept.spend.values),
                           {"units": "1", "long_name": "on UA: change of paid users' mean "
                            "cumulative net revenue through age / change of mean spend from "
                            "the next smaller budget (NaN for the first)"})
    if "revenue_by_region_paid" in swept:   # several markets: each market's last dollar
        by_region = np.stack([_marginal_roas(
            swept.revenue_by_region_paid.values[:, :, i], swept.spend_by_region.values[:, :, i])
            for i in range(swept.sizes["region"])], axis=1)
        ds = ds.assign_coords(region=swept.region)
        ds["marginal_roas_by_region"] = (("budget", "region", "age"), by_region, {
            "units": "1", "long_name": "on UA: marginal ROAS of the market's paid users' "
            "revenue over its spend"})
    ds.attrs.update({
        **dataset.scenario_attrs(loaded),
        "age": age,
        "probability": probability,
        "target": target,
        "best_budget_usd": best_budget(ds),
        "largest_safe_budget_usd": largest_safe_budget(ds.p_roas_at_least, probability),
        "streams": "common" if common_random_numbers else "own",
    })
    return ds


def _marginal_roas(revenue: np.ndarray, spend: np.ndarray) -> np.ndarray:
    """[budget, age]: per-draw changes between consecutive budgets, as a ratio of means.

    ``revenue`` [budget, draw, age] cumulative net revenue [USD]; ``spend`` [budget, draw].
    """
    out = np.full((revenue.shape[0], revenue.shape[2]), np.nan)
    d_revenue = np.diff(revenue, axis=0).mean(axis=1)        # [budget - 1, age]
    d_spend = np.diff(spend, axis=0).mean(axis=1)            # [budget - 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        out[1:] = d_revenue / d_spend[:, None]
    return out


def best_budget(ds: xr.Dataset) -> float:
    """Budget [USD/day] with the highest expected profit (the smallest one on a tie)."""
    return float(ds.budget.values[int(np.argmax(ds.expected_profit.values))])


def grid_edge(ds: xr.Dataset) -> str:
    """A warning when the best budget is the largest (or smallest) one tried: the optimum
    may lie beyond the grid; it suggests the next range (empty when it lies inside)."""
    budgets = ds.budget.values.astype(float)
    best = float(ds.attrs["best_budget_usd"])
    if budgets.size < 2 or budgets[0] < best < budgets[-1]:
        return ""
    step = budgets[-1] / budgets[-2] if best == budgets[-1] else budgets[1] / budgets[0]
    step = max(step, 2.0)
    if best == budgets[-1]:
        nxt = [best * step ** k for k in range(0, 4)]
        where = "largest budget tried: expected profit is still rising, so the best budget " \
                "may lie above it"
    else:
        nxt = [best / step ** k for k in range(3, -1, -1)]
        where = "smallest budget tried: expected profit is still rising as the budget " \
                "falls, so the best budget may lie below it"
    budgets_text = ",".join(f"{b:.6g}" for b in nxt if MIN_BUDGET_USD <= b <= MAX_BUDGET_USD)
    return f"Note: that is the {where}; try --budgets {budgets_text}."


def largest_safe_budget(p_roas: xr.DataArray, probability: float) -> float:
    """Largest budget [USD/day] whose P(ROAS >= target) >= ``probability``; NaN if none."""
    ok = p_roas.values >= probability
    return float(p_roas.budget.values[ok].max()) if ok.any() else math.nan


# --- text ------------------------------------------------------------------------------------

def _usd(x: float) -> str:
    return f"{x:,.0f}" if math.isfinite(x) else "-"


def _num(x: float, fmt: str = ".3f") -> str:
    return format(x, fmt) if math.isfinite(x) else "-"


def format_scale(ds: xr.Dataset) -> str:
    """A plain-text table by budget, then the two answers in words."""
    age, target = int(ds.attrs["age"]), float(ds.attrs["target"])
    probability = float(ds.attrs["probability"])
    rule = f"P(ROAS D{age} >= {target:g})"
    roas = ds.roas.sel(age=age)
    q = roas.quantile([0.05, 0.5, 0.95], dim="draw").values          # [quantile, budget]
    columns = [   # (heading, sub-heading, width, text of each budget's value)
        ("budget", "USD/day", 10, [_usd(b) for b in ds.budget.values.astype(float)]),
        ("CPA USD", "mean", 8, [_num(x) for x in ds.cpa.mean("draw").values]),
        (f"ROAS D{age}", "mean", 9, [_num(x) for x in roas.mean("draw").values]),
        ("", "p5", 7, [_num(x) for x in q[0]]),
        ("", "p50", 7, [_num(x) for x in q[1]]),
        ("", "p95", 7, [_num(x) for x in q[2]]),
        (f"P(>={target:g})", "", 8, [f"{x:.0%}" for x in ds.p_roas_at_least.values]),
        ("profit USD", "mean", 12, [_usd(x) for x in ds.expected_profit.values]),
        ("", "p5", 12, [_usd(x) for x in ds.net_profit.quantile(0.05, dim="draw").values]),
        ("marginal", f"ROAS D{age}", 9, [_num(x) for x in
                                         ds.marginal_roas.sel(age=age).values]),
    ]
    streams = "same seed" if ds.attrs.get("streams", "common") == "common" else \
        "own streams per budget"
    lines = [f"{ds.attrs.get('title', '')}  ({ds.sizes['draw']} draws per budget, {streams}; "
             f"ROAS and profit on UA; profit = paid users' net revenue through "
             f"D{int(ds.age.values[-1])} - spend)", ""]
    lines += [" ".join(f"{c[k]:>{c[2]}}" for c in columns) for k in (0, 1)]
    lines += [" ".join(f"{c[3][i]:>{c[2]}}" for c in columns) for i in range(ds.sizes["budget"])]
    best = float(ds.attrs["best_budget_usd"])
    best_profit = float(ds.expected_profit.sel(budget=best))
    lines += ["", f"Budget that maximises expected profit: {_usd(best)} USD/day "
                  f"(expected profit {_usd(best_profit)} USD)."]
    edge = grid_edge(ds)
    if edge:
        lines.append(edge)
    safe = float(ds.attrs["largest_safe_budget_usd"])
    if math.isfinite(safe):
        p = float(ds.p_roas_at_least.sel(budget=safe))
        lines.append(f"Largest budget with {rule} >= {probability:.0%}: {_usd(safe)} USD/day "
                     f"({rule} = {p:.0%}).")
    else:
        lo = float(ds.budget.values[0])
        p = float(ds.p_roas_at_least.values[0])
        lines.append(f"Largest budget with {rule} >= {probability:.0%}: none of these budgets "
                     f"(at the smallest, {_usd(lo)} USD/day, {rule} = {p:.0%}).")
    if "marginal_roas_by_region" in ds:
        per = ds.marginal_roas_by_region.sel(age=age)
        lines += ["", f"Marginal ROAS D{age} of the last dollar by market (from the next "
                      "smaller budget; on UA):",
                  f"{'market':>10} " + " ".join(f"{_usd(b):>10}"
                                                for b in ds.budget.values[1:].astype(float))]
        lines += [f"{str(g):>10} " + " ".join(f"{_num(x):>10}" for x in
                                              per.sel(region=g).values[1:])
                  for g in ds.region.values]
    return "\n".join(lines)


def write_scale(ds: xr.Dataset, path):
    """Write a scale dataset to NetCDF atomically (as ``simcore.data.dataset.write_dataset``)."""
    from simcore.data.dataset import write_dataset

    return write_dataset(ds, path)
