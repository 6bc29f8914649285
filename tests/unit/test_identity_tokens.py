"""Identity tokens: what a worker accepts as who sent a request, and what it refuses."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protection.identity import (
    MANAGES_LIMIT,
    TOKEN_BYTES,
    Identity,
    IdentityRefused,
    issue,
    verify,
)
from protection.keys import KeyRing, generate_entry

RING = KeyRing.parse(generate_entry("id-1"))
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def tom(ring: KeyRing = RING, *, now: datetime = NOW, **more: object) -> str:
    claims: dict[str, object] = {
        "sub": "tom-bennett",
        "kind": "person",
        "name": "Tom Bennett",
        "roles": ("housing-officer",),
        "team": "neighbourhood-team",
        "grants": ("open-case",),
        **more,
    }
    return issue(ring, Identity(**claims), now=now)  # type: ignore[arg-type]


def refusal(token: object, *, ring: KeyRing = RING, at: datetime = NOW) -> str:
    with pytest.raises(IdentityRefused) as refused:
        verify(ring, token, at)
    return refused.value.reason


def test_a_signed_token_gives_back_its_claims():
    identity = verify(RING, tom(manages=("aisha-begum",)), NOW + timedelta(minutes=1))
    assert identity == Identity(
        sub="tom-bennett",
        kind="person",
        name="Tom Bennett",
        roles=("housing-officer",),
        team="neighbourhood-team",
        manages=("aisha-begum",),
        grants=("open-case",),
        iat=int(NOW.timestamp()),
        exp=int((NOW + timedelta(minutes=15)).timestamp()),
    )
    assert identity.label == "tom-bennett (Tom Bennett)"
    assert identity.key_id == "id-1"


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_changing_any_byte_of_a_token_is_refused(data: st.DataObject):
    token = tom()
    position = data.draw(st.integers(0, len(token) - 1))
    replacement = data.draw(
        st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.")
    )
    changed = token[:position] + replacement + token[position + 1 :]
    if changed == token:
        return
    assert refusal(changed) in {"malformed", "bad-signature", "unknown-key"}


def test_an_expired_token_is_refused_and_a_live_one_is_not():
    token = tom()
    verify(RING, token, NOW + timedelta(minutes=14, seconds=59))
    assert refusal(token, at=NOW + timedelta(minutes=15)) == "expired"


def test_a_token_issued_ahead_of_the_clock_is_refused():
    assert refusal(tom(now=NOW + timedelta(hours=1))) == "malformed"


def test_a_token_of_another_key_is_refused():
    other = KeyRing.parse(generate_entry("id-2"))
    assert refusal(tom(other)) == "unknown-key"
    impostor = KeyRing.parse(generate_entry("id-1"))  # the same id, other bytes
    assert refusal(tom(impostor)) == "bad-signature"


def test_a_rotated_ring_still_verifies_tokens_of_its_older_key():
    rotated = RING.rotated(generate_entry("id-2"))
    assert verify(rotated, tom(), NOW).sub == "tom-bennett"
    assert verify(rotated, tom(rotated), NOW).key_id == "id-2"


@pytest.mark.parametrize(
    "token", [None, "", 42, "x" * (TOKEN_BYTES + 1), "spi1.id-1.e30", "jwt.a.b.c"]
)
def test_anything_but_a_token_is_refused(token: object):
    assert refusal(token) in {"missing", "malformed"}


def test_claims_beyond_the_bounds_are_not_signed():
    with pytest.raises(IdentityRefused):
        tom(manages=tuple(f"person-{n}" for n in range(MANAGES_LIMIT + 1)))
    with pytest.raises(IdentityRefused):
        issue(
            RING, Identity(sub="x", kind="person", name="X"), now=NOW, lifetime=timedelta(hours=25)
        )
    with pytest.raises(IdentityRefused):
        issue(RING, Identity(sub="x", kind="wizard", name="X"), now=NOW)
    with pytest.raises(IdentityRefused):
        issue(RING, Identity(sub="x y", kind="person", name="X"), now=NOW)


def test_a_token_names_the_case_it_is_for_and_its_own_id():
    identity = Identity(sub="tom-bennett", kind="person", name="Tom Bennett")
    token = issue(RING, identity, now=NOW, aud="TSA-1", jti="a" * 22)
    verified = verify(RING, token, NOW)
    assert (verified.aud, verified.jti) == ("TSA-1", "a" * 22)
    for aud, jti, why in (
        ("TSA\n1", "a" * 22, "aud must be a case reference"),
        ("x" * 201, "a" * 22, "aud must be a case reference"),
        ("TSA-1", "short", "jti must be 16 to 64 base64url characters"),
        ("TSA-1", "a" * 21 + "!", "jti must be 16 to 64 base64url characters"),
    ):
        with pytest.raises(IdentityRefused, match=why):
            issue(RING, identity, now=NOW, aud=aud, jti=jti)
