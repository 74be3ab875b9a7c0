"""Checks for Chapter 5, activations and initialization.

Each ``check_*`` takes the student's function or answer and returns a
:class:`bpkit.checks.CheckResult`. The references are bpkit's own functions (``ops``,
``init``, ``nn``) or the short functions below, which the chapter checks against finite
differences and against bpkit.
"""

from __future__ import annotations

import math

import numpy as np

from .. import nn, ops
from ..widgets.activations import depth_statistics
from ._context import case_rng, in_kernel, own_work
from ._engine import CheckResult, Mistake, check_function, handed_in_number

__all__ = ["POINTS", "check_collapse", "check_gelu_grad", "check_init_std", "check_layer_grad_norms",
           "check_leaky_relu", "check_relu_gain", "check_tanh_backward", "check_vanishing_depth", "collapse",
           "gelu_grad", "init_std", "layer_grad_norms", "leaky_relu"]

#: Helpers that run next to the student's code (drivers of ``in_kernel``): not references.
SCAFFOLD = ("_net", "_net_from", "_on_net")

#: Points per exercise, read by the course tools.
POINTS = {"tanh_backward": 1, "leaky_relu": 2, "gelu_grad": 2, "init_std": 2, "layer_grad_norms": 2,
          "collapse": 2, "relu_gain": 1, "vanishing_depth": 1}

#: The band of Exercise 5.7: the last layer's activation std must lie in it.
GAIN_BAND = (0.5, 2.0)


def _rng():
    """Test cases: a fixed seed for feedback, mixed with the grader\'s secret when graded."""
    return case_rng(2025)


_erf = np.vectorize(math.erf, otypes=[np.float64])


def _Phi(z):
    return 0.5 * (1 + _erf(z / math.sqrt(2)))


def _phi(z):
    return np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)


# ----------------------------------------------------------------------------- 5.1 tanh backward

@own_work("bpkit.ops.tanh_backward")
def check_tanh_backward(student):
    """Exercise 5.1: ``tanh_backward(dout, a) -> dz`` where ``a = tanh(z)`` is the cached *activation*."""
    rng = _rng()
    cases = []
    for shape in ((4,), (3, 5), (2, 3)):
        cases.append((rng.standard_normal(shape), np.tanh(rng.standard_normal(shape) * 1.5)))
    return check_function(
        student, ops.tanh_backward, cases, name="Exercise 5.1 (tanh_backward)", points=POINTS["tanh_backward"],
        arg_names=("dout", "a"),
        mistakes=[
            Mistake("the derivative is taken from the wrong variable: the cache is the activation a = tanh(z), "
                    "so tanh'(z) = 1 - a**2, not 1 - tanh(a)**2 (that treats a as the pre-activation)",
                    lambda dout, a: dout * (1 - np.tanh(a) ** 2), "dz = dout * (1 - a**2): no second tanh."),
            Mistake("the square is missing: tanh'(z) = 1 - a**2, not 1 - a",
                    lambda dout, a: dout * (1 - a), "Square the activation: 1 - a * a."),
            Mistake("this is the sigmoid's derivative a * (1 - a); tanh's is 1 - a**2",
                    lambda dout, a: dout * a * (1 - a), "tanh' = 1 - tanh**2."),
            Mistake("the upstream gradient dout is missing: you return the local derivative only",
                    lambda dout, a: 1 - a ** 2, "Multiply by dout: upstream times local."),
        ],
        hints=["bpkit's tanh_forward caches its output a = tanh(z), because the derivative is simplest in it.",
               "d tanh(z)/dz = 1 - tanh(z)**2 = 1 - a**2.",
               "return dout * (1 - a * a)"])


# ----------------------------------------------------------------------------- 5.2 leaky ReLU

def leaky_relu(z, dout, alpha):
    r"""Reference: the leaky ReLU output and $dz$; the slope at $z = 0$ is $\alpha$ (as in PyTorch)."""
    out, cache = ops.leaky_relu_forward(z, alpha)
    return out, ops.leaky_relu_backward(dout, cache)


@own_work("bpkit.ops.leaky_relu_forward", "bpkit.ops.leaky_relu_backward")
def check_leaky_relu(student):
    """Exercise 5.2: ``leaky_relu(z, dout, alpha) -> (out, dz)``."""
    rng = _rng()
    cases = [(np.array([-2.0, -0.5, 0.0, 0.5, 2.0]), np.array([1.0, 2.0, 3.0, 4.0, 5.0]), 0.1)]
    for shape, alpha in (((3, 4), 0.01), ((2, 5), 0.2)):
        z = rng.standard_normal(shape)
        z[0, 0] = 0.0
        cases.append((z, rng.standard_normal(shape), alpha))

    def variant(forward_pos, backward_pos):
        def f(z, dout, alpha):
            return np.where(forward_pos(z), z, alpha * z), np.where(backward_pos(z), dout, alpha * dout)
        return f
    pos = lambda z: z > 0          # noqa: E731
    return check_function(
        student, leaky_relu, cases, name="Exercise 5.2 (leaky_relu)", points=POINTS["leaky_relu"],
        output_names=("out", "dz"),
        mistakes=[
            Mistake("the leaky slope is applied to the wrong side: alpha belongs to z < 0, slope 1 to z > 0",
                    lambda z, dout, a: (np.where(z > 0, a * z, z), np.where(z > 0, a * dout, dout)),
                    "out = z where z > 0, else alpha * z; the same mask for dz."),
            Mistake("the slope at z = 0 is 1 because the mask uses z >= 0: the convention (and PyTorch's) is "
                    "z > 0, which gives alpha at exactly 0", variant(pos, lambda z: z >= 0),
                    "Use the mask z > 0 in the backward pass."),
            Mistake("the backward pass is the plain ReLU's: the gradient for z < 0 is alpha * dout, not 0",
                    lambda z, dout, a: (np.where(z > 0, z, a * z), np.where(z > 0, dout, 0.0)),
                    "Leaky means the negative side keeps a small slope alpha."),
            Mistake("the gradient dz is the local derivative only: multiply by dout",
                    lambda z, dout, a: (np.where(z > 0, z, a * z), np.where(z > 0, 1.0, a)),
                    "dz = dout * slope, element-wise."),
        ],
        hints=["Leaky ReLU is z for z > 0 and alpha * z otherwise; its slope is 1 or alpha.",
               "Build one mask m = z > 0 and use it twice: np.where(m, z, alpha * z) and np.where(m, dout, "
               "alpha * dout).",
               "m = z > 0; return np.where(m, z, alpha * z), np.where(m, dout, alpha * dout)"])


# ----------------------------------------------------------------------------- 5.3 GELU derivative

def gelu_grad(z):
    r"""Reference: $\frac{d}{dz} z\Phi(z) = \Phi(z) + z\varphi(z)$, element-wise."""
    return _Phi(z) + z * _phi(z)


@own_work("bpkit.ops.gelu_backward")
def check_gelu_grad(student):
    """Exercise 5.3: ``gelu_grad(z) -> dGELU/dz`` element-wise (exact, erf form)."""
    rng = _rng()
    cases = [(np.array([-3.0, -1.0, 0.0, 0.5, 2.0]),), (rng.standard_normal((3, 4)) * 2,)]
    k = math.sqrt(2 / math.pi)

    def tanh_form(z):
        t = np.tanh(k * (z + 0.044715 * z ** 3))
        return 0.5 * (1 + t) + 0.5 * z * (1 - t * t) * k * (1 + 3 * 0.044715 * z * z)
    return check_function(
        student, gelu_grad, cases, name="Exercise 5.3 (gelu_grad)", points=POINTS["gelu_grad"],
        mistakes=[
            Mistake("the product rule is missing its second term: d/dz (z * Phi(z)) = Phi(z) + z * phi(z), "
                    "you returned Phi(z) only", lambda z: _Phi(z), "Add z * phi(z), the derivative of Phi times z."),
            Mistake("the product rule is missing its first term Phi(z): you returned z * phi(z) only",
                    lambda z: z * _phi(z), "d/dz (u v) = u' v + u v' with u = z, v = Phi(z)."),
            Mistake("the normal density phi(z) lacks its factor 1 / sqrt(2 pi): phi(z) = exp(-z**2 / 2) / "
                    "sqrt(2 pi)", lambda z: _Phi(z) + z * np.exp(-0.5 * z * z),
                    "Divide exp(-z**2 / 2) by np.sqrt(2 * np.pi)."),
            Mistake("Phi is computed as erf(z / sqrt(2)) without the 0.5 * (1 + ...): Phi(z) = 0.5 * (1 + "
                    "erf(z / sqrt(2)))", lambda z: _erf(z / math.sqrt(2)) + z * _phi(z),
                    "Phi(0) must be 0.5, the probability that a standard normal is below 0."),
            Mistake("this is the derivative of the tanh approximation of GELU: close (to about 1e-3) but the "
                    "exercise asks for the exact erf form", tanh_form, "Use erf, not tanh."),
        ],
        hints=["GELU(z) = z * Phi(z), a product: use the product rule.",
               "Phi'(z) = phi(z) = exp(-z**2 / 2) / sqrt(2 pi), the standard normal density; Phi(z) = "
               "0.5 * (1 + erf(z / sqrt(2))).",
               "Phi = 0.5 * (1 + erf(z / np.sqrt(2))); phi = np.exp(-z**2 / 2) / np.sqrt(2 * np.pi); "
               "return Phi + z * phi"])


# ----------------------------------------------------------------------------- 5.4 Xavier and He

def init_std(fan_in, fan_out, kind):
    r"""Reference: the std of the initial weights: He $\sqrt{2/D}$, Xavier $\sqrt{2/(D + M)}$."""
    if kind == "he":
        return math.sqrt(2.0 / fan_in)
    return math.sqrt(2.0 / (fan_in + fan_out))


def check_init_std(student):
    """Exercise 5.4: ``init_std(fan_in, fan_out, kind) -> std`` for ``kind`` in ``"xavier"``, ``"he"``."""
    # rectangular layers first: with fan_in == fan_out some wrong rules coincide with right ones
    cases = [(100, 30, "he"), (100, 30, "xavier"), (20, 300, "xavier"), (784, 256, "he"), (784, 256, "xavier"),
             (64, 64, "he")]

    def wrong(he, xavier):
        return lambda d, m, kind: he(d, m) if kind == "he" else xavier(d, m)
    he_ok, xa_ok = (lambda d, m: math.sqrt(2 / d)), (lambda d, m: math.sqrt(2 / (d + m)))
    return check_function(
        student, init_std, cases, name="Exercise 5.4 (init_std)", points=POINTS["init_std"],
        mistakes=[
            Mistake("this is the variance, not the standard deviation: the sqrt is missing",
                    wrong(lambda d, m: 2 / d, lambda d, m: 2 / (d + m)),
                    "Var(W) = 2 / fan_in for He; the std is its square root."),
            Mistake("He and Xavier are swapped: He uses 2 / fan_in (for ReLU), Xavier 2 / (fan_in + fan_out)",
                    wrong(xa_ok, he_ok), "He: sqrt(2 / fan_in); Xavier: sqrt(2 / (fan_in + fan_out))."),
            Mistake("fan_in and fan_out are swapped: He's rule divides by fan_in, the number of inputs D of the "
                    "layer (W has shape (fan_in, fan_out))", wrong(lambda d, m: math.sqrt(2 / m), xa_ok),
                    "fan_in = D is the number of rows of W, the inputs each unit sums over."),
            Mistake("Xavier's variance is 2 / (fan_in + fan_out), one over the average fan (fan_in + fan_out) / 2 "
                    "(the harmonic mean of 1/fan_in and 1/fan_out); you used 1 / (fan_in + fan_out)",
                    wrong(he_ok, lambda d, m: math.sqrt(1 / (d + m))), "Keep the 2 in the numerator."),
            Mistake("Xavier here uses 1 / fan_in (LeCun's rule); Xavier uses one over the average fan: "
                    "2 / (fan_in + fan_out)",
                    wrong(he_ok, lambda d, m: math.sqrt(1 / d)), "Var = 2 / (fan_in + fan_out)."),
            Mistake("He's variance is 2 / fan_in; you used 1 / fan_in (LeCun's rule), with which ReLU activations "
                    "lose half their variance at every layer", wrong(lambda d, m: math.sqrt(1 / d), xa_ok),
                    "ReLU zeroes half its inputs, and the factor 2 compensates."),
        ],
        hints=["Both rules keep the variance of the signal constant from layer to layer; they differ in the "
               "factor that the activation removes and in which fans they average.",
               "He: Var(W) = 2 / fan_in. Xavier: Var(W) = 2 / (fan_in + fan_out). The std is the square root.",
               "return math.sqrt(2 / fan_in) if kind == 'he' else math.sqrt(2 / (fan_in + fan_out))"])


# ----------------------------------------------------------------------------- 5.5 per-layer gradient norms

def layer_grad_norms(model, X, G):
    r"""Reference: forward ``X``, backward ``G``; the Frobenius norm of ``dW`` of every Linear, first layer first."""
    model.forward(X)
    model.backward(G)
    return np.array([np.linalg.norm(layer.grads["W"]) for layer in model.layers if isinstance(layer, nn.Linear)])


def _net(rng, sizes, act):
    layers = []
    for d, m in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(d, m, rng=rng, init="xavier"), act()]
    return nn.Sequential(layers)


def _net_from(spec):
    """The network of a test case, from data: ``(sizes, activation name, seed)``."""
    sizes, act, seed = spec
    return _net(np.random.default_rng(seed), list(sizes), getattr(nn, act))


def _on_net(fn, spec, X, G):
    """``fn(model, X, G)`` with the model built from ``spec`` (a model cannot travel to the grader as data)."""
    return fn(_net_from(spec), X, G)


def check_layer_grad_norms(student):
    """Exercise 5.5: ``layer_grad_norms(model, X, G) -> array (K,)``: |dW| of each of the K Linear layers, in order."""
    rng = _rng()
    cases = []
    for sizes, act in (((4, 5, 5, 3), "Tanh"), ((6, 8, 8, 8, 8, 2), "Sigmoid"), ((3, 4, 4, 4), "ReLU")):
        spec = (sizes, act, int(rng.integers(2 ** 31)))
        cases.append((spec, rng.standard_normal((5, sizes[0])), rng.standard_normal((5, sizes[-1]))))

    def order(model, X, G):
        return layer_grad_norms(model, X, G)[::-1]

    def squared(model, X, G):
        return layer_grad_norms(model, X, G) ** 2

    def dx_norms(model, X, G):
        model.forward(X)
        norms, dout = [], G
        for layer in reversed(model.layers):
            dout = layer.backward(dout)
            if isinstance(layer, nn.Linear):
                norms.append(np.linalg.norm(dout))
        return np.array(norms[::-1])
    def built(fn):
        return lambda spec, X, G: _on_net(fn, spec, X, G)
    return check_function(
        in_kernel(_on_net, student), built(layer_grad_norms), cases, name="Exercise 5.5 (layer_grad_norms)",
        describe=lambda spec, X, G: (f"a {spec[1]} network of layer sizes {spec[0]}, X of shape {X.shape}, "
                                     f"G of shape {G.shape}"),
        points=POINTS["layer_grad_norms"],
        mistakes=[
            Mistake("the norms are in reverse order: the backward pass visits the last layer first, but the "
                    "answer lists layer 1 first", built(order),
                    "Collect over model.layers (forward order), after backward."),
            Mistake("these are squared norms: the Frobenius norm is the square root of the sum of squares",
                    built(squared), "np.linalg.norm(dW), or np.sqrt(np.sum(dW**2))."),
            Mistake("these are the norms of the gradients with respect to each Linear layer's input (dx), not of "
                    "its weights dW", built(dx_norms), "After model.backward(G), read layer.grads['W']."),
        ],
        hints=["Run model.forward(X), then model.backward(G): every Linear layer now holds grads['W'].",
               "Loop over model.layers, keep the Linear ones (isinstance(layer, nn.Linear)) and take "
               "np.linalg.norm(layer.grads['W']).",
               "model.forward(X); model.backward(G); return np.array([np.linalg.norm(l.grads['W']) for l in "
               "model.layers if isinstance(l, nn.Linear)])"])


# ----------------------------------------------------------------------------- 5.6 linear collapse

def collapse(Ws, bs):
    r"""Reference: the single affine map equal to $x \mapsto (\dots((xW^{[1]} + b^{[1]})W^{[2]} + b^{[2]})\dots)W^{[K]} + b^{[K]}$."""
    W, b = Ws[0], bs[0]
    for Wl, bl in zip(Ws[1:], bs[1:]):
        W, b = W @ Wl, b @ Wl + bl
    return W, b


def check_collapse(student):
    """Exercise 5.6: ``collapse(Ws, bs) -> (W, b)``, one layer equal to a stack of linear layers."""
    rng = _rng()
    cases = []
    for sizes in ((4, 4, 4, 4), (3, 3, 3), (2, 5, 3, 4), (3, 4, 2)):
        Ws = [rng.standard_normal((d, m)) for d, m in zip(sizes[:-1], sizes[1:])]
        bs = [rng.standard_normal(m) for m in sizes[1:]]
        cases.append((Ws, bs))

    def summed(Ws, bs):
        return collapse(Ws, bs)[0], sum(bs[1:], start=bs[0])      # raises (and is skipped) for unequal sizes

    def reversed_product(Ws, bs):
        W = Ws[-1]
        for Wl in Ws[-2::-1]:
            W = W @ Wl
        return W, collapse(Ws, bs)[1]

    def last_bias(Ws, bs):
        return collapse(Ws, bs)[0], bs[-1]
    return check_function(
        student, collapse, cases, name="Exercise 5.6 (collapse)", points=POINTS["collapse"],
        output_names=("W", "b"),
        mistakes=[
            Mistake("the biases are added up as they are, but each bias passes through the weights of every "
                    "later layer: b = (b1 W2 + b2) W3 + b3 ...", summed,
                    "Carry the bias along: after each layer, b = b @ W_next + b_next."),
            Mistake("the bias keeps only the last layer's b: the earlier biases also reach the output, through "
                    "the later weights", last_bias, "b = b @ W_next + b_next, starting from b1."),
            Mistake("the weights are multiplied in reverse order: with row vectors, x W1 W2 ... WL, so W = "
                    "W1 @ W2 @ ... @ WL", reversed_product, "Start with W1 and multiply by W2, W3, ... on the right."),
        ],
        hints=["Feed x through two layers by hand: (x W1 + b1) W2 + b2 = x (W1 W2) + (b1 W2 + b2).",
               "Repeat: keep a running W and b, and for each next layer set W = W @ W_next, b = b @ W_next + b_next.",
               "W, b = Ws[0], bs[0]; for Wl, bl in zip(Ws[1:], bs[1:]): W, b = W @ Wl, b @ Wl + bl; return W, b"])


# ----------------------------------------------------------------------------- 5.7 and 5.8: the DepthExplorer

def _number(answer, name, pts, hints):
    return handed_in_number(answer, name, pts, hints, "hand in your number and run this cell again.")


def check_relu_gain(answer):
    """Exercise 5.7: the ``scale`` of a LeCun init that keeps the last activation std of a 20-layer ReLU net in band."""
    name, pts = "Exercise 5.7 (relu_gain)", POINTS["relu_gain"]
    hints = ["Set explorer.depth = 20, activation 'relu', init 'lecun', and move the scale slider; watch the "
             "activation std of layer 20 in the summary.",
             "Each ReLU layer multiplies the variance by about scale**2 / 2 (it zeroes half its inputs): the "
             "variance is kept when scale**2 = 2.",
             "explorer.set(depth=20, activation='relu', init='lecun', scale=1.4); return explorer.scale"]
    g = _number(answer, name, pts, hints)
    if isinstance(g, CheckResult):
        return g
    lo, hi = GAIN_BAND
    if not 0.1 <= g <= 3.0:
        return CheckResult(name, "incorrect", f"scale {g:g} is outside the slider's range 0.1 to 3.", hints,
                           max_points=pts)
    std = float(depth_statistics(20, "relu", "lecun", g)["act_std"][-1])
    shown = f"scale {g:.3g}: activation std at layer 20 is {std:.3g}"
    if lo <= std <= hi:
        return CheckResult(name, "correct", f"{shown}, inside [{lo:g}, {hi:g}]: He's factor sqrt(2) keeps the "
                           "signal alive.", hints, [shown], points=pts, max_points=pts)
    if abs(g - 1.0) < 0.03:
        why = ("the scale is 1, the LeCun/Xavier rule: ReLU zeroes half its inputs, so each layer halves the "
               "variance and 20 layers shrink the std by about 2**10")
    elif abs(g - 2.0) < 0.03:
        why = ("the scale is 2, the factor of He's *variance* 2 / D; the std needs its square root, sqrt(2) "
               "(std vs variance)")
    elif std < lo:
        why = "the scale is too small: the activations vanish with depth"
    else:
        why = "the scale is too large: the activations explode with depth"
    return CheckResult(name, "incorrect", f"it looks like {why} ({shown}).", hints, [shown], max_points=pts,
                       mistake=why)


def _ratio(depth):
    g = depth_statistics(depth, "sigmoid", "xavier", 1.0)["grad_norm"]
    return float(g[0] / g[-1])


def check_vanishing_depth(answer):
    """Exercise 5.8: the smallest depth at which layer 1's gradient norm is below 1e-6 of the last layer's (sigmoid)."""
    name, pts = "Exercise 5.8 (vanishing_depth)", POINTS["vanishing_depth"]
    hints = ["Set the activation to 'sigmoid', init 'xavier', scale 1, and increase the depth one step at a "
             "time; the summary prints the layer 1 / last layer gradient ratio.",
             "You want the first depth at which the ratio is below 1e-6 (0.000001), i.e. the one before it is "
             "still at or above 1e-6.",
             "for d in range(2, 51): explorer.set(depth=d, activation='sigmoid', init='xavier', scale=1.0); "
             "if explorer.ratio() < 1e-6: return d"]
    d = _number(answer, name, pts, hints)
    if isinstance(d, CheckResult):
        return d
    if d != int(d) or not 2 <= d <= 50:
        return CheckResult(name, "incorrect", f"the depth must be a whole number from 2 to 50, got {d:g}.", hints,
                           max_points=pts)
    d = int(d)
    r = _ratio(d)
    shown = f"depth {d}: ratio {r:.3g}"
    if r < 1e-6 and (d == 2 or _ratio(d - 1) >= 1e-6):
        return CheckResult(name, "correct", f"{shown}, below 1e-6 for the first time: each sigmoid layer "
                           "multiplies the gradient by at most 1/4 times the weights.", hints, [shown],
                           points=pts, max_points=pts)
    if r >= 1e-6:
        why = "at this depth the ratio is still above 1e-6: go deeper"
    else:
        why = (f"the ratio is below 1e-6 here, but already at depth {d - 1} (ratio {_ratio(d - 1):.3g}): "
               "find the first depth")
    return CheckResult(name, "incorrect", f"{shown}; {why}.", hints, [shown], max_points=pts, mistake=why)
