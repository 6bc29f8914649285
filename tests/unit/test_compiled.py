"""The workflow module is compiled once per process, yet each import is a module of its own."""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

from starter.compiled import compile_once, compiled_count


def test_a_module_imported_afresh_is_compiled_once(tmp_path: Path, monkeypatch) -> None:
    package = tmp_path / "sandboxed_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "shell.py").write_text("STATE = []\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    compile_once("sandboxed_pkg")
    first = importlib.import_module("sandboxed_pkg.shell")
    kept = compiled_count()
    del sys.modules["sandboxed_pkg.shell"]
    second = importlib.import_module("sandboxed_pkg.shell")
    assert compiled_count() == kept  # the second import compiled nothing
    assert first is not second and first.STATE is not second.STATE
    sys.modules.pop("sandboxed_pkg.shell", None)
    sys.modules.pop("sandboxed_pkg", None)


def test_an_edited_module_is_compiled_again(tmp_path: Path, monkeypatch) -> None:
    package = tmp_path / "edited_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    source = package / "shell.py"
    source.write_text("VALUE = 1\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    compile_once("edited_pkg")
    assert importlib.import_module("edited_pkg.shell").VALUE == 1
    del sys.modules["edited_pkg.shell"]
    source.write_text("VALUE = 22\n")
    assert importlib.import_module("edited_pkg.shell").VALUE == 22
    sys.modules.pop("edited_pkg.shell", None)
    sys.modules.pop("edited_pkg", None)
