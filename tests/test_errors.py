"""Bad input gets a clear error: every public function and class of bpkit.

The project rule: a wrong shape or value raises ``ValueError``/``TypeError`` whose message
names the layer or function, gives the expected and the actual shape or value, and says
what to do. Every case below is checked twice:

* ``test_message_names_function_expected_and_actual``: the exception type, the function or
  class name, and the expected and actual shapes/values (literal substrings);
* ``test_message_says_what_to_do``: a fix hint. Where we know the hint we match it
  specifically; otherwise any actionable phrase (``ACTION``) counts.

A new public function gets a case here; the test module fails if a message regresses.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

import numpy as np
import pytest

from bpkit import data, gradcheck, init, losses, nn, ops, optim, train
from bpkit._checks import as_float_array, check_ndim, check_same_dtype, check_shape
from bpkit.gradcheck import GradientCheckError

#: A message "says what to do" if it contains one of these (an imperative or a suggestion).
ACTION = (r"(?i)\b(pass|use|cast|reshape|flatten|transpose|did you|e\.g\.|such as|try|call|build|create|"
          r"make|wrap|install|run|check|set|give)\b")

@dataclass
class Case:
    id: str
    call: Callable
    exc: type
    must: list                      # must[0] is the function/class name; the rest: expected and actual
    hint: str = ACTION              # regex for the fix hint


def _rng():
    return np.random.default_rng(0)


def _linear_after_forward():
    layer = nn.Linear(3, 2, rng=_rng())
    layer.forward(np.ones((4, 3)))
    return layer


def _fit(**overrides):
    rng = _rng()
    args = dict(model=nn.Sequential(nn.Linear(2, 2, rng=rng)), loss_fn=losses.mse_loss,
                optimizer=optim.SGD(lr=0.1), X=np.ones((6, 2)), y=np.ones((6, 2)), epochs=1, batch_size=2,
                rng=rng, progress=False)
    args.update(overrides)
    return train.fit(**args)


def _conv_after_forward():
    layer = nn.Conv2d(3, 4, 3, rng=_rng())
    layer.forward(X4)
    return layer


def _flatten_after_forward():
    layer = nn.Flatten()
    layer.forward(X4)
    return layer


def _after_forward(layer, x):
    layer.forward(x)
    return layer


X43, W32, B2 = np.ones((4, 3)), np.ones((3, 2)), np.ones(2)
XS, HS = np.ones((2, 5, 3)), np.ones((2, 4))             # sequences (N, T, D) and states (N, H), with D = 3, H = 4
RWx, RWh, RB = np.ones((3, 4)), np.ones((4, 4)), np.ones(4)               # RNN weights
LWx, LWh, LB = np.ones((3, 16)), np.ones((4, 16)), np.ones(16)            # LSTM weights: 4H = 16 columns
X4, W4, B4 = np.ones((2, 3, 5, 5)), np.ones((4, 3, 3, 3)), np.ones(4)      # images (N, C, H, W), conv W and b
P = {"W": np.ones((3, 2)), "b": np.ones(2)}
F32 = np.ones(3, dtype=np.float32)

CASES = [
    # ------------------------------------------------------------------ ops: linear
    Case("linear_forward-W-transposed", lambda: ops.linear_forward(np.ones((5, 4)), np.ones((3, 4)), np.ones(3)),
         ValueError, ["linear_forward", "(5, 4)", "(3, 4)", "(N, 3)"], r"W looks transposed: pass W\.T"),
    Case("linear_forward-W-wrong-rows", lambda: ops.linear_forward(X43, np.ones((5, 2)), B2),
         ValueError, ["linear_forward", "(4, 3)", "(5, 2)", "(N, 5)"], r"x must have D = W\.shape\[0\] = 5 columns"),
    Case("linear_forward-b-wrong-length", lambda: ops.linear_forward(X43, W32, np.ones(3)),
         ValueError, ["linear_forward", "'b'", "(2,)", "(3,)"], r"use b\.ravel\(\)"),
    Case("linear_forward-b-row", lambda: ops.linear_forward(X43, W32, np.ones((1, 2))),
         ValueError, ["linear_forward", "'b'", "(2,)", "(1, 2)"], r"use b\.ravel\(\)"),
    Case("linear_forward-x-1d", lambda: ops.linear_forward(np.ones(3), W32, B2),
         ValueError, ["linear_forward", "'x'", "(N, D)", "(3,)"], r"x\.reshape\(1, -1\)"),
    Case("linear_forward-x-3d", lambda: ops.linear_forward(np.ones((2, 4, 3)), W32, B2),
         ValueError, ["linear_forward", "'x'", "(N, D)", "(2, 4, 3)"], r"x\.reshape\(x\.shape\[0\], -1\)"),
    Case("linear_forward-W-1d", lambda: ops.linear_forward(X43, np.ones(3), B2),
         ValueError, ["linear_forward", "'W'", "(D, M)", "(3,)"], r"W\.reshape"),
    Case("linear_forward-mixed-dtypes", lambda: ops.linear_forward(X43.astype(np.float32), W32, B2),
         TypeError, ["linear_forward", "float32", "float64"], r"astype\(np\.float"),
    Case("linear_forward-strings", lambda: ops.linear_forward([["a", "b", "c"]], W32, B2),
         TypeError, ["linear_forward", "'x'", "real numbers", "<U1"], r"np\.asarray\(x, dtype=np\.float64\)"),
    Case("linear_backward-dout-transposed",
         lambda: ops.linear_backward(np.ones((2, 4)), ops.linear_forward(X43, W32, B2)[1]),
         ValueError, ["linear_backward", "(4, 2)", "(2, 4)"]),
    # ------------------------------------------------------------------ ops: activations, softmax
    *[Case(f"{name}_backward-dout-shape",
           (lambda name=name: getattr(ops, f"{name}_backward")(
               np.ones((3, 4)), getattr(ops, f"{name}_forward")(X43)[1])),
           ValueError, [f"{name}_backward", "(4, 3)", "(3, 4)"])
      for name in ("sigmoid", "tanh", "relu", "leaky_relu", "softmax")],
    *[Case(f"{name}-bad-axis", (lambda name=name: getattr(ops, name)(X43, axis=2)),
           ValueError, [name, "[-2, 1]", "(4, 3)", "got 2"])
      for name in ("softmax", "log_softmax", "logsumexp")],
    Case("softmax_forward-bad-axis", lambda: ops.softmax_forward(X43, axis=2),
         ValueError, ["softmax_forward", "[-2, 1]", "(4, 3)", "got 2"]),
    Case("softmax-float-axis", lambda: ops.softmax(X43, axis=1.0),
         ValueError, ["softmax", "an int", "got 1.0"]),
    Case("leaky_relu_forward-negative-alpha", lambda: ops.leaky_relu_forward(X43, alpha=-1),
         ValueError, ["leaky_relu_forward", "'alpha'", ">= 0", "got -1"]),
    Case("sigmoid-strings", lambda: ops.sigmoid(np.array(["abc"])),
         TypeError, ["sigmoid", "'z'", "real numbers", "<U3"], r"np\.asarray"),
    # ------------------------------------------------------------------ losses: shapes
    *[Case(f"{fn.__name__}-transposed-target", (lambda fn=fn: fn(np.ones((4, 3)), np.ones((3, 4)))),
           ValueError, [fn.__name__, "(4, 3)", "(3, 4)"], r"looks transposed: pass target\.T")
      for fn in (losses.mse_loss, losses.huber_loss, losses.bce_with_logits_loss)],
    Case("weighted_mse_loss-transposed-target", lambda: losses.weighted_mse_loss(np.ones((4, 3)), np.ones((3, 4)),
                                                                                 np.ones(4)),
         ValueError, ["weighted_mse_loss", "(4, 3)", "(3, 4)"], r"looks transposed: pass target\.T"),
    *[Case(f"{fn.__name__}-column-pred-flat-target", (lambda fn=fn: fn(np.ones((4, 1)), np.ones(4))),
           ValueError, [fn.__name__, "(4, 1)", "(4,)"], r"target\.reshape\(-1, 1\)")
      for fn in (losses.mse_loss, losses.huber_loss, losses.bce_with_logits_loss)],
    Case("mse_loss-flat-pred-column-target", lambda: losses.mse_loss(np.ones(4), np.ones((4, 1))),
         ValueError, ["mse_loss", "(4,)", "(4, 1)"], r"pred\.reshape\(-1, 1\)"),
    Case("mse_loss-unrelated-shapes", lambda: losses.mse_loss(np.ones((4, 2)), np.ones((5, 2))),
         ValueError, ["mse_loss", "(4, 2)", "(5, 2)"], r"Pass one target entry per entry of pred"),
    Case("mse_loss-empty", lambda: losses.mse_loss(np.ones((0, 1)), np.ones((0, 1))),
         ValueError, ["mse_loss", "empty", "(0, 1)"], r"at least one example"),
    Case("weighted_mse_loss-weights-length", lambda: losses.weighted_mse_loss(np.ones((4, 2)), np.ones((4, 2)),
                                                                              np.ones(3)),
         ValueError, ["weighted_mse_loss", "'weights'", "(4,)", "(3,)"], r"one weight per row"),
    Case("weighted_mse_loss-negative-weight",
         lambda: losses.weighted_mse_loss(np.ones((4, 2)), np.zeros((4, 2)), np.array([1.0, -2.0, 1.0, 1.0])),
         ValueError, ["weighted_mse_loss", ">= 0", "got -2"], r"Use 0 to ignore"),
    Case("huber_loss-negative-delta", lambda: losses.huber_loss(np.ones(3), np.zeros(3), delta=-1.0),
         ValueError, ["huber_loss", "'delta'", "> 0", "got -1.0"], r"delta=1\.0"),
    Case("huber_loss-zero-delta", lambda: losses.huber_loss(np.ones(3), np.zeros(3), delta=0),
         ValueError, ["huber_loss", "'delta'", "> 0", "got 0"], r"delta=1\.0"),
    Case("bce_with_logits_loss-target-range", lambda: losses.bce_with_logits_loss(np.ones((3, 1)),
                                                                                  np.array([[1.0], [-1.0], [1.0]])),
         ValueError, ["bce_with_logits_loss", "[0, 1]", "[-1, 1]"], r"Pass labels 0/1, not -1/\+1"),
    # ------------------------------------------------------------------ losses: softmax cross-entropy labels
    Case("softmax_cross_entropy_loss-float-integral-labels",
         lambda: losses.softmax_cross_entropy_loss(X43, np.array([0.0, 1.0, 2.0, 1.0])),
         TypeError, ["softmax_cross_entropy_loss", "integer class indices", "float64"], r"labels\.astype\(int\)"),
    Case("softmax_cross_entropy_loss-fractional-labels",
         lambda: losses.softmax_cross_entropy_loss(X43, np.array([0.5, 1.0, 2.0, 1.0])),
         TypeError, ["softmax_cross_entropy_loss", "integer class indices", "float64"],
         r"Pass the index of the correct class"),
    Case("softmax_cross_entropy_loss-one-hot-labels",
         lambda: losses.softmax_cross_entropy_loss(X43, np.eye(3)[[0, 1, 2, 1]]),
         TypeError, ["softmax_cross_entropy_loss", "(N,)", "(4, 3)"], r"labels\.argmax\(axis=1\)"),
    Case("softmax_cross_entropy_loss-label-too-large",
         lambda: losses.softmax_cross_entropy_loss(X43, np.array([0, 1, 3, 0])),
         ValueError, ["softmax_cross_entropy_loss", "[0, 2]", "C = 3", "[0, 3]"], r"build the model with 4 outputs"),
    Case("softmax_cross_entropy_loss-one-based-labels",
         lambda: losses.softmax_cross_entropy_loss(X43, np.array([1, 2, 3, 1])),
         ValueError, ["softmax_cross_entropy_loss", "[0, 2]", "[1, 3]"], r"1-based, pass labels - 1"),
    Case("softmax_cross_entropy_loss-negative-label",
         lambda: losses.softmax_cross_entropy_loss(X43, np.array([0, -1, 2, 1])),
         ValueError, ["softmax_cross_entropy_loss", "[0, 2]", "[-1, 2]"], r"never negative"),
    Case("softmax_cross_entropy_loss-column-labels",
         lambda: losses.softmax_cross_entropy_loss(X43, np.array([[0], [1], [2], [1]])),
         ValueError, ["softmax_cross_entropy_loss", "(4,)", "(4, 1)"], r"labels\.ravel\(\)"),
    Case("softmax_cross_entropy_loss-too-few-labels",
         lambda: losses.softmax_cross_entropy_loss(X43, np.array([0, 1, 2])),
         ValueError, ["softmax_cross_entropy_loss", "(4,)", "(3,)"], r"one label per row of logits"),
    Case("softmax_cross_entropy_loss-1d-logits",
         lambda: losses.softmax_cross_entropy_loss(np.ones(3), np.array([0])),
         ValueError, ["softmax_cross_entropy_loss", "(N, C)", "(3,)"], r"logits\.reshape\(1, -1\)"),
    # ------------------------------------------------------------------ nn
    Case("Linear-zero-D", lambda: nn.Linear(0, 3, rng=_rng()),
         ValueError, ["Linear", "'D'", "positive int", "got 0"]),
    Case("Linear-negative-M", lambda: nn.Linear(3, -1, rng=_rng()),
         ValueError, ["Linear", "'M'", "positive int", "got -1"]),
    Case("Linear-bool-D", lambda: nn.Linear(True, 2, rng=_rng()),          # True is an int to Python, not a size
         ValueError, ["Linear", "'D'", "positive int", "True"]),
    Case("Linear-float-D", lambda: nn.Linear(3.0, 2, rng=_rng()),
         ValueError, ["Linear", "'D'", "positive int", "got 3.0"]),
    Case("Linear-missing-rng", lambda: nn.Linear(3, 2),
         TypeError, ["Linear", "np.random.Generator", "NoneType"], r"rng=np\.random\.default_rng\(0\)"),
    Case("Linear-int-rng", lambda: nn.Linear(3, 2, rng=0),
         TypeError, ["Linear", "np.random.Generator", "got int"], r"rng=np\.random\.default_rng\(0\)"),
    Case("Linear-legacy-RandomState", lambda: nn.Linear(3, 2, rng=np.random.RandomState(0)),
         TypeError, ["Linear", "np.random.Generator", "RandomState"], r"rng=np\.random\.default_rng\(0\)"),
    Case("Linear-unknown-init", lambda: nn.Linear(3, 2, rng=_rng(), init="kaiming"),
         ValueError, ["Linear", "'kaiming'", "'he'", "'xavier'"], r"Use one of"),
    Case("Linear-int-dtype", lambda: nn.Linear(3, 2, rng=_rng(), dtype=np.int32),
         TypeError, ["Linear", "float dtype", "int32"], r"such as np\.float32"),
    Case("Linear.forward-wrong-features", lambda: nn.Linear(3, 2, rng=_rng()).forward(np.ones((4, 5))),
         ValueError, ["Linear", "(N, 3)", "(4, 5)"]),
    Case("Linear.forward-one-example", lambda: nn.Linear(3, 2, rng=_rng()).forward(np.ones(3)),
         ValueError, ["Linear", "(N, 3)", "(3,)"], r"x\.reshape\(1, -1\)"),
    Case("Linear.forward-dtype", lambda: nn.Linear(3, 2, rng=_rng()).forward(np.ones((4, 3), np.float32)),
         TypeError, ["Linear", "float32", "float64"], r"x\.astype\(np\.float64\)"),
    Case("Linear.backward-dout-shape", lambda: _linear_after_forward().backward(np.ones((4, 3))),
         ValueError, ["Linear", "(4, 2)", "(4, 3)"]),
    Case("Linear.backward-before-forward", lambda: nn.Linear(3, 2, rng=_rng()).backward(np.ones((4, 2))),
         RuntimeError, ["Linear.backward", "before forward"], r"run forward\(x\) first"),
    Case("LeakyReLU-negative-alpha", lambda: nn.LeakyReLU(-0.1),
         ValueError, ["LeakyReLU", "'alpha'", ">= 0", "got -0.1"]),
    Case("Sequential-class-not-instance", lambda: nn.Sequential(nn.Linear(3, 2, rng=_rng()), nn.ReLU),
         TypeError, ["Sequential", "layer 1", "bpkit.nn.Module", "got type"], r"ReLU vs ReLU\(\)"),
    Case("Sequential-numpy-function", lambda: nn.Sequential(np.tanh),
         TypeError, ["Sequential", "layer 0", "bpkit.nn.Module", "got ufunc"]),
    Case("Sequential-string", lambda: nn.Sequential("relu"),
         TypeError, ["Sequential", "layer 0", "bpkit.nn.Module", "got str"]),
    Case("Module.load_state_dict-shape",
         lambda: nn.Linear(3, 2, rng=_rng()).load_state_dict({"W": np.ones((2, 3)), "b": np.ones(2)}),
         ValueError, ["Linear.load_state_dict", "'W'", "(3, 2)", "(2, 3)"]),
    # ------------------------------------------------------------------ optim: hyperparameters
    *[Case(f"{cls.__name__}-negative-lr", (lambda cls=cls: cls(lr=-0.1)),
           ValueError, [cls.__name__, "'lr'", "> 0", "got -0.1"], r"e\.g\. lr=")
      for cls in (optim.SGD, optim.SGDW, optim.RMSprop, optim.Adam, optim.AdamW)],
    Case("SGD-zero-lr", lambda: optim.SGD(lr=0), ValueError, ["SGD", "'lr'", "> 0", "got 0"], r"e\.g\. lr="),
    Case("Adam-nan-lr", lambda: optim.Adam(lr=float("nan")), ValueError, ["Adam", "'lr'", "finite", "nan"],
         r"e\.g\. lr="),
    Case("Adam-string-lr", lambda: optim.Adam(lr="0.1"), TypeError, ["Adam", "'lr'", "number", "'0.1'"],
         r"Pass a float"),
    Case("SGD-negative-momentum", lambda: optim.SGD(lr=0.1, momentum=-0.5),
         ValueError, ["SGD", "'momentum'", "[0, 1)", "got -0.5"], r"momentum=0\.9"),
    Case("SGD-momentum-one", lambda: optim.SGD(lr=0.1, momentum=1.0),
         ValueError, ["SGD", "'momentum'", "[0, 1)", "got 1.0"], r"momentum=0\.9"),
    Case("RMSprop-negative-momentum", lambda: optim.RMSprop(momentum=-0.1),
         ValueError, ["RMSprop", "'momentum'", "[0, 1)", "got -0.1"], r"momentum=0\.9"),
    Case("SGD-nesterov-without-momentum", lambda: optim.SGD(lr=0.1, nesterov=True),
         ValueError, ["SGD", "nesterov=True", "momentum > 0", "momentum=0.0"], r"Pass e\.g\. momentum=0\.9"),
    Case("SGD-negative-weight-decay", lambda: optim.SGD(lr=0.1, weight_decay=-1e-4),
         ValueError, ["SGD", "'weight_decay'", ">= 0", "got -0.0001"], r"weight_decay=1e-4"),
    Case("RMSprop-alpha-one", lambda: optim.RMSprop(alpha=1.0),
         ValueError, ["RMSprop", "'alpha'", "[0, 1)", "got 1.0"], r"alpha=0\.99"),
    Case("RMSprop-zero-eps", lambda: optim.RMSprop(eps=0.0),
         ValueError, ["RMSprop", "'eps'", "> 0", "got 0.0"], r"eps=1e-8"),
    Case("Adam-beta2-one", lambda: optim.Adam(betas=(0.9, 1.0)),
         ValueError, ["Adam", "'betas[1]'", "[0, 1)", "got 1.0"], r"betas=\(0\.9, 0\.999\)"),
    Case("AdamW-negative-beta1", lambda: optim.AdamW(betas=(-0.1, 0.999)),
         ValueError, ["AdamW", "'betas[0]'", "[0, 1)", "got -0.1"], r"betas=\(0\.9, 0\.999\)"),
    Case("Adam-beta1-above-one", lambda: optim.Adam(betas=(1.5, 0.999)),
         ValueError, ["Adam", "'betas[0]'", "[0, 1)", "got 1.5"], r"betas=\(0\.9, 0\.999\)"),
    Case("Adam-betas-not-a-pair", lambda: optim.Adam(betas=(0.9,)),
         ValueError, ["Adam", "pair (beta1, beta2)", "(0.9,)"], r"betas=\(0\.9, 0\.999\)"),
    Case("clip_grad_norm-negative-max_norm", lambda: optim.clip_grad_norm({"W": np.ones(3)}, -1.0),
         ValueError, ["clip_grad_norm", "'max_norm'", "> 0", "got -1.0"], r"max_norm=1\.0"),
    Case("clip_grad_norm-list", lambda: optim.clip_grad_norm([np.ones(3)], 1.0),
         TypeError, ["clip_grad_norm", "dict", "got list"], r"Pass model\.grads"),
    # ------------------------------------------------------------------ optim: step(params, grads)
    Case("SGD.step-missing-grad", lambda: optim.SGD(lr=0.1).step(P, {"W": np.ones((3, 2))}),
         ValueError, ["SGD.step", "same keys", "missing grads for ['b']"], r"Did you run backward\(\)"),
    Case("SGD.step-extra-grad",
         lambda: optim.SGD(lr=0.1).step({"W": np.ones(2)}, {"W": np.ones(2), "V": np.ones(2)}),
         ValueError, ["SGD.step", "same keys", "without a param: ['V']"], r"Did you run backward\(\)"),
    Case("Adam.step-transposed-grad", lambda: optim.Adam().step(P, {"W": np.ones((2, 3)), "b": np.ones(2)}),
         ValueError, ["Adam.step", "'W'", "(3, 2)", "(2, 3)"], r"looks transposed"),
    Case("Adam.step-wrong-grad-shape", lambda: optim.Adam().step(P, {"W": np.ones((3, 2)), "b": np.ones(3)}),
         ValueError, ["Adam.step", "'b'", "(2,)", "(3,)"], r"model\.params and model\.grads of the same model"),
    Case("RMSprop.step-not-dicts", lambda: optim.RMSprop().step([np.ones(2)], [np.ones(2)]),
         TypeError, ["RMSprop.step", "dicts", "got list and list"], r"model\.params, model\.grads"),
    Case("SGD.step-int-param", lambda: optim.SGD(lr=0.1).step({"W": np.ones(2, int)}, {"W": np.ones(2)}),
         TypeError, ["SGD.step", "float ndarray", "int64"], r"astype\(np\.float64\)"),
    Case("Optimizer-base-class", lambda: optim.Optimizer(0.1).step({"W": np.ones(2)}, {"W": np.ones(2)}),
         NotImplementedError, ["Optimizer", "base class"], r"use SGD, RMSprop, Adam or AdamW"),
    # ------------------------------------------------------------------ gradcheck
    Case("numerical_gradient-float32", lambda: gradcheck.numerical_gradient(lambda x: float(x.sum()), F32.copy()),
         TypeError, ["numerical_gradient", "float64", "float32"], r"x\.astype\(np\.float64\)"),
    Case("numerical_vjp-float32", lambda: gradcheck.numerical_vjp(lambda x: x, F32.copy(), np.ones(3)),
         TypeError, ["numerical_vjp", "float64", "float32"], r"x\.astype\(np\.float64\)"),
    Case("check_gradients-float32",
         lambda: gradcheck.check_gradients(lambda: 0.0, {"x": F32.copy()}, {"x": np.ones(3)}),
         TypeError, ["check_gradients", "'x'", "float64", "float32"], r"x\.astype\(np\.float64\)"),
    Case("check_module-float32-module",
         lambda: gradcheck.check_module(nn.Linear(3, 2, rng=_rng(), dtype=np.float32), np.ones((4, 3))),
         TypeError, ["check_module", "'W'", "float32", "float64"], r"dtype=np\.float64"),
    Case("numerical_gradient-list", lambda: gradcheck.numerical_gradient(lambda x: 0.0, [1.0, 2.0]),
         TypeError, ["numerical_gradient", "NumPy array", "got list"], r"np\.asarray\(x, dtype=np\.float64\)"),
    Case("numerical_gradient-array-valued-f", lambda: gradcheck.numerical_gradient(lambda x: x * 2, np.ones(3)),
         ValueError, ["numerical_gradient", "scalar", "(3,)"], r"use numerical_vjp"),
    Case("numerical_vjp-dout-shape", lambda: gradcheck.numerical_vjp(lambda x: x * 2, np.ones(3), np.ones(4)),
         ValueError, ["numerical_vjp", "'dout'", "(3,)", "(4,)"], r"standard_normal\(out\.shape\)"),
    Case("check_gradients-dout-shape",
         lambda: gradcheck.check_gradients(lambda: np.ones((2, 3)), {"x": np.ones(3)}, {"x": np.ones(3)},
                                           dout=np.ones((3, 2))),
         ValueError, ["check_gradients", "'dout'", "(2, 3)", "(3, 2)"], r"standard_normal\(out\.shape\)"),
    Case("check_gradients-unknown-name",
         lambda: gradcheck.check_gradients(lambda: 0.0, {"x": np.ones(3)}, {"y": np.ones(3)}),
         ValueError, ["check_gradients", "'y'", "['x']"], r"same names"),
    Case("check_gradients-transposed-gradient",
         lambda: gradcheck.check_gradients(lambda: 0.0, {"W": np.ones((2, 3))}, {"W": np.ones((3, 2))}),
         GradientCheckError, ["Gradient check failed for 'W'", "(3, 2)", "(2, 3)"], r"looks transposed"),
    Case("rel_error-shapes", lambda: gradcheck.rel_error(np.ones((4, 3)), np.ones((3, 4))),
         ValueError, ["rel_error", "(4, 3)", "(3, 4)"], r"compare a with b\.T"),
    # ------------------------------------------------------------------ init
    *[Case(f"{fn.__name__}-no-rng", (lambda fn=fn: fn(None, 3, 2)),
           TypeError, [fn.__name__, "np.random.Generator", "NoneType"], r"rng = np\.random\.default_rng\(0\)")
      for fn in (init.he_normal, init.he_uniform, init.xavier_normal, init.xavier_uniform, init.lecun_normal)],
    *[Case(f"{fn.__name__}-zero-fan_in", (lambda fn=fn: fn(_rng(), 0, 2)),
           ValueError, [fn.__name__, "'fan_in'", "positive int", "got 0"], r"pass fan_in = D")
      for fn in (init.he_normal, init.he_uniform, init.xavier_normal, init.xavier_uniform, init.lecun_normal,
                 init.zeros)],
    Case("xavier_uniform-negative-fan_out", lambda: init.xavier_uniform(_rng(), 3, -2),
         ValueError, ["xavier_uniform", "'fan_out'", "positive int", "got -2"], r"fan_out = M"),
    Case("he_normal-float-fan_in", lambda: init.he_normal(_rng(), 3.5, 2),
         ValueError, ["he_normal", "'fan_in'", "positive int", "got 3.5"], r"pass fan_in = D"),
    Case("he_uniform-shape-tuple", lambda: init.he_uniform(_rng(), (3, 2), 2),
         ValueError, ["he_uniform", "'fan_in'", "positive int", "got (3, 2)"], r"pass fan_in = D"),
    Case("lecun_normal-int-dtype", lambda: init.lecun_normal(_rng(), 3, 2, dtype=np.int32),
         TypeError, ["lecun_normal", "float dtype", "int32"], r"dtype=np\.float64"),
    Case("get_initializer-unknown", lambda: init.get_initializer("kaiming"),
         ValueError, ["get_initializer", "'kaiming'", "'he_uniform'"], r"Use one of"),
    # ------------------------------------------------------------------ data
    Case("xor-int-dtype", lambda: data.xor(dtype=np.int64),
         TypeError, ["xor", "float dtype", "int64"], r"dtype=np\.float64"),
    Case("spirals-zero-n", lambda: data.spirals(0, rng=_rng()),
         ValueError, ["spirals", "'n'", ">= 1", "got 0"], r"e\.g\. n=100"),
    Case("spirals-one-class", lambda: data.spirals(10, classes=1, rng=_rng()),
         ValueError, ["spirals", "'classes'", ">= 2", "got 1"], r"e\.g\. classes=3"),
    Case("spirals-float-n", lambda: data.spirals(10.0, rng=_rng()),
         ValueError, ["spirals", "'n'", "an int", "got 10.0"], r"e\.g\. n=100"),
    Case("spirals-no-rng", lambda: data.spirals(10),
         TypeError, ["spirals", "np.random.Generator", "NoneType"], r"rng=np\.random\.default_rng\(0\)"),
    Case("spirals-negative-noise", lambda: data.spirals(10, rng=_rng(), noise=-0.2),
         ValueError, ["spirals", "'noise'", ">= 0", "got -0.2"], r"use 0 for clean data"),
    Case("moons-one-point", lambda: data.moons(1, rng=_rng()),
         ValueError, ["moons", "'n'", ">= 2", "got 1"], r"e\.g\. n=100"),
    Case("moons-negative-noise", lambda: data.moons(10, noise=-0.1, rng=_rng()),
         ValueError, ["moons", "'noise'", ">= 0", "got -0.1"], r"use 0 for clean data"),
    Case("moons-int-rng", lambda: data.moons(10, rng=0),
         TypeError, ["moons", "np.random.Generator", "got int"], r"rng=np\.random\.default_rng\(0\)"),
    Case("one_hot-float-labels", lambda: data.one_hot(np.array([0.0, 1.0]), 2),
         ValueError, ["one_hot", "int labels", "float64", "(2,)"], r"y\.astype\(int\)"),
    Case("one_hot-column-labels", lambda: data.one_hot(np.array([[0], [1]]), 2),
         ValueError, ["one_hot", "(N,)", "(2, 1)"], r"y\.ravel\(\)"),
    Case("one_hot-label-out-of-range", lambda: data.one_hot(np.array([0, 2, 1]), 2),
         ValueError, ["one_hot", "[0, 1]", "[0, 2]"], r"pass classes=3"),
    Case("one_hot-negative-label", lambda: data.one_hot(np.array([0, -1]), 2),
         ValueError, ["one_hot", "[0, 1]", "[-1, 0]"], r"never negative"),
    Case("one_hot-zero-classes", lambda: data.one_hot(np.array([], dtype=int), 0),
         ValueError, ["one_hot", "'classes'", ">= 1", "got 0"], r"e\.g\. classes=10"),
    Case("one_hot-float-classes", lambda: data.one_hot(np.array([0, 1]), 2.0),
         ValueError, ["one_hot", "'classes'", "an int", "got 2.0"], r"e\.g\. classes=10"),
    Case("train_val_test_split-length", lambda: data.train_val_test_split(np.ones((5, 2)), np.zeros(4, int)),
         ValueError, ["train_val_test_split", "5 rows", "has 4"], r"one label per row of X"),
    Case("train_val_test_split-fractions-sum",
         lambda: data.train_val_test_split(np.ones((5, 2)), np.zeros(5, int), val=0.6, test=0.5),
         ValueError, ["train_val_test_split", "val + test < 1", "val=0.6", "test=0.5"], r"e\.g\. val=0\.15"),
    Case("train_val_test_split-negative-fraction",
         lambda: data.train_val_test_split(np.ones((5, 2)), np.zeros(5, int), val=-0.1),
         ValueError, ["train_val_test_split", "0 <= val", "val=-0.1"], r"e\.g\. val=0\.15"),
    Case("train_val_test_split-one-hot-y",
         lambda: data.train_val_test_split(np.ones((3, 2)), np.eye(3)),
         ValueError, ["train_val_test_split", "(N,)", "(3, 3)"], r"y\.argmax\(axis=1\)"),
    Case("digits-fractions", lambda: data.digits(val=0.9, test=0.2),
         ValueError, ["digits", "val + test < 1", "val=0.9", "test=0.2"], r"e\.g\. val=0\.15"),
    Case("mnist-fractions", lambda: data.mnist(val=0.9, test=0.2),
         ValueError, ["mnist", "val + test < 1", "val=0.9", "test=0.2"], r"e\.g\. val=0\.15"),
    Case("mnist-int-dtype", lambda: data.mnist(dtype=np.int64),
         TypeError, ["mnist", "'dtype'", "float dtype", "int64"], r"dtype=np\.float64"),
    # ------------------------------------------------------------------ train
    Case("fit-X-y-length", lambda: _fit(y=np.ones((5, 2))),
         ValueError, ["fit", "X has 6 examples", "y has 5"], r"one target per example"),
    Case("fit-zero-batch_size", lambda: _fit(batch_size=0),
         ValueError, ["fit", "'batch_size'", ">= 1", "got 0"], r"e\.g\. batch_size=32"),
    Case("fit-float-batch_size", lambda: _fit(batch_size=2.0),
         ValueError, ["fit", "'batch_size'", "an int", "got 2.0"], r"e\.g\. batch_size=32"),
    Case("fit-zero-epochs", lambda: _fit(epochs=0),
         ValueError, ["fit", "'epochs'", ">= 1", "got 0"], r"e\.g\. epochs=100"),
    Case("fit-no-rng", lambda: _fit(rng=None),
         TypeError, ["fit", "np.random.Generator", "NoneType"], r"rng=np\.random\.default_rng\(0\)"),
    Case("fit-optimizer-class", lambda: _fit(optimizer=optim.SGD),
         TypeError, ["fit", "optimizer instance", "the class SGD"], r"SGD\(lr=0\.1\)"),
    Case("fit-loss-name", lambda: _fit(loss_fn="mse"),
         TypeError, ["fit", "'loss_fn'", "got str"], r"Pass the function itself"),
    Case("fit-not-a-model", lambda: _fit(model=object()),
         TypeError, ["fit", "bpkit.nn.Module contract", "(object)", "forward()"], r"Build it from bpkit\.nn"),
    Case("fit-validation-not-a-pair", lambda: _fit(validation=np.ones(3)),
         ValueError, ["fit", "pair (X_val, y_val)", "got ndarray"], r"validation=\(split\.X_val, split\.y_val\)"),
    Case("fit-metrics-list", lambda: _fit(metrics=[train.accuracy]),
         TypeError, ["fit", "'metrics'", "dict"], r"e\.g\. \{'accuracy': accuracy\}"),
    Case("fit-empty", lambda: _fit(X=np.ones((0, 2)), y=np.ones((0, 2))),
         ValueError, ["fit", "empty", "0 examples"], r"at least one example"),
    Case("EarlyStopping-mode", lambda: train.EarlyStopping(mode="up"),
         ValueError, ["EarlyStopping", "'min' or 'max'", "'up'"], r"Use 'min' for a loss"),
    Case("EarlyStopping-patience", lambda: train.EarlyStopping(patience=0),
         ValueError, ["EarlyStopping", "'patience'", ">= 1", "got 0"], r"e\.g\. patience=5"),
    Case("GradientClipping-negative-max_norm", lambda: train.GradientClipping(-1.0),
         ValueError, ["GradientClipping", "'max_norm'", "> 0", "got -1.0"], r"max_norm=1\.0"),
    Case("accuracy-class-labels-shape", lambda: train.accuracy(X43, np.zeros(3, int)),
         ValueError, ["accuracy", "(4, 3)", "(4,)", "(3,)"], r"labels of the same examples"),
    Case("accuracy-one-hot-labels", lambda: train.accuracy(X43, np.eye(3)[[0, 1, 2, 0]]),
         ValueError, ["accuracy", "(4,)", "(4, 3)"], r"y\.argmax\(axis=1\)"),
    Case("accuracy-binary-shapes", lambda: train.accuracy(np.ones((4, 1)), np.ones(4)),
         ValueError, ["accuracy", "(4, 1)", "(4,)"], r"y\.reshape\(-1, 1\)"),
    # ------------------------------------------------------------------ _checks helpers
    Case("as_float_array-ragged", lambda: as_float_array([[1.0, 2.0], [3.0]], "myfunc", "x"),
         TypeError, ["myfunc", "'x'", "could not be turned into an array"], r"Pass a NumPy array"),
    # ------------------------------------------------------------------ dropout and batch norm
    Case("dropout_forward-p", lambda: ops.dropout_forward(X43, 1.5, _rng()),
         ValueError, ["dropout_forward", "'p'", "[0, 1]", "1.5"], r"p=0\.5 \(p is the drop rate"),
    Case("dropout_forward-rng", lambda: ops.dropout_forward(X43, 0.5, 0),
         TypeError, ["dropout_forward", "'rng'", "np.random.Generator", "int"], r"rng=np\.random\.default_rng\(0\)"),
    Case("dropout_backward-dout", lambda: ops.dropout_backward(np.ones((3, 4)), ops.dropout_forward(X43, 0.5, _rng())[1]),
         ValueError, ["dropout_backward", "(4, 3)", "(3, 4)"]),
    Case("Dropout-p", lambda: nn.Dropout(-0.1, rng=_rng()),
         ValueError, ["Dropout", "'p'", "[0, 1]", "-0.1"]),
    Case("Dropout-rng", lambda: nn.Dropout(0.5),
         TypeError, ["Dropout", "'rng'", "NoneType"], r"rng=np\.random\.default_rng\(0\)"),
    Case("batchnorm_forward-1d", lambda: ops.batchnorm_forward(np.ones(3), np.ones(3), np.zeros(3)),
         ValueError, ["batchnorm_forward", "(N, D)", "(3,)"], r"x\.reshape\(1, -1\)"),
    Case("batchnorm_forward-gamma", lambda: ops.batchnorm_forward(X43, np.ones(2), np.zeros(3)),
         ValueError, ["batchnorm_forward", "'gamma'", "(3,)", "(2,)"], r"D = x\.shape\[1\] = 3"),
    Case("batchnorm_forward-one-example", lambda: ops.batchnorm_forward(np.ones((1, 3)), np.ones(3), np.zeros(3)),
         ValueError, ["batchnorm_forward", "more than one value", "(1, 3)"], r"batch of at least 2.*eval\(\)"),
    Case("batchnorm_forward-mean-only", lambda: ops.batchnorm_forward(X43, np.ones(3), np.zeros(3), mean=np.zeros(3)),
         ValueError, ["batchnorm_forward", "'mean'", "'var'"]),
    Case("batchnorm_forward-negative-var",
         lambda: ops.batchnorm_forward(X43, np.ones(3), np.zeros(3), mean=np.zeros(3), var=-np.ones(3)),
         ValueError, ["batchnorm_forward", "'var'", ">= 0", "-1.0"], r"Pass the running variance"),
    Case("batchnorm_backward-dout",
         lambda: ops.batchnorm_backward(np.ones((3, 4)), ops.batchnorm_forward(X43, np.ones(3), np.zeros(3))[1]),
         ValueError, ["batchnorm_backward", "(4, 3)", "(3, 4)"]),
    Case("BatchNorm1d-features", lambda: nn.BatchNorm1d(0),
         ValueError, ["BatchNorm1d", "positive int", "0"], r"Pass x\.shape\[1\]"),
    Case("BatchNorm1d-momentum", lambda: nn.BatchNorm1d(3, momentum=2),
         ValueError, ["BatchNorm1d", "'momentum'", "[0, 1]", "2"], r"use the default 0\.1"),
    Case("BatchNorm1d-forward-width", lambda: nn.BatchNorm1d(3).forward(np.ones((4, 2))),
         ValueError, ["BatchNorm1d(3).forward", "(N, 3)", "(4, 2)"], r"Build this layer with D = 2"),
    Case("BatchNorm1d-forward-images", lambda: nn.BatchNorm1d(3).forward(np.ones((2, 3, 4, 4))),
         ValueError, ["BatchNorm1d(3).forward", "(N, 3)", "(2, 3, 4, 4)"], r"use BatchNorm2d"),
    Case("BatchNorm2d-forward-dense", lambda: nn.BatchNorm2d(3).forward(np.ones((4, 3))),
         ValueError, ["BatchNorm2d(3).forward", "(N, 3, H, W)", "(4, 3)"], r"use BatchNorm1d"),
    Case("BatchNorm1d-dtype", lambda: nn.BatchNorm1d(3, dtype=np.float32).forward(X43),
         TypeError, ["BatchNorm1d(3, dtype=float32).forward", "float64", "float32"], r"x\.astype\(np\.float32\)"),
    Case("as_float_array-complex", lambda: as_float_array(np.ones(2, complex), "myfunc", "x"),
         TypeError, ["myfunc", "'x'", "real numbers", "complex128"], r"np\.asarray\(x, dtype=np\.float64\)"),
    Case("check_ndim", lambda: check_ndim(np.ones((1, 3)), "myfunc", "b", 1, "(M,)"),
         ValueError, ["myfunc", "'b'", "(M,)", "(1, 3)"], r"b\.ravel\(\)"),
    Case("check_shape", lambda: check_shape(np.ones((3, 2)), "myfunc", "W", (2, None), hint="Pass W.T."),
         ValueError, ["myfunc", "'W'", "(2, ?)", "(3, 2)"], r"Pass W\.T\."),
    Case("check_same_dtype", lambda: check_same_dtype("myfunc", x=np.ones(2), W=np.ones(2, np.float32)),
         TypeError, ["myfunc", "x is float64", "W is float32"], r"W = W\.astype\(np\.float64\)"),
    # ------------------------------------------------------------------ convolution and pooling
    Case("conv2d_forward-x-flat", lambda: ops.conv2d_forward(np.ones((10, 64)), np.ones((4, 1, 3, 3)), np.ones(4)),
         ValueError, ["conv2d_forward", "'x'", "(N, C, H, W)", "(10, 64)"], r"x\.reshape\(10, 1, 8, 8\)"),
    Case("conv2d_forward-x-flat-not-square",
         lambda: ops.conv2d_forward(np.ones((10, 12)), np.ones((4, 1, 3, 3)), np.ones(4)),
         ValueError, ["conv2d_forward", "'x'", "(N, C, H, W)", "(10, 12)"], r"x\.reshape\(N, C, H, W\), where C\*H\*W = 12"),
    Case("conv2d_forward-x-one-image", lambda: ops.conv2d_forward(np.ones((3, 5, 5)), W4, B4),
         ValueError, ["conv2d_forward", "'x'", "(N, C, H, W)", "(3, 5, 5)"], r"x\[None\]"),
    Case("conv2d_forward-W-2d", lambda: ops.conv2d_forward(X4, np.ones((4, 27)), B4),
         ValueError, ["conv2d_forward", "'W'", "(F, C, KH, KW)", "(4, 27)"], r"rng\.standard_normal\(\(F, C, 3, 3\)\)"),
    Case("conv2d_forward-W-3d", lambda: ops.conv2d_forward(np.ones((2, 1, 5, 5)), np.ones((4, 3, 3)), B4),
         ValueError, ["conv2d_forward", "'W'", "(F, C, KH, KW)", "(4, 3, 3)"], r"W\[:, None\]"),
    Case("conv2d_forward-channels", lambda: ops.conv2d_forward(X4, np.ones((4, 2, 3, 3)), B4),
         ValueError, ["conv2d_forward", "(2, 3, 5, 5)", "(4, 2, 3, 3)", "(F, 3, KH, KW)"],
         r"Build W with C = x\.shape\[1\] = 3"),
    Case("conv2d_forward-W-keras-layout", lambda: ops.conv2d_forward(X4, np.ones((2, 2, 3, 4)), B4),
         ValueError, ["conv2d_forward", "(2, 2, 3, 4)", "(F, 3, KH, KW)"],
         r"\(KH, KW, C, F\).*W\.transpose\(3, 2, 0, 1\)"),
    Case("conv2d_forward-b", lambda: ops.conv2d_forward(X4, W4, np.ones(3)),
         ValueError, ["conv2d_forward", "'b'", "(4,)", "(3,)"], r"F = W\.shape\[0\] = 4"),
    Case("conv2d_forward-stride", lambda: ops.conv2d_forward(X4, W4, B4, stride=0),
         ValueError, ["conv2d_forward", "'stride'", ">= 1", "got 0"], r"Use stride=1"),
    Case("conv2d_forward-padding", lambda: ops.conv2d_forward(X4, W4, B4, padding=-1),
         ValueError, ["conv2d_forward", "'padding'", ">= 0", "got -1"], r"padding=\(K - 1\) // 2"),
    Case("conv2d_forward-kernel-too-large", lambda: ops.conv2d_forward(np.ones((2, 3, 2, 2)), W4, B4),
         ValueError, ["conv2d_forward", "kernel (3, 3)", "padded input (2, 2)"], r"smaller kernel or more padding"),
    Case("conv2d_forward-mixed-dtypes", lambda: ops.conv2d_forward(X4.astype(np.float32), W4, B4),
         TypeError, ["conv2d_forward", "float32", "float64"], r"astype\(np\.float"),
    Case("conv2d_backward-dout", lambda: ops.conv2d_backward(np.ones((2, 4, 5, 5)), ops.conv2d_forward(X4, W4, B4)[1]),
         ValueError, ["conv2d_backward", "(2, 4, 3, 3)", "(2, 4, 5, 5)"]),
    Case("maxpool2d_forward-x-flat", lambda: ops.maxpool2d_forward(np.ones((4, 64))),
         ValueError, ["maxpool2d_forward", "'x'", "(N, C, H, W)", "(4, 64)"], r"x\.reshape\(4, 1, 8, 8\)"),
    Case("maxpool2d_forward-kernel_size", lambda: ops.maxpool2d_forward(X4, 0),
         ValueError, ["maxpool2d_forward", "'kernel_size'", "positive int", "got 0"], r"kernel_size=2"),
    Case("avgpool2d_forward-stride", lambda: ops.avgpool2d_forward(X4, 2, (1, 2, 3)),
         ValueError, ["avgpool2d_forward", "'stride'", "pair of positive ints", "got (1, 2, 3)"],
         r"stride=2 to move the window by 2 pixels"),
    Case("maxpool2d_forward-window-too-large", lambda: ops.maxpool2d_forward(X4, 6),
         ValueError, ["maxpool2d_forward", "window (6, 6)", "(5, 5)", "(2, 3, 5, 5)"],
         r"smaller kernel_size, or pool fewer times"),
    *[Case(f"{name}_backward-dout",
           (lambda name=name: getattr(ops, f"{name}_backward")(np.ones((2, 3, 5, 5)),
                                                                getattr(ops, f"{name}_forward")(X4)[1])),
           ValueError, [f"{name}_backward", "(2, 3, 2, 2)", "(2, 3, 5, 5)"])
      for name in ("maxpool2d", "avgpool2d")],
    Case("Conv2d-zero-C", lambda: nn.Conv2d(0, 4, 3, rng=_rng()),
         ValueError, ["Conv2d", "'C'", "positive int", "0"], r"Conv2d\(1, 8, 3, rng=rng\)"),
    Case("Conv2d-kernel_size", lambda: nn.Conv2d(1, 4, (3, 0), rng=_rng()),
         ValueError, ["Conv2d", "'kernel_size'", "(3, 0)"]),
    Case("Conv2d-padding", lambda: nn.Conv2d(1, 4, 3, padding=-1, rng=_rng()),
         ValueError, ["Conv2d", "'padding'", ">= 0", "got -1"], r"padding=0 for none"),
    Case("Conv2d-missing-rng", lambda: nn.Conv2d(1, 4, 3),
         TypeError, ["Conv2d", "'rng'", "NoneType"], r"rng=np\.random\.default_rng\(0\)"),
    Case("Conv2d-int-dtype", lambda: nn.Conv2d(1, 4, 3, rng=_rng(), dtype=np.int32),
         TypeError, ["Conv2d", "'dtype'", "int32"]),
    Case("Conv2d-unknown-init", lambda: nn.Conv2d(1, 4, 3, rng=_rng(), init="kaiming"),
         ValueError, ["Conv2d", "unknown init", "'kaiming'"]),
    Case("Conv2d-init-shape", lambda: nn.Conv2d(1, 4, 3, rng=_rng(), init=lambda rng, D, M, dtype: np.ones((M, D))),
         ValueError, ["Conv2d", "(4, 9)", "(9, 4)"], r"returns an array of shape \(D, M\)"),
    Case("Conv2d.forward-channels", lambda: nn.Conv2d(3, 4, 3, rng=_rng()).forward(np.ones((2, 1, 5, 5))),
         ValueError, ["Conv2d(3 -> 4, kernel_size=3, init=he).forward", "(N, 3, H, W)", "(2, 1, 5, 5)"],
         r"Build this layer with C = 1"),
    Case("Conv2d.forward-flat", lambda: nn.Conv2d(1, 4, 3, rng=_rng()).forward(np.ones((2, 64))),
         ValueError, ["Conv2d(1 -> 4, kernel_size=3, init=he).forward", "(N, 1, H, W)", "(2, 64)"],
         r"x\.reshape\(len\(x\), 1, H, W\)"),
    Case("Conv2d.forward-dtype", lambda: nn.Conv2d(3, 4, 3, rng=_rng()).forward(X4.astype(np.float32)),
         TypeError, ["Conv2d", "float32", "float64"], r"x\.astype\(np\.float64\)"),
    Case("Conv2d.backward-dout", lambda: _conv_after_forward().backward(np.ones((2, 4, 5, 5))),
         ValueError, ["Conv2d(3 -> 4, kernel_size=3, init=he).backward", "(2, 4, 3, 3)", "(2, 4, 5, 5)"]),
    Case("Conv2d.backward-before-forward", lambda: nn.Conv2d(3, 4, 3, rng=_rng()).backward(np.ones((2, 4, 3, 3))),
         RuntimeError, ["Conv2d.backward", "before forward"], r"run forward\(x\) first"),
    Case("MaxPool2d-kernel_size", lambda: nn.MaxPool2d(0),
         ValueError, ["MaxPool2d", "'kernel_size'", "got 0"], r"kernel_size=2"),
    Case("AvgPool2d-stride", lambda: nn.AvgPool2d(2, stride=-1),
         ValueError, ["AvgPool2d", "'stride'", "got -1"]),
    Case("Flatten.forward-no-batch-axis", lambda: nn.Flatten().forward(np.ones(3)),
         ValueError, ["Flatten.forward", "(N, ...)", "(3,)"], r"x\.reshape\(1, -1\)"),
    Case("Flatten.backward-dout", lambda: _flatten_after_forward().backward(np.ones((2, 74))),
         ValueError, ["Flatten.backward", "(2, 75)", "(2, 74)"]),
    # ------------------------------------------------------------------ recurrent layers: ops
    Case("rnn_forward-x-one-step", lambda: ops.rnn_forward(np.ones((2, 3)), HS, RWx, RWh, RB),
         ValueError, ["rnn_forward", "'x'", "(N, T, D)", "(2, 3)"], r"add the time axis with x\[:, None\]"),
    Case("rnn_forward-x-scalars", lambda: ops.rnn_forward(np.ones((2, 5)), HS, np.ones((1, 4)), RWh, RB),
         ValueError, ["rnn_forward", "'x'", "(N, T, D)", "(2, 5)"], r"add the feature axis with x\[:, :, None\]"),
    Case("rnn_forward-x-2d", lambda: ops.rnn_forward(np.ones((2, 6)), HS, RWx, RWh, RB),
         ValueError, ["rnn_forward", "'x'", "(N, T, D)", "(2, 6)"], r"x\.reshape\(N, T, 3\)"),
    Case("rnn_forward-x-1d", lambda: ops.rnn_forward(np.ones(6), HS, RWx, RWh, RB),
         ValueError, ["rnn_forward", "'x'", "(N, T, D)", "(6,)"], r"x\.reshape\(1, -1, 3\)"),
    Case("rnn_forward-x-4d", lambda: ops.rnn_forward(np.ones((2, 5, 3, 1)), HS, RWx, RWh, RB),
         ValueError, ["rnn_forward", "'x'", "(N, T, D)", "(2, 5, 3, 1)"], r"laid out as \(N, T, D\)"),
    Case("rnn_forward-no-steps", lambda: ops.rnn_forward(np.ones((2, 0, 3)), HS, RWx, RWh, RB),
         ValueError, ["rnn_forward", "(2, 0, 3)", "T = 0"], r"at least one step"),
    Case("rnn_step_forward-x-sequence", lambda: ops.rnn_step_forward(XS, HS, RWx, RWh, RB),
         ValueError, ["rnn_step_forward", "'x'", "(N, D)", "(2, 5, 3)"],
         r"use rnn_forward; for time step t pass x\[:, t\]"),
    Case("rnn_step_forward-x-1d", lambda: ops.rnn_step_forward(np.ones(3), HS, RWx, RWh, RB),
         ValueError, ["rnn_step_forward", "'x'", "(N, D)", "(3,)"], r"x\.reshape\(1, -1\)"),
    Case("rnn_forward-D", lambda: ops.rnn_forward(np.ones((2, 5, 2)), HS, RWx, RWh, RB),
         ValueError, ["rnn_forward", "(2, 5, 2)", "(3, 4)", "(N, T, 3)"], r"Build Wx with D = x\.shape\[-1\] = 2 rows"),
    Case("rnn_forward-Wx-transposed", lambda: ops.rnn_forward(XS, HS, np.ones((4, 3)), RWh, RB),
         ValueError, ["rnn_forward", "(4, 3)", "(4, 4)", "(D, 4)"], r"Wx looks transposed: pass Wx\.T"),
    Case("rnn_forward-Wx-H", lambda: ops.rnn_forward(XS, HS, np.ones((3, 5)), RWh, RB),
         ValueError, ["rnn_forward", "(3, 5)", "(4, 4)", "(D, 4)"], r"same number of hidden units H = 4"),
    Case("rnn_forward-Wx-1d", lambda: ops.rnn_forward(XS, HS, np.ones(3), RWh, RB),
         ValueError, ["rnn_forward", "'Wx'", "(D, H)", "(3,)"], r"Pass the input-to-hidden weights as one matrix"),
    Case("rnn_forward-Wh-not-square", lambda: ops.rnn_forward(XS, HS, RWx, np.ones((4, 5)), RB),
         ValueError, ["rnn_forward", "'Wh'", "(H, H) = (4, 4)", "(4, 5)"], r"use a square matrix"),
    Case("rnn_forward-Wh-1d", lambda: ops.rnn_forward(XS, HS, RWx, np.ones(4), RB),
         ValueError, ["rnn_forward", "'Wh'", "(H, H)", "(4,)"], r"Pass the hidden-to-hidden weights as one matrix"),
    Case("rnn_forward-b", lambda: ops.rnn_forward(XS, HS, RWx, RWh, np.ones(3)),
         ValueError, ["rnn_forward", "'b'", "(4,)", "(3,)"], r"pass bias_ih \+ bias_hh"),
    Case("rnn_forward-b-row", lambda: ops.rnn_forward(XS, HS, RWx, RWh, np.ones((1, 4))),
         ValueError, ["rnn_forward", "'b'", "(4,)", "(1, 4)"], r"b\.ravel\(\)"),
    Case("rnn_forward-h0-1d", lambda: ops.rnn_forward(XS, np.ones(4), RWx, RWh, RB),
         ValueError, ["rnn_forward", "'h0'", "(N, H) = (2, 4)", "(4,)"], r"np\.tile\(h0, \(2, 1\)\)"),
    Case("rnn_forward-h0-torch-layout", lambda: ops.rnn_forward(XS, np.ones((1, 2, 4)), RWx, RWh, RB),
         ValueError, ["rnn_forward", "'h0'", "(N, H) = (2, 4)", "(1, 2, 4)"],
         r"PyTorch's \(num_layers, N, H\).*h0\[0\]"),
    Case("rnn_forward-h0-N", lambda: ops.rnn_forward(XS, np.ones((3, 4)), RWx, RWh, RB),
         ValueError, ["rnn_forward", "'h0'", "(N, H) = (2, 4)", "(3, 4)"], r"one state per sequence of x"),
    Case("rnn_forward-h0-H", lambda: ops.rnn_forward(XS, np.ones((2, 5)), RWx, RWh, RB),
         ValueError, ["rnn_forward", "'h0'", "(N, H) = (2, 4)", "(2, 5)"], r"np\.zeros\(\(2, 4\)\)"),
    Case("rnn_forward-mixed-dtypes", lambda: ops.rnn_forward(XS.astype(np.float32), HS, RWx, RWh, RB),
         TypeError, ["rnn_forward", "x is float32", "Wh is float64"], r"astype\(np\.float"),
    Case("rnn_backward-dh-last-step-only",
         lambda: ops.rnn_backward(np.ones((2, 4)), ops.rnn_forward(XS, HS, RWx, RWh, RB)[1]),
         ValueError, ["rnn_backward", "'dh'", "(2, 5, 4)", "(2, 4)"], r"dh\[:, -1\] = dh_last"),
    Case("rnn_backward-dh", lambda: ops.rnn_backward(np.ones((2, 4, 5)), ops.rnn_forward(XS, HS, RWx, RWh, RB)[1]),
         ValueError, ["rnn_backward", "'dh'", "(2, 5, 4)", "(2, 4, 5)"], r"every hidden state h\[:, t\]"),
    Case("rnn_step_backward-dh",
         lambda: ops.rnn_step_backward(np.ones((2, 5)), ops.rnn_step_forward(X43[:2], HS, RWx, RWh, RB)[1]),
         ValueError, ["rnn_step_backward", "'dh'", "(2, 4)", "(2, 5)"]),
    Case("lstm_forward-Wh-H-columns", lambda: ops.lstm_forward(XS, HS, LWx, RWh, LB),
         ValueError, ["lstm_forward", "'Wh'", "(H, 4H) = (4, 16)", "(4, 4)"], r"4H = 16 columns.*i, f, o, g"),
    Case("lstm_forward-Wh-torch-layout", lambda: ops.lstm_forward(XS, HS, LWx, np.ones((16, 4)), LB),
         ValueError, ["lstm_forward", "'Wh'", "(H, 4H)", "(16, 4)"], r"weight_hh\.T.*\(i, f, g, o\) to \(i, f, o, g\)"),
    Case("lstm_forward-Wh", lambda: ops.lstm_forward(XS, HS, LWx, np.ones((4, 10)), LB),
         ValueError, ["lstm_forward", "'Wh'", "(H, 4H) = (4, 16)", "(4, 10)"], r"one block of H columns per gate"),
    Case("lstm_forward-Wx-H-columns", lambda: ops.lstm_forward(XS, HS, RWx, LWh, LB),
         ValueError, ["lstm_forward", "(3, 4)", "(4, 16)", "(D, 16)"], r"needs 4H = 16 for the four gates"),
    Case("lstm_forward-Wx-torch-layout", lambda: ops.lstm_forward(XS, HS, np.ones((16, 3)), LWh, LB),
         ValueError, ["lstm_forward", "(16, 3)", "(4, 16)", "(D, 16)"], r"pass Wx\.T.*weight_ih\.T"),
    Case("lstm_forward-b-H", lambda: ops.lstm_forward(XS, HS, LWx, LWh, RB),
         ValueError, ["lstm_forward", "'b'", "(16,)", "(4,)"], r"4H = 16 values.*bias_ih \+ bias_hh"),
    Case("lstm_forward-c0", lambda: ops.lstm_forward(XS, HS, LWx, LWh, LB, np.ones((2, 5))),
         ValueError, ["lstm_forward", "'c0'", "(N, H) = (2, 4)", "(2, 5)"], r"np\.zeros\(\(2, 4\)\)"),
    Case("lstm_forward-mixed-dtypes-c0", lambda: ops.lstm_forward(XS, HS, LWx, LWh, LB, HS.astype(np.float32)),
         TypeError, ["lstm_forward", "c0 is float32", "x is float64"], r"c0 = c0\.astype\(np\.float64\)"),
    Case("lstm_step_forward-c_prev", lambda: ops.lstm_step_forward(X43[:2], HS, np.ones(4), LWx, LWh, LB),
         ValueError, ["lstm_step_forward", "'c_prev'", "(N, H) = (2, 4)", "(4,)"], r"np\.tile\(c_prev, \(2, 1\)\)"),
    Case("lstm_step_backward-dc",
         lambda: ops.lstm_step_backward(HS, np.ones((4, 2)), ops.lstm_step_forward(X43[:2], HS, HS, LWx, LWh, LB)[2]),
         ValueError, ["lstm_step_backward", "'dc'", "(2, 4)", "(4, 2)"]),
    Case("lstm_backward-dh-last-step-only",
         lambda: ops.lstm_backward(np.ones((2, 4)), ops.lstm_forward(XS, HS, LWx, LWh, LB)[1]),
         ValueError, ["lstm_backward", "'dh'", "(2, 5, 4)", "(2, 4)"], r"nn\.LastTimeStep does this"),
    # ------------------------------------------------------------------ recurrent layers: modules
    Case("RNN-zero-D", lambda: nn.RNN(0, 4, rng=_rng()),
         ValueError, ["RNN", "'D'", "positive int", "got 0"], r"RNN\(2, 32, rng=rng\)"),
    Case("LSTM-float-H", lambda: nn.LSTM(3, 2.0, rng=_rng()),
         ValueError, ["LSTM", "'H'", "positive int", "got 2.0"], r"LSTM\(2, 32, rng=rng\)"),
    Case("RNN-missing-rng", lambda: nn.RNN(3, 4),
         TypeError, ["RNN", "'rng'", "NoneType"], r"rng=np\.random\.default_rng\(0\)"),
    Case("LSTM-int-dtype", lambda: nn.LSTM(3, 4, rng=_rng(), dtype=np.int32),
         TypeError, ["LSTM", "'dtype'", "int32"]),
    Case("LSTM-unknown-init", lambda: nn.LSTM(3, 4, rng=_rng(), init="orthogonal"),
         ValueError, ["LSTM", "unknown init", "'orthogonal'"]),
    Case("LSTM-init-shape", lambda: nn.LSTM(3, 4, rng=_rng(), init=lambda rng, D, M, dtype: np.ones((M, D))),
         ValueError, ["LSTM", "for Wx", "(4, 3)", "(3, 4)"], r"returns an array of shape \(D, M\)"),
    Case("LSTM-forget_bias", lambda: nn.LSTM(3, 4, rng=_rng(), forget_bias=float("nan")),
         ValueError, ["LSTM", "'forget_bias'", "finite number", "got nan"], r"Use the default 1\.0"),
    Case("RNN.forward-one-step", lambda: nn.RNN(3, 4, rng=_rng()).forward(np.ones((2, 3))),
         ValueError, ["RNN(3 -> 4, init=xavier).forward", "(N, T, 3)", "(2, 3)"], r"x\[:, None\]"),
    Case("RNN.forward-scalars", lambda: nn.RNN(1, 4, rng=_rng()).forward(np.ones((2, 7))),
         ValueError, ["RNN(1 -> 4, init=xavier).forward", "(N, T, 1)", "(2, 7)"], r"x\[:, :, None\]"),
    Case("LSTM.forward-D", lambda: nn.LSTM(3, 4, rng=_rng()).forward(np.ones((2, 5, 2))),
         ValueError, ["LSTM(3 -> 4, init=xavier).forward", "(N, T, 3)", "(2, 5, 2)"], r"Build this layer with D = 2"),
    Case("LSTM.forward-4d", lambda: nn.LSTM(3, 4, rng=_rng()).forward(np.ones((2, 5, 2, 3))),
         ValueError, ["LSTM(3 -> 4, init=xavier).forward", "(N, T, 3)", "(2, 5, 2, 3)"], r"laid out as \(N, T, D\)"),
    Case("LSTM.forward-dtype", lambda: nn.LSTM(3, 4, rng=_rng()).forward(XS.astype(np.float32)),
         TypeError, ["LSTM", "float32", "float64"], r"x\.astype\(np\.float64\)"),
    Case("LSTM.backward-last-step-only", lambda: _after_forward(nn.LSTM(3, 4, rng=_rng()), XS).backward(HS),
         ValueError, ["LSTM(3 -> 4, init=xavier).backward", "(2, 5, 4)", "(2, 4)"], r"put nn\.LastTimeStep\(\) after"),
    Case("RNN.backward-dout", lambda: _after_forward(nn.RNN(3, 4, rng=_rng()), XS).backward(np.ones((2, 4, 5))),
         ValueError, ["RNN(3 -> 4, init=xavier).backward", "(2, 5, 4)", "(2, 4, 5)"]),
    Case("RNN.backward-before-forward", lambda: nn.RNN(3, 4, rng=_rng()).backward(np.ones((2, 5, 4))),
         RuntimeError, ["RNN.backward", "before forward"], r"run forward\(x\) first"),
    Case("LastTimeStep.forward-2d", lambda: nn.LastTimeStep().forward(HS),
         ValueError, ["LastTimeStep.forward", "(N, T, H)", "(2, 4)"], r"directly after a recurrent layer"),
    Case("LastTimeStep.backward-dout", lambda: _after_forward(nn.LastTimeStep(), XS).backward(XS),
         ValueError, ["LastTimeStep.backward", "(2, 3)", "(2, 5, 3)"]),
    Case("TimeDistributed-class", lambda: nn.TimeDistributed(nn.Linear),
         TypeError, ["TimeDistributed", "bpkit.nn.Module", "got type"], r"class instead of an instance"),
    Case("TimeDistributed-function", lambda: nn.TimeDistributed(np.tanh),
         TypeError, ["TimeDistributed", "bpkit.nn.Module", "got ufunc"], r"Wrap a layer"),
    Case("TimeDistributed.forward-2d", lambda: nn.TimeDistributed(nn.Tanh()).forward(np.ones((2, 3))),
         ValueError, ["TimeDistributed.forward", "(N, T, ...)", "(2, 3)"], r"use the wrapped module itself"),
    Case("TimeDistributed.backward-dout", lambda: _after_forward(nn.TimeDistributed(nn.Tanh()), XS).backward(
        np.ones((5, 2, 3))), ValueError, ["TimeDistributed.backward", "(N, T) = (2, 5)", "(5, 2, 3)"]),
    # ------------------------------------------------------------------ sequence data
    Case("adding_problem-T", lambda: data.adding_problem(10, 1, _rng()),
         ValueError, ["adding_problem", "'T'", ">= 2", "got 1"], r"T=20"),
    Case("adding_problem-missing-rng", lambda: data.adding_problem(10, 20),
         TypeError, ["adding_problem", "'rng'", "NoneType"], r"rng=np\.random\.default_rng\(0\)"),
    Case("sine_sequences-periods", lambda: data.sine_sequences(10, 20, _rng(), periods=(1, 5)),
         ValueError, ["sine_sequences", "'periods'", "2 <= smallest <= largest", "got (1, 5)"], r"periods=\(8, 32\)"),
    Case("sine_sequences-period-scalar", lambda: data.sine_sequences(10, 20, _rng(), periods=8),
         ValueError, ["sine_sequences", "'periods'", "pair", "got 8"], r"periods=\(8, 32\)"),
    Case("sine_sequences-noise", lambda: data.sine_sequences(10, 20, _rng(), noise=-1),
         ValueError, ["sine_sequences", "'noise'", ">= 0", "got -1"]),
    Case("sine_sequences-T", lambda: data.sine_sequences(10, 0, _rng()),
         ValueError, ["sine_sequences", "'T'", ">= 1", "got 0"], r"T=50"),
]


def _params():
    return [pytest.param(case, id=case.id) for case in CASES]


def test_case_ids_are_unique():
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})


@pytest.mark.parametrize("case", _params())
def test_message_names_function_expected_and_actual(case):
    with pytest.raises(case.exc, match=re.escape(case.must[0])) as info:
        case.call()
    assert type(info.value) is case.exc                  # not a subclass raised from deeper down
    msg = str(info.value)
    missing = [s for s in case.must if s not in msg]
    assert not missing, f"message lacks {missing}: {msg}"


@pytest.mark.parametrize("case", _params())
def test_message_says_what_to_do(case):
    with pytest.raises(case.exc) as info:
        case.call()
    assert re.search(case.hint, str(info.value)), f"no fix hint matching {case.hint!r} in: {info.value}"


def test_action_pattern_rejects_a_bare_restatement():
    """The generic hint pattern is not vacuous: "must be X, got Y" alone does not pass."""
    assert not re.search(ACTION, "Linear: 'D' must be a positive int, got 0.")
    assert not re.search(ACTION, "relu_backward: 'dout' must have the shape of the forward output (4, 3), got (3, 4).")
    assert re.search(ACTION, "Pass rng=np.random.default_rng(0).")


# ---------------------------------------------------------------------- no raw NumPy errors, no silent acceptance

def test_bad_input_never_reaches_numpy_first():
    """Errors that used to come from NumPy or Python internals now come from bpkit, naming the function."""
    with pytest.raises(ValueError, match="^he_normal: 'fan_in'"):          # was ZeroDivisionError
        init.he_normal(_rng(), 0, 3)
    with pytest.raises(ValueError, match="^numerical_vjp: 'dout'"):       # was a broadcasting error
        gradcheck.numerical_vjp(lambda x: x, np.ones(3), np.ones(4))
    with pytest.raises(TypeError, match="^Adam: 'lr'"):                    # was a ufunc 'isfinite' TypeError
        optim.Adam(lr="0.001")
    with pytest.raises(TypeError, match="^fit: 'optimizer'"):              # was "step() missing 1 argument"
        _fit(optimizer=optim.Adam)


def test_bad_input_that_used_to_be_accepted_silently_is_rejected():
    with pytest.raises(ValueError, match="noise"):
        data.spirals(5, rng=_rng(), noise=-1.0)
    with pytest.raises(TypeError, match="float dtype"):                     # int weights would be all 0
        init.he_normal(_rng(), 3, 2, dtype=np.int64)
    with pytest.raises(ValueError, match="classes"):
        data.one_hot(np.array([], dtype=int), 0)
    with pytest.raises(ValueError, match="max_norm"):                       # used to fail only at step 1
        train.GradientClipping(0.0)


def test_errors_leave_inputs_and_state_untouched():
    """A rejected call changes nothing: params stay, optimizer state stays empty, x stays."""
    params = {"W": np.ones((3, 2)), "b": np.ones(2)}
    opt = optim.Adam()
    with pytest.raises(ValueError):
        opt.step(params, {"W": np.ones((3, 2)), "b": np.ones(3)})
    np.testing.assert_array_equal(params["W"], 1.0)
    np.testing.assert_array_equal(params["b"], 1.0)
    assert opt.state == {}
    x = np.arange(12.0).reshape(4, 3)
    with pytest.raises(ValueError):
        gradcheck.numerical_vjp(lambda v: v * 2, x, np.ones((3, 4)))
    np.testing.assert_array_equal(x, np.arange(12.0).reshape(4, 3))


def test_valid_edge_values_are_still_accepted():
    """The validation is not too strict: boundary values that make sense still work."""
    optim.SGD(lr=0.1, momentum=0.0, weight_decay=0.0)
    optim.Adam(betas=(0.0, 0.0), lr=np.float32(1e-3))
    assert init.he_normal(_rng(), np.int64(3), 1, dtype=np.float32).dtype == np.float32
    assert init.zeros(None, 1, 1).shape == (1, 1)
    assert data.one_hot(np.array([], dtype=int), 3).shape == (0, 3)
    assert data.spirals(1, classes=2, rng=_rng(), noise=0)[0].shape == (2, 2)
    assert len(data.train_val_test_split(np.ones((4, 1)), np.zeros(4, int), val=0, test=0).X_train) == 4
    assert losses.huber_loss(np.ones(2), np.zeros(2), delta=np.float64(0.5))[0] == pytest.approx(0.375)
