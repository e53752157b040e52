"""The calculators page: its JavaScript (docs/assets/calculators.js) against the Python it mirrors.

Every function on ``window.HandbookCalc`` has the name, arguments and input checks of a tested
Python function in ``snippets/``. Each one is called on ``CASES`` seeded random inputs (edge
cases, integers past 2**53 and bad arguments among them) in one ``page.evaluate``, and compared
with the Python function: integers exactly, floats bit for bit, errors by type and full message.
Then the forms, in both languages: presets against the published configurations that
``tests/llm/test_memory.py`` checks against ``LlamaForCausalLM``, typed values against Python, an
invalid value shows Python's message next to its field, nothing is fetched from another site,
and the forms fit a 390 px phone. The site is served under a sub-path (``/handbook/``) so the
page's relative ``<script src>`` is exercised as a project site would host it.
"""

from __future__ import annotations

import ast
import math
import os
import random
import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from tests.browser import pages
from tests.browser.helpers import Tab, settle
from tests.browser.server import serve
from tests.support import cases, under_test

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("calculators")]

SITE = Path(os.environ.get("HANDBOOK_SITE") or pages.SITE)
SUB = "/handbook"  # the site as a project page: https://<user>.github.io/<repo>/
PATH = {"zh": f"{SUB}/calculators/", "en": f"{SUB}/en/calculators/"}
CASES = 500  # per function; the page quotes this number
SHOTS = SITE / "_screenshots"
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
PHONE = {  # scale 1: the layout is the same at 2, the full-page screenshot four times cheaper
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
}

kv = under_test("snippets.transformer.kv_cache")
memory = under_test("snippets.llm.memory")
conv = under_test("snippets.backbone.params_flops")

# ------------------------------------------------------------------ values across the boundary

MAX_SAFE = 2**53 - 1


def encode(value: Any) -> Any:
    """A Python argument as the JS harness rebuilds it (BigInt past 2**53, tuple -> Array)."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value if abs(value) <= MAX_SAFE else {"$big": str(value)}
    if isinstance(value, float):
        # JS cannot tell 3.0 from 3: an integral float would be an int there.
        assert not value.is_integer(), f"integral float {value!r} has no JS twin"
        return {"$float": repr(value)}
    if isinstance(value, tuple):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {"$obj": {k: encode(v) for k, v in value.items()}}
    raise TypeError(f"no JS encoding for {value!r}")


def as_python(value: Any) -> Any:
    """Config dicts become objects with attributes (what ``LlamaConfig`` looks like)."""
    return SimpleNamespace(**value) if isinstance(value, dict) else value


def outcome(result: Any) -> dict[str, Any]:
    if isinstance(result, bool):
        raise AssertionError(f"unexpected bool result {result!r}")
    if isinstance(result, int):
        return {"int": str(result)}
    if isinstance(result, float):
        return {"float": result}
    if isinstance(result, tuple):
        return {"tuple": [outcome(r) for r in result]}
    raise AssertionError(f"unexpected result {result!r}")


def call_python(fn: Callable[..., Any], args: list[Any]) -> dict[str, Any]:
    try:
        return outcome(fn(*[as_python(a) for a in args]))
    except (TypeError, ValueError) as error:
        # A JS object plays the SimpleNamespace; calculators.js names its type "dict".
        message = str(error).replace("(SimpleNamespace)", "(dict)")
        return {"error": type(error).__name__, "message": message}


EVALUATE = """(cases) => {
  const C = window.HandbookCalc;
  const dec = (v) => {
    if (v === null || typeof v !== 'object') return v;
    if (Array.isArray(v)) return v.map(dec);
    if ('$big' in v) return BigInt(v.$big);
    if ('$float' in v) return ({nan: NaN, inf: Infinity, '-inf': -Infinity})[v.$float] ?? Number(v.$float);
    if ('$obj' in v) {
      const o = {};
      for (const [k, x] of Object.entries(v.$obj)) o[k] = dec(x);
      return o;
    }
    throw new Error('unknown encoding ' + JSON.stringify(v));
  };
  const out = (r) => {
    if (typeof r === 'bigint') return {int: r.toString()};
    if (typeof r === 'number') return {float: String(r)};
    if (Array.isArray(r)) return {tuple: r.map(out)};
    return {unexpected: String(r), type: typeof r};
  };
  return cases.map(([name, args]) => {
    try {
      return out(C[name](...args.map(dec)));
    } catch (e) {
      return {error: e.name, message: e.message};
    }
  });
}"""


def same(py: dict[str, Any], js: dict[str, Any]) -> bool:
    if "float" in py:
        # String(x) in JS is the shortest round-trip text: float() gets the same double back.
        return "float" in js and (
            py["float"] == float(js["float"])
            or (math.isnan(py["float"]) and math.isnan(float(js["float"])))
        )
    if "tuple" in py:
        return (
            "tuple" in js
            and len(py["tuple"]) == len(js["tuple"])
            and all(same(p, j) for p, j in zip(py["tuple"], js["tuple"], strict=True))
        )
    return py == js


# ------------------------------------------------------------------------ seeded inputs


def an_int(rng: random.Random, low: int) -> int:
    """Mostly model-sized, sometimes huge (products past 2**53 and 2**64)."""
    roll = rng.random()
    if roll < 0.6:
        return rng.randint(low, low + 64)
    if roll < 0.9:
        return rng.randint(low, 10**6)
    return rng.randint(low, 2**64)


def bad_int(rng: random.Random, low: int) -> Any:
    return rng.choice(
        [low - 1, low - rng.randint(2, 10**6), 2.5, -0.5, 1e-07, "3", "", True, False, None, (3,),
         float("nan"), -(2**70)]
    )  # fmt: skip


def spoil(rng: random.Random, args: list[Any], lows: list[int], p: float = 0.3) -> list[Any]:
    """With probability ``p``, replace one argument by a bad value for it."""
    if rng.random() < p:
        i = rng.randrange(len(args))
        args[i] = bad_int(rng, lows[i])
    return args


def trim(rng: random.Random, args: list[Any], required: int) -> list[Any]:
    """Sometimes leave trailing defaulted arguments out (the JS defaults must match)."""
    return args[: rng.randint(required, len(args))] if rng.random() < 0.3 else args


def gen_kv_cache_size(rng: random.Random) -> list[Any]:
    lows = [1, 1, 1, 0, 0, 1]
    args = [an_int(rng, low) for low in lows]
    return trim(rng, spoil(rng, args, lows), 5)


def gen_mla_cache_size(rng: random.Random) -> list[Any]:
    lows = [1, 1, 0, 0, 0, 1]
    args = [an_int(rng, low) for low in lows]
    return trim(rng, spoil(rng, args, lows), 5)


FLAGS = [True, False, 0, 1, None, "", "x", (), (1,), 2.5, float("nan")]


def a_config(rng: random.Random) -> Any:
    if rng.random() < 0.03:
        return rng.choice([None, 7, "config", (1, 2)])
    kv_heads = rng.randint(1, 8)
    heads = kv_heads * rng.randint(1, 8)
    config: dict[str, Any] = {
        "vocab_size": an_int(rng, 1),
        "hidden_size": heads * rng.randint(1, 64) if rng.random() < 0.9 else an_int(rng, 1),
        "intermediate_size": an_int(rng, 1),
        "num_hidden_layers": rng.randint(0, 100) if rng.random() < 0.9 else an_int(rng, 0),
        "num_attention_heads": heads,
        "num_key_value_heads": kv_heads if rng.random() < 0.9 else rng.choice([None, 3, 5]),
        "head_dim": rng.choice([None, rng.randint(1, 256)]),
        "tie_word_embeddings": rng.choice(FLAGS),
        "attention_bias": rng.choice(FLAGS),
        "mlp_bias": rng.choice(FLAGS),
    }
    for name in list(config):  # missing attributes: optional ones fall back, others fail
        if rng.random() < 0.02:
            del config[name]
    if rng.random() < 0.15:
        name = rng.choice([n for n in config if not n.endswith(("bias", "embeddings"))])
        config[name] = bad_int(rng, 0 if name == "num_hidden_layers" else 1)
    return config


def gen_llama_parameter_count(rng: random.Random) -> list[Any]:
    return [a_config(rng)]


def gen_kv_cache_bytes(rng: random.Random) -> list[Any]:
    lows = [0, 0, 1]
    args = spoil(rng, [an_int(rng, low) for low in lows], lows, p=0.2)
    return trim(rng, [a_config(rng), *args], 3)


STAGES = [0, 1, 2, 3, True, False, 4, -1, "1", None, 2.5, 2**64]


def gen_zero_memory_bytes(rng: random.Random) -> list[Any]:
    psi = rng.choice([an_int(rng, 0), rng.randint(0, 2**80), rng.randint(10**8, 10**12)])
    gpus = rng.choice([rng.randint(1, 1024), an_int(rng, 1)])
    k = rng.choice([12, rng.randint(0, 32), an_int(rng, 0)])
    args = spoil(rng, [psi, gpus, 0, k], [0, 1, 0, 0], p=0.2)
    args[2] = rng.choice(STAGES) if rng.random() < 0.2 else rng.randint(0, 3)
    return trim(rng, args, 1)


BAD_PAIRS = [0, -1, (0, 3), (3,), (3, 4, 5), (3, 2.5), (True, 3), "3", None, 2.5, True, ()]


def a_pair(rng: random.Random, low: int, high: int) -> Any:
    if rng.random() < 0.5:
        return rng.randint(low, high)
    return (rng.randint(low, high), rng.randint(low, high))


def conv_args(rng: random.Random) -> dict[str, Any]:
    groups = rng.choice([1, 1, 2, 4, rng.randint(1, 64)])
    huge = rng.random() < 0.1
    channels = (lambda: groups * an_int(rng, 1)) if huge else (lambda: groups * rng.randint(1, 64))
    args = {
        "in_channels": channels(),
        "out_channels": channels(),
        "kernel_size": a_pair(rng, 1, 7),
        "input_size": a_pair(rng, 1, 2**40 if huge else 300),
        "stride": a_pair(rng, 1, 4),
        "padding": a_pair(rng, 0, 4),
        "dilation": a_pair(rng, 1, 3),
        "groups": groups if rng.random() < 0.9 else rng.randint(1, 9),
        "bias": rng.choice(FLAGS),
    }
    if rng.random() < 0.25:
        name = rng.choice(list(args))
        if name in ("in_channels", "out_channels", "groups"):
            args[name] = rng.choice([0, -3, 2.5, "8", True, None, (2, 2)])
        elif name != "bias":
            args[name] = rng.choice(BAD_PAIRS)
    return args


def gen_conv2d_output_size(rng: random.Random) -> list[Any]:
    a = conv_args(rng)
    args = [a["input_size"], a["kernel_size"], a["stride"], a["padding"], a["dilation"]]
    return trim(rng, args, 2)


def gen_conv2d_params(rng: random.Random) -> list[Any]:
    a = conv_args(rng)
    args = [a["in_channels"], a["out_channels"], a["kernel_size"], a["groups"], a["bias"]]
    return trim(rng, args, 3)


def gen_conv2d_macs(rng: random.Random) -> list[Any]:
    a = conv_args(rng)
    names = ["in_channels", "out_channels", "kernel_size", "input_size", "stride", "padding",
             "dilation", "groups"]  # fmt: skip
    return trim(rng, [a[n] for n in names], 4)


# Fixed cases at the edges, checked on top of the random ones.
EDGES: dict[str, list[list[Any]]] = {
    "kv_cache_size": [
        [32, 8, 128, 1, 8192],  # Llama-3-8B, 8k tokens: 1 GiB
        [MAX_SAFE, 1, 1, 1, 1, 1],  # the largest Number input: 2**54 - 2 needs a BigInt result
        [2**53 + 1, 1, 1, 1, 1, 1],  # a BigInt input; as a double it would round to 2**53
        [1, 1, 1, 0, 0],
        [1, 1, 1, 1, 1, 0],
        [2**52, 1, 1, 1, 1, 1],  # exactly 2**54
    ],
    "mla_cache_size": [[60, 512, 64, 1, 8192], [1, 1, 0, 1, 1, 1], [2**60, 2**60, 1, 3, 3, 3]],
    "zero_memory_bytes": [
        [7_500_000_000, 64, s]
        for s in range(4)  # ZeRO Figure 1
    ]
    + [[2**60 + 1, 3, s, 13] for s in range(4)]  # true division of ints past 2**53
    + [[0, 1, 3, 0], [1, 1, 1], [10**18 + 7, 10**9 + 9, 2], [5, 2**63, 3]],
    "conv2d_output_size": [
        [224, 7, 2, 3],
        [(32, 17), (3, 5), (2, 1), 0, (1, 2)],
        [2, (3, 3)],  # the window does not fit
        [1, 1],
        [(1, 1), 3, 1, 1],
    ],
    "conv2d_params": [[64, 128, 3], [64, 64, 3, 64], [32, 64, (1, 7), 4, False], [64, 128, 3, 3]],
    "conv2d_macs": [[3, 64, 7, 224, 2, 3], [2**40, 2**40, 3, 2**20, 1, 1]],
}

FUNCTIONS: dict[str, tuple[Callable[..., Any], Callable[[random.Random], list[Any]]]] = {
    "kv_cache_size": (kv.kv_cache_size, gen_kv_cache_size),
    "mla_cache_size": (kv.mla_cache_size, gen_mla_cache_size),
    "kv_cache_bytes": (memory.kv_cache_bytes, gen_kv_cache_bytes),
    "llama_parameter_count": (memory.llama_parameter_count, gen_llama_parameter_count),
    "zero_memory_bytes": (memory.zero_memory_bytes, gen_zero_memory_bytes),
    "conv2d_output_size": (conv.conv2d_output_size, gen_conv2d_output_size),
    "conv2d_params": (conv.conv2d_params, gen_conv2d_params),
    "conv2d_macs": (conv.conv2d_macs, gen_conv2d_macs),
}


def all_cases() -> list[tuple[str, list[Any]]]:
    found = []
    for index, (name, (_, generate)) in enumerate(FUNCTIONS.items()):
        rng = random.Random(1000 + index)
        found += [(name, generate(rng)) for _ in range(cases(CASES))]
        found += [(name, args) for args in EDGES.get(name, [])]
    return found


# ------------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def served(calc_site: Path) -> Iterator[Any]:
    """The built site under ``/handbook/`` (a symlink in a temporary root)."""
    root = Path(tempfile.mkdtemp(prefix="hb-calc-"))
    (root / SUB.strip("/")).symlink_to(SITE.resolve(), target_is_directory=True)
    try:
        with serve(root) as server:
            yield server
    finally:
        (root / SUB.strip("/")).unlink()
        root.rmdir()


@pytest.fixture(scope="module")
def calc_site() -> Path:
    """The site named by ``HANDBOOK_SITE`` (the one ``nox`` built), else ``site/``."""
    if not (SITE / "calculators" / "index.html").is_file():
        pytest.fail(f"{SITE} has no calculators page: build the site again", pytrace=False)
    SHOTS.mkdir(exist_ok=True)
    return SITE


@pytest.fixture(scope="module")
def desktop(browser: Any, served: Any) -> Iterator[dict[str, Tab]]:
    tabs = {}
    for lang in pages.LANGS:
        tabs[lang] = Tab(browser, served.url, **DESKTOP)
        response = tabs[lang].open(PATH[lang])
        assert response is not None and response.status == 200, f"{PATH[lang]} did not load"
    yield tabs
    for tab in tabs.values():
        tab.close()


# --------------------------------------------------------------------------- the functions


def test_every_function_matches_python_on_seeded_inputs(desktop: dict[str, Tab]) -> None:
    todo = all_cases()
    js = desktop["zh"].page.evaluate(
        EVALUATE, [[name, [encode(a) for a in args]] for name, args in todo]
    )
    failures, counts, errors = [], dict.fromkeys(FUNCTIONS, 0), dict.fromkeys(FUNCTIONS, 0)
    for (name, args), got in zip(todo, js, strict=True):
        want = call_python(FUNCTIONS[name][0], args)
        counts[name] += 1
        errors[name] += "error" in want
        if not same(want, got):
            failures.append(f"{name}{tuple(args)!r}: Python {want}, JavaScript {got}")
    assert not failures, f"{len(failures)} of {len(todo)} differ, e.g.:\n" + "\n".join(failures[:8])
    # The seeded inputs must reach both outcomes of every function, or the test proves little.
    for name in FUNCTIONS:
        assert 0.05 * counts[name] < errors[name] < 0.6 * counts[name], (
            f"{name}: {errors[name]} of {counts[name]} cases are errors: rebalance the generator"
        )


def test_the_page_quotes_the_case_count(desktop: dict[str, Tab]) -> None:
    for lang, tab in desktop.items():
        text = tab.page.locator("#tests + p").inner_text()
        assert f" {CASES} " in text, f"{PATH[lang]}: the test section should say {CASES} cases"


# ------------------------------------------------------------------------------ the forms

TEST_MEMORY = pages.ROOT / "tests" / "llm" / "test_memory.py"


def published() -> dict[str, tuple[dict[str, Any], int]]:
    """``PUBLISHED`` of tests/llm/test_memory.py (read, not imported: that imports transformers)."""
    tree = ast.parse(TEST_MEMORY.read_text(encoding="utf-8"))
    names: dict[str, Any] = {"dict": dict}
    found: dict[str, tuple[dict[str, Any], int]] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and isinstance(node.targets[0], ast.Name):
            target = node.targets[0].id
            if re.fullmatch(r"LLAMA_[0-9_A-Z]+|PUBLISHED", target):
                names[target] = eval(compile(ast.Expression(node.value), "", "eval"), names)
    for name, fields, total in names["PUBLISHED"]:
        found[name] = (fields, total)
    return found


FORM_VALUE = """([calc, out]) => {
  const el = document.querySelector(`form[data-calc="${calc}"] [data-out="${out}"]`);
  return [el.getAttribute('data-value'), el.textContent];
}"""
ERROR_TEXT = """([calc, field]) => {
  const form = document.querySelector(`form[data-calc="${calc}"]`);
  const slot = form.querySelector(`.hb-calc-error[data-for="${field}"]`);
  return {text: slot && !slot.hidden ? slot.textContent : null, state: form.dataset.state,
          invalid: form.elements[field].getAttribute('aria-invalid')};
}"""


def out(tab: Tab, calc: str, name: str) -> str:
    return tab.page.evaluate(FORM_VALUE, [calc, name])[0]


# What typing does to a form, for many fields in one round trip: set the value, fire the events
# the page listens to (`input`; `change` for selects and checkboxes), in order.
TYPE_INTO = """([calc, values]) => {
  const form = document.querySelector(`form[data-calc="${calc}"]`);
  for (const [name, value] of values) {
    const el = form.elements[name];
    if (el.type === 'checkbox') el.checked = value; else el.value = value;
    el.dispatchEvent(new Event('input', {bubbles: true}));
    if (el.type === 'checkbox' || el.tagName === 'SELECT') {
      el.dispatchEvent(new Event('change', {bubbles: true}));
    }
  }
}"""


def fill(tab: Tab, calc: str, values: dict[str, Any]) -> None:
    typed = [[n, v if isinstance(v, bool | str) else text_of(v)] for n, v in values.items()]
    tab.page.evaluate(TYPE_INTO, [calc, typed])


def type_like_a_reader(tab: Tab, calc: str, name: str, text: str) -> None:
    """Playwright's own fill (focus, select, insert text): what a keyboard does."""
    tab.page.locator(f'form[data-calc="{calc}"] [name="{name}"]').fill(text)


def text_of(value: Any) -> str:
    if isinstance(value, tuple):
        return ", ".join(map(str, value))
    return "" if value is None else str(value)


def shows(shown: str, value: Any) -> bool:
    """Whether a form's ``data-value`` is the Python result (a float to the last bit)."""
    if isinstance(value, float):
        return float(shown) == value
    if isinstance(value, tuple):
        return shown == ",".join(map(str, value))
    return shown == str(value)


@pytest.mark.parametrize("lang", pages.LANGS)
def test_presets_show_the_published_counts(desktop: dict[str, Tab], lang: str) -> None:
    tab = desktop[lang]
    tab.page.screenshot(path=SHOTS / f"calculators-{lang}-desktop.png", full_page=True)
    for name, (fields, total) in published().items():
        fill(tab, "params", {"preset": name})
        shown = {
            k: tab.page.locator(f"#params-{k}").input_value()
            for k in fields
            if k != "tie_word_embeddings"
        }
        assert shown == {k: str(v) for k, v in fields.items() if k != "tie_word_embeddings"}, (
            f"{lang} preset {name}: fields differ from tests/llm/test_memory.py"
        )
        assert out(tab, "params", "params") == str(total), f"{lang} preset {name}"
        assert tab.page.locator('[name="tie_word_embeddings"]').is_checked() == bool(
            fields.get("tie_word_embeddings")
        )
        config = SimpleNamespace(**fields)
        fill(tab, "kv", {"preset": name, "batch_size": 2, "seq_len": 4096})
        assert out(tab, "kv", "bytes") == str(memory.kv_cache_bytes(config, 2, 4096)), name
        if name in ("llama-2-7b", "llama-3-8b"):
            fill(tab, "zero", {"preset": name, "num_gpus": 8})
            for stage in range(4):
                want = memory.zero_memory_bytes(total, 8, stage)
                assert shows(out(tab, "zero", f"stage{stage}"), want), (name, stage)
    fill(tab, "conv", {"preset": "resnet-stem"})
    assert shows(out(tab, "conv", "output_size"), conv.conv2d_output_size(224, 7, 2, 3))
    assert out(tab, "conv", "params") == str(conv.conv2d_params(3, 64, 7, bias=False))
    macs = conv.conv2d_macs(3, 64, 7, 224, stride=2, padding=3)
    assert (out(tab, "conv", "macs"), out(tab, "conv", "flops")) == (str(macs), str(2 * macs))


def random_forms(rng: random.Random) -> list[tuple[str, dict[str, Any], Callable[[], Any], str]]:
    """(form, field values, the Python call, output) for one round of typing."""
    L, h, d, b, s = (rng.randint(1, 128), rng.randint(1, 64), rng.randint(1, 256),
                     rng.randint(0, 64), rng.randint(0, 2**20))  # fmt: skip
    e = rng.choice([1, 2, 4])
    c, r = rng.randint(1, 1024), rng.randint(0, 128)
    heads = rng.randint(1, 16) * 4
    cfg = {"vocab_size": rng.randint(1, 300_000), "hidden_size": heads * rng.randint(1, 128),
           "intermediate_size": rng.randint(1, 60_000), "num_hidden_layers": rng.randint(1, 128),
           "num_attention_heads": heads, "num_key_value_heads": rng.choice([None, 4, heads]),
           "head_dim": rng.choice([None, 64, 128]), "tie_word_embeddings": rng.random() < 0.5,
           "attention_bias": rng.random() < 0.5, "mlp_bias": rng.random() < 0.5}  # fmt: skip
    psi, n, k = rng.randint(0, 10**12), rng.randint(1, 4096), rng.randint(0, 16)
    a = conv_args(random.Random(rng.random()))
    while "error" in call_python(conv.conv2d_macs, [a[x] for x in (
            "in_channels", "out_channels", "kernel_size", "input_size", "stride", "padding",
            "dilation", "groups")]) or type(a["bias"]) is not bool:  # fmt: skip
        a = conv_args(random.Random(rng.random()))
    conv_pos = [a[x] for x in ("in_channels", "out_channels", "kernel_size", "input_size")]
    conv_kw = {x: a[x] for x in ("stride", "padding", "dilation", "groups")}
    ns = SimpleNamespace(**cfg)
    kv_fields = {"num_layers": L, "num_kv_heads": h, "head_dim": d, "batch_size": b,
                 "seq_len": f"{s:,}", "bytes_per_element": e}  # fmt: skip
    mla_fields = {"num_layers": L, "kv_lora_rank": c, "qk_rope_head_dim": r, "batch_size": b,
                  "seq_len": f"{s:_}", "bytes_per_element": e}  # fmt: skip
    stage = rng.randint(0, 3)
    return [
        ("kv", kv_fields, lambda: kv.kv_cache_size(L, h, d, b, s, e), "bytes"),
        ("mla", mla_fields, lambda: kv.mla_cache_size(L, c, r, b, s, e), "bytes"),
        ("params", cfg, lambda: memory.llama_parameter_count(ns), "params"),
        ("params", cfg, lambda: memory.kv_cache_bytes(ns, 1, 1), "kv_per_token"),
        ("zero", {"num_params": psi, "num_gpus": n, "k": k},
         lambda: memory.zero_memory_bytes(psi, n, stage, k), f"stage{stage}"),
        ("conv", a, lambda: conv.conv2d_output_size(a["input_size"], a["kernel_size"],
                                                    a["stride"], a["padding"], a["dilation"]),
         "output_size"),
        ("conv", a, lambda: conv.conv2d_params(a["in_channels"], a["out_channels"],
                                               a["kernel_size"], a["groups"], a["bias"]), "params"),
        ("conv", a, lambda: conv.conv2d_macs(*conv_pos, **conv_kw), "macs"),
    ]  # fmt: skip


# An invalid value per form: (form, field typed into, text typed, the field the message names
# first and shows under, the Python call that rejects it).
INVALID = [
    ("kv", "head_dim", "2.5", "head_dim", lambda: kv.kv_cache_size(32, 8, 2.5, 1, 8192)),
    ("mla", "num_layers", "0", "num_layers", lambda: kv.mla_cache_size(0, 512, 64, 1, 8192)),
    ("params", "num_key_value_heads", "5", "num_attention_heads",
     lambda: memory.llama_parameter_count(SimpleNamespace(**{**published()["llama-3-8b"][0],
                                                             "num_key_value_heads": 5}))),
    ("params", "hidden_size", "abc", "hidden_size",
     lambda: memory.llama_parameter_count(SimpleNamespace(**{**published()["llama-3-8b"][0],
                                                             "hidden_size": "abc"}))),
    ("zero", "num_gpus", "0", "num_gpus", lambda: memory.zero_memory_bytes(7_500_000_000, 0, 0, 12)),
    ("conv", "groups", "5", "groups", lambda: conv.conv2d_params(3, 64, 7, 5, False)),
    ("conv", "input_size", "4", "kernel_size", lambda: conv.conv2d_output_size(4, 7, 2, 0)),
]  # fmt: skip


OUTPUT = {"kv": "bytes", "mla": "bytes", "params": "params", "zero": "stage0", "conv": "params"}


@pytest.mark.parametrize("lang", pages.LANGS)
def test_typed_values_and_errors_match_python(desktop: dict[str, Tab], lang: str) -> None:
    tab = desktop[lang]
    rng = random.Random(7 if lang == "zh" else 8)
    for _ in range(cases(4)):  # rounds of every form
        for calc, values, python, name in random_forms(rng):
            fill(tab, calc, values)
            shown = out(tab, calc, name)
            assert shows(shown, python()), f"{lang} {calc} {values}: {name} shows {shown}"
    presets = {"kv": "llama-3-8b", "mla": "deepseek-v2", "params": "llama-3-8b",
               "zero": "zero-paper", "conv": "resnet-stem"}  # fmt: skip
    for calc, field, typed, named, python in INVALID:
        fill(tab, calc, {"preset": presets[calc]})
        fill(tab, calc, {"padding": 0} if field == "input_size" else {})
        type_like_a_reader(tab, calc, field, typed)
        with pytest.raises((TypeError, ValueError)) as raised:
            python()
        want = f"{raised.type.__name__}: {raised.value}"
        got = tab.page.evaluate(ERROR_TEXT, [calc, named])
        assert got == {"text": want, "state": "error", "invalid": "true"}, (
            f"{lang} {calc}: typing {typed!r} into {field} shows {got}, expected {want!r}"
        )
        assert out(tab, calc, OUTPUT[calc]) == "", f"{lang} {calc}: a number beside an error"
    recorder = tab.recorder
    settle(tab.page, recorder, quiet_ms=50, limit_s=2)
    assert not recorder.external, f"{PATH[lang]} asked other sites for {recorder.external}"
    script = [s for s in recorder.seen if s.url.endswith("/assets/calculators.js")]
    assert [s.status for s in script] == [200], f"{PATH[lang]}: calculators.js {script}"
    assert script[0].url == tab.origin + f"{SUB}/assets/calculators.js"


@pytest.mark.parametrize("lang", pages.LANGS)
def test_forms_fit_a_phone(browser: Any, served: Any, lang: str) -> None:
    tab = Tab(browser, served.url, **PHONE)
    try:
        tab.open(PATH[lang])
        page = tab.page
        width = page.evaluate("() => document.documentElement.scrollWidth")
        sticking_out = page.evaluate("""() => {
          const limit = document.documentElement.clientWidth + 1;
          return [...document.querySelectorAll('form.hb-calc, form.hb-calc *')]
            .filter(el => el.getBoundingClientRect().right > limit)
            .map(el => el.tagName + '.' + (el.name || el.className)).slice(0, 5);
        }""")
        assert width <= PHONE["viewport"]["width"], f"{PATH[lang]} is {width} px wide on a phone"
        assert sticking_out == [], f"{PATH[lang]}: form parts past the phone's edge: {sticking_out}"
        page.screenshot(path=SHOTS / f"calculators-{lang}-phone.png", full_page=True)
        assert not tab.recorder.external
    finally:
        tab.close()
