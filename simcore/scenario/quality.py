"""``[quality.<channel>]``: the scenario of the users a channel brings, its retention targets,
sessions and payers scaled."""

from __future__ import annotations

from pydantic import ValidationError

from simcore.errors import ScenarioError
from simcore.scenario.schema import Scenario
from simcore.scenario.validation import first_error


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
        err = exc if isinstance(exc, ScenarioError) else first_error(exc, data)
        raise ScenarioError(key, f"makes {err.key} {err.message}") from None
