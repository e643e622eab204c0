"""A ledger's fold state written as plain data and read back (opseval_shared.fold_state) evaluates to
the same bytes as the ledger it was taken from; folded on with the remaining events, or moved to a
later date, it is the ledger a fresh fold of every event gives."""

from __future__ import annotations

import contextlib
from datetime import date
from pathlib import Path

import orjson
import pytest
from opseval_intake.bundle import load_definition
from opseval_reporting.pipeline import evaluate_ledger
from opseval_shared import fold_state
from opseval_shared.evidence import Evidence
from opseval_shared.ledger import EvidenceReferenceError, Ledger, fold_all
from opseval_shared.project import ProjectDefinition

from opseval.embedded import fold_bundle
from opseval.synth import write_bundle

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
BUNDLES = sorted(p.name for p in EXAMPLES.iterdir() if (p / "project.yaml").is_file())

# Every field of a ledger, as fold_state knows it: written, or derived from the definition (and a
# cache built as the ledger is read). A field added to Ledger fails here until fold_state has it.
DERIVED = {
    "definition", "project_id", "cutoff", "_as_of_next", "_contracts", "_default_contract", "_plans",
    "_deliverable_ids", "_references", "facts_window", "_facts_first", "_facts_last", "_facts_years",
    "_kinds", "_quick", "_end_of_day_contracts", "_aspect_tallies", "_origin_of", "_indexed", "_stale",
    "_arrived", "_origins", "_seen", "_left_out", "_noted_out", "_counts", "_corrections",
    "_later_corrections", "_held_back", "_later_corrected", "derived", "_pending", "_slot_of",
}  # fmt: skip
WRITTEN = {
    "as_of", "duplicates", "after_as_of", "corrected", "outside_period", "outside_by_kind", "outside_span",
    "inspections", "first_clock_in", "last_clock_out", "submissions", "surveys", "survey_aspects",
    "roster", "incidents", "assets", "judgments", "trainings", "ticket_volumes", "budget", "unit_rates",
    "calculations", "assessments", "acceptances", "self_rows", "_rivals",
}  # fmt: skip


@pytest.fixture(scope="module")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "bundle"
    write_bundle(out, 4_000, seed=7)
    return out


def _parsed(bundle: Path) -> tuple[ProjectDefinition, list[Evidence]]:
    events: list[Evidence] = []
    fold_bundle(bundle, keep=events)
    return load_definition(bundle), events


def _json(ledger: Ledger) -> str:
    return evaluate_ledger(ledger).model_dump_json()


def _state(ledger: Ledger) -> bytes:
    state = fold_state.state_of(ledger)
    state["seen"].sort()  # a set's order
    return orjson.dumps(state)


def _again(definition: ProjectDefinition, ledger: Ledger) -> Ledger:
    body = fold_state.dumps(ledger)
    return fold_state.loads(definition, body)


def _add(ledger: Ledger, events: list[Evidence]) -> None:
    for e in events:
        with contextlib.suppress(EvidenceReferenceError):
            ledger.add(e)


def test_fold_state_knows_every_field_of_a_ledger() -> None:
    definition, _ = _parsed(EXAMPLES / BUNDLES[0])
    ledger = Ledger(definition, definition.project.evaluation.default_as_of)
    assert set(vars(ledger)) == DERIVED | WRITTEN


def _check(definition: ProjectDefinition, events: list[Evidence]) -> None:
    as_of = definition.project.evaluation.default_as_of
    fresh, _ = fold_all(definition, as_of, lambda: events)
    restored = _again(definition, fresh)
    assert _json(restored) == _json(fresh)
    assert _state(restored) == _state(fresh)
    # Kept part way, then folded on with the rest: the fresh fold's result.
    part = Ledger(definition, as_of, fresh.left_out)
    cut = len(events) * 3 // 5
    _add(part, events[:cut])
    part = _again(definition, part)
    _add(part, events[cut:])
    assert not part.stale
    assert _json(part) == _json(fresh)
    # Kept as of an earlier date, then moved to the default one with the events held back.
    period = definition.project.evaluation.period
    early = date.fromordinal((period.start.toordinal() + period.end.toordinal()) // 2)
    earlier = Ledger(definition, early, fresh.left_out)
    _add(earlier, events)
    earlier = _again(definition, earlier)
    held = set(earlier.move_to(as_of))
    first: dict[str, Evidence] = {}
    for e in events:
        first.setdefault(e.id, e)
    _add(earlier, [e for e in first.values() if e.id in held])
    if earlier.stale:
        earlier, _ = fold_all(definition, as_of, lambda: events)
    assert _json(earlier) == _json(fresh)


@pytest.mark.parametrize("name", BUNDLES)
def test_an_example_kept_and_read_back_evaluates_to_the_same_bytes(name: str) -> None:
    _check(*_parsed(EXAMPLES / name))


def test_a_synthetic_bundle_kept_and_read_back_evaluates_to_the_same_bytes(synth: Path) -> None:
    _check(*_parsed(synth))


def test_a_state_not_of_this_format_or_project_or_broken_is_refused(synth: Path) -> None:
    definition, events = _parsed(synth)
    ledger, _ = fold_all(definition, definition.project.evaluation.default_as_of, lambda: events)
    state = fold_state.state_of(ledger)
    with pytest.raises(fold_state.FoldStateError, match="format"):
        fold_state.restore(definition, {**state, "format": 0})
    with pytest.raises(fold_state.FoldStateError, match="project"):
        fold_state.restore(definition, {**state, "project": "another"})
    with pytest.raises(fold_state.FoldStateError, match="broken"):
        fold_state.restore(definition, {**state, "inspections": [["no-such", "plan", [], [], [], [], []]]})
    with pytest.raises(fold_state.FoldStateError, match="broken"):
        fold_state.restore(definition, {k: v for k, v in state.items() if k != "roster"})
    with pytest.raises(fold_state.FoldStateError, match="not JSON"):
        fold_state.loads(definition, b"\x80\x04pickle?")
    # Plain data only: a pickle is not JSON, and nothing in a state names code to run.
    with pytest.raises(fold_state.FoldStateError):
        fold_state.loads(definition, b'{"format": 1, "project": "x", "__reduce__": "os.system"}')
