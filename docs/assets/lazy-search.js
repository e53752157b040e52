// The search index is downloaded when the reader starts a search, not on every page view.
// Material's bundle requests search/search_index.json with an XMLHttpRequest as soon as a page
// loads (about half of a topic page's bytes). This file runs before the bundle and holds that one
// request back until the reader opens the search: focuses the box, clicks the search icon or
// presses one of Material's search keys (/, s, f). Nothing else changes: the bundle's request,
// its worker and its results are Material's own.
(function () {
  var INDEX = /\/search\/search_index\.json$/;
  var waiting = [];
  var wanted = false;
  var open = XMLHttpRequest.prototype.open;
  var send = XMLHttpRequest.prototype.send;
  XMLHttpRequest.prototype.open = function (method, url) {
    this.__hbUrl = String(url);
    return open.apply(this, arguments);
  };
  XMLHttpRequest.prototype.send = function () {
    if (!wanted && INDEX.test(this.__hbUrl || "")) {
      waiting.push([this, arguments]);
      return;
    }
    return send.apply(this, arguments);
  };
  function want() {
    if (wanted) return;
    wanted = true;
    document.documentElement.setAttribute("data-hb-search-index", "requested");
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
