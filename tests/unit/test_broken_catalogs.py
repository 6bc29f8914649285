"""Every catalog of the broken corpus is refused by `definitions validate` in one run:
exit 1, the problem named with its file and field (or line), and never a traceback."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from starter.cli_definitions import app
from tests.catalogs.broken import CORPUS, DIRECTORY_FILE, BrokenCatalog, write_valid_catalog

runner = CliRunner()
FILES = ("types/", "calendars.yaml", "templates/")


@pytest.fixture(autouse=True)
def _no_configured_definitions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SUPPORT_PROVISION_DEFINITIONS", raising=False)
    monkeypatch.delenv("SUPPORT_PROVISION_DIRECTORY", raising=False)


def validate(root: Path) -> tuple[int, str, str]:
    result = runner.invoke(app, ["validate", str(root), "--directory", str(DIRECTORY_FILE)])
    return result.exit_code, result.stdout, result.stderr


def test_the_catalog_the_corpus_breaks_is_valid(tmp_path: Path) -> None:
    code, stdout, stderr = validate(write_valid_catalog(tmp_path / "defs"))
    assert (code, stderr) == (0, ""), stderr
    assert stdout.strip().endswith("all valid")


def test_the_corpus_covers_what_it_promises() -> None:
    names = {case.name for case in CORPUS}
    assert len(names) == len(CORPUS)
    durations = {"sla-target", "sla-warning", "lag", "delay", "stagnation-after", "repeat-every"}
    durations |= {"recurrence-every", "recurrence-for", "months-target"}
    assert {"recurrence-without-end", "recurrence-until-unknown-outcome"} <= names
    assert durations | {"follow-on-after", "three-megabyte-description", "alias-bomb"} <= names
    assert {"deep-nesting", "huge-subject", "nested-huge-loops", "recursive-macro"} <= names


@pytest.mark.parametrize("case", CORPUS, ids=lambda case: case.name)
def test_validate_refuses_it_naming_file_and_field(tmp_path: Path, case: BrokenCatalog) -> None:
    started = time.process_time()
    code, stdout, stderr = validate(case.write(tmp_path / "defs"))
    assert time.process_time() - started < 5
    assert code == 1
    assert "Traceback" not in stdout + stderr
    assert stdout == ""
    *problems, summary = stderr.splitlines()
    assert summary.endswith(f"in {tmp_path / 'defs'}") and "problem" in summary
    assert any(line.startswith(case.expected) for line in problems), stderr
    assert all(line.startswith(FILES) for line in problems), stderr
