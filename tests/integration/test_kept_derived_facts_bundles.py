"""A synthetic bundle and the examples, their events taken batch after batch in the order upstream
systems send them into one kept ledger and calendar (as the services keep them, the as-of date moved
half way), evaluate after each batch to the bytes of a ledger folded afresh: facts kept between
evaluations (opseval_shared.derived) are reused only where they are what a fresh evaluation derives."""

from __future__ import annotations

import contextlib
from datetime import date
from pathlib import Path

import pytest
from domainbuilders import folded_afresh
from opseval_intake.bundle import load_definition
from opseval_reporting.pipeline import evaluate_ledger
from opseval_shared.calendar import WorkCalendar
from opseval_shared.evidence import Evidence
from opseval_shared.ledger import EvidenceReferenceError, Ledger

from opseval.embedded import fold_bundle
from opseval.synth import write_bundle

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
BUNDLES = sorted(p.name for p in EXAMPLES.iterdir() if (p / "project.yaml").is_file())


def _check(bundle: Path, batches: int) -> None:
    events: list[Evidence] = []
    fold_bundle(bundle, keep=events)
    definition = load_definition(bundle)
    events.sort(key=lambda e: (e.recorded_at, e.id))
    as_of = definition.project.evaluation.default_as_of
    start = definition.project.evaluation.period.start
    day = date.fromordinal((start.toordinal() + as_of.toordinal()) // 2)
    ledger, work = Ledger(definition, day), WorkCalendar()
    size = len(events) // batches + 1
    for n in range(batches):
        taken = events[: (n + 1) * size]
        if n == batches // 2:
            day = as_of
            held = set(ledger.move_to(day))
            first: dict[str, Evidence] = {}
            for e in events[: n * size]:
                first.setdefault(e.id, e)
            for e in first.values():
                if e.id in held:
                    with contextlib.suppress(EvidenceReferenceError):
                        ledger.add(e)
        for e in events[n * size : (n + 1) * size]:
            with contextlib.suppress(EvidenceReferenceError):
                ledger.add(e)
        if ledger.stale:
            ledger = folded_afresh(definition, taken, day, ledger.left_out)
        kept = evaluate_ledger(ledger, work=work).model_dump_json()
        fresh = evaluate_ledger(
            folded_afresh(definition, taken, day, frozenset()), work=WorkCalendar()
        ).model_dump_json()
        assert kept == fresh, f"batch {n + 1} of {batches}, as of {day}"


def test_a_synthetic_bundle_evaluates_batch_after_batch_as_folded_afresh(tmp_path: Path) -> None:
    write_bundle(tmp_path / "bundle", 4_000, seed=7)
    _check(tmp_path / "bundle", 6)


@pytest.mark.parametrize("name", BUNDLES)
def test_an_example_evaluates_batch_after_batch_as_folded_afresh(name: str) -> None:
    _check(EXAMPLES / name, 4)
