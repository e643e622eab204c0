"""Compile a project's contract profile into a ruleset, run it, and write the findings."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

from opseval_shared.base import fewer_collections
from opseval_shared.contract import Contract
from opseval_shared.duties import CONTRACT_ITEMS, cite
from opseval_shared.metrics import MetricContext
from opseval_shared.project import ProjectDefinition
from opseval_shared.results import Basis, Finding

from .compiler import RuleMatch, match, term_names
from .definitions import CheckedRule, RuleDefinition, check_rule, matches_indicator, source_at
from .definitions import render as render_template
from .engine import RulesEngine, default_engine
from .expression import Ref
from .facts import MeasureFacts, measure_facts
from .rulefiles import RuleSet
from .standard import project_rule_set

NO_CONTRACT = "-"


def finding_id(project: str, rule: str, contract: str | None, key: str) -> str:
    """The id of a finding: its rule, contract and subject (the observation key) — never event ids."""
    digest = hashlib.sha256(f"{project}|{rule}|{contract or NO_CONTRACT}|{key}".encode()).hexdigest()
    return "F-" + digest[:10]


def find(ctx: MetricContext, engine: RulesEngine | None = None) -> list[Finding]:
    """Every finding the evidence supports, in a stable order with deterministic ids: the rules of the
    standard library and the project's rules.yaml."""
    engine = engine or default_engine()
    with fewer_collections():
        found = find_by_rule_set(ctx, project_rule_set(ctx.ledger.definition), engine)
    kept = [f for f in found if due_by_as_of(ctx, f)]
    return sorted(kept, key=lambda f: (f.domain_ref or 99, f.rule, f.contract or "", f.id))


def due_by_as_of(ctx: MetricContext, finding: Finding) -> bool:
    """No duty of a contract is due before its service begins: only what its documents say (a clause)
    can be found about it then, never a shortfall of staff, reports or surveys."""
    if finding.contract is None:
        return True
    contract = ctx.ledger.definition.contracts.contract(finding.contract)
    if contract is None or ctx.service_started(contract):
        return True
    return bool(finding.basis) and all(b.kind == "clause" for b in finding.basis)


def find_by_rule_set(ctx: MetricContext, rule_set: RuleSet, engine: RulesEngine) -> list[Finding]:
    """Findings of the rules written as data: their measures and the contracts' terms as facts, matched
    by durable_rules (compiler.py)."""
    running = list(rule_set.rules)
    if not running:
        return []
    definition = ctx.ledger.definition
    several = len(definition.contracts.contracts) > 1
    bound = [(r, b.measure) for r in running for b in r.bind.values() if b.measure is not None]
    whole = [m for r, m in bound if r.scope == "project" or (r.scope == "both" and several)]
    measures = measure_facts(ctx, [m for _, m in bound], whole)
    facts = measures.facts + term_facts(definition, running, project=bool(whole))
    names = {"": "项目整体", **{c.id: c.name for c in definition.contracts.contracts}}
    vendors = {c.id: c.vendor for c in definition.contracts.contracts}
    leaves = definition.indicators.leaves()
    checked = {r.id: check_rule(r) for r in running}
    out = []
    found = match(
        running,
        facts,
        engine=engine,
        contract_names=names,
        contract_vendors=vendors,
        records=measures.records,
        several_contracts=several,
    )
    for m in found:
        out.append(_finding(definition, m, measures, checked[m.rule], leaves))
    return out


def term_facts(
    definition: ProjectDefinition, rules: list[RuleDefinition], project: bool = False
) -> list[dict[str, Any]]:
    """The contract terms the rules name (`terms.staffing.min_coverage` …), one fact per contract that has it;
    with `project`, the reporting terms (the project's own) for the project as a whole (contract "") too."""
    wanted = sorted({name for r in rules for name in term_names(check_rule(r))})
    out: list[dict[str, Any]] = []
    for name in wanted if project else ():
        value = _term(definition, None, name) if name.startswith("reporting.") else None
        if value is not None:
            out.append({"t": "term", "term": name, "contract": "", "value": value})
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
    contract = (m.contract or None) if rule.scope == "contract" else None
    keys = [
        (f["measure"], f["contract"], f["subject"])
        for alias, f in m.facts
        if f.get("t") == "measure" and alias in rule.bind and rule.bind[alias].cite
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
        evidence=measures.evidence(keys),
        basis=basis(definition, checked, m, measures.records),
        domain_ref=m.domain_ref,
        cause=m.cause,
        advice=m.advice,
    )


def basis(
    definition: ProjectDefinition,
    checked: CheckedRule,
    m: RuleMatch,
    records: Callable[[dict[str, Any]], list[dict[str, Any]]] | None = None,
) -> tuple[Basis, ...]:
    """What a match stands on, as its rule's `basis:` says (definitions.py), on the match's contract.
    `records`: the records behind a fact, for an entry that cites the items they name."""
    contract = definition.contracts.contract(m.contract or None)
    facts = dict(m.facts)
    out: list[Basis] = []
    for entry, text, document in zip(checked.rule.basis, checked.basis, checked.basis_documents, strict=True):
        if entry.term is None and entry.item is None:
            shown = [_render_basis_text(definition, contract, checked.rule, facts, parts) for parts in (document, text)]
            if shown[0] and shown[1] is not None:
                out.append(Basis(kind=entry.kind, document=shown[0], text=shown[1]))
            continue
        if contract is None:
            continue  # a contract's source or list item: a finding of no contract has none
        if entry.item is not None:
            items = CONTRACT_ITEMS[entry.item]
            fact = facts[entry.of] if entry.of is not None else None
            if fact is not None and entry.records is not None:
                named = [str(r.get(entry.records)) for r in (records(fact) if records else ())]
                for key in dict.fromkeys(named):
                    out.extend(items.cite(contract, entry.kind, key))
                continue
            subject = str(fact.get("subject") or "") if fact is not None else None
            out.extend(items.cite(contract, entry.kind, subject))
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
    contract: Contract | None,
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
            if ref.name == "rule":
                return rule.name if ref.field == "name" else rule.id
            return _contract_value(contract, ref.field)
        return facts[ref.name].get(ref.field)

    try:
        return render_template(parts, value_of)
    except _NoTerm:
        return None


def _contract_value(contract: Contract | None, field: str) -> str:
    """`{contract.X}` of a finding's contract; of the project as a whole (no contract) where it has none."""
    if contract is None:
        return {"vendor": "供应商", "key": "all", "id": ""}.get(field, "项目整体")
    return {"vendor": contract.vendor, "name": contract.name}.get(field, contract.id)
