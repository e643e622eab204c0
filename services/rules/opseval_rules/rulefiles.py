"""Rules files: the standard library and a bundle's own, merged into the effective rule set.

A library file holds `rules:`. A bundle's rules file may also switch library rules off and change
their parameters or severity:

    rules:                        # rules of its own (ids the library does not use)
      - id: staff.p1_late ...
    disable: [documents.near_duplicate]
    override:
      score.contradicts_attendance: {params: {max_late: 2}, severity: medium}

Everything here is pure: the caller reads each file with the strict YAML reader
(`opseval_intake.bundle.read_yaml`, which gives the node tree for line numbers) and passes a
`RuleSource`. Every problem is a `RuleDefinitionError` naming the file, the line and the field.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from opseval_shared.base import Frozen, field_path
from opseval_shared.results import Severity
from pydantic import Field, ValidationError

from .compiler import compile_patterns
from .definitions import ParamValue, RuleDefinition, RuleId, RuleProblem, check_rule, param_type
from .expression import TYPE_NAMES


@dataclass(frozen=True)
class RuleSource:
    """A rules file as read: its path (for messages), its data and its YAML node tree (or None)."""

    path: str
    data: Any
    node: Any = None


class RuleDefinitionError(ValueError):
    """Bad rule definitions, located: `path:line: field: message` (as BundleError writes it)."""

    def __init__(self, path: str, line: int | None, field: str | None, message: str) -> None:
        self.path, self.line, self.field, self.message = path, line, field, message
        where = path + (f":{line}" if line else "")
        super().__init__(f"{where}: {field + ': ' if field else ''}{message}")


class RuleOverride(Frozen):
    params: dict[str, ParamValue] = Field(default_factory=dict)
    severity: Severity | None = None


class RuleFile(Frozen):
    rules: tuple[RuleDefinition, ...] = ()
    disable: tuple[RuleId, ...] = ()
    override: dict[RuleId, RuleOverride] = Field(default_factory=dict)


class RuleSet(Frozen):
    """The effective rules of an evaluation, sorted by id."""

    rules: tuple[RuleDefinition, ...]

    def digest(self) -> str:
        payload = json.dumps([r.model_dump(mode="json") for r in self.rules], sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(payload.encode()).hexdigest()[:16]

    def rule(self, rule_id: str) -> RuleDefinition:
        return next(r for r in self.rules if r.id == rule_id)


def node_line(node: Any, loc: Sequence[int | str]) -> int | None:
    """The YAML line of the value at a location (the deepest found), from a node tree built by PyYAML
    (read by duck typing: the domain imports no YAML)."""
    line = node.start_mark.line + 1 if node is not None else None
    for key in loc:
        kind = getattr(node, "id", None)
        match = None
        if kind == "mapping":
            match = next((v for k, v in node.value if getattr(k, "value", None) == str(key)), None)
            if match is None:  # the key itself (a dict key loc) rather than its value
                match = next((k for k, _ in node.value if getattr(k, "value", None) == key), None)
        elif kind == "sequence" and isinstance(key, int) and key < len(node.value):
            match = node.value[key]
        if match is None:
            break
        node = match
        line = node.start_mark.line + 1
    return line


def _located(source: RuleSource, loc: tuple[int | str, ...], message: str) -> RuleDefinitionError:
    return RuleDefinitionError(source.path, node_line(source.node, loc), field_path(loc) or None, message)


def read_rule_file(source: RuleSource, *, library: bool = False) -> RuleFile:
    """Validate one rules file: its shape, then each rule's condition and messages, compiled."""
    data = source.data if source.data is not None else {}
    try:
        parsed = RuleFile.model_validate(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        message = str(err["msg"]).removeprefix("Value error, ")
        raise _located(source, tuple(err["loc"]), message) from exc
    if library and (parsed.disable or parsed.override):
        field = "disable" if parsed.disable else "override"
        raise _located(source, (field,), "the standard library defines rules only (disable/override are for bundles)")
    seen: dict[str, int] = {}
    for index, rule in enumerate(parsed.rules):
        if rule.id in seen:
            raise _located(
                source, ("rules", index, "id"), f"rule {rule.id} is defined twice (also rules[{seen[rule.id]}])"
            )
        seen[rule.id] = index
        _check(source, ("rules", index), rule)
    return parsed


def _check(source: RuleSource, at: tuple[int | str, ...], rule: RuleDefinition) -> None:
    try:
        compile_patterns(check_rule(rule))
    except RuleProblem as exc:
        raise _located(source, at + exc.loc, exc.message) from exc


def effective_rules(library: Sequence[RuleSource], bundle: RuleSource | None = None) -> RuleSet:
    """The standard library's rules, with a bundle's rules added, switched off or re-parameterised."""
    rules: dict[str, RuleDefinition] = {}
    defined_in: dict[str, str] = {}
    for source in library:
        for index, rule in enumerate(read_rule_file(source, library=True).rules):
            if rule.id in rules:
                raise _located(
                    source, ("rules", index, "id"), f"rule {rule.id} is also defined in {defined_in[rule.id]}"
                )
            rules[rule.id], defined_in[rule.id] = rule, source.path
    if bundle is None:
        return RuleSet(rules=tuple(sorted(rules.values(), key=lambda r: r.id)))
    own = read_rule_file(bundle)
    for index, rule in enumerate(own.rules):
        if rule.id in rules:
            raise _located(
                bundle,
                ("rules", index, "id"),
                f"rule {rule.id} is a standard rule ({defined_in[rule.id]}): change it with override: or "
                "switch it off with disable:, or give yours another id",
            )
        rules[rule.id] = rule
    for rule_id, change in own.override.items():
        if rule_id not in rules:
            raise _located(bundle, ("override", rule_id), f"unknown rule {rule_id}{_suggest(rule_id, rules)}")
        rule = rules[rule_id]
        params = dict(rule.params)
        for name, value in change.params.items():
            if name not in params:
                known = ", ".join(sorted(params)) or "none"
                raise _located(
                    bundle,
                    ("override", rule_id, "params", name),
                    f"rule {rule_id} has no parameter {name!r} (its params: {known})",
                )
            want, got = param_type(params[name]), param_type(value)
            if want != got:
                raise _located(
                    bundle,
                    ("override", rule_id, "params", name),
                    f"parameter {name} of {rule_id} is a {TYPE_NAMES[want]}, not a {TYPE_NAMES[got]}",
                )
            params[name] = value
        updated = rule.model_copy(update={"params": params, "severity": change.severity or rule.severity})
        try:
            compile_patterns(check_rule(updated))
        except RuleProblem as exc:
            at: tuple[int | str, ...] = ("override", rule_id, "params") if change.params else ("override", rule_id)
            raise _located(bundle, at, f"with these params: {exc.message}") from exc
        rules[rule_id] = updated
    for index, rule_id in enumerate(own.disable):
        if rule_id not in rules:
            raise _located(bundle, ("disable", index), f"unknown rule {rule_id}{_suggest(rule_id, rules)}")
        del rules[rule_id]
    return RuleSet(rules=tuple(sorted(rules.values(), key=lambda r: r.id)))


def _suggest(name: str, known: dict[str, RuleDefinition]) -> str:
    from difflib import get_close_matches

    close = get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]}?)" if close else ""
