"""The evidence ledger: a fold of evidence events into the compact state rules and scores read.

Raw events are not kept: a year of a large building is a million events, and what the rules and
the scores need is per-duty counts, per-day first clock-ins, per-ticket latest state and the ids
that prove each of them. Folding is order-independent (latest `recorded_at`, then id, wins
wherever one record supersedes another), so the same events in any order give the same ledger.

Corrections (更正) and retractions (撤回) leave the event they name out of the fold: the ledger is
the one the other events alone would give. Of several corrections of one event the latest
(`recorded_at`, then id) is in force, and the earlier replacements are left out too. A correction
that arrives after the event it names was taken in makes the ledger `stale` until the caller hands
back what `to_unfold` names to `unfold`, which takes that event out of the fold again (and brings back
what it had displaced); the few cases `unfold` cannot undo exactly leave the ledger stale, and the
caller folds the same events again into `Ledger(..., left_out=ledger.left_out)`, which sets them
aside as they come.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from datetime import time as TimeOfDay
from decimal import Decimal
from enum import IntEnum
from itertools import compress
from typing import Any, Generic, TypeVar

from pydantic_core import TzInfo

from .base import CHINA_OFFSET, CHINA_TZ, DateRange, IdLog, end_of_day
from .calendar import at
from .derived import Derived
from .evidence import (
    KIND_OF_CLASS,
    AcceptanceResultPayload,
    AssetCountPayload,
    BudgetCalculationPayload,
    BudgetFigurePayload,
    DeliverableSubmittedPayload,
    Evidence,
    EvidenceKind,
    IncidentPayload,
    InspectionDone,
    JudgmentPayload,
    Retraction,
    RosterEntryPayload,
    SelfEvaluationRowPayload,
    TicketVolumePayload,
    TrainingHeldPayload,
    UnitRatePayload,
    VendorAssessmentPayload,
)
from .project import ProjectDefinition
from .references import EvidenceReferenceError, EvidenceReferences

__all__ = [
    "CorrectionNote",
    "EvidenceReferenceError",
    "Ledger",
    "MonthEndFold",
    "Outcome",
    "fold_all",
    "fold_resolving",
]


class Outcome(IntEnum):
    ADDED = 1
    REPLAYED = 2  # the id was folded before: the caller decides whether the content is the same
    AFTER_AS_OF = 3
    OUTSIDE_PERIOD = 4  # about a time outside the evaluation period: counted, never folded
    CORRECTION = 5  # a retraction: it names an event to leave out and folds nothing itself
    CORRECTED = 6  # corrected or retracted by another event: left out


# The outcomes as plain module names: an Enum class's attribute lookup goes through its metaclass's
# __getattr__ hook, which costs more than a dict lookup on a path taken once per event.
ADDED, REPLAYED, AFTER_AS_OF, OUTSIDE_PERIOD, CORRECTION, CORRECTED = (
    Outcome.ADDED,
    Outcome.REPLAYED,
    Outcome.AFTER_AS_OF,
    Outcome.OUTSIDE_PERIOD,
    Outcome.CORRECTION,
    Outcome.CORRECTED,
)


@dataclass(frozen=True, slots=True)
class CorrectionNote:
    """One event correcting (superseding) or retracting another."""

    target: str  # the event it names
    event_id: str  # the correcting event
    retracts: bool
    recorded_at: datetime
    reason: str
    by: str | None
    source: str

    def order(self) -> tuple[datetime, str]:
        return (self.recorded_at, self.event_id)


T = TypeVar("T")


@dataclass(slots=True)
class Recorded(Generic[T]):
    """A payload with the event that proves it."""

    event_id: str
    occurred_at: datetime
    recorded_at: datetime
    contract: str | None
    payload: T


@dataclass(slots=True)
class Submission:
    event_id: str
    submitted_at: datetime
    period_start: date | None
    period_end: date | None
    quantity: int
    title: str
    sections: tuple[str, ...]
    document_ref: str = ""


@dataclass(slots=True)
class InspectionLog:
    per_day: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    ids: IdLog = field(default_factory=IdLog)
    late_done: IdLog = field(default_factory=IdLog)
    late_registered: IdLog = field(default_factory=IdLog)
    # inspections done late or registered late (each once) per day, to count them per plan period
    late_per_day: dict[int, int] = field(default_factory=lambda: defaultdict(int))


@dataclass(slots=True)
class _PlanSink:
    """Where one plan's inspections fold to, with its limits and registration deadlines per day."""

    log: InspectionLog
    done_by: TimeOfDay | None
    register_by: TimeOfDay | None
    register_days: int | None
    deadlines: dict[int, datetime] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # The deadline is that clock time in China whatever offset the definition wrote with it (as
        # `at` builds it), so it is compared as a wall-clock time.
        if self.register_by is not None:
            self.register_by = self.register_by.replace(tzinfo=None)


@dataclass(slots=True)
class SurveyTally:
    satisfied: int = 0
    total: int = 0
    ids: IdLog = field(default_factory=IdLog)


# Tzinfo classes of a fixed offset, the same at every moment: the offset is asked of the tzinfo
# itself, which costs a third of datetime.utcoffset's round trip (that hands the datetime to
# pydantic-core's TzInfo, the tzinfo of every parsed timestamp). Any other tzinfo is asked as usual.
_FIXED_OFFSET_TZ = frozenset({timezone, TzInfo})


def _utc_offset(moment: datetime) -> timedelta | None:
    tz = moment.tzinfo
    if type(tz) in _FIXED_OFFSET_TZ:
        return tz.utcoffset(None)  # type: ignore[union-attr]
    return moment.utcoffset()


def _registered_after(recorded: datetime, ordinal: int, by: TimeOfDay, deadlines: dict[int, datetime]) -> bool:
    """Whether an inspection done on day `ordinal` (China) was registered after `by` that day."""
    if _utc_offset(recorded) == CHINA_OFFSET:
        # Wall-clock comparison in the deadline's own offset: no aware datetime is built or compared.
        day = recorded.toordinal()
        return day > ordinal or (day == ordinal and recorded.time() > by)
    deadline = deadlines.get(ordinal)
    if deadline is None:
        deadline = deadlines[ordinal] = at(date.fromordinal(ordinal), by)
    return recorded > deadline


def _newer(a: Recorded[Any] | None, recorded_at: datetime, event_id: str) -> bool:
    return a is None or (recorded_at, event_id) > (a.recorded_at, a.event_id)


Fold = Callable[["Ledger", dict[str, Any], str | None], None]  # an event's fields, its contract
Check = Callable[[Any, str | None], None]  # an event's references particular to its kind, its contract
Outside = Callable[["Ledger", Any], date | None]  # the day an event is about, when outside the period


class Ledger:
    """Fold state of one project's evidence up to the end of an as-of day."""

    def __init__(self, definition: ProjectDefinition, as_of: date, left_out: frozenset[str] = frozenset()) -> None:
        """`left_out`: ids known to be corrected or retracted (a stale ledger's `left_out`)."""
        self.definition = definition
        self.project_id = definition.project.id
        self.as_of = as_of
        self.cutoff = end_of_day(as_of)
        self._as_of_next = as_of + timedelta(days=1)
        self._contracts = {c.id: c for c in definition.contracts.contracts}
        self._default_contract = definition.contracts.contracts[0].id if len(self._contracts) == 1 else None
        self.inspections: dict[tuple[str, str], InspectionLog] = {}
        self._plans: dict[tuple[str, str], _PlanSink] = {}
        for c in definition.contracts.contracts:
            for p in c.inspections:
                log = self.inspections[(c.id, p.id)] = InspectionLog()
                self._plans[(c.id, p.id)] = _PlanSink(log, p.done_by, p.register_by, p.register_within_days)
        self._deliverable_ids = {(c.id, d.id) for c in definition.contracts.contracts for d in c.deliverables}
        self._references = EvidenceReferences(definition)
        self.facts_window = definition.project.evaluation.facts_window
        self._facts_first, self._facts_last = self.facts_window.start, self.facts_window.end
        self._facts_years = range(self._facts_first.year, self._facts_last.year + 1)
        # Per kind of event, everything its fold needs, found with one lookup: the reference check,
        # the days certainly inside the period, the check of the time it is about, the fold.
        self._kinds: dict[type, tuple[Check | None, date, date, Outside, Fold]] = {
            cls: (self._references.kind_check(cls), *self._inside_days(_OUTSIDE[cls]), _OUTSIDE[cls], _FOLD[cls])
            for cls in _FOLD
        }
        # The same for `add_many`'s events, which are certainly folded: a kind whose fold resolves its
        # references itself (and raises as the check would) is not checked twice.
        self._quick: dict[type, tuple[Check | None, date, date, Fold]] = {
            cls: (None if cls in _FOLD_CHECKS else check, first, last, fold)
            for cls, (check, first, last, _, fold) in self._kinds.items()
        }
        self.outside_period = 0
        self.outside_by_kind: dict[str, int] = {}
        self.outside_span: tuple[date, date] | None = None  # the earliest and latest day they are about
        # Every id taken in, with where the caller got it: a set to ask (one probe of one table at a
        # million ids, where a dict probes its index and its entries) and the origins in arrival order,
        # indexed by id only when a replay asks for one.
        self._seen: set[str] = set()
        self._arrived: list[str] = []
        self._origins = array("q")
        self._origin_of: dict[str, int] = {}
        self._indexed = 0  # how many of `_arrived` `_origin_of` indexes (an id arrives again after `move_to`)
        self._counts: dict[type, int] = dict.fromkeys(KIND_OF_CLASS, 0)
        self.duplicates = 0
        self.after_as_of = 0
        # Corrections by the event they name; the ids they leave out. Stale: an event was taken in
        # (folded, or refused for a reference that does not resolve) before a correction left it out.
        self._corrections: dict[str, list[CorrectionNote]] = {}
        self._later_corrections: list[CorrectionNote] = []  # made after the as-of date: not in force
        # The ids the as-of date held back (AFTER_AS_OF), and how many corrections made after it were
        # left out (CORRECTED): what `move_to` gives back and undoes, so the date moves without a refold.
        self._held_back: list[str] = []
        self._later_corrected = 0
        self._left_out: set[str] = set(left_out)
        # The ids the corrections taken in leave out, whatever `left_out` said from the start.
        self._noted_out: set[str] = set()
        self.corrected = 0
        self._stale = False  # only a refold brings it back (see `stale`)
        # Ids a late correction left out after they were taken in, waiting for `unfold`.
        self._pending: list[str] = []
        # The fold keeps one record per ticket, person and day, and so on (a slot): the ids of every
        # event folded into a slot that more than one was folded into, so a winner taken out is
        # replaced by the best of the others (`unfold`). Few: most slots only ever take one event.
        self._rivals: dict[tuple[Any, ...], list[str]] = {}
        self._slot_of: dict[str, tuple[Any, ...]] = {}
        self.derived = Derived()  # what evaluations derive from single records, kept between them

        self.roster: dict[tuple[str, str], Recorded[RosterEntryPayload]] = {}
        # (contract, staff) -> day ordinal -> (earliest clock-in minute of day, event id, site)
        self.first_clock_in: dict[tuple[str, str], dict[int, tuple[int, str, str | None]]] = defaultdict(dict)
        self._end_of_day_contracts = {c.id for c in definition.contracts.contracts if c.staffing.day_end is not None}
        # (contract, staff) -> day ordinal -> (latest clock-out minute of day, event id); kept only for
        # contracts whose working hours have an end (early leave): a million clock-outs of a contract
        # without one cost neither time nor memory
        self.last_clock_out: dict[tuple[str, str], dict[int, tuple[int, str]]] = defaultdict(dict)
        self.submissions: dict[tuple[str, str], list[Submission]] = defaultdict(list)
        self.trainings: list[Recorded[TrainingHeldPayload]] = []
        self.incidents: dict[tuple[str, str], Recorded[IncidentPayload]] = {}
        self.ticket_volumes: list[Recorded[TicketVolumePayload]] = []
        self.surveys: dict[tuple[str, str, str | None], SurveyTally] = defaultdict(SurveyTally)
        self.survey_aspects: dict[tuple[str, str, str], SurveyTally] = defaultdict(SurveyTally)
        self._aspect_tallies: dict[tuple[str, str], dict[str, SurveyTally]] = {}
        self.budget: list[Recorded[BudgetFigurePayload]] = []
        self.unit_rates: list[Recorded[UnitRatePayload]] = []
        self.calculations: list[Recorded[BudgetCalculationPayload]] = []
        self.assessments: list[Recorded[VendorAssessmentPayload]] = []
        self.acceptances: list[Recorded[AcceptanceResultPayload]] = []
        self.assets: dict[str, Recorded[AssetCountPayload]] = {}
        self.judgments: dict[tuple[str, str | None], Recorded[JudgmentPayload]] = {}
        self.self_rows: list[Recorded[SelfEvaluationRowPayload]] = []

    # ------------------------------------------------------------ folding

    def add(self, event: Evidence, origin: int = 0) -> Outcome:
        """Fold one event in, remembering `origin` (where the caller got it) under its id.

        An id seen before is not folded again (REPLAYED): the caller compares the content with the
        first event, found through `origin_of`, since only it can fetch that event back.
        """
        # This runs once per event. The event's fields are read from its __dict__: pydantic's
        # BaseModel defines __getattr__, which makes every attribute read of a model a detour
        # through a hook of several type lookups.
        f = event.__dict__
        if f["project"] != self.project_id:
            raise EvidenceReferenceError(
                "project", f"event belongs to project {event.project!r}, the bundle defines {self.project_id!r}"
            )
        eid = f["id"]
        seen = self._seen
        if eid in seen:
            self.duplicates += 1
            return REPLAYED
        seen.add(eid)
        self._arrived.append(eid)
        self._origins.append(origin)
        cls = type(event)
        if cls is Retraction or f["corrects"] is not None:  # (every envelope has the field)
            note = _correction_note(event)
            after = self._after_cutoff(event.occurred_at) or self._after_cutoff(event.recorded_at)
            if after:  # a correction counts from the day it is made, as any evidence does
                self._later_corrections.append(note)
            else:
                self._note_correction(note)
            if cls is Retraction:
                if after:
                    self.after_as_of += 1
                    self._held_back.append(eid)
                    return AFTER_AS_OF
                return CORRECTION
        if eid in self._left_out:
            # Before the references: an event corrected for a typo is not an error any more.
            self.corrected += 1
            later = self._later_corrections
            if later and later[-1].event_id == eid:  # a correction made after the as-of date, just noted
                self._later_corrected += 1
            return CORRECTED
        check, inside_first, inside_last, outside, fold = self._kinds[cls]
        # Every reference is checked, also of events the as-of date or the period leave out: a
        # typo is a typo whatever the date. (EvidenceReferences.check, its common case inline.)
        contract = f["contract"] or self._default_contract
        if contract not in self._contracts:  # (None too)
            contract = self._references.contract_of(event)
        if check is not None:
            check(event, contract)
        occurred = f["occurred_at"]
        day = occurred.date()  # in the event's own offset
        # Whatever their offsets, two moments dated before the as-of day are before its end in China.
        if (day >= self.as_of or f["recorded_at"].date() >= self.as_of) and (
            self._after_cutoff(occurred) or self._after_cutoff(f["recorded_at"])
        ):
            self.after_as_of += 1
            self._held_back.append(eid)
            return AFTER_AS_OF
        if not inside_first <= day <= inside_last:  # else certainly inside the period (see _inside_days)
            about = outside(self, event)
            if about is not None:
                self._count_outside(event, about)
                return OUTSIDE_PERIOD
        fold(self, f, contract)  # (raises, if at all, before it changes anything)
        self._counts[cls] += 1
        return ADDED

    def add_many(self, events: Iterable[tuple[Evidence, int]]) -> Evidence | None:
        """Fold events in, each with its origin, as `add` folds them one by one, until one whose id
        was folded before: that event is returned (REPLAYED, for the caller to compare) and the rest
        are left in the iterator. None when every event was folded. An event whose references do not
        resolve raises EvidenceReferenceError, taken in as `add` takes it; the caller may go on
        folding the rest of the iterator.

        For a whole fold (a bundle's, a project's stored events): the events `add` folds in its common
        case (under a known contract, dated before the as-of day and inside the period, not a
        correction) are folded here with its steps bound once, and every other event goes through
        `add` itself."""
        add = self.add
        seen = self._seen
        take = seen.add
        arrive = self._arrived.append
        note_origin = self._origins.append
        left_out = self._left_out
        project = self.project_id
        contracts = self._contracts
        default = self._default_contract
        as_of = self.as_of
        quick = self._quick
        counts = self._counts
        for event, origin in events:
            f = event.__dict__
            eid = f["id"]
            day = f["occurred_at"].date()  # in the event's own offset (see `add`)
            contract = f["contract"] or default
            cls = type(event)
            kind = quick.get(cls)  # (none for a retraction)
            if (
                kind is None
                or eid in seen
                or f["project"] != project
                or f["corrects"] is not None
                or eid in left_out
                or contract not in contracts
                or day >= as_of
                or f["recorded_at"].date() >= as_of
                or not kind[1] <= day <= kind[2]
            ):
                if add(event, origin) is REPLAYED:
                    return event
                continue
            take(eid)
            arrive(eid)
            note_origin(origin)
            check, _, _, fold = kind
            if check is not None:
                check(event, contract)
            fold(self, f, contract)
            counts[cls] += 1
        return None

    def _note_correction(self, note: CorrectionNote) -> None:
        notes = self._corrections.setdefault(note.target, [])
        notes.append(note)
        latest = max(notes, key=CorrectionNote.order)
        # The event named, and any earlier replacement of it the latest correction displaces.
        out = {note.target, *(n.event_id for n in notes if n is not latest and not n.retracts)}
        self._noted_out |= out
        for eid in out - self._left_out:
            self._left_out.add(eid)
            if eid != note.event_id and eid in self._seen:
                self._pending.append(eid)

    @property
    def stale(self) -> bool:
        """Whether an event taken in is left out by a correction that came after it: `unfold` takes it
        out, or the caller folds the events again (`left_out`)."""
        return self._stale or bool(self._pending)

    @stale.setter
    def stale(self, value: bool) -> None:
        self._stale = value

    @property
    def unfolds(self) -> bool:
        """Whether `unfold` can bring a stale ledger up to date (else it is folded again)."""
        return bool(self._pending) and not self._stale

    def to_unfold(self) -> list[str]:
        """The ids of the events `unfold` needs: each a late correction left out after it was taken in,
        and those folded into the same record as one of them (the one kept in its place may be any)."""
        wanted = dict.fromkeys(self._pending)
        for eid in self._pending:
            slot = self._slot_of.get(eid)
            if slot is not None:
                wanted.update(dict.fromkeys(self._rivals[slot]))
        return list(wanted)

    def unfold(self, events: Iterable[Evidence]) -> list[str]:
        """Take out of the fold each event a late correction left out after it was taken in, as if it
        had been left out from the start: `events` are those `to_unfold` names (the first of each id
        taken in; others are ignored). Afterwards the ledger is the one a fold of every event gives,
        or, where that cannot be undone exactly (an event outside the period at an end of the days
        outside it, an event missing from `events`), still `stale`, to be folded again. Returns the
        ids taken out (no longer set aside for a reference that does not resolve, if they were)."""
        pending, self._pending = self._pending, []
        by_id: dict[str, Evidence] = {}
        for given in events:
            by_id.setdefault(given.id, given)
        for eid in pending:
            event = by_id.get(eid)
            try:
                if event is None or not self._unfold_one(event, by_id):
                    self._stale = True
            except _Missing:
                self._stale = True
            if self._stale:
                break
        return pending

    def _unfold_one(self, event: Evidence, by_id: dict[str, Evidence]) -> bool:
        """One event out of the fold, its outcome changed to CORRECTED as `add` would have given it.
        False when that cannot be done exactly."""
        f = event.__dict__
        cls = type(event)
        if cls is Retraction:
            return True  # noted whether left out or not, and it folds nothing
        eid = f["id"]
        after = self._after_cutoff(f["occurred_at"]) or self._after_cutoff(f["recorded_at"])
        try:
            # As `add` met it: each step raises, if at all, before anything changes.
            contract = f["contract"] or self._default_contract
            if contract not in self._contracts:
                contract = self._references.contract_of(event)
            check, _, _, outside, _ = self._kinds[cls]
            if check is not None:
                check(event, contract)
            if after:
                self.after_as_of -= 1
                self._held_back.remove(eid)
            else:
                about = outside(self, event)
                if about is not None:
                    if not self._uncount_outside(event, about):
                        return False
                else:
                    _UNFOLD[cls](self, f, contract, by_id)
                    self._counts[cls] -= 1
        except EvidenceReferenceError:
            pass  # set aside when it came; left out, it is never checked
        self.corrected += 1
        if f["corrects"] is not None and after:  # a correction made after the as-of date (see `add`)
            self._later_corrected += 1
        return True

    def _uncount_outside(self, event: Evidence, day: date) -> bool:
        span = self.outside_span
        assert span is not None
        if self.outside_period == 1:
            span = None
        elif not span[0] < day < span[1]:
            return False  # the span's end may be this event's day alone: only a refold knows
        self.outside_period -= 1
        self.outside_span = span
        kind = KIND_OF_CLASS[type(event)].value
        self.outside_by_kind[kind] -= 1
        if not self.outside_by_kind[kind]:
            del self.outside_by_kind[kind]
        return True

    def _contend(self, slot: tuple[Any, ...], *ids: str) -> None:
        """Events folded into one slot (see `_rivals`): the one it holds and a newcomer."""
        group = self._rivals.get(slot)
        if group is None:
            group = self._rivals[slot] = []
        for eid in ids:
            if self._slot_of.get(eid) != slot:
                group.append(eid)
                self._slot_of[eid] = slot

    def _leave(self, slot: tuple[Any, ...], eid: str) -> list[str]:
        """The event out of its slot: the ids of the others still folded in it, not left out."""
        group = self._rivals.get(slot)
        if group is None or self._slot_of.get(eid) != slot:
            return []
        group.remove(eid)
        del self._slot_of[eid]
        rest = [r for r in group if r not in self._left_out]
        if len(group) == 1:  # one is no rivalry: a newcomer makes it a group again
            del self._rivals[slot]
            del self._slot_of[group[0]]
        return rest

    def _contract_of(self, event: Evidence) -> str | None:
        """The contract `add` folds an event under."""
        contract = event.__dict__["contract"] or self._default_contract
        return contract if contract in self._contracts else self._references.contract_of(event)

    @property
    def left_out(self) -> frozenset[str]:
        """The ids corrections leave out so far (to fold a stale ledger's events again)."""
        return frozenset(self._left_out)

    @property
    def noted_out(self) -> frozenset[str]:
        """The ids the corrections taken in leave out (a fold told to leave out exactly these from the
        start, that is not stale, is the fold of the same events told nothing)."""
        return frozenset(self._noted_out)

    def corrections(self, *, also_later: bool = False) -> list[CorrectionNote]:
        """Every correction taken in, by the event it names, then in the order they were made; with
        `also_later`, those made after the as-of date too (left out of the fold, but what they name is
        checked as any reference is, whatever the date)."""
        notes = [n for notes in self._corrections.values() for n in notes]
        if also_later:
            notes += self._later_corrections
        return sorted(notes, key=lambda n: (n.target, *n.order()))

    def in_force(self, note: CorrectionNote) -> bool:
        """Whether a correction is the latest of those naming its event."""
        return max(self._corrections[note.target], key=CorrectionNote.order) is note

    def received(self, event_id: str) -> bool:
        """Whether an event with this id was taken in (folded or not)."""
        return event_id in self._seen

    def _after_cutoff(self, moment: datetime) -> bool:
        # Comparing aware datetimes of different tzinfo objects is slow; a date compare is not.
        # Whatever its UTC offset (−12…+14 h), a moment dated before the as-of day is before the
        # end of that day in China, and one dated two days after it is after: only the two days
        # in between need the exact comparison.
        day = moment.date()
        if day < self.as_of:
            return False
        return day > self._as_of_next or moment > self.cutoff

    # ------------------------------------------------------------ the evaluation period

    # Each kind is about some time: a moment, a stated period, a fiscal year. An event about a
    # time outside the period (or the facts window the evaluators declared) is counted and left
    # out, so it can neither score nor raise a finding. Each check returns the day the event is
    # about when it is outside, else None.

    def _day(self, moment: datetime) -> date:
        return moment.date() if moment.utcoffset() == CHINA_OFFSET else moment.astimezone(CHINA_TZ).date()

    def _moment_outside(self, event: Evidence) -> date | None:
        """A fact of the service at a moment (a clock-in, an inspection, a fault …)."""
        day = self._day(event.occurred_at)
        return day if day < self._facts_first or day > self._facts_last else None

    def _stated_period_outside(self, event: Evidence) -> date | None:
        """A fact about the period it states (an assessment of December, handed in January)."""
        p = event.payload
        start: date | None = getattr(p, "period_start", None)
        end: date | None = getattr(p, "period_end", None)
        if start is None and end is None:
            return self._account_outside(event)
        if (end or start) < self._facts_first:  # type: ignore[operator]
            return end or start
        if (start or end) > self._facts_last:  # type: ignore[operator]
            return start or end
        return None

    def _account_outside(self, event: Evidence) -> date | None:
        """An account of the period written at or after its end (a judgment, a self-evaluation, the
        year's questionnaire, a report that states no period): outside only when written before it."""
        day = self._day(event.occurred_at)
        return day if day < self._facts_first else None

    def _state_outside(self, event: Evidence) -> date | None:
        """A state in force from when it was recorded (a roster, an asset count): outside only when
        recorded after the period."""
        day = self._day(event.occurred_at)
        return day if day > self._facts_last else None

    def _fiscal_year_outside(self, event: Evidence) -> date | None:
        year: int = event.payload.fiscal_year  # type: ignore[union-attr]
        return None if year in self._facts_years else date(year, 1, 1)

    def _never_outside(self, event: Evidence) -> date | None:
        """Documents of the budget's preparation: written before the period, about it."""
        return None

    def _inside_days(self, outside: Outside) -> tuple[date, date]:
        """The days, dated in an event's own offset, on which a kind checked by `outside` is certainly
        inside the period, so the check is skipped (most events). A moment's day in China is at most
        one day before and two after its day in its own offset (offsets are within ±24 h of UTC)."""
        first, last = self._facts_first, self._facts_last
        if outside is Ledger._moment_outside:
            return first + timedelta(days=1), last - timedelta(days=2)
        if outside is Ledger._account_outside:
            return first + timedelta(days=1), date.max
        if outside is Ledger._state_outside:
            return date.min, last - timedelta(days=2)
        if outside is Ledger._never_outside:
            return date.min, date.max
        return date.max, date.min  # always checked: the time it is about is in its payload

    def _count_outside(self, event: Evidence, day: date) -> None:
        self.outside_period += 1
        kind = KIND_OF_CLASS[type(event)].value
        self.outside_by_kind[kind] = self.outside_by_kind.get(kind, 0) + 1
        span = self.outside_span
        self.outside_span = (day, day) if span is None else (min(span[0], day), max(span[1], day))

    def origins_of(self, event_ids: Iterable[str]) -> dict[str, int]:
        """The origin of each of a few ids taken in (as `origin_of` gives it), found in one pass over
        the ids taken in instead of indexing every one of them (a million, for a few corrections)."""
        wanted = set(event_ids)
        arrived, origins = self._arrived, self._origins
        found: dict[str, int] = {}
        for i in compress(range(len(arrived)), map(wanted.__contains__, arrived)):
            found[arrived[i]] = origins[i]  # (an id taken in again after `move_to`: its latest origin)
        return found

    def origin_of(self, event_id: str) -> int | None:
        index, arrived = self._origin_of, self._arrived
        for i in range(self._indexed, len(arrived)):  # extended by what arrived since the last ask
            index[arrived[i]] = self._origins[i]
        self._indexed = len(arrived)
        return index.get(event_id)

    def advance(self, as_of: date) -> None:
        """Move the as-of date forward (a timeline folds its evidence once, in time order): valid when
        no event after the new cutoff was added — those after the old one must be added again after it."""
        if as_of < self.as_of:
            raise ValueError(f"a ledger moves forward only: {as_of} is before {self.as_of}")
        self.as_of = as_of
        self.cutoff = end_of_day(as_of)
        self._as_of_next = as_of + timedelta(days=1)

    def move_to(self, as_of: date) -> list[str]:
        """Move the as-of date forward without folding again: the ids of the events the old date held
        back (after it, and corrections made after it) are given back and forgotten, and the caller
        adds those events again, so each gets the outcome a fold of every event as of the new date
        gives it. One that brings a correction into force against an event already folded makes the
        ledger `stale`, as a correction arriving late does."""
        if as_of < self.as_of:
            raise ValueError(f"a ledger moves forward only: {as_of} is before {self.as_of}")
        held = list(dict.fromkeys([*self._held_back, *(n.event_id for n in self._later_corrections)]))
        if self._pending:
            # `unfold` takes an event out as the date it was folded under met it: not after a move.
            self._stale = True
        self.advance(as_of)
        self._seen.difference_update(held)
        self.after_as_of -= len(self._held_back)
        self.corrected -= self._later_corrected
        self._held_back, self._later_corrected, self._later_corrections = [], 0, []
        return held

    def absorb(self, part: Ledger) -> None:
        """Take in the state `part` folded, as if its events had been added here (the fold does not
        depend on their order): a month-end timeline folds each month into its own ledger and absorbs
        them one after another. `part` must share this ledger's ids (`MonthEndFold` makes them share
        them) and is emptied; neither may hold a correction (a correction can leave out an event
        folded before it, which is only undone by folding again)."""
        if self._corrections or part._corrections or self._left_out or part._left_out:
            raise ValueError("a ledger with corrections is folded again, not absorbed")
        if part._seen is not self._seen:
            raise ValueError("only a ledger sharing this ledger's ids is absorbed")
        self.outside_period += part.outside_period
        for kind, n in part.outside_by_kind.items():
            self.outside_by_kind[kind] = self.outside_by_kind.get(kind, 0) + n
        if part.outside_span is not None:
            first, last = part.outside_span
            span = self.outside_span
            self.outside_span = (first, last) if span is None else (min(span[0], first), max(span[1], last))
        for cls, n in part._counts.items():
            self._counts[cls] += n
        self.duplicates += part.duplicates
        self.after_as_of += part.after_as_of
        self._later_corrections += part._later_corrections
        self._held_back += part._held_back
        self._later_corrected += part._later_corrected
        for key, log in part.inspections.items():
            mine = self.inspections[key]
            for ordinal, n in log.per_day.items():
                mine.per_day[ordinal] += n
            for ordinal, n in log.late_per_day.items():
                mine.late_per_day[ordinal] += n
            mine.ids += log.ids
            mine.late_done += log.late_done
            mine.late_registered += log.late_registered
        # The part's contended slots, and those each folded an event into (see `_rivals`).
        for slot, ids in part._rivals.items():
            self._contend(slot, *ids)
        _absorb_latest(self.roster, part.roster, self._contend, "roster")
        _absorb_latest(self.incidents, part.incidents, self._contend, "incident")
        _absorb_latest(self.assets, part.assets, self._contend, "asset")
        _absorb_latest(self.judgments, part.judgments, self._contend, "judgment")
        for key, days in part.first_clock_in.items():
            mine_in = self.first_clock_in.get(key)
            if mine_in is None:
                self.first_clock_in[key] = days
                continue
            for ordinal, first_in in days.items():  # the earliest minute wins, on a tie the smallest id
                current = mine_in.get(ordinal)
                if current is not None:
                    self._contend(("in", *key, ordinal), current[1], first_in[1])
                if current is None or first_in[:2] < current[:2]:
                    mine_in[ordinal] = first_in
        for key, leaves in part.last_clock_out.items():
            mine_out = self.last_clock_out.get(key)
            if mine_out is None:
                self.last_clock_out[key] = leaves
                continue
            for ordinal, (minute, eid) in leaves.items():  # the latest minute wins, on a tie the smallest id
                latest = mine_out.get(ordinal)
                if latest is not None:
                    self._contend(("out", *key, ordinal), latest[1], eid)
                if latest is None or minute > latest[0] or (minute == latest[0] and eid < latest[1]):
                    mine_out[ordinal] = (minute, eid)
        for key, subs in part.submissions.items():
            self.submissions[key] += subs
        for name in _APPENDED:
            getattr(self, name).extend(getattr(part, name))
        for survey_key, tally in part.surveys.items():
            _absorb_tally(self.surveys[survey_key], tally)
        for (survey, group, aspect), tally in part.survey_aspects.items():
            by_aspect = self._aspect_tallies.get((survey, group))
            if by_aspect is None:
                by_aspect = self._aspect_tallies[(survey, group)] = {}
            mine_tally = by_aspect.get(aspect)
            if mine_tally is None:
                mine_tally = by_aspect[aspect] = self.survey_aspects[(survey, group, aspect)]
            _absorb_tally(mine_tally, tally)
        part._empty()

    def _empty(self) -> None:
        """Drop the folded state (after `absorb` took it): what it held now belongs to another ledger."""
        self.inspections = {}
        self._plans = {}
        self.roster, self.incidents, self.assets, self.judgments = {}, {}, {}, {}
        self.first_clock_in, self.last_clock_out = defaultdict(dict), defaultdict(dict)
        self.submissions = defaultdict(list)
        for name in _APPENDED:
            setattr(self, name, [])
        self.surveys, self.survey_aspects = defaultdict(SurveyTally), defaultdict(SurveyTally)
        self._aspect_tallies = {}
        self._rivals, self._slot_of = {}, {}

    @property
    def events(self) -> int:
        """Events folded in (not replays, not after the as-of date, not outside the period)."""
        return sum(self._counts.values())

    @property
    def by_kind(self) -> dict[str, int]:
        return {KIND_OF_CLASS[cls].value: n for cls, n in self._counts.items() if n}

    def _need_contract(self, contract: str | None) -> str:
        if contract is None:
            raise EvidenceReferenceError("contract", "the project has several contracts: name one")
        return contract

    # Each fold takes the event's fields (its __dict__, see `add`) and the contract it is folded under.

    def _add_inspection_done(self, f: dict[str, Any], contract: str | None) -> None:
        p = f["payload"].__dict__
        plan = self._plans.get((contract, p["plan"]))  # type: ignore[arg-type]
        if plan is None:  # (the reference check's error: `add_many` leaves the check to the fold)
            raise self._references.unknown_plan(self._need_contract(contract), p["plan"])
        occurred: datetime = f["occurred_at"]
        tz = occurred.tzinfo  # (_utc_offset, inline: this runs for most events of a large bundle)
        in_china = (tz.utcoffset(None) if type(tz) in _FIXED_OFFSET_TZ else occurred.utcoffset()) == CHINA_OFFSET  # type: ignore[union-attr]
        done = occurred if in_china else occurred.astimezone(CHINA_TZ)
        ordinal = done.toordinal()
        log = plan.log
        log.per_day[ordinal] += p["items"]
        eid = f["id"]
        log.ids.append(eid)
        late = plan.done_by is not None and done.time() > plan.done_by
        if late:
            log.late_done.append(eid)
        if plan.register_by is not None:
            recorded_at: datetime = f["recorded_at"]
            rtz = recorded_at.tzinfo  # _registered_after's common case, inline: registered in China's offset
            if (rtz.utcoffset(None) if type(rtz) in _FIXED_OFFSET_TZ else recorded_at.utcoffset()) == CHINA_OFFSET:  # type: ignore[union-attr]
                day = recorded_at.toordinal()
                registered_late = day > ordinal or (day == ordinal and recorded_at.time() > plan.register_by)
            else:
                registered_late = _registered_after(recorded_at, ordinal, plan.register_by, plan.deadlines)
            if registered_late:  # (late either way, counted once: done late and registered in time is late)
                log.late_registered.append(eid)
                late = True
        elif plan.register_days is not None:
            recorded: datetime = f["recorded_at"]
            # Late when more than register_days whole days passed. Both in China's offset (nearly
            # always), a registration dated within that many days of the day done is on time without
            # building the aware difference.
            within_by_date = (
                in_china
                and _utc_offset(recorded) == CHINA_OFFSET
                and recorded.toordinal() - ordinal <= plan.register_days
            )
            if not within_by_date and (recorded - occurred).days > plan.register_days:
                log.late_registered.append(eid)
                late = True
        if late:
            log.late_per_day[ordinal] += 1

    def _add_clock_in(self, f: dict[str, Any], contract: str | None) -> None:
        contract = self._need_contract(contract)
        p = f["payload"].__dict__
        if p["direction"] != "in":
            if contract in self._end_of_day_contracts:
                self._add_clock_out(f, contract)
            return
        local: datetime = f["occurred_at"]
        if _utc_offset(local) != CHINA_OFFSET:
            local = local.astimezone(CHINA_TZ)
        days = self.first_clock_in[(contract, p["staff"])]
        ordinal = local.toordinal()
        minute = local.hour * 60 + local.minute
        current = days.get(ordinal)
        eid = f["id"]
        if current is None:
            days[ordinal] = (minute, eid, p["site"])
            return
        self._contend(("in", contract, p["staff"], ordinal), current[1], eid)
        if (minute, eid) < current[:2]:
            days[ordinal] = (minute, eid, p["site"])

    def _add_clock_out(self, f: dict[str, Any], contract: str) -> None:
        local = f["occurred_at"].astimezone(CHINA_TZ)
        ordinal = local.toordinal()
        minute = local.hour * 60 + local.minute
        leaves = self.last_clock_out[(contract, f["payload"].staff)]
        latest = leaves.get(ordinal)
        eid = f["id"]
        if latest is not None:
            self._contend(("out", contract, f["payload"].staff, ordinal), latest[1], eid)
        # the latest minute wins, on a tie the smallest id: the fold is order-independent
        if latest is None or minute > latest[0] or (minute == latest[0] and eid < latest[1]):
            leaves[ordinal] = (minute, eid)

    def _add_deliverable_submitted(self, f: dict[str, Any], contract: str | None) -> None:
        contract = self._need_contract(contract)
        p: DeliverableSubmittedPayload = f["payload"]
        if (contract, p.deliverable) not in self._deliverable_ids:
            raise EvidenceReferenceError(
                "payload.deliverable", f"contract {contract!r} has no deliverable {p.deliverable!r}"
            )
        submission = Submission(
            f["id"], f["occurred_at"], p.period_start, p.period_end, p.quantity, p.title, p.sections, p.document_ref
        )
        self.submissions[(contract, p.deliverable)].append(submission)

    @staticmethod
    def _recorded(f: dict[str, Any], contract: str | None) -> Recorded:  # type: ignore[type-arg]
        return Recorded(f["id"], f["occurred_at"], f["recorded_at"], contract, f["payload"])

    def _add_roster_entry(self, f: dict[str, Any], contract: str | None) -> None:
        contract = self._need_contract(contract)
        key = (contract, f["payload"].name)
        current = self.roster.get(key)
        if current is not None:
            self._contend(("roster", *key), current.event_id, f["id"])
        if _newer(current, f["recorded_at"], f["id"]):
            self.roster[key] = self._recorded(f, contract)

    def _add_training_held(self, f: dict[str, Any], contract: str | None) -> None:
        self.trainings.append(self._recorded(f, contract))

    def _add_incident(self, f: dict[str, Any], contract: str | None) -> None:
        contract = self._need_contract(contract)
        key = (contract, f["payload"].ticket)
        current = self.incidents.get(key)
        if current is not None:
            self._contend(("incident", *key), current.event_id, f["id"])
        if _newer(current, f["recorded_at"], f["id"]):
            self.incidents[key] = self._recorded(f, contract)

    def _add_ticket_volume(self, f: dict[str, Any], contract: str | None) -> None:
        self.ticket_volumes.append(self._recorded(f, contract))

    def _add_survey_response(self, f: dict[str, Any], contract: str | None) -> None:
        p = f["payload"].__dict__
        eid = f["id"]
        survey, group, satisfied = p["survey"], p["group"], p["satisfied"]
        tally = self.surveys[(survey, group, p["level"])]
        tally.total += 1
        tally.satisfied += satisfied
        tally.ids.append(eid)
        aspects = p["aspects"]
        if aspects:
            # The tallies of one survey and group by aspect, found with one lookup per response
            # (the same objects as in survey_aspects, which is keyed by all three).
            by_aspect = self._aspect_tallies.get((survey, group))
            if by_aspect is None:
                by_aspect = self._aspect_tallies[(survey, group)] = {}
            for aspect, ok in aspects.items():
                a = by_aspect.get(aspect)
                if a is None:
                    a = by_aspect[aspect] = self.survey_aspects[(survey, group, aspect)]
                a.total += 1
                a.satisfied += ok
                a.ids.append(eid)

    def _add_budget_figure(self, f: dict[str, Any], contract: str | None) -> None:
        self.budget.append(self._recorded(f, contract))

    def _add_unit_rate(self, f: dict[str, Any], contract: str | None) -> None:
        self.unit_rates.append(self._recorded(f, contract))

    def _add_budget_calculation(self, f: dict[str, Any], contract: str | None) -> None:
        self.calculations.append(self._recorded(f, contract))

    def _add_vendor_assessment(self, f: dict[str, Any], contract: str | None) -> None:
        self.assessments.append(self._recorded(f, self._need_contract(contract)))

    def _add_acceptance_result(self, f: dict[str, Any], contract: str | None) -> None:
        self.acceptances.append(self._recorded(f, contract))

    def _add_asset_count(self, f: dict[str, Any], contract: str | None) -> None:
        key: str = f["payload"].asset_class
        current = self.assets.get(key)
        if current is not None:
            self._contend(("asset", key), current.event_id, f["id"])
        if _newer(current, f["recorded_at"], f["id"]):
            self.assets[key] = self._recorded(f, contract)

    def _add_judgment(self, f: dict[str, Any], contract: str | None) -> None:
        p = f["payload"]
        key = (p.indicator, p.point)
        current = self.judgments.get(key)
        if current is not None:
            self._contend(("judgment", *key), current.event_id, f["id"])
        if _newer(current, f["recorded_at"], f["id"]):
            self.judgments[key] = self._recorded(f, contract)

    def _add_self_evaluation_row(self, f: dict[str, Any], contract: str | None) -> None:
        self.self_rows.append(self._recorded(f, contract))

    # ------------------------------------------------------------ taking an event out again

    # Each takes out what the fold of the same kind put in, given the same fields and contract (with
    # the events of its slot, `by_id`), raising what the fold raises before it changes anything.

    def _unfold_inspection_done(self, f: dict[str, Any], contract: str | None, by_id: dict[str, Evidence]) -> None:
        p = f["payload"].__dict__
        plan = self._plans.get((contract, p["plan"]))  # type: ignore[arg-type]
        if plan is None:
            raise self._references.unknown_plan(self._need_contract(contract), p["plan"])
        # The event folded alone into an empty log says what it added to the plan's.
        log, plan.log = plan.log, InspectionLog()
        try:
            self._add_inspection_done(f, contract)
        finally:
            alone, plan.log = plan.log, log
        _subtract(log.per_day, alone.per_day)
        _subtract(log.late_per_day, alone.late_per_day)
        eid = f["id"]
        _drop_id(log.ids, eid)
        if alone.late_done:
            _drop_id(log.late_done, eid)
        if alone.late_registered:
            _drop_id(log.late_registered, eid)

    def _unfold_clock_in(self, f: dict[str, Any], contract: str | None, by_id: dict[str, Evidence]) -> None:
        contract = self._need_contract(contract)
        p = f["payload"].__dict__
        if p["direction"] != "in":
            if contract in self._end_of_day_contracts:
                self._unfold_clock_out(f, contract, by_id)
            return
        ordinal, _ = _china_minute(f["occurred_at"])
        key = (contract, p["staff"])
        rest = self._leave(("in", *key, ordinal), f["id"])
        days = self.first_clock_in.get(key)
        if days is None or ordinal not in days or days[ordinal][1] != f["id"]:
            return  # not the day's first: it changed nothing
        if rest:
            # The earliest of the others, as the fold picks it (its tuple is a new object, as the
            # fold's would be, so what was derived from the one taken out is not reused).
            firsts = []
            for rid in rest:
                r = _need(by_id, rid)
                _, minute = _china_minute(r.occurred_at)
                firsts.append((minute, rid, r.payload.site))  # type: ignore[union-attr]
            days[ordinal] = min(firsts, key=lambda first: first[:2])
        else:
            del days[ordinal]
            if not days:
                del self.first_clock_in[key]

    def _unfold_clock_out(self, f: dict[str, Any], contract: str, by_id: dict[str, Evidence]) -> None:
        ordinal, _ = _china_minute(f["occurred_at"])
        key = (contract, f["payload"].staff)
        rest = self._leave(("out", *key, ordinal), f["id"])
        leaves = self.last_clock_out.get(key)
        if leaves is None or ordinal not in leaves or leaves[ordinal][1] != f["id"]:
            return
        if rest:
            lasts = [(_china_minute(_need(by_id, rid).occurred_at)[1], rid) for rid in rest]
            leaves[ordinal] = min(lasts, key=lambda last: (-last[0], last[1]))  # (as the fold picks it)
        else:
            del leaves[ordinal]
            if not leaves:
                del self.last_clock_out[key]

    def _unfold_latest(
        self, records: dict[Any, Recorded[Any]], key: Any, slot: tuple[Any, ...], eid: str, by_id: dict[str, Evidence]
    ) -> None:
        """Out of a fold that keeps the latest record of each key: the latest of the others in its place."""
        rest = self._leave(slot, eid)
        current = records.get(key)
        if current is None or current.event_id != eid:
            return
        if not rest:
            del records[key]
            return
        latest = max((_need(by_id, rid) for rid in rest), key=lambda e: (e.recorded_at, e.id))
        records[key] = self._recorded(latest.__dict__, self._contract_of(latest))

    def _unfold_roster_entry(self, f: dict[str, Any], contract: str | None, by_id: dict[str, Evidence]) -> None:
        key = (self._need_contract(contract), f["payload"].name)
        self._unfold_latest(self.roster, key, ("roster", *key), f["id"], by_id)

    def _unfold_incident(self, f: dict[str, Any], contract: str | None, by_id: dict[str, Evidence]) -> None:
        key = (self._need_contract(contract), f["payload"].ticket)
        self._unfold_latest(self.incidents, key, ("incident", *key), f["id"], by_id)

    def _unfold_asset_count(self, f: dict[str, Any], contract: str | None, by_id: dict[str, Evidence]) -> None:
        key = f["payload"].asset_class
        self._unfold_latest(self.assets, key, ("asset", key), f["id"], by_id)

    def _unfold_judgment(self, f: dict[str, Any], contract: str | None, by_id: dict[str, Evidence]) -> None:
        p = f["payload"]
        key = (p.indicator, p.point)
        self._unfold_latest(self.judgments, key, ("judgment", *key), f["id"], by_id)

    def _unfold_deliverable_submitted(
        self, f: dict[str, Any], contract: str | None, by_id: dict[str, Evidence]
    ) -> None:
        contract = self._need_contract(contract)
        p: DeliverableSubmittedPayload = f["payload"]
        if (contract, p.deliverable) not in self._deliverable_ids:
            raise EvidenceReferenceError(
                "payload.deliverable", f"contract {contract!r} has no deliverable {p.deliverable!r}"
            )
        key = (contract, p.deliverable)
        subs = self.submissions[key]
        subs[:] = [s for s in subs if s.event_id != f["id"]]  # (a new list would be another object)
        if not subs:
            del self.submissions[key]

    def _unfold_survey_response(self, f: dict[str, Any], contract: str | None, by_id: dict[str, Evidence]) -> None:
        p = f["payload"].__dict__
        eid = f["id"]
        survey, group = p["survey"], p["group"]
        key = (survey, group, p["level"])
        _untally(self.surveys, key, eid, p["satisfied"])
        by_aspect = self._aspect_tallies.get((survey, group), {})
        for aspect, ok in p["aspects"].items():
            if _untally(self.survey_aspects, (survey, group, aspect), eid, ok):
                del by_aspect[aspect]
        if not by_aspect:
            self._aspect_tallies.pop((survey, group), None)

    def _unfold_vendor_assessment(self, f: dict[str, Any], contract: str | None, by_id: dict[str, Evidence]) -> None:
        self._need_contract(contract)
        _drop_record(self.assessments, f["id"])

    # ------------------------------------------------------------ reading

    def budget_sum(
        self, item: str, contract: str | None = None, fiscal_year: int | None = None
    ) -> tuple[Decimal, list[str]]:
        """Sum of a budget item, or the latest figure for point-in-time items (approved, price)."""
        rows = [
            r
            for r in self.budget
            if r.payload.item == item
            and (contract is None or r.contract == contract)
            and (fiscal_year is None or r.payload.fiscal_year == fiscal_year)
        ]
        if item in ("approved", "contract_price"):
            latest: dict[str | None, Recorded[BudgetFigurePayload]] = {}
            for r in rows:
                if _newer(latest.get(r.contract), r.recorded_at, r.event_id):
                    latest[r.contract] = r
            rows = list(latest.values())
        total = sum((r.payload.amount for r in rows), Decimal(0))
        return total, sorted(r.event_id for r in rows)

    def service_span(self, contract_id: str | None) -> DateRange:
        contracts = [self._contracts[contract_id]] if contract_id else list(self._contracts.values())
        return DateRange(
            start=min(c.service_period.start for c in contracts), end=max(c.service_period.end for c in contracts)
        )

    @property
    def evaluation_window(self) -> DateRange:
        return self.definition.project.evaluation.period


# The folds that only append a record: absorbed by concatenation.
_APPENDED = (
    "trainings",
    "ticket_volumes",
    "budget",
    "unit_rates",
    "calculations",
    "assessments",
    "acceptances",
    "self_rows",
)


class _Missing(Exception):
    """An event `unfold` needs was not given: the ledger stays stale."""


def _need(by_id: dict[str, Evidence], eid: str) -> Evidence:
    event = by_id.get(eid)
    if event is None:
        raise _Missing(eid)
    return event


def _china_minute(moment: datetime) -> tuple[int, int]:
    """The day (ordinal) and minute of the day of a moment in China, as the clock-in folds take them."""
    local = moment if _utc_offset(moment) == CHINA_OFFSET else moment.astimezone(CHINA_TZ)
    return local.toordinal(), local.hour * 60 + local.minute


def _subtract(counts: dict[int, int], taken: dict[int, int]) -> None:
    for ordinal, n in taken.items():
        left = counts[ordinal] - n
        if left:
            counts[ordinal] = left
        else:
            del counts[ordinal]  # (a fold of the others has no entry for the day)


def _drop_id(log: IdLog, eid: str) -> None:
    """An id out of a log, and out of the sorted form it keeps (see IdLog), which stays sorted."""
    log.drop(eid)


def _drop_record(records: list[Recorded[Any]], eid: str) -> None:
    records[:] = [r for r in records if r.event_id != eid]


def _untally(tallies: dict[Any, SurveyTally], key: Any, eid: str, satisfied: bool) -> bool:
    """A response out of a tally; True when none is left (the entry is gone, as in a fold of the others)."""
    tally = tallies[key]
    tally.total -= 1
    tally.satisfied -= satisfied
    _drop_id(tally.ids, eid)
    if tally.total:
        return False
    del tallies[key]
    return True


def _absorb_latest(
    mine: dict[Any, Recorded[Any]],
    theirs: dict[Any, Recorded[Any]],
    contend: Callable[..., None],
    slot: str,
) -> None:
    """The latest record of each key (`recorded_at`, then id) of two folds."""
    for key, rec in theirs.items():
        current = mine.get(key)
        if current is not None:
            contend((slot, *key) if isinstance(key, tuple) else (slot, key), current.event_id, rec.event_id)
        if _newer(current, rec.recorded_at, rec.event_id):
            mine[key] = rec


def _china_ordinal(moment: datetime) -> int:
    return (moment if _utc_offset(moment) == CHINA_OFFSET else moment.astimezone(CHINA_TZ)).toordinal()


def _absorb_tally(mine: SurveyTally, theirs: SurveyTally) -> None:
    mine.satisfied += theirs.satisfied
    mine.total += theirs.total
    mine.ids += theirs.ids


class MonthEndFold:
    """A project's evidence folded once for a timeline: each event into the ledger of the first of
    `days` by whose end it is known (the later of when it happened and when it was recorded), or of
    the last day when it is known only after that (counted there as after the as-of date). `at`
    then gives the ledger as of each day in turn, absorbing one month after another, so each day's
    evaluation costs one evaluation and no fold: the ledger as of the last day is the one a fold of
    every event as of that day gives.

    The ids are shared: a replay is found whichever month holds the first event. A correction can
    leave out an event folded in an earlier month, which absorbing cannot undo: `has_corrections`
    says to fold those events again by other means (`Ledger.advance` and refolds)."""

    def __init__(self, definition: ProjectDefinition, days: list[date]) -> None:
        if not days or days != sorted(days):
            raise ValueError("a timeline needs its days in order")
        self.days = days
        self.parts: list[Ledger | None] = [Ledger(definition, day) for day in days]
        first = self.parts[0]
        assert first is not None
        for part in self.parts[1:]:
            assert part is not None
            part._seen, part._arrived, part._origins = first._seen, first._arrived, first._origins
        self._first = first
        # The part of an event by the later of its two days in its own offsets, where that is certain:
        # a moment's day in China is within a day of its day in any offset (offsets are within ±24 h),
        # so a day two or more away from every month's end decides the part alone. The others (and
        # days beyond the table) are placed exactly.
        self._ordinals = [d.toordinal() for d in days]
        self._sure: dict[int, Ledger] = {}
        low, high = self._ordinals[0] - 400, self._ordinals[-1] + 400
        for ordinal in range(low, high + 1):
            near = {self._index(o) for o in (ordinal - 1, ordinal, ordinal + 1)}
            if len(near) == 1:
                part = self.parts[near.pop()]
                assert part is not None
                self._sure[ordinal] = part

    def _index(self, china_ordinal: int) -> int:
        """The part of an event known on a day (in China)."""
        return min(bisect_left(self._ordinals, china_ordinal), len(self._ordinals) - 1)

    def add(self, event: Evidence, origin: int = 0) -> Outcome:
        """Fold one event into its month's ledger (see `Ledger.add`)."""
        f = event.__dict__
        occurred: datetime = f["occurred_at"]
        recorded: datetime = f["recorded_at"]
        part = self._sure.get(max(occurred.toordinal(), recorded.toordinal()))
        if part is None:
            part = self.parts[self._index(max(_china_ordinal(occurred), _china_ordinal(recorded)))]
            assert part is not None
        return part.add(event, origin)

    def add_many(self, events: Iterable[tuple[Evidence, int]]) -> Evidence | None:
        """Fold events into their months' ledgers (see `Ledger.add_many`)."""
        add = self.add
        for event, origin in events:
            if add(event, origin) is REPLAYED:
                return event
        return None

    def origin_of(self, event_id: str) -> int | None:
        return self._first.origin_of(event_id)

    @property
    def has_corrections(self) -> bool:
        """Whether any event corrects or retracts another (whatever its date)."""
        return any(p is not None and (p._corrections or p._later_corrections) for p in self.parts)

    def at(self) -> Iterator[tuple[date, Ledger]]:
        """Each day with the ledger as of it: one ledger, moved forward, the later months absorbed into
        it as it goes (so a ledger handed out is valid only until the next is asked for)."""
        if self.has_corrections:
            raise ValueError("a fold with corrections is folded again, not absorbed")
        parts = [p for p in self.parts if p is not None]
        if len(parts) != len(self.days):
            raise ValueError("a fold is absorbed once")
        # As of each day, a fold of every event counts the replays of all of them, and the events of
        # the later months as after the as-of date: the counts are set as that fold would have them.
        duplicates = sum(p.duplicates for p in parts)
        after = [p.after_as_of for p in parts]
        later = [p.events + p.after_as_of + p.outside_period for p in parts]
        ledger = self._first
        for n, day in enumerate(self.days):
            part = parts[n]
            self.parts[n] = None
            if part is not ledger:
                ledger.advance(day)
                ledger.absorb(part)
            ledger.duplicates = duplicates
            ledger.after_as_of = sum(after[: n + 1]) + sum(later[n + 1 :])
            yield day, ledger


def _correction_note(event: Evidence) -> CorrectionNote:
    if isinstance(event, Retraction):
        p = event.payload
        return CorrectionNote(p.event, event.id, True, event.recorded_at, p.reason, p.by, event.source)
    c = event.corrects
    assert c is not None
    return CorrectionNote(c.event, event.id, False, event.recorded_at, c.reason, c.by, event.source)


def fold_all(
    definition: ProjectDefinition, as_of: date, events: Callable[[], Iterable[Evidence]]
) -> tuple[Ledger, dict[str, EvidenceReferenceError]]:
    """A project's stored events folded, each whose references do not resolve (against a definition
    changed since it was accepted) set aside and returned by id instead of stopping the fold; a
    ledger a late correction made stale is folded again (`events` is called once more)."""
    left_out: frozenset[str] = frozenset()
    while True:
        ledger = Ledger(definition, as_of, left_out)
        unresolved = fold_resolving(ledger, events())
        if not ledger.stale:
            return ledger, unresolved
        left_out = ledger.left_out  # a second fold knows every correction from the start


def fold_resolving(ledger: Ledger | MonthEndFold, events: Iterable[Evidence]) -> dict[str, EvidenceReferenceError]:
    """Events folded into a ledger, each whose references do not resolve set aside and returned by id."""
    unresolved: dict[str, EvidenceReferenceError] = {}
    event: Evidence | None = None  # the event being folded

    def with_origins() -> Iterator[tuple[Evidence, int]]:
        nonlocal event
        for event in events:
            yield event, 0

    rest = with_origins()
    while True:  # on past a replay (not compared here) or an event set aside
        try:
            if ledger.add_many(rest) is None:
                return unresolved
        except EvidenceReferenceError as exc:
            assert event is not None
            unresolved[event.id] = exc


# How each kind of event is folded: unbound methods, so a ledger holds no reference to itself and is
# freed as soon as its last user lets go of it (a table of bound methods made every ledger a cycle
# that only the cyclic collector's rare full passes reclaimed).
_FOLD: dict[type, Fold] = {
    cls: getattr(Ledger, f"_add_{kind.value}") for cls, kind in KIND_OF_CLASS.items() if cls is not Retraction
}


Unfold = Callable[["Ledger", dict[str, Any], str | None, dict[str, Evidence]], None]


def _unfold_appended(name: str) -> Unfold:
    def unfold(ledger: Ledger, f: dict[str, Any], contract: str | None, by_id: dict[str, Evidence]) -> None:
        _drop_record(getattr(ledger, name), f["id"])

    return unfold


# How each kind of event is taken out of the fold again (`Ledger.unfold`).
_UNFOLD: dict[type, Unfold] = {
    cls: getattr(Ledger, f"_unfold_{kind.value}", None)
    or _unfold_appended(
        {
            EvidenceKind.TRAINING_HELD: "trainings",
            EvidenceKind.TICKET_VOLUME: "ticket_volumes",
            EvidenceKind.BUDGET_FIGURE: "budget",
            EvidenceKind.UNIT_RATE: "unit_rates",
            EvidenceKind.BUDGET_CALCULATION: "calculations",
            EvidenceKind.ACCEPTANCE_RESULT: "acceptances",
            EvidenceKind.SELF_EVALUATION_ROW: "self_rows",
        }[kind]
    )
    for cls, kind in KIND_OF_CLASS.items()
    if cls is not Retraction
}


# The kinds whose fold resolves the references their check checks, and raises the same error.
_FOLD_CHECKS = frozenset({InspectionDone})


# What time each kind is about, for the evaluation period (see Ledger._moment_outside …).
_OUTSIDE: dict[type, Outside] = {
    cls: {
        EvidenceKind.ROSTER_ENTRY: Ledger._state_outside,
        EvidenceKind.CLOCK_IN: Ledger._moment_outside,
        EvidenceKind.DELIVERABLE_SUBMITTED: Ledger._stated_period_outside,
        EvidenceKind.INSPECTION_DONE: Ledger._moment_outside,
        EvidenceKind.TRAINING_HELD: Ledger._moment_outside,
        EvidenceKind.INCIDENT: Ledger._moment_outside,
        EvidenceKind.TICKET_VOLUME: Ledger._stated_period_outside,
        EvidenceKind.SURVEY_RESPONSE: Ledger._account_outside,
        EvidenceKind.BUDGET_FIGURE: Ledger._fiscal_year_outside,
        EvidenceKind.UNIT_RATE: Ledger._never_outside,
        EvidenceKind.BUDGET_CALCULATION: Ledger._never_outside,
        EvidenceKind.VENDOR_ASSESSMENT: Ledger._stated_period_outside,
        EvidenceKind.ACCEPTANCE_RESULT: Ledger._stated_period_outside,
        EvidenceKind.ASSET_COUNT: Ledger._state_outside,
        EvidenceKind.JUDGMENT: Ledger._account_outside,
        EvidenceKind.SELF_EVALUATION_ROW: Ledger._account_outside,
    }[kind]
    for cls, kind in KIND_OF_CLASS.items()
    if cls is not Retraction
}
