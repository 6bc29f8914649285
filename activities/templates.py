"""Communication templates: Jinja files rendered with the case, task, SLA and recipient.

A template ``<id>`` is up to three files in ``<definitions dir>/templates/``:
``<id>.subject.j2`` (one line), ``<id>.text.j2`` (plain text body) and, optionally,
``<id>.html.j2`` (HTML body, autoescaped). Files whose names start with ``_`` are shared
pieces for ``{% include %}``, not templates.

Templates are rendered in Jinja's sandbox (they are configuration, not code) with
`StrictUndefined`, so a misspelt variable is an error rather than an empty gap in a
message, and within the limits of `activities.template_limits`: a template cannot build
values or messages without bound, loop without end or recurse without end, and a template
that cannot render raises a `jinja2.TemplateError` saying why, never anything else.
`check_templates` renders every template with a case-level and a task-level sample when
the definitions are validated, so that error is found then, with file and line, not
when a breach fires at 3 a.m. Each file is also read as a tree, so that an unknown
name in a branch no sample takes is found too (`activities.template_names`). Because a
template may be named by a case rule as well as by a task rule, it must render for both:
guard task details with ``{% if task %}``.

Context: ``case`` {ref, tenant_ref, type, type_name, owner, status, priority, url};
``task`` {key, name, owner} or none; ``sla`` {clock, calendar, target, warning,
started_at, warning_at, due_at, state} or none; ``escalation`` {rule, trigger,
occurrence, fired_at}; ``recipient`` {id, name, email, kind}; ``ended`` {how, by, reason,
at, open_tasks} for the notice that a case was ended outside the service, none otherwise.
Times are aware datetimes; the ``date`` and ``datetime`` filters show them in UK time,
e.g. ``Tue 24 Nov 2026, 14:00``.

The service's own notices (`ENDED_OUTSIDE_TEMPLATE`) have templates shipped with the
service (`SERVICE_TEMPLATES_DIR`); a catalog that has a template of the same id has its
own used instead, checked with a sample of that notice.
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import TemplateError, TemplateSyntaxError, Undefined

from activities.contracts import EndedOutsideFacts, EscalationNotice, Recipients, SlaFigures
from activities.recipients import Recipient
from activities.template_limits import TemplateFailed
from activities.template_names import unknown_names
from activities.template_sandbox import (
    BoundedEnvironment,
    BoundedFileSystemLoader,
    SnapshotLoader,
)
from activities.template_undefined import (
    NotedName,
    StrictOrNoted,
    did_you_mean,
    noting,
)

log = logging.getLogger("support_provision.templates")
TEMPLATES_DIR = "templates"
UK = ZoneInfo("Europe/London")
PARTS = ("subject", "text", "html")
ENDED_OUTSIDE_TEMPLATE = "case-ended-outside"
"""The notice to a case's owner that Temporal ended the case's workflow while it was open."""
SERVICE_TEMPLATES_DIR = Path(__file__).parent / "service_templates"
"""Templates of the service's own notices, used where the catalog has none of that id."""

_FILE = re.compile(r"^(?P<id>[^_.][^.]*)\.(?P<part>subject|text|html)\.j2$")


def templates_dir(definitions_dir: Path) -> Path:
    """Where the templates of a definitions directory live."""
    return Path(definitions_dir) / TEMPLATES_DIR


@dataclass(frozen=True)
class RenderedMessage:
    subject: str
    text: str
    html: str | None = None


@dataclass(frozen=True)
class TemplateProblem:
    """Something wrong with a template; ``file`` is relative to the definitions directory
    (``templates/x.text.j2``), or the place that names a missing template."""

    file: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.message}"


class UnknownTemplate(LookupError):
    """No template with this id has both a subject and a text file."""

    def __init__(self, template_id: str, known: Iterable[str]) -> None:
        self.template_id = template_id
        hint = did_you_mean(template_id, known)
        super().__init__(f"there is no template {template_id!r}{hint}")

    def __str__(self) -> str:
        return str(self.args[0])


class TemplateStore:
    """The templates in ``directory`` (the ``templates`` folder itself). A ``snapshot``
    store (the worker's) reads them once, as it is made, and renders only those: a file
    edited later is not seen until the next store, so nothing reaches recipients that
    was not there, and checked, when the worker started."""

    def __init__(self, directory: Path, *, snapshot: bool = False) -> None:
        self.directory = Path(directory)
        self._snapshot = SnapshotLoader(self.directory) if snapshot else None
        self._env = BoundedEnvironment(
            loader=self._snapshot or BoundedFileSystemLoader(self.directory),
            undefined=StrictOrNoted,
            autoescape=lambda name: bool(name) and name.endswith(".html.j2"),
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            filters={"date": format_date, "datetime": format_datetime},
        )

    def files(self) -> dict[str, dict[str, str]]:
        """Template files by id and part (``subject``, ``text``, ``html``)."""
        found: dict[str, dict[str, str]] = {}
        if self._snapshot is not None:
            names = self._snapshot.list_templates()
        else:
            names = (
                sorted(p.name for p in self.directory.iterdir()) if self.directory.is_dir() else []
            )
        for name in names:
            if match := _FILE.match(name):
                found.setdefault(match["id"], {})[match["part"]] = name
        return found

    def template_ids(self) -> list[str]:
        """Ids that have at least one template file, sorted."""
        return sorted(self.files())

    def render(self, template_id: str, context: Mapping[str, Any]) -> RenderedMessage:
        """The message of ``template_id`` for ``context``; `UnknownTemplate` if it lacks a
        subject or text file, a `jinja2.TemplateError` if it does not render (a limit of
        `activities.template_limits` included)."""
        parts = self.files().get(template_id, {})
        if ("subject" not in parts or "text" not in parts) and self._read_new_files():
            parts = self.files().get(template_id, {})
        if "subject" not in parts or "text" not in parts:
            raise UnknownTemplate(template_id, self.template_ids())
        subject = self.render_file(parts["subject"], context)
        text = self.render_file(parts["text"], context)
        html = self.render_file(parts["html"], context) if "html" in parts else None
        return RenderedMessage(" ".join(subject.split()), text.strip() + "\n", html)

    def _read_new_files(self) -> bool:
        """A snapshot store asked for a template it lacks reads its folder again and takes
        the files added since (a type published while the worker runs, with templates of
        its own): the notice renders, rather than fail for good until a restart. Files it
        read before stay as they were read. Whether any file was added."""
        if self._snapshot is None:
            return False
        added = self._snapshot.take_new(SnapshotLoader(self.directory))
        if added:
            log.info("templates added to %s since they were read: %s", self.directory, added)
        return bool(added)

    def render_file(self, name: str, context: Mapping[str, Any]) -> str:
        """One template file (``x.text.j2``) rendered within the limits of its part."""
        match = _FILE.match(name)
        part = match["part"] if match else "text"
        try:
            template = self._env.get_template(name)
        except TemplateError:
            raise
        except Exception as error:  # e.g. an unreadable file
            raise TemplateFailed(str(error) or type(error).__name__) from error
        return self._env.render_part(template, context, part)

    def unknown_names(self, name: str) -> list[NotedName]:
        """Unknown variables and fields anywhere in the file ``name``, the branches no
        sample takes included (`activities.template_names`); none if it does not parse."""
        try:
            source, _, _ = self._env.loader.get_source(self._env, name)  # type: ignore[union-attr]
            return unknown_names(self._env, source, name, context_fields())
        except (TemplateError, OSError, UnicodeError, RecursionError, SyntaxError):
            # unreadable, unparsable or nested too deeply: rendering says why
            return []


# --- context --------------------------------------------------------------------------


def build_context(notice: EscalationNotice, recipient: Recipient, case_url: str) -> dict[str, Any]:
    """What a template sees for one recipient of one escalation."""
    task = None
    if notice.task_key is not None:
        task = {"key": notice.task_key, "name": notice.task_name or notice.task_key}
        task["owner"] = notice.owner
    sla = None
    if notice.sla is not None:
        sla = {
            name: _aware(value) if isinstance(value, datetime) else value
            for name, value in notice.sla.model_dump().items()
        }
    return {
        "case": {
            "ref": notice.case_ref,
            "tenant_ref": notice.tenant_ref,
            "type": notice.provision_type,
            "type_name": notice.provision_type_name,
            "owner": notice.case_owner,
            "status": notice.case_status,
            "priority": notice.priority,
            "url": case_url,
        },
        "task": task,
        "sla": sla,
        "escalation": {
            "rule": notice.rule,
            "trigger": notice.trigger,
            "occurrence": notice.occurrence,
            "fired_at": _aware(notice.fired_at),
        },
        "recipient": {
            "id": recipient.id,
            "name": recipient.name,
            "email": recipient.email,
            "kind": recipient.kind,
        },
        "ended": _ended(notice.ended),
    }


def _ended(facts: EndedOutsideFacts | None) -> dict[str, Any] | None:
    if facts is None:
        return None
    return {**facts.model_dump(), "at": _aware(facts.at)}


def sample_notice(task_level: bool) -> EscalationNotice:
    """A realistic escalation, for checking and previewing templates."""
    started = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
    return EscalationNotice(
        key=f"SP-2026-000123:{'home-visit' if task_level else 'case'}:sample:1",
        case_ref="SP-2026-000123",
        workflow_id="case-SP-2026-000123",
        tenant_ref="TEN-004512",
        provision_type="tenancy-sustainment-assessment",
        provision_type_name="Tenancy sustainment assessment",
        case_owner="tom-bennett",
        case_status="open",
        priority="high",
        rule="sample-warning",
        trigger="warning",
        fired_at=datetime(2026, 11, 20, 14, 0, tzinfo=UTC),
        task_key="home-visit" if task_level else None,
        task_name="Home visit" if task_level else None,
        owner="tom-bennett",
        sla=SlaFigures(
            clock="home-visit" if task_level else "case",
            calendar="england-and-wales",
            target="10 working days",
            warning="2 working days",
            started_at=started,
            warning_at=datetime(2026, 11, 20, 14, 0, tzinfo=UTC),
            due_at=datetime(2026, 11, 24, 14, 0, tzinfo=UTC),
            state="warning",
        ),
        template="sample",
        recipients=Recipients(owner=True),
    )


def sample_ended_notice() -> EscalationNotice:
    """A realistic notice that a case was ended outside the service."""
    at = datetime(2026, 11, 20, 14, 0, tzinfo=UTC)
    return sample_notice(task_level=False).model_copy(
        update={
            "key": "SP-2026-000123:case:ended-outside:7",
            "rule": "ended-outside",
            "trigger": "ended_outside",
            "fired_at": at,
            "sla": None,
            "template": ENDED_OUTSIDE_TEMPLATE,
            "recipients": Recipients(owner=True, owner_manager=True),
            "ended": EndedOutsideFacts(
                how="terminated",
                by="ops@northfieldhomes.example.org",
                reason="tenant record merged",
                at=at,
                open_tasks=["Home visit", "Support plan agreed"],
            ),
        }
    )


def sample_context(task_level: bool, *, ended: bool = False) -> dict[str, Any]:
    """The context of `sample_notice` (or, `ended`, `sample_ended_notice`) for a sample
    person."""
    recipient = Recipient(
        "tom-bennett", "Tom Bennett", "tom.bennett@northfieldhomes.example.org", "person"
    )
    url = "http://localhost:8233/namespaces/default/workflows/case-SP-2026-000123"
    notice = sample_ended_notice() if ended else sample_notice(task_level)
    return build_context(notice, recipient, url)


def context_fields() -> dict[str, frozenset[str]]:
    """The fields of each context variable that has fields, over every kind of notice."""
    fields: dict[str, set[str]] = {}
    for context in (sample_context(True), sample_context(False), sample_context(False, ended=True)):
        for variable, value in context.items():
            if isinstance(value, Mapping):
                fields.setdefault(variable, set()).update(value)
    return {variable: frozenset(names) for variable, names in fields.items()}


def service_templates() -> TemplateStore:
    """The templates shipped for the service's own notices."""
    return TemplateStore(SERVICE_TEMPLATES_DIR)


# --- filters --------------------------------------------------------------------------


def format_datetime(value: datetime | None) -> str:
    """``Tue 24 Nov 2026, 14:00`` in UK time; empty for none."""
    if value is None:
        return ""
    if isinstance(value, Undefined):  # an unknown name: says so (or is noted, checking)
        return str(value)
    if not isinstance(value, datetime):
        raise TypeError(f"the datetime filter needs a date and time, not {type(value).__name__}")
    local = _aware(value).astimezone(UK)
    return f"{format_date(local)}, {local:%H:%M}"


def format_date(value: date | None) -> str:
    """``Tue 24 Nov 2026`` (in UK time for a datetime); empty for none."""
    if value is None:
        return ""
    if isinstance(value, Undefined):
        return str(value)
    if isinstance(value, datetime):
        value = _aware(value).astimezone(UK)
    elif not isinstance(value, date):
        raise TypeError(f"the date filter needs a date, not {type(value).__name__}")
    return f"{value:%a} {value.day} {value:%b %Y}"


def _aware(value: datetime) -> datetime:
    # Workflow time is UTC; a naive value can only have come from there.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


# --- checking -------------------------------------------------------------------------


def check_templates(
    directory: Path, referenced: Iterable[tuple[str, str]] = ()
) -> list[TemplateProblem]:
    """Every problem in the templates of ``directory`` (the ``templates`` folder).

    Each template file is rendered with a task-level and a case-level sample: syntax
    errors, unknown variables and fields, and failing filters are reported with file and
    line. ``referenced`` holds ``(where, template_id)`` pairs, e.g.
    ``("types/x.yaml: tasks[2].escalations[0].template", "sla-warning")``; each id with
    no template files is a problem at ``where``.
    """
    store = TemplateStore(directory)
    prefix = f"{store.directory.name}/"
    files = store.files()
    problems = [
        TemplateProblem(prefix + name, None, _BAD_NAME) for name in _misnamed(store.directory)
    ]
    for template_id, parts in files.items():
        for part in ("subject", "text"):
            if part not in parts:
                message = f"template {template_id!r} has no {template_id}.{part}.j2"
                problems.append(TemplateProblem(prefix + next(iter(parts.values())), None, message))
        for part, name in parts.items():
            for problem in _render_problems(store, name, prefix, subject=part == "subject"):
                if problem not in problems:  # a shared piece's, once
                    problems.append(problem)
    for name in _pieces(store.directory):
        for found in store.unknown_names(name):
            problem = TemplateProblem(prefix + name, found.line, found.message)
            if not any(_same_place(problem, seen) for seen in problems):
                problems.append(problem)
    for where, template_id in referenced:
        if template_id not in files:
            file, _, location = where.partition(": ")
            message = f"there is no template {template_id!r}{did_you_mean(template_id, files)}"
            message += f"; expected {prefix}{template_id}.subject.j2 and {template_id}.text.j2"
            message = f"{location}: {message}" if location else message
            problems.append(TemplateProblem(file, None, message))
    return problems


_BAD_NAME = (
    "not a template file name: use <id>.subject.j2, <id>.text.j2 or <id>.html.j2 "
    "(or start the name of a shared piece with _)"
)


def _pieces(directory: Path) -> list[str]:
    """The shared pieces (``_footer.text.j2``): each is read as a tree once, whichever
    templates include it."""
    if not directory.is_dir():
        return []
    return [path.name for path in sorted(directory.glob("_*.j2")) if path.is_file()]


def _same_place(problem: TemplateProblem, seen: TemplateProblem) -> bool:
    """The same name at the same place: a sample met it, with the kind of notice said."""
    return (problem.file, problem.line) == (seen.file, seen.line) and seen.message.startswith(
        problem.message
    )


def _misnamed(directory: Path) -> list[str]:
    if not directory.is_dir():
        return []
    return [
        path.name
        for path in sorted(directory.iterdir())
        if path.suffix == ".j2" and not path.name.startswith("_") and not _FILE.match(path.name)
    ]


def _render_problems(
    store: TemplateStore, name: str, prefix: str, *, subject: bool
) -> list[TemplateProblem]:
    """Every problem rendering ``name`` with the task-level and the case-level sample (the
    template of a notice that a case was ended outside: with a sample of that).

    Unknown names are noted as the rendering goes on (`activities.template_undefined`), so
    each is reported; any other error ends that rendering and is reported too. A problem
    both samples meet is reported once, as the first met it.
    """
    match = _FILE.match(name)
    ended = match is not None and match["id"] == ENDED_OUTSIDE_TEMPLATE
    problems: list[TemplateProblem] = []
    seen: set[tuple[str, int | None, str]] = set()

    def add(file: str, line: int | None, detail: str, what: str | None) -> None:
        if (file, line, detail) in seen:
            return
        seen.add((file, line, detail))
        message = f"{detail} (for {what})" if what else detail
        problems.append(TemplateProblem(prefix + file, line, message))

    for task_level in (False,) if ended else (True, False):
        what = (
            "a case ended outside"
            if ended
            else f"a {'task' if task_level else 'case'}-level escalation"
        )
        output, failed = None, []
        with noting() as noted:
            try:
                output = store.render_file(name, sample_context(task_level, ended=ended))
            except TemplateSyntaxError as error:
                file = Path(error.filename).name if error.filename else name
                add(file, error.lineno, f"syntax error: {error.message}", None)
                return problems  # the same for every sample
            except TemplateError as error:
                file, line = _template_frame(error, store.directory, name)
                failed.append(NotedName(file, line, error.message or type(error).__name__))
        for found in _in_order([*noted, *failed], name):
            add(found.file or name, found.line, found.message, what)
        if subject and output is not None and not noted and not output.strip():
            add(name, None, "the subject is empty", None)
    for found in store.unknown_names(name):  # in branches the samples did not take
        add(name, found.line, found.message, None)
    return problems


def _in_order(noted: list[NotedName], name: str) -> list[NotedName]:
    """Noted names by file (the template's own first) and line."""
    return sorted(noted, key=lambda n: (n.file not in (None, name), n.file or "", n.line or 0))


def _template_frame(error: BaseException, directory: Path, name: str) -> tuple[str, int | None]:
    """The innermost template file and line of ``error``'s traceback.

    Jinja rewrites the traceback of a rendering error so that each template frame carries
    the template's file name and source line; an included piece is its own frame.
    """
    root = directory.resolve()
    found: tuple[str, int | None] = (name, None)
    # A Python error is wrapped in TemplateFailed; its template frames are the cause's.
    traced = error.__cause__ if isinstance(error, TemplateFailed) and error.__cause__ else error
    for frame in traceback.extract_tb(traced.__traceback__):
        path = Path(frame.filename)
        if path.suffix == ".j2" and path.resolve().parent == root:
            found = (path.name, frame.lineno)
    return found
