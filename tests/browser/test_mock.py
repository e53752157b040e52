"""The mock interview page (docs/<lang>/mock.md, docs/assets/mock.js) in headless Chromium.

One visit per language does it all, on the same page (reloads included): the drawn questions obey
the filters (compared with the pages' own questions, read here from the Markdown), the answer is
the one on the topic page, marks survive a reload, known questions are not drawn again, the keys
work, reset forgets; then the same page on a phone (no sideways scrolling) and in dark mode.
A third test serves the site under a sub-path.
"""

from __future__ import annotations

import html
import itertools
import json
import os
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import pages
from tests.browser.helpers import Tab
from tests.browser.server import Served, serve
from tools.pages import CHAPTER_TITLES, TRACK_OF, TRACKS

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("mock")]

SITE = Path(os.environ.get("HANDBOOK_SITE") or pages.SITE)
QUESTION = re.compile(r'^\?\?\?\+?[ \t]+question[ \t]+(easy|medium|hard)[ \t]+"([^"]+)"', re.M)
DETAILS = re.compile(
    r'<details class="question (easy|medium|hard)" id="(q\d+)"[^>]*>\s*<summary>.*?</summary>'
    r"(.*?)</details>",
    re.S,
)


def source_questions(lang: str) -> dict[str, str]:
    """{"detection/nms#q1": difficulty} for every question of every topic page (Markdown)."""
    found = {}
    for chapter in CHAPTER_TITLES:
        for md in sorted((pages.DOCS / lang / chapter).glob("*.md")):
            if md.name == "index.md":
                continue
            for i, (level, _) in enumerate(QUESTION.findall(md.read_text("utf-8")), start=1):
                found[f"{chapter}/{md.stem}#q{i}"] = level
    return found


def answer_text(lang: str, qid: str) -> str:
    """What the built topic page shows as that question's answer, as text."""
    page, anchor = qid.split("#")
    built = SITE / ("en" if lang == "en" else "") / page / "index.html"
    for _level, found, body in DETAILS.findall(built.read_text("utf-8")):
        if found == anchor:
            return " ".join(html.unescape(re.sub(r"<[^>]+>", "", body)).split())
    raise AssertionError(f"{built} has no question {anchor}")


SHOTS = SITE / "_screenshots"


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    if not (SITE / "mock" / "index.html").is_file():
        pytest.fail(f"{SITE} has no mock/index.html: build the site (HANDBOOK_SITE names it)")
    SHOTS.mkdir(exist_ok=True)
    with serve(SITE) as s:
        yield s


STATE = """() => {
  const card = document.getElementById('hb-mock-card');
  const summary = document.getElementById('hb-mock-summary');
  return {id: card.hidden ? null : card.dataset.id, track: card.dataset.track,
          chapter: card.dataset.chapter, difficulty: card.dataset.difficulty,
          mark: card.dataset.mark, pool: +summary.dataset.pool, known: +summary.dataset.known,
          unknown: +summary.dataset.unknown, message: document.getElementById('hb-mock-message').textContent,
          answerShown: !document.getElementById('hb-mock-answer').hidden};
}"""

# Draw n times in a row for each filter choice; returns what was drawn.
DRAWS = """async ([choices, n]) => {
  const set = (id, v) => { const s = document.getElementById(id); s.value = v;
                           s.dispatchEvent(new Event('change')); };
  const out = [];
  for (const [track, chapter, difficulty] of choices) {
    set('hb-mock-track', track); set('hb-mock-chapter', chapter); set('hb-mock-difficulty', difficulty);
    const drawn = [];
    for (let i = 0; i < n; i++) {
      document.getElementById('hb-mock-draw').click();
      const c = document.getElementById('hb-mock-card');
      drawn.push(c.hidden ? null : [c.dataset.id, c.dataset.track, c.dataset.chapter, c.dataset.difficulty]);
    }
    const chapters = [...document.getElementById('hb-mock-chapter').options].map(o => o.value);
    out.push({choice: [track, chapter, difficulty], drawn, chapters,
              pool: +document.getElementById('hb-mock-summary').dataset.pool});
  }
  return out;
}"""

# Mark every question drawn known until nothing is left to draw; returns the ids marked.
EXHAUST = """() => {
  const marked = [];
  for (let i = 0; i < 400; i++) {
    document.getElementById('hb-mock-draw').click();
    const c = document.getElementById('hb-mock-card');
    if (c.hidden) break;
    marked.push(c.dataset.id);
    document.getElementById('hb-mock-known').click();
  }
  return marked;
}"""

CONTRAST = """() => {
  const lum = c => { const v = c.match(/[\\d.]+/g).slice(0, 3).map(x => { x = x / 255;
    return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4; });
    return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]; };
  const bg = el => { for (; el; el = el.parentElement) { const c = getComputedStyle(el).backgroundColor;
    if (c && !c.startsWith('rgba(0, 0, 0, 0)') && c !== 'transparent') return c; } return 'rgb(255,255,255)'; };
  return [...document.querySelectorAll('.hb-mock-question, .hb-mock-answer p, .hb-mock-summary, .hb-mock select, .hb-mock-timer, .hb-mock button:enabled')]
    .filter(el => el.textContent.trim()).map(el => {
      const a = lum(getComputedStyle(el).color), b = lum(bg(el));
      return {cls: el.className || el.tagName, ratio: (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)};
    });
}"""


def _open(tab: Tab, path: str) -> None:
    tab.open(path)
    tab.page.wait_for_selector("#hb-mock-draw", timeout=10_000)


@pytest.mark.parametrize("lang", pages.LANGS)
def test_mock_interview(browser: Any, served: Served, lang: str) -> None:
    questions = source_questions(lang)
    data = json.loads((SITE / "assets/mock" / f"questions.{lang}.json").read_text("utf-8"))
    by_id = {q["id"]: q for q in data["questions"]}
    assert {i: q["difficulty"] for i, q in by_id.items()} == questions, "JSON vs pages' questions"
    assert all(q["track"] == TRACK_OF[q["chapter"]] for q in data["questions"])
    path = f"{pages.PREFIX[lang]}mock/"
    tab = Tab(browser, served.url, viewport={"width": 1280, "height": 900})
    try:
        _open(tab, path)
        page = tab.page
        state = page.evaluate(STATE)
        assert state["pool"] == len(questions) and state["id"] is None

        # Filters: every track x difficulty, and one chapter; every draw obeys them.
        choices = [[t, "", d] for t in TRACKS for d in ("easy", "medium", "hard")]
        choices += [["cv", "detection", ""], ["", "", ""]]
        for got in page.evaluate(DRAWS, [choices, 6]):
            track, chapter, difficulty = got["choice"]
            want = {
                i
                for i, level in questions.items()
                if (not track or TRACK_OF[i.split("/")[0]] == track)
                and (not chapter or i.startswith(chapter + "/"))
                and (not difficulty or level == difficulty)
            }
            assert got["pool"] == len(want), got["choice"]
            if track:
                assert got["chapters"] == ["", *TRACKS[track]["chapters"]], got["chapters"]
            for drawn in got["drawn"]:
                assert drawn is not None and drawn[0] in want, (got["choice"], drawn)
                assert drawn[1:] == [
                    TRACK_OF[drawn[2]],
                    drawn[0].split("/")[0],
                    questions[drawn[0]],
                ]
            ids = [d[0] for d in got["drawn"]]
            if len(want) > 1:  # never the same question twice in a row
                assert all(a != b for a, b in itertools.pairwise(ids)), ids

        # One chapter x difficulty: draw, reveal, check the answer is the topic page's.
        page.select_option("#hb-mock-track", "cv")
        page.select_option("#hb-mock-chapter", "detection")
        page.select_option("#hb-mock-difficulty", "medium")
        page.click("#hb-mock-draw")
        drawn = page.evaluate(STATE)
        assert drawn["chapter"] == "detection" and drawn["difficulty"] == "medium"
        assert not drawn["answerShown"]
        page.click("#hb-mock-reveal")
        page.wait_for_selector(f'#hb-mock-answer[data-id="{drawn["id"]}"]')
        shown = " ".join(page.text_content("#hb-mock-answer").split())
        assert shown == answer_text(lang, drawn["id"])
        href = page.get_attribute(".hb-mock-topic", "href")
        status = page.evaluate("h => fetch(h).then(r => r.status)", href)
        assert status == 200 and href.endswith("/#" + drawn["id"].split("#")[1]), href
        timer = page.text_content("#hb-mock-timer")
        assert re.fullmatch(r"\d\d:\d\d", timer), timer

        # Mark known, reload: the mark, the filters and the question are kept.
        page.click("#hb-mock-known")
        assert page.evaluate(STATE)["known"] == 1
        stored = json.loads(page.evaluate(f"localStorage.getItem('hb-mock:v1:{lang}')"))
        assert stored["marks"] == {drawn["id"]: "known"}
        _open(tab, path)
        after = page.evaluate(STATE)
        assert (after["id"], after["known"], after["mark"]) == (drawn["id"], 1, "known")
        assert page.input_value("#hb-mock-chapter") == "detection"
        assert page.input_value("#hb-mock-difficulty") == "medium"

        # Known questions are not drawn again: marking the whole pool known empties it.
        marked = page.evaluate(EXHAUST)
        pool = {
            i for i, level in questions.items() if i.startswith("detection/") and level == "medium"
        }
        assert Counter(marked) == Counter(pool - {drawn["id"]}), "each unknown question once"
        final = page.evaluate(STATE)
        assert final["id"] is None and final["known"] == len(pool) and final["message"]

        # Keyboard: N draws (known ones too once ticked), R reveals, U marks unknown.
        page.check("#hb-mock-known-too")
        page.evaluate("document.activeElement.blur()")
        page.keyboard.press("n")
        page.keyboard.press("r")
        page.keyboard.press("u")
        keyed = page.evaluate(STATE)
        assert keyed["id"] in pool and keyed["answerShown"] and keyed["mark"] == "unknown"
        assert keyed["unknown"] == 1 and keyed["known"] == len(pool) - 1
        page.screenshot(path=str(SHOTS / f"mock-{lang}-desktop.png"), full_page=True)

        # Reset (two clicks) forgets every mark, after a reload too.
        page.click("#hb-mock-reset")
        assert page.evaluate(STATE)["known"] == len(pool) - 1  # armed, not yet done
        page.click("#hb-mock-reset")
        _open(tab, path)
        assert (page.evaluate(STATE)["known"], page.evaluate(STATE)["unknown"]) == (0, 0)

        # A phone: nothing wider than the screen, with a long answer shown.
        page.set_viewport_size({"width": 390, "height": 844})
        hard = [i for i, level in questions.items() if level == "hard"]
        longest = max(hard, key=lambda i: len(answer_text(lang, i)))
        chapter = longest.split("/")[0]
        page.select_option("#hb-mock-track", TRACK_OF[chapter])
        page.select_option("#hb-mock-chapter", chapter)
        page.select_option("#hb-mock-difficulty", "hard")
        page.evaluate(
            "id => { for (let i = 0; i < 500; i++) { document.getElementById('hb-mock-draw').click();"
            " if (document.getElementById('hb-mock-card').dataset.id === id) break; } }",
            longest,
        )
        assert page.evaluate(STATE)["id"] == longest
        page.click("#hb-mock-reveal")
        page.wait_for_selector(f'#hb-mock-answer[data-id="{longest}"]')
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} on a phone is {width} px wide"
        controls = page.evaluate(
            "[...document.querySelectorAll('.hb-mock select, .hb-mock button')]"
            ".map(e => e.getBoundingClientRect()).filter(r => r.right > 390 || r.left < 0).length"
        )
        assert controls == 0
        page.screenshot(path=str(SHOTS / f"mock-{lang}-phone.png"), full_page=True)
        assert tab.recorder.external == [], tab.recorder.external
        tab.recorder.settle()
        failed = [s.url for s in tab.recorder.seen if s.status is not None and s.status >= 400]
        assert failed == [], failed
    finally:
        tab.close()

    # Dark mode: Material's slate scheme; the mock's text stays readable.
    dark = Tab(browser, served.url, viewport={"width": 390, "height": 844}, color_scheme="dark")
    try:
        dark.page.clock.install()  # the timer, without waiting a minute
        _open(dark, path)
        dark.page.select_option("#hb-mock-limit", "60")
        dark.page.click("#hb-mock-draw")
        dark.page.clock.run_for(59_000)
        assert dark.page.text_content("#hb-mock-timer") == "00:59 / 01:00"
        dark.page.clock.run_for(2_000)
        over = {"zh": "01:01 / 01:00 · 时间到", "en": "01:01 / 01:00 · time's up"}[lang]
        assert dark.page.text_content("#hb-mock-timer") == over
        assert "hb-mock-over" in dark.page.get_attribute("#hb-mock-timer", "class")
        dark.page.click("#hb-mock-reveal")  # stops the clock
        dark.page.clock.run_for(5_000)
        assert dark.page.text_content("#hb-mock-timer") == over
        dark.page.wait_for_selector("#hb-mock-answer[data-id]")
        scheme = dark.page.evaluate("document.body.getAttribute('data-md-color-scheme')")
        assert scheme == "slate"
        # Read the resting colours: the pointer off the button it clicked, and no colour
        # transition half-way (one CI run read the primary button mid-transition: 4.26).
        dark.page.mouse.move(0, 0)
        dark.page.add_style_tag(content="*, *::before, *::after { transition: none !important; }")
        low = [c for c in dark.page.evaluate(CONTRAST) if c["ratio"] < 4.5]
        assert low == [], low
        dark.page.screenshot(path=str(SHOTS / f"mock-{lang}-dark.png"), full_page=True)
    finally:
        dark.close()


def test_mock_interview_under_a_sub_path(browser: Any, tmp_path: Path) -> None:
    """Hosted at /handbook/: every URL the page uses is relative, so nothing points outside."""
    (tmp_path / "handbook").symlink_to(SITE.resolve(), target_is_directory=True)
    with serve(tmp_path) as s:
        tab = Tab(browser, s.url, viewport={"width": 1280, "height": 900})
        try:
            for lang in pages.LANGS:
                _open(tab, f"/handbook{pages.PREFIX[lang]}mock/")
                tab.page.click("#hb-mock-draw")
                tab.page.click("#hb-mock-reveal")
                tab.page.wait_for_selector("#hb-mock-answer[data-id]")
                tab.recorder.settle()
                wrong = [
                    x.url for x in tab.recorder.seen if not x.url.startswith(s.url + "/handbook/")
                ]
                failed = [
                    x.url for x in tab.recorder.seen if x.status is not None and x.status >= 400
                ]
                assert wrong == [] and failed == [], (lang, wrong, failed)
                loaded = {x.url.rsplit("/", 1)[-1] for x in tab.recorder.seen}
                assert {"mock.js", "katex.min.css", f"questions.{lang}.json"} <= loaded, loaded
        finally:
            tab.close()
