"""Declared calendars through the bundle loader and the CLI: a bundle's calendar.yaml, the
installation's OPSEVAL_CALENDAR_FILE, which one the result names, and located errors.

Every test works on a copy of `examples/guangzhou-2021` (evaluated for 2021, as of 2022-05-31).
"""

from __future__ import annotations

import json
import shutil
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import chinese_calendar
import pytest
import yaml
from opseval_intake.bundle import BundleError, load_calendar_file, load_definition

from opseval.cli import main

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "guangzhou-2021"

# 国办发明电〔2020〕27号 and 〔2021〕11号, as the State Council gave them (and chinesecalendar has them).
CALENDAR_2021 = """\
years:
  - year: 2021
    basis: 国办发明电〔2020〕27号
    holidays:
      - {name: 元旦, start: 2021-01-01, end: 2021-01-03}
      - {name: 春节, start: 2021-02-11, end: 2021-02-17}
      - {name: 清明节, start: 2021-04-03, end: 2021-04-05}
      - {name: 劳动节, start: 2021-05-01, end: 2021-05-05}
      - {name: 端午节, start: 2021-06-12, end: 2021-06-14}
      - {name: 中秋节, start: 2021-09-19, end: 2021-09-21}
      - {name: 国庆节, start: 2021-10-01, end: 2021-10-07}
    workdays: [2021-02-07, 2021-02-20, 2021-04-25, 2021-05-08, 2021-09-18, 2021-09-26, 2021-10-09]
"""
CALENDAR_2022 = """\
years:
  - year: 2022
    basis: 国办发明电〔2021〕11号
    holidays:
      - {name: 元旦, start: 2022-01-01, end: 2022-01-03}
      - {name: 春节, start: 2022-01-31, end: 2022-02-06}
      - {name: 清明节, start: 2022-04-03, end: 2022-04-05}
      - {name: 劳动节, start: 2022-04-30, end: 2022-05-04}
      - {name: 端午节, start: 2022-06-03, end: 2022-06-05}
      - {name: 中秋节, start: 2022-09-10, end: 2022-09-12}
      - {name: 国庆节, start: 2022-10-01, end: 2022-10-07}
    workdays:
      - 2022-01-29
      - 2022-01-30
      - 2022-04-02
      - 2022-04-24
      - 2022-05-07
      - 2022-10-08
      - 2022-10-09
"""


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    target = tmp_path / "bundle"
    shutil.copytree(EXAMPLE, target)
    return target


def evaluate(bundle: Path, out: Path) -> int:
    return main(["evaluate", str(bundle), "--out", str(out), "--core-only"])


def scores(out: Path) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((out / "scores.json").read_text(encoding="utf-8"))
    return result


def sources(out: Path) -> dict[int, str]:
    return {row["year"]: row["source"] for row in scores(out)["calendar"]}


@pytest.mark.parametrize("text", [CALENDAR_2021, CALENDAR_2022], ids=["2021", "2022"])
def test_the_declarations_used_here_agree_with_chinesecalendar(text: str, tmp_path: Path) -> None:
    path = tmp_path / "calendar.yaml"
    path.write_text(text, encoding="utf-8")
    (year,) = load_calendar_file(path).years
    off = year.holiday_dates()
    for i in range(365):
        day = date(year.year, 1, 1) + timedelta(days=i)
        declared = day in year.workdays or (day.weekday() < 5 and day not in off)
        assert declared == chinese_calendar.is_workday(day), day


def test_without_declarations_the_result_names_chinesecalendar_for_each_year(bundle: Path, tmp_path: Path) -> None:
    assert evaluate(bundle, tmp_path / "out") == 0
    version = chinese_calendar.__version__
    assert scores(tmp_path / "out")["calendar"] == [
        {"year": 2021, "source": "chinesecalendar", "detail": f"chinesecalendar {version}"},
        {"year": 2022, "source": "chinesecalendar", "detail": f"chinesecalendar {version}"},
    ]


def test_a_bundle_calendar_as_the_notice_gives_the_same_scores_and_is_named_as_the_source(
    bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPSEVAL_CALENDAR_FILE", raising=False)
    assert evaluate(bundle, tmp_path / "plain") == 0
    (bundle / "calendar.yaml").write_text(CALENDAR_2021, encoding="utf-8")
    assert load_definition(bundle).calendar is not None
    assert evaluate(bundle, tmp_path / "declared") == 0

    plain, declared = scores(tmp_path / "plain"), scores(tmp_path / "declared")
    assert sources(tmp_path / "declared") == {2021: "bundle", 2022: "chinesecalendar"}
    assert declared["calendar"][0]["detail"] == "项目资料包 calendar.yaml 声明（国办发明电〔2020〕27号）"
    assert {k: v for k, v in plain.items() if k != "calendar"} == {k: v for k, v in declared.items() if k != "calendar"}
    findings = "findings.json"
    assert (tmp_path / "plain" / findings).read_bytes() == (tmp_path / "declared" / findings).read_bytes()


def test_the_installation_calendar_comes_after_the_bundles(
    bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    installation = tmp_path / "holidays.yaml"
    installation.write_text(CALENDAR_2022, encoding="utf-8")
    monkeypatch.setenv("OPSEVAL_CALENDAR_FILE", str(installation))
    assert evaluate(bundle, tmp_path / "out") == 0
    assert sources(tmp_path / "out") == {2021: "chinesecalendar", 2022: "installation"}

    # both declare 2021: the bundle's wins
    both = yaml.safe_load(CALENDAR_2022)
    both["years"] += yaml.safe_load(CALENDAR_2021)["years"]
    installation.write_text(yaml.safe_dump(both, allow_unicode=True), encoding="utf-8")
    (bundle / "calendar.yaml").write_text(CALENDAR_2021, encoding="utf-8")
    assert evaluate(bundle, tmp_path / "out2") == 0
    assert sources(tmp_path / "out2") == {2021: "bundle", 2022: "installation"}


def test_a_day_declared_both_holiday_and_workday_is_refused_with_file_line_and_field(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = bundle / "calendar.yaml"
    # 2022-10-01 (a Saturday inside 国庆) added to the working days, on line 20
    path.write_text(CALENDAR_2022.replace("      - 2022-10-09\n", "      - 2022-10-09\n      - 2022-10-01\n"), "utf-8")
    with pytest.raises(BundleError) as caught:
        load_definition(bundle)
    err = caught.value
    assert (Path(err.path).name, err.line, err.field) == ("calendar.yaml", 20, "years[0].workdays[7]")
    assert "2022-10-01 is declared both a working day and a holiday (国庆节 2022-10-01..2022-10-07" in err.message

    assert evaluate(bundle, tmp_path / "out") == 2
    assert f"{path}:20: years[0].workdays[7]: 2022-10-01 is declared both" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_an_incomplete_year_is_refused_naming_what_is_missing(bundle: Path) -> None:
    text = CALENDAR_2021.replace("      - {name: 端午节, start: 2021-06-12, end: 2021-06-14}\n", "")
    (bundle / "calendar.yaml").write_text(text, encoding="utf-8")
    with pytest.raises(
        BundleError, match=r"calendar.yaml:5: years\[0\].holidays: the declaration of 2021 is incomplete"
    ):
        load_definition(bundle)


def test_a_bad_installation_calendar_stops_the_evaluation_naming_its_file(
    bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    installation = tmp_path / "holidays.yaml"
    installation.write_text(CALENDAR_2022.replace("year: 2022", "year: twenty"), encoding="utf-8")
    monkeypatch.setenv("OPSEVAL_CALENDAR_FILE", str(installation))
    assert evaluate(bundle, tmp_path / "out") == 2
    assert f"{installation}:2: years[0].year:" in capsys.readouterr().err
    monkeypatch.setenv("OPSEVAL_CALENDAR_FILE", str(tmp_path / "missing.yaml"))
    assert evaluate(bundle, tmp_path / "out") == 2
    assert "missing.yaml: file not found" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
