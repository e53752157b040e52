"""The site build: wrong includes and markers fail it, and the built search index segments Chinese.

The search tests build the whole site once (about 20 s) into a temporary folder, or read the one
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

from tools import embed, generated, pages

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


def _index(site: Path, lang: str) -> dict:
    path = site / ("search" if lang == "zh" else "en/search") / "search_index.json"
    return json.loads(path.read_text(encoding="utf-8"))


def _tokens(index: dict, text: str) -> set[str]:
    separator = index["config"]["separator"]  # the regex the browser uses, also valid in Python
    return {t for t in re.split(separator, text) if t}


def test_each_language_has_its_own_index(site: Path) -> None:
    zh, en = _index(site, "zh"), _index(site, "en")
    assert zh["docs"] and en["docs"]
    cjk = re.compile(r"[\u4e00-\u9fff]")
    # Chinese readers search Chinese pages, English readers English pages (decision: no mixing).
    assert all(not d["location"].startswith("en/") for d in zh["docs"])
    en_titles_with_cjk = [d["title"] for d in en["docs"] if cjk.search(d["title"])]
    assert en_titles_with_cjk == [], en_titles_with_cjk
    assert {d["location"] for d in zh["docs"] if "#" not in d["location"]} == {
        d["location"] for d in en["docs"] if "#" not in d["location"]
    }, "both indexes must list the same pages"


def test_chinese_words_are_segmented_in_the_index(site: Path) -> None:
    zh = _index(site, "zh")
    assert any("\u200b" in d["text"] for d in zh["docs"]), "jieba did not segment the index"
    all_tokens: set[str] = set()
    for doc in zh["docs"]:
        all_tokens |= _tokens(zh, doc["title"] + " " + doc["text"])
    # Every glossary term that occurs in a page's text must be a whole token, not split apart.
    text = " ".join(d["text"].replace("\u200b", "") for d in zh["docs"])
    # A mixed term such as 视觉Transformer is split by the separator in the query too, so what
    # must hold is that each of its query tokens is an index token.
    missing = [
        t["zh"]
        for t in generated.load_glossary()
        if t["zh"] in text and not _tokens(zh, t["zh"]) <= all_tokens
    ]
    assert missing == [], (
        f"terms split by jieba (add them to glossary.yml or fix the dictionary): {missing}"
    )


def test_mid_sentence_term_is_a_token(site: Path) -> None:
    zh = _index(site, "zh")
    page = [d for d in zh["docs"] if d["location"].startswith("backbone/receptive_field/")]
    assert page, "receptive field page missing from the index"
    tokens = set().union(*(_tokens(zh, d["text"]) for d in page))
    assert "感受野" in tokens  # jieba's own dictionary would split it into 感受 / 野


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
