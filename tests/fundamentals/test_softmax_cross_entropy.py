"""Tests for snippets/fundamentals/softmax_cross_entropy.py.

Reference: torch.nn.functional (torch 2.14) on seeded random cases in float64, plus
brute-force float64 transcriptions of the formulas written here (label smoothing with
weights, the KL definition, Hinton et al.'s high-temperature limit).
"""

from __future__ import annotations

import itertools
import math
import warnings

import pytest
import torch
import torch.nn.functional as F

from tests import support
from tests.support import assert_close, cases, raises_naming, under_test

impl = under_test("snippets.fundamentals.softmax_cross_entropy")

F64 = {"atol": 1e-10, "rtol": 1e-10}


def _say(zh: str, en: str) -> str:
    """A practice diagnostic in the reader's language (HANDBOOK_LANG=zh|en)."""
    return zh if support.LANG == "zh" else en


def _close(a: torch.Tensor, b: torch.Tensor, tol: float = 1e-8) -> bool:
    return bool(torch.allclose(a.double(), b.double(), atol=tol, rtol=tol, equal_nan=True))


def random_logits(gen: torch.Generator, shape: tuple[int, ...]) -> torch.Tensor:
    """Logits at a random scale: 1, 10 or 1e4 (the last overflows a naive softmax)."""
    scale = [1.0, 10.0, 1e4][int(torch.randint(0, 3, (1,), generator=gen))]
    return torch.randn(shape, generator=gen, dtype=torch.float64) * scale


def random_shape(gen: torch.Generator) -> tuple[int, ...]:
    ndim = int(torch.randint(1, 5, (1,), generator=gen))
    return tuple(int(s) for s in torch.randint(1, 6, (ndim,), generator=gen))


# ---------------------------------------------------------------- softmax / log_softmax


def test_softmax_survives_logits_of_1e4() -> None:
    """Practice diagnostic: forgetting to subtract the maximum."""
    x = torch.tensor([[1e4, 0.0, -1e4], [-1e4, -1e4, -1e4]])
    out = impl.softmax(x, 1)
    if not torch.isfinite(out).all():
        raise AssertionError(
            _say(
                "softmax 在 logits 为 ±1e4 时返回了 nan/inf：exp(1e4) 溢出为 inf，exp(-1e4) 下溢为 0。先沿 dim 减去最大值：softmax(x) = softmax(x - max(x))，且 exp(x - max) <= 1。",
                "softmax returned nan/inf for logits of ±1e4: exp(1e4) overflows to inf and "
                "exp(-1e4) underflows to 0. Subtract the maximum along dim first: "
                "softmax(x) = softmax(x - max(x)) and exp(x - max) <= 1.",
            )
        )
    assert_close(out, torch.softmax(x, 1), inputs={"x": x}, atol=1e-6)


def test_log_softmax_survives_logits_of_1e4() -> None:
    """Practice diagnostic: log(softmax(x)) underflows even when softmax is stable."""
    x = torch.tensor([[1e4, 0.0, -1e4]], dtype=torch.float64)
    out = impl.log_softmax(x, 1)
    if not torch.isfinite(out).all():
        raise AssertionError(
            _say(
                "log_softmax 在 logits [1e4, 0, -1e4] 上返回了 -inf/nan，正确值是 [0, -1e4, -2e4]。log(softmax(x)) 会失败，因为 softmax 先下溢成 0；请用 log-sum-exp 形式 x - m - log(sum(exp(x - m)))，m = max(x)。",
                "log_softmax returned -inf/nan for logits [1e4, 0, -1e4]: the correct values are "
                "[0, -1e4, -2e4]. log(softmax(x)) fails because softmax underflows to 0 first; "
                "use the log-sum-exp form x - m - log(sum(exp(x - m))) with m = max(x).",
            )
        )
    assert_close(out, torch.log_softmax(x, 1), inputs={"x": x}, **F64)


def test_softmax_normalises_over_the_given_dim() -> None:
    """Practice diagnostic: softmax over the wrong axis (e.g. always the last one)."""
    gen = torch.Generator().manual_seed(4)
    x = torch.randn(2, 3, 4, generator=gen, dtype=torch.float64)
    for dim in (0, 1, 2, -1, -2):
        for name, fn in (("softmax", impl.softmax), ("log_softmax", impl.log_softmax)):
            p = fn(x, dim)
            p = p.exp() if name == "log_softmax" else p
            sums = p.sum(dim)
            if not _close(sums, torch.ones_like(sums)):
                raise AssertionError(
                    _say(
                        f"{name}(x, dim={dim})，x 的形状为 (2, 3, 4)：沿 dim={dim} 的元素之和"
                        f"应为 1，实际为 {sums.flatten()[:4].tolist()}。请沿参数 dim 指定的轴"
                        "归一化（max、exp、sum 都沿 dim，keepdim=True），不要固定某个轴。",
                        f"{name}(x, dim={dim}) with x of shape (2, 3, 4): the entries along "
                        f"dim={dim} must sum to 1, got sums {sums.flatten()[:4].tolist()}. "
                        "Normalise over the axis given by `dim` (max, exp and sum all along dim, "
                        "with keepdim=True), not over a fixed axis.",
                    )
                )


def test_softmax_and_log_softmax_match_torch_float64() -> None:
    """2,000 random shapes (1 to 4 dims), every dim (negative too), logits up to 1e4."""
    gen = torch.Generator().manual_seed(0)
    for _ in range(cases(2000)):
        shape = random_shape(gen)
        x = random_logits(gen, shape)
        dim = int(torch.randint(-len(shape), len(shape), (1,), generator=gen))
        inputs = {"x": x, "dim": dim}
        assert_close(impl.softmax(x, dim), torch.softmax(x, dim), inputs=inputs, atol=1e-12)
        assert_close(impl.log_softmax(x, dim), torch.log_softmax(x, dim), inputs=inputs, **F64)


def test_softmax_and_log_softmax_match_torch_float32() -> None:
    gen = torch.Generator().manual_seed(1)
    for _ in range(cases(500)):
        shape = random_shape(gen)
        x = random_logits(gen, shape).float()
        dim = int(torch.randint(0, len(shape), (1,), generator=gen))
        inputs = {"x": x, "dim": dim}
        assert_close(impl.softmax(x, dim), torch.softmax(x, dim), inputs=inputs, atol=1e-6)
        assert_close(impl.log_softmax(x, dim), torch.log_softmax(x, dim), inputs=inputs, atol=1e-4)


def test_naive_softmax_is_right_for_small_logits_and_overflows_at_1e4() -> None:
    gen = torch.Generator().manual_seed(2)
    for _ in range(cases(200)):  # the formula itself is right...
        x = torch.randn(3, 5, generator=gen, dtype=torch.float64)
        assert_close(impl.softmax_naive(x, 1), torch.softmax(x, 1), atol=1e-12)
    # ...but exp(1e4) = inf (float64 overflows above ~709.78): inf / inf = nan.
    big = torch.tensor([[1e4, 0.0, -1e4]], dtype=torch.float64)
    assert torch.isnan(impl.softmax_naive(big, 1)[0, 0])
    # exp(-1e4) = 0 for every entry: 0 / 0 = nan.
    assert torch.isnan(impl.softmax_naive(torch.full((1, 3), -1e4), 1)).all()
    assert_close(impl.softmax(big, 1), torch.tensor([[1.0, 0.0, 0.0]]), atol=0, rtol=0)
    assert_close(impl.log_softmax(big, 1), torch.tensor([[0.0, -1e4, -2e4]]), atol=0, rtol=0)


def test_softmax_edge_cases_match_torch() -> None:
    cases = [
        torch.tensor([[3.0], [-1e4]], dtype=torch.float64),  # one class: probability 1
        torch.tensor([[0.0, -math.inf, 1.0]], dtype=torch.float64),  # masked logit
        torch.tensor([[-math.inf, -math.inf]], dtype=torch.float64),  # all masked: nan
        torch.tensor([[1e4, 1e4, -1e4]], dtype=torch.float64),
        torch.zeros(0, 3, dtype=torch.float64),  # empty
        torch.zeros(2, 0, dtype=torch.float64),
    ]
    for x in cases:
        for dim in (0, 1):
            assert_close(impl.softmax(x, dim), torch.softmax(x, dim), inputs={"x": x}, atol=0)
            assert_close(
                impl.log_softmax(x, dim), torch.log_softmax(x, dim), inputs={"x": x}, atol=0
            )


def test_softmax_and_log_softmax_gradients_match_torch() -> None:
    gen = torch.Generator().manual_seed(3)
    for _ in range(cases(300)):
        shape = random_shape(gen)
        dim = int(torch.randint(0, len(shape), (1,), generator=gen))
        x = random_logits(gen, shape)
        up = torch.randn(shape, generator=gen, dtype=torch.float64)
        for fn, ref in ((impl.softmax, torch.softmax), (impl.log_softmax, torch.log_softmax)):
            a = x.clone().requires_grad_()
            b = x.clone().requires_grad_()
            (fn(a, dim) * up).sum().backward()
            (ref(b, dim) * up).sum().backward()
            assert_close(a.grad, b.grad, inputs={"x": x, "dim": dim}, atol=1e-10)


# ---------------------------------------------------------------- cross_entropy

SHAPES = ("[N,C]", "[N,C,d1]", "[N,C,d1,d2]", "[C]")


def _ce_inputs(gen: torch.Generator, kind: str) -> tuple[torch.Tensor, torch.Tensor, int]:
    n, c = (int(v) for v in torch.randint(1, 6, (2,), generator=gen))
    extra = tuple(int(v) for v in torch.randint(1, 4, (kind.count("d"),), generator=gen))
    shape = (c,) if kind == "[C]" else (n, c, *extra)
    x = random_logits(gen, shape)
    t_shape = () if kind == "[C]" else (n, *extra)
    target = torch.randint(0, c, t_shape, generator=gen)
    return x, target, c


def _ignore(gen: torch.Generator, target: torch.Tensor, ignore_index: int) -> torch.Tensor:
    if ignore_index == -100:  # mark about 30% of the targets as ignored
        drop = torch.rand(target.shape, generator=gen) < 0.3
        return torch.where(drop, torch.full_like(target, -100), target)
    return target  # ignore_index = 1 is a real class: its targets are ignored


# ---------------------------------------------------------------- practice diagnostics


def test_cross_entropy_mean_skips_ignored_targets() -> None:
    x = torch.tensor([[2.0, 0.0, -1.0], [0.0, 1.0, 0.0], [1.0, 1.0, 3.0], [0.5, 0.0, 0.0]])
    y = torch.tensor([0, -100, 2, -100])
    expected = F.cross_entropy(x, y)  # (loss_0 + loss_2) / 2
    actual = impl.cross_entropy(x, y)
    per_sample = F.cross_entropy(x, y, reduction="none")
    if _close(actual, per_sample.sum() / 4, 1e-5):
        raise AssertionError(
            _say(
                "有被忽略目标时 cross_entropy 除以了 N = 4：'mean' 应除以不等于 ignore_index 的目标个数（这里是 2），被忽略的目标贡献 0。",
                "cross_entropy with ignored targets divided by N = 4: 'mean' must divide by the "
                "number of targets that are NOT ignore_index (here 2), and ignored targets add 0.",
            )
        )
    assert_close(actual, expected, inputs={"input": x, "target": y})


def test_cross_entropy_weighted_mean_divides_by_sum_of_weights() -> None:
    x = torch.tensor([[2.0, 0.0, -1.0], [0.0, 1.0, 0.0], [1.0, 1.0, 3.0]])
    y = torch.tensor([0, 1, 2])
    w = torch.tensor([0.2, 1.0, 3.0])
    expected = F.cross_entropy(x, y, weight=w)
    actual = impl.cross_entropy(x, y, weight=w)
    weighted = F.cross_entropy(x, y, weight=w, reduction="none")  # w[y_n] * loss_n
    if _close(actual, weighted.sum() / 3, 1e-5):
        raise AssertionError(
            _say(
                "加权的 cross_entropy 除以了 N = 3：有 weight 时 'mean' 是 sum_n w[y_n] * loss_n / sum_n w[y_n]（未被忽略目标的权重之和，这里是 0.2 + 1 + 3 = 4.2），而不是除以 N。",
                "weighted cross_entropy divided by N = 3: with weight, 'mean' is "
                "sum_n w[y_n] * loss_n / sum_n w[y_n] (the sum of the weights of the non-ignored "
                "targets, here 0.2 + 1 + 3 = 4.2), not / N.",
            )
        )
    assert_close(actual, expected, inputs={"input": x, "target": y, "weight": w})


def test_cross_entropy_label_smoothing_spreads_over_all_classes() -> None:
    x = torch.tensor([[2.0, 0.0, -1.0, 0.5], [0.0, 1.0, 0.0, -2.0]])
    y = torch.tensor([0, 3])
    eps = 0.2
    expected = F.cross_entropy(x, y, label_smoothing=eps)
    actual = impl.cross_entropy(x, y, label_smoothing=eps)
    off = torch.full((2, 4), eps / 3).scatter(1, y[:, None], 1 - eps)  # eps / (C - 1)
    wrong = -(off * torch.log_softmax(x, 1)).sum(1).mean()
    if _close(actual, wrong, 1e-5):
        raise AssertionError(
            _say(
                "label smoothing 把 eps/(C-1) 分给了其他类别：torch（以及 Szegedy 等）是与全部 C 个类别上的均匀分布混合，target = (1 - eps) * one_hot + eps / C，真实类别得到 1 - eps + eps/C。",
                "label smoothing put eps/(C-1) on the other classes: torch (and Szegedy et al.) "
                "mix with the uniform distribution over ALL C classes, "
                "target = (1 - eps) * one_hot + eps / C, so the true class gets 1 - eps + eps/C.",
            )
        )
    assert_close(actual, expected, inputs={"input": x, "target": y, "label_smoothing": eps})


@pytest.mark.parametrize("kind", SHAPES)
def test_cross_entropy_matches_torch_every_option(kind: str) -> None:
    """Every combination of weight, ignore_index, reduction and label smoothing.

    2 weights x 2 ignore_index x 3 reductions x 4 smoothings = 48 combinations x 10 seeds
    = 480 cases per input shape, 1,920 over the four shapes.
    """
    gen = torch.Generator().manual_seed(5 + SHAPES.index(kind))
    options = itertools.product(
        (False, True), (-100, 1), ("none", "mean", "sum"), (0.0, 0.1, 0.37, 1.0)
    )
    for use_w, ignore_index, reduction, eps in options:
        for _ in range(10):
            x, target, c = _ce_inputs(gen, kind)
            target = _ignore(gen, target, ignore_index)
            w = torch.rand(c, generator=gen, dtype=torch.float64) + 0.1 if use_w else None
            kw = {
                "weight": w,
                "ignore_index": ignore_index,
                "reduction": reduction,
                "label_smoothing": eps,
            }
            expected = F.cross_entropy(x, target, **kw)
            actual = impl.cross_entropy(x, target, **kw)
            assert_close(actual, expected, inputs={"input": x, "target": target, **kw}, **F64)


@pytest.mark.parametrize("kind", SHAPES)
def test_cross_entropy_probability_targets_match_torch(kind: str) -> None:
    """Soft targets: 2 weights x 3 reductions x 3 smoothings x 7 seeds = 126 per shape."""
    gen = torch.Generator().manual_seed(20 + SHAPES.index(kind))
    for use_w, reduction, eps in itertools.product(
        (False, True), ("none", "mean", "sum"), (0.0, 0.2, 1.0)
    ):
        for _ in range(7):
            x, _, c = _ce_inputs(gen, kind)
            cdim = 0 if x.ndim == 1 else 1
            probs = torch.rand(x.shape, generator=gen, dtype=torch.float64)
            probs = probs / probs.sum(cdim, keepdim=True)
            w = torch.rand(c, generator=gen, dtype=torch.float64) + 0.1 if use_w else None
            kw = {"weight": w, "reduction": reduction, "label_smoothing": eps}
            expected = F.cross_entropy(x, probs, **kw)
            actual = impl.cross_entropy(x, probs, **kw)
            assert_close(actual, expected, inputs={"input": x, "target": probs, **kw}, **F64)


def test_cross_entropy_hand_computed() -> None:
    # Two equal logits: p = 1/2 for both classes, loss = log 2 whatever the weights.
    x = torch.zeros(2, 2, dtype=torch.float64)
    y = torch.tensor([0, 1])
    assert_close(impl.cross_entropy(x, y), math.log(2), **F64)
    assert_close(impl.cross_entropy(x, y, weight=torch.tensor([1.0, 3.0])), math.log(2), **F64)
    # Logits (log 3, 0): p = (3/4, 1/4). Target 1 -> -log(1/4) = log 4.
    x = torch.tensor([[math.log(3), 0.0]], dtype=torch.float64)
    assert_close(impl.cross_entropy(x, torch.tensor([1])), math.log(4), **F64)
    # Smoothing 0.5 over C=2: target (1/4, 3/4) -> -(1/4 log 3/4 + 3/4 log 1/4).
    expected = -(0.25 * math.log(0.75) + 0.75 * math.log(0.25))
    assert_close(impl.cross_entropy(x, torch.tensor([1]), label_smoothing=0.5), expected, **F64)


def _smoothed_ce_loop(x, y, w, ignore_index, eps):
    """The normalisation of torch's weighted, smoothed mean, one sample at a time.

    loss = [ sum_n (1-eps) w[y_n] (-log p_n[y_n]) + (eps/C) sum_c w[c] (-log p_n[c]) ]
           / sum_n w[y_n]            (sums over the non-ignored n only)
    """
    n, c = x.shape
    num, den = 0.0, 0.0
    for i in range(n):
        if int(y[i]) == ignore_index:
            continue
        logits = x[i].tolist()
        m = max(logits)
        lse = m + math.log(sum(math.exp(v - m) for v in logits))
        logp = [v - lse for v in logits]
        yi = int(y[i])
        num += (1 - eps) * w[yi] * -logp[yi] + eps / c * sum(w[k] * -logp[k] for k in range(c))
        den += w[yi]
    return num / den


def test_weighted_smoothed_mean_normalisation_is_torchs() -> None:
    """The classic trap, pinned down against a plain-Python transcription (300 cases)."""
    gen = torch.Generator().manual_seed(30)
    for _ in range(cases(300)):
        n, c = (
            int(torch.randint(1, 8, (1,), generator=gen)),
            int(torch.randint(2, 6, (1,), generator=gen)),
        )
        x = torch.randn(n, c, generator=gen, dtype=torch.float64) * 3
        y = torch.randint(0, c, (n,), generator=gen)
        y[0] = int(torch.randint(0, c, (1,), generator=gen))  # at least one kept target
        y[1:] = _ignore(gen, y[1:], -100)
        w = (torch.rand(c, generator=gen, dtype=torch.float64) + 0.1).tolist()
        eps = float(torch.rand(1, generator=gen))
        expected = _smoothed_ce_loop(x, y, w, -100, eps)
        kw = {"weight": torch.tensor(w, dtype=torch.float64), "label_smoothing": eps}
        assert_close(F.cross_entropy(x, y, **kw), expected, **F64)  # torch does this...
        assert_close(impl.cross_entropy(x, y, **kw), expected, inputs={"x": x, "y": y}, **F64)


def test_smoothed_weighted_mean_is_not_the_target_weight_times_smoothed_ce() -> None:
    """A natural guess (weigh the whole smoothed row by w[y_n]) is NOT what torch does."""
    x = torch.tensor([[2.0, 0.0, -1.0], [0.5, 1.0, 0.0]], dtype=torch.float64)
    y = torch.tensor([0, 2])
    w = torch.tensor([1.0, 5.0, 0.5], dtype=torch.float64)
    eps = 0.3
    logp = torch.log_softmax(x, 1)
    y_smooth = (1 - eps) * F.one_hot(y, 3).double() + eps / 3
    guess = (-(y_smooth * logp).sum(1) * w[y]).sum() / w[y].sum()
    per_class = (-(y_smooth * logp * w).sum(1)).sum() / w[y].sum()  # torch's
    torch_value = F.cross_entropy(x, y, weight=w, label_smoothing=eps)
    assert not _close(guess, torch_value, 1e-3)
    assert_close(torch_value, per_class, **F64)
    assert_close(impl.cross_entropy(x, y, weight=w, label_smoothing=eps), per_class, **F64)


def test_cross_entropy_all_targets_ignored() -> None:
    """mean = 0 / 0 = nan (torch too); sum = 0; none = zeros."""
    x = torch.randn(4, 3, dtype=torch.float64)
    y = torch.full((4,), -100)
    w = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    for kw in ({}, {"weight": w}, {"label_smoothing": 0.2}, {"weight": w, "label_smoothing": 1.0}):
        assert math.isnan(float(F.cross_entropy(x, y, **kw)))
        assert math.isnan(float(impl.cross_entropy(x, y, **kw))), f"mean with {kw}"
        assert float(impl.cross_entropy(x, y, reduction="sum", **kw)) == 0.0
        assert_close(impl.cross_entropy(x, y, reduction="none", **kw), torch.zeros(4), atol=0)


def test_cross_entropy_edge_cases_match_torch() -> None:
    inf = math.inf
    x_masked = torch.tensor([[0.0, -inf, 1.0], [2.0, 0.5, -inf]], dtype=torch.float64)
    y = torch.tensor([0, 1])
    cases = [
        (torch.randn(3, 1, dtype=torch.float64), torch.zeros(3, dtype=torch.int64), {}),  # C=1
        (x_masked, y, {}),  # -inf logits: finite without smoothing...
        (x_masked, y, {"label_smoothing": 0.1}),  # ...inf with it: eps/C * (-log 0)
        (x_masked, torch.tensor([1, 1]), {}),  # the target itself masked: inf
        (torch.tensor([[1e4, -1e4]]), torch.tensor([1]), {}),  # float32, loss 2e4
        (torch.tensor([[1e4, -1e4]]), torch.tensor([1]), {"label_smoothing": 1.0}),
        (torch.zeros(0, 3, dtype=torch.float64), torch.zeros(0, dtype=torch.int64), {}),
    ]
    for x, target, kw in cases:
        for reduction in ("none", "mean", "sum"):
            expected = F.cross_entropy(x, target, reduction=reduction, **kw)
            actual = impl.cross_entropy(x, target, reduction=reduction, **kw)
            assert_close(actual, expected, inputs={"x": x, "target": target, **kw}, **F64)
    assert float(impl.cross_entropy(x_masked, y)) < inf
    assert float(impl.cross_entropy(x_masked, y, label_smoothing=0.1)) == inf


# ---------------------------------------------------------------- gradients


def test_cross_entropy_gradients_match_torch() -> None:
    gen = torch.Generator().manual_seed(40)
    options = list(
        itertools.product(SHAPES, (False, True), ("none", "mean", "sum"), (0.0, 0.25, 1.0))
    )
    for kind, use_w, reduction, eps in options * 4:  # 72 combinations x 4 = 288 cases
        x, target, c = _ce_inputs(gen, kind)
        x = x / x.abs().max().clamp(min=1) * 5  # moderate logits: gradients not all 0
        target = _ignore(gen, target, -100)
        w = torch.rand(c, generator=gen, dtype=torch.float64) + 0.1 if use_w else None
        kw = {"weight": w, "reduction": reduction, "label_smoothing": eps}
        a, b = x.clone().requires_grad_(), x.clone().requires_grad_()
        out_a, out_b = impl.cross_entropy(a, target, **kw), F.cross_entropy(b, target, **kw)
        up = torch.randn(out_b.shape, generator=gen, dtype=torch.float64)
        (out_a * up).sum().backward()
        (out_b * up).sum().backward()
        assert_close(a.grad, b.grad, inputs={"input": x, "target": target, **kw}, **F64)


def test_gradient_is_p_minus_y() -> None:
    """d mean CE / d logits = (softmax - y_smooth) / N, checked with torch's autograd."""
    gen = torch.Generator().manual_seed(41)
    for i in range(cases(500)):
        n, c = (
            int(torch.randint(1, 7, (1,), generator=gen)),
            int(torch.randint(1, 7, (1,), generator=gen)),
        )
        x = torch.randn(n, c, generator=gen, dtype=torch.float64).requires_grad_()
        y = torch.randint(0, c, (n,), generator=gen)
        eps = [0.0, 0.1, 0.5, 1.0][i % 4]
        F.cross_entropy(x, y, label_smoothing=eps).backward()
        y_smooth = (1 - eps) * F.one_hot(y, c).double() + eps / c  # written out here
        expected = (torch.softmax(x.detach(), 1) - y_smooth) / n
        assert_close(x.grad, expected, **F64)
        actual = impl.cross_entropy_grad(x.detach(), y, label_smoothing=eps)
        assert_close(actual, x.grad, inputs={"input": x, "target": y, "eps": eps}, **F64)


# ---------------------------------------------------------------- kl_div


def test_kl_div_matches_torch() -> None:
    """1,000 cases: 4 reductions x log_target on random shapes, zeros in the target."""
    gen = torch.Generator().manual_seed(50)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # both warn on reduction="mean"
        for i in range(cases(1000)):
            shape = random_shape(gen)
            inp = torch.log_softmax(random_logits(gen, shape) / 100, -1)
            p = torch.rand(shape, generator=gen, dtype=torch.float64)
            p = torch.where(p < 0.2, 0.0, p)  # classes with target probability 0
            reduction = ["none", "batchmean", "sum", "mean"][i % 4]
            log_target = bool(i // 4 % 2)
            target = p.log() if log_target else p
            kw = {"reduction": reduction, "log_target": log_target}
            expected = F.kl_div(inp, target, **kw)
            actual = impl.kl_div(inp, target, **kw)
            assert_close(actual, expected, inputs={"input": inp, "target": target, **kw}, **F64)


def test_kl_div_batchmean_is_the_kl_divergence() -> None:
    gen = torch.Generator().manual_seed(51)
    for _ in range(cases(100)):
        p = torch.softmax(torch.randn(4, 6, generator=gen, dtype=torch.float64), 1)
        q = torch.softmax(torch.randn(4, 6, generator=gen, dtype=torch.float64), 1)
        kl = (
            sum(  # the definition, per sample, averaged over the 4 samples
                sum(p[n, c] * math.log(p[n, c] / q[n, c]) for c in range(6)) for n in range(4)
            )
            / 4
        )
        assert_close(impl.kl_div(q.log(), p, reduction="batchmean"), float(kl), **F64)
        with pytest.warns(UserWarning, match="batchmean"):
            mean = impl.kl_div(q.log(), p, reduction="mean")
        assert_close(mean, float(kl) / 6, **F64)  # "mean" also divides by C = 6


def test_kl_div_edge_cases_match_torch() -> None:
    inp = torch.log_softmax(torch.tensor([[0.0, 1.0, 2.0]], dtype=torch.float64), 1)
    zero_inf = torch.tensor([[-math.inf, 0.0, 0.0]], dtype=torch.float64)
    cases = [
        (inp, torch.tensor([[0.0, 0.5, 0.5]], dtype=torch.float64), False),  # 0 log 0 = 0
        (zero_inf, torch.tensor([[0.0, 0.5, 0.5]], dtype=torch.float64), False),  # 0 * inf
        (inp, torch.tensor([[-0.1, 0.6, 0.5]], dtype=torch.float64), False),  # p < 0: nan
        (inp, torch.log(torch.tensor([[0.0, 0.5, 0.5]], dtype=torch.float64)), True),
        (torch.zeros(0, 3, dtype=torch.float64), torch.zeros(0, 3, dtype=torch.float64), False),
    ]
    for a, b, log_target in cases:
        for reduction in ("none", "batchmean", "sum"):
            kw = {"reduction": reduction, "log_target": log_target}
            assert_close(impl.kl_div(a, b, **kw), F.kl_div(a, b, **kw), inputs={"t": b}, **F64)


# ---------------------------------------------------------------- BCE with logits


def test_bce_with_logits_matches_torch() -> None:
    """4 weight shapes x 2 pos_weight x 3 reductions = 24 combinations x 25 = 600 cases."""
    gen = torch.Generator().manual_seed(60)
    combos = itertools.product(
        ("none", "[C]", "[N,1]", "[N,C]"), (False, True), ("none", "mean", "sum")
    )
    for w_kind, use_pw, reduction in combos:
        for _ in range(25):
            n, c = (int(v) for v in torch.randint(1, 6, (2,), generator=gen))
            x = random_logits(gen, (n, c))
            y = torch.rand(n, c, generator=gen, dtype=torch.float64)
            y = torch.where(torch.rand(n, c, generator=gen) < 0.5, y.round(), y)  # 0/1 and soft
            w_shape = {"none": None, "[C]": (c,), "[N,1]": (n, 1), "[N,C]": (n, c)}[w_kind]
            w = None if w_shape is None else torch.rand(w_shape, generator=gen).double()
            pw = torch.rand(c, generator=gen, dtype=torch.float64) * 4 if use_pw else None
            kw = {"weight": w, "reduction": reduction, "pos_weight": pw}
            expected = F.binary_cross_entropy_with_logits(x, y, **kw)
            actual = impl.binary_cross_entropy_with_logits(x, y, **kw)
            assert_close(actual, expected, inputs={"input": x, "target": y, **kw}, **F64)


def test_bce_with_logits_is_stable_where_the_naive_formula_is_not() -> None:
    x = torch.tensor([1e4, -1e4, 100.0, -100.0, 0.0])
    y = torch.tensor([0.0, 1.0, 0.0, 1.0, 1.0])
    # Hand values: loss = softplus(x) if y = 0, softplus(-x) if y = 1; softplus(100) = 100.
    expected = torch.tensor([1e4, 1e4, 100.0, 100.0, math.log(2)])
    actual = impl.binary_cross_entropy_with_logits(x, y, reduction="none")
    assert_close(actual, expected, atol=1e-5, rtol=1e-6)
    assert_close(actual, F.binary_cross_entropy_with_logits(x, y, reduction="none"), atol=1e-5)
    p = torch.sigmoid(x)  # sigmoid(1e4) = 1.0 exactly in float32: log(1 - 1) = -inf
    naive = -(y * torch.log(p) + (1 - y) * torch.log(1 - p))
    assert torch.isinf(naive[0]) and torch.isinf(naive[1])


def test_bce_gradient_is_sigmoid_minus_y() -> None:
    gen = torch.Generator().manual_seed(61)
    x = (torch.randn(5, 3, generator=gen, dtype=torch.float64) * 5).requires_grad_()
    y = torch.rand(5, 3, generator=gen, dtype=torch.float64)
    impl.binary_cross_entropy_with_logits(x, y, reduction="sum").backward()
    assert_close(x.grad, torch.sigmoid(x.detach()) - y, **F64)


# ---------------------------------------------------------------- distillation


def test_distillation_loss_matches_formula() -> None:
    """alpha * T^2 * KL(p_T || q_T) (batchmean) + (1 - alpha) * CE, 200 cases."""
    gen = torch.Generator().manual_seed(70)
    for i in range(cases(200)):
        n, c = (
            int(torch.randint(1, 6, (1,), generator=gen)),
            int(torch.randint(2, 8, (1,), generator=gen)),
        )
        z = torch.randn(n, c, generator=gen, dtype=torch.float64) * 3
        v = torch.randn(n, c, generator=gen, dtype=torch.float64) * 3
        y = torch.randint(0, c, (n,), generator=gen)
        t, alpha = [1.0, 2.0, 4.0, 10.0][i % 4], [0.0, 0.5, 0.9, 1.0][i // 4 % 4]
        soft = F.kl_div(F.log_softmax(z / t, 1), F.softmax(v / t, 1), reduction="batchmean")
        expected = alpha * t**2 * soft + (1 - alpha) * F.cross_entropy(z, y)
        actual = impl.distillation_loss(z, v, y, temperature=t, alpha=alpha)
        assert_close(actual, expected, inputs={"z": z, "v": v, "T": t, "alpha": alpha}, **F64)


def test_distillation_t_squared_keeps_the_gradient_scale() -> None:
    """Hinton et al. 2015 §2 / eq. 2-4: dC/dz_i = (q_i - p_i) / T ~ (z_i - v_i) / (C T^2).

    With the T^2 factor, the soft term's gradient tends to (z - v) / (C * N) (zero-mean
    logits, N samples in the batch mean): its size no longer depends on T.
    """
    gen = torch.Generator().manual_seed(71)
    n, c = 4, 10
    z = torch.randn(n, c, generator=gen, dtype=torch.float64)
    v = torch.randn(n, c, generator=gen, dtype=torch.float64)
    z, v = z - z.mean(1, keepdim=True), v - v.mean(1, keepdim=True)  # zero-meaned
    y = torch.zeros(n, dtype=torch.int64)
    norms, raw_norms = {}, {}
    for t in (1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0):
        zz = z.clone().requires_grad_()
        impl.distillation_loss(zz, v, y, temperature=t, alpha=1.0).backward()
        q, p = torch.softmax(z / t, 1), torch.softmax(v / t, 1)
        assert_close(zz.grad, t * (q - p) / n, **F64)  # T^2 * (q - p) / T, mean over N
        norms[t] = float(zz.grad.norm())
        raw_norms[t] = norms[t] / t**2  # the gradient without the T^2 factor
    limit = (z - v) / (c * n)
    for t in (5.0, 10.0, 20.0, 50.0, 100.0):  # scaled: the same size, that of the limit
        assert abs(norms[t] / float(limit.norm()) - 1) < 0.02, (t, norms[t])
    assert 0.9 < raw_norms[10.0] / raw_norms[100.0] / 100 < 1.1  # unscaled: falls as 1/T^2
    for t, tol in ((100.0, 0.01), (1000.0, 0.001)):  # and it points the same way: O(1/T)
        zz = z.clone().requires_grad_()
        impl.distillation_loss(zz, v, y, temperature=t, alpha=1.0).backward()
        assert float((zz.grad - limit).norm() / limit.norm()) < tol, t


# ---------------------------------------------------------------- errors


def test_softmax_errors() -> None:
    for fn in (impl.softmax, impl.log_softmax, impl.softmax_naive):
        with raises_naming(TypeError, "x", "torch.Tensor", "list"):
            fn([1.0, 2.0], 0)
        with raises_naming(TypeError, "x", "floating"):
            fn(torch.tensor([1, 2]), 0)
        with raises_naming(ValueError, "dim", "2"):
            fn(torch.zeros(2, 3), 2)
        with raises_naming(TypeError, "dim"):
            fn(torch.zeros(2, 3), None)


def test_cross_entropy_errors() -> None:
    x, y = torch.zeros(3, 4), torch.tensor([0, 1, 2])
    with raises_naming(TypeError, "input", "torch.Tensor", "list"):
        impl.cross_entropy([[0.0, 1.0]], torch.tensor([0]))
    with raises_naming(TypeError, "target", "torch.Tensor", "list"):
        impl.cross_entropy(x, [0, 1, 2])
    with raises_naming(TypeError, "target", "integer"):
        impl.cross_entropy(x, y.double())
    with raises_naming(ValueError, "target", "shape", "(3,)", "(2,)"):
        impl.cross_entropy(x, torch.tensor([0, 1]))
    with raises_naming(ValueError, "target", "[0, 4)", "4"):
        impl.cross_entropy(x, torch.tensor([0, 4, 1]))
    with pytest.raises(IndexError, match="out of bounds"):  # torch raises too
        F.cross_entropy(x, torch.tensor([0, 4, 1]))
    with raises_naming(ValueError, "target", "[0, 4)", "-1"):
        impl.cross_entropy(x, torch.tensor([0, -1, 1]))
    with raises_naming(ValueError, "weight", "(4,)", "(3,)"):
        impl.cross_entropy(x, y, weight=torch.ones(3))
    with raises_naming(ValueError, "label_smoothing", "[0, 1]", "-0.1"):
        impl.cross_entropy(x, y, label_smoothing=-0.1)
    with raises_naming(ValueError, "label_smoothing", "1.5"):
        impl.cross_entropy(x, y, label_smoothing=1.5)
    with raises_naming(ValueError, "reduction", "avg"):
        impl.cross_entropy(x, y, reduction="avg")
    with raises_naming(ValueError, "ignore_index", "< 0"):
        impl.cross_entropy(x, torch.softmax(x, 1), ignore_index=0)
    with raises_naming(TypeError, "target", "floating"):
        impl.cross_entropy(x, torch.zeros(3, 4, dtype=torch.int64))
    with raises_naming(ValueError, "input", "C >= 1"):
        impl.cross_entropy(torch.zeros(3, 0), y)


def test_other_errors() -> None:
    x = torch.zeros(2, 3)
    with raises_naming(TypeError, "input", "torch.Tensor"):
        impl.kl_div([[0.0]], x)
    with raises_naming(ValueError, "target", "(2, 3)"):
        impl.kl_div(x, torch.zeros(2, 4))
    with raises_naming(ValueError, "reduction", "batchmean"):
        impl.kl_div(x, x, reduction="avg")
    with raises_naming(TypeError, "target", "torch.Tensor"):
        impl.binary_cross_entropy_with_logits(x, [[0.0] * 3] * 2)
    with raises_naming(ValueError, "target", "(2, 3)"):
        impl.binary_cross_entropy_with_logits(x, torch.zeros(3))
    with raises_naming(ValueError, "weight", "(2, 3)", "(5, 3)"):
        impl.binary_cross_entropy_with_logits(x, x, weight=torch.ones(5, 3))
    with raises_naming(ValueError, "pos_weight", "(4,)"):
        impl.binary_cross_entropy_with_logits(x, x, pos_weight=torch.ones(4))
    with raises_naming(ValueError, "reduction"):
        impl.binary_cross_entropy_with_logits(x, x, reduction="batchmean")
    with raises_naming(ValueError, "teacher_logits", "(2, 4)"):
        impl.distillation_loss(x, torch.zeros(2, 4), torch.tensor([0, 1]))
    with raises_naming(ValueError, "temperature", "> 0"):
        impl.distillation_loss(x, x, torch.tensor([0, 1]), temperature=0.0)
    with raises_naming(ValueError, "alpha", "[0, 1]"):
        impl.distillation_loss(x, x, torch.tensor([0, 1]), alpha=1.5)
    with raises_naming(ValueError, "input", "[N, C]"):
        impl.cross_entropy_grad(torch.zeros(2, 3, 4), torch.zeros(2, 4, dtype=torch.int64))


# ---------------------------------------------------------------- figures


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_figures(lang: str) -> None:
    import matplotlib.figure

    from figures.fundamentals.softmax_cross_entropy import draw_naive_vs_stable, draw_temperature

    for draw in (draw_temperature, draw_naive_vs_stable):
        fig = draw(lang)
        assert isinstance(fig, matplotlib.figure.Figure)
        assert len(fig.axes) >= 1
