"""The standard rules library, shipped as YAML beside this package (read once, like a packaged
template), and a project's effective rule set: the library with the project's rules.yaml applied."""

from __future__ import annotations

from functools import cache
from importlib import resources

import yaml
from opseval_shared.measures import parse_where
from opseval_shared.project import ProjectDefinition
from opseval_shared.sources import SOURCES

from .definitions import Placeholder, check_rule
from .rulefiles import RuleSet, RuleSource, effective_rules

LIBRARY = "library"
PROJECT_RULES_FILE = "rules.yaml"


@cache
def standard_rule_sources() -> tuple[RuleSource, ...]:
    folder = resources.files("opseval_rules") / LIBRARY
    out = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            text = entry.read_text(encoding="utf-8")
            out.append(RuleSource(f"opseval_rules/{LIBRARY}/{entry.name}", yaml.safe_load(text), yaml.compose(text)))
    return tuple(out)


def project_rule_set(definition: ProjectDefinition, source: RuleSource | None = None) -> RuleSet:
    """The rules a project is evaluated by. `source`: its rules.yaml as read (with line numbers for
    errors); by default the rules its definition carries."""
    if source is None and not definition.rules.is_empty:
        source = RuleSource(PROJECT_RULES_FILE, definition.rules.model_dump(mode="json"), None)
    return effective_rules(standard_rule_sources(), source) if source is not None else standard_rule_set()


@cache
def standard_rule_set() -> RuleSet:
    return effective_rules(standard_rule_sources())


def unknown_measures(rule_set: RuleSet, definition: ProjectDefinition) -> list[tuple[str, str]]:
    """(rule, measure) for each measure a rule that runs binds but the project does not define."""
    out = []
    for rule in rule_set.rules:
        for binding in rule.bind.values():
            if binding.measure is not None and definition.measures.get(binding.measure) is None:
                out.append((rule.id, binding.measure))
    return out


def record_field_problems(rule_set: RuleSet, definition: ProjectDefinition) -> list[tuple[str, str]]:
    """(rule, reason) for each field a rule's lists or basis read of the records behind a bound
    measure that those records do not have (or a measure without records of its own: a ratio)."""
    out = []
    for rule in rule_set.rules:
        wanted: list[tuple[str, str, set[str]]] = []  # (where in the rule, fact alias, fields)
        checked = check_rule(rule)
        for name, spec in rule.lists.items():
            fields = {p.ref.name for p in checked.lists[name].each if isinstance(p, Placeholder)}
            fields |= {t.field for t in parse_where(spec.where)}
            wanted.append((f"lists.{name}", spec.of, fields))
        for index, entry in enumerate(rule.basis):
            if entry.records is not None and entry.of is not None:
                wanted.append((f"basis[{index}].records", entry.of, {entry.records}))
        for where, alias, fields in wanted:
            measure = definition.measures.get(rule.bind[alias].measure or "")
            if measure is None:
                continue  # unknown_measures says so
            source = SOURCES.get(measure.source or "")
            if source is None:
                out.append((rule.id, f"{where}: {measure.id} is a ratio and has no records of its own; list a part"))
                continue
            for name in sorted(fields - set(source.fields)):
                known = ", ".join(source.fields)
                out.append(
                    (rule.id, f"{where}: the records of {measure.id} ({source.label}) have no field {name!r} ({known})")
                )
    return out
