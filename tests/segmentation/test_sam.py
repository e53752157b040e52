"""Tests for snippets/segmentation/sam.py: Fourier codes, hypernetwork masks, min-over-masks loss."""

from __future__ import annotations

import math

import matplotlib.figure
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torchvision.ops import sigmoid_focal_loss

from tests.support import assert_close, assert_equal, cases, raises_naming, under_test

impl = under_test("snippets.segmentation.sam")


@pytest.fixture(autouse=True, scope="module")
def _single_thread():
    # Tiny tensors: on a shared 2-core machine intra-op threads cost more than the work.
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def official_code(
    x: float, y: float, width: int, height: int, gaussian: torch.Tensor
) -> list[float]:
    """The formula of segment_anything/modeling/prompt_encoder.py written out for one point:
    normalise (x / W, y / H), map to [-1, 1], project on the 2 x F Gaussian matrix, multiply by
    2*pi, then [sin(...), cos(...)]. Plain Python floats, one frequency at a time."""
    u, v = 2 * (x / width) - 1, 2 * (y / height) - 1
    angles = [
        2 * math.pi * (u * float(gaussian[0, f]) + v * float(gaussian[1, f]))
        for f in range(gaussian.shape[1])
    ]
    return [math.sin(a) for a in angles] + [math.cos(a) for a in angles]


# ------------------------------------------------------------------ random-Fourier encoding


def test_code_shape_and_determinism():
    a = impl.PositionEmbeddingRandom(16, generator=torch.Generator().manual_seed(3))
    b = impl.PositionEmbeddingRandom(16, generator=torch.Generator().manual_seed(3))
    c = impl.PositionEmbeddingRandom(16, generator=torch.Generator().manual_seed(4))
    pts = torch.tensor([[[5.0, 7.0], [100.0, 3.0], [0.0, 0.0]]])
    code = a.forward_with_coords(pts, (128, 256))
    assert tuple(code.shape) == (1, 3, 32)
    assert_equal(code, b.forward_with_coords(pts, (128, 256)))  # same seed, same code
    assert not torch.equal(code, c.forward_with_coords(pts, (128, 256)))
    # The matrix is a buffer: saved with the model, never trained.
    assert "positional_encoding_gaussian_matrix" in dict(a.named_buffers())
    assert not list(a.parameters())


def test_matches_official_formula_on_random_points():
    gen = torch.Generator().manual_seed(0)
    for case in range(cases(200)):
        feats = int(torch.randint(1, 9, (1,), generator=gen))
        scale = [None, 0.0, 0.5, 2.0][case % 4]
        pe = impl.PositionEmbeddingRandom(feats, scale, generator=gen)
        gaussian = pe.positional_encoding_gaussian_matrix
        h, w = (int(v) for v in torch.randint(8, 2048, (2,), generator=gen))
        pts = torch.rand(2, 5, 2, generator=gen) * torch.tensor([w, h])
        expected = torch.tensor(
            [[official_code(float(x), float(y), w, h, gaussian) for x, y in row] for row in pts]
        )
        assert_close(pe.forward_with_coords(pts, (h, w)), expected, atol=1e-4, inputs={"pts": pts})


def test_scale_multiplies_the_frequencies():
    g1, g2 = torch.Generator().manual_seed(9), torch.Generator().manual_seed(9)
    base = impl.PositionEmbeddingRandom(8, generator=g1).positional_encoding_gaussian_matrix
    scaled = impl.PositionEmbeddingRandom(8, 3.0, generator=g2).positional_encoding_gaussian_matrix
    assert_close(scaled, 3.0 * base)


@settings(max_examples=cases(100))
@given(
    rel=st.tuples(st.floats(0, 1), st.floats(0, 1)),
    size_a=st.tuples(st.integers(1, 4096), st.integers(1, 4096)),
    size_b=st.tuples(st.integers(1, 4096), st.integers(1, 4096)),
)
def test_same_relative_point_same_code(rel, size_a, size_b):
    pe = impl.PositionEmbeddingRandom(8, generator=torch.Generator().manual_seed(1))
    (ha, wa), (hb, wb) = size_a, size_b
    pa = torch.tensor([[[rel[0] * wa, rel[1] * ha]]], dtype=torch.float64)
    pb = torch.tensor([[[rel[0] * wb, rel[1] * hb]]], dtype=torch.float64)
    assert_close(
        pe.forward_with_coords(pa, (ha, wa)), pe.forward_with_coords(pb, (hb, wb)), atol=1e-4
    )


def test_same_point_same_code_and_norm():
    pe = impl.PositionEmbeddingRandom(32, generator=torch.Generator().manual_seed(2))
    pts = torch.tensor([[[12.0, 40.0], [12.0, 40.0], [300.0, 2.0]]])
    code = pe.forward_with_coords(pts, (512, 512))
    assert_equal(code[0, 0], code[0, 1])
    # sin^2 + cos^2 = 1 per frequency: every code has squared norm F = 32.
    assert_close((code**2).sum(-1), torch.full((1, 3), 32.0), atol=1e-4)


def test_dense_grid_equals_pixel_centre_coordinates():
    # forward((H, W)) encodes pixel centres: equals forward_with_coords at (j + 0.5, i + 0.5).
    pe = impl.PositionEmbeddingRandom(6, generator=torch.Generator().manual_seed(5))
    h, w = 5, 7
    ys, xs = torch.meshgrid(torch.arange(h) + 0.5, torch.arange(w) + 0.5, indexing="ij")
    pts = torch.stack([xs, ys], -1).reshape(1, -1, 2)
    expected = pe.forward_with_coords(pts, (h, w)).reshape(h, w, 12).permute(2, 0, 1)
    assert_close(pe((h, w)), expected, atol=1e-5)


# ------------------------------------------------------------------ hypernetwork masks


def test_hypernetwork_masks_match_loop_and_einsum():
    gen = torch.Generator().manual_seed(6)
    for _ in range(cases(500)):
        b, t, c, h, w = (int(v) for v in torch.randint(1, 6, (5,), generator=gen))
        hyper = torch.randn(b, t, c, generator=gen, dtype=torch.float64)
        image = torch.randn(b, c, h, w, generator=gen, dtype=torch.float64)
        expected = torch.einsum("btc,bchw->bthw", hyper, image)
        inputs = {"hyper_in": hyper, "upscaled": image}
        assert_close(impl.hypernetwork_masks(hyper, image), expected, inputs=inputs, atol=1e-10)
        assert_close(
            impl.hypernetwork_masks_naive(hyper, image), expected, inputs=inputs, atol=1e-10
        )


def test_hypernetwork_masks_sam_shapes():
    # SAM: 256-d decoder, upscaled 4x to 256 x 256 with 256 / 8 = 32 channels, 4 mask tokens.
    masks = impl.hypernetwork_masks(torch.zeros(1, 4, 32), torch.zeros(1, 32, 256, 256))
    assert tuple(masks.shape) == (1, 4, 256, 256)


def test_select_masks():
    masks = torch.arange(4.0).reshape(1, 4, 1, 1).expand(2, 4, 3, 3)
    iou = torch.tensor([[0.9, 0.1, 0.2, 0.3], [0.5, 0.6, 0.7, 0.8]])
    multi, multi_iou = impl.select_masks(masks, iou, True)
    single, single_iou = impl.select_masks(masks, iou, False)
    assert_equal(multi[:, :, 0, 0], torch.tensor([[1.0, 2.0, 3.0]] * 2))
    assert_equal(multi_iou, iou[:, 1:])
    assert_equal(single[:, :, 0, 0], torch.tensor([[0.0]] * 2))
    assert_equal(single_iou, iou[:, :1])


# ------------------------------------------------------------------ the loss


def loss_loop(logits, target, iou_pred=None):
    """Brute force: for every sample and candidate, focal (alpha .25, gamma 2) averaged over pixels
    written from its definition, Dice from its definition, 20:1; keep the minimum; IoU MSE."""
    total, best = 0.0, []
    for b in range(logits.shape[0]):
        t = target[b].double().flatten().tolist()
        losses = []
        for m in range(logits.shape[1]):
            x = logits[b, m].double().flatten().tolist()
            focal = dice_num = p_sum = 0.0
            for xi, ti in zip(x, t, strict=True):
                p = 1 / (1 + math.exp(-xi))
                p_t = p if ti == 1 else 1 - p
                alpha_t = 0.25 if ti == 1 else 0.75
                focal += -alpha_t * (1 - p_t) ** 2 * math.log(max(p_t, 1e-300))
                dice_num += p * ti
                p_sum += p
            focal /= len(x)
            dice = 1 - (2 * dice_num + 1) / (p_sum + sum(t) + 1)
            losses.append(20 * focal + dice)
        k = min(range(len(losses)), key=losses.__getitem__)
        best.append(k)
        total += losses[k]
        if iou_pred is not None:
            pred = [v > 0 for v in logits[b, k].flatten().tolist()]
            inter = sum(1 for pi, ti in zip(pred, t, strict=True) if pi and ti)
            union = sum(1 for pi, ti in zip(pred, t, strict=True) if pi or ti)
            total += (float(iou_pred[b, k]) - inter / max(union, 1)) ** 2
    return total / logits.shape[0], best


def test_loss_matches_brute_force():
    gen = torch.Generator().manual_seed(7)
    for case in range(cases(300)):
        b, m = int(torch.randint(1, 4, (1,), generator=gen)), 3
        h, w = (int(v) for v in torch.randint(2, 6, (2,), generator=gen))
        logits = torch.randn(b, m, h, w, generator=gen, dtype=torch.float64) * 3
        target = (torch.rand(b, h, w, generator=gen) < 0.4).double()
        iou_pred = torch.rand(b, m, generator=gen, dtype=torch.float64) if case % 2 else None
        expected, expected_best = loss_loop(logits, target, iou_pred)
        loss, best = impl.sam_loss(logits, target, iou_pred)
        inputs = {"logits": logits, "target": target, "iou_pred": iou_pred}
        assert_close(loss, expected, inputs=inputs, atol=1e-9)
        assert_equal(best, torch.tensor(expected_best), inputs=inputs)


def test_focal_part_is_torchvision_and_ratio_is_20_to_1():
    gen = torch.Generator().manual_seed(8)
    logits = torch.randn(2, 3, 4, 4, generator=gen, dtype=torch.float64)
    target = (torch.rand(2, 4, 4, generator=gen) < 0.5).double()
    focal_only = impl.mask_losses(logits, target, focal_weight=1.0, dice_weight=0.0)
    expected = sigmoid_focal_loss(logits, target[:, None].expand_as(logits), reduction="none")
    assert_close(focal_only, expected.mean((2, 3)))
    dice_only = impl.mask_losses(logits, target, focal_weight=0.0, dice_weight=1.0)
    assert_close(impl.mask_losses(logits, target), 20 * focal_only + dice_only)


def test_dice_matches_sam2_formula():
    # SAM 2's training/loss_fns.py: numerator = (sum p + sum t) - ||p - t||_1, then
    # 1 - (numerator + 1) / (denominator + 1). For binary t this equals 2 * sum(p * t).
    gen = torch.Generator().manual_seed(9)
    logits = torch.randn(3, 3, 5, 5, generator=gen, dtype=torch.float64)
    target = (torch.rand(3, 5, 5, generator=gen) < 0.3).double()
    p = logits.sigmoid().flatten(2)
    t = target.flatten(1)[:, None].expand_as(p)
    denominator = p.sum(-1) + t.sum(-1)
    numerator = denominator - (p - t).abs().sum(-1)
    sam2 = 1 - (numerator + 1) / (denominator + 1)
    assert_close(impl.mask_losses(logits, target, 0.0, 1.0), sam2)


def test_gradient_reaches_only_the_chosen_mask():
    gen = torch.Generator().manual_seed(10)
    for _ in range(cases(50)):
        logits = torch.randn(4, 3, 6, 6, generator=gen, dtype=torch.float64).requires_grad_()
        target = (torch.rand(4, 6, 6, generator=gen) < 0.5).double()
        iou_pred = torch.rand(4, 3, generator=gen, dtype=torch.float64).requires_grad_()
        loss, best = impl.sam_loss(logits, target, iou_pred)
        loss.backward()
        _, expected_best = loss_loop(logits.detach(), target)
        assert_equal(best, torch.tensor(expected_best))
        for b in range(4):
            for m in range(3):
                touched_mask = bool(logits.grad[b, m].abs().sum() > 0)
                touched_iou = bool(iou_pred.grad[b, m] != 0)
                assert touched_mask == (m == best[b]), (b, m)
                assert touched_iou == (m == best[b]), (b, m)
        # The chosen mask's gradient equals that of its own loss alone (divided by the batch).
        k = int(best[0])
        alone = impl.mask_losses(logits[:1, k : k + 1], target[:1]).sum() / 4
        (grad,) = torch.autograd.grad(alone, logits)
        assert_close(logits.grad[0, k], grad[0, k], atol=1e-12)


def test_min_is_not_mean():
    # Three candidates for one click: whole, part, subpart. The target is the part; a mean would
    # pull all three toward it, the minimum lets the other two stay as they are.
    target = torch.zeros(1, 8, 8)
    target[0, 2:6, 2:6] = 1
    whole, sub = torch.full((8, 8), 6.0), torch.full((8, 8), -6.0)
    sub[3:5, 3:5] = 6.0
    part = torch.where(target[0] > 0, 6.0, -6.0)
    logits = torch.stack([whole, part, sub])[None]
    per_mask = impl.mask_losses(logits, target)
    loss, best = impl.sam_loss(logits, target)
    assert int(best) == 1
    assert_close(loss, per_mask[0, 1])
    assert float(per_mask.mean()) > float(loss) + 1.0


def test_errors():
    with raises_naming(ValueError, "coords_input", "[B, N, 2]"):
        impl.PositionEmbeddingRandom(4).forward_with_coords(torch.zeros(3, 2), (8, 8))
    with raises_naming(ValueError, "hyper_in", "[B, T, C]", "upscaled"):
        impl.hypernetwork_masks(torch.zeros(1, 4), torch.zeros(1, 4, 2, 2))
    with raises_naming(ValueError, "agree on B and C", "(1, 4, 8)", "(1, 7, 2, 2)"):
        impl.hypernetwork_masks(torch.zeros(1, 4, 8), torch.zeros(1, 7, 2, 2))
    with raises_naming(ValueError, "hyper_in", "upscaled"):
        impl.hypernetwork_masks_naive(torch.zeros(2, 4, 8), torch.zeros(1, 8, 2, 2))
    with raises_naming(ValueError, "mask_logits", "[B, M, H, W]", "target"):
        impl.sam_loss(torch.zeros(2, 3, 4, 4), torch.zeros(2, 5, 4))
    with raises_naming(ValueError, "targets", "binary"):
        impl.sam_loss(torch.zeros(1, 3, 2, 2), torch.full((1, 2, 2), 0.5))
    with raises_naming(ValueError, "iou_pred", "[B, M]", "[2, 3]"):
        impl.sam_loss(torch.zeros(2, 3, 4, 4), torch.zeros(2, 4, 4), torch.zeros(2, 4))
    with raises_naming(ValueError, "masks", "iou_pred"):
        impl.select_masks(torch.zeros(1, 4, 2, 2), torch.zeros(1, 3), True)


# ------------------------------------------------------------------ figure


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_figure(lang):
    from figures.segmentation.sam import fourier_codes

    fig = fourier_codes(lang)
    assert isinstance(fig, matplotlib.figure.Figure) and fig.axes
