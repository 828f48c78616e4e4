"""What every scenario section shares: the field helper (units travel with fields), the
strict frozen base model, and the rule for mode-dependent keys."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from simcore.errors import ScenarioError


def field(default=..., *, unit: str = "", description: str, **constraints):
    """A schema field whose unit travels with it (shown in errors and ``simcore validate``)."""
    return Field(default, description=description, json_schema_extra={"unit": unit},
                 **constraints)


def mode_keys(model, section: str, switch: str, keys_by_mode: dict) -> None:
    """The keys of the selected mode must be given; the keys of other modes must not."""
    selected = getattr(model, switch)
    for mode, keys in keys_by_mode.items():
        for key in keys:
            value = getattr(model, key)
            if mode == selected and value is None:
                raise ScenarioError(f"{section}.{key}", f"missing: required when "
                                    f"{section}.{switch} = '{mode}'")
            if mode != selected and value is not None:
                raise ScenarioError(f"{section}.{key}", f"only used with {section}.{switch} "
                                    f"= '{mode}' (it is '{selected}')")


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)
