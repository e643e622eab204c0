"""A project under evaluation and the bundle that defines it."""

from __future__ import annotations

from datetime import date

from pydantic import Field, model_validator

from .base import DateRange, Frozen
from .contract import ContractProfile
from .evidence import Slug, Text
from .holidays import HolidayCalendar
from .indicators import BUILTIN_METRICS, SLICING_FIELDS, ChecklistMethod, Indicator, IndicatorSystem, MetricRef
from .measures import MeasureDef, MeasureDefinitionError, MeasureLibrary, check_tests, parse_where
from .sources import CONTRACT_LISTS, SOURCES, FieldSpec


class EvaluationTerms(Frozen):
    period: DateRange = Field(description="the period evaluated, usually a budget year")
    as_of: date | None = Field(
        default=None, description="default evaluation date when it is not the period end (e.g. fieldwork end)"
    )
    evaluator: str | None = None

    @model_validator(mode="after")
    def _as_of_not_before_the_period(self) -> EvaluationTerms:
        if self.as_of is not None and self.as_of < self.period.start:
            raise ValueError(f"as_of {self.as_of} is before the evaluation period starts ({self.period.start})")
        return self

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

    @model_validator(mode="after")
    def _references_resolve(self) -> ProjectDefinition:
        for loc, message in unresolved_references(self.contracts, self.indicators, self.measures):
            raise ValueError(f"indicators.{'.'.join(map(str, loc))}: {message}")
        return self


def _metric_problems(
    ref: MetricRef, measures: MeasureLibrary, contracts: ContractProfile
) -> list[tuple[tuple[str | int, ...], str]]:
    defn = measures.get(ref.name)
    if defn is None:
        if ref.name in BUILTIN_METRICS:
            if ref.where:
                return [(("where",), f"where applies to defined measures; {ref.name} is a built-in metric")]
            return []
        return [(("name",), f"unknown measure {ref.name!r} (see `opseval measures`)")]
    written_as = {field: attribute for attribute, field in SLICING_FIELDS.items() if getattr(ref, attribute)}
    for field, condition in ref.conditions().items():
        loc: tuple[str | int, ...] = ("where", field) if field in ref.where else (written_as[field],)
        for part in _sources_of(defn, measures):
            try:
                check_tests(SOURCES[part], parse_where({field: condition}))
            except MeasureDefinitionError as exc:
                return [(loc, str(exc))]
            problem = _not_in_contract(SOURCES[part].fields[field], condition, ref.contract, contracts)
            if problem:
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
    assert defn.ratio is not None
    out: list[str] = []
    for part in (defn.ratio.of, defn.ratio.to):
        found = measures.get(part)
        if found is not None:
            out.extend(s for s in _sources_of(found, measures) if s not in out)
    return out


def unresolved_references(
    contracts: ContractProfile, indicators: IndicatorSystem, measures: MeasureLibrary | None = None
) -> list[tuple[tuple[str | int, ...], str]]:
    """References the indicator tree makes that do not resolve (contracts, measures), with their location."""
    known = sorted(c.id for c in contracts.contracts)
    library = measures if measures is not None else MeasureLibrary()
    out: list[tuple[tuple[str | int, ...], str]] = []

    def visit(node: Indicator, loc: tuple[str | int, ...]) -> None:
        metric = getattr(node.method, "metric", None)
        if metric is not None:
            out.extend(
                ((*loc, "method", "metric", *sub), msg) for sub, msg in _metric_problems(metric, library, contracts)
            )
        if isinstance(node.method, ChecklistMethod):
            for i, point in enumerate(node.method.points):
                if point.when is not None and point.when.metric is not None:
                    base = (*loc, "method", "points", i, "when", "metric")
                    problems = _metric_problems(point.when.metric, library, contracts)
                    out.extend(((*base, *sub), msg) for sub, msg in problems)
        refs: list[tuple[tuple[str | int, ...], str | None]] = [(("contract",), node.contract)]
        refs.append((("method", "metric", "contract"), getattr(metric, "contract", None)))
        if isinstance(node.method, ChecklistMethod):
            for i, point in enumerate(node.method.points):
                if point.when is not None and point.when.metric is not None:
                    refs.append((("method", "points", i, "when", "metric", "contract"), point.when.metric.contract))
        for i, share in enumerate(getattr(node.method, "per_contract", ())):
            refs.append((("method", "per_contract", i, "contract"), share.contract))
        for suffix, ref in refs:
            if ref is not None and ref not in known:
                out.append((loc + suffix, f"unknown contract {ref!r} (known: {', '.join(known)})"))
        for i, child in enumerate(node.children):
            visit(child, (*loc, "children", i))

    for i, top in enumerate(indicators.indicators):
        visit(top, ("indicators", i))
    return out
