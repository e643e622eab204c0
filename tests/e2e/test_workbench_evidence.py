"""The evidence browser in a real browser against a running fleet: a leaf's whole evidence opened from
评价总览, paged and filtered, exported to Excel; an evaluator supersedes one judgment and retracts
another from the browser, each with a reason, and sees the score move and the rows marked; the staff
promised beside the roster. Screenshots at 1024 and 1440 px."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from apikeys import issue_key

from .conftest import Fleet, bundle_events, wait_for

pytestmark = pytest.mark.slow
DONGGUAN = Path(__file__).resolve().parents[2] / "examples" / "dongguan-2022"
ONSITE_LEAF = "ops_onsite"  # 运维服务驻场服务完成率: 2790 records behind it
SUPERSEDED = "dg-judge-basis-policy"  # awarded 0.5
RETRACTED = "dg-judge-basis-duty"  # awarded 0.5


def row_state(page: Any, event_id: str) -> str:
    row = page.query_selector(f'#evidence-table tr[data-id="{event_id}"] td:last-child')
    return row.inner_text().strip() if row else ""


def open_event(page: Any, event_id: str) -> None:
    page.click(f'#evidence-table tr[data-id="{event_id}"]')
    page.wait_for_selector("#event-dialog dl.event-lines")


def test_browse_export_and_correct_evidence_from_the_workbench(fleet: Fleet, workbench: Any, tmp_path: Path) -> None:
    project = fleet.register(DONGGUAN)
    events = bundle_events(DONGGUAN)
    for start in range(0, len(events), 1000):
        fleet.push(events[start : start + 1000])
    scored = fleet.wait_scored(project, len(events))
    evaluator = issue_key(fleet.store_url, "evaluator", [project], "东莞评价组")
    bench = workbench(fleet.url("reporting"), evaluator)

    # A leaf's evidence, opened from the overview: every record behind it, by kind.
    page = bench.open(f"project={project}&leaf={ONSITE_LEAF}")
    page.wait_for_selector("#detail h3")
    # A finding's evidence opens in the browser too, and back returns to the overview.
    page.locator("#detail .finding").filter(has_text="技术支持专家").first.click()
    page.click("#finding-evidence-all")
    page.wait_for_selector("#evidence-scope")
    assert "技术支持专家" in page.inner_text("#evidence-scope")
    assert page.input_value("#evidence-kind") == "roster_entry"
    assert page.eval_on_selector_all("#evidence-table th", "hs => hs.map(h => h.textContent)")[:2] == ["姓名", "岗位"]
    page.go_back()
    page.wait_for_selector("#detail h3")
    page.click("#detail >> text=查看全部")
    page.wait_for_selector("#evidence-scope")
    assert "运维服务驻场服务完成率" in page.inner_text("#evidence-scope")
    options = page.eval_on_selector_all("#evidence-kind option", "os => os.map(o => o.textContent)")
    assert sum(int(re.search(r"（(\d+) 条）", o).group(1)) for o in options) == 2790  # type: ignore[union-attr]
    assert page.input_value("#evidence-kind") == "clock_in"
    headers = page.eval_on_selector_all("#evidence-table th", "hs => hs.map(h => h.textContent)")
    assert headers == ["打卡时间", "人员", "打卡类型", "打卡地点", "状态"]
    assert len(page.query_selector_all("#evidence-table tbody tr")) == 50
    pages = int(re.search(r"/ (\d+) 页", page.inner_text("#evidence-page")).group(1))  # type: ignore[union-attr]
    page.click("nav.pager >> text=下一页")
    page.wait_for_function("document.querySelector('#evidence-page')?.textContent.startsWith('第 2 /')")
    assert pages > 2
    bench.screenshot("leaf-evidence")

    # Filtered to October, then exported: the workbook holds exactly the rows the filter selects.
    page.fill("#evidence-from", "2022-10-01")
    page.fill("#evidence-until", "2022-10-31")
    page.click("form.filters >> text=筛选")
    page.wait_for_function(
        "document.querySelector('#evidence-from')?.value === '2022-10-01' && !location.search.includes('page=')"
    )
    page.wait_for_selector("#evidence-count")
    total = int(re.search(r"共 (\d+) 条", page.inner_text("#evidence-count")).group(1))  # type: ignore[union-attr]
    first_cells = page.eval_on_selector_all(
        "#evidence-table tbody tr td:first-child", "ts => ts.map(t => t.textContent)"
    )
    assert first_cells and all(c.startswith("2022年10月") for c in first_cells)
    with page.expect_download() as download:
        page.click("#evidence-export")
    saved = tmp_path / "export.xlsx"
    download.value.save_as(saved)
    sheet = openpyxl.load_workbook(saved).active
    assert sheet is not None and sheet.title == "考勤打卡记录"
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][:2] == ("打卡时间", "人员") and len(rows) - 2 == total
    page.wait_for_selector(".download-status.done")
    bench.screenshot("leaf-evidence-october-exported")

    # The whole project's judgments: supersede one with a reason.
    page.click(".scope-clear")
    page.wait_for_function("!document.querySelector('#evidence-scope')")
    page.click("form.filters >> text=清除筛选")
    page.wait_for_function("document.querySelector('#evidence-from')?.value === ''")
    page.select_option("#evidence-kind", "judgment")
    page.wait_for_selector(f'#evidence-table tr[data-id="{SUPERSEDED}"]')
    open_event(page, SUPERSEDED)
    lines = page.inner_text("#event-dialog dl.event-lines")
    assert "评价组判定" in lines and "判定得分" in lines and "2023年5月31日 18:00" in lines
    page.click("#supersede")
    page.fill("#fix-payload-awarded", "0")
    page.fill("#fix-reason", "")
    page.click("#supersede-form button[type=submit]")
    assert page.inner_text("#supersede-form .form-status") == "请填写理由"  # nothing sent without a reason
    effective = page.input_value("#fix-effective")
    assert effective == scored["as_of"]  # counts from the as-of date shown, so the score shown takes it in
    page.fill("#fix-reason", "政策依据仅引用规划，未引用部门职责文件，此要点不得分")
    bench.screenshot("supersede-form")
    page.click("#supersede-form button[type=submit]")
    page.wait_for_selector("#supersede-form .form-status.form-ok")
    after_fix = fleet.wait_scored(project, len(events) + 1)
    assert Decimal(str(after_fix["total"])) == Decimal(str(scored["total"])) - Decimal("0.5")
    page.click("#fix-done")
    wait_for(lambda: row_state(page, SUPERSEDED) == "已更正", 30, "the superseded judgment to be marked")
    fixes = [
        r
        for r in page.eval_on_selector_all("#evidence-table tbody tr", "rs => rs.map(r => r.dataset.id)")
        if r.startswith(SUPERSEDED + ".fix-")
    ]
    assert len(fixes) == 1 and row_state(page, fixes[0]) == "更正记录"
    open_event(page, SUPERSEDED)
    trail = page.inner_text("#event-dialog .trail")
    assert "更正" in trail and "政策依据仅引用规划" in trail and "东莞评价组" in trail
    page.click("#event-dialog .dialog-close")

    # Retract another judgment with a reason: the point is unjudged again.
    open_event(page, RETRACTED)
    page.click("#retract")
    page.fill("#fix-reason", "该要点由另一评价人员重复判定，撤回本条")
    page.click("#retract-form button[type=submit]")
    page.wait_for_selector("#retract-form .form-status.form-ok")
    after_retraction = fleet.wait_scored(project, len(events) + 2)
    assert Decimal(str(after_retraction["total"])) == Decimal(str(after_fix["total"])) - Decimal("0.5")
    page.click("#fix-done")
    wait_for(lambda: row_state(page, RETRACTED) == "已撤回", 30, "the retracted judgment to be marked")
    bench.screenshot("judgments-after-corrections")
    open_event(page, RETRACTED)
    assert "撤回" in page.inner_text("#event-dialog .trail")
    assert page.query_selector("#retract") is None  # withdrawn: nothing more to correct
    bench.screenshot("retracted-event")
    page.click("#event-dialog .dialog-close")

    # The overview shows the score the corrections made.
    page.click('#tabs [data-view="overview"]')
    wait_for(
        lambda: page.inner_text("#total") == str(after_retraction["total"]), 30, "the corrected total on the overview"
    )

    # 人员对照: the bid's 15 staff of the 运维 contract all absent, 15 others on site.
    page.click('#tabs [data-view="staffing"]')
    page.wait_for_selector("#staff-ops")
    staffing = page.inner_text('section[data-contract="ops"]')
    assert "承诺 15 人，实际驻场 15 人" in staffing and "未到岗" in staffing and "名单外人员" in staffing
    assert len(page.query_selector_all("#staff-ops tbody tr.match-not_on_site")) == 15
    bench.screenshot("staffing")
    # A person's clock-ins, one click away.
    person = page.query_selector_all("#staff-ops tbody tr.match-not_promised")[0]
    name = person.get_attribute("data-name")
    person.query_selector("a").click()
    page.wait_for_function(
        "document.querySelector('#evidence-q')?.value !== undefined && location.search.includes('view=evidence')"
    )
    page.wait_for_selector("#evidence-count")
    assert page.input_value("#evidence-q") == name and page.input_value("#evidence-kind") == "clock_in"
    people = page.eval_on_selector_all("#evidence-table tbody tr td:nth-child(2)", "ts => ts.map(t => t.textContent)")
    assert people and set(people) == {name}
    bench.no_script_errors()
