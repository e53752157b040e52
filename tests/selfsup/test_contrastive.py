"""Tests for snippets/selfsup/contrastive.py.

References: float64 transcriptions of SimCLR eq. 1 (Chen et al. 2020, §2.1), of MoCo's InfoNCE
(He et al. 2020, eq. 1 / ``facebookresearch/moco`` ``moco/builder.py``) and of CLIP's Figure 3
pseudocode, all written below; ``transformers``' CLIP loss; ``torch.lerp`` for the EMA.
"""

from __future__ import annotations

import math
from collections import deque

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from torch import nn
from transformers.models.clip.modeling_clip import image_text_contrastive_loss

from tests.support import assert_close, assert_equal, cases, raises_naming, under_test

impl = under_test("snippets.selfsup.contrastive")


# ------------------------------------------------------------------ references


def simclr_eq1(z1: np.ndarray, z2: np.ndarray, tau: float) -> float:
    """SimCLR eq. 1, float64, in the paper's own layout: samples 2k-1 and 2k are a pair.

    l(i, j) = -log exp(sim(z_i, z_j)/tau) / sum_{k != i} exp(sim(z_i, z_k)/tau),
    L = 1/(2N) sum_k [l(2k-1, 2k) + l(2k, 2k-1)],  sim(u, v) = u.v / (|u| |v|).
    """
    n = z1.shape[0]
    z = np.empty((2 * n, z1.shape[1]))
    z[0::2], z[1::2] = z1, z2  # interleaved, as in Algorithm 1

    def sim(u, v):
        return float(u @ v) / (math.sqrt(float(u @ u)) * math.sqrt(float(v @ v)))

    def ell(i, j):
        den = sum(math.exp(sim(z[i], z[k]) / tau) for k in range(2 * n) if k != i)
        return -math.log(math.exp(sim(z[i], z[j]) / tau) / den)

    return sum(ell(2 * k, 2 * k + 1) + ell(2 * k + 1, 2 * k) for k in range(n)) / (2 * n)


def simclr_eq1_torch(z1: torch.Tensor, z2: torch.Tensor, tau: float) -> torch.Tensor:
    """The same transcription with torch ops (float64), for autograd gradients."""
    n = z1.shape[0]
    z = torch.stack([z1, z2], dim=1).reshape(2 * n, -1)  # interleaved
    total = z.new_zeros(())
    for i in range(2 * n):
        j = i + 1 if i % 2 == 0 else i - 1
        s = torch.stack([z[i] @ z[k] / (z[i].norm() * z[k].norm()) for k in range(2 * n)]) / tau
        den = torch.stack([s[k].exp() for k in range(2 * n) if k != i]).sum()
        total = total - torch.log(s[j].exp() / den)
    return total / (2 * n)


def moco_infonce(q, k, neg, tau):
    """MoCo eq. 1 per query, float64: -log exp(q.k+/t) / (exp(q.k+/t) + sum_j exp(q.k_j/t))."""
    out = 0.0
    for i in range(q.shape[0]):
        qi = q[i] / np.linalg.norm(q[i])
        pos = math.exp(float(qi @ (k[i] / np.linalg.norm(k[i]))) / tau)
        negs = neg if neg is not None else np.delete(k, i, axis=0)
        den = pos + sum(math.exp(float(qi @ (v / np.linalg.norm(v))) / tau) for v in negs)
        out += -math.log(pos / den)
    return out / q.shape[0]


def clip_figure3_direction(logits: np.ndarray, axis: int) -> float:
    """Mean cross-entropy with labels arange(n), the softmax taken along ``axis``."""
    m = logits.max(axis=axis, keepdims=True)
    lse = np.log(np.exp(logits - m).sum(axis=axis)) + m.squeeze(axis)
    return float(np.mean(lse - np.diag(logits)))


def clip_figure3(i_e: np.ndarray, t_e: np.ndarray, scale: float) -> float:
    """CLIP paper Figure 3: logits = I_e T_e^T * exp(t); (CE(logits, axis 0) + CE(axis 1)) / 2."""
    logits = i_e @ t_e.T * scale

    def ce(lg, axis):  # cross-entropy with labels arange(n) along `axis`
        lse = np.log(np.exp(lg - lg.max(axis=axis, keepdims=True)).sum(axis=axis))
        lse = lse + lg.max(axis=axis)
        return float(np.mean(lse - np.diag(lg)))

    return (ce(logits, 1) + ce(logits, 0)) / 2  # loss_i: over texts; loss_t: over images


def _rand(g, n, d, dtype=torch.float64, scale=1.0):
    return torch.randn(n, d, generator=g, dtype=dtype) * scale


def _shape(g):
    return int(torch.randint(1, 7, (1,), generator=g)), int(torch.randint(1, 6, (1,), generator=g))


# ------------------------------------------------------------------ NT-Xent


def test_nt_xent_matches_simclr_eq1_on_2000_random_cases():
    g = torch.Generator().manual_seed(0)
    for _ in range(cases(2000)):
        n, d = _shape(g)
        tau = float(torch.empty(1).uniform_(0.05, 2.0, generator=g))
        z1, z2 = _rand(g, n, d, scale=3.0), _rand(g, n, d)
        want = simclr_eq1(z1.numpy(), z2.numpy(), tau)
        assert_close(
            impl.nt_xent_loss(z1, z2, tau),
            want,
            atol=1e-10,
            rtol=1e-10,
            inputs={"z1": z1, "z2": z2, "temperature": tau},
        )


def test_nt_xent_naive_matches_simclr_eq1_on_500_random_cases():
    g = torch.Generator().manual_seed(1)
    for _ in range(cases(500)):
        n, d = _shape(g)
        tau = float(torch.empty(1).uniform_(0.05, 2.0, generator=g))
        z1, z2 = _rand(g, n, d), _rand(g, n, d)
        want = simclr_eq1(z1.numpy(), z2.numpy(), tau)
        assert_close(
            impl.nt_xent_loss_naive(z1, z2, tau),
            want,
            atol=1e-10,
            rtol=1e-10,
            inputs={"z1": z1, "z2": z2, "temperature": tau},
        )


def test_nt_xent_gradients_match_autograd_of_eq1_on_60_cases():
    g = torch.Generator().manual_seed(2)
    for _ in range(cases(60)):
        n, d = _shape(g)
        z1 = _rand(g, n, d).requires_grad_()
        z2 = _rand(g, n, d).requires_grad_()
        want = torch.autograd.grad(simclr_eq1_torch(z1, z2, 0.3), (z1, z2))
        for fn in (impl.nt_xent_loss, impl.nt_xent_loss_naive):
            got = torch.autograd.grad(fn(z1, z2, 0.3), (z1, z2))
            for a, e in zip(got, want, strict=True):
                assert_close(a, e, atol=1e-10, inputs={"z1": z1, "z2": z2})


def test_nt_xent_float32_and_default_temperature():
    g = torch.Generator().manual_seed(3)
    z1, z2 = _rand(g, 8, 16, torch.float32), _rand(g, 8, 16, torch.float32)
    want = simclr_eq1(z1.double().numpy(), z2.double().numpy(), 0.5)  # default tau = 0.5
    assert_close(impl.nt_xent_loss(z1, z2), want, atol=1e-5)
    assert impl.nt_xent_loss(z1, z2).dtype == torch.float32


def test_nt_xent_normalises_features_inside():
    g = torch.Generator().manual_seed(4)
    z1, z2 = _rand(g, 4, 3), _rand(g, 4, 3)
    base = float(impl.nt_xent_loss(z1, z2, 0.5))
    scaled = float(impl.nt_xent_loss(5.0 * z1, 0.2 * z2, 0.5))
    assert abs(base - scaled) < 1e-9, (
        "NT-Xent uses COSINE similarity: L2-normalise z1 and z2 inside the loss "
        f"(rescaling the inputs changed the loss from {base:.6f} to {scaled:.6f})"
    )


def test_nt_xent_excludes_self_similarity():
    # N = 1, orthogonal views: the only sample k != i is the positive, so the loss is -log 1 = 0.
    # Keeping k = i in the denominator gives log(1 + e^{1/tau}) = log(1 + e^2) = 2.127 instead.
    z1, z2 = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0]])
    got = float(impl.nt_xent_loss(z1, z2, 0.5))
    assert abs(got) < 1e-6, (
        "the denominator must skip k = i (mask the diagonal of the [2N, 2N] similarity matrix "
        f"with -inf): for N=1 the loss must be 0, got {got:.4f}"
    )


def test_nt_xent_positive_is_the_other_view_at_offset_n():
    # Two images, views identical: z1 = z2 = e_0, e_1. Positives at i <-> i+N are perfect matches.
    e = torch.eye(2, dtype=torch.float64)
    tau = 0.5
    got = float(impl.nt_xent_loss(e, e.clone(), tau))
    # hand computation: anchor sims to the 3 others: positive 1, two negatives 0
    want = -math.log(math.exp(2.0) / (math.exp(2.0) + 2.0))
    # a positive at another offset (e.g. i <-> i+1) has similarity 0: -log(1 / (e^2 + 2))
    wrong_offset = math.log(math.exp(2.0) + 2.0)
    if abs(got - wrong_offset) < 1e-6:
        hint = (
            "row i of z1 and row i of z2 are the positive pair: in the stacked [2N, D] tensor "
            "the positive of row i is row (i + N) mod 2N"
        )
    else:
        hint = "z1 = z2 = I (2 x 2), tau = 0.5: each anchor has sims 1 (positive), 0, 0"
    assert abs(got - want) < 1e-9, f"{hint}; expected {want:.6f}, got {got:.6f}"


def test_nt_xent_averages_over_all_2n_anchors():
    g = torch.Generator().manual_seed(5)
    z1, z2 = _rand(g, 3, 4), _rand(g, 3, 4)
    want = simclr_eq1(z1.numpy(), z2.numpy(), 0.5)
    got = float(impl.nt_xent_loss(z1, z2, 0.5))
    assert not (abs(got - 2 * want) < 1e-9 or abs(got - want * 6) < 1e-9), (
        "average over all 2N anchors (both views), not over N: you returned twice (or 2N times) "
        "the mean"
    )
    assert abs(got - want) < 1e-9, f"SimCLR eq. 1 gives {want:.6f}, got {got:.6f}"


def test_nt_xent_rejects_bad_input():
    z = torch.zeros(2, 3)
    with raises_naming(TypeError, "z1", "torch.Tensor"):
        impl.nt_xent_loss([[1.0]], z)
    with raises_naming(TypeError, "z2"):
        impl.nt_xent_loss(z, np.zeros((2, 3)))
    with raises_naming(ValueError, "z1", "z2", "same shape"):
        impl.nt_xent_loss(z, torch.zeros(3, 3))
    with raises_naming(ValueError, "z1", "[N, D]"):
        impl.nt_xent_loss(torch.zeros(3), torch.zeros(3))
    with raises_naming(ValueError, "temperature"):
        impl.nt_xent_loss(z, z, 0.0)


# ------------------------------------------------------------------ InfoNCE / MoCo


def test_info_nce_with_queue_matches_moco_eq1_on_2000_cases():
    g = torch.Generator().manual_seed(6)
    for _ in range(cases(2000)):
        n, d = _shape(g)
        k = int(torch.randint(1, 9, (1,), generator=g))
        q, kp, neg = _rand(g, n, d), _rand(g, n, d), _rand(g, k, d)
        want = moco_infonce(q.numpy(), kp.numpy(), neg.numpy(), 0.07)
        assert_close(
            impl.info_nce_loss(q, kp, neg, 0.07),
            want,
            atol=1e-9,
            rtol=1e-10,
            inputs={"query": q, "positive_key": kp, "negative_keys": neg},
        )


def test_info_nce_in_batch_matches_reference_on_1000_cases():
    g = torch.Generator().manual_seed(7)
    for _ in range(cases(1000)):
        n, d = _shape(g)
        q, kp = _rand(g, n, d), _rand(g, n, d)
        want = moco_infonce(q.numpy(), kp.numpy(), None, 0.1)
        got = impl.info_nce_loss(q, kp)
        assert_close(got, want, atol=1e-10, rtol=1e-10, inputs={"query": q, "positive_key": kp})


def test_info_nce_softmax_over_keys_not_queries():
    # 3 queries, 3 keys; logits[i, j] = q_i . k_j. Transposing (softmax over queries) changes it.
    q = torch.tensor([[1.0, 0.0], [0.6, 0.8], [0.0, 1.0]], dtype=torch.float64)
    k = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    want = moco_infonce(q.numpy(), k.numpy(), None, 0.1)
    got = float(impl.info_nce_loss(q, k))
    assert abs(got - want) < 1e-9, (
        "each QUERY classifies among the keys: softmax over the key axis (logits q @ k.T, dim=1), "
        f"expected {want:.6f}, got {got:.6f}"
    )


def test_info_nce_log_n_bound_at_uniform_logits():
    # All similarities equal: the loss is log(1 + K) (chance level); I >= log(1+K) - L = 0.
    q = torch.ones(4, 3)
    got = impl.info_nce_loss(q, q, torch.ones(9, 3), 0.1)
    assert_close(got, math.log(10), atol=1e-6)


def test_info_nce_rejects_bad_input():
    z = torch.zeros(2, 3)
    with raises_naming(TypeError, "query"):
        impl.info_nce_loss("q", z)
    with raises_naming(ValueError, "negative_keys"):
        impl.info_nce_loss(z, z, torch.zeros(4, 5))
    with raises_naming(TypeError, "negative_keys"):
        impl.info_nce_loss(z, z, [[0.0]])


def _net(seed):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(4, 5), nn.ReLU(), nn.Linear(5, 2))


def test_momentum_update_equals_lerp_and_leaves_online_alone():
    online, target = _net(0), _net(1)
    for m in (0.0, 0.5, 0.999, 1.0):
        on0 = [p.detach().clone() for p in online.parameters()]
        tg0 = [p.detach().clone() for p in target.parameters()]
        impl.momentum_update(online, target, m)
        for p, p0, t, t0 in zip(online.parameters(), on0, target.parameters(), tg0, strict=True):
            assert_equal(p.detach(), p0)
            assert_close(t, torch.lerp(p0, t0, m), atol=1e-7, inputs={"m": m})
    with raises_naming(ValueError, "m"):
        impl.momentum_update(online, target, 1.5)
    with raises_naming(ValueError, "online", "target"):
        impl.momentum_update(online, nn.Linear(4, 5), 0.9)


def test_queue_is_fifo_like_a_deque_on_300_cases():
    g = torch.Generator().manual_seed(8)
    for _ in range(cases(300)):
        size, d = int(torch.randint(1, 9, (1,), generator=g)), 2
        queue = torch.zeros(size, d)
        ref = deque([tuple(r) for r in queue.tolist()], maxlen=size)
        ptr = 0
        for _ in range(5):
            b = int(torch.randint(1, size + 1, (1,), generator=g))
            keys = torch.randn(b, d, generator=g)
            queue, ptr = impl.enqueue_dequeue(queue, ptr, keys)
            ref.extend(tuple(r) for r in keys.tolist())  # drops the oldest on the left
            # the ring buffer read from ptr (oldest) onwards is the deque, oldest first
            got = torch.cat([queue[ptr:], queue[:ptr]])
            assert_close(got, torch.tensor(list(ref)), atol=0, inputs={"size": size})


def test_queue_rejects_bad_input():
    with raises_naming(ValueError, "keys"):
        impl.enqueue_dequeue(torch.zeros(4, 2), 0, torch.zeros(5, 2))
    with raises_naming(ValueError, "ptr"):
        impl.enqueue_dequeue(torch.zeros(4, 2), 4, torch.zeros(1, 2))
    with raises_naming(TypeError, "queue"):
        impl.enqueue_dequeue([0.0], 0, torch.zeros(1, 2))


# ------------------------------------------------------------------ SimSiam


def test_simsiam_stop_gradient_blocks_the_target_branch():
    g = torch.Generator().manual_seed(9)
    p1, p2, z1, z2 = (_rand(g, 3, 4).requires_grad_() for _ in range(4))
    impl.simsiam_loss(p1, p2, z1, z2).backward()
    assert z1.grad is None and z2.grad is None and p1.grad is not None
    p1.grad = None
    impl.simsiam_loss(p1, p2, z1, z2, stop_grad=False).backward()
    assert z1.grad is not None
    want = -(torch.cosine_similarity(p1, z2).mean() + torch.cosine_similarity(p2, z1).mean()) / 2
    assert_close(impl.simsiam_loss(p1, p2, z1, z2), want, atol=1e-12)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [0, 1])
def test_without_stop_gradient_simsiam_collapses(seed):
    with_sg = impl.collapse_experiment(True, seed=seed)
    without = impl.collapse_experiment(False, seed=seed)
    # 1 / sqrt(16) = 0.25 for uniformly spread unit vectors; 0 = every output the same point
    assert with_sg[-1] > 0.15
    assert without[-1] < 0.06 and without[-1] < 0.3 * without[0]


def test_collapse_experiment_is_deterministic_and_leaves_global_rng_alone():
    torch.manual_seed(0)
    before = torch.get_rng_state()
    h1 = impl.collapse_experiment(False, steps=5, seed=3)
    assert torch.equal(torch.get_rng_state(), before)
    assert h1 == impl.collapse_experiment(False, steps=5, seed=3) and len(h1) == 5
    with raises_naming(ValueError, "steps"):
        impl.collapse_experiment(True, steps=0)


# ------------------------------------------------------------------ CLIP


def _unit(g, n, d, dtype=torch.float64):
    x = torch.randn(n, d, generator=g, dtype=dtype)
    return x / x.norm(dim=1, keepdim=True)


def test_clip_loss_matches_transformers_and_figure3_on_2000_cases():
    g = torch.Generator().manual_seed(10)
    for _ in range(cases(2000)):
        n, d = _shape(g)
        img, txt = _unit(g, n, d), _unit(g, n, d)
        scale = float(torch.empty(1).uniform_(0.5, 100.0, generator=g))
        got = impl.clip_loss(img, txt, scale)
        logits_per_text = txt @ img.T * scale  # what CLIPModel passes to the loss
        inputs = {"image_features": img, "text_features": txt, "logit_scale": scale}
        assert_close(got, image_text_contrastive_loss(logits_per_text), atol=1e-10, inputs=inputs)
        assert_close(got, clip_figure3(img.numpy(), txt.numpy(), scale), atol=1e-10, inputs=inputs)


def test_clip_loss_gradients_match_transformers():
    g = torch.Generator().manual_seed(11)
    for _ in range(cases(200)):
        n, d = _shape(g)
        img, txt = _unit(g, n, d).requires_grad_(), _unit(g, n, d).requires_grad_()
        s = torch.tensor(14.3, dtype=torch.float64, requires_grad=True)
        want = torch.autograd.grad(image_text_contrastive_loss(txt @ img.T * s), (img, txt, s))
        got = torch.autograd.grad(impl.clip_loss(img, txt, s), (img, txt, s))
        for a, e in zip(got, want, strict=True):
            assert_close(a, e, atol=1e-10)


def test_clip_loss_is_symmetric_both_directions():
    # 3 pairs with a non-symmetric similarity matrix (I @ T.T = T.T here): the row (image->text)
    # and column (text->image) cross-entropies differ, so one direction alone is caught.
    img = torch.eye(3, dtype=torch.float64)
    txt = torch.tensor([[1.0, 0.0, 0.0], [0.6, 0.8, 0.0], [0.0, 0.6, 0.8]], dtype=torch.float64)
    want = clip_figure3(img.numpy(), txt.numpy(), 10.0)
    got = float(impl.clip_loss(img, txt, 10.0))
    logits = 10.0 * img.numpy() @ txt.numpy().T
    one_way = [clip_figure3_direction(logits, axis) for axis in (1, 0)]
    if min(abs(got - v) for v in one_way) < 1e-9:
        hint = (
            "CLIP's loss is symmetric: (CE(image->text) + CE(text->image)) / 2 with labels "
            "arange(N); you returned only one direction"
        )
    else:
        hint = "logits = 10 * I @ T.T with I = eye(3)"
    assert abs(got - want) < 1e-9, f"{hint}; expected {want:.6f}, got {got:.6f}"


def test_clip_logit_scale_multiplies():
    img = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    want = clip_figure3(img.numpy(), img.numpy(), 100.0)  # = log(1 + e^-100), tiny
    got = float(impl.clip_loss(img, img, 100.0))
    assert abs(got - want) < 1e-9, (
        "logit_scale is exp(t) = 1/tau and MULTIPLIES the cosine similarities (logits = "
        f"logit_scale * I @ T.T); do not divide by it. Expected {want:.3g}, got {got:.3g}"
    )


def test_clip_init_temperature_is_0_07():
    from transformers import CLIPConfig

    assert_close(CLIPConfig().logit_scale_init_value, math.log(1 / 0.07), atol=1e-4)


def test_clip_loss_rejects_bad_input():
    with raises_naming(TypeError, "image_features"):
        impl.clip_loss(np.zeros((2, 2)), torch.zeros(2, 2), 1.0)
    with raises_naming(ValueError, "image_features", "text_features"):
        impl.clip_loss(torch.zeros(2, 2), torch.zeros(3, 2), 1.0)


def test_zero_shot_classify_picks_most_similar_prompt():
    classes = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    images = torch.tensor([[0.9, 0.1, 0.0], [0.0, 0.2, 5.0], [0.1, 3.0, 2.9]])
    assert_equal(impl.zero_shot_classify(images, classes), torch.tensor([0, 2, 1]))
    # cosine, not dot product: a long class vector must not win by its norm alone
    classes2 = torch.tensor([[1.0, 0.0], [10.0, 10.0]])
    assert_equal(impl.zero_shot_classify(torch.tensor([[1.0, 0.1]]), classes2), torch.tensor([0]))
    with raises_naming(ValueError, "class_text_features"):
        impl.zero_shot_classify(torch.zeros(2, 3), torch.zeros(2, 4))


# ------------------------------------------------------------------ figure


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_figure_builds(lang):
    from figures.selfsup.contrastive import draw_similarity_and_temperature

    assert isinstance(draw_similarity_and_temperature(lang), Figure)
