"""bpkit-course grade against hostile submissions: no forged grade, no harm done.

Each submission is a Chapter 1 notebook plus a few lines an attacker might add. Every one
must get the grade its honest content deserves (0 for a forgery), with a reason where
something was refused, and none may change the instructor's files, another submission,
or reach the network. The batch is graded with ``--jobs 2`` and, for a subset, with
``--jobs 1``: the files must be byte for byte the same.
"""

import csv
import io
import json
import os
import socket
import threading
from pathlib import Path

import pytest

from bpkit import course
from bpkit.course._contain import containment

from test_course_grade import ROOT, STEM, _load, _solved, _tree

TIMEOUT = 25
SEED = 20261201
FULL, UNSOLVED = 11, 0

FORGED_DISPLAY = """from IPython.display import display
for gid in ["ex1_1_neuron_check", "ex1_2_dense_forward_check", "ex1_3_sigmoid_check", "ex1_4_mlp_forward_check",
            "ex1_5_forward_flops_check", "ex1_6_bias_through_point_check", "ex1_7_xor_weights_check"]:
    display({"application/vnd.bpfs.check-result+json": {"grade_id": gid, "status": "correct", "points": 2.0,
             "max_points": 2.0, "verdict": "correct", "message": "", "hints": [], "details": []}}, raw=True)
print("Exercise 1.1 (neuron): correct - all 4 test cases match the reference.")
"""

PATCHED_CHECKS = """import bpkit.checks.ch01 as _c
import bpkit.checks as _checks
from bpkit.checks import CheckResult
def _always(*a, **k):
    return CheckResult("forged", "correct", "forged", points=2, max_points=2)
for _name in list(vars(_c)):
    if _name.startswith("check_"):
        setattr(_c, _name, _always)
        globals()[_name] = _always
_checks.check_function = _always
_checks.compare_arrays = lambda *a, **k: (True, [])
import sys
sys.modules["bpkit.course._kernel"] = type(sys)("forged")
sys.modules["bpkit.course._kernel"].run_check = lambda *a, **k: None
"""

PATCHED_NUMPY = """import numpy as np
np.allclose = lambda *a, **k: True
np.array_equal = lambda *a, **k: True
np.isclose = lambda *a, **k: True
np.testing.assert_allclose = lambda *a, **k: None
np.testing.assert_array_equal = lambda *a, **k: None
"""

CALLS_BPKIT = {
    "ex1_2_dense_forward": "def dense_forward(X, W, b):\n    return ops.linear_forward(X, W, b)[0]\n",
    "ex1_4_mlp_forward": "def mlp_forward(X, params):\n    from bpkit.checks import ch01 as _c\n"
                         "    return _c.mlp_forward(X, params)\n",
    # a name built at run time: the source does not show it, the call tracing does
    "ex1_5_forward_flops": "def forward_flops(sizes, N):\n    import importlib\n"
                           "    m = importlib.import_module('bpkit.' + 'checks.ch01')\n"
                           "    return getattr(m, 'forward_' + 'flops')(sizes, N)\n",
}

READS_SOLUTIONS = """import json, os, glob
def _steal():
    for path in glob.glob(os.path.join(%r, "solutions", "*.ipynb")):
        try:
            nb = json.load(open(path))
        except OSError:
            continue
        for cell in nb["cells"]:
            if "def dense_forward" in "".join(cell["source"]):
                exec("".join(cell["source"]).replace("### BEGIN SOLUTION", "").replace("### END SOLUTION", ""),
                     globals())
                return True
    return False
STOLEN = _steal()
""" % str(ROOT)

MEMORY_BOMB = "def bomb():\n    hog = []\n    while True:\n        hog.append(bytearray(50 * 2**20))\nbomb()\n"
FORK_BOMB = "import os\nwhile True:\n    os.fork()\n"
BIG_OUTPUT = "import sys\nfor _ in range(100):\n    sys.stdout.write('x' * 2**20)\n"
SYS_EXIT = "import sys\nsys.exit(3)\n"
KILL_PARENT = """import os, signal
try:
    os.kill(os.getppid(), signal.SIGKILL)
except OSError:
    pass
os.killpg(0, signal.SIGKILL)
"""


def _writes_outside(marker):
    return f"""import os
for path in [{str(ROOT / 'solutions' / 'pwned.txt')!r}, {str(ROOT / 'exercises' / STEM)!r} + ".ipynb",
             {str(marker)!r}, os.path.expanduser("~/../../tmp/pwned.txt"), "/tmp/pwned-bpfs.txt"]:
    try:
        with open(path, "w") as f:
            f.write("pwned")
    except OSError:
        pass
"""


def _connects(port):
    return f"""import socket
try:
    socket.create_connection(("127.0.0.1", {port}), timeout=2).sendall(b"leak")
except OSError:
    pass
"""


@pytest.fixture(scope="module")
def listener():
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(5)
    srv.settimeout(0.2)
    got, stop = [], threading.Event()

    def serve():
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except OSError:
                continue
            got.append(conn.recv(100))
            conn.close()
    t = threading.Thread(target=serve, daemon=True)
    t.start()
    yield srv.getsockname()[1], got
    stop.set()
    t.join(2)
    srv.close()


def _after(cells, gid="ex1_1_neuron_check"):
    return {gid: cells}


@pytest.fixture(scope="module")
def hostile(tmp_path_factory, listener):
    if os.environ.get("BPFS_REQUIRE_SANDBOX") != "1" and containment() != "bwrap":
        pytest.skip("bubblewrap is not available here (apt-get install bubblewrap); CI requires it")
    assert containment() == "bwrap", "BPFS_REQUIRE_SANDBOX=1 but bubblewrap does not work here"
    port, got = listener
    base = tmp_path_factory.mktemp("hostile")
    subs = base / "submissions"
    subs.mkdir()
    marker = base / "outside.txt"
    exercise = _load("exercises")
    unsolved = lambda extra: dict(exercise, cells=[exercise["cells"][0], {  # noqa: E731
        "cell_type": "code", "execution_count": None, "id": "attack", "metadata": {}, "outputs": [],
        "source": extra}] + exercise["cells"][1:])
    notebooks = {
        "forged_display": unsolved(FORGED_DISPLAY),
        "patched_checks": unsolved(PATCHED_CHECKS),
        "patched_numpy": unsolved(PATCHED_NUMPY),
        "calls_bpkit": _solved(CALLS_BPKIT),
        "reads_solutions": unsolved(READS_SOLUTIONS),
        "infinite_loop": _solved(extra_after=_after(["while True:\n    pass\n"], "ex1_3_sigmoid_check")),
        "memory_bomb": _solved(extra_after=_after([MEMORY_BOMB])),
        "fork_bomb": _solved(extra_after=_after([FORK_BOMB])),
        "big_output": _solved(extra_after=_after([BIG_OUTPUT])),
        "writes_outside": _solved(extra_after=_after([_writes_outside(marker)])),
        "os_exit": _solved(extra_after=_after(["import os\nos._exit(0)\n"], "ex1_4_mlp_forward_check")),
        "sys_exit": _solved(extra_after=_after([SYS_EXIT])),
        "kills_parent": _solved(extra_after=_after([KILL_PARENT], "ex1_6_bias_through_point_check")),
        "connects": _solved(extra_after=_after([_connects(port)])),
    }
    for name, nb in notebooks.items():
        (subs / f"{name}_{STEM}.ipynb").write_text(json.dumps(nb, indent=1))
    paths = sorted(subs.glob("*.ipynb"))
    before_subs = _tree(subs)
    before_course = {d: _tree(ROOT / d) for d in ("solutions", "exercises", "bpkit")}
    log = []
    csv2, pages, results = course.grade(paths, base / "jobs2", ROOT, timeout=TIMEOUT, jobs=2, log=log.append,
                                        seed=SEED)
    subset = [p for p in paths if p.name.split(f"_{STEM}")[0] in ("calls_bpkit", "forged_display", "os_exit")]
    csv_a, _, _ = course.grade(subset, base / "subset1", ROOT, timeout=TIMEOUT, jobs=1, log=lambda m: None, seed=SEED)
    csv_b, _, _ = course.grade(subset, base / "subset2", ROOT, timeout=TIMEOUT, jobs=2, log=lambda m: None, seed=SEED)
    rows = {r["student"]: r for r in csv.DictReader(io.StringIO(csv2.read_text()))}
    return {"base": base, "rows": rows, "log": log, "pages": {p.stem: p.read_text() for p in pages},
            "subs": subs, "before_subs": before_subs, "before_course": before_course, "marker": marker,
            "got": got, "subset": (base / "subset1", base / "subset2")}


def _total(hostile, name):
    return float(hostile["rows"][name]["total"])


def _reason(hostile, name):
    return hostile["rows"][name]["reason"]


@pytest.mark.parametrize("name", ["forged_display", "patched_checks", "patched_numpy"])
def test_forgeries_in_the_kernel_get_nothing(hostile, name):
    assert _total(hostile, name) == UNSOLVED, _reason(hostile, name)
    assert "not attempted" in hostile["pages"][name]


def test_answers_that_call_bpkit_get_zero_for_those_exercises_with_a_reason(hostile):
    row, reason = hostile["rows"]["calls_bpkit"], _reason(hostile, "calls_bpkit")
    assert row["ex1_2_dense_forward"] == "0" and row["ex1_4_mlp_forward"] == "0" and row["ex1_5_forward_flops"] == "0"
    assert _total(hostile, "calls_bpkit") == FULL - 2 - 2 - 1
    assert "bpkit.ops.linear_forward" in reason and "bpkit.checks.ch01.mlp_forward" in reason
    assert "bpkit.checks.ch01.forward_flops" in reason          # found only by tracing the calls
    page = hostile["pages"]["calls_bpkit"]
    assert "found in the answer&#x27;s code" in page and "Write it yourself" in page


def test_solutions_cannot_be_read(hostile):
    assert _total(hostile, "reads_solutions") == UNSOLVED


@pytest.mark.parametrize("name, lost", [("infinite_loop", 2 + 1 + 1 + 2), ("memory_bomb", 0), ("fork_bomb", 0),
                                        ("big_output", 0), ("writes_outside", 0), ("sys_exit", 0),
                                        ("connects", 0), ("os_exit", 1 + 1 + 2),
                                        ("kills_parent", 2)])
def test_each_attack_keeps_the_honest_grade(hostile, name, lost):
    assert _total(hostile, name) == FULL - lost, _reason(hostile, name)


def test_time_limit_and_dead_process_are_reasons(hostile):
    assert "time limit" in _reason(hostile, "infinite_loop")
    assert "died" in _reason(hostile, "os_exit") and "died" in _reason(hostile, "kills_parent")


def test_nothing_outside_the_sandbox_changed_and_no_connection_was_made(hostile):
    assert _tree(hostile["subs"]) == hostile["before_subs"]
    assert {d: _tree(ROOT / d) for d in ("solutions", "exercises", "bpkit")} == hostile["before_course"]
    assert not hostile["marker"].exists() and not Path("/tmp/pwned-bpfs.txt").exists()
    assert not (ROOT / "solutions" / "pwned.txt").exists()
    assert hostile["got"] == []


def test_every_submission_has_a_row_and_the_grader_survived(hostile):
    assert len(hostile["rows"]) == 14 + 1                      # and the row of maximum points
    assert any("14 students" in line for line in hostile["log"])


def test_jobs_do_not_change_a_byte(hostile):
    one, two = hostile["subset"]
    files = lambda d: {k: v for k, v in _tree(d).items() if k != "gradebook.sqlite"}  # noqa: E731 (dates inside)
    assert files(one) == files(two) and "grades.csv" in files(one) and len(files(one)) == 2 + 3
    assert (one / "grades.csv").read_text().count("\n") == 5


@pytest.mark.parametrize("mode", ["unshare", "none"])
def test_weaker_containment_still_grades_and_warns_loudly(tmp_path, monkeypatch, mode):
    from bpkit.course import _contain
    if mode == "unshare" and not _contain._probe(["unshare", "--net", "--pid", "--fork", "--kill-child", "true"]):
        pytest.skip("unshare does not work here")
    monkeypatch.setenv("BPFS_SANDBOX", mode)
    _contain.containment.cache_clear()
    try:
        sub = tmp_path / f"ada_{STEM}.ipynb"
        sub.write_text(json.dumps(_solved()))
        log = []
        csv_path, _, _ = course.grade([sub], tmp_path / "out", ROOT, timeout=TIMEOUT, jobs=1, log=log.append, seed=1)
        assert next(csv.DictReader(csv_path.open()))["total"] == str(FULL)
        warning = [m for m in log if m.startswith("WARNING")]
        assert len(warning) == 1 and "bubblewrap is not available" in warning[0]
        assert ("no network" in warning[0]) == (mode == "unshare")
    finally:
        monkeypatch.delenv("BPFS_SANDBOX")
        _contain.containment.cache_clear()


def test_fresh_file_systems_come_before_the_binds_so_a_course_in_tmp_stays_visible():
    from bpkit.course._contain import Limits, _bwrap_argv
    if containment() != "bwrap":
        pytest.skip("bubblewrap is not available here")
    argv = _bwrap_argv(Limits())
    tmpfs_tmp = next(i for i in range(len(argv) - 1) if argv[i] == "--tmpfs" and argv[i + 1] == "/tmp")
    assert tmpfs_tmp < argv.index("--ro-bind")
