"""Writes the evidence of the example bundles from what the seed reports describe.

Run `uv run python examples/build.py` after changing it; the JSONL files it writes are committed,
and a test checks they are what this script produces. Everything here is deterministic: the
seed reports give counts, dates and names, and where they give only a count the events are
spread over the period by fixed rules (no randomness).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import chinese_calendar

HERE = Path(__file__).parent
TZ = "+08:00"


def ts(day: date, clock: str = "09:00") -> str:
    return f"{day.isoformat()}T{clock}:00{TZ}"


def days(start: date, end: date) -> Iterator[date]:
    d = start
    while d <= end:
        yield d
        d += timedelta(days=1)


def workdays(start: date, end: date) -> list[date]:
    return [d for d in days(start, end) if chinese_calendar.is_workday(d)]


def next_workday(d: date) -> date:
    while not chinese_calendar.is_workday(d):
        d += timedelta(days=1)
    return d


def add_minutes(day: date, clock: str, minutes: float) -> str:
    base = datetime.combine(day, time.fromisoformat(clock))
    return (base + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S") + TZ


class Bundle:
    def __init__(self, name: str, project: str) -> None:
        self.dir = HERE / name / "evidence"
        self.project = project
        self.files: dict[str, list[str]] = {}

    def add(self, file: str, eid: str, kind: str, occurred: str, payload: dict[str, Any], *,
            recorded: str | None = None, source: str, contract: str | None = None) -> None:
        event: dict[str, Any] = {
            "id": eid, "project": self.project, "kind": kind, "occurred_at": occurred,
            "recorded_at": recorded or occurred, "source": source, "payload": payload,
        }
        if contract:
            event["contract"] = contract
        self.files.setdefault(file, []).append(json.dumps(event, ensure_ascii=False, sort_keys=True))

    def write(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        for old in self.dir.glob("*.jsonl"):
            if old.name not in self.files:
                old.unlink()
        for file, lines in self.files.items():
            (self.dir / file).write_text("\n".join(lines) + "\n", encoding="utf-8")


def monday_weeks(start: date, end: date) -> list[tuple[date, date]]:
    first = start + timedelta(days=(7 - start.weekday()) % 7)
    out = []
    d = first
    while d + timedelta(days=6) <= end:
        out.append((d, d + timedelta(days=6)))
        d += timedelta(days=7)
    return out


def month_ends(year: int, months: range) -> list[tuple[date, date]]:
    out = []
    for m in months:
        start = date(year + (m - 1) // 12, (m - 1) % 12 + 1, 1)
        nxt = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
        out.append((start, nxt - timedelta(days=1)))
    return out


# ====================================================================== seed 001


def guangzhou_2021() -> Bundle:
    b = Bundle("guangzhou-2021", "guangzhou-2021")
    src_doc, src_ops = "oa-docs", "itsm"
    # Weekly reports are due the following Monday 18:00; two in 2021-06-21..07-21 came late.
    late_weeks = {date(2021, 6, 21): 2, date(2021, 7, 5): 3}
    for start, end in monday_weeks(date(2021, 1, 1), date(2021, 12, 31)):
        due = next_workday(end + timedelta(days=1))
        sent = due + timedelta(days=late_weeks.get(start, 0))
        clock = "10:30" if start not in late_weeks else "11:00"
        if start in late_weeks:
            sent = next_workday(sent)
        b.add("deliverables.jsonl", f"gz21-weekly-{start}", "deliverable_submitted", ts(sent, clock),
              {"deliverable": "weekly_report", "title": f"运维周报（{start}~{end}）", "period_start": str(start),
               "period_end": str(end), "document_ref": f"OA-WR-{start:%Y%m%d}"}, source=src_doc)
    # Monthly reports by the 5th (18:00); June's came on 8 July.
    for start, end in month_ends(2021, range(1, 13)):
        due = next_workday(end + timedelta(days=5))
        sent = date(2021, 7, 8) if start.month == 6 else due - timedelta(days=1)
        b.add("deliverables.jsonl", f"gz21-monthly-{start:%Y-%m}", "deliverable_submitted", ts(sent, "16:00"),
              {"deliverable": "monthly_report", "title": f"{start.month}月运维月报", "period_start": str(start),
               "period_end": str(end), "document_ref": f"OA-MR-{start:%Y%m}"}, source=src_doc)
    # Daily inspections on every workday, registered the same day; two registered late.
    late_registration = {date(2021, 6, 29), date(2021, 7, 13)}
    for d in workdays(date(2021, 1, 1), date(2021, 12, 31)):
        registered = ts(d + timedelta(days=1), "09:20") if d in late_registration else ts(d, "11:00")
        b.add("inspections.jsonl", f"gz21-insp-{d}", "inspection_done", ts(d, "09:10"),
              {"plan": "daily_check", "asset_class": "core_system", "scope": "机房、网络、核心系统"},
              recorded=registered, source=src_ops)
    # Faults: 24 in the year, all answered in time; one level-1 fault took 38 minutes to recover.
    levels = ["L3", "L3", "L2", "L3", "L1", "L3", "L2", "L3"]
    limits = {"L1": 25, "L2": 130, "L3": 270}
    for i in range(24):
        d = next_workday(date(2021, 1, 8) + timedelta(days=i * 15))
        sev = levels[i % len(levels)]
        resolve = 38 if (sev == "L1" and i == 12) else limits[sev] * 0.6
        b.add("incidents.jsonl", f"gz21-inc-{i + 1:03d}", "incident", ts(d, "10:00"),
              {"ticket": f"INC-2021-{i + 1:03d}", "severity": sev, "cause": "external", "title": "系统故障",
               "responded_at": add_minutes(d, "10:00", 3), "resolved_at": add_minutes(d, "10:00", resolve)},
              recorded=add_minutes(d, "10:00", resolve + 5), source=src_ops)
    b.add("assets.jsonl", "gz21-assets-core", "asset_count", ts(date(2021, 12, 31), "17:00"),
          {"asset_class": "core_system", "count": 12}, source="cmdb")
    for i in range(100):
        b.add("survey.jsonl", f"gz21-survey-{i + 1:03d}", "survey_response", ts(date(2021, 12, 10), "15:00"),
              {"survey": "service-2021", "group": "服务对象", "satisfied": i >= 10}, source="survey")
    for eid, item, amount in (("approved", "approved", 350), ("adjust", "adjustment", -2), ("spent", "spent", 348)):
        b.add("budget.jsonl", f"gz21-budget-{eid}", "budget_figure", ts(date(2021, 12, 31), "17:00"),
              {"item": item, "amount": amount, "fiscal_year": 2021}, source="finance")
    for point, reason in (
        ("deliverable_quality", "运维团队按岗位职责执行运维工作，产出物已按要求提供（单位自评）"),
        ("compliance", "运维处理事件管理流程基本合规，未出现用户投诉等不良事件（单位自评）"),
    ):
        b.add("judgments.jsonl", f"gz21-judge-{point}", "judgment", ts(date(2022, 3, 1), "10:00"),
              {"indicator": point, "awarded": 10, "reason": reason, "evaluator": "政务信息中心"},
              source="self-evaluation")
    rows = [
        ("故障响应及时率", "100%", "100%", "1", 15, 15, "incidents.response_rate"),
        ("核心系统运维覆盖率", "100%", "100%", "1", 15, 15, None),
        ("项目实施进度完成率", "100%", "100%", "1", 10, 10, "obligations.completion"),
        ("巡检响应及时率", "100%", "100%", "1", 10, 10, "inspections.completion"),
        ("平均故障恢复时间", "一级故障25分钟；二级故障130分钟；三级故障270分钟", "25分钟", None, 10, 9, None),
        ("服务对象满意度", "90%", "90%", "0.9", 10, 10, "survey.satisfaction"),
        ("运维工作产出物质量", "100%", "100%", "1", 10, 10, "deliverables.on_time_rate"),
        ("运维服务合规性", "100%", "100%", "1", 10, 10, None),
    ]
    for n, (name, target, actual, claimed, weight, score, metric) in enumerate(rows, start=1):
        payload: dict[str, Any] = {"indicator": name, "target": target, "actual": actual, "weight": weight,
                                   "score": score}
        if claimed is not None:
            payload["claimed_rate"] = claimed
        if metric is not None:
            payload["metric"] = metric
        b.add("self-evaluation.jsonl", f"gz21-self-{n}", "self_evaluation_row", ts(date(2022, 3, 1), "10:00"),
              payload, source="self-evaluation")
    return b


BUILDERS = {"guangzhou-2021": guangzhou_2021}


def main(names: list[str]) -> None:
    for name in names or list(BUILDERS):
        BUILDERS[name]().write()
        print(f"wrote examples/{name}/evidence")


if __name__ == "__main__":
    main(sys.argv[1:])
