"""The evaluators' dashboard in a real browser (headless Chromium from Debian) against a running
fleet with the Dongguan example: what a person sees — total, grade, a leaf's findings and the
evidence behind one of them."""

from __future__ import annotations

import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest
from apikeys import issue_key

from opseval.embedded import evaluate_bundle

from .conftest import Fleet, bundle_events

pytestmark = pytest.mark.slow
DONGGUAN = Path(__file__).resolve().parents[2] / "examples" / "dongguan-2022"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def rendered(url: str) -> str:
    """The page's DOM after its scripts ran (Chromium's virtual time lets the fetches finish)."""
    assert CHROMIUM is not None
    run = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--virtual-time-budget=15000",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    return run.stdout


@pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (.ci/run installs it)")
def test_the_dashboard_shows_total_grade_findings_and_evidence(fleet: Fleet) -> None:
    project = fleet.register(DONGGUAN)
    events = bundle_events(DONGGUAN)
    for start in range(0, len(events), 1000):
        fleet.push(events[start : start + 1000])
    fleet.wait_scored(project, len(events))
    expected, _ = evaluate_bundle(DONGGUAN)
    leaf = next(n for top in expected.indicators for mid in top.children for n in mid.children if n.id == "ops_onsite")
    finding = next(
        f for f in expected.findings if f.id in (leaf.findings or ()) and f.rule == "staff.required_role_absent"
    )

    page = f"{fleet.url('reporting')}/dashboard?project={project}&leaf=ops_onsite&finding={finding.id}"
    keyless = rendered(page)
    assert '<form id="login">' in keyless and 'id="total"' not in keyless  # no key: asked for one, nothing shown
    evaluator = issue_key(fleet.store_url, "evaluator", [project], "dashboard evaluator")
    dom = rendered(f"{page}#key={evaluator}")
    assert '<span class="total" id="total">81.415</span>' in dom
    assert '<span class="grade good" id="grade">良</span>' in dom  # 良 has its own colour
    assert "运维服务驻场服务完成率" in dom and "2.14 / 3" in dom
    assert finding.message in dom
    for event_id in finding.evidence[:3]:
        assert f'data-id="{event_id}"' in dom  # the evidence events behind the finding are listed
    assert "2022年东莞市一体化政务服务平台运维与运营服务项目" in dom
    assert 'data-month="2022-12"' in dom and "11 / 12" in dom  # the monthly view: delivered / due
    assert "?format=pdf" in dom and "?format=docx" in dom and "?format=xlsx" in dom

    report = fleet.url("reporting") + f"/v1/projects/{project}/report"
    for fmt, magic in (("docx", b"PK"), ("xlsx", b"PK"), ("pdf", b"%PDF")):
        response = fleet.http.get(report, params={"format": fmt})
        assert response.status_code == 200 and response.content.startswith(magic), fmt
        assert "attachment" in response.headers["content-disposition"]


@pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (.ci/run installs it)")
def test_an_evaluator_clicks_from_the_score_tree_to_a_findings_evidence(fleet: Fleet) -> None:
    """Driven by Playwright in Debian's Chromium: click a leaf, then a finding, and read the page."""
    from playwright.sync_api import sync_playwright

    project = fleet.register(DONGGUAN)
    events = bundle_events(DONGGUAN)
    for start in range(0, len(events), 1000):
        fleet.push(events[start : start + 1000])
    fleet.wait_scored(project, len(events))
    evaluator = issue_key(fleet.store_url, "evaluator", [project], "dashboard evaluator")

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            page = browser.new_page()
            page.goto(f"{fleet.url('reporting')}/dashboard")
            page.wait_for_selector("#login:not([hidden])")  # no key yet: asked for one
            page.fill("#apikey", evaluator)
            page.click("#login button")
            page.wait_for_selector("#total")
            assert page.inner_text("#total") == "81.415"
            assert page.inner_text("#grade") == "良"
            page.click('.row.leaf[data-id="ops_onsite"]')
            page.wait_for_selector("#detail .finding")
            assert "运维服务驻场服务完成率" in page.inner_text("#detail")
            finding = page.locator("#detail .finding").filter(has_text="技术支持专家").first
            finding.click()
            page.wait_for_selector("#evidence .evidence")
            evidence = page.inner_text("#evidence")
            assert "佐证材料" in evidence and "roster_entry" in evidence
        finally:
            browser.close()


@pytest.mark.skipif(CHROMIUM is None, reason="Debian chromium is not installed (.ci/run installs it)")
def test_inside_the_period_the_dashboard_shows_an_interim_grade_pending_leaves_the_forecast_and_the_trend(
    fleet: Fleet, tmp_path: Path
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
    dom = rendered(f"{fleet.url('reporting')}/dashboard?project={project}#key={evaluator}")
    total = str(expected.total.normalize())
    assert f'<span class="total" id="total">{total}</span>' in dom
    assert f'id="grade" title="阶段性结果">{expected.grade}（阶段性）</span>' in dom  # grey, not a final badge
    assessable, pending = (str(v.normalize()) for v in (expected.assessable, expected.pending))
    assert f"可评权重 {assessable} 分中得 {total} 分 · 待评 {pending} 分" in dom
    assert 'data-id="archives" data-status="pending"' in dom and '<span class="status pending">待评</span>' in dom
    assert 'id="forecast-total"' in dom and "预计期末" in dom
    assert 'data-as-of="2022-01-31"' in dom and 'data-as-of="2022-10-31"' in dom  # the trend, month by month
    assert "<span>2022年10月31日</span>" in dom and "评价期末 2022年12月31日，已过 83%" in dom  # dates as 年月日
    assert f"<span>{expected.grade}（阶段性）</span>" in dom  # each interim point of the trend says so
