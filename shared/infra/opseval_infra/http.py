"""Health, readiness and metrics endpoints every service serves."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import APIRouter, FastAPI, Response
from fastapi.responses import PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from pydantic import BaseModel, TypeAdapter

HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"
METRICS_PATH = "/metrics"

EVENTS_CONSUMED = Counter("opseval_events_consumed_total", "evidence events persisted by this consumer", ["service"])
EVENTS_REPLAYED = Counter("opseval_events_replayed_total", "evidence events seen again (already stored)", ["service"])
DEAD_LETTERS = Counter("opseval_dead_letters_total", "messages moved to the dead-letter subject", ["service"])
REDELIVERIES = Counter("opseval_redeliveries_total", "messages handed back for redelivery", ["service"])
EVALUATIONS = Histogram("opseval_evaluation_seconds", "time to re-evaluate one project", ["service"])
EVALUATION_STEPS = Histogram(
    "opseval_evaluation_step_seconds",
    "time one evaluation spent in each of its steps: read (another service's results), fold (new events),"
    " evaluate (measures, rules, scores: in a thread of its own), store (its results), publish",
    ["service", "step"],
)
EVALUATION_CPU = Histogram(
    "opseval_evaluation_cpu_seconds",
    "CPU the evaluate step's own thread spent: the step's time less what it waited for the GIL and the cores",
    ["service"],
)
INTAKE_EVENTS = Counter("opseval_intake_events_total", "events answered by intake", ["status"])
DIRTY_PROJECTS = Gauge("opseval_dirty_projects", "projects waiting to be re-evaluated", ["service"])
FAILING_PROJECTS = Gauge("opseval_failing_projects", "projects whose last evaluation failed", ["service"])
EVENTS_SET_ASIDE = Counter(
    "opseval_events_set_aside_total",
    "stored events left out of their project's evaluation (a reference no longer resolves), dead-lettered",
    ["service"],
)

Check = Callable[[], Awaitable[bool]]


def health_router(checks: dict[str, Check], detail: Callable[[], dict[str, Any]] | None = None) -> APIRouter:
    """`detail`: what readiness also reports without deciding it (the projects whose evaluation fails)."""
    router = APIRouter(tags=["operations"])

    @router.get(HEALTH_PATH)
    async def healthz() -> dict[str, str]:
        """The process is up."""
        return {"status": "ok"}

    @router.get(READY_PATH, responses={503: {"description": "a dependency does not answer"}})
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
        answer: dict[str, object] = {"ready": ready, "checks": results}
        if detail is not None:
            # A project that cannot be evaluated does not make the service unready (the others go
            # on), but it is named here, never silent.
            answer["evaluations"] = detail()
        return answer

    @router.get(METRICS_PATH, response_class=PlainTextResponse)
    async def metrics() -> Response:
        """Prometheus metrics."""
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


class ErrorBody(BaseModel):
    """Every 4xx/5xx answer: `detail` says what is wrong — a sentence, or {message, errors: [{field,
    reason, …}]} naming each bad field, or FastAPI's list for a bad query parameter."""

    detail: str | dict[str, Any] | list[Any]


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorBody, "description": text}
    for status, text in {
        401: "no API key, or not a valid one",
        403: "the key's role or scope does not allow this",
        404: "not found",
        409: "conflicts with what was accepted before",
        413: "too large",
        415: "not application/json",
        422: "invalid input; each bad field named",
        503: "a dependency is unavailable; retry",
    }.items()
}


class BodySchemas:
    """JSON request bodies a handler reads and validates itself (to answer each bad field its own
    way), documented in the app's OpenAPI document all the same: `openapi_extra=bodies(Model)`, then
    `bodies.install(app)` adds their definitions to the document's components."""

    def __init__(self) -> None:
        self.components: dict[str, Any] = {}

    def __call__(self, annotation: Any) -> dict[str, Any]:
        schema = TypeAdapter(annotation).json_schema(ref_template="#/components/schemas/{model}")
        self.components.update(schema.pop("$defs", {}))
        return {"requestBody": {"required": True, "content": {"application/json": {"schema": schema}}}}

    def install(self, app: FastAPI) -> None:
        generate = app.openapi

        def openapi() -> dict[str, Any]:
            if app.openapi_schema is None:
                document = generate()
                schemas = document.setdefault("components", {}).setdefault("schemas", {})
                for name, schema in self.components.items():
                    schemas.setdefault(name, schema)
                app.openapi_schema = document
            return app.openapi_schema

        app.openapi = openapi  # type: ignore[method-assign]
