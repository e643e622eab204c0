"""An evaluation does not depend on how the evidence is encoded: the same events under other ids,
in another order and split across other files give the same findings and scores, byte for byte —
finding ids included, since they derive from rule, contract and subject, never from event ids.
Only the evidence id lists differ, and they map back through the renaming."""

from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opseval_reporting.output import findings_document, scores_document, to_json

from opseval.embedded import evaluate_bundle

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
BUNDLES = sorted(p.name for p in EXAMPLES.iterdir() if (p / "project.yaml").exists())


def _events(bundle: Path) -> list[dict[str, Any]]:
    out = []
    for path in sorted((bundle / "evidence").glob("*.jsonl")):
        out.extend(json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    return out


def reencode(bundle: Path, target: Path, seed: int, files: int) -> dict[str, str]:
    """Copy the bundle with every event id replaced by a fresh one, the events shuffled and split
    across `files` new files; return new id -> original id."""
    rng = random.Random(seed)
    shutil.copytree(bundle, target, ignore=shutil.ignore_patterns("evidence"))
    (target / "evidence").mkdir()
    events = _events(bundle)
    # fresh ids whose sort order has nothing to do with the original one
    fresh = [f"re{seed}-{n:06d}-{rng.randrange(16**6):06x}" for n in range(len(events))]
    rng.shuffle(fresh)
    back: dict[str, str] = {}
    renamed: dict[str, str] = {}
    for event, new in zip(events, fresh, strict=True):
        new = renamed.setdefault(event["id"], new)  # a replayed event keeps its one new id
        back[new] = event["id"]
        event["id"] = new
    rng.shuffle(events)
    chunks: list[list[str]] = [[] for _ in range(files)]
    for event in events:
        chunks[rng.randrange(files)].append(json.dumps(event, ensure_ascii=False))
    for index, lines in enumerate(chunks):
        name = f"{rng.randrange(16**8):08x}-{index}.jsonl"
        (target / "evidence" / name).write_text("".join(line + "\n" for line in lines), encoding="utf-8")
    return back


def _documents(bundle: Path, back: dict[str, str] | None = None) -> tuple[bytes, bytes]:
    """findings.json and scores.json with every evidence list mapped to the original ids and sorted."""
    result, _ = evaluate_bundle(bundle)

    def original_id(event_id: str) -> str:
        return back[event_id] if back is not None else event_id

    def normalise(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                key: sorted(map(original_id, value)) if key == "evidence" and value is not None else normalise(value)
                for key, value in node.items()
            }
        if isinstance(node, list):
            return [normalise(item) for item in node]
        return node

    findings = b"".join(to_json(normalise(findings_document(result))))
    scores = b"".join(to_json(normalise(scores_document(result))))
    return findings, scores


_ORIGINAL: dict[str, tuple[bytes, bytes]] = {}


def original(name: str) -> tuple[bytes, bytes]:
    if name not in _ORIGINAL:
        _ORIGINAL[name] = _documents(EXAMPLES / name)
    return _ORIGINAL[name]


@pytest.mark.parametrize("name", BUNDLES)
def test_each_example_gives_the_same_findings_and_scores_under_fresh_ids_order_and_files(
    name: str, tmp_path: Path
) -> None:
    back = reencode(EXAMPLES / name, tmp_path / name, seed=7, files=5)
    findings, scores = _documents(tmp_path / name, back)
    expected_findings, expected_scores = original(name)
    assert findings == expected_findings
    assert scores == expected_scores


@pytest.mark.slow
@settings(max_examples=4, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32 - 1), files=st.integers(min_value=1, max_value=12))
def test_dongguan_findings_and_scores_survive_any_reencoding(seed: int, files: int, tmp_path_factory: Any) -> None:
    target = tmp_path_factory.mktemp("reencoded") / "dongguan-2022"
    back = reencode(EXAMPLES / "dongguan-2022", target, seed=seed, files=files)
    assert _documents(target, back) == original("dongguan-2022")
