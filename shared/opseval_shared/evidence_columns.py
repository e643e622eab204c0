"""Evidence as evaluators read it (佐证材料表): for each kind of event its Chinese name and the
labelled columns of its table, and how each field is written — dates as 2023年1月2日, enums and
flags in Chinese, the contract's slugs by the names the contract gives them.

One place for the workbench's tables, the event detail and the XLSX export. Pure: a column reads a
field of an event as JSON (the stored form) and returns the text of its cell.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from .evidence import EvidenceKind
from .project import ProjectDefinition
from .values import fmt

Render = Literal["text", "date", "datetime", "number", "flag", "enum", "list", "attendees", "aspects", "term"]

KIND_LABEL: dict[EvidenceKind, str] = {
    EvidenceKind.ROSTER_ENTRY: "驻场人员名单",
    EvidenceKind.CLOCK_IN: "考勤打卡记录",
    EvidenceKind.DELIVERABLE_SUBMITTED: "交付文档",
    EvidenceKind.INSPECTION_DONE: "巡检记录",
    EvidenceKind.TRAINING_HELD: "培训记录",
    EvidenceKind.INCIDENT: "故障工单",
    EvidenceKind.TICKET_VOLUME: "工单量统计",
    EvidenceKind.SURVEY_RESPONSE: "满意度问卷",
    EvidenceKind.BUDGET_FIGURE: "预算资金数据",
    EvidenceKind.UNIT_RATE: "预算单价",
    EvidenceKind.BUDGET_CALCULATION: "预算测算过程",
    EvidenceKind.VENDOR_ASSESSMENT: "考核打分记录",
    EvidenceKind.ACCEPTANCE_RESULT: "验收结果",
    EvidenceKind.ASSET_COUNT: "运维资产数量",
    EvidenceKind.JUDGMENT: "评价组判定",
    EvidenceKind.SELF_EVALUATION_ROW: "自评表填报",
    EvidenceKind.RETRACTION: "撤回记录",
}

YES_NO = ("是", "否")


@dataclass(frozen=True)
class Column:
    """One column: `key` is the field's path in the event ("occurred_at", "payload.staff")."""

    key: str
    label: str
    render: Render = "text"
    # enum: value -> Chinese; flag: (true, false) texts; term: which of the definition's names
    labels: Mapping[str, str] = field(default_factory=dict)
    flag: tuple[str, str] = YES_NO
    term: str = ""
    numeric: bool = False
    in_table: bool = True  # False: in the detail and the export only (long texts, lists)

    def value(self, event: Mapping[str, Any]) -> Any:
        current: Any = event
        for part in self.key.split("."):
            if not isinstance(current, Mapping):
                return None
            current = current.get(part)
        return current

    def cell(self, event: Mapping[str, Any], names: TermNames | None = None, *, slugs: bool = False) -> str:
        """The column's text for one event (JSON as stored); "" for a field the event leaves out.
        A contract's slug reads as its name; `slugs` adds the slug itself, for the detail."""
        return render_value(self, self.value(event), names, slugs=slugs)


# The contract's and indicator system's names of the slugs events carry, by term:
# {"deliverable": {"weekly": "运维周报"}, "plan": {...}, "severity": {...}, ...}
TermNames = Mapping[str, Mapping[str, str]]


def term_names(definition: ProjectDefinition) -> dict[str, dict[str, str]]:
    """The names the project's definition gives the slugs in its events."""
    names: dict[str, dict[str, str]] = {
        "contract": {},
        "deliverable": {},
        "plan": {},
        "severity": {},
        "asset_class": {},
        "indicator": {},
        "point": {},
    }
    for contract in definition.contracts.contracts:
        names["contract"][contract.id] = contract.name
        names["deliverable"].update((d.id, d.name) for d in contract.deliverables)
        names["plan"].update((p.id, p.name) for p in contract.inspections)
        names["severity"].update((s.severity, s.label) for s in contract.slas if s.label)
        names["asset_class"].update((a.asset_class, a.name) for a in contract.assets)
    for top in definition.indicators.indicators:
        for node in top.walk():
            names["indicator"][node.id] = node.name
            points = getattr(node.method, "points", None) or ()
            names["point"].update((p.id, p.text) for p in points)
    return names


def cn_date(text: str) -> str:
    """2023-01-02 (or the date of 2023-01-02T08:00:00+08:00) as 2023年1月2日."""
    year, month, day = text[:10].split("-")
    return f"{int(year)}年{int(month)}月{int(day)}日"


def cn_datetime(text: str) -> str:
    """A moment as written, in its own offset: 2023年1月2日 08:00 (the offset only when not China's)."""
    when = cn_date(text)
    if len(text) < 16:
        return when
    offset = text[19:].lstrip(".0123456789")
    away = "" if offset in ("+08:00", "") else f"（UTC{'' if offset == 'Z' else offset}）"
    return f"{when} {text[11:16]}{away}"


def _number(value: Any) -> str:
    try:
        return fmt(Decimal(str(value)), 6)
    except (InvalidOperation, ValueError):
        return str(value)


def render_value(column: Column, value: Any, names: TermNames | None = None, *, slugs: bool = False) -> str:
    if value is None or value == "" or value == [] or value == {}:
        return ""
    match column.render:
        case "date":
            return cn_date(str(value))
        case "datetime":
            return cn_datetime(str(value))
        case "number":
            return _number(value)
        case "flag":
            return column.flag[0] if value else column.flag[1]
        case "enum":
            return column.labels.get(str(value), str(value))
        case "term":
            name = (names or {}).get(column.term, {}).get(str(value))
            if not name:
                return str(value)
            return f"{name}（{value}）" if slugs else name
        case "list":
            return "、".join(str(v) for v in value)
        case "attendees":
            parts = []
            for a in value:
                level = f"，{a['level']}级" if a.get("level") else ""
                parts.append(f"{a['organisation']} {a['count']} 人{level}")
            return "；".join(parts)
        case "aspects":
            return "；".join(f"{k}：{'满意' if v else '不满意'}" for k, v in value.items())
        case _:
            return str(value)


# ---------------------------------------------------------------- the columns of each kind


def _when(label: str = "发生时间", render: Render = "datetime") -> Column:
    return Column("occurred_at", label, render)


def _p(name: str, label: str, render: Render = "text", **more: Any) -> Column:
    return Column(f"payload.{name}", label, render, numeric=render == "number", **more)


def _period(label: str = "所属期间") -> tuple[Column, Column]:
    return _p("period_start", f"{label}起", "date"), _p("period_end", f"{label}止", "date")


COLUMNS: dict[EvidenceKind, tuple[Column, ...]] = {
    EvidenceKind.ROSTER_ENTRY: (
        _p("name", "姓名"),
        _p("role", "岗位"),
        _p("education", "学历"),
        _p("years", "工作年限（年）", "number"),
        _p("certificates", "资格证书", "list"),
        _p("fresh_graduate", "应届毕业生", "flag"),
        _p("on_site", "驻场", "flag"),
        _when("登记日期", "date"),
    ),
    EvidenceKind.CLOCK_IN: (
        _when("打卡时间"),
        _p("staff", "人员"),
        _p("direction", "打卡类型", "enum", labels={"in": "上班打卡", "out": "下班打卡"}),
        _p("site", "打卡地点"),
    ),
    EvidenceKind.DELIVERABLE_SUBMITTED: (
        _when("提交时间"),
        _p("deliverable", "交付物", "term", term="deliverable"),
        _p("title", "文档标题"),
        *_period(),
        _p("document_ref", "文档编号"),
        _p("quantity", "份数", "number"),
        _p("sections", "目录章节", "list", in_table=False),
    ),
    EvidenceKind.INSPECTION_DONE: (
        _when("巡检时间"),
        _p("plan", "巡检计划", "term", term="plan"),
        _p("asset_class", "资产类别", "term", term="asset_class"),
        _p("scope", "巡检范围"),
        _p("items", "巡检项数", "number"),
    ),
    EvidenceKind.TRAINING_HELD: (
        _when("培训时间"),
        _p("topic", "培训主题"),
        _p(
            "scope",
            "培训范围",
            "enum",
            labels={"city": "市级", "district": "区级", "town": "镇级", "internal": "内部", "other": "其他"},
        ),
        _p("units_covered", "覆盖单位数", "number"),
        _p("attendees", "参训人员", "attendees"),
        _p("courseware", "有课件", "flag"),
    ),
    EvidenceKind.INCIDENT: (
        _when("报障时间"),
        _p("ticket", "工单号"),
        _p("severity", "故障等级", "term", term="severity"),
        _p("cause", "故障原因", "enum", labels={"internal": "内部原因", "external": "外部原因", "unknown": "未查明"}),
        _p("system", "所属系统"),
        _p("title", "故障描述"),
        _p("responded_at", "响应时间", "datetime"),
        _p("on_site_at", "到场时间", "datetime"),
        _p("resolved_at", "解决时间", "datetime"),
    ),
    EvidenceKind.TICKET_VOLUME: (
        *_period("统计期间"),
        _p("category", "工单类别"),
        _p("count", "工单数量", "number"),
        _when("登记日期", "date"),
    ),
    EvidenceKind.SURVEY_RESPONSE: (
        _when("答卷时间"),
        _p("survey", "问卷"),
        _p("group", "调查对象"),
        _p("level", "层级"),
        _p("respondent", "答卷人"),
        _p("satisfied", "总体评价", "flag", flag=("满意", "不满意")),
        _p("aspects", "分项评价", "aspects"),
    ),
    EvidenceKind.BUDGET_FIGURE: (
        _p("fiscal_year", "年度"),
        _p(
            "item",
            "资金项目",
            "enum",
            labels={
                "approved": "批复预算",
                "adjustment": "预算调整",
                "arrived": "到位资金",
                "spent": "实际支出",
                "contract_price": "合同金额",
            },
        ),
        _p("amount", "金额（万元）", "number"),
        _p("note", "说明"),
        _when("登记日期", "date"),
    ),
    EvidenceKind.UNIT_RATE: (
        _p("module", "服务模块"),
        _p("rate", "单价（万元/人月）", "number"),
        _p("person_months", "人月数", "number"),
        _p("grade", "人员级别"),
        _when("登记日期", "date"),
    ),
    EvidenceKind.BUDGET_CALCULATION: (
        _p("description", "测算内容"),
        _p("operation", "运算", "enum", labels={"product": "乘积", "sum": "求和"}),
        _p("factors", "因数", "list"),
        _p("stated_result", "文中结果", "number"),
        _p("precision", "保留小数位", "number"),
        _when("登记日期", "date"),
    ),
    EvidenceKind.VENDOR_ASSESSMENT: (
        *_period("考核期间"),
        _p("rater", "打分人"),
        _p("item", "考核项目"),
        _p("score", "得分", "number"),
        _p("max_score", "满分", "number"),
        _p("evidence_refs", "佐证文档", "list", in_table=False),
        _when("打分日期", "date"),
    ),
    EvidenceKind.ACCEPTANCE_RESULT: (
        *_period("验收期间"),
        _p("score", "验收得分", "number"),
        _p("passed", "验收结论", "flag", flag=("通过", "未通过")),
        _when("验收日期", "date"),
    ),
    EvidenceKind.ASSET_COUNT: (
        _p("asset_class", "资产类别", "term", term="asset_class"),
        _p("count", "数量", "number"),
        _when("登记日期", "date"),
    ),
    EvidenceKind.JUDGMENT: (
        _when("判定时间"),
        _p("indicator", "指标", "term", term="indicator"),
        _p("point", "评价要点", "term", term="point"),
        _p("awarded", "判定得分", "number"),
        _p("reason", "判定理由"),
        _p("evaluator", "评价人"),
    ),
    EvidenceKind.SELF_EVALUATION_ROW: (
        _p("indicator", "指标"),
        _p("target", "年度指标值"),
        _p("actual", "实际完成值"),
        _p("claimed_rate", "自评完成率", "number"),
        _p("weight", "分值", "number"),
        _p("score", "自评得分", "number"),
        _p("metric", "对应度量", in_table=False),
        _when("填报日期", "date"),
    ),
    EvidenceKind.RETRACTION: (
        _when("撤回时间"),
        _p("event", "被撤回的记录"),
        _p("reason", "撤回理由"),
        _p("by", "撤回人"),
    ),
}

# What every event has besides its payload: shown in the detail and the export.
ENVELOPE_COLUMNS: tuple[Column, ...] = (
    Column("id", "记录编号"),
    Column("contract", "合同", "term", term="contract"),
    Column("occurred_at", "发生时间", "datetime"),
    Column("recorded_at", "登记时间", "datetime"),
    Column("source", "来源系统"),
    Column("corrects.event", "更正的记录"),
    Column("corrects.reason", "更正理由"),
    Column("corrects.by", "更正人"),
)


def kind_of(name: str) -> EvidenceKind:
    """The kind named `name` (an API parameter), or ValueError listing the kinds."""
    try:
        return EvidenceKind(name)
    except ValueError:
        known = ", ".join(k.value for k in EvidenceKind)
        raise ValueError(f"unknown evidence kind {name!r} (known: {known})") from None


def table_columns(kind: EvidenceKind) -> tuple[Column, ...]:
    """The columns of a kind's table on screen."""
    return tuple(c for c in COLUMNS[kind] if c.in_table)


def export_columns(kind: EvidenceKind) -> tuple[Column, ...]:
    """Every column of a kind, for the detail and the XLSX export: its own, then the envelope's
    (occurred_at once, under the kind's own label when the kind shows it)."""
    own = COLUMNS[kind]
    shown = {c.key for c in own}
    return own + tuple(c for c in ENVELOPE_COLUMNS if c.key not in shown)


def describe(event: Mapping[str, Any], names: TermNames | None = None) -> list[tuple[str, str]]:
    """An event as (label, text) lines in Chinese, its fields left empty left out."""
    kind = kind_of(str(event.get("kind")))
    lines = [("材料类别", KIND_LABEL[kind])]
    lines.extend((c.label, c.cell(event, names, slugs=True)) for c in export_columns(kind))
    return [(label, text) for label, text in lines if text]
