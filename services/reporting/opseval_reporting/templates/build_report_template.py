"""Build ``report.docx``, the Word template the DOCX 绩效评价报告 is rendered from.

Run ``uv run --frozen python services/reporting/opseval_reporting/templates/build_report_template.py`` to
regenerate it. The template is meant to be restyled in Word afterwards: everything visual lives in its
styles (标题/副标题, 标题 1–3, 正文, 列表项目符号, 表格文字, 图片, 题注 and the 报告表格 table style); the
body only holds the Jinja (docxtpl) loop over the report content's sections, their blocks and figures.

Chinese must come out in mainland (SC) glyph forms, so the document defaults and every style used carry
``w:lang w:eastAsia="zh-CN"`` and an explicit East-Asian font (宋体 for text, 黑体 for headings).
"""

from __future__ import annotations

import io
import sys
import zipfile
from datetime import datetime
from pathlib import Path
from typing import Any

from docx import Document
from docx.document import Document as DocxDocument
from docx.enum.section import WD_SECTION
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.oxml.xmlchemy import BaseOxmlElement
from docx.shared import Mm, Pt, RGBColor
from docx.styles.style import BaseStyle, CharacterStyle, ParagraphStyle
from opseval_reporting.wordstyle import after, child, set_cjk

TEMPLATE = Path(__file__).with_name("report.docx")

BODY_FONT = "宋体"  # SimSun; rendered with Noto Serif CJK SC / Source Han Serif SC where SimSun is absent
HEADING_FONT = "黑体"  # SimHei; falls back to Noto Sans CJK SC
TABLE_STYLE = "Report Table"  # shown in Word as “报告表格”
TABLE_TEXT = "Table Text"  # paragraph style of table cells
FIGURE = "Figure"  # paragraph style holding a chart (centred, no indent)
CAPTION = "Caption"  # built-in 题注, under each chart
TABLE_CAPTION = "Table Caption"  # 表题, above a table ("表1 …")
LIST = "Report List"  # a list item: numbered in its text (1. 2. …), hanging indent, no bullet glyph
COVER_TEXT = "Cover Text"  # the cover's 项目名称 / 委托方 / 评价机构 / 报告日期 lines
TOC_MARKER = "toc"  # the placeholder paragraph the contents replace
# A4 with the margins of GB/T 9704 (党政机关公文格式): top 37 mm, bottom 35 mm, left 28 mm, right 26 mm.
PAGE_WIDTH, PAGE_HEIGHT = Mm(210), Mm(297)
MARGINS = {"top": Mm(37), "bottom": Mm(35), "left": Mm(28), "right": Mm(26)}
FIXED_TIME = datetime(2020, 1, 1)
ZIP_TIME = (2020, 1, 1, 0, 0, 0)

# The body: one Jinja statement per paragraph ({%p ...%} removes its paragraph), so every visible
# paragraph is a placeholder whose look comes from its style.
COVER_BODY: list[tuple[str, str | None]] = [
    ("{{ kind }}", "Title"),
    ("{{p cover }}", None),
    ("目  录", "TOC Heading"),
    (f"{{{{ {TOC_MARKER} }}}}", None),  # replaced by the contents (docx.py) after rendering
]
# The body: one Jinja statement per paragraph ({%p ...%} removes its paragraph), so every visible
# paragraph is a placeholder whose look comes from its style.
BODY: list[tuple[str, str | None]] = [
    ("{%p for section in sections %}", None),
    ("{%p if section.level == 1 %}", None),
    ("{{ section.title }}", "Heading 1"),
    ("{%p elif section.level == 2 %}", None),
    ("{{ section.title }}", "Heading 2"),
    ("{%p else %}", None),
    ("{{ section.title }}", "Heading 3"),
    ("{%p endif %}", None),
    ("{%p for block in section.blocks %}", None),
    ('{%p if block.kind == "paragraph" %}', None),
    ("{{ block.text }}", "Normal"),
    ('{%p elif block.kind == "caption" %}', None),
    ("{{ block.text }}", TABLE_CAPTION),
    ('{%p elif block.kind == "list" %}', None),
    ("{%p for item in block.entries %}", None),
    ("{{ item }}", LIST),
    ("{%p endfor %}", None),
    ("{%p else %}", None),
    ("{{p block.table }}", None),
    ("{%p endif %}", None),
    ("{%p endfor %}", None),
    ("{%p for figure in section.figures %}", None),
    ("{{ figure.image }}", FIGURE),
    ("{{ figure.caption }}", CAPTION),
    ("{%p endfor %}", None),
    ("{%p endfor %}", None),
]


def _style_rpr(style: BaseStyle) -> BaseOxmlElement:
    return style.element.get_or_add_rPr()  # type: ignore[no-any-return]


def _doc_defaults(document: DocxDocument) -> None:
    styles_el = document.styles.element
    defaults = child(styles_el, "w:docDefaults")
    if styles_el.index(defaults) != 0:
        styles_el.remove(defaults)
        styles_el.insert(0, defaults)
    rpr_default = child(defaults, "w:rPrDefault")
    rpr = child(rpr_default, "w:rPr")
    set_cjk(rpr, BODY_FONT)
    size = child(rpr, "w:sz", after("w:sz"))
    size.set(qn("w:val"), "24")  # 小四 (12 pt)


def _no_theme_color(style: CharacterStyle) -> None:
    style.font.color.rgb = RGBColor(0, 0, 0)
    color = _style_rpr(style).find(qn("w:color"))
    if color is not None:
        for attr in ("w:themeColor", "w:themeShade", "w:themeTint"):
            color.attrib.pop(qn(attr), None)


def _paragraph_styles(document: DocxDocument) -> None:
    styles = document.styles
    normal = styles["Normal"]
    set_cjk(_style_rpr(normal), BODY_FONT)
    normal.font.size = Pt(12)
    fmt = normal.paragraph_format
    fmt.line_spacing = 1.5
    fmt.space_before = Pt(0)
    fmt.space_after = Pt(0)
    fmt.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    ind = child(normal.element.get_or_add_pPr(), "w:ind", ("w:contextualSpacing", "w:mirrorIndents", "w:jc"))
    ind.set(qn("w:firstLineChars"), "200")  # 首行缩进 2 字符
    ind.set(qn("w:firstLine"), "480")

    for name, size, align in (("Title", 22, WD_ALIGN_PARAGRAPH.CENTER), ("Subtitle", 14, WD_ALIGN_PARAGRAPH.CENTER)):
        style = styles[name]
        set_cjk(_style_rpr(style), HEADING_FONT if name == "Title" else BODY_FONT)
        style.font.size = Pt(size)
        style.font.bold = name == "Title"
        style.font.italic = False
        _no_theme_color(style)
        style.paragraph_format.alignment = align
        style.paragraph_format.first_line_indent = Pt(0)
        style.paragraph_format.space_after = Pt(18)
        pbdr = style.element.get_or_add_pPr().find(qn("w:pBdr"))
        if pbdr is not None:  # the default Title has a bottom rule
            pbdr.getparent().remove(pbdr)

    for level, size in ((1, 16), (2, 14), (3, 12)):
        style = styles[f"Heading {level}"]
        set_cjk(_style_rpr(style), HEADING_FONT)
        style.font.size = Pt(size)
        style.font.bold = level != 1
        _no_theme_color(style)
        style.paragraph_format.first_line_indent = Pt(0)
        style.paragraph_format.space_before = Pt(12)
        style.paragraph_format.space_after = Pt(6)
        style.paragraph_format.keep_with_next = True

    bullet = styles["List Bullet"]
    set_cjk(_style_rpr(bullet), BODY_FONT)
    bullet.paragraph_format.first_line_indent = None

    if TABLE_TEXT not in [s.name for s in styles]:
        cell = styles.add_style(TABLE_TEXT, WD_STYLE_TYPE.PARAGRAPH)
    else:
        cell = styles[TABLE_TEXT]
    cell.base_style = normal
    cell.quick_style = True
    set_cjk(_style_rpr(cell), BODY_FONT)
    cell.font.size = Pt(10.5)  # 五号
    cell.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    cell.paragraph_format.line_spacing = 1.0
    cell.paragraph_format.first_line_indent = Pt(0)
    ind = cell.element.get_or_add_pPr().find(qn("w:ind"))
    if ind is not None:
        ind.set(qn("w:firstLineChars"), "0")
        ind.set(qn("w:firstLine"), "0")

    for name in (FIGURE, CAPTION):  # Caption is Word's built-in 题注
        if name not in [s.name for s in styles]:
            style = styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
            if name == FIGURE:
                alias = OxmlElement("w:aliases")
                alias.set(qn("w:val"), "图片")
                style.element.name.addnext(alias)
        else:
            style = styles[name]
        style.base_style = normal
        style.quick_style = True
        set_cjk(_style_rpr(style), HEADING_FONT if name == CAPTION else BODY_FONT)
        style.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
        style.paragraph_format.first_line_indent = Pt(0)
        style.paragraph_format.line_spacing = 1.0
        ind = style.element.get_or_add_pPr().find(qn("w:ind"))
        if ind is not None:
            ind.set(qn("w:firstLineChars"), "0")
            ind.set(qn("w:firstLine"), "0")
        if name == FIGURE:
            style.paragraph_format.space_before = Pt(6)
            style.paragraph_format.keep_with_next = True  # the chart stays with its caption
        else:
            style.font.size = Pt(10.5)  # 五号
            style.font.bold = False
            style.font.italic = False
            _no_theme_color(style)
            style.paragraph_format.space_after = Pt(6)


def _paragraph_style(document: DocxDocument, name: str, alias: str | None = None) -> ParagraphStyle:
    styles = document.styles
    if name in [s.name for s in styles]:
        return styles[name]  # type: ignore[no-any-return]
    style = styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
    if alias:
        element = OxmlElement("w:aliases")
        element.set(qn("w:val"), alias)
        style.element.name.addnext(element)
    return style  # type: ignore[no-any-return]


def _no_indent(style: ParagraphStyle) -> None:
    style.paragraph_format.first_line_indent = Pt(0)
    ind = style.element.get_or_add_pPr().find(qn("w:ind"))
    if ind is not None:
        ind.set(qn("w:firstLineChars"), "0")
        ind.set(qn("w:firstLine"), "0")


def _report_styles(document: DocxDocument) -> None:
    """The styles of the cover, the contents, list items and table titles."""
    normal = document.styles["Normal"]

    listing = _paragraph_style(document, LIST, "报告列表")
    listing.base_style = normal
    listing.quick_style = True
    set_cjk(_style_rpr(listing), BODY_FONT)
    ind = child(listing.element.get_or_add_pPr(), "w:ind", ("w:contextualSpacing", "w:mirrorIndents", "w:jc"))
    for attr in list(ind.attrib):
        del ind.attrib[attr]
    ind.set(qn("w:left"), "480")  # the text hangs 2 characters in, under its own first character
    ind.set(qn("w:leftChars"), "200")
    ind.set(qn("w:hanging"), "480")
    ind.set(qn("w:hangingChars"), "200")

    caption = _paragraph_style(document, TABLE_CAPTION, "表题")
    caption.base_style = normal
    caption.quick_style = True
    set_cjk(_style_rpr(caption), HEADING_FONT)
    caption.font.size = Pt(10.5)
    caption.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    caption.paragraph_format.space_before = Pt(6)
    caption.paragraph_format.keep_with_next = True
    _no_indent(caption)

    cover = _paragraph_style(document, COVER_TEXT, "封面文字")
    cover.base_style = normal
    set_cjk(_style_rpr(cover), BODY_FONT)
    cover.font.size = Pt(15)  # 小三
    cover.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.LEFT
    cover.paragraph_format.line_spacing = 1.25
    cover.paragraph_format.space_after = Pt(6)
    _no_indent(cover)

    title = document.styles["Title"]
    title.font.size = Pt(26)  # 一号
    title.paragraph_format.space_before = Pt(120)
    title.paragraph_format.space_after = Pt(60)

    toc_heading = document.styles["TOC Heading"]
    toc_heading.base_style = normal
    set_cjk(_style_rpr(toc_heading), HEADING_FONT)
    toc_heading.font.size = Pt(16)
    toc_heading.font.bold = False
    _no_theme_color(toc_heading)
    toc_heading.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.CENTER
    toc_heading.paragraph_format.page_break_before = True
    toc_heading.paragraph_format.space_after = Pt(12)
    _no_indent(toc_heading)
    toc_heading.element.get_or_add_pPr()
    outline = toc_heading.element.pPr.find(qn("w:outlineLvl"))
    if outline is not None:  # 目录 itself is not listed in the contents
        outline.getparent().remove(outline)

    text_width = Mm(210 - 28 - 26)
    for level in (1, 2):
        style = _paragraph_style(document, f"toc {level}")
        style.base_style = normal
        set_cjk(_style_rpr(style), BODY_FONT)
        style.font.size = Pt(12)
        style.paragraph_format.line_spacing = 1.5
        style.paragraph_format.alignment = WD_ALIGN_PARAGRAPH.LEFT
        _no_indent(style)
        style.paragraph_format.left_indent = Pt(0 if level == 1 else 24)
        ppr = style.element.get_or_add_pPr()
        tabs = child(ppr, "w:tabs", ("w:spacing", "w:ind", "w:jc"))
        tab = OxmlElement("w:tab")
        tab.set(qn("w:val"), "right")
        tab.set(qn("w:leader"), "dot")
        tab.set(qn("w:pos"), str(int(text_width.twips) - 10))
        tabs.append(tab)


def _page_setup(document: DocxDocument) -> None:
    """A4, GB/T 9704 margins; the cover and contents unnumbered, the body numbered 第 n 页 from 1."""
    for section in document.sections:
        section.page_width, section.page_height = PAGE_WIDTH, PAGE_HEIGHT
        section.top_margin, section.bottom_margin = MARGINS["top"], MARGINS["bottom"]
        section.left_margin, section.right_margin = MARGINS["left"], MARGINS["right"]
        section.header_distance, section.footer_distance = Mm(15), Mm(25)
    body = document.sections[-1]
    footer = body.footer
    footer.is_linked_to_previous = False
    paragraph = footer.paragraphs[0]
    paragraph.style = document.styles["Footer"]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    set_cjk(_style_rpr(document.styles["Footer"]), BODY_FONT)
    document.styles["Footer"].font.size = Pt(10.5)
    paragraph.add_run("第 ")
    _field(paragraph, "PAGE", "1")
    paragraph.add_run(" 页")
    numbering = OxmlElement("w:pgNumType")
    numbering.set(qn("w:start"), "1")
    sectpr = body._sectPr
    anchor = next((sectpr.find(qn(t)) for t in ("w:pgMar", "w:pgSz") if sectpr.find(qn(t)) is not None), None)
    if anchor is not None:
        anchor.addnext(numbering)
    else:
        sectpr.append(numbering)
    cover = document.sections[0]
    cover.footer.is_linked_to_previous = True  # no footer of its own: the cover is unnumbered


def _field(paragraph: Any, instruction: str, shown: str) -> None:
    """A complex field (``PAGE`` …) in ``paragraph``, showing ``shown`` until it is updated."""
    for kind, text in (("begin", None), (None, f" {instruction} "), ("separate", None), (None, shown), ("end", None)):
        run = paragraph.add_run()
        if kind is not None:
            char = OxmlElement("w:fldChar")
            char.set(qn("w:fldCharType"), kind)
            run._r.append(char)
        elif text is not None and text.startswith(" "):
            instr = OxmlElement("w:instrText")
            instr.set(qn("xml:space"), "preserve")
            instr.text = text
            run._r.append(instr)
        else:
            run.text = text


def _table_style(document: DocxDocument) -> None:
    styles = document.styles
    style = styles.add_style(TABLE_STYLE, WD_STYLE_TYPE.TABLE)
    style.quick_style = True
    el = style.element
    el.set(qn("w:customStyle"), "1")
    alias = OxmlElement("w:aliases")
    alias.set(qn("w:val"), "报告表格")
    el.name.addnext(alias)

    ppr = el.get_or_add_pPr()
    spacing = OxmlElement("w:spacing")
    spacing.set(qn("w:line"), "240")
    spacing.set(qn("w:lineRule"), "auto")
    ppr.append(spacing)
    ind = OxmlElement("w:ind")
    ind.set(qn("w:firstLineChars"), "0")
    ind.set(qn("w:firstLine"), "0")
    ppr.append(ind)
    jc = OxmlElement("w:jc")
    jc.set(qn("w:val"), "center")
    ppr.append(jc)
    rpr = el.get_or_add_rPr()
    set_cjk(rpr, BODY_FONT)
    size = OxmlElement("w:sz")
    size.set(qn("w:val"), "21")
    rpr.find(qn("w:lang")).addprevious(size)

    tblpr = OxmlElement("w:tblPr")
    jc_tbl = OxmlElement("w:jc")
    jc_tbl.set(qn("w:val"), "center")
    tblpr.append(jc_tbl)
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        border = OxmlElement(f"w:{edge}")
        border.set(qn("w:val"), "single")
        border.set(qn("w:sz"), "4")
        border.set(qn("w:space"), "0")
        border.set(qn("w:color"), "000000")
        borders.append(border)
    tblpr.append(borders)
    margins = OxmlElement("w:tblCellMar")
    for edge in ("left", "right"):
        mar = OxmlElement(f"w:{edge}")
        mar.set(qn("w:w"), "85")
        mar.set(qn("w:type"), "dxa")
        margins.append(mar)
    tblpr.append(margins)
    el.append(tblpr)
    tcpr = OxmlElement("w:tcPr")
    valign = OxmlElement("w:vAlign")
    valign.set(qn("w:val"), "center")
    tcpr.append(valign)
    el.append(tcpr)

    # Header row: bold 黑体 on light grey; total row (合计): bold.
    for kind, shaded in (("firstRow", True), ("lastRow", False)):
        cond = OxmlElement("w:tblStylePr")
        cond.set(qn("w:type"), kind)
        crpr = OxmlElement("w:rPr")
        set_cjk(crpr, HEADING_FONT if kind == "firstRow" else BODY_FONT)
        bold = OxmlElement("w:b")
        crpr.find(qn("w:lang")).addprevious(bold)
        cond.append(crpr)
        ctcpr = OxmlElement("w:tcPr")
        if shaded:
            shd = OxmlElement("w:shd")
            shd.set(qn("w:val"), "clear")
            shd.set(qn("w:color"), "auto")
            shd.set(qn("w:fill"), "D9D9D9")
            ctcpr.append(shd)
        cond.append(ctcpr)
        el.append(cond)


def _update_fields_on_open(document: DocxDocument) -> None:
    """Word refreshes the contents' page numbers when the report is opened (LibreOffice computes them)."""
    settings = document.settings.element
    update = child(settings, "w:updateFields")
    update.set(qn("w:val"), "true")


def _fix_metadata(document: DocxDocument) -> None:
    props = document.core_properties
    props.title = "绩效评价报告模板"
    props.author = "opseval"
    props.last_modified_by = "opseval"
    props.created = FIXED_TIME
    props.modified = FIXED_TIME
    props.revision = 1


def fixed_zip(data: bytes, date_time: tuple[int, int, int, int, int, int] = ZIP_TIME) -> bytes:
    """Rewrite a DOCX (a zip) with a fixed timestamp on every entry, so equal content gives equal bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            entry = zipfile.ZipInfo(info.filename, date_time=date_time)
            entry.compress_type = zipfile.ZIP_DEFLATED
            entry.external_attr = 0o644 << 16
            dst.writestr(entry, src.read(info.filename))
    return out.getvalue()


def build_template() -> bytes:
    document = Document()
    _doc_defaults(document)
    _paragraph_styles(document)
    _table_style(document)
    body = document.element.body
    for p in list(body.iterchildren(qn("w:p"))):
        body.remove(p)
    _report_styles(document)
    for text, style in COVER_BODY:
        document.add_paragraph(text, style=style)
    document.add_section(WD_SECTION.NEW_PAGE)
    for text, style in BODY:
        document.add_paragraph(text, style=style)
    _page_setup(document)
    _update_fields_on_open(document)
    _fix_metadata(document)
    raw = io.BytesIO()
    document.save(raw)
    return fixed_zip(raw.getvalue())


def main(argv: list[str]) -> int:
    target = Path(argv[1]) if len(argv) > 1 else TEMPLATE
    target.write_bytes(build_template())
    print(f"wrote {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
