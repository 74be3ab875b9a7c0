"""Widget answers survive grading: what a student set by hand reaches the grader as a line of code.

A grader runs a notebook from the top, so a slider moved by hand is back at its start there.
Each widget shows, once moved by hand, the line that sets it as it is (``answer_line``); the
exercise text asks students to copy it into their answer. Here a student sets every widget
the issue named (1.6, 1.7, 2.6, 5.7, 6.7, 7.7, 8.3) by hand, copies the line and saves: full
marks. The same notebook without the copied lines gets 0 for them, which is why the line is
there.
"""

import csv
import json

import pytest

from bpkit import course
from bpkit.widgets._base import _leaves

from test_course_grade import ROOT

EXERCISES = {"01_forward_pass": ["ex1_6_bias_through_point", "ex1_7_xor_weights"], "02_losses": ["ex2_6_huber_kink"],
             "05_activations": ["ex5_7_relu_gain"], "06_training": ["ex6_7_regularize"],
             "07_cnn": ["ex7_7_vertical_edges"], "08_rnn": ["ex8_3_scale_window"]}


def _gid(cell):
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")


def _src(cell):
    return "".join(cell["source"])


def _answers(stem, copy_line):
    """``{grade_id: answer source}``: the widget set "by hand" to the solution's state, then read as the text says."""
    from IPython.core.interactiveshell import InteractiveShell
    import sys
    main = sys.modules.get("__main__")
    shell = InteractiveShell.instance()
    sys.modules["__main__"] = main
    shell.reset(new_session=False)
    cells = json.loads((ROOT / "solutions" / f"{stem}.ipynb").read_text())["cells"]
    by_id = {_gid(c): _src(c) for c in cells}
    shell.run_cell(by_id["setup"])
    out = {}
    for gid in EXERCISES[stem]:
        prefix = "_".join(gid.split("_")[:2])
        widget_src = by_id[f"{prefix}_widget"]
        name = widget_src.split("=")[0].strip()
        assert shell.run_cell(widget_src).success
        solution = by_id[gid]
        fname = solution.split("def ")[1].split("(")[0]
        assert shell.run_cell(solution + f"\n{fname}()\n").success          # puts the widget where it must be
        widget = shell.user_ns[name]
        line = widget.answer_line(name)
        ret = next(ln.strip() for ln in solution.splitlines() if ln.strip().startswith("return "))
        body = f"    {line}\n    {ret}\n" if copy_line else f"    {ret}\n"
        out[gid] = f"def {fname}():\n{body}"
    return out


def _notebook(stem, answers):
    nb = json.loads((ROOT / "exercises" / f"{stem}.ipynb").read_text())
    for cell in nb["cells"]:
        if _gid(cell) in answers:
            cell["source"] = answers[_gid(cell)]
    return nb


def test_every_widget_shows_the_line_only_once_moved_by_hand():
    from bpkit.widgets import NeuronExplorer
    explorer = NeuronExplorer(w=(1.0, 2.0), b=0.0, point=(0.5, 0.25), lock_weights=True)
    assert explorer._keep.value == ""
    explorer.b = -0.5                                   # from code: the code is in the notebook already
    assert explorer._keep.value == ""
    slider = next(w for w in _leaves(explorer.widget.children) if getattr(w, "description", "").startswith("b"))
    with slider._lock_property(value=-1.0):             # what ipywidgets does with a move from the browser
        slider.value = -1.0
    assert "widget.set(w1=1.0, w2=2.0, b=-1.0, activation=&#x27;sigmoid&#x27;)" in explorer._keep.value
    assert explorer.answer_line("explorer") == "explorer.set(w1=1.0, w2=2.0, b=-1.0, activation='sigmoid')"


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    base = tmp_path_factory.mktemp("widgets")
    paths = []
    for stem in EXERCISES:
        for who, copy in (("copied", True), ("handonly", False)):
            path = base / "subs" / f"{who}_{stem}.ipynb"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(_notebook(stem, _answers(stem, copy))))
            paths.append(path)
    csv_path, _, _ = course.grade(paths, base / "out", ROOT, timeout=120, jobs=2, log=lambda m: None, seed=5)
    return {r["student"]: r for r in csv.DictReader(csv_path.open())}


def test_a_student_who_copied_the_lines_gets_full_marks(graded):
    for ids in EXERCISES.values():
        for gid in ids:
            assert graded["copied"][gid] == graded["(max points)"][gid], (gid, graded["copied"]["reason"])


def test_without_the_line_a_setting_made_by_hand_is_lost(graded):
    for ids in EXERCISES.values():
        for gid in ids:
            assert graded["handonly"][gid] == "0", gid
