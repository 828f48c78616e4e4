"""Read a scenario file, apply ``--set`` overrides (``overrides``), take out the uncertainty,
validate (``validation``): a ``LoadedScenario``; errors in one line.

Limits on what is read (each refused with one line naming the file and the limit): a scenario
file is a regular file of at most ``MAX_SCENARIO_BYTES`` (1 MiB; the packaged ones are under
10 KiB), UTF-8 (one leading byte-order mark is accepted), with arrays and tables nested at
most ``MAX_NESTING`` levels deep (a scenario needs 5: ``[[markets]]``, its ``set``, a
distribution table, its ``values``).
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import json
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
from pydantic import ValidationError

from simcore.errors import ScenarioError
from simcore.scenario.drama import DRAMA_ONLY
from simcore.scenario.files import read_bounded
from simcore.scenario.markets import resolve_markets
from simcore.scenario.overrides import MAX_NESTING, TOO_DEEP, apply_overrides
from simcore.scenario.schema import RUN_SHAPE_KEYS, RUN_SHAPE_SECTIONS, Scenario
from simcore.scenario.uncertainty import (
    Uncertainty,
    check_matrix,
    parse_correlations,
    parse_distribution,
)
from simcore.scenario.validation import (
    dotted,
    field_bounds,
    first_error,
    model_of,
    numeric_kind,
    unknown_key,
    validate,
)

PACKAGED = "simcore.scenarios"
DEFAULT_SCENARIO = "reborn_emperor_us"
MAX_SCENARIO_BYTES = 1 << 20    # [bytes] largest scenario file read (1 MiB)
BOM = "\ufeff"                  # a UTF-8 byte-order mark, skipped at the start of a file


@dataclass(frozen=True)
class LoadedScenario:
    """A validated scenario with the text it came from (stored in every dataset).

    ``scenario`` holds each uncertain field at its median; ``uncertainty`` holds the
    distributions, and ``scenario_for(values)`` gives the scenario of one draw.
    """

    scenario: Scenario
    source: str              # file name (and overrides) for messages
    text: str                # the TOML text as read
    overrides: tuple[str, ...] = ()
    uncertainty: Uncertainty = Uncertainty()
    data: dict | None = None  # parsed TOML (overrides applied, medians in place of dists)
    origin: str = ""          # the file (or name) alone, without the overrides
    # each [[markets]] table's scenario (see simcore.scenario.markets), resolved at load
    markets: tuple["LoadedScenario", ...] = dataclasses.field(default=(), compare=False,
                                                                repr=False)

    @property
    def resolved_json(self) -> str:
        """Canonical JSON of the validated scenario (overrides applied) and its uncertainty."""
        doc = self.scenario.model_dump(mode="json")
        if doc["title"]["kind"] == "game":   # a game hashes as it did before dramas existed
            del doc["title"]["kind"]
            for name in DRAMA_ONLY:
                del doc[name]
        if doc.get("goal") is None:          # hashes as before goals existed
            doc.pop("goal", None)
        if self.uncertainty.parameters:
            doc["uncertainty"] = self.uncertainty.to_json()
        return json.dumps(doc, sort_keys=True)

    def fixed(self) -> "LoadedScenario":
        """This scenario with every uncertain field fixed at its median (distributions inside
        a market's ``set`` table stay as they are)."""
        return self.with_overrides(*(f"{d.key}={d.median()!r}"
                                     for d in self.uncertainty.parameters))

    def scaled(self, key: str, factor: float) -> "LoadedScenario":
        """This scenario with field ``key`` multiplied by ``factor`` (for what-if studies).

        A number is multiplied; a distribution becomes that of ``factor`` times the value
        (every argument in the field's unit is scaled; a beta cannot be scaled).
        """
        return self.with_overrides(self.scaled_override(key, factor))

    def scaled_override(self, key: str, factor: float) -> str:
        """The ``dotted.key=value`` override that ``scaled(key, factor)`` applies."""
        dist = next((d for d in self.uncertainty.parameters if d.key == key), None)
        if dist is None:
            section, _, name = key.partition(".")
            value = getattr(getattr(self.scenario, section, None), name, None)
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ScenarioError(key, "not a numeric field of this scenario", self.source)
            return f"{key}={value * factor!r}"
        if dist.kind == "beta":
            raise ScenarioError(key, "a beta distribution cannot be scaled; give new mean and "
                                "sd with with_overrides()", self.source)
        args = {k: ([x * factor for x in v] if k == "values" else v)
                if k in ("values", "weights") else v * factor for k, v in dist.args.items()}
        table = ", ".join(f"{k} = {v!r}" for k, v in {"dist": dist.kind, **args}.items())
        return f"{key}={{ {table} }}".replace("'", '"')

    def with_overrides(self, *overrides: str) -> "LoadedScenario":
        """This scenario with more ``dotted.key=value`` overrides (validated the same way)."""
        return load_text(self.text, self.origin, self.overrides + tuple(overrides))

    def draw_scenarios(self, point: int = 0, draws=None,
                       ) -> tuple[list[Scenario], dict[str, np.ndarray]]:
        """Each draw's scenario and the sampled uncertain values [draw] by dotted key.

        ``draws``: the draw numbers (default all, 0 .. draws - 1); draw d's values do not
        depend on which others are drawn. Every draw is validated, so a conflict between
        sampled values fails here, naming the draw and the key.
        """
        sim = self.scenario.simulation
        draws = np.arange(sim.draws) if draws is None else np.asarray(draws, dtype=np.int64)
        values = self.uncertainty.sample(sim.seed, draws, point)
        if not values:
            return [self.scenario] * draws.size, values
        return [self.scenario_for({k: v[i] for k, v in values.items()}, draw=int(d))
                for i, d in enumerate(draws)], values

    def scenario_for(self, values: dict[str, float], draw: int | None = None) -> Scenario:
        """The scenario with the given uncertain fields set (e.g. one draw's sample)."""
        if not values:
            return self.scenario
        data = dict(self.data)          # copy only the sections that change: pydantic
        for key, value in values.items():  # builds new objects and never mutates its input
            section, name = key.split(".")
            if data[section] is self.data[section]:
                data[section] = dict(data[section])
            data[section][name] = value.item() if isinstance(value, np.generic) else value
        try:
            return Scenario.model_validate(data)
        except (ScenarioError, ValidationError) as exc:
            err = exc if isinstance(exc, ScenarioError) else first_error(exc, data)
            which = f"draw {draw}" if draw is not None else "these values"
            raise ScenarioError(err.key, f"{err.message} (in {which}: sampled values of the "
                                "uncertain parameters conflict; narrow their distributions "
                                "or correlate them)", self.source) from None

    @property
    def hash(self) -> str:
        """sha256 of the canonical JSON: equal hashes mean equal inputs."""
        return hashlib.sha256(self.resolved_json.encode()).hexdigest()


def packaged_scenarios() -> dict[str, Path]:
    """Scenario files shipped with the package, by name (file stem)."""
    root = resources.files(PACKAGED)
    return {Path(p.name).stem: Path(str(p)) for p in root.iterdir() if p.name.endswith(".toml")}


def resolve_path(spec: str | Path | None) -> Path:
    """A scenario path, or the name of a packaged scenario; None = the default scenario.

    A relative path is relative to the current working directory (as given, not made
    absolute here; ``missing_file_message`` names the absolute path that was looked for)."""
    if spec is None:
        return packaged_scenarios()[DEFAULT_SCENARIO]
    path = Path(spec)
    if not path.exists():
        shipped = packaged_scenarios()
        if str(spec) in shipped:
            return shipped[str(spec)]
    return path


def load_scenario(spec: str | Path | None = None, overrides: list[str] | tuple[str, ...] = (),
                  ) -> LoadedScenario:
    """Load and validate a scenario file; ``overrides`` are ``dotted.key=value`` strings.

    Raises ``ScenarioError`` (one line, naming the file and key) on any problem.
    """
    if isinstance(spec, str) and not spec.strip():
        raise ScenarioError("", "empty file name: give a scenario file or the name of a "
                            "packaged scenario (simcore scenarios lists them)",
                            f"scenario file {spec!r}")
    path = resolve_path(spec)
    source = str(spec if spec is not None else path)
    return load_text(read_scenario_file(path, source), source, tuple(overrides))


def missing_file_message(path: Path) -> str:
    """What a missing scenario file is refused with: the absolute path looked for (a relative
    one against the current working directory) and where the packaged scenarios are listed."""
    return (f"no such scenario file (looked for {Path(path).absolute()}; packaged scenarios: "
            "simcore scenarios)")


def read_scenario_file(path: Path, source: str) -> str:
    """The text of a scenario file, refused (``ScenarioError``) before reading when it is not
    a regular file or is over ``MAX_SCENARIO_BYTES``; never reads more than that."""
    raw = read_bounded(path, MAX_SCENARIO_BYTES, source, "a scenario is a .toml file",
                       f"{MAX_SCENARIO_BYTES:,}-byte (1 MiB) limit of a scenario file "
                       "(MAX_SCENARIO_BYTES)", missing_file_message(path))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ScenarioError("", "not UTF-8 text (is it a TOML scenario file?)",
                            source) from None


def load_text(text: str, source: str, overrides: tuple[str, ...] = ()) -> LoadedScenario:
    """Parse, override and validate scenario TOML text; ``source`` names it in errors.

    A multi-market scenario's markets are resolved and validated too (``markets``).
    """
    text = text.removeprefix(BOM)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError("", f"not valid TOML: {exc}", source) from None
    except RecursionError:
        raise ScenarioError("", TOO_DEEP, source) from None
    check_nesting(data, source)
    origin = source
    if overrides:
        source = f"{source} (with --set {' '.join(overrides)})"
        data = apply_overrides(data, overrides, source)
        check_nesting(data, source)
    unknown = unknown_key(data)
    if unknown is not None:     # before the distributions: a misspelt key may be correlated
        raise unknown.with_source(source)
    try:
        data, uncertainty = split_uncertainty(data, {o.partition("=")[0].strip()
                                                     for o in overrides})
    except ScenarioError as exc:
        raise exc.with_source(source) from None
    loaded = LoadedScenario(validate(data, source), source, text, tuple(overrides),
                            uncertainty, data, origin)
    if loaded.scenario.markets:        # (a drama refuses [[markets]])
        loaded = dataclasses.replace(loaded, markets=resolve_markets(loaded))
    return loaded


def check_nesting(data: dict, source: str) -> None:
    """Refuse arrays and tables nested more than ``MAX_NESTING`` levels (walked without
    recursion, so any depth is reported in one line)."""
    stack = [(data, ())]
    while stack:
        node, path = stack.pop()
        if len(path) > MAX_NESTING:
            raise ScenarioError(dotted(path[:3]) + "...", TOO_DEEP, source)
        items = node.items() if isinstance(node, dict) else enumerate(node)
        stack.extend((v, path + (k,)) for k, v in items if isinstance(v, dict | list))


def scenario_from_text(text: str, source: str = "<text>",
                       overrides: tuple[str, ...] = ()) -> LoadedScenario:
    """Validate a scenario given as TOML text (e.g. the copy stored in a dataset)."""
    return load_text(text, source, tuple(overrides))


def split_uncertainty(data: dict, overridden: set[str] = frozenset()) -> tuple[dict, Uncertainty]:
    """Take the distribution tables and ``[[correlations]]`` out of a parsed scenario.

    Returns the data with each distribution replaced by its median, and the ``Uncertainty``.
    Tables in unknown sections or keys are left for the schema to report. Correlations of a
    field that an override (``overridden`` keys) set to a number are dropped with it.
    """
    data = copy.deepcopy(data)
    correlations = data.pop("correlations", [])
    dists = []
    for section_name, section in data.items():
        model = model_of(Scenario.model_fields[section_name].annotation) \
            if section_name in Scenario.model_fields else None
        if model is None or not isinstance(section, dict):
            continue
        for name, value in section.items():
            info = model.model_fields.get(name)
            if not isinstance(value, dict) or info is None or model_of(info.annotation):
                continue                 # not ours to read, or a sub-section such as quality.*
            key = f"{section_name}.{name}"
            if section_name in RUN_SHAPE_SECTIONS or key in RUN_SHAPE_KEYS:
                raise ScenarioError(key, "cannot be uncertain: it sets the shape of the run; "
                                    "give a number")
            kind = numeric_kind(info.annotation)
            if kind is None:
                raise ScenarioError(key, "a distribution is only allowed on a numeric field")
            unit = (info.json_schema_extra or {}).get("unit", "")
            dist = parse_distribution(key, value, kind is int, field_bounds(info), unit)
            dists.append(dist)
            section[name] = dist.median()
    keys = [d.key for d in dists]
    if isinstance(correlations, list):
        correlations = [c for c in correlations if not (
            isinstance(c, dict) and isinstance(c.get("between"), list)
            and any(k in overridden and k not in keys for k in c["between"]))]
    uncertainty = Uncertainty(tuple(dists), parse_correlations(correlations, keys))
    check_matrix(uncertainty)
    return data, uncertainty


# --- unknown keys, reported before anything else ---------------------------------------------

# --- turning pydantic's errors into one line ------------------------------------------------

