"""Fixes in words, reviewed: the named mistakes whose fix no row of ``FIXES`` or ``EDITS`` runs.

``PROSE_FIXES[(grade_id, start of the label)]`` says why the fix is right as written (see
``test_fix_texts.test_every_fix_text_is_run_or_reviewed``). Every other fix of Chapters 1-10 is run: a
planted answer gets the mistake's name, and the answer that follows the fix passes.
"""

PROSE_FIXES = {
    ("ex1_2_dense_forward", "W is transposed (X @ W.T)"):
        "states the layout (D, M) and the shapes of the product; no code to follow beyond X @ W, which hint 3 "
        "gives. (Not reachable with today's cases: W is not square in case 1, so X @ W.T raises there and the "
        "verdict is the matmul advice.)",
    ("ex2_2_bce_with_logits", "the gradient is taken with respect to the probability p"):
        "the chain rule in one line: dL/dp = (p - y) / (p (1 - p)), and dp/ds = p (1 - p) cancels its "
        "denominator, leaving sigmoid(s) - y (divided by n), the reference's gradient",
    ("ex2_4_softmax_cross_entropy", "a mean over all N * C entries of onehot * log p"):
        "the loss is the mean of -log p_y over the N examples (the reference's -np.mean(logp[rows, y])), not over "
        "N * C entries of which N - 1 of every C are zero",
    ("ex3_3_grads_121", "the sigmoid derivative is applied to the pre-activations"):
        "sigmoid'(z) = a (1 - a) with a = sigmoid(z): the reference's delta_o and delta_1 use o * (1 - o) and "
        "h1 * (1 - h1), exactly the activations the fix names",
    ("ex3_3_grads_121", "the sigmoid derivative is applied to the activation as if"):
        "o = sigmoid(z3), so sigmoid'(z3) = o * (1 - o), the factor of the reference's delta_o; the same for h1, h2",
    ("ex4_2_stable_lr", "this uses the largest entry of A"):
        "the same fix as the diagonal mistake before it, run there (np.linalg.eigvalsh(A).max() is the "
        "reference's L). For a symmetric positive definite A the largest entry lies on the diagonal, so that "
        "mistake is named first whenever this one fits",
    ("ex5_5_layer_grad_norms", "these are the norms of the gradients with respect to each"):
        "names what the reference does: model.backward(G), then np.linalg.norm(layer.grads['W']) for each "
        "nn.Linear layer; dx is what backward returns, not the weights' gradient",
    ("ex7_3_conv2d_param_grads", "dW is not summed over the batch"):
        "the kernel is shared by the N examples, so dW is the sum of their contributions, shape (F, C, KH, KW); "
        "the reference's einsum over n does that sum, as X.T @ dout sums over rows for a dense layer",
}
