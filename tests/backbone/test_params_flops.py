"""Conv2d parameters, MACs and output size against what PyTorch itself builds and counts."""

from __future__ import annotations

import contextlib

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st
from matplotlib.figure import Figure
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from tests.support import (
    assert_close,
    assert_equal,
    cases,
    quick_subset,
    raises_naming,
    under_test,
)

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


def conv_macs_and_params(
    model: nn.Module, size: int = 224, count: bool = True
) -> tuple[int, int, int]:
    """(our MACs over all convs, FlopCounterMode's conv FLOPs or 0, our conv parameter count)."""
    inputs: dict[nn.Module, tuple[int, int]] = {}

    def remember(module: nn.Module, args: tuple, _out: torch.Tensor) -> None:
        inputs[module] = tuple(args[0].shape[-2:])

    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    hooks = [m.register_forward_hook(remember) for m in convs]
    counter = FlopCounterMode(display=False) if count else contextlib.nullcontext()
    with counter:
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
    flops = counter.get_flop_counts()["Global"][torch.ops.aten.convolution] if count else 0
    return macs, flops, params


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
    # Quick mode counts the first three (basic blocks and one bottleneck net).
    quick_subset(
        [
            ("resnet18", 1.8),
            ("resnet34", 3.6),
            ("resnet50", 3.8),
            ("resnet101", 7.6),
            ("resnet152", 11.3),
        ],
        3,
    ),
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
        macs, _, _ = conv_macs_and_params(model, count=False)  # our count only
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


# ----------------------------------------------------------------- ViT: params and MACs


def timm_vit(c: dict, **kw):
    from timm.models.vision_transformer import VisionTransformer

    return VisionTransformer(
        img_size=c["img"], patch_size=c["patch"], embed_dim=c["dim"], depth=c["depth"],
        num_heads=c["heads"], mlp_ratio=c["ratio"], num_classes=c["classes"],
        class_token=c["cls"], reg_tokens=c["reg"], global_pool="token" if c["cls"] else "avg", **kw,
    )  # fmt: skip


def vit_args(c: dict) -> dict:
    return dict(img_size=c["img"], patch_size=c["patch"], embed_dim=c["dim"], depth=c["depth"],
                mlp_ratio=c["ratio"], num_classes=c["classes"],
                num_prefix_tokens=int(c["cls"]) + c["reg"])  # fmt: skip


def test_vit_params_and_macs_match_timm_with_random_weights_on_40_configs():
    """Real timm ViTs with random weights (float32, CPU): parameters counted with numel, MACs with
    FlopCounterMode / 2. Attention runs timm's explicit q @ k^T path (fused_attn=False): on CPU,
    FlopCounterMode does not count the SDPA kernel (see the test below)."""
    gen = torch.Generator().manual_seed(5)

    def r(lo: int, hi: int) -> int:
        return int(torch.randint(lo, hi + 1, (1,), generator=gen))

    for _ in range(cases(40)):
        patch = (r(1, 6), r(1, 6))
        img = (patch[0] * r(1, 5) + r(0, patch[0] - 1), patch[1] * r(1, 5) + r(0, patch[1] - 1))
        heads = r(1, 3)
        c = dict(img=img, patch=patch, dim=heads * r(1, 8), depth=r(0, 3), heads=heads,
                 ratio=[1.0, 2.0, 2.5, 4.0][r(0, 3)], classes=r(0, 6), cls=r(0, 1) == 1,
                 reg=[0, 0, 2][r(0, 2)])  # fmt: skip
        if not c["cls"] and not c["reg"]:
            c["reg"] = 1  # timm's avg pool over zero prefix tokens is fine; keep both kinds
        model = timm_vit(c)
        for block in model.blocks:
            block.attn.fused_attn = False
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(torch.randn(1, 3, *img, generator=gen))
        got = impl.vit_macs(**vit_args(c))
        assert_equal(2 * got["total"], counter.get_total_flops(), inputs=c)
        expected_params = sum(p.numel() for p in model.parameters())
        assert_equal(impl.vit_params(**vit_args(c)), expected_params, inputs=c)


def test_vit_b16_macs_match_flop_counter_and_torchvision_metadata():
    """ViT-B/16 at 224 (meta device: shapes only), and the published numbers in
    torchvision's weight metadata (`_ops` is GMACs, `num_params`), also for B/32, L/16, H/14."""
    import torchvision

    for img in (224,):  # 384 is checked against torchvision's metadata below
        with torch.device("meta"):
            model = timm_vit(dict(img=img, patch=16, dim=768, depth=12, heads=12, ratio=4.0,
                                  classes=1000, cls=True, reg=0))  # fmt: skip
        with FlopCounterMode(display=False) as counter:
            model(torch.empty(1, 3, img, img, device="meta"))  # meta: SDPA is counted as bmm
        assert 2 * impl.vit_macs(img_size=img)["total"] == counter.get_total_flops()
        assert impl.vit_params(img_size=img) == sum(p.numel() for p in model.parameters())
    m = torchvision.models
    published = [  # (weights, img, patch, D, depth)
        (m.ViT_B_16_Weights.IMAGENET1K_V1, 224, 16, 768, 12),
        (m.ViT_B_16_Weights.IMAGENET1K_SWAG_E2E_V1, 384, 16, 768, 12),
        (m.ViT_B_32_Weights.IMAGENET1K_V1, 224, 32, 768, 12),
        (m.ViT_L_16_Weights.IMAGENET1K_V1, 224, 16, 1024, 24),
        (m.ViT_H_14_Weights.IMAGENET1K_SWAG_LINEAR_V1, 224, 14, 1280, 32),
        (m.ViT_H_14_Weights.IMAGENET1K_SWAG_E2E_V1, 518, 14, 1280, 32),
    ]
    for weights, img, patch, dim, depth in published:
        args = dict(img_size=img, patch_size=patch, embed_dim=dim, depth=depth)
        assert round(impl.vit_macs(**args)["total"] / 1e9, 3) == weights.meta["_ops"], weights
        assert impl.vit_params(**args) == weights.meta["num_params"], weights
    b16 = impl.vit_macs()
    assert (b16["total"], round(b16["attention"] / b16["total"], 3)) == (17_563_828_224, 0.041)
    assert round(impl.vit_macs(img_size=384)["total"] / 1e9, 1) == 55.5


def test_flop_counter_misses_cpu_sdpa():
    """Why the test above turns fused attention off: with real CPU tensors timm calls
    F.scaled_dot_product_attention, whose CPU kernel FlopCounterMode has no formula for, so the
    count silently drops the 2 N^2 D attention term. If a torch release fixes this, this test
    fails and the pages' warning must go."""
    c = dict(img=16, patch=4, dim=8, depth=2, heads=2, ratio=4.0, classes=3, cls=True, reg=0)
    with torch.no_grad(), FlopCounterMode(display=False) as counter:
        timm_vit(c)(torch.randn(1, 3, 16, 16))
    macs = impl.vit_macs(**vit_args(c))
    assert counter.get_total_flops() == 2 * (macs["total"] - macs["attention"])


def test_attention_dominates_only_beyond_n_equals_6d():
    """Per block 2 N^2 D (attention) vs 12 N D^2 (Linear layers, mlp_ratio 4): equal at N = 6D."""
    for dim in (8, 64, 768):
        for tokens in (6 * dim - 1, 6 * dim, 6 * dim + 1):
            m = impl.vit_macs(img_size=(1, tokens - 1), patch_size=1, embed_dim=dim, depth=1)
            sign = (m["attention"] > m["linear"]) - (m["attention"] < m["linear"])
            assert sign == (tokens > 6 * dim) - (tokens < 6 * dim), (dim, tokens)


@pytest.mark.parametrize(
    ("kwargs", "exc", "words"),
    [
        (dict(img_size=-224), ValueError, ("img_size",)),
        (dict(img_size=8, patch_size=16), ValueError, ("patch_size", "img_size")),
        (dict(embed_dim=0), ValueError, ("embed_dim",)),
        (dict(depth=-1), ValueError, ("depth",)),
        (dict(num_classes=-1), ValueError, ("num_classes",)),
        (dict(num_prefix_tokens=-1), ValueError, ("num_prefix_tokens",)),
        (dict(mlp_ratio=-4.0), ValueError, ("mlp_ratio",)),
        (dict(embed_dim=768.0), TypeError, ("embed_dim",)),
        (dict(img_size=[224, 224]), TypeError, ("img_size",)),
    ],
)
def test_vit_cost_errors(kwargs, exc, words):
    for fn in (impl.vit_macs, impl.vit_params):
        with raises_naming(exc, *words):
            fn(**kwargs)


def test_separable_rejects_even_kernel():
    # k = 4 with padding k // 2 = 2 grows a 56 map to 57: not the "same" the function promises.
    with raises_naming(ValueError, "kernel_size", "odd"):
        impl.separable_vs_standard(8, 8, 4, 56)


def test_output_size_variants_match_torch():
    """The page's ceil_mode rule (MaxPool2d) and ConvTranspose2d size formula, on 300 seeded
    configurations each, against the shapes torch really produces (meta device)."""
    gen = torch.Generator().manual_seed(6)

    def r(lo: int, hi: int) -> int:
        return int(torch.randint(lo, hi + 1, (1,), generator=gen))

    for _ in range(cases(300)):
        k, s, d = r(1, 5), r(1, 4), r(1, 2)
        p = r(0, k // 2)  # torch: pad <= half the kernel
        n = max(1, d * (k - 1) + 1 - 2 * p) + r(0, 12)
        out = -(-(n + 2 * p - d * (k - 1) - 1) // s) + 1  # ceil
        if (out - 1) * s >= n + p:  # the last window would start in the right padding
            out -= 1
        pool = nn.MaxPool2d(k, s, p, d, ceil_mode=True)
        got = pool(torch.empty(1, 1, n, n, device="meta")).shape[-1]
        assert_equal(out, got, inputs=dict(n=n, k=k, s=s, p=p, d=d))
    for _ in range(cases(300)):
        k, s, d, n = r(1, 5), r(1, 4), r(1, 3), r(1, 9)
        out_pad = r(0, max(s, d) - 1)  # torch: output_padding < stride or dilation
        p = r(0, (n - 1) * s + d * (k - 1) + out_pad) // 2  # keep the output >= 1
        layer = nn.ConvTranspose2d(1, 1, k, s, p, out_pad, dilation=d, device="meta")
        got = layer(torch.empty(1, 1, n, n, device="meta")).shape[-1]
        expected = (n - 1) * s - 2 * p + d * (k - 1) + out_pad + 1
        assert_equal(expected, got, inputs=dict(n=n, k=k, s=s, p=p, d=d, out_pad=out_pad))
    # The ambiguity output_padding resolves: 7 and 8 both become 4 under a 3x3 stride-2 conv.
    assert impl.conv2d_output_size(7, 3, 2, 1) == impl.conv2d_output_size(8, 3, 2, 1) == (4, 4)


def test_fold_bn_matches_eval_forward_and_torch_fusion():
    """fold_bn(conv, bn)(x) == bn(conv(x)) in eval mode, and equals the weights of PyTorch's own
    torch.nn.utils.fusion.fuse_conv_bn_eval, on 50 seeded layers in float64 (groups, no bias)."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    gen = torch.Generator().manual_seed(7)
    for _ in range(cases(50)):
        c = random_config(gen)
        conv = nn.Conv2d(c["cin"], c["cout"], c["k"], c["s"], c["p"], c["d"], c["groups"],
                         c["bias"]).double().eval()  # fmt: skip
        bn = nn.BatchNorm2d(c["cout"], eps=1e-3).double().eval()
        with torch.no_grad():
            for t in (bn.weight, bn.bias, bn.running_mean):
                t.copy_(torch.randn(c["cout"], generator=gen, dtype=torch.float64))
            bn.running_var.copy_(torch.rand(c["cout"], generator=gen, dtype=torch.float64) + 0.1)
            x = torch.randn(2, c["cin"], *c["size"], generator=gen, dtype=torch.float64)
            before = conv.weight.clone()
            fused = impl.fold_bn(conv, bn)
            assert_close(fused(x), bn(conv(x)), atol=1e-10, inputs=c)
            ref = fuse_conv_bn_eval(conv, bn)
            assert_close(fused.weight, ref.weight, atol=1e-12, inputs=c)
            assert_close(fused.bias, ref.bias, atol=1e-12, inputs=c)
            assert_equal(conv.weight, before)  # the original layer is left unchanged
    with raises_naming(ValueError, "eval mode"):
        impl.fold_bn(nn.Conv2d(2, 3, 1), nn.BatchNorm2d(3))  # training mode: batch statistics
    with raises_naming(TypeError, "nn.Conv2d", "list"):
        impl.fold_bn([1.0], nn.BatchNorm2d(3).eval())


def test_vit_cost_table_on_the_vit_page():
    """The numbers of the ViT page's table: parameters (M), GMACs and the attention share."""
    rows = [  # (kwargs, params in M, GMACs, attention share in %)
        (dict(), 86.6, 17.56, 4.1),
        (dict(img_size=384), 86.9, 55.48, 11.1),
        (dict(embed_dim=1024, depth=24), 304.3, 61.55, 3.1),
        (dict(patch_size=14, embed_dim=1280, depth=32), 632.0, 167.3, 3.2),
    ]
    for kwargs, params, gmacs, share in rows:
        m = impl.vit_macs(**kwargs)
        assert round(impl.vit_params(**kwargs) / 1e6, 1) == params, kwargs
        assert round(m["total"] / 1e9, len(str(gmacs).split(".")[1])) == gmacs, kwargs
        assert round(100 * m["attention"] / m["total"], 1) == share, kwargs
    # "about 1088 x 1088": the first square input (patch 16) where attention outgrows the Linears.
    grows = [s for s in range(16, 1200, 16) if (m := impl.vit_macs(img_size=s))["attention"]
             > m["linear"]]  # fmt: skip
    assert grows[0] == 1088


def test_pages_have_no_control_characters():
    """A Python string once turned the `\\t` of `\\times` into a TAB on the zh page, which KaTeX
    rendered as "0.07 imes10^9" without failing the strict build. No control characters (other
    than newlines) may appear on this page or on the ViT page, which quote these numbers."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "docs"
    for lang in ("zh", "en"):
        for page in ("params_flops", "vit", "index"):
            path = root / lang / "backbone" / f"{page}.md"
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                bad = re.search(r"[\x00-\x09\x0b-\x1f]", line)
                assert bad is None, f"{path}:{n}: control character {bad.group()!r}"
