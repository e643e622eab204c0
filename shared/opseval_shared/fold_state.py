"""A ledger's fold state as plain data (JSON), and the ledger it restores: a process that drops a
project from memory or restarts takes its fold up again where it was instead of folding every event.

Plain data, not pickle: the state is read back from a shared store, and unpickling bytes from it
would run whatever code they name. Payloads are kept as the JSON their model writes and validated
back, as the store keeps events; everything else is ids, counts, dates and ordinals.

`restore` checks the shape as it goes and raises `FoldStateError` on anything it does not expect:
a caller treats a state it cannot read as absent. It must stay in step with `Ledger.__init__`:
tests/unit/test_fold_state.py fails when the ledger gains a field this module does not know.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

import orjson
from pydantic import BaseModel, TypeAdapter, ValidationError

from .base import IdLog
from .evidence import (
    KIND_OF_CLASS,
    AcceptanceResultPayload,
    AssetCountPayload,
    BudgetCalculationPayload,
    BudgetFigurePayload,
    IncidentPayload,
    JudgmentPayload,
    RosterEntryPayload,
    SelfEvaluationRowPayload,
    TicketVolumePayload,
    TrainingHeldPayload,
    UnitRatePayload,
    VendorAssessmentPayload,
)
from .ledger import CorrectionNote, InspectionLog, Ledger, Recorded, Submission, SurveyTally
from .project import ProjectDefinition

__all__ = ["FORMAT", "FoldStateError", "dumps", "loads", "restore", "state_of"]

FORMAT = 2  # raised when the layout changes: a state of another format is not read

# The folds that keep one record per key (the latest) and those that keep every record, with the
# payload model each record holds.
_LATEST: dict[str, type[BaseModel]] = {
    "roster": RosterEntryPayload,
    "incidents": IncidentPayload,
    "assets": AssetCountPayload,
    "judgments": JudgmentPayload,
}
_LISTS: dict[str, type[BaseModel]] = {
    "trainings": TrainingHeldPayload,
    "ticket_volumes": TicketVolumePayload,
    "budget": BudgetFigurePayload,
    "unit_rates": UnitRatePayload,
    "calculations": BudgetCalculationPayload,
    "assessments": VendorAssessmentPayload,
    "acceptances": AcceptanceResultPayload,
    "self_rows": SelfEvaluationRowPayload,
}
_CLASS_OF_KIND = {kind.value: cls for cls, kind in KIND_OF_CLASS.items()}
# Timestamps read back as the event parser reads them (with pydantic's tzinfo, not datetime's).
_moment = TypeAdapter(datetime).validate_python


class FoldStateError(ValueError):
    """A fold state this version cannot restore (another format, another project, a broken body)."""


def _iso(moment: datetime | date | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _day(text: str | None) -> date | None:
    return None if text is None else date.fromisoformat(text)


def _note(n: CorrectionNote) -> list[Any]:
    return [n.target, n.event_id, n.retracts, n.recorded_at.isoformat(), n.reason, n.by, n.source]


def _read_note(row: list[Any]) -> CorrectionNote:
    target, event_id, retracts, recorded_at, reason, by, source = row
    return CorrectionNote(target, event_id, bool(retracts), _moment(recorded_at), reason, by, source)


def _record(key: Any, r: Recorded[Any]) -> list[Any]:
    return [
        key,
        r.event_id,
        r.occurred_at.isoformat(),
        r.recorded_at.isoformat(),
        r.contract,
        r.payload.model_dump_json(),
    ]


def _read_record(row: list[Any], model: type[BaseModel]) -> tuple[Any, Recorded[Any]]:
    key, event_id, occurred_at, recorded_at, contract, payload = row
    record = Recorded(
        event_id, _moment(occurred_at), _moment(recorded_at), contract, model.model_validate_json(payload)
    )
    return (tuple(key) if isinstance(key, list) else key), record


def _tally(t: SurveyTally) -> list[Any]:
    return [t.satisfied, t.total, t.ids]


def state_of(ledger: Ledger) -> dict[str, Any]:
    """What `ledger` folded and took in, as JSON-ready data (read at once: the ledger is not changed
    while this runs). Empty entries a reader's lookup may have added are left out, as a fold has none."""
    if ledger.stale:
        raise FoldStateError("a stale ledger is folded again, not kept")
    # Most ids are those of inspections and survey responses, listed where they were folded: the
    # ids taken in are written without them, which halves the state of a large project.
    listed = _listed_ids(ledger.inspections.values(), ledger.surveys.values())
    origins = {}
    if any(ledger._origins):
        origins = dict(zip(ledger._arrived, ledger._origins, strict=True))
        origins = {eid: o for eid, o in origins.items() if o}
    return {
        "format": FORMAT,
        "project": ledger.project_id,
        "as_of": ledger.as_of.isoformat(),
        "seen": [eid for eid in ledger._seen if eid not in listed],
        "seen_count": len(ledger._seen),
        "origins": origins,
        "left_out": sorted(ledger._left_out),
        "noted_out": sorted(ledger._noted_out),
        "counts": {KIND_OF_CLASS[cls].value: n for cls, n in ledger._counts.items() if n},
        "duplicates": ledger.duplicates,
        "after_as_of": ledger.after_as_of,
        "corrected": ledger.corrected,
        "outside_period": ledger.outside_period,
        "outside_by_kind": ledger.outside_by_kind,
        "outside_span": None if ledger.outside_span is None else [d.isoformat() for d in ledger.outside_span],
        "corrections": [_note(n) for notes in ledger._corrections.values() for n in notes],
        "later_corrections": [_note(n) for n in ledger._later_corrections],
        "held_back": ledger._held_back,
        "later_corrected": ledger._later_corrected,
        "rivals": [[*slot, ids] for slot, ids in ledger._rivals.items()],
        "inspections": [
            [
                contract,
                plan,
                list(log.per_day.items()),
                log.ids,
                log.late_done,
                log.late_registered,
                list(log.late_per_day.items()),
            ]
            for (contract, plan), log in ledger.inspections.items()
        ],
        "first_clock_in": [
            [contract, staff, [[ordinal, *first] for ordinal, first in days.items()]]
            for (contract, staff), days in ledger.first_clock_in.items()
            if days
        ],
        "last_clock_out": [
            [contract, staff, [[ordinal, *last] for ordinal, last in days.items()]]
            for (contract, staff), days in ledger.last_clock_out.items()
            if days
        ],
        "submissions": [
            [
                contract,
                deliverable,
                [
                    [
                        s.event_id,
                        s.submitted_at.isoformat(),
                        _iso(s.period_start),
                        _iso(s.period_end),
                        s.quantity,
                        s.title,
                        list(s.sections),
                        s.document_ref,
                    ]
                    for s in subs
                ],
            ]
            for (contract, deliverable), subs in ledger.submissions.items()
            if subs
        ],
        "surveys": [[*key, *_tally(t)] for key, t in ledger.surveys.items() if t.total],
        "survey_aspects": [[*key, *_tally(t)] for key, t in ledger.survey_aspects.items() if t.total],
        **{name: [_record(key, r) for key, r in getattr(ledger, name).items()] for name in _LATEST},
        **{name: [_record(None, r) for r in getattr(ledger, name)] for name in _LISTS},
    }


def _listed_ids(logs: Iterable[InspectionLog], tallies: Iterable[SurveyTally]) -> set[str]:
    listed: set[str] = set()
    for log in logs:
        listed.update(log.ids)
    for tally in tallies:
        listed.update(tally.ids)
    return listed


def dumps(ledger: Ledger) -> bytes:
    return orjson.dumps(state_of(ledger))


def restore(definition: ProjectDefinition, state: dict[str, Any]) -> Ledger:
    """The ledger `state_of` described, under `definition` (which the caller checked is the one it
    was folded under). FoldStateError when the state is not one this version wrote for this project."""
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise FoldStateError("not a fold state of this format")
    if state.get("project") != definition.project.id:
        raise FoldStateError(f"a fold state of project {state.get('project')!r}")
    try:
        return _restore(definition, state)
    except FoldStateError:
        raise
    except (KeyError, TypeError, ValueError, IndexError, AttributeError, ValidationError) as exc:
        raise FoldStateError(f"a broken fold state: {type(exc).__name__}: {exc}") from exc


def _restore(definition: ProjectDefinition, s: dict[str, Any]) -> Ledger:
    ledger = Ledger(definition, date.fromisoformat(s["as_of"]), frozenset(s["left_out"]))
    ledger._noted_out = set(s["noted_out"])
    seen = set(s["seen"])
    for kind, n in s["counts"].items():
        ledger._counts[_CLASS_OF_KIND[kind]] = int(n)
    ledger.duplicates = int(s["duplicates"])
    ledger.after_as_of = int(s["after_as_of"])
    ledger.corrected = int(s["corrected"])
    ledger.outside_period = int(s["outside_period"])
    ledger.outside_by_kind = {str(k): int(n) for k, n in s["outside_by_kind"].items()}
    span = s["outside_span"]
    ledger.outside_span = None if span is None else (date.fromisoformat(span[0]), date.fromisoformat(span[1]))
    for row in s["corrections"]:
        note = _read_note(row)
        ledger._corrections.setdefault(note.target, []).append(note)
    ledger._later_corrections = [_read_note(row) for row in s["later_corrections"]]
    ledger._held_back = list(s["held_back"])
    ledger._later_corrected = int(s["later_corrected"])
    for *slot, ids in s["rivals"]:
        ledger._contend(tuple(slot), *ids)
    for contract, plan, per_day, ids, late_done, late_registered, late_per_day in s["inspections"]:
        log = ledger.inspections[(contract, plan)]  # (a plan the definition no longer has: KeyError)
        log.per_day.update((int(o), int(n)) for o, n in per_day)
        log.ids, log.late_done, log.late_registered = IdLog(ids), IdLog(late_done), IdLog(late_registered)
        log.late_per_day.update((int(o), int(n)) for o, n in late_per_day)
    for contract, staff, days in s["first_clock_in"]:
        ledger.first_clock_in[(contract, staff)] = {o: (minute, eid, site) for o, minute, eid, site in days}
    for contract, staff, days in s["last_clock_out"]:
        ledger.last_clock_out[(contract, staff)] = {o: (minute, eid) for o, minute, eid in days}
    for contract, deliverable, subs in s["submissions"]:
        ledger.submissions[(contract, deliverable)] = [
            Submission(eid, _moment(at), _day(start), _day(end), quantity, title, tuple(sections), ref)
            for eid, at, start, end, quantity, title, sections, ref in subs
        ]
    for survey, group, level, satisfied, total, ids in s["surveys"]:
        ledger.surveys[(survey, group, level)] = SurveyTally(satisfied, total, IdLog(ids))
    for survey, group, aspect, satisfied, total, ids in s["survey_aspects"]:
        tally = ledger.survey_aspects[(survey, group, aspect)] = SurveyTally(satisfied, total, IdLog(ids))
        ledger._aspect_tallies.setdefault((survey, group), {})[aspect] = tally
    seen |= _listed_ids(ledger.inspections.values(), ledger.surveys.values())
    if len(seen) != s["seen_count"] or not all(isinstance(eid, str) for eid in seen):
        raise FoldStateError(f"{len(seen)} ids taken in, the state says {s['seen_count']}")
    ledger._seen = seen
    ledger._arrived = list(seen)
    origins: dict[str, int] = s["origins"]
    ledger._origins = array("q", [origins.get(eid, 0) for eid in seen] if origins else bytes(8 * len(seen)))
    for name, model in _LATEST.items():
        target = getattr(ledger, name)
        for row in s[name]:
            key, record = _read_record(row, model)
            target[key] = record
    for name, model in _LISTS.items():
        getattr(ledger, name).extend(_read_record(row, model)[1] for row in s[name])
    return ledger


def loads(definition: ProjectDefinition, body: bytes | str) -> Ledger:
    try:
        state = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise FoldStateError(f"not JSON: {exc}") from exc
    return restore(definition, state)
