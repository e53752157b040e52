"""Receptive field (RF) of a single-path CNN: size, jump (effective stride) and input region.

A layer is described by its kernel size ``k``, stride ``s``, dilation ``d`` and (left/top)
padding ``p``, one spatial axis at a time (square kernels use the same numbers on both axes).
Pooling layers count exactly like convolutions with the same ``k``/``s``/``d``/``p``; element-wise
layers (ReLU, BatchNorm, a residual add of same-sized maps) are ``Layer(1)`` and change nothing.

Convention (Araujo, Norris & Sim, Distill 2019): the input has ``r_0 = 1`` and ``j_0 = 1``, and

    k_eff = d * (k - 1) + 1
    r_l = r_{l-1} + (k_eff_l - 1) * j_{l-1}
    j_l = j_{l-1} * s_l
"""

from __future__ import annotations

import copy
import math
import operator
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor, nn


# --8<-- [start:layer]
@dataclass(frozen=True)
class Layer:
    """One conv or pooling layer along one spatial axis.

    Args:
        kernel_size: ``k >= 1``.
        stride: ``s >= 1``.
        dilation: ``d >= 1``; the kernel then spans ``d * (k - 1) + 1`` input positions.
        padding: ``p >= 0`` zeros added before the first input position. It does not change the
            RF size, only where the RF sits (:func:`receptive_field_region`).

    Examples:
        >>> Layer(3, dilation=2).effective_kernel_size  # taps at 0, 2, 4
        5
    """

    kernel_size: int
    stride: int = 1
    dilation: int = 1
    padding: int = 0

    def __post_init__(self) -> None:
        lows = {"kernel_size": 1, "stride": 1, "dilation": 1, "padding": 0}
        for name, low in lows.items():
            value = _as_int(getattr(self, name), f"Layer.{name}", low)
            object.__setattr__(self, name, value)  # NumPy ints become plain ints

    @property
    def effective_kernel_size(self) -> int:
        """Input positions one output position touches: ``d * (k - 1) + 1``."""
        return self.dilation * (self.kernel_size - 1) + 1


# --8<-- [end:layer]


def _as_int(value: object, name: str, low: int) -> int:
    """``value`` as a Python int >= ``low`` (NumPy ints accepted; bools and floats not)."""
    try:
        if isinstance(value, bool):
            raise TypeError
        value = operator.index(value)  # int, np.int64, ...; rejects 3.0 and "3"
    except TypeError:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}") from None
    if value < low:
        raise ValueError(f"{name} must be an int >= {low}, got {value!r}")
    return value


LayerSpec = Layer | Sequence[int]


def _as_layers(layers: Sequence[LayerSpec]) -> list[Layer]:
    """Accept ``Layer`` objects or tuples ``(k,)``, ``(k, s)``, ``(k, s, d)``, ``(k, s, d, p)``."""
    if isinstance(layers, (str, bytes)) or not isinstance(layers, Sequence):
        raise TypeError(f"layers must be a sequence of Layer or (k, s, d) tuples, got {layers!r}")
    out = []
    for i, spec in enumerate(layers):
        if isinstance(spec, Layer):
            out.append(spec)
        elif isinstance(spec, Sequence) and 1 <= len(spec) <= 4:
            out.append(Layer(*spec))
        else:
            raise TypeError(f"layers[{i}] must be a Layer or a (k, s, d) tuple, got {spec!r}")
    return out


# --8<-- [start:receptive_field]
def receptive_field_per_layer(layers: Sequence[LayerSpec]) -> list[tuple[int, int]]:
    """RF size and jump after every layer, by the forward recurrence.

    Args:
        layers: the path from the input to the feature of interest, first layer first. Each
            item is a :class:`Layer` or a tuple ``(k,)``, ``(k, s)``, ``(k, s, d)`` or
            ``(k, s, d, p)``.

    Returns:
        ``[(r_1, j_1), ..., (r_L, j_L)]``: ``r_l`` is the RF size in input pixels of one
        position of layer ``l``'s output, ``j_l`` the input-pixel distance between two
        neighbouring positions of that output (the product of the strides so far).

    Examples:
        >>> receptive_field_per_layer([(3, 1), (3, 2), (2, 2), (3, 1, 2)])
        [(3, 1), (5, 2), (7, 4), (23, 4)]
    """
    r, j = 1, 1  # one input pixel sees itself; input pixels are 1 pixel apart
    history = []
    for layer in _as_layers(layers):
        # A new layer looks at k_eff neighbouring positions of its input, which lie
        # j apart in the image: the span grows by (k_eff - 1) * j.
        r = r + (layer.effective_kernel_size - 1) * j
        j = j * layer.stride  # striding spreads the outputs s times further apart
        history.append((r, j))
    return history


def receptive_field(layers: Sequence[LayerSpec]) -> tuple[int, int]:
    """RF size and jump of the last layer's output (one spatial axis).

    Args:
        layers: as in :func:`receptive_field_per_layer`.

    Returns:
        ``(r, j)``; an empty path gives ``(1, 1)``.

    Examples:
        Three stacked 3x3 convolutions see as far as one 7x7:

        >>> receptive_field([(3, 1)] * 3), receptive_field([(7, 1)])
        ((7, 1), (7, 1))

        A 3x3 conv with dilation 2 spans 5 pixels, as a 5x5 would:

        >>> receptive_field([Layer(3, dilation=2)])
        (5, 1)
    """
    history = receptive_field_per_layer(layers)
    return history[-1] if history else (1, 1)


# --8<-- [end:receptive_field]


# --8<-- [start:closed_form]
def receptive_field_closed_form(layers: Sequence[LayerSpec]) -> int:
    """RF size from the closed form ``r = 1 + sum_l (k_eff_l - 1) * prod_{i<l} s_i``.

    Args:
        layers: as in :func:`receptive_field_per_layer`.

    Returns:
        The RF size ``r_L`` (equals ``receptive_field(layers)[0]``).

    Examples:
        >>> receptive_field_closed_form([(3, 1), (3, 2), (2, 2), (3, 1, 2)])  # 1+2+2+2+8
        23
    """
    parsed = _as_layers(layers)
    return 1 + sum(
        (layer.effective_kernel_size - 1) * math.prod(p.stride for p in parsed[:i])
        for i, layer in enumerate(parsed)
    )


def receptive_field_top_down(layers: Sequence[LayerSpec]) -> int:
    """RF size walking from the output back: ``r <- s * (r - 1) + k_eff``.

    This is the other form interviewers write on the board: start from one output position
    (``r = 1``) and ask how many positions of the layer below it needs.

    Args:
        layers: as in :func:`receptive_field_per_layer`.

    Returns:
        The RF size ``r_L``.

    Examples:
        >>> receptive_field_top_down([(3, 1), (3, 2), (2, 2), (3, 1, 2)])
        23
    """
    r = 1
    for layer in reversed(_as_layers(layers)):
        # r outputs, s apart, each needing k_eff inputs: (r - 1) * s + k_eff inputs.
        r = layer.stride * (r - 1) + layer.effective_kernel_size
    return r


# --8<-- [end:closed_form]


# --8<-- [start:region]
def receptive_field_region(layers: Sequence[LayerSpec], index: int) -> tuple[int, int]:
    """Input pixels ``[start, end]`` (inclusive) seen by output position ``index``.

    Padding shifts the region: ``start = index * j_L - sum_l p_l * j_{l-1}``. A ``start`` below 0
    or an ``end`` past the image means part of the RF lies on zero padding.

    Args:
        layers: as in :func:`receptive_field_per_layer`, with each layer's padding.
        index: position along one axis of the last layer's output, ``>= 0``.

    Returns:
        ``(start, end)`` with ``end - start + 1 == receptive_field(layers)[0]``.

    Examples:
        VGG-style 3x3 convs with padding 1 keep the RF centred on the output position:

        >>> receptive_field_region([Layer(3, padding=1)] * 3, index=10)
        (7, 13)
    """
    index = _as_int(index, "index", 0)
    start, j = 0, 1
    for layer in _as_layers(layers):
        start -= layer.padding * j  # a pad pixel of this layer is j input pixels wide
        j *= layer.stride
    r, _ = receptive_field(layers)
    start += index * j
    return start, start + r - 1


def receptive_field_center(layers: Sequence[LayerSpec], index: int) -> float:
    """Centre of the region of output position ``index``: ``(start + end) / 2``.

    ``center = index * j_L + sum_l ((k_eff_l - 1) / 2 - p_l) * j_{l-1}``: each layer whose
    padding is not ``(k_eff - 1) / 2`` moves the centre by the difference, in its input's pixels.

    Args:
        layers: as in :func:`receptive_field_region`.
        index: position along one axis of the last layer's output, ``>= 0``.

    Returns:
        The centre in input pixels (a half-integer when the RF size is even).

    Examples:
        ResNet pads every layer by ``(k - 1) / 2``, VGG's 2x2 pools pad nothing:

        >>> receptive_field_center([Layer(7, 2, 1, 3), Layer(3, 2, 1, 1)], index=5)
        20.0
        >>> receptive_field_center(vgg16_layers(), index=0)  # pool5: 32 u + 15.5
        15.5
    """
    index = _as_int(index, "index", 0)
    offset, j = 0.0, 1
    for layer in _as_layers(layers):
        offset += ((layer.effective_kernel_size - 1) / 2 - layer.padding) * j
        j *= layer.stride
    return index * j + offset


# --8<-- [end:region]


# --8<-- [start:vgg16]
# torchvision.models.vgg cfgs["D"]: 3x3 convs (padding 1), 2x2 max-pools with stride 2.
VGG16_NAMES = [
    "conv1_1", "conv1_2", "pool1",
    "conv2_1", "conv2_2", "pool2",
    "conv3_1", "conv3_2", "conv3_3", "pool3",
    "conv4_1", "conv4_2", "conv4_3", "pool4",
    "conv5_1", "conv5_2", "conv5_3", "pool5",
]  # fmt: skip


def vgg16_layers() -> list[Layer]:
    """The 18 conv/pool layers of VGG-16, in ``VGG16_NAMES`` order.

    Returns:
        18 layers: ``Layer(3, 1, 1, 1)`` for a conv, ``Layer(2, 2)`` for a pool.

    Examples:
        >>> rf = dict(zip(VGG16_NAMES, receptive_field_per_layer(vgg16_layers())))
        >>> rf["conv5_3"], rf["pool5"]
        ((196, 16), (212, 32))
    """
    pool, conv = Layer(2, 2), Layer(3, padding=1)
    return [pool if name.startswith("pool") else conv for name in VGG16_NAMES]


# --8<-- [end:vgg16]


# --8<-- [start:params_3x3]
def stacked_conv_weights(channels: int, kernel_size: int, depth: int) -> int:
    """Weights (no bias) of ``depth`` stacked ``k x k`` convs, ``C`` in and out.

    Args:
        channels: ``C``, input and output channels of every layer.
        kernel_size: ``k`` of every layer.
        depth: number of layers.

    Returns:
        ``depth * k * k * C * C``, counted from real ``nn.Conv2d`` modules.

    Examples:
        Same RF (7), fewer weights, two more non-linearities: 27C^2 against 49C^2.

        >>> C = 64
        >>> stacked_conv_weights(C, 3, 3), 27 * C * C
        (110592, 110592)
        >>> stacked_conv_weights(C, 7, 1), 49 * C * C
        (200704, 200704)
    """
    channels = _as_int(channels, "channels", 1)
    kernel_size = _as_int(kernel_size, "kernel_size", 1)
    depth = _as_int(depth, "depth", 0)
    # device="meta": real modules, shapes only (no memory, no init); we only count.
    stack = nn.Sequential(
        *[
            nn.Conv2d(channels, channels, kernel_size, bias=False, device="meta")
            for _ in range(depth)
        ]
    )
    return sum(p.numel() for p in stack.parameters())


# --8<-- [end:params_3x3]


# --8<-- [start:erf]
def input_gradient_map(
    net: nn.Module,
    input_shape: tuple[int, int, int, int],
    n_samples: int = 0,
    seed: int = 0,
) -> Tensor:
    """|dy/dx| for the centre output ``y``: the effective receptive field (ERF).

    Luo et al. (NIPS 2016) measure the ERF this way: back-propagate a gradient of 1 from one
    output position (summed over output channels) and look at its magnitude on the input.

    Args:
        net: a fully convolutional module mapping ``[N, C, H, W]`` to ``[N, C', H', W']``;
            it runs in eval mode on a float64 copy.
        input_shape: ``(1, C, H, W)``.
        n_samples: ``0`` uses one all-ones input. For a linear net the gradient does not
            depend on the input, so that is exact; with ReLUs it does, and Luo et al. average
            the magnitude over many inputs: ``n_samples > 0`` averages over that many
            standard-normal inputs drawn with ``seed``.
        seed: seed of those inputs.

    Returns:
        ``[H, W]`` tensor: the gradient magnitude summed over input channels (and averaged
        over samples). Its non-zero support is at most the theoretical RF; its mass is
        usually concentrated near the centre.

    Examples:
        >>> net = nn.Conv2d(1, 1, 3, bias=False)
        >>> _ = nn.init.constant_(net.weight, 1.0)
        >>> g = input_gradient_map(net, (1, 1, 5, 5))
        >>> g.shape, int((g > 0).sum())  # a 3x3 kernel: a 3x3 footprint
        (torch.Size([5, 5]), 9)
    """
    if not isinstance(net, nn.Module):
        raise TypeError(f"net must be an nn.Module, got {type(net).__name__}")
    if len(input_shape) != 4 or input_shape[0] != 1:
        raise ValueError(f"input_shape must be (1, C, H, W), got {tuple(input_shape)}")
    n_samples = _as_int(n_samples, "n_samples", 0)
    if n_samples == 0:
        x = torch.ones(input_shape, dtype=torch.float64)
    else:  # samples in the batch dimension: each sample's output depends on itself only
        gen = torch.Generator().manual_seed(seed)
        shape = (n_samples, *input_shape[1:])
        x = torch.randn(shape, generator=gen, dtype=torch.float64)
    x.requires_grad_(True)
    # float64 and eval mode (BatchNorm must not mix samples), on a copy: the caller's
    # module is left as is.
    y = copy.deepcopy(net).double().eval()(x)
    cy, cx = y.shape[-2] // 2, y.shape[-1] // 2
    y[:, :, cy, cx].sum().backward()
    assert x.grad is not None
    return x.grad.abs().sum(dim=1).mean(dim=0)


# --8<-- [end:erf]
