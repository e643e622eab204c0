"""A project under evaluation and the bundle that defines it."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from fnmatch import fnmatchcase
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, ValidationInfo, model_validator

from .base import DateRange, Frozen, field_path
from .contract import Contract, ContractProfile
from .evidence import Slug, Text
from .holidays import HolidayCalendar
from .indicators import SLICING_FIELDS, ChecklistMethod, Indicator, IndicatorSystem, MetricRef
from .measures import MeasureDef, MeasureDefinitionError, MeasureLibrary, check_tests, measure_parts, parse_where
from .references import known
from .sources import CONTRACT_LISTS, SOURCES, FieldSpec


def _report_date(value: object) -> object:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        try:
            date.fromisoformat(value if len(value) > 7 else f"{value}-01")
        except ValueError:
            raise ValueError(f"not a date (YYYY-MM-DD or YYYY-MM): {value!r}") from None
    return value


# The report's date as written on its cover: a day or only a month (seed 004: "2024 年 04 月").
ReportDate = Annotated[str, BeforeValidator(_report_date), Field(pattern=r"^\d{4}-\d{2}(-\d{2})?$")]


class EvaluationTerms(Frozen):
    period: DateRange = Field(description="the period evaluated, usually a budget year")
    as_of: date | None = Field(
        default=None, description="default evaluation date when it is not the period end (e.g. fieldwork end)"
    )
    evaluator: str | None = Field(default=None, description="评价机构 (or the unit itself for a 单位自评)")
    commissioned_by: str | None = Field(default=None, description="委托方, e.g. the finance bureau")
    report_date: ReportDate | None = Field(
        default=None, description="报告日期: YYYY-MM-DD, or YYYY-MM where the report gives only its month"
    )
    facts_until: date | None = Field(
        default=None,
        description="the evaluators examined facts of the service after the period up to this day (fieldwork); "
        "without it, evidence about a time after the period is left out with a warning",
    )

    @model_validator(mode="after")
    def _as_of_not_before_the_period(self) -> EvaluationTerms:
        if self.as_of is not None and self.as_of < self.period.start:
            raise ValueError(f"as_of {self.as_of} is before the evaluation period starts ({self.period.start})")
        if self.facts_until is not None and self.facts_until < self.period.end:
            raise ValueError(f"facts_until {self.facts_until} is before the evaluation period ends ({self.period.end})")
        return self

    @property
    def facts_window(self) -> DateRange:
        """The days evidence may be about: the period, extended to `facts_until` if declared."""
        if self.facts_until is None:
            return self.period
        return DateRange(start=self.period.start, end=self.facts_until)

    @property
    def default_as_of(self) -> date:
        return self.as_of or self.period.end


class Project(Frozen):
    id: Slug
    name: Text
    agency: Text = Field(description="预算单位 / 项目单位")
    department: str | None = Field(default=None, description="主管部门")
    evaluation: EvaluationTerms
    background: str = ""
    goals: tuple[str, ...] = ()
    policy_basis: tuple[str, ...] = ()


class ProjectRules(Frozen):
    """A project's own rules file (rules.yaml), as written: rules of its own, standard rules switched
    off, standard rules' parameters or severity changed. The rules service checks and applies it."""

    rules: tuple[dict[str, Any], ...] = ()
    disable: tuple[str, ...] = ()
    override: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        return not (self.rules or self.disable or self.override)


class ProjectDefinition(Frozen):
    """Everything but the evidence: what a project is, what it promised, how it is scored."""

    project: Project
    contracts: ContractProfile
    indicators: IndicatorSystem
    measures: MeasureLibrary = Field(
        default=MeasureLibrary(),
        description="the measures the indicators may name: the standard library and the bundle's",
    )
    calendar: HolidayCalendar | None = Field(
        default=None, description="declared holidays and 调休 working days (calendar.yaml); before chinesecalendar"
    )
    rules: ProjectRules = Field(default=ProjectRules(), description="the project's rules.yaml (rules as data)")

    @model_validator(mode="after")
    def _references_resolve(self, info: ValidationInfo) -> ProjectDefinition:
        if info.context and info.context.get(DEFER_REFERENCES):
            return self  # the caller checks them itself, each problem at its own location
        problems = unresolved_references(
            self.contracts, self.indicators, self.measures, period=self.project.evaluation.period
        )
        if problems:
            raise ValueError("\n".join(f"indicators.{field_path(loc)}: {message}" for loc, message in problems))
        return self


# Validation context key: leave the reference checks to the caller (intake, the bundle loader).
DEFER_REFERENCES = "defer_references"

Location = tuple[str | int, ...]

# Metrics that measure one contract: without a contract named, the project must have only one.
_ONE_CONTRACT_METRICS = ("incidents.mtbf_hours", "incidents.availability", "training.count")


def unresolved_references(
    contracts: ContractProfile,
    indicators: IndicatorSystem,
    measures: MeasureLibrary | None = None,
    *,
    period: DateRange | None = None,
    known_rules: Collection[str] | None = None,
) -> list[tuple[Location, str]]:
    """Every reference of the indicator tree that the contract profile (or the rules catalogue,
    when `known_rules` is given) does not resolve, with its location in the tree: all of them,
    not only the first, so a bundle's author sees every typo at once."""
    by_id = {c.id: c for c in contracts.contracts}
    library = measures if measures is not None else MeasureLibrary()
    out: list[tuple[Location, str]] = []

    def contract_ok(loc: Location, ref: str | None) -> bool:
        if ref is None or ref in by_id:
            return True
        out.append((loc, f"unknown contract {ref!r} {known(by_id, ref)}"))
        return False

    def visit(node: Indicator, loc: Location) -> None:
        contract_ok((*loc, "contract"), node.contract)
        method = node.method
        metric: MetricRef | None = getattr(method, "metric", None)
        shares = getattr(method, "per_contract", ())
        share_ids = [
            s.contract
            for i, s in enumerate(shares)
            if contract_ok((*loc, "method", "per_contract", i, "contract"), s.contract)
        ]
        if isinstance(method, ChecklistMethod):
            for i, point in enumerate(method.points):
                if point.when is not None and point.when.metric is not None:
                    at = (*loc, "method", "points", i, "when", "metric")
                    if contract_ok((*at, "contract"), point.when.metric.contract):
                        out.extend(_measure_problems(point.when.metric, at, library, contracts))
        if metric is not None:
            at = (*loc, "method", "metric")
            out.extend(_measure_problems(metric, at, library, contracts))
            if contract_ok((*at, "contract"), metric.contract):
                if metric.contract is not None:
                    scopes = [[by_id[metric.contract]]]
                elif shares:
                    scopes = [[by_id[c]] for c in share_ids]
                else:
                    scopes = [list(contracts.contracts)]
                for scope in scopes:
                    out.extend(_slice_problems(metric, at, scope, named=metric.contract is not None or bool(shares)))
            if metric.fiscal_year is not None and period is not None:
                years = _years(period, contracts)
                if metric.fiscal_year not in years:
                    out.append(
                        (
                            (*at, "fiscal_year"),
                            f"fiscal year {metric.fiscal_year} is outside the evaluation period and the contracts' "
                            f"service periods ({years.start}–{years.stop - 1})",
                        )
                    )
        if known_rules is not None:
            for i, pattern in enumerate(node.rules):
                if not any(fnmatchcase(rule, pattern) for rule in known_rules):
                    out.append(
                        ((*loc, "rules", i), f"rule pattern {pattern!r} matches no rule {known(known_rules, pattern)}")
                    )
        for i, child in enumerate(node.children):
            visit(child, (*loc, "children", i))

    for i, top in enumerate(indicators.indicators):
        visit(top, ("indicators", i))
    return out


def _years(period: DateRange, contracts: ContractProfile) -> range:
    starts = [period.start, *(c.service_period.start for c in contracts.contracts)]
    ends = [period.end, *(c.service_period.end for c in contracts.contracts)]
    return range(min(starts).year, max(ends).year + 1)


def _slice_problems(
    metric: MetricRef, at: Location, scope: list[Contract], *, named: bool
) -> list[tuple[Location, str]]:
    """What a metric names that the contracts it measures (`scope`) do not define. `named`: the
    scope is a contract the metric (or a per-contract share) names, not every contract of the project."""
    out: list[tuple[Location, str]] = []
    whose = f"contract {scope[0].id!r}" if len(scope) == 1 else "no contract"
    one = len(scope) == 1

    def missing(field: Location, what: str, wanted: str, defined: set[str]) -> None:
        text = f"{whose} has no {what} {wanted!r}" if one else f"no contract has {what} {wanted!r}"
        out.append(((*at, *field), f"{text} {known(defined, wanted)}"))

    if metric.name in _ONE_CONTRACT_METRICS and not one:
        out.append(((*at, "contract"), f"the project has several contracts: {metric.name} must name one"))
        return out
    deliverables = {d.id for c in scope for d in c.deliverables}
    if metric.deliverable is not None and metric.deliverable not in deliverables:
        missing(("deliverable",), "deliverable", metric.deliverable, deliverables)
    for i, wanted in enumerate(metric.deliverables):
        if wanted not in deliverables:
            missing(("deliverables", i), "deliverable", wanted, deliverables)
    plans = {p.id for c in scope for p in c.inspections}
    if metric.plan is not None and metric.plan not in plans:
        missing(("plan",), "inspection plan", metric.plan, plans)
    if named:  # a survey no contract duty lists may be the evaluators' own questionnaire
        surveys = {d.survey for c in scope for d in c.surveys if d.survey is not None}
        if metric.survey is not None and surveys and metric.survey not in surveys:
            missing(("survey",), "survey duty for survey", metric.survey, surveys)
    classes = {a.asset_class for c in scope for a in c.assets}
    if metric.asset_class is not None and metric.asset_class not in classes:
        missing(("asset_class",), "assets of class", metric.asset_class, classes)
    for i, wanted in enumerate(metric.asset_classes):
        if wanted not in classes:
            missing(("asset_classes", i), "assets of class", wanted, classes)
    if metric.name == "assessment.score_rate":
        items = {r.item for c in scope for r in c.assessment_items}
        for i, wanted in enumerate(metric.items):
            if items and wanted not in items:
                missing(("items", i), "assessment item", wanted, items)
    if metric.name == "training.count" and one and scope[0].training is None:
        out.append(((*at, "name"), f"{whose} has no training duty"))
    return out


def _measure_problems(
    ref: MetricRef, at: Location, measures: MeasureLibrary, contracts: ContractProfile
) -> list[tuple[Location, str]]:
    """A measure the library lacks, or a slice of it that its records or the contracts do not have."""
    return [((*at, *loc), message) for loc, message in _measure_slice_problems(ref, measures, contracts)]


def _measure_slice_problems(
    ref: MetricRef, measures: MeasureLibrary, contracts: ContractProfile
) -> list[tuple[Location, str]]:
    defn = measures.get(ref.name)
    if defn is None:
        return [(("name",), f"unknown measure {ref.name!r} (see `opseval measures`)")]
    written_as = {field: attribute for attribute, field in SLICING_FIELDS.items() if getattr(ref, attribute)}
    for field, condition in ref.conditions().items():
        loc: tuple[str | int, ...] = ("where", field) if field in ref.where else (written_as[field],)
        for part in _sources_of(defn, measures):
            try:
                check_tests(SOURCES[part], parse_where({field: condition}))
            except MeasureDefinitionError as exc:
                return [(loc, str(exc))]
            # (the older slicing fields are checked against the contracts by _slice_problems)
            problem = _not_in_contract(SOURCES[part].fields[field], condition, ref.contract, contracts)
            if problem and field in ref.where:
                return [(loc, problem)]
    return []


def _not_in_contract(
    spec: FieldSpec, condition: object, contract_id: str | None, contracts: ContractProfile
) -> str | None:
    """A slice naming a plan, deliverable, severity or asset class the contract does not define."""
    if spec.members is None:
        return None
    values = condition if isinstance(condition, list | tuple) else [condition] if isinstance(condition, str) else []
    chosen = [c for c in contracts.contracts if contract_id is None or c.id == contract_id]
    known = sorted(frozenset().union(*(CONTRACT_LISTS[spec.members].members(c) for c in chosen)))
    unknown = [v for v in values if v not in known]
    if not unknown:
        return None
    where = f"contract {contract_id}" if contract_id else "no contract of the project"
    return (
        f"{unknown[0]!r} is not a {spec.label} {where} defines "
        f"({CONTRACT_LISTS[spec.members].label}: {', '.join(known) or 'none'})"
    )


def _sources_of(defn: MeasureDef, measures: MeasureLibrary) -> list[str]:
    """The record sources a measure reads (a ratio reads those of both its parts): a leaf's where must fit each."""
    if defn.source is not None:
        return [defn.source]
    out: list[str] = []
    for part in measure_parts(defn):
        found = measures.get(part)
        if found is not None:
            out.extend(s for s in _sources_of(found, measures) if s not in out)
    return out
