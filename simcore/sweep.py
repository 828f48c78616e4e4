"""Grid sweeps: the scenario run at every combination of values of some keys.

``--grid campaign.daily_budget_usd=1000,5000,10000`` (a list), ``--grid
ads.ecpm_rewarded_usd=8:20:7`` (7 values from 8 to 20) or ``...=1000:20000:5:log``
(geometric). The result has one dimension per swept key (its values as coordinates) beside
``draw`` and ``age``. Each grid point is a sweep point of the seeding (its own campaign and
user streams, keyed by the point's flat index), while draw d's uncertain parameters are the
same at every point: the sweep compares the same states of the world.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import xarray as xr

from simcore.errors import ScenarioError

# run-shape keys a grid cannot move (the result's dims and streams depend on them)
FIXED = ("simulation.", "markets", "rules", "correlations")
# per-point outcomes kept: (draw,) and (draw, age) variables of a run
KEPT = ("roas", "roas_paid", "payback_day", "cpa")


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


def sweep(loaded, grid: dict[str, Sequence[float]],
          progress: Callable[[int], None] | None = None) -> xr.Dataset:
    """Run ``loaded`` at every point of ``grid`` (dotted key -> values).

    Returns a dataset with dims (*grid keys, draw, age): ``roas``, ``roas_paid`` (1),
    ``payback_day`` [days], ``cpa`` [USD], ``net_profit`` [USD], ``spend`` [USD],
    ``activations`` [users] by point and draw; the uncertain parameters ``param_<key>``
    (draw), shared by every point. ``progress`` is called with 1 after each draw of each
    point.
    """
    from simcore.analysis import PARAM_PREFIX, net_profit
    from simcore.dataset import scenario_attrs
    from simcore.simulate import run

    if not grid:
        raise ScenarioError("--grid", "give at least one key to sweep")
    keys = list(grid)
    values = [np.asarray(grid[k], dtype=float) for k in keys]
    shape = tuple(v.size for v in values)
    points = []
    for flat, index in enumerate(np.ndindex(*shape)):
        overrides = [f"{k}={_literal(loaded, k, v[i])}" for k, v, i in zip(keys, values, index)]
        try:
            variant = loaded.with_overrides(*overrides)
        except ScenarioError as err:
            raise ScenarioError(f"--grid {err.key}", err.message, loaded.source) from None
        points.append(run(variant, progress=progress, point=flat))
    first = points[0]

    def stack(get, dims, attrs):
        data = np.stack([get(p) for p in points]).reshape(shape + get(first).shape)
        return (*keys, *dims), data, attrs

    data = {name: stack(lambda p, n=name: p[n].values, first[name].dims, first[name].attrs)
            for name in KEPT}
    data["net_profit"] = stack(lambda p: net_profit(p).values, ("draw",),
                               {"units": "USD", "long_name": "net revenue through the "
                                "horizon - spend"})
    data["spend"] = stack(lambda p: p.spend.sum("cohort").values, ("draw",),
                          {"units": "USD", "long_name": "spend over all cohorts"})
    data["activations"] = stack(lambda p: p.activations.sum("cohort").values, ("draw",),
                                {"units": "users", "long_name": "activations, all channels"})
    coords = {k: (k, v, {"long_name": f"swept value of {k}"}) for k, v in zip(keys, values)}
    ds = xr.Dataset(data, coords={**coords, "draw": first.draw, "age": first.age})
    for name in first.data_vars:
        if str(name).startswith(PARAM_PREFIX):
            ds[name] = first[name]
    ds.attrs = {**scenario_attrs(loaded), "swept_keys": ",".join(keys)}
    return ds


def format_sweep(ds: xr.Dataset, day: int = 7) -> str:
    """One line per grid point: the swept values, ROAS at ``day`` (p5/p50/p95), P(ROAS >= 1)
    there, median payback day and mean net profit."""
    keys = ds.attrs["swept_keys"].split(",")
    roas = ds.roas.sel(age=day)
    q = roas.quantile([0.05, 0.5, 0.95], dim="draw")
    head = "".join(f"{k.split('.')[-1][:18]:>20}" for k in keys)
    lines = [f"{ds.attrs.get('title', '')}  ({ds.sizes['draw']} draws per point)", "",
             f"{head}{'ROAS D' + str(day) + ' p5':>14}{'p50':>8}{'p95':>8}{'P(>=1)':>8}"
             f"{'payback p50':>13}{'profit mean':>14}"]
    for index in np.ndindex(*(ds.sizes[k] for k in keys)):
        at = dict(zip(keys, index))
        payback = ds.payback_day.isel(at).values
        days = np.where(np.isnan(payback), np.inf, payback)
        median = float(np.quantile(days, 0.5, method="inverted_cdf"))
        lines.append("".join(f"{float(ds[k].values[i]):>20,.6g}" for k, i in at.items())
                     + f"{float(q.isel(at).sel(quantile=0.05)):>14.3f}"
                     + f"{float(q.isel(at).sel(quantile=0.5)):>8.3f}"
                     + f"{float(q.isel(at).sel(quantile=0.95)):>8.3f}"
                     + f"{float((roas.isel(at) >= 1).mean()):>8.0%}"
                     + (f"{'D' + str(int(median)):>13}" if math.isfinite(median)
                        else f"{'never':>13}")
                     + f"{float(ds.net_profit.isel(at).mean()):>14,.0f}")
    return "\n".join(lines)
