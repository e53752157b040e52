"""1x1 conv vs Linear: equal after moving channels last, different after a plain reshape."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from torch import nn

from tests.support import assert_close, assert_equal, cases, raises_naming, under_test

impl = under_test("snippets.backbone.conv1x1")


def random_case(gen: torch.Generator, with_bias: bool = True) -> tuple:
    def r(lo: int, hi: int) -> int:
        return int(torch.randint(lo, hi + 1, (1,), generator=gen))

    b, c, h, w, d = r(1, 3), r(1, 16), r(1, 9), r(1, 9), r(1, 16)
    x = torch.randn(b, c, h, w, generator=gen, dtype=torch.float64)
    weight = torch.randn(d, c, generator=gen, dtype=torch.float64)
    bias = torch.randn(d, generator=gen, dtype=torch.float64) if with_bias else None
    return x, weight, bias


def test_four_ways_equal_f_conv2d_on_1000_random_shapes():
    gen = torch.Generator().manual_seed(0)
    for trial in range(cases(1000)):
        x, weight, bias = random_case(gen, with_bias=trial % 2 == 0)
        expected = F.conv2d(x, weight[:, :, None, None], bias)
        inputs = {"x.shape": tuple(x.shape), "weight.shape": tuple(weight.shape)}
        assert_close(impl.conv1x1_via_linear(x, weight, bias), expected, inputs=inputs, atol=1e-12)
        assert_close(impl.conv1x1_naive(x, weight, bias), expected, inputs=inputs, atol=1e-12)
        # W @ x.flatten(2): reshape(B, C, H*W) keeps C in place, so no permute is needed.
        assert_close(impl.conv1x1_via_matmul(x, weight, bias), expected, inputs=inputs, atol=1e-12)
        # flatten(2).transpose(1, 2) is the other correct route (timm's PatchEmbed uses it).
        tokens = F.linear(impl.to_tokens(x), weight, bias)  # [B, H*W, D]
        b, _, h, w = x.shape
        assert_close(
            tokens.transpose(1, 2).reshape(b, -1, h, w), expected, inputs=inputs, atol=1e-12
        )


def test_nn_modules_with_shared_weights_agree():
    gen = torch.Generator().manual_seed(1)
    for _ in range(cases(200)):
        x, weight, bias = random_case(gen)
        d, c = weight.shape
        conv = nn.Conv2d(c, d, 1, dtype=torch.float64)
        linear = nn.Linear(c, d, dtype=torch.float64)
        with torch.no_grad():
            conv.weight.copy_(weight[:, :, None, None])
            conv.bias.copy_(bias)
            linear.weight.copy_(
                conv.weight.flatten(1)
            )  # the weights are literally the same numbers
            linear.bias.copy_(conv.bias)
        assert_close(linear(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2), conv(x), atol=1e-12)


def test_plain_reshape_gives_a_different_result():
    """The widely repeated recipe: reshape [B, C, H, W] -> [B, H*W, C], then Linear."""
    gen = torch.Generator().manual_seed(2)
    differing = 0
    for _ in range(cases(500)):
        x, weight, bias = random_case(gen)
        b, c, h, w = x.shape
        right = F.linear(impl.to_tokens(x), weight, bias)
        wrong = F.linear(impl.to_tokens_wrong(x), weight, bias)
        assert wrong.shape == right.shape  # same shape: nothing warns you
        if c > 1 and h * w > 1:
            assert not torch.allclose(wrong, right), (b, c, h, w)
            differing += 1
        else:  # with one channel or one pixel both orders coincide
            assert_close(wrong, right, atol=0)
    assert differing > cases(500) * 0.8  # 400 of the 500 shapes


def test_reshape_token_zero_is_channel_zero_values():
    # Hand check on x = arange: channel c of a 2x2 map holds 4c .. 4c+3.
    x = torch.arange(12).reshape(1, 3, 2, 2)
    assert_equal(impl.to_tokens(x)[0], torch.tensor([[0, 4, 8], [1, 5, 9], [2, 6, 10], [3, 7, 11]]))
    assert_equal(
        impl.to_tokens_wrong(x)[0], torch.tensor([[0, 1, 2], [3, 4, 5], [6, 7, 8], [9, 10, 11]])
    )


@given(
    st.lists(st.integers(1, 4), min_size=0, max_size=4),
    st.integers(1, 8),
    st.integers(1, 8),
    st.booleans(),
    st.integers(0, 2**31 - 1),
)
def test_linear_acts_on_the_last_dim_of_any_shape(lead, c, d, with_bias, seed):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(*lead, c, generator=gen, dtype=torch.float64)
    weight = torch.randn(d, c, generator=gen, dtype=torch.float64)
    bias = torch.randn(d, generator=gen, dtype=torch.float64) if with_bias else None
    linear = nn.Linear(c, d, bias=with_bias, dtype=torch.float64)
    with torch.no_grad():
        linear.weight.copy_(weight)
        if with_bias:
            linear.bias.copy_(bias)
    expected = linear(x)  # nn.Linear accepts (*, H_in), not only [N, H_in]
    assert expected.shape == (*lead, d)
    assert_close(impl.linear_last_dim(x, weight, bias), expected, atol=1e-12)


# ----------------------------------------------------------------- when they are NOT the same


def test_padding_adds_a_border_of_bias_only_outputs():
    gen = torch.Generator().manual_seed(3)
    x, weight, bias = random_case(gen)
    conv = nn.Conv2d(weight.shape[1], weight.shape[0], 1, padding=1, dtype=torch.float64)
    with torch.no_grad():
        conv.weight.copy_(weight[:, :, None, None])
        conv.bias.copy_(bias)
    y = conv(x)
    b, d = x.shape[0], weight.shape[0]
    assert y.shape[-2:] == (x.shape[2] + 2, x.shape[3] + 2)
    border = bias[None, :].expand(b, d)
    for edge in (y[:, :, 0, :], y[:, :, -1, :], y[:, :, :, 0], y[:, :, :, -1]):
        assert_close(edge, border[:, :, None].expand_as(edge), atol=1e-12)
    assert_close(y[:, :, 1:-1, 1:-1], impl.conv1x1_via_linear(x, weight, bias), atol=1e-12)


@pytest.mark.parametrize("stride", [2, 3])
def test_stride_is_subsampling_then_linear(stride):
    gen = torch.Generator().manual_seed(4)
    for _ in range(cases(100)):
        x, weight, bias = random_case(gen)
        expected = F.conv2d(x, weight[:, :, None, None], bias, stride=stride)
        got = impl.conv1x1_via_linear(x[:, :, ::stride, ::stride], weight, bias)
        assert_close(got, expected, atol=1e-12)


def test_groups_make_a_block_diagonal_linear():
    gen = torch.Generator().manual_seed(5)
    for groups in (2, 4):
        c, d = 4 * groups, 2 * groups
        x = torch.randn(2, c, 5, 6, generator=gen, dtype=torch.float64)
        w_grouped = torch.randn(d, c // groups, 1, 1, generator=gen, dtype=torch.float64)
        expected = F.conv2d(x, w_grouped, groups=groups)
        dense = torch.block_diag(
            *w_grouped[:, :, 0, 0].split(d // groups)
        )  # [D, C], zeros off-block
        assert dense.shape == (d, c)
        assert_close(impl.conv1x1_via_linear(x, dense), expected, atol=1e-12)
        # A dense Linear has groups times more weights than the grouped conv.
        assert dense.numel() == groups * w_grouped.numel()


def test_parameter_counts_match():
    for c, d in [(3, 8), (64, 256), (768, 3072)]:
        n_conv = sum(p.numel() for p in nn.Conv2d(c, d, 1, device="meta").parameters())
        n_linear = sum(p.numel() for p in nn.Linear(c, d, device="meta").parameters())
        assert n_conv == n_linear == (c + 1) * d


# ----------------------------------------------------------------- BN folding


def random_bn(gen: torch.Generator, d: int, affine: bool) -> nn.BatchNorm2d:
    bn = nn.BatchNorm2d(d, eps=float(torch.rand(1, generator=gen)) * 1e-3, affine=affine)
    bn = bn.double().eval()
    with torch.no_grad():
        bn.running_mean.copy_(torch.randn(d, generator=gen, dtype=torch.float64))
        bn.running_var.copy_(torch.rand(d, generator=gen, dtype=torch.float64) + 0.1)
        if affine:
            bn.weight.copy_(torch.randn(d, generator=gen, dtype=torch.float64))
            bn.bias.copy_(torch.randn(d, generator=gen, dtype=torch.float64))
    return bn


def test_fold_bn_equals_conv_then_bn_and_torch_fusion():
    gen = torch.Generator().manual_seed(6)
    for trial in range(cases(200)):
        x, weight, bias = random_case(gen, with_bias=trial % 2 == 0)
        bn = random_bn(gen, weight.shape[0], affine=trial % 3 != 0)
        inputs = {"trial": trial, "x.shape": tuple(x.shape), "bias": bias is not None}
        w, b = impl.fold_bn(weight, bias, bn)
        expected = bn(F.conv2d(x, weight[:, :, None, None], bias))
        assert_close(impl.conv1x1_via_linear(x, w, b), expected, atol=1e-10, inputs=inputs)
        # The library's own folding (torch.nn.utils.fusion) gives the same numbers.
        ref_w, ref_b = torch.nn.utils.fusion.fuse_conv_bn_weights(
            weight[:, :, None, None], bias, bn.running_mean, bn.running_var, bn.eps,
            bn.weight, bn.bias,
        )  # fmt: skip
        assert_close(w, ref_w.flatten(1), atol=1e-12, inputs=inputs)
        assert_close(b, ref_b, atol=1e-12, inputs=inputs)


def test_fold_bn_works_for_a_3x3_kernel_too():
    gen = torch.Generator().manual_seed(7)
    weight = torch.randn(5, 3, 3, 3, generator=gen, dtype=torch.float64)
    bn = random_bn(gen, 5, affine=True)
    x = torch.randn(2, 3, 8, 8, generator=gen, dtype=torch.float64)
    w, b = impl.fold_bn(weight, None, bn)
    assert_close(F.conv2d(x, w, b), bn(F.conv2d(x, weight)), atol=1e-10)


# ----------------------------------------------------------------- errors


def test_errors():
    x = torch.zeros(1, 3, 4, 4)
    with raises_naming(ValueError, "x", "[B, C, H, W]"):
        impl.conv1x1_via_linear(torch.zeros(3, 4, 4), torch.zeros(2, 3))
    with raises_naming(ValueError, "weight", "[D, C]"):
        impl.conv1x1_via_linear(x, torch.zeros(2, 4))
    with raises_naming(ValueError, "weight", "[D, C]"):
        impl.conv1x1_naive(x, torch.zeros(2, 3, 1, 1))
    with raises_naming(ValueError, "bias", "[D]"):
        impl.conv1x1_via_linear(x, torch.zeros(2, 3), torch.zeros(3))
    with raises_naming(ValueError, "x", "[B, C, H, W]"):
        impl.to_tokens(torch.zeros(3, 4))
    with raises_naming(ValueError, "x", "[B, C, H, W]"):
        impl.to_tokens_wrong(torch.zeros(3, 4))
    with raises_naming(ValueError, "(*, C)", "weight"):
        impl.linear_last_dim(torch.zeros(2, 5), torch.zeros(4, 3))
    with raises_naming(ValueError, "bias", "[D]"):
        impl.linear_last_dim(torch.zeros(2, 3), torch.zeros(4, 3), torch.zeros(3))
    with raises_naming(ValueError, "bias", "[D]"):
        impl.conv1x1_via_matmul(x, torch.zeros(2, 3), torch.zeros(3))


@pytest.mark.parametrize(
    "fn", ["conv1x1_naive", "conv1x1_via_linear", "conv1x1_via_matmul", "linear_last_dim"]
)
def test_lists_numpy_and_mixed_dtypes_are_named(fn):
    f = getattr(impl, fn)
    x, w = torch.zeros(1, 3, 2, 2), torch.zeros(2, 3)
    if fn == "linear_last_dim":
        x = x.permute(0, 2, 3, 1)
    with raises_naming(TypeError, "x", "torch.Tensor", "ndarray"):
        f(x.numpy(), w)
    with raises_naming(TypeError, "weight", "torch.Tensor", "list"):
        f(x, w.tolist())
    with raises_naming(TypeError, "bias", "torch.Tensor", "list"):
        f(x, w, [0.0, 0.0])
    if fn != "linear_last_dim":
        with raises_naming(TypeError, "weight", "dtype", "torch.float32"):
            f(x, w.double())
        with raises_naming(TypeError, "bias", "dtype"):
            f(x, w, torch.zeros(2, dtype=torch.float64))


def test_token_functions_and_fold_bn_name_bad_types():
    for f in (impl.to_tokens, impl.to_tokens_wrong):
        with raises_naming(TypeError, "x", "torch.Tensor"):
            f(torch.zeros(1, 3, 2, 2).numpy())
        with raises_naming(TypeError, "x", "torch.Tensor"):
            f([[0.0]])
    with raises_naming(TypeError, "bn", "BatchNorm2d"):
        impl.fold_bn(torch.zeros(2, 3), None, nn.LayerNorm(2))
    with raises_naming(ValueError, "bn.num_features", "2"):
        impl.fold_bn(torch.zeros(2, 3), None, nn.BatchNorm2d(3))
    with raises_naming(ValueError, "bias", "[D]"):
        impl.fold_bn(torch.zeros(2, 3), torch.zeros(3), nn.BatchNorm2d(2))


# ----------------------------------------------------------------- figure


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_figure_builds(lang):
    from matplotlib.figure import Figure

    from figures.backbone.conv1x1 import draw_reshape_trap

    fig = draw_reshape_trap(lang)
    assert isinstance(fig, Figure) and len(fig.axes) == 3
