"""Connecting to NATS and making sure the streams exist as the contracts in
`opseval_shared.messaging` define them — checked against what the server echoes back."""

from __future__ import annotations

import logging
from typing import Any

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import RetentionPolicy, StorageType, StreamConfig
from nats.js.errors import NotFoundError
from opseval_shared.messaging import STREAMS, StreamSpec

from .settings import ServiceSettings

log = logging.getLogger(__name__)
MIN_SERVER = (2, 9)


class StreamConfigMismatch(RuntimeError):
    pass


class ServerTooOld(RuntimeError):
    pass


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
    return options


async def connect(settings: ServiceSettings) -> Client:
    return await nats.connect(**connect_options(settings))


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
