"""bpkit-course grade: crafted submissions of Chapter 1, graded in fresh kernels.

One batch (graded once per module, two kernels at a time) holds a correct notebook, the
unsolved exercise notebook, a typical mistake, an infinite loop, a notebook that deletes
the files of its working directory, an edited check cell, a file that is not JSON and a
notebook that imports a missing module and then kills its kernel. The batch is graded a
second time, in the other order, to prove the CSV is byte-for-byte the same.
"""

import copy
import csv
import hashlib
import io
import json
from pathlib import Path

import pytest

from bpkit import course
from bpkit.course.grading import student_and_chapter

ROOT = Path(__file__).resolve().parents[1]
STEM = "01_forward_pass"
TIMEOUT = 20          # the notebook needs about 3 s of cell time plus a kernel start; two run at once


def _gid(cell):
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")


def _load(folder):
    return json.loads((ROOT / folder / f"{STEM}.ipynb").read_text())


def _solved(overrides=None, extra_after=None):
    """The exercise notebook with every stub replaced by the solution (or by ``overrides[grade_id]``)."""
    nb = _load("exercises")
    solutions = {_gid(c): "".join(c["source"]) for c in _load("solutions")["cells"]}
    cells = []
    for cell in nb["cells"]:
        g = _gid(cell)
        cell = copy.deepcopy(cell)
        if cell["metadata"].get("nbgrader", {}).get("solution"):
            cell["source"] = (overrides or {}).get(g, solutions[g])
        elif g in (overrides or {}):
            cell["source"] = overrides[g]
        cells.append(cell)
        for src in (extra_after or {}).get(g, []):
            cells.append({"cell_type": "code", "execution_count": None, "id": f"extra-{len(cells)}",
                          "metadata": {}, "outputs": [], "source": src})
    nb["cells"] = cells
    return nb


DELETE_EVERYTHING = """import os, shutil
for name in os.listdir("."):
    path = os.path.join(".", name)
    shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
with open("written_by_student.txt", "w") as f:
    f.write("the working directory is mine")
"""

MISTAKE = '''def dense_forward(X, W, b):
    """Affine layer Z = XW + b."""
    return X @ W
'''


def _sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _tree(folder):
    return {p.relative_to(folder).as_posix(): _sha(p) for p in sorted(Path(folder).rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    base = tmp_path_factory.mktemp("grading")
    subs = base / "submissions"
    (subs / "bob").mkdir(parents=True)
    write = lambda name, nb: (subs / name).write_text(json.dumps(nb, indent=1))  # noqa: E731
    write(f"alice_{STEM}.ipynb", _solved())
    (subs / "bob" / f"{STEM}.ipynb").write_bytes((ROOT / "exercises" / f"{STEM}.ipynb").read_bytes())
    write(f"carol_{STEM}.ipynb", _solved({"ex1_2_dense_forward": MISTAKE}))
    write(f"dave_{STEM}.ipynb", _solved(extra_after={"ex1_3_sigmoid_check": ["while True:\n    pass\n"]}))
    write(f"erin_{STEM}.ipynb", _solved(extra_after={"setup": [DELETE_EVERYTHING]}))
    write(f"frank_{STEM}.ipynb", _solved({"ex1_3_sigmoid_check": 'print("Exercise 1.3 (sigmoid): correct")'}))
    (subs / f"grace_{STEM}.ipynb").write_text('{"cells": [ this is not JSON')
    write(f"heidi_{STEM}.ipynb", _solved(extra_after={
        "ex1_1_neuron_check": ["import torch_not_installed_here\n"],
        "ex1_4_mlp_forward_check": ["import os\nos._exit(1)\n"]}))
    (subs / "keep_me.txt").write_text("a file beside the submissions")
    paths = sorted(p for p in subs.rglob("*.ipynb"))
    before_subs, before_course = _tree(subs), {d: _tree(ROOT / d) for d in ("solutions", "exercises")}
    log = []
    csv1, pages, results = course.grade(paths, base / "out1", ROOT, timeout=TIMEOUT, jobs=2, log=log.append)
    csv2, _, _ = course.grade(paths[::-1], base / "out2", ROOT, timeout=TIMEOUT, jobs=2, log=lambda m: None)
    rows = {r["student"]: r for r in csv.DictReader(io.StringIO(csv1.read_text()))}
    return {"base": base, "subs": subs, "paths": paths, "csv": csv1, "csv2": csv2, "rows": rows, "log": log,
            "pages": {p.stem: p.read_text() for p in pages}, "results": results,
            "before_subs": before_subs, "before_course": before_course}


def test_csv_has_one_row_per_student_one_column_per_exercise_total_and_reason(batch):
    header = batch["csv"].read_text().splitlines()[0].split(",")
    ids = [e.grade_id for e in course.chapters(ROOT, [1])[0].exercises]
    assert header == ["student"] + ids + ["total", "reason"]
    assert list(batch["rows"]) == ["(max points)"] + sorted(["alice", "bob", "carol", "dave", "erin", "frank", "grace",
                                                             "heidi"])
    assert batch["rows"]["(max points)"]["total"] == "11"


def test_correct_submission_gets_full_marks_and_unsolved_gets_zero(batch):
    alice, bob = batch["rows"]["alice"], batch["rows"]["bob"]
    assert alice["total"] == "11" and alice["reason"] == ""
    assert alice["ex1_2_dense_forward"] == "2" and alice["ex1_7_xor_weights"] == "2"
    assert bob["total"] == "0" and bob["reason"] == ""            # a folder per student: bob/01_forward_pass.ipynb
    assert "not attempted" in batch["pages"]["bob"]


def test_typical_mistake_gets_partial_marks_and_its_hint_in_the_feedback(batch):
    carol = batch["rows"]["carol"]
    assert carol["ex1_2_dense_forward"] == "0" and carol["total"] == "9"
    page = batch["pages"]["carol"]
    assert "it looks like the bias is missing" in page
    assert "Add b: it broadcasts over the N rows." in page                  # the mistake's own hint
    assert "Total: 9 / 11 points" in page


def test_infinite_loop_stops_at_the_time_limit_keeping_earlier_exercises(batch):
    dave = batch["rows"]["dave"]
    assert f"stopped at the {TIMEOUT} s time limit" in dave["reason"]
    assert "(after ex1_3_sigmoid_check)" in dave["reason"]
    assert [dave[g] for g in ("ex1_1_neuron", "ex1_2_dense_forward", "ex1_3_sigmoid")] == ["1", "2", "2"]
    assert dave["ex1_4_mlp_forward"] == "0" and dave["total"] == "5"
    assert "time limit before this check ran" in batch["pages"]["dave"]


def test_deleting_the_working_directory_touches_nothing_outside_the_temporary_copy(batch):
    erin = batch["rows"]["erin"]
    assert erin["total"] == "11" and erin["reason"] == ""          # its results do not live on disk
    assert _tree(batch["subs"]) == batch["before_subs"]              # submissions and keep_me.txt intact
    assert {d: _tree(ROOT / d) for d in ("solutions", "exercises")} == batch["before_course"]
    assert not list(batch["base"].rglob("written_by_student.txt"))
    assert not (Path.cwd() / "written_by_student.txt").exists()


def test_edited_check_cell_is_restored_graded_as_released_and_noted(batch):
    frank = batch["rows"]["frank"]              # the check cell was replaced by a print of a verdict
    assert frank["ex1_3_sigmoid"] == "2" and frank["total"] == "11"
    assert "check cell ex1_3_sigmoid_check was edited; graded with the released check" in frank["reason"]
    assert "graded with the released check" in batch["pages"]["frank"]


def test_file_that_is_not_json_gets_a_row_with_the_reason(batch):
    grace = batch["rows"]["grace"]
    assert grace["total"] == "0" and "not valid notebook JSON" in grace["reason"]


def test_missing_module_and_dead_kernel_are_reported_and_the_batch_goes_on(batch):
    heidi = batch["rows"]["heidi"]
    assert "ModuleNotFoundError: No module named 'torch_not_installed_here'" in heidi["reason"]
    assert "the kernel died" in heidi["reason"]
    assert [heidi[g] for g in ("ex1_1_neuron", "ex1_2_dense_forward", "ex1_3_sigmoid", "ex1_4_mlp_forward")] == \
        ["1", "2", "2", "2"]
    assert heidi["ex1_5_forward_flops"] == "0" and heidi["total"] == "7"


def test_grading_twice_gives_identical_csv_without_paths(batch):
    assert batch["csv"].read_bytes() == batch["csv2"].read_bytes()
    text = batch["csv"].read_text()
    assert str(batch["base"]) not in text and "/tmp" not in text and "bpfs-grade-" not in text


def test_submissions_are_never_modified_and_progress_is_reported(batch):
    assert _tree(batch["subs"]) == batch["before_subs"]
    done = [m for m in batch["log"] if "points" in m or "not graded" in m]
    assert len(done) == len(batch["paths"]) and any("[8/8]" in m for m in done)
    assert any("wrote" in m and "grades.csv" in m for m in batch["log"])


def test_feedback_page_shows_every_exercise_verdict(batch):
    page = batch["pages"]["alice"]
    assert page.startswith("<!DOCTYPE html>") and page.count("<div class='ex'") == 7
    assert "Exercise 1.7: XOR by hand" in page and "Total: 11 / 11 points" in page
    assert "<script" not in page and "http" not in page                   # self-contained, offline


def test_student_names_from_file_names():
    stems = ["01_forward_pass", "02_losses"]
    assert student_and_chapter("x/ada_lovelace_01_forward_pass.ipynb", stems) == ("ada_lovelace", "01_forward_pass")
    assert student_and_chapter("x/ada-02_losses.ipynb", stems) == ("ada", "02_losses")
    assert student_and_chapter("/a/grace/01_forward_pass.ipynb", stems) == ("grace", "01_forward_pass")
    assert student_and_chapter("x/homework.ipynb", stems) == ("homework", None)


def test_grade_command_line_errors(tmp_path, capsys):
    assert course.main(["--root", str(ROOT), "grade", str(tmp_path / "missing.ipynb"), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "grade: no such file" in err and "missing.ipynb" in err
    nb = tmp_path / f"x_{STEM}.ipynb"
    nb.write_text("{}")
    assert course.main(["--root", str(ROOT), "grade", str(nb), "--out", str(tmp_path), "--timeout", "0"]) == 2
    assert "--timeout must be a positive number" in capsys.readouterr().err
