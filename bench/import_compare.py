"""Importing the clock export with another version of `opseval_shared/imports.py` against this one.

The two versions run alternately in one process, with the csv module's reading as the yardstick
(see import_clock.py); CPU and wall seconds are medians of `--repeat` rounds. The other version is a
file, e.g. as it was on main:

    git show main:shared/opseval_shared/imports.py > /tmp/imports_before.py
    uv run --frozen python bench/import_compare.py /tmp/imports_before.py [--rows 1000000] [--repeat 3]

A benchmark, not a test: it prints figures and asserts nothing about time.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

from import_clock import OUT, read_with_csv, write_export
from opseval_intake.profiles import standard_profile
from opseval_shared import imports as this_version


def load_other(path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location("opseval_shared.imports_other", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def run(module: ModuleType, export: Path, sink: Path | None) -> None:
    importer = module.Importer(standard_profile("attendance-clock"), module.Target("bench", "ops"))
    batches = importer.batches(module.read_table(export.read_bytes(), export.name))
    if sink is None:
        for _ in batches:
            pass
        return
    with sink.open("wb") as fh:
        for batch in batches:
            fh.write(b"".join(batch))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("other", type=Path, help="the other version of opseval_shared/imports.py")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    other = load_other(args.other)
    OUT.mkdir(parents=True, exist_ok=True)
    export = OUT / f"clock-{args.rows}.csv"
    if not export.exists():
        write_export(export, args.rows)
    sink = OUT / "clock-compare.jsonl"
    work: dict[str, Callable[[], object]] = {
        "csv": lambda: read_with_csv(export),
        "other: import": lambda: run(other, export, None),
        "this: import": lambda: run(this_version, export, None),
        "other: import+write": lambda: run(other, export, sink),
        "this: import+write": lambda: run(this_version, export, sink),
    }
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in work}
    loads = [os.getloadavg()[0]]
    gc.disable()
    for _ in range(args.repeat):
        for name, job in work.items():
            wall, cpu = time.perf_counter(), time.process_time()
            job()
            runs[name].append((time.perf_counter() - wall, time.process_time() - cpu))
        loads.append(os.getloadavg()[0])
    gc.enable()
    sink.unlink(missing_ok=True)
    print(f"{args.rows:,} clock rows; medians of {args.repeat} rounds")
    base_wall = statistics.median(w for w, _ in runs["csv"])
    base_cpu = statistics.median(c for _, c in runs["csv"])
    print(f"{'':<22}{'wall s':>8}{'CPU s':>8}{'ratio (wall)':>14}{'ratio (CPU)':>13}  CPU ratio of each round")
    for name, measured in runs.items():
        wall = statistics.median(w for w, _ in measured)
        cpu = statistics.median(c for _, c in measured)
        rounds = " ".join(f"{c / b:.2f}" for (_, c), (_, b) in zip(measured, runs["csv"], strict=True))
        print(f"{name:<22}{wall:>8.2f}{cpu:>8.2f}{wall / base_wall:>14.2f}{cpu / base_cpu:>13.2f}  {rounds}")
    print("load average (1 min) before and after each round:", " ".join(f"{load:.1f}" for load in loads))


if __name__ == "__main__":
    main()
