"""The fleet stores the result `opseval evaluate` computes — every section, warnings included — and
the results API serves its documents from that stored result (issue 14: one use case)."""

from __future__ import annotations

import asyncio

import pytest
from opseval_infra.projects import RESULT_KIND
from opseval_infra.store.base import Snapshot
from opseval_infra.store.factory import opened_store
from opseval_reporting.output import findings_document, scores_document, to_json
from opseval_shared.evidence_apart import apart, joined
from opseval_shared.results import EvaluationResult

from opseval.embedded import evaluate_bundle

from .conftest import Fleet, bundle_events, wait_for
from .test_fleet import DONGGUAN, push_all

pytestmark = pytest.mark.slow


def stored_result(fleet: Fleet, project: str) -> Snapshot | None:
    async def read() -> Snapshot | None:
        async with opened_store(fleet.store_url) as store:
            return await store.get_snapshot(RESULT_KIND, project)

    return asyncio.run(read())


@pytest.mark.parametrize("fleet", ["sqlite", "mongo"], indirect=True)
def test_the_fleet_stores_the_result_of_opseval_evaluate_and_serves_its_documents_from_it(fleet: Fleet) -> None:
    expected, _ = evaluate_bundle(DONGGUAN)
    project = fleet.register(DONGGUAN)
    events = bundle_events(DONGGUAN)
    assert push_all(fleet, events) == len(events)
    fleet.wait_scored(project, len(events))
    final = len(events) * 10**9 + len(events)  # every event folded, findings over every event

    def complete() -> Snapshot | None:
        snapshot = stored_result(fleet, project)
        return snapshot if snapshot is not None and snapshot.seq == final else None

    snapshot: Snapshot = wait_for(complete, 60, "the result over every event", 0.3)
    result = joined(snapshot.body, EvaluationResult)
    assert result.budget and result.monthly and result.documents and result.forecast is not None
    assert result == expected
    assert snapshot.body == apart(expected) and result.json_bytes() == expected.json_bytes()

    # The documents are those `opseval evaluate` writes, byte for byte.
    report = fleet.url("reporting") + f"/v1/projects/{project}/report"
    scores = fleet.http.get(report, params={"format": "scores"})
    assert scores.status_code == 200, scores.text
    assert scores.content == b"".join(to_json(scores_document(expected)))
    findings = fleet.http.get(report, params={"format": "findings"})
    assert findings.content == b"".join(to_json(findings_document(expected)))
