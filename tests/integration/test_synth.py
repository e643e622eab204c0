"""`opseval synth`: a synthetic bundle is a valid, deterministic bundle of the size asked for,
and evaluating it gives a plausible score with findings."""

from __future__ import annotations

from pathlib import Path

import pytest
from opseval_intake.bundle import iter_lines, load_definition

from opseval.embedded import evaluate_bundle
from opseval.synth import write_bundle

EVENTS = 3_000
TOLERANCE = 0.02


def _files(bundle: Path) -> dict[str, bytes]:
    return {str(p.relative_to(bundle)): p.read_bytes() for p in sorted(bundle.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, int]:
    out = tmp_path_factory.mktemp("synth") / "bundle"
    return out, write_bundle(out, EVENTS, seed=7)


def test_bundle_has_the_shape_of_a_bundle(bundle: tuple[Path, int]) -> None:
    out, _ = bundle
    for name in ("project.yaml", "contracts.yaml", "indicators.yaml"):
        assert (out / name).is_file()
    assert sorted(p.parent.name for p in out.rglob("*.jsonl")) == ["evidence"] * len(list(out.rglob("*.jsonl")))
    definition = load_definition(out)
    assert definition.indicators.form == "department"
    assert [i.weight for i in definition.indicators.indicators] == [20, 20, 40, 20]


def test_event_count_is_within_tolerance(bundle: tuple[Path, int]) -> None:
    out, written = bundle
    lines = sum(1 for _ in iter_lines(out))
    assert lines == written
    assert abs(written - EVENTS) <= EVENTS * TOLERANCE


def test_evaluates_with_a_plausible_score_and_findings(bundle: tuple[Path, int]) -> None:
    out, written = bundle
    result, _ = evaluate_bundle(out)
    # every event counted, the one judgment superseded on review (改判) apart
    assert (result.evidence_stats.events, result.evidence_stats.corrected) == (written - 1, 1)
    assert result.evidence_stats.duplicates == 0
    assert result.evidence_stats.after_as_of == 0
    assert 60 <= result.total < 100
    rules = {f.rule for f in result.findings}
    for expected in (
        "deliverable.late",
        "deliverable.count_below_due",
        "fault.sla_breach",
        "staff.required_role_absent",
        "inspection.late",
        "score.contradicts_attendance",
    ):
        assert expected in rules, f"{expected} did not fire; fired: {sorted(rules)}"
    assert not result.warnings


def test_same_seed_same_bytes_other_seed_other_bytes(bundle: tuple[Path, int], tmp_path: Path) -> None:
    out, written = bundle
    again = tmp_path / "again"
    assert write_bundle(again, EVENTS, seed=7) == written
    assert _files(again) == _files(out)
    other = tmp_path / "other"
    write_bundle(other, EVENTS, seed=8)
    assert _files(other) != _files(out)


@pytest.mark.parametrize("events", [1_000, 25_000])
def test_other_sizes_are_exact_and_evaluate(events: int, tmp_path: Path) -> None:
    written = write_bundle(tmp_path / "b", events)
    assert abs(written - events) <= events * TOLERANCE
    result, _ = evaluate_bundle(tmp_path / "b")
    assert result.evidence_stats.events + result.evidence_stats.corrected == written
    assert 60 <= result.total < 100
    assert result.findings


def test_rewriting_replaces_the_evidence(tmp_path: Path) -> None:
    out = tmp_path / "b"
    write_bundle(out, 5_000)
    written = write_bundle(out, 1_000)
    assert sum(1 for _ in iter_lines(out)) == written
