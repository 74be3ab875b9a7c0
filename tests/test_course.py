"""The course tool: exercises are generated from solutions, exactly and deterministically."""

import json
import re
from pathlib import Path

import pytest

from bpkit import course
from bpkit.checks import ch01

ROOT = Path(__file__).resolve().parents[1]


def test_code_region_becomes_nbgrader_stub_keeping_indentation():
    src = ("def f(x):\n"
           "    \"\"\"Doc.\"\"\"\n"
           "    ### BEGIN SOLUTION\n"
           "    y = x + 1\n"
           "    return y\n"
           "    ### END SOLUTION\n"
           "print('after')")
    assert course.release_source(src) == ("def f(x):\n    \"\"\"Doc.\"\"\"\n    # YOUR CODE HERE\n"
                                          "    raise NotImplementedError()\nprint('after')")


def test_top_level_region_and_two_regions_in_one_cell():
    src = "a = 1\n### BEGIN SOLUTION\nb = 2\n### END SOLUTION\nc = 3\n  ### BEGIN SOLUTION\n  d = 4\n  ### END SOLUTION"
    out = course.release_source(src)
    assert out.splitlines() == ["a = 1", "# YOUR CODE HERE", "raise NotImplementedError()", "c = 3",
                                "  # YOUR CODE HERE", "  raise NotImplementedError()"]


def test_hidden_tests_are_removed_and_markdown_answers_replaced():
    src = "### BEGIN HIDDEN TESTS\nassert secret()\n### END HIDDEN TESTS\ncheck(f)"
    assert course.release_source(src) == "check(f)"
    md = "Why?\n\n### BEGIN SOLUTION\nBecause.\n### END SOLUTION"
    assert course.release_source(md, "markdown") == "Why?\n\nYOUR ANSWER HERE"


@pytest.mark.parametrize("src, match", [
    ("### BEGIN SOLUTION\nx = 1", "never closed"),
    ("x = 1\n### END SOLUTION", "without a matching"),
    ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION\n### END SOLUTION", "inside an open"),
    ("### BEGIN SOLUTION\nx = 1\n### END HIDDEN TESTS", "without a matching"),
])
def test_unbalanced_markers_are_reported_with_their_place(src, match):
    with pytest.raises(course.ReleaseError, match=match) as info:
        course.release_source(src, where="01_x.ipynb, cell 3")
    assert "01_x.ipynb, cell 3" in str(info.value)


def _nb(*cells, widgets=True):
    meta = {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}
    if widgets:
        meta["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    return {"cells": list(cells), "metadata": meta, "nbformat": 4, "nbformat_minor": 5}


def _code(src, nbgrader=None, outputs=()):
    meta = {"nbgrader": nbgrader} if nbgrader else {}
    meta["execution"] = {"iopub.execute_input": "2026-01-01T00:00:00"}
    return {"cell_type": "code", "id": "c1", "source": src, "metadata": meta, "execution_count": 3,
            "outputs": list(outputs)}


def test_release_notebook_strips_outputs_state_and_keeps_nbgrader_metadata():
    grader = {"solution": True, "grade": False, "grade_id": "ex1", "locked": False, "schema_version": 3}
    nb = _nb(_code("### BEGIN SOLUTION\nx = 1\n### END SOLUTION", grader,
                   outputs=[{"output_type": "stream", "name": "stdout", "text": "1\n"}]))
    out = course.release_notebook(nb)
    cell = out["cells"][0]
    assert cell["outputs"] == [] and cell["execution_count"] is None
    assert cell["metadata"] == {"nbgrader": grader}
    assert "widgets" not in out["metadata"] and out["metadata"]["kernelspec"]["name"] == "python3"
    assert nb["cells"][0]["outputs"], "the solution notebook itself must not be modified"


def test_solution_region_without_nbgrader_metadata_is_refused():
    with pytest.raises(course.ReleaseError, match="nbgrader metadata"):
        course.release_notebook(_nb(_code("### BEGIN SOLUTION\nx = 1\n### END SOLUTION")), "01_x.ipynb")


def _course(tmp_path, nb):
    (tmp_path / "solutions").mkdir()
    (tmp_path / "solutions" / "01_demo.ipynb").write_text(json.dumps(nb))
    return tmp_path


def test_release_and_check_round_trip(tmp_path):
    grader = {"solution": True, "grade": False, "grade_id": "ex1", "locked": False, "schema_version": 3}
    root = _course(tmp_path, _nb(_code("### BEGIN SOLUTION\nx = 1\n### END SOLUTION", grader)))
    assert [p.name for p in course.check(root)] == ["01_demo.ipynb"]          # missing
    written = course.release(root)
    assert [p.name for p in written] == ["01_demo.ipynb"]
    first = written[0].read_bytes()
    assert course.check(root) == []
    course.release(root)
    assert written[0].read_bytes() == first                                  # deterministic
    written[0].write_text(written[0].read_text().replace("YOUR CODE HERE", "my answer"))
    assert [p.name for p in course.check(root)] == ["01_demo.ipynb"]          # hand-edited: stale
    (root / "exercises" / "02_orphan.ipynb").write_text("{}")
    assert "02_orphan.ipynb" in [p.name for p in course.check(root)]          # no solution for it


def test_command_line_exit_codes(tmp_path, capsys):
    root = _course(tmp_path, {"cells": "oops"})
    (root / "solutions" / "01_demo.ipynb").write_text("not json")
    assert course.main(["--root", str(root), "release"]) == 2
    assert "not valid notebook JSON" in capsys.readouterr().err
    assert course.main(["--root", str(tmp_path / "nowhere"), "check"]) == 2


def test_exercises_folder_is_exactly_what_release_generates():
    stale = course.check(ROOT)
    assert stale == [], f"exercises/ is out of date: {stale}; run `python -m bpkit.course release`"
    assert sorted(p.name for p in (ROOT / "exercises").glob("*.ipynb")) == \
        sorted(p.name for p in (ROOT / "solutions").glob("*.ipynb"))


def _cells(path):
    return json.loads(Path(path).read_text())["cells"]


def test_chapter1_solution_cells_carry_nbgrader_metadata_and_points():
    cells = _cells(ROOT / "solutions" / "01_forward_pass.ipynb")
    solutions = [c for c in cells if "### BEGIN SOLUTION" in "".join(c["source"])]
    graded = [c for c in cells if c["metadata"].get("nbgrader", {}).get("grade")]
    assert len(solutions) == len(graded) == len(ch01.POINTS) >= 6
    ids = [c["metadata"]["nbgrader"]["grade_id"] for c in cells if "nbgrader" in c["metadata"]]
    assert len(ids) == len(set(ids)), "grade_id must be unique"
    for c in solutions:
        assert c["metadata"]["nbgrader"]["solution"] is True and c["metadata"]["nbgrader"]["schema_version"] == 3
    # the points in the notebook are the points the checks award
    points = {c["metadata"]["nbgrader"]["grade_id"]: c["metadata"]["nbgrader"]["points"] for c in graded}
    assert sum(points.values()) == sum(ch01.POINTS.values())
    for key, p in ch01.POINTS.items():
        assert any(key in gid and v == p for gid, v in points.items()), (key, p, points)
    # every graded cell has a hidden assertion (for nbgrader's autograder) that the student never sees
    for c in graded:
        assert "### BEGIN HIDDEN TESTS" in "".join(c["source"])
    student = _cells(ROOT / "exercises" / "01_forward_pass.ipynb")
    assert not any("HIDDEN TESTS" in "".join(c["source"]) or "BEGIN SOLUTION" in "".join(c["source"]) for c in student)
    assert not any(c.get("outputs") for c in student)


def test_instructor_book_adds_each_solution_after_its_exercise_page(tmp_path):
    import yaml

    from bpkit.course import instructor_book
    root = Path(__file__).resolve().parents[1]
    config_path, toc_path = instructor_book(root, tmp_path)
    config, toc = yaml.safe_load(config_path.read_text()), yaml.safe_load(toc_path.read_text())
    assert config["title"].endswith("(instructor edition)")
    assert "solutions" not in config["exclude_patterns"]
    assert "solutions/*" in config["execute"]["exclude_patterns"]        # shown with their saved outputs
    assert config["execute"]["cache"] == str(root / "_build" / ".jupyter_cache")
    chapters = [c for part in toc["parts"] for c in part["chapters"] if c["file"].startswith("chapters/")]
    assert chapters
    for ch in chapters:
        stem = ch["file"].split("/")[1]
        assert [s["file"] for s in ch["sections"]] == [f"exercises/{stem}", f"solutions/{stem}"]
        assert ch["sections"][1]["title"] == f"Solutions {int(stem[:2])}"
    # the published book never contains solutions
    published = yaml.safe_load((root / "_config.yml").read_text())
    assert "solutions" in published["exclude_patterns"]
    files = re.findall(r"file:\s*(\S+)", (root / "_toc.yml").read_text())
    assert files and not [f for f in files if f.startswith("solutions")]


def test_instructor_book_refuses_an_exercise_without_solution(tmp_path):
    import shutil

    from bpkit.course import ReleaseError, instructor_book
    root = Path(__file__).resolve().parents[1]
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy(root / name, tmp_path / name)
    (tmp_path / "solutions").mkdir()
    with pytest.raises(ReleaseError, match="exercises/01_forward_pass has no solution notebook"):
        instructor_book(tmp_path, tmp_path / "out")
