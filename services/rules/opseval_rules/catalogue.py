"""The compliance rules: what each one measures, the condition compiled from the contract profile,
and the finding it writes (in Chinese, as evaluators write them).

A rule has four parts. `observe` reduces the ledger to a few observations per contract (the
engine sees those, never raw events). `condition` compiles the contract's own thresholds into a
durable_rules condition, or returns None when the contract makes no such promise. `describe`
turns an observation the engine fired on into a finding's message, measured and required values.
`basis` names the clauses or obligations the finding stands on (a finding that cites no evidence
stands on them alone). Its cause and advice are data, in `narratives.py`.

An observation's key names its subject (a staff list, a deliverable, an assessment item and
period, a budget item …): with the rule and the contract it makes the finding id, so it never
contains an event id — the same evidence under other ids gives the same findings.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from opseval_shared.base import unique_sorted
from opseval_shared.contract import (
    AssessmentItemRule,
    Contract,
    DeliverableTerm,
    InspectionPlan,
    PaymentRule,
    PerformanceTarget,
    ReportingTerms,
)
from opseval_shared.duties import (
    assessment_rule,
    cite,
    deliverable_duty,
    inspection_duty,
    payment_clause,
    survey_duty,
    target_row,
)
from opseval_shared.metrics import MEASURE_LABEL, MetricContext, fmt, pct
from opseval_shared.results import Basis, Severity


@dataclass
class Observation:
    rule: str
    contract: str | None
    key: str
    fields: dict[str, Any]
    evidence: Sequence[str]
    info: dict[str, Any] = field(default_factory=dict)


Described = tuple[str, str, str]  # message, measured, required
Cited = tuple[Basis, ...]


def no_basis(o: Observation, c: Contract | None) -> Cited:
    return ()


@dataclass(frozen=True)
class Rule:
    id: str
    domain_ref: int | None
    severity: Severity
    observe: Callable[[MetricContext, Contract | None], list[Observation]]
    condition: Callable[[Contract | None, ReportingTerms], dict[str, Any] | None]
    describe: Callable[[Observation, Contract | None], Described]
    per_contract: bool = True
    basis: Callable[[Observation, Contract | None], Cited] = no_basis


def _f(value: Decimal | int | float) -> float:
    return float(value)


def _obs(
    rule_id: str, contract: Contract | None, key: str, fields: dict[str, Any], evidence: Sequence[str], **info: Any
) -> Observation:
    cid = contract.id if contract else None
    return Observation(rule_id, cid, key, fields, unique_sorted(evidence), info)


def _vendor(contract: Contract | None) -> str:
    return f"{contract.name}" if contract else "项目"


# ---------------------------------------------------------------- what findings stand on


def _target_row(row: PerformanceTarget, kind: Literal["clause", "obligation"] = "obligation") -> Basis:
    return cite(kind, row.source, "绩效目标表", target_row(row))


def _payment_clause(rule: PaymentRule, above: Any) -> Basis:
    return cite("clause", rule.source, "合同", payment_clause(rule, above))


def basis_deliverable(o: Observation, c: Contract | None) -> Cited:
    term: DeliverableTerm = o.info["term"]
    return (cite("obligation", term.source, "合同", deliverable_duty(term)),)


def basis_inspection(o: Observation, c: Contract | None) -> Cited:
    plan: InspectionPlan = o.info["plan"]
    return (cite("obligation", plan.source, "合同", inspection_duty(plan)),)


def basis_targets(o: Observation, c: Contract | None) -> Cited:
    return tuple(_target_row(row) for row in o.info["targets"])


# ---------------------------------------------------------------- staffing (1–5)


# ---------------------------------------------------------------- training, deliverables (6–8)


def observe_deliverables(ctx: MetricContext, c: Contract | None) -> list[Observation]:
    assert c is not None
    out = []
    for term in c.deliverables:
        st = ctx.deliverable(c, term.id)
        shortfall = st.required_units - st.delivered_units
        out.append(
            _obs(
                "deliverable.count_below_due",
                c,
                f"count:{term.id}",
                {"shortfall": shortfall, "delivered": st.submitted_units},
                st.evidence,
                name=term.name,
                due=st.required_units,
                got=st.delivered_units,
                missing=[m.period for m in st.missing],
                term=term,
            )
        )
        out.append(
            _obs(
                "evidence.obligation_unproven",
                c,
                f"proof:{term.id}",
                {"due": st.required_units, "proof": st.submitted_units},
                [],
                name=term.name,
                due=st.required_units,
                term=term,
            )
        )
        late = sorted(st.late, key=lambda x: (x[0].submitted_at, x[1].period.start))
        out.append(
            _obs(
                "deliverable.late",
                c,
                f"late:{term.id}",
                {"late": len(late)},
                [s.event_id for s, _, _ in late],
                name=term.name,
                late=late,
                term=term,
            )
        )
    return out


def describe_count_below_due(o: Observation, c: Contract | None) -> Described:
    labels = "、".join(_period(p) for p in o.info["missing"][:8]) + ("等" if len(o.info["missing"]) > 8 else "")
    return (
        f"{_vendor(c)}：{o.info['name']}按合同周期应交 {o.info['due']} 份，按期交付 {o.info['got']} 份，"
        f"缺 {o.fields['shortfall']} 份（{labels}）。",
        f"{o.info['got']} 份",
        f"{o.info['due']} 份",
    )


def describe_unproven(o: Observation, c: Contract | None) -> Described:
    return (
        f"{_vendor(c)}：合同要求的“{o.info['name']}”（应完成 {o.info['due']} 项/份）未见任何佐证材料，"
        "难以确认完成情况。",
        "无佐证材料",
        f"{o.info['due']} 项/份及其佐证",
    )


def describe_late(o: Observation, c: Contract | None) -> Described:
    parts = "；".join(
        f"{_period(item.period)}的{o.info['name']}应于 {item.due.strftime('%Y-%m-%d %H:%M')} 前提交，"
        f"实际 {s.submitted_at.astimezone(item.due.tzinfo).strftime('%Y-%m-%d %H:%M')} 提交"
        for s, item, _ in o.info["late"][:6]
    )
    more = f"等 {len(o.info['late'])} 份" if len(o.info["late"]) > 6 else ""
    return (
        f"{_vendor(c)}：{o.info['name']}未按时提交：{parts}{more}。",
        f"逾期 {o.fields['late']} 份",
        "按合同时限提交",
    )


def observe_inspections(ctx: MetricContext, c: Contract | None) -> list[Observation]:
    assert c is not None
    out = []
    for plan in c.inspections:
        ins = ctx.inspection(c, plan.id)
        out.append(
            _obs(
                "inspection.late",
                c,
                f"late:{plan.id}",
                {"late": len(set(ins.late_done) | set(ins.late_registered))},
                ins.late_done + ins.late_registered,
                name=plan.name,
                late_done=len(ins.late_done),
                late_registered=len(ins.late_registered),
                plan=plan,
            )
        )
        out.append(
            _obs(
                "inspection.below_plan",
                c,
                f"count:{plan.id}",
                {"shortfall": ins.planned - ins.done},
                ins.ids,
                name=plan.name,
                planned=ins.planned,
                done=ins.done,
                short=ins.short_periods,
                plan=plan,
            )
        )
    return out


def describe_inspection_late(o: Observation, c: Contract | None) -> Described:
    parts = []
    if o.info["late_done"]:
        parts.append(f"{o.info['late_done']} 次未在规定时间前完成")
    if o.info["late_registered"]:
        parts.append(f"{o.info['late_registered']} 次未及时登记")
    return (f"{_vendor(c)}：{o.info['name']}中有 {'、'.join(parts)}。", f"{o.fields['late']} 次", "按时完成并登记")


def describe_inspection_short(o: Observation, c: Contract | None) -> Described:
    return (
        f"{_vendor(c)}：{o.info['name']}计划 {o.info['planned']} 次，实际完成 {o.info['done']} 次，"
        f"{len(o.info['short'])} 个周期未按计划完成。",
        f"{o.info['done']} 次",
        f"{o.info['planned']} 次",
    )


def observe_targets(ctx: MetricContext, c: Contract | None) -> list[Observation]:
    """Approved annual targets against what was delivered, and whether they were prorated at all."""
    assert c is not None
    fraction = ctx.service_fraction(c.id)
    below: list[tuple[str, str, int]] = []
    unprorated: list[tuple[str, str, Decimal]] = []
    below_rows: list[PerformanceTarget] = []
    unprorated_rows: list[PerformanceTarget] = []
    ids: list[str] = []
    for row in c.performance_targets:
        term = c.deliverable(row.deliverable) if row.deliverable else None
        if term is None or row.value is None:
            continue
        st = ctx.deliverable(c, term.id)
        if st.delivered_units < row.value:
            below.append((row.name, row.target, st.delivered_units))
            below_rows.append(row)
            ids.extend(st.evidence)
        prorated = (row.value * fraction).to_integral_value() if row.annual else row.value
        if term.frequency != "once" and prorated < row.value:
            unprorated.append((row.name, row.target, prorated))
            unprorated_rows.append(row)
    return [
        _obs("deliverable.below_target", c, "targets", {"shortfall": len(below)}, ids, rows=below, targets=below_rows),
        _obs(
            "targets.not_prorated",
            c,
            "proration",
            {"excess": len(unprorated), "fraction": _f(fraction)},
            [],
            rows=unprorated,
            fraction=fraction,
            targets=unprorated_rows,
        ),
    ]


def basis_not_prorated(o: Observation, c: Contract | None) -> Cited:
    return tuple(_target_row(row, "clause") for row in o.info["targets"])


def describe_below_target(o: Observation, c: Contract | None) -> Described:
    rows = "；".join(f"{name}{target}，实际 {got}" for name, target, got in o.info["rows"])
    return (
        f"{_vendor(c)}：{len(o.info['rows'])} 项数量指标未达到绩效目标表的指标值（{rows}）。",
        "、".join(f"{got}/{target}" for _, target, got in o.info["rows"]),
        "达到绩效目标表的指标值",
    )


def describe_not_prorated(o: Observation, c: Contract | None) -> Described:
    rows = "；".join(f"“{name}{target}”（折算后约 {fmt(p, 0)}）" for name, target, p in o.info["rows"])
    return (
        f"{_vendor(c)}：当年服务期仅占评价期的 {pct(o.info['fraction'], 1)}，绩效目标表中 {len(o.info['rows'])} 项"
        f"指标值仍按全年设置，未按实施周期折算：{rows}。",
        f"{len(o.info['rows'])} 项按全年设置",
        "指标值按当年实施周期折算",
    )


# ---------------------------------------------------------------- scores against evidence (9–11)


# ---------------------------------------------------------------- faults (12)


def observe_faults(ctx: MetricContext, c: Contract | None) -> list[Observation]:
    assert c is not None
    out = []
    breaches = [f for f in ctx.fault_measures(c) if f.breached]
    out.append(
        _obs(
            "fault.sla_breach", c, "sla", {"breaches": len(breaches)}, [f.event_id for f in breaches], breaches=breaches
        )
    )
    if c.mtbf_hours_min is not None:
        m = ctx.mtbf(c)
        # Without an internal failure the window is only a lower bound: nothing to conclude.
        failures = sum(
            1 for (cid, _), r in ctx.ledger.incidents.items() if cid == c.id and r.payload.cause == "internal"
        )
        out.append(
            _obs(
                "fault.mtbf_below_target",
                c,
                "mtbf",
                {"hours": _f(m.value), "failures": failures},
                list(m.evidence),
                actual=m.actual,
                detail=m.detail,
            )
        )
    return out


def describe_sla(o: Observation, c: Contract | None) -> Described:
    parts = "；".join(
        f"{f.ticket}（{f.severity}）{MEASURE_LABEL[f.measure]}"
        + (f"用时 {fmt(f.minutes, 0)} 分钟" if f.minutes is not None else "截至评价日仍未完成")
        + f"，超过 {fmt(f.limit, 0)} 分钟时限"
        for f in o.info["breaches"][:8]
    )
    return (
        f"{_vendor(c)}：{o.fields['breaches']} 项故障处理超出 SLA 时限：{parts}。",
        f"超时 {o.fields['breaches']} 项",
        "按故障级别在时限内响应、到场、修复",
    )


def cond_mtbf(c: Contract | None, t: ReportingTerms) -> dict[str, Any] | None:
    if c is None or c.mtbf_hours_min is None:
        return None
    return {"$and": [{"$lt": {"hours": _f(c.mtbf_hours_min)}}, {"$gt": {"failures": 0}}]}


def describe_mtbf(o: Observation, c: Contract | None) -> Described:
    assert c is not None and c.mtbf_hours_min is not None
    return (
        f"{_vendor(c)}：{o.info['detail']}，未达到 ≥{fmt(c.mtbf_hours_min, 0)}h 的指标值。",
        o.info["actual"],
        f"≥{fmt(c.mtbf_hours_min, 0)}h",
    )


# ---------------------------------------------------------------- budget (13)


def observe_budget(ctx: MetricContext, c: Contract | None) -> list[Observation]:
    out = []
    led = ctx.ledger
    scopes: list[tuple[str | None, str]] = [(ct.id, ct.name) for ct in led.definition.contracts.contracts]
    if len(scopes) > 1:
        scopes.append((None, "项目整体"))
    for cid, label in scopes:
        approved, a_ids = led.budget_sum("approved", cid)
        if approved <= 0:
            continue
        adjustment, adj_ids = led.budget_sum("adjustment", cid)
        arrived, arr_ids = led.budget_sum("arrived", cid)
        spent, s_ids = led.budget_sum("spent", cid)
        rates: list[tuple[str, str, Decimal, list[str], dict[str, Any]]] = []
        info: dict[str, Any]
        if adjustment:
            info = {"approved": approved, "adjustment": adjustment}
            rates.append(("budget.adjustment_rate_high", "adj", abs(adjustment) / approved, a_ids + adj_ids, info))
        # 预算执行率 = 实际支出 ÷ 实际到位资金 where arrivals are reported, else ÷ 调整后预算:
        # a shortfall of arrived funds is the arrival rule's finding, not a second one here.
        basis, basis_ids, basis_label = (
            (arrived, arr_ids, "实际到位资金") if arrived else (approved + adjustment, a_ids + adj_ids, "调整后预算")
        )
        if spent and basis and cid is not None:
            info = {"basis": basis, "spent": spent, "basis_label": basis_label}
            rates.append(("budget.execution_rate_low", "exec", spent / basis, basis_ids + s_ids, info))
        if arrived:
            info = {"approved": approved, "arrived": arrived}
            rates.append(("budget.arrival_rate_low", "arr", arrived / approved, a_ids + arr_ids, info))
        for rule, prefix, rate, ids, info in rates:
            key = f"{prefix}:{cid or 'all'}"
            out.append(
                Observation(rule, None, key, {"rate": _f(rate)}, sorted(ids), {"label": label, "rate": rate, **info})
            )
    terms = led.definition.contracts.reporting
    # The subject of a unit rate is the budget item it prices, of a calculation the calculation
    # itself: the same figure sent twice (under two event ids) is one finding citing both.
    unit_rates: dict[str, list[Any]] = defaultdict(list)
    for rec in led.unit_rates:
        r = rec.payload
        unit_rates[f"rate:{rec.contract or '-'}:{r.module}:{r.grade or ''}:{_plain(r.rate)}"].append(rec)
    for key, recs in sorted(unit_rates.items()):
        out.append(
            Observation(
                "budget.unit_rate_above_ceiling",
                None,
                key,
                {"rate": _f(recs[0].payload.rate)},
                unique_sorted(rec.event_id for rec in recs),
                {"p": recs[0].payload, "ceiling": terms.unit_rate_ceiling, "standard": terms.unit_rate_standard},
            )
        )
    calculations: dict[str, list[Any]] = defaultdict(list)
    for calc in led.calculations:
        p = calc.payload
        expression = ("×" if p.operation == "product" else "+").join(_plain(x) for x in p.factors)
        key = f"calc:{calc.contract or '-'}:{p.description}:{expression}={_plain(p.stated_result)}@{p.precision}"
        calculations[key].append(calc)
    for key, calcs in sorted(calculations.items()):
        p = calcs[0].payload
        computed = Decimal(1)
        if p.operation == "product":
            for x in p.factors:
                computed *= x
        else:
            computed = sum(p.factors, Decimal(0))
        rounded = computed.quantize(Decimal(1).scaleb(-p.precision), ROUND_HALF_UP)  # 四舍五入
        out.append(
            Observation(
                "budget.calculation_slip",
                None,
                key,
                {"diff": _f(abs(rounded - p.stated_result))},
                unique_sorted(calc.event_id for calc in calcs),
                {"p": p, "computed": rounded},
            )
        )
    return out


def _numbered(keys: Iterable[str]) -> list[str]:
    """Keys of terms in the contract's order; a key repeated (two duties on one survey) is numbered."""
    seen: dict[str, int] = {}
    out = []
    for key in keys:
        seen[key] = seen.get(key, 0) + 1
        out.append(key if seen[key] == 1 else f"{key}#{seen[key]}")
    return out


def _plain(value: Decimal) -> str:
    """A number as a key: 2.9, 2.90 and 2.900 are one figure."""
    return format(value.normalize(), "f")


def basis_unit_rate(o: Observation, c: Contract | None) -> Cited:
    standard = o.info["standard"]
    if standard is None:
        return ()
    return (Basis(kind="obligation", document=standard, text=f"人月费率不超过 {fmt(o.info['ceiling'])} 万元/人月"),)


def describe_adjustment(o: Observation, c: Contract | None) -> Described:
    i = o.info
    return (
        f"{i['label']}：批复预算 {fmt(i['approved'], 3)} 万元，调整 {fmt(i['adjustment'], 3)} 万元，"
        f"预算调整率 {pct(i['rate'])}，预算编制与实际实施周期不匹配。",
        pct(i["rate"]),
        "预算调整率不超过规定比例",
    )


def describe_execution(o: Observation, c: Contract | None) -> Described:
    i = o.info
    return (
        f"{i['label']}：{i['basis_label']} {fmt(i['basis'], 3)} 万元，实际支出 {fmt(i['spent'], 3)} 万元，"
        f"预算执行率 {pct(i['rate'])}。",
        pct(i["rate"]),
        "100%",
    )


def describe_arrival(o: Observation, c: Contract | None) -> Described:
    i = o.info
    return (
        f"{i['label']}：全年预算 {fmt(i['approved'], 3)} 万元，实际到位 {fmt(i['arrived'], 3)} 万元，"
        f"资金到位率 {pct(i['rate'])}。",
        pct(i["rate"]),
        "资金及时足额到位",
    )


def describe_unit_rate(o: Observation, c: Contract | None) -> Described:
    p = o.info["p"]
    ceiling = o.info["ceiling"]
    return (
        f"“{p.module}”按 {fmt(p.rate)} 万元/人月测算，超出{o.info['standard'] or '标准'}的最高人月费率"
        f" {fmt(ceiling)} 万元/人月。",
        f"{fmt(p.rate)} 万元/人月",
        f"≤{fmt(ceiling)} 万元/人月",
    )


def describe_slip(o: Observation, c: Contract | None) -> Described:
    p = o.info["p"]
    sym = "×" if p.operation == "product" else "+"
    expr = sym.join(fmt(x, 4) for x in p.factors)
    return (
        f"{p.description}：{expr} 应为 {fmt(o.info['computed'], p.precision)}，文件中写作 "
        f"{fmt(p.stated_result, p.precision)}，存在计算错误。",
        fmt(p.stated_result, p.precision),
        fmt(o.info["computed"], p.precision),
    )


# ---------------------------------------------------------------- payment and assessment design (14)


def observe_payment(ctx: MetricContext, c: Contract | None) -> list[Observation]:
    assert c is not None
    out = []
    rules = sorted(c.payment_rules, key=lambda r: r.min_score)
    full = min((r.min_score for r in rules if r.pay_fraction >= 1), default=None)
    if full is not None:
        full_rule = next(r for r in rules if r.pay_fraction >= 1 and r.min_score == full)
        out.append(
            _obs(
                "payment.weak_rule",
                c,
                "full",
                {"full_pay_score": _f(full), "floor_pay": 0},
                [],
                full=full,
                rule=full_rule,
                above=None,
            )
        )
    # The floor is what a score of 0 still earns: the band starting at 0, below the next band's threshold.
    floor = next((r for r in rules if r.min_score == 0), None)
    if floor is not None and floor.pay_fraction > 0:
        above = next((r.min_score for r in rules if r.min_score > 0), None)
        out.append(
            _obs(
                "payment.weak_rule",
                c,
                "floor",
                {"full_pay_score": 100, "floor_pay": _f(floor.pay_fraction)},
                [],
                floor=floor,
                above=above,
                rule=floor,
            )
        )
    for item, key in zip(c.assessment_items, _numbered(f"cap:{i.item}" for i in c.assessment_items), strict=True):
        if item.max_deduction is None:
            continue
        floor_share = (item.max_score - item.max_deduction) / item.max_score
        out.append(
            _obs(
                "assessment.cap_too_low",
                c,
                key,
                {"floor_share": _f(floor_share)},
                [],
                item=item,
                rule=item,
            )
        )
    return out


def basis_payment(o: Observation, c: Contract | None) -> Cited:
    return (_payment_clause(o.info["rule"], o.info["above"]),)


def basis_cap(o: Observation, c: Contract | None) -> Cited:
    rule: AssessmentItemRule = o.info["rule"]
    return (cite("clause", rule.source, "考核指标", assessment_rule(rule)),)


def describe_payment(o: Observation, c: Contract | None) -> Described:
    if o.key == "full":
        return (
            f"{_vendor(c)}：合同约定考核得分 ≥{fmt(o.info['full'])} 分即全额支付当期费用，"
            f"供应商只需按 {fmt(o.info['full'])}% 的程度履约即可收到全款，付款标准过低。",
            f"≥{fmt(o.info['full'])} 分全额支付",
            "全额支付门槛与合同履约要求相符",
        )
    floor, above = o.info["floor"], o.info["above"]
    when = f"考核得分低于 {fmt(above)} 分" if above is not None else "无论考核得分多少"
    return (
        f"{_vendor(c)}：合同约定{when}仍支付当期 {pct(floor.pay_fraction, 0)} 费用，"
        "服务严重不达标时仍可获得大部分款项。",
        f"最低支付 {pct(floor.pay_fraction, 0)}",
        "严重不达标时不予支付或大幅扣减",
    )


def describe_cap(o: Observation, c: Contract | None) -> Described:
    item = o.info["item"]
    share = Decimal(str(o.fields["floor_share"]))
    return (
        f"{_vendor(c)}：考核项“{item.item}”分值 {fmt(item.max_score)} 分，每期最多扣 {fmt(item.max_deduction)} 分，"
        f"即使完全未完成也可获得该项 {pct(share, 0)} 的得分，考核力度不足。",
        f"最低得分率 {pct(share, 0)}",
        "未完成时该项不得分",
    )


# ---------------------------------------------------------------- surveys (15), documents (17)


def observe_surveys(ctx: MetricContext, c: Contract | None) -> list[Observation]:
    assert c is not None
    out = []
    keys = _numbered(f"survey:{d.survey}" if d.survey else "survey:*" for d in c.surveys)
    for duty, key in zip(c.surveys, keys, strict=True):
        if not duty.required_levels:
            continue
        levels = ctx.survey_levels(duty.survey)
        missing = [lvl for lvl in duty.required_levels if levels.get(lvl, 0) < max(1, duty.min_responses)]
        ids = [i for (sid, _, _), t in ctx.ledger.surveys.items() if duty.survey in (None, sid) for i in t.ids]
        out.append(
            _obs(
                "survey.coverage_gap",
                c,
                key,
                {"missing": len(missing)},
                ids,
                missing=missing,
                levels=dict(levels),
                required=duty.required_levels,
                duty=duty,
            )
        )
    return out


_LEVELS = {1: "一", 2: "两", 3: "三", 4: "四", 5: "五"}


def basis_survey(o: Observation, c: Contract | None) -> Cited:
    return (cite("obligation", o.info["duty"].source, "合同", survey_duty(o.info["duty"])),)


def describe_survey(o: Observation, c: Contract | None) -> Described:
    got = "、".join(f"{k}级 {v} 份" for k, v in sorted(o.info["levels"].items())) or "无问卷"
    return (
        f"{_vendor(c)}：合同要求开展{'、'.join(o.info['required'])}"
        f"{_LEVELS.get(len(o.info['required']), '各')}级用户满意度调查，实际回收问卷为{got}，"
        f"未收集{'、'.join(o.info['missing'])}级用户的评价，调查覆盖面不足。",
        got,
        "、".join(o.info["required"]) + " 各级均有样本",
    )


def _document_subject(cid: str, did: str, s: Any) -> str:
    """A submitted document by what it is: contract, deliverable and period (or submission time)."""
    when = f"{s.period_start}..{s.period_end}" if s.period_start or s.period_end else s.submitted_at.isoformat()
    return f"{cid}/{did}@{when}"


def observe_documents(ctx: MetricContext, c: Contract | None) -> list[Observation]:
    docs = []
    for (cid, did), subs in ctx.ledger.submissions.items():
        for s in subs:
            if len(s.sections) >= 3:
                docs.append((_document_subject(cid, did, s), s.submitted_at, s.title, s.sections, s.event_id, cid, s))
    # in the order of what the documents are, not of their event ids or arrival
    docs.sort(key=lambda d: d[:5])
    names = {ct.id: ct.name for ct in ctx.ledger.definition.contracts.contracts}
    pairs: dict[str, Observation] = {}
    for i, (subject_a, *_, ca, sa) in enumerate(docs):
        for subject_b, *_, cb, sb in docs[i + 1 :]:
            if ca == cb:
                continue
            a, b = set(sa.sections), set(sb.sections)
            sim = len(a & b) / len(a | b)
            if sim < 0.5:
                continue
            key = f"{subject_a}~{subject_b}"
            if key in pairs:  # a document resubmitted for the same period: the pair is one finding
                seen = pairs[key]
                evidence = unique_sorted([*seen.evidence, sa.event_id, sb.event_id])
                pairs[key] = Observation(seen.rule, None, key, seen.fields, evidence, seen.info)
                continue
            common = [x for x in sa.sections if x in (a & b)]
            pairs[key] = Observation(
                "documents.near_duplicate",
                None,
                key,
                {"similarity": round(sim, 4)},
                sorted([sa.event_id, sb.event_id]),
                {"a": (names[ca], sa), "b": (names[cb], sb), "common": common},
            )
    return list(pairs.values())


def describe_documents(o: Observation, c: Contract | None) -> Described:
    (ca, sa), (cb, sb) = o.info["a"], o.info["b"]
    common = "、".join(o.info["common"][:8])
    return (
        f"{ca}提交的《{sa.title}》与{cb}提交的《{sb.title}》框架和主要内容基本一致"
        f"（相同章节 {len(o.info['common'])} 个：{common}），两个合同的成果物存在重叠，责任归属有待明确。",
        f"章节重合度 {pct(Decimal(str(o.fields['similarity'])), 0)}",
        "各合同交付物相互独立",
    )


# ---------------------------------------------------------------- the catalogue


def _period(p: Any) -> str:
    if p.start == p.end:
        return str(p.start)
    if p.start.day == 1 and p.start.month == p.end.month:
        return f"{p.start.year}年{p.start.month}月"
    return f"{p.start}~{p.end}"


def gt0(name: str) -> Callable[[Contract | None, ReportingTerms], dict[str, Any]]:
    return lambda c, t: {"$gt": {name: 0}}


RULES: tuple[Rule, ...] = (
    Rule(
        "deliverable.count_below_due",
        7,
        "medium",
        observe_deliverables,
        lambda c, t: {"$and": [{"$gt": {"shortfall": 0}}, {"$gt": {"delivered": 0}}]},
        describe_count_below_due,
        basis=basis_deliverable,
    ),
    Rule(
        "evidence.obligation_unproven",
        11,
        "high",
        lambda ctx, c: [],
        lambda c, t: {"$and": [{"$gt": {"due": 0}}, {"$lt": {"proof": 1}}]},
        describe_unproven,
        basis=basis_deliverable,
    ),
    Rule("deliverable.late", 8, "medium", lambda ctx, c: [], gt0("late"), describe_late, basis=basis_deliverable),
    Rule(
        "deliverable.below_target",
        7,
        "medium",
        observe_targets,
        gt0("shortfall"),
        describe_below_target,
        basis=basis_targets,
    ),
    Rule(
        "targets.not_prorated",
        7,
        "low",
        lambda ctx, c: [],
        lambda c, t: {"$and": [{"$gt": {"excess": 0}}, {"$lt": {"fraction": 1}}]},
        describe_not_prorated,
        basis=basis_not_prorated,
    ),
    Rule(
        "inspection.late",
        8,
        "medium",
        observe_inspections,
        gt0("late"),
        describe_inspection_late,
        basis=basis_inspection,
    ),
    Rule(
        "inspection.below_plan",
        7,
        "medium",
        lambda ctx, c: [],
        gt0("shortfall"),
        describe_inspection_short,
        basis=basis_inspection,
    ),
    Rule("fault.sla_breach", 12, "high", observe_faults, gt0("breaches"), describe_sla),
    Rule(
        "fault.mtbf_below_target",
        12,
        "medium",
        lambda ctx, c: [],
        cond_mtbf,
        describe_mtbf,
    ),
    Rule(
        "budget.adjustment_rate_high",
        13,
        "medium",
        observe_budget,
        lambda c, t: {"$gt": {"rate": _f(t.max_adjustment_rate)}},
        describe_adjustment,
        per_contract=False,
    ),
    Rule(
        "budget.execution_rate_low",
        13,
        "low",
        lambda ctx, c: [],
        lambda c, t: {"$lt": {"rate": _f(t.min_execution_rate)}},
        describe_execution,
        per_contract=False,
    ),
    Rule(
        "budget.arrival_rate_low",
        13,
        "medium",
        lambda ctx, c: [],
        lambda c, t: {"$lt": {"rate": _f(t.min_arrival_rate)}},
        describe_arrival,
        per_contract=False,
    ),
    Rule(
        "budget.unit_rate_above_ceiling",
        13,
        "medium",
        lambda ctx, c: [],
        lambda c, t: None if t.unit_rate_ceiling is None else {"$gt": {"rate": _f(t.unit_rate_ceiling)}},
        describe_unit_rate,
        per_contract=False,
        basis=basis_unit_rate,
    ),
    Rule(
        "budget.calculation_slip",
        13,
        "medium",
        lambda ctx, c: [],
        lambda c, t: {"$gt": {"diff": 0}},
        describe_slip,
        per_contract=False,
    ),
    Rule(
        "payment.weak_rule",
        14,
        "medium",
        observe_payment,
        lambda c, t: {"$or": [{"$lt": {"full_pay_score": 90}}, {"$gt": {"floor_pay": 0}}]},
        describe_payment,
        basis=basis_payment,
    ),
    Rule(
        "assessment.cap_too_low",
        14,
        "medium",
        lambda ctx, c: [],
        lambda c, t: {"$gte": {"floor_share": 0.5}},
        describe_cap,
        basis=basis_cap,
    ),
    Rule("survey.coverage_gap", 15, "medium", observe_surveys, gt0("missing"), describe_survey, basis=basis_survey),
    Rule(
        "documents.near_duplicate",
        17,
        "low",
        observe_documents,
        lambda c, t: {"$gte": {"similarity": _f(t.duplicate_similarity)}},
        describe_documents,
        per_contract=False,
    ),
)

RULES_BY_ID = {r.id: r for r in RULES}
