"""Conv2d parameters, MACs and output size against what PyTorch itself builds and counts."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from matplotlib.figure import Figure
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from tests.support import assert_equal, cases, raises_naming, under_test

impl = under_test("snippets.backbone.params_flops")


def random_config(gen: torch.Generator) -> dict:
    """A random valid Conv2d configuration: groups, depthwise, non-square kernels, all of it."""

    def r(lo: int, hi: int) -> int:
        return int(torch.randint(lo, hi + 1, (1,), generator=gen))

    groups = [1, 1, 2, 3, 4, "depthwise"][r(0, 5)]
    if groups == "depthwise":
        c = r(1, 24)
        cin, cout, groups = c, c * r(1, 2), c  # depthwise (and channel multiplier 2)
    else:
        cin, cout = groups * r(1, 8), groups * r(1, 8)
    k = (r(1, 7), r(1, 7))
    s = (r(1, 3), r(1, 3))
    p = (r(0, 3), r(0, 3))
    d = (r(1, 3), r(1, 3))
    # An input big enough for the dilated kernel, sometimes exactly the padded span.
    size = tuple(max(1, d[i] * (k[i] - 1) + 1 - 2 * p[i]) + r(0, 12) for i in range(2))
    return dict(cin=cin, cout=cout, k=k, s=s, p=p, d=d, groups=groups, size=size, bias=r(0, 1) == 1)


def meta_conv(c: dict) -> nn.Conv2d:
    # device="meta": shapes and parameter counts without allocating or initialising weights.
    return nn.Conv2d(
        c["cin"], c["cout"], c["k"], c["s"], c["p"], c["d"], c["groups"], c["bias"], device="meta"
    )


def test_params_match_nn_conv2d_on_2000_random_configs():
    gen = torch.Generator().manual_seed(0)
    for _ in range(cases(2000)):
        c = random_config(gen)
        expected = sum(p.numel() for p in meta_conv(c).parameters())
        got = impl.conv2d_params(c["cin"], c["cout"], c["k"], groups=c["groups"], bias=c["bias"])
        assert_equal(got, expected, inputs=c)


def test_output_size_matches_torch_on_1000_random_configs():
    gen = torch.Generator().manual_seed(1)
    for _ in range(cases(1000)):
        c = random_config(gen)
        x = torch.empty(1, c["cin"], *c["size"], device="meta")
        expected = tuple(meta_conv(c)(x).shape[-2:])
        got = impl.conv2d_output_size(c["size"], c["k"], c["s"], c["p"], c["d"])
        assert_equal(got, expected, inputs=c)


def test_macs_are_half_of_flop_counter_mode_on_1000_random_configs():
    """FlopCounterMode counts 2 FLOPs per multiply-accumulate (torch/utils/flop_counter.py)."""
    gen = torch.Generator().manual_seed(2)
    for _ in range(cases(1000)):
        c = random_config(gen)
        batch = int(torch.randint(1, 4, (1,), generator=gen))
        x = torch.empty(batch, c["cin"], *c["size"], device="meta")
        conv = meta_conv(c)
        with FlopCounterMode(display=False) as counter:
            conv(x)
        macs = impl.conv2d_macs(
            c["cin"], c["cout"], c["k"], c["size"], c["s"], c["p"], c["d"], c["groups"]
        )
        assert_equal(2 * macs * batch, counter.get_total_flops(), inputs={**c, "batch": batch})


def test_macs_equal_brute_force_count_of_output_times_dot_product():
    # Independent count: each output element is one dot product over its group's inputs.
    gen = torch.Generator().manual_seed(3)
    for _ in range(cases(300)):
        c = random_config(gen)
        x = torch.empty(1, c["cin"], *c["size"], device="meta")
        out = meta_conv(c)(x)
        weight = meta_conv(c).weight
        dot_length = weight.shape[1] * weight.shape[2] * weight.shape[3]
        expected = out.numel() * dot_length
        got = impl.conv2d_macs(
            c["cin"], c["cout"], c["k"], c["size"], c["s"], c["p"], c["d"], c["groups"]
        )
        assert_equal(got, expected, inputs=c)


@given(st.integers(1, 4096), st.integers(1, 4096), st.booleans())
def test_linear_params_match_nn_linear(n_in, n_out, bias):
    expected = sum(p.numel() for p in nn.Linear(n_in, n_out, bias=bias, device="meta").parameters())
    assert impl.linear_params(n_in, n_out, bias) == expected
    assert impl.conv2d_params(n_in, n_out, 1, bias=bias) == expected  # a 1x1 conv is a Linear


def test_linear_flops_convention_matches_conv_1x1():
    # Same 2-FLOPs-per-MAC convention for nn.Linear: 2 * in * out per row.
    x = torch.empty(5, 48, device="meta")
    with FlopCounterMode(display=False) as counter:
        nn.Linear(48, 96, device="meta")(x)
    assert counter.get_total_flops() == 2 * 5 * 48 * 96


@given(
    st.integers(1, 16),
    st.integers(1, 16),
    st.sampled_from([1, 3, 5, 7]),
    st.integers(1, 8),
    st.booleans(),
)
def test_groups_divide_weights(per_group_in, per_group_out, k, groups, bias):
    cin, cout = per_group_in * groups, per_group_out * groups
    dense = impl.conv2d_params(cin, cout, k, bias=False)
    grouped = impl.conv2d_params(cin, cout, k, groups=groups, bias=False)
    assert dense == grouped * groups
    assert impl.conv2d_params(cin, cout, k, groups=groups, bias=True) == grouped + cout


@given(st.integers(1, 512), st.integers(1, 512), st.sampled_from([3, 5, 7]), st.integers(1, 64))
def test_separable_ratio_is_one_over_cout_plus_one_over_k2(cin, cout, k, size):
    c = impl.separable_vs_standard(cin, cout, k, size)
    # Exact rational identity: (C_in k^2 + C_in C_out) / (C_in C_out k^2) = 1/C_out + 1/k^2.
    assert c["separable_params"] * cout * k * k == c["standard_params"] * (k * k + cout)
    assert c["separable_macs"] * cout * k * k == c["standard_macs"] * (k * k + cout)


def test_separable_numbers_match_torch_modules():
    standard = nn.Conv2d(256, 256, 3, padding=1, bias=False, device="meta")
    separable = nn.Sequential(
        nn.Conv2d(256, 256, 3, padding=1, groups=256, bias=False, device="meta"),
        nn.Conv2d(256, 256, 1, bias=False, device="meta"),
    )
    c = impl.separable_vs_standard(256, 256, 3, 56)
    assert c["standard_params"] == sum(p.numel() for p in standard.parameters()) == 589_824
    assert c["separable_params"] == sum(p.numel() for p in separable.parameters()) == 67_840
    x = torch.empty(1, 256, 56, 56, device="meta")
    for module, key in ((standard, "standard_macs"), (separable, "separable_macs")):
        with FlopCounterMode(display=False) as counter:
            module(x)
        assert counter.get_total_flops() == 2 * c[key]


def conv_macs_and_params(model: nn.Module, size: int = 224) -> tuple[int, int, int]:
    """(our MACs over all convs, FlopCounterMode's conv FLOPs, our conv parameter count)."""
    inputs: dict[nn.Module, tuple[int, int]] = {}

    def remember(module: nn.Module, args: tuple, _out: torch.Tensor) -> None:
        inputs[module] = tuple(args[0].shape[-2:])

    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    hooks = [m.register_forward_hook(remember) for m in convs]
    with FlopCounterMode(display=False) as counter:
        model(torch.empty(1, 3, size, size, device="meta"))
    for h in hooks:
        h.remove()
    macs = sum(
        impl.conv2d_macs(
            m.in_channels,
            m.out_channels,
            m.kernel_size,
            inputs[m],
            m.stride,
            m.padding,
            m.dilation,
            m.groups,
        )
        for m in convs
    )
    params = sum(
        impl.conv2d_params(
            m.in_channels, m.out_channels, m.kernel_size, m.groups, m.bias is not None
        )
        for m in convs
    )
    return macs, counter.get_flop_counts()["Global"][torch.ops.aten.convolution], params


def test_resnet50_macs_and_params_match_torchvision_metadata():
    import torchvision

    with torch.device("meta"):
        model = torchvision.models.resnet50(weights=None)
    macs, conv_flops, conv_params = conv_macs_and_params(model)
    assert 2 * macs == conv_flops  # FlopCounterMode: 2 FLOPs per MAC
    # torchvision's weight metadata lists ResNet-50 at 4.089 "GFLOPS": that is the MAC count
    # (convs + the 2048 -> 1000 fc), i.e. fvcore's 1-per-multiply-add convention.
    meta = torchvision.models.ResNet50_Weights.IMAGENET1K_V1.meta
    assert round((macs + 2048 * 1000) / 1e9, 3) == meta["_ops"] == 4.089
    # Parameters: convs (no bias) + BatchNorm (weight and bias per channel) + fc.
    bn = sum(2 * m.num_features for m in model.modules() if isinstance(m, nn.BatchNorm2d))
    total = conv_params + bn + impl.linear_params(2048, 1000)
    assert total == meta["num_params"] == sum(p.numel() for p in model.parameters()) == 25_557_032


@pytest.mark.parametrize(
    ("arch", "paper_gflops"),
    # He et al., CVPR 2016, Table 1, last row ("FLOPs"): 1.8, 3.6, 3.8, 7.6, 11.3 x 10^9.
    [
        ("resnet18", 1.8),
        ("resnet34", 3.6),
        ("resnet50", 3.8),
        ("resnet101", 7.6),
        ("resnet152", 11.3),
    ],
)
def test_resnet_paper_flops_are_multiply_adds_of_v1(arch, paper_gflops):
    import torchvision
    from torchvision.models.resnet import Bottleneck

    def total_gmacs(stride_on_1x1: bool) -> float:
        with torch.device("meta"):  # no weight initialisation work: shapes are all we need
            model = getattr(torchvision.models, arch)(weights=None)
        # Original ResNet (v1): a downsampling bottleneck strides in its first 1x1 conv;
        # torchvision (v1.5) moved the stride to the 3x3, which costs more.
        for block in model.modules():
            if stride_on_1x1 and isinstance(block, Bottleneck) and block.stride == 2:
                block.conv1.stride, block.conv2.stride = (2, 2), (1, 1)
        macs, _, _ = conv_macs_and_params(model)
        return (macs + model.fc.in_features * model.fc.out_features) / 1e9

    v1 = total_gmacs(stride_on_1x1=True)
    # The paper rounds loosely (3.66 is printed as 3.6, 7.57 as 7.6): agree within 0.07 G.
    assert abs(v1 - paper_gflops) <= 0.07, v1
    if arch in ("resnet50", "resnet101", "resnet152"):
        assert total_gmacs(stride_on_1x1=False) - paper_gflops > 0.2  # v1.5 is not what was counted


def test_transposed_conv_flops_count_input_positions():
    # FlopCounterMode counts a transposed conv per INPUT position:
    # 2 * H_in * W_in * C_in * (C_out / g) * k_h * k_w per image.
    x = torch.empty(2, 8, 7, 9, device="meta")
    layer = nn.ConvTranspose2d(8, 6, (3, 4), stride=2, groups=2, device="meta")
    with FlopCounterMode(display=False) as counter:
        layer(x)
    assert counter.get_total_flops() == 2 * 2 * (7 * 9) * 8 * (6 // 2) * 3 * 4


# ----------------------------------------------------------------- edge cases and errors


def test_kernel_exactly_the_padded_input_gives_one_output():
    assert impl.conv2d_output_size(5, 3, padding=1, dilation=3) == (1, 1)  # span 7 = 5 + 2
    x = torch.empty(1, 1, 5, 5, device="meta")
    assert tuple(
        F.conv2d(x, torch.empty(1, 1, 3, 3, device="meta"), padding=1, dilation=3).shape
    ) == (
        1,
        1,
        1,
        1,
    )


def test_kernel_larger_than_padded_input_raises_like_torch():
    with raises_naming(ValueError, "kernel_size", "padded input"):
        impl.conv2d_output_size(4, 3, padding=0, dilation=2)  # span 5 > 4
    with pytest.raises(RuntimeError):
        F.conv2d(
            torch.empty(1, 1, 4, 4, device="meta"),
            torch.empty(1, 1, 3, 3, device="meta"),
            dilation=2,
        )


@pytest.mark.parametrize(
    ("kwargs", "exc", "words"),
    [
        (
            dict(in_channels=6, out_channels=8, kernel_size=3, groups=4),
            ValueError,
            ("groups", "in_channels"),
        ),
        (
            dict(in_channels=8, out_channels=6, kernel_size=3, groups=4),
            ValueError,
            ("groups", "out_channels"),
        ),
        (dict(in_channels=0, out_channels=8, kernel_size=3), ValueError, ("in_channels",)),
        (dict(in_channels=8, out_channels=-1, kernel_size=3), ValueError, ("out_channels",)),
        (dict(in_channels=8, out_channels=8, kernel_size=0), ValueError, ("kernel_size",)),
        (
            dict(in_channels=8, out_channels=8, kernel_size=(3, 3, 3)),
            TypeError,
            ("kernel_size", "(h, w)"),
        ),
        (dict(in_channels=8.0, out_channels=8, kernel_size=3), TypeError, ("in_channels",)),
        (dict(in_channels=8, out_channels=8, kernel_size=3, groups=0), ValueError, ("groups",)),
    ],
)
def test_params_errors(kwargs, exc, words):
    with raises_naming(exc, *words):
        impl.conv2d_params(**kwargs)


@pytest.mark.parametrize(
    ("args", "kwargs", "exc", "word"),
    [
        ((0, 3), {}, ValueError, "size"),
        ((8, 3), dict(stride=0), ValueError, "stride"),
        ((8, 3), dict(padding=-1), ValueError, "padding"),
        ((8, 3), dict(dilation=0), ValueError, "dilation"),
        ((8, 3), dict(stride=(1, True)), TypeError, "stride"),
        ((8, 3.0), {}, TypeError, "kernel_size"),
    ],
)
def test_output_size_errors(args, kwargs, exc, word):
    with raises_naming(exc, word):
        impl.conv2d_output_size(*args, **kwargs)


def test_macs_and_linear_errors():
    with raises_naming(ValueError, "groups"):
        impl.conv2d_macs(6, 8, 3, 32, groups=4)
    with raises_naming(ValueError, "kernel_size"):
        impl.conv2d_macs(8, 8, 9, 4)
    with raises_naming(ValueError, "in_features"):
        impl.linear_params(0, 8)
    with raises_naming(TypeError, "out_features"):
        impl.linear_params(8, "8")


# ----------------------------------------------------------------- figure


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_figure_builds(lang):
    from figures.backbone.params_flops import draw_cost_bars

    fig = draw_cost_bars(lang)
    assert isinstance(fig, Figure) and len(fig.axes) == 2
