"""The fleet serves what `opseval evaluate` computes — after duplicates, killed consumers and a
restarted nats-server — and a poison event is dead-lettered while the rest flows."""

from __future__ import annotations

import asyncio
import json
import re
import signal
from decimal import Decimal
from pathlib import Path
from typing import Any

import nats
import pytest
from opseval_shared.messaging import evidence_subject
from opseval_shared.results import EvaluationResult

from opseval.embedded import evaluate_bundle

from .conftest import Fleet, bundle_events, wait_for

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
DONGGUAN = ROOT / "examples" / "dongguan-2022"
BATCH = 500


def leaf_scores(nodes: list[dict[str, Any]]) -> dict[str, Decimal]:
    out: dict[str, Decimal] = {}
    for node in nodes:
        if node.get("children"):
            out.update(leaf_scores(node["children"]))
        else:
            out[node["id"]] = Decimal(str(node["score"]))
    return out


def embedded_leaves(result: EvaluationResult) -> dict[str, Decimal]:
    return leaf_scores([i.model_dump(mode="json") for i in result.indicators])


@pytest.fixture(scope="module")
def expected() -> EvaluationResult:
    return evaluate_bundle(DONGGUAN)[0]


def assert_same_as_embedded(fleet: Fleet, project: str, events: int, expected: EvaluationResult) -> None:
    scores = fleet.wait_scored(project, events)
    assert Decimal(str(scores["total"])) == expected.total == Decimal("81.415")
    assert scores["grade"] == expected.grade
    assert leaf_scores(scores["indicators"]) == embedded_leaves(expected)
    findings = fleet.findings(project)["findings"]
    assert [f["id"] for f in findings] == [f.id for f in expected.findings]
    assert findings == [f.model_dump(mode="json") for f in expected.findings]


def push_all(fleet: Fleet, events: list[dict[str, Any]], between: Any = None) -> int:
    accepted = 0
    for n, start in enumerate(range(0, len(events), BATCH)):
        result = fleet.push(events[start : start + BATCH])
        assert result["failed"] == 0, result
        accepted += result["accepted"]
        if between is not None:
            between(n)
    return accepted


@pytest.mark.parametrize("fleet", ["sqlite", "mongo"], indirect=True)
def test_pushed_evidence_scores_as_opseval_evaluate_and_a_duplicate_push_changes_nothing(
    fleet: Fleet, expected: EvaluationResult
) -> None:
    project = fleet.register(DONGGUAN)
    events = bundle_events(DONGGUAN)
    assert push_all(fleet, events) == len(events)
    assert_same_as_embedded(fleet, project, len(events), expected)

    # The evidence behind a finding and behind a leaf, one event, and the report as of a date.
    reporting = fleet.url("reporting") + f"/v1/projects/{project}"
    finding = expected.findings[0]
    behind = fleet.http.get(f"{reporting}/findings/{finding.id}/evidence", params={"limit": 1000}).json()
    assert sorted(e["id"] for e in behind["evidence"]) == sorted(finding.evidence) and behind["total"] == len(
        finding.evidence
    )
    leaf = fleet.http.get(f"{reporting}/indicators/ops_onsite/evidence", params={"limit": 5}).json()
    assert (leaf["score"], len(leaf["evidence"])) == (2.14, 5) and leaf["total"] > 5
    one = fleet.http.get(f"{reporting}/evidence/{events[0]['id']}").json()
    assert one["id"] == events[0]["id"]
    assert fleet.http.get(f"{reporting}/evidence/no-such-event").status_code == 404
    filtered = fleet.http.get(f"{reporting}/findings", params={"rule": "staff.*", "severity": "high"}).json()
    assert {f["rule"].split(".")[0] for f in filtered["findings"]} == {"staff"}
    report = fleet.http.get(f"{reporting}/report", params={"format": "md"}).text
    assert "81.415" in report and "## 四、绩效评价指标分析" in report
    early = fleet.http.get(f"{reporting}/report", params={"format": "scores", "as_of": "2022-10-31"}).json()
    assert early["as_of"] == "2022-10-31" and early["total"] != 81.415

    again = fleet.push(events[:BATCH])
    assert (again["accepted"], again["duplicate"]) == (0, BATCH)
    listed = fleet.http.get(fleet.url("reporting") + "/v1/projects").json()
    assert [(p["id"], p["evidence"], p["total"]) for p in listed] == [(project, len(events), 81.415)]
    assert_same_as_embedded(fleet, project, len(events), expected)

    # What rules and scoring hold is kept out of the collector's full collections after their rounds
    # (`FrozenBetweenRounds`), and every service times the collector's pauses.
    for service in ("intake", "rules", "scoring", "reporting"):
        metrics = fleet.http.get(fleet.url(service) + "/metrics").text
        assert 'opseval_gc_pause_seconds_count{generation="0"}' in metrics, service
        frozen = float(re.search(r"^opseval_gc_frozen_objects (\S+)$", metrics, re.M).group(1))  # type: ignore[union-attr]
        assert (frozen > 0) == (service in ("rules", "scoring")), (service, frozen)


def test_consumers_killed_mid_stream_lose_nothing_and_count_nothing_twice(
    fleet: Fleet, expected: EvaluationResult
) -> None:
    project = fleet.register(DONGGUAN)
    events = bundle_events(DONGGUAN)

    def chaos(batch: int) -> None:
        victim = {1: "rules", 3: "scoring", 5: "rules"}.get(batch)
        if victim:
            fleet.kill(victim, signal.SIGKILL)
            fleet.start(victim)
            fleet.wait_ready(victim)

    assert push_all(fleet, events, chaos) == len(events)
    assert_same_as_embedded(fleet, project, len(events), expected)


def test_two_replicas_of_each_consumer_share_the_work_and_agree(fleet: Fleet, expected: EvaluationResult) -> None:
    for service in ("rules", "scoring"):
        fleet.start(service, replica=f"{service}-2")
        fleet.wait_ready(f"{service}-2")
    project = fleet.register(DONGGUAN)
    events = bundle_events(DONGGUAN)
    assert push_all(fleet, events) == len(events)
    assert_same_as_embedded(fleet, project, len(events), expected)

    def handled(name: str) -> float:
        metrics = fleet.http.get(fleet.url(name) + "/metrics").text
        prefixes = ("opseval_events_consumed_total{", "opseval_events_replayed_total{")
        return sum(float(x.rsplit(" ", 1)[1]) for x in metrics.splitlines() if x.startswith(prefixes))

    # Both replicas of the rules take part, every event reaches one of them (a redelivery may bring
    # one back: it is counted as a replay), and the store holds each event once. Scoring consumes
    # no evidence (it reads what the rules stored); its replicas share the findings messages.
    counts = wait_for(
        lambda: (c := (handled("rules"), handled("rules-2"))) and sum(c) >= len(events) and c,
        90,
        "rules replicas to consume every event",
    )
    assert sum(counts) >= len(events)
    assert min(counts) > 0
    assert handled("scoring") == handled("scoring-2") == 0
    listed = fleet.http.get(fleet.url("reporting") + "/v1/projects").json()
    assert [(p["id"], p["evidence"]) for p in listed] == [(project, len(events))]


def test_a_nats_server_restart_loses_nothing_acknowledged(fleet: Fleet, expected: EvaluationResult) -> None:
    project = fleet.register(DONGGUAN)
    events = bundle_events(DONGGUAN)
    half = len(events) // 2
    assert push_all(fleet, events[:half]) == half
    fleet.nats.stop()
    fleet.nats.start()  # same port, same JetStream directory
    for service in ("intake", "rules", "scoring", "reporting"):
        fleet.wait_ready(service)
    assert push_all(fleet, events[half:]) == len(events) - half
    assert_same_as_embedded(fleet, project, len(events), expected)


def test_a_poison_event_is_dead_lettered_and_the_rest_keeps_flowing(fleet: Fleet, expected: EvaluationResult) -> None:
    project = fleet.register(DONGGUAN)
    events = bundle_events(DONGGUAN)

    async def publish_poison() -> None:
        nc = await nats.connect(fleet.nats.url)
        js = nc.jetstream()
        poison = {"id": "poison-1", "project": project, "kind": "clock_in", "payload": {"staff": 42}}
        await js.publish(
            evidence_subject(project, "clock_in"), json.dumps(poison).encode(), headers={"Nats-Msg-Id": "poison-1"}
        )
        await js.publish(evidence_subject(project, "clock_in"), b"\xff not json", headers={"Nats-Msg-Id": "poison-2"})
        await nc.close()

    asyncio.run(publish_poison())
    assert push_all(fleet, events) == len(events)
    assert_same_as_embedded(fleet, project, len(events), expected)

    def dead_letters() -> list[dict[str, Any]] | None:
        letters: list[dict[str, Any]] = fleet.http.get(fleet.url("reporting") + "/v1/dead-letters").json()
        return (
            letters if len(letters) >= 2 else None
        )  # two poisons, each seen by the rules (scoring consumes no evidence)

    letters = wait_for(dead_letters, 30, "the poison events in the dead-letter list")
    assert len(letters) == 2
    assert {(d["service"], d["error"].split(":")[0]) for d in letters} == {("rules", "invalid evidence")}
    assert any('"poison-1"' in d["payload"] for d in letters)


def test_intake_answers_each_event_and_refuses_a_batch_with_a_bad_one_whole(fleet: Fleet) -> None:
    project = fleet.register(DONGGUAN)
    good, other = bundle_events(DONGGUAN)[:2]
    bad_field = {**other, "id": "bad-1", "payload": {**other["payload"], "passed": "perhaps"}}
    intake = fleet.url("intake") + "/v1/evidence"
    refused = fleet.http.post(intake, json={"events": [good, bad_field, good]})
    assert refused.status_code == 422
    fields = [e["field"] for e in refused.json()["detail"]["errors"]]
    assert fields == ["events[1].payload.passed", "events[2].id"]
    result = fleet.push([good, other])
    assert [(r["index"], r["status"]) for r in result["results"]] == [(0, "accepted"), (1, "accepted")]
    assert [r["status"] for r in fleet.push([good])["results"]] == ["duplicate"]
    assert (
        fleet.http.post(intake, content=b"{not json", headers={"content-type": "application/json"}).status_code == 422
    )
    assert fleet.http.post(intake, content=b"[]", headers={"content-type": "text/plain"}).status_code == 415
    assert project == "dongguan-2022"
