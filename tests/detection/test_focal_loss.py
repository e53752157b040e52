"""Tests for snippets/detection/focal_loss.py.

References: torchvision.ops.sigmoid_focal_loss (0.29.1), torch.nn.functional.cross_entropy and
binary_cross_entropy_with_logits, and the paper's formula written out per element in float64.
"""

from __future__ import annotations

import itertools
import math

import pytest
import torch
import torch.nn.functional as F
import torchvision
from hypothesis import given
from hypothesis import strategies as st
from torchvision.models.detection.retinanet import RetinaNetClassificationHead

from tests.support import assert_close, cases, raises_naming, under_test

impl = under_test("snippets.detection.focal_loss")

ALPHAS = [0.25, 0.5, -1, 0.0, 1.0, 0.75]
GAMMAS = [0, 0.5, 1, 2, 5]
REDUCTIONS = ["none", "mean", "sum"]


def random_case(gen: torch.Generator, soft: bool) -> tuple[torch.Tensor, torch.Tensor]:
    shape = [(7,), (3, 5), (2, 4, 6), (1,), (0,)][int(torch.randint(0, 5, (1,), generator=gen))]
    scale = [1.0, 5.0, 30.0, 100.0][int(torch.randint(0, 4, (1,), generator=gen))]
    inputs = torch.randn(shape, generator=gen) * scale  # up to |x| ~ 300: saturated sigmoids
    if soft:
        targets = torch.rand(shape, generator=gen)
    else:
        targets = (torch.rand(shape, generator=gen) < 0.3).float()
    return inputs, targets


# ---------------------------------------------------------------- sigmoid focal loss


def test_sigmoid_matches_torchvision_grid() -> None:
    """Every (alpha, gamma, reduction) on 40 seeded cases each: 3,600 comparisons."""
    gen = torch.Generator().manual_seed(0)
    for alpha, gamma, reduction in itertools.product(ALPHAS, GAMMAS, REDUCTIONS):
        for k in range(40):
            inputs, targets = random_case(gen, soft=bool(k % 2))
            expected = torchvision.ops.sigmoid_focal_loss(inputs, targets, alpha, gamma, reduction)
            actual = impl.sigmoid_focal_loss(inputs, targets, alpha, gamma, reduction)
            inputs_d = {"inputs": inputs, "targets": targets, "alpha": alpha, "gamma": gamma}
            assert_close(actual, expected, inputs=inputs_d, atol=1e-6, rtol=1e-6)


def test_sigmoid_matches_paper_formula_in_float64() -> None:
    """FL = -alpha_t (1 - p_t)^gamma log(p_t), hard labels, per element, written independently."""
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(500, generator=gen, dtype=torch.float64) * 4
    t = (torch.rand(500, generator=gen) < 0.5).double()
    for alpha, gamma in itertools.product([0.25, 0.5, -1], GAMMAS):
        expected = []
        for xi, ti in zip(x.tolist(), t.tolist(), strict=True):
            p = 1 / (1 + math.exp(-xi))
            p_t = p if ti == 1 else 1 - p
            a_t = 1.0 if alpha == -1 else (alpha if ti == 1 else 1 - alpha)
            expected.append(-a_t * (1 - p_t) ** gamma * math.log(p_t))
        actual = impl.sigmoid_focal_loss(x, t, alpha, gamma)
        assert_close(actual, torch.tensor(expected, dtype=torch.float64), atol=1e-12, rtol=1e-9)


def test_alpha_weights_the_positive_class() -> None:
    # Same logit 0 (p = 0.5) for a positive and a negative: with gamma = 0 the loss is
    # alpha_t * log 2, so the positive gets 0.25 * log 2 and the negative 0.75 * log 2.
    loss = impl.sigmoid_focal_loss(torch.zeros(2), torch.tensor([1.0, 0.0]), alpha=0.25, gamma=0)
    assert_close(loss, torch.tensor([0.25, 0.75]) * math.log(2))
    tv = torchvision.ops.sigmoid_focal_loss(torch.zeros(2), torch.tensor([1.0, 0.0]), 0.25, 0)
    assert_close(tv, loss)


def test_gamma_zero_is_alpha_weighted_bce() -> None:
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(100, generator=gen) * 3
    t = (torch.rand(100, generator=gen) < 0.5).float()
    bce = F.binary_cross_entropy_with_logits(x, t, reduction="none")
    assert_close(impl.sigmoid_focal_loss(x, t, alpha=-1, gamma=0), bce)
    weight = 0.25 * t + 0.75 * (1 - t)
    assert_close(impl.sigmoid_focal_loss(x, t, alpha=0.25, gamma=0), weight * bce)
    assert_close(
        impl.sigmoid_focal_loss(x, t, alpha=0.25, gamma=0, reduction="mean"),
        F.binary_cross_entropy_with_logits(x, t, weight=weight),
    )


def test_large_logits_are_finite_and_log_sigmoid_is_not() -> None:
    x = torch.tensor([-100.0, 100.0, -100.0, 100.0])
    t = torch.tensor([1.0, 0.0, 0.0, 1.0])
    loss = impl.sigmoid_focal_loss(x, t, alpha=-1, gamma=2)
    assert bool(loss.isfinite().all())
    assert_close(loss, torch.tensor([100.0, 100.0, 0.0, 0.0]))  # (1 - p_t)^2 = 1, -log p_t = 100
    naive = -torch.log(torch.sigmoid(x[:1]))  # sigmoid(-100) underflows to 0 in float32
    assert bool(torch.isinf(naive).all())


def test_gradient_is_finite_for_large_logits() -> None:
    x = torch.tensor([-80.0, 80.0, 3.0], requires_grad=True)
    t = torch.tensor([1.0, 0.0, 1.0])
    impl.sigmoid_focal_loss(x, t, reduction="sum").backward()
    assert bool(x.grad.isfinite().all())


@pytest.mark.parametrize("gamma", [0.25, 0.5, 0.99])
def test_gamma_below_one_gradient_is_finite_at_a_saturated_sigmoid(gamma: float) -> None:
    """Appendix A3 of the review: sigmoid(x) == 1.0 in float32 for x >~ 17, so 1 - p_t == 0.

    pow's backward is then gamma * 0 ** (gamma - 1) = inf, times 0: nan in torchvision. The
    gradient itself is bounded and ~0 (Appendix B): the closed form in float64 says so.
    """
    x = torch.tensor([20.0, -20.0, 50.0, -50.0, 17.5, 3.0])
    t = torch.tensor([1.0, 0.0, 1.0, 0.0, 1.0, 1.0])
    ours = x.clone().requires_grad_(True)
    impl.sigmoid_focal_loss(ours, t, gamma=gamma, reduction="sum").backward()
    theirs = x.clone().requires_grad_(True)
    torchvision.ops.sigmoid_focal_loss(theirs, t, gamma=gamma, reduction="sum").backward()
    assert bool(theirs.grad[:4].isnan().all())  # the library's failure this test documents
    exact = impl.sigmoid_focal_loss_grad(x.double(), t.double(), gamma=gamma)
    assert_close(ours.grad, exact, atol=1e-9, rtol=1e-4, inputs={"x": x, "gamma": gamma})
    # The values are still torchvision's.
    assert_close(
        impl.sigmoid_focal_loss(x, t, gamma=gamma),
        torchvision.ops.sigmoid_focal_loss(x, t, gamma=gamma),
        atol=1e-12,
    )


def test_closed_form_gradient_matches_autograd() -> None:
    """Paper Appendix B: dFL/dx = alpha_t y (1 - p_t)^g (g p_t log p_t + p_t - 1), float64."""
    gen = torch.Generator().manual_seed(12)
    x = torch.randn(400, generator=gen, dtype=torch.float64) * 6
    t = (torch.rand(400, generator=gen) < 0.4).double()
    for alpha, gamma in itertools.product([0.25, -1, 1.0], GAMMAS):
        xs = x.clone().requires_grad_(True)
        impl.sigmoid_focal_loss(xs, t, alpha, gamma, reduction="sum").backward()
        expected = impl.sigmoid_focal_loss_grad(x, t, alpha, gamma)
        assert_close(xs.grad, expected, atol=1e-12, rtol=1e-9, inputs={"alpha": alpha, "g": gamma})
        tv = x.clone().requires_grad_(True)
        torchvision.ops.sigmoid_focal_loss(tv, t, alpha, gamma, reduction="sum").backward()
        assert_close(tv.grad, expected, atol=1e-12, rtol=1e-9)  # not saturated: tv agrees
    # Bounded for every gamma, also < 1: |dFL/dx| = q^g (q + g p |log p|) <= 1 + g / e with
    # q = 1 - p_t (p |log p| <= 1/e); the factor's blow-up is multiplied by log p_t ~ -q.
    grid = torch.linspace(-40, 40, 2001, dtype=torch.float64)
    for gamma in (0.1, 0.5, 0.99, 2.0):
        g = impl.sigmoid_focal_loss_grad(grid, torch.ones_like(grid), alpha=-1, gamma=gamma)
        assert bool((g.abs() <= 1 + gamma / math.e).all() and (g <= 0).all())
        assert g[-1].abs() < 1e-15  # x = 40: the easy positive's gradient vanishes


def test_detached_pt_gives_a_wrong_gradient() -> None:
    """A common hand-written version detaches p_t (``logpt.data.exp()``): the factor becomes a
    constant weight. At p_t = 0.9, gamma = 2 the gradient is -0.001 instead of -0.0029."""
    x = torch.tensor([math.log(9.0)], dtype=torch.float64, requires_grad=True)  # p_t = 0.9
    log_pt = F.logsigmoid(x)
    (-((1 - log_pt.detach().exp()) ** 2) * log_pt).sum().backward()
    detached = x.grad.item()
    exact = impl.sigmoid_focal_loss_grad(x.detach(), torch.ones(1, dtype=torch.float64), -1, 2)
    assert math.isclose(detached, -0.001, rel_tol=1e-9)
    assert math.isclose(exact.item(), 0.01 * (2 * 0.9 * math.log(0.9) - 0.1), rel_tol=1e-9)
    assert math.isclose(exact.item() / detached, 2.8965, rel_tol=1e-3)


def test_closed_form_gradient_errors() -> None:
    x = torch.zeros(3)
    with raises_naming(ValueError, "targets", "0 or 1"):
        impl.sigmoid_focal_loss_grad(x, torch.full((3,), 0.5))
    with raises_naming(ValueError, "targets", "(3,)"):
        impl.sigmoid_focal_loss_grad(x, torch.zeros(4))
    with raises_naming(TypeError, "inputs"):
        impl.sigmoid_focal_loss_grad([0.0], torch.zeros(1))
    with raises_naming(ValueError, "alpha"):
        impl.sigmoid_focal_loss_grad(x, x, alpha=2.0)


def test_easy_examples_are_down_weighted() -> None:
    """The modulating factor: at p_t = 0.9, gamma = 2 cuts CE by 100x (paper §3.2)."""
    x = torch.tensor([math.log(0.9 / 0.1)])  # sigmoid(x) = 0.9
    t = torch.ones(1)
    ce = impl.sigmoid_focal_loss(x, t, alpha=-1, gamma=0)
    fl = impl.sigmoid_focal_loss(x, t, alpha=-1, gamma=2)
    assert_close(fl / ce, torch.tensor([0.01]), rtol=1e-4)


@given(
    x=st.floats(-50, 50, allow_nan=False),
    t=st.floats(0, 1),
    gamma=st.sampled_from(GAMMAS),
)
def test_focal_never_exceeds_bce_property(x: float, t: float, gamma: float) -> None:
    xs, ts = torch.tensor([x], dtype=torch.float64), torch.tensor([t], dtype=torch.float64)
    fl = impl.sigmoid_focal_loss(xs, ts, alpha=-1, gamma=gamma)
    bce = F.binary_cross_entropy_with_logits(xs, ts)
    assert float(fl) <= float(bce) + 1e-12
    assert float(fl) >= 0


def test_empty_mean_is_nan_like_torchvision() -> None:
    e = torch.zeros(0)
    assert math.isnan(float(impl.sigmoid_focal_loss(e, e, reduction="mean")))
    assert math.isnan(float(torchvision.ops.sigmoid_focal_loss(e, e, reduction="mean")))
    assert float(impl.sigmoid_focal_loss(e, e, reduction="sum")) == 0.0


# ---------------------------------------------------------------- prior initialisation


def test_prior_bias() -> None:
    b = impl.prior_bias(0.01)
    assert_close(
        torch.sigmoid(torch.tensor(b, dtype=torch.float64)), torch.tensor(0.01), rtol=1e-12
    )
    assert_close(b, -math.log(99))
    assert impl.prior_bias(0.5) == 0.0
    with raises_naming(ValueError, "prior_probability"):
        impl.prior_bias(0.0)
    with raises_naming(ValueError, "prior_probability"):
        impl.prior_bias(1.0)


def test_prior_init_shrinks_the_first_loss() -> None:
    """~100k background anchors at the start of training.

    Bias 0 (p = 0.5): each negative costs 0.75 * 0.5^2 * log 2 = 0.13; the sum is ~13,000.
    Bias -log(99) (p = 0.01): each costs 0.75 * 0.01^2 * -log(0.99) = 7.5e-7; the sum is 0.075.
    """
    anchors, classes = 100_000, 1
    t = torch.zeros(anchors, classes)
    zero = impl.sigmoid_focal_loss(torch.zeros(anchors, classes), t, reduction="sum")
    prior = impl.sigmoid_focal_loss(
        torch.full((anchors, classes), impl.prior_bias(0.01)), t, reduction="sum"
    )
    assert_close(zero, torch.tensor(anchors * 0.75 * 0.25 * math.log(2)), rtol=1e-4)
    assert_close(prior, torch.tensor(anchors * 0.75 * 1e-4 * -math.log(0.99)), rtol=1e-3)


def test_retinanet_cls_loss_matches_torchvision_head() -> None:
    """400 seeded images: torchvision's RetinaNetClassificationHead.compute_loss itself.

    matched_idxs mixes foreground (gt index), background (-1) and ignored (-2) anchors; the
    head drops -2 anchors and divides by max(1, num_foreground) (retinanet.py).
    """
    gen = torch.Generator().manual_seed(3)
    k = 4
    head = RetinaNetClassificationHead(in_channels=8, num_anchors=1, num_classes=k)
    for i in range(cases(400)):
        a, m = int(torch.randint(1, 60, (1,), generator=gen)), i % 4  # m = 0: no gt at all
        logits = torch.randn(a, k, generator=gen) * 3
        labels = torch.randint(0, k, (m,), generator=gen)
        matched = torch.randint(-2, max(m, 0), (a,), generator=gen)  # values in [-2, m)
        expected = head.compute_loss([{"labels": labels}], {"cls_logits": logits[None]}, [matched])
        actual = impl.retinanet_cls_loss(logits, labels, matched)
        assert_close(actual, expected, atol=1e-6, rtol=1e-6, inputs={"matched": matched})


def test_retinanet_cls_loss_ignores_the_between_thresholds_band() -> None:
    # One positive and one ignored anchor, the ignored one with a huge loss if it counted as a
    # negative (logit 10: p = 0.99995, -0.75 * p^2 * log(1 - p) ~ 7.5 per class).
    logits = torch.tensor([[5.0, -5.0], [10.0, 10.0]])
    loss = impl.retinanet_cls_loss(logits, torch.tensor([0]), torch.tensor([0, -2]))
    only_first = torchvision.ops.sigmoid_focal_loss(
        logits[:1], torch.tensor([[1.0, 0.0]]), reduction="sum"
    )
    assert_close(loss, only_first)


def test_retinanet_cls_loss_errors() -> None:
    logits, labels, matched = torch.zeros(5, 3), torch.tensor([2]), torch.tensor([0, -1, -2, -1, 0])
    with raises_naming(TypeError, "cls_logits", "list"):
        impl.retinanet_cls_loss([[0.0] * 3] * 5, labels, matched)
    with raises_naming(TypeError, "matched_idxs", "ndarray"):
        impl.retinanet_cls_loss(logits, labels, matched.numpy())
    with raises_naming(ValueError, "cls_logits", "[A, K]"):
        impl.retinanet_cls_loss(torch.zeros(5), labels, matched)
    with raises_naming(ValueError, "matched_idxs", "[A] = [5]"):
        impl.retinanet_cls_loss(logits, labels, matched[:4])
    with raises_naming(TypeError, "labels", "integers"):
        impl.retinanet_cls_loss(logits, labels.float(), matched)
    with raises_naming(ValueError, "labels", "[0, 3)"):
        impl.retinanet_cls_loss(logits, torch.tensor([3]), matched)
    with raises_naming(ValueError, "matched_idxs", "[-2, 1)"):
        impl.retinanet_cls_loss(logits, labels, torch.tensor([1, -1, -2, -1, 0]))
    with raises_naming(ValueError, "matched_idxs", "[-2, 1)"):
        impl.retinanet_cls_loss(logits, labels, torch.tensor([-3, -1, -2, -1, 0]))


# ---------------------------------------------------------------- softmax focal loss


def brute_softmax_focal(logits, target, alpha, gamma, ignore_index=-100):
    """Per element, in float64 Python: softmax, pick the true class, apply the formula."""
    c = logits.shape[1]
    flat_logits = logits.double().movedim(1, -1).reshape(-1, c).tolist()
    flat_target = target.reshape(-1).tolist()
    out = []
    for row, y in zip(flat_logits, flat_target, strict=True):
        if y == ignore_index:
            out.append(0.0)
            continue
        m = max(row)
        z = sum(math.exp(v - m) for v in row)
        p = math.exp(row[y] - m) / z
        a = 1.0 if alpha is None else float(alpha[y])
        out.append(-a * (1 - p) ** gamma * math.log(p))
    return torch.tensor(out, dtype=torch.float64).reshape(target.shape)


def test_softmax_matches_brute_force() -> None:
    gen = torch.Generator().manual_seed(4)
    for k in range(cases(120)):
        shape = [(9, 5), (3, 4, 2, 3), (4, 2), (2, 3, 5)][k % 4]
        logits = torch.randn(shape, generator=gen) * [1.0, 4.0, 20.0][k % 3]
        target_shape = (shape[0], *shape[2:])
        target = torch.randint(0, shape[1], target_shape, generator=gen)
        if k % 5 == 0:
            target[torch.rand(target_shape, generator=gen) < 0.3] = -100
        alpha = None if k % 2 else torch.rand(shape[1], generator=gen)
        gamma = GAMMAS[k % len(GAMMAS)]
        expected = brute_softmax_focal(logits, target, alpha, gamma)
        actual = impl.softmax_focal_loss(logits.double(), target, alpha, gamma, reduction="none")
        assert_close(actual, expected, inputs={"logits": logits, "target": target}, atol=1e-10)
        valid = (target != -100).sum()
        assert_close(
            impl.softmax_focal_loss(logits.double(), target, alpha, gamma, reduction="mean"),
            expected.sum() / valid,
            atol=1e-10,
        )


def test_softmax_gamma_zero_is_cross_entropy() -> None:
    gen = torch.Generator().manual_seed(5)
    for k in range(cases(200)):
        shape = [(16, 10), (2, 3, 4, 5), (5, 2)][k % 3]
        logits = torch.randn(shape, generator=gen) * [1.0, 10.0, 50.0][k % 3]
        target = torch.randint(0, shape[1], (shape[0], *shape[2:]), generator=gen)
        target[torch.rand(target.shape, generator=gen) < 0.1] = 255
        for reduction in REDUCTIONS:
            expected = F.cross_entropy(logits, target, ignore_index=255, reduction=reduction)
            actual = impl.softmax_focal_loss(
                logits, target, gamma=0.0, reduction=reduction, ignore_index=255
            )
            assert_close(actual, expected, inputs={"logits": logits, "target": target}, atol=1e-5)


def test_softmax_alpha_is_per_class_weight() -> None:
    """gamma = 0 with alpha = w is cross-entropy with weight=w for "none" and "sum"."""
    gen = torch.Generator().manual_seed(6)
    logits = torch.randn(50, 4, generator=gen)
    target = torch.randint(0, 4, (50,), generator=gen)
    w = torch.tensor([0.1, 0.2, 0.3, 0.4])
    for reduction in ("none", "sum"):
        expected = F.cross_entropy(logits, target, weight=w, reduction=reduction)
        assert_close(
            impl.softmax_focal_loss(logits, target, w, 0.0, reduction), expected, atol=1e-6
        )
    # "mean" divides by the number of elements, F.cross_entropy by the sum of their weights.
    mean = impl.softmax_focal_loss(logits, target, w, 0.0, "mean")
    assert_close(mean, F.cross_entropy(logits, target, weight=w, reduction="sum") / 50, atol=1e-6)


def test_softmax_gamma_below_one_gradient_is_finite_at_a_saturated_softmax() -> None:
    # A logit margin of 30: p_t rounds to 1.0 in float32, (1 - p_t) ** 0.5 has an inf backward.
    logits = torch.tensor([[30.0, 0.0, 0.0], [0.0, 2.0, -1.0]], requires_grad=True)
    target = torch.tensor([0, 1])
    impl.softmax_focal_loss(logits, target, gamma=0.5, reduction="sum").backward()
    assert bool(logits.grad.isfinite().all())
    ref = logits.detach().double().requires_grad_(True)  # float64: not saturated, no clamp hit
    impl.softmax_focal_loss(ref, target, gamma=0.5, reduction="sum").backward()
    assert_close(logits.grad, ref.grad, atol=1e-6)


def test_softmax_accepts_uint8_targets_like_cross_entropy() -> None:
    logits = torch.randn(4, 3, generator=torch.Generator().manual_seed(13))
    target = torch.tensor([0, 1, 2, 1], dtype=torch.uint8)
    assert_close(
        impl.softmax_focal_loss(logits, target, gamma=0.0),
        F.cross_entropy(logits, target.long()),
        atol=1e-6,
    )


def test_softmax_two_classes_alpha_convention() -> None:
    """alpha = [0.75, 0.25]: background (class 0) 0.75, foreground (class 1) 0.25, as the paper.

    The seed's FocalLoss(alpha=0.25) builds [alpha, 1 - alpha] = [0.25, 0.75] instead.
    """
    logits = torch.zeros(2, 2)  # p_t = 0.5 for both
    target = torch.tensor([1, 0])
    loss = impl.softmax_focal_loss(logits, target, [0.75, 0.25], 0.0, reduction="none")
    assert_close(loss, torch.tensor([0.25, 0.75]) * math.log(2))


# ---------------------------------------------------------------- errors


def test_sigmoid_errors() -> None:
    x = torch.zeros(3)
    with raises_naming(ValueError, "targets", "(3,)", "(4,)"):
        impl.sigmoid_focal_loss(x, torch.zeros(4))
    with raises_naming(TypeError, "inputs"):
        impl.sigmoid_focal_loss([0.0], torch.zeros(1))
    for alpha in (1.5, -0.5, -2):
        with raises_naming(ValueError, "alpha", "[0, 1]"):
            impl.sigmoid_focal_loss(x, x, alpha=alpha)
    for gamma in (-1.0, float("nan")):
        with raises_naming(ValueError, "gamma", ">= 0"):
            impl.sigmoid_focal_loss(x, x, gamma=gamma)
    with raises_naming(ValueError, "reduction", "'none'"):
        impl.sigmoid_focal_loss(x, x, reduction="avg")
    with pytest.raises(ValueError):  # torchvision 0.29.1 rejects both too
        torchvision.ops.sigmoid_focal_loss(x, x, alpha=1.5)
    with pytest.raises(ValueError):
        torchvision.ops.sigmoid_focal_loss(x, x, reduction="avg")


def test_softmax_errors() -> None:
    logits, target = torch.zeros(4, 3), torch.zeros(4, dtype=torch.int64)
    with raises_naming(ValueError, "target", "[4]"):
        impl.softmax_focal_loss(logits, torch.zeros(5, dtype=torch.int64))
    with raises_naming(ValueError, "logits", "[N, C, ...]"):
        impl.softmax_focal_loss(torch.zeros(4), target)
    with raises_naming(TypeError, "target", "integer"):
        impl.softmax_focal_loss(logits, torch.zeros(4))
    with raises_naming(ValueError, "target", "[0, 3)"):
        impl.softmax_focal_loss(logits, torch.tensor([0, 1, 2, 3]))
    with raises_naming(ValueError, "alpha", "3"):
        impl.softmax_focal_loss(logits, target, alpha=[0.5, 0.5])
    with raises_naming(ValueError, "alpha"):
        impl.softmax_focal_loss(logits, target, alpha=[0.5, -0.5, 1.0])
    with raises_naming(ValueError, "gamma"):
        impl.softmax_focal_loss(logits, target, gamma=-2.0)
    with raises_naming(ValueError, "reduction"):
        impl.softmax_focal_loss(logits, target, reduction="batchmean")


# ---------------------------------------------------------------- figure


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_figure(lang: str) -> None:
    import matplotlib.figure

    from figures.detection.focal_loss import draw_loss_curves

    fig = draw_loss_curves(lang)
    assert isinstance(fig, matplotlib.figure.Figure)
    assert len(fig.axes) == 1 and len(fig.axes[0].lines) == len(GAMMAS)
