"""Judging (评审打分): each judged leaf and checklist point of a project with its criterion, maximum,
computed result and the judgment in force, the ones still to judge (待评) first. The workbench
records judgments at intake (`POST /v1/evidence`); this router only reads."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Response
from opseval_infra.keys import Principal
from opseval_infra.projects import today_in_china
from opseval_shared.evidence import EVIDENCE_ADAPTER, Evidence
from opseval_shared.judging import (
    JudgingList,
    competing_overrides,
    evaluator_source,
    judging_list,
    judgment_moment,
    judgments_in_force,
)
from pydantic import BaseModel, Field, ValidationError

from ..context import ReportingContext, answers, json_response


class JudgeAs(BaseModel):
    source: str = Field(description="the source intake wants on a judgment under this key")
    evaluator: str = Field(description="the key holder's name, for the judgment's payload.evaluator")


class JudgingAnswer(JudgingList):
    project: str
    total: float | None = Field(description="the current total, when the project is scored")
    grade: str | None
    pending: float | None = Field(default=None, description="weight not yet assessable in the current score")
    judge_at: datetime = Field(
        description="occurred_at and recorded_at of a judgment made now: the end of the as-of day, or now if earlier"
    )
    judge_as: JudgeAs


def router(ctx: ReportingContext) -> APIRouter:
    routes = APIRouter()
    access, reader = ctx.access, ctx.reader

    @routes.get("/v1/projects/{project}/judgments", name="judgments.read", responses=answers(JudgingAnswer))
    async def judgments(project: str, principal: Principal = reader) -> Response:
        """Every judged leaf (method `judgment`) and checklist point: its indicator path and name, the
        criterion (评分标准), the maximum, the result computed from the facts if any with its evidence
        ids, and the judgment in force (points, reason, by whom, when, its event id) or none (待评);
        `to_judge` counts those still to judge; `competing` lists the overrides made at the same time
        as the one in force (改判冲突, counted in `contested`), to be settled by a new override.
        `judge_at` and `judge_as` are what a judgment made now under this key carries (see intake's
        `POST /v1/evidence`)."""
        access.project(principal, project)
        definition = await ctx.definition(project)
        kept = await ctx.stored_scores_apart(project)
        score = None
        if kept is not None:  # a checklist's computed part cites its leaf's evidence: only those are read
            score, lists = kept
            score = score.model_copy(
                update={"indicators": lists.tree(score.indicators, lambda node: node.method == "checklist")}
            )
        as_of = score.as_of if score is not None else min(today_in_china(), definition.project.evaluation.default_as_of)
        events: list[Evidence] = []
        for row in await ctx.store().events_of_kinds(project, ["judgment", "retraction"]):
            try:
                events.append(EVIDENCE_ADAPTER.validate_json(row.body))
            except ValidationError:  # stored under an older schema: set aside by the evaluation too
                continue
        in_force = judgments_in_force(events)
        listed = judging_list(
            definition.indicators,
            score.indicators if score is not None else (),
            in_force,
            as_of=as_of,
            competing=competing_overrides(events, in_force),
        )
        answer = JudgingAnswer(
            **dict(listed),
            project=project,
            total=float(score.total) if score is not None else None,
            grade=score.grade if score is not None else None,
            pending=float(score.pending) if score is not None and score.pending is not None else None,
            judge_at=judgment_moment(as_of, datetime.now(UTC)),
            judge_as=JudgeAs(source=evaluator_source(principal.key.id), evaluator=principal.key.name),
        )
        return json_response(answer.model_dump(mode="json"))

    return routes
