"""What the month-end timeline costs on top of one evaluation (issue 10: at most 2× one evaluation).

    uv run --frozen python bench/series.py                 # 100k events
    uv run --frozen python bench/series.py --sizes 10k,1M  # the issue's target is stated at 1M

For each size (the cached synthetic bundle of evaluate_scale.py), in fresh processes, interleaved
`--repeat` times: `opseval evaluate BUNDLE --core-only` and the same with `--series month`. The
series' own cost is the difference; its ratio to one evaluation is reported in wall and CPU time
(CPU is steadier on shared cores). A benchmark, not a test: it asserts nothing about time.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from evaluate_scale import OUT, Run, ensure_bundle, label, measured, parse_size, warm


def evaluate(bundle: Path, events: int, series: bool) -> Run:
    out = OUT / f"series-{label(events)}-{'series' if series else 'one'}"
    cmd = [sys.executable, "-m", "opseval.cli", "evaluate", str(bundle), "--out", str(out), "--show", "0"]
    return measured([*cmd, "--core-only", *(["--series", "month"] if series else [])])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="100k", help="comma-separated event counts (10k, 100k, 1M …)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--repeat", type=int, default=1)
    args = p.parse_args(argv)
    print(
        f"{'events':>8} {'one s':>7} {'+series s':>10} {'series/one':>10} {'one CPU':>8} {'+series CPU':>11}"
        f" {'CPU ratio':>9} {'RSS MB':>13}"
    )
    for size in (parse_size(s) for s in args.sizes.split(",")):
        bundle = ensure_bundle(size, args.seed)
        warm(bundle)
        ones: list[Run] = []
        both: list[Run] = []
        for _ in range(args.repeat):
            ones.append(evaluate(bundle, size, series=False))
            both.append(evaluate(bundle, size, series=True))
        one_wall, both_wall = statistics.median(r.wall for r in ones), statistics.median(r.wall for r in both)
        one_cpu, both_cpu = statistics.median(r.cpu for r in ones), statistics.median(r.cpu for r in both)
        rss = f"{max(r.rss_mb for r in ones):.0f} → {max(r.rss_mb for r in both):.0f}"
        print(
            f"{label(size):>8} {one_wall:7.1f} {both_wall:10.1f} {(both_wall - one_wall) / one_wall:10.2f}"
            f" {one_cpu:8.1f} {both_cpu:11.1f} {(both_cpu - one_cpu) / one_cpu:9.2f} {rss:>13}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
