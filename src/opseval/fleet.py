"""Running the services: `opseval serve SERVICE` (one process, as in a container) and
`opseval up` (nats-server and all four services on this machine, stopped together by Ctrl-C or SIGTERM)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import ValidationError

SERVICES = ("intake", "rules", "scoring", "reporting")


def create_app(service: str, settings: Any) -> Any:
    """The ASGI app of one service, with the installation's declared calendar (OPSEVAL_CALENDAR_FILE)."""
    from .embedded import installation_calendar

    calendar = installation_calendar(settings.calendar_file)  # a bad file stops the start, located
    app = _service_app(service, settings)
    app.state.fleet.calendar = calendar
    return app


def _service_app(service: str, settings: Any) -> Any:
    if service == "intake":
        from opseval_intake.app import create_app as intake

        from .embedded import known_rule_ids

        return intake(settings, known_rules=known_rule_ids())
    if service == "rules":
        from opseval_rules.service import create_app as rules

        return rules(settings)
    if service == "scoring":
        from opseval_scoring.service import create_app as scoring

        return scoring(settings)
    if service == "reporting":
        from opseval_reporting.app import create_app as reporting

        return reporting(settings)
    raise ValueError(f"unknown service {service!r} (one of {', '.join(SERVICES)})")


def settings_for(service: str) -> Any:
    if service == "intake":
        from opseval_intake.settings import IntakeSettings

        return IntakeSettings()
    if service == "rules":
        from opseval_rules.settings import RulesSettings

        return RulesSettings()
    if service == "scoring":
        from opseval_scoring.settings import ScoringSettings

        return ScoringSettings()
    from opseval_reporting.settings import ReportingSettings

    return ReportingSettings()


def settings_problems(exc: ValidationError) -> str:
    """What a service's settings refused, by the environment variable that set it."""
    problems = []
    for error in exc.errors():
        where = "OPSEVAL_" + "_".join(str(part) for part in error["loc"]).upper() if error["loc"] else "settings"
        given = f" (given {error['input']!r})" if error["loc"] else ""
        problems.append(f"{where}: {error['msg']}{given}")
    return "; ".join(problems)


def serve(service: str) -> int:
    import uvicorn
    from opseval_intake.bundle import BundleError
    from pydantic import ValidationError

    try:
        settings = settings_for(service)
    except ValidationError as exc:
        print(f"opseval serve {service}: {settings_problems(exc)}", file=sys.stderr)
        return 2
    try:
        app = create_app(service, settings)
    except BundleError as exc:
        print(f"opseval: bad input: {exc}", file=sys.stderr)
        return 2
    uvicorn.run(
        app,
        host=settings.http_host,
        port=settings.http_port,
        log_level=settings.log_level.lower(),
        timeout_graceful_shutdown=20,
    )
    return 0


NATS_LOCATIONS = ("/usr/sbin/nats-server", "/usr/local/bin/nats-server")


def find_nats_server() -> str | None:
    return shutil.which("nats-server") or next((p for p in NATS_LOCATIONS if Path(p).exists()), None)


def _port_open(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex((host, port)) == 0


def wait_ready(url: str, timeout: float, process: subprocess.Popen[bytes] | None = None) -> str | None:
    """None once `url` answers 200 within `timeout`; otherwise why not: the process's exit code,
    or the last answer (or connection error) the readiness endpoint gave."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            return f"it exited with code {process.returncode}"
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return None
        except urllib.error.HTTPError as exc:  # 503: a dependency it checks does not answer
            last = f"{url} answered {exc.code}: {exc.read(500).decode(errors='replace')}"
        except OSError as exc:
            last = f"{url}: {exc}"
        time.sleep(0.2)
    return f"not ready after {timeout:.0f} s ({last})"


def log_tail(path: Path, lines: int = 20) -> str:
    """The last `lines` of a log, indented, for a message that points at it."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "".join(f"    {line}\n" for line in text.splitlines()[-lines:])


def local_admin_token(data_dir: Path, store_url: str) -> Path:
    """The administrator key of a local fleet: issued on the first `opseval up` and kept in
    `<data>/admin.key` (readable by this user only); issued again if that key was revoked."""
    import asyncio

    from opseval_infra.keys import authenticate, create_key
    from opseval_infra.store.factory import opened_store

    path = data_dir / "admin.key"

    async def ensure() -> None:
        async with opened_store(store_url) as store:
            if path.exists() and await authenticate(store, f"Bearer {path.read_text().strip()}") is not None:
                return
            _, token = await create_key(store, "opseval up (local administrator)", "admin", ["*"])
        path.touch(mode=0o600)
        path.chmod(0o600)
        path.write_text(token + "\n")

    asyncio.run(ensure())
    return path


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class _Stop(Exception):
    """A stop signal (SIGTERM, SIGHUP) received by `opseval up`: stop the fleet as Ctrl-C does."""


def _raise_stop(signum: int, _frame: object) -> None:
    raise _Stop(signal.Signals(signum).name)


def _claim(data_dir: Path) -> IO[str] | None:
    """Lock `data_dir` for this `opseval up` (released when the process ends, however it ends), or
    say which one holds it. Two fleets on one directory would share its JetStream files and store."""
    import fcntl

    lock = (data_dir / "up.lock").open("a+", encoding="utf-8")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.seek(0)
        holder = lock.read().strip() or "?"
        lock.close()
        print(
            f"opseval up: {data_dir.resolve()} is in use by another `opseval up` (pid {holder}); "
            f"stop that one first (Ctrl-C in its terminal, or `kill {holder}`), or pass another --data",
            file=sys.stderr,
        )
        return None
    lock.truncate(0)
    lock.write(f"{os.getpid()}\n")
    lock.flush()
    return lock


def _in_group(group: int) -> Callable[[], None]:
    """preexec_fn of a child of `opseval up`: join the children's process group (`group` 0: start
    it), and be sent SIGTERM when `opseval up` dies, even by SIGKILL (Linux prctl), so no child
    outlives it."""
    parent = os.getpid()

    def setup() -> None:
        os.setpgid(0, group)
        try:
            import ctypes

            ctypes.CDLL("libc.so.6").prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
        if os.getppid() != parent:  # it died before the prctl took effect
            os.kill(os.getpid(), signal.SIGTERM)

    return setup


def up(data_dir: Path, nats_port: int, base_port: int) -> int:
    """Start nats-server with JetStream in `data_dir`, then the four services, all in one process
    group of their own; stop them all on Ctrl-C, SIGTERM or SIGHUP. One `opseval up` per directory.

    The children are not in the terminal's foreground group, so Ctrl-C reaches this process only,
    which stops the services first (they drain their NATS connections) and the server last."""
    binary = find_nats_server()
    if binary is None:
        print(
            "opseval up: nats-server is not installed. On Debian/Ubuntu: `sudo apt-get install nats-server`; "
            "elsewhere see https://docs.nats.io/running-a-nats-service/introduction/installation",
            file=sys.stderr,
        )
        return 1
    data_dir.mkdir(parents=True, exist_ok=True)
    lock = _claim(data_dir)
    if lock is None:
        return 1
    previous = {signum: signal.getsignal(signum) for signum in STOP_SIGNALS}
    for signum in STOP_SIGNALS:
        if signum != signal.SIGINT:  # Python raises KeyboardInterrupt for it already
            signal.signal(signum, _raise_stop)
    try:
        return _run(binary, data_dir, nats_port, base_port)
    finally:
        for signum, handler in previous.items():
            if handler is not None:  # None: installed outside Python, cannot be put back
                signal.signal(signum, handler)
        lock.close()


def _run(binary: str, data_dir: Path, nats_port: int, base_port: int) -> int:
    children: list[tuple[str, subprocess.Popen[bytes]]] = []
    ports = {"reporting": base_port, "intake": base_port + 1, "rules": base_port + 2, "scoring": base_port + 3}

    def stop_all() -> None:
        for signum in STOP_SIGNALS:  # no second signal interrupts the stopping (each wait is bounded)
            signal.signal(signum, signal.SIG_IGN)
        # Services first (they drain their NATS connections), the server last.
        for group in (children[1:], children[:1]):
            for _, proc in group:
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            for _, proc in group:
                try:
                    proc.wait(timeout=25)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()

    try:
        if _port_open("127.0.0.1", nats_port):
            print(f"opseval up: port {nats_port} is taken; pass --nats-port", file=sys.stderr)
            return 1
        nats = subprocess.Popen(
            [binary, "-js", "-a", "127.0.0.1", "-p", str(nats_port), "-sd", str(data_dir / "nats")],
            stdout=subprocess.DEVNULL,
            stderr=open(data_dir / "nats-server.log", "ab"),  # noqa: SIM115 - lives as long as the server
            preexec_fn=_in_group(0),
        )
        children.append(("nats-server", nats))
        deadline = time.monotonic() + 10
        while not _port_open("127.0.0.1", nats_port):
            if nats.poll() is not None or time.monotonic() > deadline:
                print(f"opseval up: nats-server did not start (see {data_dir / 'nats-server.log'})", file=sys.stderr)
                return 1
            time.sleep(0.1)
        env = {
            **os.environ,
            "OPSEVAL_NATS_URL": f"nats://127.0.0.1:{nats_port}",
            "OPSEVAL_STORE_URL": f"sqlite:///{(data_dir / 'opseval.db').resolve()}",
        }
        token_file = local_admin_token(data_dir, env["OPSEVAL_STORE_URL"])
        for service in SERVICES:
            env_s = {
                **env,
                "OPSEVAL_HTTP_PORT": str(ports[service]),
                # The workbench (served by reporting) sends judgments and corrections to intake.
                "OPSEVAL_INTAKE_PUBLIC_URL": f"http://127.0.0.1:{ports['intake']}",
                "OPSEVAL_CORS_ORIGINS": f'["http://127.0.0.1:{ports["reporting"]}"]',
            }
            log = open(data_dir / f"{service}.log", "ab")  # noqa: SIM115
            proc = subprocess.Popen(
                [sys.executable, "-m", "opseval.cli", "serve", service],
                env=env_s,
                stdout=log,
                stderr=subprocess.STDOUT,
                preexec_fn=_in_group(nats.pid),
            )
            children.append((service, proc))
        for service, proc in children[1:]:
            why = wait_ready(f"http://127.0.0.1:{ports[service]}/readyz", 60, proc)
            if why is not None:
                log_file = data_dir / f"{service}.log"
                print(
                    f"opseval up: {service} did not become ready: {why}. The end of {log_file}:\n{log_tail(log_file)}",
                    file=sys.stderr,
                    end="",
                )
                return 1
        print(f"opseval fleet is up (data in {data_dir}; process group {nats.pid}):")
        print(f"  dashboard     http://127.0.0.1:{ports['reporting']}/dashboard  (sign in with the administrator key)")
        print(f"  nats-server   nats://127.0.0.1:{nats_port}")
        for service in SERVICES:
            print(f"  {service:<12}  http://127.0.0.1:{ports[service]}  (/docs, /healthz, /readyz, /metrics)")
        print(f"  administrator key in {token_file} (send it as `Authorization: Bearer <key>`;")
        print("  `opseval keys create` issues keys for upstream systems and evaluators)")
        print("Ctrl-C (or SIGTERM) stops everything.", flush=True)
        while all(proc.poll() is None for _, proc in children):
            time.sleep(0.5)
        dead = [name for name, proc in children if proc.poll() is not None]
        print(f"opseval up: {', '.join(dead)} stopped; stopping the rest", file=sys.stderr)
        return 1
    except (KeyboardInterrupt, _Stop) as stop:
        print(f"\nstopping… ({stop or 'SIGINT'})", flush=True)
        return 0
    finally:
        stop_all()
