"""The results API: projects, score trees, findings and the evidence behind them, and the report
as of any date. Reads the store the consumers keep current; computes as-of reports with the same
domain functions as `opseval evaluate`.

Every /v1 request carries an API key: evaluators read the projects their key is scoped to;
administrators read everything, manage keys and read the audit trail (`/v1/admin/…`).

The routes live in `routes/`, one router per concern over the shared `ReportingContext`; a new
router is one `app.include_router(...)` line below."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from opseval_infra.fleet import Fleet, fleet_app, make_broker

from .context import ReportingContext
from .live import LiveScores, listen, live_router
from .routes import admin, documents, evidence, evidence_browser, judging, pages, projects, versions
from .routes import portfolio as portfolio_routes
from .settings import ReportingSettings


def create_app(settings: ReportingSettings | None = None) -> FastAPI:
    settings = settings or ReportingSettings()
    fleet = Fleet(settings, make_broker(settings))
    hub = LiveScores()
    listen(fleet.broker, hub)
    app = fleet_app(fleet, "opseval results API", evaluate=None)
    app.state.fleet = fleet
    ctx = ReportingContext(fleet)
    ctx.access.install(app)
    app.include_router(live_router(ctx.access, hub, settings))
    app.mount("/static", StaticFiles(directory=pages.STATIC), name="static")
    app.include_router(projects.router(ctx))
    app.include_router(evidence.router(ctx))
    app.include_router(documents.router(ctx))
    app.include_router(pages.router(ctx))
    app.include_router(admin.router(ctx))
    app.include_router(judging.router(ctx))
    app.include_router(evidence_browser.router(ctx))
    app.include_router(portfolio_routes.router(ctx))
    app.include_router(versions.router(ctx))
    return app
