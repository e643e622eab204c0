"""What one late correction costs the fleet on a project that already holds many events (issue 14):
a correction or a retraction of an event folded in an earlier batch, taken in by `Ledger.unfold`
(after) against folding the project again with it left out (before: what `LedgerCache.refresh` did
for every such correction, and still does for what `unfold` leaves stale), measured in-process.

For each case (a retraction of an inspection, of a clock-in, of a survey response; a correction of a
fault event, of a deliverable) on a ledger holding the whole synthetic bundle it prints ms of CPU time
(`time.process_time`):

  unfold    the correction added, the events `to_unfold` names looked up, `unfold`
  refold    a new ledger folding every event again with `left_out` (events already parsed: the
            fleet also reads and parses them from the store, so the real refold costs more)
  eval      the rules' and the scoring's evaluation after each (`find` + `evaluate_ledger`): the
            unfolded ledger keeps its derived facts and calendar, a refolded one starts without

and checks that both ledgers evaluate to the same bytes. A benchmark, not a test: exits 0.

  env -u PYTHONDONTWRITEBYTECODE uv run --frozen python bench/late_correction.py --size 1M
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from evaluate_scale import bundle_events, ensure_bundle, label, parse_size
from opseval_intake.bundle import Problems
from opseval_rules.findings import find
from opseval_scoring.evaluation import evaluate_ledger
from opseval_shared.calendar import WorkCalendar
from opseval_shared.evidence import EVIDENCE_ADAPTER, Evidence
from opseval_shared.ledger import Ledger
from per_change import one_change

from opseval.embedded import checked_definition

ms = 1000.0


def _late(target: Evidence, n: int, retract: bool, when: Any) -> Evidence:
    if retract:
        raw: dict[str, Any] = {
            "id": f"late-{n}",
            "project": target.project,
            "kind": "retraction",
            "occurred_at": when,
            "recorded_at": when,
            "source": "bench",
            "payload": {"event": target.id, "reason": "误报"},
        }
    else:
        raw = target.model_dump(mode="json")
        raw.update(id=f"late-{n}", recorded_at=when, corrects={"event": target.id, "reason": "更正"})
    return EVIDENCE_ADAPTER.validate_python(raw)


def measure(events_wanted: int) -> None:
    bundle = ensure_bundle(events_wanted, 7)
    definition = checked_definition(bundle, Problems())
    assert definition is not None
    as_of = definition.project.evaluation.default_as_of
    events = bundle_events(bundle)
    first: dict[str, Evidence] = {}
    for event in events:
        first.setdefault(event.id, event)
    ledger = Ledger(definition, as_of)
    ledger.add_many((e, 0) for e in events)
    if ledger.unfolds:  # the bundle's own corrections that came after what they name (as refresh does)
        ledger.unfold([first[eid] for eid in ledger.to_unfold()])
    assert not ledger.stale
    work = WorkCalendar()  # kept between changes, as a service keeps it
    gc.freeze()
    one_change(ledger, work)  # warm
    when = (ledger.cutoff - timedelta(days=1)).isoformat()
    cases = [
        ("inspection_done", True),
        ("clock_in", True),
        ("survey_response", True),
        ("incident", False),
        ("deliverable_submitted", False),
    ]
    late: list[Evidence] = []
    print(f"{label(events_wanted)}: {ledger.events:,} events folded; ms of CPU per late correction")
    for n, (kind, retract) in enumerate(cases):
        folded = [e for e in events if e.kind.value == kind and e.recorded_at < ledger.cutoff]
        target = folded[len(folded) // 2]
        correction = _late(target, n, retract, when)
        late.append(correction)
        first[correction.id] = correction  # (stored with the rest: it may be folded into the same record)
        start = time.process_time()
        ledger.add(correction)
        taken = ledger.unfold([first[eid] for eid in ledger.to_unfold()])
        unfold = time.process_time() - start
        assert taken == [target.id] and not ledger.stale, (kind, taken, ledger.stale)
        rules, scoring, *_ = one_change(ledger, work)
        start = time.process_time()
        again = Ledger(definition, as_of, ledger.left_out)
        again.add_many((e, 0) for e in [*events, *late])
        refold = time.process_time() - start
        assert not again.stale
        r2, s2, *_ = one_change(again, WorkCalendar())
        same = evaluate_ledger(ledger, find, work).json_bytes() == evaluate_ledger(again, find).json_bytes()
        print(
            f"  {'retraction' if retract else 'correction'} of {kind:<22} unfold {unfold * ms:8.2f}"
            f"  refold {refold * ms:7.0f}  eval after unfold {(rules + scoring) * ms:6.0f}"
            f"  after refold {(r2 + s2) * ms:6.0f}  same bytes {same}",
            flush=True,
        )
        del again
    gc.unfreeze()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", default="1M", help="events of the synthetic bundle (default 1M)")
    args = parser.parse_args()
    measure(parse_size(args.size))


if __name__ == "__main__":
    main()
