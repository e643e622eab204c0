"""`opseval project register BUNDLE` and `opseval project show ID`: a bundle's definition registered
with a running fleet (intake's `POST /v1/projects`), and a project's state read back (the results
API's `GET /v1/projects/{id}`), over HTTP with an API key — no hand-made JSON.

The key: `--key-file`, else the variable OPSEVAL_API_KEY, else the administrator key `opseval up`
wrote (`.opseval/admin.key`). The services: `--intake` / `--reporting`, else OPSEVAL_INTAKE_URL /
OPSEVAL_REPORTING_URL, else those of `opseval up` on this machine.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

EXIT_BAD_INPUT = 2
EXIT_UNAVAILABLE = 1
LOCAL_KEY = Path(".opseval") / "admin.key"
TIMEOUT_S = 60


class CommandError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def _token(args: argparse.Namespace) -> str:
    if args.key_file:
        path = Path(args.key_file)
    elif os.environ.get("OPSEVAL_API_KEY"):
        return os.environ["OPSEVAL_API_KEY"].strip()
    else:
        path = LOCAL_KEY
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise CommandError(
            EXIT_BAD_INPUT,
            f"no API key: cannot read {path} ({exc.strerror}); give --key-file or set OPSEVAL_API_KEY",
        ) from None


def _call(method: str, url: str, token: str, body: bytes | None = None) -> tuple[int, Any]:
    headers = {"authorization": f"Bearer {token}", "accept": "application/json"}
    if body is not None:
        headers["content-type"] = "application/json"
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_S) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            return exc.code, json.loads(raw)
        except ValueError:
            return exc.code, {"detail": raw.decode("utf-8", "replace")}
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise CommandError(EXIT_UNAVAILABLE, f"{url}: not reachable ({reason}); is the fleet running?") from None


def _refused(status: int, answer: Any) -> CommandError:
    """An error answer as lines: the message, then each bad field with its reason."""
    detail = answer.get("detail") if isinstance(answer, dict) else answer
    lines = [f"refused ({status})"]
    if isinstance(detail, dict):
        lines[0] += f": {detail.get('message', '')}"
        lines += [f"  {e.get('field', '')}: {e.get('reason', '')}" for e in detail.get("errors", [])]
    elif detail is not None:
        lines[0] += f": {detail}"
    return CommandError(EXIT_BAD_INPUT if 400 <= status < 500 else EXIT_UNAVAILABLE, "\n".join(lines))


def cmd_register(args: argparse.Namespace) -> int:
    from opseval_intake.bundle import BundleError, Problems

    from .embedded import checked_definition

    problems = Problems()
    definition = checked_definition(Path(args.bundle), problems)
    try:
        problems.raise_any()
    except BundleError as exc:
        print(f"opseval: bad input:\n{exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    assert definition is not None
    status, answer = _call(
        "POST", f"{args.intake.rstrip('/')}/v1/projects", _token(args), definition.model_dump_json().encode()
    )
    if status not in (200, 201):
        raise _refused(status, answer)
    print(json.dumps(answer, ensure_ascii=False, indent=2))
    what = "registered" if answer.get("changed") else "already registered with this definition"
    print(f"project {answer.get('project')} {what} (revision {answer.get('revision')})", file=sys.stderr)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    url = f"{args.reporting.rstrip('/')}/v1/projects/{urllib.parse.quote(args.project_id, safe='')}"
    status, answer = _call("GET", url, _token(args))
    if status != 200:
        raise _refused(status, answer)
    print(json.dumps(answer, ensure_ascii=False, indent=2))
    state = answer.get("status", {}).get("state")
    if state == "failing":
        for name, service in answer["status"]["services"].items():
            if service.get("state") == "failing":
                print(f"{name}: the evaluation fails: {service.get('error')}", file=sys.stderr)
    for aside in answer.get("status", {}).get("set_aside", []):
        print(f"set aside: {aside['event']}: {aside['field']}: {aside['reason']}", file=sys.stderr)
    return 0


def guarded(command: Any) -> Any:
    def run(args: argparse.Namespace) -> int:
        try:
            return int(command(args))
        except CommandError as exc:
            print(f"opseval: {exc}", file=sys.stderr)
            return exc.code

    return run


def add_parser(sub: Any) -> None:
    project = sub.add_parser("project", help="register a bundle's definition with a running fleet, or show a project")
    project_sub = project.add_subparsers(dest="project_command", required=True)

    def connection(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--key-file", help="a file holding the API key (default: OPSEVAL_API_KEY, .opseval/admin.key)"
        )

    register = project_sub.add_parser("register", help="register (or update) the project a bundle defines")
    register.add_argument("bundle", help="the bundle directory (project.yaml, contracts.yaml, indicators.yaml …)")
    register.add_argument(
        "--intake",
        default=os.environ.get("OPSEVAL_INTAKE_URL", "http://127.0.0.1:8081"),
        help="the intake service (default: OPSEVAL_INTAKE_URL, else that of opseval up)",
    )
    connection(register)
    register.set_defaults(func=guarded(cmd_register))

    show = project_sub.add_parser("show", help="a project's evidence count, total, grade and evaluation status")
    show.add_argument("project_id")
    show.add_argument(
        "--reporting",
        default=os.environ.get("OPSEVAL_REPORTING_URL", "http://127.0.0.1:8080"),
        help="the results API (default: OPSEVAL_REPORTING_URL, else that of opseval up)",
    )
    connection(show)
    show.set_defaults(func=guarded(cmd_show))
