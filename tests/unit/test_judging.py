"""Judging: the judgment in force per leaf or point, overrides that must name it, and the list of
what is still to judge with each item's criterion, maximum, computed result and judgment."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from opseval_shared.base import CHINA_TZ
from opseval_shared.evidence import EVIDENCE_ADAPTER, Evidence, Judgment
from opseval_shared.indicators import IndicatorSystem
from opseval_shared.judging import (
    competing_overrides,
    judging_list,
    judgment_moment,
    judgments_in_force,
    override_problem,
    push_override_problems,
)
from opseval_shared.results import ScoredIndicator

SYSTEM = IndicatorSystem.model_validate(
    {
        "id": "s",
        "name": "体系",
        "form": "third_party",
        "total": 10,
        "indicators": [
            {
                "id": "decision",
                "name": "决策",
                "weight": 10,
                "children": [
                    {
                        "id": "basis",
                        "name": "立项依据充分性",
                        "weight": 1.5,
                        "method": {
                            "type": "checklist",
                            "points": [
                                {"id": "policy", "text": "符合国家法律法规", "max": 0.5},
                                {"id": "duty", "text": "与部门职责范围相符", "max": 0.5},
                                {
                                    "id": "payment",
                                    "text": "资金支付方式合理",
                                    "max": 0.5,
                                    "when": {"no_findings": ["payment.weak_rule"]},
                                },
                            ],
                        },
                    },
                    {
                        "id": "goal",
                        "name": "绩效目标合理性",
                        "weight": 8.5,
                        "description": "目标明确、细化、量化得满分",
                        "method": {"type": "judgment"},
                    },
                ],
            }
        ],
    }
)
T0 = datetime(2023, 12, 1, 10, 0, tzinfo=CHINA_TZ)


def judgment(eid: str, point: str | None, awarded: float, at: datetime = T0, **extra: Any) -> Evidence:
    indicator = "goal" if point is None else "basis"
    payload: dict[str, Any] = {"indicator": indicator, "awarded": awarded, "reason": "依据充分"}
    if point is not None:
        payload["point"] = point
    return EVIDENCE_ADAPTER.validate_python(
        {
            "id": eid,
            "kind": "judgment",
            "project": "p",
            "occurred_at": at,
            "recorded_at": at,
            "source": "evaluator:k1",
            "payload": payload,
            **extra,
        }
    )


def retraction(eid: str, target: str, at: datetime) -> Evidence:
    return EVIDENCE_ADAPTER.validate_python(
        {
            "id": eid,
            "kind": "retraction",
            "project": "p",
            "occurred_at": at,
            "recorded_at": at,
            "source": "evaluator:k1",
            "payload": {"event": target, "reason": "误判"},
        }
    )


def corrects(target: str) -> dict[str, Any]:
    return {"corrects": {"event": target, "reason": "复核后改判", "by": "评价组"}}


def test_the_latest_judgment_not_corrected_is_in_force_for_each_point() -> None:
    first = judgment("j1", "policy", 0.5)
    override = judgment("j2", "policy", 0.2, T0 - timedelta(hours=1), **corrects("j1"))  # earlier, yet it corrects
    other = judgment("j3", "duty", 0.5)
    in_force = judgments_in_force([first, override, other])
    assert {k: v.id for k, v in in_force.items()} == {("basis", "policy"): "j2", ("basis", "duty"): "j3"}


def test_a_retracted_judgment_leaves_its_point_unjudged() -> None:
    in_force = judgments_in_force([judgment("j1", "policy", 0.5), retraction("r1", "j1", T0 + timedelta(hours=1))])
    assert in_force == {}


def test_a_cutoff_leaves_out_judgments_made_after_it() -> None:
    later = judgment("j2", "policy", 0.1, T0 + timedelta(days=2), **corrects("j1"))
    in_force = judgments_in_force([judgment("j1", "policy", 0.5), later], cutoff=T0 + timedelta(days=1))
    assert in_force[("basis", "policy")].id == "j1"


def test_rejudging_without_naming_the_judgment_in_force_is_an_override_problem() -> None:
    in_force = judgments_in_force([judgment("j1", "policy", 0.5)])
    bare = judgment("j2", "policy", 0.2)
    assert isinstance(bare, Judgment)
    problem = override_problem(bare, in_force)
    assert problem is not None and problem[0] == "corrects" and "'j1'" in problem[1] and "改判" in problem[1]
    wrong = judgment("j3", "policy", 0.2, **corrects("j0"))
    assert isinstance(wrong, Judgment)
    problem = override_problem(wrong, in_force)
    assert problem is not None and problem[0] == "corrects.event"
    named = judgment("j4", "policy", 0.2, **corrects("j1"))
    assert isinstance(named, Judgment)
    assert override_problem(named, in_force) is None


def test_a_first_judgment_or_the_one_in_force_sent_again_is_no_override() -> None:
    first = judgment("j1", "policy", 0.5)
    assert isinstance(first, Judgment)
    assert override_problem(first, {}) is None
    assert override_problem(first, judgments_in_force([first])) is None
    whole = judgment("g1", None, 6)
    assert isinstance(whole, Judgment)
    assert override_problem(whole, judgments_in_force([first])) is None  # another leaf


def scored(explanation: str, evidence: tuple[str, ...]) -> tuple[ScoredIndicator, ...]:
    basis = ScoredIndicator(
        id="basis",
        name="立项依据充分性",
        weight=Decimal("1.5"),
        score=Decimal("1"),
        rate=Decimal("0.66"),
        method="checklist",
        explanation=explanation,
        evidence=evidence,
        findings=("f-payment",),
        status="partial",
    )
    goal = ScoredIndicator(id="goal", name="绩效目标合理性", weight=Decimal("8.5"), score=Decimal(0), rate=Decimal(0))
    return (
        ScoredIndicator(
            id="decision",
            name="决策",
            weight=Decimal(10),
            score=Decimal(1),
            rate=Decimal("0.1"),
            children=(basis, goal),
        ),
    )


def test_the_list_puts_what_is_still_to_judge_first_with_criterion_maximum_and_computed_result() -> None:
    policy = judgment("j1", "policy", 0.5)
    explanation = (
        "符合国家法律法规：得 0.5/0.5 分，依据充分；与部门职责范围相符：尚无评价记录，待评（满分 0.5）；"
        "资金支付方式合理：按事实计算得 0.4/0.5 分（存在 payment.weak_rule 问题）"
    )
    tree = scored(explanation, ("j1", "fact-1", "fact-2"))
    result = judging_list(SYSTEM, tree, judgments_in_force([policy]), as_of=date(2023, 12, 31))

    assert [(i.indicator, i.point, i.status) for i in result.items] == [
        ("basis", "duty", "to_judge"),
        ("goal", None, "to_judge"),
        ("basis", "payment", "computed"),
        ("basis", "policy", "judged"),
    ]
    assert (result.to_judge, result.judged) == (2, 1)
    duty, goal, payment, judged = result.items
    assert duty.path == ("决策", "立项依据充分性") and duty.criterion == "与部门职责范围相符"
    assert duty.max == Decimal("0.5") and duty.judgment is None and duty.computed is None
    assert goal.criterion == "目标明确、细化、量化得满分" and goal.max == Decimal("8.5")
    assert payment.computed is not None and payment.computed.score == Decimal("0.4")
    assert payment.computed.evidence == ("fact-1", "fact-2")  # the judgment's own id is not evidence of the facts
    assert "payment.weak_rule" in payment.computed.explanation
    assert "待评" not in payment.computed.explanation  # cut at the next point's part
    assert duty.findings == ("f-payment",) and goal.findings == ()  # the findings bearing on each leaf
    assert judged.judgment is not None
    held = judged.judgment
    assert (held.event, held.awarded, held.by, held.counted) == ("j1", Decimal("0.5"), "evaluator:k1", True)


def test_a_judgment_made_after_the_as_of_day_is_shown_as_not_counted() -> None:
    late = judgment("j9", "duty", 0.5, datetime(2024, 1, 2, 9, 0, tzinfo=CHINA_TZ))
    result = judging_list(SYSTEM, (), judgments_in_force([late]), as_of=date(2023, 12, 31))
    duty = next(i for i in result.items if i.point == "duty")
    assert duty.status == "judged" and duty.judgment is not None and duty.judgment.counted is False


def test_a_computed_point_the_facts_do_not_decide_yet_is_still_to_judge() -> None:
    explanation = "资金支付方式合理：资金支付尚无记录，待评（满分 0.5）"
    result = judging_list(SYSTEM, scored(explanation, ()), {})
    payment = next(i for i in result.items if i.point == "payment")
    assert payment.status == "to_judge" and payment.computed is None
    assert result.to_judge == 4


def test_a_judgment_happens_at_the_end_of_the_as_of_day_unless_that_is_still_to_come() -> None:
    now = datetime(2026, 12, 4, 10, 0, tzinfo=CHINA_TZ)
    assert judgment_moment(date(2023, 12, 31), now) == datetime(2023, 12, 31, 23, 59, 59, 999999, tzinfo=CHINA_TZ)
    assert judgment_moment(date(2026, 12, 4), now) == now


def test_a_push_counts_as_a_whole_in_any_order() -> None:
    first = judgment("j1", "policy", 0.5)
    override = judgment("j2", "policy", 0.2, **corrects("j1"))
    assert push_override_problems([], [override, first]) == []  # j1 is superseded in the same push
    assert push_override_problems([first], [judgment("j3", "policy", 0.1), retraction("r1", "j1", T0)]) == []


def test_a_replay_of_stored_judgments_is_no_override() -> None:
    first = judgment("j1", "policy", 0.5)
    override = judgment("j2", "policy", 0.2, **corrects("j1"))
    assert push_override_problems([first, override], [first, override]) == []


def test_a_push_that_rejudges_without_naming_the_judgment_in_force_is_refused_at_that_judgment() -> None:
    stored = [judgment("j1", "policy", 0.5)]
    pushed = [judgment("d1", "duty", 0.5), judgment("j2", "policy", 0.2)]
    [(position, field, message)] = push_override_problems(stored, pushed)
    assert (position, field) == (1, "corrects") and "'j1'" in message
    # two new judgments of one point: the second names the first
    [(position, field, message)] = push_override_problems([], [judgment("a", "duty", 0.5), judgment("b", "duty", 0.1)])
    assert (position, field) == (1, "corrects") and "'a'" in message


def test_an_override_with_a_blank_reason_is_refused() -> None:
    stored = [judgment("j1", "policy", 0.5)]
    blank = judgment("j2", "policy", 0.2, corrects={"event": "j1", "reason": " ", "by": "评价组"})
    assert [(p, f) for p, f, _ in push_override_problems(stored, [blank])] == [(0, "corrects.reason")]


def test_two_overrides_of_one_judgment_made_at_once_leave_the_later_in_force_and_the_item_contested() -> None:
    # Two evaluators each saw j1 in force and overrode it before the other's override was stored.
    first = judgment("j1", None, 8)
    mine = judgment("j2", None, 6, T0 + timedelta(minutes=5), **corrects("j1"))
    theirs = judgment("j3", None, 7, T0 + timedelta(minutes=6), **corrects("j1"))
    events = [theirs, first, mine]  # any order
    in_force = judgments_in_force(events)
    assert in_force[("goal", None)].id == "j3"
    contested = competing_overrides(events, in_force)
    assert {k: [j.id for j in v] for k, v in contested.items()} == {("goal", None): ["j2"]}
    listed = judging_list(SYSTEM, (), in_force, competing=contested)
    goal = next(i for i in listed.items if i.indicator == "goal")
    assert goal.judgment is not None and goal.judgment.event == "j3"
    assert [(c.event, c.awarded) for c in goal.competing] == [("j2", Decimal(6))]
    assert listed.contested == 1
    assert listed.items[[i.status for i in listed.items].index("judged")] == goal  # first among the judged


def test_an_override_of_the_judgment_in_force_settles_a_contest() -> None:
    first = judgment("j1", None, 8)
    mine = judgment("j2", None, 6, T0 + timedelta(minutes=5), **corrects("j1"))
    theirs = judgment("j3", None, 7, T0 + timedelta(minutes=6), **corrects("j1"))
    settled = judgment("j4", None, 6.5, T0 + timedelta(hours=1), **corrects("j3"))
    events = [first, mine, theirs, settled]
    in_force = judgments_in_force(events)
    assert in_force[("goal", None)].id == "j4"
    assert competing_overrides(events, in_force) == {}
    # a chain of overrides, each naming the one before, is no contest either
    chain = [first, mine, judgment("j5", None, 5, T0 + timedelta(minutes=9), **corrects("j2"))]
    assert competing_overrides(chain, judgments_in_force(chain)) == {}
