"""Every shipped import profile turns a small export (CSV in GBK or UTF-8 with a BOM, XLSX written by
openpyxl) into exactly the JSON lines pinned in tests/integration/pinned_imports/, byte for byte, and
a bad export into exactly the pinned problems (file, row, column, reason). Ids are derived from
content: a change to them makes re-importing a file yield new events instead of duplicates, so any
change here must be deliberate.

The samples cover what the converter has fast and slow paths for: several time formats in one
column, dates without times, repeated rows (`/n` ids), blank and short rows, a title above the
header, value maps and booleans, list items (`attendees.0.count`), constants given with --set, times
in the payload later than the row's (recorded_at and the `/time` id), an explicit recorded_at
column, a UTC profile (`Z` times) and a profile id long enough for the times to be hashed in the id.
Each sample is also imported in chunks of two and three rows, so that repeats and distinct values
that cross chunk boundaries are pinned too.

To write the pinned files again after a deliberate change: OPSEVAL_PIN_IMPORTS=write pytest this file.
"""

from __future__ import annotations

import io
import os
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import Workbook  # type: ignore[import-untyped]
from opseval_intake.profiles import profile_names, standard_profile
from opseval_shared import imports
from opseval_shared.evidence import EVIDENCE_ADAPTER
from opseval_shared.imports import Importer, ImportFailed, ImportProfile, Target, read_table
from opseval_shared.references import EvidenceReferences

from opseval.embedded import fold_bundle

ROOT = Path(__file__).resolve().parents[2]
GUANGZHOU = ROOT / "examples" / "guangzhou-2023"
PINNED = Path(__file__).parent / "pinned_imports"
WRITE = os.environ.get("OPSEVAL_PIN_IMPORTS") == "write"

Rows = list[tuple[object, ...]]

CLOCK: Rows = [
    ("广州市考勤明细导出",),  # a title above the header
    ("工号", "姓名", "打卡时间", "打卡地点", "打卡类型"),
    ("E01", "陈立新", "2023-07-03 08:01:00", "市委编办", "上班"),
    ("E02", "王晓峰", "2023/07/03 08:02", "市委编办", "签到"),
    ("E01", "陈立新", "2023-07-03 18:05:00", "市委编办", "下班"),
    ("E01", "陈立新", "2023-07-03 18:05:00", "市委编办", "下班"),  # a repeat: `/2`
    ("", "", "", "", ""),  # a blank row is skipped
    ("E03", "李敏", "2023-07-04 08:00"),  # a short row: site and direction left out
    ("E02", "王晓峰", " 2023-07-04 07:59:59 ", "", "上班打卡"),
    ("E01", "陈立新", "2023-07-03T18:05:00+08:00", "市委编办", "下班"),  # ISO: the same time again, `/3`
    ("E04", "赵红", "2023-07-20 08:30:00", "市政务服务中心", "上班签到"),
    ("E04", "赵红", "2023-07-20 17:30", "市政务服务中心", "下班签退"),
    ("E01", "陈立新", "2023-07-03 18:05:00", "市委编办", "下班"),  # `/4`
]

GD3 = ("咨询", "内部")
TICKETS: Rows = [
    ("2023年7月故障工单导出",),
    ("工单编号", "故障等级", "报障时间", "响应时间", "到场时间", "解决时间", "故障描述", "故障原因类别", "更新时间"),
    ("GD-001", "一级", datetime(2023, 7, 4, 9, 0), datetime(2023, 7, 4, 9, 10), None, "2023-07-04 11:00", "宕机"),
    ("GD-002", "一般", datetime(2023, 7, 5, 14, 30), None, None, None, "卡纸", "外部", "2023-07-05 15:00"),
    *[("GD-003", "二级", "2023/07/20 10:00", "2023-07-20 10:05:00", "2023-07-20 10:40", "2023-07-20 12:00", *GD3)] * 2,
    ("GD-004", "二级故障", "2023-07-21 23:59:59", None, None, None, None, "不明", "2023-07-22 00:10"),
]

DOCUMENTS: Rows = [
    ("交付物编号", "文档名称", "文档编号", "提交时间", "周期开始", "周期结束", "份数"),
    ("weekly_report", "第1周周报", "OA-2023-001", "2023-07-05 09:00", "2023-07-03", "2023-07-09", ""),
    ("weekly_report", "第2周周报", "OA-2023-002", "2023/07/12", "2023/07/10", "2023/07/16", "1"),
    ("monthly_report", "7月月报", "OA-2023-010", "2023-08-02", "2023-07-01", "2023-07-31", "2"),
    ("asset_register", "资产台账", "档案室/2023/资产台账.xlsx", "2023-08-02 16:45:30", "", "", ""),
]

INSPECTIONS: Rows = [
    ("巡检时间", "巡检计划", "设备类别", "巡检范围", "巡检项数", "登记时间"),
    ("2023-07-03 08:20", "morning_check", "服务器", "机房", "12", "2023-07-03 08:50"),
    ("2023-07-04", "morning_check", "", "", "", ""),
    ("2023/07/05 08:15:00", "weekly_check", "网络", "全楼", "30", "2023/07/05"),
    ("2023-07-04", "morning_check", "", "", "", ""),
]

TRAINING: Rows = [
    ("培训时间", "培训主题", "培训范围", "覆盖单位数", "参训单位", "参训人数", "单位层级", "是否有课件"),
    (datetime(2023, 9, 1), "协同办公平台使用", "内部", 3, "市委编办", 25, "市", "是"),
    ("2023/09/15", "公文系统操作", "全市", None, "各区编办", 40.0, None, "否"),
    (datetime(2023, 10, 8, 14, 30), "安全意识", None, None, None, None, None, None),
]

SURVEY: Rows = [
    ("提交时间", "受访群体", "层级", "受访人", "总体评价"),
    ("2023-12-01", "使用单位", "市", "", "满意"),
    ("2023-12-01", "使用单位", "市", "", "满意"),
    ("2023-12-01 10:00", "使用单位", "镇", "张三", "不满意"),
    ("2023/12/02", "办事人", "", "", "非常满意"),
]

LONG_ID = "ticket-system-of-the-municipal-government-service-centre-export"  # 63 characters

# case → (profile, file format, rows, target)
CASES: dict[str, tuple[str, str, Rows, Target]] = {
    "attendance-clock": ("attendance-clock", "gbk", CLOCK, Target("guangzhou-2023", "ops")),
    "ticket-system": ("ticket-system", "xlsx", TICKETS, Target("guangzhou-2023", "ops")),
    "document-register": ("document-register", "utf-8-sig", DOCUMENTS, Target("guangzhou-2023", "ops")),
    "inspection-log": ("inspection-log", "gbk", INSPECTIONS, Target("guangzhou-2023", "ops")),
    "training-log": ("training-log", "xlsx", TRAINING, Target("guangzhou-2023", "ops", source="hr-system")),
    "questionnaire": ("questionnaire", "utf-8-sig", SURVEY, Target("guangzhou-2023", values={"survey": "ops-2023"})),
    "clock-utc": ("clock-utc", "utf-8", CLOCK, Target("guangzhou-2023", "ops")),
    # no day 20 here: the long id's pinned form is the one ids were first written in (see test_short_ids)
    "ticket-long-id": (LONG_ID, "gbk", [r for r in TICKETS if "2023-07-20" not in str(r)], Target("p")),
}


def profile_for(name: str) -> ImportProfile:
    if name == "clock-utc":
        return standard_profile("attendance-clock").model_copy(update={"id": name, "timezone": "+00:00"})
    if name == LONG_ID:
        return standard_profile("ticket-system").model_copy(update={"id": name})
    return standard_profile(name)


def export_bytes(rows: Rows, fmt: str) -> bytes:
    if fmt == "xlsx":
        book = Workbook()
        for row in rows:
            book.active.append(list(row))
        out = io.BytesIO()
        book.save(out)
        return out.getvalue()
    return "".join(",".join("" if c is None else str(c) for c in r) + "\r\n" for r in rows).encode(fmt)


def references() -> EvidenceReferences:
    return EvidenceReferences(fold_bundle(GUANGZHOU).definition)


def import_case(case: str) -> bytes:
    name, fmt, rows, target = CASES[case]
    table = read_table(export_bytes(rows, fmt), f"{case}.{'xlsx' if fmt == 'xlsx' else 'csv'}")
    checked = references() if target.project == "guangzhou-2023" else None
    return b"".join(Importer(profile_for(name), target, checked).lines(table))


def test_every_shipped_profile_has_a_pinned_sample() -> None:
    assert set(profile_names()) <= {name for name, _, _, _ in CASES.values()}


@pytest.mark.parametrize("chunk_rows", [20_000, 1_000, 3, 2])
@pytest.mark.parametrize("case", sorted(CASES))
def test_a_sample_export_becomes_exactly_the_pinned_lines(
    case: str, chunk_rows: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imports, "CHUNK_ROWS", chunk_rows)
    produced = import_case(case)
    pinned = PINNED / f"{case}.jsonl"
    if WRITE and chunk_rows == 20_000:
        pinned.write_bytes(produced)
    assert produced == pinned.read_bytes()


BAD_CLOCK: Rows = [
    *CLOCK,
    ("E03", "", "2023-07-04 08:00:00", "市委编办", "上班"),
    ("E01", "陈立新", "2023-07-32 08:00:00", "市委编办", "上班"),
    ("E02", "王晓峰", "2023-07-04 08:03:00", "市委编办", "午休"),
    ("E02", "王晓峰", "2023-07-04 08:03:00", "市委编办\x01", "上班"),
    ("E02", "王晓峰", "", "市委编办", "上班"),
    ("E02", "王晓峰", "1989-07-04 08:03:00", "市委编办", "上班"),
    ("E02", "王晓峰", "2023-07-04 25:03:00", "", "午休"),
    ("E02", "", "2023-07-04 08:03:00", "市委编办", "上班"),
]

BAD_TICKETS: Rows = [
    TICKETS[1],
    ("GD-1", "特急", "2023-07-04 09:00", "明天", "", "", "", "", ""),
    ("GD-2", "一级", "2023-07-04 09:00", "", "", "", "", "对方", "2023-07-04 9点"),
    ("", "一级", "2023-07-04 09:00", "", "", "", "", "", ""),
]

BAD_OTHERS: dict[str, Rows] = {
    "document-register": [
        DOCUMENTS[0],
        ("weekly_report", "第1周周报", "OA-1", "2023-07-05", "2023-07-09", "2023-07-03", "0"),
        ("no_such_term", "?", "OA-2", "2023-07-05", "", "", "两份"),
    ],
    "inspection-log": [INSPECTIONS[0], ("2023-07-03", "mornig", "", "", "-1", "")],
    "training-log": [TRAINING[0], ("2023-09-01", "", "省级", "", "", "很多", "", "也许")],
    "questionnaire": [SURVEY[0], ("2023-12-01", "使用单位", "", "", "还行")],
}


def problems_of(profile: str, rows: Rows, target: Target) -> list[str]:
    with pytest.raises(ImportFailed) as caught:
        table = read_table(export_bytes(rows, "gbk"), "x.csv")
        list(Importer(standard_profile(profile), target, references()).lines(table))
    return [str(p) for p in caught.value.problems]


def test_bad_rows_are_reported_exactly_as_pinned(monkeypatch: pytest.MonkeyPatch) -> None:
    target = Target("guangzhou-2023", "ops")
    reported = {"attendance-clock": problems_of("attendance-clock", BAD_CLOCK, target)}
    reported["ticket-system"] = problems_of("ticket-system", BAD_TICKETS, target)
    for name, rows in BAD_OTHERS.items():
        values = {"survey": "ops-2023"} if name == "questionnaire" else {}
        reported[name] = problems_of(name, rows, Target("guangzhou-2023", "ops", values=values))
    text = "".join(f"[{name}]\n" + "".join(f"{p}\n" for p in problems) for name, problems in reported.items())
    pinned = PINNED / "problems.txt"
    if WRITE:
        pinned.write_text(text, encoding="utf-8")
    assert text == pinned.read_text(encoding="utf-8")
    # the same problems whatever the chunking
    monkeypatch.setattr(imports, "CHUNK_ROWS", 2)
    assert problems_of("attendance-clock", BAD_CLOCK, target) == reported["attendance-clock"]


def test_a_long_profile_id_with_two_times_gives_ids_of_at_most_128_characters_whatever_the_dates() -> None:
    """The times are hashed into the id when the id would be too long; the cut used to be found by
    searching for "-20", which found a recorded time's day (the 20th) or nothing (the 1990s): ids of
    132 characters, or ids starting with "-"."""
    rows: Rows = [
        TICKETS[1],
        ("GD-1", "一级", "2023-07-04 09:00", "", "", "", "", "", "2023-07-20 11:00"),  # recorded on the 20th
        ("GD-2", "一级", "1999-07-04 09:00", "", "", "", "", "", "1999-07-05 11:00"),  # the 1990s
        ("GD-3", "一级", "2023-07-20 09:00", "", "", "", "", "", "2023-07-20 11:00"),
        ("GD-3", "一级", "2023-07-20 09:00", "", "", "", "", "", "2023-07-20 11:00"),  # a repeat: `/2`
    ]
    profile = profile_for(LONG_ID)
    lines = list(Importer(profile, Target("p")).lines(read_table(export_bytes(rows, "gbk"), "t.csv")))
    events = [EVIDENCE_ADAPTER.validate_json(line) for line in lines]  # an id over 128 characters fails here
    ids = [e.id for e in events]
    assert all(i.startswith(f"{LONG_ID}-") and len(i.split("-")[-1].split("/")[0]) == 16 for i in ids), ids
    assert len(set(ids)) == 4 and ids[3] == f"{ids[2]}/2"
    # each id carries its own times: the same rows on other days give other ids
    later = [(*r[:2], str(r[2]).replace("-07-", "-08-"), *r[3:8], str(r[8]).replace("-07-", "-08-")) for r in rows[1:]]
    again = list(Importer(profile, Target("p")).lines(read_table(export_bytes([rows[0], *later], "gbk"), "t.csv")))
    assert not {EVIDENCE_ADAPTER.validate_json(line).id for line in again} & set(ids)


def test_a_clock_export_of_plain_times_gives_the_same_lines_and_problems_as_the_general_conversion(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A column of times written exactly as "%Y-%m-%d %H:%M:%S" is read without parsing each time; any
    chunk holding another cell (a day that does not exist, 24:00, another format, a blank row, a
    repeated row) goes through the general conversion. Both must give the same bytes and problems."""
    import random

    rng = random.Random(11)
    days = ["2023-07-20", "2024-02-29", "2023-02-29", "2023-04-31", "2023-12-31", "1999-01-01", "1989-12-31"]
    clocks = ["08:00:00", "23:59:59", "24:00:00", "08:60:00", "8:01:00", "17:30"]
    rows: Rows = [CLOCK[1]]
    for i in range(3000):
        odd = rng.random() < 0.002  # now and then a cell the plain reading does not take
        when = (
            f"{rng.choice(days)} {rng.choice(clocks)}"
            if odd
            else f"2023-07-{1 + i % 28:02d} 08:{i % 60:02d}:{i % 7:02d}"
        )
        rows.append((f"E{i % 40}", f"员工{i % 40}", when, "市委编办%", rng.choice(["上班", "下班"])))
    rows[1500] = ("", "", "", "", "")
    rows[2000] = rows[1999]

    def run(rows: Rows, plain: bool) -> tuple[bytes, list[str]]:
        monkeypatch.setattr(imports, "PLAIN_TIME_FORMAT", "%Y-%m-%d %H:%M:%S" if plain else "(no plain reading)")
        importer = Importer(standard_profile("attendance-clock"), Target("guangzhou-2023", "ops"))
        try:
            return b"".join(importer.lines(read_table(export_bytes(rows, "gbk"), "c.csv"))), []
        except ImportFailed as failed:
            return b"", [str(p) for p in failed.problems]

    good = [r for r in rows if r[2] in ("", "打卡时间") or str(r[2]).startswith("2023-07-")]
    for chunk_rows in (20_000, 97):
        monkeypatch.setattr(imports, "CHUNK_ROWS", chunk_rows)
        bad_plain = run(rows, plain=True)
        assert bad_plain == run(rows, plain=False)
        assert bad_plain[1] and not bad_plain[0]  # the odd cells were reported, nothing produced
        good_plain = run(good, plain=True)
        assert good_plain == run(good, plain=False)
        assert good_plain[0].count(b"\n") == len(good) - 2 and b'/2"' in good_plain[0]


@pytest.mark.parametrize("data", [b"", b" \r\n\t", b"\xef\xbb\xbf", b"\r\n\xef\xbb\xbf \r\n"])
def test_a_file_of_nothing_but_blanks_and_a_bom_is_refused_as_empty(data: bytes) -> None:
    with pytest.raises(ImportFailed) as caught:
        read_table(data, "x.csv")
    assert [str(p) for p in caught.value.problems] == ["x.csv: 文件为空"]
