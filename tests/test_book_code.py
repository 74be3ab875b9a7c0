"""The code the book shows fits its column, and library functions are listed without their docstrings.

At 1280 px the book's column holds 77 characters of code (14 px ui-monospace in 652 px, measured in
Chromium; ``bpkit.plot.CODE_LINE_LIMIT``). No line of a chapter's code cells may be longer, and every
bpkit function a chapter lists with ``show_source`` is at most ``MAX_LISTED_LINES`` lines of that width.
No browser is needed: tests/browser/test_layout.py measures the built pages.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from bpkit import ops
from bpkit.plot import CODE_LINE_LIMIT, show_source, source_lines

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("*.md"))
MAX_LISTED_LINES = 30
CELL = re.compile(r"^```\{code-cell\}[^\n]*\n(.*?)^```$", re.S | re.M)


def code_cells(path):
    """``(first line number, options, source)`` of every code cell of a MyST chapter."""
    text = path.read_text(encoding="utf-8")
    for m in CELL.finditer(text):
        body, options = m.group(1), ""
        start = text.count("\n", 0, m.start(1)) + 1
        if body.startswith("---\n"):                          # a YAML header
            end = body.index("\n---\n", 4) + 5
            options, body, start = body[:end], body[end:], start + body[:end].count("\n")
        else:                                                  # :option: lines
            head = re.match(r"(?:^:[\w-]+:.*\n)*\n?", body, re.M).group(0)
            options, body, start = head, body[len(head):], start + head.count("\n")
        yield start, options, body


def test_the_cell_parser_finds_every_cell_and_skips_its_options():
    cells = list(code_cells(ROOT / "chapters" / "01_forward_pass.md"))
    assert len(cells) > 20
    assert all(not body.startswith(("---", ":tags:")) for _, _, body in cells)
    assert any("remove-input" in options for _, options, _ in cells)


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_no_code_line_is_wider_than_the_column(path):
    """Lines of a cell whose input the page removes do not count; folded cells do (they unfold)."""
    too_long = []
    for start, options, body in code_cells(path):
        if re.search(r"remove-(input|cell)", options):
            continue
        too_long += [f"{path.name}:{start + i}: {len(line)} characters: {line.strip()[:50]}"
                     for i, line in enumerate(body.splitlines()) if len(line) > CODE_LINE_LIMIT]
    assert not too_long, (f"{len(too_long)} code lines longer than {CODE_LINE_LIMIT} characters (the "
                          "column scrolls sideways):\n" + "\n".join(too_long))


def _listed():
    """``(chapter, call, lines)`` for every ``show_source(...)`` call of the chapters, run with the
    chapter's imports; ``lines`` is the text the page shows."""
    found = []
    for path in CHAPTERS:
        cells = list(code_cells(path))
        imports = "\n".join(ast.unparse(node) for node in ast.parse(cells[0][2]).body
                             if isinstance(node, (ast.Import, ast.ImportFrom))
                             and getattr(node, "module", None) != "bpkit.plot")
        for _, _, body in cells:
            if "show_source(" not in body:
                continue
            namespace = {}
            exec(compile(imports, "imports", "exec"), namespace)               # noqa: S102 - our chapters
            shown = []
            namespace["show_source"] = lambda *objs, **kw: shown.append(show_source(*objs, **kw).data)
            exec(compile(body, path.name, "exec"), namespace)                 # noqa: S102
            call = next(n for n in ast.walk(ast.parse(body))
                        if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "show_source")
            found += [(path.name, ast.unparse(call), text.splitlines()[1:-1]) for text in shown]
    return found


LISTED = _listed()


def test_every_chapter_lists_library_code_with_show_source():
    assert len(LISTED) >= 45
    for path in CHAPTERS:
        text = path.read_text(encoding="utf-8")
        assert "{literalinclude}" not in text, f"{path.name}: list bpkit code with show_source, not literalinclude"
        assert "inspect.getsource" not in text, f"{path.name}: list code with show_source (no docstring)"


@pytest.mark.parametrize("chapter, call, lines", LISTED, ids=[f"{c[:2]}-{call}" for c, call, _ in LISTED])
def test_a_listed_function_is_short_and_fits_the_column(chapter, call, lines):
    assert len(lines) <= MAX_LISTED_LINES, f"{chapter}: {call} shows {len(lines)} lines"
    wide = [line for line in lines if len(line) > CODE_LINE_LIMIT]
    assert not wide, f"{chapter}: {call} has lines wider than {CODE_LINE_LIMIT} characters: {wide}"
    assert not any('"""' in line or "'''" in line for line in lines), f"{chapter}: {call} shows a docstring"


def test_source_lines_drops_the_docstring_and_the_argument_checks():
    lines = source_lines(ops.linear_forward)
    assert lines[0] == "def linear_forward(x, W, b):"
    assert not any("_linear_args" in line or '"""' in line for line in lines)
    assert lines[-1].strip().startswith("return")
    full = source_lines(ops.linear_forward, docstring=True, checks=True)
    assert any("_linear_args" in line for line in full) and any('"""' in line for line in full)
    assert len(full) > len(lines) + 5


def test_source_lines_drops_an_if_that_only_raises_and_keeps_other_ifs():
    def f(x, y):
        """Doc."""
        if x < 0:
            raise ValueError("f: x must be >= 0")
        if y:
            x = x + 1
        return x
    lines = source_lines(f)
    assert not any("raise" in line or "Doc" in line for line in lines)
    assert "if y:" in "\n".join(lines) and len(lines) == 4


def test_a_trailing_comment_that_overflows_moves_above_its_line():
    def g(a):
        return a + 1                                                                  # a long comment here
    lines = source_lines(g, width=40)
    assert lines == ["def g(a):", "    # a long comment here", "    return a + 1"]
    assert source_lines(g, width=200)[1].startswith("    return a + 1   ")


def test_show_source_is_one_python_code_block():
    md = show_source(ops.linear_backward, ops.linear_forward).data
    assert md.startswith("```python\ndef linear_backward(") and md.endswith("\n```")
    assert "\n\ndef linear_forward(" in md
    with pytest.raises(TypeError, match="source_lines: expected a function"):
        source_lines("linear_forward")
    with pytest.raises(TypeError, match="show_source: pass at least one function"):
        show_source()
