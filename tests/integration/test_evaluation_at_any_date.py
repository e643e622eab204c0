"""Evaluation at any date (issue 10): what is not due yet is pending, never 0; no finding names a duty
not yet due; no leaf earns points from no evidence; the forecast and the timeline meet the result at
the period's end. The examples at several dates, and hypothesis over random as-of dates."""

from __future__ import annotations

import io
import random
import re
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from functools import cache
from pathlib import Path

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook  # type: ignore[import-untyped]
from opseval_intake.bundle import iter_lines, parse_line
from opseval_reporting.content import build_report
from opseval_reporting.pipeline import evaluate_ledger, evaluate_series, month_ends
from opseval_reporting.render import to_markdown
from opseval_reporting.xlsx import scores_xlsx
from opseval_shared.base import DateRange
from opseval_shared.evidence import Evidence, parse_evidence_json
from opseval_shared.ledger import Ledger, fold_all
from opseval_shared.metrics import MetricContext
from opseval_shared.project import ProjectDefinition
from opseval_shared.results import EvaluationResult, ScoredIndicator

from opseval.embedded import bundle_series, evaluate_bundle, evaluate_bundle_series, fold_bundle

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
TOTALS = {
    "dongguan-2022": Decimal("81.415"),
    "urumqi-2023": Decimal("97.98"),
    "guangzhou-2021": Decimal("99"),
    "guangzhou-2023": Decimal("100"),
    "service-centre-2024": Decimal("74.86"),
}


@cache
def loaded(name: str) -> tuple[ProjectDefinition, tuple[Evidence, ...]]:
    definition = fold_bundle(EXAMPLES / name).definition  # the bundle is valid
    return definition, tuple(parse_line(raw) for raw in iter_lines(EXAMPLES / name))


def ledger_at(name: str, as_of: date, keep: Callable[[Evidence], bool] | None = None) -> Ledger:
    definition, events = loaded(name)
    ledger = Ledger(definition, as_of)
    for event in events:
        if keep is None or keep(event):
            ledger.add(event)
    return ledger


@cache
def evaluated(name: str, as_of: date | None = None) -> EvaluationResult:
    definition, _ = loaded(name)
    return evaluate_ledger(ledger_at(name, as_of or definition.project.evaluation.default_as_of))


def leaves(nodes: tuple[ScoredIndicator, ...]) -> dict[str, ScoredIndicator]:
    out: dict[str, ScoredIndicator] = {}
    for n in nodes:
        out.update(leaves(n.children) if n.children else {n.id: n})
    return out


# ---------------------------------------------------------------- the invariants, on any result


def assert_nothing_from_no_evidence(result: EvaluationResult, definition: ProjectDefinition) -> None:
    """A pending or evidence-less leaf earns nothing; a measured leaf with points cites evidence;
    no leaf earns more than the weight assessable; assessable and pending weight make the whole."""
    methods = {n.id: n.method.type for n in definition.indicators.leaves() if n.method is not None}
    for leaf in leaves(result.indicators).values():
        assert leaf.assessable is not None and Decimal(0) <= leaf.assessable <= leaf.weight, leaf.id
        assert leaf.score <= leaf.assessable, (leaf.id, leaf.score, leaf.assessable)
        if leaf.status in ("pending", "no_evidence"):
            assert leaf.score == 0, (leaf.id, leaf.status, leaf.score)
        if leaf.score > 0:
            assert leaf.status in ("scored", "partial"), (leaf.id, leaf.status)
        # A measured leaf earning points cites its evidence; a deduction's 0 of a count over records
        # examined (no late arrival among the clock-ins) cites the records counted: none.
        if leaf.score > 0 and methods[leaf.id] not in ("checklist", "judgment", "deduction", "sla"):
            assert leaf.evidence, (leaf.id, leaf.explanation)
    weight = sum((t.weight for t in result.indicators), Decimal(0))
    assert result.assessable is not None and result.pending is not None
    assert result.assessable + result.pending == weight
    assert result.total <= result.assessable


def assert_no_finding_on_a_duty_not_yet_due(result: EvaluationResult, ledger: Ledger) -> None:
    ctx = MetricContext(ledger)
    contracts = {c.id: c for c in ledger.definition.contracts.contracts}
    for f in result.findings:
        contract = contracts.get(f.contract or "")
        if contract is not None and not ctx.service_started(contract):
            assert f.basis and all(b.kind == "clause" for b in f.basis), (result.as_of, f.rule, f.message)
        if f.rule == "survey.coverage_gap":
            assert contract is not None
            assert any(ctx.survey_due(contract, i) for i in range(len(contract.surveys))), f.message
        if f.rule == "deliverable.below_target":
            assert contract is not None
            short = [
                row.name
                for row in contract.performance_targets
                if row.deliverable is not None
                and row.value is not None
                and ctx.deliverable(contract, row.deliverable).delivered_units
                < ctx.target_due(contract, row.deliverable, row.value)
            ]
            assert short and all(name in f.message for name in short), (result.as_of, f.message)


# ---------------------------------------------------------------- at the period's end


@pytest.mark.parametrize("name", sorted(TOTALS))
def test_at_the_period_end_the_examples_keep_their_totals_every_leaf_scored_and_the_forecast_is_the_result(
    name: str,
) -> None:
    result = evaluated(name)
    assert result.total == TOTALS[name]
    assert {leaf.status for leaf in leaves(result.indicators).values()} == {"scored"}
    assert (result.assessable, result.pending) == (Decimal(100), Decimal(0))
    assert result.forecast is not None
    assert (result.forecast.total, result.forecast.low, result.forecast.high) == (result.total,) * 3
    assert result.forecast.grade == result.grade
    assert not any("待评" in w for w in result.warnings)
    assert_nothing_from_no_evidence(result, loaded(name)[0])


def test_the_timelines_last_point_is_the_result_and_the_rest_are_month_ends() -> None:
    definition, events = loaded("guangzhou-2021")
    result = evaluated("guangzhou-2021")
    points = evaluate_series(definition, events, result.as_of)
    assert [p.as_of for p in points[:-1]] == [date(2021, m, 1) + timedelta(days=-1) for m in range(2, 13)] + [
        date(2021, 12, 31)
    ]
    last = points[-1]
    assert (last.as_of, last.total, last.grade, last.assessable, last.findings) == (
        result.as_of,
        result.total,
        result.grade,
        result.assessable,
        len(result.findings),
    )
    assessable = [p.assessable for p in points]
    assert assessable == sorted(assessable)  # more falls due, and is judged, as the year goes on


def test_the_timeline_folded_once_in_time_order_equals_each_month_end_evaluated_afresh() -> None:
    definition, events = loaded("service-centre-2024")
    points = evaluate_series(definition, events, definition.project.evaluation.default_as_of)
    for point in points:
        fresh = evaluated("service-centre-2024", point.as_of)
        assert (point.total, point.grade, point.assessable, point.pending, point.findings) == (
            fresh.total,
            fresh.grade,
            fresh.assessable,
            fresh.pending,
            len(fresh.findings),
        ), point.as_of


def test_the_timeline_takes_a_late_retraction_and_sets_aside_an_unresolved_event_as_the_evaluation_does() -> None:
    """A retraction recorded after the month its event was folded in, and a stored event of a plan
    the definition no longer has (the results API serves such a store): the last point is still the
    evaluation of the same events (fold_all), not the retracted event's score nor an error."""
    definition, events = loaded("dongguan-2022")
    as_of = definition.project.evaluation.default_as_of
    victim = next(e for e in sorted(events, key=lambda e: e.occurred_at) if e.kind.value == "budget_calculation")
    late = max(e.recorded_at for e in events).isoformat()
    retraction = {"event": victim.id, "reason": "录入错误"}
    stamps = {"project": victim.project, "occurred_at": late, "recorded_at": late, "source": "evaluator"}
    added = [
        parse_evidence_json(orjson.dumps({"id": "retract-1", "kind": "retraction", "payload": retraction, **stamps})),
        parse_evidence_json(
            orjson.dumps(
                {
                    "id": "typo-1",
                    "contract": "ops",
                    "kind": "inspection_done",
                    "payload": {"plan": "monthly_inspectoin", "items": 1},
                    **stamps,
                }
            )
        ),
    ]
    ledger, unresolved = fold_all(definition, as_of, lambda: (*events, *added))
    assert list(unresolved) == ["typo-1"]
    expected = evaluate_ledger(ledger)
    assert expected.total != TOTALS["dongguan-2022"]  # the retraction changes the score
    last = evaluate_series(definition, (*events, *added), as_of)[-1]
    assert (last.total, last.grade, last.findings) == (expected.total, expected.grade, len(expected.findings))


def test_month_ends_stop_at_the_as_of_date_and_end_with_it() -> None:
    year = DateRange(start=date(2022, 1, 1), end=date(2022, 12, 31))
    assert month_ends(year, date(2022, 3, 15)) == [date(2022, 1, 31), date(2022, 2, 28), date(2022, 3, 15)]
    assert month_ends(year, date(2022, 2, 28)) == [date(2022, 1, 31), date(2022, 2, 28)]
    assert month_ends(year, date(2021, 12, 1)) == [date(2021, 12, 1)]
    assert month_ends(year, date(2023, 5, 31))[-2:] == [date(2022, 12, 31), date(2023, 5, 31)]


# ---------------------------------------------------------------- inside the period


def test_an_unprorated_target_is_quoted_as_the_table_writes_it_also_inside_the_period() -> None:
    # the part due by October is what a shortfall is measured against, not how the table is worded
    result = evaluated("dongguan-2022", date(2022, 10, 31))
    unprorated = [f for f in result.findings if f.rule == "targets.not_prorated"]
    assert unprorated and "“月度报告≥12”（折算后约 4）" in " ".join(f.message for f in unprorated)
    assert not [f for f in unprorated if "截至评价基准日应达" in f.message]


def test_dongguan_in_october_leaves_unmade_judgments_pending_and_counts_only_duties_due() -> None:
    result = evaluated("dongguan-2022", date(2022, 10, 31))
    by_id = leaves(result.indicators)
    archives = by_id["archives"]  # a judgment not made yet: pending, never "无评价记录，得 0 分"
    assert (archives.status, archives.assessable, archives.actual) == ("pending", 0, "待评")
    assert "得 0 分" not in (by_id["basis"].explanation or "")
    # the half-year and annual analyses are not due in October: 2 of 3 due duties met, not 14 of 15
    assert by_id["operation_output"].actual == "2/3 = 66.67%"
    assert by_id["budget_adjustment"].status == "pending"  # no budget figure earns nothing
    assert result.pending is not None and result.pending > 50
    assert any("待评" in w and "不代表最终得分" in w for w in result.warnings)
    assert any(w.startswith("评价基准日（2022-10-31）早于评价期末（2022-12-31）") for w in result.warnings)
    rules = {f.rule for f in result.findings}
    assert "deliverable.below_target" not in rules  # monthly reports ≥12 is a year's target
    assert "survey.coverage_gap" not in rules  # the quarterly survey of the operation contract is not due
    f = result.forecast
    assert f is not None and f.low == result.total < f.total < f.high
    assert f.assumptions and f.leaves
    assert all(leaf.high >= leaf.projected >= leaf.low for leaf in f.leaves)


def test_mid_year_the_forecast_names_the_reports_still_due_and_the_points_they_recover() -> None:
    result = evaluated("service-centre-2024", date(2024, 6, 30))
    f = result.forecast
    assert f is not None
    reports = next(leaf for leaf in f.leaves if leaf.id == "report_timeliness")
    # June … December: June's report falls due in July, December's in January (a period of the year)
    assert reports.action == "按时提交剩余 7 份运维服务月报"
    assert reports.projected == leaves(result.indicators)["report_timeliness"].score < reports.high
    assert reports.recoverable == reports.high - reports.projected > 0


def test_before_the_services_begin_only_the_documents_wording_is_found() -> None:
    result = evaluated("dongguan-2022", date(2022, 6, 30))
    assert not [f.rule for f in result.findings if f.rule.startswith(("staff.", "training.", "deliverable."))]
    assert_no_finding_on_a_duty_not_yet_due(result, ledger_at("dongguan-2022", date(2022, 6, 30)))


def test_inside_the_period_the_report_has_an_interim_chapter_and_the_score_sheet_a_status_column() -> None:
    definition, _ = loaded("dongguan-2022")
    result = evaluated("dongguan-2022", date(2022, 10, 31))
    md = to_markdown(build_report(result, definition))
    assert "## 中期评价：评价期末得分预测" in md
    assert re.search(r"可评权重24分，已得17\.91分；尚有权重76分待评", md)
    assert "| 项目档案管理规范性 | 待评 |" in md
    # the forecast table's numbers, each column with one count of decimals (not 0 beside 0.5 and 4.478)
    forecast = md[md.index("## 中期评价") : md.index("## ", md.index("## 中期评价") + 3)]
    rows = [line.split(" | ")[2:5] for line in forecast.splitlines() if line.startswith("| ") and "待评" in line]
    assert rows and all(len({len(r[c].partition(".")[2]) for r in rows}) == 1 for c in range(3))
    assert "| 项目档案管理规范性 | 待评 | 0.0 |" in forecast
    assert "“项目档案管理规范性”（权重3分）待评，暂不计分。评价组判定" in md
    assert "实际完成待评" not in md  # the head said 待评 already
    sheet = load_workbook(io.BytesIO(scores_xlsx(result, definition)))["指标得分"]
    assert sheet.cell(2, 7).value == "评价状态"
    statuses = {sheet.cell(r, 7).value for r in range(3, sheet.max_row)}
    assert {"待评", "部分已评"} <= statuses
    at_end = to_markdown(build_report(evaluated("dongguan-2022"), definition))
    assert "中期评价" not in at_end and "评价状态" not in at_end
    # the grade inside the period is stated as interim, in the report and in the workbook's note
    assert f"评定等级为“{result.grade}（阶段性）”" in md and f"等级为“{result.grade}（阶段性）”" in md
    assert any(f"“{result.grade}（阶段性）”" in str(c.value) for row in sheet.iter_rows() for c in row if c.value)
    assert "阶段性" not in at_end


# ---------------------------------------------------------------- property tests over random as-of dates

PROPERTY_EXAMPLES = ("dongguan-2022", "guangzhou-2021", "service-centre-2024")


def _as_of(name: str, offset: int) -> date:
    definition, _ = loaded(name)
    period = definition.project.evaluation.period
    last = definition.project.evaluation.default_as_of
    span = (last - period.start).days + 60
    return period.start - timedelta(days=60) + timedelta(days=offset % span)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(PROPERTY_EXAMPLES), offset=st.integers(0, 10_000), seed=st.integers(0, 2**32))
def test_adding_evidence_never_lowers_the_weight_assessable(name: str, offset: int, seed: int) -> None:
    as_of = _as_of(name, offset)
    chooser = random.Random(seed)
    dropped = {e.id for e in loaded(name)[1] if chooser.random() < 0.5}
    fewer = evaluate_ledger(ledger_at(name, as_of, lambda e: e.id not in dropped))
    full = evaluated(name, as_of)
    assert fewer.assessable is not None and full.assessable is not None
    assert fewer.assessable <= full.assessable, (as_of, fewer.assessable, full.assessable)
    by_leaf = leaves(full.indicators)
    for leaf_id, leaf in leaves(fewer.indicators).items():
        assert (leaf.assessable or 0) <= (by_leaf[leaf_id].assessable or 0), (as_of, leaf_id)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(PROPERTY_EXAMPLES), offset=st.integers(0, 10_000))
def test_at_any_date_nothing_is_earned_from_no_evidence_and_no_duty_is_found_before_it_is_due(
    name: str, offset: int
) -> None:
    as_of = _as_of(name, offset)
    result = evaluated(name, as_of)
    assert_nothing_from_no_evidence(result, loaded(name)[0])
    assert_no_finding_on_a_duty_not_yet_due(result, ledger_at(name, as_of))
    f = result.forecast
    assert f is not None and f.low <= f.total <= f.high
    assert f.low >= 0 and f.high <= 100


def test_the_timeline_sets_aside_a_stored_event_whose_reference_no_longer_resolves_as_the_evaluation_does() -> None:
    # A fleet's store may hold an event accepted under an earlier definition: the evaluation sets it
    # aside (fold_all), and the timeline must too, rather than fail on it.
    definition, events = loaded("service-centre-2024")
    first = next(e for e in events if e.kind == "inspection_done")
    orphan = first.model_copy(
        update={"id": "orphan-check", "payload": first.payload.model_copy(update={"plan": "plan-since-removed"})}
    )
    as_of = date(2024, 3, 31)
    with_orphan = evaluate_series(definition, (*events, orphan), as_of)
    assert with_orphan == evaluate_series(definition, events, as_of)


@pytest.mark.parametrize(
    ("name", "as_of"),
    [
        ("dongguan-2022", date(2022, 10, 31)),
        ("dongguan-2022", None),
        ("urumqi-2023", date(2023, 6, 15)),
        ("guangzhou-2021", None),
        ("guangzhou-2023", date(2023, 2, 28)),
        ("service-centre-2024", None),
    ],
)
def test_the_timeline_read_once_equals_the_evaluation_and_each_month_end_folded_again(
    name: str, as_of: date | None
) -> None:
    """evaluate_bundle_series folds each event once into its month and absorbs the months: its result
    is evaluate_bundle's, and its points are those of the events kept and folded per month-end."""
    result, definition, points = evaluate_bundle_series(EXAMPLES / name, as_of)
    kept: list[Evidence] = []
    expected, _ = evaluate_bundle(EXAMPLES / name, as_of, keep=kept)
    assert result == expected
    assert points == bundle_series(kept, definition, expected.as_of)
    assert points[-1].total == result.total
