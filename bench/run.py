"""Time the handbook's hand-written ops against the libraries: ``python -m bench.run``.

Every op is timed in its naive (loop) and fast (vectorised) forms and in the library it mirrors,
on CPU, at several sizes; each figure is also given as a ratio to the library measured in the
same run, which is what stays comparable across machines and across a busy or idle machine.

    python -m bench.run                  # full run -> bench/results.json + bench/results.md
    python -m bench.run --quick          # < 1 min smoke run -> a temporary folder
    python -m bench.run --quick --out /tmp/b/results.json
    python -m bench.run --ops nms,box_iou --out /tmp/b/results.json
    python -m bench.run --site-scale     # also the site-build growth benchmark (bench.site_scale)
    python -m bench.run --markdown-only  # rewrite results.md from results.json
    python -m bench.run --test-times     # copy the last `nox -s tests` per-chapter times in

A quick run never writes to the committed ``bench/results.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import cases, machine, report
from bench.timing import Settings, measure, predict

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = ROOT / "bench" / "results.json"
SCHEMA = 1


@dataclass(frozen=True)
class Profile:
    settings: Settings
    naive_budget: float  # skip a slow implementation once its predicted time per call exceeds this


PROFILES = {
    "full": Profile(Settings(repeats=21, min_time=0.05, max_total=10.0), naive_budget=3.0),
    "quick": Profile(Settings(repeats=5, min_time=0.005, max_total=0.5), naive_budget=0.3),
    "tiny": Profile(Settings(repeats=3, min_time=0.002, max_total=0.1), naive_budget=0.05),
}


def _row(op: cases.Op, impl: str, size: int, **fields: Any) -> dict[str, Any]:
    row = {
        "op": op.name,
        "impl": impl,
        "function": cases.function_name(op, impl),
        "size": size,
        "label": op.label(size),
        "status": "ok",
        "median_s": None,
        "spread": None,
        "ratio_to_library": None,
        "ratio_of_min": None,
        "loops": None,
        "repeats": None,
        "matches_library": None,
        "library_kernel": None,
        "note": None,
        "peak_bytes": None,
    }
    row.update(fields)
    return row


def bench_op(op: cases.Op, profile_name: str, log: Callable[[str], None]) -> list[dict[str, Any]]:
    profile = PROFILES[profile_name]
    found, missing = cases.snippet_functions(op)
    library = cases.library_function(op)
    rows: list[dict[str, Any]] = []
    last: dict[str, tuple[float, float]] = {}  # impl -> (size, seconds) of its last timing
    for size in op.sizes[profile_name]:
        inputs = op.setup(size)
        fns: dict[str, Callable[[], object]] = {}
        notes: dict[str, dict[str, Any]] = {}
        warmed: dict[str, float] = {}
        reference = op.call("library", library, inputs)()
        for impl, _ in op.impls:
            if impl in missing:
                notes[impl] = {"status": "unavailable", "note": missing[impl]}
                continue
            exponent = op.exponents.get(impl)
            if exponent is not None:
                expected = predict(last.get(impl), size, exponent)
                if expected > profile.naive_budget:
                    notes[impl] = {
                        "status": "skipped",
                        "note": f"skipped: about {expected:.3g} s per call predicted "
                        f"(O(size^{exponent:g}) from the previous size), "
                        f"over the {profile.naive_budget:g} s budget",
                    }
                    continue
            thunk = op.call(impl, found[impl], inputs)
            try:
                started = time.perf_counter()
                out = thunk()  # the output to compare, and the warm-up call
                warmed[impl] = time.perf_counter() - started
            except Exception as exc:
                notes[impl] = {"status": "error", "note": f"error: {type(exc).__name__}: {exc}"}
                continue
            if exponent is not None and warmed[impl] > profile.naive_budget:
                notes[impl] = {
                    "status": "skipped",
                    "note": f"skipped: one call took {warmed[impl]:.3g} s, "
                    f"over the {profile.naive_budget:g} s budget",
                }
                last[impl] = (size, warmed[impl])
                continue
            fns[impl] = thunk
            notes[impl] = {"matches_library": bool(op.same(out, reference))}
        fns["library"] = op.call("library", library, inputs)
        if op.memory is not None:  # one extra call each, under the memory profiler
            for impl, thunk in fns.items():
                notes.setdefault(impl, {})["peak_bytes"] = op.memory(thunk)
        timings = measure(fns, profile.settings, {k: v for k, v in warmed.items() if k in fns})
        lib = timings["library"].median_s
        for impl in [i for i, _ in op.impls] + ["library"]:
            if impl in timings:
                t = timings[impl]
                last[impl] = (size, t.median_s)
                fields = dict(notes.get(impl, {}))
                if impl == "library":
                    fields["matches_library"] = True
                    fields["library_kernel"] = op.kernel(inputs) if op.kernel else None
                row = _row(
                    op,
                    impl,
                    size,
                    median_s=t.median_s,
                    spread=t.spread(),
                    ratio_to_library=t.median_s / lib,
                    ratio_of_min=t.min_s / timings["library"].min_s,
                    loops=t.loops,
                    repeats=t.repeats,
                    **fields,
                )
                if row["matches_library"] is False:
                    row["note"] = "output differs from the library's"
            else:
                row = _row(op, impl, size, **notes[impl])
            rows.append(row)
            log(_progress(row))
    return rows


def _progress(row: dict[str, Any]) -> str:
    head = f"{row['op']:<12} {row['impl']:<9} {row['label']:<24}"
    if row["status"] != "ok":
        return f"{head} {row['note']}"
    mark = "" if row["matches_library"] else "  (OUTPUT DIFFERS FROM LIBRARY)"
    return f"{head} {row['median_s'] * 1e3:10.3f} ms  ×{row['ratio_to_library']:.2f}{mark}"


def evaluate_targets(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    anchors = {op.name: op.anchor for op in cases.OPS}
    for target in cases.TARGETS:
        measured = [
            r
            for r in rows
            if r["op"] == target.op
            and r["impl"] == target.impl
            and r["status"] == "ok"
            and (target.size is None or r["size"] == target.size)
        ]
        worst = max(measured, key=lambda r: r["ratio_to_library"], default=None)
        largest = max(measured, key=lambda r: r["size"], default=None)
        out.append(
            {
                "op": target.op,
                "impl": target.impl,
                "size": target.size,
                "anchor": anchors[target.op],
                "max_ratio": target.max_ratio,
                "measured_ratio": worst["ratio_to_library"] if worst else None,
                "measured_size": worst["size"] if worst else None,
                "largest_size": largest["size"] if largest else None,
                "ratio_at_largest": largest["ratio_to_library"] if largest else None,
                "met": (worst["ratio_to_library"] <= target.max_ratio) if worst else None,
            }
        )
    return out


def collect(
    profile: str = "full",
    ops: Sequence[str] | None = None,
    threads: int = 1,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Run the benchmarks of ``profile`` and return the results (not written anywhere)."""
    import torch

    thread_counts = machine.set_threads(threads)
    selected = [op for op in cases.OPS if ops is None or op.name in ops]
    unknown = set(ops or ()) - {op.name for op in cases.OPS}
    if unknown:
        raise SystemExit(f"unknown op(s) {sorted(unknown)}; known: {[op.name for op in cases.OPS]}")
    meta = machine.describe(thread_counts)
    meta["profile"] = profile
    meta["settings"] = {
        **PROFILES[profile].settings.__dict__,
        "naive_budget_s": PROFILES[profile].naive_budget,
    }
    log(
        f"bench ({profile}): torch threads {thread_counts['torch']}, "
        f"numpy BLAS threads {thread_counts['numpy_blas']}, {meta['cpu_model']}, "
        f"{meta['cpu_count']} cores, load {meta['load_average_start']}"
    )
    start = time.perf_counter()
    rows: list[dict[str, Any]] = []
    with torch.inference_mode():
        for op in selected:
            rows += bench_op(op, profile, log)
    meta["duration_s"] = round(time.perf_counter() - start, 1)
    meta["load_average_end"] = machine.load_average()
    return {
        "schema": SCHEMA,
        "metadata": meta,
        "rows": rows,
        "targets": evaluate_targets(rows),
    }


def write(results: dict[str, Any], out: Path) -> None:
    """Write ``results.json`` and, beside it, ``results.md``."""
    out.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(results, indent=1, ensure_ascii=False, allow_nan=False)
    out.write_text(text + "\n", encoding="utf-8")
    out.with_suffix(".md").write_text(report.markdown(results), encoding="utf-8")


def _default_out(profile: str) -> Path:
    if profile == "full":
        return COMMITTED
    return Path(tempfile.gettempdir()) / "handbook-bench" / f"results-{profile}.json"


def _is_committed(path: Path) -> bool:
    return path.resolve() == COMMITTED.resolve()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="short smoke run (< 1 min)")
    parser.add_argument("--profile", choices=sorted(PROFILES), help="full (default), quick, tiny")
    parser.add_argument(
        "--out", type=Path, help="results.json to write (results.md goes beside it)"
    )
    parser.add_argument("--ops", help=f"comma-separated subset of {[o.name for o in cases.OPS]}")
    parser.add_argument("--threads", type=int, default=1, help="torch and NumPy BLAS threads (1)")
    parser.add_argument("--site-scale", action="store_true", help="also run bench.site_scale")
    parser.add_argument(
        "--markdown-only",
        action="store_true",
        help="only rewrite results.md from the existing results.json (no measuring)",
    )
    parser.add_argument(
        "--test-times",
        action="store_true",
        help="only copy the per-chapter test times of the last full `nox -s tests` into results.json",
    )
    args = parser.parse_args(argv)
    if args.test_times:
        path = args.out or COMMITTED
        data, times = _load(path), _load(ROOT / ".cache" / "test-times.json")
        if data is None or times is None:
            parser.error(f"need {path} and .cache/test-times.json (run `nox -s tests` first)")
        data["test_times"] = times
        write(data, path)
        print(f"wrote the test times of {len(times['chapters'])} chapters into {path}")
        return 0
    if args.markdown_only:
        path = args.out or COMMITTED
        data = _load(path)
        if data is None:
            parser.error(f"no results to render at {path}")
        path.with_suffix(".md").write_text(report.markdown(data), encoding="utf-8")
        print(f"wrote {path.with_suffix('.md')}")
        return 0
    profile = args.profile or ("quick" if args.quick else "full")
    ops = [o.strip() for o in args.ops.split(",") if o.strip()] if args.ops else None
    out: Path = args.out or _default_out(profile)
    if _is_committed(out) and (profile != "full" or ops is not None):
        parser.error(
            f"a {profile} run{' of some ops' if ops else ''} would overwrite the committed "
            f"{COMMITTED.relative_to(ROOT)}: pass --out to write elsewhere"
        )
    results = collect(profile, ops, args.threads)
    previous = _load(out)
    if args.site_scale:
        from bench import site_scale

        results["site_scale"] = site_scale.run(quick=profile != "full")
    elif previous and "site_scale" in previous:
        results["site_scale"] = previous["site_scale"]  # keep the last site measurement
    times = _load(ROOT / ".cache" / "test-times.json")  # written by the last full `nox -s tests`
    if times:
        results["test_times"] = times
    elif previous and "test_times" in previous:
        results["test_times"] = previous["test_times"]
    write(results, out)
    _check(results)
    print(f"wrote {out} and {out.with_suffix('.md')} in {results['metadata']['duration_s']} s")
    for t in results["targets"]:
        verdict = {True: "met", False: "MISSED", None: "not measured"}[t["met"]]
        got = "—" if t["measured_ratio"] is None else f"×{t['measured_ratio']:.2f}"
        print(f"target {t['op']} {t['impl']} ≤ ×{t['max_ratio']:g}: {got} {verdict}")
    return 0


def _load(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _check(results: dict[str, Any]) -> None:
    """Say loudly what a reader of the page would otherwise miss."""
    for row in results["rows"]:
        if row["status"] in ("unavailable", "error"):
            print(
                f"warning: {row['op']} {row['impl']} {row['label']}: {row['note']}", file=sys.stderr
            )
        elif row["status"] == "ok":
            if not (math.isfinite(row["ratio_to_library"]) and row["ratio_to_library"] > 0):
                print(f"warning: bad ratio in {row}", file=sys.stderr)
            if row["matches_library"] is False:
                print(
                    f"warning: {row['function']} {row['label']} differs from the library",
                    file=sys.stderr,
                )


if __name__ == "__main__":
    raise SystemExit(main())
