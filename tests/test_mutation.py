"""Mutation testing of the exercise checks (issue 14): every non-equivalent mutant of a solution is rejected.

For every exercise whose answer is a function, ``tests/_mutate.py`` makes the first-order mutants
of the solution (operators, constants, axes, keepdims, transposes, sum/mean, dropped factors,
terms and divisors, comparisons, swapped arguments, negated returns). A mutant that gives the
solution's outputs on the inputs of ``tests/_mutate_inputs.py`` is equivalent; every other one
must make the exercise's check fail, run in this process. The few mutants the inputs cannot
tell apart from the solution, or that the check cannot be expected to reject, are in
``REVIEWED`` with the reason. The counts and kill rates per chapter are printed at the end of
the run and kept in ``tests/README.md``.

To stay within its CPU budget the test takes at most ``PER_EXERCISE`` mutants of each exercise,
chosen deterministically: round-robin over the families present in that exercise, so every
family of every exercise is tried.
"""

import copy
import re
from collections import defaultdict

import numpy as np
import pytest

from _mutate import FAMILIES, Exercise, _Timeout, mutants, run, same, time_limit
from _mutate_inputs import INPUTS, jittered
from _notebooks import ROOT, _cells, _gid

PER_EXERCISE = 1000
CHAPTERS = sorted(p.name[:2] for p in (ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))   # every chapter

#: Mutants that survive their check but are acceptable, with the reason: {(grade_id, description): why}.
REVIEWED = {}

#: The mutants the inputs find equivalent, each reviewed by hand: {(grade_id, description): why}. A mutant
#: that becomes equivalent, or stops being so, fails the test until this list is reviewed again.
EQUIVALENT = {
    ("ex1_1_neuron", "swap-args #6 -> 0"): "np.dot(w, x) = np.dot(x, w) for 1-D x and w",
    ("ex1_3_sigmoid", "comparison #38 -> Gt"): "at z = 0 both branches give 0.5",
    ("ex1_3_sigmoid", "constant #42 -> -1"): "both branches are the sigmoid; for z >= -1 exp(-z) cannot overflow",
    ("ex1_5_forward_flops", "swap-args #27 -> 0"): "d * m = m * d",
    ("ex2_2_bce_with_logits", "swap-args #20 -> 0"): "np.maximum is symmetric",
    ("ex2_5_weighted_mse", "constant #12 -> 2"): "NumPy's reshape takes any negative size as 'the rest'",
    ("ex4_6_clip_grads", "swap-args #32 -> 0"): "min is symmetric",
    ("ex4_7_warmup_cosine", "constant #22 -> 2.0"): "for 0 <= t <= total the progress is at most 1",
    ("ex4_7_warmup_cosine", "swap-args #19 -> 0"): "min is symmetric",
    ("ex5_6_collapse", "transpose #58 -> left"): ".T of a 1-D bias is the bias",
    ("ex6_1_standardize", "keepdims #5 -> add"): "(D,) and (1, D) broadcast alike against (N, D)",
    ("ex6_1_standardize", "keepdims #15 -> add"): "(D,) and (1, D) broadcast alike against (N, D)",
    ("ex6_5_early_stopping", "constant #16 -> 1"): "the first loss always beats inf and sets best_epoch",
    ("ex6_5_early_stopping", "constant #16 -> -1"): "the first loss always beats inf and sets best_epoch",
    ("ex6_5_early_stopping", "constant #17 -> 1"): "the first loss always beats inf and resets wait",
    ("ex6_5_early_stopping", "constant #17 -> -1"): "the first loss always beats inf and resets wait",
    ("ex7_2_conv2d_forward", "constant #45 -> 1"): "a padded extra example is never read (the loop runs over N)",
    ("ex8_4_clip_by_global_norm", "swap-args #38 -> 0"): "min is symmetric",
    ("ex9_1_pca_reconstruction", "keepdims #5 -> add"): "(D,) and (1, D) broadcast alike against (N, D)",
    ("ex9_4_denoising_batch", "comparison #5 -> LtE"): "a uniform draw equals p with probability 0",
    ("ex10_1_attention_forward", "constant #46 -> 2"): "causal attention has Tq = Tk, so s.shape[-2] = s.shape[-1]",
    ("ex10_5_embedding_backward", "constant #50 -> 2"): "NumPy's reshape takes any negative size as 'the rest'",
}

_RESULTS = {}


def _exercises(chapter):
    """The notebook and the exercises whose answer is a function of inputs.

    Exercises answered by a function of no arguments hand in a value (a widget setting, a number,
    weights), which the check accepts from a whole set of right answers by its properties, so a
    changed constant there is often another right answer: they are not mutated.
    """
    nb = next(p.name for p in (ROOT / "solutions").glob(f"{chapter}_*.ipynb"))
    cells = [c for c in _cells(ROOT / "solutions" / nb) if c["metadata"].get("nbgrader", {}).get("solution")]
    return nb, [_gid(c) for c in cells if not re.search(r"^def \w+\(\)", "".join(c["source"]), re.M)]


def sample(ms, k=PER_EXERCISE):
    """At most ``k`` mutants: round-robin over the families, in source order within each family."""
    by = defaultdict(list)
    for m in ms:
        by[m[0]].append(m)
    out, i = [], 0
    while len(out) < min(k, len(ms)):
        for fam in FAMILIES:
            if i < len(by[fam]) and len(out) < k:
                out.append(by[fam][i])
        i += 1
    return out


def _inputs(ex, fn):
    if ex.grade_id in INPUTS:
        return INPUTS[ex.grade_id](np.random.default_rng(7))
    recorded = []

    def wrap(*args):
        recorded.append(copy.deepcopy(args))
        return fn(*args)
    ns = dict(ex.ns)
    ns[ex.fn_name] = wrap
    eval(ex.call, ns)
    return jittered(recorded[:8], np.random.default_rng(7))


def _equivalent(sol, mut, inputs):
    ran = False
    for args in inputs:
        s = run(sol, args)
        if s[0] != "ok":
            continue
        ran = True
        m = run(mut, args)
        if m[0] != "ok" or not same(s[1], m[1]) or not same(list(s[2]), list(m[2])):
            return False
    assert ran, "the solution raised on every input: fix the inputs in tests/_mutate_inputs.py"
    return True


def mutation_run(chapter):
    nb, gids = _exercises(chapter)
    rows = []
    for gid in gids:
        ex = Exercise(nb, gid)
        sol, _ = ex.function(ex.source)
        inputs = _inputs(ex, sol)
        for family, desc, src in sample(mutants(ex.source)):
            mut, _ = ex.function(src)
            if _equivalent(sol, mut, inputs):
                rows.append((gid, family, desc, "equivalent", src))
                continue
            try:
                with time_limit(20):
                    status = ex.check(src).status
            except _Timeout:
                status = "timeout"
            verdict = "killed" if status != "correct" else "survived"
            rows.append((gid, family, desc, verdict, src))
    return rows


def counts(rows):
    """``(exercises, mutants, equivalent, killed, reviewed)`` of one chapter's rows."""
    return (len({r[0] for r in rows}), len(rows), sum(r[3] == "equivalent" for r in rows),
            sum(r[3] == "killed" for r in rows), sum(r[3] == "survived" and (r[0], r[2]) in REVIEWED for r in rows))


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_every_non_equivalent_mutant_is_rejected_by_its_check(chapter, record_property):
    rows = mutation_run(chapter)
    _RESULTS[chapter] = rows
    record_property("mutation_counts", (chapter, *counts(rows)))   # for the table (conftest), also under xdist
    n, eq = len(rows), sum(r[3] == "equivalent" for r in rows)
    print(f"chapter {chapter}: {n} mutants, {eq} equivalent, {sum(r[3] == 'killed' for r in rows)} killed")
    survivors = [(g, d, src) for g, f, d, v, src in rows if v == "survived" and (g, d) not in REVIEWED]
    assert not survivors, "mutants the checks accept:\n" + "\n\n".join(f"{g} [{d}]\n{src}" for g, d, src in survivors)
    equivalent = {(g, d) for g, f, d, v, src in rows if v == "equivalent"}
    listed = {k for k in EQUIVALENT if k[0].startswith(f"ex{int(chapter)}_")}
    assert equivalent == listed, (f"equivalent but not reviewed: {sorted(equivalent - listed)}; "
                                  f"reviewed but no longer equivalent: {sorted(listed - equivalent)}")


def test_every_family_is_tried():
    tried = {r[1] for rows in _RESULTS.values() for r in rows}
    if len(_RESULTS) == len(CHAPTERS):
        assert tried == set(FAMILIES), set(FAMILIES) - tried


def test_the_mutant_maker_covers_the_families_on_a_small_function():
    src = ("def f(x, W, b):\n    z = (x @ W.T + 2 * b) / x.shape[0]\n    if z.sum(axis=0) > 1:\n"
           "        return -z\n    return np.maximum(z, 0).mean(axis=1, keepdims=True)\n")
    fams = {m[0] for m in mutants(src)}
    assert fams == set(FAMILIES) - {"negate-return"} | {"negate-return"}
    assert all(src != m[2] for m in mutants(src))
