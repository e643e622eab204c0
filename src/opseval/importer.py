"""`opseval import` and `opseval import-indicators`: exports (CSV, XLSX) into a bundle, all or nothing."""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import re
import sys
import tempfile
from contextlib import suppress
from pathlib import Path

import yaml
from opseval_intake.bundle import BundleError, Problems, evidence_files, iter_lines, read_definition
from opseval_intake.profiles import load_profile, profile_names, profile_text, standard_profile
from opseval_shared.imports import Importer, ImportFailed, ImportProfile, ImportSummary, Target, read_table, set_values
from opseval_shared.indicator_sheet import indicator_system_from_table
from opseval_shared.references import EvidenceReferences

EXIT_BAD_INPUT = 2
IMPORTS_FOLDER = Path("evidence") / "imports"
PREVIEW_EVENTS = 3
_ID = re.compile(rb'"id"\s*:\s*"((?:[^"\\]|\\.)*)"')
_UNSAFE_NAME = re.compile(r"[^\w.\-]+")


def _fail(problems: list[object], truncated: bool = False) -> int:
    for problem in problems:
        print(f"opseval: bad input: {problem}", file=sys.stderr)
    if len(problems) > 1:
        more = "at least " if truncated else ""
        print(f"opseval: {more}{len(problems)} problems; nothing written", file=sys.stderr)
    return EXIT_BAD_INPUT


def _existing_ids(bundle: Path) -> set[bytes]:
    """The ids of the bundle's evidence, read from each line without parsing it whole."""
    ids: set[bytes] = set()
    for raw in iter_lines(bundle):
        match = _ID.search(raw.data)
        if match:
            ids.add(match.group(1))
    return ids


def cmd_import(args: argparse.Namespace) -> int:
    if args.list:
        for name in profile_names():
            standard = standard_profile(name)
            print(f"{name:<20} {standard.kind.value:<22} {standard.name}")
        return 0
    if args.show:
        try:
            sys.stdout.write(profile_text(args.show))
        except KeyError:
            print(
                f"opseval: no standard profile {args.show!r} (standard: {', '.join(profile_names())})", file=sys.stderr
            )
            return EXIT_BAD_INPUT
        return 0
    if not args.profile or not args.files or not args.bundle:
        print("opseval import: give PROFILE FILE… --bundle DIR (or --list, --show NAME)", file=sys.stderr)
        return EXIT_BAD_INPUT
    bundle = Path(args.bundle)
    problems = Problems()
    try:
        profile: ImportProfile = load_profile(args.profile)
        values = set_values(args.set, "--set")
    except (BundleError, ValueError) as exc:
        return _fail([exc])
    definition = read_definition(bundle, problems)
    if problems.found or definition is None:
        return _fail(list(problems.found), problems.truncated)
    references = EvidenceReferences(definition)
    target = Target(definition.project.id, args.contract, args.source, values)
    # A million rows make a great many short-lived lists and tuples: the cycle collector would
    # traverse them again and again (nearly doubling the time) and finds no cycles among them.
    gc.disable()
    try:
        return _import(args, bundle, profile, target, references)
    finally:
        gc.enable()


def _import(
    args: argparse.Namespace, bundle: Path, profile: ImportProfile, target: Target, references: EvidenceReferences
) -> int:
    try:
        Importer(profile, target, references)  # a --set field the kind does not have
    except ValueError as exc:
        return _fail([f"--set: {exc}"])
    out_dir = bundle / IMPORTS_FOLDER
    created = [d for d in (out_dir.parent, out_dir) if not d.exists()]  # removed again if nothing is written
    written: list[tuple[Path, Path, ImportSummary, list[bytes]]] = []  # not the files' bytes: read one at a time
    failed: list[object] = []
    truncated = False
    try:
        for file in args.files:
            path = Path(file)
            try:
                data = path.read_bytes()
            except OSError as exc:
                failed.append(f"{path}: 无法读取（{exc.strerror}）")
                continue
            digest = hashlib.sha256(data).hexdigest()[:12]
            name = f"{profile.id}-{_UNSAFE_NAME.sub('_', path.stem)}-{digest}.jsonl"
            importer = Importer(profile, target, references)
            preview: list[bytes] = []
            tmp: Path | None = None
            try:
                table = read_table(
                    data,
                    str(path),
                    encoding=args.encoding or profile.encoding,
                    delimiter=profile.delimiter,
                    sheet=args.sheet or profile.sheet,
                )
                if args.dry_run:
                    for batch in importer.batches(table):
                        preview = preview or batch[:PREVIEW_EVENTS]
                else:
                    out_dir.mkdir(parents=True, exist_ok=True)
                    fd, tmp_name = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=out_dir)
                    tmp = Path(tmp_name)
                    with os.fdopen(fd, "wb") as fh:
                        for batch in importer.batches(table):  # removed below if a row is bad
                            preview = preview or batch[:PREVIEW_EVENTS]
                            fh.write(b"".join(batch))  # one write a chunk: writelines writes each line
                        fh.flush()
                        os.fsync(fh.fileno())
            except ImportFailed as exc:
                if tmp is not None:
                    tmp.unlink(missing_ok=True)
                failed.extend(exc.problems)
                truncated = truncated or exc.truncated
                continue
            written.append((tmp or Path(), out_dir / name, importer.summary, preview))
        if failed:
            for tmp, *_ in written:
                tmp.unlink(missing_ok=True)
            for folder in reversed(created):
                with suppress(OSError):
                    folder.rmdir()
            return _fail(failed, truncated)
        existing = _existing_ids(bundle) if evidence_files(bundle) else set()
        for tmp, final, summary, preview in written:
            new = _count_new(tmp, existing, summary.events) if not args.dry_run else None
            again = final.exists()
            if not args.dry_run:
                if again:
                    tmp.unlink()  # the same file imported before: the same events, already there
                else:
                    tmp.rename(final)
            _report(args, final, summary, preview, new, existing, again)
    finally:
        for tmp, _, _, _ in written:
            if tmp.name.endswith(".tmp"):
                tmp.unlink(missing_ok=True)
    if args.dry_run:
        print("预览（--dry-run）：未写入任何文件")
    return 0


def _count_new(path: Path, existing: set[bytes], events: int) -> int:
    """How many of the file's `events` lines have an id the bundle does not hold yet: all of them when
    it holds none (the file is not read again: its lines were counted as they were written)."""
    if not existing:
        return events
    new = 0
    with path.open("rb") as fh:
        for line in fh:
            match = _ID.search(line)
            if match and match.group(1) not in existing:
                new += 1
    return new


def _report(
    args: argparse.Namespace,
    final: Path,
    summary: ImportSummary,
    preview: list[bytes],
    new: int | None,
    existing: set[bytes],
    again: bool,
) -> None:
    encoding = f"，编码 {summary.encoding}" if summary.encoding else ""
    print(f"{final.name}: 数据行 {summary.rows} 行{encoding}，佐证材料 {summary.events} 条")
    if summary.repeated_rows:
        print(f"  其中 {summary.repeated_rows} 行与前面某行完全相同（各自保留，编号加 /序号）")
    if args.dry_run:
        seen = sum(1 for line in preview if (m := _ID.search(line)) and m.group(1) in existing)
        for line in preview:
            print("  " + json.dumps(json.loads(line), ensure_ascii=False))
        if seen:
            print(f"  预览的 {seen} 条已在材料包中（重复导入）")
        return
    assert new is not None
    duplicates = summary.events - new
    print(f"  新增 {new} 条" + (f"，重复 {duplicates} 条（此前已导入，不重复计入）" if duplicates else ""))
    print(f"  {final} 已存在：同一文件此前已导入，未改动" if again else f"  写入 {final}")


def cmd_import_indicators(args: argparse.Namespace) -> int:
    path = Path(args.file)
    out = Path(args.out)
    if out.exists() and not args.force:
        print(f"opseval: {out} exists; give --force to replace it", file=sys.stderr)
        return EXIT_BAD_INPUT
    try:
        data = path.read_bytes()
    except OSError as exc:
        return _fail([f"{path}: 无法读取（{exc.strerror}）"])
    try:
        table = read_table(data, str(path), encoding=args.encoding, sheet=args.sheet)
        system, warnings = indicator_system_from_table(
            table, system_id=args.id, name=args.name or path.stem, form=args.form
        )
    except ImportFailed as exc:
        return _fail(list(exc.problems), exc.truncated)
    text = (
        f"# 由 opseval import-indicators 从 {path.name} 生成。末级指标先按评价人判断（judgment）计分，\n"
        "# 指标值（target）和评分标准（description）照录；请逐项改为可由佐证材料计算的计分方法。\n"
    ) + yaml.safe_dump(system, allow_unicode=True, sort_keys=False, width=120)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", dir=out.parent if str(out.parent) else ".")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(text)
    os.replace(tmp, out)
    leaves = sum(1 for _ in _leaves(system["indicators"]))
    print(f"写入 {out}：一级指标 {len(system['indicators'])} 个，末级指标 {leaves} 个，总分 {system['total']}")
    for warning in warnings:
        print(f"注意：{warning}", file=sys.stderr)
    return 0


def _leaves(nodes: list[dict[str, object]]) -> list[object]:
    out: list[object] = []
    for node in nodes:
        children = node.get("children")
        out.extend(_leaves(children) if isinstance(children, list) else [node])
    return out


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    im = sub.add_parser(
        "import",
        help="turn CSV/XLSX exports into evidence of a bundle through a mapping profile (all or nothing)",
    )
    im.add_argument("profile", nargs="?", help="a standard profile (see --list) or a profile YAML file")
    im.add_argument("files", nargs="*", help="CSV or XLSX files")
    im.add_argument("--bundle", help="the bundle the evidence is for (its project, contracts and checks)")
    im.add_argument("--contract", default=None, help="the contract the rows belong to (needed with several)")
    im.add_argument("--encoding", default=None, help="CSV encoding (default: the profile's, else UTF-8 or GBK)")
    im.add_argument("--sheet", default=None, help="XLSX worksheet (default: the profile's, else the first)")
    im.add_argument("--source", default=None, help="the events' source (default: the profile's)")
    im.add_argument("--set", action="append", default=[], metavar="FIELD=VALUE", help="a payload field for every row")
    im.add_argument("--dry-run", action="store_true", help="check and preview; write nothing")
    im.add_argument("--list", action="store_true", help="list the standard profiles")
    im.add_argument("--show", metavar="NAME", help="print a standard profile (to copy and adapt)")
    im.set_defaults(func=cmd_import)

    ii = sub.add_parser(
        "import-indicators",
        help="a starting indicators.yaml from an indicator spreadsheet (一级/二级/三级指标, 权重, 指标值, 评分标准)",
    )
    ii.add_argument("file", help="CSV or XLSX file")
    ii.add_argument("--out", default="indicators.yaml", help="file to write (default: indicators.yaml)")
    ii.add_argument("--id", default="indicators", help="the system's id (a slug)")
    ii.add_argument("--name", default=None, help="the system's name (default: the file's name)")
    ii.add_argument(
        "--form", default="third_party", choices=["third_party", "department", "self_evaluation", "key_project"]
    )
    ii.add_argument("--encoding", default=None)
    ii.add_argument("--sheet", default=None)
    ii.add_argument("--force", action="store_true", help="replace an existing file")
    ii.set_defaults(func=cmd_import_indicators)
