"""Reading an evaluation bundle: YAML definitions and JSON Lines evidence.

A bundle is a directory with `project.yaml`, `contracts.yaml`, `indicators.yaml` (or
`indicators: {template: NAME}` naming a built-in template), optionally `calendar.yaml` (declared
holidays and 调休 working days) and any number of `.jsonl` files of evidence events, anywhere below
it. Every error names the file, the line and the field.

Hostile input is refused the same way, never followed: files that are symbolic links out of the
bundle, files and lines over the size limits, YAML tags that build objects, aliases, deep nesting.
"""

from __future__ import annotations

import os
from collections.abc import Collection, Iterator
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import yaml
from opseval_shared.base import field_path
from opseval_shared.contract import ContractProfile
from opseval_shared.evidence import UNION_TAG_ERRORS, Evidence, EvidenceKind, error_field, parse_evidence_json
from opseval_shared.holidays import HolidayCalendar
from opseval_shared.indicators import IndicatorSystem
from opseval_shared.measures import MeasureDef, MeasureLibrary
from opseval_shared.project import DEFER_REFERENCES, Project, ProjectDefinition, ProjectRules, unresolved_references
from pydantic import BaseModel, ValidationError

from .library import standard_measures, with_standard_measures

MAX_YAML_BYTES = 1024 * 1024  # real definitions are ~15 KB; PyYAML needs ~6 s for 1 MB
MAX_YAML_DEPTH = 50  # nested mappings and sequences; real definitions need about 10
MAX_LINE_BYTES = 1024 * 1024
MAX_EVIDENCE_FILE_BYTES = 2 * 1024**3
MAX_EVIDENCE_FILES = 10_000
DEFINITION_FILES = ("project.yaml", "contracts.yaml", "indicators.yaml")
MEASURES_FILE = "measures.yaml"
RULES_FILE = "rules.yaml"  # optional: the project's own rules, switches and overrides
CALENDAR_FILE = "calendar.yaml"  # optional
M = TypeVar("M", bound=BaseModel)


class BundleError(Exception):
    """Bad input, located: `path:line: field: message`."""

    def __init__(self, path: Path | str, line: int | None, field: str | None, message: str) -> None:
        self.path, self.line, self.field, self.message = str(path), line, field, message
        where = self.path + (f":{line}" if line else "")
        super().__init__(f"{where}: {field + ': ' if field else ''}{message}")


class BundleErrors(BundleError):
    """Several located problems of one bundle, reported together, one per line. Its own path, line,
    field and message are those of the first problem."""

    def __init__(self, problems: list[BundleError], truncated: bool = False) -> None:
        first = problems[0]
        super().__init__(first.path, first.line, first.field, first.message)
        self.problems, self.truncated = problems, truncated

    def __str__(self) -> str:
        lines = [str(p) for p in self.problems]
        if self.truncated:
            lines.append(f"(stopped after {len(self.problems)} problems)")
        return "\n".join(lines)


MAX_PROBLEMS = 100  # a systematic error repeats on every line; the first hundred show it


class Problems:
    """Problems collected while reading a bundle, up to MAX_PROBLEMS."""

    def __init__(self) -> None:
        self.found: list[BundleError] = []
        self.truncated = False

    def add(self, error: BundleError) -> bool:
        """Keep a problem (each of several); False once there are too many to go on."""
        for one in error.problems if isinstance(error, BundleErrors) else [error]:
            if len(self.found) >= MAX_PROBLEMS:
                self.truncated = True
                return False
            self.found.append(one)
        return True

    @property
    def full(self) -> bool:
        return self.truncated or len(self.found) >= MAX_PROBLEMS

    def raise_any(self) -> None:
        if len(self.found) == 1 and not self.truncated:
            raise self.found[0]
        if self.found:
            raise BundleErrors(self.found, self.truncated)


class RawLine(NamedTuple):
    path: Path
    line: int
    offset: int  # byte offset of the line in its file
    data: bytes


# ---------------------------------------------------------------- YAML


class _Refused(yaml.MarkedYAMLError):
    """Valid YAML this reader does not accept (an alias, deep nesting)."""


class _StrictLoader(yaml.SafeLoader):
    """Safe YAML that refuses aliases, deep nesting and duplicate keys, in one pass.

    Aliases are refused because a 'billion laughs' grows from a few of them; nesting is limited
    to MAX_YAML_DEPTH before the recursive composer could exhaust the stack; a duplicate key is
    refused because a silent 'last one wins' hides a typo. A scalar its tag cannot make
    (`2023-02-30`, `!!int abc`, a 5,000-digit integer) is a located YAML error too, not a
    ValueError from deep inside the constructor.
    """

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.depth = 0

    def _mark(self) -> Any:
        return self.peek_event().start_mark  # type: ignore[no-untyped-call]

    def compose_node(self, parent: yaml.Node | None, index: int) -> yaml.Node | None:
        if self.check_event(yaml.AliasEvent):
            raise _Refused(None, None, "YAML aliases (*name) are not accepted", self._mark())
        if not self.check_event(yaml.CollectionStartEvent):
            return super().compose_node(parent, index)
        self.depth += 1
        try:
            if self.depth > MAX_YAML_DEPTH:
                raise _Refused(None, None, f"nested deeper than {MAX_YAML_DEPTH} levels", self._mark())
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep=deep)
        except (ValueError, TypeError, KeyError, ArithmeticError) as exc:
            reason = "too many digits" if "integer string conversion" in str(exc) else str(exc)
            problem = f"cannot read {node.tag.rpartition(':')[2] or node.tag} value: {reason}"
            raise yaml.constructor.ConstructorError(None, None, problem, node.start_mark) from exc

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    None, None, "a mapping key must be a plain value, not a list or mapping", key_node.start_mark
                ) from None
            if duplicate:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        return super().construct_mapping(node, deep=deep)


def _load_yaml(text: str) -> tuple[Any, yaml.Node | None]:
    """The data and the node tree (for the line of each value), from one parse."""
    loader = _StrictLoader(text)
    try:
        node = loader.get_single_node()
        return (loader.construct_document(node) if node is not None else None), node
    finally:
        loader.dispose()


def read_yaml(path: Path) -> tuple[Any, yaml.Node | None]:
    if not path.is_file():
        raise BundleError(path, None, None, "not a regular file" if path.exists() else "file not found")
    size = path.stat().st_size
    if size > MAX_YAML_BYTES:
        raise BundleError(path, None, None, f"file is {size} bytes; definitions are limited to {MAX_YAML_BYTES}")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        row = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise BundleError(path, row, None, f"not UTF-8 ({exc.reason} at column {column})") from exc
    try:
        return _load_yaml(text)
    except _Refused as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise BundleError(path, line, None, str(exc.problem)) from exc
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise BundleError(path, line, None, f"invalid YAML: {exc.problem}") from exc
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow (NUL, most control characters)
        row = text.count("\n", 0, exc.position) + 1
        char = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise BundleError(path, row, None, f"invalid YAML: character U+{char:04X} is not allowed") from exc
    except yaml.YAMLError as exc:
        raise BundleError(path, None, None, f"invalid YAML: {exc}") from exc
    except RecursionError:  # nesting is limited above; this is the last line of defence
        raise BundleError(path, None, None, "invalid YAML: nested too deeply") from None


def _node_line(node: yaml.Node | None, loc: tuple[int | str, ...]) -> int | None:
    """The YAML line of the value at a pydantic error location (best effort: the deepest found)."""
    line = node.start_mark.line + 1 if node is not None else None
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((v for k, v in node.value if getattr(k, "value", None) == key), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            match = node.value[key]
        else:
            match = None
        if match is None:
            break
        node = match
        line = node.start_mark.line + 1
    return line


def template_names() -> list[str]:
    folder = resources.files("opseval_shared") / "templates"
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


def template_text(name: str) -> str:
    if name not in template_names():
        raise KeyError(name)
    return (resources.files("opseval_shared") / "templates" / f"{name}.yaml").read_text(encoding="utf-8")


def _real(path: Path) -> str:
    return os.path.realpath(path)  # never raises, not even on a symlink loop (the loop is left unresolved)


def _inside(root: str, target: str) -> bool:
    return target == root or target.startswith(root.rstrip(os.sep) + os.sep)


def _refuse_link_out(root: str, path: Path) -> None:
    """A symbolic link (or a path through one) that leads out of the bundle is refused, not followed."""
    target = _real(path)
    if not _inside(root, target):
        raise BundleError(path, None, None, f"symbolic link points outside the bundle (to {target})")


def load_definition(bundle: Path, known_rules: Collection[str] | None = None) -> ProjectDefinition:
    """The bundle's definition, or BundleError with every problem found (each file's own first,
    then the references across files, and the rule patterns when `known_rules` is given)."""
    problems = Problems()
    definition = read_definition(bundle, problems, known_rules)
    problems.raise_any()
    assert definition is not None
    return definition


def read_definition(
    bundle: Path, problems: Problems, known_rules: Collection[str] | None = None
) -> ProjectDefinition | None:
    """The bundle's definition, with each problem found added to `problems`; None when a file cannot
    be read or validated. With only unresolved references the definition is still returned, so the
    evidence can be checked against it too (it is not fit to evaluate)."""
    if not bundle.is_dir():
        problems.add(BundleError(bundle, None, None, "bundle directory not found"))
        return None
    root = _real(bundle)
    docs: dict[str, tuple[Any, yaml.Node | None, Path]] = {}
    for name in DEFINITION_FILES:
        try:
            _refuse_link_out(root, bundle / name)
            data, node = read_yaml(bundle / name)
        except BundleError as exc:
            problems.add(exc)
            continue
        docs[name.removesuffix(".yaml")] = (data, node, bundle / name)
    indicators = docs["indicators"][0] if "indicators" in docs else None
    if isinstance(indicators, dict) and set(indicators) == {"template"}:
        name = indicators["template"]
        try:
            text = template_text(str(name))
        except KeyError:
            problems.add(
                BundleError(
                    bundle / "indicators.yaml",
                    1,
                    "template",
                    f"unknown template {name!r} (built-in: {', '.join(template_names())})",
                )
            )
            del docs["indicators"]
        else:
            docs["indicators"] = (
                yaml.safe_load(text),
                yaml.compose(text, Loader=yaml.SafeLoader),
                Path(f"<template {name}>"),
            )
    # Each file on its own first, so an error is located in it; then the references across files.
    project = _validate(Project, docs.get("project"), problems)
    contracts = _validate(ContractProfile, docs.get("contracts"), problems)
    system = _validate(IndicatorSystem, docs.get("indicators"), problems)
    measures = _measures(bundle, root, problems)
    calendar = None
    if os.path.lexists(bundle / CALENDAR_FILE):
        try:
            _refuse_link_out(root, bundle / CALENDAR_FILE)
            calendar = _validate(
                HolidayCalendar, (*read_yaml(bundle / CALENDAR_FILE), bundle / CALENDAR_FILE), problems
            )
        except BundleError as exc:
            problems.add(exc)
    if contracts is not None and system is not None and measures is not None:
        _, node, path = docs["indicators"]
        period = project.evaluation.period if project is not None else None
        for loc, message in unresolved_references(contracts, system, measures, period=period, known_rules=known_rules):
            problems.add(BundleError(path, _node_line(node, loc), field_path(loc), message))
    rules = ProjectRules()
    if os.path.lexists(bundle / RULES_FILE):
        try:
            _refuse_link_out(root, bundle / RULES_FILE)
            rules = _validate(ProjectRules, (*read_yaml(bundle / RULES_FILE), bundle / RULES_FILE), problems) or rules
        except BundleError as exc:
            problems.add(exc)
    if project is None or contracts is None or system is None or measures is None:
        return None
    return ProjectDefinition.model_validate(
        {
            "project": project,
            "contracts": contracts,
            "indicators": system,
            "measures": measures,
            "calendar": calendar,
            "rules": rules,
        },
        context={DEFER_REFERENCES: True},
    )


def load_calendar_file(path: Path) -> HolidayCalendar:
    """A declared calendar: the installation's (OPSEVAL_CALENDAR_FILE), every problem located."""
    problems = Problems()
    calendar = _validate(HolidayCalendar, (*read_yaml(path), path), problems)
    problems.raise_any()
    assert calendar is not None
    return calendar


class BundleMeasures(BaseModel):
    """measures.yaml: the bundle's own measures, in the standard library's form."""

    model_config = {"extra": "forbid", "frozen": True}
    measures: tuple[MeasureDef, ...] = ()


def _measures(bundle: Path, root: str, problems: Problems) -> MeasureLibrary | None:
    """The standard measures with the bundle's measures.yaml (optional) merged in; None with its problems added."""
    path = bundle / MEASURES_FILE
    if not os.path.lexists(path):
        return standard_measures()
    try:
        _refuse_link_out(root, path)
        data, node = read_yaml(path)
    except BundleError as exc:
        problems.add(exc)
        return None
    own = _validate(BundleMeasures, (data, node, path), problems)
    if own is None:
        return None
    conflicts = [(i, standard_measures().conflict(m)) for i, m in enumerate(own.measures)]
    for i, problem in conflicts:
        if problem:
            loc = ("measures", i, "id")
            problems.add(BundleError(path, _node_line(node, loc), field_path(loc), problem))
    if any(problem for _, problem in conflicts):
        return None
    try:
        return with_standard_measures(own.measures)
    except ValidationError as exc:  # the bundle's measures among themselves (a ratio of an unknown one, a cycle)
        problems.add(BundleError(path, _node_line(node, ("measures",)), "measures", _message(exc.errors()[0])))
        return None


def _validate(model: type[M], doc: tuple[Any, yaml.Node | None, Path] | None, problems: Problems) -> M | None:
    """The file's model, or None with each of its problems added (one per field)."""
    if doc is None:
        return None
    data, node, path = doc
    try:
        validated: M = model.model_validate(data)
        return validated
    except ValidationError as exc:
        seen: set[tuple[Any, ...]] = set()
        for err in exc.errors():
            loc = _without_tags(tuple(err["loc"]), data)
            if loc in seen:  # the members of a union each refuse the same value
                continue
            seen.add(loc)
            problems.add(BundleError(path, _node_line(node, loc), field_path(loc) or None, _message(err)))
        return None


def _without_tags(loc: tuple[int | str, ...], data: Any) -> tuple[int | str, ...]:
    """An error's location as the file has it: without the tag pydantic adds for the member of a
    discriminated union (`method.ratio.metric` is `method.metric` in the YAML)."""
    out: list[int | str] = []
    for key in loc:
        if isinstance(data, dict) and key not in data and data.get("type") == key:
            continue
        out.append(key)
        try:
            data = data[key]
        except (KeyError, IndexError, TypeError):
            data = None
    return tuple(out)


def _message(err: Any) -> str:
    msg = str(err["msg"])
    return msg.removeprefix("Value error, ")


# ---------------------------------------------------------------- JSON Lines


def evidence_files(bundle: Path) -> list[Path]:
    """Every `*.jsonl` file below the bundle, sorted; refused if one leads out of it or is too large.

    Like `Path.rglob` in Python 3.11, it does not descend into symbolically linked directories, so a
    link loop cannot make it spin; a linked directory that stays inside is found by its real path
    anyway, and one that leads outside is refused. A `.jsonl` link is read if it stays inside.
    """
    root = _real(bundle)
    found: list[Path] = []
    stack = [bundle]
    while stack:
        folder = stack.pop()
        try:
            with os.scandir(folder) as listing:
                entries = sorted(listing, key=lambda e: e.name)  # the same first error on every run
        except OSError as exc:
            raise BundleError(folder, None, None, f"cannot list directory ({exc.strerror})") from exc
        folders: list[Path] = []
        for entry in entries:
            path = folder / entry.name
            is_evidence = entry.name.endswith(".jsonl")
            if entry.is_symlink():
                # os.path answers False for a missing target or a link loop, where DirEntry raises.
                if is_evidence or os.path.isdir(path):
                    _refuse_link_out(root, path)
                if is_evidence and not os.path.isfile(path):
                    problem = "something not a regular file" if os.path.exists(path) else "nothing (or a link loop)"
                    raise BundleError(path, None, None, f"symbolic link to {problem}")
            elif entry.is_dir(follow_symlinks=False):
                folders.append(path)
            elif is_evidence and not entry.is_file(follow_symlinks=False):
                raise BundleError(path, None, None, "not a regular file")
            if is_evidence and os.path.isfile(path):
                found.append(path)
                if len(found) > MAX_EVIDENCE_FILES:
                    raise BundleError(
                        bundle,
                        None,
                        None,
                        f"more than {MAX_EVIDENCE_FILES} evidence files (*.jsonl) below the bundle; "
                        "merge them into fewer, larger files",
                    )
        stack.extend(reversed(folders))  # popped in name order
    files = sorted(found)
    for path in files:
        size = path.stat().st_size
        if size > MAX_EVIDENCE_FILE_BYTES:
            raise BundleError(
                path,
                None,
                None,
                f"file is {size} bytes ({_human(size)}), over the limit of {MAX_EVIDENCE_FILE_BYTES} bytes "
                f"({_human(MAX_EVIDENCE_FILE_BYTES)}) for one evidence file; split it into smaller .jsonl files",
            )
    return files


def _human(size: int) -> str:
    value, unit = float(size), "bytes"
    for larger in ("KiB", "MiB", "GiB"):
        if value < 1024:
            break
        value, unit = value / 1024, larger
    return f"{size} bytes" if unit == "bytes" else f"{value:.1f} {unit}"


def iter_lines(bundle: Path) -> Iterator[RawLine]:
    files = evidence_files(bundle)
    for path in files:
        with path.open("rb") as fh:
            offset, number = 0, 0
            # A line is read up to just past the limit (a file with no newline is never read whole):
            # one byte more shows it is too long, three more leave room for a byte-order mark.
            while data := fh.readline(MAX_LINE_BYTES + 4):
                number += 1
                start, offset = offset, offset + len(data)
                if number == 1 and data.startswith(b"\xef\xbb\xbf"):
                    data = data[3:]  # a UTF-8 byte-order mark some editors write
                if len(data) > MAX_LINE_BYTES:
                    raise BundleError(path, number, None, f"line longer than {MAX_LINE_BYTES} bytes")
                if data.strip():
                    yield RawLine(path, number, start, data)


def file_lines(path: Path) -> Iterator[tuple[int, int, bytes]]:
    """The lines of one evidence file as `iter_lines` reads them (the same limit, byte-order mark and
    blank lines), each as (line number, byte offset, data): a plain tuple costs less than a RawLine
    on a path taken once per event (the fold's; RawLine(path, *t) is the line `iter_lines` gives)."""
    with path.open("rb") as fh:
        readline = fh.readline
        offset, number, limit = 0, 0, MAX_LINE_BYTES + 4
        while data := readline(limit):
            number += 1
            start, offset = offset, offset + len(data)
            if number == 1 and data.startswith(b"\xef\xbb\xbf"):
                data = data[3:]
            if len(data) > MAX_LINE_BYTES:
                raise BundleError(path, number, None, f"line longer than {MAX_LINE_BYTES} bytes")
            if data and not data.isspace():  # (iter_lines's `data.strip()`, without copying each line)
                yield number, start, data


def read_line_at(path: Path, offset: int) -> RawLine:
    """The line that starts at a byte offset (to fetch an earlier event back)."""
    with path.open("rb") as fh:
        number = 1
        for _ in range(offset // _CHUNK):
            number += fh.read(_CHUNK).count(b"\n")
        number += fh.read(offset % _CHUNK).count(b"\n")
        data = fh.readline(MAX_LINE_BYTES + 4)
    if number == 1 and data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    return RawLine(path, number, offset, data)


def parse_line(raw: RawLine) -> Evidence:
    try:
        return parse_evidence_json(raw.data)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        loc = tuple(err["loc"])
        if err["type"] == "json_invalid":
            raise BundleError(raw.path, raw.line, None, _json_problem(raw.data, str(err["msg"]))) from exc
        if err["type"] == "dict_type" and not loc:
            shape = _JSON_TYPES.get(raw.data.lstrip()[:1], "a number")
            message = f"each line must be one JSON object (an event), not {shape}"
            raise BundleError(raw.path, raw.line, None, message) from exc
        if err["type"] in UNION_TAG_ERRORS:
            kinds = ", ".join(k.value for k in EvidenceKind)
            got = err.get("ctx", {}).get("tag")
            what = f"unknown kind {got!r}" if got is not None else "missing kind"
            raise BundleError(raw.path, raw.line, "kind", f"{what} (known: {kinds})") from exc
        raise BundleError(raw.path, raw.line, error_field(err) or None, _message(err)) from exc


_CHUNK = 1024 * 1024
_JSON_TYPES = {b"[": "an array", b'"': "a string", b"n": "null", b"t": "true", b"f": "false"}


def _json_problem(data: bytes, msg: str) -> str:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"not UTF-8 ({exc.reason} at byte {exc.start + 1} of the line)"
    msg = msg.removeprefix("Invalid JSON: ").replace(" at line 1 column ", " at column ")
    return f"invalid JSON: {msg}"
