"""API keys for tests: issued straight into a store, as `opseval keys create` does."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from opseval_infra.keys import create_key
from opseval_infra.store.factory import opened_store


def issue_key(store_url: str, role: str, projects: list[str], name: str = "e2e") -> str:
    """A key issued straight into the fleet's store, as `opseval keys create` does."""

    async def issue() -> str:
        async with opened_store(store_url) as store:
            return (await create_key(store, name, role, projects))[1]

    # In a thread of its own: a browser test's Playwright runs an event loop in this one.
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(asyncio.run, issue()).result()


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}
