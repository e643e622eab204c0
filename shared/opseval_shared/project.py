"""A project under evaluation and the bundle that defines it."""

from __future__ import annotations

from datetime import date

from pydantic import Field, model_validator

from .base import DateRange, Frozen
from .contract import ContractProfile
from .evidence import Slug, Text
from .indicators import IndicatorSystem


class EvaluationTerms(Frozen):
    period: DateRange = Field(description="the period evaluated, usually a budget year")
    as_of: date | None = Field(
        default=None, description="default evaluation date when it is not the period end (e.g. fieldwork end)"
    )
    evaluator: str | None = None

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
        contract_ids = {c.id for c in self.contracts.contracts}
        for leaf in self.indicators.leaves():
            method = leaf.method
            metric = getattr(method, "metric", None)
            refs = [leaf.contract, getattr(metric, "contract", None)]
            refs += [s.contract for s in getattr(method, "per_contract", ())]
            for ref in refs:
                if ref is not None and ref not in contract_ids:
                    raise ValueError(f"indicator {leaf.id}: unknown contract {ref!r} (known: {sorted(contract_ids)})")
        return self
