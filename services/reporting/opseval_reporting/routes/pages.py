"""The pages the service serves outside the API: the workbench."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Response

from ..context import ReportingContext

STATIC = Path(__file__).parent.parent / "static"  # the workbench's files, served under /static


def router(ctx: ReportingContext) -> APIRouter:
    routes = APIRouter()

    @routes.get("/", include_in_schema=False)
    async def root() -> Response:
        return Response(status_code=307, headers={"location": "/dashboard"})

    @routes.get("/dashboard", include_in_schema=False)
    async def dashboard() -> Response:
        """The evaluators' workbench (Chinese UI) over this API."""
        return Response((STATIC / "index.html").read_bytes(), media_type="text/html; charset=utf-8")

    return routes
