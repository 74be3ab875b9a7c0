"""Exercise notebooks: unsolved they say "not attempted yet"; a planted mistake gets its hint.

The solution notebooks are the single source. The test for each exercise replaces the
solution with a typical wrong answer and asserts that the check fails with the intended
diagnosis: a check that cannot fail is a defect.
"""

import pytest

from _notebooks import ROOT, _cells, _gid, _src, run_exercise


def test_the_reference_solutions_pass_in_process():
    cells = _cells(ROOT / "solutions" / "01_forward_pass.ipynb")
    for c in cells:
        if c["metadata"].get("nbgrader", {}).get("solution"):
            result = run_exercise("01_forward_pass.ipynb", _gid(c), _src(c))
            assert result.status == "correct", result.summary()
            assert result.points == result.max_points > 0


PLANTED = [
    # (exercise, wrong answer, expected status, words the verdict or first hint must contain)
    ("ex1_1_neuron", "def neuron(x, w, b):\n    return float(np.dot(x, w) + b)",
     "incorrect", "activation is missing"),
    ("ex1_1_neuron", "def neuron(x, w, b):\n    return float(1 / (1 + np.exp(-np.dot(x, w))))",
     "incorrect", "bias is missing"),
    ("ex1_1_neuron", "def neuron(x, w, b):\n    return float(1 / (1 + np.exp(-np.dot(x, w)))) + b",
     "incorrect", "bias is added after the activation"),
    ("ex1_2_dense_forward", "def dense_forward(X, W, b):\n    return X @ W",
     "incorrect", "bias is missing"),
    ("ex1_2_dense_forward", "def dense_forward(X, W, b):\n    return (X @ W + b).T",
     "incorrect", "transposed"),
    ("ex1_2_dense_forward", "def dense_forward(X, W, b):\n    return X @ W + b.reshape(-1, 1)",
     "error", "cannot be combined element by element"),
    ("ex1_2_dense_forward", "def dense_forward(X, W, b):\n    return X @ W.T + b",
     "error", "inner sizes of a matrix product"),
    ("ex1_2_dense_forward", "def dense_forward(X, W, b):\n    return X @ W + bias",
     "error", "NameError: name 'bias' is not defined"),
    ("ex1_3_sigmoid", "def sigmoid(z):\n    return 1 / (1 + np.exp(-z))",
     "incorrect", "overflowed"),
    ("ex1_3_sigmoid", "def sigmoid(z):\n    e = np.exp(-np.abs(z))\n    return np.where(z >= 0, e / (1 + e), 1 / (1 + e))",
     "incorrect", "1 - sigmoid(z)"),
    ("ex1_4_mlp_forward", "def mlp_forward(X, p):\n    return ops.sigmoid((X @ p['W1'] + p['b1']) @ p['W2'] + p['b2'])",
     "incorrect", "collapses to one linear map"),
    ("ex1_4_mlp_forward", "def mlp_forward(X, p):\n    return np.tanh(X @ p['W1'] + p['b1']) @ p['W2'] + p['b2']",
     "incorrect", "output sigmoid is missing"),
    ("ex1_5_forward_flops", "def forward_flops(sizes, N):\n    return sum(N * d * m for d, m in zip(sizes[:-1], sizes[1:]))",
     "incorrect", "multiply-adds"),
    ("ex1_5_forward_flops", "def forward_flops(sizes, N):\n    return sum(2 * d * m for d, m in zip(sizes[:-1], sizes[1:]))",
     "incorrect", "batch size N is missing"),
    ("ex1_5_forward_flops",
     "def forward_flops(sizes, N):\n    return sum(N * m * (2 * d - 1) for d, m in zip(sizes[:-1], sizes[1:]))",
     "incorrect", "the bias additions are missing"),
    ("ex1_6_bias_through_point", "def bias_through_point():\n    explorer.b = -0.9\n    return explorer.b",
     "incorrect", "too large"),
    ("ex1_6_bias_through_point", "def bias_through_point():\n    return explorer.b",          # slider never moved
     "incorrect", "0 is too large"),
    ("ex1_7_xor_weights", "def xor_weights():\n    return playground.weights",                  # random start
     "incorrect", "wrong or undecided"),
    ("ex1_7_xor_weights",
     "def xor_weights():\n    playground.set_weights(W1=[[10, 10], [10, 10]], b1=[-5, -15], W2=[[10], [10]], b2=[-5])\n"
     "    return playground.weights",                                                           # OR, not XOR
     "incorrect", "11"),
    ("ex1_7_xor_weights", "def xor_weights():\n    return {'W1': [[1, 1]], 'b1': [0, 0], 'W2': [[1], [1]], 'b2': [0]}",
     "incorrect", "W1 must have shape (2, 2), got (1, 2)"),
]


@pytest.mark.parametrize("grade_id, answer, status, words", PLANTED, ids=[f"{p[0]}-{i}" for i, p in enumerate(PLANTED)])
def test_planted_mistake_gets_the_intended_feedback(grade_id, answer, status, words):
    result = run_exercise("01_forward_pass.ipynb", grade_id, answer)
    assert result.status == status, result.summary()
    assert result.points == 0
    text = result.message + " " + (result.hints[0] if result.hints else "")
    assert words in text, result.summary()
    assert result.hints, "a failing check must offer hints"
    assert "site-packages" not in result.summary() and "bpkit/" not in result.summary()


def test_flops_without_the_bias_get_the_bias_hint():
    """Counting the matrix product alone, N M (2D - 1) per layer, is named and the hint gives the 2D count."""
    answer = "def forward_flops(sizes, N):\n    return sum(N * m * (2 * d - 1) for d, m in zip(sizes[:-1], sizes[1:]))"
    result = run_exercise("01_forward_pass.ipynb", "ex1_5_forward_flops", answer)
    assert result.status == "incorrect" and result.points == 0, result.summary()
    assert result.mistake == "the bias additions are missing: you count N M (2D - 1) per layer, the matrix product alone"
    assert result.hints[0] == ("Each of the N*M outputs of Z = XW + b also adds its bias: D - 1 additions for the "
                               "sum, 1 for the bias, so 2D FLOPs per output.")


def test_every_exercise_has_a_planted_mistake():
    cells = _cells(ROOT / "solutions" / "01_forward_pass.ipynb")
    exercises = {_gid(c) for c in cells if c["metadata"].get("nbgrader", {}).get("solution")}
    assert exercises == {p[0] for p in PLANTED}


def test_unsolved_stub_is_not_attempted():
    stub = "def neuron(x, w, b):\n    # YOUR CODE HERE\n    raise NotImplementedError()"
    result = run_exercise("01_forward_pass.ipynb", "ex1_1_neuron", stub)
    assert result.status == "not_attempted" and "not attempted yet" in str(result)


@pytest.mark.parametrize("path", sorted((ROOT / "exercises").glob("*.ipynb")), ids=lambda p: p.name)
def test_unsolved_exercise_notebook_runs_in_a_kernel_and_says_not_attempted(path):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.read(path, as_version=4)
    graded = [c for c in nb.cells if c.get("metadata", {}).get("nbgrader", {}).get("grade")]
    nbclient.NotebookClient(nb, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(ROOT)}}).execute()
    verdicts = [o["data"]["text/plain"] for c in graded for o in c.outputs if o.get("output_type") == "execute_result"]
    assert len(verdicts) == len(graded) >= 6, "every check cell shows one verdict"
    assert all(": not attempted yet - " in v for v in verdicts), verdicts
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.get("output_type") == "error"]
    assert errors == []
