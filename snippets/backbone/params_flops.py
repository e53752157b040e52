"""Parameters, multiply-accumulates (MACs) and output size of ``nn.Conv2d`` and ``nn.Linear``.

Conventions used on this page:

* **MACs** (multiply-accumulate operations) count one multiply plus one add as 1.
  ``MACs = H_out * W_out * C_out * (C_in / groups) * k_h * k_w`` per image; bias adds are ignored.
* **FLOPs** is ambiguous. ``torch.utils.flop_counter.FlopCounterMode`` reports 2 FLOPs per MAC;
  fvcore's ``FlopCountAnalysis`` reports 1 "flop" per fused multiply-add. Always say which.
* Sizes follow ``torch.nn.Conv2d``: integer ``padding`` adds ``p`` zeros on **both** sides.
"""

from __future__ import annotations

import copy

import torch
from torch import nn

IntPair = int | tuple[int, int]


def _pair(value: IntPair, name: str, minimum: int) -> tuple[int, int]:
    """``3 -> (3, 3)``; checks type and lower bound and names the argument on failure."""
    pair = (value, value) if isinstance(value, int) else value
    if (
        not isinstance(pair, tuple)
        or len(pair) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in pair)
    ):
        raise TypeError(f"{name} must be an int or a pair of ints (h, w), got {value!r}")
    if min(pair) < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value!r}")
    return pair


def _check_channels(
    in_channels: int,
    out_channels: int,
    groups: int,
    names: tuple[str, str] = ("in_channels", "out_channels"),
) -> None:
    for name, value in ((names[0], in_channels), (names[1], out_channels), ("groups", groups)):
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{name} must be an int, got {value!r}")
        if value < 1:
            raise ValueError(f"{name} must be >= 1, got {value}")
    if in_channels % groups or out_channels % groups:
        raise ValueError(
            f"groups={groups} must divide both {names[0]}={in_channels} "
            f"and {names[1]}={out_channels}"
        )


# --8<-- [start:params]
def conv2d_params(
    in_channels: int,
    out_channels: int,
    kernel_size: IntPair,
    groups: int = 1,
    bias: bool = True,
) -> int:
    """Learnable parameters of ``nn.Conv2d(in_channels, out_channels, kernel_size, groups=, bias=)``.

    The weight has shape ``[C_out, C_in / groups, k_h, k_w]`` (PyTorch ``Conv2d`` docs): each
    output channel sees only the ``C_in / groups`` input channels of its group. The bias is one
    number per output channel.

    Args:
        in_channels: ``C_in``.
        out_channels: ``C_out``.
        kernel_size: ``k`` or ``(k_h, k_w)``.
        groups: must divide both channel counts; ``groups == C_in`` is a depthwise conv.
        bias: whether the layer has a bias.

    Returns:
        ``(C_in / groups * k_h * k_w + bias) * C_out``.

    Examples:
        >>> conv2d_params(64, 128, 3)              # (64*9 + 1) * 128
        73856
        >>> conv2d_params(64, 128, 3, bias=False)  # 64*9*128
        73728
        >>> conv2d_params(64, 64, 3, groups=64)    # depthwise: (1*9 + 1) * 64
        640
        >>> conv2d_params(32, 64, (1, 7), groups=4, bias=False)  # 8*7*64
        3584
    """
    _check_channels(in_channels, out_channels, groups)
    k_h, k_w = _pair(kernel_size, "kernel_size", 1)
    per_output_channel = (in_channels // groups) * k_h * k_w + (1 if bias else 0)
    return per_output_channel * out_channels


def linear_params(in_features: int, out_features: int, bias: bool = True) -> int:
    """Parameters of ``nn.Linear(in_features, out_features, bias=)``: ``(in + bias) * out``.

    Args:
        in_features: size of the last input dimension.
        out_features: size of the last output dimension.
        bias: whether the layer has a bias.

    Returns:
        The parameter count; equals ``conv2d_params(in, out, 1, bias=bias)``.

    Examples:
        >>> linear_params(768, 3072), conv2d_params(768, 3072, 1)
        (2362368, 2362368)
    """
    _check_channels(in_features, out_features, 1, names=("in_features", "out_features"))
    return (in_features + (1 if bias else 0)) * out_features


# --8<-- [end:params]


# --8<-- [start:output_size]
def conv2d_output_size(
    size: IntPair,
    kernel_size: IntPair,
    stride: IntPair = 1,
    padding: IntPair = 0,
    dilation: IntPair = 1,
) -> tuple[int, int]:
    """Spatial output size of ``nn.Conv2d`` (also ``MaxPool2d``/``AvgPool2d`` with ``ceil_mode=False``).

    ``out = floor((in + 2 * padding - dilation * (kernel_size - 1) - 1) / stride) + 1`` per axis
    (PyTorch ``Conv2d`` docs, section "Shape").

    Args:
        size: input ``H`` or ``(H, W)``.
        kernel_size: ``k`` or ``(k_h, k_w)``.
        stride: ``s`` or ``(s_h, s_w)``, ``>= 1``.
        padding: zeros added on each side, ``p`` or ``(p_h, p_w)``, ``>= 0``.
        dilation: ``d`` or ``(d_h, d_w)``, ``>= 1``.

    Returns:
        ``(H_out, W_out)``.

    Examples:
        >>> conv2d_output_size(224, 7, stride=2, padding=3)  # ResNet stem: (224 + 6 - 7) // 2 + 1
        (112, 112)
        >>> conv2d_output_size((56, 56), 3, padding=1)        # "same" for odd k, stride 1
        (56, 56)
        >>> conv2d_output_size((32, 17), (3, 5), stride=(2, 1), dilation=(1, 2))
        (15, 9)
    """
    in_h, in_w = _pair(size, "size", 1)
    k_h, k_w = _pair(kernel_size, "kernel_size", 1)
    s_h, s_w = _pair(stride, "stride", 1)
    p_h, p_w = _pair(padding, "padding", 0)
    d_h, d_w = _pair(dilation, "dilation", 1)
    out = []
    for axis, n, k, s, p, d in (("H", in_h, k_h, s_h, p_h, d_h), ("W", in_w, k_w, s_w, p_w, d_w)):
        span = d * (k - 1) + 1  # input positions one dilated window covers
        if span > n + 2 * p:
            raise ValueError(
                f"kernel_size {kernel_size!r} with dilation {dilation!r} spans {span} along {axis}, "
                f"more than the padded input size {n + 2 * p}"
            )
        # Window starts 0, s, 2s, ... while the window still fits: floor division.
        out.append((n + 2 * p - span) // s + 1)
    return out[0], out[1]


# --8<-- [end:output_size]


# --8<-- [start:macs]
def conv2d_macs(
    in_channels: int,
    out_channels: int,
    kernel_size: IntPair,
    input_size: IntPair,
    stride: IntPair = 1,
    padding: IntPair = 0,
    dilation: IntPair = 1,
    groups: int = 1,
) -> int:
    """Multiply-accumulates of one ``nn.Conv2d`` forward pass on one image (bias excluded).

    Every output element is a dot product of length ``C_in / groups * k_h * k_w``. Zero padding
    is counted as if it were data, as every common counter does.

    Args:
        in_channels: ``C_in``.
        out_channels: ``C_out``.
        kernel_size: ``k`` or ``(k_h, k_w)``.
        input_size: ``H`` or ``(H, W)`` of the input feature map.
        stride: as in ``nn.Conv2d``.
        padding: as in ``nn.Conv2d`` (integers only).
        dilation: as in ``nn.Conv2d``; it changes the output size, not the work per output.
        groups: as in ``nn.Conv2d``.

    Returns:
        ``H_out * W_out * C_out * (C_in / groups) * k_h * k_w``. Multiply by the batch size for a
        batch, and by 2 for FLOPs in the ``FlopCounterMode`` convention.

    Examples:
        >>> conv2d_macs(3, 64, 7, 224, stride=2, padding=3)  # ResNet stem: 112*112*64*3*49
        118013952
    """
    _check_channels(in_channels, out_channels, groups)
    h_out, w_out = conv2d_output_size(input_size, kernel_size, stride, padding, dilation)
    k_h, k_w = _pair(kernel_size, "kernel_size", 1)
    return h_out * w_out * out_channels * (in_channels // groups) * k_h * k_w


# --8<-- [end:macs]


# --8<-- [start:separable]
def separable_vs_standard(
    in_channels: int, out_channels: int, kernel_size: int, input_size: int
) -> dict[str, int]:
    """Weights (no bias) and MACs of a standard conv vs depthwise + pointwise (stride 1, "same").

    Args:
        in_channels: ``C_in``.
        out_channels: ``C_out``.
        kernel_size: odd ``k`` of the standard and of the depthwise conv.
        input_size: ``H = W`` of the input; padding ``k // 2`` keeps it.

    Returns:
        ``{"standard_params", "separable_params", "standard_macs", "separable_macs"}``.

    Examples:
        3x3, 256 -> 256 channels on a 56x56 map (a ResNet stage-1 size):

        >>> c = separable_vs_standard(256, 256, 3, 56)
        >>> c["standard_params"], c["separable_params"]   # 256*9*256 vs 256*9 + 256*256
        (589824, 67840)
        >>> c["standard_macs"], c["separable_macs"]       # params * 56 * 56 for both
        (1849688064, 212746240)
        >>> round(c["separable_macs"] / c["standard_macs"], 4), round(1 / 256 + 1 / 9, 4)
        (0.115, 0.115)
    """
    if isinstance(kernel_size, int) and not isinstance(kernel_size, bool) and kernel_size % 2 == 0:
        # An even k has no symmetric "same" padding: k // 2 would grow the map by one.
        raise ValueError(f"kernel_size must be odd for 'same' padding, got {kernel_size}")
    p = kernel_size // 2
    depthwise = dict(kernel_size=kernel_size, groups=in_channels)
    return {
        "standard_params": conv2d_params(in_channels, out_channels, kernel_size, bias=False),
        "separable_params": conv2d_params(in_channels, in_channels, bias=False, **depthwise)
        + conv2d_params(in_channels, out_channels, 1, bias=False),
        "standard_macs": conv2d_macs(in_channels, out_channels, kernel_size, input_size, padding=p),
        "separable_macs": conv2d_macs(
            in_channels, in_channels, input_size=input_size, padding=p, **depthwise
        )
        + conv2d_macs(in_channels, out_channels, 1, input_size),
    }


# --8<-- [end:separable]


# --8<-- [start:fold_bn]
def fold_bn(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> nn.Conv2d:
    """One ``nn.Conv2d`` that computes ``bn(conv(x))`` for a BN in eval mode.

    Inference then pays for the conv alone.

    Examples:
        >>> conv, bn = nn.Conv2d(3, 4, 3, bias=False), nn.BatchNorm2d(4).eval()
        >>> fold_bn(conv, bn).bias.shape  # the folded conv always has a bias
        torch.Size([4])
    """
    if not isinstance(conv, nn.Conv2d) or not isinstance(bn, nn.BatchNorm2d):
        names = f"{type(conv).__name__}, {type(bn).__name__}"
        raise TypeError(f"need an nn.Conv2d and an nn.BatchNorm2d, got {names}")
    if bn.training or bn.running_var is None or bn.num_features != conv.out_channels:
        msg = "bn must be in eval mode, keep running stats and have conv.out_channels"
        raise ValueError(msg)  # training-mode BN uses batch statistics: nothing to fold
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)  # gamma / sigma
    bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
    fused = copy.deepcopy(conv)  # same kernel, stride, padding, groups, dilation
    with torch.no_grad():
        # W' = W * gamma / sigma, the scale broadcast over output channels (dim 0)
        fused.weight.copy_(conv.weight * scale.reshape(-1, 1, 1, 1))
        # b' = beta + (b - mu) * gamma / sigma
        fused.bias = nn.Parameter((bias - bn.running_mean) * scale + bn.bias)
    return fused


# --8<-- [end:fold_bn]


def _check_int(value: int, name: str, minimum: int) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return value


def _vit_sizes(img_size, patch_size, in_chans, embed_dim, depth, mlp_ratio, num_prefix_tokens):
    """Checked sizes shared by ``vit_params`` and ``vit_macs``: (tokens, patch dim, D, hidden)."""
    (h, w), (ph, pw) = _pair(img_size, "img_size", 1), _pair(patch_size, "patch_size", 1)
    if ph > h or pw > w:
        raise ValueError(f"patch_size {patch_size!r} is larger than img_size {img_size!r}")
    for name, value, low in (
        ("in_chans", in_chans, 1),
        ("embed_dim", embed_dim, 1),
        ("depth", depth, 0),
        ("num_prefix_tokens", num_prefix_tokens, 0),
    ):
        _check_int(value, name, low)  # fmt: skip
    if isinstance(mlp_ratio, bool) or not isinstance(mlp_ratio, int | float) or mlp_ratio <= 0:
        raise ValueError(f"mlp_ratio must be a positive number, got {mlp_ratio!r}")
    patches = (h // ph) * (w // pw)  # timm floors a size that is not a multiple of the patch
    return patches, ph * pw * in_chans, embed_dim, int(embed_dim * mlp_ratio)


# --8<-- [start:transformer]
def vit_params(
    img_size: IntPair = 224,
    patch_size: IntPair = 16,
    in_chans: int = 3,
    embed_dim: int = 768,
    depth: int = 12,
    mlp_ratio: float = 4.0,
    num_classes: int = 1000,
    num_prefix_tokens: int = 1,
) -> int:
    """Parameters of a timm-style ViT; the number of heads does not change it.

    Per block (hidden ``H = mlp_ratio * D``): ``qkv`` 3D² + 3D, ``proj`` D² + D, MLP 2DH + H + D,
    two LayerNorms 4D; with ``H = 4D`` that is ``12 D² + 13 D``.

    Examples:
        >>> vit_params()  # ViT-B/16: 12 blocks * 7,087,872 + embeddings, final LN and head
        86567656
        >>> vit_params(img_size=384) - vit_params()  # only pos_embed grows: (577 - 197) * 768
        291840
    """
    patches, patch_dim, d, hidden = _vit_sizes(
        img_size, patch_size, in_chans, embed_dim, depth, mlp_ratio, num_prefix_tokens
    )
    _check_int(num_classes, "num_classes", 0)
    attn = 4 * d * d + 4 * d  # qkv (3D^2 + 3D) and proj (D^2 + D)
    block = attn + 2 * d * hidden + hidden + d + 4 * d  # + fc1, fc2, two LayerNorms
    embed = patch_dim * d + d + num_prefix_tokens * d  # patch proj, [class]/registers
    pos = (patches + num_prefix_tokens) * d  # timm: prefix tokens get a row too
    head = num_classes * (d + 1)
    return embed + pos + depth * block + 2 * d + head  # 2 * d: the final LayerNorm


def vit_macs(
    img_size: IntPair = 224,
    patch_size: IntPair = 16,
    in_chans: int = 3,
    embed_dim: int = 768,
    depth: int = 12,
    mlp_ratio: float = 4.0,
    num_classes: int = 1000,
    num_prefix_tokens: int = 1,
) -> dict[str, int]:
    """Multiply-accumulates of one ViT forward pass on one image, by where they happen.

    With ``N`` tokens, width ``D`` and MLP hidden ``H``, one block costs ``N (4D² + 2DH)`` in
    its Linear layers (``12 N D²`` for ``H = 4D``) and ``2 N² D`` in attention (``Q Kᵀ`` and
    ``A V``; the heads split ``D``, so their number drops out). Softmax, LN, GELU: not counted.

    Examples:
        >>> m = vit_macs()  # ViT-B/16 at 224: N = 197
        >>> m["total"], round(m["attention"] / m["total"], 3)
        (17563828224, 0.041)
        >>> vit_macs(img_size=384)["total"]  # N = 577: x3.16, while N^2 grew x8.6
        55484350464
    """
    patches, patch_dim, d, hidden = _vit_sizes(
        img_size, patch_size, in_chans, embed_dim, depth, mlp_ratio, num_prefix_tokens
    )
    _check_int(num_classes, "num_classes", 0)
    n = patches + num_prefix_tokens  # tokens in every block
    macs = {
        "patch_embed": patches * patch_dim * d,  # a Linear per patch (strided conv)
        "linear": depth * n * (4 * d * d + 2 * d * hidden),  # qkv + proj, fc1 + fc2
        "attention": depth * 2 * n * n * d,  # Q K^T and A V: N x N x D each
        "head": num_classes * d,  # on one pooled token
    }
    macs["total"] = sum(macs.values())
    return macs


# --8<-- [end:transformer]
