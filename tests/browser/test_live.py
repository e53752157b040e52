"""Live preview (`nox -s serve`): an edit reaches the open page in both languages, and a broken
figure is shown on its page while the server keeps serving.

The server runs `mkdocs serve --dirty` (as `nox -s serve` does) on a copy of the repository, so
the edits never touch the working tree. How long an edit takes to show is measured and reported
with the other browser metrics (site/_screenshots/metrics.json); like every timing here it is a
number for the reader, not an assertion (these machines are noisy). `nox -s browser` runs this
module alone, after the others, so the number is the server's and not the other worker's.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bench.site_scale import make_copy
from tests.browser import pages

# One server (or bare build) per module: its tests run on one worker.
pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("module:test_live")]
ROOT = pages.ROOT
PAGE = "detection/nms"
STARTUP_LIMIT_S = 600  # the first build of a cold copy draws every figure
EDIT_LIMIT_S = 60


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _up(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, str]]:
    copy = tmp_path_factory.mktemp("live")
    make_copy(copy)
    port = _free_port()
    env = dict(
        os.environ,
        HANDBOOK_SERVE="1",
        HANDBOOK_CACHE=str(ROOT / ".cache"),  # content-addressed: safe to share
        NO_MKDOCS_2_WARNING="1",
    )
    args = ["serve", "--dirty", "--no-strict", "--livereload", "--dev-addr", f"127.0.0.1:{port}"]
    log = (copy / "serve.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "mkdocs", *args], cwd=copy, env=env, stdout=log, stderr=log
    )
    origin = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + STARTUP_LIMIT_S
    while not _up(f"{origin}/{PAGE}/") and time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"mkdocs serve exited: {(copy / 'serve.log').read_text()[-3000:]}")
        time.sleep(1)
    try:
        yield copy, origin
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


def _wait_for(page: Any, text: str) -> float:
    """Seconds until the (live-reloaded) page's HTML contains ``text``."""
    start = time.monotonic()
    page.wait_for_function(
        "t => document.documentElement.innerHTML.includes(t)", arg=text, timeout=EDIT_LIMIT_S * 1000
    )
    return time.monotonic() - start


def _append(path: Path, text: str) -> None:
    path.write_text(path.read_text(encoding="utf-8") + text, encoding="utf-8")


def test_an_edit_reaches_both_languages(live, browser, metrics) -> None:
    copy, origin = live
    zh, en = browser.new_page(), browser.new_page()
    zh.goto(f"{origin}/{PAGE}/")
    en.goto(f"{origin}/en/{PAGE}/")
    time.sleep(1.5)  # the livereload script connects after the page loads
    marker = f"live-edit-{time.time_ns()}"
    start = time.monotonic()
    _append(copy / f"docs/zh/{PAGE}.md", f"\n\n{marker}\n")
    _append(copy / f"docs/en/{PAGE}.md", f"\n\n{marker}\n")
    _wait_for(zh, marker)
    _wait_for(en, marker)
    page_s = time.monotonic() - start

    # An edit to the snippet the page embeds re-renders that page too (tools/live.py).
    snippet = copy / "snippets/detection/nms.py"
    code_marker = f"live_code_{time.time_ns()}"
    text = snippet.read_text(encoding="utf-8")
    anchor = "    order = torch.argsort(scores, descending=True, stable=True)  # best first"
    assert anchor in text, "the test edits nms_naive's body: update the anchor"
    start = time.monotonic()
    snippet.write_text(text.replace(anchor, f"    # {code_marker}\n{anchor}", 1), encoding="utf-8")
    _wait_for(zh, code_marker)
    _wait_for(en, code_marker)
    code_s = time.monotonic() - start
    metrics["live_preview"] = {
        "page_edit_to_both_languages_s": round(page_s, 2),
        "snippet_edit_to_both_languages_s": round(code_s, 2),
    }
    zh.close()
    en.close()


def test_a_broken_figure_shows_on_the_page_and_the_server_keeps_serving(live, browser) -> None:
    copy, origin = live
    page = browser.new_page()
    page.goto(f"{origin}/en/{PAGE}/")
    time.sleep(1.5)
    _append(copy / f"docs/en/{PAGE}.md", "\n\n![broken](figure:detection/nms.py:no_such_figure)\n")
    _wait_for(page, "no_such_figure")
    assert "failed" in page.inner_text("body")
    assert _up(f"{origin}/detection/iou/"), "the server must keep serving after a broken figure"
    page.close()
