"""The intake service: validates evidence and project definitions and publishes them to JetStream.

An answer is sent only after JetStream acknowledged each accepted event (with its id as
`Nats-Msg-Id`, so a replay is reported as a duplicate and stored once).
"""

from __future__ import annotations

import asyncio
import hashlib
from typing import Any

import orjson
from fastapi import FastAPI, HTTPException, Request, Response
from faststream.nats import JStream
from opseval_infra.fleet import Fleet, fleet_app, make_broker
from opseval_infra.http import INTAKE_EVENTS
from opseval_infra.store.base import StoredProject
from opseval_shared.evidence import EVIDENCE_ADAPTER, Evidence
from opseval_shared.messaging import (
    EVIDENCE_STREAM,
    PROJECTS_STREAM,
    ProjectRegistered,
    evidence_subject,
    project_subject,
)
from opseval_shared.project import ProjectDefinition
from pydantic import ValidationError

from .settings import IntakeSettings

PUBLISH_WINDOW = 1000  # outstanding publish acks at once
ACK_TIMEOUT_S = 10.0


def _errors(exc: ValidationError) -> list[dict[str, str]]:
    return [
        {"field": ".".join(str(p) for p in e["loc"]) or "(event)", "reason": e["msg"]}
        for e in exc.errors(include_url=False)
    ]


async def _body(request: Request, limit: int) -> Any:
    if not request.headers.get("content-type", "").startswith("application/json"):
        raise HTTPException(415, "send application/json")
    raw = await request.body()
    if len(raw) > limit:
        raise HTTPException(413, f"body of {len(raw)} bytes is larger than {limit}")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise HTTPException(422, f"body is not JSON: {exc}") from None


def create_app(settings: IntakeSettings | None = None) -> FastAPI:
    settings = settings or IntakeSettings()
    broker = make_broker(settings)
    fleet = Fleet(settings, broker)
    evidence_out = broker.publisher(
        "opseval.evidence.{project}.{kind}",
        stream=JStream(EVIDENCE_STREAM.name, declare=False),
        schema=Evidence,
        title="evidence accepted",
        description="An evidence event that passed validation; its id is the Nats-Msg-Id.",
    )
    projects_out = broker.publisher(
        "opseval.projects.{project}",
        stream=JStream(PROJECTS_STREAM.name, declare=False),
        schema=ProjectRegistered,
        title="project registered",
        description="A project's definition: contract profile and indicator system.",
    )
    app = fleet_app(fleet, "opseval intake", evaluate=None)
    app.state.fleet = fleet
    app.state.publishers = (evidence_out, projects_out)

    @app.post("/v1/projects", status_code=201)
    async def register_project(request: Request) -> Response:
        """Register or update a project: its definition (project, contracts, indicators) as JSON."""
        body = await _body(request, settings.max_body_bytes)
        try:
            definition = ProjectDefinition.model_validate(body)
        except ValidationError as exc:
            raise HTTPException(422, _errors(exc)) from None
        text = definition.model_dump_json()
        revision = hashlib.sha256(text.encode()).hexdigest()[:16]
        assert fleet.store is not None
        created = await fleet.store.put_project(StoredProject(definition.project.id, revision, text))
        message = ProjectRegistered(project=definition.project.id, revision=revision, definition=definition)
        await fleet.js.publish(
            project_subject(definition.project.id),
            message.model_dump_json().encode(),
            headers={"Nats-Msg-Id": f"project:{definition.project.id}:{revision}"},
        )
        return Response(
            orjson.dumps({"project": definition.project.id, "revision": revision, "changed": created}),
            status_code=201 if created else 200,
            media_type="application/json",
        )

    @app.post("/v1/evidence")
    async def push_evidence(request: Request) -> Response:
        """One event, a JSON array of events, or {"events": [...]}: answered per event with
        accepted, duplicate, or rejected (with the field and the reason)."""
        body = await _body(request, settings.max_body_bytes)
        items = body.get("events") if isinstance(body, dict) and "events" in body else body
        items = items if isinstance(items, list) else [items]
        if len(items) > settings.max_batch:
            raise HTTPException(413, f"{len(items)} events in one request; at most {settings.max_batch}")
        assert fleet.store is not None
        known: dict[str, bool] = {}
        results: list[dict[str, Any]] = []
        accepted: list[tuple[int, Evidence]] = []
        seen: set[str] = set()
        for index, item in enumerate(items):
            try:
                event = EVIDENCE_ADAPTER.validate_python(item)
            except ValidationError as exc:
                results.append({"index": index, "id": _id(item), "status": "rejected", "errors": _errors(exc)})
                continue
            if event.project not in known:
                known[event.project] = await fleet.store.get_project(event.project) is not None
            if not known[event.project]:
                results.append(
                    {
                        "index": index,
                        "id": event.id,
                        "status": "rejected",
                        "errors": [{"field": "project", "reason": "unknown project"}],
                    }
                )
                continue
            if event.id in seen:
                results.append({"index": index, "id": event.id, "status": "duplicate"})
                continue
            seen.add(event.id)
            results.append({"index": index, "id": event.id, "status": "pending"})
            accepted.append((index, event))
        for start in range(0, len(accepted), PUBLISH_WINDOW):
            window = accepted[start : start + PUBLISH_WINDOW]
            acks = await _publish_window(fleet, [e for _, e in window])
            for (index, _), ack in zip(window, acks, strict=True):
                if isinstance(ack, BaseException):
                    # Not acknowledged: not accepted. Sending the batch again is safe (ids dedupe).
                    results[index]["status"] = "failed"
                    results[index]["errors"] = [{"field": "(event)", "reason": f"not stored: {ack!r}; retry"}]
                else:
                    results[index]["status"] = "duplicate" if ack.duplicate else "accepted"
        statuses = ("accepted", "duplicate", "rejected", "failed")
        counts = {s: sum(1 for r in results if r["status"] == s) for s in statuses}
        for status, n in counts.items():
            INTAKE_EVENTS.labels(status).inc(n)
        return Response(
            orjson.dumps({**counts, "results": results}),
            status_code=503 if counts["failed"] else 200,
            media_type="application/json",
        )

    return app


async def _publish_window(fleet: Fleet, events: list[Evidence]) -> list[Any]:
    """Publish a window of events with asynchronous acks (one round trip for the window, not one
    per event); each result is the PubAck or the error. An ack that never comes is an error."""
    futures: list[asyncio.Future[Any]] = []
    try:
        for e in events:
            futures.append(
                await fleet.js.publish_async(
                    evidence_subject(e.project, e.kind.value),
                    e.model_dump_json().encode(),
                    wait_stall=ACK_TIMEOUT_S,
                    headers={"Nats-Msg-Id": e.id},
                )
            )
    except Exception as exc:  # could not even send: the rest of the window failed
        futures.extend(_failed(exc) for _ in range(len(events) - len(futures)))
    done, pending = await asyncio.wait(futures, timeout=ACK_TIMEOUT_S)
    for future in pending:
        future.cancel()
    return [
        f.exception() or f.result() if f in done and not f.cancelled() else TimeoutError("no ack from JetStream")
        for f in futures
    ]


def _failed(exc: BaseException) -> asyncio.Future[Any]:
    future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    future.set_exception(exc)
    return future


def _id(item: Any) -> str | None:
    return item.get("id") if isinstance(item, dict) and isinstance(item.get("id"), str) else None
