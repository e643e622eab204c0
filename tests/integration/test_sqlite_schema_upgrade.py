"""An embedded store written by an earlier opseval opens in this one: its keys keep working."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from opseval_infra.keys import hash_secret
from opseval_infra.store.base import StoredEvent, StoredVersion
from opseval_infra.store.sqlite import SCHEMA_VERSION, SqliteStore


def test_a_schema_2_store_gains_key_expiry_and_its_keys_never_expire(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.execute(
        """CREATE TABLE api_keys (id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL,
           projects TEXT NOT NULL, secret_hash TEXT NOT NULL, created_at TEXT NOT NULL, revoked_at TEXT)"""
    )
    conn.execute(
        "INSERT INTO api_keys VALUES (?, ?, ?, ?, ?, ?, ?)",
        ("k0123456789ab", "老密钥", "evaluator", '["*"]', hash_secret("s"), "2025-01-01T00:00:00.000+00:00", None),
    )
    conn.execute("PRAGMA user_version = 2")
    conn.commit()
    conn.close()

    async def read() -> tuple[str | None, str]:
        store = SqliteStore(str(path))
        await store.open()
        try:
            key = await store.get_key("k0123456789ab")
            assert key is not None
            return key.expires_at, key.name
        finally:
            await store.close()

    assert asyncio.run(read()) == (None, "老密钥")
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION


def test_a_schema_3_store_gains_versions_that_the_database_itself_keeps_unchanged(tmp_path: Path) -> None:
    path = tmp_path / "v3.db"
    conn = sqlite3.connect(path)
    conn.execute(
        """CREATE TABLE api_keys (id TEXT PRIMARY KEY, name TEXT NOT NULL, role TEXT NOT NULL,
           projects TEXT NOT NULL, secret_hash TEXT NOT NULL, created_at TEXT NOT NULL, revoked_at TEXT,
           expires_at TEXT)"""
    )
    conn.execute("PRAGMA user_version = 3")
    conn.commit()
    conn.close()
    finalised = StoredVersion(
        project="p",
        number=0,
        as_of="2022-12-31",
        total="80",
        grade="良",
        finalised_at="2026-12-04T10:00:00.000+00:00",
        finalised_by="评价组",
        finalised_role="evaluator",
        finalised_key="k0123456789ab",
        note="",
        definition_revision="r1",
        definition="{}",
        result="{}",
    )

    async def finalise() -> int:
        store = SqliteStore(str(path))
        await store.open()
        try:
            return await store.add_version(finalised)
        finally:
            await store.close()

    assert asyncio.run(finalise()) == 1
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    with pytest.raises(sqlite3.IntegrityError, match="never changed"):
        conn.execute("UPDATE versions SET total = '100' WHERE project = 'p'")
    with pytest.raises(sqlite3.IntegrityError, match="never removed"):
        conn.execute("DELETE FROM versions")
    assert conn.execute("SELECT number, total FROM versions").fetchall() == [(1, "80")]


def test_a_schema_4_store_counts_the_events_it_held_and_those_stored_after(tmp_path: Path) -> None:
    path = tmp_path / "v4.db"
    conn = sqlite3.connect(path)
    conn.execute(
        """CREATE TABLE events (seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
           project TEXT NOT NULL, kind TEXT NOT NULL, body TEXT NOT NULL)"""
    )
    for n, project in enumerate(["p", "p", "q", "p"]):
        conn.execute("INSERT INTO events (id, project, kind, body) VALUES (?, ?, 'k', '{}')", (f"e{n}", project))
    conn.execute("PRAGMA user_version = 4")
    conn.commit()
    conn.close()

    async def counts() -> list[int]:
        store = SqliteStore(str(path))
        await store.open()
        try:
            held = [await store.count_events(p) for p in ("p", "q", "r")]
            await store.add_events([StoredEvent(id="e9", project="q", kind="k", body="{}")])
            await store.add_events([StoredEvent(id="e9", project="q", kind="k", body="{}")])  # a replay
            return [*held, await store.count_events("q")]
        finally:
            await store.close()

    assert asyncio.run(counts()) == [3, 1, 0, 2]
    assert asyncio.run(counts()) == [3, 2, 0, 2]  # opened again: counted once
