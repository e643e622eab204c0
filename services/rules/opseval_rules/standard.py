"""The standard rules library, shipped as YAML beside this package (read once, like a packaged
template), and a project's effective rule set: the library with the project's rules.yaml applied."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml
from opseval_shared.base import field_path
from opseval_shared.measures import parse_where
from opseval_shared.project import ProjectDefinition
from opseval_shared.sources import CONTRACT_LISTS, SOURCES

from .definitions import Placeholder, check_rule
from .rulefiles import RuleDefinitionError, RuleSet, RuleSource, effective_rules, node_line

LIBRARY = "library"
SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
PROJECT_RULES_FILE = "rules.yaml"


@cache
def standard_rule_sources() -> tuple[RuleSource, ...]:
    folder = resources.files("opseval_rules") / LIBRARY
    out = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            text = entry.read_text(encoding="utf-8")
            # libyaml's parser where it is built (the same data and marks, ≈ 9× faster: every evaluating
            # process reads the library at start-up)
            data, node = yaml.load(text, Loader=SAFE_LOADER), yaml.compose(text, Loader=SAFE_LOADER)
            out.append(RuleSource(f"opseval_rules/{LIBRARY}/{entry.name}", data, node))
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


@dataclass(frozen=True)
class MeasureProblem:
    """A rule that runs reading a measure the project does not define, or a field its records lack."""

    rule: str
    loc: tuple[int | str, ...]  # where in the rule: ("bind", "late", "measure"), ("lists", "late") …
    message: str

    def located(self, bundle: RuleSource | None) -> RuleDefinitionError:
        """The problem in the file that defines the rule (the bundle's rules.yaml or the standard
        library), at its line and field."""
        for source in ((bundle,) if bundle is not None else ()) + standard_rule_sources():
            rules = source.data.get("rules") if isinstance(source.data, dict) else None
            for index, raw in enumerate(rules if isinstance(rules, list) else ()):
                if isinstance(raw, dict) and raw.get("id") == self.rule:
                    loc = ("rules", index, *self.loc)
                    return RuleDefinitionError(source.path, node_line(source.node, loc), field_path(loc), self.message)
        path = bundle.path if bundle is not None else PROJECT_RULES_FILE
        return RuleDefinitionError(path, None, f"rules.{self.rule}.{field_path(self.loc)}", self.message)


def measure_problems(rule_set: RuleSet, definition: ProjectDefinition) -> list[MeasureProblem]:
    """Each measure a rule that runs binds but the project does not define, and each field a rule's
    lists or basis read of the records behind a bound measure that those records do not have (or a
    measure without records of its own: a ratio)."""
    out = []
    for rule in rule_set.rules:
        for alias, binding in rule.bind.items():
            if binding.measure is not None and definition.measures.get(binding.measure) is None:
                message = f"rule {rule.id} binds unknown measure {binding.measure!r}"
                out.append(MeasureProblem(rule.id, ("bind", alias, "measure"), message))
            elif binding.measure is not None and binding.subject is not None:
                unmatched = _subject_problem(definition, binding.measure, binding.subject)
                if unmatched is not None:
                    out.append(MeasureProblem(rule.id, ("bind", alias, "subject"), unmatched))
        wanted: list[tuple[tuple[int | str, ...], str, set[str]]] = []  # (where in the rule, fact alias, fields)
        checked = check_rule(rule)
        for name, spec in rule.lists.items():
            fields = {p.ref.name for p in checked.lists[name].each if isinstance(p, Placeholder)}
            fields |= {t.field for t in parse_where(spec.where)}
            wanted.append((("lists", name), spec.of, fields))
        for index, entry in enumerate(rule.basis):
            if entry.records is not None and entry.of is not None:
                wanted.append((("basis", index, "records"), entry.of, {entry.records}))
        for loc, alias, fields in wanted:
            measure = definition.measures.get(rule.bind[alias].measure or "")
            if measure is None:
                continue  # an unknown measure, said above
            source = SOURCES.get(measure.source or "")
            if source is None:
                message = f"{measure.id} is a ratio and has no records of its own; list a part"
                out.append(MeasureProblem(rule.id, loc, message))
                continue
            for name in sorted(fields - set(source.fields)):
                known = ", ".join(source.fields)
                message = f"the records of {measure.id} ({source.label}) have no field {name!r} ({known})"
                out.append(MeasureProblem(rule.id, loc, message))
    return out


def _subject_problem(definition: ProjectDefinition, measure_id: str, subject: str) -> str | None:
    """Why a binding's `subject:` can name no fact of its measure (None: it may): the measure has no
    subjects, or its subjects are a contract list's ids (deliverables, plans …) and no contract has it."""
    measure = definition.measures.get(measure_id)
    if measure is None:
        return None
    if measure.by is None:
        return f"{measure_id} is not grouped by a field (by:): its facts have no subject to keep {subject!r} of"
    source = SOURCES.get(measure.source or "")
    spec = source.fields.get(measure.by) if source is not None else None
    if spec is None or spec.members is None:
        return None  # subjects the evidence names (staff, checks …): known only when evaluated
    contract_list = CONTRACT_LISTS[spec.members]
    known = sorted(frozenset().union(*(contract_list.members(c) for c in definition.contracts.contracts)))
    if subject in known:
        return None
    listed = ", ".join(known) or "none"
    return f"{subject!r} is not a {spec.label} any contract defines ({contract_list.label}: {listed})"
