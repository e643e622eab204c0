"""Record sources: the rows the measure language counts, each with the evidence that proves it.

A source turns the folded ledger of one contract into uniform records (field → value) with the
event ids behind each and, where the record has one, the day it belongs to (for bucketing by
period). Raw events are not replayed: sources read the ledger's compact state and the facts the
domain derives from the contract (a clock-in's lateness against the working hours, a deliverable
period's due moment and lateness, a fault's minutes in its SLA window and its breaches).

Each source declares its fields with a Chinese label and a type, so definitions are checked at
load and every measure explains itself in the evaluators' words.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from .base import CHINA_TZ, DateRange, IdLog, merge_ids, numbered, unique_sorted
from .contract import AssessmentItemRule
from .derived import in_blocks, kept, kept_by_entry, same
from .values import MetricError, fmt, pct

if TYPE_CHECKING:
    from .contract import Contract
    from .metrics import FaultMeasure, MetricContext
    from .schedule import InspectionStatus

T = TypeVar("T")

# A moment (date and time) is read only by the time aggregates (mean_gap, uncovered_share).
FieldType = Literal["bool", "number", "text", "date", "moment"]


@dataclass(frozen=True, slots=True)
class FieldSpec:
    type: FieldType
    label: str
    values: dict[str, str] | None = None  # a closed set of values, with their Chinese names
    members: str | None = None  # values must be in this contract list (a plan, a severity … the contract defines)


@dataclass(slots=True)
class Record:
    contract: str | None
    fields: dict[str, Any]
    evidence: Sequence[str]
    day: date | None = None
    rank: tuple[Any, ...] = ()  # orders records for `latest`: (recorded_at, event id)
    # Its content as measures order it (measures._content_key), worked out once: a record kept between
    # evaluations (derived.py) is ordered again by every evaluation's lists.
    content: tuple[Any, ...] | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Source:
    name: str
    label: str
    fields: dict[str, FieldSpec]
    read: Callable[[MetricContext, Contract | None], list[Record]] | None = None  # None: its `blocks`
    dated: bool = True  # records carry a day, so `per:` can bucket them
    description: str = ""
    # False: the ledger keeps these records without a contract (survey tallies): they belong to the
    # project and count whatever contract a measure is limited to.
    scoped: bool = True
    itemize: Callable[[Record], str] | None = None  # one record in an explanation's list of what was counted
    # The records in blocks that stay the same objects while their records do (`derived.in_blocks`), for
    # measures to keep what they made of a block; the records are the blocks laid end to end. None:
    # blocks of the records as `read` lays them out.
    blocks: Callable[[MetricContext, Contract | None], list[Sequence[Record]]] | None = None

    def __post_init__(self) -> None:
        if (self.read is None) == (self.blocks is None):
            raise ValueError(f"source {self.name}: give its records (read) or its blocks, one of them")


@dataclass(frozen=True, slots=True)
class ContractList:
    name: str
    label: str
    members: Callable[[Contract], frozenset[str]]


def _per_contract(
    read: Callable[[MetricContext, Contract], list[T]],
) -> Callable[[MetricContext, Contract | None], list[T]]:
    """A source of contract terms and per-contract state: nothing is unassigned, so it has no records
    of no contract."""

    def records(ctx: MetricContext, c: Contract | None) -> list[T]:
        return read(ctx, c) if c is not None else []

    return records


def _local_day(moment: Any) -> date:
    return moment.astimezone(CHINA_TZ).date()  # type: ignore[no-any-return]


# ---------------------------------------------------------------- staffing


@_per_contract
def _clock_in_blocks(ctx: MetricContext, c: Contract) -> list[Sequence[Record]]:
    """A block per person: their records list, the same object while they have no new day."""
    return list(ctx.clock_ins_by_person(c).values())


def clock_ins_by_person(ctx: MetricContext, c: Contract) -> dict[str, list[Record]]:
    """Each person's clock-in records of a contract (their first clock-in of each day), in the
    ledger's order: a person's list is the one the last evaluation gave while they have no new day,
    so what is derived from it can be kept by its identity (`MetricContext.late_arrivals`)."""
    terms = c.staffing
    limit = None
    start = terms.day_start
    if start is not None:
        limit = start.hour * 60 + start.minute + terms.grace_minutes
    out: dict[str, list[Record]] = {}
    work = ctx.work
    # One record per person and day (≈ 31k at 1M events), which changes only with the day's first
    # clock-in (the fold puts a new tuple in its place): kept by person and day, under the contract's
    # terms and the calendar. Looked up here, not through `kept`: this loop runs once per record.
    kept_days = ctx.derived(("clock_in", c.id), c)
    # A person's records as a whole, with the first clock-ins they were made of: most people have
    # no new day between two changes, and their records are taken as they are, after one comparison
    # of those tuples by identity (in C), where the loop below looks up each day (≈ 260 a person).
    kept_people = ctx.derived(("clock_in_people", c.id), c)
    # What repeats across records (a day and whether it is a working day, a clock time, a lateness)
    # is worked out once. (Dates, strings and Decimals are immutable: records may share them.)
    days_of: dict[int, tuple[date, bool]] = {}
    times: dict[int, str] = {}
    lateness: dict[int, Decimal] = {}
    for (cid, staff), days in ctx.ledger.first_clock_in.items():
        if cid != c.id:
            continue
        firsts = tuple(days.values())
        whole = kept_people.get(staff)
        if whole is not None and same(whole[0], firsts):
            out[staff] = whole[1]
            continue
        mine = kept_days.get(staff)
        if mine is None:
            mine = kept_days[staff] = {}
        records: list[Record] = []
        for ordinal, first in days.items():
            hit = mine.get(ordinal)
            if hit is not None and hit[0] is first:
                records.append(hit[1])
                continue
            minute, event_id, site = first
            known = days_of.get(ordinal)
            if known is None:
                day = date.fromordinal(ordinal)
                known = days_of[ordinal] = (day, work.is_workday(day))
            day, workday = known
            late_by = minute - limit + terms.grace_minutes if limit is not None and minute > limit else 0
            if not workday:
                late_by = 0
            time = times.get(minute)
            if time is None:
                time = times[minute] = f"{minute // 60:02d}:{minute % 60:02d}"
            minutes_late = lateness.get(late_by)
            if minutes_late is None:
                minutes_late = lateness[late_by] = Decimal(late_by)
            record = Record(
                c.id,
                {
                    "staff": staff,
                    "day": day,
                    "time": time,
                    "site": site or "",
                    "on_site": terms.site is None or site == terms.site,
                    "workday": workday,
                    "late": workday and late_by > 0,
                    "minutes_late": minutes_late,
                },
                (event_id,),
                day,
            )
            mine[ordinal] = (first, record)
            records.append(record)
        # (The fold puts a new tuple in place of a day's first clock-in and never moves one to another
        # day: the same tuples in the same order are the same days.)
        kept_people[staff] = (firsts, records)
        out[staff] = records
    return out


@_per_contract
def _clock_outs(ctx: MetricContext, c: Contract) -> list[Record]:
    """Each person's last clock-out of a day, against the end of the contract's working hours."""
    terms = c.staffing
    end = terms.day_end
    if end is None:
        return []  # the ledger keeps clock-outs only where the working day has an end
    limit = end.hour * 60 + end.minute - terms.early_leave_grace_minutes
    out = []
    for (cid, staff), days in ctx.ledger.last_clock_out.items():
        if cid != c.id:
            continue
        for ordinal, (minute, event_id) in days.items():
            day = date.fromordinal(ordinal)
            workday = ctx.work.is_workday(day)
            early_by = limit - minute + terms.early_leave_grace_minutes if minute < limit and workday else 0
            fields = {
                "staff": staff,
                "day": day,
                "time": f"{minute // 60:02d}:{minute % 60:02d}",
                "workday": workday,
                "left_early": early_by > 0,
                "minutes_early": Decimal(early_by),
            }
            out.append(Record(c.id, fields, (event_id,), day))
    return out


def _normalised_role(c: Contract, role: str) -> str:
    return c.staffing.role_aliases.get(role, role)


@_per_contract
def _roster(ctx: MetricContext, c: Contract) -> list[Record]:
    committed = {s.name for s in c.staffing.committed}
    out = []
    for (cid, name), rec in ctx.ledger.roster.items():
        if cid != c.id:
            continue
        p = rec.payload
        out.append(
            Record(
                c.id,
                {
                    "name": name,
                    "role": _normalised_role(c, p.role),
                    "years": p.years if p.years is not None else Decimal(0),
                    "education": p.education or "",
                    "fresh_graduate": p.fresh_graduate,
                    "on_site": p.on_site,
                    "committed": name in committed,
                },
                (rec.event_id,),
                _local_day(rec.occurred_at),
                (rec.recorded_at, rec.event_id),
            )
        )
    return out


@_per_contract
def _committed_staff(ctx: MetricContext, c: Contract) -> list[Record]:
    """The bid's promised staff (投标文件拟投入人员), each with what the evidence shows of them."""
    from .schedule import service_workdays

    workdays = {d.toordinal() for d in service_workdays(ctx.ledger, c, ctx.work)}
    out = []
    for s in c.staffing.committed:
        rec = ctx.ledger.roster.get((c.id, s.name))
        days = ctx.ledger.first_clock_in.get((c.id, s.name), {})
        present = [o for o in days if o in workdays]
        ids = sorted([rec.event_id] if rec else []) + sorted(v[1] for o, v in days.items() if o in workdays)
        on_site = rec is not None and rec.payload.on_site
        out.append(
            Record(
                c.id,
                {
                    "name": s.name,
                    "role": _normalised_role(c, s.role),
                    "on_roster": on_site,
                    "on_site": on_site or bool(present),
                    "days_present": Decimal(len(present)),
                    "coverage": Decimal(len(present)) / Decimal(len(workdays)) if workdays else Decimal(0),
                },
                ids,
                None,
            )
        )
    return out


@_per_contract
def _on_site_coverage(ctx: MetricContext, c: Contract) -> list[Record]:
    """Each on-site person's share of the service's working days with a clock-in, against the contract's
    staffing.min_coverage; their clock-ins and roster entry are the evidence."""
    roster = {r[1]: r[0] for r in ctx.roster(c)}
    # A person's record is kept while their clock-ins are the same list (`MetricContext.attendance`
    # keeps it, with their share and first day, while their days and the working days are the same)
    # and their roster entry the same event: each evaluation sorted every person's year of ids.
    table = ctx.derived(("on_site_coverage", c.id), c)
    return [
        kept(table, name, (ids, roster[name]), _coverage_record, c, name, share, first, ids, roster[name])
        for name, (share, first, ids) in ctx.coverage(c).items()
    ]


def _coverage_record(c: Contract, name: str, share: Decimal, first: date | None, ids: list[str], entry: str) -> Record:
    seen = f"，首次打卡 {first}" if first else "，无打卡记录"
    fields = {
        "name": name,
        "coverage": share,
        "short": share < c.staffing.min_coverage,
        "summary": f"{name}出勤覆盖 {pct(share, 1)}{seen}",
    }
    return Record(c.id, fields, sorted([*ids, entry]), None)


@_per_contract
def _required_roles(ctx: MetricContext, c: Contract) -> list[Record]:
    """Each role the tender requires (a role listed twice is one requirement), with how many on-site
    staff hold it; the whole on-site roster is the evidence of each count."""
    roster = ctx.roster(c)
    ids = sorted(r[0] for r in roster)
    return [
        Record(c.id, {"role": role, "present": Decimal(sum(1 for r in roster if r[2] == role))}, ids, None)
        for role in dict.fromkeys(c.staffing.required_roles)
    ]


# ---------------------------------------------------------------- deliverables and inspections


@_per_contract
def _deliverable_periods(ctx: MetricContext, c: Contract) -> list[Record]:
    out = []
    for term in c.deliverables:
        st = ctx.deliverable(c, term.id)
        late = {s.event_id: m for s, _, m in st.late}
        # A period's record changes only with the period due and the documents answering it (whose
        # lateness is theirs against its due moment): kept.
        table = ctx.derived(("deliverable_period", c.id, term.id), term)
        for item in st.due_items:
            subs = st.matched.get(item.period.start, [])
            record = kept(table, item.period.start, (item, *subs), _deliverable_period, c.id, term, item, subs, late)
            out.append(record)
    return out


def _deliverable_period(contract: str, term: Any, item: Any, subs: list[Any], late_minutes: dict[str, int]) -> Record:
    units = sum(s.quantity for s in subs)
    on_time_units = sum(s.quantity for s in subs if s.event_id not in late_minutes)
    late_by = max((late_minutes.get(s.event_id, 0) for s in subs), default=0)
    return Record(
        contract,
        {
            "deliverable": term.id,
            "name": term.name,
            "period": period_label(item.period.start, item.period.end),
            "period_start": item.period.start,
            "period_end": item.period.end,
            "due": item.due.date(),
            "required": Decimal(item.required),
            "delivered": Decimal(min(units, item.required)),
            "submitted": units >= item.required,
            "on_time": on_time_units >= item.required,
            "on_time_units": Decimal(min(on_time_units, item.required)),
            "late": units >= item.required and on_time_units < item.required,
            "minutes_late": Decimal(late_by),
            "obligation": term.obligation,
        },
        sorted(s.event_id for s in subs),
        item.due.date(),
    )


@_per_contract
def _inspection_period_blocks(ctx: MetricContext, c: Contract) -> list[Sequence[Record]]:
    """Each plan's ended periods, in blocks of `INSPECTION_PERIODS_PER_BLOCK` of its own: new
    inspections change a period of every plan at once (the current one), and blocks across plans
    would all be made again by every change."""
    out: list[Sequence[Record]] = []
    for plan in c.inspections:
        table = ctx.derived(("inspection_blocks", c.id, plan.id))
        out += in_blocks(table, 0, _plan_periods(ctx, c, plan), INSPECTION_PERIODS_PER_BLOCK)
    return out


INSPECTION_PERIODS_PER_BLOCK = 32


@dataclass(slots=True)
class _PlanPeriods:
    """A plan's period records as the last evaluation made them, with what they were made of."""

    status: InspectionStatus  # its periods and their counts
    log: IdLog | None
    records: list[Record]


def _plan_periods(ctx: MetricContext, c: Contract, plan: Any) -> list[Record]:
    """A record per ended period of the plan. The ledger keeps per-day counts, not per-day ids (a year
    of a building is a million inspections): a period with inspections cites the plan's inspection
    log. It cites the log itself, the same object while it grows, so that its record stays the same
    while its counts do (measures keep what they made of it, and take the log's ids when they unite
    evidence). Only the periods whose counts changed are made again: a change brings a day or two of
    inspections, and all the plan's periods were looked at one by one each time (a few ms a change
    at a million events, every plan's log growing)."""
    st = ctx.inspection(c, plan.id)
    log = ctx.ledger.inspections.get((c.id, plan.id))
    ids = log.ids if log is not None else None
    table = ctx.derived(("inspection_periods", c.id, plan.id), plan)
    last: _PlanPeriods | None = table.get(0)

    def record(span: DateRange, done: int, late: int) -> Record:
        cited = ids if done and ids is not None else ()
        return Record(c.id, _inspection_period(plan, span, done, late), cited, span.end)

    periods = zip(st.periods, st.done_per_period, st.late_per_period, strict=True)
    counts = (st.done_per_period, st.late_per_period)
    was = last.status if last is not None else None
    n = len(was.periods) if was is not None else 0  # (a later date only adds periods after these)
    if last is None or was is None or last.log is not ids or not same(tuple(was.periods), tuple(st.periods[:n])):
        records = [record(*period) for period in periods]
    elif len(st.periods) == n and (was.done_per_period, was.late_per_period) == counts:
        return last.records
    else:
        records = list(last.records)
        for i, (span, done, late) in enumerate(periods):
            if i >= n:
                records.append(record(span, done, late))
            elif done != was.done_per_period[i] or late != was.late_per_period[i]:
                records[i] = record(span, done, late)
    table[0] = _PlanPeriods(st, ids, records)
    return records


def _inspection_period(plan: Any, span: Any, done: int, late: int) -> dict[str, Any]:
    return {
        "plan": plan.id,
        "name": plan.name,
        "period_start": span.start,
        "period_end": span.end,
        "required": Decimal(plan.times_per_period),
        "done": Decimal(done),
        "done_counted": Decimal(min(done, plan.times_per_period)),
        "late": Decimal(late),
        "on_time_counted": Decimal(max(min(done, plan.times_per_period) - late, 0)),
        "met": done >= plan.times_per_period,
    }


def period_label(start: date, end: date) -> str:
    """A period as the field writes it: a day, 2023年2月 for a month from its first day, else start~end."""
    if start == end:
        return str(start)
    if start.day == 1 and start.month == end.month:
        return f"{start.year}年{start.month}月"
    return f"{start}~{end}"


def _minute(moment: Any) -> str:
    return moment.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M")  # type: ignore[no-any-return]


@_per_contract
def _deliverable_terms(ctx: MetricContext, c: Contract) -> list[Record]:
    """Each deliverable the contract demands, with what fell due and what was submitted so far."""
    out = []
    for term in c.deliverables:
        st = ctx.deliverable(c, term.id)
        due, delivered = st.required_units, st.delivered_units
        fields = {
            "deliverable": term.id,
            "name": term.name,
            "due_units": Decimal(due),
            "delivered_units": Decimal(delivered),
            "short_units": Decimal(due - delivered),
            "submitted_units": Decimal(st.submitted_units),
            "obligation": term.obligation,
        }
        out.append(Record(c.id, fields, st.evidence, None))
    return out


@_per_contract
def _submissions(ctx: MetricContext, c: Contract) -> list[Record]:
    """Each submitted document matched to the due period it answers, in the order submitted."""
    rows = []
    for term in c.deliverables:
        st = ctx.deliverable(c, term.id)
        late = {s.event_id: minutes for s, _, minutes in st.late}
        for item in st.due_items:
            for s in st.matched.get(item.period.start, []):
                rows.append((s.submitted_at, item.period.start, term, item, s, late.get(s.event_id)))
    rows.sort(key=lambda r: (r[0], r[1], r[2].id, r[4].title))
    # A document's record changes only with the period it answers (whose due moment moves only with
    # the as-of moment, the terms and the calendar; its lateness is the two's): kept, one object while
    # they are the same.
    table = ctx.derived(("submission", c.id), c)
    return [
        kept(table, s.event_id, (s, item, term), _submission, c.id, term, item, s, minutes_late)
        for _, _, term, item, s, minutes_late in rows
    ]


def _submission(contract: str, term: Any, item: Any, s: Any, minutes_late: int | None) -> Record:
    fields = {
        "deliverable": term.id,
        "name": term.name,
        "title": s.title,
        "period": period_label(item.period.start, item.period.end),
        "period_start": item.period.start,
        "period_end": item.period.end,
        "due_at": _minute(item.due),
        "submitted_at": _minute(s.submitted_at),
        "quantity": Decimal(s.quantity),
        "late": minutes_late is not None,
        "minutes_late": Decimal(minutes_late or 0),
    }
    return Record(contract, fields, (s.event_id,), _local_day(s.submitted_at))


@_per_contract
def _late_inspections(ctx: MetricContext, c: Contract) -> list[Record]:
    """Each inspection done after its plan's time of day or registered after its deadline (once)."""
    out = []
    for plan in c.inspections:
        st = ctx.inspection(c, plan.id)
        done, registered = set(st.late_done), set(st.late_registered)
        for eid in sorted(done | registered):
            fields = {
                "plan": plan.id,
                "name": plan.name,
                "done_late": eid in done,
                "registered_late": eid in registered,
            }
            out.append(Record(c.id, fields, (eid,), None))
    return out


@_per_contract
def _late_inspection_kinds(ctx: MetricContext, c: Contract) -> list[Record]:
    """Per plan, each way inspections were late (done after the plan's time, registered after its
    deadline) that happened, with how many; an inspection late both ways counts in both."""
    out = []
    for plan in c.inspections:
        st = ctx.inspection(c, plan.id)
        for kind, ids in (("未在规定时间前完成", st.late_done), ("未及时登记", st.late_registered)):
            if ids:
                fields = {"plan": plan.id, "name": plan.name, "kind": kind, "count": Decimal(len(set(ids)))}
                out.append(Record(c.id, fields, sorted(set(ids)), None))
    return out


@_per_contract
def _performance_targets(ctx: MetricContext, c: Contract) -> list[Record]:
    """Each row of the 绩效目标表 that counts a deliverable, against what was delivered and the
    share of the evaluation period the service covered. Its evidence: the deliverable's documents."""
    share = ctx.service_fraction(c.id)
    out = []
    for row in c.performance_targets:
        term = c.deliverable(row.deliverable) if row.deliverable else None
        if term is None or row.value is None:
            continue
        st = ctx.deliverable(c, term.id)
        prorated = (row.value * share).to_integral_value() if row.annual else row.value
        due = ctx.target_due(c, term.id, row.value)  # inside the period: only the part due by the as-of date
        fields = {
            "name": row.name,
            "target": row.target,
            "target_due": row.target if due == row.value else f"{row.target}（截至评价基准日应达 {due}）",
            "due": due,
            "deliverable": term.id,
            "value": row.value,
            "delivered": Decimal(st.delivered_units),
            "below": st.delivered_units < due,
            "annual": row.annual,
            "recurring": term.frequency != "once",
            "prorated": prorated,
            "unprorated": term.frequency != "once" and prorated < row.value,
            "service_share": share,
        }
        out.append(Record(c.id, fields, st.evidence, None))
    return out


# ---------------------------------------------------------------- faults


@_per_contract
def _incidents(ctx: MetricContext, c: Contract) -> list[Record]:
    faults = ctx.faults(c)
    table = ctx.derived(("incident", c.id))  # a record changes only with the fault or its measures

    def record(key: tuple[str, str], rec: Any) -> Record | None:
        cid, ticket = key
        if cid != c.id:
            return None
        measures = faults.get(ticket, ())
        return kept(table, ticket, (rec, measures), _incident, c.id, ticket, rec, measures)

    # The last evaluation's records, made again only for faults whose records changed, unless the
    # as-of moment moved (the measures of faults still open with it).
    whole = ctx.derived(("incidents_whole", c.id), c, ctx.ledger.cutoff)
    return [r for r in kept_by_entry(whole, 0, ctx.ledger.incidents, record, by_key=False).values() if r is not None]


def _incident(contract: str, ticket: str, rec: Any, measures: tuple[FaultMeasure, ...]) -> Record:
    p = rec.payload
    fm = {f.measure: f for f in measures}
    fields: dict[str, Any] = {
        "ticket": ticket,
        "severity": p.severity,
        "cause": p.cause,
        "system": p.system or "",
        "open": p.resolved_at is None,
        "opened_at": rec.occurred_at,
        "resolved_at": p.resolved_at,
    }
    breached = False
    for key in ("response", "on_site", "resolve"):
        m = fm.get(key)
        fields[f"{key}_minutes"] = m.minutes if m is not None and m.minutes is not None else Decimal(0)
        fields[f"{key}_breached"] = bool(m and m.breached)
        breached = breached or bool(m and m.breached)
    fields["breached"] = breached
    fields["sla_bound"] = bool(fm)
    return Record(contract, fields, (rec.event_id,), _local_day(rec.occurred_at), (rec.recorded_at, rec.event_id))


# ---------------------------------------------------------------- training, surveys, other kinds


def _trainings(ctx: MetricContext, c: Contract | None) -> list[Record]:
    owner = c.id if c else None
    return [
        Record(
            owner,
            {
                "topic": t.payload.topic,
                "scope": t.payload.scope,
                "units_covered": Decimal(t.payload.units_covered),
                "attendees": Decimal(t.payload.attendee_count),
                "courseware": t.payload.courseware,
            },
            (t.event_id,),
            _local_day(t.occurred_at),
            (t.recorded_at, t.event_id),
        )
        for t in ctx.ledger.trainings
        if t.contract == owner
    ]


def _training_duty(ctx: MetricContext, c: Contract | None) -> list[Record]:
    """The contract's training duty against the trainings held: one record (none without a duty);
    every training held is its evidence, those that qualified and those that did not."""
    if c is None or c.training is None:
        return []
    m = ctx.training(c)
    required, qualifying = m.denominator or Decimal(0), m.numerator or Decimal(0)
    fields = {"required": required, "qualifying": qualifying, "shortfall": required - qualifying, "detail": m.detail}
    return [Record(c.id, fields, m.evidence)]


def _survey_groups(ctx: MetricContext, c: Contract | None) -> list[Record]:
    """Survey responses pooled by survey, respondent group and level (the ledger keeps tallies)."""
    return [
        Record(
            None,
            {
                "survey": sid,
                "group": group,
                "level": level or "",
                "responses": Decimal(tally.total),
                "satisfied": Decimal(tally.satisfied),
            },
            unique_sorted(tally.ids),  # sorted once: every survey measure cites them
            None,
        )
        for (sid, group, level), tally in sorted(ctx.ledger.surveys.items(), key=lambda kv: str(kv[0]))
    ]


def _document_subject(cid: str, did: str, s: Any) -> str:
    """A submitted document by what it is: contract, deliverable and period (or submission time)."""
    when = f"{s.period_start}..{s.period_end}" if s.period_start or s.period_end else s.submitted_at.isoformat()
    return f"{cid}/{did}@{when}"


DOCUMENT_PAIR_FLOOR = 0.5  # below this share of common sections two outlines are not compared at all


def _document_pairs(ctx: MetricContext, c: Contract | None) -> list[Record]:
    """Pairs of documents submitted under different contracts (outlines of 3 sections or more) that share
    at least half their sections, named by what the documents are; a document resubmitted for the same
    period is the same pair. They belong to no contract: only the project as a whole has them."""
    if c is not None:
        return []
    docs = []
    for (cid, did), subs in ctx.ledger.submissions.items():
        for s in subs:
            if len(s.sections) >= 3:
                docs.append((_document_subject(cid, did, s), s.submitted_at, s.title, s.sections, s.event_id, cid, s))
    docs.sort(key=lambda d: d[:5])  # in the order of what the documents are, not of their ids or arrival
    names = {ct.id: ct.name for ct in ctx.ledger.definition.contracts.contracts}
    pairs: dict[str, Record] = {}
    for i, (subject_a, *_, ca, sa) in enumerate(docs):
        for subject_b, *_, cb, sb in docs[i + 1 :]:
            if ca == cb:
                continue
            a, b = set(sa.sections), set(sb.sections)
            similarity = len(a & b) / len(a | b)
            if similarity < DOCUMENT_PAIR_FLOOR:
                continue
            key = f"{subject_a}~{subject_b}"
            seen = pairs.get(key)
            if seen is not None:
                seen.evidence = sorted({*seen.evidence, sa.event_id, sb.event_id})
                continue
            common = [x for x in sa.sections if x in (a & b)]
            fields = {
                "pair": key,
                "contract_a": names[ca],
                "title_a": sa.title,
                "contract_b": names[cb],
                "title_b": sb.title,
                "similarity": Decimal(str(round(similarity, 4))),
                "common": Decimal(len(common)),
                "common_sections": "、".join(common[:8]),
            }
            pairs[key] = Record(None, fields, sorted([sa.event_id, sb.event_id]), None)
    return list(pairs.values())


@_per_contract
def _survey_levels(ctx: MetricContext, c: Contract) -> list[Record]:
    """Each survey duty of the contract that names levels, with each level it requires (in its order)
    and each other level the survey's responses carry: how many came back, and whether that is short."""
    out = []
    keys = numbered(d.key for d in c.surveys)
    for index, (duty, key) in enumerate(zip(c.surveys, keys, strict=True)):
        if not duty.required_levels or not ctx.survey_due(c, index):
            continue  # a survey duty not yet due has no levels to be short of
        counts: dict[str, int] = {}
        logs: dict[str, list[IdLog]] = {}
        for (sid, _, level), tally in ctx.ledger.surveys.items():
            if duty.survey in (None, sid):
                name = level or "未标注"
                counts[name] = counts.get(name, 0) + tally.total
                logs.setdefault(name, []).append(tally.ids)
        least = max(1, duty.min_responses)
        levels = list(dict.fromkeys(duty.required_levels)) + sorted(set(counts) - set(duty.required_levels))
        for level in levels:
            required = level in duty.required_levels
            fields = {
                "duty": key,
                "survey": duty.survey or "",
                "level": level,
                "required": required,
                "responses": Decimal(counts.get(level, 0)),
                "short": required and counts.get(level, 0) < least,
            }
            out.append(Record(c.id, fields, merge_ids(logs.get(level, ())), None))
    return out


def _budget(ctx: MetricContext, c: Contract | None) -> list[Record]:
    owner = c.id if c else None
    return [
        Record(
            r.contract,
            {
                "item": r.payload.item,
                "amount": r.payload.amount,
                "fiscal_year": Decimal(r.payload.fiscal_year),
                "contract": r.contract or "",
            },
            (r.event_id,),
            _local_day(r.occurred_at),
            (r.recorded_at, r.event_id),
        )
        for r in ctx.ledger.budget
        if r.contract == owner
    ]


@_per_contract
def _assets(ctx: MetricContext, c: Contract) -> list[Record]:
    out = []
    for term in c.assets:
        rec = ctx.ledger.assets.get(term.asset_class)
        count = Decimal(rec.payload.count) if rec else Decimal(0)
        out.append(
            Record(
                c.id,
                {
                    "asset_class": term.asset_class,
                    "name": term.name,
                    "count": count,
                    "planned": Decimal(term.count),
                    "covered": min(count, Decimal(term.count)),
                    "reported": rec is not None,
                },
                (rec.event_id,) if rec else (),
                None,
            )
        )
    return out


def round_period(start: date, end: date) -> str:
    """An assessment period as the field writes it: 2022 年 9 月, or 2022-09-05 至 2022-09-11."""
    if start.day == 1 and start.month == end.month:
        return f"{start.year} 年 {start.month} 月"
    return f"{start} 至 {end} "


@dataclass(frozen=True, slots=True)
class _Round:
    """One assessment item of one period: the raters' scores, and the contract's rule for the item."""

    key: str
    name: str
    maximum: Decimal
    spread: Decimal
    raters: int
    scores: str
    rule: AssessmentItemRule | None
    period: tuple[date, date]


def _assessment_rounds(ctx: MetricContext, c: Contract | None) -> dict[tuple[str, date], tuple[_Round, list[Any]]]:
    owner = c.id if c else None
    rules = {i.item: i for i in c.assessment_items} if c else {}
    grouped: dict[tuple[str, date], list[Any]] = {}
    for r in ctx.ledger.assessments:
        if r.contract == owner:
            grouped.setdefault((r.payload.item, r.payload.period_start), []).append(r)
    out = {}
    for (item, start), unordered in grouped.items():
        # in the order of what was scored, never of event ids or arrival
        recs = sorted(unordered, key=lambda r: (r.payload.rater, r.payload.score, r.event_id))
        scores = [r.payload.score for r in recs]
        maximum = recs[0].payload.max_score
        period = (recs[0].payload.period_start, recs[0].payload.period_end)
        name = f"{round_period(*period)}考核“{item}”"
        spread = (max(scores) - min(scores)) / maximum
        shown = " / ".join(fmt(x) for x in scores)
        out[(item, start)] = (
            _Round(f"{item}@{start}", name, maximum, spread, len(recs), shown, rules.get(item), period),
            recs,
        )
    return out


def _assessments(ctx: MetricContext, c: Contract | None) -> list[Record]:
    owner = c.id if c else None
    rounds = _assessment_rounds(ctx, c)
    out = []
    for r in ctx.ledger.assessments:
        if r.contract != owner:
            continue
        p = r.payload
        rnd = rounds[(p.item, p.period_start)][0]
        rule, deducted = rnd.rule, rnd.maximum - p.score
        allowed = sorted({Decimal(a) for a in rule.allowed_deductions}) if rule is not None else []
        out.append(
            Record(
                r.contract,
                {
                    "rater": p.rater,
                    "item": p.item,
                    "score": p.score,
                    "max_score": p.max_score,
                    "deducted": p.max_score - p.score,
                    "in_period": ctx.ledger.evaluation_window.contains(p.period_start),
                    "period_start": p.period_start,
                    "period_end": p.period_end,
                    "round": rnd.key,
                    "name": rnd.name,
                    "spread": rnd.spread,
                    "raters": Decimal(rnd.raters),
                    "round_scores": rnd.scores,
                    "full": p.score >= rnd.maximum,
                    "off_rule": bool(allowed) and deducted not in allowed,
                    "deduction": f"{p.rater}扣 {fmt(deducted)} 分",
                    "allowed": "、".join(fmt(a) for a in allowed),
                    "unsupported": rule is not None
                    and rule.needs_evidence
                    and p.score < rnd.maximum
                    and not p.evidence_refs,
                },
                (r.event_id,),
                p.period_end,
                (r.recorded_at, r.event_id),
            )
        )
    return out


@_per_contract
def _attendance_rounds(ctx: MetricContext, c: Contract) -> list[Record]:
    """Each period's assessment of an item the contract scores from attendance, against the late
    arrivals of that period: the full marks and the late clock-ins are the evidence."""
    late = ctx.late_arrivals(c)
    out = []
    for rnd, recs in _assessment_rounds(ctx, c).values():
        if rnd.rule is None or not rnd.rule.attendance:
            continue
        start, end = rnd.period
        in_period = [x for x in late if start <= x[1] <= end]
        full = [r for r in recs if r.payload.score >= rnd.maximum]
        fields = {
            "round": rnd.key,
            "name": rnd.name,
            "full": Decimal(len(full)),
            "late": Decimal(len(in_period)),
            "late_staff": Decimal(len({x[0] for x in in_period})),
        }
        out.append(Record(c.id, fields, sorted([*(r.event_id for r in full), *(x[3] for x in in_period)]), end))
    return out


def latest_self_rows(ctx: MetricContext) -> list[Any]:
    """One row per contract and indicator: a row sent again (a corrected self-evaluation table)
    supersedes the earlier one by when it was recorded — never by its event id."""
    latest: dict[tuple[str | None, str], Any] = {}
    for row in ctx.ledger.self_rows:
        key = (row.contract, row.payload.indicator)
        seen = latest.get(key)
        if seen is None or _row_order(row) > _row_order(seen):
            latest[key] = row
    return [latest[k] for k in sorted(latest, key=lambda k: (k[0] or "", k[1]))]


def _row_order(row: Any) -> tuple[Any, ...]:
    return (row.recorded_at, row.occurred_at, row.payload.model_dump_json())


def _self_claims(ctx: MetricContext, c: Contract | None) -> list[Record]:
    """Each latest self-evaluation row (of this contract, or of none) that claims a rate of a measure,
    with what the evidence measures: the row and the measure's evidence are the evidence."""
    from .indicators import MetricRef

    owner = c.id if c else None
    out = []
    for row in latest_self_rows(ctx):
        p = row.payload
        if row.contract != owner or p.metric is None or p.claimed_rate is None:
            continue
        try:
            m = ctx.measure(MetricRef.model_validate({"name": p.metric, "contract": row.contract}))
        except (MetricError, ValueError):
            continue  # a row naming no measure the project has: nothing to compare (the check reports it)
        actual = m.rate if m.rate is not None else m.value
        fields = {
            "claim": f"self:{row.contract or '-'}:{p.indicator}",
            "name": p.indicator,
            "claimed": p.claimed_rate,
            "actual": actual,
            "gap": p.claimed_rate - actual,
            "detail": m.detail,
        }
        # The measure's ids are sorted already: merged with the row's, not hashed and sorted anew.
        out.append(Record(row.contract, fields, merge_ids(((row.event_id,), m.evidence))))
    return out


@_per_contract
def _self_eval_targets(ctx: MetricContext, c: Contract) -> list[Record]:
    """The contract's self-evaluation table against its approved performance targets: one record per
    approved target and per row the targets do not have (none unless both exist). Each carries the
    table's whole comparison as the field writes it; the latest row of each indicator is the evidence."""
    approved = {t.name: t for t in c.performance_targets}
    rows = {r.payload.indicator: r for r in latest_self_rows(ctx) if r.contract == c.id}
    if not approved or not rows:
        return []
    missing = sorted(set(approved) - set(rows))
    extra = sorted(set(rows) - set(approved))
    changed = sorted(n for n in set(approved) & set(rows) if rows[n].payload.target not in (None, approved[n].target))
    parts = []
    if missing:
        parts.append("绩效目标表中的" + "、".join(f"“{n}”" for n in missing) + "未在自评表中评价")
    if extra:
        parts.append("自评表新增了目标表中没有的" + "、".join(f"“{n}”" for n in extra))
    if changed:
        parts.append(
            "指标值被调整：" + "；".join(f"“{n}”由 {approved[n].target} 改为 {rows[n].payload.target}" for n in changed)
        )
    comparison = "；".join(parts)
    out = []
    for name in sorted(set(approved) | set(rows)):
        status = (
            "missing" if name in missing else "extra" if name in extra else "changed" if name in changed else "same"
        )
        fields = {
            "name": name,
            "status": status,
            "differs": status != "same",
            "comparison": comparison,
        }
        out.append(Record(c.id, fields, (rows[name].event_id,) if name in rows else (), None))
    return out


def _acceptances(ctx: MetricContext, c: Contract | None) -> list[Record]:
    owner = c.id if c else None
    return [
        Record(
            r.contract,
            {
                "passed": r.payload.passed,
                "score": r.payload.score if r.payload.score is not None else Decimal(0),
                "scored": r.payload.score is not None,
                "period_start": r.payload.period_start,
                "period_end": r.payload.period_end,
            },
            (r.event_id,),
            r.payload.period_end,
            (r.recorded_at, r.event_id),
        )
        for r in ctx.ledger.acceptances
        if r.contract == owner
    ]


def _ticket_volumes(ctx: MetricContext, c: Contract | None) -> list[Record]:
    owner = c.id if c else None
    return [
        Record(
            r.contract,
            {"category": r.payload.category, "count": Decimal(r.payload.count)},
            (r.event_id,),
            r.payload.period_end,
            (r.recorded_at, r.event_id),
        )
        for r in ctx.ledger.ticket_volumes
        if r.contract == owner
    ]


@_per_contract
def _obligations(ctx: MetricContext, c: Contract) -> list[Record]:
    return [
        Record(
            c.id,
            {"key": o.key, "name": o.name, "met": o.met, "due": Decimal(o.due), "delivered": Decimal(o.delivered)},
            o.evidence,
            None,
        )
        for o in ctx.obligations(c)
        if not o.not_yet_due  # nothing due yet is no duty yet: neither met nor missed
    ]


@_per_contract
def _staff_checks(ctx: MetricContext, c: Contract) -> list[Record]:
    return [
        Record(
            c.id,
            {"check": k.key, "name": k.name, "met": k.met, "failing": Decimal(k.failing), "detail": k.detail},
            unique_sorted(k.evidence),  # sorted once here, not by each measure that merges them
        )
        for k in ctx.staff_checks(c)
    ]


@_per_contract
def _sla_check_blocks(ctx: MetricContext, c: Contract) -> list[Sequence[Record]]:
    """Each time limit of each fault (response, on site, resolve) against its severity's SLA, in
    blocks of the checks of `SLA_FAULTS_PER_BLOCK` faults: a fault's checks are one to three, and
    blocks of so many records would move whenever a fault gained a check."""
    table = ctx.derived(("sla_check", c.id))  # a fault's records change only with its measures

    def records(ticket: str, measures: tuple[FaultMeasure, ...]) -> tuple[Record, ...]:
        return kept(table, ticket, (measures,), _sla_check_records, c.id, measures)

    whole = ctx.derived(("sla_checks_whole", c.id))  # (what the last evaluation made of each fault)
    by_fault = list(kept_by_entry(whole, 0, ctx.faults(c), records, by_key=False).values())
    return in_blocks(ctx.derived(("sla_check_blocks", c.id)), 0, by_fault, SLA_FAULTS_PER_BLOCK, parts=True)


SLA_FAULTS_PER_BLOCK = 128


def _sla_check_records(contract: str, measures: tuple[FaultMeasure, ...]) -> tuple[Record, ...]:
    return tuple(
        Record(
            contract,
            {
                "ticket": f.ticket,
                "severity": f.severity,
                "measure": f.measure,
                "limit_name": _TIME_LIMIT[f.measure],
                "took": f"用时 {fmt(f.minutes, 0)} 分钟" if f.minutes is not None else "截至评价日仍未完成",
                "minutes": f.minutes if f.minutes is not None else Decimal(0),
                "limit": f.limit,
                "finished": f.minutes is not None,
                "breached": f.breached,
            },
            (f.event_id,),
        )
        for f in measures
    )


def _survey_aspects(ctx: MetricContext, c: Contract | None) -> list[Record]:
    """Satisfaction with named aspects of the service (系统稳定性 …), pooled by survey and group."""
    return [
        Record(
            None,
            {
                "survey": sid,
                "group": group,
                "item": aspect,
                "responses": Decimal(tally.total),
                "satisfied": Decimal(tally.satisfied),
            },
            unique_sorted(tally.ids),
        )
        for (sid, group, aspect), tally in sorted(ctx.ledger.survey_aspects.items())
    ]


def _plain(value: Decimal) -> str:
    """A number as part of a key: 2.9, 2.90 and 2.900 are one figure."""
    return format(value.normalize(), "f")


def _unit_rates(ctx: MetricContext, c: Contract | None) -> list[Record]:
    """Unit rates the budget was built with; `figure` names the rate itself (the same figure sent twice is one)."""
    owner = c.id if c else None
    out = []
    for rec in ctx.ledger.unit_rates:
        if rec.contract != owner:
            continue
        p = rec.payload
        fields = {
            "figure": f"{rec.contract or '-'}:{p.module}:{p.grade or ''}:{_plain(p.rate)}",
            "name": p.module,
            "grade": p.grade or "",
            "rate": p.rate,
        }
        out.append(Record(rec.contract, fields, (rec.event_id,), _local_day(rec.occurred_at)))
    return out


def _calculations(ctx: MetricContext, c: Contract | None) -> list[Record]:
    """Calculations written in budget documents, each redone and rounded half up at its stated precision."""
    owner = c.id if c else None
    out = []
    for rec in ctx.ledger.calculations:
        if rec.contract != owner:
            continue
        p = rec.payload
        sign = "×" if p.operation == "product" else "+"
        computed = Decimal(1) if p.operation == "product" else Decimal(0)
        for x in p.factors:
            computed = computed * x if p.operation == "product" else computed + x
        rounded = computed.quantize(Decimal(1).scaleb(-p.precision), ROUND_HALF_UP)  # 四舍五入
        key = sign.join(_plain(x) for x in p.factors)
        fields = {
            "figure": f"{rec.contract or '-'}:{p.description}:{key}={_plain(p.stated_result)}@{p.precision}",
            "name": p.description,
            "expression": sign.join(fmt(x, 4) for x in p.factors),
            "stated": p.stated_result,
            "computed": rounded,
            "difference": abs(rounded - p.stated_result),
            "stated_text": fmt(p.stated_result, p.precision),
            "computed_text": fmt(rounded, p.precision),
        }
        out.append(Record(rec.contract, fields, (rec.event_id,), _local_day(rec.occurred_at)))
    return out


@_per_contract
def _payment_bands(ctx: MetricContext, c: Contract) -> list[Record]:
    """The contract's two telling payment bands: the lowest score paid in full, and what a score of 0 still earns."""
    bands = sorted(c.payment_rules, key=lambda r: r.min_score)
    out = []
    full = next((r for r in bands if r.pay_fraction >= 1), None)
    if full is not None:
        score = fmt(full.min_score)
        fields = {
            "role": "full",
            "band": score,
            "name": f"考核得分 ≥{score} 分即全额支付当期费用",
            "effect": f"供应商只需按 {score}% 的程度履约即可收到全款",
            "shown": f"≥{score} 分全额支付",
            "figure": full.min_score,
        }
        out.append(Record(c.id, fields, ()))
    floor = next((r for r in bands if r.min_score == 0), None)
    if floor is not None:
        above = next((r.min_score for r in bands if r.min_score > 0), None)
        share = pct(floor.pay_fraction, 0)
        when = f"考核得分低于 {fmt(above)} 分" if above is not None else "无论考核得分多少"
        fields = {
            "role": "floor",
            "band": fmt(floor.min_score),
            "name": f"{when}仍支付当期 {share} 费用",
            "effect": "服务严重不达标时仍可获得部分款项",
            "shown": f"最低支付 {share}",
            "figure": floor.pay_fraction,
        }
        out.append(Record(c.id, fields, ()))
    return out


@_per_contract
def _assessment_rules(ctx: MetricContext, c: Contract) -> list[Record]:
    """The contract's assessment items (考核细则), each with what it still earns at its deduction cap."""
    out = []
    seen: dict[str, int] = {}
    for item in c.assessment_items:
        seen[item.item] = seen.get(item.item, 0) + 1
        capped = item.max_deduction is not None
        floor = (item.max_score - (item.max_deduction or 0)) / item.max_score if capped else Decimal(0)
        fields = {
            "key": item.item if seen[item.item] == 1 else f"{item.item}#{seen[item.item]}",
            "item": item.item,
            "max_score": item.max_score,
            "capped": capped,
            "max_deduction": item.max_deduction if capped else Decimal(0),
            "floor_share": floor,
        }
        out.append(Record(c.id, fields, ()))
    return out


_TIME_LIMIT = {"response": "响应", "on_site": "到场", "resolve": "修复"}


def _sla_check_text(r: Record) -> str:
    f = r.fields
    took = f"{fmt(f['minutes'], 0)} 分钟" if f["finished"] else "截至评价日未完成"
    return f"{f['ticket']}（{f['severity']}）{_TIME_LIMIT[f['measure']]}用时 {took}，限时 {fmt(f['limit'], 0)} 分钟"


def _clock_in_text(r: Record) -> str:
    f = r.fields
    return f"{f['staff']} {f['day']} {f['time']}"


def _deliverable_text(r: Record) -> str:
    f = r.fields
    return f"{f['name']}（{f['period_start']}~{f['period_end']}，应于 {f['due']} 前提交）"


def _incident_text(r: Record) -> str:
    return f"{r.fields['ticket']}（{r.fields['severity']}）"


def _inspection_text(r: Record) -> str:
    f = r.fields
    return f"{f['name']} {f['period_start']}~{f['period_end']} 完成 {fmt(f['done'], 0)}/{fmt(f['required'], 0)} 次"


def _f(type_: FieldType, label: str, values: dict[str, str] | None = None, members: str | None = None) -> FieldSpec:
    return FieldSpec(type_, label, values, members)


BUDGET_ITEMS = {
    "approved": "批复预算",
    "adjustment": "预算调整",
    "arrived": "到位资金",
    "spent": "实际支出",
    "contract_price": "合同价",
}
TRAINING_SCOPES = {"city": "全市", "district": "区", "town": "镇街", "internal": "内部", "other": "其他"}
FAULT_CAUSES = {"internal": "内部原因", "external": "外部原因", "unknown": "原因不明"}


SOURCES: dict[str, Source] = {
    s.name: s
    for s in (
        Source(
            "clock_in",
            "考勤记录（每人每日首次打卡）",
            {
                "staff": _f("text", "人员"),
                "day": _f("date", "日期"),
                "time": _f("text", "打卡时间"),
                "site": _f("text", "打卡地点"),
                "on_site": _f("bool", "在驻场地点"),
                "workday": _f("bool", "工作日"),
                "late": _f("bool", "迟到"),
                "minutes_late": _f("number", "迟到分钟数"),
            },
            blocks=_clock_in_blocks,
            itemize=_clock_in_text,
        ),
        Source(
            "clock_out",
            "考勤记录（每人每日最后一次签退）",
            {
                "staff": _f("text", "人员"),
                "day": _f("date", "日期"),
                "time": _f("text", "签退时间"),
                "workday": _f("bool", "工作日"),
                "left_early": _f("bool", "早退"),
                "minutes_early": _f("number", "早退分钟数"),
            },
            _clock_outs,
            itemize=_clock_in_text,
            description="合同约定了下班时间（working_hours.end）时才记录",
        ),
        Source(
            "roster",
            "驻场人员名册",
            {
                "name": _f("text", "姓名"),
                "role": _f("text", "岗位"),
                "years": _f("number", "工作年限"),
                "education": _f("text", "学历"),
                "fresh_graduate": _f("bool", "应届毕业生"),
                "on_site": _f("bool", "驻场"),
                "committed": _f("bool", "投标承诺人员"),
            },
            _roster,
        ),
        Source(
            "committed_staff",
            "投标承诺人员",
            {
                "name": _f("text", "姓名"),
                "role": _f("text", "岗位"),
                "on_roster": _f("bool", "在驻场名册中"),
                "on_site": _f("bool", "实际到岗"),
                "days_present": _f("number", "出勤工作日数"),
                "coverage": _f("number", "出勤覆盖率"),
            },
            _committed_staff,
            dated=False,
        ),
        Source(
            "on_site_coverage",
            "驻场人员出勤覆盖（每名驻场人员服务期内工作日的打卡覆盖）",
            {
                "name": _f("text", "姓名"),
                "coverage": _f("number", "出勤覆盖率"),
                "short": _f("bool", "低于合同要求的覆盖率"),
                "summary": _f("text", "出勤情况"),
            },
            _on_site_coverage,
            dated=False,
        ),
        Source(
            "required_role",
            "招标要求岗位",
            {"role": _f("text", "岗位", members="required_roles"), "present": _f("number", "实际驻场人数")},
            _required_roles,
            dated=False,
        ),
        Source(
            "deliverable",
            "交付物应交期次",
            {
                "deliverable": _f("text", "交付物", members="deliverables"),
                "name": _f("text", "交付物名称"),
                "period": _f("text", "期次"),
                "period_start": _f("date", "期次开始"),
                "period_end": _f("date", "期次结束"),
                "due": _f("date", "应交日期"),
                "required": _f("number", "应交份数"),
                "delivered": _f("number", "已交份数"),
                "submitted": _f("bool", "已提交"),
                "on_time": _f("bool", "按时提交"),
                "on_time_units": _f("number", "按时提交份数"),
                "late": _f("bool", "逾期提交"),
                "minutes_late": _f("number", "逾期分钟数"),
                "obligation": _f("bool", "计入合同产出"),
            },
            _deliverable_periods,
            description="每个已到期的交付期次一条（应交日期不晚于评价日）",
            itemize=_deliverable_text,
        ),
        Source(
            "inspection",
            "巡检计划期次",
            {
                "plan": _f("text", "巡检计划", members="inspection_plans"),
                "name": _f("text", "计划名称"),
                "period_start": _f("date", "期次开始"),
                "period_end": _f("date", "期次结束"),
                "required": _f("number", "应巡检次数"),
                "done": _f("number", "实际巡检次数"),
                "done_counted": _f("number", "计入完成的巡检次数（不超过应巡检次数）"),
                "late": _f("number", "未按时完成或登记的巡检次数"),
                "on_time_counted": _f("number", "计入完成且按时完成并登记的巡检次数"),
                "met": _f("bool", "完成"),
            },
            blocks=_inspection_period_blocks,
            description="巡检计划每个已结束的期次一条",
            itemize=_inspection_text,
        ),
        Source(
            "deliverable_term",
            "合同交付物（按交付物汇总）",
            {
                "deliverable": _f("text", "交付物", members="deliverables"),
                "name": _f("text", "交付物名称"),
                "due_units": _f("number", "已到期应交份数"),
                "delivered_units": _f("number", "按期次交付份数（不超过应交份数）"),
                "short_units": _f("number", "缺交份数"),
                "submitted_units": _f("number", "提交份数（含未对应到期期次的）"),
                "obligation": _f("bool", "计入合同产出"),
            },
            _deliverable_terms,
            dated=False,
            description="合同约定的每项交付物一条，证据为其全部提交记录",
        ),
        Source(
            "submission",
            "交付物提交记录",
            {
                "deliverable": _f("text", "交付物", members="deliverables"),
                "name": _f("text", "交付物名称"),
                "title": _f("text", "标题"),
                "period": _f("text", "期次"),
                "period_start": _f("date", "期次开始"),
                "period_end": _f("date", "期次结束"),
                "due_at": _f("text", "应交时间"),
                "submitted_at": _f("text", "提交时间"),
                "quantity": _f("number", "份数"),
                "late": _f("bool", "逾期"),
                "minutes_late": _f("number", "逾期分钟数"),
            },
            _submissions,
            description="对应到已到期期次的每次提交一条，按提交时间排列",
        ),
        Source(
            "late_inspection",
            "未按时完成或登记的巡检",
            {
                "plan": _f("text", "巡检计划", members="inspection_plans"),
                "name": _f("text", "计划名称"),
                "done_late": _f("bool", "未在规定时间前完成"),
                "registered_late": _f("bool", "未及时登记"),
            },
            _late_inspections,
            dated=False,
            description="每次未在计划规定时间前完成或未在时限内登记的巡检一条（两者皆有的算一条）",
        ),
        Source(
            "late_inspection_kind",
            "巡检未按时的情形（按巡检计划）",
            {
                "plan": _f("text", "巡检计划", members="inspection_plans"),
                "name": _f("text", "计划名称"),
                "kind": _f("text", "情形（未在规定时间前完成、未及时登记）"),
                "count": _f("number", "次数"),
            },
            _late_inspection_kinds,
            dated=False,
            description="每个巡检计划出现过的每种未按时情形一条（未在规定时间前完成、未及时登记），两者皆有的巡检各计一次",
        ),
        Source(
            "performance_target",
            "绩效目标表数量指标（对应交付物的各行）",
            {
                "name": _f("text", "指标名称"),
                "target": _f("text", "指标值"),
                "target_due": _f("text", "截至评价基准日的指标值（评价期内为已到期部分）"),
                "deliverable": _f("text", "交付物", members="deliverables"),
                "value": _f("number", "指标数值"),
                "due": _f("number", "截至评价基准日应达数值"),
                "delivered": _f("number", "实际交付份数"),
                "below": _f("bool", "未达到截至评价基准日应达数值"),
                "annual": _f("bool", "按全年设置"),
                "recurring": _f("bool", "周期性交付物"),
                "prorated": _f("number", "按服务期折算后的指标值"),
                "unprorated": _f("bool", "未按服务期折算"),
                "service_share": _f("number", "服务期占评价期的比例"),
            },
            _performance_targets,
            dated=False,
            description="绩效目标表中对应合同交付物且有指标数值的每行一条，证据为该交付物的提交记录",
        ),
        Source(
            "incident",
            "故障工单",
            {
                "ticket": _f("text", "工单号"),
                "severity": _f("text", "故障级别", members="sla_severities"),
                "cause": _f("text", "故障原因", FAULT_CAUSES),
                "system": _f("text", "系统"),
                "open": _f("bool", "未修复"),
                "opened_at": _f("moment", "发生时间"),
                "resolved_at": _f("moment", "修复时间"),
                "response_minutes": _f("number", "响应用时（分钟）"),
                "on_site_minutes": _f("number", "到场用时（分钟）"),
                "resolve_minutes": _f("number", "修复用时（分钟）"),
                "response_breached": _f("bool", "响应超时"),
                "on_site_breached": _f("bool", "到场超时"),
                "resolve_breached": _f("bool", "修复超时"),
                "breached": _f("bool", "超时"),
                "sla_bound": _f("bool", "受时限约束"),
            },
            _incidents,
            itemize=_incident_text,
        ),
        Source(
            "sla_check",
            "故障时限考核项（每宗故障的响应、到场、修复时限各一项）",
            {
                "ticket": _f("text", "工单号"),
                "severity": _f("text", "故障级别", members="sla_severities"),
                "measure": _f("text", "时限", {"response": "响应", "on_site": "到场", "resolve": "修复"}),
                "limit_name": _f("text", "时限名称"),
                "took": _f("text", "用时（或截至评价日仍未完成）"),
                "minutes": _f("number", "用时（分钟）"),
                "limit": _f("number", "时限（分钟）"),
                "finished": _f("bool", "已完成"),
                "breached": _f("bool", "超时"),
            },
            blocks=_sla_check_blocks,
            dated=False,
            itemize=_sla_check_text,
        ),
        Source(
            "staff_check",
            "驻场要求核查项（驻场地点、时间、人数、年限、学历、岗位结构、招标要求岗位）",
            {
                "check": _f("text", "核查项"),
                "name": _f("text", "名称"),
                "met": _f("bool", "满足"),
                "failing": _f("number", "不满足人数或项数"),
                "detail": _f("text", "核查结果"),
            },
            _staff_checks,
            dated=False,
        ),
        Source(
            "training",
            "培训记录",
            {
                "topic": _f("text", "主题"),
                "scope": _f("text", "范围", TRAINING_SCOPES),
                "units_covered": _f("number", "覆盖单位数"),
                "attendees": _f("number", "参训人数"),
                "courseware": _f("bool", "有课件"),
            },
            _trainings,
        ),
        Source(
            "training_duty",
            "合同培训义务（截至评价日应开展与符合要求的培训次数）",
            {
                "required": _f("number", "应开展次数"),
                "qualifying": _f("number", "符合要求次数"),
                "shortfall": _f("number", "差额"),
                "detail": _f("text", "开展情况"),
            },
            _training_duty,
            dated=False,
            description="合同约定了培训义务（training）时才有；符合要求：范围、覆盖单位数、参训人数达到约定，且在应开展的期间内",
        ),
        Source(
            "survey",
            "满意度问卷（按调查、对象、层级汇总）",
            {
                "survey": _f("text", "调查"),
                "group": _f("text", "调查对象"),
                "level": _f("text", "层级"),
                "responses": _f("number", "回收份数"),
                "satisfied": _f("number", "满意份数"),
            },
            _survey_groups,
            dated=False,
            scoped=False,
        ),
        Source(
            "survey_level",
            "合同满意度调查要求的层级（按调查义务）",
            {
                "duty": _f("text", "调查义务"),
                "survey": _f("text", "调查"),
                "level": _f("text", "层级"),
                "required": _f("bool", "合同要求的层级"),
                "responses": _f("number", "回收份数"),
                "short": _f("bool", "样本不足"),
            },
            _survey_levels,
            dated=False,
            description="合同中规定了层级的每项调查义务：要求的每个层级（按合同顺序）及问卷中出现的其他层级各一条；"
            "义务以调查编号标识（未限定调查的为 *，同一调查的第二项义务为 编号#2）",
        ),
        Source(
            "document_pair",
            "不同合同提交的相似文档（两两比较）",
            {
                "pair": _f("text", "文档对"),
                "contract_a": _f("text", "合同甲"),
                "title_a": _f("text", "文档甲"),
                "contract_b": _f("text", "合同乙"),
                "title_b": _f("text", "文档乙"),
                "similarity": _f("number", "章节重合度"),
                "common": _f("number", "相同章节数"),
                "common_sections": _f("text", "相同章节（前 8 个）"),
            },
            _document_pairs,
            dated=False,
            description="不同合同提交的、章节 3 个及以上的文档两两比较，相同章节占两者章节并集一半及以上的每对一条；"
            "只属于项目整体（不属于任何合同）",
        ),
        Source(
            "survey_aspect",
            "满意度问卷分项（按调查、对象、评价维度汇总）",
            {
                "survey": _f("text", "调查"),
                "group": _f("text", "调查对象"),
                "item": _f("text", "评价维度"),
                "responses": _f("number", "回答份数"),
                "satisfied": _f("number", "满意份数"),
            },
            _survey_aspects,
            dated=False,
            scoped=False,
        ),
        Source(
            "budget",
            "预算资金数据",
            {
                "item": _f("text", "科目", BUDGET_ITEMS),
                "amount": _f("number", "金额（万元）"),
                "fiscal_year": _f("number", "年度"),
                "contract": _f("text", "合同"),
            },
            _budget,
        ),
        Source(
            "asset",
            "运维资产（合同清单与实际数量）",
            {
                "asset_class": _f("text", "资产类别", members="asset_classes"),
                "name": _f("text", "资产名称"),
                "count": _f("number", "实际运维数量"),
                "planned": _f("number", "合同数量"),
                "covered": _f("number", "合同内已运维数量"),
                "reported": _f("bool", "已报送"),
            },
            _assets,
            dated=False,
        ),
        Source(
            "assessment",
            "采购人考核打分",
            {
                "rater": _f("text", "评分人"),
                "item": _f("text", "考核项"),
                "score": _f("number", "得分"),
                "max_score": _f("number", "满分"),
                "deducted": _f("number", "扣分"),
                "in_period": _f("bool", "考核期在评价期内"),
                "period_start": _f("date", "考核期开始"),
                "period_end": _f("date", "考核期结束"),
                "round": _f("text", "考核项与考核期"),
                "name": _f("text", "考核（期与项）"),
                "spread": _f("number", "当期该项各评价者得分极差占满分比例"),
                "raters": _f("number", "当期该项评价者人数"),
                "round_scores": _f("text", "当期该项各评价者得分"),
                "full": _f("bool", "得满分"),
                "off_rule": _f("bool", "扣分不符合考核规则"),
                "deduction": _f("text", "扣分"),
                "allowed": _f("text", "考核规则允许的扣分"),
                "unsupported": _f("bool", "扣分无佐证记录"),
            },
            _assessments,
            description="考核细则（assessment_items）约定了允许的扣分、须附佐证时，off_rule、unsupported 才可能为是",
        ),
        Source(
            "attendance_round",
            "按考勤扣分的考核项（每期）与当期迟到",
            {
                "round": _f("text", "考核项与考核期"),
                "name": _f("text", "考核（期与项）"),
                "full": _f("number", "满分评价数"),
                "late": _f("number", "当期迟到次数"),
                "late_staff": _f("number", "当期迟到人数"),
            },
            _attendance_rounds,
        ),
        Source(
            "self_claim",
            "自评表声称的完成率与佐证材料的度量",
            {
                "claim": _f("text", "自评行"),
                "name": _f("text", "自评指标"),
                "claimed": _f("number", "自评填报"),
                "actual": _f("number", "佐证材料显示"),
                "gap": _f("number", "自评高出佐证的差额"),
                "detail": _f("text", "度量说明"),
            },
            _self_claims,
            dated=False,
            description="自评表的行填写了 metric 与 claimed_rate 时才有",
        ),
        Source(
            "self_eval_target",
            "绩效自评表与批复的绩效目标表（每个指标一条）",
            {
                "name": _f("text", "指标"),
                "status": _f(
                    "text",
                    "比对结果",
                    {"missing": "未评价", "extra": "目标表中没有", "changed": "指标值被调整", "same": "一致"},
                ),
                "differs": _f("bool", "不一致"),
                "comparison": _f("text", "比对情况"),
            },
            _self_eval_targets,
            dated=False,
        ),
        Source(
            "acceptance",
            "验收记录",
            {
                "passed": _f("bool", "通过"),
                "score": _f("number", "得分"),
                "scored": _f("bool", "有得分"),
                "period_start": _f("date", "期次开始"),
                "period_end": _f("date", "期次结束"),
            },
            _acceptances,
        ),
        Source(
            "ticket_volume",
            "工单量统计",
            {"category": _f("text", "类别"), "count": _f("number", "数量")},
            _ticket_volumes,
        ),
        Source(
            "unit_rate",
            "预算测算人月费率",
            {
                "figure": _f("text", "费率（合同、模块、级别、费率）"),
                "name": _f("text", "模块"),
                "grade": _f("text", "级别"),
                "rate": _f("number", "费率（万元/人月）"),
            },
            _unit_rates,
        ),
        Source(
            "budget_calculation",
            "预算测算文件中的计算",
            {
                "figure": _f("text", "计算（合同、说明、算式、写明结果、精度）"),
                "name": _f("text", "说明"),
                "expression": _f("text", "算式"),
                "stated": _f("number", "文件中写明的结果"),
                "computed": _f("number", "按写明精度四舍五入的正确结果"),
                "difference": _f("number", "差额"),
                "stated_text": _f("text", "写明结果（按精度）"),
                "computed_text": _f("text", "正确结果（按精度）"),
            },
            _calculations,
        ),
        Source(
            "payment_band",
            "付款条款（全额支付的最低档、0 分仍可获得的保底档）",
            {
                "role": _f("text", "档位", {"full": "全额支付档", "floor": "保底档"}),
                "band": _f("text", "档位起点（考核得分）"),
                "name": _f("text", "条款"),
                "effect": _f("text", "效果"),
                "shown": _f("text", "简述"),
                "figure": _f("number", "档位数值（全额支付档为起点得分，保底档为支付比例）"),
            },
            _payment_bands,
            dated=False,
            description="合同条款本身，不含证据",
        ),
        Source(
            "assessment_rule",
            "考核细则（合同约定的考核项）",
            {
                "key": _f("text", "考核项（重名时编号）"),
                "item": _f("text", "考核项"),
                "max_score": _f("number", "分值"),
                "capped": _f("bool", "设扣分上限"),
                "max_deduction": _f("number", "每期最多扣分"),
                "floor_share": _f("number", "扣满上限后的得分率"),
            },
            _assessment_rules,
            dated=False,
            description="合同条款本身，不含证据",
        ),
        Source(
            "obligation",
            "合同产出义务",
            {
                "key": _f("text", "义务"),
                "name": _f("text", "名称"),
                "met": _f("bool", "已完成"),
                "due": _f("number", "应完成数"),
                "delivered": _f("number", "已完成数"),
            },
            _obligations,
            dated=False,
        ),
    )
}


CONTRACT_LISTS: dict[str, ContractList] = {
    lst.name: lst
    for lst in (
        ContractList("committed_staff", "投标承诺人员", lambda c: frozenset(s.name for s in c.staffing.committed)),
        ContractList(
            "committed_roles",
            "投标承诺岗位",
            lambda c: frozenset(_normalised_role(c, s.role) for s in c.staffing.committed),
        ),
        ContractList("required_roles", "招标要求岗位", lambda c: frozenset(c.staffing.required_roles)),
        ContractList("deliverables", "合同交付物", lambda c: frozenset(d.id for d in c.deliverables)),
        ContractList("inspection_plans", "巡检计划", lambda c: frozenset(p.id for p in c.inspections)),
        ContractList("sla_severities", "合同故障级别", lambda c: frozenset(s.severity for s in c.slas)),
        ContractList("asset_classes", "合同资产类别", lambda c: frozenset(a.asset_class for a in c.assets)),
        ContractList(
            "surveys", "合同约定的调查", lambda c: frozenset(s.survey for s in c.surveys if s.survey is not None)
        ),
    )
}
