"""The domain is pure: no I/O, no network, no clock. Services and the CLI are the adapters.

And the domain distribution stands alone: `opseval-shared` (shared/) neither requires nor imports the
infrastructure, which is the separate distribution `opseval-infra` (shared/infra/).
"""

from __future__ import annotations

import ast
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# The adapters of each service (the results API's routers and what they share, its live stream), the
# DOCX renderer (it reads its packaged Word template), where the charts' font is (it asks fontconfig)
# and the rules' standard library (it reads its packaged YAML files).
DOMAIN_EXCLUDED = {
    "app.py",
    "service.py",
    "settings.py",
    "context.py",
    "live.py",
    "docx.py",
    "fonts.py",
    "build_report_template.py",
    "standard.py",
}
ADAPTER_FOLDERS = {"routes"}
DOMAIN = [
    ROOT / "shared" / "opseval_shared",
    ROOT / "services" / "rules" / "opseval_rules",
    ROOT / "services" / "scoring" / "opseval_scoring",
    ROOT / "services" / "reporting" / "opseval_reporting",
]
# io is allowed: renderers build files in memory (BytesIO), which is not I/O.
FORBIDDEN_MODULES = {
    "os",
    "pathlib",
    "shutil",
    "tempfile",
    "subprocess",
    "socket",
    "sqlite3",
    "urllib",
    "http",
    "requests",
    "httpx",
    "nats",
    "faststream",
    "pymongo",
    "motor",
    "uvicorn",
    "fastapi",
    "yaml",
}
FORBIDDEN_CALLS = {
    ("datetime", "now"),
    ("datetime", "utcnow"),
    ("date", "today"),
    ("time", "time"),
    ("time", "monotonic"),
    ("time", "perf_counter"),
}


def modules() -> list[Path]:
    return sorted(
        p
        for folder in DOMAIN
        for p in folder.rglob("*.py")
        if p.name not in DOMAIN_EXCLUDED and not ADAPTER_FOLDERS & set(p.relative_to(folder).parts[:-1])
    )


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_domain_module_does_no_io_and_reads_no_clock(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name.split(".")[0] for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module.split(".")[0]]
        else:
            names = []
        assert not FORBIDDEN_MODULES & set(names), f"{path.name}:{node.lineno} imports {names}"
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Name):
                assert func.id != "open", f"{path.name}:{node.lineno} opens a file"
            if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
                assert (func.value.id, func.attr) not in FORBIDDEN_CALLS, f"{path.name}:{node.lineno} reads the clock"


# The domain distribution (shared/pyproject.toml, package opseval_shared) against the infrastructure one
# (shared/infra/pyproject.toml, package opseval_infra) and what only the infrastructure needs.
SHARED = ROOT / "shared" / "opseval_shared"
INFRA_DISTRIBUTIONS = {
    "opseval-infra",
    "fastapi",
    "fastapi-offline",
    "faststream",
    "nats-py",
    "pymongo",
    "motor",
    "uvicorn",
    "starlette",
    "pydantic-settings",
    "prometheus-client",
    "durable-rules",
}
INFRA_MODULES = {
    "opseval_infra",
    "opseval_intake",
    "opseval_rules",
    "opseval_scoring",
    "opseval_reporting",
    "opseval",
    "fastapi",
    "fastapi_offline",
    "faststream",
    "nats",
    "pymongo",
    "bson",
    "motor",
    "uvicorn",
    "starlette",
    "pydantic_settings",
    "prometheus_client",
    "durable",
    "importlib",
}


def requirement_name(requirement: str) -> str:
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group(1)).lower()


def pyproject(path: Path) -> dict[str, object]:
    return tomllib.loads(path.read_text(encoding="utf-8"))["project"]  # type: ignore[no-any-return]


def test_the_domain_distribution_requires_no_infrastructure() -> None:
    shared = pyproject(ROOT / "shared" / "pyproject.toml")
    assert shared["name"] == "opseval-shared"
    requires = {requirement_name(r) for r in shared["dependencies"]}  # type: ignore[attr-defined]
    assert "pydantic" in requires
    assert not INFRA_DISTRIBUTIONS & requires, f"opseval-shared requires {sorted(INFRA_DISTRIBUTIONS & requires)}"
    infra = pyproject(ROOT / "shared" / "infra" / "pyproject.toml")
    assert infra["name"] == "opseval-infra"
    assert "opseval-shared" in {requirement_name(r) for r in infra["dependencies"]}  # type: ignore[attr-defined]
    packages = tomllib.loads((ROOT / "shared" / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["hatch"]
    assert packages["build"]["targets"]["wheel"]["packages"] == ["opseval_shared"]


def test_nothing_the_domain_distribution_pulls_in_is_infrastructure() -> None:
    """Transitively, as locked: installing opseval-shared alone installs none of the infrastructure."""
    lock = tomllib.loads((ROOT / "uv.lock").read_text(encoding="utf-8"))
    packages = {p["name"]: p for p in lock["package"]}
    reachable: set[str] = set()
    pending: list[dict[str, object]] = [{"name": "opseval-shared"}]
    while pending:
        dependency = pending.pop()
        name = str(dependency["name"])
        package = packages[name]
        extras = [f"{name}[{e}]" for e in dependency.get("extra", [])]  # type: ignore[attr-defined]
        if name in reachable and set(extras) <= reachable:
            continue
        reachable |= {name, *extras}
        pending += package.get("dependencies", [])
        for extra in dependency.get("extra", []):  # type: ignore[attr-defined]
            pending += package.get("optional-dependencies", {}).get(extra, [])
    assert {"opseval-shared", "pydantic"} <= reachable
    assert not INFRA_DISTRIBUTIONS & reachable, f"opseval-shared pulls in {sorted(INFRA_DISTRIBUTIONS & reachable)}"
    # and the walk sees infrastructure where there is some
    infra = {d["name"] for d in packages["opseval-infra"]["dependencies"]}
    assert {"fastapi", "faststream", "nats-py", "pymongo"} <= infra


@pytest.mark.parametrize("path", sorted(SHARED.rglob("*.py")), ids=lambda p: str(p.relative_to(ROOT)))
def test_the_domain_package_imports_no_infrastructure(path: Path) -> None:
    """Every module of opseval_shared, adapters-excluded or not, at any depth (also imports inside a function)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = {node.module.split(".")[0]}
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "__import__":
            names = {"__import__"}
        else:
            continue
        assert not (INFRA_MODULES | {"__import__"}) & names, f"{path.name}:{node.lineno} imports {sorted(names)}"
