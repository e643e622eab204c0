"""Where the CJK font the charts draw with is: an adapter to the system's fontconfig (``fc-match``).

The charts (:mod:`charts`) draw with the first of ``FONTS`` that fontconfig has, in the face of the
collection that family names — ``Noto Sans CJK SC`` is face 2 of ``NotoSansCJK-Regular.ttc``; face 0 is
the Japanese one, whose glyph forms differ from the mainland's.
"""

from __future__ import annotations

import shutil
import subprocess
from functools import cache

FONTS = ["Noto Sans CJK SC", "Source Han Sans SC", "Noto Serif CJK SC", "Microsoft YaHei"]


@cache
def font_file() -> tuple[str, int] | None:
    """The file and collection index of the first of ``FONTS`` that fontconfig has, or None (no
    fontconfig, or none of them installed: fc-match then names another family, which is not taken)."""
    if shutil.which("fc-match") is None:
        return None
    for family in FONTS:
        out = subprocess.run(
            ["fc-match", "-f", "%{file}\t%{index}\t%{family}", family], capture_output=True, text=True, check=False
        ).stdout
        parts = out.split("\t")
        if len(parts) == 3 and family.lower() in (name.strip().lower() for name in parts[2].split(",")):
            return parts[0], int(parts[1] or 0)
    return None
