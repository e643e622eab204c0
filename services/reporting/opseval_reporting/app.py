"""The results API: projects, score trees, findings and the evidence behind them, and the report
as of any date. Reads the store the consumers keep current; computes as-of reports with the same
domain functions as `opseval evaluate`.

Every /v1 request carries an API key: evaluators read the projects their key is scoped to;
administrators read everything, manage keys and read the audit trail (`/v1/admin/…`)."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, Literal

import orjson
from fastapi import Depends, FastAPI, HTTPException, Query, Request, Response
from fastapi.staticfiles import StaticFiles
from opseval_infra.auth import Access
from opseval_infra.fleet import Fleet, fleet_app, make_broker
from opseval_infra.http import ERROR_RESPONSES
from opseval_infra.keys import (
    AuditView,
    IssuedKey,
    KeyManagementError,
    KeyView,
    Principal,
    Role,
    UnknownKey,
    create_key,
    rescope_key,
    revoke_key,
    utc_text,
)
from opseval_infra.projects import evaluation_kind, today_in_china
from opseval_infra.store.base import StoredEvent, StoredProject
from opseval_shared.calendar import WorkCalendar
from opseval_shared.evidence import parse_evidence_json
from opseval_shared.ledger import fold_all
from opseval_shared.messaging import FindingsChanged, ScoreChanged
from opseval_shared.project import ProjectDefinition
from opseval_shared.results import Finding, ScoredIndicator, TimelinePoint
from pydantic import AwareDatetime, BaseModel, Field

from .live import LiveScores, listen, live_router
from .output import render_files
from .pipeline import evaluate_ledger, evaluate_series
from .settings import ReportingSettings

PAGE = 1000
EVALUATING_SERVICES = ("rules", "scoring")
MAX_SEQ = 2**63 - 1  # a store sequence number is a signed 64-bit integer
STATIC = Path(__file__).parent / "static"
DOCUMENT_FILES = {
    "html": "report.html",
    "md": "report.md",
    "scores": "scores.json",
    "findings": "findings.json",
    "docx": "report.docx",
    "xlsx": "scores.xlsx",
    "pdf": "report.pdf",
    "selfeval.xlsx": "selfeval.xlsx",
    "selfeval.docx": "selfeval.docx",
}
DocumentFormat = Literal["html", "md", "scores", "findings", "docx", "xlsx", "pdf", "selfeval.xlsx", "selfeval.docx"]
OFFICE_FORMATS = {"docx", "xlsx", "pdf", "selfeval.xlsx", "selfeval.docx"}
MEDIA_TYPES = {
    "html": "text/html; charset=utf-8",
    "md": "text/markdown; charset=utf-8",
    "json": "application/json",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


def _json(data: Any) -> Response:
    return Response(orjson.dumps(data), media_type="application/json")


def _leaf(nodes: tuple[ScoredIndicator, ...], leaf_id: str) -> ScoredIndicator | None:
    for node in nodes:
        if node.id == leaf_id:
            return node
        found = _leaf(node.children, leaf_id)
        if found:
            return found
    return None


class ProjectSummary(BaseModel):
    id: str
    name: str
    revision: str
    evidence: int
    total: float | None
    grade: str | None
    as_of: str | None
    evaluation: Literal["ok", "failing", "pending"] = Field(
        description="failing: a service's last evaluation of the project failed (see /v1/projects/{id})"
    )
    set_aside: int = Field(description="stored events left out of the evaluation: a reference does not resolve")


class EvaluationStatus(BaseModel):
    """How the evaluating services fare with the project: each one's last evaluation, ok or failing
    with the error, and the events it set aside."""

    state: Literal["ok", "failing", "pending"]
    services: dict[str, Any]
    set_aside: list[dict[str, Any]]


class ProjectDetail(ProjectSummary):
    status: EvaluationStatus
    corrections: list[dict[str, Any]] = Field(description="events corrected or retracted, by which event, why, who")


class FindingsPage(BaseModel):
    project: str
    revision: int
    as_of: date
    findings: list[Finding]
    evaluation: EvaluationStatus


class ScoresAnswer(ScoreChanged):
    evaluation: EvaluationStatus = Field(
        description="whether the evaluation currently fails (these scores are the last computed)"
    )


def answers(model: Any, status: int = 200) -> dict[int | str, dict[str, Any]]:
    """The documented answers of a route that returns its JSON itself: `model` and the errors."""
    return {status: {"model": model}, **ERROR_RESPONSES}


class NewKey(BaseModel):
    name: str = Field(min_length=1, max_length=200, description="who holds it: a system, a team, a person")
    role: Role
    projects: list[str] = Field(min_length=1, max_length=1000, description='project ids, or ["*"] for every project')
    expires_at: AwareDatetime | None = Field(default=None, description="answered 401 from then on; never if absent")


class KeyScope(BaseModel):
    projects: list[str] = Field(min_length=1, max_length=1000, description='project ids, or ["*"] for every project')


def create_app(settings: ReportingSettings | None = None) -> FastAPI:
    settings = settings or ReportingSettings()
    fleet = Fleet(settings, make_broker(settings))
    hub = LiveScores()
    listen(fleet.broker, hub)
    app = fleet_app(fleet, "opseval results API", evaluate=None)
    app.state.fleet = fleet
    access = Access(lambda: fleet.store)
    access.install(app)
    app.include_router(live_router(access, hub, settings))
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    reader = Depends(access.require(Role.EVALUATOR))
    admin = Depends(access.require(Role.ADMIN))

    store = access.store

    async def definition(project: str) -> ProjectDefinition:
        stored = await store().get_project(project)
        if stored is None:
            raise HTTPException(404, f"no project {project!r}")
        return ProjectDefinition.model_validate_json(stored.definition)

    async def snapshot(kind: str, project: str, missing: str) -> str:
        await definition(project)
        snap = await store().get_snapshot(kind, project)
        if snap is None:
            evaluation, _ = await status(project)
            failing = [f"{name}: {s['error']}" for name, s in evaluation["services"].items() if s["state"] == "failing"]
            if failing:  # not "not yet": it fails, and says why
                raise HTTPException(503, f"the evaluation of project {project!r} fails ({'; '.join(failing)})")
            raise HTTPException(404, f"project {project!r} has no {missing} yet")
        return snap.body

    async def scores(project: str) -> ScoreChanged:
        return ScoreChanged.model_validate_json(await snapshot("scores", project, "score"))

    async def findings(project: str) -> FindingsChanged:
        return FindingsChanged.model_validate_json(await snapshot("findings", project, "findings"))

    async def stored_events(project: str) -> list[StoredEvent]:
        """All the project's stored events, in store sequence order (read in pages)."""
        rows: list[StoredEvent] = []
        while batch := await store().events_after(project, rows[-1].seq if rows else 0):
            rows.extend(batch)
        return rows

    async def events(project: str, ids: list[str]) -> list[Any]:
        rows = await store().get_events(project, ids)
        return [orjson.loads(r.body) for r in rows]

    async def status(project: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The project's evaluation status as the evaluating services recorded it, and its corrections."""
        services: dict[str, Any] = {}
        for service in EVALUATING_SERVICES:
            snap = await store().get_snapshot(evaluation_kind(service), project)
            if snap is not None:
                services[service] = orjson.loads(snap.body)
        if any(s.get("state") == "failing" for s in services.values()):
            state = "failing"
        else:
            state = "ok" if len(services) == len(EVALUATING_SERVICES) else "pending"
        set_aside = {d["event"]: d for s in services.values() for d in s.get("set_aside", ())}
        corrections = services.get("rules", services.get("scoring", {})).get("corrections", [])
        summary = {
            "state": state,
            "services": {
                name: {k: v for k, v in s.items() if k not in ("set_aside", "corrections")}
                for name, s in services.items()
            },
            "set_aside": [set_aside[k] for k in sorted(set_aside)],
        }
        return summary, corrections

    async def summary(stored: StoredProject, evaluation: dict[str, Any]) -> dict[str, Any]:
        """The project's summary (`evaluation`: its status, as `status` reads it)."""
        d = ProjectDefinition.model_validate_json(stored.definition)
        snap = await store().get_snapshot("scores", stored.id)
        score = ScoreChanged.model_validate_json(snap.body) if snap else None
        return {
            "id": stored.id,
            "name": d.project.name,
            "revision": stored.revision,
            "evidence": await store().count_events(stored.id),
            "total": float(score.total) if score else None,
            "grade": score.grade if score else None,
            "as_of": score.as_of.isoformat() if score else None,
            "evaluation": evaluation["state"],
            "set_aside": len(evaluation["set_aside"]),
        }

    @app.get("/v1/projects", name="projects.list", responses=answers(list[ProjectSummary]))
    async def list_projects(principal: Principal = reader) -> Response:
        """The registered projects this key may read, with their current total and grade when scored."""
        out = []
        for stored in await store().list_projects():
            if principal.covers(stored.id):
                out.append(await summary(stored, (await status(stored.id))[0]))
        return _json(out)

    @app.get("/v1/projects/{project}", name="project.read", responses=answers(ProjectDetail))
    async def get_project(project: str, principal: Principal = reader) -> Response:
        """One project: its definition's revision, evidence count, total and grade, how its
        evaluation fares (a failure with its error, the events set aside and why) and the
        corrections of its evidence."""
        access.project(principal, project)
        stored = await store().get_project(project)
        if stored is None:
            raise HTTPException(404, f"no project {project!r}")
        evaluation, corrections = await status(project)
        return _json({**await summary(stored, evaluation), "status": evaluation, "corrections": corrections})

    @app.get("/v1/projects/{project}/scores", name="scores.read", responses=answers(ScoresAnswer))
    async def get_scores(project: str, principal: Principal = reader) -> Response:
        """Today's score tree: total, grade, and every leaf with its explanation and evidence ids;
        `evaluation` says whether the project's evaluation currently fails (these scores are then
        the last ones computed) and which events were set aside."""
        access.project(principal, project)
        evaluation, _ = await status(project)
        answer = (await scores(project)).model_dump(mode="json", exclude_none=True)
        return _json({**answer, "evaluation": evaluation})

    @app.get("/v1/projects/{project}/findings", name="findings.read", responses=answers(FindingsPage))
    async def get_findings(
        project: str,
        indicator: str | None = None,
        rule: str | None = None,
        severity: Literal["high", "medium", "low"] | None = None,
        contract: str | None = None,
        principal: Principal = reader,
    ) -> Response:
        """The findings so far, filtered by indicator, rule (prefix with a trailing *), severity, contract."""
        access.project(principal, project)
        current = await findings(project)
        selected = [
            f
            for f in current.findings
            if (indicator is None or f.indicator == indicator)
            and (rule is None or (f.rule.startswith(rule[:-1]) if rule.endswith("*") else f.rule == rule))
            and (severity is None or f.severity == severity)
            and (contract is None or f.contract == contract)
        ]
        evaluation, _ = await status(project)
        return _json(
            {
                "project": project,
                "revision": current.revision,
                "as_of": current.as_of.isoformat(),
                "findings": [f.model_dump(mode="json") for f in selected],
                "evaluation": evaluation,
            }
        )

    @app.get(
        "/v1/projects/{project}/findings/{finding_id}/evidence", name="finding.evidence.read", responses=ERROR_RESPONSES
    )
    async def finding_evidence(project: str, finding_id: str, principal: Principal = reader) -> Response:
        """The evidence events behind one finding."""
        access.project(principal, project)
        current = await findings(project)
        finding = next((f for f in current.findings if f.id == finding_id), None)
        if finding is None:
            raise HTTPException(404, f"no finding {finding_id!r} in project {project!r}")
        evidence = await events(project, list(finding.evidence))
        return _json({"finding": finding.model_dump(mode="json"), "evidence": evidence})

    @app.get(
        "/v1/projects/{project}/indicators/{indicator}/evidence",
        name="indicator.evidence.read",
        responses=ERROR_RESPONSES,
    )
    async def indicator_evidence(
        project: str,
        indicator: str,
        offset: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=PAGE)] = 100,
        principal: Principal = reader,
    ) -> Response:
        """The evidence events behind one leaf's score, a page at a time."""
        access.project(principal, project)
        leaf = _leaf((await scores(project)).indicators, indicator)
        if leaf is None:
            raise HTTPException(404, f"no indicator {indicator!r} in project {project!r}")
        ids = list(leaf.evidence or ())
        return _json(
            {
                "indicator": leaf.id,
                "name": leaf.name,
                "score": float(leaf.score),
                "explanation": leaf.explanation,
                "total": len(ids),
                "offset": offset,
                "evidence": await events(project, ids[offset : offset + limit]),
            }
        )

    @app.get("/v1/projects/{project}/evidence/{event_id}", name="evidence.read", responses=ERROR_RESPONSES)
    async def one_event(project: str, event_id: str, principal: Principal = reader) -> Response:
        """One evidence event as accepted; `corrections` lists the corrections or retractions that
        name it or that it makes (the evidence trail keeps both events), `set_aside` why it is left
        out of the evaluation if it is."""
        access.project(principal, project)
        found = await events(project, [event_id])
        if not found:
            raise HTTPException(404, f"no event {event_id!r} in project {project!r}")
        evaluation, corrections = await status(project)
        trail = [c for c in corrections if event_id in (c["event"], c["corrected_by"])]
        aside = next((d for d in evaluation["set_aside"] if d["event"] == event_id), None)
        extra: dict[str, Any] = {"corrections": trail} if trail else {}
        if aside is not None:
            extra["set_aside"] = {"field": aside["field"], "reason": aside["reason"]}
        return _json({**found[0], **extra})

    @app.get("/v1/projects/{project}/report", name="report.read", responses=ERROR_RESPONSES)
    async def report(
        project: str,
        as_of: date | None = None,
        format: Literal[
            "html", "md", "scores", "findings", "docx", "xlsx", "pdf", "selfeval.xlsx", "selfeval.docx"
        ] = "html",
        principal: Principal = reader,
    ) -> Response:
        """The evaluation documents as of a date (default: today, or the end of the period):
        html, md, scores and findings (JSON), docx (the report), xlsx (the score table), pdf, and for
        a self-evaluation the 自评表 as selfeval.xlsx / selfeval.docx."""
        access.project(principal, project)
        d = await definition(project)
        rows = await stored_events(project)

        def compute() -> dict[str, list[bytes]]:
            day = as_of or min(today_in_china(), d.project.evaluation.default_as_of)
            # Events whose references no longer resolve are left out, as the consumers leave them out.
            ledger, _ = fold_all(d, day, lambda: (parse_evidence_json(row.body) for row in rows))
            result = evaluate_ledger(ledger, work=WorkCalendar(fleet.calendar))
            return render_files(result, d, documents=format in OFFICE_FORMATS)

        files = await asyncio.to_thread(compute)
        name = DOCUMENT_FILES[format]
        if name not in files:
            raise HTTPException(
                404, f"no {format} document for project {project!r} (not a self-evaluation, or PDF unavailable)"
            )
        headers = (
            {}
            if name.endswith((".html", ".json"))
            else {"content-disposition": f'attachment; filename="{project}-{name}"'}
        )
        return Response(b"".join(files[name]), media_type=MEDIA_TYPES[name.rsplit(".", 1)[1]], headers=headers)

    @app.get("/v1/projects/{project}/series", name="series.read", responses=answers(list[TimelinePoint]))
    async def series(
        project: str, as_of: date | None = None, every: Literal["month"] = "month", principal: Principal = reader
    ) -> Response:
        """The score at each month's end over the evaluation period up to the as-of date (default:
        today, or the end of the period), the as-of date itself last: for trend charts."""
        access.project(principal, project)
        d = await definition(project)
        rows = await stored_events(project)

        def compute() -> list[dict[str, Any]]:
            day = as_of or min(today_in_china(), d.project.evaluation.default_as_of)
            events = [parse_evidence_json(row.body) for row in rows]
            points = evaluate_series(d, events, day, work=WorkCalendar(fleet.calendar))
            return [p.model_dump(mode="json") for p in points]

        return _json(await asyncio.to_thread(compute))

    @app.get("/", include_in_schema=False)
    async def root() -> Response:
        return Response(status_code=307, headers={"location": "/dashboard"})

    @app.get("/dashboard", include_in_schema=False)
    async def dashboard() -> Response:
        """The evaluators' workbench (Chinese UI) over this API."""
        return Response((STATIC / "index.html").read_bytes(), media_type="text/html; charset=utf-8")

    @app.get("/v1/dead-letters", name="dead_letters.read", responses=ERROR_RESPONSES)
    async def dead_letters(
        service: str | None = None, limit: Annotated[int, Query(ge=1, le=PAGE)] = 100, principal: Principal = admin
    ) -> Response:
        """Messages no consumer could handle, with the error (administrators)."""
        letters = await store().list_dead_letters(service, limit)
        return _json([orjson.loads(letter.body) for letter in letters])

    @app.get("/v1/admin/keys", name="keys.list", responses=answers(list[KeyView]))
    async def list_keys(principal: Principal = admin) -> Response:
        """Every API key, revoked ones included (never a secret or its hash)."""
        return _json([KeyView.of(k).model_dump(mode="json") for k in await store().list_keys()])

    @app.post("/v1/admin/keys", name="key.create", status_code=201, responses=answers(IssuedKey, 201))
    async def new_key(body: NewKey, request: Request, principal: Principal = admin) -> Response:
        """Issue a key. The answer holds the token, which is shown this once and never stored."""
        try:
            key, token = await create_key(store(), body.name, body.role, body.projects, body.expires_at)
        except KeyManagementError as exc:
            raise HTTPException(422, str(exc)) from None
        request.state.audit.update(key=key.id, role=key.role, projects=list(key.projects))
        return Response(
            orjson.dumps(IssuedKey.issued(key, token).model_dump(mode="json")),
            status_code=201,
            media_type="application/json",
        )

    @app.put("/v1/admin/keys/{key_id}/projects", name="key.scope", responses=answers(KeyView))
    async def scope_key(key_id: str, body: KeyScope, request: Request, principal: Principal = admin) -> Response:
        """Replace the projects a key may touch."""
        try:
            key = await rescope_key(store(), key_id, body.projects)
        except UnknownKey as exc:
            raise HTTPException(404, str(exc)) from None
        except KeyManagementError as exc:
            raise HTTPException(422, str(exc)) from None
        request.state.audit.update(key=key.id, projects=list(key.projects))
        return _json(KeyView.of(key).model_dump(mode="json"))

    @app.delete("/v1/admin/keys/{key_id}", name="key.revoke", responses=answers(KeyView))
    async def revoke(key_id: str, request: Request, principal: Principal = admin) -> Response:
        """Revoke a key: from now on it is answered 401. Its audit entries stay."""
        try:
            key = await revoke_key(store(), key_id)
        except UnknownKey as exc:
            raise HTTPException(404, str(exc)) from None
        request.state.audit.update(key=key.id)
        return _json(KeyView.of(key).model_dump(mode="json"))

    @app.get("/v1/admin/audit", name="audit.read", responses=answers(list[AuditView]))
    async def audit(
        actor: str | None = None,
        project: str | None = None,
        action: str | None = None,
        since: datetime | None = None,
        after: Annotated[int, Query(ge=0, le=MAX_SEQ)] = 0,
        limit: Annotated[int, Query(ge=1, le=PAGE)] = 100,
        principal: Principal = admin,
    ) -> Response:
        """The audit trail, oldest first: who pushed, read and changed what (action: a trailing *
        matches a prefix, e.g. key.*; since: an ISO 8601 time; after: the last seq already read)."""
        entries = await store().list_audit(
            actor=actor,
            project=project,
            action=action,
            since=utc_text(since) if since else None,
            after_seq=after,
            limit=limit,
        )
        return _json([AuditView.of(e).model_dump(mode="json") for e in entries])

    return app
