"""Reading an evaluation bundle: YAML definitions and JSON Lines evidence.

A bundle is a directory with `project.yaml`, `contracts.yaml`, `indicators.yaml` (or
`indicators: {template: NAME}` naming a built-in template) and any number of `.jsonl` files of
evidence events, anywhere below it. Every error names the file, the line and the field.
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple, TypeVar

import yaml
from opseval_shared.contract import ContractProfile
from opseval_shared.evidence import Evidence, EvidenceKind, parse_evidence_json
from opseval_shared.indicators import IndicatorSystem
from opseval_shared.project import Project, ProjectDefinition, unresolved_references
from pydantic import BaseModel, ValidationError

MAX_YAML_BYTES = 5 * 1024 * 1024
MAX_LINE_BYTES = 1024 * 1024
DEFINITION_FILES = ("project.yaml", "contracts.yaml", "indicators.yaml")
M = TypeVar("M", bound=BaseModel)


class BundleError(Exception):
    """Bad input, located: `path:line: field: message`."""

    def __init__(self, path: Path | str, line: int | None, field: str | None, message: str) -> None:
        self.path, self.line, self.field, self.message = str(path), line, field, message
        where = self.path + (f":{line}" if line else "")
        super().__init__(f"{where}: {field + ': ' if field else ''}{message}")


class RawLine(NamedTuple):
    path: Path
    line: int
    offset: int  # byte offset of the line in its file
    data: bytes


# ---------------------------------------------------------------- YAML


class _StrictLoader(yaml.SafeLoader):
    """Safe YAML that refuses duplicate keys (a silent 'last one wins' hides a typo)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


def _reject_aliases(text: str, path: Path) -> None:
    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.AliasEvent):
            line = event.start_mark.line + 1 if event.start_mark else None
            raise BundleError(path, line, None, "YAML aliases (*name) are not accepted")


def read_yaml(path: Path) -> tuple[Any, yaml.Node | None]:
    if not path.is_file():
        raise BundleError(path, None, None, "file not found")
    size = path.stat().st_size
    if size > MAX_YAML_BYTES:
        raise BundleError(path, None, None, f"file is {size} bytes; definitions are limited to {MAX_YAML_BYTES}")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise BundleError(path, None, None, f"not UTF-8 ({exc.reason} at byte {exc.start})") from exc
    try:
        _reject_aliases(text, path)
        return yaml.load(text, Loader=_StrictLoader), yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise BundleError(path, line, None, f"invalid YAML: {exc.problem}") from exc
    except yaml.YAMLError as exc:
        raise BundleError(path, None, None, f"invalid YAML: {exc}") from exc


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


def _field(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def template_names() -> list[str]:
    folder = resources.files("opseval_shared") / "templates"
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


def template_text(name: str) -> str:
    if name not in template_names():
        raise KeyError(name)
    return (resources.files("opseval_shared") / "templates" / f"{name}.yaml").read_text(encoding="utf-8")


def load_definition(bundle: Path) -> ProjectDefinition:
    if not bundle.is_dir():
        raise BundleError(bundle, None, None, "bundle directory not found")
    docs: dict[str, tuple[Any, yaml.Node | None, Path]] = {}
    for name in DEFINITION_FILES:
        data, node = read_yaml(bundle / name)
        docs[name.removesuffix(".yaml")] = (data, node, bundle / name)
    indicators = docs["indicators"][0]
    if isinstance(indicators, dict) and set(indicators) == {"template"}:
        name = indicators["template"]
        try:
            text = template_text(str(name))
        except KeyError:
            raise BundleError(
                bundle / "indicators.yaml",
                1,
                "template",
                f"unknown template {name!r} (built-in: {', '.join(template_names())})",
            ) from None
        docs["indicators"] = (
            yaml.safe_load(text),
            yaml.compose(text, Loader=yaml.SafeLoader),
            Path(f"<template {name}>"),
        )
    # Each file on its own first, so an error is located in it; then the references across files.
    contracts = _validate(ContractProfile, docs["contracts"])
    indicators = _validate(IndicatorSystem, docs["indicators"])
    for loc, message in unresolved_references(contracts, indicators):
        _, node, path = docs["indicators"]
        raise BundleError(path, _node_line(node, loc), _field(loc), message)
    return ProjectDefinition(project=_validate(Project, docs["project"]), contracts=contracts, indicators=indicators)


def _validate(model: type[M], doc: tuple[Any, yaml.Node | None, Path]) -> M:
    data, node, path = doc
    try:
        validated: M = model.model_validate(data)
        return validated
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = tuple(err["loc"])
        raise BundleError(path, _node_line(node, loc), _field(loc) or None, _message(err)) from exc


def _message(err: Any) -> str:
    msg = str(err["msg"])
    return msg.removeprefix("Value error, ")


# ---------------------------------------------------------------- JSON Lines


def evidence_files(bundle: Path) -> list[Path]:
    return sorted(p for p in bundle.rglob("*.jsonl") if p.is_file())


def iter_lines(bundle: Path) -> Iterator[RawLine]:
    files = evidence_files(bundle)
    for path in files:
        with path.open("rb") as fh:
            offset = 0
            for number, data in enumerate(fh, start=1):
                start, offset = offset, offset + len(data)
                if number == 1 and data.startswith(b"\xef\xbb\xbf"):
                    data = data[3:]  # a UTF-8 byte-order mark some editors write
                if len(data) > MAX_LINE_BYTES:
                    raise BundleError(path, number, None, f"line longer than {MAX_LINE_BYTES} bytes")
                if data.strip():
                    yield RawLine(path, number, start, data)


def read_line_at(path: Path, offset: int) -> RawLine:
    """The line that starts at a byte offset (to fetch an earlier event back)."""
    with path.open("rb") as fh:
        number = fh.read(offset).count(b"\n") + 1
        data = fh.readline()
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
            raise BundleError(raw.path, raw.line, None, f"invalid JSON: {err['msg']}") from exc
        if err["type"] in ("union_tag_invalid", "union_tag_not_found"):
            kinds = ", ".join(k.value for k in EvidenceKind)
            got = err.get("ctx", {}).get("tag")
            what = f"unknown kind {got!r}" if got is not None else "missing kind"
            raise BundleError(raw.path, raw.line, "kind", f"{what} (known: {kinds})") from exc
        # Drop the discriminator tag pydantic puts in the location of union members.
        loc = tuple(p for i, p in enumerate(loc) if not (i == 0 and isinstance(p, str) and _is_kind(p)))
        raise BundleError(raw.path, raw.line, _field(loc) or None, _message(err)) from exc


def _is_kind(tag: str) -> bool:
    return tag in EvidenceKind._value2member_map_
