"""The chapters show every widget one way: once, as the last line of a cell captioned as a figure.

The saved view of a widget is its static picture in the book (controls, PNG with alt text, summary as
text), so printing ``summary()`` or drawing ``figure()`` next to it shows the same state two or three
times; and the page saves each widget's final state, so a widget changed after it is shown would show
the changed state under a caption that describes the first.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from test_book_code import code_cells

ROOT = Path(__file__).resolve().parents[1]
WIDGETS = ("NeuronExplorer", "NetworkPlayground", "LossExplorer", "BackpropStepper", "OptimizerRace",
           "DepthExplorer", "RegularizationLab", "ConvolutionExplorer", "GradientFlowExplorer",
           "AutoencoderExplorer")
CHAPTERS = sorted((ROOT / "chapters").glob("*.md"))


def problems(cells):
    """Every breach of the rule in ``cells`` (``(line, options, source)`` as ``code_cells`` gives them)."""
    found, shown = [], {}
    last = {[x for x in body.strip().splitlines() if x.strip()][-1].strip() for _, _, body in cells if body.strip()}
    for line, options, body in cells:
        for name in re.findall(rf"^(\w+) = (?:{'|'.join(WIDGETS)})\(", body, re.M):
            shown.setdefault(name, None)
        lines = [x for x in body.strip().splitlines() if x.strip()]
        for name in [n for n in shown if n in last]:          # the widgets the page shows
            if re.search(rf"\b{name}\.figure\(\)", body):
                found.append(f"line {line}: {name}.figure() draws a widget the page shows")
            if re.search(rf"print\({name}\.summary\(\)\)", body):
                found.append(f"line {line}: print({name}.summary()) repeats the widget's own text")
            if shown[name] is not None and re.search(rf"\b{name}\.(set|set_weights|goto_\w+|train)\(", body):
                found.append(f"line {line}: {name} changes after it is shown (line {shown[name]})")
            if lines and lines[-1].strip() == name:
                if shown[name] is not None:
                    found.append(f"line {line}: {name} shown twice (first at line {shown[name]})")
                shown[name] = line
                if "caption:" not in options:
                    found.append(f"line {line}: {name} is shown without a figure caption")
    return found


def test_the_rule_catches_each_way_of_showing_a_widget_twice():
    good = [(1, "", "e = NeuronExplorer(w=(1, 2))\n"), (5, "caption: x", "e.set(b=1)\ne\n"),
            (9, "", "assert e.b == 1\n")]
    assert problems(good) == []
    assert any("figure()" in p for p in problems(good + [(12, "", "e.figure()\n")]))
    assert any("repeats" in p for p in problems(good + [(12, "", "print(e.summary())\n")]))
    assert any("changes after" in p for p in problems(good + [(12, "", "e.set(b=2)\nprint(e.b)\n")]))
    assert any("shown twice" in p for p in problems(good + [(12, "caption: y", "e\n")]))
    assert any("without a figure caption" in p for p in problems([(1, "", "e = LossExplorer()\ne\n")]))
    assert problems([(1, "", "e = LossExplorer()\n"), (2, "", "print(e.summary())\n")]) == [], \
        "a widget the page does not show may print its summary"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.name)
def test_each_widget_is_shown_once_as_a_figure(path):
    found = problems(list(code_cells(path)))
    assert not found, f"{path.name}:\n" + "\n".join(found)
