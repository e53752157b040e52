"""RoI Pool and RoI Align, mirroring ``torchvision.ops.roi_pool`` / ``roi_align`` (0.29.1, CPU).

Conventions (same as torchvision):

* ``input`` is ``[N, C, H, W]``; ``boxes`` is ``[K, 5]`` rows ``(batch_index, x1, y1, x2, y2)``
  in image coordinates, or a list of ``[L, 4]`` tensors, one per image;
* ``spatial_scale`` maps image coordinates to feature-map coordinates (1/16 for stride 16);
* the feature value at integer index ``(i, j)`` sits at coordinate ``(i, j)``: RoI Align with
  ``aligned=False`` samples at ``x * spatial_scale``, with ``aligned=True`` at
  ``x * spatial_scale - 0.5`` (pixel centres, Detectron2's fix).

``bilinear_interpolate`` mirrors ``F.interpolate(mode="bilinear", antialias=False)``.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor


def _pair(value: int | tuple[int, int], name: str) -> tuple[int, int]:
    pair = (value, value) if isinstance(value, int) else value
    if (
        not isinstance(pair, tuple | list)
        or len(pair) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in pair)
    ):
        raise TypeError(f"{name} must be an int or a pair (height, width) of ints, got {value!r}")
    if min(pair) < 1:
        raise ValueError(f"{name} must be positive, got {value!r}")
    return (pair[0], pair[1])


def _check_input(input: Tensor) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(
            f"input must be a torch.Tensor of shape [N, C, H, W], got {type(input).__name__}"
        )
    if input.ndim != 4 or not input.is_floating_point():
        raise ValueError(
            f"input must be a float tensor of shape [N, C, H, W], got {input.dtype} {tuple(input.shape)}"
        )


def _check_roi_args(
    input: Tensor,
    boxes: Tensor | list[Tensor],
    output_size: int | tuple[int, int],
    spatial_scale: float,
) -> tuple[Tensor, tuple[int, int]]:
    """Validate the common arguments; return boxes as a ``[K, 5]`` tensor and ``(PH, PW)``."""
    _check_input(input)
    if isinstance(boxes, list | tuple):  # one [L, 4] tensor per image -> [K, 5] with the index
        for b in boxes:
            if not isinstance(b, Tensor):
                raise TypeError(
                    "boxes must be a torch.Tensor of shape [K, 5] or a list of [L, 4] tensors, "
                    f"got a list of {type(b).__name__}"
                )
            if b.ndim != 2 or b.shape[1] != 4:
                raise ValueError(
                    f"boxes given as a list must hold [L, 4] tensors, got {tuple(b.shape)}"
                )
        parts = [torch.cat([torch.full_like(b[:, :1], i), b], 1) for i, b in enumerate(boxes)]
        boxes = torch.cat(parts) if parts else input.new_zeros(0, 5)
    if not isinstance(boxes, Tensor):
        raise TypeError(f"boxes must be a torch.Tensor of shape [K, 5], got {type(boxes).__name__}")
    if boxes.ndim != 2 or boxes.shape[1] != 5:
        raise ValueError(
            f"boxes must have shape [K, 5] (batch index, x1, y1, x2, y2), got {tuple(boxes.shape)}"
        )
    if boxes.dtype != input.dtype:  # torchvision: "input should have the same type as rois"
        raise TypeError(f"boxes must have the dtype of input ({input.dtype}), got {boxes.dtype}")
    if not bool(torch.isfinite(boxes).all()):
        raise ValueError("boxes must be finite")
    idx = boxes[:, 0]
    if bool(((idx != idx.floor()) | (idx < 0) | (idx >= input.shape[0])).any()):
        raise ValueError(f"boxes[:, 0] must be integer batch indices in [0, {input.shape[0] - 1}]")
    if isinstance(spatial_scale, bool) or not isinstance(spatial_scale, int | float):
        raise TypeError(f"spatial_scale must be a float, got {type(spatial_scale).__name__}")
    if not (math.isfinite(spatial_scale) and spatial_scale > 0):
        raise ValueError(f"spatial_scale must be a finite float > 0, got {spatial_scale}")
    return boxes, _pair(output_size, "output_size")


def _check_align_args(sampling_ratio: int, aligned: bool) -> None:
    if isinstance(sampling_ratio, bool) or not isinstance(sampling_ratio, int):
        raise TypeError(f"sampling_ratio must be an int, got {type(sampling_ratio).__name__}")
    if not isinstance(aligned, bool):
        raise TypeError(f"aligned must be a bool, got {type(aligned).__name__}")


# --8<-- [start:bilinear_interpolate]
def bilinear_interpolate(
    input: Tensor, size: int | tuple[int, int], align_corners: bool = False
) -> Tensor:
    """Resize by bilinear interpolation, as ``F.interpolate(input, size, mode="bilinear")``.

    Args:
        input: ``[N, C, H, W]`` float tensor.
        size: output ``(H_out, W_out)``, or one int for both.
        align_corners: ``True`` maps the corner pixels onto each other, ``x_src = x * (in-1)/(out-1)``;
            ``False`` maps pixel centres, ``x_src = (x + 0.5) * in/out - 0.5``.

    Returns:
        ``[N, C, H_out, W_out]`` tensor.

    Examples:
        >>> x = torch.tensor([[[[0.0, 1.0]]]])
        >>> [round(v, 4) for v in bilinear_interpolate(x, (1, 4), align_corners=True).flatten().tolist()]
        [0.0, 0.3333, 0.6667, 1.0]
        >>> bilinear_interpolate(x, (1, 4)).flatten().tolist()  # sources -0.25->0, .25, .75, 1.25
        [0.0, 0.25, 0.75, 1.0]
    """
    _check_input(input)
    out_h, out_w = _pair(size, "size")
    if not isinstance(align_corners, bool):
        raise TypeError(f"align_corners must be a bool, got {type(align_corners).__name__}")

    def taps(n_in: int, n_out: int) -> tuple[Tensor, Tensor, Tensor]:
        dst = torch.arange(n_out, dtype=input.dtype, device=input.device)
        if align_corners:  # first and last pixel centres coincide
            src = dst * ((n_in - 1) / (n_out - 1) if n_out > 1 else 0.0)
        else:  # pixel centres (x + 0.5) scale by in/out; negative sources clamp to 0
            src = ((dst + 0.5) * (n_in / n_out) - 0.5).clamp(min=0)
        lo = src.floor().long().clamp(max=n_in - 1)
        hi = (lo + 1).clamp(max=n_in - 1)  # past the last pixel: repeat it
        return lo, hi, src - lo

    y0, y1, ly = taps(input.shape[2], out_h)
    x0, x1, lx = taps(input.shape[3], out_w)
    rows = input[:, :, y0, :] * (1 - ly)[:, None] + input[:, :, y1, :] * ly[:, None]
    return rows[..., x0] * (1 - lx) + rows[..., x1] * lx


# --8<-- [end:bilinear_interpolate]


# --8<-- [start:sample_bilinear]
def sample_bilinear(input: Tensor, batch: Tensor, y: Tensor, x: Tensor) -> Tensor:
    """Bilinear value of ``input[batch, :, y, x]`` at real ``(y, x)``, torchvision's RoI rule.

    A point more than one pixel outside the map (``y < -1``, ``y > H``, same for ``x``) gives 0;
    otherwise negative coordinates clamp to 0 and coordinates past the last pixel to ``H - 1``.

    Args:
        input: ``[N, C, H, W]`` feature maps.
        batch: int64 image index of each point; ``batch``, ``y``, ``x`` broadcast to a shape ``S``.
        y: row coordinates.
        x: column coordinates.

    Returns:
        ``[*S, C]`` interpolated features.

    Examples:
        >>> f = torch.tensor([[[[0.0, 1.0], [2.0, 3.0]]]])
        >>> b = torch.tensor(0)
        >>> ys, xs = torch.tensor([0.5, -0.5, -1.5, 1.7]), torch.tensor([0.5, 1.0, 1.0, 1.0])
        >>> sample_bilinear(f, b, ys, xs).flatten().tolist()  # centre, clamped, zeroed, last row
        [1.5, 1.0, 0.0, 3.0]
    """
    batch, y, x = torch.broadcast_tensors(batch, y, x)
    height, width = input.shape[-2:]
    outside = (y < -1) | (y > height) | (x < -1) | (x > width)  # contributes nothing
    y, x = y.clamp(min=0), x.clamp(min=0)
    y_low, x_low = y.floor().long(), x.floor().long()
    top_y, top_x = y_low >= height - 1, x_low >= width - 1  # on or past the last row/column
    y_low, x_low = y_low.clamp(max=height - 1), x_low.clamp(max=width - 1)
    y_high = torch.where(top_y, y_low, y_low + 1)
    x_high = torch.where(top_x, x_low, x_low + 1)
    ly = torch.where(top_y, 0.0, y - y_low)[..., None]  # weight of the lower neighbour row
    lx = torch.where(top_x, 0.0, x - x_low)[..., None]
    value = (
        (1 - ly) * (1 - lx) * input[batch, :, y_low, x_low]
        + (1 - ly) * lx * input[batch, :, y_low, x_high]
        + ly * (1 - lx) * input[batch, :, y_high, x_low]
        + ly * lx * input[batch, :, y_high, x_high]
    )
    return torch.where(outside[..., None], 0.0, value)


# --8<-- [end:sample_bilinear]


# --8<-- [start:roi_align_naive]
def roi_align_naive(
    input: Tensor,
    boxes: Tensor | list[Tensor],
    output_size: int | tuple[int, int],
    spatial_scale: float = 1.0,
    sampling_ratio: int = -1,
    aligned: bool = False,
) -> Tensor:
    """RoI Align with explicit loops over RoIs, bins and sample points (slow, for reading).

    Args:
        input: ``[N, C, H, W]`` feature maps.
        boxes: ``[K, 5]`` rows ``(batch_index, x1, y1, x2, y2)`` or a list of ``[L, 4]``.
        output_size: ``(PH, PW)`` bins, or one int.
        spatial_scale: image-to-feature-map scale of the box coordinates.
        sampling_ratio: sample points per bin and axis; ``<= 0``: ``ceil(roi_size / PH)``.
        aligned: shift the box by -0.5 pixel (pixel-centre model).

    Returns:
        ``[K, C, PH, PW]`` pooled features.

    Examples:
        >>> f = torch.arange(16.0).view(1, 1, 4, 4)  # f(y, x) = 4y + x, linear
        >>> roi_align_naive(f, torch.tensor([[0.0, 0, 0, 2, 2]]), 1).item()  # f(1, 1)
        5.0
    """
    boxes, (ph_n, pw_n) = _check_roi_args(input, boxes, output_size, spatial_scale)
    _check_align_args(sampling_ratio, aligned)
    out = input.new_zeros(boxes.shape[0], input.shape[1], ph_n, pw_n)
    offset = 0.5 if aligned else 0.0
    for k, (b, *box) in enumerate(boxes.tolist()):
        x1, y1, x2, y2 = (v * spatial_scale - offset for v in box)  # no rounding
        roi_w, roi_h = x2 - x1, y2 - y1
        if not aligned:  # legacy: force malformed RoIs to at least 1x1
            roi_w, roi_h = max(roi_w, 1.0), max(roi_h, 1.0)
        bin_w, bin_h = roi_w / pw_n, roi_h / ph_n
        grid_h = sampling_ratio if sampling_ratio > 0 else math.ceil(roi_h / ph_n)
        grid_w = sampling_ratio if sampling_ratio > 0 else math.ceil(roi_w / pw_n)
        count = max(grid_h * grid_w, 1)
        for i in range(ph_n):
            for j in range(pw_n):
                total = input.new_zeros(input.shape[1])
                for iy in range(grid_h):  # sample points at the centres of a grid_h x grid_w grid
                    y = y1 + i * bin_h + (iy + 0.5) * bin_h / grid_h
                    for ix in range(grid_w):
                        x = x1 + j * bin_w + (ix + 0.5) * bin_w / grid_w
                        point = input.new_tensor([y, x])
                        total = total + sample_bilinear(input, torch.tensor(int(b)), *point)
                out[k, :, i, j] = total / count  # average of the samples
    return out


# --8<-- [end:roi_align_naive]


# --8<-- [start:roi_align]
def roi_align_grid(
    boxes: Tensor,
    output_size: tuple[int, int],
    spatial_scale: float = 1.0,
    sampling_ratio: int = -1,
    aligned: bool = False,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Sample coordinates of every RoI, bin and grid point (per axis).

    Args:
        boxes: ``[K, 5]`` rows ``(batch_index, x1, y1, x2, y2)``.
        output_size: ``(PH, PW)``.
        spatial_scale: image-to-feature-map scale.
        sampling_ratio: points per bin and axis, ``<= 0`` for adaptive.
        aligned: shift by -0.5 pixel.

    Returns:
        ``(y, x, grid_h, grid_w)``: ``y`` ``[K, PH, G_h]`` and ``x`` ``[K, PW, G_w]`` (padded to
        the largest grid), and the ``[K]`` int64 grid sizes actually used by each RoI.

    Examples:
        >>> y, x, gh, gw = roi_align_grid(torch.tensor([[0.0, 0, 0, 4, 2]]), (1, 2))
        >>> x.flatten().tolist(), gh.tolist(), gw.tolist()  # 2 points per bin along x
        ([0.5, 1.5, 2.5, 3.5], [2], [2])
    """
    offset = 0.5 if aligned else 0.0
    x1, y1, x2, y2 = (boxes[:, 1:] * spatial_scale - offset).unbind(1)
    roi_w, roi_h = x2 - x1, y2 - y1
    if not aligned:
        roi_w, roi_h = roi_w.clamp(min=1.0), roi_h.clamp(min=1.0)
    axes = []
    for start, size, n_bins in ((y1, roi_h, output_size[0]), (x1, roi_w, output_size[1])):
        bin_size = size / n_bins
        if sampling_ratio > 0:
            grid = torch.full_like(size, sampling_ratio, dtype=torch.long)
        else:  # adaptive: about one sample per feature-map pixel
            grid = torch.ceil(size / n_bins).long().clamp(min=0)
        g_max = max(int(grid.max()), 1) if grid.numel() else 1
        b = torch.arange(n_bins, device=boxes.device)[None, :, None]
        g = torch.arange(g_max, device=boxes.device)[None, None, :]
        step = (g + 0.5) * bin_size[:, None, None] / grid.clamp(min=1)[:, None, None]
        axes.append((start[:, None, None] + b * bin_size[:, None, None] + step, grid))
    (y, grid_h), (x, grid_w) = axes
    return y, x, grid_h, grid_w


def roi_align(
    input: Tensor,
    boxes: Tensor | list[Tensor],
    output_size: int | tuple[int, int],
    spatial_scale: float = 1.0,
    sampling_ratio: int = -1,
    aligned: bool = False,
) -> Tensor:
    """RoI Align, all sample points gathered at once (mirrors ``torchvision.ops.roi_align``).

    Args:
        input: ``[N, C, H, W]`` feature maps.
        boxes: ``[K, 5]`` rows ``(batch_index, x1, y1, x2, y2)`` or a list of ``[L, 4]``.
        output_size: ``(PH, PW)`` bins, or one int.
        spatial_scale: image-to-feature-map scale of the box coordinates.
        sampling_ratio: sample points per bin and axis; ``<= 0``: ``ceil(roi_size / PH)``.
        aligned: shift the box by -0.5 pixel (pixel-centre model).

    Returns:
        ``[K, C, PH, PW]`` pooled features.

    Examples:
        >>> f = torch.arange(16.0).view(1, 1, 4, 4)  # f(y, x) = 4y + x
        >>> box = torch.tensor([[0.0, 0, 0, 2, 2]])
        >>> roi_align(f, box, 1).item(), roi_align(f, box, 1, aligned=True).item()
        (5.0, 2.5)
    """
    boxes, (ph_n, pw_n) = _check_roi_args(input, boxes, output_size, spatial_scale)
    _check_align_args(sampling_ratio, aligned)
    y, x, grid_h, grid_w = roi_align_grid(
        boxes, (ph_n, pw_n), spatial_scale, sampling_ratio, aligned
    )
    batch = boxes[:, 0].long()[:, None, None, None, None]
    # [K, PH, PW, G_h, G_w]: every sample point of every bin of every RoI
    values = sample_bilinear(input, batch, y[:, :, None, :, None], x[:, None, :, None, :])
    keep_y = torch.arange(y.shape[2], device=y.device) < grid_h[:, None]  # padding is not a sample
    keep_x = torch.arange(x.shape[2], device=x.device) < grid_w[:, None]
    keep = keep_y[:, None, None, :, None] & keep_x[:, None, None, None, :]
    values = torch.where(keep[..., None], values, 0.0)
    count = (grid_h * grid_w).clamp(min=1).to(input.dtype)
    out = values.sum((3, 4)) / count[:, None, None, None]  # [K, PH, PW, C]
    return out.permute(0, 3, 1, 2)


# --8<-- [end:roi_align]


def _round_half_away(v: Tensor) -> Tensor:
    """C's ``round``: halves go away from zero (``torch.round`` sends 2.5 to 2)."""
    return torch.sign(v) * torch.floor(v.abs() + 0.5)


# --8<-- [start:roi_pool_naive]
def roi_pool_naive(
    input: Tensor,
    boxes: Tensor | list[Tensor],
    output_size: int | tuple[int, int],
    spatial_scale: float = 1.0,
) -> Tensor:
    """RoI Pool (Fast R-CNN) with loops: round the box, floor/ceil the bins, max in each bin.

    Args:
        input: ``[N, C, H, W]`` feature maps.
        boxes: ``[K, 5]`` rows ``(batch_index, x1, y1, x2, y2)`` or a list of ``[L, 4]``.
        output_size: ``(PH, PW)`` bins, or one int.
        spatial_scale: image-to-feature-map scale of the box coordinates.

    Returns:
        ``[K, C, PH, PW]``; an empty bin gives 0.

    Examples:
        >>> f = torch.arange(16.0).view(1, 1, 4, 4)
        >>> roi_pool_naive(f, torch.tensor([[0.0, 0, 0, 2, 2]]), 2).flatten().tolist()
        [5.0, 6.0, 9.0, 10.0]
    """
    boxes, (ph_n, pw_n) = _check_roi_args(input, boxes, output_size, spatial_scale)
    height, width = input.shape[-2:]
    out = input.new_zeros(boxes.shape[0], input.shape[1], ph_n, pw_n)
    for k in range(boxes.shape[0]):
        b = int(boxes[k, 0])
        x1, y1, x2, y2 = _round_half_away(boxes[k, 1:] * spatial_scale).long().tolist()
        roi_w, roi_h = max(x2 - x1 + 1, 1), max(y2 - y1 + 1, 1)  # +1: pixels, both ends
        bin_w, bin_h = roi_w / pw_n, roi_h / ph_n
        for i in range(ph_n):
            h0 = min(max(math.floor(i * bin_h) + y1, 0), height)
            h1 = min(max(math.ceil((i + 1) * bin_h) + y1, 0), height)
            for j in range(pw_n):
                w0 = min(max(math.floor(j * bin_w) + x1, 0), width)
                w1 = min(max(math.ceil((j + 1) * bin_w) + x1, 0), width)
                if h1 > h0 and w1 > w0:  # an empty bin stays 0
                    out[k, :, i, j] = input[b, :, h0:h1, w0:w1].amax(dim=(1, 2))
    return out


# --8<-- [end:roi_pool_naive]


# --8<-- [start:roi_pool]
def roi_pool_bins(
    boxes: Tensor, output_size: tuple[int, int], spatial_scale: float, height: int, width: int
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Integer bin windows of RoI Pool: rows ``[h0, h1)`` and columns ``[w0, w1)``.

    Args:
        boxes: ``[K, 5]`` rows ``(batch_index, x1, y1, x2, y2)``.
        output_size: ``(PH, PW)``.
        spatial_scale: image-to-feature-map scale.
        height: feature map height ``H`` (windows are clipped to it).
        width: feature map width ``W``.

    Returns:
        ``(h0, h1, w0, w1)``: int64 ``[K, PH]``, ``[K, PH]``, ``[K, PW]``, ``[K, PW]``.

    Examples:
        >>> h0, h1, w0, w1 = roi_pool_bins(torch.tensor([[0.0, 0, 0, 2, 2]]), (2, 2), 1.0, 4, 4)
        >>> h0.tolist(), h1.tolist()  # 3 rows in 2 bins: [0, 2) and [1, 3) overlap
        ([[0, 1]], [[2, 3]])
    """
    corners = _round_half_away(boxes[:, 1:] * spatial_scale).long()  # quantisation 1
    windows = []
    for lo, hi, n_bins, limit in ((1, 3, output_size[0], height), (0, 2, output_size[1], width)):
        start = corners[:, lo]
        size = (corners[:, hi] - start + 1).clamp(min=1)
        bin_size = size.to(boxes.dtype)[:, None] / n_bins
        b = torch.arange(n_bins, device=boxes.device, dtype=boxes.dtype)
        first = torch.floor(b * bin_size).long() + start[:, None]  # quantisation 2
        last = torch.ceil((b + 1) * bin_size).long() + start[:, None]
        windows += [first.clamp(0, limit), last.clamp(0, limit)]
    return tuple(windows)


def roi_pool(
    input: Tensor,
    boxes: Tensor | list[Tensor],
    output_size: int | tuple[int, int],
    spatial_scale: float = 1.0,
) -> Tensor:
    """RoI Pool, vectorised over RoIs and bins (mirrors ``torchvision.ops.roi_pool``).

    Args:
        input: ``[N, C, H, W]`` feature maps.
        boxes: ``[K, 5]`` rows ``(batch_index, x1, y1, x2, y2)`` or a list of ``[L, 4]``.
        output_size: ``(PH, PW)`` bins, or one int.
        spatial_scale: image-to-feature-map scale of the box coordinates.

    Returns:
        ``[K, C, PH, PW]``; an empty bin gives 0.

    Examples:
        >>> f = torch.arange(16.0).view(1, 1, 4, 4)
        >>> roi_pool(f, torch.tensor([[0.0, 0, 0, 2, 2]]), 1).item()  # rows/cols 0..2
        10.0
    """
    boxes, size = _check_roi_args(input, boxes, output_size, spatial_scale)
    height, width = input.shape[-2:]
    h0, h1, w0, w1 = roi_pool_bins(boxes, size, spatial_scale, height, width)
    rows = torch.arange(height, device=input.device)
    cols = torch.arange(width, device=input.device)
    in_row = (rows >= h0[..., None]) & (rows < h1[..., None])  # [K, PH, H]
    in_col = (cols >= w0[..., None]) & (cols < w1[..., None])  # [K, PW, W]
    feat = input[boxes[:, 0].long()]  # [K, C, H, W]
    # A max over a rectangle is a max over its columns, then over its rows.
    col_max = feat[:, :, :, None, :].masked_fill(~in_col[:, None, None], -math.inf).amax(-1)
    out = col_max[:, :, None].masked_fill(~in_row[:, None, :, :, None], -math.inf).amax(3)
    empty = (h1 <= h0)[:, :, None] | (w1 <= w0)[:, None, :]  # [K, PH, PW]
    return out.masked_fill(empty[:, None], 0.0)


# --8<-- [end:roi_pool]
