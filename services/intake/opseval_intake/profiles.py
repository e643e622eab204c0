"""Import profiles (导入模板): the standard library shipped with the shared package, or a profile file."""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

from opseval_shared.base import field_path
from opseval_shared.imports import ImportProfile, ProfileFieldError
from pydantic import ValidationError

from .bundle import BundleError, _load_yaml, _message, _node_line, read_yaml

PROFILES_FOLDER = "library/imports"


def profile_names() -> list[str]:
    folder = resources.files("opseval_shared") / PROFILES_FOLDER
    return sorted(p.name.removesuffix(".yaml") for p in folder.iterdir() if p.name.endswith(".yaml"))


def profile_text(name: str) -> str:
    if name not in profile_names():
        raise KeyError(name)
    return (resources.files("opseval_shared") / PROFILES_FOLDER / f"{name}.yaml").read_text(encoding="utf-8")


@cache
def standard_profile(name: str) -> ImportProfile:
    """A profile of the standard library by name (KeyError when there is none of that name)."""
    return ImportProfile.model_validate(_load_yaml(profile_text(name))[0])


def load_profile(name_or_path: str) -> ImportProfile:
    """A standard profile by name, else a profile file (BundleError naming the file, line and field)."""
    if name_or_path in profile_names():
        return standard_profile(name_or_path)
    path = Path(name_or_path)
    if not path.suffix and not path.exists():
        known = ", ".join(profile_names())
        raise BundleError(name_or_path, None, None, f"no standard import profile of that name (standard: {known})")
    data, node = read_yaml(path)
    try:
        return ImportProfile.model_validate(data)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        below = err.get("ctx", {}).get("error")  # a ProfileFieldError says where below its field
        loc = tuple(err["loc"]) + (below.loc if isinstance(below, ProfileFieldError) else ())
        raise BundleError(path, _node_line(node, loc), field_path(loc) or None, _message(err)) from None
