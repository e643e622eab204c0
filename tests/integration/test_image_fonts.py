"""Fonts and Pango in the container image: the runtime stage installs them and proves, while the image is
built, that a chart draws Chinese glyphs (not boxes) and that WeasyPrint loads Pango."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from opseval_reporting import fonts
from opseval_reporting.charts import cjk_font_check

ROOT = Path(__file__).resolve().parents[2]


def _runtime_stage() -> str:
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    return dockerfile.rsplit("\nFROM ", 1)[1]


def test_the_runtime_stage_installs_pango_and_cjk_fonts() -> None:
    runtime = _runtime_stage()
    installs = " ".join(re.findall(r"apt-get install[^&]*", runtime))
    for package in ("libpango-1.0-0", "libpangoft2-1.0-0", "libharfbuzz-subset0", "fonts-noto-cjk", "fontconfig"):
        assert package in installs, package
    assert "COPY services/reporting/opseval_reporting/fontconfig/65-opseval-cjk.conf /etc/fonts/conf.d/" in runtime


def test_the_image_build_checks_that_charts_draw_chinese_and_pango_loads() -> None:
    runtime = _runtime_stage()
    checks = runtime[runtime.index("RUN fc-cache") :]
    assert "python -m opseval_reporting.charts" in checks
    assert "import weasyprint" in checks
    # the checks run after the environment is in place and before the image drops root
    assert runtime.index("COPY --from=build /opt/opseval") < runtime.index("RUN fc-cache") < runtime.index("USER ")


def test_the_chart_font_check_finds_a_cjk_font_with_the_glyphs() -> None:
    path = cjk_font_check()
    assert "CJK" in Path(path).name or "Han" in Path(path).name, path


def test_the_chart_font_check_fails_without_a_cjk_font(monkeypatch: pytest.MonkeyPatch) -> None:
    """With only a Latin font to draw with, the check refuses (the build would stop) instead of
    letting every Chinese label become a box."""
    monkeypatch.setattr(fonts, "FONTS", ["DejaVu Sans"])
    try:
        with pytest.raises(RuntimeError, match=r"lacks the glyphs|no CJK font"):
            cjk_font_check()
    finally:
        fonts.font_file.cache_clear()
