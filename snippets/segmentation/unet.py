"""U-Net (Ronneberger, Fischer & Brox, MICCAI 2015), small enough to read in one sitting.

The paper's network uses *valid* (unpadded) 3x3 convolutions, so every convolution eats one
pixel on each side, the skip tensors are larger than the upsampled decoder tensors and must be
centre-cropped before concatenation, and a 572x572 tile gives a 388x388 segmentation map.
``padding="same"`` is the common modern variant: sizes are kept, no crop is needed, but the
input must be divisible by ``2**depth``.

Conventions used here (checked by ``tests/segmentation/test_unet.py``):

* ``depth`` is the number of 2x2 max-pool steps (4 in the paper); widths double at each step.
* Concatenation order is ``[skip, upsampled]`` along channels (the paper does not fix the order).
* ``up_mode="transpose"`` is the paper's 2x2 "up-convolution" (a stride-2 transposed conv that
  halves the channels); ``"bilinear"`` upsamples and halves channels with a 1x1 conv.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor, nn

Padding = Literal["valid", "same"]
UpMode = Literal["transpose", "bilinear"]


def _check_choice(name: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")


def _check_int(name: str, value: object, minimum: int) -> None:
    # bool is an int subclass and 572.0 would trace float sizes: reject both by name.
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")


def _check_tensor(name: str, value: object, shape: str) -> None:
    if not isinstance(value, Tensor):
        raise TypeError(
            f"{name} must be a torch.Tensor of shape {shape}, got {type(value).__name__}"
        )


# --8<-- [start:output_size]
def trace_sizes(
    input_size: int, depth: int = 4, padding: Padding = "valid"
) -> list[tuple[str, int]]:
    """Spatial size after every stage of a U-Net, for a square ``input_size`` tile.

    Args:
        input_size: side of the input tile in pixels.
        depth: number of 2x2 max-pool steps (4 in the paper).
        padding: ``"valid"`` (paper: each 3x3 conv loses 2 pixels) or ``"same"`` (size kept).

    Returns:
        ``[(stage, size), ...]`` from ``("input", input_size)`` to ``("output", ...)``.
        ``enc{i}`` is the skip tensor of level ``i``, ``dec{i}`` the decoder output at level ``i``.

    Raises:
        ValueError: if a max-pool would see an odd size (the paper asks for even sizes so that
            tiles stitch seamlessly) or a size drops to zero or below; the message names
            ``input_size``.

    Examples:
        >>> trace_sizes(572)[:4]  # 572 -> two valid convs -> 568 -> pool -> 284
        [('input', 572), ('enc1', 568), ('pool1', 284), ('enc2', 280)]
        >>> trace_sizes(64, depth=2, padding="same")[-1]
        ('output', 64)
    """
    _check_choice("padding", padding, ("valid", "same"))
    _check_int("input_size", input_size, 1)
    _check_int("depth", depth, 1)
    # Two 3x3 convs, each removes 1 pixel per side.
    loss = 4 if padding == "valid" else 0
    size, trace = input_size, [("input", input_size)]

    def need(ok: bool, why: str) -> None:
        if not ok:
            net = f"a {padding} U-Net of depth {depth}"
            raise ValueError(f"input_size={input_size} does not fit {net}: {why}")

    for level in range(1, depth + 1):
        size -= loss
        need(size > 0, f"level {level} shrinks to {size} pixels")
        trace.append((f"enc{level}", size))
        odd = f"the 2x2 max-pool at level {level} sees an odd size {size}"
        need(size % 2 == 0, odd)
        size //= 2
        trace.append((f"pool{level}", size))
    size -= loss
    need(size > 0, f"the bottleneck shrinks to {size} pixels")
    trace.append(("bottleneck", size))
    for level in range(depth, 0, -1):
        size = size * 2 - loss  # 2x2 up-convolution doubles, then two 3x3 convs
        need(size > 0, f"decoder level {level} shrinks to {size} pixels")
        trace.append((f"dec{level}", size))
    trace.append(("output", size))  # the final 1x1 conv keeps the size
    return trace


def output_size(input_size: int, depth: int = 4, padding: Padding = "valid") -> int:
    """Side of the segmentation map a U-Net gives for a square ``input_size`` tile.

    Args:
        input_size: side of the input tile in pixels.
        depth: number of 2x2 max-pool steps.
        padding: ``"valid"`` or ``"same"``.

    Returns:
        The output side in pixels; for ``"valid"`` and depth 4 it is ``input_size - 184``.

    Examples:
        >>> output_size(572)  # the paper's Fig. 1
        388
        >>> output_size(256, padding="same")
        256
        >>> output_size(570)
        Traceback (most recent call last):
        ...
        ValueError: input_size=570 does not fit a valid U-Net of depth 4: the 2x2 max-pool ...
    """
    return trace_sizes(input_size, depth, padding)[-1][1]


# --8<-- [end:output_size]


# --8<-- [start:center_crop]
def center_crop(skip: Tensor, target_hw: tuple[int, int] | torch.Size) -> Tensor:
    """Crop the centre ``target_hw`` window of a ``[N, C, H, W]`` skip tensor.

    With odd margins the extra row/column is dropped at the bottom/right. In a valid U-Net the
    margins are always even, so this never matters there.

    Args:
        skip: ``[N, C, H, W]`` encoder feature map.
        target_hw: ``(h, w)`` with ``h <= H`` and ``w <= W``.

    Returns:
        ``[N, C, h, w]`` view of ``skip``.

    Examples:
        >>> skip = torch.zeros(1, 64, 568, 568)  # level-1 skip in the paper
        >>> tuple(center_crop(skip, (392, 392)).shape)  # 88 pixels removed on each side
        (1, 64, 392, 392)
    """
    _check_tensor("skip", skip, "[N, C, H, W]")
    if skip.ndim != 4:
        raise ValueError(f"skip must have shape [N, C, H, W], got {tuple(skip.shape)}")
    h, w = int(target_hw[0]), int(target_hw[1])
    height, width = skip.shape[-2:]
    if not (0 <= h <= height and 0 <= w <= width):
        hw = f"[H, W] = [{height}, {width}]"
        raise ValueError(f"target_hw must fit inside skip's {hw}, got ({h}, {w})")
    top, left = (height - h) // 2, (width - w) // 2
    return skip[..., top : top + h, left : left + w]


# --8<-- [end:center_crop]


# --8<-- [start:unet]
class DoubleConv(nn.Sequential):
    """Two 3x3 conv + ReLU; ``"valid"`` loses 2 pixels per conv, ``"same"`` none."""

    def __init__(self, in_channels: int, out_channels: int, padding: Padding) -> None:
        _check_choice("padding", padding, ("valid", "same"))  # no silent "same"
        pad = 0 if padding == "valid" else 1
        super().__init__(
            nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=pad),
            nn.ReLU(inplace=True),
            nn.Conv2d(out_channels, out_channels, kernel_size=3, padding=pad),
            nn.ReLU(inplace=True),
        )


class UpBlock(nn.Module):
    """Upsample x2 halving channels, crop the skip, concat ``[skip, up]``, convolve."""

    def __init__(
        self, in_channels: int, out_channels: int, padding: Padding, up_mode: UpMode
    ) -> None:
        super().__init__()
        # No silent bilinear for a typo.
        _check_choice("up_mode", up_mode, ("transpose", "bilinear"))
        if in_channels % 2:
            got = in_channels
            raise ValueError(f"in_channels must be even (halved by up), got {got}")
        if up_mode == "transpose":  # the paper's 2x2 "up-convolution"
            half = in_channels // 2
            self.up: nn.Module = nn.ConvTranspose2d(in_channels, half, 2, stride=2)
        else:  # no learned upsampling; a 1x1 conv halves the channels instead
            self.up = nn.Sequential(
                nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False),
                nn.Conv2d(in_channels, in_channels // 2, kernel_size=1),
            )
        self.conv = DoubleConv(in_channels // 2 + out_channels, out_channels, padding)

    def forward(self, x: Tensor, skip: Tensor) -> Tensor:
        x = self.up(x)
        skip = center_crop(skip, x.shape[-2:])  # valid convs made the skip larger
        return self.conv(torch.cat([skip, x], dim=1))


class UNet(nn.Module):
    """Configurable U-Net; the defaults are the paper's (23 conv layers, 572 -> 388).

    Args:
        in_channels: input channels (1 for the paper's grey-scale microscopy).
        num_classes: output channels, one logit map per class.
        depth: number of down/up steps; widths are ``base_width * 2**level``.
        base_width: channels of the first level (64 in the paper).
        padding: ``"valid"`` (paper) or ``"same"``.
        up_mode: ``"transpose"`` (paper) or ``"bilinear"``.

    Examples:
        >>> net = UNet(base_width=2)  # paper layout, thin layers so the doctest is quick
        >>> tuple(net(torch.zeros(1, 1, 572, 572)).shape)
        (1, 2, 388, 388)
        >>> same = UNet(3, 5, depth=2, base_width=8, padding="same")
        >>> tuple(same(torch.zeros(2, 3, 32, 48)).shape)
        (2, 5, 32, 48)
    """

    def __init__(
        self,
        in_channels: int = 1,
        num_classes: int = 2,
        depth: int = 4,
        base_width: int = 64,
        padding: Padding = "valid",
        up_mode: UpMode = "transpose",
    ) -> None:
        super().__init__()
        _check_choice("padding", padding, ("valid", "same"))
        _check_choice("up_mode", up_mode, ("transpose", "bilinear"))
        for name, value in [("in_channels", in_channels), ("num_classes", num_classes)]:
            _check_int(name, value, 1)
        _check_int("depth", depth, 1)
        _check_int("base_width", base_width, 1)
        self.in_channels, self.depth, self.padding = in_channels, depth, padding
        widths = [base_width * 2**level for level in range(depth + 1)]
        # Contracting path: depth levels plus the bottleneck, widths doubling.
        self.down = nn.ModuleList(
            DoubleConv(c_in, c_out, padding)
            for c_in, c_out in zip([in_channels, *widths[:-1]], widths, strict=True)
        )
        self.pool = nn.MaxPool2d(kernel_size=2, stride=2)
        # Expansive path: from the bottleneck back up to level 1.
        self.up = nn.ModuleList(
            UpBlock(widths[level + 1], widths[level], padding, up_mode)
            for level in reversed(range(depth))
        )
        # Per-pixel classifier.
        self.head = nn.Conv2d(base_width, num_classes, kernel_size=1)

    def forward(self, x: Tensor) -> Tensor:
        """``[N, in_channels, H, W]`` -> ``[N, num_classes, H', W']`` logits."""
        _check_tensor("x", x, f"[N, {self.in_channels}, H, W]")
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"x must have shape [N, {self.in_channels}, H, W], got {tuple(x.shape)}"
            )
        if self.padding == "same":
            for side in x.shape[-2:]:
                if side % 2**self.depth:
                    raise ValueError(
                        f"input_size={side} must be divisible by "
                        f"2**depth = {2**self.depth} "
                        "for a same-padded U-Net"
                    )
        else:
            for side in x.shape[-2:]:
                # Raises a ValueError naming the size.
                trace_sizes(side, self.depth, "valid")
        skips = []
        for block in self.down[:-1]:
            x = block(x)
            skips.append(x)  # kept at full resolution for the expansive path
            x = self.pool(x)
        x = self.down[-1](x)  # bottleneck: the widest, coarsest features
        for block, skip in zip(self.up, reversed(skips), strict=True):
            x = block(x, skip)
        return self.head(x)


# --8<-- [end:unet]


# --8<-- [start:num_parameters]
def num_parameters(
    in_channels: int = 1,
    num_classes: int = 2,
    depth: int = 4,
    base_width: int = 64,
    up_mode: UpMode = "transpose",
) -> int:
    """Closed-form parameter count of :class:`UNet` (padding does not change it).

    A ``k x k`` conv from ``c_in`` to ``c_out`` channels with bias has ``(c_in*k*k + 1)*c_out``
    parameters; max-pool, ReLU and crop have none.

    Args:
        in_channels: input channels.
        num_classes: output channels.
        depth: number of down/up steps.
        base_width: channels of the first level.
        up_mode: ``"transpose"`` (2x2 kernel) or ``"bilinear"`` (1x1 kernel after upsampling).

    Returns:
        The number of learnable scalars.

    Examples:
        >>> num_parameters()  # the paper's configuration
        31030658
    """

    # The checks of UNet(...): no count for a network that cannot be built.
    _check_choice("up_mode", up_mode, ("transpose", "bilinear"))
    for name, value in [("in_channels", in_channels), ("num_classes", num_classes)]:
        _check_int(name, value, 1)
    _check_int("depth", depth, 1)
    _check_int("base_width", base_width, 1)

    def conv(c_in: int, c_out: int, k: int) -> int:
        return (c_in * k * k + 1) * c_out

    widths = [base_width * 2**level for level in range(depth + 1)]
    total, c_in = 0, in_channels
    for w in widths:  # contracting path and bottleneck
        total += conv(c_in, w, 3) + conv(w, w, 3)
        c_in = w
    k_up = 2 if up_mode == "transpose" else 1
    for level in reversed(range(depth)):  # expansive path
        w = widths[level]
        total += conv(2 * w, w, k_up)  # up-convolution halves 2w -> w
        # After concatenating [skip (w), up (w)]:
        total += conv(2 * w, w, 3) + conv(w, w, 3)
    return total + conv(base_width, num_classes, 1)


# --8<-- [end:num_parameters]
