"""What is timed: each op's inputs, its implementations and how their outputs are compared.

The snippet modules are imported lazily, per op, so a missing module or function only marks
its rows "not available" instead of stopping the run.
"""

from __future__ import annotations

import contextlib
import importlib
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

Thunk = Callable[[], object]


@dataclass(frozen=True)
class Op:
    name: str  # key in results.json
    anchor: str  # heading id of the op on the benchmark page
    module: str  # snippet module
    impls: tuple[tuple[str, str], ...]  # (impl, function) in the snippet, slowest first
    library: str  # "package.module:function"
    sizes: dict[str, tuple[int, ...]]  # per profile
    exponents: dict[str, float]  # impl -> growth of time with size, to skip hopeless naive runs
    setup: Callable[[int], Any]  # size -> inputs
    call: Callable[[str, Callable[..., Any], Any], Thunk]  # (impl, fn, inputs) -> thunk
    same: Callable[[Any, Any], bool]  # (output, library output) -> agree?
    label: Callable[[int], str]  # size -> human-readable case
    kernel: Callable[[Any], str | None] | None = None  # inputs -> the library's internal kernel
    memory: Callable[[Thunk], int] | None = None  # thunk -> peak bytes allocated by one call


def _resolve(path: str) -> Callable[..., Any]:
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def snippet_functions(op: Op) -> tuple[dict[str, Callable[..., Any]], dict[str, str]]:
    """The snippet's implementations that exist now, and a note for each one that does not."""
    found: dict[str, Callable[..., Any]] = {}
    missing: dict[str, str] = {}
    try:
        module = importlib.import_module(op.module)
    except Exception as exc:  # a module being written may not import yet
        note = f"not available: {op.module} does not import ({type(exc).__name__}: {exc})"
        return {}, {impl: note for impl, _ in op.impls}
    for impl, name in op.impls:
        fn = getattr(module, name, None)
        if callable(fn):
            found[impl] = fn
        else:
            missing[impl] = f"not available: {op.module}.{name} does not exist yet"
    return found, missing


def library_function(op: Op) -> Callable[..., Any]:
    return _resolve(op.library)


def function_name(op: Op, impl: str) -> str:
    if impl == "library":
        return op.library.replace(":", ".")
    return f"{op.module}.{dict(op.impls)[impl]}"


# --------------------------------------------------------------------------- detection inputs


def clustered_boxes(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` float32 boxes in clusters of about eight near-duplicates, and distinct scores.

    Boxes of one cluster overlap heavily (IoU mostly above 0.5), so greedy NMS really suppresses
    and keeps roughly one box per cluster, as on a detector's raw output.
    """
    g = torch.Generator().manual_seed(seed)
    clusters = max(1, n // 8)
    centre = torch.rand(clusters, 2, generator=g) * 1000
    size = 20 + torch.rand(clusters, 2, generator=g) * 80
    which = torch.randint(0, clusters, (n,), generator=g)
    c = centre[which] + torch.randn(n, 2, generator=g) * size[which] * 0.1
    wh = size[which] * (1 + 0.1 * torch.randn(n, 2, generator=g)).clamp(min=0.5)
    boxes = torch.cat([c - wh / 2, c + wh / 2], dim=1).clamp(min=0)
    scores = (torch.randperm(n, generator=g).float() + 1) / n  # distinct: no ties to break
    return boxes, scores


def _nms_setup(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    return clustered_boxes(n, seed=n)


def _nms_call(impl: str, fn: Callable[..., Any], x: Any) -> Thunk:
    boxes, scores = x
    return lambda: fn(boxes, scores, 0.5)


def _batched_setup(n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    boxes, scores = clustered_boxes(n, seed=n + 1)
    idxs = torch.randint(0, 4, (n,), generator=torch.Generator().manual_seed(n))  # four classes
    return boxes, scores, idxs


def _batched_call(impl: str, fn: Callable[..., Any], x: Any) -> Thunk:
    boxes, scores, idxs = x
    return lambda: fn(boxes, scores, idxs, 0.5)


def _same_keep(out: Any, ref: Any) -> bool:
    return torch.equal(torch.as_tensor(out).long(), torch.as_tensor(ref).long())


def _iou_setup(n: int) -> tuple[torch.Tensor, torch.Tensor]:
    a, _ = clustered_boxes(n, seed=n)
    b, _ = clustered_boxes(n, seed=n + 7)
    return a, b


def _iou_call(impl: str, fn: Callable[..., Any], x: Any) -> Thunk:
    a, b = x
    return lambda: fn(a, b)


def _same_close(out: Any, ref: Any) -> bool:
    out, ref = torch.as_tensor(out), torch.as_tensor(ref)
    return out.shape == ref.shape and torch.allclose(out.float(), ref.float(), rtol=1e-4, atol=1e-5)


# --------------------------------------------------------------------------- backbone inputs


def _conv_setup(c_in: int) -> Callable[[int], Any]:
    def setup(h: int) -> dict[str, Any]:
        rng = np.random.default_rng(h * 100 + c_in)
        x = rng.standard_normal((1, c_in, h, h), dtype=np.float32)
        w = rng.standard_normal((64, c_in, 3, 3), dtype=np.float32)
        w *= np.float32(1 / np.sqrt(c_in * 9))  # keep float32: F.conv2d wants one dtype
        return {"np": (x, w), "torch": (torch.from_numpy(x), torch.from_numpy(w))}

    return setup


def _conv_call(impl: str, fn: Callable[..., Any], x: Any) -> Thunk:
    inp, weight = x["torch" if impl == "library" else "np"]
    return lambda: fn(inp, weight, None, stride=1, padding=1)


def _same_conv(out: Any, ref: Any) -> bool:
    out, ref = np.asarray(out), ref.numpy()
    return out.shape == ref.shape and bool(np.allclose(out, ref, rtol=1e-3, atol=1e-4))


@contextlib.contextmanager
def _quiet_stderr() -> Iterator[None]:
    """Silence the profiler's C++ start/stop lines, which bypass Python's sys.stderr."""
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


CONV_KERNELS = ("aten::mkldnn_convolution", "aten::_slow_conv2d_forward", "aten::thnn_conv2d")


def _conv_kernel(x: Any) -> str | None:
    """Which ATen kernel ``F.conv2d`` ran for these inputs (it picks one by size and dtype)."""
    inp, weight = x["torch"]
    try:
        with _quiet_stderr(), torch.autograd.profiler.profile(use_kineto=False) as prof:
            torch.nn.functional.conv2d(inp, weight, None, stride=1, padding=1)
    except Exception:  # the profiler is a diagnostic: never fail a benchmark for it
        return None
    names = [event.name for event in prof.function_events]
    return next((k for k in CONV_KERNELS if k in names), None)


def _pos_setup(new: int) -> tuple[torch.Tensor, list[int]]:
    g = torch.Generator().manual_seed(new)
    # ViT-B/16 at 224 px: a class token + a 14x14 grid of 768-d embeddings, resized to new x new.
    return torch.randn(1, 1 + 14 * 14, 768, generator=g), [new, new]


def _pos_call(impl: str, fn: Callable[..., Any], x: Any) -> Thunk:
    posemb, new_size = x
    return lambda: fn(posemb, new_size=new_size, old_size=[14, 14], num_prefix_tokens=1)


# --------------------------------------------------------------------------- attention inputs

ATTENTION_BLOCK = 256  # tile side of the tiled implementation: 256 KB score tiles in float32


def _attention_setup(n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One head of a [1, 1, N, 64] float32 self-attention, causal (a decoder's prefill)."""
    g = torch.Generator().manual_seed(n)
    q, k, v = torch.randn(3, 1, 1, n, 64, generator=g)
    return q, k, v


def _attention_call(impl: str, fn: Callable[..., Any], x: Any) -> Thunk:
    q, k, v = x
    if impl == "tiled":
        return lambda: fn(q, k, v, is_causal=True, block_size=ATTENTION_BLOCK)
    return lambda: fn(q, k, v, is_causal=True)


def _same_attention(out: Any, ref: Any) -> bool:
    return out.shape == ref.shape and bool(torch.allclose(out, ref, rtol=1e-4, atol=1e-5))


def _sdpa_kernel(x: Any) -> str | None:
    """Which ATen kernel ``F.scaled_dot_product_attention`` ran (on CPU: a flash kernel or math)."""
    q, k, v = x
    try:
        with _quiet_stderr(), torch.autograd.profiler.profile(use_kineto=False) as prof:
            torch.nn.functional.scaled_dot_product_attention(q, k, v, is_causal=True)
    except Exception:  # diagnostic only
        return None
    names = [e.name for e in prof.function_events if e.name.startswith("aten::_scaled_dot")]
    return names[0] if names else None


def peak_bytes(thunk: Thunk) -> int:
    """Peak bytes the CPU allocator holds for one call, above what was allocated before it.

    ``torch.profiler`` with ``profile_memory=True`` records every allocation and free of
    c10's CPU allocator (the kernels' internal buffers included) with a time stamp; the running
    sum of those sizes, in time order, peaks at the call's high-water mark. The output counts
    (it is allocated during the call); the inputs, allocated before, do not.
    """
    activities = [torch.profiler.ProfilerActivity.CPU]
    with _quiet_stderr(), torch.profiler.profile(activities=activities, profile_memory=True) as p:
        out = thunk()
        del out  # frees after the peak do not change it
    events = [e for e in p.profiler.kineto_results.events() if e.name() == "[memory]"]
    current = peak = 0
    for event in sorted(events, key=lambda e: e.start_ns()):
        current += event.nbytes()  # negative for a free
        peak = max(peak, current)
    return peak


# --------------------------------------------------------------------------- the ops

PROFILES = ("full", "quick", "tiny")

OPS: tuple[Op, ...] = (
    Op(
        name="nms",
        anchor="nms",
        module="snippets.detection.nms",
        impls=(("naive", "nms_naive"), ("fast", "nms")),
        library="torchvision.ops:nms",
        sizes={"full": (100, 300, 1000, 3000, 10000), "quick": (100, 1000), "tiny": (30, 100)},
        exponents={"naive": 2.0},
        setup=_nms_setup,
        call=_nms_call,
        same=_same_keep,
        label=lambda n: f"N={n}",
    ),
    Op(
        name="batched_nms",
        anchor="nms",
        module="snippets.detection.nms",
        impls=(("per_class", "batched_nms_per_class"), ("fast", "batched_nms")),
        library="torchvision.ops:batched_nms",
        sizes={"full": (300, 1000, 3000, 10000), "quick": (1000,), "tiny": (100,)},
        exponents={},
        setup=_batched_setup,
        call=_batched_call,
        same=_same_keep,
        label=lambda n: f"N={n}, 4 classes",
    ),
    Op(
        name="box_iou",
        anchor="box-iou",
        module="snippets.detection.iou",
        impls=(("naive", "box_iou_naive"), ("fast", "box_iou")),
        library="torchvision.ops:box_iou",
        sizes={
            "full": (10, 30, 100, 300, 1000, 2000),
            "quick": (10, 300),
            "tiny": (10, 30),
        },
        exponents={"naive": 2.0},
        setup=_iou_setup,
        call=_iou_call,
        same=_same_close,
        label=lambda n: f"N=M={n}",
    ),
    Op(
        name="conv2d",
        anchor="conv2d",
        module="snippets.backbone.conv_numpy",
        impls=(("naive", "conv2d_naive"), ("fast", "conv2d")),
        library="torch.nn.functional:conv2d",
        sizes={"full": (8, 16, 32, 56, 64, 128), "quick": (8, 32), "tiny": (4, 8)},
        exponents={"naive": 2.0},
        setup=_conv_setup(3),
        call=_conv_call,
        same=_same_conv,
        label=lambda h: f"3→64, {h}×{h}",
        kernel=_conv_kernel,
    ),
    Op(
        name="conv2d_c64",
        anchor="conv2d",
        module="snippets.backbone.conv_numpy",
        impls=(("naive", "conv2d_naive"), ("fast", "conv2d")),
        library="torch.nn.functional:conv2d",
        sizes={"full": (7, 14, 28, 56), "quick": (56,), "tiny": (8,)},
        exponents={"naive": 2.0},
        setup=_conv_setup(64),
        call=_conv_call,
        same=_same_conv,
        label=lambda h: f"64→64, {h}×{h}",
        kernel=_conv_kernel,
    ),
    Op(
        name="pos_embed",
        anchor="pos-embed",
        module="snippets.backbone.vit",
        impls=(("fast", "resample_abs_pos_embed"),),
        library="timm.layers:resample_abs_pos_embed",
        sizes={"full": (16, 24, 32), "quick": (24,), "tiny": (16,)},
        exponents={},
        setup=_pos_setup,
        call=_pos_call,
        same=_same_close,
        label=lambda s: f"14×14→{s}×{s}, D=768",
    ),
    Op(
        name="attention",
        anchor="attention",
        module="snippets.transformer.flash_attention",
        impls=(("naive", "attention_naive"), ("tiled", "flash_attention")),
        library="torch.nn.functional:scaled_dot_product_attention",
        sizes={"full": (1024, 2048, 4096, 8192), "quick": (512, 1024), "tiny": (64, 300)},
        exponents={},  # never skip naive: its peak memory at N = 8192 is the point (~5 s/call)
        setup=_attention_setup,
        call=_attention_call,
        same=_same_attention,
        label=lambda n: f"N={n}, 1 head, d=64, causal",
        kernel=_sdpa_kernel,
        memory=peak_bytes,
    ),
)


@dataclass(frozen=True)
class Target:
    op: str
    impl: str
    size: int | None  # None: the worst ratio over every measured size
    max_ratio: float


TARGETS: tuple[Target, ...] = (
    Target("nms", "fast", 1000, 3.0),
    Target("box_iou", "fast", None, 2.0),
    Target("conv2d_c64", "fast", 56, 5.0),
)
