"""The plain-time check of a clock export's time column (`plain_clock_times` then `plain_days`, given
the column's earliest and latest cell) must accept exactly what the full regex `_PLAIN_TIMES` accepts:
cells written "YYYY-MM-DD hh:mm:ss" in ASCII digits, a real day of 1990–2100, a real time of day."""

from __future__ import annotations

import random

import pytest
from opseval_shared.imports import _PLAIN_TIMES, plain_clock_times, plain_days

YEARS = ["1989", "1990", "1996", "1999", "2000", "2023", "2024", "2099", "2100", "2101", "1900", "3000"]
MONTHS = ["00", "01", "02", "04", "09", "10", "12", "13", "20"]
DAYS = ["00", "01", "09", "10", "19", "28", "29", "30", "31", "32", "40"]
HOURS = ["00", "08", "09", "10", "19", "20", "23", "24", "29", "30", "99"]
MINUTES = ["00", "09", "50", "59", "60", "99"]
ODD = ["2023-07-01 8:00:00", "2023/07/01 08:00:00", "2023-07-01T08:00:00", "２０２３-07-01 08:00:00", "2023-07-01 8:0"]


def both_ways(cells: list[str]) -> tuple[bool, bool]:
    joined = "\n".join(cells).encode()
    expected = _PLAIN_TIMES.fullmatch(joined) is not None
    ascii_cells = joined.split(b"\n")
    got = plain_clock_times(joined) and plain_days(joined, min(ascii_cells), max(ascii_cells))
    return got, expected


def test_a_column_of_ordinary_times_is_accepted_without_the_regex_in_one_month_and_with_it_across_two() -> None:
    one_month = [f"2023-07-{d:02d} {h:02d}:{m:02d}:07" for d in (3, 28) for h in (8, 21) for m in (0, 59)]
    assert both_ways(one_month) == (True, True)
    assert both_ways([*one_month, "2023-08-01 08:00:00"]) == (True, True)
    assert both_ways(["2024-02-29 08:00:00", "2024-02-01 23:59:59"]) == (True, True)


@pytest.mark.parametrize(
    "bad",
    ["2023-02-29 08:00:00", "2023-07-00 08:00:00", "2023-04-31 08:00:00", "2023-07-32 08:00:00", "2101-07-01 08:00:00",
     "1989-07-01 08:00:00", "2023-07-01 24:00:00", "2023-07-01 29:00:00", "2023-07-01 08:60:00",
     "2023-07-01 08:00:60", "2023-13-01 08:00:00", *ODD],
)  # fmt: skip
def test_one_bad_cell_among_good_ones_is_refused(bad: str) -> None:
    good = ["2023-07-02 08:00:00", "2023-07-27 17:30:00"]
    if bad.startswith("2023-02") or bad.startswith("2023-04"):
        good = [bad[:8] + "01 08:00:00", bad[:8] + "15 17:30:00"]  # the same month: days checked by their extremes
    for at in range(3):
        cells = [*good[:at], bad, *good[at:]]
        assert both_ways(cells) == (False, False), cells


def test_random_columns_are_judged_as_the_regex_judges_them() -> None:
    rng = random.Random(5)
    disagreements = []
    accepted = refused = 0
    for _ in range(20_000):
        year, month = rng.choice([("2023", "07"), ("2024", "02"), ("2023", "02"), ("2023", "04"), ("2100", "12")])
        cells = []
        for _ in range(rng.randint(1, 12)):
            day = f"{rng.randint(1, 28):02d}"
            hour, minute, second = rng.randint(0, 23), rng.randint(0, 59), rng.randint(0, 59)
            cell = [year, month, day, f"{hour:02d}", f"{minute:02d}", f"{second:02d}"]
            if rng.random() < 0.15:  # a field at a boundary, good or not
                field = rng.randrange(6)
                cell[field] = rng.choice([YEARS, MONTHS, DAYS, HOURS, MINUTES, MINUTES][field])
            text = f"{cell[0]}-{cell[1]}-{cell[2]} {cell[3]}:{cell[4]}:{cell[5]}"
            cells.append(rng.choice(ODD) if rng.random() < 0.01 else text)
        got, expected = both_ways(cells)
        accepted, refused = accepted + expected, refused + (not expected)
        if got != expected:
            disagreements.append(cells)
    assert not disagreements[:5]
    assert accepted > 5_000 and refused > 5_000  # both outcomes well exercised
