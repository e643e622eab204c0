"""Two evaluations of one project side by side: how the total, the grade, each leaf's score and the
findings changed from one to the other (a finalised version against a later one, or against the
evaluation as it stands now)."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from .base import Frozen, Num
from .results import EvaluationResult, Finding, ScoredIndicator, Status


class LeafChange(Frozen):
    """A leaf whose score or status differs between the two evaluations."""

    id: str
    name: str
    path: tuple[str, ...] = Field(description="the names of the indicators above it, level 1 first")
    weight: Num
    before: Num | None = Field(description="its score in the first evaluation; null when the leaf is not in it")
    after: Num | None = Field(description="its score in the second evaluation; null when the leaf is not in it")
    delta: Num = Field(description="after − before (a missing score counts as 0)")
    status_before: Status | None
    status_after: Status | None


class Comparison(Frozen):
    """What changed from `before` to `after`."""

    project: str
    as_of_before: date
    as_of_after: date
    total_before: Num
    total_after: Num
    total_delta: Num
    grade_before: str
    grade_after: str
    leaves: tuple[LeafChange, ...] = Field(description="the leaves that changed, in the order of the indicator tree")
    unchanged: int = Field(description="how many leaves kept their score and status")
    findings_added: tuple[Finding, ...] = Field(description="findings of `after` that `before` does not have")
    findings_removed: tuple[Finding, ...] = Field(description="findings of `before` that `after` no longer has")


def _leaves(
    nodes: tuple[ScoredIndicator, ...], above: tuple[str, ...] = ()
) -> dict[str, tuple[tuple[str, ...], ScoredIndicator]]:
    out: dict[str, tuple[tuple[str, ...], ScoredIndicator]] = {}
    for node in nodes:
        if node.children:
            out.update(_leaves(node.children, (*above, node.name)))
        else:
            out[node.id] = (above, node)
    return out


def compare(before: EvaluationResult, after: EvaluationResult) -> Comparison:
    """How `after` differs from `before` (two evaluations of the same project)."""
    if before.project != after.project:
        raise ValueError(f"cannot compare evaluations of two projects ({before.project!r} and {after.project!r})")
    old, new = _leaves(before.indicators), _leaves(after.indicators)
    changes: list[LeafChange] = []
    unchanged = 0
    # the tree order of `after`, then the leaves only `before` has
    for leaf_id in [*new, *(i for i in old if i not in new)]:
        was, now = old.get(leaf_id), new.get(leaf_id)
        if was and now and (was[1].score, was[1].status) == (now[1].score, now[1].status):
            unchanged += 1
            continue
        entry = now or was
        if entry is None:  # pragma: no cover - every id comes from one of the two trees
            continue
        path, leaf = entry
        changes.append(
            LeafChange(
                id=leaf_id,
                name=leaf.name,
                path=path,
                weight=leaf.weight,
                before=was[1].score if was else None,
                after=now[1].score if now else None,
                delta=(now[1].score if now else 0) - (was[1].score if was else 0),
                status_before=was[1].status if was else None,
                status_after=now[1].status if now else None,
            )
        )
    old_ids, new_ids = {f.id for f in before.findings}, {f.id for f in after.findings}
    return Comparison(
        project=after.project,
        as_of_before=before.as_of,
        as_of_after=after.as_of,
        total_before=before.total,
        total_after=after.total,
        total_delta=after.total - before.total,
        grade_before=before.grade,
        grade_after=after.grade,
        leaves=tuple(changes),
        unchanged=unchanged,
        findings_added=tuple(f for f in after.findings if f.id not in old_ids),
        findings_removed=tuple(f for f in before.findings if f.id not in new_ids),
    )
