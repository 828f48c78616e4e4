"""A parsed scenario validated against the schema, with one-line errors: unknown keys with a
"did you mean", the first pydantic error as the dotted key, the value and the valid range; and
the fields' bounds and kinds that the reference and the fuzz read from the models."""

from __future__ import annotations

import difflib
import math

import annotated_types
from pydantic import BaseModel, ValidationError

from simcore.errors import ScenarioError
from simcore.scenario.markets import quoted
from simcore.scenario.schema import Scenario
from simcore.scenario.uncertainty import range_text


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


def validate(data: dict, source: str) -> Scenario:
    """Validate a parsed scenario dict; any problem becomes a one-line ``ScenarioError``."""
    try:
        return Scenario.model_validate(data)
    except ScenarioError as exc:
        raise exc.with_source(source) from None
    except ValidationError as exc:
        raise first_error(exc, data).with_source(source) from None


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


def first_error(exc: ValidationError, data: dict) -> ScenarioError:
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
