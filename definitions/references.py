"""What provision types refer to outside themselves: templates, people and groups.

They live elsewhere (template files, the directory), so the command that validates
definitions checks them with the adapters that own them; this module only finds them,
each with the field that names it. Escalation rules and the communication steps of paths
(`sends`) name templates and groups alike. A type may be a `ProvisionType` or the raw
mapping of a file the schema refused, so that one run of `definitions validate` reports a
misspelt template even in a file with other mistakes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .schema import ProvisionType
from .type_data import actions, entries, get, values

TypeData = ProvisionType | Mapping[str, Any]


@dataclass(frozen=True)
class Reference:
    type_id: str
    location: str
    target: str


def template_references(types: Iterable[TypeData]) -> list[Reference]:
    return [
        Reference(_id(t), f"{at}.template", template)
        for t in types
        for at, action in actions(t)
        if isinstance(template := get(action, "template"), str)
    ]


def group_references(types: Iterable[TypeData]) -> list[Reference]:
    return [
        Reference(_id(t), f"{at}.notify.groups[{k}]", group)
        for t in types
        for at, action in actions(t)
        for k, group in enumerate(values(get(action, "notify"), "groups"))
        if isinstance(group, str)
    ]


def assignee_references(types: Iterable[TypeData]) -> list[Reference]:
    return [
        Reference(_id(t), f"{at}.reassign_to", assignee)
        for t in types
        for at, action in actions(t)
        if isinstance(assignee := get(action, "reassign_to"), str) and assignee
    ]


def owner_references(types: Iterable[TypeData]) -> list[Reference]:
    """The default owner of each type, its follow-on owner and the owner of each of its
    tasks, where named."""
    found = []
    for t in types:
        named = [("default_owner", get(t, "default_owner"))]
        named += [("follow_on_owner", get(t, "follow_on_owner"))]
        named += [(f"tasks[{i}].owner", get(task, "owner")) for i, task in entries(t, "tasks")]
        found += [Reference(_id(t), at, owner) for at, owner in named if isinstance(owner, str)]
    return found


def _id(t: TypeData) -> str:
    type_id = get(t, "id")
    return type_id if isinstance(type_id, str) else ""
