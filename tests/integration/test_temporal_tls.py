"""TLS to Temporal for real: the SDK, the `support-provision` command and the `temporal`
CLI reach the session's dev server through a TLS front (tests/tls_proxy.py) on the same
`TEMPORAL_TLS_*` variables, and a wrong CA, a wrong server name or a missing client
certificate is refused as the secure connection failing, in one line."""

from __future__ import annotations

import asyncio
import os
from dataclasses import replace
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from activities.database.directory import default_directory_file
from definitions.loader import default_definitions_dir
from starter.binaries import temporal_cli
from starter.bootstrap import bootstrap
from starter.client import CaseClient, CaseRefused
from starter.settings import Settings
from starter.temporal_tls import TemporalConnection
from tests.e2e.cli import cli
from tests.tls_proxy import SERVER_NAME, Pki, make_pki, tls_proxy

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
async def ready_database(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'ready.db'}"
    await bootstrap(
        url,
        definitions=default_definitions_dir(),
        directory_file=default_directory_file(),
        by="test",
    )
    return url


@pytest.fixture(scope="module")
def stranger(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """Another CA, which signed nothing the proxy presents."""
    return make_pki(tmp_path_factory.mktemp("other-pki"), ca_name="Some other CA")


def upstream(env: WorkflowEnvironment) -> str:
    return env.client.service_client.config.target_host


def settings_for(address: str, namespace: str, **connection: object) -> Settings:
    return replace(
        Settings(temporal_address=address, namespace=namespace),
        connection=TemporalConnection(**connection),  # type: ignore[arg-type]
    )


async def test_the_client_connects_through_tls_checked_against_the_landlords_ca(
    temporal_env: WorkflowEnvironment, pki: Pki
):
    async with tls_proxy(pki, upstream(temporal_env)) as proxy:
        cases = await CaseClient.connect(
            settings_for(
                proxy.address,
                temporal_env.client.namespace,
                tls_ca=pki.ca,
                tls_server_name=SERVER_NAME,
            )
        )
        # A call past the handshake: the visibility store answers through the proxy.
        count = await cases.client.count_workflows("WorkflowType = 'no-such-type'")
        assert count.count == 0


async def test_a_wrong_ca_is_refused_as_the_secure_connection_failing(
    temporal_env: WorkflowEnvironment, pki: Pki, stranger: Pki
):
    async with tls_proxy(pki, upstream(temporal_env)) as proxy:
        with pytest.raises(CaseRefused) as refused:
            await CaseClient.connect(
                settings_for(
                    proxy.address, "default", tls_ca=stranger.ca, tls_server_name=SERVER_NAME
                ),
                quiet=True,
            )
    assert refused.value.code == "service_unavailable"
    assert refused.value.message == (
        f"Cannot reach Temporal at {proxy.address} (the secure connection failed); check "
        "TEMPORAL_TLS_CA, TEMPORAL_TLS_SERVER_NAME and the client certificate."
    )


async def test_a_server_name_the_certificate_does_not_carry_is_refused(
    temporal_env: WorkflowEnvironment, pki: Pki
):
    async with tls_proxy(pki, upstream(temporal_env)) as proxy:
        with pytest.raises(CaseRefused, match="the secure connection failed"):
            await CaseClient.connect(
                settings_for(
                    proxy.address, "default", tls_ca=pki.ca, tls_server_name="elsewhere.test"
                ),
                quiet=True,
            )


async def test_mutual_tls_needs_the_client_certificate(temporal_env: WorkflowEnvironment, pki: Pki):
    async with tls_proxy(pki, upstream(temporal_env), require_client_cert=True) as proxy:
        without = settings_for(proxy.address, "default", tls_ca=pki.ca, tls_server_name=SERVER_NAME)
        with pytest.raises(CaseRefused) as refused:
            await CaseClient.connect(without, quiet=True)
        # TLS 1.3 refuses the missing certificate after the handshake: the client sees the
        # connection closed, or (as often, by timing) its first call unanswered.
        assert refused.value.message in (
            f"Cannot reach Temporal at {proxy.address} (the server closed the secure "
            "connection); it may want a client certificate (TEMPORAL_TLS_CERT and "
            "TEMPORAL_TLS_KEY) or refuse the one given.",
            f"Cannot reach Temporal at {proxy.address} (the first call over the secure "
            "connection was not answered); it may want a client certificate "
            "(TEMPORAL_TLS_CERT and TEMPORAL_TLS_KEY), refuse the one given, or not be a "
            "Temporal server.",
        )
        refused_before = proxy.refused
        cases = await CaseClient.connect(
            settings_for(
                proxy.address,
                temporal_env.client.namespace,
                tls_ca=pki.ca,
                tls_server_name=SERVER_NAME,
                tls_cert=pki.client_cert,
                tls_key=pki.client_key,
            )
        )
        assert (await cases.client.count_workflows()).count >= 0
        assert proxy.refused == refused_before


async def test_tls_to_a_plain_server_says_so(temporal_env: WorkflowEnvironment):
    address = upstream(temporal_env)
    with pytest.raises(CaseRefused) as refused:
        await CaseClient.connect(settings_for(address, "default", tls="true"), quiet=True)
    assert refused.value.message == (
        f"Cannot reach Temporal at {address} (the server answered without TLS); check "
        "TEMPORAL_ADDRESS, or set TEMPORAL_TLS=false for a plain connection."
    )


async def test_the_command_and_the_temporal_cli_share_the_variables(
    temporal_env: WorkflowEnvironment, pki: Pki, ready_database: str
):
    """What the compose file relies on: one environment serves the `support-provision`
    command (here `case list --temporal`) and the `temporal` CLI of the admin-tools jobs."""
    async with tls_proxy(pki, upstream(temporal_env), require_client_cert=True) as proxy:
        env = {
            "TEMPORAL_ADDRESS": proxy.address,
            "TEMPORAL_NAMESPACE": temporal_env.client.namespace,
            "TEMPORAL_TLS_CA": str(pki.ca),
            "TEMPORAL_TLS_SERVER_NAME": SERVER_NAME,
            "TEMPORAL_TLS_CERT": str(pki.client_cert),
            "TEMPORAL_TLS_KEY": str(pki.client_key),
            "DATABASE_URL": ready_database,
        }
        listed = await cli("case", "list", "--temporal", "--type", "no-such-type", env=env)
        assert listed.code == 0, listed.stderr
        process = await asyncio.create_subprocess_exec(
            temporal_cli(),
            "operator",
            "cluster",
            "health",
            env={**os.environ, **env},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), 30)
        assert process.returncode == 0, err.decode()
        assert "SERVING" in out.decode()

        half = await cli("case", "list", "--temporal", env={**env, "TEMPORAL_TLS_KEY": ""})
        assert half.code == 1
        assert half.stderr.strip() == (
            "TEMPORAL_TLS_CERT is set but TEMPORAL_TLS_KEY is not: mutual TLS needs the client "
            "certificate and its key."
        )


def test_pki_files_are_pem(pki: Pki):
    for path in (pki.ca, pki.server_cert, pki.client_cert, pki.client_key):
        assert Path(path).read_bytes().startswith(b"-----BEGIN ")
