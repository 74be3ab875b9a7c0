"""The fixes that named mistakes suggest work when a student follows them (issue 14).

Each row of ``FIXES`` is a planted wrong answer, a piece of code that the mistake's fix (one of
the verdict's hints) must contain word for word, and the answer with that code put in, as a
student following the hint would write it. The wrong answer must be given the mistake's name and
the fix, and the fixed answer must pass. ``EDITS`` (in ``_fix_edits.py``) does the same by editing
the reference solution. A fix in words only is listed in ``PROSE_FIXES`` (``_fix_prose.py``) with
the reason it is right; ``test_every_fix_text_is_run_or_reviewed`` fails for a named mistake whose
fix is in neither, so a new fix cannot slip by unrun.
"""

import ast
import importlib
import inspect

import pytest

from _fix_edits import EDITS
from _fix_prose import PROSE_FIXES
from _notebooks import ROOT, _cells, _gid, _src, run_exercise

NB = {1: "01_forward_pass.ipynb", 2: "02_losses.ipynb", 3: "03_chain_rule.ipynb", 4: "04_gradient_descent.ipynb",
      5: "05_activations.ipynb", 6: "06_training.ipynb", 7: "07_cnn.ipynb", 8: "08_rnn.ipynb", 9: "09_autoencoders.ipynb",
      10: "10_attention.ipynb"}

DXG = ("def conv2d_input_grad(dout, W, padding):\n    F, C, KH, KW = W.shape\n    P = padding\n"
       "    dp = np.pad(dout, ((0, 0), (0, 0), (KH - 1, KH - 1), (KW - 1, KW - 1)))\n"
       "    dx_pad, _ = ops.conv2d_forward(dp, W.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1], np.zeros(C))\n"
       "    return {CROP}\n")
LIN = "def linear_backward(dout, cache):\n    X, W = cache\n    db = {DB}\n    return dout @ W.T, X.T @ dout, db\n"
MSE = ("def mse_loss(pred, target):\n    diff = pred - target\n    dpred = {GRAD}\n"
       "    return float(np.mean(diff ** 2)), dpred\n")
BCE = ("def bce_with_logits(logits, target):\n    s, y = logits, target\n"
       "    loss = float(np.mean(np.maximum(s, 0) - s * y + np.log1p(np.exp(-np.abs(s)))))\n"
       "    grad = {GRAD}\n    return loss, grad\n")
DROP = ("def dropout(x, dout, p, u, training):\n    if not training:\n        return x, dout\n"
        "    mask = {MASK}\n    return x * mask, dout * mask\n")
BN = ("def batchnorm_backward(dout, xhat, gamma, inv_std):\n    N = {N}\n    dbeta = dout.sum(axis=0)\n"
      "    dgamma = (dout * xhat).sum(axis=0)\n    dx = gamma * inv_std / N * (N * dout - dbeta - xhat * dgamma)\n"
      "    return dx, dgamma, dbeta\n")
STEP = ("def rnn_step_backward(dh, x, h_prev, Wx, Wh, b, h):\n    dz = {DZ}\n"
        "    return dz @ Wx.T, dz @ Wh.T, x.T @ dz, h_prev.T @ dz, dz.sum(axis=0)\n")
BPTT = ("def rnn_backward(dh, x, h0, Wx, Wh, h):\n    N, T, H = h.shape\n    dx = np.zeros_like(x)\n"
        "    dWx, dWh, db = np.zeros_like(Wx), np.zeros_like(Wh), np.zeros(H)\n    dnext = np.zeros((N, H))\n"
        "    for t in reversed(range(T)):\n        dz = (dh[:, t] + dnext) * (1 - h[:, t] ** 2)\n"
        "        {PREV}\n        dx[:, t] = dz @ Wx.T\n        dWx += x[:, t].T @ dz\n"
        "        dWh += h_prev.T @ dz\n        db += dz.sum(axis=0)\n        dnext = dz @ Wh.T\n"
        "    return dx, dnext, dWx, dWh, db\n")
CELL = ("def lstm_cell_backward(dh, dc_next, c_prev, i, f, o, g, c):\n    dc = {DC}\n"
        "    return dc * f, dc * g, dc * c_prev, dh * np.tanh(c), dc * i\n")
DENSE = "def dense_forward(X, W, b):\n    return {OUT}\n"
SIG = "def sigmoid_backward(dout, cache):\n    a = cache\n    dz = {DZ}\n    return dz\n"
TANH = "def tanh_backward(dout, a):\n    dz = {DZ}\n    return dz\n"
ADAM = ("def adam_step(p, g, m, v, t, lr, beta1, beta2, eps):\n    m = beta1 * m + (1 - beta1) * g\n"
        "    v = beta2 * v + (1 - beta2) * g * g\n    m_hat, v_hat = {HAT}\n"
        "    return p - lr * m_hat / (np.sqrt(v_hat) + eps), m, v\n")
PG = ("def conv2d_param_grads(x, W, dout, stride, padding):\n    F, C, KH, KW = W.shape\n"
      "    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))\n"
      "{INIT}    for n in range(x.shape[0]):\n{INNER}        for i in range(dout.shape[2]):\n"
      "            for j in range(dout.shape[3]):\n"
      "                window = xp[n, :, i * stride:i * stride + KH, j * stride:j * stride + KW]\n"
      "                dW += dout[n, :, i, j][:, None, None, None] * window\n"
      "    return dW, dout.sum(axis=(0, 2, 3))\n")
TIED = ("def tied_backward(X, W, b1, b2, dX_hat):\n    Z = X @ W + b1\n    dZ = dX_hat @ W\n"
        "    dW = {DW}\n    return dW, dZ.sum(axis=0), dX_hat.sum(axis=0)\n")

FIXES = [
    # (chapter, exercise, wrong answer, words of the label, code the fix must contain, fixed answer)
    (1, "ex1_2_dense_forward", DENSE.format(OUT="X @ W"), "the bias is missing", "X @ W + b",
     DENSE.format(OUT="X @ W + b")),
    (2, "ex2_1_mse_loss", MSE.format(GRAD="2 * diff / len(pred)"), "divides by N = len(pred), the rows",
     "2 (p - y) / n", MSE.format(GRAD="2 * diff / diff.size")),
    (2, "ex2_2_bce_with_logits", BCE.format(GRAD="(ops.sigmoid(s) - y) / len(s)"),
     "its gradient divides by the rows", "(sigmoid(s) - y) / n", BCE.format(GRAD="(ops.sigmoid(s) - y) / s.size")),
    (3, "ex3_4_linear_backward", LIN.format(DB="dout.sum(axis=0, keepdims=True)"), "db keeps the summed axis",
     "without keepdims", LIN.format(DB="dout.sum(axis=0)")),
    (3, "ex3_4_linear_backward", LIN.format(DB="dout.sum(axis=1)"), "db is summed over the wrong axis",
     "axis 0", LIN.format(DB="dout.sum(axis=0)")),
    (3, "ex3_5_sigmoid_backward", SIG.format(DZ="dout / (1 + np.exp(-a)) * (1 - 1 / (1 + np.exp(-a)))"),
     "the sigmoid is applied to the cache again", "dz = dout * a * (1 - a)", SIG.format(DZ="dout * a * (1 - a)")),
    (4, "ex4_4_adam_step", ADAM.format(HAT="m, v"), "the bias correction is missing",
     "m_hat = m / (1 - beta1**t), v_hat = v / (1 - beta2**t)",
     ADAM.format(HAT="m / (1 - beta1**t), v / (1 - beta2**t)")),
    (5, "ex5_1_tanh_backward", TANH.format(DZ="dout * (1 - np.tanh(a) ** 2)"), "wrong variable",
     "dz = dout * (1 - a**2)", TANH.format(DZ="dout * (1 - a**2)")),
    (6, "ex6_3_dropout", DROP.format(MASK="(np.random.default_rng(0).random(x.shape) >= p) / (1 - p)"),
     "the mask comes from random numbers of your own", "keep a unit where u >= p", DROP.format(MASK="(u >= p) / (1 - p)")),
    (6, "ex6_4_batchnorm_backward", BN.format(N="xhat.shape[1]"), "N is taken from the wrong axis",
     "N = dout.shape[0]", BN.format(N="dout.shape[0]")),
    (7, "ex7_4_conv2d_input_grad", DXG.format(CROP="dx_pad"), "dx has the shape of the padded input",
     "dx = dx_pad[:, :, P:dx_pad.shape[2] - P, P:dx_pad.shape[3] - P]",
     DXG.format(CROP="dx_pad[:, :, P:dx_pad.shape[2] - P, P:dx_pad.shape[3] - P]")),
    (7, "ex7_4_conv2d_input_grad", DXG.format(CROP="dx_pad[:, :, P:-P, P:-P]"), "the crop [P:-P] is empty when P = 0",
     "dx = dx_pad[:, :, P:dx_pad.shape[2] - P, P:dx_pad.shape[3] - P]",
     DXG.format(CROP="dx_pad[:, :, P:dx_pad.shape[2] - P, P:dx_pad.shape[3] - P]")),
    (7, "ex7_3_conv2d_param_grads", PG.format(INIT="", INNER="        dW = np.zeros_like(W)\n"),
     "dW holds the last example's contribution only", "Start from dW = np.zeros_like(W) and use +=",
     PG.format(INIT="    dW = np.zeros_like(W)\n", INNER="")),
    (8, "ex8_1_rnn_step_backward", STEP.format(DZ="dh * (1 - h)"), "the tanh derivative is written 1 - h",
     "1 - tanh(z)**2", STEP.format(DZ="dh * (1 - h**2)")),
    (8, "ex8_2_rnn_backward", BPTT.format(PREV="h_prev = h[:, t - 1]"), "at t = 0 the previous state",
     "h_prev = h[:, t - 1] if t > 0 else h0", BPTT.format(PREV="h_prev = h[:, t - 1] if t > 0 else h0")),
    (8, "ex8_6_lstm_cell_backward", CELL.format(DC="dc_next + dh * o * (1 - np.tanh(c))"),
     "written 1 - tanh(c)", "1 - tanh(c)**2", CELL.format(DC="dc_next + dh * o * (1 - np.tanh(c)**2)")),
    (9, "ex9_3_tied_backward", TIED.format(DW="X.T @ dZ + Z.T @ dX_hat"), "the decoder's share is not transposed",
     "dX_hat.T @ Z", TIED.format(DW="X.T @ dZ + dX_hat.T @ Z")),
]


@pytest.mark.parametrize("chapter, gid, wrong, label, code, fixed", FIXES)
def test_following_a_named_mistakes_fix_gives_a_passing_answer(chapter, gid, wrong, label, code, fixed):
    result = run_exercise(NB[chapter], gid, wrong)
    assert result.status == "incorrect" and label in (result.mistake or ""), result.summary()
    assert any(code in h for h in result.hints + [result.message]), (code, result.hints)
    assert run_exercise(NB[chapter], gid, fixed).passed, run_exercise(NB[chapter], gid, fixed).summary()


def test_the_old_advice_for_the_uncropped_dx_is_named_for_what_it_does():
    """7.4 used to advise dx_pad[:, :, P:-P, P:-P]: empty for P = 0, the first test case."""
    result = run_exercise(NB[7], "ex7_4_conv2d_input_grad", DXG.format(CROP="dx_pad[:, :, P:-P, P:-P]"))
    assert result.mistake.startswith("the crop [P:-P] is empty when P = 0")
    assert not any("= dx_pad[:, :, P:-P" in h for h in result.hints)
    assert "test case 1 of 4" in result.details[0] and "padding=0" in result.details[0]


# -- fixes planted by editing the reference solution ------------------------------------------------

def _solution(gid):
    nb = NB[int(gid[2:].split("_")[0])]
    return nb, next(_src(c) for c in _cells(ROOT / "solutions" / nb) if _gid(c) == gid)


def _edit(source, pairs):
    for old, new in pairs:
        assert source.count(old) == 1, f"{old!r} occurs {source.count(old)} times in the solution"
        source = source.replace(old, new)
    return source


@pytest.mark.filterwarnings("ignore::RuntimeWarning")      # planted answers that overflow on purpose
@pytest.mark.parametrize("gid, wrong, label, code, fixed", EDITS, ids=[f"{r[0]}-{r[2][:30]}" for r in EDITS])
def test_following_a_fix_on_the_solution_gives_a_passing_answer(gid, wrong, label, code, fixed):
    nb, solution = _solution(gid)
    result = run_exercise(nb, gid, _edit(solution, wrong))
    assert result.status == "incorrect" and label in (result.mistake or ""), result.summary()
    assert any(code in h for h in result.hints), (code, result.hints)
    fixed_result = run_exercise(nb, gid, _edit(solution, fixed) if fixed else solution)
    assert fixed_result.passed, fixed_result.summary()


# -- every named mistake's fix is run above or reviewed in PROSE_FIXES ------------------------------

def _named_mistakes():
    """``{(grade_id, label, hint): {(file, line), ...}}`` of every Mistake the checks of Chapters 1-10 create.

    Each exercise's check that names mistakes runs on its generated stub (most checks build their mistakes
    before calling the student); a check that built none that way runs on the reference solution.
    """
    import bpkit.checks._engine as engine
    made, current = {}, [None]
    original = engine.Mistake.__init__

    def record(self, *args, **kwargs):
        original(self, *args, **kwargs)
        frame = inspect.currentframe().f_back
        while frame.f_code.co_filename == "<string>":            # the dataclass's generated __init__
            frame = frame.f_back
        made.setdefault((current[0], self.label, self.hint), set()).add((frame.f_code.co_filename, frame.f_lineno))

    engine.Mistake.__init__ = record
    try:
        for chapter, nb in NB.items():
            stubs = {_gid(c): _src(c) for c in _cells(ROOT / "exercises" / nb)}
            checks = importlib.import_module(f"bpkit.checks.ch{chapter:02d}")
            calls = {_gid(c): _src(c).strip().splitlines()[-1] for c in _cells(ROOT / "solutions" / nb)}
            for c in _cells(ROOT / "solutions" / nb):
                if not c["metadata"].get("nbgrader", {}).get("solution"):
                    continue
                current[0] = gid = _gid(c)
                source = inspect.getsource(getattr(checks, calls[gid + "_check"].split("(")[0].split(".")[-1]))
                if "Mistake(" not in source and "_mistakes(" not in source:
                    continue                                    # a check without named mistakes (a number)
                before = len(made)
                run_exercise(nb, gid, stubs[gid])
                if len(made) == before:
                    run_exercise(nb, gid, _src(c))
    finally:
        engine.Mistake.__init__ = original
    return made


def _mistake_sites():
    """``(file, line)`` of every ``Mistake(...)`` call in the check modules of the chapters."""
    sites = set()
    for path in sorted((ROOT / "bpkit" / "checks").glob("ch*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "Mistake":
                sites.add((str(path), node.lineno))
    return sites


def _run_rows():
    rows = [(gid, label, code) for _, gid, _, label, code, _ in FIXES]
    return rows + [(gid, label, code) for gid, _, label, code, _ in EDITS]


def test_every_fix_text_is_run_or_reviewed():
    made = _named_mistakes()
    assert set().union(*made.values()) == _mistake_sites(), "a Mistake that no exercise's check creates"
    rows = _run_rows()
    unreviewed, reviewed = [], set()
    for gid, label, hint in made:
        if any(g == gid and words in label and code in hint for g, words, code in rows):
            continue
        key = next((k for k in PROSE_FIXES if k[0] == gid and label.startswith(k[1])), None)
        if key is None:
            unreviewed.append(f"{gid}: {label[:60]!r} -> {hint!r}")
        reviewed.add(key)
    assert not unreviewed, "fixes neither run (FIXES, EDITS) nor reviewed (PROSE_FIXES):\n" + "\n".join(unreviewed)
    assert not set(PROSE_FIXES) - reviewed, f"PROSE_FIXES names no mistake: {sorted(set(PROSE_FIXES) - reviewed)}"
    for key, why in PROSE_FIXES.items():
        assert len(why) > 15, key
