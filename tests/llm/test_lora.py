"""Tests for snippets/llm/lora.py: LoRA forward, init, scaling, merge, parameter count, dropout.

Reference: Hugging Face peft 0.21.2. A tiny ``nn.Module`` with one ``nn.Linear`` named ``fc`` is
wrapped with ``LoraConfig(target_modules=["fc"])`` + ``get_peft_model``; its ``lora_A`` /
``lora_B`` weights are set to random values and the same tensors are given to our functions.
Outputs, gradients of lora_A / lora_B and ``merge_and_unload`` weights are compared in float64.
"""

from __future__ import annotations

import math

import peft
import pytest
import torch
from torch import nn

from tests.support import assert_close, assert_equal, cases, raises_naming, under_test

impl = under_test("snippets.llm.lora")

F64 = {"atol": 1e-10, "rtol": 1e-10}


class Tiny(nn.Module):
    """The smallest model peft can wrap: one linear layer named ``fc``."""

    def __init__(self, fc: nn.Linear) -> None:
        super().__init__()
        self.fc = fc

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x)


def random_config(gen: torch.Generator) -> dict:
    def pick(lo: int, hi: int) -> int:
        return int(torch.randint(lo, hi + 1, (1,), generator=gen))

    batch = [pick(1, 3) for _ in range(pick(1, 3))]  # [B], [B, T] or [B, T, S]
    return {
        "in": pick(1, 12),
        "out": pick(1, 12),
        "r": pick(1, 8),
        "alpha": [1, 2, 8, 16, 32, 0.5][pick(0, 5)],
        "bias": bool(pick(0, 1)),
        "batch": batch,
        "rslora": bool(pick(0, 1)),
    }


def peft_layer(base: nn.Linear, cfg: dict, dropout: float = 0.0) -> tuple[nn.Module, nn.Module]:
    config = peft.LoraConfig(
        r=cfg["r"],
        lora_alpha=cfg["alpha"],
        lora_dropout=dropout,
        target_modules=["fc"],
        use_rslora=cfg["rslora"],
    )
    model = peft.get_peft_model(Tiny(base), config)
    return model, model.base_model.model.fc


def random_base(gen: torch.Generator, cfg: dict) -> nn.Linear:
    base = nn.Linear(cfg["in"], cfg["out"], bias=cfg["bias"], dtype=torch.float64)
    with torch.no_grad():
        base.weight.copy_(torch.randn(base.weight.shape, generator=gen, dtype=torch.float64))
        if base.bias is not None:
            base.bias.copy_(torch.randn(base.bias.shape, generator=gen, dtype=torch.float64))
    return base


# ---------------------------------------------------------------- against peft


def test_forward_grads_and_merge_match_peft_on_random_configs() -> None:
    """150 seeded configs: forward, dL/dA, dL/dB and merge_and_unload weights, float64."""
    gen = torch.Generator().manual_seed(0)
    for _ in range(cases(150)):
        cfg = random_config(gen)
        base = random_base(gen, cfg)
        model, layer = peft_layer(base, cfg)
        A = torch.randn(cfg["r"], cfg["in"], generator=gen, dtype=torch.float64)
        B = torch.randn(cfg["out"], cfg["r"], generator=gen, dtype=torch.float64)
        with torch.no_grad():
            layer.lora_A["default"].weight.copy_(A)
            layer.lora_B["default"].weight.copy_(B)
        x = torch.randn(*cfg["batch"], cfg["in"], generator=gen, dtype=torch.float64)
        g = torch.randn(*cfg["batch"], cfg["out"], generator=gen, dtype=torch.float64)
        inputs = {"config": cfg}

        scaling = impl.lora_scaling(cfg["r"], cfg["alpha"], use_rslora=cfg["rslora"])
        assert_close(scaling, layer.scaling["default"], inputs=inputs, **F64)

        expected = model(x)
        (expected * g).sum().backward()
        a = A.clone().requires_grad_(True)
        b = B.clone().requires_grad_(True)
        actual = impl.lora_forward(x, base.weight, base.bias, a, b, scaling)
        assert_close(actual, expected, inputs=inputs, **F64)
        (actual * g).sum().backward()
        assert_close(a.grad, layer.lora_A["default"].weight.grad, inputs=inputs, **F64)
        assert_close(b.grad, layer.lora_B["default"].weight.grad, inputs=inputs, **F64)

        merged = impl.merge_lora_weight(base.weight.detach(), A, B, scaling)
        unloaded = model.merge_and_unload()  # modifies base in place: compare after ours
        assert_close(merged, unloaded.fc.weight, inputs=inputs, **F64)


def test_lora_linear_class_matches_peft() -> None:
    """60 configs: LoRALinear (after copying peft's A and B) matches peft, merge() too."""
    gen = torch.Generator().manual_seed(1)
    for _ in range(cases(60)):
        cfg = random_config(gen)
        base = random_base(gen, cfg)
        ours = impl.LoRALinear(
            base, cfg["r"], cfg["alpha"], use_rslora=cfg["rslora"], generator=gen
        )
        model, layer = peft_layer(random_base(gen, cfg), cfg)
        with torch.no_grad():
            layer.base_layer.weight.copy_(base.weight)
            if base.bias is not None:
                layer.base_layer.bias.copy_(base.bias)
            ours.lora_B.weight.normal_(generator=gen)
            layer.lora_A["default"].weight.copy_(ours.lora_A.weight)
            layer.lora_B["default"].weight.copy_(ours.lora_B.weight)
        x = torch.randn(*cfg["batch"], cfg["in"], generator=gen, dtype=torch.float64)
        assert_close(ours(x), model(x), inputs={"config": cfg}, **F64)
        merged = ours.merge()
        assert isinstance(merged, nn.Linear) and type(merged) is nn.Linear
        assert_close(merged(x), ours(x), inputs={"config": cfg}, **F64)
        unloaded = model.merge_and_unload().fc
        assert_close(merged.weight, unloaded.weight, inputs={"config": cfg}, **F64)
        if base.bias is not None:
            assert_equal(merged.bias, unloaded.bias)


def test_float32_matches_peft() -> None:
    """50 float32 configs with the default init of both (B = 0), then random B."""
    gen = torch.Generator().manual_seed(2)
    for _ in range(cases(50)):
        cfg = random_config(gen)
        base = nn.Linear(cfg["in"], cfg["out"], bias=cfg["bias"])
        ours = impl.LoRALinear(base, cfg["r"], cfg["alpha"], use_rslora=cfg["rslora"])
        x = torch.randn(*cfg["batch"], cfg["in"], generator=gen)
        assert_equal(ours(x), base(x))  # B = 0: exactly the base layer
        model, layer = peft_layer(nn.Linear(cfg["in"], cfg["out"], bias=cfg["bias"]), cfg)
        with torch.no_grad():
            layer.base_layer.load_state_dict(base.state_dict())
            ours.lora_B.weight.normal_(generator=gen)
            layer.lora_A["default"].weight.copy_(ours.lora_A.weight)
            layer.lora_B["default"].weight.copy_(ours.lora_B.weight)
        assert_close(ours(x), model(x), atol=1e-5, rtol=1e-5)


def test_trainable_parameter_count_matches_peft() -> None:
    """r (in + out) == peft's get_nb_trainable_parameters == our requires_grad count (60)."""
    gen = torch.Generator().manual_seed(3)
    for _ in range(cases(60)):
        cfg = random_config(gen)
        model, _ = peft_layer(nn.Linear(cfg["in"], cfg["out"], bias=cfg["bias"]), cfg)
        trainable, total = model.get_nb_trainable_parameters()
        expected = cfg["r"] * (cfg["in"] + cfg["out"])  # A: r x in, B: out x r
        assert_equal(impl.lora_num_parameters(cfg["in"], cfg["out"], cfg["r"]), expected)
        assert_equal(trainable, expected)
        ours = impl.LoRALinear(nn.Linear(cfg["in"], cfg["out"], bias=cfg["bias"]), cfg["r"], 1)
        mine = sum(p.numel() for p in ours.parameters() if p.requires_grad)
        assert_equal(mine, expected)
        assert_equal(sum(p.numel() for p in ours.parameters()), total)
        assert not any(p.requires_grad for p in ours.base_layer.parameters())


def test_worked_example_4096_r8() -> None:
    # 4096 x 4096 projection, r = 8: 8 * (4096 + 4096) = 65,536 vs 16,777,216 (0.39 %).
    assert impl.lora_num_parameters(4096, 4096, 8) == 65_536
    assert 4096 * 4096 == 16_777_216
    assert round(65_536 / 16_777_216 * 100, 2) == 0.39


def test_dropout_matches_peft_in_train_mode() -> None:
    """40 configs, p in {0.1, 0.5, 0.9}: same global seed -> same mask as peft's nn.Dropout."""
    gen = torch.Generator().manual_seed(4)
    for i in range(cases(40)):
        cfg = random_config(gen)
        p = (0.1, 0.5, 0.9)[i % 3]
        base = random_base(gen, cfg)
        model, layer = peft_layer(base, cfg, dropout=p)
        A = torch.randn(cfg["r"], cfg["in"], generator=gen, dtype=torch.float64)
        B = torch.randn(cfg["out"], cfg["r"], generator=gen, dtype=torch.float64)
        with torch.no_grad():
            layer.lora_A["default"].weight.copy_(A)
            layer.lora_B["default"].weight.copy_(B)
        model.train()
        x = torch.randn(*cfg["batch"], cfg["in"], generator=gen, dtype=torch.float64)
        scaling = layer.scaling["default"]
        torch.manual_seed(i)
        expected = model(x)
        torch.manual_seed(i)
        actual = impl.lora_forward(x, base.weight, base.bias, A, B, scaling, p, training=True)
        assert_close(actual, expected, inputs={"config": cfg, "p": p}, **F64)
        model.eval()  # eval: no dropout anywhere
        actual = impl.lora_forward(x, base.weight, base.bias, A, B, scaling, p, training=False)
        assert_close(actual, model(x), **F64)


def test_rslora_scaling_matches_peft() -> None:
    for r in (1, 2, 3, 4, 8, 16, 64, 256):
        for alpha in (1, 8, 16, 32):
            cfg = {"r": r, "alpha": alpha, "rslora": True}
            _, layer = peft_layer(nn.Linear(4, 4), cfg)
            assert_close(impl.lora_scaling(r, alpha, use_rslora=True), layer.scaling["default"])
            assert_close(impl.lora_scaling(r, alpha, use_rslora=True), alpha / math.sqrt(r))


# ---------------------------------------------------------------- init


def test_init_matches_torch_kaiming_uniform_a_sqrt5() -> None:
    """lora_A is drawn exactly as nn.init.kaiming_uniform_(a=sqrt(5)), which peft calls."""
    for seed in range(cases(200)):
        gen = torch.Generator().manual_seed(seed)
        n_in, n_out, r = 1 + seed % 13, 1 + seed % 7, 1 + seed % 5
        A, B = impl.lora_init(n_in, n_out, r, generator=torch.Generator().manual_seed(seed))
        expected = torch.empty(r, n_in)
        nn.init.kaiming_uniform_(expected, a=math.sqrt(5), generator=gen)
        assert_equal(A, expected)
        assert_equal(B, torch.zeros(n_out, r))


def test_lora_linear_starts_equal_to_base_and_freezes_it() -> None:
    gen = torch.Generator().manual_seed(5)
    base = nn.Linear(7, 5, dtype=torch.float64)
    layer = impl.LoRALinear(base, r=3, lora_alpha=6, generator=gen)
    x = torch.randn(4, 7, generator=gen, dtype=torch.float64)
    assert_equal(layer(x), base(x))
    assert layer.lora_A.weight.shape == (3, 7) and layer.lora_B.weight.shape == (5, 3)
    assert layer.lora_A.weight.dtype == torch.float64
    assert layer.scaling == 2.0
    layer(x).sum().backward()
    assert base.weight.grad is None and base.bias.grad is None
    assert layer.lora_B.weight.grad.abs().sum() > 0  # B learns from step 0 because A != 0
    assert layer.lora_A.weight.grad.abs().sum() == 0  # A's gradient is B^T (...) = 0 at step 0


# ---------------------------------------------------------------- edge cases and errors


def test_edge_cases() -> None:
    # r larger than min(in, out) is allowed (peft allows it too); empty batch works.
    W = torch.randn(2, 3, dtype=torch.float64)
    A, B = torch.randn(5, 3, dtype=torch.float64), torch.randn(2, 5, dtype=torch.float64)
    out = impl.lora_forward(torch.zeros(0, 3, dtype=torch.float64), W, None, A, B, 1.0)
    assert out.shape == (0, 2)
    x = torch.randn(3, dtype=torch.float64)  # unbatched [in]
    assert_close(impl.lora_forward(x, W, None, A, B, 0.5), W @ x + 0.5 * B @ (A @ x), **F64)


def test_input_errors() -> None:
    W, A, B = torch.zeros(4, 3), torch.zeros(2, 3), torch.zeros(4, 2)
    x = torch.zeros(5, 3)
    with raises_naming(TypeError, "x", "torch.Tensor"):
        impl.lora_forward([[0.0] * 3], W, None, A, B, 1.0)
    with raises_naming(ValueError, "x", "[..., in]"):
        impl.lora_forward(torch.zeros(5, 4), W, None, A, B, 1.0)
    with raises_naming(TypeError, "weight", "[out, in]"):
        impl.lora_forward(x, W.numpy(), None, A, B, 1.0)
    with raises_naming(ValueError, "lora_A", "[r, in]"):
        impl.lora_forward(x, W, None, torch.zeros(2, 4), B, 1.0)
    with raises_naming(ValueError, "lora_B", "[out, r]"):
        impl.merge_lora_weight(W, A, torch.zeros(2, 4), 1.0)
    with raises_naming(TypeError, "scaling"):
        impl.merge_lora_weight(W, A, B, "2")
    with raises_naming(ValueError, "r", "positive"):
        impl.lora_scaling(0, 8)
    with raises_naming(TypeError, "r"):
        impl.lora_scaling(2.0, 8)
    with raises_naming(TypeError, "lora_alpha"):
        impl.lora_scaling(2, None)
    with raises_naming(ValueError, "in_features"):
        impl.lora_init(0, 3, 2)
    with raises_naming(TypeError, "base", "nn.Linear"):
        impl.LoRALinear(nn.Conv1d(3, 3, 1), 2, 4)
    with raises_naming(ValueError, "lora_dropout"):
        impl.LoRALinear(nn.Linear(3, 3), 2, 4, lora_dropout=1.0)


# ---------------------------------------------------------------- practice diagnostics


@pytest.mark.diagnosis
def test_diagnosis_init_b_zero_a_random() -> None:
    A, B = impl.lora_init(64, 32, 4, generator=torch.Generator().manual_seed(0))
    assert tuple(A.shape) == (4, 64) and tuple(B.shape) == (32, 4), (
        "lora_A must have shape [r, in] and lora_B shape [out, r]"
    )
    assert bool(B.eq(0).all()), (
        "lora_B must start at ZERO (so B @ A = 0 and the layer starts equal to the base layer)"
    )
    assert bool(A.ne(0).all()), (
        "lora_A must start RANDOM, not zero: with A = 0 the gradient of B, (dL/dh)(A x)^T, is 0 "
        "at step 0, and with A = B = 0 neither ever gets a gradient"
    )
    bound = 1 / math.sqrt(64)  # kaiming_uniform_(a=sqrt(5)) on [r, in]: U(-1/sqrt(in), ..)
    assert float(A.abs().max()) <= bound and float(A.abs().max()) > 0.8 * bound, (
        "lora_A must be Kaiming-uniform with a=sqrt(5), i.e. uniform in [-1/sqrt(in), 1/sqrt(in)]"
    )


@pytest.mark.diagnosis
def test_diagnosis_scaling_is_alpha_over_r() -> None:
    # r = 4, alpha = 16: 16 / 4 = 4 (alpha alone would be 16, r / alpha 0.25).
    assert impl.lora_scaling(4, 16) == pytest.approx(4.0), (
        "scaling must be lora_alpha / r (here 16 / 4 = 4), not lora_alpha and not r / lora_alpha"
    )
    assert impl.lora_scaling(16, 8, use_rslora=True) == pytest.approx(2.0), (
        "with use_rslora=True scaling must be lora_alpha / sqrt(r) (here 8 / 4 = 2)"
    )


@pytest.mark.diagnosis
def test_diagnosis_merge_is_w_plus_scaling_b_at_a() -> None:
    W = torch.zeros(3, 2)
    A = torch.tensor([[1.0, 2.0]])  # [r=1, in=2]
    B = torch.tensor([[1.0], [0.0], [-1.0]])  # [out=3, r=1]
    try:
        merged = impl.merge_lora_weight(W, A, B, 0.5)
    except RuntimeError as err:  # e.g. lora_A @ lora_B: [1, 2] @ [3, 1] does not multiply
        raise AssertionError(
            "the update is lora_B @ lora_A ([out, r] @ [r, in] = [out, in]); "
            f"the attempt failed with: {err}"
        ) from err
    assert tuple(merged.shape) == (3, 2), (
        "the merged weight must have the base weight's shape [out, in]: B @ A, not A @ B or A^T B^T"
    )
    # By hand: 0.5 * B @ A = [[0.5, 1], [0, 0], [-0.5, -1]].
    expected = torch.tensor([[0.5, 1.0], [0.0, 0.0], [-0.5, -1.0]])
    assert torch.allclose(merged, expected), (
        "the merged weight must be W + scaling * (B @ A) (check the scaling and the sign)"
    )
    W2 = torch.ones(3, 2)
    assert torch.allclose(impl.merge_lora_weight(W2, A, B, 0.5), W2 + expected), (
        "merge must ADD the update to the base weight W, not replace W"
    )


@pytest.mark.diagnosis
def test_diagnosis_dropout_only_on_lora_input() -> None:
    gen = torch.Generator().manual_seed(0)
    W = torch.randn(6, 8, generator=gen, dtype=torch.float64)
    b = torch.randn(6, generator=gen, dtype=torch.float64)
    A = torch.randn(2, 8, generator=gen, dtype=torch.float64)
    x = torch.randn(50, 8, generator=gen, dtype=torch.float64)
    zero_B = torch.zeros(6, 2, dtype=torch.float64)
    torch.manual_seed(0)
    out = impl.lora_forward(x, W, b, A, zero_B, 2.0, lora_dropout=0.5, training=True)
    assert torch.allclose(out, x @ W.T + b), (
        "dropout must be applied only to the input of the LoRA branch: with lora_B = 0 the "
        "output must equal the base layer x W^T + b exactly, even in training with p > 0"
    )
    B = torch.randn(6, 2, generator=gen, dtype=torch.float64)
    clean = x @ W.T + b + 2.0 * (x @ A.T) @ B.T
    torch.manual_seed(0)
    noisy = impl.lora_forward(x, W, b, A, B, 2.0, lora_dropout=0.5, training=True)
    assert not torch.allclose(noisy, clean), (
        "in training with lora_dropout > 0 the LoRA branch's input must be dropped out"
    )
    evald = impl.lora_forward(x, W, b, A, B, 2.0, lora_dropout=0.5, training=False)
    assert torch.allclose(evald, clean), "with training=False dropout must do nothing"
    assert torch.allclose(impl.lora_forward(x, W, b, A, B, 2.0), clean), (
        "the output must be x W^T + b + scaling * (x A^T) B^T"
    )


# ---------------------------------------------------------------- figure


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_figure_draws(lang: str) -> None:
    import matplotlib.figure

    from figures.llm.lora import draw_params_and_rank

    fig = draw_params_and_rank(lang)
    assert isinstance(fig, matplotlib.figure.Figure)
