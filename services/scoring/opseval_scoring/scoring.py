"""Score the indicator tree from measurements, judgments and findings.

Each leaf explains itself: its method, target, actual value, the arithmetic, and the evidence and
findings behind the score. Parents are the exact sum of their children; rounding happens only
where a leaf's own precision asks for it (the field rounds ratio scores to 2 decimals per leaf,
and keeps every digit of exact deductions such as 6 − 3 × 2.5% = 5.925).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from fnmatch import fnmatchcase
from typing import Any, cast

from opseval_shared.base import unique_sorted
from opseval_shared.indicators import (
    Band,
    ChecklistMethod,
    ChecklistPoint,
    DeductionMethod,
    Indicator,
    IndicatorSystem,
    JudgmentMethod,
    MetricRef,
    RateMethod,
    RatioMethod,
    SlaMethod,
    ThresholdMethod,
    TieredMethod,
)
from opseval_shared.metrics import Measurement, MetricContext, fmt, pct
from opseval_shared.results import Finding, ScoredIndicator, Status, bears_on

ZERO = Decimal(0)
ONE = Decimal(1)
RATE_PLACES = Decimal("0.0001")

METHOD_LABEL = {
    "ratio": "比率法",
    "checklist": "要点评分法",
    "deduction": "扣分法",
    "tiered": "分档计分法",
    "threshold": "达标法",
    "rate": "满意率分档法",
    "sla": "分级时限扣分法",
    "judgment": "评价组判定",
}


@dataclass
class LeafScore:
    score: Decimal
    actual: str
    explanation: str
    evidence: Sequence[str] = ()
    status: Status = "scored"
    assessable: Decimal | None = None  # the part of the weight assessed; None: all of it, or none if pending


NO_EVIDENCE_TEXT = "应有佐证而未见，不得分"
PENDING_TEXT = "截至评价基准日尚无应评内容，暂不计分"


def combine(parts: Sequence[tuple[Decimal, Status]]) -> tuple[Status, Decimal]:
    """A leaf's status and assessed weight from its parts' (weight, status)."""
    statuses = {s for _, s in parts}
    assessed = sum((w for w, s in parts if s != "pending"), ZERO)
    if not parts or statuses == {"pending"}:
        return "pending", ZERO
    if "pending" in statuses or "partial" in statuses:
        return "partial", assessed
    if "no_evidence" in statuses:
        return "no_evidence", assessed
    return "scored", assessed


_OP_TEXT = {">=": "≥", "<=": "≤", "==": "="}


def band_fraction(bands: tuple[Band, ...], value: Decimal) -> tuple[Decimal, Band | None]:
    for band in sorted(bands, key=lambda b: b.min, reverse=True):
        if value >= band.min:
            return band.fraction, band
    return ZERO, None


def _bands_text(bands: tuple[Band, ...]) -> str:
    ordered = sorted(bands, key=lambda b: b.min, reverse=True)
    return "；".join(f"≥{_pct_short(b.min)} 得 {_pct_short(b.fraction)}" for b in ordered) + "；其余不得分"


def _pct_short(value: Decimal) -> str:
    """A percentage with only the digits it has: 0.975 → 97.5%, 0.9 → 90%."""
    return f"{fmt(value * 100, 4)}%"


def _compare(op: str, value: Decimal, target: Decimal) -> bool:
    return {
        ">=": value >= target,
        "<=": value <= target,
        ">": value > target,
        "<": value < target,
        "==": value == target,
    }[op]


def _is_rate(m: Measurement) -> bool:
    return m.is_rate or m.unit == "%"


def _show(m: Measurement, value: Decimal) -> str:
    """A value on the measurement's own scale: a percentage for rates, a count with its unit else."""
    return pct(value) if _is_rate(m) else f"{fmt(value)}{m.unit}"


class Scorer:
    def __init__(self, ctx: MetricContext, findings: list[Finding]) -> None:
        self.ctx = ctx
        self.findings = findings

    def data_status(self, m: Measurement) -> Status:
        """Whether a measurement stands on evidence: `pending` when nothing is due or recorded yet
        (inside the period), `no_evidence` when something was due and nothing arrived, or when the
        period is over with nothing at all; else `scored` (`partial` while the period runs). A count
        of 0 over records examined is evidence; over no record at all it is not (has_data)."""
        counted = m.is_rate or m.denominator is not None
        if not m.has_data or (counted and not m.denominator):
            return "pending" if self.ctx.running else "no_evidence"
        if counted and not m.evidence:
            return "no_evidence"
        return "partial" if self.ctx.running else "scored"

    def measured(self, w: Decimal, m: Measurement, scored: LeafScore) -> LeafScore:
        """A leaf scored from one measurement, with that measurement's status: nothing from no evidence."""
        status = self.data_status(m)
        if status == "pending":
            return LeafScore(ZERO, m.actual, f"{PENDING_TEXT}。{m.detail}", m.evidence, "pending", ZERO)
        if status == "no_evidence" and scored.score > 0:
            text = f"{NO_EVIDENCE_TEXT}（按规则计为 {scored.explanation}）"
            return LeafScore(ZERO, m.actual, text, m.evidence, status)
        scored.status = status
        return scored

    # ------------------------------------------------------------ leaves

    def leaf(self, node: Indicator) -> LeafScore:
        method = node.method
        w = node.weight
        if isinstance(method, RatioMethod):
            m = self.ctx.measure(method.metric)
            if method.target is not None:
                target = method.target
                note = ""
                if node.prorate:
                    # by the part of the period under service up to the as-of date (all of it at the end)
                    fraction = self.ctx.due_fraction(method.metric.contract)
                    step = Decimal(1).scaleb(min(0, int(target.as_tuple().exponent)))
                    scaled = max(step, (target * fraction).quantize(step, ROUND_HALF_UP))
                    so_far = "截至评价基准日的" if self.ctx.running else ""
                    note = f"（目标 {fmt(target)} 按{so_far}服务期占比 {pct(fraction, 1)} 折算为 {fmt(scaled)}）"
                    target = scaled
                ratio = m.value / target
                expl = f"{fmt(w)} × min({_show(m, m.value)} ÷ {_show(m, target)}, 1){note}"
            else:
                ratio = m.rate if m.rate is not None else m.value
                expl = f"{fmt(w)} × min({m.actual}, 1)"
            ratio = max(ZERO, min(ratio, ONE))
            score = w * ratio
            return self.measured(w, m, LeafScore(score, m.actual, f"{expl} = {fmt(score, 4)}。{m.detail}", m.evidence))
        if isinstance(method, ChecklistMethod):
            parts = []
            total = ZERO
            ids: list[str] = []
            assessed: list[tuple[Decimal, Status]] = []
            for point in method.points:
                computed = self.point(node, point) if point.when is not None else None
                rec = self.ctx.ledger.judgments.get((node.id, point.id))
                if computed is not None:
                    ids.extend(computed.evidence)
                if rec is not None:
                    awarded = min(rec.payload.awarded, point.max)
                    ids.append(rec.event_id)
                    if computed is None:
                        parts.append(f"{point.text}：得 {fmt(awarded)}/{fmt(point.max)} 分，{rec.payload.reason}")
                    else:
                        parts.append(
                            f"{point.text}：按事实计算得 {fmt(computed.score, 4)} 分（{computed.explanation}），"
                            f"评价组改判为 {fmt(awarded)}/{fmt(point.max)} 分，理由：{rec.payload.reason}"
                        )
                    total += awarded
                    assessed.append((point.max, "scored"))
                elif computed is not None and computed.status == "pending":
                    parts.append(f"{point.text}：{computed.explanation}（满分 {fmt(point.max)}）")
                    assessed.append((point.max, "pending"))
                elif computed is not None:
                    shown = f"{fmt(computed.score, 4)}/{fmt(point.max)}"
                    parts.append(f"{point.text}：按事实计算得 {shown} 分（{computed.explanation}）")
                    total += computed.score
                    assessed.append((point.max, computed.status))
                else:
                    parts.append(f"{point.text}：尚无评价记录，待评（满分 {fmt(point.max)}）")
                    assessed.append((point.max, "pending"))
            status, weight = combine(assessed)
            actual = f"{fmt(total, 4)} 分" if status != "pending" else "待评"
            return LeafScore(total, actual, "；".join(parts), ids, status, weight)
        if isinstance(method, JudgmentMethod):
            rec = self.ctx.ledger.judgments.get((node.id, None))
            if rec is None:
                text = "本项由评价组判定，尚无判定记录，待评（不计入已评分值）"
                return LeafScore(ZERO, "待评", text, (), "pending", ZERO)
            awarded = min(rec.payload.awarded, w)
            return LeafScore(awarded, f"{fmt(awarded)} 分", rec.payload.reason, [rec.event_id])
        if isinstance(method, DeductionMethod):
            m = self.ctx.measure(method.metric)
            deduct = m.value * method.per_occurrence
            arithmetic = f"{fmt(m.value)} × {fmt(method.per_occurrence, 6)}"
            if method.cap is not None and deduct > method.cap:
                deduct = method.cap
                arithmetic += f"，封顶扣 {fmt(method.cap, 6)}"
            score = max(ZERO, w - deduct)
            floor = "（扣完为止）" if w - deduct < 0 else ""
            return self.measured(
                w,
                m,
                LeafScore(score, m.actual, f"{fmt(w)} − {arithmetic} = {fmt(score, 6)}{floor}。{m.detail}", m.evidence),
            )
        if isinstance(method, SlaMethod):
            m = self.ctx.measure(method.metric)
            score = max(ZERO, w - m.value * method.per_breach)
            return self.measured(
                w,
                m,
                LeafScore(
                    score,
                    m.actual,
                    f"{fmt(w)} − 超时 {fmt(m.value)} 次 × {fmt(method.per_breach)} = {fmt(score, 4)}。{m.detail}",
                    m.evidence,
                ),
            )
        if isinstance(method, TieredMethod | RateMethod):
            shares = getattr(method, "per_contract", ())
            if shares:
                total = ZERO
                parts = []
                ids = []
                shared: list[tuple[Decimal, Status]] = []
                for share in shares:
                    m = self.ctx.measure(method.metric.model_copy(update={"contract": share.contract}))
                    fraction, _ = band_fraction(method.bands, m.value)
                    status = self.data_status(m)
                    shared.append((share.share, status))
                    ids.extend(m.evidence)
                    if status == "pending":
                        parts.append(f"{share.contract}：{m.actual}，待评（{PENDING_TEXT}）")
                        continue
                    if status == "no_evidence":
                        fraction = ZERO
                    total += share.share * fraction
                    parts.append(
                        f"{share.contract}：{m.actual}，得 {fmt(share.share)} × {pct(fraction, 2)} = "
                        f"{fmt(share.share * fraction, 4)}（{m.detail}）"
                    )
                status, weight = combine(shared)
                return LeafScore(
                    total,
                    "；".join(p.split("，得")[0].split("，待评")[0] for p in parts),
                    "；".join(parts) + f"。分档：{_bands_text(method.bands)}",
                    ids,
                    status,
                    weight,
                )
            m = self.ctx.measure(method.metric)
            fraction, _ = band_fraction(method.bands, m.value)
            score = w * fraction
            return self.measured(
                w,
                m,
                LeafScore(
                    score,
                    m.actual,
                    f"{m.actual}，按分档（{_bands_text(method.bands)}）得 {fmt(w)} × {pct(fraction, 2)} = "
                    f"{fmt(score, 4)}。{m.detail}",
                    m.evidence,
                ),
            )
        if isinstance(method, ThresholdMethod):
            m = self.ctx.measure(method.metric)
            ok = _compare(method.op, m.value, method.target)
            fraction = ONE if ok else method.else_fraction
            score = w * fraction
            shown_target = _show(m, method.target)
            verdict = "达标，得满分" if ok else f"未达标，得 {_pct_short(fraction)}"
            actual = _show(m, m.value)
            return self.measured(
                w,
                m,
                LeafScore(
                    score,
                    m.actual,
                    f"实际 {actual}，目标 {method.op}{shown_target}，{verdict} = {fmt(score, 4)}。{m.detail}",
                    m.evidence,
                ),
            )
        raise TypeError(f"unknown scoring method on {node.id}")

    def point(self, node: Indicator, point: ChecklistPoint) -> LeafScore:
        """A checklist point decided by the facts: a measure against its target, or no finding standing."""
        rule = point.when
        assert rule is not None
        fraction = ONE
        reasons: list[str] = []
        evidence: list[str] = []
        status: Status = "partial" if self.ctx.running else "scored"
        if rule.metric is not None:
            m = self.ctx.measure(rule.metric)
            evidence.extend(m.evidence)
            status = self.data_status(m)
            if status == "pending":
                return LeafScore(ZERO, "待评", f"{m.actual}，{PENDING_TEXT}", evidence, "pending", ZERO)
            if rule.award == "proportional":
                if rule.target is not None:
                    ratio = m.value / rule.target if rule.target else ZERO
                    reasons.append(f"{_show(m, m.value)} ÷ {_show(m, rule.target)}")
                else:
                    ratio = m.rate if m.rate is not None else m.value
                    reasons.append(m.actual)
                fraction = max(ZERO, min(ratio, ONE))
            else:
                assert rule.target is not None
                ok = _compare(rule.op, m.value, rule.target)
                required = f"{_OP_TEXT.get(rule.op, rule.op)}{_show(m, rule.target)}"
                reasons.append(f"{m.actual}，要求 {required}，{'满足' if ok else '不满足'}")
                fraction = ONE if ok else ZERO
            if status == "no_evidence":
                fraction = ZERO
                reasons.append(NO_EVIDENCE_TEXT)
        if rule.no_findings:
            standing = [
                f
                for f in self.findings
                if any(fnmatchcase(f.rule, p) for p in rule.no_findings)
                and (node.contract is None or f.contract in (None, node.contract))
            ]
            if standing:
                fraction = ZERO
                shown = standing[:3]  # the rest are in the report's 存在的问题 chapter
                listed = f"（以下列出 {len(shown)} 项）" if len(shown) < len(standing) else ""
                reasons.append(
                    f"存在问题 {len(standing)} 项{listed}：" + "；".join(f.message.rstrip("。") for f in shown)
                )
                evidence.extend(e for f in standing for e in f.evidence)
            else:
                reasons.append("未发现相关问题")
        score = point.max * fraction
        if fraction < ONE and rule.otherwise > score and status != "no_evidence":
            score = rule.otherwise
            reasons.append(f"未完全满足，按评分标准得 {fmt(rule.otherwise, 4)} 分")
        return LeafScore(score, f"{fmt(score, 4)} 分", "；".join(reasons), evidence, status)

    # ------------------------------------------------------------ tree

    def findings_for(self, node: Indicator) -> list[Finding]:
        return [f for f in self.findings if bears_on(node, f)]

    def node(self, node: Indicator) -> ScoredIndicator:
        if node.is_leaf:
            result = self.leaf(node)
            score = max(ZERO, min(result.score, node.weight))
            if node.precision is not None:
                step = Decimal(1).scaleb(-node.precision)
                rounded = score.quantize(step, ROUND_HALF_UP)
                # Rounding never lifts a leaf above its weight (2.25 at one decimal is 2.2, not 2.3).
                score = rounded if rounded <= node.weight else score.quantize(step, ROUND_DOWN)
            method = node.method
            assert method is not None
            findings = self.findings_for(node)
            assessable = result.assessable if result.assessable is not None else node.weight
            if result.status == "pending":
                assessable = ZERO
            explanation = f"【{METHOD_LABEL[method.type]}】{result.explanation}"
            if node.precision is not None:
                explanation += f" 得分保留 {node.precision} 位小数：{fmt(score, node.precision)}。"
            return ScoredIndicator(
                id=node.id,
                name=node.name,
                weight=node.weight,
                score=score,
                rate=_rate(score, node.weight),
                method=method.type,
                target=node.target,
                actual=result.actual,
                explanation=explanation,
                evidence=unique_sorted(result.evidence),
                findings=tuple(f.id for f in findings),
                status=result.status,
                assessable=min(assessable, node.weight),
            )
        children = tuple(self.node(child) for child in node.children)
        score = sum((c.score for c in children), ZERO)
        status, _ = combine([(c.assessable or ZERO, c.status) for c in children])
        return ScoredIndicator(
            id=node.id,
            name=node.name,
            weight=node.weight,
            score=score,
            rate=_rate(score, node.weight),
            children=children,
            status=status,
            assessable=sum((c.assessable or ZERO for c in children), ZERO),
        )


def _rate(score: Decimal, weight: Decimal) -> Decimal:
    return (score / weight).quantize(RATE_PLACES, ROUND_HALF_UP) if weight else ZERO


def score_tree(
    system: IndicatorSystem, ctx: MetricContext, findings: list[Finding]
) -> tuple[tuple[ScoredIndicator, ...], Decimal, str]:
    scorer = Scorer(ctx, findings)
    top = tuple(scorer.node(i) for i in system.indicators)
    total = sum((t.score for t in top), ZERO)
    return top, total, system.grade(total)


def measurements_asked(system: IndicatorSystem, ctx: MetricContext, findings: list[Finding]) -> dict[str, Measurement]:
    """The measurements `score_tree` asks of `ctx`, by each ref's canonical JSON: what a context
    preset with them (`MetricContext.measurements`) answers without evaluating a measure. The rules
    service makes them in the context its rules ran in and ships them with the findings; which refs
    the tree asks for (contract shares, checklist points …) is the scorer's to say, so the scorer is
    run here, and the tree it scores is thrown away: the score is the scoring service's."""
    asking = _Asking(ctx)
    score_tree(system, cast(MetricContext, asking), findings)
    return asking.asked


class _Asking:
    """A metric context that notes each measurement the scorer asks of it. The measures a measure
    asks for in turn (a ratio's parts) are asked of the context itself, not of this: not noted."""

    def __init__(self, ctx: MetricContext) -> None:
        self._ctx = ctx
        self.asked: dict[str, Measurement] = {}

    def measure(self, ref: MetricRef) -> Measurement:
        made = self._ctx.measure(ref)
        self.asked[ref.model_dump_json()] = made
        return made

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ctx, name)
