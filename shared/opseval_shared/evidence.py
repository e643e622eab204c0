"""Evidence events (佐证材料): the envelope every upstream system sends, and one payload per kind.

An event is immutable and identified by `id`, the idempotency key: the same id sent twice is
one event. Upstream systems own `occurred_at` (when it happened) and `recorded_at` (when their
system registered it, e.g. when an inspection was entered into the log).
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal, get_args

from pydantic import AfterValidator, AwareDatetime, Field, TypeAdapter, ValidationInfo, field_validator, model_validator
from pydantic_core import ErrorDetails

from .base import Frozen, NonNegNum, Num, field_path

EventId = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:\-/]*$")]
Slug = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_\-.]*$")]
# No control characters but tab and line breaks: they mean nothing in evidence, and the XML of the
# Word and Excel documents cannot hold them.
NO_CONTROL_CHARACTERS = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]*$"
Text = Annotated[str, Field(min_length=1, max_length=500, pattern=NO_CONTROL_CHARACTERS)]
Line = Annotated[str, Field(max_length=2000, pattern=NO_CONTROL_CHARACTERS)]  # optional text, may be empty

# ---------------------------------------------------------------- document references

_PLAIN_REF = re.compile(r"[A-Za-z0-9][A-Za-z0-9_\-.]*")  # "OA-WR-20230101": nothing more to check
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")  # "https:", "file:", "javascript:", and "C:" too
# scheme://[user@]host[:port], then a path, query or fragment (or nothing)
_WEB_URL = re.compile(
    r"https?://(?:[^/?#@]*@)?(?:\[[0-9A-Fa-f:.]+\]|[^/?#:@\[\]]+)(?::[0-9]*)?(?:[/?#]|$)", re.IGNORECASE
)
_PERCENT = re.compile(rb"%([0-9A-Fa-f]{2})")
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})  # control, format (bidi overrides …), separators


def _refuse_path_tricks(text: str, how: str, *, may_be_absolute: bool = False) -> None:
    """Raise if `text` has a control character, is an absolute path, or has a `..` segment or a backslash."""
    for char in text:
        if unicodedata.category(char) in _UNSAFE_CATEGORIES:
            raise ValueError(f"document reference contains the control or invisible character U+{ord(char):04X}{how}")
    if not may_be_absolute and (text.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", text)):
        raise ValueError(f"document reference is an absolute path{how}; use a path relative to the document system")
    if ".." in re.split(r"[/\\]", text):
        raise ValueError(f"document reference contains a '..' path segment{how}")
    if "\\" in text:
        raise ValueError(f"document reference contains a backslash{how}; separate path segments with '/'")


def _percent_decoded(text: str) -> str:
    if "%" not in text:
        return text
    raw = _PERCENT.sub(lambda m: bytes([int(m.group(1), 16)]), text.encode("utf-8", "surrogatepass"))
    return raw.decode("utf-8", "replace")


def check_document_ref(value: str) -> str:
    """A reference to a document in the upstream document system, never a way out of it.

    Accepted: an id ("OA-WR-20230101"), a relative path with `/` separators ("docs/2023/周报-01.pdf")
    or an http(s) URL with a host. Refused: absolute paths, `..` segments, backslashes, control
    characters (also percent-encoded or as full-width look-alikes) and any other URL scheme
    (`file:`, `javascript:` …).
    """
    if _PLAIN_REF.fullmatch(value):
        return value
    path, is_url = value, False
    scheme = _SCHEME.match(value)
    if scheme is not None and len(scheme.group(1)) > 1:  # one letter is a drive ("C:"), refused as a path below
        name = scheme.group(1).lower()
        if name not in ("http", "https"):
            raise ValueError(f"document reference has the URL scheme '{name}:'; only http and https URLs are accepted")
        if not _WEB_URL.match(value):
            raise ValueError(f"document reference is not a valid {name} URL (expected {name}://host/…)")
        path, is_url = value[scheme.end() :], True  # "//host:port/path…", checked like a path, host and all
    decoded = _percent_decoded(path)
    for text, how in (
        (path, ""),
        (decoded, " (percent-encoded)"),
        (unicodedata.normalize("NFKC", decoded), " (written with look-alike characters)"),
    ):
        _refuse_path_tricks(text, how, may_be_absolute=is_url)
    return value


# A reference to a document (`document_ref`), checked so it cannot point outside the document system.
DocumentRef = Annotated[str, Field(min_length=1, max_length=500), AfterValidator(check_document_ref)]


class EvidenceKind(StrEnum):
    ROSTER_ENTRY = "roster_entry"
    CLOCK_IN = "clock_in"
    DELIVERABLE_SUBMITTED = "deliverable_submitted"
    INSPECTION_DONE = "inspection_done"
    TRAINING_HELD = "training_held"
    INCIDENT = "incident"
    TICKET_VOLUME = "ticket_volume"
    SURVEY_RESPONSE = "survey_response"
    BUDGET_FIGURE = "budget_figure"
    UNIT_RATE = "unit_rate"
    BUDGET_CALCULATION = "budget_calculation"
    VENDOR_ASSESSMENT = "vendor_assessment"
    ACCEPTANCE_RESULT = "acceptance_result"
    ASSET_COUNT = "asset_count"
    JUDGMENT = "judgment"
    SELF_EVALUATION_ROW = "self_evaluation_row"
    RETRACTION = "retraction"


# ---------------------------------------------------------------- payloads


class RosterEntryPayload(Frozen):
    """One person actually on site (实际驻场人员), as the vendor's roster or HR system lists them."""

    name: Text
    role: Text
    education: Line | None = None
    years: NonNegNum | None = Field(default=None, description="years of relevant full-time experience")
    certificates: tuple[Line, ...] = ()
    fresh_graduate: bool = False
    on_site: bool = True


class ClockInPayload(Frozen):
    """One attendance clock record (打卡); occurred_at is the clock time."""

    staff: Text
    site: Line | None = None
    direction: Literal["in", "out"] = "in"


class DeliverableSubmittedPayload(Frozen):
    """A report or document delivered (周报, 月报, 方案 …); occurred_at is when it was submitted."""

    deliverable: Slug = Field(description="id of the deliverable term in the contract")
    title: Text
    period_start: date | None = None
    period_end: date | None = None
    document_ref: DocumentRef
    quantity: Annotated[int, Field(ge=1)] = 1
    sections: tuple[Line, ...] = Field(default=(), description="the document's outline, for near-duplicate checks")

    @model_validator(mode="after")
    def _period_ordered(self) -> DeliverableSubmittedPayload:
        if self.period_start and self.period_end and self.period_end < self.period_start:
            raise ValueError("period_end is before period_start")
        return self


class InspectionDonePayload(Frozen):
    """An inspection (巡检/晨检) performed; occurred_at when done, recorded_at when registered."""

    plan: Slug = Field(description="id of the inspection plan in the contract")
    asset_class: Line | None = None
    scope: Line | None = None
    items: Annotated[int, Field(ge=1)] = 1


class Attendee(Frozen):
    organisation: Text
    count: Annotated[int, Field(ge=0)]
    level: Line | None = Field(default=None, description="市 / 镇 / 村 … for coverage checks")


class TrainingHeldPayload(Frozen):
    topic: Text
    scope: Literal["city", "district", "town", "internal", "other"] = "other"
    units_covered: Annotated[int, Field(ge=0)] = 0
    attendees: tuple[Attendee, ...] = ()
    courseware: bool = False

    @property
    def attendee_count(self) -> int:
        return sum(a.count for a in self.attendees)


class IncidentPayload(Frozen):
    """A fault or incident ticket with its timestamps; occurred_at is when it was reported.

    A later event with the same ticket (a higher recorded_at) supersedes an earlier one, so a
    ticketing system may send the ticket as it is opened, reached and closed.
    """

    ticket: Text
    severity: Slug
    cause: Literal["internal", "external", "unknown"] = "unknown"
    system: Line | None = None
    title: Line = ""
    responded_at: AwareDatetime | None = None
    on_site_at: AwareDatetime | None = None
    resolved_at: AwareDatetime | None = None


class TicketVolumePayload(Frozen):
    period_start: date
    period_end: date
    category: Text
    count: Annotated[int, Field(ge=0)]


class SurveyResponsePayload(Frozen):
    survey: Slug
    group: Text = Field(description="respondent group, e.g. 使用单位 / 办事人 / 采购人")
    level: Line | None = Field(default=None, description="市 / 镇 / 村 where the duty names levels")
    respondent: Line | None = None
    satisfied: bool
    aspects: dict[str, bool] = Field(default_factory=dict)


class BudgetFigurePayload(Frozen):
    """A budget or fund figure in 万元. `adjustment` is signed (negative = 调减)."""

    item: Literal["approved", "adjustment", "arrived", "spent", "contract_price"]
    amount: Num = Field(description="万元")
    fiscal_year: Annotated[int, Field(ge=1990, le=2100)]
    note: Line = ""


class UnitRatePayload(Frozen):
    """A unit rate used to build the budget (万元/人月)."""

    module: Text
    rate: NonNegNum
    person_months: NonNegNum | None = None
    grade: Line | None = None


class BudgetCalculationPayload(Frozen):
    """A calculation written in a budget document, checked for arithmetic slips."""

    description: Text
    operation: Literal["product", "sum"]
    factors: tuple[Num, ...] = Field(min_length=2)
    stated_result: Num
    precision: Annotated[int, Field(ge=0, le=6)] = 2


class VendorAssessmentPayload(Frozen):
    """One rater's score on one item of a periodic vendor assessment (考核打分表)."""

    period_start: date
    period_end: date
    rater: Text
    item: Text
    score: NonNegNum
    max_score: Annotated[Num, Field(gt=0)]
    evidence_refs: tuple[DocumentRef, ...] = ()

    @model_validator(mode="after")
    def _score_within_max(self) -> VendorAssessmentPayload:
        if self.score > self.max_score:
            raise ValueError(f"score {self.score} exceeds max_score {self.max_score}")
        return self


class AcceptanceResultPayload(Frozen):
    """An acceptance (验收) of a service period."""

    period_start: date
    period_end: date
    score: NonNegNum | None = None
    passed: bool


class AssetCountPayload(Frozen):
    asset_class: Slug
    count: Annotated[int, Field(ge=0)]


class JudgmentPayload(Frozen):
    """An evaluator's judgment on a checklist point (评价要点) of an indicator, with the reason."""

    indicator: Slug
    point: Slug | None = None
    awarded: NonNegNum
    reason: Text
    evaluator: Line | None = None


class SelfEvaluationRowPayload(Frozen):
    """One row of a submitted self-evaluation form (绩效自评表)."""

    indicator: Text
    target: Line | None = None
    actual: Line | None = None
    claimed_rate: NonNegNum | None = Field(default=None, description="the rate the row claims, 0..1")
    weight: NonNegNum | None = None
    score: NonNegNum | None = None
    metric: Line | None = Field(default=None, description="optional link: the metric the claim is about")


class RetractionPayload(Frozen):
    """An event withdrawn (撤回): the evaluation goes on as if it had never been sent. The event of the
    retraction is kept, and shown beside the one it withdraws."""

    event: EventId = Field(description="id of the event withdrawn")
    reason: Text
    by: Line | None = Field(default=None, description="who withdrew it (a person, an evaluation team)")


# ---------------------------------------------------------------- envelope


class Correction(Frozen):
    """What an event corrects (更正): the evaluation uses it instead of the event it names, whose
    record is kept and shown beside it."""

    event: EventId = Field(description="id of the event this one replaces")
    reason: Text
    by: Line | None = Field(default=None, description="who corrected it (a person, an evaluation team)")


class _Envelope(Frozen):
    id: EventId
    project: Slug
    contract: Slug | None = Field(default=None, description="the contract within the project, if any")
    occurred_at: AwareDatetime
    recorded_at: AwareDatetime
    source: Text
    # Left out of the JSON when absent: an event's stored form (and its content hash) stays what it was.
    corrects: Correction | None = Field(
        default=None, description="the event this one supersedes, and why", exclude_if=lambda v: v is None
    )

    @field_validator("occurred_at", "recorded_at")
    @classmethod
    def _plausible_year(cls, value: datetime) -> datetime:
        if not 1990 <= value.year <= 2100:
            raise ValueError("year must be between 1990 and 2100")
        return value

    # Field validators (the id is validated before them), so that an error names the field.
    @field_validator("corrects")
    @classmethod
    def _corrects_another(cls, value: Correction | None, info: ValidationInfo) -> Correction | None:
        if value is not None and value.event == info.data.get("id"):
            raise ValueError("an event cannot correct itself: corrects.event names its own id")
        return value


class RosterEntry(_Envelope):
    kind: Literal[EvidenceKind.ROSTER_ENTRY]
    payload: RosterEntryPayload


class ClockIn(_Envelope):
    kind: Literal[EvidenceKind.CLOCK_IN]
    payload: ClockInPayload


class DeliverableSubmitted(_Envelope):
    kind: Literal[EvidenceKind.DELIVERABLE_SUBMITTED]
    payload: DeliverableSubmittedPayload


class InspectionDone(_Envelope):
    kind: Literal[EvidenceKind.INSPECTION_DONE]
    payload: InspectionDonePayload


class TrainingHeld(_Envelope):
    kind: Literal[EvidenceKind.TRAINING_HELD]
    payload: TrainingHeldPayload


class Incident(_Envelope):
    kind: Literal[EvidenceKind.INCIDENT]
    payload: IncidentPayload


class TicketVolume(_Envelope):
    kind: Literal[EvidenceKind.TICKET_VOLUME]
    payload: TicketVolumePayload


class SurveyResponse(_Envelope):
    kind: Literal[EvidenceKind.SURVEY_RESPONSE]
    payload: SurveyResponsePayload


class BudgetFigure(_Envelope):
    kind: Literal[EvidenceKind.BUDGET_FIGURE]
    payload: BudgetFigurePayload


class UnitRate(_Envelope):
    kind: Literal[EvidenceKind.UNIT_RATE]
    payload: UnitRatePayload


class BudgetCalculation(_Envelope):
    kind: Literal[EvidenceKind.BUDGET_CALCULATION]
    payload: BudgetCalculationPayload


class VendorAssessment(_Envelope):
    kind: Literal[EvidenceKind.VENDOR_ASSESSMENT]
    payload: VendorAssessmentPayload


class AcceptanceResult(_Envelope):
    kind: Literal[EvidenceKind.ACCEPTANCE_RESULT]
    payload: AcceptanceResultPayload


class AssetCount(_Envelope):
    kind: Literal[EvidenceKind.ASSET_COUNT]
    payload: AssetCountPayload


class Judgment(_Envelope):
    kind: Literal[EvidenceKind.JUDGMENT]
    payload: JudgmentPayload


class SelfEvaluationRow(_Envelope):
    kind: Literal[EvidenceKind.SELF_EVALUATION_ROW]
    payload: SelfEvaluationRowPayload


class Retraction(_Envelope):
    kind: Literal[EvidenceKind.RETRACTION]
    payload: RetractionPayload

    @field_validator("corrects")
    @classmethod
    def _corrects_nothing(cls, value: Correction | None) -> Correction | None:
        if value is not None:
            raise ValueError("a retraction withdraws the event its payload names; it corrects nothing itself")
        return value

    @field_validator("payload")
    @classmethod
    def _withdraws_another(cls, value: RetractionPayload, info: ValidationInfo) -> RetractionPayload:
        if value.event == info.data.get("id"):
            raise ValueError("an event cannot withdraw itself")
        return value


Evidence = Annotated[
    RosterEntry
    | ClockIn
    | DeliverableSubmitted
    | InspectionDone
    | TrainingHeld
    | Incident
    | TicketVolume
    | SurveyResponse
    | BudgetFigure
    | UnitRate
    | BudgetCalculation
    | VendorAssessment
    | AcceptanceResult
    | AssetCount
    | Judgment
    | SelfEvaluationRow
    | Retraction,
    Field(discriminator="kind"),
]

EVIDENCE_ADAPTER: TypeAdapter[Evidence] = TypeAdapter(Evidence)

# Each event class with its kind, for code that dispatches on the class (a C-level hash; the
# StrEnum's own hash is a Python call per event).
KIND_OF_CLASS: dict[type, EvidenceKind] = {
    cls: get_args(cls.model_fields["kind"].annotation)[0] for cls in get_args(get_args(Evidence)[0])
}


UNION_TAG_ERRORS = ("union_tag_invalid", "union_tag_not_found")  # an unknown or a missing kind


def error_field(err: ErrorDetails) -> str:
    """The field of an event a validation error is about ("payload.staff", "kind"; "" for the event
    as a whole), without the tag of the kind pydantic puts first for a member of the kinds' union."""
    if err["type"] in UNION_TAG_ERRORS:
        return "kind"
    loc = tuple(err["loc"])
    if loc and isinstance(loc[0], str) and loc[0] in EvidenceKind._value2member_map_:
        loc = loc[1:]
    return field_path(loc)


def parse_evidence_json(raw: str | bytes) -> Evidence:
    """Validate one JSON document as an evidence event (raises pydantic.ValidationError)."""
    return EVIDENCE_ADAPTER.validate_json(raw)
