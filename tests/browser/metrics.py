"""The browser tests' numbers: merged from every process and printed after the run.

Each process of the browser session (each xdist worker, or the one process without xdist)
writes what its tests measured to ``site/_screenshots/metrics.<worker>.json``. The root
conftest calls ``report`` at the end of the run: the parts are merged into ``metrics.json`` and
the numbers a reviewer asks for are printed, one line each.
"""

from __future__ import annotations

import json
import os
from typing import Any

from tests.browser import pages

SCREENSHOTS = pages.SITE / "_screenshots"


def clear() -> None:
    """Remove the parts a previous run left (called once, before the tests)."""
    for stale in SCREENSHOTS.glob("metrics.*.json"):
        stale.unlink()


def _merge(into: dict[str, Any], part: dict[str, Any]) -> None:
    for key, value in part.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def merged() -> dict[str, Any]:
    """Every process's numbers, written once to metrics.json."""
    collected: dict[str, Any] = {}
    whole = SCREENSHOTS / "metrics.json"
    if os.environ.get("HANDBOOK_METRICS_APPEND") == "1" and whole.exists():
        # A second run of the same session (nox -s browser's live-preview step) adds its numbers.
        collected = json.loads(whole.read_text(encoding="utf-8"))
    for part in sorted(SCREENSHOTS.glob("metrics.*.json")):
        _merge(collected, json.loads(part.read_text(encoding="utf-8")))
        part.unlink()
    if collected and pages.SITE.is_dir():
        SCREENSHOTS.mkdir(exist_ok=True)
        text = json.dumps(collected, ensure_ascii=False, indent=2)
        (SCREENSHOTS / "metrics.json").write_text(text + "\n", encoding="utf-8")
    return collected


def report(terminalreporter: Any) -> None:
    collected = merged()
    if collected:
        terminalreporter.section("browser metrics (also in site/_screenshots/metrics.json)")
        for line in summary_lines(collected):
            terminalreporter.write_line(line)


def _kib(n: float) -> str:
    return f"{n / 1024:.0f} KiB"


def summary_lines(m: dict[str, Any]) -> list[str]:
    """The numbers a reviewer asks for, one line each."""
    lines = []
    weight = m.get("page_weight", {})
    bare = weight.get("bare_material")
    if bare:
        lines.append(f"bare Material page: {bare['requests']} requests, {_kib(bare['bytes'])}")
    for lang in pages.LANGS:
        w = weight.get(f"topic_{lang}")
        if w:
            by_type = ", ".join(
                f"{k} {v['requests']}/{_kib(v['bytes'])}" for k, v in w["by_type"].items()
            )
            lines.append(
                f"topic page {w['url']}: {w['requests']} requests, {_kib(w['bytes'])} "
                f"= {w['ratio_bytes_vs_bare']}x bare Material bytes, "
                f"{w['ratio_requests_vs_bare']}x its requests ({by_type})"
            )
    for lang, s in m.get("search", {}).items():
        lines.append(
            f"search {lang}: {s['queries']} queries, keystroke to results median {s['median_ms']} ms, "
            f"max {s['max_ms']} ms; the worker answered its first query "
            f"{s['index_ready_ms']} ms after the page was quiet"
        )
    for lang, ranks in m.get("search_quality", {}).items():
        kinds: dict[str, list[int]] = {}
        for kind, rank in ranks.values():
            kinds.setdefault(kind, [0, 0])
            kinds[kind][0] += 0 < rank <= 3
            kinds[kind][1] += 1
        hits = sum(h for h, _ in kinds.values())
        by_kind = ", ".join(f"{k} {h}/{n}" for k, (h, n) in sorted(kinds.items()))
        missed = [q for q, (_, rank) in ranks.items() if not 0 < rank <= 3]
        lines.append(
            f"search quality {lang}: {hits}/{len(ranks)} queries find their page in the top 3 = "
            f"{hits / len(ranks):.0%} ({by_kind})" + (f"; missed: {missed}" if missed else "")
        )
    for lang, s in m.get("search_index", {}).items():
        lines.append(
            f"search {lang}: the first query ({s['first_query']}) fetched {s['first_query_requests']} "
            f"files, {_kib(s['first_query_bytes'])}; the {lang} index is "
            f"{_kib(s['index_bytes_on_disk'])} in {s['index_chunks_on_disk']} chunks on disk"
        )
    live = m.get("live_preview")
    if live:
        lines.append(
            f"live preview: page edit -> both languages {live['page_edit_to_both_languages_s']} s, "
            f"snippet edit -> both languages {live['snippet_edit_to_both_languages_s']} s"
        )
    every = m.get("pages", {})
    if every:
        heaviest = sorted(every.items(), key=lambda kv: -kv[1]["bytes"])[:3]
        lines.append(
            f"pages visited: {len(every)}; heaviest: "
            + ", ".join(f"{p} {_kib(v['bytes'])}/{v['requests']} req" for p, v in heaviest)
        )
    return lines
