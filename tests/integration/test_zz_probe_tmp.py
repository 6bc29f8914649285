# ruff: noqa
import asyncio, uuid
from tests.integration.test_sla_dev_server import *  # noqa
from tests.integration.sla_fixtures import sla_sessions, smtp  # noqa
from workflows import search_attributes as sa

async def test_probe(cases, sessions, smtp, temporal_client):
    case_ref = await open_case(cases)
    await asyncio.sleep(9)
    rows = await outbox(sessions, case_ref)
    print("ROWS", [(r.rule, r.status, r.attempts) for r in rows])
    st = await cases.state(case_ref)
    print("FIRINGS", [(f.rule, f.due_at, f.fired_at) for f in st.firings], st.priority)
    d = await temporal_client.get_workflow_handle(workflow_id_for(case_ref)).describe()
    print("SA", d.typed_search_attributes.get(sa.SLA_STATE), d.typed_search_attributes.get(sa.PRIORITY))
    await temporal_client.get_workflow_handle(workflow_id_for(case_ref)).terminate("x")
