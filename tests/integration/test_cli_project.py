"""`opseval project register|show` without a fleet: a bad bundle is refused with its located
problems before anything is sent, a fleet that does not answer is named, a missing key too.
(Registering and showing against a running fleet: tests/e2e/test_corrections.py.)"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from natsfixtures import free_port

from opseval import cli

DONGGUAN = Path(__file__).resolve().parents[2] / "examples" / "dongguan-2022"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_bundle_with_a_problem_is_refused_with_its_location_and_nothing_sent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    bundle = tmp_path / "bundle"
    shutil.copytree(DONGGUAN, bundle, ignore=shutil.ignore_patterns("evidence"))
    text = (bundle / "contracts.yaml").read_text(encoding="utf-8")
    (bundle / "contracts.yaml").write_text(text.replace("resolve_minutes: 120}", "resolve_minutes: -5}", 1), "utf-8")
    monkeypatch.setenv("OPSEVAL_API_KEY", "opseval_k000000000000_" + "A" * 43)
    unused = f"http://127.0.0.1:{free_port()}"  # nothing listens: a request would fail with exit 1
    code, _, err = run(capsys, "project", "register", str(bundle), "--intake", unused)
    assert code == 2 and "contracts.yaml:" in err and "resolve_minutes" in err


def test_a_fleet_that_does_not_answer_and_a_missing_key_are_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)  # no .opseval/admin.key here
    monkeypatch.delenv("OPSEVAL_API_KEY", raising=False)
    code, _, err = run(capsys, "project", "show", "dongguan-2022")
    assert code == 2 and "no API key" in err and "OPSEVAL_API_KEY" in err
    monkeypatch.setenv("OPSEVAL_API_KEY", "opseval_k000000000000_" + "A" * 43)
    unused = f"http://127.0.0.1:{free_port()}"
    code, _, err = run(capsys, "project", "show", "dongguan-2022", "--reporting", unused)
    assert code == 1 and "not reachable" in err and "is the fleet running?" in err
