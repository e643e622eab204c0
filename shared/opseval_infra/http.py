"""Health, readiness and metrics endpoints every service serves."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"
METRICS_PATH = "/metrics"

EVENTS_CONSUMED = Counter("opseval_events_consumed_total", "evidence events persisted by this consumer", ["service"])
EVENTS_REPLAYED = Counter("opseval_events_replayed_total", "evidence events seen again (already stored)", ["service"])
DEAD_LETTERS = Counter("opseval_dead_letters_total", "messages moved to the dead-letter subject", ["service"])
REDELIVERIES = Counter("opseval_redeliveries_total", "messages handed back for redelivery", ["service"])
EVALUATIONS = Histogram("opseval_evaluation_seconds", "time to re-evaluate one project", ["service"])
INTAKE_EVENTS = Counter("opseval_intake_events_total", "events answered by intake", ["status"])
DIRTY_PROJECTS = Gauge("opseval_dirty_projects", "projects waiting to be re-evaluated", ["service"])

Check = Callable[[], Awaitable[bool]]


def health_router(checks: dict[str, Check]) -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get(HEALTH_PATH)
    async def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @router.get(READY_PATH)
    async def readyz(response: Response) -> dict[str, object]:
        """Ready only when every dependency (NATS, the store) answers."""
        results: dict[str, bool] = {}
        for name, check in checks.items():
            try:
                results[name] = bool(await check())
            except Exception:
                results[name] = False
        ready = all(results.values())
        response.status_code = 200 if ready else 503
        return {"ready": ready, "checks": results}

    @router.get(METRICS_PATH)
    async def metrics() -> Response:
        """Prometheus metrics."""
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router
