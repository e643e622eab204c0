"""Uploading an export to intake (POST /v1/projects/{project}/imports): the intake app in-process with
its lifespan (a real nats-server, a real SQLite store); all or nothing, with the row errors."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import nats
import pytest
from apikeys import bearer, issue_key
from fastapi.testclient import TestClient
from natsfixtures import nats_server
from openpyxl import Workbook  # type: ignore[import-untyped]
from opseval_infra.store.factory import opened_store
from opseval_intake.app import create_app as intake_app
from opseval_intake.bundle import load_definition
from opseval_intake.settings import IntakeSettings
from opseval_shared.messaging import EVIDENCE_STREAM

from opseval.embedded import known_rule_ids

ROOT = Path(__file__).resolve().parents[2]
GUANGZHOU = ROOT / "examples" / "guangzhou-2023"
CSV = {"content-type": "text/csv"}
XLSX = {"content-type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}
CLOCK = (
    "姓名,打卡时间,打卡地点,打卡类型\r\n"
    "陈立新,2023-07-03 08:01:00,市委编办,上班\r\n"
    "王晓峰,2023-07-03 08:02:00,市委编办,上班\r\n"
)


@dataclass
class Intake:
    client: TestClient
    store_file: Path
    nats_url: str
    admin: dict[str, str]

    def key(self, role: str, projects: list[str]) -> dict[str, str]:
        return bearer(issue_key(f"sqlite:///{self.store_file}", role, projects, f"test {role}"))

    def upload(self, data: bytes, headers: dict[str, str], project: str = "guangzhou-2023", **params: Any) -> Any:
        return self.client.post(f"/v1/projects/{project}/imports", content=data, headers=headers, params=params)

    def stream_messages(self) -> int:
        async def count() -> int:
            nc = await nats.connect(self.nats_url)
            try:
                return int((await nc.jetstream().stream_info(EVIDENCE_STREAM.name)).state.messages)
            finally:
                await nc.close()

        return asyncio.run(count())


@pytest.fixture(scope="module")
def intake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Intake]:
    workdir = tmp_path_factory.mktemp("upload")
    store_file = workdir / "store.db"
    with nats_server(workdir, "") as server:
        settings = IntakeSettings(
            environment="test",
            secret_key="integration-test-secret",
            nats_url=server.url,
            store_url=f"sqlite:///{store_file}",
            max_batch=50,
        )  # type: ignore[call-arg]
        with TestClient(intake_app(settings, known_rules=known_rule_ids())) as client:
            found = Intake(client, store_file, server.url, {})
            found.admin = found.key("admin", ["*"])
            definition = load_definition(GUANGZHOU).model_dump_json()
            response = client.post(
                "/v1/projects", content=definition, headers={"content-type": "application/json", **found.admin}
            )
            assert response.status_code in (200, 201), response.text
            yield found


def test_a_gbk_clock_export_is_accepted_once_and_a_second_upload_is_all_duplicates(intake: Intake) -> None:
    upstream = intake.key("upstream", ["guangzhou-2023"])
    before = intake.stream_messages()
    first = intake.upload(CLOCK.encode("gbk"), {**CSV, **upstream}, profile="attendance-clock", filename="打卡.csv")
    assert first.status_code == 200, first.text
    assert (first.json()["accepted"], first.json()["duplicate"], first.json()["rows"]) == (2, 0, 2)
    again = intake.upload(CLOCK.encode("utf-8-sig"), {**CSV, **upstream}, profile="attendance-clock")
    assert (again.json()["accepted"], again.json()["duplicate"]) == (0, 2)
    assert [r["id"] for r in again.json()["results"]] == [r["id"] for r in first.json()["results"]]
    assert intake.stream_messages() == before + 2

    async def trail() -> list[Any]:
        async with opened_store(f"sqlite:///{intake.store_file}") as store:
            return await store.list_audit(action="evidence.import", limit=1000)

    entry = json.loads(asyncio.run(trail())[-2].detail)  # the first upload's
    assert (entry["profile"], entry["file"], entry["rows"], entry["accepted"]) == ("attendance-clock", "打卡.csv", 2, 2)
    assert entry["project"] == "guangzhou-2023" and entry["ids"] == [r["id"] for r in first.json()["results"]]


def test_an_export_with_bad_rows_is_refused_422_with_each_row_and_nothing_is_published(intake: Intake) -> None:
    upstream = intake.key("upstream", ["guangzhou-2023"])
    bad = CLOCK + "张三,2023-07-03 25:00:00,市委编办,上班\r\n,2023-07-03 08:03:00,市委编办,上班\r\n"
    before = intake.stream_messages()
    response = intake.upload(bad.encode("gbk"), {**CSV, **upstream}, profile="attendance-clock", filename="clock.csv")
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert "nothing was accepted" in detail["message"]
    rows = {(e["file"], e["row"], e["column"]) for e in detail["errors"]}
    assert rows == {("clock.csv", 4, "打卡时间"), ("clock.csv", 5, "姓名")}
    assert all(e["reason"] for e in detail["errors"])
    assert intake.stream_messages() == before


def test_an_xlsx_inspection_log_is_checked_against_the_projects_plans(intake: Intake) -> None:
    upstream = intake.key("upstream", ["guangzhou-2023"])
    book = Workbook()
    book.active.append(["巡检时间", "巡检计划", "巡检范围"])
    book.active.append(["2023-07-03 08:20", "morning_check", "机房"])
    book.active.append(["2023-07-04 08:20", "evening_check", "机房"])
    buffer = BytesIO()
    book.save(buffer)
    refused = intake.upload(buffer.getvalue(), {**XLSX, **upstream}, profile="inspection-log", filename="巡检.xlsx")
    assert refused.status_code == 422
    [error] = refused.json()["detail"]["errors"]
    assert (error["row"], error["column"]) == (3, "巡检计划")
    assert "evening_check" in error["reason"] and "morning_check" in error["reason"]


def test_an_upload_needs_a_key_for_its_project_a_known_profile_and_a_file(intake: Intake) -> None:
    other = intake.key("upstream", ["dongguan-2022"])
    assert intake.upload(CLOCK.encode(), {**CSV, **other}, profile="attendance-clock").status_code == 403
    # an evaluator of the project corrects its evidence but does not supply it
    evaluator = intake.key("evaluator", ["guangzhou-2023"])
    refused = intake.upload(CLOCK.encode(), {**CSV, **evaluator}, profile="attendance-clock")
    assert refused.status_code == 403 and "evaluator" in refused.json()["detail"]
    assert intake.upload(CLOCK.encode(), CSV, profile="attendance-clock").status_code == 401
    upstream = intake.key("upstream", ["guangzhou-2023"])
    unknown = intake.upload(CLOCK.encode(), {**CSV, **upstream}, profile="payroll")
    assert unknown.status_code == 422 and "attendance-clock" in unknown.json()["detail"]
    empty = intake.upload(b"", {**CSV, **upstream}, profile="attendance-clock", filename="empty.csv")
    assert empty.status_code == 422
    assert empty.json()["detail"]["errors"] == [
        {"file": "empty.csv", "row": None, "column": None, "reason": "文件为空", "field": "(file)"}
    ]
    as_json = intake.upload(b"{}", {"content-type": "application/json", **upstream}, profile="attendance-clock")
    assert as_json.status_code == 415


def test_a_file_of_more_events_than_a_batch_is_refused_413(intake: Intake) -> None:
    upstream = intake.key("upstream", ["guangzhou-2023"])
    rows = "".join(f"陈立新,2023-07-{1 + i // 10:02d} 08:{i % 60:02d}:00,市委编办,上班\r\n" for i in range(51))
    response = intake.upload(
        ("姓名,打卡时间,打卡地点,打卡类型\r\n" + rows).encode(), {**CSV, **upstream}, profile="attendance-clock"
    )
    assert response.status_code == 413


def test_a_set_that_is_not_field_equals_value_is_refused_422_and_nothing_is_published(intake: Intake) -> None:
    upstream = intake.key("upstream", ["guangzhou-2023"])
    before = intake.stream_messages()
    refused = intake.upload(CLOCK.encode(), {**CSV, **upstream}, profile="attendance-clock", set=["site"])
    assert refused.status_code == 422 and refused.json()["detail"] == "set takes FIELD=VALUE, not 'site'"
    assert intake.stream_messages() == before
