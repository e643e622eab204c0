"""Compile a project's contract profile into a ruleset, run it, and write the findings."""

from __future__ import annotations

import hashlib
import re
from datetime import date
from decimal import Decimal
from typing import Any

from opseval_shared.contract import Contract
from opseval_shared.duties import CONTRACT_ITEMS, cite
from opseval_shared.metrics import MetricContext
from opseval_shared.project import ProjectDefinition
from opseval_shared.results import Basis, Finding

from .catalogue import RULES, RULES_BY_ID, Observation
from .compiler import RuleMatch, match, term_names
from .definitions import CheckedRule, RuleDefinition, check_rule, matches_indicator, source_at
from .definitions import render as render_template
from .engine import CompiledRule, RulesEngine, default_engine
from .expression import Ref
from .facts import MeasureFacts, measure_facts
from .narratives import NARRATIVES, render
from .rulefiles import RuleSet
from .standard import project_rule_set, standard_rule_set

NO_CONTRACT = "-"


def compile_ruleset(definition: ProjectDefinition) -> tuple[CompiledRule, ...]:
    """One durable_rules rule per (rule, contract), with the contract's own thresholds in it."""
    terms = definition.contracts.reporting
    compiled: list[CompiledRule] = []
    for rule in RULES:
        scopes = list(definition.contracts.contracts) if rule.per_contract else [None]
        for contract in scopes:
            condition = rule.condition(contract, terms)
            if condition is None:
                continue
            scope = contract.id if contract else NO_CONTRACT
            name = re.sub(r"[^A-Za-z0-9_]", "_", f"{rule.id}__{scope}")
            compiled.append(CompiledRule(name, {"$and": [{"t": rule.id}, {"c": scope}, condition]}))
    return tuple(compiled)


class DuplicateSubject(ValueError):
    """Two observations of one rule and contract name the same subject: one finding would hide the other."""


def observe(ctx: MetricContext) -> list[Observation]:
    definition = ctx.ledger.definition
    out: list[Observation] = []
    for rule in RULES:
        scopes = list(definition.contracts.contracts) if rule.per_contract else [None]
        for contract in scopes:
            out.extend(rule.observe(ctx, contract))
    seen: set[tuple[str, str | None, str]] = set()
    for o in out:
        subject = (o.rule, o.contract, o.key)
        if subject in seen:
            raise DuplicateSubject(f"rule {o.rule} observed {o.key!r} twice for contract {o.contract or NO_CONTRACT}")
        seen.add(subject)
    return out


def finding_id(project: str, rule: str, contract: str | None, key: str) -> str:
    """The id of a finding: its rule, contract and subject (the observation key) — never event ids."""
    digest = hashlib.sha256(f"{project}|{rule}|{contract or NO_CONTRACT}|{key}".encode()).hexdigest()
    return "F-" + digest[:10]


def find(ctx: MetricContext, engine: RulesEngine | None = None) -> list[Finding]:
    """Every finding the evidence supports, in a stable order with deterministic ids: the rules
    written as data (the standard library and the project's rules.yaml) and the rules still written
    in Python (catalogue.py), which a rule of the library with the same id will replace."""
    engine = engine or default_engine()
    rule_set = project_rule_set(ctx.ledger.definition)
    found = find_by_catalogue(ctx, engine) + find_by_rule_set(ctx, rule_set, engine)
    switched_off = catalogue_owned() - {r.id for r in rule_set.rules}
    kept = [f for f in found if f.rule not in switched_off]
    return sorted(kept, key=lambda f: (f.domain_ref or 99, f.rule, f.contract or "", f.id))


def catalogue_owned() -> set[str]:
    """Ids the standard library defines that catalogue.py still implements. The Python rule runs (its
    observations are finer than what the measures the library rule binds can say yet); switching the
    rule off in a project's rules.yaml switches the Python one off."""
    return {r.id for r in standard_rule_set().rules} & set(RULES_BY_ID)


def find_by_rule_set(ctx: MetricContext, rule_set: RuleSet, engine: RulesEngine) -> list[Finding]:
    """Findings of the rules written as data: their measures and the contracts' terms as facts, matched
    by durable_rules (compiler.py)."""
    running = [r for r in rule_set.rules if r.id not in RULES_BY_ID]
    if not running:
        return []
    definition = ctx.ledger.definition
    bound = [(r.scope, b.measure) for r in running for b in r.bind.values() if b.measure is not None]
    measures = measure_facts(
        ctx, [m for scope, m in bound if scope == "contract"], [m for scope, m in bound if scope == "project"]
    )
    facts = measures.facts + term_facts(definition, running)
    names = {c.id: c.name for c in definition.contracts.contracts}
    leaves = definition.indicators.leaves()
    checked = {r.id: check_rule(r) for r in running}
    out = []
    vendors = {c.id: c.vendor for c in definition.contracts.contracts}
    for m in match(running, facts, engine=engine, contract_names=names, contract_vendors=vendors):
        out.append(_finding(definition, m, measures, checked[m.rule], leaves))
    return out


def term_facts(definition: ProjectDefinition, rules: list[RuleDefinition]) -> list[dict[str, Any]]:
    """The contract terms the rules name (`terms.staffing.min_coverage` …), one fact per contract that has it."""
    wanted = sorted({name for r in rules for name in term_names(check_rule(r))})
    out: list[dict[str, Any]] = []
    for contract in definition.contracts.contracts:
        for name in wanted:
            value = _term(definition, contract, name)
            if value is not None:
                out.append({"t": "term", "term": name, "contract": contract.id, "value": value})
    return out


def _term(definition: ProjectDefinition, contract: Any, name: str) -> Any:
    """A dotted path on the contract; `reporting.…` on the profile's reporting terms."""
    head, _, rest = name.partition(".")
    value: Any = definition.contracts.reporting if head == "reporting" else getattr(contract, head, None)
    for part in rest.split(".") if head == "reporting" else ([] if not rest else rest.split(".")):
        value = getattr(value, part, None)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    return value if isinstance(value, bool | int | float | str) else None


def _finding(
    definition: ProjectDefinition, m: RuleMatch, measures: MeasureFacts, checked: CheckedRule, leaves: list[Any]
) -> Finding:
    rule = checked.rule
    contract = m.contract or None
    keys = [
        (f["measure"], f["contract"], f["subject"])
        for alias, f in m.facts
        if f.get("t") == "measure" and rule.bind[alias].cite
    ]
    leaf = next((n for n in leaves if matches_indicator(rule, n.id, n.name)), None)
    return Finding(
        id=finding_id(definition.project.id, m.rule, contract, m.subject or NO_CONTRACT),
        rule=m.rule,
        indicator=leaf.id if leaf else None,
        contract=contract,
        severity=m.severity,
        message=m.message,
        measured=m.measured,
        required=m.required,
        evidence=tuple(measures.evidence(keys)),
        basis=basis(definition, checked, m),
        domain_ref=m.domain_ref,
        cause=m.cause,
        advice=m.advice,
    )


def basis(definition: ProjectDefinition, checked: CheckedRule, m: RuleMatch) -> tuple[Basis, ...]:
    """What a match stands on, as its rule's `basis:` says (definitions.py), on the match's contract."""
    contract = definition.contracts.contract(m.contract or None)
    if contract is None:
        return ()
    facts = dict(m.facts)
    out: list[Basis] = []
    for entry, text in zip(checked.rule.basis, checked.basis, strict=True):
        if entry.item is not None:
            fact = facts[entry.of] if entry.of is not None else None
            if fact is not None and entry.named_by == "items":
                named = fact.get("item_list") or ()
                out.extend(CONTRACT_ITEMS[entry.item].cite(contract, entry.kind, named=list(named)))
                continue
            subject = str(fact.get("subject") or "") if fact is not None else None
            out.extend(CONTRACT_ITEMS[entry.item].cite(contract, entry.kind, subject))
            continue
        assert entry.term is not None and entry.document is not None
        rendered = _render_basis_text(definition, contract, checked.rule, facts, text)
        if rendered is not None:
            out.append(cite(entry.kind, source_at(contract, entry.term), entry.document, rendered))
    return tuple(out)


class _NoTerm(LookupError):
    """A basis text names a term the contract does not have."""


def _render_basis_text(
    definition: ProjectDefinition,
    contract: Contract,
    rule: RuleDefinition,
    facts: dict[str, dict[str, Any]],
    parts: tuple[Any, ...],
) -> str | None:
    """A basis entry's text for this match; None where it names a term the contract does not have."""

    def value_of(ref: Ref) -> Any:
        if ref.scope == "param":
            return rule.params[ref.name]
        if ref.scope == "term":
            value = _term(definition, contract, ref.name)
            if value is None or value == "":
                raise _NoTerm(ref.name)
            return value
        if ref.scope == "context":
            if ref.field == "vendor":
                return contract.vendor
            named = rule if ref.name == "rule" else contract
            return named.name if ref.field == "name" else named.id
        return facts[ref.name].get(ref.field)

    try:
        return render_template(parts, value_of)
    except _NoTerm:
        return None


def find_by_catalogue(ctx: MetricContext, engine: RulesEngine) -> list[Finding]:
    """Findings of the rules still written in Python (catalogue.py)."""
    definition = ctx.ledger.definition
    ruleset = engine.register(compile_ruleset(definition))
    observations = observe(ctx)
    facts: list[dict[str, Any]] = [
        {"t": o.rule, "c": o.contract or NO_CONTRACT, "k": index, **o.fields} for index, o in enumerate(observations)
    ]
    findings: dict[str, Finding] = {}
    for firing in engine.run(ruleset, facts):
        o = observations[int(firing.fact["k"])]
        rule = RULES_BY_ID[o.rule]
        contract = definition.contracts.contract(o.contract)
        message, measured, required = rule.describe(o, contract)
        fid = finding_id(definition.project.id, o.rule, o.contract, o.key)
        narrative = NARRATIVES[o.rule]
        values = {
            "vendor": contract.vendor if contract else "供应商",
            "contract": contract.name if contract else "项目",
            "required": required,
        }
        findings[fid] = Finding(
            id=fid,
            rule=o.rule,
            contract=o.contract,
            severity=rule.severity,
            message=message,
            measured=measured,
            required=required,
            evidence=tuple(o.evidence),
            basis=rule.basis(o, contract),
            domain_ref=rule.domain_ref,
            cause=render(narrative.cause, **values),
            advice=render(narrative.advice, **values),
        )
    return list(findings.values())
