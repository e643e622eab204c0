"""Who may do what over HTTP: every /v1/ route requires an API key (`opseval_infra.keys`) of a role
that may do it, scoped to the project it touches, and leaves an entry in the audit trail."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, HTTPException, Request, Response
from starlette.middleware.base import BaseHTTPMiddleware, RequestResponseEndpoint

from .keys import Principal, Refused, Role, authenticated, now_utc, record
from .store.base import Store

log = logging.getLogger(__name__)
AUDITED_PREFIX = "/v1/"


class Access:
    """Authentication and authorization for one service's routes, and its audit middleware.

    Endpoints declare `principal: Principal = Depends(access.require(Role.ADMIN, ...))` and call
    `access.project(principal, project)` before touching a project; the middleware writes one audit
    entry per /v1/ request, with the action named by the route (`name=`) and what the handler added
    to `request.state.audit`.
    """

    def __init__(self, store: Callable[[], Store | None]) -> None:
        self._store = store

    def store(self) -> Store:
        store = self._store()
        if store is None:
            raise HTTPException(503, "the service is starting")
        return store

    def require(self, *roles: Role) -> Callable[[Request], Awaitable[Principal]]:
        allowed = {Role.ADMIN, *roles}

        async def dependency(request: Request) -> Principal:
            try:
                principal = await authenticated(self.store(), request.headers.get("authorization"), now_utc())
            except Refused as refused:
                raise HTTPException(401, str(refused), {"WWW-Authenticate": "Bearer"}) from None
            request.state.principal = principal
            if principal.role not in allowed:
                raise HTTPException(403, f"a {principal.role.value} key may not do this")
            return principal

        return dependency

    @staticmethod
    def project(principal: Principal, project: str) -> None:
        """403 unless the key is scoped to the project — the same answer whether it exists or not."""
        if not principal.covers(project):
            raise HTTPException(403, f"this key is not scoped to project {project!r}")

    def install(self, app: FastAPI) -> None:
        app.add_middleware(BaseHTTPMiddleware, dispatch=self._audit)

    async def _audit(self, request: Request, call_next: RequestResponseEndpoint) -> Response:
        if not request.url.path.startswith(AUDITED_PREFIX):
            return await call_next(request)
        request.state.audit = {}
        response = await call_next(request)
        principal: Principal | None = getattr(request.state, "principal", None)
        action = getattr(request.scope.get("route"), "name", None) or "unknown"  # set by the router
        detail: dict[str, Any] = {
            "method": request.method,
            "path": request.url.path,
            "client": request.client.host if request.client else None,
            **request.state.audit,
        }
        if request.url.query:
            detail["query"] = request.url.query
        project = request.path_params.get("project") or request.state.audit.get("project")
        try:
            await record(
                self.store(),
                principal.key.id if principal else "-",
                principal.key.role if principal else "-",
                action,
                project,
                response.status_code,
                detail,
            )
        except Exception:
            # Nothing is handed out (or confirmed) unaudited: the caller retries; pushes are idempotent.
            log.exception("audit entry for %s %s not written", request.method, request.url.path)
            return Response(
                b'{"detail":"the audit trail could not be written; retry"}',
                status_code=503,
                media_type="application/json",
            )
        return response
