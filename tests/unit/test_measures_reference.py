"""The measures reference page and `opseval measures` come from the definitions themselves."""

from __future__ import annotations

import pytest
from opseval_intake.library import standard_measures

from opseval.cli import main
from opseval.reference import REFERENCE_PAGE, RULES_PAGE, measures_markdown, rules_markdown


def test_the_reference_page_is_generated_from_the_current_definitions() -> None:
    assert REFERENCE_PAGE.read_text(encoding="utf-8") == measures_markdown(), (
        "docs/measures.md is stale: run `uv run opseval measures --markdown --write`"
    )


def test_every_standard_measure_is_listed_with_its_meaning(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["measures"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(standard_measures().measures)
    assert any(line.startswith("staff.late_arrivals_committed") and "属于投标承诺人员" in line for line in lines)


def test_sources_are_listed_with_their_fields(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["measures", "--sources"]) == 0
    out = capsys.readouterr().out
    assert "clock_in  考勤记录" in out and "minutes_late" in out and "committed_staff（投标承诺人员）" in out


def test_the_rules_page_is_generated_from_the_current_definitions() -> None:
    assert RULES_PAGE.read_text(encoding="utf-8") == rules_markdown(), (
        "docs/rules.md is stale: run `uv run opseval rules --markdown --write`"
    )


def test_every_rule_is_listed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules"]) == 0
    out = capsys.readouterr().out
    assert "staff.late_arrivals" in out and "late.value > params.max_late" in out
    assert "documents.near_duplicate" in out and "catalogue.py" not in out
