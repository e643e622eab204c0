"""`opseval import`: real export files (CSV in GBK and in UTF-8 with a BOM, XLSX written by openpyxl)
into a copy of an example bundle, all or nothing, then read back by the bundle loader."""

from __future__ import annotations

import json
import shutil
from datetime import datetime
from pathlib import Path

import pytest
import yaml
from openpyxl import Workbook  # type: ignore[import-untyped]
from opseval_intake.profiles import profile_names, standard_profile
from opseval_shared.evidence import EVIDENCE_ADAPTER
from opseval_shared.imports import Importer, ImportFailed, ImportProfile, Target, read_table
from opseval_shared.indicators import IndicatorSystem

from opseval.cli import main
from opseval.embedded import fold_bundle

ROOT = Path(__file__).resolve().parents[2]
GUANGZHOU = ROOT / "examples" / "guangzhou-2023"

CLOCK_ROWS = [
    ("工号", "姓名", "打卡时间", "打卡地点", "打卡类型"),
    ("E01", "陈立新", "2023-07-03 08:01:00", "市委编办", "上班"),
    ("E02", "王晓峰", "2023/07/03 08:02", "市委编办", "签到"),
    ("E01", "陈立新", "2023-07-03 18:05:00", "市委编办", "下班"),
]


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    """The Guangzhou example's definitions, without its evidence."""
    out = tmp_path / "bundle"
    out.mkdir()
    for name in ("project.yaml", "contracts.yaml", "indicators.yaml"):
        shutil.copy(GUANGZHOU / name, out / name)
    return out


def csv_bytes(rows: list[tuple[str, ...]], encoding: str) -> bytes:
    return "".join(",".join(r) + "\r\n" for r in rows).encode(encoding)


def imported(bundle: Path) -> list[dict[str, object]]:
    folder = bundle / "evidence" / "imports"
    if not folder.exists():
        return []
    return [json.loads(line) for p in sorted(folder.glob("*.jsonl")) for line in p.read_text("utf-8").splitlines()]


def run(*argv: str) -> int:
    return main(list(argv))


def test_a_gbk_clock_export_becomes_clock_events_the_bundle_loader_accepts(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = tmp_path / "打卡记录.csv"
    export.write_bytes(csv_bytes(CLOCK_ROWS, "gbk"))
    assert run("import", "attendance-clock", str(export), "--bundle", str(bundle)) == 0
    events = imported(bundle)
    assert [(e["payload"], e["occurred_at"]) for e in events] == [  # type: ignore[index]
        ({"staff": "陈立新", "site": "市委编办", "direction": "in"}, "2023-07-03T08:01:00+08:00"),
        ({"staff": "王晓峰", "site": "市委编办", "direction": "in"}, "2023-07-03T08:02:00+08:00"),
        ({"staff": "陈立新", "site": "市委编办", "direction": "out"}, "2023-07-03T18:05:00+08:00"),
    ]
    assert {e["project"] for e in events} == {"guangzhou-2023"}
    assert "编码 gb18030" in capsys.readouterr().out
    # each line is exactly the event as intake stores it
    for line in (bundle / "evidence" / "imports").glob("*.jsonl"):
        for text in line.read_text("utf-8").splitlines():
            assert EVIDENCE_ADAPTER.validate_json(text).model_dump_json() == text
    assert fold_bundle(bundle).by_kind == {"clock_in": 3}


def test_importing_the_same_file_twice_yields_the_same_ids_and_nothing_new(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = tmp_path / "clock.csv"
    export.write_bytes(csv_bytes(CLOCK_ROWS, "utf-8-sig"))
    assert run("import", "attendance-clock", str(export), "--bundle", str(bundle)) == 0
    assert "新增 3 条\n" in capsys.readouterr().out
    first = imported(bundle)
    # the same rows in another export (other name, other encoding) are the same events
    again = tmp_path / "clock-again.csv"
    again.write_bytes(csv_bytes(CLOCK_ROWS, "gbk"))
    capsys.readouterr()
    assert run("import", "attendance-clock", str(again), "--bundle", str(bundle)) == 0
    assert "新增 0 条，重复 3 条" in capsys.readouterr().out
    assert run("import", "attendance-clock", str(export), "--bundle", str(bundle)) == 0
    assert "已存在" in capsys.readouterr().out
    ids = [e["id"] for e in imported(bundle)]
    assert sorted(ids) == sorted([e["id"] for e in first] * 2)
    ledger = fold_bundle(bundle)
    assert ledger.events == 3 and ledger.duplicates == 3


def test_a_utf8_bom_header_is_read_and_identical_rows_stay_separate_events(tmp_path: Path) -> None:
    rows = [
        ("提交时间", "受访群体", "总体评价"),
        ("2023-12-01", "使用单位", "满意"),
        ("2023-12-01", "使用单位", "满意"),
        ("2023-12-01", "使用单位", "不满意"),
    ]
    table = read_table(csv_bytes(rows, "utf-8-sig"), "问卷.csv")
    importer = Importer(standard_profile("questionnaire"), Target("guangzhou-2023", values={"survey": "ops-2023"}))
    events = [json.loads(line) for line in importer.lines(table)]
    assert table.encoding == "utf-8-sig"
    assert [e["payload"]["satisfied"] for e in events] == [True, True, False]
    assert events[1]["id"] == f"{events[0]['id']}/2"  # two respondents who answered alike
    assert importer.summary.repeated_rows == 1
    assert events[0]["occurred_at"] == "2023-12-01T00:00:00+08:00"


def test_an_xlsx_ticket_export_with_a_title_row_and_date_cells_becomes_incidents(bundle: Path, tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["2023年7月故障工单导出"])  # a title above the header
    sheet.append(["工单编号", "故障等级", "报障时间", "响应时间", "解决时间", "故障描述", "更新时间"])
    sheet.append(
        ["GD-001", "一级", datetime(2023, 7, 4, 9, 0), datetime(2023, 7, 4, 9, 10), "2023-07-04 11:00", "宕机"]
    )
    sheet.append(["GD-002", "一般", datetime(2023, 7, 5, 14, 30), None, None, "卡纸", "2023-07-05 15:00"])
    export = tmp_path / "工单.xlsx"
    book.save(export)
    assert run("import", "ticket-system", str(export), "--bundle", str(bundle)) == 0
    events = imported(bundle)
    assert [e["payload"]["ticket"] for e in events] == ["GD-001", "GD-002"]  # type: ignore[index]
    first = events[0]
    assert first["payload"]["severity"] == "P1"  # type: ignore[index]
    assert first["payload"]["resolved_at"] == "2023-07-04T11:00:00+08:00"  # type: ignore[index]
    assert first["recorded_at"] == "2023-07-04T11:00:00+08:00"  # no 更新时间: the ticket's latest time
    assert events[1]["recorded_at"] == "2023-07-05T15:00:00+08:00"  # its 更新时间
    assert fold_bundle(bundle).by_kind == {"incident": 2}


def test_every_bad_row_is_reported_with_file_row_column_and_reason_and_nothing_is_written(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [
        *CLOCK_ROWS,
        ("E03", "", "2023-07-04 08:00:00", "市委编办", "上班"),  # row 5: no name
        ("E01", "陈立新", "2023-07-32 08:00:00", "市委编办", "上班"),  # row 6: no such day
        ("E02", "王晓峰", "2023-07-04 08:03:00", "市委编办", "午休"),  # row 7: not in the value map
        ("E02", "王晓峰", "2023-07-04 08:03:00", "市委编办\x01", "上班"),  # row 8: a control character
    ]
    export = tmp_path / "clock.csv"
    export.write_bytes(csv_bytes(rows, "gbk"))
    assert run("import", "attendance-clock", str(export), "--bundle", str(bundle)) == 2
    err = capsys.readouterr().err
    assert f"{export}:5: 姓名: 不能为空" in err
    assert f"{export}:6: 打卡时间: 无法按格式" in err and "2023-07-32 08:00:00" in err
    assert f"{export}:7: 打卡类型: 无法识别的取值“午休”（可用：上班、" in err
    assert f"{export}:8: 打卡地点: site: 含有控制字符" in err
    assert err.index(":5:") < err.index(":6:") < err.index(":7:") < err.index(":8:")
    assert "4 problems; nothing written" in err
    assert not (bundle / "evidence").exists() or not any((bundle / "evidence").rglob("*"))


def test_an_inspection_for_a_plan_the_contract_lacks_is_refused_naming_the_column_and_the_known_plans(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [
        ("巡检时间", "巡检计划", "巡检范围"),
        ("2023-07-03 08:20", "morning_check", "机房"),
        ("2023-07-03", "mornig", ""),
    ]
    export = tmp_path / "巡检.csv"
    export.write_bytes(csv_bytes(rows, "utf-8"))
    assert run("import", "inspection-log", str(export), "--bundle", str(bundle)) == 2
    err = capsys.readouterr().err
    assert f"{export}:3: 巡检计划: contract 'ops' has no inspection plan 'mornig'" in err
    assert "morning_check" in err
    assert imported(bundle) == []


def test_an_empty_file_a_header_without_rows_and_a_missing_column_are_each_refused(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    header_only = tmp_path / "header.csv"
    header_only.write_bytes(csv_bytes(CLOCK_ROWS[:1], "utf-8-sig"))
    no_time = tmp_path / "no-time.csv"
    no_time.write_bytes(csv_bytes([("姓名", "地点"), ("陈立新", "市委编办")], "utf-8"))
    for path in (empty, header_only, no_time):
        assert run("import", "attendance-clock", str(path), "--bundle", str(bundle)) == 2
    err = capsys.readouterr().err
    assert f"{empty}: 文件为空" in err
    assert f"{header_only}:1: 表头以下没有数据行" in err
    assert f"{no_time}:1: 打卡时间: 缺少列“打卡时间”或“考勤时间”或“刷卡时间”（表头有：姓名、地点）" in err
    assert imported(bundle) == []


def test_one_bad_file_of_several_means_none_is_imported(bundle: Path, tmp_path: Path) -> None:
    good = tmp_path / "good.csv"
    good.write_bytes(csv_bytes(CLOCK_ROWS, "utf-8"))
    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_bytes([*CLOCK_ROWS, ("E9", "张三", "明天", "", "")], "utf-8"))
    assert run("import", "attendance-clock", str(good), str(bad), "--bundle", str(bundle)) == 2
    assert imported(bundle) == []
    assert not list((bundle / "evidence" / "imports").glob(".*"))  # no temporary file left behind


def test_dry_run_previews_and_writes_nothing(bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    export = tmp_path / "clock.csv"
    export.write_bytes(csv_bytes(CLOCK_ROWS, "gbk"))
    assert run("import", "attendance-clock", str(export), "--bundle", str(bundle), "--dry-run") == 0
    out = capsys.readouterr().out
    assert "佐证材料 3 条" in out and '"staff": "陈立新"' in out and "未写入任何文件" in out
    assert not (bundle / "evidence").exists()


def test_a_declared_encoding_that_does_not_fit_names_the_row(tmp_path: Path) -> None:
    data = csv_bytes(CLOCK_ROWS, "gbk")
    with pytest.raises(ImportFailed) as caught:
        read_table(data, "clock.csv", encoding="utf-8")
    assert caught.value.problems[0].row == 1
    assert "不是声明的编码 utf-8" in caught.value.problems[0].reason


@pytest.mark.parametrize("name", profile_names())
def test_every_standard_profile_reads_a_sample_of_its_export(name: str, tmp_path: Path) -> None:
    samples: dict[str, list[tuple[str, ...]]] = {
        "attendance-clock": CLOCK_ROWS,
        "ticket-system": [("工单编号", "故障等级", "报障时间"), ("T1", "紧急", "2023-08-01 10:00")],
        "document-register": [
            ("交付物编号", "文档名称", "文档编号", "提交时间", "周期开始", "周期结束"),
            ("weekly_report", "第1周周报", "OA-2023-001", "2023-07-05 09:00", "2023-07-03", "2023-07-09"),
        ],
        "inspection-log": [
            ("巡检时间", "巡检计划", "登记时间"),
            ("2023-07-03 08:20", "morning_check", "2023-07-03 08:50"),
        ],
        "training-log": [
            ("培训时间", "培训主题", "培训范围", "参训单位", "参训人数", "是否有课件"),
            ("2023-09-01", "协同办公平台使用", "内部", "市委编办", "25", "是"),
        ],
        "questionnaire": [
            ("提交时间", "受访群体", "总体评价", "问卷编号"),
            ("2023-12-01 10:00", "使用单位", "满意", "q-2023"),
        ],
    }
    profile: ImportProfile = standard_profile(name)
    table = read_table(csv_bytes(samples[name], "gbk"), f"{name}.csv")
    references = fold_bundle(GUANGZHOU).definition
    from opseval_shared.references import EvidenceReferences

    lines = list(Importer(profile, Target("guangzhou-2023"), EvidenceReferences(references)).lines(table))
    assert len(lines) == len(samples[name]) - 1
    for line in lines:
        event = EVIDENCE_ADAPTER.validate_json(line)
        assert event.kind == profile.kind
        assert event.model_dump_json() + "\n" == line.decode()


def test_an_indicator_spreadsheet_with_merged_upper_levels_becomes_a_valid_indicator_system(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["某项目绩效评价指标体系"])
    sheet.append(["一级指标", "二级指标", "三级指标", "权重", "指标值", "评分标准"])
    sheet.append(["决策（20分）", "项目立项", "立项依据充分性", 5, "充分", "依据充分得5分，否则酌情扣分"])
    sheet.append([None, None, "立项程序规范性", 5, "规范", "程序规范得5分"])
    sheet.append([None, "绩效目标", "绩效目标合理性", "10分", "合理", ""])
    sheet.append(["过程", "资金管理", "资金到位率", 20, "100%", "到位率×20"])
    sheet.append(["产出", "产出数量", "巡检完成率", 30, "≥95%", ""])
    sheet.append(["效益", "满意度", "用户满意度", 30, "≥90%", "满意度×30"])
    sheet.merge_cells("A3:A5")
    sheet.merge_cells("B3:B4")
    export = tmp_path / "指标体系.xlsx"
    book.save(export)
    out = tmp_path / "indicators.yaml"
    assert run("import-indicators", str(export), "--out", str(out), "--name", "某项目指标体系") == 0
    data = yaml.safe_load(out.read_text("utf-8"))
    system = IndicatorSystem.model_validate(data)
    assert [(t.name, t.weight) for t in system.indicators] == [("决策", 20), ("过程", 20), ("产出", 30), ("效益", 30)]
    decision = system.indicators[0]
    assert [(c.id, c.name, c.weight) for c in decision.children] == [("i1-1", "项目立项", 10), ("i1-2", "绩效目标", 10)]
    leaf = decision.children[0].children[0]
    assert (leaf.id, leaf.target, leaf.description) == ("i1-1-1", "充分", "依据充分得5分，否则酌情扣分")
    assert leaf.method is not None and leaf.method.type == "judgment"
    assert "末级指标 6 个，总分 100" in capsys.readouterr().out


def test_an_indicator_spreadsheet_with_a_weight_that_is_not_a_number_names_the_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = tmp_path / "指标.csv"
    export.write_bytes(csv_bytes([("一级指标", "二级指标", "权重"), ("决策", "立项", "五分")], "gbk"))
    assert run("import-indicators", str(export), "--out", str(tmp_path / "i.yaml")) == 2
    assert f"{export}:2: 权重: 权重“五分”不是数字" in capsys.readouterr().err
    assert not (tmp_path / "i.yaml").exists()


@pytest.mark.slow
def test_a_million_row_clock_export_imports_whole_with_distinct_ids(tmp_path: Path) -> None:
    lines = ["姓名,打卡时间,打卡地点,打卡类型"]
    for i in range(1_000_000):
        day, minute = divmod(i, 1000)
        when = f"2023-{7 + day // 250:02d}-{1 + day % 25:02d} 08:{minute % 60:02d}:{i % 60:02d}"
        lines.append(f"员工{i % 300:03d},{when},市委编办,上班")
    data = ("\r\n".join(lines) + "\r\n").encode("gbk")
    importer = Importer(standard_profile("attendance-clock"), Target("guangzhou-2023", "ops"))
    count, ids = 0, set()
    for line in importer.lines(read_table(data, "clock.csv")):
        count += 1
        ids.add(line[7:80])
    assert count == importer.summary.rows == 1_000_000
    assert len(ids) == 1_000_000  # a repeated row too is an event of its own


def test_a_set_field_the_kind_does_not_have_is_refused_before_reading(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = tmp_path / "clock.csv"
    export.write_bytes(csv_bytes(CLOCK_ROWS, "utf-8"))
    assert run("import", "attendance-clock", str(export), "--bundle", str(bundle), "--set", "survey=x") == 2
    assert "--set: fields: 'survey' is not a field of ClockInPayload" in capsys.readouterr().err
    assert imported(bundle) == []


def test_a_set_that_is_not_field_equals_value_is_refused_before_reading(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = tmp_path / "clock.csv"
    export.write_bytes(csv_bytes(CLOCK_ROWS, "utf-8"))
    assert run("import", "attendance-clock", str(export), "--bundle", str(bundle), "--set", "=x") == 2
    assert "opseval: bad input: --set takes FIELD=VALUE, not '=x'" in capsys.readouterr().err
    assert imported(bundle) == []


def test_a_project_of_several_contracts_needs_the_contract_named_once_for_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dongguan = tmp_path / "dongguan"
    dongguan.mkdir()
    for name in ("project.yaml", "contracts.yaml", "indicators.yaml"):
        shutil.copy(ROOT / "examples" / "dongguan-2022" / name, dongguan / name)
    rows = [("姓名", "打卡时间"), ("张三", "2022-10-10 08:55:00")]
    export = tmp_path / "clock.csv"
    export.write_bytes(csv_bytes(rows, "gbk"))
    assert run("import", "attendance-clock", str(export), "--bundle", str(dongguan)) == 2
    err = capsys.readouterr().err
    assert f"{export}: contract: 项目 dongguan-2022 有多个合同，请指明本文件属于哪一个 (known: " in err
    assert err.count("bad input") == 1
    assert run("import", "attendance-clock", str(export), "--bundle", str(dongguan), "--contract", "ops") == 0
    assert [e["contract"] for e in imported(dongguan)] == ["ops"]


def test_an_upper_level_whose_written_weight_differs_from_its_children_is_named_with_its_row(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    rows = [
        ("一级指标", "二级指标", "三级指标", "分值"),
        ("决策（20分）", "项目立项(10)", "立项依据", "5"),
        ("", "", "立项程序", "4"),
        ("", "绩效目标", "目标合理", "10"),
        ("产出", "数量", "完成率", "80"),
    ]
    export = tmp_path / "指标.csv"
    export.write_bytes(csv_bytes(rows, "utf-8-sig"))
    assert run("import-indicators", str(export), "--out", str(tmp_path / "i.yaml")) == 2
    err = capsys.readouterr().err
    assert f"{export}:2: 权重: “决策”写明 20 分，下级指标合计 19 分" in err
    assert f"{export}:2: 权重: “项目立项”写明 10 分，下级指标合计 9 分" in err


@pytest.mark.parametrize(
    ("written", "mistake", "field", "says"),
    [
        ("  staff: {column", "  staf: {column", "fields.staf", "'staf' is not a field of ClockInPayload"),
        ("下班签退: out}", "下班签退: sideways}", "fields.direction.map.下班签退", "'sideways': 不是允许的取值"),
        ("  site: {column: [打卡地点", "  site: {column: ['', 打卡地点", "fields.site.column", "a column needs a name"),
    ],
)
def test_a_mistake_in_a_bundles_own_profile_stops_the_import_naming_its_file_line_and_field(
    written: str, mistake: str, field: str, says: str, bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Even a mapped value no row of this file reaches: the profile is wrong, whatever the file."""
    text = (ROOT / "shared" / "opseval_shared" / "library" / "imports" / "attendance-clock.yaml").read_text("utf-8")
    assert text.count(written) == 1
    profile = tmp_path / "clock-profile.yaml"
    profile.write_text(text.replace(written, mistake), "utf-8")
    line = text[: text.index(written)].count("\n") + 1
    export = tmp_path / "clock.csv"
    export.write_bytes(csv_bytes(CLOCK_ROWS[:2], "utf-8"))  # no row says 下班签退
    assert run("import", str(profile), str(export), "--bundle", str(bundle)) == 2
    err = capsys.readouterr().err
    assert f"{profile}:{line}: {field}: " in err and says in err
    assert imported(bundle) == []
