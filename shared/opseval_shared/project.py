"""A project under evaluation and the bundle that defines it."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BeforeValidator, Field, model_validator

from .base import DateRange, Frozen
from .contract import ContractProfile
from .evidence import Slug, Text
from .indicators import Indicator, IndicatorSystem


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
