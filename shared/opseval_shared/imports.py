"""Evidence from the exports agencies really hold: CSV and Excel tables turned into evidence events by
a mapping profile (导入模板).

A profile names the kind of event, which column fills which payload field, the value maps (是/否,
一级/P1 …), the date and time formats and the UTC offset they are written in. Importing is all or
nothing: every bad row is reported with its file, row, column and reason, and no event comes out
while any row is bad. An event's id is derived from its content (project, contract, kind, times,
source and payload; the n-th identical row of a file gets `-n`), so importing the same file twice
yields the same events again — duplicates, not new evidence.

Pure: the adapters read the bytes; this module decodes and converts them. Each distinct payload is
validated (and its references checked) once, with the same models and checks as any other event;
rows repeating it cost a dictionary lookup, which is what lets a million clock rows import at the
speed of reading them.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from functools import partial
from itertools import chain, filterfalse, islice, repeat, starmap
from operator import add, itemgetter, methodcaller, mod
from types import UnionType
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import AwareDatetime, BaseModel, Field, TypeAdapter, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails

from .base import Frozen
from .evidence import EVIDENCE_ADAPTER, KIND_OF_CLASS, NO_CONTROL_CHARACTERS, EvidenceKind, Slug, Text, error_field
from .references import NEEDS_CONTRACT, EvidenceReferenceError, EvidenceReferences, known

MAX_ID_LENGTH = 120  # an event id has at most 128 characters; `/n` may follow for a repeated row
CHUNK_ROWS = 1_000  # rows converted column by column at once: few enough for their objects to stay in cache
ID_SAFE = methodcaller("replace", "+", "_")  # an event id has no "+": the offset's sign is written "_"
MAX_PROBLEMS = 100  # a systematic mistake repeats on every row; the first hundred show it
HEADER_SEARCH_ROWS = 20  # exports often put a title or a note above the header
BOOLEAN_WORDS: dict[str, bool] = {
    **dict.fromkeys(("是", "有", "√", "✓", "Y", "y", "yes", "Yes", "YES", "true", "True", "TRUE", "1"), True),
    **dict.fromkeys(("否", "无", "×", "✗", "N", "n", "no", "No", "NO", "false", "False", "FALSE", "0"), False),
}
# Names of the one offset Chinese exports are written in, accepted for `timezone` besides "+08:00".
BEIJING_TIME_NAMES = ("Asia/Shanghai", "Asia/Chongqing", "Asia/Harbin", "Asia/Urumqi", "PRC", "北京时间")
_OFFSET = re.compile(r"^(?:UTC|GMT)?([+-])(\d{2}):?(\d{2})$")
_INVISIBLE = str.maketrans("", "", "\ufeff\u200b\u200c\u200d\u2060")
# A time written exactly as "%Y-%m-%d %H:%M:%S" reads it and ISO 8601 writes it (but for the "T"):
# two-digit fields, a real day of a year 1990–2100, an hour 00–23. Such a column needs no parsing.
_YEAR = "(?:199[0-9]|20[0-9][0-9]|2100)"
_MONTH_DAY = "(?:(?:0[1-9]|1[0-2])-(?:0[1-9]|1[0-9]|2[0-8])|(?:0[13-9]|1[0-2])-(?:29|30)|(?:0[13578]|1[02])-31)"
_LEAP_DAY = "(?:199[26]|20[02468][048]|20[13579][26])-02-29"
_PLAIN_TIME = f"(?:{_YEAR}-{_MONTH_DAY}|{_LEAP_DAY}) (?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]"
PLAIN_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
_PLAIN_TIMES = re.compile(f"(?:{_PLAIN_TIME}\n)*{_PLAIN_TIME}".encode())  # a column's cells joined by "\n"
_PLAIN_DAY = re.compile(f"(?:{_YEAR}-{_MONTH_DAY}|{_LEAP_DAY})".encode())
_PLAIN_HOURS = re.compile(rb"(?:[01][0-9]|2[0-3])*")
_DIGITS_TO_ZERO = bytes.maketrans(b"0123456789", b"0" * 10)
_PLAIN_SHAPE = b"\n".join([b"0000-00-00 00:00:00"] * CHUNK_ROWS * 2)  # a column of plain times, digits as 0


def plain_clock_times(joined: bytes) -> bool:
    """Whether a column's cells joined by "\n" are each written "YYYY-MM-DD hh:mm:ss" in ASCII digits,
    with a real time of day; the days are left to `plain_days`. Together they say what `_PLAIN_TIMES`
    says, without the regex (which reads each character through a large alternation) in the common
    case: the shape by one `translate` (every digit made 0), the minutes and seconds by the tens digit
    of each cell (a strided slice, one C-level pass), the hours likewise."""
    size = len(joined)
    if size % 20 != 19 or size > len(_PLAIN_SHAPE):
        return _PLAIN_TIMES.fullmatch(joined) is not None
    if joined.translate(_DIGITS_TO_ZERO) != _PLAIN_SHAPE[:size]:
        return False
    if joined[14::20].strip(b"012345") or joined[17::20].strip(b"012345"):
        return False  # a minute or a second of 60 or more
    hour_tens = joined[11::20]
    if hour_tens.strip(b"01"):
        hours = bytearray(2 * len(hour_tens))
        hours[0::2], hours[1::2] = hour_tens, joined[12::20]
        return _PLAIN_HOURS.fullmatch(hours) is not None
    return True


def plain_days(joined: bytes, earliest: bytes, latest: bytes) -> bool:
    """Whether each cell of a column `plain_clock_times` accepted is of a real day of 1990–2100, given
    its earliest and latest cell (digits in the same places: byte order is time order). When those
    two are of one month, every cell is of that month and between their days: it is enough that they
    are real days. Else each cell is checked."""
    if earliest[:7] != latest[:7]:
        return _PLAIN_TIMES.fullmatch(joined) is not None
    return _PLAIN_DAY.fullmatch(earliest[:10]) is not None and _PLAIN_DAY.fullmatch(latest[:10]) is not None


class ImportProblem(Frozen):
    """One bad row (or the file as a whole when `row` is None), as the evaluator is told it."""

    file: str
    row: int | None = None
    column: str | None = None
    reason: str

    def __str__(self) -> str:
        where = self.file + (f":{self.row}" if self.row is not None else "")
        return f"{where}: {self.column + ': ' if self.column else ''}{self.reason}"


class ImportFailed(ValueError):
    """Nothing was imported: the problems of the file, each located."""

    def __init__(self, problems: Sequence[ImportProblem], truncated: bool = False) -> None:
        self.problems, self.truncated = list(problems), truncated
        super().__init__("\n".join(str(p) for p in self.problems))


# ---------------------------------------------------------------- profiles


class FieldSpec(Frozen):
    """Where one field's value comes from: a column (one of several names) or a constant."""

    column: str | tuple[str, ...] | None = Field(
        default=None, description="the column's header; several names when exports differ (the first found is used)"
    )
    value: Any = Field(default=None, description="a constant, instead of a column")
    map: dict[str, Any] | None = Field(
        default=None, description="cell text → value; a cell not listed is an error naming the values known"
    )
    formats: tuple[str, ...] = Field(default=(), description="date/time formats (strptime), tried in order")
    split: str | None = Field(default=None, description="a list field: the separator between items")
    optional: bool = Field(default=False, description="the column may be missing and the cell empty")

    @field_validator("column")
    @classmethod
    def _columns_named(cls, value: str | tuple[str, ...] | None) -> str | tuple[str, ...] | None:
        names = (value,) if isinstance(value, str) else value or ()
        if any(not _header(n) for n in names) or value == ():
            raise ValueError("a column needs a name")
        return value

    @model_validator(mode="after")
    def _column_or_value(self) -> FieldSpec:
        if (self.column is None) == (self.value is None):
            raise ValueError("give either a column or a value")
        if self.map is not None and self.column is None:
            raise ValueError("a value map applies to a column")
        return self

    @property
    def columns(self) -> tuple[str, ...]:
        return () if self.column is None else (self.column,) if isinstance(self.column, str) else self.column


class ImportProfile(Frozen):
    """A mapping profile: how one kind of export becomes evidence events."""

    id: Slug
    name: Text
    description: str = ""
    kind: EvidenceKind
    source: Text = Field(description="the events' source, the system the export comes from")
    encoding: str | None = Field(default=None, description="CSV encoding; none: UTF-8 (with or without BOM) or GBK")
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    sheet: str | None = Field(default=None, description="XLSX: the worksheet (default: the first)")
    timezone: str = Field(default="+08:00", description="the UTC offset the times are written in")
    occurred_at: FieldSpec
    recorded_at: FieldSpec | None = Field(
        default=None, description="default: the latest time of the row (when the record was last changed)"
    )
    fields: dict[str, FieldSpec] = Field(description="payload field (dotted: attendees.0.count) → its source")

    @field_validator("timezone")
    @classmethod
    def _offset(cls, value: str) -> str:
        parse_offset(value)
        return value

    @field_validator("encoding")
    @classmethod
    def _known_encoding(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                "".encode(value)
            except LookupError:
                raise ValueError(f"unknown encoding {value!r}") from None
        return value

    @model_validator(mode="after")
    def _fields_exist(self) -> ImportProfile:
        """Each field is one of the kind's, and each value it maps to or is set to fits it: a wrong
        one is this profile's mistake (named where it is written), not every row's that reaches it."""
        if self.occurred_at.optional:
            raise ProfileFieldError(("occurred_at", "optional"), "every event needs the time it happened")
        payload = _payload_model(self.kind)
        for path, spec in self.fields.items():
            try:
                _field_type(payload, path)
            except ValueError as exc:
                raise ProfileFieldError(("fields", path), str(exc).removeprefix("fields: ")) from None
            fits = TypeAdapter[Any](_field_annotation(payload, path))
            given: list[tuple[tuple[str, ...], Any]] = [(("map", k), v) for k, v in (spec.map or {}).items()]
            given += [(("value",), spec.value)] if spec.value is not None else []
            for where, value in given:
                try:
                    fits.validate_python(value)
                except ValidationError as exc:
                    reason = _reason(exc.errors(include_url=False)[0])
                    raise ProfileFieldError(("fields", path, *where), f"{value!r}: {reason}") from None
        return self


class ProfileFieldError(ValueError):
    """A profile's mistake below the field a validator is given (`loc`: where, from that field)."""

    def __init__(self, loc: tuple[str, ...], message: str) -> None:
        super().__init__(message)
        self.loc = loc


def parse_offset(text: str) -> timezone:
    if text in BEIJING_TIME_NAMES:
        return timezone(timedelta(hours=8))
    match = _OFFSET.match(text.strip())
    if match is None:
        raise ValueError(f"timezone {text!r}: write a UTC offset such as +08:00")
    sign, hours, minutes = match.groups()
    offset = timedelta(hours=int(hours), minutes=int(minutes))
    if offset >= timedelta(hours=24):
        raise ValueError(f"timezone {text!r}: offset out of range")
    return timezone(-offset if sign == "-" else offset)


def _payload_model(kind: EvidenceKind) -> type[BaseModel]:
    for cls, k in KIND_OF_CLASS.items():
        if k == kind:
            payload: type[BaseModel] = cls.model_fields["payload"].annotation  # type: ignore[attr-defined]
            return payload
    raise AssertionError(kind)  # every kind has its class


Shape = Literal["text", "boolean", "date", "datetime", "list"]


def _unwrap(annotation: Any) -> Any:
    """The type inside Annotated[...] and Optional[...]."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, UnionType):
            members = [a for a in get_args(annotation) if a is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation


def _field_annotation(model: type[BaseModel], path: str) -> Any:
    """The type a payload field's value is validated as (with its constraints)."""
    current: Any = model
    annotation: Any = model
    parts = path.split(".")
    for i, part in enumerate(parts):
        here = ".".join(parts[: i + 1])
        if isinstance(current, type) and issubclass(current, BaseModel):
            if part not in current.model_fields:
                raise ValueError(f"fields: {here!r} is not a field of {current.__name__} {known(current.model_fields)}")
            info = current.model_fields[part]
            annotation = Annotated[info.annotation, info]
        elif get_origin(current) is tuple:
            if not part.isdigit():
                raise ValueError(f"fields: {here!r}: a list's item is named by its position (0, 1 …)")
            annotation = get_args(current)[0]
        elif get_origin(current) is dict:
            annotation = get_args(current)[1]
        else:
            raise ValueError(f"fields: {here!r}: {'.'.join(parts[:i])!r} has no fields")
        current = _unwrap(annotation)
    return annotation


def _field_type(model: type[BaseModel], path: str) -> tuple[Shape, Any]:
    """How a cell is read for a payload field: its shape, and the type of a list's items."""
    current = _unwrap(_field_annotation(model, path))
    if current is bool:
        return "boolean", None
    if current is datetime or current is AwareDatetime:
        return "datetime", None
    if current is date:
        return "date", None
    if get_origin(current) is tuple:
        return "list", _unwrap(get_args(current)[0])
    if isinstance(current, type) and issubclass(current, BaseModel):
        raise ValueError(f"fields: {path!r} has fields of its own; map each of them")
    return "text", None


# ---------------------------------------------------------------- tables


@dataclass
class Table:
    """The rows of one file as text cells (the first is row 1, as a spreadsheet numbers them; a CSV
    row is a record, even one spanning lines in a quoted cell)."""

    name: str
    rows: Iterable[Sequence[str]]
    encoding: str | None = None  # CSV: the one it was read in


XLSX_MAGIC = b"PK\x03\x04"
XLS_MAGIC = b"\xd0\xcf\x11\xe0"
UTF8_BOM = b"\xef\xbb\xbf"
_BLANK = re.compile(rb"\s*(?:\xef\xbb\xbf)?\s*")  # nothing but ASCII white space and a BOM, as bytes.strip() sees it


def read_table(
    data: bytes, name: str, *, encoding: str | None = None, delimiter: str = ",", sheet: str | None = None
) -> Table:
    """A CSV or XLSX file (told apart by its bytes, not its name) as a table; ImportFailed if unreadable."""
    if _BLANK.fullmatch(data):  # stops at the first character that is not blank (strip() copies the file)
        raise ImportFailed([ImportProblem(file=name, reason="文件为空")])
    if data.startswith(XLS_MAGIC):
        raise ImportFailed(
            [
                ImportProblem(
                    file=name, reason="这是旧版 Excel（.xls）文件，不能直接读取：请在 Excel 中另存为 .xlsx 或 CSV"
                )
            ]
        )
    if data.startswith(XLSX_MAGIC):
        return read_xlsx(data, name, sheet)
    return read_csv(data, name, encoding=encoding, delimiter=delimiter)


def decode(data: bytes, name: str, encoding: str | None) -> tuple[str, str]:
    """The text and the encoding it was read in: the declared one, else UTF-8 (a BOM is dropped), else
    GB18030 (which reads GBK and GB2312). ImportFailed naming the row when none reads it."""
    if encoding is not None:
        try:
            "".encode(encoding)
        except LookupError:
            raise ImportFailed(
                [ImportProblem(file=name, reason=f"未知的编码“{encoding}”（常用：utf-8、gbk）")]
            ) from None
        tried = [encoding]
    elif data.startswith(UTF8_BOM):
        tried = ["utf-8-sig"]
    else:
        tried = ["utf-8", "gb18030"]
    # Only where the last one failed is kept: the error itself would hold this frame (and the file's
    # bytes) in a cycle, which nothing frees while the import runs with the cycle collector off.
    start: int | None = None
    for candidate in tried:
        try:
            return data.decode(candidate), candidate
        except UnicodeError as exc:  # a decode error, or what a codec such as idna raises
            start = getattr(exc, "start", 0)
    assert start is not None
    row = data.count(b"\n", 0, start) + 1
    what = f"不是声明的编码 {encoding}" if encoding is not None else "既不是 UTF-8 也不是 GBK/GB18030"
    hint = "" if encoding is not None else "；请在导入模板或命令中声明编码（encoding）"
    raise ImportFailed([ImportProblem(file=name, row=row, reason=f"文件编码{what}（第 {start + 1} 字节）{hint}")])


def read_csv(data: bytes, name: str, *, encoding: str | None = None, delimiter: str = ",") -> Table:
    text, used = decode(data, name, encoding)
    if text.startswith("\ufeff"):
        text = text[1:]
    return Table(name, CsvRows(text, delimiter), used)


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)?")  # a line as StringIO(newline="") gives it, its break kept
HEAD_RECORDS = 32  # records read line by line before the parser gets the text as a stream


class CsvRows:
    """The records of a CSV text, as `csv.reader` reads them (strict=False), which can also hand out the
    next records a chunk at a time as columns (`plain_columns`) when they are plain: no quote character,
    every line ending in the same CRLF or LF, no blank line, the same number of cells on each. Such
    records are what splitting their lines at the delimiter gives, so the chunk is split by `str.split`
    (a few C-level passes over a slice of the text) instead of the csv module's parser; any other chunk
    is left to the parser (`records`). The parser reads a record line by line and holds nothing back
    between records: where the next record starts (`_pos`, an index into the text) is all the state."""

    def __init__(self, text: str, delimiter: str = ",") -> None:
        self._text, self._pos, self.delimiter = text, 0, delimiter
        self._given = 0
        self._head = csv.reader(self._head_lines(), delimiter=delimiter, strict=False)
        # The parser's stream, made the first time it reads more than a header: a plain file never
        # copies its text into one.
        self._stream: io.StringIO | None = None
        self._parser: Iterator[list[str]] = iter(())
        self._line_length = 64  # a plain chunk's mean line length, to size the next chunk's slice

    def _head_lines(self) -> Iterator[str]:
        text = self._text
        while self._pos < len(text):
            match = _LINE.match(text, self._pos)
            assert match is not None
            line, self._pos = match.group(), match.end()
            yield line

    def __iter__(self) -> CsvRows:
        return self

    def __next__(self) -> list[str]:
        self._given += 1
        if self._given <= HEAD_RECORDS:
            return next(self._head)
        records = self.records(1)
        if not records:
            raise StopIteration
        return records[0]

    def records(self, count: int) -> list[list[str]]:
        """The next `count` records (fewer at the end) as the csv module reads them."""
        if self._stream is None:
            # StringIO positions are indexes into its text (newline="": nothing is translated)
            self._stream = io.StringIO(self._text, newline="")
            self._parser = csv.reader(self._stream, delimiter=self.delimiter, strict=False)
        self._stream.seek(self._pos)
        try:
            return list(islice(self._parser, count))
        finally:
            self._pos = self._stream.tell()

    def plain_columns(self, count: int) -> list[list[str]] | None:
        """About the next `count` records (the lines of a slice of the text; [] at its end) as columns
        of cells when they are plain; else None, nothing consumed."""
        text, start = self._text, self._pos
        if start >= len(text):
            return []
        limit = start + self._line_length * count
        end = len(text) if limit >= len(text) else text.find("\n", limit) + 1 or len(text)
        block = text[start:end]
        if '"' in block:  # a quoted cell, or a stray quote the parser keeps its own way
            return None
        n, sep = block.count("\n"), self.delimiter
        if not block.endswith("\n"):  # the last line without a break: left to the parser
            return None
        # a line holds one line break at most, at its end; n of them, all CRLF (as many CRs as LFs, and
        # none left once the CRLFs are replaced) or all LF
        carriage_returns = block.count("\r")
        if carriage_returns == n:
            newline = "\r\n"
        elif not carriage_returns:
            newline = "\n"
        else:
            return None
        # Each record's last cell ends in "\n", which a cell can hold nowhere else: when the cells number
        # width × n and every width-th one holds a "\n", each line has exactly `width` cells — so no line
        # is blank (the parser's record for one is [], not [""]) unless lines have one cell each.
        width = block.count(sep, 0, block.index("\n")) + 1
        if width == 1 and (block.startswith(newline) or newline + newline in block):
            return None
        lines = block.replace(newline, "\n" + sep)
        if carriage_returns and "\r" in lines:  # a CR not followed by LF
            return None
        cells = lines.split(sep)
        cells.pop()  # the "" after the last line break
        last = "".join(cells[width - 1 :: width])
        if len(cells) != width * n or last.count("\n") != n:
            return None
        if len(block) > csv.field_size_limit() and max(map(len, cells)) > csv.field_size_limit():
            return None  # a cell the parser refuses: left to it, to say so
        self._pos, self._line_length = end, max(16, len(block) // n)
        columns = [cells[i::width] for i in range(width - 1)]
        columns.append(last[:-1].split("\n"))
        return columns


def read_xlsx(data: bytes, name: str, sheet: str | None = None) -> Table:
    from openpyxl import load_workbook  # type: ignore[import-untyped]  # only for Excel files

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # a damaged file raises whatever zipfile or the XML parser raise
        raise ImportFailed([ImportProblem(file=name, reason=f"不是有效的 Excel（.xlsx）文件：{exc}")]) from None
    if sheet is not None and sheet not in book.sheetnames:
        reason = f"没有名为“{sheet}”的工作表（有：{'、'.join(book.sheetnames)}）"
        raise ImportFailed([ImportProblem(file=name, reason=reason)])
    worksheet = book[sheet] if sheet is not None else book.worksheets[0]

    def rows() -> Iterator[Sequence[str]]:
        number = 0
        try:
            for number, values in enumerate(worksheet.iter_rows(values_only=True), 1):  # noqa: B007
                yield [_cell_text(v) for v in values]
        except Exception as exc:  # a damaged sheet fails as its XML is read, row by row
            problem = ImportProblem(file=name, row=number + 1, reason=f"无法读取工作表：{exc}")
            raise ImportFailed([problem]) from None
        finally:
            book.close()

    return Table(name, rows())


def _cell_text(value: Any) -> str:
    """An Excel cell as the text a CSV export of it would hold (dates in ISO form)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds" if not value.microsecond else "microseconds")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _header(text: str) -> str:
    return text.translate(_INVISIBLE).replace("\u3000", " ").strip()


# ---------------------------------------------------------------- converting


class _CellError(ValueError):
    """A cell that cannot become its field's value."""


def set_values(pairs: Iterable[str], option: str) -> dict[str, str]:
    """`FIELD=VALUE` pairs (the `option` that gave them, for the error) as Target.values."""
    out = {}
    for pair in pairs:
        name, found, value = pair.partition("=")
        if not found or not name.strip():
            raise ValueError(f"{option} takes FIELD=VALUE, not {pair!r}")
        out[name.strip()] = value.strip()
    return out


@dataclass(frozen=True)
class Target:
    """Whose evidence the import is: the project, its contract, and what to set regardless of the file."""

    project: str
    contract: str | None = None
    source: str | None = None  # overrides the profile's
    values: dict[str, str] = field(default_factory=dict)  # payload field → a constant, e.g. survey


@dataclass
class ImportSummary:
    rows: int = 0  # data rows read (blank rows are not counted)
    events: int = 0
    repeated_rows: int = 0  # rows identical to an earlier row of the file (each still an event, `-n` ids)
    encoding: str | None = None


_KNOWN_LIMIT = 12


def _map_reason(text: str, mapping: dict[str, Any]) -> str:
    listed = "、".join(list(mapping)[:_KNOWN_LIMIT]) + ("…" if len(mapping) > _KNOWN_LIMIT else "")
    return f"无法识别的取值“{text}”（可用：{listed}）"


class _Times:
    """Cells to ISO 8601 times with the profile's offset, memoised by their date and time parts (a
    million clock rows hold a few hundred dates and a few thousand times of day)."""

    def __init__(self, formats: Sequence[str], offset: timezone, with_time: bool) -> None:
        implicit = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d") if with_time else ("%Y-%m-%d",)
        self.formats = [*formats, *(f for f in implicit if f not in formats)]
        self.offset = offset
        self.suffix = "Z" if not offset.utcoffset(None) else datetime(2000, 1, 1, tzinfo=offset).isoformat()[19:]
        self.with_time = with_time
        self.pattern = "{}T{}" + self.suffix.replace("{", "{{")
        # per format: the separator of date and time, each part's format, and the memo of the parts
        # it read (text → ISO; what it does not read is not remembered, each format is tried in turn)
        self.parts: list[tuple[str, str, str | None, dict[str, str], dict[str, str]]] = []
        for fmt in self.formats:
            sep, day_fmt, time_fmt = self._split(fmt)
            self.parts.append((sep, day_fmt, time_fmt, {}, {}))

    @staticmethod
    def _split(fmt: str) -> tuple[str, str, str | None]:
        for sep in (" ", "T"):
            head, found, tail = fmt.partition(sep)
            if found and "%H" in tail:
                return sep, head, tail
        return "", fmt, None

    @staticmethod
    def _day(text: str, fmt: str, memo: dict[str, str]) -> str | None:
        try:
            day = datetime.strptime(text, fmt).date()
        except ValueError:
            return None
        if not 1990 <= day.year <= 2100:
            raise _CellError(f"年份 {day.year} 不在 1990—2100 之间")
        memo[text] = day.isoformat()
        return memo[text]

    @staticmethod
    def _time(text: str, fmt: str, memo: dict[str, str]) -> str | None:
        try:
            memo[text] = datetime.strptime(text, fmt).time().isoformat()
        except ValueError:
            return None
        return memo[text]

    def column(self, cells: Sequence[str], optional: bool = False) -> tuple[list[str | None], list[tuple[int, str]]]:
        """A column's times (None for an empty optional cell) and the problems (index, reason). When
        every cell is in the first format, the column is converted at C speed: split, then looked up."""
        sep, day_fmt, time_fmt, days, times = self.parts[0]
        if time_fmt is not None and self.with_time and cells:
            heads, tails = _split_column(cells, sep)
            distinct_heads, distinct_tails = set(heads), set(tails)
            # filterfalse, not set.difference: that would walk the whole memo for every chunk
            for head in list(filterfalse(days.__contains__, distinct_heads)):
                with suppress(_CellError):  # reported by the general path below
                    self._day(head, day_fmt, days)
            for tail in list(filterfalse(times.__contains__, distinct_tails)):
                self._time(tail, time_fmt, times)
            if days.keys() >= distinct_heads and times.keys() >= distinct_tails:
                return list(map(self.pattern.format, map(days.__getitem__, heads), map(times.__getitem__, tails))), []
        out: list[str | None] = []
        problems: list[tuple[int, str]] = []
        for index, cell in enumerate(cells):
            text = cell.strip()
            if not text:
                out.append(None)
                if not optional:
                    problems.append((index, "不能为空"))
                continue
            try:
                out.append(self.convert(text))
            except _CellError as exc:
                out.append(None)
                problems.append((index, str(exc)))
        return out, problems

    def reader(self) -> Callable[[str], str]:
        """The conversion, with the first format's common case (both parts seen before) inlined."""
        sep, _, time_fmt, days, times = self.parts[0]
        suffix, slow = self.suffix, self.convert
        if time_fmt is None or not self.with_time:
            return slow

        def read(text: str) -> str:
            head, _, tail = text.partition(sep)
            day, clock = days.get(head), times.get(tail)
            if day is None or clock is None:
                return slow(text)
            return f"{day}T{clock}{suffix}"

        return read

    def convert(self, text: str) -> str:
        """The ISO text of a cell's time: by the first format that reads it, else as ISO 8601."""
        for sep, day_fmt, time_fmt, days, times in self.parts:
            if time_fmt is None:
                day = days.get(text) or self._day(text, day_fmt, days)
                if day is not None:
                    return f"{day}T00:00:00{self.suffix}" if self.with_time else day
                continue
            head, found, tail = text.partition(sep)
            if not found:
                continue
            day = days.get(head) or self._day(head, day_fmt, days)
            clock = (times.get(tail) or self._time(tail, time_fmt, times)) if day is not None else None
            if day is not None and clock is not None:
                return f"{day}T{clock}{self.suffix}" if self.with_time else day
        return self._iso(text)

    def _iso(self, text: str) -> str:
        """An ISO 8601 time with its own offset, as a system's API would write it; else the error."""
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise _CellError(f"无法按格式 {' 或 '.join(self.formats)} 读取“{text}”") from None
        if not 1990 <= moment.year <= 2100:
            raise _CellError(f"年份 {moment.year} 不在 1990—2100 之间")
        if not self.with_time:
            return moment.date().isoformat()
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=self.offset)
        written = moment.isoformat()
        return written[:-6] + "Z" if written.endswith("+00:00") else written


def _split_column(cells: Sequence[str], sep: str) -> tuple[list[str], list[str]]:
    """Each cell's text before and after its first `sep`, by slicing when the cells are all alike
    (an export writes its times in one width) — C-level maps either way."""
    first = cells[0]
    at = first.find(sep)
    if at > 0 and len(set(map(len, cells))) == 1 and set(map(itemgetter(at), cells)) == {sep}:
        return list(map(itemgetter(slice(0, at)), cells)), list(map(itemgetter(slice(at + 1, None)), cells))
    parts = list(map(methodcaller("partition", sep), cells))
    return list(map(itemgetter(0), parts)), list(map(itemgetter(2), parts))


_ERROR_WORDS = {
    "missing": "缺少必填内容",
    "string_too_short": "不能为空",
    "int_parsing": "不是整数",
    "int_from_float": "不是整数",
    "decimal_parsing": "不是数字",
    "bool_parsing": "不是“是/否”",
    "date_from_datetime_parsing": "不是日期",
    "greater_than_equal": "小于允许的最小值",
    "less_than_equal": "大于允许的最大值",
    "literal_error": "不是允许的取值",
}


def _reason(err: ErrorDetails) -> str:
    if err["type"] == "string_pattern_mismatch" and err.get("ctx", {}).get("pattern") == NO_CONTROL_CHARACTERS:
        return "含有控制字符（不可见字符），请删去"
    if err["type"] == "string_pattern_mismatch":
        return "格式不符：编号只能含字母、数字和 _ - .，且以字母或数字开头"
    words = _ERROR_WORDS.get(err["type"])
    msg = str(err["msg"]).removeprefix("Value error, ")
    return f"{words}（{msg}）" if words else msg


class Importer:
    """One file through one profile: `lines()` yields each event as its JSON line (the form intake
    stores) and raises ImportFailed at the end if any row is bad — the caller keeps nothing then."""

    def __init__(self, profile: ImportProfile, target: Target, references: EvidenceReferences | None = None) -> None:
        self.profile, self.target, self.references = profile, target, references
        self.summary = ImportSummary()
        self.offset = parse_offset(profile.timezone)
        payload = _payload_model(profile.kind)
        self.specs = dict(profile.fields)
        for path, constant in target.values.items():
            _field_type(payload, path)
            self.specs[path] = FieldSpec(value=constant)
        self.shapes = {path: _field_type(payload, path) for path in self.specs}
        self.problems: list[ImportProblem] = []
        self.truncated = False
        self.name = ""
        self._repeats: dict[str, int] = {}

    # ------------------------------------------------------------ errors

    def _problem(self, row: int | None, column: str | None, reason: str) -> None:
        if len(self.problems) >= MAX_PROBLEMS:
            self.truncated = True
            return
        self.problems.append(ImportProblem(file=self.name, row=row, column=column, reason=reason))

    @property
    def full(self) -> bool:
        return len(self.problems) >= MAX_PROBLEMS

    def _fail(self) -> ImportFailed:
        return ImportFailed(sorted(self.problems, key=lambda p: p.row or 0), self.truncated)

    # ------------------------------------------------------------ header

    def _required(self, spec: FieldSpec) -> bool:
        return bool(spec.columns) and not spec.optional

    def _find_header(self, rows: Iterator[Sequence[str]]) -> tuple[int, dict[str, int]]:
        """The header row (within the first rows: exports put a title above it) and where each name is."""
        specs = [self.profile.occurred_at, *([self.profile.recorded_at] if self.profile.recorded_at else [])]
        specs += list(self.specs.values())
        required = [s.columns for s in specs if self._required(s)]
        best: tuple[int, int, list[str]] = (-1, 0, [])
        for number, cells in enumerate(rows, 1):
            header = [_header(c) for c in cells]
            found = sum(1 for names in required if any(n in header for n in names))
            if found == len(required) and any(header):
                positions: dict[str, int] = {}
                for i, name in enumerate(header):
                    positions.setdefault(name, i)
                return number, positions
            if found > best[0]:
                best = (found, number, [h for h in header if h])
            if number >= HEADER_SEARCH_ROWS:
                break
        if best[0] < 0:
            raise ImportFailed([ImportProblem(file=self.name, reason="文件中没有任何行（至少需要表头）")])
        _, number, header = best
        missing = [names for names in required if not any(n in header for n in names)]
        for names in missing:
            self._problem(number, names[0], f"缺少列“{'”或“'.join(names)}”（表头有：{'、'.join(header) or '无'}）")
        raise self._fail()

    def _column(self, spec: FieldSpec, positions: dict[str, int]) -> tuple[int | None, str]:
        for name in spec.columns:
            if name in positions:
                return positions[name], name
        return None, spec.columns[0] if spec.columns else ""

    # ------------------------------------------------------------ cells

    def _cell_converter(self, path: str, spec: FieldSpec) -> Callable[[str], Any]:
        """Cell text → the field's value (None: leave the field out, its default applies)."""
        shape, _ = self.shapes[path]
        mapping = spec.map
        if mapping is None and shape == "boolean":
            mapping = BOOLEAN_WORDS
        times = _Times(spec.formats, self.offset, shape == "datetime") if shape in ("date", "datetime") else None

        def convert(text: str) -> Any:
            text = text.strip()
            if not text:
                if spec.optional:
                    return None
                raise _CellError("不能为空")
            if mapping is not None:
                if text not in mapping:
                    raise _CellError(_map_reason(text, mapping))
                return mapping[text]
            if times is not None:
                return times.convert(text)
            if shape == "list":
                items = [t.strip() for t in re.split(spec.split or r"[;；,，、]", text) if t.strip()]
                return items
            return text

        return convert

    # ------------------------------------------------------------ rows

    def lines(self, table: Table) -> Iterator[bytes]:
        """Each event as a JSON line (UTF-8, with its newline), in the file's order — the form intake
        stores. ImportFailed after the last row if any row is bad: the caller then keeps nothing."""
        return chain.from_iterable(self.batches(table))

    def batches(self, table: Table) -> Iterator[list[bytes]]:
        """The lines of `lines`, a chunk of rows at a time (a writer writes `b"".join(batch)`)."""
        self.name = table.name
        self.summary.encoding = table.encoding
        target = self.target
        if self.references is not None:
            contract = target.contract or self.references.default_contract
            if contract is not None and contract not in self.references.contracts:
                reason = f"项目 {target.project} 没有合同 {target.contract!r} {known(self.references.contracts)}"
                raise ImportFailed([ImportProblem(file=table.name, column="contract", reason=reason)])
            kinds_needing_one = {KIND_OF_CLASS[cls] for cls in NEEDS_CONTRACT}
            if contract is None and self.profile.kind in kinds_needing_one:
                reason = f"项目 {target.project} 有多个合同，请指明本文件属于哪一个 {known(self.references.contracts)}"
                raise ImportFailed([ImportProblem(file=table.name, column="contract", reason=reason)])
        rows = iter(table.rows)
        number = 0
        try:
            number, positions = self._find_header(rows)
            yield from self._rows(rows, number, positions)
        except csv.Error as exc:
            raise ImportFailed(
                [ImportProblem(file=table.name, row=number + 1, reason=f"CSV 格式错误：{exc}")]
            ) from None

    def _rows(self, rows: Iterator[Sequence[str]], header_row: int, positions: dict[str, int]) -> Iterator[list[bytes]]:
        """The rows a chunk at a time, column by column: a distinct payload or time is converted once
        and every row looks its result up with C-level maps (a row-by-row loop in Python costs several
        times the reading of the file)."""
        profile, target, summary = self.profile, self.target, self.summary
        # Where each payload field comes from: a column (index, header) or a constant.
        payload_columns: list[tuple[str, int, str, Callable[[str], Any]]] = []
        constants: dict[str, Any] = {}
        for path, spec in self.specs.items():
            if spec.value is not None:
                constants[path] = spec.value
                continue
            index, header = self._column(spec, positions)
            if index is not None:
                payload_columns.append((path, index, header, self._cell_converter(path, spec)))
        column_of = {path: header for path, _, header, _ in payload_columns}
        key_of: Callable[[Sequence[str]], Any] = (
            itemgetter(*(index for _, index, _, _ in payload_columns)) if payload_columns else lambda row: ()
        )
        occurred_index, occurred_header = self._column(profile.occurred_at, positions)
        occurred = _Times(profile.occurred_at.formats, self.offset, with_time=True)
        recorded_index, recorded_header, recorded = None, "", None
        if profile.recorded_at is not None:
            recorded_index, recorded_header = self._column(profile.recorded_at, positions)
            recorded = _Times(profile.recorded_at.formats, self.offset, with_time=True)
        width = max([index for _, index, _, _ in payload_columns] + [occurred_index or 0, recorded_index or 0])
        times_in_payload = any(shape == "datetime" for shape, _ in self.shapes.values())
        # project and contract are slugs: nothing in them to escape, for JSON or for str.format
        line_head = (
            '{{"id":"{}","project":' + json.dumps(target.project) + ',"contract":' + json.dumps(target.contract)
        ) + ',"occurred_at":"{}","recorded_at":"{}"'
        head = line_head.format
        prefixes: dict[Any, str] = {}  # payload key (its raw cells) → the id's start
        tails: dict[Any, bytes] = {}  # … → the line from "source" on
        latest: dict[Any, str | None] = {}  # … → the latest time in the payload
        bad: dict[Any, list[tuple[str, str]]] = {}  # … → its problems (column, reason)
        seen: set[bytes] = set()  # every id given, encoded
        # The plain case (a clock export): the time column alone gives each row's times and id, every
        # payload its line template with them left blank; a chunk is then a handful of C-level passes.
        # Its ids are never too long: a profile id of at most 64 characters, "-", 16 hex digits, "-",
        # a time of 19 and an offset of at most 6 make at most 107.
        plain = (
            occurred_index is not None
            and recorded_index is None
            and not times_in_payload
            and occurred.formats[0] == PLAIN_TIME_FORMAT
        )
        templates: dict[Any, bytes] = {}  # payload key → its line, the times left as %s
        id_suffix_bytes = ID_SAFE(occurred.suffix).encode()
        line_times = (
            b'","project":'
            + json.dumps(target.project).encode().replace(b"%", b"%%")
            + b',"contract":'
            + json.dumps(target.contract).encode().replace(b"%", b"%%")
            + b',"occurred_at":"%.19s'
            + occurred.suffix.encode()
            + b'","recorded_at":"%.19s'
            + occurred.suffix.encode()
            + b'"'
        )
        occurred_cell = itemgetter(occurred_index or 0)
        id_starts: dict[Any, bytes] = {}  # payload key → its id's start, encoded (the plain case)
        # … and by its template: a bytes object keeps its hash and is found by identity, a key tuple is hashed again
        id_start_of: dict[bytes | None, bytes] = {}

        def learn(key: Any, row: Sequence[str]) -> None:
            """A new payload key: its payload validated (its problems, or its id's start and its line's
            tail) and, in the plain case, its line template."""
            if key not in prefixes and key not in bad:
                built = self._payload(row, payload_columns, constants, column_of)
                if isinstance(built, list):
                    bad[key] = built
                else:
                    prefixes[key], tails[key], latest[key] = built
            if plain and key in prefixes and key not in templates:
                tail = tails[key].replace(b"%", b"%%")
                id_starts[key] = prefixes[key].encode()
                templates[key] = b'{"id":"' + id_starts[key] + b"%s" + line_times + tail
                id_start_of[templates[key]] = id_starts[key]

        number = header_row
        key_indexes = [index for _, index, _, _ in payload_columns]
        # A CSV's plain chunks come as columns, split by str.split (see CsvRows): same cells, fewer passes.
        take_columns = rows.plain_columns if plain and isinstance(rows, CsvRows) else None
        take_records = rows.records if isinstance(rows, CsvRows) else partial(_take, rows)
        # The plain case's ids not yet in `seen`. An id holds its row's time, so a chunk can only repeat
        # ids of the chunks whose latest time is not before its earliest — in an export sorted by time,
        # the last one or two. Those (`window`, in the order of their latest times) keep their ids as a
        # set of (start, time) pairs (the time's length is the file's: the pairs tell ids apart as the
        # ids do), probed a chunk at a time rather than one of a million at random. Every chunk since
        # `seen` was last brought up to date is kept compactly (`archive`: its templates and its stamped
        # times, one bytes object) and made into ids only when `seen` needs them; a chunk whose earliest
        # time is not after the latest of a chunk that left the window brings `seen` up to date first.
        window: list[tuple[bytes, set[tuple[bytes, bytes]]]] = []
        archive: list[tuple[list[bytes | None], bytes]] = []
        left_window = b""  # the latest time of the chunks that left the window

        def settle() -> None:
            """`seen` with every id given so far, as the general way and the numbering of repeats need it."""
            nonlocal left_window
            for given_templates, given_times in archive:
                seen.update(map(add, map(id_start_of.__getitem__, given_templates), given_times.split(b"\n")))
            archive.clear()
            window.clear()
            left_window = b""

        chunk: Sequence[Sequence[str]] = []
        keys: Sequence[Any]
        while True:
            columns = take_columns(CHUNK_ROWS) if take_columns is not None and not self.problems else None
            if columns is not None and 0 < len(columns) <= width:  # short rows: padded the general way
                chunk, columns = list(zip(*columns, strict=True)), None
            elif columns is None:
                chunk = take_records(CHUNK_ROWS)
            if columns == [] or (columns is None and not chunk):
                break
            count = len(columns[0]) if columns is not None else len(chunk)
            numbers: Sequence[int] = range(number + 1, number + 1 + count)
            number += count
            if plain and not self.problems:
                key_columns: list[list[str]] | None = None
                if columns is not None:
                    row_of: Callable[[int], Sequence[str]] = partial(_row_at, columns)
                    key_columns = list(map(columns.__getitem__, key_indexes))
                    joined = "\n".join(columns[occurred_index or 0])
                else:
                    row_of = chunk.__getitem__
                    try:
                        keys = list(map(key_of, chunk))
                        joined = "\n".join(map(occurred_cell, chunk))
                    except IndexError:  # a short row: padded below
                        joined = ""
                if not joined:
                    chunk_templates: list[bytes | None] = [None]
                elif key_columns is not None:  # no list of keys: zip hands its tuple over again once looked up
                    chunk_templates = list(map(templates.get, _keys(key_columns, count)))
                else:
                    chunk_templates = list(map(templates.get, keys))
                if None in chunk_templates and joined:
                    if key_columns is not None:
                        keys = list(_keys(key_columns, count))
                    for key in {k for k, t in zip(keys, chunk_templates, strict=True) if t is None}:
                        learn(key, row_of(keys.index(key)))
                    chunk_templates = list(map(templates.get, keys))
                # each cell a plain time (a blank row, a bad or other time: not the plain case)
                if (
                    None not in chunk_templates
                    and len(joined) == 20 * count - 1
                    and joined.isascii()
                    and plain_clock_times(ascii_times := joined.encode())
                ):
                    stamped = ascii_times.replace(b" ", b"T").replace(b"\n", id_suffix_bytes + b"\n") + id_suffix_bytes
                    times = stamped.split(b"\n")
                    earliest, latest_time = min(times), max(times)
                    if plain_days(ascii_times, earliest, latest_time):
                        if earliest <= left_window:  # it may repeat an id of a chunk that left the window
                            settle()
                        parts = set(zip(map(id_start_of.__getitem__, chunk_templates), times, strict=True))
                        if (
                            len(parts) == count
                            and (not seen or seen.isdisjoint(starmap(add, parts)))
                            and all(given.isdisjoint(parts) for _, given in _overlapping(window, earliest))
                        ):  # else the repeats are numbered below
                            if window and latest_time < window[-1][0]:  # not sorted by time: the order restarts
                                settle()
                            while window and window[0][0] < earliest:
                                left_window = max(left_window, window.pop(0)[0])
                            window.append((latest_time, parts))
                            archive.append((chunk_templates, stamped))
                            summary.rows += count
                            summary.events += count
                            yield list(map(mod, chunk_templates, zip(times, times, times, strict=True)))
                            continue
                if columns is not None:
                    chunk = list(zip(*columns, strict=True))
            settle()
            if min(map(len, chunk)) <= width or not all(map(any, chunk)):
                kept = [(n, r) for n, r in zip(numbers, chunk, strict=True) if any(c.strip() for c in r)]
                numbers = [n for n, _ in kept]
                chunk = [[*r, *([""] * (width + 1 - len(r)))] if len(r) <= width else r for _, r in kept]
                if not chunk:
                    continue
            summary.rows += len(chunk)
            keys = list(map(key_of, chunk))
            for key in [k for k in set(keys) if k not in (templates if plain else prefixes) and k not in bad]:
                learn(key, chunk[keys.index(key)])
            if occurred_index is None:
                whens, problems = occurred.column([str(profile.occurred_at.value)] * len(chunk))
            else:
                whens, problems = occurred.column(list(map(itemgetter(occurred_index), chunk)))
            for index, reason in problems:
                self._problem(numbers[index], occurred_header, reason)
            if bad and not bad.keys().isdisjoint(keys):
                for index, key in enumerate(keys):
                    for column, reason in bad.get(key, ()):
                        self._problem(numbers[index], column, reason)
            recorded_cells: list[str | None] = []
            if recorded is not None and recorded_index is not None:  # checked even when other rows are bad
                recorded_cells, problems = recorded.column(list(map(itemgetter(recorded_index), chunk)), optional=True)
                for index, reason in problems:
                    self._problem(numbers[index], recorded_header, reason)
            if self.problems:
                if self.full:
                    break
                continue  # the rest is still checked; nothing more is produced
            assert None not in whens
            # recorded_at: its column's cell, else the latest time of the row (a ticket as last changed)
            stamps: list[Any] = whens
            if times_in_payload:
                stamps = [
                    t if t is not None and _after(t, w) else w  # type: ignore[arg-type]
                    for t, w in zip(map(latest.__getitem__, keys), whens, strict=True)
                ]
            if recorded_cells:
                stamps = [c or s for c, s in zip(recorded_cells, stamps, strict=True)]
            ids = list(map(add, map(prefixes.__getitem__, keys), whens))
            if stamps is not whens:
                ids = [i if s == w else f"{i}/{s}" for i, s, w in zip(ids, stamps, whens, strict=True)]
            ids = list(map(ID_SAFE, ids))
            if max(map(len, ids)) > MAX_ID_LENGTH:  # a long profile id with two times: the times hashed
                ids = [_short_id(i, len(prefixes[k])) for i, k in zip(ids, keys, strict=True)]
            fresh = set(encoded := list(map(str.encode, ids)))  # `seen` holds ids as the plain case has them
            if len(fresh) == len(ids) and seen.isdisjoint(fresh):
                seen |= fresh
            else:
                ids = self._number_repeats(ids, encoded, seen)
            summary.events += len(ids)
            yield list(map(add, map(str.encode, map(head, ids, whens, stamps)), map(tails.__getitem__, keys)))
        if self.problems:
            raise self._fail()
        if summary.rows == 0:
            raise ImportFailed([ImportProblem(file=self.name, row=header_row, reason="表头以下没有数据行")])

    def _number_repeats(self, ids: list[str], encoded: list[bytes], seen: set[bytes]) -> list[str]:
        """The ids of a chunk where a row repeats an earlier one: the n-th identical row of the file
        gets `/n`, so it stays an event of its own, with the same id on every import."""
        out = []
        for event_id, key in zip(ids, encoded, strict=True):
            if key in seen:
                n = self._repeats[event_id] = self._repeats.get(event_id, 1) + 1
                self.summary.repeated_rows += 1
                out.append(f"{event_id}/{n}")
            else:
                seen.add(key)
                out.append(event_id)
        return out

    def _payload(
        self,
        row: Sequence[str],
        columns: list[tuple[str, int, str, Callable[[str], Any]]],
        constants: dict[str, Any],
        column_of: dict[str, str],
    ) -> tuple[str, bytes, str | None] | list[tuple[str, str]]:
        """A distinct payload validated as part of a whole event, its references checked: its JSON
        and the latest time in it, or its problems (column, reason)."""
        problems: list[tuple[str, str]] = []
        data: dict[str, Any] = {}
        for path, value in constants.items():
            _put(data, path, value)
        for path, index, header, convert in columns:
            try:
                value = convert(row[index])
            except _CellError as exc:
                problems.append((header, str(exc)))
                continue
            if value is not None:
                _put(data, path, value)
        if problems:
            return problems
        envelope = {
            "id": "import-check",
            "project": self.target.project,
            "contract": self.target.contract,
            "occurred_at": "2000-01-01T00:00:00Z",  # the times are checked on their own
            "recorded_at": "2000-01-01T00:00:00Z",
            "source": self.target.source or self.profile.source,
            "kind": self.profile.kind.value,
            "payload": _lists(data),
        }
        try:
            event = EVIDENCE_ADAPTER.validate_python(envelope)
        except ValidationError as exc:
            for err in exc.errors(include_url=False):
                path = error_field(err).removeprefix("payload.")
                problems.append((_column_for(path, column_of), f"{path}: {_reason(err)}"))
            return problems
        if self.references is not None:
            try:
                self.references.check(event)
            except EvidenceReferenceError as exc:
                path = exc.field_path.removeprefix("payload.")
                return [(_column_for(path, column_of), str(exc))]
        payload = event.payload
        times = [getattr(payload, name) for name in type(payload).model_fields]
        stamps = [t for t in times if isinstance(t, datetime)]
        latest = max(stamps).isoformat().replace("+00:00", "Z") if stamps else None
        # The line from `"source"` on, and an id naming the profile, this payload and (per row) the time.
        tail = json.dumps({"source": event.source, "kind": event.kind.value}, ensure_ascii=False, separators=(",", ":"))
        tail = tail[1:-1]
        tail = f',{tail},"payload":{payload.model_dump_json()}}}\n'
        content = f"{head_text(self.target)}{tail}".encode()
        digest = hashlib.blake2b(content, digest_size=8).hexdigest()
        return f"{self.profile.id}-{digest}-", tail.encode(), latest


def _take(rows: Iterator[Sequence[str]], count: int) -> list[Sequence[str]]:
    return list(islice(rows, count))


def _keys(key_columns: list[list[str]], count: int) -> Iterator[Any]:
    """The payload key of each of `count` rows from its key columns, as `key_of` makes it from the row."""
    if len(key_columns) > 1:
        return zip(*key_columns, strict=True)
    return iter(key_columns[0]) if key_columns else repeat((), count)


def _row_at(columns: list[list[str]], index: int) -> list[str]:
    return [column[index] for column in columns]


def _overlapping(
    window: list[tuple[bytes, set[tuple[bytes, bytes]]]], earliest: bytes
) -> Iterator[tuple[bytes, set[tuple[bytes, bytes]]]]:
    """The chunks of `window` (in the order of their latest times) whose latest time is not before `earliest`."""
    for entry in reversed(window):
        if entry[0] < earliest:
            return
        yield entry


def _short_id(event_id: str, prefix_length: int) -> str:
    """An id too long with its times written out: the profile and payload part kept, the times hashed.

    The part hashed is everything after the prefix (`profile-digest-`) but for its first two
    characters when they are "20", as ids were first written (by cutting at a "-20" found by search,
    which cut elsewhere when a time's day was the 20th or its year was in the 1990s)."""
    if len(event_id) <= MAX_ID_LENGTH:
        return event_id
    start, times = event_id[: prefix_length - 1], event_id[prefix_length:]
    return f"{start}-{hashlib.blake2b(times.removeprefix('20').encode(), digest_size=8).hexdigest()}"


def head_text(target: Target) -> str:
    return f"{target.project}\x00{target.contract}"


def _after(a: str, b: str) -> bool:
    return datetime.fromisoformat(a) > datetime.fromisoformat(b)


def _column_for(path: str, column_of: dict[str, str]) -> str:
    """The column a field's error is about: its own, or the field's name when no column fills it."""
    for candidate, column in column_of.items():
        if path == candidate or path.startswith(candidate + "."):
            return column
    return path or "(整行)"


def _put(data: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    node = data
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def _lists(node: Any) -> Any:
    """Nested dicts keyed "0", "1" … (from `attendees.0.count`) as the lists the models take."""
    if not isinstance(node, dict):
        return node
    if node and all(isinstance(k, str) and k.isdigit() for k in node):
        return [_lists(node[k]) for k in sorted(node, key=int)]
    return {k: _lists(v) for k, v in node.items()}


def import_events(
    profile: ImportProfile,
    data: bytes,
    name: str,
    target: Target,
    references: EvidenceReferences | None = None,
    *,
    encoding: str | None = None,
    sheet: str | None = None,
) -> tuple[list[bytes], ImportSummary]:
    """Every event of a file as its JSON line, or ImportFailed with every bad row (for uploads of a
    size held in memory; the CLI streams the lines of `Importer.lines` instead)."""
    table = read_table(
        data, name, encoding=encoding or profile.encoding, delimiter=profile.delimiter, sheet=sheet or profile.sheet
    )
    importer = Importer(profile, target, references)
    return list(importer.lines(table)), importer.summary
