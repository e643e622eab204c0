"""The intake service: validates evidence and project definitions and publishes them to JetStream.

Every request carries an API key: upstream systems push evidence for the projects their key is
scoped to; administrators register projects. A push is all or nothing: one bad event refuses the
request (4xx naming each bad field) and nothing is published. An answer is sent only after
JetStream acknowledged each accepted event (its `Nats-Msg-Id` is the id and a content hash, so a
replay is reported as a duplicate and stored once).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import orjson
from fastapi import Depends, FastAPI, HTTPException, Request, Response
from faststream.nats import JStream
from opseval_infra.auth import Access
from opseval_infra.fleet import Fleet, fleet_app, make_broker
from opseval_infra.http import ERROR_RESPONSES, INTAKE_EVENTS, BodySchemas
from opseval_infra.keys import Principal, Role
from opseval_infra.store.base import Store, StoredProject
from opseval_rules.rulefiles import RuleDefinitionError
from opseval_rules.standard import measure_problems, project_rule_set
from opseval_shared.base import field_path
from opseval_shared.evidence import EVIDENCE_ADAPTER, Evidence, Retraction, error_field
from opseval_shared.measures import MeasureLibrary
from opseval_shared.messaging import (
    EVIDENCE_STREAM,
    PROJECTS_STREAM,
    ProjectRegistered,
    evidence_subject,
    message_id,
    project_subject,
)
from opseval_shared.project import DEFER_REFERENCES, ProjectDefinition, unresolved_references
from opseval_shared.references import EvidenceReferenceError, EvidenceReferences
from pydantic import BaseModel, ValidationError

from .library import with_standard_measures
from .settings import IntakeSettings
from .upload import install_upload

PUBLISH_WINDOW = 1000  # outstanding publish acks at once
ACK_TIMEOUT_S = 10.0
AUDITED_IDS = 100  # accepted ids named in a push's audit entry (the counts are always there)


class EventBatch(BaseModel):
    events: list[Evidence]


PushBody = Evidence | list[Evidence] | EventBatch


class PushedEvent(BaseModel):
    index: int
    id: str
    status: Literal["accepted", "duplicate", "failed"]
    reason: str | None = None


class PushResult(BaseModel):
    accepted: int
    duplicate: int
    failed: int
    results: list[PushedEvent]


def _errors(exc: ValidationError, prefix: str = "") -> list[dict[str, str]]:
    out = []
    for e in exc.errors(include_url=False):
        field = error_field(e)
        out.append(
            {"field": f"{prefix}.{field}" if prefix and field else prefix or field or "(body)", "reason": e["msg"]}
        )
    return out


def _refuse(status: int, message: str, errors: list[dict[str, Any]]) -> HTTPException:
    return HTTPException(status, {"message": message, "errors": errors})


def _own_rule_ids(definition: ProjectDefinition) -> list[str]:
    return [str(r["id"]) for r in definition.rules.rules if isinstance(r.get("id"), str)]


def _rule_problems(definition: ProjectDefinition) -> list[dict[str, str]]:
    """The project's rules.yaml applied to the standard library, as for a bundle: a rule set that
    cannot run is refused here, before it could stop the project's evaluation in the fleet."""
    try:
        rule_set = project_rule_set(definition)
    except RuleDefinitionError as exc:
        return [{"field": f"rules.{exc.field}" if exc.field else "rules", "reason": exc.message}]
    return [
        {"field": f"rules.{p.rule}", "reason": f"{field_path(p.loc)}: {p.message}"}
        for p in measure_problems(rule_set, definition)
    ]


def _with_standard_measures(body: Any) -> Any:
    """A definition's measures are the standard library with the project's own merged in, as for a bundle."""
    if not isinstance(body, dict):
        return body
    own = body.get("measures") or {}
    try:
        parsed = MeasureLibrary.model_validate(own)
    except ValidationError as exc:
        raise _refuse(422, "the project definition is invalid", _errors(exc, "measures")) from None
    try:
        merged = with_standard_measures(parsed.measures)
    except ValueError as exc:
        raise _refuse(422, "the project definition is invalid", [{"field": "measures", "reason": str(exc)}]) from None
    return {**body, "measures": merged}


async def _body(request: Request, limit: int) -> Any:
    media_type, _, params = request.headers.get("content-type", "").partition(";")
    charset = params.strip().lower().removeprefix("charset=").strip('"') if params.strip() else "utf-8"
    if media_type.strip().lower() != "application/json" or charset not in ("utf-8", "utf8"):
        raise HTTPException(415, "send application/json (UTF-8)")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"body of {declared} bytes is larger than {limit}")
    raw = bytearray()
    async for chunk in request.stream():  # counted as it arrives: a lying or absent length cannot pass
        raw += chunk
        if len(raw) > limit:
            raise HTTPException(413, f"body is larger than {limit} bytes")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise HTTPException(422, f"body is not valid JSON: {exc}") from None


def _batch(body: Any) -> tuple[list[Any], str]:
    """The events of a push and how to name the n-th in an error: one event, an array, or {"events": [...]}."""
    if isinstance(body, dict) and "events" in body:
        if set(body) != {"events"} or not isinstance(body["events"], list):
            raise HTTPException(422, 'a batch is {"events": [...]} with nothing else')
        return body["events"], "events"
    if isinstance(body, list):
        return body, ""
    return [body], "(event)"


def _where(container: str, index: int) -> str:
    return container if container == "(event)" else f"{container}[{index}]"


def create_app(settings: IntakeSettings | None = None, known_rules: Collection[str] | None = None) -> FastAPI:
    """The intake app; `known_rules` are the rule ids an indicator's `rules` patterns may name
    (not checked without them: intake does not depend on the rules service)."""
    settings = settings or IntakeSettings()
    references = _References()
    broker = make_broker(settings)
    fleet = Fleet(settings, broker)
    evidence_out = broker.publisher(
        "opseval.evidence.{project}.{kind}",
        stream=JStream(EVIDENCE_STREAM.name, declare=False),
        schema=Evidence,
        title="evidence accepted",
        description="An evidence event that passed validation; the Nats-Msg-Id is its id and content hash.",
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
    access = Access(lambda: fleet.store)
    access.install(app)
    admin = Depends(access.require(Role.ADMIN))
    # Evaluators push corrections and retractions only (checked per push).
    pusher = Depends(access.require(Role.UPSTREAM, Role.EVALUATOR))
    json_body = BodySchemas()

    @app.post(
        "/v1/projects",
        name="project.register",
        status_code=201,
        openapi_extra=json_body(ProjectDefinition),
        responses={200: {"description": "the same definition was already registered"}, **ERROR_RESPONSES},
    )
    async def register_project(request: Request, principal: Principal = admin) -> Response:
        """Register or update a project (administrators): its definition (project, contracts,
        indicators) as JSON."""
        body = await _body(request, settings.max_body_bytes)
        try:
            definition = ProjectDefinition.model_validate(
                _with_standard_measures(body), context={DEFER_REFERENCES: True}
            )
        except ValidationError as exc:
            raise _refuse(422, "the project definition is invalid", _errors(exc)) from None
        problems = unresolved_references(
            definition.contracts,
            definition.indicators,
            definition.measures,
            period=definition.project.evaluation.period,
            # the project's own rules (rules.yaml) may be named by its indicators too
            known_rules=None if known_rules is None else [*known_rules, *_own_rule_ids(definition)],
        )
        if problems:
            errors = [{"field": f"indicators.{field_path(loc)}", "reason": message} for loc, message in problems]
            raise _refuse(422, f"{len(errors)} references of the definition do not resolve", errors)
        rule_errors = _rule_problems(definition)
        if rule_errors:
            raise _refuse(422, "the project's rules do not apply", rule_errors)
        text = definition.model_dump_json()
        revision = hashlib.sha256(text.encode()).hexdigest()[:16]
        store = access.store()
        created = await store.put_project(StoredProject(definition.project.id, revision, text))
        message = ProjectRegistered(project=definition.project.id, revision=revision, definition=definition)
        await fleet.js.publish(
            project_subject(definition.project.id),
            message.model_dump_json().encode(),
            headers={"Nats-Msg-Id": f"project:{definition.project.id}:{revision}"},
        )
        request.state.audit.update(project=definition.project.id, revision=revision, changed=created)
        return Response(
            orjson.dumps({"project": definition.project.id, "revision": revision, "changed": created}),
            status_code=201 if created else 200,
            media_type="application/json",
        )

    @app.post(
        "/v1/evidence",
        name="evidence.push",
        openapi_extra=json_body(PushBody),
        response_model=PushResult,
        responses=ERROR_RESPONSES,
    )
    async def push_evidence(request: Request, principal: Principal = pusher) -> Response:
        """Push evidence (upstream systems, for the projects their key is scoped to): one event, a
        JSON array of events, or {"events": [...]}. All or nothing: when any event is invalid, the
        answer is 4xx naming each bad field and nothing is accepted. Otherwise each event is answered
        accepted (new) or duplicate (the same id and content was accepted before).

        A correction is an event with `corrects: {event, reason, by?}` (it replaces the event it
        names) or a `retraction` (its payload names the event withdrawn); the event named must have
        been accepted before for the same project, or come in the same push. Evaluators' keys may
        push corrections and retractions only."""
        body = await _body(request, settings.max_body_bytes)
        items, container = _batch(body)
        if not items:
            raise HTTPException(422, "no events in the request")
        if len(items) > settings.max_batch:
            raise HTTPException(413, f"{len(items)} events in one request; at most {settings.max_batch}")
        events, errors = _validate_batch(items, container, settings.max_clock_skew_s)
        if errors:
            raise _refuse(422, f"{len(errors)} of {len(items)} events are invalid; none was accepted", errors)
        for index, event in enumerate(events):
            if not principal.covers(event.project):
                raise HTTPException(
                    403, f"this key may not push evidence for project {event.project!r} ({_where(container, index)})"
                )
            if principal.role is Role.EVALUATOR and _corrected(event) is None:
                raise HTTPException(
                    403,
                    "an evaluator key may push only corrections (corrects: {event, reason}) and retractions "
                    f"({_where(container, index)} is neither)",
                )
        store = access.store()
        projects = sorted({e.project for e in events})
        registered = {p: await store.get_project(p) for p in projects}
        unknown = [p for p, stored in registered.items() if stored is None]
        if unknown:
            errors = [
                {"field": f"{_where(container, i)}.project", "reason": f"unknown project {e.project!r}"}
                for i, e in enumerate(events)
                if e.project in unknown
            ]
            raise _refuse(422, f"{len(errors)} events name a project that is not registered; none was accepted", errors)
        errors = []
        checkers = {p: references.of(stored) for p, stored in registered.items() if stored is not None}
        for index, e in enumerate(events):
            try:
                checkers[e.project].check(e)
            except EvidenceReferenceError as exc:
                field = f"{_where(container, index)}.{exc.field_path}"
                errors.append({"index": index, "id": e.id, "field": field, "reason": str(exc)})
        errors.extend(await _unknown_corrected(store, events, container))
        if errors:
            raise _refuse(
                422, f"{len(errors)} events refer to what their project does not define; none was accepted", errors
            )
        bodies = [e.model_dump_json() for e in events]
        conflicts = await _conflicts(store, events, bodies, container)
        if conflicts:
            raise _refuse(409, "event ids already accepted with other content; none was accepted", conflicts)
        results: list[dict[str, Any]] = [{"index": i, "id": e.id, "status": "pending"} for i, e in enumerate(events)]
        for start in range(0, len(events), PUBLISH_WINDOW):
            window = range(start, min(start + PUBLISH_WINDOW, len(events)))
            acks = await _publish_window(fleet, [(events[i], bodies[i]) for i in window])
            for index, ack in zip(window, acks, strict=True):
                if isinstance(ack, BaseException):
                    # Not acknowledged: not accepted. Sending the batch again is safe (ids dedupe).
                    results[index]["status"] = "failed"
                    results[index]["reason"] = f"not stored: {ack!r}; send the batch again"
                else:
                    results[index]["status"] = "duplicate" if ack.duplicate else "accepted"
        counts = {s: sum(1 for r in results if r["status"] == s) for s in ("accepted", "duplicate", "failed")}
        for status, n in counts.items():
            INTAKE_EVENTS.labels(status).inc(n)
        request.state.audit.update(
            counts,
            projects=projects,
            project=projects[0] if len(projects) == 1 else None,
            ids=[r["id"] for r in results if r["status"] == "accepted"][:AUDITED_IDS],
        )
        corrections = [
            {"event": e.id, "corrects": target[0], "action": target[1], "by": target[2]}
            for e, r in zip(events, results, strict=True)
            if r["status"] == "accepted" and (target := _corrected(e)) is not None
        ]
        if corrections:  # who corrected what: the key is the entry's actor, `by` what the event states
            request.state.audit["corrections"] = corrections[:AUDITED_IDS]
        return Response(
            orjson.dumps({**counts, "results": results}),
            status_code=503 if counts["failed"] else 200,
            media_type="application/json",
        )

    install_upload(app, settings, fleet, access, references, pusher)  # POST /v1/projects/{project}/imports
    json_body.install(app)
    return app


class _References:
    """The reference index of each registered project's current revision (built once per revision)."""

    def __init__(self, keep: int = 64) -> None:
        self.keep = keep
        self._by_revision: dict[tuple[str, str], EvidenceReferences] = {}

    def of(self, stored: StoredProject) -> EvidenceReferences:
        key = (stored.id, stored.revision)
        found = self._by_revision.get(key)
        if found is None:
            if len(self._by_revision) >= self.keep:
                self._by_revision.pop(next(iter(self._by_revision)))
            definition = ProjectDefinition.model_validate_json(stored.definition)
            found = self._by_revision[key] = EvidenceReferences(definition)
        return found


def _validate_batch(items: list[Any], container: str, max_skew_s: float) -> tuple[list[Evidence], list[dict[str, Any]]]:
    """Every event validated; each error names its event (index and id) and its field."""
    events: list[Evidence] = []
    errors: list[dict[str, Any]] = []
    first_index: dict[str, int] = {}
    now = datetime.now(UTC)
    latest = now + timedelta(seconds=max_skew_s)
    for index, item in enumerate(items):
        where = _where(container, index)
        try:
            event = EVIDENCE_ADAPTER.validate_python(item)
        except ValidationError as exc:
            errors.extend({"index": index, "id": _id(item), **e} for e in _errors(exc, where))
            continue
        for name in ("occurred_at", "recorded_at"):
            value: datetime = getattr(event, name)
            if value > latest:
                reason = f"{value.isoformat()} is in the future (intake's clock: {now:%Y-%m-%dT%H:%M:%SZ})"
                errors.append({"index": index, "id": event.id, "field": f"{where}.{name}", "reason": reason})
        if event.id in first_index:
            errors.append(
                {
                    "index": index,
                    "id": event.id,
                    "field": f"{where}.id",
                    "reason": f"the same id as {_where(container, first_index[event.id])} in this request",
                }
            )
        first_index.setdefault(event.id, index)
        events.append(event)
    return events, errors


async def _conflicts(store: Store, events: list[Evidence], bodies: list[str], container: str) -> list[dict[str, Any]]:
    """Events whose id was accepted before with other content (in any project: an id names one
    event for ever, so an upstream system cannot take over another's ids either)."""
    stored = {row.id: row.body for row in await store.find_events([e.id for e in events])}
    return [
        {
            "index": index,
            "id": event.id,
            "field": f"{_where(container, index)}.id",
            "reason": "this id was accepted before with other content; give each event its own id (to correct"
            " the accepted one, send a new event with corrects: {event, reason})",
        }
        for index, event in enumerate(events)
        if event.id in stored and stored[event.id] != bodies[index]
    ]


def _corrected(event: Evidence) -> tuple[str, str, str | None] | None:
    """The event a correction or retraction names, the action, and who made it (None otherwise)."""
    if isinstance(event, Retraction):
        return event.payload.event, "retracted", event.payload.by
    if event.corrects is not None:
        return event.corrects.event, "superseded", event.corrects.by
    return None


async def _unknown_corrected(store: Store, events: list[Evidence], container: str) -> list[dict[str, Any]]:
    """Corrections naming an event neither accepted before for their project nor in this push: a
    mistyped id would leave the event it meant in force."""
    targets = {index: found for index, e in enumerate(events) if (found := _corrected(e)) is not None}
    if not targets:
        return []
    in_push = {(e.project, e.id): e.kind.value for e in events}
    stored = await store.find_events(sorted({t[0] for t in targets.values()}))
    known = {**{(row.project, row.id): row.kind for row in stored}, **in_push}
    errors = []
    for index, (target, action, _) in targets.items():
        event = events[index]
        kind = known.get((event.project, target))
        if kind is None:
            reason = (
                f"no event {target!r} of project {event.project!r} was accepted (or it is not stored yet: send the"
                " correction again shortly)"
            )
        elif kind == "retraction":
            reason = f"{target!r} is a retraction, which stands: send the event again under a new id"
        else:
            continue
        field = "payload.event" if action == "retracted" else "corrects.event"
        errors.append(
            {"index": index, "id": event.id, "field": f"{_where(container, index)}.{field}", "reason": reason}
        )
    return errors


async def _publish_window(fleet: Fleet, events: list[tuple[Evidence, str]]) -> list[Any]:
    """Publish a window of events with asynchronous acks (one round trip for the window, not one
    per event); each result is the PubAck or the error. An ack that never comes is an error."""
    futures: list[asyncio.Future[Any]] = []
    try:
        for e, body in events:
            data = body.encode()
            futures.append(
                await fleet.js.publish_async(
                    evidence_subject(e.project, e.kind.value),
                    data,
                    wait_stall=ACK_TIMEOUT_S,
                    headers={"Nats-Msg-Id": message_id(e.id, data)},
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
