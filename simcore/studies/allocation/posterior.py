"""Allocation on a calibrated forecast's posterior (``simcore optimize --from forecast.nc``).

``simcore calibrate`` writes the posterior of the scenario's uncertain assumptions as
particles (``posterior_<key>`` [particle]). Here each particle becomes a quantile of that
assumption's prior in the calibrated scenario (its CDF, by interpolation of the inverse CDF on
a fine grid), and draw d of the allocation takes particle ``order[d mod particles]`` (a
permutation keyed by the scenario's seed): each market's value of the assumption is its own
distribution's inverse CDF at that quantile. So a test campaign calibrated in one market
informs every market the way ``[[markets]]`` moves the assumption there (region levels
scale a distribution, so the quantile carries over exactly); in the calibrated scenario
itself the particle's value comes back unchanged. Assumptions the forecast did not learn
are drawn from their prior as usual (their prior correlation with learned ones is dropped).
What is not carried: the forecast's learned discrepancy (tau), which describes how the
model missed the test campaign's report, not a new campaign.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from simcore.errors import ScenarioError

GRID = 20_001            # points of the inverse CDF the prior's CDF is interpolated on
PREFIX = "posterior_"


@dataclass(frozen=True)
class Posterior:
    """Posterior particles as quantiles of the calibrated scenario's prior: ``quantiles``
    [particle, key] in (0, 1)."""

    keys: tuple[str, ...]
    quantiles: np.ndarray
    source: str
    dropped: tuple[str, ...] = ()    # learned, but fixed in the scenario allocated: not used
    title: str = ""                  # the calibrated scenario's title.name

    @property
    def particles(self) -> int:
        return self.quantiles.shape[0]

    def condition(self, loaded, seed: int):
        """``loaded`` with its draws on the posterior: draw d takes particle
        ``order[d mod particles]``, ``order`` a permutation keyed by ``seed``."""
        from simcore import seeding
        from simcore.scenario.uncertainty import Conditioned

        n = loaded.scenario.simulation.draws
        rng = seeding.draw_rng(seeding.CALIBRATION, int(seed), 2)
        order = rng.permutation(self.particles)
        pick = order[np.arange(n) % self.particles]
        unc = loaded.uncertainty
        given = {k: self.quantiles[pick, j] for j, k in enumerate(self.keys)
                 if k in unc.keys}
        conditioned = Conditioned(unc.parameters, unc.correlations, given)
        return dataclasses.replace(loaded, uncertainty=conditioned)


def _quantiles(dist, values: np.ndarray) -> np.ndarray:
    """The prior CDF of ``dist`` at ``values``: the inverse CDF on a fine grid, inverted by
    interpolation (exact at the grid; a discrete choice gets its step's middle)."""
    from simcore.scenario.uncertainty import TAIL

    u = np.linspace(TAIL, 1.0 - TAIL, GRID)
    v = np.asarray(dist.ppf(u), dtype=float)
    v, first = np.unique(v, return_index=True)
    last = np.append(first[1:] - 1, u.size - 1)
    mid = 0.5 * (u[first] + u[last])
    if dist.kind == "choice":              # a step function: the step's middle
        idx = np.clip(np.searchsorted(v, values), 0, v.size - 1)
        return mid[idx]
    return np.interp(values, v, u[first])


def read_posterior(path, loaded) -> Posterior:
    """The posterior of the forecast at ``path`` (written by ``simcore calibrate -o``) for
    scenario ``loaded``: the assumptions it learned that are uncertain in ``loaded`` (those
    ``loaded`` fixes are listed in ``dropped``; none in common is refused in one line)."""
    from simcore.data.dataset import read_run
    from simcore.scenario.loading import load_text

    path = Path(path)
    try:
        ds = read_run(path)
    except ScenarioError as exc:
        raise ScenarioError("--from", f"{path}: {exc.message}; give a forecast written by "
                            "simcore calibrate -o") from None
    keys = tuple(str(n)[len(PREFIX):] for n in ds.data_vars if str(n).startswith(PREFIX)
                 and not str(n).startswith(PREFIX + "discrepancy."))
    if not keys or "calibration" not in ds.attrs:
        raise ScenarioError("--from", f"{path}: not a calibrated forecast (no posterior "
                            "particles); write one with simcore calibrate SCENARIO --observed "
                            "REPORT -o forecast.nc")
    calibrated = load_text(str(ds.attrs["scenario_toml"]), str(path), tuple(
        o for o in str(ds.attrs.get("scenario_overrides", "")).split("\n") if o))
    kind, kind_here = calibrated.scenario.title.kind, loaded.scenario.title.kind
    if kind != kind_here:
        raise ScenarioError("--from", f"{path}: a forecast of a {kind} "
                            f"({calibrated.scenario.title.name}), not of a {kind_here}: "
                            "calibrate a scenario of the same kind")
    prior = {d.key: d for d in calibrated.uncertainty.parameters}
    used = tuple(k for k in keys if k in loaded.uncertainty.keys)
    if not used:
        raise ScenarioError("--from", f"{path}: the forecast learned {', '.join(keys)}, "
                            f"all of which {loaded.source} fixes; write them as distributions "
                            "there (the posterior moves each market's distribution by "
                            "quantile)")
    q = np.column_stack([_quantiles(prior[k], ds[PREFIX + k].values.astype(float))
                         for k in used])
    return Posterior(used, q, str(path), tuple(k for k in keys if k not in used),
                     calibrated.scenario.title.name)
