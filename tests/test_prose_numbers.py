"""Numbers in figure alt texts and captions come from the code, never from memory.

A number that a computation produced must not be typed into an alt text or a caption by hand: the
next change of a seed or a learning rate makes it false without anyone noticing. For every figure
of every chapter (``chapters/*.md``, so a new chapter is covered the day it is added), each number
in its alt text, caption and name must be accounted for in one of three ways:

1. **set in code**: it is a number written in the figure's own code cell or in the code cell
   just before it, which computes what the figure draws (a learning rate, a number of steps, an
   axis limit), so the picture is drawn with that very value;
2. **asserted**: it appears in an ``assert`` statement of the chapter (its condition or its
   message) that names the figure (``fig-...``), so the build fails when the sentence turns false;
3. **allowed**: it is in the short, reviewed :data:`ALLOWED` list below, with the reason.

Prose numbers are held by the same rule in the chapters themselves (each claim that code computed
is printed by the code or asserted in the cell after it); this test guards the places a reader
cannot check against printed output: pictures described in words.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import jupytext
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted((ROOT / "chapters").glob("*.md"))

#: Numbers that are definitions, not results, per figure name ("*" for every figure); reviewed.
ALLOWED: dict[str, dict[str, str]] = {
    "*": {
        "8": "the digits are 8 by 8 images (the data set's definition)",
        "10": "ten classes of digits (the data set's definition)",
        "0": "axis ends, label 0, 'from 0 to ...' of a probability or an index",
        "1": "axis ends, the value 1 of a probability, 'one' of a count",
        "2": "2-D, two panels: a layout, not a result",
        "9": "the digit labels 0 to 9",
    },
    "fig-xor-hand": {k: "the name of an XOR input (x1, x2)" for k in ("00", "01", "10", "11")},
    "fig-cnn-flip": {"180": "a half turn: flipping a kernel in both axes is a rotation by 180 degrees (a definition)"},
}

#: Figures whose numbers are known not to come from code yet, dated. Each entry must disappear
#: when the figure is fixed: the test is strict, so a fixed figure listed here fails as XPASS.
XFAIL: dict[str, str] = {}

_NUMBER = re.compile(r"(?<![\w.\\])-?\d+(?:,\d{3})*(?:\.\d+)?(?:[eE][-+]?\d+)?(%?)")
_ROLE = re.compile(r"\{(?:numref|ref|eq|doc|cite:[pt])\}`[^`]*`")
_MATH_CMD = re.compile(r"\\[a-zA-Z]+")
_CODE = re.compile(r"`[^`]*`")
_XREF = re.compile(r"\b(?:Exercises?|Chapters?|Sections?|[Ee]quations?)\s+\d+(?:\.\d+)?")
_SUBSCRIPT = re.compile(r"_(\{[^}]*\}|\w)")


def numbers(text: str) -> list[str]:
    """The numbers written in ``text``, as they are written (sign dropped, percent kept)."""
    text = _MATH_CMD.sub(" ", _CODE.sub(" ", _ROLE.sub(" ", text)))    # `network_121`: a name
    text = _XREF.sub(" ", text)                                       # Exercise 4.9: a reference
    text = _SUBSCRIPT.sub(" ", text)                                  # w_{11}, beta_2: names, not values
    return [m.group(0).lstrip("-") for m in _NUMBER.finditer(text)]


def _values(token: str) -> set[float]:
    """The values a written number may stand for: 30% is 30 or 0.3; 1,797 is 1797."""
    plain = token.rstrip("%").replace(",", "")
    try:
        value = float(plain)
    except ValueError:
        return set()
    out = {value}
    if token.endswith("%"):
        out.add(round(value / 100, 12))
    return out


def _literals(source: str) -> set[float]:
    """Every number written in ``source``: numeric constants and the numbers inside strings."""
    out: set[float] = set()
    for token in numbers(source):
        out |= _values(token)
    return out


def _asserts(code: str) -> list[str]:
    """The source text of every assert statement of a code cell (condition and message)."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return []
    return [ast.get_source_segment(code, node) or "" for node in ast.walk(tree) if isinstance(node, ast.Assert)]


def figures(text: str) -> list[dict]:
    """The figures of one MyST chapter: name, the words to check, its own code and the chapter's asserts."""
    nb = jupytext.reads(text, fmt="md:myst")
    asserts = [a for cell in nb.cells if cell.cell_type == "code" for a in _asserts(cell.source)]
    found, previous = [], ""
    for cell in nb.cells:
        if cell.cell_type == "code":
            meta = cell.metadata.get("mystnb", {})
            alt = meta.get("image", {}).get("alt", "")
            fig = meta.get("figure", {})
            if alt or fig:
                found.append({"name": fig.get("name", ""), "words": f"{alt}\n{fig.get('caption', '')}",
                              "code": f"{previous}\n{cell.source}", "asserts": asserts})
            previous = cell.source
        else:
            for m in re.finditer(r"```\{figure\}[^\n]*\n(.*?)```", cell.source, re.S):
                body = m.group(1)
                name = re.search(r":name:\s*(\S+)", body)
                found.append({"name": name.group(1) if name else "", "code": "", "asserts": asserts,
                              "words": re.sub(r":(name|width|align|class):[^\n]*", "", body)})
    return found


def unaccounted(figure: dict) -> list[str]:
    """The numbers of a figure's alt text and caption that no code, assert or allow-list entry accounts for."""
    own = _literals(figure["code"])
    named = [a for a in figure["asserts"] if figure["name"] and figure["name"] in a]
    asserted = set().union(*(_literals(a) for a in named)) if named else set()
    allowed = {**ALLOWED["*"], **ALLOWED.get(figure["name"], {})}
    bad = []
    for token in numbers(figure["words"]):
        values = _values(token)
        if token.rstrip("%").replace(",", "") in allowed or values & own or values & asserted:
            continue
        bad.append(token)
    return bad


CASES = [(path.name, fig) for path in CHAPTERS for fig in figures(path.read_text(encoding="utf-8"))]


def test_every_chapter_has_its_figures_scanned():
    assert CHAPTERS and len(CASES) >= 20, f"only {len(CASES)} figures found in {len(CHAPTERS)} chapters"
    assert all(fig["name"] for _, fig in CASES), [c for c, fig in CASES if not fig["name"]]


@pytest.mark.parametrize("chapter,figure", [
    pytest.param(c, f, id=f"{c}:{f['name']}",
                 marks=[pytest.mark.xfail(reason=XFAIL[f["name"]], strict=True)] if f["name"] in XFAIL else [])
    for c, f in CASES])
def test_figure_numbers_come_from_code(chapter, figure):
    bad = unaccounted(figure)
    assert not bad, (
        f"{chapter}, {figure['name']}: the alt text or caption writes {bad}, which neither the figure's code "
        f"sets, nor an assert naming {figure['name']!r} checks. Compute the number, assert the sentence in "
        "the figure's cell (assert ..., \"" + figure["name"] + ": ...\"), or reword it.")


def test_xfail_list_names_existing_figures():
    names = {f["name"] for _, f in CASES}
    assert set(XFAIL) <= names, f"XFAIL names figures that no longer exist: {sorted(set(XFAIL) - names)}"


PLANTED = '''
```{code-cell} ipython3
---
mystnb:
  image:
    alt: "The loss falls from LOSS0 to 0.873 over 40 epochs."
  figure:
    caption: "Training with lr 0.05."
    name: fig-planted
---
lr, epochs = 0.05, 40
plt.plot(history)
```

```{code-cell} ipython3
assert abs(history[0] - 2.31) < 0.01, "fig-planted: starts at 2.31"
assert abs(history[-1] - 0.555) < 0.01, "another sentence: 0.873 is not named for this figure"
```
'''


def test_a_planted_hard_coded_result_is_caught():
    """A result typed into an alt text is rejected; a set value or an asserted one is not."""
    (hard_coded,) = figures(PLANTED.replace("LOSS0", "2.31"))
    assert hard_coded["name"] == "fig-planted"
    # 0.873 is neither in the figure's code nor in an assert naming fig-planted (the other assert
    # mentions it, but not this figure): caught. 2.31 is asserted, 40 and 0.05 are set in code.
    assert unaccounted(hard_coded) == ["0.873"]
    (typed_start,) = figures(PLANTED.replace("LOSS0", "2.35"))
    assert unaccounted(typed_start) == ["2.35", "0.873"]
    fixed = PLANTED.replace("LOSS0", "2.31").replace("0.555) < 0.01, \"another sentence",
                                                     "0.873) < 0.01, \"fig-planted")
    assert unaccounted(figures(fixed)[0]) == []


def test_numbers_are_read_as_written():
    assert numbers("about 0.2, 1,797 images, 30% masked, (-0.63, 0.41), 1e-3") == \
        ["0.2", "1,797", "30%", "0.63", "0.41", "1e-3"]
    assert numbers("{numref}`fig-tr-2` and $\\beta_2$ and x2") == []        # references and subscripts
    assert _values("30%") == {30.0, 0.3} and _values("1,797") == {1797.0}
