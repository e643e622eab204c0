"""The evaluation itself: ledger in, findings and scored tree out. Pure; the embedded CLI and
the fleet's services call this same code."""

from __future__ import annotations

from decimal import Decimal

from opseval_rules.engine import RulesEngine
from opseval_rules.findings import find
from opseval_scoring.scoring import score_tree
from opseval_shared.ledger import Ledger
from opseval_shared.metrics import MetricContext
from opseval_shared.results import BudgetLine, EvaluationResult, EvidenceStats, attach_findings


def evaluate_ledger(ledger: Ledger, engine: RulesEngine | None = None) -> EvaluationResult:
    definition = ledger.definition
    ctx = MetricContext(ledger)
    findings = attach_findings(definition.indicators, find(ctx, engine))
    indicators, total, grade = score_tree(definition.indicators, ctx, findings)
    return EvaluationResult(
        project=definition.project.id,
        name=definition.project.name,
        form=definition.indicators.form,
        as_of=ledger.as_of,
        total=total,
        grade=grade,
        indicators=indicators,
        findings=tuple(findings),
        warnings=tuple(ctx.work.warnings),
        evidence_stats=EvidenceStats(
            events=ledger.events,
            duplicates=ledger.duplicates,
            after_as_of=ledger.after_as_of,
            by_kind=dict(sorted(ledger.by_kind.items())),
        ),
        budget=budget_lines(ledger),
    )


def budget_lines(ledger: Ledger) -> tuple[BudgetLine, ...]:
    contracts = ledger.definition.contracts.contracts
    scopes: list[tuple[str | None, str]] = [(c.id, c.name) for c in contracts]
    if len(contracts) > 1:
        scopes.append((None, "合计"))
    lines = []
    for cid, label in scopes:
        figures: dict[str, Decimal | None] = {}
        for item in ("approved", "adjustment", "arrived", "spent"):
            amount, ids = ledger.budget_sum(item, cid)
            figures[item] = amount if ids else None  # unreported, not zero
        if any(v is not None for v in figures.values()):
            lines.append(BudgetLine(contract=cid, label=label, **figures))
    return tuple(lines)
