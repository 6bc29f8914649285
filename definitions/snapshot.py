"""The form of a provision type a case carries: what its rules need, and nothing else.

A case carries the definition it opened with in its start input and into every run it
continues in, so that publishing a change never changes a running case. It needs the
tasks, dependencies, outcomes, fields, SLAs, escalations and calendar; not the prose
written for people (descriptions, help texts, the services and agencies a type
signposts), which stays in the published version the case records, nor the values every
field has by default, which loading restores.
"""

from __future__ import annotations

from typing import Any

from .schema import ProvisionType

PROSE = ("description", "services", "partner_agencies", "help")
"""Fields written for people, at any depth of a type."""


def carried_form(provision_type: ProvisionType) -> dict[str, Any]:
    """The type as a case carries it, JSON-ready; `ProvisionType.model_validate` reads it
    back to the same rules."""
    return _without_prose(provision_type.model_dump(mode="json", exclude_defaults=True))


def _without_prose(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_prose(v) for k, v in value.items() if k not in PROSE}
    if isinstance(value, list):
        return [_without_prose(item) for item in value]
    return value
