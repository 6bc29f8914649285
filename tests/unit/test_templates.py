"""Communication templates: rendering, and validation that points at file and line."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jinja2 import TemplateError, UndefinedError

from activities.recipients import Recipient
from activities.templates import (
    ENDED_OUTSIDE_TEMPLATE,
    SERVICE_TEMPLATES_DIR,
    TemplateProblem,
    TemplateStore,
    UnknownTemplate,
    build_context,
    check_templates,
    context_fields,
    format_date,
    format_datetime,
    sample_context,
    sample_notice,
    service_templates,
    templates_dir,
)

SHIPPED = Path(__file__).parents[2] / "definitions" / "catalog" / "templates"
URL = "http://ui.example/namespaces/default/workflows/case-SP-1"


def write(folder: Path, files: dict[str, str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    return tmp_path / "templates"


def test_renders_subject_text_and_html_escaping_only_the_html(folder: Path):
    write(
        folder,
        {
            "visit.subject.j2": "Due:\n  {{ task.name }}  on {{ case.ref }}\n",
            "visit.text.j2": "Hello {{ recipient.name }},\n"
            "{{ task.name }} is due {{ sla.due_at | datetime }}.\n",
            "visit.html.j2": '<p>{{ task.name }}</p><a href="{{ case.url }}">open</a>',
        },
    )
    notice = sample_notice(task_level=True).model_copy(update={"task_name": "Visit <b> & check"})
    recipient = Recipient("tom-bennett", "Tom Bennett", "tom@example.org", "person")

    message = TemplateStore(folder).render("visit", build_context(notice, recipient, URL))

    assert message.subject == "Due: Visit <b> & check on SP-2026-000123"
    assert message.text == "Hello Tom Bennett,\nVisit <b> & check is due Tue 24 Nov 2026, 14:00.\n"
    assert message.html == f'<p>Visit &lt;b&gt; &amp; check</p><a href="{URL}">open</a>'


def test_a_template_without_html_has_none_and_shared_pieces_are_not_templates(folder: Path):
    write(
        folder,
        {
            "plain.subject.j2": "{{ case.ref }}",
            "plain.text.j2": '{% include "_sign-off.text.j2" %}',
            "_sign-off.text.j2": "Support team",
        },
    )
    store = TemplateStore(folder)
    assert store.template_ids() == ["plain"]
    message = store.render("plain", sample_context(task_level=False))
    assert (message.subject, message.text, message.html) == (
        "SP-2026-000123",
        "Support team\n",
        None,
    )


def test_a_snapshot_store_renders_the_templates_as_they_were_when_it_was_made(folder: Path):
    """The worker's store: a template edited (or added, or removed) after the worker
    started, unchecked, does not reach recipients until it starts again."""
    write(
        folder,
        {
            "plain.subject.j2": "{{ case.ref }}",
            "plain.text.j2": '{% include "_sign-off.text.j2" %}',
            "_sign-off.text.j2": "Support team",
            "huge.subject.j2": "x" * 70_000,
            "huge.text.j2": "x",
        },
    )
    store = TemplateStore(folder, snapshot=True)
    write(folder, {"_sign-off.text.j2": "{{ recipient.nmae }}", "late.subject.j2": "x"})
    (folder / "plain.subject.j2").unlink()
    assert store.template_ids() == ["huge", "plain"]
    message = store.render("plain", sample_context(task_level=False))
    assert (message.subject, message.text) == ("SP-2026-000123", "Support team\n")
    with pytest.raises(TemplateError, match="at most"):  # refused as it was read
        store.render("huge", sample_context(task_level=False))
    anew = TemplateStore(folder, snapshot=True)  # a new store reads the folder anew
    assert anew.template_ids() == ["huge", "late", "plain"]
    with pytest.raises(UndefinedError, match="nmae"):
        anew.render_file("_sign-off.text.j2", sample_context(task_level=False))


def test_a_snapshot_store_asked_for_a_template_it_lacks_takes_the_files_added_since(
    folder: Path,
):
    """A type published while the worker runs brings templates of its own: its notices
    render without a restart. What the store read before stays as it was read."""
    write(folder, {"plain.subject.j2": "{{ case.ref }}", "plain.text.j2": "Old words"})
    store = TemplateStore(folder, snapshot=True)
    write(
        folder,
        {
            "plain.text.j2": "Edited, unchecked",
            "new-type-warning.subject.j2": "Warning on {{ case.ref }}",
            "new-type-warning.text.j2": "Look at it",
        },
    )
    context = sample_context(task_level=False)
    message = store.render("new-type-warning", context)
    assert (message.subject, message.text) == ("Warning on SP-2026-000123", "Look at it\n")
    assert store.render("plain", context).text == "Old words\n"
    with pytest.raises(UnknownTemplate):
        store.render("nowhere", context)


def test_an_unknown_field_is_an_error_when_rendering(folder: Path):
    write(folder, {"x.subject.j2": "{{ case.ref }}", "x.text.j2": "{{ case.tenant }}"})
    with pytest.raises(UndefinedError, match="unknown field 'tenant'.*tenant_ref"):
        TemplateStore(folder).render("x", sample_context(task_level=True))


def test_rendering_a_template_that_does_not_exist_says_what_is_close(folder: Path):
    write(folder, {"sla-warning.subject.j2": "s", "sla-warning.text.j2": "t"})
    with pytest.raises(UnknownTemplate, match='"sla-warning"'):
        TemplateStore(folder).render("sla-warnin", sample_context(task_level=True))


def test_check_reports_an_unknown_field_with_file_and_line(folder: Path):
    write(
        folder,
        {
            "breach.subject.j2": "Overdue: {{ case.ref }}",
            "breach.text.j2": "Hello {{ recipient.name }},\n\nCase {{ case.ref }}\n"
            "for {{ case.tenant }}\n",
        },
    )
    (problem,) = check_templates(folder)
    assert (problem.file, problem.line) == ("templates/breach.text.j2", 4)
    assert "unknown field 'tenant'" in problem.message
    assert 'did you mean "tenant_ref"' in problem.message
    assert str(problem).startswith("templates/breach.text.j2:4: unknown field 'tenant'")


def test_check_reports_an_unknown_variable_in_html_inside_blocks(folder: Path):
    html = (
        "<p>\n{% if task %}\n  {% for x in [1] %}\n    {{ reciepient.name }}\n"
        "  {% endfor %}\n{% endif %}\n</p>"
    )
    write(folder, {"visit.subject.j2": "Visit", "visit.text.j2": "Visit", "visit.html.j2": html})
    (problem,) = check_templates(folder)
    assert (problem.file, problem.line) == ("templates/visit.html.j2", 4)
    assert "unknown variable 'reciepient'" in problem.message
    assert 'did you mean "recipient"' in problem.message


def test_check_reports_an_unclosed_block_with_its_line(folder: Path):
    write(
        folder, {"visit.subject.j2": "Visit", "visit.text.j2": "one\ntwo\n{% if task %}\nthree\n"}
    )
    (problem,) = check_templates(folder)
    assert problem.file == "templates/visit.text.j2"
    assert problem.line == 4  # where Jinja reached the end still looking for the endif
    assert problem.message.startswith("syntax error: ") and "endif" in problem.message


def test_check_reports_a_broken_expression_on_its_line(folder: Path):
    write(folder, {"visit.subject.j2": "Visit", "visit.text.j2": "one\n{{ case.ref ) }}\n"})
    (problem,) = check_templates(folder)
    assert (problem.file, problem.line) == ("templates/visit.text.j2", 2)
    assert problem.message.startswith("syntax error: ")


def test_check_reports_a_problem_in_an_included_piece_at_the_piece(folder: Path):
    write(
        folder,
        {
            "visit.subject.j2": "Visit",
            "visit.text.j2": 'Hello\n{% include "_details.text.j2" %}\n',
            "breach.subject.j2": "Breach",
            "breach.text.j2": '{% include "_details.text.j2" %}',
            "_details.text.j2": "Case {{ case.ref }}\nDue {{ sla.due_on }}\n",
        },
    )
    (problem,) = check_templates(folder)
    assert (problem.file, problem.line) == ("templates/_details.text.j2", 2)
    assert "unknown field 'due_on'" in problem.message and "due_at" in problem.message


def test_check_reports_task_details_that_break_a_case_level_escalation(folder: Path):
    write(folder, {"visit.subject.j2": "{{ case.ref }}", "visit.text.j2": "x\n{{ task.name }}\n"})
    (problem,) = check_templates(folder)
    assert (problem.file, problem.line) == ("templates/visit.text.j2", 2)
    assert "{% if task %}" in problem.message and "case-level" in problem.message


def test_check_reports_a_filter_used_on_the_wrong_thing(folder: Path):
    write(folder, {"visit.subject.j2": "{{ case.ref | datetime }}", "visit.text.j2": "x"})
    (problem,) = check_templates(folder)
    assert (problem.file, problem.line) == ("templates/visit.subject.j2", 1)
    assert "datetime filter needs a date and time" in problem.message


def test_check_reports_every_unknown_name_of_a_template_not_only_the_first(folder: Path):
    write(
        folder,
        {
            "visit.subject.j2": "{{ case.reff }} for {{ tennant }}",
            "visit.text.j2": (
                "Hello {{ recipient.nmae | upper }},\n"
                "{% if case.statu == 'open' %}open{% endif %}\n"
                "{% for t in case.tasks %}{{ t }}{% endfor %}\n"
                "{{ sla.due_on | datetime }}\n"
                '{% include "_footer.text.j2" %}\n'
                "{{ escalation.rulle ~ '!' }} {{ case.ref }}\n"
            ),
            "_footer.text.j2": "Sent to {{ recipient.mail }}\n",
        },
    )
    found = [(p.file, p.line, p.message.split(";")[0]) for p in check_templates(folder)]
    assert found == [
        ("templates/visit.subject.j2", 1, "unknown field 'reff' (did you mean \"ref\"?)"),
        ("templates/visit.subject.j2", 1, "unknown variable 'tennant'"),
        ("templates/visit.text.j2", 1, "unknown field 'nmae' (did you mean \"name\"?)"),
        ("templates/visit.text.j2", 2, "unknown field 'statu' (did you mean \"status\"?)"),
        ("templates/visit.text.j2", 3, "unknown field 'tasks'"),
        ("templates/visit.text.j2", 4, "unknown field 'due_on' (did you mean \"due_at\"?)"),
        ("templates/visit.text.j2", 6, "unknown field 'rulle' (did you mean \"rule\"?)"),
        ("templates/_footer.text.j2", 1, "unknown field 'mail' (did you mean \"email\"?)"),
    ]
    # Each once: the case-level sample meets the same names, and a name's filters and
    # operators add nothing of their own.
    assert all("(for a task-level escalation)" in p.message for p in check_templates(folder))


def test_a_notice_with_an_unknown_name_still_fails_to_render(folder: Path):
    write(folder, {"x.subject.j2": "{{ case.ref }}", "x.text.j2": "{{ tenant }} {{ case.reff }}"})
    with pytest.raises(UndefinedError, match="unknown variable 'tenant'"):
        TemplateStore(folder).render("x", sample_context(task_level=True))
    check_templates(folder)  # checking does not leave rendering lenient
    with pytest.raises(UndefinedError, match="unknown variable 'tenant'"):
        TemplateStore(folder).render("x", sample_context(task_level=False))


def test_check_reports_a_case_level_problem_beside_the_task_level_ones(folder: Path):
    write(
        folder,
        {"visit.subject.j2": "Visit", "visit.text.j2": "{{ task.name }}\n{{ case.tenant }}\n"},
    )
    found = [(p.line, p.message) for p in check_templates(folder)]
    assert [line for line, _ in found] == [2, 1]
    assert "unknown field 'tenant'" in found[0][1] and "task-level" in found[0][1]
    assert "{% if task %}" in found[1][1] and "case-level" in found[1][1]


def test_check_reports_missing_parts_misnamed_files_and_an_empty_subject(folder: Path):
    write(
        folder,
        {
            "no-text.subject.j2": "s",
            "empty.subject.j2": "{% if false %}x{% endif %}",
            "empty.text.j2": "t",
            "stray.j2": "x",
        },
    )
    problems = {(p.file, p.message) for p in check_templates(folder)}
    assert ("templates/no-text.subject.j2", "template 'no-text' has no no-text.text.j2") in problems
    assert ("templates/empty.subject.j2", "the subject is empty") in problems
    assert any(file == "templates/stray.j2" for file, _ in problems)
    assert len(problems) == 3


def test_check_reports_each_referenced_template_that_has_no_files(folder: Path):
    write(folder, {"sla-warning.subject.j2": "s", "sla-warning.text.j2": "t"})
    referenced = [
        ("types/x.yaml: tasks[2].escalations[0].template", "sla-warning"),
        ("types/x.yaml: tasks[2].escalations[1].template", "sla-warnign"),
        ("types/y.yaml", "gone"),
    ]
    problems = check_templates(folder, referenced)
    assert problems == [
        TemplateProblem(
            "types/x.yaml",
            None,
            "tasks[2].escalations[1].template: there is no template 'sla-warnign' "
            '(did you mean "sla-warning"?); '
            "expected templates/sla-warnign.subject.j2 and sla-warnign.text.j2",
        ),
        TemplateProblem(
            "types/y.yaml",
            None,
            "there is no template 'gone'; expected templates/gone.subject.j2 and gone.text.j2",
        ),
    ]
    assert str(problems[0]).startswith("types/x.yaml: tasks[2].escalations[1].template: ")


def test_a_missing_templates_folder_only_matters_when_templates_are_named(tmp_path: Path):
    assert check_templates(tmp_path / "templates") == []
    (problem,) = check_templates(tmp_path / "templates", [("types/x.yaml: escalations[0]", "a")])
    assert problem.file == "types/x.yaml"


def test_the_templates_live_beside_the_types(tmp_path: Path):
    assert templates_dir(tmp_path) == tmp_path / "templates"


def test_the_shipped_templates_all_pass_and_cover_the_escalations():
    store = TemplateStore(SHIPPED)
    ids = store.template_ids()
    assert set(ids) >= {
        "task-sla-warning",
        "task-sla-breach",
        "case-sla-warning",
        "case-sla-breach",
        "safeguarding-escalation",
        "stagnation-nudge",
        "partner-agency-update",
    }
    assert check_templates(SHIPPED, [("types/x.yaml", i) for i in ids]) == []
    with_html = [i for i in ids if "html" in store.files()[i]]
    assert len(with_html) >= 2
    for template_id in ids:
        for task_level in (True, False):
            message = store.render(template_id, sample_context(task_level))
            assert "SP-2026-000123" in message.subject and "\n" not in message.subject
            assert "SP-2026-000123" in message.text


def test_partner_agencies_get_no_internal_link_but_staff_do():
    store = TemplateStore(SHIPPED)
    notice = sample_notice(task_level=True)
    agency = Recipient(None, "Council welfare rights team", "welfare@council.example", "external")
    staff = Recipient("tom-bennett", "Tom Bennett", "tom@example.org", "person")
    assert URL not in store.render("partner-agency-update", build_context(notice, agency, URL)).text
    assert URL in store.render("partner-agency-update", build_context(notice, staff, URL)).text


def test_context_for_a_case_level_and_a_task_level_escalation():
    recipient = Recipient(None, "Panel", "panel@example.org", "external")
    case_level = build_context(sample_notice(task_level=False), recipient, URL)
    assert case_level["task"] is None
    assert case_level["case"]["url"] == URL and case_level["case"]["owner"] == "tom-bennett"
    assert case_level["sla"]["clock"] == "case"
    assert case_level["recipient"] == {
        "id": None,
        "name": "Panel",
        "email": "panel@example.org",
        "kind": "external",
    }
    task_level = build_context(sample_notice(task_level=True), recipient, URL)
    assert task_level["task"] == {"key": "home-visit", "name": "Home visit", "owner": "tom-bennett"}
    naive = sample_notice(task_level=True).model_copy(update={"sla": None})
    naive = naive.model_copy(update={"fired_at": datetime(2026, 6, 1, 12, 0)})
    context = build_context(naive, recipient, URL)
    assert context["sla"] is None
    assert context["escalation"]["fired_at"] == datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def test_the_notice_of_a_case_ended_outside_says_how_by_whom_why_and_what_was_left():
    message = service_templates().render(ENDED_OUTSIDE_TEMPLATE, sample_context(False, ended=True))
    assert message.subject == (
        "Case SP-2026-000123 was terminated in Temporal and no longer keeps time"
    )
    text = " ".join(message.text.split())
    assert (
        "was terminated in Temporal on Fri 20 Nov 2026, 14:00 by ops@northfieldhomes.example.org"
        ', while the case was still open: "tenant record merged".' in text
    )
    assert "  - Home visit\n  - Support plan agreed\n" in message.text
    assert "start a new case" in message.text and message.html is None
    context = sample_context(False, ended=True)
    context["ended"] = {**context["ended"], "by": "", "reason": "", "open_tasks": []}
    plain = service_templates().render(ENDED_OUTSIDE_TEMPLATE, context).text
    assert "terminated in Temporal on Fri 20 Nov 2026, 14:00, while the case was still open." in (
        " ".join(plain.split())
    )
    assert "Tasks it left" not in plain
    assert (
        build_context(sample_notice(task_level=True), Recipient(None, "P", "", "x"), URL)["ended"]
        is None
    )  # every other notice


def test_the_service_templates_pass_and_a_catalog_s_own_is_checked_as_that_notice(folder: Path):
    assert check_templates(SERVICE_TEMPLATES_DIR) == []
    write(
        folder,
        {
            f"{ENDED_OUTSIDE_TEMPLATE}.subject.j2": "Ended: {{ case.ref }} by {{ ended.by }}",
            f"{ENDED_OUTSIDE_TEMPLATE}.text.j2": "{{ ended.how }}\n{{ ended.who }}\n",
        },
    )
    (problem,) = check_templates(folder)
    assert problem.file == f"templates/{ENDED_OUTSIDE_TEMPLATE}.text.j2" and problem.line == 2
    assert "unknown field 'who'" in problem.message
    assert "(for a case ended outside)" in problem.message


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime(2026, 11, 24, 14, 0, tzinfo=UTC), "Tue 24 Nov 2026, 14:00"),  # GMT
        (datetime(2026, 7, 1, 13, 5, tzinfo=UTC), "Wed 1 Jul 2026, 14:05"),  # BST
        (datetime(2026, 3, 29, 0, 30), "Sun 29 Mar 2026, 00:30"),  # naive: UTC, before BST
        (datetime(2026, 3, 29, 1, 30, tzinfo=UTC), "Sun 29 Mar 2026, 02:30"),  # after
        (None, ""),
    ],
)
def test_times_are_shown_in_uk_time(value: datetime | None, expected: str):
    assert format_datetime(value) == expected


def test_a_date_is_the_uk_calendar_day():
    assert format_date(datetime(2026, 6, 30, 23, 30, tzinfo=UTC)) == "Wed 1 Jul 2026"


def test_check_reports_unknown_names_in_branches_no_sample_takes(folder: Path):
    write(
        folder,
        {
            "urgent.subject.j2": "{{ case.ref }}",
            "urgent.text.j2": (
                "Hello {{ recipient.name }}\n"
                "{% if case.priority == 'urgent' %}\n"
                "{{ case.urgent_note }} {{ tenant_name }}\n"
                "{% if task %}{{ task['visit_date'] }}{% endif %}\n"
                "{% endif %}\n"
            ),
        },
    )
    found = [(p.file, p.line, p.message.split(";")[0]) for p in check_templates(folder)]
    assert found == [
        ("templates/urgent.text.j2", 3, "unknown field 'urgent_note'"),
        ("templates/urgent.text.j2", 3, "unknown variable 'tenant_name'"),
        ("templates/urgent.text.j2", 4, "unknown field 'visit_date'"),
    ]
    # What it spares: the urgent case's notice, which would not render.
    urgent = sample_context(task_level=True)
    urgent["case"]["priority"] = "urgent"
    with pytest.raises(UndefinedError, match="urgent_note"):
        TemplateStore(folder).render("urgent", urgent)


def test_names_a_template_binds_itself_and_what_a_value_has_are_not_checked(folder: Path):
    write(
        folder,
        {
            "own.subject.j2": "{{ case.ref }}",
            "own.text.j2": (
                "{% if false %}\n"
                "{% for name in ended.open_tasks if name.strip() %}{{ name.upper() }}"
                "{{ loop.index }}{% endfor %}\n"
                "{% set note = case.ref %}{{ note.whatever }}\n"
                "{% macro line(item, width=20) %}{{ item.label }}{{ caller() }}{% endmacro %}\n"
                "{% with due = sla.due_at %}{{ due.year }}{% endwith %}\n"
                "{{ sla.due_at.isoformat() }} {{ case.items() | list }} {{ range(2) | list }}\n"
                "{% endif %}\n"
            ),
        },
    )
    assert check_templates(folder) == []


def test_a_piece_is_read_once_whether_or_not_a_sample_reaches_it(folder: Path):
    write(
        folder,
        {
            "visit.subject.j2": "Visit",
            "visit.text.j2": '{% include "_footer.text.j2" %}',
            "breach.subject.j2": "Breach",
            "breach.text.j2": '{% if false %}{% include "_unused.text.j2" %}{% endif %}',
            "_footer.text.j2": "{{ recipient.mail }}\n{% if false %}{{ case.tenant }}{% endif %}",
            "_unused.text.j2": "\n{{ sla.due_on }}",
        },
    )
    found = [(p.file, p.line, p.message.split(";")[0]) for p in check_templates(folder)]
    assert found == [
        ("templates/_footer.text.j2", 1, "unknown field 'mail' (did you mean \"email\"?)"),
        ("templates/_footer.text.j2", 2, "unknown field 'tenant' (did you mean \"tenant_ref\"?)"),
        ("templates/_unused.text.j2", 2, "unknown field 'due_on' (did you mean \"due_at\"?)"),
    ]


_FIELD = st.from_regex(r"[a-z][a-z_]{0,12}", fullmatch=True)


@settings(max_examples=60, deadline=None)
@given(
    variable=st.sampled_from(["case", "task", "sla", "escalation", "recipient", "ended"]),
    field=_FIELD,
)
def test_any_field_read_anywhere_is_checked_against_what_a_notice_has(
    tmp_path_factory: pytest.TempPathFactory, variable: str, field: str
):
    folder = write(
        tmp_path_factory.mktemp("t") / "templates",
        {
            "x.subject.j2": "X",
            "x.text.j2": f"{{% if false %}}{{{{ {variable}.{field} }}}}{{% endif %}}",
        },
    )
    known = context_fields()[variable]
    problems = check_templates(folder)
    if field in known or hasattr(dict, field):
        assert problems == []
    else:
        (problem,) = problems
        assert (problem.line, problem.message.split(";")[0].split(" (")[0]) == (
            1,
            f"unknown field {field!r}",
        )
