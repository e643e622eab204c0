"""`open_store(url)`: the backend a store URL names. It only constructs the store; the caller awaits
`store.open()` (and `store.close()`) in its lifespan — or, for one piece of work (a command, a test),
uses `async with opened_store(url) as store`.

    sqlite:///relative/path.db       a file relative to the working directory
    sqlite:////absolute/path.db      an absolute path
    mongodb://host[:port][/database][?options]   (mongodb+srv:// too; the database defaults to "opseval")
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import unquote, urlsplit

from .base import Store
from .sqlite import SqliteStore

__all__ = ["open_store", "opened_store"]

SQLITE_PREFIX = "sqlite:///"
MONGO_SCHEMES = ("mongodb", "mongodb+srv")
DEFAULT_MONGO_DATABASE = "opseval"


def open_store(url: str) -> Store:
    """The store `url` names, not yet opened. ValueError for a URL no backend takes."""
    scheme = urlsplit(url).scheme.lower()
    if scheme == "sqlite":
        return SqliteStore(_sqlite_path(url))
    if scheme in MONGO_SCHEMES:
        from .mongo import MongoStore  # PyMongo only where it is used: a command on SQLite starts faster

        return MongoStore(url, database=_mongo_database(url))
    raise ValueError(
        f"unsupported store URL scheme {scheme or '(none)'!r}: use sqlite:///relative/path.db, "
        "sqlite:////absolute/path.db, mongodb://… or mongodb+srv://…"
    )


@asynccontextmanager
async def opened_store(url: str) -> AsyncIterator[Store]:
    """The store `url` names, open for the block and closed after it."""
    store = open_store(url)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


def _sqlite_path(url: str) -> str:
    if not url.lower().startswith(SQLITE_PREFIX):
        raise ValueError(
            f"a SQLite store URL has no host: write sqlite:///relative/path.db or sqlite:////absolute/path.db, "
            f"not {url!r}"
        )
    path = url[len(SQLITE_PREFIX) :]
    if not path or path.endswith("/"):
        raise ValueError(f"the SQLite store URL {url!r} names no database file")
    if path == ":memory:" or path.startswith("file::memory:") or "mode=memory" in path:
        raise ValueError(
            f"the SQLite store URL {url!r} is an in-memory database: the services are separate processes "
            "and must share one database file (e.g. sqlite:///.opseval/opseval.db)"
        )
    return path


def _mongo_database(url: str) -> str:
    # The database is the URL's path, before any options; urlsplit leaves the host list (which may
    # hold several comma-separated hosts and user:password@) alone.
    database = unquote(urlsplit(url).path.lstrip("/"))
    return database or DEFAULT_MONGO_DATABASE
