"""Start-up checks against the NATS server: its version, and the stream configuration it echoes
back (a 2.9 server silently ignores fields it does not know)."""

from __future__ import annotations

from dataclasses import replace
from types import SimpleNamespace

import pytest
from nats.aio.client import Client
from opseval_infra.nats import ServerTooOld, _differences, check_server, stream_config
from opseval_shared.messaging import EVIDENCE_STREAM, STREAMS


def server(version: str) -> Client:
    major, minor, patch = (int(x) for x in version.split("."))
    fake = SimpleNamespace(
        connected_server_version=SimpleNamespace(major=major, minor=minor, patch=patch, __str__=lambda self: version)
    )
    return fake  # type: ignore[return-value]


def test_servers_older_than_2_9_are_refused_and_2_9_is_accepted() -> None:
    with pytest.raises(ServerTooOld):
        check_server(server("2.8.4"))
    check_server(server("2.9.10"))
    check_server(server("2.11.1"))


def test_an_echoed_configuration_that_differs_is_reported_field_by_field() -> None:
    wanted = stream_config(EVIDENCE_STREAM, replicas=3)
    assert _differences(wanted, wanted) == []
    echoed = replace(wanted, num_replicas=1, duplicate_window=0.0, subjects=["opseval.other.>"])
    problems = _differences(wanted, echoed)
    assert [p.split(":")[0] for p in problems] == ["subjects", "num_replicas", "duplicate_window"]


def test_every_stream_is_file_backed_with_a_duplicate_window() -> None:
    for spec in STREAMS:
        config = stream_config(spec, replicas=1)
        assert config.storage is not None and config.storage.value == "file"
        assert config.duplicate_window == spec.duplicate_window_s > 0
