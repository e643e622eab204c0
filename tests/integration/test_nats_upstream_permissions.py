"""An upstream system publishing evidence straight to NATS, with the user `opseval nats-user`
prints, on a real nats-server that runs deploy/k8s/base/nats/auth.conf (the four services' users)
with that user added: its JetStream publishes to its project's evidence subjects are acknowledged,
and everything else — another project's evidence, other subjects, subscribing, reading a stream
through the JetStream API — is refused. The streams are created as the services create them
(ensure_streams, as the intake user)."""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.aio.client import Client
from natsfixtures import RunningNats, nats_server
from opseval_infra.nats import connect, ensure_streams
from opseval_infra.settings import ServiceSettings
from opseval_shared.evidence import EvidenceKind
from opseval_shared.messaging import EVIDENCE_STREAM, STREAMS, evidence_subject
from pydantic import SecretStr

from opseval import cli
from opseval.natsauth import NatsUserError, password_variable, user_block

ROOT = Path(__file__).resolve().parents[2]
AUTH_CONF = ROOT / "deploy" / "k8s" / "base" / "nats" / "auth.conf"
SERVICES = ("intake", "rules", "scoring", "reporting")
UPSTREAM = "upstream-a"

EVENT = {
    "id": "up-1",
    "project": "A",
    "kind": "clock_in",
    "occurred_at": "2023-03-01T08:55:00+08:00",
    "recorded_at": "2023-03-01T08:55:00+08:00",
    "source": "clock",
    "payload": {"staff": "张三"},
}


def new_password() -> str:
    return "p" + os.urandom(24).hex()  # as deploy/compose/new-env.sh: a letter first


def with_user(auth_conf: str, block: str) -> str:
    """auth.conf with one more user at the end of its `users: [...]` list."""
    end = auth_conf.rindex("]")
    return auth_conf[:end] + block + auth_conf[end:]


@dataclass
class Server:
    nats: RunningNats
    passwords: dict[str, str]

    def violations(self) -> set[tuple[str, str, str]]:
        """(kind, user, subject) of the permission violations the server logged."""
        pattern = re.compile(r'(Publish|Subscription) Violation - User "([^"]+)", Subject "([^"]+)"')
        return {m.groups() for m in map(pattern.search, self.nats.log_lines()) if m}  # type: ignore[misc]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    (tmp_path / "auth.conf").write_text(with_user(AUTH_CONF.read_text(encoding="utf-8"), user_block(UPSTREAM, ["A"])))
    passwords = {password_variable(name): new_password() for name in (*SERVICES, UPSTREAM)}
    with nats_server(tmp_path, "include ./auth.conf", env=passwords) as running:
        yield Server(running, passwords)


async def as_intake(server: Server, action: Callable[[Client], Awaitable[Any]]) -> Any:
    config = ServiceSettings(
        nats_url=server.nats.url, nats_user="intake", nats_password=SecretStr(server.passwords["INTAKE_NATS_PASSWORD"])
    )
    nc = await connect(config)
    try:
        return await action(nc)
    finally:
        await nc.close()


async def upstream_session(server: Server) -> dict[str, Any]:
    errors: list[str] = []

    async def on_error(exc: Exception) -> None:
        errors.append(str(exc))

    nc = await nats.connect(
        server.nats.url,
        user=UPSTREAM,
        password=server.passwords[password_variable(UPSTREAM)],
        allow_reconnect=False,
        error_cb=on_error,
    )
    js = nc.jetstream()
    outcome: dict[str, Any] = {}

    async def publish(subject: str, event_id: str) -> Any:
        body = json.dumps({**EVENT, "id": event_id}).encode()
        try:
            return await js.publish(subject, body, timeout=1, headers={"Nats-Msg-Id": event_id})
        except Exception as exc:
            return exc

    async def attempt(what: str, action: Awaitable[Any]) -> None:
        try:
            outcome[what] = await asyncio.wait_for(action, 2)
        except Exception as exc:
            outcome[what] = exc

    outcome["own"] = await publish(evidence_subject("A", "clock_in"), "up-1")
    outcome["other project"] = await publish(evidence_subject("B", "clock_in"), "up-2")
    outcome["dotted into another project"] = await publish(evidence_subject("A.x", "clock_in"), "up-3")
    outcome["findings"] = await publish("opseval.findings.A", "up-4")
    sub = await nc.subscribe("opseval.evidence.>")
    await attempt("stream info", js.stream_info(EVIDENCE_STREAM.name))
    await attempt("get message", js.get_msg(EVIDENCE_STREAM.name, 1))
    await attempt("consumer", js.pull_subscribe("opseval.evidence.>", durable="upstream", stream=EVIDENCE_STREAM.name))
    await nc.flush()
    await asyncio.sleep(0.3)
    try:
        outcome["received"] = await sub.next_msg(timeout=0.5)
    except nats.errors.TimeoutError:
        outcome["received"] = None
    outcome["errors"] = errors
    outcome["connected"] = nc.is_connected
    await nc.close()
    return outcome


def test_an_upstream_user_publishes_only_its_projects_evidence(server: Server) -> None:
    async def create_streams(nc: Client) -> None:
        await ensure_streams(nc.jetstream(), 1)

    asyncio.run(as_intake(server, create_streams))
    outcome = asyncio.run(upstream_session(server))

    # its own project's evidence: acknowledged by JetStream (the ack comes back on _INBOX.>)
    assert outcome["own"].stream == EVIDENCE_STREAM.name and outcome["own"].seq == 1, outcome
    # everything else: no ack, a permissions violation, nothing stored
    for what in ("other project", "dotted into another project", "findings"):
        assert isinstance(outcome[what], nats.errors.TimeoutError), (what, outcome[what])
    for what in ("stream info", "get message", "consumer"):
        assert isinstance(outcome[what], (TimeoutError, nats.errors.TimeoutError)), (what, outcome[what])
    assert outcome["received"] is None
    assert outcome["connected"], "a refused publish does not cost the connection"
    assert sum("permissions violation" in e.lower() for e in outcome["errors"]) >= 7, outcome["errors"]

    assert server.violations() == {
        ("Publish", UPSTREAM, evidence_subject("B", "clock_in")),
        ("Publish", UPSTREAM, evidence_subject("A.x", "clock_in")),
        ("Publish", UPSTREAM, "opseval.findings.A"),
        ("Subscription", UPSTREAM, "opseval.evidence.>"),
        ("Publish", UPSTREAM, f"$JS.API.STREAM.INFO.{EVIDENCE_STREAM.name}"),
        ("Publish", UPSTREAM, f"$JS.API.STREAM.MSG.GET.{EVIDENCE_STREAM.name}"),
        ("Publish", UPSTREAM, f"$JS.API.CONSUMER.INFO.{EVIDENCE_STREAM.name}.upstream"),  # pull_subscribe asks first
    }

    async def stored(nc: Client) -> dict[str, dict[str, int]]:
        """What each stream holds, by subject (stream info: all the intake user may ask)."""
        js = nc.jetstream()
        return {
            spec.name: (await js.stream_info(spec.name, subjects_filter=">")).state.subjects or {} for spec in STREAMS
        }

    assert asyncio.run(as_intake(server, stored)) == {
        EVIDENCE_STREAM.name: {evidence_subject("A", "clock_in"): 1},
        **{spec.name: {} for spec in STREAMS if spec is not EVIDENCE_STREAM},
    }


def test_the_user_block_is_what_nats_server_reads_and_nothing_can_be_injected_through_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    block = user_block("hr-system", ["A", "b.2", "A"])
    assert "password: $HR_SYSTEM_NATS_PASSWORD" in block
    allowed = re.findall(r'"([^"]+)"', block.split("publish:")[1].split("subscribe:")[0])
    assert allowed == ["opseval.evidence.A.*", "opseval.evidence.b.2.*"]
    assert re.search(r'subscribe: \{ allow: \["_INBOX\.>"\] \}', block)
    assert "$JS" not in block
    # a kind is one subject token, so `<project>.*` covers every kind of the project and no other project
    assert all("." not in kind.value for kind in EvidenceKind)

    for project in ("B>", "*", ">", "a b", 'a"b', "a'b", "a\nb", "a\n", "", "-a", "a..b", "a.", "a}", "x" * 65):
        with pytest.raises(NatsUserError, match="project"):
            user_block("hr", [project])
    for name in ("HR", "1hr", "hr_system", "hr system", "hr\n", "intake", "", "hr$", "h" * 64):
        with pytest.raises(NatsUserError, match="user name"):
            user_block(name, ["A"])
    with pytest.raises(NatsUserError, match="at least one project"):
        user_block("hr", [])

    assert cli.main(["nats-user", "hr", "--project", "A", "--project", "B"]) == 0
    printed = capsys.readouterr().out
    assert printed == user_block("hr", ["A", "B"])
    assert cli.main(["nats-user", "hr", "--project", "A>"]) == 2
    assert "'A>' is not a project id" in capsys.readouterr().err
