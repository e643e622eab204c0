"""The files of an evaluation, as bytes: same result, same bytes."""

from __future__ import annotations

import json
from typing import Any

import orjson
from opseval_shared.project import ProjectDefinition
from opseval_shared.results import EvaluationResult

from .content import build_report
from .docx import report_docx
from .render import to_html, to_markdown
from .selfeval_docx import selfeval_docx
from .xlsx import scores_xlsx, selfeval_xlsx

_MARK = "@@evidence@@"  # '@' cannot occur in an event id


def to_json(data: Any) -> list[bytes]:
    """Indented JSON whose `evidence` id lists sit on one line each.

    A year of a building cites hundreds of thousands of ids: one per line would make the files
    several times larger, and the standard encoder takes seconds over them; orjson does not.
    Returned as chunks, written one after the other, so the file is never copied whole in memory.
    """
    lists: list[bytes] = []

    def hoist(node: Any) -> Any:
        if isinstance(node, dict):
            out = {}
            for key, value in node.items():
                if key == "evidence" and isinstance(value, list):
                    lists.append(orjson.dumps(value))
                    out[key] = _MARK
                else:
                    out[key] = hoist(value)
            return out
        if isinstance(node, list):
            return [hoist(item) for item in node]
        return node

    skeleton = json.dumps(hoist(data), ensure_ascii=False, indent=2).encode("utf-8")
    parts = skeleton.split(f'"{_MARK}"'.encode())
    chunks = [parts[0]]
    for listed, rest in zip(lists, parts[1:], strict=True):
        chunks += [listed, rest]
    chunks.append(b"\n")
    return chunks


def scores_document(result: EvaluationResult) -> dict[str, Any]:
    return result.model_dump(mode="json", exclude={"findings"}, exclude_none=True)


def findings_document(result: EvaluationResult) -> list[dict[str, Any]]:
    return [f.model_dump(mode="json") for f in result.findings]


def render_files(result: EvaluationResult, definition: ProjectDefinition) -> dict[str, list[bytes]]:
    """Each output file as the chunks of its bytes."""
    report = build_report(result, definition)
    files = {
        "scores.json": to_json(scores_document(result)),
        "findings.json": to_json(findings_document(result)),
        "report.md": [to_markdown(report).encode("utf-8")],
        "report.html": [to_html(report).encode("utf-8")],
        "report.docx": [report_docx(result, definition)],
        "scores.xlsx": [scores_xlsx(result, definition)],
    }
    selfeval = selfeval_xlsx(result, definition)
    if selfeval is not None:
        files["selfeval.xlsx"] = [selfeval]
    selfeval_word = selfeval_docx(result, definition)
    if selfeval_word is not None:
        files["selfeval.docx"] = [selfeval_word]
    return files
