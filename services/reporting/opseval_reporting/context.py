"""What the results API's routers share: the store, the project's definition, its stored snapshots
(scores, findings), its evaluation status and summary, its events, and who may read or manage.

A router is a function of this context returning an `APIRouter` (see `routes/`), so adding one is
one `app.include_router(...)` line in `app.create_app`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import orjson
from fastapi import Depends, HTTPException, Query, Response
from opseval_infra.auth import Access
from opseval_infra.fleet import Fleet
from opseval_infra.http import ERROR_RESPONSES
from opseval_infra.keys import Role
from opseval_infra.projects import RESULT_KIND, evaluation_kind
from opseval_infra.store.base import Store, StoredEvent, StoredProject
from opseval_shared.evidence_apart import Apart, joined
from opseval_shared.messaging import FindingsChanged, ScoreChanged, result_seq_parts, without_evidence
from opseval_shared.project import ProjectDefinition
from opseval_shared.results import EvaluationResult

PAGE = 1000
Offset = Annotated[int, Query(ge=0, description="how many to skip")]
Limit = Annotated[int, Query(ge=1, le=PAGE, description="how many at most")]
# What a client shows a tree or a list with needs the counts, not the ids: a million-event project's
# leaves cite 2 million ids (67 MB of JSON) and its findings 440,000 (15 MB).
EvidenceForm = Annotated[
    Literal["ids", "count"],
    Query(description="ids: every evidence id cited; count: only how many, in `evidence_counts`"),
]
EVALUATING_SERVICES = ("rules", "scoring")
MAX_SEQ = 2**63 - 1  # a store sequence number is a signed 64-bit integer


def json_response(data: Any) -> Response:
    return Response(orjson.dumps(data), media_type="application/json")


def answers(model: Any, status: int = 200) -> dict[int | str, dict[str, Any]]:
    """The documented answers of a route that returns its JSON itself: `model` and the errors."""
    return {status: {"model": model}, **ERROR_RESPONSES}


class ReportingContext:
    """The reporting service's shared reads, over the store its fleet opens in the lifespan."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet
        self.access = Access(lambda: fleet.store)
        # `principal: Principal = ctx.reader` in a route: an evaluator's (or administrator's) key
        self.reader: Any = Depends(self.access.require(Role.EVALUATOR))
        self.admin: Any = Depends(self.access.require(Role.ADMIN))

    def store(self) -> Store:
        """The open store (503 while the service is starting)."""
        return self.access.store()

    async def definition(self, project: str) -> ProjectDefinition:
        stored = await self.store().get_project(project)
        if stored is None:
            raise HTTPException(404, f"no project {project!r}")
        return ProjectDefinition.model_validate_json(stored.definition)

    async def snapshot(self, kind: str, project: str, missing: str) -> tuple[bytes, ...]:
        """A snapshot's body, as the parts it is read in (`Snapshot`)."""
        await self.definition(project)
        snap = await self.store().get_snapshot(kind, project)
        if snap is None:
            evaluation, _ = await self.status(project)
            failing = [f"{name}: {s['error']}" for name, s in evaluation["services"].items() if s["state"] == "failing"]
            if failing:  # not "not yet": it fails, and says why
                raise HTTPException(503, f"the evaluation of project {project!r} fails ({'; '.join(failing)})")
            raise HTTPException(404, f"project {project!r} has no {missing} yet")
        return snap.parts()

    async def scores_with_evidence(self, project: str) -> ScoreChanged:
        """The project's current scores with every leaf's evidence ids (404 or 503 while there are none)."""
        scores, lists = await self.scores_apart(project)
        return scores.model_copy(update={"indicators": lists.tree(scores.indicators)})

    async def scores_apart(self, project: str) -> tuple[ScoreChanged, Apart]:
        """`stored_scores_apart`, or 404 or 503 while there are none: for a reader of one leaf's ids."""
        kept = await self.stored_scores_apart(project)
        while kept is None:
            await self.snapshot("scores", project, "score")  # the answer when there are none
            kept = await self.stored_scores_apart(project)  # (stored meanwhile)
        return kept

    async def scores_with_counts(self, project: str) -> ScoreChanged:
        """The project's current scores without the leaves' evidence ids, with how many each cites:
        as scoring stores them beside the full result, read without it (82 MB at a million events)."""
        snap = await self.store().get_snapshot("scores", project)
        if snap is not None:
            scores = ScoreChanged.model_validate_json(snap.body)
            if scores.evidence_counts is not None:
                return scores
        counted = without_evidence(await self.scores_with_evidence(project))
        assert isinstance(counted, ScoreChanged)
        return counted

    async def stored_scores_with_evidence(self, project: str) -> ScoreChanged | None:
        """The project's current scores with every leaf's evidence ids, or None before the first."""
        kept = await self.stored_scores_apart(project)
        if kept is None:
            return None
        scores, lists = kept
        return scores.model_copy(update={"indicators": lists.tree(scores.indicators)})

    async def stored_scores_apart(self, project: str) -> tuple[ScoreChanged, Apart] | None:
        """The project's current scores with the leaves' long evidence lists as references, and the
        body to resolve them from (see `evidence_apart`), or None before the first.

        Scoring stores the scores without the leaves' evidence ids when it stores the full result of
        the same evaluation beside them (the result holds them), and with them otherwise. So: a result of
        the same seq gives the ids; a result newer than the scores read (stored in between: scoring
        stores the result first) is answered itself; an older one means these scores were stored
        without a result and hold their own ids."""
        snap = await self.store().get_snapshot("scores", project)
        if snap is None:
            return None
        scores = ScoreChanged.model_validate_json(snap.body)
        stored = await self.store().get_snapshot(RESULT_KIND, project)
        if stored is None or stored.seq < snap.seq:
            return scores, Apart(snap.parts())
        lists = Apart(stored.parts())
        result = lists.model(EvaluationResult)
        if stored.seq == snap.seq:
            return scores.model_copy(update={"indicators": result.indicators}), lists
        return ScoreChanged.of_result(result, *result_seq_parts(stored.seq)), lists

    async def findings_apart(self, project: str) -> tuple[FindingsChanged, Apart]:
        """The findings with their long evidence lists as references, and the body to resolve them
        from: what a reader that wants one finding's ids, or only counts, reads (see `evidence_apart`)."""
        kept = Apart(await self.snapshot("findings", project, "findings"))
        return kept.model(FindingsChanged), kept

    async def stored_events(self, project: str) -> list[StoredEvent]:
        """All the project's stored events, in store sequence order (read in pages)."""
        rows: list[StoredEvent] = []
        while batch := await self.store().events_after(project, rows[-1].seq if rows else 0):
            rows.extend(batch)
        return rows

    async def events(self, project: str, ids: list[str]) -> list[Any]:
        rows = await self.store().get_events(project, ids)
        return [orjson.loads(r.body) for r in rows]

    async def status(self, project: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """The project's evaluation status as the evaluating services recorded it, and its corrections."""
        services: dict[str, Any] = {}
        for service in EVALUATING_SERVICES:
            snap = await self.store().get_snapshot(evaluation_kind(service), project)
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

    async def summary(self, stored: StoredProject, evaluation: dict[str, Any]) -> dict[str, Any]:
        """The project's summary (`evaluation`: its status, as `status` reads it)."""
        d = ProjectDefinition.model_validate_json(stored.definition)
        snap = await self.store().get_snapshot("scores", stored.id)
        score = ScoreChanged.model_validate_json(snap.body) if snap else None
        return {
            "id": stored.id,
            "name": d.project.name,
            "form": d.indicators.form,
            "revision": stored.revision,
            "evidence": await self.store().count_events(stored.id),
            "total": float(score.total) if score else None,
            "grade": score.grade if score else None,
            "as_of": score.as_of.isoformat() if score else None,
            "evaluation": evaluation["state"],
            "set_aside": len(evaluation["set_aside"]),
        }

    async def result(self, project: str) -> EvaluationResult:
        """The project's full evaluation result as the scoring service stored it (the same result
        `opseval evaluate` computes), as of the date it was evaluated at."""
        return joined(await self.snapshot(RESULT_KIND, project, "evaluation result"), EvaluationResult)
