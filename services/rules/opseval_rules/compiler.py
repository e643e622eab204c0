"""Rules as data compiled to durable_rules, so that the engine does the matching, joins included.

Each rule becomes one durable_rules rule (`JoinRule`) whose patterns are its bound measures in order:

    b0: t == "measure" and measure == "assessment.full_attendance_marks" and value > 0
    b1: t == "measure" and measure == "staff.late_arrivals" and contract == b0.contract and value > 0

What is compiled how, and why (each durable_rules behaviour named here is proven by a test in
test_rule_language.py or test_rules_engine_guards.py):

* **Parameters** are compiled in as constants: they are the same for every contract of an effective
  rule set, and an override changes the ruleset's hash, hence a new registration.
* **Contract terms** are compiled in as constants too, per contract: a rule naming
  `terms.staffing.min_coverage` becomes one engine rule per contract that has the term (its first
  measure filtered on `contract == id`), and none for a contract without it — the rule does not
  apply there. Binding terms as facts would make `coverage.value < term.value` a comparison with
  another fact's value, which durable_rules 2.0.28 evaluates reading uninitialised memory (valgrind)
  and which crashes the process once enough rulesets exist (see engine.py). The price: a ruleset
  per distinct set of term values; identical contract profiles share one (content hash).
* **Joins** are equality of contract and/or subject (`same:`), which durable_rules does safely.
* **A comparison with constants** is placed on its fact's pattern, the field alone on the left
  (`late.value * 2 > 5` becomes `late.value > 2.5`): the engine tests it.
* **A comparison between two values** (of two facts, or two fields of one fact) is not given to the
  engine: durable_rules mis-reads a fact's reference to itself, cannot bind a fact twice, and reads
  uninitialised memory for a comparison with an earlier fact. It is checked in Python on each match
  the engine made (`residual`, `evaluate`), with double arithmetic (x/0 is ±inf): explicit, minimal,
  and the only matching done outside the engine.
* **not** is pushed down to the comparisons (`not a > b` is `a <= b`). An `or` over one fact's
  comparisons with constants is a durable_rules `$or`; any other `or` makes the rule one engine rule
  per alternative (at most 32), and a match several alternatives find is reported once.
* **Arithmetic without a fact** (parameters, literals, terms) is computed here: durable_rules never
  matches `x > 2 + 3`.
* **Numbers** must be readable by durable_rules (no exponent notation, below 2**53): a threshold such
  as 0.00001 is refused at load with the reason; facts are written by the engine wrapper.

What durable_rules cannot do at all, so the language does not offer it:

* Absence ("no fact matches", `m$not`): the verdict depends on the order facts are asserted (an action
  already run is not taken back when the blocking fact arrives). A measure that counts nothing is a fact
  with value 0, and a rule tests `value == 0`.
* Aggregates over facts (count, sum …): its `count` is a window of events, not a fold; the measure
  language computes them and the rules compare their values.
* Optional fields (numerator, denominator): null or absent is read inconsistently, arithmetic on it
  fails; a rule naming one applies only to facts that have it (`$ex` on that fact).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import product
from typing import Annotated, Any, Literal

from opseval_shared.base import Frozen
from opseval_shared.results import Severity
from pydantic import Field, StrictBool, StrictFloat, StrictInt, StrictStr, TypeAdapter, ValidationError

from .definitions import (
    MESSAGE_FIELDS,
    OPTIONAL_FIELDS,
    TEMPLATE_FIELDS,
    CheckedList,
    CheckedRule,
    RuleDefinition,
    RuleProblem,
    check_rule,
    render,
)
from .engine import JoinRule, RulesEngine, default_engine, engine_readable
from .expression import (
    Arith,
    Compare,
    Literal_,
    Logic,
    Negate,
    Node,
    Not,
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
    label: str = ""
    value: Finite
    numerator: Finite | None = None
    denominator: Finite | None = None
    evidence: int = Field(default=0, ge=0)
    # for messages only (definitions.MESSAGE_FIELDS): never given to the engine
    actual: str = ""
    items: str = ""


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
    """The measure facts as the compiled rules match them: shape checked, with `k`, the position of
    each, to find it again."""
    out = []
    for index, raw in enumerate(facts):
        try:
            fact = _FACT.validate_python(dict(raw))
        except ValidationError as exc:
            err = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in err["loc"][1:]) or "t"
            raise ValueError(f"fact {index}: {where}: {err['msg']}") from exc
        if isinstance(fact, TermFact):
            raise ValueError(f"fact {index}: a contract term is compiled into the rules, not matched as a fact")
        body = fact.model_dump(exclude=set(MESSAGE_FIELDS))
        body["k"] = index
        out.append(body)
    return out


# ---------------------------------------------------------------- compiling


@dataclass(frozen=True)
class CompiledRuleSet:
    rules: tuple[JoinRule, ...]
    origin: Mapping[str, tuple[str, tuple[str, ...], str | None]]  # engine rule → (rule id, aliases, contract)
    residual: Mapping[str, tuple[Node, ...]]  # engine rule name → comparisons between values, checked in Python
    checked: Mapping[str, CheckedRule]
    terms: Mapping[str, Mapping[str, Any]]  # contract → term → value, as compiled in


def _engine_alias(index: int) -> str:
    return f"b{index}"


TermValues = Mapping[str, Mapping[str, Any]]


def compile_rules(
    rules: Sequence[RuleDefinition],
    terms: TermValues | None = None,
    *,
    project_facts: bool = False,
    several_contracts: bool = True,
) -> CompiledRuleSet:
    """One engine rule per rule (per contract, for a rule naming contract terms; per alternative of an
    `or` the engine cannot hold in one pattern). `terms` are the contract terms by contract id.
    `project_facts`: some facts are the project's as a whole (contract ""), which only rules of scope
    project (and both, where the project has several contracts) match."""
    terms = terms or {}
    compiled: list[JoinRule] = []
    origin: dict[str, tuple[str, tuple[str, ...], str | None]] = {}
    residual: dict[str, tuple[Node, ...]] = {}
    checked: dict[str, CheckedRule] = {}
    contracts = sorted(terms)
    for index, rule in enumerate(sorted(rules, key=lambda r: r.id)):
        if rule.id in checked:
            raise ValueError(f"rule {rule.id} appears twice")
        c = check_rule(rule)
        checked[rule.id] = c
        stem = f"r{index:03d}_" + re.sub(r"[^A-Za-z0-9_]", "_", rule.id)
        named = term_names(c)
        scopes: list[tuple[str, str | None]] = (
            [(f"{stem}_k{n}", cid) for n, cid in enumerate(contracts) if all(t in terms[cid] for t in named)]
            if named
            else [(stem, None)]
        )
        for scope_name, contract in scopes:
            values = _term_values(c, terms.get(contract, {}) if contract is not None else {}, contract)
            whole = _scope_filter(rule.scope, several_contracts) if project_facts else None
            for alt, (patterns, checks) in enumerate(compile_patterns(c, values, contract, whole)):
                name = f"{scope_name}_{alt}"
                compiled.append(JoinRule(name, patterns))
                origin[name] = (rule.id, tuple(f.alias for f in c.facts if f.kind == "measure"), contract)
                residual[name] = checks
    used = {cid: dict(terms[cid]) for cid in contracts}
    return CompiledRuleSet(tuple(compiled), origin, residual, checked, used)


def _scope_filter(scope: str, several_contracts: bool) -> dict[str, Any] | None:
    """Whether a rule's facts are the project's as a whole (contract "") or a contract's."""
    if scope == "project":
        return {"contract": ""}
    if scope == "both" and several_contracts:
        return None
    return {"$neq": {"contract": ""}}


def term_names(c: CheckedRule) -> list[str]:
    return [f.key for f in c.facts if f.kind == "term"]


def _term_values(c: CheckedRule, values: Mapping[str, Any], contract: str | None) -> dict[str, Any]:
    out = {}
    for f in c.facts:
        if f.kind != "term":
            continue
        value = values[f.key]
        if _value_type(value) != f.value_type:
            raise ValueError(
                f"rule {c.rule.id}: term {f.key} of contract {contract!r} is {_value_type(value)}, "
                f"the rule compares it as {f.value_type}"
            )
        out[f.key] = value
    return out


def _placeholder_terms(c: CheckedRule) -> dict[str, Any]:
    """Term values of the right type, to check a rule at load, before any contract is known."""
    sample = {"number": 1.0, "text": "x", "flag": True}
    return {f.key: sample[f.value_type] for f in c.facts if f.kind == "term"}


Alternative = tuple[tuple[tuple[str, dict[str, Any]], ...], tuple[Node, ...]]


def compile_patterns(
    c: CheckedRule,
    term_values: Mapping[str, Any] | None = None,
    contract: str | None = None,
    whole: dict[str, Any] | None = None,
) -> list[Alternative]:
    """The durable_rules patterns of a checked rule, one per alternative (none when the condition is
    false whatever the facts), each with the comparisons between values left for Python. Without
    term values (at load) placeholders of the right types stand in. Raises RuleProblem at ("when",)."""
    if term_values is None:
        term_values = _placeholder_terms(c)
    measures = [f for f in c.facts if f.kind == "measure"]
    order = {f.alias: i for i, f in enumerate(measures)}
    term_alias = {f.alias: f.key for f in c.facts if f.kind == "term"}
    source = c.rule.when

    def value_of(ref: Ref) -> Node:
        if ref.scope == "param":
            value = c.rule.params[ref.name]
            return Literal_(float(value) if not isinstance(value, bool | str) else value, ref.type, ref.pos)
        key = ref.name if ref.scope == "term" else term_alias.get(ref.name)
        if key is not None:  # a contract term: a constant of this contract
            if ref.field == "contract":
                return Literal_(contract or "", "text", ref.pos)
            if ref.field == "term":
                return Literal_(key, "text", ref.pos)
            value = term_values[key]
            return Literal_(float(value) if not isinstance(value, bool | str) else value, ref.type, ref.pos)
        return ref

    try:
        condition = negation_normal_form(fold(substitute(c.condition, value_of), source))
    except ValueError as exc:
        raise RuleProblem(("when",), str(exc)) from exc
    base: list[list[dict[str, Any]]] = []
    for index, f in enumerate(measures):
        parts: list[dict[str, Any]] = [{"t": "measure"}, {"measure": f.key}]
        if index == 0 and contract is not None:
            parts.append({"contract": contract})
        if whole is not None:
            parts.append(whole)
        if f.subject is not None:
            parts.append({"subject": f.subject})
        parts += [{field: {_engine_alias(order[earlier]): field}} for field, earlier in f.same if earlier in order]
        base.append(parts)
    for ref in refs(condition):
        if ref.scope == "fact" and ref.field in OPTIONAL_FIELDS:
            guard = {"$ex": {ref.field: 1}}
            if guard not in base[order[ref.name]]:
                base[order[ref.name]].append(guard)
    if isinstance(condition, Literal_):
        alternatives: list[tuple[list[tuple[int, dict[str, Any]]], list[Node]]] = [([], [])] if condition.value else []
    else:
        alternatives = _alternatives(condition, order, source)
    out: list[Alternative] = []
    for placed, checks in alternatives:
        per_fact = [list(parts) for parts in base]
        for target, cond in placed:
            per_fact[target].append(cond)
        patterns = tuple(
            (_engine_alias(i), parts[0] if len(parts) == 1 else {"$and": parts}) for i, parts in enumerate(per_fact)
        )
        out.append((patterns, tuple(checks)))
    return out


def _conjuncts(node: Node) -> list[Node]:
    if isinstance(node, Logic) and node.op == "and":
        return [x for item in node.items for x in _conjuncts(item)]
    return [node]


def _engine_side(node: Node, order: Mapping[str, int], source: str) -> bool:
    """Whether durable_rules can test it: every comparison names one value of one fact, which can be
    brought alone to the left (`late.value * 2 > 5` is `late.value > 2.5`)."""
    if isinstance(node, Logic):
        return all(_engine_side(item, order, source) for item in node.items)
    assert isinstance(node, Compare), node
    named = refs(node)
    if len(named) != 1:
        return False
    try:
        _isolate(node, order[named[0].name], order, source)
    except RuleProblem:
        return False
    return True


def _target(node: Node, order: Mapping[str, int]) -> int:
    return next(order[r.name] for r in refs(node))


def _alternatives(
    node: Node, order: Mapping[str, int], source: str
) -> list[tuple[list[tuple[int, dict[str, Any]]], list[Node]]]:
    """Each alternative: the (fact index, durable condition) pairs the engine tests, and the comparisons
    between values left for Python."""
    placed: list[tuple[int, dict[str, Any]]] = []
    checks: list[Node] = []
    spread: list[list[list[Node]]] = []  # per conjunct that is not one fact's: its DNF (lists of comparisons)
    for conjunct in _conjuncts(node):
        if _engine_side(conjunct, order, source) and len({_target(a, order) for a in _atoms(conjunct)}) == 1:
            placed.append((_target(conjunct, order), _durable(conjunct, order, source)))
        elif isinstance(conjunct, Compare):
            checks.append(conjunct)
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
        engine = [a for a in atoms if _engine_side(a, order, source)]
        out.append(
            (
                placed + [(_target(a, order), _durable(a, order, source)) for a in engine],
                checks + [a for a in atoms if not _engine_side(a, order, source)],
            )
        )
    return out


def _atoms(node: Node) -> list[Node]:
    if isinstance(node, Logic):
        return [a for item in node.items for a in _atoms(item)]
    return [node]


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
    field, op, right = _isolate(node, _target(node, order), order, source)
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
    subject: str  # the rule's `subject` rendered, else the first bound fact's subject ("" for a term)
    facts: tuple[tuple[str, dict[str, Any]], ...]  # by the rule's names, `terms.X` for a term it named
    severity: Severity
    message: str
    measured: str
    required: str
    indicators: tuple[str, ...]
    cause: str
    advice: str
    domain_ref: int | None


def split_facts(facts: Iterable[Mapping[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """Measure facts (checked, as the engine takes them) and contract terms by contract id."""
    measures: list[dict[str, Any]] = []
    terms: dict[str, dict[str, Any]] = {}
    for index, raw in enumerate(facts):
        try:
            fact = _FACT.validate_python(dict(raw))
        except ValidationError as exc:
            err = exc.errors(include_url=False)[0]
            where = ".".join(str(p) for p in err["loc"][1:]) or "t"
            raise ValueError(f"fact {index}: {where}: {err['msg']}") from exc
        if isinstance(fact, TermFact):
            known = terms.setdefault(fact.contract, {})
            if fact.term in known and known[fact.term] != fact.value:
                raise ValueError(f"fact {index}: term {fact.term} of contract {fact.contract!r} given twice")
            known[fact.term] = fact.value
        else:
            measures.append(dict(raw))
    return measures, terms


Records = Callable[[Mapping[str, Any]], Sequence[Mapping[str, Any]]]


def match(
    rules: Sequence[RuleDefinition],
    facts: Iterable[Mapping[str, Any]],
    *,
    engine: RulesEngine | None = None,
    contract_names: Mapping[str, str] | None = None,
    contract_vendors: Mapping[str, str] | None = None,
    records: Records | None = None,
    several_contracts: bool = True,
) -> list[RuleMatch]:
    """Compile the rules with the contract terms among the facts, assert the measure facts in a fresh
    session, check each match's comparisons between values, and render it. Sorted, and the same
    whatever the order of the facts. `records`: the fields of the records behind a measure fact, for
    the rules' lists (none without it)."""
    engine = engine or default_engine()
    measures, terms = split_facts(facts)
    project = any(m.get("contract") == "" for m in measures)
    compiled = compile_rules(rules, terms, project_facts=project, several_contracts=several_contracts)
    ruleset = engine.register(compiled.rules)
    seen: set[tuple[str, tuple[int, ...]]] = set()
    out: list[RuleMatch] = []
    for firing in engine.run(ruleset, engine_facts(measures)):
        rule_id, aliases, contract = compiled.origin[firing.rule]
        positions = tuple(int(fact["k"]) for _, fact in firing.bound)
        if (rule_id, positions) in seen:
            continue  # found again by another alternative of the same rule
        bound = tuple((alias, measures[k]) for alias, k in zip(aliases, positions, strict=True))
        env = dict(bound)
        # Comparisons between two values: durable_rules 2.0.28 reads uninitialised memory when it
        # evaluates them (see the module docstring), so they are checked here, on the engine's match.
        if not all(evaluate(check, env) for check in compiled.residual[firing.rule]):
            continue
        seen.add((rule_id, positions))
        values = compiled.terms.get(contract, {}) if contract is not None else {}
        context = _Context(contract_names or {}, contract_vendors or {}, records or (lambda fact: ()))
        out.append(_rendered(compiled.checked[rule_id], bound, values, context))
    return sorted(out, key=_match_order)


def evaluate(node: Node, facts: Mapping[str, Mapping[str, Any]]) -> Any:
    """A condition's value over bound facts (parameters and terms already constants), with the
    doubles' arithmetic durable_rules would use: x/0 is ±inf, 0/0 is nan (every comparison false)."""
    if isinstance(node, Literal_):
        return node.value
    if isinstance(node, Ref):
        return facts[node.name][node.field]
    if isinstance(node, Negate):
        return -evaluate(node.operand, facts)
    if isinstance(node, Not):
        return not evaluate(node.operand, facts)
    if isinstance(node, Arith):
        left, right = evaluate(node.left, facts), evaluate(node.right, facts)
        if node.op == "/" and right == 0:
            return (
                math.nan if left == 0 or math.isnan(left) else math.copysign(math.inf, left) * math.copysign(1, right)
            )
        return {"+": left + right, "-": left - right, "*": left * right}[node.op] if node.op != "/" else left / right
    if isinstance(node, Compare):
        left, right = evaluate(node.left, facts), evaluate(node.right, facts)
        return bool(_COMPARE[node.op](left, right))
    assert isinstance(node, Logic)
    if node.op == "and":
        return all(evaluate(i, facts) for i in node.items)
    return any(evaluate(i, facts) for i in node.items)


_COMPARE = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}


def _match_order(m: RuleMatch) -> tuple[str, str, str, str]:
    return (m.rule, m.contract, m.subject, json.dumps(m.facts, sort_keys=True, ensure_ascii=False))


@dataclass(frozen=True)
class _Context:
    names: Mapping[str, str]
    vendors: Mapping[str, str]
    records: Records


def _listed(checked: CheckedList, records: Sequence[Mapping[str, Any]]) -> str:
    spec = checked.spec
    rows = [r for r in records if checked.keep(r)] if spec.where else list(records)
    if not rows:
        return spec.empty
    shown = rows[: spec.first] if spec.first is not None else rows

    def field_of(row: Mapping[str, Any]) -> Callable[[Ref], Any]:
        return lambda ref: row.get(ref.name)

    text = spec.join.join(render(checked.each, field_of(row)) for row in shown)
    if len(shown) < len(rows):
        text += render(checked.more, lambda ref: len(rows))
    return text


def _rendered(
    c: CheckedRule,
    bound: tuple[tuple[str, dict[str, Any]], ...],
    terms: Mapping[str, Any],
    context: _Context,
) -> RuleMatch:
    by_alias = dict(bound)
    first = bound[0][1]
    contract = str(first.get("contract") or "")
    rule = c.rule
    term_alias = {f.alias: f.key for f in c.facts if f.kind == "term"}

    def value_of(ref: Ref) -> Any:
        if ref.scope == "param":
            return rule.params[ref.name]
        if ref.scope == "term":
            return terms.get(ref.name)
        if ref.scope == "list":
            checked = c.lists[ref.name]
            return _listed(checked, context.records(by_alias[checked.spec.of]))
        if ref.scope == "context":
            if ref.name == "rule":
                return rule.id if ref.field == "id" else rule.name
            if ref.field == "vendor":
                return context.vendors.get(contract, "供应商")
            if ref.field == "key":
                return contract or "all"
            return contract if ref.field == "id" else context.names.get(contract, contract or "项目")
        if ref.name in term_alias:
            key = term_alias[ref.name]
            return {"value": terms.get(key), "contract": contract, "term": key}[ref.field]
        return by_alias[ref.name].get(ref.field)

    def holds(condition: Node) -> bool:
        constant = substitute(condition, lambda ref: Literal_(value_of(ref), ref.type, ref.pos))
        return bool(evaluate(constant, {}))

    text = {field: render(c.templates[field], value_of) for field in TEMPLATE_FIELDS}
    message = next(parts for condition, parts in c.messages if condition is None or holds(condition))
    return RuleMatch(
        rule=rule.id,
        contract=contract,
        subject=text["subject"] if rule.subject else str(first.get("subject") or ""),
        facts=bound,
        severity=rule.severity,
        message=render(message, value_of),
        measured=text["measured"],
        required=text["required"],
        indicators=rule.indicators,
        cause=text["cause"],
        advice=text["advice"],
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
    "evaluate",
    "match",
    "split_facts",
]
