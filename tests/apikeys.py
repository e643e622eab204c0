"""API keys for tests: issued straight into a store, as `opseval keys create` does."""

from __future__ import annotations

import asyncio

from opseval_infra.keys import create_key
from opseval_infra.store.factory import opened_store


def issue_key(store_url: str, role: str, projects: list[str], name: str = "e2e") -> str:
    """A key issued straight into the fleet's store, as `opseval keys create` does."""

    async def issue() -> str:
        async with opened_store(store_url) as store:
            return (await create_key(store, name, role, projects))[1]

    return asyncio.run(issue())


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}
