"""What a project's evidence may refer to, and whether an event's references resolve.

A typo in a reference must not silently change a score: an inspection for a plan the contract does
not have, a judgment for an indicator that does not exist or above its maximum, a fault of a
severity the SLA does not know. The same checks serve the bundle loader, the ledger's fold and the
intake service, so an event is refused alike wherever it comes in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from difflib import get_close_matches
from typing import TYPE_CHECKING, Any

from .evidence import (
    AssetCount,
    ClockIn,
    DeliverableSubmitted,
    Evidence,
    Incident,
    InspectionDone,
    Judgment,
    RosterEntry,
    SurveyResponse,
    VendorAssessment,
)
from .indicators import ChecklistMethod, JudgmentMethod

if TYPE_CHECKING:
    from .project import ProjectDefinition


class EvidenceReferenceError(ValueError):
    """An event refers to something its project does not define (a contract, a plan …)."""

    def __init__(self, field_path: str, message: str) -> None:
        super().__init__(message)
        self.field_path = field_path


# Kinds the ledger folds per contract: in a project of several contracts they must name one.
NEEDS_CONTRACT = (RosterEntry, ClockIn, DeliverableSubmitted, InspectionDone, Incident, VendorAssessment)


def known(names: Iterable[str], wanted: str | None = None) -> str:
    """The names to choose from, as a parenthesis for an error message: all of them when they are
    few, else the close matches of `wanted` (a long list hides the one that was meant)."""
    names = sorted(set(names))
    if not names:
        return "(none defined)"
    if len(names) <= 12:
        return f"(known: {', '.join(names)})"
    close = get_close_matches(wanted, names, n=3) if wanted else []
    return f"(did you mean {' or '.join(repr(n) for n in close)}?)" if close else f"({len(names)} defined)"


@dataclass(frozen=True, slots=True)
class _Judged:
    """A leaf scored by judgment: its maximum, or its checklist points with theirs."""

    maximum: Decimal
    points: dict[str, Decimal] | None  # None: judged as a whole


class EvidenceReferences:
    """The references of one project definition, indexed once for checking many events."""

    def __init__(self, definition: ProjectDefinition) -> None:
        contracts = definition.contracts.contracts
        self.contracts = {c.id: c for c in contracts}
        self.default_contract = contracts[0].id if len(contracts) == 1 else None
        self.plans = {c.id: {p.id for p in c.inspections} for c in contracts}
        self.deliverables = {c.id: {d.id for d in c.deliverables} for c in contracts}
        self.severities = {c.id: {s.severity for s in c.slas} for c in contracts}
        self.asset_classes = {c.id: {a.asset_class for a in c.assets} for c in contracts}
        self.surveys = {c.id: {d.survey for d in c.surveys if d.survey is not None} for c in contracts}
        self.methods: dict[str, str] = {}
        self.judged: dict[str, _Judged] = {}
        for top in definition.indicators.indicators:
            for node in top.walk():
                self.methods[node.id] = node.method.type if node.method is not None else "children"
                if isinstance(node.method, JudgmentMethod):
                    self.judged[node.id] = _Judged(node.weight, None)
                elif isinstance(node.method, ChecklistMethod):
                    self.judged[node.id] = _Judged(node.weight, {p.id: p.max for p in node.method.points})

    def contract_of(self, event: Evidence) -> str | None:
        """The contract an event is folded under (its own, or the project's only one); raises if
        it names an unknown contract or names none where several make it ambiguous."""
        contract = event.contract or self.default_contract
        if contract is not None and contract not in self.contracts:
            raise EvidenceReferenceError("contract", f"unknown contract {event.contract!r} {known(self.contracts)}")
        if contract is None and isinstance(event, NEEDS_CONTRACT):
            raise EvidenceReferenceError(
                "contract", f"the project has several contracts: name one {known(self.contracts)}"
            )
        return contract

    def check(self, event: Evidence) -> str | None:
        """Raise EvidenceReferenceError for the first reference of the event that does not resolve;
        return the contract it is folded under. (On the fold's hot path: the common case, a kind
        with nothing to check under a known contract, costs two lookups.)"""
        contract = event.contract or self.default_contract
        if contract is None or contract not in self.contracts:
            contract = self.contract_of(event)
        checker = _CHECKS.get(type(event))
        if checker is not None:
            checker(self, event, contract)
        return contract

    def kind_check(self, cls: type) -> Callable[[Any, str | None], None] | None:
        """The check of the references particular to one kind of event, if it has any (bound to these
        references; `check` runs it after resolving the contract)."""
        checker = _CHECKS.get(cls)
        return checker.__get__(self) if checker is not None else None

    # ------------------------------------------------------------ per kind

    def _inspection(self, event: InspectionDone, contract: str | None) -> None:
        assert contract is not None  # NEEDS_CONTRACT
        plan = event.payload.plan
        if plan not in self.plans[contract]:
            raise self.unknown_plan(contract, plan)

    def unknown_plan(self, contract: str, plan: str) -> EvidenceReferenceError:
        """The error of an inspection for a plan its contract does not have (the ledger's fold finds
        the plan itself)."""
        return EvidenceReferenceError(
            "payload.plan", f"contract {contract!r} has no inspection plan {plan!r} {known(self.plans[contract], plan)}"
        )

    def _deliverable(self, event: DeliverableSubmitted, contract: str | None) -> None:
        assert contract is not None  # NEEDS_CONTRACT
        wanted = event.payload.deliverable
        if wanted not in self.deliverables[contract]:
            raise EvidenceReferenceError(
                "payload.deliverable",
                f"contract {contract!r} has no deliverable {wanted!r} {known(self.deliverables[contract], wanted)}",
            )

    def _incident(self, event: Incident, contract: str | None) -> None:
        assert contract is not None  # NEEDS_CONTRACT
        severities = self.severities[contract]
        if severities and event.payload.severity not in severities:
            raise EvidenceReferenceError(
                "payload.severity",
                f"contract {contract!r} defines no SLA severity {event.payload.severity!r} {known(severities)}",
            )

    def _asset_count(self, event: AssetCount, contract: str | None) -> None:
        scope = [contract] if contract is not None else list(self.contracts)
        classes = {a for c in scope for a in self.asset_classes[c]}
        wanted = event.payload.asset_class
        if classes and wanted not in classes:
            whose = f"contract {contract!r}" if contract is not None else "no contract"
            verb = "lists no" if contract is not None else "lists"
            raise EvidenceReferenceError(
                "payload.asset_class", f"{whose} {verb} assets of class {wanted!r} {known(classes, wanted)}"
            )

    def _survey(self, event: SurveyResponse, contract: str | None) -> None:
        # Only against a contract the event names itself: a response that names none may be the
        # evaluators' own questionnaire, which no contract duty lists.
        if event.contract is None or contract is None:
            return
        surveys = self.surveys[contract]
        if surveys and event.payload.survey not in surveys:
            raise EvidenceReferenceError(
                "payload.survey",
                f"no survey duty of contract {contract!r} names survey {event.payload.survey!r} {known(surveys)}",
            )

    def _judgment(self, event: Judgment, contract: str | None) -> None:
        p = event.payload
        judged = self.judged.get(p.indicator)
        if judged is None:
            method = self.methods.get(p.indicator)
            if method is None:
                message = f"unknown indicator {p.indicator!r} {known(self.judged, p.indicator)}"
            elif method == "children":
                message = f"indicator {p.indicator!r} sums its children; judge one of its leaves"
            else:
                message = f"indicator {p.indicator!r} is scored by the {method} method, not by judgment"
            raise EvidenceReferenceError("payload.indicator", message)
        if judged.points is None:
            if p.point is not None:
                raise EvidenceReferenceError(
                    "payload.point", f"indicator {p.indicator!r} is judged as a whole and has no point {p.point!r}"
                )
            maximum, what = judged.maximum, f"the weight of indicator {p.indicator!r}"
        else:
            if p.point is None:
                raise EvidenceReferenceError(
                    "payload.point",
                    f"indicator {p.indicator!r} is scored by checklist points: name one {known(judged.points)}",
                )
            if p.point not in judged.points:
                raise EvidenceReferenceError(
                    "payload.point",
                    f"indicator {p.indicator!r} has no checklist point {p.point!r} {known(judged.points, p.point)}",
                )
            maximum, what = judged.points[p.point], f"the maximum of point {p.point!r}"
        if p.awarded > maximum:
            raise EvidenceReferenceError("payload.awarded", f"awarded {p.awarded} is more than {what} ({maximum})")


_CHECKS: dict[type, Callable[[EvidenceReferences, Any, str | None], None]] = {
    InspectionDone: EvidenceReferences._inspection,
    DeliverableSubmitted: EvidenceReferences._deliverable,
    Incident: EvidenceReferences._incident,
    AssetCount: EvidenceReferences._asset_count,
    SurveyResponse: EvidenceReferences._survey,
    Judgment: EvidenceReferences._judgment,
}
