"""Each service's committed AsyncAPI document is what its code declares (regenerate with
`uv run opseval asyncapi`)."""

from __future__ import annotations

import json

import pytest
from opseval_shared.messaging import EVIDENCE_SUBJECTS, FINDINGS_SUBJECTS

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
