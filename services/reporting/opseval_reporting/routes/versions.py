"""Finalised versions (定稿): an evaluation frozen at an as-of date under the next number of its
project, the documents rendered from it (never from later evidence), and comparisons of two
versions or of a version and the evaluation as it stands now."""

from __future__ import annotations

import asyncio
from datetime import date, datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, HTTPException, Path, Query, Request, Response
from opseval_infra.http import ERROR_RESPONSES
from opseval_infra.keys import Principal, now_utc
from opseval_infra.projects import today_in_china
from opseval_infra.store.base import StoredEvent, StoredVersion, VersionRecord
from opseval_shared.base import CHINA_TZ
from opseval_shared.calendar import WorkCalendar
from opseval_shared.comparison import Comparison, compare
from opseval_shared.evidence import parse_evidence_json
from opseval_shared.ledger import fold_all
from opseval_shared.project import ProjectDefinition
from opseval_shared.results import EvaluationResult
from pydantic import BaseModel, Field

from ..content import Edition
from ..context import ReportingContext, answers, json_response
from ..output import DOCUMENT_FILES, render_document
from ..pipeline import evaluate_ledger
from .documents import MEDIA_TYPES

VersionNumber = Annotated[int, Path(ge=1, le=2**62, description="the version's number: 1, 2, 3 … per project")]


class Finalise(BaseModel):
    as_of: date = Field(description="the date the evaluation is frozen at (not after today)")
    note: str = Field(default="", max_length=2000, description="why it is finalised: 初稿定稿, 补充佐证后定稿 …")


class VersionView(BaseModel):
    project: str
    number: int
    as_of: date
    total: float
    grade: str
    finalised_at: str = Field(description="ISO 8601, UTC")
    finalised_on: date = Field(description="定稿日期: the day it was finalised, in China")
    finalised_by: str = Field(description="the name of the key that finalised it")
    finalised_role: str
    note: str
    definition_revision: str = Field(description="the project definition's revision the evaluation ran under")
    form: str = Field(description="the evaluation's form: a self_evaluation also has the 自评表 (selfeval.xlsx/docx)")

    @classmethod
    def of(cls, record: VersionRecord, form: str) -> VersionView:
        return cls(
            project=record.project,
            number=record.number,
            as_of=date.fromisoformat(record.as_of),
            total=float(record.total),
            grade=record.grade,
            finalised_at=record.finalised_at,
            finalised_on=finalised_on(record),
            finalised_by=record.finalised_by,
            finalised_role=record.finalised_role,
            note=record.note,
            definition_revision=record.definition_revision,
            form=form,
        )


class VersionDetail(VersionView):
    result: dict[str, Any] = Field(description="the frozen evaluation: the score tree and the findings as they were")


class VersionComparison(Comparison):
    before_version: int | None = Field(description="the first evaluation's version number; null: the current one")
    after_version: int | None = Field(description="the second evaluation's version number; null: the current one")


def finalised_on(record: VersionRecord) -> date:
    return datetime.fromisoformat(record.finalised_at).astimezone(CHINA_TZ).date()


def evaluate(
    ctx: ReportingContext, definition: ProjectDefinition, rows: list[StoredEvent], day: date
) -> EvaluationResult:
    """The evaluation as of `day` over the stored events, as the documents route computes it."""
    # Events whose references no longer resolve are left out, as the consumers leave them out.
    ledger, _ = fold_all(definition, day, lambda: (parse_evidence_json(row.body) for row in rows))
    return evaluate_ledger(ledger, work=WorkCalendar(ctx.fleet.calendar))


def router(ctx: ReportingContext) -> APIRouter:
    routes = APIRouter()
    access, reader, store = ctx.access, ctx.reader, ctx.store

    async def stored_version(project: str, number: int) -> StoredVersion:
        await ctx.definition(project)  # 404 for an unknown project first
        version = await store().get_version(project, number)
        if version is None:
            raise HTTPException(404, f"project {project!r} has no version {number}")
        return version

    @routes.post(
        "/v1/projects/{project}/versions",
        name="version.finalise",
        status_code=201,
        responses=answers(VersionView, 201),
    )
    async def finalise(project: str, body: Finalise, request: Request, principal: Principal = reader) -> Response:
        """Freeze the evaluation as of a date into the project's next numbered version (administrators,
        or evaluators on their own projects). Evidence arriving later changes the current evaluation,
        never a version or its documents."""
        access.project(principal, project)
        stored = await store().get_project(project)
        if stored is None:
            raise HTTPException(404, f"no project {project!r}")
        today = today_in_china()
        if body.as_of > today:
            raise HTTPException(
                422, f"as_of: {body.as_of} is after today ({today}); a version is frozen as of a day that has come"
            )
        definition = ProjectDefinition.model_validate_json(stored.definition)
        period = definition.project.evaluation.period
        if body.as_of < period.start:
            raise HTTPException(422, f"as_of: {body.as_of} is before the evaluation period starts ({period.start})")
        rows = await ctx.stored_events(project)
        result = await asyncio.to_thread(evaluate, ctx, definition, rows, body.as_of)
        number = await store().add_version(
            StoredVersion(
                project=project,
                number=0,
                as_of=body.as_of.isoformat(),
                total=str(result.total),
                grade=result.grade,
                finalised_at=now_utc(),
                finalised_by=principal.key.name,
                finalised_role=principal.key.role,
                finalised_key=principal.key.id,
                note=body.note,
                definition_revision=stored.revision,
                definition=stored.definition,
                result=result.model_dump_json(),
            )
        )
        request.state.audit.update(version=number, as_of=body.as_of.isoformat(), total=str(result.total))
        version = await store().get_version(project, number)
        assert version is not None  # just stored, and never removed
        return Response(
            orjson.dumps(VersionView.of(version, definition.indicators.form).model_dump(mode="json")),
            status_code=201,
            media_type="application/json",
        )

    @routes.get("/v1/projects/{project}/versions", name="versions.list", responses=answers(list[VersionView]))
    async def list_versions(project: str, principal: Principal = reader) -> Response:
        """The project's finalised versions, oldest first."""
        access.project(principal, project)
        form = (await ctx.definition(project)).indicators.form  # the current one: a listing reads no bodies
        records = await store().list_versions(project)
        return json_response([VersionView.of(r, form).model_dump(mode="json") for r in records])

    @routes.get(
        "/v1/projects/{project}/versions/compare", name="versions.compare", responses=answers(VersionComparison)
    )
    async def compare_versions(
        project: str,
        before: Annotated[str, Query(pattern=r"^([1-9][0-9]{0,17}|current)$", description="a number, or current")],
        after: Annotated[str, Query(pattern=r"^([1-9][0-9]{0,17}|current)$", description="a number, or current")],
        as_of: date | None = None,
        principal: Principal = reader,
    ) -> Response:
        """How the evaluation changed from one version to another, or between a version and the
        evaluation as it stands now (`current`, as of `as_of`: default today, or the period's end):
        total and grade, each leaf's score, findings added and removed."""
        access.project(principal, project)
        definition = await ctx.definition(project)
        rows: list[StoredEvent] | None = None

        async def side(which: str) -> EvaluationResult:
            nonlocal rows
            if which != "current":
                version = await stored_version(project, int(which))
                return EvaluationResult.model_validate_json(version.result)
            if rows is None:
                rows = await ctx.stored_events(project)
            day = as_of or min(today_in_china(), definition.project.evaluation.default_as_of)
            return await asyncio.to_thread(evaluate, ctx, definition, rows, day)

        first, second = await side(before), await side(after)
        comparison = compare(first, second)
        answer = VersionComparison(
            **dict(comparison),
            before_version=None if before == "current" else int(before),
            after_version=None if after == "current" else int(after),
        )
        return json_response(answer.model_dump(mode="json"))

    @routes.get("/v1/projects/{project}/versions/{number}", name="version.read", responses=answers(VersionDetail))
    async def read_version(project: str, number: VersionNumber, principal: Principal = reader) -> Response:
        """One version: what it says of itself, and its frozen evaluation (`result`: the score tree
        and the findings as they were)."""
        access.project(principal, project)
        version = await stored_version(project, number)
        form = ProjectDefinition.model_validate_json(version.definition).indicators.form
        view: dict[str, Any] = VersionView.of(version, form).model_dump(mode="json")
        view["result"] = orjson.Fragment(version.result)
        return json_response(view)

    @routes.get("/v1/projects/{project}/versions/{number}/report", name="version.report", responses=ERROR_RESPONSES)
    async def version_report(
        project: str,
        number: VersionNumber,
        format: Literal[
            "html", "md", "scores", "findings", "docx", "xlsx", "pdf", "selfeval.xlsx", "selfeval.docx"
        ] = "docx",
        principal: Principal = reader,
    ) -> Response:
        """A version's documents, rendered from its frozen evaluation and the definition it ran under;
        the cover states 第N版（定稿） and the 定稿日期: docx (the report), pdf, xlsx (the score table),
        html, md, scores and findings (JSON), and for a self-evaluation the 自评表 (selfeval.xlsx,
        selfeval.docx)."""
        access.project(principal, project)
        version = await stored_version(project, number)
        edition = Edition(number=version.number, finalised_on=finalised_on(version))

        def render() -> bytes | None:
            result = EvaluationResult.model_validate_json(version.result)
            definition = ProjectDefinition.model_validate_json(version.definition)
            return render_document(result, definition, format, edition)

        data = await asyncio.to_thread(render)
        name = DOCUMENT_FILES[format]
        if data is None:
            raise HTTPException(
                404,
                f"no {format} document for version {number} of project {project!r} "
                "(not a self-evaluation, or PDF unavailable)",
            )
        headers = (
            {}
            if name.endswith((".html", ".json"))
            else {"content-disposition": f'attachment; filename="{project}-v{number}-{name}"'}
        )
        return Response(data, media_type=MEDIA_TYPES[name.rsplit(".", 1)[1]], headers=headers)

    return routes
