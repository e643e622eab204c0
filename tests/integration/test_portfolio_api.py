"""The portfolio over the results API (the reporting app in-process over a real SQLite store and a
real nats-server): the projects a key may read side by side and ranked, benchmarking by indicator
across their differing indicator systems, and both as workbooks opened with openpyxl."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from apikeys import bearer, issue_key
from fastapi.testclient import TestClient
from natsfixtures import nats_server
from openpyxl import load_workbook
from opseval_infra.store.base import Snapshot, StoredProject
from opseval_infra.store.factory import opened_store
from opseval_reporting.app import create_app as reporting_app
from opseval_reporting.settings import ReportingSettings
from opseval_shared.messaging import FindingsChanged, ScoreChanged
from opseval_shared.results import EvaluationResult

from opseval.embedded import evaluate_bundle

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
SCORED = ("guangzhou-2021", "service-centre-2024", "urumqi-2023")
UNSCORED = "guangzhou-2023"
MINE = ["guangzhou-2021", "service-centre-2024"]  # the evaluator's scope


@dataclass
class Setup:
    client: TestClient
    store_url: str
    results: dict[str, EvaluationResult]

    def key(self, role: str, projects: list[str]) -> dict[str, str]:
        return bearer(issue_key(self.store_url, role, projects, f"portfolio {role}"))


async def _seed(store_url: str, bundles: dict[str, tuple[EvaluationResult | None, str]]) -> None:
    async with opened_store(store_url) as store:
        for project, (result, definition) in bundles.items():
            await store.put_project(StoredProject(project, "r1", definition))
            if result is None:
                continue
            scores = ScoreChanged(
                project=project,
                events_folded=1,
                findings_events_folded=1,
                as_of=result.as_of,
                total=result.total,
                grade=result.grade,
                assessable=result.assessable,
                pending=result.pending,
                indicators=result.indicators,
            )
            findings = FindingsChanged(project=project, events_folded=1, as_of=result.as_of, findings=result.findings)
            await store.put_snapshot("scores", Snapshot(project, 1, scores.json_bytes()))
            await store.put_snapshot("findings", Snapshot(project, 1, findings.json_bytes()))


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Setup]:
    workdir = tmp_path_factory.mktemp("portfolio")
    store_url = f"sqlite:///{workdir / 'store.db'}"
    evaluated = {name: evaluate_bundle(EXAMPLES / name) for name in (*SCORED, UNSCORED)}
    results = {name: evaluated[name][0] for name in SCORED}
    with nats_server(workdir, "") as server:
        settings = ReportingSettings(
            environment="test",  # type: ignore[arg-type]
            secret_key="integration-test-secret",
            nats_url=server.url,
            store_url=store_url,
        )
        with TestClient(reporting_app(settings)) as client:
            asyncio.run(
                _seed(
                    store_url,
                    {
                        name: (results.get(name), definition.model_dump_json())
                        for name, (_, definition) in evaluated.items()
                    },
                )
            )
            yield Setup(client, store_url, results)


def _level1_rates(result: EvaluationResult) -> dict[str, Decimal]:
    return {t.name: (t.score / t.weight).quantize(Decimal("0.0001")) for t in result.indicators}


def test_an_evaluator_sees_only_its_projects_ranked_with_level_one_rates_and_findings_by_severity(
    setup: Setup,
) -> None:
    response = setup.client.get("/v1/portfolio", headers=setup.key("evaluator", MINE))
    assert response.status_code == 200, response.text
    entries = response.json()["entries"]
    assert [(e["project"], e["rank"]) for e in entries] == [("guangzhou-2021", 1), ("service-centre-2024", 2)]
    for entry in entries:
        result = setup.results[entry["project"]]
        assert Decimal(str(entry["total"])) == result.total and entry["grade"] == result.grade
        assert {t["name"]: Decimal(str(t["rate"])) for t in entry["level1"]} == _level1_rates(result)
        assert entry["findings"] == {
            s: sum(f.severity == s for f in result.findings) for s in ("high", "medium", "low")
        }
    # 决策 is a level-1 indicator of service-centre-2024 only: still offered for benchmarking
    keys = [c["key"] for c in response.json()["indicators"]]
    assert "level1:决策" in keys and "level1:效益" in keys


def test_an_administrator_sees_every_project_and_an_unscored_one_last_without_rank(setup: Setup) -> None:
    entries = setup.client.get("/v1/portfolio", headers=setup.key("admin", ["*"])).json()["entries"]
    assert [e["project"] for e in entries] == ["guangzhou-2021", "urumqi-2023", "service-centre-2024", UNSCORED]
    assert entries[-1]["rank"] is None and entries[-1]["total"] is None


def test_benchmarking_names_the_best_project_and_the_gap_and_says_when_an_indicator_is_absent(setup: Setup) -> None:
    evaluator = setup.key("evaluator", MINE)
    benefit = setup.client.get("/v1/portfolio/benchmark", params={"indicator": "level1:效益"}, headers=evaluator)
    assert benefit.status_code == 200, benefit.text
    rows = benefit.json()["rows"]
    rates = {p: _level1_rates(setup.results[p])["效益"] for p in MINE}
    best = max(rates, key=lambda p: rates[p])
    assert benefit.json()["benchmark_project"] == best and rows[0]["project"] == best and rows[0]["benchmark"]
    for row in rows:
        assert Decimal(str(row["gap"])) == rates[best] - rates[row["project"]]
    decision = setup.client.get("/v1/portfolio/benchmark", params={"indicator": "level1:决策"}, headers=evaluator)
    absent = [r for r in decision.json()["rows"] if not r["present"]]
    assert [(r["project"], r["note"], r["rate"]) for r in absent] == [
        ("guangzhou-2021", "该项目的指标体系无此指标", None)
    ]


def test_a_benchmark_reads_only_the_keys_projects_and_a_bad_indicator_is_a_422_naming_it(setup: Setup) -> None:
    evaluator = setup.key("evaluator", MINE)
    # 全天候服务保障 is a leaf of urumqi-2023 only, outside this key's scope
    only_urumqi = {"indicator": "name:全天候服务保障"}
    outside = setup.client.get("/v1/portfolio/benchmark", params=only_urumqi, headers=evaluator)
    assert outside.status_code == 422 and "none of the projects has it" in outside.json()["detail"]
    admin = setup.key("admin", ["*"])
    inside = setup.client.get("/v1/portfolio/benchmark", params=only_urumqi, headers=admin)
    assert inside.status_code == 200 and inside.json()["benchmark_project"] == "urumqi-2023"
    bad = setup.client.get("/v1/portfolio/benchmark", params={"indicator": "效益"}, headers=evaluator)
    assert bad.status_code == 422 and bad.json()["detail"].startswith("indicator: indicator '效益'")
    missing = setup.client.get("/v1/portfolio/benchmark", headers=evaluator)
    assert missing.status_code == 422 and "indicator" in str(missing.json()["detail"])
    upstream = setup.client.get("/v1/portfolio", headers=setup.key("upstream", MINE))
    assert upstream.status_code == 403


def _sheet_rows(sheet: Any) -> list[list[Any]]:
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def test_the_portfolio_workbook_has_chinese_headers_numbers_as_percentages_and_fitted_columns(setup: Setup) -> None:
    response = setup.client.get(
        "/v1/portfolio.xlsx", params={"indicator": "level1:决策"}, headers=setup.key("evaluator", MINE)
    )
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["项目对比", "标杆对比"]
    sheet = book["项目对比"]
    rows = _sheet_rows(sheet)
    assert rows[0][0] == "项目绩效评价结果对比"
    header = rows[1]
    assert header[:5] == ["排名", "项目名称", "评价基准日", "总分", "等级"]
    assert header[-3:] == ["严重问题", "一般问题", "提示问题"]
    by_name = {r[1]: r for r in rows[2:]}
    centre = setup.results["service-centre-2024"]
    row = by_name[centre.name]
    assert row[0] == 2 and row[3] == pytest.approx(float(centre.total)) and row[4] == centre.grade
    column = header.index("决策得分率")
    assert row[column] == pytest.approx(float(_level1_rates(centre)["决策"]))
    assert sheet.cell(3 + rows[2:].index(row), column + 1).number_format == "0.00%"
    assert by_name[setup.results["guangzhou-2021"].name][column] == "无此指标"
    # the name column is as wide as the longest name (a CJK character two units, a digit one)
    longest = max(sum(2 if ord(ch) >= 0x2E80 else 1 for ch in r[1]) for r in rows[2:])
    assert sheet.column_dimensions["B"].width >= longest
    assert sheet.column_dimensions["A"].width < 15

    bench = _sheet_rows(book["标杆对比"])
    assert bench[0][0] == "标杆对比：一级指标 决策"
    header = "排名 项目名称 指标编号 指标名称 权重 得分 得分率 标杆 与标杆差距 说明"
    assert bench[1] == header.split()
    assert bench[2][1] == centre.name and bench[2][7] == "标杆" and bench[2][8] == 0
    assert bench[3][1] == setup.results["guangzhou-2021"].name and bench[3][3] == "无此指标"
    assert bench[3][9] == "该项目的指标体系无此指标"


def test_the_benchmark_workbook_holds_the_one_sheet_and_a_bad_indicator_is_refused(setup: Setup) -> None:
    evaluator = setup.key("evaluator", MINE)
    response = setup.client.get("/v1/portfolio/benchmark.xlsx", params={"indicator": "level1:产出"}, headers=evaluator)
    assert response.status_code == 200, response.text
    book = load_workbook(io.BytesIO(response.content))
    assert book.sheetnames == ["标杆对比"]
    rows = _sheet_rows(book["标杆对比"])[2:]
    assert sorted(r[1] for r in rows) == sorted(setup.results[p].name for p in MINE)
    assert [r[7] for r in rows].count("标杆") == 1
    refused = setup.client.get("/v1/portfolio.xlsx", params={"indicator": "level9:产出"}, headers=evaluator)
    assert refused.status_code == 422


def test_a_projects_grade_bands_are_read_best_first_and_only_within_the_keys_scope(setup: Setup) -> None:
    evaluator = setup.key("evaluator", MINE)
    bands = setup.client.get("/v1/projects/guangzhou-2021/grades", headers=evaluator)
    assert bands.status_code == 200, bands.text
    assert [(b["grade"], b["min"], b["max"]) for b in bands.json()] == [
        ("优", 90, None),
        ("良", 80, 90),
        ("中", 60, 80),
        ("差", 0, 60),
    ]
    assert setup.client.get("/v1/projects/urumqi-2023/grades", headers=evaluator).status_code == 403


def test_two_named_projects_are_compared_and_naming_one_outside_the_scope_is_refused(setup: Setup) -> None:
    admin = setup.key("admin", ["*"])
    two = setup.client.get("/v1/portfolio", params={"projects": "urumqi-2023,service-centre-2024"}, headers=admin)
    assert two.status_code == 200, two.text
    assert [e["project"] for e in two.json()["entries"]] == ["urumqi-2023", "service-centre-2024"]
    book = setup.client.get("/v1/portfolio.xlsx", params={"projects": "urumqi-2023,service-centre-2024"}, headers=admin)
    names = [r[1] for r in _sheet_rows(load_workbook(io.BytesIO(book.content))["项目对比"])[2:]]
    assert names == [setup.results["urumqi-2023"].name, setup.results["service-centre-2024"].name]
    evaluator = setup.key("evaluator", MINE)
    outside = setup.client.get("/v1/portfolio", params={"projects": "guangzhou-2021,urumqi-2023"}, headers=evaluator)
    assert outside.status_code == 403 and "urumqi-2023" in outside.json()["detail"]
    unknown = setup.client.get(
        "/v1/portfolio/benchmark", params={"projects": "nowhere", "indicator": "level1:产出"}, headers=admin
    )
    assert unknown.status_code == 404 and unknown.json()["detail"] == "projects: no project 'nowhere'"
    empty = setup.client.get("/v1/portfolio", params={"projects": " , "}, headers=admin)
    assert empty.status_code == 422 and empty.json()["detail"].startswith("projects:")
