"""Tests for snippets/fundamentals/backprop.py.

References: torch autograd on the same float64 weights (x @ W1 + b1 -> relu -> @ W2 + b2 ->
F.cross_entropy), central differences written here, and torch.nn.init (same generator ->
identical samples; calculate_gain and the fan formula).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tests import support
from tests.support import assert_close, cases, raises_naming, under_test

impl = under_test("snippets.fundamentals.backprop")
KEYS = ("W1", "b1", "W2", "b2")


def _say(zh: str, en: str) -> str:
    return zh if support.LANG == "zh" else en


def random_case(rng: np.random.Generator, n: int, d: int, h: int, c: int) -> tuple:
    x = rng.standard_normal((n, d))
    y = rng.integers(0, c, n)
    params = {
        "W1": rng.standard_normal((d, h)) / math.sqrt(d),
        "b1": rng.standard_normal(h) * 0.1,
        "W2": rng.standard_normal((h, c)) / math.sqrt(h),
        "b2": rng.standard_normal(c) * 0.1,
    }
    return x, y, params


def torch_grads(x: np.ndarray, y: np.ndarray, params: dict) -> tuple[float, dict]:
    """The reference: autograd through the same layout (x @ W + b)."""
    t = {k: torch.tensor(v, requires_grad=True) for k, v in params.items()}
    z = torch.relu(torch.tensor(x) @ t["W1"] + t["b1"]) @ t["W2"] + t["b2"]
    loss = F.cross_entropy(z, torch.tensor(y))
    loss.backward()
    return float(loss.detach()), {k: v.grad.numpy() for k, v in t.items()}


def grads_of(x: np.ndarray, y: np.ndarray, params: dict) -> dict:
    _, cache = impl.mlp_forward(x, y, params)
    return impl.mlp_backward(cache, y)


def dims(rng: np.random.Generator) -> tuple[int, int, int, int]:
    return tuple(int(v) for v in rng.integers(1, 7, 4))  # type: ignore[return-value]


# ------------------------------------------------------------- practice diagnostics


def test_gradients_have_the_shapes_of_params() -> None:
    """Practice diagnostic: a transposed product or an unsummed bias gradient."""
    x, y, params = random_case(np.random.default_rng(0), 5, 3, 4, 2)
    grads = grads_of(x, y, params)
    assert set(grads) == set(KEYS), _say(
        f"梯度字典的键必须与 params 相同 {KEYS}", f"the grads must have the keys of params {KEYS}"
    )
    for k in ("b1", "b2"):
        assert np.shape(grads[k]) == params[k].shape, _say(
            f"d{k} 的形状应为 {params[k].shape}，实际为 {np.shape(grads[k])}：偏置被广播到 batch 的每一行，"
            "它的梯度要对 batch 维求和（dlogits.sum(axis=0)）。",
            f"d{k} must have shape {params[k].shape}, got {np.shape(grads[k])}: the bias is "
            "broadcast over the batch, so its gradient is SUMMED over axis 0.",
        )
    for k in ("W1", "W2"):
        assert np.shape(grads[k]) == params[k].shape, _say(
            f"d{k} 的形状应为 {params[k].shape}，实际为 {np.shape(grads[k])}：对 z = a @ W，"
            "dW = a.T @ dz（[in, N] @ [N, out]），而不是 dz.T @ a。",
            f"d{k} must have shape {params[k].shape}, got {np.shape(grads[k])}: for "
            "z = a @ W, dW = a.T @ dz ([in, N] @ [N, out]), not dz.T @ a.",
        )


def test_gradient_does_not_grow_with_the_batch() -> None:
    """Practice diagnostic: forgetting to divide by N (the loss is a mean)."""
    x, y, params = random_case(np.random.default_rng(1), 4, 3, 5, 3)
    once = grads_of(x, y, params)
    twice = grads_of(np.concatenate([x, x]), np.concatenate([y, y]), params)
    ratio = np.linalg.norm(twice["b2"]) / max(np.linalg.norm(once["b2"]), 1e-300)
    assert abs(ratio - 1) < 1e-9, _say(
        f"把 batch 复制一份后平均损失不变，梯度却变成了 {ratio:.3g} 倍：损失是对 batch 求平均，"
        "dlogits = (p - one_hot(y)) / N，别忘了除以 N。",
        f"duplicating the batch leaves the mean loss unchanged, yet the gradient grew "
        f"{ratio:.3g}x: the loss is a MEAN, so dlogits = (p - one_hot(y)) / N.",
    )


def test_output_bias_gradient_sums_to_zero_over_classes() -> None:
    """Practice diagnostic: p - y with the integer label instead of one_hot(y)."""
    x, y, params = random_case(np.random.default_rng(2), 6, 3, 4, 5)
    y[:] = [0, 1, 2, 3, 4, 4]
    db2 = grads_of(x, y, params)["b2"]
    assert abs(float(np.sum(db2))) < 1e-12, _say(
        f"db2 的各分量之和应为 0（每行 p 与 one_hot(y) 的和都是 1），实际为 {np.sum(db2):.3g}："
        "softmax-CE 的梯度是 p - one_hot(y)，不是 p - y（整数标签）。",
        f"db2 must sum to 0 over classes (each row of p and of one_hot(y) sums to 1), got "
        f"{np.sum(db2):.3g}: the softmax-CE gradient is p - one_hot(y), not p - y (the "
        "integer label).",
    )


def test_relu_mask_zeroes_dead_units() -> None:
    """Practice diagnostic: the ReLU mask missing or taken from the wrong layer."""
    x, y, params = random_case(np.random.default_rng(3), 6, 3, 4, 3)
    params["b1"][1] = -100.0  # unit 1: pre-activation < 0 for every sample (dead)
    params["W2"][:] = np.random.default_rng(4).standard_normal((4, 3))
    g = grads_of(x, y, params)
    assert np.all(g["W1"][:, 1] == 0) and g["b1"][1] == 0, _say(
        "隐藏单元 1 的预激活 z1 = x @ W1 + b1 对所有样本都 < 0，ReLU 导数为 0，dW1[:, 1] 与 db1[1] "
        "必须为 0：dz1 = dh * (z1 > 0)，掩码来自第一层的预激活。",
        "hidden unit 1 has pre-activation z1 = x @ W1 + b1 < 0 on every sample, so its ReLU "
        "derivative is 0 and dW1[:, 1], db1[1] must be 0: dz1 = dh * (z1 > 0), with the mask "
        "from the FIRST layer's pre-activation.",
    )
    _, ref = torch_grads(x, y, params)
    assert np.allclose(g["W1"], ref["W1"], atol=1e-10), _say(
        "dW1 与 torch autograd 不一致：检查 ReLU 掩码 (z1 > 0) 和 dh = dlogits @ W2.T。",
        "dW1 disagrees with torch autograd: check the ReLU mask (z1 > 0) and dh = dlogits @ W2.T.",
    )


def test_matches_torch_autograd_on_300_cases() -> None:
    rng = np.random.default_rng(5)
    for _ in range(cases(300)):
        x, y, params = random_case(rng, *dims(rng))
        loss, cache = impl.mlp_forward(x, y, params)
        grads = impl.mlp_backward(cache, y)
        ref_loss, ref = torch_grads(x, y, params)
        assert_close(loss, ref_loss, atol=1e-10, rtol=1e-10, inputs={"x": x, "y": y})
        for k in KEYS:
            assert_close(grads[k], ref[k], atol=1e-10, rtol=1e-10, inputs={"param": k, "x": x})


def test_matches_central_differences_on_100_cases() -> None:
    rng = np.random.default_rng(6)
    for _ in range(cases(100)):
        x, y, params = random_case(rng, *dims(rng))
        grads = grads_of(x, y, params)
        for k in KEYS:
            # central differences written here, independent of the snippet's helper
            num = np.zeros_like(params[k])
            for i in np.ndindex(num.shape):
                old = params[k][i]
                params[k][i] = old + 1e-6
                f_plus = impl.mlp_forward(x, y, params)[0]
                params[k][i] = old - 1e-6
                f_minus = impl.mlp_forward(x, y, params)[0]
                params[k][i] = old
                num[i] = (f_plus - f_minus) / 2e-6
            # ||a - b|| / (||a|| + ||b||), written here; elementwise ratios blow up on
            # entries near 0, where the rounding noise ~1e-16 / eps = 1e-10 dominates.
            denom = np.linalg.norm(num) + np.linalg.norm(grads[k])
            err = np.linalg.norm(num - grads[k]) / denom if denom > 0 else 0.0
            assert err < 1e-7, f"{k}: relative error {err:.2e} against central differences"


def test_batch_of_one_and_kink_at_zero() -> None:
    x = np.zeros((1, 2))
    y = np.array([1])
    # b1 = 0 and x = 0: every pre-activation is exactly 0, the kink. torch: relu'(0) = 0.
    params = {"W1": np.ones((2, 3)), "b1": np.zeros(3), "W2": np.ones((3, 2)), "b2": np.zeros(2)}
    g = grads_of(x, y, params)
    _, ref = torch_grads(x, y, params)
    for k in KEYS:
        assert_close(g[k], ref[k], atol=1e-12, rtol=0)
    assert np.all(g["b1"] == 0), "relu'(0) must be 0, as in torch"
    assert_close(g["b2"], np.array([0.5, -0.5]), atol=1e-12, rtol=0)  # p = (.5, .5)


# ------------------------------------------------------------- numerical_gradient


def test_numerical_gradient_is_central_and_restores_x() -> None:
    """Practice diagnostic: forward differences, or x not restored."""
    rng = np.random.default_rng(7)
    for _ in range(cases(50)):
        x = rng.standard_normal(int(rng.integers(1, 8)))
        before = x.copy()
        g = impl.numerical_gradient(lambda v: float(np.sum(np.exp(v))), x, 1e-5)
        assert np.array_equal(x, before), _say(
            "numerical_gradient 改动了 x：每个分量扰动之后要恢复原值。",
            "numerical_gradient changed x: restore every entry after perturbing it.",
        )
        err = np.max(np.abs(g - np.exp(x)) / np.exp(x))
        # central: error ~ eps^2 / 6 = 2e-11; forward: ~ eps / 2 = 5e-6
        assert err < 1e-8, _say(
            f"相对误差 {err:.1e} 太大：用中心差分 (f(x+eps) - f(x-eps)) / (2 eps)，误差 O(eps^2)；"
            "前向差分只有 O(eps)。",
            f"relative error {err:.1e} is too large: use central differences "
            "(f(x+eps) - f(x-eps)) / (2 eps), error O(eps^2); forward differences are O(eps).",
        )


def test_numerical_gradient_checks_mlp_backward() -> None:
    rng = np.random.default_rng(8)
    for _ in range(cases(20)):
        x, y, params = random_case(rng, *dims(rng))
        grads = grads_of(x, y, params)
        for k in KEYS:

            def loss(_: np.ndarray, x=x, y=y, params=params) -> float:
                return impl.mlp_forward(x, y, params)[0]  # reads params[k] in place

            num = impl.numerical_gradient(loss, params[k])
            assert impl.relative_error(grads[k], num) < 1e-7, k


# ------------------------------------------------------------- initialisation


@pytest.mark.parametrize("nl", ["linear", "conv2d", "sigmoid", "tanh", "relu", "selu"])
def test_calculate_gain_matches_torch(nl: str) -> None:
    assert impl.calculate_gain(nl) == torch.nn.init.calculate_gain(nl)


def test_leaky_relu_gain_matches_torch() -> None:
    for a in (None, 0, 0.01, 0.2, 1.0):
        assert impl.calculate_gain("leaky_relu", a) == torch.nn.init.calculate_gain("leaky_relu", a)


SHAPES = [(3, 5), (64, 3, 7, 7), (8, 4, 3), (2, 6, 1, 2, 3), (1, 1)]


@pytest.mark.parametrize("shape", SHAPES)
def test_fans_match_torch(shape: tuple[int, ...]) -> None:
    t = torch.empty(shape)
    assert impl.fan_in_and_fan_out(t) == torch.nn.init._calculate_fan_in_and_fan_out(t)


@pytest.mark.parametrize("shape", SHAPES)
def test_xavier_uniform_equals_torch_with_the_same_generator(shape: tuple[int, ...]) -> None:
    for gain in (1.0, torch.nn.init.calculate_gain("tanh")):
        ours = impl.xavier_uniform_(torch.empty(shape), gain, torch.Generator().manual_seed(9))
        ref = torch.nn.init.xavier_uniform_(
            torch.empty(shape), gain, torch.Generator().manual_seed(9)
        )
        assert_close(ours, ref, atol=0, rtol=0)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    "kw",
    [{}, {"mode": "fan_out"}, {"nonlinearity": "relu"}, {"a": 0.2}, {"nonlinearity": "tanh"}],
)
def test_kaiming_normal_equals_torch_with_the_same_generator(shape: tuple, kw: dict) -> None:
    ours = impl.kaiming_normal_(
        torch.empty(shape), generator=torch.Generator().manual_seed(10), **kw
    )
    ref = torch.nn.init.kaiming_normal_(
        torch.empty(shape), generator=torch.Generator().manual_seed(10), **kw
    )
    assert_close(ours, ref, atol=0, rtol=0)


def test_sample_statistics_match_the_formulas() -> None:
    # 256 x 128 x 3 x 3 = 294,912 samples. The std of a sample variance of a normal is
    # Var * sqrt(2 / n) = 0.26% of Var; 2% is > 7 standard errors (uniform: smaller still).
    w = impl.kaiming_normal_(torch.empty(256, 128, 3, 3), generator=torch.manual_seed(11))
    assert abs(float(w.double().var()) / (2 / (128 * 9)) - 1) < 0.02  # He: 2 / fan_in
    assert abs(float(w.double().mean())) < 5 * math.sqrt(2 / 1152) / math.sqrt(w.numel())
    w = impl.xavier_uniform_(torch.empty(256, 128, 3, 3), generator=torch.manual_seed(12))
    assert abs(float(w.double().var()) / (2 / (128 * 9 + 256 * 9)) - 1) < 0.02
    bound = math.sqrt(6 / (128 * 9 + 256 * 9))
    assert float(w.abs().max()) <= bound and float(w.abs().max()) > 0.999 * bound


def _activation_variance(std_of_fan: float, depth: int = 30, width: int = 256) -> float:
    gen = torch.Generator().manual_seed(13)
    h = torch.randn(512, width, generator=gen, dtype=torch.float64)
    first = float(h.pow(2).mean())
    for _ in range(depth):
        w = torch.randn(width, width, generator=gen, dtype=torch.float64) * std_of_fan
        h = torch.relu(h @ w.T)
    return float(h.pow(2).mean()) / first  # second moment E[h^2], what He tracks


def test_he_init_keeps_activation_scale_through_30_relu_layers() -> None:
    width = 256
    he = torch.empty(width, width)
    std_he = math.sqrt(2 / width)
    assert impl.kaiming_normal_(he, generator=torch.manual_seed(0)).std() > 0.9 * std_he
    ratio_he = _activation_variance(std_he)
    ratio_small = _activation_variance(math.sqrt(1 / width))  # ignores ReLU's halving
    assert 0.25 < ratio_he < 4, ratio_he
    # each layer halves E[h^2]: 2^-30 ~ 9e-10
    assert ratio_small < 1e-7, ratio_small


# ------------------------------------------------------------- vanishing gradients


def deep_weights(activation: str, depth: int = 30, width: int = 64) -> list[np.ndarray]:
    rng = np.random.default_rng(14)
    std = math.sqrt(2 / width) if activation == "relu" else math.sqrt(1 / width)
    return [rng.standard_normal((width, width)) * std for _ in range(depth)]


def test_sigmoid_gradients_vanish_relu_he_do_not() -> None:
    x = np.random.default_rng(15).standard_normal((128, 64))
    sig = impl.deep_grad_norms(deep_weights("sigmoid"), x, "sigmoid")
    relu = impl.deep_grad_norms(deep_weights("relu"), x, "relu")
    assert sig[0] / sig[-1] < 1e-3, sig[0] / sig[-1]
    assert 0.1 < relu[0] / relu[-1] < 10, relu[0] / relu[-1]


def test_deep_grad_norms_match_autograd() -> None:
    x = np.random.default_rng(16).standard_normal((8, 6))
    ws = [np.random.default_rng(17 + i).standard_normal((6, 6)) * 0.5 for i in range(5)]
    for act in ("relu", "sigmoid"):
        tw = [torch.tensor(w, requires_grad=True) for w in ws]
        h = torch.tensor(x)
        for w in tw:
            h = torch.relu(h @ w) if act == "relu" else torch.sigmoid(h @ w)
        (h.sum() / len(x)).backward()
        ref = np.array([float(w.grad.norm()) for w in tw])
        assert_close(impl.deep_grad_norms(ws, x, act), ref, atol=1e-12, rtol=1e-10)


# ------------------------------------------------------------- bad input


def test_bad_input_names_the_argument() -> None:
    x, y, p = random_case(np.random.default_rng(18), 4, 3, 5, 2)
    with raises_naming(TypeError, "x", "numpy.ndarray"):
        impl.mlp_forward(x.tolist(), y, p)
    with raises_naming(ValueError, "x", "[N, D]"):
        impl.mlp_forward(x[0], y, p)
    with raises_naming(ValueError, "W1", "[D=2"):
        impl.mlp_forward(x[:, :2], y, p)
    with raises_naming(ValueError, "W2", "[H=5"):
        impl.mlp_forward(x, y, {**p, "W2": np.zeros((4, 2))})
    with raises_naming(ValueError, "b1"):
        impl.mlp_forward(x, y, {**p, "b1": np.zeros(4)})
    with raises_naming(TypeError, "params"):
        impl.mlp_forward(x, y, {"W1": p["W1"]})
    with raises_naming(ValueError, "y", "[0, C=2)"):
        impl.mlp_forward(x, y + 5, p)
    with raises_naming(ValueError, "y", "[N=4]"):
        impl.mlp_forward(x, y[:2], p)
    with raises_naming(ValueError, "y", "integer"):
        impl.mlp_forward(x, y.astype(float), p)
    with raises_naming(TypeError, "x", "float64"):
        impl.numerical_gradient(lambda v: 0.0, np.zeros(2, dtype=np.float32))
    with raises_naming(ValueError, "eps"):
        impl.numerical_gradient(lambda v: 0.0, np.zeros(2), eps=0.0)


def test_init_bad_input_matches_torch() -> None:
    for fn in (torch.nn.init._calculate_fan_in_and_fan_out, impl.fan_in_and_fan_out):
        with pytest.raises(ValueError, match="fewer than 2 dimensions"):
            fn(torch.empty(5))
    with raises_naming(TypeError, "tensor", "torch.Tensor"):
        impl.xavier_uniform_(np.zeros((2, 2)))
    with raises_naming(ValueError, "mode"):
        impl.kaiming_normal_(torch.empty(2, 2), mode="fan_avg")
    with raises_naming(ValueError, "nonlinearity"):
        impl.calculate_gain("gelu")
    with pytest.raises(ValueError):
        torch.nn.init.calculate_gain("gelu")


def test_figures_draw() -> None:
    import matplotlib.figure

    from figures.fundamentals import backprop as figs

    for lang in ("zh", "en"):
        assert isinstance(figs.draw_grad_norms(lang), matplotlib.figure.Figure)
