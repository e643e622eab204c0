"""The contract profile: what each contract of a project promised (合同、投标文件、招标文件)."""

from __future__ import annotations

from datetime import date
from datetime import time as TimeOfDay
from typing import Annotated, Literal

from pydantic import Field, model_validator

from .base import DateRange, Frozen, NonNegNum, Num
from .evidence import Line, Slug, Text
from .values import fmt

Frequency = Literal["daily", "workday", "weekly", "monthly", "quarterly", "half_year", "yearly", "once"]
EVERY = {
    "daily": "每日",
    "workday": "每个工作日",
    "weekly": "每周",
    "monthly": "每月",
    "quarterly": "每季度",
    "half_year": "每半年",
    "yearly": "每年",
}


class TermSource(Frozen):
    """Where a term is written, so a finding can cite it: the document, the clause, its wording."""

    document: Text = Field(description="合同 / 投标文件 / 招标文件 / 考核指标 / 绩效目标表 / 工作计划 …")
    clause: Text | None = Field(default=None, description="第5.2条, 商务部分 9.2 节 …; None where none is named")
    text: Line | None = Field(default=None, description="the wording as the document has it; None: the term's own")


class StaffingSources(Frozen):
    """Where each staffing promise is written."""

    committed: TermSource | None = Field(default=None, description="the bid's staff list: names, roles, years")
    required_roles: TermSource | None = Field(default=None, description="the roles the tender requires")
    on_site: TermSource | None = Field(default=None, description="the on-site duty: how many, for how long")
    qualifications: TermSource | None = Field(default=None, description="minimum years and education")


class CommittedStaff(Frozen):
    """A person the bid promised (投标文件拟投入人员)."""

    name: Text
    role: Text
    education: str | None = None
    years: NonNegNum | None = None
    certificates: tuple[str, ...] = ()


class RoleRequirement(Frozen):
    role: Text
    min_years: NonNegNum = Num(0)
    education: str | None = None


class WorkingHours(Frozen):
    """The working day on site (作息时间): arrival after `start` is late, leaving before `end` early."""

    start: TimeOfDay
    end: TimeOfDay

    @model_validator(mode="after")
    def _ordered(self) -> WorkingHours:
        if self.end <= self.start:
            raise ValueError(f"end {self.end} is not after start {self.start}")
        return self


class StaffingTerms(Frozen):
    committed: tuple[CommittedStaff, ...] = ()
    required_roles: tuple[str, ...] = Field(default=(), description="roles the tender requires (实质响应条款)")
    min_on_site: Annotated[int, Field(ge=0)] = 0
    site: str | None = Field(default=None, description="the on-site location clock-ins must come from")
    min_education: str | None = None
    role_requirements: tuple[RoleRequirement, ...] = ()
    role_aliases: dict[str, str] = Field(default_factory=dict, description="roster role name -> bid role name")
    default_min_years: NonNegNum = Num(0)
    promised_avg_years: NonNegNum | None = None
    min_avg_years_ratio: NonNegNum = Field(
        default=Num("0.8"), description="actual/promised average below this is a finding"
    )
    min_coverage: NonNegNum = Field(
        default=Num("0.8"), description="share of service workdays a staff member must clock in"
    )
    shift_start: TimeOfDay | None = Field(
        default=None, description="clock-ins after this on a workday are late (the start of working_hours)"
    )
    grace_minutes: Annotated[int, Field(ge=0)] = Field(default=0, description="arrival tolerance (迟到)")
    working_hours: WorkingHours | None = Field(default=None, description="start and end of the working day")
    early_leave_grace_minutes: Annotated[int, Field(ge=0)] = Field(default=0, description="leave tolerance (早退)")
    sources: StaffingSources = StaffingSources()

    @model_validator(mode="after")
    def _one_start(self) -> StaffingTerms:
        hours = self.working_hours
        if self.shift_start is not None and hours is not None and self.shift_start != hours.start:
            raise ValueError(
                f"shift_start {self.shift_start} contradicts working_hours.start {hours.start}:"
                " give the start once (working_hours)"
            )
        return self

    # Derived terms a rule can name (`terms.staffing.committed_count` …): the promises as the field words them.
    @property
    def committed_count(self) -> int:
        """How many people the bid promised."""
        return len(self.committed)

    @property
    def committed_list(self) -> str:
        """The bid's staff list: 黄志明（项目经理）、陈嘉怡（需求分析工程师）…"""
        return "、".join(f"{p.name}（{p.role}）" for p in self.committed)

    @property
    def committed_roles(self) -> str:
        """The bid's roles with their headcount: 项目经理 1 名、需求分析工程师 2 名 …"""
        roles: dict[str, int] = {}
        for person in self.committed:
            roles[person.role] = roles.get(person.role, 0) + 1
        return "、".join(f"{role} {n} 名" for role, n in roles.items())

    @property
    def qualification_minimums(self) -> str:
        """The minimum years and education: 产品经理工作年限不少于 5 年，其他人员工作年限不少于 2 年 …"""
        minimums = [f"{r.role}工作年限不少于 {fmt(r.min_years)} 年" for r in self.role_requirements if r.min_years]
        if self.default_min_years:
            who = "其他人员" if minimums else "驻场人员"
            minimums.append(f"{who}工作年限不少于 {fmt(self.default_min_years)} 年")
        if self.min_education:
            minimums.append(f"学历不低于{self.min_education}")
        return "，".join(minimums)

    @property
    def required_role_list(self) -> str:
        """The roles the tender requires: 项目经理、技术支持专家 …"""
        return "、".join(self.required_roles)

    @property
    def day_start(self) -> TimeOfDay | None:
        return self.working_hours.start if self.working_hours is not None else self.shift_start

    @property
    def day_end(self) -> TimeOfDay | None:
        return self.working_hours.end if self.working_hours is not None else None


class DueRule(Frozen):
    """When the deliverable of one period is due.

    `after_period` — the due moment counts from the period's end: `days` calendar days later, or
    the `working_days`-th working day after it (每月第 5 个工作日: 5), or on `weekday` (1 = Monday)
    of the following week, or on `day_of_month` of the following month — at `time`; none of them:
    the period's last day. At most one of the four. `same_day` — on the period's own day at `time`
    (daily reports).
    """

    kind: Literal["after_period", "same_day"] = "after_period"
    days: Annotated[int, Field(ge=0)] | None = None
    working_days: Annotated[int, Field(ge=1, le=250)] | None = Field(
        default=None, description="the Nth working day after the period (China's calendar, 调休 included)"
    )
    weekday: Annotated[int, Field(ge=1, le=7)] | None = None
    day_of_month: Annotated[int, Field(ge=1, le=31)] | None = None
    time: TimeOfDay = TimeOfDay(23, 59, 59)
    roll_to_workday: bool = Field(default=True, description="a due day off work moves to the next workday")

    @model_validator(mode="after")
    def _one_form(self) -> DueRule:
        given = [f for f in ("days", "working_days", "weekday", "day_of_month") if getattr(self, f) is not None]
        if self.kind == "same_day" and given:
            raise ValueError(f"kind same_day is due on the period's own day: {', '.join(given)} cannot be given")
        if len(given) > 1:
            raise ValueError(f"give one of days, working_days, weekday, day_of_month (got {', '.join(given)})")
        return self


class ScheduledItem(Frozen):
    period: DateRange
    due: date
    due_time: TimeOfDay = TimeOfDay(23, 59, 59)


class DeliverableTerm(Frozen):
    """A deliverable the contract demands (交付物): reports, plans, lists …"""

    id: Slug
    name: Text
    frequency: Frequency
    anchor: Literal["calendar", "service"] = Field(
        default="calendar", description="calendar months/quarters, or periods counted from the service start"
    )
    due: DueRule = DueRule()
    schedule: tuple[ScheduledItem, ...] = Field(default=(), description="explicit periods; overrides frequency")
    quantity: Annotated[int, Field(ge=1)] = Field(default=1, description="units required per period")
    obligation: bool = Field(default=True, description="counts toward the contract's output completion rate")
    source: TermSource | None = None


class InspectionPlan(Frozen):
    """A periodic inspection duty (巡检计划)."""

    id: Slug
    name: Text
    frequency: Literal["daily", "workday", "weekly", "monthly", "quarterly"]
    times_per_period: Annotated[int, Field(ge=1)] = 1
    done_by: TimeOfDay | None = Field(default=None, description="inspection must be done by this time of its day")
    register_by: TimeOfDay | None = Field(default=None, description="…and registered (登记) by this time")
    register_within_days: Annotated[int, Field(ge=0)] | None = Field(
        default=None, description="…or registered within this many days"
    )
    anchor: Literal["calendar", "service"] = "calendar"
    obligation: bool = True
    source: TermSource | None = None


class TrainingDuty(Frozen):
    frequency: Literal["weekly", "monthly", "quarterly", "half_year", "yearly"]
    times_per_period: Annotated[int, Field(ge=1)] = 1
    scope: Literal["city", "district", "town", "internal", "other"] = "other"
    min_units_covered: Annotated[int, Field(ge=0)] = 0
    min_attendees: Annotated[int, Field(ge=0)] = 0
    description: str = ""
    source: TermSource | None = None

    @property
    def stated_duty(self) -> str:
        """The duty in the contract's words, or its own terms: 每月开展 1 次培训."""
        return self.description or f"{EVERY[self.frequency]}开展 {self.times_per_period} 次培训"

    @property
    def required_text(self) -> str:
        """The duty as a finding states what is required: its wording, or 按合同开展培训."""
        return self.description or "按合同开展培训"


class SurveyDuty(Frozen):
    survey: Slug | None = Field(default=None, description="restrict to one survey id")
    frequency: Literal["monthly", "quarterly", "half_year", "yearly", "once"] = "yearly"
    anchor: Literal["calendar", "service"] = "service"
    required_levels: tuple[str, ...] = ()
    min_responses: Annotated[int, Field(ge=0)] = 0
    description: str = ""
    source: TermSource | None = None

    @property
    def key(self) -> str:
        """The duty's id as a measure's subject and a rule's basis name it: its survey, or * for any
        (numbered where two duties share one: base.numbered)."""
        return self.survey or "*"


class SlaTerm(Frozen):
    """Limits for one fault severity, in minutes (None: not bound)."""

    severity: Slug
    label: str | None = None
    response_minutes: NonNegNum | None = None
    on_site_minutes: NonNegNum | None = None
    resolve_minutes: NonNegNum | None = None
    window: Slug = Field(
        default="7x24",
        description="the service window the SLA clock runs in: a standard name (7x24, 5x8, 7x8, 5x10, 5x24)"
        " or a window of the contract's service_windows",
    )


STANDARD_WINDOWS = ("7x24", "5x8", "7x8", "5x10", "5x24")
_STANDARD_WINDOW: dict[str, ServiceWindow] = {}  # by name, made once: the SLA clock asks for each fault


class ServiceWindow(Frozen):
    """When the SLA clock runs: on which days, from `start` to `end`.

    A standard name (7x24, 5x8, 7x8, 5x10, 5x24: days a week × hours a day) needs nothing else:
    5 days means China's working days (调休 included), 7 every day; the hours open at 09:00 (24 hours:
    at 00:00). Given `days`, `start` or `end` override that (5x8 from 08:30 to 17:30). A custom name
    gives all three. `end` 00:00 means midnight at the end of the day.
    """

    name: Slug
    scope: str = ""
    days: Literal["every_day", "working_days"] | None = None
    start: TimeOfDay | None = None
    end: TimeOfDay | None = None

    @model_validator(mode="after")
    def _complete_and_ordered(self) -> ServiceWindow:
        if self.name not in STANDARD_WINDOWS and (self.days is None or self.start is None or self.end is None):
            raise ValueError(
                f"window {self.name!r} is not a standard one ({', '.join(STANDARD_WINDOWS)}): give days, start and end"
            )
        open_at, close_at = self.opening_minutes
        if close_at <= open_at:
            raise ValueError(f"end {self.end} is not after start {self.start}")
        return self

    @property
    def on(self) -> Literal["every_day", "working_days"]:
        if self.days is not None:
            return self.days
        return "every_day" if self.name.startswith("7x") else "working_days"

    @property
    def opening_minutes(self) -> tuple[int, int]:
        """Opening and closing minute of the day (closing up to 24 × 60)."""
        hours = int(self.name.split("x")[1]) if self.name in STANDARD_WINDOWS else 0
        start = self.start if self.start is not None else TimeOfDay(0) if hours == 24 else TimeOfDay(9)
        open_at = start.hour * 60 + start.minute
        if self.end is None:
            close_at = min(open_at + hours * 60, 24 * 60)
        else:
            close_at = self.end.hour * 60 + self.end.minute or 24 * 60
        return open_at, close_at


class AssetTerm(Frozen):
    asset_class: Slug
    name: Text
    count: Annotated[int, Field(ge=0)]


class PaymentRule(Frozen):
    min_score: NonNegNum
    pay_fraction: NonNegNum
    source: TermSource | None = None


class AssessmentItemRule(Frozen):
    """How the contract's periodic assessment scores one item (考核细则)."""

    item: Text
    max_score: Annotated[Num, Field(gt=0)]
    per_occurrence: NonNegNum | None = Field(default=None, description="deduction per occurrence (1 次扣 N 分)")
    max_deduction: NonNegNum | None = Field(default=None, description="the most the item can lose per period")
    allowed_deductions: tuple[NonNegNum, ...] = Field(default=(), description="the only deductions the rule allows")
    attendance: bool = Field(default=False, description="scored from attendance: late arrivals must cost points")
    needs_evidence: bool = Field(default=False, description="a deduction must cite a record")
    source: TermSource | None = None


class ReportingTerms(Frozen):
    fiscal_unit: Literal["万元"] = "万元"
    unit_rate_ceiling: NonNegNum | None = Field(default=None, description="万元/人月, e.g. a provincial standard")
    unit_rate_standard: str | None = None
    max_adjustment_rate: NonNegNum = Num("0.1")
    min_arrival_rate: NonNegNum = Num("0.9")
    min_execution_rate: NonNegNum = Num("1")
    max_rater_spread: NonNegNum = Field(default=Num("0.3"), description="raters' score spread over the item maximum")
    duplicate_similarity: NonNegNum = Field(
        default=Num("0.8"), description="outline overlap that makes documents near-duplicates"
    )


class PerformanceTarget(Frozen):
    """A row of the approved 绩效目标表 the unit must report against."""

    name: Text
    target: Text
    value: Num | None = None
    deliverable: Slug | None = Field(default=None, description="the deliverable the row counts")
    annual: bool = Field(default=True, description="the value is set for a whole year")
    source: TermSource | None = None


class ServiceTargets(Frozen):
    """Service levels the contract sets as targets (服务指标), for the rules to compare with."""

    min_satisfaction: NonNegNum | None = Field(default=None, le=1, description="满意度不低于（0–1）")


class Contract(Frozen):
    id: Slug
    name: Text
    vendor: Text
    service_period: DateRange
    price: NonNegNum | None = Field(default=None, description="合同总价, 万元")
    staffing: StaffingTerms = StaffingTerms()
    deliverables: tuple[DeliverableTerm, ...] = ()
    inspections: tuple[InspectionPlan, ...] = ()
    training: TrainingDuty | None = None
    surveys: tuple[SurveyDuty, ...] = ()
    slas: tuple[SlaTerm, ...] = ()
    service_windows: tuple[ServiceWindow, ...] = ()
    assets: tuple[AssetTerm, ...] = ()
    payment_rules: tuple[PaymentRule, ...] = ()
    assessment_items: tuple[AssessmentItemRule, ...] = ()
    mtbf_hours_min: NonNegNum | None = None
    service_targets: ServiceTargets = ServiceTargets()
    performance_targets: tuple[PerformanceTarget, ...] = ()

    @model_validator(mode="after")
    def _unique_ids(self) -> Contract:
        for label, ids in (
            ("deliverables", [d.id for d in self.deliverables]),
            ("inspections", [i.id for i in self.inspections]),
            ("slas", [s.severity for s in self.slas]),
            ("assets", [a.asset_class for a in self.assets]),
            ("service_windows", [w.name for w in self.service_windows]),
        ):
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            if dupes:
                raise ValueError(f"{label}: duplicate ids {dupes}")
        declared = [w.name for w in self.service_windows]
        for i, sla in enumerate(self.slas):
            if sla.window not in declared and sla.window not in STANDARD_WINDOWS:
                known = ", ".join(dict.fromkeys([*declared, *STANDARD_WINDOWS]))
                raise ValueError(f"slas[{i}].window: unknown service window {sla.window!r} (known: {known})")
        return self

    def sla_window(self, sla: SlaTerm) -> ServiceWindow:
        """The window an SLA's clock runs in: the contract's own by that name, else the standard one."""
        declared = next((w for w in self.service_windows if w.name == sla.window), None)
        if declared is not None:
            return declared
        standard = _STANDARD_WINDOW.get(sla.window)
        if standard is None:
            standard = _STANDARD_WINDOW[sla.window] = ServiceWindow(name=sla.window)
        return standard

    @property
    def on_site_duty(self) -> str:
        """The on-site duty in the contract's terms: 安排不少于 5 名驻场人员，服务期（…）内全程驻场服务."""
        text = f"服务期（{self.service_period.start} 至 {self.service_period.end}）内全程驻场服务"
        if self.staffing.min_on_site:
            text = f"安排不少于 {self.staffing.min_on_site} 名驻场人员，" + text
        return text

    def deliverable(self, deliverable_id: str) -> DeliverableTerm | None:
        return next((d for d in self.deliverables if d.id == deliverable_id), None)

    def inspection(self, plan_id: str) -> InspectionPlan | None:
        return next((p for p in self.inspections if p.id == plan_id), None)

    def sla(self, severity: str) -> SlaTerm | None:
        return next((s for s in self.slas if s.severity == severity), None)


class ContractProfile(Frozen):
    """All contracts of a project, evaluated together (002: 运维 and 运营 side by side)."""

    contracts: tuple[Contract, ...] = Field(min_length=1)
    reporting: ReportingTerms = ReportingTerms()

    @model_validator(mode="after")
    def _unique_contract_ids(self) -> ContractProfile:
        ids = [c.id for c in self.contracts]
        if len(ids) != len(set(ids)):
            raise ValueError(f"duplicate contract ids: {ids}")
        return self

    def contract(self, contract_id: str | None) -> Contract | None:
        return next((c for c in self.contracts if c.id == contract_id), None)
