"""The facts rules match: measure values per contract (and per subject for a measure grouped by a
field), each remembering the Measurement behind it so a finding can cite its evidence."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from opseval_shared.indicators import MetricRef
from opseval_shared.metrics import Measurement, MetricContext

from .definitions import PROJECT_MEASURE

FactKey = tuple[str, str, str]  # measure, contract, subject


@dataclass(frozen=True, slots=True)
class MeasureFacts:
    facts: list[dict[str, Any]]
    behind: dict[FactKey, Measurement]

    def evidence(self, keys: Iterable[FactKey]) -> list[str]:
        return sorted({e for key in keys if key in self.behind for e in self.behind[key].evidence})


def listed(items: Iterable[str]) -> str:
    """Names listed with 、; phrases that hold a ， listed with ；, as Chinese separates clauses."""
    items = list(items)
    return ("；" if any("，" in i for i in items) else "、").join(items)


def _number(value: Any) -> float | None:
    return None if value is None else float(value)


def measure_facts(ctx: MetricContext, measure_ids: Iterable[str], project_ids: Iterable[str] = ()) -> MeasureFacts:
    """One fact per measure and contract; a measure grouped `by` a field gives one per subject instead.
    `project_ids`: measures also evaluated over the whole project, facts of contract "" under the
    measure id PROJECT_MEASURE + id (the rules of `scope: project` match those)."""
    facts: list[dict[str, Any]] = []
    behind: dict[FactKey, Measurement] = {}
    library = ctx.ledger.definition.measures
    contracts = [c.id for c in ctx.ledger.definition.contracts.contracts]
    scopes: list[tuple[str, str | None]] = [(m, cid) for m in sorted(set(measure_ids)) for cid in contracts]
    scopes += [(m, None) for m in sorted(set(project_ids))]
    for measure_id, contract_id in scopes:
        defn = library.get(measure_id)
        value = ctx.measure_value(MetricRef(name=measure_id, contract=contract_id))
        grouped = defn is not None and defn.by is not None
        pairs = value.subjects.items() if grouped else [("", value.total)]
        name = measure_id if contract_id is not None else PROJECT_MEASURE + measure_id
        for subject, m in pairs:
            behind[(name, contract_id or "", subject)] = m
            facts.append(
                {
                    "t": "measure",
                    "measure": name,
                    "contract": contract_id or "",
                    "subject": subject,
                    "value": float(m.value),
                    "numerator": _number(m.numerator),
                    "denominator": _number(m.denominator),
                    "evidence": len(m.evidence),
                    "actual": m.actual,
                    "items": listed(m.items),
                    "item_list": list(m.items),
                    "label": value.labels.get(subject, subject),
                }
            )
    return MeasureFacts(facts, behind)
