"""`support-provision whoami`: who case commands sign as here, read from the directory."""

from __future__ import annotations

from tests.e2e.cli import cli


async def test_whoami_shows_who_signs_and_no_token_it_never_issued(ready_database: str):
    """whoami reads the identity from the directory and signs nothing, so it shows no
    token's issued-at or expiry (it used to show `iat: 0` and `exp: 0`)."""
    env = {"DATABASE_URL": ready_database, "SUPPORT_PROVISION_USER": "tbennett"}
    result = await cli("whoami", "--json", env=env)
    assert result.code == 0, result.stderr
    shown = result.json()
    assert (shown["sub"], shown["kind"], shown["name"]) == ("tom-bennett", "person", "Tom Bennett")
    assert shown["key_id"] and shown["may"]
    assert not {"iat", "exp", "aud", "jti"} & set(shown), shown
