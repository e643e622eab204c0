"""The workbench's time and portfolio views in a real browser against a running fleet: changing the
as-of date redraws the month-end chart over the grade bands and each leaf's status; two projects are
compared side by side, benchmarked by indicator (标杆管理法) and exported to Excel."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from apikeys import issue_key
from openpyxl import load_workbook

from .conftest import Fleet, bundle_events

pytestmark = pytest.mark.slow
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
GUANGZHOU = EXAMPLES / "guangzhou-2023"
CENTRE = EXAMPLES / "service-centre-2024"
URUMQI = EXAMPLES / "urumqi-2023"
STATUS_LABEL = {"scored": "已评", "partial": "部分已评", "pending": "待评", "no_evidence": "无佐证"}


def scored(fleet: Fleet, bundle: Path) -> dict[str, Any]:
    project = fleet.register(bundle)
    events = bundle_events(bundle)
    for start in range(0, len(events), 1000):
        fleet.push(events[start : start + 1000])
    return fleet.wait_scored(project, len(events))


def leaf_statuses(nodes: list[dict[str, Any]]) -> Counter[str]:
    out: Counter[str] = Counter()
    for node in nodes:
        out.update(leaf_statuses(node["children"]) if node.get("children") else [node["status"]])
    return out


def test_changing_the_as_of_date_redraws_the_month_end_chart_over_the_grade_bands_and_each_leafs_status(
    fleet: Fleet, workbench: Any
) -> None:
    project = scored(fleet, GUANGZHOU)["project"]
    evaluator = issue_key(fleet.store_url, "evaluator", [project], "广州评价组")
    bench = workbench(fleet.url("reporting"), evaluator)
    page = bench.open(f"project={project}&view=trend")
    page.wait_for_selector("#timeline svg.chart g.point")
    chart = page.locator("#timeline svg.chart")
    assert [chart.locator("rect.band").nth(i).get_attribute("data-grade") for i in range(4)] == ["优", "良", "中", "差"]
    assert chart.locator("title").first.inner_html() == "得分走势（各月末）"
    assert chart.get_attribute("role") == "img"
    full_year = chart.locator("g.point").count()
    assert full_year >= 12
    bench.screenshot("trend-latest")

    page.fill("#as-of", "2023-12-15")
    page.locator("#as-of").dispatch_event("change")
    page.wait_for_selector('#timeline svg.chart g.point[data-as-of="2023-12-15"]')
    assert "as_of=2023-12-15" in page.url
    series = fleet.http.get(fleet.url("reporting") + f"/v1/projects/{project}/series", params={"as_of": "2023-12-15"})
    points = series.json()
    drawn = chart.locator("g.point")
    assert [drawn.nth(i).get_attribute("data-as-of") for i in range(drawn.count())] == [p["as_of"] for p in points]
    assert len(points) == 6  # the month-ends of July … November (the period starts in July) and the as-of date
    interim = [p["pending"] > 0 for p in points]
    assert any(interim), "in its first month some weight was still pending"
    for i, point in enumerate(points):
        assert ("interim" in (drawn.nth(i).get_attribute("class") or "")) == interim[i]
        assert drawn.nth(i).locator("text").text_content() == f"{float(point['total']):.1f}".removesuffix(".0")
    last = points[-1]
    description = chart.locator("desc").inner_html()
    assert "2023年12月15日" in description and "阶段性" in description
    assert chart.locator("text", has_text="评价基准日").count() and chart.locator("text", has_text="得分（分）").count()
    first = page.locator(f'#timeline-table tr[data-as-of="{points[0]["as_of"]}"]')
    assert f"{points[0]['grade']}（阶段性）" in first.inner_text()
    assert page.locator('#timeline-table tr[data-as-of="2023-12-15"]').inner_text().split("\t")[1] == str(last["total"])

    report = fleet.http.get(
        fleet.url("reporting") + f"/v1/projects/{project}/report", params={"format": "scores", "as_of": "2023-12-15"}
    ).json()
    statuses = leaf_statuses(report["indicators"])
    counts = page.inner_text("#leaf-status-counts")
    for status, label in STATUS_LABEL.items():
        assert f"{label} {statuses.get(status, 0)} 项" in counts
    assert "评价基准日 2023年12月15日" in page.inner_text("#leaf-status h2")
    assert page.locator("#leaf-status tbody tr").count() == sum(statuses.values())
    only = max(statuses, key=lambda s: statuses[s])
    page.select_option("#leaf-status-filter", only)
    assert page.locator("#leaf-status tbody tr").count() == statuses[only]
    assert page.locator(f'#leaf-status tbody tr:not([data-status="{only}"])').count() == 0
    bench.screenshot("trend-as-of")

    page.click("#as-of-latest")
    page.wait_for_function(f"document.querySelectorAll('#timeline svg.chart g.point').length === {full_year}")
    bench.no_script_errors()


def test_an_evaluator_compares_two_projects_benchmarks_an_indicator_and_exports_both(
    fleet: Fleet, workbench: Any, tmp_path: Path
) -> None:
    guangzhou, centre = scored(fleet, GUANGZHOU), scored(fleet, CENTRE)
    outside = fleet.register(URUMQI)  # registered, not in the evaluator's scope
    unscored = fleet.register(EXAMPLES / "guangzhou-2021")  # in scope, no evidence yet: an interim 0
    fleet.wait_scored(unscored, 0)
    scope = [guangzhou["project"], centre["project"], unscored]
    evaluator = issue_key(fleet.store_url, "evaluator", scope, "对比评价组")
    bench = workbench(fleet.url("reporting"), evaluator)
    page = bench.open("view=portfolio")
    page.wait_for_selector("#portfolio-table tbody tr")
    rows = page.locator("#portfolio-table tbody tr")
    assert [rows.nth(i).get_attribute("data-project") for i in range(rows.count())] == [
        guangzhou["project"],  # 100 分 first
        centre["project"],
        unscored,
    ]
    assert page.locator(f'#portfolio-table tr[data-project="{outside}"]').count() == 0
    assert rows.nth(2).inner_text().startswith("3") and "（阶段性）" in rows.nth(2).inner_text()
    first = rows.nth(0).inner_text()
    assert first.startswith("1") and str(guangzhou["total"]) in first and guangzhou["grade"] in first
    header = re.sub(r"\s", "", page.inner_text("#portfolio-table thead"))
    assert "决策得分率" in header and "效益得分率" in header and "产出得分率" in header  # 产出指标 read as 产出
    assert "无此指标" in rows.nth(0).inner_text()  # guangzhou-2023 has no 决策
    bench.screenshot("portfolio-three")

    # compare two: leave the unscored project out. Evidence for it arrives before the evaluator applies:
    # the pushed score change renders the view again and keeps the box they cleared.
    page.wait_for_selector('#live[data-state="on"]')
    page.uncheck(f'#compare-picker input[value="{unscored}"]')
    page.evaluate("document.getElementById('compare-picker').dataset.before = 'live'")
    arriving = bundle_events(EXAMPLES / "guangzhou-2021")[:20]
    fleet.push(arriving)
    fleet.wait_scored(unscored, len(arriving))
    page.wait_for_selector("#compare-picker:not([data-before])")
    assert not page.is_checked(f'#compare-picker input[value="{unscored}"]')
    assert "（2 / 3）" in page.inner_text("#compare-picker legend")
    page.click("#compare-apply")
    page.wait_for_function("document.querySelectorAll('#portfolio-table tbody tr').length === 2")
    assert f"compare={guangzhou['project']}" in page.url.replace("%2C", ",")

    # benchmark 效益 (效益指标 in one system, 效益 in the other)
    page.select_option("#benchmark-indicator", "level1:效益")
    page.wait_for_url(re.compile(r"indicator=level1"))
    page.wait_for_selector("#benchmark-table tr.benchmark")
    benchmark = fleet.http.get(
        fleet.url("reporting") + "/v1/portfolio/benchmark",
        params={"indicator": "level1:效益", "projects": f"{guangzhou['project']},{centre['project']}"},
    ).json()
    leader = next(r for r in benchmark["rows"] if r["benchmark"])
    assert page.locator("#benchmark-table tr.benchmark").get_attribute("data-project") == leader["project"]
    assert leader["project_name"] in page.inner_text("#benchmark-summary")
    other = next(r for r in benchmark["rows"] if not r["benchmark"])
    gap = f"−{other['gap'] * 100:.2f} 个百分点" if other["gap"] else "与标杆持平"
    assert gap in page.inner_text(f'#benchmark-table tr[data-project="{other["project"]}"]')
    bench.screenshot("benchmark-benefit")

    page.select_option("#benchmark-indicator", "level1:决策")
    page.wait_for_selector(f'#benchmark-table tr.absent[data-project="{guangzhou["project"]}"]')
    assert "该项目的指标体系无此指标" in page.inner_text(f'#benchmark-table tr[data-project="{guangzhou["project"]}"]')

    with page.expect_download() as download:
        page.click("#portfolio-export")
    saved = tmp_path / "portfolio.xlsx"
    download.value.save_as(saved)
    page.wait_for_selector("#portfolio .download-status.done")
    sheet = load_workbook(saved)["项目对比"]
    names = [r[1] for r in sheet.iter_rows(min_row=3, values_only=True)]
    assert len(names) == 2 and all(names), names  # the two compared, named
    with page.expect_download() as download:
        page.click("#benchmark-export")
    saved = tmp_path / "benchmark.xlsx"
    download.value.save_as(saved)
    book = load_workbook(saved)
    assert next(book["标杆对比"].iter_rows(max_row=1, values_only=True))[0] == "标杆对比：一级指标 决策"
    bench.screenshot("benchmark-decision")
    bench.no_script_errors()
