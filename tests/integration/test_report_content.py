"""The report content reads as an evaluator writes it: a cover from the project definition, problems by
一级指标 with their 原因分析 (the rule's cause when it gives one), advice by 一级指标, strengths drawn from
evidence-backed results, and no machine ids."""

from __future__ import annotations

import json
import re
from datetime import date
from functools import cache
from pathlib import Path
from typing import Any

from opseval_reporting.content import APPENDIX, DOCUMENTS_LISTED, Report, Section, Table, build_report, period_text
from opseval_shared.project import ProjectDefinition
from opseval_shared.results import EvaluationResult

from opseval.embedded import evaluate_bundle

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@cache
def evaluated(name: str) -> tuple[EvaluationResult, ProjectDefinition]:
    return evaluate_bundle(EXAMPLES / name)


def _section(report: Report, title: str) -> Section:
    return next(s for s in report.sections if s.title == title)


def _text(report: Report) -> str:
    parts: list[str] = []
    for section in report.sections:
        parts.append(section.title)
        for block in section.blocks:
            if isinstance(block, Table):
                parts += [" ".join(block.header), *(" ".join(r) for r in block.rows)]
            elif isinstance(block, list):
                parts += block
            else:
                parts.append(block)
    return "\n".join(parts)


def test_the_cover_comes_from_the_project_definition() -> None:
    report = build_report(*evaluated("dongguan-2022"))
    cover = dict(report.cover)
    assert cover["项目名称"] == "2022年东莞市一体化政务服务平台运维与运营服务项目"
    assert cover["委托方"] == "东莞市财政局"
    assert cover["评价机构"] == "广州零点有数数据科技有限公司"
    assert cover["报告日期"] == "2023年5月31日"  # none given: the 评价基准日
    assert dict(build_report(*evaluated("urumqi-2023")).cover)["报告日期"] == "2024年4月"


def test_a_self_evaluation_does_not_open_as_commissioned() -> None:
    report = build_report(*evaluated("guangzhou-2021"))
    opening = _section(report, "摘要").blocks[0]
    assert isinstance(opening, str)
    assert not opening.startswith("受") and "委托" not in opening
    assert opening.startswith("广州市人民政府办公厅依据") and "单位绩效自评" in opening
    assert report.kind == "绩效自评报告" and dict(report.cover)["自评单位"] == "广州市人民政府办公厅"
    commissioned = _section(build_report(*evaluated("dongguan-2022")), "摘要").blocks[0]
    assert isinstance(commissioned, str) and commissioned.startswith("受东莞市财政局委托，广州零点有数")


def test_the_indicator_system_is_named_once_not_as_a_system_of_a_system() -> None:
    work = _text(build_report(*evaluated("dongguan-2022")))
    assert "本次评价采用“2022年东莞市一体化政务服务平台运维与运营服务项目绩效评价指标体系”，共设" in work
    assert "指标体系”指标体系" not in work
    named = _text(build_report(*evaluated("guangzhou-2023")))  # a system named without 体系
    assert "指标”指标体系" not in named and "采用“部门重点项目绩效评价指标”，共设" in named
    selfeval = _text(build_report(*evaluated("guangzhou-2021")))
    assert "采用“2021年度项目支出绩效自评表”指标体系，共设" in selfeval


def test_no_event_finding_or_contract_ids_and_no_iso_dates() -> None:
    result, definition = evaluated("dongguan-2022")
    report = build_report(result, definition)
    # The documents' own titles are quoted as delivered ("运营周报（2022-09-05~2022-09-11）"): the report's
    # own words are checked, and the titles only for ids.
    listings = [b for b in _section(report, APPENDIX).blocks if isinstance(b, Table) and "佐证文件" in b.caption]
    titles = [row[1] for listing in listings for row in listing.rows]
    for listing in listings:
        listing.rows = [[row[0], "", *row[2:]] for row in listing.rows]
    text = _text(report)
    assert titles and not re.search(r"F-[0-9a-f]{10}", "".join(titles))
    assert not [e for f in result.findings for e in f.evidence if e in "".join(titles)]
    assert not re.search(r"F-[0-9a-f]{10}", text)
    cited = {e for f in result.findings for e in f.evidence}
    assert cited and not [e for e in cited if e in text]
    assert not re.search(r"(?<![A-Za-z0-9_-])(ops|operation)(?![A-Za-z0-9_-])", text)
    assert not re.search(r"\d{4}-\d{2}-\d{2}", text)
    assert "scores.json" not in text and "<=" not in text and ">=" not in text
    assert "0 条佐证记录未纳入" not in text


def test_problems_are_grouped_by_level1_with_a_cause_each() -> None:
    result, definition = evaluated("dongguan-2022")
    report = build_report(result, definition)
    titles = [s.title for s in report.sections]
    start = titles.index("（二）存在的问题及原因分析")
    groups = [s for s in report.sections[start + 1 : titles.index("六、有关建议")] if s.level == 3]
    assert [g.title for g in groups] == ["1.决策方面", "2.过程方面", "3.产出方面", "4.效益方面"]
    problems = [b for g in groups for b in g.blocks if isinstance(b, str) and re.match(r"（\d+）", b)]
    assert len(problems) == len(result.findings)
    for group in groups:
        assert any(isinstance(b, str) and b.startswith("原因分析：") for b in group.blocks), group.title


def test_the_rules_cause_and_advice_are_used_when_they_give_them() -> None:
    result, definition = evaluated("dongguan-2022")
    first = result.findings[0]
    given = first.model_copy(
        update={"cause": "服务商投标时虚报驻场团队，采购人未核验", "advice": "建立驻场人员核验机制"}
    )
    report = build_report(result.model_copy(update={"findings": (given, *result.findings[1:])}), definition)
    text = _text(report)
    assert "原因分析：服务商投标时虚报驻场团队，采购人未核验。" in text
    assert "建立驻场人员核验机制。" in text
    # without them, the rule family's own wording stands in
    bare = tuple(f.model_copy(update={"cause": "", "advice": ""}) for f in result.findings)
    assert "原因分析：服务商未严格按投标承诺配置驻场团队" in _text(
        build_report(result.model_copy(update={"findings": bare}), definition)
    )


def test_advice_is_grouped_by_level1_and_strengths_rest_on_evidence() -> None:
    result, definition = evaluated("dongguan-2022")
    report = build_report(result, definition)
    titles = [s.title for s in report.sections]
    advice = report.sections[titles.index("六、有关建议") + 1 : titles.index("七、其他需要说明的问题")]
    assert [s.title for s in advice] == ["（一）决策方面", "（二）过程方面", "（三）产出方面", "（四）效益方面"]
    strengths = _section(report, "（一）主要经验及做法").blocks
    assert strengths and all(isinstance(b, str) for b in strengths)
    assert any("符合国发〔2018〕27号" in str(b) for b in strengths)  # a checklist point scored in full
    assert not any("评价组判定" in str(b) for b in strengths)
    appendix = _section(report, APPENDIX)
    tables = [b for b in appendix.blocks if isinstance(b, Table)]
    assert tables[0].rows[-1] == ["合计", "", str(result.evidence_stats.events)]


def test_a_strength_below_its_target_is_called_near_it_not_reached() -> None:
    result, definition = evaluated("service-centre-2024")
    strengths = " ".join(str(b) for b in _section(build_report(result, definition), "（一）主要经验及做法").blocks)
    assert "日常巡检完成率为248/251 = 98.80%，接近指标值100%" in strengths  # 98.8% of a 100% target
    assert "达到指标值100%" not in strengths


def _delivered(name: str) -> list[dict[str, Any]]:
    """The deliverable submissions of an example's evidence files, read apart from opseval's ledger."""
    rows = []
    for path in sorted((EXAMPLES / name / "evidence").glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            event = json.loads(line)
            if event["kind"] == "deliverable_submitted":
                rows.append(event["payload"])
    return rows


def test_the_appendix_lists_every_delivered_document_by_title_and_reference() -> None:
    result, definition = evaluated("dongguan-2022")
    appendix = _section(build_report(result, definition), APPENDIX)
    tables = [b for b in appendix.blocks if isinstance(b, Table) and "佐证文件清单" in b.caption]
    # two contracts: a table each, named by the contract's display name, never its id
    assert [t.caption for t in tables] == ["表3-1 佐证文件清单（运维服务项目）", "表3-2 佐证文件清单（运营服务项目）"]
    rows = [r for t in tables for r in t.rows]
    delivered = _delivered("dongguan-2022")
    assert len(delivered) == len(result.documents) == len(rows) > 20
    assert sorted((r[1], r[2]) for r in rows) == sorted((p["title"], p["document_ref"]) for p in delivered)
    assert next(r for r in rows if r[2] == "YW-YB-202209") == [
        "运维月报",
        "9月运维月报",
        "YW-YB-202209",
        "2022年9月",
        "2022年10月4日",
    ]


def test_a_project_with_many_documents_lists_them_by_deliverable_and_points_to_the_workbook() -> None:
    result, definition = evaluated("dongguan-2022")
    many = result.model_copy(update={"documents": result.documents * (DOCUMENTS_LISTED // len(result.documents) + 1)})
    appendix = _section(build_report(many, definition), APPENDIX)
    tables = [b for b in appendix.blocks if isinstance(b, Table) and "佐证文件汇总" in b.caption]
    assert len(tables) == 2
    assert sum(int(r[1]) for t in tables for r in t.rows) == len(many.documents) > DOCUMENTS_LISTED
    assert not any(isinstance(b, Table) and "佐证文件清单" in b.caption for b in appendix.blocks)
    assert any(isinstance(b, str) and "“佐证文件”工作表" in b for b in appendix.blocks)


def test_document_periods_read_as_evaluators_write_them() -> None:
    assert period_text(date(2022, 3, 1), date(2022, 3, 31)) == "2022年3月"
    assert period_text(date(2022, 4, 1), date(2022, 6, 30)) == "2022年第2季度"
    assert period_text(date(2022, 1, 1), date(2022, 12, 31)) == "2022年"
    assert period_text(date(2022, 9, 5), date(2022, 9, 11)) == "2022年9月5日至9月11日"
    assert period_text(date(2022, 12, 26), date(2023, 1, 1)) == "2022年12月26日至2023年1月1日"
    assert period_text(None, None) == "—"
