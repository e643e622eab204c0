"""opseval's standard library of definitions, shipped with the shared package as YAML."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from importlib import resources

import yaml
from opseval_shared.measures import MeasureDef, MeasureLibrary

STANDARD_MEASURES = "library/measures.yaml"


def standard_measures_text() -> str:
    return (resources.files("opseval_shared") / STANDARD_MEASURES).read_text(encoding="utf-8")


@cache
def standard_measures() -> MeasureLibrary:
    # libyaml's parser where it is built: the same data, ≈ 6× faster (read at every start-up)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return MeasureLibrary.model_validate(yaml.load(standard_measures_text(), Loader=loader))


def with_standard_measures(own: Sequence[MeasureDef]) -> MeasureLibrary:
    """The standard measures with a bundle's own added (or replacing one, when it says so)."""
    return standard_measures().merged(own)
