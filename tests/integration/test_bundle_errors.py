"""Bad bundles are refused with a located message and write nothing; good ones give stable bytes.

Every test works on a copy of `examples/guangzhou-2021` in `tmp_path`.
"""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from opseval_intake.bundle import BundleError, iter_lines, load_definition, parse_line
from opseval_reporting.output import pdf_available

from opseval.cli import main

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "guangzhou-2021"
OUTPUT_FILES = (
    "findings.json",
    "report.docx",
    "report.html",
    "report.md",
    "scores.json",
    "scores.xlsx",
    "selfeval.docx",
    "selfeval.xlsx",
) + (("report.pdf",) if pdf_available() else ())  # a self-evaluation also gets the 自评表


# ---------------------------------------------------------------- helpers


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    target = tmp_path / "bundle"
    shutil.copytree(EXAMPLE, target)
    return target


def replace_in_line(path: Path, line: int, old: str, new: str) -> None:
    """Replace `old` (which must be there) on one 1-based line of a text file."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    assert old in lines[line - 1], f"{path.name}:{line} does not contain {old!r}"
    lines[line - 1] = lines[line - 1].replace(old, new, 1)
    path.write_text("".join(lines), encoding="utf-8")


def set_line(path: Path, line: int, text: str) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[line - 1] = text
    path.write_text("".join(lines), encoding="utf-8")


def evaluate(bundle: Path, out: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["evaluate", str(bundle), "--out", str(out)])
    return code, capsys.readouterr().err


def tree(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def output_bytes(out: Path) -> dict[str, bytes]:
    files = tree(out)
    assert sorted(files) == sorted(OUTPUT_FILES)
    return files


# ---------------------------------------------------------------- corruptions


@dataclass(frozen=True)
class Corruption:
    id: str
    apply: Callable[[Path], None]
    file: str
    line: int | None
    field: str | None
    says: str


def _replay_with_other_content(b: Path) -> None:
    first = (b / "evidence" / "incidents.jsonl").read_text(encoding="utf-8").splitlines()[0]
    assert '"id": "gz21-inc-001"' in first
    (b / "evidence" / "zz-replay.jsonl").write_text(
        first.replace("系统故障", "系统故障（更正）") + "\n", encoding="utf-8"
    )


def _alias(b: Path) -> None:
    set_line(b / "contracts.yaml", 2, "  - id: &ops ops\n")
    set_line(b / "contracts.yaml", 3, "    name: *ops\n")


CORRUPTIONS = [
    Corruption(
        "deliverable-not-a-slug",
        lambda b: replace_in_line(b / "evidence/deliverables.jsonl", 5, '"weekly_report"', '"weekly report!"'),
        "evidence/deliverables.jsonl",
        5,
        "payload.deliverable",
        "should match pattern",
    ),
    Corruption(
        "deliverable-unknown-to-the-contract",
        lambda b: replace_in_line(b / "evidence/deliverables.jsonl", 5, '"weekly_report"', '"yearly_report"'),
        "evidence/deliverables.jsonl",
        5,
        "payload.deliverable",
        "has no deliverable 'yearly_report'",
    ),
    Corruption(
        "invalid-json",
        lambda b: set_line(b / "evidence/incidents.jsonl", 4, '{"id": "gz21-inc-004", "kind": \n'),
        "evidence/incidents.jsonl",
        4,
        None,
        "invalid JSON",
    ),
    Corruption(
        "naive-timestamp",
        lambda b: replace_in_line(
            b / "evidence/incidents.jsonl",
            2,
            '"occurred_at": "2021-01-25T10:00:00+08:00"',
            '"occurred_at": "2021-01-25T10:00:00"',
        ),
        "evidence/incidents.jsonl",
        2,
        "occurred_at",
        "timezone",
    ),
    Corruption(
        "contract-price-not-a-number",
        lambda b: replace_in_line(b / "contracts.yaml", 6, "price: 348", "price: lots"),
        "contracts.yaml",
        6,
        "contracts[0].price",
        "decimal",
    ),
    Corruption(
        "inspection-frequency-not-allowed",
        lambda b: replace_in_line(b / "contracts.yaml", 19, "workday", "fortnightly"),
        "contracts.yaml",
        19,
        "contracts[0].inspections[0].frequency",
        "'workday'",
    ),
    Corruption(
        "due-weekday-out-of-range",
        lambda b: replace_in_line(b / "contracts.yaml", 11, "weekday: 1", "weekday: 9"),
        "contracts.yaml",
        11,
        "contracts[0].deliverables[0].due.weekday",
        "less than or equal to 7",
    ),
    Corruption(
        "project-id-not-a-slug",
        lambda b: set_line(b / "project.yaml", 2, 'id: "guangzhou 2021"\n'),
        "project.yaml",
        2,
        "id",
        "should match pattern",
    ),
    Corruption("yaml-alias", _alias, "contracts.yaml", 3, None, "YAML aliases"),
    Corruption(
        "yaml-tab",
        lambda b: set_line(b / "contracts.yaml", 11, "\tdue: {weekday: 1}\n"),
        "contracts.yaml",
        11,
        None,
        "invalid YAML",
    ),
    Corruption(
        "missing-indicators-file",
        lambda b: (b / "indicators.yaml").unlink(),
        "indicators.yaml",
        None,
        None,
        "file not found",
    ),
    Corruption(
        "event-of-another-project",
        lambda b: replace_in_line(b / "evidence/assets.jsonl", 1, '"guangzhou-2021"', '"shenzhen-2021"'),
        "evidence/assets.jsonl",
        1,
        "project",
        "'shenzhen-2021'",
    ),
    Corruption(
        "unknown-inspection-plan",
        lambda b: replace_in_line(b / "evidence/inspections.jsonl", 7, '"daily_check"', '"nightly_check"'),
        "evidence/inspections.jsonl",
        7,
        "payload.plan",
        "no inspection plan 'nightly_check'",
    ),
    Corruption(
        "duplicate-event-id-with-other-content",
        _replay_with_other_content,
        "evidence/zz-replay.jsonl",
        1,
        "id",
        "'gz21-inc-001' was already used for different content",
    ),
]


def expected_prefix(bundle: Path, c: Corruption) -> str:
    where = str(bundle / c.file) + (f":{c.line}" if c.line else "")
    return f"{where}: {c.field}: " if c.field else f"{where}: "


@pytest.mark.parametrize("corruption", CORRUPTIONS, ids=lambda c: c.id)
def test_cli_refuses_a_corrupt_bundle_with_exit_2_a_located_message_and_no_output(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], corruption: Corruption
) -> None:
    corruption.apply(bundle)
    out = tmp_path / "out"

    code, err = evaluate(bundle, out, capsys)

    assert code == 2
    assert err.startswith("opseval: bad input: " + expected_prefix(bundle, corruption)), err
    assert corruption.says in err
    assert "Traceback" not in err
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle"], "no temp or partial output left behind"


def test_cli_refuses_an_unknown_kind_naming_file_line_and_kind(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    replace_in_line(bundle / "evidence/incidents.jsonl", 3, '"kind": "incident"', '"kind": "meteor_strike"')
    out = tmp_path / "out"

    code, err = evaluate(bundle, out, capsys)

    assert code == 2
    assert err.startswith(f"opseval: bad input: {bundle / 'evidence/incidents.jsonl'}:3: "), err
    assert ":3: kind: unknown kind 'meteor_strike' (known: roster_entry," in err
    assert not out.exists()


def test_unknown_kind_is_reported_in_the_kind_field(bundle: Path) -> None:
    replace_in_line(bundle / "evidence/incidents.jsonl", 3, '"kind": "incident"', '"kind": "meteor_strike"')
    raw = next(r for r in iter_lines(bundle) if r.path.name == "incidents.jsonl" and r.line == 3)
    with pytest.raises(BundleError) as caught:
        parse_line(raw)
    assert caught.value.field == "kind"


def test_cli_failure_leaves_an_existing_output_directory_untouched(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    assert evaluate(bundle, out, capsys)[0] == 0
    (out / "notes.txt").write_text("kept by the user\n", encoding="utf-8")
    before = tree(out)
    mtimes = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}

    replace_in_line(bundle / "evidence/inspections.jsonl", 250, '"daily_check"', '"nightly_check"')
    code, err = evaluate(bundle, out, capsys)

    assert code == 2
    assert "inspections.jsonl:250: payload.plan:" in err
    assert tree(out) == before
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == mtimes
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle", "out"]


def test_the_uncorrupted_copy_evaluates_and_writes_all_files(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The control for the tests above: the same copy, not corrupted, does write output."""
    out = tmp_path / "out"
    assert evaluate(bundle, out, capsys)[0] == 0
    output_bytes(out)


# ---------------------------------------------------------------- the library entry points


def test_load_definition_locates_a_wrong_type_in_contracts_yaml(bundle: Path) -> None:
    replace_in_line(bundle / "contracts.yaml", 6, "price: 348", "price: [348]")
    with pytest.raises(BundleError) as caught:
        load_definition(bundle)
    err = caught.value
    assert (err.path, err.line, err.field) == (str(bundle / "contracts.yaml"), 6, "contracts[0].price")
    assert str(err).startswith(f"{bundle / 'contracts.yaml'}:6: contracts[0].price: ")


def test_load_definition_locates_a_yaml_alias(bundle: Path) -> None:
    _alias(bundle)
    with pytest.raises(BundleError) as caught:
        load_definition(bundle)
    assert (caught.value.path, caught.value.line) == (str(bundle / "contracts.yaml"), 3)
    assert "alias" in caught.value.message


def test_load_definition_refuses_an_indicator_naming_an_unknown_contract(bundle: Path) -> None:
    replace_in_line(bundle / "indicators.yaml", 8, "weight: 10\n", "weight: 10\n    contract: nope\n")
    with pytest.raises(BundleError, match="unknown contract 'nope'"):
        load_definition(bundle)


def test_indicator_naming_an_unknown_contract_is_located_in_indicators_yaml(bundle: Path) -> None:
    replace_in_line(bundle / "indicators.yaml", 8, "weight: 10\n", "weight: 10\n    contract: nope\n")
    with pytest.raises(BundleError) as caught:
        load_definition(bundle)
    assert (caught.value.path, caught.value.line) == (str(bundle / "indicators.yaml"), 9)
    assert caught.value.field is not None and "contract" in caught.value.field


def test_load_definition_names_a_missing_file_and_a_missing_bundle(bundle: Path, tmp_path: Path) -> None:
    (bundle / "project.yaml").unlink()
    with pytest.raises(BundleError) as caught:
        load_definition(bundle)
    assert caught.value.path == str(bundle / "project.yaml")
    assert "file not found" in str(caught.value)

    with pytest.raises(BundleError, match="bundle directory not found"):
        load_definition(tmp_path / "nowhere")


def test_parse_line_locates_a_bad_payload_field_counting_blank_lines(bundle: Path) -> None:
    path = bundle / "evidence" / "deliverables.jsonl"
    replace_in_line(path, 5, '"weekly_report"', '"weekly report!"')
    path.write_text("\n" + path.read_text(encoding="utf-8"), encoding="utf-8")  # now line 6

    errors = []
    for raw in iter_lines(bundle):
        try:
            parse_line(raw)
        except BundleError as exc:
            errors.append(exc)

    assert len(errors) == 1
    err = errors[0]
    assert (err.path, err.line, err.field) == (str(path), 6, "payload.deliverable")
    assert str(err).startswith(f"{path}:6: payload.deliverable: ")


def test_parse_line_reports_invalid_json_at_its_line(bundle: Path) -> None:
    path = bundle / "evidence" / "judgments.jsonl"
    set_line(path, 2, "{not json}\n")
    bad = [raw for raw in iter_lines(bundle) if raw.path == path and raw.line == 2]
    assert len(bad) == 1
    with pytest.raises(BundleError) as caught:
        parse_line(bad[0])
    assert (caught.value.path, caught.value.line) == (str(path), 2)
    assert caught.value.message.startswith("invalid JSON")


# ---------------------------------------------------------------- deterministic output


def test_the_same_bundle_evaluated_twice_gives_byte_identical_files(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert evaluate(bundle, tmp_path / "first", capsys)[0] == 0
    assert evaluate(bundle, tmp_path / "second", capsys)[0] == 0
    assert output_bytes(tmp_path / "first") == output_bytes(tmp_path / "second")


def test_the_same_bundle_gives_byte_identical_files_across_processes_with_other_hash_seeds(
    bundle: Path, tmp_path: Path
) -> None:
    outputs = []
    for seed in ("1", "4242"):
        out = tmp_path / f"out-{seed}"
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-m", "opseval.cli", "evaluate", str(bundle), "--out", str(out)],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        outputs.append(output_bytes(out))
    assert outputs[0] == outputs[1]


def test_shuffling_the_lines_of_evidence_files_gives_byte_identical_files(
    bundle: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert evaluate(bundle, tmp_path / "ordered", capsys)[0] == 0
    reference = output_bytes(tmp_path / "ordered")

    rng = random.Random(20210101)
    for path in sorted((bundle / "evidence").glob("*.jsonl")):
        lines = [line.rstrip(b"\n") + b"\n" for line in path.read_bytes().splitlines() if line.strip()]
        shuffled = list(lines)
        while len(lines) > 1 and shuffled == lines:
            rng.shuffle(shuffled)
        path.write_bytes(b"".join(shuffled))

    assert evaluate(bundle, tmp_path / "shuffled", capsys)[0] == 0
    assert output_bytes(tmp_path / "shuffled") == reference
