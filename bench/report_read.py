"""What a `/v1/projects/{p}/report?format=scores` read costs the reporting service (issue 14).

    uv run --frozen python bench/report_read.py                              # examples/dongguan-2022
    uv run --frozen python bench/report_read.py --bundle bench/out/synth-100k-seed7 --repeat 3

The reporting service runs in this process (FastAPI's TestClient, a throwaway nats-server and
SQLite store). The project's evidence is stored as intake stores it, and its evaluation result as
the scoring service stores it (snapshot kind "result"). Then, interleaved `--repeat` times, the
CPU time of this process over one read at the default as-of date (served from the stored result)
and over one read as of the day before (evaluated on the spot, as every read was before the
result was stored): the ratio is the saving. A benchmark, not a test: it asserts nothing about time.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from apikeys import bearer, issue_key  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from natsfixtures import nats_server  # noqa: E402
from opseval_infra.store.base import Snapshot, StoredEvent, StoredProject  # noqa: E402
from opseval_infra.store.factory import opened_store  # noqa: E402
from opseval_reporting.app import create_app  # noqa: E402
from opseval_reporting.settings import ReportingSettings  # noqa: E402
from opseval_shared.evidence import Evidence  # noqa: E402
from opseval_shared.evidence_apart import apart  # noqa: E402

from opseval.embedded import evaluate_bundle  # noqa: E402


async def fill(store_url: str, bundle: Path) -> tuple[str, str]:
    """Store the bundle's project, its events and its result; (project, default as-of date)."""
    events: list[Evidence] = []
    result, definition = evaluate_bundle(bundle, keep=events)
    async with opened_store(store_url) as store:
        await store.put_project(StoredProject(definition.project.id, "bench", definition.model_dump_json()))
        for start in range(0, len(events), 5000):
            await store.add_events(
                [StoredEvent(e.id, e.project, e.kind, e.model_dump_json()) for e in events[start : start + 5000]]
            )
        n = len(events)
        await store.put_snapshot("result", Snapshot(definition.project.id, n * 10**9 + n, apart(result)))
    return definition.project.id, result.as_of.isoformat()


def cpu_of(client: TestClient, path: str, params: dict[str, str], headers: dict[str, str]) -> tuple[float, int]:
    before = time.process_time()
    response = client.get(path, params=params, headers=headers)
    spent = time.process_time() - before
    assert response.status_code == 200, response.text[:500]
    return spent, len(response.content)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--bundle", type=Path, default=ROOT / "examples" / "dongguan-2022")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--format", default="scores")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp, nats_server(Path(tmp), "") as server:
        store_url = f"sqlite:///{tmp}/store.db"
        project, as_of = asyncio.run(fill(store_url, args.bundle))
        key = bearer(issue_key(store_url, "admin", ["*"], "bench"))
        settings = ReportingSettings(
            environment="test",
            secret_key="bench-secret",  # type: ignore[arg-type]
            nats_url=server.url,
            store_url=store_url,
        )
        day_before = (date.fromisoformat(as_of) - timedelta(days=1)).isoformat()
        path = f"/v1/projects/{project}/report"
        with TestClient(create_app(settings)) as client:
            cpu_of(client, path, {"format": args.format}, key)  # warm: imports, first connection
            stored, computed = [], []
            for _ in range(args.repeat):
                stored.append(cpu_of(client, path, {"format": args.format}, key))
                computed.append(cpu_of(client, path, {"format": args.format, "as_of": day_before}, key))
    read = statistics.median(s for s, _ in stored)
    evaluated = statistics.median(s for s, _ in computed)
    print(f"bundle {args.bundle.name}, format={args.format}, median of {args.repeat}, CPU seconds of this process")
    print(f"  default as-of read ({as_of}):     {read * 1000:8.1f} ms  ({stored[0][1]} bytes)")
    print(f"  as of the day before ({day_before}): {evaluated * 1000:8.1f} ms  ({computed[0][1]} bytes)")
    print(f"  evaluated / default read: {evaluated / read:.1f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
