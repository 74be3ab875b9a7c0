"""What crosses between the grader and a submission's process, and the own-work rule.

The wire format carries data only: whatever the student's process sends, decoding it in the
grader cannot run code. The own-work rule is found in the answer's source and in its calls,
and the student's own check says the same as the grade.
"""

import functools
import json

import numpy as np
import pytest

from bpkit import ops
from bpkit.checks import ch01, ch03, ch05
from bpkit.checks._context import case_rng, forbidden_codes, own_work, secret_cases
from bpkit.course._remote import check_call, own_work_in_source
from bpkit.course._wire import Opaque, WireError, decode, encode


def _round_trip(obj, allow_code=False):
    return decode(json.loads(json.dumps(encode(obj))), allow_code)


@pytest.mark.parametrize("obj", [None, True, 3, -2.5, "text", [1, 2.0], (1, (2, 3)), {"a": 1, "b": [2]},
                                 {1: "one", (2, 3): "pair"}, {"__ndarray__": "a key like ours"}])
def test_plain_data_round_trips(obj):
    assert _round_trip(obj) == obj
    assert type(_round_trip(obj)) is type(obj)


@pytest.mark.parametrize("arr", [np.arange(6.0).reshape(2, 3), np.array([[1, 2]], dtype=np.int32),
                                 np.array([True, False]), np.zeros((0, 3)), np.float32(1.5), np.int64(7),
                                 np.arange(12.0).reshape(3, 4).T, np.array([np.nan, np.inf, -np.inf])])
def test_arrays_and_scalars_keep_dtype_shape_and_values(arr):
    back = _round_trip(arr)
    assert type(back) is type(arr) and np.asarray(back).dtype == np.asarray(arr).dtype
    assert np.asarray(back).shape == np.asarray(arr).shape
    np.testing.assert_array_equal(back, arr)


def test_floats_that_json_cannot_hold_survive():
    assert np.isnan(_round_trip(float("nan"))) and _round_trip(float("-inf")) == float("-inf")


def test_objects_that_cannot_travel_arrive_as_opaque_with_their_type_name():
    class Value:
        pass
    back = _round_trip({"v": Value(), "arr": np.array([object()], dtype=object)})
    assert isinstance(back["v"], Opaque) and type(back["v"]).__name__ == "Value"
    assert isinstance(back["arr"], Opaque)


def test_functions_and_generators_travel_to_the_student_only():
    rng = np.random.default_rng(5)
    payload = json.loads(json.dumps(encode([ch03._f_smooth, functools.partial(ch03._f_curved), rng])))
    with pytest.raises(WireError, match="only travel towards the student"):
        decode(payload)
    f, g, r = decode(payload, allow_code=True)
    assert f is ch03._f_smooth and g.func is ch03._f_curved
    assert r.standard_normal() == np.random.default_rng(5).standard_normal()
    assert encode(ch03._f_smooth, code=False) == {"__opaque__": "function"}


@pytest.mark.parametrize("evil", [
    {"__function__": "os:system"}, {"__function__": "bpkit.x:y; import os"},
    {"__partial__": "subprocess:run", "args": [["true"]], "keywords": {}},
])
def test_a_name_outside_bpkit_is_never_imported(evil):
    with pytest.raises((WireError, ImportError, AttributeError)):
        decode(evil, allow_code=True)


@pytest.mark.parametrize("bad, match", [
    ({"__ndarray__": "AAAA", "dtype": "|O", "shape": [1]}, "not allowed"),
    ({"__ndarray__": "AAAAAAAAAAA=", "dtype": "<f8", "shape": [3]}, "do not match"),
    ({"__float__": "__import__('os')"}, "not a float"),
])
def test_malformed_data_is_refused(bad, match):
    with pytest.raises(WireError, match=match):
        decode(bad)


def test_check_cells_parse_to_a_check_and_its_answers():
    assert check_call("check_neuron(neuron)") == ("check_neuron", ["neuron"])
    assert check_call('assert check_neuron(neuron).passed, "x"\ncheck_neuron(neuron)') == ("check_neuron", ["neuron"])
    assert check_call("import os; os.system('x')") is None
    assert check_call("check_neuron(lambda: 1)") is None


def test_secret_cases_change_the_random_test_cases_and_only_inside_the_block():
    plain = case_rng(2024).standard_normal(3)
    with secret_cases(123):
        secret = case_rng(2024).standard_normal(3)
        again = case_rng(2024).standard_normal(3)
    assert not np.allclose(plain, secret) and np.array_equal(secret, again)
    assert np.array_equal(case_rng(2024).standard_normal(3), plain)
    with pytest.raises(ValueError, match="non-negative int"):
        with secret_cases(-1):
            pass


SETUP = "from bpkit import ops\nimport numpy as np\nfrom bpkit.checks.ch03 import network_121, check_grads_121\n"


@pytest.mark.parametrize("answer, found", [
    ("def dense_forward(X, W, b):\n    return ops.linear_forward(X, W, b)[0]\n", ["bpkit.ops.linear_forward"]),
    ("def dense_forward(X, W, b):\n    from bpkit.ops import linear_forward as lf\n    return lf(X, W, b)[0]\n",
     ["bpkit.ops.linear_forward"]),
    ("import bpkit.nn\ndef dense_forward(X, W, b):\n    return bpkit.nn.Linear.forward\n", ["bpkit.nn.Linear.forward"]),
    ("def mlp_forward(X, p):\n    import bpkit.checks.ch01 as c\n    return c.mlp_forward(X, p)\n",
     ["bpkit.checks.ch01.mlp_forward"]),
    ("def dense_forward(X, W, b):\n    return X @ W + b\n", []),
    ("def dense_forward(X, W, b):\n    return ops.sigmoid(X @ W + b)\n", []),         # allowed here
    ("def linear_forward(X, W, b):\n    return X @ W + b\nlinear_forward(1, 2, 3)\n", []),  # the student's own
    ("g = network_121(0.5, {})\n", []),                                                    # scaffolding
])
def test_own_work_is_found_in_the_source(answer, found):
    forbidden = forbidden_codes(ch01.check_dense_forward.own_work)
    assert own_work_in_source([answer], [SETUP, answer], forbidden) == found


def test_the_students_own_check_says_the_same_as_the_grade():
    result = ch01.check_dense_forward(lambda X, W, b: ops.linear_forward(X, W, b)[0])
    assert result.status == "incorrect" and result.points == 0
    assert "`bpkit.ops.linear_forward`" in result.message and "counts 0 points when graded" in result.message
    hidden = ch01.check_mlp_forward(lambda X, p: getattr(ch01, "mlp_" + "forward")(X, p))
    assert hidden.status == "incorrect" and "bpkit.checks.ch01.mlp_forward" in hidden.message
    honest = ch01.check_dense_forward(lambda X, W, b: X @ W + b)
    assert honest.status == "correct"


def test_a_driver_may_call_check_helpers_but_the_student_may_not():
    def layer_grad_norms(model, X, G):
        return ch05.layer_grad_norms(model, X, G)      # the reference, called by the student
    assert "bpkit.checks.ch05.layer_grad_norms" in ch05.check_layer_grad_norms(layer_grad_norms).message

    def honest(model, X, G):
        model.forward(X)
        model.backward(G)
        return np.array([np.linalg.norm(layer.grads["W"]) for layer in model.layers if "W" in layer.grads])
    assert ch05.check_layer_grad_norms(honest).status == "correct"


def test_own_work_names_must_be_bpkit_paths():
    with pytest.raises(ValueError, match="dotted names of bpkit functions"):
        own_work("numpy.dot")
