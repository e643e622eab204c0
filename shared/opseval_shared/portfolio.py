"""The portfolio: several projects' results side by side, ranked, and benchmarked by indicator
(标杆管理法: for one indicator, each project's rate, the best as the 标杆, every other's gap to it).

Projects have their own indicator systems, so an indicator is matched across them by what they
share: a level-1 indicator by its name (产出 and 产出指标 are the same 一级指标), a leaf by its id
or by its name. A project without the indicator is listed as such, never as a rate of 0.

Pure functions of the stored results; the results API and the workbench are adapters over them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

from pydantic import Field

from .base import Frozen, Num
from .indicators import IndicatorSystem
from .results import ScoredIndicator, Severity, Status

RATE_PLACES = Decimal("0.0001")  # as the scoring service rounds a rate
ZERO = Decimal(0)
SEVERITIES: tuple[Severity, ...] = ("high", "medium", "low")
IndicatorKind = Literal["level1", "id", "name"]
KIND_LABEL: dict[str, str] = {"level1": "一级指标", "id": "末级指标（编号）", "name": "末级指标（名称）"}


class ProjectOutcome(Frozen):
    """One project's current result as the portfolio reads it (scores None: not scored yet)."""

    project: str
    name: str
    as_of: date | None = None
    total: Num | None = None
    grade: str | None = None
    assessable: Num | None = Field(default=None, description="weight assessable at the as-of date")
    pending: Num | None = Field(default=None, description="weight not yet assessable; the grade is interim while > 0")
    indicators: tuple[ScoredIndicator, ...] = ()
    # One per finding: the portfolio counts them by severity (it reads no finding's evidence).
    finding_severities: tuple[Severity, ...] = ()

    @property
    def scored(self) -> bool:
        """Scored, with something assessable: a result before anything is due (assessable 0) is a
        total of 0 earned of 0, which would rank the project last — it is not ranked at all."""
        return self.total is not None and (self.assessable is None or self.assessable > 0)


class LevelOneRate(Frozen):
    key: str = Field(description="the level-1 name as matched across projects (产出指标 → 产出)")
    id: str
    name: str
    weight: Num
    score: Num
    rate: Num = Field(description="score ÷ weight")
    status: Status


class PortfolioEntry(Frozen):
    project: str
    name: str
    rank: int | None = Field(description="by total, ties share a rank; None while not scored")
    as_of: date | None
    total: Num | None
    grade: str | None
    interim: bool = Field(description="weight still pending: total and grade are interim (阶段性)")
    pending: Num | None
    level1: tuple[LevelOneRate, ...]
    findings: dict[str, int] = Field(description="findings by severity: high, medium, low")


class Portfolio(Frozen):
    entries: tuple[PortfolioEntry, ...] = Field(description="ranked: best total first, unscored last")
    level1: tuple[str, ...] = Field(description="the level-1 names of all the projects, in first-seen order")


class IndicatorChoice(Frozen):
    """An indicator that can be benchmarked: `key` is what /benchmark?indicator= takes."""

    key: str
    kind: IndicatorKind
    label: str = Field(description="the indicator as a person reads it, in Chinese")
    projects: int = Field(description="how many of the projects have it")


class BenchmarkRow(Frozen):
    project: str
    project_name: str
    present: bool = Field(description="false: the project's indicator system has no such indicator")
    indicator_id: str | None = None
    indicator_name: str | None = None
    weight: Num | None = None
    score: Num | None = None
    rate: Num | None = Field(default=None, description="score ÷ weight; None when absent or still pending")
    status: Status | None = None
    benchmark: bool = Field(default=False, description="this project is the 标杆 (the best rate)")
    gap: Num | None = Field(default=None, description="the 标杆's rate minus this one's (0 for the 标杆)")
    note: str = Field(default="", description="why there is no rate, in Chinese")


class Benchmark(Frozen):
    indicator: str
    kind: IndicatorKind
    label: str
    benchmark_project: str | None = Field(description="the 标杆; None when no project has a rate")
    best_rate: Num | None
    rows: tuple[BenchmarkRow, ...] = Field(description="best rate first, then pending, then absent")


class BenchmarkError(ValueError):
    """An indicator key that does not parse or that no project has."""


def level1_key(name: str) -> str:
    """The name a level-1 indicator is matched by: 产出指标 and 产出 are the same 一级指标."""
    stripped = name.strip()
    return stripped[: -len("指标")] if stripped.endswith("指标") and len(stripped) > len("指标") else stripped


def rate_of(score: Decimal, weight: Decimal) -> Decimal:
    return (score / weight).quantize(RATE_PLACES, ROUND_HALF_UP) if weight else ZERO


def _leaves(nodes: Iterable[ScoredIndicator]) -> list[ScoredIndicator]:
    return [n for top in nodes for n in top.walk() if not n.children]


def _entry(outcome: ProjectOutcome, rank: int | None) -> PortfolioEntry:
    counts = {s: 0 for s in SEVERITIES}
    for severity in outcome.finding_severities:
        counts[severity] += 1
    return PortfolioEntry(
        project=outcome.project,
        name=outcome.name,
        rank=rank,
        as_of=outcome.as_of,
        total=outcome.total if outcome.scored else None,
        grade=outcome.grade if outcome.scored else None,
        interim=bool(outcome.pending and outcome.pending > 0),
        pending=outcome.pending,
        level1=tuple(
            LevelOneRate(
                key=level1_key(top.name),
                id=top.id,
                name=top.name,
                weight=top.weight,
                score=top.score,
                rate=rate_of(top.score, top.weight),
                status=top.status,
            )
            for top in outcome.indicators
        ),
        findings=counts,
    )


def portfolio(outcomes: Sequence[ProjectOutcome]) -> Portfolio:
    """The projects ranked by total (ties share a rank, in project id order), unscored ones last:
    those with no result yet and those with nothing assessable yet."""
    scored = sorted((o for o in outcomes if o.scored), key=lambda o: (-(o.total or ZERO), o.project))
    unscored = sorted((o for o in outcomes if not o.scored), key=lambda o: o.project)
    entries: list[PortfolioEntry] = []
    for position, outcome in enumerate(scored, start=1):
        tied = entries and entries[-1].total == outcome.total
        entries.append(_entry(outcome, entries[-1].rank if tied else position))
    entries.extend(_entry(o, None) for o in unscored)
    names: list[str] = []
    for entry in entries:
        for top in entry.level1:
            if top.key not in names:
                names.append(top.key)
    return Portfolio(entries=tuple(entries), level1=tuple(names))


def indicator_choices(outcomes: Sequence[ProjectOutcome]) -> tuple[IndicatorChoice, ...]:
    """What can be benchmarked: every level-1 name (those most projects share first), and the leaves
    whose id or name occurs in two projects or more (a leaf of one project alone has nothing to be
    compared with)."""
    level1: dict[str, set[str]] = {}
    by_id: dict[str, dict[str, str]] = {}
    by_name: dict[str, set[str]] = {}
    for o in outcomes:
        for top in o.indicators:
            level1.setdefault(level1_key(top.name), set()).add(o.project)
        for leaf in _leaves(o.indicators):
            by_id.setdefault(leaf.id, {})[o.project] = leaf.name
            by_name.setdefault(leaf.name, set()).add(o.project)
    shared_most = sorted(level1.items(), key=lambda item: -len(item[1]))  # stable: first seen among equals
    out = [IndicatorChoice(key=f"level1:{k}", kind="level1", label=k, projects=len(p)) for k, p in shared_most]
    for name, projects in sorted(by_name.items()):
        if len(projects) > 1:
            out.append(IndicatorChoice(key=f"name:{name}", kind="name", label=name, projects=len(projects)))
    for leaf_id, names in sorted(by_id.items()):
        # an id shared under different names is offered by id (the rows show each project's name)
        if len(names) > 1 and len(set(names.values())) > 1:
            label = f"{leaf_id}（{'／'.join(sorted(set(names.values())))}）"
            out.append(IndicatorChoice(key=f"id:{leaf_id}", kind="id", label=label, projects=len(names)))
    return tuple(out)


def parse_indicator(key: str) -> tuple[IndicatorKind, str]:
    kind, sep, value = key.partition(":")
    if not sep or kind not in KIND_LABEL or not value.strip():
        raise BenchmarkError(
            f"indicator {key!r}: expected level1:<一级指标名称>, id:<末级指标编号> or name:<末级指标名称>"
        )
    return kind, value.strip()  # type: ignore[return-value]


def _find(outcome: ProjectOutcome, kind: IndicatorKind, value: str) -> ScoredIndicator | None:
    if kind == "level1":
        return next((t for t in outcome.indicators if level1_key(t.name) == level1_key(value)), None)
    leaves = _leaves(outcome.indicators)
    if kind == "id":
        return next((n for n in leaves if n.id == value), None)
    return next((n for n in leaves if n.name == value), None)


def benchmark(outcomes: Sequence[ProjectOutcome], key: str) -> Benchmark:
    """Each project's rate of the indicator `key` (see `indicator_choices`), the best as the 标杆 and
    every other's gap to it. A project still pending on it has no rate and is not the 标杆; a project
    without it says so."""
    kind, value = parse_indicator(key)
    rows: list[BenchmarkRow] = []
    for o in outcomes:
        node = _find(o, kind, value) if o.scored else None
        if not o.scored:
            note = "尚未评分" if o.total is None else "待评：截至评价日尚无可评内容"
            rows.append(BenchmarkRow(project=o.project, project_name=o.name, present=False, note=note))
        elif node is None:
            rows.append(
                BenchmarkRow(project=o.project, project_name=o.name, present=False, note="该项目的指标体系无此指标")
            )
        else:
            pending = node.status == "pending"
            rows.append(
                BenchmarkRow(
                    project=o.project,
                    project_name=o.name,
                    present=True,
                    indicator_id=node.id,
                    indicator_name=node.name,
                    weight=node.weight,
                    score=node.score,
                    rate=None if pending else rate_of(node.score, node.weight),
                    status=node.status,
                    note="待评：尚无可评内容，不参与比较" if pending else "",
                )
            )
    if not any(r.present for r in rows):
        raise BenchmarkError(f"indicator {key!r}: none of the projects has it")
    rated = [r for r in rows if r.rate is not None]
    best = max((r.rate for r in rated if r.rate is not None), default=None)
    leader = next((r for r in sorted(rated, key=lambda r: r.project) if r.rate == best), None)
    final = [
        r.model_copy(
            update={
                "benchmark": leader is not None and r.project == leader.project,
                "gap": None if r.rate is None or best is None else best - r.rate,
            }
        )
        for r in rows
    ]
    final.sort(key=lambda r: (r.rate is None, not r.present, -(r.rate or ZERO), not r.benchmark, r.project))
    label = value if kind != "level1" else level1_key(value)
    return Benchmark(
        indicator=key,
        kind=kind,
        label=label,
        benchmark_project=leader.project if leader else None,
        best_rate=best,
        rows=tuple(final),
    )


class GradeRange(Frozen):
    """One grade's band of the total: from `min` (included) up to `max` (excluded; None: the top)."""

    grade: str
    min: Num
    max: Num | None


def grade_ranges(system: IndicatorSystem) -> tuple[GradeRange, ...]:
    """The indicator system's grade bands as ranges of its total, best first (charts shade them)."""
    bands = sorted(system.grades, key=lambda b: b.min, reverse=True)
    return tuple(GradeRange(grade=b.grade, min=b.min, max=bands[i - 1].min if i else None) for i, b in enumerate(bands))
