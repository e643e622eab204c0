"""Corrections (更正) and retractions (撤回) in a bundle: the evaluation is the one the corrected
evidence alone gives — as if it had been sent first —, whatever the order of the files, and the
result lists both events, why and who."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from opseval_intake.bundle import BundleError
from opseval_reporting.output import render_files
from opseval_shared.evidence import Evidence

from opseval import embedded
from opseval.embedded import bundle_series, evaluate_bundle, evaluate_bundle_series

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "service-centre-2024"
LATE_REPAIR = "sc-SC-02"  # a P1 fault resolved in 5.5 hours against an SLA of 240 minutes


@pytest.fixture
def bundle(tmp_path: Path) -> Path:
    target = tmp_path / "bundle"
    shutil.copytree(EXAMPLE, target)
    return target


def events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def write(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def fixed_repair(original: dict[str, Any]) -> dict[str, Any]:
    """The fault as the ticket system had it once the resolution time was corrected: within the SLA."""
    return {
        **original,
        "id": "sc-SC-02-fixed",
        "recorded_at": "2024-08-01T09:00:00+08:00",
        "payload": {**original["payload"], "resolved_at": "2024-07-22T16:30:00+08:00"},
    }


def scores_json(bundle: Path) -> dict[str, Any]:
    result, definition = evaluate_bundle(bundle)
    data: dict[str, Any] = json.loads(b"".join(render_files(result, definition, documents=False)["scores.json"]))
    return data


def without_corrections(scores: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in scores.items() if k != "corrections"}
    out["evidence_stats"] = {k: v for k, v in scores["evidence_stats"].items() if k != "corrected"}
    return out


def test_a_correction_scores_exactly_as_the_corrected_event_sent_in_the_first_place(
    bundle: Path, tmp_path: Path
) -> None:
    incidents = bundle / "evidence" / "incidents.jsonl"
    original_rows = events(incidents)
    wrong = next(r for r in original_rows if r["id"] == LATE_REPAIR)
    fixed = fixed_repair(wrong)
    before = scores_json(bundle)

    # The fleet of record: the correct event from the start, the wrong one never sent.
    first = tmp_path / "first"
    shutil.copytree(bundle, first)
    write(first / "evidence" / "incidents.jsonl", [fixed if r is wrong else r for r in original_rows])
    sent_first = scores_json(first)
    assert sent_first["total"] != before["total"]

    # The same correction made afterwards, in a file read after the wrong event, and in one read before it.
    correction = {
        **fixed,
        "corrects": {"event": LATE_REPAIR, "reason": "解决时间录入错误，以工单系统复核为准", "by": "运维服务台"},
    }
    for name in ("zz-corrections.jsonl", "00-corrections.jsonl"):
        write(bundle / "evidence" / name, [correction])
        corrected = scores_json(bundle)
        (bundle / "evidence" / name).unlink()
        assert without_corrections(corrected) == without_corrections(sent_first)
        assert corrected["evidence_stats"]["corrected"] == 1
        assert corrected["corrections"] == [
            {
                "event": LATE_REPAIR,
                "corrected_by": "sc-SC-02-fixed",
                "action": "superseded",
                "reason": "解决时间录入错误，以工单系统复核为准",
                "by": "运维服务台",
                "source": "itsm",
                "recorded_at": "2024-08-01T09:00:00+08:00",
                "in_force": True,
                "received": True,
            }
        ]


def test_corrections_after_the_events_they_name_take_them_out_without_folding_the_lines_again(
    bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wrong = next(r for r in events(bundle / "evidence" / "incidents.jsonl") if r["id"] == LATE_REPAIR)
    correction = {**fixed_repair(wrong), "corrects": {"event": LATE_REPAIR, "reason": "解决时间录入错误"}}
    retraction = {
        "id": "retract-sc-SC-01",
        "project": "service-centre-2024",
        "kind": "retraction",
        "occurred_at": "2024-08-01T09:00:00+08:00",
        "recorded_at": "2024-08-01T09:00:00+08:00",
        "source": "evaluator",
        "payload": {"event": "sc-SC-01", "reason": "重复建单"},
    }
    folds: list[int] = []
    fold_lines = embedded._fold_lines

    def counted(*args: Any, **kwargs: Any) -> None:
        folds.append(1)
        fold_lines(*args, **kwargs)

    monkeypatch.setattr(embedded, "_fold_lines", counted)
    late = bundle / "evidence" / "zz-corrections.jsonl"  # read after the events they name
    write(late, [correction, retraction])
    taken_out = scores_json(bundle)
    assert len(folds) == 1
    assert taken_out["evidence_stats"]["corrected"] == 2

    # The same corrections read before the events they name: left out as they come, the same result.
    late.rename(bundle / "evidence" / "00-corrections.jsonl")
    folds.clear()
    assert scores_json(bundle) == taken_out
    assert len(folds) == 1

    # A correction of an event the fold reported a problem of (its reference mistyped) is folded
    # again with the event left out from the start: the problem no longer counts.
    mistyped = {**wrong, "id": "sc-typo", "payload": {**wrong["payload"], "ticket": "SC-99", "severity": "P9"}}
    typo_fix = {**mistyped, "id": "sc-typo-fixed", "payload": {**mistyped["payload"], "severity": "P1"}}
    typo_fix["corrects"] = {"event": "sc-typo", "reason": "级别录入错误"}
    write(bundle / "evidence" / "01-typo.jsonl", [mistyped])
    write(bundle / "evidence" / "zz-typo-fix.jsonl", [typo_fix])
    folds.clear()
    fixed = scores_json(bundle)
    assert len(folds) == 2
    assert fixed["evidence_stats"]["corrected"] == 3


def test_a_retraction_scores_as_if_the_event_had_never_been_sent(bundle: Path, tmp_path: Path) -> None:
    incidents = bundle / "evidence" / "incidents.jsonl"
    rows = events(incidents)
    never = tmp_path / "never"
    shutil.copytree(bundle, never)
    write(never / "evidence" / "incidents.jsonl", [r for r in rows if r["id"] != LATE_REPAIR])
    retraction = {
        "id": "retract-sc-SC-02",
        "project": "service-centre-2024",
        "kind": "retraction",
        "occurred_at": "2024-08-01T09:00:00+08:00",
        "recorded_at": "2024-08-01T09:00:00+08:00",
        "source": "evaluator",
        "payload": {"event": LATE_REPAIR, "reason": "重复建单，已在 SC-01 中处理", "by": "第三方评价组"},
    }
    write(bundle / "evidence" / "00-retractions.jsonl", [retraction])
    retracted = scores_json(bundle)
    assert without_corrections(retracted) == without_corrections(scores_json(never))
    assert [(c["event"], c["action"], c["by"]) for c in retracted["corrections"]] == [
        (LATE_REPAIR, "retracted", "第三方评价组")
    ]


def test_the_latest_of_two_corrections_of_one_event_is_in_force(bundle: Path, tmp_path: Path) -> None:
    wrong = next(r for r in events(bundle / "evidence" / "incidents.jsonl") if r["id"] == LATE_REPAIR)
    fixed = fixed_repair(wrong)
    earlier = {
        **fixed,
        "id": "sc-SC-02-first-fix",
        "recorded_at": "2024-07-25T09:00:00+08:00",
        "payload": {**fixed["payload"], "resolved_at": "2024-07-22T20:00:00+08:00"},
    }
    reason = {"event": LATE_REPAIR, "reason": "解决时间录入错误"}
    write(
        bundle / "evidence" / "corrections.jsonl",
        [{**fixed, "corrects": reason}, {**earlier, "corrects": reason}],  # the later one written first
    )
    both = scores_json(bundle)
    only_latest = tmp_path / "latest"
    shutil.copytree(bundle, only_latest)
    (only_latest / "evidence" / "corrections.jsonl").unlink()
    rows = events(only_latest / "evidence" / "incidents.jsonl")
    write(only_latest / "evidence" / "incidents.jsonl", [fixed if r["id"] == LATE_REPAIR else r for r in rows])
    assert without_corrections(both) == without_corrections(scores_json(only_latest))
    assert [(c["corrected_by"], c["in_force"]) for c in both["corrections"]] == [
        ("sc-SC-02-first-fix", False),
        ("sc-SC-02-fixed", True),
    ]
    assert both["evidence_stats"]["corrected"] == 2  # the wrong event and the displaced first fix


def test_a_correction_takes_the_place_of_an_event_whose_reference_does_not_resolve(bundle: Path) -> None:
    wrong = next(r for r in events(bundle / "evidence" / "incidents.jsonl") if r["id"] == LATE_REPAIR)
    typo = {**wrong, "id": "sc-SC-09", "contract": "opps"}
    write(bundle / "evidence" / "typo.jsonl", [typo])
    with pytest.raises(BundleError) as caught:
        evaluate_bundle(bundle)
    assert (caught.value.field, "unknown contract 'opps'" in caught.value.message) == ("contract", True)
    retraction = {
        "id": "retract-sc-SC-09",
        "project": "service-centre-2024",
        "kind": "retraction",
        "occurred_at": "2024-08-01T09:00:00+08:00",
        "recorded_at": "2024-08-01T09:00:00+08:00",
        "source": "itsm",
        "payload": {"event": "sc-SC-09", "reason": "合同编号录入错误"},
    }
    write(bundle / "evidence" / "zz-retract.jsonl", [retraction])
    result, _ = evaluate_bundle(bundle)
    assert result.evidence_stats.corrected == 1


def test_a_correction_naming_an_event_not_in_the_bundle_is_an_error_at_its_line(bundle: Path) -> None:
    wrong = next(r for r in events(bundle / "evidence" / "incidents.jsonl") if r["id"] == LATE_REPAIR)
    correction = {**fixed_repair(wrong), "corrects": {"event": "sc-SC-20", "reason": "录入错误"}}
    write(bundle / "evidence" / "zz-corrections.jsonl", [correction])
    with pytest.raises(BundleError) as caught:
        evaluate_bundle(bundle)
    err = caught.value
    assert (Path(err.path).name, err.line, err.field) == ("zz-corrections.jsonl", 1, "corrects.event")
    assert "'sc-SC-20', which is not in the bundle" in err.message


def test_an_event_cannot_correct_itself(bundle: Path) -> None:
    wrong = next(r for r in events(bundle / "evidence" / "incidents.jsonl") if r["id"] == LATE_REPAIR)
    write(bundle / "evidence" / "zz.jsonl", [{**wrong, "id": "x-1", "corrects": {"event": "x-1", "reason": "错"}}])
    with pytest.raises(BundleError) as caught:
        evaluate_bundle(bundle)
    err = caught.value
    assert (Path(err.path).name, err.line, err.field) == ("zz.jsonl", 1, "corrects")
    assert "cannot correct itself" in err.message


@pytest.mark.parametrize(
    ("extra", "field", "message"),
    [
        ({"payload": {"event": "r-1", "reason": "错"}}, "payload", "cannot withdraw itself"),
        (
            {"payload": {"event": LATE_REPAIR, "reason": "错"}, "corrects": {"event": LATE_REPAIR, "reason": "错"}},
            "corrects",
            "it corrects nothing itself",
        ),
    ],
)
def test_a_retraction_of_itself_or_that_also_corrects_is_an_error_naming_its_field(
    bundle: Path, extra: dict[str, Any], field: str, message: str
) -> None:
    retraction = {
        "id": "r-1",
        "project": "service-centre-2024",
        "kind": "retraction",
        "occurred_at": "2024-08-01T09:00:00+08:00",
        "recorded_at": "2024-08-01T09:00:00+08:00",
        "source": "evaluator",
        **extra,
    }
    write(bundle / "evidence" / "zz.jsonl", [retraction])
    with pytest.raises(BundleError) as caught:
        evaluate_bundle(bundle)
    err = caught.value
    assert (Path(err.path).name, err.line, err.field) == ("zz.jsonl", 1, field)
    assert message in err.message


def test_a_retraction_cannot_itself_be_retracted_or_corrected(bundle: Path) -> None:
    base = {
        "project": "service-centre-2024",
        "kind": "retraction",
        "occurred_at": "2024-08-01T09:00:00+08:00",
        "recorded_at": "2024-08-01T09:00:00+08:00",
        "source": "itsm",
    }
    first = {**base, "id": "retract-1", "payload": {"event": LATE_REPAIR, "reason": "重复建单"}}
    undo = {**base, "id": "retract-2", "payload": {"event": "retract-1", "reason": "撤回有误"}}
    write(bundle / "evidence" / "zz-retractions.jsonl", [first, undo])
    with pytest.raises(BundleError) as caught:
        evaluate_bundle(bundle)
    err = caught.value
    assert (Path(err.path).name, err.line, err.field) == ("zz-retractions.jsonl", 2, "payload.event")
    assert "a retraction stands" in err.message


def test_the_timeline_leaves_a_retracted_event_out_from_the_month_the_retraction_was_made(bundle: Path) -> None:
    retraction = {
        "id": "retract-sc-SC-02",
        "project": "service-centre-2024",
        "kind": "retraction",
        "occurred_at": "2024-08-01T09:00:00+08:00",
        "recorded_at": "2024-08-01T09:00:00+08:00",
        "source": "evaluator",
        "payload": {"event": LATE_REPAIR, "reason": "重复建单，已在 SC-01 中处理"},
    }
    write(bundle / "evidence" / "zz-retractions.jsonl", [retraction])
    kept: list[Evidence] = []
    result, definition = evaluate_bundle(bundle, keep=kept)
    points = {p.as_of: p for p in bundle_series(kept, definition, result.as_of)}
    fresh = {day: evaluate_bundle(bundle, day)[0] for day in (date(2024, 7, 31), date(2024, 8, 31))}
    fresh[result.as_of] = result
    for day, evaluated_then in fresh.items():
        assert (points[day].total, points[day].findings) == (evaluated_then.total, len(evaluated_then.findings)), day
    # Read once (evaluate_bundle_series), a bundle with a correction is folded again per month-end: the same.
    assert evaluate_bundle_series(bundle) == (result, definition, tuple(points.values()))
    # The late repair stands in July (the retraction is not made yet) and is gone from August on.
    july = {f.rule for f in fresh[date(2024, 7, 31)].findings if LATE_REPAIR in f.evidence}
    august = {f.rule for f in fresh[date(2024, 8, 31)].findings if LATE_REPAIR in f.evidence}
    assert july and not august


@pytest.mark.parametrize("kind", ["correction", "retraction"])
def test_a_correction_or_retraction_naming_an_unknown_event_is_an_error_also_when_made_after_the_as_of_date(
    bundle: Path, kind: str
) -> None:
    # A typo is a typo whatever the date: evaluated as of July, a correction made on 1 August that names
    # no event of the bundle still stops the bundle at its line.
    wrong = next(r for r in events(bundle / "evidence" / "incidents.jsonl") if r["id"] == LATE_REPAIR)
    if kind == "correction":
        row = {**fixed_repair(wrong), "corrects": {"event": "sc-SC-20", "reason": "录入错误"}}
    else:
        row = {
            "id": "retract-sc-SC-20",
            "project": "service-centre-2024",
            "kind": "retraction",
            "occurred_at": "2024-08-01T09:00:00+08:00",
            "recorded_at": "2024-08-01T09:00:00+08:00",
            "source": "evaluator",
            "payload": {"event": "sc-SC-20", "reason": "重复建单"},
        }
    write(bundle / "evidence" / "zz-corrections.jsonl", [row])
    with pytest.raises(BundleError) as caught:
        evaluate_bundle(bundle, date(2024, 7, 31))
    err = caught.value
    field = "corrects.event" if kind == "correction" else "payload.event"
    assert (Path(err.path).name, err.line, err.field) == ("zz-corrections.jsonl", 1, field)
    assert "'sc-SC-20', which is not in the bundle" in err.message
