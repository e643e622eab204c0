"""The 绩效评价报告 as content: headed sections of paragraphs, tables and lists.

Built once from an evaluation; the Markdown and HTML renderers (and later DOCX/PDF) only lay it
out. The outline is the official one (财预〔2020〕10号 report outline, as seed 004 shows).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal

from opseval_shared.metrics import fmt, pct
from opseval_shared.project import ProjectDefinition
from opseval_shared.results import EvaluationResult, Finding, ScoredIndicator

KIND_LABEL = {
    "roster_entry": "驻场人员名单",
    "clock_in": "考勤打卡记录",
    "deliverable_submitted": "交付文档",
    "inspection_done": "巡检记录",
    "training_held": "培训记录",
    "incident": "故障工单",
    "ticket_volume": "工单量统计",
    "survey_response": "满意度问卷",
    "budget_figure": "预算资金数据",
    "unit_rate": "预算单价",
    "budget_calculation": "预算测算过程",
    "vendor_assessment": "考核打分记录",
    "acceptance_result": "验收结果",
    "asset_count": "运维资产数量",
    "judgment": "评价组判定",
    "self_evaluation_row": "自评表填报",
}
SEVERITY_LABEL = {"high": "严重", "medium": "一般", "low": "提示"}
FORM_LABEL = {
    "third_party": "第三方绩效评价",
    "department": "部门绩效评价",
    "self_evaluation": "单位绩效自评",
    "key_project": "重点项目绩效评价",
}

ADVICE = {
    "staff": "严格落实驻场人员管理：按投标承诺名单和岗位结构配置驻场团队，人员变更须经采购人书面同意并报备，"
    "招标要求实质响应的岗位不得缺位，定期核查人员资质与考勤。",
    "training": "按合同约定的频次和范围组织培训，覆盖全部应培训单位，并留存签到表、课件等佐证材料。",
    "deliverable": "建立交付物台账，按合同周期和时限跟踪周报、月报、季报等成果的提交，逾期或缺交的依约扣分。",
    "targets": "按项目当年实际实施周期设置和折算绩效指标值，避免按全年设置导致目标与实际脱节。",
    "inspection": "规范巡检的执行与登记时限，巡检完成后及时登记留档。",
    "score": "考核评分须以佐证材料为依据，评分结果与考勤、交付、故障等记录一致；自评结果应如实反映完成情况。",
    "assessment": "细化考核评分细则，统一评分口径并要求评价者说明扣分依据，提高考核扣分力度。",
    "evidence": "完善项目档案管理，合同要求的各项成果和考核扣分均应有直接佐证材料。",
    "self_eval": "自评指标应与批复的绩效目标表保持一致，确需调整的履行调整程序。",
    "fault": "加强故障分级管理，按级别时限响应、到场和修复，定期分析故障原因，提升系统稳定性。",
    "budget": "科学测算预算：按当年实施周期和工作量编制预算，采用规定的计费标准，复核测算过程，"
    "提高预算执行与资金到位水平。",
    "payment": "完善合同付款与考核条款，提高全额支付的考核门槛，使付款与履约质量挂钩。",
    "survey": "按合同要求开展覆盖各层级用户的满意度调查，保证样本的广度和深度。",
    "documents": "明确多个合同之间的工作边界和交付物责任主体，避免成果物重复。",
}


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]
    merge_first: int = 0  # leading columns whose repeated values read as merged cells


@dataclass
class Section:
    title: str
    level: int
    blocks: list[str | Table | list[str]] = field(default_factory=list)


@dataclass
class Report:
    title: str
    subtitle: str
    sections: list[Section]


def _rate(ind: ScoredIndicator) -> str:
    return pct(ind.rate)


def _rows(nodes: tuple[ScoredIndicator, ...]) -> list[list[str]]:
    rows: list[list[str]] = []
    for top in nodes:
        if not top.children:
            rows.append([top.name, "", "", fmt(top.weight, 3), fmt(top.score, 3), _rate(top)])
        for mid in top.children:
            if not mid.children:
                rows.append([top.name, mid.name, "", fmt(mid.weight, 3), fmt(mid.score, 3), _rate(mid)])
            for leaf in mid.children:
                rows.append([top.name, mid.name, leaf.name, fmt(leaf.weight, 3), fmt(leaf.score, 3), _rate(leaf)])
    return rows


def level1_table(result: EvaluationResult) -> Table:
    rows = [[t.name, fmt(t.weight, 3), fmt(t.score, 3), _rate(t)] for t in result.indicators]
    weight = sum((t.weight for t in result.indicators), Decimal(0))
    rows.append(["合计", fmt(weight, 3), fmt(result.total, 3), pct(result.total / weight if weight else Decimal(0))])
    return Table(["一级指标", "权重", "得分", "得分率"], rows)


def score_table(result: EvaluationResult) -> Table:
    rows = _rows(result.indicators)
    weight = sum((t.weight for t in result.indicators), Decimal(0))
    rows.append(
        ["合计", "", "", fmt(weight, 3), fmt(result.total, 3), pct(result.total / weight if weight else Decimal(0))]
    )
    return Table(["一级指标", "二级指标", "三级指标", "权重", "得分", "得分率"], rows, merge_first=2)


def _leaves(node: ScoredIndicator) -> list[ScoredIndicator]:
    if not node.children:
        return [node]
    return [leaf for child in node.children for leaf in _leaves(child)]


def build_report(result: EvaluationResult, definition: ProjectDefinition) -> Report:
    project = definition.project
    findings_by_id = {f.id: f for f in result.findings}
    sections: list[Section] = []

    summary = Section("摘要", 1)
    summary.blocks.append(
        f"受{project.evaluation.evaluator or project.agency}委托，依据合同约定、绩效目标和佐证材料，对“{project.name}”"
        f"开展{FORM_LABEL.get(result.form, '绩效评价')}。评价期间为 {project.evaluation.period.start} 至 "
        f"{project.evaluation.period.end}，评价基准日为 {result.as_of}。经综合评价，该项目绩效评价得分为 "
        f"{fmt(result.total, 3)} 分，评定等级为“{result.grade}”。一级指标得分情况如下："
    )
    summary.blocks.append(level1_table(result))
    if result.findings:
        high = sum(1 for f in result.findings if f.severity == "high")
        summary.blocks.append(f"评价共发现问题 {len(result.findings)} 项（其中严重 {high} 项），主要包括：")
        summary.blocks.append([f.message for f in result.findings[:5]])
    else:
        summary.blocks.append("评价未发现合同履约和资金管理方面的问题。")
    sections.append(summary)

    basic = Section("一、基本情况", 1)
    overview = Section("（一）项目概况", 2)
    if project.background:
        overview.blocks.append(_cjk_text(project.background))
    overview.blocks.append(
        Table(
            ["合同", "服务商", "服务期", "合同金额（万元）"],
            [
                [
                    c.name,
                    c.vendor,
                    f"{c.service_period.start} 至 {c.service_period.end}",
                    fmt(c.price, 3) if c.price is not None else "—",
                ]
                for c in definition.contracts.contracts
            ],
        )
    )
    funds = Section("（二）资金投入和使用情况", 2)
    if result.budget:
        funds.blocks.append(
            Table(
                ["范围", "批复预算", "预算调整", "实际到位", "实际支出"],
                [
                    [b.label, *(_amount(x) for x in (b.approved, b.adjustment, b.arrived, b.spent))]
                    for b in result.budget
                ],
            )
        )
        funds.blocks.append("单位：万元；“—”表示佐证材料未提供该项数据。数据来自预算批复、资金拨付和支付记录。")
    else:
        funds.blocks.append("佐证材料中未提供预算资金数据。")
    goals = Section("（三）绩效目标", 2)
    goals.blocks.append(list(project.goals) or ["（项目未提供绩效目标表述）"])
    targets = [(c.name, t) for c in definition.contracts.contracts for t in c.performance_targets]
    if targets:
        goals.blocks.append(Table(["合同", "绩效指标", "指标值"], [[n, t.name, t.target] for n, t in targets]))
    sections += [basic, overview, funds, goals]

    work = Section("二、绩效评价工作开展情况", 1)
    work.blocks.append(
        f"本次评价采用“{definition.indicators.name}”指标体系，共设 {len(result.indicators)} 个一级指标、"
        f"{len(definition.indicators.leaves())} 个末级指标。评价依据各业务系统推送的佐证材料逐项计算：每一项得分"
        "均可追溯到产生它的佐证记录；合同履约问题由规则引擎依据合同、投标文件和招标文件的约定自动核查。"
    )
    stats = result.evidence_stats
    work.blocks.append(
        Table(
            ["佐证材料类别", "条数"],
            [[KIND_LABEL.get(k, k), str(n)] for k, n in stats.by_kind.items()] + [["合计", str(stats.events)]],
        )
    )
    sections.append(work)

    conclusion = Section("三、综合评价情况及评价结论", 1)
    conclusion.blocks.append(
        f"该项目绩效评价得分为 {fmt(result.total, 3)} 分，等级为“{result.grade}”"
        "（90 分及以上为优，80–90 分为良，60–80 分为中，60 分以下为差）。各级指标得分如下表："
    )
    conclusion.blocks.append(score_table(result))
    sections.append(conclusion)

    analysis = Section("四、绩效评价指标分析", 1)
    sections.append(analysis)
    for n, top in enumerate(result.indicators, start=1):
        sec = Section(f"（{_cn(n)}）{top.name}", 2)
        sec.blocks.append(
            f"{top.name}指标权重 {fmt(top.weight, 3)} 分，得分 {fmt(top.score, 3)} 分，得分率 {_rate(top)}。"
        )
        sections.append(sec)
        for m, mid in enumerate(top.children or (), start=1):
            sub = Section(f"{m}.{mid.name}", 3)
            if mid.children:
                sub.blocks.append(f"权重 {fmt(mid.weight, 3)} 分，得分 {fmt(mid.score, 3)} 分，得分率 {_rate(mid)}。")
            sections.append(sub)
            for leaf in _leaves(mid):
                sub.blocks.append(_leaf_paragraph(leaf, findings_by_id))

    lessons = Section("五、主要经验及做法、存在的问题及原因分析", 1)
    full = [leaf for top in result.indicators for leaf in _leaves(top) if leaf.score == leaf.weight and leaf.weight > 0]
    experience = Section("（一）主要经验及做法", 2)
    experience.blocks.append(
        [f"{leaf.name}：{(leaf.actual or '').strip()}，得满分。" for leaf in full[:12]] or ["无得满分的指标。"]
    )
    problems = Section("（二）存在的问题及原因分析", 2)
    if result.findings:
        items = []
        for f in result.findings:
            cite = f"（佐证：{_cite(f.evidence)}）" if f.evidence else ""
            items.append(f"【{SEVERITY_LABEL[f.severity]}】{f.message}{cite}")
        problems.blocks.append(items)
    else:
        problems.blocks.append("未发现问题。")
    sections += [lessons, experience, problems]

    advice = Section("六、有关建议", 1)
    families = []
    for f in result.findings:
        family = f.rule.split(".")[0]
        if family in ADVICE and family not in families:
            families.append(family)
    advice.blocks.append([ADVICE[f] for f in families] or ["继续保持现有运维管理水平，持续完善绩效管理。"])
    sections.append(advice)

    other = Section("七、其他需要说明的问题", 1)
    notes = [
        f"评价以 {result.as_of} 为基准日：此后发生或登记的 {stats.after_as_of} 条佐证记录未纳入本次评价。",
        f"重复推送的佐证记录 {stats.duplicates} 条已按记录编号去重，未重复计算。",
        "本报告所有得分均由佐证材料计算得出，逐项得分的计算过程与佐证记录编号见 scores.json。",
    ]
    notes += list(result.warnings)
    other.blocks.append(notes)
    sections.append(other)

    return Report(f"{project.name}绩效评价报告", f"{project.agency} · 评价基准日 {result.as_of}", sections)


def _leaf_paragraph(leaf: ScoredIndicator, findings: dict[str, Finding]) -> str:
    text = (
        f"“{leaf.name}”（权重 {fmt(leaf.weight, 3)} 分{f'，指标值 {leaf.target}' if leaf.target else ''}）："
        f"实际 {leaf.actual or '—'}，得 {fmt(leaf.score, 3)} 分。{leaf.explanation or ''}"
    )
    related = [findings[i] for i in (leaf.findings or ()) if i in findings]
    if related:
        text += " 相关问题：" + "；".join(f"{f.message}（{f.id}）" for f in related[:3])
    if leaf.evidence:
        text += f" 佐证记录 {len(leaf.evidence)} 条（{_cite(leaf.evidence)}）。"
    return text


def _cite(ids: tuple[str, ...] | None, limit: int = 3) -> str:
    ids = ids or ()
    shown = "、".join(ids[:limit])
    return shown + (f" 等 {len(ids)} 条" if len(ids) > limit else "")


def _amount(value: Decimal | None) -> str:
    return "—" if value is None else fmt(value, 3)


_CJK = r"\u3000-\u303f\u4e00-\u9fff\uff00-\uffef"


def _cjk_text(text: str) -> str:
    """Drop the spaces YAML folding puts between Chinese lines."""
    return re.sub(rf"(?<=[{_CJK}])\s+(?=[{_CJK}\w])|(?<=[\w])\s+(?=[{_CJK}])", "", text.strip())


def _cn(n: int) -> str:
    return "一二三四五六七八九十"[n - 1] if 1 <= n <= 10 else str(n)
