"""The attention explorer of Chapter 10, driven through its Python API as notebooks and tests do."""

import numpy as np
import pytest

from bpkit import ops
from bpkit.widgets.attention import HEADS, SENTENCES, AttentionExplorer, _heads, attention_map


@pytest.fixture(scope="module")
def explorer():
    return AttentionExplorer()


def test_the_hand_built_heads_do_what_their_names_say():
    s = SENTENCES[1]                                             # 'a rose is a rose is a rose.'
    w = attention_map(s, sharpness=2.0).weights
    T = len(s)
    assert all(np.argmax(w[0, t]) == t - 1 for t in range(1, T))                       # previous
    for t in range(T):                                                                 # same letter
        same = [j for j in range(t + 1) if s[j] == s[t]]
        assert w[1, t, same].sum() > 0.9
    assert np.all(w[2, :, 0] > 0.9)                                                    # start
    np.testing.assert_allclose(w.sum(-1), 1)
    assert np.all(np.triu(w, 1) == 0)                                                  # causal


def test_the_gradients_are_those_of_attention_backward():
    """Recomputed by hand: dv_s = P_ts u, dk_s = P_ts (u.v_s - sum_r P_tr u.v_r) q_t / sqrt(d)."""
    s, t = SENTENCES[0], 9
    q, k, v, u = _heads(s)
    r = attention_map(s, "mixed", t, 1.5, causal=True)
    p = r.weights[3, t]
    np.testing.assert_allclose(r.dv, p * np.linalg.norm(u), rtol=1e-12)
    g = v[3] @ u
    dk = (p * (g - p @ g))[:, None] * (1.5 * q[3, t])[None] / np.sqrt(q.shape[-1])
    np.testing.assert_allclose(r.dk, np.linalg.norm(dk, axis=1), rtol=1e-10, atol=1e-14)
    assert np.all(r.dk[t + 1:] == 0) and np.all(r.dv[t + 1:] == 0)                      # nothing to the future


def test_sharpness_zero_gives_uniform_weights_and_no_key_gradient():
    r = attention_map(SENTENCES[2], "same letter", 6, 0.0, causal=True)
    np.testing.assert_allclose(r.weights[:, 6, :7], 1 / 7)
    np.testing.assert_allclose(r.dk, 0, atol=1e-15)      # dk = ds @ q * 0: a zero query passes no gradient to keys


def test_causal_off_lets_every_key_receive_gradient():
    on = attention_map(SENTENCES[0], "previous", 5, 1.0, True)
    off = attention_map(SENTENCES[0], "previous", 5, 1.0, False)
    assert np.sum(on.dv > 0) == 6 and np.sum(off.dv > 0) == len(SENTENCES[0])


def test_the_largest_key_gradient_need_not_be_the_largest_weight():
    r = attention_map(SENTENCES[1], "same letter", 12, 1.0, True)
    assert np.argmax(r.dk) == 3 and np.argmax(r.weights[1, 12]) == 2


def test_summary_and_controls(explorer):
    explorer.set(sentence=SENTENCES[0], head="previous", query=5, sharpness=1.0, causal=True)
    text = explorer.summary()
    assert "key 4 ('c') 0.916" in text and "6 keys get a value gradient" in text
    assert max(len(line) for line in text.splitlines()) <= 88
    assert explorer.weight(4) == pytest.approx(explorer.weight())
    explorer.sharpness = 2.0
    assert explorer.weight(4) > 0.99
    explorer.set(sentence=SENTENCES[2], query=18)
    assert explorer.query == 18 and explorer.values()["sentence"] == SENTENCES[2]
    assert explorer.answer_line("explorer").startswith("explorer.set(sentence='to be or not to be.'")
    assert explorer.png[:4] == b"\x89PNG" and "Attention weights" in explorer.alt_text()


def test_bad_values_name_the_control(explorer):
    with pytest.raises(ValueError, match="'head' must be one of"):
        explorer.head = "next"
    with pytest.raises(ValueError, match="'query' must be a position from 0 to"):
        explorer.query = 40
    with pytest.raises(ValueError, match="'sharpness' must be from 0 to 3 in steps of 0.25"):
        explorer.sharpness = 0.3
    with pytest.raises(ValueError, match="'sentence' must be one of"):
        explorer.set(sentence="hello")
    with pytest.raises(ValueError, match="AttentionExplorer.set: unknown control"):
        explorer.set(temperature=2)


def test_figure_text_is_legible():
    from bpkit.plot import BOOK_STYLE, min_font_pt
    import matplotlib
    with matplotlib.rc_context(BOOK_STYLE):
        fig = AttentionExplorer(head="mixed").figure()
        assert min_font_pt(fig) >= 12
