"""Working hours (lateness, early leave) and service windows as a contract states them, measured
over a ledger."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from opseval_shared.contract import Contract, StaffingTerms
from opseval_shared.evidence import Evidence, parse_evidence_json
from opseval_shared.ledger import Ledger
from opseval_shared.metrics import MetricContext
from opseval_shared.project import ProjectDefinition
from pydantic import ValidationError

OCTOBER = ("2023-10-01", "2023-10-31")


def definition(calendar: dict[str, Any] | None = None, **contract: Any) -> ProjectDefinition:
    raw: dict[str, Any] = {
        "project": {
            "id": "p1",
            "name": "测试项目",
            "agency": "测试单位",
            # from September: a fault opened before the 国庆 holiday belongs to the evaluation
            "evaluation": {"period": {"start": "2023-09-01", "end": OCTOBER[1]}},
        },
        "contracts": {
            "contracts": [
                {
                    "id": "ops",
                    "name": "运维服务项目",
                    "vendor": "服务商",
                    "service_period": {"start": OCTOBER[0], "end": OCTOBER[1]},
                    **contract,
                }
            ]
        },
        "indicators": {
            "id": "sys",
            "name": "测试指标体系",
            "form": "third_party",
            "total": 10,
            "indicators": [{"id": "j", "name": "评价组判定", "weight": 10, "method": {"type": "judgment"}}],
        },
    }
    if calendar is not None:
        raw["calendar"] = calendar
    return ProjectDefinition.model_validate(raw)


def ev(eid: str, kind: str, at: str, payload: dict[str, Any]) -> Evidence:
    moment = f"{at.replace(' ', 'T')}:00+08:00"
    raw = {
        "id": eid,
        "project": "p1",
        "kind": kind,
        "occurred_at": moment,
        "recorded_at": moment,
        "source": "test",
        "payload": payload,
    }
    return parse_evidence_json(json.dumps(raw, ensure_ascii=False))


def clock(eid: str, staff: str, at: str, direction: str = "in") -> Evidence:
    return ev(eid, "clock_in", at, {"staff": staff, "direction": direction})


def context(defn: ProjectDefinition, events: list[Evidence]) -> MetricContext:
    ledger = Ledger(defn, date(2023, 10, 31))
    for e in events:
        ledger.add(e)
    return MetricContext(ledger)


DAY = {"start": "08:30", "end": "17:30"}


# ---------------------------------------------------------------- lateness and early leave


def test_arrival_after_a_custom_start_plus_grace_is_late_and_on_a_tiaoxiu_saturday_too() -> None:
    defn = definition(staffing={"working_hours": DAY, "grace_minutes": 5})
    events = [
        clock("c1", "张三", "2023-10-09 08:35"),  # within the grace
        clock("c2", "张三", "2023-10-10 08:36"),  # 6 minutes after the start
        clock("c3", "李四", "2023-10-07 09:00"),  # 调休 Saturday: a working day, 30 minutes late
        clock("c4", "李四", "2023-10-14 10:00"),  # ordinary Saturday: no duty
        clock("c5", "李四", "2023-10-02 10:00"),  # 国庆: no duty
    ]
    assert context(defn, events).late_arrivals(defn.contracts.contracts[0]) == [
        ("张三", date(2023, 10, 10), 6, "c2"),
        ("李四", date(2023, 10, 7), 30, "c3"),
    ]


def test_the_last_clock_out_before_a_1730_end_is_an_early_leave() -> None:
    defn = definition(staffing={"working_hours": DAY, "early_leave_grace_minutes": 10})
    events = [
        clock("o1", "张三", "2023-10-09 17:00", "out"),  # left, but clocked out again later
        clock("o2", "张三", "2023-10-09 17:31", "out"),
        clock("o3", "张三", "2023-10-10 17:25", "out"),  # within the 10 minutes' grace
        clock("o4", "张三", "2023-10-11 17:00", "out"),  # 30 minutes early
        clock("o5", "李四", "2023-10-08 12:00", "out"),  # 调休 Sunday: 330 minutes early
        clock("o6", "李四", "2023-10-15 12:00", "out"),  # ordinary Sunday: no duty
        clock("i1", "李四", "2023-10-12 08:00"),  # a clock-in is no leaving
    ]
    assert context(defn, events).early_leaves(defn.contracts.contracts[0]) == [
        ("张三", date(2023, 10, 11), 30, "o4"),
        ("李四", date(2023, 10, 8), 330, "o5"),
    ]


def test_the_last_clock_out_of_a_day_is_the_same_in_any_order_of_the_events() -> None:
    defn = definition(staffing={"working_hours": DAY})
    events = [clock("b", "张三", "2023-10-09 17:00", "out"), clock("a", "张三", "2023-10-09 17:00", "out")]
    folds = []
    for order in (events, events[::-1]):
        ledger = Ledger(defn, date(2023, 10, 31))
        for e in order:
            ledger.add(e)
        folds.append(dict(ledger.last_clock_out))
    assert folds[0] == folds[1] == {("ops", "张三"): {date(2023, 10, 9).toordinal(): (17 * 60, "a")}}


def test_shift_start_alone_still_sets_the_start_and_no_end() -> None:
    terms = StaffingTerms.model_validate({"shift_start": "09:00", "grace_minutes": 5})
    assert (terms.day_start, terms.day_end) == (terms.shift_start, None)
    defn = definition(staffing={"shift_start": "09:00"})
    ctx = context(defn, [clock("c1", "张三", "2023-10-09 09:01"), clock("o1", "张三", "2023-10-09 12:00", "out")])
    contract = defn.contracts.contracts[0]
    assert ctx.late_arrivals(contract) == [("张三", date(2023, 10, 9), 1, "c1")]
    assert ctx.early_leaves(contract) == []  # no end stated
    assert ctx.ledger.last_clock_out == {}  # nor clock-outs kept


@pytest.mark.parametrize(
    ("staffing", "words"),
    [
        (
            {"shift_start": "09:00", "working_hours": DAY},
            "shift_start 09:00:00 contradicts working_hours.start 08:30:00",
        ),
        ({"working_hours": {"start": "17:30", "end": "08:30"}}, "end 08:30:00 is not after start 17:30:00"),
    ],
    ids=["two-starts", "end-before-start"],
)
def test_contradictory_working_hours_are_refused(staffing: dict[str, Any], words: str) -> None:
    with pytest.raises(ValidationError, match=words):
        StaffingTerms.model_validate(staffing)


def test_shift_start_equal_to_the_working_hours_start_is_accepted() -> None:
    terms = StaffingTerms.model_validate({"shift_start": "08:30", "working_hours": DAY})
    assert terms.day_start is not None and terms.day_start.isoformat() == "08:30:00"


# ---------------------------------------------------------------- service windows on the contract


def incident(eid: str, opened: str, resolved: str) -> Evidence:
    payload = {"ticket": eid, "severity": "desk", "resolved_at": f"{resolved.replace(' ', 'T')}:00+08:00"}
    return ev(eid, "incident", opened, payload)


def test_the_sla_clock_runs_in_the_window_the_sla_names_with_the_contracts_hours() -> None:
    defn = definition(
        slas=[{"severity": "desk", "resolve_minutes": 120, "window": "5x8"}],
        service_windows=[{"name": "5x8", "scope": "桌面终端", "start": "08:30", "end": "17:30"}],
    )
    # Friday 17:00, an ordinary weekend, Monday 09:00: 30 + 30 = 60 minutes, held.
    # Thursday 09-28 16:00, 中秋国庆 off, 调休 Saturday 10-07 10:00: 90 + 90 = 180 minutes, breached.
    ctx = context(
        defn,
        [
            incident("t1", "2023-10-13 17:00", "2023-10-16 09:00"),
            incident("t2", "2023-09-28 16:00", "2023-10-07 10:00"),
        ],
    )
    measures = {(m.ticket, m.measure): (m.minutes, m.breached) for m in ctx.fault_measures(defn.contracts.contracts[0])}
    assert measures == {("t1", "resolve"): (Decimal(60), False), ("t2", "resolve"): (Decimal(180), True)}


def test_the_sla_clock_of_a_standard_window_not_declared_keeps_its_standard_hours() -> None:
    defn = definition(slas=[{"severity": "desk", "resolve_minutes": 120, "window": "5x8"}])
    ctx = context(defn, [incident("t1", "2023-10-13 16:00", "2023-10-16 10:00")])  # Fri 16–17, Mon 9–10
    (m,) = ctx.fault_measures(defn.contracts.contracts[0])
    assert (m.minutes, m.breached) == (Decimal(120), False)


def test_the_sla_clock_follows_the_bundles_declared_year() -> None:
    # the bundle makes Wednesday 2023-10-11 a holiday (as no notice did): the clock stops on it
    holidays = [
        {"name": n, "start": d}
        for n, d in [("元旦", "2023-01-01"), ("春节", "2023-01-22"), ("清明", "2023-04-05"), ("劳动节", "2023-05-01")]
    ] + [
        {"name": "端午节", "start": "2023-06-22"},
        {"name": "中秋节、国庆节", "start": "2023-09-29", "end": "2023-10-06"},
        {"name": "地方假日", "start": "2023-10-11"},
    ]
    calendar = {"years": [{"year": 2023, "holidays": holidays, "workdays": ["2023-10-07", "2023-10-08"]}]}
    defn = definition(calendar=calendar, slas=[{"severity": "desk", "resolve_minutes": 120, "window": "5x8"}])
    ctx = context(defn, [incident("t1", "2023-10-10 16:00", "2023-10-12 10:00")])  # Tue 16–17, Thu 9–10
    (m,) = ctx.fault_measures(defn.contracts.contracts[0])
    assert m.minutes == Decimal(120)
    assert [(s.year, s.source) for s in ctx.work.sources()] == [(2023, "bundle")]


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"slas": [{"severity": "desk", "window": "office"}]}, "slas[0].window: unknown service window 'office'"),
        ({"service_windows": [{"name": "office", "start": "08:30", "end": "17:30"}]}, "give days, start and end"),
        ({"service_windows": [{"name": "5x8"}, {"name": "5x8", "start": "08:00"}]}, "service_windows: duplicate ids"),
        ({"service_windows": [{"name": "5x8", "start": "18:00", "end": "09:00"}]}, "end 09:00:00 is not after start"),
    ],
    ids=["unknown-window", "custom-incomplete", "window-twice", "end-before-start"],
)
def test_a_bad_service_window_is_refused(fields: dict[str, Any], words: str) -> None:
    base = {"id": "ops", "name": "运维", "vendor": "服务商", "service_period": {"start": OCTOBER[0], "end": OCTOBER[1]}}
    with pytest.raises(ValidationError) as caught:
        Contract.model_validate({**base, **fields})
    assert words in str(caught.value)


def test_a_custom_window_named_by_an_sla_is_the_contracts() -> None:
    contract = Contract.model_validate(
        {
            "id": "ops",
            "name": "运维",
            "vendor": "服务商",
            "service_period": {"start": OCTOBER[0], "end": OCTOBER[1]},
            "slas": [{"severity": "desk", "window": "office"}],
            "service_windows": [{"name": "office", "days": "working_days", "start": "08:30", "end": "17:30"}],
        }
    )
    window = contract.sla_window(contract.slas[0])
    assert (window.on, window.opening_minutes) == ("working_days", (510, 1050))
