"""The evaluation documents and the monthly score series as of a date."""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Response
from opseval_infra.http import ERROR_RESPONSES
from opseval_infra.keys import Principal
from opseval_infra.projects import today_in_china
from opseval_infra.store.base import StoredEvent
from opseval_shared.calendar import WorkCalendar
from opseval_shared.evidence import parse_evidence_json
from opseval_shared.ledger import fold_all
from opseval_shared.project import ProjectDefinition
from opseval_shared.results import EvaluationResult, TimelinePoint

from ..context import EvidenceForm, ReportingContext, answers, json_response
from ..output import DOCUMENT_FILES, render_document, scores_document
from ..pipeline import evaluate_ledger, evaluate_series

DocumentFormat = Literal["html", "md", "scores", "findings", "docx", "xlsx", "pdf", "selfeval.xlsx", "selfeval.docx"]
MEDIA_TYPES = {
    "html": "text/html; charset=utf-8",
    "md": "text/markdown; charset=utf-8",
    "json": "application/json",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
}


def router(ctx: ReportingContext) -> APIRouter:
    routes = APIRouter()
    access, reader = ctx.access, ctx.reader

    async def evaluated(d: ProjectDefinition, day: date, rows: list[StoredEvent]) -> EvaluationResult:
        def compute() -> EvaluationResult:
            # Events whose references no longer resolve are left out, as the consumers leave them out.
            ledger, _ = fold_all(d, day, lambda: (parse_evidence_json(row.body) for row in rows))
            return evaluate_ledger(ledger, work=WorkCalendar(ctx.fleet.calendar))

        return await asyncio.to_thread(compute)

    @routes.get("/v1/projects/{project}/report", name="report.read", responses=ERROR_RESPONSES)
    async def report(
        project: str,
        as_of: date | None = None,
        format: Literal[
            "html", "md", "scores", "findings", "docx", "xlsx", "pdf", "selfeval.xlsx", "selfeval.docx"
        ] = "html",
        evidence: EvidenceForm = "ids",
        principal: Principal = reader,
    ) -> Response:
        """The evaluation documents as of a date (default: today, or the end of the period; at the
        default date served from the result the fleet stored, not evaluated again):
        html, md, scores and findings (JSON), docx (the report), xlsx (the score table), pdf, and for
        a self-evaluation the 自评表 as selfeval.xlsx / selfeval.docx. `evidence=count` gives the
        scores without the leaves' evidence ids, with how many each cites in `evidence_counts`."""
        access.project(principal, project)
        if evidence == "count" and format != "scores":
            raise HTTPException(422, f"evidence=count is for format=scores, not {format}")
        d = await ctx.definition(project)
        day = min(today_in_china(), d.project.evaluation.default_as_of)
        name = DOCUMENT_FILES[format]
        stored = await ctx.result(project) if as_of in (None, day) else None
        # Another date than the default, or a stored result of a day gone by (the date moved and the
        # fleet has not evaluated the project again yet): evaluated here, from its stored events.
        result = (
            stored
            if stored is not None and stored.as_of == day
            else await evaluated(d, as_of or day, await ctx.stored_events(project))
        )
        if evidence == "count":
            return json_response(scores_document(result, counts_only=True))
        data = await asyncio.to_thread(render_document, result, d, format)
        if data is None:
            raise HTTPException(
                404, f"no {format} document for project {project!r} (not a self-evaluation, or PDF unavailable)"
            )
        headers = (
            {}
            if name.endswith((".html", ".json"))
            else {"content-disposition": f'attachment; filename="{project}-{name}"'}
        )
        return Response(data, media_type=MEDIA_TYPES[name.rsplit(".", 1)[1]], headers=headers)

    @routes.get("/v1/projects/{project}/series", name="series.read", responses=answers(list[TimelinePoint]))
    async def series(
        project: str, as_of: date | None = None, every: Literal["month"] = "month", principal: Principal = reader
    ) -> Response:
        """The score at each month's end over the evaluation period up to the as-of date (default:
        today, or the end of the period), the as-of date itself last: for trend charts."""
        access.project(principal, project)
        d = await ctx.definition(project)
        rows = await ctx.stored_events(project)

        def compute() -> list[dict[str, Any]]:
            day = as_of or min(today_in_china(), d.project.evaluation.default_as_of)
            events = [parse_evidence_json(row.body) for row in rows]
            points = evaluate_series(d, events, day, work=WorkCalendar(ctx.fleet.calendar))
            return [p.model_dump(mode="json") for p in points]

        return json_response(await asyncio.to_thread(compute))

    return routes
