"""API keys — a role and a scope of projects — and the audit trail: issuing, checking, managing
and recording, for the HTTP services (`auth.Access`) and `opseval keys` / `opseval audit` alike.

A key is `opseval_<id>_<secret>`: the id names the key (in the audit trail, in `opseval keys`), the
secret is 256 random bits of which the store keeps only a SHA-256 hash — a slow hash buys nothing
for a secret nobody can guess, and a stolen store cannot be turned back into working keys.

Roles: an upstream system pushes evidence for the projects its key is scoped to; an evaluator reads
the results and documents of its projects; an administrator registers projects, manages keys,
reads the audit trail and everything else. A key outside its scope is answered 403 whether or not
the project exists, so a key never learns which projects it cannot see.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from opseval_shared.evidence import Slug
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from .store.base import ApiKey, AuditEntry, Store

ALL_PROJECTS = "*"
TOKEN_PREFIX = "opseval"
_PROJECT_ID: TypeAdapter[str] = TypeAdapter(Slug)
_TOKEN = re.compile(r"^opseval_(k[0-9a-f]{12})_([A-Za-z0-9_-]{43})$")


class Role(StrEnum):
    ADMIN = "admin"
    UPSTREAM = "upstream"
    EVALUATOR = "evaluator"


class KeyManagementError(ValueError):
    """A key operation that cannot be done (bad name, role or scope); the message says why."""


class UnknownKey(KeyManagementError):
    def __init__(self, key_id: str) -> None:
        super().__init__(f"no key {key_id!r}")


def utc_text(moment: datetime) -> str:
    """A time as the audit trail writes it (UTC, milliseconds), so text order is time order.
    A time without a zone is taken as UTC."""
    aware = moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return aware.astimezone(UTC).isoformat(timespec="milliseconds")


def now_utc() -> str:
    return utc_text(datetime.now(UTC))


def hash_secret(secret: str) -> str:
    return "sha256:" + hashlib.sha256(secret.encode()).hexdigest()


def check_scope(projects: Iterable[str]) -> tuple[str, ...]:
    """A key's scope: project ids, or "*" alone for every project."""
    scope = tuple(sorted(set(projects)))
    if not scope:
        raise KeyManagementError("a key needs at least one project (or * for every project)")
    if ALL_PROJECTS in scope and len(scope) > 1:
        raise KeyManagementError("* already means every project: give it alone")
    for project in scope:
        if project != ALL_PROJECTS:
            try:
                _PROJECT_ID.validate_python(project)
            except ValidationError:
                raise KeyManagementError(f"not a project id: {project!r}") from None
    return scope


def issue_key(
    name: str, role: Role | str, projects: Iterable[str], at: str, expires_at: datetime | None = None
) -> tuple[ApiKey, str]:
    """A new key and its token (the only time the token exists in clear); `expires_at`: answered
    401 from then on (a key for an evaluation team that ends with the evaluation)."""
    name = name.strip()
    if not name or len(name) > 200:
        raise KeyManagementError("a key needs a name of 1 to 200 characters (who holds it)")
    try:
        role = Role(role)
    except ValueError:
        raise KeyManagementError(f"unknown role {role!r} (one of {', '.join(r.value for r in Role)})") from None
    key_id = "k" + secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    expiry = None if expires_at is None else utc_text(expires_at)
    if expiry is not None and expiry <= at:
        raise KeyManagementError(f"the key would expire at {expiry}, before it is issued ({at})")
    key = ApiKey(key_id, name, role.value, check_scope(projects), hash_secret(secret), at, expires_at=expiry)
    return key, f"{TOKEN_PREFIX}_{key_id}_{secret}"


@dataclass(frozen=True)
class Principal:
    """The holder of a valid key, as a request handler sees it."""

    key: ApiKey

    @property
    def role(self) -> Role:
        return Role(self.key.role)

    def covers(self, project: str) -> bool:
        return ALL_PROJECTS in self.key.projects or project in self.key.projects


class Refused(ValueError):
    """Why a key is refused (401): the message says so, for the person holding it."""


async def authenticated(store: Store, authorization: str | None, at: str) -> Principal:
    """The principal of an `Authorization: Bearer <token>` header at time `at`, or Refused saying
    why: no key, not a key, unknown, revoked or expired. A key's holder learns only about that key."""
    if not authorization:
        raise Refused("a valid API key is required (Authorization: Bearer …)")
    scheme, _, token = authorization.partition(" ")
    match = _TOKEN.fullmatch(token.strip()) if scheme.lower() == "bearer" else None
    key = None if match is None else await store.get_key(match.group(1))
    if match is None or key is None or not hmac.compare_digest(hash_secret(match.group(2)), key.secret_hash):
        raise Refused("this API key is not valid")
    if key.revoked_at is not None:
        raise Refused(f"this API key was revoked at {key.revoked_at}")
    if key.expires_at is not None and key.expires_at <= at:
        raise Refused(f"this API key expired at {key.expires_at}")
    return Principal(key)


async def authenticate(store: Store, authorization: str | None) -> Principal | None:
    """The principal of an `Authorization: Bearer <token>` header, or None (no, bad, revoked or expired key)."""
    try:
        return await authenticated(store, authorization, now_utc())
    except Refused:
        return None


# ---------------------------------------------------------------- managing keys (CLI and admin API)


async def create_key(
    store: Store, name: str, role: str, projects: Iterable[str], expires_at: datetime | None = None
) -> tuple[ApiKey, str]:
    key, token = issue_key(name, role, projects, now_utc(), expires_at)
    await store.put_key(key)
    return key, token


async def revoke_key(store: Store, key_id: str) -> ApiKey:
    key = await store.get_key(key_id)
    if key is None:
        raise UnknownKey(key_id)
    if key.revoked_at is None:
        key = replace(key, revoked_at=now_utc())
        await store.put_key(key)
    return key


async def rescope_key(store: Store, key_id: str, projects: Iterable[str]) -> ApiKey:
    key = await store.get_key(key_id)
    if key is None:
        raise UnknownKey(key_id)
    if key.revoked_at is not None:
        raise KeyManagementError(f"key {key_id!r} is revoked")
    key = replace(key, projects=check_scope(projects))
    await store.put_key(key)
    return key


class KeyView(BaseModel):
    """A key as administrators see it: everything but the secret's hash."""

    id: str
    name: str
    role: Role
    projects: list[str]
    created_at: str
    revoked_at: str | None
    expires_at: str | None = None

    @classmethod
    def of(cls, key: ApiKey) -> KeyView:
        return cls(
            id=key.id,
            name=key.name,
            role=Role(key.role),
            projects=list(key.projects),
            created_at=key.created_at,
            revoked_at=key.revoked_at,
            expires_at=key.expires_at,
        )


class IssuedKey(KeyView):
    token: str = Field(description="shown this once; only its hash is stored")

    @classmethod
    def issued(cls, key: ApiKey, token: str) -> IssuedKey:
        return cls(**KeyView.of(key).model_dump(), token=token)


class AuditView(BaseModel):
    """An audit entry as administrators read it."""

    seq: int
    at: str
    actor: str
    role: str
    action: str
    project: str | None
    status: int
    detail: dict[str, Any]

    @classmethod
    def of(cls, entry: AuditEntry) -> AuditView:
        return cls(
            seq=entry.seq,
            at=entry.at,
            actor=entry.actor,
            role=entry.role,
            action=entry.action,
            project=entry.project,
            status=entry.status,
            detail=json.loads(entry.detail),
        )


async def record(
    store: Store, actor: str, role: str, action: str, project: str | None, status: int, detail: dict[str, Any]
) -> int:
    entry = AuditEntry(now_utc(), actor, role, action, project, status, json.dumps(detail, ensure_ascii=False))
    return await store.append_audit(entry)


# ---------------------------------------------------------------- FastAPI
