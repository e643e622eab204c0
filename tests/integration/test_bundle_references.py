"""A typo in a reference is refused at load — exit 2, the file, line and field, nothing written —
every problem of a bundle is reported at once, evidence about a time outside the evaluation period
is reported and changes nothing, and `opseval check` validates a bundle without evaluating it.

The tests corrupt copies of `examples/guangzhou-2021` (one contract, judged leaves) and
`examples/dongguan-2022` (two contracts, checklist points, a contract's survey duty).
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from opseval.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def copy_of(example: str, tmp_path: Path) -> Path:
    target = tmp_path / "bundle"
    shutil.copytree(EXAMPLES / example, target)
    return target


def line_of(example: str, file: str, text: str) -> int:
    """The line of an example file that holds `text` (once): tests name lines by what is on them."""
    lines = (EXAMPLES / example / file).read_text(encoding="utf-8").splitlines()
    found = [n for n, line in enumerate(lines, start=1) if text in line]
    assert len(found) == 1, f"{file}: {text!r} is on lines {found}"
    return found[0]


def replace_in_line(path: Path, line: int, old: str, new: str) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    assert old in lines[line - 1], f"{path.name}:{line} does not contain {old!r}"
    lines[line - 1] = lines[line - 1].replace(old, new, 1)
    path.write_text("".join(lines), encoding="utf-8")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@dataclass(frozen=True)
class Typo:
    id: str
    example: str
    file: str
    line: int
    old: str
    new: str
    field: str
    says: str
    also: Callable[[Path], None] | None = None


def _survey_duty(bundle: Path) -> None:
    with (bundle / "contracts.yaml").open("a", encoding="utf-8") as fh:
        fh.write("    surveys:\n      - {survey: service-2021}\n")


GZ, DG = "guangzhou-2021", "dongguan-2022"
DEFINITION_TYPOS = [
    Typo(
        "inspection-plan",
        GZ,
        "indicators.yaml",
        line_of(GZ, "indicators.yaml", "{name: inspections.completion}"),
        "{name: inspections.completion}",
        "{name: inspections.completion, plan: daliy_check}",
        "indicators[1].children[3].method.metric.plan",
        "contract 'ops' has no inspection plan 'daliy_check' (known: daily_check)",
    ),
    Typo(
        "deliverable",
        GZ,
        "indicators.yaml",
        line_of(GZ, "indicators.yaml", "{name: obligations.completion}"),
        "{name: obligations.completion}",
        "{name: deliverables.count, deliverable: weekly_reprot}",
        "indicators[1].children[2].method.metric.deliverable",
        "contract 'ops' has no deliverable 'weekly_reprot' (known: monthly_report, weekly_report)",
    ),
    Typo(
        "asset-class",
        GZ,
        "indicators.yaml",
        line_of(GZ, "indicators.yaml", "[core_system]"),
        "[core_system]",
        "[core_sytem]",
        "indicators[1].children[1].method.metric.asset_classes[0]",
        "contract 'ops' has no assets of class 'core_sytem' (known: core_system)",
    ),
    Typo(
        "survey",
        GZ,
        "indicators.yaml",
        line_of(GZ, "indicators.yaml", "{name: survey.satisfaction}"),
        "{name: survey.satisfaction}",
        "{name: survey.satisfaction, contract: ops, survey: servce-2021}",
        "indicators[2].children[1].method.metric.survey",
        "contract 'ops' has no survey duty for survey 'servce-2021' (known: service-2021)",
        _survey_duty,
    ),
    Typo(
        "metric-contract",
        GZ,
        "indicators.yaml",
        line_of(GZ, "indicators.yaml", "{name: budget.execution_rate}"),
        "{name: budget.execution_rate}",
        "{name: budget.execution_rate, contract: opps}",
        "indicators[0].method.metric.contract",
        "unknown contract 'opps' (known: ops)",
    ),
    Typo(
        "fiscal-year",
        GZ,
        "indicators.yaml",
        line_of(GZ, "indicators.yaml", "{name: budget.execution_rate}"),
        "{name: budget.execution_rate}",
        "{name: budget.execution_rate, fiscal_year: 2012}",
        "indicators[0].method.metric.fiscal_year",
        "fiscal year 2012 is outside the evaluation period",
    ),
    Typo(
        "rule-pattern",
        GZ,
        "indicators.yaml",
        line_of(GZ, "indicators.yaml", '["inspection.*"]'),
        '["inspection.*"]',
        '["inspektion.*"]',
        "indicators[1].children[3].rules[0]",
        "rule pattern 'inspektion.*' matches no rule",
    ),
]
EVIDENCE_TYPOS = [
    Typo(
        "judgment-indicator",
        GZ,
        "evidence/judgments.jsonl",
        1,
        '"indicator": "deliverable_quality"',
        '"indicator": "deliverable_qualty"',
        "payload.indicator",
        "unknown indicator 'deliverable_qualty' (known: compliance, deliverable_quality)",
    ),
    Typo(
        "judgment-above-the-weight",
        GZ,
        "evidence/judgments.jsonl",
        2,
        '"awarded": 10',
        '"awarded": 12',
        "payload.awarded",
        "awarded 12 is more than the weight of indicator 'compliance' (10)",
    ),
    Typo(
        "judgment-below-zero",
        GZ,
        "evidence/judgments.jsonl",
        2,
        '"awarded": 10',
        '"awarded": -1',
        "payload.awarded",
        "greater than or equal to 0",
    ),
    Typo(
        "point-on-a-judged-leaf",
        GZ,
        "evidence/judgments.jsonl",
        1,
        '"indicator": "deliverable_quality"',
        '"indicator": "deliverable_quality", "point": "docs"',
        "payload.point",
        "indicator 'deliverable_quality' is judged as a whole and has no point 'docs'",
    ),
    Typo(
        "checklist-point",
        DG,
        "evidence/judgments.jsonl",
        1,
        '"point": "policy"',
        '"point": "polcy"',
        "payload.point",
        "indicator 'basis' has no checklist point 'polcy' (known: duty, fiscal, overlap, policy)",
    ),
    Typo(
        "checklist-without-point",
        DG,
        "evidence/judgments.jsonl",
        1,
        ', "point": "policy"',
        "",
        "payload.point",
        "indicator 'basis' is scored by checklist points: name one",
    ),
    Typo(
        "point-above-its-maximum",
        DG,
        "evidence/judgments.jsonl",
        1,
        '"awarded": 0.5',
        '"awarded": 1',
        "payload.awarded",
        "awarded 1 is more than the maximum of point 'policy' (0.5)",
    ),
    Typo(
        "incident-severity",
        GZ,
        "evidence/incidents.jsonl",
        1,
        '"severity": "L3"',
        '"severity": "L4"',
        "payload.severity",
        "contract 'ops' defines no SLA severity 'L4' (known: L1, L2, L3)",
    ),
    Typo(
        "asset-count-class",
        GZ,
        "evidence/assets.jsonl",
        1,
        '"core_system"',
        '"core_sytem"',
        "payload.asset_class",
        "contract 'ops' lists no assets of class 'core_sytem' (known: core_system)",
    ),
    Typo(
        "survey-of-a-contract",
        DG,
        "evidence/surveys.jsonl",
        1,
        '"ops-user-survey"',
        '"ops-user-survy"',
        "payload.survey",
        "no survey duty of contract 'operation' names survey 'ops-user-survy' (known: ops-user-survey)",
    ),
    Typo(
        "event-contract",
        DG,
        "evidence/surveys.jsonl",
        1,
        '"contract": "operation"',
        '"contract": "operatoin"',
        "contract",
        "unknown contract 'operatoin' (known: operation, ops)",
    ),
]


@pytest.mark.parametrize("typo", DEFINITION_TYPOS + EVIDENCE_TYPOS, ids=lambda t: t.id)
def test_a_reference_typo_is_refused_with_exit_2_its_file_line_and_field_and_no_output(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], typo: Typo
) -> None:
    bundle = copy_of(typo.example, tmp_path)
    replace_in_line(bundle / typo.file, typo.line, typo.old, typo.new)
    if typo.also is not None:
        typo.also(bundle)
    out = tmp_path / "out"

    code, _, err = run(capsys, "evaluate", str(bundle), "--out", str(out))

    assert code == 2
    assert err.startswith(f"opseval: bad input: {bundle / typo.file}:{typo.line}: {typo.field}: "), err
    assert typo.says in err
    assert err.count("opseval: bad input:") == 1, err
    assert "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle"], "nothing written"


def test_every_problem_of_a_bundle_is_reported_together_one_per_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = copy_of(GZ, tmp_path)
    replace_in_line(bundle / "project.yaml", 2, "id: guangzhou-2021", 'id: "guangzhou 2021"')
    metric_line = line_of(GZ, "indicators.yaml", "{name: inspections.completion}")
    rules_line = line_of(GZ, "indicators.yaml", '["inspection.*"]')
    replace_in_line(bundle / "indicators.yaml", metric_line, "{name: inspections.completion}", "{name: x.y}")
    replace_in_line(bundle / "indicators.yaml", rules_line, '["inspection.*"]', '["inspektion.*"]')
    replace_in_line(bundle / "evidence/incidents.jsonl", 4, '"kind": "incident"', '"kind": "meteor"')
    replace_in_line(bundle / "evidence/incidents.jsonl", 9, "{", "{,")

    code, _, err = run(capsys, "evaluate", str(bundle), "--out", str(tmp_path / "out"))

    assert code == 2
    lines = err.splitlines()
    assert [line.split(": ", 4)[2:4] for line in lines[:-1]] == [
        [f"{bundle / 'project.yaml'}:2", "id"],
        [f"{bundle / 'indicators.yaml'}:{metric_line}", "indicators[1].children[3].method.metric.name"],
        [f"{bundle / 'indicators.yaml'}:{rules_line}", "indicators[1].children[3].rules[0]"],
        [f"{bundle / 'evidence/incidents.jsonl'}:4", "kind"],
        [f"{bundle / 'evidence/incidents.jsonl'}:9", "invalid JSON"],
    ]
    assert lines[-1] == "opseval: 5 problems; nothing written"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bundle"]


def test_every_reference_problem_of_the_evidence_is_reported_together(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = copy_of(GZ, tmp_path)
    rules_line = line_of(GZ, "indicators.yaml", '["inspection.*"]')
    replace_in_line(bundle / "indicators.yaml", rules_line, '["inspection.*"]', '["inspektion.*"]')
    replace_in_line(bundle / "evidence/assets.jsonl", 1, '"core_system"', '"core_sytem"')
    replace_in_line(bundle / "evidence/incidents.jsonl", 1, '"severity": "L3"', '"severity": "L4"')
    replace_in_line(bundle / "evidence/incidents.jsonl", 2, '"severity": "L3"', '"severity": "L5"')
    replace_in_line(bundle / "evidence/judgments.jsonl", 2, '"awarded": 10', '"awarded": 12')

    code, _, err = run(capsys, "check", str(bundle))

    assert code == 2
    where = [line.split(": ", 4)[2:4] for line in err.splitlines()[:-1]]
    # a rule pattern is no reference the evidence depends on: the evidence is still checked
    assert where == [
        [f"{bundle / 'indicators.yaml'}:{rules_line}", "indicators[1].children[3].rules[0]"],
        [f"{bundle / 'evidence/assets.jsonl'}:1", "payload.asset_class"],
        [f"{bundle / 'evidence/incidents.jsonl'}:1", "payload.severity"],
        [f"{bundle / 'evidence/incidents.jsonl'}:2", "payload.severity"],
        [f"{bundle / 'evidence/judgments.jsonl'}:2", "payload.awarded"],
    ]
    assert err.splitlines()[-1] == "opseval: 5 problems; nothing written"


def test_evidence_outside_the_period_is_reported_and_changes_no_score_and_no_finding(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = copy_of(GZ, tmp_path)
    assert run(capsys, "evaluate", str(bundle), "--out", str(tmp_path / "control"), "--core-only")[0] == 0
    # a level-1 fault of the year before, 4 hours to repair where 25 minutes are allowed
    (bundle / "evidence" / "zz-2020.jsonl").write_text(
        '{"id": "gz20-inc-999", "project": "guangzhou-2021", "kind": "incident", "source": "itsm",'
        ' "occurred_at": "2020-12-28T10:00:00+08:00", "recorded_at": "2020-12-28T14:10:00+08:00",'
        ' "payload": {"ticket": "INC-2020-999", "severity": "L1", "responded_at": "2020-12-28T10:30:00+08:00",'
        ' "resolved_at": "2020-12-28T14:00:00+08:00"}}\n',
        encoding="utf-8",
    )

    code, _, err = run(capsys, "evaluate", str(bundle), "--out", str(tmp_path / "out"), "--core-only")

    assert code == 0
    warning = (
        "1 条佐证材料所涉时间在评价期（2021-01-01 至 2021-12-31）以外，未计入得分和问题：故障工单 1 条；"
        "所涉时间 2020-12-28"
    )
    assert f"注意：{warning}" in err
    assert (tmp_path / "out" / "findings.json").read_bytes() == (tmp_path / "control" / "findings.json").read_bytes()
    scores, control = (json.loads((tmp_path / d / "scores.json").read_bytes()) for d in ("out", "control"))
    assert scores.pop("warnings") == [warning] and control.pop("warnings") == []
    assert scores["evidence_stats"].pop("outside_period") == 1
    assert control["evidence_stats"].pop("outside_period") == 0
    assert scores == control
    assert "gz20-inc-999" not in (tmp_path / "out" / "findings.json").read_text(encoding="utf-8")
    # the report writes the same warning with its dates as evaluators write them
    in_report = (
        "1 条佐证材料所涉时间在评价期（2021年1月1日至2021年12月31日）以外，未计入得分和问题："
        "故障工单 1 条；所涉时间 2020年12月28日"
    )
    assert in_report in (tmp_path / "out" / "report.md").read_text(encoding="utf-8")

    code, out, err = run(capsys, "check", str(bundle))
    assert code == 0
    assert "未计入 1 条：所涉时间在评价期以外" in out
    assert f"注意：{warning}" in err


@pytest.mark.parametrize("example", sorted(p.name for p in EXAMPLES.iterdir() if (p / "project.yaml").exists()))
def test_check_passes_every_example_and_writes_nothing(
    example: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, out, err = run(capsys, "check", str(EXAMPLES / example))
    assert code == 0, err
    assert "检查通过" in out
    assert "佐证材料" in out and "条计入评价" in out
    assert err == ""  # no example has evidence outside its period (dongguan declares its facts window)
    assert list(tmp_path.iterdir()) == []
