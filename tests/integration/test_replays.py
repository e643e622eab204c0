"""An evidence id is an idempotency key: a replay is folded once, a different event under a used id
is refused, naming where the id was first used."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from opseval_intake.bundle import BundleError

from opseval.embedded import evaluate_bundle

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "guangzhou-2021"


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    target = tmp_path / "bundle"
    shutil.copytree(EXAMPLE, target)
    return target


def first_event(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8").splitlines()[0])


def test_a_replayed_file_is_counted_once(bundle: Path) -> None:
    original, _ = evaluate_bundle(bundle)
    shutil.copy(bundle / "evidence" / "incidents.jsonl", bundle / "evidence" / "zz-incidents-again.jsonl")
    replayed, _ = evaluate_bundle(bundle)
    assert replayed.evidence_stats.duplicates == 24
    assert replayed.evidence_stats.events == original.evidence_stats.events
    assert replayed.total == original.total and replayed.findings == original.findings


def test_a_replay_with_other_key_order_and_spacing_is_the_same_event(bundle: Path) -> None:
    event = first_event(bundle / "evidence" / "budget.jsonl")
    reordered = json.dumps(
        dict(reversed(list(event.items()))), ensure_ascii=False, indent=None, separators=(" , ", " : ")
    )
    (bundle / "evidence" / "zz-replay.jsonl").write_text(reordered + "\n", encoding="utf-8")
    result, _ = evaluate_bundle(bundle)
    assert result.evidence_stats.duplicates == 1


def test_a_different_event_under_a_used_id_names_the_first_use(bundle: Path) -> None:
    event = first_event(bundle / "evidence" / "budget.jsonl")
    event["payload"]["amount"] = 999
    (bundle / "evidence" / "zz-conflict.jsonl").write_text("\n" + json.dumps(event) + "\n", encoding="utf-8")
    with pytest.raises(BundleError) as caught:
        evaluate_bundle(bundle)
    err = caught.value
    assert (Path(err.path).name, err.line, err.field) == ("zz-conflict.jsonl", 2, "id")
    assert f"{bundle / 'evidence' / 'budget.jsonl'}:1" in err.message
