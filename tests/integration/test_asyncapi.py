"""Each service's committed AsyncAPI document is what its code declares (regenerate with
`uv run opseval asyncapi`)."""

from __future__ import annotations

import json
from urllib.parse import unquote

import pytest
from opseval_shared.messaging import EVIDENCE_SUBJECTS, FINDINGS_SUBJECTS, PROJECT_SUBJECTS

from opseval.asyncapi import document, path
from opseval.fleet import SERVICES


@pytest.mark.parametrize("service", SERVICES)
def test_committed_asyncapi_document_is_current(service: str) -> None:
    assert path(service).read_text(encoding="utf-8") == document(service), (
        f"services/{service}/asyncapi.json is stale: run `uv run opseval asyncapi`"
    )


def test_the_documents_show_the_contracts_from_shared() -> None:
    rules = json.loads(document("rules"))
    addresses = {channel["address"] for channel in rules["channels"].values()}
    assert EVIDENCE_SUBJECTS in addresses
    scoring = json.loads(document("scoring"))
    assert FINDINGS_SUBJECTS in {channel["address"] for channel in scoring["channels"].values()}
    assert "ScoreChanged" in json.dumps(scoring["components"]["schemas"])


def operations(service: str) -> list[tuple[str, str]]:
    """(action, address) of each operation the service's document declares."""
    doc = json.loads(document(service))
    channels = doc["channels"]
    return [
        (op["action"], channels[unquote(op["channel"]["$ref"].rsplit("/", 1)[1])]["address"])
        for op in doc["operations"].values()
    ]


def subject_matches(pattern: str, address: str) -> bool:
    """NATS subject matching, an address's {parameter} standing for one token."""
    wanted, given = pattern.split("."), address.split(".")
    for i, token in enumerate(wanted):
        if token == ">":
            return len(given) > i
        if i >= len(given) or (token != "*" and token != given[i]):
            return False
    return len(wanted) == len(given)


def test_every_published_message_has_a_consumer_and_scoring_consumes_no_evidence() -> None:
    services = ("intake", "rules", "scoring", "reporting")
    declared = {s: operations(s) for s in services}
    sent = {(s, address) for s in services for action, address in declared[s] if action == "send"}
    received = [address for s in services for action, address in declared[s] if action == "receive"]
    assert sent, "no service declares what it publishes"
    for service, address in sorted(sent):
        assert any(subject_matches(pattern, address) for pattern in received), f"{service} sends {address} to nobody"
    # Evidence is persisted once, by the rules; scoring reads the store when the findings say so.
    assert ("receive", EVIDENCE_SUBJECTS) in declared["rules"]
    assert all(address != EVIDENCE_SUBJECTS for _, address in declared["scoring"])
    for service in ("rules", "scoring"):
        assert ("receive", PROJECT_SUBJECTS) in declared[service], service
