"""The intake service: validates evidence and project definitions and publishes them to JetStream.

Every request carries an API key: upstream systems push evidence for the projects their key is
scoped to; administrators register projects. A push is all or nothing: one bad event refuses the
request (4xx naming each bad field) and nothing is published. An answer is sent only after
JetStream acknowledged each accepted event (its `Nats-Msg-Id` is the id and a content hash, so a
replay is reported as a duplicate and stored once).
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from typing import Any, Literal

import orjson
from fastapi import Depends, FastAPI, HTTPException, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from faststream.nats import JStream
from opseval_infra.auth import Access
from opseval_infra.fleet import Fleet, fleet_app, make_broker
from opseval_infra.http import ERROR_RESPONSES, BodySchemas
from opseval_infra.keys import Principal, Role
from opseval_infra.store.base import StoredProject
from opseval_rules.rulefiles import RuleDefinitionError
from opseval_rules.standard import measure_problems, project_rule_set
from opseval_shared.base import field_path
from opseval_shared.evidence import Evidence
from opseval_shared.measures import MeasureLibrary
from opseval_shared.messaging import (
    EVIDENCE_STREAM,
    PROJECTS_STREAM,
    ProjectRegistered,
    project_subject,
)
from opseval_shared.project import DEFER_REFERENCES, ProjectDefinition, unresolved_references
from pydantic import BaseModel, ValidationError

from .batch import References, accept_batch, refuse, validate_batch, validation_errors
from .library import with_standard_measures
from .settings import IntakeSettings
from .upload import install_upload


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
        raise refuse(422, "the project definition is invalid", validation_errors(exc, "measures")) from None
    try:
        merged = with_standard_measures(parsed.measures)
    except ValueError as exc:
        raise refuse(422, "the project definition is invalid", [{"field": "measures", "reason": str(exc)}]) from None
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


def create_app(settings: IntakeSettings | None = None, known_rules: Collection[str] | None = None) -> FastAPI:
    """The intake app; `known_rules` are the rule ids an indicator's `rules` patterns may name
    (not checked without them: intake does not depend on the rules service)."""
    settings = settings or IntakeSettings()
    references = References()
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
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "Content-Type"],
            max_age=600,
        )
    admin = Depends(access.require(Role.ADMIN))
    # Evaluators push judgments, corrections and retractions only (checked per push).
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
            raise refuse(422, "the project definition is invalid", validation_errors(exc)) from None
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
            raise refuse(422, f"{len(errors)} references of the definition do not resolve", errors)
        rule_errors = _rule_problems(definition)
        if rule_errors:
            raise refuse(422, "the project's rules do not apply", rule_errors)
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
        push judgments, corrections and retractions only; a judgment under an evaluator's key has the
        source `evaluator:<key id>`. Re-judging a leaf or checklist point that has a judgment in force
        is an override: it names that judgment in `corrects: {event, reason, by?}`, else the push is
        refused (409, naming the field `corrects`)."""
        body = await _body(request, settings.max_body_bytes)
        items, container = _batch(body)
        if not items:
            raise HTTPException(422, "no events in the request")
        if len(items) > settings.max_batch:
            raise HTTPException(413, f"{len(items)} events in one request; at most {settings.max_batch}")
        events, errors = validate_batch(items, container, settings.max_clock_skew_s)
        if errors:
            raise refuse(422, f"{len(errors)} of {len(items)} events are invalid; none was accepted", errors)
        counts, results = await accept_batch(
            request, principal, access.store(), fleet, references, events, container, resend="batch"
        )
        return Response(
            orjson.dumps({**counts, "results": results}),
            status_code=503 if counts["failed"] else 200,
            media_type="application/json",
        )

    install_upload(app, settings, fleet, access, references, pusher)  # POST /v1/projects/{project}/imports
    json_body.install(app)
    return app
