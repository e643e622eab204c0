"""The domain is pure: no I/O, no network, no clock. Services and the CLI are the adapters."""

from __future__ import annotations

import ast
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
