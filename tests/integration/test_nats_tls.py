"""TLS between the services and NATS, against a real nats-server with a throwaway CA: a service that
trusts the CA file (OPSEVAL_NATS_TLS_CA_FILE) connects — through the broker every service builds
(make_broker) and through connect_options — and publishes to JetStream; one that does not is
refused at certificate verification; nothing gets through in clear; a server that verifies clients
takes only a client with a certificate from its CA."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import ssl
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import nats
import pytest
from nats.aio.client import Client
from natsfixtures import Pki, RunningNats, nats_server
from opseval_infra.fleet import Fleet, make_broker
from opseval_infra.nats import NotEncrypted, check_encrypted, connect, connect_options, ensure_streams
from opseval_infra.settings import ServiceSettings
from opseval_shared.messaging import EVIDENCE_STREAM, evidence_subject
from pydantic import SecretStr, ValidationError

EVENT = {
    "id": "tls-1",
    "project": "p1",
    "kind": "clock_in",
    "occurred_at": "2023-03-01T08:55:00+08:00",
    "recorded_at": "2023-03-01T08:55:00+08:00",
    "source": "clock",
    "payload": {"staff": "张三"},
}


def tls_block(pki: Pki, verify: bool) -> str:
    cert, key = pki.issue("server", server_ip="127.0.0.1")
    lines = [f'cert_file: "{cert}"', f'key_file: "{key}"', f'ca_file: "{pki.ca}"', "timeout: 3"]
    if verify:
        lines.append("verify: true")
    return "tls {\n  " + "\n  ".join(lines) + "\n}"


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return Pki.create(tmp_path / "pki")


@pytest.fixture
def tls_server(tmp_path: Path, pki: Pki) -> Iterator[RunningNats]:
    with nats_server(tmp_path, tls_block(pki, verify=False)) as server:
        yield server


@pytest.fixture
def mtls_server(tmp_path: Path, pki: Pki) -> Iterator[RunningNats]:
    with nats_server(tmp_path, tls_block(pki, verify=True)) as server:
        yield server


def settings(url: str, **tls: Any) -> ServiceSettings:
    return ServiceSettings(environment="development", nats_url=url, **tls)


async def once(options: dict[str, Any]) -> Client:
    """nats.connect with the service's options, but one attempt: the error raised instead of retrying
    (and not logged as well)."""

    async def on_error(exc: Exception) -> None:
        pass

    return await nats.connect(**{**options, "allow_reconnect": False, "error_cb": on_error})


async def publish_as_service(config: ServiceSettings, event_id: str) -> tuple[str, int]:
    """What a service does at start-up, then one JetStream publish: the broker of make_broker."""
    broker = make_broker(config)
    try:
        await asyncio.wait_for(broker.connect(), 10)
        fleet = Fleet(config, broker)
        check_encrypted(fleet.nc, config)
        await ensure_streams(fleet.js, 1)
        ack = await fleet.js.publish(
            evidence_subject("p1", "clock_in"), json.dumps({**EVENT, "id": event_id}).encode(), timeout=5
        )
        return ack.stream, ack.seq
    finally:
        with contextlib.suppress(Exception):
            await broker.stop()


async def publish_with_connect(config: ServiceSettings, event_id: str) -> tuple[str, int, dict[str, Any]]:
    """The same through opseval_infra.nats.connect (connect_options): also the server's certificate."""
    nc = await connect(config)
    try:
        ack = await nc.jetstream().publish(
            evidence_subject("p1", "clock_in"), json.dumps({**EVENT, "id": event_id}).encode(), timeout=5
        )
        ssl_object = nc._transport._io_writer.get_extra_info("ssl_object")  # type: ignore[union-attr]
        return ack.stream, ack.seq, ssl_object.getpeercert()
    finally:
        await nc.close()


def test_with_the_ca_file_a_service_connects_over_tls_and_publishes_to_jetstream(
    tls_server: RunningNats, pki: Pki
) -> None:
    config = settings(tls_server.tls_url, nats_tls_ca_file=pki.ca)
    assert isinstance(connect_options(config)["tls"], ssl.SSLContext)
    assert asyncio.run(publish_as_service(config, "tls-1")) == (EVIDENCE_STREAM.name, 1)
    stream, seq, peer = asyncio.run(publish_with_connect(config, "tls-2"))
    assert (stream, seq) == (EVIDENCE_STREAM.name, 2)
    assert ("IP Address", "127.0.0.1") in peer["subjectAltName"]


def test_without_the_ca_file_the_servers_certificate_is_not_trusted(tls_server: RunningNats) -> None:
    config = settings(tls_server.tls_url)  # tls:// without a CA file: the system trust store
    with pytest.raises(ssl.SSLCertVerificationError, match="certificate verify failed"):
        asyncio.run(once(connect_options(config)))

    async def broker_connects() -> bool:
        broker = make_broker(config)
        try:
            await asyncio.wait_for(broker.connect(), 3)  # the broker keeps retrying: it never connects
            return True
        except TimeoutError:
            return False
        finally:
            with contextlib.suppress(Exception):
                await broker.stop()

    assert not asyncio.run(broker_connects())
    assert any("TLS handshake error" in line for line in tls_server.log_lines()), "the server saw no handshake fail"


def test_nothing_reaches_the_tls_server_in_clear(tls_server: RunningNats, pki: Pki) -> None:
    # A client speaking plain NATS: the server announces TLS and answers CONNECT with an error.
    with socket.create_connection(("127.0.0.1", tls_server.port), timeout=5) as raw:
        info = raw.makefile("rb").readline()
        assert info.startswith(b"INFO ") and json.loads(info[5:])["tls_required"] is True
        raw.sendall(b'CONNECT {"verbose":false,"pedantic":false}\r\nPING\r\n')
        answer = b""
        with contextlib.suppress(OSError):
            while chunk := raw.recv(4096):
                answer += chunk
        assert answer == b"", "the server closes the connection without a word in clear"
    assert any("TLS handshake error" in line and "does not look like" in line for line in tls_server.log_lines())
    # A service configured with nats:// (no TLS settings may go with it): nats-py follows the server
    # into TLS, but without the CA the certificate is refused — there is no way to talk in clear.
    with pytest.raises(ssl.SSLCertVerificationError):
        asyncio.run(once(connect_options(settings(tls_server.url))))
    with pytest.raises(ValidationError, match="not tls://"):
        settings(tls_server.url, nats_tls_ca_file=pki.ca)


def test_a_tls_url_to_a_server_without_tls_stops_the_service(tmp_path: Path, pki: Pki) -> None:
    """nats-py speaks TLS only when the server asks for it: tls:// to a plain server would connect
    in clear. The service checks the connection and refuses it."""
    with nats_server(tmp_path, "") as plain:
        config = settings(plain.tls_url, nats_tls_ca_file=pki.ca)
        with pytest.raises(NotEncrypted, match="not encrypted"):
            asyncio.run(connect(config))

        async def via_broker() -> None:
            broker = make_broker(config)
            try:
                await asyncio.wait_for(broker.connect(), 10)
                check_encrypted(Fleet(config, broker).nc, config)  # what the services' lifespan does
            finally:
                with contextlib.suppress(Exception):
                    await broker.stop()

        with pytest.raises(NotEncrypted):
            asyncio.run(via_broker())


def test_a_server_that_verifies_clients_takes_only_a_client_certificate_of_its_ca(
    mtls_server: RunningNats, pki: Pki
) -> None:
    without = settings(mtls_server.tls_url, nats_tls_ca_file=pki.ca)
    with pytest.raises((OSError, nats.errors.Error)):
        asyncio.run(once(connect_options(without)))

    stranger = Pki.create(pki.directory.parent / "other-ca", "another CA")
    cert, key = stranger.issue("stranger", client=True)
    foreign = settings(mtls_server.tls_url, nats_tls_ca_file=pki.ca, nats_tls_cert_file=cert, nats_tls_key_file=key)
    with pytest.raises((OSError, nats.errors.Error)):
        asyncio.run(once(connect_options(foreign)))

    cert, key = pki.issue("intake", client=True)
    with_cert = settings(mtls_server.tls_url, nats_tls_ca_file=pki.ca, nats_tls_cert_file=cert, nats_tls_key_file=key)
    refused = [ln for ln in mtls_server.log_lines() if "TLS handshake error" in ln and "certificate" in ln]
    assert len(refused) == 2, "\n".join(mtls_server.log_lines())  # no certificate; one of another CA

    assert asyncio.run(publish_as_service(with_cert, "mtls-1")) == (EVIDENCE_STREAM.name, 1)
    assert asyncio.run(publish_with_connect(with_cert, "mtls-2"))[:2] == (EVIDENCE_STREAM.name, 2)


def test_tls_settings_that_contradict_each_other_stop_the_service(tmp_path: Path) -> None:
    ca = tmp_path / "ca.crt"
    ca.write_text("not read here")
    with pytest.raises(ValidationError, match="OPSEVAL_NATS_TLS_REQUIRED"):
        settings("nats://nats:4222", nats_tls_required=True)
    for environment in ("development", "production"):
        with pytest.raises(ValidationError, match="OPSEVAL_NATS_TLS_REQUIRED"):
            ServiceSettings(
                environment=environment,
                secret_key=SecretStr("not-a-placeholder"),
                nats_url="nats://nats:4222",
                nats_tls_required=True,
            )
    with pytest.raises(ValidationError, match="set both or neither"):
        settings("tls://nats:4222", nats_tls_cert_file=ca)
    with pytest.raises(ValidationError, match="set both or neither"):
        settings("tls://nats:4222", nats_tls_key_file=ca)
    with pytest.raises(ValidationError, match="not tls://"):
        settings("nats://nats:4222", nats_tls_ca_file=ca)
    with pytest.raises(ValidationError, match="nats_tls_ca_file"):
        settings("tls://nats:4222", nats_tls_ca_file=tmp_path / "missing.crt")
    assert settings("tls://nats:4222", nats_tls_required=True, nats_tls_ca_file=ca).nats_tls
    assert connect_options(settings("nats://nats:4222")).get("tls") is None
