"""Learning tracks: each topic's prerequisites, difficulty, interview frequency and next topic.

The data is ``tracks.yml`` (prerequisites per topic, frequency with public sources, the routes per
role); the tracks and their chapters are ``tools/pages.py`` ``TRACKS``; the order of the topics in
a track is the nav order of ``mkdocs.yml``. From these this module renders, at build time:

* ``decorate``: the box under each topic page's title (difficulty, frequency with its sources,
  prerequisites, next topics) and, just before its ``{ #sources }`` section, the link to the next
  topic of its track;
* ``tracks_map`` (``<!-- generated: tracks -->``): the home page's map of every track, chapter and
  topic;
* ``routes`` (``<!-- generated: routes -->``): the home page's ordered routes per role.

Derived, never typed: next topics (the topics that list this one as a prerequisite) and
difficulty (the length of the longest prerequisite chain: 0 intro, 1 intermediate, 2+ advanced).
``problems`` lists what is wrong with the data (``python -m tools.check_site`` and the build run it).
"""

from __future__ import annotations

import functools
import posixpath
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from tools import pages

ROOT = pages.ROOT
DATA = "tracks.yml"
MARKER_MAP = "<!-- generated: tracks -->"
MARKER_ROUTES = "<!-- generated: routes -->"
LEVELS = ("intro", "intermediate", "advanced")
LEVEL = {
    "intro": {"zh": "入门", "en": "intro"},
    "intermediate": {"zh": "进阶", "en": "intermediate"},
    "advanced": {"zh": "深入", "en": "advanced"},
}
HEAT = {
    3: {"zh": "高频手撕", "en": "often asked to write by hand"},
    2: {"zh": "常问", "en": "asked often"},
    1: {"zh": "经典题", "en": "a steady classic"},
}
Q_LEVEL = {
    "easy": {"zh": "简单", "en": "easy"},
    "medium": {"zh": "中等", "en": "medium"},
    "hard": {"zh": "困难", "en": "hard"},
}
TEXT = {
    "box_title": {
        "zh": "学习路线 · {track} · 第 {i} / {n} 个主题",
        "en": "Track: {track} · topic {i} of {n}",
    },
    "difficulty": {"zh": "难度", "en": "Difficulty"},
    "chain": {
        "zh": "前置链长 {d}；本页 {n} 道面试题：{mix}",
        "en": "prerequisite chain {d}; {n} interview questions here: {mix}",
    },
    "frequency": {"zh": "面试热度", "en": "How often asked"},
    "sources": {"zh": "出处", "en": "sources"},
    "legend": {"zh": "分级说明", "en": "what the levels mean"},
    "prereq": {"zh": "先读", "en": "Read first"},
    "next": {"zh": "接着读", "en": "Read next"},
    "none_prereq": {"zh": "无，可以从这里开始", "en": "none: a good place to start"},
    "none_next": {"zh": "暂无主题以本页为前置", "en": "no topic builds on this one yet"},
    "next_title": {"zh": "{track}路线的下一个主题", "en": "Next in the {track} track"},
    "last_title": {"zh": "{track}路线到此结束", "en": "End of the {track} track"},
    "last_body": {
        "zh": "这是本路线的最后一个主题。回到[首页的路线图]({home}#tracks)选下一条路线。",
        "en": "This is the track's last topic. Back to [the map on the home page]({home}#tracks) to pick the next track.",
    },
    "chapter_home": {"zh": "章节首页", "en": "chapter page"},
    "topics_count": {"zh": "{n} 个主题", "en": "{n} topics"},
}
HEADING_H1 = re.compile(r"^#[ \t]+.+$", re.M)
SOURCES_HEADING = re.compile(r"^##[ \t]+.*\{[^}]*#sources\b[^}]*\}[ \t]*$", re.M)
TABLE_ROW = re.compile(r"^\|\s*\[(?P<title>[^\]]+)\]\((?P<name>[a-z0-9_]+)\.md\)\s*\|", re.M)


# ----------------------------------------------------------------------------- loading


class _NavLoader(yaml.SafeLoader):
    """mkdocs.yml with its ``!!python/name:`` and ``!relative`` tags read as plain values."""


_NavLoader.add_multi_constructor("tag:yaml.org,2002:python/", lambda loader, suffix, node: None)
_NavLoader.add_multi_constructor("!", lambda loader, suffix, node: None)


def _mtime(path: Path) -> int:
    return path.stat().st_mtime_ns if path.is_file() else 0


def load(root: Path = ROOT) -> dict[str, Any]:
    return _load(root / DATA, _mtime(root / DATA))


@functools.cache
def _load(path: Path, mtime_ns: int) -> dict[str, Any]:
    if not path.is_file():
        return {}
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return yaml.load(path.read_text(encoding="utf-8"), Loader=loader) or {}


def duplicate_topics(root: Path = ROOT) -> list[str]:
    """Topics listed twice under ``topics:`` (YAML itself keeps the last one silently)."""
    path = root / DATA
    if not path.is_file():
        return []
    seen: set[str] = set()
    dups = []
    inside = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if re.match(r"^\S", line):
            inside = line.startswith("topics:")
            continue
        m = re.match(r"^  ([a-z]+/[a-z0-9_]+):", line)
        if inside and m:
            if m.group(1) in seen:
                dups.append(m.group(1))
            seen.add(m.group(1))
    return dups


def nav(root: Path = ROOT) -> list[Any]:
    return _nav(root / "mkdocs.yml", _mtime(root / "mkdocs.yml"))


@functools.cache
def _nav(path: Path, mtime_ns: int) -> list[Any]:
    if not path.is_file():
        return []
    config = yaml.load(path.read_text(encoding="utf-8"), Loader=_NavLoader) or {}
    return config.get("nav") or []


def nav_translations(root: Path = ROOT) -> dict[str, str]:
    path = root / "mkdocs.yml"
    config = (
        yaml.load(path.read_text(encoding="utf-8"), Loader=_NavLoader) if path.is_file() else {}
    )
    for plugin in (config or {}).get("plugins") or []:
        if isinstance(plugin, dict) and "i18n" in plugin:
            for language in plugin["i18n"].get("languages") or []:
                if language.get("locale") == "en":
                    return language.get("nav_translations") or {}
    return {}


def _files(item: Any) -> list[str]:
    if isinstance(item, str):
        return [item]
    if isinstance(item, list):
        return [f for x in item for f in _files(x)]
    if isinstance(item, dict):
        return [f for v in item.values() for f in _files(v)]
    return []


def nav_order(root: Path = ROOT) -> list[str]:
    """Every topic (``chapter/topic``) in the order the nav lists it."""
    out = []
    for f in _files(nav(root)):
        parts = f.removesuffix(".md").split("/")
        if len(parts) == 2 and parts[0] in pages.CHAPTERS and parts[1] != "index":
            out.append("/".join(parts))
    return out


def chapter_labels(root: Path = ROOT) -> dict[str, dict[str, str]]:
    """The nav's title of each chapter (its section, or its track when the track has one chapter)."""
    labels: dict[str, dict[str, str]] = {}
    en = nav_translations(root)

    def walk(items: Any, title: str | None) -> None:
        for item in items if isinstance(items, list) else []:
            if isinstance(item, dict):
                for key, value in item.items():
                    chapters = {f.split("/")[0] for f in _files(value) if "/" in f}
                    if len(chapters) == 1 and isinstance(value, list):
                        (ch,) = chapters
                        labels.setdefault(ch, {"zh": key, "en": en.get(key, key)})
                    walk(value, key)

    walk(nav(root), None)
    return labels


def topic_pages(root: Path = ROOT) -> dict[str, dict[str, Path]]:
    """``chapter/topic`` -> {lang: path} for every topic page on disk."""
    out: dict[str, dict[str, Path]] = {}
    for lang in pages.LANGS:
        for path in sorted((root / "docs" / lang).glob("*/*.md")):
            chapter, name = path.parent.name, path.stem
            if chapter in pages.CHAPTERS and name != "index":
                out.setdefault(f"{chapter}/{name}", {})[lang] = path
    return out


# ----------------------------------------------------------------------------- checking


def problems(root: Path = ROOT, check_nav: bool = True) -> list[str]:
    """What is wrong with tracks.yml (and the nav's tracks), each message saying what to do."""
    data = load(root)
    where = DATA
    if not data:
        return [f"{where} is missing or empty: it lists every topic with its prerequisites"]
    errors: list[str] = []
    listed = data.get("topics") or {}
    on_disk = topic_pages(root)
    for topic in sorted(set(on_disk) - set(listed)):
        errors.append(
            f"{where} does not list the topic {topic}: add '  {topic}: []' (its prerequisites) "
            "under 'topics:'"
        )
    for topic in sorted(set(listed) - set(on_disk)):
        errors.append(f"{where} lists {topic}, which has no page: remove it or create the page")
    for topic in duplicate_topics(root):
        errors.append(f"{where} lists {topic} twice under 'topics:': keep one line")
    for topic, prereqs in listed.items():
        if not isinstance(prereqs, list):
            errors.append(f"{where}: {topic} must map to a list of prerequisites, e.g. []")
            continue
        for p in prereqs:
            if p not in listed:
                errors.append(f"{where}: {topic} needs {p!r}, which is not a topic in {where}")
            if p == topic:
                errors.append(f"{where}: {topic} lists itself as a prerequisite")
    if not errors:
        try:
            depths(data)
        except ValueError as error:
            errors.append(f"{where}: {error}")
    sources = data.get("sources") or {}
    for name, source in sources.items():
        if not re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", str(source.get("repo", ""))):
            errors.append(
                f"{where}: source {name} needs 'repo: owner/name' (a public GitHub repository)"
            )
        for lang in pages.LANGS:
            if not source.get(lang):
                errors.append(f"{where}: source {name} has no '{lang}:' description")
    for topic, freq in (data.get("frequency") or {}).items():
        if topic not in listed:
            errors.append(f"{where}: frequency given for {topic}, which is not a topic")
        if freq.get("heat") not in HEAT:
            errors.append(f"{where}: frequency of {topic} needs 'heat: 1, 2 or 3'")
        cited = freq.get("sources") or []
        if not cited:
            errors.append(
                f"{where}: frequency of {topic} cites no source: cite one a reader can open, or drop it"
            )
        for c in cited:
            if c.get("source") not in sources:
                errors.append(
                    f"{where}: frequency of {topic} cites unknown source {c.get('source')!r}"
                )
            if ("zh" in c) != ("en" in c):
                errors.append(f"{where}: a source note of {topic} must be given in zh and en")
    for role, route in (data.get("routes") or {}).items():
        for lang in pages.LANGS:
            if not route.get(lang):
                errors.append(f"{where}: route {role} has no '{lang}:' title")
        for step in route.get("steps") or []:
            if step.get("topic") not in listed:
                errors.append(
                    f"{where}: route {role} names {step.get('topic')!r}, which is not a topic"
                )
            if not (step.get("zh") and step.get("en")):
                errors.append(
                    f"{where}: route {role}, step {step.get('topic')}: give why in zh and en"
                )
    if check_nav and (root / "mkdocs.yml").is_file():
        errors += nav_problems(root)
    return errors


def nav_problems(root: Path = ROOT) -> list[str]:
    """The nav's top level is 首页, the tracks in TRACKS order, then the tools; each topic sits
    in its chapter's track."""
    errors = []
    items = nav(root)
    titles = [next(iter(i)) if isinstance(i, dict) else i for i in items]
    tracks = [t["zh"] for t in pages.TRACKS.values()]
    if titles[1 : 1 + len(tracks)] != tracks:
        errors.append(
            f"mkdocs.yml: the nav's top level must be the home page, then the tracks {tracks} "
            f"(tools/pages.py TRACKS), found {titles}"
        )
        return errors
    en = nav_translations(root)
    for key, track in pages.TRACKS.items():
        if en.get(track["zh"]) != track["en"]:  # type: ignore[index]
            errors.append(
                f"mkdocs.yml: nav_translations needs '{track['zh']}: {track['en']}' (tools/pages.py TRACKS)"
            )
        item = items[1 + list(pages.TRACKS).index(key)]
        files = _files(item)
        for f in files:
            chapter = f.split("/")[0]
            if chapter in pages.CHAPTERS and pages.TRACK_OF[chapter] != key:
                errors.append(
                    f"mkdocs.yml: {f} is in the nav under '{track['zh']}' but its chapter belongs to "
                    f"the track '{pages.TRACKS[pages.TRACK_OF[chapter]]['zh']}'"
                )
    in_nav = set(nav_order(root))
    for topic in sorted(set(topic_pages(root)) - in_nav):
        errors.append(
            f"mkdocs.yml: the nav does not list {topic}.md: add it to its chapter's section"
        )
    return errors


# ----------------------------------------------------------------------------- derived facts


def depths(data: dict[str, Any]) -> dict[str, int]:
    """Length of the longest prerequisite chain below each topic (ValueError on a cycle)."""
    listed = data.get("topics") or {}
    memo: dict[str, int] = {}

    def depth(topic: str, stack: tuple[str, ...]) -> int:
        if topic in stack:
            raise ValueError(f"prerequisites form a cycle: {' -> '.join((*stack, topic))}")
        if topic not in memo:
            prereqs = listed.get(topic) or []
            memo[topic] = 1 + max((depth(p, (*stack, topic)) for p in prereqs), default=-1)
        return memo[topic]

    for topic in listed:
        depth(topic, ())
    return memo


def level(depth: int) -> str:
    return LEVELS[min(depth, 2)]


@dataclass
class Topic:
    key: str
    track: str
    index: int  # 1-based position in its track
    count: int  # topics in the track
    depth: int
    level: str
    prereqs: list[str]
    dependents: list[str]
    next_in_track: str | None
    frequency: dict[str, Any] | None


def topics(root: Path = ROOT) -> dict[str, Topic]:
    data = load(root)
    listed = data.get("topics") or {}
    order = [t for t in nav_order(root) if t in listed]
    order += [t for t in listed if t not in order]
    d = depths(data)
    out = {}
    for key in order:
        track = pages.TRACK_OF[key.split("/")[0]]
        in_track = [t for t in order if pages.TRACK_OF[t.split("/")[0]] == track]
        i = in_track.index(key)
        out[key] = Topic(
            key=key,
            track=track,
            index=i + 1,
            count=len(in_track),
            depth=d[key],
            level=level(d[key]),
            prereqs=list(listed[key] or []),
            dependents=[t for t in order if key in (listed[t] or [])],
            next_in_track=in_track[i + 1] if i + 1 < len(in_track) else None,
            frequency=(data.get("frequency") or {}).get(key),
        )
    return out


def short_titles(lang: str, root: Path = ROOT) -> dict[str, str]:
    """Each topic's name as its chapter's table writes it (the page's H1 when the table does not)."""
    out = {}
    for topic, paths in topic_pages(root).items():
        if lang in paths:
            out[topic] = pages.parse(paths[lang]).title if paths[lang].is_file() else topic
    for chapter in pages.CHAPTERS:
        index = root / "docs" / lang / chapter / "index.md"
        if index.is_file():
            for m in TABLE_ROW.finditer(index.read_text(encoding="utf-8")):
                out[f"{chapter}/{m.group('name')}"] = m.group("title").strip()
    return out


def question_mix(lang: str, root: Path = ROOT) -> dict[str, dict[str, int]]:
    out = {}
    for topic, paths in topic_pages(root).items():
        if lang in paths:
            counts = dict.fromkeys(pages.DIFFICULTIES, 0)
            for q in pages.parse(paths[lang]).questions:
                counts[q.difficulty] = counts.get(q.difficulty, 0) + 1
            out[topic] = counts
    return out


@functools.cache
def _state(
    lang: str, stamp: tuple[int, ...]
) -> tuple[dict[str, Topic], dict[str, str], dict[str, dict[str, int]]]:
    errors = problems(ROOT)
    if errors:
        raise SystemExit("tracks.yml / the nav:\n  " + "\n  ".join(errors))
    return topics(ROOT), short_titles(lang, ROOT), question_mix(lang, ROOT)


def state(lang: str) -> tuple[dict[str, Topic], dict[str, str], dict[str, dict[str, int]]]:
    """Topics, titles and question mixes, recomputed when any input file changes."""
    files = [ROOT / DATA, ROOT / "mkdocs.yml", *sorted((ROOT / "docs" / lang).glob("*/*.md"))]
    return _state(lang, (*tuple(_mtime(f) for f in files), len(files)))


# ----------------------------------------------------------------------------- rendering


def _link(src: str, lang: str, topic: str, suffix: str = ".md") -> str:
    return posixpath.relpath(f"{lang}/{topic}{suffix}", posixpath.dirname(src) or ".")


def _list(lang: str, items: list[str]) -> str:
    return ("、" if lang == "zh" else ", ").join(items)


def _track_title(track: str, lang: str) -> str:
    return str(pages.TRACKS[track][lang])


def frequency_line(topic: Topic, lang: str, src: str) -> str | None:
    freq = topic.frequency
    if not freq:
        return None
    data = load(ROOT)
    cited = []
    for c in freq["sources"]:
        repo = data["sources"][c["source"]]["repo"]
        notes = [f"`{p}`" for p in c.get("path") or []]
        if c.get(lang):
            notes.append(c[lang])
        paren = (
            ("（" + "；".join(notes) + "）") if lang == "zh" else (" (" + "; ".join(notes) + ")")
        )
        cited.append(f"[{repo}](https://github.com/{repo}){paren if notes else ''}")
    home = posixpath.relpath(f"{lang}/index.md", posixpath.dirname(src) or ".")
    legend = f"[{TEXT['legend'][lang]}]({home}#heat)"
    heat = f"{':material-fire:' * freq['heat']} {HEAT[freq['heat']][lang]}"
    if lang == "zh":
        return f"**{TEXT['frequency'][lang]}**：{heat}（{legend}）· 出处：{_list(lang, cited)}"
    return f"**{TEXT['frequency'][lang]}**: {heat} ({legend}) · sources: {_list(lang, cited)}"


def box(key: str, lang: str, src: str) -> str:
    """The box under a topic page's title."""
    all_topics, titles, mixes = state(lang)
    t = all_topics[key]
    sep = "：" if lang == "zh" else ": "
    mix = mixes.get(key, {})
    mix_text = " · ".join(f"{Q_LEVEL[d][lang]} {mix.get(d, 0)}" for d in pages.DIFFICULTIES)
    chain = TEXT["chain"][lang].format(d=t.depth, n=sum(mix.values()), mix=mix_text)
    paren = f"（{chain}）" if lang == "zh" else f" ({chain})"
    lines = [f"- **{TEXT['difficulty'][lang]}**{sep}{LEVEL[t.level][lang]}{paren}"]
    freq = frequency_line(t, lang, src)
    if freq:
        lines.append(f"- {freq}")

    def links(keys: list[str]) -> str:
        return _list(lang, [f"[{titles[k]}]({_link(src, lang, k)})" for k in keys])

    lines.append(
        f"- **{TEXT['prereq'][lang]}**{sep}{links(t.prereqs) if t.prereqs else TEXT['none_prereq'][lang]}"
    )
    lines.append(
        f"- **{TEXT['next'][lang]}**{sep}{links(t.dependents) if t.dependents else TEXT['none_next'][lang]}"
    )
    title = TEXT["box_title"][lang].format(track=_track_title(t.track, lang), i=t.index, n=t.count)
    return (
        f'<div class="admonition info hb-track" data-hb-level="{t.level}" data-pagefind-ignore markdown>\n'
        f'<p class="admonition-title">{title}</p>\n\n' + "\n".join(lines) + "\n\n</div>"
    )


def next_block(key: str, lang: str, src: str) -> str:
    """The link to the next topic of the track (or back to the map after the last one)."""
    all_topics, titles, _ = state(lang)
    t = all_topics[key]
    track = _track_title(t.track, lang)
    if t.next_in_track:
        nxt = all_topics[t.next_in_track]
        title = TEXT["next_title"][lang].format(track=track)
        level_text = LEVEL[nxt.level][lang]
        paren = f"（{level_text}）" if lang == "zh" else f" ({level_text})"
        body = f"[{titles[nxt.key]}]({_link(src, lang, nxt.key)}){paren} →"
        kind = "next"
    else:
        title = TEXT["last_title"][lang].format(track=track)
        home = posixpath.relpath(f"{lang}/index.md", posixpath.dirname(src) or ".")
        body = TEXT["last_body"][lang].format(home=home)
        kind = "last"
    return (
        f'<div class="admonition tip hb-next" data-hb-next="{kind}" data-pagefind-ignore markdown>\n'
        f'<p class="admonition-title">{title}</p>\n\n{body}\n\n</div>'
    )


def decorate(markdown: str, lang: str, src: str) -> str:
    """A topic page with its box after the title and its next link before ``{ #sources }``."""
    parts = src.removesuffix(".md").split("/")
    if len(parts) != 3 or parts[1] not in pages.CHAPTERS or parts[2] == "index":
        return markdown
    key = f"{parts[1]}/{parts[2]}"
    prose = pages.strip_fences(markdown)  # same lines, no headings inside code
    h1 = HEADING_H1.search(prose)
    if h1 is None:
        return markdown
    lines = markdown.splitlines(keepends=True)

    def offset(pos: int) -> int:  # a position in `prose` -> the start of that line in `markdown`
        return sum(len(x) for x in lines[: prose.count("\n", 0, pos)])

    sources = SOURCES_HEADING.search(prose)
    cut = offset(sources.start()) if sources else len(markdown)
    nxt = next_block(key, lang, src)
    markdown = markdown[:cut].rstrip("\n") + "\n\n" + nxt + "\n\n" + markdown[cut:]
    end = offset(h1.start()) + len(lines[prose.count("\n", 0, h1.start())])
    return markdown[:end] + "\n" + box(key, lang, src) + "\n\n" + markdown[end:]


def tracks_map(lang: str, src: str) -> str:
    """The home page's map: each track, its chapters, each topic with difficulty and neighbours."""
    all_topics, titles, _ = state(lang)
    labels = chapter_labels(ROOT)
    data = load(ROOT)
    sep = "：" if lang == "zh" else ": "
    out = []
    for key, track in pages.TRACKS.items():
        in_track = [t for t in all_topics.values() if t.track == key]
        out.append(f"### {track[lang]} {{ #track-{key} }}\n")
        out.append(TEXT["topics_count"][lang].format(n=len(in_track)) + "\n")
        for chapter in track["chapters"]:  # type: ignore[attr-defined]
            topics_here = [t for t in in_track if t.key.startswith(chapter + "/")]
            if not topics_here:
                continue
            label = labels.get(chapter, pages.CHAPTER_TITLES[chapter])[lang]
            index = _link(src, lang, f"{chapter}/index")
            if len(track["chapters"]) > 1:  # type: ignore[arg-type]
                out.append(f"#### {label} {{ #track-{chapter} }}\n")
            out.append(f"[{TEXT['chapter_home'][lang]}]({index})\n")
            for t in topics_here:
                bits = [
                    f"[{titles[t.key]}]({_link(src, lang, t.key)})",
                    f"*{LEVEL[t.level][lang]}*",
                ]
                if t.frequency:
                    bits.append(":material-fire:" * t.frequency["heat"])
                line = f"1. {' · '.join(bits)}"
                parts = []
                if t.prereqs:
                    parts.append(
                        TEXT["prereq"][lang] + sep + _list(lang, [titles[p] for p in t.prereqs])
                    )
                if t.dependents:
                    parts.append(
                        TEXT["next"][lang] + sep + _list(lang, [titles[d] for d in t.dependents])
                    )
                if parts:
                    line += " — " + ("；" if lang == "zh" else "; ").join(parts)
                out.append(line)
            out.append("")
    legend = _legend(lang, data)
    return legend + "\n\n" + "\n".join(out)


def _legend(lang: str, data: dict[str, Any]) -> str:
    sources = data.get("sources") or {}
    cited = _list(
        lang,
        [
            f"[{s['repo']}](https://github.com/{s['repo']})（{s['zh']}）"
            if lang == "zh"
            else f"[{s['repo']}](https://github.com/{s['repo']}) ({s['en']})"
            for s in sources.values()
        ],
    )
    if lang == "zh":
        return (
            "**难度**由前置链的长度决定：不需要本手册其他主题的是*入门*，前置都是入门主题的是*进阶*，"
            "前置链更长的是*深入*。\n\n"
            "**面试热度**\n{ #heat }\n\n"
            f"- :material-fire::material-fire::material-fire: {HEAT[3]['zh']}：在至少 3 份相互独立的 2025–26 年面经或手撕清单里被要求手写；\n"
            f"- :material-fire::material-fire: {HEAT[2]['zh']}：经常被问到，多数问概念，有时要求写代码；\n"
            f"- :material-fire: {HEAT[1]['zh']}：长期稳定出现，或比前几年问得少。\n\n"
            "分级来自本手册 2026 年对公开面经与手撕清单的交叉调研，是估计而不是普查；每页只在能给出"
            f"读者可以打开的公开出处时才标热度，出处包括：{cited}。没有这类出处的主题不标热度。"
        )
    return (
        "**Difficulty** is the length of the prerequisite chain: a topic that needs no other topic of "
        "the handbook is *intro*, one whose prerequisites are all intro topics is *intermediate*, a "
        "longer chain is *advanced*.\n\n"
        "**How often asked**\n{ #heat }\n\n"
        f"- :material-fire::material-fire::material-fire: {HEAT[3]['en']}: requested as hand-written code in at least 3 independent 2025–26 interview write-ups or hand-coding lists;\n"
        f"- :material-fire::material-fire: {HEAT[2]['en']}: mostly as a concept, sometimes as code;\n"
        f"- :material-fire: {HEAT[1]['en']}: keeps coming up, or is asked less than it used to be.\n\n"
        "The levels come from the handbook's 2026 survey of public interview write-ups and hand-coding "
        "lists, an estimate rather than a census; a page shows a level only with public sources the "
        f"reader can open, among them {cited}. Topics without such a source show none."
    )


def routes(lang: str, src: str) -> str:
    """The home page's routes per role: ordered topics, each with why."""
    all_topics, titles, _ = state(lang)
    data = load(ROOT)
    out = []
    for role, route in (data.get("routes") or {}).items():
        out.append(f"### {route[lang]} {{ #route-{role} }}\n")
        for step in route["steps"]:
            t = all_topics[step["topic"]]
            out.append(
                f"1. [{titles[t.key]}]({_link(src, lang, t.key)}) · *{LEVEL[t.level][lang]}* — {step[lang]}"
            )
        out.append("")
    return "\n".join(out)
