"""What provision types refer to outside themselves: templates and stakeholder groups.

They live elsewhere (template files, the directory), so the command that validates
definitions checks them with the adapters that own them; this module only finds them,
each with the file and field that names it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from .schema import EscalationAction, ProvisionType


@dataclass(frozen=True)
class Reference:
    type_id: str
    location: str
    target: str


def _walk(
    actions: tuple[EscalationAction, ...], where: str
) -> Iterator[tuple[str, EscalationAction]]:
    for index, action in enumerate(actions):
        at = f"{where}[{index}]"
        yield at, action
        yield from _walk(action.follow_on, f"{at}.follow_on")


def _actions(t: ProvisionType) -> Iterator[tuple[str, EscalationAction]]:
    yield from _walk(t.escalations, "escalations")
    for index, task in enumerate(t.tasks):
        yield from _walk(task.escalations, f"tasks[{index}].escalations")


def template_references(types: list[ProvisionType]) -> list[Reference]:
    return [
        Reference(t.id, f"{at}.template", action.template)
        for t in types
        for at, action in _actions(t)
    ]


def group_references(types: list[ProvisionType]) -> list[Reference]:
    return [
        Reference(t.id, f"{at}.notify.groups[{k}]", group)
        for t in types
        for at, action in _actions(t)
        for k, group in enumerate(action.notify.groups)
    ]


def assignee_references(types: list[ProvisionType]) -> list[Reference]:
    return [
        Reference(t.id, f"{at}.reassign_to", action.reassign_to)
        for t in types
        for at, action in _actions(t)
        if action.reassign_to
    ]
