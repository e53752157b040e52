"""Tests for snippets/fundamentals/normalization.py: BatchNorm, LayerNorm, GroupNorm, RMSNorm.

Reference: torch.nn.functional (torch 2.14) on seeded random cases, nn.BatchNorm* modules for the
running statistics, torch.nn.utils.fusion.fuse_conv_bn_eval for the fusion, and formulas written
here from the papers (Ioffe & Szegedy 2015, Algorithm 1) for the practice diagnostics.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval as torch_fuse

from tests.support import LANG, assert_close, cases, raises_naming, under_test

impl = under_test("snippets.fundamentals.normalization")


def _randint(gen: torch.Generator, low: int, high: int) -> int:
    """An int in [low, high]."""
    return int(torch.randint(low, high + 1, (1,), generator=gen))


def _maybe(gen: torch.Generator, shape: tuple[int, ...], dtype: torch.dtype, offset: float = 0.0):
    """A random parameter tensor, or None half of the time."""
    if float(torch.rand(1, generator=gen)) < 0.5:
        return None
    return torch.randn(shape, generator=gen, dtype=dtype) + offset


def _data(gen: torch.Generator, shape: tuple[int, ...], dtype: torch.dtype) -> torch.Tensor:
    """Inputs with a random offset and scale per case, so mean and variance matter."""
    scale = float(torch.rand(1, generator=gen)) * 5 + 0.1
    shift = float(torch.randn(1, generator=gen)) * 3
    return torch.randn(shape, generator=gen, dtype=dtype) * scale + shift


def _bn_shape(gen: torch.Generator) -> tuple[int, ...]:
    ndim = _randint(gen, 2, 4)  # [N, C], [N, C, L], [N, C, H, W]
    return tuple(_randint(gen, 1, 5) for _ in range(ndim))


# ---------------------------------------------------------------- practice diagnostics
# First in the file: the practice grader prints the first failures in full.
# Each test targets one classic mistake; when the attempt's output equals what that mistake
# produces (formula transcribed here), the message names the mistake.

_HINTS = {
    "ln_axis": {
        "en": "layer_norm must take mean and variance PER SAMPLE over the last dims "
        "(normalized_shape); your output matches statistics over the batch axis (dim 0), "
        "which is what BatchNorm does.",
        "zh": "layer_norm 的均值和方差要对每个样本、在最后几维（normalized_shape）上计算；"
        "你的输出与沿 batch 维（dim 0）统计的结果一致，那是 BatchNorm 的做法。",
    },
    "bn_axis": {
        "en": "batch_norm must take mean and variance PER CHANNEL over the batch (and spatial) "
        "axes, dims (0, 2, 3, ...); your output matches statistics over the channel axis "
        "(dim 1) of each sample, which is LayerNorm-style.",
        "zh": "batch_norm 的均值和方差要对每个通道、在 batch（和空间）维 (0, 2, 3, ...) 上计算；"
        "你的输出与每个样本沿通道维（dim 1）统计的结果一致，那是 LayerNorm 的做法。",
    },
    "unbiased": {
        "en": "normalise with the BIASED variance (divide by n: var(correction=0) / "
        "unbiased=False); your output matches the unbiased n-1 variance, which torch uses only "
        "for running_var.",
        "zh": "前向归一化要用有偏方差（除以 n：var(correction=0) 或 unbiased=False）；"
        "你的输出与无偏（n-1）方差一致，torch 只在更新 running_var 时用无偏方差。",
    },
    "running_biased": {
        "en": "running_var must be updated with the UNBIASED batch variance (times n/(n-1)); "
        "your running_var matches an update with the biased variance.",
        "zh": "running_var 要用无偏的 batch 方差更新（乘 n/(n-1)）；"
        "你的 running_var 与用有偏方差更新的结果一致。",
    },
    "keras": {
        "en": "momentum is the weight of the NEW batch in PyTorch: running = (1 - momentum) * "
        "running + momentum * batch; your update matches the Keras convention "
        "momentum * running + (1 - momentum) * batch.",
        "zh": "PyTorch 的 momentum 是新 batch 的权重：running = (1 - momentum) * running + "
        "momentum * batch；你的更新与 Keras 的约定 momentum * running + (1 - momentum) * batch 一致。",
    },
    "eps_outside": {
        "en": "eps goes INSIDE the square root: (x - mean) / sqrt(var + eps); your output "
        "matches (x - mean) / (sqrt(var) + eps).",
        "zh": "eps 要加在根号里面：(x - mean) / sqrt(var + eps)；"
        "你的输出与 (x - mean) / (sqrt(var) + eps) 一致。",
    },
    "in_place": {
        "en": "batch_norm must update running_mean / running_var IN PLACE (e.g. "
        "running_mean.mul_(1 - momentum).add_(momentum * mean)); the caller's tensors did not "
        "change. Assigning a new tensor to the local name does not update the caller's buffer.",
        "zh": "batch_norm 要原地（in place）更新 running_mean / running_var"
        "（如 running_mean.mul_(1 - momentum).add_(momentum * mean)）；调用方的张量没有变化。"
        "给局部变量赋一个新张量不会更新调用方的 buffer。",
    },
}


def _hint(key: str) -> str:
    return _HINTS[key].get(LANG, _HINTS[key]["en"])


def _matches(actual: torch.Tensor, candidate: torch.Tensor) -> bool:
    return actual.shape == candidate.shape and torch.allclose(actual, candidate, atol=1e-8)


def _diagnose(actual, expected, wrong: list[tuple[str, torch.Tensor]], inputs: dict) -> None:
    """Pass if `actual` is right; name the mistake whose output it reproduces; else a diff."""
    if isinstance(actual, torch.Tensor) and _matches(actual, expected):
        return
    for key, candidate in wrong:
        if isinstance(actual, torch.Tensor) and _matches(actual, candidate):
            raise AssertionError(_hint(key))
    assert_close(actual, expected, inputs=inputs, atol=1e-8, rtol=1e-8)


def _normalize(x: torch.Tensor, dims, unbiased: bool = False, eps: float = 1e-5, outside=False):
    """x_hat over `dims` from Ioffe & Szegedy Algorithm 1, with switchable classic mistakes."""
    mean = x.mean(dims, keepdim=True)
    var = x.var(dims, correction=1 if unbiased else 0, keepdim=True)
    return (x - mean) / (var.sqrt() + eps) if outside else (x - mean) / (var + eps).sqrt()


_GEN_X = torch.Generator().manual_seed(30)
X_LN = _data(_GEN_X, (4, 6), torch.float64) * torch.linspace(0.2, 3, 6, dtype=torch.float64)
X_BN = _data(_GEN_X, (5, 3, 2, 2), torch.float64)


def _mistakes(x: torch.Tensor, dims: tuple, wrong_axes: list[tuple], eps: float) -> list:
    """Every classic forward mistake for this input, so each test names whichever one it meets."""
    axis_key = "ln_axis" if dims[0] < 0 else "bn_axis"
    return [(axis_key, _normalize(x, d, eps=eps)) for d in wrong_axes] + [
        ("unbiased", _normalize(x, dims, unbiased=True, eps=eps)),
        ("eps_outside", _normalize(x, dims, eps=eps, outside=True)),
    ]


def test_layer_norm_normalises_each_sample_not_the_batch() -> None:
    wrong = _mistakes(X_LN, (-1,), [(0,)], 1e-5)
    _diagnose(impl.layer_norm(X_LN, (6,)), F.layer_norm(X_LN, (6,)), wrong, {"input": X_LN})


def test_layer_norm_uses_the_biased_variance() -> None:
    x = X_LN[:, :3]  # n = 3: 1/n and 1/(n-1) differ by a factor 1.5
    wrong = _mistakes(x, (-1,), [(0,)], 1e-5)
    _diagnose(impl.layer_norm(x, (3,)), F.layer_norm(x, (3,)), wrong, {"input": x})


def test_layer_norm_adds_eps_inside_the_square_root() -> None:
    wrong = _mistakes(X_LN, (-1,), [(0,)], 0.5)
    actual = impl.layer_norm(X_LN, (6,), eps=0.5)
    _diagnose(actual, F.layer_norm(X_LN, (6,), eps=0.5), wrong, {"input": X_LN, "eps": 0.5})


def test_batch_norm_normalises_each_channel_over_the_batch() -> None:
    for x in (X_BN, X_LN):  # [N, C, H, W] and [N, C]
        dims = (0, *range(2, x.ndim))
        wrong = _mistakes(x, dims, [(1,), tuple(range(1, x.ndim))], 1e-5)
        actual = impl.batch_norm(x, None, None, training=True)
        _diagnose(actual, _normalize(x, dims), wrong, {"input.shape": tuple(x.shape)})
        assert_close(actual, F.batch_norm(x, None, None, training=True), atol=1e-10)


def test_batch_norm_uses_the_biased_variance_in_the_forward_pass() -> None:
    x = X_BN[:2, :, :1, :1]  # n = 2 per channel: unbiased is sqrt(2) times smaller
    wrong = _mistakes(x, (0, 2, 3), [(1,), (1, 2, 3)], 1e-5)
    actual = impl.batch_norm(x, None, None, training=True)
    _diagnose(actual, F.batch_norm(x, None, None, training=True), wrong, {"input": x})


def test_batch_norm_adds_eps_inside_the_square_root() -> None:
    wrong = _mistakes(X_BN, (0, 2, 3), [(1,), (1, 2, 3)], 0.5)
    actual = impl.batch_norm(X_BN, None, None, training=True, eps=0.5)
    expected = F.batch_norm(X_BN, None, None, training=True, eps=0.5)
    _diagnose(actual, expected, wrong, {"input": X_BN, "eps": 0.5})


def _fresh_buffers() -> tuple[torch.Tensor, torch.Tensor]:
    return torch.full((3,), 2.0, dtype=torch.float64), torch.full((3,), 3.0, dtype=torch.float64)


# The practice grader only runs tests whose source names the practised function: call
# impl.batch_norm in each test body, not in a helper.


def test_batch_norm_updates_running_stats_in_place() -> None:
    rm, rv = _fresh_buffers()
    impl.batch_norm(X_BN, rm, rv, training=True, momentum=0.1)
    if bool((rm == 2.0).all()) or bool((rv == 3.0).all()):
        raise AssertionError(_hint("in_place"))


def test_running_var_uses_the_unbiased_variance() -> None:
    rm, rv = _fresh_buffers()
    impl.batch_norm(X_BN, rm, rv, training=True, momentum=0.1)
    dims = (0, 2, 3)  # n = 5 * 2 * 2 = 20 values per channel
    expected = 0.9 * 3.0 + 0.1 * X_BN.var(dims, correction=1)  # Algorithm 2, step 10
    unbiased, biased = X_BN.var(dims, correction=1), X_BN.var(dims, correction=0)
    wrong = [
        ("running_biased", 0.9 * 3.0 + 0.1 * biased),
        ("keras", 0.1 * 3.0 + 0.9 * unbiased),  # momentum inverted (names that mistake first)
        ("keras", 0.1 * 3.0 + 0.9 * biased),
    ]
    _diagnose(rv, expected, wrong, {"input.shape": tuple(X_BN.shape), "momentum": 0.1})


def test_momentum_is_the_weight_of_the_new_batch() -> None:
    rm, rv = _fresh_buffers()
    impl.batch_norm(X_BN, rm, rv, training=True, momentum=0.1)
    batch_mean = X_BN.mean((0, 2, 3))
    expected = 0.9 * 2.0 + 0.1 * batch_mean
    wrong = [("keras", 0.1 * 2.0 + 0.9 * batch_mean)]
    _diagnose(rm, expected, wrong, {"input.shape": tuple(X_BN.shape), "momentum": 0.1})


# ---------------------------------------------------------------- batch_norm vs torch

BN_CASES = 2000


@pytest.mark.parametrize(
    ("dtype", "atol", "n_cases"), [(torch.float64, 1e-10, BN_CASES), (torch.float32, 1e-4, 300)]
)
def test_batch_norm_matches_torch(dtype: torch.dtype, atol: float, n_cases: int) -> None:
    """Output AND the in-place running statistics, training and eval, [N,C] / [N,C,L] / [N,C,H,W]."""
    gen = torch.Generator().manual_seed(0)
    for _ in range(cases(n_cases)):
        shape = _bn_shape(gen)
        c = shape[1]
        x = _data(gen, shape, dtype)
        training = bool(_randint(gen, 0, 1))
        if training and shape[0] * torch.Size(shape[2:]).numel() == 1:
            training = False  # a single value per channel cannot be normalised (tested below)
        tracked = not training or bool(_randint(gen, 0, 1))
        rm = torch.randn(c, generator=gen, dtype=dtype) if tracked else None
        rv = torch.rand(c, generator=gen, dtype=dtype) + 0.5 if tracked else None
        w, b = _maybe(gen, (c,), dtype, 1.0), _maybe(gen, (c,), dtype)
        momentum = float(torch.rand(1, generator=gen))
        eps = [1e-5, 1e-3, 0.1, 1.0][_randint(gen, 0, 3)]
        rm_t, rv_t = (rm.clone(), rv.clone()) if tracked else (None, None)
        expected = F.batch_norm(x, rm_t, rv_t, w, b, training, momentum, eps)
        actual = impl.batch_norm(x, rm, rv, w, b, training, momentum, eps)
        inputs = {"input.shape": shape, "training": training, "momentum": momentum, "eps": eps}
        assert_close(actual, expected, inputs=inputs, atol=atol, rtol=atol)
        if tracked:
            assert_close(rm, rm_t, inputs=inputs, atol=atol, rtol=atol)
            assert_close(rv, rv_t, inputs=inputs, atol=atol, rtol=atol)


def test_batch_norm_running_stats_match_the_module_over_steps() -> None:
    """Ten training steps through nn.BatchNorm2d and through batch_norm: same buffers, then eval."""
    gen = torch.Generator().manual_seed(1)
    bn = nn.BatchNorm2d(3, momentum=0.2).double()
    rm, rv = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    for _ in range(10):
        x = _data(gen, (4, 3, 2, 5), torch.float64)
        assert_close(impl.batch_norm(x, rm, rv, training=True, momentum=0.2), bn(x), atol=1e-10)
    assert_close(rm, bn.running_mean, atol=1e-12)
    assert_close(rv, bn.running_var, atol=1e-12)
    bn.eval()
    x = _data(gen, (2, 3, 2, 5), torch.float64)
    assert_close(impl.batch_norm(x, rm, rv, training=False), bn(x), atol=1e-10)


def test_batch_norm_updates_the_callers_tensors_in_place() -> None:
    rm, rv = torch.zeros(2), torch.ones(2)
    ptr_m, ptr_v = rm.data_ptr(), rv.data_ptr()
    x = torch.tensor([[1.0, 0.0], [3.0, 4.0]])  # channel 0: mean 2, channel 1: mean 2
    impl.batch_norm(x, rm, rv, training=True, momentum=0.5)
    assert rm.data_ptr() == ptr_m and rv.data_ptr() == ptr_v
    # channel 0: unbiased var of [1, 3] = 2; channel 1: of [0, 4] = 8.
    assert_close(rm, torch.tensor([1.0, 1.0]), atol=1e-6)  # 0.5 * 0 + 0.5 * 2
    assert_close(rv, torch.tensor([1.5, 4.5]), atol=1e-6)  # 0.5 * 1 + 0.5 * {2, 8}


def test_batch_norm_eval_leaves_running_stats_alone() -> None:
    rm, rv = torch.tensor([1.0, -1.0]), torch.tensor([4.0, 0.25])
    x = torch.tensor([[3.0, 0.0], [5.0, -1.0]])
    y = impl.batch_norm(x, rm, rv, training=False, eps=0.0)
    assert_close(y, torch.tensor([[1.0, 2.0], [2.0, 0.0]]), atol=1e-6)  # (x - rm) / sqrt(rv)
    assert_close(rm, torch.tensor([1.0, -1.0]), atol=0)
    assert_close(rv, torch.tensor([4.0, 0.25]), atol=0)


def test_batch_of_one_in_training_raises_like_torch() -> None:
    for shape in [(1, 3), (1, 3, 1), (1, 3, 1, 1)]:
        x = torch.randn(shape)
        with pytest.raises(ValueError, match="Expected more than 1 value per channel"):
            F.batch_norm(x, None, None, training=True)
        with raises_naming(ValueError, "more than 1 value per channel", str(list(shape))):
            impl.batch_norm(x, None, None, training=True)
    # One sample but several positions is fine (statistics over L), and eval mode is fine.
    x = torch.randn(1, 3, 4, dtype=torch.float64)
    assert_close(
        impl.batch_norm(x, None, None, training=True),
        F.batch_norm(x, None, None, training=True),
        atol=1e-10,
    )
    x, rm, rv = torch.randn(1, 3), torch.zeros(3), torch.ones(3)
    assert_close(impl.batch_norm(x, rm, rv), F.batch_norm(x, rm, rv), atol=1e-6)


def test_momentum_none_is_rejected_and_the_cumulative_average_is_momentum_one_over_k() -> None:
    """F.batch_norm rejects momentum=None (TypeError); nn.BatchNorm(momentum=None) passes 1/k."""
    x = torch.randn(4, 3)
    with pytest.raises(TypeError):
        F.batch_norm(x, torch.zeros(3), torch.ones(3), training=True, momentum=None)
    with raises_naming(TypeError, "momentum", "num_batches_tracked"):
        impl.batch_norm(x, torch.zeros(3), torch.ones(3), training=True, momentum=None)
    gen = torch.Generator().manual_seed(2)
    bn = nn.BatchNorm1d(3, momentum=None).double()
    rm, rv = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    batches = [_data(gen, (5, 3), torch.float64) for _ in range(6)]
    for k, xb in enumerate(batches, start=1):
        bn(xb)
        impl.batch_norm(xb, rm, rv, training=True, momentum=1.0 / k)
    assert_close(rm, bn.running_mean, atol=1e-12)
    assert_close(rv, bn.running_var, atol=1e-12)
    # A cumulative average of equal-size batches: the plain mean of the batch means / variances.
    assert_close(rm, torch.stack([b.mean(0) for b in batches]).mean(0), atol=1e-12)
    assert_close(rv, torch.stack([b.var(0) for b in batches]).mean(0), atol=1e-12)


def test_keras_momentum_0_99_is_torch_momentum_0_01() -> None:
    """Keras docs: moving_mean = moving_mean * momentum + mean(batch) * (1 - momentum)."""
    gen = torch.Generator().manual_seed(3)
    keras_mean = torch.zeros(4, dtype=torch.float64)
    rm, rv = keras_mean.clone(), torch.ones(4, dtype=torch.float64)
    for _ in range(20):
        x = _data(gen, (8, 4), torch.float64)
        keras_mean = keras_mean * 0.99 + x.mean(0) * (1 - 0.99)
        impl.batch_norm(x, rm, rv, training=True, momentum=0.01)
    assert_close(rm, keras_mean, atol=1e-12)


def test_training_mode_mixes_samples_eval_mode_does_not() -> None:
    """The bug behind a forgotten model.eval(): one image's output depends on the rest of the batch."""
    gen = torch.Generator().manual_seed(4)
    x = _data(gen, (4, 3, 2, 2), torch.float64)
    other = x.clone()
    other[1:] = _data(gen, (3, 3, 2, 2), torch.float64)  # same first image, different others
    rm, rv = torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)
    y_a = impl.batch_norm(x, None, None, training=True)[0]
    y_b = impl.batch_norm(other, None, None, training=True)[0]
    assert float((y_a - y_b).abs().max()) > 1e-3
    assert_close(impl.batch_norm(x, rm, rv)[0], impl.batch_norm(other, rm, rv)[0], atol=0)


# ---------------------------------------------------------------- layer / group / rms norm

CASES = 2000


def _ln_case(gen: torch.Generator, dtype: torch.dtype):
    ndim = _randint(gen, 1, 4)
    shape = tuple(_randint(gen, 1, 5) for _ in range(ndim))
    k = _randint(gen, 1, ndim)  # normalise over the last k dims
    normalized = shape[ndim - k :]  # sometimes a single value: var 0, output = bias
    return _data(gen, shape, dtype), normalized


@pytest.mark.parametrize(
    ("dtype", "atol", "n_cases"), [(torch.float64, 1e-10, CASES), (torch.float32, 1e-4, 300)]
)
def test_layer_norm_matches_torch(dtype: torch.dtype, atol: float, n_cases: int) -> None:
    gen = torch.Generator().manual_seed(10)
    for _ in range(cases(n_cases)):
        x, normalized = _ln_case(gen, dtype)
        w, b = _maybe(gen, normalized, dtype, 1.0), _maybe(gen, normalized, dtype)
        eps = [1e-5, 1e-3, 0.5][_randint(gen, 0, 2)]
        expected = F.layer_norm(x, normalized, w, b, eps)
        inputs = {"input.shape": tuple(x.shape), "normalized_shape": normalized, "eps": eps}
        actual = impl.layer_norm(x, normalized, w, b, eps)
        assert_close(actual, expected, inputs=inputs, atol=atol, rtol=atol)


@pytest.mark.parametrize(
    ("dtype", "atol", "n_cases"), [(torch.float64, 1e-10, CASES), (torch.float32, 1e-4, 300)]
)
def test_group_norm_matches_torch(dtype: torch.dtype, atol: float, n_cases: int) -> None:
    gen = torch.Generator().manual_seed(11)
    for _ in range(cases(n_cases)):
        n, g, per = _randint(gen, 1, 4), _randint(gen, 1, 4), _randint(gen, 1, 3)
        c = g * per
        spatial = tuple(_randint(gen, 1, 4) for _ in range(_randint(gen, 0, 2)))
        if n * per * torch.Size(spatial).numel() == 1:
            spatial = (2,)  # torch's "more than 1 value" rule; tested separately
        if dtype == torch.float32 and per * torch.Size(spatial).numel() == 1:
            spatial = (3,)  # one value per group: torch's float32 (x - mean) is rounding
            # noise (~1e-8) times 1/sqrt(eps), not 0; float64 covers this case exactly
        x = _data(gen, (n, c, *spatial), dtype)
        w, b = _maybe(gen, (c,), dtype, 1.0), _maybe(gen, (c,), dtype)
        eps = [1e-5, 1e-3, 0.5][_randint(gen, 0, 2)]
        expected = F.group_norm(x, g, w, b, eps)
        inputs = {"input.shape": tuple(x.shape), "num_groups": g, "eps": eps}
        assert_close(
            impl.group_norm(x, g, w, b, eps), expected, inputs=inputs, atol=atol, rtol=atol
        )


@pytest.mark.parametrize(
    ("dtype", "atol", "n_cases"), [(torch.float64, 1e-10, CASES), (torch.float32, 1e-4, 300)]
)
def test_rms_norm_matches_torch(dtype: torch.dtype, atol: float, n_cases: int) -> None:
    gen = torch.Generator().manual_seed(12)
    for _ in range(cases(n_cases)):
        x, normalized = _ln_case(gen, dtype)
        w = _maybe(gen, normalized, dtype, 1.0)
        eps = [None, 1e-6, 1e-3, 0.5][_randint(gen, 0, 3)]
        expected = F.rms_norm(x, normalized, w, eps)
        inputs = {"input.shape": tuple(x.shape), "normalized_shape": normalized, "eps": eps}
        assert_close(
            impl.rms_norm(x, normalized, w, eps), expected, inputs=inputs, atol=atol, rtol=atol
        )


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64])
def test_rms_norm_eps_none_is_finfo_eps_of_the_computation_dtype(dtype: torch.dtype) -> None:
    """Tiny inputs (rms ~ 1e-2), where eps matters: float16 uses float32's eps, not its own."""
    gen = torch.Generator().manual_seed(13)
    x = (torch.randn(64, 8, generator=gen, dtype=torch.float64) * 1e-2).to(dtype)
    compute = torch.float64 if dtype == torch.float64 else torch.float32
    eps = torch.finfo(compute).eps  # 1.19e-7 for half, float32; 2.2e-16 for float64
    x64 = x.double()
    expected = x64 * torch.rsqrt(x64.pow(2).mean(-1, keepdim=True) + eps)
    tol = {torch.float16: 2e-3, torch.bfloat16: 1e-2}.get(dtype, 1e-6)
    assert_close(F.rms_norm(x, (8,)), expected, atol=tol, rtol=tol)
    actual = impl.rms_norm(x, (8,))
    assert actual.dtype == dtype
    assert_close(actual, F.rms_norm(x, (8,)), atol=tol, rtol=tol)


def test_layer_norm_over_several_dims_and_int_shape() -> None:
    gen = torch.Generator().manual_seed(14)
    x = _data(gen, (2, 3, 4, 5), torch.float64)
    w = torch.randn(3, 4, 5, generator=gen, dtype=torch.float64)
    assert_close(impl.layer_norm(x, (3, 4, 5), w), F.layer_norm(x, (3, 4, 5), w), atol=1e-10)
    # Over (C, H, W) every sample has mean 0 and biased variance 1 (up to eps).
    y = impl.layer_norm(x, [3, 4, 5], eps=0.0)
    assert_close(y.mean((1, 2, 3)), torch.zeros(2), atol=1e-12)
    assert_close(y.var((1, 2, 3), correction=0), torch.ones(2), atol=1e-12)
    assert_close(impl.layer_norm(x, 5), F.layer_norm(x, (5,)), atol=1e-10)  # an int means (5,)
    assert_close(impl.rms_norm(x, 5), F.rms_norm(x, (5,)), atol=1e-10)


def test_group_norm_one_group_is_layer_norm_and_c_groups_is_instance_norm() -> None:
    gen = torch.Generator().manual_seed(15)
    x = _data(gen, (3, 6, 4, 5), torch.float64)
    assert_close(impl.group_norm(x, 1), F.layer_norm(x, (6, 4, 5)), atol=1e-10)
    assert_close(impl.group_norm(x, 6), F.instance_norm(x), atol=1e-10)
    assert_close(impl.group_norm(x, 6), F.group_norm(x, 6), atol=1e-10)


def test_group_norm_single_value_rule_matches_torch() -> None:
    """torch reuses BatchNorm's check: it fires only when N * (C / G) * spatial == 1."""
    x = torch.randn(1, 4)
    with pytest.raises(ValueError, match="more than 1 value"):
        F.group_norm(x, 4)
    with raises_naming(ValueError, "more than 1 value"):
        impl.group_norm(x, 4)
    x = torch.randn(2, 4, dtype=torch.float64)  # one value per group, but N = 2: torch accepts
    assert_close(impl.group_norm(x, 4), F.group_norm(x, 4), atol=1e-12)  # all zeros


@pytest.mark.parametrize("eps", [1e-5, 0.1])
def test_constant_input_gives_the_bias_and_eps_zero_gives_nan(eps: float) -> None:
    """var = 0: (x - mean) = 0 times 1/sqrt(eps) is 0, so the output is the bias alone."""
    x = torch.full((3, 4, 2), 7.0, dtype=torch.float64)
    b4 = torch.arange(4.0, dtype=torch.float64)
    b2 = torch.tensor([5.0, -5.0], dtype=torch.float64)
    assert_close(
        impl.batch_norm(x, None, None, None, b4, True, eps=eps),
        b4[None, :, None].expand(3, 4, 2),
        atol=0,
    )
    assert_close(impl.layer_norm(x, (2,), None, b2, eps), b2.expand(3, 4, 2), atol=0)
    assert_close(impl.group_norm(x, 2, None, b4, eps), b4[None, :, None].expand(3, 4, 2), atol=0)
    # eps = 0: 0 * (1 / sqrt(0)) = 0 * inf = nan, in torch as here.
    assert torch.isnan(F.layer_norm(x, (2,), eps=0.0)).all()
    assert torch.isnan(impl.layer_norm(x, (2,), eps=0.0)).all()
    # RMSNorm of a constant c: c / sqrt(c^2 + eps), close to 1 (sign of c) for small eps.
    expected = 7.0 / (49.0 + eps) ** 0.5
    assert_close(impl.rms_norm(x, (2,), eps=eps), torch.full_like(x, expected), atol=1e-12)


def test_eps_shrinks_low_variance_features() -> None:
    """With var << eps, x_hat = (x - mean) / sqrt(var + eps) is much smaller than 1: eps matters."""
    x = torch.tensor([[0.0, 0.002]], dtype=torch.float64)  # var = 1e-6
    for eps in (0.0, 1e-6, 1e-2):
        expected = 0.001 / (1e-6 + eps) ** 0.5  # |x_hat| for both entries
        y = impl.layer_norm(x, (2,), eps=eps)
        assert_close(y, torch.tensor([[-expected, expected]], dtype=torch.float64), atol=1e-12)
        assert_close(y, F.layer_norm(x, (2,), eps=eps), atol=1e-12)


# ---------------------------------------------------------------- fuse_conv_bn_eval


def test_fuse_conv_bn_eval_matches_torch() -> None:
    """200 random Conv2d (stride, padding, dilation, groups, bias or not) + BatchNorm2d pairs."""
    gen = torch.Generator().manual_seed(20)
    torch.manual_seed(20)  # module initialisation
    for trial in range(cases(200)):
        groups = [1, 1, 2][trial % 3]
        c_in, c_out = groups * _randint(gen, 1, 3), groups * _randint(gen, 1, 3)
        k = _randint(gen, 1, 3)
        conv = (
            nn.Conv2d(
                c_in,
                c_out,
                k,
                stride=_randint(gen, 1, 2),
                padding=_randint(gen, 0, 1),
                dilation=_randint(gen, 1, 2),
                groups=groups,
                bias=bool(trial % 2),
            )
            .double()
            .eval()
        )
        bn = nn.BatchNorm2d(c_out, eps=[1e-5, 1e-3][trial % 2], affine=trial % 5 != 0).double()
        with torch.no_grad():
            bn.running_mean.copy_(torch.randn(c_out, generator=gen, dtype=torch.float64))
            bn.running_var.copy_(torch.rand(c_out, generator=gen, dtype=torch.float64) + 0.1)
            if bn.affine:
                bn.weight.copy_(torch.randn(c_out, generator=gen, dtype=torch.float64))
                bn.bias.copy_(torch.randn(c_out, generator=gen, dtype=torch.float64))
        bn.eval()
        fused = impl.fuse_conv_bn_eval(conv, bn)
        ref = torch_fuse(conv, bn)
        assert type(fused) is nn.Conv2d and fused is not conv
        assert_close(fused.weight, ref.weight, atol=1e-12)
        assert_close(fused.bias, ref.bias, atol=1e-12)
        x = torch.randn(2, c_in, 7, 6, generator=gen, dtype=torch.float64)
        with torch.no_grad():
            assert_close(fused(x), bn(conv(x)), atol=1e-10)


def test_fuse_conv_bn_eval_leaves_the_originals_alone() -> None:
    conv = nn.Conv2d(2, 3, 3, bias=False).eval()
    bn = nn.BatchNorm2d(3).eval()
    with torch.no_grad():
        bn.running_var.fill_(4.0)
    before = conv.weight.detach().clone()
    fused = impl.fuse_conv_bn_eval(conv, bn)
    assert conv.bias is None and fused.bias is not None
    assert_close(conv.weight, before, atol=0)
    assert_close(fused.weight, before / (4.0 + 1e-5) ** 0.5, atol=1e-7)


# ---------------------------------------------------------------- bad input


def test_input_errors() -> None:
    x = torch.randn(4, 3, 5)
    rm, rv = torch.zeros(3), torch.ones(3)
    with raises_naming(TypeError, "input", "torch.Tensor"):
        impl.batch_norm([[1.0, 2.0]], rm, rv)
    with raises_naming(TypeError, "input", "floating"):
        impl.batch_norm(torch.ones(4, 3, dtype=torch.int64), rm, rv)
    with raises_naming(ValueError, "input", "[N, C, *]"):
        impl.batch_norm(torch.randn(3), rm, rv)
    with raises_naming(ValueError, "running_mean", "[3]", "[2]"):
        impl.batch_norm(x, torch.zeros(2), rv, training=True)
    with raises_naming(ValueError, "running_var", "[3]", "[4]"):
        impl.batch_norm(x, rm, torch.ones(4))
    with raises_naming(TypeError, "running_mean", "torch.Tensor"):
        impl.batch_norm(x, [0.0, 0.0, 0.0], rv)
    with raises_naming(ValueError, "running_mean", "running_var", "both"):
        impl.batch_norm(x, rm, None, training=True)
    with raises_naming(ValueError, "running_mean", "training=False"):
        impl.batch_norm(x, None, None, training=False)
    with raises_naming(ValueError, "weight", "[3]"):
        impl.batch_norm(x, rm, rv, weight=torch.ones(5))
    with raises_naming(ValueError, "bias", "[3]"):
        impl.batch_norm(x, rm, rv, bias=torch.ones(1, 3))
    with raises_naming(ValueError, "eps", ">= 0", "-1e-05"):
        impl.batch_norm(x, rm, rv, eps=-1e-5)
    with raises_naming(ValueError, "eps", "> 0", "training"):
        impl.batch_norm(x, rm, rv, training=True, eps=0.0)
    with raises_naming(TypeError, "eps"):
        impl.batch_norm(x, rm, rv, eps="1e-5")
    with raises_naming(TypeError, "momentum"):
        impl.batch_norm(x, rm, rv, training=True, momentum="0.1")
    for fn in (impl.layer_norm, impl.rms_norm):
        with raises_naming(TypeError, "input", "torch.Tensor"):
            fn([1.0, 2.0], (2,))
        with raises_naming(ValueError, "normalized_shape", "[*, 3]", "[4, 3, 5]"):
            fn(x, (3,))
        with raises_naming(ValueError, "normalized_shape"):
            fn(x, ())
        with raises_naming(TypeError, "normalized_shape"):
            fn(x, (5.0,))
        with raises_naming(ValueError, "weight", "[5]"):
            fn(x, (5,), torch.ones(3))
        with raises_naming(ValueError, "eps", ">= 0"):
            fn(x, (5,), eps=-0.1)
        with raises_naming(ValueError, "eps"):
            fn(x, (5,), eps=float("nan"))
    with raises_naming(ValueError, "bias", "[3, 5]"):
        impl.layer_norm(x, (3, 5), bias=torch.ones(5))
    with raises_naming(ValueError, "num_groups", "divide", "C = 3", "2"):
        impl.group_norm(x, 2)
    with raises_naming(ValueError, "num_groups", "> 0"):
        impl.group_norm(x, 0)
    with raises_naming(TypeError, "num_groups", "int"):
        impl.group_norm(x, 1.0)
    with raises_naming(TypeError, "input", "torch.Tensor"):
        impl.group_norm(x.numpy(), 1)
    with raises_naming(ValueError, "input", "[N, C, *]"):
        impl.group_norm(torch.randn(6), 1)
    with raises_naming(ValueError, "weight", "[3]"):
        impl.group_norm(x, 3, torch.ones(6))
    with raises_naming(ValueError, "eps"):
        impl.group_norm(x, 3, eps=-1.0)


def test_fuse_errors() -> None:
    conv, bn = nn.Conv2d(2, 3, 1), nn.BatchNorm2d(3)
    with raises_naming(ValueError, "eval mode"):
        impl.fuse_conv_bn_eval(conv, bn.eval())  # conv still in training mode
    with raises_naming(ValueError, "eval mode"):
        impl.fuse_conv_bn_eval(conv.eval(), bn.train())
    with raises_naming(TypeError, "conv", "Conv2d"):
        impl.fuse_conv_bn_eval(nn.Linear(2, 3).eval(), bn.eval())
    with raises_naming(TypeError, "bn", "BatchNorm2d"):
        impl.fuse_conv_bn_eval(conv.eval(), nn.LayerNorm(3).eval())
    with raises_naming(ValueError, "num_features", "3", "4"):
        impl.fuse_conv_bn_eval(conv.eval(), nn.BatchNorm2d(4).eval())
    with raises_naming(ValueError, "running stats"):
        impl.fuse_conv_bn_eval(conv.eval(), nn.BatchNorm2d(3, track_running_stats=False).eval())


# ---------------------------------------------------------------- figures


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_figures(lang: str) -> None:
    import matplotlib.figure

    from figures.fundamentals.normalization import draw_norm_axes, draw_running_stats

    fig = draw_norm_axes(lang)
    assert isinstance(fig, matplotlib.figure.Figure) and len(fig.axes) == 4
    fig = draw_running_stats(lang)
    assert isinstance(fig, matplotlib.figure.Figure) and len(fig.axes) >= 1
