"""Receptive field: the formula against the gradient footprint of real torch networks."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torchvision
from hypothesis import given
from hypothesis import strategies as st
from matplotlib.figure import Figure
from torch import nn

from tests.support import assert_close, assert_equal, raises_naming, under_test

impl = under_test("snippets.backbone.receptive_field")


# ----------------------------------------------------------------- independent measurement


def footprint(net: nn.Module, shape: tuple[int, int, int, int]) -> tuple[tuple[int, int], ...]:
    """Bounding box of the non-zero input gradient of the centre output position.

    Written here, not taken from the snippet, so the formula is checked against autograd.
    Returns ``((row_start, row_end), (col_start, col_end))`` and the centre output index.
    """
    x = torch.rand(shape, generator=torch.Generator().manual_seed(0)) + 0.5
    x.requires_grad_(True)
    y = net(x)
    cy, cx = y.shape[-2] // 2, y.shape[-1] // 2
    y[0, :, cy, cx].sum().backward()
    nz = torch.nonzero(x.grad[0].abs().sum(0) > 0)
    rows, cols = nz[:, 0], nz[:, 1]
    return (int(rows.min()), int(rows.max())), (int(cols.min()), int(cols.max())), (cy, cx)


def positive_(net: nn.Module, gen: torch.Generator) -> nn.Module:
    """Positive weights and biases: every path adds, nothing cancels, ReLU never cuts."""
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(torch.rand(p.shape, generator=gen, dtype=p.dtype) * 0.9 + 0.1)
    return net.eval()


def random_axis_layers(gen: torch.Generator, n: int, pool: list[bool]) -> list:
    """Random (k, s, d, p) for one axis; pools get d = 1 and p <= k // 2 (AvgPool2d rules)."""
    out = []
    for is_pool in pool:
        k = int(torch.randint(1, 6, (1,), generator=gen))
        s = int(torch.randint(1, 3, (1,), generator=gen))
        d = 1 if is_pool else int(torch.randint(1, 4, (1,), generator=gen))
        p = int(torch.randint(0, k // 2 + 1, (1,), generator=gen))
        out.append(impl.Layer(k, s, d, p))
    return out[:n]


@pytest.mark.parametrize(
    ("seed", "trials"),
    [(1234, 100), pytest.param(99, 1000, marks=pytest.mark.slow)],
)
def test_formula_matches_gradient_footprint_of_random_nets(seed, trials):
    """Seeded conv/avg-pool/ReLU stacks, independent random specs along H and W."""
    gen = torch.Generator().manual_seed(seed)
    for trial in range(trials):
        n = int(torch.randint(1, 5, (1,), generator=gen))
        pool = [bool(torch.rand(1, generator=gen) < 0.3) for _ in range(n)]
        along_h = random_axis_layers(gen, n, pool)
        along_w = random_axis_layers(gen, n, pool)
        modules, ch = [], 2
        for is_pool, lh, lw in zip(pool, along_h, along_w, strict=True):
            k, s = (lh.kernel_size, lw.kernel_size), (lh.stride, lw.stride)
            p = (lh.padding, lw.padding)
            if is_pool:
                modules.append(nn.AvgPool2d(k, s, p))
            else:
                d = (lh.dilation, lw.dilation)
                modules += [nn.Conv2d(ch, ch, k, s, p, d), nn.ReLU()]
        net = positive_(nn.Sequential(*modules), gen)
        (rh, jh), (rw, jw) = impl.receptive_field(along_h), impl.receptive_field(along_w)
        # Big enough that the centre position's RF lies inside the image (no border clipping).
        size_h, size_w = rh + 4 * jh + 4, rw + 4 * jw + 4
        rows, cols, (cy, cx) = footprint(net, (1, ch, size_h, size_w))
        expected_rows = impl.receptive_field_region(along_h, cy)
        expected_cols = impl.receptive_field_region(along_w, cx)
        assert expected_rows[0] >= 0 and expected_rows[1] < size_h, "test input too small"
        assert expected_cols[0] >= 0 and expected_cols[1] < size_w, "test input too small"
        inputs = {"trial": trial, "along_h": along_h, "along_w": along_w}
        assert_equal(np.array(rows), np.array(expected_rows), inputs=inputs)
        assert_equal(np.array(cols), np.array(expected_cols), inputs=inputs)


def _torchvision_vgg16_one_channel() -> nn.Sequential:
    """torchvision's VGG-16 layer list (cfg "D"), 1 channel wide, max-pool -> avg-pool.

    A max-pool passes gradient to one input of each window only, so the gradient of a single
    forward pass would under-report what *can* influence the output; an average pool of the
    same geometry has the same RF and a dense gradient.
    """
    from torchvision.models.vgg import cfgs, make_layers

    cfg = [v if v == "M" else 1 for v in cfgs["D"]]
    features = make_layers(cfg)
    features[0] = nn.Conv2d(1, 1, 3, padding=1)  # make_layers assumes 3 input channels
    return nn.Sequential(
        *[
            nn.AvgPool2d(m.kernel_size, m.stride) if isinstance(m, nn.MaxPool2d) else m
            for m in features
        ]
    )


@pytest.mark.parametrize(("name", "hand_rf"), [("conv5_3", 196), ("pool5", 212)])
def test_vgg16_receptive_field(name, hand_rf):
    # By hand: 1 -> conv1 (+2,+2) 5 -> pool1 (+1) 6 [j 2] -> conv2 (+4,+4) 14 -> pool2 (+2) 16 [j 4]
    # -> conv3 (+8 x3) 40 -> pool3 (+4) 44 [j 8] -> conv4 (+16 x3) 92 -> pool4 (+8) 100 [j 16]
    # -> conv5 (+32 x3) 196 -> pool5 (+16) 212 [j 32].
    names = impl.VGG16_NAMES
    depth = names.index(name) + 1
    layers = impl.vgg16_layers()[:depth]
    assert impl.receptive_field(layers)[0] == hand_rf
    # Cut the torchvision layer list right after `name` (conv layers are followed by a ReLU).
    full = _torchvision_vgg16_one_channel()
    seen, cut = 0, 0
    for i, m in enumerate(full):
        if isinstance(m, (nn.Conv2d, nn.AvgPool2d)):
            seen += 1
            if seen == depth:
                cut = i + 1
    net = positive_(full[:cut], torch.Generator().manual_seed(7))
    rows, cols, (cy, _) = footprint(net, (1, 1, 320, 320))
    assert rows[1] - rows[0] + 1 == hand_rf and cols[1] - cols[0] + 1 == hand_rf
    assert_equal(np.array(rows), np.array(impl.receptive_field_region(layers, cy)))


def resnet_longest_path(blocks: list[int], bottleneck: bool, stride_on_1x1: bool = False) -> list:
    """The chain of convs from the image to the end of layer4 that passes every 3x3 conv.

    The residual shortcut (identity or a 1x1 conv) is a shorter path, so the RF of the stage
    output is the RF of this longest path.
    """
    path = [impl.Layer(7, 2, 1, 3), impl.Layer(3, 2, 1, 1)]  # conv1, maxpool
    for stage, n in enumerate(blocks):
        for b in range(n):
            s = 2 if (stage > 0 and b == 0) else 1
            if bottleneck:
                s1, s3 = (s, 1) if stride_on_1x1 else (1, s)
                path += [impl.Layer(1, s1), impl.Layer(3, s3, 1, 1), impl.Layer(1)]
            else:
                path += [impl.Layer(3, s, 1, 1), impl.Layer(3, 1, 1, 1)]
    return path


def test_resnet_receptive_field_hand_values():
    # ResNet-50 v1.5 (torchvision, stride on the 3x3): stem 7 -> 11 [j 4]; layer1 3 x (+8) = 35;
    # layer2 +8 (s2 3x3 sees j=4) = 43 [j 8], 3 x (+16) = 91; layer3 +16 = 107 [j 16],
    # 5 x (+32) = 267; layer4 +32 = 299 [j 32], 2 x (+64) = 427.
    assert impl.receptive_field(resnet_longest_path([3, 4, 6, 3], True)) == (427, 32)
    # Original ResNet-50 (stride on the first 1x1): the 3x3 runs after the stride, so each stage
    # adds 2 * j_new per block: 35 + 4*16 = 99, + 6*32 = 291, + 3*64 = 483.
    assert impl.receptive_field(resnet_longest_path([3, 4, 6, 3], True, True)) == (483, 32)
    # ResNet-18: 11 + 4*8 = 43; +8 +3*16 = 99; +16 +3*32 = 211; +32 +3*64 = 435.
    assert impl.receptive_field(resnet_longest_path([2, 2, 2, 2], False)) == (435, 32)


def _measured_resnet(model: nn.Module, size: int) -> tuple[tuple[int, int], int]:
    model.maxpool = nn.AvgPool2d(3, 2, 1)  # same geometry, dense gradient
    body = nn.Sequential(*list(model.children())[:-2])  # drop avgpool + fc
    net = positive_(body, torch.Generator().manual_seed(3))
    rows, _, (cy, _) = footprint(net, (1, 3, size, size))
    return rows, cy


@pytest.mark.slow
def test_resnet50_torchvision_rf_is_427():
    rows, cy = _measured_resnet(torchvision.models.resnet50(weights=None), 512)
    assert rows[1] - rows[0] + 1 == 427
    assert rows == impl.receptive_field_region(resnet_longest_path([3, 4, 6, 3], True), cy)


@pytest.mark.slow
def test_resnet18_torchvision_rf_is_435():
    rows, cy = _measured_resnet(torchvision.models.resnet18(weights=None), 512)
    assert rows == impl.receptive_field_region(resnet_longest_path([2, 2, 2, 2], False), cy)
    assert rows[1] - rows[0] + 1 == 435


# ----------------------------------------------------------------- properties

layer_st = st.builds(
    lambda k, s, d, p: impl.Layer(k, s, d, p),
    st.integers(1, 7),
    st.integers(1, 4),
    st.integers(1, 4),
    st.integers(0, 3),
)
path_st = st.lists(layer_st, max_size=12)


@given(path_st)
def test_three_forms_agree(layers):
    r, j = impl.receptive_field(layers)
    assert impl.receptive_field_closed_form(layers) == r
    assert impl.receptive_field_top_down(layers) == r
    assert j == math.prod(layer.stride for layer in layers)


@given(path_st, layer_st)
def test_adding_a_layer_never_shrinks_rf(layers, extra):
    r0, j0 = impl.receptive_field(layers)
    r1, _ = impl.receptive_field([*layers, extra])
    assert r1 == r0 + (extra.effective_kernel_size - 1) * j0 >= r0


@given(path_st)
def test_per_layer_is_prefix_rf_and_tuples_equal_layers(layers):
    per = impl.receptive_field_per_layer(layers)
    assert per == [impl.receptive_field(layers[: i + 1]) for i in range(len(layers))]
    as_tuples = [(la.kernel_size, la.stride, la.dilation, la.padding) for la in layers]
    assert impl.receptive_field_per_layer(as_tuples) == per


@given(path_st, st.integers(1, 4), st.integers(1, 6), st.integers(1, 3))
def test_dilation_is_a_wider_kernel_and_1x1_adds_nothing(layers, k, d, s):
    dilated = impl.receptive_field([*layers, impl.Layer(k, s, d)])
    wide = impl.receptive_field([*layers, impl.Layer(d * (k - 1) + 1, s)])
    assert dilated == wide
    r, j = impl.receptive_field(layers)
    assert impl.receptive_field([*layers, impl.Layer(1, 1)]) == (r, j)


@given(path_st, st.integers(0, 50))
def test_region_width_and_step(layers, index):
    r, j = impl.receptive_field(layers)
    start, end = impl.receptive_field_region(layers, index)
    assert end - start + 1 == r
    # Neighbouring output positions see regions shifted by exactly one jump.
    assert impl.receptive_field_region(layers, index + 1)[0] - start == j


def test_empty_path():
    assert impl.receptive_field([]) == (1, 1)
    assert impl.receptive_field_closed_form([]) == 1
    assert impl.receptive_field_top_down([]) == 1
    assert impl.receptive_field_per_layer([]) == []


# ----------------------------------------------------------------- 3x3 stacks and parameters


@pytest.mark.parametrize("channels", [1, 3, 16, 64])
def test_three_3x3_vs_one_7x7(channels):
    assert impl.receptive_field([(3, 1)] * 3) == impl.receptive_field([(7, 1)]) == (7, 1)
    assert impl.stacked_conv_weights(channels, 3, 3) == 27 * channels**2
    assert impl.stacked_conv_weights(channels, 7, 1) == 49 * channels**2


# ----------------------------------------------------------------- effective RF


def uniform_stack(n: int) -> nn.Module:
    net = nn.Sequential(*[nn.Conv2d(1, 1, 3, bias=False) for _ in range(n)])
    for m in net:
        nn.init.constant_(m.weight, 1 / 9)
    return net


@pytest.mark.parametrize("n", [1, 2, 5, 10, 20])
def test_erf_of_uniform_stack_is_binomial_like_with_std_sqrt_2n_over_3(n):
    trf = 2 * n + 1
    g = impl.input_gradient_map(uniform_stack(n), (1, 1, trf + 10, trf + 10))
    # Support = theoretical RF.
    nz = torch.nonzero(g > 0)
    assert int(nz[:, 0].max() - nz[:, 0].min() + 1) == trf
    # Independent reference: one axis of the map is the n-fold convolution of [1, 1, 1] / 3
    # (the kernel is separable: 1/9 = 1/3 * 1/3).
    ref = np.array([1.0])
    for _ in range(n):
        ref = np.convolve(ref, np.ones(3) / 3)
    marginal = g.sum(dim=1).numpy()
    marginal = marginal[marginal > 0]
    assert_close(marginal / marginal.sum(), ref, atol=1e-12)
    # Variance adds over layers: each layer contributes Var(U{-1,0,1}) = 2/3.
    pos = np.arange(trf) - n
    std = math.sqrt(float((ref * pos**2).sum()))
    assert math.isclose(std, math.sqrt(2 * n / 3), rel_tol=1e-12)


def test_erf_mass_concentrates_in_a_fraction_of_trf():
    # 20 uniform 3x3 layers: TRF 41 x 41. The central 17 x 17 (17% of the area) holds more
    # than 96% of the gradient mass. Reference per axis: P(|X| <= 8) for X a sum of 20
    # independent U{-1, 0, 1}, from the 20-fold convolution of [1, 1, 1] / 3.
    n, trf, half = 20, 41, 8
    g = impl.input_gradient_map(uniform_stack(n), (1, 1, trf, trf)).numpy()
    c = trf // 2
    inner = g[c - half : c + half + 1, c - half : c + half + 1].sum() / g.sum()
    ref = np.array([1.0])
    for _ in range(n):
        ref = np.convolve(ref, np.ones(3) / 3)
    per_axis = ref[n - half : n + half + 1].sum()
    assert math.isclose(inner, per_axis**2, rel_tol=1e-9)
    assert inner > 0.96
    assert (2 * half + 1) ** 2 / trf**2 < 0.18


# ----------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("args", "name"),
    [
        ((0,), "kernel_size"),
        ((3, 0), "stride"),
        ((3, 1, 0), "dilation"),
        ((3, 1, 1, -1), "padding"),
    ],
)
def test_layer_rejects_bad_numbers(args, name):
    with raises_naming(ValueError, name):
        impl.Layer(*args)


def test_layer_rejects_non_int():
    with raises_naming(ValueError, "kernel_size", "int"):
        impl.Layer(3.0)
    with raises_naming(ValueError, "stride"):
        impl.Layer(3, True)


def test_bad_layer_lists():
    with raises_naming(TypeError, "layers"):
        impl.receptive_field("33")
    with raises_naming(TypeError, "layers[1]"):
        impl.receptive_field([(3, 1), (3, 1, 1, 1, 1)])
    with raises_naming(TypeError, "layers[0]"):
        impl.receptive_field([3])
    with raises_naming(ValueError, "index"):
        impl.receptive_field_region([(3, 1)], -1)
    with raises_naming(ValueError, "input_shape", "(1, C, H, W)"):
        impl.input_gradient_map(nn.Identity(), (2, 1, 5, 5))


# ----------------------------------------------------------------- figures


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_figure_builds(lang):
    from figures.backbone.receptive_field import draw_erf_vs_trf

    fig = draw_erf_vs_trf(lang)
    assert isinstance(fig, Figure) and len(fig.axes) >= 2
