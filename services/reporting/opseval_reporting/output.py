"""The files of an evaluation, as bytes: same result, same bytes."""

from __future__ import annotations

import gc
import json
import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import orjson
from opseval_shared.evidence_apart import reference, referenced
from opseval_shared.messaging import evidence_counts, indicators_without_evidence
from opseval_shared.project import ProjectDefinition
from opseval_shared.results import EvaluationResult

from .content import Edition, build_report
from .render import to_html, to_markdown

log = logging.getLogger(__name__)
_MARK = "@@evidence@@"  # '@' cannot occur in an event id


def to_json(data: Any, referred: Sequence[Sequence[str]] = ()) -> list[bytes]:
    """Indented JSON whose `evidence` id lists sit on one line each.

    A year of a building cites hundreds of thousands of ids: one per line would make the files
    several times larger, and the standard encoder takes seconds over them; orjson does not.
    Returned as chunks, written one after the other, so the file is never copied whole in memory.
    `referred`: the lists an evidence reference of `data` stands for (see `evidence_apart.referenced`),
    each written where it is referred to, and encoded once however often.
    """
    lists: list[bytes] = []
    encoded: dict[int, bytes] = {}

    def hoist(node: Any) -> Any:
        if isinstance(node, dict):
            out = {}
            for key, value in node.items():
                if key == "evidence" and isinstance(value, list):
                    k = reference(value) if referred else None
                    if k is None:
                        lists.append(orjson.dumps(value))
                    else:
                        if k not in encoded:
                            encoded[k] = orjson.dumps(tuple(referred[k]))
                        lists.append(encoded[k])
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


def scores_document(result: EvaluationResult, counts_only: bool = False) -> dict[str, Any]:
    """scores.json; `counts_only`: without the leaves' evidence ids, with how many each cites in
    `evidence_counts` (what a view of the tree needs: the ids are 67 MB at a million events)."""
    if not counts_only:
        return result.model_dump(mode="json", exclude={"findings"}, exclude_none=True)
    stripped = result.model_copy(update={"indicators": indicators_without_evidence(result.indicators)})
    return {**scores_document(stripped), "evidence_counts": evidence_counts(result.indicators)}


def findings_document(result: EvaluationResult) -> list[dict[str, Any]]:
    return [f.model_dump(mode="json") for f in result.findings]


class PdfUnavailable(RuntimeError):
    """WeasyPrint cannot run: its Debian libraries (Pango) are missing."""


def pdf_available() -> bool:
    try:
        from .pdf import load_weasyprint

        load_weasyprint()  # loads Pango
    except (ImportError, OSError):
        return False
    return True


def pdf_bytes(
    result: EvaluationResult,
    definition: ProjectDefinition,
    edition: Edition | None = None,
    figures: list[tuple[str, str, bytes]] | None = None,
) -> bytes:
    try:
        from .pdf import report_pdf

        return report_pdf(result, definition, edition, figures)
    except (ImportError, OSError) as exc:  # WeasyPrint loads Pango when first used
        raise PdfUnavailable(
            "report.pdf needs WeasyPrint's libraries: apt-get install libpango-1.0-0 libpangoft2-1.0-0 "
            f"libharfbuzz-subset0 fonts-noto-cjk ({exc})"
        ) from exc


_held = 0  # how many renderings hold full collections back
_held_lock = threading.Lock()
_threshold2 = 0


@contextmanager
def _full_collections_held() -> Iterator[None]:
    """No full (generation 2) garbage collection while the office documents render; the younger
    generations are still collected.

    WeasyPrint's layout makes hundreds of thousands of objects that live until the PDF is written, and
    each full pass over them reclaims next to nothing: 0.15-0.2 s of CPU of the Dongguan documents
    (7 MB more peak memory without them). Concurrent renderings share the hold; the last one out
    restores the threshold."""
    global _held, _threshold2
    with _held_lock:
        if _held == 0:
            g0, g1, _threshold2 = gc.get_threshold()
            gc.set_threshold(g0, g1, max(_threshold2, 1_000_000))
        _held += 1
    try:
        yield
    finally:
        with _held_lock:
            _held -= 1
            if _held == 0:
                g0, g1, _ = gc.get_threshold()
                gc.set_threshold(g0, g1, _threshold2)


def render_files(
    result: EvaluationResult, definition: ProjectDefinition, documents: bool = True, edition: Edition | None = None
) -> dict[str, list[bytes]]:
    """Each output file as the chunks of its bytes. `documents=False` leaves out the office
    documents (DOCX, XLSX, PDF): their cost does not grow with the evidence, and a scale benchmark
    of the evaluation itself should not be dominated by it. `edition`: rendered from a finalised
    version, whose number and 定稿日期 the documents state."""
    report = build_report(result, definition, edition)
    # The documents made with each long evidence list as a reference: the lists are encoded once,
    # not copied into a dict of Python lists first (2.6 million ids at a million events).
    skeleton, referred = referenced(result)
    files = {
        "scores.json": to_json(scores_document(skeleton), referred),
        "findings.json": to_json(findings_document(skeleton), referred),
        "report.md": [to_markdown(report).encode("utf-8")],
        "report.html": [to_html(report).encode("utf-8")],
    }
    if not documents:
        return files
    # Imported here: the office libraries (python-docx, docxtpl, XlsxWriter) take
    # about a second to import, which a core-only evaluation should not pay.
    from .charts import figures
    from .docx import report_docx
    from .selfeval_docx import selfeval_docx
    from .xlsx import scores_xlsx, selfeval_xlsx

    with _full_collections_held():
        drawn = figures(result)  # once, for the Word and the PDF report
        files["report.docx"] = [report_docx(result, definition, edition=edition, figures=drawn)]
        files["scores.xlsx"] = [scores_xlsx(result, definition, edition)]
        try:
            files["report.pdf"] = [pdf_bytes(result, definition, edition, drawn)]
        except PdfUnavailable as exc:
            log.warning("%s", exc)
        selfeval = selfeval_xlsx(result, definition, edition)
        if selfeval is not None:
            files["selfeval.xlsx"] = [selfeval]
        selfeval_word = selfeval_docx(result, definition, edition)
        if selfeval_word is not None:
            files["selfeval.docx"] = [selfeval_word]
    return files


# The file each format of the results API is, and which of them are office documents (seconds each).
DOCUMENT_FILES = {
    "html": "report.html",
    "md": "report.md",
    "scores": "scores.json",
    "findings": "findings.json",
    "docx": "report.docx",
    "xlsx": "scores.xlsx",
    "pdf": "report.pdf",
    "selfeval.xlsx": "selfeval.xlsx",
    "selfeval.docx": "selfeval.docx",
}
OFFICE_FORMATS = {"docx", "xlsx", "pdf", "selfeval.xlsx", "selfeval.docx"}


def render_document(
    result: EvaluationResult, definition: ProjectDefinition, format: str, edition: Edition | None = None
) -> bytes | None:
    """One document in one of DOCUMENT_FILES' formats, or None when there is none (the 自评表 of an
    evaluation that is not a self-evaluation, a PDF without its libraries). Only the document asked
    for is rendered: a read of the Word report should not pay for the PDF."""
    if format == "scores":
        return b"".join(to_json(scores_document(result)))
    if format == "findings":
        return b"".join(to_json(findings_document(result)))
    if format not in OFFICE_FORMATS:
        return b"".join(render_files(result, definition, documents=False, edition=edition)[DOCUMENT_FILES[format]])
    from .docx import report_docx
    from .selfeval_docx import selfeval_docx
    from .xlsx import scores_xlsx, selfeval_xlsx

    if format == "docx":
        return report_docx(result, definition, edition=edition)
    if format == "xlsx":
        return scores_xlsx(result, definition, edition)
    if format == "selfeval.xlsx":
        return selfeval_xlsx(result, definition, edition)
    if format == "selfeval.docx":
        return selfeval_docx(result, definition, edition)
    try:
        with _full_collections_held():
            return pdf_bytes(result, definition, edition)
    except PdfUnavailable as exc:
        log.warning("%s", exc)
        return None
