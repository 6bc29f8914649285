"""What a template gets for a variable or field that does not exist.

When a notice is rendered, an unknown name is an error at once (`StrictUndefined`): a
message with a gap in it must not go out. When the definitions are checked, the same
unknown name is *noted*, with its template file and line, and the rendering goes on as if
it were empty, so that one check reports every unknown name of a template rather than the
first, and an administrator fixes them all in one pass (`noting`).
"""

from __future__ import annotations

import difflib
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

from jinja2 import StrictUndefined, Undefined
from jinja2.utils import missing

CONTEXT_VARIABLES = ("case", "task", "sla", "escalation", "recipient", "ended")


@dataclass(frozen=True)
class NotedName:
    """An unknown name met while checking: the template file it is in, its line, and why."""

    file: str | None
    line: int | None
    message: str


@dataclass
class _Notes:
    found: list[NotedName] = field(default_factory=list)

    def add(self, message: str) -> None:
        file, line = _template_line()
        noted = NotedName(file, line, message)
        if noted not in self.found:
            self.found.append(noted)


_NOTES: ContextVar[_Notes | None] = ContextVar("template_undefined_notes", default=None)


@contextmanager
def noting() -> Iterator[list[NotedName]]:
    """Within this block, templates note unknown names (into the list it yields) instead of
    failing on them."""
    notes = _Notes()
    token = _NOTES.set(notes)
    try:
        yield notes.found
    finally:
        _NOTES.reset(token)


def _template_line() -> tuple[str | None, int | None]:
    """The file and line of the innermost template being rendered (an included piece is
    its own template). Jinja keeps the template in each compiled frame's globals."""
    frame: FrameType | None = sys._getframe(2)
    while frame is not None:
        template = frame.f_globals.get("__jinja_template__")
        if template is not None:
            return template.name, template.get_corresponding_lineno(frame.f_lineno)
        frame = frame.f_back
    return None, None


class _Quiet(Undefined):
    """What follows from a name already noted: empty, and silent about it, so that
    ``{{ tenant.name | upper }}`` is one problem, not three."""

    __slots__ = ()

    def __getattr__(self, name: str) -> Any:
        if name[:2] == "__":
            raise AttributeError(name)
        return self


class StrictOrNoted(StrictUndefined):
    """Strict when rendering; noted, then empty and quiet, when checking (see `noting`).
    Its messages say what does exist, for configuration administrators."""

    __slots__ = ()

    def _noted(self, value: Any) -> Any:
        notes = _NOTES.get()
        if notes is None:
            self._fail_with_undefined_error()
        notes.add(self._undefined_message)
        return value

    def __getattr__(self, name: str) -> Any:
        if name[:2] == "__":
            raise AttributeError(name)
        return self._noted(_Quiet())

    @property
    def _undefined_message(self) -> str:
        name, obj = self._undefined_name, self._undefined_obj
        if self._undefined_hint or not isinstance(name, str):
            return super()._undefined_message
        if obj is missing:
            hint = did_you_mean(name, CONTEXT_VARIABLES)
            return (
                f"unknown variable {name!r}{hint}; the variables are {', '.join(CONTEXT_VARIABLES)}"
            )
        if obj is None:
            return (
                f"cannot read {name!r} of a variable that is none here (`task` is none for a "
                "case-level escalation, `sla` when there is no clock): guard it with "
                "{% if task %} or {% if sla %}"
            )
        if isinstance(obj, Mapping):
            fields = ", ".join(sorted(obj))
            return f"unknown field {name!r}{did_you_mean(name, obj)}; the fields here are {fields}"
        return super()._undefined_message


# What each operation on an unknown name gives once it is noted: the empty value of its
# kind, or, for operators, calls and subscripts, a quiet undefined that goes on as empty.
_EMPTY: dict[str, Callable[[Undefined], Any]] = {
    "__str__": lambda _: "",
    "__bool__": lambda _: False,
    "__len__": lambda _: 0,
    "__iter__": lambda _: iter(()),
    "__contains__": lambda _: False,
    "__eq__": lambda _: False,
    "__ne__": lambda _: True,
    "__hash__": id,
    "__int__": lambda _: 0,
    "__float__": lambda _: 0.0,
    "__complex__": lambda _: 0j,
}
_OPERATIONS = (
    "__add__",
    "__radd__",
    "__sub__",
    "__rsub__",
    "__mul__",
    "__rmul__",
    "__truediv__",
    "__rtruediv__",
    "__floordiv__",
    "__rfloordiv__",
    "__mod__",
    "__rmod__",
    "__pow__",
    "__rpow__",
    "__pos__",
    "__neg__",
    "__call__",
    "__getitem__",
    "__lt__",
    "__le__",
    "__gt__",
    "__ge__",
)


def _noted_as(empty: Callable[[Undefined], Any]) -> Callable[..., Any]:
    def operation(self: StrictOrNoted, *args: Any, **kwargs: Any) -> Any:
        return self._noted(empty(self))

    return operation


def _quiet_as(empty: Callable[[Undefined], Any]) -> Callable[..., Any]:
    def operation(self: _Quiet, *args: Any, **kwargs: Any) -> Any:
        return empty(self)

    return operation


for _name, _empty in _EMPTY.items():
    setattr(StrictOrNoted, _name, _noted_as(_empty))
for _name in ("__int__", "__float__", "__complex__"):
    setattr(_Quiet, _name, _quiet_as(_EMPTY[_name]))
for _name in _OPERATIONS:
    setattr(StrictOrNoted, _name, _noted_as(lambda _: _Quiet()))
    setattr(_Quiet, _name, _quiet_as(lambda quiet: quiet))


def did_you_mean(value: str, known: Iterable[str]) -> str:
    """`` (did you mean "x"?)`` for the closest of ``known``, or nothing."""
    close = difflib.get_close_matches(value, list(known), n=1, cutoff=0.6)
    return f' (did you mean "{close[0]}"?)' if close else ""
