"""The results API: projects, score trees, findings and the evidence behind them, and the report
as of any date. Reads the store the consumers keep current; computes as-of reports with the same
domain functions as `opseval evaluate`."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

import orjson
from fastapi import FastAPI, HTTPException, Query, Response
from opseval_infra.fleet import Fleet, fleet_app, make_broker
from opseval_infra.projects import today_in_china
from opseval_infra.store.base import Store
from opseval_shared.evidence import parse_evidence_json
from opseval_shared.ledger import Ledger
from opseval_shared.messaging import FindingsChanged, ScoreChanged
from opseval_shared.project import ProjectDefinition
from opseval_shared.results import ScoredIndicator

from .output import render_files
from .pipeline import evaluate_ledger
from .settings import ReportingSettings

PAGE = 1000
DASHBOARD = Path(__file__).parent / "static" / "dashboard.html"
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


def create_app(settings: ReportingSettings | None = None) -> FastAPI:
    settings = settings or ReportingSettings()
    fleet = Fleet(settings, make_broker(settings))
    app = fleet_app(fleet, "opseval results API", evaluate=None)
    app.state.fleet = fleet

    def store() -> Store:
        assert fleet.store is not None
        return fleet.store

    async def definition(project: str) -> ProjectDefinition:
        stored = await store().get_project(project)
        if stored is None:
            raise HTTPException(404, f"no project {project!r}")
        return ProjectDefinition.model_validate_json(stored.definition)

    async def scores(project: str) -> ScoreChanged:
        await definition(project)
        snap = await store().get_snapshot("scores", project)
        if snap is None:
            raise HTTPException(404, f"project {project!r} has no score yet")
        return ScoreChanged.model_validate_json(snap.body)

    async def findings(project: str) -> FindingsChanged:
        await definition(project)
        snap = await store().get_snapshot("findings", project)
        if snap is None:
            raise HTTPException(404, f"project {project!r} has no findings yet")
        return FindingsChanged.model_validate_json(snap.body)

    async def events(project: str, ids: list[str]) -> list[Any]:
        rows = await store().get_events(project, ids)
        return [orjson.loads(r.body) for r in rows]

    @app.get("/v1/projects")
    async def list_projects() -> Response:
        """Every registered project, with its current total and grade when scored."""
        out = []
        for stored in await store().list_projects():
            d = ProjectDefinition.model_validate_json(stored.definition)
            snap = await store().get_snapshot("scores", stored.id)
            score = ScoreChanged.model_validate_json(snap.body) if snap else None
            out.append(
                {
                    "id": stored.id,
                    "name": d.project.name,
                    "revision": stored.revision,
                    "evidence": await store().count_events(stored.id),
                    "total": float(score.total) if score else None,
                    "grade": score.grade if score else None,
                    "as_of": score.as_of.isoformat() if score else None,
                }
            )
        return _json(out)

    @app.get("/v1/projects/{project}/scores")
    async def get_scores(project: str) -> Response:
        """Today's score tree: total, grade, and every leaf with its explanation and evidence ids."""
        return _json((await scores(project)).model_dump(mode="json", exclude_none=True))

    @app.get("/v1/projects/{project}/findings")
    async def get_findings(
        project: str,
        indicator: str | None = None,
        rule: str | None = None,
        severity: Literal["high", "medium", "low"] | None = None,
        contract: str | None = None,
    ) -> Response:
        """The findings so far, filtered by indicator, rule (prefix with a trailing *), severity, contract."""
        current = await findings(project)
        selected = [
            f
            for f in current.findings
            if (indicator is None or f.indicator == indicator)
            and (rule is None or (f.rule.startswith(rule[:-1]) if rule.endswith("*") else f.rule == rule))
            and (severity is None or f.severity == severity)
            and (contract is None or f.contract == contract)
        ]
        return _json(
            {
                "project": project,
                "revision": current.revision,
                "as_of": current.as_of.isoformat(),
                "findings": [f.model_dump(mode="json") for f in selected],
            }
        )

    @app.get("/v1/projects/{project}/findings/{finding_id}/evidence")
    async def finding_evidence(project: str, finding_id: str) -> Response:
        """The evidence events behind one finding."""
        current = await findings(project)
        finding = next((f for f in current.findings if f.id == finding_id), None)
        if finding is None:
            raise HTTPException(404, f"no finding {finding_id!r} in project {project!r}")
        evidence = await events(project, list(finding.evidence))
        return _json({"finding": finding.model_dump(mode="json"), "evidence": evidence})

    @app.get("/v1/projects/{project}/indicators/{indicator}/evidence")
    async def indicator_evidence(
        project: str,
        indicator: str,
        offset: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=PAGE)] = 100,
    ) -> Response:
        """The evidence events behind one leaf's score, a page at a time."""
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

    @app.get("/v1/projects/{project}/evidence/{event_id}")
    async def one_event(project: str, event_id: str) -> Response:
        """One evidence event as accepted."""
        found = await events(project, [event_id])
        if not found:
            raise HTTPException(404, f"no event {event_id!r} in project {project!r}")
        return _json(found[0])

    @app.get("/v1/projects/{project}/report")
    async def report(
        project: str,
        as_of: date | None = None,
        format: Literal[
            "html", "md", "scores", "findings", "docx", "xlsx", "pdf", "selfeval.xlsx", "selfeval.docx"
        ] = "html",
    ) -> Response:
        """The evaluation documents as of a date (default: today, or the end of the period):
        html, md, scores and findings (JSON), docx (the report), xlsx (the score table), pdf, and for
        a self-evaluation the 自评表 as selfeval.xlsx / selfeval.docx."""
        d = await definition(project)
        rows = []
        seq = 0
        while batch := await store().events_after(project, seq):
            rows.extend(batch)
            seq = batch[-1].seq

        def compute() -> dict[str, list[bytes]]:
            ledger = Ledger(d, as_of or min(today_in_china(), d.project.evaluation.default_as_of))
            for row in rows:
                ledger.add(parse_evidence_json(row.body))
            result = evaluate_ledger(ledger)
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

    @app.get("/", include_in_schema=False)
    async def root() -> Response:
        return Response(status_code=307, headers={"location": "/dashboard"})

    @app.get("/dashboard", include_in_schema=False)
    async def dashboard() -> Response:
        """The evaluators' dashboard (Chinese UI) over this API."""
        return Response(DASHBOARD.read_bytes(), media_type="text/html; charset=utf-8")

    @app.get("/v1/dead-letters")
    async def dead_letters(service: str | None = None, limit: Annotated[int, Query(ge=1, le=PAGE)] = 100) -> Response:
        """Messages no consumer could handle, with the error."""
        letters = await store().list_dead_letters(service, limit)
        return _json([orjson.loads(letter.body) for letter in letters])

    return app
