"""`opseval keys …` and `opseval audit`: administrators manage keys where the store is, and every
change lands in the audit trail."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from opseval_infra.keys import authenticate
from opseval_infra.store.factory import opened_store

from opseval import cli


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def check_token(store_file: Path, token: str) -> str | None:
    async def check() -> str | None:
        async with opened_store(f"sqlite:///{store_file}") as store:
            principal = await authenticate(store, f"Bearer {token}")
        return None if principal is None else ",".join(principal.key.projects)

    return asyncio.run(check())


def test_keys_are_issued_scoped_listed_and_revoked_and_each_change_is_audited(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    store_file = tmp_path / "opseval.db"
    monkeypatch.setenv("OPSEVAL_STORE_URL", f"sqlite:///{store_file}")
    code, out, err = run(capsys, "keys", "create", "--name", "考勤系统", "--role", "upstream", "--project", "p1")
    assert code == 0 and "shown this once" in err
    created = json.loads(out)
    assert created["role"] == "upstream" and created["projects"] == ["p1"]
    assert check_token(store_file, created["token"]) == "p1"

    code, out, _ = run(capsys, "keys", "scope", created["id"], "--project", "p2", "--project", "p3")
    assert code == 0 and json.loads(out)["projects"] == ["p2", "p3"]
    assert check_token(store_file, created["token"]) == "p2,p3"

    code, out, _ = run(capsys, "keys", "list")
    assert code == 0 and created["id"] in out and "active" in out and created["token"] not in out

    code, out, _ = run(capsys, "keys", "revoke", created["id"])
    assert code == 0 and json.loads(out)["revoked_at"]
    assert check_token(store_file, created["token"]) is None

    code, out, _ = run(capsys, "audit", "--action", "key.*")
    trail = [json.loads(line) for line in out.splitlines()]
    assert [(e["action"], e["detail"]["key"]) for e in trail] == [
        ("key.create", created["id"]),
        ("key.scope", created["id"]),
        ("key.revoke", created["id"]),
    ]
    assert all(e["actor"].startswith("cli:") for e in trail)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["keys", "create", "--name", "x", "--role", "evaluator"], "at least one project"),
        (["keys", "create", "--name", "x", "--role", "evaluator", "--project", "a.>"], "not a project id"),
        (["keys", "create", "--name", "x", "--role", "evaluator", "--project", "p", "--all-projects"], "not both"),
        (["keys", "revoke", "k000000000000"], "no key"),
    ],
)
def test_bad_key_commands_exit_2_saying_why(
    argv: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("OPSEVAL_STORE_URL", f"sqlite:///{tmp_path / 'opseval.db'}")
    code, _, err = run(capsys, *argv)
    assert code == 2 and message in err
