"""The evidence tables' columns: every kind has labelled columns covering every field of its
payload, and cells are written as Chinese evaluators write them."""

from __future__ import annotations

from pathlib import Path

import pytest
from opseval_intake.bundle import load_definition
from opseval_shared.evidence import KIND_OF_CLASS, EvidenceKind, parse_evidence_json
from opseval_shared.evidence_columns import (
    COLUMNS,
    KIND_LABEL,
    cn_date,
    cn_datetime,
    describe,
    export_columns,
    kind_of,
    table_columns,
    term_names,
)

ROOT = Path(__file__).resolve().parents[2]
PAYLOAD_MODELS = {kind: cls.model_fields["payload"].annotation for cls, kind in KIND_OF_CLASS.items()}


@pytest.mark.parametrize("kind", list(EvidenceKind), ids=lambda k: k.value)
def test_every_kind_has_a_chinese_name_and_columns_for_every_payload_field(kind: EvidenceKind) -> None:
    assert KIND_LABEL.get(kind), f"{kind.value} has no Chinese name"
    assert table_columns(kind), f"{kind.value} has no columns on screen"
    payload = PAYLOAD_MODELS[kind]
    assert payload is not None
    covered = {c.key.removeprefix("payload.") for c in COLUMNS[kind] if c.key.startswith("payload.")}
    assert covered == set(payload.model_fields), f"{kind.value}: columns and payload fields differ"
    labels = [c.label for c in export_columns(kind)]
    assert len(labels) == len(set(labels)), f"{kind.value} has two columns with one label"
    assert all(not label.isascii() for label in labels), f"{kind.value} has an English label: {labels}"


def test_a_kind_without_columns_is_noticed() -> None:
    # The check above is over EvidenceKind itself: a kind added to the enum without columns fails it.
    assert set(COLUMNS) == set(EvidenceKind) == set(KIND_LABEL)


def test_dates_are_written_in_chinese_in_the_events_own_offset() -> None:
    assert cn_date("2023-01-02") == "2023年1月2日"
    assert cn_datetime("2023-01-02T08:05:00+08:00") == "2023年1月2日 08:05"
    assert cn_datetime("2023-01-02T08:05:00.250000+08:00") == "2023年1月2日 08:05"
    assert cn_datetime("2023-01-02T00:05:00Z") == "2023年1月2日 00:05（UTC）"
    assert cn_datetime("2023-12-31T23:30:00-05:00") == "2023年12月31日 23:30（UTC-05:00）"


def event(kind: str, payload: str, extra: str = "") -> dict[str, object]:
    text = (
        f'{{"id":"e-1","project":"p","occurred_at":"2023-03-04T09:15:00+08:00",'
        f'"recorded_at":"2023-03-05T10:00:00+08:00","source":"考勤系统","kind":"{kind}","payload":{payload}{extra}}}'
    )
    return parse_evidence_json(text).model_dump(mode="json")


def cells(e: dict[str, object], names: dict[str, dict[str, str]] | None = None) -> dict[str, str]:
    return {c.label: c.cell(e, names) for c in table_columns(kind_of(str(e["kind"])))}


def test_clock_ins_enums_and_flags_read_in_chinese() -> None:
    clock = cells(event("clock_in", '{"staff":"张三","direction":"out"}'))
    assert clock == {"打卡时间": "2023年3月4日 09:15", "人员": "张三", "打卡类型": "下班打卡", "打卡地点": ""}
    budget = cells(event("budget_figure", '{"item":"arrived","amount":"12.50","fiscal_year":2023}'))
    assert budget["资金项目"] == "到位资金" and budget["金额（万元）"] == "12.5" and budget["年度"] == "2023"
    survey = cells(
        event("survey_response", '{"survey":"s","group":"使用单位","satisfied":false,"aspects":{"响应":true}}')
    )
    assert survey["总体评价"] == "不满意" and survey["分项评价"] == "响应：满意"
    roster = cells(event("roster_entry", '{"name":"李四","role":"工程师","certificates":["PMP","软考"]}'))
    assert roster["资格证书"] == "PMP、软考" and roster["驻场"] == "是" and roster["应届毕业生"] == "否"
    training = cells(
        event(
            "training_held",
            '{"topic":"安全","scope":"town","attendees":[{"organisation":"某镇","count":12,"level":"镇"}]}',
        )
    )
    assert training["培训范围"] == "镇级" and training["参训人员"] == "某镇 12 人，镇级"


def test_slugs_are_named_as_the_projects_definition_names_them() -> None:
    names = {"deliverable": {"weekly": "运维周报"}, "contract": {"ops": "运维合同"}}
    delivered = event(
        "deliverable_submitted",
        '{"deliverable":"weekly","title":"第1周周报","document_ref":"OA-1"}',
        ',"contract":"ops"',
    )
    assert cells(delivered, names)["交付物"] == "运维周报"
    assert cells(delivered)["交付物"] == "weekly"  # unknown to the definition: the slug as sent
    lines = dict(describe(delivered, names))
    assert lines["材料类别"] == "交付文档" and lines["合同"] == "运维合同（ops）"  # the detail names the slug too
    assert lines["交付物"] == "运维周报（weekly）"
    assert lines["登记时间"] == "2023年3月5日 10:00" and lines["来源系统"] == "考勤系统"
    assert "发生时间" not in lines  # the kind's own label 提交时间 says it once
    assert lines["提交时间"] == "2023年3月4日 09:15"


def test_term_names_come_from_the_definition() -> None:
    names = term_names(load_definition(ROOT / "examples" / "dongguan-2022"))
    assert names["contract"] and all(not name.isascii() for name in names["contract"].values())
    assert names["indicator"] and names["deliverable"]


def test_a_correction_says_what_it_corrects_and_why() -> None:
    corrected = event(
        "clock_in", '{"staff":"张三"}', ',"corrects":{"event":"e-0","reason":"姓名录入错误","by":"评价组"}'
    )
    lines = dict(describe(corrected))
    assert lines["更正的记录"] == "e-0" and lines["更正理由"] == "姓名录入错误" and lines["更正人"] == "评价组"


def test_unknown_kind_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown evidence kind 'clockin'.*clock_in"):
        kind_of("clockin")
