"""A MongoDB for the tests: the server OPSEVAL_MONGO_URL names (a real MongoDB), or else SecantusDB, a
MongoDB-wire-compatible server from PyPI (the `mongo-test` dependency group; GPL, so test-only),
started here on a free loopback port with its data in a temporary directory, and stopped afterwards.

SecantusDB 0.7.0b3 deviates from MongoDB in one way the store meets (found by the contract suite's
concurrent writers, `RuntimeError: counter 'events' was not returned`): when two clients race the
first upsert of a document with findAndModify {upsert: true, new: true}, the loser's update is
applied but its reply carries no document, `{lastErrorObject: {n: 1, updatedExisting: false,
upserted: null}, value: null, ok: 1}`. MongoDB answers every such findAndModify with the document
(from 4.2 it retries the losing upsert as an update; before, it raised E11000, which the store
retries). Minimal reproduction (on this machine some 10 to 25 of the 100 races lose the document):

    import threading, uuid
    from pymongo import MongoClient
    a, b = MongoClient(URL), MongoClient(URL)
    lost = 0
    for _ in range(100):
        name, start, replies = uuid.uuid4().hex, threading.Barrier(2), []
        def upsert(client):
            start.wait()
            replies.append(client.race.command({"findAndModify": name, "query": {"_id": "n"},
                                                "update": {"$inc": {"v": 1}}, "upsert": True, "new": True}))
        threads = [threading.Thread(target=upsert, args=(c,)) for c in (a, b)]
        [t.start() for t in threads]; [t.join() for t in threads]
        assert a.race[name].find_one()["v"] == 2            # both increments were applied, and yet
        lost += sum(r["value"] is None for r in replies)    # MongoDB: always 0
    print(lost, "replies without the document")

(SecantusDB's commands.py `_find_and_modify_impl`: the find sees no document, so it takes the
upsert branch; the write then finds the other client's new document and updates it, and the reply
is built as for an insert, whose post-image it does not have.) The store is right to refuse the
reply; the harness works around the server instead (`create_sequence_counters`), only on the
bundled server, so concurrent writers race on increments of existing counters, which it answers
correctly. Real MongoDB runs the unaltered race.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from natsfixtures import die_with_parent, free_port, port_open, stop
from opseval_infra.store.mongo import SEQUENCE_COUNTERS
from pymongo import AsyncMongoClient, MongoClient
from pymongo.errors import PyMongoError

MONGO_URL = os.environ.get("OPSEVAL_MONGO_URL")
SECANTUS_SERVER = Path(sys.executable).parent / "secantusd-py"  # installed next to this interpreter
NO_MONGO = (
    "no MongoDB: OPSEVAL_MONGO_URL is not set and SecantusDB is not installed "
    "(`uv sync --frozen` installs it with the dev dependency group)"
)


@dataclass(frozen=True)
class RunningMongo:
    url: str  # names no database: each test picks its own
    bundled: bool  # SecantusDB started by the harness (its deviations are worked around), not a real MongoDB

    def database_url(self, database: str) -> str:
        return urlsplit(self.url)._replace(path=f"/{database}").geturl()

    def create_sequence_counters(self, database: str) -> None:
        """Before writers race on a new database: on SecantusDB, the store's sequence counters are
        created first (at 0, where the store's first upsert would start them), so that the writers'
        first reservations do not race an upsert, which SecantusDB answers wrongly (module docstring).
        On a real MongoDB nothing is done: the race is part of what the tests test."""
        if self.bundled:
            asyncio.run(_create_counters(self.url, database))

    def drop(self, database: str) -> None:
        asyncio.run(_drop(self.url, database))


async def _create_counters(url: str, database: str) -> None:
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(url)
    try:
        await client[database]["counters"].insert_many([{"_id": name, "value": 0} for name in SEQUENCE_COUNTERS])
    finally:
        await client.close()


async def _drop(url: str, database: str) -> None:
    client: AsyncMongoClient[dict[str, object]] = AsyncMongoClient(url)
    try:
        await client.drop_database(database)
    finally:
        await client.close()


def _answers_ping(url: str) -> bool:
    client: MongoClient[dict[str, object]] = MongoClient(url, serverSelectionTimeoutMS=500)
    try:
        return bool(client.admin.command("ping").get("ok"))
    except PyMongoError:
        return False
    finally:
        client.close()


@contextmanager
def mongo_server(directory: Path) -> Iterator[RunningMongo]:
    """OPSEVAL_MONGO_URL's server, or SecantusDB serving `directory` until the block ends."""
    if MONGO_URL:
        yield RunningMongo(MONGO_URL, bundled=False)
        return
    if not SECANTUS_SERVER.exists():
        pytest.skip(NO_MONGO)
    port = free_port()
    log = directory / "secantusdb.log"
    # --standalone: no replica-set advertisement, like the single server the store assumes
    command = [SECANTUS_SERVER, "--host", "127.0.0.1", "--port", str(port), "--standalone", "--log-level", "WARNING"]
    with log.open("ab") as output:
        proc = subprocess.Popen(
            [*command, "--storage-path", str(directory / "data")],
            stdout=output,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )
    url = f"mongodb://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while not (port_open(port) and _answers_ping(url)):
            if proc.poll() is not None:
                logged = log.read_text(errors="replace")[-3000:]
                raise AssertionError(f"SecantusDB exited ({proc.returncode}): {logged}")
            assert time.monotonic() < deadline, "SecantusDB did not answer a ping within 60 s"
            time.sleep(0.1)
        yield RunningMongo(url, bundled=True)
    finally:
        stop(proc, 30)
