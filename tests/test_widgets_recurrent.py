"""The gradient-flow explorer of Chapter 8, driven through its Python API as notebooks and tests do."""

import time

import numpy as np
import pytest

from bpkit import ops
from bpkit.widgets.recurrent import FLOW_CELLS, GradientFlowExplorer, gradient_flow, random_orthogonal


@pytest.fixture(scope="module")
def explorer():
    return GradientFlowExplorer(cell="rnn", T=40, scale=1.0, forget_bias=1.0)


def arrays(cell, T, scale, forget_bias, H=32, D=4, seed=0):
    """The inputs and weights of gradient_flow's docstring, drawn by hand in the documented order."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((1, 200, D))[:, :T]
    G = rng.standard_normal((1, H))
    G /= np.linalg.norm(G)
    gates = 4 if cell == "lstm" else 1
    Wx = rng.standard_normal((D, gates * H)) / np.sqrt(D)
    Wh = scale * np.hstack([random_orthogonal(rng, H) for _ in range(gates)])
    b = np.zeros(gates * H)
    if cell == "lstm":
        b[H:2 * H] = forget_bias
    return x, G, Wx, Wh, b


def test_random_orthogonal_is_orthogonal():
    Q = random_orthogonal(np.random.default_rng(1), 16)
    np.testing.assert_allclose(Q @ Q.T, np.eye(16), atol=1e-12)
    np.testing.assert_allclose(np.linalg.svd(2.5 * Q, compute_uv=False), 2.5, rtol=1e-12)   # every singular value


@pytest.mark.parametrize("scale", [0.5, 1.0, 2.5])
def test_rnn_gradients_equal_bptt_from_every_state(scale):
    """|dL/dh_t| is the norm of dh0 when bpkit's rnn_backward runs the rest of the sequence from h_t."""
    T = 25
    r = gradient_flow("rnn", T, scale)
    x, G, Wx, Wh, b = arrays("rnn", T, scale, 0.0)
    h, _ = ops.rnn_forward(x, np.zeros((1, 32)), Wx, Wh, b)
    for t in (0, 7, 20, T - 1):                               # t is 0-based: h[:, t] is h_(t+1)
        rest, cache = ops.rnn_forward(x[:, t + 1:], h[:, t], Wx, Wh, b) if t < T - 1 else (None, None)
        if rest is None:
            expected = np.linalg.norm(G)
        else:
            dh = np.zeros_like(rest)
            dh[:, -1] = G
            expected = np.linalg.norm(ops.rnn_backward(dh, cache)[1])
        assert r.dh[t] == pytest.approx(expected, rel=1e-9)
    np.testing.assert_allclose(r.factor, scale * np.sqrt(np.mean((1 - h[0] ** 2) ** 2, axis=1)), rtol=1e-12)
    assert r.dc is None and r.dh[-1] == pytest.approx(1.0)
    assert all(r.dh[T - 1 - k] <= scale ** k * (1 + 1e-9) for k in range(T))          # the singular-value bound


def test_lstm_gradients_equal_bptt_from_every_state():
    """|dL/dc_t| is the norm of dc0 when lstm_backward runs the rest of the sequence from (h_t, c_t)."""
    T, H = 20, 32
    r = gradient_flow("lstm", T, 1.0, forget_bias=1.0)
    x, G, Wx, Wh, b = arrays("lstm", T, 1.0, 1.0)
    h, c, hs, cs, fs, os_ = np.zeros((1, H)), np.zeros((1, H)), [], [], [], []
    for t in range(T):
        h, c, cache = ops.lstm_step_forward(x[:, t], h, c, Wx, Wh, b)
        hs.append(h), cs.append(c), fs.append(cache[4][2]), os_.append(cache[4][3])
    for t in (0, 9, T - 2):
        out, cache = ops.lstm_forward(x[:, t + 1:], hs[t], Wx, Wh, b, cs[t])
        dh = np.zeros_like(out)
        dh[:, -1] = G
        _, dh_t, _, _, _, dc0 = ops.lstm_backward(dh, cache)
        assert r.dh[t] == pytest.approx(np.linalg.norm(dh_t), rel=1e-9)
        dc_t = dc0 + dh_t * os_[t] * (1 - np.tanh(cs[t]) ** 2)     # c_t also reaches the loss through h_t
        assert r.dc[t] == pytest.approx(np.linalg.norm(dc_t), rel=1e-9)
    assert r.dc[-1] == pytest.approx(np.linalg.norm(G * os_[-1] * (1 - np.tanh(cs[-1]) ** 2)))
    np.testing.assert_allclose(r.factor, [f.mean() for f in fs], rtol=1e-12)
    np.testing.assert_allclose(r.product[:-1], np.cumprod(r.factor[:0:-1])[::-1], rtol=1e-12)
    assert r.product[-1] == 1.0


def test_kept_reads_the_arrays():
    r = gradient_flow("lstm", 60, 1.0, 2.0)
    assert r.kept(0) == 1.0 and r.kept(0, "h") == 1.0
    assert r.kept(50) == pytest.approx(r.dc[9] / r.dc[59]) and r.kept(50, "h") == pytest.approx(r.dh[9])
    with pytest.raises(ValueError, match="'k' must be a whole number of steps from 0 to T - 1 = 59"):
        r.kept(60)
    with pytest.raises(ValueError, match="an RNN has no cell state"):
        gradient_flow("rnn", 60, 1.0).kept(5, "c")
    with pytest.raises(ValueError, match="'which' must be 'h' \\(hidden state\\) or 'c'"):
        r.kept(5, "cell")


def test_the_inputs_do_not_depend_on_the_other_controls():
    """A shorter T uses the first steps of the same sequence; the scale changes only W_h's size."""
    long, short = gradient_flow("rnn", 60, 1.0), gradient_flow("rnn", 30, 1.0)
    np.testing.assert_allclose(long.factor[:30], short.factor, rtol=1e-13)


def test_the_chapter_s_claims_hold():
    """Vanishing below scale 1 and at 1, explosion at 3; the forget bias sets how far the LSTM's gradient reaches."""
    assert gradient_flow("rnn", 100, 0.5).kept(60) < 1e-20
    assert gradient_flow("rnn", 100, 1.0).kept(60) < 1e-6
    assert gradient_flow("rnn", 100, 3.0).kept(60) > 1e3
    kept = [gradient_flow("lstm", 100, 1.0, b).kept(60) for b in (0.0, 1.0, 2.0, 3.0)]
    assert kept == sorted(kept) and kept[0] < gradient_flow("rnn", 100, 1.0).kept(60) < kept[1]


def test_summary_is_deterministic_and_follows_the_controls(explorer):
    lines = explorer.summary().splitlines()
    r = explorer.result
    assert lines[0] == ("vanilla RNN, T = 40 steps, H = 32 units; W_h = 1.00 x a random orthogonal matrix "
                        "(every singular value 1.00)")
    assert lines[1] == f"|dL/dh_t| / |dL/dh_T| at 10, 30 steps back: {r.kept(10):.2e}, {r.kept(30):.2e}"
    assert lines[2].startswith(f"per-step factor 1.00 x rms(1 - h_t^2): mean {r.factor.mean():.2f}")
    assert GradientFlowExplorer(cell="rnn", T=40, scale=1.0).summary() == explorer.summary()
    lstm = GradientFlowExplorer(cell="lstm", T=60, scale=1.0, forget_bias=2.0)
    lines = lstm.summary().splitlines()
    assert lines[0].startswith("LSTM, T = 60 steps") and lines[0].endswith("forget bias 2.0")
    assert lines[1] == ("|dL/dc_t| / |dL/dc_T| at 10, 30, 50 steps back: "
                        + ", ".join(f"{lstm.kept(k):.2e}" for k in (10, 30, 50)))
    assert "sigmoid(2.0) = 0.88" in lines[3]


def test_each_control_changes_the_output_and_the_picture(explorer):
    before_png, before_text = explorer.png, explorer.summary()
    assert before_png[:8] == b"\x89PNG\r\n\x1a\n"
    assert explorer._bias.disabled                              # the forget bias means nothing to an RNN
    for name, value in [("scale", 2.0), ("T", 80), ("cell", "lstm"), ("forget_bias", 3.0)]:
        setattr(explorer, name, value)
        assert getattr(explorer, name) == value
        assert explorer.summary() != before_text and explorer.png != before_png, name
        before_png, before_text = explorer.png, explorer.summary()
    assert not explorer._bias.disabled
    assert explorer.values() == {"cell": "lstm", "T": 80, "scale": 2.0, "forget_bias": 3.0}
    assert "forget bias 3.0" in explorer._status.value
    explorer.set(cell="rnn", T=40, scale=1.0, forget_bias=1.0)


def test_values_reproduce_the_run(explorer):
    explorer.set(scale=1.5)
    assert gradient_flow(**explorer.values()) is explorer.result            # cached: the same run
    assert explorer.kept(30) == explorer.result.kept(30)
    explorer.set(scale=1.0)


def test_alt_text_describes_the_state(explorer):
    alt = explorer.alt_text()
    assert alt.startswith("Gradient flow through time in a recurrent network. vanilla RNN, T = 40 steps")
    assert "|dL/dh_t|" in alt
    assert f'alt="{alt[:40]}' in explorer._image.value


def test_one_update_is_fast():
    e = GradientFlowExplorer(cell="lstm", T=100)
    start = time.perf_counter()
    e.set(T=200, scale=1.25, forget_bias=1.5)                   # not cached: a new run at the largest T
    assert time.perf_counter() - start < 2.0                    # about 0.3 s here; generous for slow CI


@pytest.mark.parametrize("kwargs, match", [
    ({"cell": "gru"}, "unknown cell 'gru'"),
    ({"T": 5}, "'T' must be a whole number of time steps from 10 to 200 in steps of 5"),
    ({"T": 33}, "'T' must be a whole number"),
    ({"scale": 0.0}, "'scale' \\(every singular value of W_h\\) must be from 0.1 to 4"),
    ({"scale": 1.03}, "'scale' .* in steps of 0.05"),
    ({"forget_bias": 0.7}, "'forget_bias' must be from -2 to 5 in steps of 0.5"),
    ({"forget_bias": True}, "'forget_bias' must be"),
])
def test_bad_arguments_raise_with_the_widget_name(kwargs, match):
    with pytest.raises(ValueError, match="GradientFlowExplorer: " + match):
        GradientFlowExplorer(**kwargs)
    with pytest.raises(ValueError, match="gradient_flow: " + match):
        gradient_flow(**kwargs)


def test_bad_assignments_raise_and_leave_the_state(explorer):
    before = explorer.summary()
    with pytest.raises(ValueError, match="'scale'"):
        explorer.scale = 10.0
    with pytest.raises(ValueError, match="unknown control"):
        explorer.set(lr=0.1)
    with pytest.raises(ValueError, match="'T'"):
        explorer.set(scale=2.0, T=1000)
    assert explorer.summary() == before


def test_the_controls_offer_the_documented_values(explorer):
    assert [v for _, v in explorer._cell.options] == list(FLOW_CELLS) == ["rnn", "lstm"]
    assert (explorer._T_slider.min, explorer._T_slider.max, explorer._T_slider.step) == (10, 200, 5)
    assert (explorer._scale.min, explorer._scale.max, explorer._scale.step) == (0.1, 4.0, 0.05)
    assert (explorer._bias.min, explorer._bias.max, explorer._bias.step) == (-2.0, 5.0, 0.5)


def test_displays_as_a_widget_with_stable_text(explorer):
    bundle = explorer._repr_mimebundle_()
    assert bundle["text/plain"].startswith("GradientFlowExplorer: an interactive widget")
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert repr(explorer).startswith("GradientFlowExplorer()\nvanilla RNN")


def test_exported_from_the_widgets_package_once_registered():
    import bpkit.widgets
    if not hasattr(bpkit.widgets, "GradientFlowExplorer"):
        pytest.skip("bpkit.widgets does not export GradientFlowExplorer yet")
    assert bpkit.widgets.GradientFlowExplorer is GradientFlowExplorer
