"""Judging (评审打分): which judgment is in force for each judged leaf or checklist point, whether a
new judgment overrides one, and the list an evaluator works through — each item with its criterion
(评分标准), its maximum, the result computed from the facts if any, and the judgment in force or 待评.

A judgment event carries {indicator, point?, awarded, reason}. Re-judging what already has a
judgment in force is an override (改判): the new event names the judgment it replaces in
`corrects: {event, reason, by}`, so the earlier one is left out of the evaluation and both stay in
the evidence trail. Which judgment is in force follows the ledger: corrected or retracted events are
left out, of several corrections of one event the latest (`recorded_at`, then id) stands, and of
the judgments left for one leaf or point the latest stands.

Two evaluators may override the same judgment at once (each saw it in force; intake checks against
what is stored, which the other's override has not reached yet). Both are accepted, the later one
stands, and the item is shown as contested (改判冲突, `competing_overrides`) until someone
overrides the judgment in force, having seen both: nothing is decided silently.

When a judgment made in the workbench happens (`judgment_moment`): at the end of the evaluation's
as-of day, or now if that is still to come. An evaluation as of a date counts the evidence that
occurred and was recorded by the end of that day, so a judgment of a finished period made today
counts in the evaluation as of the period's end; a judgment of a running period counts from now on.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import Field

from .base import Frozen, Num, end_of_day
from .evidence import Evidence, Judgment, Retraction
from .indicators import ChecklistMethod, Indicator, IndicatorSystem, JudgmentMethod
from .results import ScoredIndicator

JudgedKey = tuple[str, str | None]  # (indicator, point); point None: the leaf judged as a whole
ItemStatus = Literal["to_judge", "computed", "judged"]


def judgment_moment(as_of: date, now: datetime) -> datetime:
    """When a judgment made at `now` for the evaluation as of `as_of` happens (and is recorded):
    the end of the as-of day in China, or `now` if that is earlier."""
    return min(end_of_day(as_of), now)


def evaluator_source(key_id: str) -> str:
    """The `source` of a judgment made under an evaluator's API key: the key, named as in the audit
    trail (intake refuses another; the workbench sends it)."""
    return f"evaluator:{key_id}"


@dataclass(frozen=True, slots=True)
class _Correction:
    target: str
    event_id: str
    retracts: bool
    recorded_at: datetime


def judgments_in_force(events: Iterable[Evidence], cutoff: datetime | None = None) -> dict[JudgedKey, Judgment]:
    """The judgment in force for each (indicator, point) among a project's judgments and the
    corrections and retractions among `events` (other events are ignored). With `cutoff`, only
    events that occurred and were recorded by then count (as an evaluation as of a date counts them)."""
    judgments: list[Judgment] = []
    corrections: dict[str, list[_Correction]] = {}
    for event in events:
        if cutoff is not None and (event.occurred_at > cutoff or event.recorded_at > cutoff):
            continue
        if isinstance(event, Retraction):
            note = _Correction(event.payload.event, event.id, True, event.recorded_at)
            corrections.setdefault(note.target, []).append(note)
        elif event.corrects is not None:
            note = _Correction(event.corrects.event, event.id, False, event.recorded_at)
            corrections.setdefault(note.target, []).append(note)
        if isinstance(event, Judgment):
            judgments.append(event)
    left_out: set[str] = set()
    for target, notes in corrections.items():
        latest = max(notes, key=lambda n: (n.recorded_at, n.event_id))
        left_out.add(target)
        left_out.update(n.event_id for n in notes if n is not latest and not n.retracts)
    in_force: dict[JudgedKey, Judgment] = {}
    for judgment in judgments:
        if judgment.id in left_out:
            continue
        key = (judgment.payload.indicator, judgment.payload.point)
        held = in_force.get(key)
        if held is None or (judgment.recorded_at, judgment.id) > (held.recorded_at, held.id):
            in_force[key] = judgment
    return in_force


def competing_overrides(
    events: Iterable[Evidence], in_force: dict[JudgedKey, Judgment]
) -> dict[JudgedKey, tuple[Judgment, ...]]:
    """For each judgment in force that is an override, the other judgments that override the same
    judgment and are not corrected or retracted themselves: made concurrently, left out by the
    latest-stands rule, and not yet seen by anyone who decided between them."""
    events = list(events)
    targeted = {t for e in events if (t := _target(e)) is not None}
    rivals: dict[str, list[Judgment]] = {}
    for event in events:
        if isinstance(event, Judgment) and event.corrects is not None and event.id not in targeted:
            rivals.setdefault(event.corrects.event, []).append(event)
    contested: dict[JudgedKey, tuple[Judgment, ...]] = {}
    for key, held in in_force.items():
        if held.corrects is None:
            continue
        others = tuple(
            sorted(
                (j for j in rivals.get(held.corrects.event, ()) if j.id != held.id),
                key=lambda j: (j.recorded_at, j.id),
            )
        )
        if others:
            contested[key] = others
    return contested


def override_problem(event: Judgment, in_force: dict[JudgedKey, Judgment]) -> tuple[str, str] | None:
    """(field, message) when `event` re-judges a leaf or point whose judgment in force it does not
    name in `corrects` (an override must say which judgment it replaces, and why); None when it may
    be accepted. The judgment in force itself, sent again, is no override."""
    p = event.payload
    held = in_force.get((p.indicator, p.point))
    if held is None or held.id == event.id:
        return None
    what = f"indicator {p.indicator!r}" + (f" point {p.point!r}" if p.point is not None else "")
    if event.corrects is None:
        return (
            "corrects",
            f"{what} already has judgment {held.id!r} in force (awarded {held.payload.awarded}); an override"
            f" names it with a reason: corrects: {{event: {held.id!r}, reason}}"
            f" (改判须在 corrects 中注明被改判的评分记录 {held.id} 及理由)",
        )
    if not event.corrects.reason.strip():
        return ("corrects.reason", f"{what}: an override states its reason (改判须填写理由)")
    if event.corrects.event != held.id:
        return (
            "corrects.event",
            f"{what}: the judgment in force is {held.id!r}, not {event.corrects.event!r}; an override names"
            f" the judgment in force (改判须注明现行评分记录 {held.id})",
        )
    return None


def _target(event: Evidence) -> str | None:
    if isinstance(event, Retraction):
        return event.payload.event
    return event.corrects.event if event.corrects is not None else None


def push_override_problems(stored: Iterable[Evidence], pushed: list[Evidence]) -> list[tuple[int, str, str]]:
    """(position in `pushed`, field, message) for each judgment of a push that re-judges a leaf or
    point with a judgment in force without naming it in `corrects`, or names one with a blank reason.
    `stored`: the project's judgments and retractions accepted before; `pushed`: the push's events of
    the project. The push counts as a whole, in any order: a judgment it corrects or retracts is not
    in force, and a judgment already stored (a replay) is not a new one."""
    stored = list(stored)
    stored_ids = {e.id for e in stored}
    corrected = {t for e in [*stored, *pushed] if (t := _target(e)) is not None}
    judgment_ids = stored_ids | {e.id for e in pushed if isinstance(e, Judgment)}
    in_force = {k: v for k, v in judgments_in_force(stored).items() if v.id not in corrected}
    problems: list[tuple[int, str, str]] = []
    for position, event in enumerate(pushed):
        if not isinstance(event, Judgment) or event.id in stored_ids:
            continue
        c = event.corrects
        if c is not None and c.event in judgment_ids and not c.reason.strip():
            what = f"indicator {event.payload.indicator!r}"
            problems.append((position, "corrects.reason", f"{what}: an override states its reason (改判须填写理由)"))
            continue
        if event.id in corrected:
            continue  # superseded or withdrawn within this push: never in force
        key = (event.payload.indicator, event.payload.point)
        held = in_force.get(key)
        if held is None or held.id == event.id:
            in_force[key] = event
            continue
        problem = override_problem(event, {key: held})
        if problem is not None:
            problems.append((position, *problem))
    return problems


class ComputedResult(Frozen):
    """What the facts give where the definition computes a point (its rule), or the leaf's result."""

    score: Num | None = Field(default=None, description="the computed points, when the leaf's explanation states them")
    explanation: str = Field(description="the arithmetic, in Chinese")
    evidence: tuple[str, ...] = Field(default=(), description="the leaf's evidence ids behind the computed part")
    findings: tuple[str, ...] = ()


class JudgmentInForce(Frozen):
    event: str
    awarded: Num
    reason: str
    by: str = Field(description="the evaluator named in the judgment, else its source")
    source: str
    occurred_at: datetime
    recorded_at: datetime
    counted: bool = Field(
        default=True, description="false: made after the evaluation's as-of day, so it does not count in it yet"
    )


class JudgingItem(Frozen):
    indicator: str
    point: str | None = None
    path: tuple[str, ...] = Field(description="the indicator names from level 1 down to the leaf")
    name: str = Field(description="the leaf's name, or the point's text for a checklist point")
    criterion: str = Field(description="评分标准: the point's text, or the leaf's criterion as written")
    max: Num
    status: ItemStatus
    computed: ComputedResult | None = None
    judgment: JudgmentInForce | None = None
    competing: tuple[JudgmentInForce, ...] = Field(
        default=(),
        description="改判冲突: overrides of the same judgment made at the same time as the one in force, left"
        " out by the latest-stands rule; to be reviewed (an override of the judgment in force settles it)",
    )
    findings: tuple[str, ...] = Field(default=(), description="the findings that bear on the leaf (ids)")


class JudgingList(Frozen):
    as_of: date | None = None
    items: tuple[JudgingItem, ...]
    to_judge: int = Field(description="items with neither a judgment nor a computed result (待评)")
    judged: int
    contested: int = Field(default=0, description="items whose judgment in force has competing overrides (改判冲突)")


def judging_list(
    system: IndicatorSystem,
    scored: Iterable[ScoredIndicator],
    in_force: dict[JudgedKey, Judgment],
    as_of: date | None = None,
    competing: dict[JudgedKey, tuple[Judgment, ...]] | None = None,
) -> JudgingList:
    """Every judged leaf (method judgment) and checklist point of `system`, in tree order with the
    items still to judge (待评) first; `scored` is the score tree (for computed points), `in_force`
    what `judgments_in_force` gives (a judgment made after the end of `as_of` is shown, marked as
    not counted in that evaluation), `competing` what `competing_overrides` gives."""
    cutoff = end_of_day(as_of) if as_of is not None else None
    by_id = {node.id: node for top in scored for node in top.walk()}
    items: list[JudgingItem] = []
    for top in system.indicators:
        _collect(top, (), by_id, in_force, cutoff, items)
    if competing:
        items = [_with_competing(item, competing.get((item.indicator, item.point), ()), cutoff) for item in items]
    order = {"to_judge": 0, "computed": 1, "judged": 2}
    # stable: tree order within each status; a contested judgment first among the judged
    items.sort(key=lambda item: (order[item.status], not item.competing))
    return JudgingList(
        as_of=as_of,
        items=tuple(items),
        to_judge=sum(1 for i in items if i.status == "to_judge"),
        judged=sum(1 for i in items if i.status == "judged"),
        contested=sum(1 for i in items if i.competing),
    )


def _with_competing(item: JudgingItem, rivals: tuple[Judgment, ...], cutoff: datetime | None) -> JudgingItem:
    if not rivals:
        return item
    return item.model_copy(update={"competing": tuple(v for r in rivals if (v := _view(r, cutoff)) is not None)})


def _collect(
    node: Indicator,
    above: tuple[str, ...],
    by_id: dict[str, ScoredIndicator],
    in_force: dict[JudgedKey, Judgment],
    cutoff: datetime | None,
    out: list[JudgingItem],
) -> None:
    path = (*above, node.name)
    for child in node.children:
        _collect(child, path, by_id, in_force, cutoff, out)
    method = node.method
    leaf = by_id.get(node.id)
    judgment_ids = {j.id for (indicator, _), j in in_force.items() if indicator == node.id}
    if isinstance(method, JudgmentMethod):
        held = in_force.get((node.id, None))
        criterion = node.description.strip() or (
            f"指标值：{node.target}" if node.target else "指标体系未列明评分标准，由评价组综合判定"
        )
        out.append(
            JudgingItem(
                indicator=node.id,
                path=path,
                name=node.name,
                criterion=criterion,
                max=node.weight,
                status="judged" if held is not None else "to_judge",
                judgment=_view(held, cutoff),
                findings=tuple(leaf.findings or ()) if leaf is not None else (),
            )
        )
    elif isinstance(method, ChecklistMethod):
        texts = [p.text for p in method.points]
        for point in method.points:
            held = in_force.get((node.id, point.id))
            computed = None
            if point.when is not None and leaf is not None:
                computed = _computed_part(leaf, point.text, texts, judgment_ids)
            status: ItemStatus = "judged" if held is not None else "computed" if computed is not None else "to_judge"
            out.append(
                JudgingItem(
                    indicator=node.id,
                    point=point.id,
                    path=path,
                    name=point.text,
                    criterion=point.text,
                    max=point.max,
                    status=status,
                    computed=computed,
                    judgment=_view(held, cutoff),
                    findings=tuple(leaf.findings or ()) if leaf is not None else (),
                )
            )


COMPUTED_MARK = "按事实计算得 "


def _computed_part(leaf: ScoredIndicator, text: str, texts: list[str], judgment_ids: set[str]) -> ComputedResult | None:
    """A computed point's part of the leaf's explanation (the scorer writes one part per point,
    `text：…`, in the points' order) with the leaf's evidence other than its judgments; None while
    the facts do not decide it yet."""
    explanation = leaf.explanation or ""
    start = explanation.find(f"{text}：")
    if start < 0:
        return None
    end = len(explanation)
    for other in texts:
        if other == text:
            continue
        found = explanation.find(f"；{other}：", start)
        if found >= 0:
            end = min(end, found)
    part = explanation[start + len(text) + 1 : end]
    if COMPUTED_MARK not in part:
        return None  # pending: the facts do not decide it yet
    number = part.split(COMPUTED_MARK, 1)[1].split(" ", 1)[0].split("/", 1)[0]  # "0.5/1 分" or "0.5 分"
    try:
        score: Decimal | None = Decimal(number)
    except ArithmeticError:
        score = None
    evidence = tuple(e for e in (leaf.evidence or ()) if e not in judgment_ids)
    return ComputedResult(score=score, explanation=part, evidence=evidence, findings=tuple(leaf.findings or ()))


def _view(judgment: Judgment | None, cutoff: datetime | None) -> JudgmentInForce | None:
    if judgment is None:
        return None
    p = judgment.payload
    return JudgmentInForce(
        event=judgment.id,
        awarded=p.awarded,
        reason=p.reason,
        by=p.evaluator or judgment.source,
        source=judgment.source,
        occurred_at=judgment.occurred_at,
        recorded_at=judgment.recorded_at,
        counted=cutoff is None or max(judgment.occurred_at, judgment.recorded_at) <= cutoff,
    )
