"""Tests for snippets/fundamentals/dropout_activations.py.

Reference: torch.nn.functional (torch 2.14). torch's dropout draws its mask from its own RNG
stream (a Bernoulli kernel), which a Python reimplementation cannot reproduce element by element,
so dropout is tested statistically: zero fraction within a binomial bound, survivors exactly
input / (1 - p), and the mean and variance within bounds.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from tests import support
from tests.support import assert_close, cases, raises_naming, under_test

impl = under_test("snippets.fundamentals.dropout_activations")

PS = (0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9)
N = 200_000  # elements per dropout check


def _say(zh: str, en: str) -> str:
    return zh if support.LANG == "zh" else en


def _x(seed: int, n: int = N) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(n, generator=g, dtype=torch.float64) + 0.5  # in [0.5, 1.5): never 0


# ---------------------------------------------------------------- dropout diagnostics


def test_dropout_zero_fraction_is_p() -> None:
    """Fraction of zeros within 5 binomial standard deviations of p, for 7 values of p."""
    for i, p in enumerate(PS):
        x = _x(i)
        out = impl.dropout(x, p=p, training=True, generator=torch.Generator().manual_seed(i))
        frac = float((out == 0).double().mean())
        bound = 5 * math.sqrt(p * (1 - p) / N)
        if abs(frac - 1 + p) < bound and abs(frac - p) >= bound:
            raise AssertionError(
                _say(
                    f"p={p} 时被置零的比例是 {frac:.4f} ≈ 1 - p：p 是“丢弃”概率（与 torch 一致），"
                    "不是保留概率。用 keep = rand >= p。",
                    f"with p={p} the fraction of zeros is {frac:.4f} ≈ 1 - p: p is the DROP "
                    "probability (as in torch), not the keep probability. Use keep = rand >= p.",
                )
            )
        assert abs(frac - p) < bound, (p, frac, bound)
        ref = F.dropout(x, p=p, training=True)
        assert abs(float((ref == 0).double().mean()) - p) < bound  # torch: the same law


def test_dropout_survivors_are_scaled_by_one_over_one_minus_p() -> None:
    for i, p in enumerate(PS):
        x = _x(10 + i, 20_000)
        out = impl.dropout(x, p=p, generator=torch.Generator().manual_seed(i))
        kept = out != 0
        ratio = float((out[kept] / x[kept]).mean())
        for wrong, name in ((1.0, "1 (no rescale)"), (1 - p, "(1 - p)"), (p, "p")):
            if abs(ratio - wrong) < 1e-9 and abs(wrong - 1 / (1 - p)) > 1e-9:
                raise AssertionError(
                    _say(
                        f"p={p}：保留下来的元素被乘以了 {name}，应乘以 1/(1-p) = {1 / (1 - p):.4f}，"
                        "这样 E[out] = (1-p)·x/(1-p) = x，eval 时才能直接恒等输出。",
                        f"p={p}: survivors were multiplied by {name}; they must be multiplied by "
                        f"1/(1-p) = {1 / (1 - p):.4f} so that E[out] = (1-p)·x/(1-p) = x and "
                        "eval mode can be the identity.",
                    )
                )
        assert_close(out[kept], x[kept] / (1 - p), atol=1e-12, rtol=1e-12)
        ref = F.dropout(x, p=p)
        assert_close(ref[ref != 0], x[ref != 0] / (1 - p), atol=1e-12, rtol=1e-12)


def test_dropout_eval_mode_is_identity() -> None:
    x = _x(20, 1000)
    for p in PS:
        out = impl.dropout(x, p=p, training=False)
        if not torch.equal(out, x):
            raise AssertionError(
                _say(
                    f"training=False、p={p} 时输出与输入不同：inverted dropout 在 eval 时是恒等映射"
                    "（不丢弃、不缩放），缩放已经在训练时做过了。",
                    f"training=False with p={p} changed the input: inverted dropout is the "
                    "identity in eval mode (no dropping, no scaling); the scaling was done in "
                    "training.",
                )
            )
        assert torch.equal(F.dropout(x, p=p, training=False), x)


def test_dropout_mean_and_variance() -> None:
    """E[out] = x and Var[out] = x^2 p / (1 - p), on x = 1 (200,000 elements per p)."""
    for i, p in enumerate(PS):
        out = impl.dropout(
            torch.ones(N, dtype=torch.float64), p=p, generator=torch.Generator().manual_seed(30 + i)
        )
        var = p / (1 - p)  # E[out^2] - 1 = (1-p) / (1-p)^2 - 1
        assert abs(float(out.mean()) - 1) < 5 * math.sqrt(var / N), (p, float(out.mean()))
        assert abs(float(out.var()) / var - 1) < 0.05, (p, float(out.var()), var)


def test_dropout_p0_p1_match_torch() -> None:
    x = _x(40, 100)
    assert torch.equal(impl.dropout(x, p=0.0), x)
    assert torch.equal(impl.dropout(x, p=1.0), F.dropout(x, p=1.0))  # zeros, not nan
    assert torch.equal(impl.dropout(x, p=1.0), torch.zeros_like(x))


def test_dropout_naive_has_the_same_expectation() -> None:
    x = torch.ones(N, dtype=torch.float64)
    torch.manual_seed(0)
    for p in (0.2, 0.5):
        train = impl.dropout_naive(x, p=p, training=True)
        ev = impl.dropout_naive(x, p=p, training=False)
        assert abs(float(train.mean()) - float(ev.mean())) < 0.01  # both (1 - p)
        assert abs(float(ev.mean()) - (1 - p)) < 1e-12


# ---------------------------------------------------------------- activations


def _grid(seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.cat(
        [
            torch.randn(4000, generator=g, dtype=torch.float64) * 4,
            torch.linspace(-50, 50, 1001, dtype=torch.float64),
        ]
    )


def test_gelu_tanh_form_constants() -> None:
    x = torch.linspace(-4, 4, 81, dtype=torch.float64)
    out, ref = impl.gelu(x, approximate="tanh"), F.gelu(x, approximate="tanh")
    if not torch.allclose(out, ref, atol=1e-9):
        raise AssertionError(
            _say(
                "gelu(approximate='tanh') 与 F.gelu 不一致：公式是 0.5·x·(1 + tanh(√(2/π)·(x + "
                "0.044715·x³)))，检查常数 √(2/π) ≈ 0.7979、0.044715，以及是 x 的三次方。",
                "gelu(approximate='tanh') differs from F.gelu: the formula is "
                "0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))); check the constants "
                "√(2/π) ≈ 0.7979 and 0.044715, and that x is CUBED.",
            )
        )


def test_gelu_matches_torch_float64() -> None:
    """5,001 values (4,000 random at scale 4 plus a grid on [-50, 50]) per form."""
    x = _grid(50)
    for a in ("none", "tanh"):
        assert_close(impl.gelu(x, approximate=a), F.gelu(x, approximate=a), atol=1e-12, rtol=1e-12)
    xf = x.float()
    assert_close(impl.gelu(xf), F.gelu(xf), atol=1e-6, rtol=1e-5)


def test_gelu_forms_differ_by_at_most_5e_4() -> None:
    x = torch.linspace(-10, 10, 200_001, dtype=torch.float64)
    diff = (F.gelu(x) - F.gelu(x, approximate="tanh")).abs().max()
    assert 1e-4 < float(diff) < 5e-4, float(diff)
    assert_close((impl.gelu(x) - impl.gelu(x, approximate="tanh")).abs().max(), diff, atol=1e-12)


def test_silu_leaky_elu_match_torch() -> None:
    x = _grid(51)
    assert_close(impl.silu(x), F.silu(x), atol=1e-12, rtol=1e-12)
    for s in (0.01, 0.2):
        assert_close(impl.leaky_relu(x, s), F.leaky_relu(x, s), atol=1e-12, rtol=1e-12)
    for a in (1.0, 0.5):
        assert_close(impl.elu(x, a), F.elu(x, a), atol=1e-12, rtol=1e-12)


def test_sigmoid_tanh_derivatives_match_autograd() -> None:
    x = _grid(52).requires_grad_()
    torch.sigmoid(x).sum().backward()
    assert_close(impl.sigmoid_grad(x.detach()), x.grad, atol=1e-12)
    x.grad = None
    torch.tanh(x).sum().backward()
    assert_close(impl.tanh_grad(x.detach()), x.grad, atol=1e-12)
    assert float(impl.sigmoid_grad(x.detach()).max()) <= 0.25  # max 1/4 at x = 0
    assert float(impl.sigmoid_grad(torch.tensor(0.0))) == 0.25
    # Ten sigmoid layers multiply the gradient by at most 0.25^10 < 1e-6.
    assert 0.25**10 < 1e-6


def test_dead_relu_after_large_negative_bias_step() -> None:
    """A seeded layer: one large step that pushes biases down kills most ReLU units."""
    g = torch.Generator().manual_seed(60)
    x = torch.randn(512, 32, generator=g)
    w = torch.randn(32, 64, generator=g) / math.sqrt(32)
    b = torch.zeros(64)
    dead = lambda bias: float(((x @ w + bias) <= 0).all(0).float().mean())  # noqa: E731
    assert dead(b) < 0.05
    b_after = b - 10.0 * torch.rand(64, generator=g)  # a large-lr step on the bias
    frac = dead(b_after)
    assert frac > 0.5, frac
    # Dead units get zero gradient: they cannot recover.
    bb = b_after.clone().requires_grad_()
    torch.relu(x @ w + bb).sum().backward()
    d = ((x @ w + b_after) <= 0).all(0)
    assert torch.equal(bb.grad[d], torch.zeros(int(d.sum())))


# ---------------------------------------------------------------- errors


def test_errors() -> None:
    with raises_naming(ValueError, "p", "between 0 and 1"):
        impl.dropout(torch.ones(3), p=1.5)
    with raises_naming(ValueError, "p", "-0.1"):
        impl.dropout(torch.ones(3), p=-0.1)
    with pytest.raises(ValueError, match="between 0 and 1"):  # torch raises too
        F.dropout(torch.ones(3), p=1.5)
    with raises_naming(TypeError, "input", "torch.Tensor", "list"):
        impl.dropout([1.0, 2.0])
    with raises_naming(ValueError, "approximate", "tanh", "erf"):
        impl.gelu(torch.ones(3), approximate="erf")
    for fn in (impl.gelu, impl.silu, impl.sigmoid_grad, impl.tanh_grad, impl.elu):
        with raises_naming(TypeError, "input", "list"):
            fn([1.0])
    assert cases(1) == 1


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_figures(lang: str) -> None:
    import matplotlib.figure

    from figures.fundamentals.dropout_activations import draw_activations

    fig = draw_activations(lang)
    assert isinstance(fig, matplotlib.figure.Figure) and len(fig.axes) == 2
