"""The sandbox communication templates render in, within `activities.template_limits`.

Jinja's `ImmutableSandboxedEnvironment` already refuses unsafe attributes, calls and
changes to lists and mappings. `BoundedEnvironment` adds the limits: operators, method
calls and filters are intercepted and checked before and after they run; its compiler
wraps every literal, ``~`` and block buffer in a check; the render runs under a
`WorkBudget`; and it never runs template code while compiling (Jinja's optimiser would),
so no work escapes the counting.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from jinja2 import BaseLoader, FileSystemLoader, Template, TemplateError, TemplateNotFound, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.environment import TemplateModule
from jinja2.exceptions import SecurityError
from jinja2.loaders import split_template_path
from jinja2.sandbox import ImmutableSandboxedEnvironment

from activities.template_budget import WorkBudget, pause_current_budget
from activities.template_limits import (
    FILE_BYTES,
    FILTER_SIZES,
    PART_CHARS,
    SIZE_PARAMETERS,
    STRING_METHOD_SIZES,
    STRING_METHODS_REFUSED,
    VALUE_SIZE,
    TemplateFailed,
    TemplateFileTooLarge,
    TemplateOutputTooLong,
    TemplateTooDeep,
    TemplateValueTooLarge,
    bounded,
    estimate_size,
    estimated,
    format_size,
    is_int,
    range_length,
    refuse_before,
    show,
)

__all__ = ["BoundedEnvironment", "BoundedFileSystemLoader", "SnapshotLoader"]


# --- the environment ---------------------------------------------------------------------


class _BlockBuffer(list[str]):
    """What a macro, call, filter or set block writes: at most `VALUE_SIZE` characters."""

    __slots__ = ("_chars",)

    def __init__(self) -> None:
        super().__init__()
        self._chars = 0

    def append(self, chunk: str) -> None:
        self._count(chunk)
        super().append(chunk)

    def extend(self, chunks: Iterable[str]) -> None:
        for chunk in chunks:
            self.append(chunk)

    def _count(self, chunk: str) -> None:
        self._chars += len(chunk)
        if self._chars > VALUE_SIZE:
            raise TemplateValueTooLarge(
                f"a block of the template (a macro, call, filter or set block) would write "
                f"more than {VALUE_SIZE:,} characters"
            )


def _collect(chunks: Iterable[str], limit: int, too_long: Callable[[], TemplateError]) -> list[str]:
    collected, total = [], 0
    for chunk in chunks:
        total += len(chunk)
        if total > limit:
            raise too_long()
        collected.append(chunk)
    return collected


class _BoundedCodeGenerator(CodeGenerator):
    """Jinja's compiler, with every literal, ``~`` and block buffer checked at run time."""

    def buffer(self, frame: Frame) -> None:
        frame.buffer = self.temporary_identifier()
        self.writeline(f"{frame.buffer} = environment.block_buffer()")

    def visit_Concat(self, node: nodes.Concat, frame: Frame) -> None:
        self._bounded(super().visit_Concat, node, frame, "joining with ~")

    def visit_List(self, node: nodes.List, frame: Frame) -> None:
        self._bounded(super().visit_List, node, frame, "this list")

    def visit_Dict(self, node: nodes.Dict, frame: Frame) -> None:
        self._bounded(super().visit_Dict, node, frame, "this mapping")

    def visit_Tuple(self, node: nodes.Tuple, frame: Frame) -> None:
        if node.ctx == "load":
            self._bounded(super().visit_Tuple, node, frame, "this list")
        else:  # an assignment target, e.g. {% for a, b in pairs %}
            super().visit_Tuple(node, frame)

    def _bounded(
        self, visit: Callable[[Any, Frame], None], node: nodes.Node, frame: Frame, what: str
    ) -> None:
        self.write("environment.bounded_literal(")
        visit(node, frame)
        self.write(f", {what!r})")


class _BoundedTemplate(Template):
    def make_module(
        self,
        vars: dict[str, Any] | None = None,
        shared: bool = False,
        locals: Mapping[str, Any] | None = None,
    ) -> TemplateModule:
        """An imported template, whose output (a value) is bounded like a block's."""
        context = self.new_context(vars, shared, locals)
        body = _collect(
            self.root_render_func(context),
            VALUE_SIZE,
            lambda: TemplateValueTooLarge(
                f"an imported template would write more than {VALUE_SIZE:,} characters"
            ),
        )
        return TemplateModule(self, context, body)


class BoundedFileSystemLoader(FileSystemLoader):
    """Template files from a folder, refusing one larger than `FILE_BYTES` unread."""

    def get_source(self, environment: Any, template: str) -> Any:
        for folder in self.searchpath:
            path = Path(folder).joinpath(*split_template_path(template))
            if path.is_file() and path.stat().st_size > FILE_BYTES:
                raise TemplateFileTooLarge(
                    f"{template} is {path.stat().st_size:,} bytes; a template file may be at "
                    f"most {FILE_BYTES:,}"
                )
        return super().get_source(environment, template)


class SnapshotLoader(BaseLoader):
    """The template files of a folder as they were when it was read, once: what the
    worker renders is what it read as it started (and `definitions validate` checked),
    not a file edited since, which would go live unchecked at the next escalation. A
    file that could not be read raises what reading it raised, when it is used."""

    def __init__(self, directory: Path) -> None:
        reader = BoundedFileSystemLoader(directory)
        self._sources: dict[str, str | Exception] = {}
        for path in sorted(directory.glob("*.j2")) if directory.is_dir() else ():
            try:
                self._sources[path.name] = reader.get_source(None, path.name)[0]
            except (TemplateError, OSError, UnicodeError) as error:
                self._sources[path.name] = error

    def get_source(self, environment: Any, template: str) -> tuple[str, None, Callable[[], bool]]:
        found = self._sources.get(template)
        if found is None:
            raise TemplateNotFound(template)
        if isinstance(found, Exception):
            raise found
        return found, None, lambda: True

    def list_templates(self) -> list[str]:
        return sorted(self._sources)

    def take_new(self, fresh: SnapshotLoader) -> list[str]:
        """Add the files of `fresh` (the folder read again) that this snapshot lacks; the
        names added. A file it holds already is kept as it was read: an edit is seen at
        the next start, as before, never mid-run."""
        added = sorted(set(fresh._sources) - set(self._sources))
        for name in added:
            self._sources[name] = fresh._sources[name]
        return added


class BoundedEnvironment(ImmutableSandboxedEnvironment):
    """Jinja's immutable sandbox with the limits of this module.

    Render with `render_part`, which applies the output limit and the work budget.
    ``filters`` are added to Jinja's own; every filter is guarded.
    """

    code_generator_class = _BoundedCodeGenerator
    template_class = _BoundedTemplate
    intercepted_binops = frozenset(ImmutableSandboxedEnvironment.default_binop_table)

    def __init__(
        self, *, filters: Mapping[str, Callable[..., Any]] | None = None, **options: Any
    ) -> None:
        # Unoptimised: the optimiser would run template expressions while compiling,
        # outside every limit here.
        super().__init__(optimized=False, **options)
        self.filters.update(dict(filters or {}))
        self.filters = {name: _guarded_filter(name, f) for name, f in self.filters.items()}
        self.globals["range"] = _bounded_range
        del self.globals["lipsum"]  # pages of filler text belong in no message

    # -- rendering -------------------------------------------------------------------------

    def render_part(self, template: Template, context: Mapping[str, Any], part: str) -> str:
        """``template`` rendered with ``context`` within every limit, as ``part`` of a
        message (subject, text, html); a `jinja2.TemplateError` if it cannot be."""
        limit = PART_CHARS[part]
        try:
            with WorkBudget():
                chunks = _collect(
                    template.generate(context),
                    limit,
                    lambda: TemplateOutputTooLong(
                        f"the {part} is longer than {limit:,} characters"
                    ),
                )
        except TemplateError:
            raise
        except Exception as error:
            raise TemplateFailed(str(error) or type(error).__name__) from error
        return "".join(chunks)

    def get_template(self, name: Any, parent: Any = None, globals: Any = None) -> Template:
        return self._load(super().get_template, name, parent, globals)

    def select_template(self, names: Any, parent: Any = None, globals: Any = None) -> Template:
        return self._load(super().select_template, names, parent, globals)

    def _load(self, load: Callable[..., Template], *args: Any) -> Template:
        # Compiling an include during a render is not the template's work: its cost is
        # bounded by the file's size, so the budget pauses.
        budget = pause_current_budget()
        try:
            return load(*args)
        except (RecursionError, SyntaxError):
            raise TemplateTooDeep(
                f"{args[0]} nests blocks or brackets too deeply to be read; simplify it"
            ) from None
        finally:
            if budget is not None:
                budget.resume()

    def handle_exception(self, source: str | None = None) -> Any:
        # Rewriting the traceback of a failed render is Jinja's work, not the template's.
        pause_current_budget()
        return super().handle_exception(source)

    # -- what generated code and the sandbox call ------------------------------------------

    def block_buffer(self) -> list[str]:
        return _BlockBuffer()

    def bounded_literal(self, value: Any, what: str) -> Any:
        return bounded(value, what)

    def concat(self, chunks: Iterable[str]) -> str:
        """Joining a block's output, e.g. for ``self.block()``: bounded like a block."""
        return "".join(
            _collect(
                chunks,
                VALUE_SIZE,
                lambda: TemplateValueTooLarge(
                    f"a block of the template would write more than {VALUE_SIZE:,} characters"
                ),
            )
        )

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        what = f"{show(left)} {operator} {show(right)}"
        refuse_before(operator, left, right, what)
        try:
            result = self.binop_table[operator](left, right)
        except OverflowError:
            raise TemplateValueTooLarge(f"{what} is a number too large to compute") from None
        return bounded(result, what)

    def call(__self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:  # noqa: N805
        name = getattr(__obj, "__name__", type(__obj).__name__)
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str):
            if name in STRING_METHODS_REFUSED:
                raise SecurityError(f"the text method {name}() is not available in templates")
            if name == "join" and args and not isinstance(args[0], list | tuple | str):
                args = (list(bounded(args[0], "the items to join")), *args[1:])
            estimate = STRING_METHOD_SIZES.get(name)
            if (
                estimate is not None
                and (size := estimate_size(estimate, owner, args, kwargs)) > VALUE_SIZE
            ):
                raise estimated(f"{show(owner)}.{name}(...)", size)
        result = super().call(__context, __obj, *args, **kwargs)
        return bounded(result, f"{name}(...)")

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapper = super().wrap_str_format(value)
        if wrapper is None:
            return None
        pattern: str = value.__self__
        mapping = value.__name__ == "format_map"

        def checked(*args: Any, **kwargs: Any) -> str:
            given = (
                list(args[0].values())
                if mapping and args and isinstance(args[0], Mapping)
                else [*args, *kwargs.values()]
            )
            if (size := format_size(pattern, given)) > VALUE_SIZE:
                raise estimated(f"{show(pattern)}.{value.__name__}(...)", size)
            return bounded(wrapper(*args, **kwargs), f"{show(pattern)}.{value.__name__}(...)")

        return functools.update_wrapper(checked, wrapper)


def _guarded_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    """``func`` with its numbers, its estimated size and its result checked."""
    skip = 1 if getattr(func, "jinja_pass_arg", None) is not None else 0
    estimate = FILTER_SIZES.get(name)
    what = f"the {name} filter"

    @functools.wraps(func)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        given = args[skip:]
        if name == "join" and given and not isinstance(given[0], list | tuple | str):
            given = (list(bounded(given[0], "the items to join")), *given[1:])
            args = (*args[:skip], *given)
        if name in SIZE_PARAMETERS:
            for number in (*given[1:], *kwargs.values()):
                if is_int(number) and abs(number) > VALUE_SIZE:
                    raise TemplateValueTooLarge(
                        f"{what} was given {number:,}; a width or count may be at most "
                        f"{VALUE_SIZE:,}"
                    )
        if name == "sum" and isinstance(
            kwargs.get("start", given[2] if len(given) > 2 else 0), list | tuple
        ):
            raise SecurityError("the sum filter adds numbers; it does not join lists in templates")
        if (
            estimate is not None
            and given
            and (size := estimate_size(estimate, given[0], given[1:], kwargs)) > VALUE_SIZE
        ):
            raise estimated(what, size)
        return bounded(func(*args, **kwargs), what)

    return guarded


def _bounded_range(*args: Any) -> range:
    numbers = range(*args)
    if range_length(numbers) > VALUE_SIZE:
        raise TemplateValueTooLarge(
            f"range({', '.join(show(a) for a in args)}) has more than {VALUE_SIZE:,} numbers"
        )
    return numbers
