"""The measure language: what is counted, over which evidence, written as data.

A measure names a record source (sources.py), filters its records on any field (`where`),
optionally groups them by a field (`by`, one value per subject) or buckets them by period
(`per` + `covered`: the periods due so far in which a condition holds), and aggregates them
(count, distinct, sum, min, max, mean, latest, share) — or divides one measure by another
(`ratio`). Definitions are checked against the sources' declared fields when they are loaded,
compiled once into closures, and every value carries the evidence ids behind it and a Chinese
explanation generated from its own definition.

    - id: staff.late_arrivals_committed
      name: 投标承诺人员迟到次数
      unit: 次
      source: clock_in
      where: {late: true, staff: {in: committed_staff}}

The standard library (opseval_shared/library/measures.yaml) is written in the same form; a
bundle's measures.yaml adds its own or replaces a standard one (`replaces: true`).
"""

from __future__ import annotations

import bisect
import heapq
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, PrivateAttr, StringConstraints, field_validator, model_validator

from .base import Frozen, merge_ids
from .evidence import Text
from .sources import CONTRACT_LISTS, SOURCES, FieldSpec, Record, Source
from .values import Measurement, MetricError, fmt, pct, rate_measurement

if TYPE_CHECKING:
    from .indicators import MetricRef
    from .metrics import MetricContext

MeasureId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$", max_length=80)]
Op = Literal["==", "!=", ">", ">=", "<", "<=", "in", "not_in"]
OPS: tuple[str, ...] = ("==", "!=", ">", ">=", "<", "<=", "in", "not_in")
Per = Literal["workday", "weekly", "monthly", "quarterly", "half_year", "yearly"]
AggregateFn = Literal["count", "distinct", "sum", "min", "max", "mean", "latest", "share"]

ZERO = Decimal(0)
ONE = Decimal(1)


class MeasureDefinitionError(ValueError):
    """A measure definition that does not fit its source (unknown field, wrong type …)."""


# ---------------------------------------------------------------- filters


Scalar = bool | int | Decimal | date | str


class FieldTest(Frozen):
    """One condition on one field of a record: `field op value`, or membership in a contract list."""

    field: str
    op: Op
    value: Scalar | tuple[Scalar, ...] | None = None
    contract_list: str | None = Field(default=None, description="in / not_in one of the contract's lists")


def parse_where(raw: Mapping[str, Any] | None) -> tuple[FieldTest, ...]:
    """`{late: true, severity: [P1, P2], staff: {in: committed_staff}, minutes_late: {">": 10}}`."""
    tests: list[FieldTest] = []
    for name, spec in (raw or {}).items():
        if isinstance(spec, Mapping):
            if not spec:
                raise ValueError(f"where.{name}: an empty condition")
            for op, operand in spec.items():
                if op not in OPS:
                    raise ValueError(f"where.{name}: unknown operator {op!r} (use one of {', '.join(OPS)})")
                if op in ("in", "not_in"):
                    if isinstance(operand, str):
                        if operand not in CONTRACT_LISTS:
                            known = ", ".join(CONTRACT_LISTS)
                            raise ValueError(f"where.{name}.{op}: unknown contract list {operand!r} (known: {known})")
                        tests.append(FieldTest(field=name, op=op, contract_list=operand))
                        continue
                    if not isinstance(operand, list | tuple) or not operand:
                        raise ValueError(f"where.{name}.{op}: needs a list of values or a contract list name")
                    tests.append(FieldTest(field=name, op=op, value=tuple(_scalar(name, v) for v in operand)))
                else:
                    tests.append(FieldTest(field=name, op=op, value=_scalar(name, operand)))
        elif isinstance(spec, list | tuple):
            if not spec:
                raise ValueError(f"where.{name}: an empty list matches nothing")
            tests.append(FieldTest(field=name, op="in", value=tuple(_scalar(name, v) for v in spec)))
        else:
            tests.append(FieldTest(field=name, op="==", value=_scalar(name, spec)))
    return tuple(tests)


def _scalar(name: str, value: Any) -> Scalar:
    if isinstance(value, bool | str | date):
        return value
    if isinstance(value, int | float | Decimal):
        return Decimal(str(value))
    raise ValueError(f"where.{name}: {value!r} is not a value a field can be compared with")


def check_tests(source: Source, tests: Iterable[FieldTest], where: str = "where") -> None:
    for t in tests:
        spec = source.fields.get(t.field)
        if spec is None:
            raise MeasureDefinitionError(
                f"{where}.{t.field}: source {source.name} ({source.label}) has no field {t.field!r} "
                f"(fields: {', '.join(source.fields)})"
            )
        values = t.value if isinstance(t.value, tuple) else (t.value,) if t.value is not None else ()
        for v in values:
            if not _fits(spec, v):
                shown = repr(v) if isinstance(v, str) else _show_value(v)
                raise MeasureDefinitionError(
                    f"{where}.{t.field}: {shown} is not a {spec.type} value ({spec.label} is {spec.type})"
                )
            if spec.values is not None and v not in spec.values:
                known = "、".join(f"{k}（{name}）" for k, name in spec.values.items())
                raise MeasureDefinitionError(f"{where}.{t.field}: {v!r} is not one of {known}")
        if t.op in (">", ">=", "<", "<=") and spec.type not in ("number", "date"):
            raise MeasureDefinitionError(f"{where}.{t.field}: {t.op} compares numbers or dates, not {spec.type}")


def _fits(spec: FieldSpec, value: Scalar) -> bool:
    if spec.type == "bool":
        return isinstance(value, bool)
    if spec.type == "number":
        return isinstance(value, Decimal)
    if spec.type == "date":
        return isinstance(value, date)
    return isinstance(value, str)


# ---------------------------------------------------------------- aggregates


class Aggregate(Frozen):
    fn: AggregateFn
    field: str | None = None
    where: dict[str, Any] = Field(
        default_factory=dict,
        description="share / count: the records counted among those examined (all of which are the evidence)",
    )

    @model_validator(mode="before")
    @classmethod
    def _short_forms(cls, data: Any) -> Any:
        # `count`, `{sum: amount}`, `{share: {on_time: true}}` — the forms people write.
        if isinstance(data, str):
            return {"fn": data}
        if isinstance(data, Mapping) and len(data) == 1:
            ((fn, arg),) = data.items()
            if fn in ("share", "count") and isinstance(arg, Mapping):
                return {"fn": fn, "where": arg}
            if fn in ("distinct", "sum", "min", "max", "mean", "latest"):
                return {"fn": fn, "field": arg}
        return data

    @model_validator(mode="after")
    def _shape(self) -> Aggregate:
        needs_field = self.fn in ("distinct", "sum", "min", "max", "mean", "latest")
        if needs_field and not self.field:
            raise ValueError(f"{self.fn} needs a field: {{{self.fn}: FIELD}}")
        if not needs_field and self.field:
            raise ValueError(f"{self.fn} takes no field")
        if self.fn == "share" and not self.where:
            raise ValueError("share needs the condition of the records it counts: {share: {FIELD: VALUE}}")
        if self.where and self.fn not in ("share", "count"):
            raise ValueError(f"{self.fn} takes no condition of its own: use the measure's where")
        parse_where(self.where)
        return self


class RatioOf(Frozen):
    of: MeasureId = Field(description="the numerator measure")
    to: MeasureId = Field(description="the denominator measure")


class MeasureDef(Frozen):
    id: MeasureId
    name: Text
    description: str = ""
    unit: str = ""
    source: str | None = None
    where: dict[str, Any] = Field(default_factory=dict)
    aggregate: Aggregate = Aggregate(fn="count")
    by: str | None = Field(default=None, description="one value per distinct value of this field (the subject)")
    per: Per | None = Field(default=None, description="bucket the records by period …")
    covered: dict[str, Any] | None = Field(
        default=None, description="… and count the periods due so far whose value meets this, e.g. {'>=': 1}"
    )
    ratio: RatioOf | None = None
    replaces: bool = Field(default=False, description="a bundle's measure that replaces a standard one")

    @field_validator("where")
    @classmethod
    def _where_parses(cls, value: dict[str, Any]) -> dict[str, Any]:
        parse_where(value)
        return value

    @model_validator(mode="after")
    def _fits_its_source(self) -> MeasureDef:
        if (self.source is None) == (self.ratio is None):
            raise ValueError("a measure has either a source or a ratio of two measures")
        if self.ratio is not None:
            if self.where or self.per or self.aggregate.fn != "count":
                raise ValueError("a ratio measure takes no where, per or aggregate of its own")
            return self
        source = SOURCES.get(self.source or "")
        if source is None:
            raise ValueError(f"unknown source {self.source!r} (sources: {', '.join(SOURCES)})")
        try:
            check_tests(source, parse_where(self.where))
            check_tests(source, parse_where(self.aggregate.where), "aggregate.share")
        except MeasureDefinitionError as exc:
            raise ValueError(str(exc)) from None
        agg = self.aggregate
        if agg.field is not None:
            spec = source.fields.get(agg.field)
            if spec is None:
                raise ValueError(f"aggregate: source {source.name} has no field {agg.field!r}")
            if agg.fn in ("sum", "min", "max", "mean") and spec.type != "number":
                raise ValueError(f"aggregate: {agg.fn} needs a number field, {agg.field} is {spec.type}")
        if self.by is not None and self.by not in source.fields:
            raise ValueError(f"by: source {source.name} has no field {self.by!r}")
        if (self.per is None) != (self.covered is None):
            raise ValueError("per and covered go together: bucket by a period and say when a period counts")
        if self.per is not None:
            if not source.dated:
                raise ValueError(f"per: the records of {source.name} carry no date to bucket by")
            if self.by is not None:
                raise ValueError("per and by cannot be combined")
            _period_condition(self.covered or {})
        return self


def _period_condition(raw: Mapping[str, Any]) -> tuple[tuple[str, Decimal], ...]:
    out = []
    for op, operand in raw.items():
        if op not in ("==", "!=", ">", ">=", "<", "<="):
            raise ValueError(f"covered: unknown operator {op!r}")
        out.append((op, _scalar("covered", operand)))
    if not out or not all(isinstance(v, Decimal) for _, v in out):
        raise ValueError("covered: a numeric condition on the period's value, e.g. {'>=': 1}")
    return tuple((op, v) for op, v in out)  # type: ignore[misc]


class MeasureLibrary(Frozen):
    """The measures a project can use: the standard library with the bundle's own merged in."""

    measures: tuple[MeasureDef, ...] = ()
    _by_id: dict[str, MeasureDef] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _resolves(self) -> MeasureLibrary:
        ids = [m.id for m in self.measures]
        dupes = sorted({i for i in ids if ids.count(i) > 1})
        if dupes:
            raise ValueError(f"measures defined twice: {dupes}")
        known = set(ids)
        by_id = {m.id: m for m in self.measures}
        for m in self.measures:
            if m.ratio is not None:
                for part in (m.ratio.of, m.ratio.to):
                    if part not in known:
                        raise ValueError(f"measure {m.id}: ratio names unknown measure {part!r}")
                    source = SOURCES.get(by_id[part].source or "")
                    if m.by is not None and (source is None or m.by not in source.fields):
                        raise ValueError(f"measure {m.id}: by {m.by!r} is not a field of {part}'s records")
        for m in self.measures:
            _no_cycle(by_id, m.id, ())
        return self

    def model_post_init(self, context: Any) -> None:
        self._by_id = {m.id: m for m in self.measures}

    def get(self, measure_id: str) -> MeasureDef | None:
        return self._by_id.get(measure_id)

    def merged(self, extra: Sequence[MeasureDef]) -> MeasureLibrary:
        """This library with a bundle's measures added; a bundle replaces a measure only by saying so."""
        index = dict(self._by_id)
        for m in extra:
            problem = self.conflict(m)
            if problem:
                raise ValueError(problem)
            index[m.id] = m
        return MeasureLibrary(measures=tuple(index.values()))

    def conflict(self, m: MeasureDef) -> str | None:
        """Why `m` cannot be added to this library, if it cannot."""
        mine = self._by_id.get(m.id)
        if mine == m:
            return None  # the same definition again (a registered definition carries the library it used)
        if mine is not None and not m.replaces:
            return (
                f"measure {m.id} is already defined in the standard library: "
                "say `replaces: true` to replace it, or choose another id"
            )
        if mine is None and m.replaces:
            return f"measure {m.id}: replaces nothing (no standard measure has this id)"
        return None


def _no_cycle(by_id: Mapping[str, MeasureDef], measure_id: str, path: tuple[str, ...]) -> None:
    if measure_id in path:
        raise ValueError(f"measures refer to each other in a cycle: {' → '.join((*path, measure_id))}")
    m = by_id.get(measure_id)
    if m is not None and m.ratio is not None:
        _no_cycle(by_id, m.ratio.of, (*path, measure_id))
        _no_cycle(by_id, m.ratio.to, (*path, measure_id))


# ---------------------------------------------------------------- compiling


Predicate = Callable[[Record], bool]


def _compile_test(t: FieldTest, lists: Callable[[str | None, str], frozenset[str]]) -> Predicate:
    name = t.field
    if t.contract_list is not None:
        list_name = t.contract_list
        if t.op == "in":
            return lambda r: r.fields[name] in lists(r.contract, list_name)
        return lambda r: r.fields[name] not in lists(r.contract, list_name)
    value = t.value
    if t.op == "in":
        allowed = frozenset(value if isinstance(value, tuple) else (value,))
        return lambda r: r.fields[name] in allowed
    if t.op == "not_in":
        banned = frozenset(value if isinstance(value, tuple) else (value,))
        return lambda r: r.fields[name] not in banned
    compare = _COMPARE[t.op]
    return lambda r: compare(r.fields[name], value)


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
}


def _all(predicates: Sequence[Predicate]) -> Predicate | None:
    if not predicates:
        return None
    if len(predicates) == 1:
        return predicates[0]
    return lambda r: all(p(r) for p in predicates)


# ---------------------------------------------------------------- explaining


def _show_value(v: Any) -> str:
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, Decimal):
        return fmt(v, 4)
    return str(v)


def describe_tests(source: Source, tests: Sequence[FieldTest]) -> str:
    parts = []
    for t in tests:
        spec = source.fields[t.field]
        label = f"「{spec.label}」"
        if spec.values is not None:
            named = spec.values
            t = t.model_copy(
                update={
                    "value": tuple(named.get(str(v), str(v)) for v in t.value)
                    if isinstance(t.value, tuple)
                    else named.get(str(t.value), str(t.value))
                }
            )
        if t.contract_list is not None:
            what = CONTRACT_LISTS[t.contract_list].label
            parts.append(f"{label}{'属于' if t.op == 'in' else '不属于'}{what}")
        elif t.op in ("in", "not_in"):
            values = t.value if isinstance(t.value, tuple) else (t.value,)
            shown = "、".join(_show_value(v) for v in values)
            parts.append(f"{label}{'为' if t.op == 'in' else '不为'} {shown}" + (" 之一" if len(values) > 1 else ""))
        elif t.op == "==":
            parts.append(f"{label}为{_spaced(_show_value(t.value))}")
        elif t.op == "!=":
            parts.append(f"{label}不为{_spaced(_show_value(t.value))}")
        else:
            parts.append(f"{label} {_OP_TEXT[t.op]} {_show_value(t.value)}")
    return "、".join(parts)


def _spaced(text: str) -> str:
    """A space before Latin letters or digits after Chinese text (为 P1, not 为P1)."""
    return f" {text}" if text[:1].isascii() and text[:1].isalnum() else text


_OP_TEXT = {"==": "=", "!=": "≠", ">": ">", ">=": "≥", "<": "<", "<=": "≤"}

_PER_LABEL = {
    "workday": "工作日",
    "weekly": "周",
    "monthly": "月",
    "quarterly": "季度",
    "half_year": "半年",
    "yearly": "年度",
}


def _aggregate_text(source: Source, agg: Aggregate) -> str:
    if agg.fn == "count":
        return f"{describe_tests(source, parse_where(agg.where))}的记录数" if agg.where else "记录数"
    label = f"「{source.fields[agg.field].label}」" if agg.field else ""
    if agg.fn == "share":
        return f"{describe_tests(source, parse_where(agg.where))}的占比"
    return {
        "distinct": f"不同{label}数",
        "sum": f"{label}合计",
        "min": f"{label}最小值",
        "max": f"{label}最大值",
        "mean": f"{label}平均值",
        "latest": f"最新{label}",
    }[agg.fn]


def describe(defn: MeasureDef, extra: Sequence[FieldTest] = ()) -> str:
    """The definition in the evaluators' words, e.g. 考勤记录中「迟到」为是、「人员」属于投标承诺人员的记录数."""
    if defn.ratio is not None:
        return f"{defn.ratio.of} ÷ {defn.ratio.to}"
    source = SOURCES[defn.source or ""]
    tests = (*parse_where(defn.where), *extra)
    chosen = source.label + ("中" + describe_tests(source, tests) + "的记录" if tests else "")
    agg = _aggregate_text(source, defn.aggregate)
    if defn.per:
        conds = "、".join(f"{_OP_TEXT[op]} {_show_value(v)}" for op, v in _period_condition(defn.covered or {}))
        per = _PER_LABEL[defn.per]
        return f"{chosen}按{per}统计，{agg} {conds} 的{per}数"
    if defn.aggregate.fn == "share" or (defn.aggregate.fn == "count" and defn.aggregate.where):
        text = f"{chosen}中{agg}"
    elif tests:
        text = f"{chosen}{agg.removeprefix('记录')}" if agg == "记录数" else f"{chosen}的{agg}"
    else:
        text = f"{source.label}的{agg}"
    if defn.by:
        text += f"（按「{source.fields[defn.by].label}」分别计）"
    return _LATIN_BEFORE_CJK.sub(r"\1 ", text)


_LATIN_BEFORE_CJK = re.compile(r"([A-Za-z0-9_])(?=[的、，])")


# ---------------------------------------------------------------- evaluating


@dataclass(frozen=True, slots=True)
class MeasureValue:
    """A measure's value over the project (or one contract), and per subject when it has `by`."""

    total: Measurement
    subjects: dict[str, Measurement]
    labels: dict[str, str] = field(default_factory=dict)  # a subject's display name (a deliverable's name …)


def evaluate(library: MeasureLibrary, ref: MetricRef, ctx: MetricContext) -> MeasureValue:
    defn = library.get(ref.name)
    if defn is None:
        raise MetricError(f"unknown measure {ref.name!r}")
    if defn.ratio is not None:
        return _ratio(library, defn, ref, ctx)
    return _evaluate_source(defn, ref, ctx, defn.by)


def _evaluate_source(defn: MeasureDef, ref: MetricRef, ctx: MetricContext, by: str | None) -> MeasureValue:
    source = SOURCES[defn.source or ""]
    extra = parse_where(ref.conditions())
    check_tests(source, extra, "metric.where")
    records = _records(source, ref.contract, ctx)
    lists = _list_lookup(ctx)
    keep = _all([_compile_test(t, lists) for t in (*parse_where(defn.where), *extra)])
    rows = records if keep is None else [r for r in records if keep(r)]
    explanation = describe(defn, extra)
    if defn.per is not None:
        return MeasureValue(_periods_covered(defn, source, rows, ref.contract, ctx, explanation), {})
    total = _aggregate(defn, source, rows, lists, explanation)
    if by is None:
        return MeasureValue(total, {})
    groups: dict[str, list[Record]] = {}
    labels: dict[str, str] = {}
    named = "name" in source.fields and by != "name"
    for r in rows:
        key = _show_value(r.fields[by])
        groups.setdefault(key, []).append(r)
        if named:
            labels.setdefault(key, str(r.fields["name"]))
    subjects = {k: _aggregate(defn, source, g, lists, explanation) for k, g in sorted(groups.items())}
    if subjects and by == defn.by:
        listed = "；".join(f"{labels.get(k, k)} {m.actual}" for k, m in list(subjects.items())[:SUBJECTS_SHOWN])
        more = "等" if len(subjects) > SUBJECTS_SHOWN else ""
        total = replace(total, detail=f"{total.detail}（{listed}{more}）")
    return MeasureValue(total, subjects, labels)


SUBJECTS_SHOWN = 10


def _records(source: Source, contract_id: str | None, ctx: MetricContext) -> list[Record]:
    """A contract's records, or the project's: every contract's and those that name none."""
    if not source.scoped:
        return ctx.records(source, None)
    out: list[Record] = []
    for c in ctx.contracts(contract_id):
        out.extend(ctx.records(source, c))
    if contract_id is None:
        out.extend(ctx.records(source, None))
    return out


def _list_lookup(ctx: MetricContext) -> Callable[[str | None, str], frozenset[str]]:
    contracts = ctx.ledger.definition.contracts.contracts
    cache: dict[tuple[str | None, str], frozenset[str]] = {}

    def members(contract_id: str | None, list_name: str) -> frozenset[str]:
        key = (contract_id, list_name)
        found = cache.get(key)
        if found is None:
            fn = CONTRACT_LISTS[list_name].members
            chosen = [c for c in contracts if contract_id is None or c.id == contract_id]
            found = cache[key] = frozenset().union(*(fn(c) for c in chosen)) if chosen else frozenset()
        return found

    return members


def _evidence(rows: Iterable[Record]) -> tuple[str, ...]:
    return merge_ids(r.evidence for r in rows)


def _itemized(source: Source, rows: Sequence[Record]) -> str:
    """'：' and the first records of a count, in the field's words (T2（L1）响应用时 10 分钟 …)."""
    if source.itemize is None or not rows:
        return ""
    # The first by day and content, never by the order the events arrived in or their ids.
    first = heapq.nsmallest(SUBJECTS_SHOWN, rows, key=_content_key)
    listed = "；".join(source.itemize(r) for r in first)
    return "：" + listed + ("等" if len(rows) > SUBJECTS_SHOWN else "")


def _content_key(r: Record) -> tuple[date, tuple[str, ...]]:
    return (r.day or date.min, tuple(str(v) for v in r.fields.values()))


def _with_unit(text: str, unit: str) -> str:
    return f"{text} {unit}" if unit else text


def _aggregate(
    defn: MeasureDef,
    source: Source,
    rows: list[Record],
    lists: Callable[[str | None, str], frozenset[str]],
    explanation: str,
) -> Measurement:
    agg = defn.aggregate
    unit = defn.unit
    ids = _evidence(rows)
    if agg.fn == "share":
        inner = _all([_compile_test(t, lists) for t in parse_where(agg.where)])
        assert inner is not None
        hits = [r for r in rows if inner(r)]
        return rate_measurement(len(hits), len(rows), unit, f"{defn.name}：{explanation}", ids)
    if agg.fn == "count":
        # Every record examined is evidence: those counted, and those that kept the count down.
        counted = (
            [r for r in rows if inner(r)]
            if (inner := _all([_compile_test(t, lists) for t in parse_where(agg.where)]))
            else rows
        )
        value = Decimal(len(counted))
        shown = _with_unit(fmt(value), unit)
        flags = parse_where(agg.where)
        if len(flags) == 1 and flags[0].op == "==" and flags[0].value is True:
            shown = f"{source.fields[flags[0].field].label} {shown}"  # 超时 4 次
        detail = f"{defn.name}：{explanation} = {shown}"
        if agg.where:
            detail += f"（共 {len(rows)} 项，其中 {len(counted)} 项"
            detail += (_itemized(source, counted) or "") + "）"
        elif source.itemize is not None and counted:
            detail += f"（{_itemized(source, counted).removeprefix('：')}）"
        return Measurement(value, None, None, unit, shown, detail, ids)
    field = agg.field or ""
    if agg.fn == "distinct":
        distinct = sorted({_show_value(r.fields[field]) for r in rows})
        return replace(_plain(defn, explanation, Decimal(len(distinct)), fmt, ids), items=tuple(distinct))
    if agg.fn == "sum":
        return _plain(defn, explanation, sum((r.fields[field] for r in rows), ZERO), lambda v: fmt(v, 4), ids)
    if not rows:
        return Measurement(ZERO, None, None, unit, "无数据", f"{defn.name}：{explanation}：无数据", (), has_data=False)
    if agg.fn == "latest":
        latest = max(rows, key=lambda r: (r.rank[:1], _content_key(r)))  # the latest recorded; ties by content
        v = latest.fields[field]
        value = v if isinstance(v, Decimal) else Decimal(1 if v is True else 0) if isinstance(v, bool) else ZERO
        return _plain(defn, explanation, value, lambda _: _show_value(v), tuple(latest.evidence))
    values = [r.fields[field] for r in rows]
    value = min(values) if agg.fn == "min" else max(values) if agg.fn == "max" else sum(values, ZERO) / len(values)
    return _plain(defn, explanation, value, lambda v: fmt(v, 4), ids)


def _plain(
    defn: MeasureDef, explanation: str, value: Decimal, show: Callable[[Decimal], str], ids: Sequence[str]
) -> Measurement:
    """A value that is no rate: shown with the measure's unit, its explanation ending in it."""
    shown = _with_unit(show(value), defn.unit)
    return Measurement(value, None, None, defn.unit, shown, f"{defn.name}：{explanation} = {shown}", tuple(ids))


def _periods_covered(
    defn: MeasureDef,
    source: Source,
    rows: list[Record],
    contract_id: str | None,
    ctx: MetricContext,
    explanation: str,
) -> Measurement:
    from .calendar import periods

    assert defn.per is not None
    span = ctx.ledger.service_span(contract_id)
    due = [
        p
        for p in periods(defn.per, "calendar", span, ctx.ledger.evaluation_window, ctx.work)
        if p.end <= ctx.ledger.as_of
    ]
    starts = [p.start for p in due]
    buckets: list[list[Record]] = [[] for _ in due]
    for r in rows:
        if r.day is None:
            continue
        i = bisect.bisect_right(starts, r.day) - 1
        if i >= 0 and due[i].contains(r.day):
            buckets[i].append(r)
    conditions = _period_condition(defn.covered or {})
    lists = _list_lookup(ctx)
    covered_rows: list[Record] = []
    covered = 0
    missing = []
    for p, bucket in zip(due, buckets, strict=True):
        value = _aggregate(defn, source, bucket, lists, "").value
        if all(_COMPARE[op](value, target) for op, target in conditions):
            covered += 1
            covered_rows.extend(bucket)
        else:
            missing.append(p)
    n, d = Decimal(covered), Decimal(len(due))
    unit = _PER_LABEL[defn.per]
    detail = f"{defn.name}：{explanation}，应统计 {len(due)} 个{unit}，满足 {covered} 个"
    if missing:
        detail += (
            "；未满足：" + "、".join(f"{p.start}~{p.end}" for p in missing[:6]) + ("等" if len(missing) > 6 else "")
        )
    return Measurement(n, n, d, f"个{unit}", f"{fmt(n)}/{fmt(d)} 个{unit}", detail, _evidence(covered_rows))


def _ratio(library: MeasureLibrary, defn: MeasureDef, ref: MetricRef, ctx: MetricContext) -> MeasureValue:
    assert defn.ratio is not None
    num_def, den_def = library.get(defn.ratio.of), library.get(defn.ratio.to)
    assert num_def is not None and den_def is not None  # the library checked its ratios resolve
    num = ctx.measure(ref.model_copy(update={"name": defn.ratio.of}))
    den = ctx.measure(ref.model_copy(update={"name": defn.ratio.to}))
    subjects: dict[str, Measurement] = {}
    labels: dict[str, str] = {}
    if defn.by is not None:
        # One ratio per subject: both parts grouped by the same field of their records.
        parts = [
            _evaluate_source(part, ref.model_copy(update={"name": part.id}), ctx, defn.by)
            for part in (num_def, den_def)
        ]
        labels = {**parts[1].labels, **parts[0].labels}
        for key in sorted(set(parts[0].subjects) | set(parts[1].subjects)):
            num_part, den_part = parts[0].subjects.get(key), parts[1].subjects.get(key)
            n = num_part.value if num_part else ZERO
            d = den_part.value if den_part else ZERO
            ids = merge_ids(p.evidence for p in (num_part, den_part) if p is not None)
            subjects[key] = Measurement(
                n / d if d else ZERO, n, d, defn.unit, f"{fmt(n)}/{fmt(d)}", "", ids, is_rate=True, has_data=bool(d)
            )
    value = num.value / den.value if den.value else ZERO
    actual = f"{fmt(num.value)}/{fmt(den.value)} = {pct(value)}" if den.value else f"{fmt(num.value)}/0（无应计项）"
    detail = f"{num_def.name} {num.actual} ÷ {den_def.name} {den.actual}"
    if ref.conditions() and num_def.source is not None:
        detail += f"（{describe_tests(SOURCES[num_def.source], parse_where(ref.conditions()))}）"
    if subjects:
        shown = [f"{labels.get(k, k)} {m.actual}" for k, m in subjects.items() if m.denominator]
        detail += "：" + "；".join(shown[:SUBJECTS_SHOWN]) + ("等" if len(shown) > SUBJECTS_SHOWN else "")
    return MeasureValue(
        Measurement(
            value,
            num.value,
            den.value,
            defn.unit,
            actual,
            detail,
            merge_ids((num.evidence, den.evidence)),
            is_rate=True,
            has_data=num.has_data and den.has_data and bool(den.value),
        ),
        subjects,
        labels,
    )
