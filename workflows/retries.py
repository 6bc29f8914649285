"""How long the case keeps trying its activities: for as long as it takes, slowly."""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy

REGISTER_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=2),
)
"""The register must catch up however long the database is away."""

NOTIFY_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=2),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=5),
)
"""A notice must reach its recipients however long the mail server is away."""
