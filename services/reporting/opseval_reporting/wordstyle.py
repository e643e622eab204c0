"""Run properties that make Word show Chinese in mainland (SC) glyph forms.

Shared by the DOCX report template builder and the self-evaluation form: both pin an explicit East-Asian
font (no theme fonts, which Word resolves per locale) and ``w:lang w:eastAsia="zh-CN"`` on ``w:rPr``
elements, inserting the children in the schema order Word validates.
"""

from __future__ import annotations

from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.oxml.xmlchemy import BaseOxmlElement

# Latin letters and digits in the East-Asian font too (as 财政 report templates set 宋体 throughout): one
# font family per run, so a PDF printed from the report embeds only CJK fonts.
LATIN_FONT: str | None = None

# rPr children that follow rFonts in schema order (CT_RPr sequence), for inserting in place.
AFTER_RFONTS = (
    "w:b",
    "w:bCs",
    "w:i",
    "w:iCs",
    "w:caps",
    "w:smallCaps",
    "w:strike",
    "w:dstrike",
    "w:outline",
    "w:shadow",
    "w:emboss",
    "w:imprint",
    "w:noProof",
    "w:snapToGrid",
    "w:vanish",
    "w:webHidden",
    "w:color",
    "w:spacing",
    "w:w",
    "w:kern",
    "w:position",
    "w:sz",
    "w:szCs",
    "w:highlight",
    "w:u",
    "w:effect",
    "w:bdr",
    "w:shd",
    "w:fitText",
    "w:vertAlign",
    "w:rtl",
    "w:cs",
    "w:em",
    "w:lang",
    "w:eastAsianLayout",
    "w:specVanish",
    "w:oMath",
)


def after(tag: str) -> tuple[str, ...]:
    """The rPr children that follow ``tag`` in schema order."""
    return AFTER_RFONTS[AFTER_RFONTS.index(tag) + 1 :]


def child(parent: BaseOxmlElement, tag: str, before: tuple[str, ...] = ()) -> BaseOxmlElement:
    """The ``tag`` child of ``parent``, created (ahead of the first of ``before`` present) when missing."""
    found = parent.find(qn(tag))
    if found is not None:
        return found  # type: ignore[no-any-return]
    new: BaseOxmlElement = OxmlElement(tag)
    for name in before:
        anchor = parent.find(qn(name))
        if anchor is not None:
            anchor.addprevious(new)
            return new
    parent.append(new)
    return new


def set_cjk(rpr: BaseOxmlElement, east_asia: str, latin: str | None = LATIN_FONT) -> None:
    """Explicit fonts (no theme fonts) and zh-CN East-Asian language on a ``w:rPr``."""
    fonts = child(rpr, "w:rFonts", AFTER_RFONTS)
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(attr), None)
    for attr in ("w:ascii", "w:hAnsi", "w:cs"):
        fonts.set(qn(attr), latin or east_asia)
    fonts.set(qn("w:eastAsia"), east_asia)
    fonts.set(qn("w:hint"), "eastAsia")
    lang = child(rpr, "w:lang", after("w:lang"))
    lang.set(qn("w:val"), "en-US")
    lang.set(qn("w:eastAsia"), "zh-CN")
    lang.set(qn("w:bidi"), "ar-SA")
