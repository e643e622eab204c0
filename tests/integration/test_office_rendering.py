"""The office documents as a finance bureau sees them: report.docx, scores.xlsx and the 自评表 (docx, xlsx)
rendered by LibreOffice headless to PDF and read back with poppler — A4, page numbers, contents, no
machine ids in the text, every 三级指标 name on one line, the total as computed, only embedded CJK fonts.

LibreOffice resolves the documents' 宋体/黑体 through fontconfig; the aliases the container image installs
(``opseval_reporting/fontconfig/65-opseval-cjk.conf``) are given to it here through FONTCONFIG_FILE, so the
test sees what the image renders. Debian: ``libreoffice-writer-nogui libreoffice-calc-nogui poppler-utils
fonts-noto-cjk`` (``scripts/install-system-deps --with-test-tools``).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path

import opseval_reporting
import pytest
from opseval_reporting.docx import report_docx
from opseval_reporting.selfeval_docx import selfeval_docx
from opseval_reporting.xlsx import scores_xlsx, selfeval_xlsx
from opseval_shared.metrics import fmt
from opseval_shared.project import ProjectDefinition
from opseval_shared.results import EvaluationResult

from opseval.embedded import evaluate_bundle

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
FONT_ALIASES = Path(opseval_reporting.__file__).parent / "fontconfig" / "65-opseval-cjk.conf"
SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        SOFFICE is None or shutil.which("pdftotext") is None or shutil.which("pdffonts") is None,
        reason="needs LibreOffice (soffice) and poppler-utils: scripts/install-system-deps --with-test-tools",
    ),
]


@cache
def evaluated(name: str) -> tuple[EvaluationResult, ProjectDefinition]:
    return evaluate_bundle(EXAMPLES / name)


def _convert(sources: list[Path], out: Path, work: Path) -> None:
    """LibreOffice headless → PDF, with its own profile (no clash with a running LibreOffice) and the
    image's font aliases."""
    fonts = work / "fonts.conf"
    fonts.write_text(
        '<?xml version="1.0"?>\n<!DOCTYPE fontconfig SYSTEM "urn:fontconfig:fonts.dtd">\n<fontconfig>\n'
        f"  <include>/etc/fonts/fonts.conf</include>\n  <include>{FONT_ALIASES}</include>\n</fontconfig>\n"
    )
    assert SOFFICE is not None
    subprocess.run(
        [
            SOFFICE,
            f"-env:UserInstallation=file://{work / 'profile'}",
            "--headless",
            "--convert-to",
            "pdf",
            "--outdir",
            str(out),
            *map(str, sources),
        ],
        check=True,
        capture_output=True,
        timeout=300,
        env={"PATH": "/usr/bin:/bin", "HOME": str(work), "FONTCONFIG_FILE": str(fonts)},
    )


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The four documents of Dongguan (report, scores) and Guangzhou 2021 (the 自评表) as PDFs."""
    work = tmp_path_factory.mktemp("office")
    src, out = work / "src", work / "pdf"
    src.mkdir()
    dongguan, guangzhou = evaluated("dongguan-2022"), evaluated("guangzhou-2021")
    documents = {
        "report.docx": report_docx(*dongguan),
        "scores.xlsx": scores_xlsx(*dongguan),
        "selfeval.docx": selfeval_docx(*guangzhou),
        "selfeval-sheet.xlsx": selfeval_xlsx(*guangzhou),
    }
    for name, data in documents.items():
        assert data is not None, name
        (src / name).write_bytes(data)
    _convert(sorted(src.iterdir()), out, work)
    return {name: out / (Path(name).stem + ".pdf") for name in documents}


def _pages(pdf: Path) -> list[str]:
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return text.split("\f")[:-1]


def _plain(pdf: Path) -> str:
    """The text in reading order, without whitespace (cells that wrap read as one string)."""
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return re.sub(r"\s", "", text)


def _info(pdf: Path) -> str:
    return subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True).stdout


def _event_ids(bundle: str) -> set[str]:
    ids = set()
    for path in (EXAMPLES / bundle / "evidence").glob("*.jsonl"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                ids.add(json.loads(line)["id"])
    return ids


def test_every_page_is_a4(rendered: dict[str, Path]) -> None:
    for name, pdf in rendered.items():
        size = re.search(r"^Page size:\s+([\d.]+) x ([\d.]+) pts", _info(pdf), re.M)
        assert size, name
        width, height = sorted(float(v) for v in size.groups())
        assert (round(width), round(height)) == (595, 842), (name, size.group(0))


def test_report_has_a_cover_contents_and_numbered_pages(rendered: dict[str, Path]) -> None:
    _, definition = evaluated("dongguan-2022")
    pages = _pages(rendered["report.docx"])
    cover = pages[0]
    assert "绩效评价报告" in cover
    flat_cover = re.sub(r"\s", "", cover)
    for line in ("委托方：东莞市财政局", "评价机构：广州零点有数数据科技有限公司", "报告日期：2023年5月31日"):
        assert line in flat_cover, line
    assert "项目名称：" + definition.project.name[:10] in flat_cover

    # the contents: each 一级/二级 heading with the page (as numbered in the footer) it starts on
    contents = pages[1]
    assert re.sub(r"\s", "", contents).startswith("目录")
    entries = re.findall(r"^\s*(\S.*?)\s*\.{3,}\s*(\d+)\s*$", contents, re.M)
    titles = [title for title, _ in entries]
    for heading in (
        "摘要",
        "三、综合评价情况及评价结论",
        "五、主要经验及做法、存在的问题及原因分析",
        "附件：佐证材料清单",
    ):
        assert heading in titles, titles

    # page numbers: none on the cover and contents, then 第 1 页, 第 2 页 … on every page
    numbered = [i for i, page in enumerate(pages) if re.search(r"第\s*1\s*页", page)]
    assert numbered and numbered[0] == 2, "the body starts on page 3, numbered 1"
    for n, page in enumerate(pages[2:], start=1):
        assert re.search(rf"第\s*{n}\s*页\s*$", page.rstrip()), (n, page[-200:])
    assert not re.search(r"第\s*\d+\s*页", cover + contents)
    for title, number in entries:
        body_page = pages[1 + int(number)]
        assert re.sub(r"\s", "", title) in re.sub(r"\s", "", body_page), (title, number)


def test_no_event_finding_or_contract_ids_in_the_text(rendered: dict[str, Path]) -> None:
    for name, pdf in rendered.items():
        bundle = "guangzhou-2021" if name.startswith("selfeval") else "dongguan-2022"
        _, definition = evaluated(bundle)
        text = "\n".join(_pages(pdf))
        flat = re.sub(r"\s", "", text)  # an id broken over two lines is still an id
        assert not re.search(r"F-[0-9a-f]{10}", flat), name
        leaked = [e for e in _event_ids(bundle) if e in flat]
        assert not leaked, (name, leaked[:5])
        for contract in definition.contracts.contracts:
            assert not re.search(rf"(?<![A-Za-z0-9_-]){re.escape(contract.id)}(?![A-Za-z0-9_-])", text), (
                name,
                contract.id,
            )
        assert "scores.json" not in text


def test_every_level3_name_on_one_line_and_the_total_as_computed(rendered: dict[str, Path]) -> None:
    result, definition = evaluated("dongguan-2022")
    leaves = [leaf.name for leaf in definition.indicators.leaves()]
    total = fmt(result.total, 3)
    assert total == "81.415"
    for name in ("report.docx", "scores.xlsx"):
        pages = _pages(rendered[name])
        table_pages = [p for p in pages if "三级指标" in p and "得分率" in p]
        assert table_pages, name
        cells = {
            cell.strip() for page in table_pages for line in page.splitlines() for cell in re.split(r"\s{2,}", line)
        }
        wrapped = [leaf for leaf in leaves if leaf not in cells]
        assert not wrapped, (name, wrapped)
        total_line = next(line for page in table_pages for line in page.splitlines() if line.strip().startswith("合计"))
        assert total in total_line.split(), (name, total_line)


def test_selfeval_form_is_complete(rendered: dict[str, Path]) -> None:
    result, _ = evaluated("guangzhou-2021")
    for name in ("selfeval.docx", "selfeval-sheet.xlsx"):
        text = _plain(rendered[name])
        for label in (
            "年度资金总额",
            "财政拨款",
            "上年结转",
            "其他资金",
            "三级指标",
            "偏差原因分析及改进措施",
            "改进措施",
        ):
            assert label in text, (name, label)
        for definition in ("故障限时内响应数÷保障数", "实际巡检次数÷巡检计划次数", "运维制度执行情况"):
            assert definition in text, (name, definition)  # the 三级指标 column is filled
        assert f"{result.total:.2f}" in text, name


def test_only_embedded_cjk_fonts(rendered: dict[str, Path]) -> None:
    for name, pdf in rendered.items():
        listing = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True, check=True).stdout
        rows = [line.split() for line in listing.splitlines()[2:] if line.strip()]
        assert rows, name
        for row in rows:
            font, embedded = row[0], row[-5]
            assert "CJK" in font, (name, font)
            assert embedded == "yes", (name, font)
