"""Rules as data compiled to durable_rules, so that the engine does the matching, joins included.

Each rule becomes one durable_rules rule (`JoinRule`) whose patterns are its bound facts in order:

    b0: t == "measure" and measure == "assessment.full_attendance_marks" and value > 0
    b1: t == "measure" and measure == "staff.late_arrivals" and contract == b0.contract and value > 0
    b2: t == "term" and term == "x.y" and vt == "number" and contract == b0.contract and value > b1.value

What is compiled how, and why:

* **Parameters** are the same for every contract of an effective rule set, so they are compiled in as
  constants; changing one (an override) changes the ruleset's hash, hence a new registration.
* **Contract terms** differ per contract: they are facts (`{"t": "term", ...}`), bound and joined on
  the contract like a measure. So one registration serves every project with the same rule set
  (durable_rules cannot unregister a ruleset: one per contract profile would grow without bound), and
  a contract without the term simply has no fact to join: the rule does not apply to it.
* **A comparison** is placed on the pattern of the latest-bound fact it names, with that fact's field
  alone on the left (`a.value - b.value > 1` becomes `b.value < a.value - 1` on b): durable_rules
  compares a fact's own field with constants and with arithmetic over *earlier* facts, nothing else.
  The rewrite is algebra done once at compile time (multiplying or dividing by a constant, flipping the
  comparison for a negative one); a comparison that cannot be rewritten so — a fact's field multiplied by
  or divided into another fact's, or two fields of one fact — is refused with the reason.
* **not** is pushed down to the comparisons (`not a > b` is `a <= b`). **or** over one fact's own
  values is a durable_rules `$or` in its pattern; any other `or` (across facts, or mixing a comparison
  with an earlier fact and one with a constant, which durable_rules 2.0.28 mis-evaluates) makes the
  rule one durable_rules rule per alternative (at most 32), and a match several alternatives find is
  reported once — the only thing done in Python after the engine, and it only removes duplicates.
* **Arithmetic without a fact** (parameters, literals) is computed here: durable_rules never matches
  `x > 2 + 3` (proven in tests/unit/test_rule_language.py).

What durable_rules 2.0.28 cannot do honestly, each proven by a test in test_rule_language.py:

* Compare two fields of the same fact: a pattern's reference to its own alias is silently mis-read
  (it fires whatever the values) and the same fact cannot be bound twice. Refused at load.
* Absence ("no fact matches", `m$not`): the engine decides when each fact is asserted, so the
  verdict depends on the order of assertion (an action already run is not taken back when the
  blocking fact arrives). The language has no absence; a measure whose count is 0 is a fact with value 0.
* Aggregates (count, sum … over facts): durable_rules has none that fit (its `count` is a window of
  events); the measure language computes them and the rules compare their values.
* Optional fields (numerator, denominator): null or absent is read inconsistently, and arithmetic on
  it is an error; a rule naming one applies only to facts that have it (`$ex` on that fact).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import product
from typing import Annotated, Any, Literal

from opseval_shared.base import Frozen
from opseval_shared.results import Severity
from pydantic import Field, StrictBool, StrictFloat, StrictInt, StrictStr, TypeAdapter, ValidationError

from .definitions import OPTIONAL_FIELDS, CheckedRule, RuleDefinition, RuleProblem, check_rule, render
from .engine import JoinRule, RulesEngine, default_engine, engine_readable
from .expression import (
    Arith,
    Compare,
    Literal_,
    Logic,
    Negate,
    Node,
    Ref,
    fold,
    negation_normal_form,
    refs,
    substitute,
)

MAX_ALTERNATIVES = 32
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "==": "==", "!=": "!="}
_DURABLE_OP = {"<": "$lt", "<=": "$lte", ">": "$gt", ">=": "$gte", "!=": "$neq"}
_ARITH_OP = {"+": "$add", "-": "$sub", "*": "$mul", "/": "$div"}


# ---------------------------------------------------------------- facts


Finite = Annotated[float, Field(allow_inf_nan=False)]


class MeasureFact(Frozen):
    t: Literal["measure"]
    measure: str
    contract: str = ""
    subject: str = ""
    value: Finite
    numerator: Finite | None = None
    denominator: Finite | None = None
    evidence: int = Field(default=0, ge=0)


class TermFact(Frozen):
    t: Literal["term"]
    term: str
    contract: str = ""
    value: StrictBool | StrictInt | StrictFloat | StrictStr


_FACT = TypeAdapter(Annotated[MeasureFact | TermFact, Field(discriminator="t")])


def _value_type(value: Any) -> str:
    if isinstance(value, bool):
        return "flag"
    return "text" if isinstance(value, str) else "number"


def engine_facts(facts: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The facts as the compiled rules match them: shape checked, `vt` (the value's type) added to a
    term — so a term of another type than a rule expects does not match rather than being compared
    as durable_rules compares text with numbers (inconsistently) — and `k`, its position, for
    finding it again."""
    out = []
    for index, raw in enumerate(facts):
        try:
            fact = _FACT.validate_python(dict(raw))
        except ValidationError as exc:
            err = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in err["loc"][1:]) or "t"
            raise ValueError(f"fact {index}: {where}: {err['msg']}") from exc
        body = fact.model_dump()
        if isinstance(fact, TermFact):
            body["vt"] = _value_type(fact.value)
        body["k"] = index
        out.append(body)
    return out


# ---------------------------------------------------------------- compiling


@dataclass(frozen=True)
class CompiledRuleSet:
    rules: tuple[JoinRule, ...]
    origin: Mapping[str, tuple[str, tuple[str, ...]]]  # engine rule name → (rule id, fact aliases in order)
    checked: Mapping[str, CheckedRule]


def _engine_alias(index: int) -> str:
    return f"b{index}"


def compile_rules(rules: Sequence[RuleDefinition]) -> CompiledRuleSet:
    compiled: list[JoinRule] = []
    origin: dict[str, tuple[str, tuple[str, ...]]] = {}
    checked: dict[str, CheckedRule] = {}
    for index, rule in enumerate(sorted(rules, key=lambda r: r.id)):
        if rule.id in checked:
            raise ValueError(f"rule {rule.id} appears twice")
        c = check_rule(rule)
        checked[rule.id] = c
        stem = f"r{index:03d}_" + re.sub(r"[^A-Za-z0-9_]", "_", rule.id)
        for alt, patterns in enumerate(compile_patterns(c)):
            name = f"{stem}_{alt}"
            compiled.append(JoinRule(name, patterns))
            origin[name] = (rule.id, tuple(f.alias for f in c.facts))
    return CompiledRuleSet(tuple(compiled), origin, checked)


def compile_patterns(c: CheckedRule) -> list[tuple[tuple[str, dict[str, Any]], ...]]:
    """The durable_rules patterns of a checked rule: one tuple of (alias, condition) per alternative
    (none when the condition is false whatever the facts). Raises RuleProblem at ("when",)."""
    order = {f.alias: i for i, f in enumerate(c.facts)}
    source = c.rule.when

    def value_of(ref: Ref) -> Node:
        if ref.scope == "param":
            value = c.rule.params[ref.name]
            number = float(value) if not isinstance(value, bool | str) else value
            return Literal_(number, ref.type, ref.pos)
        if ref.scope == "term":
            return Ref("fact", f"terms.{ref.name}", "value", ref.type, ref.pos)
        return ref

    try:
        condition = negation_normal_form(fold(substitute(c.condition, value_of), source))
    except ValueError as exc:
        raise RuleProblem(("when",), str(exc)) from exc
    base: list[list[dict[str, Any]]] = []
    for f in c.facts:
        parts: list[dict[str, Any]] = [{"t": f.kind}, {f.kind: f.key}]
        if f.kind == "term":
            parts.append({"vt": f.value_type})
        if f.subject is not None:
            parts.append({"subject": f.subject})
        parts += [{field: {_engine_alias(order[earlier]): field}} for field, earlier in f.same]
        base.append(parts)
    for ref in refs(condition):
        if ref.scope == "fact" and ref.field in OPTIONAL_FIELDS:
            guard = {"$ex": {ref.field: 1}}
            if guard not in base[order[ref.name]]:
                base[order[ref.name]].append(guard)
    if isinstance(condition, Literal_):
        alternatives: list[list[tuple[int, dict[str, Any]]]] = [[]] if condition.value else []
    else:
        alternatives = _alternatives(condition, order, source)
    out = []
    for alternative in alternatives:
        per_fact = [list(parts) for parts in base]
        for target, cond in alternative:
            per_fact[target].append(cond)
        out.append(
            tuple(
                (_engine_alias(i), parts[0] if len(parts) == 1 else {"$and": parts}) for i, parts in enumerate(per_fact)
            )
        )
    return out


def _conjuncts(node: Node) -> list[Node]:
    if isinstance(node, Logic) and node.op == "and":
        return [x for item in node.items for x in _conjuncts(item)]
    return [node]


def _targets(node: Node, order: Mapping[str, int]) -> set[int]:
    if isinstance(node, Compare):
        return {max(order[r.name] for r in refs(node))}
    assert isinstance(node, Logic), node
    return {t for item in node.items for t in _targets(item, order)}


def _alternatives(node: Node, order: Mapping[str, int], source: str) -> list[list[tuple[int, dict[str, Any]]]]:
    """Each alternative is a list of (fact index, durable condition) that must all hold."""
    placed: list[tuple[int, dict[str, Any]]] = []
    spread: list[list[list[Node]]] = []  # per conjunct over several facts: its DNF (lists of atoms)
    for conjunct in _conjuncts(node):
        targets = _targets(conjunct, order)
        if isinstance(conjunct, Compare) or (len(targets) == 1 and _alone(conjunct)):
            placed.append((targets.pop(), _durable(conjunct, order, source)))
        else:
            spread.append(_dnf(conjunct))
    count = math.prod(len(d) for d in spread)
    if count > MAX_ALTERNATIVES:
        raise RuleProblem(
            ("when",),
            f"the condition makes {count} alternatives for the engine (at most {MAX_ALTERNATIVES}): "
            "an 'or' across different facts becomes one engine rule per alternative; simplify it",
        )
    out = []
    for choice in product(*spread):
        atoms = [a for clause in choice for a in clause]
        out.append(placed + [(_targets(a, order).pop(), _durable(a, order, source)) for a in atoms])
    return out


def _alone(node: Node) -> bool:
    """Whether every comparison in it names one fact only. durable_rules 2.0.28 mis-evaluates an `$or`
    that mixes a comparison with an earlier fact and one with a constant (when only the constant one
    holds, nothing fires: proven in test_rule_language.py), so such an `or` becomes alternatives."""
    if isinstance(node, Compare):
        return len({r.name for r in refs(node)}) == 1
    assert isinstance(node, Logic), node
    return all(_alone(item) for item in node.items)


def _dnf(node: Node) -> list[list[Node]]:
    if isinstance(node, Logic) and node.op == "or":
        return [clause for item in node.items for clause in _dnf(item)]
    if isinstance(node, Logic):
        result: list[list[Node]] = [[]]
        for item in node.items:
            result = [a + b for a in result for b in _dnf(item)]
        return result
    return [[node]]


def _durable(node: Node, order: Mapping[str, int], source: str) -> dict[str, Any]:
    """A condition over one fact (the latest-bound one it names) as durable_rules writes it."""
    if isinstance(node, Logic):
        return {f"${node.op}": [_durable(item, order, source) for item in node.items]}
    assert isinstance(node, Compare), node
    target = max(order[r.name] for r in refs(node))
    field, op, right = _isolate(node, target, order, source)
    right_json = _encode(right, order, source, node)
    if op == "==":
        return {field: right_json}
    return {_DURABLE_OP[op]: {field: right_json}}


def _fails(node: Compare, source: str, message: str) -> RuleProblem:
    return RuleProblem(("when",), f"{message} (column {node.pos + 1} of {source!r})")


def _isolate(node: Compare, target: int, order: Mapping[str, int], source: str) -> tuple[str, str, Node]:
    """Rewrite `L op R` as `field op E`, field the target fact's own, E free of the target fact."""

    def has(n: Node) -> bool:
        return any(order[r.name] == target for r in refs(n))

    own = [r for r in refs(node) if order[r.name] == target]
    if len(own) > 1:
        names = " and ".join(r.text for r in own)
        raise _fails(
            node,
            source,
            f"compares {names}, two values of one fact: durable_rules 2.0.28 compares a fact's field only with "
            "constants and with facts bound before it; bind another measure instead",
        )
    op: str = node.op
    left, right = node.left, node.right
    if has(right):
        left, right, op = right, left, _FLIP[op]
    while not isinstance(left, Ref):
        if isinstance(left, Negate):
            left, right, op = left.operand, Negate(right, right.pos), _FLIP[op]
        elif isinstance(left, Arith) and left.op in "+-":
            a, b, plus = left.left, left.right, left.op == "+"
            if has(a):  # X + E op R  ⇔  X op R - E;  X - E op R  ⇔  X op R + E
                left, right = a, Arith("-" if plus else "+", right, b, right.pos)
            elif plus:
                left, right = b, Arith("-", right, a, right.pos)
            else:  # E - X op R  ⇔  X flip(op) E - R
                left, right, op = b, Arith("-", a, right, right.pos), _FLIP[op]
        elif isinstance(left, Arith):
            times = left.op == "*"
            inner, other = (left.left, left.right) if has(left.left) else (left.right, left.left)
            if not times and inner is left.right:
                raise _fails(node, source, f"divides by {own[0].text}: the engine cannot match on a divisor; rearrange")
            folded = fold(other, source)
            if not isinstance(folded, Literal_):
                raise _fails(
                    node,
                    source,
                    f"multiplies or divides {own[0].text} by another fact's value, whose sign is unknown: "
                    "durable_rules compares a fact's own field, so the comparison cannot be rearranged onto it",
                )
            k = float(folded.value)
            if k == 0:
                raise _fails(node, source, f"multiplies {own[0].text} by 0")
            left, right = inner, Arith("/" if times else "*", right, Literal_(k, "number"), right.pos)
            if k < 0:
                op = _FLIP[op]
        else:  # pragma: no cover - a comparison's operands are values
            raise _fails(node, source, "cannot compile this comparison")
    return left.field, op, fold(right, source)


def _encode(node: Node, order: Mapping[str, int], source: str, whole: Compare) -> Any:
    if isinstance(node, Literal_):
        if isinstance(node.value, float) and not engine_readable(node.value):
            raise _fails(
                whole,
                source,
                f"the number {node.value!r} cannot be read by durable_rules 2.0.28 (no exponent notation: "
                "use values from 0.0001 to below 2**53, or 0)",
            )
        return node.value
    if isinstance(node, Ref):
        return {_engine_alias(order[node.name]): node.field}
    if isinstance(node, Negate):
        return {"$sub": {"$l": 0.0, "$r": _encode(node.operand, order, source, whole)}}
    if isinstance(node, Arith):
        return {
            _ARITH_OP[node.op]: {
                "$l": _encode(node.left, order, source, whole),
                "$r": _encode(node.right, order, source, whole),
            }
        }
    raise _fails(whole, source, "a comparison inside arithmetic")  # pragma: no cover - type-checked


# ---------------------------------------------------------------- matching


@dataclass(frozen=True)
class RuleMatch:
    """One firing of a rule: the facts it bound and the finding's texts rendered from them."""

    rule: str
    contract: str  # the first bound fact's contract
    subject: str  # the first bound fact's subject ("" for a term)
    facts: tuple[tuple[str, dict[str, Any]], ...]  # by the rule's names, `terms.X` for a term it named
    severity: Severity
    message: str
    measured: str
    required: str
    indicators: tuple[str, ...]
    cause: str
    advice: str
    domain_ref: int | None


def register(compiled: CompiledRuleSet, engine: RulesEngine | None = None) -> str:
    """Register once per distinct compiled content (the engine keys rulesets by their hash)."""
    return (engine or default_engine()).register(compiled.rules)


def match(
    compiled: CompiledRuleSet,
    facts: Iterable[Mapping[str, Any]],
    *,
    engine: RulesEngine | None = None,
    contract_names: Mapping[str, str] | None = None,
) -> list[RuleMatch]:
    """Assert the facts in a fresh session, collect every firing and render it; sorted, and the same
    whatever the order of the facts."""
    engine = engine or default_engine()
    ruleset = engine.register(compiled.rules)
    source = [dict(f) for f in facts]
    prepared = engine_facts(source)
    seen: set[tuple[str, tuple[int, ...]]] = set()
    out: list[RuleMatch] = []
    for firing in engine.run(ruleset, prepared):
        rule_id, aliases = compiled.origin[firing.rule]
        positions = tuple(int(fact["k"]) for _, fact in firing.bound)
        if (rule_id, positions) in seen:
            continue  # found again by another alternative of the same rule
        seen.add((rule_id, positions))
        bound = tuple((alias, source[k]) for alias, k in zip(aliases, positions, strict=True))
        out.append(_rendered(compiled.checked[rule_id], bound, contract_names or {}))
    return sorted(out, key=_match_order)


def _match_order(m: RuleMatch) -> tuple[str, str, str, str]:
    return (m.rule, m.contract, m.subject, json.dumps(m.facts, sort_keys=True, ensure_ascii=False))


def _rendered(
    c: CheckedRule, bound: tuple[tuple[str, dict[str, Any]], ...], contract_names: Mapping[str, str]
) -> RuleMatch:
    by_alias = dict(bound)
    first = bound[0][1]
    contract = str(first.get("contract") or "")
    rule = c.rule

    def value_of(ref: Ref) -> Any:
        if ref.scope == "param":
            return rule.params[ref.name]
        if ref.scope == "term":
            return by_alias[f"terms.{ref.name}"].get("value")
        if ref.scope == "context":
            if ref.name == "rule":
                return rule.id if ref.field == "id" else rule.name
            return contract if ref.field == "id" else contract_names.get(contract, contract or "项目")
        return by_alias[ref.name].get(ref.field)

    return RuleMatch(
        rule=rule.id,
        contract=contract,
        subject=str(first.get("subject") or ""),
        facts=bound,
        severity=rule.severity,
        message=render(c.templates["message"], value_of),
        measured=render(c.templates["measured"], value_of),
        required=render(c.templates["required"], value_of),
        indicators=rule.indicators,
        cause=rule.cause,
        advice=rule.advice,
        domain_ref=rule.domain_ref,
    )


__all__ = [
    "CompiledRuleSet",
    "MeasureFact",
    "RuleMatch",
    "TermFact",
    "compile_patterns",
    "compile_rules",
    "engine_facts",
    "match",
    "register",
]
