"""LLM arithmetic: parameters, KV cache, training memory (ZeRO), FLOPs, activations, int8.

Conventions:

* a model config is any object with the attribute names of ``transformers.LlamaConfig``
  (``vocab_size``, ``hidden_size``, ``intermediate_size``, ``num_hidden_layers``,
  ``num_attention_heads``, ``num_key_value_heads``, ``head_dim``, ``tie_word_embeddings``,
  ``attention_bias``, ``mlp_bias``); nothing here imports ``transformers``;
* sizes are in bytes, FLOPs count 2 per multiply-add (as ``torch.utils.flop_counter``);
* int8 quantisation is per tensor unless ``dim`` is given, rounds half to even
  (``torch.round``, like ``torch.quantize_per_tensor``) and clamps to the integer range.
"""

from __future__ import annotations

import torch
from torch import Tensor

from snippets.transformer.kv_cache import kv_cache_size


def _check_int(value: object, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int >= {minimum}, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, got {value}")
    return value


def _config_int(config: object, name: str, minimum: int = 1) -> int:
    if not hasattr(config, name):
        raise TypeError(
            f"config must have the attributes of a LlamaConfig; it has no {name!r} "
            f"({type(config).__name__})"
        )
    return _check_int(getattr(config, name), f"config.{name}", minimum)


def _attention_shape(config: object) -> tuple[int, int, int, int]:
    """``(hidden, heads, kv_heads, head_dim)``; ``None`` fields fall back as in LlamaConfig."""
    hidden = _config_int(config, "hidden_size")
    heads = _config_int(config, "num_attention_heads")
    kv_heads = getattr(config, "num_key_value_heads", None)
    kv_heads = heads if kv_heads is None else _check_int(kv_heads, "config.num_key_value_heads", 1)
    if heads % kv_heads:
        raise ValueError(
            f"config.num_attention_heads must be divisible by config.num_key_value_heads, "
            f"got {heads} and {kv_heads}"
        )
    head_dim = getattr(config, "head_dim", None)
    head_dim = hidden // heads if head_dim is None else _check_int(head_dim, "config.head_dim", 1)
    return hidden, heads, kv_heads, head_dim


# --8<-- [start:params]
def llama_parameter_count(config: object) -> int:
    """Parameters of ``LlamaForCausalLM(config)``, from the config alone.

    Args:
        config: a ``LlamaConfig`` or any object with the same attribute names.

    Returns:
        The number of parameters (a tied output head counted once).

    Examples:
        >>> from types import SimpleNamespace as NS
        >>> llama2_7b = NS(vocab_size=32000, hidden_size=4096, intermediate_size=11008,
        ...     num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=32)
        >>> llama_parameter_count(llama2_7b)
        6738415616
    """
    e, h, h_kv, d = _attention_shape(config)
    vocab = _config_int(config, "vocab_size")
    ffn = _config_int(config, "intermediate_size")
    layers = _config_int(config, "num_hidden_layers", 0)
    attn_bias = bool(getattr(config, "attention_bias", False))
    mlp_bias = bool(getattr(config, "mlp_bias", False))
    # q and o are E x (H D); k and v are E x (H_kv D): GQA shrinks only k and v.
    attention = 2 * e * h * d + 2 * e * h_kv * d
    attention += attn_bias * (h * d + 2 * h_kv * d + e)  # biases of q, k, v, o
    # SwiGLU: gate and up are E -> F, down is F -> E: three matrices, not two.
    mlp = 3 * e * ffn + mlp_bias * (2 * ffn + e)  # biases of gate, up, down
    norms = 2 * e  # input_layernorm + post_attention_layernorm (RMSNorm: a weight only)
    embedding = vocab * e
    # A tied head reuses the embedding matrix: it adds no parameters.
    head = 0 if getattr(config, "tie_word_embeddings", False) else vocab * e
    return embedding + layers * (attention + mlp + norms) + e + head  # + e: final norm


# --8<-- [end:params]


def matmul_parameter_count(config: object) -> int:
    """Weights used in matrix products per token: every linear layer and the output head.

    The embedding lookup and the norms multiply nothing; a tied head is a matmul again.

    Args:
        config: as for :func:`llama_parameter_count` (no biases assumed).

    Returns:
        Parameter count.

    Examples:
        >>> from types import SimpleNamespace as NS
        >>> cfg = NS(vocab_size=10, hidden_size=4, intermediate_size=6, num_hidden_layers=1,
        ...     num_attention_heads=2, num_key_value_heads=1)
        >>> matmul_parameter_count(cfg)  # q, o 16 each + k, v 8 each + mlp 72 + head 40
        160
    """
    e, h, h_kv, d = _attention_shape(config)
    layers = _config_int(config, "num_hidden_layers", 0)
    per_layer = 2 * e * h * d + 2 * e * h_kv * d + 3 * e * _config_int(config, "intermediate_size")
    return layers * per_layer + _config_int(config, "vocab_size") * e


# --8<-- [start:kv]
def kv_cache_bytes(
    config: object, batch_size: int, seq_len: int, bytes_per_element: int = 2
) -> int:
    """KV cache of a Llama-style model: ``kv_cache_size`` read from a config.

    Args:
        config: a ``LlamaConfig`` or an object with the same attribute names.
        batch_size: ``B`` sequences.
        seq_len: ``S`` cached tokens per sequence.
        bytes_per_element: 2 for fp16/bf16.

    Returns:
        ``2 * L * H_kv * D * B * S * bytes_per_element``.

    Examples:
        >>> from types import SimpleNamespace as NS
        >>> llama3_8b = NS(hidden_size=4096, num_hidden_layers=32,
        ...     num_attention_heads=32, num_key_value_heads=8)
        >>> kv_cache_bytes(llama3_8b, 1, 8192) / 2**30  # GQA-8: a quarter of MHA
        1.0
    """
    _, _, h_kv, d = _attention_shape(config)
    layers = _config_int(config, "num_hidden_layers")
    return kv_cache_size(layers, h_kv, d, batch_size, seq_len, bytes_per_element)


# --8<-- [end:kv]


# --8<-- [start:zero]
def zero_memory_bytes(num_params: int, num_gpus: int = 1, stage: int = 0, k: int = 12) -> float:
    """Model-state bytes per GPU with mixed-precision Adam and ZeRO-DP (ZeRO §5, Figure 1).

    Args:
        num_params: ``Psi``, parameters.
        num_gpus: ``N_d``, data-parallel degree.
        stage: 0 (plain DP), 1 (shard optimizer states), 2 (+ gradients), 3 (+ parameters).
        k: optimizer bytes per parameter; 12 = fp32 master copy + momentum + variance.

    Returns:
        Bytes per GPU (activations and buffers not included).

    Examples:
        >>> [round(zero_memory_bytes(7_500_000_000, 64, s) / 1e9, 2) for s in range(4)]
        [120.0, 31.41, 16.64, 1.88]
    """
    psi = _check_int(num_params, "num_params", 0)
    n = _check_int(num_gpus, "num_gpus", 1)
    _check_int(k, "k", 0)
    if stage not in (0, 1, 2, 3):
        raise ValueError(f"stage must be 0, 1, 2 or 3, got {stage!r}")
    weights, grads, optim = 2 * psi, 2 * psi, k * psi  # fp16 weights, fp16 grads, fp32 states
    if stage >= 1:
        optim /= n  # each GPU updates 1/N_d of the parameters: it keeps their states only
    if stage >= 2:
        grads /= n  # ... and needs only the reduced gradients of that slice
    if stage >= 3:
        weights /= n  # fp16 weights gathered layer by layer when needed, then freed
    return weights + grads + optim


# --8<-- [end:zero]


# --8<-- [start:flops]
def forward_flops_per_token(num_params: int) -> int:
    """``2 N``: each weight does one multiply and one add per token (Kaplan §2.1).

    Args:
        num_params: ``N``, weights used in matmuls.

    Returns:
        FLOPs of one forward pass per token (attention scores not included).

    Examples:
        >>> forward_flops_per_token(7_000_000_000) / 1e9
        14.0
    """
    return 2 * _check_int(num_params, "num_params", 0)


def training_flops(num_params: int, num_tokens: int) -> int:
    """``6 N D``: forward ``2N`` + backward ``4N`` per token, ``D`` tokens.

    Args:
        num_params: ``N``.
        num_tokens: ``D``, training tokens.

    Returns:
        FLOPs of training.

    Examples:
        >>> training_flops(7_000_000_000, 2_000_000_000_000) / 1e21  # Llama-2-7B budget
        84.0
    """
    # Backward of y = x W needs dL/dx = dL/dy W^T AND dL/dW = x^T dL/dy: two matmuls
    # of the same size as the forward one, hence 2 x 2N.
    n, d = _check_int(num_params, "num_params", 0), _check_int(num_tokens, "num_tokens", 0)
    return 6 * n * d


# --8<-- [end:flops]


# --8<-- [start:activations]
def activation_bytes(
    seq_len: int,
    batch_size: int,
    hidden_size: int,
    num_heads: int,
    num_layers: int = 1,
    recompute: str = "none",
) -> int:
    """Activations kept for backward by a GPT layer in fp16 (Korthikanti et al. §4.1).

    Args:
        seq_len: ``s``.
        batch_size: ``b`` (micro-batch).
        hidden_size: ``h``.
        num_heads: ``a``.
        num_layers: ``L``.
        recompute: ``"none"``: ``s b h (34 + 5 a s / h)`` per layer; ``"full"``: only
            each layer's fp16 input, ``2 s b h``.

    Returns:
        Bytes (no tensor parallelism).

    Examples:
        >>> activation_bytes(2048, 1, 4096, 32) / 2**20  # 272 MiB + 640 MiB (7B shapes)
        912.0
    """
    s, b = _check_int(seq_len, "seq_len", 0), _check_int(batch_size, "batch_size", 0)
    h, a = _check_int(hidden_size, "hidden_size", 1), _check_int(num_heads, "num_heads", 1)
    layers = _check_int(num_layers, "num_layers", 0)
    if recompute == "full":
        return 2 * s * b * h * layers
    if recompute != "none":
        raise ValueError(f'recompute must be "none" or "full", got {recompute!r}')
    # 34 s b h: linear inputs, GeLU in/out, norms, dropout masks (1 byte each);
    # 5 a s^2 b: softmax output (2), its dropout mask (1) and dropout output (2).
    return (34 * s * b * h + 5 * a * s * s * b) * layers


# --8<-- [end:activations]


def _check_float_tensor(x: object, name: str) -> Tensor:
    if not isinstance(x, Tensor) or not x.is_floating_point():
        got = x.dtype if isinstance(x, Tensor) else type(x).__name__
        raise TypeError(f"{name} must be a floating-point torch.Tensor, got {got}")
    return x


def _absmax(x: Tensor, dim: int | None) -> Tensor:
    """max |x| over the tensor, or per slice along ``dim`` (kept as a broadcastable shape)."""
    if dim is None:
        return x.abs().amax()
    if not -x.ndim <= dim < x.ndim:
        raise ValueError(f"dim must be in [-{x.ndim}, {x.ndim}) for x of shape {tuple(x.shape)}")
    others = [i for i in range(x.ndim) if i != dim % x.ndim]
    # amax(dim=[]) would reduce over ALL dims: a 1-D tensor has one element per channel.
    return x.abs().amax(dim=others, keepdim=True) if others else x.abs()


# --8<-- [start:quant]
def absmax_quantize(x: Tensor, dim: int | None = None) -> tuple[Tensor, Tensor]:
    """Symmetric int8: ``q = clamp(round(x / scale), -127, 127)``, ``scale = max|x| / 127``.

    Args:
        x: float tensor, any shape, not empty.
        dim: ``None`` for one scale per tensor, else one scale per slice along ``dim``.

    Returns:
        ``(q, scale)``: int8 tensor shaped like ``x``; float scale, a scalar or shaped to
        broadcast (size 1 except along ``dim``).

    Examples:
        >>> q, scale = absmax_quantize(torch.tensor([-1.0, 0.5, 2.54]))
        >>> q.tolist(), round(float(scale), 4)
        ([-50, 25, 127], 0.02)
    """
    x = _check_float_tensor(x, "x")
    if x.numel() == 0:
        raise ValueError("x must not be empty")
    amax = _absmax(x, dim)
    # An all-zero slice has no range: any positive scale maps it to 0 exactly.
    scale = torch.where(amax > 0, amax / 127, torch.ones_like(amax))
    # 127, not 255: the sign takes one bit; -128 stays unused so the grid is symmetric.
    q = torch.round(x / scale).clamp(-127, 127)  # round half to even, like torch
    return q.to(torch.int8), scale


def absmax_dequantize(q: Tensor, scale: Tensor) -> Tensor:
    """``x_hat = q * scale``; the error per element is at most ``scale / 2``.

    Args:
        q: int8 tensor from :func:`absmax_quantize`.
        scale: its scale.

    Returns:
        Float tensor shaped like ``q``.

    Examples:
        >>> absmax_dequantize(torch.tensor([-50, 127], dtype=torch.int8), torch.tensor(0.02))
        tensor([-1.0000,  2.5400])
    """
    return q.to(scale.dtype) * scale


def zeropoint_quantize(x: Tensor, dim: int | None = None) -> tuple[Tensor, Tensor, Tensor]:
    """Asymmetric uint8: ``q = clamp(round(x / scale) + z, 0, 255)`` over ``[min, max]``.

    Args:
        x: float tensor, any shape, not empty.
        dim: ``None`` for one scale per tensor, else per slice along ``dim``.

    Returns:
        ``(q, scale, zero_point)``: uint8 tensor; float scale ``(max - min) / 255``; the
        integer (int64) that represents 0.0 exactly.

    Examples:
        >>> q, scale, zp = zeropoint_quantize(torch.tensor([0.0, 1.0, 2.55]))
        >>> q.tolist(), round(float(scale), 4), int(zp)
        ([0, 100, 255], 0.01, 0)
    """
    x = _check_float_tensor(x, "x")
    if x.numel() == 0:
        raise ValueError("x must not be empty")
    if dim is None:
        lo, hi = x.amin(), x.amax()
    else:
        _absmax(x, dim)  # checks dim
        others = [i for i in range(x.ndim) if i != dim % x.ndim]
        lo = x.amin(dim=others, keepdim=True) if others else x
        hi = x.amax(dim=others, keepdim=True) if others else x
    # Widen the range to include 0 (as torch's MinMaxObserver): zero padding and ReLU
    # zeros must be exact, so 0.0 must sit on the integer grid.
    lo, hi = lo.clamp(max=0), hi.clamp(min=0)
    scale = torch.where(hi > lo, (hi - lo) / 255, torch.ones_like(hi))
    zero_point = torch.round(-lo / scale).clamp(0, 255).to(torch.int64)
    q = (torch.round(x / scale) + zero_point).clamp(0, 255)
    return q.to(torch.uint8), scale, zero_point


def zeropoint_dequantize(q: Tensor, scale: Tensor, zero_point: Tensor) -> Tensor:
    """``x_hat = (q - z) * scale``.

    Args:
        q: uint8 tensor from :func:`zeropoint_quantize`.
        scale: its scale.
        zero_point: its zero point.

    Returns:
        Float tensor shaped like ``q``.

    Examples:
        >>> q = torch.tensor([0, 100, 255], dtype=torch.uint8)
        >>> zeropoint_dequantize(q, torch.tensor(0.01), torch.tensor(0)).tolist()
        [0.0, 1.0, 2.549999952316284]
    """
    # int64 first: uint8 arithmetic would wrap around below zero.
    return (q.to(torch.int64) - zero_point).to(scale.dtype) * scale


# --8<-- [end:quant]
