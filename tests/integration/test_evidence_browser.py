"""The evidence browser's API — the reporting app in-process on a real nats-server and SQLite store:
labelled tables by kind, paged and filtered, of a project, a leaf or a finding; the XLSX export; an
event in Chinese with its corrections; staffing promised vs actual; set-aside and dead-lettered
events; and every route scoped to the key's projects.

The evaluating services do not run here: the test stores what they would (the example's events,
its scores and findings computed by `opseval evaluate`'s code, an evaluation status with a
correction and a set-aside event, a dead letter), then reads it back over HTTP."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from apikeys import bearer, issue_key
from fastapi.testclient import TestClient
from natsfixtures import nats_server
from opseval_infra.projects import evaluation_kind
from opseval_infra.store.base import DeadLetter, Snapshot, StoredEvent, StoredProject
from opseval_infra.store.factory import opened_store
from opseval_intake.bundle import load_definition
from opseval_reporting.app import create_app as reporting_app
from opseval_reporting.settings import ReportingSettings
from opseval_shared.evidence import parse_evidence_json
from opseval_shared.messaging import DeadLettered, FindingsChanged, ScoreChanged, evidence_subject

from opseval.embedded import evaluate_bundle

ROOT = Path(__file__).resolve().parents[2]
DONGGUAN = ROOT / "examples" / "dongguan-2022"
GUANGZHOU = ROOT / "examples" / "guangzhou-2023"
PROJECT = "dongguan-2022"
ONSITE_LEAF = "ops_onsite"  # 运维服务驻场服务完成率: 2790 clock-ins and roster entries
LATE_FINDING = "F-ae11449eb0"  # staff.late_arrivals: 28 late clock-ins


def bundle_events(bundle: Path) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for path in sorted((bundle / "evidence").rglob("*.jsonl"))
        for line in path.read_text("utf-8").splitlines()
        if line.strip()
    ]


@dataclass
class Api:
    client: TestClient
    store_url: str
    evaluator: dict[str, str]
    events: list[dict[str, Any]]
    corrected: str
    correcting: str
    aside: str

    def get(self, path: str, headers: dict[str, str] | None = None, **params: Any) -> Any:
        return self.client.get(path, params=params, headers=headers or self.evaluator)


async def store_project(
    store_url: str, bundle: Path, extra: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    definition = load_definition(bundle)
    result, _ = evaluate_bundle(bundle)
    events = bundle_events(bundle) + (extra or [])
    project = definition.project.id
    async with opened_store(store_url) as store:
        await store.put_project(StoredProject(project, "r1", definition.model_dump_json()))
        await store.add_events(
            # the stored form intake keeps: the validated event as canonical JSON
            [
                StoredEvent(e["id"], project, e["kind"], parse_evidence_json(json.dumps(e)).model_dump_json())
                for e in events
            ]
        )
        n = len(events)
        scores = ScoreChanged(
            project=project,
            events_folded=n,
            findings_events_folded=n,
            as_of=result.as_of,
            total=result.total,
            grade=result.grade,
            indicators=result.indicators,
        )
        findings = FindingsChanged(project=project, events_folded=n, as_of=result.as_of, findings=result.findings)
        await store.put_snapshot("scores", Snapshot(project, n, scores.json_bytes()))
        await store.put_snapshot("findings", Snapshot(project, n, findings.json_bytes()))
    return events


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    workdir = tmp_path_factory.mktemp("evidence-browser")
    store_url = f"sqlite:///{workdir / 'store.db'}"
    clocks = [e for e in bundle_events(DONGGUAN) if e["kind"] == "clock_in"]
    corrected, aside = clocks[0], clocks[1]
    correction = {
        **corrected,
        "id": "fix-" + corrected["id"],
        "payload": {**corrected["payload"], "staff": "更正后姓名"},
        "corrects": {"event": corrected["id"], "reason": "姓名录入错误", "by": "第三方评价组"},
    }
    events = asyncio.run(store_project(store_url, DONGGUAN, [correction]))
    asyncio.run(store_project(store_url, GUANGZHOU))

    async def evaluation_status() -> None:
        status = {
            "service": "rules",
            "state": "ok",
            "error": None,
            "failures": 0,
            "set_aside": [{"event": aside["id"], "field": "contract", "reason": "contract 'ops' is not defined"}],
            "corrections": [
                {
                    "event": corrected["id"],
                    "corrected_by": correction["id"],
                    "action": "superseded",
                    "reason": "姓名录入错误",
                    "by": "第三方评价组",
                    "source": "workbench",
                    "recorded_at": corrected["recorded_at"],
                    "in_force": True,
                    "received": True,
                }
            ],
        }
        letter = DeadLettered(
            id="intake:EVIDENCE:7",
            service="rules",
            stream="EVIDENCE",
            subject=evidence_subject(PROJECT, "incident"),
            deliveries=5,
            error="ValueError: severity 'p9' is not defined",
            payload=json.dumps({"id": "bad-incident-1", "kind": "incident"}),
            at="2022-10-01T00:00:00Z",  # type: ignore[arg-type]
        )
        elsewhere = letter.model_copy(update={"id": "x:1", "subject": evidence_subject("guangzhou-2023", "incident")})
        # a project whose id extends this one's, and the letter that recorded the set-aside event
        dotted = letter.model_copy(update={"id": "x:2", "subject": evidence_subject(PROJECT + ".b", "incident")})
        recorded = letter.model_copy(update={"id": f"rules:unresolved:{PROJECT}:{aside['id']}:r1"})
        async with opened_store(store_url) as store:
            for service in ("rules", "scoring"):
                body = json.dumps({**status, "service": service}).encode()
                await store.put_snapshot(evaluation_kind(service), Snapshot(PROJECT, 1, body))
            await store.add_dead_letter(DeadLetter(letter.id, "rules", letter.model_dump_json()))
            for other in (elsewhere, dotted, recorded):
                await store.add_dead_letter(DeadLetter(other.id, "rules", other.model_dump_json()))

    asyncio.run(evaluation_status())
    with nats_server(workdir, "") as server:
        settings = ReportingSettings(
            environment="test",  # type: ignore[call-arg]
            secret_key="integration-test-secret",
            nats_url=server.url,
            store_url=store_url,
        )
        with TestClient(reporting_app(settings)) as client:
            evaluator = bearer(issue_key(store_url, "evaluator", [PROJECT], "evaluation team"))
            yield Api(client, store_url, evaluator, events, corrected["id"], correction["id"], aside["id"])


def test_a_projects_evidence_pages_through_a_kind_with_chinese_columns(api: Api) -> None:
    clocks = [e for e in api.events if e["kind"] == "clock_in"]
    first = api.get(f"/v1/projects/{PROJECT}/evidence-table", kind="clock_in", limit=100)
    assert first.status_code == 200, first.text
    page = first.json()
    assert page["label"] == "考勤打卡记录" and page["total"] == len(clocks) > 3000
    assert [c["label"] for c in page["columns"]] == ["打卡时间", "人员", "打卡类型", "打卡地点"]
    kinds = {k["kind"]: k for k in page["kinds"]}
    assert kinds["clock_in"]["count"] == len(clocks) and kinds["roster_entry"]["label"] == "驻场人员名单"
    assert sum(k["count"] for k in page["kinds"]) == len(api.events)
    seen = [r["id"] for r in page["rows"]]
    offset = 100
    while offset < page["total"]:
        more = api.get(f"/v1/projects/{PROJECT}/evidence-table", kind="clock_in", offset=offset, limit=500).json()
        seen += [r["id"] for r in more["rows"]]
        offset += 500
    assert seen == [e["id"] for e in clocks]  # every clock-in once, in the order accepted
    row = page["rows"][2]
    assert row["cells"][0].startswith("2022年") and "T" not in row["cells"][0]
    assert row["cells"][2] in ("上班打卡", "下班打卡")


def test_without_a_kind_the_largest_kind_is_shown(api: Api) -> None:
    page = api.get(f"/v1/projects/{PROJECT}/evidence-table").json()
    assert page["kind"] == "clock_in"


def test_filters_by_date_and_text_select_and_count_the_same_rows(api: Api) -> None:
    october = api.get(
        f"/v1/projects/{PROJECT}/evidence-table",
        kind="clock_in",
        limit=500,
        **{"from": "2022-10-01"},
        until="2022-10-31",
    ).json()
    expected = [
        e["id"] for e in api.events if e["kind"] == "clock_in" and "2022-10-01" <= e["occurred_at"][:10] <= "2022-10-31"
    ]
    assert october["total"] == len(expected) > 0
    assert [r["id"] for r in october["rows"]] == expected[:500]
    person = next(e["payload"]["staff"] for e in api.events if e["kind"] == "clock_in")
    theirs = api.get(f"/v1/projects/{PROJECT}/evidence-table", kind="clock_in", q=person, limit=5).json()
    assert theirs["total"] == sum(
        1 for e in api.events if e["kind"] == "clock_in" and person in json.dumps(e, ensure_ascii=False)
    )
    assert all(r["cells"][1] == person for r in theirs["rows"])


def test_bad_filters_are_refused_naming_the_field(api: Api) -> None:
    wrong_kind = api.get(f"/v1/projects/{PROJECT}/evidence-table", kind="clockin")
    assert wrong_kind.status_code == 422 and "kind" in wrong_kind.text and "clock_in" in wrong_kind.text
    bad_date = api.get(f"/v1/projects/{PROJECT}/evidence-table", kind="clock_in", **{"from": "2022-13-01"})
    assert bad_date.status_code == 422 and "from" in bad_date.text
    backwards = api.get(f"/v1/projects/{PROJECT}/evidence-table", **{"from": "2022-10-02"}, until="2022-10-01")
    assert backwards.status_code == 422
    assert api.get(f"/v1/projects/{PROJECT}/evidence-table", limit=501).status_code == 422


def test_a_leafs_whole_evidence_is_browsable_by_kind(api: Api) -> None:
    whole = api.get(f"/v1/projects/{PROJECT}/indicators/{ONSITE_LEAF}/evidence", limit=1000).json()
    page = api.get(f"/v1/projects/{PROJECT}/evidence-table", leaf=ONSITE_LEAF, limit=500).json()
    assert page["scope"] == {"leaf": ONSITE_LEAF, "name": "运维服务驻场服务完成率"}
    assert sum(k["count"] for k in page["kinds"]) == whole["total"] == 2790
    assert page["kind"] == "clock_in" and page["total"] == next(
        k["count"] for k in page["kinds"] if k["kind"] == "clock_in"
    )
    roster = api.get(f"/v1/projects/{PROJECT}/evidence-table", leaf=ONSITE_LEAF, kind="roster_entry").json()
    assert roster["total"] == 15 and [c["label"] for c in roster["columns"]][:2] == ["姓名", "岗位"]
    assert api.get(f"/v1/projects/{PROJECT}/evidence-table", leaf="nope").status_code == 404


def test_a_findings_evidence_is_browsable(api: Api) -> None:
    page = api.get(f"/v1/projects/{PROJECT}/evidence-table", finding=LATE_FINDING).json()
    assert page["scope"]["finding"] == LATE_FINDING and "迟到" in page["scope"]["name"]
    assert page["kind"] == "clock_in" and page["total"] == 28
    assert all(r["cells"][2] == "上班打卡" for r in page["rows"])


def test_the_export_is_the_filtered_table_with_chinese_headers(api: Api) -> None:
    response = api.get(
        f"/v1/projects/{PROJECT}/evidence-table.xlsx", kind="clock_in", **{"from": "2022-10-01"}, until="2022-10-31"
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-disposition"] == f'attachment; filename="{PROJECT}-clock_in.xlsx"'
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert sheet is not None and sheet.title == "考勤打卡记录"
    rows = list(sheet.iter_rows(values_only=True))
    assert "自 2022年10月1日 至 2022年10月31日" in str(rows[0][0])
    assert rows[1][:4] == ("打卡时间", "人员", "打卡类型", "打卡地点") and rows[1][-1] == "状态"
    assert "记录编号" in rows[1] and "来源系统" in rows[1]
    expected = [
        e for e in api.events if e["kind"] == "clock_in" and "2022-10-01" <= e["occurred_at"][:10] <= "2022-10-31"
    ]
    assert len(rows) - 2 == len(expected) and f"考勤打卡记录（{len(expected)} 条）" in str(rows[0][0])
    ids = rows[1].index("记录编号")
    assert [r[ids] for r in rows[2:]] == [e["id"] for e in expected]
    leaf = api.get(f"/v1/projects/{PROJECT}/evidence-table.xlsx", kind="roster_entry", leaf=ONSITE_LEAF)
    roster = list(openpyxl.load_workbook(io.BytesIO(leaf.content)).active.iter_rows(values_only=True))  # type: ignore[union-attr]
    years = roster[1].index("工作年限（年）")
    assert len(roster) == 2 + 15 and all(isinstance(r[years], (int, float)) for r in roster[2:] if r[years] is not None)


def test_an_event_reads_in_chinese_with_its_correction_and_state(api: Api) -> None:
    detail = api.get(f"/v1/projects/{PROJECT}/evidence-detail/{api.corrected}").json()
    lines = dict(detail["lines"])
    assert lines["材料类别"] == "考勤打卡记录" and lines["记录编号"] == api.corrected
    assert lines["合同"] in ("运维服务项目（ops）", "运营服务项目（operation）")
    assert detail["state"] == "已更正"
    fields = {f["key"]: f for f in detail["fields"]}  # what the 更正 form offers: payload and time
    assert set(fields) == {"occurred_at", "payload.staff", "payload.direction", "payload.site"}
    assert (
        fields["occurred_at"]["label"] == "打卡时间"
        and fields["payload.staff"]["value"] == detail["event"]["payload"]["staff"]
    )
    assert fields["payload.direction"]["choices"] == {"in": "上班打卡", "out": "下班打卡"}
    judged = api.get(f"/v1/projects/{PROJECT}/evidence-detail/dg-judge-basis-policy").json()
    indicator = next(f for f in judged["fields"] if f["key"] == "payload.indicator")
    assert indicator["value"] == "basis" and indicator["choices"]["basis"] == "立项依据充分性（basis）"
    (trail,) = detail["corrections"]
    assert (
        trail["corrected_by"] == api.correcting
        and trail["action_label"] == "更正"
        and trail["reason"] == "姓名录入错误"
    )
    fix = api.get(f"/v1/projects/{PROJECT}/evidence-detail/{api.correcting}").json()
    assert dict(fix["lines"])["更正理由"] == "姓名录入错误" and fix["state"] == "更正记录"
    page = api.get(f"/v1/projects/{PROJECT}/evidence-table", kind="clock_in", q=api.corrected).json()
    states = {r["id"]: r["state"] for r in page["rows"]}
    assert states[api.corrected] == "已更正" and states[api.correcting] == "更正记录"
    aside = api.get(f"/v1/projects/{PROJECT}/evidence-detail/{api.aside}").json()
    assert aside["state"] == "已搁置" and aside["set_aside"]["field"] == "contract"
    assert api.get(f"/v1/projects/{PROJECT}/evidence-detail/nope").status_code == 404


def test_staffing_sets_the_promised_staff_beside_the_roster(api: Api) -> None:
    answer = api.get(f"/v1/projects/{PROJECT}/staffing")
    assert answer.status_code == 200, answer.text
    ops = next(c for c in answer.json()["contracts"] if c["contract"] == "ops")
    assert ops["name"] == "运维服务项目" and ops["min_on_site"] == 15 and ops["on_site"] == 15
    labels = {r["match_label"] for r in ops["staff"]}
    assert labels == {"未到岗", "名单外人员"}  # the bid's 15 were all replaced
    assert len(ops["staff"]) == 30
    present = next(r for r in ops["staff"] if r["match"] == "not_promised")
    assert present["roster_event"] and float(present["coverage"]) > 0.9 and present["days_present"] > 100
    earlier = api.get(f"/v1/projects/{PROJECT}/staffing", as_of="2022-09-30").json()
    assert earlier["as_of"] == "2022-09-30"
    before = next(c for c in earlier["contracts"] if c["contract"] == "ops")
    assert max(r["days_present"] for r in before["staff"]) < max(r["days_present"] for r in ops["staff"])


def test_set_aside_and_dead_lettered_events_of_the_project_only(api: Api) -> None:
    answer = api.get(f"/v1/projects/{PROJECT}/set-aside").json()
    (aside,) = answer["set_aside"]
    assert aside["event"] == api.aside and aside["kind_label"] == "考勤打卡记录" and "contract" in aside["reason"]
    (letter,) = answer["dead_letters"]  # not the other projects', nor the set-aside event's again
    assert letter["event"] == "bad-incident-1" and letter["kind_label"] == "故障工单"
    assert letter["service_label"] == "规则服务" and "p9" in letter["error"]


def test_every_browser_route_is_scoped_to_the_keys_projects(api: Api) -> None:
    other = "guangzhou-2023"
    paths = [
        f"/v1/projects/{other}/evidence-table",
        f"/v1/projects/{other}/evidence-table.xlsx?kind=clock_in",
        f"/v1/projects/{other}/evidence-detail/x",
        f"/v1/projects/{other}/staffing",
        f"/v1/projects/{other}/set-aside",
    ]
    for path in paths:
        assert api.client.get(path, headers=api.evaluator).status_code == 403, path
        assert api.client.get(path).status_code == 401, path
    upstream = bearer(issue_key(api.store_url, "upstream", [PROJECT], "upstream"))
    assert api.get(f"/v1/projects/{PROJECT}/evidence-table", headers=upstream).status_code == 403
    admin = bearer(issue_key(api.store_url, "admin", ["*"], "admin"))
    assert api.get(f"/v1/projects/{other}/evidence-table", headers=admin).status_code == 200
