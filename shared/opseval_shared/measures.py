"""The measure language: what is counted, over which evidence, written as data.

A measure names a record source (sources.py), filters its records on any field (`where`),
optionally groups them by a field (`by`, one value per subject) or buckets them by period
(`per` + `covered`: the periods due so far in which a condition holds), and aggregates them
(count, distinct, sum, min, max, mean, latest, share, and over moments mean_gap and
uncovered_share) — or divides one measure by another (`ratio`), or computes a value from other
measures (`calc`). Definitions are checked against the sources' declared fields when they are loaded,
compiled once into closures, and every value carries the evidence ids behind it and a Chinese
explanation generated from its own definition.

    - id: staff.late_arrivals_committed
      name: 投标承诺人员迟到次数
      unit: 次
      source: clock_in
      where: {late: true, staff: {in: committed_staff}}

Aggregates beyond the plain ones:

* `{latest: amount, each: contract}` — the latest figure of each distinct value of a field, summed:
  a point-in-time figure (批复预算) restated over time counts once per contract, its latest version.
* `{mean_gap: opened_at, where: {cause: internal}}` — time arithmetic over a moment field: the mean
  time, in hours, from the start of the observed span to the first selected moment and between
  successive ones (平均无故障时间). The observed span runs from the start of the service period (the
  contract's, or the project's) to the end of the as-of day or of the service period, whichever is
  first. Without a selected moment the value is the observed span itself, shown as a lower bound
  (≥). Every record examined is evidence, as for `share`.
* `{uncovered_share: {from: opened_at, to: resolved_at}}` — the share of the observed span, in whole
  minutes, outside every record's `from`–`to` span (正常运行率); a span without an end runs to the end
  of the observed span, overlapping spans count once. A rate: numerator and denominator are minutes.

`calc` computes a value from other measures with + - * /, abs(), min(), max(), numbers and
`A if CONDITION else B` (CONDITION one comparison of two values):

    - id: budget.adjustment_rate
      name: 预算调整率
      calc: abs(budget.adjustment) / budget.approved

A calculation whose last step is a division is a rate: its numerator and denominator are kept, and
dividing by zero gives no data (never a score). Its evidence is that of the measures its value was
computed from (an `if`'s test and the branch it took).

The standard library (opseval_shared/library/measures.yaml) is written in the same form; a
bundle's measures.yaml adds its own or replaces a standard one (`replaces: true`).
"""

from __future__ import annotations

import ast
import bisect
import heapq
import operator
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import lru_cache
from itertools import chain
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import Field, PrivateAttr, StringConstraints, field_validator, model_validator

from .base import CHINA_TZ, Frozen, IdRuns, IdUnion, SortedIds, logs_now, merge_ids, singles_and_lists
from .derived import same
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
AggregateFn = Literal[
    "count", "distinct", "sum", "min", "max", "mean", "latest", "share", "mean_gap", "uncovered_share"
]

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
    if spec.type == "moment":
        return False  # moments are read by mean_gap and uncovered_share, never compared with a value
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
    until: str | None = Field(default=None, description="uncovered_share: the field ending each span")
    each: str | None = Field(default=None, description="latest: the latest figure of each value of this field, summed")
    where: dict[str, Any] = Field(
        default_factory=dict,
        description="share / count / mean_gap: the records counted among those examined (all are the evidence)",
    )

    @model_validator(mode="before")
    @classmethod
    def _short_forms(cls, data: Any) -> Any:
        # `count`, `{sum: amount}`, `{share: {on_time: true}}` — the forms people write.
        if isinstance(data, str):
            return {"fn": data}
        if isinstance(data, Mapping) and "fn" not in data:
            rest = dict(data)
            named = [fn for fn in rest if fn not in ("where", "each")]
            if len(named) != 1:
                return data
            fn = named[0]
            arg = rest.pop(fn)
            if fn in ("share", "count") and isinstance(arg, Mapping) and not rest:
                return {"fn": fn, "where": arg}
            if fn == "uncovered_share" and isinstance(arg, Mapping) and not rest:
                return {"fn": fn, "field": arg.get("from"), "until": arg.get("to")}
            if fn in ("distinct", "sum", "min", "max", "mean", "latest", "mean_gap"):
                return {"fn": fn, "field": arg, **rest}
        return data

    @model_validator(mode="after")
    def _shape(self) -> Aggregate:
        needs_field = self.fn in ("distinct", "sum", "min", "max", "mean", "latest", "mean_gap", "uncovered_share")
        if needs_field and not self.field:
            raise ValueError(f"{self.fn} needs a field: {{{self.fn}: FIELD}}")
        if not needs_field and self.field:
            raise ValueError(f"{self.fn} takes no field")
        if (self.fn == "uncovered_share") != (self.until is not None):
            raise ValueError("uncovered_share needs the fields opening and closing each span: {from: F, to: G}")
        if self.each is not None and self.fn != "latest":
            raise ValueError("each goes with latest: {latest: FIELD, each: FIELD}")
        if self.fn == "share" and not self.where:
            raise ValueError("share needs the condition of the records it counts: {share: {FIELD: VALUE}}")
        if self.where and self.fn not in ("share", "count", "mean_gap"):
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
    calc: str | None = Field(default=None, description="a value computed from other measures (see the module doc)")
    replaces: bool = Field(default=False, description="a bundle's measure that replaces a standard one")

    @field_validator("where")
    @classmethod
    def _where_parses(cls, value: dict[str, Any]) -> dict[str, Any]:
        parse_where(value)
        return value

    @field_validator("source")
    @classmethod
    def _source_known(cls, value: str | None) -> str | None:
        # Here, not in `_fits_its_source`: an error of this field names it and its line.
        if value is not None and value not in SOURCES:
            raise ValueError(f"unknown source {value!r} (sources: {', '.join(SOURCES)})")
        return value

    @model_validator(mode="after")
    def _fits_its_source(self) -> MeasureDef:
        if sum(x is not None for x in (self.source, self.ratio, self.calc)) != 1:
            raise ValueError("a measure has one of: a source, a ratio of two measures, a calc")
        if self.ratio is not None or self.calc is not None:
            kind = "ratio" if self.ratio is not None else "calc"
            if self.where or self.per or self.aggregate.fn != "count":
                raise ValueError(f"a {kind} measure takes no where, per or aggregate of its own")
            if self.calc is not None:
                if self.by is not None:
                    raise ValueError("a calc measure has no subjects: it takes no by")
                parse_calc(self.calc)
            return self
        source = SOURCES[self.source or ""]  # (known: `_source_known`)
        try:
            check_tests(source, parse_where(self.where))
            check_tests(source, parse_where(self.aggregate.where), "aggregate.share")
        except MeasureDefinitionError as exc:
            raise ValueError(str(exc)) from None
        agg = self.aggregate
        for name in (agg.field, agg.until, agg.each):
            if name is not None and name not in source.fields:
                raise ValueError(f"aggregate: source {source.name} has no field {name!r}")
        if agg.field is not None:
            spec = source.fields[agg.field]
            if agg.fn in ("sum", "min", "max", "mean") and spec.type != "number":
                raise ValueError(f"aggregate: {agg.fn} needs a number field, {agg.field} is {spec.type}")
            for name in (agg.field, agg.until) if agg.fn in ("mean_gap", "uncovered_share") else ():
                if name is not None and source.fields[name].type != "moment":
                    raise ValueError(f"aggregate: {agg.fn} reads moments, {name} is {source.fields[name].type}")
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
            for part in parse_calc(m.calc).measures() if m.calc is not None else ():
                if part not in known:
                    raise ValueError(f"measure {m.id}: calc names unknown measure {part!r}")
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
    for part in measure_parts(by_id.get(measure_id)):
        _no_cycle(by_id, part, (*path, measure_id))


def measure_parts(m: MeasureDef | None) -> tuple[str, ...]:
    """The measures a ratio or calc measure is computed from."""
    if m is None:
        return ()
    if m.ratio is not None:
        return (m.ratio.of, m.ratio.to)
    return parse_calc(m.calc).measures() if m.calc is not None else ()


# ---------------------------------------------------------------- calculations over measures

# A node of a calc: ("num", Decimal) | ("measure", id) | ("op", "+-*/", a, b) | ("neg", a)
# | ("call", "abs"|"min"|"max", (a, …)) | ("if", (op, a, b), then, otherwise)
CalcNode = tuple[Any, ...]
_CALC_BIN = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_CALC_CMP = {ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">=", ast.Eq: "==", ast.NotEq: "!="}
_CALC_HELP = "write measure ids, numbers, + - * /, abs(x), min(a, b …), max(a, b …) and A if X < Y else B"


@dataclass(frozen=True)
class Calc:
    text: str
    root: CalcNode

    def measures(self) -> tuple[str, ...]:
        found: list[str] = []

        def visit(node: Any) -> None:
            if not isinstance(node, tuple) or not node:
                return
            if node[0] == "measure":
                if node[1] not in found:
                    found.append(node[1])
                return
            for item in node[1:] if isinstance(node[0], str) else node:  # a node, or a call's arguments
                visit(item)

        visit(self.root)
        return tuple(found)


@lru_cache(maxsize=512)
def parse_calc(text: str) -> Calc:
    """A calc's text as a tree; ValueError naming what is not allowed."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ValueError(f"calc: cannot read {text!r} at column {exc.offset}: {_CALC_HELP}") from None
    return Calc(text, _calc_node(tree.body, text))


def _dotted(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return None if base is None else f"{base}.{node.attr}"
    return None


def _calc_node(node: ast.expr, text: str) -> CalcNode:
    dotted = _dotted(node)
    if dotted is not None:
        if "." not in dotted:
            raise ValueError(f"calc: {dotted!r} is not a measure id (ids are dotted, e.g. budget.spent)")
        return ("measure", dotted)
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
        return ("num", Decimal(str(node.value)))
    if isinstance(node, ast.BinOp) and type(node.op) in _CALC_BIN:
        return ("op", _CALC_BIN[type(node.op)], _calc_node(node.left, text), _calc_node(node.right, text))
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return ("neg", _calc_node(node.operand, text))
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id in ("abs", "min", "max")
        and not node.keywords
        and (len(node.args) == 1 if node.func.id == "abs" else len(node.args) >= 2)
    ):
        return ("call", node.func.id, tuple(_calc_node(a, text) for a in node.args))
    if isinstance(node, ast.IfExp) and isinstance(node.test, ast.Compare) and len(node.test.ops) == 1:
        op = _CALC_CMP.get(type(node.test.ops[0]))
        if op is not None:
            test = (op, _calc_node(node.test.left, text), _calc_node(node.test.comparators[0], text))
            return ("if", test, _calc_node(node.body, text), _calc_node(node.orelse, text))
    shown = ast.get_source_segment(text.strip(), node) or text
    raise ValueError(f"calc: {shown!r} is not allowed in a calculation: {_CALC_HELP}")


def _calc_value(node: CalcNode, parts: Mapping[str, Decimal]) -> Decimal | None:
    """The node's value; None where it divides by zero."""
    kind = node[0]
    if kind == "num":
        return node[1]  # type: ignore[no-any-return]
    if kind == "measure":
        return parts[node[1]]
    if kind == "neg":
        inner = _calc_value(node[1], parts)
        return None if inner is None else -inner
    if kind == "call":
        values = [_calc_value(a, parts) for a in node[2]]
        if any(v is None for v in values):
            return None
        known = [v for v in values if v is not None]
        return abs(known[0]) if node[1] == "abs" else min(known) if node[1] == "min" else max(known)
    if kind == "if":
        op, left, right = node[1]
        a, b = _calc_value(left, parts), _calc_value(right, parts)
        if a is None or b is None:
            return None
        return _calc_value(node[2] if _COMPARE[op](a, b) else node[3], parts)
    a, b = _calc_value(node[2], parts), _calc_value(node[3], parts)
    if a is None or b is None or (node[1] == "/" and b == 0):
        return None
    return a + b if node[1] == "+" else a - b if node[1] == "-" else a * b if node[1] == "*" else a / b


def _calc_used(node: CalcNode, parts: Mapping[str, Decimal]) -> set[str]:
    """The measures a node's value was computed from: an `if`'s test and the branch it took."""
    kind = node[0]
    if kind == "num":
        return set()
    if kind == "measure":
        return {node[1]}
    if kind == "neg":
        return _calc_used(node[1], parts)
    if kind == "call":
        return set().union(*(_calc_used(a, parts) for a in node[2]))
    if kind == "if":
        op, left, right = node[1]
        used = _calc_used(left, parts) | _calc_used(right, parts)
        a, b = _calc_value(left, parts), _calc_value(right, parts)
        if a is None or b is None:
            return used
        return used | _calc_used(node[2] if _COMPARE[op](a, b) else node[3], parts)
    return _calc_used(node[2], parts) | _calc_used(node[3], parts)


_CALC_SYMBOL = {"+": "+", "-": "−", "*": "×", "/": "÷"}
_CALC_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}


def calc_text(calc: Calc, names: Mapping[str, str]) -> str:
    """A calc in the evaluators' words: 预算调整的绝对值 ÷ 批复预算."""

    def show(node: CalcNode, outer: int = 0, right: bool = False) -> str:
        kind = node[0]
        if kind == "num":
            return fmt(node[1], 4)
        if kind == "measure":
            return names.get(node[1], node[1])
        if kind == "neg":
            return "−" + show(node[1], 3)
        if kind == "call":
            args = [show(a) for a in node[2]]
            if node[1] == "abs":
                return f"{args[0]}的绝对值"
            return ("、".join(args)) + ("中的较小者" if node[1] == "min" else "中的较大者")
        if kind == "if":
            op, left, right_ = node[1]
            return f"{show(left)} {_OP_TEXT[op]} {show(right_)} 时为 {show(node[2])}，否则为 {show(node[3])}"
        level = _CALC_PRECEDENCE[node[1]]
        text = f"{show(node[2], level)} {_CALC_SYMBOL[node[1]]} {show(node[3], level, right=True)}"
        return f"({text})" if level < outer or (level == outer and right) else text

    return show(calc.root)


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
    # One frame per record and test: the comparison in the lambda itself, not a call of another.
    if t.op == "==":
        return lambda r: r.fields[name] == value
    if t.op == "!=":
        return lambda r: r.fields[name] != value
    compare = _COMPARE[t.op]
    return lambda r: compare(r.fields[name], value)


def fields_filter(where: Mapping[str, Any]) -> Callable[[Mapping[str, Any]], bool]:
    """A `where` over one record's fields, without contract lists (the rule language's lists use it)."""
    tests = parse_where(where)
    for t in tests:
        if t.contract_list is not None:
            raise ValueError(f"where.{t.field}: a contract list needs the record's contract; compare with values")
    predicates = [_compile_test(t, lambda contract, name: frozenset()) for t in tests]
    return lambda fields: all(p(Record(None, dict(fields), ())) for p in predicates)


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}


def _all(predicates: Sequence[Predicate]) -> Predicate | None:
    if not predicates:
        return None
    if len(predicates) == 1:
        return predicates[0]
    if len(predicates) == 2:  # (the common case, without a generator per record)
        first, second = predicates
        return lambda r: first(r) and second(r)
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
    if agg.fn == "mean_gap":
        return f"自观察期开始{_selected(source, agg)}的平均间隔（小时）"
    if agg.fn == "uncovered_share":
        return f"观察期内不在任一记录{label}至「{source.fields[agg.until or ''].label}」之间的时间占比"
    return {
        "distinct": f"不同{label}数",
        "sum": f"{label}合计",
        "min": f"{label}最小值",
        "max": f"{label}最大值",
        "mean": f"{label}平均值",
        "latest": f"各「{source.fields[agg.each].label}」最新{label}之和" if agg.each else f"最新{label}",
    }[agg.fn]


def _selected(source: Source, agg: Aggregate) -> str:
    """'各「发生时间」' of the records a mean_gap reads, with its own condition if any."""
    label = f"各「{source.fields[agg.field or ''].label}」"
    return f"{describe_tests(source, parse_where(agg.where))}的记录{label}" if agg.where else label


def describe(defn: MeasureDef, extra: Sequence[FieldTest] = ()) -> str:
    """The definition in the evaluators' words, e.g. 考勤记录中「迟到」为是、「人员」属于投标承诺人员的记录数."""
    if defn.ratio is not None:
        return f"{defn.ratio.of} ÷ {defn.ratio.to}"
    if defn.calc is not None:
        return calc_text(parse_calc(defn.calc), {})
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
    # the records the measure selected (its where), in the source's order: all, and per subject
    rows: list[Record] = field(default_factory=list)
    subject_rows: dict[str, list[Record]] = field(default_factory=dict)


def evaluate(library: MeasureLibrary, ref: MetricRef, ctx: MetricContext) -> MeasureValue:
    defn = library.get(ref.name)
    if defn is None:
        raise MetricError(f"unknown measure {ref.name!r}")
    if defn.ratio is not None:
        return _ratio(library, defn, ref, ctx)
    if defn.calc is not None:
        return _calc(library, defn, ref, ctx)
    return _evaluate_source(defn, ref, ctx, defn.by)


def _evaluate_source(defn: MeasureDef, ref: MetricRef, ctx: MetricContext, by: str | None) -> MeasureValue:
    """A measure over its source's records, made block by block (`_Part`). What a block gave is kept
    between evaluations while the block is the same object (derived.in_blocks), and so is the whole
    value while every block is, and each subject's while its blocks are: a change costs the blocks it
    brought, where filtering every record and merging every record's evidence again cost the project
    (31,000 clock-ins per measure at a million events, every change)."""
    source = SOURCES[defn.source or ""]
    extra = parse_where(ref.conditions())
    check_tests(source, extra, "metric.where")
    blocks = _record_blocks(source, ref.contract, ctx)
    lists = _list_lookup(ctx)
    keep = _all([_compile_test(t, lists) for t in (*parse_where(defn.where), *extra)])
    agg = defn.aggregate
    counts = agg.fn in ("count", "share")
    inner = _all([_compile_test(t, lists) for t in parse_where(agg.where)]) if counts else None
    first = agg.fn == "count" and source.itemize is not None
    named = by is not None and "name" in source.fields and by != "name"
    summing = agg.field if agg.fn == "sum" else None

    def part_of(block: Sequence[Record]) -> _Part:
        return _part(block, keep, inner, first, by, named, summing)

    # (The definition and the project's: the contract lists a where reads; the calendar, by `derived`.)
    table = ctx.derived(("measure", ref.model_dump_json(), by or ""), defn, ctx.ledger.definition)
    kept: _KeptMeasure | None = table.get(0)
    if kept is None:
        kept = table[0] = _KeptMeasure()
    parts = kept.parts_of(blocks, part_of)
    # What the time aggregates and `per` read besides, and the logs the records cite as they are now.
    moment = (ctx.ledger.cutoff, ctx.ledger.as_of, *logs_now(ids for p in parts for ids in p.selected.lists))
    if kept.value is not None and same(kept.value[0], parts) and same(kept.value[1], moment):
        return kept.value[2]
    if not same(kept.moment, moment):
        kept.moment, kept.subjects = moment, {}
    value = _measure_value(defn, ref, ctx, by, source, lists, extra, parts, kept)
    kept.value = (parts, moment, value)
    return value


def _measure_value(
    defn: MeasureDef,
    ref: MetricRef,
    ctx: MetricContext,
    by: str | None,
    source: Source,
    lists: Callable[[str | None, str], frozenset[str]],
    extra: Sequence[FieldTest],
    parts: tuple[_Part, ...],
    kept: _KeptMeasure,
) -> MeasureValue:
    selected = [p.selected for p in parts]
    rows = _rows_of(selected)
    explanation = describe(defn, extra)
    if defn.per is not None:
        return MeasureValue(_periods_covered(defn, source, rows, ref.contract, ctx, explanation), {}, rows=rows)
    span = observed_span(ctx, ref.contract) if defn.aggregate.fn in TIME_AGGREGATES else None
    cited = {id(ids): ids for g in selected for ids in g.lists}
    ids = kept.union.of(g.ids for g in selected)
    if cited:
        ids = merge_ids([ids, *cited.values()])
    summed = _summed(selected)
    total = _aggregate(defn, source, rows, lists, explanation, span, ids, _counted(parts), _first(parts), summed)
    if not any(p.examined for p in parts) and total.has_data:
        # A count or a sum over a source with no record at all stands on no evidence: 0 of nothing.
        total = replace(total, has_data=False)
    if by is None:
        return MeasureValue(total, {}, rows=rows)
    pieces: dict[str, list[_Group]] = {}
    labels: dict[str, str] = {}
    for p in parts:
        for key, group in p.groups.items():
            pieces.setdefault(key, []).append(group)
        for key, label in p.labels.items():
            labels.setdefault(key, label)
    groups: dict[str, list[Record]] = {}
    subjects: dict[str, Measurement] = {}
    made: dict[str, tuple[tuple[list[Record], ...], Measurement]] = {}
    for key in sorted(pieces):  # (in the order of their keys, not of the records' folding)
        mine = pieces[key]
        its_rows = tuple(g.rows for g in mine)
        groups[key] = _rows_of(mine)
        last = kept.subjects.get(key)
        if last is not None and same(last[0], its_rows):
            subjects[key] = last[1]
        else:
            its_ids = merge_ids([*(g.ids for g in mine), *(ids for g in mine for ids in g.lists)])
            its_sum = _summed(mine)
            subjects[key] = _aggregate(defn, source, groups[key], lists, explanation, span, its_ids, summed=its_sum)
        made[key] = (its_rows, subjects[key])
    kept.subjects = made
    if subjects and by == defn.by:
        listed = "；".join(f"{labels.get(k, k)} {m.actual}" for k, m in list(subjects.items())[:SUBJECTS_SHOWN])
        more = "等" if len(subjects) > SUBJECTS_SHOWN else ""
        total = replace(total, detail=f"{total.detail}（{listed}{more}）")
    return MeasureValue(total, subjects, labels, rows, groups)


@dataclass(frozen=True, slots=True)
class _Group:
    """Rows a measure selected from one block — all it selected (`_Part`), or one subject's (a measure
    with `by`) — with what is made of them once: their evidence and, for a sum, their sum."""

    rows: list[Record]  # in the block's order
    ids: SortedIds  # their evidence, but for
    lists: tuple[Sequence[str], ...]  # the lists and logs they cite, each once (`base.singles_and_lists`)
    summed: Decimal | None  # a sum: the rows' (added up block by block, the same Decimal below 28 digits)

    @classmethod
    def of(cls, rows: list[Record], summing: str | None) -> _Group:
        summed = None if summing is None else sum((r.fields[summing] for r in rows), ZERO)
        return cls(rows, *singles_and_lists(r.evidence for r in rows), summed)


@dataclass(frozen=True, slots=True)
class _Part:
    """What a measure made of one block of its source's records."""

    examined: int  # the block's records
    selected: _Group  # those the measure's where selects
    counted: list[Record] | None  # count and share: those the aggregate's where counts
    first: list[Record] | None  # a count that lists what it counted: its first by content (`_itemized`)
    groups: dict[str, _Group]  # by: each subject's
    labels: dict[str, str]  # by: a subject's display name


def _part(
    block: Sequence[Record],
    keep: Predicate | None,
    inner: Predicate | None,
    first: bool,
    by: str | None,
    named: bool,
    summing: str | None,
) -> _Part:
    rows = list(block) if keep is None else [r for r in block if keep(r)]
    counted = None if inner is None else [r for r in rows if inner(r)]
    shown = heapq.nsmallest(SUBJECTS_SHOWN, rows if counted is None else counted, key=_content_key) if first else None
    groups: dict[str, _Group] = {}
    labels: dict[str, str] = {}
    if by is not None:
        grouped: dict[str, list[Record]] = {}
        for r in rows:
            key = _show_value(r.fields[by])
            grouped.setdefault(key, []).append(r)
            if named:
                labels.setdefault(key, str(r.fields["name"]))
        groups = {key: _Group.of(g, summing) for key, g in grouped.items()}
    return _Part(len(block), _Group.of(rows, summing), counted, shown, groups, labels)


def _rows_of(groups: Sequence[_Group]) -> list[Record]:
    """The groups' rows laid end to end (one group's: its own list)."""
    return groups[0].rows if len(groups) == 1 else list(chain.from_iterable(g.rows for g in groups))


def _summed(groups: Iterable[_Group]) -> Decimal | None:
    """The groups' sums added up, or None when they are not a sum's."""
    total = ZERO
    for g in groups:
        if g.summed is None:
            return None
        total += g.summed
    return total


def _counted(parts: Sequence[_Part]) -> list[Record] | None:
    if not parts or parts[0].counted is None:
        return None
    return list(chain.from_iterable(p.counted or () for p in parts))


def _first(parts: Sequence[_Part]) -> list[Record] | None:
    """The first by content of all the blocks' firsts: those of the whole (`heapq.nsmallest` keeps
    ties in their order, and the blocks are in the records' order)."""
    if not parts or parts[0].first is None:
        return None
    return heapq.nsmallest(SUBJECTS_SHOWN, chain.from_iterable(p.first or () for p in parts), key=_content_key)


class _KeptMeasure:
    """A measure's blocks and what it made of them at the last evaluation (`_evaluate_source`)."""

    __slots__ = ("moment", "parts", "subjects", "union", "value")

    def __init__(self) -> None:
        self.parts: dict[int, tuple[Sequence[Record], _Part]] = {}  # (holding each block: its identity stays its own)
        self.union = IdUnion()
        self.moment: tuple[object, ...] = ()
        self.subjects: dict[str, tuple[tuple[list[Record], ...], Measurement]] = {}
        self.value: tuple[tuple[_Part, ...], tuple[object, ...], MeasureValue] | None = None

    def parts_of(
        self, blocks: Sequence[Sequence[Record]], make: Callable[[Sequence[Record]], _Part]
    ) -> tuple[_Part, ...]:
        last, now = self.parts, {}
        out = []
        for block in blocks:
            hit = last.get(id(block))
            part = hit[1] if hit is not None and hit[0] is block else make(block)
            now[id(block)] = (block, part)
            out.append(part)
        self.parts = now
        return tuple(out)


SUBJECTS_SHOWN = 10
TIME_AGGREGATES = ("mean_gap", "uncovered_share")


def observed_span(ctx: MetricContext, contract_id: str | None) -> tuple[datetime, datetime]:
    """From the first moment of the service period to the end of the as-of day or the day after the
    service ends, whichever is first (China time)."""
    service = ctx.ledger.service_span(contract_id)
    start = datetime.combine(service.start, datetime.min.time(), tzinfo=CHINA_TZ)
    end = datetime.combine(service.end + timedelta(days=1), datetime.min.time(), tzinfo=CHINA_TZ)
    return start, min(ctx.ledger.cutoff, end)


def _record_blocks(source: Source, contract_id: str | None, ctx: MetricContext) -> list[Sequence[Record]]:
    """A contract's records, or the project's (every contract's and those that name none), in blocks."""
    if not source.scoped:
        return ctx.record_blocks(source, None)
    out: list[Sequence[Record]] = []
    for c in ctx.contracts(contract_id):
        out += ctx.record_blocks(source, c)
    if contract_id is None:
        out += ctx.record_blocks(source, None)
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


def _evidence(rows: Iterable[Record]) -> SortedIds:
    return merge_ids(r.evidence for r in rows)


def _itemized(source: Source, rows: Sequence[Record], first: list[Record] | None = None) -> str:
    """'：' and the first records of a count, in the field's words (T2（L1）响应用时 10 分钟 …);
    `first`: those first records where already found."""
    if source.itemize is None or not rows:
        return ""
    if first is None:
        # The first by day and content, never by the order the events arrived in or their ids.
        first = heapq.nsmallest(SUBJECTS_SHOWN, rows, key=_content_key)
    listed = "；".join(source.itemize(r) for r in first)
    return "：" + listed + ("等" if len(rows) > SUBJECTS_SHOWN else "")


def _content_key(r: Record) -> tuple[date, tuple[str, ...]]:
    key = r.content
    if key is None:
        key = r.content = (r.day or date.min, tuple(str(v) for v in r.fields.values()))
    return key


def _with_unit(text: str, unit: str) -> str:
    return f"{text} {unit}" if unit else text


def _aggregate(
    defn: MeasureDef,
    source: Source,
    rows: list[Record],
    lists: Callable[[str | None, str], frozenset[str]],
    explanation: str,
    span: tuple[datetime, datetime] | None = None,
    ids: SortedIds | None = None,
    counted: list[Record] | None = None,
    first: list[Record] | None = None,
    summed: Decimal | None = None,
) -> Measurement:
    """The aggregate of `rows`; `ids` (their evidence), `counted` (a count's or share's rows that its
    where counts), `first` (the first of those by content) and `summed` (a sum's) where already made
    (`_Part`)."""
    agg = defn.aggregate
    unit = defn.unit
    if ids is None:
        ids = _evidence(rows)
    if agg.fn in TIME_AGGREGATES:
        assert span is not None
        return _over_time(defn, source, rows, lists, explanation, span, ids)
    if counted is None and agg.fn in ("count", "share"):
        inner = _all([_compile_test(t, lists) for t in parse_where(agg.where)])
        counted = rows if inner is None else [r for r in rows if inner(r)]
    if agg.fn == "share":
        assert counted is not None
        return rate_measurement(len(counted), len(rows), unit, f"{defn.name}：{explanation}", ids)
    if agg.fn == "count":
        # Every record examined is evidence: those counted, and those that kept the count down.
        assert counted is not None
        value = Decimal(len(counted))
        shown = _with_unit(fmt(value), unit)
        flags = parse_where(agg.where)
        if len(flags) == 1 and flags[0].op == "==" and flags[0].value is True:
            shown = f"{source.fields[flags[0].field].label} {shown}"  # 超时 4 次
        detail = f"{defn.name}：{explanation} = {shown}"
        if agg.where:
            detail += f"（共 {len(rows)} 项，其中 {len(counted)} 项"
            detail += (_itemized(source, counted, first) or "") + "）"
        elif source.itemize is not None and counted:
            detail += f"（{_itemized(source, counted, first).removeprefix('：')}）"
        return Measurement(value, None, None, unit, shown, detail, ids)
    field = agg.field or ""
    if agg.fn == "distinct":
        distinct = sorted({_show_value(r.fields[field]) for r in rows})
        return replace(_plain(defn, explanation, Decimal(len(distinct)), fmt, ids), items=tuple(distinct))
    if agg.fn == "sum":
        value = summed if summed is not None else sum((r.fields[field] for r in rows), ZERO)
        return _plain(defn, explanation, value, lambda v: fmt(v, 4), ids)
    if not rows:
        return Measurement(ZERO, None, None, unit, "无数据", f"{defn.name}：{explanation}：无数据", (), has_data=False)
    if agg.fn == "latest" and agg.each is not None:
        each = agg.each
        groups: dict[Any, list[Record]] = {}
        for r in rows:
            groups.setdefault(r.fields[each], []).append(r)
        chosen = [_latest(group) for group in groups.values()]
        total = sum((_number(r[0].fields[field]) for r in chosen), ZERO)
        return _plain(defn, explanation, total, lambda v: fmt(v, 4), _evidence([r for tied in chosen for r in tied]))
    if agg.fn == "latest":
        tied = _latest(rows)
        v = tied[0].fields[field]
        value = v if isinstance(v, Decimal) else Decimal(1 if v is True else 0) if isinstance(v, bool) else ZERO
        return _plain(defn, explanation, value, lambda _: _show_value(v), _evidence(tied))
    values = [r.fields[field] for r in rows]
    value = min(values) if agg.fn == "min" else max(values) if agg.fn == "max" else sum(values, ZERO) / len(values)
    return _plain(defn, explanation, value, lambda v: fmt(v, 4), ids)


def _latest(rows: list[Record]) -> list[Record]:
    """The latest recorded, ties by content, never by event ids: the records of that one figure (the same
    figure sent twice is cited by both, whatever order they came in)."""
    key = max(_latest_key(r) for r in rows)
    return [r for r in rows if _latest_key(r) == key]


def _latest_key(r: Record) -> tuple[Any, ...]:
    return (r.rank[:1], _content_key(r))


def _number(v: Any) -> Decimal:
    return v if isinstance(v, Decimal) else Decimal(1 if v is True else 0) if isinstance(v, bool) else ZERO


def _over_time(
    defn: MeasureDef,
    source: Source,
    rows: list[Record],
    lists: Callable[[str | None, str], frozenset[str]],
    explanation: str,
    span: tuple[datetime, datetime],
    ids: SortedIds,
) -> Measurement:
    """mean_gap and uncovered_share over the observed span; every record examined is evidence (`ids`)."""
    agg = defn.aggregate
    start, end = span
    shown_span = f"观察期 {start.date()} 至 {end.date()}"
    if agg.fn == "mean_gap":
        inner = _all([_compile_test(t, lists) for t in parse_where(agg.where)])
        picked = rows if inner is None else [r for r in rows if inner(r)]
        moments = sorted(m for r in picked if (m := r.fields[agg.field or ""]) is not None and m >= start)
        observed = Decimal((end - start).total_seconds()) / 3600
        if not moments:
            shown = f"≥{_with_unit(fmt(observed, 0), defn.unit)}"
            detail = f"{defn.name}：{explanation}：{shown_span} 共 {fmt(observed, 0)} 小时，其间无所计记录"
            return Measurement(observed, None, None, defn.unit, shown, detail, ids)
        value = Decimal((moments[-1] - start).total_seconds()) / 3600 / len(moments)
        shown = f"约 {_with_unit(fmt(value, 0), defn.unit)}"
        detail = (
            f"{defn.name}：{explanation} = {shown}（{shown_span}，共 {len(rows)} 项记录，其中所计 {len(moments)} 项）"
        )
        return Measurement(value, None, None, defn.unit, shown, detail, ids)
    spans = sorted((max(r.fields[agg.field or ""], start), min(r.fields[agg.until or ""] or end, end)) for r in rows)
    down = 0.0
    cursor = start
    for opened, closed in spans:
        opened = max(opened, cursor)
        if closed > opened:
            down += (closed - opened).total_seconds()
            cursor = closed
    # Whole minutes, as the field reports downtime (Python's round: half to even).
    minutes_down = Decimal(round(down / 60))
    minutes_total = Decimal(round(max((end - start).total_seconds(), 1.0) / 60))
    detail = (
        f"{defn.name}：{explanation}：{shown_span} 共 {fmt(minutes_total, 0)} 分钟，"
        f"{len(rows)} 项记录累计 {fmt(minutes_down, 0)} 分钟"
    )
    return replace(rate_measurement(minutes_total - minutes_down, minutes_total, "分钟", detail, ids), unit=defn.unit)


def _plain(
    defn: MeasureDef, explanation: str, value: Decimal, show: Callable[[Decimal], str], ids: Sequence[str]
) -> Measurement:
    """A value that is no rate: shown with the measure's unit, its explanation ending in it."""
    shown = _with_unit(show(value), defn.unit)
    evidence = ids if isinstance(ids, tuple | IdRuns) else tuple(ids)  # (Ids, IdRuns: never sorted again)
    return Measurement(value, None, None, defn.unit, shown, f"{defn.name}：{explanation} = {shown}", evidence)


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


def _calc(library: MeasureLibrary, defn: MeasureDef, ref: MetricRef, ctx: MetricContext) -> MeasureValue:
    assert defn.calc is not None
    calc = parse_calc(defn.calc)
    parts = {pid: ctx.measure(ref.model_copy(update={"name": pid})) for pid in calc.measures()}
    values = {pid: m.value for pid, m in parts.items()}
    names = {pid: str(found.name) if (found := library.get(pid)) else pid for pid in parts}
    root = calc.root
    used = _calc_used(root, values)
    ids = merge_ids(m.evidence for pid, m in parts.items() if pid in used)
    complete = all(m.has_data for pid, m in parts.items() if pid in used)
    formula = calc_text(calc, names)
    inputs = "；".join(f"{names[pid]} {m.actual}" for pid, m in parts.items())
    if root[0] == "op" and root[1] == "/":
        n, d = _calc_value(root[2], values), _calc_value(root[3], values)
        ok = n is not None and d is not None and d != 0
        value = n / d if ok and n is not None and d is not None else ZERO
        num, den = n if n is not None else ZERO, d if d is not None else ZERO
        actual = f"{fmt(num)}/{fmt(den)} = {pct(value)}" if ok else f"{fmt(num)}/0（无应计项）"
        detail = f"{defn.name}：{formula} = {actual}（{inputs}）"
        m = Measurement(value, num, den, defn.unit, actual, detail, ids, is_rate=True, has_data=complete and ok)
        return MeasureValue(m, {})
    v = _calc_value(root, values)
    value = v if v is not None else ZERO
    shown = pct(value) if defn.unit == "%" else _with_unit(fmt(value, 4), defn.unit)
    if v is None:
        shown = "无法计算（除数为 0）"
    detail = f"{defn.name}：{formula} = {shown}（{inputs}）"
    has_data = complete and v is not None
    return MeasureValue(Measurement(value, None, None, defn.unit, shown, detail, ids, has_data=has_data), {})


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
