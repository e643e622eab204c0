"""Who may do what over HTTP, and hostile input at intake — the intake and results apps in-process
(their lifespans run: a real nats-server, a real SQLite store shared by both)."""

from __future__ import annotations

import asyncio
import copy
import json
import re
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import nats
import pytest
from apikeys import bearer, issue_key
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from natsfixtures import nats_server
from opseval_infra.store.base import StoredEvent
from opseval_infra.store.factory import opened_store
from opseval_intake.app import create_app as intake_app
from opseval_intake.bundle import load_definition
from opseval_intake.settings import IntakeSettings
from opseval_reporting.app import create_app as reporting_app
from opseval_reporting.settings import ReportingSettings
from opseval_shared.messaging import EVIDENCE_STREAM

from opseval.embedded import known_rule_ids

ROOT = Path(__file__).resolve().parents[2]
DONGGUAN = ROOT / "examples" / "dongguan-2022"
GUANGZHOU = ROOT / "examples" / "guangzhou-2023"
EVENT: dict[str, Any] = {
    "id": "clock-1",
    "project": "dongguan-2022",
    "contract": "ops",
    "kind": "clock_in",
    "occurred_at": "2022-10-10T08:55:00+08:00",
    "recorded_at": "2022-10-10T08:55:00+08:00",
    "source": "attendance",
    "payload": {"staff": "张三"},
}


def event(**changes: Any) -> dict[str, Any]:
    out = copy.deepcopy(EVENT)
    out.update(changes)
    return out


@dataclass
class Apps:
    intake: TestClient
    reporting: TestClient
    store_file: Path
    nats_url: str
    admin: dict[str, str]

    def key(self, role: str, projects: list[str]) -> dict[str, str]:
        return bearer(issue_key(f"sqlite:///{self.store_file}", role, projects, f"test {role}"))

    def push(self, body: Any, headers: dict[str, str], **kwargs: Any) -> Any:
        return self.intake.post("/v1/evidence", content=json.dumps(body), headers={**JSON, **headers}, **kwargs)

    def stream_messages(self) -> int:
        async def count() -> int:
            nc = await nats.connect(self.nats_url)
            try:
                return int((await nc.jetstream().stream_info(EVIDENCE_STREAM.name)).state.messages)
            finally:
                await nc.close()

        return asyncio.run(count())

    def audit(self, **query: Any) -> list[dict[str, Any]]:
        response = self.reporting.get("/v1/admin/audit", params={"limit": 1000, **query}, headers=self.admin)
        assert response.status_code == 200, response.text
        entries: list[dict[str, Any]] = response.json()
        return entries


JSON = {"content-type": "application/json"}


@pytest.fixture(scope="module")
def apps(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Apps]:
    workdir = tmp_path_factory.mktemp("access")
    store_file = workdir / "store.db"
    with nats_server(workdir, "") as server:
        common = {
            "environment": "test",
            "secret_key": "integration-test-secret",
            "nats_url": server.url,
            "store_url": f"sqlite:///{store_file}",
        }
        intake = intake_app(
            IntakeSettings(**common, max_batch=50, max_body_bytes=200_000),  # type: ignore[arg-type]
            known_rules=known_rule_ids(),
        )
        reporting = reporting_app(ReportingSettings(**common))  # type: ignore[arg-type]
        with TestClient(intake) as intake_client, TestClient(reporting) as reporting_client:
            apps = Apps(intake_client, reporting_client, store_file, server.url, {})
            apps.admin = apps.key("admin", ["*"])
            for bundle in (DONGGUAN, GUANGZHOU):
                definition = load_definition(bundle).model_dump_json()
                response = intake_client.post("/v1/projects", content=definition, headers={**JSON, **apps.admin})
                assert response.status_code in (200, 201), response.text
            yield apps


def v1_routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every /v1/ route, those of included routers too (`app.routes` lists a router, not its routes)."""
    out = []
    for route in iter_route_contexts(app.routes):
        path = route.path or ""
        for method in sorted((route.methods or set()) - {"HEAD"}):
            if path.startswith("/v1/"):
                out.append((method, re.sub(r"\{[^}]+\}", "dongguan-2022", path)))
    return out


# ---------------------------------------------------------------- authentication


def test_every_v1_route_of_intake_and_reporting_answers_401_without_a_valid_key(apps: Apps) -> None:
    routes = [(apps.intake, r) for r in v1_routes(apps.intake.app)]  # type: ignore[arg-type]
    routes += [(apps.reporting, r) for r in v1_routes(apps.reporting.app)]  # type: ignore[arg-type]
    assert len(routes) >= 13
    bad_headers: list[dict[str, str]] = [
        {},
        {"authorization": "Bearer nonsense"},
        {"authorization": "Basic YWRtaW46YWRtaW4="},
        {"authorization": "Bearer opseval_k000000000000_" + "A" * 43},  # well-formed, unknown
        {"authorization": apps.admin["authorization"][:-1] + ("B" if apps.admin["authorization"][-1] != "B" else "C")},
    ]
    for client, (method, path) in routes:
        for headers in bad_headers:
            response = client.request(method, path, headers={**JSON, **headers}, content=b"{}")
            assert response.status_code == 401, (method, path, headers, response.text)
            assert response.headers["www-authenticate"] == "Bearer"


def test_health_and_readiness_need_no_key_for_the_probes(apps: Apps) -> None:
    for client in (apps.intake, apps.reporting):
        assert client.get("/healthz").status_code == 200
        assert client.get("/readyz").status_code == 200


def test_keys_are_stored_hashed_and_their_tokens_appear_nowhere_in_the_store(apps: Apps) -> None:
    token = apps.key("evaluator", ["dongguan-2022"])["authorization"].removeprefix("Bearer ")
    # the token is PREFIX_KEYID_SECRET, and a urlsafe secret may itself hold "_": split from the left
    secret = token.split("_", 2)[2]
    assert len(secret) == 43
    with sqlite3.connect(apps.store_file) as db:
        rows = db.execute("SELECT id, secret_hash FROM api_keys").fetchall()
    assert all(h.startswith("sha256:") and len(h) == 71 for _, h in rows)
    raw = b"".join(p.read_bytes() for p in apps.store_file.parent.glob("store.db*"))
    assert secret.encode() not in raw and token.encode() not in raw


# ---------------------------------------------------------------- roles and scopes


def test_an_upstream_key_pushes_only_for_its_projects_and_never_learns_which_exist(apps: Apps) -> None:
    upstream = apps.key("upstream", ["dongguan-2022"])
    ok = apps.push([event(id="scope-1")], upstream)
    assert ok.status_code == 200 and ok.json()["accepted"] == 1
    before = apps.stream_messages()
    registered_elsewhere = apps.push([event(id="scope-2"), event(id="scope-3", project="guangzhou-2023")], upstream)
    never_registered = apps.push([event(id="scope-4", project="no-such-project")], upstream)
    assert registered_elsewhere.status_code == never_registered.status_code == 403
    assert registered_elsewhere.json()["detail"].replace("guangzhou-2023", "X").replace("[1]", "[i]") == (
        never_registered.json()["detail"].replace("no-such-project", "X").replace("[0]", "[i]")
    )
    assert apps.stream_messages() == before  # the in-scope event of the refused batch was not published
    assert apps.intake.post("/v1/projects", content=b"{}", headers={**JSON, **upstream}).status_code == 403
    assert apps.reporting.get("/v1/projects/dongguan-2022/findings", headers=upstream).status_code == 403


def test_an_evaluator_reads_only_its_projects_and_cannot_push_or_administer(apps: Apps) -> None:
    evaluator = apps.key("evaluator", ["dongguan-2022"])
    listed = apps.reporting.get("/v1/projects", headers=evaluator)
    assert [p["id"] for p in listed.json()] == ["dongguan-2022"]
    everything = apps.reporting.get("/v1/projects", headers=apps.admin).json()
    assert {p["id"] for p in everything} == {"dongguan-2022", "guangzhou-2023"}
    # not scored yet (no consumers run here): 404 in scope; 403 outside, existing or not, same words
    assert apps.reporting.get("/v1/projects/dongguan-2022/scores", headers=evaluator).status_code == 404
    other = apps.reporting.get("/v1/projects/guangzhou-2023/scores", headers=evaluator)
    missing = apps.reporting.get("/v1/projects/no-such-project/scores", headers=evaluator)
    assert other.status_code == missing.status_code == 403
    assert other.json()["detail"].replace("guangzhou-2023", "X") == missing.json()["detail"].replace(
        "no-such-project", "X"
    )
    assert apps.reporting.get("/v1/projects/guangzhou-2023/report", headers=evaluator).status_code == 403
    assert apps.push([event(id="eval-1")], evaluator).status_code == 403
    assert apps.reporting.get("/v1/admin/keys", headers=evaluator).status_code == 403
    assert apps.reporting.get("/v1/admin/audit", headers=evaluator).status_code == 403
    assert apps.reporting.get("/v1/dead-letters", headers=evaluator).status_code == 403


def test_an_administrator_issues_scopes_and_revokes_keys_over_the_api(apps: Apps) -> None:
    created = apps.reporting.post(
        "/v1/admin/keys",
        json={"name": "考勤系统", "role": "upstream", "projects": ["dongguan-2022"]},
        headers=apps.admin,
    )
    assert created.status_code == 201, created.text
    key = created.json()
    token = {"authorization": f"Bearer {key['token']}"}
    assert apps.push([event(id="issued-1")], token).status_code == 200
    assert apps.push([event(id="issued-2", project="guangzhou-2023")], token).status_code == 403
    scoped = apps.reporting.put(
        f"/v1/admin/keys/{key['id']}/projects", json={"projects": ["guangzhou-2023"]}, headers=apps.admin
    )
    assert scoped.json()["projects"] == ["guangzhou-2023"]
    assert apps.push([event(id="issued-3")], token).status_code == 403
    listed = {k["id"]: k for k in apps.reporting.get("/v1/admin/keys", headers=apps.admin).json()}
    assert "token" not in listed[key["id"]] and "secret_hash" not in listed[key["id"]]
    assert apps.reporting.delete(f"/v1/admin/keys/{key['id']}", headers=apps.admin).status_code == 200
    assert apps.push([event(id="issued-4", project="guangzhou-2023")], token).status_code == 401
    assert apps.reporting.delete("/v1/admin/keys/k000000000000", headers=apps.admin).status_code == 404
    unknown = apps.reporting.put("/v1/admin/keys/k000000000000/projects", json={"projects": ["x"]}, headers=apps.admin)
    assert unknown.status_code == 404
    bad_scope = apps.reporting.post(
        "/v1/admin/keys", json={"name": "x", "role": "evaluator", "projects": ["a.>"]}, headers=apps.admin
    )
    assert bad_scope.status_code == 422


def test_a_revoked_or_expired_key_is_answered_401_saying_which_and_me_tells_a_key_what_it_is(apps: Apps) -> None:
    soon = datetime.now(UTC) + timedelta(seconds=2)
    created = apps.reporting.post(
        "/v1/admin/keys",
        json={
            "name": "评价组（限期）",
            "role": "evaluator",
            "projects": ["dongguan-2022"],
            "expires_at": soon.isoformat(),
        },
        headers=apps.admin,
    )
    assert created.status_code == 201, created.text
    token = {"authorization": f"Bearer {created.json()['token']}"}
    me = apps.reporting.get("/v1/me", headers=token)
    assert me.status_code == 200
    assert me.json()["name"] == "评价组（限期）" and me.json()["role"] == "evaluator"
    assert me.json()["projects"] == ["dongguan-2022"] and me.json()["expires_at"].startswith(soon.date().isoformat())
    assert "token" not in me.json() and "secret_hash" not in me.json()
    upstream = apps.key("upstream", ["dongguan-2022"])
    assert apps.reporting.get("/v1/me", headers=upstream).json()["role"] == "upstream"  # told what it is
    assert apps.reporting.get("/v1/projects", headers=upstream).status_code == 403  # and still reads nothing
    time.sleep(max(0.0, (soon - datetime.now(UTC)).total_seconds()) + 0.05)
    expired = apps.reporting.get("/v1/projects", headers=token)
    assert expired.status_code == 401 and "expired" in expired.json()["detail"]
    past = apps.reporting.post(
        "/v1/admin/keys",
        json={"name": "x", "role": "evaluator", "projects": ["*"], "expires_at": "2020-01-01T00:00:00+08:00"},
        headers=apps.admin,
    )
    assert past.status_code == 422 and "before it is issued" in past.text
    revoked = apps.reporting.post(
        "/v1/admin/keys", json={"name": "y", "role": "evaluator", "projects": ["*"]}, headers=apps.admin
    ).json()
    apps.reporting.delete(f"/v1/admin/keys/{revoked['id']}", headers=apps.admin)
    answer = apps.reporting.get("/v1/projects", headers={"authorization": f"Bearer {revoked['token']}"})
    assert answer.status_code == 401 and "revoked" in answer.json()["detail"]
    unknown = apps.reporting.get("/v1/projects", headers={"authorization": "Bearer opseval_k000000000000_" + "A" * 43})
    assert unknown.status_code == 401 and unknown.json()["detail"] == "this API key is not valid"


# ---------------------------------------------------------------- the audit trail


def test_the_audit_trail_records_pushes_reads_denials_and_key_changes(apps: Apps) -> None:
    upstream = apps.key("upstream", ["dongguan-2022"])
    actor = upstream["authorization"].split("_")[1]
    assert apps.push({"events": [event(id="audit-1"), event(id="audit-2")]}, upstream).status_code == 200
    assert apps.reporting.get("/v1/projects/dongguan-2022/findings", headers=upstream).status_code == 403
    apps.reporting.get("/v1/projects/guangzhou-2023/findings", headers={"authorization": "Bearer forged"})
    mine = apps.audit(actor=actor)
    assert [(e["action"], e["status"], e["project"]) for e in mine] == [
        ("evidence.push", 200, "dongguan-2022"),
        ("findings.read", 403, "dongguan-2022"),
    ]
    assert mine[0]["detail"]["accepted"] == 2 and mine[0]["detail"]["ids"] == ["audit-1", "audit-2"]
    assert mine[0]["role"] == "upstream"
    anonymous = apps.audit(actor="-", project="guangzhou-2023")
    assert anonymous and anonymous[-1]["status"] == 401 and anonymous[-1]["action"] == "findings.read"
    issued = apps.reporting.post(
        "/v1/admin/keys",
        json={"name": "审计测试", "role": "evaluator", "projects": ["dongguan-2022"]},
        headers=apps.admin,
    ).json()
    apps.reporting.delete(f"/v1/admin/keys/{issued['id']}", headers=apps.admin)
    changes = [(e["action"], e["status"]) for e in apps.audit(action="key.*") if e["detail"].get("key") == issued["id"]]
    assert changes == [("key.create", 201), ("key.revoke", 200)]
    assert {e["action"] for e in apps.audit(action="key.*")} <= {"key.create", "key.scope", "key.revoke"}
    newest = apps.audit()[-1]["seq"]
    assert apps.audit(after=newest - 1)[0]["seq"] == newest
    huge = apps.reporting.get("/v1/admin/audit", params={"after": 2**88}, headers=apps.admin)
    assert huge.status_code == 422  # found by the fuzzer: past SQLite's integers it was a 500


def test_the_audit_trail_cannot_be_changed_or_deleted_in_the_database(apps: Apps) -> None:
    apps.reporting.get("/v1/projects", headers=apps.admin)
    with sqlite3.connect(apps.store_file) as db:
        for statement in ("UPDATE audit SET status = 200", "DELETE FROM audit"):
            with pytest.raises(sqlite3.IntegrityError, match="append-only"):
                db.execute(statement)


def test_a_request_whose_audit_entry_cannot_be_written_is_refused_503(
    apps: Apps, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = apps.reporting.app.state.fleet.store  # type: ignore[attr-defined]

    async def broken(entry: Any) -> int:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(store, "append_audit", broken)
    response = apps.reporting.get("/v1/projects", headers=apps.admin)
    assert response.status_code == 503 and "audit" in response.json()["detail"]


# ---------------------------------------------------------------- hostile and broken input


def test_every_hostile_push_is_a_4xx_naming_the_problem_and_publishes_nothing(apps: Apps) -> None:
    big_line = event(id="big", source="x" * 300_000)
    far_future = event(id="future", occurred_at="2099-01-01T00:00:00+08:00", recorded_at="2099-01-01T00:00:00+08:00")
    cases: list[tuple[str, bytes, dict[str, str], int, str]] = [
        ("not JSON", b"{not json", JSON, 422, "not valid JSON"),
        ("invalid UTF-8", b'{"id": "\xff\xfe"}', JSON, 422, "not valid JSON"),
        ("deep nesting", b"[" * 150_000 + b"]" * 150_000, JSON, 413, "larger than"),
        ("nesting under the size limit", b"[" * 5000 + b"]" * 5000, JSON, 422, "not valid JSON"),
        ("NaN", b'{"events": [NaN]}', JSON, 422, "not valid JSON"),
        ("Infinity", b'{"events": [Infinity]}', JSON, 422, "not valid JSON"),
        ("huge number", b'{"events": [1e400]}', JSON, 422, "not valid JSON"),
        ("text/plain", json.dumps(EVENT).encode(), {"content-type": "text/plain"}, 415, "application/json"),
        ("latin-1", json.dumps(EVENT).encode(), {"content-type": "application/json; charset=latin-1"}, 415, "UTF-8"),
        ("no content type", json.dumps(EVENT).encode(), {}, 415, "application/json"),
        ("json-ish type", json.dumps(EVENT).encode(), {"content-type": "application/jsonx"}, 415, "application/json"),
        ("body too large", json.dumps(big_line).encode(), JSON, 413, "larger than"),
        ("batch too large", json.dumps([event(id=f"n-{i}") for i in range(51)]).encode(), JSON, 413, "at most 50"),
        ("empty batch", b"[]", JSON, 422, "no events"),
        ("batch with extra keys", b'{"events": [], "x": 1}', JSON, 422, "nothing else"),
        ("far future", json.dumps([far_future]).encode(), JSON, 422, "[0].occurred_at"),
        (
            "year out of range",
            json.dumps([event(id="y", occurred_at="2999-01-01T00:00:00Z")]).encode(),
            JSON,
            422,
            "[0].occurred_at",
        ),
        (
            "not a date",
            json.dumps([event(id="d", recorded_at="2023-13-45T00:00:00Z")]).encode(),
            JSON,
            422,
            "[0].recorded_at",
        ),
        (
            "naive time",
            json.dumps([event(id="n", recorded_at="2023-01-05T00:00:00")]).encode(),
            JSON,
            422,
            "[0].recorded_at",
        ),
        (
            "unknown kind",
            json.dumps({"events": [event(id="k", kind="telepathy")]}).encode(),
            JSON,
            422,
            "events[0].kind",
        ),
        ("unknown project", json.dumps([event(id="p", project="no-such-project")]).encode(), JSON, 422, "[0].project"),
        ("duplicate ids", json.dumps([event(id="dup"), event(id="dup")]).encode(), JSON, 422, "[1].id"),
        ("bad id", json.dumps([event(id="../../etc/passwd")]).encode(), JSON, 422, "[0].id"),
        (
            "NUL in text",
            json.dumps([event(id="nul", payload={"staff": "a\u0000b"})]).encode(),
            JSON,
            422,
            "[0].payload.staff",
        ),
        ("wrong type", json.dumps([event(id="t", payload={"staff": ["a"]})]).encode(), JSON, 422, "[0].payload.staff"),
        ("a number for a body", b"42", JSON, 422, "(event)"),
        (
            "one good one bad",
            json.dumps([event(id="good-9"), event(id="bad-9", payload={})]).encode(),
            JSON,
            422,
            "[1].payload.staff",
        ),
    ]
    before = apps.stream_messages()
    for name, body, headers, status, needle in cases:
        response = apps.intake.post("/v1/evidence", content=body, headers={**headers, **apps.admin})
        assert response.status_code == status, (name, response.status_code, response.text[:500])
        assert needle in response.text, (name, response.text[:500])
    assert apps.stream_messages() == before, "a refused request published something"


def test_a_body_sent_without_a_length_is_still_limited(apps: Apps) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"events": ['
        for _ in range(100):
            yield json.dumps(event(id="c", source="y" * 400)).encode() * 10

    response = apps.intake.post("/v1/evidence", content=chunks(), headers={**JSON, **apps.admin})
    assert response.status_code == 413


def test_an_id_accepted_before_with_other_content_is_refused_409_and_its_replay_is_a_duplicate(apps: Apps) -> None:
    first = event(id="conflict-1")
    assert apps.push([first], apps.admin).json()["accepted"] == 1
    # what the consumers would have stored (none runs in this test)
    from opseval_shared.evidence import parse_evidence_json

    stored = parse_evidence_json(json.dumps(first))

    async def store_it() -> None:
        async with opened_store(f"sqlite:///{apps.store_file}") as store:
            await store.add_events([StoredEvent(stored.id, stored.project, "clock_in", stored.model_dump_json())])

    asyncio.run(store_it())
    changed = apps.push([event(id="ok-2"), event(id="conflict-1", payload={"staff": "李四"})], apps.admin)
    assert changed.status_code == 409 and changed.json()["detail"]["errors"][0]["field"] == "[1].id"
    replay = apps.push([first], apps.admin)
    assert replay.status_code == 200 and replay.json()["results"][0]["status"] == "duplicate"
    # another project's system cannot take the id over either
    squatter = apps.push([event(id="conflict-1", project="guangzhou-2023")], apps.admin)
    assert squatter.status_code == 409


def test_a_project_definition_that_is_invalid_is_refused_naming_the_field(apps: Apps) -> None:
    definition = json.loads(load_definition(DONGGUAN).model_dump_json())
    definition["project"]["id"] = "has space"
    response = apps.intake.post("/v1/projects", content=json.dumps(definition), headers={**JSON, **apps.admin})
    assert response.status_code == 422
    assert response.json()["detail"]["errors"][0]["field"] == "project.id"


def _leaves(node: dict[str, Any], path: str) -> Iterator[tuple[str, dict[str, Any]]]:
    if node.get("children"):
        for i, child in enumerate(node["children"]):
            yield from _leaves(child, f"{path}.children[{i}]")
    else:
        yield path, node


def test_a_definition_whose_references_do_not_resolve_is_refused_naming_each_and_not_stored(apps: Apps) -> None:
    original = load_definition(GUANGZHOU).model_dump_json()
    definition = json.loads(original)
    leaves = [
        leaf
        for i, top in enumerate(definition["indicators"]["indicators"])
        for leaf in _leaves(top, f"indicators.indicators[{i}]")
    ]
    assets_at, assets = next((p, n) for p, n in leaves if n["method"].get("metric", {}).get("name") == "assets.count")
    assets["method"]["metric"]["asset_class"] = "sofware_system"
    rules_at, ruled = next((p, n) for p, n in leaves if n["rules"])
    ruled["rules"] = ["delivrable.*", *ruled["rules"][1:]]

    response = apps.intake.post("/v1/projects", content=json.dumps(definition), headers={**JSON, **apps.admin})

    assert response.status_code == 422, response.text
    errors = response.json()["detail"]["errors"]
    order = {path: i for i, (path, _) in enumerate(leaves)}  # the problems come in the tree's order
    expected = sorted(
        [(order[assets_at], f"{assets_at}.method.metric.asset_class"), (order[rules_at], f"{rules_at}.rules[0]")]
    )
    assert [e["field"] for e in errors] == [field for _, field in expected]
    reasons = " ".join(e["reason"] for e in errors)
    assert "contract 'ops' has no assets of class 'sofware_system'" in reasons
    assert "rule pattern 'delivrable.*' matches no rule" in reasons
    # nothing was stored: the original definition is still the registered one
    again = apps.intake.post("/v1/projects", content=original, headers={**JSON, **apps.admin})
    assert again.status_code == 200 and again.json()["changed"] is False


def test_a_definition_whose_rules_do_not_apply_is_refused_and_not_stored(apps: Apps) -> None:
    original = load_definition(GUANGZHOU).model_dump_json()
    definition = json.loads(original)
    definition["rules"] = {"disable": ["staff.late_arrival"]}
    response = apps.intake.post("/v1/projects", content=json.dumps(definition), headers={**JSON, **apps.admin})
    assert response.status_code == 422, response.text
    (error,) = response.json()["detail"]["errors"]
    assert error["field"] == "rules.disable[0]"
    assert "unknown rule staff.late_arrival" in error["reason"]
    again = apps.intake.post("/v1/projects", content=original, headers={**JSON, **apps.admin})
    assert again.status_code == 200 and again.json()["changed"] is False


def test_evidence_whose_references_do_not_resolve_is_refused_naming_each_and_nothing_is_published(
    apps: Apps,
) -> None:
    def judged(i: int, indicator: str, awarded: float, point: str | None) -> dict[str, Any]:
        payload: dict[str, Any] = {"indicator": indicator, "awarded": awarded, "reason": "判定"}
        if point:
            payload["point"] = point
        return event(id=f"ref-{i}", kind="judgment", contract=None, payload=payload)

    batch = [
        event(id="ref-0"),  # good
        judged(1, "basic", 0.5, "policy"),
        judged(2, "basis", 0.5, "polcy"),
        judged(3, "basis", 1, "policy"),
        event(id="ref-4", kind="incident", payload={"ticket": "T-1", "severity": "urgent"}),
        event(
            id="ref-5",
            kind="survey_response",
            contract="operation",
            payload={"survey": "ops-user-survy", "group": "使用单位", "satisfied": True},
        ),
        event(id="ref-6", kind="inspection_done", payload={"plan": "nightly"}),
        event(
            id="ref-7",
            kind="deliverable_submitted",
            payload={"deliverable": "weekly_reprot", "title": "周报", "document_ref": "OA-1"},
        ),
        event(
            id="ref-8",
            project="guangzhou-2023",
            kind="asset_count",
            payload={"asset_class": "severs", "count": 3},
        ),
        event(id="ref-9", contract=None),
    ]
    before = apps.stream_messages()

    response = apps.push({"events": batch}, apps.admin)

    assert response.status_code == 422, response.text
    errors = response.json()["detail"]["errors"]
    assert [(e["field"], e["id"]) for e in errors] == [
        ("events[1].payload.indicator", "ref-1"),
        ("events[2].payload.point", "ref-2"),
        ("events[3].payload.awarded", "ref-3"),
        ("events[4].payload.severity", "ref-4"),
        ("events[5].payload.survey", "ref-5"),
        ("events[6].payload.plan", "ref-6"),
        ("events[7].payload.deliverable", "ref-7"),
        ("events[8].payload.asset_class", "ref-8"),
        ("events[9].contract", "ref-9"),
    ]
    reasons = [e["reason"] for e in errors]
    assert "unknown indicator 'basic'" in reasons[0]
    assert reasons[2] == "awarded 1 is more than the maximum of point 'policy' (0.5)"
    assert "the project has several contracts: name one" in reasons[8]
    assert apps.stream_messages() == before, "a refused request published something"
    # the good event alone is accepted
    assert apps.push([batch[0]], apps.admin).json()["accepted"] == 1


# -------------------------------------------------------- the timeline over the results API (pushes a year: last)


def test_the_series_answers_the_score_at_each_month_end_ending_with_the_as_of_result(apps: Apps) -> None:
    upstream = apps.key("upstream", ["dongguan-2022"])
    lines = [json.loads(line) for path in sorted((DONGGUAN / "evidence").glob("*.jsonl")) for line in path.open()]
    for start in range(0, len(lines), 50):
        assert apps.push(lines[start : start + 50], upstream).status_code == 200
    evaluator = apps.key("evaluator", ["dongguan-2022"])
    response = apps.reporting.get("/v1/projects/dongguan-2022/series?as_of=2022-10-15", headers=evaluator)
    assert response.status_code == 200, response.text
    points = response.json()
    assert [p["as_of"] for p in points] == [
        f"2022-{m:02d}-{d}" for m, d in zip(range(1, 10), (31, 28, 31, 30, 31, 30, 31, 31, 30), strict=True)
    ] + ["2022-10-15"]
    # the result over the same evidence (earlier tests of this module pushed some of their own)
    scores = apps.reporting.get("/v1/projects/dongguan-2022/report?format=scores&as_of=2022-10-15", headers=evaluator)
    expected = scores.json()
    last = points[-1]
    assert (last["total"], last["grade"], last["assessable"]) == (
        expected["total"],
        expected["grade"],
        expected["assessable"],
    )
    assert last["pending"] == expected["pending"] > 0
    other = apps.reporting.get("/v1/projects/guangzhou-2023/series", headers=evaluator)
    assert other.status_code == 403
