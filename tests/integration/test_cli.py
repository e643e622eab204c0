"""The `opseval` command as a person uses it."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from opseval_intake.bundle import template_names, template_text
from opseval_reporting.output import pdf_available
from opseval_shared.indicators import IndicatorSystem

from opseval import cli
from opseval.embedded import evaluate_bundle

ROOT = Path(__file__).resolve().parents[2]


def test_evaluate_prints_the_result_and_writes_every_document(tmp_path: Path) -> None:
    out = tmp_path / "out"
    run = subprocess.run(
        [sys.executable, "-m", "opseval.cli", "evaluate", str(ROOT / "examples" / "guangzhou-2023"), "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    assert "总分 100  等级 优" in run.stdout
    expected = ["findings.json", "report.docx", "report.html", "report.md", "scores.json", "scores.xlsx"]
    assert sorted(p.name for p in out.iterdir()) == sorted(expected + (["report.pdf"] if pdf_available() else []))
    scores = json.loads((out / "scores.json").read_text(encoding="utf-8"))
    assert (scores["project"], scores["as_of"], scores["total"], scores["grade"]) == (
        "guangzhou-2023",
        "2024-06-30",
        100,
        "优",
    )
    report = (out / "report.md").read_text(encoding="utf-8")
    for heading in (
        "## 摘要",
        "## 一、基本情况",
        "## 四、绩效评价指标分析",
        "## 六、有关建议",
        "## 七、其他需要说明的问题",
    ):
        assert heading in report
    assert '<html lang="zh-CN">' in (out / "report.html").read_text(encoding="utf-8")


def test_evaluate_parses_its_command_line_without_the_fleet_commands_modules(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # The fleet's modules (settings, store, asyncio) are not imported to parse `opseval evaluate`.
    code = (
        "import sys; from opseval.cli import parser; parser(others=False).parse_args(['evaluate', 'b']);"
        "print(sorted(m for m in ('asyncio', 'opseval.admin', 'opseval_infra.settings') if m in sys.modules))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert run.stdout.strip() == "[]"
    # Every command is still listed, and one mistyped names them all.
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    listing = capsys.readouterr().out
    assert all(name in listing for name in ("evaluate", "keys", "audit", "import", "nats-user", "project"))
    assert set(listing.replace(",", " ").replace("{", " ").replace("}", " ").split()) > cli.OWN_COMMANDS
    with pytest.raises(SystemExit):
        cli.main(["evaluat"])
    assert "keys" in capsys.readouterr().err


def test_every_built_in_template_is_a_valid_indicator_system() -> None:
    assert template_names() == ["department-2020", "self-evaluation"]
    for name in template_names():
        system = IndicatorSystem.model_validate(yaml.safe_load(template_text(name)))
        assert system.total == 100 and system.leaves()


def test_a_bundle_can_score_with_a_built_in_template(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    shutil.copytree(ROOT / "examples" / "guangzhou-2021", bundle)
    (bundle / "indicators.yaml").write_text("template: self-evaluation\n", encoding="utf-8")
    # the example's judgments are of its own tree's leaves, which the template does not have
    (bundle / "evidence" / "judgments.jsonl").unlink()
    result, _ = evaluate_bundle(bundle)
    assert [t.name for t in result.indicators] == ["预算执行率", "产出指标", "效益指标", "满意度指标"]
    assert 0 < result.total <= 100
    assert {"fault.sla_breach", "deliverable.late"} <= {f.rule for f in result.findings}


def test_template_command_lists_and_prints(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["template"]) == 0
    assert capsys.readouterr().out.split() == ["department-2020", "self-evaluation"]
    assert cli.main(["template", "self-evaluation"]) == 0
    assert "预算执行率" in capsys.readouterr().out
    assert cli.main(["template", "nope"]) == 2


def test_progress_bar_draws_only_on_a_terminal_and_only_on_long_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    clock = iter([0.0, 0.5, 2.0, 2.1, 3.0])
    monkeypatch.setattr(cli.time, "monotonic", lambda: next(clock))
    screen = Terminal()
    monkeypatch.setattr(cli.sys, "stderr", screen)
    bar = cli._Bar()  # started at 0.0
    bar(10, 100)  # 0.5 s: too early to bother
    assert screen.getvalue() == ""
    bar(50, 100)  # 2.0 s
    assert "50.0%" in screen.getvalue()
    bar.close()
    assert screen.getvalue().endswith("\n")

    monkeypatch.setattr(cli.sys, "stderr", io.StringIO())  # not a terminal
    quiet = cli._Bar()
    quiet(50, 100)
    assert cli.sys.stderr.getvalue() == ""


def test_evaluate_series_month_prints_and_writes_the_score_at_each_month_end(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out"
    bundle = ROOT / "examples" / "guangzhou-2021"
    argv = ["evaluate", str(bundle), "--as-of", "2021-03-15", "--series", "month", "--out", str(out), "--core-only"]
    assert cli.main(argv) == 0
    printed = capsys.readouterr().out
    assert "各月末得分：" in printed and "待评" in printed and "期末预测" in printed
    scores = json.loads((out / "scores.json").read_text(encoding="utf-8"))
    timeline = scores["timeline"]
    assert [p["as_of"] for p in timeline] == ["2021-01-31", "2021-02-28", "2021-03-15"]
    assert (timeline[-1]["total"], timeline[-1]["assessable"]) == (scores["total"], scores["assessable"])
    report = (out / "report.md").read_text(encoding="utf-8")
    assert "## 得分走势" in report
    # every point of a period still running is interim, and its grade says so
    trend = report[report.index("## 得分走势") : report.index("## ", report.index("## 得分走势") + 3)]
    assert trend.count("（阶段性）") == len(timeline)


def test_evaluate_ends_without_teardown_yet_with_its_exit_code_and_every_line_written(tmp_path: Path) -> None:
    # `run` ends `evaluate` with os._exit: what was printed to a pipe must be flushed first
    # (with output buffered, as it is unless PYTHONUNBUFFERED says otherwise).
    buffered = {**os.environ, "PYTHONUNBUFFERED": ""}
    bad = subprocess.run(
        [sys.executable, "-m", "opseval.cli", "evaluate", str(tmp_path / "missing")],
        capture_output=True,
        text=True,
        env=buffered,
    )
    assert bad.returncode == 2 and "bundle directory not found" in bad.stderr
    good = subprocess.run(
        [
            sys.executable,
            "-m",
            "opseval.cli",
            "evaluate",
            str(ROOT / "examples" / "dongguan-2022"),
            "--show",
            "50",
            "--out",
            str(tmp_path / "out"),
            "--core-only",
        ],
        capture_output=True,
        text=True,
        env=buffered,
    )
    assert good.returncode == 0, good.stderr
    assert good.stdout.rstrip().endswith("(findings.json report.html report.md scores.json)")


def test_only_evaluate_skips_the_interpreters_teardown(tmp_path: Path) -> None:
    # An exit handler stands for the teardown: it runs after `check`, not after `evaluate`.
    with_handler = "import atexit, sys; atexit.register(print, 'teardown'); from opseval.cli import run; run()"
    bundle = str(ROOT / "examples" / "dongguan-2022")
    runs = {
        command: subprocess.run(
            [sys.executable, "-c", with_handler, command, bundle, *extra],
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": ""},
        )
        for command, extra in [("check", []), ("evaluate", ["--out", str(tmp_path / "out"), "--core-only"])]
    }
    assert [r.returncode for r in runs.values()] == [0, 0], [r.stderr for r in runs.values()]
    assert runs["check"].stdout.rstrip().endswith("teardown")
    assert "teardown" not in runs["evaluate"].stdout and runs["evaluate"].stdout.strip()
