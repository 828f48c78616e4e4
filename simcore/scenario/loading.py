"""Read a scenario file, apply ``--set`` overrides, validate; report errors in one line."""

from __future__ import annotations

import copy
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
from pydantic import BaseModel, ValidationError

from simcore.errors import ScenarioError
from simcore.scenario.schema import Scenario

PACKAGED = "simcore.scenarios"
DEFAULT_SCENARIO = "reborn_emperor_us"


@dataclass(frozen=True)
class LoadedScenario:
    """A validated scenario with the text it came from (stored in every dataset)."""

    scenario: Scenario
    source: str              # file name (and overrides) for messages
    text: str                # the TOML text as read
    overrides: tuple[str, ...] = ()

    @property
    def resolved_json(self) -> str:
        """Canonical JSON of the validated scenario (overrides applied)."""
        return json.dumps(self.scenario.model_dump(mode="json"), sort_keys=True)

    @property
    def hash(self) -> str:
        """sha256 of the canonical JSON: equal hashes mean equal inputs."""
        return hashlib.sha256(self.resolved_json.encode()).hexdigest()


def packaged_scenarios() -> dict[str, Path]:
    """Scenario files shipped with the package, by name (file stem)."""
    root = resources.files(PACKAGED)
    return {Path(p.name).stem: Path(str(p)) for p in root.iterdir() if p.name.endswith(".toml")}


def resolve_path(spec: str | Path | None) -> Path:
    """A scenario path, or the name of a packaged scenario; None = the default scenario."""
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
    path = resolve_path(spec)
    source = str(spec if spec is not None else path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError("", "no such scenario file", source) from None
    except IsADirectoryError:
        raise ScenarioError("", "is a directory, not a scenario file", source) from None
    except UnicodeDecodeError:
        raise ScenarioError("", "not UTF-8 text (is it a TOML scenario file?)", source) from None
    except OSError as exc:
        raise ScenarioError("", f"cannot read: {exc.strerror}", source) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError("", f"not valid TOML: {exc}", source) from None
    if overrides:
        source = f"{source} (with --set {' '.join(overrides)})"
        data = apply_overrides(data, overrides, source)
    return LoadedScenario(validate(data, source), source, text, tuple(overrides))


def scenario_from_text(text: str, source: str = "<text>") -> LoadedScenario:
    """Validate a scenario given as TOML text (e.g. the copy stored in a dataset)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError("", f"not valid TOML: {exc}", source) from None
    return LoadedScenario(validate(data, source), source, text)


def parse_override(item: str, source: str) -> tuple[list[str], Any]:
    """``dotted.key=value`` -> (key parts, TOML-typed value; bare words stay strings)."""
    key, sep, raw = item.partition("=")
    key = key.strip()
    parts = key.split(".")
    if not sep or len(parts) < 2 or not all(parts):
        raise ScenarioError(key or item, "--set needs section.key=value, e.g. "
                            "--set campaign.daily_budget_usd=5000", source)
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
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


# --- turning pydantic's errors into one line ------------------------------------------------

def _first_error(exc: ValidationError, data: dict) -> ScenarioError:
    errors = exc.errors(include_url=False)
    # a misspelt key also makes the real one 'missing': report the misspelling, with its hint
    errors.sort(key=lambda e: e["type"] != "extra_forbidden")
    err = errors[0]
    loc = tuple(p for p in err["loc"] if isinstance(p, str | int))
    key = ".".join(str(p) for p in loc if not _is_type_tag(p))
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    etype = err["type"]
    if etype == "extra_forbidden":
        parent, name = _parent_model(loc[:-1]), str(loc[-1])
        hint = ""
        if parent is not None:
            close = difflib.get_close_matches(name, list(parent.model_fields), n=1, cutoff=0.6)
            if close:
                prefix = key.rsplit(".", 1)[0] + "." if "." in key else ""
                hint = f" (did you mean '{prefix}{close[0]}'?)"
            else:
                hint = f" (valid keys: {', '.join(parent.model_fields)})"
        return ScenarioError(key, f"unknown key{hint}{more}")
    info = _field_info(loc)
    rng = _describe_range(info) if info is not None else ""
    if etype == "missing":
        what = "missing section" if _is_section(loc) else "missing required key"
        return ScenarioError(key, f"{what}{'; ' + rng if rng else ''}{more}")
    value = _value_at(data, loc)
    shown = "nan" if isinstance(value, float) and math.isnan(value) else repr(value)
    msg = err["msg"][0].lower() + err["msg"][1:]
    return ScenarioError(key, f"= {shown}: {msg}{'; ' + rng if rng else ''}{more}")


def _is_type_tag(part) -> bool:
    # pydantic adds the union branch ('float', 'none', 'list[float]'...) to locations
    return isinstance(part, str) and (part in {"float", "int", "str", "bool", "none"}
                                      or "[" in part or part.startswith("literal"))


def _parent_model(loc) -> type[BaseModel] | None:
    model: type[BaseModel] = Scenario
    for part in loc:
        if _is_type_tag(part) or isinstance(part, int):
            continue
        info = model.model_fields.get(part)
        if info is None:
            return None
        sub = _model_of(info.annotation)
        if sub is None:
            return None
        model = sub
    return model


def _model_of(annotation) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None


def _field_info(loc):
    parts = [p for p in loc if isinstance(p, str) and not _is_type_tag(p)]
    if not parts:
        return None
    parent = _parent_model(parts[:-1])
    return None if parent is None else parent.model_fields.get(parts[-1])


def _is_section(loc) -> bool:
    info = _field_info(loc)
    return info is not None and _model_of(info.annotation) is not None


def _value_at(data, loc):
    node = data
    for part in loc:
        if _is_type_tag(part):
            continue
        try:
            node = node[part]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def _describe_range(info) -> str:
    """'valid range: 0 < value <= 1e+08 USD/day' from a field's constraints, or the choices."""
    unit = (info.json_schema_extra or {}).get("unit", "")
    lo = hi = ""
    for meta in info.metadata:
        if isinstance(meta, annotated_types.Gt):
            lo = f"{meta.gt:g} < "
        elif isinstance(meta, annotated_types.Ge):
            lo = f"{meta.ge:g} <= "
        elif isinstance(meta, annotated_types.Lt):
            hi = f" < {meta.lt:g}"
        elif isinstance(meta, annotated_types.Le):
            hi = f" <= {meta.le:g}"
    choices = _literal_choices(info.annotation)
    if choices:
        return "valid values: " + ", ".join(repr(c) for c in choices)
    if lo or hi:
        return f"valid range: {lo}value{hi}{' ' + unit if unit else ''}"
    if _model_of(info.annotation) is not None:
        return "expected a [section] table"
    return ""


def _literal_choices(annotation) -> tuple:
    if getattr(annotation, "__origin__", None) is not None and str(annotation).startswith(
            "typing.Literal"):
        return annotation.__args__
    return ()
