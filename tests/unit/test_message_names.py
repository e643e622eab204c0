"""The word "revision" means one thing (a project definition's revision); how far a result got is
`events_folded` (glossary: opseval_shared.messaging). Results stored before the rename stay readable."""

from __future__ import annotations

import inspect
import json
from datetime import date

from opseval_shared import messaging
from opseval_shared.messaging import FindingsChanged, ProjectRegistered, ScoreChanged
from pydantic import BaseModel

# A findings and a scores snapshot body as the fleet stored them before the rename.
OLD_FINDINGS = '{"project":"p","revision":7,"as_of":"2026-11-30","findings":[]}'
OLD_SCORES = (
    '{"project":"p","revision":7,"findings_revision":5,"as_of":"2026-11-30","total":"0","grade":"差",'
    '"assessable":null,"pending":null,"indicators":[],"evidence_accepted_at":null}'
)


def test_findings_and_scores_stored_under_the_old_names_are_read() -> None:
    findings = FindingsChanged.model_validate_json(OLD_FINDINGS)
    assert (findings.events_folded, findings.as_of) == (7, date(2026, 11, 30))
    scores = ScoreChanged.model_validate_json(OLD_SCORES)
    assert (scores.events_folded, scores.findings_events_folded) == (7, 5)


def test_they_are_written_under_the_new_names_and_read_back_equal() -> None:
    scores = ScoreChanged.model_validate_json(OLD_SCORES)
    written = json.loads(scores.model_dump_json())
    assert (written["events_folded"], written["findings_events_folded"]) == (7, 5)
    assert not {"revision", "findings_revision"} & set(written)
    assert ScoreChanged.model_validate_json(scores.model_dump_json()) == scores
    findings = FindingsChanged(project="p", events_folded=3, as_of=date(2026, 11, 30), findings=())
    assert json.loads(findings.model_dump_json())["events_folded"] == 3
    assert FindingsChanged.model_validate_json(findings.model_dump_json()) == findings


def test_revision_names_only_a_definitions_revision_in_the_message_contracts() -> None:
    models = [m for _, m in inspect.getmembers(messaging, inspect.isclass) if issubclass(m, BaseModel)]
    assert {FindingsChanged, ScoreChanged, ProjectRegistered} <= set(models)
    named = {
        (model.__name__, name, info.annotation)
        for model in models
        for name, info in model.model_fields.items()
        if "revision" in name
    }
    # (The findings say the definition revision they, and the measurements with them, were made under.)
    assert named == {("ProjectRegistered", "revision", str), ("FindingsChanged", "definition_revision", str | None)}
    schemas = json.dumps([m.model_json_schema() for m in (FindingsChanged, ScoreChanged)]).lower()
    for meaning_a_definitions in ("definition_revision", "definition revision", "revision of the project definition"):
        schemas = schemas.replace(meaning_a_definitions, "")
    assert "revision" not in schemas
