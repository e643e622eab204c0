"""What fell due and when, for each form of deadline a contract writes, and lateness against it."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from opseval_shared.calendar import WorkCalendar
from opseval_shared.evidence import Evidence, parse_evidence_json
from opseval_shared.ledger import Ledger
from opseval_shared.project import ProjectDefinition
from opseval_shared.schedule import deliverable_status, due_items

PERIOD = ("2023-09-01", "2023-10-31")


def definition(*deliverables: dict[str, Any]) -> ProjectDefinition:
    return ProjectDefinition.model_validate(
        {
            "project": {
                "id": "p1",
                "name": "测试项目",
                "agency": "测试单位",
                "evaluation": {"period": {"start": PERIOD[0], "end": PERIOD[1]}},
            },
            "contracts": {
                "contracts": [
                    {
                        "id": "ops",
                        "name": "运维服务项目",
                        "vendor": "服务商",
                        "service_period": {"start": PERIOD[0], "end": PERIOD[1]},
                        "deliverables": list(deliverables),
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
    )


def submitted(eid: str, at: str, period: tuple[str, str]) -> Evidence:
    moment = f"{at.replace(' ', 'T')}:00+08:00"
    raw = {
        "id": eid,
        "project": "p1",
        "kind": "deliverable_submitted",
        "occurred_at": moment,
        "recorded_at": moment,
        "source": "test",
        "payload": {
            "deliverable": "monthly",
            "title": "月报",
            "document_ref": f"doc/{eid}.pdf",
            "period_start": period[0],
            "period_end": period[1],
        },
    }
    return parse_evidence_json(json.dumps(raw, ensure_ascii=False))


def dues(defn: ProjectDefinition, as_of: str) -> list[tuple[str, str]]:
    contract = defn.contracts.contracts[0]
    ledger = Ledger(defn, date.fromisoformat(as_of))
    items = due_items(contract.deliverables[0], contract, ledger, WorkCalendar())
    return [(d.period.start.isoformat(), d.due.isoformat()) for d in items]


def test_the_fifth_working_day_of_the_next_month_for_a_monthly_report() -> None:
    defn = definition({"id": "monthly", "name": "运维月报", "frequency": "monthly", "due": {"working_days": 5}})
    assert dues(defn, "2023-11-30") == [
        ("2023-09-01", "2023-10-11T23:59:59+08:00"),  # 国庆 off, the 调休 weekend counted
        ("2023-10-01", "2023-11-07T23:59:59+08:00"),
    ]
    assert dues(defn, "2023-11-06") == [("2023-09-01", "2023-10-11T23:59:59+08:00")]  # October's not yet due


def test_explicit_dates_are_due_as_the_schedule_gives_them() -> None:
    defn = definition(
        {
            "id": "monthly",
            "name": "阶段报告",
            "frequency": "once",
            "schedule": [
                {"period": {"start": "2023-09-01", "end": "2023-09-15"}, "due": "2023-09-20", "due_time": "12:00"},
                {"period": {"start": "2023-09-16", "end": "2023-10-31"}, "due": "2023-11-03"},
            ],
        }
    )
    assert dues(defn, "2023-11-30") == [
        ("2023-09-01", "2023-09-20T12:00:00+08:00"),
        ("2023-09-16", "2023-11-03T23:59:59+08:00"),
    ]


def test_a_report_after_the_fifth_working_day_is_late_by_the_minutes_past_it() -> None:
    defn = definition(
        {"id": "monthly", "name": "运维月报", "frequency": "monthly", "due": {"working_days": 5, "time": "17:30"}}
    )
    contract = defn.contracts.contracts[0]
    ledger = Ledger(defn, date(2023, 11, 30))
    ledger.add(submitted("s9", "2023-10-11 17:30", ("2023-09-01", "2023-09-30")))  # on the minute: on time
    ledger.add(submitted("s10", "2023-11-07 18:00", ("2023-10-01", "2023-10-31")))  # 30 minutes late
    status = deliverable_status(ledger, contract, contract.deliverables[0], WorkCalendar())
    assert [(sub.event_id, item.period.start.isoformat(), minutes) for sub, item, minutes in status.late] == [
        ("s10", "2023-10-01", 30)
    ]
    assert (status.required_units, status.delivered_units, status.on_time_units) == (2, 2, 1)
