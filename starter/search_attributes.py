"""Register the case search attributes on a namespace, once, before any case starts."""

from __future__ import annotations

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client

from workflows import search_attributes as sa

_TYPES = {
    "KEYWORD": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "INT": IndexedValueType.INDEXED_VALUE_TYPE_INT,
    "TEXT": IndexedValueType.INDEXED_VALUE_TYPE_TEXT,
    "BOOL": IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
    "DATETIME": IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
}


async def ensure_search_attributes(client: Client, namespace: str) -> list[str]:
    """Add the attributes the namespace lacks; return the names added."""
    existing = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=namespace)
    )
    missing = {
        key.name: _TYPES[key.indexed_value_type.name]
        for key in sa.ALL
        if key.name not in existing.custom_attributes
    }
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=namespace, search_attributes=missing)
        )
    return sorted(missing)
