"""Measurements of the ledger: the actual values indicators score and rules judge.

Every measurement carries the ids of the events behind it and says, in Chinese, how it was
obtained, so a score or a finding can always be traced to its evidence.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from itertools import chain
from typing import TYPE_CHECKING, Any

from .base import CHINA_TZ, DateRange, IdUnion, SortedIds, merge_ids
from .calendar import WorkCalendar, periods, window_minutes
from .contract import Contract, ServiceWindow, SlaTerm
from .derived import in_blocks, kept, kept_by_entry
from .evidence import IncidentPayload
from .indicators import MetricRef

if TYPE_CHECKING:
    from .measures import MeasureValue
from .ledger import Ledger, Recorded
from .schedule import (
    DeliverableStatus,
    InspectionStatus,
    deliverable_status,
    inspection_status,
    items_still_due,
    service_workdays,
)
from .sources import SOURCES, Record, Source, clock_ins_by_person
from .values import Measurement as Measurement
from .values import MetricError as MetricError
from .values import fmt as fmt
from .values import pct as pct
from .values import rate_measurement as rate_measurement

ZERO = Decimal(0)
ONE = Decimal(1)
# Records per block of a source read as a list (`MetricContext.record_blocks`): a measure keeps what
# it made of a block; smaller blocks are more to keep, larger ones more to make again per change.
RECORDS_PER_BLOCK = 256
EDUCATION_ORDER = {"中专": 1, "高中": 1, "大专": 2, "专科": 2, "本科": 3, "硕士": 4, "研究生": 4, "博士": 5}


@dataclass(slots=True)
class Obligation:
    contract: str
    key: str
    name: str
    met: bool
    due: int
    delivered: int
    detail: str
    evidence: Sequence[str]
    not_yet_due: bool = False  # nothing due by the as-of date while the period still runs: no duty yet


@dataclass(slots=True)
class StaffCheck:
    key: str
    name: str
    met: bool
    detail: str
    evidence: Sequence[str]
    failing: int = 0


@dataclass(slots=True)
class FaultMeasure:
    ticket: str
    event_id: str
    severity: str
    measure: str
    minutes: Decimal | None
    limit: Decimal
    breached: bool


@dataclass(frozen=True, slots=True)
class Attendance:
    """One person's first clock-ins of the days of a contract, summed up."""

    present: int  # days among the service's working days up to the as-of date
    first: date | None  # the first day with a clock-in
    ids: list[str]  # sorted
    sites: Counter[str | None]  # clock-ins by site


@dataclass
class MetricContext:
    """Memoised measurements over one ledger.

    `measurements`: measurements already made over this very ledger (the rules service ships those
    the scorer asks for, by each ref's canonical JSON, `MetricRef.model_dump_json`): `measure`
    answers them without evaluating the measure again. Whoever presets them vouches that they were
    made for the same state (definition revision, as-of date, events folded)."""

    ledger: Ledger
    work: WorkCalendar = field(default_factory=WorkCalendar)
    _cache: dict[tuple[str, ...], object] = field(default_factory=dict)
    measurements: Mapping[str, Measurement] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.work.use_bundle(self.ledger.definition.calendar)  # the project's declared years come first

    def _memo(self, key: tuple[str, ...], compute: Callable[[], object]) -> object:
        if key not in self._cache:
            self._cache[key] = compute()
        return self._cache[key]

    def derived(self, name: tuple[str, ...], *inputs: object) -> dict[Any, Any]:
        """A table of facts derived from single records of the ledger, kept with it between evaluations
        (derived.py): emptied when the calendar's answers or any of `inputs` differ from its own."""
        return self.ledger.derived.table(name, (self.work.answers, *inputs))

    # ------------------------------------------------------------ the as-of date within the period

    @property
    def running(self) -> bool:
        """The as-of date is before the period's end: more may fall due, facts are provisional."""
        return self.ledger.as_of < self.ledger.evaluation_window.end

    def service_started(self, contract: Contract) -> bool:
        """Whether the contract's service had begun by the as-of date (before it, no duty of it is due)."""
        return self.ledger.as_of >= contract.service_period.start

    def due_fraction(self, contract_id: str | None) -> Decimal:
        """Share of the evaluation period under service up to the as-of date: what part of an annual
        target is due so far (the service fraction at the period's end)."""
        return self._service_share(contract_id, self.ledger.as_of)

    def _service_share(self, contract_id: str | None, until: date) -> Decimal:
        """Share of the evaluation period under service up to a day."""
        window = self.ledger.evaluation_window
        span = self.ledger.service_span(contract_id).intersect(window)
        if span is None or until < span.start:
            return ZERO
        covered = DateRange(start=span.start, end=min(span.end, until))
        return Decimal(covered.days) / Decimal(window.days)

    def deliverables_still_due(self, contract_id: str | None) -> list[tuple[str, int]]:
        """(name, units) of the deliverables still to fall due in the period after the as-of date."""
        out = []
        for c in self.contracts(contract_id):
            for term in c.deliverables:
                units = items_still_due(term, c, self.ledger, self.work)
                if units:
                    out.append((term.name, units))
        return out

    def target_due(self, contract: Contract, deliverable_id: str, annual: Decimal) -> Decimal:
        """The part of a target for a deliverable due by the as-of date: the whole target once the
        period is over, before that no more than the units due so far under the contract's calendar."""
        if not self.running:
            return annual
        return min(annual, Decimal(self.deliverable(contract, deliverable_id).required_units))

    # ------------------------------------------------------------ lookups

    def contract(self, contract_id: str | None) -> Contract:
        contracts = self.ledger.definition.contracts
        if contract_id is None:
            if len(contracts.contracts) == 1:
                return contracts.contracts[0]
            raise MetricError("the project has several contracts: the metric must name one")
        found = contracts.contract(contract_id)
        if found is None:
            raise MetricError(f"unknown contract {contract_id!r}")
        return found

    def contracts(self, contract_id: str | None) -> list[Contract]:
        if contract_id is None:
            return list(self.ledger.definition.contracts.contracts)
        return [self.contract(contract_id)]

    def deliverable(self, contract: Contract, deliverable_id: str) -> DeliverableStatus:
        term = contract.deliverable(deliverable_id)
        if term is None:
            raise MetricError(f"contract {contract.id!r} has no deliverable {deliverable_id!r}")
        return self._memo(  # type: ignore[return-value]
            ("deliverable", contract.id, deliverable_id),
            lambda: deliverable_status(self.ledger, contract, term, self.work),
        )

    def inspection(self, contract: Contract, plan_id: str) -> InspectionStatus:
        plan = contract.inspection(plan_id)
        if plan is None:
            raise MetricError(f"contract {contract.id!r} has no inspection plan {plan_id!r}")
        return self._memo(  # type: ignore[return-value]
            ("inspection", contract.id, plan_id),
            lambda: inspection_status(self.ledger, contract, plan, self.work),
        )

    def service_fraction(self, contract_id: str | None) -> Decimal:
        """Share of the evaluation period under service (for prorating annual targets)."""
        return self._service_share(contract_id, self.ledger.evaluation_window.end)

    # ------------------------------------------------------------ obligations

    def obligations(self, contract: Contract) -> list[Obligation]:
        return self._memo(("obligations", contract.id), lambda: self._obligations(contract))  # type: ignore[return-value]

    def _obligations(self, contract: Contract) -> list[Obligation]:
        out = self._all_obligations(contract)
        if self.running:
            for o in out:
                o.not_yet_due = o.due == 0
        return out

    def _all_obligations(self, contract: Contract) -> list[Obligation]:
        out: list[Obligation] = []
        for term in contract.deliverables:
            if not term.obligation:
                continue
            st = self.deliverable(contract, term.id)
            missing = st.missing
            detail = f"应交 {st.required_units} 份，按期交付 {st.delivered_units} 份"
            if missing:
                detail += (
                    "；缺 "
                    + "、".join(_period_label(m.period) for m in missing[:6])
                    + ("等" if len(missing) > 6 else "")
                )
            out.append(
                Obligation(
                    contract.id,
                    f"deliverable:{term.id}",
                    term.name,
                    not missing,
                    st.required_units,
                    st.delivered_units,
                    detail,
                    st.evidence,
                )
            )
        for plan in contract.inspections:
            if not plan.obligation:
                continue
            ins = self.inspection(contract, plan.id)
            out.append(
                Obligation(
                    contract.id,
                    f"inspection:{plan.id}",
                    plan.name,
                    ins.done >= ins.planned,
                    ins.planned,
                    ins.done,
                    f"计划 {ins.planned} 次，完成 {ins.done} 次",
                    ins.ids,
                )
            )
        if contract.training is not None:
            tr = self.training(contract)
            out.append(
                Obligation(
                    contract.id,
                    "training",
                    contract.training.description or "培训服务",
                    tr.numerator is not None and tr.denominator is not None and tr.numerator >= tr.denominator,
                    int(tr.denominator or 0),
                    int(tr.numerator or 0),
                    tr.detail,
                    list(tr.evidence),
                )
            )
        for index, duty in enumerate(contract.surveys):
            sv = self.survey_duty(contract, index)
            out.append(
                Obligation(
                    contract.id, f"survey:{index}", duty.description or "满意度调查", sv[0], sv[1], sv[2], sv[3], sv[4]
                )
            )
        return out

    # ------------------------------------------------------------ training and surveys

    def training(self, contract: Contract) -> Measurement:
        duty = contract.training
        if duty is None:
            raise MetricError(f"contract {contract.id!r} has no training duty")
        spans = [
            p
            for p in periods(
                duty.frequency, "calendar", contract.service_period, self.ledger.evaluation_window, self.work
            )
            if p.end <= self.ledger.as_of
        ]
        required = len(spans) * duty.times_per_period
        held = [t for t in self.ledger.trainings if t.contract in (None, contract.id)]
        qualifying = [
            t
            for t in held
            if (duty.scope == "other" or t.payload.scope == duty.scope)
            and t.payload.units_covered >= duty.min_units_covered
            and t.payload.attendee_count >= duty.min_attendees
            and any(s.contains(t.occurred_at.astimezone(CHINA_TZ).date()) for s in spans)
        ]
        attendees = sum(t.payload.attendee_count for t in held)
        detail = (
            f"应开展 {required} 次（{_freq_label(duty.frequency)}{duty.times_per_period} 次"
            f"{'，全市范围' if duty.scope == 'city' else ''}），实际开展 {len(held)} 次、参训 {attendees} 人，"
            f"符合要求 {len(qualifying)} 次"
        )
        return Measurement(
            Decimal(len(qualifying)),
            Decimal(len(qualifying)),
            Decimal(required),
            "次",
            f"{len(qualifying)}/{required}",
            detail,
            tuple(sorted(t.event_id for t in held)),
        )

    def survey_duty(self, contract: Contract, index: int) -> tuple[bool, int, int, str, SortedIds]:
        duty = contract.surveys[index]
        spans = [
            p
            for p in periods(
                duty.frequency, duty.anchor, contract.service_period, self.ledger.evaluation_window, self.work
            )
            if p.end <= self.ledger.as_of
        ]
        tallies = {k: v for k, v in self.ledger.surveys.items() if duty.survey is None or k[0] == duty.survey}
        surveys_held = {k[0] for k in tallies}
        levels = Counter[str]()
        logs = []
        for (_, _, level), tally in tallies.items():
            levels[level or "未标注"] += tally.total
            logs.append(tally.ids)
        missing_levels = [lvl for lvl in duty.required_levels if levels.get(lvl, 0) < max(1, duty.min_responses)]
        held_ok = min(len(surveys_held), len(spans)) if not missing_levels else 0
        level_text = "、".join(f"{lvl} {n} 份" for lvl, n in sorted(levels.items())) or "无"
        detail = f"应开展 {len(spans)} 次，已开展 {len(surveys_held)} 次，回收问卷：{level_text}"
        if missing_levels:
            detail += f"；缺少{'、'.join(missing_levels)}级样本"
        return held_ok >= len(spans), len(spans), held_ok, detail, merge_ids(logs)

    def survey_due(self, contract: Contract, index: int) -> bool:
        """Whether a survey duty has fallen due: a survey period has passed, or the period is over."""
        return not self.running or self.survey_duty(contract, index)[1] > 0

    # ------------------------------------------------------------ staffing

    def staff_checks(self, contract: Contract) -> list[StaffCheck]:
        return self._memo(("staff", contract.id), lambda: self._staff_checks(contract))  # type: ignore[return-value]

    def roster(self, contract: Contract) -> list[tuple[str, str, str, Decimal | None, str | None, bool]]:
        """(event id, name, normalised role, years, education, fresh graduate) of on-site staff."""
        aliases = contract.staffing.role_aliases
        out = []
        for (cid, name), rec in sorted(self.ledger.roster.items()):
            if cid != contract.id or not rec.payload.on_site:
                continue
            p = rec.payload
            out.append((rec.event_id, name, aliases.get(p.role, p.role), p.years, p.education, p.fresh_graduate))
        return out

    def coverage(self, contract: Contract) -> dict[str, tuple[Decimal, date | None, list[str]]]:
        """Per on-site staff: share of service workdays with a clock-in, first day, clock-in ids."""
        workdays = self._workdays(contract)
        out: dict[str, tuple[Decimal, date | None, list[str]]] = {}
        for _, name, *_ in self.roster(contract):
            seen = self.attendance(contract, name)
            share = Decimal(seen.present) / Decimal(len(workdays)) if workdays else ONE
            out[name] = (share, seen.first, seen.ids)
        return out

    def attendance(self, contract: Contract, staff: str) -> Attendance:
        """A person's first clock-ins of the contract's days, summed up; kept with the ledger while they
        and the service's working days so far are the same. (The fold puts a new tuple in place of a
        day's first clock-in and never moves one to another day: the same tuples are the same days,
        and their records the same list, `clock_ins_by_person`.)"""
        days = self.ledger.first_clock_in.get((contract.id, staff), {})
        workdays = self._workdays(contract)
        table = self.derived(("attendance", contract.id))
        # (Their clock-in records are one list while those tuples are the same: compared by it, not
        # by the 260 or so tuples of a year.)
        records = self.clock_ins_by_person(contract).get(staff)
        inputs = (workdays,) if records is None else (workdays, records)
        return kept(table, staff, inputs, _attendance, days, workdays)

    def _workdays(self, contract: Contract) -> frozenset[int]:
        """The ordinals of the contract's working days in service up to the as-of date (kept, one object
        while the date, the terms and the calendar are the same)."""
        inputs = (self.work.answers, contract, self.ledger.as_of)
        return self.ledger.derived.value(("workdays", contract.id), inputs, _workday_ordinals, self, contract)

    def late_arrivals(self, contract: Contract) -> list[tuple[str, date, int, str]]:
        """(staff, day, minutes late, event id) for first clock-ins after the day's start on workdays,
        in that order: each person's, kept while their records are the same list (most people have no
        new day between two changes), laid end to end in the order of their names."""
        people = self.clock_ins_by_person(contract)
        table = self.derived(("late_arrivals", contract.id))
        out: list[tuple[str, date, int, str]] = []
        for staff in sorted(people):
            records = people[staff]
            out += kept(table, staff, (records,), _flagged, records, "late", "minutes_late")
        return out

    def clock_ins_by_person(self, contract: Contract) -> dict[str, list[Record]]:
        """Each person's clock-in records of a contract (sources.clock_ins_by_person), made once per evaluation."""
        return self._memo(  # type: ignore[return-value]
            ("clock_ins_by_person", contract.id), lambda: clock_ins_by_person(self, contract)
        )

    def early_leaves(self, contract: Contract) -> list[tuple[str, date, int, str]]:
        """(staff, day, minutes early, event id) for last clock-outs before the day's end on workdays."""
        return _flagged(self.records(SOURCES["clock_out"], contract), "left_early", "minutes_early")

    def _clock_in_ids(self, contract: Contract, cov: dict[str, tuple[Decimal, date | None, list[str]]]) -> SortedIds:
        """The on-site staff's clock-in ids, sorted."""
        return self._people_ids("clock_in_ids", contract, [c[2] for c in cov.values()])

    def _people_ids(self, name: str, contract: Contract, lists: list[list[str]]) -> SortedIds:
        """The union of people's sorted clock-in ids (a list each, the same while their days are,
        `attendance`), kept between evaluations and brought up to date by the people whose lists
        changed (`IdUnion`): a year of them is about 31k ids to sort, and a change brings a few."""
        table = self.derived((name, contract.id))
        union = table.get(0)
        if union is None:
            union = table[0] = IdUnion()
        return union.of(lists)

    def _staff_checks(self, contract: Contract) -> list[StaffCheck]:
        terms = contract.staffing
        roster = self.roster(contract)
        roster_ids = [r[0] for r in roster]
        checks: list[StaffCheck] = []

        sites = Counter[str | None]()
        attended = tuple(
            self.attendance(contract, staff) for cid, staff in self.ledger.first_clock_in if cid == contract.id
        )
        for seen in attended:
            sites.update(seen.sites)
        site_ids = self._people_ids("site_ids", contract, [seen.ids for seen in attended])  # every first clock-in
        if terms.site is not None:
            total = sum(sites.values())
            off = total - sites.get(terms.site, 0)
            checks.append(
                StaffCheck(
                    "site",
                    "驻场地点",
                    total > 0 and off == 0,
                    f"打卡 {total} 条，其中非驻场地点 {off} 条" if total else "无打卡记录",
                    site_ids,
                )
            )

        cov = self.coverage(contract)
        short = {n: c for n, c in cov.items() if c[0] < terms.min_coverage}
        detail = f"{len(cov)} 名驻场人员中 {len(short)} 名出勤覆盖率低于 {pct(terms.min_coverage, 0)}"
        if short:
            detail += (
                "（"
                + "；".join(f"{n} {pct(c[0], 1)}，首次打卡 {c[1] or '无'}" for n, c in sorted(short.items()))
                + "）"
            )
        checks.append(
            StaffCheck(
                "period",
                "驻场时间",
                bool(cov) and not short,
                detail,
                self._clock_in_ids(contract, cov) if short else roster_ids,
            )
        )

        checks.append(
            StaffCheck(
                "headcount",
                "驻场人员数量",
                len(roster) >= terms.min_on_site,
                f"实际驻场 {len(roster)} 人，要求不少于 {terms.min_on_site} 人",
                roster_ids,
            )
        )

        reqs = {r.role: r for r in terms.role_requirements}
        below: list[str] = []
        for _, name, role, years, _, fresh in roster:
            need = reqs[role].min_years if role in reqs else terms.default_min_years
            if fresh and need > 0:
                below.append(f"{name}（{role}，应届毕业生，要求 {fmt(need)} 年以上）")
            elif years is not None and years < need:
                below.append(f"{name}（{role}，{fmt(years)} 年，要求 {fmt(need)} 年以上）")
        known_years = [r[3] for r in roster if r[3] is not None]
        avg = sum(known_years, ZERO) / len(known_years) if known_years else None
        avg_ok = True
        detail = f"{len(below)} 人工作年限不达要求" + ("：" + "；".join(below) if below else "")
        if terms.promised_avg_years and avg is not None:
            avg_ok = avg >= terms.promised_avg_years * terms.min_avg_years_ratio
            detail += f"；平均工作年限 {fmt(avg)} 年，投标承诺 {fmt(terms.promised_avg_years)} 年"
        checks.append(StaffCheck("experience", "工作经验", not below and avg_ok, detail, roster_ids, len(below)))

        if terms.min_education is not None:
            floor = EDUCATION_ORDER.get(terms.min_education, 0)
            low = [f"{r[1]}（{r[4] or '未提供'}）" for r in roster if EDUCATION_ORDER.get(r[4] or "", 0) < floor]
            checks.append(
                StaffCheck(
                    "education",
                    "学历",
                    not low,
                    f"{len(low)} 人学历低于{terms.min_education}" + ("：" + "、".join(low) if low else ""),
                    roster_ids,
                )
            )

        committed = Counter(terms.role_aliases.get(s.role, s.role) for s in terms.committed)
        if committed:
            actual = Counter(r[2] for r in roster)
            diffs = [
                f"{role} 承诺 {committed.get(role, 0)} 人、实际 {actual.get(role, 0)} 人"
                for role in sorted(set(committed) | set(actual))
                if committed.get(role, 0) != actual.get(role, 0)
            ]
            checks.append(
                StaffCheck(
                    "role_mix",
                    "岗位结构（工作内容）",
                    not diffs,
                    "；".join(diffs) if diffs else "与投标承诺一致",
                    roster_ids,
                    len(diffs),
                )
            )

        if terms.required_roles:
            actual_roles = {r[2] for r in roster}
            absent = [r for r in terms.required_roles if r not in actual_roles]
            checks.append(
                StaffCheck(
                    "required_roles",
                    "招标要求岗位",
                    not absent,
                    f"缺少{'、'.join(absent)}岗位" if absent else "招标要求岗位均已配置",
                    roster_ids,
                )
            )
        return checks

    # ------------------------------------------------------------ incidents

    def fault_measures(self, contract: Contract) -> list[FaultMeasure]:
        return self._memo(  # type: ignore[return-value]
            ("fault_measures", contract.id), lambda: [f for fm in self.faults(contract).values() for f in fm]
        )

    def faults(self, contract: Contract) -> dict[str, tuple[FaultMeasure, ...]]:
        """The time limits of each fault of the contract whose severity has an SLA, by ticket in order."""
        return self._memo(("faults", contract.id), lambda: self._faults(contract))  # type: ignore[return-value]

    def _faults(self, contract: Contract) -> dict[str, tuple[FaultMeasure, ...]]:
        out: dict[str, tuple[FaultMeasure, ...]] = {}
        # Each severity's term and window, looked up once per evaluation rather than once per fault.
        terms = {s.severity: (s, contract.sla_window(s)) for s in reversed(contract.slas)}  # the first wins
        # A fault's measures change only with its record, but an open one is measured up to the end of
        # the as-of day: kept for that day only.
        table = self.derived(("faults", contract.id), contract)
        cutoff = self.ledger.cutoff

        def measured(key: tuple[str, str], rec: Recorded[IncidentPayload]) -> tuple[FaultMeasure, ...] | None:
            cid, ticket = key
            if cid != contract.id:
                return None
            term = terms.get(rec.payload.severity)
            if term is None:
                return None
            p = rec.payload
            still_open = p.responded_at is None or p.on_site_at is None or p.resolved_at is None
            inputs = (rec, cutoff) if still_open else (rec,)
            return kept(table, ticket, inputs, _fault_measures, ticket, rec, *term, self.work, cutoff)

        # The faults of the last evaluation, measured again only where their records changed (or the
        # as-of moment moved: each fault's own entry above keeps those closed before it).
        whole = self.derived(("faults_whole", contract.id), contract, cutoff)
        for (_, ticket), measures in kept_by_entry(whole, 0, self.ledger.incidents, measured, by_key=True).items():
            if measures is not None:
                out[ticket] = measures
        return out

    # ------------------------------------------------------------ the metric registry

    def measure(self, ref: MetricRef) -> Measurement:
        """The value a leaf, a checklist point or a rule reads: a defined measure's."""
        if self.ledger.definition.measures.get(ref.name) is None:
            raise MetricError(f"unknown metric {ref.name!r}")
        if self.measurements:
            made = self.measurements.get(ref.model_dump_json())
            if made is not None:
                return made
        return self.measure_value(ref).total

    def measure_value(self, ref: MetricRef) -> MeasureValue:
        """A defined measure's value, with its per-subject values when it is grouped `by` a field."""
        from .measures import evaluate

        key = ("measure", ref.model_dump_json())
        library = self.ledger.definition.measures
        return self._memo(key, lambda: evaluate(library, ref, self))  # type: ignore[return-value]

    def records(self, source: Source, contract: Contract | None) -> list[Record]:
        """A source's records for one contract (None: those that name no contract), read once per evaluation."""
        key = ("records", source.name, contract.id if contract else "")

        def records() -> list[Record]:
            if source.read is None:
                return list(chain.from_iterable(self.record_blocks(source, contract)))
            return source.read(self, contract)

        return self._memo(key, records)  # type: ignore[return-value]

    def record_blocks(self, source: Source, contract: Contract | None) -> list[Sequence[Record]]:
        """The same records in blocks, each the same object while its records are (`Source.blocks`,
        `derived.in_blocks`), read once per evaluation."""
        key = ("blocks", source.name, contract.id if contract else "")

        def blocks() -> list[Sequence[Record]]:
            if source.blocks is not None:
                return source.blocks(self, contract)
            return in_blocks(self.derived(key), 0, self.records(source, contract), RECORDS_PER_BLOCK)

        return self._memo(key, blocks)  # type: ignore[return-value]


def _period_label(p: DateRange) -> str:
    if p.start == p.end:
        return str(p.start)
    if p.start.day == 1 and (p.end + timedelta(days=1)).day == 1 and p.start.month == p.end.month:
        return f"{p.start.year}年{p.start.month}月"
    return f"{p.start}~{p.end}"


def _freq_label(freq: str) -> str:
    return {"weekly": "每周", "monthly": "每月", "quarterly": "每季度", "half_year": "每半年", "yearly": "每年"}.get(
        freq, ""
    )


def _workday_ordinals(ctx: MetricContext, contract: Contract) -> frozenset[int]:
    return frozenset(d.toordinal() for d in service_workdays(ctx.ledger, contract, ctx.work))


def _flagged(records: list[Record], flag: str, minutes: str) -> list[tuple[str, date, int, str]]:
    """(staff, day, minutes, event id) of the clock records `flag` marks, in that order. (The record
    sources hold the one reckoning of lateness against the contract's working day.)"""
    return sorted(
        (r.fields["staff"], r.fields["day"], int(r.fields[minutes]), r.evidence[0]) for r in records if r.fields[flag]
    )


def _attendance(days: dict[int, tuple[int, str, str | None]], workdays: frozenset[int]) -> Attendance:
    return Attendance(
        sum(1 for o in days if o in workdays),
        date.fromordinal(min(days)) if days else None,
        sorted(v[1] for v in days.values()),
        Counter(v[2] for v in days.values()),
    )


def _fault_measures(
    ticket: str,
    rec: Recorded[IncidentPayload],
    sla: SlaTerm,
    window: ServiceWindow,
    work: WorkCalendar,
    cutoff: datetime,
) -> tuple[FaultMeasure, ...]:
    """A fault's response, on-site and resolve times in its SLA window, against their limits."""
    out = []
    opened = rec.occurred_at
    for measure, at_, limit in (
        ("response", rec.payload.responded_at, sla.response_minutes),
        ("on_site", rec.payload.on_site_at, sla.on_site_minutes),
        ("resolve", rec.payload.resolved_at, sla.resolve_minutes),
    ):
        if limit is None:
            continue
        if at_ is None:
            # Still open at as-of: breached only once the limit has passed.
            elapsed = window_minutes(opened, cutoff, window, work)
            out.append(FaultMeasure(ticket, rec.event_id, sla.severity, measure, None, limit, elapsed > limit))
            continue
        minutes = window_minutes(opened, at_, window, work)
        out.append(FaultMeasure(ticket, rec.event_id, sla.severity, measure, minutes, limit, minutes > limit))
    return tuple(out)
