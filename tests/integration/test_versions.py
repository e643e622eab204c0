"""Finalised versions over the results API (the reporting app in-process, a real nats-server and a
SQLite store): numbered 1, 2, 3 …, frozen against later evidence — the version and its documents —
while the current evaluation moves; compared; and only for keys that may finalise the project."""

from __future__ import annotations

import asyncio
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from apikeys import bearer, issue_key
from docx import Document
from fastapi.testclient import TestClient
from natsfixtures import nats_server
from openpyxl import load_workbook
from opseval_infra.projects import today_in_china
from opseval_infra.store.base import StoredEvent, StoredProject
from opseval_infra.store.factory import opened_store
from opseval_intake.bundle import evidence_files, load_definition
from opseval_reporting.app import create_app as reporting_app
from opseval_reporting.pipeline import evaluate_ledger
from opseval_reporting.settings import ReportingSettings
from opseval_shared.evidence import parse_evidence_json
from opseval_shared.ledger import fold_all

ROOT = Path(__file__).resolve().parents[2]
GUANGZHOU = ROOT / "examples" / "guangzhou-2021"  # a self-evaluation: it has a 自评表 too
PROJECT = "guangzhou-2021"
AS_OF = "2022-05-31"


@dataclass
class Api:
    client: TestClient
    store_url: str
    admin: dict[str, str]

    def key(self, role: str, projects: list[str], name: str) -> dict[str, str]:
        return bearer(issue_key(self.store_url, role, projects, name))

    def store_events(self, lines: list[str]) -> None:
        async def add() -> None:
            async with opened_store(self.store_url) as store:
                events = [parse_evidence_json(line) for line in lines]
                await store.add_events(
                    [StoredEvent(e.id, e.project, e.kind.value, e.model_dump_json()) for e in events]
                )

        asyncio.run(add())

    def get(self, path: str, headers: dict[str, str], **params: Any) -> Any:
        response = self.client.get(path, headers=headers, params=params)
        assert response.status_code == 200, response.text
        return response

    def finalise(self, headers: dict[str, str], as_of: str = AS_OF, note: str = "") -> Any:
        return self.client.post(
            f"/v1/projects/{PROJECT}/versions", json={"as_of": as_of, "note": note}, headers=headers
        )


def bundle_lines(judgments: bool) -> list[str]:
    """The bundle's evidence lines: without its judgments, or the judgments only."""
    return [
        line
        for path in evidence_files(GUANGZHOU)
        if (path.name == "judgments.jsonl") == judgments
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


@pytest.fixture
def api(tmp_path: Path) -> Iterator[Api]:
    store_url = f"sqlite:///{tmp_path / 'store.db'}"

    async def register() -> None:
        async with opened_store(store_url) as store:
            definition = load_definition(GUANGZHOU).model_dump_json()
            await store.put_project(StoredProject(id=PROJECT, revision="rev-1", definition=definition))

    asyncio.run(register())
    with nats_server(tmp_path, "") as server:
        settings = ReportingSettings(
            environment="test",  # type: ignore[call-arg]
            secret_key="integration-test-secret",  # type: ignore[call-arg]
            nats_url=server.url,  # type: ignore[call-arg]
            store_url=store_url,  # type: ignore[call-arg]
        )
        with TestClient(reporting_app(settings)) as client:
            yield Api(client, store_url, bearer(issue_key(store_url, "admin", ["*"], "管理员")))


def evaluated(lines: list[str]) -> dict[str, Any]:
    """The evaluation as of AS_OF over these events, computed here as `opseval evaluate` does (the
    results API serves the default date from what the scoring service stored, and none runs here)."""
    definition = load_definition(GUANGZHOU)
    ledger, _ = fold_all(definition, date.fromisoformat(AS_OF), lambda: (parse_evidence_json(line) for line in lines))
    result = evaluate_ledger(ledger)
    return {"total": float(result.total), "grade": result.grade}


def cover_text(docx: bytes) -> str:
    document = Document(io.BytesIO(docx))
    return "\n".join(cell.text for table in document.tables for row in table.rows for cell in row.cells)


def xlsx_title(data: bytes) -> str:
    return str(load_workbook(io.BytesIO(data)).worksheets[0]["A1"].value)


def test_a_version_and_its_documents_stay_as_finalised_while_later_evidence_moves_the_current_score(api: Api) -> None:
    evaluator = api.key("evaluator", [PROJECT], "广州自评组")
    api.store_events(bundle_lines(judgments=False))
    created = api.finalise(evaluator, note="初稿定稿")
    assert created.status_code == 201, created.text
    first = created.json()
    assert (first["number"], first["as_of"], first["note"]) == (1, AS_OF, "初稿定稿")
    assert (first["finalised_by"], first["finalised_role"], first["definition_revision"]) == (
        "广州自评组",
        "evaluator",
        "rev-1",
    )
    current = evaluated(bundle_lines(judgments=False))
    assert first["total"] == current["total"] and first["grade"] == current["grade"]

    base = f"/v1/projects/{PROJECT}/versions/1/report"
    documents = {fmt: api.get(base, evaluator, format=fmt).content for fmt in ("docx", "pdf", "xlsx", "selfeval.xlsx")}
    cover = cover_text(documents["docx"])
    assert "第1版（定稿）" in cover and "定稿日期" in cover
    assert "第1版定稿" in xlsx_title(documents["xlsx"]) and "第1版定稿" in xlsx_title(documents["selfeval.xlsx"])
    report = api.get(base, evaluator, format="docx")
    assert report.headers["content-disposition"] == f'attachment; filename="{PROJECT}-v1-report.docx"'

    # the judgments arrive after finalising: the current evaluation of the same day moves, the version does not
    api.store_events(bundle_lines(judgments=True))
    now = evaluated(bundle_lines(judgments=False) + bundle_lines(judgments=True))
    assert now["total"] != first["total"]
    assert api.get(f"/v1/projects/{PROJECT}/versions/1", evaluator).json()["result"]["total"] == first["total"]
    for fmt, data in documents.items():
        assert api.get(base, evaluator, format=fmt).content == data, f"version 1's {fmt} changed"
    frozen = api.get(base, evaluator, format="scores").json()
    assert frozen["total"] == first["total"]
    # the documents of the current evaluation (of another day: no scoring service stored today's here) say no version
    current_report = api.get(f"/v1/projects/{PROJECT}/report", evaluator, format="docx", as_of="2022-05-30")
    assert "定稿" not in cover_text(current_report.content)

    second = api.finalise(api.admin, note="补充评价意见后定稿").json()
    assert (second["number"], second["total"], second["finalised_role"]) == (2, now["total"], "admin")
    listed = api.get(f"/v1/projects/{PROJECT}/versions", evaluator).json()
    assert [(v["number"], v["total"]) for v in listed] == [(1, first["total"]), (2, now["total"])]

    comparison = api.get(f"/v1/projects/{PROJECT}/versions/compare", evaluator, before="1", after="2").json()
    assert (comparison["before_version"], comparison["after_version"]) == (1, 2)
    assert comparison["total_delta"] == pytest.approx(now["total"] - first["total"])
    assert comparison["leaves"], "judgments arrived: some leaf's score changed"
    assert all(
        leaf["before"] != leaf["after"] or leaf["status_before"] != leaf["status_after"]
        for leaf in comparison["leaves"]
    )
    against_current = api.get(
        f"/v1/projects/{PROJECT}/versions/compare", evaluator, before="1", after="current", as_of=AS_OF
    ).json()
    assert against_current["after_version"] is None
    assert against_current["total_after"] == now["total"] and against_current["leaves"] == comparison["leaves"]
    unchanged = api.get(f"/v1/projects/{PROJECT}/versions/compare", evaluator, before="2", after="current", as_of=AS_OF)
    assert unchanged.json()["leaves"] == [] and unchanged.json()["total_delta"] == 0

    trail = api.get("/v1/admin/audit", api.admin, action="version.finalise").json()
    assert [(e["status"], e["detail"]["version"]) for e in trail] == [(201, 1), (201, 2)]


def test_only_keys_that_may_evaluate_the_project_finalise_or_read_its_versions(api: Api) -> None:
    api.store_events(bundle_lines(judgments=False))
    other = api.key("evaluator", ["dongguan-2022"], "东莞评价组")
    upstream = api.key("upstream", [PROJECT], "考勤系统")
    assert api.finalise(other).status_code == 403
    assert api.finalise(upstream).status_code == 403
    assert api.client.post(f"/v1/projects/{PROJECT}/versions", json={"as_of": AS_OF}).status_code == 401
    assert api.finalise(api.admin).status_code == 201
    for path in ("versions", "versions/1", "versions/1/report?format=xlsx", "versions/compare?before=1&after=current"):
        assert api.client.get(f"/v1/projects/{PROJECT}/{path}", headers=other).status_code == 403, path
        assert api.client.get(f"/v1/projects/{PROJECT}/{path}", headers=upstream).status_code == 403, path
    assert api.client.get(f"/v1/projects/{PROJECT}/versions/2", headers=api.admin).status_code == 404
    assert api.client.get("/v1/projects/nowhere/versions", headers=api.admin).status_code == 404
    assert (
        api.client.get(f"/v1/projects/{PROJECT}/versions/compare?before=1&after=2", headers=api.admin).status_code
        == 404
    )
    assert (
        api.client.get(f"/v1/projects/{PROJECT}/versions/compare?before=0&after=1", headers=api.admin).status_code
        == 422
    )


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"as_of": str(today_in_china() + timedelta(days=1))}, "after today"),
        ({"as_of": "2020-12-31"}, "before the evaluation period starts"),
        ({"as_of": "2021-13-01"}, "as_of"),
        ({"note": "无日期"}, "as_of"),
        ({"as_of": AS_OF, "note": "长" * 2001}, "note"),
    ],
)
def test_a_finalisation_that_cannot_be_made_names_the_field(api: Api, body: dict[str, str], message: str) -> None:
    response = api.client.post(f"/v1/projects/{PROJECT}/versions", json=body, headers=api.admin)
    assert response.status_code == 422 and message in response.text, response.text
    assert api.get(f"/v1/projects/{PROJECT}/versions", api.admin).json() == []
