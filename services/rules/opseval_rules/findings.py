"""Compile a project's contract profile into a ruleset, run it, and write the findings."""

from __future__ import annotations

import hashlib
import re
from typing import Any

from opseval_shared.metrics import MetricContext
from opseval_shared.project import ProjectDefinition
from opseval_shared.results import Finding

from .catalogue import RULES, RULES_BY_ID, Observation
from .engine import CompiledRule, RulesEngine, default_engine
from .narratives import NARRATIVES, render

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
    """Every finding the evidence supports, in a stable order with deterministic ids."""
    engine = engine or default_engine()
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
    return sorted(findings.values(), key=lambda f: (f.domain_ref or 99, f.rule, f.contract or "", f.id))
