"""A realistic synthetic bundle: a year of IT O&M of a large government office building.

Modelled on seed 004 (2023 年度益民大厦信息系统运维项目): 14 machine rooms, 697 network devices, 40
security devices, 70 servers, 59 storage devices, UPS and precision air conditioning under 7×24
service, about 1,500 terminals in the public service hall under 5×8, on-site engineers who clock
in every working day, weekly/monthly/quarterly reports, faults with severities and SLA limits,
training, satisfaction surveys of the tenant units and of citizens at the hall's rating devices,
budget figures, monthly vendor assessments by three raters, asset counts and the evaluation
team's judgments on the checklist leaves of a department evaluation (决策/过程/产出/效益).

`write_bundle(out, n)` writes about `n` events (exactly `n` for any n ≥ 1,000): every stream is
sized from `n` first (staff, tickets, hall ratings, the granularity of device inspections), and
the terminal inspections take the rest. Small bundles record inspections by batch (one event
covers a zone of terminals or a group of devices), large ones per device; above ~750k events the
terminal count itself grows. A modest rate of real problems is planted so that rules fire:
late and missing reports, SLA breaches, late clock-ins, a late-joining engineer, an engineer
below the experience requirement, a required role nobody holds, a training gap, late inspection
registrations, short inspection days, divergent raters, an off-rule deduction, full attendance
marks despite late arrivals, a unit rate above the ceiling, an arithmetic slip and an
overstated self-evaluation claim.

Deterministic: only `random.Random(seed)` draws numbers, so the same seed gives the same bytes.
Events are streamed to disk as they are made; nothing holds a year of events in memory.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import yaml
from opseval_intake.library import standard_measures
from opseval_shared.base import DateRange
from opseval_shared.calendar import WorkCalendar, due_at, periods
from opseval_shared.contract import DueRule
from opseval_shared.project import ProjectDefinition

PROJECT = "yimin-2023"
YEAR = 2023
SERVICE = DateRange(start=date(YEAR, 1, 1), end=date(YEAR, 12, 31))
AS_OF = date(YEAR + 1, 3, 31)
VENDOR = "天山数智运维服务有限公司（虚构）"
SITE = "益民大厦"
MIN_EVENTS = 1_000
FULL_TIER = 20_000  # from here on: per-class inspection plans, in/out clock-ins, staged tickets, monthly assessments
BASE_TERMINALS = 1_500
FORCED_LATE_REGISTRATION = date(YEAR, 5, 4)  # the machine-room round of this day is registered days late

_T0 = date(YEAR - 1, 1, 1)
_DAYS = [(_T0 + timedelta(days=i)).isoformat() for i in range(1_200)]


def iso(seconds: int) -> str:
    """Local China time, `seconds` after 2022-01-01 00:00, as an ISO timestamp."""
    d, rest = divmod(int(seconds), 86_400)
    h, rest = divmod(rest, 3_600)
    m, s = divmod(rest, 60)
    return f"{_DAYS[d]}T{h:02d}:{m:02d}:{s:02d}+08:00"


def day_seconds(day: date, minute: float = 0) -> int:
    return (day - _T0).days * 86_400 + int(minute * 60)


def iso_dt(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


# ---------------------------------------------------------------- the building


@dataclass(frozen=True)
class DeviceClass:
    asset_class: str
    name: str
    count: int


DEVICES = (
    DeviceClass("machine_room", "机房（基础环境）", 14),
    DeviceClass("network", "网络设备", 697),
    DeviceClass("security", "安全设备", 40),
    DeviceClass("server", "服务器设备", 70),
    DeviceClass("storage", "存储设备", 59),
    DeviceClass("ups", "UPS", 8),
    DeviceClass("aircon", "精密空调", 35),
    DeviceClass("weak_well", "弱电井及全光网设备间", 102),
)
DEVICE = {d.asset_class: d for d in DEVICES}
CORE_NETWORK = 28  # 4 routers, 8 core and 16 aggregation switches are inspected daily; access switches weekly
MAINTAINED = ("server", "storage", "ups", "aircon", "network")  # 维保设备: quarterly health checks


@dataclass(frozen=True)
class InspectionSpec:
    id: str
    name: str
    asset_class: str
    scope: str
    items: int
    frequency: str
    done_by: str | None = None
    register_by: str | None = None
    register_within_days: int | None = None
    start_minute: int = 8 * 60  # first inspection of the day
    span_minutes: int = 120  # inspections of one day spread over this


def _daily(id_: str, name: str, asset_class: str, scope: str, items: int, done_by: str = "11:00") -> InspectionSpec:
    return InspectionSpec(id_, name, asset_class, scope, items, "daily", done_by=done_by, register_by="20:00")


def _weekly(id_: str, name: str, asset_class: str, scope: str, items: int) -> InspectionSpec:
    return InspectionSpec(
        id_, name, asset_class, scope, items, "weekly", register_within_days=1, start_minute=570, span_minutes=420
    )


def device_plans(full: bool) -> list[InspectionSpec]:
    """Device inspection duties: per device class from the full tier up, merged into three below it."""
    health = InspectionSpec(
        "health_quarterly",
        "维保设备季度健康巡检",
        "maintained",
        "服务器、存储、UPS、精密空调、网络设备",
        sum(DEVICE[c].count for c in MAINTAINED),
        "quarterly",
        register_within_days=3,
        start_minute=570,
        span_minutes=420,
    )
    access = DEVICE["network"].count - CORE_NETWORK
    wells = DEVICE["weak_well"].count * 2  # 每周至少 2 次
    if not full:
        core = sum(d.count for d in DEVICES if d.asset_class not in ("network", "weak_well")) + CORE_NETWORK
        return [
            _daily(
                "core_daily", "机房及核心设备日常巡检", "core", "机房、核心网络、安全、服务器、存储、UPS、空调", core
            ),
            _weekly("weekly_check", "接入网络设备及弱电井每周巡检", "network", "接入交换机、弱电井", access + wells),
            health,
        ]
    plans = [
        _daily(
            "room_daily", "机房基础设施日常巡检", "machine_room", "机房温湿度、配电、消防、门禁", 14, done_by="10:00"
        ),
        _daily("core_net_daily", "核心网络设备日常巡检", "network", "路由器、核心及汇聚交换机", CORE_NETWORK),
    ]
    for cls, label in (
        ("security", "安全设备日常巡检"),
        ("server", "服务器日常巡检"),
        ("storage", "存储设备日常巡检"),
        ("ups", "UPS 日常巡检"),
        ("aircon", "精密空调日常巡检"),
    ):
        plans.append(_daily(f"{cls}_daily", label, cls, DEVICE[cls].name, DEVICE[cls].count))
    plans.append(_weekly("access_net_weekly", "接入网络设备每周巡检", "network", "接入交换机", access))
    plans.append(_weekly("well_weekly", "弱电井及全光网设备间巡检（每周 2 次）", "weak_well", "弱电井、设备间", wells))
    plans.append(health)
    return plans


@dataclass(frozen=True)
class Severity:
    id: str
    label: str
    share: float
    response: int
    on_site: int | None
    resolve: int
    window: str


SEVERITIES = (
    Severity("P1", "一级（重大）故障", 0.01, 10, 30, 240, "7x24"),
    Severity("P2", "二级（较大）故障", 0.07, 15, 60, 480, "7x24"),
    Severity("P3", "三级（一般）故障", 0.32, 30, 120, 1440, "7x24"),
    Severity("P4", "四级（终端及外设）故障", 0.60, 30, None, 240, "5x8"),
)

FAULTS = {
    "P1": (
        ("network", "核心交换机宕机"),
        ("storage", "存储控制器故障"),
        ("machine_room", "机房市电中断"),
        ("security", "边界防火墙宕机"),
    ),
    "P2": (
        ("network", "汇聚交换机环路"),
        ("server", "虚拟化主机宕机"),
        ("aircon", "精密空调压缩机故障"),
        ("ups", "UPS 模块告警"),
        ("security", "WAF 资源使用率过高"),
    ),
    "P3": (
        ("network", "接入交换机端口故障"),
        ("server", "服务器磁盘告警"),
        ("storage", "存储硬盘故障"),
        ("aircon", "精密空调漏水"),
        ("weak_well", "弱电井温湿度异常"),
        ("security", "安全策略调整需求"),
    ),
    "P4": (
        ("terminal", "终端蓝屏"),
        ("terminal", "终端无法开机"),
        ("terminal", "打印机脱机"),
        ("terminal", "高拍仪无法识别"),
        ("terminal", "评价器故障"),
        ("terminal", "云桌面登录异常"),
        ("terminal", "安全U盘密码遗忘"),
    ),
}

BREACH_RATES = {"response": 0.01, "on_site": 0.01, "resolve": 0.015}

ROLES = (
    "项目经理",
    "机房值守工程师",
    "网络工程师",
    "安全工程师",
    "系统工程师",
    "存储工程师",
    "桌面运维工程师",
    "大厅运维工程师",
)
ABSENT_ROLE = "数据库工程师"
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕苏卢蒋蔡贾丁魏薛叶阎"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍鹏辉玲建波宁浩凯亮红俊斌雪琳晨阳"
TENANTS = (
    "市工业和信息化局",
    "市政务服务和大数据管理局",
    "市公共资源交易中心",
    "市市场监督管理局",
    "市人力资源和社会保障局",
    "市住房和城乡建设局",
    "市自然资源局",
    "市税务局",
    "市医疗保障局",
    "市不动产登记中心",
    "市公积金管理中心",
    "市交通运输局",
    "市商务局",
    "市卫生健康委员会",
    "市民政局",
    "市司法局",
)
RATERS = ("采购人代表", "驻楼单位代表", "监理工程师")
ASPECTS = ("服务响应及时性", "工程师工作态度及责任心", "工程师技术水平", "服务质量", "问题沟通渠道畅通性")


# ---------------------------------------------------------------- sizing


@dataclass
class Sizing:
    """How big each stream is for a target of `events` events."""

    events: int
    full: bool
    staff: int
    clocks_per_day: int
    tickets: int
    staged_tickets: bool
    hall_ratings: int
    device_budget: int
    tenant_respondents: int
    monthly_assessment: bool

    @classmethod
    def for_events(cls, events: int) -> Sizing:
        n = max(events, MIN_EVENTS)
        full = n >= FULL_TIER
        clocks = 2 if full else 1
        return cls(
            events=n,
            full=full,
            staff=min(150, max(1, round(n * 0.06 / (249 * clocks)))),
            clocks_per_day=clocks,
            tickets=max(12, round(n * 0.004)),
            staged_tickets=full,
            hall_ratings=max(20, round(0.35 * (n - 1_500))),
            device_budget=round(n * 0.14),
            tenant_respondents=min(10, max(1, n // 25_000)),
            monthly_assessment=full,
        )


@dataclass
class Staff:
    name: str
    role: str
    years: float
    education: str
    certificates: tuple[str, ...]
    start: date
    around_the_clock: bool


@dataclass
class Facts:
    """What later streams need to know about earlier ones (small summaries, never events)."""

    staff: list[Staff] = field(default_factory=list)
    late_by_day: dict[date, int] = field(default_factory=dict)
    tickets_by_month: list[int] = field(default_factory=lambda: [0] * 12)
    terminals: int = BASE_TERMINALS
    plans: list[InspectionSpec] = field(default_factory=list)
    assessment_totals: dict[date, list[float]] = field(default_factory=dict)
    per_breach: float = 1.0


# ---------------------------------------------------------------- writing


class Sink:
    """One evidence file, written a line at a time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.fh: IO[str] = path.open("w", encoding="utf-8", newline="\n", buffering=1 << 20)
        self.count = 0

    def add(
        self,
        eid: str,
        kind: str,
        occurred: str,
        payload: dict[str, Any],
        source: str,
        recorded: str | None = None,
        corrects: dict[str, str] | None = None,
    ) -> None:
        event: dict[str, Any] = {
            "id": eid,
            "project": PROJECT,
            "kind": kind,
            "occurred_at": occurred,
            "recorded_at": recorded or occurred,
            "source": source,
            "payload": payload,
        }
        if corrects is not None:
            event["corrects"] = corrects
        self.fh.write(json.dumps(event, ensure_ascii=False, sort_keys=True))
        self.fh.write("\n")
        self.count += 1

    def close(self) -> None:
        self.fh.close()


class _NoAliases(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True


def _yaml(path: Path, header: str, data: Any) -> None:
    text = yaml.dump(data, Dumper=_NoAliases, allow_unicode=True, sort_keys=False, width=120)
    path.write_text(header + text, encoding="utf-8")


# ---------------------------------------------------------------- the generator


class Synth:
    def __init__(self, out_dir: Path, sizing: Sizing, seed: int) -> None:
        self.out = out_dir
        self.size = sizing
        self.seed = seed
        self.rng = random.Random(seed)
        self.work = WorkCalendar()
        self.days = [SERVICE.start + timedelta(days=i) for i in range(SERVICE.days)]
        self.workdays = [d for d in self.days if self.work.is_workday(d)]
        self.facts = Facts()
        self.sinks: dict[str, Sink] = {}

    def sink(self, name: str) -> Sink:
        if name not in self.sinks:
            self.sinks[name] = Sink(self.out / "evidence" / f"{name}.jsonl")
        return self.sinks[name]

    @property
    def written(self) -> int:
        return sum(s.count for s in self.sinks.values())

    def run(self) -> int:
        evidence = self.out / "evidence"
        evidence.mkdir(parents=True, exist_ok=True)
        for stale in evidence.glob("*.jsonl"):
            stale.unlink()
        try:
            self.roster()
            self.clock_ins()
            self.deliverables()
            self.device_inspections()
            self.incidents()
            self.surveys()
            self.trainings()
            self.assessments()
            self.budget()
            self.assets()
            self.judgments()
            self.self_evaluation()
            self.terminal_inspections(self.size.events - self.written - 1)  # and one terminal asset count
        finally:
            for s in self.sinks.values():
                s.close()
        self.definition()
        return self.written

    # ------------------------------------------------------------ staff

    def _names(self, count: int) -> Iterator[str]:
        seen: set[str] = set()
        while len(seen) < count:
            name = self.rng.choice(SURNAMES) + "".join(self.rng.choice(GIVEN) for _ in range(self.rng.choice((1, 2))))
            if name not in seen:
                seen.add(name)
                yield name

    def roster(self) -> None:
        rng, n = self.rng, self.size.staff
        sink = self.sink("roster")
        for i, name in enumerate(self._names(n + 2)):
            if i >= n:  # off-site vendor support: on the roster, not on site
                sink.add(
                    f"ym-roster-{i + 1:04d}",
                    "roster_entry",
                    iso(day_seconds(SERVICE.start, 8 * 60 + 30)),
                    {"name": name, "role": "原厂技术支持", "education": "本科", "years": 10, "on_site": False},
                    "vendor-hr",
                )
                continue
            role = ROLES[0] if i == 0 else ROLES[1 + (i - 1) % (len(ROLES) - 1)]
            years = float(rng.randint(8, 15) if i == 0 else rng.randint(3, 12))
            start = SERVICE.start
            if n >= 4 and i == n - 1:
                start = date(YEAR, 4, 3)  # joined three months late: on-site coverage below 80 %
            if n >= 6 and i == n - 2:
                years = 1.0  # below the 2-year requirement
            education = "本科" if rng.random() < 0.7 else "大专"
            certs = tuple(sorted(rng.sample(("CCNP", "HCIP", "CISP", "RHCE", "ITIL", "PMP", "OCP"), rng.randint(0, 2))))
            staff = Staff(name, role, years, education, certs, start, role == "机房值守工程师")
            self.facts.staff.append(staff)
            payload: dict[str, Any] = {"name": name, "role": role, "education": education, "years": years}
            if certs:
                payload["certificates"] = list(certs)
            sink.add(
                f"ym-roster-{i + 1:04d}", "roster_entry", iso(day_seconds(start, 8 * 60 + 30)), payload, "vendor-hr"
            )

    def clock_ins(self) -> None:
        rng, sink = self.rng, self.sink("clock-ins")
        late = self.facts.late_by_day
        forced = next(d for d in self.workdays if d >= date(YEAR, 3, 6))
        seq = 0
        for day in self.days:
            workday = self.work.is_workday(day)
            base = day_seconds(day)
            for k, s in enumerate(self.facts.staff):
                if day < s.start or not (workday or s.around_the_clock) or rng.random() < 0.03:
                    continue
                if workday and (rng.random() < 0.025 or (k == 0 and day == forced)):
                    minute = rng.randint(576, 630)  # after 09:30 + 5 minutes' grace
                    late[day] = late.get(day, 0) + 1
                else:
                    minute = rng.randint(510, 570)
                seq += 1
                sink.add(
                    f"ym-ck-{seq:07d}",
                    "clock_in",
                    iso(base + minute * 60 + rng.randrange(60)),
                    {"staff": s.name, "site": SITE, "direction": "in"},
                    "attendance",
                )
                if self.size.clocks_per_day == 2:
                    seq += 1
                    out = rng.randint(18 * 60, 19 * 60 + 30)
                    sink.add(
                        f"ym-ck-{seq:07d}",
                        "clock_in",
                        iso(base + out * 60 + rng.randrange(60)),
                        {"staff": s.name, "site": SITE, "direction": "out"},
                        "attendance",
                    )

    # ------------------------------------------------------------ reports

    def deliverable_terms(self) -> list[dict[str, Any]]:
        terms: list[dict[str, Any]] = [
            {"id": "weekly_report", "name": "运维周报", "frequency": "weekly", "due": {"weekday": 1, "time": "18:00"}},
            {
                "id": "monthly_report",
                "name": "运维月报",
                "frequency": "monthly",
                "due": {"day_of_month": 5, "time": "18:00"},
            },
            {
                "id": "security_monthly",
                "name": "网络安全月报（漏扫、日志分析、安全通告）",
                "frequency": "monthly",
                "due": {"day_of_month": 10, "time": "18:00"},
            },
            {
                "id": "quarterly_service",
                "name": "季度服务报告",
                "frequency": "quarterly",
                "due": {"days": 15, "time": "18:00"},
                "quantity": len(MAINTAINED) + 4 if self.size.full else 1,
            },
        ]
        if self.size.full:
            terms.append(
                {
                    "id": "duty_log",
                    "name": "值班日记",
                    "frequency": "daily",
                    "due": {"kind": "same_day", "time": "23:59", "roll_to_workday": False},
                }
            )
        return terms

    def deliverables(self) -> None:
        rng, sink = self.rng, self.sink("deliverables")
        missing_week = date(YEAR, 10, 2)  # National Day golden week: no weekly report
        classes = [DEVICE[c].name for c in MAINTAINED] + [
            "机房基础设施",
            "网络安全",
            "终端及外设",
            "政务大厅信息化设备",
        ]
        for term in self.deliverable_terms():
            rule = DueRule.model_validate(term["due"])
            spans = periods(term["frequency"], "calendar", SERVICE, SERVICE, self.work)
            late_rate = {"weekly_report": 0.04, "duty_log": 0.01}.get(term["id"], 0.0)
            for index, span in enumerate(spans):
                if term["id"] == "weekly_report" and span.start == missing_week:
                    continue
                due = due_at(span, rule, self.work)
                late = (
                    rng.random() < late_rate
                    or (term["id"] == "weekly_report" and index == 24)
                    or (term["id"] == "monthly_report" and span.start.month == 6)
                )
                units = term.get("quantity", 1)
                for unit in range(units):
                    if late:
                        sent = due + timedelta(minutes=rng.randint(90, 3 * 24 * 60))
                    elif term["frequency"] == "daily":
                        sent = due - timedelta(minutes=rng.randint(20, 150))
                    else:
                        sent = due - timedelta(minutes=rng.randint(60, 3 * 24 * 60))
                        floor = datetime.combine(span.end, datetime.min.time(), due.tzinfo) + timedelta(hours=17)
                        sent = max(sent, floor)
                    title = {
                        "weekly_report": f"运维周报（{span.start}~{span.end}）",
                        "monthly_report": f"{span.start.month}月运维月报",
                        "security_monthly": f"{span.start.month}月网络安全月报",
                        "quarterly_service": f"{span.start.year}年第{(span.start.month + 2) // 3}季度"
                        f"{classes[unit] if units > 1 else ''}服务报告",
                        "duty_log": f"值班日记（{span.start}）",
                    }[term["id"]]
                    suffix = f"-{unit + 1}" if units > 1 else ""
                    sink.add(
                        f"ym-doc-{term['id']}-{span.start.isoformat()}{suffix}",
                        "deliverable_submitted",
                        iso_dt(sent),
                        {
                            "deliverable": term["id"],
                            "title": title,
                            "period_start": span.start.isoformat(),
                            "period_end": span.end.isoformat(),
                            "document_ref": f"OA-{term['id'].upper()}-{span.start:%Y%m%d}{suffix}",
                        },
                        "oa-docs",
                    )

    # ------------------------------------------------------------ inspections

    def device_inspections(self) -> None:
        plans = device_plans(self.size.full)
        self.facts.plans = plans
        spans = {p.id: periods(p.frequency, "calendar", SERVICE, SERVICE, self.work) for p in plans}  # type: ignore[arg-type]
        full_granularity = sum(p.items * len(spans[p.id]) for p in plans)
        share = self.size.device_budget / full_granularity
        sink = self.sink("inspections-devices")
        for plan in plans:
            k = min(plan.items, max(1, round(plan.items * share)))
            for span in spans[plan.id]:
                self._inspect(sink, plan, span, k, plan.items)

    def _inspect(self, sink: Sink, plan: InspectionSpec, span: DateRange, k: int, total: int) -> None:
        """`k` inspection events that together cover `total` items in one period of `plan`."""
        rng = self.rng
        base, extra = divmod(total, k)
        per_device = k >= total
        days = (
            [span.start]
            if span.days == 1
            else [d for d in (span.start + timedelta(days=i) for i in range(span.days)) if self.work.is_workday(d)]
            or [span.start]
        )
        for j in range(k):
            day = days[0] if len(days) == 1 else days[rng.randrange(len(days))]
            minute = plan.start_minute + plan.span_minutes * j / k + rng.random() * 5
            if plan.done_by is not None and rng.random() < 0.0005:
                h, m = (int(x) for x in plan.done_by.split(":"))
                minute = h * 60 + m + rng.randint(5, 60)  # done after the deadline
            done = day_seconds(day, minute)
            forced = j == 0 and span.start == FORCED_LATE_REGISTRATION and plan.id in ("core_daily", "room_daily")
            if rng.random() < 0.0005 or forced:
                recorded = day_seconds(day + timedelta(days=rng.randint(2, 3)), 9 * 60 + rng.randint(0, 60))
            else:
                recorded = done + rng.randint(5, 90) * 60
            scope = f"{plan.scope} #{j + 1:04d}" if per_device else f"{plan.scope}（第 {j + 1} 组）"
            payload: dict[str, Any] = {"plan": plan.id, "asset_class": plan.asset_class, "scope": scope}
            n = base + (1 if j < extra else 0)
            if n != 1:
                payload["items"] = n
            sink.add(
                f"ym-ins-{plan.id}-{span.start:%m%d}-{j + 1:04d}",
                "inspection_done",
                iso(done),
                payload,
                "itsm-inspection",
                iso(recorded),
            )

    def terminal_inspections(self, budget: int) -> None:
        """The terminals of the hall, inspected every working day: this stream takes the rest of the budget."""
        frequency = "workday" if budget >= len(self.workdays) else "weekly"
        spans = periods(frequency, "calendar", SERVICE, SERVICE, self.work)  # type: ignore[arg-type]
        budget = max(budget, len(spans))
        per_span, extra = divmod(budget, len(spans))
        terminals = max(BASE_TERMINALS, per_span)
        self.facts.terminals = terminals
        events = [per_span + (1 if i < extra else 0) for i in range(len(spans))]
        targets = [terminals] * len(spans)
        # About 1 % of days fall short (2–6 % of terminals not inspected); a short day's surplus events
        # become re-inspections the next day.
        short_days = sorted(self.rng.sample(range(len(spans)), max(1, len(spans) // 100)))
        for i in short_days:
            targets[i] = terminals - math.ceil(terminals * self.rng.uniform(0.02, 0.06))
            if events[i] > targets[i]:
                moved = events[i] - targets[i]
                events[i] -= moved
                nxt = (i + 1) % len(spans)
                while nxt in short_days:
                    nxt = (nxt + 1) % len(spans)
                events[nxt] += moved
        plan = InspectionSpec(
            "terminal_check",
            "终端及外设巡检",
            "terminal",
            "政务大厅终端",
            terminals,
            frequency,
            register_within_days=1,
            start_minute=7 * 60 + 30,
            span_minutes=9 * 60,
        )
        sink = self.sink("inspections-terminals")
        for span, k, target in zip(spans, events, targets, strict=True):
            self._inspect(sink, plan, span, k, max(k, target))
        self.facts.plans.append(plan)
        self.sink("assets").add(
            "ym-asset-terminal-1229",
            "asset_count",
            iso(day_seconds(date(YEAR, 12, 29), 16 * 60)),
            {"asset_class": "terminal", "count": terminals},
            "cmdb",
        )

    # ------------------------------------------------------------ faults

    def _took(self, limit: int, breach_rate: float, force: bool = False) -> int:
        """Seconds a fault took against a limit in minutes: mostly well within, sometimes 20–45 % over."""
        if force or self.rng.random() < breach_rate:
            return int(limit * self.rng.uniform(1.2, 1.45) * 60)
        return int(limit * self.rng.uniform(0.05, 0.8) * 60)

    def incidents(self) -> None:
        rng, sink, size = self.rng, self.sink("incidents"), self.size
        forced = size.tickets // 3
        cum = []
        acc = 0.0
        for sev in SEVERITIES:
            acc += sev.share
            cum.append((acc, sev))
        for t in range(size.tickets):
            r = rng.random()
            sev = next((s for c, s in cum if r < c), SEVERITIES[-1])
            system, title = rng.choice(FAULTS[sev.id])
            if sev.window == "5x8":
                day = rng.choice(self.workdays)
                opened = day_seconds(day, rng.randint(9 * 60, 11 * 60))
            else:
                day = self.days[rng.randrange(len(self.days))]
                opened = day_seconds(day, rng.randint(0, 24 * 60 - 1))
            self.facts.tickets_by_month[day.month - 1] += 1
            response = self._took(sev.response, BREACH_RATES["response"])
            on_site = self._took(sev.on_site, BREACH_RATES["on_site"]) if sev.on_site is not None else None
            resolve = self._took(sev.resolve, BREACH_RATES["resolve"], force=t == forced)
            resolve = max(resolve, response + 60, (on_site or 0) + 60)
            ticket = f"INC-{YEAR}-{t + 1:06d}"
            payload: dict[str, Any] = {
                "ticket": ticket,
                "severity": sev.id,
                "system": system,
                "title": title,
                "cause": rng.choice(("external", "external", "unknown", "internal")),
            }
            if size.staged_tickets:
                sink.add(f"ym-inc-{t + 1:06d}-a", "incident", iso(opened), dict(payload), "itsm", iso(opened + 60))
                if rng.random() < 0.3:
                    mid = dict(payload, responded_at=iso(opened + response))
                    if on_site is not None:
                        mid["on_site_at"] = iso(opened + on_site)
                    sink.add(
                        f"ym-inc-{t + 1:06d}-b",
                        "incident",
                        iso(opened),
                        mid,
                        "itsm",
                        iso(opened + max(response, on_site or 0) + 30),
                    )
            payload["responded_at"] = iso(opened + response)
            if on_site is not None:
                payload["on_site_at"] = iso(opened + on_site)
            payload["resolved_at"] = iso(opened + resolve)
            sink.add(
                f"ym-inc-{t + 1:06d}" + ("-z" if size.staged_tickets else ""),
                "incident",
                iso(opened),
                payload,
                "itsm",
                iso(opened + resolve + 300),
            )
        # 故障处理时限 deducts per breach: scaled so the expected breaches cost about a quarter of the weight.
        expected = size.tickets * sum(BREACH_RATES.values())
        self.facts.per_breach = max(0.001, min(1.0, round(4 * 0.25 / max(expected, 1.0), 3)))
        volumes = self.sink("ticket-volume")
        months = range(1, 13) if size.full else (3, 6, 9, 12)
        for m in months:
            start = date(YEAR, m if size.full else m - 2, 1)
            end = date(YEAR + (m == 12), m % 12 + 1, 1) - timedelta(days=1)
            faults = sum(self.facts.tickets_by_month[start.month - 1 : m])
            for code, category, count in (
                ("fault", "故障工单", faults),
                ("request", "服务请求", rng.randint(faults // 2, faults + 10)),
                ("consult", "咨询", rng.randint(5, 40 + faults // 4)),
            ):
                volumes.add(
                    f"ym-vol-{start:%m}-{code}",
                    "ticket_volume",
                    iso(day_seconds(end, 17 * 60 + 30)),
                    {
                        "period_start": start.isoformat(),
                        "period_end": end.isoformat(),
                        "category": category,
                        "count": count,
                    },
                    "itsm",
                )

    # ------------------------------------------------------------ surveys, training

    def surveys(self) -> None:
        rng, sink = self.rng, self.sink("surveys")
        seq = 0
        survey_days = [d for d in self.work.workdays(DateRange(start=date(YEAR + 1, 1, 8), end=date(YEAR + 1, 1, 19)))]
        for unit in TENANTS:
            for r in range(self.size.tenant_respondents):
                seq += 1
                aspects = {a: rng.random() > 0.02 for a in ASPECTS}
                satisfied = rng.random() > 0.03 and sum(aspects.values()) >= 4
                day = survey_days[rng.randrange(len(survey_days))]
                sink.add(
                    f"ym-sv-tenant-{seq:04d}",
                    "survey_response",
                    iso(day_seconds(day, rng.randint(540, 1050))),
                    {
                        "survey": "tenant-2023",
                        "group": "驻楼单位",
                        "respondent": f"{unit}（信息员{r + 1}）",
                        "satisfied": satisfied,
                        "aspects": aspects,
                    },
                    "survey-desk",
                )
        hall = self.size.hall_ratings
        days = self.workdays
        for i in range(hall):
            day = days[i * len(days) // hall]
            sink.add(
                f"ym-sv-hall-{i + 1:07d}",
                "survey_response",
                iso(day_seconds(day, rng.randint(570, 1050))),
                {"survey": "hall-2023", "group": "办事群众", "satisfied": rng.random() < 0.985},
                "hall-evaluator",
            )

    def trainings(self) -> None:
        rng, sink = self.rng, self.sink("training")
        topics = (
            "网络安全应急演练",
            "机房动环系统操作",
            "新版终端安全管控策略",
            "存储设备故障处置",
            "ITIL 服务流程",
            "云桌面运维规范",
            "防火墙策略优化",
            "UPS 与精密空调维保",
            "信创终端适配",
            "服务礼仪与沟通",
        )
        vendor_count = max(6, len(self.facts.staff) // 2)
        for m in range(1, 13):
            if m in (7, 8):  # no training in summer: the duty is monthly
                continue
            day = next(d for d in self.workdays if d >= date(YEAR, m, 15))
            sink.add(
                f"ym-train-{m:02d}",
                "training_held",
                iso(day_seconds(day, 15 * 60)),
                {
                    "topic": topics[m % len(topics)],
                    "scope": "internal",
                    "courseware": True,
                    "attendees": [
                        {"organisation": VENDOR, "count": vendor_count},
                        {"organisation": "驻楼单位信息员", "count": rng.randint(3, 12)},
                    ],
                },
                "training-log",
            )

    # ------------------------------------------------------------ assessments, acceptance

    def assessment_items(self) -> list[tuple[str, int]]:
        if self.size.full:
            return [
                ("日常巡检", 20),
                ("故障处理", 25),
                ("人员考勤", 15),
                ("文档报告", 15),
                ("安全服务", 15),
                ("服务态度", 10),
            ]
        return [("日常巡检", 30), ("故障处理", 30), ("人员考勤", 20), ("文档报告", 20)]

    def assessments(self) -> None:
        rng, sink = self.rng, self.sink("assessments")
        freq = "monthly" if self.size.monthly_assessment else "quarterly"
        spans = periods(freq, "calendar", SERVICE, SERVICE, self.work)  # type: ignore[arg-type]
        items = self.assessment_items()
        late = self.facts.late_by_day
        staff = max(1, len(self.facts.staff))
        late_in = [sum(n for d, n in late.items() if s.contains(d)) for s in spans]
        lenient = next((i for i, n in enumerate(late_in) if n > 0), None)
        divergent_item = "服务态度" if self.size.full else "文档报告"
        acceptance = self.sink("acceptance")
        for p, span in enumerate(spans):
            day = self.work.next_workday(span.end + timedelta(days=3))
            totals = [0.0] * len(RATERS)
            for code, (item, maximum) in enumerate(items, start=1):
                for r, rater in enumerate(RATERS):
                    if item == "人员考勤":
                        deduct = (
                            0.0
                            if late_in[p] == 0 or (p == lenient and r == 1)
                            else float(min(4, 1 + late_in[p] // max(2, staff)))
                        )
                    elif item == divergent_item and p == len(spans) // 2:
                        deduct = (0.0, 1.0, maximum * 0.4)[r]
                    elif item == "故障处理" and p == 1 and r == 2:
                        deduct = 1.5  # the rule allows 0, 1, 2, 3 or 5
                    else:
                        deduct = rng.choice((0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 2.0))
                        if maximum <= 10:
                            deduct /= 2
                    score = maximum - deduct
                    totals[r] += score
                    sink.add(
                        f"ym-assess-{span.start:%m}-{code}-{r + 1}",
                        "vendor_assessment",
                        iso(day_seconds(day, 10 * 60 + r * 15)),
                        {
                            "period_start": span.start.isoformat(),
                            "period_end": span.end.isoformat(),
                            "rater": rater,
                            "item": item,
                            "score": score,
                            "max_score": maximum,
                        },
                        "assessment",
                    )
            self.facts.assessment_totals[span.start] = totals
            if freq == "quarterly" or span.end.month % 3 == 0:
                quarter = DateRange(start=date(YEAR, (span.end.month - 1) // 3 * 3 + 1, 1), end=span.end)
                scores = [t for s, ts in self.facts.assessment_totals.items() if quarter.contains(s) for t in ts]
                average = round(sum(scores) / len(scores), 2)
                acceptance.add(
                    f"ym-accept-q{(span.end.month + 2) // 3}",
                    "acceptance_result",
                    iso(day_seconds(day, 16 * 60)),
                    {
                        "period_start": quarter.start.isoformat(),
                        "period_end": quarter.end.isoformat(),
                        "score": average,
                        "passed": average >= 90,
                    },
                    "acceptance",
                )

    # ------------------------------------------------------------ money, assets, judgments

    def budget(self) -> None:
        sink = self.sink("budget")

        def fig(eid: str, day: date, item: str, amount: float, note: str = "") -> None:
            payload: dict[str, Any] = {"item": item, "amount": amount, "fiscal_year": YEAR}
            if note:
                payload["note"] = note
            sink.add(f"ym-budget-{eid}", "budget_figure", iso(day_seconds(day, 17 * 60)), payload, "finance")

        fig("approved", date(YEAR, 1, 10), "approved", 2180, "乌财建〔2023〕8 号（合成）")
        fig("contract", date(YEAR, 2, 20), "contract_price", 2100, "中标金额")
        fig("adjust", date(YEAR, 7, 14), "adjustment", -80, "按中标金额调减")
        for q in range(4):
            fig(f"arrived-q{q + 1}", date(YEAR, 3 * q + 3, 20), "arrived", 500, f"第 {q + 1} 批资金到位")
        if self.size.full:
            for m in range(12):
                fig(
                    f"spent-{m + 1:02d}",
                    date(YEAR, m + 1, 25),
                    "spent",
                    165.1 if m == 11 else 165.5,
                    f"{m + 1} 月服务费",
                )
        else:
            for q in range(4):
                fig(f"spent-q{q + 1}", date(YEAR, 3 * q + 3, 25), "spent", 496.4, f"第 {q + 1} 季度服务费")
        rates = self.sink("budget-basis")
        for i, (module, rate, months) in enumerate(
            (("日常运维服务", 1.85, 672), ("网络安全服务", 2.35, 124), ("设备维保服务", 1.6, 205))
        ):
            rates.add(
                f"ym-rate-{i + 1}",
                "unit_rate",
                iso(day_seconds(date(YEAR - 1, 11, 20), 10 * 60)),
                {"module": module, "rate": rate, "person_months": months},
                "budget-doc",
            )
        for i, (desc, op, factors, stated) in enumerate(
            (
                ("设备维保服务费用测算（台次 × 单价）", "product", [73, 4.5], 328.5),
                ("网络安全服务费用测算（月数 × 月费用）", "product", [12, 24.5], 293),
                ("项目预算合计", "sum", [1243.5, 328.5, 293, 220, 95], 2180),
            )
        ):
            rates.add(
                f"ym-calc-{i + 1}",
                "budget_calculation",
                iso(day_seconds(date(YEAR - 1, 11, 20), 11 * 60)),
                {"description": desc, "operation": op, "factors": factors, "stated_result": stated},
                "budget-doc",
            )

    def asset_classes(self) -> list[tuple[str, str, int]]:
        return [(d.asset_class, d.name, d.count) for d in DEVICES if d.asset_class != "weak_well"] + [
            ("terminal", "终端及外设", self.facts.terminals)
        ]

    def assets(self) -> None:
        sink = self.sink("assets")
        checks = (
            (date(YEAR, 3, 31), date(YEAR, 6, 30), date(YEAR, 9, 28), date(YEAR, 12, 29))
            if self.size.full
            else (date(YEAR, 6, 30), date(YEAR, 12, 29))
        )
        for i, day in enumerate(checks):
            last = i == len(checks) - 1
            for cls, _, count in self.asset_classes():
                if cls == "terminal":
                    continue  # counted once the terminal stream is sized (terminal_inspections)
                n = count - 1 if (cls == "storage" and last) else count  # one storage array retired in December
                sink.add(
                    f"ym-asset-{cls}-{day:%m%d}",
                    "asset_count",
                    iso(day_seconds(day, 16 * 60)),
                    {"asset_class": cls, "count": n},
                    "cmdb",
                )

    def judgments(self) -> None:
        sink = self.sink("judgments")
        rows = [
            (
                "lixiang_basis",
                "policy",
                1.5,
                "项目立项符合国家法律法规及《政府购买服务管理办法》，与市级信息化发展规划相符",
            ),
            ("lixiang_basis", "duty", 1.5, "与部门“三定”职能及益民大厦信息系统统一运维职责相符"),
            ("lixiang_basis", "public", 1, "属于公共财政支持范围，未与其他部门同类项目重复"),
            ("lixiang_procedure", "procedure", 2, "按规定程序申请设立，经政府集中采购确定服务商"),
            ("lixiang_procedure", "review", 2, "组织专家对预算进行了论证，有论证记录"),
            ("goal_rational", None, 3, "绩效目标与年度运维任务相符，依据充分"),
            ("goal_clear", "decomposed", 1, "已将总体目标分解为产出、效益、满意度指标"),
            ("goal_clear", "measurable", 1, "指标可通过数量、质量、时效、成本指标予以量化"),
            ("goal_clear", "matches_budget", 1, "指标与预算资金量相匹配"),
            ("budget_science", "argued", 1, "预算经专家论证"),
            ("budget_science", "content", 1, "预算内容与运维服务内容匹配"),
            ("budget_science", "basis", 1, "预算额度测算依据充分"),
            ("fund_allocation", None, 3, "按日常运维、设备维保、网络安全、工具升级、备件五部分分配，额度合理"),
            ("fund_compliance", "rules", 1.5, "资金使用符合财经法规和单位财务管理制度"),
            ("fund_compliance", "approval", 1.5, "资金拨付有完整审批程序"),
            ("fund_compliance", "purpose", 0.8, "符合预算批复用途；但网络安全服务费测算存在计算差错，扣 0.2 分"),
            ("mgmt_system", None, 2, "已制定预算、支出、合同及运维管理制度"),
            ("safe_operation", "no_major", 3, "全年无重大安全事故、无安全事件通报"),
            (
                "safe_operation",
                "monitoring",
                2.8,
                "动环、态势感知与运维监测平台 7×24 运行；个别告警处置记录不完整，扣 0.2 分",
            ),
            ("energy", None, 3.9, "在减少基建、能源消耗方面仍有提升空间，酌情扣 0.1 分"),
        ]
        judged: dict[tuple[str, str | None], str] = {}
        for i, (indicator, point, awarded, reason) in enumerate(rows):
            judged[(indicator, point)] = f"ym-judge-{i + 1:02d}"
            payload: dict[str, Any] = {
                "indicator": indicator,
                "awarded": awarded,
                "reason": reason,
                "evaluator": "评价工作组",
            }
            if point:
                payload["point"] = point
            sink.add(
                f"ym-judge-{i + 1:02d}",
                "judgment",
                iso(day_seconds(date(YEAR + 1, 3, 12), 10 * 60 + i)),
                payload,
                "evaluation-team",
            )
        # A re-judgment on review (改判): it names the judgment it supersedes, and why.
        sink.add(
            "ym-judge-goal_clear-measurable-r2",
            "judgment",
            iso(day_seconds(date(YEAR + 1, 3, 20), 15 * 60)),
            {
                "indicator": "goal_clear",
                "point": "measurable",
                "awarded": 0.5,
                "reason": "复核：部分效益指标（如“持续保障”“不断减少”）未量化，扣 0.5 分",
                "evaluator": "评价工作组",
            },
            "evaluation-team",
            corrects={
                "event": judged[("goal_clear", "measurable")],
                "reason": "复核发现部分效益指标未量化",
                "by": "评价工作组",
            },
        )

    def self_evaluation(self) -> None:
        sink = self.sink("self-evaluation")
        rows = (
            ("报告按时提交率", "100%", "100%", "1", 4, 4, "deliverables.on_time_rate"),
            ("被服务单位满意度", "≥95%", "100%", None, 5, 5, None),
            ("项目预算控制率", "100%", "100%", None, 4, 4, None),
        )
        for i, (name, target, actual, claimed, weight, score, metric) in enumerate(rows):
            payload: dict[str, Any] = {
                "indicator": name,
                "target": target,
                "actual": actual,
                "weight": weight,
                "score": score,
            }
            if claimed is not None:
                payload["claimed_rate"] = claimed
            if metric is not None:
                payload["metric"] = metric
            sink.add(
                f"ym-self-{i + 1}",
                "self_evaluation_row",
                iso(day_seconds(date(YEAR + 1, 2, 28), 10 * 60)),
                payload,
                "self-evaluation",
            )

    # ------------------------------------------------------------ definitions

    def definition(self) -> None:
        """project.yaml, contracts.yaml, indicators.yaml, validated before they are written."""
        project = self.project_doc()
        contracts = self.contracts_doc()
        indicators = self.indicators_doc()
        ProjectDefinition.model_validate(
            {"project": project, "contracts": contracts, "indicators": indicators, "measures": standard_measures()}
        )
        note = f"# Synthetic bundle written by `opseval synth` (seed {self.seed}, {self.written} events).\n"
        _yaml(self.out / "project.yaml", note, project)
        _yaml(self.out / "contracts.yaml", note, contracts)
        _yaml(self.out / "indicators.yaml", note, indicators)

    def project_doc(self) -> dict[str, Any]:
        return {
            "id": PROJECT,
            "name": f"{YEAR}年度益民大厦信息系统运维项目（合成数据）",
            "agency": "益民大厦运维管理单位（合成）",
            "department": "市工业和信息化局（市大数据发展局）",
            "evaluation": {
                "period": {"start": SERVICE.start, "end": SERVICE.end},
                "as_of": AS_OF,
                "evaluator": "第三方评价工作组（合成）",
            },
            "background": (
                "益民大厦信息系统统一运维："
                + "、".join(f"{d.name} {d.count}" for d in DEVICES)
                + f"，政务大厅终端及外设约 {self.facts.terminals} 台；驻场人员 {len(self.facts.staff)} 名。"
                "本项目数据由 opseval synth 生成，仅用于测试与性能基准。"
            ),
            "goals": [
                "保障益民大厦信息系统 7×24 安全稳定运行",
                "运维服务质量考核评定打分 ≥90 分",
                "被服务单位满意度 95% 以上",
            ],
        }

    def contracts_doc(self) -> dict[str, Any]:
        staff = self.facts.staff
        plans = []
        for p in self.facts.plans:
            plan: dict[str, Any] = {"id": p.id, "name": p.name, "frequency": p.frequency, "times_per_period": p.items}
            if p.id == "terminal_check":
                plan["times_per_period"] = self.facts.terminals
            for key in ("done_by", "register_by", "register_within_days"):
                value = getattr(p, key)
                if value is not None:
                    plan[key] = value
            plans.append(plan)
        required = [*sorted({s.role for s in staff}, key=ROLES.index)[:6], ABSENT_ROLE]
        avg_years = sum(s.years for s in staff) / len(staff)
        contract: dict[str, Any] = {
            "id": "ops",
            "name": "益民大厦信息系统运维服务",
            "vendor": VENDOR,
            "service_period": {"start": SERVICE.start, "end": SERVICE.end},
            "price": 2100,
            "staffing": {
                "committed": [
                    {
                        "name": s.name,
                        "role": s.role,
                        "education": s.education,
                        "years": s.years,
                        **({"certificates": list(s.certificates)} if s.certificates else {}),
                    }
                    for s in staff
                ],
                "required_roles": required,
                "min_on_site": len(staff),
                "site": SITE,
                "min_education": "大专",
                "role_requirements": [{"role": "项目经理", "min_years": 5}, {"role": "网络工程师", "min_years": 3}],
                "default_min_years": 2,
                "promised_avg_years": round(avg_years, 1),
                "min_coverage": 0.8,
                "shift_start": "09:30",
                "grace_minutes": 5,
            },
            "deliverables": self.deliverable_terms(),
            "inspections": plans,
            "training": {
                "frequency": "monthly",
                "times_per_period": 1,
                "scope": "internal",
                "min_attendees": 5,
                "description": "每月至少开展 1 次内部技术培训，参训不少于 5 人",
            },
            "surveys": [
                {
                    "survey": "tenant-2023",
                    "frequency": "yearly",
                    "anchor": "service",
                    "description": "服务期满后向各驻楼单位开展满意度调查",
                }
            ],
            "slas": [
                {
                    "severity": s.id,
                    "label": s.label,
                    "response_minutes": s.response,
                    **({"on_site_minutes": s.on_site} if s.on_site is not None else {}),
                    "resolve_minutes": s.resolve,
                    "window": s.window,
                }
                for s in SEVERITIES
            ],
            "service_windows": [
                {"name": "7x24", "scope": "机房、网络、安全、服务器、存储"},
                {"name": "5x8", "scope": "政务大厅终端及外设"},
            ],
            "assets": [{"asset_class": cls, "name": name, "count": count} for cls, name, count in self.asset_classes()],
            "payment_rules": [
                {"min_score": 90, "pay_fraction": 1},
                {"min_score": 80, "pay_fraction": 0.9},
                {"min_score": 0, "pay_fraction": 0},
            ],
            "assessment_items": [
                {
                    "item": item,
                    "max_score": maximum,
                    **({"allowed_deductions": [0, 1, 2, 3, 5]} if item == "故障处理" else {}),
                    **({"attendance": True} if item == "人员考勤" else {}),
                }
                for item, maximum in self.assessment_items()
            ],
        }
        return {
            "contracts": [contract],
            "reporting": {
                "unit_rate_ceiling": 2.2,
                "unit_rate_standard": "信息技术服务人月费率参考标准（合成）",
                "min_execution_rate": 1,
            },
        }

    def indicators_doc(self) -> dict[str, Any]:
        def leaf(id_: str, name: str, weight: float, method: dict[str, Any], **extra: Any) -> dict[str, Any]:
            return {"id": id_, "name": name, "weight": weight, "method": method, **extra}

        def ratio(metric: dict[str, Any], **extra: Any) -> dict[str, Any]:
            return {"type": "ratio", "metric": metric, **extra}

        def checklist(*points: tuple[str, str, float]) -> dict[str, Any]:
            return {"type": "checklist", "points": [{"id": i, "text": t, "max": m} for i, t, m in points]}

        def node(id_: str, name: str, weight: float, *children: dict[str, Any]) -> dict[str, Any]:
            return {"id": id_, "name": name, "weight": weight, "children": list(children)}

        bands = [
            {"min": 0.95, "fraction": 1},
            {"min": 0.9, "fraction": 0.9},
            {"min": 0.8, "fraction": 0.7},
            {"min": 0.6, "fraction": 0.4},
        ]
        judgment = {"type": "judgment"}
        all_classes = [cls for cls, _, _ in self.asset_classes()]
        return {
            "id": f"{PROJECT}-department",
            "name": f"{YEAR}年度益民大厦信息系统运维项目支出绩效评价指标体系",
            "form": "department",
            "indicators": [
                node(
                    "decision",
                    "决策",
                    20,
                    node(
                        "lixiang",
                        "项目立项",
                        8,
                        leaf(
                            "lixiang_basis",
                            "立项依据充分性",
                            4,
                            checklist(
                                ("policy", "符合法律法规、相关政策及发展规划", 1.5),
                                ("duty", "与部门职责范围相符", 1.5),
                                ("public", "属于公共财政支持范围、不重复", 1),
                            ),
                        ),
                        leaf(
                            "lixiang_procedure",
                            "立项程序规范性",
                            4,
                            checklist(
                                ("procedure", "按规定程序申请设立", 2), ("review", "经过必要的论证和风险评估", 2)
                            ),
                        ),
                    ),
                    node(
                        "goals",
                        "绩效目标",
                        6,
                        leaf("goal_rational", "绩效目标合理性", 3, judgment),
                        leaf(
                            "goal_clear",
                            "绩效指标明确性",
                            3,
                            checklist(
                                ("decomposed", "将绩效目标细化分解为具体指标", 1),
                                ("measurable", "指标清晰、可衡量", 1),
                                ("matches_budget", "与预算确定的任务数相对应", 1),
                            ),
                        ),
                    ),
                    node(
                        "funding",
                        "资金投入",
                        6,
                        leaf(
                            "budget_science",
                            "预算编制科学性",
                            3,
                            checklist(
                                ("argued", "预算编制经过科学论证", 1),
                                ("content", "预算内容与项目内容匹配", 1),
                                ("basis", "预算额度测算依据充分", 1),
                            ),
                        ),
                        leaf("fund_allocation", "资金分配合理性", 3, judgment),
                    ),
                ),
                node(
                    "process",
                    "过程",
                    20,
                    node(
                        "fund_mgmt",
                        "资金管理",
                        10,
                        leaf(
                            "arrival_rate",
                            "资金到位率",
                            3,
                            ratio({"name": "budget.arrival_rate"}),
                            target="100%",
                            precision=2,
                            rules=["budget.arrival_rate_low"],
                        ),
                        leaf(
                            "exec_rate",
                            "预算执行率",
                            3,
                            ratio({"name": "budget.spent_of_arrived_rate"}),
                            target="100%",
                            precision=2,
                            rules=["budget.execution_rate_low", "budget.adjustment_rate_high"],
                        ),
                        leaf(
                            "fund_compliance",
                            "资金使用合规性",
                            4,
                            checklist(
                                ("rules", "符合财经法规和财务管理制度", 1.5),
                                ("approval", "资金拨付有完整的审批程序和手续", 1.5),
                                ("purpose", "符合预算批复规定的用途，测算无差错", 1),
                            ),
                            rules=["budget.unit_rate_above_ceiling", "budget.calculation_slip"],
                        ),
                    ),
                    node(
                        "org",
                        "组织实施",
                        10,
                        leaf("mgmt_system", "管理制度健全性", 2, judgment),
                        leaf(
                            "staffing",
                            "驻场人员管理",
                            4,
                            ratio({"name": "staffing.compliance"}),
                            precision=2,
                            rules=["staff.*"],
                        ),
                        leaf(
                            "assessment",
                            "过程考核得分率",
                            4,
                            ratio({"name": "assessment.score_rate"}),
                            precision=2,
                            rules=["assessment.*", "score.contradicts_attendance", "evidence.unsupported_deduction"],
                        ),
                    ),
                ),
                node(
                    "output",
                    "产出",
                    40,
                    node(
                        "quantity",
                        "产出数量",
                        16,
                        leaf(
                            "asset_coverage",
                            "设备运维覆盖率",
                            6,
                            ratio({"name": "assets.coverage", "asset_classes": all_classes}),
                            target="100%",
                            precision=2,
                        ),
                        leaf(
                            "inspection_completion",
                            "巡检计划完成率",
                            6,
                            ratio({"name": "inspections.completion"}),
                            target="100%",
                            precision=2,
                            rules=["inspection.below_plan"],
                        ),
                        leaf(
                            "obligations",
                            "合同服务事项完成率",
                            4,
                            ratio({"name": "obligations.completion"}),
                            target="100%",
                            precision=2,
                            rules=[
                                "deliverable.count_below_due",
                                "training.below_duty",
                                "evidence.obligation_unproven",
                            ],
                        ),
                    ),
                    node(
                        "quality",
                        "产出质量",
                        8,
                        leaf(
                            "acceptance",
                            "项目验收质量",
                            4,
                            {
                                "type": "threshold",
                                "metric": {"name": "acceptance.average_score"},
                                "op": ">=",
                                "target": 90,
                                "else_fraction": 0.5,
                            },
                            target="≥90 分",
                        ),
                        leaf(
                            "inspection_on_time",
                            "巡检按时完成及登记率",
                            4,
                            ratio({"name": "inspections.on_time_rate"}),
                            target="100%",
                            precision=2,
                            rules=["inspection.late"],
                        ),
                    ),
                    node(
                        "timeliness",
                        "产出时效",
                        12,
                        leaf(
                            "report_on_time",
                            "报告按时提交率",
                            4,
                            ratio({"name": "deliverables.on_time_rate"}),
                            target="100%",
                            precision=2,
                            rules=["deliverable.*", "score.contradicts_evidence"],
                        ),
                        leaf(
                            "fault_response",
                            "故障响应及时率",
                            4,
                            ratio({"name": "incidents.response_rate"}),
                            target="100%",
                            precision=2,
                        ),
                        leaf(
                            "fault_sla",
                            "故障处理时限",
                            4,
                            {
                                "type": "sla",
                                "metric": {"name": "incidents.sla_breaches"},
                                "per_breach": self.facts.per_breach,
                            },
                            target="按故障级别在时限内响应、到场、修复",
                            rules=["fault.*"],
                        ),
                    ),
                    node(
                        "cost",
                        "产出成本",
                        4,
                        leaf(
                            "cost_control",
                            "项目预算控制率",
                            4,
                            {
                                "type": "threshold",
                                "metric": {"name": "budget.cost_control_rate"},
                                "op": ">=",
                                "target": 1,
                            },
                            target="100%",
                        ),
                    ),
                ),
                node(
                    "benefit",
                    "效益",
                    20,
                    node(
                        "social",
                        "社会及经济效益",
                        10,
                        leaf(
                            "safe_operation",
                            "确保信息系统安全稳定运行",
                            6,
                            checklist(
                                ("no_major", "全年无重大安全事故", 3), ("monitoring", "7×24 小时监测预警有效运行", 3)
                            ),
                        ),
                        leaf("energy", "减少基建、能源消耗", 4, judgment),
                    ),
                    node(
                        "satisfaction",
                        "满意度",
                        10,
                        leaf(
                            "tenant_satisfaction",
                            "被服务单位满意度",
                            5,
                            {
                                "type": "rate",
                                "metric": {"name": "survey.satisfaction", "survey": "tenant-2023"},
                                "bands": bands,
                            },
                            target="≥95%",
                            rules=["survey.*"],
                        ),
                        leaf(
                            "public_satisfaction",
                            "办事群众满意度",
                            5,
                            {
                                "type": "rate",
                                "metric": {"name": "survey.satisfaction", "survey": "hall-2023"},
                                "bands": bands,
                            },
                            target="≥95%",
                        ),
                    ),
                ),
            ],
        }


def write_bundle(out_dir: Path, events: int, seed: int = 7) -> int:
    """Write a synthetic bundle of about `events` events (exactly, from 1,000 up) to `out_dir`.

    Returns the number of events written. Below 1,000 the smallest sensible year is written
    (about 1,000 events). Any `*.jsonl` already in `out_dir/evidence/` is replaced.
    """
    return Synth(Path(out_dir), Sizing.for_events(events), seed).run()
