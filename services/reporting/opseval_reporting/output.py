"""The files of an evaluation, as bytes: same result, same bytes."""

from __future__ import annotations

import json

from opseval_shared.project import ProjectDefinition
from opseval_shared.results import EvaluationResult

from .content import build_report
from .render import to_html, to_markdown


def _json(data: object) -> bytes:
    return (json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False) + "\n").encode("utf-8")


def scores_document(result: EvaluationResult) -> dict[str, object]:
    doc = result.model_dump(mode="json", exclude={"findings"}, exclude_none=True)
    return doc


def findings_document(result: EvaluationResult) -> list[dict[str, object]]:
    return [f.model_dump(mode="json") for f in result.findings]


def render_files(result: EvaluationResult, definition: ProjectDefinition) -> dict[str, bytes]:
    report = build_report(result, definition)
    return {
        "scores.json": _json(scores_document(result)),
        "findings.json": _json(findings_document(result)),
        "report.md": to_markdown(report).encode("utf-8"),
        "report.html": to_html(report).encode("utf-8"),
    }
