"""A tiny static file server for the built site, behaving like the usual static host.

* ``/x/y/`` serves ``x/y/index.html``; ``/x/y`` (a folder without the slash) redirects with 301 to
  ``/x/y/``, as GitHub Pages, Netlify and ``python -m http.server`` do. No folder listings.
* A missing path answers **404** with the body of the nearest ``404.html`` up the folder tree:
  ``/en/...`` gets ``en/404.html`` (the English 404 page) when the build wrote one, everything else
  gets the root ``404.html``. (Netlify and Cloudflare Pages behave like this; GitHub Pages only
  ever serves the root ``404.html``.)
* Every request is logged as ``(method, path, status, body bytes)`` in ``server.log``, so a test
  can compare what the browser reports with what was sent.

Only 127.0.0.1, on a free port, in a daemon thread::

    with serve(Path("site")) as server:
        print(server.url)  # http://127.0.0.1:<port>

>>> import tempfile, urllib.request, urllib.error
>>> root = Path(tempfile.mkdtemp())
>>> (root / "a").mkdir()
>>> _ = (root / "a" / "index.html").write_text("A"), (root / "404.html").write_text("gone")
>>> with serve(root) as s:
...     ok = urllib.request.urlopen(s.url + "/a/").read()
...     redirected = urllib.request.urlopen(s.url + "/a").geturl().endswith("/a/")
...     try:
...         urllib.request.urlopen(s.url + "/missing/")
...     except urllib.error.HTTPError as e:
...         missing = (e.code, e.read())
>>> ok, redirected, missing
(b'A', True, (404, b'gone'))
"""

from __future__ import annotations

import contextlib
import http.server
import posixpath
import sys
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".json": "application/json",
    ".xml": "application/xml",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".woff": "font/woff",
    ".ttf": "font/ttf",
    ".gz": "application/gzip",
    ".inv": "application/octet-stream",
}


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"  # keep-alive, like a real host

    def do_GET(self) -> None:
        self._respond(body=True)

    def do_HEAD(self) -> None:
        self._respond(body=False)

    def _respond(self, body: bool) -> None:
        root = self.server.root
        url_path = urllib.parse.unquote(urllib.parse.urlsplit(self.path).path)
        parts = [p for p in posixpath.normpath(url_path).split("/") if p not in ("", ".", "..")]
        target = root.joinpath(*parts)
        if target.is_dir():
            if not url_path.endswith("/"):
                self._send(301, b"", "text/plain", body, location=url_path + "/")
                return
            target = target / "index.html"
        if target.is_file():
            content_type = TYPES.get(target.suffix, "application/octet-stream")
            self._send(200, target.read_bytes(), content_type, body)
            return
        page = self._nearest_404(parts)
        data = page.read_bytes() if page else b"404 Not Found"
        self._send(404, data, TYPES[".html"] if page else "text/plain", body)

    def _nearest_404(self, parts: list[str]) -> Path | None:
        root = self.server.root
        for depth in range(len(parts), -1, -1):
            candidate = root.joinpath(*parts[:depth], "404.html")
            if candidate.is_file():
                return candidate
        return None

    def _send(
        self, status: int, data: bytes, content_type: str, body: bool, location: str = ""
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        if location:
            self.send_header("Location", location)
        self.end_headers()
        if body:
            self.wfile.write(data)
        self.server.log.append((self.command, self.path, status, len(data) if body else 0))

    def log_message(self, format: str, *args: object) -> None:  # quiet: the log list is enough
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, root: Path) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.root = root
        self.log: list[tuple[str, str, int, int]] = []

    def handle_error(self, request: object, client_address: object) -> None:
        # A browser closing a keep-alive connection mid-request is normal; anything else is not.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


@dataclass
class Served:
    """A running server: ``url`` without a trailing slash, ``port``, and the request ``log``."""

    url: str
    port: int
    log: list[tuple[str, str, int, int]] = field(repr=False)


@contextlib.contextmanager
def serve(root: Path) -> Iterator[Served]:
    """Serve ``root`` on 127.0.0.1 at a free port until the ``with`` block ends."""
    server = _Server(Path(root).resolve())
    thread = threading.Thread(target=server.serve_forever, name=f"site-server:{root}", daemon=True)
    thread.start()
    try:
        port = server.server_address[1]
        yield Served(url=f"http://127.0.0.1:{port}", port=port, log=server.log)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
