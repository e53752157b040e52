"""The learning tracks: tracks.yml is complete and valid, and the built pages show what it says.

The expected values are worked out here from the sources (the pages on disk, the nav lines of
mkdocs.yml, the prerequisite lists), not taken from tools/tracks.py: the difficulty by a
fixed-point iteration instead of its recursion, the next topic from the raw nav lines, and the
built HTML read back with the standard library's parser.
"""

from __future__ import annotations

import html.parser
import os
import posixpath
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from tools import new_topic, pages, tracks

ROOT = pages.ROOT
LEVEL_OF_DEPTH = {0: "intro", 1: "intermediate"}  # 2 and more: advanced
LEVEL_TEXT = {
    "zh": {"intro": "入门", "intermediate": "进阶", "advanced": "深入"},
    "en": {"intro": "intro", "intermediate": "intermediate", "advanced": "advanced"},
}
GITHUB_REPO = re.compile(r"^https://github\.com/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")


def _data() -> dict:
    return yaml.safe_load((ROOT / "tracks.yml").read_text(encoding="utf-8"))


def _topics_on_disk(lang: str) -> set[str]:
    return {
        f"{p.parent.name}/{p.stem}"
        for p in (ROOT / "docs" / lang).glob("*/*.md")
        if p.parent.name in pages.CHAPTERS and p.stem != "index"
    }


def _nav_topics() -> list[str]:
    """Topics in the order their lines appear in mkdocs.yml's nav (read as text)."""
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8").split("\nnav:\n", 1)[1]
    found = re.findall(r"^\s*- ([a-z]+/[a-z0-9_]+)\.md\s*$", nav, re.M)
    return [t for t in found if not t.endswith("/index") and t.split("/")[0] in pages.CHAPTERS]


def _expected_levels(data: dict) -> dict[str, str]:
    """Longest prerequisite chain by relaxing every topic until nothing changes."""
    prereqs = data["topics"]
    depth = dict.fromkeys(prereqs, 0)
    for _ in range(len(prereqs) + 1):
        changed = False
        for topic, needs in prereqs.items():
            d = max([depth[n] + 1 for n in needs], default=0)
            if d != depth[topic]:
                depth[topic], changed = d, True
        if not changed:
            break
    else:
        pytest.fail("prerequisites form a cycle")
    return {t: LEVEL_OF_DEPTH.get(d, "advanced") for t, d in depth.items()}


def _expected_next() -> dict[str, str | None]:
    order = _nav_topics()
    out = {}
    for i, topic in enumerate(order):
        track = pages.TRACK_OF[topic.split("/")[0]]
        later = [t for t in order[i + 1 :] if pages.TRACK_OF[t.split("/")[0]] == track]
        out[topic] = later[0] if later else None
    return out


# ------------------------------------------------------------------------------ the data


def test_tracks_data_has_no_problems() -> None:
    assert tracks.problems(ROOT) == []


def test_every_topic_page_is_listed_exactly_once() -> None:
    data = _data()
    lines = re.findall(
        r"^  ([a-z]+/[a-z0-9_]+):",
        (ROOT / "tracks.yml")
        .read_text(encoding="utf-8")
        .split("\ntopics:\n", 1)[1]
        .split("\n\n")[0],
        re.M,
    )
    assert sorted(lines) == sorted(set(lines)), "a topic is listed twice"
    for lang in pages.LANGS:
        assert set(data["topics"]) == _topics_on_disk(lang), lang
    for topic, needs in data["topics"].items():
        assert all(n in data["topics"] and n != topic for n in needs), topic


def test_nav_groups_the_chapters_into_the_tracks_in_order() -> None:
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8").split("\nnav:\n", 1)[1]
    top = re.findall(r"^  - ([^:\n]+):", nav, re.M)
    assert top == ["首页", *[t["zh"] for t in pages.TRACKS.values()], "工具"]
    assert set(_nav_topics()) == _topics_on_disk("zh")
    # a track's topics are contiguous in the nav and its chapters come in TRACKS order
    tracks_in_order = [pages.TRACK_OF[t.split("/")[0]] for t in _nav_topics()]
    assert tracks_in_order == sorted(tracks_in_order, key=list(pages.TRACKS).index)


def test_frequency_is_only_given_with_a_public_source() -> None:
    data = _data()
    for topic, freq in data["frequency"].items():
        assert topic in data["topics"]
        assert freq["heat"] in (1, 2, 3), topic
        assert freq["sources"], f"{topic}: a frequency without a source"
        for cited in freq["sources"]:
            repo = data["sources"][cited["source"]]["repo"]
            assert GITHUB_REPO.match(f"https://github.com/{repo}"), repo


def test_routes_name_existing_topics_in_both_languages() -> None:
    data = _data()
    assert set(data["routes"]) == {"cv", "llm", "recsys"}
    for role, route in data["routes"].items():
        steps = [s["topic"] for s in route["steps"]]
        assert len(steps) >= 5 and len(steps) == len(set(steps)), role
        assert all(
            t in data["topics"] and s["zh"] and s["en"]
            for t, s in zip(steps, route["steps"], strict=True)
        )


def test_a_cycle_or_an_unknown_prerequisite_is_reported(tmp_path: Path) -> None:
    text = (ROOT / "tracks.yml").read_text(encoding="utf-8")
    (tmp_path / "docs").symlink_to(ROOT / "docs", target_is_directory=True)
    (tmp_path / "tracks.yml").write_text(
        text.replace("  detection/iou: []", "  detection/iou: [detection/nms]"), encoding="utf-8"
    )
    assert any("cycle" in e and "detection/iou" in e for e in tracks.problems(tmp_path, False))
    (tmp_path / "tracks.yml").write_text(
        text.replace("  ml/pca: []", "  ml/pca: [ml/svd]\n  ml/pca: []"), encoding="utf-8"
    )
    errors = tracks.problems(tmp_path, False)
    assert any("ml/pca twice" in e for e in errors), errors
    (tmp_path / "tracks.yml").write_text(
        text.replace("{source: dia,", "{source: nowhere,", 1), encoding="utf-8"
    )
    assert any("unknown source 'nowhere'" in e for e in tracks.problems(tmp_path, False))


def test_the_scaffold_adds_the_topic_after_its_chapter(tmp_path: Path) -> None:
    yml = tmp_path / "tracks.yml"
    yml.write_text(
        "# c\ntopics:\n  ml/a: []\n  ml/b: [ml/a]\n  llm/c: []\n\nsources: {}\n", encoding="utf-8"
    )
    new_topic.add_to_tracks(yml, "ml", "z")
    new_topic.add_to_tracks(yml, "ml", "z")  # idempotent
    new_topic.add_to_tracks(yml, "detection", "y")  # a chapter with no topic yet: at the end
    assert yml.read_text(encoding="utf-8") == (
        "# c\ntopics:\n  ml/a: []\n  ml/b: [ml/a]\n  ml/z: []\n  llm/c: []\n  detection/y: []\n"
        "\nsources: {}\n"
    )


# ------------------------------------------------------------------------------ the built site


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if os.environ.get("HANDBOOK_SITE"):
        built = Path(os.environ["HANDBOOK_SITE"])
        assert (built / "index.html").is_file(), f"HANDBOOK_SITE={built} holds no built site"
        return built
    out = tmp_path_factory.mktemp("site")
    proc = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--quiet", "--site-dir", str(out)],
        cwd=ROOT,
        env=dict(os.environ, NO_MKDOCS_2_WARNING="1"),
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out


class _Links(html.parser.HTMLParser):
    """The links and the text of one box."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        href = dict(attrs).get("href")
        if tag == "a" and href is not None:
            self.links.append(href)

    def handle_data(self, data: str) -> None:
        self.text += data


BLOCKS = re.compile(
    r'<h1[ >]|<h2 id="(?P<h2>[^"]*)"|<div class="admonition [a-z]+ (?P<box>hb-track|hb-next)"'
    r"(?P<attrs>[^>]*)>(?P<body>.*?)</div>",
    re.S,
)


@dataclass
class _Article:
    """The article's h1 / h2 / boxes in order, with each box's attributes, links and text."""

    events: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    box_links: dict[str, list[str]] = field(default_factory=dict)
    box_text: dict[str, str] = field(default_factory=dict)
    box_html: str = ""


def _read(site: Path, lang: str, topic: str) -> _Article:
    prefix = "en/" if lang == "en" else ""
    page = site / f"{prefix}{topic}" / "index.html"
    assert page.is_file(), f"{page} was not built"
    text = page.read_text(encoding="utf-8")
    article = _Article(
        box_links={"hb-track": [], "hb-next": []}, box_text={"hb-track": "", "hb-next": ""}
    )
    for m in BLOCKS.finditer(text, text.index("<article"), text.index("</article>")):
        if m.group("box"):
            attrs = dict(re.findall(r'([a-z-]+)="([^"]*)"', m.group("attrs")))
            article.events.append((m.group("box"), attrs))
            links = _Links()
            links.feed(m.group("body"))
            article.box_links[m.group("box")] += links.links
            article.box_text[m.group("box")] += links.text
            article.box_html += m.group("body")
        elif m.group("h2") is not None:
            article.events.append(("h2", {"id": m.group("h2")}))
        else:
            article.events.append(("h1", {}))
    return article


def _resolve(topic: str, href: str) -> str:
    """A link on the page of ``topic`` (served at ``/<topic>/``) -> the topic it points to."""
    path = posixpath.normpath(posixpath.join(topic, href.split("#")[0])).strip("/")
    return path.removeprefix("en/") if path.startswith("en/") else path


@pytest.mark.parametrize("lang", pages.LANGS)
def test_every_topic_page_shows_its_box_and_next_link(site: Path, lang: str) -> None:
    data = _data()
    levels = _expected_levels(data)
    nxt = _expected_next()
    problems = []
    for topic in sorted(_topics_on_disk(lang)):
        page = _read(site, lang, topic)
        kinds = [k for k, _ in page.events]
        if kinds[:2] != ["h1", "hb-track"]:
            problems.append(f"{topic}: the box is not right under the title: {kinds[:3]}")
            continue
        level = dict(page.events)["hb-track"].get("data-hb-level")
        if level != levels[topic] or LEVEL_TEXT[lang][level] not in page.box_text["hb-track"]:
            problems.append(f"{topic}: difficulty {level}, expected {levels[topic]}")
        prereqs = {
            _resolve(topic, h) for h in page.box_links["hb-track"] if not h.startswith("http")
        }
        if not set(data["topics"][topic]) <= prereqs:
            problems.append(f"{topic}: the box does not link every prerequisite")
        # frequency: shown with every cited repository, and only where tracks.yml cites one
        external = [h for h in page.box_links["hb-track"] if h.startswith("http")]
        freq = data["frequency"].get(topic)
        if freq:
            repos = {data["sources"][c["source"]]["repo"] for c in freq["sources"]}
            if {f"https://github.com/{r}" for r in repos} != set(external):
                problems.append(f"{topic}: frequency sources {external}, expected {sorted(repos)}")
        elif external or any("#heat" in h for h in page.box_links["hb-track"]):
            problems.append(f"{topic}: a frequency without a source: {external}")
        if re.search(r"<img|\bsrc=", page.box_html):  # e.g. an emoji image from a CDN
            problems.append(f"{topic}: the boxes load an image: icons must be inline SVG")
        if any(not GITHUB_REPO.match(h) for h in external):
            problems.append(f"{topic}: a source link that is not a repository page: {external}")
        # the next link: before the sources section, to the next topic of the track in the nav
        if "hb-next" not in kinds:
            problems.append(f"{topic}: no next-in-track box")
            continue
        h2_ids = [a.get("id") for k, a in page.events if k == "h2"]
        at = kinds.index("hb-next")
        if h2_ids[-1] != "sources" or kinds[at + 1 :] != ["h2"]:
            problems.append(f"{topic}: the next box is not right before the sources: {kinds[-4:]}")
        links = [_resolve(topic, h) for h in page.box_links["hb-next"]]
        want = nxt[topic]
        if want is not None and links != [want]:
            problems.append(f"{topic}: next link {links}, expected {want}")
        if want is None and links != ["."]:  # the home page, at its map
            problems.append(f"{topic}: the last topic must link back to the map: {links}")
    assert problems == [], "\n".join(problems)


@pytest.mark.parametrize("lang", pages.LANGS)
def test_home_page_maps_every_topic_and_has_the_routes(site: Path, lang: str) -> None:
    home = (site / ("en/" if lang == "en" else "") / "index.html").read_text(encoding="utf-8")
    tracks_at, routes_at = home.index('id="tracks"'), home.index('id="routes"')
    section = home[tracks_at : home.index('id="conventions"')]
    linked = {
        posixpath.normpath(h).removesuffix("/index.html").strip("/")
        for h in re.findall(r'<a href="([^"#]+)"', section)
        if not h.startswith("http")
    }
    missing = _topics_on_disk(lang) - linked
    assert missing == set(), f"topics missing from the home page's map: {sorted(missing)}"
    for key in pages.TRACKS:
        assert f'id="track-{key}"' in section, key
    assert 'id="heat"' in section
    assert not re.search(r'src="(https?:)?//', home), "the home page loads something from elsewhere"
    routes = home[routes_at:tracks_at]
    for role, route in _data()["routes"].items():
        assert f'id="route-{role}"' in routes, role
        block = routes[routes.index(f'id="route-{role}"') :]
        first = route["steps"][0]["topic"]
        assert f'href="{first}/"' in block[:2000], (role, first)
