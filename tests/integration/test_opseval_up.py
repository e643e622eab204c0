"""`opseval up` runs nats-server and the four services, and Ctrl-C stops every one of them."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from natsfixtures import free_port, port_open

from opseval import fleet


def test_up_serves_all_four_services_and_ctrl_c_stops_them_all(tmp_path: Path) -> None:
    if fleet.find_nats_server() is None:
        pytest.skip("nats-server is not installed (apt-get install nats-server; .ci/run installs it)")
    nats_port, base = free_port(), free_port()
    ports = [base, base + 1, base + 2, base + 3]
    if any(port_open(p) for p in ports):
        pytest.skip("the four consecutive HTTP ports are not free")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "opseval.cli",
            "up",
            "--data",
            str(tmp_path / "data"),
            "--nats-port",
            str(nats_port),
            "--port",
            str(base),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        ready: set[int] = set()
        while len(ready) < 4 and time.monotonic() < deadline:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            for port in ports:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                        ready.add(port)
                except httpx.HTTPError:
                    pass
            time.sleep(0.3)
        assert len(ready) == 4
        assert httpx.get(f"http://127.0.0.1:{base}/v1/projects", timeout=5).status_code == 401
        key_file = tmp_path / "data" / "admin.key"
        assert key_file.stat().st_mode & 0o777 == 0o600  # the first start issued an administrator key
        admin = {"authorization": f"Bearer {key_file.read_text().strip()}"}
        assert httpx.get(f"http://127.0.0.1:{base}/v1/projects", headers=admin, timeout=5).json() == []
    finally:
        proc.send_signal(signal.SIGINT)
        output, _ = proc.communicate(timeout=90)
    assert proc.returncode == 0, output
    assert "opseval fleet is up" in output and "stopping" in output and "admin.key" in output
    assert not any(port_open(p) for p in [nats_port, *ports])


def test_up_says_how_to_get_nats_server_when_it_is_missing(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setattr(fleet, "find_nats_server", lambda: None)
    assert fleet.up(tmp_path, free_port(), free_port()) == 1
    assert "apt-get install nats-server" in capsys.readouterr().err
