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
* Its JSON reader refuses numbers written with an exponent (`1e-05`, `1e+16`: error 204, which
  Python writes for |x| < 0.0001 and |x| >= 1e16), reads integers from 2**63 up wrongly, and does
  integer arithmetic on integers (`5 / 2` is 2; `1 / 0` kills the process with SIGFPE). Facts are
  written by this wrapper with every number as a positional double (`0.000033`, `5.0`); numbers in
  rule conditions are made doubles, and one the engine cannot read is refused at registration.
* A value null, or a field absent, is read inconsistently (`!=` against an earlier fact's null field
  matches, against the fact's own does not; arithmetic on it fails with error 311/312): facts reach
  the engine without null fields, and the rule compiler guards optional fields with `$ex`.
* A join may only test equality with a field of an earlier fact (`{"contract": {"b0": "contract"}}`).
  Evaluating an ordering comparison or arithmetic with an earlier fact (`{"$gt": {"value": {"b0":
  "value"}}}`) reads uninitialised memory (valgrind: reduceExpressionSequence ← isBetaMatch) and, once
  about 16–45 rulesets exist in the process, kills it with SIGSEGV; an `$or` mixing such a comparison
  with a constant one misses matches. Such conditions are refused at registration (the rule compiler
  leaves comparisons between values to Python, explicitly).
* It is source-only on PyPI and does not import on Python 3.13: the import is checked with a
  message that says so.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import re
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
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
    """A rule over one fact (bound as `m`); its firing carries that fact."""

    name: str
    condition: dict[str, Any]

    @property
    def patterns(self) -> tuple[tuple[str, dict[str, Any]], ...]:
        return (("m", self.condition),)


@dataclass(frozen=True)
class JoinRule:
    """A rule over several facts, each bound under an alias in order; a pattern may compare with the
    facts bound before it (`{"contract": {"b0": "contract"}}`), which is how durable_rules joins.
    Its firing carries every bound fact by alias."""

    name: str
    patterns: tuple[tuple[str, dict[str, Any]], ...]


AnyRule = CompiledRule | JoinRule


@dataclass(frozen=True)
class Firing:
    rule: str
    fact: dict[str, Any]  # the fact of a CompiledRule; {} for a JoinRule
    bound: tuple[tuple[str, dict[str, Any]], ...] = ()  # the facts of a JoinRule, by alias in order


@dataclass
class _Registered:
    name: str
    rules: tuple[AnyRule, ...]
    sink: list[Firing] = field(default_factory=list)
    errors: list[BaseException] = field(default_factory=list)


def ruleset_hash(rules: Sequence[AnyRule]) -> str:
    payload = json.dumps(
        [[r.name, r.condition] if isinstance(r, CompiledRule) else [r.name, r.patterns] for r in rules],
        sort_keys=True,
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:16]


# ---------------------------------------------------------------- numbers durable_rules can read

_ALIAS = re.compile(r"^[a-z][a-z0-9_]*$")


class UnreadableNumber(ValueError):
    pass


def engine_readable(value: float) -> bool:
    """Whether a number can stand in a rule condition: finite, and written without an exponent."""
    return math.isfinite(value) and "e" not in repr(float(value)) and abs(value) < 2**53


def _condition_numbers(node: Any, where: str) -> Any:
    """A copy of a condition with every number a double; a number the engine cannot read is refused."""
    if isinstance(node, dict):
        return {k: _condition_numbers(v, where) for k, v in node.items()}
    if isinstance(node, list):
        return [_condition_numbers(v, where) for v in node]
    if isinstance(node, bool) or not isinstance(node, int | float):
        return node
    if not engine_readable(float(node)):
        raise UnreadableNumber(
            f"{where}: durable_rules 2.0.28 cannot read the number {node!r} in a condition "
            "(no exponent notation: from 0.0001 to below 2**53, or 0)"
        )
    return float(node)


class UnsafeJoin(ValueError):
    pass


_ORDERING = {"$lt", "$lte", "$gt", "$gte", "$neq"}
_ARITHMETIC = {"$add", "$sub", "$mul", "$div"}


def check_join_references(rule: AnyRule) -> None:
    """Refuse a reference to an earlier fact other than an equality test (see the module docstring)."""
    aliases = {alias for alias, _ in rule.patterns}

    def refers(node: Any) -> bool:
        if isinstance(node, dict):
            if len(node) == 1 and next(iter(node)) in aliases:
                return True
            return any(refers(v) for v in node.values())
        if isinstance(node, list):
            return any(refers(v) for v in node)
        return False

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
            return
        if not isinstance(node, dict):
            return
        for key, value in node.items():
            if key in ("$and", "$or"):
                walk(value)
            elif key in _ORDERING and isinstance(value, dict) and any(refers(v) for v in value.values()):
                unsafe(key)
            elif not key.startswith("$") and isinstance(value, dict) and _ARITHMETIC & set(value) and refers(value):
                unsafe("arithmetic")  # equality with a computed value of an earlier fact

    def unsafe(what: str) -> None:
        raise UnsafeJoin(
            f"rule {rule.name}: {what} with a value of an earlier fact; durable_rules 2.0.28 reads "
            "uninitialised memory evaluating it (and may crash): only equality joins are accepted"
        )

    for _, condition in rule.patterns:
        walk(condition)


def _number_text(value: int | float) -> str:
    if type(value) is int and abs(value) < 2**53:
        return f"{value}.0"
    number = float(value)
    text = repr(number)
    if "e" not in text and "n" not in text:  # positional already (nan and inf have an n)
        return text
    if not math.isfinite(number):
        raise UnreadableNumber(f"the rules engine takes finite numbers only, not {value!r}")
    text = format(Decimal(text), "f")
    return text if "." in text else text + ".0"


def engine_json(value: Any) -> str:
    """JSON as durable_rules reads it: numbers as positional doubles, null fields left out.

    One `json.dumps` does the work: integers become floats first (written `5.0`), and the rare
    number Python would write with an exponent is put in by its positional text afterwards."""
    special: list[str] = []

    def prepared(v: Any) -> Any:
        if isinstance(v, dict):
            return {str(k): prepared(x) for k, x in v.items() if x is not None}
        if isinstance(v, list | tuple):
            return [prepared(x) for x in v]
        if v is None or isinstance(v, bool | str):
            return v
        if isinstance(v, int | float):
            if type(v) is int and abs(v) < 2**53:
                return float(v)
            text = _number_text(v)
            if text == repr(float(v)):
                return float(v)
            special.append(text)
            return f"\x00{len(special) - 1}\x00"
        raise TypeError(f"a fact holds numbers, text, true/false or null, not {type(v).__name__}")

    text = json.dumps(prepared(value), ensure_ascii=False, separators=(",", ":"))
    for index, number in enumerate(special):
        marker = f'"\\u0000{index}\\u0000"'
        if text.count(marker) != 1:  # a text value that looks like the marker: write it the slow way
            return _engine_json_slowly(value)
        text = text.replace(marker, number)
    return text


def _engine_json_slowly(value: Any) -> str:
    if isinstance(value, dict):
        items = (
            f"{json.dumps(str(k), ensure_ascii=False)}:{_engine_json_slowly(v)}"
            for k, v in value.items()
            if v is not None
        )
        return "{" + ",".join(items) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_engine_json_slowly(v) for v in value) + "]"
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return _number_text(value)


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

    def register(self, rules: Sequence[AnyRule]) -> str:
        """Register a compiled ruleset once; the same content returns the same name."""
        rules = tuple(rules)
        names = [r.name for r in rules]
        if len(set(names)) != len(names):
            raise ValueError("rule names must be unique within a ruleset")
        if SESSION_MARK in names:
            raise ValueError(f"{SESSION_MARK} is a reserved rule name")
        for r in rules:
            check_join_references(r)
            aliases = [alias for alias, _ in r.patterns]
            if isinstance(r, JoinRule) and (
                not aliases or len(set(aliases)) != len(aliases) or not all(_ALIAS.match(a) for a in aliases)
            ):
                raise ValueError(f"rule {r.name}: aliases must be distinct lower-case names, at least one")
        name = "rs_" + ruleset_hash(rules)
        with self._lock:
            if name in self._rulesets:
                return name
            registered = _Registered(name, rules)
            definition: dict[str, Any] = {
                r.name: {
                    "all": [{alias: _condition_numbers(cond, r.name)} for alias, cond in r.patterns],
                    "run": self._action(registered, r),
                }
                for r in rules
            }
            definition[SESSION_MARK] = {"all": [{"m": {"t": SESSION_MARK}}], "run": lambda c: None}
            self._host.set_rulesets({name: definition})
            self._rulesets[name] = registered
            self._live[name] = {}
        return name

    @staticmethod
    def _action(registered: _Registered, rule: AnyRule) -> Callable[[Any], None]:
        aliases = tuple(alias for alias, _ in rule.patterns)

        def run(c: Any) -> None:
            try:
                if isinstance(rule, CompiledRule):
                    fact = c.m._d if hasattr(c.m, "_d") else dict(c.m)
                    registered.sink.append(Firing(rule.name, {k: v for k, v in fact.items() if k != "sid"}))
                else:
                    bound = tuple((alias, {"id": c._m[alias]["id"]}) for alias in aliases)
                    registered.sink.append(Firing(rule.name, {}, bound))
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
                self._assert(ruleset, {"t": SESSION_MARK, "id": SESSION_MARK, "sid": sid})
                for index, fact in enumerate(facts):
                    fid = str(fact.get("id") or f"f{index}")
                    while fnv1a_32(fid) in fact_hashes:
                        fid += "~"
                    fact_hashes.add(fnv1a_32(fid))
                    originals[fid] = fact
                    body = {**fact, "id": fid, "sid": sid}
                    try:
                        self._assert(ruleset, body)
                    except self._durable.MessageNotHandledException:
                        pass  # a fact no rule fires on: nothing found, as it should be
                    except self._durable.MessageObservedException as exc:
                        raise HashCollision(f"the engine took fact {fid!r} for another one") from exc
                self._drain(ruleset)
                if registered.errors:
                    raise RuleActionError(f"{len(registered.errors)} rule action(s) failed") from registered.errors[0]
                firings = [
                    Firing(f.rule, originals[f.fact["id"]], ())
                    if not f.bound
                    else Firing(f.rule, {}, tuple((alias, originals[ref["id"]]) for alias, ref in f.bound))
                    for f in registered.sink
                ]
            finally:
                registered.sink.clear()
                self._close_session(ruleset, sid)
        return sorted(firings, key=_firing_order)

    def _assert(self, ruleset: str, body: dict[str, Any]) -> None:
        """`Host.assert_fact`, but with the fact written by `engine_json` (see the module docstring)."""
        rules = self._host.get_ruleset(ruleset)
        text = engine_json(body)
        native = self._durable.durable_rules_engine

        def assert_text(fact: dict[str, Any]) -> Any:
            return rules._handle_result(native.assert_fact(rules._handle, text), fact)

        self._host._handle_function(rules, assert_text, body, None)

    def _drain(self, ruleset: str) -> None:
        """Run any action the engine still holds (normally none: actions run inside assert_fact)."""
        rs = self._host.get_ruleset(ruleset)
        for _ in range(100_000):
            before = len(self._rulesets[ruleset].sink)
            rs.dispatch()
            if len(self._rulesets[ruleset].sink) == before:
                return


def _firing_order(f: Firing) -> tuple[str, str, str]:
    return (
        f.rule,
        json.dumps(f.fact, sort_keys=True, ensure_ascii=False),
        json.dumps(f.bound, sort_keys=True, ensure_ascii=False),
    )


_default: RulesEngine | None = None
_default_lock = threading.Lock()


def default_engine() -> RulesEngine:
    global _default
    with _default_lock:
        if _default is None:
            _default = RulesEngine()
        return _default
