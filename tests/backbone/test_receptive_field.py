"""Receptive field: the formula against the gradient footprint of real torch networks."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
import torchvision
from hypothesis import given
from hypothesis import strategies as st
from matplotlib.figure import Figure
from torch import nn

from tests.support import assert_close, assert_equal, cases, raises_naming, under_test

impl = under_test("snippets.backbone.receptive_field")
dil = under_test("snippets.backbone.receptive_field_dilation")


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
    # The measured centre is half a pixel past u * j_L + (j_L - 1) / 2, not u * j_L: the 2x2
    # pools pad 0 where (k - 1) / 2 = 0.5 would centre them.
    j = impl.receptive_field(layers)[1]
    assert (rows[0] + rows[1]) / 2 == impl.receptive_field_center(layers, cy)
    assert impl.receptive_field_center(layers, cy) == cy * j + (j - 1) / 2


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
    assert (rows[0] + rows[1]) / 2 == cy * 32  # every layer pads (k - 1) / 2: centre u * j_L
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


@given(path_st, st.integers(0, 50))
def test_center_is_the_middle_of_the_region(layers, index):
    start, end = impl.receptive_field_region(layers, index)
    assert impl.receptive_field_center(layers, index) == (start + end) / 2


@pytest.mark.parametrize("u", [0, 1, 3, 6])
def test_center_vgg_pool5_is_32u_plus_15_5_and_resnet_is_32u(u):
    assert impl.receptive_field_region(impl.vgg16_layers(), 0) == (-90, 121)  # centre 15.5
    assert impl.receptive_field_center(impl.vgg16_layers(), u) == 32 * u + 15.5
    resnet = resnet_longest_path([3, 4, 6, 3], True)
    assert impl.receptive_field_center(resnet, u) == 32 * u


def test_context_module_of_yu_and_koltun_has_rf_67():
    # Yu & Koltun (ICLR 2016) Table 1: 3x3 convs with dilation 1, 1, 2, 4, 8, 16, 1, then 1x1.
    rates = [1, 1, 2, 4, 8, 16, 1]
    per = impl.receptive_field_per_layer([impl.Layer(3, 1, d) for d in rates] + [impl.Layer(1)])
    assert [r for r, _ in per] == [3, 5, 9, 17, 33, 65, 67, 67]


def test_hdc_rule_is_exactly_no_holes_for_rising_rates_from_1():
    """Every non-decreasing rate list that starts at 1 (2 to 5 layers, rates up to 12)."""
    import itertools

    checked = 0
    for n in range(2, 6):
        for rest in itertools.combinations_with_replacement(range(1, 13), n - 1):
            rates = [1, *rest]
            offsets = dil.dilated_offsets(rates)
            no_holes = offsets == set(range(min(offsets), max(offsets) + 1))
            assert (dil.hdc_max_gap(rates) <= 3) == no_holes, rates
            checked += 1
    assert checked == 1819
    # Coprime is not enough: [1, 2, 9] has no common factor and still leaves holes.
    assert math.gcd(2, 9) == 1 and dil.hdc_max_gap([1, 2, 9]) == 5
    assert dil.hdc_max_gap([1, 2, 5]) == 2


@pytest.mark.parametrize("rates", [[2, 2], [1, 2, 5], [1, 2, 9], [1, 3, 2]])
def test_dilated_offsets_are_the_gradient_footprint_of_conv1d(rates):
    net = nn.Sequential(*[nn.Conv1d(1, 1, 3, dilation=r) for r in rates])
    positive_(net, torch.Generator().manual_seed(8))
    size = 2 * sum(rates) + 1
    x = torch.ones(1, 1, size, requires_grad=True)
    net(x)[0, 0, 0].backward()  # the only output position; input index = offset + sum(rates)
    measured = {int(i) - sum(rates) for i in torch.nonzero(x.grad[0, 0])}
    assert measured == dil.dilated_offsets(rates)


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


def compose_kernels(w1: torch.Tensor, w2: torch.Tensor) -> torch.Tensor:
    """One conv kernel equal to conv(w1) then conv(w2), both bias-free, stride 1, no padding.

    Tap (a, b) of w2 reads tap (p, q) of w1 at offset (a + p, b + q), so the merged kernel is
    the 2-D full convolution of the two, summed over the middle channels.
    """
    (d, _, k2, _), (_, c, k1, _) = w2.shape, w1.shape
    merged = w1.new_zeros(d, c, k1 + k2 - 1, k1 + k2 - 1)
    for a in range(k2):
        for b in range(k2):
            merged[:, :, a : a + k1, b : b + k1] += torch.einsum(
                "dm,mckl->dckl", w2[:, :, a, b], w1
            )
    return merged


def test_stacked_linear_convs_are_one_big_conv():
    """VGG §2.3: without the ReLUs, three 3x3 convs are one 7x7 with a restricted kernel."""
    gen = torch.Generator().manual_seed(11)
    for trial in range(cases(50)):
        c, m, d = (int(v) for v in torch.randint(1, 5, (3,), generator=gen))
        k1, k2 = (int(v) for v in torch.randint(1, 5, (2,), generator=gen))
        w1 = torch.randn(m, c, k1, k1, generator=gen, dtype=torch.float64)
        w2 = torch.randn(d, m, k2, k2, generator=gen, dtype=torch.float64)
        x = torch.randn(2, c, 12, 12, generator=gen, dtype=torch.float64)
        inputs = {"trial": trial, "w1.shape": tuple(w1.shape), "w2.shape": tuple(w2.shape)}
        merged = compose_kernels(w1, w2)
        assert merged.shape[-1] == k1 + k2 - 1
        assert_close(F.conv2d(x, merged), F.conv2d(F.conv2d(x, w1), w2), atol=1e-10, inputs=inputs)
    ws = [torch.randn(4, 4, 3, 3, generator=gen, dtype=torch.float64) for _ in range(3)]
    seven = compose_kernels(compose_kernels(ws[0], ws[1]), ws[2])
    assert seven.shape == (4, 4, 7, 7)
    x = torch.randn(1, 4, 15, 15, generator=gen, dtype=torch.float64)
    assert_close(
        F.conv2d(x, seven), F.conv2d(F.conv2d(F.conv2d(x, ws[0]), ws[1]), ws[2]), atol=1e-10
    )


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


def test_erf_over_random_inputs():
    gen = torch.Generator().manual_seed(12)
    linear = nn.Sequential(nn.Conv2d(2, 3, 3), nn.Conv2d(3, 1, 3, dilation=2))
    relu = nn.Sequential(nn.Conv2d(2, 3, 3), nn.ReLU(), nn.Conv2d(3, 1, 3, dilation=2))
    for net in (linear, relu):
        with torch.no_grad():
            for p in net.parameters():
                p.copy_(torch.randn(p.shape, generator=gen))
    # A linear net's gradient does not depend on the input: any sample gives the same map.
    ones = impl.input_gradient_map(linear, (1, 2, 15, 15))
    assert_close(impl.input_gradient_map(linear, (1, 2, 15, 15), n_samples=8), ones, atol=1e-12)
    # With a ReLU it does: the map is the mean over samples, each taken on its own.
    averaged = impl.input_gradient_map(relu, (1, 2, 15, 15), n_samples=8, seed=3)
    xs = torch.randn(
        (8, 2, 15, 15), generator=torch.Generator().manual_seed(3), dtype=torch.float64
    )
    net = relu.double()
    by_hand = torch.zeros(15, 15, dtype=torch.float64)
    for x in xs:
        x = x[None].clone().requires_grad_(True)
        y = net(x)
        y[0, :, y.shape[-2] // 2, y.shape[-1] // 2].sum().backward()
        by_hand += x.grad[0].abs().sum(0) / 8
    assert_close(averaged, by_hand, atol=1e-12)
    assert not torch.allclose(averaged, impl.input_gradient_map(relu, (1, 2, 15, 15)))
    nz = torch.nonzero(averaged > 0)  # support within the 7 x 7 theoretical RF
    assert int(nz[:, 0].max() - nz[:, 0].min()) + 1 <= 7


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
    with raises_naming(TypeError, "net", "nn.Module"):
        impl.input_gradient_map(lambda x: x, (1, 1, 5, 5))
    with raises_naming(ValueError, "n_samples"):
        impl.input_gradient_map(nn.Identity(), (1, 1, 5, 5), n_samples=-1)
    with raises_naming(ValueError, "index"):
        impl.receptive_field_center([(3, 1)], 1.5)
    with raises_naming(ValueError, "rates", "2"):
        dil.hdc_max_gap([3])
    with raises_naming(ValueError, "rates[1]"):
        dil.hdc_max_gap([1, 0, 2])


@pytest.mark.parametrize(
    ("args", "name"), [((0, 3, 1), "channels"), ((4, 0, 1), "kernel_size"), ((4, 3, -1), "depth")]
)
def test_stacked_conv_weights_rejects_impossible_sizes(args, name):
    with raises_naming(ValueError, name, "int >="):
        impl.stacked_conv_weights(*args)
    assert impl.stacked_conv_weights(4, 3, 0) == 0  # an empty stack has no weights


def test_numpy_ints_are_accepted():
    layer = impl.Layer(np.int64(3), np.int64(2), padding=np.int64(1))
    assert layer == impl.Layer(3, 2, 1, 1) and type(layer.kernel_size) is int
    assert impl.receptive_field_region([(3, 1)], np.int64(2)) == (2, 4)
    assert impl.receptive_field_center([(3, 1)], np.int64(2)) == 3.0


# ----------------------------------------------------------------- figures


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_figure_builds(lang):
    from figures.backbone.receptive_field import draw_erf_vs_trf

    fig = draw_erf_vs_trf(lang)
    assert isinstance(fig, Figure) and len(fig.axes) >= 2
