"""The measurements the rules service ships with its findings (issue 14): the scoring service's
evaluation given them is the evaluation `opseval evaluate` makes, to the bytes, and evaluates none of
those measures; they are taken only for the state they were made over; kept apart and read back
they are the same, to each Decimal's exponent and each evidence list."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import opseval_shared.measures as measures_module
import pytest
from opseval_reporting.pipeline import evaluate_ledger as evaluate_as_the_cli_does
from opseval_rules.service import measured
from opseval_scoring.evaluation import evaluate_ledger
from opseval_shared.base import Ids
from opseval_shared.calendar import WorkCalendar
from opseval_shared.evidence_apart import INLINE_BELOW, Apart, apart, joined, reference
from opseval_shared.ledger import Ledger
from opseval_shared.messaging import FindingsChanged, without_evidence
from opseval_shared.metrics import MetricContext
from opseval_shared.results import Finding
from opseval_shared.values import Measurement

from opseval.embedded import fold_bundle
from opseval.synth import write_bundle

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
BUNDLES = sorted(p.name for p in EXAMPLES.iterdir() if (p / "project.yaml").is_file())


@contextmanager
def measures_evaluated() -> Iterator[list[str]]:
    """The measures evaluated inside, by name (they still are: counted, not faked)."""
    calls: list[str] = []
    real = measures_module.evaluate

    def counted(library: Any, ref: Any, ctx: Any) -> Any:
        calls.append(ref.name)
        return real(library, ref, ctx)

    measures_module.evaluate = counted  # type: ignore[assignment]
    try:
        yield calls
    finally:
        measures_module.evaluate = real


def shipped(ledger: Ledger) -> FindingsChanged:
    """What the rules service stores for this ledger, read back as the scoring service reads it."""
    findings, measurements, years = measured(MetricContext(ledger, WorkCalendar()))
    message = FindingsChanged(
        project=ledger.definition.project.id,
        events_folded=ledger.events,
        as_of=ledger.as_of,
        findings=tuple(findings),
        last_seq=ledger.events,
        definition_revision="r1",
        measurements=measurements,
        calendar_years=years,
    )
    return joined(apart(message), FindingsChanged)


def assert_the_shipped_measurements_give_the_clis_bytes(ledger: Ledger) -> None:
    expected = evaluate_as_the_cli_does(ledger).json_bytes()  # find and measure in one context
    findings = shipped(ledger)
    assert findings.measurements, "the score tree asks for measurements"
    with measures_evaluated() as evaluated:
        given = evaluate_ledger(
            ledger, lambda ctx: findings.findings, WorkCalendar(), findings.measurements, findings.calendar_years
        )
    assert evaluated == []
    assert given.json_bytes() == expected
    # And measured in scoring itself, from the findings alone, the same.
    without = evaluate_ledger(ledger, lambda ctx: findings.findings, WorkCalendar(), None, findings.calendar_years)
    assert without.json_bytes() == expected


@pytest.mark.parametrize("name", BUNDLES)
def test_an_examples_evaluation_given_the_shipped_measurements_is_the_clis_to_the_bytes(name: str) -> None:
    assert_the_shipped_measurements_give_the_clis_bytes(fold_bundle(EXAMPLES / name))


@pytest.mark.parametrize("as_of", [None, date(2024, 6, 30)], ids=["at the period's end", "inside the period"])
def test_a_synthetic_years_evaluation_given_the_shipped_measurements_is_the_clis_to_the_bytes(
    tmp_path: Path, as_of: date | None
) -> None:
    write_bundle(tmp_path / "bundle", 4_000, seed=7)
    ledger = fold_bundle(tmp_path / "bundle", as_of)
    findings = shipped(ledger)
    kept = Apart(apart(findings)).model(FindingsChanged)
    assert any(reference(m.evidence) is not None for m in kept.measurements.values()), "long lists kept apart"
    assert_the_shipped_measurements_give_the_clis_bytes(ledger)


def test_measurements_are_taken_only_for_the_state_they_were_made_over() -> None:
    made = {"{}": Measurement(Decimal(1))}
    findings = FindingsChanged(
        project="p",
        events_folded=10,
        as_of=date(2024, 3, 31),
        findings=(),
        last_seq=12,
        definition_revision="r1",
        measurements=made,
    )
    assert findings.measurements_for("r1", date(2024, 3, 31), 12, 10) == made
    assert findings.measurements_for("r2", date(2024, 3, 31), 12, 10) == {}
    assert findings.measurements_for("r1", date(2024, 4, 1), 12, 10) == {}
    assert findings.measurements_for("r1", date(2024, 3, 31), 13, 10) == {}
    assert findings.measurements_for("r1", date(2024, 3, 31), 12, 11) == {}
    older = FindingsChanged(project="p", events_folded=10, as_of=date(2024, 3, 31), findings=())
    assert older.measurements_for("r1", date(2024, 3, 31), 12, 10) == {}


def ids(prefix: str, n: int) -> Ids:
    return Ids(f"{prefix}-{i:06d}" for i in range(n))


def test_measurements_kept_apart_read_back_to_the_same_decimals_and_lists() -> None:
    shared, own = ids("insp", 5000), ids("tick", 300)
    unsorted = tuple(reversed(ids("late", 200)))  # not `Ids`: kept in place, read back as the tuple it is
    measurements = {
        '{"name":"a"}': Measurement(Decimal("0.50"), Decimal("1E+2"), Decimal("200"), "%", "1/2", "d", shared, True),
        '{"name":"b"}': Measurement(Decimal("0.3333333333333333333333333333"), evidence=own, items=("x", "y")),
        '{"name":"c"}': Measurement(Decimal("-0"), None, Decimal("0E-7"), evidence=unsorted, has_data=False),
        '{"name":"d"}': Measurement(Decimal("5"), evidence=ids("short", INLINE_BELOW - 1)),
    }
    finding = Finding(id="f", rule="r", severity="low", message="m", measured="1", required="0", evidence=shared)
    model = FindingsChanged(
        project="p",
        events_folded=3,
        as_of=date(2024, 3, 31),
        findings=(finding,),
        last_seq=7,
        definition_revision="r1",
        measurements=measurements,
        calendar_years=(2023, 2024),
    )
    kept = apart(model)
    assert kept.count(b"insp-004321") == 1  # cited by the finding and a measurement, written once
    skeleton = Apart(kept).model(FindingsChanged)
    assert reference(skeleton.measurements['{"name":"a"}'].evidence) == reference(skeleton.findings[0].evidence)
    assert skeleton.measurements['{"name":"c"}'].evidence == unsorted
    back = joined(kept, FindingsChanged)
    assert back == model and back.json_bytes() == model.json_bytes()
    for ref, m in measurements.items():
        again = back.measurements[ref]
        assert (str(again.value), str(again.numerator), str(again.denominator)) == (
            str(m.value),
            str(m.numerator),
            str(m.denominator),
        )
        assert again.evidence == m.evidence
    assert type(back.measurements['{"name":"a"}'].evidence) is Ids
    assert type(back.measurements['{"name":"c"}'].evidence) is tuple  # its order is not vouched for
    published = without_evidence(model)
    assert isinstance(published, FindingsChanged)
    assert all(m.evidence == () for m in published.measurements.values())
    assert published.measurements['{"name":"a"}'] == replace(measurements['{"name":"a"}'], evidence=())
