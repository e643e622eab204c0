"""The repository contract every backend implements, and the records it stores."""

from __future__ import annotations

import asyncio
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import zstandard

from .frames import ZSTD_MAGIC, compress_parts, frame_contents


@dataclass(frozen=True)
class StoredEvent:
    id: str
    project: str
    kind: str
    body: str  # the event as canonical JSON (model_dump_json)
    seq: int = 0  # assigned by the store on insert: the order events were accepted in


@dataclass(frozen=True)
class StoredProject:
    id: str
    revision: str
    definition: str  # ProjectDefinition as JSON


class Snapshot:
    """A project's latest findings, score tree, full result or evaluation status, ordered by `seq`
    (glossary: opseval_shared.messaging). Both backends keep `seq` in a column / field named
    `revision`, its name before "revision" came to mean only a definition's revision: renaming it
    would make the snapshots already stored unreadable, and nothing outside the store sees it.

    Its body (FindingsChanged / ScoreChanged … as the UTF-8 bytes of its JSON, as serializers make
    them and parsers take them) is the concatenation of its parts. A writer may hand the parts as
    `evidence_apart.apart_parts` makes them, where joining a million-event result's 58 MB first cost
    30 ms of page faults and copying per change; a read gives back the stored frames' contents as
    the parts (`frames`), most of them the very objects the last read gave, which `evidence_apart`
    takes as they are. `body` joins them, once, for a reader that wants the bytes. Immutable."""

    __slots__ = ("_body", "_parts", "project", "seq")

    def __init__(self, project: str, seq: int, body: bytes | None = None, *, parts: Sequence[bytes] = ()) -> None:
        if (body is None) == (not parts):
            raise TypeError("a snapshot is made of a body or of parts, one of the two")
        self.project, self.seq = project, seq
        self._parts = (body,) if body is not None else tuple(parts)
        self._body = body if body is not None else (self._parts[0] if len(self._parts) == 1 else None)

    @property
    def body(self) -> bytes:
        if self._body is None:
            self._body = b"".join(self._parts)  # (two threads joining it at once make equal bytes)
        return self._body

    def parts(self) -> tuple[bytes, ...]:
        return self._parts

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Snapshot):
            return NotImplemented
        return (self.project, self.seq, self.body) == (other.project, other.seq, other.body)

    __hash__ = None  # type: ignore[assignment]  # (equal by a body that may be large: not a key)

    def __repr__(self) -> str:
        return (
            f"Snapshot(project={self.project!r}, seq={self.seq}, {body_size(self):,} bytes in {len(self._parts)} parts)"
        )


def body_size(snapshot: Snapshot) -> int:
    return sum(map(len, snapshot.parts()))


@dataclass(frozen=True)
class DeadLetter:
    id: str
    service: str
    body: str  # DeadLettered as JSON


@dataclass(frozen=True)
class ApiKey:
    """An HTTP API key. Only a hash of its secret is stored; the token is shown once, when issued."""

    id: str  # the public part of the token, named in the audit trail
    name: str  # who holds it: an upstream system, an evaluation team, an administrator
    role: str  # opseval_infra.auth.Role
    projects: tuple[str, ...]  # the projects it may touch; ("*",) for every project
    secret_hash: str
    created_at: str  # ISO 8601, UTC
    revoked_at: str | None = None
    expires_at: str | None = None  # ISO 8601, UTC; answered 401 from then on


@dataclass(frozen=True)
class AuditEntry:
    """Who pushed, read or changed what: one per API request (denied ones too). Never updated."""

    at: str  # ISO 8601, UTC
    actor: str  # the key id, or "-" when the request carried no valid key
    role: str  # the key's role, or "-"
    action: str  # e.g. evidence.push, scores.read, key.revoke
    project: str | None
    status: int  # the HTTP status answered
    detail: str  # JSON object: method, path, client, and what the action did
    seq: int = 0  # assigned by the store: the order of the trail


@dataclass(frozen=True)
class VersionRecord:
    """A finalised evaluation (定稿版本) as a listing shows it. Numbered 1, 2, 3 … per project by
    the store, without gaps; never changed or removed once stored."""

    project: str
    number: int  # assigned by the store on insert (the value given is ignored)
    as_of: str  # the evaluation's as-of date, ISO 8601
    total: str  # the frozen total, as decimal text
    grade: str
    finalised_at: str  # ISO 8601, UTC: the finalising service's clock
    finalised_by: str  # the name of the key that finalised
    finalised_role: str  # that key's role
    finalised_key: str  # that key's id (as the audit trail names it)
    note: str
    definition_revision: str  # the project definition's revision the evaluation ran under


@dataclass(frozen=True)
class StoredVersion(VersionRecord):
    """A version with what its documents are rendered from."""

    definition: str  # the ProjectDefinition as JSON, as it was when finalised
    result: str  # the frozen EvaluationResult as JSON


async def compressed(data: bytes | tuple[bytes, ...]) -> bytes:
    """A snapshot body compressed as both backends store it: Zstandard level 1 (zlib: 2.7 times the
    time, 5 times the size). A body of parts is a frame per long part (`frames`): a million-event
    result's lists, 18 MB of a 578k-id log, are 473 KB as frames of their 1,024-id chunks (254 KB as
    one frame), compressed in 24 ms the first time and in 1 ms when the chunks are those written
    before. A large body is compressed in a worker thread, without the GIL, while the event loop
    goes on consuming."""
    size = len(data) if isinstance(data, bytes) else sum(map(len, data))
    if size < 1 << 20:
        return compress(data)
    return await asyncio.to_thread(compress, data)


def compress(data: bytes | tuple[bytes, ...]) -> bytes:
    """One Zstandard frame of bytes; of parts, a frame per long part, laid end to end (`frames`)."""
    if isinstance(data, bytes):
        # (A compressor is not thread-safe: one per call; making it costs microseconds.)
        return zstandard.ZstdCompressor(level=1).compress(data)
    return compress_parts(data)


def decompressed(stored: bytes) -> bytes:
    """What `compressed` made (one frame or several), or the zlib stream a body was kept as before."""
    return b"".join(decompressed_parts(stored))


def decompressed_parts(stored: bytes) -> tuple[bytes, ...]:
    """`decompressed` as the parts it is the concatenation of: a frame's content each
    (`frames.frame_contents`)."""
    # (A zlib stream, as bodies were compressed until 2026-12-04, never begins as a Zstandard frame
    # does: its first byte is 0x78.)
    if stored.startswith(ZSTD_MAGIC):
        return frame_contents(stored)
    return (zlib.decompress(stored),)


class SnapshotTooLarge(Exception):
    """A snapshot the backend cannot hold (MongoDB: a document of at most 16 MB, after compression)."""


class EventConflict(Exception):
    """An event id already stored with a different body."""

    def __init__(self, event_id: str) -> None:
        super().__init__(f"event id {event_id!r} is already stored with different content")
        self.event_id = event_id


class Store(Protocol):
    """Everything the services persist. Every write is idempotent."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def ping(self) -> bool: ...

    # projects
    async def put_project(self, project: StoredProject) -> bool:
        """Insert or replace a project's definition; False when the same revision was already stored."""
        ...

    async def get_project(self, project_id: str) -> StoredProject | None: ...

    async def list_projects(self) -> list[StoredProject]: ...

    # evidence
    async def add_events(self, events: list[StoredEvent]) -> list[bool]:
        """Insert events; per event True when inserted, False when the same id and body were already
        stored. Raises EventConflict (inserting none of the batch) when an id is stored with another
        body. Atomic: the whole batch or nothing."""
        ...

    async def count_events(self, project_id: str) -> int: ...

    async def events_after(
        self, project_id: str, seq: int, limit: int = 10_000, upto: int | None = None
    ) -> list[StoredEvent]:
        """The project's events with store sequence > seq (and ≤ upto, if given), in sequence order
        (for incremental folding).

        Sequence numbers start at 1 and increase with each insert. A backend whose concurrent
        writers can commit out of sequence order (MongoDB without a transaction) may show an event
        below a sequence already read; readers detect that by `count_events` and fold afresh."""
        ...

    async def get_events(self, project_id: str, ids: list[str]) -> list[StoredEvent]:
        """The project's events with these ids (unknown ids are left out), in id order."""
        ...

    async def find_events(self, ids: list[str]) -> list[StoredEvent]:
        """The events with these ids, whatever their project (an id names one event in the whole
        store), in id order."""
        ...

    # snapshots: kind is "findings" or "scores"
    async def put_snapshot(self, kind: str, snapshot: Snapshot) -> bool:
        """Keep the snapshot unless one of a higher seq is already stored (a replica that lags
        never overwrites newer results). True when stored."""
        ...

    async def get_snapshot(self, kind: str, project_id: str) -> Snapshot | None: ...

    # dead letters
    async def add_dead_letter(self, letter: DeadLetter) -> bool:
        """False when a dead letter with this id is already stored."""
        ...

    async def list_dead_letters(self, service: str | None = None, limit: int = 100) -> list[DeadLetter]: ...

    # API keys
    async def put_key(self, key: ApiKey) -> None:
        """Insert a key or replace the stored key with this id (a new scope, its revocation)."""
        ...

    async def get_key(self, key_id: str) -> ApiKey | None: ...

    async def list_keys(self) -> list[ApiKey]:
        """Every key, revoked ones included, in id order."""
        ...

    # the audit trail: append-only
    async def append_audit(self, entry: AuditEntry) -> int:
        """Append an entry; returns its sequence number (increasing; the entry's seq is ignored)."""
        ...

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
        """Entries after `after_seq` in sequence order, filtered (action: a trailing * matches a
        prefix; since: entries at or after this ISO 8601 time)."""
        ...

    async def events_of_kinds(self, project_id: str, kinds: list[str]) -> list[StoredEvent]:
        """The project's events of these kinds (e.g. its judgments and retractions), in store
        sequence order."""
        ...

    # browsing a project's evidence (the workbench's evidence tables)
    async def browse_events(
        self, project_id: str, where: EventFilter, *, offset: int = 0, limit: int = 100
    ) -> list[StoredEvent]:
        """The project's events `where` selects, in store sequence order, `limit` of them from `offset`."""
        ...

    async def count_browsed_events(self, project_id: str, where: EventFilter) -> int:
        """How many of the project's events `where` selects."""
        ...

    # finalised versions: append-only, numbered per project
    async def add_version(self, version: StoredVersion) -> int:
        """Store a new version of its project under the next number (1, 2, 3 … without gaps, also
        when several writers finalise at once); returns that number (`version.number` is ignored)."""
        ...

    async def list_versions(self, project_id: str) -> list[VersionRecord]:
        """The project's versions (without their bodies), in number order."""
        ...

    async def get_version(self, project_id: str, number: int) -> StoredVersion | None: ...


@dataclass(frozen=True)
class EventFilter:
    """Which of a project's events to browse (every field optional; all given must hold).

    `occurred_from` / `occurred_until` (YYYY-MM-DD, inclusive) compare the calendar date of
    `occurred_at` as the upstream system wrote it, in its own offset, as the evaluation dates it.
    `contains` is a text the stored event contains anywhere (its id, a name, a ticket, a title), case
    as written."""

    kind: str | None = None
    occurred_from: str | None = None
    occurred_until: str | None = None
    contains: str | None = None
