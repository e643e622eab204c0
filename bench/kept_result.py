"""What keeping a result costs, and reading it back: the evidence ids apart (`evidence_apart`, how
the scoring and rules services keep the result and the findings) against the model's plain JSON (how
they kept them before), timed in the same run on the synthetic bundle's result.

  write   the body made (`apart` / `json_bytes`) and compressed as the stores compress it
  read    the body decompressed and the whole model read back (`joined` / `model_validate_json`)
  one     what a read of one leaf's page or of counts needs: the skeleton (plain JSON: all of it)
  size    the body, and compressed

Medians of CPU ms over `--repeat` runs and the ratio apart ÷ JSON. A benchmark, not a test: it
asserts nothing about time and exits 0.

  uv run --frozen python bench/kept_result.py --sizes 100k,1M
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from evaluate_scale import ensure_bundle, label, parse_size
from opseval_infra.store.base import compress, decompressed
from opseval_shared.evidence_apart import Apart, apart, joined
from opseval_shared.messaging import FindingsChanged
from opseval_shared.results import EvaluationResult

from opseval.embedded import evaluate_bundle


def cpu_ms(work: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.process_time()
        work()
        times.append(time.process_time() - start)
    return statistics.median(times) * 1000


def measure(events: int, repeat: int) -> None:
    result, _ = evaluate_bundle(ensure_bundle(events, 7))
    findings = FindingsChanged(project=result.project, events_folded=0, as_of=result.as_of, findings=result.findings)
    gc.freeze()  # (the result stays alive; the collector's passes over it are not what is measured)
    for name, model, cls in (("result", result, EvaluationResult), ("findings", findings, FindingsChanged)):
        plain, kept = model.json_bytes(), apart(model)
        plain_z, kept_z = compress(plain), compress(kept)
        assert joined(kept, cls).json_bytes() == plain  # (the same model, or the figures mean nothing)
        rows = [
            ("write", lambda m=model: compress(m.json_bytes()), lambda m=model: compress(apart(m))),
            (
                "read",
                lambda z=plain_z, c=cls: c.model_validate_json(decompressed(z)),
                lambda z=kept_z, c=cls: joined(decompressed(z), c),
            ),
            (
                "one",
                lambda z=plain_z, c=cls: c.model_validate_json(decompressed(z)),
                lambda z=kept_z, c=cls: Apart(decompressed(z)).model(c),
            ),
        ]
        for what, before, after in rows:
            b, a = cpu_ms(before, repeat), cpu_ms(after, repeat)
            print(f"{label(events):>6}  {name:8}  {what:5}  JSON {b:7.1f} ms  apart {a:7.1f} ms  ratio {a / b:5.2f}")
        print(
            f"{label(events):>6}  {name:8}  size   JSON {len(plain) / 1e6:6.1f} MB"
            f" ({len(plain_z) / 1e6:5.2f} compressed)  apart {len(kept) / 1e6:6.1f} MB"
            f" ({len(kept_z) / 1e6:5.2f} compressed)",
            flush=True,
        )
    gc.unfreeze()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100k,1M", help="events of the synthetic bundles (default 100k,1M)")
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure (default 5)")
    args = parser.parse_args()
    for size in args.sizes.split(","):
        measure(parse_size(size), args.repeat)


if __name__ == "__main__":
    main()
