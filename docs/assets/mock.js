/* Mock interview (模拟面试): draw a question, think with a timer running, reveal the answer, mark
 * it known or unknown. Loaded only by docs/<lang>/mock.md.
 *
 * Data: <site>/assets/mock/questions.<lang>.json (generated at build time by tools/mock.py from the
 * built topic pages: question HTML, track, chapter, topic, difficulty, link back) and, fetched
 * when a question of that chapter is drawn, answers.<lang>.<chapter>.json (answer HTML, formulas
 * already rendered by KaTeX). Everything comes from the site itself, by relative URLs.
 *
 * State: localStorage only, one versioned key per language ("hb-mock:v1:zh" / "hb-mock:v1:en"):
 * the marks ({id: "known" | "unknown"}), the filters, the time limit and the current question.
 * No account, no server, no request elsewhere.
 */
(function () {
  "use strict";

  var root = document.querySelector(".hb-mock[data-questions]");
  if (!root) return;
  var lang = root.getAttribute("data-lang") === "en" ? "en" : "zh";
  var src = root.getAttribute("data-questions");
  var dir = src.slice(0, src.lastIndexOf("/") + 1);
  var KEY = "hb-mock:v1:" + lang;
  var LIMITS = [0, 60, 120, 180, 300, 600];
  var LEVELS = ["easy", "medium", "hard"];
  var T = {
    zh: {
      track: "方向", chapter: "章节", difficulty: "难度", all: "全部", limit: "限时",
      none: "不限", min: " 分钟", knownToo: "也抽已掌握的题", draw: "抽一题", next: "下一题",
      reveal: "看答案", known: "会了", unknown: "不会", reset: "清空记录",
      confirm: "再点一次确认清空", level: { easy: "简单", medium: "中等", hard: "困难" },
      pool: function (n, k, u) {
        return "当前筛选共 " + n + " 题：会了 " + k + "，不会 " + u + "，未标记 " + (n - k - u) + "。";
      },
      total: function (k, u, n) { return "全部题目：会了 " + k + "，不会 " + u + "，共 " + n + " 题。"; },
      empty: "当前筛选下没有可抽的题（已掌握的题不再抽）：勾选“也抽已掌握的题”或换个筛选。",
      start: "选好方向、章节和难度，点“抽一题”开始。",
      over: "时间到", open: "在原页面查看", loading: "正在加载……",
      failed: "题目数据加载失败，请刷新页面。", marked: { known: "已标记：会了", unknown: "已标记：不会" },
      shortcuts: "快捷键：N 抽题，R 看答案，K 会了，U 不会。",
    },
    en: {
      track: "Track", chapter: "Chapter", difficulty: "Difficulty", all: "All", limit: "Time limit",
      none: "none", min: " min", knownToo: "Also draw known questions", draw: "Draw a question",
      next: "Next question", reveal: "Reveal answer", known: "Known", unknown: "Unknown",
      reset: "Reset progress", confirm: "Click again to reset",
      level: { easy: "easy", medium: "medium", hard: "hard" },
      pool: function (n, k, u) {
        return n + " questions match: " + k + " known, " + u + " unknown, " + (n - k - u) + " unmarked.";
      },
      total: function (k, u, n) { return "All questions: " + k + " known, " + u + " unknown, of " + n + "."; },
      empty: "Nothing left to draw here (known questions are skipped): tick “Also draw known questions” or change the filters.",
      start: "Pick a track, chapter and difficulty, then draw a question.",
      over: "time's up", open: "Open on its page", loading: "Loading…",
      failed: "Could not load the questions; reload the page.",
      marked: { known: "Marked: known", unknown: "Marked: unknown" },
      shortcuts: "Keys: N draw, R reveal, K known, U unknown.",
    },
  }[lang];

  function load() {
    var fresh = { marks: {}, filters: { track: "", chapter: "", difficulty: "", knownToo: false },
      limit: 0, current: null, revealed: false };
    try {
      var saved = JSON.parse(window.localStorage.getItem(KEY) || "null");
      if (saved && typeof saved === "object" && saved.marks && saved.filters) {
        for (var k in fresh) if (!(k in saved)) saved[k] = fresh[k];
        return saved;
      }
    } catch (e) { /* unreadable or blocked storage: start over */ }
    return fresh;
  }
  var state = load();
  function save() {
    try { window.localStorage.setItem(KEY, JSON.stringify(state)); } catch (e) { /* private mode */ }
  }

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var a in attrs || {}) node.setAttribute(a, attrs[a]);
    if (text != null) node.textContent = text;
    return node;
  }
  function select(id, label, options, value) {
    var wrap = el("label", { "class": "hb-mock-field", "for": id });
    wrap.appendChild(el("span", null, label));
    var s = el("select", { id: id });
    options.forEach(function (o) {
      var opt = el("option", { value: o[0] }, o[1]);
      if (String(o[0]) === String(value)) opt.selected = true;
      s.appendChild(opt);
    });
    wrap.appendChild(s);
    return wrap;
  }

  var data = null;
  var answers = {}; // chapter -> Promise of {id: html}
  var byId = {};
  var timer = null;
  var started = 0;

  root.textContent = T.loading;
  fetch(src).then(function (r) {
    if (!r.ok) throw new Error(r.status);
    return r.json();
  }).then(function (d) {
    data = d;
    d.questions.forEach(function (q) { byId[q.id] = q; });
    build();
  }).catch(function () { root.textContent = T.failed; });

  function chaptersOf(track) {
    return data.chapters.filter(function (c) { return !track || c.track === track; });
  }
  function pool() {
    var f = state.filters;
    return data.questions.filter(function (q) {
      return (!f.track || q.track === f.track) && (!f.chapter || q.chapter === f.chapter) &&
        (!f.difficulty || q.difficulty === f.difficulty);
    });
  }

  var ui = {};
  function build() {
    root.textContent = "";
    var filters = el("div", { "class": "hb-mock-filters" });
    filters.appendChild(select("hb-mock-track", T.track, [["", T.all]].concat(
      data.tracks.map(function (t) { return [t.id, t.name]; })), state.filters.track));
    filters.appendChild(select("hb-mock-chapter", T.chapter, [], ""));
    filters.appendChild(select("hb-mock-difficulty", T.difficulty, [["", T.all]].concat(
      LEVELS.map(function (l) { return [l, T.level[l]]; })), state.filters.difficulty));
    filters.appendChild(select("hb-mock-limit", T.limit, LIMITS.map(function (s) {
      return [s, s ? s / 60 + T.min : T.none];
    }), state.limit));
    var knownToo = el("label", { "class": "hb-mock-check" });
    var box = el("input", { type: "checkbox", id: "hb-mock-known-too" });
    box.checked = !!state.filters.knownToo;
    knownToo.appendChild(box);
    knownToo.appendChild(document.createTextNode(" " + T.knownToo));
    filters.appendChild(knownToo);
    root.appendChild(filters);

    ui.summary = el("p", { "class": "hb-mock-summary", id: "hb-mock-summary", "aria-live": "polite" });
    root.appendChild(ui.summary);
    var bar = el("div", { "class": "hb-mock-bar", "aria-hidden": "true" });
    ui.barKnown = el("span", { "class": "hb-mock-bar-known" });
    ui.barUnknown = el("span", { "class": "hb-mock-bar-unknown" });
    bar.appendChild(ui.barKnown);
    bar.appendChild(ui.barUnknown);
    root.appendChild(bar);

    var actions = el("div", { "class": "hb-mock-actions" });
    ui.draw = el("button", { type: "button", id: "hb-mock-draw", "class": "md-button md-button--primary" }, T.draw);
    actions.appendChild(ui.draw);
    root.appendChild(actions);

    ui.card = el("section", { "class": "hb-mock-card", id: "hb-mock-card", "aria-live": "polite" });
    ui.meta = el("div", { "class": "hb-mock-meta" });
    ui.timer = el("span", { "class": "hb-mock-timer", id: "hb-mock-timer", role: "timer" }, "00:00");
    ui.question = el("div", { "class": "hb-mock-question", id: "hb-mock-question" });
    ui.answer = el("div", { "class": "hb-mock-answer", id: "hb-mock-answer" });
    ui.answer.hidden = true;
    var cardActions = el("div", { "class": "hb-mock-actions" });
    ui.reveal = el("button", { type: "button", id: "hb-mock-reveal", "class": "md-button" }, T.reveal);
    ui.known = el("button", { type: "button", id: "hb-mock-known", "class": "md-button hb-mock-known" }, T.known);
    ui.unknown = el("button", { type: "button", id: "hb-mock-unknown", "class": "md-button hb-mock-unknown" }, T.unknown);
    [ui.reveal, ui.known, ui.unknown].forEach(function (b) { cardActions.appendChild(b); });
    ui.mark = el("span", { "class": "hb-mock-mark", id: "hb-mock-mark" });
    cardActions.appendChild(ui.mark);
    ui.card.appendChild(ui.meta);
    ui.card.appendChild(ui.question);
    ui.card.appendChild(cardActions);
    ui.card.appendChild(ui.answer);
    root.appendChild(ui.card);

    ui.message = el("p", { "class": "hb-mock-message", id: "hb-mock-message" });
    root.appendChild(ui.message);
    var footer = el("div", { "class": "hb-mock-footer" });
    ui.total = el("span", { id: "hb-mock-total" });
    ui.reset = el("button", { type: "button", id: "hb-mock-reset", "class": "md-button" }, T.reset);
    footer.appendChild(ui.total);
    footer.appendChild(ui.reset);
    root.appendChild(footer);
    root.appendChild(el("p", { "class": "hb-mock-keys" }, T.shortcuts));

    ui.track = document.getElementById("hb-mock-track");
    ui.chapter = document.getElementById("hb-mock-chapter");
    ui.difficulty = document.getElementById("hb-mock-difficulty");
    ui.limit = document.getElementById("hb-mock-limit");
    ui.knownToo = box;
    fillChapters();

    ui.track.addEventListener("change", function () {
      state.filters.track = ui.track.value;
      fillChapters();
      filtersChanged();
    });
    ui.chapter.addEventListener("change", function () {
      state.filters.chapter = ui.chapter.value;
      filtersChanged();
    });
    ui.difficulty.addEventListener("change", function () {
      state.filters.difficulty = ui.difficulty.value;
      filtersChanged();
    });
    ui.knownToo.addEventListener("change", function () {
      state.filters.knownToo = ui.knownToo.checked;
      save();
    });
    ui.limit.addEventListener("change", function () {
      state.limit = Number(ui.limit.value) || 0;
      save();
      tick();
    });
    ui.draw.addEventListener("click", draw);
    ui.reveal.addEventListener("click", reveal);
    ui.known.addEventListener("click", function () { mark("known"); });
    ui.unknown.addEventListener("click", function () { mark("unknown"); });
    ui.reset.addEventListener("click", reset);
    document.addEventListener("keydown", keys);

    var current = state.current && byId[state.current];
    if (current && inPool(current)) show(current, state.revealed);
    else clearCard();
    summary();
  }

  function fillChapters() {
    var chapters = chaptersOf(state.filters.track);
    if (!chapters.some(function (c) { return c.id === state.filters.chapter; })) state.filters.chapter = "";
    ui.chapter.textContent = "";
    [["", T.all]].concat(chapters.map(function (c) { return [c.id, c.name]; })).forEach(function (o) {
      var opt = el("option", { value: o[0] }, o[1]);
      if (o[0] === state.filters.chapter) opt.selected = true;
      ui.chapter.appendChild(opt);
    });
  }
  function inPool(q) { return pool().indexOf(q) >= 0; }
  function filtersChanged() {
    var current = state.current && byId[state.current];
    if (current && !inPool(current)) clearCard();
    ui.message.textContent = "";
    save();
    summary();
  }

  function summary() {
    var p = pool(), k = 0, u = 0, totalKnown = 0, totalUnknown = 0;
    p.forEach(function (q) {
      if (state.marks[q.id] === "known") k++;
      else if (state.marks[q.id] === "unknown") u++;
    });
    data.questions.forEach(function (q) {
      if (state.marks[q.id] === "known") totalKnown++;
      else if (state.marks[q.id] === "unknown") totalUnknown++;
    });
    ui.summary.textContent = T.pool(p.length, k, u);
    ui.summary.setAttribute("data-pool", p.length);
    ui.summary.setAttribute("data-known", k);
    ui.summary.setAttribute("data-unknown", u);
    ui.barKnown.style.width = (p.length ? (100 * k) / p.length : 0) + "%";
    ui.barUnknown.style.width = (p.length ? (100 * u) / p.length : 0) + "%";
    ui.total.textContent = T.total(totalKnown, totalUnknown, data.questions.length);
  }

  function clearCard() {
    state.current = null;
    state.revealed = false;
    stopTimer();
    ui.card.hidden = true;
    ui.card.removeAttribute("data-id");
    ui.message.textContent = T.start;
    ui.draw.textContent = T.draw;
  }

  function draw() {
    var skipKnown = !state.filters.knownToo;
    var candidates = pool().filter(function (q) {
      return q.id !== state.current && !(skipKnown && state.marks[q.id] === "known");
    });
    if (!candidates.length) {
      var current = state.current && byId[state.current];
      if (current && !(skipKnown && state.marks[current.id] === "known")) candidates = [current];
    }
    if (!candidates.length) {
      clearCard();
      ui.message.textContent = T.empty;
      save();
      return;
    }
    var q = candidates[Math.floor(Math.random() * candidates.length)];
    show(q, false);
    save();
  }

  // Answers hold formulas rendered by KaTeX at build time: its stylesheet (and the fonts it
  // names) is fetched with the first answer, not on the first view of the page.
  var katexLinked = false;
  function linkKatex() {
    if (katexLinked) return;
    katexLinked = true;
    var link = document.createElement("link");
    link.rel = "stylesheet";
    link.href = dir + "../katex/katex.min.css";
    document.head.appendChild(link);
  }

  function loadAnswers(chapter) {
    linkKatex();
    if (!answers[chapter]) {
      answers[chapter] = fetch(dir + "answers." + lang + "." + chapter + ".json").then(function (r) {
        if (!r.ok) throw new Error(r.status);
        return r.json();
      });
      answers[chapter].catch(function () { delete answers[chapter]; });
    }
    return answers[chapter];
  }

  function show(q, revealed) {
    state.current = q.id;
    state.revealed = false;
    ui.card.hidden = false;
    ui.card.setAttribute("data-id", q.id);
    ui.card.setAttribute("data-difficulty", q.difficulty);
    ui.card.setAttribute("data-track", q.track);
    ui.card.setAttribute("data-chapter", q.chapter);
    ui.message.textContent = "";
    ui.meta.textContent = "";
    var badge = el("span", { "class": "hb-level " + q.difficulty }, T.level[q.difficulty]);
    var topic = el("a", { href: q.link, "class": "hb-mock-topic" }, q.topic);
    topic.title = T.open;
    ui.meta.appendChild(badge);
    ui.meta.appendChild(topic);
    ui.meta.appendChild(ui.timer);
    ui.question.innerHTML = q.question; // our own pages' HTML, generated at build time
    ui.answer.hidden = true;
    ui.answer.textContent = "";
    ui.reveal.disabled = false;
    ui.draw.textContent = T.next;
    markLabel();
    loadAnswers(q.chapter); // prefetch while the reader thinks
    startTimer();
    if (revealed) reveal();
  }

  function reveal() {
    var q = state.current && byId[state.current];
    if (!q) return;
    stopTimer();
    state.revealed = true;
    save();
    ui.reveal.disabled = true;
    ui.answer.hidden = false;
    ui.answer.textContent = T.loading;
    loadAnswers(q.chapter).then(function (all) {
      if (state.current !== q.id) return;
      ui.answer.innerHTML = all[q.id] || "";
      ui.answer.setAttribute("data-id", q.id);
    }).catch(function () { ui.answer.textContent = T.failed; });
  }

  function mark(how) {
    var q = state.current && byId[state.current];
    if (!q) return;
    state.marks[q.id] = how;
    save();
    markLabel();
    summary();
  }
  function markLabel() {
    var m = state.marks[state.current];
    ui.mark.textContent = m ? T.marked[m] : "";
    ui.card.setAttribute("data-mark", m || "");
    ui.known.setAttribute("aria-pressed", m === "known" ? "true" : "false");
    ui.unknown.setAttribute("aria-pressed", m === "unknown" ? "true" : "false");
  }

  var resetArmed = null;
  function reset() {
    if (!resetArmed) {
      ui.reset.textContent = T.confirm;
      resetArmed = setTimeout(function () { resetArmed = null; ui.reset.textContent = T.reset; }, 4000);
      return;
    }
    clearTimeout(resetArmed);
    resetArmed = null;
    ui.reset.textContent = T.reset;
    state.marks = {};
    clearCard();
    try { window.localStorage.removeItem(KEY); } catch (e) { /* nothing stored */ }
    save();
    summary();
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function clock(s) { return pad(Math.floor(s / 60)) + ":" + pad(s % 60); }
  function tick() {
    if (!started) return;
    var s = Math.floor((Date.now() - started) / 1000);
    var over = state.limit && s >= state.limit;
    ui.timer.textContent = clock(s) + (state.limit ? " / " + clock(state.limit) : "") +
      (over ? " · " + T.over : "");
    ui.timer.classList.toggle("hb-mock-over", !!over);
  }
  function startTimer() {
    stopTimer();
    started = Date.now();
    tick();
    timer = setInterval(tick, 1000);
  }
  function stopTimer() {
    if (timer) clearInterval(timer);
    timer = null;
    if (started) tick();
    started = 0;
  }

  function keys(event) {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    var tag = (event.target && event.target.tagName) || "";
    if (/^(INPUT|SELECT|TEXTAREA)$/.test(tag) || (event.target && event.target.isContentEditable)) return;
    var key = event.key.toLowerCase();
    var action = { n: draw, r: reveal, k: function () { mark("known"); }, u: function () { mark("unknown"); } }[key];
    if (action && !document.querySelector(".md-search__input:focus")) {
      event.preventDefault();
      // Material listens on window and takes N for "next page": the key is ours on this page.
      event.stopPropagation();
      action();
    }
  }
})();
