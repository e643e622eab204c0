"""One use case for the CLI and the fleet (issue 14): the scoring service stores the full result
`opseval evaluate` computes, the results API serves reads at the default as-of date from it without
evaluating again, and a project evaluated as of today is evaluated again when the date moves."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any, cast

import opseval_infra.projects as projects_module
import opseval_scoring.evaluation as use_case
import opseval_shared.measures as measures_module
import pytest
from apikeys import bearer, issue_key
from fastapi.testclient import TestClient
from natsfixtures import nats_server
from opseval_infra.fleet import Fleet
from opseval_infra.projects import RESULT_KIND, DirtyProjects, LedgerCache
from opseval_infra.store.base import Snapshot, Store, StoredEvent, StoredProject
from opseval_infra.store.factory import opened_store
from opseval_intake.bundle import evidence_files, load_definition
from opseval_reporting.app import create_app
from opseval_reporting.output import findings_document, scores_document, to_json
from opseval_reporting.settings import ReportingSettings
from opseval_rules import service as rules_service
from opseval_scoring import service as scoring_service
from opseval_shared.evidence_apart import INLINE_BELOW, apart, joined
from opseval_shared.messaging import FindingsChanged, ScoreChanged, result_seq, without_evidence
from opseval_shared.results import EvaluationResult, ScoredIndicator
from opseval_shared.values import Measurement

from opseval.embedded import evaluate_bundle

DONGGUAN = Path(__file__).resolve().parents[2] / "examples" / "dongguan-2022"
PROJECT = "dongguan-2022"


def stored_events() -> list[StoredEvent]:
    lines = [ln for f in evidence_files(DONGGUAN) for ln in f.read_text(encoding="utf-8").splitlines() if ln.strip()]
    rows = [json.loads(ln) for ln in lines]
    return [StoredEvent(e["id"], e["project"], e["kind"], json.dumps(e, ensure_ascii=False)) for e in rows]


async def fill(store: Store) -> int:
    """The example's project and evidence stored as intake stores them; the number of events stored."""
    await store.put_project(StoredProject(PROJECT, "r1", load_definition(DONGGUAN).model_dump_json()))
    inserted = await store.add_events(stored_events())
    return sum(inserted)


class Published:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def publish(self, message: Any, **_: Any) -> None:
        self.messages.append(message)


def service_fleet(store: Store, today: date, service: str = "test") -> Fleet:
    """What rules' and scoring's `evaluate` use of a running service: its store, ledgers, publishers,
    and its name (its metrics' label)."""
    fleet = SimpleNamespace(
        settings=SimpleNamespace(service_name=service),
        store=store,
        ledgers=LedgerCache(store, today=lambda: today),
        results_out=Published(),
    )
    return cast(Fleet, fleet)


@pytest.fixture(scope="module")
def expected() -> EvaluationResult:
    return evaluate_bundle(DONGGUAN)[0]


@pytest.mark.parametrize(
    "today",
    [date(2026, 12, 4), date(2022, 12, 31)],
    ids=["after the period: as of its default date", "inside the period: as of today"],
)
def test_the_scoring_service_stores_the_result_opseval_evaluate_computes(tmp_path: Path, today: date) -> None:
    async def scenario() -> tuple[Snapshot | None, Snapshot | None, int]:
        async with opened_store(f"sqlite:///{tmp_path / 'store.db'}") as store:
            events = await fill(store)
            await rules_service.evaluate(service_fleet(store, today), PROJECT)
            await scoring_service.evaluate(service_fleet(store, today), PROJECT)
            return await store.get_snapshot(RESULT_KIND, PROJECT), await store.get_snapshot("scores", PROJECT), events

    result, scores, events = asyncio.run(scenario())
    assert result is not None and scores is not None
    assert result.seq == scores.seq == events * 10**9 + events
    stored = joined(result.body, EvaluationResult)
    expected, definition = evaluate_bundle(DONGGUAN, min(today, date(2023, 5, 31)))
    assert definition.project.evaluation.default_as_of == date(2023, 5, 31)
    assert stored.budget and stored.monthly and stored.documents and stored.forecast is not None  # every section
    if today < date(2023, 5, 31):
        assert any("待评" in w for w in stored.warnings)  # the pending warning, as the CLI says it
    assert stored == expected
    assert result.body == apart(expected)  # the bytes kept: the same result kept the same way
    assert stored.json_bytes() == expected.json_bytes()


def test_each_step_of_an_evaluation_is_timed_and_the_evaluate_steps_cpu_too(tmp_path: Path) -> None:
    """Where a round's time goes (`opseval_evaluation_step_seconds`), and how much of the
    evaluate step was its thread's CPU rather than waiting for the GIL (`opseval_evaluation_cpu_seconds`)."""
    from prometheus_client import REGISTRY

    def count(metric: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(f"{metric}_count", labels) or 0.0

    async def scenario() -> None:
        async with opened_store(f"sqlite:///{tmp_path / 'store.db'}") as store:
            await fill(store)
            await rules_service.evaluate(service_fleet(store, date(2026, 12, 4), "rules-steps"), PROJECT)
            await scoring_service.evaluate(service_fleet(store, date(2026, 12, 4), "scoring-steps"), PROJECT)

    asyncio.run(scenario())
    steps = "opseval_evaluation_step_seconds"
    for step in ("fold", "evaluate", "store", "publish"):
        assert count(steps, service="rules-steps", step=step) == 1, step
    for step in ("read", "fold", "evaluate", "store", "publish"):
        assert count(steps, service="scoring-steps", step=step) == 1, step
    assert count(steps, service="rules-steps", step="read") == 0  # (the rules read no other service's results)
    for service in ("rules-steps", "scoring-steps"):
        assert count("opseval_evaluation_cpu_seconds", service=service) == 1
        cpu = REGISTRY.get_sample_value("opseval_evaluation_cpu_seconds_sum", {"service": service}) or 0.0
        evaluating = REGISTRY.get_sample_value(f"{steps}_sum", {"service": service, "step": "evaluate"}) or 0.0
        assert 0 < cpu <= evaluating + 0.01  # (its thread's CPU within the step's time, give or take a tick)


def test_no_result_is_stored_while_the_findings_are_of_another_day(tmp_path: Path) -> None:
    """At midnight the rules' findings of yesterday must not stand in today's result."""

    async def scenario() -> tuple[Snapshot | None, Snapshot | None]:
        async with opened_store(f"sqlite:///{tmp_path / 'store.db'}") as store:
            await fill(store)
            await rules_service.evaluate(service_fleet(store, date(2022, 9, 1)), PROJECT)
            await scoring_service.evaluate(service_fleet(store, date(2022, 9, 2)), PROJECT)
            return await store.get_snapshot(RESULT_KIND, PROJECT), await store.get_snapshot("scores", PROJECT)

    result, scores = asyncio.run(scenario())
    assert scores is not None  # the scores move on, as before
    assert result is None


# ---------------------------------------------------------------- reads


class Reads:
    def __init__(self, client: TestClient, headers: dict[str, str], result: EvaluationResult) -> None:
        self.client, self.headers, self.result = client, headers, result

    def get(self, **params: str) -> Any:
        response = self.client.get(f"/v1/projects/{PROJECT}/report", params=params, headers=self.headers)
        assert response.status_code == 200, response.text[:500]
        return response


@contextmanager
def serve(store_url: str, workdir: Path) -> Iterator[tuple[TestClient, dict[str, str]]]:
    """The results API on a store, and an evaluator's key for the project."""
    with nats_server(workdir, "") as server:
        settings = ReportingSettings(
            environment="test",
            secret_key="integration-test-secret",  # type: ignore[arg-type]
            nats_url=server.url,
            store_url=store_url,
        )
        with TestClient(create_app(settings)) as client:
            yield client, bearer(issue_key(store_url, "evaluator", [PROJECT], "reads"))


@pytest.fixture(scope="module")
def reads(tmp_path_factory: pytest.TempPathFactory, expected: EvaluationResult) -> Iterator[Reads]:
    workdir = tmp_path_factory.mktemp("reads")
    store_url = f"sqlite:///{workdir / 'store.db'}"

    async def prepare() -> None:
        async with opened_store(store_url) as store:
            events = await fill(store)
            seq = result_seq(events, events)
            await store.put_snapshot(RESULT_KIND, Snapshot(PROJECT, seq, expected.json_bytes()))

    asyncio.run(prepare())
    with serve(store_url, workdir) as (client, headers):
        yield Reads(client, headers, expected)


@pytest.fixture
def evaluations(monkeypatch: pytest.MonkeyPatch) -> list[date]:
    """The as-of dates the use case is run at from now on (it still runs: counted, not faked)."""
    calls: list[date] = []
    real = use_case.evaluate_ledger

    def counted(ledger: Any, *args: Any, **kwargs: Any) -> EvaluationResult:
        calls.append(ledger.as_of)
        return real(ledger, *args, **kwargs)

    monkeypatch.setattr(use_case, "evaluate_ledger", counted)
    return calls


def test_reads_at_the_default_as_of_date_are_served_from_the_stored_result_without_evaluating(
    reads: Reads, evaluations: list[date]
) -> None:
    result = reads.result
    assert reads.get(format="scores").content == b"".join(to_json(scores_document(result)))
    assert reads.get(format="findings").content == b"".join(to_json(findings_document(result)))
    assert reads.get(as_of=result.as_of.isoformat(), format="scores").json()["total"] == float(result.total)
    markdown = reads.get(format="md").text
    assert "## 四、绩效评价指标分析" in markdown and str(result.total) in markdown
    assert "<html" in reads.get().text
    assert reads.get(format="xlsx").content[:2] == b"PK"
    assert evaluations == []


def test_a_read_as_of_another_date_is_evaluated_from_the_stored_events(reads: Reads, evaluations: list[date]) -> None:
    earlier = reads.result.as_of - timedelta(days=200)
    answer = reads.get(as_of=earlier.isoformat(), format="scores").json()
    assert answer["as_of"] == earlier.isoformat() and answer["total"] != float(reads.result.total)
    assert evaluations == [earlier]


def test_a_stored_result_of_a_day_gone_by_is_not_served_as_today(
    reads: Reads, evaluations: list[date], monkeypatch: pytest.MonkeyPatch
) -> None:
    """While the period runs the default date is today: yesterday's stored result is not today's."""
    today = reads.result.as_of - timedelta(days=30)  # inside the period; the stored result is of a later day
    monkeypatch.setattr("opseval_reporting.routes.documents.today_in_china", lambda: today)
    assert reads.get(format="scores").json()["as_of"] == today.isoformat()
    assert evaluations == [today]


# ---------------------------------------------------------------- the day boundary


def test_a_project_evaluated_as_of_today_is_due_again_when_the_date_moves_and_not_after_its_period(
    tmp_path: Path,
) -> None:
    async def scenario() -> None:
        async with opened_store(f"sqlite:///{tmp_path / 'store.db'}") as store:
            await fill(store)
            today = [date(2022, 9, 1)]
            cache = LedgerCache(store, today=lambda: today[0])
            await cache.refresh(PROJECT)
            assert cache.outdated() == set()
            today[0] = date(2022, 9, 2)
            assert cache.outdated() == {PROJECT}
            folded = await cache.refresh(PROJECT)
            assert folded is not None and folded.ledger.as_of == date(2022, 9, 2)
            assert cache.outdated() == set()
            today[0] = date(2026, 12, 4)  # the period is over: due as of its default date, then no more
            assert cache.outdated() == {PROJECT}
            await cache.refresh(PROJECT)
            today[0] = date(2026, 12, 5)
            assert cache.outdated() == set()

    asyncio.run(scenario())


def test_the_evaluation_loop_evaluates_a_project_again_when_the_date_moves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(projects_module, "DEFINITION_POLL_S", 0.05)

    async def scenario() -> None:
        async with opened_store(f"sqlite:///{tmp_path / 'store.db'}") as store:
            await fill(store)
            today = [date(2022, 9, 1)]
            cache = LedgerCache(store, today=lambda: today[0])
            evaluated: list[date] = []

            async def evaluate(project: str) -> None:
                # As slow as a large project's fold: the watcher looks several times meanwhile, and
                # must not evaluate it again for the date this evaluation is already taking up.
                await asyncio.sleep(0.3)
                folded = await cache.refresh(project)
                assert folded is not None
                evaluated.append(folded.ledger.as_of)

            loop = DirtyProjects("scoring", 0.01, evaluate, store=store, ledgers=cache)
            loop.start()
            try:
                loop.mark({PROJECT})
                await wait_until(lambda: evaluated == [date(2022, 9, 1)])
                await asyncio.sleep(0.6)  # the date has not moved: nothing to evaluate
                assert evaluated == [date(2022, 9, 1)]
                today[0] = date(2022, 9, 2)
                await wait_until(lambda: len(evaluated) >= 2)
                await asyncio.sleep(0.6)  # once, not again for each look of the watcher meanwhile
                assert evaluated == [date(2022, 9, 1), date(2022, 9, 2)]
            finally:
                await loop.stop()

    asyncio.run(scenario())


async def wait_until(predicate: Any, timeout: float = 60.0) -> None:
    # generous: each evaluation folds the example's events, seconds apiece on a loaded 2-core machine
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline, "not reached in time"
        await asyncio.sleep(0.02)


# ---------------------------------------------------------------- the scores beside the result


def leaf_evidence(indicators: Any) -> dict[str, tuple[str, ...] | None]:
    return {n.id: n.evidence for top in indicators for n in top.walk() if not n.children}


@pytest.mark.parametrize(
    ("rules_day", "scoring_day"),
    [(date(2026, 12, 4), date(2026, 12, 4)), (date(2022, 9, 1), date(2022, 9, 2))],
    ids=["with the result beside them", "without a result (findings of another day)"],
)
def test_the_scores_hold_the_leaves_evidence_once_and_the_api_answers_it_either_way(
    tmp_path: Path, rules_day: date, scoring_day: date
) -> None:
    """Stored beside the full result, the scores leave the leaves' evidence ids to it (a million ids
    at a million events, dumped and stored twice per change before); the results API answers every
    leaf's evidence all the same, and the project list reads the scores without them."""
    store_url = f"sqlite:///{tmp_path / 'store.db'}"

    async def scenario() -> tuple[Snapshot | None, Snapshot | None]:
        async with opened_store(store_url) as store:
            await fill(store)
            await rules_service.evaluate(service_fleet(store, rules_day), PROJECT)
            await scoring_service.evaluate(service_fleet(store, scoring_day), PROJECT)
            return await store.get_snapshot(RESULT_KIND, PROJECT), await store.get_snapshot("scores", PROJECT)

    result_snap, scores_snap = asyncio.run(scenario())
    assert scores_snap is not None
    stored_scores = ScoreChanged.model_validate_json(scores_snap.body)
    expected, _ = evaluate_bundle(DONGGUAN, min(scoring_day, date(2023, 5, 31)))
    cited = {k: v for k, v in leaf_evidence(expected.indicators).items() if v}
    assert cited  # the example's leaves cite evidence
    if result_snap is not None:
        assert all(not v for v in leaf_evidence(stored_scores.indicators).values())
        assert len(scores_snap.body) < len(result_snap.body) / 2
        wanted = leaf_evidence(joined(result_snap.body, EvaluationResult).indicators)
    else:
        wanted = leaf_evidence(stored_scores.indicators)  # no result: the scores keep their own
    assert {k: v for k, v in wanted.items() if v}.keys() == cited.keys()

    with serve(store_url, tmp_path) as (client, headers):
        answer = client.get(f"/v1/projects/{PROJECT}/scores", headers=headers).json()
        answered = ScoreChanged.model_validate({k: v for k, v in answer.items() if k != "evaluation"})
        assert leaf_evidence(answered.indicators) == wanted
        assert answered.total == stored_scores.total and answered.events_folded == stored_scores.events_folded
        leaf = next(iter(cited))
        page = client.get(f"/v1/projects/{PROJECT}/indicators/{leaf}/evidence", headers=headers).json()
        assert page["total"] == len(wanted[leaf] or ())
        listed = client.get("/v1/projects", headers=headers).json()
        assert [p["total"] for p in listed if p["id"] == PROJECT] == [float(stored_scores.total)]


def test_a_result_newer_than_the_scores_read_is_answered_itself(tmp_path: Path, expected: EvaluationResult) -> None:
    """Scoring stores the result before the scores: a read between the two finds the result newer than
    the scores it read, and answers the result (self-consistent) rather than the older scores."""
    store_url = f"sqlite:///{tmp_path / 'store.db'}"

    async def prepare() -> None:
        async with opened_store(store_url) as store:
            events = await fill(store)
            older = without_evidence_of(expected.model_copy(update={"total": expected.total - 1}), events - 1)
            await store.put_snapshot("scores", Snapshot(PROJECT, result_seq(events - 1, events - 1), older))
            await store.put_snapshot(RESULT_KIND, Snapshot(PROJECT, result_seq(events, events), expected.json_bytes()))

    asyncio.run(prepare())
    with serve(store_url, tmp_path) as (client, headers):
        answer = client.get(f"/v1/projects/{PROJECT}/scores", headers=headers).json()
        answered = ScoreChanged.model_validate({k: v for k, v in answer.items() if k != "evaluation"})
        assert answered.total == expected.total
        assert leaf_evidence(answered.indicators) == leaf_evidence(expected.indicators)
        assert answered.events_folded == answered.findings_events_folded == len(stored_events())


def without_evidence_of(result: EvaluationResult, events_folded: int) -> bytes:
    """The scores of a result as scoring stores them beside it."""
    return without_evidence(ScoreChanged.of_result(result, events_folded, events_folded)).json_bytes()


def test_a_client_showing_the_tree_reads_evidence_counts_and_pages_a_findings_evidence(tmp_path: Path) -> None:
    """The workbench shows how many events a leaf or a finding cites, and twenty of a finding's: it asks
    for counts (a million-event project's ids are 82 MB of JSON) and pages the evidence, whose pages
    together are every event the finding cites."""
    store_url = f"sqlite:///{tmp_path / 'store.db'}"

    async def scenario() -> None:
        async with opened_store(store_url) as store:
            await fill(store)
            await rules_service.evaluate(service_fleet(store, date(2026, 12, 4)), PROJECT)
            await scoring_service.evaluate(service_fleet(store, date(2026, 12, 4)), PROJECT)

    asyncio.run(scenario())
    with serve(store_url, tmp_path) as (client, headers):
        base = f"/v1/projects/{PROJECT}"
        with_ids = client.get(f"{base}/scores", headers=headers).json()
        counted = client.get(f"{base}/scores", params={"evidence": "count"}, headers=headers).json()
        ids = ScoreChanged.model_validate({k: v for k, v in with_ids.items() if k != "evaluation"})
        wanted = {k: len(v) for k, v in leaf_evidence(ids.indicators).items() if v is not None}
        counts = ScoreChanged.model_validate({k: v for k, v in counted.items() if k != "evaluation"})
        assert max(wanted.values()) > 1 and counts.evidence_counts == wanted
        assert all(not v for v in leaf_evidence(counts.indicators).values())
        assert counts == without_evidence(ids)
        document = client.get(f"{base}/report", params={"format": "scores"}, headers=headers).json()
        shown = client.get(f"{base}/report", params={"format": "scores", "evidence": "count"}, headers=headers).json()
        assert shown.pop("evidence_counts") == wanted and shown["indicators"] == counted["indicators"]
        assert shown == {**document, "indicators": shown["indicators"]} and shown["monthly"]
        wrong = client.get(f"{base}/report", params={"format": "findings", "evidence": "count"}, headers=headers)
        assert wrong.status_code == 422 and "format=scores" in wrong.json()["detail"]

        findings = client.get(f"{base}/findings", headers=headers).json()["findings"]
        high = client.get(f"{base}/findings", params={"evidence": "count", "severity": "high"}, headers=headers).json()
        assert high["evidence_counts"] == {f["id"]: len(f["evidence"]) for f in findings if f["severity"] == "high"}
        assert high["evidence_counts"] and all(f["evidence"] == [] for f in high["findings"])

        largest = max(findings, key=lambda f: len(f["evidence"]))
        assert len(largest["evidence"]) > 3
        pages, offset = [], 0
        while True:
            page = client.get(
                f"{base}/findings/{largest['id']}/evidence", params={"offset": offset, "limit": 3}, headers=headers
            ).json()
            assert page["total"] == len(largest["evidence"]) and page["offset"] == offset
            assert "evidence" not in page["finding"] and page["finding"]["id"] == largest["id"]
            if not page["evidence"]:
                break
            assert len(page["evidence"]) <= 3
            pages += [e["id"] for e in page["evidence"]]
            offset += 3
        assert sorted(pages) == sorted(largest["evidence"])

    async def unreadable_result() -> None:
        async with opened_store(store_url) as store:
            await store.put_snapshot(RESULT_KIND, Snapshot(PROJECT, 2**62, b"not a result"))

    # The counts are the scores' own, stored beside the result: read without it.
    asyncio.run(unreadable_result())
    with serve(store_url, tmp_path) as (client, headers):
        again = client.get(f"/v1/projects/{PROJECT}/scores", params={"evidence": "count"}, headers=headers)
        assert again.status_code == 200 and again.json() == counted


def test_the_judging_list_shows_checklist_leaves_long_evidence_kept_apart_from_the_result(
    tmp_path: Path, expected: EvaluationResult
) -> None:
    """A checklist point's computed part cites its leaf's evidence, which the result keeps apart once
    it is long (`evidence_apart`): the judging list reads those lists back."""
    store_url = f"sqlite:///{tmp_path / 'store.db'}"
    long = tuple(f"zz-long-{n:04d}" for n in range(200))  # (sorted after the example's own ids)

    def lengthened(node: ScoredIndicator) -> ScoredIndicator:
        children = tuple(lengthened(c) for c in node.children)
        evidence = (
            (*node.evidence, *long) if node.evidence and node.method in ("checklist", "judgment") else node.evidence
        )
        return node.model_copy(update={"children": children, "evidence": evidence})

    result = expected.model_copy(update={"indicators": tuple(lengthened(top) for top in expected.indicators)})

    async def prepare() -> None:
        async with opened_store(store_url) as store:
            events = await fill(store)
            seq = result_seq(events, events)
            await store.put_snapshot(RESULT_KIND, Snapshot(PROJECT, seq, apart(result)))
            await store.put_snapshot("scores", Snapshot(PROJECT, seq, without_evidence_of(result, events)))

    asyncio.run(prepare())
    with serve(store_url, tmp_path) as (client, headers):
        answer = client.get(f"/v1/projects/{PROJECT}/judgments", headers=headers).json()
    checklists = {n.id for top in expected.indicators for n in top.walk() if n.method == "checklist"}
    computed = {
        item["indicator"]: item["computed"]["evidence"]
        for item in answer["items"]
        if item["indicator"] in checklists and item.get("computed") and item["computed"]["evidence"]
    }
    assert "rules_execution" in computed  # (54 ids of its own: kept apart with the 200 more)
    assert all(ids[-len(long) :] == list(long) for ids in computed.values()), "resolved, not references"


# ---------------------------------------------------------------- the rules' measurements


@pytest.fixture
def measured(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The measures evaluated from now on, by name (they still are: counted, not faked)."""
    calls: list[str] = []
    real = measures_module.evaluate

    def counted(library: Any, ref: Any, ctx: Any) -> Any:
        calls.append(ref.name)
        return real(library, ref, ctx)

    monkeypatch.setattr(measures_module, "evaluate", counted)
    return calls


AFTER_THE_PERIOD = date(2026, 12, 4)  # evaluated as of the period's default as-of date, 2023-05-31


def test_the_scoring_service_takes_the_rules_measurements_and_measures_nothing_itself(
    tmp_path: Path, expected: EvaluationResult, measured: list[str]
) -> None:
    async def scenario() -> tuple[Snapshot | None, Snapshot | None, Snapshot | None, list[Any], int]:
        async with opened_store(f"sqlite:///{tmp_path / 'store.db'}") as store:
            events = await fill(store)
            rules = service_fleet(store, AFTER_THE_PERIOD)
            await rules_service.evaluate(rules, PROJECT)
            assert measured, "the rules measure"
            measured.clear()
            await scoring_service.evaluate(service_fleet(store, AFTER_THE_PERIOD), PROJECT)
            published = cast(Published, rules.results_out).messages
            kinds = (store.get_snapshot(k, PROJECT) for k in ("findings", RESULT_KIND, "scores"))
            findings, result, scores = [await k for k in kinds]
            return findings, result, scores, published, events

    findings_snap, result, scores, published, events = asyncio.run(scenario())
    assert measured == []  # every measure the score tree asks for came with the findings
    assert findings_snap is not None and result is not None and scores is not None
    findings = joined(findings_snap.body, FindingsChanged)
    assert findings.measurements and findings.definition_revision == "r1"
    assert findings.events_folded == events and findings.last_seq == events  # (a fresh store numbers from 1)
    assert any(len(m.evidence) >= INLINE_BELOW for m in findings.measurements.values())
    assert all(m.evidence == () for m in published[0].measurements.values())  # published without evidence
    assert result.body == apart(expected)
    stored_scores = ScoreChanged.model_validate_json(scores.body)
    assert stored_scores.events_folded == stored_scores.findings_events_folded == events


def rewrite_findings(store: Store, update: Callable[[FindingsChanged], FindingsChanged]) -> Awaitable[bool]:
    async def rewrite() -> bool:
        snapshot = await store.get_snapshot("findings", PROJECT)
        assert snapshot is not None
        return await store.put_snapshot(
            "findings", Snapshot(PROJECT, snapshot.seq, apart(update(joined(snapshot.body, FindingsChanged))))
        )

    return rewrite()


def poisoned(findings: FindingsChanged) -> dict[str, Measurement]:
    """The measurements with every value off by one: a result that used them would show it."""
    return {ref: replace(m, value=m.value + 1, actual="poisoned") for ref, m in findings.measurements.items()}


@pytest.mark.parametrize(
    "update",
    [
        lambda f: f.model_copy(update={"measurements": poisoned(f), "definition_revision": "r0"}),
        lambda f: f.model_copy(update={"measurements": poisoned(f), "last_seq": (f.last_seq or 0) + 1}),
        lambda f: f.model_copy(update={"measurements": poisoned(f), "events_folded": f.events_folded - 1}),
        lambda f: f.model_copy(update={"measurements": poisoned(f), "as_of": f.as_of - timedelta(days=1)}),
        lambda f: f.model_copy(update={"measurements": {}, "last_seq": None, "definition_revision": None}),
    ],
    ids=["another definition", "another last seq", "another count", "another day", "an older rules version"],
)
def test_measurements_made_over_another_state_are_not_used_and_scoring_measures_itself(
    tmp_path: Path,
    expected: EvaluationResult,
    measured: list[str],
    update: Callable[[FindingsChanged], FindingsChanged],
) -> None:
    async def scenario() -> Snapshot | None:
        async with opened_store(f"sqlite:///{tmp_path / 'store.db'}") as store:
            await fill(store)
            await rules_service.evaluate(service_fleet(store, AFTER_THE_PERIOD), PROJECT)
            await rewrite_findings(store, update)
            measured.clear()
            await scoring_service.evaluate(service_fleet(store, AFTER_THE_PERIOD), PROJECT)
            return await store.get_snapshot(RESULT_KIND, PROJECT)

    result = asyncio.run(scenario())
    assert measured  # measured itself
    if result is not None:  # (findings of another day: no result stored, as before)
        assert result.body == apart(expected)


def partial_bundle(workdir: Path, keep: int) -> Path:
    """The example with only its first `keep` evidence events, in the order they are stored."""
    bundle = workdir / "partial"
    shutil.copytree(DONGGUAN, bundle)
    left = keep
    for path in evidence_files(bundle):
        lines = [ln for ln in path.read_text(encoding="utf-8").splitlines() if ln.strip()]
        path.write_text("".join(ln + "\n" for ln in lines[: max(left, 0)]), encoding="utf-8")
        left -= len(lines)
    return bundle


def test_scoring_folds_the_events_the_rules_folded_not_those_stored_since_and_catches_up_at_the_next_findings(
    tmp_path: Path, expected: EvaluationResult, measured: list[str]
) -> None:
    rows = stored_events()
    keep = len(rows) - 300

    async def scenario() -> list[tuple[Snapshot | None, Snapshot | None, list[str]]]:
        seen = []
        async with opened_store(f"sqlite:///{tmp_path / 'store.db'}") as store:
            await store.put_project(StoredProject(PROJECT, "r1", load_definition(DONGGUAN).model_dump_json()))
            await store.add_events(rows[:keep])
            await rules_service.evaluate(service_fleet(store, AFTER_THE_PERIOD), PROJECT)
            await store.add_events(rows[keep:])  # stored after the rules' evaluation, before scoring's
            scoring = service_fleet(store, AFTER_THE_PERIOD)
            for rules_again in (False, True):
                if rules_again:
                    await rules_service.evaluate(service_fleet(store, AFTER_THE_PERIOD), PROJECT)
                measured.clear()
                await scoring_service.evaluate(scoring, PROJECT)
                snapshots = (store.get_snapshot(k, PROJECT) for k in (RESULT_KIND, "scores"))
                seen.append((*[await s for s in snapshots], list(measured)))
        return seen

    (first, first_scores, first_measured), (then, then_scores, then_measured) = asyncio.run(scenario())
    assert first is not None and first_scores is not None and then is not None and then_scores is not None
    before, _ = evaluate_bundle(partial_bundle(tmp_path, keep), date(2023, 5, 31))
    assert joined(first.body, EvaluationResult).evidence_stats.events < expected.evidence_stats.events
    assert first.body == apart(before)  # `opseval evaluate` over the events the rules had folded
    scores = ScoreChanged.model_validate_json(first_scores.body)
    assert scores.events_folded == scores.findings_events_folded == keep
    assert first_measured == []
    assert then.body == apart(expected)  # caught up with the rules' next findings
    scores = ScoreChanged.model_validate_json(then_scores.body)
    assert scores.events_folded == scores.findings_events_folded == len(rows)
    assert then_measured == []
