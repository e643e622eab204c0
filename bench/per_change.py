"""What one change costs the fleet's evaluations on a project that already holds many events (issue 14:
"in time proportional to the change"), measured in-process, without NATS, HTTP or a database.

For each size it folds the synthetic bundle's events in the order upstream systems send them (by
`recorded_at`, as `fleet_throughput.py` sends them) up to `--batches` × `--batch` events short of
the end, then adds one batch at a time and runs, per batch, what the services run per change:

  rules     `find` (the measures the rules bind, durable_rules) and the measurements the score tree
            asks for, made in the same context — the rules service's evaluation (`measured`)
  scoring   `evaluate_ledger` with those findings and measurements — the scoring service's, and the
            full result
  dump      the stored forms of that change as the store writes them: the result and the findings
            (with the measurements) with their evidence ids apart (`evidence_apart`), compressed
            part by part (the scores are stored without the leaves' ids beside the result)
  read      the scoring service's read of the findings the rules service stored, decompressed
            (each service with the evidence lists it keeps between changes, as two processes keep
            them)

and, as the baseline timed in the same run, folding the same batch into the ledger (what the change
itself brings) and evaluating the project from scratch (what an evaluation not kept between
changes pays: fold every event, then `find` and `evaluate_ledger`). It prints medians in ms of CPU
time (`time.process_time`) and the ratios per change ÷ fold of the batch and per change ÷ from
scratch. A benchmark, not a test: it asserts nothing about time and exits 0.

  uv run --frozen python bench/per_change.py --sizes 100k,1M
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from evaluate_scale import bundle_events, ensure_bundle, label, parse_size, renamed_events, replay_bundle_size
from opseval_infra.store.base import compress, decompressed_parts
from opseval_intake.bundle import Problems
from opseval_rules.service import measured
from opseval_scoring.evaluation import evaluate_ledger
from opseval_shared import evidence_apart
from opseval_shared.calendar import WorkCalendar
from opseval_shared.evidence import Evidence
from opseval_shared.evidence_apart import apart_parts, joined
from opseval_shared.ledger import Ledger
from opseval_shared.messaging import FindingsChanged
from opseval_shared.metrics import MetricContext
from opseval_shared.project import ProjectDefinition

from opseval.embedded import checked_definition

ms = 1000.0


def one_change(ledger: Ledger, work: WorkCalendar) -> tuple[float, float, float, float]:
    """CPU s of the rules' and the scoring's evaluation of one change, of dumping what is stored, and
    of scoring's read of the rules' findings."""
    start = time.process_time()
    findings, measurements, years = measured(MetricContext(ledger, work))
    rules = time.process_time()
    message = FindingsChanged(
        project="p",
        events_folded=ledger.events,
        as_of=ledger.as_of,
        findings=tuple(findings),
        last_seq=ledger.events,
        definition_revision="r",
        measurements=measurements,
        calendar_years=years,
    )
    evidence_apart._KEPT_LISTS = RULES_KEPT
    stored = compress(apart_parts(message))
    dumped = time.process_time()
    # The scoring service reads the findings back from the rules' snapshot (another process, with
    # the lists it read and wrote kept, not the rules') and, having folded the same events, takes
    # the measurements (`shipped_measurements`).
    evidence_apart._KEPT_LISTS = SCORING_KEPT
    shipped = joined(decompressed_parts(stored), FindingsChanged)
    made = shipped.measurements_for("r", ledger.as_of, ledger.events, ledger.events)
    read = time.process_time()
    result = evaluate_ledger(ledger, lambda ctx: shipped.findings, work, made, shipped.calendar_years)
    scoring = time.process_time()
    compress(apart_parts(result))
    return rules - start, scoring - read, dumped - rules + time.process_time() - scoring, read - dumped


# The lists each service keeps between its dumps and reads (`evidence_apart._KEPT_LISTS`), as two
# processes keep them.
RULES_KEPT, SCORING_KEPT = (evidence_apart._KeptLists(at_most=evidence_apart._KEPT_LISTS.at_most) for _ in "rs")


def from_scratch(definition: ProjectDefinition, events: list[Evidence]) -> float:
    start = time.process_time()
    ledger = Ledger(definition, definition.project.evaluation.default_as_of)
    for event in events:
        ledger.add(event)
    one_change(ledger, WorkCalendar())
    return time.process_time() - start


def measure(events_wanted: int, batch: int, batches: int, replay: bool) -> None:
    bundle = ensure_bundle(events_wanted, 7)
    definition = checked_definition(bundle, Problems())
    assert definition is not None
    events = bundle_events(bundle)
    if replay:
        # As fleet_throughput.py's latency phase on the bulk project: every event held, then the first
        # events of a bundle of its tier under other ids (`more-…`), a batch at a time.
        need = batch * batches
        source = ensure_bundle(replay_bundle_size(need, into=events_wanted), 7)
        events += renamed_events(bundle_events(source)[:need], definition.project.id, "more-")
    held = len(events) - batch * batches
    ledger = Ledger(definition, definition.project.evaluation.default_as_of)
    for event in events[:held]:
        ledger.add(event)
    work = WorkCalendar()  # kept between changes, as a service keeps it
    gc.freeze()  # (as the services' evaluations run: the folded ledger is not the collector's work)
    one_change(ledger, work)  # warm: the first evaluation fills the calendar's caches
    folds, rules, scoring, dumps, reads = [], [], [], [], []
    for n in range(batches):
        start = time.process_time()
        for event in events[held + n * batch : held + (n + 1) * batch]:
            ledger.add(event)
        folds.append(time.process_time() - start)
        r, s, d, k = one_change(ledger, work)
        rules.append(r)
        scoring.append(s)
        dumps.append(d)
        reads.append(k)
    gc.unfreeze()
    scratch = from_scratch(definition, events[:held])
    fold, per_change = statistics.median(folds), statistics.median(rules) + statistics.median(scoring)
    print(
        f"{label(events_wanted):>6}  holding {held:>9,}  batch {batch:>4}  fold of the batch {fold * ms:7.1f}"
        f"  rules {statistics.median(rules) * ms:6.0f}  scoring {statistics.median(scoring) * ms:6.0f}"
        f"  dump {statistics.median(dumps) * ms:5.0f}  read {statistics.median(reads) * ms:4.0f}"
        f"  from scratch {scratch * ms:7.0f}"
        f"  per change ÷ fold of the batch {per_change / fold:7.0f}"
        f"  per change ÷ from scratch {per_change / scratch:5.2f}",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100k,1M", help="events of the synthetic bundles (default 100k,1M)")
    parser.add_argument("--batch", type=int, default=200, help="events per change (default 200)")
    parser.add_argument("--batches", type=int, default=9, help="changes measured per size (default 9)")
    parser.add_argument(
        "--replay",
        action="store_true",
        help="after every event, batches of the first events of the 20k bundle under other ids (what"
        " fleet_throughput.py's latency phase sends the bulk project), not the year's last events",
    )
    args = parser.parse_args()
    print(
        "per change, ms of CPU time (medians): rules = find + measurements, scoring = evaluate_ledger with"
        " them, dump = result + findings, read = findings read back"
    )
    for size in args.sizes.split(","):
        measure(parse_size(size), args.batch, args.batches, args.replay)


if __name__ == "__main__":
    main()
