"""A real fleet for the end-to-end tests: a nats-server started here (free loopback port,
temporary JetStream directory) and the four services as processes, which the tests kill and
restart."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from apikeys import bearer, issue_key
from mongofixtures import RunningMongo
from natsfixtures import die_with_parent, free_port, port_open
from opseval_intake.bundle import evidence_files, load_definition
from opseval_shared.messaging import (
    EVIDENCE_STREAM,
    RESULTS_STREAM,
    RULES_EVIDENCE_CONSUMER,
    SCORING_FINDINGS_CONSUMER,
)

from .browser import workbench  # noqa: F401 - the browser fixture of the workbench tests

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("intake", "rules", "scoring", "reporting")
NATS_BINARY = shutil.which("nats-server") or "/usr/sbin/nats-server"


def wait_for(
    predicate: Any, timeout: float, what: str, interval: float = 0.1, explain: Callable[[], str] | None = None
) -> Any:
    """`explain`: what to add to the timeout's message (the state waited on, the services' logs)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    detail = f"\n{explain()}" if explain is not None else ""
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}{detail}")


class NatsServer:
    def __init__(self, store_dir: Path) -> None:
        self.port = free_port()
        self.store_dir = store_dir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [NATS_BINARY, "-js", "-a", "127.0.0.1", "-p", str(self.port), "-sd", str(self.store_dir)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            preexec_fn=die_with_parent,
        )
        wait_for(lambda: port_open(self.port), 15, "nats-server to listen")

    def consumers(self) -> list[str]:
        """The services' durable consumers as JetStream has them: what is pending, unacknowledged,
        redelivered (a timed-out wait's report)."""

        async def read() -> list[str]:
            nc = await nats.connect(self.url, connect_timeout=5, max_reconnect_attempts=0)
            try:
                js, out = nc.jetstream(), []
                for stream, durable in (
                    (EVIDENCE_STREAM.name, RULES_EVIDENCE_CONSUMER),
                    (RESULTS_STREAM.name, SCORING_FINDINGS_CONSUMER),
                ):
                    try:
                        info = await js.consumer_info(stream, durable)
                        out.append(
                            f"consumer {durable}: delivered {info.delivered.stream_seq if info.delivered else None},"
                            f" pending {info.num_pending}, unacknowledged {info.num_ack_pending},"
                            f" redelivered {info.num_redelivered}, waiting pulls {info.num_waiting}"
                        )
                    except Exception as exc:  # (a report: whatever JetStream says goes in it)
                        out.append(f"consumer {durable}: {exc!r}")
                return out
            finally:
                await nc.close()

        try:
            return asyncio.run(read())
        except Exception as exc:
            return [f"JetStream not asked: {exc!r}"]

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(timeout=20)
        wait_for(lambda: not port_open(self.port), 10, "nats-server to stop")


class Fleet:
    def __init__(self, nats: NatsServer, workdir: Path, store_url: str | None = None) -> None:
        """`store_url`: the services' store; a SQLite file in `workdir` unless given."""
        self.nats = nats
        self.workdir = workdir
        self.store_url = store_url or f"sqlite:///{workdir / 'store.db'}"
        self.ports = {name: free_port() for name in SERVICES}
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        # The tests act as the administrator unless they say otherwise (bearer(issue_key(...))).
        self.admin_token = issue_key(self.store_url, "admin", ["*"], "e2e administrator")
        self.http = httpx.Client(timeout=60, headers=bearer(self.admin_token))

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    def env(self, service: str) -> dict[str, str]:
        return {
            **os.environ,
            "OPSEVAL_ENVIRONMENT": "test",
            "OPSEVAL_SECRET_KEY": "e2e-test-secret-not-a-placeholder",
            "OPSEVAL_NATS_URL": self.nats.url,
            "OPSEVAL_STORE_URL": self.store_url,
            "OPSEVAL_HTTP_PORT": str(self.ports[service]),
            "OPSEVAL_DEBOUNCE_S": "0.1",
            "OPSEVAL_RETRY_BACKOFF_S": "0.2",
            "OPSEVAL_RETRY_BACKOFF_MAX_S": "2",
            "OPSEVAL_LOG_LEVEL": "WARNING",
            # The workbench (served by reporting) sends judgments and corrections to intake.
            "OPSEVAL_INTAKE_PUBLIC_URL": self.url("intake"),
            "OPSEVAL_CORS_ORIGINS": json.dumps([self.url("reporting")]),
        }

    def start(self, service: str, replica: str | None = None) -> None:
        """Start a service; `replica` names a further instance of it (its own port, same consumers)."""
        name = replica or service
        self.ports.setdefault(name, free_port())
        log = open(self.workdir / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        self.procs[name] = subprocess.Popen(
            [sys.executable, "-m", "opseval.cli", "serve", service],
            env=self.env(name),
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.workdir,
            preexec_fn=die_with_parent,
        )

    def wait_ready(self, service: str, timeout: float = 60) -> None:
        proc = self.procs[service]

        def ready() -> bool:
            if proc.poll() is not None:
                raise RuntimeError(f"{service} exited: {(self.workdir / (service + '.log')).read_text()[-3000:]}")
            try:
                return self.http.get(self.url(service) + "/readyz", timeout=2).status_code == 200
            except httpx.HTTPError:
                return False

        wait_for(ready, timeout, f"{service} to be ready", 0.2)

    def start_all(self) -> None:
        for service in SERVICES:
            self.start(service)
        for service in SERVICES:
            self.wait_ready(service)

    def kill(self, service: str, sig: int = signal.SIGKILL) -> None:
        proc = self.procs[service]
        proc.send_signal(sig)
        proc.wait(timeout=30)

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs.values():
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
        self.http.close()

    # ------------------------------------------------------------ using it

    def register(self, bundle: Path) -> str:
        definition = load_definition(bundle)
        response = self.http.post(
            self.url("intake") + "/v1/projects",
            content=definition.model_dump_json(),
            headers={"content-type": "application/json"},
        )
        assert response.status_code in (200, 201), response.text
        return definition.project.id

    def push(self, events: list[dict[str, Any]], retry_for: float = 60) -> dict[str, Any]:
        """Push one batch, retrying while intake answers 503 (NATS away) — replays are safe."""
        deadline = time.monotonic() + retry_for
        while True:
            try:
                response = self.http.post(self.url("intake") + "/v1/evidence", json={"events": events})
            except httpx.HTTPError:
                response = None
            if response is not None and response.status_code == 200:
                body: dict[str, Any] = response.json()
                return body
            if response is not None and 400 <= response.status_code < 500:
                raise AssertionError(f"push refused: {response.status_code} {response.text[:1000]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"push kept failing: {response and response.text[:500]}")
            time.sleep(0.5)

    def scores(self, project: str) -> dict[str, Any] | None:
        response = self.http.get(self.url("reporting") + f"/v1/projects/{project}/scores")
        return response.json() if response.status_code == 200 else None

    def findings(self, project: str) -> dict[str, Any]:
        response = self.http.get(self.url("reporting") + f"/v1/projects/{project}/findings")
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()
        return data

    def wait_scored(self, project: str, events: int, timeout: float = 120) -> dict[str, Any]:
        seen: dict[str, Any] = {}

        def done() -> dict[str, Any] | None:
            s = self.scores(project)
            if s is not None:
                seen.update(s)
            ok = s is not None and s["events_folded"] == events and s["findings_events_folded"] == events
            return s if ok else None

        def explain() -> str:
            counts = {key: seen.get(key) for key in ("events_folded", "findings_events_folded", "evaluation")}
            return f"last scores read: {json.dumps(counts, ensure_ascii=False)}\n{self.states(project)}"

        result: dict[str, Any] = wait_for(done, timeout, f"{project} scored over {events} events", 0.3, explain)
        return result

    def states(self, project: str, chars: int = 3000) -> str:
        """Why a wait on the fleet timed out, for the test's report (CI keeps nothing else of a run):
        how far the rules' findings got, each service's readiness (with the projects whose evaluation
        fails), its evaluations waiting, and the end of its log."""
        try:
            findings = self.http.get(self.url("reporting") + f"/v1/projects/{project}/findings", params={"limit": 1})
            folded = findings.json().get("events_folded") if findings.status_code == 200 else findings.text[:300]
        except httpx.HTTPError as exc:
            folded = repr(exc)
        tails = [f"the rules' findings, events_folded: {folded}", *self.nats.consumers()]
        for name in self.procs:
            try:
                ready = self.http.get(self.url(name) + "/readyz", timeout=5).text
                metrics = self.http.get(self.url(name) + "/metrics", timeout=5).text
                waiting = [line for line in metrics.splitlines() if line.startswith("opseval_dirty_projects")]
            except httpx.HTTPError as exc:
                ready, waiting = repr(exc), []
            tails.append(f"--- {name}: readyz {ready[:500]} {' '.join(waiting)}")
            path = self.workdir / f"{name}.log"
            text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
            state = "running" if self.procs[name].poll() is None else f"exited {self.procs[name].returncode}"
            tails.append(f"    {name} ({state}), log tail:\n{text[-chars:]}")
        return "\n".join(tails)


def bundle_events(bundle: Path) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for path in evidence_files(bundle)
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


@pytest.fixture
def nats_server(tmp_path: Path) -> Iterator[NatsServer]:
    if not Path(NATS_BINARY).exists():
        pytest.skip("nats-server is not installed (apt-get install nats-server; .ci/run installs it)")
    server = NatsServer(tmp_path / "jetstream")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def fleet(request: pytest.FixtureRequest, nats_server: NatsServer, tmp_path: Path) -> Iterator[Fleet]:
    """The four services on a SQLite file, or on MongoDB when a test is parametrized with "mongo"."""
    if getattr(request, "param", "sqlite") == "sqlite":
        running = Fleet(nats_server, tmp_path)
        running.start_all()
        yield running
        running.stop_all()
        return
    mongo: RunningMongo = request.getfixturevalue("mongo")  # skips, saying why, when there is no MongoDB
    database = f"opseval_e2e_{uuid.uuid4().hex[:16]}"
    mongo.create_sequence_counters(database)  # the services' first writes race on the new database
    try:
        running = Fleet(nats_server, tmp_path, mongo.database_url(database))
        running.start_all()
        yield running
        running.stop_all()
    finally:
        mongo.drop(database)
