"""A project under evaluation and the bundle that defines it."""

from __future__ import annotations

from datetime import date

from pydantic import Field, model_validator

from .base import DateRange, Frozen
from .contract import ContractProfile
from .evidence import Slug, Text
from .holidays import HolidayCalendar
from .indicators import Indicator, IndicatorSystem


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
    calendar: HolidayCalendar | None = Field(
        default=None, description="declared holidays and 调休 working days (calendar.yaml); before chinesecalendar"
    )

    @model_validator(mode="after")
    def _references_resolve(self) -> ProjectDefinition:
        for loc, message in unresolved_references(self.contracts, self.indicators):
            raise ValueError(f"indicators.{'.'.join(map(str, loc))}: {message}")
        return self


def unresolved_references(
    contracts: ContractProfile, indicators: IndicatorSystem
) -> list[tuple[tuple[str | int, ...], str]]:
    """Contract ids the indicator tree names but the profile lacks, with their location in the tree."""
    known = sorted(c.id for c in contracts.contracts)
    out: list[tuple[tuple[str | int, ...], str]] = []

    def visit(node: Indicator, loc: tuple[str | int, ...]) -> None:
        refs: list[tuple[tuple[str | int, ...], str | None]] = [(("contract",), node.contract)]
        metric = getattr(node.method, "metric", None)
        refs.append((("method", "metric", "contract"), getattr(metric, "contract", None)))
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
