"""Tests for snippets/transformer/transformer_block.py.

References: ``torch.nn.TransformerEncoderLayer`` / ``TransformerDecoderLayer`` (torch 2.14.1) with
copied weights; ``transformers`` 5.23 ``LlamaMLP`` and ``LlamaForCausalLM`` built from tiny
random ``LlamaConfig``s (nothing is downloaded); ``torch.utils.flop_counter.FlopCounterMode``;
the formulas of Vaswani et al. 2017 §3.1 and Xiong et al. 2020 written out here.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode
from transformers import LlamaConfig, LlamaForCausalLM
from transformers.models.llama import modeling_llama
from transformers.models.llama.modeling_llama import LlamaMLP

from tests.support import assert_close, assert_equal, cases, raises_naming, under_test

impl = under_test("snippets.transformer.transformer_block")
DT = torch.float64


def _ri(gen: torch.Generator, lo: int, hi: int) -> int:
    """Uniform integer in [lo, hi]."""
    return int(torch.randint(lo, hi + 1, (1,), generator=gen))


def _padding(gen: torch.Generator, b: int, n: int) -> Tensor:
    """Right padding, True = pad; every sequence keeps at least its first token."""
    lengths = torch.randint(1, n + 1, (b,), generator=gen)
    return torch.arange(n)[None, :] >= lengths[:, None]


Sublayer = Callable[[Tensor], Tensor]

# ---------------------------------------------------------------- encoder / decoder vs torch

ENCODER_CASES = max(5, cases(20))  # per (norm_first, activation): 80 random configurations in all


@pytest.mark.parametrize("activation", ["relu", "gelu"])
@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_block_matches_torch(
    norm_first: bool, activation: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same weights, float64, eval mode: equal to TransformerEncoderLayer on both its paths.

    In eval mode with autograd off, TransformerEncoderLayer takes its fused "fast path"
    (torch._transformer_encoder_layer_fwd); with autograd on it runs the Python code. We count
    the fast-path calls so the comparison provably covers both.
    """
    fast_calls = []
    fused = torch._transformer_encoder_layer_fwd

    def counting(*args, **kwargs):
        fast_calls.append(1)
        return fused(*args, **kwargs)

    monkeypatch.setattr(torch, "_transformer_encoder_layer_fwd", counting)
    gen = torch.Generator().manual_seed(1 + 2 * norm_first + (activation == "gelu"))
    for trial in range(ENCODER_CASES):
        nhead = _ri(gen, 1, 4)
        d = nhead * _ri(gen, 1, 5)
        ff, b, n = _ri(gen, 1, 33), _ri(gen, 1, 3), _ri(gen, 1, 7)
        torch.manual_seed(trial)
        ref = nn.TransformerEncoderLayer(
            d, nhead, ff, dropout=0.0, activation=activation, batch_first=True,
            norm_first=norm_first,
        ).to(DT).eval()  # fmt: skip
        mine = impl.EncoderBlock(d, nhead, ff, activation=activation, norm_first=norm_first)
        mine.load_state_dict(ref.state_dict())  # same names: no key mapping needed
        mine.to(DT).eval()
        x = torch.randn(b, n, d, generator=gen, dtype=DT)
        causal = torch.ones(n, n, dtype=torch.bool).triu(1)  # True = may not attend
        masks = [(None, None), (causal, None), (None, _padding(gen, b, n))]
        masks.append((causal, _padding(gen, b, n)))
        for mask, pad in masks:
            out = mine(x, mask, pad)
            inputs = {"x": x, "src_mask": mask, "src_key_padding_mask": pad}
            assert_close(out, ref(x, mask, pad), inputs=inputs, atol=1e-12, rtol=0)  # Python path
            with torch.no_grad():
                assert_close(out, ref(x, mask, pad), inputs=inputs, atol=1e-12, rtol=0)
    assert len(fast_calls) > ENCODER_CASES  # the fused path really ran (at least without masks)


def test_encoder_block_gradients_match_torch() -> None:
    gen = torch.Generator().manual_seed(5)
    for norm_first in (False, True):
        torch.manual_seed(0)
        ref = nn.TransformerEncoderLayer(8, 2, 12, 0.0, batch_first=True, norm_first=norm_first)
        ref.to(DT)
        mine = impl.EncoderBlock(8, 2, 12, norm_first=norm_first)
        mine.load_state_dict(ref.state_dict())
        mine.to(DT)
        x = torch.randn(2, 5, 8, generator=gen, dtype=DT, requires_grad=True)
        (g_mine,) = torch.autograd.grad(mine(x).square().sum(), x)
        (g_ref,) = torch.autograd.grad(ref(x).square().sum(), x)
        assert_close(g_mine, g_ref, atol=1e-12, rtol=0)


@pytest.mark.parametrize("norm_first", [False, True])
def test_decoder_block_matches_torch(norm_first: bool) -> None:
    gen = torch.Generator().manual_seed(7 + norm_first)
    for trial in range(20):
        nhead = _ri(gen, 1, 3)
        d, ff = nhead * _ri(gen, 1, 4), _ri(gen, 1, 20)
        b, t, s = _ri(gen, 1, 3), _ri(gen, 1, 6), _ri(gen, 1, 6)
        torch.manual_seed(trial)
        ref = nn.TransformerDecoderLayer(
            d, nhead, ff, dropout=0.0, batch_first=True, norm_first=norm_first
        ).to(DT).eval()  # fmt: skip
        mine = impl.DecoderBlock(d, nhead, ff, norm_first=norm_first)
        mine.load_state_dict(ref.state_dict())
        mine.to(DT).eval()
        tgt = torch.randn(b, t, d, generator=gen, dtype=DT)
        memory = torch.randn(b, s, d, generator=gen, dtype=DT)
        causal = torch.ones(t, t, dtype=torch.bool).triu(1)
        for mask in (None, causal):
            assert_close(mine(tgt, memory, mask), ref(tgt, memory, mask), atol=1e-12, rtol=0)


# ---------------------------------------------------------------- pre_norm_block (practised)


def _branches(gen: torch.Generator, d: int) -> tuple[Sublayer, Sublayer, Sublayer, Sublayer]:
    """Four distinguishable sublayers: two affine LayerNorms and two non-linear maps."""

    def norm(h: Tensor, w: Tensor, b: Tensor) -> Tensor:
        return F.layer_norm(h, (d,), w, b)

    w1, b1, w2, b2 = (torch.randn(d, generator=gen, dtype=DT) for _ in range(4))
    a, f = (torch.randn(d, d, generator=gen, dtype=DT) for _ in range(2))
    return (
        lambda h: torch.tanh(h @ a),
        lambda h: F.gelu(h @ f),
        lambda h: norm(h, w1, b1),
        lambda h: norm(h, w2, b2),
    )


# Correct pre-norm and the classic wrong attempts, written out (Xiong et al. 2020, Fig. 1).
def _correct(x: Tensor, a: Sublayer, f: Sublayer, n1: Sublayer, n2: Sublayer) -> Tensor:
    h = x + a(n1(x))
    return h + f(n2(h))


def _post_norm(x: Tensor, a: Sublayer, f: Sublayer, n1: Sublayer, n2: Sublayer) -> Tensor:
    h = n1(x + a(x))
    return n2(h + f(h))


def _stream_normalised(x: Tensor, a: Sublayer, f: Sublayer, n1: Sublayer, n2: Sublayer) -> Tensor:
    x = n1(x)  # the mistake: the stream itself is replaced by its normalised version
    x = x + a(x)
    x = n2(x)
    return x + f(x)


def _no_residual(x: Tensor, a: Sublayer, f: Sublayer, n1: Sublayer, n2: Sublayer) -> Tensor:
    return f(n2(a(n1(x))))


def _no_attn_residual(x: Tensor, a: Sublayer, f: Sublayer, n1: Sublayer, n2: Sublayer) -> Tensor:
    h = a(n1(x))
    return h + f(n2(h))


def _no_ffn_residual(x: Tensor, a: Sublayer, f: Sublayer, n1: Sublayer, n2: Sublayer) -> Tensor:
    return f(n2(x + a(n1(x))))


def _norms_swapped(x: Tensor, a: Sublayer, f: Sublayer, n1: Sublayer, n2: Sublayer) -> Tensor:
    return _correct(x, a, f, n2, n1)


_FORMS = {
    "correct": _correct,
    "post-norm": _post_norm,
    "stream normalised": _stream_normalised,
    "no residual": _no_residual,
    "no attention residual": _no_attn_residual,
    "no FFN residual": _no_ffn_residual,
    "norms swapped": _norms_swapped,
}
_DIAGNOSIS = {
    "post-norm": "you wrote POST-norm, norm(x + attn(x)); pre-norm is x + attn(norm1(x)): "
    "the norm goes on the branch input, the residual addition comes last",
    "stream normalised": "you normalised the residual stream itself (x = norm(x); "
    "x = x + attn(x)); pre-norm keeps x untouched: h = x + attn(norm1(x)) adds to the "
    "ORIGINAL x",
    "no residual": "both residual connections are missing: return h + ffn(norm2(h)) "
    "with h = x + attn(norm1(x)), not ffn(norm2(attn(norm1(x))))",
    "no attention residual": "the attention residual is missing: h = x + attn(norm1(x))",
    "no FFN residual": "the FFN residual is missing: return h + ffn(norm2(h))",
    "norms swapped": "norm1 belongs before attn and norm2 before ffn",
}


def _diagnose(out: Tensor, x: Tensor, subs: tuple) -> str:
    for name, form in _FORMS.items():
        if name != "correct" and torch.allclose(out, form(x, *subs), atol=1e-9, rtol=0):
            return _DIAGNOSIS[name]
    return "pre_norm_block must return h + ffn(norm2(h)) with h = x + attn(norm1(x))"


def test_pre_norm_block_formula_and_classic_mistakes() -> None:
    gen = torch.Generator().manual_seed(11)
    for _ in range(cases(200)):
        d, b, n = _ri(gen, 2, 9), _ri(gen, 1, 3), _ri(gen, 1, 6)
        subs = _branches(gen, d)
        x = 3 * torch.randn(b, n, d, generator=gen, dtype=DT) + 1
        out = impl.pre_norm_block(x, *subs)
        expected = _FORMS["correct"](x, *subs)
        if not (isinstance(out, Tensor) and torch.allclose(out, expected, atol=1e-12, rtol=0)):
            message = _diagnose(out, x, subs) if isinstance(out, Tensor) else "return a Tensor"
            raise AssertionError(f"{message}\ninputs: x of shape {tuple(x.shape)}")


def test_pre_norm_block_is_identity_when_both_branches_are_zero() -> None:
    """x + 0 + 0 = x: the residual stream of a pre-norm block is never normalised."""
    gen = torch.Generator().manual_seed(12)
    x = 5 * torch.randn(2, 4, 6, generator=gen, dtype=DT) + 2
    zero = lambda h: torch.zeros_like(h)  # noqa: E731
    ln = nn.LayerNorm(6, dtype=DT)
    out = impl.pre_norm_block(x, zero, zero, ln, ln)
    if torch.allclose(out, torch.zeros_like(x)):
        raise AssertionError(
            "with attn = ffn = 0 you returned 0: the residual x is missing; "
            "a pre-norm block returns x + attn(norm1(x)) + ..., i.e. x here"
        )
    if not torch.allclose(out, x, atol=1e-12, rtol=0):
        raise AssertionError(
            "with attn = ffn = 0 a pre-norm block must return x unchanged (x + 0 + 0). Yours "
            "changed it, so a norm is applied to the residual stream itself (post-norm "
            "norm(x + attn(x)), or x = norm(x) before adding): put the norm only on the branch "
            "input, x + attn(norm1(x))"
        )


def test_pre_norm_block_equals_torch_norm_first() -> None:
    """With torch's sublayers plugged in, pre_norm_block is TransformerEncoderLayer(norm_first)."""
    gen = torch.Generator().manual_seed(13)
    for trial in range(30):
        torch.manual_seed(trial)
        ref = nn.TransformerEncoderLayer(8, 2, 16, 0.0, F.gelu, batch_first=True, norm_first=True)
        ref.to(DT).eval()
        x = torch.randn(_ri(gen, 1, 3), _ri(gen, 1, 6), 8, generator=gen, dtype=DT)

        def attn(h: Tensor, ref: nn.Module = ref) -> Tensor:
            return ref.self_attn(h, h, h, need_weights=False)[0]

        def ffn(h: Tensor, ref: nn.Module = ref) -> Tensor:
            return ref.linear2(F.gelu(ref.linear1(h)))

        out = impl.pre_norm_block(x, attn, ffn, ref.norm1, ref.norm2)
        assert_close(out, ref(x), inputs={"x": x}, atol=1e-12, rtol=0)


def test_post_norm_block_output_is_normalised_and_pre_norm_is_not() -> None:
    gen = torch.Generator().manual_seed(14)
    x = 10 * torch.randn(3, 5, 16, generator=gen, dtype=DT) + 4
    subs = _branches(gen, 16)
    ln = nn.LayerNorm(16, elementwise_affine=False, dtype=DT)
    post = impl.post_norm_block(x, subs[0], subs[1], ln, ln)
    assert_close(post.mean(-1), torch.zeros(3, 5), atol=1e-12)  # every token: mean 0
    assert_close(post.var(-1, unbiased=False), torch.ones(3, 5), atol=1e-9)  # variance 1
    assert_close(post, _FORMS["post-norm"](x, subs[0], subs[1], ln, ln), atol=1e-12, rtol=0)
    pre = impl.pre_norm_block(x, subs[0], subs[1], ln, ln)
    assert float(pre.std()) > 5  # the stream keeps the scale of x: nothing normalised it


# ---------------------------------------------------------------- SwiGLU (practised)


def _llama_mlp(gen: torch.Generator, d: int, d_ff: int) -> LlamaMLP:
    mlp = LlamaMLP(
        LlamaConfig(hidden_size=d, intermediate_size=d_ff, num_attention_heads=1, head_dim=2)
    ).to(DT)
    with torch.no_grad():
        for p in mlp.parameters():
            p.copy_(torch.randn(p.shape, generator=gen, dtype=DT))
    return mlp


def test_swiglu_matches_llama_mlp() -> None:
    gen = torch.Generator().manual_seed(21)
    for _ in range(cases(100)):  # 100 random LlamaMLPs x 3 inputs = 300 cases
        d, d_ff = _ri(gen, 1, 12), _ri(gen, 1, 20)
        mlp = _llama_mlp(gen, d, d_ff)
        w = (mlp.gate_proj.weight.detach(), mlp.up_proj.weight.detach(), mlp.down_proj.weight)
        for _ in range(3):
            shape = [_ri(gen, 1, 3) for _ in range(_ri(gen, 0, 2))] + [d]  # [..., d]
            x = torch.randn(shape, generator=gen, dtype=DT)
            with torch.no_grad():
                expected = mlp(x)
                out = impl.swiglu(x, *w)
                wrong_up = F.linear(mlp.gate_proj(x) * F.silu(mlp.up_proj(x)), w[2])
                wrong_gelu = F.linear(F.gelu(mlp.gate_proj(x)) * mlp.up_proj(x), w[2])
            if torch.allclose(out, wrong_up, atol=1e-9) and not torch.allclose(out, expected):
                raise AssertionError(
                    "silu is applied to the UP projection; SwiGLU applies it to the GATE: "
                    "down(silu(x @ w_gate.T) * (x @ w_up.T))"
                )
            if torch.allclose(out, wrong_gelu, atol=1e-9) and not torch.allclose(out, expected):
                raise AssertionError("SwiGLU's gate uses SiLU (x * sigmoid(x)), not GELU")
            assert_close(out, expected, inputs={"x": x, "w_gate": w[0]}, atol=1e-10, rtol=1e-10)


def test_swiglu_module_matches_llama_mlp_state_dict() -> None:
    gen = torch.Generator().manual_seed(22)
    mlp = _llama_mlp(gen, 16, 40)
    mine = impl.SwiGLU(16, 40).to(DT)
    mine.load_state_dict(mlp.state_dict())  # gate_proj / up_proj / down_proj
    x = torch.randn(2, 3, 16, generator=gen, dtype=DT)
    with torch.no_grad():
        assert_close(mine(x), mlp(x), atol=1e-12, rtol=0)


def test_swiglu_hidden_size() -> None:
    assert impl.swiglu_hidden_size(4096) == 11008  # Llama 2 7B intermediate_size
    assert impl.swiglu_hidden_size(4096) == LlamaConfig().intermediate_size
    assert impl.swiglu_hidden_size(5120) == 13824  # 13B: int(13653.3) = 13653 -> 54 * 256
    for d in range(1, 3000, 7):
        h = impl.swiglu_hidden_size(d)
        assert h % 256 == 0 and h - 256 < (8 * d) // 3 <= h  # smallest multiple >= 8d/3
        assert impl.swiglu_hidden_size(d, multiple_of=1) == (8 * d) // 3
    # Equal parameters: 3 matrices of d x 8d/3 = 8 d^2 = 2 matrices of d x 4d (d divisible by 3).
    for d in (3, 12, 768):
        assert 3 * d * (8 * d // 3) == 2 * d * (4 * d)


# ---------------------------------------------------------------- tiny decoder-only LM


def _rms_norm_float64(self: nn.Module, hidden_states: Tensor) -> Tensor:
    """LlamaRMSNorm without its float32 cast: weight * x / sqrt(mean(x^2) + eps)."""
    h = hidden_states
    return self.weight * h * torch.rsqrt(h.pow(2).mean(-1, keepdim=True) + self.variance_epsilon)


def _rotary_float64(self: nn.Module, x: Tensor, position_ids: Tensor) -> tuple[Tensor, Tensor]:
    """LlamaRotaryEmbedding's default RoPE, with the angles computed in float64."""
    dim = 2 * self.inv_freq.shape[0]
    base = self.config.rope_parameters["rope_theta"]
    inv_freq = 1.0 / base ** (torch.arange(0, dim, 2, dtype=DT) / dim)
    angles = position_ids[..., None].to(DT) * inv_freq
    emb = torch.cat([angles, angles], dim=-1)
    return emb.cos().to(x.dtype), emb.sin().to(x.dtype)


def _random_pair(gen: torch.Generator, seed: int) -> tuple[LlamaForCausalLM, nn.Module, dict]:
    n_heads = [1, 2, 4, 8][_ri(gen, 0, 3)]
    divisors = [k for k in (1, 2, 4, 8) if n_heads % k == 0]
    n_kv = divisors[_ri(gen, 0, len(divisors) - 1)]  # GQA whenever n_kv < n_heads
    head_dim = 2 * _ri(gen, 1, 4)
    cfg = dict(
        hidden_size=n_heads * head_dim, intermediate_size=_ri(gen, 1, 40),
        num_hidden_layers=_ri(gen, 1, 2), num_attention_heads=n_heads,
        num_key_value_heads=n_kv, vocab_size=_ri(gen, 2, 50),
        rms_norm_eps=[1e-6, 1e-5][_ri(gen, 0, 1)],
        rope_parameters={"rope_type": "default", "rope_theta": [10000.0, 500.0][_ri(gen, 0, 1)]},
    )  # fmt: skip
    torch.manual_seed(seed)
    hf = LlamaForCausalLM(LlamaConfig(**cfg)).eval()
    with torch.no_grad():  # RMSNorm weights start at 1: randomise them too
        for p in hf.parameters():
            p.add_(0.1 * torch.randn(p.shape, generator=gen))
    mine = impl.TinyDecoderLM(
        cfg["vocab_size"], cfg["hidden_size"], cfg["num_hidden_layers"], n_heads, n_kv,
        cfg["intermediate_size"], cfg["rope_parameters"]["rope_theta"], cfg["rms_norm_eps"],
    )  # fmt: skip
    # Same names as LlamaForCausalLM minus the "model." prefix.
    mine.load_state_dict({k.removeprefix("model."): v for k, v in hf.state_dict().items()})
    return hf, mine.eval(), cfg


def _inputs(gen: torch.Generator, vocab: int) -> tuple[Tensor, Tensor]:
    b, n = _ri(gen, 1, 3), _ri(gen, 1, 9)
    ids = torch.randint(0, vocab, (b, n), generator=gen)
    pads = torch.randint(0, n, (b,), generator=gen)  # left padding: pads first, >= 1 token left
    return ids, (torch.arange(n)[None, :] >= pads[:, None]).long()


LM_CASES = cases(40)


def test_tiny_lm_matches_llama_float64_exact_math(monkeypatch: pytest.MonkeyPatch) -> None:
    """float64 to 1e-10 once HF's two float32 casts (RMSNorm, RoPE angles) are removed.

    The patched functions are the library's own formulas with the `.float()` casts dropped;
    everything else (projections, GQA, causal + padding mask, SwiGLU, residuals) is HF's code.
    """
    monkeypatch.setattr(modeling_llama.LlamaRMSNorm, "forward", _rms_norm_float64)
    monkeypatch.setattr(modeling_llama.LlamaRotaryEmbedding, "forward", _rotary_float64)
    gen = torch.Generator().manual_seed(31)
    for seed in range(LM_CASES):
        hf, mine, cfg = _random_pair(gen, seed)
        hf.to(DT)
        mine.to(DT)
        ids, mask = _inputs(gen, cfg["vocab_size"])
        with torch.no_grad():
            assert_close(mine(ids), hf(ids).logits, inputs=cfg, atol=1e-10, rtol=0)
            keep = mask.bool()  # compare real tokens only: pad positions are never used
            out, ref = mine(ids, mask)[keep], hf(ids, attention_mask=mask).logits[keep]
            assert_close(out, ref, inputs={**cfg, "mask": mask}, atol=1e-10, rtol=0)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_tiny_lm_matches_unmodified_llama(dtype: torch.dtype) -> None:
    """The library as shipped: it computes RMSNorm and RoPE angles in float32 even for a
    float64 model, so the agreement is float32-level in both dtypes."""
    gen = torch.Generator().manual_seed(32)
    for seed in range(LM_CASES // 2):
        hf, mine, cfg = _random_pair(gen, seed)
        hf.to(dtype)
        mine.to(dtype)
        ids, mask = _inputs(gen, cfg["vocab_size"])
        with torch.no_grad():
            assert_close(mine(ids), hf(ids).logits, inputs=cfg, atol=2e-5, rtol=1e-5)
            keep = mask.bool()
            out, ref = mine(ids, mask)[keep], hf(ids, attention_mask=mask).logits[keep]
            assert_close(out, ref, inputs=cfg, atol=2e-5, rtol=1e-5)


def test_tiny_lm_is_causal() -> None:
    """Changing a later token never changes an earlier logit."""
    gen = torch.Generator().manual_seed(33)
    torch.manual_seed(0)
    lm = impl.TinyDecoderLM(30, 16, 2, 4, 2, 24).to(DT).eval()
    ids = torch.randint(0, 30, (2, 8), generator=gen)
    later = ids.clone()
    later[:, 5:] = (later[:, 5:] + 1) % 30
    with torch.no_grad():
        assert_close(lm(ids)[:, :5], lm(later)[:, :5], atol=1e-12, rtol=0)
        assert not torch.allclose(lm(ids)[:, 5:], lm(later)[:, 5:])


# ---------------------------------------------------------------- parameter counts


def test_llama_2_7b_parameter_count_on_meta_device() -> None:
    with torch.device("meta"):  # shapes only: no memory, nothing downloaded
        model = LlamaForCausalLM(LlamaConfig())  # defaults = Llama-2-7B
    numel = sum(p.numel() for p in model.parameters())
    assert numel == 6_738_415_616
    counts = impl.decoder_parameter_count(4096, 32, 11008, 32000, 32, 32)
    assert counts["total"] == numel
    # Hand check: 32 layers x (4 d^2 + 3 d d_ff + 2 d) + 2 V d + d.
    assert (
        counts["total"]
        == 32 * (4 * 4096**2 + 3 * 4096 * 11008 + 2 * 4096) + 2 * 32000 * 4096 + 4096
    )


def test_decoder_parameter_count_matches_llama_numel() -> None:
    gen = torch.Generator().manual_seed(41)
    for _ in range(40):
        n_heads = [1, 2, 4, 8][_ri(gen, 0, 3)]
        n_kv = [k for k in (1, 2, 4, 8) if n_heads % k == 0][-1 if _ri(gen, 0, 1) else 0]
        d, d_ff = n_heads * 2 * _ri(gen, 1, 6), _ri(gen, 1, 200)
        layers, vocab, tied = _ri(gen, 1, 4), _ri(gen, 2, 500), bool(_ri(gen, 0, 1))
        cfg = LlamaConfig(
            hidden_size=d, intermediate_size=d_ff, num_hidden_layers=layers,
            num_attention_heads=n_heads, num_key_value_heads=n_kv, vocab_size=vocab,
            tie_word_embeddings=tied,
        )  # fmt: skip
        with torch.device("meta"):
            numel = sum(p.numel() for p in LlamaForCausalLM(cfg).parameters())  # shared once
            mine = impl.TinyDecoderLM(vocab, d, layers, n_heads, n_kv, d_ff)
        count = impl.decoder_parameter_count(d, layers, d_ff, vocab, n_heads, n_kv, tied)
        assert count["total"] == numel, (cfg, count, numel)
        if not tied:
            assert count["total"] == sum(p.numel() for p in mine.parameters())


def test_encoder_layer_parameter_count_matches_torch() -> None:
    for d, nhead, ff in [(8, 2, 32), (12, 3, 7), (64, 8, 256), (512, 8, 2048), (5, 1, 1)]:
        for bias in (True, False):
            layer = nn.TransformerEncoderLayer(d, nhead, ff, bias=bias, device="meta")
            numel = sum(p.numel() for p in layer.parameters())
            assert impl.encoder_layer_parameter_count(d, ff, bias) == numel, (d, ff, bias)
    # d_ff = 4d, no biases/norms: 4 d^2 (attention) + 8 d^2 (FFN) = 12 d^2.
    d = 768
    assert impl.encoder_layer_parameter_count(d, 4 * d) == 12 * d * d + 13 * d
    counts = impl.decoder_parameter_count(4096, 32, 11008, 32000, 32, 32)
    assert counts["attention"] == 32 * 4 * 4096**2  # exactly 4 d^2 per layer without GQA


# ---------------------------------------------------------------- FLOPs


def _counted_flops(module: nn.Module, *args: Tensor) -> int:
    # The math backend decomposes SDPA into matmuls the counter sees; torch 2.14's flop counter
    # has no formula for the fused CPU kernel and would silently count its attention as 0.
    with sdpa_kernel(SDPBackend.MATH), FlopCounterMode(display=False) as counter:
        module(*args)
    return counter.get_total_flops()


def test_block_flops_match_flop_counter() -> None:
    for n, d, nhead, ff in [(1, 8, 2, 32), (7, 16, 4, 64), (33, 32, 4, 40), (50, 12, 3, 48)]:
        x = torch.randn(1, n, d)
        expected = sum(impl.block_forward_flops(n, d, ff).values())
        assert _counted_flops(impl.EncoderBlock(d, nhead, ff), x) == expected  # training mode
        torch_layer = nn.TransformerEncoderLayer(d, nhead, ff, 0.0, batch_first=True)
        assert _counted_flops(torch_layer, x) == expected
        block = impl.LlamaBlock(d, nhead, nhead, ff, 1e-6)
        cos, sin = impl.rope_cos_sin(n, d // nhead)
        allowed = torch.ones(n, n, dtype=torch.bool).tril()
        expected = sum(impl.block_forward_flops(n, d, ff, swiglu=True).values())
        assert _counted_flops(block, x, allowed, cos, sin) == expected


def test_attention_scores_overtake_the_matmuls_at_n_equal_6d() -> None:
    # 4 n^2 d (scores) vs 8 n d^2 + 16 n d^2 (projections + FFN, d_ff = 4d): equal at n = 6d.
    for d in (64, 768, 4096):
        at = impl.block_forward_flops(6 * d, d, 4 * d)
        assert at["scores"] == at["projections"] + at["ffn"]
        below = impl.block_forward_flops(6 * d - 1, d, 4 * d)
        assert below["scores"] < below["projections"] + below["ffn"]
    # Llama-2-7B (SwiGLU, d_ff = 11008): crossover at n = 2d + 1.5 d_ff = 24,704 tokens.
    n_star = 2 * 4096 + 3 * 11008 // 2
    at = impl.block_forward_flops(n_star, 4096, 11008, swiglu=True)
    assert at["scores"] == at["projections"] + at["ffn"] and n_star == 24_704
    assert math.isclose(at["scores"] / sum(at.values()), 0.5)


# ---------------------------------------------------------------- edge cases and bad input


def test_length_one_and_batch_one() -> None:
    torch.manual_seed(0)
    ref = nn.TransformerEncoderLayer(6, 3, 5, 0.0, batch_first=True, norm_first=True).to(DT)
    mine = impl.EncoderBlock(6, 3, 5, norm_first=True)
    mine.load_state_dict(ref.state_dict())
    mine.to(DT)
    x = torch.randn(1, 1, 6, dtype=DT)
    assert_close(mine(x), ref(x), atol=1e-12, rtol=0)
    lm = impl.TinyDecoderLM(7, 8, 1, 2, 1, 3)
    assert_equal(torch.tensor(lm(torch.tensor([[3]])).shape), torch.tensor([1, 1, 7]))


def test_input_errors() -> None:
    with raises_naming(ValueError, "d_model=10", "nhead=3"):
        impl.EncoderBlock(10, 3)
    with raises_naming(ValueError, "n_kv_heads=3"):
        impl.TinyDecoderLM(10, 16, 1, 4, 3, 8)
    with raises_naming(ValueError, "nhead"):
        impl.DecoderBlock(8, 0)
    block = impl.EncoderBlock(8, 2, 16)
    with raises_naming(TypeError, "src", "torch.Tensor", "list"):
        block([[0.0] * 8])
    with raises_naming(ValueError, "src", "[B, L, d_model]", "(4, 8)"):
        block(torch.zeros(4, 8))
    with raises_naming(ValueError, "src", "d_model=8"):
        block(torch.zeros(1, 4, 6))
    with raises_naming(ValueError, "src_mask", "[4, 4]", "(3, 3)"):
        block(torch.zeros(2, 4, 8), torch.zeros(3, 3, dtype=torch.bool))
    with raises_naming(ValueError, "src_key_padding_mask", "[2, 4]"):
        block(torch.zeros(2, 4, 8), None, torch.zeros(4, 2, dtype=torch.bool))
    with raises_naming(TypeError, "src_key_padding_mask"):
        block(torch.zeros(2, 4, 8), None, [[False] * 4] * 2)
    with raises_naming(ValueError, "memory", "d_model=8"):
        impl.DecoderBlock(8, 2, 4)(torch.zeros(1, 2, 8), torch.zeros(1, 3, 5))
    w = torch.zeros(6, 4)
    with raises_naming(TypeError, "x", "torch.Tensor"):
        impl.swiglu([[0.0] * 4], w, w, w.T)
    with raises_naming(TypeError, "w_up"):
        impl.swiglu(torch.zeros(4), w, w.tolist(), w.T)
    with raises_naming(ValueError, "w_down", "[d, d_ff]"):
        impl.swiglu(torch.zeros(4), w, w, w)
    with raises_naming(TypeError, "x", "torch.Tensor"):
        impl.pre_norm_block([0.0], abs, abs, abs, abs)
    lm = impl.TinyDecoderLM(10, 8, 1, 2, 1, 4)
    with raises_naming(ValueError, "input_ids", "[B, L]"):
        lm(torch.zeros(3, dtype=torch.long))
    with raises_naming(ValueError, "attention_mask", "[2, 3]"):
        lm(torch.zeros(2, 3, dtype=torch.long), torch.ones(2, 4))


# ---------------------------------------------------------------- figures


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_figures(lang: str) -> None:
    import matplotlib.figure

    from figures.transformer.transformer_block import draw_params_flops, draw_pre_post

    for draw in (draw_pre_post, draw_params_flops):
        assert isinstance(draw(lang), matplotlib.figure.Figure)
