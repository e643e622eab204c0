"""The portfolio: every project the key may read side by side, ranked, and benchmarked by indicator
(标杆管理法), as JSON and as a workbook. Reads the stored current results; an evaluator's key sees
only the projects it is scoped to. Also each project's grade bands, by which totals are compared
and charts shaded (indicator systems may grade differently)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Query, Response
from opseval_infra.http import ERROR_RESPONSES
from opseval_infra.keys import Principal
from opseval_shared.base import Frozen
from opseval_shared.evidence_apart import Apart
from opseval_shared.messaging import ScoreChanged
from opseval_shared.portfolio import (
    Benchmark,
    BenchmarkError,
    GradeRange,
    IndicatorChoice,
    Portfolio,
    ProjectOutcome,
    benchmark,
    grade_ranges,
    indicator_choices,
    portfolio,
)
from opseval_shared.project import ProjectDefinition
from opseval_shared.results import Severity

from ..context import ReportingContext, answers, json_response
from ..portfolio_xlsx import benchmark_xlsx, portfolio_xlsx

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
INDICATOR_HELP = "level1:<一级指标名称>, id:<末级指标编号> or name:<末级指标名称> (see `indicators` of /v1/portfolio)"
INDICATOR = Query(description=INDICATOR_HELP)
WORKBOOK_ANSWERS: dict[int | str, dict[str, Any]] = {
    200: {"description": "the workbook", "content": {XLSX: {"schema": {"type": "string", "format": "binary"}}}},
    **ERROR_RESPONSES,
}


class _FindingSeverity(Frozen, extra="ignore"):
    severity: Severity


class _FindingSeverities(Frozen, extra="ignore"):
    """Of a stored FindingsChanged, only what the portfolio counts."""

    findings: tuple[_FindingSeverity, ...]


OPTIONAL_INDICATOR = Query(default=None, description=INDICATOR_HELP)
PROJECTS = Query(default=None, description="project ids to compare, comma-separated (default: all the key may read)")


class PortfolioAnswer(Portfolio):
    indicators: tuple[IndicatorChoice, ...]


def router(ctx: ReportingContext) -> APIRouter:
    routes = APIRouter()
    reader = ctx.reader

    async def outcomes(principal: Principal, projects: str | None) -> list[ProjectOutcome]:
        """The current result of every project the key covers, or of those named (unscored ones
        without scores). Naming a project the key does not cover is a 403, an unknown one a 404."""
        store = ctx.store()
        chosen = [p.strip() for p in projects.split(",") if p.strip()] if projects is not None else None
        known = {stored.id: stored for stored in await store.list_projects()}
        if chosen is not None:
            if not chosen:
                raise HTTPException(422, "projects: name at least one project, or leave it out for all")
            for project in chosen:
                ctx.access.project(principal, project)
                if project not in known:
                    raise HTTPException(404, f"projects: no project {project!r}")
        out = []
        for stored in known.values():
            if not principal.covers(stored.id) or (chosen is not None and stored.id not in chosen):
                continue
            name = ProjectDefinition.model_validate_json(stored.definition).project.name
            scores_snap = await store.get_snapshot("scores", stored.id)
            findings_snap = await store.get_snapshot("findings", stored.id)
            if scores_snap is None:
                out.append(ProjectOutcome(project=stored.id, name=name))
                continue
            scores = ScoreChanged.model_validate_json(scores_snap.body)
            # Only each finding's severity: a large project's findings cite a million evidence ids.
            severities = (
                _FindingSeverities.model_validate_json(Apart(findings_snap.parts()).skeleton).findings
                if findings_snap
                else ()
            )
            out.append(
                ProjectOutcome(
                    project=stored.id,
                    name=name,
                    as_of=scores.as_of,
                    total=scores.total,
                    grade=scores.grade,
                    assessable=scores.assessable,
                    pending=scores.pending,
                    indicators=scores.indicators,
                    finding_severities=tuple(f.severity for f in severities),
                )
            )
        return out

    def benchmarked(projects: list[ProjectOutcome], indicator: str) -> Benchmark:
        try:
            return benchmark(projects, indicator)
        except BenchmarkError as error:
            raise HTTPException(422, f"indicator: {error}") from None

    def workbook(body: bytes, name: str) -> Response:
        return Response(body, media_type=XLSX, headers={"content-disposition": f'attachment; filename="{name}"'})

    @routes.get("/v1/portfolio", name="portfolio.read", responses=answers(PortfolioAnswer))
    async def read_portfolio(projects: str | None = PROJECTS, principal: Principal = reader) -> Response:
        """The projects this key may read, ranked by total: grade (interim while weight is pending),
        each level-1 indicator's rate (score ÷ weight), findings by severity; and the indicators
        that can be benchmarked across them."""
        chosen = await outcomes(principal, projects)
        answer: dict[str, Any] = portfolio(chosen).model_dump(mode="json")
        answer["indicators"] = [c.model_dump(mode="json") for c in indicator_choices(chosen)]
        return json_response(answer)

    @routes.get("/v1/portfolio/benchmark", name="portfolio.benchmark", responses=answers(Benchmark))
    async def read_benchmark(
        indicator: str = INDICATOR, projects: str | None = PROJECTS, principal: Principal = reader
    ) -> Response:
        """One indicator across the projects (标杆管理法): each project's rate, the best as the 标杆
        and every other's gap to it; a project without the indicator, or still pending on it, says so."""
        return json_response(benchmarked(await outcomes(principal, projects), indicator).model_dump(mode="json"))

    @routes.get("/v1/portfolio.xlsx", name="portfolio.xlsx", response_class=Response, responses=WORKBOOK_ANSWERS)
    async def portfolio_workbook(
        indicator: str | None = OPTIONAL_INDICATOR, projects: str | None = PROJECTS, principal: Principal = reader
    ) -> Response:
        """The portfolio as a workbook (sheet 项目对比), with the 标杆对比 sheet when an indicator is given."""
        chosen = await outcomes(principal, projects)
        compared = benchmarked(chosen, indicator) if indicator else None
        return workbook(portfolio_xlsx(portfolio(chosen), compared), "portfolio.xlsx")

    @routes.get(
        "/v1/portfolio/benchmark.xlsx",
        name="portfolio.benchmark.xlsx",
        response_class=Response,
        responses=WORKBOOK_ANSWERS,
    )
    async def benchmark_workbook(
        indicator: str = INDICATOR, projects: str | None = PROJECTS, principal: Principal = reader
    ) -> Response:
        """One indicator's benchmark as a workbook (sheet 标杆对比)."""
        chosen = await outcomes(principal, projects)
        newest = max((p.as_of for p in chosen if p.as_of), default=None)
        return workbook(benchmark_xlsx(benchmarked(chosen, indicator), newest), "benchmark.xlsx")

    @routes.get("/v1/projects/{project}/grades", name="grades.read", responses=answers(list[GradeRange]))
    async def read_grades(project: str, principal: Principal = reader) -> Response:
        """The project's grade bands as ranges of its total, best first (优 from 90 … 差 below 60 by default)."""
        ctx.access.project(principal, project)
        system = (await ctx.definition(project)).indicators
        return json_response([r.model_dump(mode="json") for r in grade_ranges(system)])

    return routes
