"""A bundle's measures and the measures its leaves name are checked when it loads: every mistake is
exit 2 with the file, the line and the field, and nothing is written."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from opseval_intake.bundle import BundleError, load_definition

from opseval.cli import main

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "service-centre-2024"


def edited(tmp_path: Path, name: str, edit: Callable[[str], str]) -> Path:
    bundle = tmp_path / "bundle"
    shutil.copytree(EXAMPLE, bundle)
    path = bundle / name
    text = path.read_text(encoding="utf-8")
    changed = edit(text)
    assert changed != text, "the edit must change the file"
    path.write_text(changed, encoding="utf-8")
    return bundle


def line_of(bundle: Path, name: str, needle: str) -> int:
    lines = (bundle / name).read_text(encoding="utf-8").splitlines()
    return next(i for i, line in enumerate(lines, start=1) if needle in line)


CASES = [
    # file, old text, new text, the line to point at, the field, words of the message
    (
        "indicators.yaml",
        "where: {plan: daily_check}",
        "where: {plan: daily_chek}",
        "daily_chek",
        "method.metric.where.plan",
        "'daily_chek' is not a 巡检计划",
    ),
    (
        "indicators.yaml",
        "name: staff.committed_on_site_rate",
        "name: staff.committed_onsite_rate",
        "staff.committed_onsite_rate",
        "method.metric.name",
        "unknown measure 'staff.committed_onsite_rate'",
    ),
    (
        "indicators.yaml",
        "where: {deliverable: monthly_report}",
        "where: {deliverables: monthly_report}",
        "deliverables: monthly_report",
        "method.metric.where.deliverables",
        "has no field 'deliverables'",
    ),
    (
        "measures.yaml",
        "where: {severity: P1, resolve_breached: true}",
        "where: {severity: P1, resolve_breached: maybe}",
        None,
        "measures[0]",
        "is not a bool value",
    ),
    (
        "measures.yaml",
        "source: clock_in",
        "source: clock_inn",
        "source: clock_inn",
        "measures[1].source",
        "unknown source 'clock_inn'",
    ),
    (
        "measures.yaml",
        "id: centre.p1_late_repairs",
        "id: staff.late_arrivals",
        "id: staff.late_arrivals",
        "measures[0].id",
        "already defined in the standard library",
    ),
    (
        "measures.yaml",
        "ratio: {of: centre.citizen_satisfied, to: centre.citizen_responses}",
        "ratio: {of: centre.citizen_satisfied, to: centre.citizen_response}",
        None,
        "measures",
        "ratio names unknown measure 'centre.citizen_response'",
    ),
]


@pytest.mark.parametrize(("name", "old", "new", "needle", "field", "words"), CASES, ids=[c[4] for c in CASES])
def test_a_wrong_measure_reference_is_located(
    tmp_path: Path, name: str, old: str, new: str, needle: str | None, field: str, words: str
) -> None:
    bundle = edited(tmp_path, name, lambda text: text.replace(old, new, 1))
    with pytest.raises(BundleError) as caught:
        load_definition(bundle)
    err = caught.value
    assert Path(err.path).name == name
    assert err.field is not None and err.field.endswith(field), err.field
    assert words in str(err)
    if needle is not None:
        assert err.line == line_of(bundle, name, needle)


def test_the_cli_exits_2_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bundle = edited(tmp_path, "indicators.yaml", lambda t: t.replace("where: {plan: daily_check}", "where: {plan: x}"))
    out = tmp_path / "out"
    assert main(["evaluate", str(bundle), "--out", str(out), "--core-only"]) == 2
    assert not out.exists()
    assert "indicators.yaml" in capsys.readouterr().err
