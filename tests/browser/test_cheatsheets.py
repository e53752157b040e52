"""Every chapter's cheat sheet, printed by Chromium: it fits on the A4 pages it promises, every
formula rendered, the site's chrome is not printed, and nothing is fetched from another site.

One visit per sheet (9 chapters x 2 languages) in one tab; the PDFs are kept next to the
screenshots (``site/_screenshots/cheatsheet-<lang>-<chapter>.pdf``) for a reviewer to look at.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import pages
from tests.browser.helpers import Tab
from tools import cheatsheet
from tools import pages as docs

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("cheatsheets")]

SHEETS = [(lang, ch) for lang in pages.LANGS for ch in docs.CHAPTERS]
# A page object of the PDF, not the /Pages tree that lists them.
PDF_PAGE = re.compile(rb"/Type\s*/Page(?![A-Za-z])")
CHROME = [".md-header", ".md-tabs", ".md-sidebar--primary", ".md-sidebar--secondary", ".md-footer"]

FACTS = """(chrome) => ({
  katex: document.querySelectorAll('article .katex').length,
  errors: document.querySelectorAll('.katex-error').length,
  promised: (document.querySelector('.hb-sheet-promise') || {dataset: {}}).dataset.pages,
  topics: document.querySelectorAll('.hb-sheet h2').length,
  printed: chrome.filter((s) => [...document.querySelectorAll(s)].some(
    (e) => getComputedStyle(e).display !== 'none')),
})"""


def pdf_pages(pdf: bytes) -> int:
    """The number of pages of a PDF: its ``/Type /Page`` objects (not ``/Type /Pages``).

    >>> pdf_pages(b"<< /Type /Pages /Kids [1 0 R 2 0 R] >> << /Type /Page >> <</Type/Page>>")
    2
    """
    return len(PDF_PAGE.findall(pdf))


@pytest.fixture(scope="module")
def tab(browser: Any, server: Any) -> Iterator[Tab]:
    tab = Tab(browser, server.url, viewport={"width": 1280, "height": 900})
    yield tab
    tab.close()


@pytest.mark.parametrize("lang,chapter", SHEETS, ids=[f"{lang}-{ch}" for lang, ch in SHEETS])
def test_sheet_prints_on_the_pages_it_promises(
    tab: Tab, screenshots: Path, metrics: dict, lang: str, chapter: str
) -> None:
    path = f"{pages.PREFIX[lang]}{cheatsheet.FOLDER}/{chapter}/"
    response = tab.open(path)
    assert response is not None and response.status == 200, f"{path} is not built"
    tab.page.emulate_media(media="print")
    facts = tab.page.evaluate(FACTS, CHROME)
    pdf = tab.page.pdf(format="A4", print_background=True)
    tab.page.emulate_media(media="screen")
    (screenshots / f"cheatsheet-{lang}-{chapter}.pdf").write_bytes(pdf)
    n = pdf_pages(pdf)
    metrics.setdefault("cheatsheet_pages", {})[f"{lang}/{chapter}"] = n

    promise = cheatsheet.PAGES[chapter]
    assert facts["promised"] == str(promise), "the sheet states another page count"
    assert 1 <= n <= promise, f"{path} prints on {n} A4 pages; it promises at most {promise}"
    assert facts["errors"] == 0, f"{path}: {facts['errors']} formula(s) KaTeX could not render"
    _, formulas = cheatsheet.sheet_markdown(lang, chapter)
    assert facts["katex"] == formulas, (
        f"{path}: {facts['katex']} rendered formulas, {formulas} in the marked source"
    )
    assert facts["topics"] == len(cheatsheet.topics(lang, chapter))
    assert facts["printed"] == [], f"printed with the site's chrome: {facts['printed']}"
    assert tab.recorder.external == [], f"requests to another site: {tab.recorder.external}"
