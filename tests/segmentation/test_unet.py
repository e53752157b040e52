"""Tests for snippets/segmentation/unet.py: sizes, crops, layer and parameter counts."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn
from torchvision.transforms.v2 import functional as TF

from tests.support import assert_close, assert_equal, cases, raises_naming, under_test

impl = under_test("snippets.segmentation.unet")


@pytest.fixture(autouse=True, scope="module")
def _single_thread():
    # These tensors are tiny: on a shared 2-core machine, intra-op threads cost more than the
    # work (BCE on 75 elements: ~2 ms with 2 threads under load, ~0.06 ms with 1).
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def closed_form_valid(size: int, depth: int) -> int | None:
    """Independent oracle for a valid U-Net, derived by hand.

    Referred to input pixels, level i's two 3x3 convs remove 4 * 2**(i-1) pixels, so before the
    bottleneck the input loses 4 * (2**depth - 1) and every pool needs an even size: that holds
    iff size - 4 * (2**depth - 1) is divisible by 2**depth. The bottleneck and decoder remove
    4 * 2**depth + 4 * (2**depth - 1) more, so output = size - (12 * 2**depth - 8)
    (572 - 184 = 388 for depth 4). Returns None when the network cannot run.
    """
    encoder_loss = 4 * (2**depth - 1)
    if (size - encoder_loss) % 2**depth:
        return None
    bottleneck = (size - encoder_loss) // 2**depth - 4
    out = size - (12 * 2**depth - 8)
    return out if bottleneck > 0 and out > 0 else None


# ------------------------------------------------------------------ the paper's network


def test_paper_tile_572_gives_388():
    # Paper §2 and Fig. 1: 572 -> 570 -> 568 -> pool 284 -> 282 -> 280 -> 140 -> 138 -> 136 -> 68
    # -> 66 -> 64 -> 32 -> 30 -> 28 (bottleneck) -> up 56 -> 54 -> 52 -> 104 -> 100 -> 200 -> 196
    # -> 392 -> 388. test_skip_tensors_are_cropped_and_concatenated runs the real network on 572.
    assert impl.output_size(572) == 388


def test_paper_trace_matches_figure_1():
    trace = dict(impl.trace_sizes(572))
    expected = {  # read off Fig. 1 of the paper
        "enc1": 568, "enc2": 280, "enc3": 136, "enc4": 64, "bottleneck": 28,
        "dec4": 52, "dec3": 100, "dec2": 196, "dec1": 388, "output": 388,
    }  # fmt: skip
    for stage, size in expected.items():
        assert trace[stage] == size, (stage, trace[stage], size)


@pytest.mark.parametrize("up_mode", ["transpose", "bilinear"])
def test_23_conv_layers(up_mode):
    # The paper counts 18 3x3 convs (2 per level x 4 levels x 2 paths + 2 in the bottleneck),
    # 4 up-convolutions (2x2) and the final 1x1: 18 + 4 + 1 = 23. ReLU, pooling and cropping
    # have no weights and are not layers in this count. In "bilinear" mode the 1x1 conv that
    # halves the channels takes the place of the up-convolution.
    net = impl.UNet(base_width=2, up_mode=up_mode)
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d | nn.ConvTranspose2d)]
    assert len(convs) == 23
    kernels = sorted(m.kernel_size[0] for m in convs)
    up_kernel = 2 if up_mode == "transpose" else 1
    assert kernels == sorted([3] * 18 + [up_kernel] * 4 + [1])


def test_paper_parameter_count_by_hand():
    # (c_in * k * k + 1) * c_out for every layer of Fig. 1, typed out independently of the code.
    layers = [
        (1, 64, 3), (64, 64, 3), (64, 128, 3), (128, 128, 3), (128, 256, 3), (256, 256, 3),
        (256, 512, 3), (512, 512, 3), (512, 1024, 3), (1024, 1024, 3),  # contracting + bottom
        (1024, 512, 2), (1024, 512, 3), (512, 512, 3),  # up-conv, convs after concat
        (512, 256, 2), (512, 256, 3), (256, 256, 3),
        (256, 128, 2), (256, 128, 3), (128, 128, 3),
        (128, 64, 2), (128, 64, 3), (64, 64, 3),
        (64, 2, 1),  # 1x1 classifier
    ]  # fmt: skip
    assert len(layers) == 23
    by_hand = sum((c_in * k * k + 1) * c_out for c_in, c_out, k in layers)
    assert by_hand == 31_030_658
    assert impl.num_parameters() == by_hand
    assert sum(p.numel() for p in impl.UNet().parameters()) == by_hand


@pytest.mark.parametrize("depth", [1, 2, 3, 5])
@pytest.mark.parametrize("up_mode", ["transpose", "bilinear"])
def test_parameter_formula_matches_modules(depth, up_mode):
    gen = torch.Generator().manual_seed(depth)
    for _ in range(3):
        c_in, n_cls, width = (int(v) for v in torch.randint(1, 9, (3,), generator=gen))
        net = impl.UNet(c_in, n_cls, depth, width, "same", up_mode)
        actual = sum(p.numel() for p in net.parameters())
        assert impl.num_parameters(c_in, n_cls, depth, width, up_mode) == actual


def test_parameters_scale_with_width_squared():
    # Halving base_width divides (c_in * k * k + 1) * c_out by about 4 (biases and the
    # one-channel input break the exact ratio).
    ratio = impl.num_parameters(base_width=32) / impl.num_parameters(base_width=64)
    assert 0.24 < ratio < 0.26


def test_transpose_2x2_stride_2_has_no_overlap():
    # Jacobian of a 2x2, stride-2 transposed conv: every output pixel depends on exactly one input
    # pixel (no uneven overlap, hence no checkerboard from overlap). A 3x3 kernel overlaps.
    def inputs_per_output(kernel: int) -> torch.Tensor:
        up = nn.ConvTranspose2d(1, 1, kernel, stride=2, bias=False)
        nn.init.constant_(up.weight, 1.0)
        jac = torch.autograd.functional.jacobian(up, torch.ones(1, 1, 4, 4))
        return (jac.reshape(-1, 16) != 0).sum(1)

    assert_equal(inputs_per_output(2), torch.ones(64, dtype=torch.int64))
    assert int(inputs_per_output(3).max()) > 1


def test_transpose_2x2_stride_2_can_still_make_a_period_2_pattern():
    # No overlap does not mean no checkerboard: the 4 kernel taps write the 4 output phases
    # independently, so unequal taps turn a flat input into a period-2 pattern. Equal taps
    # (nearest-neighbour upsampling, what ICNR initialisation starts from) keep it flat.
    up = nn.ConvTranspose2d(1, 1, 2, stride=2, bias=False)
    flat = torch.ones(1, 1, 3, 3)
    with torch.no_grad():
        up.weight.copy_(torch.tensor([[[[1.0, 0.5], [0.5, 0.25]]]]))
        out = up(flat)[0, 0]
        assert tuple(out.shape) == (6, 6)  # (in - 1) * stride + kernel = 2 * in
        assert_equal(out, torch.tensor([[1.0, 0.5], [0.5, 0.25]]).repeat(3, 3))
        up.weight.fill_(0.7)
        assert_equal(up(flat)[0, 0], torch.full((6, 6), 0.7))


# ------------------------------------------------------------------ sizes


def test_valid_sizes_match_closed_form():
    # Every size 1..1200 for depths 1..5 (6000 cases): the trace either agrees with the oracle
    # or raises exactly when the oracle says the network cannot run.
    for depth in range(1, 6):
        for size in range(1, 1201):
            expected = closed_form_valid(size, depth)
            if expected is None:
                with raises_naming(ValueError, f"input_size={size}"):
                    impl.output_size(size, depth, "valid")
            else:
                assert impl.output_size(size, depth, "valid") == expected, (size, depth)


def test_valid_sizes_for_depth_4():
    # Closed form for the paper's depth: 188, 204, ..., 572, ... (size = 12 mod 16, >= 188).
    ok = [s for s in range(1, 700) if closed_form_valid(s, 4) is not None]
    assert ok[:3] == [188, 204, 220] and 572 in ok
    assert all(s % 16 == 12 and impl.output_size(s) == s - 184 for s in ok)


@pytest.mark.parametrize("depth", [1, 2])
def test_trace_matches_real_network(depth):
    # The module itself is the ground truth: run it on sizes around the valid ones.
    net = impl.UNet(1, 1, depth, base_width=1)
    for size in range(40, 61):
        expected = closed_form_valid(size, depth)
        x = torch.zeros(1, 1, size, size + 2**depth)  # non-square: H and W checked separately
        if expected is None:
            with raises_naming(ValueError, f"input_size={size}"):
                net(x)
            continue
        with torch.no_grad():
            out = net(x)
        assert tuple(out.shape[-2:]) == (expected, closed_form_valid(size + 2**depth, depth))


@settings(max_examples=12)
@given(
    depth=st.integers(1, 3),
    multiple_h=st.integers(1, 4),
    multiple_w=st.integers(1, 4),
    up_mode=st.sampled_from(["transpose", "bilinear"]),
)
def test_same_padding_keeps_size(depth, multiple_h, multiple_w, up_mode):
    h, w = multiple_h * 2**depth, multiple_w * 2**depth
    net = impl.UNet(2, 3, depth, base_width=1, padding="same", up_mode=up_mode)
    with torch.no_grad():
        out = net(torch.zeros(1, 2, h, w))
    assert tuple(out.shape) == (1, 3, h, w)
    assert impl.output_size(h, depth, "same") == h


@pytest.mark.parametrize("size", [30, 33, 100])
def test_same_padding_rejects_indivisible_size(size):
    net = impl.UNet(depth=3, base_width=2, padding="same")  # needs multiples of 8
    with raises_naming(ValueError, f"input_size={size}", "8"):
        net(torch.zeros(1, 1, size, 64))
    with raises_naming(ValueError, f"input_size={size}"):
        net(torch.zeros(1, 1, 64, size))


# ------------------------------------------------------------------ crop and concatenation


def test_center_crop_matches_torchvision():
    # torchvision rounds an odd margin half to even; with even margins (all a U-Net produces)
    # the two crops must agree exactly. 3000 random shapes.
    gen = torch.Generator().manual_seed(0)
    for _ in range(cases(3000)):
        h, w = (int(v) for v in torch.randint(1, 40, (2,), generator=gen))
        mh, mw = (2 * int(v) for v in torch.randint(0, 10, (2,), generator=gen))
        x = torch.randn(2, 3, h + mh, w + mw, generator=gen)
        assert_close(
            impl.center_crop(x, (h, w)), TF.center_crop(x, [h, w]), inputs={"shape": x.shape}
        )


@settings(max_examples=cases(200))
@given(st.integers(1, 12), st.integers(1, 12), st.integers(0, 7), st.integers(0, 7))
def test_center_crop_odd_margin_floors(h, w, mh, mw):
    x = torch.arange((h + mh) * (w + mw), dtype=torch.float32).reshape(1, 1, h + mh, w + mw)
    out = impl.center_crop(x, (h, w))
    assert_equal(out, x[..., mh // 2 : mh // 2 + h, mw // 2 : mw // 2 + w])


def test_skip_tensors_are_cropped_and_concatenated():
    # One forward pass of the paper's layout (thin widths: spatial arithmetic ignores width).
    # Hooks record each up block's inputs (x, skip) and the tensor its first conv sees. That
    # tensor must be [centre-cropped skip, upsampled x], with the sizes of Fig. 1 (64 -> 56,
    # 136 -> 104, 280 -> 200, 568 -> 392).
    width = 2
    net = impl.UNet(base_width=width)
    block_inputs, concats = [], []
    for block in net.up:
        block.register_forward_pre_hook(lambda module, args: block_inputs.append(args))
        block.conv[0].register_forward_pre_hook(lambda module, args: concats.append(args[0]))
    with torch.no_grad():
        out = net(torch.randn(1, 1, 572, 572, generator=torch.Generator().manual_seed(1)))
        assert tuple(out.shape) == (1, 2, 388, 388)  # the paper's output map
        expected = [
            (64, 56, 8 * width),
            (136, 104, 4 * width),
            (280, 200, 2 * width),
            (568, 392, width),
        ]
        assert len(block_inputs) == len(concats) == 4
        for block, (skip_size, crop, ch), (x, skip), concat in zip(
            net.up, expected, block_inputs, concats, strict=True
        ):
            assert tuple(skip.shape) == (1, ch, skip_size, skip_size)
            assert tuple(concat.shape) == (1, 2 * ch, crop, crop)
            m = (skip_size - crop) // 2  # equal margins: 4, 16, 40, 88
            assert_close(concat[:, :ch], skip[..., m : m + crop, m : m + crop])
            assert_close(concat[:, ch:], block.up(x))


def test_center_crop_of_paper_skip_removes_equal_margins():
    x = torch.randn(1, 1, 568, 568, generator=torch.Generator().manual_seed(2))
    out = impl.center_crop(x, (392, 392))
    assert_equal(out, x[..., 88:480, 88:480])  # (568 - 392) / 2 = 88 on every side


# ------------------------------------------------------------------ errors


def test_errors():
    with raises_naming(ValueError, "padding", "valid"):
        impl.UNet(padding="reflect")
    with raises_naming(ValueError, "up_mode", "transpose"):
        impl.UNet(up_mode="nearest")
    with raises_naming(ValueError, "depth"):
        impl.UNet(depth=0)
    with raises_naming(ValueError, "x", "[N, 1, H, W]", "(1, 3, 572, 572)"):
        impl.UNet(base_width=2)(torch.zeros(1, 3, 572, 572))
    with raises_naming(ValueError, "x", "[N, 1, H, W]"):
        impl.UNet(base_width=2)(torch.zeros(572, 572))
    with raises_naming(ValueError, "skip", "[N, C, H, W]"):
        impl.center_crop(torch.zeros(5, 5), (2, 2))
    with raises_naming(ValueError, "target_hw", "[10, 10]"):
        impl.center_crop(torch.zeros(1, 1, 10, 10), (11, 4))
    with raises_naming(ValueError, "padding"):
        impl.output_size(572, 4, "full")
    with raises_naming(ValueError, "depth"):
        impl.trace_sizes(572, 0)
    with raises_naming(ValueError, "input_size=570", "odd"):
        impl.output_size(570)


# ------------------------------------------------------------------ figure


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_figure(lang):
    import matplotlib.figure

    from figures.segmentation.unet import feature_map_sizes

    fig = feature_map_sizes(lang)
    assert isinstance(fig, matplotlib.figure.Figure) and fig.axes


def test_options_and_sizes_are_checked_everywhere():
    # Each building block and the closed-form count reject what UNet(...) rejects, instead of
    # silently reading a typo as "same" / "bilinear" or counting a network that cannot exist.
    with raises_naming(ValueError, "padding", "'bogus'"):
        impl.DoubleConv(1, 2, "bogus")
    with raises_naming(ValueError, "up_mode", "'bogus'"):
        impl.UpBlock(4, 2, "same", "bogus")
    with raises_naming(ValueError, "padding", "'bogus'"):
        impl.UpBlock(4, 2, "bogus", "transpose")
    with raises_naming(ValueError, "in_channels", "even", "5"):
        impl.UpBlock(5, 2, "same", "transpose")
    with raises_naming(ValueError, "up_mode", "'bogus'"):
        impl.num_parameters(up_mode="bogus")
    for kwargs, name in [
        ({"depth": 0}, "depth"),
        ({"base_width": -1}, "base_width"),
        ({"in_channels": 0}, "in_channels"),
        ({"num_classes": 0}, "num_classes"),
    ]:
        with raises_naming(ValueError, name, ">= 1"):
            impl.num_parameters(**kwargs)
        with raises_naming(ValueError, name, ">= 1"):
            impl.UNet(**kwargs)
    with raises_naming(TypeError, "depth", "int", "float"):
        impl.UNet(depth=2.5)
    with raises_naming(TypeError, "input_size", "int", "float"):
        impl.trace_sizes(572.0)
    with raises_naming(TypeError, "input_size", "int", "str"):
        impl.output_size("572")


def test_non_tensors_raise_type_error_naming_the_argument():
    import numpy as np

    with raises_naming(TypeError, "x", "torch.Tensor", "ndarray"):
        impl.UNet(base_width=2)(np.zeros((1, 1, 572, 572), dtype=np.float32))
    with raises_naming(TypeError, "skip", "torch.Tensor", "list"):
        impl.center_crop([[0.0] * 4] * 4, (2, 2))
