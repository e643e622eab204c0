"""How `opseval evaluate` scales with the number of evidence events.

For each size (default 10k, 100k and 1,000,000 events) it measures, in one run and each in a
fresh process:

  baseline  wall time of only reading and validating every line of the bundle
            (`iter_lines` + `parse_line`: the floor any evaluation pays)
  evaluate  wall time of the full `python -m opseval.cli evaluate BUNDLE --out DIR`
  peak RSS  maximum resident set of the evaluate process

and prints a table with the ratio evaluate/baseline, the cost per event and whether the cost grows
linearly. Targets (the scale issue): ratio ≤ 1.5 and peak RSS ≤ 1 GB at 1M events. This is a
benchmark, not a test: it asserts nothing about time and exits 0 whatever it measures.

Synthetic bundles (`opseval synth`, seed 7) are cached under bench/out/ (git-ignored) and rebuilt
when the generator changes. Run: `make bench`, or
`uv run --frozen python bench/evaluate_scale.py --sizes 10k,100k [--repeat 3] [--profile 100k]`.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import math
import os
import platform
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opseval_shared.evidence import Evidence

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
SYNTH_SOURCE = ROOT / "src" / "opseval" / "synth.py"
DEFAULT_SIZES = (10_000, 100_000, 1_000_000)
TARGET_RATIO = 1.5  # issue 9: evaluate ≤ 1.5 × read + validate at 1M events
TARGET_RSS_MB = 1024.0
TARGET_AT = 1_000_000
STAMP = "SYNTH-STAMP"

# Runs in a fresh interpreter: reads and validates every line, nothing else.
BASELINE = """
import sys
from pathlib import Path
from opseval_intake.bundle import iter_lines, parse_line
n = 0
for raw in iter_lines(Path(sys.argv[1])):
    parse_line(raw)
    n += 1
print(n)
"""

# A fresh wrapper process: times one child and reports the child's peak RSS. RUSAGE_CHILDREN of a
# process that has waited for exactly one child is that child's usage (ru_maxrss: KiB on Linux,
# bytes on macOS).
WRAPPER = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
wall = time.perf_counter() - start
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
scale = 1 if sys.platform == "darwin" else 1024
print(json.dumps({"rc": done.returncode, "wall": wall, "rss": usage.ru_maxrss * scale,
                  "cpu": usage.ru_utime + usage.ru_stime, "stderr": done.stderr.decode(errors="replace")[-2000:]}))
"""


@dataclass
class Run:
    wall: float
    rss_mb: float
    cpu: float


@dataclass
class Row:
    events: int
    baseline_s: float
    evaluate_s: float
    evaluate_rss_mb: float
    baseline_rss_mb: float
    evaluate_cpu_s: float
    baseline_cpu_s: float = 0.0

    @property
    def ratio(self) -> float:
        return self.evaluate_s / self.baseline_s

    @property
    def cpu_ratio(self) -> float:
        """The same ratio in CPU time: steadier than wall time when other work shares the cores."""
        return self.evaluate_cpu_s / self.baseline_cpu_s if self.baseline_cpu_s else math.nan

    @property
    def us_per_event(self) -> float:
        return self.evaluate_s / self.events * 1e6


def parse_size(text: str) -> int:
    text = text.strip().lower().replace("_", "").replace(",", "")
    factor = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    number = text[:-1] if factor > 1 else text
    return int(float(number) * factor)


def label(n: int) -> str:
    if n >= 1_000_000 and n % 1_000_000 == 0:
        return f"{n // 1_000_000}M"
    if n >= 1_000 and n % 1_000 == 0:
        return f"{n // 1_000}k"
    return str(n)


def synth_stamp(events: int, seed: int) -> str:
    digest = hashlib.sha256(SYNTH_SOURCE.read_bytes()).hexdigest()[:16]
    return f"events={events} seed={seed} synth={digest}\n"


def ensure_bundle(events: int, seed: int) -> Path:
    """The cached bundle of this size, (re)built when missing or written by another generator."""
    bundle = OUT / f"synth-{label(events)}-seed{seed}"
    stamp = synth_stamp(events, seed)
    if (bundle / STAMP).is_file() and (bundle / STAMP).read_text() == stamp:
        return bundle
    OUT.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{bundle.name}.", dir=OUT))
    start = time.perf_counter()
    cmd = [
        sys.executable,
        "-m",
        "opseval.cli",
        "synth",
        "--events",
        str(events),
        "--seed",
        str(seed),
        "--out",
        str(tmp),
    ]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    (tmp / STAMP).write_text(stamp)
    if bundle.exists():
        shutil.rmtree(bundle)
    tmp.rename(bundle)
    print(f"  generated {bundle.relative_to(ROOT)} in {time.perf_counter() - start:.1f} s", flush=True)
    return bundle


def bundle_events(bundle: Path) -> list[Evidence]:
    """A bundle's events in the order upstream systems send them (by recorded_at, then id), the order
    fleet_throughput.py pushes them in. (Imported here, not above: this script times the others
    in fresh interpreters and imports none of opseval itself.)"""
    from opseval_intake.bundle import evidence_files, file_lines
    from opseval_shared.evidence import EVIDENCE_ADAPTER

    lines = (data for path in evidence_files(bundle) for _, _, data in file_lines(path))
    return sorted((EVIDENCE_ADAPTER.validate_json(data) for data in lines), key=lambda e: (e.recorded_at, e.id))


def renamed_events(events: list[Evidence], project: str, prefix: str) -> list[Evidence]:
    """The events for `project` under ids with `prefix`, a correction naming its renamed event (the
    bundles' re-judgments do). (`fleet_throughput.renamed` does the same to the JSON lines it sends.)"""
    out = []
    for e in events:
        update: dict[str, object] = {"project": project, "id": prefix + e.id}
        if e.corrects is not None:
            update["corrects"] = e.corrects.model_copy(update={"event": prefix + e.corrects.event})
        out.append(e.model_copy(update=update))
    return out


def replay_bundle_size(need: int, into: int | None) -> int:
    """The size of the bundle whose first `need` events are sent again under other ids: rounded up to
    10k (few sizes, cached); into a project of `into` events at FULL_TIER or more (None: a fresh
    project), at least FULL_TIER, whose definition has the same inspection plans and people (a
    smaller bundle has fewer plans: its events would name plans the project lacks)."""
    from opseval.synth import FULL_TIER

    size = max(1_000, math.ceil(need / 10_000) * 10_000)
    return max(size, FULL_TIER) if into is not None and into >= FULL_TIER else size


def warm(bundle: Path) -> int:
    """Read every file once so both measurements start from a warm page cache."""
    size = 0
    for path in sorted(bundle.rglob("*")):
        if path.is_file():
            with path.open("rb") as fh:
                while chunk := fh.read(1 << 22):
                    size += len(chunk)
    return size


def measured(cmd: list[str]) -> Run:
    proc = subprocess.run([sys.executable, "-c", WRAPPER, *cmd], capture_output=True, text=True, check=True)
    data = json.loads(proc.stdout.strip().splitlines()[-1])
    if data["rc"] != 0:
        raise SystemExit(f"command failed ({data['rc']}): {' '.join(cmd)}\n{data['stderr']}")
    return Run(data["wall"], data["rss"] / 2**20, data["cpu"])


def measure(bundle: Path, events: int, repeat: int) -> Row:
    out = OUT / f"evaluate-{label(events)}"
    baselines: list[Run] = []
    evaluations: list[Run] = []
    for _ in range(repeat):  # interleaved, so drift in machine load touches both alike
        baselines.append(measured([sys.executable, "-c", BASELINE, str(bundle)]))
        evaluations.append(
            measured(
                [
                    sys.executable,
                    "-m",
                    "opseval.cli",
                    "evaluate",
                    str(bundle),
                    "--out",
                    str(out),
                    "--show",
                    "0",
                    "--core-only",
                ]
            )
        )
    return Row(
        events=events,
        baseline_s=statistics.median(r.wall for r in baselines),
        evaluate_s=statistics.median(r.wall for r in evaluations),
        evaluate_rss_mb=max(r.rss_mb for r in evaluations),
        baseline_rss_mb=max(r.rss_mb for r in baselines),
        evaluate_cpu_s=statistics.median(r.cpu for r in evaluations),
        baseline_cpu_s=statistics.median(r.cpu for r in baselines),
    )


def linearity(rows: list[Row]) -> list[str]:
    """Marginal cost per event between consecutive sizes (startup cancels out) and the log-log slope."""
    lines = []
    marginals = []
    for a, b in itertools.pairwise(rows):
        marginal = (b.evaluate_s - a.evaluate_s) / (b.events - a.events) * 1e6
        base_marginal = (b.baseline_s - a.baseline_s) / (b.events - a.events) * 1e6
        slope = math.log(b.evaluate_s / a.evaluate_s) / math.log(b.events / a.events)
        marginals.append(marginal)
        lines.append(
            f"  {label(a.events):>5} → {label(b.events):<5} marginal evaluate {marginal:7.2f} µs/event "
            f"(baseline {base_marginal:6.2f}), log-log slope {slope:.2f}"
        )
    if len(marginals) >= 2:
        growth = marginals[-1] / marginals[0] if marginals[0] > 0 else math.inf
        verdict = "linear" if growth <= 1.25 else ("roughly linear" if growth <= 1.6 else "SUPERLINEAR")
        lines.append(f"  marginal cost grew ×{growth:.2f} from the first step to the last: {verdict}")
    elif marginals:
        slope = math.log(rows[1].evaluate_s / rows[0].evaluate_s) / math.log(rows[1].events / rows[0].events)
        lines.append(f"  log-log slope {slope:.2f}: {'linear or better' if slope <= 1.1 else 'SUPERLINEAR'}")
    return lines


def report(rows: list[Row]) -> None:
    header = (
        f"{'events':>10} {'baseline s':>11} {'evaluate s':>11} {'ratio':>6} {'peak RSS MB':>12} "
        f"{'µs/event':>9} {'base RSS MB':>12} {'eval CPU s':>11} {'CPU ratio':>10}"
    )
    print()
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r.events:>10,} {r.baseline_s:>11.2f} {r.evaluate_s:>11.2f} {r.ratio:>6.2f} {r.evaluate_rss_mb:>12.0f} "
            f"{r.us_per_event:>9.1f} {r.baseline_rss_mb:>12.0f} {r.evaluate_cpu_s:>11.2f} {r.cpu_ratio:>10.2f}"
        )
    if len(rows) > 1:
        print()
        print("Linearity (evaluate):")
        for line in linearity(rows):
            print(line)
    target = next((r for r in rows if r.events >= TARGET_AT), None)
    print()
    if target is None:
        print(f"Targets (at {label(TARGET_AT)} events): not measured in this run.")
    else:
        ok_ratio = target.ratio <= TARGET_RATIO
        ok_rss = target.evaluate_rss_mb <= TARGET_RSS_MB
        print(
            f"Targets at {target.events:,} events: ratio {target.ratio:.2f} (≤ {TARGET_RATIO}: "
            f"{'met' if ok_ratio else 'MISSED'}; in CPU time {target.cpu_ratio:.2f}), "
            f"peak RSS {target.evaluate_rss_mb:.0f} MB "
            f"(≤ {TARGET_RSS_MB:.0f}: {'met' if ok_rss else 'MISSED'})"
        )


def profile(bundle: Path, events: int, top: int) -> None:
    """cProfile one evaluate run and print where the time goes (own time and cumulative)."""
    stats_file = OUT / f"evaluate-{label(events)}.prof"
    out = OUT / f"evaluate-{label(events)}-profiled"
    cmd = [sys.executable, "-m", "cProfile", "-o", str(stats_file), "-m", "opseval.cli", "evaluate", str(bundle)]
    subprocess.run([*cmd, "--out", str(out), "--show", "0"], check=True, stdout=subprocess.DEVNULL)
    print(f"\nProfile of evaluate at {events:,} events ({stats_file.relative_to(ROOT)}; cProfile slows it down):")
    stats = pstats.Stats(str(stats_file))
    stats.sort_stats("tottime").print_stats(top)
    stats.sort_stats("cumulative").print_stats(top)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="How `opseval evaluate` scales with the number of evidence events.")
    p.add_argument(
        "--sizes",
        default=",".join(label(n) for n in DEFAULT_SIZES),
        help="comma-separated event counts, e.g. 10k,100k,1M (default: %(default)s)",
    )
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--repeat", type=int, default=1, help="runs per size; the median wall time is reported")
    p.add_argument("--profile", default=None, metavar="SIZE", help="also cProfile one evaluate at this size")
    p.add_argument("--top", type=int, default=25, help="functions to list per profile table")
    p.add_argument("--json", default=None, metavar="FILE", help="also write the measurements as JSON")
    args = p.parse_args(argv)
    sizes = sorted({parse_size(s) for s in args.sizes.split(",") if s.strip()})

    print(
        f"opseval evaluate scaling — Python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.platform()}"
    )
    rows = []
    for events in sizes:
        print(f"{label(events)} events:", flush=True)
        bundle = ensure_bundle(events, args.seed)
        size = warm(bundle)
        row = measure(bundle, events, max(1, args.repeat))
        print(
            f"  {size / 2**20:.0f} MB of bundle; baseline {row.baseline_s:.2f} s, evaluate {row.evaluate_s:.2f} s, "
            f"peak RSS {row.evaluate_rss_mb:.0f} MB",
            flush=True,
        )
        rows.append(row)
    report(rows)
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                [
                    asdict(r) | {"ratio": r.ratio, "cpu_ratio": r.cpu_ratio, "us_per_event": r.us_per_event}
                    for r in rows
                ],
                indent=2,
            )
            + "\n"
        )
    if args.profile:
        events = parse_size(args.profile)
        profile(ensure_bundle(events, args.seed), events, args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
