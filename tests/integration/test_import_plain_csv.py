"""A CSV's plain chunks (no quote character, every line ending in the same CRLF or LF, no blank line,
as many cells on each line) are split with `str.split` instead of the csv module's parser, and the
ids of an export sorted by time are checked against its latest chunks only. Both are shortcuts: a
file must give exactly the records, lines and problems it gives through the csv module and the full
set of ids, whatever it holds (quoted cells with commas and line breaks, stray quotes, blank, short
and long rows, CR line ends, a BOM, GBK, repeats near and far, times out of order)."""

from __future__ import annotations

import csv
import io
import random

import pytest
from opseval_intake.profiles import standard_profile
from opseval_shared import imports
from opseval_shared.imports import CsvRows, Importer, ImportFailed, Target, read_table

Outcome = tuple[str, object]


def read_by_chunks(text: str, chunk: int, delimiter: str = ",") -> Outcome:
    """The records as the importer takes them: plain chunks as columns, any other through the parser."""
    rows = CsvRows(text, delimiter)
    out: list[list[str]] = []
    try:
        while True:
            columns = rows.plain_columns(chunk)
            if columns is None:
                taken = rows.records(chunk)
                if not taken:
                    break
                out += taken
            elif not columns:
                break
            else:
                assert len({len(c) for c in columns}) == 1
                out += [list(r) for r in zip(*columns, strict=True)]
    except csv.Error as exc:
        return "error", str(exc)
    return "records", out


def read_by_csv_module(text: str, chunk: int, delimiter: str = ",") -> Outcome:
    out: list[list[str]] = []
    try:
        for row in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=False):
            out.append(row)
    except csv.Error as exc:
        return "error", str(exc)
    return "records", out


ODD_TEXTS = [
    "a,b\r\nc,d\r\n",
    "a,b\nc,d\n",
    "a,b\nc,d",  # no line break at the end
    "a,b\r\n\r\nc,d\r\n",  # a blank line: the parser's record is []
    "\r\na,b\r\n",
    "a,b\rc,d\r",  # old Mac line ends
    "a,b\r\nc,d\ne,f\r\n",  # mixed line ends
    'a,"b,c",d\r\ne,f,g\r\n',  # a quoted comma
    'a,"b\r\nc",d\r\ne,f,g\r\nh,i,j\r\nk,l,m\r\n',  # a quoted line break
    'a,b"c,d\r\ne,f\r\n',  # a stray quote
    'a,"b""c",d\r\n',  # a doubled quote
    "a,b,c\nd,e\nf,g,h,i\n",  # short and long rows
    "a\nb\nc\nd\ne\n",  # one column
    ",,\n,,\n",  # empty cells
    " a , b \n",  # spaces are cells' own
    "a\x00,b\n",  # NUL
    "工号,姓名\r\nE01,陈立新\r\n",
]


def test_a_plain_chunk_comes_as_columns_and_any_other_is_left_to_the_parser_untouched() -> None:
    rows = CsvRows("a,b\r\nc,d\r\n")
    assert rows.plain_columns(2) == [["a", "c"], ["b", "d"]]
    assert rows.plain_columns(2) == []
    rows = CsvRows('e,"f\r\ng"\r\nh,i\r\n')
    assert rows.plain_columns(2) is None  # a quote: nothing taken
    assert rows.records(1) == [["e", "f\r\ng"]]
    assert rows.plain_columns(2) == [["h"], ["i"]]
    assert rows.records(2) == []


@pytest.mark.parametrize("chunk", [1, 2, 3, 1000])
@pytest.mark.parametrize("text", ODD_TEXTS)
def test_plain_chunks_give_exactly_the_records_of_the_csv_module(text: str, chunk: int) -> None:
    assert read_by_chunks(text, chunk) == read_by_csv_module(text, chunk)


def test_plain_chunks_with_another_delimiter_give_the_records_of_the_csv_module() -> None:
    text = "a\tb,c\td\r\ne\tf\tg\r\n"
    for chunk in (1, 2, 1000):
        assert read_by_chunks(text, chunk, "\t") == read_by_csv_module(text, chunk, "\t")


def test_random_texts_give_exactly_the_records_of_the_csv_module() -> None:
    rng = random.Random(5)
    pieces = ["a", "员工", " ", ",", '"', '""', "\r", "\n", "\r\n", "\x00", "2023-07-03 08:00:00"]
    for _ in range(3000):
        line_end = rng.choice(["\r\n", "\n", "\r"])
        lines = []
        for _ in range(rng.randint(0, 8)):
            if rng.random() < 0.6:  # a plain line, as exports mostly are
                lines.append(",".join(rng.choice(["a", "员工", "", "x y"]) for _ in range(3)))
            else:
                lines.append("".join(rng.choice(pieces) for _ in range(rng.randint(0, 6))))
        text = line_end.join(lines) + rng.choice(["", line_end])
        for chunk in (1, 2, 3, 1000):
            assert read_by_chunks(text, chunk) == read_by_csv_module(text, chunk), (text, chunk)


def test_a_cell_over_the_csv_modules_size_limit_is_refused_by_it_as_before() -> None:
    limit = csv.field_size_limit()
    try:
        csv.field_size_limit(10)
        text = "a,b\r\n" + "x" * 11 + ",c\r\n"
        assert read_by_chunks(text, 1000) == read_by_csv_module(text, 1000)
        assert read_by_chunks(text, 1000)[0] == "error"
        table = read_table(("工号,姓名,打卡时间\r\nE01,陈立新,2023-07-03 08:00:00" + "x" * 11).encode(), "c.csv")
        with pytest.raises(ImportFailed, match="CSV 格式错误"):
            list(Importer(standard_profile("attendance-clock"), Target("p", "ops")).lines(table))
    finally:
        csv.field_size_limit(limit)


HEADER = "工号,姓名,打卡时间,打卡地点,打卡类型"


def clock_rows(rng: random.Random, count: int) -> list[str]:
    """A clock export sorted by day, its clocks in staff order within the day (not by time)."""
    rows = []
    for i in range(count):
        day, person = divmod(i, 60)
        hour = 8 if person % 2 else 17
        when = (
            f"2023-{1 + day // 28:02d}-{1 + day % 28:02d} {hour:02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 2):02d}"
        )
        rows.append(f"E{person:03d},员工{person:03d},{when},市委编办,{'上班' if hour == 8 else '下班'}")
    return rows


def variants() -> dict[str, list[str]]:
    rng = random.Random(3)
    base = clock_rows(rng, 2500)
    same_time = [f"E{p:03d},员工{p:03d},2023-09-01 08:00:00,市委编办,上班" for p in range(130)]
    out = {
        "sorted": base,
        "repeats near": [*base[:700], base[699], base[698], *base[700:]],  # in the same chunk and the last
        "repeats far": [*base, base[3], base[1200]],  # times going back: every id checked
        "one time over several chunks": [*base[:100], *same_time, same_time[0], *base[100:]],
        "quoted cells": [
            *base[:300],
            'E900,"王,晓峰",2023-01-06 08:00:00,市委编办,上班',
            'E901,"李\r\n敏",2023-01-06 08:00:01,"市委""编办",上班',
            *base[300:],
        ],
        "blank and short rows": [*base[:400], "", ",,,,", "E905,陈立新,2023-01-07 08:00:00", *base[400:]],
        "long rows": [*base[:50], *(r + ",备注" for r in base[50:60]), *base[60:]],
        "out of order": [*base[1000:], *base[:1000]],
        "a repeat after times went back": [*base[1500:], *base[:1000], base[1600]],
        "a bad time": [*base[:500], "E906,赵红,2023-02-30 08:00:00,市委编办,上班", *base[500:]],
    }
    return out


def import_csv(data: bytes, plain_chunks: bool, monkeypatch: pytest.MonkeyPatch) -> tuple[bytes, list[str]]:
    with monkeypatch.context() as patch:
        if not plain_chunks:  # every record through the csv module, as before
            patch.setattr(imports.CsvRows, "plain_columns", lambda self, count: None)
        importer = Importer(standard_profile("attendance-clock"), Target("guangzhou-2023", "ops"))
        try:
            return b"".join(importer.lines(read_table(data, "c.csv"))), []
        except ImportFailed as failed:
            return b"", [str(p) for p in failed.problems]


@pytest.mark.parametrize("chunk_rows", [1000, 97, 2])
@pytest.mark.parametrize(("encoding", "line_end"), [("gbk", "\r\n"), ("utf-8-sig", "\r\n"), ("utf-8", "\n")])
@pytest.mark.parametrize("variant", list(variants()))
def test_a_clock_export_read_by_plain_chunks_gives_the_same_lines_and_problems_as_through_the_csv_module(
    variant: str, encoding: str, line_end: str, chunk_rows: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(imports, "CHUNK_ROWS", chunk_rows)
    rows = variants()[variant]
    data = line_end.join([HEADER, *rows, ""]).encode(encoding)
    fast = import_csv(data, plain_chunks=True, monkeypatch=monkeypatch)
    assert fast == import_csv(data, plain_chunks=False, monkeypatch=monkeypatch)
    if variant == "a bad time":
        assert len(fast[1]) == 1 and fast[1][0].startswith("c.csv:502: 打卡时间: ") and not fast[0]
    else:
        assert not fast[1] and fast[0].count(b"\n") == len([r for r in rows if r.strip(",")])
    if "repeat" in variant or variant == "one time over several chunks":
        assert b'/2"' in fast[0]


def test_iterating_the_records_past_the_first_ones_gives_the_csv_modules_records() -> None:
    """`for row in table.rows` (the indicator sheet's reading) reads the first records line by line and
    the rest through the csv module's stream; in between, plain chunks may have been taken."""
    text = "".join(f'{i},"x\r\n{i}",y\r\n' if i % 7 == 0 else f"{i},x,y\n" for i in range(100))
    assert list(CsvRows(text)) == list(csv.reader(io.StringIO(text, newline=""), strict=False))
    rows = CsvRows(text)
    head = [next(rows) for _ in range(40)]
    middle = rows.records(5)
    rest = list(rows)
    assert [*head, *middle, *rest] == list(csv.reader(io.StringIO(text, newline=""), strict=False))
