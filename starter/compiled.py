"""Our workflow modules compiled once per worker process, not once per case.

The workflow sandbox imports the workflow's module afresh for every case it builds (so
that no case sees another's module state). Python reads that module's bytecode from
`__pycache__` when it is there, but where `PYTHONDONTWRITEBYTECODE` is set (as in the
image, the dev stack and the tests) and the project is installed editable, nothing ever
writes it: each case then compiled `workflows/` from source, 14 % of a worker's CPU.

A code object is immutable, so one compiled code object may be executed into as many
fresh module namespaces as there are cases: each case still gets its own module, run
inside its own sandbox, with its own globals. Only the compiling is shared. The cache is
keyed by the file and its modification time and size, so an edited file is compiled again.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import os
import sys
import threading
from collections.abc import Sequence
from types import CodeType

_codes: dict[tuple[str, int, int], CodeType] = {}
_lock = threading.Lock()


class CodeCachingLoader(importlib.machinery.SourceFileLoader):
    """A source loader whose compiled code is kept for the next import of the module."""

    def get_code(self, fullname: str) -> CodeType:
        stat = os.stat(self.path)
        key = (self.path, stat.st_mtime_ns, stat.st_size)
        with _lock:
            code = _codes.get(key)
        if code is None:
            code = super().get_code(fullname)
            if code is None:  # pragma: no cover - a source file always has code
                raise ImportError(f"no code for {fullname}", name=fullname)
            with _lock:
                _codes[key] = code
        return code


class CompiledOnceFinder(importlib.abc.MetaPathFinder):
    """Finds modules of `packages` as the path finder does, loaded by `CodeCachingLoader`."""

    def __init__(self, packages: Sequence[str]) -> None:
        self.packages = frozenset(packages)

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: object = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname.partition(".")[0] not in self.packages:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or type(spec.loader) is not importlib.machinery.SourceFileLoader:
            return spec
        spec.loader = CodeCachingLoader(spec.loader.name, spec.loader.path)
        return spec


def compile_once(*packages: str) -> None:
    """Keep the compiled code of `packages`' modules for this process (idempotent)."""
    for finder in sys.meta_path:
        if isinstance(finder, CompiledOnceFinder) and finder.packages >= set(packages):
            return
    sys.meta_path.insert(0, CompiledOnceFinder(packages))


def compiled_count() -> int:
    """How many code objects are kept (for tests and the benchmark)."""
    return len(_codes)
