"""The embedded evaluation: read a bundle from disk, fold it, evaluate, write the files atomically."""

from __future__ import annotations

import gc
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date
from pathlib import Path

from opseval_intake.bundle import (
    MAX_LINE_BYTES,
    RULES_FILE,
    BundleError,
    Problems,
    RawLine,
    evidence_files,
    file_lines,
    load_calendar_file,
    parse_line,
    read_definition,
    read_line_at,
    read_yaml,
)
from opseval_reporting.pipeline import evaluate_ledger, evaluate_series, month_ends, timeline_point
from opseval_shared.calendar import WorkCalendar
from opseval_shared.evidence import EVIDENCE_ADAPTER, Evidence
from opseval_shared.holidays import HolidayCalendar
from opseval_shared.ledger import EvidenceReferenceError, Ledger, MonthEndFold
from opseval_shared.project import ProjectDefinition
from opseval_shared.results import EvaluationResult, TimelinePoint
from pydantic import ValidationError

Progress = Callable[[int, int], None]
# ServiceSettings.calendar_file's variable, read by `opseval evaluate` without pydantic-settings
# (whose import would add to every evaluation's start-up)
CALENDAR_FILE_VARIABLE = "OPSEVAL_CALENDAR_FILE"


def known_rule_ids(bundle: Path | None = None) -> list[str]:
    """The ids of the rules an indicator's `rules` patterns may name: the standard library's and the
    bundle's own (its rules.yaml)."""
    from opseval_rules.standard import standard_rule_set

    ids = {r.id for r in standard_rule_set().rules}
    if bundle is not None and os.path.isfile(bundle / RULES_FILE):
        try:
            data, _ = read_yaml(bundle / RULES_FILE)
        except BundleError:
            data = None  # reported where the file is read
        if isinstance(data, dict) and isinstance(data.get("rules"), list):
            ids |= {r["id"] for r in data["rules"] if isinstance(r, dict) and isinstance(r.get("id"), str)}
    return sorted(ids)


def check_project_rules(bundle: Path, definition: ProjectDefinition, problems: Problems) -> None:
    """The bundle's rules.yaml applied to the standard library, each mistake located in the file, and
    every measure a rule binds known to the project."""
    from opseval_rules.rulefiles import RuleDefinitionError, RuleSource
    from opseval_rules.standard import measure_problems, project_rule_set

    path = bundle / RULES_FILE
    source = RuleSource(str(path), *read_yaml(path)) if os.path.isfile(path) else None
    try:
        rule_set = project_rule_set(definition, source)
    except RuleDefinitionError as exc:
        problems.add(BundleError(exc.path, exc.line, exc.field, exc.message))
        return
    for problem in measure_problems(rule_set, definition):
        located = problem.located(source)
        problems.add(BundleError(located.path, located.line, located.field, located.message))


def checked_definition(bundle: Path, problems: Problems) -> ProjectDefinition | None:
    """The bundle's definition, its rules.yaml applied to it; each problem added to `problems`."""
    definition = read_definition(bundle, problems, known_rule_ids(bundle))
    if definition is not None:
        check_project_rules(bundle, definition, problems)
    return definition


def fold_bundle(
    bundle: Path, as_of: date | None = None, progress: Progress | None = None, keep: list[Evidence] | None = None
) -> Ledger:
    """The bundle folded into a ledger, or BundleError naming every problem found in it: in the
    definitions and on each evidence line (a broken definition still has its evidence parsed).
    `keep` collects the parsed events (for a timeline, which folds them again by month)."""
    problems = Problems()
    definition = checked_definition(bundle, problems)
    if not bundle.is_dir():
        problems.raise_any()
    ledger = None
    before = len(problems.found)
    try:
        files = evidence_files(bundle)
        if definition is not None:
            ledger = Ledger(definition, as_of or definition.project.evaluation.default_as_of)
        _fold_lines(bundle, files, ledger, problems, progress, keep)
        if ledger is not None and ledger.unfolds and len(problems.found) == before and not problems.truncated:
            # A correction came after the event it names: that event is taken out of the fold again,
            # read back from its line (with those it displaced; `Ledger.unfold`).
            _unfold(files, ledger)
        if ledger is not None and ledger.stale:
            # What unfold cannot undo exactly, or a correction of an event the fold reported a problem
            # of (a reference mistyped, then corrected): the lines are folded again with the events
            # the corrections name left out from the start (and their problems no longer count).
            del problems.found[before:]
            problems.truncated = False
            ledger = Ledger(ledger.definition, ledger.as_of, ledger.noted_out)
            if keep is not None:
                keep.clear()
            _fold_lines(bundle, files, ledger, problems, None, keep)
        if ledger is not None:
            _unknown_corrected(files, ledger, problems)
    except BundleError as exc:  # a file that cannot be read on: reported with what was found before it
        problems.add(exc)
    problems.raise_any()
    assert ledger is not None
    return ledger


_OFFSET = (1 << 40) - 1  # an origin: the file's number above, the byte offset of its line below


def _unfold(files: list[Path], ledger: Ledger) -> None:
    """Hand the ledger back the events it needs to take out of the fold (`Ledger.to_unfold`), each
    read again from where it was found (a seek to its line: they were all parsed before)."""
    wanted = ledger.origins_of(ledger.to_unfold())
    events = []
    for n, path in enumerate(files):
        offsets = sorted(origin & _OFFSET for origin in wanted.values() if origin >> 40 == n)
        if not offsets:
            continue
        with path.open("rb") as fh:
            for offset in offsets:
                fh.seek(offset)
                line = fh.readline(MAX_LINE_BYTES + 4)
                events.append(EVIDENCE_ADAPTER.validate_json(line.removeprefix(b"\xef\xbb\xbf")))
    ledger.unfold(events)


def _unknown_corrected(files: list[Path], ledger: Ledger, problems: Problems) -> None:
    """A correction or retraction must name an event of the bundle: a mistyped id would leave the
    event it meant in force."""
    notes = ledger.corrections(also_later=True)
    retractions = {n.event_id for n in notes if n.retracts}
    for note in notes:
        what = "retracts" if note.retracts else "corrects"
        if note.target in retractions:
            message = f"{what} the retraction {note.target!r}: a retraction stands; send the event again under a new id"
        elif not ledger.received(note.target):
            message = f"{what} event {note.target!r}, which is not in the bundle"
        else:
            continue
        origin = ledger.origin_of(note.event_id)
        assert origin is not None
        line = read_line_at(files[origin >> 40], origin & _OFFSET)
        field = "payload.event" if note.retracts else "corrects.event"
        if not problems.add(BundleError(line.path, line.line, field, message)):
            return


def _fold_lines(
    bundle: Path,
    files: list[Path],
    ledger: Ledger | MonthEndFold | None,
    problems: Problems,
    progress: Progress | None,
    keep: list[Evidence] | None = None,
) -> None:
    sizes = [p.stat().st_size for p in files]
    total = sum(sizes)
    if ledger is None:
        keep = None  # (only folded events are kept)
    # parse_line's own validation, without the TypeAdapter's Python wrapper (a call per line);
    # parse_line words its errors
    validate = EVIDENCE_ADAPTER.validator.validate_json
    # The line being read (where a problem the fold finds is reported), and whether the problems
    # found are all that will be reported.
    path, number, full = Path(), 0, False

    def events() -> Iterator[tuple[Evidence, int]]:
        """Each line's event with its origin (file, byte offset): a replayed id is checked against its
        first event through it. A line that is not an event is reported and skipped."""
        nonlocal path, number, full
        start = 0  # where the file begins in the whole bundle
        for n, path in enumerate(files):
            file_no = n << 40
            # file_lines reads as iter_lines does (the baseline of bench/evaluate_scale.py), without a
            # RawLine per line: one is made only for a line that needs it.
            for number, offset, data in file_lines(path):
                try:
                    event = validate(data)
                except ValidationError:
                    try:
                        parse_line(RawLine(path, number, offset, data))  # raises the located BundleError
                    except BundleError as exc:
                        if not problems.add(exc):
                            full = True
                            return
                        continue
                    raise  # (parse_line validates as validate does)
                if keep is not None:
                    keep.append(event)
                yield event, file_no | offset
                if progress is not None and not number & 0x3FF:  # every 1,024th line of a file
                    progress(start + offset, total)
            start += sizes[n]

    lines = events()
    if ledger is None:  # (no definition: the lines are only checked)
        for _ in lines:
            pass
    # The fold stops at an event it refuses or that was folded before, and goes on with the rest.
    while ledger is not None and not full:
        try:
            replayed = ledger.add_many(lines)
        except EvidenceReferenceError as exc:
            full = not problems.add(BundleError(path, number, exc.field_path, str(exc)))
            continue
        if replayed is None:
            break
        origin = ledger.origin_of(replayed.id)
        assert origin is not None
        first = read_line_at(files[origin >> 40], origin & _OFFSET)
        if parse_line(first) != replayed:
            message = f"event id {replayed.id!r} was already used for different content at {first.path}:{first.line}"
            full = not problems.add(BundleError(path, number, "id", message))
    if progress is not None and not full:
        progress(total, total)


def evaluate_bundle(
    bundle: Path,
    as_of: date | None = None,
    progress: Progress | None = None,
    installation: HolidayCalendar | None = None,
    keep: list[Evidence] | None = None,
) -> tuple[EvaluationResult, ProjectDefinition]:
    ledger = fold_bundle(bundle, as_of, progress, keep)
    # The ledger lives until the evaluation ends, and at a million events it holds millions of
    # references to ids: each full pass of the cyclic collector would walk them all again (≈ 0.3 s
    # each at 1M, twice per evaluation) to find no garbage. Frozen, they are left out of its passes;
    # reference counting still frees everything as usual.
    gc.freeze()
    try:
        return evaluate_ledger(ledger, work=WorkCalendar(installation)), ledger.definition
    finally:
        gc.unfreeze()


def bundle_series(
    events: list[Evidence], definition: ProjectDefinition, as_of: date, installation: HolidayCalendar | None = None
) -> tuple[TimelinePoint, ...]:
    """The score at each month's end of the period up to `as_of`, of the events evaluate_bundle kept."""
    return evaluate_series(definition, events, as_of, work=WorkCalendar(installation))


def evaluate_bundle_series(
    bundle: Path,
    as_of: date | None = None,
    progress: Progress | None = None,
    installation: HolidayCalendar | None = None,
) -> tuple[EvaluationResult, ProjectDefinition, tuple[TimelinePoint, ...]]:
    """The evaluation (as evaluate_bundle) and the score at each month's end of the period up to the
    as-of date, the evidence read once: each event is folded into the ledger of its month
    (`MonthEndFold`), and each month-end's evaluation absorbs one month more, so the timeline costs
    its evaluations and no fold of its own; the last is the result itself. A bundle whose events
    correct others is folded again per month-end instead (`evaluate_series`, its events kept)."""
    problems = Problems()
    definition = checked_definition(bundle, problems)
    if definition is None or not bundle.is_dir():  # evaluate_bundle reports it (and every line's problems)
        return _series_refolded(bundle, as_of, progress, installation)
    day = as_of or definition.project.evaluation.default_as_of
    days = month_ends(definition.project.evaluation.period, day)
    fold = MonthEndFold(definition, days)
    try:
        _fold_lines(bundle, evidence_files(bundle), fold, problems, progress)
    except BundleError as exc:
        problems.add(exc)
    if fold.has_corrections:
        # A correction may leave out an event of an earlier month: the lines are read again, kept, and
        # each month-end folded anew where a correction needs it (also for the problems: a corrected
        # event's own problems no longer count).
        del fold
        return _series_refolded(bundle, as_of, None, installation)
    problems.raise_any()
    work = WorkCalendar(installation)
    points: list[TimelinePoint] = []
    for day, ledger in fold.at():
        # The result is evaluated as evaluate_bundle evaluates it, with a calendar of its own; the
        # month-ends before it share one (its caches).
        last = day == days[-1]
        gc.freeze()  # (see evaluate_bundle)
        try:
            result = evaluate_ledger(ledger, work=WorkCalendar(installation) if last else work)
        finally:
            gc.unfreeze()
        points.append(timeline_point(day, result))
    return result, definition, tuple(points)


def _series_refolded(
    bundle: Path, as_of: date | None, progress: Progress | None, installation: HolidayCalendar | None
) -> tuple[EvaluationResult, ProjectDefinition, tuple[TimelinePoint, ...]]:
    """evaluate_bundle_series the long way: every event kept, each month-end folded by evaluate_series."""
    events: list[Evidence] = []
    result, definition = evaluate_bundle(bundle, as_of, progress, installation, events)
    return result, definition, bundle_series(events, definition, result.as_of, installation)


def installation_calendar(path: Path | None) -> HolidayCalendar | None:
    """The installation's declared calendar (OPSEVAL_CALENDAR_FILE), if one is set; BundleError if bad."""
    return load_calendar_file(path) if path is not None else None


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
