"""Corrections at intake — the app in-process with a real nats-server and SQLite store: a correction
must name an event of its project accepted before (or in the same push), evaluators may push only
corrections and retractions, and the audit entry says who corrected what. And the results API
shows a failing evaluation instead of a silently frozen score."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from apikeys import bearer, issue_key
from fastapi.testclient import TestClient
from inprocess import intake_and_reporting
from opseval_infra.projects import evaluation_kind
from opseval_infra.store.base import Snapshot, StoredEvent
from opseval_infra.store.factory import opened_store

DONGGUAN = Path(__file__).resolve().parents[2] / "examples" / "dongguan-2022"
JSON = {"content-type": "application/json"}
ORIGINAL: dict[str, Any] = {
    "id": "clock-wrong",
    "project": "dongguan-2022",
    "contract": "ops",
    "kind": "clock_in",
    "occurred_at": "2022-10-10T09:55:00+08:00",
    "recorded_at": "2022-10-10T09:55:00+08:00",
    "source": "attendance",
    "payload": {"staff": "张三"},
}


class Intake:
    def __init__(self, client: TestClient, reporting: TestClient, store_file: Path) -> None:
        self.client, self.reporting, self.store_file = client, reporting, store_file

    def key(self, role: str) -> dict[str, str]:
        return bearer(issue_key(f"sqlite:///{self.store_file}", role, ["dongguan-2022"], f"test {role}"))

    def push(self, events: list[dict[str, Any]], key: dict[str, str]) -> Any:
        return self.client.post("/v1/evidence", content=json.dumps(events), headers={**JSON, **key})

    def store_as_the_consumers_do(self, event: dict[str, Any]) -> None:
        async def add() -> None:
            async with opened_store(f"sqlite:///{self.store_file}") as store:
                await store.add_events([StoredEvent(event["id"], event["project"], event["kind"], json.dumps(event))])

        asyncio.run(add())


@pytest.fixture(scope="module")
def intake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Intake]:
    with intake_and_reporting(tmp_path_factory.mktemp("corrections"), DONGGUAN) as (client, reporting, store_file):
        yield Intake(client, reporting, store_file)


def test_a_correction_must_name_an_accepted_event_of_its_project(intake: Intake) -> None:
    upstream = intake.key("upstream")
    fixed = {**ORIGINAL, "id": "clock-fixed", "occurred_at": "2022-10-10T08:55:00+08:00"}
    fixed["corrects"] = {"event": "clock-wrong", "reason": "考勤机时钟偏差一小时"}
    refused = intake.push([fixed], upstream)
    assert refused.status_code == 422
    [error] = refused.json()["detail"]["errors"]
    assert error["field"] == "[0].corrects.event" and "no event 'clock-wrong'" in error["reason"]
    # With the event it corrects in the same push, or once stored, it is accepted.
    assert intake.push([ORIGINAL, fixed], upstream).json()["accepted"] == 2
    retraction = {
        **ORIGINAL,
        "id": "retract-1",
        "kind": "retraction",
        "contract": None,
        "payload": {"event": "clock-fixed", "reason": "该人员当日休假", "by": "人事专员"},
    }
    assert intake.push([retraction], upstream).status_code == 422  # not stored yet: no consumer runs here
    intake.store_as_the_consumers_do(fixed)
    assert intake.push([retraction], upstream).json()["accepted"] == 1


def test_an_evaluator_pushes_corrections_only_and_the_audit_trail_names_the_key(intake: Intake) -> None:
    evaluator = intake.key("evaluator")
    original = {**ORIGINAL, "id": "clock-evaluated"}
    intake.store_as_the_consumers_do(original)
    plain = {**original, "id": "clock-evaluated-2"}
    refused = intake.push([plain], evaluator)
    assert refused.status_code == 403 and "only corrections" in refused.json()["detail"]
    correction = {**plain, "corrects": {"event": "clock-evaluated", "reason": "现场核查", "by": "评价组李四"}}
    assert intake.push([correction], evaluator).json()["accepted"] == 1

    async def trail() -> list[Any]:
        async with opened_store(f"sqlite:///{intake.store_file}") as store:
            return await store.list_audit(action="evidence.push", limit=1000)

    last = asyncio.run(trail())[-1]
    assert last.role == "evaluator" and last.status == 200
    assert json.loads(last.detail)["corrections"] == [
        {"event": "clock-evaluated-2", "corrects": "clock-evaluated", "action": "superseded", "by": "评价组李四"}
    ]


def test_a_failing_evaluation_is_shown_on_the_project_not_a_silent_missing_score(intake: Intake) -> None:
    evaluator = intake.key("evaluator")
    failing = {"service": "rules", "state": "failing", "error": "RuntimeError: rule set cannot run", "failures": 3}
    failing |= {"set_aside": [], "corrections": [], "at": "2026-12-01T00:00:00.000+00:00"}

    async def record() -> None:
        async with opened_store(f"sqlite:///{intake.store_file}") as store:
            await store.put_snapshot(
                evaluation_kind("rules"), Snapshot("dongguan-2022", 1, json.dumps(failing).encode())
            )

    asyncio.run(record())
    scores = intake.reporting.get("/v1/projects/dongguan-2022/scores", headers=evaluator)
    assert scores.status_code == 503 and "rules: RuntimeError: rule set cannot run" in scores.json()["detail"]
    project = intake.reporting.get("/v1/projects/dongguan-2022", headers=evaluator).json()
    assert project["evaluation"] == "failing" and project["status"]["services"]["rules"]["failures"] == 3
    listed = intake.reporting.get("/v1/projects", headers=evaluator).json()
    assert [(p["id"], p["evaluation"]) for p in listed] == [("dongguan-2022", "failing")]
