"""Judging at intake and in the results API — the apps in-process with a real nats-server and
SQLite store: an evaluator key judges the projects in its scope (its judgments' source naming the
key), not others; re-judging a point with a judgment in force must name it with a reason (an
override), else the push is refused naming the field; the audit trail records what was judged;
`GET /v1/projects/{project}/judgments` lists what is still to judge and the judgment in force."""

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
from opseval_infra.store.base import StoredEvent
from opseval_infra.store.factory import opened_store

DONGGUAN = Path(__file__).resolve().parents[2] / "examples" / "dongguan-2022"
PROJECT = "dongguan-2022"
JSON = {"content-type": "application/json"}


class Fleet:
    def __init__(self, intake: TestClient, reporting: TestClient, store_file: Path) -> None:
        self.intake, self.reporting, self.store_url = intake, reporting, f"sqlite:///{store_file}"

    def key(self, role: str, projects: list[str], name: str) -> tuple[dict[str, str], str]:
        """The key's header and its id (what a judgment's source names)."""
        token = issue_key(self.store_url, role, projects, name)
        return bearer(token), token.split("_")[1]

    def push(self, events: list[dict[str, Any]], key: dict[str, str]) -> Any:
        return self.intake.post("/v1/evidence", content=json.dumps(events), headers={**JSON, **key})

    def store_as_the_consumers_do(self, *events: dict[str, Any]) -> None:
        async def add() -> None:
            async with opened_store(self.store_url) as store:
                await store.add_events([StoredEvent(e["id"], e["project"], e["kind"], json.dumps(e)) for e in events])

        asyncio.run(add())

    def audit(self) -> list[Any]:
        async def read() -> list[Any]:
            async with opened_store(self.store_url) as store:
                return await store.list_audit(action="evidence.push", limit=1000)

        return asyncio.run(read())


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    with intake_and_reporting(tmp_path_factory.mktemp("judging"), DONGGUAN) as (intake, reporting, store_file):
        yield Fleet(intake, reporting, store_file)


def judgment(eid: str, key_id: str, point: str, awarded: float, **extra: Any) -> dict[str, Any]:
    return {
        "id": eid,
        "project": PROJECT,
        "kind": "judgment",
        "occurred_at": "2023-05-31T23:59:59+08:00",
        "recorded_at": "2023-05-31T23:59:59+08:00",
        "source": f"evaluator:{key_id}",
        "payload": {
            "indicator": "procedure",
            "point": point,
            "awarded": awarded,
            "reason": "程序规范",
            "evaluator": "评价组王五",
        },
        **extra,
    }


def test_an_evaluator_judges_its_own_project_and_not_another(fleet: Fleet) -> None:
    mine, mine_id = fleet.key("evaluator", [PROJECT], "评价组王五")
    theirs, theirs_id = fleet.key("evaluator", ["guangzhou-2023"], "另一评价组")
    accepted = fleet.push([judgment("wb-process-1", mine_id, "process", 0.5)], mine)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["accepted"] == 1
    refused = fleet.push([judgment("wb-process-other", theirs_id, "process", 0.5)], theirs)
    assert refused.status_code == 403 and "dongguan-2022" in refused.json()["detail"]
    entry = fleet.audit()[-1]  # the refused push is audited too
    assert (entry.actor, entry.status) == (theirs_id, 403)
    ok = next(e for e in fleet.audit() if e.status == 200 and e.actor == mine_id)
    assert json.loads(ok.detail)["judgments"] == [
        {"event": "wb-process-1", "indicator": "procedure", "point": "process", "awarded": "0.5", "overrides": None}
    ]


def test_an_evaluators_judgment_names_its_key_as_source(fleet: Fleet) -> None:
    key, key_id = fleet.key("evaluator", [PROJECT], "评价组王五")
    refused = fleet.push([{**judgment("wb-unsourced", key_id, "documents", 0.5), "source": "evaluator"}], key)
    assert refused.status_code == 422
    [error] = refused.json()["detail"]["errors"]
    assert error["field"] == "[0].source" and f"evaluator:{key_id}" in error["reason"]


def test_rejudging_a_point_in_force_without_naming_it_is_refused_and_an_override_with_a_reason_is_accepted(
    fleet: Fleet,
) -> None:
    key, key_id = fleet.key("evaluator", [PROJECT], "评价组王五")
    first = judgment("wb-feasibility-1", key_id, "feasibility", 0.5)
    assert fleet.push([first], key).json()["accepted"] == 1
    fleet.store_as_the_consumers_do(first)  # no consumer runs here: stored as the fleet would

    bare = judgment("wb-feasibility-2", key_id, "feasibility", 0.2)
    refused = fleet.push([bare], key)
    assert refused.status_code == 409
    [error] = refused.json()["detail"]["errors"]
    assert error["field"] == "[0].corrects"
    assert "'wb-feasibility-1'" in error["reason"] and "改判" in error["reason"]

    blank = {**bare, "corrects": {"event": "wb-feasibility-1", "reason": "  ", "by": "评价组王五"}}
    refused = fleet.push([blank], key)
    assert refused.status_code == 409 and refused.json()["detail"]["errors"][0]["field"] == "[0].corrects.reason"

    elsewhere = {**bare, "corrects": {"event": "wb-process-1", "reason": "复核", "by": "评价组王五"}}
    fleet.store_as_the_consumers_do(judgment("wb-process-1", key_id, "process", 0.5))
    refused = fleet.push([elsewhere], key)
    assert refused.status_code == 409 and refused.json()["detail"]["errors"][0]["field"] == "[0].corrects.event"

    override = {**bare, "corrects": {"event": "wb-feasibility-1", "reason": "可研报告未经专家论证", "by": "评价组王五"}}
    accepted = fleet.push([override], key)
    assert accepted.status_code == 200 and accepted.json()["accepted"] == 1
    detail = json.loads(fleet.audit()[-1].detail)
    assert detail["judgments"][0]["overrides"] == "wb-feasibility-1"
    assert detail["corrections"][0]["corrects"] == "wb-feasibility-1"


def test_two_judgments_of_one_point_in_one_push_need_the_second_to_name_the_first(fleet: Fleet) -> None:
    key, key_id = fleet.key("evaluator", [PROJECT], "评价组王五")
    one = {
        **judgment("wb-basis-1", key_id, "policy", 0.5),
        "payload": {"indicator": "basis", "point": "policy", "awarded": 0.5, "reason": "符合"},
    }
    two = {**one, "id": "wb-basis-2"}
    refused = fleet.push([one, two], key)
    assert refused.status_code == 409
    assert [e["field"] for e in refused.json()["detail"]["errors"]] == ["[1].corrects"]
    two["corrects"] = {"event": "wb-basis-1", "reason": "复核后维持满分", "by": "评价组王五"}
    assert fleet.push([one, two], key).json()["accepted"] == 2


def test_the_judgments_api_lists_what_is_still_to_judge_and_the_judgment_in_force(fleet: Fleet) -> None:
    key, key_id = fleet.key("evaluator", [PROJECT], "评价组赵六")
    first = judgment("wb-documents-1", key_id, "documents", 0.5)
    override = {
        **judgment("wb-documents-2", key_id, "documents", 0.3),
        "corrects": {"event": "wb-documents-1", "reason": "批复文件不全", "by": "评价组赵六"},
    }
    fleet.store_as_the_consumers_do(first, override)
    answer = fleet.reporting.get(f"/v1/projects/{PROJECT}/judgments", headers=key)
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["judge_as"] == {"source": f"evaluator:{key_id}", "evaluator": "评价组赵六"}
    assert body["as_of"] == "2023-05-31" and body["judge_at"].startswith("2023-05-31T23:59:59")
    items = body["items"]
    statuses = [i["status"] for i in items]
    assert statuses == sorted(statuses, key=["to_judge", "computed", "judged"].index)  # 待评 first
    assert body["to_judge"] == statuses.count("to_judge") > 0
    documents = next(i for i in items if (i["indicator"], i["point"]) == ("procedure", "documents"))
    assert documents["path"] == ["决策", "项目立项", "立项程序规范性"]
    assert documents["criterion"] == "审批文件、材料符合相关要求" and documents["max"] == 0.5
    assert documents["status"] == "judged"
    held = documents["judgment"]
    assert (held["event"], held["awarded"], held["reason"], held["by"]) == (
        "wb-documents-2",
        0.3,
        "程序规范",
        "评价组王五",
    )
    assert held["counted"] is True
    other, _ = fleet.key("evaluator", ["guangzhou-2023"], "另一评价组")
    assert fleet.reporting.get(f"/v1/projects/{PROJECT}/judgments", headers=other).status_code == 403


def test_a_point_whose_judgment_was_retracted_is_judged_afresh_without_an_override(fleet: Fleet) -> None:
    key, key_id = fleet.key("evaluator", [PROJECT], "评价组王五")
    payload = {"indicator": "objective_fit", "point": "policy", "awarded": 0.5, "reason": "目标符合规划"}
    first = {**judgment("wb-fit-1", key_id, "policy", 0.5), "payload": payload}
    fleet.store_as_the_consumers_do(first)
    again = {**first, "id": "wb-fit-2", "payload": {**payload, "awarded": 0.4}}
    assert fleet.push([again], key).status_code == 409  # still in force
    withdrawn = {
        **{k: first[k] for k in ("project", "occurred_at", "recorded_at", "source")},
        "id": "wb-fit-retract",
        "kind": "retraction",
        "payload": {"event": "wb-fit-1", "reason": "误录", "by": "评价组王五"},
    }
    accepted = fleet.push([withdrawn, again], key)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["accepted"] == 2


def test_two_overrides_made_at_once_are_both_accepted_and_the_judgments_api_shows_the_contest(fleet: Fleet) -> None:
    # Two evaluators override the same judgment before either override is stored: intake checks
    # against the store, so both are accepted; the later stands and the item is marked contested.
    key, key_id = fleet.key("evaluator", [PROJECT], "评价组王五")
    other, other_id = fleet.key("evaluator", [PROJECT], "评价组赵六")

    def adjustment(eid: str, key_id: str, awarded: float, evaluator: str) -> dict[str, Any]:
        event = judgment(eid, key_id, "basis", awarded)
        return {**event, "payload": {**event["payload"], "indicator": "adjustment", "evaluator": evaluator}}

    first = adjustment("wb-adjust-1", key_id, 1, "评价组王五")
    fleet.store_as_the_consumers_do(first)
    mine = {
        **adjustment("wb-adjust-2", key_id, 0.5, "评价组王五"),
        "occurred_at": "2023-05-31T10:00:00+08:00",
        "recorded_at": "2023-05-31T10:00:00+08:00",
        "corrects": {"event": "wb-adjust-1", "reason": "批复文件不全", "by": "评价组王五"},
    }
    theirs = {
        **adjustment("wb-adjust-3", other_id, 0.8, "评价组赵六"),
        "occurred_at": "2023-05-31T10:01:00+08:00",
        "recorded_at": "2023-05-31T10:01:00+08:00",
        "corrects": {"event": "wb-adjust-1", "reason": "补充材料后部分符合", "by": "评价组赵六"},
    }
    assert fleet.push([mine], key).json()["accepted"] == 1
    assert fleet.push([theirs], other).json()["accepted"] == 1
    fleet.store_as_the_consumers_do(mine, theirs)
    body = fleet.reporting.get(f"/v1/projects/{PROJECT}/judgments", headers=key).json()
    basis = next(i for i in body["items"] if (i["indicator"], i["point"]) == ("adjustment", "basis"))
    assert basis["judgment"]["event"] == "wb-adjust-3"
    assert [(c["event"], c["awarded"], c["by"]) for c in basis["competing"]] == [("wb-adjust-2", 0.5, "评价组王五")]
    assert body["contested"] == 1
