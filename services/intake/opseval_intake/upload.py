"""`POST /v1/projects/{project}/imports`: a CSV or XLSX export through a standard import profile.

The file is the request body (not a multipart form: one file, its bytes as they are). Like a push it
is all or nothing: any bad row refuses the upload with 422 naming each row's file, row, column and
reason, and nothing is published. The events are then checked and published as pushed ones are.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import orjson
from fastapi import FastAPI, HTTPException, Query, Request, Response
from opseval_infra.auth import Access
from opseval_infra.fleet import Fleet
from opseval_infra.http import ERROR_RESPONSES
from opseval_infra.keys import Principal
from opseval_shared.imports import ImportFailed, Target, import_events, set_values

from .batch import References, accept_batch, check_supplier, refuse, validate_batch
from .profiles import profile_names, standard_profile
from .settings import IntakeSettings

UPLOAD_TYPES = (
    "text/csv",
    "text/plain",
    "application/csv",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/octet-stream",
)


async def _file(request: Request, limit: int) -> bytes:
    media_type = request.headers.get("content-type", "").partition(";")[0].strip().lower()
    if media_type not in UPLOAD_TYPES:
        raise HTTPException(
            415, f"send the file itself as the body ({', '.join(UPLOAD_TYPES[:1] + UPLOAD_TYPES[3:4])})"
        )
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"file of {declared} bytes is larger than {limit}")
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > limit:
            raise HTTPException(413, f"file is larger than {limit} bytes")
    return bytes(raw)


def install_upload(
    app: FastAPI, settings: IntakeSettings, fleet: Fleet, access: Access, references: References, pusher: Any
) -> None:
    """The upload route, accepting its events as a push does (`references`: the app's index of each
    registered project's definition; `pusher`: its upstream-key dependency)."""

    @app.post(
        "/v1/projects/{project}/imports",
        name="evidence.import",
        responses=ERROR_RESPONSES,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {t: {"schema": {"type": "string", "format": "binary"}} for t in UPLOAD_TYPES[::3]},
            }
        },
    )
    async def import_upload(
        project: str,
        request: Request,
        profile: Annotated[str, Query(description="a standard import profile (attendance-clock, ticket-system …)")],
        filename: Annotated[str, Query(max_length=200, description="the file's name, for the row errors")] = "upload",
        contract: Annotated[str | None, Query(description="the contract the rows belong to")] = None,
        encoding: Annotated[str | None, Query(description="CSV encoding (default: UTF-8 or GBK, detected)")] = None,
        sheet: Annotated[str | None, Query(description="XLSX worksheet (default: the first)")] = None,
        values: Annotated[list[str] | None, Query(alias="set", description="FIELD=VALUE for every row")] = None,
        principal: Principal = pusher,
    ) -> Response:
        """Import a CSV or XLSX export (upstream systems, for the projects their key is scoped to): the
        file is the body; `profile` names how its columns become evidence. All or nothing: any bad row
        refuses the file (422, each row's file, row, column and reason) and nothing is accepted."""
        # before reading the file or saying whether the project exists (an import makes no corrections)
        check_supplier(principal, project, False, f"file {filename!r}")
        if profile not in profile_names():
            raise HTTPException(422, f"unknown import profile {profile!r} (standard: {', '.join(profile_names())})")
        data = await _file(request, settings.max_body_bytes)
        store = access.store()
        stored = await store.get_project(project)
        if stored is None:
            raise refuse(422, f"unknown project {project!r}", [{"field": "project", "reason": "not registered"}])
        try:
            target = Target(project, contract, None, set_values(values or [], "set"))
            lines, summary = await asyncio.to_thread(
                import_events,
                standard_profile(profile),
                data,
                filename,
                target,
                references.of(stored),
                encoding=encoding,
                sheet=sheet,
            )
        except ImportFailed as exc:
            # each error names its file, row and column, and (as every 422 of intake) a field: the column
            errors = [{**p.model_dump(), "field": p.column or "(file)"} for p in exc.problems]
            more = "at least " if exc.truncated else ""
            raise refuse(422, f"{more}{len(errors)} problems in the file; nothing was accepted", errors) from None
        except ValueError as exc:  # a `set` not FIELD=VALUE, or a field the kind does not have
            raise HTTPException(422, str(exc)) from None
        if len(lines) > settings.max_batch:
            raise HTTPException(413, f"{len(lines)} events in one file; at most {settings.max_batch}")
        events, errors = validate_batch([orjson.loads(line) for line in lines], "events", settings.max_clock_skew_s)
        if errors:
            raise refuse(422, f"{len(errors)} of {len(lines)} events are invalid; none was accepted", errors)
        counts, results = await accept_batch(
            request, principal, store, fleet, references, events, "events", resend="file"
        )
        request.state.audit.update(profile=profile, file=filename, rows=summary.rows)
        body = {**counts, "rows": summary.rows, "repeated_rows": summary.repeated_rows, "results": results}
        return Response(orjson.dumps(body), status_code=503 if counts["failed"] else 200, media_type="application/json")
