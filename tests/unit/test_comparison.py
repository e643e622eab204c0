"""Comparing two evaluations of a project: total and grade, each leaf's score, findings added and removed."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from opseval_shared.comparison import compare
from opseval_shared.results import EvaluationResult, Finding, ScoredIndicator


def leaf(lid: str, score: str, status: str = "scored", weight: str = "10") -> ScoredIndicator:
    return ScoredIndicator.model_validate(
        {"id": lid, "name": f"指标{lid}", "weight": weight, "score": score, "rate": "0", "status": status}
    )


def branch(bid: str, *children: ScoredIndicator) -> ScoredIndicator:
    return ScoredIndicator(
        id=bid, name=f"一级{bid}", weight=Decimal(20), score=Decimal(0), rate=Decimal(0), children=children
    )


def finding(fid: str) -> Finding:
    return Finding(id=fid, rule="r", severity="medium", message=f"问题{fid}", measured="-", required="-")


def result(
    total: str, grade: str, indicators: list[ScoredIndicator], findings: list[Finding], **kw: Any
) -> EvaluationResult:
    return EvaluationResult.model_validate(
        {
            "project": kw.get("project", "p1"),
            "name": "项目",
            "form": "evaluation",
            "as_of": kw.get("as_of", date(2024, 6, 30)),
            "total": total,
            "grade": grade,
            "indicators": indicators,
            "findings": findings,
        }
    )


def test_the_total_grade_and_changed_leaves_are_reported_in_tree_order_with_their_path() -> None:
    before = result(
        "78.5", "中", [branch("A", leaf("a1", "5"), leaf("a2", "8")), branch("B", leaf("b1", "3", "pending"))], []
    )
    after = result(
        "85",
        "良",
        [branch("A", leaf("a1", "9.5"), leaf("a2", "8")), branch("B", leaf("b1", "3", "scored"))],
        [],
        as_of=date(2024, 12, 31),
    )
    c = compare(before, after)
    assert (c.total_before, c.total_after, c.total_delta) == (Decimal("78.5"), Decimal(85), Decimal("6.5"))
    assert (c.grade_before, c.grade_after) == ("中", "良")
    assert (c.as_of_before, c.as_of_after) == (date(2024, 6, 30), date(2024, 12, 31))
    assert [(x.id, x.before, x.after, x.delta) for x in c.leaves] == [
        ("a1", Decimal(5), Decimal("9.5"), Decimal("4.5")),
        ("b1", Decimal(3), Decimal(3), Decimal(0)),  # same score, but judged now: a change of status
    ]
    assert c.leaves[0].path == ("一级A",)
    assert (c.leaves[1].status_before, c.leaves[1].status_after) == ("pending", "scored")
    assert c.unchanged == 1


def test_a_leaf_in_only_one_evaluation_counts_its_missing_score_as_zero() -> None:
    before = result("10", "差", [branch("A", leaf("a1", "4"), leaf("old", "6"))], [])
    after = result("12", "差", [branch("A", leaf("a1", "4"), leaf("new", "8"))], [])
    changes = {x.id: x for x in compare(before, after).leaves}
    assert (changes["new"].before, changes["new"].after, changes["new"].delta) == (None, Decimal(8), Decimal(8))
    assert (changes["old"].before, changes["old"].after, changes["old"].delta) == (Decimal(6), None, Decimal(-6))
    assert changes["old"].status_after is None
    assert list(changes) == ["new", "old"]  # the second tree's leaves first


def test_findings_are_matched_by_id() -> None:
    tree = [branch("A", leaf("a1", "4"))]
    before = result("4", "差", tree, [finding("f1"), finding("f2")])
    after = result("4", "差", tree, [finding("f2"), finding("f3")])
    c = compare(before, after)
    assert [f.id for f in c.findings_added] == ["f3"]
    assert [f.id for f in c.findings_removed] == ["f1"]
    assert c.leaves == () and c.unchanged == 1 and c.total_delta == 0


def test_an_evaluation_compared_with_itself_has_no_changes() -> None:
    same = result("80", "良", [branch("A", leaf("a1", "4")), branch("B", leaf("b1", "2"))], [finding("f1")])
    c = compare(same, same)
    assert (c.leaves, c.findings_added, c.findings_removed, c.total_delta, c.unchanged) == ((), (), (), 0, 2)


def test_evaluations_of_two_projects_are_refused() -> None:
    with pytest.raises(ValueError, match="two projects"):
        compare(result("1", "差", [], []), result("1", "差", [], [], project="p2"))
