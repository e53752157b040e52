"""Practice mode (手撕练习): write the function yourself, then grade it with the handbook's tests.

    nox -s practice                      # list the topics
    nox -s practice -- nms               # write practice/nms.py: signatures + docstrings only
    nox -s practice -- nms --check       # run tests/detection/test_nms.py against your file
    nox -s practice -- nms --check --lang zh
    nox -s practice -- nms --watch       # grade on every save (libraries stay loaded)

    nox -s practice -- nms --check --strict   # + the library-exact checks, every seeded case

The tests reach functions through ``tests.support.under_test``; with the environment variables
set below, the practised names resolve to the reader's file, everything else to the snippet.
Only tests that actually call a practised function are reported.

``--check`` grades the interview contract that the template states: the values, shapes and
dtypes the docstring describes, and the error type (naming the argument) for bad input, on a
twentieth of the seeded cases (``HANDBOOK_QUICK``), so it answers in seconds. ``--strict``
adds the checks that pin a library's exact behaviour (``STRICT_TESTS`` below, or
``@pytest.mark.strict`` in a test file), the full expected error text, and every seeded case.

The grader is for self-study, not for assessment: the attempt runs in the test process with
the reader's own rights, so it could import the answer or rewrite the results file. It warns
when a practised function is the handbook's own, and cannot stop deliberate forging.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRACTICE_DIR = ROOT / "practice"
SHOWN_IN_FULL = 3  # failing checks whose message is printed in full (30 lines); the rest: 12
# Seconds (wall clock, so generous on a loaded machine): an endless loop must not hang the session.
TIMEOUT = {"check": 300, "strict": 1800}


@dataclass(frozen=True)
class Topic:
    module: str  # dotted snippet module
    functions: tuple[str, ...]  # what the reader writes
    page_topic: str = ""  # the page, when a topic's code is split over modules (default: module)
    # Names of the snippet that compute (most of) the answer under another name: never handed out.
    # Twins named after a practised function (nms_naive, conv2d for conv2d_naive) are found alone.
    withhold: tuple[str, ...] = ()

    @property
    def source(self) -> Path:
        return ROOT / (self.module.replace(".", "/") + ".py")

    @property
    def tests(self) -> Path:
        _, chapter, name = self.module.split(".")
        return ROOT / "tests" / chapter / f"test_{name}.py"

    @property
    def page(self) -> str:
        _, chapter, name = self.module.split(".")
        return f"{chapter}/{self.page_topic or name}.md"


# One line per topic: name -> (snippet module, functions the reader writes).
REGISTRY: dict[str, Topic] = {
    "receptive_field": Topic("snippets.backbone.receptive_field", ("receptive_field",)),
    "conv2d": Topic("snippets.backbone.conv_numpy", ("conv2d",), withhold=("im2col",)),
    "conv2d_naive": Topic("snippets.backbone.conv_numpy", ("conv2d_naive",)),
    "iou_pair": Topic("snippets.detection.iou", ("iou_pair",)),
    "box_iou": Topic("snippets.detection.iou", ("box_iou",), withhold=("_box_inter_union",)),
    "nms": Topic("snippets.detection.nms", ("nms",)),
    "batched_nms": Topic("snippets.detection.nms", ("batched_nms",)),
    "sigmoid_focal_loss": Topic("snippets.detection.focal_loss", ("sigmoid_focal_loss",)),
    "patchify": Topic("snippets.selfsup.mae", ("patchify", "unpatchify")),
    "random_masking": Topic("snippets.selfsup.mae", ("random_masking",)),
    "dino_loss": Topic("snippets.selfsup.dino", ("dino_loss",)),
    "nt_xent_loss": Topic("snippets.selfsup.contrastive", ("nt_xent_loss",)),
    "clip_loss": Topic("snippets.selfsup.contrastive", ("clip_loss",)),
    "info_nce_loss": Topic("snippets.selfsup.contrastive", ("info_nce_loss",)),
    "scaled_dot_product_attention": Topic(
        "snippets.transformer.attention", ("scaled_dot_product_attention",)
    ),
    "attention_naive": Topic("snippets.transformer.attention", ("attention_naive",)),
    "repeat_kv": Topic("snippets.transformer.kv_cache", ("repeat_kv",)),
    "decode_step": Topic("snippets.transformer.kv_cache", ("cached_attention", "decode_step")),
    "rope": Topic("snippets.transformer.rope", ("rotate_half", "apply_rotary_pos_emb")),
    "rope_cos_sin": Topic("snippets.transformer.rope", ("rope_inv_freq", "rope_cos_sin")),
    "pre_norm_block": Topic("snippets.transformer.transformer_block", ("pre_norm_block",)),
    "swiglu": Topic("snippets.transformer.transformer_block", ("swiglu",)),
    "online_softmax": Topic("snippets.transformer.flash_attention", ("online_softmax",)),
    "flash_attention": Topic(
        "snippets.transformer.flash_attention", ("flash_attention_forward", "flash_attention")
    ),
    "softmax": Topic("snippets.fundamentals.softmax_cross_entropy", ("softmax", "log_softmax")),
    "cross_entropy": Topic("snippets.fundamentals.softmax_cross_entropy", ("cross_entropy",)),
    "layer_norm": Topic("snippets.fundamentals.normalization", ("layer_norm",)),
    "batch_norm": Topic("snippets.fundamentals.normalization", ("batch_norm",)),
    # normalized_backward is the whole formula: practised too, or the template would hand it out.
    "layer_norm_backward": Topic(
        "snippets.fundamentals.normalization_backward",
        ("normalized_backward", "layer_norm_backward"),
        page_topic="normalization",
    ),
    "mlp_backward": Topic("snippets.fundamentals.backprop", ("mlp_backward",)),
    "numerical_gradient": Topic("snippets.fundamentals.backprop", ("numerical_gradient",)),
    "dropout": Topic("snippets.fundamentals.dropout_activations", ("dropout",)),
    "gelu": Topic("snippets.fundamentals.dropout_activations", ("gelu",)),
    "adam_step": Topic("snippets.fundamentals.optimizers", ("adam_step",)),
    "sgd_step": Topic("snippets.fundamentals.optimizers", ("sgd_step",)),
    "clip_grad_norm_": Topic("snippets.fundamentals.optimizers", ("clip_grad_norm_",)),
    "lora_forward": Topic("snippets.llm.lora", ("lora_forward",)),
    "merge_lora_weight": Topic("snippets.llm.lora", ("merge_lora_weight",)),
    "lora": Topic(
        "snippets.llm.lora",
        ("lora_init", "lora_scaling", "lora_forward", "merge_lora_weight", "lora_num_parameters"),
    ),
    "dpo_loss": Topic("snippets.llm.alignment", ("dpo_loss",)),
    "sequence_logps": Topic("snippets.llm.alignment", ("sequence_logps",)),
    "compute_gae": Topic("snippets.llm.alignment", ("compute_gae",)),
    "grpo_advantages": Topic("snippets.llm.alignment", ("grpo_advantages",)),
    "top_k_logits": Topic("snippets.llm.decoding", ("top_k_logits",)),
    "top_p_logits": Topic("snippets.llm.decoding", ("top_p_logits",)),
    "repetition_penalty": Topic("snippets.llm.decoding", ("repetition_penalty_logits",)),
    "bpe_merge": Topic("snippets.llm.tokenizer", ("get_pair_counts", "merge_pair")),
    "bpe_train": Topic("snippets.llm.tokenizer", ("bpe_train",)),
    "bpe_encode": Topic("snippets.llm.tokenizer", ("bpe_encode", "bpe_decode")),
    "moe_routing": Topic("snippets.llm.moe", ("topk_routing",)),
    "load_balancing_loss": Topic("snippets.llm.moe", ("load_balancing_loss",)),
    "llama_parameter_count": Topic("snippets.llm.memory", ("llama_parameter_count",)),
    "zero_memory_bytes": Topic("snippets.llm.memory", ("zero_memory_bytes",)),
    "int8_quantize": Topic(
        "snippets.llm.memory",
        ("absmax_quantize", "absmax_dequantize", "zeropoint_quantize", "zeropoint_dequantize"),
    ),
    "roc_auc_score": Topic("snippets.ml.metrics", ("roc_auc_score",)),
    "auc_rank": Topic("snippets.ml.metrics", ("auc_rank",)),
    "auc_pairwise": Topic("snippets.ml.metrics", ("auc_pairwise",)),
    "precision_recall_f1": Topic("snippets.ml.metrics", ("precision_recall_f1",)),
    "kmeans": Topic("snippets.ml.kmeans", ("assign_labels", "update_centers", "kmeans")),
    "kmeans_plusplus": Topic("snippets.ml.kmeans", ("kmeans_plusplus",)),
    "logistic_sigmoid": Topic("snippets.ml.logistic_regression", ("sigmoid", "log_loss")),
    "logistic_gradient": Topic("snippets.ml.logistic_regression", ("gradient",)),
    "logistic_gd": Topic("snippets.ml.logistic_regression", ("gradient", "fit_gd")),
    "logistic_newton": Topic("snippets.ml.logistic_regression", ("hessian", "fit_newton")),
    "pca": Topic("snippets.ml.pca", ("pca",)),
    "pca_eig": Topic("snippets.ml.pca", ("pca_eig",)),
    "pca_transform": Topic("snippets.ml.pca", ("transform", "inverse_transform")),
    "match_detections": Topic("snippets.detection.map", ("_greedy_match", "match_detections")),
    "average_precision": Topic(
        "snippets.detection.map", ("precision_recall", "precision_envelope", "average_precision")
    ),
    "mean_average_precision": Topic("snippets.detection.map", ("mean_average_precision",)),
    "bilinear_interpolate": Topic("snippets.detection.roi_align", ("bilinear_interpolate",)),
    "roi_align": Topic(
        "snippets.detection.roi_align", ("sample_bilinear", "roi_align_grid", "roi_align")
    ),
    "roi_pool": Topic("snippets.detection.roi_align", ("roi_pool_bins", "roi_pool")),
    "box_coder": Topic("snippets.detection.label_assignment", ("encode_boxes", "decode_boxes")),
    "match_anchors": Topic("snippets.detection.label_assignment", ("match_anchors",)),
    "linear_sum_assignment": Topic(
        "snippets.detection.label_assignment", ("linear_sum_assignment",)
    ),
    "add_noise": Topic("snippets.generative.diffusion", ("add_noise",)),
    "make_beta_schedule": Topic("snippets.generative.diffusion", ("make_beta_schedule",)),
    "ddpm_step": Topic("snippets.generative.diffusion", ("ddpm_step",)),
    "ddim_step": Topic("snippets.generative.diffusion", ("ddim_step",)),
    "reparameterize": Topic("snippets.generative.vae", ("reparameterize",)),
    "gaussian_kl": Topic("snippets.generative.vae", ("gaussian_kl",)),
    "vae_loss": Topic("snippets.generative.vae", ("gaussian_kl", "vae_loss")),
}

# Tests that pin a library-exact detail rather than the interview contract: `--check` leaves
# them out, `--check --strict` runs them. Key: the test file; value: test function name -> what
# it pins. A contributor lists a new one here, or marks it `@pytest.mark.strict` in the test file.
STRICT_TESTS: dict[str, dict[str, str]] = {
    "tests/detection/test_nms.py": {
        "test_threshold_compared_in_float64_like_torchvision": (
            "torchvision compares a float32 IoU with the float64 threshold (1/3 suppresses)"
        ),
        "test_ties_follow_documented_rule_and_torchvision_is_a_valid_greedy": (
            "equal scores: the lower index first (a stable sort)"
        ),
        "test_zero_area_duplicates_never_suppress": (
            "two zero-area boxes: IoU 0/0 = NaN, and NaN > threshold is False (both kept)"
        ),
        "test_nms_small_integer_boxes_property": (
            "integer boxes: float32 IoUs exactly on the threshold, zero-area boxes, ties"
        ),
        "test_threshold_accepts_numpy_scalars_and_0d_tensors": (
            "iou_threshold given as np.float32(0.5) or torch.tensor(0.5) is accepted"
        ),
        "test_batched_nms_reliability_reproducers": (
            "float16 offsets, torchvision's 1,000-box switch and its float32 rounding"
        ),
        "test_batched_nms_per_class_matches_torchvision_large": (
            "above 1,000 boxes torchvision loops over classes (exact, negative coordinates)"
        ),
    },
}

TEXT = {
    "zh": {
        "topics": "可练习的主题（nox -s practice -- <主题>）：",
        "exists": "{path} 已存在，没有覆盖。想重新开始请加 --force；写完后运行：nox -s practice -- {topic} --check",
        "wrote": "已生成 {path}。实现其中的函数（删掉 raise NotImplementedError），然后运行：\n  nox -s practice -- {topic} --check",
        "missing": "还没有练习文件 {path}。先运行：nox -s practice -- {topic}",
        "unknown": "没有这个主题：{topic}。可选：{names}",
        "none": "测试没有调用你的函数 {funcs}：请检查函数名是否与模板一致。",
        "fail": "✗ {n}/{t} 项检查未通过（{file}）：",
        "pass": "✓ 全部 {t} 项检查通过！检查了：",
        "notimpl": "尚未实现（NotImplementedError）",
        "case": "  ✗ {name}",
        "ok": "  ✓ {name}",
        "syntax": "✗ {file} 第 {line} 行有语法错误：{msg}",
        "died": "✗ 测试进程没有留下结果就结束了（你的文件调用了 exit() 或 os._exit() 吗？）：{cmd}",
        "import": "✗ 导入 {file} 时出错（测试还没开始）：",
        "timeout": "✗ {t} 秒内没有跑完：是不是有死循环？",
        "warn": "⚠ 注意：{msg}；这样通过不代表你会写。",
        "strict": "（另有 {n} 项对齐库实现细节的检查未运行，加 --strict 运行它们。）",
        "quick": "（只跑了每个随机循环 1/20 的用例；--strict 跑全部。）",
        "watching": "— {time} 评完（{s:.1f} 秒）。保存 {file} 会重新评分（Ctrl-C 退出）…",
        "loading": "正在加载测试要用的库（只在第一次）…",
    },
    "en": {
        "topics": "Topics you can practise (nox -s practice -- <topic>):",
        "exists": "{path} exists and was left alone. Add --force to start over; when done: nox -s practice -- {topic} --check",
        "wrote": "Wrote {path}. Implement its functions (remove the raise NotImplementedError), then run:\n  nox -s practice -- {topic} --check",
        "missing": "No practice file {path} yet. First run: nox -s practice -- {topic}",
        "unknown": "No such topic: {topic}. Choose from: {names}",
        "none": "No test called your function(s) {funcs}: check the names match the template.",
        "fail": "✗ {n} of {t} checks failed ({file}):",
        "pass": "✓ All {t} checks passed! Checked:",
        "notimpl": "not implemented yet (NotImplementedError)",
        "case": "  ✗ {name}",
        "ok": "  ✓ {name}",
        "syntax": "✗ {file}, line {line}: syntax error: {msg}",
        "died": "✗ the test process ended without a report (does your file call exit()?): {cmd}",
        "import": "✗ {file} raised an error when imported (no test ran yet):",
        "timeout": "✗ did not finish in {t} s: an endless loop?",
        "warn": "⚠ Note: {msg}; a pass then says nothing about your own code.",
        "strict": "({n} more check(s) pin a library's exact behaviour; --strict runs them.)",
        "quick": "(a twentieth of every seeded loop ran; --strict runs all of them.)",
        "watching": "— graded at {time} in {s:.1f} s. Save {file} to grade it again (Ctrl-C to stop)…",
        "loading": "Loading the libraries the tests use (once)…",
    },
}


# ------------------------------------------------------------------------------ template


CONTRACT = {
    "en": """What `--check` grades (the interview contract):
  * the values, shapes and dtypes the docstring below describes, on the handbook's tests
    (floats to atol 1e-6 / rtol 1e-5 unless a test says otherwise);
  * bad input raises TypeError for a wrong type (a plain list or a NumPy array where a tensor
    is expected) and ValueError for a wrong shape or value, and the message names the
    argument.{checks}
`--check --strict` adds every seeded case and the full expected error text{strict}.""",
}


def _top_level(tree: ast.Module) -> dict[str, ast.stmt]:
    names: dict[str, ast.stmt] = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            names[node.name] = node
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update({t.id: node for t in targets if isinstance(t, ast.Name)})
    return names


def equivalents(topic_name: str) -> list[str]:
    """Functions of the snippet that compute a practised function's answer under another name."""
    topic = REGISTRY[topic_name]
    tree = ast.parse(topic.source.read_text(encoding="utf-8"))
    found = list(topic.withhold)
    for node in tree.body:
        if not isinstance(node, ast.FunctionDef) or node.name in topic.functions:
            continue
        for f in topic.functions:  # nms_naive for nms, conv2d for conv2d_naive
            if node.name.startswith(f + "_") or f.startswith(node.name + "_"):
                found.append(node.name)
                break
    return list(dict.fromkeys(found))


def helpers(topic_name: str) -> list[str]:
    """What the template hands out: the snippet names the reference of the practised functions
    uses directly (input checks, constants, types, other topics' building blocks), minus the
    equivalents. Nothing else, so the easy path is never "call the handbook's twin"."""
    topic = REGISTRY[topic_name]
    tree = ast.parse(topic.source.read_text(encoding="utf-8"))
    top = _top_level(tree)
    hidden = set(equivalents(topic_name)) | set(topic.functions)
    used: dict[str, None] = {}
    for f in topic.functions:
        for node in ast.walk(top[f]):
            if isinstance(node, ast.Name) and node.id in top and node.id not in hidden:
                used[node.id] = None
    return [name for name in top if name in used]  # in the module's order


def strict_tests(topic_name: str) -> dict[str, str]:
    topic = REGISTRY[topic_name]
    return STRICT_TESTS.get(topic.tests.relative_to(ROOT).as_posix(), {})


def template(topic_name: str) -> str:
    """The practice file: the contract, the imports, the helpers, and empty practised functions."""
    topic = REGISTRY[topic_name]
    source = topic.source.read_text(encoding="utf-8")
    tree = ast.parse(source)
    lines = source.splitlines()
    offered, hidden = helpers(topic_name), equivalents(topic_name)
    strict = strict_tests(topic_name)
    checks = [name for name in offered if name.startswith("_check")]
    checks = (
        " The input checks imported below raise exactly these: call them first." if checks else ""
    )
    strict_text = "".join(
        "\n" + textwrap.fill(f"{name}: {why}", 92, initial_indent="  * ", subsequent_indent="    ")
        for name, why in strict.items()
    )
    strict_text = (
        (",\nand these checks of a library's exact behaviour:" + strict_text) if strict else ""
    )
    out = [
        f'"""Practice: {", ".join(topic.functions)} — write the bodies, then run',
        f"nox -s practice -- {topic_name} --check",
        "",
        CONTRACT["en"].format(strict=strict_text, checks=checks),
        "",
        f"Reference solution: {topic.source.relative_to(ROOT)} (peek only when stuck).",
        '"""',
        "",
    ]
    # Imports of the snippet: outside packages as they are; from the handbook only what the
    # reference of the practised functions itself needs (never a twin of the answer).
    local: set[str] = set()
    practised = set(topic.functions)
    for f in topic.functions:
        local |= {n.id for n in ast.walk(_top_level(tree)[f]) if isinstance(n, ast.Name)}
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("snippets"):
            names = [
                a for a in node.names if (a.asname or a.name) in local and a.name not in practised
            ]
            names = [a for a in names if a.name not in hidden]
            if names:
                spelled = ", ".join(a.name + (f" as {a.asname}" if a.asname else "") for a in names)
                out.append(f"from {node.module} import {spelled}  # noqa: F401")
        elif isinstance(node, ast.Import | ast.ImportFrom):
            out.append(ast.get_source_segment(source, node) or "")
    if offered:
        out.append("")
        out.append(
            "# Helpers from the snippet you may use: input checks, constants, building blocks."
        )
        out.append(f"from {topic.module} import (  # noqa: F401")
        out += [f"    {name}," for name in offered]
        out.append(")")
    if hidden:
        out.append(f"# Not handed out, they compute the answer: {', '.join(hidden)}.")
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name in topic.functions:
            body_start = node.body[0]
            has_doc = isinstance(body_start, ast.Expr) and isinstance(
                getattr(body_start, "value", None), ast.Constant
            )
            first = node.decorator_list[0].lineno if node.decorator_list else node.lineno
            end = body_start.end_lineno if has_doc else node.body[0].lineno - 1
            header = "\n".join(lines[first - 1 : end])
            indent = " " * (node.body[0].col_offset)
            out += ["", "", header, f'{indent}raise NotImplementedError("write {node.name} here")']
    return "\n".join(out) + "\n"


def _shown(path: Path) -> Path:
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def write(topic_name: str, force: bool, lang: str) -> int:
    path = PRACTICE_DIR / f"{topic_name}.py"
    if path.exists() and not force:
        print(TEXT[lang]["exists"].format(path=_shown(path), topic=topic_name))
        return 0
    PRACTICE_DIR.mkdir(exist_ok=True)
    path.write_text(template(topic_name), encoding="utf-8")
    print(TEXT[lang]["wrote"].format(path=_shown(path), topic=topic_name))
    return 0


# ------------------------------------------------------------------------------ grading


def _syntax_error(attempt: Path, t: dict[str, str]) -> str | None:
    """A syntax error, as Python reports it: the line, the text, and a caret under the spot."""
    try:
        compile(attempt.read_bytes(), str(attempt), "exec")
    except SyntaxError as error:
        out = [t["syntax"].format(file=attempt.name, line=error.lineno, msg=error.msg)]
        if error.text:
            out.append(f"    {error.lineno} | {error.text.rstrip()}")
            caret = max(error.offset or 1, 1)
            out.append(" " * (len(f"    {error.lineno} | ") + caret - 1) + "^")
        return "\n".join(out)
    return None


def _run_subprocess(args: list[str], env: dict[str, str], limit: float) -> str | None:
    """pytest in a fresh interpreter; its output when it did not finish, or None on timeout."""
    try:
        run = subprocess.run(
            [sys.executable, "-m", "pytest", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=limit,
        )
    except subprocess.TimeoutExpired:
        return None
    return run.stdout + run.stderr


def grade(
    topic_name: str,
    lang: str,
    attempt: Path | None = None,
    strict: bool = False,
    runner: Callable[[list[str], dict[str, str], float], str | None] = _run_subprocess,
) -> tuple[int, str]:
    """Run the topic's tests against the attempt; return (exit code, report text)."""
    topic = REGISTRY[topic_name]
    attempt = attempt or PRACTICE_DIR / f"{topic_name}.py"
    t = TEXT[lang]
    if not attempt.exists():
        return 1, t["missing"].format(
            path=_shown(attempt),
            topic=topic_name,
        )
    if (syntax := _syntax_error(attempt, t)) is not None:
        return 1, syntax
    with tempfile.TemporaryDirectory() as tmp:
        results = Path(tmp) / "results.json"
        env = dict(
            os.environ,
            HANDBOOK_PRACTICE_FILE=str(attempt.resolve()),
            HANDBOOK_PRACTICE_MODULE=topic.module,
            HANDBOOK_PRACTICE_FUNCS=",".join(topic.functions),
            HANDBOOK_PRACTICE_RESULTS=str(results),
            HANDBOOK_PRACTICE_STRICT="1" if strict else "",
            HANDBOOK_PRACTICE_STRICT_TESTS=",".join(strict_tests(topic_name)),
            HANDBOOK_PRACTICE_EQUIVALENTS=",".join(equivalents(topic_name)),
            HANDBOOK_QUICK="" if strict else "1",
            HANDBOOK_LANG=lang,
            PYTHONDONTWRITEBYTECODE="1",  # no __pycache__ next to the reader's file
        )
        env.pop("HYPOTHESIS_PROFILE", None)
        # Only the plugins the tests need (no xdist, coverage, anyio): a faster start.
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
        args = [str(topic.tests), "-q"]
        args += ["-p", "_hypothesis_pytestplugin", "-p", "tools.practice_plugin"]
        args += ["-p", "no:cacheprovider", "-m", "not browser and not slow"]
        limit = TIMEOUT["strict" if strict else "check"]
        output = runner(args, env, limit)
        if output is None:
            return 1, t["timeout"].format(t=limit)
        if not results.exists():
            tail = "\n".join(output.strip().splitlines()[-20:])
            return 2, t["died"].format(cmd=f"python -m pytest {topic.tests}") + "\n" + tail
        data = json.loads(results.read_text(encoding="utf-8"))
    if data["error"]:
        return 1, "\n".join([t["import"].format(file=attempt.name), data["error"].strip()])
    out = [t["warn"].format(msg=w) for w in data["warnings"]]
    relevant = [r for r in data["results"] if r["called"]]
    if not relevant:
        return 1, "\n".join([*out, t["none"].format(funcs=", ".join(topic.functions))])
    failed = [r for r in relevant if r["outcome"] != "passed"]
    # Checks marked @pytest.mark.diagnosis name one classic mistake in a sentence: show those
    # first, then the rest in the test file's order.
    failed.sort(key=lambda r: not r.get("diagnosis"))
    notes = [] if strict else [t["quick"]]
    if data["strict_skipped"]:
        notes.append(t["strict"].format(n=len(data["strict_skipped"])))
    if failed:
        out.append(t["fail"].format(n=len(failed), t=len(relevant), file=attempt.name))
        for i, r in enumerate(failed):
            out.append(t["case"].format(name=r["title"]))
            if "NotImplementedError" in r["message"]:
                out.append("      " + t["notimpl"])
                continue
            lines = r["message"].strip().splitlines() or [r["outcome"]]
            limit = 30 if i < SHOWN_IN_FULL else 12  # every failing check shows its case
            out += ["      " + line for line in lines[:limit]]
            if len(lines) > limit:
                out.append("      …")
        return 1, "\n".join(out + notes)
    out.append(t["pass"].format(t=len(relevant)))
    out += [t["ok"].format(name=r["title"]) for r in relevant]
    return 0, "\n".join(out + notes)


# ------------------------------------------------------------------------------ watch mode

# Modules a test file imports that are neither the handbook's nor read the practice variables at
# import time: the watcher imports these once, and every grade starts from a fork of it.
OWN_PACKAGES = {"snippets", "tests", "figures", "tools"}


def _preload(topic: Topic) -> None:
    """Import the libraries the topic's tests import (torch, torchvision: ~6 s) once."""
    import importlib

    roots = {"pytest", "hypothesis", "_hypothesis_pytestplugin"}
    for node in ast.parse(topic.tests.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Import):
            roots |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            roots.add(node.module.split(".")[0])
    for name in sorted(roots - OWN_PACKAGES - {"__future__"}):
        importlib.import_module(name)


def _run_forked(args: list[str], env: dict[str, str], limit: float) -> str | None:
    """pytest in a fork of this process, which has the libraries imported already."""
    import signal
    import time

    log = Path(env["HANDBOOK_PRACTICE_RESULTS"]).with_suffix(".log")
    pid = os.fork()
    if pid == 0:  # the child: the practice variables, then a fresh import of the handbook's code
        try:
            os.chdir(ROOT)
            os.environ.clear()
            os.environ.update(env)
            fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            os.dup2(fd, 1)
            os.dup2(fd, 2)
            import pytest

            code = int(pytest.main(args))
        except BaseException:  # whatever happens, the child must not return to the loop
            code = 4
        os._exit(code)
    deadline = time.monotonic() + limit
    while os.waitpid(pid, os.WNOHANG) == (0, 0):
        if time.monotonic() > deadline:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            return None
        time.sleep(0.02)
    return log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""


def watch(topic_name: str, lang: str, attempt: Path | None, strict: bool, grades: int = 0) -> int:
    """Grade the attempt now and again on every save (stop after `grades` grades if given).

    A fresh `--check` spends most of its time importing torch and torchvision; the watcher
    imports them once and grades each save in a fork of itself, in about the time the tests take.
    """
    import time

    topic = REGISTRY[topic_name]
    attempt = attempt or PRACTICE_DIR / f"{topic_name}.py"
    t = TEXT[lang]
    fork = hasattr(os, "fork")  # not on Windows: every grade then starts a new interpreter
    if fork:
        print(t["loading"], flush=True)
        _preload(topic)
    runner = _run_forked if fork else _run_subprocess
    seen: tuple[int, int] | None = None
    done, code = 0, 0
    try:
        while not grades or done < grades:
            try:
                stat = attempt.stat()
                now = (stat.st_mtime_ns, stat.st_size)
            except FileNotFoundError:
                now = (0, 0)
            if now != seen:
                seen = now
                start = time.monotonic()
                code, report = grade(topic_name, lang, attempt, strict, runner=runner)
                done += 1
                print(report)
                print(
                    t["watching"].format(
                        time=time.strftime("%H:%M:%S"),
                        s=time.monotonic() - start,
                        file=_shown(attempt),
                    )
                )
                print(flush=True)
            time.sleep(0.25)
    except KeyboardInterrupt:
        pass
    return code


# ------------------------------------------------------------------------------ page + cli


def topics_table(lang: str, link: Callable[[str], str]) -> str:
    head = (
        "| 主题 | 要写的函数 | 页面 | 测试 |"
        if lang == "zh"
        else "| Topic | You write | Page | Tests |"
    )
    rows = [head, "| --- | --- | --- | --- |"]
    for name, topic in REGISTRY.items():
        funcs = ", ".join(f"`{f}`" for f in topic.functions)
        rows.append(
            f"| `{name}` | {funcs} | [→]({link(topic.page)}) | `{topic.tests.relative_to(ROOT)}` |"
        )
    return "\n".join(rows)


def _default_lang() -> str:
    env = os.environ.get("HANDBOOK_LANG") or os.environ.get("LANG", "")
    return "zh" if env.startswith("zh") else "en"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="nox -s practice --",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("topic", nargs="?")
    parser.add_argument("--check", action="store_true", help="grade practice/<topic>.py")
    parser.add_argument(
        "--watch",
        action="store_true",
        help="grade now and again on every save, keeping the libraries loaded (seconds per grade)",
    )
    parser.add_argument("--grades", type=int, default=0, help=argparse.SUPPRESS)  # tests: stop
    parser.add_argument("--force", action="store_true", help="overwrite an existing attempt")
    parser.add_argument("--lang", choices=["zh", "en"], default=_default_lang())
    parser.add_argument("--file", type=Path, help="grade this file instead of practice/<topic>.py")
    parser.add_argument(
        "--strict",
        action="store_true",
        help="also the library-exact checks, the full error text, and every seeded case",
    )
    args = parser.parse_args(argv)
    t = TEXT[args.lang]
    if not args.topic:
        print(t["topics"])
        for name, topic in REGISTRY.items():
            print(f"  {name:20s} {', '.join(topic.functions):28s} {topic.page}")
        return 0
    if args.topic not in REGISTRY:
        print(t["unknown"].format(topic=args.topic, names=", ".join(REGISTRY)))
        return 2
    if args.watch:
        return watch(args.topic, args.lang, args.file, args.strict, args.grades)
    if args.check:
        code, report = grade(args.topic, args.lang, args.file, strict=args.strict)
        print(report)
        return code
    return write(args.topic, args.force, args.lang)


if __name__ == "__main__":
    raise SystemExit(main())
