"""Throughput and latency of the running fleet (intake → JetStream → rules and scoring → ScoreChanged),
measured against the raw JetStream throughput of the same nats-server with the same payloads.

In one run, on a nats-server it starts itself (free loopback port, temporary JetStream directory):

  baseline   publish the N evidence lines of a synthetic bundle to a scratch stream (nats-py
             `publish_async`, acks awaited per window of 1,000), then consume them with a durable pull
             consumer (fetch 500, ack each): publish msg/s, consume msg/s and N / (publish + consume)
  end to end intake, rules, scoring and reporting as processes (`python -m opseval.cli serve ...`,
             OPSEVAL_DEBOUNCE_S=0.05); the synthetic project registered, N events pushed through
             `POST /v1/evidence` in batches of 2,000 by a few concurrent requests, until scoring has
             published a ScoreChanged whose events_folded is N: N / elapsed, and the ratio to the baseline
  latency    a fresh project fed at about half that rate in small batches every 100 ms: per batch the
             time from intake's answer to the first ScoreChanged whose events_folded covers the batch (p50/p99)

Targets (issue 14): end to end ≥ 0.5 × baseline; p99 ≤ 500 ms over ≥ 100 batches on a project already
holding 1,000,000 events (`--events 1M --latency-project bulk`). A benchmark, not a test: it
asserts nothing about time; it exits non-zero only when something it runs fails (a process does not
start, a push is refused, or a ScoreChanged it waits for never arrives). Every process it starts is
stopped on exit, Ctrl-C included. Run:

  uv run --frozen python bench/fleet_throughput.py [--events 100k] [--json bench/out/fleet.json]
  uv run --frozen --with py-spy python bench/fleet_throughput.py --profile bench/out/fleet-profile
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import itertools
import math
import os
import platform
import re
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import nats
import orjson

# Shares the bundle cache (bench/out/synth-<size>-seed<seed>/, rebuilt when synth.py changes).
from evaluate_scale import ensure_bundle, parse_size, replay_bundle_size
from nats.aio.msg import Msg
from nats.js.api import StorageType, StreamConfig
from opseval_infra.keys import create_key
from opseval_infra.store.factory import opened_store
from opseval_intake.bundle import evidence_files, load_definition

ROOT = Path(__file__).resolve().parent.parent
NATS_BINARY = shutil.which("nats-server") or "/usr/sbin/nats-server"
SERVICES = ("intake", "rules", "scoring", "reporting")
TARGET_RATIO = 0.5
TARGET_P99_MS = 500.0
TARGET_HELD = 1_000_000  # events the project holds when the p99 target applies
PUBLISH_WINDOW = 1_000
FETCH_BATCH = 500
SETTLE_TIMEOUT_S = 60.0  # after the bulk phase: how long to wait for both consumers to catch up
QUIET_S = 1.0  # … and for no more results to be published
STORED_GRACE_S = 15.0  # how long a stored score may go unpublished before the wait gives up
LATENCY_PROJECT = "bench-latency"
EVIDENCE_STREAM = "OPSEVAL_EVIDENCE"
CONSUMERS = {"rules": "rules-evidence"}  # the one evidence consumer: scoring reads the store
MACHINE = "machine"  # key of the machine-wide busy CPU seconds next to the per-process ones
# ScoreChanged / FindingsChanged are serialised field by field: project, then events_folded (and
# findings_events_folded).
EVENTS_FOLDED = re.compile(rb'"events_folded":(\d+)(?:,"findings_events_folded":(\d+))?')


class Failure(Exception):
    """Something the benchmark ran did not work (as opposed to a slow measurement)."""


# ---------------------------------------------------------------- small helpers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (0-100), linear interpolation between closest ranks."""
    if not values:
        return math.nan
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = math.floor(k), math.ceil(k)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def parse_bytes(text: str) -> int:
    text = text.strip().upper().removesuffix("B")
    factor = {"K": 1024, "M": 1024**2}.get(text[-1:], 1)
    return int(float(text[:-1] if factor > 1 else text) * factor)


CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def machine_busy_seconds() -> float:
    """CPU seconds all processes of the machine spent busy so far (Linux /proc/stat); NaN elsewhere."""
    try:
        fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return math.nan
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def cpu_seconds(pid: int) -> float:
    """user + system CPU of a running process (Linux /proc); NaN when it cannot be read."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return math.nan
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


# ---------------------------------------------------------------- evidence


@dataclass(frozen=True)
class Line:
    id: str
    kind: str
    data: bytes  # the JSONL line as the bundle holds it


def load_events(bundle: Path) -> list[Line]:
    """Every evidence line of the bundle, in the order upstream systems recorded them (recorded_at)."""
    keyed: list[tuple[datetime, str, Line]] = []
    for path in evidence_files(bundle):
        for raw in path.read_bytes().splitlines():
            if raw.strip():
                event = orjson.loads(raw)
                line = Line(event["id"], event["kind"], raw)
                keyed.append((datetime.fromisoformat(event["recorded_at"]), event["id"], line))
    keyed.sort(key=lambda k: (k[0], k[1]))
    return [line for _, _, line in keyed]


def renamed(lines: list[Line], project: str, prefix: str) -> list[Line]:
    """The same events for another project, under other ids (event ids are unique across the store),
    a correction naming the renamed event it corrects (the bundle's re-judgments do): what
    `evaluate_scale.renamed_events` does to parsed events, on the JSON lines sent as they are."""
    out = []
    for line in lines:
        event = orjson.loads(line.data)
        event["project"], event["id"] = project, prefix + event["id"]
        if event.get("corrects"):
            event["corrects"]["event"] = prefix + event["corrects"]["event"]
        out.append(Line(event["id"], line.kind, orjson.dumps(event)))
    return out


def body(lines: list[Line]) -> bytes:
    return b'{"events":[' + b",".join(line.data for line in lines) + b"]}"


def definition_json(bundle: Path, project: str | None = None) -> tuple[str, bytes]:
    definition = load_definition(bundle).model_dump(mode="json")
    if project is not None:
        definition["project"]["id"] = project
    return definition["project"]["id"], orjson.dumps(definition)


# ---------------------------------------------------------------- processes


@dataclass
class Cluster:
    """nats-server and the four services as child processes in their own sessions (so Ctrl-C reaches
    only the benchmark, which then stops them in order: services first, the server last)."""

    workdir: Path
    max_payload: int | None
    debounce_s: float
    nats_port: int = field(default_factory=free_port)
    ports: dict[str, int] = field(default_factory=lambda: {s: free_port() for s in SERVICES})
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def nats_url(self) -> str:
        return f"nats://127.0.0.1:{self.nats_port}"

    def url(self, service: str) -> str:
        return f"http://127.0.0.1:{self.ports[service]}"

    @property
    def store_path(self) -> Path:
        return self.workdir / "store.db"

    def log(self, name: str) -> Path:
        return self.workdir / f"{name}.log"

    async def admin_headers(self) -> dict[str, str]:
        """An administrator key issued into the fleet's store (as `opseval keys create` does): every
        request to intake and reporting carries it."""
        async with opened_store(f"sqlite:///{self.store_path}") as store:
            _, token = await create_key(store, "fleet benchmark", "admin", ["*"])
        return {"authorization": f"Bearer {token}"}

    def _spawn(self, name: str, cmd: list[str], env: dict[str, str] | None = None) -> None:
        with self.log(name).open("ab") as log:
            self.procs[name] = subprocess.Popen(
                cmd, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=self.workdir, start_new_session=True
            )

    def start_nats(self) -> None:
        if not Path(NATS_BINARY).exists():
            raise Failure("nats-server is not installed (apt-get install nats-server)")
        cmd = [NATS_BINARY, "-js", "-a", "127.0.0.1", "-p", str(self.nats_port), "-sd", str(self.workdir / "js")]
        if self.max_payload is not None:
            conf = self.workdir / "nats.conf"
            conf.write_text(f"max_payload: {self.max_payload}\n")
            cmd += ["-c", str(conf)]
        self._spawn("nats-server", cmd)
        deadline = time.monotonic() + 15
        while not port_open(self.nats_port):
            if self.procs["nats-server"].poll() is not None or time.monotonic() > deadline:
                raise Failure(f"nats-server did not start: {self.tail('nats-server')}")
            time.sleep(0.05)

    def env(self, service: str) -> dict[str, str]:
        return {
            **os.environ,
            "OPSEVAL_ENVIRONMENT": "test",
            "OPSEVAL_SECRET_KEY": "fleet-bench-secret-not-a-placeholder",
            "OPSEVAL_NATS_URL": self.nats_url,
            "OPSEVAL_STORE_URL": f"sqlite:///{self.store_path}",
            "OPSEVAL_HTTP_PORT": str(self.ports[service]),
            "OPSEVAL_DEBOUNCE_S": str(self.debounce_s),
            "OPSEVAL_LOG_LEVEL": "WARNING",
        }

    def start_services(self) -> None:
        for service in SERVICES:
            self._spawn(service, [sys.executable, "-m", "opseval.cli", "serve", service], self.env(service))

    async def wait_ready(self, http: httpx.AsyncClient, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        for service in SERVICES:
            while True:
                if self.procs[service].poll() is not None:
                    raise Failure(f"{service} exited at start-up: {self.tail(service)}")
                with contextlib.suppress(httpx.HTTPError):
                    if (await http.get(self.url(service) + "/readyz", timeout=2)).status_code == 200:
                        break
                if time.monotonic() > deadline:
                    raise Failure(f"{service} not ready after {timeout:.0f} s: {self.tail(service)}")
                await asyncio.sleep(0.2)

    def tail(self, name: str, chars: int = 2_000) -> str:
        try:
            return self.log(name).read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"

    def dead(self) -> list[str]:
        return [name for name, proc in self.procs.items() if proc.poll() is not None]

    def cpu(self) -> dict[str, float]:
        usage = {name: cpu_seconds(proc.pid) for name, proc in self.procs.items()}
        times = os.times()
        usage["bench"] = times.user + times.system
        usage[MACHINE] = machine_busy_seconds()
        return usage

    def stop(self) -> None:
        services = [p for name, p in self.procs.items() if name != "nats-server"]
        server = [p for name, p in self.procs.items() if name == "nats-server"]
        for group in (services, server):
            for proc in group:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            for proc in group:
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(timeout=10)


PY_SPY_MISSING = "--profile needs py-spy: uv run --frozen --with py-spy python bench/fleet_throughput.py ..."


def py_spy() -> str | None:
    """py-spy on the PATH, or beside this Python (a venv's interpreter run without activating it)."""
    return shutil.which("py-spy") or shutil.which("py-spy", path=str(Path(sys.executable).parent))


class Profiler:
    """py-spy sampling the services during one phase (collapsed stacks), when --profile is given."""

    def __init__(self, cluster: Cluster, out: Path | None, services: tuple[str, ...] = ("intake", "rules", "scoring")):
        self.cluster, self.out, self.services = cluster, out, services
        self.procs: dict[str, tuple[subprocess.Popen[bytes], Path]] = {}

    def start(self, phase: str) -> None:
        if self.out is None:
            return
        binary = py_spy()
        if binary is None:
            raise Failure(PY_SPY_MISSING)
        self.out.mkdir(parents=True, exist_ok=True)
        for service in self.services:
            path = self.out / f"{phase}-{service}.txt"
            cmd = [binary, "record", "--pid", str(self.cluster.procs[service].pid), "--rate", "100"]
            cmd += ["--format", "raw", "--output", str(path), "--nonblocking"]
            proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
            self.procs[service] = (proc, path)

    def stop(self) -> dict[str, Path]:
        done = {}
        for service, (proc, path) in self.procs.items():
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)
            if path.exists():
                done[service] = path
            elif proc.stderr is not None:
                print(f"  py-spy {service}: {proc.stderr.read().decode(errors='replace')[-500:]}", file=sys.stderr)
        self.procs = {}
        return done


# Where a sample's CPU went, by the frames on its stack: the first category any frame matches wins
# (so a SQLite write made during an evaluation counts as a store write, not as the evaluation).
CATEGORIES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("store: insert events (SQLite)", ("add_events",)),
    ("store: write snapshot (SQLite)", ("put_snapshot",)),
    ("store: read (SQLite)", ("events_after", "get_snapshot", "get_project", "list_projects", "_with_connection")),
    ("validate events (intake)", ("TypeAdapter.validate_python",)),
    ("publish to JetStream, per message", ("JetStreamContext.publish (",)),
    ("fold new events into the ledger", ("LedgerCache.refresh",)),
    ("rules: find (observe + durable_rules)", ("find (opseval_rules",)),
    ("scoring: score_tree", ("score_tree",)),
    ("results: build, serialise, publish", ("evaluate (opseval_",)),
    ("consume: parse, persist, ack", ("EvidenceConsumer", "_consume_pull", "BatchPullStreamSubscriber")),
    ("HTTP request handling (rest)", ("RequestResponseCycle", "h11_impl", "httptools_impl")),
)
OTHER = "event loop, NATS client, other"


# Leaf frames of a thread that waits (py-spy --nonblocking cannot always tell an idle thread).
IDLE = ("EpollSelector.select (", "_worker (futures/thread.py)", "Condition.wait (", "Event.wait (", "Thread.join (")


def profile_stacks(path: Path) -> tuple[list[tuple[list[str], int]], int]:
    """py-spy's collapsed stacks (frames root first, samples), and the samples left out as idle."""
    stacks, idle = [], 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit():
            frames = [_short(f) for f in stack.split(";")]
            if frames[-1].startswith(IDLE):
                idle += int(count)
            else:
                stacks.append((frames, int(count)))
    return stacks, idle


def categorise(stacks: list[tuple[list[str], int]]) -> dict[str, int]:
    counts: collections.Counter[str] = collections.Counter()
    for frames, n in stacks:
        joined = "\n".join(frames)
        counts[next((name for name, marks in CATEGORIES if any(m in joined for m in marks)), OTHER)] += n
    return dict(counts)


def summarise_profile(path: Path, top: int, cpu_s: float | None = None) -> list[str]:
    """Shares of the samples per category (and CPU seconds, given the process's CPU time), then the
    frames with the most own samples and the opseval frames with the most samples below them."""
    stacks, idle = profile_stacks(path)
    samples = sum(n for _, n in stacks)
    if not samples:
        return ["    no samples"]
    own: collections.Counter[str] = collections.Counter()
    total: collections.Counter[str] = collections.Counter()
    for frames, n in stacks:
        own[frames[-1]] += n
        for frame in set(frames):
            total[frame] += n
    cpu = f"; {cpu_s:.1f} CPU-s measured, shared out as ≈ CPU-s" if cpu_s is not None else ""
    lines = [f"    {samples} busy samples at 100/s ({idle} idle ones left out{cpu}); by category:"]
    for name, n in sorted(categorise(stacks).items(), key=lambda kv: -kv[1]):
        seconds = f"{n / samples * cpu_s:6.1f} ≈CPU-s" if cpu_s is not None else ""
        lines.append(f"      {n / samples:6.1%} {seconds}  {name}")
    lines.append("    own time:")
    lines += [f"      {n / samples:6.1%}  {f}" for f, n in own.most_common(top)]
    lines.append("    including callees (opseval code):")
    ours = [(f, n) for f, n in total.most_common() if "opseval" in f and not _entry(f)]
    lines += [f"      {n / samples:6.1%}  {f}" for f, n in ours[:top]]
    return lines


def _short(frame: str) -> str:
    # "func (/long/path/site-packages/pkg/mod.py:123)" -> "func (pkg/mod.py)"
    match = re.match(r"(.*) \((.*?):?(\d*)\)$", frame)
    if not match:
        return frame
    func, path = match.group(1), match.group(2)
    parts = Path(path).parts
    for anchor in ("site-packages", "opseval_shared", "opseval_infra", "lib"):
        if anchor in parts:
            i = parts.index(anchor)
            parts = parts[i + 1 :] if anchor in ("site-packages", "lib") else parts[i:]
            break
    else:
        parts = parts[-2:]
    return f"{func} ({'/'.join(parts)})"


def _entry(frame: str) -> bool:
    return any(s in frame for s in ("opseval/cli.py", "opseval/fleet.py"))


# ---------------------------------------------------------------- watching results


@dataclass
class Arrival:
    t: float
    events_folded: int
    findings_events_folded: int
    size: int


class Watch:
    """A plain core-NATS subscription on a project's score (or findings) subject."""

    def __init__(self) -> None:
        self.arrivals: list[Arrival] = []
        self.changed = asyncio.Event()

    async def on_msg(self, msg: Msg) -> None:
        t = time.perf_counter()
        match = EVENTS_FOLDED.search(msg.data[:400])
        if match:
            events_folded, findings_events_folded = int(match.group(1)), int(match.group(2) or 0)
        else:
            data = orjson.loads(msg.data)
            events_folded, findings_events_folded = data["events_folded"], data.get("findings_events_folded", 0)
        self.arrivals.append(Arrival(t, events_folded, findings_events_folded, len(msg.data)))
        self.changed.set()

    def first(self, events_folded: int, findings: bool = False) -> float | None:
        """Arrival time of the first message whose events_folded (and findings_events_folded) reaches
        `events_folded`."""
        for a in self.arrivals:
            if a.events_folded >= events_folded and (not findings or a.findings_events_folded >= events_folded):
                return a.t
        return None

    async def wait(
        self, events_folded: int, timeout: float, cluster: Cluster, findings: bool = False, stored: Any = None
    ) -> float | None:
        """Waits for `first(events_folded)`; gives up after `timeout`, when a process died, or STORED_GRACE s
        after `stored()` (when the score was stored, relative to the clock) if no message followed."""
        deadline = time.perf_counter() + timeout
        while (t := self.first(events_folded, findings)) is None:
            left = deadline - time.perf_counter()
            stored_at = stored() if stored is not None else None
            if stored_at is not None:
                left = min(left, stored_at + STORED_GRACE_S - time.perf_counter())
            if left <= 0 or cluster.dead():
                return None
            self.changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), min(left, 1.0))
        return t


@dataclass
class Sample:
    t: float
    acked: dict[str, int]  # durable consumer -> ack floor (stream sequence)
    snapshots: dict[str, int]  # "findings"/"scores" -> events folded (from the stored seq; scores: events, not ×1e9)


class Monitor:
    """Samples the durable consumers' ack floors and the stored snapshots' seq every 0.5 s."""

    def __init__(self, cluster: Cluster, js: Any, project: str, t0: float) -> None:
        self.cluster, self.js, self.project, self.t0 = cluster, js, project, t0
        self.samples: list[Sample] = []
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            acked = {}
            for service, durable in CONSUMERS.items():
                with contextlib.suppress(Exception):
                    info = await self.js.consumer_info(EVIDENCE_STREAM, durable)
                    acked[service] = int(info.ack_floor.stream_seq or 0)
            snapshots = await asyncio.to_thread(self._snapshots)
            self.samples.append(Sample(time.perf_counter() - self.t0, acked, snapshots))
            await asyncio.sleep(0.5)

    def _snapshots(self) -> dict[str, int]:
        try:
            with contextlib.closing(sqlite3.connect(self.cluster.store_path, timeout=5)) as conn:
                # the column "revision" holds Snapshot.seq (its stored name)
                rows = conn.execute(
                    "SELECT kind, revision FROM snapshots WHERE project = ?", (self.project,)
                ).fetchall()
        except sqlite3.Error:
            return {}
        return {kind: (rev // 10**9 if kind == "scores" else rev) for kind, rev in rows}

    def first(self, what: str, key: str, value: int) -> float | None:
        for s in self.samples:
            got = (s.acked if what == "acked" else s.snapshots).get(key, -1)
            if got >= value:
                return s.t
        return None


# ---------------------------------------------------------------- phase 1: raw JetStream


@dataclass
class Baseline:
    events: int
    publish_s: float
    consume_s: float

    @property
    def publish_rate(self) -> float:
        return self.events / self.publish_s

    @property
    def consume_rate(self) -> float:
        return self.events / self.consume_s

    @property
    def combined_rate(self) -> float:
        return self.events / (self.publish_s + self.consume_s)


async def baseline(cluster: Cluster, lines: list[Line]) -> Baseline:
    """Publish every line to a scratch stream (windowed async acks), then pull them all (fetch 500, ack each)."""
    nc = await nats.connect(cluster.nats_url)
    try:
        js = nc.jetstream(publish_async_max_pending=2 * PUBLISH_WINDOW)
        stream = "BENCH_BASELINE"
        await js.add_stream(
            StreamConfig(name=stream, subjects=["bench.evidence.>"], storage=StorageType.FILE, duplicate_window=120)
        )
        start = time.perf_counter()
        for i in range(0, len(lines), PUBLISH_WINDOW):
            futures = [
                await js.publish_async(f"bench.evidence.p.{line.kind}", line.data, headers={"Nats-Msg-Id": line.id})
                for line in lines[i : i + PUBLISH_WINDOW]
            ]
            acks = await asyncio.gather(*futures)
            if any(ack.duplicate for ack in acks):
                raise Failure("baseline: JetStream reported a duplicate")
        publish_s = time.perf_counter() - start

        sub = await js.pull_subscribe("bench.evidence.>", durable="bench-baseline", stream=stream)
        start = time.perf_counter()
        got = 0
        while got < len(lines):
            try:
                msgs = await sub.fetch(FETCH_BATCH, timeout=5)
            except TimeoutError:
                raise Failure(f"baseline: consumer stalled after {got} of {len(lines)} messages") from None
            for msg in msgs:
                await msg.ack()
            got += len(msgs)
        await nc.flush()
        consume_s = time.perf_counter() - start
        await sub.unsubscribe()
        await js.delete_stream(stream)
    finally:
        await nc.close()
    return Baseline(len(lines), publish_s, consume_s)


# ---------------------------------------------------------------- phase 2: the fleet, flat out


@dataclass
class Bulk:
    events: int
    batch: int
    concurrency: int
    accept_s: float  # first request sent → last answer received
    wall_s: float  # until both consumers caught up and results stopped (the CPU figures cover this)
    score_s: float | None  # → first ScoreChanged with events_folded == events (None: never arrived)
    consistent_s: float | None  # → first ScoreChanged with events_folded and findings_events_folded == events
    rules_acked_s: float | None  # → rules' durable consumer acked every event (0.5 s resolution)
    findings_stored_s: float | None  # → findings snapshot at events_folded == events stored (0.5 s resolution)
    score_stored_s: float | None  # → score snapshot at events_folded == events stored (0.5 s resolution)
    score_messages: int
    largest_score_bytes: int
    findings_messages: int
    largest_findings_bytes: int
    retries: int
    cpu_s: dict[str, float]
    evaluation_errors: dict[str, int]

    @property
    def intake_rate(self) -> float:
        return self.events / self.accept_s

    @property
    def rate(self) -> float | None:
        return self.events / self.score_s if self.score_s else None


async def post(http: httpx.AsyncClient, url: str, payload: bytes, expect: int) -> tuple[float, int]:
    """POST one batch, retrying while intake answers 503 (replays are safe); (answer time, retries)."""
    retries = 0
    while True:
        status: int | None = None
        try:
            response = await http.post(url, content=payload, headers={"content-type": "application/json"})
        except httpx.HTTPError as exc:
            error = repr(exc)
        else:
            status = response.status_code
            if status == 200:
                counts = orjson.loads(response.content)
                if counts["accepted"] + counts["duplicate"] != expect or counts["failed"]:
                    raise Failure(f"intake did not accept the batch: { {k: counts[k] for k in list(counts)[:4]} }")
                return time.perf_counter(), retries
            error = response.text[:300]
        retries += 1
        if retries > 20 or (status is not None and status != 503):
            raise Failure(f"push failed: {status or ''} {error}")
        await asyncio.sleep(0.5)


def log_errors(cluster: Cluster) -> dict[str, int]:
    """Evaluations that raised, per service (the DirtyProjects loop logs and retries them)."""
    counts = {}
    for service in ("rules", "scoring"):
        text = cluster.log(service).read_text(errors="replace") if cluster.log(service).exists() else ""
        counts[service] = text.count("failed; it stays dirty")
    return counts


def first_error(cluster: Cluster, service: str) -> str | None:
    text = cluster.log(service).read_text(errors="replace") if cluster.log(service).exists() else ""
    at = text.find("failed; it stays dirty")
    if at < 0:
        return None
    errors = re.findall(r"^\w[\w.]*(?:Error|Exception|Exceeded)\b.*$", text[at:], re.MULTILINE)
    return errors[0][:200] if errors else None


async def bulk(
    cluster: Cluster,
    http: httpx.AsyncClient,
    nc: Any,
    project: str,
    lines: list[Line],
    batch: int,
    concurrency: int,
    timeout: float,
    profiler: Profiler,
) -> Bulk:
    scores, findings = Watch(), Watch()
    await nc.subscribe(f"opseval.scores.{project}", cb=scores.on_msg)
    await nc.subscribe(f"opseval.findings.{project}", cb=findings.on_msg)
    await nc.flush()
    bodies = [(body(lines[i : i + batch]), len(lines[i : i + batch])) for i in range(0, len(lines), batch)]
    url = cluster.url("intake") + "/v1/evidence"
    pending = iter(bodies)
    retries = 0

    async def worker() -> None:
        nonlocal retries
        for payload, n in pending:
            _, r = await post(http, url, payload, n)
            retries += r

    cpu0 = cluster.cpu()
    profiler.start("bulk")
    start = time.perf_counter()
    monitor = Monitor(cluster, nc.jetstream(), project, start)
    monitor.start()
    try:
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        accepted = time.perf_counter()
        print(f"  intake answered every batch after {accepted - start:.1f} s; waiting for the score …", flush=True)
        n = len(lines)

        def stored() -> float | None:
            t = monitor.first("snapshots", "scores", n)
            return None if t is None else start + t

        score_t = await scores.wait(n, timeout, cluster, stored=stored)
        consistent_t = await scores.wait(n, 10 if score_t else 0, cluster, findings=True)
        # Let the fleet finish what it still does for these events (a consumer still behind, the
        # evaluations after the last batch), so the CPU figures cover all of it and the latency phase
        # starts on an idle fleet.
        settle_by = time.perf_counter() + SETTLE_TIMEOUT_S
        while time.perf_counter() < settle_by and not cluster.dead():
            caught_up = all(monitor.first("acked", s, n) is not None for s in CONSUMERS)
            last = max((a.t for a in scores.arrivals + findings.arrivals), default=start)
            if caught_up and time.perf_counter() - last >= QUIET_S:
                break
            await asyncio.sleep(0.25)
        end = time.perf_counter()
    finally:
        await monitor.stop()
        profiles = profiler.stop()
    cpu1 = cluster.cpu()

    def since(t: float | None) -> float | None:
        return None if t is None else t - start

    result = Bulk(
        events=n,
        batch=batch,
        concurrency=concurrency,
        accept_s=accepted - start,
        wall_s=end - start,
        score_s=since(score_t),
        consistent_s=since(consistent_t),
        rules_acked_s=monitor.first("acked", "rules", n),
        findings_stored_s=monitor.first("snapshots", "findings", n),
        score_stored_s=monitor.first("snapshots", "scores", n),
        score_messages=len(scores.arrivals),
        largest_score_bytes=max((a.size for a in scores.arrivals), default=0),
        findings_messages=len(findings.arrivals),
        largest_findings_bytes=max((a.size for a in findings.arrivals), default=0),
        retries=retries,
        cpu_s={k: cpu1[k] - cpu0.get(k, 0.0) for k in cpu1},
        evaluation_errors=log_errors(cluster),
    )
    PROFILES["bulk"] = profiles
    return result


PROFILES: dict[str, dict[str, Path]] = {}  # phase -> service -> collapsed stacks (py-spy)


# ---------------------------------------------------------------- phase 3: latency at half the rate


@dataclass
class Latency:
    project: str
    project_events: int  # the project's events at the end of the phase
    pushed: int  # events pushed in this phase
    rate: float  # events/s asked for
    interval_s: float
    batch: int
    batches: int
    measured: int  # batches whose ScoreChanged arrived
    late_sends: int  # batches sent more than half an interval behind schedule
    achieved_rate: float
    wall_s: float  # the whole phase, waits included (the CPU figures cover this)
    latencies_ms: list[float]
    consistent_ms: list[float]
    arrivals: list[Arrival]  # every ScoreChanged of the project in this phase
    answer_ms: list[float]
    cpu_s: dict[str, float]
    # per service (rules, scoring): its evaluations in this phase, from its metrics
    evaluations: dict[str, Evaluations] = field(default_factory=dict)

    def p(self, q: float, values: list[float] | None = None) -> float:
        return pct(self.latencies_ms if values is None else values, q)


async def latency(
    cluster: Cluster,
    http: httpx.AsyncClient,
    nc: Any,
    project: str,
    lines: list[Line],
    rate: float,
    interval: float,
    batches: int,
    profiler: Profiler,
    already: int = 0,
) -> Latency:
    """`already`: the project's events before this phase (events_folded counts every event of the project)."""
    size = max(1, round(rate * interval))
    lines = lines[: size * batches]
    batches = math.ceil(len(lines) / size)
    scores = Watch()
    await nc.subscribe(f"opseval.scores.{project}", cb=scores.on_msg)
    await nc.flush()
    url = cluster.url("intake") + "/v1/evidence"
    sent: list[tuple[float, float, int]] = []  # (sent, answered, cumulative events)
    cumulative, late = already, 0
    cpu0 = cluster.cpu()
    evaluations0 = await evaluations_so_far(cluster, http)
    profiler.start("latency")
    start = next_at = time.perf_counter()
    try:
        for k in range(batches):
            now = time.perf_counter()
            if now < next_at:
                await asyncio.sleep(next_at - now)
            elif now - next_at > interval / 2:
                late += 1
            chunk = lines[k * size : (k + 1) * size]
            t_sent = time.perf_counter()
            answered, _ = await post(http, url, body(chunk), len(chunk))
            cumulative += len(chunk)
            sent.append((t_sent, answered, cumulative))
            next_at += interval
        elapsed = time.perf_counter() - start
        await scores.wait(cumulative, 30, cluster)
        await scores.wait(cumulative, 10, cluster, findings=True)
        wall = time.perf_counter() - start
    finally:
        profiles = profiler.stop()
    cpu1 = cluster.cpu()
    evaluations1 = await evaluations_so_far(cluster, http)
    PROFILES["latency"] = profiles
    latencies, consistent, answers = [], [], []
    for t_sent, answered, cum in sent:
        answers.append((answered - t_sent) * 1000)
        if (t := scores.first(cum)) is not None:
            latencies.append((t - answered) * 1000)
        if (t := scores.first(cum, findings=True)) is not None:
            consistent.append((t - answered) * 1000)
    return Latency(
        project=project,
        project_events=cumulative,
        pushed=cumulative - already,
        rate=rate,
        interval_s=interval,
        batch=size,
        batches=len(sent),
        measured=len(latencies),
        late_sends=late,
        achieved_rate=(cumulative - already) / elapsed,
        wall_s=wall,
        latencies_ms=latencies,
        consistent_ms=consistent,
        arrivals=[Arrival(a.t - start, a.events_folded, a.findings_events_folded, a.size) for a in scores.arrivals],
        answer_ms=answers,
        cpu_s={k: cpu1[k] - cpu0.get(k, 0.0) for k in cpu1},
        evaluations={k: e.since(evaluations0[k]) for k, e in evaluations1.items() if k in evaluations0},
    )


EVALUATION_SECONDS = re.compile(r'^opseval_evaluation_seconds_(count|sum)\{service="\w+"\} (\S+)$', re.M)
STEP_SECONDS = re.compile(r'^opseval_evaluation_step_seconds_sum\{service="\w+",step="(\w+)"\} (\S+)$', re.M)
STEP_COUNT = re.compile(r'^opseval_evaluation_step_seconds_count\{service="\w+",step="(\w+)"\} (\S+)$', re.M)
STEP_WITHIN_HALF_S = re.compile(
    r'^opseval_evaluation_step_seconds_bucket\{le="0\.5",service="\w+",step="(\w+)"\} (\S+)$', re.M
)
THREAD_CPU_SECONDS = re.compile(r'^opseval_evaluation_cpu_seconds_sum\{service="\w+"\} (\S+)$', re.M)
# (the services' own count of full collections, beside their pauses: one source for both)
FULL_COLLECTIONS = re.compile(r'^opseval_gc_pause_seconds_(count|sum)\{generation="2"\} (\S+)$', re.M)
FROZEN_OBJECTS = re.compile(r"^opseval_gc_frozen_objects (\S+)$", re.M)
RESIDENT_BYTES = re.compile(r"^process_resident_memory_bytes (\S+)$", re.M)
STEPS = ("read", "fold", "evaluate", "store", "publish")


@dataclass
class Evaluations:
    """A service's evaluations so far, from its metrics (or, `since`, in a phase)."""

    rounds: int = 0  # opseval_evaluation_seconds: how many
    seconds: float = 0.0  # … and their time in all: a round's, against the CPU it costs
    step_seconds: dict[str, float] = field(default_factory=dict)  # opseval_evaluation_step_seconds, by step
    steps_over_half_s: dict[str, int] = field(default_factory=dict)  # the step's timings over 0.5 s
    thread_cpu_s: float = 0.0  # opseval_evaluation_cpu_seconds: the evaluate step's thread
    # of the collector's oldest generation: each goes through every object of the process (170 ms at
    # a million events in a process of its own)
    full_collections: int = 0
    full_collection_s: float = 0.0  # opseval_gc_pause_seconds: their pauses in all
    # at the time (not grown since): the objects kept out of collections, and the memory the process holds
    frozen_objects: int = 0
    resident_mib: float = 0.0

    def since(self, earlier: Evaluations) -> Evaluations:
        return Evaluations(
            self.rounds - earlier.rounds,
            self.seconds - earlier.seconds,
            {k: v - earlier.step_seconds.get(k, 0.0) for k, v in self.step_seconds.items()},
            {k: v - earlier.steps_over_half_s.get(k, 0) for k, v in self.steps_over_half_s.items()},
            self.thread_cpu_s - earlier.thread_cpu_s,
            self.full_collections - earlier.full_collections,
            self.full_collection_s - earlier.full_collection_s,
            self.frozen_objects,
            self.resident_mib,
        )

    @classmethod
    def of(cls, metrics: str) -> Evaluations:
        """From a service's /metrics text."""
        rounds = dict(EVALUATION_SECONDS.findall(metrics))
        within = dict(STEP_WITHIN_HALF_S.findall(metrics))
        full = dict(FULL_COLLECTIONS.findall(metrics))
        return cls(
            rounds=int(float(rounds.get("count", 0))),
            seconds=float(rounds.get("sum", 0)),
            step_seconds={step: float(value) for step, value in STEP_SECONDS.findall(metrics)},
            steps_over_half_s={
                step: int(float(count) - float(within.get(step, count))) for step, count in STEP_COUNT.findall(metrics)
            },
            thread_cpu_s=sum(float(value) for value in THREAD_CPU_SECONDS.findall(metrics)),
            full_collections=int(float(full.get("count", 0))),
            full_collection_s=float(full.get("sum", 0)),
            frozen_objects=int(sum(float(value) for value in FROZEN_OBJECTS.findall(metrics))),
            resident_mib=sum(float(value) for value in RESIDENT_BYTES.findall(metrics)) / 2**20,
        )


async def evaluations_so_far(cluster: Cluster, http: httpx.AsyncClient) -> dict[str, Evaluations]:
    """The rules' and the scoring service's evaluations so far (a service that does not answer: left out)."""
    out: dict[str, Evaluations] = {}
    for service in ("rules", "scoring"):
        with contextlib.suppress(httpx.HTTPError):
            out[service] = Evaluations.of((await http.get(cluster.url(service) + "/metrics", timeout=5)).text)
    return out


async def register(http: httpx.AsyncClient, cluster: Cluster, definition: bytes) -> None:
    response = await http.post(
        cluster.url("intake") + "/v1/projects", content=definition, headers={"content-type": "application/json"}
    )
    if response.status_code not in (200, 201):
        raise Failure(f"registering the project failed: {response.status_code} {response.text[:500]}")


# ---------------------------------------------------------------- report


def fmt(value: float | None, spec: str = ".1f", unit: str = "") -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:{spec}}{unit}"


def cpu_line(cpu: dict[str, float], wall: float, events: int) -> list[str]:
    order = ["intake", "rules", "scoring", "reporting", "nats-server", "bench"]
    known = [name for name in order if name in cpu and not math.isnan(cpu[name])]
    used = sum(cpu[name] for name in known)
    machine = cpu.get(MACHINE, math.nan)
    others = "" if math.isnan(machine) else f"; other processes on the machine {(machine - used) / wall:.2f}"
    return [
        f"CPU s: {', '.join(f'{name} {cpu[name]:.1f}' for name in known)} — {used:.1f} CPU-s in {wall:.1f} s wall "
        f"({used / wall:.2f} of {os.cpu_count()} cores busy{others})",
        f"CPU µs per event: {', '.join(f'{name} {cpu[name] / events * 1e6:.0f}' for name in known)} — "
        f"{used / events * 1e6:.0f} in all",
    ]


def report(base: Baseline, run: Bulk | None, lat: Latency | None, max_payload: int | None) -> list[str]:
    out = ["", "Raw JetStream (same nats-server, same payloads)"]
    out.append(
        f"  {'events':>8} {'publish msg/s':>14} {'consume msg/s':>14} {'combined msg/s':>15}\n"
        f"  {base.events:>8,} {base.publish_rate:>14,.0f} {base.consume_rate:>14,.0f} {base.combined_rate:>15,.0f}"
        f"   (publish {base.publish_s:.2f} s + consume {base.consume_s:.2f} s)"
    )
    if run is not None:
        out += ["", f"Fleet end to end ({run.events:,} events, batches of {run.batch:,}, {run.concurrency} at once)"]
        rows = [
            ("intake answered every batch", run.accept_s),
            ("rules acked every event", run.rules_acked_s),
            ("findings stored at events_folded N", run.findings_stored_s),
            ("score stored at events_folded N", run.score_stored_s),
            ("ScoreChanged events_folded N arrived", run.score_s),
            ("… with findings_events_folded N too", run.consistent_s),
        ]
        for name, t in rows:
            rate = f"{run.events / t:>9,.0f} events/s" if t else ""
            out.append(f"  {name:<37} {fmt(t, '8.1f', ' s')} {rate}")
        out.append(
            f"  ScoreChanged messages: {run.score_messages} (largest {run.largest_score_bytes / 2**20:.2f} MiB); "
            f"FindingsChanged: {run.findings_messages} (largest {run.largest_findings_bytes / 2**20:.2f} MiB)"
        )
        if any(run.evaluation_errors.values()):
            out.append(f"  evaluations that failed (logged, retried): {run.evaluation_errors}")
        out += ["  " + line for line in cpu_line(run.cpu_s, run.wall_s, run.events)]
        if run.rate:
            ratio = run.rate / base.combined_rate
            out.append(
                f"  end to end {run.rate:,.0f} events/s = {ratio:.2f} × baseline combined "
                f"(target ≥ {TARGET_RATIO}: {'met' if ratio >= TARGET_RATIO else 'MISSED'})"
            )
        else:
            stored = run.events / run.score_stored_s if run.score_stored_s else None
            out.append(
                f"  end to end: NOT MEASURED — no ScoreChanged with events_folded {run.events:,} was published"
                + (
                    f" (scoring stored that score: {stored:,.0f} events/s = {stored / base.combined_rate:.2f}"
                    " × baseline, had it been published)"
                    if stored
                    else ""
                )
            )
    if lat is not None:
        out += [
            "",
            f"Latency at ~half that rate: project {lat.project}, {lat.batches} batches of {lat.batch} every "
            f"{lat.interval_s * 1000:.0f} ms (asked {lat.rate:,.0f}/s, achieved {lat.achieved_rate:,.0f}/s; "
            f"{lat.pushed:,} events, project at {lat.project_events:,}; {lat.late_sends} sends late)",
        ]
        out.append(f"  {'from intake answer to':<44} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8} {'n':>5}")
        for name, values in (
            ("first ScoreChanged covering the batch", lat.latencies_ms),
            ("… whose findings_events_folded covers it too", lat.consistent_ms),
        ):
            out.append(
                f"  {name:<44} {fmt(pct(values, 50), '8.0f')} {fmt(pct(values, 90), '8.0f')} "
                f"{fmt(pct(values, 99), '8.0f')} {fmt(max(values, default=None), '8.0f')} {len(values):>5}"
            )
        a = lat.answer_ms
        out.append(
            f"  {'(intake answer itself, from sending)':<44} {fmt(pct(a, 50), '8.0f')} {fmt(pct(a, 90), '8.0f')} "
            f"{fmt(pct(a, 99), '8.0f')} {fmt(max(a, default=None), '8.0f')} {len(a):>5}"
        )
        gaps = [b.t - a.t for a, b in itertools.pairwise(lat.arrivals)]
        every = fmt(statistics.fmean(gaps) * 1000 if gaps else None, ".0f")
        largest = max((a.size for a in lat.arrivals), default=0) / 2**20
        out.append(
            f"  ScoreChanged messages: {len(lat.arrivals)}, one every {every} ms on average (largest {largest:.2f} MiB)"
        )
        out += ["  " + line for line in cpu_line(lat.cpu_s, lat.wall_s, lat.pushed)]
        evaluated = {service: e for service, e in lat.evaluations.items() if e.rounds}
        if evaluated:
            rounds, steps = [], []
            for service, e in evaluated.items():
                n = e.rounds
                its_cpu = (
                    f" (the service's CPU {lat.cpu_s[service] / n * 1000:.0f} ms a round)"
                    if service in lat.cpu_s
                    else ""
                )
                rounds.append(f"{service} {n}, {e.seconds / n * 1000:.0f} ms each{its_cpu}")
                taken = ", ".join(
                    f"{step} {e.step_seconds[step] / n * 1000:.0f}" for step in STEPS if step in e.step_seconds
                )
                steps.append(f"{service} {taken} (its thread's CPU {e.thread_cpu_s / n * 1000:.0f})")
            out.append(f"  evaluations: {'; '.join(rounds)}")
            out.append(f"  ms a round by step: {'; '.join(steps)}")
            full = ", ".join(
                f"{service} {e.full_collections} ({e.full_collection_s * 1000:.0f} ms)"
                for service, e in evaluated.items()
            )
            out.append(f"  full collections (the collector's oldest generation) in this phase, their pauses: {full}")
            held = ", ".join(
                f"{service} {e.resident_mib:,.0f} MiB ({e.frozen_objects:,} objects frozen)"
                for service, e in evaluated.items()
            )
            out.append(f"  memory at the end of the phase: {held}")
            slow = [
                f"{service} {step} {n}"
                for service, e in evaluated.items()
                for step, n in e.steps_over_half_s.items()
                if n
            ]
            out.append(f"  steps over 0.5 s in this phase: {', '.join(slow) if slow else 'none'}")
        p99 = lat.p(99)
        ok = lat.measured == lat.batches and lat.measured >= 100 and p99 <= TARGET_P99_MS
        held = lat.project_events - lat.pushed  # what the project held before the latency phase
        verdict = (
            ("met" if ok else "MISSED")
            if held >= TARGET_HELD
            else f"not the target's condition: the project held {held:,} events, the target is on {TARGET_HELD:,}"
        )
        out.append(
            f"  p99 {fmt(p99, '.0f')} ms over {lat.measured} of {lat.batches} batches "
            f"(target ≤ {TARGET_P99_MS:.0f} ms over ≥ 100 batches on a project holding ≥ {TARGET_HELD:,} events: "
            f"{verdict})"
        )
    payload = f"{max_payload / 2**20:g} MiB (-c nats.conf)" if max_payload else "server default (1 MiB)"
    out += ["", f"nats-server max_payload: {payload}"]
    return out


# ---------------------------------------------------------------- main


@contextlib.contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """SIGTERM/SIGHUP become KeyboardInterrupt, so the same clean-up runs as on Ctrl-C."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    old = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


@dataclass
class Results:
    base: Baseline | None = None
    bulk: Bulk | None = None
    latency: Latency | None = None
    problems: list[str] = field(default_factory=list)
    profiler: Profiler | None = None  # stopped by main() too, should a phase not get to stop it


async def run(args: argparse.Namespace, cluster: Cluster, results: Results) -> None:
    problems = results.problems
    bundle = ensure_bundle(args.events, args.seed)
    lines = load_events(bundle)
    if len(lines) != args.events:
        raise Failure(f"{bundle} holds {len(lines)} events, not {args.events}")
    project, definition = definition_json(bundle)
    print(f"  {len(lines):,} events of {bundle.relative_to(ROOT)}, {sum(len(x.data) for x in lines) / 2**20:.0f} MiB")

    cluster.start_nats()
    print("1. raw JetStream baseline …", flush=True)
    base = results.base = await baseline(cluster, lines)
    print(
        f"  publish {base.publish_rate:,.0f} msg/s, consume {base.consume_rate:,.0f} msg/s, "
        f"combined {base.combined_rate:,.0f} msg/s",
        flush=True,
    )

    print("2. fleet end to end …", flush=True)
    cluster.start_services()
    profiler = results.profiler = Profiler(cluster, Path(args.profile).resolve() if args.profile else None)
    limits = httpx.Limits(max_connections=args.concurrency + 2)
    headers = await cluster.admin_headers()
    async with httpx.AsyncClient(timeout=300, limits=limits, headers=headers) as http:
        await cluster.wait_ready(http)
        nc = await nats.connect(cluster.nats_url)
        try:
            await register(http, cluster, definition)
            run_ = results.bulk = await bulk(
                cluster, http, nc, project, lines, args.batch, args.concurrency, args.timeout, profiler
            )
            if run_.score_s is None:
                why = first_error(cluster, "scoring")
                waited = (
                    f"scoring stored that score after {run_.score_stored_s:.1f} s, but published none in the "
                    f"{STORED_GRACE_S:.0f} s after"
                    if run_.score_stored_s
                    else f"none within {args.timeout:.0f} s"
                )
                problems.append(
                    f"no ScoreChanged with events_folded {args.events} arrived ({waited})"
                    + (f"; scoring log: {why}" if why else "")
                )
            if run_.rate:
                print(
                    f"  ScoreChanged events_folded {args.events:,} after {run_.score_s:.1f} s:",
                    f"{run_.rate:,.0f} events/s",
                )

            print("3. latency at half the rate …", flush=True)
            rate = args.latency_rate or (run_.rate or run_.intake_rate) / 2
            need = max(1, round(rate * args.interval)) * args.latency_batches
            # A bundle of at least `need` events, its events renamed: for a fresh project, or as further
            # events of the bulk project (then from a bundle of its tier, `replay_bundle_size`).
            into = args.events if args.latency_project == "bulk" else None
            source = ensure_bundle(replay_bundle_size(need, into), args.seed)
            already = 0
            if args.latency_project == "bulk":
                lat_project, already = project, args.events
                lat_lines = renamed(load_events(source)[:need], project, "more-")
            else:
                lat_project = LATENCY_PROJECT
                lat_lines = renamed(load_events(source)[:need], lat_project, "lat-")
                await register(http, cluster, definition_json(source, lat_project)[1])
            lat = results.latency = await latency(
                cluster, http, nc, lat_project, lat_lines, rate, args.interval, args.latency_batches, profiler, already
            )
            if lat.measured < lat.batches:
                problems.append(f"latency: {lat.batches - lat.measured} batches never got a covering ScoreChanged")
        finally:
            await nc.close()
    if cluster.dead():
        problems.append(f"processes exited during the run: {', '.join(cluster.dead())}")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--events", type=parse_size, default=100_000, help="events pushed in bulk (default 100k)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--batch", type=int, default=2_000, help="events per POST in the bulk phase (default 2000)")
    p.add_argument("--concurrency", type=int, default=4, help="concurrent POSTs in the bulk phase (default 4)")
    p.add_argument("--timeout", type=float, default=120, help="s to wait for the final ScoreChanged (default 120)")
    p.add_argument(
        "--debounce", type=float, default=0.05, help="OPSEVAL_DEBOUNCE_S of rules and scoring (default 0.05)"
    )
    p.add_argument(
        "--latency-rate", type=float, default=None, help="events/s of the latency phase (default: half the measured)"
    )
    p.add_argument("--interval", type=float, default=0.1, help="s between latency batches (default 0.1)")
    p.add_argument("--latency-batches", type=int, default=120, help="batches in the latency phase (default 120)")
    p.add_argument(
        "--latency-project",
        choices=["fresh", "bulk"],
        default="fresh",
        help="fresh: a new project (default); bulk: more events for the bulk project",
    )
    p.add_argument(
        "--max-payload",
        type=parse_bytes,
        default=None,
        help="nats-server max_payload, e.g. 8MB (default: the server's 1 MiB, as deployed)",
    )
    p.add_argument("--profile", default=None, metavar="DIR", help="py-spy the services per phase into DIR")
    p.add_argument("--top", type=int, default=12, help="frames listed per profile")
    p.add_argument("--keep", action="store_true", help="keep the work directory (logs, store, JetStream)")
    p.add_argument("--json", default=None, metavar="FILE", help="also write the measurements as JSON")
    args = p.parse_args(argv)
    if args.profile and py_spy() is None:  # (said now, not after the baseline's two minutes)
        print(f"PROBLEM: {PY_SPY_MISSING}", file=sys.stderr)
        return 2

    print(
        f"opseval fleet throughput — Python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.platform()}"
    )
    workdir = Path(tempfile.mkdtemp(prefix="opseval-fleet-bench-"))
    cluster = Cluster(workdir, args.max_payload, args.debounce)
    results = Results()
    problems = results.problems
    failed = False
    try:
        with terminate_as_interrupt():
            asyncio.run(run(args, cluster, results))
    except Failure as exc:
        problems.append(str(exc))
        failed = True
    except KeyboardInterrupt:
        print("\ninterrupted; stopping the fleet …", file=sys.stderr)
        failed = True
    finally:
        if results.profiler is not None:
            results.profiler.stop()
        cluster.stop()
    base, run_, lat = results.base, results.bulk, results.latency
    if base is not None:
        for line in report(base, run_, lat, args.max_payload):
            print(line)
    phase_cpu = {"bulk": run_.cpu_s if run_ else {}, "latency": lat.cpu_s if lat else {}}
    for name, profiles in PROFILES.items():
        for service, path in profiles.items():
            print(f"\nProfile of {service} during the {name} phase ({path}):")
            for line in summarise_profile(path, args.top, phase_cpu[name].get(service)):
                print(line)
    if args.json and base is not None:
        data: dict[str, Any] = {
            "baseline": asdict(base)
            | {"publish_rate": base.publish_rate, "consume_rate": base.consume_rate, "combined": base.combined_rate},
            "max_payload": args.max_payload,
            "problems": problems,
        }
        if run_ is not None:
            data["end_to_end"] = asdict(run_) | {
                "intake_rate": run_.intake_rate,
                "rate": run_.rate,
                "ratio": run_.rate / base.combined_rate if run_.rate else None,
            }
        if lat is not None:
            data["latency"] = asdict(lat) | {
                f"{name}_p{q}_ms": pct(values, q)
                for name, values in (("score", lat.latencies_ms), ("consistent", lat.consistent_ms))
                for q in (50, 90, 99)
            }
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")
    return finish(workdir, args.keep, problems, failed)


def finish(workdir: Path, keep: bool, problems: list[str], failed: bool) -> int:
    """Keep the work directory when asked or when something went wrong, say each problem, and
    answer the exit status."""
    if keep or problems or failed:
        print(f"\nwork directory kept: {workdir} (service logs, store.db, JetStream files)")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    for problem in problems:
        print(f"PROBLEM: {problem}", file=sys.stderr)
    return 1 if problems or failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
