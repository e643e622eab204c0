"""Score changes pushed to the workbench as they happen: the reporting service listens to the score
changes the scoring service publishes and streams them, as server-sent events, to the open
workbench tabs whose key may read the project. A tab reads the API again only when its project
changed — no polling, and so no audit entry every few seconds.

Every replica of the reporting service hears every change (a plain NATS subscription, not a
durable consumer): each serves its own connections, and none of them holds state another needs.
`/v1/me` tells the workbench who holds the key, so it can say what the key may do."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

import orjson
from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import StreamingResponse
from faststream.nats import NatsBroker
from opseval_infra.auth import Access
from opseval_infra.keys import KeyView, Principal, Role
from opseval_shared.messaging import SCORES_SUBJECTS, ScoreChanged
from pydantic import Field

from .settings import ReportingSettings

log = logging.getLogger(__name__)
HEARTBEAT_S = 15.0  # a comment line now and then: proxies keep the stream open, the tab notices a dead one
QUEUE_LIMIT = 256  # a tab that stops reading loses its oldest changes, never the service's memory


class Me(KeyView):
    intake_url: str = Field(description="intake's address for writes from the browser; empty: this origin")


class LiveScores:
    """The score changes this replica heard, fanned out to its open streams."""

    def __init__(self) -> None:
        self._streams: set[asyncio.Queue[ScoreChanged]] = set()

    def open(self) -> asyncio.Queue[ScoreChanged]:
        queue: asyncio.Queue[ScoreChanged] = asyncio.Queue(QUEUE_LIMIT)
        self._streams.add(queue)
        return queue

    def close(self, queue: asyncio.Queue[ScoreChanged]) -> None:
        self._streams.discard(queue)

    @property
    def listeners(self) -> int:
        return len(self._streams)

    def publish(self, change: ScoreChanged) -> None:
        for queue in self._streams:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(change)


def listen(broker: NatsBroker, hub: LiveScores) -> None:
    """Subscribe the broker to every project's score changes (core NATS: each replica hears all)."""

    @broker.subscriber(
        SCORES_SUBJECTS,
        no_reply=True,  # a score change is a broadcast; nothing waits for an answer
        title="score changes for the workbench",
        description="Streams each project's new total and grade to the open workbench tabs (server-sent events).",
    )
    async def score_changed(change: ScoreChanged) -> None:
        hub.publish(change)


def event_text(change: ScoreChanged) -> bytes:
    """One server-sent event: what a tab needs to know that its project moved (not the tree)."""
    data = {
        "project": change.project,
        "events_folded": change.events_folded,
        "findings_events_folded": change.findings_events_folded,
        "as_of": change.as_of.isoformat(),
        "total": float(change.total),
        "grade": change.grade,
        "assessable": None if change.assessable is None else float(change.assessable),
        "pending": None if change.pending is None else float(change.pending),
    }
    return b"event: scores\ndata: " + orjson.dumps(data) + b"\n\n"


def live_router(access: Access, hub: LiveScores, settings: ReportingSettings) -> APIRouter:
    router = APIRouter()
    reader = Depends(access.require(Role.EVALUATOR))
    anyone = Depends(access.require(Role.EVALUATOR, Role.UPSTREAM))  # the workbench tells an upstream key why not

    @router.get("/v1/me", name="me.read", response_model=Me)
    async def me(principal: Principal = anyone) -> Response:
        """The key in use: its holder's name, role and projects (never its secret), and where the
        workbench sends what it writes (judgments, corrections)."""
        answer = Me(**KeyView.of(principal.key).model_dump(), intake_url=settings.intake_public_url)
        return Response(orjson.dumps(answer.model_dump(mode="json")), media_type="application/json")

    @router.get(
        "/v1/live",
        name="live.read",
        response_class=StreamingResponse,
        responses={200: {"content": {"text/event-stream": {}}, "description": "server-sent events: `scores`"}},
    )
    async def live(request: Request, principal: Principal = reader) -> StreamingResponse:
        """Server-sent events, one `scores` event each time the score of a project this key may read
        changes (its new events_folded, total and grade). Audited once, when the stream opens."""
        queue = hub.open()

        async def stream() -> AsyncIterator[bytes]:
            try:
                yield b": opseval live scores\n\n"
                while not await request.is_disconnected():
                    try:
                        change = await asyncio.wait_for(queue.get(), HEARTBEAT_S)
                    except TimeoutError:
                        key = await access.store().get_key(principal.key.id)
                        if key is None or key.revoked_at is not None:
                            return  # a key revoked while its stream is open stops hearing at once
                        yield b": heartbeat\n\n"
                        continue
                    if principal.covers(change.project):
                        yield event_text(change)
            finally:
                hub.close(queue)

        return StreamingResponse(
            stream(),
            media_type="text/event-stream",
            headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
        )

    return router
