"""A catalog that validates with warnings only: `definitions validate` prints them and
exits 0 (tests/unit/test_type_advice.py, tests/e2e/test_cli_validate_warnings.py)."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.catalogs.broken import TYPE_FILE, valid_type, write_valid_catalog


def overrunning_catalog(root: Path) -> Path:
    """The broken corpus's valid catalog, with a first task longer than the case target
    (20 working days) and a weekly recurrence shorter than that task's target."""
    write_valid_catalog(root)
    data = valid_type()
    data["tasks"][0]["sla"] = {"target": "25 working days", "warning": "1 working day"}
    data["tasks"][0]["recurrence"] = {"every": "1 week", "times": 4}
    (root / TYPE_FILE).write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return root
