"""The site build: wrong includes and markers fail it, and the search index is built per language.

The site tests build the whole site once (about 20 s) into a temporary folder, or read the one
named by ``HANDBOOK_SITE`` (``nox -s tests`` passes the site that ``nox -s docs`` built).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tools import embed, pages

ROOT = pages.ROOT


def test_include_of_existing_section_renders_the_code() -> None:
    page = embed.expand('```python\n--8<-- "snippets/detection/iou.py:box_iou"\n```')
    assert "def box_iou" in page and "--8<--" not in page


def test_embedded_docstrings_keep_only_their_first_line() -> None:
    """On a phone ~40 characters of a line show: Args/Examples stay in the API reference."""
    module = (ROOT / "snippets/detection/iou.py").read_text(encoding="utf-8")
    page = embed.expand('```python\n--8<-- "snippets/detection/iou.py:box_iou"\n```')
    assert "Args:" in module and ">>> " in module  # the doctests still run from the module
    assert "Args:" not in page and ">>> " not in page
    assert '"""' in page  # the one-line summary is kept


@pytest.mark.parametrize(
    "include",
    [
        '--8<-- "snippets/detection/no_such_file.py:box_iou"',
        '--8<-- "snippets/detection/iou.py:no_such_section"',
        '--8<-- "snippets/detection/iou.py"',  # no section: would embed the whole module
        '--8<-- "README.md:x"',  # only code CI runs is embedded
        '--8<-- "snippets/../README.md:x"',
    ],
)
def test_wrong_include_fails_the_build(include: str) -> None:
    with pytest.raises(embed.EmbedError):
        embed.expand(f"```python\n{include}\n```")


@pytest.mark.parametrize("marker", ["end", "start"])
def test_a_renamed_marker_fails_instead_of_publishing_the_rest(
    marker: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pymdownx.snippets embeds up to the end of the file when the end marker is gone."""
    (tmp_path / "snippets").mkdir()
    code = "# --8<-- [start:f]\ndef f():\n    return 1\n# --8<-- [end:f]\n\nSECRET = 2\n"
    (tmp_path / "snippets" / "m.py").write_text(code.replace(f"[{marker}:f]", f"[{marker}:g]"))
    monkeypatch.setattr(embed, "ROOT", tmp_path)
    with pytest.raises(embed.EmbedError, match="section 'f'"):
        embed.expand('```python\n--8<-- "snippets/m.py:f"\n```')


# ------------------------------------------------------------------------- built site


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # `nox -s tests` passes the site `nox -s docs` built from the same sources (built once per run).
    if os.environ.get("HANDBOOK_SITE"):
        built = Path(os.environ["HANDBOOK_SITE"])
        assert (built / "index.html").is_file(), f"HANDBOOK_SITE={built} holds no built site"
        return built
    out = tmp_path_factory.mktemp("site")
    env = dict(os.environ, NO_MKDOCS_2_WARNING="1")
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


def _built_pages(site: Path, lang: str) -> list[Path]:
    return [
        p
        for p in site.rglob("index.html")
        if (p.relative_to(site).parts[0] == "en") == (lang == "en")
        and p.relative_to(site).parts[0] not in ("pagefind", "assets")
    ]


def test_each_language_has_its_own_pagefind_index(site: Path) -> None:
    """Pagefind keeps one index per <html lang>: a reader searches the pages of their language."""
    entry = json.loads((site / "pagefind" / "pagefind-entry.json").read_text(encoding="utf-8"))
    languages = entry["languages"]
    assert set(languages) == {"zh", "en"}, f"Pagefind indexed the languages {sorted(languages)}"
    for lang in ("zh", "en"):
        built = len(_built_pages(site, lang))
        assert languages[lang]["page_count"] == built, (
            f"{lang}: Pagefind indexed {languages[lang]['page_count']} pages, the build has {built}"
        )


def test_material_index_is_empty(site: Path) -> None:
    """Material's search box still loads its index: it must be the configuration only."""
    for path in (site / "search" / "search_index.json", site / "en/search/search_index.json"):
        index = json.loads(path.read_text(encoding="utf-8"))
        assert index["docs"] == [] and "config" in index, f"{path} holds {len(index['docs'])} docs"


def test_query_words_come_from_the_pages(site: Path) -> None:
    """The words search.js cuts a Chinese query into are jieba's words of the pages, and the
    correction vocabulary knows the glossary's words in both languages."""
    zh = json.loads((site / "assets" / "search-words.zh.json").read_text(encoding="utf-8"))
    en = json.loads((site / "assets" / "search-words.en.json").read_text(encoding="utf-8"))
    segments = set(zh["segments"])
    assert {"卷积", "归一化", "注意力"} <= segments, "common words missing from the segments"
    assert all(len(w) > 1 for w in segments), "single characters in the segments"
    assert {"receptive", "field", "attention"} <= set(en["words"])
    assert zh["synonyms"].get("receptive field") == "感受野"
    assert en["synonyms"].get("感受野") == "receptive field"


def test_no_third_party_urls_in_built_assets(site: Path) -> None:
    """Nothing the browser loads by itself points off the site (links a reader clicks are fine)."""
    loads = re.compile(r"<(?:script|img|iframe|source|link)\b[^>]*>", re.I)
    remote = re.compile(r"""(?:src|href)\s*=\s*["'](?:https?:)?//""", re.I)
    not_a_fetch = re.compile(r"""rel\s*=\s*["'](?:canonical|alternate)""", re.I)
    offenders = []
    for path in site.rglob("*.html"):
        for tag in loads.findall(path.read_text(encoding="utf-8", errors="replace")):
            if remote.search(tag) and not not_a_fetch.search(tag):
                offenders.append(f"{path.relative_to(site)}: {tag[:120]}")
    for path in site.rglob("*.css"):
        if re.search(
            r"url\(\s*[\"']?(?:https?:)?//", path.read_text(encoding="utf-8", errors="replace")
        ):
            offenders.append(f"{path.relative_to(site)}: remote url() in CSS")
    assert offenders == [], "\n".join(offenders[:10])


def test_api_reference_titles_are_localised(site: Path) -> None:
    def titles(path: Path) -> set[str]:
        html = path.read_text(encoding="utf-8")
        return set(re.findall(r'doc-section-title">([^<:：]+)', html))

    zh, en = (
        titles(site / "reference" / "index.html"),
        titles(site / "en" / "reference" / "index.html"),
    )
    assert {"参数", "返回", "示例"} <= zh, zh
    assert {"Parameters", "Returns", "Examples"} <= en, en
    assert not zh & en, f"untranslated section titles on the Chinese API page: {zh & en}"


def test_each_language_has_its_own_404(site: Path) -> None:
    assert '<html lang="zh"' in (site / "404.html").read_text(encoding="utf-8")
    assert '<html lang="en"' in (site / "en" / "404.html").read_text(encoding="utf-8")
