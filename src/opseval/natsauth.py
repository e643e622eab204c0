"""`opseval nats-user`: NATS credentials for an upstream system that publishes evidence straight to
JetStream, limited to its projects' evidence subjects.

The output is one user for the `users: [...]` list of deploy/k8s/base/nats/auth.conf. It may
publish `opseval.evidence.<project>.<kind>` for its projects and receive on `_INBOX.>` (where
JetStream's publish acknowledgement comes back) — nothing else: no JetStream API, no other
subject, no reading a stream. The password is an environment variable of the nats-server,
`$<NAME>_NATS_PASSWORD`, never a literal.

Each project grants `opseval.evidence.<project>.*`, not `.>`: a kind is one subject token, while a
project id may contain dots, so `.>` on project `a` would also cover `opseval.evidence.a.b.clock_in`
— the subject of project `a.b`. The consumers refuse an event whose body names another project or
kind than its subject (opseval_infra.consumer.subject_mismatch), so the subject is what counts.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence

from opseval_shared.evidence import Slug
from opseval_shared.messaging import evidence_subject
from pydantic import TypeAdapter, ValidationError

# The fleet's own users in auth.conf: an upstream system must not take one of their names.
SERVICE_USERS = frozenset({"intake", "rules", "scoring", "reporting"})
# Lower case only (NATS user names are case-sensitive, the variable is upper case: "Hr" and "hr"
# would share one), no underscore ("a-b" and "a_b" would share A_B_NATS_PASSWORD).
USER_NAME = re.compile(r"[a-z][a-z0-9-]{0,62}")
INBOX = "_INBOX.>"

_slug = TypeAdapter(Slug)


class NatsUserError(ValueError):
    pass


def password_variable(name: str) -> str:
    """The nats-server environment variable that holds the user's password."""
    return name.upper().replace("-", "_") + "_NATS_PASSWORD"


def check_name(name: str) -> str:
    if not USER_NAME.fullmatch(name):
        raise NatsUserError(
            f"user name {name!r}: a lower-case letter, then lower-case letters, digits and '-' (at most 63)"
        )
    if name in SERVICE_USERS:
        raise NatsUserError(f"user name {name!r} is one of the services' own NATS users")
    return name


def check_project(project: str) -> str:
    """A project id as the evidence model accepts it (opseval_shared.evidence.Slug): no wildcard,
    space, quote or line break can reach the configuration through it."""
    try:
        _slug.validate_python(project)
    except ValidationError:
        raise NatsUserError(
            f"project {project!r} is not a project id: a letter or digit, then letters, digits, '_', '-', '.'"
            " (at most 64; no spaces, quotes, wildcards '*' '>' or line breaks)"
        ) from None
    if "" in project.split("."):
        raise NatsUserError(f"project {project!r}: a '.' separates NATS subject tokens, none may be empty")
    return project


def publish_subjects(projects: Sequence[str]) -> list[str]:
    """What the user may publish to: each project's evidence subjects, any kind."""
    return list(dict.fromkeys(evidence_subject(check_project(p), "*") for p in projects))


def user_block(name: str, projects: Sequence[str]) -> str:
    """The auth.conf user entry (indented for the `users: [...]` list)."""
    check_name(name)
    if not projects:
        raise NatsUserError("name at least one project (--project)")
    subjects = publish_subjects(projects)
    variable = password_variable(name)
    allow = "\n".join(f'            "{s}"' for s in subjects)
    names = ", ".join(dict.fromkeys(projects))
    return f"""\
    # {name}: an upstream system; publishes evidence of {names} straight to JetStream.
    # Its password is the nats-server's environment variable {variable}: a letter, then letters and
    # digits (nats-server reads the value as configuration; `12345` or `true` would not be a string):
    #     printf 'p%s' "$(openssl rand -hex 24)"
    {{
      user: {name}
      password: ${variable}
      permissions: {{
        publish: {{
          allow: [
{allow}
          ]
        }}
        subscribe: {{ allow: ["{INBOX}"] }}
      }}
    }}
"""


def cmd_nats_user(args: argparse.Namespace) -> int:
    try:
        text = user_block(args.name, args.project)
    except NatsUserError as exc:
        print(f"opseval: {exc}", file=sys.stderr)
        return 2
    sys.stdout.write(text)
    return 0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    nu = sub.add_parser(
        "nats-user",
        help="print an auth.conf NATS user for an upstream system that may publish only its projects' evidence",
    )
    nu.add_argument("name", help="user name (lower-case letters, digits, '-'); the password is $<NAME>_NATS_PASSWORD")
    nu.add_argument(
        "--project", action="append", required=True, help="a project whose evidence it may publish (repeatable)"
    )
    nu.set_defaults(func=cmd_nats_user)
