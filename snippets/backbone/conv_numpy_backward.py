"""Backward passes in NumPy: conv2d through col2im, max and average pooling, and the size
formulas an interviewer asks next (transposed conv, pooling with ``ceil_mode``, TensorFlow "SAME").

Shapes and semantics follow PyTorch: ``col2im`` is ``torch.nn.functional.fold``, the gradients
are what autograd returns for ``F.conv2d``, ``F.max_pool2d`` and ``F.avg_pool2d``.
"""

from __future__ import annotations

import numpy as np

from snippets.backbone.conv_numpy import (
    IntPair,
    _check_array,
    _check_conv_args,
    _check_input,
    _pair,
    conv_output_size,
    im2col,
)


def _check_ints(minimum: int, **values: object) -> None:
    """Every value must be an int (not a list, float or bool) and ``>= minimum``."""
    for name, value in values.items():
        if not isinstance(value, int | np.integer) or isinstance(value, bool):
            raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
        if value < minimum:
            raise ValueError(f"{name} must be >= {minimum}, got {value}")


def _add_windows(target: np.ndarray, taps: np.ndarray, stride: tuple, dilation: tuple) -> None:
    """Add ``taps [N, C, kH, kW, H_out, W_out]`` onto the windows of ``target [N, C, H_p, W_p]``."""
    (sh, sw), (dh, dw) = stride, dilation
    _, _, kh, kw, h_out, w_out = taps.shape
    for a in range(kh):  # kH * kW slice additions, each vectorised over N, C and all windows
        for b in range(kw):
            rows = slice(a * dh, a * dh + sh * (h_out - 1) + 1, sh)
            cols = slice(b * dw, b * dw + sw * (w_out - 1) + 1, sw)
            target[:, :, rows, cols] += taps[:, :, a, b]  # overlapping windows add up


def _check_col2im_args(cols, output_size, kernel_size, stride, padding, dilation) -> tuple:
    """Check ``col2im``'s arguments; return them as pairs, plus the window grid (H_out, W_out)."""
    _check_array(cols, "cols", "[N, C*kH*kW, L]")
    if cols.ndim != 3:
        raise ValueError(f"cols must have shape [N, C*kH*kW, L], got {cols.shape}")
    h, w = _pair(output_size, "output_size", 1)
    kh, kw = _pair(kernel_size, "kernel_size", 1)
    stride = _pair(stride, "stride", 1)
    padding = _pair(padding, "padding", 0)
    dilation = _pair(dilation, "dilation", 1)
    h_out = conv_output_size(h, kh, stride[0], padding[0], dilation[0])
    w_out = conv_output_size(w, kw, stride[1], padding[1], dilation[1])
    if cols.shape[1] % (kh * kw) or cols.shape[2] != h_out * w_out:
        raise ValueError(
            f"cols must have shape [N, C*kH*kW, L] with kH*kW = {kh * kw} and "
            f"L = H_out*W_out = {h_out * w_out} for output_size {(h, w)}, got {cols.shape}"
        )
    return (h, w), (kh, kw), stride, padding, dilation, (h_out, w_out)


# --8<-- [start:col2im]
def col2im(
    cols: np.ndarray,
    output_size: IntPair,
    kernel_size: IntPair,
    stride: IntPair = 1,
    padding: IntPair = 0,
    dilation: IntPair = 1,
) -> np.ndarray:
    """Adjoint of ``im2col`` (``F.fold``): add every column back onto its window.

    Args:
        cols: ``[N, C * kH * kW, L]`` columns in ``im2col``'s layout.
        output_size: ``(H, W)`` of the image the columns came from.
        kernel_size: ``kH`` and ``kW`` given to ``im2col``, int or pair.
        stride: the ``im2col`` stride, int or ``(sH, sW)``.
        padding: the ``im2col`` padding, int or ``(pH, pW)``.
        dilation: the ``im2col`` dilation, int or ``(dH, dW)``.

    Returns:
        ``[N, C, H, W]``; a pixel covered by several windows receives the sum of their entries.

    Examples:
        >>> cover = col2im(np.ones((1, 9, 4)), (4, 4), 3)  # how many 3x3 windows touch a pixel
        >>> cover[0, 0].astype(int).tolist()
        [[1, 2, 2, 1], [2, 4, 4, 2], [2, 4, 4, 2], [1, 2, 2, 1]]
    """
    (h, w), (kh, kw), stride, padding, dilation, (h_out, w_out) = _check_col2im_args(
        cols, output_size, kernel_size, stride, padding, dilation
    )
    n, c, (ph, pw) = cols.shape[0], cols.shape[1] // (kh * kw), padding
    out = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=cols.dtype)
    _add_windows(out, cols.reshape(n, c, kh, kw, h_out, w_out), stride, dilation)
    return out[:, :, ph : ph + h, pw : pw + w]  # drop what landed on the padding


# --8<-- [end:col2im]


# --8<-- [start:conv2d_backward]
def conv2d_backward(
    grad_output: np.ndarray,
    input: np.ndarray,
    weight: np.ndarray,
    stride: IntPair = 1,
    padding: IntPair = 0,
    dilation: IntPair = 1,
    groups: int = 1,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradients of ``conv2d`` (im2col + GEMM) with respect to input, weight and bias.

    Args:
        grad_output: ``[N, C_out, H_out, W_out]``, the gradient of the loss w.r.t. the output.
        input: the forward input ``[N, C_in, H, W]``.
        weight: the forward weight ``[C_out, C_in / groups, kH, kW]``.
        stride: as in the forward ``conv2d``.
        padding: as in the forward ``conv2d``.
        dilation: as in the forward ``conv2d``.
        groups: as in the forward ``conv2d``.

    Returns:
        ``(grad_input [N, C_in, H, W], grad_weight like weight, grad_bias [C_out])``.

    Examples:
        >>> x, w = np.ones((1, 1, 3, 3)), np.ones((1, 1, 2, 2))
        >>> dx, dw, db = conv2d_backward(np.ones((1, 1, 2, 2)), x, w)
        >>> dx[0, 0].tolist()  # each input pixel is read by this many windows
        [[1.0, 2.0, 1.0], [2.0, 4.0, 2.0], [1.0, 2.0, 1.0]]
        >>> dw[0, 0].tolist(), db.tolist()
        ([[4.0, 4.0], [4.0, 4.0]], [4.0])
    """
    stride, padding, dilation, (h_out, w_out) = _check_conv_args(
        input, weight, None, stride, padding, dilation, groups
    )
    n, c_in, h, w = input.shape
    c_out, c_per_group, kh, kw = weight.shape
    _check_array(grad_output, "grad_output", "[N, C_out, H_out, W_out]")
    if grad_output.shape != (n, c_out, h_out, w_out):
        raise ValueError(
            f"grad_output must have shape [N, C_out, H_out, W_out] = "
            f"{[n, c_out, h_out, w_out]}, got {grad_output.shape}"
        )
    # The forward pass was Y = W @ X_col per (image, group); below are that product's
    # two gradients, dW = dY @ X_col^T (summed over the batch) and dX_col = W^T @ dY.
    cols = im2col(input, (kh, kw), stride, padding, dilation)
    cols = cols.reshape(n, groups, c_per_group * kh * kw, h_out * w_out)  # [N, G, K, L]
    grad_y = grad_output.reshape(n, groups, c_out // groups, -1)  # [N, G, O, L]
    w_mat = weight.reshape(groups, c_out // groups, c_per_group * kh * kw)  # [G, O, K]
    grad_weight = np.einsum("ngol,ngkl->gok", grad_y, cols).reshape(weight.shape)
    grad_cols = np.matmul(w_mat.transpose(0, 2, 1)[None], grad_y)  # [N, G, K, L]
    # col2im sends each entry back to the pixel it was copied from, adding overlaps.
    grad_cols = grad_cols.reshape(n, c_in * kh * kw, h_out * w_out)
    grad_input = col2im(grad_cols, (h, w), (kh, kw), stride, padding, dilation)
    return grad_input, grad_weight, grad_output.sum(axis=(0, 2, 3))


# --8<-- [end:conv2d_backward]


# --8<-- [start:sizes]
def pool_output_size(
    size: int,
    kernel: int,
    stride: int,
    padding: int,
    ceil_mode: bool,
) -> int:
    """Output length of ``MaxPool2d``/``AvgPool2d`` along one axis, with ``ceil_mode``.

    Examples:
        >>> pool_output_size(6, 3, 2, 0, ceil_mode=False), pool_output_size(6, 3, 2, 0, True)
        (2, 3)
        >>> pool_output_size(5, 2, 2, 1, ceil_mode=True)  # a 4th window would start in padding
        3
    """
    floor_size = conv_output_size(size, kernel, stride, padding, 1)  # checks the ints
    if padding > kernel // 2:  # PyTorch's rule: no window made of padding only
        half = kernel // 2
        raise ValueError(f"padding must be <= kernel // 2 = {half}, got {padding}")
    if not isinstance(ceil_mode, bool | np.bool_):
        raise TypeError(f"ceil_mode must be a bool, got {ceil_mode!r}")
    if not ceil_mode:
        return floor_size
    out = -(-(size + 2 * padding - kernel) // stride) + 1  # ceil instead of floor
    if (out - 1) * stride >= size + padding:  # last window starts in the right padding
        out -= 1
    return out


def conv_transpose_output_size(
    size: int, kernel: int, stride: int = 1, padding: int = 0, output_padding: int = 0,
    dilation: int = 1,
) -> int:  # fmt: skip
    """Output length of ``ConvTranspose2d``: the input size of the conv it inverts.

    Examples:
        >>> conv_transpose_output_size(7, 3, stride=2, padding=1)  # 7 -> 13
        13
        >>> conv_transpose_output_size(7, 3, stride=2, padding=1, output_padding=1)  # -> 14
        14
    """
    _check_ints(1, size=size, kernel=kernel, stride=stride, dilation=dilation)
    _check_ints(0, padding=padding, output_padding=output_padding)
    if not 0 <= output_padding < max(stride, dilation):  # PyTorch's rule
        raise ValueError(
            f"output_padding must be >= 0 and < max(stride, dilation) = "
            f"{max(stride, dilation)}, got {output_padding}"
        )
    span = dilation * (kernel - 1) + 1  # what one input pixel's stamp covers
    out = (size - 1) * stride - 2 * padding + span + output_padding
    if out < 1:
        raise ValueError(f"padding {padding} is too large: the output would be {out}")
    return out


def tf_same_padding(
    size: int,
    kernel: int,
    stride: int,
    dilation: int = 1,
) -> tuple[int, int]:
    """TensorFlow's ``padding="SAME"``: zeros (before, after), the odd one after.

    Examples:
        >>> tf_same_padding(224, 3, 2)  # 112 outputs need 225 rows: 0 before, 1 after
        (0, 1)
        >>> tf_same_padding(5, 4, 1)  # even kernel: 3 zeros, the odd one after
        (1, 2)
    """
    _check_ints(1, size=size, kernel=kernel, stride=stride, dilation=dilation)
    out = -(-size // stride)  # ceil(size / stride)
    total = max((out - 1) * stride + dilation * (kernel - 1) + 1 - size, 0)
    return total // 2, total - total // 2


# --8<-- [end:sizes]


def _pool_geometry(
    input: object, kernel_size: IntPair, stride: IntPair | None, padding: IntPair, ceil_mode: bool
) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int], tuple[int, int], tuple[int, ...]]:
    """Check pooling arguments; return kernel, stride, padding, output size and the pad widths."""
    x = _check_input(input)
    if x.dtype.kind != "f":
        raise TypeError(f"input must hold floats for pooling, got dtype {x.dtype}")
    kernel = _pair(kernel_size, "kernel_size", 1)
    stride = kernel if stride is None else _pair(stride, "stride", 1)  # PyTorch's default
    padding = _pair(padding, "padding", 0)
    out = tuple(
        pool_output_size(x.shape[2 + a], kernel[a], stride[a], padding[a], ceil_mode)
        for a in (0, 1)
    )
    # ceil_mode: the last window may hang over the far padding; give it room to slide.
    extra = [
        max((out[a] - 1) * stride[a] + kernel[a] - x.shape[2 + a] - 2 * padding[a], 0)
        for a in (0, 1)
    ]
    pads = (
        (0, 0),
        (0, 0),
        (padding[0], padding[0] + extra[0]),
        (padding[1], padding[1] + extra[1]),
    )
    return kernel, stride, padding, (out[0], out[1]), pads


def _windows(x: np.ndarray, kernel: tuple, stride: tuple, out: tuple) -> np.ndarray:
    """View of every pooling window: ``[..., H_out, W_out, kH, kW]`` (no copy)."""
    view = np.lib.stride_tricks.sliding_window_view(x, kernel, axis=(-2, -1))
    return view[..., :: stride[0], :: stride[1], :, :][..., : out[0], : out[1], :, :]


# --8<-- [start:max_pool2d]
def max_pool2d(
    input: np.ndarray,
    kernel_size: IntPair,
    stride: IntPair | None = None,
    padding: IntPair = 0,
    ceil_mode: bool = False,
) -> np.ndarray:
    """``F.max_pool2d``: the largest value of each window (padding is -inf).

    Examples:
        >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
        >>> max_pool2d(x, 2)[0, 0].tolist()
        [[5.0, 7.0], [13.0, 15.0]]
    """
    geometry = _pool_geometry(input, kernel_size, stride, padding, ceil_mode)
    kernel, stride, _, out, pads = geometry
    x = np.pad(input, pads, constant_values=-np.inf)  # padding never wins the max
    return _windows(x, kernel, stride, out).max(axis=(-2, -1))


def max_pool2d_backward(
    grad_output: np.ndarray,
    input: np.ndarray,
    kernel_size: IntPair,
    stride: IntPair | None = None,
    padding: IntPair = 0,
    ceil_mode: bool = False,
) -> np.ndarray:
    """Gradient of ``max_pool2d``: a window's gradient goes to its (first) maximum.

    Examples:
        >>> x = np.array([[1.0, 3.0], [3.0, 0.0]]).reshape(1, 1, 2, 2)
        >>> max_pool2d_backward(np.ones((1, 1, 1, 1)), x, 2)[0, 0].tolist()  # tie: first wins
        [[0.0, 1.0], [0.0, 0.0]]
    """
    kernel, stride, padding, out, pads = _pool_geometry(
        input, kernel_size, stride, padding, ceil_mode
    )
    _check_grad_output(grad_output, input, out)
    x = np.pad(input, pads, constant_values=-np.inf)
    windows = _windows(x, kernel, stride, out)  # [N, C, H_out, W_out, kH, kW]
    # argmax takes the first maximum in row-major order, as PyTorch's CPU kernel does.
    a, b = np.divmod(windows.reshape(*windows.shape[:4], -1).argmax(axis=-1), kernel[1])
    rows = np.arange(out[0])[:, None] * stride[0] + a  # winner's row, padded coords
    cols = np.arange(out[1])[None, :] * stride[1] + b
    n, c = input.shape[:2]
    grad = np.zeros(x.shape, dtype=np.result_type(grad_output, input))
    batch = np.arange(n)[:, None, None, None]
    channel = np.arange(c)[None, :, None, None]
    # add.at, not fancy-index assignment: overlapping windows can share a winner.
    np.add.at(grad, (batch, channel, rows, cols), grad_output)
    h, w = input.shape[2:]
    return grad[:, :, padding[0] : padding[0] + h, padding[1] : padding[1] + w]


# --8<-- [end:max_pool2d]


def _check_grad_output(grad_output: object, input: np.ndarray, out: tuple[int, int]) -> None:
    expected = (*input.shape[:2], *out)
    _check_array(grad_output, "grad_output", "[N, C, H_out, W_out]")
    if grad_output.shape != expected:
        raise ValueError(
            f"grad_output must have shape [N, C, H_out, W_out] = {list(expected)}, "
            f"got {grad_output.shape}"
        )


# --8<-- [start:avg_pool2d]
def _avg_divisor(
    input,
    kernel,
    stride,
    padding,
    out,
    pads,
    count_include_pad,
) -> np.ndarray:
    """How many cells each window averages (the ceil overhang never counts)."""
    h, w = input.shape[2:]
    mask = np.zeros((h + pads[2][0] + pads[2][1], w + pads[3][0] + pads[3][1]))
    if count_include_pad:
        mask[: h + 2 * padding[0], : w + 2 * padding[1]] = 1  # input and its padding
    else:
        mask[padding[0] : padding[0] + h, padding[1] : padding[1] + w] = 1  # input only
    return _windows(mask, kernel, stride, out).sum(axis=(-2, -1))  # [H_out, W_out]


def avg_pool2d(
    input: np.ndarray,
    kernel_size: IntPair,
    stride: IntPair | None = None,
    padding: IntPair = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> np.ndarray:
    """``torch.nn.functional.avg_pool2d``: the mean of each window.

    Examples:
        >>> x = np.arange(16.0).reshape(1, 1, 4, 4)
        >>> avg_pool2d(x, 2)[0, 0].tolist()
        [[2.5, 4.5], [10.5, 12.5]]
    """
    kernel, stride, padding, out, pads = _pool_geometry(
        input, kernel_size, stride, padding, ceil_mode
    )
    divisor = _avg_divisor(input, kernel, stride, padding, out, pads, count_include_pad)
    sums = _windows(np.pad(input, pads), kernel, stride, out).sum(axis=(-2, -1))
    return sums / divisor


def avg_pool2d_backward(
    grad_output: np.ndarray,
    input: np.ndarray,
    kernel_size: IntPair,
    stride: IntPair | None = None,
    padding: IntPair = 0,
    ceil_mode: bool = False,
    count_include_pad: bool = True,
) -> np.ndarray:
    """Gradient of ``avg_pool2d``: a window spreads ``grad / divisor`` over its cells.

    Examples:
        >>> avg_pool2d_backward(np.ones((1, 1, 1, 2)), np.zeros((1, 1, 2, 3)), 2, 1)[0, 0].tolist()
        [[0.25, 0.5, 0.25], [0.25, 0.5, 0.25]]
    """
    kernel, stride, padding, out, pads = _pool_geometry(
        input, kernel_size, stride, padding, ceil_mode
    )
    _check_grad_output(grad_output, input, out)
    divisor = _avg_divisor(input, kernel, stride, padding, out, pads, count_include_pad)
    n, c, h, w = input.shape
    share = grad_output / divisor  # [N, C, H_out, W_out]
    taps = np.broadcast_to(share[:, :, None, None], (n, c, *kernel, *out))
    grad = np.zeros((n, c, h + sum(pads[2]), w + sum(pads[3])), dtype=share.dtype)
    _add_windows(grad, taps, stride, (1, 1))  # the same scatter as col2im
    return grad[:, :, padding[0] : padding[0] + h, padding[1] : padding[1] + w]


# --8<-- [end:avg_pool2d]
