"""The year-end forecast of an evaluation made inside its period (中期评价).

Assumptions, stated in the result: what is assessed holds its current rate to the period's end
(a deduction keeps accruing at the pace seen so far); what is pending is unknown — from nothing to
its full weight, projected at the mean rate of what is assessed. For each leaf the points still
recoverable are those between that projection and the best the rest of the period can bring, with
the evidence or work that would bring them. At the period's end, with every leaf scored, the
forecast is the result.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from opseval_shared.indicators import Indicator, IndicatorSystem
from opseval_shared.metrics import MetricContext, fmt, pct
from opseval_shared.results import Forecast, LeafForecast, ScoredIndicator, assessed_weight

ZERO = Decimal(0)
ONE = Decimal(1)
PLACES = Decimal("0.001")
DEDUCTING = ("deduction", "sla")
DELIVERED = ("deliverables.", "deliverable.", "obligations.")  # measures of what is delivered


def _q(value: Decimal) -> Decimal:
    return value.quantize(PLACES, ROUND_HALF_UP)


def elapsed_share(ctx: MetricContext, contract: str | None) -> Decimal:
    """The share of a contract's service in the period that lies before the as-of date (1 at the end)."""
    whole = ctx.service_fraction(contract)
    if not ctx.running or not whole:
        return ONE
    return min(ONE, ctx.due_fraction(contract) / whole)


def leaf_forecast(node: Indicator, leaf: ScoredIndicator, ctx: MetricContext, mean_rate: Decimal) -> LeafForecast:
    w, score = leaf.weight, leaf.score
    assessed = leaf.assessable if leaf.assessable is not None else w
    open_part = w - assessed  # pending: judgments not made, duties not due
    method = node.method.type if node.method is not None else ""
    contract = getattr(getattr(node.method, "metric", None), "contract", None) or node.contract
    done = elapsed_share(ctx, contract) if leaf.status != "scored" else ONE
    projected = score
    best = score
    actions: list[str] = []
    if leaf.status == "no_evidence":
        best = w
        actions.append(f"补充“{leaf.name}”应有的佐证材料")
    elif done < ONE and method in DEDUCTING and assessed:
        lost = assessed - score
        projected = max(ZERO, assessed - lost / done) if done else score
        actions.append(f"剩余 {pct(ONE - done, 0)} 的服务期内不再发生扣分事项")
    elif done < ONE and assessed and method not in ("judgment", "checklist"):
        best = score + (assessed - score) * (ONE - done)
        if best > score:
            metric = getattr(node.method, "metric", None)
            still = ctx.deliverables_still_due(contract) if metric and metric.name.startswith(DELIVERED) else []
            if still:
                listed = "、".join(f"{units} 份{name}" for name, units in still[:3]) + ("等" if len(still) > 3 else "")
                actions.append(f"按时提交剩余 {listed}")
            else:
                actions.append(f"剩余 {pct(ONE - done, 0)} 的服务期内“{leaf.name}”相关工作全部按要求完成")
    if open_part:
        judged = method in ("judgment", "checklist")
        actions.append("评价组作出判定" if judged else f"到期后按要求完成“{leaf.name}”相关工作并提交佐证")
    return LeafForecast(
        id=leaf.id,
        name=leaf.name,
        status=leaf.status,
        score=score,
        projected=_q(projected + open_part * mean_rate),
        low=_q(projected),
        high=_q(best + open_part),
        recoverable=_q(best + open_part - projected - open_part * mean_rate),
        action="；".join(actions),
    )


def forecast(
    system: IndicatorSystem, ctx: MetricContext, indicators: tuple[ScoredIndicator, ...], total: Decimal
) -> Forecast:
    nodes = {n.id: n for n in system.leaves()}
    leaves = [n for top in indicators for n in top.walk() if not n.children]
    assessable, pending = assessed_weight(indicators)
    mean_rate = total / assessable if assessable else ZERO
    outlook = [leaf_forecast(nodes[n.id], n, ctx, mean_rate) for n in leaves]
    window = ctx.ledger.evaluation_window
    elapsed = min(ONE, Decimal(max(0, (ctx.ledger.as_of - window.start).days + 1)) / Decimal(window.days))
    if all(f.status == "scored" for f in outlook) and not ctx.running:
        point = low = high = total
    else:
        point = _q(sum((f.projected for f in outlook), ZERO))
        low = _q(sum((f.low for f in outlook), ZERO))
        high = _q(sum((f.high for f in outlook), ZERO))
    assumptions = (
        (
            f"已评部分按截至评价基准日的完成率（已评权重 {fmt(assessable, 3)} 分中得 {fmt(total, 3)} 分，"
            f"得分率 {pct(mean_rate)}）延续至评价期末，扣分项按已发生的频率继续扣分",
            f"待评的 {fmt(pending, 3)} 分（未到期或评价组尚未判定）结果未知：下限按 0 分、上限按满分计，"
            f"预测值按已评部分的得分率计",
        )
        if point != total or ctx.running
        else ()
    )
    open_leaves = sorted(
        (f for f in outlook if f.recoverable > 0 or f.high > f.low), key=lambda f: (-f.recoverable, f.id)
    )
    return Forecast(
        period_end=window.end,
        elapsed=_q(elapsed),
        total=point,
        grade=system.grade(point),
        low=low,
        high=high,
        grade_low=system.grade(low),
        grade_high=system.grade(high),
        assumptions=assumptions,
        leaves=tuple(open_leaves),
    )
