"""Tests for snippets/segmentation/sam.py: Fourier codes, hypernetwork masks, min-over-masks loss."""

from __future__ import annotations

import math

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
    import matplotlib.figure

    from figures.segmentation.sam import fourier_codes

    fig = fourier_codes(lang)
    assert isinstance(fig, matplotlib.figure.Figure) and fig.axes


# ------------------------------------------------------------------ device, dtype, bad input


def test_dense_grid_follows_the_buffer_device_and_dtype():
    # The grid is built where the buffer lives: on "meta" (a stand-in for CUDA here) the result
    # is a meta tensor, and a float64 module computes in float64 end to end.
    pe = impl.PositionEmbeddingRandom(4, generator=torch.Generator().manual_seed(11))
    assert pe.to("meta")((3, 5)).device.type == "meta"
    pe64 = impl.PositionEmbeddingRandom(4, generator=torch.Generator().manual_seed(11)).double()
    code = pe64((3, 5))
    assert code.dtype == torch.float64
    g = pe64.positional_encoding_gaussian_matrix
    ys, xs = torch.meshgrid(
        (torch.arange(3, dtype=torch.float64) + 0.5) / 3,
        (torch.arange(5, dtype=torch.float64) + 0.5) / 5,
        indexing="ij",
    )
    angles = 2 * math.pi * ((2 * torch.stack([xs, ys], -1) - 1) @ g)
    expected = torch.cat([angles.sin(), angles.cos()], -1).permute(2, 0, 1)
    assert_close(code, expected, atol=1e-12)
    pts = torch.tensor([[[1.0, 2.0]]], dtype=torch.float64)
    assert pe64.forward_with_coords(pts, (8, 8)).dtype == torch.float64


def test_hypernetwork_masks_empty_batch_or_image():
    for hyper, image in [
        (torch.zeros(0, 4, 8), torch.zeros(0, 8, 5, 5)),
        (torch.zeros(2, 4, 8), torch.zeros(2, 8, 0, 5)),
        (torch.zeros(2, 0, 8), torch.zeros(2, 8, 3, 3)),
    ]:
        expected = impl.hypernetwork_masks_naive(hyper, image)
        assert_equal(impl.hypernetwork_masks(hyper, image), expected)


def test_non_tensors_raise_type_error_naming_the_argument():
    import numpy as np

    pe = impl.PositionEmbeddingRandom(4)
    with raises_naming(TypeError, "coords_input", "torch.Tensor", "list"):
        pe.forward_with_coords([[[1.0, 2.0]]], (8, 8))
    with raises_naming(TypeError, "hyper_in", "torch.Tensor", "ndarray"):
        impl.hypernetwork_masks(np.zeros((1, 4, 2)), torch.zeros(1, 2, 3, 3))
    with raises_naming(TypeError, "upscaled", "torch.Tensor", "list"):
        impl.hypernetwork_masks_naive(torch.zeros(1, 4, 2), [[0.0]])
    with raises_naming(TypeError, "masks", "torch.Tensor"):
        impl.select_masks([0.0], torch.zeros(1, 4), True)
    with raises_naming(TypeError, "iou_pred", "torch.Tensor"):
        impl.select_masks(torch.zeros(1, 4, 2, 2), [0.0] * 4, True)
    with raises_naming(TypeError, "target", "torch.Tensor", "list"):
        impl.sam_loss(torch.zeros(1, 3, 2, 2), [[[0, 1], [1, 0]]])
    with raises_naming(TypeError, "mask_logits", "torch.Tensor"):
        impl.mask_iou([0.0], torch.zeros(1, 2, 2))
    with raises_naming(TypeError, "iou_pred", "torch.Tensor", "list"):
        impl.sam_loss(torch.zeros(1, 3, 2, 2), torch.zeros(1, 2, 2), [[0.1, 0.2, 0.3]])
    with raises_naming(ValueError, "mask_logits", "target"):
        impl.mask_iou(torch.zeros(1, 3, 4, 4), torch.zeros(1, 3, 4))


# ------------------------------------------------------------------ SAM 2's IoU-loss options


def sam2_iou_loss(logits, target, iou_pred, best, supervise_all_iou, use_l1):
    """training/loss_fns.py of facebookresearch/sam2, for one prediction step and num_objects=1:
    iou_loss(..., loss_on_multimask=True) then the selection of MultiStepMultiMasksAndIous."""
    pred = logits.flatten(2) > 0
    gt = target[:, None].expand_as(logits).flatten(2) > 0
    area_i = torch.sum(pred & gt, dim=-1).float()
    area_u = torch.sum(pred | gt, dim=-1).float()
    actual = (area_i / torch.clamp(area_u, min=1.0)).to(iou_pred.dtype)
    loss_fn = torch.nn.functional.l1_loss if use_l1 else torch.nn.functional.mse_loss
    per_mask = loss_fn(iou_pred, actual, reduction="none")
    if supervise_all_iou:
        return per_mask.mean(dim=-1).mean()
    return per_mask[torch.arange(len(best)), best].mean()


@pytest.mark.parametrize("supervise_all_iou", [False, True])
@pytest.mark.parametrize("use_l1", [False, True])
def test_iou_loss_options_match_sam2(supervise_all_iou, use_l1):
    gen = torch.Generator().manual_seed(12)
    for _ in range(cases(40)):
        b, h, w = (int(v) for v in torch.randint(1, 5, (3,), generator=gen))
        logits = torch.randn(b, 3, h, w, generator=gen, dtype=torch.float64) * 3
        target = (torch.rand(b, h, w, generator=gen) < 0.4).double()
        iou_pred = torch.rand(b, 3, generator=gen, dtype=torch.float64)
        mask_only, best = impl.sam_loss(logits, target)
        loss, _ = impl.sam_loss(
            logits, target, iou_pred, supervise_all_iou=supervise_all_iou, iou_use_l1_loss=use_l1
        )
        expected = sam2_iou_loss(logits, target, iou_pred, best, supervise_all_iou, use_l1)
        inputs = {"logits": logits, "target": target, "iou_pred": iou_pred}
        assert_close(loss - mask_only, expected, atol=1e-12, inputs=inputs)


# ------------------------------------------------------------------ SAM 2 memory

mem = under_test("snippets.segmentation.sam_memory")


def official_memory_slots(frame_idx, cond_frames, num_maskmem, num_frames):
    """SAM2Base._prepare_memory_conditioned_features (training, stride 1, every prompted frame
    selected), transcribed with its output_dict: prompted frames live in cond_frame_outputs,
    the others in non_cond_frame_outputs; a missing entry is skipped."""
    output_dict = {
        "cond_frame_outputs": {t: t for t in cond_frames},
        "non_cond_frame_outputs": {t: t for t in range(num_frames) if t not in cond_frames},
    }
    stride = 1
    t_pos_and_prevs = [(0, out) for out in output_dict["cond_frame_outputs"].values()]
    for t_pos in range(1, num_maskmem):
        t_rel = num_maskmem - t_pos
        if t_rel == 1:
            prev_frame_idx = frame_idx - t_rel
        else:
            prev_frame_idx = ((frame_idx - 2) // stride) * stride
            prev_frame_idx = prev_frame_idx - (t_rel - 2) * stride
        out = output_dict["non_cond_frame_outputs"].get(prev_frame_idx, None)
        t_pos_and_prevs.append((t_pos, out))
    return [(t_pos, prev) for t_pos, prev in t_pos_and_prevs if prev is not None]


def test_memory_slots_match_sam2_on_random_videos():
    gen = torch.Generator().manual_seed(13)
    for _ in range(cases(500)):
        num_frames = int(torch.randint(2, 40, (1,), generator=gen))
        num_maskmem = int(torch.randint(1, 9, (1,), generator=gen))
        n_cond = int(torch.randint(1, min(4, num_frames), (1,), generator=gen))
        cond = set(torch.randperm(num_frames, generator=gen)[:n_cond].tolist())
        others = [t for t in range(num_frames) if t not in cond]  # never empty: n_cond < frames
        frame = others[int(torch.randint(0, len(others), (1,), generator=gen))]
        got = mem.memory_frame_slots(frame, cond, num_maskmem)
        expected = official_memory_slots(frame, sorted(cond), num_maskmem, num_frames)
        assert got == expected, (frame, cond, num_maskmem)
        # Bounded: the prompts plus at most num_maskmem - 1 recent frames, however long the video.
        assert len(got) <= len(cond) + num_maskmem - 1


def test_object_pointers_split_like_sam2():
    # sam2_base.py, sequence-first [P, B, C]: reshape(-1, B, C // d, d).permute(0, 2, 1, 3)
    # .flatten(0, 1), giving [P * C // d, B, d]. The snippet is batch-first.
    gen = torch.Generator().manual_seed(14)
    ptrs = torch.randn(5, 2, 256, generator=gen)  # [P, B, C]
    official = ptrs.reshape(-1, 2, 4, 64).permute(0, 2, 1, 3).flatten(0, 1)  # [P * 4, B, 64]
    ours = mem.split_object_pointers(ptrs.transpose(0, 1), 64)  # [B, P * 4, 64]
    assert_equal(ours, official.transpose(0, 1))


def _copy_into_mha(attn, dim, kv_dim, heads):
    mha = torch.nn.MultiheadAttention(
        dim, heads, kdim=kv_dim, vdim=kv_dim, batch_first=True, dtype=torch.float64
    )
    with torch.no_grad():
        if kv_dim == dim:
            mha.in_proj_weight.copy_(
                torch.cat([attn.q_proj.weight, attn.k_proj.weight, attn.v_proj.weight])
            )
        else:
            mha.q_proj_weight.copy_(attn.q_proj.weight)
            mha.k_proj_weight.copy_(attn.k_proj.weight)
            mha.v_proj_weight.copy_(attn.v_proj.weight)
        mha.in_proj_bias.copy_(torch.cat([attn.q_proj.bias, attn.k_proj.bias, attn.v_proj.bias]))
        mha.out_proj.weight.copy_(attn.out_proj.weight)
        mha.out_proj.bias.copy_(attn.out_proj.bias)
    return mha.eval()


def test_attention_matches_torch_multihead_attention():
    gen = torch.Generator().manual_seed(15)
    torch.manual_seed(15)
    for case in range(cases(60)):
        heads = [1, 2, 4][case % 3]
        dim = heads * int(torch.randint(1, 5, (1,), generator=gen))
        kv_dim = dim if case % 2 else int(torch.randint(1, 9, (1,), generator=gen))
        b, n, m = (int(v) for v in torch.randint(1, 6, (3,), generator=gen))
        attn = mem.Attention(dim, kv_dim, heads).double()
        q = torch.randn(b, n, dim, generator=gen, dtype=torch.float64)
        kv = torch.randn(b, m, kv_dim, generator=gen, dtype=torch.float64)
        k = kv + torch.randn(b, m, kv_dim, generator=gen, dtype=torch.float64)
        expected, _ = _copy_into_mha(attn, dim, kv_dim, heads)(q, k, kv, need_weights=False)
        assert_close(attn(q, k, kv), expected, atol=1e-10, inputs={"q": q, "k": k, "v": kv})


def layer_by_hand(layer, x, memory, memory_pos, heads):
    """The SAM 2 layer from its definition, with torch's own attention and layer norm."""
    ln = torch.nn.functional.layer_norm
    dim, kv_dim = x.shape[-1], memory.shape[-1]

    def norm(i, v):
        n = getattr(layer, f"norm{i}")
        return ln(v, (dim,), n.weight, n.bias, n.eps)

    self_mha = _copy_into_mha(layer.self_attn, dim, dim, heads)
    cross_mha = _copy_into_mha(layer.cross_attn, dim, kv_dim, heads)
    y = norm(1, x)
    x = x + self_mha(y, y, y, need_weights=False)[0]
    x = x + cross_mha(norm(2, x), memory + memory_pos, memory, need_weights=False)[0]
    hidden = torch.relu(norm(3, x) @ layer.mlp[0].weight.T + layer.mlp[0].bias)
    return x + hidden @ layer.mlp[2].weight.T + layer.mlp[2].bias


def test_memory_attention_matches_independent_computation():
    gen = torch.Generator().manual_seed(16)
    torch.manual_seed(16)
    for case in range(cases(20)):
        heads, dim, mem_dim = [(1, 8, 4), (2, 8, 8), (4, 16, 4)][case % 3]
        num_layers = 1 + case % 4
        model = mem.MemoryAttention(
            num_layers, dim=dim, mem_dim=mem_dim, num_heads=heads, mlp_dim=12
        ).double()
        for p in model.parameters():  # LayerNorm starts at (1, 0): make it matter
            p.data = torch.randn(p.shape, generator=gen, dtype=torch.float64) * 0.5
        b, hw, m = 2, int(torch.randint(1, 10, (1,), generator=gen)), 7
        curr = torch.randn(b, hw, dim, generator=gen, dtype=torch.float64)
        curr_pos = torch.randn(b, hw, dim, generator=gen, dtype=torch.float64)
        memory = torch.randn(b, m, mem_dim, generator=gen, dtype=torch.float64)
        memory_pos = torch.randn(b, m, mem_dim, generator=gen, dtype=torch.float64)
        x = curr + 0.1 * curr_pos
        for layer in model.layers:
            x = layer_by_hand(layer, x, memory, memory_pos, heads)
        n = model.norm
        expected = torch.nn.functional.layer_norm(x, (dim,), n.weight, n.bias, n.eps)
        got = model(curr, curr_pos, memory, memory_pos)
        assert_close(got, expected, atol=1e-10, inputs={"curr": curr, "memory": memory})


def test_memory_changes_the_frame_features():
    # Cross-attention is the only path from the memories: other memories, other output.
    torch.manual_seed(17)
    model = mem.MemoryAttention(2, dim=8, mem_dim=4, mlp_dim=16).double()
    curr = torch.randn(1, 6, 8, dtype=torch.float64)
    memory = torch.randn(1, 5, 4, dtype=torch.float64)
    out = model(curr, torch.zeros_like(curr), memory, torch.zeros_like(memory))
    assert not torch.allclose(out, model(curr, torch.zeros_like(curr), -memory, 0 * memory))
    assert len(mem.MemoryAttention().layers) == 4  # SAM 2 / 2.1: num_layers 4


def test_memory_errors():
    with raises_naming(ValueError, "cond_frames", "frame_idx=3"):
        mem.memory_frame_slots(3, {3})
    with raises_naming(ValueError, "cond_frames"):
        mem.memory_frame_slots(3, set())
    with raises_naming(ValueError, "num_maskmem"):
        mem.memory_frame_slots(3, {0}, 0)
    with raises_naming(ValueError, "obj_ptrs", "mem_dim=64", "(1, 2, 100)"):
        mem.split_object_pointers(torch.zeros(1, 2, 100))
    with raises_naming(TypeError, "obj_ptrs", "torch.Tensor"):
        mem.split_object_pointers([[0.0] * 64])
    with raises_naming(ValueError, "num_heads", "dim=6"):
        mem.Attention(6, 6, 4)
    with raises_naming(ValueError, "num_layers"):
        mem.MemoryAttention(0)
    model = mem.MemoryAttention(1, dim=4, mem_dim=4, mlp_dim=4)
    with raises_naming(ValueError, "curr", "memory", "same B"):
        model(
            torch.zeros(1, 2, 4), torch.zeros(1, 2, 4), torch.zeros(2, 3, 4), torch.zeros(2, 3, 4)
        )
    with raises_naming(TypeError, "memory", "torch.Tensor", "list"):
        model(torch.zeros(1, 2, 4), torch.zeros(1, 2, 4), [[0.0]], torch.zeros(1, 1, 4))
