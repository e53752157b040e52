"""Helpers shared by every test module.

Two ideas live here:

* ``under_test("snippets.detection.nms")`` returns the module a test exercises. Normally that is
  the snippet itself; when ``nox -s practice -- nms --check`` runs, the same tests see the reader's
  ``practice/nms.py`` instead (for the functions that topic practises). One suite, no copies.
* ``assert_close`` / ``assert_equal`` fail with a message a reader can act on: the inputs, the
  expected and the actual value, and the first element that differs, in Chinese or English
  (``HANDBOOK_LANG=zh|en``).
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import os
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

import numpy as np

# Set by the practice runner (tools/practice.py); empty in a normal test run.
PRACTICE_FILE = os.environ.get("HANDBOOK_PRACTICE_FILE", "")
PRACTICE_MODULE = os.environ.get("HANDBOOK_PRACTICE_MODULE", "")
PRACTICE_FUNCS = frozenset(filter(None, os.environ.get("HANDBOOK_PRACTICE_FUNCS", "").split(",")))
LANG = os.environ.get("HANDBOOK_LANG", "en")
# `nox -s quick` sets HANDBOOK_QUICK=1: every seeded loop runs a twentieth of its cases, so a
# contributor gets a representative pass over every test module in well under a minute. CI and
# the default `nox` run the full counts, which are the numbers the pages and test names quote.
QUICK = os.environ.get("HANDBOOK_QUICK", "") not in ("", "0")
QUICK_DIVISOR = 20

CURRENT_TEST = [""]  # node id of the running test, set in conftest.py
CALLED_PRACTICE: set[str] = set()  # tests that called a practised function


class _UnderTest:
    """Attribute access goes to the reader's attempt for practised names, else to the snippet."""

    def __init__(self, snippet: ModuleType, attempt: ModuleType | None) -> None:
        self._snippet = snippet
        self._attempt = attempt

    def __getattr__(self, name: str) -> Any:
        if self._attempt is not None and name in PRACTICE_FUNCS:
            fn = getattr(self._attempt, name)

            @functools.wraps(fn)
            def recorded(*args: Any, **kwargs: Any) -> Any:
                CALLED_PRACTICE.add(CURRENT_TEST[0])
                return fn(*args, **kwargs)

            return recorded
        return getattr(self._snippet, name)


@functools.cache
def _load_attempt(path: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location("practice_attempt", path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load practice file {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def under_test(module_name: str) -> Any:
    """Return the implementation under test for ``module_name`` (a dotted snippet module)."""
    snippet = importlib.import_module(module_name)
    attempt = None
    if PRACTICE_FILE and module_name == PRACTICE_MODULE:
        attempt = _load_attempt(PRACTICE_FILE)
    return _UnderTest(snippet, attempt)


def cases(n: int) -> int:
    """How many seeded cases a loop runs: ``n`` in the full run, ``ceil(n / 20)`` in quick mode.

    >>> cases(2400) if not QUICK else 2400
    2400
    """
    return n if not QUICK else max(1, -(-n // QUICK_DIVISOR))


def quick_subset(params: list, n: int = 1) -> list:
    """A parametrisation's cases: all of them in the full run, the first ``n`` in quick mode.

    For the few tests whose every case is a slow experiment (a training run, a whole ResNet).

    >>> quick_subset(["resnet18", "resnet50", "resnet152"], 2) == (
    ...     ["resnet18", "resnet50"] if QUICK else ["resnet18", "resnet50", "resnet152"]
    ... )
    True
    """
    return list(params)[:n] if QUICK else list(params)


# ---------------------------------------------------------------- readable assertions

_TEXT = {
    "zh": {
        "shape": "形状不同：期望 {e}，实际 {a}",
        "dtype": "dtype 不同：期望 {e}，实际 {a}",
        "value": "数值不同（{n}/{t} 个元素超出容差 atol={atol}, rtol={rtol}）",
        "first": "第一个不同的元素在下标 {i}：期望 {e}，实际 {a}",
        "inputs": "输入",
        "expected": "期望",
        "actual": "实际",
        "type": "返回类型不同：期望 {e}，实际 {a}",
    },
    "en": {
        "shape": "shapes differ: expected {e}, got {a}",
        "dtype": "dtypes differ: expected {e}, got {a}",
        "value": "values differ ({n}/{t} elements outside atol={atol}, rtol={rtol})",
        "first": "first differing element at index {i}: expected {e}, got {a}",
        "inputs": "inputs",
        "expected": "expected",
        "actual": "actual",
        "type": "return types differ: expected {e}, got {a}",
    },
}


def _t(key: str, **kw: Any) -> str:
    return _TEXT.get(LANG, _TEXT["en"])[key].format(**kw)


def _to_numpy(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):  # torch.Tensor, without importing torch here
        x = x.detach().cpu()
        if not x.is_complex() and x.is_floating_point() and x.element_size() < 4:
            x = x.float()  # NumPy has no bfloat16; float16 upcast keeps values exact
        return x.numpy()
    return np.asarray(x)


def _short(x: Any, limit: int = 600) -> str:
    with np.printoptions(precision=6, threshold=40, edgeitems=3):
        text = repr(x)
    return text if len(text) <= limit else text[:limit] + " …"


def _fail(summary: str, actual: Any, expected: Any, inputs: Mapping[str, Any] | None) -> None:
    lines = [summary]
    if inputs:
        lines.append(f"{_t('inputs')}:")
        lines += [f"  {k} = {_short(v)}" for k, v in inputs.items()]
    lines.append(f"{_t('expected')}: {_short(expected)}")
    lines.append(f"{_t('actual')}: {_short(actual)}")
    raise AssertionError("\n".join(lines))


def assert_close(
    actual: Any,
    expected: Any,
    *,
    inputs: Mapping[str, Any] | None = None,
    atol: float = 1e-6,
    rtol: float = 1e-5,
    equal_nan: bool = True,
    check_dtype: bool = False,
) -> None:
    """Assert two arrays/tensors/scalars agree elementwise; explain the first difference if not."""
    a, e = _to_numpy(actual), _to_numpy(expected)
    if a.shape != e.shape:
        _fail(_t("shape", e=e.shape, a=a.shape), actual, expected, inputs)
    if check_dtype and a.dtype != e.dtype:
        _fail(_t("dtype", e=e.dtype, a=a.dtype), actual, expected, inputs)
    if a.dtype.kind in "biu" and e.dtype.kind in "biu":
        bad = a != e
    else:
        a64, e64 = a.astype(np.float64), e.astype(np.float64)
        bad = ~np.isclose(a64, e64, atol=atol, rtol=rtol, equal_nan=equal_nan)
    if bad.any():
        idx = tuple(int(i) for i in np.argwhere(bad)[0])
        summary = (
            _t("value", n=int(bad.sum()), t=bad.size, atol=atol, rtol=rtol)
            + "\n"
            + _t("first", i=idx, e=e[idx].item(), a=a[idx].item())
        )
        _fail(summary, actual, expected, inputs)


def assert_equal(actual: Any, expected: Any, *, inputs: Mapping[str, Any] | None = None) -> None:
    """Exact comparison (indices, shapes, counts) with the same readable failure message."""
    a, e = _to_numpy(actual), _to_numpy(expected)
    if a.shape != e.shape:
        _fail(_t("shape", e=e.shape, a=a.shape), actual, expected, inputs)
    bad = a != e
    if np.any(bad):
        idx = tuple(int(i) for i in np.argwhere(np.atleast_1d(bad))[0])
        av, ev = np.atleast_1d(a)[idx], np.atleast_1d(e)[idx]
        _fail(_t("first", i=idx, e=ev.item(), a=av.item()), actual, expected, inputs)


def raises_naming(exc: type[Exception], *words: str) -> Callable[..., Any]:
    """``with raises_naming(ValueError, "boxes1", "[N, 4]"): ...`` — the message must name them."""
    import re

    import pytest

    return pytest.raises(exc, match="(?s)" + "".join(f"(?=.*{re.escape(w)})" for w in words))
