"""Read a scenario file, apply ``--set`` overrides, validate; report errors in one line.

Limits on what is read (each refused with one line naming the file and the limit): a scenario
file is a regular file of at most ``MAX_SCENARIO_BYTES`` (1 MiB; the packaged ones are under
10 KiB), UTF-8 (one leading byte-order mark is accepted), with arrays and tables nested at
most ``MAX_NESTING`` levels deep (a scenario needs 5: ``[[markets]]``, its ``set``, a
distribution table, its ``values``).
"""

from __future__ import annotations

import copy
import dataclasses
import difflib
import hashlib
import json
import math
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import annotated_types
import numpy as np
from pydantic import BaseModel, ValidationError

from simcore.errors import ScenarioError
from simcore.scenario.drama import DRAMA_ONLY
from simcore.scenario.files import read_bounded
from simcore.scenario.markets import quoted, resolve_markets
from simcore.scenario.schema import RUN_SHAPE_KEYS, RUN_SHAPE_SECTIONS, Scenario
from simcore.scenario.uncertainty import (
    Uncertainty,
    check_matrix,
    parse_correlations,
    parse_distribution,
    range_text,
)

PACKAGED = "simcore.scenarios"
DEFAULT_SCENARIO = "reborn_emperor_us"
MAX_SCENARIO_BYTES = 1 << 20    # [bytes] largest scenario file read (1 MiB)
MAX_NESTING = 32                # deepest nesting of arrays and tables in a scenario
BOM = "\ufeff"                  # a UTF-8 byte-order mark, skipped at the start of a file
TOO_DEEP = (f"nested too deeply: arrays and tables may nest at most {MAX_NESTING} levels "
            "(MAX_NESTING)")


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
        data = copy.deepcopy(self.data)
        for key, value in values.items():
            section, name = key.split(".")
            data[section][name] = value.item() if isinstance(value, np.generic) else value
        try:
            return Scenario.model_validate(data)
        except (ScenarioError, ValidationError) as exc:
            err = exc if isinstance(exc, ScenarioError) else _first_error(exc, data)
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


def channel_scenario(s: Scenario, channel: str) -> Scenario:
    """The scenario of the users ``channel`` brings: ``[quality.<channel>]`` applied."""
    q = getattr(s.quality, channel, None) if s.quality is not None else None
    if q is None or (q.retention, q.engagement, q.payers) == (1.0, 1.0, 1.0):
        return s
    data = s.model_dump()
    data["quality"] = None
    key = f"quality.{channel}"
    if q.retention != 1.0:
        targets = s.retention.targets()
        if not targets:
            raise ScenarioError(f"{key}.retention", "needs retention targets (d1 ... d90) to "
                                "multiply; this scenario gives alpha and beta")
        for age, value in targets.items():
            data["retention"][f"d{age}"] = value * q.retention
    data["engagement"]["sessions_per_day"] *= q.engagement
    if s.iap is not None and q.payers != 1.0:
        if s.iap.r is not None:
            data["iap"]["alpha"] /= q.payers
        else:
            data["iap"]["payer_share_d7"] *= q.payers
            data["iap"]["payer_share_d30"] *= q.payers
    try:
        return Scenario.model_validate(data)
    except (ScenarioError, ValidationError) as exc:  # a multiplied value left its range
        err = exc if isinstance(exc, ScenarioError) else _first_error(exc, data)
        raise ScenarioError(key, f"makes {err.key} {err.message}") from None


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


def numeric_kind(annotation):
    """int or float for a (possibly optional) numeric field, else None."""
    args = getattr(annotation, "__args__", (annotation,))
    kinds = [a for a in args if a in (int, float)]
    return kinds[0] if len(kinds) == 1 and len(args) <= 2 else None


def field_bounds(info) -> tuple:
    """(lower, lower inclusive, upper, upper inclusive) of a field's constraints."""
    lower = upper = None
    lower_in = upper_in = True
    for meta in info.metadata:
        if isinstance(meta, annotated_types.Gt):
            lower, lower_in = meta.gt, False
        elif isinstance(meta, annotated_types.Ge):
            lower, lower_in = meta.ge, True
        elif isinstance(meta, annotated_types.Lt):
            upper, upper_in = meta.lt, False
        elif isinstance(meta, annotated_types.Le):
            upper, upper_in = meta.le, True
    return lower, lower_in, upper, upper_in


def parse_override(item: str, source: str) -> tuple[list[str], Any]:
    """``dotted.key=value`` -> (key parts, TOML-typed value; bare words stay strings).

    A top-level list of tables (``rules=[{...}]``, ``correlations=[{...}]``) is set whole.
    """
    key, sep, raw = item.partition("=")
    key = key.strip()
    parts = key.split(".")
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    except RecursionError:
        raise ScenarioError(key, TOO_DEEP, source) from None
    if not sep or not all(parts) or (len(parts) < 2 and not isinstance(value, list)):
        raise ScenarioError(key or item, "--set needs section.key=value, e.g. "
                            "--set campaign.daily_budget_usd=5000", source)
    return parts, value


def apply_overrides(data: dict, overrides, source: str) -> dict:
    """A copy of ``data`` with each ``dotted.key=value`` set (validated later, as a whole)."""
    data = copy.deepcopy(data)
    for item in overrides:
        parts, value = parse_override(item, source)
        node = data
        for i, part in enumerate(parts[:-1]):
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ScenarioError(".".join(parts[: i + 1]), "is a value, not a section",
                                    source)
            node = child
        node[parts[-1]] = value
    return data


def validate(data: dict, source: str) -> Scenario:
    """Validate a parsed scenario dict; any problem becomes a one-line ``ScenarioError``."""
    try:
        return Scenario.model_validate(data)
    except ScenarioError as exc:
        raise exc.with_source(source) from None
    except ValidationError as exc:
        raise _first_error(exc, data).with_source(source) from None


# --- unknown keys, reported before anything else ---------------------------------------------

def unknown_key(data: dict) -> ScenarioError | None:
    """The first key (in file order) that no section of the schema has, with a 'did you mean'
    hint; None when every key is known. ``[[correlations]]`` tables are checked later."""
    found = _unknown_keys(data, Scenario, ())
    if not found:
        return None
    more = f" (and {len(found) - 1} more)" if len(found) > 1 else ""
    return _unknown_key_error(found[0], more)


def _unknown_keys(node: dict, model: type[BaseModel], loc: tuple) -> list[tuple]:
    out = []
    for name, value in node.items():
        if not loc and name == "correlations":
            continue
        info = model.model_fields.get(name)
        if info is None:
            out.append(loc + (name,))
            continue
        sub = model_of(info.annotation)
        if sub is None:
            continue
        if isinstance(value, dict):
            out += _unknown_keys(value, sub, loc + (name,))
        elif isinstance(value, list):
            for i, item in enumerate(value):
                if isinstance(item, dict):
                    out += _unknown_keys(item, sub, loc + (name, i))
    return out


def _unknown_key_error(loc: tuple, more: str = "") -> ScenarioError:
    """'unknown key (did you mean ...?)' for the key at ``loc`` (a tuple of its parts)."""
    parent, name = _parent_model(loc[:-1]), str(loc[-1])
    hint = ""
    if parent is not None:
        close = difflib.get_close_matches(name, list(parent.model_fields), n=1, cutoff=0.6)
        if close:
            hint = f" (did you mean '{dotted(loc[:-1] + (close[0],))}'?)"
        else:
            hint = f" (valid keys: {', '.join(parent.model_fields)})"
    return ScenarioError(dotted(loc), f"unknown key{hint}{more}")


def dotted(parts) -> str:
    """A key path as one line: ``ads.ecpm_rewarded_usd``, ``markets.0.region``,
    ``ads."x[1]"`` (a part that is not a bare TOML key is quoted)."""
    return ".".join(str(p) if isinstance(p, int) else quoted(str(p)) for p in parts)


# --- turning pydantic's errors into one line ------------------------------------------------

def _first_error(exc: ValidationError, data: dict) -> ScenarioError:
    errors = exc.errors(include_url=False)
    # a misspelt key also makes the real one 'missing': report the misspelling, with its hint
    errors.sort(key=lambda e: e["type"] != "extra_forbidden")
    err = errors[0]
    loc = _data_loc(err["loc"], data)
    key = dotted(loc)
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    etype = err["type"]
    if etype == "extra_forbidden":
        return _unknown_key_error(loc, more)
    info = _field_info(loc)
    rng = _describe_range(info) if info is not None else ""
    if etype == "missing":
        what = "missing section" if _is_section(loc) else "missing required key"
        return ScenarioError(key, f"{what}{'; ' + rng if rng else ''}{more}")
    value = _value_at(data, loc)
    shown = "nan" if isinstance(value, float) and math.isnan(value) else repr(value)
    msg = err["msg"][0].lower() + err["msg"][1:]
    return ScenarioError(key, f"= {shown}: {msg}{'; ' + rng if rng else ''}{more}")


def _data_loc(loc, data) -> tuple:
    """pydantic's error location without the union branch tags it adds: a part is kept
    when it is a key (or index) of the data there, or when it is no tag (a missing key)."""
    out, node = [], data
    for part in loc:
        if isinstance(node, dict) and part in node or isinstance(node, list) \
                and isinstance(part, int):
            out.append(part)
            try:
                node = node[part]
            except IndexError:
                node = None
        elif isinstance(part, str | int) and not _is_type_tag(part):
            out.append(part)
            node = None
    return tuple(out)


def _is_type_tag(part) -> bool:
    # pydantic adds the union branch ('float', 'none', 'list[float]'...) to locations
    return isinstance(part, str) and (part in {"float", "int", "str", "bool", "none"}
                                      or "[" in part or part.startswith("literal"))


def _parent_model(loc) -> type[BaseModel] | None:
    """The model of the table at ``loc`` (key parts, list indices skipped), if any."""
    model: type[BaseModel] = Scenario
    for part in loc:
        if isinstance(part, int):
            continue
        info = model.model_fields.get(part)
        if info is None:
            return None
        sub = model_of(info.annotation)
        if sub is None:
            return None
        model = sub
    return model


def model_of(annotation) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None


def _field_info(loc):
    parts = [p for p in loc if isinstance(p, str)]
    if not parts:
        return None
    parent = _parent_model(parts[:-1])
    return None if parent is None else parent.model_fields.get(parts[-1])


def _is_section(loc) -> bool:
    info = _field_info(loc)
    return info is not None and model_of(info.annotation) is not None


def _value_at(data, loc):
    node = data
    for part in loc:
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def _describe_range(info) -> str:
    """'valid range: 0 < value <= 1e+08 USD/day' from a field's constraints, or the choices."""
    unit = (info.json_schema_extra or {}).get("unit", "")
    choices = _literal_choices(info.annotation)
    if choices:
        return "valid values: " + ", ".join(repr(c) for c in choices)
    bounds = field_bounds(info)
    if bounds[0] is not None or bounds[2] is not None:
        return f"valid range: {range_text(bounds)}{' ' + unit if unit not in ('', '1') else ''}"
    if model_of(info.annotation) is not None:
        return "expected a [section] table"
    return ""


def _literal_choices(annotation) -> tuple:
    if getattr(annotation, "__origin__", None) is not None and str(annotation).startswith(
            "typing.Literal"):
        return annotation.__args__
    return ()
