"""Tests for snippets/backbone/vit.py against timm (PatchEmbed, VisionTransformer, pos-embed)."""

from __future__ import annotations

import pytest
import timm
import torch
import torch.nn.functional as F
from hypothesis import given, settings
from hypothesis import strategies as st
from timm.layers import PatchEmbed as TimmPatchEmbed
from timm.layers import resample_abs_pos_embed as timm_resample
from timm.models.vision_transformer import VisionTransformer as TimmViT

from tests.support import assert_close, assert_equal, cases, raises_naming, under_test

impl = under_test("snippets.backbone.vit")


@pytest.fixture(autouse=True, scope="module")
def single_thread_torch():
    """Many tiny ops: thread hand-offs cost more than the work on a busy 2-core machine."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


# ------------------------------------------------------------------ patch embedding


def test_conv_patch_embed_equals_patchify_then_linear():
    """A Conv2d with kernel = stride = P is a Linear on flattened patches, once the conv weight
    [D, C, P, P] is reordered to the patch layout (row, column, channel): permute(0, 2, 3, 1)."""
    gen = torch.Generator().manual_seed(0)
    for _ in range(cases(300)):
        p = int(torch.randint(1, 9, (1,), generator=gen))
        c, d = (int(v) for v in torch.randint(1, 5, (2,), generator=gen))
        gh, gw = (int(v) for v in torch.randint(1, 6, (2,), generator=gen))
        imgs = torch.randn(2, c, gh * p, gw * p, generator=gen, dtype=torch.float64)
        conv = torch.nn.Conv2d(c, d, kernel_size=p, stride=p).double()
        linear = torch.nn.Linear(p * p * c, d).double()
        with torch.no_grad():
            linear.weight.copy_(conv.weight.permute(0, 2, 3, 1).reshape(d, -1))
            linear.bias.copy_(conv.bias)
            expected = conv(imgs).flatten(2).transpose(1, 2)  # [B, N, D]
            actual = linear(impl.patchify(imgs, p))
        assert_close(actual, expected, inputs={"p": p, "c": c, "grid": (gh, gw)}, atol=1e-12)


def test_plain_reshape_of_conv_weight_scrambles_channels():
    """The same test with conv.weight.reshape(D, -1) (channel-first order) must fail for C > 1:
    the order inside a flattened patch matters."""
    torch.manual_seed(1)
    conv = torch.nn.Conv2d(3, 8, kernel_size=4, stride=4).double()
    imgs = torch.randn(1, 3, 8, 8, dtype=torch.float64)
    with torch.no_grad():
        wrong = impl.patchify(imgs, 4) @ conv.weight.reshape(8, -1).T + conv.bias
        right = conv(imgs).flatten(2).transpose(1, 2)
    assert not torch.allclose(wrong, right)


def test_patchify_layout_by_hand():
    """2x2 image, 1 channel, P=1: four patches of one pixel, in raster order."""
    img = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])
    assert_equal(impl.patchify(img, 1), torch.tensor([[[1.0], [2.0], [3.0], [4.0]]]))
    # 1x2 image, 2 channels, P=1 per pixel: channel last inside the patch.
    img = torch.tensor([[[[1.0, 2.0]], [[10.0, 20.0]]]])
    assert_equal(impl.patchify(img, 1), torch.tensor([[[1.0, 10.0], [2.0, 20.0]]]))


def test_patch_embed_matches_timm():
    """Same weights (load_state_dict, strict) -> same tokens, on random configurations."""
    gen = torch.Generator().manual_seed(2)
    for _ in range(cases(100)):
        ph, pw = (int(v) for v in torch.randint(1, 9, (2,), generator=gen))
        h = ph * int(torch.randint(1, 6, (1,), generator=gen))
        w = pw * int(torch.randint(1, 6, (1,), generator=gen))
        c = int(torch.randint(1, 5, (1,), generator=gen))
        d = int(torch.randint(1, 17, (1,), generator=gen))
        ours = impl.PatchEmbed(img_size=(h, w), patch_size=(ph, pw), in_chans=c, embed_dim=d)
        theirs = TimmPatchEmbed(img_size=(h, w), patch_size=(ph, pw), in_chans=c, embed_dim=d)
        theirs.load_state_dict(ours.state_dict(), strict=True)
        x = torch.randn(3, c, h, w, generator=gen)
        assert ours.num_patches == theirs.num_patches and ours.grid_size == theirs.grid_size
        with torch.no_grad():
            assert_close(ours(x), theirs(x), inputs={"img": (h, w), "patch": (ph, pw)}, atol=1e-6)


def test_patch_embed_non_divisible_size_floors_like_timm():
    """img_size 30 with patch 8: timm keeps a 3x3 grid and ignores the last 6 rows/columns."""
    ours = impl.PatchEmbed(img_size=30, patch_size=8, in_chans=1, embed_dim=4)
    theirs = TimmPatchEmbed(img_size=30, patch_size=8, in_chans=1, embed_dim=4)
    theirs.load_state_dict(ours.state_dict())
    x = torch.randn(1, 1, 30, 30)
    assert ours.grid_size == (3, 3) == theirs.grid_size
    with torch.no_grad():
        assert_close(ours(x), theirs(x), atol=1e-6)


def test_token_counts():
    """224/16 = 14 -> 196 patches (+1 cls = 197); 384/16 = 24 -> 576 (+1 = 577)."""
    for img, grid in ((224, 14), (384, 24)):
        embed = impl.PatchEmbed(img_size=img, patch_size=16)
        assert embed.num_patches == grid * grid == TimmPatchEmbed(img_size=img).num_patches
    vit = impl.VisionTransformer(img_size=384, depth=0)
    assert vit.pos_embed.shape[1] == 577


def test_vit_b16_patch_embed_params_match_timm():
    """16*16*3*768 + 768 = 590,592, checked against timm's vit_base_patch16_224 (meta device:
    no memory, no download)."""
    with torch.device("meta"):
        timm_model = timm.create_model("vit_base_patch16_224", pretrained=False)
        ours = impl.VisionTransformer()
    count = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert count(timm_model.patch_embed) == 16 * 16 * 3 * 768 + 768 == 590_592
    assert count(impl.PatchEmbed()) == 590_592
    # The whole ViT-B/16 too: 86,567,656 parameters in both.
    assert count(ours) == count(timm_model)
    assert [k for k, _ in ours.named_parameters()] == [k for k, _ in timm_model.named_parameters()]


def test_patch_embed_errors():
    embed = impl.PatchEmbed(img_size=32, patch_size=8, in_chans=3, embed_dim=16)
    with raises_naming(ValueError, "input", "[B, 3, 32, 32]", "(1, 3, 32, 48)"):
        embed(torch.zeros(1, 3, 32, 48))
    with raises_naming(ValueError, "input", "[B, 3, 32, 32]", "(1, 1, 32, 32)"):
        embed(torch.zeros(1, 1, 32, 32))
    with raises_naming(ValueError, "input", "[B, 3, 32, 32]"):
        embed(torch.zeros(3, 32, 32))
    with raises_naming(ValueError, "patch_size", "positive"):
        impl.PatchEmbed(patch_size=0)
    with raises_naming(TypeError, "img_size", "pair"):
        impl.PatchEmbed(img_size=(224, 224, 3))
    with raises_naming(ValueError, "imgs", "divisible"):
        impl.patchify(torch.zeros(1, 3, 30, 32), 8)
    with raises_naming(ValueError, "imgs", "[B, C, H, W]"):
        impl.patchify(torch.zeros(3, 32, 32), 8)
    with raises_naming(ValueError, "dim=10", "num_heads=4"):
        impl.Attention(10, 4)


# ------------------------------------------------------------------ the whole ViT


def test_tiny_vit_matches_timm_with_same_weights():
    """Our blocks (pre-norm, fused qkv, GELU MLP, LayerNorm eps 1e-6, head on the class token)
    compute what timm's VisionTransformer computes, once the state dict is copied (strict)."""
    gen = torch.Generator().manual_seed(3)
    for depth, heads, dim, img, patch in ((1, 1, 8, 8, 4), (2, 4, 64, 32, 8), (3, 2, 32, 24, 6)):
        ours = impl.VisionTransformer(img_size=img, patch_size=patch, num_classes=7, embed_dim=dim,
                                      depth=depth, num_heads=heads).double()  # fmt: skip
        theirs = TimmViT(img_size=img, patch_size=patch, num_classes=7, embed_dim=dim, depth=depth,
                         num_heads=heads).double()  # fmt: skip
        theirs.load_state_dict(ours.state_dict(), strict=True)
        x = torch.randn(2, 3, img, img, generator=gen, dtype=torch.float64)
        with torch.no_grad():
            assert_close(ours.forward_features(x), theirs.forward_features(x), atol=1e-10)
            assert_close(ours(x), theirs(x), atol=1e-10, inputs={"depth": depth, "dim": dim})


def test_vit_class_token_and_position_embedding():
    """The class token is the first token, and it carries its own position-embedding row."""
    vit = impl.VisionTransformer(img_size=16, patch_size=8, num_classes=2, embed_dim=8,
                                 depth=0, num_heads=1)  # fmt: skip
    with torch.no_grad():
        tokens = torch.cat([vit.cls_token, vit.patch_embed(torch.zeros(1, 3, 16, 16))], 1)
        expected = vit.norm(tokens + vit.pos_embed)
        assert_close(vit.forward_features(torch.zeros(1, 3, 16, 16)), expected, atol=1e-6)


# --------------------------------------------------------- position-embedding resampling


def random_resample_case(gen: torch.Generator) -> dict:
    prefix = [0, 1, 5][int(torch.randint(0, 3, (1,), generator=gen))]
    square = bool(torch.randint(0, 2, (1,), generator=gen))
    oh = int(torch.randint(1, 15, (1,), generator=gen))
    ow = oh if square else int(torch.randint(1, 15, (1,), generator=gen))
    nh, nw = (int(v) for v in torch.randint(1, 25, (2,), generator=gen))
    dim = int(torch.randint(1, 33, (1,), generator=gen))
    dtypes = [torch.float32, torch.float64, torch.bfloat16]
    dtype = dtypes[int(torch.randint(0, 3, (1,), generator=gen))]
    return {
        "posemb": torch.randn(1, prefix + oh * ow, dim, generator=gen).to(dtype),
        "new_size": [nh, nw],
        "old_size": None if square and bool(torch.randint(0, 2, (1,), generator=gen)) else [oh, ow],
        "num_prefix_tokens": prefix,
        "interpolation": ["bilinear", "bicubic"][int(torch.randint(0, 2, (1,), generator=gen))],
        "antialias": bool(torch.randint(0, 2, (1,), generator=gen)),
    }


def test_resample_matches_timm_seeded_loop():
    """2000 seeded cases: grids 1..14 (square or not, old_size given or inferred), new sizes
    1..24 (up- and down-sampling, non-square), prefix 0/1/5, bilinear/bicubic, antialias on/off,
    float32/float64/bfloat16."""
    gen = torch.Generator().manual_seed(4)
    for _ in range(cases(2000)):
        case = random_resample_case(gen)
        expected = timm_resample(**case)
        actual = impl.resample_abs_pos_embed(**case)
        assert actual.dtype == expected.dtype
        shown = {k: (tuple(v.shape), v.dtype) if k == "posemb" else v for k, v in case.items()}
        # .float(): NumPy has no bfloat16; the cast is exact, the dtype was checked above.
        assert_close(actual.float(), expected.float(), inputs=shown, atol=1e-6, rtol=1e-6)


@settings(max_examples=cases(200))
@given(
    grid=st.integers(1, 12),
    new=st.tuples(st.integers(1, 20), st.integers(1, 20)),
    prefix=st.sampled_from([0, 1, 5]),
    mode=st.sampled_from(["bilinear", "bicubic"]),
    seed=st.integers(0, 2**31 - 1),
)
def test_resample_properties(grid, new, prefix, mode, seed):
    gen = torch.Generator().manual_seed(seed)
    posemb = torch.randn(1, prefix + grid * grid, 6, generator=gen)
    out = impl.resample_abs_pos_embed(posemb, new, num_prefix_tokens=prefix, interpolation=mode)
    assert out.shape == (1, prefix + new[0] * new[1], 6)
    # Prefix tokens ([class], registers) are copied, never interpolated.
    assert_equal(out[:, :prefix], posemb[:, :prefix])
    # A constant grid stays constant: interpolation weights sum to one.
    const = torch.cat([posemb[:, :prefix], torch.full((1, grid * grid, 6), 0.7)], dim=1)
    resized = impl.resample_abs_pos_embed(const, new, num_prefix_tokens=prefix, interpolation=mode)
    assert_close(resized[:, prefix:], torch.full_like(resized[:, prefix:], 0.7), atol=1e-5)


def test_resample_no_op_returns_input_object():
    """timm returns the very same tensor when there is nothing to do; so do we."""
    posemb = torch.randn(1, 1 + 49, 8)
    assert impl.resample_abs_pos_embed(posemb, [7, 7]) is posemb
    assert timm_resample(posemb, [7, 7]) is posemb
    grid = torch.randn(1, 4 * 6, 8)
    assert impl.resample_abs_pos_embed(grid, (4, 6), (4, 6), num_prefix_tokens=0) is grid
    # Same token count but a different shape (4x6 -> 6x4) is a real resize, not a no-op.
    swapped = impl.resample_abs_pos_embed(grid, (6, 4), (4, 6), num_prefix_tokens=0)
    assert swapped is not grid
    assert_close(swapped, timm_resample(grid, [6, 4], [4, 6], num_prefix_tokens=0), atol=1e-6)


def test_resample_integer_factor_bilinear_by_hand():
    """1x2 grid [0, 1] -> 1x4 with bilinear, no antialias, align_corners=False: sample points
    at (j + 0.5) / 2 - 0.5 = -0.25, 0.25, 0.75, 1.25, clamped to [0, 1] -> 0, 0.25, 0.75, 1."""
    posemb = torch.tensor([[[0.0], [1.0]]])
    out = impl.resample_abs_pos_embed(posemb, (1, 4), (1, 2), num_prefix_tokens=0,
                                      interpolation="bilinear", antialias=False)  # fmt: skip
    assert_close(out.flatten(), torch.tensor([0.0, 0.25, 0.75, 1.0]), atol=1e-7)


def test_bicubic_antialias_changes_upsampling_too():
    """antialias is not only about downsampling: torch's antialiased bicubic uses a different
    kernel, so the 14 -> 24 upsampling of a ViT-B/16 checkpoint differs with and without it."""
    posemb = torch.randn(1, 1 + 14 * 14, 16, generator=torch.Generator().manual_seed(5))
    with_aa = impl.resample_abs_pos_embed(posemb, (24, 24), antialias=True)
    without = impl.resample_abs_pos_embed(posemb, (24, 24), antialias=False)
    assert (with_aa - without).abs().max() > 1e-2
    # Bilinear upsampling: no difference beyond float rounding.
    bil = [impl.resample_abs_pos_embed(posemb, (24, 24), interpolation="bilinear", antialias=a)
           for a in (True, False)]  # fmt: skip
    assert_close(bil[0], bil[1], atol=1e-5)


def test_resample_errors():
    posemb = torch.randn(1, 1 + 49, 8)
    with raises_naming(ValueError, "posemb", "[1, num_prefix_tokens + H*W, D]"):
        impl.resample_abs_pos_embed(torch.randn(2, 50, 8), (8, 8))
    with raises_naming(ValueError, "posemb", "[1, num_prefix_tokens + H*W, D]"):
        impl.resample_abs_pos_embed(torch.randn(50, 8), (8, 8))
    with raises_naming(ValueError, "old_size", "square"):
        impl.resample_abs_pos_embed(posemb, (8, 8), num_prefix_tokens=0)  # 50 is not square
    with raises_naming(ValueError, "old_size", "49"):
        impl.resample_abs_pos_embed(posemb, (8, 8), old_size=(5, 5))
    with raises_naming(ValueError, "num_prefix_tokens"):
        impl.resample_abs_pos_embed(posemb, (8, 8), num_prefix_tokens=51)
    with raises_naming(ValueError, "new_size", "positive"):
        impl.resample_abs_pos_embed(posemb, (0, 8))
    with raises_naming(TypeError, "new_size", "pair"):
        impl.resample_abs_pos_embed(posemb, (8, 8, 8))
    with raises_naming(ValueError, "antialias", "nearest"):
        impl.resample_abs_pos_embed(posemb, (8, 8), interpolation="nearest")
    # With antialias off, nearest works and agrees with timm.
    out = impl.resample_abs_pos_embed(posemb, (8, 8), interpolation="nearest", antialias=False)
    ref = timm_resample(posemb, [8, 8], interpolation="nearest", antialias=False)
    assert_close(out, ref, atol=0)


def test_interpolate_nearest_with_antialias_raises_in_torch():
    """Why the check above exists: F.interpolate itself refuses antialias with nearest."""
    with pytest.raises(ValueError, match="Anti-alias"):
        F.interpolate(torch.zeros(1, 1, 2, 2), size=(4, 4), mode="nearest", antialias=True)


# ----------------------------------------------------------------------------- figures


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_figures(lang):
    import matplotlib.figure

    from figures.backbone import vit as figs

    for draw in (figs.draw_patch_tokens, figs.draw_pos_embed_resample):
        fig = draw(lang)
        assert isinstance(fig, matplotlib.figure.Figure)
        assert fig.axes


# ------------------------------------------------------------------ bad input (reliability review)


def test_non_tensor_inputs_are_type_errors_naming_the_argument():
    """Plain lists and NumPy arrays where a tensor belongs: TypeError naming the argument, not an
    AttributeError from deep inside."""
    import numpy as np

    as_list = torch.zeros(1, 3, 8, 8).tolist()
    for bad in (as_list, np.zeros((1, 3, 8, 8))):
        with raises_naming(TypeError, "imgs", "torch.Tensor"):
            impl.patchify(bad, 4)
        with raises_naming(TypeError, "input", "torch.Tensor"):
            impl.PatchEmbed(img_size=8, patch_size=4)(bad)
    with raises_naming(TypeError, "posemb", "torch.Tensor"):
        impl.resample_abs_pos_embed(torch.randn(1, 5, 4).tolist(), (3, 3))
    for module in (impl.Attention(8, 2), impl.Block(8, 2)):
        with raises_naming(TypeError, "x", "torch.Tensor"):
            module(np.zeros((1, 4, 8), dtype=np.float32))


def test_bad_sizes_and_options_name_the_argument():
    with raises_naming(ValueError, "patch_size"):
        impl.patchify(torch.zeros(1, 3, 8, 8), 0)  # was ZeroDivisionError
    with raises_naming(ValueError, "patch_size"):
        impl.patchify(torch.zeros(1, 3, 8, 8), -2)  # was an obscure reshape error
    with raises_naming(TypeError, "patch_size"):
        impl.patchify(torch.zeros(1, 3, 8, 8), (2, 4))
    with raises_naming(ValueError, "patch_size", "img_size"):
        impl.PatchEmbed(img_size=8, patch_size=16)  # was a 0x0 grid
    with raises_naming(ValueError, "depth"):
        impl.VisionTransformer(img_size=8, patch_size=4, embed_dim=8, depth=-1, num_heads=2)
    with raises_naming(ValueError, "hidden"):
        impl.Mlp(8, 0)
    with raises_naming(ValueError, "x", "[B, N, 8]", "(2, 5, 6)"):
        impl.Attention(8, 2)(torch.zeros(2, 5, 6))  # was a matmul RuntimeError
    with raises_naming(ValueError, "x", "[B, N, 8]", "(5, 8)"):
        impl.Block(8, 2)(torch.zeros(5, 8))  # was "not enough values to unpack"
    with raises_naming(ValueError, "interpolation", "'cubic'"):  # was NotImplementedError
        impl.resample_abs_pos_embed(torch.randn(1, 5, 4), (3, 3), interpolation="cubic")


def test_naive_attention_equals_sdpa():
    """The page's explicit softmax(q k^T / sqrt(d)) v is what F.scaled_dot_product_attention
    (timm's fused path) computes, on 50 seeded shapes in float64."""
    gen = torch.Generator().manual_seed(6)
    for _ in range(cases(50)):
        heads, d_head, n = (int(v) for v in torch.randint(1, 6, (3,), generator=gen))
        attn = impl.Attention(heads * d_head, heads).double()
        x = torch.randn(2, n, heads * d_head, generator=gen, dtype=torch.float64)
        with torch.no_grad():
            q, k, v = attn.qkv(x).reshape(2, n, 3, heads, d_head).permute(2, 0, 3, 1, 4).unbind(0)
            fused = F.scaled_dot_product_attention(q, k, v).transpose(1, 2).reshape(2, n, -1)
            assert_close(attn(x), attn.proj(fused), atol=1e-12, inputs={"heads": heads, "n": n})
