"""What importing an attendance-clock export costs against reading the same file with the csv module.

A benchmark, not a test: it prints figures and asserts nothing about time. The export is a
1,000,000-row GBK CSV as a clock system writes it (工号, 姓名, 打卡时间, 打卡地点, 打卡类型; 300 staff,
two clocks a day), written once to bench/out/ (git-ignored). In the same process, alternately and
`--repeat` times each (medians):

- `csv`: read the bytes, decode them, iterate `csv.reader` over every row — the floor;
- `import`: read the bytes and run the `attendance-clock` profile over them (`read_table` +
  `Importer.batches`, as `opseval import` does), every event line produced and discarded;
- `import+write`: the same, the lines written to a file as `opseval import` writes them;
- `csv.DictReader`: for comparison, reading the rows as dicts by their header, as a hand-written
  conversion script would.

Every measurement runs with the cycle collector off, as `opseval import` runs (reading the csv rows
alone is not affected: each row is dropped at once).

    uv run --frozen python bench/import_clock.py [--rows 1000000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import csv
import gc
import io
import random
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from opseval_intake.profiles import standard_profile
from opseval_shared.imports import Importer, Target, read_table

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"


def write_export(path: Path, rows: int) -> None:
    rng = random.Random(7)
    names = [f"员工{i:03d}" for i in range(300)]
    lines = ["工号,姓名,打卡时间,打卡地点,打卡类型"]
    day = 0
    while len(lines) <= rows:
        year, month, dom = 2023 + day // 336, 1 + (day // 28) % 12, 1 + day % 28
        for person in range(300):
            for hour, what in ((8, "上班"), (17, "下班")):
                when = f"{year}-{month:02d}-{dom:02d} {hour:02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"
                lines.append(f"E{person:04d},{names[person]},{when},市政务服务中心,{what}")
        day += 1
    path.write_bytes(("\r\n".join(lines[: rows + 1]) + "\r\n").encode("gbk"))


def read_with_csv(path: Path) -> int:
    text = path.read_bytes().decode("gb18030")
    return sum(1 for _ in csv.reader(io.StringIO(text, newline="")))


def read_with_dict_reader(path: Path) -> int:
    text = path.read_bytes().decode("gb18030")
    return sum(1 for _ in csv.DictReader(io.StringIO(text, newline="")))


def run_import(path: Path, sink: Path | None) -> int:
    importer = Importer(standard_profile("attendance-clock"), Target("bench", "ops"))
    batches = importer.batches(read_table(path.read_bytes(), path.name))
    if sink is None:
        for _ in batches:
            pass
    else:
        with sink.open("wb") as fh:
            for batch in batches:
                fh.write(b"".join(batch))
    return importer.summary.events


def timed(work: Callable[[], int]) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    work()
    return time.perf_counter() - wall, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    export = OUT / f"clock-{args.rows}.csv"
    if not export.exists():
        write_export(export, args.rows)
    sink = OUT / "clock-import.jsonl"
    runs: dict[str, list[tuple[float, float]]] = {"csv": [], "import": [], "import+write": [], "csv.DictReader": []}
    gc.disable()
    for _ in range(args.repeat):
        runs["csv"].append(timed(lambda: read_with_csv(export)))
        runs["import"].append(timed(lambda: run_import(export, None)))
        runs["import+write"].append(timed(lambda: run_import(export, sink)))
        runs["csv.DictReader"].append(timed(lambda: read_with_dict_reader(export)))
    gc.enable()
    size = export.stat().st_size
    print(f"{args.rows:,} clock rows, {size / 1e6:.1f} MB GBK CSV; medians of {args.repeat} runs")
    base_wall = statistics.median(w for w, _ in runs["csv"])
    base_cpu = statistics.median(c for _, c in runs["csv"])
    print(f"{'':<14}{'wall s':>8}{'CPU s':>8}{'ratio (wall)':>14}{'ratio (CPU)':>13}")
    for name, measured in runs.items():
        wall = statistics.median(w for w, _ in measured)
        cpu = statistics.median(c for _, c in measured)
        print(f"{name:<14}{wall:>8.2f}{cpu:>8.2f}{wall / base_wall:>14.2f}{cpu / base_cpu:>13.2f}")
    sink.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
