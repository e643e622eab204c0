"""Fixtures shared by every test directory."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from mongofixtures import RunningMongo, mongo_server


@pytest.fixture(scope="session")
def mongo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningMongo]:
    """One MongoDB for the session (OPSEVAL_MONGO_URL's, or SecantusDB started here); each test
    uses a database of its own and drops it."""
    with mongo_server(tmp_path_factory.mktemp("mongo")) as running:
        yield running
