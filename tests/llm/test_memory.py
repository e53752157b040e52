"""Tests for snippets/llm/memory.py: parameter count, KV cache, ZeRO, FLOPs, activations, int8.

References: ``transformers`` 5.23 ``LlamaForCausalLM`` built on the meta device from published
configs (nothing downloaded) and tiny random models on CPU (``DynamicCache`` tensors);
``torch.utils.flop_counter.FlopCounterMode``; ``torch.quantize_per_tensor`` /
``torch.quantize_per_channel``; float64 transcriptions of the ZeRO (Rajbhandari et al. 2020,
Figure 1) and Korthikanti et al. 2022 (§4.1) formulas written here.
"""

from __future__ import annotations

import functools
import json
from types import SimpleNamespace

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode
from transformers import LlamaConfig, LlamaForCausalLM
from transformers.cache_utils import DynamicCache

from snippets.transformer.kv_cache import kv_cache_size
from tests.support import LANG, assert_close, assert_equal, cases, raises_naming, under_test

impl = under_test("snippets.llm.memory")

# torch marks its quantized dtypes as deprecated (UserWarning); they are still the reference.
pytestmark = pytest.mark.filterwarnings("ignore:.*quantize_per:UserWarning")

_MSG = {
    "en": {
        "head": (
            "an UNTIED output head (tie_word_embeddings=False) is its own vocab_size x "
            "hidden_size matrix: count it in addition to the embedding"
        ),
        "tied": (
            "a TIED output head (tie_word_embeddings=True) reuses the embedding matrix: "
            "count vocab_size x hidden_size once, not twice"
        ),
        "gqa": (
            "with GQA, k_proj and v_proj are hidden_size x (num_key_value_heads * head_dim), "
            "not hidden_size x hidden_size: only q_proj and o_proj have all the heads"
        ),
        "swiglu": (
            "the SwiGLU MLP has THREE matrices (gate_proj, up_proj: hidden -> intermediate; "
            "down_proj: intermediate -> hidden), i.e. 3 * hidden * intermediate per layer"
        ),
        "norm": (
            "RMSNorm weights count too: 2 * hidden_size per layer (input_layernorm, "
            "post_attention_layernorm) plus hidden_size for the final norm"
        ),
        "head_dim": (
            "head_dim is a config field (Llama-3.2 uses 64 with hidden 2048 and 32 heads, "
            "but other models differ): read config.head_dim, fall back to hidden // heads"
        ),
        "count": "llama_parameter_count must equal sum(p.numel()) of LlamaForCausalLM(config)",
        "absmax127": (
            "absmax int8 maps max|x| to 127: scale = max|x| / 127 (not / 255, which would "
            "need 9 bits), q = clamp(round(x / scale), -127, 127)"
        ),
        "clamp": (
            "zero-point uint8 must clamp round(x / scale) + zero_point to [0, 255]: both "
            "roundings can go up, giving 256, which wraps to 0 in uint8"
        ),
        "halfeven": (
            "round half to EVEN like torch.round and torch.quantize_per_tensor "
            "(0.5 -> 0, 1.5 -> 2, 2.5 -> 2), not half away from zero"
        ),
        "zp_zero": (
            "the range must include 0.0 (min = min(x.min(), 0), max = max(x.max(), 0)) so "
            "0.0 is represented exactly by zero_point"
        ),
        "zero0": "without ZeRO every GPU holds (2 + 2 + K) * num_params bytes, whatever num_gpus",
        "zero1": (
            "ZeRO-1 shards ONLY the optimizer states: 2 Psi (fp16 weights) + 2 Psi (fp16 "
            "grads) + K Psi / N_d"
        ),
        "zero2": (
            "ZeRO-2 also shards the fp16 gradients: 2 Psi + (2 + K) Psi / N_d; the weights "
            "stay replicated"
        ),
        "zero3": "ZeRO-3 shards weights, gradients and optimizer states: (2 + 2 + K) Psi / N_d",
    },
    "zh": {
        "head": (
            "不共享（tie_word_embeddings=False）的输出头是单独一个 vocab_size x hidden_size "
            "的矩阵：embedding 之外还要再算一次"
        ),
        "tied": (
            "共享（tie_word_embeddings=True）的输出头复用 embedding 矩阵："
            "vocab_size x hidden_size 只算一次，不能算两次"
        ),
        "gqa": (
            "GQA 下 k_proj、v_proj 是 hidden_size x (num_key_value_heads * head_dim)，"
            "不是 hidden_size x hidden_size：只有 q_proj 和 o_proj 包含全部的头"
        ),
        "swiglu": (
            "SwiGLU MLP 有三个矩阵（gate_proj、up_proj：hidden -> intermediate；"
            "down_proj：intermediate -> hidden），每层 3 * hidden * intermediate"
        ),
        "norm": (
            "RMSNorm 的权重也要算：每层 2 * hidden_size（input_layernorm、"
            "post_attention_layernorm），再加最后一个 norm 的 hidden_size"
        ),
        "head_dim": (
            "head_dim 是 config 里的字段（Llama-3.2-1B 为 64），应读取 config.head_dim，"
            "为 None 时才用 hidden // heads"
        ),
        "count": "llama_parameter_count 必须等于 LlamaForCausalLM(config) 的 sum(p.numel())",
        "absmax127": (
            "absmax int8 把 max|x| 映射到 127：scale = max|x| / 127（不是 / 255，那需要 9 位），"
            "q = clamp(round(x / scale), -127, 127)"
        ),
        "clamp": (
            "zero-point uint8 必须把 round(x / scale) + zero_point 截断到 [0, 255]："
            "两次舍入都可能向上，得到 256，在 uint8 里会回绕成 0"
        ),
        "halfeven": (
            "与 torch.round、torch.quantize_per_tensor 一样四舍六入五成双"
            "（0.5 -> 0，1.5 -> 2，2.5 -> 2），不是远离零舍入"
        ),
        "zp_zero": (
            "量化范围必须包含 0.0（min = min(x.min(), 0)，max = max(x.max(), 0)），"
            "这样 0.0 能被 zero_point 精确表示"
        ),
        "zero0": "不用 ZeRO 时每张 GPU 都存 (2 + 2 + K) * num_params 字节，与 num_gpus 无关",
        "zero1": "ZeRO-1 只切分优化器状态：2 Psi（fp16 权重）+ 2 Psi（fp16 梯度）+ K Psi / N_d",
        "zero2": "ZeRO-2 还切分 fp16 梯度：2 Psi + (2 + K) Psi / N_d；权重仍然每张卡一份",
        "zero3": "ZeRO-3 切分权重、梯度和优化器状态：(2 + 2 + K) Psi / N_d",
    },
}


def msg(key: str) -> str:
    return _MSG.get(LANG, _MSG["en"])[key]


# ---------------------------------------------------------------- parameter count

# Published config.json values of the Hugging Face model repositories (meta-llama/...), as
# listed on their model cards; the totals are what LlamaForCausalLM builds from them.
LLAMA_2_7B = dict(  # meta-llama/Llama-2-7b-hf; LlamaConfig() defaults are the same
    vocab_size=32000, hidden_size=4096, intermediate_size=11008, num_hidden_layers=32,
    num_attention_heads=32, num_key_value_heads=32,
)  # fmt: skip
LLAMA_2_70B = dict(  # meta-llama/Llama-2-70b-hf: GQA with 8 KV heads
    vocab_size=32000, hidden_size=8192, intermediate_size=28672, num_hidden_layers=80,
    num_attention_heads=64, num_key_value_heads=8,
)  # fmt: skip
LLAMA_3_8B = dict(  # meta-llama/Meta-Llama-3-8B: GQA-8, 128,256-token vocabulary
    vocab_size=128256, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
    num_attention_heads=32, num_key_value_heads=8,
)  # fmt: skip
LLAMA_32_1B = dict(  # meta-llama/Llama-3.2-1B: tied embeddings, head_dim 64
    vocab_size=128256, hidden_size=2048, intermediate_size=8192, num_hidden_layers=16,
    num_attention_heads=32, num_key_value_heads=8, head_dim=64, tie_word_embeddings=True,
)  # fmt: skip
PUBLISHED = [
    # 6,738,415,616: the count usually quoted for Llama-2-7B ("7B" in the Llama 2 paper, Table 1)
    ("llama-2-7b", LLAMA_2_7B, 6_738_415_616),
    ("llama-2-70b", LLAMA_2_70B, 68_976_648_192),
    ("llama-3-8b", LLAMA_3_8B, 8_030_261_248),
    ("llama-3.2-1b", LLAMA_32_1B, 1_235_814_400),
]


@functools.cache
def _meta_count(config_json: str) -> int:
    return meta_count(LlamaConfig.from_dict(json.loads(config_json)), cached=False)


def meta_count(config: LlamaConfig, cached: bool = True) -> int:
    """sum(p.numel()) of LlamaForCausalLM(config) on the meta device (nothing allocated)."""
    if cached:
        return _meta_count(config.to_json_string())
    with torch.device("meta"):
        model = LlamaForCausalLM(config)
    return sum(p.numel() for p in model.parameters())


def random_config(gen: torch.Generator, **overrides: object) -> LlamaConfig:
    def pick(lo: int, hi: int) -> int:
        return int(torch.randint(lo, hi + 1, (1,), generator=gen))

    kv = pick(1, 4)
    heads = kv * pick(1, 4)
    fields = dict(
        vocab_size=pick(2, 300),
        hidden_size=heads * 2 * pick(1, 6),  # LlamaConfig wants a multiple of the heads
        intermediate_size=pick(1, 100),
        num_hidden_layers=pick(0, 4),
        num_attention_heads=heads,
        num_key_value_heads=kv,
        head_dim=2 * pick(1, 16) if pick(0, 1) else None,  # RoPE needs an even head_dim
        tie_word_embeddings=bool(pick(0, 1)),
        attention_bias=bool(pick(0, 3) == 0),
        mlp_bias=bool(pick(0, 3) == 0),
    )
    fields.update(overrides)
    return LlamaConfig(**fields)


@pytest.mark.parametrize(("name", "fields", "published"), PUBLISHED, ids=[p[0] for p in PUBLISHED])
def test_published_llama_configs(name: str, fields: dict, published: int) -> None:
    config = LlamaConfig(**fields)
    assert meta_count(config) == published  # the reference itself agrees with the card
    actual = impl.llama_parameter_count(config)
    assert actual == published, diagnose(actual, config)


def test_duck_typed_config() -> None:
    """A plain namespace with LlamaConfig's attribute names works; missing fields default."""
    ns = SimpleNamespace(**LLAMA_3_8B)
    assert impl.llama_parameter_count(ns) == 8_030_261_248
    ns = SimpleNamespace(**{**LLAMA_2_7B, "num_key_value_heads": None, "head_dim": None})
    assert impl.llama_parameter_count(ns) == 6_738_415_616


def test_random_tiny_configs_match_transformers() -> None:
    """Total parameters, and the matmul weights = every nn.Linear weight (lm_head included)."""
    gen = torch.Generator().manual_seed(0)
    for _ in range(cases(60)):
        config = random_config(gen)
        with torch.device("meta"):
            model = LlamaForCausalLM(config)
        inputs = {"config": config.to_diff_dict()}
        total = sum(p.numel() for p in model.parameters())
        actual = impl.llama_parameter_count(config)
        assert actual == total, f"{diagnose(actual, config)}\n{inputs}"
        if not (config.attention_bias or config.mlp_bias):
            linear = sum(
                m.weight.numel() for m in model.modules() if isinstance(m, torch.nn.Linear)
            )
            assert_equal(impl.matmul_parameter_count(config), linear, inputs=inputs)


def diagnose(actual: int, config: LlamaConfig) -> str:
    """Name the classic mistake whose signature matches actual - expected, else the rule."""
    diff = actual - meta_count(config)
    v, e, f, layers = (config.vocab_size, config.hidden_size, config.intermediate_size,
                       config.num_hidden_layers)  # fmt: skip
    h, kv = config.num_attention_heads, config.num_key_value_heads
    d = config.head_dim or e // h
    signatures = [
        ("head", diff == -v * e and not config.tie_word_embeddings),
        ("tied", diff == v * e and bool(config.tie_word_embeddings)),
        ("gqa", kv != h and diff == layers * (4 * e * e - 2 * e * h * d - 2 * e * kv * d)),
        ("gqa", kv != h and diff == layers * 2 * e * (h - kv) * d),
        ("swiglu", diff == -layers * e * f),
        ("norm", diff in (-(2 * layers + 1) * e, -2 * layers * e, -e, -layers * e)),
        ("head_dim", d != e // h and diff == layers * 2 * e * (h + kv) * (e // h - d)),
    ]
    for key, matches in signatures:
        if diff and matches:
            return msg(key)
    return msg("count")


def _check_one(fields: dict) -> None:
    config = LlamaConfig(**fields)
    actual = impl.llama_parameter_count(config)
    assert actual == meta_count(config), diagnose(actual, config)


@pytest.mark.diagnosis
def test_untied_head_is_counted() -> None:
    _check_one({**LLAMA_2_7B, "tie_word_embeddings": False})


@pytest.mark.diagnosis
def test_tied_head_counted_once() -> None:
    _check_one(LLAMA_32_1B)


@pytest.mark.diagnosis
def test_gqa_kv_projections() -> None:
    _check_one(LLAMA_2_70B)


@pytest.mark.diagnosis
def test_swiglu_has_three_matrices() -> None:
    # intermediate 1 more than 7B: a two-matrix count would be off by L * hidden * (F + ...).
    _check_one({**LLAMA_2_7B, "intermediate_size": 11009})


@pytest.mark.diagnosis
def test_rmsnorm_weights_counted() -> None:
    # tiny model where the norms, (2 L + 1) E = 5 * 8 = 40 weights, are a visible share
    _check_one(dict(vocab_size=3, hidden_size=8, intermediate_size=3, num_hidden_layers=2,
                    num_attention_heads=2, num_key_value_heads=2))  # fmt: skip


@pytest.mark.diagnosis
def test_head_dim_from_config() -> None:
    _check_one({**LLAMA_32_1B, "head_dim": 128})


def test_parameter_count_bad_config() -> None:
    with raises_naming(TypeError, "config", "hidden_size"):
        impl.llama_parameter_count({"hidden_size": 8})  # a dict is not a config
    bad = SimpleNamespace(**{**LLAMA_2_7B, "num_key_value_heads": 5})
    with raises_naming(ValueError, "num_attention_heads", "num_key_value_heads"):
        impl.llama_parameter_count(bad)
    with raises_naming(TypeError, "config.hidden_size"):
        impl.llama_parameter_count(SimpleNamespace(**{**LLAMA_2_7B, "hidden_size": 4096.0}))


# ---------------------------------------------------------------- KV cache


def test_kv_cache_bytes_matches_dynamic_cache() -> None:
    """The cache tensors of a tiny random Llama after a real forward pass."""
    gen = torch.Generator().manual_seed(2)
    torch.manual_seed(2)
    for dtype, nbytes in ((torch.float32, 4), (torch.bfloat16, 2)):
        for kv in (1, 2, 4):
            config = LlamaConfig(vocab_size=50, hidden_size=32, intermediate_size=40,
                                 num_hidden_layers=2, num_attention_heads=4,
                                 num_key_value_heads=kv)  # fmt: skip
            model = LlamaForCausalLM(config).to(dtype).eval()
            b, s = 2, 7
            ids = torch.randint(0, 50, (b, s), generator=gen)
            cache = DynamicCache(config=config)
            with torch.no_grad():
                model(ids, past_key_values=cache, use_cache=True)
            real = sum(
                t.numel() * t.element_size() for layer in cache.layers for t in (layer.keys, layer.values)
            )  # fmt: skip
            assert impl.kv_cache_bytes(config, b, s, nbytes) == real


def test_kv_cache_bytes_is_kv_cache_size() -> None:
    gen = torch.Generator().manual_seed(3)
    for _ in range(cases(2000)):
        layers, kv, rep, d, b, s, nb = (int(v) for v in torch.randint(1, 9, (7,), generator=gen))
        with_head_dim = bool(torch.randint(0, 2, (1,), generator=gen))
        config = SimpleNamespace(  # duck-typed: no LlamaConfig validation cost
            hidden_size=kv * rep * (d if not with_head_dim else 3), num_hidden_layers=layers,
            num_attention_heads=kv * rep, num_key_value_heads=kv,
            head_dim=d if with_head_dim else None,
        )  # fmt: skip
        want = kv_cache_size(layers, kv, d, b - 1, s - 1, nb)
        assert impl.kv_cache_bytes(config, b - 1, s - 1, nb) == want


def test_kv_cache_7b_example() -> None:
    # Hand computation: 2 * 32 layers * 32 heads * 128 dims * 4096 tokens * 2 bytes = 2 GiB.
    assert impl.kv_cache_bytes(LlamaConfig(**LLAMA_2_7B), 1, 4096) == 2 * 2**30
    # Llama-2-70B: 2 * 80 * 8 * 128 * 4096 * 2 = 1.25 GiB, less than the 7B (GQA-8).
    assert impl.kv_cache_bytes(LlamaConfig(**LLAMA_2_70B), 1, 4096) == 1.25 * 2**30


# ---------------------------------------------------------------- ZeRO


def zero_reference(psi: float, nd: float, k: float) -> list[float]:
    """ZeRO Figure 1, as printed: baseline, P_os, P_os+g, P_os+g+p (float64)."""
    return [
        (2 + 2 + k) * psi,
        2 * psi + 2 * psi + k * psi / nd,
        2 * psi + (2 + k) * psi / nd,
        (2 + 2 + k) * psi / nd,
    ]


def test_zero_matches_paper_formulas() -> None:
    gen = torch.Generator().manual_seed(4)
    for _ in range(cases(2000)):
        psi = int(torch.randint(0, 10**12, (1,), generator=gen))
        nd = int(torch.randint(1, 4097, (1,), generator=gen))
        k = int(torch.randint(0, 25, (1,), generator=gen))
        got = [impl.zero_memory_bytes(psi, nd, s, k) for s in range(4)]
        assert_close(got, zero_reference(psi, nd, k), rtol=1e-12, atol=0,
                     inputs={"num_params": psi, "num_gpus": nd, "k": k})  # fmt: skip


def test_zero_paper_example() -> None:
    """Figure 1: 7.5B parameters, N_d = 64, Adam (K = 12): 120 / 31.4 / 16.6 / 1.88 GB."""
    got = [impl.zero_memory_bytes(7_500_000_000, 64, s) / 1e9 for s in range(4)]
    assert [round(g, 1) for g in got[:3]] == [120.0, 31.4, 16.6]
    assert round(got[3], 2) == 1.88
    # 16 bytes per parameter without ZeRO, whatever N_d: 7B -> 112 GB.
    assert impl.zero_memory_bytes(7_000_000_000, 8) == 112e9


@pytest.mark.diagnosis
def test_zero_each_stage() -> None:
    psi, nd = 1000, 10  # hand: 16000, 4000 + 1200, 2000 + 1400, 1600
    for stage, want in enumerate((16000, 5200, 3400, 1600)):
        got = impl.zero_memory_bytes(psi, nd, stage)
        assert abs(got - want) < 1e-9, f"stage {stage}: {got} != {want}. " + msg(f"zero{stage}")


def test_zero_bad_input() -> None:
    with raises_naming(ValueError, "stage"):
        impl.zero_memory_bytes(10, 2, 4)
    with raises_naming(ValueError, "num_gpus"):
        impl.zero_memory_bytes(10, 0, 1)
    with raises_naming(TypeError, "num_params"):
        impl.zero_memory_bytes(7.5e9, 2, 1)


# ---------------------------------------------------------------- FLOPs


def count_linear_flops(model: torch.nn.Module, ids: torch.Tensor, backward: bool) -> int:
    """FlopCounterMode's aten.mm / aten.addmm count: the linear layers only.

    With SDPA on CPU the fused attention kernel is counted as 0; the attention matmuls
    (QK^T, PV) would be aten.bmm in eager mode and are excluded either way.
    """
    with FlopCounterMode(display=False) as counter:
        logits = model(ids).logits
        if backward:
            logits.sum().backward()
    ops = {str(op): n for op, n in counter.get_flop_counts()["Global"].items()}
    return ops.get("aten.mm", 0) + ops.get("aten.addmm", 0)


def test_forward_is_2n_and_training_is_6n() -> None:
    gen = torch.Generator().manual_seed(5)
    torch.manual_seed(5)
    for _ in range(cases(5)):
        config = random_config(gen, attention_bias=False, mlp_bias=False)
        config.num_hidden_layers = max(1, config.num_hidden_layers)
        config._attn_implementation = "eager"
        model = LlamaForCausalLM(config)
        b, t = (int(v) for v in torch.randint(1, 5, (2,), generator=gen))
        ids = torch.randint(0, config.vocab_size, (b, t), generator=gen)
        n = impl.matmul_parameter_count(config)
        fwd = count_linear_flops(model, ids, backward=False)
        assert fwd == b * t * impl.forward_flops_per_token(n)
        both = count_linear_flops(model, ids, backward=True)
        assert both == impl.training_flops(n, b * t)  # 2N forward + 4N backward per token


def test_flops_examples() -> None:
    assert impl.training_flops(3, 5) == 90 and impl.forward_flops_per_token(3) == 6
    with raises_naming(TypeError, "num_tokens"):
        impl.training_flops(3, 5.0)


# ---------------------------------------------------------------- activations


def test_activations_match_korthikanti() -> None:
    gen = torch.Generator().manual_seed(6)
    for _ in range(cases(2000)):
        s, b, h, a, L = (int(v) for v in torch.randint(1, 5000, (5,), generator=gen))
        # §4.1, eq. (1) as printed: s b h (34 + 5 a s / h) per layer, times L.
        want = float(s) * b * h * (34 + 5 * a * s / h) * L
        assert_close(impl.activation_bytes(s, b, h, a, L), want, rtol=1e-12, atol=0)
        # full recomputation stores only each layer's fp16 input: 2 s b h per layer.
        assert impl.activation_bytes(s, b, h, a, L, recompute="full") == 2 * s * b * h * L


def test_activation_example_and_bad_input() -> None:
    # 7B shapes, s = 2048, b = 1: 34 * 2048 * 4096 B = 272 MiB, 5 * 32 * 2048^2 B = 640 MiB.
    assert impl.activation_bytes(2048, 1, 4096, 32) == (272 + 640) * 2**20
    with raises_naming(ValueError, "recompute"):
        impl.activation_bytes(8, 1, 8, 2, recompute="selective")
    with raises_naming(TypeError, "hidden_size"):
        impl.activation_bytes(8, 1, 8.0, 2)


# ---------------------------------------------------------------- int8


def random_tensor(gen: torch.Generator, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    shape = tuple(int(v) for v in torch.randint(1, 9, (int(torch.randint(1, 4, (1,), generator=gen)),), generator=gen))  # fmt: skip
    x = torch.randn(shape, generator=gen, dtype=dtype)
    x = x * 10 ** float(torch.empty(1).uniform_(-3, 3, generator=gen))
    if torch.rand(1, generator=gen) < 0.2:
        x = x.abs() + float(torch.rand(1, generator=gen))  # all positive: range widened to 0
    if torch.rand(1, generator=gen) < 0.1:
        x[..., 0] = 0.0
    return x


def test_absmax_matches_torch_quantize_per_tensor() -> None:
    gen = torch.Generator().manual_seed(7)
    for _ in range(cases(1000)):
        x = random_tensor(gen)
        q, scale = impl.absmax_quantize(x)
        ref = torch.quantize_per_tensor(x, float(scale), 0, torch.qint8)
        assert_equal(q, ref.int_repr(), inputs={"x": x})
        x_hat = impl.absmax_dequantize(q, scale)
        assert_close(x_hat, ref.dequantize(), rtol=1e-6, atol=0, inputs={"x": x})
        # round trip: nearest grid point, so |x - x_hat| <= scale / 2 (float32 slack)
        err = float((x - x_hat).abs().max())
        assert err <= float(scale) / 2 * (1 + 1e-5), (err, float(scale))


def test_zeropoint_matches_torch_quantize_per_tensor() -> None:
    gen = torch.Generator().manual_seed(8)
    for _ in range(cases(1000)):
        x = random_tensor(gen)
        q, scale, zp = impl.zeropoint_quantize(x)
        ref = torch.quantize_per_tensor(x, float(scale), int(zp), torch.quint8)
        assert_equal(q, ref.int_repr(), inputs={"x": x})
        x_hat = impl.zeropoint_dequantize(q, scale, zp)
        assert_close(x_hat, ref.dequantize(), rtol=1e-6, atol=1e-6 * float(scale))
        err = float((x - x_hat).abs().max())
        assert err <= float(scale) / 2 * (1 + 1e-4) + 1e-6 * float(x.abs().max()), err


def test_per_channel_matches_torch_quantize_per_channel() -> None:
    gen = torch.Generator().manual_seed(9)
    for _ in range(cases(300)):
        x = random_tensor(gen)
        dim = int(torch.randint(0, x.ndim, (1,), generator=gen))
        q, scale = impl.absmax_quantize(x, dim=dim)
        assert scale.shape == tuple(n if i == dim else 1 for i, n in enumerate(x.shape))
        zeros = torch.zeros(x.shape[dim], dtype=torch.int64)
        ref = torch.quantize_per_channel(x, scale.flatten().double(), zeros, dim, torch.qint8)
        assert_equal(q, ref.int_repr(), inputs={"x": x, "dim": dim})
        q, scale, zp = impl.zeropoint_quantize(x, dim=dim)
        ref = torch.quantize_per_channel(x, scale.flatten().double(), zp.flatten(), dim, torch.quint8)  # fmt: skip
        assert_equal(q, ref.int_repr(), inputs={"x": x, "dim": dim})


def test_float64_input() -> None:
    gen = torch.Generator().manual_seed(10)
    for _ in range(cases(300)):
        x = random_tensor(gen, torch.float64)
        q, scale = impl.absmax_quantize(x)
        amax = float(x.abs().max())
        want = torch.round(x / (amax / 127)).clamp(-127, 127) if amax > 0 else x
        assert_equal(q.to(torch.float64), want)
        assert float((impl.absmax_dequantize(q, scale) - x).abs().max()) <= float(scale) / 2 + 1e-12


@pytest.mark.diagnosis
def test_absmax_scale_is_max_over_127() -> None:
    x = torch.tensor([-2.0, 0.3, 1.0, 2.54])
    q, scale = impl.absmax_quantize(x)
    assert int(q.abs().max()) == 127 and abs(float(scale) - 2.54 / 127) < 1e-7, msg("absmax127")
    # hand: 2.54 / 0.02 = 127, -2 / 0.02 = -100, 0.3 / 0.02 = 15, 1 / 0.02 = 50
    assert q.tolist() == [-100, 15, 50, 127], msg("absmax127")


@pytest.mark.diagnosis
def test_zeropoint_clamps_to_uint8() -> None:
    # range [-1.5, 253.5]: scale 1, zero_point round(1.5) = 2, round(253.5) + 2 = 256 -> 255
    x = torch.tensor([-1.5, 253.5, 0.0])
    q, scale, zp = impl.zeropoint_quantize(x)
    ref = torch.quantize_per_tensor(x, 1.0, 2, torch.quint8).int_repr()
    assert float(scale) == 1.0 and int(zp) == 2
    assert q.tolist() == ref.tolist() == [0, 255, 2], msg("clamp")


@pytest.mark.diagnosis
def test_round_half_to_even() -> None:
    x = torch.tensor([127.0, 0.5, 1.5, 2.5, -0.5, -2.5])  # scale = 127 / 127 = 1
    q, _ = impl.absmax_quantize(x)
    ref = torch.quantize_per_tensor(x, 1.0, 0, torch.qint8).int_repr()
    assert int(q[0]) == 127, msg("absmax127")  # max|x| itself must map to 127 first
    assert q.tolist() == ref.tolist() == [127, 0, 2, 2, 0, -2], msg("halfeven")


@pytest.mark.diagnosis
def test_zero_is_exact() -> None:
    x = torch.tensor([0.0, 3.0, 5.1, 7.0])  # all >= 0: min must be widened to 0
    q, scale, zp = impl.zeropoint_quantize(x)
    assert int(zp) == 0 and float(impl.zeropoint_dequantize(q, scale, zp)[0]) == 0.0, msg("zp_zero")


def test_quantize_bad_input() -> None:
    with raises_naming(TypeError, "x", "floating-point"):
        impl.absmax_quantize([1.0, 2.0])
    with raises_naming(TypeError, "x", "floating-point"):
        impl.zeropoint_quantize(torch.tensor([1, 2]))
    with raises_naming(ValueError, "x", "empty"):
        impl.absmax_quantize(torch.zeros(0))
    with raises_naming(ValueError, "dim"):
        impl.absmax_quantize(torch.zeros(2, 3), dim=2)


def test_all_zero_tensor() -> None:
    q, scale = impl.absmax_quantize(torch.zeros(3))
    assert q.tolist() == [0, 0, 0] and float(scale) > 0
    q, scale, _ = impl.zeropoint_quantize(torch.zeros(2, 2), dim=0)
    assert q.tolist() == [[0, 0], [0, 0]] and bool((scale > 0).all())


# ---------------------------------------------------------------- figures


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_figures(lang: str) -> None:
    import matplotlib.figure

    from figures.llm.memory import draw_zero_stages

    fig = draw_zero_stages(lang)
    assert isinstance(fig, matplotlib.figure.Figure)
    assert len(fig.axes) >= 1
