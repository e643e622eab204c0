"""Accepting a batch of evidence: what a push (`POST /v1/evidence`) and an upload
(`POST /v1/projects/{project}/imports`) share once their events are validated — who may supply
them, their projects and references, ids accepted before with other content, the publish with its
acks, the metrics and the audit entry. All or nothing: any refusal publishes none of the batch."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import HTTPException, Request
from opseval_infra.fleet import Fleet
from opseval_infra.http import INTAKE_EVENTS
from opseval_infra.keys import Principal, Role
from opseval_infra.store.base import Store, StoredProject
from opseval_shared.evidence import EVIDENCE_ADAPTER, Evidence, Judgment, Retraction, error_field
from opseval_shared.judging import evaluator_source, push_override_problems
from opseval_shared.messaging import evidence_subject, message_id
from opseval_shared.project import ProjectDefinition
from opseval_shared.references import EvidenceReferenceError, EvidenceReferences
from pydantic import ValidationError

PUBLISH_WINDOW = 1000  # outstanding publish acks at once
ACK_TIMEOUT_S = 10.0
AUDITED_IDS = 100  # accepted ids named in a batch's audit entry (the counts are always there)


class References:
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


def validation_errors(exc: ValidationError, prefix: str = "") -> list[dict[str, str]]:
    out = []
    for e in exc.errors(include_url=False):
        field = error_field(e)
        out.append(
            {"field": f"{prefix}.{field}" if prefix and field else prefix or field or "(body)", "reason": e["msg"]}
        )
    return out


def refuse(status: int, message: str, errors: list[dict[str, Any]]) -> HTTPException:
    return HTTPException(status, {"message": message, "errors": errors})


def place(container: str, index: int) -> str:
    return container if container == "(event)" else f"{container}[{index}]"


def check_supplier(principal: Principal, project: str, evaluators_may: bool, what: str) -> None:
    """403 unless the key may send `what` (an event, or a file of them) for the project: a key scoped
    to it, and an evaluator's key only what evaluators make (`evaluators_may`: a judgment, a
    correction or a retraction)."""
    if not principal.covers(project):
        raise HTTPException(403, f"this key may not push evidence for project {project!r} ({what})")
    if principal.role is Role.EVALUATOR and not evaluators_may:
        raise HTTPException(
            403,
            "an evaluator key may push only corrections (corrects: {event, reason}), retractions and "
            f"judgments ({what} is none of these)",
        )


async def accept_batch(
    request: Request,
    principal: Principal,
    store: Store,
    fleet: Fleet,
    references: References,
    events: list[Evidence],
    container: str,
    *,
    resend: str,
) -> tuple[dict[str, int], list[dict[str, Any]]]:
    """Check and publish validated events (`container` names them in errors; `resend` is what the
    sender sends again when an ack fails); the counts and each event's result, the audit entry
    filled in. Raises the 4xx refusal before anything is published."""
    for index, event in enumerate(events):
        evaluators_may = isinstance(event, Judgment) or _corrected(event) is not None
        check_supplier(principal, event.project, evaluators_may, place(container, index))
    projects = sorted({e.project for e in events})
    registered = {p: await store.get_project(p) for p in projects}
    unknown = [p for p, stored in registered.items() if stored is None]
    errors: list[dict[str, Any]]
    if unknown:
        errors = [
            {"field": f"{place(container, i)}.project", "reason": f"unknown project {e.project!r}"}
            for i, e in enumerate(events)
            if e.project in unknown
        ]
        raise refuse(422, f"{len(errors)} events name a project that is not registered; none was accepted", errors)
    errors = []
    checkers = {p: references.of(stored) for p, stored in registered.items() if stored is not None}
    for index, e in enumerate(events):
        try:
            checkers[e.project].check(e)
        except EvidenceReferenceError as exc:
            field = f"{place(container, index)}.{exc.field_path}"
            errors.append({"index": index, "id": e.id, "field": field, "reason": str(exc)})
    errors.extend(await _unknown_corrected(store, events, container))
    errors.extend(_unsourced_judgments(principal, events, container))
    if errors:
        raise refuse(
            422, f"{len(errors)} events refer to what their project does not define; none was accepted", errors
        )
    overrides = await _unnamed_overrides(store, events, container)
    if overrides:
        raise refuse(
            409,
            f"{len(overrides)} judgments re-judge what has a judgment in force without naming it in corrects"
            " (改判须注明被改判的评分记录及理由); none was accepted",
            overrides,
        )
    bodies = [e.model_dump_json() for e in events]
    conflicts = await _conflicts(store, events, bodies, container)
    if conflicts:
        raise refuse(409, "event ids already accepted with other content; none was accepted", conflicts)
    results: list[dict[str, Any]] = [{"index": i, "id": e.id, "status": "pending"} for i, e in enumerate(events)]
    for start in range(0, len(events), PUBLISH_WINDOW):
        window = range(start, min(start + PUBLISH_WINDOW, len(events)))
        acks = await _publish_window(fleet, [(events[i], bodies[i]) for i in window])
        for index, ack in zip(window, acks, strict=True):
            if isinstance(ack, BaseException):
                # Not acknowledged: not accepted. Sending it again is safe (ids dedupe).
                results[index]["status"] = "failed"
                results[index]["reason"] = f"not stored: {ack!r}; send the {resend} again"
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
    judged = [
        {
            "event": e.id,
            "indicator": e.payload.indicator,
            "point": e.payload.point,
            "awarded": str(e.payload.awarded),
            "overrides": e.corrects.event if e.corrects is not None else None,
        }
        for e, r in zip(events, results, strict=True)
        if r["status"] == "accepted" and isinstance(e, Judgment)
    ]
    if judged:  # what was judged, and which judgment each override replaced
        request.state.audit["judgments"] = judged[:AUDITED_IDS]
    return counts, results


def validate_batch(items: list[Any], container: str, max_skew_s: float) -> tuple[list[Evidence], list[dict[str, Any]]]:
    """Every event validated; each error names its event (index and id) and its field."""
    events: list[Evidence] = []
    errors: list[dict[str, Any]] = []
    first_index: dict[str, int] = {}
    now = datetime.now(UTC)
    latest = now + timedelta(seconds=max_skew_s)
    for index, item in enumerate(items):
        where = place(container, index)
        try:
            event = EVIDENCE_ADAPTER.validate_python(item)
        except ValidationError as exc:
            errors.extend({"index": index, "id": _id(item), **e} for e in validation_errors(exc, where))
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
                    "reason": f"the same id as {place(container, first_index[event.id])} in this request",
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
            "field": f"{place(container, index)}.id",
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
        errors.append({"index": index, "id": event.id, "field": f"{place(container, index)}.{field}", "reason": reason})
    return errors


def _unsourced_judgments(principal: Principal, events: list[Evidence], container: str) -> list[dict[str, Any]]:
    """Judgments pushed under an evaluator's key whose `source` is not that key: the evidence trail
    says who judged."""
    if principal.role is not Role.EVALUATOR:
        return []
    wanted = evaluator_source(principal.key.id)
    return [
        {
            "index": index,
            "id": e.id,
            "field": f"{place(container, index)}.source",
            "reason": f"a judgment made under an evaluator's key has source {wanted!r}, not {e.source!r}",
        }
        for index, e in enumerate(events)
        if isinstance(e, Judgment) and e.source != wanted
    ]


async def _unnamed_overrides(store: Store, events: list[Evidence], container: str) -> list[dict[str, Any]]:
    """Judgments that re-judge a leaf or point with a judgment in force (stored, or in this push)
    without naming it in `corrects`, or with a blank reason: an override says which judgment it
    replaces, and why."""
    projects = sorted({e.project for e in events if isinstance(e, Judgment)})
    errors: list[dict[str, Any]] = []
    for project in projects:
        stored = []
        for row in await store.events_of_kinds(project, ["judgment", "retraction"]):
            try:
                stored.append(EVIDENCE_ADAPTER.validate_json(row.body))
            except ValidationError:  # stored under an older schema: it cannot be in force now either
                continue
        indexes = [index for index, e in enumerate(events) if e.project == project]
        for position, field, reason in push_override_problems(stored, [events[i] for i in indexes]):
            index = indexes[position]
            where = f"{place(container, index)}.{field}"
            errors.append({"index": index, "id": events[index].id, "field": where, "reason": reason})
    return sorted(errors, key=lambda error: error["index"])


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
