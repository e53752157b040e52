// Search: Material's search box and result list, answered by Pagefind (see tools/search_index.py).
//
// Material's bundle runs its search in a Web Worker and talks to it with four messages:
// SETUP (0, with the index), READY (1), QUERY (2, the typed text) and RESULT (3, groups of
// {location, title, text, score, terms}). This file runs before the bundle and hands it, instead of
// its lunr worker, an object that speaks the same messages and searches with Pagefind in the
// page. Nothing is downloaded before the reader opens the search: Material fetches its (empty)
// index only then, and Pagefind's script, WebAssembly and index chunks after that.
//
// Between the box and Pagefind, the query is rewritten the way readers type (rewrite()):
// Chinese and Latin typed together are split (手写nms -> 手写 nms), Chinese runs are segmented into
// words with Intl.Segmenter, question words are dropped (如何, 怎么, 的区别, how, vs), and a word
// the index does not know is replaced by the nearest known word (感受域 -> 感受野; "attention"
// typed with "si" for "ti"; dk -> d_k). Topic pages rank above the glossary, the question index,
// the API reference and the chapter pages for the same words.
(function () {
  "use strict";
  var script = document.currentScript;
  var ROOT = new URL("../", script.src); // the site root: this file is /assets/search.js
  var WORKER = /\/workers\/search\.[0-9a-f]+\.min\.js(\?.*)?$/;
  var LANG = (document.documentElement.lang || "zh").slice(0, 2) === "en" ? "en" : "zh";

  var STOP = {
    zh: ["如何", "怎么", "怎样", "怎么样", "为什么", "为何", "什么", "是什么", "哪些", "的", "了", "吗", "呢",
      "和", "与", "及", "跟", "区别", "不同", "原理", "作用", "是", "解决", "计算", "算", "实现", "代码",
      "手写", "手撕", "写", "介绍", "讲讲", "一下", "面试", "问题", "有", "用", "里", "中", "在"],
    en: ["how", "to", "what", "why", "is", "are", "the", "a", "an", "of", "in", "on", "vs", "versus",
      "and", "or", "by", "for", "does", "do", "with", "from", "code", "implement", "implementation",
      "explain", "difference", "between", "compute", "count", "calculate", "hand", "write"],
  };
  // Pages that list many topics: the topic page ranks above them for the same words.
  var LISTING = /\/(glossary|questions|reference|practice|benchmarks|contributing)\/$/;

  // Chinese words as the index has them: the build cut the pages with jieba (search-words.zh.json
  // "segments"). Some browsers' Intl.Segmenter has no Chinese dictionary and cuts 归一化 into
  // 归 / 一 / 化; Pagefind cuts queries with Intl.Segmenter, so both use this one instead.
  var segments = null;
  var LONGEST = 8;

  function cutChinese(run) { // forward maximum matching, single characters where nothing matches
    var out = [];
    for (var i = 0; i < run.length;) {
      var n = Math.min(LONGEST, run.length - i);
      while (n > 1 && !segments.has(run.substr(i, n))) n--;
      out.push(run.substr(i, n));
      i += n;
    }
    return out;
  }

  var NativeSegmenter = typeof Intl !== "undefined" ? Intl.Segmenter : undefined;
  if (NativeSegmenter) {
    var Segmenter = function (locale, options) {
      var native = new NativeSegmenter(locale, options);
      if (!options || options.granularity !== "word") return native;
      return {
        resolvedOptions: function () { return native.resolvedOptions(); },
        segment: function (text) {
          if (!segments || !/[\u4e00-\u9fff]/.test(text)) return native.segment(text);
          var out = [];
          var parts = String(text).split(/([\u4e00-\u9fff]+)/);
          var index = 0;
          parts.forEach(function (part) {
            if (!part) return;
            var pieces = /[\u4e00-\u9fff]/.test(part) ? cutChinese(part).map(function (w) {
              return { segment: w, isWordLike: true };
            }) : Array.from(native.segment(part));
            pieces.forEach(function (piece) {
              out.push({ segment: piece.segment, index: index, input: text, isWordLike: piece.isWordLike });
              index += piece.segment.length;
            });
          });
          return out;
        },
      };
    };
    Segmenter.supportedLocalesOf = NativeSegmenter.supportedLocalesOf;
    Intl.Segmenter = Segmenter;
  }

  function segmentWords(text) {
    if (typeof Intl === "undefined" || !Intl.Segmenter) return [text];
    var words = [];
    var segmenter = new Intl.Segmenter("zh", { granularity: "word" });
    for (var part of segmenter.segment(text)) if (part.isWordLike) words.push(part.segment);
    return words;
  }

  // The query as words: lower case, scripts split, Chinese segmented, question words dropped.
  function words(query) {
    var out = [];
    var text = query.toLowerCase().replace(/[\u4e00-\u9fff]+/g, " $& ");
    text.split(/[\s,，。？?！!、;；:：()（）"“”'‘’]+/).forEach(function (run) {
      if (!run) return;
      if (/[\u4e00-\u9fff]/.test(run)) out.push.apply(out, segmentWords(run));
      else out.push(run);
    });
    var stop = STOP[LANG].concat(STOP.en);
    var kept = out.filter(function (w) { return stop.indexOf(w) < 0; });
    return kept.length ? kept : out;
  }

  // The Chinese phrases typed as one run that the cut split into several words (超网络 -> 超 /
  // 网络), stop words removed: a page whose text has the whole phrase ranks higher (rank()).
  function phrases(query) {
    var stop = STOP[LANG];
    var out = [];
    (query.toLowerCase().match(/[\u4e00-\u9fff]+/g) || []).forEach(function (run) {
      var group = [];
      segmentWords(run).concat([""]).forEach(function (w) {
        if (w && stop.indexOf(w) < 0) { group.push(w); return; }
        if (group.length > 1) out.push(group.join(""));
        group = [];
      });
    });
    return out;
  }

  // Damerau-Levenshtein distance (adjacent swaps count once), for near-miss spellings.
  function distance(a, b) {
    var d = [];
    for (var i = 0; i <= a.length; i++) { d[i] = [i]; }
    for (var j = 0; j <= b.length; j++) { d[0][j] = j; }
    for (i = 1; i <= a.length; i++) {
      for (j = 1; j <= b.length; j++) {
        var cost = a[i - 1] === b[j - 1] ? 0 : 1;
        d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
        if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
          d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
        }
      }
    }
    return d[a.length][b.length];
  }

  var vocabulary = null; // the words of this language's titles and glossary (search-words.json)
  var synonyms = {};

  function known(word) {
    return vocabulary.has(word) || (segments !== null && segments.has(word));
  }

  // An unknown word -> the nearest known word: Latin words of 5+ letters within 1 edit (2 from 8
  // letters), Chinese words of 2+ characters with one character replaced (感受域 -> 感受野).
  function nearest(word) {
    if (!vocabulary || known(word)) return word;
    // A subscript typed without its underscore: dk -> d_k, dmodel -> d_model.
    if (/^[a-z][a-z0-9]+$/.test(word) && vocabulary.has(word[0] + "_" + word.slice(1))) {
      return word[0] + "_" + word.slice(1);
    }
    var cjk = /[\u4e00-\u9fff]/.test(word);
    var limit = cjk ? 1 : word.length >= 8 ? 2 : 1;
    if (word.length < (cjk ? 2 : 5)) return word;
    var best = word, bestDistance = limit + 1;
    vocabulary.forEach(function (known) {
      if (cjk ? known.length !== word.length : Math.abs(known.length - word.length) > limit) return;
      if (cjk !== /[\u4e00-\u9fff]/.test(known)) return;
      var d = distance(word, known);
      if (d < bestDistance) { best = known; bestDistance = d; }
    });
    return best;
  }

  // A Latin word typed without its space (focalloss -> focal loss), when both halves are known.
  function split(word) {
    if (!vocabulary || vocabulary.has(word) || /[\u4e00-\u9fff]/.test(word)) return [word];
    for (var i = 3; i <= word.length - 3; i++) {
      if (vocabulary.has(word.slice(0, i)) && vocabulary.has(word.slice(i))) {
        return [word.slice(0, i), word.slice(i)];
      }
    }
    return [word];
  }

  function rewrite(query) {
    var out = [];
    words(query).forEach(function (w) {
      split(w).map(nearest).forEach(function (x) { if (out.indexOf(x) < 0) out.push(x); });
    });
    return out;
  }

  // Single Chinese characters left over by the cut (层, 批, 不) match too much to be required:
  // they are searched as alternatives only, when longer words are there.
  function required(terms) {
    var long = terms.filter(function (t) { return !/^[\u4e00-\u9fff]$/.test(t); });
    return long.length ? long : terms;
  }

  // This language's terms for what was typed in the other language (glossary.yml): searched too.
  function synonymsOf(query) {
    var typed = " " + query.toLowerCase().replace(/\s+/g, " ").trim() + " ";
    var found = [];
    Object.keys(synonyms).forEach(function (other) {
      if (typed.indexOf(" " + other + " ") >= 0 || typed.trim() === other) found.push(synonyms[other]);
    });
    return found;
  }

  var pagefind = null;

  function load() {
    var vocab = fetch(new URL("assets/search-words." + LANG + ".json", ROOT))
      .then(function (r) { return r.ok ? r.json() : {}; })
      .catch(function () { return {}; })
      .then(function (data) {
        vocabulary = new Set(data.words || []);
        synonyms = data.synonyms || {};
        if (data.segments) segments = new Set(data.segments);
      });
    var engine = import(new URL("pagefind/pagefind.js", ROOT).href).then(function (module) {
      return module.options({ baseUrl: ROOT.pathname, excerptLength: 24 }).then(function () {
        return module.init();
      }).then(function () { pagefind = module; });
    });
    return Promise.all([vocab, engine]);
  }

  function rank(result, query, typed) {
    var score = result.score;
    var content = result.content || "";
    if (typed.some(function (p) { return content.indexOf(p) >= 0; })) score *= 2;
    if (LISTING.test(result.url) || /^\/(en\/)?([a-z_]+\/)?$/.test(result.url.slice(ROOT.pathname.length - 1))) {
      score *= 0.35; // listing pages: home, chapter index pages, glossary, reference
    }
    var title = (result.meta && result.meta.title || "").toLowerCase();
    if (query.some(function (w) { return w.length > 1 && title.indexOf(w) >= 0; })) score *= 2;
    return score;
  }

  // A page's score: Pagefind's score for all the required words together (its own rule: every
  // word must match), plus half the scores of the words (and the glossary synonyms) searched one
  // by one, weighted by the share of them the page has. The second part finds a page whose words
  // Pagefind's Chinese segmentation indexed differently (卷积 inside 1×1卷积), and ranks pages
  // by how many of a question's words they have when none has them all.
  function searchAll(terms, extra) {
    var must = required(terms);
    var alternatives = (terms.length > 1 ? terms : []).concat(extra);
    var searches = [pagefind.search(must.join(" "))].concat(
      alternatives.map(function (t) { return pagefind.search(t); }));
    return Promise.all(searches).then(function (found) {
      var merged = {};
      function entry(x) {
        return merged[x.id] || (merged[x.id] = { id: x.id, score: 0, alone: 0, hits: 0, data: x.data });
      }
      found[0].results.forEach(function (x) { entry(x).score += x.score; });
      found.slice(1).forEach(function (r) {
        r.results.forEach(function (x) { var m = entry(x); m.alone += x.score; m.hits += 1; });
      });
      var n = Math.max(1, alternatives.length);
      return Object.keys(merged).map(function (k) {
        var m = merged[k];
        m.score += 0.5 * m.alone * (m.hits / n);
        return m;
      }).sort(function (a, b) { return b.score - a.score; });
    });
  }

  function query(text) {
    var terms = rewrite(text);
    if (!terms.length) return Promise.resolve({ items: [], suggest: [] });
    return searchAll(terms, synonymsOf(text)).then(function (results) {
      return Promise.all(results.slice(0, 20).map(function (r) {
        return r.data().then(function (d) { d.score = r.score; return d; });
      }));
    }).then(function (pages) {
      var typed = phrases(text);
      pages.forEach(function (p) { p.rankScore = rank(p, terms, typed); });
      pages.sort(function (a, b) { return b.rankScore - a.rankScore; });
      var marked = {};
      terms.forEach(function (t) { marked[t] = true; });
      var items = pages.slice(0, 10).map(function (p) {
        var group = [{
          location: p.url, title: p.meta.title || p.url, text: p.excerpt,
          score: p.rankScore, terms: marked,
        }];
        (p.sub_results || []).filter(function (s) { return s.url.indexOf("#") > 0; })
          .slice(0, 3).forEach(function (s) {
            group.push({ location: s.url, title: s.title, text: s.excerpt, score: p.rankScore / 2, terms: marked });
          });
        return group;
      });
      return { items: items, suggest: [] };
    });
  }

  // The object Material's bundle takes for its search worker.
  var loading = null; // Pagefind and the word lists, loaded once

  function PagefindWorker() {
    var target = new EventTarget();
    var latest = 0;
    function reply(data) { target.dispatchEvent(new MessageEvent("message", { data: data })); }
    target.postMessage = function (message) {
      if (message.type === 0) { // SETUP
        document.documentElement.setAttribute("data-hb-search-index", "requested");
        loading = loading || load();
        loading.then(function () { reply({ type: 1 }); }, function (e) { console.error("search:", e); });
      } else if (message.type === 2) { // QUERY: answer the latest one only
        var id = ++latest;
        loading.then(function () { return query(String(message.data || "")); })
          .then(function (data) { if (id === latest) reply({ type: 3, data: data }); },
            function (e) { console.error("search:", e); });
      }
    };
    target.terminate = function () {};
    return target;
  }

  var RealWorker = window.Worker;
  window.Worker = function (url, options) {
    if (WORKER.test(String(url))) return PagefindWorker();
    return new RealWorker(url, options);
  };
  window.Worker.prototype = RealWorker.prototype;
  // For the browser tests: how a query was understood, and the results it gives (after loading).
  window.__hbSearchDebug = {
    rewrite: rewrite,
    engine: function () { return pagefind; },
    search: function (text) {
      loading = loading || load();
      return loading.then(function () { return query(text); });
    },
  };

  // Material fetches its index (empty here: the configuration only) as soon as the page loads;
  // hold that request back until the reader opens the search.
  var INDEX = /\/search\/search_index\.json$/;
  var SITEMAP = /\/sitemap\.xml$/;
  var waiting = [];
  var wanted = false;
  var open = XMLHttpRequest.prototype.open;
  var send = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.open = function (method, url) {
    this.__hbUrl = String(url);
    return open.apply(this, arguments);
  };
  XMLHttpRequest.prototype.send = function () {
    if (SITEMAP.test(this.__hbUrl || "")) {
      // Material fetches sitemap.xml under every <link rel=alternate> to map pages between
      // languages; mkdocs-static-i18n's alternates are already the translated page, so each
      // request is a 404 page (about 46 KiB each). Fail it at once, as the 404 did.
      var xhr = this;
      setTimeout(function () { xhr.dispatchEvent(new ProgressEvent("error")); }, 0);
      return;
    }
    if (!wanted && INDEX.test(this.__hbUrl || "")) {
      waiting.push([this, arguments]);
      return;
    }
    return send.apply(this, arguments);
  };
  function want() {
    if (wanted) return;
    wanted = true;
    waiting.splice(0).forEach(function (call) { send.apply(call[0], call[1]); });
  }
  window.__hbLoadSearchIndex = want;
  document.addEventListener("focusin", function (e) {
    if (e.target && e.target.matches && e.target.matches("[data-md-component=search-query]")) want();
  }, true);
  document.addEventListener("click", function (e) {
    if (e.target && e.target.closest && e.target.closest('label[for="__search"], .md-search')) want();
  }, true);
  document.addEventListener("change", function (e) {
    if (e.target && e.target.id === "__search" && e.target.checked) want();
  }, true);
  document.addEventListener("keydown", function (e) {
    var typing = e.target && /^(INPUT|TEXTAREA|SELECT)$/.test(e.target.tagName);
    if (!typing && (e.key === "/" || e.key === "s" || e.key === "f")) want();
  }, true);
})();
