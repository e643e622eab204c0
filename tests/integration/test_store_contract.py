"""The `Store` contract, one test per behaviour, run against every backend.

SQLite always runs (a file under tmp_path); MongoDB runs on the server OPSEVAL_MONGO_URL points at, or
else on SecantusDB started by the harness (tests/mongofixtures.py); each test gets its own database,
dropped afterwards, so tests can share the server. A `Backend`
makes any number of store objects on the same database: a second object stands for a second
process (or a restart).
"""

from __future__ import annotations

import asyncio
import base64
import multiprocessing
import os
import threading
import uuid
import zlib
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest
from bson import Binary
from mongofixtures import RunningMongo
from opseval_infra.store.base import (
    ApiKey,
    AuditEntry,
    DeadLetter,
    EventConflict,
    EventFilter,
    Snapshot,
    SnapshotTooLarge,
    Store,
    StoredEvent,
    StoredProject,
    StoredVersion,
    VersionRecord,
)
from opseval_infra.store.factory import open_store
from opseval_infra.store.frames import FRAME_FROM
from opseval_infra.store.mongo import MongoStore
from opseval_infra.store.sqlite import SqliteStore

ZSTD_FRAME = b"\x28\xb5\x2f\xfd"  # how a Zstandard frame begins (RFC 8878)

Scenario = Callable[[Store], Awaitable[None]]


# backends


@dataclass(frozen=True)
class Spec:
    """Where a backend's database is: picklable, so a spawned process can open it too."""

    kind: str  # "sqlite" | "mongo"
    location: str  # the SQLite file, or the MongoDB URL
    database: str = ""

    def make(self) -> Store:
        if self.kind == "sqlite":
            return open_store(f"sqlite:///{self.location}")  # an absolute path: sqlite:////tmp/...
        return MongoStore(self.location, database=self.database)


@dataclass(frozen=True)
class Backend:
    spec: Spec
    mongo: RunningMongo | None = None

    def before_racing_writers(self) -> None:
        """Called by a test whose writers race on its new database (see RunningMongo.create_sequence_counters)."""
        if self.mongo is not None:
            self.mongo.create_sequence_counters(self.spec.database)

    def make(self) -> Store:
        """A new, unopened store object on this backend's database."""
        return self.spec.make()

    def run(self, scenario: Scenario) -> None:
        """Run `scenario` on a freshly opened store object, closing it afterwards."""

        async def main() -> None:
            store = self.make()
            await store.open()
            try:
                await scenario(store)
            finally:
                await store.close()

        asyncio.run(main())


@pytest.fixture(params=["sqlite", "mongo"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        path = tmp_path / "store" / "opseval.db"  # the directory does not exist yet: open() makes it
        yield Backend(Spec("sqlite", str(path)))
        return
    mongo: RunningMongo = request.getfixturevalue("mongo")  # skips, saying why, when there is no MongoDB
    database = f"opseval_test_{uuid.uuid4().hex[:16]}"
    try:
        yield Backend(Spec("mongo", mongo.url, database), mongo)
    finally:
        mongo.drop(database)


def event(project: str, name: str, body: str | None = None, kind: str = "incident") -> StoredEvent:
    return StoredEvent(
        id=f"{project}:{name}", project=project, kind=kind, body=body or f'{{"event":"{project}:{name}"}}'
    )


def without_seq(events: list[StoredEvent]) -> list[tuple[str, str, str, str]]:
    return [(e.id, e.project, e.kind, e.body) for e in events]


# evidence


def test_adding_events_is_idempotent(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        a, b, c = event("p", "a"), event("p", "b"), event("p", "c")
        assert await store.add_events([a, b]) == [True, True]
        assert await store.add_events([a, b]) == [False, False]  # a replay
        assert await store.add_events([b, c]) == [False, True]  # part replay, part new
        assert await store.add_events([c, event("p", "d"), event("p", "d")]) == [False, True, False]
        assert await store.add_events([]) == []
        stored = await store.events_after("p", 0)
        assert without_seq(stored) == without_seq([a, b, c, event("p", "d")])
        assert all(e.seq > 0 for e in stored)

    backend.run(scenario)


def test_a_conflict_anywhere_in_a_batch_inserts_nothing(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        stored = event("p", "stored")
        assert await store.add_events([stored]) == [True]
        changed = event("p", "stored", body='{"event":"something else"}')
        fresh = [event("p", "new-1"), event("p", "new-2")]

        with pytest.raises(EventConflict) as refused:
            await store.add_events([fresh[0], changed, fresh[1]])  # conflicts with what is stored
        assert refused.value.event_id == "p:stored"

        other_kind = event("p", "stored", kind="budget")  # same id and body, another kind: not the same event
        with pytest.raises(EventConflict):
            await store.add_events([fresh[0], other_kind])

        twin = event("p", "twin")
        with pytest.raises(EventConflict) as refused:  # conflicts within the batch itself
            await store.add_events([*fresh, twin, event("p", "twin", body='{"other":1}')])
        assert refused.value.event_id == "p:twin"

        assert await store.count_events("p") == 1
        assert await store.get_events("p", [e.id for e in [*fresh, twin]]) == []
        assert without_seq(await store.events_after("p", 0)) == without_seq([stored])
        # the refused batches left nothing behind: the valid events go in afterwards
        assert await store.add_events([*fresh, twin]) == [True, True, True]

    backend.run(scenario)


def test_events_come_back_in_sequence_order_page_by_page(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        expected: list[StoredEvent] = []
        for batch in range(5):  # two projects interleaved, ids deliberately out of alphabetical order
            mine = [event("p", f"{9 - batch}-{i}") for i in range(5)]
            await store.add_events([*mine, event("other", f"{batch}")])
            expected.extend(mine)

        everything = await store.events_after("p", 0)
        assert without_seq(everything) == without_seq(expected)
        seqs = [e.seq for e in everything]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)

        paged: list[StoredEvent] = []
        cursor = 0
        while page := await store.events_after("p", cursor, limit=4):
            assert len(page) <= 4
            paged.extend(page)
            cursor = page[-1].seq
        assert paged == everything

        assert await store.events_after("p", seqs[-1]) == []
        assert await store.events_after("p", seqs[9], limit=3) == everything[10:13]
        assert await store.events_after("p", 0, limit=0) == []
        assert await store.events_after("nobody", 0) == []

        later = event("p", "0-later")
        await store.add_events([later])
        newest = await store.events_after("p", seqs[-1])
        assert without_seq(newest) == without_seq([later]) and newest[0].seq > seqs[-1]

    backend.run(scenario)


def test_events_after_stops_at_the_sequence_number_asked_up_to(backend: Backend) -> None:
    """How the scoring service folds exactly the events the rules' findings were computed from."""

    async def scenario(store: Store) -> None:
        await store.add_events([event("p", f"{i}") for i in range(6)])
        everything = await store.events_after("p", 0)
        seqs = [e.seq for e in everything]
        assert await store.events_after("p", 0, upto=seqs[3]) == everything[:4]
        assert await store.events_after("p", seqs[1], upto=seqs[3]) == everything[2:4]
        assert await store.events_after("p", seqs[1], limit=1, upto=seqs[3]) == everything[2:3]
        assert await store.events_after("p", seqs[3], upto=seqs[3]) == []
        assert await store.events_after("p", seqs[4], upto=seqs[3]) == []
        assert await store.events_after("p", 0, upto=seqs[-1] + 100) == everything

    backend.run(scenario)


def test_count_events_counts_one_project(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        assert await store.count_events("p") == 0
        await store.add_events([event("p", str(i)) for i in range(7)] + [event("q", str(i)) for i in range(3)])
        await store.add_events([event("p", "0"), event("p", "1")])  # replays are not counted twice
        assert await store.count_events("p") == 7
        assert await store.count_events("q") == 3
        assert await store.count_events("nobody") == 0

    backend.run(scenario)


def test_get_events_returns_the_projects_known_ids_and_find_events_any_projects_in_id_order(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        mine = [event("p", name) for name in ("c", "a", "b")]
        theirs = event("q", "x")
        await store.add_events([*mine, theirs])

        found = await store.get_events("p", ["p:b", "p:unknown", theirs.id, "p:a", "p:c", "p:a"])
        assert [e.id for e in found] == ["p:a", "p:b", "p:c"]
        assert without_seq(found) == without_seq(sorted(mine, key=lambda e: e.id))
        by_id = {e.id: e.seq for e in await store.events_after("p", 0)}
        assert all(e.seq == by_id[e.id] for e in found)
        assert await store.get_events("q", [e.id for e in mine]) == []
        assert await store.get_events("p", []) == []
        many = [f"p:missing-{i}" for i in range(1_200)] + ["p:b"]  # more ids than one query takes
        assert [e.id for e in await store.get_events("p", many)] == ["p:b"]
        # find_events looks in every project
        assert [e.id for e in await store.find_events([theirs.id, "p:a", "nobody:z", "p:a"])] == ["p:a", theirs.id]
        assert [e.id for e in await store.find_events(many)] == ["p:b"]
        assert await store.find_events([]) == []

    backend.run(scenario)


def test_browse_events_pages_a_projects_events_by_kind_date_and_text_and_counts_them(backend: Backend) -> None:
    def body(name: str, when: str, staff: str) -> str:
        return f'{{"id":"p:{name}","occurred_at":"{when}","payload":{{"staff":"{staff}","note":"100%_done"}}}}'

    async def scenario(store: Store) -> None:
        clocks = [
            event("p", f"c{i}", body(f"c{i}", f"2023-01-{i:02d}T08:00:00+08:00", ("李四", "张三")[i % 2]), "clock_in")
            for i in range(1, 11)
        ]
        others = [event("p", "r1", body("r1", "2023-01-03T00:00:00+08:00", "张三"), "roster_entry")]
        theirs = [event("q", "c1", body("c1", "2023-01-01T08:00:00+08:00", "张三"), "clock_in")]
        await store.add_events([*clocks[:5], *others, *theirs, *clocks[5:]])

        every_clock = EventFilter(kind="clock_in")
        assert await store.count_browsed_events("p", every_clock) == 10
        first = await store.browse_events("p", every_clock, offset=0, limit=4)
        second = await store.browse_events("p", every_clock, offset=4, limit=4)
        last = await store.browse_events("p", every_clock, offset=8, limit=4)
        assert [e.id for e in first + second + last] == [e.id for e in clocks]  # store order, no overlap
        assert [e.seq for e in first + second + last] == sorted(e.seq for e in first + second + last)
        assert await store.browse_events("p", every_clock, offset=10, limit=4) == []
        assert await store.browse_events("p", every_clock, limit=0) == []

        assert await store.count_browsed_events("p", EventFilter()) == 11  # every kind, only this project
        assert await store.count_browsed_events("nobody", EventFilter()) == 0

        # dates: the event's own calendar date, both ends inclusive
        january_3_to_5 = EventFilter(kind="clock_in", occurred_from="2023-01-03", occurred_until="2023-01-05")
        assert [e.id for e in await store.browse_events("p", january_3_to_5)] == ["p:c3", "p:c4", "p:c5"]
        assert await store.count_browsed_events("p", january_3_to_5) == 3
        paged = await store.browse_events("p", january_3_to_5, offset=1, limit=1)
        assert [e.id for e in paged] == ["p:c4"]
        since_9 = EventFilter(occurred_from="2023-01-09")
        assert [e.id for e in await store.browse_events("p", since_9)] == ["p:c9", "p:c10"]

        # text: a plain substring (LIKE and regex characters are characters), with the other filters
        zhang = EventFilter(kind="clock_in", contains="张三", occurred_until="2023-01-05")
        assert [e.id for e in await store.browse_events("p", zhang)] == ["p:c1", "p:c3", "p:c5"]
        assert await store.count_browsed_events("p", EventFilter(contains="张三")) == 6  # 5 clock-ins, the roster
        assert await store.count_browsed_events("p", EventFilter(contains="100%_done")) == 11
        assert await store.count_browsed_events("p", EventFilter(contains="100_%")) == 0
        assert await store.count_browsed_events("p", EventFilter(contains=".*")) == 0
        assert await store.count_browsed_events("p", EventFilter(contains="王五")) == 0

    backend.run(scenario)


# projects


def test_events_of_kinds_returns_one_projects_events_of_those_kinds_in_sequence_order(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        await store.add_events(
            [
                event("p", "z-judged", kind="judgment"),
                event("p", "fault"),
                event("q", "their-judgment", kind="judgment"),
                event("p", "a-withdrawn", kind="retraction"),
                event("p", "b-judged", kind="judgment"),
            ]
        )
        found = await store.events_of_kinds("p", ["judgment", "retraction", "judgment"])
        assert [e.id for e in found] == ["p:z-judged", "p:a-withdrawn", "p:b-judged"]
        assert [e.seq for e in found] == sorted(e.seq for e in found)
        assert [e.id for e in await store.events_of_kinds("p", ["judgment"])] == ["p:z-judged", "p:b-judged"]
        assert await store.events_of_kinds("p", []) == []
        assert await store.events_of_kinds("nobody", ["judgment"]) == []

    backend.run(scenario)


def test_projects_are_put_replaced_and_listed(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        assert await store.get_project("b") is None
        assert await store.list_projects() == []
        b1 = StoredProject(id="b", revision="r1", definition='{"name":"b"}')
        assert await store.put_project(b1) is True
        assert await store.put_project(b1) is False  # the same revision again
        assert await store.get_project("b") == b1

        b2 = StoredProject(id="b", revision="r2", definition='{"name":"b","v":2}')
        assert await store.put_project(b2) is True
        assert await store.get_project("b") == b2
        assert await store.put_project(b1) is True  # another revision, even an older one, replaces it
        assert await store.get_project("b") == b1

        a = StoredProject(id="a", revision="r1", definition='{"name":"a"}')
        assert await store.put_project(a) is True
        assert await store.list_projects() == [a, b1]

    backend.run(scenario)


# snapshots


def test_snapshots_never_regress_to_a_lower_seq(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        assert await store.get_snapshot("findings", "p") is None
        r5 = Snapshot(project="p", seq=5, body=b'{"r":5}')
        assert await store.put_snapshot("findings", r5) is True
        assert await store.put_snapshot("findings", Snapshot(project="p", seq=3, body=b'{"r":3}')) is False
        assert await store.get_snapshot("findings", "p") == r5

        r5_again = Snapshot(project="p", seq=5, body=b'{"r":5,"again":true}')
        assert await store.put_snapshot("findings", r5_again) is True  # the same seq: replaced
        assert await store.get_snapshot("findings", "p") == r5_again
        assert await store.put_snapshot("findings", r5_again) is True

        r9 = Snapshot(project="p", seq=9, body=b'{"r":9}')
        assert await store.put_snapshot("findings", r9) is True
        assert await store.get_snapshot("findings", "p") == r9

        # kinds and projects are separate
        scores = Snapshot(project="p", seq=1, body=b'{"score":1}')
        assert await store.put_snapshot("scores", scores) is True
        assert await store.get_snapshot("scores", "p") == scores
        assert await store.get_snapshot("findings", "p") == r9
        assert await store.get_snapshot("findings", "q") is None

    backend.run(scenario)


def test_a_snapshot_citing_a_years_evidence_is_stored_whole_and_replaced(backend: Backend) -> None:
    """Over 16 MB of result (MongoDB's document limit): a year of a large building cites a million
    event ids; the result, the scores and the findings snapshots all carry them."""
    ids = [f"ym-clock-2023-{i:07d}" for i in range(1_000_000)]
    large = Snapshot(project="p", seq=1_000_000, body=('{"evidence": ["' + '", "'.join(ids) + '"]}').encode())
    assert len(large.body) > 16 * 1024 * 1024

    async def scenario(store: Store) -> None:
        assert await store.put_snapshot("result", large) is True
        assert await store.get_snapshot("result", "p") == large
        later = Snapshot(project="p", seq=1_000_001, body=b'{"evidence": []}')
        assert await store.put_snapshot("result", later) is True
        assert await store.get_snapshot("result", "p") == later

    backend.run(scenario)


def test_a_snapshot_written_in_parts_reads_back_as_their_bytes_joined(backend: Backend) -> None:
    """The services write a result as the parts `apart_parts` makes (large: compressed part by part;
    small: kept as it is stored for any body)."""
    ids = "\n".join(f"ym-clock-2023-{i:07d}" for i in range(200_000)).encode()
    large = Snapshot(project="p", seq=7, parts=(b'{"evidence": "', ids, b'", "again": "', ids, b'"}'))
    small = Snapshot(project="q", seq=1, parts=(b'{"r":', b"1", b"}"))

    async def scenario(store: Store) -> None:
        assert await store.put_snapshot("result", large) is True
        assert await store.put_snapshot("result", small) is True
        read = await store.get_snapshot("result", "p")
        assert read == Snapshot("p", 7, b"".join(large.parts()))
        assert await store.get_snapshot("result", "q") == Snapshot("q", 1, b'{"r":1}')
        # Read back in parts, a frame's content each: a long part is the very object the last read
        # gave (what `evidence_apart` takes a run by), and the body is never joined unless asked.
        again = await store.get_snapshot("result", "p")
        assert read is not None and again is not None
        long_parts = [(a, b) for a, b in zip(read.parts(), again.parts(), strict=True) if len(a) >= FRAME_FROM]
        assert [len(a) for a, _ in long_parts] == [len(ids), len(ids)]
        assert all(a is b for a, b in long_parts)
        assert await store.put_snapshot("result", Snapshot("p", 6, parts=(b"{}",))) is False  # lower seq

    backend.run(scenario)


def test_sqlite_keeps_a_large_snapshot_compressed_and_reads_one_stored_as_text(tmp_path: Path) -> None:
    """A result citing a year's evidence is a fraction of its JSON in the file (and of what each change
    writes); a small one, and every one stored before 2026-12-04, is the text itself; one compressed
    with zlib, as large ones were until Zstandard, is still read."""
    ids = [f"ym-clock-2023-{i:07d}" for i in range(200_000)]
    large = Snapshot(project="p", seq=2, body=('{"evidence": ["' + '", "'.join(ids) + '"]}').encode())
    small = Snapshot(project="p", seq=3, body=b'{"total": 80}')

    async def scenario() -> None:
        store = SqliteStore(str(tmp_path / "opseval.db"))
        await store.open()
        try:
            # as stored before: the body as text
            await store._write(
                lambda conn: conn.execute(
                    "INSERT INTO snapshots (kind, project, revision, body) VALUES ('result', 'p', 1, '{}')"
                )
            )
            assert await store.get_snapshot("result", "p") == Snapshot(project="p", seq=1, body=b"{}")
            assert await store.put_snapshot("result", large) is True
            assert await store.get_snapshot("result", "p") == large
            assert await store.put_snapshot("scores", small) is True
            assert await store.get_snapshot("scores", "p") == small
            kept = await store._run(
                lambda conn: conn.execute("SELECT kind, typeof(body), length(body) FROM snapshots").fetchall()
            )
            sizes = {kind: (kind_of, length) for kind, kind_of, length in kept}
            assert sizes["result"][0] == "blob" and sizes["result"][1] < len(large.body) / 8
            assert sizes["scores"] == ("text", len(small.body))
            stored = await store._run(
                lambda conn: conn.execute("SELECT body FROM snapshots WHERE kind = 'result'").fetchone()
            )
            assert stored[0].startswith(ZSTD_FRAME)
            await store._write(
                lambda conn: conn.execute(
                    "UPDATE snapshots SET body = ? WHERE kind = 'result'", (zlib.compress(large.body, 1),)
                )
            )
            assert await store.get_snapshot("result", "p") == large
        finally:
            await store.close()

    asyncio.run(scenario())


def test_a_projects_fold_state_kept_by_one_process_is_taken_up_by_the_next(backend: Backend) -> None:
    """LedgerCache keeps fold states as snapshots (kind fold.<service>): what one store object kept on
    shutdown another (a restarted process) restores, folding only the events stored since."""
    from datetime import date

    from opseval_infra.projects import LedgerCache, fold_kind
    from opseval_intake.bundle import evidence_files, load_definition
    from opseval_reporting.pipeline import evaluate_ledger
    from opseval_shared.evidence import parse_evidence_json

    bundle = Path(__file__).resolve().parents[2] / "examples" / "dongguan-2022"
    definition = load_definition(bundle)
    pid = definition.project.id
    lines = [ln for f in evidence_files(bundle) for ln in f.read_text(encoding="utf-8").splitlines() if ln.strip()]
    parsed = {e.id: e for e in (parse_evidence_json(ln) for ln in lines)}
    rows = [StoredEvent(e.id, pid, e.kind.value, e.model_dump_json()) for e in parsed.values()]
    day, kind = date(2023, 5, 31), fold_kind("rules")

    async def first(store: Store) -> None:
        await store.put_project(StoredProject(pid, "r1", definition.model_dump_json()))
        await store.add_events(rows[:-10])
        cache = LedgerCache(store, today=lambda: day, snapshot_kind=kind)
        assert await cache.refresh(pid) is not None
        await cache.save_all()
        await store.add_events(rows[-10:])

    async def second(store: Store) -> None:
        kept = await store.get_snapshot(kind, pid)
        assert kept is not None and kept.seq == len(rows) - 10
        read: list[int] = []
        events_after = store.events_after

        async def counted(project_id: str, seq: int, limit: int = 10_000, upto: int | None = None) -> list[StoredEvent]:
            page = await events_after(project_id, seq, limit, upto)
            read.append(len(page))
            return page

        store.events_after = counted  # type: ignore[method-assign]
        cache = LedgerCache(store, today=lambda: day, snapshot_kind=kind)
        taken_up = await cache.refresh(pid)
        assert sum(read) == 10  # only the events stored after the state was kept
        store.events_after = events_after  # type: ignore[method-assign]
        fresh = await LedgerCache(store, today=lambda: day).refresh(pid)
        assert taken_up is not None and fresh is not None and taken_up.events_folded == len(rows)
        assert evaluate_ledger(taken_up.ledger).model_dump_json() == evaluate_ledger(fresh.ledger).model_dump_json()

    backend.run(first)
    backend.run(second)


def test_mongo_reads_a_snapshot_stored_uncompressed_and_refuses_one_no_document_holds(mongo: RunningMongo) -> None:
    backend = Backend(Spec("mongo", mongo.url, f"opseval_test_{uuid.uuid4().hex[:16]}"), mongo)

    async def scenario(store: Store) -> None:
        assert isinstance(store, MongoStore)
        # as stored before 2026-12-04: the body as text
        await store._collection("snapshots").insert_one({"kind": "scores", "project": "p", "revision": 4, "body": "{}"})
        assert await store.get_snapshot("scores", "p") == Snapshot(project="p", seq=4, body=b"{}")
        replaced = Snapshot(project="p", seq=5, body=b'{"total": 80}')
        assert await store.put_snapshot("scores", replaced) is True
        stored = await store._collection("snapshots").find_one({"kind": "scores", "project": "p"})
        assert stored is not None and "body" not in stored and stored["body_z"].startswith(ZSTD_FRAME)
        assert await store.get_snapshot("scores", "p") == replaced
        # as compressed until Zstandard: zlib
        await store._collection("snapshots").update_one(
            {"kind": "scores", "project": "p"}, {"$set": {"body_z": Binary(zlib.compress(b'{"total": 79}', 1))}}
        )
        assert await store.get_snapshot("scores", "p") == Snapshot(project="p", seq=5, body=b'{"total": 79}')
        # random text hardly compresses (base64: 6 bits a character): 24 MB of it cannot be held
        noise = base64.b64encode(os.urandom(18 * 1024 * 1024))
        with pytest.raises(SnapshotTooLarge, match="the result snapshot of project 'p'"):
            await store.put_snapshot("result", Snapshot(project="p", seq=1, body=noise))
        assert await store.get_snapshot("result", "p") is None

    try:
        backend.run(scenario)
    finally:
        mongo.drop(backend.spec.database)


# dead letters


def test_dead_letters_are_idempotent_and_filtered_by_service(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        assert await store.list_dead_letters() == []
        letters = [
            DeadLetter(id=f"dl-{i}", service="rules" if i % 2 else "scoring", body=f'{{"n":{i}}}') for i in range(6)
        ]
        for letter in letters:
            assert await store.add_dead_letter(letter) is True
        assert await store.add_dead_letter(letters[0]) is False
        assert await store.add_dead_letter(DeadLetter(id="dl-0", service="rules", body="{}")) is False  # first wins

        newest_first = list(reversed(letters))
        assert await store.list_dead_letters() == newest_first
        assert await store.list_dead_letters("rules") == [x for x in newest_first if x.service == "rules"]
        assert await store.list_dead_letters("scoring", limit=2) == [letters[4], letters[2]]
        assert await store.list_dead_letters("intake") == []
        assert await store.list_dead_letters(limit=0) == []

    backend.run(scenario)


# lifecycle


def test_keys_are_put_replaced_and_listed_revoked_ones_included(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        a = ApiKey(
            "kaaaaaaaaaaaa", "考勤系统", "upstream", ("p1", "p2"), "sha256:" + "0" * 64, "2026-11-21T08:00:00.000+00:00"
        )
        b = ApiKey(
            "kbbbbbbbbbbbb", "评价组", "evaluator", ("*",), "sha256:" + "1" * 64, "2026-11-21T08:01:00.000+00:00"
        )
        assert await store.get_key(a.id) is None
        await store.put_key(b)
        await store.put_key(a)
        assert await store.get_key(a.id) == a
        revoked = replace(a, projects=("p3",), revoked_at="2026-11-21T09:00:00.000+00:00")
        await store.put_key(revoked)
        assert await store.get_key(a.id) == revoked
        assert await store.list_keys() == [revoked, b]

    backend.run(scenario)


def audit_entry(
    actor: str, action: str, project: str | None = None, at: str = "2026-11-21T08:00:00.000+00:00"
) -> AuditEntry:
    return AuditEntry(at, actor, "upstream", action, project, 200, '{"n": 1}')


def test_the_audit_trail_appends_in_order_and_filters(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        entries = [
            audit_entry("k1", "evidence.push", "p1", "2026-11-21T08:00:00.000+00:00"),
            audit_entry("k2", "scores.read", "p2", "2026-11-21T08:00:01.000+00:00"),
            audit_entry("k1", "key.create", None, "2026-11-21T08:00:02.000+00:00"),
            audit_entry("k1", "key_create", None, "2026-11-21T08:00:03.000+00:00"),  # _ is no wildcard
            audit_entry("k1", "key.revoke", "p1", "2026-11-21T08:00:04.000+00:00"),
        ]
        seqs = [await store.append_audit(e) for e in entries]
        assert seqs == sorted(seqs) and len(set(seqs)) == 5
        everything = await store.list_audit()
        assert [replace(e, seq=0) for e in everything] == entries and [e.seq for e in everything] == seqs
        assert [e.seq for e in await store.list_audit(actor="k1")] == [seqs[0], *seqs[2:]]
        assert [e.seq for e in await store.list_audit(project="p1")] == [seqs[0], seqs[4]]
        assert [e.action for e in await store.list_audit(action="key.*")] == ["key.create", "key.revoke"]
        assert [e.action for e in await store.list_audit(action="key%")] == []
        assert [e.seq for e in await store.list_audit(since="2026-11-21T08:00:02.000+00:00")] == seqs[2:]
        assert [e.seq for e in await store.list_audit(after_seq=seqs[1], limit=2)] == seqs[2:4]
        assert await store.list_audit(limit=0) == []

    backend.run(scenario)


# finalised versions


def version(project: str, note: str, result: str = '{"total": "80"}') -> StoredVersion:
    return StoredVersion(
        project=project,
        number=0,
        as_of="2022-12-31",
        total="80.5",
        grade="良",
        finalised_at="2026-12-04T10:00:00.000+00:00",
        finalised_by="东莞评价组",
        finalised_role="evaluator",
        finalised_key="k0123456789ab",
        note=note,
        definition_revision="rev-1",
        definition='{"project": {}}',
        result=result,
    )


def header(stored: StoredVersion, number: int) -> VersionRecord:
    return VersionRecord(**{k: v for k, v in vars(replace(stored, number=number)).items() if k in HEADER_FIELDS})


HEADER_FIELDS = set(VersionRecord.__dataclass_fields__)


def test_versions_are_numbered_per_project_from_1_and_read_back_unchanged(backend: Backend) -> None:
    async def scenario(store: Store) -> None:
        assert await store.list_versions("p") == [] and await store.get_version("p", 1) is None
        first, second = version("p", "初稿定稿"), version("p", "补充佐证后再次定稿", result='{"total": "82"}')
        other = version("q", "另一项目")
        assert await store.add_version(replace(first, number=7)) == 1  # the number given is ignored
        assert await store.add_version(other) == 1  # numbering is per project
        assert await store.add_version(second) == 2
        assert await store.list_versions("p") == [header(first, 1), header(second, 2)]
        assert all(type(v) is VersionRecord for v in await store.list_versions("p"))  # no bodies in a listing
        assert await store.get_version("p", 2) == replace(second, number=2)
        assert await store.get_version("q", 1) == replace(other, number=1)
        assert await store.get_version("p", 3) is None and await store.get_version("r", 1) is None

    backend.run(scenario)


def test_a_version_citing_a_years_evidence_is_stored_whole(backend: Backend) -> None:
    """Over 16 MB of result (MongoDB's document limit): a year of a building cites that many event ids."""
    ids = [f"attendance-2024-{i:07d}" for i in range(800_000)]
    large = replace(version("p", "全年"), result='{"evidence": ["' + '", "'.join(ids) + '"]}')
    assert len(large.result) > 16 * 1024 * 1024

    async def scenario(store: Store) -> None:
        assert await store.add_version(large) == 1
        assert await store.get_version("p", 1) == replace(large, number=1)

    backend.run(scenario)


def test_mongo_reads_a_version_compressed_as_until_zstandard(mongo: RunningMongo) -> None:
    backend = Backend(Spec("mongo", mongo.url, f"opseval_test_{uuid.uuid4().hex[:16]}"), mongo)
    kept = version("p", "初稿定稿")

    async def scenario(store: Store) -> None:
        assert isinstance(store, MongoStore)
        assert await store.add_version(kept) == 1
        as_before = {name: Binary(zlib.compress(getattr(kept, name).encode())) for name in ("definition", "result")}
        await store._collection("versions").update_one({"project": "p", "number": 1}, {"$set": as_before})
        assert await store.get_version("p", 1) == replace(kept, number=1)

    try:
        backend.run(scenario)
    finally:
        mongo.drop(backend.spec.database)


def test_a_store_offers_no_way_to_change_or_remove_a_version(backend: Backend) -> None:
    store = backend.make()
    verbs = [name for name in dir(store) if "version" in name and not name.startswith("_")]
    assert sorted(verbs) == ["add_version", "get_version", "list_versions"]


def test_concurrent_finalisers_take_numbers_without_gaps_or_duplicates(backend: Backend) -> None:
    """Two store objects (two reporting replicas), each in its own thread, finalise at once."""
    start = threading.Barrier(2)
    taken: dict[int, list[int]] = {}
    failures: list[BaseException] = []

    async def setup(store: Store) -> None:
        await store.add_version(version("p", "first"))  # the database and its indexes exist before the race

    backend.run(setup)

    def worker(n: int) -> None:
        async def main() -> None:
            store = backend.make()
            await store.open()
            try:
                start.wait(timeout=60)
                taken[n] = [await store.add_version(version("p", f"w{n}-{i}")) for i in range(15)]
            finally:
                await store.close()

        try:
            asyncio.run(main())
        except BaseException as error:
            start.abort()
            failures.append(error)

    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a finaliser is stuck"
    assert not failures, failures
    assert sorted(taken[1] + taken[2]) == list(range(2, 32))

    async def check(store: Store) -> None:
        listed = await store.list_versions("p")
        assert [v.number for v in listed] == list(range(1, 32))
        # each number holds the note of the call that was answered that number
        by_number = {v.number: v.note for v in listed}
        for n in (1, 2):
            assert [by_number[number] for number in taken[n]] == [f"w{n}-{i}" for i in range(15)]

    backend.run(check)


def test_ping(backend: Backend) -> None:
    async def main() -> None:
        store = backend.make()
        assert await store.ping() is False  # not open yet
        await store.open()
        await store.open()  # opening twice is harmless
        assert await store.ping() is True
        await store.close()
        assert await store.ping() is False
        await store.close()  # so is closing twice

    asyncio.run(main())


def test_reopening_keeps_everything(backend: Backend) -> None:
    project = StoredProject(id="p", revision="r1", definition="{}")
    snapshot = Snapshot(project="p", seq=4, body=b"{}")
    letter = DeadLetter(id="dl", service="rules", body="{}")
    first = [event("p", str(i)) for i in range(10)]
    before: list[StoredEvent] = []

    async def write(store: Store) -> None:
        await store.add_events(first)
        await store.put_project(project)
        await store.put_snapshot("scores", snapshot)
        await store.add_dead_letter(letter)
        await store.add_version(version("p", "定稿"))
        before.extend(await store.events_after("p", 0))

    async def read(store: Store) -> None:
        assert await store.events_after("p", 0) == before
        assert await store.count_events("p") == 10
        assert await store.get_project("p") == project
        assert await store.list_projects() == [project]
        assert await store.get_snapshot("scores", "p") == snapshot
        assert await store.list_dead_letters() == [letter]
        assert await store.get_version("p", 1) == replace(version("p", "定稿"), number=1)
        assert await store.add_version(version("p", "再次定稿")) == 2
        # still idempotent across the restart, and new events sort after the old ones
        assert await store.add_events(first) == [False] * 10
        assert await store.add_dead_letter(letter) is False
        await store.add_events([event("p", "after-restart")])
        assert (await store.events_after("p", before[-1].seq))[0].id == "p:after-restart"

    backend.run(write)
    backend.run(read)


# concurrency


def test_many_store_objects_can_open_a_new_database_at_once(backend: Backend) -> None:
    """Eight services starting together: the schema (or the indexes) are created once, without errors."""
    backend.before_racing_writers()
    start = threading.Barrier(8)
    failures: list[BaseException] = []

    def worker(n: int) -> None:
        async def main() -> None:
            store = backend.make()
            start.wait(timeout=60)
            await store.open()
            try:
                assert await store.ping()
                assert await store.add_events([event("p", f"opener-{n}")]) == [True]
            finally:
                await store.close()

        try:
            asyncio.run(main())
        except BaseException as error:
            start.abort()
            failures.append(error)

    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "an opener is stuck"
    assert not failures, failures

    async def check(store: Store) -> None:
        assert await store.count_events("p") == 8

    backend.run(check)


def test_two_store_objects_writing_at_once_lose_nothing(backend: Backend) -> None:
    """Two store objects on one database (two services), each in its own thread and event loop."""
    backend.before_racing_writers()
    shared = [event("p", f"shared-{i}") for i in range(100)]  # both write these: each goes in once
    start = threading.Barrier(2)
    inserted: dict[int, list[bool]] = {}
    failures: list[BaseException] = []

    def worker(n: int) -> None:
        async def main() -> None:
            store = backend.make()
            start.wait(timeout=60)  # both open the new database at the same moment, then write at once
            await store.open()
            try:
                mine = [event("p", f"w{n}-{i}") for i in range(200)]
                results: list[bool] = []
                for i in range(0, 200, 4):
                    results += await store.add_events(mine[i : i + 4])
                    results += await store.add_events(shared[i // 2 : i // 2 + 2])
                    await store.put_snapshot("findings", Snapshot(project="p", seq=i, body=f'{{"w":{n}}}'.encode()))
                inserted[n] = results
            finally:
                await store.close()

        try:
            asyncio.run(main())
        except BaseException as error:
            start.abort()  # the other worker must not wait for this one forever
            failures.append(error)

    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads), "a writer is stuck"
    assert not failures, failures
    # own events always inserted; each shared event inserted by exactly one of the two
    for n in (1, 2):
        assert len(inserted[n]) == 300
    own = [r for n in (1, 2) for i, r in enumerate(inserted[n]) if i % 6 < 4]
    races = [r for n in (1, 2) for i, r in enumerate(inserted[n]) if i % 6 >= 4]
    assert all(own) and races.count(True) == 100 and races.count(False) == 100

    async def check(store: Store) -> None:
        stored = await store.events_after("p", 0)
        assert len(stored) == 500 and await store.count_events("p") == 500
        assert len({e.id for e in stored}) == 500
        seqs = [e.seq for e in stored]
        assert seqs == sorted(seqs) and len(set(seqs)) == 500
        latest = await store.get_snapshot("findings", "p")
        assert latest is not None and latest.seq == 196

    backend.run(check)


def _insert_from_another_process(spec: Spec, worker: int, count: int, start: threading.Barrier) -> list[bool]:
    async def main() -> list[bool]:
        store = spec.make()
        start.wait(timeout=60)  # both open the new database (create the schema) at the same moment
        await store.open()
        try:
            results: list[bool] = []
            for i in range(count):
                results += await store.add_events([event("p", f"proc{worker}-{i}")])
            return results
        finally:
            await store.close()

    return asyncio.run(main())


def _child(
    spec: Spec, worker: int, count: int, start: threading.Barrier, done: multiprocessing.Queue[tuple[int, int | str]]
) -> None:
    try:
        results = _insert_from_another_process(spec, worker, count, start)
        done.put((worker, results.count(True)))
    except BaseException as error:
        start.abort()  # the other process must not wait for this one forever
        done.put((worker, repr(error)))
        raise


def test_two_processes_writing_at_once_lose_nothing(backend: Backend) -> None:
    """Two spawned processes open the same (new) database and insert 500 distinct events each, one
    transaction per event; both create the schema at the same moment."""
    backend.before_racing_writers()
    context = multiprocessing.get_context("spawn")
    start = context.Barrier(2)
    done: multiprocessing.Queue[tuple[int, int | str]] = context.Queue()
    processes = [context.Process(target=_child, args=(backend.spec, n, 500, start, done), daemon=True) for n in (1, 2)]
    for process in processes:
        process.start()
    reports = dict(done.get(timeout=240) for _ in processes)
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    assert reports == {1: 500, 2: 500}

    async def check(store: Store) -> None:
        stored = await store.events_after("p", 0)
        assert await store.count_events("p") == 1_000 and len(stored) == 1_000
        assert len({e.id for e in stored}) == 1_000
        seqs = [e.seq for e in stored]
        assert seqs == sorted(seqs) and len(set(seqs)) == 1_000

    backend.run(check)


# the factory


def test_open_store_picks_the_backend_from_the_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    relative = open_store("sqlite:///.opseval/opseval.db")
    assert isinstance(relative, SqliteStore) and relative.path == str(tmp_path / ".opseval" / "opseval.db")
    absolute = open_store("sqlite:////var/lib/opseval/store.db")
    assert isinstance(absolute, SqliteStore) and absolute.path == "/var/lib/opseval/store.db"

    mongo = open_store("mongodb://user:pw@db-1:27017,db-2:27017/?replicaSet=rs0")
    assert isinstance(mongo, MongoStore) and mongo.database == "opseval"
    named = open_store("mongodb+srv://user:pw@cluster.example.org/evaluations?retryWrites=true")
    assert isinstance(named, MongoStore) and named.database == "evaluations"
    assert "pw" not in repr(named)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sqlite:///:memory:", "in-memory"),
        ("sqlite://", "no host"),
        ("sqlite:///", "names no database file"),
        ("sqlite://server/data.db", "no host"),
        ("postgresql://db/opseval", "'postgresql'"),
        ("/var/lib/opseval.db", "'(none)'"),
    ],
)
def test_open_store_refuses_urls_no_backend_takes(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        open_store(url)


def test_a_sqlite_store_is_opened_by_its_owner_not_at_construction(tmp_path: Path) -> None:
    path = tmp_path / "later" / "opseval.db"
    store = open_store(f"sqlite:///{path}")
    assert not path.parent.exists()

    async def main() -> None:
        with pytest.raises(RuntimeError, match="not open"):
            await store.count_events("p")
        await store.open()
        await store.close()

    asyncio.run(main())
    assert path.exists()
