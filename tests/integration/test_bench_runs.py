"""Each benchmark still runs to its report, at the smallest size that exercises it.

The figures are not checked (they are measured in `bench/`, not in tests); what is checked
is that a change to the service did not leave a benchmark refused or broken. The `long`
and `codec` benchmarks sent requests with `by` after requests began to carry the signed
identity, and were refused until a full run showed it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DEADLINE = 180.0

RUNS = {
    "rate": (["rate", "--rate-cases", "20", "--rounds", "2"], "End-to-end rate"),
    "open": (["open", "--counts", "30,60"], "Open cases"),
    "history": (["history", "--sizes", "5", "--repeat", "1"], "History growth"),
    "long": (["long", "--requests", "40", "--samples", "1"], "Long-lived benchmark took"),
    "codec": (["codec", "--updates", "10"], "Codec benchmark took"),
}


@pytest.mark.parametrize("name", sorted(RUNS))
def test_the_benchmark_runs_to_its_report(name: str, tmp_path: Path) -> None:
    arguments, report = RUNS[name]
    out = tmp_path / f"{name}.json"
    done = subprocess.run(
        [sys.executable, "-m", "bench", *arguments, "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=DEADLINE,
        check=False,
    )
    said = done.stdout + done.stderr
    assert done.returncode == 0, said[-3000:]
    assert report in done.stdout, said[-3000:]
    assert "Traceback" not in said, said[-3000:]
    assert "Fatal Python error" not in said, said[-3000:]
    assert out.stat().st_size > 0
