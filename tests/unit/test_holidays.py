"""Declared holiday years: their validation, and the order in which a WorkCalendar consults them."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import chinese_calendar
import pytest
from opseval_shared.calendar import WorkCalendar
from opseval_shared.holidays import HolidayCalendar
from pydantic import ValidationError

D = date.fromisoformat

# 国办发明电〔2024〕12号: the holidays of 2025 as the State Council set them (chinesecalendar has them too).
YEAR_2025: dict[str, Any] = {
    "year": 2025,
    "basis": "国办发明电〔2024〕12号",
    "holidays": [
        {"name": "元旦", "start": "2025-01-01"},
        {"name": "春节", "start": "2025-01-28", "end": "2025-02-04"},
        {"name": "清明节", "start": "2025-04-04", "end": "2025-04-06"},
        {"name": "劳动节", "start": "2025-05-01", "end": "2025-05-05"},
        {"name": "端午节", "start": "2025-05-31", "end": "2025-06-02"},
        {"name": "国庆节、中秋节", "start": "2025-10-01", "end": "2025-10-08"},
    ],
    "workdays": ["2025-01-26", "2025-02-08", "2025-04-27", "2025-09-28", "2025-10-11"],
}

# An illustrative 2027 (not the State Council's notice, which a real installation would copy): a
# year chinesecalendar 1.11.0 does not cover.
YEAR_2027: dict[str, Any] = {
    "year": 2027,
    "holidays": [
        {"name": "元旦", "start": "2027-01-01", "end": "2027-01-03"},
        {"name": "春节", "start": "2027-02-05", "end": "2027-02-12"},
        {"name": "清明节", "start": "2027-04-03", "end": "2027-04-05"},
        {"name": "劳动节", "start": "2027-05-01", "end": "2027-05-05"},
        {"name": "端午节", "start": "2027-06-09"},
        {"name": "中秋节", "start": "2027-09-15"},
        {"name": "国庆节", "start": "2027-10-01", "end": "2027-10-07"},
    ],
    "workdays": ["2027-02-20", "2027-04-25", "2027-05-08", "2027-09-26", "2027-10-09"],
}


def declared(*years: dict[str, Any]) -> HolidayCalendar:
    return HolidayCalendar.model_validate({"years": list(years)})


def days_of(year: int) -> list[date]:
    return [date(year, 1, 1) + timedelta(days=i) for i in range((date(year + 1, 1, 1) - date(year, 1, 1)).days)]


# ---------------------------------------------------------------- answers


def test_a_declared_year_copied_from_the_notice_agrees_with_chinesecalendar_on_every_day() -> None:
    work = WorkCalendar(bundle=declared(YEAR_2025))
    differing = [d for d in days_of(2025) if work.is_workday(d) != chinese_calendar.is_workday(d)]
    assert differing == []
    assert [(s.year, s.source) for s in work.sources()] == [(2025, "bundle")]


@pytest.mark.parametrize(
    ("day", "workday"),
    [
        ("2027-02-08", False),  # Monday inside 春节
        ("2027-02-20", True),  # Saturday, 调休 working day
        ("2027-02-21", False),  # ordinary Sunday
        ("2027-02-22", True),  # ordinary Monday
        ("2027-06-09", False),  # Wednesday, 端午节
        ("2027-10-09", True),  # Saturday after 国庆, 调休
    ],
)
def test_a_declared_uncovered_year_has_its_holidays_and_tiaoxiu_and_no_warning(day: str, workday: bool) -> None:
    work = WorkCalendar(installation=declared(YEAR_2027))
    assert work.is_workday(D(day)) is workday
    assert work.warnings == []
    (source,) = work.sources()
    assert (source.year, source.source, source.detail) == (2027, "installation", "安装配置的节假日日历声明")


def test_the_same_year_undeclared_falls_back_to_monday_to_friday_with_the_chinese_warning() -> None:
    work = WorkCalendar()
    assert work.is_workday(D("2027-02-08")) is True  # 春节 unknown to the fallback
    assert work.is_workday(D("2027-02-20")) is False
    assert work.warnings == [
        "2027 年不在 chinesecalendar 节假日数据覆盖范围内：该年按周一至周五为工作日计算，法定节假日与调休未计入。"
    ]
    (source,) = work.sources()
    assert source.source == "fallback"


def test_precedence_is_bundle_then_installation_then_chinesecalendar_then_the_fallback() -> None:
    # the installation declares 2025 with 10-08 a working day; the bundle declares it as the notice
    # does; the installation alone declares 2027
    altered_2025 = {**YEAR_2025, "basis": "安装方声明"}
    altered_2025["holidays"] = [
        *YEAR_2025["holidays"][:-1],
        {"name": "国庆节、中秋节", "start": "2025-10-01", "end": "2025-10-07"},
    ]
    installation = declared(altered_2025, YEAR_2027)
    bundle = declared(YEAR_2025)
    work = WorkCalendar(installation=installation, bundle=bundle)
    assert work.is_workday(D("2025-10-08")) is False  # the bundle's 2025
    assert work.is_workday(D("2027-02-08")) is False  # the installation's 2027
    assert work.is_workday(D("2023-10-07")) is True  # chinesecalendar's 调休 Saturday
    assert work.is_workday(D("2031-01-01")) is True  # fallback: a Wednesday
    assert [(s.year, s.source) for s in work.sources()] == [
        (2023, "chinesecalendar"),
        (2025, "bundle"),
        (2027, "installation"),
        (2031, "fallback"),
    ]
    by_year = {s.year: s.detail for s in work.sources()}
    assert by_year[2025] == "项目资料包 calendar.yaml 声明（国办发明电〔2024〕12号）"
    assert by_year[2023] == f"chinesecalendar {chinese_calendar.__version__}"
    assert len(work.warnings) == 1 and work.warnings[0].startswith("2031 年")

    without_bundle = WorkCalendar(installation=installation)
    assert without_bundle.is_workday(D("2025-10-08")) is True  # the installation's 2025 now


def test_sources_name_the_years_asked_for_even_when_no_day_of_them_was_consulted() -> None:
    work = WorkCalendar(bundle=declared(YEAR_2027))
    assert [(s.year, s.source) for s in work.sources(range(2026, 2028))] == [
        (2026, "chinesecalendar"),
        (2027, "bundle"),
    ]


def test_use_bundle_replaces_the_answers_already_given() -> None:
    work = WorkCalendar()
    assert work.is_workday(D("2027-02-08")) is True
    work.use_bundle(declared(YEAR_2027))
    assert work.is_workday(D("2027-02-08")) is False
    assert work.warnings == []
    same = declared(YEAR_2027)
    work.periods_cache[("x", "y", None, None)] = []  # type: ignore[index]
    work.use_bundle(same)  # equal: nothing is recomputed
    assert work.periods_cache


# ---------------------------------------------------------------- validation


def with_(year: dict[str, Any], **changes: Any) -> dict[str, Any]:
    return {**year, **changes}


@pytest.mark.parametrize(
    ("year", "loc", "words"),
    [
        (
            with_(YEAR_2027, workdays=["2027-02-20", "2027-10-02"]),
            ("years", 0, "workdays", 1),
            "2027-10-02 is declared both a working day and a holiday (国庆节 2027-10-01..2027-10-07",
        ),
        (
            with_(YEAR_2027, holidays=YEAR_2027["holidays"][:4]),
            ("years", 0, "holidays"),
            "no holiday named for 端午、中秋、国庆",
        ),
        (
            with_(YEAR_2027, workdays=["2027-02-22"]),
            ("years", 0, "workdays", 0),
            "2027-02-22 is a weekday",
        ),
        (
            with_(YEAR_2027, workdays=["2026-12-27"]),
            ("years", 0, "workdays", 0),
            "2026-12-27 is not inside 2027",
        ),
        (
            with_(
                YEAR_2027,
                holidays=[{"name": "元旦", "start": "2026-12-31", "end": "2027-01-02"}, *YEAR_2027["holidays"][1:]],
            ),
            ("years", 0, "holidays", 0),
            "元旦 2026-12-31..2027-01-02 is not inside 2027",
        ),
        (
            with_(YEAR_2027, workdays=["2027-02-20", "2027-02-20"]),
            ("years", 0, "workdays", 1),
            "2027-02-20 is declared twice",
        ),
        (
            with_(YEAR_2027, holidays=[{"name": "春节", "start": "2027-02-12", "end": "2027-02-05"}]),
            ("years", 0, "holidays", 0),
            "end 2027-02-05 is before start 2027-02-12",
        ),
    ],
    ids=[
        "holiday-and-workday",
        "festivals-missing",
        "weekday-workday",
        "workday-other-year",
        "holiday-other-year",
        "twice",
        "reversed",
    ],
)
def test_an_inconsistent_or_incomplete_year_is_refused_naming_the_field(
    year: dict[str, Any], loc: tuple[Any, ...], words: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        declared(year)
    err = caught.value.errors()[0]
    assert tuple(err["loc"]) == loc
    assert words in err["msg"]


def test_a_year_declared_twice_is_refused() -> None:
    with pytest.raises(ValidationError, match="years: 2027 declared more than once"):
        declared(YEAR_2027, YEAR_2027)
