"""No event can freeze a project, and a correction scores as if the corrected evidence had come
first — on a real fleet (nats-server and the four services), registered with `opseval project`.

An event with a misspelt contract or an unknown severity is refused 422 naming the field. An event
accepted under one definition that the next definition no longer resolves is set aside: dead-
lettered with the reason, counted, shown on the project, and the project is evaluated without it —
exactly as `opseval evaluate` evaluates the bundle. An evaluator then corrects it, and the fleet
serves what `opseval evaluate` computes for the corrected event sent in the first place."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from apikeys import bearer, issue_key
from opseval_shared.results import EvaluationResult

from opseval.embedded import evaluate_bundle

from .conftest import Fleet, bundle_events, wait_for
from .test_fleet import leaf_scores, push_all

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
DONGGUAN = ROOT / "examples" / "dongguan-2022"
PROJECT = "dongguan-2022"

# The economy leaf judged by two points instead of as a whole: the definition an evaluator's
# judgment of one point was accepted under, before the project went back to its own definition.
ECONOMY_AS_WHOLE = "            method: {type: judgment}\n          - id: unit_price"
ECONOMY_BY_POINTS = (
    "            method: {type: checklist, points: [{id: cost, text: 成本控制, max: 1.5},"
    " {id: staffing, text: 人员配置, max: 1.5}]}\n          - id: unit_price"
)


def opseval(fleet: Fleet, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "OPSEVAL_API_KEY": fleet.admin_token, "OPSEVAL_LOG_LEVEL": "WARNING"}
    return subprocess.run(
        [sys.executable, "-m", "opseval.cli", *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=180
    )


def register(fleet: Fleet, bundle: Path, cwd: Path) -> dict[str, Any]:
    run = opseval(fleet, cwd, "project", "register", str(bundle), "--intake", fleet.url("intake"))
    assert run.returncode == 0, run.stderr
    answer: dict[str, Any] = json.loads(run.stdout)
    return answer


def serves(fleet: Fleet, expected: EvaluationResult) -> bool:
    """Whether the fleet's scores and findings are those `opseval evaluate` computed."""
    scores = fleet.scores(PROJECT)
    if scores is None or Decimal(str(scores["total"])) != expected.total:
        return False
    if leaf_scores(scores["indicators"]) != leaf_scores([i.model_dump(mode="json") for i in expected.indicators]):
        return False
    findings = fleet.findings(PROJECT)["findings"]
    return bool(findings == [f.model_dump(mode="json") for f in expected.findings])


def detail(fleet: Fleet) -> dict[str, Any]:
    response = fleet.http.get(fleet.url("reporting") + f"/v1/projects/{PROJECT}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_bad_event_is_refused_or_set_aside_and_its_correction_scores_as_if_sent_first(
    fleet: Fleet, tmp_path: Path, workbench: Any
) -> None:
    assert register(fleet, DONGGUAN, tmp_path)["project"] == PROJECT
    events = bundle_events(DONGGUAN)
    assert push_all(fleet, events) == len(events)
    intake = fleet.url("intake") + "/v1/evidence"

    # Refused at the door, naming the field: a misspelt contract, a severity the SLAs do not know.
    incident = next(e for e in events if e["kind"] == "incident")
    misspelt = {**incident, "id": "e2e-opps", "contract": "opps"}
    genral = {**incident, "id": "e2e-genral", "payload": {**incident["payload"], "severity": "genral"}}
    for bad, field, reason in (
        (misspelt, "events[0].contract", "unknown contract 'opps'"),
        (genral, "events[0].payload.severity", "no SLA severity 'genral'"),
    ):
        refused = fleet.http.post(intake, json={"events": [bad]})
        assert refused.status_code == 422, refused.text
        errors = refused.json()["detail"]["errors"]
        assert [e["field"] for e in errors] == [field] and reason in errors[0]["reason"]

    # Accepted under a definition judging economy by points, which the project then leaves again.
    by_points = tmp_path / "by-points"
    shutil.copytree(DONGGUAN, by_points, ignore=shutil.ignore_patterns("evidence"))
    indicators = (by_points / "indicators.yaml").read_text(encoding="utf-8")
    assert ECONOMY_AS_WHOLE in indicators
    (by_points / "indicators.yaml").write_text(indicators.replace(ECONOMY_AS_WHOLE, ECONOMY_BY_POINTS), "utf-8")
    assert register(fleet, by_points, tmp_path)["changed"] is True
    judged = {
        "id": "e2e-economy-cost",
        "project": PROJECT,
        "kind": "judgment",
        "occurred_at": "2023-05-31T19:00:00+08:00",
        "recorded_at": "2023-05-31T19:00:00+08:00",
        "source": "evaluator",
        "payload": {"indicator": "economy", "point": "cost", "awarded": 1, "reason": "成本控制一般"},
    }
    assert fleet.push([judged])["accepted"] == 1
    assert register(fleet, DONGGUAN, tmp_path)["changed"] is True

    # Set aside, not frozen: the project is evaluated without it, exactly as opseval evaluate does.
    expected, _ = evaluate_bundle(DONGGUAN)
    wait_for(lambda: serves(fleet, expected), 120, "the project evaluated without the event set aside", 0.5)
    aside = wait_for(
        lambda: [d for d in detail(fleet)["status"]["set_aside"] if d["event"] == judged["id"]],
        60,
        "the event set aside on the project",
    )
    assert aside[0]["field"] == "payload.point" and "judged as a whole" in aside[0]["reason"]
    assert detail(fleet)["evaluation"] == "ok"
    letters = wait_for(
        lambda: [
            d
            for d in fleet.http.get(fleet.url("reporting") + "/v1/dead-letters").json()
            if judged["id"] in d["payload"] and d["error"].startswith("unresolved reference: payload.point")
        ],
        60,
        "the event set aside in the dead-letter list",
    )
    assert {d["service"] for d in letters} <= {"rules", "scoring"} and letters
    metrics = fleet.http.get(fleet.url("rules") + "/metrics").text
    assert any(
        line.startswith('opseval_events_set_aside_total{service="rules"}') and float(line.rsplit(" ", 1)[1]) >= 1
        for line in metrics.splitlines()
    )
    ready = fleet.http.get(fleet.url("rules") + "/readyz").json()
    assert ready["ready"] is True and ready["evaluations"] == {"failing": {}}
    shown = opseval(fleet, tmp_path, "project", "show", PROJECT, "--reporting", fleet.url("reporting"))
    assert shown.returncode == 0, shown.stderr
    assert f"set aside: {judged['id']}: payload.point" in shown.stderr
    assert json.loads(shown.stdout)["total"] == float(expected.total)
    # What an administrator sees on the workbench: the event set aside, named, with the way out.
    bench = workbench(fleet.url("reporting"), fleet.admin_token)
    page = bench.open(f"project={PROJECT}")
    notice = page.locator(f'[data-event="{judged["id"]}"]')
    notice.wait_for()
    assert "已搁置，未计入评价" in notice.inner_text() and "payload.point" in notice.inner_text()
    bench.screenshot("set-aside")
    bench.no_script_errors()

    # An evaluator corrects it (under an evaluator's key a judgment names the key as its source).
    token = issue_key(fleet.store_url, "evaluator", [PROJECT], "市财政局评价组")
    evaluator = bearer(token)
    plain = {**judged, "id": "e2e-economy-whole", "occurred_at": "2023-05-31T19:30:00+08:00"}
    plain["recorded_at"] = plain["occurred_at"]
    plain["payload"] = {"indicator": "economy", "awarded": 2.5, "reason": "人力成本按实际资质复核后较为经济"}
    unsourced = fleet.http.post(intake, json=[plain], headers=evaluator)
    assert unsourced.status_code == 422 and unsourced.json()["detail"]["errors"][0]["field"] == "[0].source"
    plain["source"] = f"evaluator:{token.split('_')[1]}"
    why = {"event": judged["id"], "reason": "经济性按整体评分，不分要点", "by": "第三方评价组"}
    correction = {**plain, "corrects": why}
    # Judging the whole leaf again overrides the judgment in force on it, which must be named: alone,
    # the correction is refused; with that judgment withdrawn in the same push, it is accepted.
    overridden = fleet.http.post(intake, json=[correction], headers=evaluator)
    assert overridden.status_code == 409, overridden.text
    [error] = overridden.json()["detail"]["errors"]
    assert error["field"] == "[0].corrects.event" and "'dg-judge-economy-leaf'" in error["reason"]
    withdrawn = {
        **{k: plain[k] for k in ("project", "occurred_at", "recorded_at", "source")},
        "id": "e2e-economy-leaf-withdrawn",
        "kind": "retraction",
        "payload": {"event": "dg-judge-economy-leaf", "reason": "经济性由评价组整体改判", "by": "第三方评价组"},
    }
    pushed = fleet.http.post(intake, json=[correction, withdrawn], headers=evaluator)
    assert pushed.status_code == 200 and pushed.json()["accepted"] == 2, pushed.text

    # The score is the one the corrected judgment alone gives, as if it had been sent in the first place.
    first = tmp_path / "sent-first"
    shutil.copytree(DONGGUAN, first)
    (first / "evidence" / "zz-judgment.jsonl").write_text(json.dumps(plain, ensure_ascii=False) + "\n", "utf-8")
    corrected, _ = evaluate_bundle(first)
    assert corrected.total != expected.total
    wait_for(lambda: serves(fleet, corrected), 120, "the corrected score", 0.5)
    after = wait_for(lambda: [d for d in [detail(fleet)] if not d["status"]["set_aside"]], 60, "nothing set aside")[0]
    assert sorted(
        (c["event"], c["corrected_by"], c["action"], c["by"], c["in_force"]) for c in after["corrections"]
    ) == [
        ("dg-judge-economy-leaf", withdrawn["id"], "retracted", "第三方评价组", True),
        (judged["id"], correction["id"], "superseded", "第三方评价组", True),
    ]
    # The evidence trail keeps both events; the audit trail names the key that corrected.
    trail = fleet.http.get(fleet.url("reporting") + f"/v1/projects/{PROJECT}/evidence/{judged['id']}").json()
    assert trail["payload"]["point"] == "cost" and trail["corrections"][0]["corrected_by"] == correction["id"]
    audit = fleet.http.get(fleet.url("reporting") + "/v1/admin/audit", params={"action": "evidence.push"}).json()
    last = [e for e in audit if e["status"] == 200][-1]
    assert last["role"] == "evaluator"
    assert last["detail"]["corrections"] == [
        {"event": correction["id"], "corrects": judged["id"], "action": "superseded", "by": "第三方评价组"},
        {"event": withdrawn["id"], "corrects": "dg-judge-economy-leaf", "action": "retracted", "by": "第三方评价组"},
    ]
