"""Issue 16, items 6 and 7: `ptdl show --svg` rendered by a real SVG
renderer (rsvg-convert) and checked pixel by pixel; `ptdl doc` pages built
by docutils with warnings as errors; `ptdl diff`; the .arch Pygments lexer
(registered entry point) over every archdef and fixture with no Error
tokens; colour only when asked for or on a terminal.

Every arch's diagram and page come from one shared load: the SVGs as one
`ptdl doc --all` run wrote them (each equal to render_svg's text), the
pages from dsl.doccmd.page on the shared project; `ptdl show --svg` and
`ptdl doc ARCH` are shown to write exactly those for a 64-bit, a split-PFN
and a 32-bit arch."""

from __future__ import annotations

import io
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from dsl.doccmd import page
from dsl.palette import fill
from dsl.project import load
from dsl.svg import render_svg, size
from frontend_util import FIXTURES, ROOT, run_ptdl, shipped_parse_memo
from pngread import png_colours

with shipped_parse_memo():
    PROJECT = load(ROOT)
ARCHS = sorted(PROJECT.archs)


def _rsvg() -> str:
    exe = shutil.which("rsvg-convert")
    if exe is None:
        if os.environ.get("CI") == "true":
            pytest.fail("rsvg-convert (Debian librsvg2-bin) is required under CI=true")
        pytest.skip("rsvg-convert not installed (Debian: apt-get install librsvg2-bin)")
    return exe


def _rgb(hexcol: str) -> tuple[int, int, int]:
    return (int(hexcol[1:3], 16), int(hexcol[3:5], 16), int(hexcol[5:7], 16))


@pytest.fixture(scope="module")
def doc_all(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`ptdl doc --all -o DIR` once: every arch's page and SVG diagram."""
    cwd = tmp_path_factory.mktemp("doc_all")
    r = run_ptdl("doc", "--all", "-o", str(cwd / "out"), cwd=cwd)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "".join(f"ptdl doc: wrote {cwd / 'out' / (n + '.rst')}, "
                               f"{cwd / 'out' / (n + '-pte.svg')}\n" for n in ARCHS)
    return cwd / "out"


@pytest.mark.parametrize("arch", ARCHS)
def test_svg_renders_with_role_colours(arch: str, doc_all: Path, tmp_path: Path) -> None:
    """Every arch's diagram as the CLI wrote it (`ptdl doc --all`, which
    writes render_svg's text, as `ptdl show --svg` does:
    test_show_svg_writes_the_diagram), rendered by rsvg-convert."""
    exe = _rsvg()
    svg = doc_all / f"{arch}-pte.svg"
    assert svg.read_text(encoding="utf-8") == render_svg(PROJECT.archs[arch])
    png = tmp_path / f"{arch}.png"
    subprocess.run([exe, "-f", "png", "-o", str(png), str(svg)], check=True, timeout=60)
    w, h, colours = png_colours(png.read_bytes())
    assert (w, h) == size(PROJECT.archs[arch])
    a = PROJECT.archs[arch]
    for f in a.fields:
        assert _rgb(fill(f.role)) in colours, f"{arch}: no pixel of {f.name}'s colour {fill(f.role)}"
    # something other than the background was drawn over most of the rows
    assert len(colours) > 10


@pytest.mark.parametrize("arch", ["x86", "arm64_64k", "sparc32"])
def test_show_svg_writes_the_diagram(arch: str, doc_all: Path, tmp_path: Path) -> None:
    """`ptdl show ARCH --svg FILE` writes the same diagram as `ptdl doc --all`
    (64-bit with an inverted field; a split PFN; a 32-bit word)."""
    svg = tmp_path / f"{arch}.svg"
    r = run_ptdl("show", arch, "--svg", str(svg), cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"ptdl show: wrote {svg}\n"
    assert svg.read_bytes() == (doc_all / f"{arch}-pte.svg").read_bytes()


def test_svg_marks_inversion_and_links_split_pfn() -> None:
    a = PROJECT.archs["arm64_64k"]      # addr 16..47 + addr_hi 12..15 @ 32; uxn inverted
    text = render_svg(a)
    assert text.count('class="pfn-link"') == 1
    # addr crosses the row boundary at bit 32: two boxes, then addr_hi
    assert re.findall(r"PFN bits [0-9.]+", text) == ["PFN bits 0..15", "PFN bits 16..31",
                                                     "PFN bits 32..35"]
    assert 'fill="url(#inverted)"' in text and "¬uxn" in text
    assert render_svg(PROJECT.archs["x86"]).count('class="pfn-link"') == 0
    assert text == render_svg(a)          # deterministic


def test_svg_file_is_parseable_xml() -> None:
    import xml.etree.ElementTree as ET
    for arch in ARCHS:
        root = ET.fromstring(render_svg(PROJECT.archs[arch]).encode())
        assert root.tag.endswith("svg")


# -- ptdl doc ------------------------------------------------------------------
def _build_rst(text: str, base: Path) -> str:
    from docutils.core import publish_string
    warnings = io.StringIO()
    html = publish_string(text, source_path=str(base / "page.rst"), writer="html5",
                          settings_overrides={"halt_level": 2, "report_level": 1,
                                              "warning_stream": warnings,
                                              "syntax_highlight": "short"})
    assert warnings.getvalue() == "", warnings.getvalue()
    return html.decode("utf-8") if isinstance(html, bytes) else str(html)


def _doc_page(arch: str) -> str:
    """What `ptdl doc ARCH` prints (test_doc_prints_the_page), from the
    shared project."""
    rel = PROJECT.decl_files.get(arch)
    text = (ROOT / rel).read_text(encoding="utf-8") if rel else ""
    return page(PROJECT.archs[arch], text, None, PROJECT.decl_files.get(arch, "archdefs"))


@pytest.mark.parametrize("arch", ["x86", "arm64_64k", "sparc32"])
def test_doc_prints_the_page(arch: str, tmp_path: Path) -> None:
    """`ptdl doc ARCH` prints the page, and that page (no figure) builds."""
    r = run_ptdl("doc", arch, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout == _doc_page(arch)
    _check_html(arch, _build_rst(r.stdout, tmp_path))


def _figure(arch: str) -> str:
    """The lines `ptdl doc -o DIR` adds to the printed page (dsl/doccmd.py)."""
    return (f".. figure:: {arch}-pte.svg\n   :alt: {arch} PTE bit diagram\n\n"
            f"   The {arch} PTE, coloured by role; hatched fields are inverted.\n\n")


def _check_html(arch: str, html: str) -> None:
    a = PROJECT.archs[arch]
    for f in a.fields:
        assert f">{f.name}<" in html
    for part in ("PTE layout", "Caches and TLB", "PG_arch_1", "The four calls", "Sources",
                 "set_ptes", "flush_dcache_folio"):
        assert part in html
    # the archdef listing went through the ptdl lexer (pygments classes)
    assert 'class="code ptdl literal-block"' in html and '<span class="k">arch</span>' in html
    for c in a.cites:
        assert c.text.split(" ")[0].replace("<", "&lt;") in html


@pytest.mark.parametrize("arch", ARCHS)
def test_doc_page_builds_without_warnings(arch: str, doc_all: Path) -> None:
    """Every arch's page as `ptdl doc --all -o DIR` wrote it: the printed
    page (`ptdl doc ARCH`, _doc_page) plus exactly the figure of its
    diagram, which exists; docutils builds it without a warning (one build
    per arch: the printed page of three archs is built by
    test_doc_prints_the_page)."""
    rst = (doc_all / f"{arch}.rst").read_text(encoding="utf-8")
    assert rst.count(_figure(arch)) == 1
    assert rst.replace(_figure(arch), "") == _doc_page(arch)
    assert (doc_all / f"{arch}-pte.svg").exists()
    html = _build_rst(rst, doc_all)
    _check_html(arch, html)
    assert f"{arch}-pte.svg" in html


def test_doc_all_writes_one_page_per_arch(doc_all: Path) -> None:
    assert sorted(p.name for p in doc_all.iterdir()) == \
        sorted([f"{a}.rst" for a in ARCHS] + [f"{a}-pte.svg" for a in ARCHS])


def test_doc_usage() -> None:
    r = run_ptdl("doc", cwd=ROOT)
    assert r.returncode == 2 and "give one ARCH or --all" in r.stderr
    r = run_ptdl("doc", "--all", cwd=ROOT)
    assert r.returncode == 2 and "give -o DIR" in r.stderr


def test_doc_fails_on_a_broken_page() -> None:
    """The docutils check can fail: a malformed table is a warning -> error."""
    from docutils.utils import SystemMessage
    with pytest.raises(SystemMessage):
        _build_rst(".. list-table::\n\n   * - a\n     - b\n   * - c\n", Path("."))


# -- ptdl diff -------------------------------------------------------------------
def test_diff_variant() -> None:
    r = run_ptdl("diff", "arm64", "arm64_64k", cwd=ROOT)
    assert r.returncode == 0, r.stderr
    assert r.stdout == (
        "                 arm64            | arm64_64k\n"
        "[settings]\n"
        "max_folio_order  9                | 13\n"
        "page_shift       12               | 16\n"
        "pfn_pte_shift    12               | 16\n"
        "phys_bits        48               | 52\n"
        "ptrs_per_pte     512              | 8192\n"
        "[fields]\n"
        "addr             12..47 : pfn @ 0 | 16..47 : pfn @ 0\n"
        "addr_hi          -                | 12..15 : pfn @ 32\n")   # calls inherited: same


def test_diff_calls_and_same() -> None:
    r = run_ptdl("diff", "x86", "arm64", cwd=ROOT)
    assert r.returncode == 0
    out = r.stdout
    assert "[set_ptes]" in out and "[fields]" in out and "[mutators]" in out
    assert "\ntlb " not in out   # both hardware
    assert "> store the nr entries with set_pte(), advancing by pte += PAGE_SIZE" in out
    assert "nx  " in out and "63 : exec inverted" in out
    same = run_ptdl("diff", "x86", "x86", cwd=ROOT)
    assert same.stdout == "(no differences: x86 and x86 describe the same behaviour)\n"
    bad = run_ptdl("diff", "x86", "arm46", cwd=ROOT)
    assert bad.returncode == 2 and "did you mean 'arm64'" in bad.stderr


# -- the lexer -----------------------------------------------------------------------
ARCH_FILES = sorted((ROOT / "archdefs").glob("*.arch")) + sorted(FIXTURES.glob("*.arch")) + \
    sorted((ROOT / "tests" / "fixtures").glob("*/*.arch"))


@pytest.mark.parametrize("path", sorted(set(ARCH_FILES)), ids=lambda p: str(p.relative_to(ROOT)))
def test_lexer_has_no_error_tokens(path: Path) -> None:
    from pygments.lexers import get_lexer_by_name, get_lexer_for_filename
    from pygments.token import Error
    lexer = get_lexer_by_name("ptdl")          # through the entry point
    assert type(lexer).__name__ == "ArchLexer"
    assert type(get_lexer_for_filename(path.name)).__name__ == "ArchLexer"
    text = path.read_text(encoding="utf-8", errors="replace")
    if "syntax_error" in path.name or "\0" in text:
        pytest.skip("deliberately not an archdef")
    bad = [(t, v) for t, v in lexer.get_tokens(text) if t in Error]
    assert bad == []


def test_lexer_reports_junk() -> None:
    from pygments.token import Error
    from dsl.lexer import ArchLexer
    toks = list(ArchLexer().get_tokens("arch x { word 64 $ }"))
    assert (Error, "$") in toks


# -- colour -----------------------------------------------------------------------------
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def test_show_colour_only_when_asked() -> None:
    plain = run_ptdl("show", "x86", cwd=ROOT)            # a pipe: no colour
    assert plain.returncode == 0 and not ANSI.search(plain.stdout)
    forced = run_ptdl("--color", "always", "show", "x86", cwd=ROOT)
    assert ANSI.search(forced.stdout)
    assert ANSI.sub("", forced.stdout) == plain.stdout
    after = run_ptdl("show", "x86", "--color=always", cwd=ROOT)
    assert after.stdout == forced.stdout


def test_no_color_env_and_tty() -> None:
    from dsl.command import use_color

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    env = dict(os.environ)
    try:
        os.environ.pop("NO_COLOR", None)
        os.environ["TERM"] = "xterm"
        assert use_color("auto", Tty()) is True
        assert use_color("auto", io.StringIO()) is False
        os.environ["NO_COLOR"] = "1"
        assert use_color("auto", Tty()) is False
        assert use_color("always", io.StringIO()) is True
        assert use_color("never", Tty()) is False
    finally:
        os.environ.clear()
        os.environ.update(env)
