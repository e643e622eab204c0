"""The embedded evaluation: read a bundle from disk, fold it, evaluate, write the files atomically."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from pathlib import Path

from opseval_intake.bundle import BundleError, evidence_files, iter_lines, load_definition, parse_line, read_line_at
from opseval_reporting.pipeline import evaluate_ledger
from opseval_shared.ledger import REPLAYED, EvidenceReferenceError, Ledger
from opseval_shared.project import ProjectDefinition
from opseval_shared.results import EvaluationResult

Progress = Callable[[int, int], None]


def fold_bundle(bundle: Path, as_of: date | None = None, progress: Progress | None = None) -> Ledger:
    definition = load_definition(bundle)
    ledger = Ledger(definition, as_of or definition.project.evaluation.default_as_of)
    files = evidence_files(bundle)
    index = {path: i for i, path in enumerate(files)}
    sizes = [p.stat().st_size for p in files]
    starts = [sum(sizes[:i]) for i in range(len(files))]  # where each file begins in the whole bundle
    total = sum(sizes)
    path, file_no, start = None, 0, 0
    add = ledger.add  # the loop runs once per event: names bound once, not looked up each time
    for raw in iter_lines(bundle):
        event = parse_line(raw)
        if raw.path is not path:
            path = raw.path
            file_no, start = index[path] << 40, starts[index[path]]
        try:
            # The origin (file, byte offset) lets a replayed id be checked against its first event.
            outcome = add(event, file_no | raw.offset)
        except EvidenceReferenceError as exc:
            raise BundleError(raw.path, raw.line, exc.field_path, str(exc)) from exc
        if outcome is REPLAYED:
            origin = ledger.origin_of(event.id)
            assert origin is not None
            first = read_line_at(files[origin >> 40], origin & (1 << 40) - 1)
            if parse_line(first) != event:
                raise BundleError(
                    raw.path,
                    raw.line,
                    "id",
                    f"event id {event.id!r} was already used for different content at {first.path}:{first.line}",
                )
        if progress is not None and not raw.line & 0x3FF:  # every 1,024th line of a file
            progress(start + raw.offset, total)
    if progress is not None:
        progress(total, total)
    return ledger


def evaluate_bundle(
    bundle: Path, as_of: date | None = None, progress: Progress | None = None
) -> tuple[EvaluationResult, ProjectDefinition]:
    ledger = fold_bundle(bundle, as_of, progress)
    return evaluate_ledger(ledger), ledger.definition


def write_atomically(out_dir: Path, files: Mapping[str, Iterable[bytes]]) -> None:
    """All files appear together or none do: written to a sibling temp dir, then swapped in."""
    out_dir = out_dir.resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.tmp-", dir=out_dir.parent))
    umask = os.umask(0)
    os.umask(umask)
    tmp.chmod(0o777 & ~umask)  # mkdtemp makes it 0700; the result should be as readable as any new directory
    try:
        for name, chunks in files.items():
            with open(tmp / name, "wb") as fh:
                fh.writelines(chunks)
                fh.flush()
                os.fsync(fh.fileno())
        if out_dir.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.old-", dir=out_dir.parent))
            old.rmdir()
            out_dir.rename(old)
            tmp.rename(out_dir)
            shutil.rmtree(old, ignore_errors=True)
        else:
            tmp.rename(out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
