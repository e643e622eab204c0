"""A compliance rule as data: what it binds, when it fires, and the finding it writes.

A rule binds facts, each a measure value or a contract term, by a short name of its own:

    - id: score.contradicts_attendance
      name: 考核满分与迟到记录矛盾
      severity: high
      bind:
        full: {measure: assessment.full_attendance_marks}   # one fact per item and period (its subject)
        late: {measure: assessment.late_arrivals_in_period, same: [contract, subject]}
      when: full.value > 0 and late.value > params.max_late
      params: {max_late: 0}
      message: "{contract.name}：{full.label}给了满分，但当期打卡记录显示迟到 {late.value:d} 次。"

The facts the engine matches (made by the measure language) are

    {"t": "measure", "measure": ID, "contract": ID or "", "subject": KEY or "", "value": number,
     "numerator": number or null, "denominator": number or null, "evidence": count}
    {"t": "term", "term": "staffing.min_coverage", "contract": ID, "value": number | text | flag}

A bound measure has the fields `value numerator denominator evidence` (numbers) and `contract subject
measure` (text); a bound term `value` (of the binding's `type`, number unless said), `contract`, `term`.
A binding after the first is joined to every earlier one on `same` (by default `[contract]`; `[]`
joins nothing, `[contract, subject]` both). `subject: P1` keeps only facts of that subject. A finding
cites the evidence of every measure it bound, except one bound with `cite: false` (a total shown for
context: "6 名驻场人员中 …").

`when` is a condition of the expression language (expression.py) over the bound fields,
`params.NAME` (a named parameter: its default is in `params` and a bundle may change it) and
`terms.DOTTED.NAME` (a contract term of the first binding's contract; its type is number unless
`terms: {NAME: text|flag}` says otherwise). A rule naming a term applies only to contracts that
have it. A rule binds at least one measure (the engine matches measures; terms are constants).

Messages (`message`, `measured`, `required`, `cause`, `advice`) are Chinese text with named values in
braces: `{late.value}`, `{params.min_share:.0%}`, `{terms.staffing.min_coverage:.1%}`, `{contract.name}`,
`{contract.id}`, `{contract.key}` (the contract's id, `all` for the project as a whole),
`{contract.vendor}` (供应商 for a finding of no contract), `{rule.name}`, or arithmetic over such values
(`{terms.staffing.committed_count - matched.value:d}`); `{{` and `}}` are literal braces. Nothing else is
looked up (no attribute access, no indexing, no calls). A number's format is `[,][.N](f|%|d|c)`: `.2f` two
places, `.0%` a percentage, `d` a whole number, `,` thousands separators, `.3` up to three places with
trailing zeros dropped, `c` a count in Chinese numerals as a quantity is said (一、两、三 … 十, digits
above ten — 市、镇、村{n:c}级); rounding is half up, as the field rounds. Without a format a number shows
up to 2 decimals, trailing zeros dropped. A flag shows 是/否. A date term reads as its ISO text
(`service_period.start`). A term may be one the contract derives (`staffing.committed_count`,
`staffing.committed_list` … on the contract models).

Besides its numbers, a bound measure has `label`, its subject's display name (a deliverable's name for
the subject `monthly_report`; the subject itself where the records carry no name), and offers text for
messages (not for `when`): `actual` (its value as it reads, e.g. a `latest` text field's text) and `items`
(what a `distinct` measure counted, in order, listed with 、, or with ； where they are phrases with ，).

`message` may have several forms, the first whose condition holds on the match written:

    message:
      - when: matched.value == 0
        text: "{contract.name}：承诺的驻场人员无一到岗。"
      - text: "{contract.name}：承诺的驻场人员仅 {matched.value:d} 人到岗（{matched.items}）。"

`scope` says whose figures a rule judges: `contract` (the default) each contract's measures, its
findings naming their contract; `project` the measures of the project as a whole (every contract's
records and those of no contract; the facts' contract is ""), its findings naming no contract;
`both` each contract's and, where the project has several contracts, the whole project's (项目整体),
its findings naming no contract (the subject tells them apart, e.g. `adj:{contract.key}`). The
reporting terms (`terms.reporting.…`) are the project's, so they apply to the project's facts too.

`indicators` are patterns (`*` and `?` wildcards) of indicator ids or names the rule bears on; `cause`
and `advice` are the 原因分析 and 建议 texts of the report.

`subject` is the finding's subject, a template like the messages: with the rule and the contract it
makes the finding's id, so it names what the finding is about and never an event id. By default it
is the first bound fact's subject (`-` where that is empty).

`lists` name the records behind a bound measure (those its `where` selected), each written by a
template over the record's own fields, for the messages to show as `{lists.NAME}`:

      lists:
        late: {of: late, each: "{period}的{name}应于 {due_at} 前提交", join: "；", first: 6, more: "等 {count} 份"}

`join` separates them (default `、`), `first` shows only so many, and `more` (a template whose only
value is `{count}`, the number of records) follows when some were left out. `where` (as a measure's,
without contract lists) lists only the records meeting it, and `empty` is shown when none is listed.
Records are listed in the order their source gives them (see `opseval measures --sources`).

A binding with `cite: false` is not cited as the finding's evidence: a fact shown for context (a total)
or one that only describes the contract's own terms (a finding that stands on a clause, cited in its
basis).

`basis` names what a finding stands on besides its evidence (依据: a finding that cites no evidence must
have one), a list of entries of two forms, each `kind: clause` (the wording itself is the problem) or
`kind: obligation` (what the document demands, against which the evidence fell short):

    basis:
      - kind: obligation                       # a source the contract profile may name
        term: staffing.sources.committed       # a dotted path to a TermSource on the contract
        document: 投标文件                      # cited, with `text`, where the contract names no source
        text: "拟投入驻场人员 {terms.staffing.committed_count:d} 名：{terms.staffing.committed_list}"
      - {kind: obligation, item: deliverables, of: due}   # the item the fact `due`'s subject names
      - {kind: clause, item: targets}                     # without `of`: every item of the list

A `term` entry cites the contract's source at that path (its document, clause and wording, or `text` where
the source gives no wording); `text` is a message template (above) rendered for the finding, and an entry
whose text names a term the contract does not have (`terms.X` is absent or empty) is left out. An `item`
entry cites an item of one of the contract's lists (opseval_shared/duties.py: deliverables,
inspection_plans, assessment_items, targets, payment_rules, surveys) with the item's own source, or its
standard wording; the subject of the fact named by `of` is the item's id (`ID`, or `ID@…` for a subject per
item and period). An entry with `document` and `text` but neither `term` nor `item` cites a
document the rule names itself, both templates (a standard the reporting terms name: `document:
"{terms.reporting.unit_rate_standard}"`); it is left out where they name a term the project does not
have, and it is the only kind a finding of no contract (scope project) can cite.
With `records: FIELD` as well, a fact that counts several items cites each item a record
behind it names in that field (`{kind: obligation, item: targets, of: below, records: name}`: the rows of
the 绩效目标表 that were not reached). Paths, lists and facts are checked when the rule is loaded.
"""

from __future__ import annotations

import math
import re
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from fnmatch import fnmatchcase
from typing import Annotated, Any, Literal

from opseval_shared.base import Frozen
from opseval_shared.contract import Contract, ReportingTerms, TermSource
from opseval_shared.duties import CONTRACT_ITEMS
from opseval_shared.measures import fields_filter
from opseval_shared.results import Severity
from pydantic import BaseModel, Field, StrictBool, StrictFloat, StrictInt, StrictStr, field_validator, model_validator

from .expression import (
    TYPE_NAMES,
    Arith,
    ExpressionError,
    Literal_,
    Negate,
    Node,
    Ref,
    Type,
    check_condition,
    parse,
    refs,
    type_of,
)

ValueType = Literal["number", "text", "flag"]
ParamValue = StrictBool | StrictInt | StrictFloat | StrictStr
DottedId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)*$", max_length=120)]
RuleId = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*(\.[a-z0-9_]+)+$", max_length=120)]
Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=60)]

MEASURE_FIELDS: dict[str, Type] = {
    "value": "number",
    "numerator": "number",
    "denominator": "number",
    "evidence": "number",
    "contract": "text",
    "subject": "text",
    "measure": "text",
    "label": "text",
}
# Absent on many measures (a count has no denominator): a rule naming one applies only to facts
# that have it.
OPTIONAL_FIELDS = frozenset({"numerator", "denominator"})
# What a measure's value reads as, for messages only (the engine matches numbers, contract and subject):
# `actual` the value as the measure shows it (a `latest` text field: the text itself), `items` the
# values a `distinct` measure counted, listed with 、 (`label`, the subject's display name, is a fact field).
MESSAGE_FIELDS: dict[str, Type] = {"actual": "text", "items": "text"}
RESERVED_NAMES = frozenset({"params", "terms", "contract", "rule", "and", "or", "not", "true", "false"})


class Binding(Frozen):
    """One fact a rule binds: a measure value or a contract term."""

    measure: DottedId | None = None
    term: DottedId | None = None
    subject: str | None = Field(default=None, min_length=1, description="keep only facts of this subject")
    same: tuple[Literal["contract", "subject"], ...] | None = Field(
        default=None, description="fields equal to those of every earlier binding (default: contract)"
    )
    type: ValueType | None = Field(default=None, description="a term's value type (default number)")
    cite: bool = Field(default=True, description="false: the finding does not cite this fact's evidence")

    @model_validator(mode="after")
    def _one_kind(self) -> Binding:
        if (self.measure is None) == (self.term is None):
            raise ValueError("a binding names exactly one of measure or term")
        if self.term is not None and self.subject is not None:
            raise ValueError("a term has no subject: 'subject' filters measures only")
        if self.measure is not None and self.type is not None:
            raise ValueError("'type' is for terms: a measure's value is a number")
        if self.term is not None and not self.cite:
            raise ValueError("'cite' is for measures: a term has no evidence")
        if self.same is not None and len(set(self.same)) != len(self.same):
            raise ValueError("'same' names a field twice")
        return self

    @property
    def kind(self) -> Literal["measure", "term"]:
        return "measure" if self.measure is not None else "term"

    @property
    def key(self) -> str:
        return self.measure if self.measure is not None else str(self.term)

    def fields(self, *, message: bool = False) -> dict[str, Type]:
        if self.kind == "measure":
            return {**MEASURE_FIELDS, **MESSAGE_FIELDS} if message else MEASURE_FIELDS
        return {"value": self.type or "number", "contract": "text", "term": "text"}


class RecordList(Frozen):
    """The records behind a bound measure, written one by one for a message (`{lists.NAME}`)."""

    of: Name = Field(description="the bound measure whose records are listed")
    each: str = Field(min_length=1, description="a template over one record's fields, e.g. {period}")
    join: str = "、"
    first: int | None = Field(default=None, ge=1, description="show only so many")
    more: str = Field(default="", description="follows when some were left out; {count} is how many records")
    where: dict[str, Any] = Field(default_factory=dict, description="list only the records meeting this")
    empty: str = Field(default="", description="shown when no record is listed")

    @field_validator("where")
    @classmethod
    def _where_parses(cls, value: dict[str, Any]) -> dict[str, Any]:
        fields_filter(value)
        return value


class BasisEntry(Frozen):
    """One thing a finding stands on: a contract source at a path (`term`), or a contract list's item (`item`)."""

    kind: Literal["clause", "obligation"]
    term: DottedId | None = Field(default=None, description="dotted path to a TermSource on the contract")
    document: str | None = Field(default=None, min_length=1, description="cited where the contract has no source")
    text: str | None = Field(default=None, min_length=1, description="the obligation's wording, a message template")
    item: str | None = Field(default=None, description="a contract list whose item is cited")
    of: Name | None = Field(default=None, description="the bound fact whose subject is the item's id")
    records: str | None = Field(
        default=None, min_length=1, description="with of: the field of the fact's records that names an item each"
    )

    @model_validator(mode="after")
    def _one_form(self) -> BasisEntry:
        if self.term is not None and self.item is not None:
            raise ValueError("a basis entry names at most one of term (a contract source) or item (a list's item)")
        if self.term is None and self.item is None and (self.document is None or self.text is None):
            raise ValueError(
                "a basis entry names a term (a contract source), an item (a list's item), "
                "or gives both document and text (a standard the rule itself names)"
            )
        if self.term is not None:
            missing = [f for f in ("document", "text") if getattr(self, f) is None]
            if missing:
                raise ValueError(
                    f"a term entry gives {' and '.join(missing)}: what is cited where the contract names no source"
                )
            if self.of is not None:
                raise ValueError("'of' names the fact that names an item: it goes with item")
        elif self.item is not None and (self.document is not None or self.text is not None):
            raise ValueError("an item is cited by its own source or its standard wording: no document or text")
        if self.records is not None and self.of is None:
            raise ValueError("'records' names a field of the records behind the fact 'of': give of")
        return self


class MessageCase(Frozen):
    """One form of a rule's message: the first whose `when` holds on the match is written."""

    when: str | None = Field(default=None, min_length=1, description="a condition; none: the form otherwise")
    text: str = Field(min_length=1)


class RuleDefinition(Frozen):
    id: RuleId
    name: str = Field(min_length=1, description="the rule's name, in Chinese")
    severity: Severity
    bind: dict[Name, Binding] = Field(min_length=1)
    params: dict[Name, ParamValue] = Field(default_factory=dict)
    terms: dict[DottedId, ValueType] = Field(default_factory=dict, description="types of terms.X (default number)")
    when: str = Field(min_length=1)
    scope: Literal["contract", "project", "both"] = Field(
        default="contract", description="whose measures: each contract's, the project's, or both"
    )
    subject: str = Field(default="", description="the finding's subject (its id): default the first fact's")
    lists: dict[Name, RecordList] = Field(default_factory=dict)
    message: str | tuple[MessageCase, ...] = Field(min_length=1)
    measured: str = ""
    required: str = ""
    indicators: tuple[str, ...] = ()
    cause: str = Field(default="", description="原因分析")
    advice: str = Field(default="", description="建议")
    basis: tuple[BasisEntry, ...] = Field(default=(), description="the clauses or obligations a finding stands on")
    domain_ref: int | None = None


class RuleProblem(ValueError):
    """A problem in a rule, at a location inside it (pydantic style: ("when",), ("params", "x"))."""

    def __init__(self, loc: tuple[int | str, ...], message: str) -> None:
        self.loc, self.message = loc, message
        super().__init__(message)


# ---------------------------------------------------------------- the checked form


@dataclass(frozen=True)
class BoundFact:
    """A binding as the compiler sees it: the rule's own bindings in order, then one per term named
    by `terms.X` (joined to the first binding's contract)."""

    alias: str  # the rule's name for it (`terms.X` for an implicit term)
    kind: Literal["measure", "term"]
    key: str  # measure id or term name
    value_type: Type
    subject: str | None
    same: tuple[tuple[Literal["contract", "subject"], str], ...]  # (field, alias of an earlier fact)


@dataclass(frozen=True)
class Placeholder:
    ref: Ref  # the name shown, or the first name of `expr`
    spec: str
    expr: Node | None = None  # arithmetic over names ({late.value - allowed.value:d}), else None

    def names(self) -> list[Ref]:
        return refs(self.expr) if self.expr is not None else [self.ref]


TemplatePart = str | Placeholder


@dataclass(frozen=True)
class CheckedList:
    spec: RecordList
    each: tuple[TemplatePart, ...]  # its placeholders are record fields: Ref("record", FIELD, "value", …)
    more: tuple[TemplatePart, ...]
    keep: Callable[[Mapping[str, Any]], bool]


TEMPLATE_FIELDS = ("subject", "measured", "required", "cause", "advice")  # and the message's forms


@dataclass(frozen=True)
class CheckedRule:
    rule: RuleDefinition
    facts: tuple[BoundFact, ...]
    condition: Node
    templates: dict[str, tuple[TemplatePart, ...]]  # TEMPLATE_FIELDS
    basis: tuple[tuple[TemplatePart, ...], ...] = ()  # each basis entry's text (empty for an item)
    lists: dict[str, CheckedList] = dataclass_field(default_factory=dict)
    basis_documents: tuple[tuple[TemplatePart, ...], ...] = ()  # a document the rule names itself (else empty)
    messages: tuple[tuple[Node | None, tuple[TemplatePart, ...]], ...] = ()  # (condition or None, text)

    def fact(self, alias: str) -> BoundFact:
        return next(f for f in self.facts if f.alias == alias)


def param_type(value: ParamValue) -> Type:
    if isinstance(value, bool):
        return "flag"
    return "text" if isinstance(value, str) else "number"


def _resolver(rule: RuleDefinition, terms_seen: dict[str, Type], *, context: bool) -> Callable[..., Ref]:
    def resolve(parts: tuple[str, ...], pos: int, source: str) -> Ref:
        head = parts[0]
        where = pos + 1
        if head == "params":
            if len(parts) != 2:
                raise ExpressionError("write a parameter as params.NAME", where, source)
            if parts[1] not in rule.params:
                known = ", ".join(sorted(rule.params)) or "none"
                raise ExpressionError(f"unknown parameter {parts[1]!r} (this rule's params: {known})", where, source)
            return Ref("param", parts[1], "value", param_type(rule.params[parts[1]]), pos)
        if head == "terms":
            if len(parts) < 2:
                raise ExpressionError(
                    "write a contract term as terms.NAME, e.g. terms.staffing.min_coverage", where, source
                )
            name = ".".join(parts[1:])
            kind = rule.terms.get(name, "number")
            terms_seen.setdefault(name, kind)
            return Ref("term", name, "value", kind, pos)
        if context and head in ("contract", "rule"):
            named: tuple[str, ...] = ("id", "name", "vendor", "key") if head == "contract" else ("id", "name")
            if len(parts) != 2 or parts[1] not in named:
                raise ExpressionError(f"write {' or '.join(f'{head}.{k}' for k in named)}", where, source)
            return Ref("context", head, parts[1], "text", pos)
        if context and head == "lists":
            if len(parts) != 2 or parts[1] not in rule.lists:
                known = ", ".join(sorted(rule.lists)) or "none"
                raise ExpressionError(f"write lists.NAME, a list of this rule's lists ({known})", where, source)
            return Ref("list", parts[1], "value", "text", pos)
        if head in rule.bind:
            binding = rule.bind[head]
            fields = binding.fields(message=context)
            if len(parts) != 2:
                raise ExpressionError(
                    f"name one field of {head}: {', '.join(f'{head}.{f}' for f in fields)}", where, source
                )
            if parts[1] not in fields:
                if parts[1] in MESSAGE_FIELDS and binding.kind == "measure":
                    raise ExpressionError(
                        f"{head}.{parts[1]} is text for messages: a condition compares values, contract and subject",
                        where,
                        source,
                    )
                raise ExpressionError(
                    f"{head} ({binding.kind} {binding.key}) has no field {parts[1]!r} (fields: {', '.join(fields)})",
                    where,
                    source,
                )
            return Ref("fact", head, parts[1], fields[parts[1]], pos)
        bound = ", ".join(rule.bind)
        extra = ", contract.name, rule.name, lists.NAME" if context else ""
        raise ExpressionError(
            f"unknown name {'.'.join(parts)!r} (bound facts: {bound}; or params.NAME, terms.NAME{extra})",
            where,
            source,
        )

    return resolve


def _check_bindings(rule: RuleDefinition) -> None:
    if all(b.kind == "term" for b in rule.bind.values()):
        first = next(iter(rule.bind))
        raise RuleProblem(("bind", first), "bind at least one measure: the engine matches measure values")
    earlier: list[tuple[str, Binding]] = []
    for alias, binding in rule.bind.items():
        if alias in RESERVED_NAMES:
            raise RuleProblem(("bind", alias), f"{alias!r} is a reserved word; name the fact otherwise")
        if not earlier and binding.same:
            raise RuleProblem(("bind", alias, "same"), "the first fact has nothing earlier to be the same as")
        if "subject" in (binding.same or ()):
            if binding.kind == "term":
                raise RuleProblem(("bind", alias, "same"), "a term has no subject")
            terms = [a for a, b in earlier if b.kind == "term"]
            if terms:
                raise RuleProblem(
                    ("bind", alias, "same"), f"{', '.join(terms)} is a term and has no subject to be the same as"
                )
        earlier.append((alias, binding))


# Checked rules by their definition's JSON: an evaluation checks each rule where it loads, compiles
# and renders it, and every project of a fleet holds the same standard rules. Bounded, since bundles
# may define rules of their own.
_CHECKED: dict[str, CheckedRule] = {}
_CHECKED_MAX = 4096


def check_rule(rule: RuleDefinition) -> CheckedRule:
    """Resolve and type-check the condition and the messages; raises RuleProblem with its location.
    The same definition is checked once (a rule that fails is checked again each time it is asked)."""
    key = rule.model_dump_json()
    checked = _CHECKED.get(key)
    if checked is None:
        checked = _check_rule(rule)
        if len(_CHECKED) >= _CHECKED_MAX:
            _CHECKED.pop(next(iter(_CHECKED)))
        _CHECKED[key] = checked
    return checked


def _check_rule(rule: RuleDefinition) -> CheckedRule:
    _check_bindings(rule)
    for name, kind in rule.terms.items():
        if kind not in TYPE_NAMES:  # pragma: no cover - the model's Literal refuses it first
            raise RuleProblem(("terms", name), f"unknown type {kind!r}")
    terms_seen: dict[str, Type] = {}
    condition_resolver = _resolver(rule, terms_seen, context=False)
    try:
        condition = parse(rule.when, lambda parts, pos: condition_resolver(parts, pos, rule.when))
        check_condition(condition, rule.when)
    except ExpressionError as exc:
        raise RuleProblem(("when",), str(exc)) from exc
    used = {r.name for r in refs(condition) if r.scope == "fact"}
    unused = [alias for alias in rule.bind if alias not in used]
    templates: dict[str, tuple[TemplatePart, ...]] = {}
    template_resolver = _resolver(rule, terms_seen, context=True)
    lists = {name: _check_list(rule, name, spec) for name, spec in rule.lists.items()}

    def template(text: str, loc: tuple[int | str, ...]) -> tuple[TemplatePart, ...]:
        try:
            return parse_template(text, lambda parts, pos: template_resolver(parts, pos, text))
        except ExpressionError as exc:
            raise RuleProblem(loc, str(exc)) from exc

    for field in TEMPLATE_FIELDS:
        templates[field] = template(getattr(rule, field), (field,))
    messages = _check_messages(rule, template, condition_resolver)
    shown_parts = [p for parts in [*templates.values(), *(text for _, text in messages)] for p in parts]
    mentioned = {r.name for p in shown_parts if isinstance(p, Placeholder) for r in p.names()}
    mentioned |= {r.name for cond, _ in messages if cond is not None for r in refs(cond) if r.scope == "fact"}
    mentioned |= {e.of for e in rule.basis if e.of is not None}  # a fact that names the items a finding cites
    shown = {p.ref.name for p in shown_parts if isinstance(p, Placeholder) and p.ref.scope == "list"}
    for name in rule.lists:
        if name not in shown:
            raise RuleProblem(("lists", name), f"lists.{name} is defined but shown in no message")
    mentioned |= {rule.lists[name].of for name in shown}
    silent = [alias for alias in unused if alias not in mentioned]
    if silent:
        # A fact neither tested, shown nor cited only multiplies the firings; it is almost always a typo.
        raise RuleProblem(
            ("bind", silent[0]), f"{silent[0]} is bound but used neither in 'when' nor in a message or basis"
        )
    # Terms a basis text names are read from the contract when the finding is written: they do not
    # restrict the contracts the rule applies to, as the condition's terms do.
    basis_terms: dict[str, Type] = {}
    basis = tuple(_check_basis(rule, index, entry, basis_terms) for index, entry in enumerate(rule.basis))
    documents = tuple(_basis_document(rule, index, entry, basis_terms) for index, entry in enumerate(rule.basis))
    for name in rule.terms:
        if name not in terms_seen and name not in basis_terms:
            raise RuleProblem(("terms", name), f"terms.{name} is declared but never used")
    aliases = list(rule.bind)
    facts = [
        BoundFact(
            alias,
            b.kind,
            b.key,
            b.fields()["value"],
            b.subject,
            tuple(
                (field, earlier)
                for field in (b.same if b.same is not None else ("contract",))
                for earlier in aliases[:index]
            ),
        )
        for index, (alias, b) in enumerate(rule.bind.items())
    ]
    first = aliases[0]
    facts += [
        BoundFact(f"terms.{name}", "term", name, kind, None, (("contract", first),))
        for name, kind in terms_seen.items()
    ]
    return CheckedRule(rule, tuple(facts), condition, templates, basis, lists, documents, messages)


def _check_messages(
    rule: RuleDefinition,
    template: Callable[[str, tuple[int | str, ...]], tuple[TemplatePart, ...]],
    resolver: Callable[..., Ref],
) -> tuple[tuple[Node | None, tuple[TemplatePart, ...]], ...]:
    if isinstance(rule.message, str):
        return ((None, template(rule.message, ("message",))),)
    out: list[tuple[Node | None, tuple[TemplatePart, ...]]] = []
    for index, case in enumerate(rule.message):
        at: tuple[int | str, ...] = ("message", index)
        last = index == len(rule.message) - 1
        if (case.when is None) != last:
            raise RuleProblem(at, "each form of a message but the last has a 'when'; the last (written otherwise) none")
        cond: Node | None = None
        if case.when is not None:
            when = case.when

            def resolve_in(parts: tuple[str, ...], pos: int, when: str = when) -> Ref:
                return resolver(parts, pos, when)

            try:
                cond = parse(when, resolve_in)
                check_condition(cond, when)
            except ExpressionError as exc:
                raise RuleProblem((*at, "when"), str(exc)) from exc
        out.append((cond, template(case.text, (*at, "text"))))
    return tuple(out)


def _check_basis(
    rule: RuleDefinition, index: int, entry: BasisEntry, terms_seen: dict[str, Type]
) -> tuple[TemplatePart, ...]:
    at: tuple[int | str, ...] = ("basis", index)
    if entry.item is not None:
        if entry.item not in CONTRACT_ITEMS:
            known = ", ".join(CONTRACT_ITEMS)
            raise RuleProblem((*at, "item"), f"unknown contract list {entry.item!r} (known: {known})")
        if entry.of is not None:
            binding = rule.bind.get(entry.of)
            if binding is None:
                raise RuleProblem((*at, "of"), f"{entry.of} is not a bound fact (bound: {', '.join(rule.bind)})")
            if binding.kind != "measure":
                raise RuleProblem((*at, "of"), f"{entry.of} is a term: only a measure's fact has a subject")
        return ()
    assert entry.text is not None and entry.document is not None
    problem = source_path_problem(entry.term) if entry.term is not None else None
    if problem:
        raise RuleProblem((*at, "term"), problem)
    resolver = _resolver(rule, terms_seen, context=True)
    text = entry.text
    try:
        parsed = parse_template(text, lambda parts, pos: resolver(parts, pos, text))
    except ExpressionError as exc:
        raise RuleProblem((*at, "text"), str(exc)) from exc
    for ref in [r for part in parsed if isinstance(part, Placeholder) for r in part.names()]:
        if ref.scope == "term":
            problem = term_path_problem(ref.name)
            if problem:
                raise RuleProblem((*at, "text"), f"terms.{ref.name}: {problem}")
    return parsed


def _basis_document(
    rule: RuleDefinition, index: int, entry: BasisEntry, terms_seen: dict[str, Type]
) -> tuple[TemplatePart, ...]:
    """The document template of an entry citing a document the rule names itself (empty for the others)."""
    if entry.term is not None or entry.item is not None or entry.document is None:
        return ()
    resolver = _resolver(rule, terms_seen, context=True)
    document = entry.document
    try:
        parsed = parse_template(document, lambda parts, pos: resolver(parts, pos, document))
    except ExpressionError as exc:
        raise RuleProblem(("basis", index, "document"), str(exc)) from exc
    for part in parsed:
        if isinstance(part, Placeholder) and part.ref.scope == "term":
            problem = term_path_problem(part.ref.name)
            if problem:
                raise RuleProblem(("basis", index, "document"), f"terms.{part.ref.name}: {problem}")
    return parsed


def _model_of(annotation: Any) -> Any:
    """The model class an annotation holds (`X | None` is X), or the annotation itself."""
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        kept = [a for a in typing.get_args(annotation) if a is not type(None)]
        return kept[0] if len(kept) == 1 else annotation
    return annotation


def source_path_problem(path: str) -> str | None:
    """Why a dotted path does not lead to a TermSource on a contract (None: it does)."""
    model: Any = Contract
    walked: list[str] = []
    for part in path.split("."):
        where = ".".join(walked) or "a contract"
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return f"{where} is not a section of the contract: a source is at a path such as staffing.sources.committed"
        if part not in model.model_fields:
            return f"{where} has no {part!r} (it has: {', '.join(model.model_fields)})"
        model = _model_of(model.model_fields[part].annotation)
        walked.append(part)
    if model is not TermSource:
        return (
            f"{path} is not a source (document, clause, text): cite a list's items with item:, "
            "a source at a path such as staffing.sources.committed or training.source"
        )
    return None


def term_path_problem(name: str) -> str | None:
    """Why a dotted name is no term of a contract (a field or a derived value such as
    staffing.committed_count), or of the reporting terms (`reporting.…`); None: it is one."""
    parts = name.split(".")
    model: Any = Contract
    walked: list[str] = []
    if parts[0] == "reporting":
        model, walked, parts = ReportingTerms, ["reporting"], parts[1:]
    for part in parts:
        where = ".".join(walked) or "a contract"
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            return f"{where} is a value, not a section with {part!r}"
        derived = getattr(model, part, None)
        if part in model.model_fields:
            model = _model_of(model.model_fields[part].annotation)
        elif isinstance(derived, property) and derived.fget is not None:
            model = _model_of(typing.get_type_hints(derived.fget).get("return"))
        else:
            return f"{where} has no {part!r} (it has: {', '.join(model.model_fields)})"
        walked.append(part)
    return None


def source_at(contract: Contract, path: str) -> TermSource | None:
    """The source at a checked dotted path on a contract (None where the contract names none)."""
    value: Any = contract
    for part in path.split("."):
        value = getattr(value, part, None)
        if value is None:
            return None
    return value if isinstance(value, TermSource) else None


def _check_list(rule: RuleDefinition, name: str, spec: RecordList) -> CheckedList:
    binding = rule.bind.get(spec.of)
    if binding is None or binding.kind != "measure":
        measures = ", ".join(a for a, b in rule.bind.items() if b.kind == "measure")
        raise RuleProblem(("lists", name, "of"), f"{spec.of!r} is not a bound measure (bound measures: {measures})")

    def record_field(parts: tuple[str, ...], pos: int) -> Ref:
        if len(parts) != 1:
            raise ExpressionError(f"name one field of the record, e.g. {{{parts[-1]}}}", pos + 1, spec.each)
        return Ref("record", parts[0], "value", "number", pos)

    def count_only(parts: tuple[str, ...], pos: int) -> Ref:
        if parts != ("count",):
            raise ExpressionError("the only value here is {count}, the number of records", pos + 1, spec.more)
        return Ref("record", "count", "value", "number", pos)

    try:
        each = parse_template(spec.each, record_field, typed=False)
    except ExpressionError as exc:
        raise RuleProblem(("lists", name, "each"), str(exc)) from exc
    try:
        more = parse_template(spec.more, count_only)
    except ExpressionError as exc:
        raise RuleProblem(("lists", name, "more"), str(exc)) from exc
    return CheckedList(spec, each, more, fields_filter(spec.where))


# ---------------------------------------------------------------- message templates

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_SPEC = re.compile(r"^(?P<comma>,)?(?:\.(?P<places>\d))?(?P<kind>[f%dc])?$")
_CHINESE_COUNT = ("零", "一", "两", "三", "四", "五", "六", "七", "八", "九", "十")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def parse_template(
    text: str, resolve: Callable[[tuple[str, ...], int], Ref], *, typed: bool = True
) -> tuple[TemplatePart, ...]:
    """`typed`: a format is refused on a value known not to be a number (record fields are typed by
    their source, known only with the project's measures)."""
    parts: list[TemplatePart] = []
    buffer: list[str] = []
    at = 0
    while at < len(text):
        match = _PLACEHOLDER.search(text, at)
        if match is None:
            buffer.append(text[at:])
            break
        buffer.append(text[at : match.start()])
        token = match.group()
        if token in ("{{", "}}"):
            buffer.append(token[0])
        elif token in ("{", "}"):
            raise ExpressionError(
                f"unmatched {token!r}: write {token * 2} for a literal brace", match.start() + 1, text
            )
        else:
            inner = match.group(1)
            name, _, spec = inner.partition(":")
            name = name.strip()
            expr: Node | None = None
            if _NAME.match(name):
                ref = resolve(tuple(name.split(".")), match.start() + 1)
            else:
                expr = _placeholder_expression(name, match.start() + 1, text, resolve)
                ref = refs(expr)[0]
            if not _SPEC.match(spec):
                raise ExpressionError(
                    f"unknown format {spec!r}: use .2f, .0%, d, c (一两三) or , (thousands)",
                    match.start() + 1,
                    text,
                )
            if spec and typed and expr is None and ref.type != "number":
                raise ExpressionError(
                    f"{name} is a {TYPE_NAMES[ref.type]}: a format applies to numbers only", match.start() + 1, text
                )
            if buffer:
                parts.append("".join(buffer))
                buffer = []
            parts.append(Placeholder(ref, spec, expr))
        at = match.end()
    if "".join(buffer):
        parts.append("".join(buffer))
    return tuple(parts)


def _placeholder_expression(
    source: str, column: int, text: str, resolve: Callable[[tuple[str, ...], int], Ref]
) -> Node:
    """Arithmetic in a placeholder ({full.value - late.value:d}): a number computed from named values."""
    offset = column  # the placeholder's columns in the whole text, for an error's position
    try:
        node = parse(source, lambda parts, pos: resolve(parts, offset + pos))
        if not refs(node):
            raise ExpressionError("names no value: write the number itself", 1, source)
        if type_of(node, source) != "number":
            raise ExpressionError("a computed value is a number (arithmetic over values)", 1, source)
    except ExpressionError as exc:
        raise ExpressionError(
            f"{{{source}}} is not a name such as {{late.value}} or {{params.min_share:.0%}}, nor arithmetic "
            f"over such names: {exc.problem}",
            column,
            text,
        ) from exc
    return node


def compute(node: Node, value_of: Callable[[Ref], Any]) -> Any:
    """A placeholder's arithmetic with the doubles' rules the engine uses (x/0 is ±inf, 0/0 nan)."""
    if isinstance(node, Ref):
        value = value_of(node)
        return None if value is None else float(value)
    if isinstance(node, Literal_):
        return node.value
    if isinstance(node, Negate):
        operand = compute(node.operand, value_of)
        return None if operand is None else -operand
    assert isinstance(node, Arith), node
    left, right = compute(node.left, value_of), compute(node.right, value_of)
    if left is None or right is None:
        return None
    if node.op == "/":
        if right == 0:
            return math.nan if left == 0 else math.copysign(math.inf, left)
        return left / right
    return left + right if node.op == "+" else left - right if node.op == "-" else left * right


def format_value(value: Any, spec: str = "") -> str:
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, str):
        return value
    if isinstance(value, date):
        return value.isoformat()
    if value is None:
        return "—"
    match = _SPEC.match(spec)
    assert match is not None, spec
    number = Decimal(repr(float(value)))
    kind, places, comma = match.group("kind"), match.group("places"), bool(match.group("comma"))
    if kind == "c" and number == number.to_integral_value() and 0 <= number <= 10:
        return _CHINESE_COUNT[int(number)]
    if kind == "c":
        kind = "d"
    if kind == "%":
        number *= 100
    if kind == "d":
        digits = 0
    elif places is not None:
        digits = int(places)
    else:
        digits = 2
    q = number.quantize(Decimal(1).scaleb(-digits), ROUND_HALF_UP)
    text = f"{q:,f}" if comma else format(q, "f")
    if (places is None or kind is None) and kind != "d" and "." in text:
        text = text.rstrip("0").rstrip(".")
    if text in ("-0", "-0.0") or re.fullmatch(r"-0\.0+", text):
        text = text[1:]
    return text + ("%" if kind == "%" else "")


def render(parts: tuple[TemplatePart, ...], value_of: Callable[[Ref], Any]) -> str:
    return "".join(
        p
        if isinstance(p, str)
        else format_value(compute(p.expr, value_of) if p.expr is not None else value_of(p.ref), p.spec)
        for p in parts
    )


def matches_indicator(rule: RuleDefinition, indicator_id: str, indicator_name: str = "") -> bool:
    """Whether the rule bears on an indicator: a pattern matches its id or its name."""
    return any(fnmatchcase(indicator_id, p) or fnmatchcase(indicator_name, p) for p in rule.indicators)
