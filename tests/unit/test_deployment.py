"""docker-compose.yml cannot be run here (no Docker engine), so its structure is checked:
the production topology SPEC names, wired to the settings the application reads."""

from __future__ import annotations

from pathlib import Path

import yaml

from workflows import search_attributes as sa

ROOT = Path(__file__).parents[2]


def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_topology_has_every_part():
    services = compose()["services"]
    assert {"temporal", "temporal-db", "temporal-ui", "app-db", "worker", "prepare"} <= set(
        services
    )
    assert services["temporal"]["environment"]["DB"].startswith("postgres")
    assert services["worker"]["deploy"]["replicas"] >= 2


def test_worker_is_configured_like_the_application_reads_it():
    worker = compose()["services"]["worker"]
    env = worker["environment"]
    assert env["TEMPORAL_ADDRESS"] == "temporal:7233"
    assert env["DATABASE_URL"].startswith("postgresql+asyncpg://")
    assert "@app-db:5432/" in env["DATABASE_URL"]
    assert env["SMTP_URL"].startswith("smtp://")
    assert worker["depends_on"]["prepare"]["condition"] == "service_completed_successfully"
    # Payloads are sealed: the worker's key file is a secret mounted where it looks.
    key_file = env["SUPPORT_PROVISION_PAYLOAD_KEY_FILE"]
    assert key_file == f"/run/secrets/{worker['secrets'][0]}"
    assert worker["secrets"][0] in compose()["secrets"]


def test_every_search_attribute_is_registered():
    command = " ".join(compose()["services"]["temporal-search-attributes"]["command"])
    for key in sa.ALL:
        assert f"{key.name}:" in command


def test_every_depends_on_names_a_service():
    services = compose()["services"]
    for name, service in services.items():
        for needed in service.get("depends_on", {}):
            assert needed in services, f"{name} depends on unknown service {needed}"


def test_image_builds_the_installed_command():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "uv sync --locked" in dockerfile and "COPY pyproject.toml uv.lock" in dockerfile
    assert 'ENTRYPOINT ["support-provision"]' in dockerfile
    for package in ("casemodel", "definitions", "workflows", "activities", "starter", "protection"):
        assert f"COPY {package} ./{package}" in dockerfile
