"""A starting indicator system (indicators.yaml) from the spreadsheet agencies write it in: columns
一级指标 / 二级指标 / 三级指标 / 权重 (分值) / 指标值 / 评分标准, one row per last-level indicator, the
upper levels written once and left empty (or merged) below.

Each leaf starts scored by the evaluator's judgment, its 指标值 and 评分标准 kept as written: the file
evaluates at once, and each leaf is then given its computed method where the evidence allows.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError

from .imports import HEADER_SEARCH_ROWS, ImportFailed, ImportProblem, Table, _header
from .indicators import IndicatorSystem

LEVEL_COLUMNS = (("一级指标", "一级"), ("二级指标", "二级"), ("三级指标", "三级"))
WEIGHT_COLUMNS = ("权重", "分值", "指标分值", "权重（分）", "权重(分)", "分值（分）")
TARGET_COLUMNS = ("指标值", "目标值", "指标值（目标）")
CRITERIA_COLUMNS = ("评分标准", "评分细则", "评分方法", "评分规则")


def _find(header: list[str], names: Sequence[str]) -> int | None:
    return next((header.index(n) for n in names if n in header), None)


_STATED = re.compile(r"^(.*?)\s*[（(]\s*(\d+(?:\.\d+)?)\s*分?\s*[)）]$")


def _stated_weight(name: str) -> tuple[str, Decimal | None]:
    """An upper level's name and the weight written in it: “决策（20分）” is 决策, 20."""
    match = _STATED.match(name)
    return (match.group(1), Decimal(match.group(2))) if match and match.group(1) else (name, None)


def _weight(text: str) -> Decimal:
    cleaned = text.strip().removesuffix("分").strip()
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(f"权重“{text}”不是数字") from None
    if value < 0 or not value.is_finite():
        raise ValueError(f"权重“{text}”不能为负")
    return value


def indicator_system_from_table(
    table: Table, *, system_id: str, name: str, form: str = "third_party"
) -> tuple[dict[str, Any], list[str]]:
    """The indicator system as plain data (for YAML) and warnings; ImportFailed naming each bad row."""
    rows = iter(table.rows)
    number = 0
    columns: dict[str, int | None] = {}
    for cells in rows:
        number += 1
        header = [_header(c) for c in cells]
        levels = [_find(header, names) for names in LEVEL_COLUMNS]
        weight = _find(header, WEIGHT_COLUMNS)
        if levels[0] is not None and weight is not None:
            columns = {"weight": weight, "target": _find(header, TARGET_COLUMNS)}
            columns |= {"criteria": _find(header, CRITERIA_COLUMNS)}
            columns |= {f"level{i}": index for i, index in enumerate(levels)}
            break
        if number >= HEADER_SEARCH_ROWS:
            break
    if not columns:
        reason = f"找不到表头：前 {HEADER_SEARCH_ROWS} 行中没有一行同时含有“一级指标”和“权重”（或“分值”）列"
        raise ImportFailed([ImportProblem(file=table.name, row=None, reason=reason)])

    def cell(row: Sequence[str], key: str) -> str:
        index = columns.get(key)
        return row[index].strip() if index is not None and index < len(row) else ""

    problems: list[ImportProblem] = []
    tops: list[dict[str, Any]] = []
    current: list[str] = ["", "", ""]
    nodes: dict[tuple[str, ...], dict[str, Any]] = {}
    for row in rows:
        number += 1
        names = [cell(row, f"level{i}") for i in range(3)]
        if not any(names) and not cell(row, "weight"):
            continue
        # An empty upper level is the one above (merged cells, or written once per group).
        first = next((level for level in range(3) if names[level]), 3)
        current = current[:first] + names[first:]
        path = tuple(n for n in current if n)
        if not path:
            problems.append(ImportProblem(file=table.name, row=number, column="一级指标", reason="没有指标名称"))
            continue
        try:
            leaf_weight = _weight(cell(row, "weight"))
        except ValueError as exc:
            problems.append(ImportProblem(file=table.name, row=number, column="权重", reason=str(exc)))
            continue
        if path in nodes:
            problems.append(
                ImportProblem(file=table.name, row=number, column=None, reason=f"指标“{'／'.join(path)}”重复")
            )
            continue
        siblings = tops
        for depth in range(1, len(path)):
            parent = nodes.get(path[:depth])
            if parent is None:
                name, stated = _stated_weight(path[depth - 1])
                parent = {"id": "", "name": name, "weight": Decimal(0), "children": [], "stated": stated, "row": number}
                parent["id"] = f"{_parent_id(siblings, path[: depth - 1], nodes)}{len(siblings) + 1}"
                nodes[path[:depth]] = parent
                siblings.append(parent)
            if "method" in parent:
                reason = f"“{parent['name']}”已作为末级指标计分，不能再有下级指标"
                problems.append(ImportProblem(file=table.name, row=number, column=None, reason=reason))
                break
            siblings = parent["children"]
        else:
            leaf: dict[str, Any] = {
                "id": f"{_parent_id(siblings, path[:-1], nodes)}{len(siblings) + 1}",
                "name": path[-1],
                "weight": leaf_weight,
                "method": {"type": "judgment"},
            }
            if cell(row, "target"):
                leaf["target"] = cell(row, "target")
            if cell(row, "criteria"):
                leaf["description"] = cell(row, "criteria")
            nodes[path] = leaf
            siblings.append(leaf)
    if problems:
        raise ImportFailed(problems)
    if not tops:
        raise ImportFailed([ImportProblem(file=table.name, row=number, reason="表头以下没有指标")])
    for top in tops:
        _sum_weights(top)
    for node in nodes.values():
        stated = node.pop("stated", None)
        row = node.pop("row", None)
        if stated is not None and stated != node["weight"]:
            reason = f"“{node['name']}”写明 {stated} 分，下级指标合计 {node['weight']} 分"
            problems.append(ImportProblem(file=table.name, row=row, column="权重", reason=reason))
    if problems:
        raise ImportFailed(problems)
    total = sum((t["weight"] for t in tops), Decimal(0))
    warnings = [] if total == 100 else [f"一级指标权重合计 {total}，不是 100：总分按 {total} 计"]
    system = {"id": system_id, "name": name, "form": form, "total": total, "indicators": tops}
    try:
        IndicatorSystem.model_validate(system)
    except ValidationError as exc:  # names too long, ids … : said as the model says it
        errors = [ImportProblem(file=table.name, reason=str(e["msg"])) for e in exc.errors(include_url=False)]
        raise ImportFailed(errors) from None
    return _plain(system), warnings


def _parent_id(siblings: list[dict[str, Any]], parent_path: tuple[str, ...], nodes: dict[tuple[str, ...], Any]) -> str:
    """Ids by position: i1, i1-2, i1-2-3 (the names are Chinese; an id is a slug)."""
    return f"{nodes[parent_path]['id']}-" if parent_path else "i"


def _sum_weights(node: dict[str, Any]) -> Decimal:
    if "children" in node:
        node["weight"] = sum((_sum_weights(c) for c in node["children"]), Decimal(0))
    weight: Decimal = node["weight"]
    return weight


def _plain(value: Any) -> Any:
    """Decimals as the int or float YAML writes plainly."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
