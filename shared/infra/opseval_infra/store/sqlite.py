"""The embedded backend: one SQLite file shared by every service process (`opseval up`, tests).

stdlib `sqlite3` only. Each store object owns one connection, used only from its own worker thread
(and guarded by a lock), so the event loop never blocks on the database. The file is in WAL mode
with a busy timeout, and every write runs in a `BEGIN IMMEDIATE` transaction, so several processes
can read and write the same file at once: writers queue on the file lock instead of failing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path
from typing import TypeVar

from .base import (
    ApiKey,
    AuditEntry,
    DeadLetter,
    EventConflict,
    EventFilter,
    Snapshot,
    StoredEvent,
    StoredProject,
    StoredVersion,
    VersionRecord,
    body_size,
    compressed,
    decompressed_parts,
)

__all__ = ["SqliteStore"]

log = logging.getLogger(__name__)

T = TypeVar("T")

BUSY_TIMEOUT_MS = 30_000
SCHEMA_VERSION = 5  # 2: api_keys and audit; 3: api_keys.expires_at; 4: versions; 5: event_counts
_IDS_PER_QUERY = 500  # well under SQLITE_MAX_VARIABLE_NUMBER
SNAPSHOT_COMPRESSED_FROM = 64 * 1024  # bytes: a smaller snapshot body is kept as its text

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS projects (
        id TEXT PRIMARY KEY,
        revision TEXT NOT NULL,
        definition TEXT NOT NULL
    )""",
    # seq is the rowid (AUTOINCREMENT: never reused, always above every seq ever handed out), so the
    # order of seq is the order in which write transactions committed; the event id is the unique key.
    """CREATE TABLE IF NOT EXISTS events (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        project TEXT NOT NULL,
        kind TEXT NOT NULL,
        body TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS events_by_project_seq ON events (project, seq)",
    # A project's events counted as they are stored, in the same transaction (events are never
    # removed): `count_events` is asked on every evaluation, where COUNT(*) walked the project's index
    # entries, a million at a million events (≈ 5 % of the rules service's CPU under load).
    """CREATE TABLE IF NOT EXISTS event_counts (
        project TEXT PRIMARY KEY,
        events INTEGER NOT NULL
    )""",
    """CREATE TRIGGER IF NOT EXISTS events_counted AFTER INSERT ON events BEGIN
        INSERT INTO event_counts (project, events) VALUES (NEW.project, 1)
        ON CONFLICT (project) DO UPDATE SET events = events + 1;
    END""",
    # snapshots.revision holds Snapshot.seq (the column keeps its first name: store/base.py, Snapshot)
    """CREATE TABLE IF NOT EXISTS snapshots (
        kind TEXT NOT NULL,
        project TEXT NOT NULL,
        revision INTEGER NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (kind, project)
    )""",
    """CREATE TABLE IF NOT EXISTS dead_letters (
        created INTEGER PRIMARY KEY AUTOINCREMENT,
        id TEXT NOT NULL UNIQUE,
        service TEXT NOT NULL,
        body TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS dead_letters_by_service ON dead_letters (service, created)",
    """CREATE TABLE IF NOT EXISTS api_keys (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        role TEXT NOT NULL,
        projects TEXT NOT NULL,
        secret_hash TEXT NOT NULL,
        created_at TEXT NOT NULL,
        revoked_at TEXT,
        expires_at TEXT
    )""",
    """CREATE TABLE IF NOT EXISTS audit (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        role TEXT NOT NULL,
        action TEXT NOT NULL,
        project TEXT,
        status INTEGER NOT NULL,
        detail TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS audit_by_actor ON audit (actor, seq)",
    "CREATE INDEX IF NOT EXISTS audit_by_project ON audit (project, seq)",
    # Append-only in the database itself, not only by the code's good manners.
    """CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
       BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END""",
    """CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
       BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END""",
    # Finalised versions (定稿): numbered per project, never changed or removed.
    """CREATE TABLE IF NOT EXISTS versions (
        project TEXT NOT NULL,
        number INTEGER NOT NULL,
        as_of TEXT NOT NULL,
        total TEXT NOT NULL,
        grade TEXT NOT NULL,
        finalised_at TEXT NOT NULL,
        finalised_by TEXT NOT NULL,
        finalised_role TEXT NOT NULL,
        finalised_key TEXT NOT NULL,
        note TEXT NOT NULL,
        definition_revision TEXT NOT NULL,
        definition TEXT NOT NULL,
        result TEXT NOT NULL,
        PRIMARY KEY (project, number)
    )""",
    """CREATE TRIGGER IF NOT EXISTS versions_no_update BEFORE UPDATE ON versions
       BEGIN SELECT RAISE(ABORT, 'a finalised version is never changed'); END""",
    """CREATE TRIGGER IF NOT EXISTS versions_no_delete BEFORE DELETE ON versions
       BEGIN SELECT RAISE(ABORT, 'a finalised version is never removed'); END""",
)
_KEY_COLUMNS = "id, name, role, projects, secret_hash, created_at, revoked_at, expires_at"
_AUDIT_COLUMNS = "seq, at, actor, role, action, project, status, detail"
_VERSION_COLUMNS = (
    "project, number, as_of, total, grade, finalised_at, finalised_by, finalised_role, finalised_key, note, "
    "definition_revision"
)


def _when_unlocked(work: Callable[[], T]) -> T:
    """Retry what SQLite refuses with 'database is locked' without consulting the busy timeout
    (switching a new database to WAL while another process opens it does), up to that timeout."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    delay = 0.005
    while True:
        try:
            return work()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 0.25)


def _write(conn: sqlite3.Connection, work: Callable[[sqlite3.Connection], T]) -> T:
    """Run `work` in one write transaction: all of it is committed, or none of it (any exception)."""
    # IMMEDIATE takes the write lock up front (waiting up to the busy timeout), so a transaction
    # never has to upgrade a read lock, which SQLite cannot wait for and fails with SQLITE_BUSY.
    conn.execute("BEGIN IMMEDIATE")
    try:
        result = work(conn)
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return result


def _key(row: tuple[str, str, str, str, str, str, str | None, str | None]) -> ApiKey:
    key_id, name, role, projects, secret_hash, created_at, revoked_at, expires_at = row
    return ApiKey(key_id, name, role, tuple(json.loads(projects)), secret_hash, created_at, revoked_at, expires_at)


def _audit(row: tuple[int, str, str, str, str, str | None, int, str]) -> AuditEntry:
    seq, at, actor, role, action, project, status, detail = row
    return AuditEntry(
        at=at, actor=actor, role=role, action=action, project=project, status=status, detail=detail, seq=seq
    )


def _event(row: tuple[int, str, str, str, str]) -> StoredEvent:
    seq, event_id, project, kind, body = row
    return StoredEvent(id=event_id, project=project, kind=kind, body=body, seq=seq)


class SqliteStore:
    """`Store` on a SQLite file. Several store objects, in several processes, may share the file."""

    def __init__(self, path: str) -> None:
        if not path or path == ":memory:" or path.startswith("file::memory:"):
            raise ValueError(
                f"SqliteStore needs a file path, not {path!r}: the services are separate processes and "
                "must share one database file"
            )
        self.path = os.path.abspath(path)
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None

    def __repr__(self) -> str:
        return f"SqliteStore({self.path!r})"

    # plumbing

    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        executor = self._executor
        if executor is None:
            raise RuntimeError(f"{self!r} is not open: await store.open() first")
        return await asyncio.get_running_loop().run_in_executor(executor, self._with_connection, fn)

    def _with_connection(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        with self._lock:
            if self._conn is None:
                raise RuntimeError(f"{self!r} is closed")
            return fn(self._conn)

    async def _write(self, work: Callable[[sqlite3.Connection], T]) -> T:
        return await self._run(partial(_write, work=work))

    # lifecycle

    async def open(self) -> None:
        if self._executor is not None:
            return
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="opseval-sqlite")
        try:
            await asyncio.get_running_loop().run_in_executor(self._executor, self._open_connection)
        except BaseException:
            self._executor.shutdown(wait=False)
            self._executor = None
            raise

    def _open_connection(self) -> None:
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: no implicit transactions; writes open theirs explicitly (_write).
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None, check_same_thread=False)
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            mode = _when_unlocked(lambda: conn.execute("PRAGMA journal_mode = WAL").fetchone()[0])
            if str(mode).lower() != "wal":
                log.warning("%s: journal_mode is %s, not WAL; concurrent access will be slower", self.path, mode)
            # FULL (the default) keeps a committed batch across a power loss: the services ack a
            # message only after storing it.
            conn.execute("PRAGMA synchronous = FULL")
            _write(conn, self._create_schema)
        except BaseException:
            conn.close()
            raise
        with self._lock:
            self._conn = conn

    def _create_schema(self, conn: sqlite3.Connection) -> None:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if version > SCHEMA_VERSION:
            raise RuntimeError(f"{self.path} has schema version {version}, newer than this opseval ({SCHEMA_VERSION})")
        for statement in _SCHEMA:
            conn.execute(statement)
        if 2 <= version < 3:  # keys issued before expiry existed never expire
            conn.execute("ALTER TABLE api_keys ADD COLUMN expires_at TEXT")
        if version < 5:  # the events stored before they were counted (none in a new store)
            conn.execute(
                """INSERT INTO event_counts (project, events) SELECT project, COUNT(*) FROM events GROUP BY project
                   ON CONFLICT (project) DO UPDATE SET events = excluded.events"""
            )
        if version < SCHEMA_VERSION:
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    async def close(self) -> None:
        executor, self._executor = self._executor, None
        if executor is None:
            return
        await asyncio.get_running_loop().run_in_executor(executor, self._close_connection)
        executor.shutdown(wait=False)

    def _close_connection(self) -> None:
        with self._lock:
            conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    async def ping(self) -> bool:
        if self._executor is None:
            return False
        try:
            return await self._run(lambda conn: conn.execute("SELECT 1").fetchone() == (1,))
        except (sqlite3.Error, RuntimeError):
            return False

    # projects

    async def put_project(self, project: StoredProject) -> bool:
        def work(conn: sqlite3.Connection) -> bool:
            cursor = conn.execute(
                """INSERT INTO projects (id, revision, definition) VALUES (?, ?, ?)
                   ON CONFLICT (id) DO UPDATE SET revision = excluded.revision, definition = excluded.definition
                   WHERE projects.revision IS NOT excluded.revision""",
                (project.id, project.revision, project.definition),
            )
            return cursor.rowcount == 1

        return await self._write(work)

    async def get_project(self, project_id: str) -> StoredProject | None:
        def work(conn: sqlite3.Connection) -> StoredProject | None:
            row = conn.execute("SELECT id, revision, definition FROM projects WHERE id = ?", (project_id,)).fetchone()
            return None if row is None else StoredProject(id=row[0], revision=row[1], definition=row[2])

        return await self._run(work)

    async def list_projects(self) -> list[StoredProject]:
        def work(conn: sqlite3.Connection) -> list[StoredProject]:
            rows = conn.execute("SELECT id, revision, definition FROM projects ORDER BY id").fetchall()
            return [StoredProject(id=i, revision=r, definition=d) for i, r, d in rows]

        return await self._run(work)

    # evidence

    async def add_events(self, events: list[StoredEvent]) -> list[bool]:
        if not events:
            return []
        batch = list(events)

        def work(conn: sqlite3.Connection) -> list[bool]:
            inserted: list[bool] = []
            for event in batch:
                cursor = conn.execute(
                    "INSERT INTO events (id, project, kind, body) VALUES (?, ?, ?, ?) ON CONFLICT (id) DO NOTHING",
                    (event.id, event.project, event.kind, event.body),
                )
                if cursor.rowcount == 1:
                    inserted.append(True)
                    continue
                stored = conn.execute("SELECT project, kind, body FROM events WHERE id = ?", (event.id,)).fetchone()
                if stored != (event.project, event.kind, event.body):
                    raise EventConflict(event.id)  # _write rolls the whole batch back
                inserted.append(False)
            return inserted

        return await self._write(work)

    async def count_events(self, project_id: str) -> int:
        def work(conn: sqlite3.Connection) -> int:
            row = conn.execute("SELECT events FROM event_counts WHERE project = ?", (project_id,)).fetchone()
            return 0 if row is None else int(row[0])

        return await self._run(work)

    async def events_after(
        self, project_id: str, seq: int, limit: int = 10_000, upto: int | None = None
    ) -> list[StoredEvent]:
        if limit <= 0 or (upto is not None and upto <= seq):  # SQLite reads a negative LIMIT as "no limit"
            return []

        def work(conn: sqlite3.Connection) -> list[StoredEvent]:
            rows = conn.execute(
                """SELECT seq, id, project, kind, body FROM events
                   WHERE project = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?""",
                (project_id, seq, upto if upto is not None else 2**63 - 1, limit),
            ).fetchall()
            return [_event(row) for row in rows]

        return await self._run(work)

    async def get_events(self, project_id: str, ids: list[str]) -> list[StoredEvent]:
        return [e for e in await self.find_events(ids) if e.project == project_id]

    async def find_events(self, ids: list[str]) -> list[StoredEvent]:
        wanted = sorted(set(ids))
        if not wanted:
            return []

        def work(conn: sqlite3.Connection) -> list[StoredEvent]:
            found: list[StoredEvent] = []
            for start in range(0, len(wanted), _IDS_PER_QUERY):
                chunk = wanted[start : start + _IDS_PER_QUERY]
                marks = ", ".join("?" * len(chunk))
                rows = conn.execute(
                    f"SELECT seq, id, project, kind, body FROM events WHERE id IN ({marks})", chunk
                ).fetchall()
                found.extend(_event(row) for row in rows)
            return sorted(found, key=lambda event: event.id)

        return await self._run(work)

    # snapshots

    async def put_snapshot(self, kind: str, snapshot: Snapshot) -> bool:
        # A large body (a result cites every evidence id: 78 MB at a million events) is kept compressed,
        # as a BLOB in the same column: a tenth of the file and of what each change writes and syncs.
        # Bodies stored as TEXT (small ones, and every one before 2026-12-04) are read as they are.
        # A small body is kept as text, readable in the file.
        parts = snapshot.parts()
        body = await compressed(parts) if body_size(snapshot) >= SNAPSHOT_COMPRESSED_FROM else b"".join(parts).decode()

        def work(conn: sqlite3.Connection) -> bool:
            cursor = conn.execute(
                """INSERT INTO snapshots (kind, project, revision, body) VALUES (?, ?, ?, ?)
                   ON CONFLICT (kind, project) DO UPDATE SET revision = excluded.revision, body = excluded.body
                   WHERE excluded.revision >= snapshots.revision""",
                (kind, snapshot.project, snapshot.seq, body),
            )
            return cursor.rowcount == 1

        return await self._write(work)

    async def get_snapshot(self, kind: str, project_id: str) -> Snapshot | None:
        def work(conn: sqlite3.Connection) -> Snapshot | None:
            row = conn.execute(
                "SELECT project, revision, body FROM snapshots WHERE kind = ? AND project = ?", (kind, project_id)
            ).fetchone()
            if row is None:
                return None
            body = row[2]
            if isinstance(body, bytes):
                return Snapshot(row[0], row[1], parts=decompressed_parts(body))
            return Snapshot(row[0], row[1], body.encode())

        return await self._run(work)

    # dead letters

    async def add_dead_letter(self, letter: DeadLetter) -> bool:
        def work(conn: sqlite3.Connection) -> bool:
            cursor = conn.execute(
                "INSERT INTO dead_letters (id, service, body) VALUES (?, ?, ?) ON CONFLICT (id) DO NOTHING",
                (letter.id, letter.service, letter.body),
            )
            return cursor.rowcount == 1

        return await self._write(work)

    async def list_dead_letters(self, service: str | None = None, limit: int = 100) -> list[DeadLetter]:
        """The most recent dead letters first (of one service, or of all)."""
        if limit <= 0:
            return []

        def work(conn: sqlite3.Connection) -> list[DeadLetter]:
            if service is None:
                rows = conn.execute(
                    "SELECT id, service, body FROM dead_letters ORDER BY created DESC LIMIT ?", (limit,)
                ).fetchall()
            else:
                rows = conn.execute(
                    "SELECT id, service, body FROM dead_letters WHERE service = ? ORDER BY created DESC LIMIT ?",
                    (service, limit),
                ).fetchall()
            return [DeadLetter(id=i, service=s, body=b) for i, s, b in rows]

        return await self._run(work)

    # API keys

    async def put_key(self, key: ApiKey) -> None:
        row = (key.id, key.name, key.role, json.dumps(list(key.projects)), key.secret_hash, key.created_at)

        def work(conn: sqlite3.Connection) -> None:
            conn.execute(
                f"INSERT OR REPLACE INTO api_keys ({_KEY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (*row, key.revoked_at, key.expires_at),
            )

        await self._write(work)

    async def get_key(self, key_id: str) -> ApiKey | None:
        def work(conn: sqlite3.Connection) -> ApiKey | None:
            row = conn.execute(f"SELECT {_KEY_COLUMNS} FROM api_keys WHERE id = ?", (key_id,)).fetchone()
            return None if row is None else _key(row)

        return await self._run(work)

    async def list_keys(self) -> list[ApiKey]:
        def work(conn: sqlite3.Connection) -> list[ApiKey]:
            return [_key(row) for row in conn.execute(f"SELECT {_KEY_COLUMNS} FROM api_keys ORDER BY id")]

        return await self._run(work)

    # audit

    async def append_audit(self, entry: AuditEntry) -> int:
        row = (entry.at, entry.actor, entry.role, entry.action, entry.project, entry.status, entry.detail)

        def work(conn: sqlite3.Connection) -> int:
            cursor = conn.execute(
                "INSERT INTO audit (at, actor, role, action, project, status, detail) VALUES (?, ?, ?, ?, ?, ?, ?)", row
            )
            return int(cursor.lastrowid or 0)

        return await self._write(work)

    async def list_audit(
        self,
        *,
        actor: str | None = None,
        project: str | None = None,
        action: str | None = None,
        since: str | None = None,
        after_seq: int = 0,
        limit: int = 100,
    ) -> list[AuditEntry]:
        if limit <= 0:
            return []
        clauses: list[str] = ["seq > ?"]
        params: list[object] = [after_seq]
        if actor is not None:
            clauses.append("actor = ?")
            params.append(actor)
        if project is not None:
            clauses.append("project = ?")
            params.append(project)
        if action is not None:
            if action.endswith("*"):  # a prefix, matched exactly (no LIKE wildcards from the caller)
                clauses.append("substr(action, 1, ?) = ?")
                params.extend([len(action) - 1, action[:-1]])
            else:
                clauses.append("action = ?")
                params.append(action)
        if since is not None:
            clauses.append("at >= ?")
            params.append(since)
        query = f"SELECT {_AUDIT_COLUMNS} FROM audit WHERE {' AND '.join(clauses)} ORDER BY seq LIMIT ?"

        def work(conn: sqlite3.Connection) -> list[AuditEntry]:
            return [_audit(row) for row in conn.execute(query, (*params, limit))]

        return await self._run(work)

    async def events_of_kinds(self, project_id: str, kinds: list[str]) -> list[StoredEvent]:
        wanted = sorted(set(kinds))
        if not wanted:
            return []
        marks = ", ".join("?" * len(wanted))

        def work(conn: sqlite3.Connection) -> list[StoredEvent]:
            rows = conn.execute(
                f"SELECT seq, id, project, kind, body FROM events WHERE project = ? AND kind IN ({marks}) ORDER BY seq",
                (project_id, *wanted),
            ).fetchall()
            return [_event(row) for row in rows]

        return await self._run(work)

    # browsing a project's evidence

    @staticmethod
    def _browse_clauses(project_id: str, where: EventFilter) -> tuple[str, list[object]]:
        clauses: list[str] = ["project = ?"]
        params: list[object] = [project_id]
        if where.kind is not None:
            clauses.append("kind = ?")
            params.append(where.kind)
        # The event's own calendar date: the first ten characters of occurred_at as written.
        day = "substr(json_extract(body, '$.occurred_at'), 1, 10)"
        if where.occurred_from is not None:
            clauses.append(f"{day} >= ?")
            params.append(where.occurred_from)
        if where.occurred_until is not None:
            clauses.append(f"{day} <= ?")
            params.append(where.occurred_until)
        if where.contains:
            clauses.append("instr(body, ?) > 0")  # no LIKE: % and _ in the text are plain characters
            params.append(where.contains)
        return " AND ".join(clauses), params

    async def browse_events(
        self, project_id: str, where: EventFilter, *, offset: int = 0, limit: int = 100
    ) -> list[StoredEvent]:
        if limit <= 0:
            return []
        clauses, params = self._browse_clauses(project_id, where)

        def work(conn: sqlite3.Connection) -> list[StoredEvent]:
            rows = conn.execute(
                f"SELECT seq, id, project, kind, body FROM events WHERE {clauses} ORDER BY seq LIMIT ? OFFSET ?",
                (*params, limit, max(offset, 0)),
            ).fetchall()
            return [_event(row) for row in rows]

        return await self._run(work)

    async def count_browsed_events(self, project_id: str, where: EventFilter) -> int:
        clauses, params = self._browse_clauses(project_id, where)

        def work(conn: sqlite3.Connection) -> int:
            return int(conn.execute(f"SELECT COUNT(*) FROM events WHERE {clauses}", params).fetchone()[0])

        return await self._run(work)

    # finalised versions

    async def add_version(self, version: StoredVersion) -> int:
        def work(conn: sqlite3.Connection) -> int:
            # Inside BEGIN IMMEDIATE no other writer runs between reading the highest number and
            # inserting the next, so numbers have no gaps and no duplicates across processes.
            (highest,) = conn.execute(
                "SELECT COALESCE(MAX(number), 0) FROM versions WHERE project = ?", (version.project,)
            ).fetchone()
            number = int(highest) + 1
            conn.execute(
                f"INSERT INTO versions ({_VERSION_COLUMNS}, definition, result) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    version.project,
                    number,
                    version.as_of,
                    version.total,
                    version.grade,
                    version.finalised_at,
                    version.finalised_by,
                    version.finalised_role,
                    version.finalised_key,
                    version.note,
                    version.definition_revision,
                    version.definition,
                    version.result,
                ),
            )
            return number

        return await self._write(work)

    async def list_versions(self, project_id: str) -> list[VersionRecord]:
        def work(conn: sqlite3.Connection) -> list[VersionRecord]:
            rows = conn.execute(
                f"SELECT {_VERSION_COLUMNS} FROM versions WHERE project = ? ORDER BY number", (project_id,)
            ).fetchall()
            return [VersionRecord(*row) for row in rows]

        return await self._run(work)

    async def get_version(self, project_id: str, number: int) -> StoredVersion | None:
        def work(conn: sqlite3.Connection) -> StoredVersion | None:
            row = conn.execute(
                f"SELECT {_VERSION_COLUMNS}, definition, result FROM versions WHERE project = ? AND number = ?",
                (project_id, number),
            ).fetchone()
            return None if row is None else StoredVersion(*row)

        return await self._run(work)
