"""bpkit.checks (the core) and bpkit.checks.ch01, called directly with Python functions.

For every Chapter 1 check: the bpkit reference is "correct", a stub is "not attempted yet",
a crash is an "error" that names the exception and the student's own line (never a bpkit
path), the student's arrays are never changed, and typical mistakes get their specific
diagnosis. ``test_exercises.py`` does the same through the notebooks; this file tests the
machinery underneath without them.
"""

import copy
import linecache
import os
import warnings

import numpy as np
import pytest

import bpkit
from bpkit import ops
from bpkit.checks._context import references_permitted
from bpkit.checks import CheckResult, Mistake, check_function, check_value, compare_arrays, ch01

BPKIT_DIR = os.path.dirname(os.path.abspath(bpkit.__file__))

XOR_WEIGHTS = {"W1": np.array([[10.0, 10.0], [10.0, 10.0]]), "b1": np.array([-5.0, -15.0]),
               "W2": np.array([[10.0], [-10.0]]), "b2": np.array([-5.0])}


# ----------------------------------------------------------------------------- reference answers

def neuron(x, w, b):
    return float(ops.sigmoid(np.dot(x, w) + b))


def dense_forward(X, W, b):
    return ops.linear_forward(X, W, b)[0]


def stable_sigmoid(z):
    return ops.sigmoid(z)


#: check -> (correct answer, stub raising NotImplementedError, answer raising ZeroDivisionError)
def _stub(*args):
    raise NotImplementedError()


def _crash_fn(*args):
    return 1 / 0                                                   # the student's own line


CHECKS = {
    "neuron": (ch01.check_neuron, neuron),
    "dense_forward": (ch01.check_dense_forward, dense_forward),
    "sigmoid": (ch01.check_sigmoid, stable_sigmoid),
    "mlp_forward": (ch01.check_mlp_forward, ch01.mlp_forward),
    "forward_flops": (ch01.check_forward_flops, ch01.forward_flops),
    "bias_through_point": (ch01.check_bias_through_point, lambda: -1.0),
    "xor_weights": (ch01.check_xor_weights, lambda: copy.deepcopy(XOR_WEIGHTS)),
}


def _no_internal_paths(result):
    """Everything the student can see: verdict, details and every hint."""
    while result.next_hint() is not None:
        pass
    text = result.summary()
    assert BPKIT_DIR not in text and "bpkit/" not in text and "site-packages" not in text, text
    assert "Traceback" not in text and 'File "' not in text, text
    return text


def test_the_table_covers_every_check_in_ch01():
    checks = {n[len("check_"):] for n in ch01.__all__ if n.startswith("check_")}
    assert checks == set(CHECKS) == set(ch01.POINTS)


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_reference_answer_is_correct_and_earns_the_points(name):
    check, answer = CHECKS[name]
    with references_permitted():             # some answers here are the checks' own references
        result = check(answer)
    assert isinstance(result, CheckResult)
    assert result.status == "correct" and result.passed, result.summary()
    assert result.points == result.max_points == ch01.POINTS[name]
    assert result.verdict.startswith("Exercise 1.") and f"({name}): correct - " in result.verdict
    assert str(result) == repr(result) == result.verdict


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_stub_is_not_attempted(name):
    check, _ = CHECKS[name]
    result = check(_stub)
    assert result.status == "not_attempted", result.summary()
    assert ": not attempted yet - " in result.verdict
    assert result.points == 0 and not result.passed


@pytest.mark.parametrize("name", ["bias_through_point", "xor_weights"])
@pytest.mark.parametrize("blank", [None, ...])
def test_value_checks_left_blank_are_not_attempted(name, blank):
    result = CHECKS[name][0](blank)
    assert result.status == "not_attempted" and result.points == 0


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_crash_is_an_error_naming_the_exception_and_the_students_line(name):
    check, _ = CHECKS[name]
    result = check(_crash_fn)
    assert result.status == "error", result.summary()
    assert "your code raised ZeroDivisionError: division by zero" in result.message
    assert "test_checks_core.py: return 1 / 0" in result.message          # the student's own line
    assert result.points == 0
    _no_internal_paths(result)


def test_error_in_notebook_code_is_reported_as_your_code():
    """Code run in a notebook has a pseudo file name; the check says "your code" and shows the line."""
    filename = "<ipython-input-7-0123456789ab>"
    src = "def dense_forward(X, W, b):\n    Y = X @ W\n    return Y + b[10]\n"
    linecache.cache[filename] = (len(src), None, src.splitlines(True), filename)   # as IPython does
    try:
        ns = {}
        exec(compile(src, filename, "exec"), ns)
        result = ch01.check_dense_forward(ns["dense_forward"])
    finally:
        del linecache.cache[filename]
    assert result.status == "error"
    assert "IndexError" in result.message
    assert "(line 3 of your code: return Y + b[10])" in result.message
    _no_internal_paths(result)


def test_not_a_function_is_an_error_that_says_what_to_pass():
    result = ch01.check_dense_forward(np.ones((2, 2)))             # the student called it and passed the result
    assert result.status == "error"
    assert "expected a function, got ndarray" in result.message and "without calling it" in result.message


def test_a_check_never_raises_whatever_the_student_returns():
    for answer in (lambda X, W, b: None, lambda X, W, b: "Y", lambda X, W, b: {"Y": 1}, lambda X, W, b: [[1, 2], 3]):
        result = ch01.check_dense_forward(answer)
        assert result.status == "incorrect", result.summary()
        assert result.points == 0


# ----------------------------------------------------------------------------- the student's arrays stay

def test_check_never_changes_the_students_weights():
    weights = copy.deepcopy(XOR_WEIGHTS)
    ch01.check_xor_weights(weights)
    ch01.check_xor_weights(lambda: weights)
    for k, v in XOR_WEIGHTS.items():
        np.testing.assert_array_equal(weights[k], v)
        assert weights[k].dtype == v.dtype and weights[k].shape == v.shape


def test_check_function_never_changes_the_students_cases_even_if_the_function_does():
    X, W, b = np.arange(6.0).reshape(2, 3), np.ones((3, 2)), np.array([0.5, -0.5])
    cases = [(X, W, b)]
    saved = copy.deepcopy(cases)

    def in_place(X, W, b):
        X *= 2                                                      # mutates its (copied) input
        return X @ W + b

    result = check_function(in_place, dense_forward, cases, name="t")
    assert result.status == "incorrect" and result.mistake == "mutates input"
    assert "changed `X` in place" in result.message
    assert any("X: 5 of 6 entries changed; the first at (0, 1) was 1 before the call and 2 after it" in d for d in result.details), result.details
    for got, want in zip(cases[0], saved[0]):
        np.testing.assert_array_equal(got, want)


def test_check_function_takes_a_per_exercise_mutation_message():
    X, W, b = np.arange(6.0).reshape(2, 3), np.ones((3, 2)), np.array([0.5, -0.5])

    def in_place(X, W, b):
        X *= 2
        return X @ W + b

    result = check_function(in_place, dense_forward, [(X, W, b)], name="t",
                            mutation_message="X was not restored exactly.")
    assert result.status == "incorrect" and result.mistake == "mutates input"
    assert result.message == "X was not restored exactly."


def test_mutating_sigmoid_is_told_so():
    def sigmoid(z):
        z *= -1
        return 1 / (1 + np.exp(np.clip(z, -700, 700)))             # right value from a mutated z
    result = ch01.check_sigmoid(sigmoid)
    assert result.status == "incorrect" and result.mistake == "mutates input"


def test_compare_arrays_does_not_touch_its_inputs():
    got, exp = np.array([1.0, np.nan]), np.array([1.0, 2.0])
    ok, details = compare_arrays(got, exp)
    assert not ok and any("nan or inf" in d for d in details)
    np.testing.assert_array_equal(exp, [1.0, 2.0])
    assert np.isnan(got[1]) and got[0] == 1.0


# ----------------------------------------------------------------------------- planted mistakes (ch01)

def _diagnosis(result, label, first_hint):
    assert result.status == "incorrect", result.summary()
    assert result.points == 0
    assert result.mistake == label and f"it looks like {label}." in result.message
    assert result.hints[0] == first_hint
    _no_internal_paths(result)


def test_forgotten_bias_in_dense_forward():
    _diagnosis(ch01.check_dense_forward(lambda X, W, b: X @ W), "the bias is missing",
               "Add b: it broadcasts over the N rows.")


def test_forgotten_bias_in_neuron():
    _diagnosis(ch01.check_neuron(lambda x, w, b: float(ops.sigmoid(np.dot(x, w)))), "the bias is missing",
               "The neuron adds b to the weighted sum before the activation.")


def test_transposed_W_with_non_square_W_is_an_error_with_the_transpose_advice():
    result = ch01.check_dense_forward(lambda X, W, b: X @ W.T + b)
    assert result.status == "error" and "ValueError" in result.message and "matmul" in result.message
    assert result.hints[0].startswith("The inner sizes of a matrix product must agree")
    assert "a transpose is probably missing or one too many" in result.hints[0]
    assert "test_checks_core.py: result = ch01.check_dense_forward(lambda X, W, b: X @ W.T + b)" in result.message
    _no_internal_paths(result)


def test_transposed_W_is_named_when_the_shapes_let_it_through():
    """With square W, X @ W.T runs and gives wrong numbers: the mistake catalogue names it."""
    def dense(X, W, b):
        return (X @ W.T if W.shape[0] == W.shape[1] else X @ W) + b
    _diagnosis(ch01.check_dense_forward(dense), "W is transposed (X @ W.T)",
               "W has shape (D, M): X (N, D) @ W (D, M) gives (N, M) without a transpose.")


def test_bias_summed_into_a_scalar():
    _diagnosis(ch01.check_dense_forward(lambda X, W, b: X @ W + b.sum()), "the bias was summed into one number",
               "Each output unit m has its own bias b[m]; add the vector b, not b.sum().")


def test_products_not_summed_in_neuron():
    _diagnosis(ch01.check_neuron(lambda x, w, b: ops.sigmoid(x * w + b)),
               "x * w is not summed: the weighted sum needs np.dot(x, w) (or (x * w).sum())",
               "Sum the products x_j w_j over j.")


def test_mean_instead_of_sum_in_neuron():
    result = ch01.check_neuron(lambda x, w, b: float(ops.sigmoid(np.mean(x * w) + b)))
    assert result.status == "incorrect" and result.mistake is not None
    assert "mean" in result.message and "sum" in result.message


def test_wrong_sign_in_sigmoid():
    _diagnosis(ch01.check_sigmoid(lambda z: 1 / (1 + np.exp(np.clip(z, -700, 700)))),
               "this is 1 - sigmoid(z): the sign of z in exp is flipped", "sigmoid(z) = 1 / (1 + exp(-z)).")


def test_wrong_sign_of_the_whole_result_is_diagnosed_generically():
    result = ch01.check_dense_forward(lambda X, W, b: -(X @ W + b))
    assert result.status == "incorrect" and result.mistake == "the sign is wrong"
    assert result.message == "output: the sign is wrong."


def test_naive_sigmoid_overflow_is_incorrect_with_the_stability_hint_and_no_warning():
    def sigmoid(z):
        return 1 / (1 + np.exp(-z))
    with warnings.catch_warnings():
        warnings.simplefilter("error")                              # a leaked RuntimeWarning would fail here
        result = ch01.check_sigmoid(sigmoid)
    assert result.status == "incorrect" and result.mistake == "overflow"
    assert result.message.startswith("np.exp overflowed for a large |z|")
    assert "the naive formula is not stable" in result.message
    assert "test_checks_core.py: return 1 / (1 + np.exp(-z))" in result.message
    assert result.hints[0] == ("1 / (1 + np.exp(-z)) is right in exact arithmetic, but exp(-z) overflows "
                               "for z = -1000.")
    assert result.points == 0
    _no_internal_paths(result)


def test_missing_hidden_activation_in_mlp():
    _diagnosis(ch01.check_mlp_forward(lambda X, p: ops.sigmoid((X @ p["W1"] + p["b1"]) @ p["W2"] + p["b2"])),
               "the hidden activation is missing, so the network collapses to one linear map",
               "Apply tanh to the hidden pre-activation X @ W1 + b1.")


def test_flops_without_the_factor_two():
    _diagnosis(ch01.check_forward_flops(lambda s, N: sum(N * d * m for d, m in zip(s[:-1], s[1:]))),
               "you count multiply-adds (N D M per layer), not FLOPs (2 N D M)",
               "Each multiply-add is two floating-point operations.")


def test_bias_through_point_says_which_side_and_the_tolerance():
    low, high = ch01.check_bias_through_point(-1.5), ch01.check_bias_through_point(-0.9)
    assert low.status == high.status == "incorrect"
    assert "-1.5 is too small" in low.message and "-0.9 is too large" in high.message
    assert "tolerance +-0.025 (half the slider step of 0.05)" in high.message
    assert ch01.check_bias_through_point(-1.02).status == "correct"


def test_xor_weights_of_wrong_shape_or_an_or_gate():
    bad = dict(XOR_WEIGHTS, W1=np.ones((1, 2)))
    assert ch01.check_xor_weights(bad).message == "W1 must have shape (2, 2), got (1, 2)."
    or_gate = dict(XOR_WEIGHTS, W2=np.array([[10.0], [10.0]]))
    result = ch01.check_xor_weights(or_gate)
    assert result.status == "incorrect" and "wrong or undecided on input(s) 11" in result.message
    missing = ch01.check_xor_weights({k: v for k, v in XOR_WEIGHTS.items() if k != "W2"})
    assert missing.status == "error" and "weights must be a dict with keys W1, b1, W2, b2" in missing.message


# ----------------------------------------------------------------------------- the core: generic diagnoses

def _mean_sq(X):
    return np.mean(X ** 2, axis=0)


@pytest.mark.parametrize("student, text", [
    (lambda X: np.sum(X ** 2, axis=0), "N = 4 times the correct value: a sum where a mean over the batch is needed"),
    (lambda X: np.mean(X ** 2, axis=0) / 4, "1/N = 1/4 of the correct value: a mean where a sum over the batch"),
    (lambda X: 2 * np.mean(X ** 2, axis=0), "twice the correct value (an extra factor 2?)"),
    (lambda X: 0.5 * np.mean(X ** 2, axis=0), "half the correct value"),
    (lambda X: -np.mean(X ** 2, axis=0), "the sign is wrong"),
    (lambda X: X ** 2 / 4, "the result is not summed over the batch (axis 0)"),
])
def test_generic_diagnoses(student, text):
    X = np.arange(1.0, 13.0).reshape(4, 3)
    result = check_function(student, _mean_sq, [(X,)], name="Exercise 0 (mean_sq)", hints=["h1", "h2"],
                            batch_size_of=lambda X: X.shape[0])
    assert result.status == "incorrect"
    assert text in result.message and result.mistake.startswith(text[:20])
    assert result.hints == ["h1", "h2"]


def test_sum_versus_mean_needs_the_batch_size():
    X = np.arange(1.0, 13.0).reshape(4, 3)
    result = check_function(lambda X: np.sum(X ** 2, axis=0), _mean_sq, [(X,)], name="t")
    assert result.status == "incorrect" and result.mistake is None
    assert "first differing entry at (0,)" in result.message


def test_broadcasting_trap_is_named():
    y = np.arange(4.0)
    result = check_function(lambda y: y.reshape(-1, 1) - y, lambda y: y - y, [(y,)], name="t")
    assert result.status == "incorrect" and "broadcasting turned a (4,) result into (4, 4)" in result.message


def test_mistakes_are_tried_in_order_and_their_hint_comes_first():
    X = np.arange(6.0).reshape(2, 3)
    broken = Mistake("never matches", lambda X: 1 / 0, "unused")      # a failing make() is skipped
    first = Mistake("doubled", lambda X: 2 * X, "Remove the factor 2.")
    second = Mistake("doubled again", lambda X: 2 * X, "not shown")
    result = check_function(lambda X: 2 * X, lambda X: X, [(X,)], name="t", hints=["general"],
                            mistakes=[broken, first, second])
    assert result.mistake == "doubled" and result.hints == ["Remove the factor 2.", "general"]


def test_tuple_outputs_are_named_and_counted():
    def ref(x):
        return x, 2 * x, 3 * x
    x = np.ones(3)
    wrong_count = check_function(lambda x: (x, 2 * x), ref, [(x,)], name="t", output_names=("dx", "dW", "db"))
    assert wrong_count.status == "incorrect"
    assert wrong_count.message == "return 3 values (dx, dW, db) as a tuple; got tuple of length 2."
    wrong_db = check_function(lambda x: (x, 2 * x, 4 * x), ref, [(x,)], name="t", output_names=("dx", "dW", "db"))
    assert wrong_db.status == "incorrect" and wrong_db.message.startswith("test case 1 of 1 (x of shape (3,)): db: ")


def test_later_cases_are_checked_too():
    cases = [(np.ones(2),), (np.array([1.0, -1.0]),)]
    result = check_function(lambda z: np.abs(z), lambda z: z, cases, name="t")
    assert result.status == "incorrect" and "test case 2 of 2 (z of shape (2,))" in result.details
    assert result.message.startswith("test case 2 of 2 (z of shape (2,)): output: first differing entry at (1,)")


def test_correct_function_gets_all_points_and_no_mistake():
    result = check_function(lambda X: X + 0, lambda X: X, [(np.ones(2),)] * 3, name="t", points=2.5)
    assert result.status == "correct" and result.points == result.max_points == 2.5 and result.mistake is None
    assert result.message == "all 3 test cases match the reference."


# ----------------------------------------------------------------------------- check_value and CheckResult

def test_check_value():
    kw = dict(expected=1.0, name="v", tol=0.25, why="the slider step", unit=" m")
    assert check_value(1.25, **kw).status == "correct"                    # the tolerance is inclusive
    assert check_value(0.75, **kw).status == "correct"
    too_big = check_value(1.5, **kw)
    assert too_big.status == "incorrect" and too_big.message.startswith("1.5 m is too large")
    assert "tolerance +-0.25 m (the slider step)" in too_big.message
    assert check_value(0.5, **kw).message.startswith("0.5 m is too small")
    assert "exact value" not in too_big.summary()
    assert "exact value 1" in check_value(1.0, reveal=True, **kw).summary()
    err = check_value("one", **kw)
    assert err.status == "error" and "expected a number, got str 'one'" in err.message
    assert check_value(None, **kw).status == "not_attempted"


def test_handed_in_number_parses_refuses_and_says_what_was_expected():
    """The one number reader of the widget and by-hand exercises (check_value, 5.7, 6.8, 8.8, 8.9, 9.6, 9.7)."""
    from bpkit.checks._engine import as_number, handed_in_number
    assert handed_in_number(lambda: "0.5", "v", 1, []) == 0.5
    assert handed_in_number(True, "v", 1, []) == 1.0                       # float(True): kept where allowed
    err = handed_in_number(True, "v", 1, ["h"], expected="a number, the code size H", allow_bool=False)
    assert err.status == "error" and err.message == "expected a number, the code size H, got bool True."
    assert err.hints == ["h"] and err.max_points == 1
    err = as_number({"H": 4}, "v", 2, [], "a number (the forget bias)")
    assert err.status == "error" and err.message == "expected a number (the forget bias), got dict {'H': 4}."
    stub = handed_in_number(lambda: None, "v", 1, [], "hand in your number and run this cell again.")
    assert stub.status == "not_attempted" and stub.message == "hand in your number and run this cell again."


def test_check_result_hints_are_revealed_one_at_a_time():
    r = CheckResult("Exercise 9 (x)", "incorrect", "nope.", hints=["a", "b"], details=["d1"], max_points=2)
    assert r.verdict == "Exercise 9 (x): incorrect - nope."
    assert "hint 1" not in r.summary() and "points: 0/2" in r.summary() and "  d1" in r.summary()
    assert r.next_hint() == "a" and "hint 1: a" in r.summary() and "hint 2" not in r.summary()
    assert r.next_hint() == "b" and r.next_hint() is None
    assert r.hints_shown == 2


def test_check_result_rejects_an_unknown_status():
    with pytest.raises(ValueError, match="unknown status 'passed'"):
        CheckResult("x", "passed", "m")


def test_check_result_text_and_widget():
    pytest.importorskip("ipywidgets")
    r = CheckResult("Exercise 9 (x)", "incorrect", "nope.", hints=["first", "second"], details=["d"])
    bundle = r._repr_mimebundle_()
    assert bundle["text/plain"] == r.verdict                    # what nbval compares
    box = r.widget()
    assert box is r.widget()                                    # built once
    r._button.click()
    assert r.hints_shown == 1 and "first" in r._hint_box.value and "second" not in r._hint_box.value
    r._button.click()
    assert r._button.disabled and "second" in r._hint_box.value


# ----------------------------------------------------------------------------- issue 14: the engine's diagnoses

def test_a_mistake_is_named_only_when_it_explains_every_case():
    cases = [(np.array([1.0, 2.0]),), (np.array([3.0, -1.0]),)]
    doubled = Mistake("doubled", lambda x: 2 * x, "Remove the factor 2.")
    both = check_function(lambda x: 2 * x, lambda x: x, cases, name="t", mistakes=[doubled])
    assert both.mistake == "doubled"
    first_only = check_function(lambda x: 2 * x if x[0] == 1 else 3 * x, lambda x: x, cases, name="t",
                                mistakes=[doubled])
    assert first_only.mistake is None and "doubled" not in first_only.message
    assert first_only.message.startswith("test case 1 of 2 (x of shape (2,)): output: first differing entry")


def test_a_generic_factor_two_is_not_named_when_two_is_a_size_of_the_case():
    ref = lambda s: s / s.size                                                  # noqa: E731
    rows = lambda s: s / len(s)                                                 # noqa: E731
    only_c2 = check_function(rows, ref, [(np.ones((3, 2)),)], name="t")
    assert only_c2.mistake is None, only_c2.message                             # "twice" would be C = 2
    fine = check_function(lambda x: 2 * x, lambda x: x, [(np.ones((3, 5)),), (np.ones((4, 3)),)], name="t")
    assert fine.mistake.startswith("twice the correct value")


def test_the_shape_verdict_does_not_guess_a_bias_broadcast():
    result = check_function(lambda x: x.sum(axis=1), lambda x: x.sum(axis=0), [(np.ones((5, 3)),)], name="t")
    assert "broadcast" not in result.message and "bias" not in result.message
    assert "shape expected (3,), got (5,)" in result.message


def test_a_broadcast_error_gets_advice_about_its_own_shapes():
    def conv(x):
        return x[:, :3] * np.ones((2, 2))
    result = check_function(conv, lambda x: x, [(np.ones((2, 5)),)], name="t")
    assert result.status == "error"
    assert result.hints[0].startswith("Arrays of shapes (2,3) and (2,2) cannot be combined")
    assert "bias" not in result.hints[0]


def test_errors_are_relative_to_the_scale_of_the_array():
    ok, details = compare_arrays(np.array([0.0, 1e-3, 2.0]), np.array([0.0, 0.0, 2.0]))
    assert not ok and "max abs error 0.001 (0.0005 of the largest |expected| entry)" in details[1]


def test_the_case_is_described_with_the_reference_argument_names():
    def ref(x, stride, padding, kind, training):
        return x
    result = check_function(lambda x, s, p, k, t: -x - 1, ref, [(np.ones((2, 3, 7, 6)), 2, 1, "max", True)], name="t")
    assert result.details[0] == ("test case 1 of 1 (x of shape (2, 3, 7, 6), stride=2, padding=1, kind='max', "
                                 "training=True)")


def test_hints_go_from_nudge_to_answer_when_a_mistake_is_named():
    hints = ["nudge", "closer", "return x"]
    code = Mistake("doubled", lambda x: 2 * x, "y = x / 2; return y")
    words = Mistake("doubled", lambda x: 2 * x, "Do not double it.")
    cases = [(np.ones(3),)]
    assert check_function(lambda x: 2 * x, lambda x: x, cases, name="t", hints=hints,
                          mistakes=[code]).hints == ["nudge", "closer", "y = x / 2; return y", "return x"]
    assert check_function(lambda x: 2 * x, lambda x: x, cases, name="t", hints=hints + ["nudge"],
                          mistakes=[words]).hints == ["Do not double it.", "nudge", "closer", "return x"]


def test_multi_line_hints_keep_their_line_breaks_in_the_widget():
    result = CheckResult("t", "incorrect", "m", hints=["a\nb = 1"])
    result.widget()
    result.next_hint()
    assert "<pre" in result._hint_box.value and "a\nb = 1" in result._hint_box.value


def test_the_outputs_in_another_order_are_named():
    def ref(x):
        return x, 2 * x, 3 * x
    result = check_function(lambda x: (2 * x, 3 * x, x), ref, [(np.arange(1.0, 4.0),)], name="t",
                            output_names=("a", "b", "c"))
    assert result.message == "the outputs are in the wrong order: return (a, b, c); yours come as (b, c, a)."


def test_the_review_labels_are_gone():
    """Issue 14's wrong labels: 7.1, 3.4 and 2.2."""
    from bpkit.checks import ch02, ch03, ch07
    r = ch07.check_output_size(lambda H, K, s, p: (H + 2 * p - K - 1) // s + 1)
    assert r.mistake is None and "test case 1 of" in r.message
    r = ch07.check_output_size(lambda H, K, s, p: (H + 2 * p - K + 1) // s)
    assert r.mistake is None and "stride=3" in r.message
    r = ch03.check_linear_backward(lambda d, c: (d @ c[1].T, c[0].T @ d, d.sum(axis=1)))
    assert "bias of shape (M, 1)" not in r.message and "wrong axis" in r.message
    r = ch03.check_linear_backward(lambda d, c: (d @ c[1].T, c[0].T @ d, d.sum(axis=0, keepdims=True)))
    assert "keeps the summed axis" in r.message and "not summed over the batch" not in r.message
    r = ch02.check_bce_with_logits(lambda s, y: (float(np.sum(np.maximum(s, 0) - s * y + np.log1p(np.exp(-abs(s))))
                                                       / len(s)), (ops.sigmoid(s) - y) / len(s)))
    assert "twice" not in r.message and "rows" in r.message


def test_the_in_place_verdict_names_the_array_and_gives_details():
    def f(dh, x):
        dh[0, 0] += 1
        return dh + x
    result = check_function(f, lambda dh, x: dh + x, [(np.zeros((2, 3)), np.ones((2, 3)))], name="t")
    assert result.message.startswith("your function changed `dh` in place")
    assert result.details[1] == "dh: 1 of 6 entries changed; the first at (0, 0) was 0 before the call and 1 after it"
