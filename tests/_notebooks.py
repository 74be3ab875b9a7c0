"""Helpers to run exercises from the solution notebooks in-process (fast) for tests."""

import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _cells(path):
    return json.loads(Path(path).read_text())["cells"]


def _gid(cell):
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id", "")


def _src(cell):
    return "".join(cell["source"])


def _python(src):
    """A cell's source as plain Python: IPython's own transform (the set-up cell has ``%pip`` lines)."""
    from IPython.core.inputtransformer2 import TransformerManager
    return TransformerManager().transform_cell(src)


def run_exercise(notebook, grade_id, answer):
    """Run the set-up, the exercise's widget cells, ``answer`` in place of the solution, and the check."""
    cells = _cells(ROOT / "solutions" / notebook)
    prefix = "_".join(grade_id.split("_")[:2])                 # ex1_6_bias_through_point -> ex1_6
    ns = {}
    exec(_python(_src(next(c for c in cells if _gid(c) == "setup"))), ns)
    for c in cells:
        g = _gid(c)
        if g.startswith(prefix) and not c["metadata"]["nbgrader"].get("solution") and not g.endswith("_check"):
            exec(_src(c), ns)                                   # e.g. creates the widget
    exec(answer, ns)
    check = next(c for c in cells if _gid(c) == grade_id + "_check")
    call = _src(check).strip().splitlines()[-1]                 # the visible check call, after hidden tests
    return eval(call, ns)


class _Loopback:
    """The grader's session with the submission's server in this process (no containment): JSON both ways."""

    def __init__(self):
        import sys

        from bpkit.course._sandbox import Server
        main = sys.modules.get("__main__")
        self.server = Server()
        self.server.shell.reset(new_session=False)
        sys.modules["__main__"] = main            # IPython puts its own in place, and multiprocessing needs ours

    def ask(self, message):
        reply = self.server.handle(json.loads(json.dumps(message)))
        return json.loads(json.dumps(reply))


def run_exercise_graded(notebook, grade_id, answer):
    """As :func:`run_exercise`, but the way ``bpkit-course grade`` does it: the cells run in the
    submission's server, and the check runs here on proxies that talk to it through the wire format."""
    from bpkit.course._remote import answer as remote_answer, check_call, load_check
    cells = _cells(ROOT / "solutions" / notebook)
    prefix = "_".join(grade_id.split("_")[:2])
    session = _Loopback()
    sources = [_src(next(c for c in cells if _gid(c) == "setup"))]
    sources += [_src(c) for c in cells if _gid(c).startswith(prefix) and not c["metadata"]["nbgrader"].get("solution")
                and not _gid(c).endswith("_check")]
    for src in sources + [answer]:
        session.ask({"op": "run", "source": src})
    check = next(c for c in cells if _gid(c) == grade_id + "_check")
    name, args = check_call(_src(check).strip().splitlines()[-1])
    module = f"bpkit.checks.ch{notebook[:2]}"
    return load_check(module, name)(*[remote_answer(session, a) for a in args])


# -- tests every chapter's exercise module runs (one line each there) ------------------------

def _graded_cells(notebook, kind):
    return [c for c in _cells(ROOT / "solutions" / notebook) if c["metadata"].get("nbgrader", {}).get(kind)]


def assert_reference_solutions_pass(notebook, n_exercises):
    """Every solution cell of ``notebook``, run with its check in-process, is correct with full points."""
    solutions = _graded_cells(notebook, "solution")
    assert len(solutions) == n_exercises
    for c in solutions:
        result = run_exercise(notebook, _gid(c), _src(c))
        assert result.status == "correct", result.summary()
        assert result.points == result.max_points > 0
        graded = run_exercise_graded(notebook, _gid(c), _src(c))
        assert graded.status == "correct" and graded.points == result.points, graded.summary()


def assert_points_match(notebook, points, total):
    """The nbgrader points of the graded cells equal the check module's ``POINTS``, and sum to ``total``."""
    graded = {_gid(c): c["metadata"]["nbgrader"]["points"] for c in _graded_cells(notebook, "grade")}
    assert sum(graded.values()) == sum(points.values()) == total
    for gid, pts in graded.items():
        key = gid.split("_", 2)[2].removesuffix("_check")
        assert points[key] == pts, gid


def assert_time_and_prerequisites(notebook, requires):
    """The notebook states its prerequisites and a positive time estimate for every exercise."""
    meta = json.loads((ROOT / "solutions" / notebook).read_text())["metadata"]["bpfs"]
    assert meta["requires"] == requires
    exercises = {_gid(c) for c in _graded_cells(notebook, "solution")}
    assert set(meta["exercise_minutes"]) == exercises and all(m > 0 for m in meta["exercise_minutes"].values())


def assert_every_exercise_planted(notebook, planted):
    """Every exercise of ``notebook`` has at least one planted mistake in ``planted``, and no planted
    mistake names an exercise the notebook does not have."""
    exercises = {_gid(c) for c in _graded_cells(notebook, "solution")}
    assert exercises == {p[0] for p in planted}


def _no_line_text(message):
    return message.split(" of your code")[0]


def assert_planted_feedback(notebook, grade_id, answer, status, words):
    """A planted mistake earns no points, the intended diagnosis (``words``, in the message or the
    first hint), at least one hint, and no traceback from inside bpkit."""
    result = run_exercise(notebook, grade_id, answer)
    assert result.status == status, result.summary()
    assert result.points == 0
    text = result.message + " " + (result.hints[0] if result.hints else "")
    assert words in text, result.summary()
    assert result.hints, "a failing check must offer hints"
    assert "site-packages" not in result.summary() and "bpkit/" not in result.summary()
    graded = run_exercise_graded(notebook, grade_id, answer)         # the grader must say exactly the same
    # (the graded run runs cells in an IPython shell, which knows the text of the line that raised)
    assert (graded.status, _no_line_text(graded.message), graded.hints, graded.points) == \
        (result.status, _no_line_text(result.message), result.hints, result.points), graded.summary()


def assert_not_attempted(notebook, grade_id, stub):
    """The generated stub (``raise NotImplementedError()``) reports "not attempted yet"."""
    result = run_exercise(notebook, grade_id, stub)
    assert result.status == "not_attempted" and "not attempted yet" in str(result)
