"""A soak of the running fleet: a steady load near half its measured maximum for --minutes, with the
memory of every process and the JetStream backlog sampled every 10 s; then the fleet drained and the
store checked against what intake accepted.

In one run, on a nats-server and four services it starts itself (fleet_throughput.Cluster: a free
loopback port, a temporary JetStream directory, a SQLite store in the work directory):

  maximum  a fresh project of --measure-events synthetic events pushed flat out (fleet_throughput's
           bulk phase): events / time until the ScoreChanged covering all of them. Skipped with --rate.
  load     --fraction (0.5) of that rate, held for --minutes (10): every --interval (0.1 s) one POST
           carrying the events due by then (rate x elapsed - sent), one request at a time. The events
           are synthetic O&M years (`opseval synth`) of --project-events each, renamed per project:
           --active projects take evidence at once, and a project that has had its year is replaced by
           a fresh one, as a fleet serving many buildings sees them. An evaluator reads a project's
           scores and findings every second.
  samples  every --sample-every (10 s): VmRSS of intake, rules, scoring, reporting and nats-server
           (/proc/PID/status), their CPU seconds, num_pending and num_ack_pending of the durable
           consumers rules-evidence and scoring-findings, events accepted so far.
  drain    pushing stops; the run waits until every consumer has acknowledged everything and each
           project's stored score and findings cover all its events.
  checks   events accepted by intake = events in the store = messages in the evidence stream, per
           project too (nothing lost, nothing doubled), nothing dead-lettered.

It prints the RSS curve and the backlog curve, the load held, a verdict on flatness (RSS growth after
the first third of the load; the backlog's linear trend over the second half) and writes every sample
to bench/results/soak-<time>.json and .csv. A benchmark, not a test: it exits 1 only when something it
runs fails or a check above does not hold (printed as PROBLEM: ...). Every process it starts is stopped
on exit, Ctrl-C and SIGTERM included. Run:

  uv run --frozen python bench/soak.py                      # 10 minutes at half the measured maximum
  uv run --frozen python bench/soak.py --minutes 1          # a quick check (~2 minutes in all)
  uv run --frozen python bench/soak.py --rate 2000          # a fixed rate, no measurement
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import itertools
import math
import os
import platform
import random
import sqlite3
import sys
import tempfile
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import nats
import orjson

# The fleet harness and the bulk measurement of fleet_throughput.py (the same processes, the same
# environment); the bundle cache of evaluate_scale.py (bench/out/synth-<size>-seed<seed>/).
from evaluate_scale import ensure_bundle, parse_size
from fleet_throughput import (
    MACHINE,
    SERVICES,
    Cluster,
    Failure,
    Line,
    Profiler,
    body,
    bulk,
    definition_json,
    finish,
    load_events,
    log_errors,
    parse_bytes,
    renamed,
    terminate_as_interrupt,
)

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PROCESSES = (*SERVICES, "nats-server")
# (stream, durable consumer) sampled; the first two carry evidence, the third the rules' FindingsChanged.
CONSUMERS = (
    ("OPSEVAL_EVIDENCE", "rules-evidence"),
    ("OPSEVAL_RESULTS", "scoring-findings"),
)
MAX_BATCH = 2_000  # events in one POST at most (a late tick sends what is due, up to this)
FLAT_RSS_PCT = 10.0  # RSS growth after the first third of the load, in % of the RSS then, still "flat"
FLAT_RSS_MB = 10.0  # ... or in MB (small processes)

# ---------------------------------------------------------------- /proc


def rss_mb(pid: int) -> float:
    """Resident set of a running process in MiB (VmRSS of /proc/PID/status); NaN once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return math.nan


def slope(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of y over x (0 for fewer than two distinct x)."""
    points = [(x, y) for x, y in points if not math.isnan(y)]
    if len(points) < 2:
        return 0.0
    mx = sum(x for x, _ in points) / len(points)
    my = sum(y for _, y in points) / len(points)
    sxx = sum((x - mx) ** 2 for x, _ in points)
    return sum((x - mx) * (y - my) for x, y in points) / sxx if sxx else 0.0


# ---------------------------------------------------------------- the load


@dataclass
class Project:
    id: str
    lines: list[Line]
    sent: int = 0

    @property
    def done(self) -> bool:
        return self.sent >= len(self.lines)


class Projects:
    """Synthetic projects, each the cached bundle renamed (project id, and event ids: ids are unique
    across the store); `active` at once, the next registered when one has had all its events."""

    def __init__(self, bundle: Path, per_project: int, active: int, prefix: str = "soak") -> None:
        self.base = load_events(bundle)[:per_project]
        self.definition = orjson.loads(definition_json(bundle)[1])
        self.active_n, self.prefix = active, prefix
        self.active: deque[Project] = deque()
        self.all: list[Project] = []
        self.counter = itertools.count(1)

    async def fill(self, http: httpx.AsyncClient, cluster: Cluster) -> None:
        while len(self.active) < self.active_n:
            pid = f"{self.prefix}-{next(self.counter):04d}"
            lines = await asyncio.to_thread(renamed, self.base, pid, f"{pid}-")
            definition = {**self.definition, "project": {**self.definition["project"], "id": pid}}
            await register(http, cluster, orjson.dumps(definition))
            project = Project(pid, lines)
            self.active.append(project)
            self.all.append(project)

    def take(self, n: int) -> tuple[Project, list[Line]]:
        """Up to n events of the next active project (round robin)."""
        project = self.active[0]
        self.active.rotate(-1)
        chunk = project.lines[project.sent : project.sent + n]
        project.sent += len(chunk)
        if project.done:
            self.active.remove(project)
        return project, chunk


async def register(http: httpx.AsyncClient, cluster: Cluster, definition: bytes) -> None:
    response = await http.post(
        cluster.url("intake") + "/v1/projects", content=definition, headers={"content-type": "application/json"}
    )
    if response.status_code not in (200, 201):
        raise Failure(f"registering a project failed: {response.status_code} {response.text[:500]}")


@dataclass
class Tally:
    accepted: int = 0  # events intake answered "accepted"
    duplicate: int = 0  # ... "duplicate" (a replay of a batch whose answer was lost, or a real double)
    requests: int = 0
    retries: int = 0  # POSTs sent again (503, transport error)
    retried_events: int = 0  # events in POSTs sent more than once (their replays may be answered "duplicate")
    late_ticks: int = 0  # ticks that found the previous POST still running past the next tick


async def push(http: httpx.AsyncClient, url: str, chunk: list[Line], tally: Tally) -> None:
    """POST one batch until intake takes it (503, transport errors and a correction of an event not
    stored yet are retried: replays are safe)."""
    payload = body(chunk)
    for attempt in range(40):
        status, text = None, ""
        try:
            response = await http.post(url, content=payload, headers={"content-type": "application/json"})
            status, text = response.status_code, response.text
        except httpx.HTTPError as exc:
            text = repr(exc)
        if status == 200:
            counts = orjson.loads(response.content)
            if counts.get("failed") or counts["accepted"] + counts["duplicate"] != len(chunk):
                raise Failure(f"intake did not take the batch: { {k: counts[k] for k in list(counts)[:4]} }")
            tally.accepted += counts["accepted"]
            tally.duplicate += counts["duplicate"]
            tally.requests += 1
            return
        # A correction whose event intake took a moment ago, not stored yet by the rules: intake
        # answers so and asks for it again shortly (the bundle's re-judgments follow their judgment).
        not_yet = status == 422 and "not stored yet" in text
        if status is not None and status != 503 and not not_yet:
            raise Failure(f"push refused: {status} {text[:300]}")
        tally.retries += 1
        tally.retried_events += len(chunk) if attempt == 0 else 0
        await asyncio.sleep(min(2.0, 0.25 * 2**attempt))
    raise Failure(f"push kept failing: {status} {text[:300]}")


async def load(
    cluster: Cluster,
    http: httpx.AsyncClient,
    projects: Projects,
    rate: float,
    seconds: float,
    interval: float,
    tally: Tally,
) -> float:
    """Holds `rate` events/s for `seconds`; returns the wall time it took."""
    url = cluster.url("intake") + "/v1/evidence"
    start = time.perf_counter()
    sent, tick = 0, 0
    while (now := time.perf_counter()) - start < seconds:
        await projects.fill(http, cluster)
        due = min(MAX_BATCH, int(rate * (now - start)) - sent)
        if due > 0:
            _, chunk = projects.take(due)
            await push(http, url, chunk, tally)
            sent += len(chunk)
        if cluster.dead():
            raise Failure(f"processes exited during the load: {', '.join(cluster.dead())}")
        tick += 1
        wait = start + tick * interval - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)
        else:
            tally.late_ticks += 1
            tick = math.ceil((time.perf_counter() - start) / interval)
    return time.perf_counter() - start


async def reader(cluster: Cluster, http: httpx.AsyncClient, projects: Projects, stats: dict[str, int]) -> None:
    """An evaluator: one project's scores and findings every second (reporting is not idle)."""
    rng = random.Random(1)
    while True:
        await asyncio.sleep(1.0)
        if not projects.all:
            continue
        project = rng.choice(projects.all[-8:]).id
        for what in ("scores", "findings"):
            try:
                response = await http.get(cluster.url("reporting") + f"/v1/projects/{project}/{what}")
                stats[str(response.status_code)] = stats.get(str(response.status_code), 0) + 1
            except httpx.HTTPError:
                stats["error"] = stats.get("error", 0) + 1


# ---------------------------------------------------------------- sampling


@dataclass
class Sample:
    t: float  # s since the load started
    phase: str  # "load" or "drain"
    accepted: int  # events intake took (accepted + duplicate) so far
    rss_mb: dict[str, float]
    cpu_s: dict[str, float]  # cumulative; MACHINE: every process on the machine
    pending: dict[str, int]  # durable -> num_pending
    ack_pending: dict[str, int]  # durable -> num_ack_pending
    redelivered: dict[str, int] = field(default_factory=dict)  # durable -> num_redelivered (unacked, resent)

    def backlog(self, durable: str) -> int:
        return self.pending.get(durable, 0) + self.ack_pending.get(durable, 0)


async def sample(js: Any, cluster: Cluster, t: float, phase: str, tally: Tally) -> Sample:
    pending, ack_pending, redelivered = {}, {}, {}
    for stream, durable in CONSUMERS:
        with contextlib.suppress(Exception):  # not created yet (no findings so far), or a slow answer
            info = await js.consumer_info(stream, durable)
            pending[durable], ack_pending[durable] = int(info.num_pending or 0), int(info.num_ack_pending or 0)
            redelivered[durable] = int(info.num_redelivered or 0)
    return Sample(
        t=round(t, 2),
        phase=phase,
        accepted=tally.accepted + tally.duplicate,
        rss_mb={name: round(rss_mb(cluster.procs[name].pid), 1) for name in PROCESSES},
        cpu_s={k: round(v, 2) for k, v in cluster.cpu().items()},
        pending=pending,
        ack_pending=ack_pending,
        redelivered=redelivered,
    )


class Sampler:
    def __init__(self, js: Any, cluster: Cluster, tally: Tally, every: float) -> None:
        self.js, self.cluster, self.tally, self.every = js, cluster, tally, every
        self.samples: list[Sample] = []
        self.t0 = time.perf_counter()
        self.phase = "load"
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self.t0 = time.perf_counter()
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.take()  # the last point

    async def take(self) -> Sample:
        s = await sample(self.js, self.cluster, time.perf_counter() - self.t0, self.phase, self.tally)
        self.samples.append(s)
        return s

    async def _run(self) -> None:
        n = 0
        while True:
            s = await self.take()
            rss = " ".join(f"{k} {v:.0f}" for k, v in s.rss_mb.items())
            backlog = " ".join(f"{d} {s.backlog(d)}" for _, d in CONSUMERS)
            print(f"  {s.t:6.0f} s {s.phase:<5} accepted {s.accepted:>9,}  RSS MB: {rss}  backlog: {backlog}")
            n += 1
            await asyncio.sleep(max(0.0, self.t0 + n * self.every - time.perf_counter()))


# ---------------------------------------------------------------- drain and checks


def store_counts(path: Path) -> tuple[dict[str, int], dict[tuple[str, str], int], int]:
    """Events per project, snapshot seq per (kind, project) (column `revision`), dead letters — from the SQLite file."""
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)) as conn:
        events = dict(conn.execute("SELECT project, COUNT(*) FROM events GROUP BY project").fetchall())
        snaps = {(k, p): r for k, p, r in conn.execute("SELECT kind, project, revision FROM snapshots").fetchall()}
        letters = int(conn.execute("SELECT COUNT(*) FROM dead_letters").fetchone()[0])
    return events, snaps, letters


def current(events: dict[str, int], snaps: dict[tuple[str, str], int], project: str, n: int) -> bool:
    """The stored score and findings of the project cover all its n events (and the store holds n)."""
    scores = snaps.get(("scores", project), -1)
    return (
        events.get(project, 0) == n
        and snaps.get(("findings", project)) == n
        and scores // 10**9 == n
        and scores % 10**9 == n
    )


async def drain(
    js: Any, cluster: Cluster, expected: dict[str, int], timeout: float
) -> tuple[float | None, dict[str, int]]:
    """Waits until every consumer acknowledged everything and every project is scored over all its
    events; (seconds it took or None, the backlogs when it ended)."""
    start = time.perf_counter()
    while True:
        backlog = {}
        for stream, durable in CONSUMERS:
            with contextlib.suppress(Exception):
                info = await js.consumer_info(stream, durable)
                backlog[durable] = int(info.num_pending or 0) + int(info.num_ack_pending or 0)
        if len(backlog) == len(CONSUMERS) and not any(backlog.values()):
            events, snaps, _ = await asyncio.to_thread(store_counts, cluster.store_path)
            if all(current(events, snaps, p, n) for p, n in expected.items()):
                return time.perf_counter() - start, backlog
        if time.perf_counter() - start > timeout or cluster.dead():
            return None, backlog
        await asyncio.sleep(1.0)


def consume_restarts(cluster: Cluster) -> dict[str, int]:
    """How often a consuming task of rules or scoring died and FastStream's supervisor started it again
    (read before the services are stopped: each restart logs "callback for Task-N is being executed";
    the traceback is logged only the first time). The messages the task had fetched but not handled
    come back only after ack_wait."""
    counts = {}
    for service in ("rules", "scoring"):
        log = cluster.log(service)
        counts[service] = log.read_text(errors="replace").count("is being executed...") if log.exists() else 0
    return counts


@dataclass
class Outcome:
    rate: float  # events/s asked for
    measured_max: float | None
    minutes: float
    load_s: float = 0.0
    drain_s: float | None = None
    tally: Tally = field(default_factory=Tally)
    projects: int = 0
    accepted: int = 0  # by intake, in the load phase (accepted + duplicate)
    stored: int = 0  # events of the soak's projects in the store
    stream_messages: int = 0  # messages in the evidence stream (the measurement's included)
    stream_expected: int = 0
    projects_short: list[str] = field(default_factory=list)  # store != accepted, or results not current
    dead_letters: int = 0
    evaluation_errors: dict[str, int] = field(default_factory=dict)
    consume_restarts: dict[str, int] = field(default_factory=dict)  # FastStream supervisor restarts, per service
    reads: dict[str, int] = field(default_factory=dict)
    samples: list[Sample] = field(default_factory=list)


async def soak(args: argparse.Namespace, cluster: Cluster, outcome_box: list[Outcome]) -> None:
    cluster.start_nats()
    # Every request of the soak carries the client's headers: an administrator's API key, issued into
    # the fleet's store (fleet_throughput.Cluster.admin_headers, as `opseval keys create` does).
    headers = await cluster.admin_headers()
    cluster.start_services()
    async with httpx.AsyncClient(timeout=120, headers=headers) as http:
        await cluster.wait_ready(http)
        nc = await nats.connect(cluster.nats_url)
        try:
            js = nc.jetstream()
            measured_events = 0
            measured: float | None = None
            if args.rate is None:
                bundle = ensure_bundle(args.measure_events, args.seed)
                project, definition = "soak-measure", definition_json(bundle, "soak-measure")[1]
                lines = renamed(load_events(bundle), project, "m-")
                print(f"maximum: {len(lines):,} events pushed flat out (batches of 2,000, 4 at once) …", flush=True)
                await register(http, cluster, definition)
                run = await bulk(cluster, http, nc, project, lines, 2_000, 4, 120, Profiler(cluster, None))
                measured = run.rate
                if measured is None:
                    raise Failure("the maximum could not be measured: no ScoreChanged covered every event")
                measured_events = len(lines)
                print(f"  end to end {measured:,.0f} events/s", flush=True)
            rate = args.rate if args.rate is not None else args.fraction * (measured or 0)
            outcome = Outcome(rate=rate, measured_max=measured, minutes=args.minutes)
            outcome_box.append(outcome)

            projects = Projects(ensure_bundle(args.project_events, args.seed), args.project_events, args.active)
            print(
                f"load: {rate:,.0f} events/s for {args.minutes:g} min, one POST every {args.interval * 1000:.0f} ms, "
                f"{args.active} projects of {len(projects.base):,} events at a time; a sample every "
                f"{args.sample_every:g} s",
                flush=True,
            )
            sampler = Sampler(js, cluster, outcome.tally, args.sample_every)
            reads: dict[str, int] = {}
            sampler.start()
            reading = asyncio.create_task(reader(cluster, http, projects, reads))
            try:
                outcome.load_s = await load(
                    cluster, http, projects, rate, args.minutes * 60, args.interval, outcome.tally
                )
                await sampler.take()  # the end of the load
                sampler.phase = "drain"
                expected = {p.id: p.sent for p in projects.all}
                print(f"drain: waiting for the fleet to catch up (at most {args.drain_timeout:.0f} s) …", flush=True)
                outcome.drain_s, backlog = await drain(js, cluster, expected, args.drain_timeout)
            finally:
                reading.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await reading
                await sampler.stop()
            outcome.samples = sampler.samples
            outcome.reads = reads

            events, snaps, outcome.dead_letters = await asyncio.to_thread(store_counts, cluster.store_path)
            outcome.projects = len(projects.all)
            outcome.accepted = outcome.tally.accepted + outcome.tally.duplicate
            outcome.stored = sum(events.get(p.id, 0) for p in projects.all)
            outcome.projects_short = [p.id for p in projects.all if not current(events, snaps, p.id, p.sent)]
            info = await js.stream_info("OPSEVAL_EVIDENCE")
            outcome.stream_messages = int(info.state.messages)
            outcome.stream_expected = measured_events + outcome.accepted
            outcome.evaluation_errors = log_errors(cluster)
            outcome.consume_restarts = consume_restarts(cluster)
            if outcome.drain_s is None:
                print(f"  the fleet did not drain: backlog {backlog}", flush=True)
        finally:
            await nc.close()


# ---------------------------------------------------------------- report


def at(samples: list[Sample], t: float) -> Sample:
    return min(samples, key=lambda s: abs(s.t - t))


def report(o: Outcome) -> tuple[list[str], list[str]]:
    """The printed report and the problems found."""
    out: list[str] = []
    problems: list[str] = []
    load = [s for s in o.samples if s.phase == "load"]
    if not load:
        return ["no samples"], ["no samples were taken"]
    end_t = o.load_s
    first = load[0]
    last = at(load, end_t)
    third = at(load, end_t / 3)
    achieved = o.accepted / o.load_s if o.load_s else 0.0
    measured = (
        f" = {o.rate / o.measured_max:.2f} × the measured maximum {o.measured_max:,.0f}" if o.measured_max else ""
    )
    out += ["", f"Load: asked {o.rate:,.0f} events/s{measured}; held {achieved:,.0f} events/s over {o.load_s:.0f} s"]
    windows = [(b.accepted - a.accepted) / (b.t - a.t) for a, b in itertools.pairwise(load) if b.t - a.t >= 1]
    if windows:
        out.append(
            f"  per {o.samples[1].t - o.samples[0].t:.0f}-s window: min {min(windows):,.0f}, "
            f"max {max(windows):,.0f} events/s; {o.tally.requests:,} POSTs, {o.tally.retries} retried, "
            f"{o.tally.late_ticks} ticks late; {o.projects} projects"
        )
    if achieved < 0.95 * o.rate:
        problems.append(f"the load was not held: {achieved:,.0f} of {o.rate:,.0f} events/s")

    # CPU: ours and everyone else's (other engineers' tests share the machine)
    ours = [*PROCESSES]
    used = sum(last.cpu_s.get(n, 0) - first.cpu_s.get(n, 0) for n in ours)
    bench = last.cpu_s.get("bench", 0) - first.cpu_s.get("bench", 0)
    machine = last.cpu_s.get(MACHINE, math.nan) - first.cpu_s.get(MACHINE, math.nan)
    span = last.t - first.t or 1.0
    other = (machine - used - bench) / span
    out.append(
        f"  CPU: fleet {used / span:.2f} cores ("
        + ", ".join(f"{n} {(last.cpu_s.get(n, 0) - first.cpu_s.get(n, 0)) / span:.2f}" for n in ours)
        + f"), the soak itself {bench / span:.2f}, other processes on the machine {other:.2f} of {os.cpu_count()}"
    )

    # RSS curve
    step = 60.0 if end_t >= 180 else max(1.0, load[1].t - load[0].t if len(load) > 1 else 10.0)
    marks = [at(o.samples, t) for t in [*(k * step for k in range(int(end_t // step) + 1)), end_t]]
    marks += [s for s in o.samples if s.phase == "drain"][-1:]
    rows = list(dict.fromkeys(id(s) for s in marks))
    by_id = {id(s): s for s in o.samples}
    unit = "min" if step == 60 else "s"
    out += ["", f"RSS MiB (VmRSS) — {'per minute' if step == 60 else 'per sample'} of the load, then drained"]
    out.append(f"  {unit:>6} {'accepted':>10} " + " ".join(f"{n:>12}" for n in PROCESSES))
    for i in rows:
        s = by_id[i]
        when = f"{s.t / 60:6.1f}" if step == 60 else f"{s.t:6.0f}"
        tag = " (drained)" if s.phase == "drain" else ""
        out.append(
            f"  {when} {s.accepted:>10,} " + " ".join(f"{s.rss_mb.get(n, math.nan):>12.1f}" for n in PROCESSES) + tag
        )
    out += ["", "  flatness: RSS at the start, at the end of the first third, at the end of the load"]
    for name in PROCESSES:
        a, b, c = first.rss_mb[name], third.rss_mb[name], last.rss_mb[name]
        growth = c - b
        pct = growth / b * 100 if b else math.nan
        trend = slope([(s.t / 60, s.rss_mb[name]) for s in load if s.t >= third.t])
        flat = growth <= max(FLAT_RSS_MB, FLAT_RSS_PCT / 100 * b)
        events = last.accepted - third.accepted
        per_event = growth * 2**20 / events if events else math.nan
        out.append(
            f"  {name:<12} {a:7.1f} → {b:7.1f} → {c:7.1f} MiB: after the first third {growth:+7.1f} MiB "
            f"({pct:+5.1f} %; {per_event:+5.0f} bytes per event accepted meanwhile), trend {trend:+6.1f} MiB/min "
            f"— {'flat' if flat else 'GROWING'}"
        )
        if not flat:
            problems.append(f"RSS of {name} grew {growth:+.0f} MiB ({pct:+.0f} %) after the first third of the load")

    # backlog curve
    out += ["", "Backlog (num_pending + num_ack_pending) of the durable consumers"]
    out.append(f"  {unit:>6} " + " ".join(f"{d:>22}" for _, d in CONSUMERS))
    for i in rows:
        s = by_id[i]
        when = f"{s.t / 60:6.1f}" if step == 60 else f"{s.t:6.0f}"
        cells = " ".join(f"{f'{s.pending.get(d, 0)} + {s.ack_pending.get(d, 0)}':>22}" for _, d in CONSUMERS)
        out.append(f"  {when} {cells}" + (" (drained)" if s.phase == "drain" else ""))
    half = [s for s in load if s.t >= end_t / 2]
    half_s = (half[-1].t - half[0].t) if len(half) > 1 else 0.0
    for _, durable in CONSUMERS:
        values = [s.backlog(durable) for s in load]
        fit = slope([(s.t, float(s.backlog(durable))) for s in half])
        # Evidence is counted in events; FindingsChanged in messages (a few per second).
        allowance = max(1_000.0, 2 * o.rate) if durable.endswith("evidence") else 50.0
        growing = fit * half_s > allowance
        out.append(
            f"  {durable:<17} max {max(values):>7,}, mean {sum(values) / len(values):>9,.1f}, at the end "
            f"{values[-1]:>7,}; second half: slope {fit:+8.2f}/s = {fit * half_s:+9,.0f} over {half_s:.0f} s "
            f"— {'GROWING' if growing else 'not growing'}"
        )
        if growing:
            problems.append(f"the backlog of {durable} grew by {fit * half_s:,.0f} over the second half")

    # nothing lost, nothing doubled
    out += ["", "Nothing lost, nothing doubled"]
    drained = f"drained in {o.drain_s:.1f} s" if o.drain_s is not None else "DID NOT DRAIN"
    out.append(
        f"  intake took {o.accepted:,} events ({o.tally.accepted:,} accepted, {o.tally.duplicate} duplicate) in "
        f"{o.projects} projects; the store holds {o.stored:,}; the evidence stream {o.stream_messages:,} messages "
        f"(expected {o.stream_expected:,}, the measurement's included); {drained}"
    )
    out.append(
        f"  projects whose stored score and findings cover all their events: {o.projects - len(o.projects_short)} "
        f"of {o.projects}; dead letters {o.dead_letters}; evaluations that failed (logged, retried) "
        f"{o.evaluation_errors}; evaluator reads {o.reads}"
    )
    redelivered = {d: max((s.redelivered.get(d, 0) for s in o.samples), default=0) for _, d in CONSUMERS}
    out.append(
        f"  consuming tasks restarted by FastStream's supervisor (an exception escaped the fetch loop): "
        f"{o.consume_restarts}; most messages redelivered at once (num_redelivered) {redelivered}"
    )
    if o.stored != o.accepted:
        problems.append(f"the store holds {o.stored:,} events, intake took {o.accepted:,}")
    if o.stream_messages != o.stream_expected:
        problems.append(f"the evidence stream holds {o.stream_messages:,} messages, not {o.stream_expected:,}")
    if o.tally.duplicate > o.tally.retried_events:
        problems.append(
            f"intake reported {o.tally.duplicate} duplicates; only {o.tally.retried_events} events were sent again"
        )
    if o.projects_short:
        problems.append(f"projects not current after the drain: {', '.join(o.projects_short[:10])}")
    if o.dead_letters:
        problems.append(f"{o.dead_letters} dead letters")
    if o.drain_s is None:
        problems.append("the fleet did not drain")
    return out, problems


def write_results(o: Outcome, args: argparse.Namespace, problems: list[str], stamp: str) -> tuple[Path, Path]:
    RESULTS.mkdir(parents=True, exist_ok=True)
    base = RESULTS / f"soak-{stamp}"
    data = {
        "args": vars(args),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()},
        "outcome": {k: v for k, v in asdict(o).items() if k != "samples"},
        "problems": problems,
        "samples": [asdict(s) for s in o.samples],
    }
    json_path = base.with_suffix(".json")
    json_path.write_text(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")
    csv_path = base.with_suffix(".csv")
    with csv_path.open("w", newline="") as f:
        w = csv.writer(f)
        durables = [d for _, d in CONSUMERS]
        w.writerow(
            ["t_s", "phase", "accepted"]
            + [f"rss_mb_{n}" for n in PROCESSES]
            + [f"cpu_s_{n}" for n in (*PROCESSES, MACHINE)]
            + [f"{k}_{d}" for d in durables for k in ("num_pending", "num_ack_pending", "num_redelivered")]
        )
        for s in o.samples:
            w.writerow(
                [s.t, s.phase, s.accepted]
                + [s.rss_mb.get(n) for n in PROCESSES]
                + [s.cpu_s.get(n) for n in (*PROCESSES, MACHINE)]
                + [v for d in durables for v in (s.pending.get(d), s.ack_pending.get(d), s.redelivered.get(d))]
            )
    return json_path, csv_path


# ---------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--minutes", type=float, default=10, help="length of the load (default 10)")
    p.add_argument("--rate", type=float, default=None, help="events/s (default: --fraction of the measured maximum)")
    p.add_argument("--fraction", type=float, default=0.5, help="of the measured maximum (default 0.5)")
    p.add_argument("--measure-events", type=parse_size, default=20_000, help="events of the measurement (20k)")
    p.add_argument("--project-events", type=parse_size, default=20_000, help="events per project (default 20k)")
    p.add_argument("--active", type=int, default=2, help="projects taking evidence at once (default 2)")
    p.add_argument("--interval", type=float, default=0.1, help="s between POSTs (default 0.1)")
    p.add_argument("--sample-every", type=float, default=10.0, help="s between samples (default 10)")
    p.add_argument("--drain-timeout", type=float, default=300.0, help="s to wait for the fleet to drain (300)")
    p.add_argument("--debounce", type=float, default=0.2, help="OPSEVAL_DEBOUNCE_S (default 0.2, as deployed)")
    p.add_argument("--max-payload", type=parse_bytes, default=None, help="nats-server max_payload (default 1 MiB)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--keep", action="store_true", help="keep the work directory (logs, store, JetStream)")
    args = p.parse_args(argv)

    started = datetime.now()
    print(
        f"opseval fleet soak — {started:%Y-%m-%d %H:%M}, Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, {platform.platform()}",
        flush=True,
    )
    workdir = Path(tempfile.mkdtemp(prefix="opseval-soak-"))
    cluster = Cluster(workdir, args.max_payload, args.debounce)
    box: list[Outcome] = []
    problems: list[str] = []
    failed = False
    try:
        with terminate_as_interrupt():
            asyncio.run(soak(args, cluster, box))
    except Failure as exc:
        problems.append(str(exc))
        failed = True
    except KeyboardInterrupt:
        print("\ninterrupted; stopping the fleet …", file=sys.stderr)
        failed = True
    finally:
        cluster.stop()
    if box and box[0].samples:
        lines, found = report(box[0])
        problems += found
        for line in lines:
            print(line)
        json_path, csv_path = write_results(box[0], args, problems, f"{started:%Y%m%d-%H%M%S}")
        print(f"\nsamples: {json_path.relative_to(ROOT)}, {csv_path.relative_to(ROOT)}")
    return finish(workdir, args.keep, problems, failed)


if __name__ == "__main__":
    raise SystemExit(main())
