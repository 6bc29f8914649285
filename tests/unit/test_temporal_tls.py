"""The secure connection to Temporal as the environment configures it: which `Client.connect`
options each combination gives, and that a half-made one is refused in one line."""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.service import TLSConfig

from starter.settings import Settings
from starter.temporal_tls import (
    TemporalConnection,
    TemporalConnectionError,
    connect_options,
    connection_options,
)
from tests.tls_proxy import SERVER_NAME, make_pki


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory):
    return make_pki(tmp_path_factory.mktemp("pki"))


def options(**env: str) -> dict:
    return connection_options(TemporalConnection.from_env(env))


def test_nothing_set_is_a_plain_connection():
    assert options() == {"tls": False, "api_key": None}
    # A compose file passes every variable through, set or not: empty means unset.
    assert options(TEMPORAL_TLS_CERT="", TEMPORAL_TLS="", TEMPORAL_API_KEY="") == {
        "tls": False,
        "api_key": None,
    }


def test_tls_true_uses_the_system_roots():
    result = options(TEMPORAL_TLS="true")
    assert result["tls"] == TLSConfig()
    assert result["api_key"] is None


def test_a_ca_and_server_name_give_tls_checked_against_them(pki):
    result = options(TEMPORAL_TLS_CA=str(pki.ca), TEMPORAL_TLS_SERVER_NAME=SERVER_NAME)
    tls = result["tls"]
    assert isinstance(tls, TLSConfig)
    assert tls.server_root_ca_cert == pki.ca.read_bytes()
    assert tls.domain == SERVER_NAME
    assert tls.client_cert is None and tls.client_private_key is None


def test_a_client_certificate_and_key_give_mutual_tls(pki):
    tls = options(TEMPORAL_TLS_CERT=str(pki.client_cert), TEMPORAL_TLS_KEY=str(pki.client_key))[
        "tls"
    ]
    assert tls.client_cert == pki.client_cert.read_bytes()
    assert tls.client_private_key == pki.client_key.read_bytes()
    assert tls.server_root_ca_cert is None  # the server's certificate against system roots


def test_an_api_key_implies_tls():
    result = options(TEMPORAL_API_KEY="key-from-temporal-cloud")
    assert result == {"tls": TLSConfig(), "api_key": "key-from-temporal-cloud"}


def test_tls_false_keeps_an_api_key_in_plain_text_for_a_local_proxy():
    # As the `temporal` CLI allows with --tls=false.
    assert options(TEMPORAL_API_KEY="k", TEMPORAL_TLS="false") == {"tls": False, "api_key": "k"}


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"TEMPORAL_TLS_CERT": "/etc/temporal/client.pem"},
            "TEMPORAL_TLS_CERT is set but TEMPORAL_TLS_KEY is not: mutual TLS needs the "
            "client certificate and its key.",
        ),
        (
            {"TEMPORAL_TLS_KEY": "/etc/temporal/client-key.pem"},
            "TEMPORAL_TLS_KEY is set but TEMPORAL_TLS_CERT is not: mutual TLS needs the "
            "client certificate and its key.",
        ),
        (
            {"TEMPORAL_TLS": "false", "TEMPORAL_TLS_CA": "/etc/temporal/ca.pem"},
            "TEMPORAL_TLS is false but TEMPORAL_TLS_CA is set; unset one of them.",
        ),
        ({"TEMPORAL_TLS": "ture"}, 'TEMPORAL_TLS is "ture"; write true or false.'),
    ],
)
def test_half_made_configurations_are_refused_in_one_line(env, message):
    with pytest.raises(TemporalConnectionError) as refused:
        options(**env)
    assert str(refused.value) == message
    assert "\n" not in str(refused.value)


def test_an_unreadable_file_is_named_with_its_variable(tmp_path: Path, pki):
    missing = tmp_path / "nowhere.pem"
    with pytest.raises(TemporalConnectionError) as refused:
        options(TEMPORAL_TLS_CA=str(missing))
    assert str(refused.value) == (
        f"TEMPORAL_TLS_CA names {missing}, which cannot be read (No such file or directory)."
    )
    with pytest.raises(TemporalConnectionError, match="TEMPORAL_TLS_CERT names .*cannot be read"):
        options(TEMPORAL_TLS_CERT=str(tmp_path), TEMPORAL_TLS_KEY=str(pki.client_key))


def test_a_file_that_is_not_pem_is_refused(tmp_path: Path):
    der = tmp_path / "ca.der"
    der.write_bytes(b"\x30\x82\x01\x0a")
    with pytest.raises(TemporalConnectionError) as refused:
        options(TEMPORAL_TLS_CA=str(der))
    assert str(refused.value) == f"TEMPORAL_TLS_CA names {der}, which is not a PEM file."


def test_settings_read_the_connection_from_the_environment(monkeypatch, pki):
    monkeypatch.setenv("TEMPORAL_ADDRESS", "temporal.northfield.test:7233")
    monkeypatch.setenv("TEMPORAL_TLS_CA", str(pki.ca))
    monkeypatch.setenv("TEMPORAL_API_KEY", "secret-key")
    settings = Settings.from_env()
    assert settings.connection.tls_ca == pki.ca
    assert "secret-key" not in repr(settings)  # never in a log line or a traceback
    assert connect_options(settings)["api_key"] == "secret-key"
    assert settings.connection.describe() == "TLS, API key"


def test_describe_says_how_the_connection_is_secured(pki):
    assert TemporalConnection().describe() == "plain"
    mutual = TemporalConnection(tls_cert=pki.client_cert, tls_key=pki.client_key)
    assert mutual.describe() == "mutual TLS"
