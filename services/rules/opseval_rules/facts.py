"""The facts rules match: measure values per contract (and per subject for a measure grouped by a
field), each remembering the Measurement behind it so a finding can cite its evidence."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from opseval_shared.base import SortedIds, merge_ids
from opseval_shared.indicators import MetricRef
from opseval_shared.metrics import Measurement, MetricContext
from opseval_shared.sources import Record

FactKey = tuple[str, str, str]  # measure, contract, subject


@dataclass(frozen=True, slots=True)
class MeasureFacts:
    facts: list[dict[str, Any]]
    behind: dict[FactKey, Measurement]
    rows: dict[FactKey, list[Record]]

    def evidence(self, keys: Iterable[FactKey]) -> SortedIds:
        # The measurements' ids are sorted runs already (SortedIds): merged, not hashed into a set and sorted
        # again (up to a million ids per finding at 1M events), and given to the finding as they are.
        return merge_ids(self.behind[key].evidence for key in keys if key in self.behind)

    def records(self, fact: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The fields of the records behind a fact (those its measure selected), in the source's order."""
        key = (str(fact.get("measure")), str(fact.get("contract")), str(fact.get("subject")))
        return [r.fields for r in self.rows.get(key, ())]


def listed(items: Iterable[str]) -> str:
    """Names listed with 、; phrases that hold a ， listed with ；, as Chinese separates clauses."""
    items = list(items)
    return ("；" if any("，" in i for i in items) else "、").join(items)


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def measure_facts(ctx: MetricContext, measure_ids: Iterable[str], project_ids: Iterable[str] = ()) -> MeasureFacts:
    """One fact per measure and contract; a measure grouped `by` a field gives one per subject instead.
    The measures in `project_ids` also give the project's as a whole (contract "")."""
    facts: list[dict[str, Any]] = []
    behind: dict[FactKey, Measurement] = {}
    rows: dict[FactKey, list[Record]] = {}
    library = ctx.ledger.definition.measures
    whole = set(project_ids)
    for measure_id in sorted(set(measure_ids) | whole):
        defn = library.get(measure_id)
        scopes: list[str | None] = [c.id for c in ctx.ledger.definition.contracts.contracts]
        if measure_id in whole:
            scopes.append(None)
        for scope in scopes:
            cid = scope or ""
            value = ctx.measure_value(MetricRef(name=measure_id, contract=scope))
            grouped = defn is not None and defn.by is not None
            pairs = value.subjects.items() if grouped else [("", value.total)]
            for subject, m in pairs:
                if m.is_rate and not m.denominator:
                    continue  # 0 of nothing due or recorded is no fact: no rule judges it
                behind[(measure_id, cid, subject)] = m
                rows[(measure_id, cid, subject)] = value.subject_rows.get(subject, []) if grouped else value.rows
                facts.append(
                    {
                        "t": "measure",
                        "measure": measure_id,
                        "contract": cid,
                        "subject": subject,
                        "label": value.labels.get(subject, subject),
                        "value": float(m.value),
                        "numerator": _number(m.numerator),
                        "denominator": _number(m.denominator),
                        "evidence": len(m.evidence),
                        "actual": m.actual,
                        "items": listed(m.items),
                    }
                )
    return MeasureFacts(facts, behind, rows)
