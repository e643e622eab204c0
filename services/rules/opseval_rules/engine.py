"""A guarded durable_rules host.

durable_rules 2.0.28 has hazards that would corrupt findings silently; each is guarded here:

* Session and fact ids are looked up by a 32-bit FNV-1a hash, so distinct ids can collide
  (``proj-194278`` and ``proj-1310936`` do). Engine session ids are never project ids: they are
  allocated here and checked against the hashes of every live session; fact ids are allocated
  per session and checked the same way. A collision is never passed to the engine.
* At most 1024 live sessions per ruleset, and memory is only freed by deleting a session. Each
  evaluation runs in its own short session that is always deleted, and at most
  ``max_live_sessions`` may be live at once (a clear error beyond).
* Actions are dispatched by background timer threads, and exceptions inside actions are
  swallowed into the session state. The host's timers are disabled, pending actions are drained
  inside the call, and action errors are re-raised.
* Rule order on equal priority is not guaranteed: firings are returned sorted.
* Rulesets cannot be re-registered or updated: compiled rulesets are registered once under a
  name derived from their content hash and reused.
* It is source-only on PyPI and does not import on Python 3.13: the import is checked with a
  message that says so.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import count
from typing import Any

MAX_SESSIONS_PER_RULESET = 1024
# Every session gets one fact that always fires: deleting a session whose facts all went unhandled
# crashes durable_rules 2.0.28 (double free), so no session is ever left without a handled fact.
SESSION_MARK = "__session_open__"


class RulesEngineUnavailable(RuntimeError):
    pass


class HashCollision(RuntimeError):
    pass


class SessionLimitReached(RuntimeError):
    pass


class RuleActionError(RuntimeError):
    pass


def _import_durable() -> Any:
    if sys.version_info >= (3, 13):
        raise RulesEngineUnavailable(
            f"durable_rules 2.0.28 does not import on Python {sys.version_info.major}.{sys.version_info.minor}; "
            "use Python 3.11 or 3.12 (the project pins >=3.11,<3.13)"
        )
    try:
        import durable.engine as engine
    except ImportError as exc:  # pragma: no cover - exercised by a test that hides the module
        raise RulesEngineUnavailable(
            "durable_rules is not installed: it builds from source (needs gcc and the Python headers); "
            f"run `uv sync` on Python 3.11/3.12 ({exc})"
        ) from exc
    return engine


def fnv1a_32(text: str) -> int:
    """The hash durable_rules files session and fact ids under."""
    h = 0x811C9DC5
    for byte in text.encode("utf-8"):
        h ^= byte
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


@dataclass(frozen=True)
class CompiledRule:
    name: str
    condition: dict[str, Any]


@dataclass(frozen=True)
class Firing:
    rule: str
    fact: dict[str, Any]


@dataclass
class _Registered:
    name: str
    rules: tuple[CompiledRule, ...]
    sink: list[Firing] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)


def ruleset_hash(rules: tuple[CompiledRule, ...]) -> str:
    payload = json.dumps([[r.name, r.condition] for r in rules], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


class RulesEngine:
    """One durable_rules host for the process; thread-safe by a single lock."""

    def __init__(self, max_live_sessions: int = 1000, session_ids: Iterator[str] | None = None) -> None:
        if not 0 < max_live_sessions < MAX_SESSIONS_PER_RULESET:
            raise ValueError(f"max_live_sessions must be below {MAX_SESSIONS_PER_RULESET}")
        durable = _import_durable()

        class _SyncHost(durable.Host):  # type: ignore[name-defined,misc]
            # No timer threads: every action runs inside the call that triggered it.
            def _run(self) -> None:
                return None

        self._durable = durable
        self._host = _SyncHost()
        self._lock = threading.RLock()
        self._rulesets: dict[str, _Registered] = {}
        self._live: dict[str, dict[int, str]] = {}
        self._session_ids = session_ids or (f"s{n}" for n in count(1))
        self.max_live_sessions = max_live_sessions

    # ------------------------------------------------------------ rulesets

    def register(self, rules: tuple[CompiledRule, ...]) -> str:
        """Register a compiled ruleset once; the same content returns the same name."""
        names = [r.name for r in rules]
        if len(set(names)) != len(names):
            raise ValueError("rule names must be unique within a ruleset")
        if SESSION_MARK in names:
            raise ValueError(f"{SESSION_MARK} is a reserved rule name")
        name = "rs_" + ruleset_hash(rules)
        with self._lock:
            if name in self._rulesets:
                return name
            registered = _Registered(name, rules)
            definition = {r.name: {"all": [{"m": r.condition}], "run": self._action(registered, r.name)} for r in rules}
            definition[SESSION_MARK] = {"all": [{"m": {"t": SESSION_MARK}}], "run": lambda c: None}
            self._host.set_rulesets({name: definition})
            self._rulesets[name] = registered
            self._live[name] = {}
        return name

    @staticmethod
    def _action(registered: _Registered, rule_name: str) -> Callable[[Any], None]:
        def run(c: Any) -> None:
            try:
                fact = c.m._d if hasattr(c.m, "_d") else dict(c.m)
                registered.sink.append(Firing(rule_name, {k: v for k, v in fact.items() if k != "sid"}))
            except BaseException as exc:  # the engine would swallow it
                registered.errors.append(exc)
                raise

        return run

    # ------------------------------------------------------------ sessions

    def _open_session(self, ruleset: str) -> str:
        live = self._live[ruleset]
        if len(live) >= self.max_live_sessions:
            raise SessionLimitReached(
                f"{len(live)} live sessions on {ruleset}: the engine allows {MAX_SESSIONS_PER_RULESET}"
            )
        for _ in range(1000):
            sid = next(self._session_ids)
            h = fnv1a_32(sid)
            if h not in live:
                live[h] = sid
                return sid
        raise HashCollision("could not allocate a session id without a hash collision")

    def _close_session(self, ruleset: str, sid: str) -> None:
        with contextlib.suppress(Exception):  # a session that never got a fact has no state
            self._host.delete_state(ruleset, sid)
        self._live[ruleset].pop(fnv1a_32(sid), None)

    def live_sessions(self, ruleset: str) -> int:
        return len(self._live.get(ruleset, {}))

    # ------------------------------------------------------------ evaluation

    def run(self, ruleset: str, facts: list[dict[str, Any]]) -> list[Firing]:
        """Assert the facts in a fresh session and return every firing, sorted; the session is deleted."""
        with self._lock:
            registered = self._rulesets[ruleset]
            sid = self._open_session(ruleset)
            registered.sink.clear()
            registered.errors.clear()
            try:
                # Engine-side fact ids are ours: unique by hash within the session, mapped back to the
                # caller's facts so firings never show them.
                originals: dict[str, dict[str, Any]] = {}
                fact_hashes: set[int] = {fnv1a_32(SESSION_MARK)}
                self._host.assert_fact(ruleset, {"t": SESSION_MARK, "id": SESSION_MARK, "sid": sid})
                for index, fact in enumerate(facts):
                    fid = str(fact.get("id") or f"f{index}")
                    while fnv1a_32(fid) in fact_hashes:
                        fid += "~"
                    fact_hashes.add(fnv1a_32(fid))
                    originals[fid] = fact
                    body = {**fact, "id": fid, "sid": sid}
                    try:
                        self._host.assert_fact(ruleset, body)
                    except self._durable.MessageNotHandledException:
                        pass  # a fact no rule fires on: nothing found, as it should be
                    except self._durable.MessageObservedException as exc:
                        raise HashCollision(f"the engine took fact {fid!r} for another one") from exc
                self._drain(ruleset)
                if registered.errors:
                    raise RuleActionError(f"{len(registered.errors)} rule action(s) failed") from registered.errors[0]
                firings = [Firing(f.rule, originals[f.fact["id"]]) for f in registered.sink]
            finally:
                registered.sink.clear()
                self._close_session(ruleset, sid)
        return sorted(firings, key=lambda f: (f.rule, json.dumps(f.fact, sort_keys=True, ensure_ascii=False)))

    def _drain(self, ruleset: str) -> None:
        """Run any action the engine still holds (normally none: actions run inside assert_fact)."""
        rs = self._host.get_ruleset(ruleset)
        for _ in range(100_000):
            before = len(self._rulesets[ruleset].sink)
            rs.dispatch()
            if len(self._rulesets[ruleset].sink) == before:
                return


_default: RulesEngine | None = None
_default_lock = threading.Lock()


def default_engine() -> RulesEngine:
    global _default
    with _default_lock:
        if _default is None:
            _default = RulesEngine()
        return _default
