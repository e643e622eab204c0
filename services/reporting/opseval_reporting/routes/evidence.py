"""The evidence behind a finding, behind a leaf's score, and one event with its corrections."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Response
from opseval_infra.http import ERROR_RESPONSES
from opseval_infra.keys import Principal
from opseval_shared.labels import KIND_LABEL
from opseval_shared.results import ScoredIndicator

from ..context import Limit, Offset, ReportingContext, json_response


def _leaf(nodes: tuple[ScoredIndicator, ...], leaf_id: str) -> ScoredIndicator | None:
    for node in nodes:
        if node.id == leaf_id:
            return node
        found = _leaf(node.children, leaf_id)
        if found:
            return found
    return None


def router(ctx: ReportingContext) -> APIRouter:
    routes = APIRouter()
    access, reader = ctx.access, ctx.reader

    @routes.get(
        "/v1/projects/{project}/findings/{finding_id}/evidence", name="finding.evidence.read", responses=ERROR_RESPONSES
    )
    async def finding_evidence(
        project: str,
        finding_id: str,
        offset: Offset = 0,
        limit: Limit = 100,
        principal: Principal = reader,
    ) -> Response:
        """The evidence events behind one finding, a page at a time: `total` says how many it cites (a
        finding on a year's inspections cites hundreds of thousands), and `finding` is the finding
        without their ids."""
        access.project(principal, project)
        current, kept = await ctx.findings_apart(project)
        finding = next((f for f in current.findings if f.id == finding_id), None)
        if finding is None:
            raise HTTPException(404, f"no finding {finding_id!r} in project {project!r}")
        ids = kept.resolved(finding.evidence)  # this finding's ids alone
        evidence = [
            {**event, "kind_label": KIND_LABEL.get(event.get("kind"), event.get("kind"))}
            for event in await ctx.events(project, list(ids[offset : offset + limit]))
        ]
        return json_response(
            {
                "finding": finding.model_dump(mode="json", exclude={"evidence"}),
                "total": len(ids),
                "offset": offset,
                "evidence": evidence,
            }
        )

    @routes.get(
        "/v1/projects/{project}/indicators/{indicator}/evidence",
        name="indicator.evidence.read",
        responses=ERROR_RESPONSES,
    )
    async def indicator_evidence(
        project: str,
        indicator: str,
        offset: Offset = 0,
        limit: Limit = 100,
        principal: Principal = reader,
    ) -> Response:
        """The evidence events behind one leaf's score, a page at a time."""
        access.project(principal, project)
        scores, lists = await ctx.scores_apart(project)
        leaf = _leaf(scores.indicators, indicator)
        if leaf is None:
            raise HTTPException(404, f"no indicator {indicator!r} in project {project!r}")
        ids = lists.resolved(leaf.evidence or ())  # this leaf's ids alone
        return json_response(
            {
                "indicator": leaf.id,
                "name": leaf.name,
                "score": float(leaf.score),
                "explanation": leaf.explanation,
                "total": len(ids),
                "offset": offset,
                "evidence": await ctx.events(project, list(ids[offset : offset + limit])),
            }
        )

    @routes.get("/v1/projects/{project}/evidence/{event_id}", name="evidence.read", responses=ERROR_RESPONSES)
    async def one_event(project: str, event_id: str, principal: Principal = reader) -> Response:
        """One evidence event as accepted; `corrections` lists the corrections or retractions that
        name it or that it makes (the evidence trail keeps both events), `set_aside` why it is left
        out of the evaluation if it is."""
        access.project(principal, project)
        found = await ctx.events(project, [event_id])
        if not found:
            raise HTTPException(404, f"no event {event_id!r} in project {project!r}")
        evaluation, corrections = await ctx.status(project)
        trail = [c for c in corrections if event_id in (c["event"], c["corrected_by"])]
        aside = next((d for d in evaluation["set_aside"] if d["event"] == event_id), None)
        extra: dict[str, Any] = {"corrections": trail} if trail else {}
        if aside is not None:
            extra["set_aside"] = {"field": aside["field"], "reason": aside["reason"]}
        return json_response({**found[0], **extra})

    return routes
