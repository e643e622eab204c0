"""Judging in the workbench: an evaluator opens 评审打分, sees what is still to judge (待评) first,
judges a checklist point with the keyboard, and sees the total move once the fleet has scored the
judgment; an override of that judgment demands a reason and moves the total again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from apikeys import issue_key

from .conftest import Fleet, bundle_events, wait_for

pytestmark = pytest.mark.slow
DONGGUAN = Path(__file__).resolve().parents[2] / "examples" / "dongguan-2022"
CORS = {"access-control-allow-origin": "*"}
POINT = "#judge-basis-policy"  # 决策 › 项目立项 › 立项依据充分性: 符合国家法律法规…, max 0.5


def test_an_evaluator_judges_a_point_in_the_browser_and_sees_the_total_move(fleet: Fleet, workbench: Any) -> None:
    project = fleet.register(DONGGUAN)
    events = [e for e in bundle_events(DONGGUAN) if e["kind"] != "judgment"]  # the evaluators' work is still to do
    for start in range(0, len(events), 1000):
        fleet.push(events[start : start + 1000])
    before = fleet.wait_scored(project, len(events))
    evaluator = issue_key(fleet.store_url, "evaluator", [project], "东莞评价组")
    bench = workbench(fleet.url("reporting"), evaluator)
    page = bench.open(f"project={project}")  # the overview: the tab already says how many are still to judge
    tab = page.locator('#tabs [data-view="judging"]')
    wait_for(lambda: tab.inner_text().startswith("评审打分（待评 "), 30, "the tab's count of what is still to judge")
    tab.click()
    page.wait_for_selector(POINT)
    page.wait_for_selector('#live[data-state="on"]')
    assert page.inner_text("#judging-total") == str(before["total"])
    to_judge = int(page.inner_text('#tabs [data-view="judging"]').removeprefix("评审打分（待评 ").removesuffix("）"))
    assert to_judge > 0
    first_group = page.locator(".judging-group").first
    assert first_group.get_attribute("data-status") == "to_judge"
    bench.screenshot("to-judge")

    # A missing reason is refused in the page, in Chinese, naming what to fill in.
    item = page.locator(POINT)
    item.get_by_label("达标", exact=True).check()
    item.get_by_role("button", name="提交评分").click()
    assert item.locator(".form-error").inner_text() == "请填写评定理由。"

    # By keyboard: the verdict, the points it sets, the reason, and Enter on the submit button.
    item.get_by_label("未达标").focus()
    page.keyboard.press("ArrowLeft")  # radio group: to 部分达标
    assert item.get_by_label("部分达标").is_checked()
    item.get_by_label("得分（0–0.5 分）").fill("0.3")
    item.get_by_label("评定理由").focus()
    page.keyboard.type("部分政策依据未列明文号")
    # Another evaluator's judgment changes the score meanwhile: the view is rendered again with what
    # this one has typed, and the focus, kept.
    other = dict(
        next(e for e in bundle_events(DONGGUAN) if e["kind"] == "judgment" and e["payload"].get("point") != "policy")
    )
    fleet.push([other])
    events.append(other)
    with_other = fleet.wait_scored(project, len(events))
    wait_for(
        lambda: (
            page.locator(f"#judge-{other['payload']['indicator']}-{other['payload']['point']} .judge-held").count() == 1
        ),
        30,
        "the other judgment shown",
    )
    item = page.locator(POINT)
    assert item.get_by_label("部分达标").is_checked()
    assert item.get_by_label("得分（0–0.5 分）").input_value() == "0.3"
    assert item.get_by_label("评定理由").input_value() == "部分政策依据未列明文号"
    assert page.evaluate("document.activeElement.id") == "judge-basis-policy-reason"
    item.get_by_role("button", name="提交评分").focus()
    page.keyboard.press("Enter")
    judged = fleet.wait_scored(project, len(events) + 1)
    assert judged["total"] != with_other["total"]
    wait_for(lambda: page.inner_text("#judging-total") == str(judged["total"]), 30, "the new total to reach the page")
    held = page.locator(f"{POINT} .judge-held")
    held.wait_for()
    assert "0.3 分" in held.inner_text() and "部分政策依据未列明文号" in held.inner_text()
    assert page.locator(POINT).get_attribute("class") == "judge-item judged"
    assert (
        page.inner_text('#tabs [data-view="judging"]') == f"评审打分（待评 {to_judge - 2}）"
    )  # the other's and this one
    bench.screenshot("judged")

    # An override shows the judgment in force and needs its own reason.
    item = page.locator(POINT)
    item.get_by_role("button", name="改判").click()
    page.keyboard.press("Escape")  # changed one's mind: the form closes, nothing is sent
    assert item.locator("form").count() == 0
    item.get_by_role("button", name="改判").click()
    assert item.get_by_label("得分（0–0.5 分）").input_value() == "0.3"
    assert item.get_by_label("部分达标").is_checked()  # the judgment in force, as the starting point
    item.get_by_label("达标", exact=True).check()
    item.get_by_role("button", name="提交改判").click()
    assert item.locator(".form-error").inner_text() == "请填写改判理由。"
    item.get_by_label("改判理由").fill("补充材料证明已列明文号")
    bench.screenshot("override")

    # Intake refusing (someone judged it a moment ago): the error in Chinese, the form usable again.
    refusal = {"detail": {"message": "refused", "errors": [{"field": "[0].corrects.event", "reason": "not in force"}]}}
    intake = fleet.url("intake") + "/v1/evidence"
    page.route(intake, lambda route: route.fulfill(status=409, json=refusal, headers=CORS))
    item.get_by_role("button", name="提交改判").click()
    error = item.locator(".form-error")
    error.wait_for()
    wait_for(lambda: error.inner_text().startswith("提交失败：该项已有新的现行评分"), 10, "the refusal shown")
    assert item.get_by_role("button", name="提交改判").is_enabled()
    page.unroute(intake)
    item.get_by_role("button", name="提交改判").click()
    overridden = fleet.wait_scored(project, len(events) + 2)
    assert float(overridden["total"]) == pytest.approx(float(judged["total"]) + 0.2)
    wait_for(
        lambda: page.inner_text("#judging-total") == str(overridden["total"]), 30, "the override to reach the page"
    )
    wait_for(
        lambda: "补充材料证明已列明文号" in page.locator(f"{POINT} .judge-held").inner_text(), 30, "the override shown"
    )

    # Another evaluator overrode the same judgment at the same moment (the API's `competing`, proven
    # against the store in tests/integration/test_intake_judging.py): the page says so, with both.
    def with_a_competing_override(route: Any) -> None:
        response = route.fetch()
        body = response.json()
        point = next(i for i in body["items"] if (i["indicator"], i["point"]) == ("basis", "policy"))
        rival = {**point["judgment"], "event": "rival", "awarded": 0.1, "reason": "政策依据不足", "by": "另一评价组"}
        point["competing"] = [rival]
        body["contested"] = 1
        route.fulfill(response=response, json=body)

    page.route("**/v1/projects/*/judgments", with_a_competing_override)
    page.reload()
    contest = page.locator(f"{POINT} .judge-contested")
    contest.wait_for()
    assert "改判冲突" in contest.inner_text() and "0.1 分。理由：政策依据不足" in contest.inner_text()
    assert "另一评价组" in contest.inner_text()
    assert page.inner_text("#judging-counts").endswith("改判冲突 1 项待复核")
    bench.screenshot("contested")
    bench.no_script_errors()
