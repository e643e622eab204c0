"""The indicator system (绩效评价指标体系): a weighted tree whose leaves name their scoring method."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from .base import Frozen, NonNegNum, Num
from .evidence import Slug, Text
from .measures import MeasureId, parse_where


class MetricRef(Frozen):
    """Which measurement of the evidence a leaf scores, and on what slice of it."""

    name: MeasureId = Field(description="a measure of the library or the bundle")
    contract: Slug | None = None
    deliverable: Slug | None = None
    deliverables: tuple[Slug, ...] = ()
    plan: Slug | None = None
    survey: Slug | None = None
    groups: tuple[str, ...] = ()
    asset_class: Slug | None = None
    asset_classes: tuple[Slug, ...] = ()
    items: tuple[str, ...] = ()
    measures: tuple[Literal["response", "on_site", "resolve"], ...] = ("response", "on_site", "resolve")  # time limits
    fiscal_year: int | None = None
    where: dict[str, Any] = Field(
        default_factory=dict, description="a defined measure only: more conditions on its records (this leaf's slice)"
    )

    @field_validator("where")
    @classmethod
    def _where_parses(cls, value: dict[str, Any]) -> dict[str, Any]:
        parse_where(value)
        return value

    def conditions(self) -> dict[str, Any]:
        """`where`, with the slicing fields (deliverable, plan, survey, groups …) written as the same
        conditions on the records' fields, so a defined measure takes either form."""
        out = dict(self.where)
        for attribute, record_field in SLICING_FIELDS.items():
            value = getattr(self, attribute)
            if value is None or value == () or (attribute == "measures" and set(value) == set(ALL_TIME_LIMITS)):
                continue
            out.setdefault(record_field, list(value) if isinstance(value, tuple) else value)
        return out


ALL_TIME_LIMITS = ("response", "on_site", "resolve")
# The slicing fields of a metric reference and the record field each one restricts.
SLICING_FIELDS = {
    "deliverable": "deliverable",
    "deliverables": "deliverable",
    "plan": "plan",
    "survey": "survey",
    "groups": "group",
    "asset_class": "asset_class",
    "asset_classes": "asset_class",
    "items": "item",
    "measures": "measure",
    "fiscal_year": "fiscal_year",
}


class Band(Frozen):
    """A rate at or above `min` earns `fraction` of the weight (bands are tried from the highest)."""

    min: Num
    fraction: NonNegNum = Field(le=1)


class ContractShare(Frozen):
    contract: Slug
    share: NonNegNum


class RatioMethod(Frozen):
    """weight × min(actual / target, 1)."""

    type: Literal["ratio"]
    metric: MetricRef
    target: Annotated[Num, Field(gt=0)] | None = Field(
        default=None, description="actual/target; without one a rate metric scores its own rate"
    )


class PointRule(Frozen):
    """How the facts decide a checklist point, where the seed's evaluators deducted for a fact.

    `metric` with `op` and `target`: the full point when the value meets the target, else none.
    `metric` with `award: proportional`: the point × the measured rate (6 of 8 parameters met →
    6/8 of it), or × value ÷ target when a target is given. `no_findings`: met only while no
    finding of these rules (id or prefix*) stands for the leaf's contract. Given together, all must hold.
    `otherwise`: what a point that is not met still earns (部分落实), as the criterion sets it.
    """

    metric: MetricRef | None = None
    op: Literal[">=", "<=", ">", "<", "=="] = ">="
    target: Num | None = None
    award: Literal["all_or_nothing", "proportional"] = "all_or_nothing"
    no_findings: tuple[str, ...] = ()
    otherwise: NonNegNum = Field(default=Decimal(0), description="awarded when the condition does not hold")

    @model_validator(mode="after")
    def _decides_something(self) -> PointRule:
        if self.metric is None and not self.no_findings:
            raise ValueError("a computed point needs a metric, no_findings, or both")
        if self.metric is not None and self.award == "all_or_nothing" and self.target is None:
            raise ValueError("an all-or-nothing point compares its metric with a target")
        if self.award == "proportional" and self.metric is None:
            raise ValueError("a proportional point needs a metric")
        return self


class ChecklistPoint(Frozen):
    id: Slug
    text: Text
    max: NonNegNum
    when: PointRule | None = Field(
        default=None, description="computed from the facts; an evaluator's judgment may still override it"
    )

    @model_validator(mode="after")
    def _otherwise_within_max(self) -> ChecklistPoint:
        if self.when is not None and self.when.otherwise > self.max:
            raise ValueError(f"point {self.id}: otherwise {self.when.otherwise} is more than its max {self.max}")
        return self


class ChecklistMethod(Frozen):
    """Σ points judged met (评价要点), each judgment an evidence event with its reason."""

    type: Literal["checklist"]
    points: tuple[ChecklistPoint, ...] = Field(min_length=1)


class DeductionMethod(Frozen):
    """weight − Σ per-occurrence deductions, floor 0 (扣完为止)."""

    type: Literal["deduction"]
    metric: MetricRef
    per_occurrence: Annotated[Num, Field(gt=0)]
    cap: NonNegNum | None = None


class TieredMethod(Frozen):
    """A rate mapped through bands to a fraction of the weight; optionally per contract shares."""

    type: Literal["tiered"]
    metric: MetricRef
    bands: tuple[Band, ...] = Field(min_length=1)
    per_contract: tuple[ContractShare, ...] = ()


class ThresholdMethod(Frozen):
    """Full weight when the target is met, else `else_fraction` of it."""

    type: Literal["threshold"]
    metric: MetricRef
    op: Literal[">=", "<=", ">", "<", "=="]
    target: Num
    else_fraction: NonNegNum = Field(default=Decimal(0), le=1)


class RateMethod(Frozen):
    """Satisfied ÷ sampled (a survey) mapped through bands."""

    type: Literal["rate"]
    metric: MetricRef
    bands: tuple[Band, ...] = Field(min_length=1)


class SlaMethod(Frozen):
    """Each fault measured against its severity's limits; each breach deducts `per_breach`."""

    type: Literal["sla"]
    metric: MetricRef
    per_breach: Annotated[Num, Field(gt=0)]


class JudgmentMethod(Frozen):
    """The whole leaf scored by an evaluator's judgment event (with its reason)."""

    type: Literal["judgment"]


ScoringMethod = Annotated[
    RatioMethod
    | ChecklistMethod
    | DeductionMethod
    | TieredMethod
    | ThresholdMethod
    | RateMethod
    | SlaMethod
    | JudgmentMethod,
    Field(discriminator="type"),
]


class Indicator(Frozen):
    id: Slug
    name: Text
    weight: NonNegNum
    children: tuple[Indicator, ...] = ()
    method: ScoringMethod | None = None
    target: str | None = Field(default=None, description="指标值 as written, e.g. ≥12")
    precision: Annotated[int, Field(ge=0, le=6)] | None = Field(
        default=None, description="decimals the leaf score is rounded to (half up); None keeps every digit"
    )
    prorate: bool = Field(default=False, description="scale the target to the part of the period under service")
    rules: tuple[str, ...] = Field(default=(), description="finding rules (id or prefix*) that bear on this leaf")
    contract: Slug | None = Field(default=None, description="findings attach only from this contract")
    description: str = ""

    @model_validator(mode="after")
    def _leaf_or_parent(self) -> Indicator:
        if self.children and self.method is not None:
            raise ValueError(f"indicator {self.id}: a parent sums its children and takes no method")
        if not self.children and self.method is None:
            raise ValueError(f"indicator {self.id}: a leaf needs a scoring method")
        if self.children:
            total = sum((c.weight for c in self.children), Decimal(0))
            if total != self.weight:
                raise ValueError(f"indicator {self.id}: children weights sum to {total}, not {self.weight}")
        if isinstance(self.method, ChecklistMethod):
            total = sum((p.max for p in self.method.points), Decimal(0))
            if total != self.weight:
                raise ValueError(f"indicator {self.id}: checklist points sum to {total}, not {self.weight}")
        return self

    @property
    def is_leaf(self) -> bool:
        return not self.children

    def walk(self) -> list[Indicator]:
        out: list[Indicator] = [self]
        for child in self.children:
            out.extend(child.walk())
        return out


class GradeBand(Frozen):
    min: NonNegNum
    grade: Text


DEFAULT_GRADES = (
    GradeBand(min=Decimal(90), grade="优"),
    GradeBand(min=Decimal(80), grade="良"),
    GradeBand(min=Decimal(60), grade="中"),
    GradeBand(min=Decimal(0), grade="差"),
)


class IndicatorSystem(Frozen):
    id: Slug
    name: Text
    form: Literal["third_party", "department", "self_evaluation", "key_project"]
    total: NonNegNum = Decimal(100)
    grades: tuple[GradeBand, ...] = DEFAULT_GRADES
    indicators: tuple[Indicator, ...] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> IndicatorSystem:
        total = sum((i.weight for i in self.indicators), Decimal(0))
        if total != self.total:
            raise ValueError(f"level-1 weights sum to {total}, not {self.total}")
        ids = [n.id for top in self.indicators for n in top.walk()]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"duplicate indicator ids: {dupes}")
        for top in self.indicators:
            _check_depth(top, 1)
        return self

    def leaves(self) -> list[Indicator]:
        return [n for top in self.indicators for n in top.walk() if n.is_leaf]

    def grade(self, score: Decimal) -> str:
        for band in sorted(self.grades, key=lambda b: b.min, reverse=True):
            if score >= band.min:
                return band.grade
        return self.grades[-1].grade


def _check_depth(node: Indicator, level: int) -> None:
    if level > 3:
        raise ValueError(f"indicator {node.id}: the tree has at most three levels")
    for child in node.children:
        _check_depth(child, level + 1)
