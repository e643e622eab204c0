"""`opseval up` runs nats-server and the four services in a process group of their own; Ctrl-C or
SIGTERM stops every one of them, and none outlives it even when it is killed; a second `opseval up`
on the same directory refuses."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from natsfixtures import free_port, port_open

from opseval import fleet

UP = [sys.executable, "-m", "opseval.cli", "up"]


@dataclass
class Up:
    proc: subprocess.Popen[str]
    data: Path
    nats_port: int
    ports: list[int]  # reporting, intake, rules, scoring

    def children(self) -> list[int]:
        """The pids of the processes it started (nats-server and the four services)."""
        return [pid for pid in _pids() if _stat(pid)[1] == self.proc.pid]

    def stop(self, sig: int) -> str:
        self.proc.send_signal(sig)
        output, _ = self.proc.communicate(timeout=90)
        return output


def _pids() -> list[int]:
    return [int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()]


def _stat(pid: int) -> tuple[str, int, int]:
    """State, parent pid and process group of `pid` (("X", 0, 0) once it is gone)."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return ("X", 0, 0)
    fields = text.rsplit(")", 1)[1].split()  # after the command name, which may hold spaces
    return (fields[0], int(fields[1]), int(fields[2]))


def _gone(pid: int) -> bool:
    return _stat(pid)[0] in ("X", "Z")  # exited (a zombie waits only for a parent to reap it)


def _ready(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


def start_up(data: Path, attempts: int = 3) -> Up:
    """`opseval up` on free ports. Four consecutive ports are free when looked at, but another process
    may take one before a service binds it: such a start is tried again on other ports, any other
    failure is the test's."""
    for attempt in range(attempts):
        nats_port, base = free_port(), free_port()
        ports = [base, base + 1, base + 2, base + 3]
        if any(port_open(p) for p in ports):
            continue
        proc = subprocess.Popen(
            [*UP, "--data", str(data), "--nats-port", str(nats_port), "--port", str(base)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 90
        ready: set[int] = set()
        while len(ready) < 4:
            if proc.poll() is not None:
                output = proc.communicate()[0]
                logs = "".join(p.read_text(errors="replace") for p in data.glob("*.log"))
                if "address already in use" in logs and attempt + 1 < attempts:
                    for log in data.glob("*.log"):
                        log.unlink()
                    break
                raise AssertionError(output)
            if time.monotonic() > deadline:
                proc.kill()
                raise AssertionError(f"opseval up did not get ready: {proc.communicate()[0]}")
            ready |= {port for port in ports if port not in ready and _ready(port)}
            time.sleep(0.3)
        else:
            return Up(proc, data, nats_port, ports)
    pytest.skip(f"no four free consecutive HTTP ports in {attempts} tries")


@pytest.fixture
def up(tmp_path: Path) -> Iterator[Up]:
    if fleet.find_nats_server() is None:
        pytest.skip("nats-server is not installed (apt-get install nats-server; .ci/run installs it)")
    running = start_up(tmp_path / "data")
    yield running
    if running.proc.poll() is None:  # a failed test: leave nothing behind
        running.stop(signal.SIGTERM)


def assert_all_stopped(up: Up, children: list[int]) -> None:
    deadline = time.monotonic() + 60
    while not all(_gone(pid) for pid in children) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert [pid for pid in children if not _gone(pid)] == []
    assert [p for p in [up.nats_port, *up.ports] if port_open(p)] == []


def test_up_serves_all_four_services_and_ctrl_c_stops_them_all(up: Up) -> None:
    base = up.ports[0]
    assert httpx.get(f"http://127.0.0.1:{base}/v1/projects", timeout=5).status_code == 401
    key_file = up.data / "admin.key"
    assert key_file.stat().st_mode & 0o777 == 0o600  # the first start issued an administrator key
    admin = {"authorization": f"Bearer {key_file.read_text().strip()}"}
    assert httpx.get(f"http://127.0.0.1:{base}/v1/projects", headers=admin, timeout=5).json() == []
    children = up.children()
    assert len(children) == 5

    output = up.stop(signal.SIGINT)
    assert up.proc.returncode == 0, output
    assert "opseval fleet is up" in output and "stopping" in output and "admin.key" in output
    dashboard = f"http://127.0.0.1:{base}/dashboard"
    assert f"dashboard     {dashboard}" in output
    assert_all_stopped(up, children)


@pytest.mark.slow
def test_the_children_run_in_one_process_group_of_their_own_and_sigterm_stops_them_all(up: Up) -> None:
    children = up.children()
    assert len(children) == 5
    groups = {_stat(pid)[2] for pid in children}
    assert len(groups) == 1 and groups != {os.getpgid(up.proc.pid)}, groups
    (group,) = groups

    output = up.stop(signal.SIGTERM)
    assert up.proc.returncode == 0, output
    assert f"process group {group}" in output and "stopping… (SIGTERM)" in output
    assert_all_stopped(up, children)


@pytest.mark.slow
def test_no_child_outlives_up_when_it_is_killed(up: Up) -> None:
    children = up.children()
    assert len(children) == 5
    up.stop(signal.SIGKILL)  # no chance to stop anything itself: each child is told by the kernel
    assert_all_stopped(up, children)


@pytest.mark.slow
def test_a_second_up_on_the_same_directory_refuses_and_the_first_keeps_serving(up: Up) -> None:
    again = subprocess.run(
        [*UP, "--data", str(up.data), "--nats-port", str(free_port()), "--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert again.returncode == 1
    assert again.stderr.strip() == (
        f"opseval up: {up.data.resolve()} is in use by another `opseval up` (pid {up.proc.pid}); "
        f"stop that one first (Ctrl-C in its terminal, or `kill {up.proc.pid}`), or pass another --data"
    )
    assert again.stdout == ""
    assert all(_ready(port) for port in up.ports)
    assert len(up.children()) == 5


def test_up_says_how_to_get_nats_server_when_it_is_missing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setattr(fleet, "find_nats_server", lambda: None)
    assert fleet.up(tmp_path, free_port(), free_port()) == 1
    assert "apt-get install nats-server" in capsys.readouterr().err


@pytest.mark.slow
def test_a_service_that_cannot_start_is_named_with_its_exit_code_and_the_end_of_its_log(tmp_path: Path) -> None:
    if fleet.find_nats_server() is None:
        pytest.skip("nats-server is not installed (apt-get install nats-server; .ci/run installs it)")
    data, nats_port = tmp_path / "data", free_port()
    broken = {**os.environ, "OPSEVAL_DEBOUNCE_S": "soon"}  # every service refuses this setting
    done = subprocess.run(
        [*UP, "--data", str(data), "--nats-port", str(nats_port), "--port", str(free_port())],
        env=broken,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert done.stderr.splitlines() == [
        f"opseval up: intake did not become ready: it exited with code 2. The end of {data / 'intake.log'}:",
        "    opseval serve intake: OPSEVAL_DEBOUNCE_S: Input should be a valid number, unable to parse string as a "
        "number (given 'soon')",
    ]
    assert not port_open(nats_port)  # the server it started is stopped with the rest
