"""The evaluators' dashboard in a real browser (headless Chromium from Debian) against a running
fleet with the Dongguan example: what a person sees — total, grade, a leaf's findings and the
evidence behind one of them."""

from __future__ import annotations

import re
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from apikeys import issue_key

from opseval.embedded import evaluate_bundle

from .conftest import Fleet, bundle_events

pytestmark = pytest.mark.slow
DONGGUAN = Path(__file__).resolve().parents[2] / "examples" / "dongguan-2022"
GUANGZHOU_2021 = DONGGUAN.parent / "guangzhou-2021"


def test_an_evaluator_signs_in_clicks_from_the_score_tree_to_a_findings_evidence_and_downloads(
    fleet: Fleet, workbench: Any
) -> None:
    """Driven by Playwright in Debian's Chromium: sign in, click a leaf, then a finding, read the
    page, download the report with its busy and done states, sign out."""
    project = fleet.register(DONGGUAN)
    events = bundle_events(DONGGUAN)
    for start in range(0, len(events), 1000):
        fleet.push(events[start : start + 1000])
    fleet.wait_scored(project, len(events))
    evaluator = issue_key(fleet.store_url, "evaluator", [project], "东莞评价组")
    bench = workbench(fleet.url("reporting"), evaluator)
    page = bench.page
    page.goto(f"{fleet.url('reporting')}/dashboard")
    page.wait_for_selector("#login:not([hidden])")  # no key yet: asked for one, nothing shown
    assert page.locator("#workspace").is_hidden()
    page.fill("#apikey", "opseval_k000000000000_" + "x" * 43)
    page.click("#login button")
    page.wait_for_selector("#login-error:has-text('密钥无效')")
    page.fill("#apikey", evaluator)
    page.click("#login button")
    page.wait_for_selector("#total")
    assert page.inner_text("#whoami") == "东莞评价组（评价人员）"
    assert page.inner_text("#total") == "81.415"
    assert page.inner_text("#grade") == "良" and "good" in (page.get_attribute("#grade", "class") or "")
    # The tree and the findings are read with evidence counts, not ids; a finding's evidence a page at a time.
    reporting = fleet.url("reporting") + f"/v1/projects/{project}"
    counts = fleet.http.get(f"{reporting}/scores", params={"evidence": "count"}).json()["evidence_counts"]
    with page.expect_request(lambda r: "/scores?evidence=count" in r.url):
        page.reload()
    page.wait_for_selector("#total")
    page.click('.row.leaf[data-id="ops_onsite"]')
    page.wait_for_selector("#detail .finding")
    assert "运维服务驻场服务完成率" in page.inner_text("#detail")
    assert f"佐证记录 {counts['ops_onsite']} 条" in page.inner_text("#detail") and counts["ops_onsite"] > 1
    assert "2.14 / 3" in page.inner_text('.row.leaf[data-id="ops_onsite"]')
    page.locator("#detail .finding").filter(has_text="技术支持专家").first.click()
    page.wait_for_selector("#evidence .evidence")
    finding = page.get_attribute("#detail .finding.selected", "data-id")
    cited = fleet.http.get(f"{reporting}/findings/{finding}/evidence", params={"limit": 1}).json()["total"]
    assert f"佐证材料（{cited}）" in page.inner_text("#evidence")
    assert "驻场人员名单" in page.inner_text("#evidence") and "roster_entry" not in page.inner_text("#evidence")
    bench.screenshot("overview-leaf-finding")
    with page.expect_download() as download:
        page.click("#downloads a:has-text('报告（Word）')")
    assert download.value.suggested_filename == f"{project}-report.docx"
    page.wait_for_selector("#downloads .download-status.done")
    assert "自评表" not in page.inner_text("#downloads")  # a third-party evaluation has no 自评表
    page.click("#logout")
    page.wait_for_selector("#login:not([hidden])")
    assert "已退出" in page.inner_text("#login-error") and page.locator("#workspace").is_hidden()
    bench.no_script_errors()
    report = f"{reporting}/report"
    for fmt, magic in (("docx", b"PK"), ("xlsx", b"PK"), ("pdf", b"%PDF")):
        response = fleet.http.get(report, params={"format": fmt})
        assert response.status_code == 200 and response.content.startswith(magic), fmt
        assert "attachment" in response.headers["content-disposition"]


def test_a_self_evaluation_offers_its_self_evaluation_form_for_download(fleet: Fleet, workbench: Any) -> None:
    project = fleet.register(GUANGZHOU_2021)
    events = bundle_events(GUANGZHOU_2021)
    for start in range(0, len(events), 1000):
        fleet.push(events[start : start + 1000])
    fleet.wait_scored(project, len(events))
    bench = workbench(fleet.url("reporting"), issue_key(fleet.store_url, "evaluator", [project], "广州自评组"))
    page = bench.open(f"project={project}")
    page.wait_for_selector("#downloads a:has-text('自评表（Excel）')")
    with page.expect_download() as download:
        page.click("#downloads a:has-text('自评表（Excel）')")
    assert download.value.suggested_filename == f"{project}-selfeval.xlsx"
    with open(download.value.path(), "rb") as saved:
        assert saved.read(2) == b"PK"
    page.wait_for_selector("#downloads .download-status.done")
    bench.screenshot("self-evaluation-downloads")
    bench.no_script_errors()


def test_an_upstream_key_is_told_why_it_sees_nothing_and_can_sign_out(fleet: Fleet, workbench: Any) -> None:
    project = fleet.register(DONGGUAN)
    upstream = issue_key(fleet.store_url, "upstream", [project], "东莞工单系统")
    bench = workbench(fleet.url("reporting"), upstream)
    page = bench.open()
    page.wait_for_selector("#view .notice.error")
    assert "上游系统的密钥" in page.inner_text("#view") and page.is_visible("#logout")
    assert page.locator("#tabs a").count() == 0
    bench.screenshot("upstream-key")
    page.click("#logout")
    page.wait_for_selector("#login:not([hidden])")
    bench.no_script_errors()


def test_inside_the_period_the_workbench_shows_an_interim_grade_pending_leaves_the_forecast_and_the_trend(
    fleet: Fleet, tmp_path: Path, workbench: Any
) -> None:
    bundle = tmp_path / "dongguan-october"
    shutil.copytree(DONGGUAN, bundle)
    project_file = bundle / "project.yaml"
    text = project_file.read_text(encoding="utf-8")
    project_file.write_text(re.sub(r"(?m)^  as_of: \S+", "  as_of: 2022-10-31", text), encoding="utf-8")
    project = fleet.register(bundle)
    events = bundle_events(bundle)
    for start in range(0, len(events), 1000):
        fleet.push(events[start : start + 1000])
    fleet.wait_scored(project, len(events))
    expected, _ = evaluate_bundle(bundle)
    assert expected.as_of == date(2022, 10, 31) and expected.pending
    evaluator = issue_key(fleet.store_url, "evaluator", [project], "dashboard evaluator")
    bench = workbench(fleet.url("reporting"), evaluator)
    page = bench.open(f"project={project}")
    page.wait_for_selector("#total")
    total = str(expected.total.normalize())
    assert page.inner_text("#total") == total
    assert page.inner_text("#grade") == f"{expected.grade}（阶段性）"  # grey, not a final badge
    assert "interim" in (page.get_attribute("#grade", "class") or "")
    assessable, pending = (str(v.normalize()) for v in (expected.assessable, expected.pending))
    assert page.inner_text("#assessed") == f"可评权重 {assessable} 分中得 {total} 分 · 待评 {pending} 分"
    archives = page.locator('.row[data-id="archives"]')
    assert archives.get_attribute("data-status") == "pending" and "待评" in archives.inner_text()
    bench.screenshot("overview-interim")
    page.click('#tabs a[data-view="trend"]')
    page.wait_for_selector("#forecast-total")
    assert "预计期末" in page.inner_text("#forecast-total")
    assert page.locator('[data-as-of="2022-01-31"]').count() and page.locator('[data-as-of="2022-10-31"]').count()
    trend = page.inner_text("#timeline")
    assert "2022年10月31日" in trend and f"{expected.grade}（阶段性）" in trend  # dates as 年月日, interim says so
    assert "评价期末 2022年12月31日，已过 83%" in page.inner_text("#forecast")
    assert page.locator('#monthly [data-month="2022-10"]').count()
    bench.screenshot("trend-interim")
    bench.no_script_errors()
