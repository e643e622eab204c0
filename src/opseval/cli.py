"""`opseval`: the one command for people."""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
import unicodedata
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import NoReturn

from opseval_intake.bundle import BundleError, BundleErrors, template_names, template_text
from opseval_shared.metrics import fmt, pct

EXIT_BAD_INPUT = 2


class _Bar:
    """A progress bar on stderr, only when it is a terminal and the run is long enough to need one."""

    def __init__(self) -> None:
        self.enabled = sys.stderr.isatty()
        self.started = time.monotonic()
        self.last = 0.0
        self.drawn = False

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if not self.enabled or now - self.started < 1.0 or (now - self.last < 0.2 and done < total):
            return
        self.last = now
        share = done / total if total else 1.0
        filled = int(share * 30)
        sys.stderr.write(f"\r读取佐证材料 [{'#' * filled}{'.' * (30 - filled)}] {share:6.1%}")
        sys.stderr.flush()
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            sys.stderr.write("\n")


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date (YYYY-MM-DD): {text!r}") from None


def cmd_evaluate(args: argparse.Namespace) -> int:
    from opseval_reporting.output import render_files

    from .embedded import (
        CALENDAR_FILE_VARIABLE,
        evaluate_bundle,
        evaluate_bundle_series,
        installation_calendar,
        write_atomically,
    )

    bar = _Bar()
    try:
        calendar_file = os.environ.get(CALENDAR_FILE_VARIABLE)
        installation = installation_calendar(Path(calendar_file) if calendar_file else None)
        if args.series == "month":
            result, definition, timeline = evaluate_bundle_series(Path(args.bundle), args.as_of, bar, installation)
            result = result.model_copy(update={"timeline": timeline})
        else:
            result, definition = evaluate_bundle(Path(args.bundle), args.as_of, bar, installation)
    except BundleError as exc:
        bar.close()
        return _bad_input(exc)
    bar.close()
    out = Path(args.out) if args.out else Path("out") / result.project
    write_atomically(out, render_files(result, definition, documents=not args.core_only))
    print(f"{result.name}")
    print(f"评价基准日 {result.as_of}  总分 {fmt(result.total, 3)}  等级 {result.grade}")
    for top in result.indicators:
        print(f"  {top.name:<8} {fmt(top.weight, 3):>6} {fmt(top.score, 3):>8} {pct(top.rate):>8}")
    if result.pending:
        assessable = fmt(result.assessable or Decimal(0), 3)
        print(f"  可评权重 {assessable} 分，待评 {fmt(result.pending, 3)} 分（不计入总分）")
    outlook = result.forecast
    if outlook is not None and result.as_of < outlook.period_end:
        print(
            f"  期末预测 {fmt(outlook.total, 3)} 分（{outlook.grade}），"
            f"区间 {fmt(outlook.low, 3)}～{fmt(outlook.high, 3)} 分"
        )
    if result.timeline:
        print("各月末得分：")
        for point in result.timeline:
            print(
                f"  {point.as_of}  {fmt(point.total, 3):>8} {point.grade}  可评 {fmt(point.assessable, 3):>6}"
                f"  问题 {point.findings}"
            )
    print(f"发现问题 {len(result.findings)} 项" + ("：" if result.findings else ""))
    for f in result.findings[: args.show]:
        print(f"  [{f.rule}] {f.message}")
    if len(result.findings) > args.show:
        print(f"  … 其余 {len(result.findings) - args.show} 项见 findings.json")
    for warning in result.warnings:
        print(f"注意：{warning}", file=sys.stderr)
    print(f"输出：{out}/ ({' '.join(sorted(p.name for p in out.iterdir()))})")
    return 0


def _bad_input(exc: BundleError) -> int:
    """Every problem on its own line, each naming its file, line and field; nothing was written."""
    problems = exc.problems if isinstance(exc, BundleErrors) else [exc]
    for problem in problems:
        print(f"opseval: bad input: {problem}", file=sys.stderr)
    if len(problems) > 1:
        more = "at least " if isinstance(exc, BundleErrors) and exc.truncated else ""
        print(f"opseval: {more}{len(problems)} problems; nothing written", file=sys.stderr)
    return EXIT_BAD_INPUT


def cmd_check(args: argparse.Namespace) -> int:
    """Validate a bundle (definitions and every evidence line) without evaluating or writing."""
    from opseval_reporting.content import KIND_LABEL
    from opseval_reporting.pipeline import outside_period_warning

    from .embedded import fold_bundle

    bar = _Bar()
    try:
        ledger = fold_bundle(Path(args.bundle), args.as_of, bar)
    except BundleError as exc:
        bar.close()
        return _bad_input(exc)
    bar.close()
    definition = ledger.definition
    leaves = definition.indicators.leaves()
    print(definition.project.name)
    print(
        f"定义：合同 {len(definition.contracts.contracts)} 个，末级指标 {len(leaves)} 个；"
        f"评价期 {definition.project.evaluation.period.start} 至 {definition.project.evaluation.period.end}，"
        f"评价基准日 {ledger.as_of}"
    )
    print(f"佐证材料 {ledger.events} 条计入评价" + ("：" if ledger.events else ""))
    for kind, n in sorted(ledger.by_kind.items()):
        label = KIND_LABEL.get(kind, kind)
        print(f"  {label}{' ' * (16 - _width(label))}{n:>9}")
    left_out = [
        (ledger.duplicates, "重复推送（同一编号、同一内容）"),
        (ledger.after_as_of, "晚于评价基准日"),
        (ledger.outside_period, "所涉时间在评价期以外"),
        (ledger.corrected, "已被更正或撤回"),
    ]
    for n, why in left_out:
        if n:
            print(f"未计入 {n} 条：{why}")
    warning = outside_period_warning(ledger)
    if warning:
        print(f"注意：{warning}", file=sys.stderr)
    print("检查通过：定义和每一条佐证材料的引用均可解析（未评价，未写入任何文件）")
    return 0


def _width(text: str) -> int:
    """Columns a text takes in a terminal (a Chinese character takes two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def cmd_synth(args: argparse.Namespace) -> int:
    from .synth import write_bundle

    stats = write_bundle(Path(args.out), args.events, seed=args.seed)
    print(f"wrote {stats} events to {args.out}")
    return 0


def cmd_template(args: argparse.Namespace) -> int:
    if not args.name:
        for name in template_names():
            print(name)
        return 0
    try:
        sys.stdout.write(template_text(args.name))
    except KeyError:
        print(f"opseval: unknown template {args.name!r} (built-in: {', '.join(template_names())})", file=sys.stderr)
        return EXIT_BAD_INPUT
    return 0


def cmd_up(args: argparse.Namespace) -> int:
    from .fleet import up

    return up(Path(args.data), args.nats_port, args.port)


def cmd_serve(args: argparse.Namespace) -> int:
    from .fleet import serve

    return serve(args.service)


def cmd_asyncapi(args: argparse.Namespace) -> int:
    from .asyncapi import write_all

    for written in write_all():
        print(f"wrote {written}")
    return 0


# The commands defined in this module. The others' modules (keys and audit, the NATS users, imports …)
# import the fleet's settings, asyncio and the store: a command of this module is parsed without
# them, which spares `opseval evaluate` their import.
OWN_COMMANDS = frozenset({"evaluate", "check", "synth", "template", "up", "serve", "asyncapi"})


def parser(*, others: bool = True) -> argparse.ArgumentParser:
    """The command line; without `others`, only the commands defined in this module."""
    p = argparse.ArgumentParser(prog="opseval", description="Performance evaluation of IT O&M outsourcing (绩效评价)")
    sub = p.add_subparsers(dest="command", required=True)

    ev = sub.add_parser("evaluate", help="evaluate a bundle in-process and write scores, findings and the report")
    ev.add_argument("bundle", help="bundle directory (project.yaml, contracts.yaml, indicators.yaml, *.jsonl)")
    ev.add_argument(
        "--as-of", type=_date, default=None, help="evaluation date (default: the project's as-of or period end)"
    )
    ev.add_argument("--out", default=None, help="output directory (default: out/<project>/)")
    ev.add_argument("--show", type=int, default=10, help="findings to print (default 10)")
    ev.add_argument(
        "--series",
        choices=["month"],
        default=None,
        help="also the score at each month's end over the period (timeline in scores.json)",
    )
    ev.add_argument(
        "--core-only",
        action="store_true",
        help="write only scores, findings and the Markdown/HTML report (no DOCX/XLSX/PDF)",
    )
    # (Ended without the interpreter's teardown: see `run`.)
    ev.set_defaults(func=cmd_evaluate, without_teardown=True)

    ck = sub.add_parser(
        "check", help="validate a bundle's definitions and every evidence line; evaluates and writes nothing"
    )
    ck.add_argument("bundle", help="bundle directory (project.yaml, contracts.yaml, indicators.yaml, *.jsonl)")
    ck.add_argument(
        "--as-of", type=_date, default=None, help="evaluation date (default: the project's as-of or period end)"
    )
    ck.set_defaults(func=cmd_check)

    sy = sub.add_parser("synth", help="write a realistic synthetic bundle for benchmarks and tests")
    sy.add_argument("--events", type=int, required=True, help="approximate number of evidence events")
    sy.add_argument("--out", required=True, help="bundle directory to create")
    sy.add_argument("--seed", type=int, default=7)
    sy.set_defaults(func=cmd_synth)

    tp = sub.add_parser("template", help="list the built-in indicator templates, or print one")
    tp.add_argument("name", nargs="?")
    tp.set_defaults(func=cmd_template)

    up = sub.add_parser("up", help="run nats-server and the four services on this machine (Ctrl-C stops all)")
    up.add_argument("--data", default=".opseval", help="data directory (JetStream files, store, logs)")
    up.add_argument("--nats-port", type=int, default=4223, help="port of the nats-server it starts")
    up.add_argument("--port", type=int, default=8080, help="first HTTP port: reporting, then intake, rules, scoring")
    up.set_defaults(func=cmd_up)

    sv = sub.add_parser("serve", help="run one service (configured by OPSEVAL_* environment variables)")
    sv.add_argument("service", choices=["intake", "rules", "scoring", "reporting"])
    sv.set_defaults(func=cmd_serve)

    aa = sub.add_parser("asyncapi", help="regenerate each service's AsyncAPI document (services/*/asyncapi.json)")
    aa.set_defaults(func=cmd_asyncapi)
    if not others:
        return p

    from .admin import add_parsers as add_admin_parsers

    add_admin_parsers(sub)  # opseval keys … and opseval audit

    from .reference import add_parser as add_measures_parser

    add_measures_parser(sub)  # opseval measures: the standard library with meanings

    from .importer import add_parser as add_import_parsers

    add_import_parsers(sub)  # opseval import … and opseval import-indicators

    from .natsauth import add_parser as add_nats_user_parser

    add_nats_user_parser(sub)  # opseval nats-user NAME --project P: an upstream system's NATS user

    from .projectcli import add_parser as add_project_parser

    add_project_parser(sub)  # opseval project register BUNDLE | show ID: a running fleet over HTTP
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parsed(argv)
    return int(args.func(args))


def _parsed(argv: list[str] | None) -> argparse.Namespace:
    argv = sys.argv[1:] if argv is None else argv
    return parser(others=not argv or argv[0] not in OWN_COMMANDS).parse_args(argv)


def run() -> NoReturn:
    """The `opseval` command. A command that says so (`evaluate`: its files synced and swapped in,
    its summary printed) ends without the interpreter's teardown: freeing a large evaluation's
    objects one by one, and a last collection over them, cost 0.4–0.5 s of CPU at a million events,
    for memory the system takes back whole. Every other command ends as usual (a server's threads
    are joined, its handlers run)."""
    args = _parsed(None)
    code = int(args.func(args))
    if getattr(args, "without_teardown", False):
        sys.stdout.flush()
        sys.stderr.flush()
        logging.shutdown()
        os._exit(code)
    raise SystemExit(code)


if __name__ == "__main__":
    run()
