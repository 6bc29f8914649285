"""Templates that would compute or output without bound are refused fast, in little memory.

Each hostile template must fail with its own `TemplateLimitExceeded` (or another
`jinja2.TemplateError`) and a short, true message, within a second or so and without
taking more than a few megabytes, both where the worker renders (`TemplateStore.render`)
and where `definitions validate` checks (`check_templates`, with file and line).
"""

from __future__ import annotations

import re
import sys
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest
from jinja2 import TemplateError
from jinja2.exceptions import SecurityError

from activities import template_budget
from activities.template_limits import (
    PART_CHARS,
    SECONDS,
    STEPS,
    VALUE_SIZE,
    TemplateFailed,
    TemplateFileTooLarge,
    TemplateOutputTooLong,
    TemplateTooDeep,
    TemplateTooMuchWork,
    TemplateValueTooLarge,
)
from activities.templates import TemplateStore, check_templates, sample_context

SHIPPED = Path(__file__).parents[2] / "definitions" / "catalog" / "templates"

HOSTILE: dict[str, tuple[str, type[TemplateError], str]] = {
    "repeat": ("{{ 'x' * 10**10 }}", TemplateValueTooLarge, "10,000,000,000 characters"),
    "power": ("{{ 10**10**10 }}", TemplateValueTooLarge, "a number larger than 10**18"),
    "power-small": ("{{ 2**64 }}", TemplateValueTooLarge, "a number larger than 10**18"),
    "percent-width": ("{{ '%10000000000s' % 'x' }}", TemplateValueTooLarge, "10,000,000,"),
    "percent-star": ("{{ '%*s' % (10**9, 'x') }}", TemplateValueTooLarge, "1,000,000,"),
    "format-width": ("{{ '{:>1000000000}'.format('x') }}", TemplateValueTooLarge, "1,000,000,"),
    "format-filter": ("{{ '%.1000000f'|format(1.5) }}", TemplateValueTooLarge, "format filter"),
    "center": ("{{ 'x'|center(10**10) }}", TemplateValueTooLarge, "center filter was given"),
    "truncate": ("{{ 'x'|truncate(10**10) }}", TemplateValueTooLarge, "truncate filter was given"),
    "wordwrap": ("{{ 'x'|wordwrap(10**10) }}", TemplateValueTooLarge, "wordwrap filter was given"),
    "indent": (
        "{% set s = 'a\\n' * 50000 %}{{ s|indent(100000) }}",
        TemplateValueTooLarge,
        "indent filter would make",
    ),
    "ljust": ("{{ 'x'.ljust(10**10) }}", TemplateValueTooLarge, "'x'.ljust(...) would make"),
    "replace": (
        "{{ ('x' * 100000)|replace('x', 'yyyyyyyyyy') }}",
        TemplateValueTooLarge,
        "replace filter would make",
    ),
    "translate": ("{{ 'a'.translate({97: 'b'}) }}", SecurityError, "translate() is not available"),
    "doubling": (
        "{% set ns = namespace(x='ab') %}{% for i in range(40) %}"
        "{% set ns.x = ns.x ~ ns.x %}{% endfor %}{{ ns.x|length }}",
        TemplateValueTooLarge,
        "joining with ~ would make a text of 131,072 characters",
    ),
    "range": ("{{ range(10**10)|length }}", TemplateValueTooLarge, "has more than 100,000"),
    "nested-loops": (
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
        TemplateTooMuchWork,
        # Whichever bound it reaches first: its steps, or its time on a starved machine.
        re.compile(rf"more than ({STEPS:,} steps|{SECONDS:g} seconds)"),
    ),
    "recursive-macro": (
        "{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}",
        TemplateTooDeep,
        "calls nest more than",
    ),
    "recursive-loop": (
        "{% for x in [1] recursive %}{{ loop([1]) }}{% endfor %}",
        TemplateTooDeep,
        "calls nest more than",
    ),
    "self-include": ("{% include 'self-include.text.j2' %}", TemplateTooDeep, "nest more than"),
    "block-buffer": (
        "{% filter upper %}{% for i in range(1000) %}{{ 'x' * 1000 }}{% endfor %}{% endfilter %}",
        TemplateValueTooLarge,
        "a block of the template",
    ),
    "output": (
        "{% for i in range(1000) %}{{ 'x' * 1000 }}{% endfor %}",
        TemplateOutputTooLong,
        f"the text is longer than {PART_CHARS['text']:,} characters",
    ),
    "division": ("{{ 1 / 0 }}", TemplateFailed, "division by zero"),
    "deep-brackets": ("{{ " + "(" * 300 + "1" + ")" * 300 + " }}", TemplateTooDeep, "too deeply"),
}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> TemplateStore:
    """One template a hostile text body; every subject is harmless."""
    folder = tmp_path_factory.mktemp("hostile") / "templates"
    folder.mkdir()
    for template_id, (text, _, _) in HOSTILE.items():
        (folder / f"{template_id}.subject.j2").write_text("Subject {{ case.ref }}")
        (folder / f"{template_id}.text.j2").write_text(text)
    return TemplateStore(folder)


@pytest.fixture
def bounded_resources() -> Iterator[None]:
    """The block uses under two seconds of CPU and allocates under 32 MB at its peak.

    CPU time, not the clock's: on a machine shared with other work a refusal may take
    longer to arrive, but not more work (the render's own time bound then refuses it)."""
    tracemalloc.start()
    started = time.process_time()
    yield
    elapsed = time.process_time() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert elapsed < 2.0, f"took {elapsed:.2f} s of CPU"
    assert peak < 32 * 1024 * 1024, f"peaked at {peak / 2**20:.0f} MB"


@pytest.mark.parametrize("template_id", list(HOSTILE))
def test_a_hostile_template_is_refused_fast_in_little_memory(
    hostile: TemplateStore, template_id: str, bounded_resources: None
) -> None:
    _, error, fragment = HOSTILE[template_id]
    with pytest.raises(error) as caught:
        hostile.render(template_id, sample_context(task_level=True))
    assert _says(str(caught.value), fragment), str(caught.value)
    assert len(str(caught.value)) < 250


def _says(message: str, fragment: str | re.Pattern[str]) -> bool:
    if isinstance(fragment, re.Pattern):
        return fragment.search(message) is not None
    return fragment in message


def test_validation_reports_each_hostile_template_with_file_and_line(
    hostile: TemplateStore,
) -> None:
    started = time.process_time()
    problems = {p.file: p for p in check_templates(hostile.directory)}
    assert time.process_time() - started < 10
    for template_id, (_, _, fragment) in HOSTILE.items():
        problem = problems[f"templates/{template_id}.text.j2"]
        assert _says(problem.message, fragment), problem
        if template_id not in ("output", "deep-brackets"):  # the whole part, not a line
            assert problem.line == 1, problem


def test_each_part_has_its_own_output_limit(tmp_path: Path) -> None:
    folder = tmp_path / "templates"
    folder.mkdir()
    for part, limit in PART_CHARS.items():
        (folder / f"{part}-at.{part}.j2").write_text(f"{{{{ 'x' * {limit} }}}}")
        (folder / f"{part}-over.{part}.j2").write_text(f"{{{{ 'x' * {limit // 2} }}}}" * 3)
    store = TemplateStore(folder)
    context = sample_context(task_level=False)
    for part, limit in PART_CHARS.items():
        if limit <= VALUE_SIZE:
            assert len(store.render_file(f"{part}-at.{part}.j2", context)) == limit
        with pytest.raises(TemplateOutputTooLong, match=f"the {part} is longer than {limit:,}"):
            store.render_file(f"{part}-over.{part}.j2", context)


def test_a_template_file_too_large_is_refused_unread(tmp_path: Path) -> None:
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "big.subject.j2").write_text("x" * 70_000)
    (folder / "big.text.j2").write_text("ok")
    with pytest.raises(TemplateFileTooLarge, match="70,000 bytes"):
        TemplateStore(folder).render("big", sample_context(task_level=True))


def test_what_templates_really_use_still_renders(tmp_path: Path) -> None:
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "_layout.text.j2").write_text(
        "Dear {{ recipient.name }},\n{% block body %}{% endblock %}"
    )
    (folder / "_macros.text.j2").write_text(
        "{% macro money(p) %}£{{ '%.2f'|format(p / 100) }}{% endmacro %}"
    )
    (folder / "rich.subject.j2").write_text("{{ case.ref }} {{ '{:>6}'.format(task.name[:4]) }}")
    (folder / "rich.text.j2").write_text(
        '{% extends "_layout.text.j2" %}{% import "_macros.text.j2" as m %}'
        "{% block body %}{% set ns = namespace(total=0) %}"
        "{% for part in [150000, 2550] %}{% set ns.total = ns.total + part %}{% endfor %}"
        "Owed {{ m.money(ns.total) }}; {{ ['a', 'b']|join(', ') }}; {{ 'ab' ~ 'cd' }}; "
        "{{ {'k': 1}.items()|list }}; {{ 'x'|center(9) }}|{{ case.ref|lower|truncate(20) }}"
        "{% for a, b in [(1, 2)] %} {{ a + b }}{% endfor %}{% endblock %}"
    )
    message = TemplateStore(folder).render("rich", sample_context(task_level=True))
    assert message.subject == "SP-2026-000123 Home"
    assert message.text == (
        "Dear Tom Bennett,\nOwed £1525.50; a, b; abcd; [('k', 1)];     x    |sp-2026-000123 3\n"
    )


def test_the_shipped_templates_use_a_small_part_of_the_budget(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    used: list[int] = []
    leave = template_budget.WorkBudget.__exit__

    def record(budget: template_budget.WorkBudget, *details: object) -> None:
        used.append(budget.steps)
        leave(budget, *details)

    monkeypatch.setattr(template_budget.WorkBudget, "__exit__", record)
    store = TemplateStore(SHIPPED)
    for template_id in store.template_ids():
        for task_level in (True, False):
            store.render(template_id, sample_context(task_level))
    assert used and max(used) < STEPS // 100


def test_the_trace_that_was_there_before_is_put_back(hostile: TemplateStore) -> None:
    def outer(*_: object) -> None:
        return None

    sys.settrace(outer)
    try:
        TemplateStore(SHIPPED).render("task-sla-warning", sample_context(task_level=True))
        with pytest.raises(TemplateTooMuchWork):
            hostile.render("nested-loops", sample_context(task_level=True))
        assert sys.gettrace() is outer
    finally:
        sys.settrace(None)
