"""Inputs that decide whether a mutant is equivalent to the solution (see ``tests/_mutate.py``).

``INPUTS[grade_id](rng)`` gives argument tuples chosen independently of the checks' own cases, with
shapes that break symmetry (N != D != M, non-square images and kernels, odd and even sizes, strides
that do not divide) and, where the exercise allows them, exact zeros and ties. Exercises not listed
here take scalars, objects or nothing: their inputs are the ones the check passes, recorded, plus
copies with every float array scaled entry by entry (``jittered``).
"""

import copy

import numpy as np

from bpkit.checks import ch01, ch06, ch08, ch08_lstm, ch09


def _n(rng, *shape):
    return rng.standard_normal(shape)


def _with_zeros(rng, x):
    x = x.copy()
    x.flat[:: max(1, x.size // 3)] = 0.0
    return x


def _conv(rng, x_shape, W_shape, s, p):
    H_out = (x_shape[2] + 2 * p - W_shape[2]) // s + 1
    W_out = (x_shape[3] + 2 * p - W_shape[3]) // s + 1
    return _n(rng, *x_shape), _n(rng, *W_shape), _n(rng, x_shape[0], W_shape[0], H_out, W_out), s, p


def _distinct(rng, shape):
    size = int(np.prod(shape))
    return np.linspace(-1, 1, size)[rng.permutation(size)].reshape(shape)


def _sig(z):
    return 1 / (1 + np.exp(-z))


INPUTS = {
    "ex1_1_neuron": lambda r: [(_n(r, 5), _n(r, 5), 0.3), (_with_zeros(r, _n(r, 4)), _n(r, 4), -1.2)],
    "ex1_2_dense_forward": lambda r: [(_n(r, 3, 5), _n(r, 5, 2), _n(r, 2)), (_n(r, 1, 4), _n(r, 4, 3), _n(r, 3))],
    "ex1_3_sigmoid": lambda r: [(np.array([-1000.0, -3.0, 0.0, 0.5, 40.0, 1000.0]),), (_n(r, 2, 3) * 4,)],
    "ex1_4_mlp_forward": lambda r: [(_n(r, 5, 3), ch01._params(r, 3, 4, 2)), (_n(r, 2, 6), ch01._params(r, 6, 3, 1))],
    "ex1_5_forward_flops": lambda r: [([3, 5, 2], 4), ([7, 4, 6, 1], 3), ([2, 9], 1)],
    "ex2_1_mse_loss": lambda r: [(_n(r, 4, 3), _n(r, 4, 3)), (_n(r, 5, 1), _n(r, 5, 1)), (_n(r, 2, 6), _n(r, 2, 6))],
    "ex2_2_bce_with_logits": lambda r: [(_n(r, 4, 3) * 3, r.uniform(0, 1, (4, 3))),
                                        (np.array([[1000.0, -1000.0, 0.0]]), np.array([[0.0, 1.0, 0.5]])),
                                        (_n(r, 5, 1), r.integers(0, 2, (5, 1)).astype(float))],
    "ex2_3_softmax": lambda r: [(_n(r, 3, 5) * 3,), (np.array([[1000.0, 1000.0, -5.0, 0.0]]),), (_n(r, 6, 2),)],
    "ex2_4_softmax_cross_entropy": lambda r: [(_n(r, 4, 5) * 2, r.integers(0, 5, 4)), (_n(r, 6, 3), r.integers(0, 3, 6)),
                                              (np.array([[1000.0, 0.0, -1000.0, 2.0]]), np.array([3]))],
    "ex2_5_weighted_mse": lambda r: [(_n(r, 5, 1), _n(r, 5, 1), r.uniform(0, 3, 5)),
                                     (_n(r, 3, 1), _n(r, 3, 1), np.array([0.0, 2.0, 0.5]))],
    "ex3_1_composite": lambda r: [(_n(r, 5) * 1.5,), (np.array([0.0, 1.0, -2.0]),), (_n(r, 3, 2),)],
    "ex3_4_linear_backward": lambda r: [(_n(r, 5, 2), (_n(r, 5, 3), _n(r, 3, 2))), (_n(r, 2, 4), (_n(r, 2, 6), _n(r, 6, 4)))],
    "ex3_5_sigmoid_backward": lambda r: [(_n(r, 5), _sig(_n(r, 5))), (_n(r, 2, 3), _sig(_n(r, 2, 3)))],
    "ex4_2_stable_lr": lambda r: [(np.diag([2.0, 7.0, 0.5]),), ((lambda B: B @ B.T + 0.3 * np.eye(4))(_n(r, 4, 4)),)],
    "ex4_3_momentum_step": lambda r: [(_n(r, 3), _n(r, 3), _n(r, 3), 0.07, 0.85), (_n(r, 2, 4), _n(r, 2, 4), np.zeros((2, 4)), 0.2, 0.5)],
    "ex4_4_adam_step": lambda r: [(_n(r, 4), _n(r, 4), _n(r, 4) * 0.1, r.uniform(0, 1, 4), 3, 0.02, 0.8, 0.99, 1e-6),
                                  (_n(r, 2, 3), _n(r, 2, 3), np.zeros((2, 3)), np.zeros((2, 3)), 1, 0.1, 0.9, 0.999, 1e-8)],
    "ex4_5_adamw_step": lambda r: [(_n(r, 4), _n(r, 4), _n(r, 4) * 0.1, r.uniform(0, 1, 4), 3, 0.02, 0.8, 0.99, 1e-6, 0.05),
                                   (_n(r, 2, 3), _n(r, 2, 3), np.zeros((2, 3)), np.zeros((2, 3)), 1, 0.1, 0.9, 0.999, 1e-8, 0.3)],
    "ex4_6_clip_grads": lambda r: [([_n(r, 3, 2) * 5, _n(r, 2), _n(r, 1, 4)], 2.0), ([_n(r, 3) * 0.01, _n(r, 2, 2) * 0.01], 1.5)],
    "ex4_7_warmup_cosine": lambda r: [(t, 7, 40, 0.1) for t in (0, 3, 7, 8, 20, 39, 40)] + [(t, 0, 9, 0.0) for t in (0, 4, 9)],
    "ex5_1_tanh_backward": lambda r: [(_n(r, 5), np.tanh(_n(r, 5))), (_n(r, 2, 3), np.tanh(_n(r, 2, 3)))],
    "ex5_2_leaky_relu": lambda r: [(np.array([-2.0, 0.0, 0.5, -0.1, 3.0]), _n(r, 5), 0.05), (_n(r, 3, 2), _n(r, 3, 2), 0.3)],
    "ex5_3_gelu_grad": lambda r: [(np.array([-4.0, -1.0, 0.0, 0.3, 2.5]),), (_n(r, 2, 3) * 2,)],
    "ex5_4_init_std": lambda r: [(50, 20, "he"), (50, 20, "xavier"), (7, 300, "xavier"), (300, 7, "he")],
    "ex5_6_collapse": lambda r: [([_n(r, 3, 5), _n(r, 5, 2)], [_n(r, 5), _n(r, 2)]),
                                 ([_n(r, 2, 4), _n(r, 4, 6), _n(r, 6, 3)], [_n(r, 4), _n(r, 6), _n(r, 3)]),
                                 ([_n(r, 4, 3)], [_n(r, 3)])],
    "ex6_1_standardize": lambda r: [(_n(r, 7, 3) * 2 + 1, _n(r, 4, 3)), (np.c_[_n(r, 5, 2), np.full(5, 2.0)], _n(r, 6, 3))],
    "ex6_2_l2_penalty": lambda r: [({"0.W": _n(r, 3, 2), "0.b": _n(r, 2), "2.W": _n(r, 2, 4), "2.b": _n(r, 4),
                                     "1.gamma": _n(r, 2), "1.beta": _n(r, 2)}, 0.3)],
    "ex6_3_dropout": lambda r: [(_n(r, 3, 5), _n(r, 3, 5), 0.3, r.random((3, 5)), True),
                                (_n(r, 2, 4), _n(r, 2, 4), 0.5, np.array([[0.5, 0.1, 0.7, 0.5], [0.2, 0.9, 0.5, 0.0]]), True),
                                (_n(r, 4, 3), _n(r, 4, 3), 0.6, r.random((4, 3)), False)],
    "ex6_4_batchnorm_backward": lambda r: [ch06._bn_case(r, 5, 3), ch06._bn_case(r, 2, 7)],
    "ex6_5_early_stopping": lambda r: [([1.0, 0.8, 0.8, 0.9, 0.7, 0.75, 0.76, 0.77], 2), ([0.5, 0.6, 0.7, 0.8], 3),
                                       ([0.9, 0.7, 0.5, 0.5, 0.5, 0.4], 1), ([1.0, 0.9, 0.95, 0.85, 0.86], 1),
                                       ([1.0, 0.9, 0.8, 0.85], 3)],
    "ex6_6_initial_loss": lambda r: [(3,), (7,), (2,)],
    "ex7_1_output_size": lambda r: [(9, 3, 2, 0), (10, 4, 2, 1), (11, 2, 3, 0), (6, 3, 1, 2), (13, 5, 3, 1), (7, 7, 1, 0)],
    "ex7_2_conv2d_forward": lambda r: [(_n(r, 2, 3, 7, 6), _n(r, 4, 3, 3, 2), _n(r, 4), 2, 1),
                                       (_n(r, 1, 2, 5, 8), _n(r, 3, 2, 2, 3), _n(r, 3), 3, 0),
                                       (_n(r, 2, 2, 6, 5), _n(r, 3, 2, 3, 2), _n(r, 3), 1, 2),
                                       (_n(r, 1, 1, 4, 5), _n(r, 2, 1, 2, 2), _n(r, 2), 1, 1)],
    "ex7_3_conv2d_param_grads": lambda r: [_conv(r, (3, 2, 7, 6), (4, 2, 3, 2), 2, 1), _conv(r, (2, 3, 5, 8), (2, 3, 2, 3), 1, 0)],
    "ex7_4_conv2d_input_grad": lambda r: [(_n(r, 2, 3, 5, 4), _n(r, 3, 2, 3, 2), 1), (_n(r, 1, 2, 6, 7), _n(r, 2, 4, 2, 3), 0),
                                          (_n(r, 2, 1, 4, 5), _n(r, 1, 3, 3, 3), 2)],
    "ex7_5_pool_backward": lambda r: [(_distinct(r, (2, 3, 4, 6)), _n(r, 2, 3, 2, 3), 2, "max"),
                                      (_distinct(r, (1, 2, 6, 9)), _n(r, 1, 2, 2, 3), 3, "avg"),
                                      (_distinct(r, (2, 2, 6, 3)), _n(r, 2, 2, 2, 1), 3, "max"),
                                      (_distinct(r, (1, 3, 4, 2)), _n(r, 1, 3, 2, 1), 2, "avg")],
    "ex7_6_conv_cost": lambda r: [(2, 9, 4, 3, 2, 0), (3, 32, 8, 4, 2, 1), (1, 7, 2, 3, 3, 1), (5, 10, 6, 5, 1, 2),
                                  (3, 8, 4, 3, 2, 0)],
    "ex8_1_rnn_step_backward": lambda r: [ch08._rnn_step_case(r, 3, 5, 2), ch08._rnn_step_case(r, 4, 2, 6)],
    "ex8_2_rnn_backward": lambda r: [ch08._bptt_case(r, 3, 4, 2, 5), ch08._bptt_case(r, 2, 6, 5, 3)],
    "ex8_4_clip_by_global_norm": lambda r: [({"a": _n(r, 3, 2) * 4, "b": _n(r, 5)}, 1.5), ({"a": _n(r, 2) * 0.01}, 2.0)],
    "ex8_5_lstm_step_forward": lambda r: [ch08_lstm._lstm_case(r, 3, 5, 2), ch08_lstm._lstm_case(r, 2, 3, 4)],
    "ex8_6_lstm_cell_backward": lambda r: [ch08_lstm._cell_case(r, 3, 2), ch08_lstm._cell_case(r, 2, 5)],
    "ex8_7_lstm_num_params": lambda r: [(3, 5), (10, 2), (1, 1)],
    "ex9_1_pca_reconstruction": lambda r: [(_n(r, 20, 6) @ _n(r, 6, 6) + 2.0, _n(r, 5, 6), 3),
                                           (_n(r, 9, 4) @ _n(r, 4, 4) - 1.0, _n(r, 3, 4), 1)],
    "ex9_2_mse_reconstruction": lambda r: [(r.random((4, 7)), r.random((4, 7))), (r.random((6, 2)), r.random((6, 2)))],
    "ex9_3_tied_backward": lambda r: [ch09._tied_case(r, 5, 7, 2), ch09._tied_case(r, 3, 4, 6)],
    "ex9_5_autoencoder_num_params": lambda r: [(30, 12, 5), (7, 3, 2), (100, 40, 1)],
}


def jittered(cases, rng):
    """The cases, and copies with every float array multiplied entry by entry by a factor in [0.5, 1.5]."""
    out = list(cases)
    for args in cases:
        def jit(a):
            if isinstance(a, np.ndarray) and a.dtype.kind == "f":
                return a * rng.uniform(0.5, 1.5, a.shape)
            if isinstance(a, list):
                return [jit(x) for x in a]
            if isinstance(a, tuple):
                return tuple(jit(x) for x in a)
            if isinstance(a, dict):
                return {k: jit(v) for k, v in a.items()}
            return copy.deepcopy(a) if isinstance(a, (np.ndarray,)) else a
        out.append(tuple(jit(a) for a in args))
    return out
