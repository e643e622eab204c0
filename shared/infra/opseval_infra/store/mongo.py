"""The MongoDB backend, on PyMongo's native async API (`AsyncMongoClient`, PyMongo 4.10+).

Collections: `projects` (_id = project id), `events` (_id = event id, seq from a counter),
`snapshots` (unique on kind + project; the body compressed, see `put_snapshot`),
`dead_letters` (_id = letter id, created from a counter), `api_keys` (_id = key id), `audit` (_id =
seq from a counter; this code only ever inserts into it — grant the services' database user no
update or remove on it to make that a guarantee), `counters` (the sequence counters) and
`versions` (finalised evaluations, unique on project + number; only ever inserted into). Nothing
connects at import or construction: `open()` does, and creates the indexes.

Atomicity without transactions (a standalone server has none): `add_events` checks the stored
copies of the batch's ids before inserting anything, so a conflict with what is stored inserts
nothing; a conflict only a concurrent writer could cause (it stored the id in between) is detected
on the duplicate-key error and undone by deleting exactly the documents this call inserted.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from typing import Any

import pymongo
from bson import Binary
from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError, PyMongoError

from .base import (
    ApiKey,
    AuditEntry,
    DeadLetter,
    EventConflict,
    EventFilter,
    Snapshot,
    SnapshotTooLarge,
    StoredEvent,
    StoredProject,
    StoredVersion,
    VersionRecord,
    body_size,
    compressed,
    decompressed,
    decompressed_parts,
)

__all__ = ["SEQUENCE_COUNTERS", "MongoStore"]

Document = dict[str, Any]

DUPLICATE_KEY = 11000
PING_TIMEOUT_S = 5.0
_IDS_PER_QUERY = 1_000
SNAPSHOT_LIMIT = 15 * 1024 * 1024  # a compressed snapshot body, leaving room in the 16 MiB document
_VERSION_ATTEMPTS = 100  # finalisers racing for the next number of one project: each loses at most once per winner
_VERSION_FIELDS = (
    "as_of",
    "total",
    "grade",
    "finalised_at",
    "finalised_by",
    "finalised_role",
    "finalised_key",
    "note",
    "definition_revision",
)
_EVENTS_COUNTER = "events"
_DEAD_LETTERS_COUNTER = "dead_letters"
_AUDIT_COUNTER = "audit"
SEQUENCE_COUNTERS = (_EVENTS_COUNTER, _DEAD_LETTERS_COUNTER, _AUDIT_COUNTER)  # the `counters` documents' ids


def _event(doc: Mapping[str, Any]) -> StoredEvent:
    return StoredEvent(
        id=str(doc["_id"]), project=doc["project"], kind=doc["kind"], body=doc["body"], seq=int(doc["seq"])
    )


def _same(doc: Mapping[str, Any], event: StoredEvent) -> bool:
    return (doc.get("project"), doc.get("kind"), doc.get("body")) == (event.project, event.kind, event.body)


def _chunks(ids: list[str]) -> Iterable[list[str]]:
    for start in range(0, len(ids), _IDS_PER_QUERY):
        yield ids[start : start + _IDS_PER_QUERY]


class MongoStore:
    """`Store` on a MongoDB database. Any number of store objects and processes may share it."""

    def __init__(self, url: str, database: str = "opseval") -> None:
        if not database:
            raise ValueError("MongoStore needs a database name")
        self.url = url
        self.database = database
        self._client: AsyncMongoClient[Document] | None = None
        self._db: AsyncDatabase[Document] | None = None

    def __repr__(self) -> str:
        return f"MongoStore(database={self.database!r})"  # the URL may hold credentials

    # plumbing

    def _collection(self, name: str) -> AsyncCollection[Document]:
        if self._db is None:
            raise RuntimeError(f"{self!r} is not open: await store.open() first")
        return self._db[name]

    @property
    def _projects(self) -> AsyncCollection[Document]:
        return self._collection("projects")

    @property
    def _events(self) -> AsyncCollection[Document]:
        return self._collection("events")

    @property
    def _snapshots(self) -> AsyncCollection[Document]:
        return self._collection("snapshots")

    @property
    def _dead_letters(self) -> AsyncCollection[Document]:
        return self._collection("dead_letters")

    @property
    def _counters(self) -> AsyncCollection[Document]:
        return self._collection("counters")

    async def _reserve(self, counter: str, count: int) -> int:
        """Reserve `count` consecutive sequence numbers; returns the first."""
        for attempt in range(2):
            try:
                doc = await self._counters.find_one_and_update(
                    {"_id": counter},
                    {"$inc": {"value": count}},
                    upsert=True,
                    return_document=ReturnDocument.AFTER,
                )
            except DuplicateKeyError:
                # two first-ever upserts raced; the counter exists now, so the retry updates it
                if attempt:
                    raise
                continue
            if doc is None:  # pragma: no cover - MongoDB's upsert with new: true always returns the document
                raise RuntimeError(
                    f"counter {counter!r} was not returned: the server answered findAndModify (upsert, new) "
                    "without the document, which MongoDB never does"
                )
            return int(doc["value"]) - count + 1
        raise AssertionError("unreachable")  # pragma: no cover

    # lifecycle

    async def open(self) -> None:
        if self._client is not None:
            return
        client: AsyncMongoClient[Document] = AsyncMongoClient(self.url, appname="opseval")
        try:
            db = client[self.database]
            await db["events"].create_index(
                [("project", ASCENDING), ("seq", ASCENDING)], unique=True, name="project_seq"
            )
            await db["snapshots"].create_index(
                [("kind", ASCENDING), ("project", ASCENDING)], unique=True, name="kind_project"
            )
            await db["dead_letters"].create_index(
                [("service", ASCENDING), ("created", DESCENDING)], name="service_created"
            )
            await db["dead_letters"].create_index([("created", DESCENDING)], name="created")
            await db["audit"].create_index([("actor", ASCENDING), ("_id", ASCENDING)], name="actor_seq")
            await db["audit"].create_index([("project", ASCENDING), ("_id", ASCENDING)], name="project_seq")
            # one version per number and project: concurrent finalisers retry on the duplicate key
            await db["versions"].create_index(
                [("project", ASCENDING), ("number", ASCENDING)], unique=True, name="project_number"
            )
            # event and dead-letter ids are the _id: unique by MongoDB's own _id index
        except BaseException:
            await client.close()
            raise
        self._client, self._db = client, db

    async def close(self) -> None:
        client, self._client, self._db = self._client, None, None
        if client is not None:
            await client.close()

    async def ping(self) -> bool:
        if self._db is None:
            return False
        try:
            with pymongo.timeout(PING_TIMEOUT_S):
                reply = await self._db.command("ping")
        except PyMongoError:
            return False
        return bool(reply.get("ok"))

    # projects

    async def put_project(self, project: StoredProject) -> bool:
        # Matches the stored project only when its revision differs; when it is the same, the upsert
        # tries to insert a second document with that _id and fails: nothing to store.
        query = {"_id": project.id, "revision": {"$ne": project.revision}}
        update = {"$set": {"revision": project.revision, "definition": project.definition}}
        try:
            result = await self._projects.update_one(query, update, upsert=True)
        except DuplicateKeyError:
            # The same revision is stored, or a concurrent first insert won the race: update it
            # unless it has this revision.
            result = await self._projects.update_one(query, update)
        return result.upserted_id is not None or result.matched_count == 1

    async def get_project(self, project_id: str) -> StoredProject | None:
        doc = await self._projects.find_one({"_id": project_id})
        if doc is None:
            return None
        return StoredProject(id=str(doc["_id"]), revision=doc["revision"], definition=doc["definition"])

    async def list_projects(self) -> list[StoredProject]:
        docs = await self._projects.find().sort("_id", ASCENDING).to_list()
        return [StoredProject(id=str(d["_id"]), revision=d["revision"], definition=d["definition"]) for d in docs]

    # evidence

    async def add_events(self, events: list[StoredEvent]) -> list[bool]:
        if not events:
            return []
        # The batch itself may repeat an id: the first occurrence is the one to insert.
        first: dict[str, StoredEvent] = {}
        for event in events:
            seen = first.setdefault(event.id, event)
            if seen is not event and (seen.project, seen.kind, seen.body) != (event.project, event.kind, event.body):
                raise EventConflict(event.id)

        # 1. Conflicts with what is already stored: refuse before writing anything.
        stored: dict[str, Document] = {}
        for chunk in _chunks(list(first)):
            async for doc in self._events.find({"_id": {"$in": chunk}}, {"project": 1, "kind": 1, "body": 1}):
                stored[str(doc["_id"])] = doc
        for event_id, doc in stored.items():
            if not _same(doc, first[event_id]):
                raise EventConflict(event_id)
        new = [event for event_id, event in first.items() if event_id not in stored]

        # 2. Insert the new ones under a freshly reserved block of sequence numbers.
        raced: set[str] = set()
        if new:
            start = await self._reserve(_EVENTS_COUNTER, len(new))
            docs: list[Document] = [
                {"_id": e.id, "project": e.project, "kind": e.kind, "body": e.body, "seq": start + i}
                for i, e in enumerate(new)
            ]
            try:
                await self._events.insert_many(docs, ordered=False)
            except BulkWriteError as error:
                raced = await self._resolve_races(error, docs, new)

        inserted = {event.id for event in new} - raced
        claimed: set[str] = set()
        results: list[bool] = []
        for event in events:
            results.append(event.id in inserted and event.id not in claimed)
            claimed.add(event.id)
        return results

    async def _resolve_races(self, error: BulkWriteError, docs: list[Document], new: list[StoredEvent]) -> set[str]:
        """After a partial insert_many: the ids a concurrent writer stored first with the same content
        (already stored: fine). Anything else undoes this call's inserts and raises."""
        details: Mapping[str, Any] = error.details
        failed: dict[int, Mapping[str, Any]] = {int(e["index"]): e for e in details.get("writeErrors", [])}
        unexpected = [
            e
            for e in failed.values()
            if e.get("code") != DUPLICATE_KEY or dict(e.get("keyPattern") or {"_id": 1}) != {"_id": 1}
        ]
        raced = {str(docs[index]["_id"]) for index in failed}
        conflict: str | None = None
        if not unexpected and not details.get("writeConcernErrors"):
            by_id = {event.id: event for event in new}
            for chunk in _chunks(sorted(raced)):
                async for doc in self._events.find({"_id": {"$in": chunk}}, {"project": 1, "kind": 1, "body": 1}):
                    if not _same(doc, by_id[str(doc["_id"])]):
                        conflict = str(doc["_id"])
            if conflict is None:
                return raced
        # all or nothing: delete exactly what this call inserted (its ids under its own seqs)
        mine = [doc for index, doc in enumerate(docs) if index not in failed]
        if mine:
            await self._events.delete_many(
                {"_id": {"$in": [d["_id"] for d in mine]}, "seq": {"$in": [d["seq"] for d in mine]}}
            )
        if conflict is not None:
            raise EventConflict(conflict) from error
        raise error

    async def count_events(self, project_id: str) -> int:
        return await self._events.count_documents({"project": project_id})

    async def events_after(
        self, project_id: str, seq: int, limit: int = 10_000, upto: int | None = None
    ) -> list[StoredEvent]:
        if limit <= 0 or (upto is not None and upto <= seq):  # MongoDB reads limit 0 as "no limit"
            return []
        within: Document = {"$gt": seq} if upto is None else {"$gt": seq, "$lte": upto}
        cursor = self._events.find({"project": project_id, "seq": within}).sort("seq", ASCENDING).limit(limit)
        return [_event(doc) for doc in await cursor.to_list()]

    async def get_events(self, project_id: str, ids: list[str]) -> list[StoredEvent]:
        return await self._find_events({"project": project_id}, ids)

    async def find_events(self, ids: list[str]) -> list[StoredEvent]:
        return await self._find_events({}, ids)

    async def _find_events(self, query: Document, ids: list[str]) -> list[StoredEvent]:
        found: list[StoredEvent] = []
        for chunk in _chunks(sorted(set(ids))):
            async for doc in self._events.find({"_id": {"$in": chunk}, **query}):
                found.append(_event(doc))
        return sorted(found, key=lambda event: event.id)

    # snapshots

    async def put_snapshot(self, kind: str, snapshot: Snapshot) -> bool:
        """The body compressed: a result cites its evidence ids, about 70 bytes of JSON per event — 67 MB
        at a million events, past MongoDB's 16 MB document limit — and compresses about twelvefold
        (`compressed`). A body still too large is refused with the sizes."""
        key = {"kind": kind, "project": snapshot.project}
        packed = await compressed(snapshot.parts())
        if len(packed) > SNAPSHOT_LIMIT:
            raise SnapshotTooLarge(
                f"the {kind} snapshot of project {snapshot.project!r} (seq {snapshot.seq}) is"
                f" {body_size(snapshot):,} bytes, {len(packed):,} compressed: more than a MongoDB"
                f" document holds ({SNAPSHOT_LIMIT:,} bytes)"
            )
        # The field "revision" holds the snapshot's seq (its stored name: store/base.py, Snapshot).
        # `body` (uncompressed, as stored before 2026-12-04) is dropped when a snapshot is replaced.
        update = {"$set": {"revision": snapshot.seq, "body_z": Binary(packed)}, "$unset": {"body": ""}}
        try:
            # Matches only a stored snapshot of no higher seq. A higher one makes the upsert
            # insert a second (kind, project) document, which the unique index refuses.
            result = await self._snapshots.update_one({**key, "revision": {"$lte": snapshot.seq}}, update, upsert=True)
        except DuplicateKeyError:
            # Either a higher seq is stored, or a concurrent first insert won the race: try again
            # as a plain conditional update.
            result = await self._snapshots.update_one({**key, "revision": {"$lte": snapshot.seq}}, update)
        return result.upserted_id is not None or result.matched_count == 1

    async def get_snapshot(self, kind: str, project_id: str) -> Snapshot | None:
        doc = await self._snapshots.find_one({"kind": kind, "project": project_id})
        if doc is None:
            return None
        if "body_z" in doc:
            return Snapshot(doc["project"], int(doc["revision"]), parts=decompressed_parts(doc["body_z"]))
        return Snapshot(doc["project"], int(doc["revision"]), doc["body"].encode())

    # dead letters

    async def add_dead_letter(self, letter: DeadLetter) -> bool:
        if await self._dead_letters.find_one({"_id": letter.id}, {"_id": 1}) is not None:
            return False
        created = await self._reserve(_DEAD_LETTERS_COUNTER, 1)
        try:
            await self._dead_letters.insert_one(
                {"_id": letter.id, "service": letter.service, "body": letter.body, "created": created}
            )
        except DuplicateKeyError:
            return False
        return True

    async def list_dead_letters(self, service: str | None = None, limit: int = 100) -> list[DeadLetter]:
        """The most recent dead letters first (of one service, or of all)."""
        if limit <= 0:
            return []
        query: Document = {} if service is None else {"service": service}
        cursor = self._dead_letters.find(query).sort("created", DESCENDING).limit(limit)
        return [DeadLetter(id=str(d["_id"]), service=d["service"], body=d["body"]) for d in await cursor.to_list()]

    # API keys

    async def put_key(self, key: ApiKey) -> None:
        doc = {
            "name": key.name,
            "role": key.role,
            "projects": list(key.projects),
            "secret_hash": key.secret_hash,
            "created_at": key.created_at,
            "revoked_at": key.revoked_at,
            "expires_at": key.expires_at,
        }
        await self._collection("api_keys").replace_one({"_id": key.id}, doc, upsert=True)

    async def get_key(self, key_id: str) -> ApiKey | None:
        doc = await self._collection("api_keys").find_one({"_id": key_id})
        return None if doc is None else _key(doc)

    async def list_keys(self) -> list[ApiKey]:
        return [_key(doc) for doc in await self._collection("api_keys").find().sort("_id", ASCENDING).to_list()]

    # audit

    async def append_audit(self, entry: AuditEntry) -> int:
        seq = await self._reserve(_AUDIT_COUNTER, 1)
        await self._collection("audit").insert_one(
            {
                "_id": seq,
                "at": entry.at,
                "actor": entry.actor,
                "role": entry.role,
                "action": entry.action,
                "project": entry.project,
                "status": entry.status,
                "detail": entry.detail,
            }
        )
        return seq

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
        query: Document = {"_id": {"$gt": after_seq}}
        if actor is not None:
            query["actor"] = actor
        if project is not None:
            query["project"] = project
        if action is not None:
            query["action"] = {"$regex": "^" + re.escape(action[:-1])} if action.endswith("*") else action
        if since is not None:
            query["at"] = {"$gte": since}
        cursor = self._collection("audit").find(query).sort("_id", ASCENDING).limit(limit)
        return [
            AuditEntry(
                at=d["at"],
                actor=d["actor"],
                role=d["role"],
                action=d["action"],
                project=d.get("project"),
                status=int(d["status"]),
                detail=d["detail"],
                seq=int(d["_id"]),
            )
            for d in await cursor.to_list()
        ]

    async def events_of_kinds(self, project_id: str, kinds: list[str]) -> list[StoredEvent]:
        wanted = sorted(set(kinds))
        if not wanted:
            return []
        cursor = self._events.find({"project": project_id, "kind": {"$in": wanted}}).sort("seq", ASCENDING)
        return [_event(doc) for doc in await cursor.to_list()]

    # browsing a project's evidence

    @staticmethod
    def _browse_query(project_id: str, where: EventFilter) -> Document:
        query: Document = {"project": project_id}
        if where.kind is not None:
            query["kind"] = where.kind
        if where.contains:
            query["body"] = {"$regex": re.escape(where.contains)}
        return query

    async def _browse_dated(self, project_id: str, where: EventFilter) -> list[StoredEvent]:
        """Every event `where` selects, dates and all: the body is stored as text, so the date of
        occurred_at is read here, not by the server."""
        low, high = where.occurred_from or "", where.occurred_until or "9999-99-99"
        out: list[StoredEvent] = []
        async for doc in self._events.find(self._browse_query(project_id, where)).sort("seq", ASCENDING):
            day = str(json.loads(doc["body"]).get("occurred_at", ""))[:10]
            if low <= day <= high:
                out.append(_event(doc))
        return out

    async def browse_events(
        self, project_id: str, where: EventFilter, *, offset: int = 0, limit: int = 100
    ) -> list[StoredEvent]:
        if limit <= 0:  # MongoDB reads limit 0 as "no limit"
            return []
        offset = max(offset, 0)
        if where.occurred_from is not None or where.occurred_until is not None:
            return (await self._browse_dated(project_id, where))[offset : offset + limit]
        cursor = self._events.find(self._browse_query(project_id, where)).sort("seq", ASCENDING)
        return [_event(doc) for doc in await cursor.skip(offset).limit(limit).to_list()]

    async def count_browsed_events(self, project_id: str, where: EventFilter) -> int:
        if where.occurred_from is not None or where.occurred_until is not None:
            return len(await self._browse_dated(project_id, where))
        return await self._events.count_documents(self._browse_query(project_id, where))

    # finalised versions (this code only ever inserts into `versions`)

    async def add_version(self, version: StoredVersion) -> int:
        versions = self._collection("versions")
        doc: Document = {name: getattr(version, name) for name in _VERSION_FIELDS}
        # Compressed as snapshots are: a year's result cites hundreds of thousands of event ids, which
        # would pass MongoDB's 16 MB document limit as text.
        doc.update(
            project=version.project,
            definition=Binary(await compressed(version.definition.encode())),
            result=Binary(await compressed(version.result.encode())),
        )
        for _ in range(_VERSION_ATTEMPTS):
            highest = await versions.find_one(
                {"project": version.project}, {"number": 1}, sort=[("number", DESCENDING)]
            )
            number = 1 if highest is None else int(highest["number"]) + 1
            try:
                # the unique (project, number) index refuses a number another finaliser took meanwhile
                await versions.insert_one({**doc, "number": number})
            except DuplicateKeyError:
                continue
            return number
        raise RuntimeError(
            f"no version number could be taken for project {version.project!r} in {_VERSION_ATTEMPTS} attempts"
        )

    async def list_versions(self, project_id: str) -> list[VersionRecord]:
        cursor = (
            self._collection("versions")
            .find({"project": project_id}, {"definition": 0, "result": 0})
            .sort("number", ASCENDING)
        )
        return [_version_record(doc) for doc in await cursor.to_list()]

    async def get_version(self, project_id: str, number: int) -> StoredVersion | None:
        doc = await self._collection("versions").find_one({"project": project_id, "number": number})
        if doc is None:
            return None
        return StoredVersion(
            **vars(_version_record(doc)),
            definition=decompressed(doc["definition"]).decode(),
            result=decompressed(doc["result"]).decode(),
        )


def _version_record(doc: Mapping[str, Any]) -> VersionRecord:
    return VersionRecord(doc["project"], int(doc["number"]), *(doc[name] for name in _VERSION_FIELDS))


def _key(doc: Mapping[str, Any]) -> ApiKey:
    return ApiKey(
        id=str(doc["_id"]),
        name=doc["name"],
        role=doc["role"],
        projects=tuple(doc["projects"]),
        secret_hash=doc["secret_hash"],
        created_at=doc["created_at"],
        revoked_at=doc.get("revoked_at"),
        expires_at=doc.get("expires_at"),
    )
