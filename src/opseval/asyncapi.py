"""Each service's AsyncAPI document, generated from its FastStream broker (subscribers and
publishers as declared in code) and committed beside the service; a test fails when one is stale."""

from __future__ import annotations

import json
from pathlib import Path

from faststream.specification import AsyncAPI

from .fleet import SERVICES, create_app, settings_for

ROOT = Path(__file__).resolve().parents[2]


def document(service: str) -> str:
    app = create_app(service, settings_for(service))  # built, not started: no connection is made
    spec = AsyncAPI(
        app.state.fleet.broker,
        title=f"opseval {service}",
        version="0.1.0",
        description=f"Messages the opseval {service} service consumes and publishes on NATS JetStream.",
    )
    data = json.loads(spec.to_specification().to_json())
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True) + "\n"


def path(service: str) -> Path:
    return ROOT / "services" / service / "asyncapi.json"


def write_all() -> list[Path]:
    written = []
    for service in SERVICES:
        target = path(service)
        target.write_text(document(service), encoding="utf-8")
        written.append(target)
    return written
