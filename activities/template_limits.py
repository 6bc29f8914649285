"""What a communication template may make: the limits of its sandbox, and how sizes count.

Templates are configuration, and the worker renders them when an escalation fires, with
nobody watching. A template could build a message of gigabytes (``{{ 'x' * 10**10 }}``),
loop for hours, or recurse without end, and the notification activity would exhaust the
worker or never finish. `activities.template_sandbox` renders within these limits; each
is refused with its own `TemplateLimitExceeded` (a `jinja2.TemplateError`) and a short
message:

- a value an operator, filter, method call, literal or ``~`` makes is at most
  `VALUE_SIZE` characters of text or items of a list (counted with what they hold),
  nested at most `VALUE_NESTING` deep; a number at most `NUMBER`. Where the size is known
  before computing (repetition, powers, padding widths, joins, replacements, format
  widths) the operation is refused before, so the memory is never taken. What a block
  builds (a macro, call, filter or set block, an imported template) is a value too
  (`TemplateValueTooLarge`);
- the subject, text and html parts render at most `PART_CHARS` each
  (`TemplateOutputTooLong`);
- one render of a part runs at most `STEPS` Python lines and `SECONDS` of time
  (`TemplateTooMuchWork`), and nests calls at most `DEPTH` deep (`TemplateTooDeep`);
- a template file is at most `FILE_BYTES` (`TemplateFileTooLarge`).
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import partial
from itertools import compress, repeat
from operator import is_
from typing import Any

from jinja2 import TemplateError

PART_CHARS: Mapping[str, int] = {"subject": 1_000, "text": 100_000, "html": 200_000}
"""The longest each part of a message may render (before the subject is put on one line)."""
VALUE_SIZE = 100_000
"""The largest value a template may make: characters of a text, or items of a list (each
item counting one, plus its own size)."""
VALUE_NESTING = 20
"""Lists in lists (or mappings) at most this deep."""
NUMBER = 10**18
"""The largest number a template may compute."""
STEPS = 200_000
"""Python lines one render of one part may run."""
SECONDS = 1.0
"""Time one render of one part may take, for work that runs no Python lines."""
DEPTH = 120
"""Calls one render may nest (a recursive macro nests about five a level)."""
FILE_BYTES = 64 * 1024
"""The largest template file."""

# A product of numbers this many bits long is not computed at all (it could take long);
# below it the result is computed and compared with NUMBER.
_COMPUTABLE_BITS = 1_024
# What formatting one number or date may produce, for estimates before formatting.
_FORMATTED_SCALAR = 320


# --- errors --------------------------------------------------------------------------------


class TemplateLimitExceeded(TemplateError):
    """A template went past one of the limits of `BoundedEnvironment`."""


class TemplateValueTooLarge(TemplateLimitExceeded):
    """An operation would make a text, list or number larger than a template may make."""


class TemplateOutputTooLong(TemplateLimitExceeded):
    """A part of the message would be longer than `PART_CHARS` allows."""


class TemplateTooMuchWork(TemplateLimitExceeded):
    """A render ran more than `STEPS` lines or `SECONDS` of time."""


class TemplateTooDeep(TemplateLimitExceeded):
    """Calls nested deeper than `DEPTH`, or blocks and brackets too deep to compile."""


class TemplateFileTooLarge(TemplateLimitExceeded):
    """A template file larger than `FILE_BYTES`."""


class TemplateFailed(TemplateError):
    """A template failed with an error of Python's (dividing by zero, a filter given the
    wrong kind of value); the original is the ``__cause__``."""


# --- sizes ---------------------------------------------------------------------------------

_CONTAINERS = (list, tuple, set, frozenset, dict)
_SIZED = (str, range, *_CONTAINERS)


def size_of(value: Any) -> int:
    """Characters of a text; for a list, tuple, set or mapping, one for each item (and
    key) plus their own sizes; a range's length; 0 for anything else.

    Counting stops once past `VALUE_SIZE`, so it costs no more than that. The items of a
    list are sorted by kind without a Python loop (its lines would count as work).
    """
    if isinstance(value, str):
        return len(value)
    if isinstance(value, range):
        return range_length(value)
    if not isinstance(value, _CONTAINERS):
        return 0
    total = 0
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending and total <= VALUE_SIZE:
        item, depth = pending.pop()
        if depth > VALUE_NESTING:
            raise TemplateValueTooLarge(
                f"lists or mappings are nested more than {VALUE_NESTING} deep"
            )
        total += len(item)
        if total > VALUE_SIZE:
            break
        parts = [*item.keys(), *item.values()] if isinstance(item, dict) else item
        for kind in set(map(type, parts)):
            if not issubclass(kind, _SIZED):
                continue  # numbers, dates, none
            of_kind = compress(parts, map(partial(is_, kind), map(type, parts)))
            if issubclass(kind, str):
                total += sum(map(len, of_kind))
            elif issubclass(kind, range):
                total += sum(map(range_length, of_kind))
            else:
                pending.extend(zip(of_kind, repeat(depth + 1)))
    return total


def range_length(value: range) -> int:
    try:
        return len(value)
    except OverflowError:
        return VALUE_SIZE + 1


def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def show(value: Any) -> str:
    """A short readable form of an operand, for messages."""
    if is_int(value):
        return (
            str(value) if abs(value) < 10**20 else f"a {value.bit_length() * 3 // 10}-digit number"
        )
    if isinstance(value, str):
        return repr(value) if len(value) <= 20 else f"{value[:17]!r}..."
    return f"a {type(value).__name__}"


def _too_large(what: str, value: Any, size: int) -> TemplateValueTooLarge:
    made = (
        f"a text of {size:,} characters"
        if isinstance(value, str)
        else (f"a {type(value).__name__} of more than {VALUE_SIZE:,} items and characters")
    )
    return TemplateValueTooLarge(
        f"{what} would make {made}; a template value may be at most {VALUE_SIZE:,} "
        "characters (or list items)"
    )


def estimated(what: str, size: int) -> TemplateValueTooLarge:
    return TemplateValueTooLarge(
        f"{what} would make about {size:,} characters; a template value may be at most "
        f"{VALUE_SIZE:,}"
    )


def bounded(value: Any, what: str) -> Any:
    """``value`` if it is within the limits of a template value, else refused."""
    if is_int(value):
        if abs(value) > NUMBER:
            raise TemplateValueTooLarge(
                f"{what} would be a number larger than 10**18, the largest a template computes"
            )
    elif (size := size_of(value)) > VALUE_SIZE:
        raise _too_large(what, value, size)
    elif isinstance(value, Iterator) and not isinstance(value, _BoundedIterator):
        return _BoundedIterator(value, what)
    return value


class _BoundedIterator(Iterator[Any]):
    """A lazy result (of `map`, `select`, `batch`...) that yields at most a value's worth."""

    def __init__(self, inner: Iterator[Any], what: str) -> None:
        self._inner, self._what, self._size = inner, what, 0

    def __next__(self) -> Any:
        item = next(self._inner)
        self._size += 1 + size_of(item)
        if self._size > VALUE_SIZE:
            raise TemplateValueTooLarge(
                f"{self._what} would yield more than {VALUE_SIZE:,} items and characters"
            )
        return item


# --- estimates made before computing ------------------------------------------------------

_PRINTF = re.compile(
    r"%(?:\([^)]*\))?[-#0 +]*(?P<width>\*|\d+)?(?:\.(?P<precision>\*|\d+))?[hlL]?[a-zA-Z%]"
)


def _number(digits: str) -> int:
    return int(digits) if len(digits) <= 18 else NUMBER


def _formatted_size(
    pattern: str, fields: int, numbers: Iterable[str], args: list[Any], widths_given: bool
) -> int:
    """What formatting ``pattern`` with ``args`` may produce: the pattern, each field as
    large as the largest argument, and every width and precision it names; with
    ``widths_given`` (a ``*`` or nested ``{}`` width), every number given too."""
    widest = max([_FORMATTED_SCALAR, *(size_of(a) for a in args)])
    total = len(pattern) + fields * widest + sum(_number(n) for n in numbers)
    if widths_given:
        total += sum(min(abs(a), NUMBER) for a in args if is_int(a))
    return total


def printf_size(pattern: str, args: Any) -> int:
    """An upper bound of ``pattern % args``."""
    given = (
        list(args.values())
        if isinstance(args, Mapping)
        else (list(args) if isinstance(args, tuple) else [args])
    )
    specs = list(_PRINTF.finditer(pattern))
    parts = [n for m in specs for n in (m["width"], m["precision"]) if n]
    numbers = [n for n in parts if n != "*"]
    return _formatted_size(pattern, len(specs), numbers, given, len(numbers) < len(parts))


def format_size(pattern: str, args: list[Any]) -> int:
    """An upper bound of ``pattern.format(*args)``; 0 for a pattern Python cannot read."""
    try:
        specs = [
            spec or "" for _, name, spec, _ in string.Formatter().parse(pattern) if name is not None
        ]
    except ValueError:
        return 0
    numbers = [n for spec in specs for n in re.findall(r"\d+", spec)]
    nested = any("{" in spec for spec in specs)
    return _formatted_size(pattern, len(specs), numbers, args, nested)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


def _center(value: Any, width: Any = 80, *_: Any) -> int:
    return len(_text(value)) + (width if is_int(width) else 0)


def _indent(s: Any, width: Any = 4, *_: Any, **__: Any) -> int:
    text = _text(s)
    step = width if is_int(width) else len(_text(width))
    return len(text) + (text.count("\n") + 1) * step


def _wordwrap(
    s: Any,
    width: Any = 79,
    break_long_words: Any = True,
    wrapstring: Any = None,
    break_on_hyphens: Any = True,
) -> int:
    text = _text(s)
    lines = len(text) // max(width if is_int(width) else 1, 1) + text.count("\n") + 1
    return len(text) + lines * (len(wrapstring) if isinstance(wrapstring, str) else 1)


def _replace(s: Any, old: Any, new: Any, count: Any = None) -> int:
    text, old, new = _text(s), _text(old), _text(new)
    times = len(text) + 1 if old == "" else text.count(old)
    if is_int(count) and count >= 0:
        times = min(times, count)
    return len(text) + times * max(0, len(new) - len(old))


def _format(value: Any, *args: Any, **kwargs: Any) -> int:
    return printf_size(_text(value), kwargs or args)


def _join(value: Any, d: Any = "", attribute: Any = None) -> int:
    items = value if isinstance(value, list | tuple) else []
    return sum(size_of(i) or _FORMATTED_SCALAR for i in items) + len(items) * len(_text(d))


def _tojson(value: Any, indent: Any = None) -> int:
    step = indent if is_int(indent) else len(indent) if isinstance(indent, str) else 0
    size = size_of(value) + 1
    return size * (6 + step * VALUE_NESTING)


FILTER_SIZES: Mapping[str, Callable[..., int]] = {
    "center": _center,
    "indent": _indent,
    "wordwrap": _wordwrap,
    "replace": _replace,
    "format": _format,
    "join": _join,
    "tojson": _tojson,
}
"""Upper bounds of what a filter makes, computed from its arguments before it runs."""

SIZE_PARAMETERS = frozenset(
    {"batch", "center", "indent", "slice", "tojson", "truncate", "urlize", "wordwrap"}
)
"""Filters whose numbers are widths or counts, each at most `VALUE_SIZE`."""

STRING_METHOD_SIZES: Mapping[str, Callable[..., int]] = {
    "center": lambda s, width=0, *_: max(len(s), width if is_int(width) else 0),
    "ljust": lambda s, width=0, *_: max(len(s), width if is_int(width) else 0),
    "rjust": lambda s, width=0, *_: max(len(s), width if is_int(width) else 0),
    "zfill": lambda s, width=0: max(len(s), width if is_int(width) else 0),
    "expandtabs": lambda s, tabsize=8: len(s) + s.count("\t") * (tabsize if is_int(tabsize) else 0),
    "replace": _replace,
    "join": lambda s, items=(): _join(items, s),
}
"""Upper bounds of what a method of a text makes; its other methods make no more than
three times the text (``upper`` of some letters) or are refused (`STRING_METHODS_REFUSED`)."""

STRING_METHODS_REFUSED = frozenset({"translate", "maketrans"})


# --- operators --------------------------------------------------------------------------


def refuse_before(operator: str, left: Any, right: Any, what: str) -> None:
    """Refuse an operation whose result is known to be too large before computing it."""
    if is_int(left) and is_int(right):
        if operator == "*":
            bits = abs(left).bit_length() + abs(right).bit_length()
        elif operator == "**" and right > 0 and abs(left) > 1:
            bits = (abs(left).bit_length() - 1) * right
        else:
            return
        if bits > _COMPUTABLE_BITS:
            raise TemplateValueTooLarge(f"{what} would be a number larger than 10**18")
        return
    sequences = str | list | tuple
    if operator == "*" and isinstance(left, sequences) and is_int(right):
        size = size_of(left) * max(right, 0)
    elif operator == "*" and is_int(left) and isinstance(right, sequences):
        size = size_of(right) * max(left, 0)
    elif operator == "%" and isinstance(left, str):
        size = printf_size(left, right)
    elif operator == "+" and isinstance(left, sequences) and isinstance(right, sequences):
        size = size_of(left) + size_of(right)
    else:
        return
    if size > VALUE_SIZE:
        raise estimated(what, size)


def estimate_size(
    estimate: Callable[..., int], value: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> int:
    try:
        return estimate(value, *args, **kwargs)
    except (TypeError, ValueError):
        return 0  # arguments the real call refuses with its own message
