"""Connecting to NATS and making sure the streams exist as the contracts in
`opseval_shared.messaging` define them — checked against what the server echoes back."""

from __future__ import annotations

import functools
import logging
import ssl
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import nats
import nats.errors
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError
from opseval_shared.messaging import STREAMS, StreamSpec

from .settings import ServiceSettings

log = logging.getLogger(__name__)
T = TypeVar("T")
MIN_SERVER = (2, 9)


class StreamConfigMismatch(RuntimeError):
    pass


class ServerTooOld(RuntimeError):
    pass


class NotEncrypted(RuntimeError):
    pass


def tls_context(settings: ServiceSettings) -> ssl.SSLContext | None:
    """The TLS context of a tls:// URL (None for nats://): the server's certificate verified against
    the CA file, or the system trust store without one; the client certificate when one is set."""
    if not settings.nats_tls:
        return None
    ca = settings.nats_tls_ca_file
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(ca) if ca else None)
    if settings.nats_tls_cert_file is not None and settings.nats_tls_key_file is not None:
        context.load_cert_chain(settings.nats_tls_cert_file, settings.nats_tls_key_file)
    return context


def check_encrypted(nc: Client, settings: ServiceSettings) -> None:
    """nats-py takes tls:// as a wish: it speaks TLS only when the server's INFO asks for it, so a
    server without TLS (or anyone in the middle) gets the connection in clear. For a tls:// URL a
    connection that is not encrypted stops the service here (the CONNECT has gone out by then: this
    catches a misconfigured server, it does not keep the password from it)."""
    if not settings.nats_tls:
        return
    writer = getattr(getattr(nc, "_transport", None), "_io_writer", None)  # nats-py has no public accessor
    if writer is None or writer.get_extra_info("ssl_object") is None:
        raise NotEncrypted(
            f"{settings.nats_url}: the connection to nats-server is not encrypted (no TLS on the server?)"
        )


def connect_options(settings: ServiceSettings) -> dict[str, Any]:
    options: dict[str, Any] = {
        "servers": [settings.nats_url],
        "name": f"opseval-{settings.service_name}",
        "max_reconnect_attempts": -1,
        "reconnect_time_wait": 0.5,
        "connect_timeout": 2,
    }
    if settings.nats_user:
        options["user"] = settings.nats_user
        options["password"] = settings.nats_password.get_secret_value() if settings.nats_password else ""
    context = tls_context(settings)
    if context is not None:
        options["tls"] = context
    return options


async def connect(settings: ServiceSettings) -> Client:
    nc = await nats.connect(**connect_options(settings))
    try:
        check_encrypted(nc, settings)
    except NotEncrypted:
        await nc.close()
        raise
    return nc


def check_server(nc: Client) -> str:
    """The server's version; older than 2.9 (no JetStream features we rely on) refuses to start."""
    version = nc.connected_server_version
    if (version.major, version.minor) < MIN_SERVER:
        raise ServerTooOld(f"nats-server {version} is older than {MIN_SERVER[0]}.{MIN_SERVER[1]}")
    if (version.major, version.minor) < (2, 10):
        log.info(
            "nats-server %s: 2.10+ features (multi-filter consumers, subject transforms, per-message TTL,"
            " sync_interval) are not used",
            version,
        )
    return str(version)


def stream_config(spec: StreamSpec, replicas: int) -> StreamConfig:
    return StreamConfig(
        name=spec.name,
        description=spec.description,
        subjects=list(spec.subjects),
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        num_replicas=replicas,
        duplicate_window=spec.duplicate_window_s,
    )


def _differences(wanted: StreamConfig, echoed: StreamConfig) -> list[str]:
    out = []
    for name in ("subjects", "retention", "storage", "num_replicas", "duplicate_window"):
        a, b = getattr(wanted, name), getattr(echoed, name)
        if name == "subjects":
            a, b = sorted(a or []), sorted(b or [])
        if name == "duplicate_window":
            a, b = round(float(a or 0), 3), round(float(b or 0), 3)
        if a != b:
            out.append(f"{name}: asked {a!r}, server has {b!r}")
    return out


async def ensure_streams(js: JetStreamContext, replicas: int) -> None:
    """Create or update each stream, then verify the configuration the server echoes back
    (a 2.9 server silently ignores fields it does not know)."""
    for spec in STREAMS:
        wanted = stream_config(spec, replicas)
        try:
            info = await js.stream_info(spec.name)
            if _differences(wanted, info.config):
                info = await js.update_stream(wanted)
        except NotFoundError:
            info = await js.add_stream(wanted)
        problems = _differences(wanted, info.config)
        if problems:
            raise StreamConfigMismatch(f"stream {spec.name}: " + "; ".join(problems))


_CONVERTS = "_opseval_converts_timeouts"


def raising_nats_timeouts(fetch: Callable[..., Awaitable[T]]) -> Callable[..., Awaitable[T]]:
    """`fetch` raising nats-py's own TimeoutError where it raised a bare asyncio.TimeoutError.

    nats-py 2.16's PullSubscription.fetch raises the bare one on some paths (a pull request whose
    remaining time ran out); FastStream 0.7's batch loop catches only nats's subclass, so the bare
    one kills the loop: the messages it had already fetched wait out ack_wait (10 s late) and the
    supervisor restarts it. Every other caller catches asyncio.TimeoutError, which still matches."""

    @functools.wraps(fetch)
    async def converted(*args: Any, **kwargs: Any) -> T:
        try:
            return await fetch(*args, **kwargs)
        except nats.errors.TimeoutError:
            raise
        except TimeoutError as exc:
            raise nats.errors.TimeoutError from exc

    setattr(converted, _CONVERTS, True)
    return converted


def convert_fetch_timeouts() -> None:
    """Install `raising_nats_timeouts` on nats-py's PullSubscription.fetch, once per process."""
    pull = JetStreamContext.PullSubscription
    if not getattr(pull.fetch, _CONVERTS, False):
        pull.fetch = raising_nats_timeouts(pull.fetch)  # type: ignore[method-assign,assignment]
