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


class PurchaseDeductions(Section):
    """What comes off a purchase before it reaches the developer or producer (the fields of
    ``[iap]`` and of a drama's ``[unlocks]``)."""

    platform_fee: float = field(unit="share", description="Share of the net-of-tax price "
                                "kept by the platform", ge=0, lt=1)
    tax_rate: float = field(0.0, unit="share", description="Share of the consumer price that "
                            "is tax (VAT/GST included in price; 0 where tax is added on top)",
                            ge=0, lt=1)
    refund_rate: float = field(0.0, unit="share", description="Share of purchase value "
                               "refunded", ge=0, lt=1)

    @property
    def net_share(self) -> float:
        """Share of the consumer price that is kept: (1 - tax)(1 - fee)(1 - refunds)."""
        return (1 - self.tax_rate) * (1 - self.platform_fee) * (1 - self.refund_rate)
