"""How the site build grows with the number of pages: ``python -m bench.site_scale``.

The repository's site is copied to a temporary folder (docs/, snippets/, figures/, hooks/,
tools/, overrides/, bench/, mkdocs.yml, glossary.yml; the KaTeX download is linked, not fetched
again); every topic page of both languages is copied under new names (``<topic>_scale<k>.md``,
added to the nav next to the original) until there are ``factor`` times as many, and the site is
built. We report the build time per page (wall and CPU seconds; the fit uses CPU time, which
other processes on a shared machine do not inflate) and the search-index size per language (Pagefind's
files of that language under ``site/pagefind/``: metadata, index chunks, page fragments) so the
cost of growth is known before it is paid, and the time a reader's first search takes on the built
site (headless Chromium, keystroke to results, median of 3 new contexts). Targets: build time grows
linearly, each language's index stays under 60 KB per page, and the first query answers in under
300 ms at the largest factor.

    python -m bench.site_scale                 # factors 1, 4, 10 -> "site_scale" in bench/results.json
    python -m bench.site_scale --factors 1,2 --out /tmp/site.json
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tools import pages

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = ROOT / "bench" / "results.json"
COPY_DIRS = ("docs", "snippets", "tests", "figures", "hooks", "tools", "overrides", "bench")
COPY_FILES = ("mkdocs.yml", "glossary.yml", "tracks.yml")
LANGS = ("zh", "en")
CHAPTERS = pages.CHAPTERS
INDEX_LIMIT_BYTES = 60_000  # per page and language
FIRST_QUERY_LIMIT_MS = 300  # a reader's first search at the largest factor (issue 17)
LINEAR_SLACK = 1.3  # marginal cost per page may rise this much before we call growth superlinear
FULL_FACTORS = (1, 4, 10)
QUICK_FACTORS = (1, 2)


def topic_pages(docs: Path, lang: str) -> list[str]:
    """``<chapter>/<topic>.md`` of every topic page of ``lang`` (not the chapter indexes)."""
    out = []
    for chapter in CHAPTERS:
        for path in sorted((docs / lang / chapter).glob("*.md")):
            if path.name != "index.md" and "_scale" not in path.stem:
                out.append(f"{chapter}/{path.name}")
    return out


def make_copy(dest: Path, source: Path = ROOT) -> None:
    """Copy what the build reads from ``source`` into ``dest`` (the npm downloads are linked)."""
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in COPY_DIRS:
        if (source / name).is_dir():
            shutil.copytree(source / name, dest / name, ignore=ignore, symlinks=True)
    for name in COPY_FILES:
        shutil.copy2(source / name, dest / name)
    cache = dest / ".cache"
    cache.mkdir()
    for package in [*(source / ".cache").glob("katex-*"), *(source / ".cache").glob("mermaid-*")]:
        (cache / package.name).symlink_to(package.resolve(), target_is_directory=True)  # read only


def _suffix(lang: str, k: int) -> str:
    return f"（副本 {k}）" if lang == "zh" else f" (copy {k})"


def add_copies(dest: Path, factor: int) -> dict[str, int]:
    """Write ``factor - 1`` copies of every topic page and list them in the nav; topic counts."""
    docs = dest / "docs"
    counts = {}
    for lang in LANGS:
        topics = topic_pages(docs, lang)
        counts[lang] = len(topics) * factor
        for rel in topics:
            text = (docs / lang / rel).read_text(encoding="utf-8")
            for k in range(2, factor + 1):
                title = _suffix(lang, k)
                copy = re.sub(r"^(#[ \t]+.+?)[ \t]*$", rf"\g<1>{title}", text, count=1, flags=re.M)
                (docs / lang / rel.replace(".md", f"_scale{k}.md")).write_text(
                    copy, encoding="utf-8"
                )
    config = dest / "mkdocs.yml"
    lines = []
    for line in config.read_text(encoding="utf-8").splitlines():
        lines.append(line)
        m = re.match(r"^(\s*-\s+)(?:[^:]+:\s*)?(?P<rel>[a-z_]+/[a-z0-9_]+)\.md\s*$", line)
        if m and f"{m.group('rel')}.md" in topic_pages(docs, "zh"):
            lines += [f"{m.group(1)}{m.group('rel')}_scale{k}.md" for k in range(2, factor + 1)]
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    # Every topic page has its line in tracks.yml (tools/tracks.py checks): a copy has the
    # prerequisites of its original.
    tracks = dest / "tracks.yml"
    lines, section = [], ""
    for line in tracks.read_text(encoding="utf-8").splitlines():
        lines.append(line)
        if re.match(r"^[a-z]", line):
            section = line.split(":")[0]  # topics, sources, frequency, routes
        m = re.match(r"^(\s+)(?P<rel>[a-z_]+/[a-z0-9_]+):(?P<rest>.*)$", line)
        if section == "topics" and m and f"{m.group('rel')}.md" in topic_pages(docs, "zh"):
            rest = m.group("rest")
            lines += [f"{m.group(1)}{m.group('rel')}_scale{k}:{rest}" for k in range(2, factor + 1)]
    tracks.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return counts


def build(dest: Path, strict: bool) -> tuple[float, float, int, str]:
    """Build the site in ``dest``: wall seconds, CPU seconds (mkdocs and its children), warnings.

    CPU time is what we fit: on a shared machine the wall time also counts the other processes.
    """
    site = dest / "site"
    cmd = [sys.executable, "-m", "mkdocs", "build", "--site-dir", str(site)]
    cmd.append("--strict" if strict else "--no-strict")  # mkdocs.yml sets strict: true
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=dest, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    log = proc.stdout + proc.stderr
    if proc.returncode != 0:
        useful = [line for line in log.splitlines() if not line.startswith("INFO")]
        raise RuntimeError("mkdocs build failed:\n" + "\n".join(useful[-60:]))
    warnings = sum(1 for line in log.splitlines() if line.startswith("WARNING"))
    return elapsed, cpu, warnings, log


def measure_site(dest: Path) -> dict[str, Any]:
    site, docs = dest / "site", dest / "docs"
    out: dict[str, Any] = {"pages": {}, "index_bytes": {}, "index_entries": {}}
    bundle = site / "pagefind"
    entry = json.loads((bundle / "pagefind-entry.json").read_text(encoding="utf-8"))
    for lang in LANGS:
        out["pages"][lang] = sum(1 for _ in (docs / lang).rglob("*.md"))
        # Pagefind's files of one language: its metadata, index chunks and page fragments (a
        # query fetches the metadata and only the chunks and fragments it needs).
        files = [*bundle.glob(f"pagefind.{lang}_*.pf_meta"), *bundle.glob(f"index/{lang}_*")]
        files += bundle.glob(f"fragment/{lang}_*")
        out["index_bytes"][lang] = sum(f.stat().st_size for f in files)
        out["index_entries"][lang] = entry["languages"][lang]["page_count"]
    html = [p.stat().st_size for p in site.rglob("*/index.html") if "_scale" not in str(p)]
    out["html_bytes_mean"] = round(sum(html) / len(html)) if html else None
    return out


FIRST_QUERY = {"zh": "感受野", "en": "receptive field"}  # as tests/browser/test_weight.py


def first_query_ms(site: Path, lang: str, repeats: int = 3) -> float | None:
    """Median ms from the keystroke to the results of a reader's FIRST search on a topic page
    (a new browser context each time: Pagefind's script, WebAssembly and index chunks are fetched
    then). None when there is no /usr/bin/chromium."""
    from tests.browser.helpers import CHROMIUM, CHROMIUM_ARGS
    from tests.browser.server import serve
    from tests.browser.test_search import WATCH

    if not Path(CHROMIUM).exists():
        return None
    from playwright.sync_api import sync_playwright

    path = ("/" if lang == "zh" else "/en/") + "backbone/receptive_field/"
    times = []
    with serve(site) as served, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for _ in range(repeats):
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            page = context.new_page()
            page.goto(served.url + path)
            page.wait_for_load_state("load")
            page.keyboard.press("/")  # Material's shortcut: open the search
            page.evaluate(WATCH)
            box = page.locator("input.md-search__input")
            box.fill(FIRST_QUERY[lang])
            box.press("End")  # the keyup Material listens to
            page.wait_for_function("() => window.__hbSearch.done !== null", timeout=20_000)
            state = page.evaluate("() => window.__hbSearch")
            if not state["items"]:
                raise RuntimeError(f"no results for {FIRST_QUERY[lang]!r} on {path}")
            times.append(state["done"] - state["keyup"])
            context.close()
        browser.close()
    return round(sorted(times)[len(times) // 2], 1)


WEIGHT_TOPIC = "detection/iou"  # the showcase page of tests/browser/test_weight.py


def page_weight(site: Path, snapshot: Path) -> dict[str, Any] | None:
    """A topic page's first view (bytes, requests) next to the same Markdown built with bare
    Material, measured in one run, both languages. None without /usr/bin/chromium."""
    from tests.browser.helpers import CHROMIUM, CHROMIUM_ARGS, build_bare_material, measure
    from tests.browser.server import serve

    if not Path(CHROMIUM).exists():
        return None
    from playwright.sync_api import sync_playwright

    out: dict[str, Any] = {"topic": WEIGHT_TOPIC}
    with tempfile.TemporaryDirectory() as tmp:
        bare_site = build_bare_material(Path(tmp), WEIGHT_TOPIC)
        with serve(site) as ours, serve(bare_site) as bare, sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for lang in LANGS:
                prefix = "/" if lang == "zh" else "/en/"
                topic = measure(browser, ours.url, f"{prefix}{WEIGHT_TOPIC}/")
                plain = measure(browser, bare.url, f"/{lang}/{WEIGHT_TOPIC}/")
                # The bare page's figure links are requests no server answers: not counted.
                answered = sum(1 for r in plain.resources if r["status"] is not None)
                out[lang] = {
                    "bytes": topic.bytes,
                    "requests": topic.requests,
                    "bare_bytes": plain.bytes,
                    "bare_requests": answered,
                    "ratio_bytes": round(topic.bytes / plain.bytes, 3),
                    "ratio_requests": round(topic.requests / answered, 3),
                    "by_type": topic.by_type,
                    "bare_by_type": plain.by_type,
                }
            browser.close()
    return out


def run_factor(factor: int, strict: bool, snapshot: Path, keep: bool = False) -> dict[str, Any]:
    """Build ``factor`` times the topic pages of ``snapshot`` (a copy of the repository)."""
    dest = Path(tempfile.mkdtemp(prefix=f"handbook-site-x{factor}-"))
    try:
        make_copy(dest, snapshot)
        topics = add_copies(dest, factor)
        elapsed, cpu, warnings, _ = build(dest, strict)
        stats = measure_site(dest)
        stats["first_query_ms"] = {lang: first_query_ms(dest / "site", lang) for lang in LANGS}
        if factor == 1:
            stats["page_weight"] = page_weight(dest / "site", snapshot)
    finally:
        if not keep:
            shutil.rmtree(dest, ignore_errors=True)
    pages = stats["pages"]["zh"] + stats["pages"]["en"]
    return {
        "factor": factor,
        "topic_pages": topics,
        **stats,
        "build_s": round(elapsed, 2),
        "build_cpu_s": round(cpu, 2),
        "build_s_per_page": elapsed / pages,
        "build_cpu_s_per_page": cpu / pages,
        "index_bytes_per_page": {
            lang: stats["index_bytes"][lang] / stats["pages"][lang] for lang in LANGS
        },
        "warnings": warnings,
    }


def fit(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Fixed cost and cost per page in CPU seconds (least squares), and whether the marginal cost
    per page stays flat as the site grows."""
    xs = [r["pages"]["zh"] + r["pages"]["en"] for r in runs]
    ys = [r["build_cpu_s"] for r in runs]
    n = len(xs)
    if n < 2 or len(set(xs)) < 2:
        return {
            "fixed_s": None,
            "per_page_s": None,
            "marginal_s_per_page": [],
            "marginal_rise": None,
            "growth_exponent": None,
            "linear": None,
        }
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx
    marginal = [(ys[i + 1] - ys[i]) / (xs[i + 1] - xs[i]) for i in range(n - 1)]
    rising = marginal[-1] / marginal[0] if len(marginal) > 1 and marginal[0] > 0 else None
    return {
        "fixed_s": my - slope * mx,
        "per_page_s": slope,
        "marginal_s_per_page": marginal,
        "marginal_rise": rising,
        "growth_exponent": math.log(ys[-1] / ys[0]) / math.log(xs[-1] / xs[0]),
        "linear": None if rising is None else rising <= LINEAR_SLACK,
    }


def _log_run(r: dict[str, Any], log: Any) -> None:
    zh, en = r["index_bytes"]["zh"], r["index_bytes"]["en"]
    log(
        f"site scale ×{r['factor']}: {r['pages']['zh']}+{r['pages']['en']} pages, "
        f"{r['build_s']:.1f} s, CPU {r['build_cpu_s']:.1f} s "
        f"({r['build_cpu_s_per_page'] * 1e3:.0f} ms/page), "
        f"index zh {zh / 1e3:.0f} kB ({r['index_bytes_per_page']['zh'] / 1e3:.1f} kB/page), "
        f"en {en / 1e3:.0f} kB ({r['index_bytes_per_page']['en'] / 1e3:.1f} kB/page), "
        f"first query {r['first_query_ms']['zh']} / {r['first_query_ms']['en']} ms (zh/en), "
        f"{r['warnings']} warnings"
    )


def run(
    quick: bool = False,
    factors: Sequence[int] | None = None,
    strict: bool = False,
    log: Any = print,
) -> dict[str, Any]:
    """Build the site at each factor and summarise; the value of results.json's "site_scale"."""
    from bench import machine

    factors = tuple(factors or (QUICK_FACTORS if quick else FULL_FACTORS))
    runs = []
    # One snapshot for every factor: pages that others add meanwhile must not skew the comparison.
    snapshot = Path(tempfile.mkdtemp(prefix="handbook-site-snapshot-"))
    try:
        make_copy(snapshot)
        for factor in factors:
            log(f"site scale: building ×{factor} ...")
            runs.append(run_factor(factor, strict, snapshot))
            _log_run(runs[-1], log)
    finally:
        shutil.rmtree(snapshot, ignore_errors=True)
    # What one more topic page adds to each language's index (the cost of growth), and the mean.
    first, last = runs[0], runs[-1]
    marginal_index = {
        lang: (last["index_bytes"][lang] - first["index_bytes"][lang])
        / (last["pages"][lang] - first["pages"][lang])
        for lang in LANGS
        if last["pages"][lang] > first["pages"][lang]
    }
    worst_index = max(
        [r["index_bytes_per_page"][lang] for r in runs for lang in LANGS]
        + list(marginal_index.values())
    )
    import material
    import mkdocs

    return {
        "metadata": {
            "date": machine.now(),
            "cpu_model": machine.cpu_model(),
            "cpu_count": os.cpu_count(),
            "load_average": machine.load_average(),
            "mkdocs": mkdocs.__version__,
            "material": getattr(material, "__version__", None),
            "strict": strict,
            "git_commit": machine.git_commit(),
        },
        "runs": runs,
        "fit": fit(runs),
        "page_weight": next((r["page_weight"] for r in runs if r.get("page_weight")), None),
        "targets": {
            "index_bytes_per_page_max": INDEX_LIMIT_BYTES,
            "index_marginal_bytes_per_page": marginal_index,
            "index_worst_bytes_per_page": worst_index,
            "index_met": worst_index <= INDEX_LIMIT_BYTES,
            "linear_slack": LINEAR_SLACK,
            "first_query_ms_max": FIRST_QUERY_LIMIT_MS,
            "first_query_ms_at_largest": last["first_query_ms"],
            "first_query_met": all(
                v is not None and v < FIRST_QUERY_LIMIT_MS for v in last["first_query_ms"].values()
            ),
        },
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.site_scale", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--factors", help="comma-separated multiples of today's topic pages (1,4,10)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="factors 1,2 and write to a temporary file"
    )
    parser.add_argument(
        "--strict", action="store_true", help="build with --strict (fails on warnings)"
    )
    parser.add_argument("--out", type=Path, help="results.json whose 'site_scale' key is replaced")
    args = parser.parse_args(argv)
    factors = [int(f) for f in args.factors.split(",")] if args.factors else None
    out: Path = args.out or (
        Path(tempfile.gettempdir()) / "handbook-bench" / "results-site.json"
        if args.quick
        else COMMITTED
    )
    partial = args.quick or (factors is not None and tuple(factors) != FULL_FACTORS)
    if out.resolve() == COMMITTED.resolve() and partial:
        parser.error(
            f"a partial run would overwrite the committed {COMMITTED.relative_to(ROOT)}: pass --out"
        )
    result = run(args.quick, factors, args.strict)
    from bench import run as bench_run

    data = bench_run._load(out) or {
        "schema": bench_run.SCHEMA,
        "metadata": {},
        "rows": [],
        "targets": [],
    }
    data["site_scale"] = result
    bench_run.write(data, out)
    print(f"wrote 'site_scale' into {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
