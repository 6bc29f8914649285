"""The fault harness, briefly: every fault of `python -m bench faults` on a few cases.

A worker process, a dev server, an SMTP sink and SQLite, each broken in turn (the worker
killed again and again, the mail server away, the Temporal server restarted, the write
lock held, the files read-only). Whatever broke, every notification reaches its
recipient, no case is left stuck, the case register catches up with every case, no
workflow task fails, and a message arrives twice
only inside the documented window: a worker killed after the mail server took it and
before `sent` was committed (one extra copy at most, every copy counted as an attempt).
"""

from __future__ import annotations

from bench import faults
from bench.faults_drills import SCENARIOS


async def test_every_fault_is_survived_without_loss_stuck_case_or_stray_duplicate():
    results = await faults.run(short=True, cases=3)

    figures = results["scenarios"]
    assert tuple(figures) == SCENARIOS
    for scenario, found in figures.items():
        summary = f"{scenario}: {found}"
        assert found["expected"] == 3 * 3, summary  # 2 firings a case: 1 + 2 recipients
        assert found["lost"] == 0 and found["delivered"] == found["expected"], summary
        assert found["stuck"] == 0 and found["recovery_s"] is not None, summary
        assert found["register_behind"] == 0 and found["register_s"] is not None, summary
        assert found["workflow_task_failures"] == 0, summary
        assert found["duplicates"] == found["duplicates_in_window"], summary
        assert found["log_size_limit"] == 0 and found["log_tracebacks"] == 0, summary
        assert not [m for m in found["failure_messages"] if "exceeds size limit" in m], summary
