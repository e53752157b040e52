"""The query set of ``search_queries.py``: each query finds its page in the top three results.

Every query is typed into the header's search box of the site in its language, as a reader
does. Besides one test per query, the precision over the whole set (hits / queries, per language
and per kind of query) goes to the browser metrics, so a ranking regression shows as a number.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.browser import pages
from tests.browser.search_queries import QUERIES
from tests.browser.test_search import TOP, SearchBox

pytestmark = pytest.mark.browser

CASES = [
    pytest.param(
        lang,
        query,
        page,
        kind,
        id=f"{lang}-{kind}-{query}",
        marks=pytest.mark.xdist_group(f"search:{lang}"),
    )
    for lang, entries in QUERIES.items()
    for query, page, kind in entries
]


def _record(metrics: dict[str, Any], lang: str, kind: str, query: str, rank: int) -> None:
    """Per query (merge-safe across workers): its kind and the rank of its page (0: not listed)."""
    metrics.setdefault("search_quality", {}).setdefault(lang, {})[query] = [kind, rank]


@pytest.mark.parametrize(("lang", "query", "page", "kind"), CASES)
def test_query_finds_its_page_in_the_top_three(
    search_box: Callable[[str], SearchBox],
    metrics: dict[str, Any],
    lang: str,
    query: str,
    page: str,
    kind: str,
) -> None:
    expected = f"{pages.PREFIX[lang]}{page}/"
    found, _, meta = search_box(lang).search(query)
    rank = found.index(expected) + 1 if expected in found else 0
    _record(metrics, lang, kind, query, rank)
    assert all(pages.lang_of(p) == lang for p in found), f"other-language pages: {found}"
    assert 0 < rank <= TOP, (
        f"{lang} search for {query!r} ({kind}): {expected} is "
        + (f"result {rank}" if rank else "not listed")
        + f"; top {TOP}: {found[:TOP]} ({meta})"
    )
