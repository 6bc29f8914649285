"""Unknown names in the parts of a template that a sample does not reach.

Checking a template by rendering it with samples finds what the samples reach. A branch
they do not take, ``{% if case.priority == 'urgent' %}{{ case.urgent_note }}{% endif %}``,
is never rendered when the definitions are checked, and its unknown field would first fail
when an urgent case breached, at 3 a.m., and nobody would be told. So each template file is
also read as a tree: every variable it takes from the notice's context, and every field it
reads directly from one of those variables (``case.x``, ``case["x"]``), is checked against
what a notice has, wherever it stands in the template.

What is checked here is the first step only: ``case.owner`` is a field of ``case``, and
whatever is read from the owner after that depends on a value, which only rendering knows.
A name the template binds itself (``{% set %}``, a loop, a macro's arguments, ``with``)
is the template's own and is not checked.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Set
from dataclasses import dataclass

from jinja2 import Environment, meta, nodes

from activities.template_undefined import CONTEXT_VARIABLES, NotedName, did_you_mean

_SPECIAL = frozenset({"loop", "caller", "varargs", "kwargs", "self", "super"})
"""Names Jinja itself provides inside loops, macros and blocks."""


@dataclass(frozen=True)
class _Read:
    """A name the template reads, where, and (for a field) of which variable."""

    variable: str
    field: str | None
    line: int


def unknown_names(
    env: Environment, source: str, name: str, fields: Mapping[str, Set[str]]
) -> list[NotedName]:
    """Each unknown variable and each unknown field of a context variable in ``source``
    (the template file ``name``), in the words that rendering uses for them.

    ``fields`` holds the fields of each context variable that is a mapping (``case``:
    ``ref``, ``tenant_ref``, …). ``source`` must parse; a syntax error is rendering's to
    report."""
    tree = env.parse(source, name, name)
    undeclared = meta.find_undeclared_variables(tree)
    assigned = _assigned_anywhere(tree)
    known_globals = set(env.globals)
    found: list[NotedName] = []
    for read in _reads(tree, frozenset()):
        if read.variable not in undeclared or read.variable in assigned:
            continue
        if read.field is None:
            if read.variable in CONTEXT_VARIABLES or read.variable in known_globals:
                continue
            hint = did_you_mean(read.variable, CONTEXT_VARIABLES)
            message = (
                f"unknown variable {read.variable!r}{hint}; "
                f"the variables are {', '.join(CONTEXT_VARIABLES)}"
            )
        else:
            known = fields.get(read.variable)
            if known is None or read.field in known or hasattr(dict, read.field):
                continue
            message = (
                f"unknown field {read.field!r}{did_you_mean(read.field, known)}; "
                f"the fields here are {', '.join(sorted(known))}"
            )
        noted = NotedName(name, read.line, message)
        if noted not in found:
            found.append(noted)
    return found


def _reads(node: nodes.Node, bound: frozenset[str]) -> Iterator[_Read]:
    """The context names read under ``node``, with ``bound`` the names a scope around it
    binds (a loop's target, a macro's arguments…)."""
    if isinstance(node, nodes.Getattr | nodes.Getitem) and _is_free_name(node.node, bound):
        assert isinstance(node.node, nodes.Name)
        key = _field_key(node)
        if key is not None:
            yield _Read(node.node.name, key, node.lineno)
            yield from _children(node, bound, skip=node.node)
            return
    if isinstance(node, nodes.Name):
        if node.ctx == "load" and _is_free_name(node, bound):
            yield _Read(node.name, None, node.lineno)
        return
    if isinstance(node, nodes.For):
        yield from _reads(node.iter, bound)
        inner = bound | _targets(node.target) | {"loop"}
        for child in (*node.body, *([node.test] if node.test else [])):
            yield from _reads(child, inner)
        for child in node.else_:
            yield from _reads(child, bound)
        return
    if isinstance(node, nodes.Macro | nodes.CallBlock):
        args = {arg.name for arg in node.args}
        for default in node.defaults:
            yield from _reads(default, bound)
        if isinstance(node, nodes.CallBlock):
            yield from _reads(node.call, bound)
        for child in node.body:
            yield from _reads(child, bound | args)
        return
    if isinstance(node, nodes.With):
        for value in node.values:
            yield from _reads(value, bound)
        inner = bound | {name for target in node.targets for name in _targets(target)}
        for child in node.body:
            yield from _reads(child, inner)
        return
    yield from _children(node, bound)


def _children(
    node: nodes.Node, bound: frozenset[str], skip: nodes.Node | None = None
) -> Iterator[_Read]:
    for child in node.iter_child_nodes():
        if child is not skip:
            yield from _reads(child, bound)


def _is_free_name(node: nodes.Node, bound: frozenset[str]) -> bool:
    return (
        isinstance(node, nodes.Name)
        and node.ctx == "load"
        and node.name not in bound
        and node.name not in _SPECIAL
    )


def _field_key(node: nodes.Getattr | nodes.Getitem) -> str | None:
    if isinstance(node, nodes.Getattr):
        return node.attr
    if isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
        return node.arg.value
    return None


def _targets(node: nodes.Node) -> set[str]:
    return {name.name for name in node.find_all(nodes.Name)} | (
        {node.name} if isinstance(node, nodes.Name) else set()
    )


def _assigned_anywhere(tree: nodes.Template) -> set[str]:
    """Names the template sets somewhere (``{% set %}``, ``{% import %}``…): once a
    template has its own ``case``, which of its reads are the notice's is not worth
    guessing, so they are left to rendering."""
    names: set[str] = set()
    for node in tree.find_all(nodes.Stmt):
        if isinstance(node, nodes.Assign | nodes.AssignBlock):
            names |= _targets(node.target)
        elif isinstance(node, nodes.Import):
            names.add(node.target)
        elif isinstance(node, nodes.Macro):
            names.add(node.name)
        elif isinstance(node, nodes.FromImport):
            names |= {alias if isinstance(alias, str) else alias[-1] for alias in node.names}
    return names
