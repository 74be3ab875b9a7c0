"""bpkit-course list and assign: the catalog of exercises and the student bundle (never with solutions)."""

import json
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest

from bpkit import course
from bpkit.course.bundle import find_leaks, nbgitpuller_link, solution_regions
from bpkit.course.catalog import MINUTES_PER_POINT, format_table

ROOT = Path(__file__).resolve().parents[1]
HUB, REPO = "https://hub.example.edu", "https://github.com/teacher/bpfs-week1.git"


def _nbgrader_points(stem):
    nb = json.loads((ROOT / "solutions" / f"{stem}.ipynb").read_text())
    return {c["metadata"]["nbgrader"]["grade_id"][:-len("_check")]: c["metadata"]["nbgrader"]["points"]
            for c in nb["cells"] if c["metadata"].get("nbgrader", {}).get("grade")}


def test_catalog_reads_exercises_points_and_estimates_from_the_solutions():
    chs = course.chapters(ROOT)
    assert [ch.stem for ch in chs] == sorted(p.stem for p in (ROOT / "solutions").glob("*.ipynb"))
    for ch in chs:
        assert {e.grade_id: e.points for e in ch.exercises} == _nbgrader_points(ch.stem)
        assert all(e.minutes > 0 and not e.minutes_derived for e in ch.exercises), ch.stem
        assert ch.reading_minutes > 0 and ch.reading_minutes % 5 == 0
        assert all((ROOT / "solutions" / f"{r}.ipynb").exists() and r < ch.stem for r in ch.requires)
    first = chs[0]
    assert first.title == "The forward pass" and first.requires == []
    assert [e.number for e in first.exercises][:2] == ["1.1", "1.2"] and first.exercises[0].title == "one neuron"


def test_list_prints_a_table_with_points_and_times(capsys):
    assert course.main(["--root", str(ROOT), "list"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split() == ["Ch.", "Exercise", "Title", "Points", "Time"]
    row = next(line for line in lines if " 1.2 " in line)
    assert "a dense layer on a batch" in row and row.split()[-3:] == ["2", "15", "min"]
    total = sum(ch.points for ch in course.chapters(ROOT))
    assert lines[-1].split()[:2] == ["Total", f"{total:g}"]
    assert course.main(["--root", str(ROOT), "list", "--format", "csv"]) == 0
    csv_lines = capsys.readouterr().out.splitlines()
    assert csv_lines[0].startswith("chapter,exercise,grade_id,title,points,minutes")
    assert any(line.startswith("01,1.1,ex1_1_neuron,one neuron,1,10") for line in csv_lines)


def test_missing_estimate_is_derived_from_points_and_marked(tmp_path):
    (tmp_path / "solutions").mkdir()
    nb = json.loads((ROOT / "solutions" / "01_forward_pass.ipynb").read_text())
    del nb["metadata"]["bpfs"]["exercise_minutes"]["ex1_2_dense_forward"]
    (tmp_path / "solutions" / "01_forward_pass.ipynb").write_text(json.dumps(nb))
    ch = course.chapters(tmp_path)[0]
    ex = next(e for e in ch.exercises if e.grade_id == "ex1_2_dense_forward")
    assert ex.minutes_derived and ex.minutes == MINUTES_PER_POINT * 2
    assert "20 min*" in format_table([ch]) and "min per point" in format_table([ch])
    nb["metadata"]["bpfs"]["exercise_minutes"]["ex9_9_typo"] = 5
    (tmp_path / "solutions" / "01_forward_pass.ipynb").write_text(json.dumps(nb))
    with pytest.raises(course.ReleaseError, match="ex9_9_typo"):
        course.chapters(tmp_path)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    out = tmp_path_factory.mktemp("bundle") / "week1"
    course.assign([1, 3], out, ROOT, hub=HUB, repo=REPO)
    return out


def test_bundle_has_the_exercises_bpkit_and_a_readme(bundle):
    names = sorted(p.name for p in bundle.iterdir())
    assert names == ["01_forward_pass.ipynb", "03_chain_rule.ipynb", "LICENSE", "README.md", "bpkit", "bundle.json",
                     "pyproject.toml"]
    for stem in ("01_forward_pass", "03_chain_rule"):
        assert (bundle / f"{stem}.ipynb").read_bytes() == (ROOT / "exercises" / f"{stem}.ipynb").read_bytes()
    assert (bundle / "bpkit" / "checks" / "ch03.py").is_file() and not list(bundle.rglob("__pycache__"))
    readme = (bundle / "README.md").read_text()
    for words in ("pip install . jupyterlab", "JupyterLab", "Colab", "Handing in", "ada_lovelace_01_forward_pass.ipynb",
                  "The chain rule and backpropagation"):
        assert words in readme, words
    manifest = json.loads((bundle / "bundle.json").read_text())
    assert [c["stem"] for c in manifest["chapters"]] == ["01_forward_pass", "03_chain_rule"]


def test_bundle_never_contains_solution_code(bundle):
    regions = solution_regions(ROOT)
    assert len(regions) >= 30
    assert find_leaks(bundle, ROOT) == []
    notebooks = {p.name: json.loads(p.read_text()) for p in bundle.glob("*.ipynb")}
    code = "\n".join(line.strip() for nb in notebooks.values() for c in nb["cells"]
                     for line in "".join(c["source"]).splitlines())
    assert "### BEGIN SOLUTION" not in code and "BEGIN HIDDEN TESTS" not in code
    assert not any(c.get("outputs") for nb in notebooks.values() for c in nb["cells"])
    # no line of a multi-line solution region of these chapters is anywhere in their notebooks
    checked = 0
    for name, gid, lines in regions:
        if name[:2] in ("01", "03") and len(lines) > 1:
            assert "\n".join(lines) not in code, gid
            checked += 1
    assert checked >= 10


def test_leak_scan_finds_a_planted_solution(bundle, tmp_path):
    planted = tmp_path / "planted"
    shutil.copytree(bundle, planted)
    shutil.copy(ROOT / "solutions" / "01_forward_pass.ipynb", planted / "01_forward_pass.ipynb")
    leaks = find_leaks(planted, ROOT)
    assert ("01_forward_pass.ipynb", "01_forward_pass.ipynb", "ex1_7_xor_weights") in leaks
    assert all(f == "01_forward_pass.ipynb" for f, _, _ in leaks)


def test_bundle_runs_from_its_own_folder_with_its_own_bpkit(bundle):
    code = ("import bpkit, bpkit.checks.ch01 as c, pathlib; print(pathlib.Path(bpkit.__file__).parent)\n"
            "print(c.check_neuron(lambda x, w, b: 0.5).status)")
    res = subprocess.run([sys.executable, "-c", code], cwd=bundle, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    where, status = res.stdout.split()
    assert Path(where).resolve() == (bundle / "bpkit").resolve()          # the copy, not the course's bpkit
    assert status == "incorrect"


def test_hub_links_are_nbgitpuller_links(bundle):
    link = nbgitpuller_link(HUB, REPO, "01_forward_pass.ipynb")
    url = urlparse(link)
    assert f"{url.scheme}://{url.netloc}{url.path}" == HUB + "/hub/user-redirect/git-pull"
    q = parse_qs(url.query)
    assert q == {"repo": [REPO], "urlpath": ["lab/tree/bpfs-week1/01_forward_pass.ipynb"], "branch": ["main"]}
    assert link in (bundle / "README.md").read_text()
    assert json.loads((bundle / "bundle.json").read_text())["jupyterhub"]["links"]["01_forward_pass"] == link


def test_assign_errors_name_the_problem(tmp_path, capsys):
    assert course.main(["--root", str(ROOT), "assign", "1", "--out", str(tmp_path / "b"), "--hub", HUB]) == 2
    assert "--hub needs --repo" in capsys.readouterr().err
    assert course.main(["--root", str(ROOT), "assign", "42", "--out", str(tmp_path / "b")]) == 2
    assert "no solution notebook for chapter(s) 42" in capsys.readouterr().err
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep")
    assert course.main(["--root", str(ROOT), "assign", "1", "--out", str(tmp_path / "mine")]) == 2
    assert "is not a bundle written by assign" in capsys.readouterr().err
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep"
    # an earlier bundle is replaced
    assert course.main(["--root", str(ROOT), "assign", "1", "2", "--out", str(tmp_path / "b")]) == 0
    assert course.main(["--root", str(ROOT), "assign", "2", "--out", str(tmp_path / "b")]) == 0
    assert sorted(p.name for p in (tmp_path / "b").glob("*.ipynb")) == ["02_losses.ipynb"]
