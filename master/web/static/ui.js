// ffwatt web UI: refresh the parts of the page marked data-live every few seconds, without reloading the page.
// The page is fetched again from the same URL (same origin only, per the Content-Security-Policy) and each
// data-live element is replaced by the element with the same id in the fresh copy. Nothing else is loaded.
// A live part marked data-final (a campaign that is no longer running) ends the refreshing: nothing more changes.
(function () {
  "use strict";
  var seconds = Number(document.body.getAttribute("data-refresh-s")) || 5;
  var status = document.getElementById("refresh-status");

  function liveParts(root) {
    return Array.prototype.slice.call(root.querySelectorAll("[data-live][id]"));
  }

  function markStale(text) {
    if (!status) { return; }
    status.classList.add("stale");
    status.textContent = text;
  }

  // <details> the reader opened stay open across a refresh (matched by position inside the live part).
  function keepOpen(from, to) {
    var before = from.querySelectorAll("details"), after = to.querySelectorAll("details");
    for (var i = 0; i < before.length && i < after.length; i++) { after[i].open = before[i].open; }
  }

  function swap(html) {
    var fresh = new DOMParser().parseFromString(html, "text/html");
    liveParts(document).forEach(function (el) {
      var next = fresh.getElementById(el.id);
      if (!next) { return; }
      next = document.importNode(next, true);
      keepOpen(el, next);
      el.replaceWith(next);
    });
    status = document.getElementById("refresh-status");
    document.documentElement.setAttribute("data-refreshed", String(Date.now()));
  }

  function refresh() {
    if (document.hidden) { return schedule(); }
    fetch(window.location.href, {credentials: "same-origin", cache: "no-store", headers: {"Accept": "text/html"}})
      .then(function (resp) {
        if (resp.status === 404) { markStale("this page no longer exists (404)"); return null; }
        if (!resp.ok) { throw new Error("HTTP " + resp.status); }
        return resp.text();
      })
      .then(function (html) {
        if (html !== null) { swap(html); }
        if (finished()) { markFinal(); } else { schedule(); }
      })
      .catch(function (err) { markStale("refresh failed: " + err.message + "; retrying"); schedule(); });
  }

  function schedule() { window.setTimeout(refresh, seconds * 1000); }

  function finished() { return document.querySelector("main [data-live][data-final]") !== null; }

  function markFinal() {
    if (status) { status.textContent += " · final, no more refresh"; }
  }

  if (document.querySelector("main [data-live]") && !finished()) { schedule(); }
})();
