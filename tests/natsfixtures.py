"""Helpers for tests that run servers: free loopback ports, a nats-server from a configuration file
(TLS, users) with its JetStream directory in the test's tmp_path, and throwaway certificates made
with the openssl CLI. (tests/e2e/conftest.py's NatsServer runs a plain server from flags.)"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest

NATS_SERVER = shutil.which("nats-server") or "/usr/sbin/nats-server"
OPENSSL = shutil.which("openssl") or "/usr/bin/openssl"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def die_with_parent() -> None:
    """In the child (Popen's preexec_fn): be killed when the test process dies, however it dies
    (Linux prctl), so an interrupted run leaves no service or server behind."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


def stop(proc: subprocess.Popen[bytes], grace_s: float) -> None:
    """Terminate a server the test started, killing it if it does not exit within `grace_s`."""
    proc.terminate()
    try:
        proc.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


@dataclass(frozen=True)
class RunningNats:
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    @property
    def tls_url(self) -> str:
        return f"tls://127.0.0.1:{self.port}"

    def log_lines(self) -> list[str]:
        return self.log.read_text(errors="replace").splitlines()


@contextmanager
def nats_server(directory: Path, body: str, env: dict[str, str] | None = None) -> Iterator[RunningNats]:
    """nats-server with `body` as its configuration, listening on 127.0.0.1 and with JetStream in
    `directory` (which also holds the file, so `include ./x.conf` finds files written next to it)."""
    if not Path(NATS_SERVER).exists():
        pytest.skip("nats-server is not installed (apt-get install nats-server)")
    port = free_port()
    conf = directory / "nats.conf"
    store = directory / "jetstream"
    conf.write_text(f'listen: 127.0.0.1:{port}\njetstream {{ store_dir: "{store}" }}\n{body}\n')
    log = directory / "nats.log"
    proc = subprocess.Popen(
        [NATS_SERVER, "-c", str(conf), "-l", str(log)],
        env={**os.environ, **(env or {})},
        cwd=directory,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 15
        while not port_open(port):
            if proc.poll() is not None:
                err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
                logged = log.read_text(errors="replace") if log.exists() else ""
                raise AssertionError(f"nats-server exited: {err}{logged[-2000:]}")
            assert time.monotonic() < deadline, "nats-server did not listen"
            time.sleep(0.05)
        yield RunningNats(port, log)
    finally:
        stop(proc, 15)
        if proc.stderr:
            proc.stderr.close()


def _openssl(*args: str, cwd: Path) -> None:
    if not Path(OPENSSL).exists():
        pytest.skip("openssl is not installed: no certificates")
    subprocess.run([OPENSSL, *args], cwd=cwd, check=True, capture_output=True, timeout=60)


@dataclass(frozen=True)
class Pki:
    """A throwaway CA in `directory` (ca.crt, ca.key) that issues certificates next to it."""

    directory: Path

    @property
    def ca(self) -> Path:
        return self.directory / "ca.crt"

    @classmethod
    def create(cls, directory: Path, name: str = "opseval test CA") -> Pki:
        directory.mkdir(parents=True, exist_ok=True)
        _openssl(
            *("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", f"/CN={name}"),
            *("-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"),
            *("-keyout", "ca.key", "-out", "ca.crt"),
            cwd=directory,
        )
        return cls(directory)

    def issue(self, name: str, *, server_ip: str | None = None, client: bool = False) -> tuple[Path, Path]:
        """`name`.crt and `name`.key signed by the CA: a server certificate for `server_ip`
        (subjectAltName IP), or a client certificate."""
        extensions = ["basicConstraints=CA:FALSE", "keyUsage=critical,digitalSignature,keyEncipherment"]
        if server_ip is not None:
            extensions += [f"subjectAltName=IP:{server_ip}", "extendedKeyUsage=serverAuth"]
        if client:
            extensions += ["extendedKeyUsage=clientAuth"]
        (self.directory / f"{name}.ext").write_text("\n".join(extensions) + "\n")
        _openssl(
            *("req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}"),
            *("-keyout", f"{name}.key", "-out", f"{name}.csr"),
            cwd=self.directory,
        )
        _openssl(
            *("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial"),
            *("-days", "1", "-extfile", f"{name}.ext", "-out", f"{name}.crt"),
            cwd=self.directory,
        )
        return self.directory / f"{name}.crt", self.directory / f"{name}.key"
