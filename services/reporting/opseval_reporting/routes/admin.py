"""Administrators' routes: dead letters, API keys, the audit trail."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import orjson
from fastapi import APIRouter, HTTPException, Query, Request, Response
from opseval_infra.http import ERROR_RESPONSES
from opseval_infra.keys import (
    AuditView,
    IssuedKey,
    KeyManagementError,
    KeyView,
    Principal,
    Role,
    UnknownKey,
    create_key,
    rescope_key,
    revoke_key,
    utc_text,
)
from pydantic import AwareDatetime, BaseModel, Field

from ..context import MAX_SEQ, Limit, ReportingContext, answers, json_response


class NewKey(BaseModel):
    name: str = Field(min_length=1, max_length=200, description="who holds it: a system, a team, a person")
    role: Role
    projects: list[str] = Field(min_length=1, max_length=1000, description='project ids, or ["*"] for every project')
    expires_at: AwareDatetime | None = Field(default=None, description="answered 401 from then on; never if absent")


class KeyScope(BaseModel):
    projects: list[str] = Field(min_length=1, max_length=1000, description='project ids, or ["*"] for every project')


def router(ctx: ReportingContext) -> APIRouter:
    routes = APIRouter()
    admin, store = ctx.admin, ctx.store

    @routes.get("/v1/dead-letters", name="dead_letters.read", responses=ERROR_RESPONSES)
    async def dead_letters(service: str | None = None, limit: Limit = 100, principal: Principal = admin) -> Response:
        """Messages no consumer could handle, with the error (administrators)."""
        letters = await store().list_dead_letters(service, limit)
        return json_response([orjson.loads(letter.body) for letter in letters])

    @routes.get("/v1/admin/keys", name="keys.list", responses=answers(list[KeyView]))
    async def list_keys(principal: Principal = admin) -> Response:
        """Every API key, revoked ones included (never a secret or its hash)."""
        return json_response([KeyView.of(k).model_dump(mode="json") for k in await store().list_keys()])

    @routes.post("/v1/admin/keys", name="key.create", status_code=201, responses=answers(IssuedKey, 201))
    async def new_key(body: NewKey, request: Request, principal: Principal = admin) -> Response:
        """Issue a key. The answer holds the token, which is shown this once and never stored."""
        try:
            key, token = await create_key(store(), body.name, body.role, body.projects, body.expires_at)
        except KeyManagementError as exc:
            raise HTTPException(422, str(exc)) from None
        request.state.audit.update(key=key.id, role=key.role, projects=list(key.projects))
        return Response(
            orjson.dumps(IssuedKey.issued(key, token).model_dump(mode="json")),
            status_code=201,
            media_type="application/json",
        )

    @routes.put("/v1/admin/keys/{key_id}/projects", name="key.scope", responses=answers(KeyView))
    async def scope_key(key_id: str, body: KeyScope, request: Request, principal: Principal = admin) -> Response:
        """Replace the projects a key may touch."""
        try:
            key = await rescope_key(store(), key_id, body.projects)
        except UnknownKey as exc:
            raise HTTPException(404, str(exc)) from None
        except KeyManagementError as exc:
            raise HTTPException(422, str(exc)) from None
        request.state.audit.update(key=key.id, projects=list(key.projects))
        return json_response(KeyView.of(key).model_dump(mode="json"))

    @routes.delete("/v1/admin/keys/{key_id}", name="key.revoke", responses=answers(KeyView))
    async def revoke(key_id: str, request: Request, principal: Principal = admin) -> Response:
        """Revoke a key: from now on it is answered 401. Its audit entries stay."""
        try:
            key = await revoke_key(store(), key_id)
        except UnknownKey as exc:
            raise HTTPException(404, str(exc)) from None
        request.state.audit.update(key=key.id)
        return json_response(KeyView.of(key).model_dump(mode="json"))

    @routes.get("/v1/admin/audit", name="audit.read", responses=answers(list[AuditView]))
    async def audit(
        actor: str | None = None,
        project: str | None = None,
        action: str | None = None,
        since: datetime | None = None,
        after: Annotated[int, Query(ge=0, le=MAX_SEQ)] = 0,
        limit: Limit = 100,
        principal: Principal = admin,
    ) -> Response:
        """The audit trail, oldest first: who pushed, read and changed what (action: a trailing *
        matches a prefix, e.g. key.*; since: an ISO 8601 time; after: the last seq already read)."""
        entries = await store().list_audit(
            actor=actor,
            project=project,
            action=action,
            since=utc_text(since) if since else None,
            after_seq=after,
            limit=limit,
        )
        return json_response([AuditView.of(e).model_dump(mode="json") for e in entries])

    return routes
