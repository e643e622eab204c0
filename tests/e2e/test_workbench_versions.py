"""定稿版本 in the workbench, in Debian's Chromium against the running fleet: an evaluator finalises
the evaluation, later evidence moves the current score but not the version or its report, the
version's documents download with their busy and done states, and two versions are compared."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest
from apikeys import issue_key
from docx import Document
from opseval_intake.bundle import evidence_files

from .conftest import Fleet, wait_for

pytestmark = pytest.mark.slow
GUANGZHOU = Path(__file__).resolve().parents[2] / "examples" / "guangzhou-2021"  # a self-evaluation


def events(judgments: bool) -> list[dict[str, Any]]:
    """The bundle's evidence without its judgments, or the judgments only (they arrive later)."""
    return [
        json.loads(line)
        for path in evidence_files(GUANGZHOU)
        if (path.name == "judgments.jsonl") == judgments
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip()
    ]


def cover(docx: bytes) -> str:
    document = Document(io.BytesIO(docx))
    return "\n".join(cell.text for table in document.tables for row in table.rows for cell in row.cells)


def finalise(page: Any, note: str) -> None:
    page.fill("#finalise-note", note)
    assert page.is_disabled("#finalise-submit"), "finalising needs the confirmation first"
    page.check("#finalise-confirm")
    page.click("#finalise-submit")


def test_an_evaluator_finalises_later_evidence_leaves_the_version_alone_downloads_and_compares(
    fleet: Fleet, workbench: Any
) -> None:
    project = fleet.register(GUANGZHOU)
    early, late = events(judgments=False), events(judgments=True)
    fleet.push(early)
    first = fleet.wait_scored(project, len(early))
    evaluator = issue_key(fleet.store_url, "evaluator", [project], "广州自评组")
    bench = workbench(fleet.url("reporting"), evaluator)
    page = bench.open(f"project={project}&view=versions")
    page.wait_for_selector("#finalise")
    assert page.input_value("#finalise-as-of") == first["as_of"]
    assert "该项目尚无定稿版本" in page.inner_text("#version-list")
    bench.screenshot("before-finalising")

    finalise(page, "初稿定稿")
    page.wait_for_selector("#finalised")
    assert "第 1 版" in page.inner_text("#finalised")
    row = '#versions-table tr[data-number="1"]'
    assert str(first["total"]) in page.inner_text(row) and "广州自评组\n评价人员" in page.inner_text(row)
    # one version: compared with the current evaluation, which has not moved
    page.wait_for_selector("#compare-summary")
    assert "±0" in page.inner_text("#compare-delta") and "各指标得分均无变化" in page.inner_text("#compare")

    # the judgments arrive after finalising, while the evaluator types the next note: the score change
    # pushed to the tab moves the current evaluation, not version 1, and keeps what was typed
    page.fill("#finalise-note", "补充评价意见后定稿")
    fleet.push(late)
    now = fleet.wait_scored(project, len(early) + len(late))
    assert now["total"] != first["total"]
    wait_for(lambda: page.locator("#compare-leaves tr[data-id]").count() > 0, 30, "the pushed change to reach the tab")
    assert page.input_value("#finalise-note") == "补充评价意见后定稿"
    assert str(first["total"]) in page.inner_text(row)

    with page.expect_download() as download:
        page.click(f"{row} a[data-format='docx']")
    assert download.value.suggested_filename == f"{project}-v1-report.docx"
    page.wait_for_selector(f"{row} .download-status.done")
    report = Path(download.value.path()).read_bytes()
    assert "第1版（定稿）" in cover(report) and "定稿日期" in cover(report)
    with page.expect_download() as selfeval:
        page.click(f"{row} a[data-format='selfeval.xlsx']")
    assert selfeval.value.suggested_filename == f"{project}-v1-selfeval.xlsx"

    finalise(page, "补充评价意见后定稿")
    page.wait_for_selector("#finalised:has-text('第 2 版')")
    assert str(now["total"]) in page.inner_text('#versions-table tr[data-number="2"]')
    # two versions: the first against the second
    page.wait_for_selector("#compare-leaves tr[data-id]")
    assert page.input_value("#compare-before") == "1" and page.input_value("#compare-after") == "2"
    delta = round(now["total"] - first["total"], 6)
    summary = page.inner_text("#compare-summary")
    assert f"{first['total']} 分" in summary and f"{now['total']} 分" in summary
    assert page.inner_text("#compare-delta").startswith("总分 " + ("+" if delta > 0 else "−"))
    # the judged leaves were pending in version 1: no points, shown as such rather than as a 0
    assert "—（待评）" in page.inner_text("#compare-leaves")
    bench.screenshot("two-versions-compared")

    page.select_option("#compare-before", "2")
    page.select_option("#compare-after", "current")
    page.click("#compare-submit")
    wait_for(
        lambda: "各指标得分均无变化" in page.inner_text("#compare"), 30, "version 2 against the current evaluation"
    )
    bench.no_script_errors()
