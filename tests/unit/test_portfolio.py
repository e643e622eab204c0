"""The portfolio: projects ranked side by side, and benchmarking by indicator across projects whose
indicator systems differ (标杆管理法)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from opseval_shared.indicators import IndicatorSystem
from opseval_shared.portfolio import (
    BenchmarkError,
    GradeRange,
    ProjectOutcome,
    benchmark,
    grade_ranges,
    indicator_choices,
    level1_key,
    portfolio,
)
from opseval_shared.results import Finding, ScoredIndicator

D = Decimal


def leaf(id: str, name: str, weight: str, score: str, status: str = "scored") -> ScoredIndicator:
    w, s = D(weight), D(score)
    return ScoredIndicator(id=id, name=name, weight=w, score=s, rate=s / w, status=status)  # type: ignore[arg-type]


def top(id: str, name: str, *children: ScoredIndicator) -> ScoredIndicator:
    w = sum((c.weight for c in children), D(0))
    s = sum((c.score for c in children), D(0))
    return ScoredIndicator(id=id, name=name, weight=w, score=s, rate=s / w, children=children)


def finding(n: int, severity: str) -> Finding:
    return Finding(id=f"f{n}", rule="r", severity=severity, message="m", measured="x", required="y")  # type: ignore[arg-type]


def outcome(project: str, name: str, *tops: ScoredIndicator, findings: tuple[Finding, ...] = ()) -> ProjectOutcome:
    total = sum((t.score for t in tops), D(0))
    return ProjectOutcome(
        project=project,
        name=name,
        as_of=date(2023, 12, 31),
        total=total,
        grade="优" if total >= 90 else "良" if total >= 80 else "中" if total >= 60 else "差",
        pending=D(0),
        indicators=tops,
        finding_severities=tuple(f.severity for f in findings),
    )


A = outcome(
    "a",
    "甲项目",
    top("output", "产出", leaf("on_time", "维护工作按时完成率", "30", "27"), leaf("budget", "预算执行率", "20", "20")),
    top("benefit", "效益", leaf("satisfaction", "服务对象满意度", "50", "40")),
    findings=(finding(1, "high"), finding(2, "low"), finding(3, "low")),
)
B = outcome(
    "b",
    "乙项目",
    top("output", "产出指标", leaf("on_time", "维护工作按时完成率", "50", "50")),
    top("benefit", "效益指标", leaf("satisfaction", "办事群众满意度", "50", "45")),
)
C = outcome(
    "c",
    "丙项目",
    top("decision", "决策", leaf("basis", "立项依据充分性", "20", "10")),
    top("output", "产出", leaf("execution", "预算执行率", "80", "60")),
)
UNSCORED = ProjectOutcome(project="d", name="丁项目")


def test_projects_are_ranked_by_total_with_ties_sharing_a_rank_and_unscored_last() -> None:
    tied = outcome("e", "戊项目", top("output", "产出", leaf("x", "某指标", "100", "87")))  # A is 87 too
    result = portfolio([C, UNSCORED, tied, A, B])
    assert [(e.project, e.rank, e.total) for e in result.entries] == [
        ("b", 1, D(95)),
        ("a", 2, D(87)),  # the same rank, in project id order
        ("e", 2, D(87)),
        ("c", 4, D(70)),
        ("d", None, None),
    ]


def test_level_one_rates_are_score_over_weight_and_findings_are_counted_by_severity() -> None:
    entry = portfolio([A]).entries[0]
    assert [(t.name, t.weight, t.score, t.rate) for t in entry.level1] == [
        ("产出", D(50), D(47), D("0.94")),
        ("效益", D(50), D(40), D("0.8")),
    ]
    assert entry.findings == {"high": 1, "medium": 0, "low": 2}
    assert not entry.interim


def test_an_interim_result_is_marked_so() -> None:
    interim = A.model_copy(update={"pending": D(10)})
    assert portfolio([interim]).entries[0].interim


def test_level_one_names_are_matched_without_the_suffix_zhibiao_and_listed_once() -> None:
    assert level1_key("产出指标") == "产出" and level1_key("指标") == "指标"
    assert portfolio([A, B, C]).level1 == ("产出", "效益", "决策")


def test_benchmarkable_indicators_are_level_one_names_and_leaves_shared_by_two_projects() -> None:
    choices = {c.key: c for c in indicator_choices([C, A, B])}
    # the level-1 names most projects share first
    assert [k for k in choices if k.startswith("level1:")] == ["level1:产出", "level1:效益", "level1:决策"]
    assert choices["level1:产出"].projects == 3
    assert choices["name:维护工作按时完成率"].projects == 2
    assert choices["name:预算执行率"].projects == 2  # ids budget / execution differ, the name is shared
    assert "name:立项依据充分性" not in choices  # one project alone: nothing to compare
    # one id under two names is offered by id, naming both
    assert choices["id:satisfaction"].label == "satisfaction（办事群众满意度／服务对象满意度）"
    assert "id:on_time" not in choices  # the same id and name: offered once, by name


def test_benchmark_names_the_best_rate_the_benchmark_and_the_gap_of_every_other() -> None:
    result = benchmark([A, B, C], "level1:产出")
    assert result.benchmark_project == "b" and result.best_rate == D(1)
    assert [(r.project, r.indicator_name, r.rate, r.gap, r.benchmark) for r in result.rows] == [
        ("b", "产出指标", D(1), D(0), True),
        ("a", "产出", D("0.94"), D("0.06"), False),
        ("c", "产出", D("0.75"), D("0.25"), False),
    ]


def test_a_project_without_the_indicator_says_so_and_has_no_rate_or_gap() -> None:
    result = benchmark([A, B, C, UNSCORED], "level1:决策")
    assert result.benchmark_project == "c"
    absent = {r.project: r for r in result.rows if not r.present}
    assert set(absent) == {"a", "b", "d"}
    assert absent["a"].note == "该项目的指标体系无此指标" and absent["a"].rate is None and absent["a"].gap is None
    assert absent["d"].note == "尚未评分"
    assert result.rows[0].project == "c"


def test_a_leaf_is_benchmarked_by_name_across_different_ids_and_by_id_across_names() -> None:
    by_name = benchmark([A, B, C], "name:预算执行率")
    assert [(r.project, r.indicator_id, r.rate) for r in by_name.rows if r.present] == [
        ("a", "budget", D(1)),
        ("c", "execution", D("0.75")),
    ]
    by_id = benchmark([A, B, C], "id:satisfaction")
    assert [(r.project, r.indicator_name, r.rate, r.gap) for r in by_id.rows if r.present] == [
        ("b", "办事群众满意度", D("0.9"), D(0)),
        ("a", "服务对象满意度", D("0.8"), D("0.1")),
    ]


def test_a_pending_indicator_has_no_rate_and_cannot_be_the_benchmark() -> None:
    unjudged = leaf("on_time", "维护工作按时完成率", "100", "0", "pending")
    waiting = outcome("p", "待评项目", top("output", "产出", unjudged))
    result = benchmark([waiting, A], "name:维护工作按时完成率")
    assert result.benchmark_project == "a"
    pending = next(r for r in result.rows if r.project == "p")
    assert pending.present and pending.rate is None and pending.gap is None and pending.status == "pending"
    assert pending.note.startswith("待评")


def test_equal_best_rates_make_the_first_by_project_id_the_benchmark_and_both_have_no_gap() -> None:
    twin = outcome("z", "丁丁项目", top("output", "产出", leaf("on_time", "维护工作按时完成率", "50", "50")))
    result = benchmark([twin, B], "name:维护工作按时完成率")
    assert [r.benchmark for r in result.rows].count(True) == 1
    assert all(r.gap == 0 for r in result.rows)


@pytest.mark.parametrize(
    ("key", "says"),
    [
        ("产出", "expected level1:"),
        ("level2:产出", "expected level1:"),
        ("name:", "expected level1:"),
        ("name:不存在的指标", "none of the projects has it"),
    ],
)
def test_a_bad_indicator_key_is_refused_naming_it(key: str, says: str) -> None:
    with pytest.raises(BenchmarkError, match=says) as error:
        benchmark([A, B], key)
    assert repr(key) in str(error.value)


def test_grade_ranges_follow_the_systems_bands_best_first_whatever_their_order() -> None:
    system = IndicatorSystem.model_validate(
        {
            "id": "s",
            "name": "体系",
            "form": "third_party",
            "grades": [{"min": 0, "grade": "差"}, {"min": 85, "grade": "优"}, {"min": 60, "grade": "合格"}],
            "indicators": [{"id": "a", "name": "产出", "weight": 100, "method": {"type": "judgment"}}],
        }
    )
    assert grade_ranges(system) == (
        GradeRange(grade="优", min=D(85), max=None),
        GradeRange(grade="合格", min=D(60), max=D(85)),
        GradeRange(grade="差", min=D(0), max=D(60)),
    )


def test_a_result_with_nothing_assessable_yet_is_neither_ranked_nor_graded() -> None:
    # Before anything is due the scoring service stores a total of 0 earned of 0 assessable: that is
    # not a score of 0, and the project must not be ranked last with a grade of 差.
    not_yet_due = outcome("f", "己项目", top("output", "产出", leaf("x", "某指标", "100", "0"))).model_copy(
        update={"assessable": D(0), "pending": D(100), "grade": "差"}
    )
    result = portfolio([not_yet_due, C])
    assert [(e.project, e.rank, e.total, e.grade) for e in result.entries] == [
        ("c", 1, D(70), "中"),
        ("f", None, None, None),
    ]
    assert result.entries[1].interim and result.entries[1].as_of == date(2023, 12, 31)
    row = next(r for r in benchmark([not_yet_due, C], "level1:产出").rows if r.project == "f")
    assert not row.present and row.rate is None and row.note.startswith("待评")
