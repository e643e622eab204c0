"""nats-py's bare asyncio.TimeoutError from PullSubscription.fetch reaches FastStream as nats's own
TimeoutError (the one its batch loop catches), and nothing else changes."""

from __future__ import annotations

import asyncio

import nats.errors
import pytest
from nats.js import JetStreamContext
from opseval_infra.nats import convert_fetch_timeouts, raising_nats_timeouts


def test_a_bare_timeout_becomes_nats_timeout_which_asyncio_callers_still_catch() -> None:
    async def bare() -> list[str]:
        raise TimeoutError

    with pytest.raises(nats.errors.TimeoutError):
        asyncio.run(raising_nats_timeouts(bare)())
    with pytest.raises(asyncio.TimeoutError):  # the subclass: asyncio's callers see no change
        asyncio.run(raising_nats_timeouts(bare)())


def test_results_and_other_errors_pass_through_unchanged() -> None:
    async def fine(n: int) -> list[int]:
        return list(range(n))

    async def closed() -> list[int]:
        raise nats.errors.ConnectionClosedError

    assert asyncio.run(raising_nats_timeouts(fine)(3)) == [0, 1, 2]
    with pytest.raises(nats.errors.ConnectionClosedError):
        asyncio.run(raising_nats_timeouts(closed)())


def test_installing_it_wraps_pull_fetch_once() -> None:
    convert_fetch_timeouts()
    installed = JetStreamContext.PullSubscription.fetch
    convert_fetch_timeouts()
    assert JetStreamContext.PullSubscription.fetch is installed
    assert getattr(installed, "_opseval_converts_timeouts", False)
