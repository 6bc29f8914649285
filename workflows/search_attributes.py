"""Search attributes that make cases findable in the Temporal UI and by visibility queries.

The names are registered on the namespace by the dev stack and by operators
(`temporal operator search-attribute create`); changing one is a migration.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from temporalio.common import SearchAttributeKey

if TYPE_CHECKING:
    from casemodel.case import Case

PROVISION_TYPE = SearchAttributeKey.for_keyword("ProvisionType")
CATEGORY = SearchAttributeKey.for_keyword("ProvisionCategory")
OWNER = SearchAttributeKey.for_keyword("CaseOwner")
TENANT = SearchAttributeKey.for_keyword("TenantRef")
CASE_STATUS = SearchAttributeKey.for_keyword("CaseStatus")
OPEN_TASKS = SearchAttributeKey.for_int("OpenTaskCount")
SLA_STATE = SearchAttributeKey.for_keyword("SlaState")
PRIORITY = SearchAttributeKey.for_keyword("CasePriority")

ALL = (PROVISION_TYPE, CATEGORY, OWNER, TENANT, CASE_STATUS, OPEN_TASKS, SLA_STATE, PRIORITY)


def attributes_of(case: Case, now: datetime, *, keeps_time: bool) -> tuple[tuple[Any, Any], ...]:
    """The search attributes a case shows, in the order they were always written."""
    state = case.state
    values: tuple[tuple[Any, Any], ...] = (
        (PROVISION_TYPE, case.type.id),
        (CATEGORY, case.type.category.value),
        (OWNER, state.owner),
        (TENANT, state.tenant_ref),
        (CASE_STATUS, state.status.value),
        (OPEN_TASKS, state.open_task_count()),
    )
    if keeps_time:
        values += ((SLA_STATE, case.sla_state(now).value), (PRIORITY, state.priority))
    return values
