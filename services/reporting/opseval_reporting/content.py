"""The 绩效评价报告 as content: headed sections of paragraphs, tables and lists.

Built once from an evaluation; the Markdown and HTML renderers (and later DOCX/PDF) only lay it
out. The outline is the official one (财预〔2020〕10号 report outline, as seed 004 shows).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from opseval_shared.labels import KIND_LABEL as KIND_LABEL  # its home is the domain now
from opseval_shared.metrics import fmt, pct
from opseval_shared.project import ProjectDefinition
from opseval_shared.results import STATUS_LABEL, EvaluationResult, EvidenceDocument, Finding, ScoredIndicator

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


# Why findings of a rule family usually arise (原因分析), used where the rule supplies no cause.
CAUSE = {
    "staff": "服务商未严格按投标承诺配置驻场团队，采购人对人员变更和到岗情况的核查不到位。",
    "training": "培训计划未按合同约定的频次和范围落实，项目单位对培训开展情况的跟踪不足。",
    "deliverable": "交付成果缺少台账化管理，对提交周期和时限的跟踪、催交不到位。",
    "targets": "绩效指标值按全年设置，未按项目当年实际实施周期折算。",
    "inspection": "巡检完成后未及时登记，巡检执行与登记时限的管理不够规范。",
    "score": "考核评分未以考勤、交付、故障等记录为依据，自评结果未如实反映完成情况。",
    "assessment": "考核评分细则不够细化，评分口径不统一，扣分依据未予说明。",
    "evidence": "项目档案管理不够完善，部分成果和考核扣分缺少直接佐证材料。",
    "self_eval": "自评指标未与批复的绩效目标表保持一致，调整未履行相应程序。",
    "fault": "故障分级处置机制执行不到位，对故障原因的分析和预防不足。",
    "budget": "预算编制前期论证不充分，测算过程粗放，未按当年实施周期和规定标准编制。",
    "payment": "合同付款条款与考核结果挂钩不紧，全额支付的考核门槛偏低。",
    "survey": "满意度调查的样本设计未覆盖合同要求的各层级用户。",
    "documents": "多个合同之间的工作边界和交付物责任主体划分不够清晰。",
}
GRADE_BANDS = "90 分及以上为优，80（含）至 90 分为良，60（含）至 80 分为中，60 分以下为差"
STRONG_RATE = Decimal("0.95")  # a leaf at or above this score rate, with evidence, counts as a strength
APPENDIX = "附件：佐证材料清单"
NO_DATA = "—"


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]
    merge_first: int = 0  # leading columns whose repeated values read as merged cells
    nowrap: tuple[int, ...] = ()  # columns whose cells must stay on one line (indicator names)
    caption: str = ""  # 表题 above the table, e.g. "表1 佐证材料分类"


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
    kind: str = "绩效评价报告"  # the cover's title: 绩效评价报告 / 绩效自评报告
    cover: list[tuple[str, str]] = field(default_factory=list)  # 项目名称, 委托方, 评价机构, 报告日期 …


@dataclass(frozen=True)
class Edition:
    """The finalised version (定稿版本) documents are rendered from: its cover says 第N版（定稿）
    and the 定稿日期."""

    number: int
    finalised_on: date

    @property
    def label(self) -> str:
        return f"第{self.number}版（定稿）"

    def titled(self, title: str) -> str:
        """A table's title with the version, for documents without a cover (the spreadsheets)."""
        return f"{title}（第{self.number}版定稿，定稿日期{cn_date(self.finalised_on)}）"


# -- how evaluators write numbers, dates and references ---------------------------------------

DASH = "—"  # an empty cell, as forms write it


def cn_date(day: date) -> str:
    """2022年1月1日, as Chinese reports write dates."""
    return f"{day.year}年{day.month}月{day.day}日"


def cn_report_date(text: str) -> str:
    """A 报告日期 of the project definition (YYYY-MM-DD or YYYY-MM) as 2024年4月(1日)."""
    parts = [int(p) for p in text.split("-")]
    return f"{parts[0]}年{parts[1]}月" + (f"{parts[2]}日" if len(parts) > 2 else "")


def places(values: Sequence[Decimal], most: int = 3) -> int:
    """Decimals a column of numbers needs so each shows exactly (up to ``most``): one for the column."""
    needed = 0
    for value in values:
        exponent = value.quantize(Decimal(1).scaleb(-most)).normalize().as_tuple().exponent
        if isinstance(exponent, int):
            needed = max(needed, -exponent)
    return min(needed, most)


def fixed(value: Decimal | None, decimals: int) -> str:
    """``value`` with exactly ``decimals`` decimals (half up); "—" for a missing value."""
    if value is None:
        return NO_DATA
    return format(value.quantize(Decimal(1).scaleb(-decimals), ROUND_HALF_UP), "f")


def column(values: Sequence[Decimal | None], most: int = 3, least: int = 0) -> list[str]:
    """A column of numbers formatted alike: as many decimals as its most precise value needs (at least
    ``least``: amounts in 万元 are written with two)."""
    decimals = max(least, places([v for v in values if v is not None], most))
    return [fixed(v, decimals) for v in values]


_ISO_DAY = re.compile(r"(\d{4})-(\d{2})-(\d{2})(?:\s+(?=[\u4e00-\u9fff]))?")  # "2022-09-07 起" → "…7日起"
_ISO_RANGE = re.compile(r"(\d{4}-\d{2}-\d{2})\s*[~～]\s*(\d{4}-\d{2}-\d{2})")
_METHOD_TAG = re.compile(r"^【([^】]+)】")


def polish(text: str, contracts: dict[str, str]) -> str:
    """A computed sentence as an evaluator writes it: contracts by name instead of id, dates as
    年月日, ≤/≥ instead of <=/>=, and a full stop where a clause was only separated by a space."""
    text = _ISO_RANGE.sub(lambda m: f"{m.group(1)}至{m.group(2)}", text)
    text = _ISO_DAY.sub(lambda m: f"{int(m.group(1))}年{int(m.group(2))}月{int(m.group(3))}日", text)
    text = re.sub(r"(?<=日)\s*至\s*(?=\d{4}年)", "至", text)
    text = text.replace("<=", "≤").replace(">=", "≥")
    for cid, name in contracts.items():
        text = re.sub(rf"(?<![\w.-]){re.escape(cid)}(?=\s*[：:])", name, text)
    text = re.sub(r"(?<=[^\s。；，：、（(])\s+(?=得分保留)", "。", text)
    return text.strip()


def sentence(text: str) -> str:
    """``text`` ending in a full stop."""
    text = text.strip().rstrip("；;，,")
    return text if not text or (text[-1] in "。！？）)" and text.endswith("。")) else text + "。"


def _method_intro(text: str) -> str:
    """ "【比率法】4 × …" → "按比率法计算：4 × …"; "【评价组判定】…" → "评价组判定：…"."""
    match = _METHOD_TAG.match(text)
    if not match:
        return text
    tag, rest = match.group(1), text[match.end() :].lstrip()
    return (f"按{tag}计算：" if tag.endswith("法") else f"{tag}：") + rest


def _contract_names(definition: ProjectDefinition) -> dict[str, str]:
    return {c.id: c.name for c in definition.contracts.contracts}


# -- tables ------------------------------------------------------------------------------------


def _rate(ind: ScoredIndicator) -> str:
    return pct(ind.rate)


def _flat(nodes: tuple[ScoredIndicator, ...]) -> list[tuple[str, str, str, ScoredIndicator]]:
    """(一级, 二级, 三级指标 name, indicator) per leaf; a leaf higher up leaves the lower names empty."""
    out: list[tuple[str, str, str, ScoredIndicator]] = []
    for top in nodes:
        if not top.children:
            out.append((top.name, "", "", top))
        for mid in top.children:
            if not mid.children:
                out.append((top.name, mid.name, "", mid))
            for leaf in mid.children:
                out.append((top.name, mid.name, leaf.name, leaf))
    return out


def _rows(nodes: tuple[ScoredIndicator, ...]) -> list[list[str]]:
    """One row per leaf: the three indicator names, 权重, 得分, 得分率 (each number column alike)."""
    flat = _flat(nodes)
    weights = column([n[3].weight for n in flat])
    scores = column([n[3].score for n in flat])
    return [[a, b, c, w, s, _rate(n)] for (a, b, c, n), w, s in zip(flat, weights, scores, strict=True)]


def level1_table(result: EvaluationResult) -> Table:
    weight = sum((t.weight for t in result.indicators), Decimal(0))
    weights = column([t.weight for t in result.indicators] + [weight])
    scores = column([t.score for t in result.indicators] + [result.total])
    rates = [_rate(t) for t in result.indicators] + [pct(result.total / weight if weight else Decimal(0))]
    names = [t.name for t in result.indicators] + ["合计"]
    return Table(
        ["一级指标", "权重", "得分", "得分率"], [list(r) for r in zip(names, weights, scores, rates, strict=True)]
    )


def all_scored(result: EvaluationResult) -> bool:
    return all(t.status == "scored" for t in result.indicators)


def grade_text(result: EvaluationResult) -> str:
    """The grade as the documents state it: marked 阶段性 while part of the weight is still pending, as
    the dashboard marks it (差 on 17.91 of 24 assessable points is not the project's grade yet)."""
    return result.grade if all_scored(result) else f"{result.grade}（阶段性）"


def assessed_text(result: EvaluationResult) -> str:
    """The total next to the weight it was earned of, when part of the weight is not assessable yet."""
    if all_scored(result) or result.assessable is None:
        return ""
    return (
        f"截至评价基准日，可评权重{fmt(result.assessable, 3)}分，已得{fmt(result.total, 3)}分；"
        f"尚有权重{fmt(result.pending or Decimal(0), 3)}分待评（未到期或评价组尚未判定），不计入得分，"
        "上述得分和等级为阶段性结果。"
    )


def score_table(result: EvaluationResult) -> Table:
    flat = _flat(result.indicators)
    weight = sum((t.weight for t in result.indicators), Decimal(0))
    weights = column([n[3].weight for n in flat] + [weight])
    scores = column([n[3].score for n in flat] + [result.total])
    rows = [[a, b, c, w, s, _rate(n)] for (a, b, c, n), w, s in zip(flat, weights, scores, strict=False)]
    rows.append(["合计", "", "", weights[-1], scores[-1], pct(result.total / weight if weight else Decimal(0))])
    header = ["一级指标", "二级指标", "三级指标", "权重", "得分", "得分率"]
    if not all_scored(result):  # inside the period: which scores are final, partial or still pending
        for row, (_, _, _, n) in zip(rows, flat, strict=False):
            row.append(STATUS_LABEL[n.status])
        rows[-1].append(f"可评 {fmt(result.assessable or Decimal(0), 3)}")
        header.append("评价状态")
    if not any(c for _, _, c, _ in flat):  # a two-level system (自评表): no empty 三级指标 column
        rows = [[r[0], r[1], *r[3:]] for r in rows]
        return Table([header[0], header[1], *header[3:]], rows, merge_first=1, nowrap=(1,))
    return Table(header, rows, merge_first=2, nowrap=(2,))


def text_width(text: str) -> float:
    """Width of ``text`` in ems of the table font: a CJK character one em; Latin as the widest fallback
    font a viewer may use draws it (DejaVu Sans, LibreOffice's stand-in for 宋体: digits 0.64, capitals
    about 0.76, small letters 0.6, marks 0.4); and a quarter em where CJK meets Latin or digits (the space Word
    and LibreOffice put between them)."""
    width, previous = 0.0, None
    for ch in text:
        cjk = ord(ch) >= 0x2E80
        width += 1.0 if cjk else _latin_width(ch)
        if previous is not None and cjk != previous and not ch.isspace() and ch not in _CJK_PUNCT:
            width += 0.25
        previous = None if ch.isspace() or ch in _CJK_PUNCT else cjk
    return width


def _latin_width(ch: str) -> float:
    if ch in _WIDE:
        return _WIDE[ch]
    if ch.isdigit():
        return 0.64
    if ch.isupper():
        return 0.76
    return 0.6 if ch.islower() else 0.4


_WIDE = {"W": 1.0, "M": 0.87, "m": 0.98, "w": 0.82, "%": 0.95}


_CJK_PUNCT = frozenset("（）：；，。、“”《》")


def column_widths(content: Table, available: float, em: float, padding: float) -> list[float]:
    """Column widths (in the unit of ``available``, ``em`` the table font's size and ``padding`` a
    cell's margins) fitted to the content: each column as wide as its widest cell on one line;
    when that is wider than the page, the wrapping text columns (not the numbers nor the ``nowrap``
    indicator names) give up space in proportion to their width, never below their header; when that
    is still too wide, the longest indicator names wrap too, before every column (numbers and headers
    included) would shrink alike and break a line one character short."""
    cols = len(content.header)
    natural = [
        max([text_width(content.header[c])] + [text_width(r[c]) for r in content.rows if c < len(r)]) * em + padding
        for c in range(cols)
    ]
    header = [text_width(h) * em + padding for h in content.header]
    if content.rows and content.rows[-1][0] == "合计" and content.merge_first:
        natural[0] = max(header[0], max((text_width(r[0]) for r in content.rows[:-1]), default=0) * em + padding)
    total = sum(natural)
    if total <= available:  # fill the line: the extra space shared in proportion
        return [w * available / total for w in natural]
    numeric = {c for c in range(cols) if all(_is_number(r[c]) for r in content.rows if c < len(r) and r[c])}
    text = [c for c in range(cols) if c not in numeric and natural[c] > header[c]]
    widths = _capped(natural, [c for c in text if c not in content.nowrap], header, available)
    if sum(widths) > available:
        widths = _capped(widths, [c for c in text if c in content.nowrap], header, available)
    scale = min(1.0, available / sum(widths))  # still too wide: everything shrinks alike
    return [w * scale for w in widths]


def _capped(widths: list[float], flexible: list[int], floor: list[float], available: float) -> list[float]:
    """``widths`` with the ``flexible`` columns cut to a common cap (the widest give up space first,
    short columns keep their one line), each never below its ``floor``, to fit ``available`` if they can."""

    def fitted(cap: float) -> list[float]:
        return [min(w, max(cap, floor[c])) if c in flexible else w for c, w in enumerate(widths)]

    fixed = sum(w for c, w in enumerate(widths) if c not in flexible)
    low, high = 0.0, max(widths)
    if flexible and fixed < available:
        for _ in range(40):
            cap = (low + high) / 2
            low, high = (cap, high) if sum(fitted(cap)) <= available else (low, cap)
    return fitted(low)


def _is_number(text: str) -> bool:
    return text.replace(".", "", 1).replace("%", "").replace("-", "", 1).isdigit()


def _leaves(node: ScoredIndicator) -> list[ScoredIndicator]:
    return [n for n in node.walk() if not n.children]


def _top_of(result: EvaluationResult) -> dict[str, ScoredIndicator]:
    """Each indicator id (at any level) → its 一级指标."""
    out: dict[str, ScoredIndicator] = {}

    def visit(node: ScoredIndicator, top: ScoredIndicator) -> None:
        out[node.id] = top
        for child in node.children:
            visit(child, top)

    for top in result.indicators:
        visit(top, top)
    return out


# -- the report ----------------------------------------------------------------------------------


def _opening(result: EvaluationResult, definition: ProjectDefinition) -> str:
    project = definition.project
    terms = project.evaluation
    period = (
        f"评价期间为{cn_date(terms.period.start)}至{cn_date(terms.period.end)}，评价基准日为{cn_date(result.as_of)}"
    )
    basis = "依据合同约定、绩效目标和佐证材料"
    if result.form == "self_evaluation":
        who = terms.evaluator or project.agency
        return f"{who}{basis}，对“{project.name}”开展单位绩效自评，{period}。"
    form = FORM_LABEL.get(result.form, "绩效评价")
    if terms.commissioned_by:
        who = (
            f"受{terms.commissioned_by}委托，{terms.evaluator}"
            if terms.evaluator
            else f"受{terms.commissioned_by}委托，评价组"
        )
        return f"{who}{basis}，对“{project.name}”开展{form}，{period}。"
    who = terms.evaluator or "评价组"
    return f"{who}{basis}，对“{project.name}”开展{form}，{period}。"


def _cover(result: EvaluationResult, definition: ProjectDefinition, edition: Edition | None) -> list[tuple[str, str]]:
    project = definition.project
    terms = project.evaluation
    rows = [("项目名称", project.name), ("项目单位", project.agency)]
    if project.department and project.department != project.agency:
        rows.append(("主管部门", project.department))
    if terms.commissioned_by:
        rows.append(("委托方", terms.commissioned_by))
    label = "自评单位" if result.form == "self_evaluation" else "评价机构"
    rows.append((label, terms.evaluator or project.agency))
    rows.append(("报告日期", cn_report_date(terms.report_date) if terms.report_date else cn_date(result.as_of)))
    if edition is not None:
        rows += [("定稿版本", edition.label), ("定稿日期", cn_date(edition.finalised_on))]
    return rows


def build_report(result: EvaluationResult, definition: ProjectDefinition, edition: Edition | None = None) -> Report:
    """The report's content; `edition` when it is rendered from a finalised version."""
    project = definition.project
    contracts = _contract_names(definition)
    findings_by_id = {f.id: f for f in result.findings}
    tops = _top_of(result)
    sections: list[Section] = []

    summary = Section("摘要", 1)
    summary.blocks.append(
        f"{_opening(result, definition)}经综合评价，该项目绩效评价得分为{fmt(result.total, 3)}分，"
        f"评定等级为“{grade_text(result)}”。{assessed_text(result)}一级指标得分情况如下："
    )
    summary.blocks.append(level1_table(result))
    if result.findings:
        high = sum(1 for f in result.findings if f.severity == "high")
        by_top = _count_by_top(result, tops)
        spread = "、".join(f"{name}方面 {n} 项" for name, n in by_top)
        summary.blocks.append(
            f"评价共发现问题 {len(result.findings)} 项（其中严重问题 {high} 项），分布在{spread}。主要问题包括："
        )
        ordered = sorted(result.findings, key=lambda f: ("high", "medium", "low").index(f.severity))
        summary.blocks.append([sentence(polish(f.message, contracts)) for f in ordered[:5]])
    else:
        summary.blocks.append("评价未发现合同履约和资金管理方面的问题。")
    sections.append(summary)
    interim = interim_section(result)
    if interim is not None:
        sections.append(interim)
    if result.timeline:
        sections.append(timeline_section(result))

    basic = Section("一、基本情况", 1)
    overview = Section("（一）项目概况", 2)
    if project.background:
        overview.blocks.append(_cjk_text(project.background))
    prices = column([c.price for c in definition.contracts.contracts], most=4, least=2)
    overview.blocks.append(
        Table(
            ["合同", "服务商", "服务期", "合同金额（万元）"],
            [
                [c.name, c.vendor, f"{cn_date(c.service_period.start)}至{cn_date(c.service_period.end)}", price]
                for c, price in zip(definition.contracts.contracts, prices, strict=True)
            ],
        )
    )
    funds = Section("（二）资金投入和使用情况", 2)
    if result.budget:
        amounts = [
            column([getattr(b, item) for b in result.budget], most=4, least=2)
            for item in ("approved", "adjustment", "arrived", "spent")
        ]
        funds.blocks.append(
            Table(
                ["范围", "批复预算", "预算调整", "实际到位", "实际支出"],
                [[b.label, *(col[i] for col in amounts)] for i, b in enumerate(result.budget)],
            )
        )
        funds.blocks.append("单位：万元。“—”表示佐证材料未提供该项数据；数据来自预算批复、资金拨付和支付记录。")
    else:
        funds.blocks.append("佐证材料中未提供预算资金数据。")
    goals = Section("（三）绩效目标", 2)
    goals.blocks.append([sentence(_cjk_text(g)) for g in project.goals] or ["项目未提供绩效目标表述。"])
    targets = [(c.name, t) for c in definition.contracts.contracts for t in c.performance_targets]
    if targets:
        goals.blocks.append(
            Table(["合同", "绩效指标", "指标值"], [[n, t.name, polish(t.target, contracts)] for n, t in targets])
        )
    sections += [basic, overview, funds, goals]

    stats = result.evidence_stats
    work = Section("二、绩效评价工作开展情况", 1)
    system = definition.indicators.name
    named = "" if system.endswith(("指标体系", "指标")) else "指标体系"  # not “…指标体系”指标体系
    work.blocks.append(
        f"本次评价采用“{system}”{named}，共设 {len(result.indicators)} 个一级指标、"
        f"{len(definition.indicators.leaves())} 个末级指标。评价组收集了{len(stats.by_kind)}类共"
        f" {stats.events} 条佐证记录（详见{APPENDIX}），逐项核对合同、投标文件和招标文件的约定，"
        "按指标体系的评分方法计算各项得分，每一项得分均有对应的佐证材料。"
    )
    sections.append(work)

    conclusion = Section("三、综合评价情况及评价结论", 1)
    conclusion.blocks.append(
        f"该项目绩效评价得分为{fmt(result.total, 3)}分，等级为“{grade_text(result)}”（{GRADE_BANDS}）。"
        f"{assessed_text(result)}各级指标得分如下表："
    )
    conclusion.blocks.append(score_table(result))
    sections.append(conclusion)

    analysis = Section("四、绩效评价指标分析", 1)
    sections.append(analysis)
    for n, top in enumerate(result.indicators, start=1):
        sec = Section(f"（{_cn(n)}）{top.name}", 2)
        sec.blocks.append(f"{top.name}指标权重{fmt(top.weight, 3)}分，得分{fmt(top.score, 3)}分，得分率{_rate(top)}。")
        sections.append(sec)
        if not top.children:
            sec.blocks.append(_leaf_paragraph(top, findings_by_id, contracts))
        for m, mid in enumerate(top.children, start=1):
            sub = Section(f"{m}.{mid.name}", 3)
            if mid.children:
                sub.blocks.append(f"权重{fmt(mid.weight, 3)}分，得分{fmt(mid.score, 3)}分，得分率{_rate(mid)}。")
            sections.append(sub)
            for leaf in _leaves(mid):
                sub.blocks.append(_leaf_paragraph(leaf, findings_by_id, contracts))

    lessons = Section("五、主要经验及做法、存在的问题及原因分析", 1)
    experience = Section("（一）主要经验及做法", 2)
    experience.blocks += _strengths(result, contracts) or ["评价期内未形成可总结推广的经验做法。"]
    problems = Section("（二）存在的问题及原因分析", 2)
    sections += [lessons, experience, problems]
    if result.findings:
        problems.blocks.append(f"评价共发现问题 {len(result.findings)} 项，按一级指标归类如下。")
        for n, (name, findings) in enumerate(_group_by_top(result, tops), start=1):
            group = Section(f"{n}.{name}方面", 3)
            group.blocks += _problem_blocks(findings, contracts)
            sections.append(group)
    else:
        problems.blocks.append("评价未发现问题。")

    advice = Section("六、有关建议", 1)
    sections.append(advice)
    suggestions = _advice_by_top(result, tops)
    if suggestions:
        for n, (name, items) in enumerate(suggestions, start=1):
            sub = Section(f"（{_cn(n)}）{name}方面", 2)
            sub.blocks.append(items)
            sections.append(sub)
    else:
        advice.blocks.append("继续保持现有运维管理水平，持续完善绩效管理。")

    other = Section("七、其他需要说明的问题", 1)
    notes = [
        f"本次评价以{cn_date(result.as_of)}为评价基准日，此后发生或登记的事项未纳入评价"
        + (f"（共 {stats.after_as_of} 条佐证记录）。" if stats.after_as_of else "。"),
    ]
    if stats.duplicates:
        notes.append(f"重复报送的佐证记录 {stats.duplicates} 条已去重，未重复计算。")
    notes += _correction_notes(result)
    notes.append(f"各项得分的计算过程见本报告第四部分，所依据的佐证材料见{APPENDIX}。")
    notes += [sentence(polish(w, contracts)) for w in result.warnings]
    other.blocks.append(notes)
    sections.append(other)

    sections.append(_appendix(result, definition))

    kind = "绩效自评报告" if result.form == "self_evaluation" else "绩效评价报告"
    subtitle = f"{project.agency} · 评价基准日 {cn_date(result.as_of)}"
    if edition is not None:
        subtitle += f" · {edition.label}"
    cover = _cover(result, definition, edition)
    return Report(f"{project.name}{kind}", subtitle, sections, kind=kind, cover=cover)


def _correction_notes(result: EvaluationResult) -> list[str]:
    """Corrections and retractions in force, each with its reason and who made it (the report names
    no ids: scores.json lists both events of each)."""
    notes = []
    for c in result.corrections:
        if not c.in_force:
            continue
        who = c.by or c.source
        if c.action == "retracted":
            notes.append(f"一条佐证材料经{who}撤回，未纳入评价（原因：{c.reason}）。")
        else:
            notes.append(f"一条佐证材料经{who}更正，评价采用更正后的记录（原因：{c.reason}）。")
    return notes


FORECAST_ROWS = 15


def interim_section(result: EvaluationResult) -> Section | None:
    """中期评价: inside the period, the projected total at its end and the points still recoverable."""
    f = result.forecast
    if f is None or result.as_of >= f.period_end:
        return None
    sec = Section("中期评价：评价期末得分预测", 1)
    grade = f"“{f.grade_low}”" if f.grade_low == f.grade_high else f"“{f.grade_low}”至“{f.grade_high}”"
    sec.blocks.append(
        f"评价基准日{cn_date(result.as_of)}处于评价期内（评价期已过 {pct(f.elapsed, 0)}，"
        f"评价期末为{cn_date(f.period_end)}）。{assessed_text(result)}"
        f"按下列假设推算，预计评价期末得分约{fmt(f.total, 3)}分，等级“{f.grade}”；"
        f"待评部分结果未知，期末得分可能在{fmt(f.low, 3)}分至{fmt(f.high, 3)}分之间（等级{grade}）。"
    )
    if f.assumptions:
        sec.blocks.append([sentence(a) for a in f.assumptions])
    shown = f.leaves[:FORECAST_ROWS]
    scores = column([leaf.score for leaf in shown])  # each number column with one count of decimals
    projected = column([leaf.projected for leaf in shown])
    recoverable = column([leaf.recoverable for leaf in shown])
    rows = [
        [leaf.name, STATUS_LABEL[leaf.status], s, p, r, leaf.action]
        for leaf, s, p, r in zip(shown, scores, projected, recoverable, strict=True)
    ]
    if rows:
        sec.blocks.append("尚可挽回分值较多的指标及所需佐证或工作如下：")
        sec.blocks.append(Table(["指标", "评价状态", "当前得分", "预计得分", "可挽回分值", "所需佐证或工作"], rows))
    return sec


def timeline_section(result: EvaluationResult) -> Section:
    """得分走势: the evaluation as of each month's end (opseval evaluate --series month)."""
    sec = Section("得分走势", 1)
    points = result.timeline
    sec.blocks.append(
        "按同一批佐证材料，分别以评价期内各月末（及评价基准日）为评价基准日计算的得分如下；"
        "可评权重随各项工作到期和评价组判定逐步增加，得分只计已评部分。"
    )
    totals = column([p.total for p in points])
    assessable = column([p.assessable for p in points])
    rows = [
        [cn_date(p.as_of), t, a, f"{p.grade}（阶段性）" if p.pending else p.grade, str(p.findings)]
        for p, t, a in zip(points, totals, assessable, strict=True)
    ]
    sec.blocks.append(Table(["评价基准日", "得分", "可评权重", "等级", "问题数"], rows))
    return sec


def _leaf_paragraph(leaf: ScoredIndicator, findings: dict[str, Finding], contracts: dict[str, str]) -> str:
    head = f"“{leaf.name}”（权重{fmt(leaf.weight, 3)}分"
    if leaf.target:
        head += f"，指标值{polish(leaf.target, contracts)}"
    if leaf.status == "pending":
        head += "）待评，暂不计分。"
    elif leaf.status == "partial" and leaf.assessable is not None and leaf.assessable < leaf.weight:
        head += f"）已评{fmt(leaf.assessable, 3)}分，得{fmt(leaf.score, 3)}分，其余待评。"
    elif leaf.status == "no_evidence":
        head += f"）得{fmt(leaf.score, 3)}分（应有佐证而未见）。"
    else:
        head += f"）得{fmt(leaf.score, 3)}分。"
    actual = polish(leaf.actual or "", contracts)
    body = ""
    # a judged score says nothing beyond 得分, nor 待评 beyond the head's 待评，暂不计分
    if actual and actual != STATUS_LABEL["pending"] and not re.fullmatch(r"[\d.]+ ?分", actual):
        body += f"实际完成{actual}。"
    if leaf.explanation:
        body += sentence(_method_intro(polish(leaf.explanation, contracts)))
    related = [findings[i] for i in (leaf.findings or ()) if i in findings]
    if related:
        body += f"发现相关问题 {len(related)} 项（见本报告第五部分）。"
    if leaf.evidence:
        body += f"依据佐证记录 {len(leaf.evidence)} 条。"
    return head + body


_POINT = re.compile(r"([^；：]+)：得 ([\d.]+)/([\d.]+) 分，([^；]+)")


def _strengths(result: EvaluationResult, contracts: dict[str, str]) -> list[str]:
    """What the evidence shows was done well, by 一级指标: leaves at ≥95% backed by evidence (their
    met targets), and the checklist points a judged leaf scored in full (with the evaluators' reason)."""
    paragraphs = []
    for top in result.indicators:
        items: list[str] = []
        for leaf in _leaves(top):
            if not leaf.evidence or leaf.weight <= 0:
                continue
            points = [m for m in _POINT.finditer(leaf.explanation or "") if Decimal(m.group(2)) == Decimal(m.group(3))]
            if points and leaf.rate >= Decimal("0.5"):
                reasons = "；".join(polish(m.group(4), contracts).rstrip("。") for m in points[:2])
                items.append(f"{leaf.name}方面，{reasons}")
            elif leaf.rate >= STRONG_RATE and leaf.actual and not re.fullmatch(r"[\d.]+ ?分", leaf.actual):
                actual = polish(leaf.actual, contracts)
                target = f"指标值{polish(leaf.target, contracts)}" if leaf.target else "指标要求"
                reached = "达到" if leaf.rate >= 1 else "接近"  # 98.8% of a 100% target is near it, not at it
                if "：" in actual:  # one figure per contract: the sentence names the indicator only
                    items.append(f"{leaf.name}{reached}{target}")
                else:
                    items.append(f"{leaf.name}为{actual}，{reached}{target}")
            elif leaf.rate >= STRONG_RATE and (leaf.explanation or "").startswith("【评价组判定】"):
                items.append(polish(leaf.explanation or "", contracts)[len("【评价组判定】") :].rstrip("。"))
        if items:
            paragraphs.append(f"{top.name}方面：" + "；".join(items[:6]) + "。")
    return paragraphs


def _count_by_top(result: EvaluationResult, tops: dict[str, ScoredIndicator]) -> list[tuple[str, int]]:
    return [(name, len(findings)) for name, findings in _group_by_top(result, tops)]


def _group_by_top(result: EvaluationResult, tops: dict[str, ScoredIndicator]) -> list[tuple[str, list[Finding]]]:
    """Findings by the 一级指标 they bear on, in the tree's order; findings on no indicator last."""
    order = [t.name for t in result.indicators] + ["其他"]
    groups: dict[str, list[Finding]] = {}
    for f in result.findings:
        top = tops.get(f.indicator or "")
        groups.setdefault(top.name if top else "其他", []).append(f)
    return [(name, groups[name]) for name in order if name in groups]


def _family(f: Finding) -> str:
    return f.rule.split(".")[0]


def _problem_blocks(findings: list[Finding], contracts: dict[str, str]) -> list[str | Table | list[str]]:
    """The findings of one 一级指标, those sharing a cause together, each group followed by its 原因分析."""
    by_cause: dict[str, list[Finding]] = {}
    for f in findings:
        by_cause.setdefault(f.cause.strip() or CAUSE.get(_family(f), ""), []).append(f)
    blocks: list[str | Table | list[str]] = []
    n = 0
    for cause, group in by_cause.items():
        for f in group:
            n += 1
            blocks.append(f"（{n}）{sentence(polish(f.message, contracts))}")
        if cause:
            blocks.append(f"原因分析：{sentence(polish(cause, contracts))}")
    return blocks


def _advice_by_top(result: EvaluationResult, tops: dict[str, ScoredIndicator]) -> list[tuple[str, list[str]]]:
    """建议 by 一级指标: each rule's advice (or its family's), once."""
    out = []
    seen: set[str] = set()
    for name, findings in _group_by_top(result, tops):
        items = []
        for f in findings:
            text = f.advice.strip() or ADVICE.get(_family(f), "")
            if text and text not in seen:
                seen.add(text)
                items.append(sentence(text))
        if items:
            out.append((name, items))
    return out


def _appendix(result: EvaluationResult, definition: ProjectDefinition) -> Section:
    """附件：佐证材料清单 — the evidence by category, then which indicator rests on how much of it."""
    stats = result.evidence_stats
    appendix = Section(APPENDIX, 1)
    rows = [[str(i), KIND_LABEL.get(k, k), str(n)] for i, (k, n) in enumerate(stats.by_kind.items(), start=1)]
    total = ["合计", "", str(stats.events)]
    appendix.blocks.append(Table(["序号", "佐证材料", "条数"], [*rows, total], nowrap=(1,), caption="表1 佐证材料分类"))
    leaves = _flat(result.indicators)
    appendix.blocks.append(
        Table(
            ["一级指标", "指标", "佐证记录（条）", "相关问题（项）"],
            [[a, c or b or a, str(len(n.evidence or ())), str(len(n.findings or ()))] for a, b, c, n in leaves],
            merge_first=1,
            nowrap=(1,),
            caption="表2 各指标依据的佐证材料与相关问题",
        )
    )
    appendix.blocks.extend(_document_list(result, definition))
    appendix.blocks.append(
        "佐证记录按记录编号保存在评价系统中，可按指标逐条调阅原始记录（考勤、交付文档、工单、问卷、预算资料等）。"
    )
    return appendix


# A report lists each delivered document up to this many; beyond it, one row per deliverable (the
# workbook's 佐证文件 sheet lists them all), so that a project of thousands stays a readable report.
DOCUMENTS_LISTED = 200


def _document_list(result: EvaluationResult, definition: ProjectDefinition) -> list[str | Table | list[str]]:
    """表3 佐证文件清单: each document delivered, by contract and deliverable, with its reference (one
    table per contract, 表3-1, 表3-2 …, where there are several)."""
    if not result.documents:
        return ["评价期内未收到交付文档类佐证材料。"]
    names = deliverable_names(definition)
    by_contract: dict[str, list[EvidenceDocument]] = {}
    for d in result.documents:
        by_contract.setdefault(d.contract, []).append(d)
    contracts = _contract_names(definition)
    several = len(definition.contracts.contracts) > 1
    listed = len(result.documents) <= DOCUMENTS_LISTED
    blocks: list[str | Table | list[str]] = []
    for number, (contract, documents) in enumerate(by_contract.items(), start=1):
        label = f"表3-{number}" if several else "表3"
        whose = f"（{contracts[contract]}）" if several else ""
        if listed:
            rows = [document_row(d, names) for d in documents]
            table = Table(DOCUMENT_HEADER, rows, merge_first=1, nowrap=(2, 4), caption=f"{label} 佐证文件清单{whose}")
            blocks.append(table)
            continue
        groups: dict[str, list[EvidenceDocument]] = {}
        for d in documents:
            groups.setdefault(d.deliverable, []).append(d)
        rows = [
            [
                names[(contract, deliverable)],
                str(len(docs)),
                cn_date(min(d.submitted for d in docs)),
                cn_date(max(d.submitted for d in docs)),
            ]
            for deliverable, docs in groups.items()
        ]
        header = ["交付要求", "份数", "最早提交", "最晚提交"]
        blocks.append(Table(header, rows, nowrap=(2, 3), caption=f"{label} 佐证文件汇总{whose}"))
    if not listed:
        blocks.append(
            f"评价期内共收到交付文档 {len(result.documents)} 份，按交付要求汇总列示；逐份清单（文件名称、文档编号、"
            "所属期间、提交日期）见指标得分表工作簿的“佐证文件”工作表。"
        )
    return blocks


DOCUMENT_HEADER = ["交付要求", "文件名称", "文档编号", "所属期间", "提交日期"]


def document_row(d: EvidenceDocument, names: dict[tuple[str, str], str]) -> list[str]:
    """A delivered document as the 佐证文件清单 lists it (the report's table and the workbook's sheet)."""
    return [
        names[(d.contract, d.deliverable)],
        d.title,
        d.reference,
        period_text(d.period_start, d.period_end),
        cn_date(d.submitted),
    ]


def deliverable_names(definition: ProjectDefinition) -> dict[tuple[str, str], str]:
    """Each deliverable's display name, by (contract, deliverable) id."""
    return {(c.id, t.id): t.name for c in definition.contracts.contracts for t in c.deliverables}


def period_text(start: date | None, end: date | None) -> str:
    """A document's period as evaluators write it: 2022年3月, 2022年第1季度, 2022年 or a range."""
    if start is None or end is None:
        return DASH
    month_end = (end + timedelta(days=1)).day == 1
    if start.day == 1 and month_end and start.year == end.year:
        if start.month == end.month:
            return f"{start.year}年{start.month}月"
        if start.month % 3 == 1 and end.month == start.month + 2:
            return f"{start.year}年第{(start.month + 2) // 3}季度"
        if start.month == 1 and end.month == 12:
            return f"{start.year}年"
    end_text = cn_date(end) if end.year != start.year else cn_date(end).removeprefix(f"{end.year}年")
    return f"{cn_date(start)}至{end_text}"


def _cjk_text(text: str) -> str:
    """Drop the spaces YAML folding puts between Chinese lines."""
    return re.sub(rf"(?<=[{_CJK}])\s+(?=[{_CJK}\w])|(?<=[\w])\s+(?=[{_CJK}])", "", text.strip())


_CJK = r"\u3000-\u303f\u4e00-\u9fff\uff00-\uffef"


def _cn(n: int) -> str:
    return "一二三四五六七八九十"[n - 1] if 1 <= n <= 10 else str(n)
