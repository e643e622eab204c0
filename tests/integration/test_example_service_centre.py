"""examples/service-centre-2024, an example of opseval's own: a project that defines measures in its
bundle and decides checklist points from facts. Every expected figure is derived here by hand from
what examples/build.py writes, not read back from a run."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from opseval_shared.base import DateRange
from opseval_shared.calendar import WorkCalendar
from opseval_shared.indicators import MetricRef
from opseval_shared.metrics import MetricContext
from opseval_shared.results import EvaluationResult, ScoredIndicator

from opseval.embedded import evaluate_bundle, fold_bundle

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "service-centre-2024"
D = Decimal


def leaves(nodes: tuple[ScoredIndicator, ...]) -> dict[str, ScoredIndicator]:
    out: dict[str, ScoredIndicator] = {}
    for n in nodes:
        out.update(leaves(n.children) if n.children else {n.id: n})
    return out


@pytest.fixture(scope="module")
def result() -> EvaluationResult:
    return evaluate_bundle(EXAMPLE)[0]


def test_every_leaf_follows_the_indicator_systems_own_rules(result: EvaluationResult) -> None:
    workdays_2024 = len(WorkCalendar().workdays(DateRange(start=date(2024, 1, 1), end=date(2024, 12, 31))))
    inspected = D(10) * (workdays_2024 - 3) / workdays_2024  # 3 working days without the daily check
    expected = {
        "objectives": D("4.5"),  # judged
        "budgeting": D("4.5"),  # judged: 2 + 2.5
        "committed_on_site": D("6.40"),  # 8 × 4/5: 冯雪 never arrived; 何平 stands in for nobody
        "punctuality": D(
            "2"
        ),  # 4 − 0.5 × 4 late arrivals of committed staff (何平's 2 and a National Day duty excluded)
        "management": D(
            "3.5"
        ),  # site 1 (one off-site clock-in) + 0 (two arrivals over 10 min) + 1 judged + 1.5 (roster)
        "inspection_rate": inspected.quantize(D("0.01")),
        "report_timeliness": D("8.33"),  # 10 × 10/12: March's and August's reports late
        "training": D("3.75"),  # 5 × 3/4 quarters: two Q1 sessions do not cover the empty Q3
        "p1_repairs": D("10"),  # 15 − 5 × 1 P1 fault repaired late
        "satisfaction": D("12"),  # 170/200 citizens = 85% → band ≥80% → 15 × 0.8 (staff answers not counted)
        "fault_timeliness": D("10.00"),  # 15 × 4/6 faults within their SLA
    }
    got = leaves(result.indicators)
    assert {k: got[k].score for k in expected} == expected
    assert result.total == sum(expected.values(), D(0))
    assert (result.total, result.grade) == (D("74.86"), "中")


def test_computed_points_explain_the_facts_and_judged_points_give_the_reason(result: EvaluationResult) -> None:
    management = leaves(result.indicators)["management"]
    text = management.explanation or ""
    assert "驻场人员在服务地点打卡：按事实计算得 1/2 分" in text
    assert "投标承诺人员无超过10分钟的迟到：按事实计算得 0/1 分" in text
    assert "得 1/2 分，冯雪未到岗、何平替补，未见书面报备和采购人同意" in text
    assert "仅 4 人实际驻场" in text
    assert "sc-clk-4-2024-06-18" in (management.evidence or ())  # the off-site clock-in


def test_the_bundles_own_measures_are_used_and_explained(result: EvaluationResult) -> None:
    got = leaves(result.indicators)
    assert got["p1_repairs"].evidence == ("sc-SC-02",)
    assert "紧急故障修复超时宗数" in (got["p1_repairs"].explanation or "")
    assert "办事群众满意份数 170 份 ÷ 办事群众回收问卷份数 200 份" in (got["satisfaction"].explanation or "")
    assert "未满足：2024-07-01~2024-09-30" in (got["training"].explanation or "")


def variant(tmp_path: Path, edit: Callable[[dict], dict | None]) -> EvaluationResult:
    target = tmp_path / EXAMPLE.name
    shutil.copytree(EXAMPLE, target)
    for path in (target / "evidence").glob("*.jsonl"):
        lines = [edit(json.loads(line)) for line in path.read_text(encoding="utf-8").splitlines()]
        path.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in lines if e is not None), "utf-8")
    return evaluate_bundle(target)[0]


def test_reports_fall_due_on_the_fifth_working_day_and_clock_outs_show_early_leaves(result: EvaluationResult) -> None:
    timeliness = leaves(result.indicators)["report_timeliness"].explanation or ""
    # April 2024: 1, 2, 3, then 清明 (4–6 April), then Sunday 7 April is a 调休 working day: the 5th is the 8th.
    assert "2024-04-08" in " ".join(f.message for f in result.findings if f.rule == "deliverable.late")
    assert "10/12" in timeliness
    early = MetricContext(fold_bundle(EXAMPLE)).measure(MetricRef(name="staff.early_leaves"))
    assert (early.value, early.evidence) == (2, ("sc-out-2-2024-12-05", "sc-out-3-2024-07-10"))  # before 17:30


def test_correcting_a_fact_moves_the_computed_score(tmp_path: Path) -> None:
    def on_site(e: dict) -> dict:
        if e["kind"] == "clock_in" and e["payload"].get("site") == "区政务服务中心":
            e["payload"]["site"] = "市民服务中心"
        return e

    result = variant(tmp_path, on_site)
    assert leaves(result.indicators)["management"].score == D("4.5")  # the site point is met: 2 instead of 1
    assert result.total == D("75.86")


def test_a_q3_training_covers_every_quarter(tmp_path: Path) -> None:
    def move_to_q3(e: dict) -> dict:
        if e["id"] == "sc-training-2024-03-21":
            e["occurred_at"] = e["recorded_at"] = "2024-08-15T14:30:00+08:00"
        return e

    assert leaves(variant(tmp_path, move_to_q3).indicators)["training"].score == D(5)
