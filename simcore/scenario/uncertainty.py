"""Uncertain assumptions: distributions on scenario fields and their Gaussian-copula sampling.

Any numeric field of a scenario may be written as a distribution instead of a number::

    ecpm_rewarded_usd = { dist = "lognormal", median = 12.0, p90 = 20.0 }
    d1 = { dist = "beta", mean = 0.32, sd = 0.03 }

Kinds: lognormal (median, p90), beta (mean, sd), uniform (low, high), triangular (low, mode,
high), normal (mean, sd, optional low/high: truncated), choice (values, optional weights).
Rank correlations between uncertain fields go in ``[[correlations]]`` tables::

    [[correlations]]
    between = ["retention.d1", "retention.d7"]
    spearman = 0.8

Each draw samples one value per uncertain field: correlated standard normals (Gaussian copula;
a Spearman correlation rho becomes the normal correlation 2 sin(pi rho / 6)) are mapped to
uniforms and through each distribution's inverse CDF. Uniforms are kept within
[TAIL, 1 - TAIL], and a distribution is accepted only if its values over that range lie in the
field's valid range, so every sampled value is a valid value of its field.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from simcore import seeding
from simcore.errors import ScenarioError

TAIL = 1e-9                 # uniforms are clipped to [TAIL, 1 - TAIL] before the inverse CDF
Z90 = 1.2815515655446004    # standard normal 90th percentile

# per kind: (required arguments, optional arguments)
KINDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "lognormal": (("median", "p90"), ()),
    "beta": (("mean", "sd"), ()),
    "uniform": (("low", "high"), ()),
    "triangular": (("low", "mode", "high"), ()),
    "normal": (("mean", "sd"), ("low", "high")),
    "choice": (("values",), ("weights",)),
}


@dataclass(frozen=True)
class Distribution:
    """One uncertain field: its kind and arguments as written in the scenario (field units)."""

    key: str                    # dotted scenario key, e.g. "ads.ecpm_rewarded_usd"
    kind: str
    args: dict = field(hash=False)
    integer: bool = False       # the field takes whole numbers (only 'choice' then)
    unit: str = ""              # the field's unit, e.g. "USD"

    def describe(self) -> str:
        """Text such as ``lognormal(median=12, p90=20)``."""
        def fmt(v):
            return "[" + ", ".join(fmt(x) for x in v) + "]" if isinstance(v, list) else f"{v:g}"
        return f"{self.kind}(" + ", ".join(f"{k}={fmt(v)}" for k, v in self.args.items()) + ")"

    def ppf(self, u: np.ndarray) -> np.ndarray:
        """Inverse CDF at probabilities ``u`` (values in the field's unit)."""
        u = np.asarray(u, dtype=float)
        a = self.args
        if self.kind == "choice":
            values, cum = _choice_table(a)
            idx = np.searchsorted(cum, u, side="left")
            out = values[np.minimum(idx, values.size - 1)]
            return out.astype(np.int64) if self.integer else out
        if self.kind in ("lognormal", "uniform", "triangular"):
            return _closed_form_ppf(self.kind, a, u)
        return self._frozen().ppf(u)

    def median(self):
        """The 50 % quantile, used as the field's central value."""
        v = self.ppf(np.array([0.5]))[0]
        return int(v) if self.integer else float(v)

    def support(self) -> tuple[float, float]:
        """Smallest and largest value this distribution can be sampled at (field units)."""
        if self.kind == "choice":
            values, _ = _choice_table(self.args)
            return float(values[0]), float(values[-1])
        lo, hi = self.ppf(np.array([TAIL, 1.0 - TAIL]))
        return float(lo), float(hi)

    def _frozen(self):
        from scipy import stats  # ~0.5 s to import: only for scenarios with uncertainty

        a = self.args
        if self.kind == "lognormal":
            sigma = math.log(a["p90"] / a["median"]) / Z90
            return stats.lognorm(s=sigma, scale=a["median"])
        if self.kind == "beta":
            m, sd = a["mean"], a["sd"]
            k = m * (1 - m) / sd**2 - 1
            return stats.beta(m * k, (1 - m) * k)
        if self.kind == "uniform":
            return stats.uniform(loc=a["low"], scale=a["high"] - a["low"])
        if self.kind == "triangular":
            width = a["high"] - a["low"]
            return stats.triang(c=(a["mode"] - a["low"]) / width, loc=a["low"], scale=width)
        m, sd = a["mean"], a["sd"]
        lo, hi = a.get("low", -math.inf), a.get("high", math.inf)
        return stats.truncnorm((lo - m) / sd, (hi - m) / sd, loc=m, scale=sd)


def _closed_form_ppf(kind: str, a: dict, u: np.ndarray) -> np.ndarray:
    """The inverse CDF of a lognormal, uniform or triangular distribution, written as
    scipy.stats computes it (the same bits) without importing scipy.stats (about 0.5-1 s), so
    a scenario's medians, and the errors found after them, come at once."""
    if kind == "lognormal":
        from scipy.special import ndtri

        sigma = math.log(a["p90"] / a["median"]) / Z90
        return np.exp(sigma * ndtri(u)) * a["median"]
    if kind == "uniform":
        return u * (a["high"] - a["low"]) + a["low"]
    width = a["high"] - a["low"]
    c = (a["mode"] - a["low"]) / width
    with np.errstate(invalid="ignore"):
        q = np.where(u < c, np.sqrt(c * u), 1.0 - np.sqrt((1.0 - c) * (1.0 - u)))
    return q * width + a["low"]


def _choice_table(a: dict) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct values and their cumulative probabilities."""
    values = np.asarray(a["values"], dtype=float)
    weights = np.asarray(a.get("weights", [1.0] * values.size), dtype=float)
    order = np.argsort(values, kind="stable")
    values, weights = values[order], weights[order]
    keep = weights > 0
    values, weights = values[keep], weights[keep]
    cum = np.cumsum(weights) / weights.sum()
    cum[-1] = 1.0
    return values, cum


@dataclass(frozen=True)
class Correlation:
    between: tuple[str, str]
    spearman: float


@dataclass(frozen=True)
class Uncertainty:
    """The uncertain fields of a scenario and their rank correlations."""

    parameters: tuple[Distribution, ...] = ()
    correlations: tuple[Correlation, ...] = ()

    @property
    def keys(self) -> list[str]:
        return [d.key for d in self.parameters]

    def to_json(self) -> dict:
        return {"parameters": {d.key: {"dist": d.kind, **d.args} for d in self.parameters},
                "correlations": [{"between": list(c.between), "spearman": c.spearman}
                                 for c in self.correlations]}

    def normal_correlation(self) -> np.ndarray:
        """Correlation matrix of the copula's normals (identity without correlations)."""
        index = {k: i for i, k in enumerate(self.keys)}
        r = np.eye(len(index))
        for c in self.correlations:
            i, j = index[c.between[0]], index[c.between[1]]
            r[i, j] = r[j, i] = 2.0 * math.sin(math.pi * c.spearman / 6.0)
        return r

    def sample(self, seed: int, draws, point: int = 0) -> dict[str, np.ndarray]:
        """Sampled values by dotted key for the given draw numbers (field units).

        Each (draw, key) has its own random stream, so draw d's values do not depend on how
        many draws are run, nor on which other fields are uncertain (unless correlated).
        """
        draws = np.atleast_1d(np.asarray(draws, dtype=np.int64))
        if not self.parameters:
            return {}
        from scipy.special import ndtr, ndtri

        chol = np.linalg.cholesky(self.normal_correlation())
        u = np.array([[seeding.parameter_uniform(seed, int(d), key, point) for key in self.keys]
                      for d in draws])
        # z @ chol.T without BLAS, whose rounding can depend on the number of rows
        z = (ndtri(u)[:, None, :] * chol[None, :, :]).sum(axis=2)
        u = np.clip(ndtr(z), TAIL, 1.0 - TAIL)
        return {d.key: d.ppf(u[:, i]) for i, d in enumerate(self.parameters)}


@dataclass(frozen=True)
class Conditioned(Uncertainty):
    """Uncertainty in which some fields take given quantiles, draw by draw (a posterior).

    ``given`` maps a dotted key to quantiles in (0, 1) [draw]: draw d's value of that field
    is its distribution's inverse CDF at ``given[key][d]``; the other fields are sampled as
    in ``Uncertainty`` (their correlations with the given ones are not kept). Used by the
    allocation study to run a scenario on a calibrated forecast's posterior, moved to each
    market's distribution by its quantile."""

    given: dict = field(default_factory=dict, hash=False, compare=False)

    def sample(self, seed: int, draws, point: int = 0) -> dict[str, np.ndarray]:
        draws = np.atleast_1d(np.asarray(draws, dtype=np.int64))
        values = super().sample(seed, draws, point)
        for d in self.parameters:
            if d.key in self.given:
                q = np.asarray(self.given[d.key], dtype=float)
                values[d.key] = d.ppf(np.clip(q[draws % q.size], TAIL, 1.0 - TAIL))
        return values


# --- reading distributions out of a parsed scenario -------------------------------------------

def parse_distribution(key: str, spec, integer: bool, bounds, unit: str = "") -> Distribution:
    """Check one ``{ dist = ... }`` table against its kind and the field's valid range.

    ``bounds`` is (lower, lower_inclusive, upper, upper_inclusive) of the field.
    """
    if not isinstance(spec, dict) or "dist" not in spec:
        raise ScenarioError(key, f"= {spec!r}: give a number or a distribution table "
                            f"{{ dist = ... }} with dist one of {', '.join(KINDS)}")
    kind = spec["dist"]
    if kind not in KINDS:
        raise ScenarioError(f"{key}.dist", f"= {kind!r}: unknown distribution (valid: "
                            f"{', '.join(KINDS)})")
    required, optional = KINDS[kind]
    args = {k: v for k, v in spec.items() if k != "dist"}
    for name in args:
        if name not in required + optional:
            raise ScenarioError(f"{key}.{name}", f"unknown argument of a {kind} distribution "
                                f"(valid: {', '.join(required + optional)})")
    for name in required:
        if name not in args:
            raise ScenarioError(f"{key}.{name}", f"missing: a {kind} distribution needs "
                                f"{', '.join(required)}")
    if integer and kind != "choice":
        raise ScenarioError(f"{key}.dist", f"= {kind!r}: this field takes whole numbers; use "
                            "dist = \"choice\" with integer values")
    _check_numbers(key, kind, args, integer)
    lower, lower_in, upper, upper_in = bounds
    if kind == "beta" and (lower is None or lower < 0 or upper is None or upper > 1):
        raise ScenarioError(f"{key}.dist", f"= 'beta': a beta distribution is for "
                            f"probabilities and shares in 0 ... 1, and this field's valid range "
                            f"is {range_text(bounds)}")
    dist = Distribution(key, kind, args, integer, unit)
    lo, hi = dist.support()
    if lower is not None and (lo < lower or (lo == lower and not lower_in)):
        raise ScenarioError(key, f"{dist.describe()} reaches {lo:.4g}, outside the valid range "
                            f"({range_text(bounds)})")
    if upper is not None and (hi > upper or (hi == upper and not upper_in)):
        raise ScenarioError(key, f"{dist.describe()} reaches {hi:.4g}, outside the valid range "
                            f"({range_text(bounds)})")
    return dist


def range_text(bounds) -> str:
    lower, lower_in, upper, upper_in = bounds
    lo = "" if lower is None else f"{lower:g} {'<=' if lower_in else '<'} "
    hi = "" if upper is None else f" {'<=' if upper_in else '<'} {upper:g}"
    return f"{lo}value{hi}"


def _number(key: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ScenarioError(key, f"= {value!r}: must be a finite number")
    return float(value)


def _check_numbers(key: str, kind: str, a: dict, integer: bool) -> None:
    """Each kind's own rules (p90 above median, a feasible beta sd, ordered bounds...)."""
    if kind == "choice":
        values = a["values"]
        if not isinstance(values, list) or not values:
            raise ScenarioError(f"{key}.values", f"= {values!r}: give a non-empty list")
        for v in values:
            _number(f"{key}.values", v)
            if integer and (isinstance(v, float) or isinstance(v, bool)):
                raise ScenarioError(f"{key}.values", f"= {values!r}: this field takes whole "
                                    "numbers")
        if "weights" in a:
            w = a["weights"]
            if not isinstance(w, list) or len(w) != len(values):
                raise ScenarioError(f"{key}.weights", f"= {w!r}: give one weight per value "
                                    f"({len(values)})")
            if any(_number(f"{key}.weights", x) < 0 for x in w) or not 0 < sum(w) < math.inf:
                raise ScenarioError(f"{key}.weights", f"= {w!r}: weights must be >= 0 with a "
                                    "positive, finite sum")
        return
    v = {name: _number(f"{key}.{name}", x) for name, x in a.items()}
    if kind == "lognormal":
        if v["median"] <= 0:
            raise ScenarioError(f"{key}.median", f"= {v['median']:g}: must be > 0")
        if v["p90"] <= v["median"]:
            raise ScenarioError(f"{key}.p90", f"= {v['p90']:g}: must exceed the median "
                                f"({v['median']:g})")
    elif kind == "beta":
        m, sd = v["mean"], v["sd"]
        if not 0 < m < 1:
            raise ScenarioError(f"{key}.mean", f"= {m:g}: a beta mean lies in 0 < mean < 1")
        limit = math.sqrt(m * (1 - m))
        if not 0 < sd < limit:
            raise ScenarioError(f"{key}.sd", f"= {sd:g}: impossible for a beta with mean {m:g} "
                                f"(valid range: 0 < sd < {limit:.4g})")
    elif kind == "uniform":
        if v["high"] <= v["low"]:
            raise ScenarioError(f"{key}.high", f"= {v['high']:g}: must exceed low ({v['low']:g})")
    elif kind == "triangular":
        if v["high"] <= v["low"]:
            raise ScenarioError(f"{key}.high", f"= {v['high']:g}: must exceed low ({v['low']:g})")
        if not v["low"] <= v["mode"] <= v["high"]:
            raise ScenarioError(f"{key}.mode", f"= {v['mode']:g}: must lie in low <= mode <= "
                                f"high ({v['low']:g} ... {v['high']:g})")
    elif kind == "normal":
        if v["sd"] <= 0:
            raise ScenarioError(f"{key}.sd", f"= {v['sd']:g}: must be > 0")
        if "low" in v and "high" in v and v["high"] <= v["low"]:
            raise ScenarioError(f"{key}.high", f"= {v['high']:g}: must exceed low ({v['low']:g})")
        lo, hi = v.get("low", -math.inf), v.get("high", math.inf)
        if (lo - v["mean"]) / v["sd"] > 6 or (v["mean"] - hi) / v["sd"] > 6:
            raise ScenarioError(key, "the truncation bounds leave almost none of the normal "
                                "(mean more than 6 sd outside low ... high)")


def parse_correlations(raw, keys: list[str]) -> tuple[Correlation, ...]:
    """``[[correlations]]`` tables -> checked pairs; the matrix must be positive definite."""
    if not isinstance(raw, list) or not all(isinstance(t, dict) for t in raw):
        raise ScenarioError("correlations", "write each pair as a [[correlations]] table with "
                            "between = [\"a.key\", \"b.key\"] and spearman = r")
    pairs, seen = [], set()
    for i, table in enumerate(raw):
        where = f"correlations[{i}]"
        extra = set(table) - {"between", "spearman"}
        if extra:
            raise ScenarioError(f"{where}.{sorted(extra)[0]}", "unknown key (valid keys: "
                                "between, spearman)")
        between, rho = table.get("between"), table.get("spearman")
        if (not isinstance(between, list) or len(between) != 2
                or not all(isinstance(k, str) for k in between)):
            raise ScenarioError(f"{where}.between", f"= {between!r}: give two dotted keys, e.g. "
                                "[\"retention.d1\", \"retention.d7\"]")
        for k in between:
            if k not in keys:
                known = ", ".join(keys) if keys else "none"
                raise ScenarioError(f"{where}.between", f"'{k}' is not an uncertain parameter "
                                    f"of this scenario (uncertain: {known})")
        if between[0] == between[1]:
            raise ScenarioError(f"{where}.between", f"= {between!r}: a key with itself")
        pair = frozenset(between)
        if pair in seen:
            raise ScenarioError(f"{where}.between", f"= {between!r}: this pair is given twice")
        seen.add(pair)
        if rho is None:
            raise ScenarioError(f"{where}.spearman", "missing: the rank correlation, -1 < r < 1")
        if isinstance(rho, bool) or not isinstance(rho, int | float) or not -1 < rho < 1:
            raise ScenarioError(f"{where}.spearman", f"= {rho!r}: valid range: -1 < value < 1")
        pairs.append(Correlation((between[0], between[1]), float(rho)))
    return tuple(pairs)


def check_matrix(u: Uncertainty) -> None:
    """Refuse rank correlations that no joint distribution can have."""
    if not u.correlations:
        return
    eig = np.linalg.eigvalsh(u.normal_correlation())
    if eig.min() <= 1e-10:
        raise ScenarioError("correlations", f"these rank correlations cannot hold together: "
                            f"the correlation matrix is not positive definite (smallest "
                            f"eigenvalue {eig.min():.3g})")
