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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

from opseval_shared.base import unique_sorted
from opseval_shared.contract import (
    AssessmentItemRule,
    Contract,
    PaymentRule,
    PerformanceTarget,
    ReportingTerms,
)
from opseval_shared.duties import (
    assessment_rule,
    cite,
    payment_clause,
    target_row,
    training_duty,
)
from opseval_shared.indicators import MetricRef
from opseval_shared.metrics import MetricContext, MetricError, fmt, pct
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


def basis_assessment(o: Observation, c: Contract | None) -> Cited:
    rule: AssessmentItemRule | None = o.info.get("rule")
    return () if rule is None else (cite("obligation", rule.source, "考核指标", assessment_rule(rule)),)


def basis_targets(o: Observation, c: Contract | None) -> Cited:
    return tuple(_target_row(row) for row in o.info["targets"])


# ---------------------------------------------------------------- staffing (1–5)


def observe_names(ctx: MetricContext, c: Contract | None) -> list[Observation]:
    assert c is not None
    committed = {s.name for s in c.staffing.committed}
    if not committed:
        return []
    roster = ctx.roster(c)
    names = {r[1] for r in roster}
    matched = committed & names
    return [
        _obs(
            "staff.names_mismatch",
            c,
            "names",
            {"committed": len(committed), "matched": len(matched), "unmatched": len(committed - names)},
            [r[0] for r in roster],
            actual=len(names),
            matched=sorted(matched),
        )
    ]


def basis_names(o: Observation, c: Contract | None) -> Cited:
    assert c is not None
    staff = c.staffing.committed
    text = f"拟投入驻场人员 {len(staff)} 名：" + "、".join(f"{p.name}（{p.role}）" for p in staff)
    return (cite("obligation", c.staffing.sources.committed, "投标文件", text),)


def basis_role_mix(o: Observation, c: Contract | None) -> Cited:
    assert c is not None
    roles: dict[str, int] = {}
    for person in c.staffing.committed:
        roles[person.role] = roles.get(person.role, 0) + 1
    text = "拟投入驻场人员岗位：" + "、".join(f"{role} {n} 名" for role, n in roles.items())
    return (cite("obligation", c.staffing.sources.committed, "投标文件", text),)


def basis_required_role(o: Observation, c: Contract | None) -> Cited:
    assert c is not None
    text = "要求实质响应的岗位：" + "、".join(c.staffing.required_roles)
    return (cite("obligation", c.staffing.sources.required_roles, "招标文件", text),)


def describe_names(o: Observation, c: Contract | None) -> Described:
    f = o.fields
    if f["matched"] == 0:
        msg = (
            f"{_vendor(c)}：投标文件承诺的 {f['committed']} 名驻场人员与实际驻场的 {o.info['actual']} 名人员"
            "姓名无一相符，驻场人员与投标承诺不一致。"
        )
    else:
        msg = (
            f"{_vendor(c)}：投标文件承诺的 {f['committed']} 名驻场人员中仅 {f['matched']} 人实际驻场"
            f"（{'、'.join(o.info['matched'])}），其余 {f['unmatched']} 人未到岗。"
        )
    return msg, f"相符 {f['matched']}/{f['committed']} 人", "实际驻场人员与投标承诺名单一致"


def observe_required_roles(ctx: MetricContext, c: Contract | None) -> list[Observation]:
    assert c is not None
    roster = ctx.roster(c)
    out = []
    for role in dict.fromkeys(c.staffing.required_roles):  # a role listed twice is one requirement
        present = sum(1 for r in roster if r[2] == role)
        out.append(
            _obs(
                "staff.required_role_absent", c, f"role:{role}", {"present": present}, [r[0] for r in roster], role=role
            )
        )
    return out


def describe_required_role(o: Observation, c: Contract | None) -> Described:
    role = o.info["role"]
    return (
        f"{_vendor(c)}：招标文件要求实质响应的“{role}”岗位，实际驻场人员中无人担任，岗位缺失。",
        f"{role} {o.fields['present']} 人",
        f"配置{role}岗位",
    )


def observe_role_mix(ctx: MetricContext, c: Contract | None) -> list[Observation]:
    assert c is not None
    check = next((k for k in ctx.staff_checks(c) if k.key == "role_mix"), None)
    if check is None:
        return []
    return [
        _obs("staff.role_mix_deviation", c, "mix", {"deviating": check.failing}, check.evidence, detail=check.detail)
    ]


def describe_role_mix(o: Observation, c: Contract | None) -> Described:
    return (
        f"{_vendor(c)}：实际驻场岗位结构与投标承诺不符：{o.info['detail']}。",
        o.info["detail"],
        "岗位结构与投标文件一致",
    )


def observe_experience(ctx: MetricContext, c: Contract | None) -> list[Observation]:
    assert c is not None
    check = next((k for k in ctx.staff_checks(c) if k.key == "experience"), None)
    if check is None:
        return []
    roster = ctx.roster(c)
    years = [r[3] for r in roster if r[3] is not None]
    avg = sum(years, Decimal(0)) / len(years) if years else None
    promised = c.staffing.promised_avg_years
    # No stated years on the roster is no evidence of shrinkage: only compare what is known.
    ratio = avg / promised if promised and avg is not None else Decimal(1)
    return [
        _obs(
            "staff.qualification_shortfall",
            c,
            "experience",
            {"below": check.failing, "avg_ratio": _f(ratio)},
            check.evidence,
            detail=check.detail,
            avg=avg,
            promised=promised,
        )
    ]


def cond_experience(c: Contract | None, t: ReportingTerms) -> dict[str, Any] | None:
    assert c is not None
    return {"$or": [{"$gt": {"below": 0}}, {"$lt": {"avg_ratio": _f(c.staffing.min_avg_years_ratio)}}]}


def basis_experience(o: Observation, c: Contract | None) -> Cited:
    assert c is not None
    s = c.staffing
    out = []
    minimums = [f"{r.role}工作年限不少于 {fmt(r.min_years)} 年" for r in s.role_requirements if r.min_years]
    if s.default_min_years:
        minimums.append(f"{'其他人员' if minimums else '驻场人员'}工作年限不少于 {fmt(s.default_min_years)} 年")
    if s.min_education:
        minimums.append(f"学历不低于{s.min_education}")
    if minimums:
        out.append(cite("obligation", s.sources.qualifications, "合同", "，".join(minimums)))
    if s.promised_avg_years is not None:
        text = f"拟投入驻场人员平均工作年限 {fmt(s.promised_avg_years)} 年"
        out.append(cite("obligation", s.sources.committed, "投标文件", text))
    return tuple(out)


def describe_experience(o: Observation, c: Contract | None) -> Described:
    return (
        f"{_vendor(c)}：驻场人员资质缩水：{o.info['detail']}。",
        o.info["detail"],
        "驻场人员工作年限、资质符合合同与投标承诺",
    )


def observe_coverage(ctx: MetricContext, c: Contract | None) -> list[Observation]:
    assert c is not None
    cov = ctx.coverage(c)
    if not cov:
        return []
    lowest = min(v[0] for v in cov.values())
    short = {n: v for n, v in cov.items() if v[0] < c.staffing.min_coverage}
    roster_ids = {r[1]: r[0] for r in ctx.roster(c)}
    ids = [i for v in short.values() for i in v[2]] + [roster_ids[n] for n in short]
    return [
        _obs(
            "staff.onsite_period_incomplete",
            c,
            "coverage",
            {"min_share": _f(lowest), "short": len(short)},
            ids,
            short=short,
            total=len(cov),
        )
    ]


def cond_coverage(c: Contract | None, t: ReportingTerms) -> dict[str, Any] | None:
    assert c is not None
    return {"$lt": {"min_share": _f(c.staffing.min_coverage)}}


def basis_coverage(o: Observation, c: Contract | None) -> Cited:
    assert c is not None
    s = c.staffing
    text = f"服务期（{c.service_period.start} 至 {c.service_period.end}）内全程驻场服务"
    if s.min_on_site:
        text = f"安排不少于 {s.min_on_site} 名驻场人员，" + text
    return (cite("obligation", s.sources.on_site, "合同", text),)


def describe_coverage(o: Observation, c: Contract | None) -> Described:
    assert c is not None
    short = o.info["short"]
    parts = "；".join(
        f"{n}出勤覆盖 {pct(v[0], 1)}" + (f"，首次打卡 {v[1]}" if v[1] else "，无打卡记录")
        for n, v in sorted(short.items())
    )
    return (
        f"{_vendor(c)}：{o.info['total']} 名驻场人员中有 {len(short)} 名驻场时间不完整（{parts}），"
        f"未按合同在服务期（{c.service_period.start} 起）全程驻场。",
        f"{len(short)} 人出勤覆盖率低于 {pct(c.staffing.min_coverage, 0)}",
        f"服务期内工作日出勤覆盖率不低于 {pct(c.staffing.min_coverage, 0)}",
    )


# ---------------------------------------------------------------- training, deliverables (6–8)


def observe_training(ctx: MetricContext, c: Contract | None) -> list[Observation]:
    assert c is not None
    if c.training is None:
        return []
    m = ctx.training(c)
    required, qualifying = int(m.denominator or 0), int(m.numerator or 0)
    return [
        _obs(
            "training.below_duty",
            c,
            "training",
            {"shortfall": required - qualifying},
            list(m.evidence),
            detail=m.detail,
            duty=c.training.description,
        )
    ]


def basis_training(o: Observation, c: Contract | None) -> Cited:
    assert c is not None and c.training is not None
    duty = c.training
    return (cite("obligation", duty.source, "合同", training_duty(duty)),)


def describe_training(o: Observation, c: Contract | None) -> Described:
    duty = o.info["duty"] or "按合同开展培训"
    return (f"{_vendor(c)}：培训未达合同要求（{duty}）：{o.info['detail']}。", o.info["detail"], duty)


# ---------------------------------------------------------------- scores against evidence (9–11)


def _assessment_rows(ctx: MetricContext, c: Contract) -> dict[tuple[str, Any], list[Any]]:
    rows: dict[tuple[str, Any], list[Any]] = defaultdict(list)
    for rec in ctx.ledger.assessments:
        if rec.contract == c.id:
            rows[(rec.payload.item, rec.payload.period_start)].append(rec)
    return rows


def observe_assessments(ctx: MetricContext, c: Contract | None) -> list[Observation]:
    assert c is not None
    rules = {r.item: r for r in c.assessment_items}
    late = ctx.late_arrivals(c)
    out = []
    for (item, start), unordered in sorted(_assessment_rows(ctx, c).items(), key=lambda kv: (kv[0][0], kv[0][1])):
        # stable whatever the arrival order and the event ids
        recs = sorted(unordered, key=lambda r: (r.payload.rater, r.payload.score, r.event_id))
        rule = rules.get(item)
        period = (recs[0].payload.period_start, recs[0].payload.period_end)
        key = f"{item}@{start}"
        ids = [r.event_id for r in recs]
        scores = [r.payload.score for r in recs]
        maximum = recs[0].payload.max_score
        spread = (max(scores) - min(scores)) / maximum
        out.append(
            _obs(
                "assessment.rater_divergence",
                c,
                key,
                {"spread": _f(spread), "raters": len(recs)},
                ids,
                item=item,
                period=period,
                scores=[(r.payload.rater, r.payload.score) for r in recs],
                maximum=maximum,
                rule=rule,
            )
        )
        if rule is None:
            continue
        if rule.allowed_deductions:
            allowed = {Decimal(a) for a in rule.allowed_deductions}
            off = [
                (r.payload.rater, maximum - r.payload.score) for r in recs if maximum - r.payload.score not in allowed
            ]
            out.append(
                _obs(
                    "assessment.deduction_off_rule",
                    c,
                    key,
                    {"off": len(off)},
                    [r.event_id for r in recs if maximum - r.payload.score not in allowed],
                    item=item,
                    period=period,
                    off=off,
                    allowed=sorted(allowed),
                    rule=rule,
                )
            )
        if rule.attendance:
            in_period = [x for x in late if period[0] <= x[1] <= period[1]]
            full = [r for r in recs if r.payload.score >= maximum]
            out.append(
                _obs(
                    "score.contradicts_attendance",
                    c,
                    key,
                    {"full": len(full), "late": len(in_period)},
                    [r.event_id for r in full] + [x[3] for x in in_period],
                    item=item,
                    period=period,
                    late=in_period,
                    rule=rule,
                )
            )
        if rule.needs_evidence:
            deducted = [r for r in recs if r.payload.score < maximum and not r.payload.evidence_refs]
            out.append(
                _obs(
                    "evidence.unsupported_deduction",
                    c,
                    key,
                    {"unsupported": len(deducted)},
                    [r.event_id for r in deducted],
                    item=item,
                    period=period,
                    raters=[r.payload.rater for r in deducted],
                    rule=rule,
                )
            )
    return out


def cond_divergence(c: Contract | None, t: ReportingTerms) -> dict[str, Any] | None:
    return {"$and": [{"$gte": {"spread": _f(t.max_rater_spread)}}, {"$gt": {"raters": 1}}]}


def describe_divergence(o: Observation, c: Contract | None) -> Described:
    scores = " / ".join(fmt(s) for _, s in o.info["scores"])
    return (
        f"{_vendor(c)}：{_period_of(o.info['period'])}考核“{o.info['item']}”（满分 {fmt(o.info['maximum'])} 分），"
        f"{len(o.info['scores'])} 位评价者分别给出 {scores} 分，差异较大且未说明打分依据。",
        scores,
        "各评价者按同一依据打分，差异有据可查",
    )


def describe_off_rule(o: Observation, c: Contract | None) -> Described:
    off = "、".join(f"{rater}扣 {fmt(d)} 分" for rater, d in o.info["off"])
    allowed = "、".join(fmt(a) for a in o.info["allowed"])
    return (
        f"{_vendor(c)}：{_period_of(o.info['period'])}考核“{o.info['item']}”未按考核规则打分（{off}），"
        f"规则只允许扣 {allowed} 分。",
        off,
        f"扣分 ∈ {{{allowed}}}",
    )


def describe_attendance(o: Observation, c: Contract | None) -> Described:
    staff = sorted({x[0] for x in o.info["late"]})
    return (
        f"{_vendor(c)}：{_period_of(o.info['period'])}打卡记录显示 {len(staff)} 名驻场人员共迟到 "
        f"{o.fields['late']} 次，但考核“{o.info['item']}”给了满分，评分与佐证材料相矛盾。",
        f"迟到 {o.fields['late']} 次、得满分",
        "按迟到次数扣分",
    )


def describe_unsupported(o: Observation, c: Contract | None) -> Described:
    return (
        f"{_vendor(c)}：{_period_of(o.info['period'])}考核“{o.info['item']}”有扣分"
        f"（{'、'.join(o.info['raters'])}），但未提供任何佐证记录，扣分依据不足。",
        f"{o.fields['unsupported']} 项扣分无记录",
        "扣分须附佐证记录",
    )


def latest_self_rows(ctx: MetricContext) -> list[Any]:
    """One row per contract and indicator: a row sent again (a corrected self-evaluation table)
    supersedes the earlier one by when it was recorded — never by its event id."""
    latest: dict[tuple[str | None, str], Any] = {}
    for row in ctx.ledger.self_rows:
        key = (row.contract, row.payload.indicator)
        seen = latest.get(key)
        if seen is None or _row_order(row) > _row_order(seen):
            latest[key] = row
    return [latest[k] for k in sorted(latest, key=lambda k: (k[0] or "", k[1]))]


def _row_order(row: Any) -> tuple[Any, ...]:
    return (row.recorded_at, row.occurred_at, row.payload.model_dump_json())


def observe_self_claims(ctx: MetricContext, c: Contract | None) -> list[Observation]:
    out = []
    for row in latest_self_rows(ctx):
        p = row.payload
        if p.metric is None or p.claimed_rate is None:
            continue
        try:
            m = ctx.measure(MetricRef.model_validate({"name": p.metric, "contract": row.contract}))
        except (MetricError, ValueError):
            continue
        actual = m.rate if m.rate is not None else m.value
        out.append(
            _obs(
                "score.contradicts_evidence",
                None,
                f"self:{row.contract or '-'}:{p.indicator}",
                {"gap": _f(p.claimed_rate - actual)},
                [row.event_id, *m.evidence],
                indicator=p.indicator,
                claimed=p.claimed_rate,
                actual=actual,
                detail=m.detail,
            )
        )
    return out


def describe_self_claim(o: Observation, c: Contract | None) -> Described:
    return (
        f"自评表“{o.info['indicator']}”填报 {pct(o.info['claimed'])}，但佐证材料显示仅为 {pct(o.info['actual'])}"
        f"（{o.info['detail']}），自评结果与佐证材料不符。",
        pct(o.info["actual"]),
        f"自评填报 {pct(o.info['claimed'])}",
    )


def observe_table_mismatch(ctx: MetricContext, c: Contract | None) -> list[Observation]:
    assert c is not None
    approved = {t.name: t for t in c.performance_targets}
    rows = {r.payload.indicator: r for r in latest_self_rows(ctx) if r.contract == c.id}
    if not approved or not rows:
        return []
    missing = sorted(set(approved) - set(rows))
    extra = sorted(set(rows) - set(approved))
    changed = sorted(n for n in set(approved) & set(rows) if rows[n].payload.target not in (None, approved[n].target))
    return [
        _obs(
            "self_eval.table_mismatch",
            c,
            "table",
            {"differences": len(missing) + len(extra) + len(changed)},
            [r.event_id for r in rows.values()],
            missing=missing,
            extra=extra,
            changed=[(n, approved[n].target, rows[n].payload.target) for n in changed],
            targets=[approved[n] for n in sorted([*missing, *changed])],
        )
    ]


def describe_table_mismatch(o: Observation, c: Contract | None) -> Described:
    parts = []
    if o.info["missing"]:
        parts.append("绩效目标表中的" + "、".join(f"“{n}”" for n in o.info["missing"]) + "未在自评表中评价")
    if o.info["extra"]:
        parts.append("自评表新增了目标表中没有的" + "、".join(f"“{n}”" for n in o.info["extra"]))
    if o.info["changed"]:
        parts.append("指标值被调整：" + "；".join(f"“{n}”由 {a} 改为 {b}" for n, a, b in o.info["changed"]))
    return (
        f"{_vendor(c)}：绩效自评表与批复的绩效目标表不一致：" + "；".join(parts) + "。",
        f"{o.fields['differences']} 处差异",
        "自评指标与批复目标表一致",
    )


# ---------------------------------------------------------------- surveys (15), documents (17)


_LEVELS = {1: "一", 2: "两", 3: "三", 4: "四", 5: "五"}


# ---------------------------------------------------------------- the catalogue


def _period_of(period: tuple[Any, Any]) -> str:
    start, end = period
    if start.day == 1 and start.month == end.month:
        return f"{start.year} 年 {start.month} 月"
    return f"{start} 至 {end} "


def gt0(name: str) -> Callable[[Contract | None, ReportingTerms], dict[str, Any]]:
    return lambda c, t: {"$gt": {name: 0}}


def _when(
    pred: Callable[[Contract], bool], cond: Callable[[Contract | None, ReportingTerms], dict[str, Any]]
) -> Callable[[Contract | None, ReportingTerms], dict[str, Any] | None]:
    return lambda c, t: cond(c, t) if c is not None and pred(c) else None


RULES: tuple[Rule, ...] = (
    Rule(
        "staff.names_mismatch",
        1,
        "high",
        observe_names,
        _when(lambda c: bool(c.staffing.committed), gt0("unmatched")),
        describe_names,
        basis=basis_names,
    ),
    Rule(
        "staff.required_role_absent",
        2,
        "high",
        observe_required_roles,
        lambda c, t: {"$lt": {"present": 1}},
        describe_required_role,
        basis=basis_required_role,
    ),
    Rule(
        "staff.role_mix_deviation",
        3,
        "medium",
        observe_role_mix,
        gt0("deviating"),
        describe_role_mix,
        basis=basis_role_mix,
    ),
    Rule(
        "staff.qualification_shortfall",
        4,
        "high",
        observe_experience,
        cond_experience,
        describe_experience,
        basis=basis_experience,
    ),
    Rule(
        "staff.onsite_period_incomplete",
        5,
        "high",
        observe_coverage,
        cond_coverage,
        describe_coverage,
        basis=basis_coverage,
    ),
    Rule(
        "training.below_duty",
        6,
        "medium",
        observe_training,
        gt0("shortfall"),
        describe_training,
        basis=basis_training,
    ),
    Rule(
        "score.contradicts_attendance",
        9,
        "high",
        observe_assessments,
        lambda c, t: {"$and": [{"$gt": {"full": 0}}, {"$gt": {"late": 0}}]},
        describe_attendance,
        basis=basis_assessment,
    ),
    Rule(
        "assessment.rater_divergence",
        10,
        "medium",
        lambda ctx, c: [],
        cond_divergence,
        describe_divergence,
        basis=basis_assessment,
    ),
    Rule(
        "assessment.deduction_off_rule",
        10,
        "medium",
        lambda ctx, c: [],
        gt0("off"),
        describe_off_rule,
        basis=basis_assessment,
    ),
    Rule(
        "evidence.unsupported_deduction",
        11,
        "medium",
        lambda ctx, c: [],
        gt0("unsupported"),
        describe_unsupported,
        basis=basis_assessment,
    ),
    Rule(
        "score.contradicts_evidence",
        9,
        "high",
        observe_self_claims,
        lambda c, t: {"$gt": {"gap": 0.0001}},
        describe_self_claim,
        per_contract=False,
    ),
    Rule(
        "self_eval.table_mismatch",
        16,
        "medium",
        observe_table_mismatch,
        gt0("differences"),
        describe_table_mismatch,
        basis=basis_targets,
    ),
)

RULES_BY_ID = {r.id: r for r in RULES}
