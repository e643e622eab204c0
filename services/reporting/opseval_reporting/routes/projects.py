"""Projects, their current score tree and findings, as the evaluating services stored them."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Response
from opseval_infra.keys import Principal
from opseval_shared.messaging import ScoreChanged
from opseval_shared.results import Finding
from pydantic import BaseModel, Field

from ..context import EvidenceForm, ReportingContext, answers, json_response


class ProjectSummary(BaseModel):
    id: str
    name: str
    form: Literal["third_party", "department", "self_evaluation", "key_project"] = Field(
        description="the evaluation's form; a self_evaluation also has its 自评表 (selfeval.xlsx, selfeval.docx)"
    )
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
    events_folded: int = Field(ge=0, description="number of evidence events the findings were computed from")
    as_of: date
    findings: list[Finding]
    evidence_counts: dict[str, int] | None = Field(
        None, description="with evidence=count: how many evidence events each finding cites, by its id"
    )
    evaluation: EvaluationStatus


class ScoresAnswer(ScoreChanged):
    evaluation: EvaluationStatus = Field(
        description="whether the evaluation currently fails (these scores are the last computed)"
    )


def router(ctx: ReportingContext) -> APIRouter:
    routes = APIRouter()
    access, reader = ctx.access, ctx.reader

    @routes.get("/v1/projects", name="projects.list", responses=answers(list[ProjectSummary]))
    async def list_projects(principal: Principal = reader) -> Response:
        """The registered projects this key may read, with their current total and grade when scored."""
        out = []
        for stored in await ctx.store().list_projects():
            if principal.covers(stored.id):
                out.append(await ctx.summary(stored, (await ctx.status(stored.id))[0]))
        return json_response(out)

    @routes.get("/v1/projects/{project}", name="project.read", responses=answers(ProjectDetail))
    async def get_project(project: str, principal: Principal = reader) -> Response:
        """One project: its definition's revision, evidence count, total and grade, how its
        evaluation fares (a failure with its error, the events set aside and why) and the
        corrections of its evidence."""
        access.project(principal, project)
        stored = await ctx.store().get_project(project)
        if stored is None:
            raise HTTPException(404, f"no project {project!r}")
        evaluation, corrections = await ctx.status(project)
        return json_response(
            {**await ctx.summary(stored, evaluation), "status": evaluation, "corrections": corrections}
        )

    @routes.get("/v1/projects/{project}/scores", name="scores.read", responses=answers(ScoresAnswer))
    async def get_scores(project: str, evidence: EvidenceForm = "ids", principal: Principal = reader) -> Response:
        """Today's score tree: total, grade, and every leaf with its explanation and evidence ids (or
        their counts); `evaluation` says whether the project's evaluation currently fails (these
        scores are then the last ones computed) and which events were set aside."""
        access.project(principal, project)
        evaluation, _ = await ctx.status(project)
        if evidence == "count":
            answer = (await ctx.scores_with_counts(project)).model_dump(mode="json", exclude_none=True)
        else:
            answer = (await ctx.scores_with_evidence(project)).model_dump(mode="json", exclude_none=True)
        return json_response({**answer, "evaluation": evaluation})

    @routes.get("/v1/projects/{project}/findings", name="findings.read", responses=answers(FindingsPage))
    async def get_findings(
        project: str,
        indicator: str | None = None,
        rule: str | None = None,
        severity: Literal["high", "medium", "low"] | None = None,
        contract: str | None = None,
        evidence: EvidenceForm = "ids",
        principal: Principal = reader,
    ) -> Response:
        """The findings so far, filtered by indicator, rule (prefix with a trailing *), severity,
        contract; each with the evidence ids it cites, or their counts."""
        access.project(principal, project)
        current, kept = await ctx.findings_apart(project)
        selected = [
            f
            for f in current.findings
            if (indicator is None or f.indicator == indicator)
            and (rule is None or (f.rule.startswith(rule[:-1]) if rule.endswith("*") else f.rule == rule))
            and (severity is None or f.severity == severity)
            and (contract is None or f.contract == contract)
        ]
        evaluation, _ = await ctx.status(project)
        page: dict[str, Any] = {
            "project": project,
            "events_folded": current.events_folded,
            "as_of": current.as_of.isoformat(),
        }
        if evidence == "ids":
            page["findings"] = [
                f.model_dump(mode="json") | {"evidence": list(kept.resolved(f.evidence))} for f in selected
            ]
        else:
            page["findings"] = [f.model_dump(mode="json", exclude={"evidence"}) | {"evidence": []} for f in selected]
            page["evidence_counts"] = {f.id: kept.count(f.evidence) for f in selected}
        return json_response({**page, "evaluation": evaluation})

    return routes
