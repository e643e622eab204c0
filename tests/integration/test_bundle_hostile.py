"""Hostile and broken bundles: a located refusal (file, line, field), never a crash, never a read outside.

Every test works on a copy of `examples/dongguan-2022` in `tmp_path` (or on a few files there).
"""

from __future__ import annotations

import json
import os
import shutil
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

import pytest
from opseval_intake import bundle as bundle_module
from opseval_intake.bundle import (
    BundleError,
    RawLine,
    evidence_files,
    file_lines,
    iter_lines,
    load_definition,
    read_line_at,
)

from opseval.cli import main
from opseval.embedded import evaluate_bundle

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "dongguan-2022"
BUDGET_LINE = (EXAMPLE / "evidence" / "budget.jsonl").read_text(encoding="utf-8").splitlines()[0]
assert '"amount": 509.4' in BUDGET_LINE and '"source": "finance"' in BUDGET_LINE


# ---------------------------------------------------------------- helpers


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    target = tmp_path / "bundle"
    shutil.copytree(EXAMPLE, target)
    return target


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    return folder


def evaluate(bundle: Path, out: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["evaluate", str(bundle), "--out", str(out), "--core-only"])
    return code, capsys.readouterr().err


def assert_refused(bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], where: str, says: str) -> str:
    """The CLI exits 2 with `opseval: bad input: <where>…<says>…`, no traceback, and writes nothing."""
    out = tmp_path / "out"
    code, err = evaluate(bundle, out, capsys)
    assert code == 2, err
    assert err.startswith(f"opseval: bad input: {where}"), err
    assert says in err, err
    assert "Traceback" not in err
    assert len(err.splitlines()) == 1, "one message, not a dump"
    assert not out.exists()
    return err


def line_count(path: Path) -> int:
    return len(path.read_bytes().splitlines())


# ---------------------------------------------------------------- document references


def test_cli_refuses_a_document_ref_that_climbs_out_naming_file_line_and_field(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = bundle / "evidence" / "deliverables-ops.jsonl"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    assert '"document_ref": "YW-YB-202210"' in lines[1]
    lines[1] = lines[1].replace('"YW-YB-202210"', '"../../../etc/passwd"')
    path.write_text("".join(lines), encoding="utf-8")

    assert_refused(
        bundle, tmp_path, capsys, f"{path}:2: payload.document_ref: ", "document reference contains a '..' path segment"
    )


@pytest.mark.parametrize(
    ("ref", "says"),
    [
        ("/etc/passwd", "absolute path"),
        ("C:\\\\Windows\\\\win.ini", "absolute path"),
        ("file:///etc/passwd", "URL scheme 'file:'"),
        ("javascript:alert(1)", "URL scheme 'javascript:'"),
        ("docs/\\u0000.pdf", "U+0000"),
    ],
)
def test_cli_refuses_other_escaping_document_refs_in_a_bundle(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], ref: str, says: str
) -> None:
    path = bundle / "evidence" / "deliverables-ops.jsonl"
    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace('"YW-YB-202209"', f'"{ref}"', 1), encoding="utf-8")

    assert_refused(bundle, tmp_path, capsys, f"{path}:1: payload.document_ref: ", says)


# ---------------------------------------------------------------- symbolic links


def test_an_evidence_file_linked_to_outside_the_bundle_is_refused_and_not_read(
    bundle: Path, outside: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    secret = outside / "secret.jsonl"
    secret.write_text("TOP SECRET\n", encoding="utf-8")
    link = bundle / "evidence" / "leak.jsonl"
    link.symlink_to(secret)

    err = assert_refused(bundle, tmp_path, capsys, f"{link}: ", "points outside the bundle")
    assert "TOP SECRET" not in err


def test_an_evidence_link_out_through_a_relative_path_is_refused(bundle: Path, outside: Path) -> None:
    (outside / "x.jsonl").write_text(BUDGET_LINE + "\n", encoding="utf-8")
    link = bundle / "evidence" / "sneaky.jsonl"
    link.symlink_to(Path("..") / ".." / "outside" / "x.jsonl")

    with pytest.raises(BundleError, match="points outside the bundle") as caught:
        evidence_files(bundle)
    assert caught.value.path == str(link)


def test_an_evidence_directory_linked_to_outside_the_bundle_is_refused(
    bundle: Path, outside: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (outside / "more.jsonl").write_text(BUDGET_LINE + "\n", encoding="utf-8")
    link = bundle / "evidence" / "shared"
    link.symlink_to(outside, target_is_directory=True)

    assert_refused(bundle, tmp_path, capsys, f"{link}: ", "points outside the bundle")


@pytest.mark.parametrize("name", ["project.yaml", "contracts.yaml", "indicators.yaml"])
def test_a_definition_file_linked_to_outside_the_bundle_is_refused(
    bundle: Path, outside: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str
) -> None:
    moved = outside / name
    shutil.move(bundle / name, moved)
    (bundle / name).symlink_to(moved)

    assert_refused(bundle, tmp_path, capsys, f"{bundle / name}: ", "points outside the bundle")


def test_links_that_stay_inside_the_bundle_are_accepted_and_change_no_score(bundle: Path, tmp_path: Path) -> None:
    plain = tmp_path / "plain"
    shutil.copytree(bundle, plain)
    evidence = bundle / "evidence"
    (evidence / "budget-again.jsonl").symlink_to("budget.jsonl")  # the same events twice: replays
    (bundle / "evidence-view").symlink_to("evidence", target_is_directory=True)  # not descended into
    (evidence / "parent").symlink_to("..", target_is_directory=True)  # a loop, not descended into
    shutil.move(bundle / "project.yaml", evidence / "project.yaml.real")
    (bundle / "project.yaml").symlink_to(Path("evidence") / "project.yaml.real")

    files = evidence_files(bundle)
    assert evidence / "budget-again.jsonl" in files
    assert [p.relative_to(bundle) for p in files if p.name != "budget-again.jsonl"] == [
        p.relative_to(plain) for p in evidence_files(plain)
    ]
    linked, unlinked = evaluate_bundle(bundle)[0].model_dump(), evaluate_bundle(plain)[0].model_dump()
    assert linked.pop("evidence_stats")["duplicates"] == line_count(evidence / "budget.jsonl")
    unlinked.pop("evidence_stats")
    assert linked == unlinked


@pytest.mark.timeout(20)
def test_symlink_loops_cannot_hang_the_reader(bundle: Path) -> None:
    evidence = bundle / "evidence"
    (evidence / "a").symlink_to("b")
    (evidence / "b").symlink_to("a")
    (evidence / "up").symlink_to("..", target_is_directory=True)
    (evidence / "deeper" / "deepest").mkdir(parents=True)
    (evidence / "deeper" / "deepest" / "top").symlink_to(bundle, target_is_directory=True)
    started = time.monotonic()
    assert len(evidence_files(bundle)) == len(evidence_files(EXAMPLE))

    (evidence / "x.jsonl").symlink_to("y.jsonl")
    (evidence / "y.jsonl").symlink_to("x.jsonl")
    with pytest.raises(BundleError, match="link loop") as caught:
        evidence_files(bundle)
    assert caught.value.path == str(evidence / "x.jsonl")
    assert time.monotonic() - started < 5


def test_a_dangling_evidence_link_is_refused_not_silently_skipped(bundle: Path) -> None:
    link = bundle / "evidence" / "gone.jsonl"
    link.symlink_to("removed-last-week.jsonl")
    with pytest.raises(BundleError, match="symbolic link to nothing") as caught:
        evidence_files(bundle)
    assert caught.value.path == str(link)


def test_a_fifo_named_like_evidence_is_refused_instead_of_blocking_the_reader(bundle: Path) -> None:
    fifo = bundle / "evidence" / "pipe.jsonl"
    os.mkfifo(fifo)
    with pytest.raises(BundleError, match="not a regular file") as caught:
        evidence_files(bundle)
    assert caught.value.path == str(fifo)


# ---------------------------------------------------------------- sizes and counts


def test_an_evidence_file_over_the_size_limit_is_refused_before_it_is_read(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sizes = sorted((p.stat().st_size, p) for p in evidence_files(bundle))
    (second, _), (size, path) = sizes[-2:]
    assert second < size - 1, "only the largest file is over the limit"
    monkeypatch.setattr(bundle_module, "MAX_EVIDENCE_FILE_BYTES", size - 1)

    err = assert_refused(bundle, tmp_path, capsys, f"{path}: ", f"file is {size} bytes")
    assert f"over the limit of {size - 1} bytes" in err
    assert "split it" in err

    def no_reading(*args: object, **kwargs: object) -> None:
        raise AssertionError("an evidence file was opened")

    monkeypatch.setattr(Path, "open", no_reading)
    with pytest.raises(BundleError, match="over the limit"):
        list(iter_lines(bundle))


def test_the_default_evidence_file_limit_is_two_gibibytes_and_says_so(tmp_path: Path) -> None:
    assert bundle_module.MAX_EVIDENCE_FILE_BYTES == 2 * 1024**3
    big = tmp_path / "b" / "huge.jsonl"
    big.parent.mkdir()
    with big.open("wb") as fh:  # sparse: no disk used
        fh.truncate(2 * 1024**3 + 1)
    with pytest.raises(BundleError) as caught:
        evidence_files(big.parent)
    assert caught.value.path == str(big)
    assert "file is 2147483649 bytes (2.0 GiB)" in caught.value.message
    assert "limit of 2147483648 bytes (2.0 GiB)" in caught.value.message


def test_a_bundle_with_too_many_evidence_files_is_refused(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert bundle_module.MAX_EVIDENCE_FILES == 10_000
    count = len(evidence_files(bundle))
    monkeypatch.setattr(bundle_module, "MAX_EVIDENCE_FILES", count)
    assert len(evidence_files(bundle)) == count  # exactly at the limit is fine
    (bundle / "evidence" / "one-more.jsonl").write_text(BUDGET_LINE + "\n", encoding="utf-8")

    err = assert_refused(bundle, tmp_path, capsys, f"{bundle}: ", f"more than {count} evidence files")
    assert "merge them" in err


def test_a_line_at_the_limit_is_read_and_one_byte_more_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bundle_module, "MAX_LINE_BYTES", 100)
    folder = tmp_path / "b"
    folder.mkdir()
    path = folder / "lines.jsonl"
    at_limit = b"x" * 99 + b"\n"
    path.write_bytes(b"\xef\xbb\xbf" + at_limit + at_limit + b"y" * 100)  # the last: 100 bytes, no newline
    assert [(r.line, r.offset, len(r.data)) for r in iter_lines(folder)] == [(1, 0, 100), (2, 103, 100), (3, 203, 100)]

    path.write_bytes(at_limit + b"x" * 100 + b"\n" + at_limit)
    with pytest.raises(BundleError, match="line longer than 100 bytes") as caught:
        list(iter_lines(folder))
    assert (caught.value.path, caught.value.line) == (str(path), 2)


def test_file_lines_reads_each_file_as_iter_lines_does(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bundle_module, "MAX_LINE_BYTES", 100)
    folder = tmp_path / "b"
    folder.mkdir()
    path = folder / "lines.jsonl"
    at_limit = b"x" * 99 + b"\n"
    path.write_bytes(b"\xef\xbb\xbf" + at_limit + b"\n \t\r\n" + at_limit + b"\x0b\x0c\n" + b"y" * 100)
    lines = list(iter_lines(folder))
    assert len(lines) == 3
    assert [RawLine(path, *t) for t in file_lines(path)] == lines

    path.write_bytes(at_limit + b"x" * 100 + b"\n" + at_limit)
    with pytest.raises(BundleError, match="line longer than 100 bytes") as caught:
        list(file_lines(path))
    assert (caught.value.path, caught.value.line) == (str(path), 2)


def test_a_huge_file_without_newlines_is_refused_without_reading_it_whole(tmp_path: Path) -> None:
    folder = tmp_path / "b"
    folder.mkdir()
    path = folder / "one-line.jsonl"
    path.write_bytes(b"[" * (24 * 1024 * 1024))
    tracemalloc.start()
    try:
        with pytest.raises(BundleError, match="line longer than") as caught:
            list(iter_lines(folder))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert caught.value.line == 1
    assert peak < 8 * 1024 * 1024, f"{peak} bytes held to refuse one long line"


def test_read_line_at_finds_the_line_number_of_an_offset_reading_in_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(bundle_module, "_CHUNK", 7)
    folder = tmp_path / "b"
    folder.mkdir()
    path = folder / "e.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + b"".join(b'{"n": %d}\n' % i + b"\n" * (i % 3) for i in range(40)))
    for raw in iter_lines(folder):
        assert read_line_at(path, raw.offset) == raw


# ---------------------------------------------------------------- YAML


@pytest.mark.parametrize(
    "tag",
    [
        '!!python/object/apply:os.system ["touch {marker}"]',
        '!!python/object/apply:subprocess.check_call [["touch", "{marker}"]]',
        '!!python/object/new:subprocess.Popen [["touch", "{marker}"]]',
        "!!python/name:os.system",
        "!!python/module:os",
        '!python/object/apply:os.system ["touch {marker}"]',
    ],
)
def test_yaml_python_object_tags_are_refused_located_and_run_nothing(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], tag: str
) -> None:
    marker = tmp_path / "pwned"
    path = bundle / "project.yaml"
    line = line_count(path) + 1
    with path.open("a", encoding="utf-8") as fh:
        fh.write(f"hook: {tag.format(marker=marker)}\n")

    assert_refused(bundle, tmp_path, capsys, f"{path}:{line}: ", "could not determine a constructor for the tag")
    assert not marker.exists(), "YAML ran code"


def test_a_yaml_alias_bomb_is_refused_at_the_first_alias_at_once(bundle: Path) -> None:
    lines = ['lol0: &lol0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"lol{i}: &lol{i} [{', '.join([f'*lol{i - 1}'] * 9)}]" for i in range(1, 10)]  # 9**10 strings
    (bundle / "contracts.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")

    started = time.monotonic()
    with pytest.raises(BundleError, match="YAML aliases") as caught:
        load_definition(bundle)
    assert time.monotonic() - started < 1
    assert (caught.value.path, caught.value.line) == (str(bundle / "contracts.yaml"), 2)


@pytest.mark.parametrize(
    "text",
    [
        "[" * 10_000 + "]" * 10_000,
        "{a: " * 10_000 + "1" + "}" * 10_000,
        "- " * 10_000 + "x",
        "".join("  " * i + "a:\n" for i in range(200)) + "  " * 200 + "1\n",
    ],
    ids=["flow-sequences", "flow-mappings", "block-sequences", "block-mappings"],
)
def test_deeply_nested_yaml_is_a_located_bundle_error_not_a_recursion_error(bundle: Path, text: str) -> None:
    path = bundle / "indicators.yaml"
    path.write_text(text, encoding="utf-8")

    started = time.monotonic()
    with pytest.raises(BundleError, match="nested deeper than 50 levels") as caught:
        load_definition(bundle)
    assert caught.value.path == str(path) and caught.value.line is not None
    assert time.monotonic() - started < 2


def test_yaml_nesting_at_the_limit_is_still_read(bundle: Path) -> None:
    path = bundle / "project.yaml"
    with path.open("a", encoding="utf-8") as fh:
        fh.write("deep: " + "[" * 49 + "]" * 49 + "\n")  # 50 levels with the top mapping
    with pytest.raises(BundleError) as caught:  # read, then refused by the model, not by the reader
        load_definition(bundle)
    assert caught.value.field == "deep" and "Extra inputs" in caught.value.message


def test_invalid_utf8_in_a_yaml_file_is_located_at_its_line_and_column(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = bundle / "indicators.yaml"
    data = path.read_bytes().splitlines(keepends=True)
    data[4] = b"# \xe5\x91 broken\n"  # a truncated 周
    path.write_bytes(b"".join(data))

    assert_refused(bundle, tmp_path, capsys, f"{path}:5: ", "not UTF-8 (invalid continuation byte at column 3)")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("as_of_again: 2023-02-30", "cannot read timestamp value: day is out of range for month"),
        ("x: !!timestamp 2023-13-01", "cannot read timestamp value"),
        ("x: !!int abc", "cannot read int value"),
        ("x: !!float abc", "cannot read float value"),
        ("x: !!bool maybe", "cannot read bool value"),
        ("x: " + "9" * 5000, "cannot read int value: too many digits"),
        ("? [a, b]\n: c", "a mapping key must be a plain value"),
        ("{[a]: b}: c", "a mapping key must be a plain value"),
        ("x: a\x00b", "character U+0000 is not allowed"),
        ("x: a\x1bb", "character U+001B is not allowed"),
        ("x: !unknown thing", "could not determine a constructor for the tag '!unknown'"),
    ],
    ids=lambda v: v[:24] if isinstance(v, str) else None,
)
def test_yaml_values_that_cannot_be_built_are_located_errors_not_crashes(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str, says: str
) -> None:
    path = bundle / "project.yaml"
    line = line_count(path) + 1
    with path.open("a", encoding="utf-8") as fh:
        fh.write(text + "\n")

    assert_refused(bundle, tmp_path, capsys, f"{path}:{line}: ", says)


# ---------------------------------------------------------------- JSON Lines


@dataclass(frozen=True)
class HostileLine:
    id: str
    data: bytes
    field: str | None
    says: str


def budget_line(old: str, new: str) -> bytes:
    assert old in BUDGET_LINE
    return BUDGET_LINE.replace(old, new).encode("utf-8")


HOSTILE_LINES = [
    HostileLine("nan", budget_line("509.4", "NaN"), "payload.amount", "finite number"),
    HostileLine("infinity", budget_line("509.4", "Infinity"), "payload.amount", "finite number"),
    HostileLine("minus-infinity", budget_line("509.4", "-Infinity"), "payload.amount", "finite number"),
    HostileLine(
        "nan-year", budget_line('"fiscal_year": 2022', '"fiscal_year": NaN'), "payload.fiscal_year", "finite number"
    ),
    HostileLine("bare-nan", b"NaN", None, "one JSON object (an event), not a number"),
    HostileLine("nested-arrays", b"[" * 100_000 + b"]" * 100_000, None, "invalid JSON: recursion limit exceeded"),
    HostileLine(
        "nested-objects",
        budget_line('"item": "approved"', '"item": ' + '{"a": ' * 50_000 + "1" + "}" * 50_000),
        None,
        "invalid JSON: recursion limit exceeded",
    ),
    HostileLine("invalid-utf8", budget_line("finance", "fin@nce").replace(b"@", b"\xff"), None, "not UTF-8"),
    HostileLine("truncated-utf8", budget_line("finance", "fin@nce").replace(b"@", b"\xe5\x91"), None, "not UTF-8"),
    HostileLine("overlong-utf8", budget_line("finance", "fin@nce").replace(b"@", b"\xc0\xaf"), None, "not UTF-8"),
    HostileLine("array", b"[" + BUDGET_LINE.encode() + b"]", None, "one JSON object (an event), not an array"),
    HostileLine("string", b'"budget"', None, "one JSON object (an event), not a string"),
    HostileLine("null", b"null", None, "one JSON object (an event), not null"),
    HostileLine("number", b"42", None, "one JSON object (an event), not a number"),
    HostileLine("lone-surrogate", budget_line("finance", "fin\\ud800ance"), None, "invalid JSON"),
    HostileLine("raw-nul", budget_line("finance", "fin@nce").replace(b"@", b"\x00"), None, "invalid JSON"),
    HostileLine("huge-integer", budget_line("509.4", "9" * 5000), None, "invalid JSON: number out of range"),
    HostileLine("two-objects", BUDGET_LINE.encode() + b" {}", None, "invalid JSON: trailing characters"),
    HostileLine("line-of-2-mb", budget_line("finance", "x" * 2_000_000), None, "line longer than 1048576 bytes"),
]


@pytest.mark.parametrize("hostile", HOSTILE_LINES, ids=lambda h: h.id)
def test_cli_refuses_a_hostile_evidence_line_naming_file_line_and_field_and_writes_nothing(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], hostile: HostileLine
) -> None:
    path = bundle / "evidence" / "aa-upload.jsonl"  # read first
    path.write_bytes(BUDGET_LINE.encode() + b"\n\n" + hostile.data + b"\n" + BUDGET_LINE.encode() + b"\n")

    field = f"{hostile.field}: " if hostile.field else ""
    err = assert_refused(bundle, tmp_path, capsys, f"{path}:3: {field}", hostile.says)
    assert len(err) < 2_000, "the message does not echo the hostile line"


def test_a_hostile_line_is_refused_the_same_way_wherever_it_is_in_the_file(bundle: Path) -> None:
    path = bundle / "evidence" / "budget.jsonl"
    lines = path.read_bytes().splitlines(keepends=True)
    lines.insert(len(lines) - 1, json.dumps([1, 2, 3]).encode() + b"\n")
    path.write_bytes(b"".join(lines))

    from opseval_intake.bundle import parse_line

    with pytest.raises(BundleError) as caught:
        for raw in iter_lines(bundle):
            parse_line(raw)
    assert (caught.value.path, caught.value.line, caught.value.field) == (str(path), len(lines) - 1, None)
    assert "not an array" in caught.value.message
