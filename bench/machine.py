"""The machine and software a run was measured on, and the thread counts it used."""

from __future__ import annotations

import ctypes
import datetime as dt
import glob
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ENV_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def _numpy_openblas() -> Any | None:
    """NumPy's bundled OpenBLAS (scipy-openblas), so its threads can be set like torch's."""
    import numpy as np

    libs = Path(np.__file__).resolve().parent.parent / "numpy.libs"
    for path in sorted(glob.glob(str(libs / "libscipy_openblas*.so*"))):
        try:
            lib = ctypes.CDLL(path)  # already loaded by numpy: the same handle comes back
        except OSError:
            continue
        for suffix in ("64_", "_64_", ""):
            setter = getattr(lib, f"scipy_openblas_set_num_threads{suffix}", None)
            getter = getattr(lib, f"scipy_openblas_get_num_threads{suffix}", None)
            if setter is not None and getter is not None:
                return setter, getter
    return None


def set_threads(n: int) -> dict[str, Any]:
    """Use ``n`` threads in torch and in NumPy's BLAS; report what each now uses."""
    import torch

    torch.set_num_threads(n)
    blas = _numpy_openblas()
    numpy_threads: int | None = None
    if blas is not None:
        setter, getter = blas
        setter(ctypes.c_int(n))
        numpy_threads = int(getter())
    return {"torch": torch.get_num_threads(), "numpy_blas": numpy_threads}


def now() -> str:
    """The current time in UTC, ISO 8601, to the second."""
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


def cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError):
        return None
    return out.stdout.strip() or None


def describe(threads: dict[str, Any]) -> dict[str, Any]:
    import matplotlib
    import numpy as np
    import timm
    import torch
    import torchvision

    blas = np.show_config(mode="dicts").get("Build Dependencies", {}).get("blas", {})
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:
        usable = os.cpu_count()
    return {
        "date": now(),
        "cpu_model": cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": usable,
        "machine": platform.machine(),
        "os": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numpy_blas": " ".join(str(blas.get(k, "")) for k in ("name", "version")).strip() or None,
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "timm": timm.__version__,
        "matplotlib": matplotlib.__version__,
        "threads": threads,
        "env": {name: os.environ.get(name) for name in ENV_VARS},
        "load_average_start": load_average(),
        "git_commit": git_commit(),
        "argv": sys.argv[1:],
    }
