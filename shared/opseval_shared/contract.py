"""The contract profile: what each contract of a project promised (合同、投标文件、招标文件)."""

from __future__ import annotations

from datetime import date
from datetime import time as TimeOfDay
from typing import Annotated, Literal

from pydantic import Field, model_validator

from .base import DateRange, Frozen, NonNegNum, Num
from .evidence import Line, Slug, Text

Frequency = Literal["daily", "workday", "weekly", "monthly", "quarterly", "half_year", "yearly", "once"]


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
    shift_start: TimeOfDay | None = Field(default=None, description="clock-ins after this on a workday are late")
    grace_minutes: Annotated[int, Field(ge=0)] = 0
    sources: StaffingSources = StaffingSources()


class DueRule(Frozen):
    """When the deliverable of one period is due.

    `after_period` — the due moment counts from the period's end: `days` days later, or on
    `weekday` (1 = Monday) of the following week, or on `day_of_month` of the following month —
    at `time`. `same_day` — on the period's own day at `time` (daily reports).
    """

    kind: Literal["after_period", "same_day"] = "after_period"
    days: Annotated[int, Field(ge=0)] | None = None
    weekday: Annotated[int, Field(ge=1, le=7)] | None = None
    day_of_month: Annotated[int, Field(ge=1, le=31)] | None = None
    time: TimeOfDay = TimeOfDay(23, 59, 59)
    roll_to_workday: bool = Field(default=True, description="a due day off work moves to the next workday")


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


class SurveyDuty(Frozen):
    survey: Slug | None = Field(default=None, description="restrict to one survey id")
    frequency: Literal["monthly", "quarterly", "half_year", "yearly", "once"] = "yearly"
    anchor: Literal["calendar", "service"] = "service"
    required_levels: tuple[str, ...] = ()
    min_responses: Annotated[int, Field(ge=0)] = 0
    description: str = ""
    source: TermSource | None = None


class SlaTerm(Frozen):
    """Limits for one fault severity, in minutes (None: not bound)."""

    severity: Slug
    label: str | None = None
    response_minutes: NonNegNum | None = None
    on_site_minutes: NonNegNum | None = None
    resolve_minutes: NonNegNum | None = None
    window: Literal["7x24", "5x8", "7x8", "5x10", "5x24"] = Field(
        default="7x24", description="the service window the SLA clock runs in"
    )


class ServiceWindow(Frozen):
    """7×24, 5×8 … : days per week and daily hours during which the SLA clock runs."""

    name: Literal["7x24", "5x8", "7x8", "5x10", "5x24"]
    scope: str = ""
    start: TimeOfDay = TimeOfDay(9, 0)

    @property
    def days_per_week(self) -> int:
        return int(self.name.split("x")[0])

    @property
    def hours_per_day(self) -> int:
        return int(self.name.split("x")[1])


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
    performance_targets: tuple[PerformanceTarget, ...] = ()

    @model_validator(mode="after")
    def _unique_ids(self) -> Contract:
        for label, ids in (
            ("deliverables", [d.id for d in self.deliverables]),
            ("inspections", [i.id for i in self.inspections]),
            ("slas", [s.severity for s in self.slas]),
            ("assets", [a.asset_class for a in self.assets]),
        ):
            dupes = sorted({i for i in ids if ids.count(i) > 1})
            if dupes:
                raise ValueError(f"{label}: duplicate ids {dupes}")
        return self

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
