"""2D convolution written in NumPy, with the semantics of ``torch.nn.functional.conv2d``.

Like PyTorch (and every deep-learning library), "convolution" here is **cross-correlation**: the
kernel slides over the input without being flipped. ``convolve2d_true`` shows the textbook
convolution, which flips the kernel first.

Shapes follow PyTorch: ``input [N, C_in, H, W]``, ``weight [C_out, C_in / groups, kH, kW]``,
``bias [C_out]``, output ``[N, C_out, H_out, W_out]`` with

    H_out = floor((H + 2 * padding_h - dilation_h * (kH - 1) - 1) / stride_h) + 1

and the same for ``W_out``. Padding is an int or ``(pH, pW)`` of zeros on both sides (the strings
``"same"``/``"valid"`` of ``F.conv2d`` are not supported). Integer arrays are accumulated in 64 bits,
so a ``uint8`` image does not wrap around (``F.conv2d`` rejects integer tensors on the CPU).
Backward passes, pooling and the transposed-conv sizes are in ``conv_numpy_backward.py``.
"""

from __future__ import annotations

import numpy as np

IntPair = int | tuple[int, int]


def _pair(value: IntPair, name: str, minimum: int) -> tuple[int, int]:
    """Turn ``3`` into ``(3, 3)`` and check ``(h, w)`` pairs; every entry must be ``>= minimum``."""
    pair = value if isinstance(value, tuple | list) else (value, value)
    if len(pair) != 2 or not all(
        isinstance(v, int | np.integer) and not isinstance(v, bool) for v in pair
    ):
        raise TypeError(f"{name} must be an int or a pair (h, w) of ints, got {value!r}")
    if min(pair) < minimum:
        kind = "positive" if minimum == 1 else "non-negative"
        raise ValueError(f"{name} must be {kind} (every entry >= {minimum}), got {value!r}")
    return int(pair[0]), int(pair[1])


def _check_array(x: object, name: str, shape: str) -> np.ndarray:
    if not isinstance(x, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray of shape {shape}, got {type(x).__name__}")
    if x.dtype.kind not in "iuf":
        raise TypeError(f"{name} must hold integers or floats, got dtype {x.dtype}")
    return x


def conv_output_size(size: int, kernel: int, stride: int, padding: int, dilation: int) -> int:
    """Output length along one axis (PyTorch ``Conv2d`` docs, "Shape" section).

    Args:
        size: input length ``H`` (or ``W``).
        kernel: kernel length ``kH``.
        stride: step between windows.
        padding: zeros added on *each* side.
        dilation: gap between kernel taps; the window spans ``dilation * (kernel - 1) + 1``.

    Returns:
        ``floor((size + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1``.

    Examples:
        >>> conv_output_size(224, 7, stride=2, padding=3, dilation=1)  # ResNet stem
        112
        >>> conv_output_size(5, 3, stride=1, padding=0, dilation=2)  # window spans 5
        1
    """
    args = {"size": size, "kernel": kernel, "stride": stride, "padding": padding}
    for name, value in {**args, "dilation": dilation}.items():
        if not isinstance(value, int | np.integer) or isinstance(value, bool):
            raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    for name, value, minimum in (("kernel", kernel, 1), ("stride", stride, 1),
                                 ("dilation", dilation, 1), ("size", size, 0),
                                 ("padding", padding, 0)):  # fmt: skip
        if value < minimum:
            raise ValueError(f"{name} must be >= {minimum}, got {value}")
    span = dilation * (kernel - 1) + 1  # without this check the formula returns sizes <= 0
    if span > size + 2 * padding:
        raise ValueError(
            f"kernel spans {span} (dilation {dilation}) but size + 2 * padding is only "
            f"{size + 2 * padding}: no window fits"
        )
    return (size + 2 * padding - span) // stride + 1


def _check_input(input: object) -> np.ndarray:
    x = _check_array(input, "input", "[N, C_in, H, W]")
    if x.ndim != 4:
        raise ValueError(f"input must have shape [N, C_in, H, W], got {x.shape}")
    return x


def _check_windows(
    input: np.ndarray,
    kernel_hw: tuple[int, int],
    stride: IntPair,
    padding: IntPair,
    dilation: IntPair,
    kernel_name: str,
) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int], tuple[int, int]]:
    """Check the window arguments; return ``stride, padding, dilation, (H_out, W_out)`` as pairs."""
    stride_hw = _pair(stride, "stride", 1)
    padding_hw = _pair(padding, "padding", 0)
    dilation_hw = _pair(dilation, "dilation", 1)
    out_hw = []
    for axis in (0, 1):
        size, k = input.shape[2 + axis], kernel_hw[axis]
        s, p, d = stride_hw[axis], padding_hw[axis], dilation_hw[axis]
        span = d * (k - 1) + 1  # how far one dilated window reaches
        if span > size + 2 * p:
            raise ValueError(
                f"{kernel_name}: the dilated kernel spans {span} but the padded input is only "
                f"{size + 2 * p} along {'HW'[axis]} (input {input.shape}, padding {padding_hw}, "
                f"dilation {dilation_hw})"
            )
        out_hw.append(conv_output_size(size, k, s, p, d))
    return stride_hw, padding_hw, dilation_hw, (out_hw[0], out_hw[1])


def _check_conv_args(
    input: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None,
    stride: IntPair,
    padding: IntPair,
    dilation: IntPair,
    groups: int,
) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int], tuple[int, int]]:
    """Validate like ``F.conv2d``; return ``stride, padding, dilation, (H_out, W_out)`` as pairs."""
    _check_input(input)
    _check_array(weight, "weight", "[C_out, C_in/groups, kH, kW]")
    if weight.ndim != 4:
        raise ValueError(f"weight must have shape [C_out, C_in/groups, kH, kW], got {weight.shape}")
    if not isinstance(groups, int | np.integer) or isinstance(groups, bool) or groups < 1:
        raise ValueError(f"groups must be a positive int, got {groups!r}")
    c_in, (c_out, c_per_group, kh, kw) = input.shape[1], weight.shape
    if c_in % groups != 0:
        raise ValueError(f"groups={groups} must divide the input channels C_in={c_in}")
    if c_out % groups != 0:
        raise ValueError(f"groups={groups} must divide the output channels weight.shape[0]={c_out}")
    if c_per_group * groups != c_in:
        raise ValueError(
            f"weight must have shape [C_out, C_in/groups, kH, kW] = [{c_out}, {c_in // groups}, "
            f"kH, kW] for input with C_in={c_in} and groups={groups}, got {weight.shape}"
        )
    if min(c_out, kh, kw) < 1:
        raise ValueError(f"weight must have C_out, kH, kW >= 1, got {weight.shape}")
    if bias is not None:
        _check_array(bias, "bias", "[C_out]")
        if bias.shape != (c_out,):
            raise ValueError(f"bias must have shape [C_out] = [{c_out}], got {bias.shape}")
    return _check_windows(input, (kh, kw), stride, padding, dilation, "weight")


def _accumulator(*arrays: np.ndarray) -> np.dtype:
    """Integers add up in 64 bits (as ``np.sum`` does): in uint8, 200 * 9 = 1800 wraps to 8."""
    dtype = np.result_type(*arrays)
    if dtype.kind in "iu":
        return np.dtype(np.int64 if dtype.kind == "i" else np.uint64)
    return dtype


def _zero_pad(input: np.ndarray, padding: tuple[int, int]) -> np.ndarray:
    ph, pw = padding
    return np.pad(input, ((0, 0), (0, 0), (ph, ph), (pw, pw)))  # zeros on both sides of H and W


# --8<-- [start:conv2d_naive]
def conv2d_naive(
    input: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: IntPair = 1,
    padding: IntPair = 0,
    dilation: IntPair = 1,
    groups: int = 1,
) -> np.ndarray:
    """Loop version of ``torch.nn.functional.conv2d``: one window per output cell.

    Args:
        input: ``[N, C_in, H, W]`` array.
        weight: ``[C_out, C_in / groups, kH, kW]`` kernels (not flipped: cross-correlation).
        bias: optional ``[C_out]`` added to every output position of each channel.
        stride: step of the window, int or ``(sH, sW)``.
        padding: zeros added on each side, int or ``(pH, pW)``.
        dilation: spacing between kernel taps, int or ``(dH, dW)``.
        groups: split input and output channels into this many independent groups.

    Returns:
        ``[N, C_out, H_out, W_out]`` array (see ``conv_output_size``).

    Examples:
        >>> image = np.arange(1, 10, dtype=float).reshape(1, 1, 3, 3)  # [[1,2,3],[4,5,6],[7,8,9]]
        >>> kernel = np.array([[1.0, 0.0], [0.0, -1.0]]).reshape(1, 1, 2, 2)
        >>> conv2d_naive(image, kernel)[0, 0].tolist()  # top-left window: 1*1 + 5*(-1) = -4
        [[-4.0, -4.0], [-4.0, -4.0]]
        >>> x = np.ones((2, 4, 7, 6))
        >>> conv2d_naive(x, np.ones((6, 2, 3, 1)), stride=2, padding=1, groups=2).shape
        (2, 6, 4, 4)
    """
    stride, padding, dilation, (h_out, w_out) = _check_conv_args(
        input, weight, bias, stride, padding, dilation, groups
    )
    (sh, sw), (dh, dw) = stride, dilation
    n_batch = input.shape[0]
    c_out, c_per_group, kh, kw = weight.shape
    out_per_group = c_out // groups
    acc = _accumulator(input, weight)  # uint8 products would overflow: widen first
    x, weight = _zero_pad(input, padding).astype(acc), weight.astype(acc)
    out = np.zeros((n_batch, c_out, h_out, w_out), dtype=acc)
    for n in range(n_batch):
        for oc in range(c_out):
            g = oc // out_per_group  # output channel oc sees only group g's inputs
            channels = slice(g * c_per_group, (g + 1) * c_per_group)
            for i in range(h_out):
                for j in range(w_out):
                    top, left = i * sh, j * sw
                    # Dilation takes every dh-th row / dw-th column of the span.
                    rows = slice(top, top + dh * (kh - 1) + 1, dh)
                    cols = slice(left, left + dw * (kw - 1) + 1, dw)
                    window = x[n, channels, rows, cols]  # [C_in/groups, kH, kW]
                    # No flip: cross-correlation.
                    out[n, oc, i, j] = np.sum(window * weight[oc])
    if bias is not None:
        out = out + bias.reshape(1, c_out, 1, 1)
    return out


# --8<-- [end:conv2d_naive]


# --8<-- [start:im2col]
def im2col(
    input: np.ndarray,
    kernel_size: IntPair,
    stride: IntPair = 1,
    padding: IntPair = 0,
    dilation: IntPair = 1,
) -> np.ndarray:
    """Unfold every sliding window into a column (the layout of ``F.unfold``).

    Args:
        input: ``[N, C, H, W]`` array.
        kernel_size: ``kH`` and ``kW``, int or pair.
        stride: int or ``(sH, sW)``.
        padding: int or ``(pH, pW)`` zeros on each side.
        dilation: int or ``(dH, dW)``.

    Returns:
        ``[N, C * kH * kW, H_out * W_out]``: row ``c * kH * kW + a * kW + b`` holds tap
        ``(a, b)`` of channel ``c``, one column per window. With stride 1 and "same" padding this
        copy is ``kH * kW`` times larger than the input.

    Examples:
        >>> x = np.arange(16).reshape(1, 1, 4, 4)  # rows [0..3], [4..7], [8..11], [12..15]
        >>> im2col(x, kernel_size=2, stride=2)[0]  # column j = the j-th 2x2 window, flattened
        array([[ 0,  2,  8, 10],
               [ 1,  3,  9, 11],
               [ 4,  6, 12, 14],
               [ 5,  7, 13, 15]])
    """
    _check_input(input)
    kh, kw = _pair(kernel_size, "kernel_size", 1)
    (sh, sw), padding, (dh, dw), (h_out, w_out) = _check_windows(
        input, (kh, kw), stride, padding, dilation, "kernel_size"
    )
    x = _zero_pad(input, padding)
    span_h, span_w = dh * (kh - 1) + 1, dw * (kw - 1) + 1
    # A strided *view* of every span_h x span_w window, no copy yet:
    # [N, C, H_p - span_h + 1, W_p - span_w + 1, span_h, span_w].
    windows = np.lib.stride_tricks.sliding_window_view(x, (span_h, span_w), axis=(2, 3))
    # Every stride-th window, every dilation-th tap: [N, C, H_out, W_out, kH, kW].
    windows = windows[:, :, ::sh, ::sw, ::dh, ::dw][:, :, :h_out, :w_out]
    n, c = input.shape[:2]
    # [N, C, kH, kW, H_out, W_out] -> [N, C*kH*kW, L]: this reshape copies.
    return windows.transpose(0, 1, 4, 5, 2, 3).reshape(n, c * kh * kw, h_out * w_out)


# --8<-- [end:im2col]


# --8<-- [start:conv2d]
def conv2d(
    input: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: IntPair = 1,
    padding: IntPair = 0,
    dilation: IntPair = 1,
    groups: int = 1,
) -> np.ndarray:
    """Fast ``F.conv2d``: im2col, then one batched matrix multiplication.

    Args:
        input: ``[N, C_in, H, W]`` array.
        weight: ``[C_out, C_in / groups, kH, kW]`` kernels (not flipped: cross-correlation).
        bias: optional ``[C_out]``.
        stride: int or ``(sH, sW)``.
        padding: int or ``(pH, pW)`` zeros on each side.
        dilation: int or ``(dH, dW)``.
        groups: number of independent channel groups (``groups == C_in`` is depthwise).

    Returns:
        ``[N, C_out, H_out, W_out]`` array, equal to ``conv2d_naive`` up to rounding.

    Examples:
        >>> rng = np.random.default_rng(0)
        >>> x, w = rng.normal(size=(2, 4, 9, 8)), rng.normal(size=(6, 2, 3, 2))
        >>> b = rng.normal(size=6)
        >>> args = dict(stride=(2, 1), padding=1, dilation=(1, 2), groups=2)
        >>> y = conv2d(x, w, b, **args)
        >>> y.shape  # H: (9 + 2 - 2 - 1) // 2 + 1 = 5, W: (8 + 2 - 2 - 1) // 1 + 1 = 8
        (2, 6, 5, 8)
        >>> np.allclose(y, conv2d_naive(x, w, b, **args))
        True
    """
    stride, padding, dilation, (h_out, w_out) = _check_conv_args(
        input, weight, bias, stride, padding, dilation, groups
    )
    n = input.shape[0]
    c_out, c_per_group, kh, kw = weight.shape
    acc = _accumulator(input, weight)  # int64 for integer inputs, else unchanged
    cols = im2col(input.astype(acc, copy=False), (kh, kw), stride, padding, dilation)
    # cols is [N, C_in*kH*kW, L]; a group's channels are contiguous rows, so they split
    # cleanly: cols [N, G, (C_in/G)*kH*kW, L], weights [G, C_out/G, (C_in/G)*kH*kW].
    cols = cols.reshape(n, groups, c_per_group * kh * kw, h_out * w_out)
    w_mat = weight.astype(acc, copy=False).reshape(groups, c_out // groups, -1)
    out = np.matmul(w_mat[None], cols)  # [N, G, C_out/G, L]: a GEMM per (image, group)
    out = out.reshape(n, c_out, h_out, w_out)
    if bias is not None:
        out = out + bias.reshape(1, c_out, 1, 1)
    return out


# --8<-- [end:conv2d]


# --8<-- [start:conv2d_shift_add]
def conv2d_shift_add(
    input: np.ndarray,
    weight: np.ndarray,
    bias: np.ndarray | None = None,
    stride: IntPair = 1,
    padding: IntPair = 0,
    dilation: IntPair = 1,
    groups: int = 1,
) -> np.ndarray:
    """``F.conv2d`` without a column matrix: one small product per kernel tap.

    Args:
        input: ``[N, C_in, H, W]`` array.
        weight: ``[C_out, C_in / groups, kH, kW]`` kernels (not flipped).
        bias: optional ``[C_out]``.
        stride: int or ``(sH, sW)``.
        padding: int or ``(pH, pW)`` zeros on each side.
        dilation: int or ``(dH, dW)``.
        groups: number of independent channel groups.

    Returns:
        ``[N, C_out, H_out, W_out]``, equal to ``conv2d`` up to rounding.

    Examples:
        >>> rng = np.random.default_rng(1)
        >>> x, w = rng.normal(size=(2, 4, 7, 6)), rng.normal(size=(6, 2, 3, 3))
        >>> y = conv2d_shift_add(x, w, stride=2, padding=1, groups=2)
        >>> np.allclose(y, conv2d(x, w, stride=2, padding=1, groups=2))
        True
    """
    stride, padding, dilation, (h_out, w_out) = _check_conv_args(
        input, weight, bias, stride, padding, dilation, groups
    )
    (sh, sw), (dh, dw) = stride, dilation
    n = input.shape[0]
    c_out, c_per_group, kh, kw = weight.shape
    acc = _accumulator(input, weight)
    x = _zero_pad(input, padding).astype(acc)
    x = x.reshape(n, groups, c_per_group, *x.shape[2:])  # [N, G, C_in/G, H_p, W_p]
    w = weight.astype(acc).reshape(groups, c_out // groups, c_per_group, kh, kw)
    out = np.zeros((n, groups, c_out // groups, h_out, w_out), dtype=acc)
    for a in range(kh):  # kH * kW iterations, whatever the image size
        for b in range(kw):
            # Tap (a, b) of every window at once, [N, G, C/G, H_out, W_out].
            rows = slice(a * dh, a * dh + sh * (h_out - 1) + 1, sh)
            cols = slice(b * dw, b * dw + sw * (w_out - 1) + 1, sw)
            out += np.einsum("ngchw,goc->ngohw", x[..., rows, cols], w[..., a, b])
    out = out.reshape(n, c_out, h_out, w_out)
    if bias is not None:
        out = out + bias.reshape(1, c_out, 1, 1)
    return out


# --8<-- [end:conv2d_shift_add]


# --8<-- [start:convolve2d_true]
def convolve2d_true(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """Textbook 2D convolution (kernel flipped), ``valid`` mode, single channel.

    ``(I * K)[i, j] = sum_{a, b} I[i + a, j + b] * K[kH - 1 - a, kW - 1 - b]``: flipping the kernel
    in both axes turns cross-correlation (what ``conv2d`` computes) into convolution.

    Args:
        image: ``[H, W]`` array.
        kernel: ``[kH, kW]`` array with ``kH <= H`` and ``kW <= W``.

    Returns:
        ``[H - kH + 1, W - kW + 1]`` array.

    Examples:
        >>> image = np.arange(1, 10).reshape(3, 3)
        >>> kernel = np.array([[1, 0], [0, -1]])
        >>> convolve2d_true(image, kernel).tolist()  # flipped kernel [[-1,0],[0,1]]: -1 + 5 = 4
        [[4, 4], [4, 4]]
    """
    if _check_array(image, "image", "[H, W]").ndim != 2:
        raise ValueError(f"image must have shape [H, W], got {image.shape}")
    if _check_array(kernel, "kernel", "[kH, kW]").ndim != 2:
        raise ValueError(f"kernel must have shape [kH, kW], got {kernel.shape}")
    if kernel.shape[0] > image.shape[0] or kernel.shape[1] > image.shape[1]:
        shapes = f"kernel {kernel.shape} must fit inside image {image.shape}"
        raise ValueError(f"{shapes} (valid mode)")
    flipped = kernel[::-1, ::-1]  # the only difference from cross-correlation
    return conv2d(image[None, None], np.ascontiguousarray(flipped)[None, None])[0, 0]


# --8<-- [end:convolve2d_true]
