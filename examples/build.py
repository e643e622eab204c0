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



# ====================================================================== seed 002

QUARTERLY_OUTLINE = ["概述", "工单处理情况", "新增需求情况", "漏洞修复情况", "系统故障情况", "系统更新情况", "人员管理情况"]


def dongguan_2022() -> Bundle:
    b = Bundle("dongguan-2022", "dongguan-2022")
    site = "东莞市民服务中心"
    # ---- actual on-site staff: none of them is in the bids' lists (findings 1-5)
    ops_staff = [("林晓东", "项目经理", 9), ("何佳琪", "需求分析师", 5), ("谢振宇", "需求分析师", 4),
                 ("冯丽娟", "需求分析师", 3), ("曾志强", "实施工程师", 6), ("彭俊峰", "实施工程师", 4)]
    ops_staff += [(n, "开发工程师", y) for n, y in (("蔡文杰", 7), ("潘浩然", 6), ("袁明亮", 5), ("蒋子涵", 5),
                                                 ("韩雪梅", 4), ("唐一鸣", 4), ("冯启航", 3), ("董家豪", 3),
                                                 ("萧若云", 3))]
    operation_staff = [("程思雨", "产品经理", 0, True), ("陆建新", "解决方案工程师", 9, False),
                       ("方志诚", "解决方案工程师", 8, False), ("任晓峰", "解决方案工程师", 8, False),
                       ("姚佳慧", "解决方案工程师", 6, False), ("石磊", "运营人员", 5, False)]
    for i, (name, role, years) in enumerate(ops_staff):
        b.add("roster.jsonl", f"dg-roster-ops-{i + 1:02d}", "roster_entry", ts(date(2022, 9, 1)),
              {"name": name, "role": role, "education": "本科", "years": years}, source="vendor-hr", contract="ops")
    for i, (name, role, years, fresh) in enumerate(operation_staff):
        payload: dict[str, Any] = {"name": name, "role": role, "education": "本科", "years": years}
        if fresh:
            payload["fresh_graduate"] = True
        b.add("roster.jsonl", f"dg-roster-opr-{i + 1:02d}", "roster_entry", ts(date(2022, 9, 7)), payload,
              source="vendor-hr", contract="operation")
    # ---- clock-ins: 2022-09-01 .. 2023-05-31 on workdays; in September four staff were late 28 times
    late = {name: [d for d in workdays(date(2022, 9, 1), date(2022, 9, 30))][k::2][:7]
            for k, name in enumerate(["蔡文杰", "潘浩然", "袁明亮", "蒋子涵"])}
    for i, (name, _, _) in enumerate(ops_staff):
        for n, d in enumerate(workdays(date(2022, 9, 1), date(2023, 5, 31))):
            clock = f"09:{5 + (n * 7 + i) % 31:02d}" if d in late.get(name, []) else f"08:{40 + (n + i) % 19:02d}"
            b.add(f"clock-ins-ops-{d:%Y%m}.jsonl", f"dg-clk-ops-{i + 1:02d}-{d}", "clock_in", ts(d, clock),
                  {"staff": name, "site": site}, source="attendance", contract="ops")
    for i, (name, *_rest) in enumerate(operation_staff):
        first = date(2022, 9, 7) if name == "石磊" else date(2023, 1, 3)
        for n, d in enumerate(workdays(first, date(2023, 5, 31))):
            b.add(f"clock-ins-operation-{d:%Y%m}.jsonl", f"dg-clk-opr-{i + 1:02d}-{d}", "clock_in",
                  ts(d, f"08:{35 + (n + i) % 20:02d}"), {"staff": name, "site": site}, source="attendance",
                  contract="operation")
    # ---- deliverables of the 运维 contract
    def deliver(contract: str, key: str, deliverable: str, title: str, sent: date, ref: str,
                start: date | None = None, end: date | None = None, sections: list[str] | None = None) -> None:
        payload: dict[str, Any] = {"deliverable": deliverable, "title": title, "document_ref": ref}
        if start:
            payload["period_start"], payload["period_end"] = str(start), str(end)
        if sections:
            payload["sections"] = sections
        b.add(f"deliverables-{contract}.jsonl", f"dg-doc-{contract}-{key}", "deliverable_submitted",
              ts(sent, "16:00"), payload, source="doc-system", contract=contract)

    for start, end in month_ends(2022, range(9, 13)):
        deliver("ops", f"monthly-{start:%Y%m}", "monthly_report", f"{start.month}月运维月报",
                end + timedelta(days=4), f"YW-YB-{start:%Y%m}", start, end)
    deliver("ops", "quarterly-1", "quarterly_report", "运维季报（2022年9月至11月）", date(2022, 12, 5), "YW-JB-2022Q1",
            date(2022, 8, 31), date(2022, 11, 29), QUARTERLY_OUTLINE)
    deliver("ops", "items", "item_release", "政务事项上线运维台账（约2500个事项）", date(2022, 12, 20), "YW-SX-2022")
    deliver("ops", "interfaces", "interface_inventory", "53个系统接口维护与盘点清单", date(2022, 11, 15), "YW-JK-2022")
    deliver("ops", "requirements-2022q4", "new_requirements", "2022年第四季度新增需求清单（71个）", date(2023, 1, 6),
            "YW-XQ-2022Q4", date(2022, 10, 1), date(2022, 12, 31))
    for month in range(9, 13):
        d = next_workday(date(2022, month, 20))
        b.add("inspections.jsonl", f"dg-insp-ops-2022{month:02d}", "inspection_done", ts(d, "10:00"),
              {"plan": "monthly_inspection", "scope": "平台运行环境和政务服务大厅软硬件设备"},
              recorded=ts(d, "17:00"), source="itsm", contract="ops")
    # ---- deliverables of the 运营 contract
    deliver("operation", "standard", "ops_standard", "运营制度规范 v1.0", date(2022, 10, 20), "YY-ZD-V1")
    deliver("operation", "requirements", "requirement_list", "新增需求情况表（57项）及需求说明书49份", date(2022, 12, 20),
            "YY-XQ-2022")
    deliver("operation", "design", "feature_design", "一体化二期用户中心公共支撑能力提升实施方案", date(2022, 11, 25),
            "YY-FA-2022")
    deliver("operation", "research-1", "research_report", "用户调研报告", date(2022, 12, 12), "YY-DY-2022Q1",
            date(2022, 9, 7), date(2022, 12, 6))
    deliver("operation", "optimization-1", "optimization_plan", "短信通知优化方案", date(2022, 12, 10), "YY-YH-2022Q1",
            date(2022, 9, 7), date(2022, 12, 6))
    deliver("operation", "faq-1", "faq_update", "FAQ知识库更新报告（39个问题）", date(2022, 12, 9), "YY-FAQ-2022Q1",
            date(2022, 9, 7), date(2022, 12, 6))
    for start, end in monday_weeks(date(2022, 9, 5), date(2022, 12, 25)):
        deliver("operation", f"weekly-{start}", "weekly_analysis", f"运营周报（{start}~{end}）",
                next_workday(end + timedelta(days=1)), f"YY-ZB-{start:%Y%m%d}", start, end)
    for start, end in month_ends(2022, range(9, 13)):
        deliver("operation", f"monthly-{start:%Y%m}", "monthly_analysis", f"{start.month}月运营月报",
                end + timedelta(days=3), f"YY-YB-{start:%Y%m}", start, end)
    deliver("operation", "quarterly-1", "quarterly_analysis", "运营季报（2022年9月至11月）", date(2022, 12, 13),
            "YY-JB-2022Q1", date(2022, 9, 7), date(2022, 12, 6), QUARTERLY_OUTLINE)
    deliver("operation", "issues", "issue_list", "2022年问题处理清单", date(2022, 12, 30), "YY-WT-2022")
    for month, count in ((9, 2104), (10, 2044), (11, 2494), (12, 1823)):
        start, end = month_ends(2022, range(month, month + 1))[0]
        b.add("tickets.jsonl", f"dg-tickets-opr-2022{month:02d}", "ticket_volume", ts(end, "18:00"),
              {"period_start": str(start), "period_end": str(end), "category": "问题处理", "count": count},
              source="itsm", contract="operation")
    # ---- training: one internal session in three months, six attendees (finding 6)
    b.add("trainings.jsonl", "dg-training-20221118", "training_held", ts(date(2022, 11, 18), "14:30"),
          {"topic": "敏捷项目管理培训", "scope": "internal",
           "attendees": [{"organisation": "市政数局", "count": 2}, {"organisation": "数字集团", "count": 2},
                         {"organisation": "开普云公司", "count": 2}]},
          source="doc-system", contract="operation")
    # ---- faults: 11 external ones in 2022, 6 more to May 2023, one internal on 2023-01-14 (MTBF ≈ 3264h)
    severities = ["general", "general", "complex", "general", "emergency", "general"]
    limits = {"general": 120, "complex": 360, "emergency": 120}
    fault_days = [date(2022, 9, 9), date(2022, 9, 23), date(2022, 10, 11), date(2022, 10, 27), date(2022, 11, 3),
                  date(2022, 11, 16), date(2022, 11, 29), date(2022, 12, 7), date(2022, 12, 14), date(2022, 12, 21),
                  date(2022, 12, 28), date(2023, 1, 14), date(2023, 2, 8), date(2023, 3, 1), date(2023, 3, 22),
                  date(2023, 4, 19), date(2023, 5, 17)]
    for n, d in enumerate(fault_days, start=1):
        sev = severities[n % len(severities)]
        internal = d == date(2023, 1, 14)
        opened = "00:00" if internal else "10:20"
        payload = {"ticket": f"GZ-{d:%Y%m%d}-{n:02d}", "severity": sev, "cause": "internal" if internal else "external",
                   "system": "一体化政务服务平台", "title": "平台故障",
                   "responded_at": add_minutes(d, opened, 10), "on_site_at": add_minutes(d, opened, 40),
                   "resolved_at": add_minutes(d, opened, limits[sev] * 0.7)}
        b.add("incidents.jsonl", f"dg-inc-{n:02d}", "incident", ts(d, opened), payload,
              recorded=add_minutes(d, opened, limits[sev]), source="itsm", contract="ops")
    # ---- surveys: the vendor's (12 town-level questionnaires, finding 15) and the evaluators'
    for i in range(12):
        b.add("surveys.jsonl", f"dg-vsurvey-{i + 1:02d}", "survey_response", ts(date(2022, 11, 10), "10:00"),
              {"survey": "ops-user-survey", "group": "使用单位", "level": "镇", "satisfied": i != 3},
              source="survey", contract="operation")
    groups = [("市政数局", 1, 1), ("使用单位", 69, 62), ("办事人", 145, 141)]
    for g, (group, total, satisfied) in enumerate(groups, start=1):
        for i in range(total):
            b.add("surveys.jsonl", f"dg-esurvey-g{g}-{i + 1:03d}", "survey_response", ts(date(2023, 5, 20), "10:00"),
                  {"survey": "eval-2023", "group": group, "satisfied": i < satisfied}, source="evaluator-survey")
    # ---- budget and funds (万元)
    for contract, rows in (
        ("ops", (("approved", 509.4), ("adjustment", -357), ("spent", 152.4), ("contract_price", 508))),
        ("operation", (("approved", 149), ("adjustment", -99.375), ("spent", 49.2), ("contract_price", 196.8))),
    ):
        for item, amount in rows:
            b.add("budget.jsonl", f"dg-budget-{contract}-{item}", "budget_figure", ts(date(2022, 12, 31), "17:00"),
                  {"item": item, "amount": amount, "fiscal_year": 2022}, source="finance", contract=contract)
    for module_no, (module, rate) in enumerate((("平台应用系统维护", 2.05), ("政务事项运维", 2.05), ("系统接口运维", 2.05),
                         ("服务器安全、稳定保障服务", 2.05), ("数据库运维保障服务", 2.9)), start=1):
        b.add("budget.jsonl", f"dg-rate-ops-{module_no}", "unit_rate", ts(date(2021, 11, 30)),
              {"module": module, "rate": rate, "grade": "高级"}, source="budget-docs", contract="ops")
    b.add("budget.jsonl", "dg-calc-operation-analyst", "budget_calculation", ts(date(2021, 11, 30)),
          {"description": "运营服务项目投资估算：信息系统分析工程技术人员人月成本", "operation": "product",
           "factors": [3.23, 1.8405], "stated_result": 5.82, "precision": 2}, source="budget-docs",
          contract="operation")
    # ---- monthly vendor assessments of the 运维 contract by three raters
    raters = ["业务科室负责人", "业务科室对接人", "运营服务团队"]
    special = {("服务实现及时率", 10): [8, 7, 7], ("质量事故", 9): [5, 10, 5], ("客户投诉", 10): [10, 8, 10],
               ("变更质量", 9): [10, 8, 9]}
    timeliness = ["服务响应及时率", "故障到场及时率", "故障处理及时率"]
    cell = 0
    items = ["服务响应及时率", "服务实现及时率", "故障到场及时率", "故障处理及时率", "人员出勤率", "质量事故", "客户投诉",
             "变更质量"]
    for month in range(9, 13):
        start, end = month_ends(2022, range(month, month + 1))[0]
        for item_no, item in enumerate(items, start=1):
            for r, rater in enumerate(raters):
                if (item, month) in special:
                    score: float = special[(item, month)][r]
                elif item in timeliness:
                    cell += 1
                    score = 9.1 if cell == 36 else 9.5
                else:
                    score = 10
                b.add("assessments.jsonl", f"dg-assess-{month:02d}-i{item_no}-r{r + 1}", "vendor_assessment",
                      ts(next_workday(end + timedelta(days=3)), "15:00"),
                      {"period_start": str(start), "period_end": str(end), "rater": rater, "item": item,
                       "score": score, "max_score": 10}, source="assessment", contract="ops")
    for contract, rows in (("ops", ((date(2022, 12, 6), 92.1), (date(2023, 3, 10), 93.4))),
                           ("operation", ((date(2022, 12, 14), 323), (date(2023, 3, 15), 331)))):
        for n, (d, score_) in enumerate(rows, start=1):
            b.add("acceptance.jsonl", f"dg-accept-{contract}-{n}", "acceptance_result", ts(d, "15:00"),
                  {"period_start": str(add_months_(d, -3)), "period_end": str(d - timedelta(days=7)),
                   "score": score_, "passed": True}, source="acceptance", contract=contract)
    # ---- the self-evaluation table of the 运维 contract (differs from the approved targets: finding 16)
    self_rows = [("季度报告", "≥1"), ("平均故障修复时间(MTTR)", "≤2h"), ("一般问题修复时间", "≤2h"),
                 ("复杂问题修复时间", "≤6h"), ("平台突发情况响应时间", "≤0.5h"), ("工作任务完成及时率（%）", "100%"),
                 ("人员队伍稳定", "15人"), ("运维管理制度", "落实运维管理制度"),
                 ("受众满意度", "受访人群数量≥10，受访人群满意度≥90%")]
    for n, (name, target) in enumerate(self_rows, start=1):
        b.add("self-evaluation.jsonl", f"dg-self-ops-{n}", "self_evaluation_row", ts(date(2023, 3, 20)),
              {"indicator": name, "target": target}, source="self-evaluation", contract="ops")
    # ---- the evaluators' judgments (checklist points and judged leaves), with the seed's reasons
    for indicator, point, awarded, reason in DONGGUAN_JUDGMENTS:
        payload = {"indicator": indicator, "awarded": awarded, "reason": reason, "evaluator": "第三方评价组"}
        if point:
            payload["point"] = point
        b.add("judgments.jsonl", f"dg-judge-{indicator}-{point or 'leaf'}", "judgment", ts(date(2023, 5, 31), "18:00"),
              payload, source="evaluator")
    return b


def add_months_(d: date, months: int) -> date:
    m = d.month - 1 + months
    return date(d.year + m // 12, m % 12 + 1, min(d.day, 28))


DONGGUAN_JUDGMENTS: list[tuple[str, str | None, float, str]] = [
    ("basis", "policy", 0.5, "符合国发〔2018〕27号及省、市数字政府“十四五”规划"),
    ("basis", "duty", 0.5, "统筹推进“数字政府”改革建设是市政数局主要职责之一"),
    ("basis", "fiscal", 0.5, "服务成果直接面向基层，属于市县财政事权"),
    ("basis", "overlap", 0.5, "提供了运营与运维项目的工作区分说明，与部门内其他项目不重复"),
    ("procedure", "process", 0.5, "提供了局党组会议纪要、联合会审情况等立项文件"),
    ("procedure", "documents", 0.5, "立项材料符合相关规范和要求"),
    ("procedure", "feasibility", 0, "未提供事前可行性研究、专家论证、风险评估等书面材料"),
    ("objective_fit", "policy", 0.5, "目标符合政策、规划要求，与职责相适应"),
    ("objective_fit", "budget", 0.5, "目标与预算确定的投资额相匹配"),
    ("objective_fit", "relevance", 0.5, "年度目标均提到主要工作模块，与实际工作相关"),
    ("objective_fit", "outcome", 0.25, "运营服务项目的年度目标仅针对工作内容和人员服务期限设计，未针对预期产出和效果"),
    ("indicator_clarity", "breakdown", 0.4, "绩效指标未涉及制度设计和网络安全保障等，拆解细化程度有待提升"),
    ("indicator_clarity", "measurable", 0.4, "部分绩效指标设置不合理、指标值设置不清晰"),
    ("budget_science", "process", 0.2, "邀请专家核价仅为口头沟通，未留下评审意见、造价审核报告等书面材料"),
    ("budget_science", "match", 0.2, "2022 年实际实施约 4 个月，运维按一年、运营按 9 个月编制预算"),
    ("budget_science", "structure", 0.5, "围绕服务模块核算工作量，压减了非必要支出"),
    ("fund_rules", "rules", 1, "提供了财务管理制度、事项全流程管理指引和平台暂行管理办法"),
    ("fund_compliance", "accounting", 1, "记账凭证信息完整、会计核算规范"),
    ("fund_compliance", "approval", 1, "资金拨付有完整的审批程序和手续"),
    ("fund_compliance", "no_misuse", 2, "不存在截留、挤占、挪用、套取、违规支出等情况"),
    ("rules_soundness", "rules", 2, "政府采购、财务管理、预算绩效管理等制度健全"),
    ("rules_soundness", "lawful", 1, "业务管理制度合法、合规"),
    ("rules_execution", "archive", 1, "立项申报书、招投标文件、合同、会计凭证等相对齐全且归档及时"),
    ("rules_execution", "procurement", 1, "公开招标程序规范，采购信息均已公示"),
    ("archives", None, 2.5, "考核评分表缺少佐证材料和评价人签名；未提供230个移动端事项及测试部署相关佐证"),
    ("adjustment", "basis", 1, "预算调剂用于缓解运营商欠费及支付相关项目款项，有客观依据"),
    ("adjustment", "procedure", 0.5, "提供了预算调剂事项申请表和批复文件"),
    ("adjustment", "objectives", 0.5, "调整原因为实施周期与预算金额不一致，不涉及绩效目标调整"),
    ("self_eval_practice", "done", 0.5, "按规定开展绩效自评，提供了自评报告和自评表"),
    ("self_eval_practice", "timely", 0.5, "按要求时间及时提供自评材料"),
    ("self_eval_practice", "evidenced", 0.2, "自评得分佐证不充分，修复时间指标以到场及时率作为佐证"),
    ("service_quality", "ops_system", 0.5, "运营体系健全合理"),
    ("service_quality", "uptime", 0.5, "无故障时间情况较好"),
    ("service_quality", "stability", 0.5, "平台运行稳定"),
    ("service_quality", "training", 0.5, "培训服务质量较好"),
    ("service_quality", "security_incidents", 0.5, "未发生安全事故"),
    ("service_quality", "staff_stability", 0.5, "驻场人员稳定、流失率低"),
    ("service_quality", "security_system", 0, "预警系统建设不完善，缺少可视化的系统安全和故障检测平台"),
    ("economy", None, 1.5, "按高级人员费率测算人力成本而实际驻场人员资质明显低于投标承诺，实施经济性一般"),
    ("unit_price", None, 2.5, "人月单价按高级别费率测算，高于市场价格水平（第三方造价评估建议降至1.91万元/人月）"),
    ("coverage", None, 3, "上线约2500个政务事项，对接53个系统，I莞家小程序日均打开超10万次（报告正文写“本项得2分”，"
                           "得分表为3分，以得分表为准）"),
    ("completeness", None, 2, "功能及应用优化数量符合要求，但34.78%的使用单位认为系统功能不够完善"),
    ("early_warning", None, 1.5, "仅完成常规预警和链路性能预警，缺少可视化的风险监测预警功能"),
    ("integration", None, 1.5, "对接覆盖面广，但未提供数据质检和质检通过率的佐证"),
    ("efficiency", None, 3, "全程网办率提升至68.1%，91.30%的使用单位认为平台提升了政务服务效能"),
    ("ranking", None, 3, "全国政务热线服务质量评估第12名，全省营商环境评估政务服务项排名前三"),
    ("reform", None, 3, "支撑公安业务一窗通办等改革，获国务院办公厅、省政务评估表扬"),
    ("convenience", None, 1.5, "应用便利性整体满意率80.79%，跨部门、跨层级信息共享便利性满意率不足80%"),
    ("continuity", None, 2.4, "运维与运营内容边界不够明确，易造成服务内容重合；团队稳定、政策与资金支持较强"),
]


# ====================================================================== seed 000


def guangzhou_2023() -> Bundle:
    b = Bundle("guangzhou-2023", "guangzhou-2023")
    start, end = date(2023, 7, 1), date(2024, 6, 30)
    staff = [("陈立新", "项目经理"), ("王晓峰", "驻场工程师"), ("李嘉豪", "驻场工程师")]
    for i, (name, role) in enumerate(staff, start=1):
        b.add("roster.jsonl", f"gz23-roster-{i}", "roster_entry", ts(start), {"name": name, "role": role},
              source="vendor-hr")
    late_mornings = {date(2023, 9, 14), date(2023, 12, 6), date(2024, 3, 19), date(2024, 5, 8)}
    late_registered = {date(2023, 10, 9), date(2024, 2, 19)}
    for n, d in enumerate(workdays(start, end)):
        for i, (name, _) in enumerate(staff, start=1):
            clock = "08:41" if (d in late_mornings and i == 2) else f"08:{5 + (n + i) % 20:02d}"
            b.add(f"clock-ins-{d:%Y%m}.jsonl", f"gz23-clk-{i}-{d}", "clock_in", ts(d, clock),
                  {"staff": name, "site": "市委编办"}, source="attendance")
        done = "08:52" if d in late_mornings else f"08:{10 + n % 15:02d}"
        registered = "09:25" if d in late_registered else "08:58"
        b.add(f"inspections-{d:%Y%m}.jsonl", f"gz23-morning-{d}", "inspection_done", ts(d, done),
              {"plan": "morning_check", "scope": "服务器、应用系统、网络设备"}, recorded=ts(d, registered),
              source="itsm")
    for wk_start, wk_end in monday_weeks(start, end):
        for k, offset in enumerate((1, 3), start=1):
            d = next_workday(wk_start + timedelta(days=offset))
            if d <= wk_end:
                b.add("inspections-weekly.jsonl", f"gz23-weekly-check-{wk_start}-{k}", "inspection_done",
                      ts(d, "15:00"), {"plan": "weekly_check", "scope": "网络和信息安全设备、应用系统"}, source="itsm")
    late_weekly = {date(2023, 9, 25): "2023-10-07T09:30:00+08:00", date(2024, 2, 5): "2024-02-19T11:00:00+08:00",
                   date(2024, 4, 29): "2024-05-08T16:00:00+08:00"}
    for wk_start, wk_end in monday_weeks(start, end):
        due = next_workday(wk_end + timedelta(days=3))
        sent = late_weekly.get(wk_start, ts(due, "09:20"))
        b.add("deliverables.jsonl", f"gz23-weekly-{wk_start}", "deliverable_submitted", sent,
              {"deliverable": "weekly_report", "title": f"运维服务周报（{wk_start}~{wk_end}）",
               "period_start": str(wk_start), "period_end": str(wk_end), "document_ref": f"WR-{wk_start:%Y%m%d}"},
              source="doc-system")
    for m_start, m_end in month_ends(2023, range(7, 19)):
        due = next_workday(m_end + timedelta(days=5))
        sent = date(2024, 3, 8) if m_start == date(2024, 2, 1) else due - timedelta(days=2)
        for key, title in (("monthly_report", "运维服务月报"), ("monthly_inspection_report", "月度巡检报告")):
            b.add("deliverables.jsonl", f"gz23-{key}-{m_start:%Y%m}", "deliverable_submitted", ts(sent, "16:00"),
                  {"deliverable": key, "title": f"{m_start.year}年{m_start.month}月{title}",
                   "period_start": str(m_start), "period_end": str(m_end), "document_ref": f"{key}-{m_start:%Y%m}"},
                  source="doc-system")
    for h_start, h_end, sent in ((date(2023, 7, 1), date(2023, 12, 31), date(2024, 1, 12)),
                                 (date(2024, 1, 1), date(2024, 6, 30), date(2024, 7, 10))):
        for key, title in (("asset_register", "资产设备信息表"), ("baseline_docs", "基线数据文档")):
            b.add("deliverables.jsonl", f"gz23-{key}-{h_start:%Y%m}", "deliverable_submitted", ts(sent, "15:00"),
                  {"deliverable": key, "title": title, "period_start": str(h_start), "period_end": str(h_end),
                   "document_ref": f"{key}-{h_start:%Y%m}"}, source="doc-system")
    b.add("deliverables.jsonl", "gz23-summary-2023h2", "deliverable_submitted", ts(date(2024, 1, 26), "17:00"),
          {"deliverable": "half_year_summary", "title": "项目运维半年总结报告（2023年下半年）", "period_start": "2023-07-01",
           "period_end": "2023-12-31", "document_ref": "SUM-2023H2"}, source="doc-system")
    kickoff = ["实施人员任命书", "派驻证明", "保密协议", "项目沟通管理计划", "项目实施方案", "项目开工申请", "项目启动会会议纪要"]
    for i, title in enumerate(kickoff, start=1):
        b.add("deliverables.jsonl", f"gz23-kickoff-{i}", "deliverable_submitted", ts(date(2023, 7, 10 + i), "11:00"),
              {"deliverable": "kickoff_documents", "title": title, "period_start": "2023-07-01",
               "period_end": "2023-07-31", "document_ref": f"KO-{i}"}, source="doc-system")
    faults = [(date(2023, 8, 3), "P2", 12, 95), (date(2023, 9, 20), "P2", 20, 180), (date(2023, 11, 7), "P1", 9, 150),
              (date(2024, 1, 16), "P2", 25, 300), (date(2024, 3, 5), "P1", 12, 275), (date(2024, 5, 21), "P2", 18, 120)]
    for n, (d, sev, respond, resolve) in enumerate(faults, start=1):
        b.add("incidents.jsonl", f"gz23-inc-{n:02d}", "incident", ts(d, "10:05"),
              {"ticket": f"GZBB-{d:%Y%m%d}", "severity": sev, "cause": "external", "title": "办公区域故障",
               "responded_at": add_minutes(d, "10:05", respond), "on_site_at": add_minutes(d, "10:05", respond + 30),
               "resolved_at": add_minutes(d, "10:05", resolve)}, recorded=add_minutes(d, "10:05", resolve + 10),
              source="itsm")
    for cls, count in (("software_system", 6), ("server", 24)):
        b.add("assets.jsonl", f"gz23-assets-{cls}", "asset_count", ts(date(2024, 6, 28), "17:00"),
              {"asset_class": cls, "count": count}, source="cmdb")
    return b


# ====================================================================== seed 004


def urumqi_2023() -> Bundle:
    b = Bundle("urumqi-2023", "urumqi-2023")
    year = [d for d in days(date(2023, 1, 1), date(2023, 12, 31))]
    # 2,969 inspections: six classes every day (365 each) and the A-building hall 414 times (workdays + extras)
    for plan, label in (("room_daily", "14个机房温湿度、配电、消防、门禁"), ("network_daily", "路由器、核心及汇聚交换机"),
                        ("security_daily", "安全设备策略和日志"), ("server_daily", "服务器运行状态、杀毒"),
                        ("desktop_daily", "云桌面系统"), ("storage_daily", "存储设备读写性能")):
        for n, d in enumerate(year):
            b.add(f"inspections-{plan}.jsonl", f"ym-insp-{plan}-{d}", "inspection_done", ts(d, f"09:{n % 50:02d}"),
                  {"plan": plan, "scope": label}, recorded=ts(d, "18:00"), source="ops-platform")
    hall_days = workdays(date(2023, 1, 1), date(2023, 12, 31))
    extra = hall_days[:: max(1, len(hall_days) // (414 - len(hall_days)))][: 414 - len(hall_days)]
    for n, d in enumerate(hall_days + extra):
        clock = "09:30" if n < len(hall_days) else "15:30"
        b.add("inspections-hall.jsonl", f"ym-insp-hall-{n + 1:03d}", "inspection_done", ts(d, clock),
              {"plan": "hall_workday", "scope": "排队叫号、信息发布、电子监察、开评标、音视频会议系统"},
              recorded=ts(d, "18:00"), source="ops-platform")
    for start, end in month_ends(2023, range(1, 13)):
        sent = next_workday(end + timedelta(days=5))
        for key, title in (("security_monthly", "安全月总结"), ("vulnerability_scan", "漏洞扫描服务报告")):
            b.add("deliverables.jsonl", f"ym-{key}-{start:%Y%m}", "deliverable_submitted", ts(sent, "17:00"),
                  {"deliverable": key, "title": f"{start.month}月{title}", "period_start": str(start),
                   "period_end": str(end), "document_ref": f"{key}-{start:%Y%m}"}, source="doc-system")
    for q in range(4):
        start, end = month_ends(2023, range(q * 3 + 1, q * 3 + 4))[0][0], month_ends(2023, range(q * 3 + 3, q * 3 + 4))[0][1]
        for k, device in enumerate(["精密空调", "UPS", "网络设备", "服务器", "存储设备", "安全设备", "光纤交换机", "A座信息化设备",
                                    "设备网"], start=1):
            b.add("deliverables.jsonl", f"ym-quarterly-{q + 1}-{k}", "deliverable_submitted",
                  ts(next_workday(end + timedelta(days=10)), "16:00"),
                  {"deliverable": "quarterly_service_report", "title": f"{device}季度服务报告（{q + 1}季度）",
                   "period_start": str(start), "period_end": str(end), "document_ref": f"QSR-2023Q{q + 1}-{k}"},
                  source="doc-system")
    # 2,050 faults over the year, every one answered and fixed within its limits
    for n in range(2050):
        d = year[(n * 7) % len(year)]
        opened = f"{9 + n % 9:02d}:{(n * 13) % 60:02d}"
        security = n % 41 == 0
        payload: dict[str, Any] = {"ticket": f"YM-2023-{n + 1:04d}", "severity": "security" if security else "fault",
                                   "cause": "external",
                                   "responded_at": add_minutes(d, opened, 3 + n % 7 if security else 5 + n % 20)}
        if security:
            payload["on_site_at"] = add_minutes(d, opened, 15 + n % 10)
        payload["resolved_at"] = add_minutes(d, opened, 40 + n % 200)
        b.add("incidents.jsonl", f"ym-inc-{n + 1:04d}", "incident", ts(d, opened), payload,
              recorded=add_minutes(d, opened, 260), source="ops-platform")
    for cls, count in (("precision_ac", 35), ("ups", 8), ("network", 697), ("server", 70), ("storage", 59),
                       ("security", 40)):
        b.add("assets.jsonl", f"ym-assets-{cls}", "asset_count", ts(date(2023, 12, 31), "17:00"),
              {"asset_class": cls, "count": count}, source="cmdb")
    for item, amount in (("approved", 2180), ("arrived", 400), ("spent", 400), ("contract_price", 2100)):
        b.add("budget.jsonl", f"ym-budget-{item}", "budget_figure", ts(date(2023, 12, 29), "17:00"),
              {"item": item, "amount": amount, "fiscal_year": 2023}, source="finance")
    b.add("acceptance.jsonl", "ym-acceptance-2023", "acceptance_result", ts(date(2024, 1, 20), "16:00"),
          {"period_start": "2023-01-01", "period_end": "2023-12-31", "score": 97.4, "passed": True}, source="acceptance")
    for n in range(16):
        b.add("survey.jsonl", f"ym-survey-{n + 1:02d}", "survey_response", ts(date(2024, 1, 10), "10:00"),
              {"survey": "tenants-2023", "group": "驻楼单位", "satisfied": True,
               "aspects": {"服务响应及时性": True, "工程师工作态度及责任心": True, "工程师技术水平": True}},
              source="survey")
    full = "依据评价要点核查佐证材料，符合要求"
    points = {
        "basis": ["law", "sector", "duty", "fiscal", "overlap"], "procedure": ["process", "documents", "feasibility", "approval"],
        "objective_fit": ["exists", "relevance", "level"], "indicator_clarity": ["breakdown", "measurable", "match"],
        "budget_science": ["argued", "content", "standard"], "allocation": ["basis", "amount"],
        "fund_compliance": ["rules", "approval", "purpose", "no_misuse"], "rules_soundness": ["exists", "lawful"],
        "rules_execution": ["law", "adjustment", "archive", "conditions"],
    }
    weights = {"basis": 4, "procedure": 4, "objective_fit": 3, "indicator_clarity": 3, "budget_science": 3, "allocation": 3,
               "fund_compliance": 9, "rules_soundness": 3, "rules_execution": 4}
    for indicator, ids in points.items():
        share = round(weights[indicator] / len(ids), 4)
        for point in ids:
            b.add("judgments.jsonl", f"ym-judge-{indicator}-{point}", "judgment", ts(date(2024, 3, 20), "10:00"),
                  {"indicator": indicator, "point": point, "awarded": share, "reason": full, "evaluator": "评价小组"},
                  source="evaluator")
    for indicator, awarded, reason in (
        ("all_weather", 10, "提供7×24小时故障响应服务，电话、现场和远程支持到位"),
        ("safe_operation", 9.74, "全年未出现事故，信息系统安全稳定运行；业务流程仍可进一步优化，酌情扣减0.26分"),
        ("energy", 4.87, "服务能力提高，但在减少基建、能源消耗方面仍有提升空间，酌情扣减0.13分"),
    ):
        b.add("judgments.jsonl", f"ym-judge-{indicator}", "judgment", ts(date(2024, 3, 20), "10:00"),
              {"indicator": indicator, "awarded": awarded, "reason": reason, "evaluator": "评价小组"}, source="evaluator")
    return b


# ====================================================================== an example of opseval's own


def service_centre_2024() -> Bundle:
    """A public service centre's 2024 O&M contract (no seed): the facts its indicator system computes from."""
    b = Bundle("service-centre-2024", "service-centre-2024")
    start, end = date(2024, 1, 1), date(2024, 12, 31)
    roster = [("周敏", "项目经理"), ("吴刚", "系统工程师"), ("郑洁", "网络工程师"), ("孙磊", "桌面工程师"),
              ("何平", "桌面工程师")]  # 冯雪 (committed) never arrived; 何平 stands in, committed by nobody
    for i, (name, role) in enumerate(roster, start=1):
        b.add("roster.jsonl", f"sc-roster-{i}", "roster_entry", ts(start, "08:00"), {"name": name, "role": role},
              source="vendor-hr", contract="ops")
    late = {("吴刚", date(2024, 3, 12)): "08:41", ("郑洁", date(2024, 5, 20)): "08:35",
            ("孙磊", date(2024, 9, 3)): "08:52", ("周敏", date(2024, 11, 18)): "08:33",
            ("何平", date(2024, 4, 8)): "08:45", ("何平", date(2024, 10, 14)): "08:50"}
    off_site = {("孙磊", date(2024, 6, 18)): "区政务服务中心"}
    for n, d in enumerate(workdays(start, end)):
        for i, (name, _) in enumerate(roster, start=1):
            clock = late.get((name, d), f"08:{10 + (n + i) % 15:02d}")
            site = off_site.get((name, d), "市民服务中心")
            b.add(f"clock-ins-{d:%Y%m}.jsonl", f"sc-clk-{i}-{d}", "clock_in", ts(d, clock), {"staff": name, "site": site},
                  source="attendance", contract="ops")
    for name, day, clock in (("郑洁", date(2024, 7, 10), "17:00"), ("周敏", date(2024, 9, 20), "17:40"),
                             ("吴刚", date(2024, 12, 5), "16:50")):  # two leave before 17:30
        i = next(n for n, (who, _) in enumerate(roster, start=1) if who == name)
        b.add(f"clock-ins-{day:%Y%m}.jsonl", f"sc-out-{i}-{day}", "clock_in", ts(day, clock),
              {"staff": name, "site": "市民服务中心", "direction": "out"}, source="attendance", contract="ops")
    # On duty on National Day: a clock-in on a day off is no late arrival.
    b.add("clock-ins-202410.jsonl", "sc-clk-2-2024-10-01", "clock_in", ts(date(2024, 10, 1), "09:30"),
          {"staff": "吴刚", "site": "市民服务中心"}, source="attendance", contract="ops")
    missed = {date(2024, 2, 6), date(2024, 7, 15), date(2024, 12, 20)}
    for d in workdays(start, end):
        if d not in missed:
            b.add(f"inspections-{d:%Y%m}.jsonl", f"sc-check-{d}", "inspection_done", ts(d, "08:45"),
                  {"plan": "daily_check", "scope": "服务器、网络、自助终端"}, source="itsm", contract="ops")
    late_reports = {3: date(2024, 4, 15), 8: date(2024, 9, 13)}
    for month in range(1, 13):
        first = date(2024, month, 1)
        following = date(2024 + month // 12, month % 12 + 1, 1)
        last = following - timedelta(days=1)
        submitted = late_reports.get(month, workdays(following, following + timedelta(days=20))[2])  # 3rd working day
        b.add("reports.jsonl", f"sc-report-2024{month:02d}", "deliverable_submitted", ts(submitted, "16:00"),
              {"deliverable": "monthly_report", "title": f"2024年{month}月运维服务月报", "period_start": str(first),
               "period_end": str(last), "document_ref": f"OA-2024-{month:02d}"}, source="oa", contract="ops")
    for day in (date(2024, 1, 18), date(2024, 3, 21), date(2024, 6, 13), date(2024, 11, 14)):  # none in Q3
        b.add("training.jsonl", f"sc-training-{day}", "training_held", ts(day, "14:30"),
              {"topic": "窗口终端与自助设备使用培训", "scope": "internal",
               "attendees": [{"organisation": "市民服务中心窗口", "count": 24}]}, source="training-log", contract="ops")
    faults = [  # ticket, severity, opened, minutes to respond, minutes to resolve
        ("SC-01", "P1", datetime(2024, 3, 5, 10, 0), 10, 180),
        ("SC-02", "P1", datetime(2024, 7, 22, 14, 0), 5, 330),  # repaired 90 min late
        ("SC-03", "P2", datetime(2024, 4, 10, 9, 0), 20, 360),
        ("SC-04", "P2", datetime(2024, 8, 19, 10, 0), 45, 360),  # answered 15 min late
        ("SC-05", "P3", datetime(2024, 10, 16, 11, 0), 30, 360),
        ("SC-06", "P2", datetime(2024, 12, 9, 9, 30), 10, 150),
    ]
    for ticket, severity, opened, respond, resolve in faults:
        day, clock = opened.date(), opened.strftime("%H:%M")
        b.add("incidents.jsonl", f"sc-{ticket}", "incident", ts(day, clock),
              {"ticket": ticket, "severity": severity, "cause": "internal", "title": "自助终端故障",
               "responded_at": add_minutes(day, clock, respond), "resolved_at": add_minutes(day, clock, resolve)},
              recorded=add_minutes(day, clock, resolve + 10), source="itsm", contract="ops")
    for n in range(240):
        group = "办事群众" if n < 200 else "窗口工作人员"
        satisfied = n < 170 or 200 <= n < 238
        b.add("survey.jsonl", f"sc-survey-{n + 1:03d}", "survey_response", ts(date(2024, 12, 10), "10:00"),
              {"survey": "citizens-2024", "group": group, "satisfied": satisfied}, source="survey", contract="ops")
    for indicator, point, awarded, reason in (
        ("objectives", None, 4.5, "立项依据充分，绩效目标与运维任务相关，但未细化到季度"),
        ("budgeting", "basis", 2, "预算按人月和设备数量测算，依据充分"),
        ("budgeting", "match", 2.5, "预算按 6 名驻场人员测算，合同约定 5 名，测算口径略大"),
        ("management", "replacement", 1, "冯雪未到岗、何平替补，未见书面报备和采购人同意"),
    ):
        payload: dict[str, Any] = {"indicator": indicator, "awarded": awarded, "reason": reason, "evaluator": "第三方评价组"}
        if point:
            payload["point"] = point
        b.add("judgments.jsonl", f"sc-judge-{indicator}-{point or 'leaf'}", "judgment", ts(date(2025, 1, 20), "10:00"),
              payload, source="evaluator")
    return b


BUILDERS = {"urumqi-2023": urumqi_2023, "guangzhou-2023": guangzhou_2023, "guangzhou-2021": guangzhou_2021, "dongguan-2022": dongguan_2022,
            "service-centre-2024": service_centre_2024}


def main(names: list[str]) -> None:
    for name in names or list(BUILDERS):
        BUILDERS[name]().write()
        print(f"wrote examples/{name}/evidence")


if __name__ == "__main__":
    main(sys.argv[1:])
