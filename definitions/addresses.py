"""Email addresses as an administrator writes them in the directory and the definitions.

The check is deliberately simple, not RFC 5322: one ``@``, something before it, a domain
with a dot after it (``example.org``, no empty part), no spaces, and at most
`limits.ADDRESS_LENGTH` characters. It catches what goes wrong in a YAML file (a name
where the address should be, a missing domain, a stray space or a doubled ``@``) and lets
through every address a mail server would take; the mail server stays the final judge.
A stricter validator (``email-validator``, behind pydantic's ``EmailStr``) is not a
dependency of the service, and nothing here needs more than this.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

from . import limits

ADDRESS_ERROR = "email_address"
"""The pydantic error type of a text that is not an email address."""

_SPACE = re.compile(r"\s")


def address_fault(value: str) -> str | None:
    """What keeps ``value`` from being an email address, or None when it looks like one."""
    if _SPACE.search(value):
        return "it contains a space"
    if value.count("@") != 1:
        return "it has no @" if "@" not in value else "it has more than one @"
    local, domain = value.split("@")
    if not local:
        return "it has nothing before the @"
    parts = domain.split(".")
    if len(parts) < 2 or not all(parts):
        return "what follows the @ is not a domain such as example.org"
    return None


_MESSAGE = '"{address}" is not an email address ({fault}); write it as name@example.org'


def address_problem(value: str) -> str | None:
    """What validation says of ``value`` when it is not an email address, or None: the
    same words wherever an address is written (the directory, a type's fixed addresses)."""
    fault = address_fault(value)
    return None if fault is None else _MESSAGE.format(address=value, fault=fault)


def _checked_address(value: str) -> str:
    fault = address_fault(value)
    if fault is not None:
        # A custom error keeps pydantic from prefixing "Value error, " to the message.
        raise PydanticCustomError(ADDRESS_ERROR, _MESSAGE, {"address": value, "fault": fault})
    return value


EmailAddress = Annotated[
    str,
    Field(max_length=limits.ADDRESS_LENGTH, description="An email address, name@example.org."),
    AfterValidator(_checked_address),
]
"""An email address: checked by `address_fault`, at most `limits.ADDRESS_LENGTH` long."""
