"""How long the evaluation documents take (DOCX, XLSX, PDF with charts, Markdown, HTML, JSON)
against the evaluation itself, for the Dongguan example and a 100k-event synthetic project.

A benchmark, not a test: it prints figures and asserts nothing about time. Each measurement runs
in a fresh process (import and font-cache costs included, as a user's `opseval evaluate` pays
them), median of `--repeat` runs.

    uv run --frozen python bench/documents.py [--repeat 3] [--events 100000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"

PROBE = """
import json, sys, time
from pathlib import Path
t0 = time.perf_counter()
from opseval.embedded import fold_bundle
from opseval_reporting.pipeline import evaluate_ledger
from opseval_reporting.output import render_files
ledger = fold_bundle(Path(sys.argv[1]))
t1 = time.perf_counter()
result = evaluate_ledger(ledger)
t2 = time.perf_counter()
core = render_files(result, ledger.definition, documents=False)
t3 = time.perf_counter()
c3 = time.process_time()
files = render_files(result, ledger.definition, documents=True)
t4 = time.perf_counter()
c4 = time.process_time()
print(json.dumps({"fold": t1 - t0, "evaluate": t2 - t1, "core": t3 - t2, "all": t4 - t3, "all_cpu": c4 - c3,
                  "files": sorted(files), "bytes": sum(len(b"".join(v)) for v in files.values())}))
"""


def measure(bundle: Path, repeat: int) -> dict[str, object]:
    runs = []
    for _ in range(repeat):
        out = subprocess.run([sys.executable, "-c", PROBE, str(bundle)], capture_output=True, text=True, check=True)
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    med = {k: statistics.median(float(r[k]) for r in runs) for k in ("fold", "evaluate", "core", "all", "all_cpu")}
    return {**med, "files": runs[0]["files"], "bytes": runs[0]["bytes"]}


def synthetic(events: int) -> Path:
    bundle = OUT / f"synth-{events // 1000}k-seed7"
    if not (bundle / "project.yaml").exists():
        subprocess.run(
            [sys.executable, "-m", "opseval.cli", "synth", "--events", str(events), "--out", str(bundle)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return bundle


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--events", type=int, default=100_000)
    args = parser.parse_args()
    cases = [
        ("dongguan-2022", ROOT / "examples" / "dongguan-2022"),
        (f"synthetic {args.events:,}", synthetic(args.events)),
    ]
    # CPU seconds beside wall seconds: on a shared machine the wall clock measures the neighbours too.
    header = f"{'bundle':<22}{'evaluation s':>14}{'documents s':>13}{'docs CPU s':>12}{'docs/eval':>11}"
    print(f"{header}{'docs share':>12}  files")
    for label, bundle in cases:
        m = measure(bundle, args.repeat)
        evaluation = float(m["fold"]) + float(m["evaluate"])  # type: ignore[arg-type]
        documents = float(m["all"])  # type: ignore[arg-type]
        share = documents / (evaluation + documents)
        print(
            f"{label:<22}{evaluation:>14.2f}{documents:>13.2f}{float(m['all_cpu']):>12.2f}"  # type: ignore[arg-type]
            f"{documents / evaluation:>11.2f}{share:>11.0%}  "
            f"{len(m['files'])} files, {int(m['bytes']) / 1e6:.1f} MB"
        )  # type: ignore[call-overload]
    print("Target: all documents in ≤ 3 s for Dongguan, and the documents' share falling as evidence grows.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
