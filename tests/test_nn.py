"""bpkit.nn and bpkit.init: module gradients against central differences, the params/grads
contract, float32 end to end, initializer statistics."""

import numpy as np
import pytest
from _helpers import random_array

from bpkit import init, nn, optim
from bpkit.gradcheck import check_module


@pytest.mark.parametrize("make", [
    lambda rng: nn.Linear(4, 3, rng=rng),
    lambda rng: nn.Linear(4, 3, rng=rng, bias=False),
    lambda rng: nn.Sigmoid(), lambda rng: nn.Tanh(), lambda rng: nn.ReLU(), lambda rng: nn.LeakyReLU(0.1),
    lambda rng: nn.Sequential(nn.Linear(4, 5, rng=rng), nn.Tanh(), nn.Linear(5, 3, rng=rng, init="xavier"),
                              nn.LeakyReLU(), nn.Linear(3, 2, rng=rng), nn.Sigmoid()),
], ids=["linear", "linear_nobias", "sigmoid", "tanh", "relu", "leaky_relu", "sequential"])
def test_module_gradients(make, rng):
    module = make(rng)
    x = random_array(rng, (6, 4), away_from_zero=1e-2)
    errs = check_module(module, x, rng=rng)
    assert set(errs) == {"x", *module.params}
    assert max(errs.values()) < 1e-7


def test_check_module_catches_a_wrong_backward(rng):
    class BadLinear(nn.Linear):
        def backward(self, dout):
            dx = super().backward(dout)
            self._grads["b"] = dout.mean(axis=0)       # the classic bug: mean instead of sum
            return dx

    with pytest.raises(AssertionError, match="'b'"):
        check_module(BadLinear(3, 2, rng=rng), random_array(rng, (5, 3)), rng=rng)


def test_sequential_params_are_the_layers_arrays(rng):
    model = nn.Sequential(nn.Linear(2, 3, rng=rng), nn.ReLU(), nn.Linear(3, 1, rng=rng))
    assert list(model.params) == ["0.W", "0.b", "2.W", "2.b"]
    assert model.params["0.W"] is model[0].W
    assert model.num_params() == 2 * 3 + 3 + 3 * 1 + 1
    x = random_array(rng, (4, 2))
    model.backward(np.ones_like(model.forward(x)))
    assert list(model.grads) == list(model.params)
    for k in model.params:
        assert model.grads[k].shape == model.params[k].shape
    before = model[0].W.copy()
    optim.SGD(lr=0.1).step(model.params, model.grads)
    assert not np.allclose(model[0].W, before)                          # the layer saw the update


@pytest.mark.parametrize("leading", [(), ("relu",), ("relu", "tanh")], ids=["linear-first", "relu-first",
                                                                           "two-activations-first"])
def test_backward_without_input_grad_gives_the_same_parameter_gradients(rng, leading):
    """input_grad=False (what fit uses) skips dX and the parameter-free layers in front,
    and changes nothing else: the same grads, bit for bit, and None instead of dX."""
    acts = {"relu": nn.ReLU, "tanh": nn.Tanh}
    model = nn.Sequential(*[acts[a]() for a in leading], nn.Linear(4, 5, rng=rng), nn.ReLU(),
                          nn.Linear(5, 3, rng=rng))
    x = random_array(rng, (6, 4))
    dout = random_array(rng, (6, 3))
    model.forward(x)
    dx = model.backward(dout)
    full = {k: v.copy() for k, v in model.grads.items()}
    model.forward(x)
    assert model.backward(dout, input_grad=False) is None
    assert list(model.grads) == list(full)
    for k in full:
        np.testing.assert_array_equal(model.grads[k], full[k], err_msg=k)
    assert dx.shape == x.shape                                  # and True still returns dX
    assert nn.takes_input_grad(model) and nn.takes_input_grad(model[len(leading)])


def test_backward_without_input_grad_skips_the_first_layers_dx(rng):
    calls = []

    class Spy(nn.Linear):
        def backward(self, dout, input_grad=True):
            calls.append(input_grad)
            return super().backward(dout, input_grad=input_grad)

    model = nn.Sequential(Spy(4, 5, rng=rng), nn.ReLU(), Spy(5, 3, rng=rng))
    model.forward(random_array(rng, (6, 4)))
    model.backward(np.ones((6, 3)), input_grad=False)
    assert calls == [True, False]                                # the last layer still passes dx down


def test_backward_without_input_grad_accepts_modules_that_do_not_know_it(rng):
    """A learner's own module with backward(self, dout) still works inside Sequential."""
    class Double(nn.Module):
        def forward(self, x):
            return 2 * x

        def backward(self, dout):
            return 2 * dout

    class MyLinear(nn.Linear):
        def backward(self, dout):                              # no input_grad parameter
            return super().backward(dout)

    model = nn.Sequential(MyLinear(4, 3, rng=rng), Double(), nn.Linear(3, 2, rng=rng))
    assert not nn.takes_input_grad(model[0]) and not nn.takes_input_grad(model[1])
    x = random_array(rng, (5, 4))
    model.forward(x)
    model.backward(np.ones((5, 2)))
    full = {k: v.copy() for k, v in model.grads.items()}
    model.forward(x)
    assert model.backward(np.ones((5, 2)), input_grad=False) is None
    for k in full:
        np.testing.assert_array_equal(model.grads[k], full[k], err_msg=k)


def test_backward_overwrites_grads_rather_than_accumulating(rng):
    layer = nn.Linear(3, 2, rng=rng)
    x = random_array(rng, (4, 3))
    layer.forward(x)
    layer.backward(np.ones((4, 2)))
    first = layer.grads["W"].copy()
    layer.forward(x)
    layer.backward(np.ones((4, 2)))
    np.testing.assert_allclose(layer.grads["W"], first)


def test_float32_network_stays_float32(rng):
    model = nn.Sequential(nn.Linear(5, 4, rng=rng, dtype=np.float32), nn.Tanh(),
                          nn.Linear(4, 3, rng=rng, dtype=np.float32), nn.ReLU(),
                          nn.Linear(3, 2, rng=rng, dtype=np.float32), nn.Sigmoid())
    x = random_array(rng, (8, 5), dtype=np.float32)
    out = model.forward(x)
    dx = model.backward(np.ones_like(out))
    assert out.dtype == dx.dtype == np.float32
    assert all(v.dtype == np.float32 for v in model.params.values())
    assert all(v.dtype == np.float32 for v in model.grads.values())
    optim.Adam().step(model.params, model.grads)
    assert all(v.dtype == np.float32 for v in model.params.values())


def test_same_rng_same_weights():
    a = nn.Linear(3, 4, rng=np.random.default_rng(7))
    b = nn.Linear(3, 4, rng=np.random.default_rng(7))
    np.testing.assert_array_equal(a.W, b.W)
    np.testing.assert_array_equal(a.b, np.zeros(4))


def test_state_dict_round_trip(rng):
    model = nn.Sequential(nn.Linear(2, 3, rng=rng), nn.Tanh(), nn.Linear(3, 1, rng=rng))
    saved = model.state_dict()
    W = model[0].W
    W += 1.0
    model.load_state_dict(saved)
    assert model[0].W is W                                              # loaded in place
    np.testing.assert_array_equal(model[0].W, saved["0.W"])


def test_train_eval_propagate(rng):
    model = nn.Sequential(nn.Linear(2, 2, rng=rng), nn.ReLU())
    model.eval()
    assert not model.training and not model[0].training and not model[1].training
    model.train()
    assert model.training and model[1].training


def test_repr_is_readable(rng):
    model = nn.Sequential(nn.Linear(2, 4, rng=rng), nn.LeakyReLU(0.2), nn.Linear(4, 1, rng=rng, init="xavier"))
    assert repr(model) == ("Sequential(\n  (0): Linear(2 -> 4, init=he)\n  (1): LeakyReLU(alpha=0.2)\n"
                           "  (2): Linear(4 -> 1, init=xavier)\n)")


@pytest.mark.parametrize("name,var", [("he_normal", lambda D, M: 2 / D), ("he_uniform", lambda D, M: 2 / D),
                                      ("xavier_normal", lambda D, M: 2 / (D + M)),
                                      ("xavier_uniform", lambda D, M: 2 / (D + M)),
                                      ("lecun_normal", lambda D, M: 1 / D)])
def test_initializer_variance(name, var):
    D, M = 400, 300
    W = getattr(init, name)(np.random.default_rng(0), D, M)
    assert W.shape == (D, M) and W.dtype == np.float64
    assert abs(W.mean()) < 0.01 * np.sqrt(var(D, M)) * 10
    assert W.var() == pytest.approx(var(D, M), rel=0.02)
    assert getattr(init, name)(np.random.default_rng(0), 3, 2, dtype=np.float32).dtype == np.float32


def test_he_init_keeps_relu_activations_at_scale(rng):
    """Variance preservation: 20 ReLU layers with He init neither explode nor vanish."""
    x = rng.standard_normal((500, 256))
    h = x
    for _ in range(20):
        h = np.maximum(h @ init.he_normal(rng, 256, 256), 0)
    ratio = np.mean(h ** 2) / np.mean(x ** 2)
    assert 0.3 < ratio < 3
