"""Search attributes that make cases findable in the Temporal UI and by visibility queries.

The names are registered on the namespace by the dev stack and by operators
(`temporal operator search-attribute create`); changing one is a migration. What each
holds for a case is `casemodel.views.search_values`.
"""

from __future__ import annotations

from temporalio.common import SearchAttributeKey

PROVISION_TYPE = SearchAttributeKey.for_keyword("ProvisionType")
CATEGORY = SearchAttributeKey.for_keyword("ProvisionCategory")
OWNER = SearchAttributeKey.for_keyword("CaseOwner")
TENANT = SearchAttributeKey.for_keyword("TenantRef")
CASE_STATUS = SearchAttributeKey.for_keyword("CaseStatus")
NOT_OPENED = "not_opened"
"""The `CaseStatus` of a workflow whose case never opened (a start it refused, or whose
first register write was refused): its start set `open`, and a query for open cases, in
the UI or `case list --temporal`, must not find it."""
OPEN_TASKS = SearchAttributeKey.for_int("OpenTaskCount")
SLA_STATE = SearchAttributeKey.for_keyword("SlaState")
PRIORITY = SearchAttributeKey.for_keyword("CasePriority")
CASE_CHAIN = SearchAttributeKey.for_keyword("CaseChain")
"""The first case's reference of a chain of follow-on cases, on every case of the chain
(`CaseChain = 'TSA-1'` finds a tenant's assessment and the plans it opened); unset on a
case that neither was opened from another nor opens one."""

ALL = (
    PROVISION_TYPE,
    CATEGORY,
    OWNER,
    TENANT,
    CASE_STATUS,
    OPEN_TASKS,
    SLA_STATE,
    PRIORITY,
    CASE_CHAIN,
)
KEYS = {key.name: key for key in ALL}
