"""`opseval keys …` and `opseval audit`: administrators' commands, run where the store is reachable
(OPSEVAL_STORE_URL; by default the store of `opseval up`). They write the same audit trail as the
HTTP API, as actor `cli:<user>`."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from typing import Any, TypeVar

from opseval_infra.keys import (
    ALL_PROJECTS,
    AuditView,
    IssuedKey,
    KeyManagementError,
    KeyView,
    Role,
    create_key,
    record,
    rescope_key,
    revoke_key,
    utc_text,
)
from opseval_infra.settings import ServiceSettings
from opseval_infra.store.base import Store
from opseval_infra.store.factory import opened_store

T = TypeVar("T")
EXIT_BAD_INPUT = 2


def _with_store(work: Callable[[Store], Awaitable[T]]) -> T:
    async def main() -> T:
        async with opened_store(ServiceSettings().store_url) as store:
            return await work(store)

    return asyncio.run(main())


def _actor() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli:unknown"


def _scope(args: argparse.Namespace) -> list[str]:
    if args.all_projects and args.project:
        raise KeyManagementError("give --project or --all-projects, not both")
    return [ALL_PROJECTS] if args.all_projects else list(args.project or [])


CHINA = timezone(timedelta(hours=8))


def _expiry(text: str | None) -> datetime | None:
    """--expires: a date (the key works until that day begins, China time) or an ISO 8601 time."""
    if text is None:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise KeyManagementError(f"--expires {text!r} is not a date (2027-01-01) or an ISO 8601 time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=CHINA)


def cmd_keys_create(args: argparse.Namespace) -> int:
    async def work(store: Store) -> dict[str, Any]:
        key, token = await create_key(store, args.name, args.role, _scope(args), _expiry(args.expires))
        detail = {"key": key.id, "role": key.role, "projects": list(key.projects)}
        await record(store, _actor(), "admin", "key.create", None, 201, detail)
        return IssuedKey.issued(key, token).model_dump(mode="json")

    created = _with_store(work)
    print(json.dumps(created, ensure_ascii=False, indent=2))
    print("The token is shown this once and is not stored: hand it over now.", file=sys.stderr)
    return 0


def cmd_keys_list(args: argparse.Namespace) -> int:
    keys = _with_store(lambda store: store.list_keys())
    for key in keys:
        state = (
            f"revoked {key.revoked_at}"
            if key.revoked_at
            else f"expires {key.expires_at}"
            if key.expires_at
            else "active"
        )
        print(f"{key.id}  {key.role:<9}  {','.join(key.projects):<30}  {state:<32}  {key.name}")
    return 0


def cmd_keys_revoke(args: argparse.Namespace) -> int:
    async def work(store: Store) -> dict[str, Any]:
        key = await revoke_key(store, args.key_id)
        await record(store, _actor(), "admin", "key.revoke", None, 200, {"key": key.id})
        return KeyView.of(key).model_dump(mode="json")

    print(json.dumps(_with_store(work), ensure_ascii=False, indent=2))
    return 0


def cmd_keys_scope(args: argparse.Namespace) -> int:
    async def work(store: Store) -> dict[str, Any]:
        key = await rescope_key(store, args.key_id, _scope(args))
        await record(store, _actor(), "admin", "key.scope", None, 200, {"key": key.id, "projects": list(key.projects)})
        return KeyView.of(key).model_dump(mode="json")

    print(json.dumps(_with_store(work), ensure_ascii=False, indent=2))
    return 0


def cmd_audit(args: argparse.Namespace) -> int:
    entries = _with_store(
        lambda store: store.list_audit(
            actor=args.actor,
            project=args.project,
            action=args.action,
            since=utc_text(args.since) if args.since else None,
            after_seq=args.after,
            limit=args.limit,
        )
    )
    for entry in entries:
        print(json.dumps(AuditView.of(entry).model_dump(mode="json"), ensure_ascii=False))
    return 0


def guarded(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except KeyManagementError as exc:
            print(f"opseval: {exc}", file=sys.stderr)
            return EXIT_BAD_INPUT

    return run


def add_parsers(sub: Any) -> None:
    from datetime import datetime

    keys = sub.add_parser("keys", help="issue, list, scope and revoke HTTP API keys (administrators)")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)

    def scope_arguments(parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--project", action="append", help="a project the key may touch (repeat for more)")
        parser.add_argument("--all-projects", action="store_true", help="every project, present and future")

    create = keys_sub.add_parser("create", help="issue a key; prints its token once")
    create.add_argument("--name", required=True, help="who holds it (a system, a team, a person)")
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    scope_arguments(create)
    create.add_argument("--expires", help="when the key stops working: a date (China time) or an ISO 8601 time")
    create.set_defaults(func=guarded(cmd_keys_create))

    listing = keys_sub.add_parser("list", help="every key, revoked ones included")
    listing.set_defaults(func=guarded(cmd_keys_list))

    revoke = keys_sub.add_parser("revoke", help="revoke a key (answered 401 from now on)")
    revoke.add_argument("key_id")
    revoke.set_defaults(func=guarded(cmd_keys_revoke))

    scope = keys_sub.add_parser("scope", help="replace the projects a key may touch")
    scope.add_argument("key_id")
    scope_arguments(scope)
    scope.set_defaults(func=guarded(cmd_keys_scope))

    audit = sub.add_parser("audit", help="the audit trail (JSON lines, oldest first)")
    audit.add_argument("--actor", help="a key id, or cli:<user>")
    audit.add_argument("--project")
    audit.add_argument("--action", help="e.g. evidence.push, or key.* for a prefix")
    audit.add_argument("--since", type=datetime.fromisoformat, help="ISO 8601 time (UTC unless a zone is given)")
    audit.add_argument("--after", type=int, default=0, help="entries after this seq")
    audit.add_argument("--limit", type=int, default=100)
    audit.set_defaults(func=guarded(cmd_audit))
