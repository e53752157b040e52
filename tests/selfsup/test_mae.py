"""Tests for snippets/selfsup/mae.py.

References: ``F.unfold`` / ``F.fold`` (patch layout), timm's ``Block`` and
``build_sincos2d_pos_embed``, ``torch.utils.flop_counter.FlopCounterMode`` (FLOPs), explicit loops
and hand computations in comments.
"""

from __future__ import annotations

import math
from functools import partial

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from matplotlib.figure import Figure
from timm.layers.pos_embed_sincos import build_sincos2d_pos_embed
from timm.models.vision_transformer import Block as TimmBlock
from torch.utils.flop_counter import FlopCounterMode

from tests.support import assert_close, assert_equal, cases, raises_naming, under_test

impl = under_test("snippets.selfsup.mae")


def unfold_reference(imgs, p):
    """MAE layout from F.unfold: unfold gives (c, u, v) per patch; MAE wants (u, v, c)."""
    n, c = imgs.shape[:2]
    cols = F.unfold(imgs, kernel_size=p, stride=p)  # [N, C*p*p, L], row-major patches
    length = cols.shape[-1]
    return (
        cols.transpose(1, 2)
        .reshape(n, length, c, p, p)
        .permute(0, 1, 3, 4, 2)
        .reshape(n, length, -1)
    )


# ------------------------------------------------------------------ patchify


@pytest.mark.parametrize("fn", ["patchify", "patchify_naive"])
def test_patchify_matches_unfold_on_1000_random_images(fn):
    g = torch.Generator().manual_seed(0)
    for _ in range(cases(1000)):
        p = int(torch.randint(1, 6, (1,), generator=g))
        grid = int(torch.randint(1, 5, (1,), generator=g))
        n, c = (
            int(torch.randint(1, 3, (1,), generator=g)),
            int(torch.randint(1, 4, (1,), generator=g)),
        )
        imgs = torch.randn(n, c, grid * p, grid * p, generator=g)
        assert_equal(
            getattr(impl, fn)(imgs, p),
            unfold_reference(imgs, p),
            inputs={"p": p, "shape": imgs.shape},
        )


def test_patchify_layout_by_explicit_indexing():
    # Independent of the code's einsum: element [n, i*g + j, (u*p + v)*C + c] = imgs[n, c, i*p+u, j*p+v].
    g = torch.Generator().manual_seed(1)
    p, grid, c = 3, 4, 3
    imgs = torch.randn(2, c, grid * p, grid * p, generator=g)
    out = impl.patchify(imgs, p)
    assert out.shape == (2, grid * grid, p * p * c)
    for n in range(2):
        for i in range(grid):
            for j in range(grid):
                for u in range(p):
                    for v in range(p):
                        for ch in range(c):
                            assert (
                                out[n, i * grid + j, (u * p + v) * c + ch]
                                == imgs[n, ch, i * p + u, j * p + v]
                            )


def test_unpatchify_matches_fold_and_round_trips():
    g = torch.Generator().manual_seed(2)
    for _ in range(cases(300)):
        p = int(torch.randint(1, 6, (1,), generator=g))
        grid = int(torch.randint(1, 5, (1,), generator=g))
        c = int(torch.randint(1, 4, (1,), generator=g))
        imgs = torch.randn(2, c, grid * p, grid * p, generator=g)
        x = impl.patchify(imgs, p)
        assert_equal(impl.unpatchify(x, p), imgs)
        # F.fold is the library inverse of F.unfold (non-overlapping windows: no summing)
        cols = x.reshape(2, grid * grid, p, p, c).permute(0, 4, 2, 3, 1).reshape(2, c * p * p, -1)
        assert_equal(impl.unpatchify(x, p), F.fold(cols, (grid * p, grid * p), p, stride=p))


@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 3), st.integers(0, 2**31 - 1))
def test_round_trip_property(p, grid, c, seed):
    x = torch.randn(1, grid * grid, p * p * c, generator=torch.Generator().manual_seed(seed))
    assert_equal(impl.patchify(impl.unpatchify(x, p), p), x)


def test_patchify_rejects_bad_images():
    for fn in (impl.patchify, impl.patchify_naive):
        with raises_naming(ValueError, "imgs", "p=16"):
            fn(torch.zeros(1, 3, 225, 225), 16)  # not divisible
        with raises_naming(ValueError, "imgs", "H = W"):
            fn(torch.zeros(1, 3, 224, 192), 16)  # not square
        with raises_naming(ValueError, "imgs", "[N, C, H, W]"):
            fn(torch.zeros(3, 224, 224), 16)
        with raises_naming(ValueError, "p"):
            fn(torch.zeros(1, 3, 4, 4), 0)
        with raises_naming(TypeError, "imgs"):
            fn(np.zeros((1, 3, 4, 4)), 2)
    with raises_naming(ValueError, "x", "[N, L, p*p*C]"):
        impl.unpatchify(torch.zeros(1, 196), 16)
    with raises_naming(ValueError, "square", "L=5"):
        impl.unpatchify(torch.zeros(1, 5, 12), 2)
    with raises_naming(ValueError, "p*p*C"):
        impl.unpatchify(torch.zeros(1, 4, 10), 2)


# ------------------------------------------------------------------ random masking


def test_masking_keeps_49_of_196_and_conventions_hold():
    g = torch.Generator().manual_seed(3)
    x = torch.randn(4, 196, 8, generator=g)
    kept, mask, _ = impl.random_masking(x, 0.75, g)
    assert kept.shape == (4, 49, 8)  # int(196 * 0.25) = 49
    assert_equal(mask.sum(dim=1), torch.full((4,), 147.0))
    assert set(mask.unique().tolist()) == {0.0, 1.0}
    for b in range(4):
        kept_positions = torch.nonzero(mask[b] == 0).flatten()
        # every kept token is a row of x at a position the mask marks 0 (0 = keep)
        for row in kept[b]:
            matches = torch.nonzero((x[b] == row).all(dim=1)).flatten()
            assert len(matches) == 1 and int(matches[0]) in kept_positions.tolist()


def test_ids_restore_restores_the_original_order():
    g = torch.Generator().manual_seed(4)
    for _ in range(cases(200)):
        n, length, d = 2, int(torch.randint(1, 50, (1,), generator=g)), 3
        ratio = float(torch.rand(1, generator=g)) * 0.99
        x = torch.randn(n, length, d, generator=g)
        kept, mask, ids_restore = impl.random_masking(x, ratio, g)
        assert kept.shape[1] == int(length * (1 - ratio))
        assert_equal(torch.sort(ids_restore, dim=1).values, torch.arange(length).expand(n, -1))
        # fill removed slots with a marker, unshuffle: kept tokens return to their own positions
        filler = torch.full((n, length - kept.shape[1], d), float("nan"))
        restored = torch.gather(
            torch.cat([kept, filler], 1), 1, ids_restore.unsqueeze(-1).expand(-1, -1, d)
        )
        visible = mask == 0
        assert_equal(restored[visible], x[visible])
        assert bool(torch.isnan(restored[~visible]).all())


def test_masking_is_reproducible_with_a_generator():
    x = torch.randn(2, 16, 4)
    a = impl.random_masking(x, 0.5, torch.Generator().manual_seed(7))
    b = impl.random_masking(x, 0.5, torch.Generator().manual_seed(7))
    c = impl.random_masking(x, 0.5, torch.Generator().manual_seed(8))
    for t1, t2 in zip(a, b, strict=True):
        assert_equal(t1, t2)
    assert not torch.equal(a[1], c[1])


def test_masking_ratio_zero_keeps_everything():
    x = torch.randn(1, 10, 2)
    kept, mask, _ = impl.random_masking(x, 0.0, torch.Generator().manual_seed(0))
    assert kept.shape == (1, 10, 2) and float(mask.sum()) == 0.0


def test_masking_rejects_bad_input():
    with raises_naming(ValueError, "mask_ratio", "[0, 1)"):
        impl.random_masking(torch.zeros(1, 4, 2), 1.0)
    with raises_naming(ValueError, "mask_ratio"):
        impl.random_masking(torch.zeros(1, 4, 2), -0.1)
    with raises_naming(ValueError, "x", "[N, L, D]"):
        impl.random_masking(torch.zeros(4, 2), 0.5)


# ------------------------------------------------------------------ sin-cos position embedding


def test_sincos_values_by_hand():
    d, grid = 8, 3
    pe = impl.get_2d_sincos_pos_embed(d, grid)
    assert pe.shape == (9, 8)
    omega = [1.0, 1.0 / 10000**0.5]  # 1 / 10000**(k / (d/4)), k = 0, 1
    for i in range(grid):  # row (y)
        for j in range(grid):  # column (x)
            want = (
                [math.sin(j * w) for w in omega]
                + [math.cos(j * w) for w in omega]
                + [math.sin(i * w) for w in omega]
                + [math.cos(i * w) for w in omega]
            )
            assert_close(pe[i * grid + j], want, atol=1e-12, inputs={"row": i, "col": j})
    with_cls = impl.get_2d_sincos_pos_embed(d, grid, cls_token=True)
    assert with_cls.shape == (10, 8) and np.all(with_cls[0] == 0)
    assert_close(with_cls[1:], pe)


@pytest.mark.parametrize(("dim", "grid"), [(8, 3), (64, 14), (768, 14), (1024, 16)])
def test_sincos_matches_timm_up_to_block_order(dim, grid):
    # timm lays channels out as [sin y, sin x, cos y, cos x] (blocks of dim/4); MAE as
    # [sin x, cos x, sin y, cos y]: same numbers, permuted blocks.
    t = build_sincos2d_pos_embed([grid, grid], dim=dim).double().numpy()
    q = dim // 4
    sin_y, sin_x, cos_y, cos_x = (t[:, k * q : (k + 1) * q] for k in range(4))
    want = np.concatenate([sin_x, cos_x, sin_y, cos_y], axis=1)
    assert_close(impl.get_2d_sincos_pos_embed(dim, grid), want, atol=1e-5)


def test_sincos_properties_and_errors():
    pe = impl.get_2d_sincos_pos_embed(64, 14)
    assert np.all(np.abs(pe) <= 1.0)
    # sin^2 + cos^2 = 1 for each of the 64 / 2 = 32 (sin, cos) pairs: every row has norm sqrt(32)
    assert_close(np.linalg.norm(pe, axis=1), np.full(196, math.sqrt(32)))
    assert len(np.unique(np.round(pe, 8), axis=0)) == 196  # every position distinct
    with raises_naming(ValueError, "embed_dim", "4"):
        impl.get_2d_sincos_pos_embed(6, 4)
    with raises_naming(ValueError, "grid_size"):
        impl.get_2d_sincos_pos_embed(8, 0)


# ------------------------------------------------------------------ loss


def _loss_case(seed, norm_pix):
    g = torch.Generator().manual_seed(seed)
    imgs = torch.randn(2, 3, 8, 8, generator=g)
    pred = torch.randn(2, 4, 48, generator=g)
    _, mask, _ = impl.random_masking(torch.zeros(2, 4, 1), 0.5, g)
    return imgs, pred, mask


@pytest.mark.parametrize("norm_pix", [False, True])
def test_loss_ignores_visible_patches_and_sees_masked_ones(norm_pix):
    for seed in range(cases(50)):
        imgs, pred, mask = _loss_case(seed, norm_pix)
        base = impl.forward_loss(imgs, pred, mask, 4, norm_pix)
        visible, masked = mask == 0, mask == 1
        changed = pred.clone()
        changed[visible] += 100.0
        assert_close(impl.forward_loss(imgs, changed, mask, 4, norm_pix), base, atol=1e-6)
        changed = pred.clone()
        changed[masked] += 1.0
        assert not torch.isclose(impl.forward_loss(imgs, changed, mask, 4, norm_pix), base)


def test_loss_equals_explicit_average_over_masked_patches():
    g = torch.Generator().manual_seed(5)
    for _ in range(cases(200)):
        imgs, pred, mask = _loss_case(int(torch.randint(0, 10**6, (1,), generator=g)), False)
        target = impl.patchify(imgs, 4)
        per_patch = [
            F.mse_loss(pred[n, i], target[n, i])
            for n in range(2)
            for i in range(4)
            if mask[n, i] == 1
        ]
        assert_close(
            impl.forward_loss(imgs, pred, mask, 4), torch.stack(per_patch).mean(), atol=1e-6
        )


def test_norm_pix_loss_normalises_each_patch():
    g = torch.Generator().manual_seed(6)
    imgs = torch.randn(1, 3, 8, 8, generator=g) * 5 + 3
    target = impl.patchify(imgs, 4)
    # the loss of predicting the normalised patch exactly is 0 ...
    normed = (target - target.mean(-1, keepdim=True)) / (target.var(-1, keepdim=True) + 1e-6).sqrt()
    mask = torch.ones(1, 4)
    assert float(impl.forward_loss(imgs, normed, mask, 4, norm_pix_loss=True)) < 1e-10
    # ... each normalised patch has mean 0 and unbiased variance ~1
    assert_close(normed.mean(-1), torch.zeros(1, 4), atol=1e-5)
    assert_close(normed.var(-1), torch.ones(1, 4), atol=1e-4)
    # predicting zeros then costs the mean squared normalised value: (P - 1) / P with P = 48 values
    zeros = torch.zeros_like(target)
    assert_close(impl.forward_loss(imgs, zeros, mask, 4, norm_pix_loss=True), 47 / 48, atol=1e-5)
    # an image shifted and scaled per patch gives the same normalised target
    assert_close(
        impl.forward_loss(imgs * 2 + 7, zeros, mask, 4, norm_pix_loss=True),
        impl.forward_loss(imgs, zeros, mask, 4, norm_pix_loss=True),
        atol=1e-5,
    )


def test_loss_rejects_bad_shapes():
    imgs = torch.zeros(1, 3, 8, 8)
    with raises_naming(ValueError, "pred", "[N, L, p*p*C]"):
        impl.forward_loss(imgs, torch.zeros(1, 4, 47), torch.ones(1, 4), 4)
    with raises_naming(ValueError, "mask", "[N, L]"):
        impl.forward_loss(imgs, torch.zeros(1, 4, 48), torch.ones(4), 4)


# ------------------------------------------------------------------ tiny MAE


def test_block_matches_timm_block():
    torch.manual_seed(0)
    ours = impl.Block(32, 4)
    theirs = TimmBlock(
        32, 4, mlp_ratio=4.0, qkv_bias=True, norm_layer=partial(torch.nn.LayerNorm, eps=1e-6)
    )
    theirs.load_state_dict(ours.state_dict())  # same parameter names and shapes
    x = torch.randn(3, 10, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        assert_close(ours(x), theirs(x), atol=1e-5)


def test_tiny_mae_shapes_mask_and_fixed_position_embedding():
    model = impl.TinyMAE(norm_pix_loss=True)
    imgs = torch.randn(2, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    loss, pred, mask = model(imgs, generator=torch.Generator().manual_seed(1))
    assert pred.shape == (2, 64, 48) and mask.shape == (2, 64)
    assert_equal(mask.sum(1), torch.full((2,), 48.0))  # 75% of 64
    latent, _, _ = model.forward_encoder(imgs, 0.75, torch.Generator().manual_seed(1))
    assert latent.shape == (2, 1 + 16, 64)  # the encoder saw 16 visible patches + [CLS]
    names = {n for n, _ in model.named_parameters()}
    assert "pos_embed" not in names and "decoder_pos_embed" not in names  # fixed, not learned
    assert_close(
        model.pos_embed[0].double(), impl.get_2d_sincos_pos_embed(64, 8, cls_token=True), atol=1e-6
    )
    assert_close(loss, impl.forward_loss(imgs, pred, mask, 4, True), atol=1e-6)
    loss.backward()
    assert model.mask_token.grad is not None and model.mask_token.grad.abs().sum() > 0


def test_encoder_output_does_not_depend_on_masked_patches():
    model = impl.TinyMAE().eval()
    imgs = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(2))
    latent1, mask, _ = model.forward_encoder(imgs, 0.75, torch.Generator().manual_seed(3))
    # overwrite every removed patch with noise; the encoder never sees them
    noisy = impl.patchify(imgs, 4)
    noisy[mask == 1] = torch.randn(int(mask.sum()), 48, generator=torch.Generator().manual_seed(4))
    latent2, _, _ = model.forward_encoder(
        impl.unpatchify(noisy, 4), 0.75, torch.Generator().manual_seed(3)
    )
    assert_close(latent1, latent2, atol=1e-6)


# ------------------------------------------------------------------ FLOPs


@pytest.mark.parametrize(
    ("img", "p", "dim", "depth", "ratio"),
    [(32, 4, 64, 2, 0.75), (32, 4, 64, 2, 0.0), (32, 4, 64, 3, 0.5), (224, 16, 192, 1, 0.75)],
)
def test_flop_formula_matches_flop_counter(img, p, dim, depth, ratio):
    model = impl.TinyMAE(img_size=img, patch_size=p, embed_dim=dim, depth=depth, num_heads=4)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model.forward_encoder(torch.zeros(1, 3, img, img), ratio, torch.Generator().manual_seed(0))
    want = impl.mae_encoder_flops((img // p) ** 2, ratio, dim, depth, p * p * 3)
    assert counter.get_total_flops() == want


def test_encoder_flops_at_75_percent_masking():
    # Measured on a 2-block ViT-B-width encoder (224 input, patch 16): 196 patches, 49 kept.
    # Tokens n0 = 197, n1 = 50. Per block, linear layers cost 24 n D^2 and attention 4 n^2 D, so the
    # block ratio is n1 (6D + n1) / (n0 (6D + n0)), between (n1/n0)^2 = 0.064 and n1/n0 = 0.254;
    # with D = 768 it is 0.246. The patch embedding (all 196 patches) costs the same in both runs
    # and lifts the ratio: with 2 blocks it lands between 0.25 and 0.30, with 12 blocks at 0.251.
    n0, n1, d = 197, 50, 768
    r_blocks = n1 * (6 * d + n1) / (n0 * (6 * d + n0))
    assert (n1 / n0) ** 2 < r_blocks < n1 / n0
    model = impl.TinyMAE(img_size=224, patch_size=16, embed_dim=d, depth=2, num_heads=12)
    flops = {}
    for ratio in (0.0, 0.75):
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            model.forward_encoder(
                torch.zeros(1, 3, 224, 224), ratio, torch.Generator().manual_seed(0)
            )
        flops[ratio] = counter.get_total_flops()
    measured = flops[0.75] / flops[0.0]
    assert 0.25 < measured < 0.30
    assert r_blocks < measured
    vit_b = impl.mae_encoder_flops(196, 0.75, d, 12, 768) / impl.mae_encoder_flops(
        196, 0.0, d, 12, 768
    )
    assert r_blocks < vit_b < n1 / n0 + 0.01


@pytest.mark.parametrize("ratio", [0.0, 0.75])
def test_pretrain_flop_formula_matches_flop_counter(ratio):
    model = impl.TinyMAE(
        img_size=32, patch_size=4, embed_dim=64, depth=2, decoder_embed_dim=32, decoder_depth=2
    )
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model(torch.zeros(1, 3, 32, 32), ratio, torch.Generator().manual_seed(0))
    want = impl.mae_pretrain_flops(64, ratio, 64, 2, 48, decoder_dim=32, decoder_depth=2)
    assert counter.get_total_flops() == want


def test_tiny_mae_rejects_bad_config():
    with raises_naming(ValueError, "img_size", "patch_size"):
        impl.TinyMAE(img_size=30, patch_size=4)
    with raises_naming(ValueError, "num_heads"):
        impl.Block(30, 4)


# ------------------------------------------------------------------ figure


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_figure_builds(lang):
    from figures.selfsup.mae import draw_masking

    fig = draw_masking(lang)
    assert isinstance(fig, Figure) and len(fig.axes) == 4


# ------------------------------------------------------------------ review fixes


def test_loss_with_nothing_masked_is_zero_not_nan():
    imgs = torch.randn(2, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    pred = torch.randn(2, 4, 48, generator=torch.Generator().manual_seed(1))
    loss = impl.forward_loss(imgs, pred, torch.zeros(2, 4), 4)  # MAE: 0 / 0 = nan
    assert float(loss) == 0.0
    with raises_naming(TypeError, "mask", "torch.Tensor"):
        impl.forward_loss(imgs, pred, [[0.0] * 4] * 2, 4)
    with raises_naming(TypeError, "pred", "torch.Tensor"):
        impl.forward_loss(imgs, pred.numpy(), torch.zeros(2, 4), 4)


def test_flop_formulas_reject_negative_sizes_and_ratios_outside_0_1():
    with raises_naming(ValueError, "mask_ratio", "[0, 1]"):
        impl.mae_encoder_flops(196, 1.5, 768, 12, 768)  # was a negative count
    with raises_naming(ValueError, "mask_ratio", "[0, 1]"):
        impl.mae_pretrain_flops(196, -1.0, 768, 12, 768)
    with raises_naming(ValueError, "num_patches", ">= 0"):
        impl.mae_encoder_flops(-196, 0.75, 768, 12, 768)
    with raises_naming(ValueError, "decoder_depth", ">= 0"):
        impl.mae_pretrain_flops(196, 0.75, 768, 12, 768, decoder_depth=-1)
    with raises_naming(TypeError, "dim", "number"):
        impl.blocks_flops(197, "768", 12)


def test_fine_tuning_position_embeddings_are_learnable_in_timm():
    # MAE pre-training: fixed (a buffer here; a Parameter with requires_grad=False in MAE).
    mae = impl.TinyMAE(img_size=16, patch_size=4, embed_dim=16, depth=1, num_heads=2)
    assert not mae.pos_embed.requires_grad
    # Fine-tuning (main_finetune.py) builds models_vit.VisionTransformer, a subclass of timm's
    # VisionTransformer, and loads the sin-cos table into its learnable pos_embed.
    from timm.models.vision_transformer import VisionTransformer

    vit = VisionTransformer(img_size=16, patch_size=4, embed_dim=16, depth=1, num_heads=2)
    with torch.no_grad():
        vit.pos_embed.copy_(mae.pos_embed)
    before = vit.pos_embed.detach().clone()
    opt = torch.optim.SGD(vit.parameters(), lr=0.1)
    vit(torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(0))).sum().backward()
    opt.step()
    assert vit.pos_embed.requires_grad and not torch.equal(vit.pos_embed, before)


def test_tiny_mae_names_the_image_shape_it_expects():
    model = impl.TinyMAE(img_size=16, patch_size=4, embed_dim=16, depth=1, num_heads=2)
    with raises_naming(ValueError, "imgs", "[N, 3, 16, 16]"):
        model(torch.zeros(1, 3, 32, 32))  # was a RuntimeError from the position-table addition
    with raises_naming(ValueError, "imgs", "[N, 3, 16, 16]"):
        model(torch.zeros(1, 1, 16, 16))  # was a RuntimeError from the convolution
    with raises_naming(TypeError, "imgs", "torch.Tensor"):
        model(np.zeros((1, 3, 16, 16), dtype=np.float32))


def test_sincos_rejects_float_grid_and_empty_embedding():
    with raises_naming(TypeError, "grid_size", "int"):
        impl.get_2d_sincos_pos_embed(8, 2.5)  # was a 9-row table
    with raises_naming(ValueError, "embed_dim", "> 0"):
        impl.get_2d_sincos_pos_embed(0, 4)  # was an empty array
    with raises_naming(ValueError, "embed_dim", "> 0"):
        impl.get_2d_sincos_pos_embed(-4, 4)
