"""`document_ref` points into the upstream document system, never out of it.

The rule lives in the domain model, so every way evidence comes in (HTTP intake, NATS consumers,
bundles) refuses the same references with the same message at `payload.document_ref`.
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from opseval_shared.evidence import DeliverableSubmitted, DocumentRef, check_document_ref, parse_evidence_json
from pydantic import TypeAdapter, ValidationError

DOCUMENT_REF: TypeAdapter[str] = TypeAdapter(DocumentRef)


def event(document_ref: str) -> dict[str, Any]:
    return {
        "id": "ev-1",
        "kind": "deliverable_submitted",
        "project": "demo-2023",
        "occurred_at": "2023-01-09T10:00:00+08:00",
        "recorded_at": "2023-01-09T10:00:00+08:00",
        "source": "doc-system",
        "payload": {"deliverable": "weekly_report", "title": "运维周报", "document_ref": document_ref},
    }


VALID = [
    "OA-WR-20230101",
    "KO-1",
    "SUM-2023H2",
    "YY-ZD-V2",
    "docs/2023/周报-01.pdf",
    "docs/2023/运维 周报 01.pdf",
    "./docs/a.pdf",
    "report..final.pdf",
    "https://oa.example.gov.cn/docs/2023/weekly-01.pdf",
    "https://oa.example.gov.cn/view?id=WR-20230101#page=2",
    "http://10.1.2.3:8080/doc/123",
    "https://[fd00::1]:8443/doc/123",
    "HTTPS://OA.EXAMPLE.GOV.CN/DOC",
    "docs/%E5%91%A8%E6%8A%A5.pdf",
]

# (reference, what the message must say)
REFUSED = [
    ("/etc/passwd", "absolute path"),
    ("/", "absolute path"),
    ("//server/share/x.pdf", "absolute path"),
    ("C:\\Windows\\win.ini", "absolute path"),
    ("C:/Windows/win.ini", "absolute path"),
    ("c:win.ini", "absolute path"),
    ("\\\\server\\share\\x.pdf", "absolute path"),
    ("\\x.pdf", "absolute path"),
    ("..", "'..' path segment"),
    ("../x", "'..' path segment"),
    ("a/../../b", "'..' path segment"),
    ("docs/..", "'..' path segment"),
    ("..\\x", "'..' path segment"),
    ("a\\..\\..\\b", "'..' path segment"),
    ("docs\\2023\\a.pdf", "backslash"),
    ("a\x00b", "U+0000"),
    ("docs/a.pdf\x00.txt", "U+0000"),
    ("a\nb", "U+000A"),
    ("a\rb", "U+000D"),
    ("a\tb", "U+0009"),
    ("a\x1bb", "U+001B"),
    ("a\x7fb", "U+007F"),
    ("a\x85b", "U+0085"),
    ("report\u202efdp.exe", "U+202E"),
    ("a\u2028b", "U+2028"),
    ("file:///etc/passwd", "URL scheme 'file:'"),
    ("FILE:///etc/passwd", "URL scheme 'file:'"),
    ("javascript:alert(1)", "URL scheme 'javascript:'"),
    ("data:text/html,<script>alert(1)</script>", "URL scheme 'data:'"),
    ("smb://server/share/x.pdf", "URL scheme 'smb:'"),
    ("ftp://example.com/x.pdf", "URL scheme 'ftp:'"),
    ("https:///etc/passwd", "not a valid https URL"),
    ("https:/etc/passwd", "not a valid https URL"),
    ("http:x", "not a valid http URL"),
    ("https://oa.example.gov.cn/../../etc/passwd", "'..' path segment"),
    ("https://oa.example.gov.cn\\..\\x", "'..' path segment"),
    ("https://oa.example.gov.cn/a\nb", "U+000A"),
    ("docs/%2e%2e/%2e%2e/etc/passwd", "'..' path segment (percent-encoded)"),
    ("https://oa.example.gov.cn/a/%2E%2E%2F%2E%2E%2Fetc", "'..' path segment (percent-encoded)"),
    ("%2Fetc%2Fpasswd", "absolute path (percent-encoded)"),
    ("docs%5Ca.pdf", "backslash (percent-encoded)"),
    ("docs/a.pdf%00.txt", "U+0000 (percent-encoded)"),
    ("docs/\uff0e\uff0e/etc/passwd", "'..' path segment (written with look-alike characters)"),
    ("docs\uff3c2023", "backslash (written with look-alike characters)"),
]


@pytest.mark.parametrize("ref", VALID)
def test_ids_relative_paths_and_web_urls_are_valid_document_references(ref: str) -> None:
    assert check_document_ref(ref) == ref
    assert DOCUMENT_REF.validate_python(ref) == ref
    parsed = parse_evidence_json(json.dumps(event(ref), ensure_ascii=False))
    assert isinstance(parsed, DeliverableSubmitted)
    assert parsed.payload.document_ref == ref


@pytest.mark.parametrize(("ref", "says"), REFUSED, ids=[repr(r)[:40] for r, _ in REFUSED])
def test_a_document_reference_leading_out_of_the_document_system_is_refused_saying_why(ref: str, says: str) -> None:
    with pytest.raises(ValueError, match=r"^document reference") as caught:
        check_document_ref(ref)
    assert says in str(caught.value)


@pytest.mark.parametrize(("ref", "says"), REFUSED, ids=[repr(r)[:40] for r, _ in REFUSED])
def test_an_event_with_a_refused_document_reference_fails_validation_at_payload_document_ref(
    ref: str, says: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        parse_evidence_json(json.dumps(event(ref)))
    errors = caught.value.errors(include_url=False)
    assert len(errors) == 1
    assert errors[0]["loc"] == ("deliverable_submitted", "payload", "document_ref")
    assert says in errors[0]["msg"]


def test_the_model_refuses_a_traversal_also_when_built_in_python_not_only_from_json() -> None:
    with pytest.raises(ValidationError, match=re.escape("'..' path segment")):
        DeliverableSubmitted.model_validate(event("../../etc/passwd"))


def test_the_length_limits_of_a_document_reference_still_apply() -> None:
    with pytest.raises(ValidationError, match="at least 1 character"):
        DOCUMENT_REF.validate_python("")
    with pytest.raises(ValidationError, match="at most 500 characters"):
        DOCUMENT_REF.validate_python("a/" * 251)
