// The transcript page's start, what follows htmx swaps, and others' coding arriving by polling.
// The other parts are loaded before this file (see coding-page.js for the list).
(function () {
  "use strict";
  var coding = window.peercodingCoding;
  var $ = coding.$;
  var state = coding.state;
  var POLL_MS = 4000;

  function swapped(event, id) {
    return (event.detail.target && event.detail.target.id === id) || $(id) === event.detail.elt;
  }

  // ---- After htmx swaps: redraw, keep focus, follow the selected excerpt. ----
  var textHadFocus = false;
  document.body.addEventListener("htmx:beforeSwap", function () {
    textHadFocus = document.activeElement === coding.textBox();
  });
  document.body.addEventListener("htmx:afterSwap", function (event) {
    var panel = $("excerpt-panel");
    if (panel) {
      var id = panel.dataset.excerptId;
      state.selectedExcerpt = id ? Number(id) : null;
    }
    if (swapped(event, "coding-area") && textHadFocus && coding.textBox()) coding.textBox().focus({ preventScroll: true });
    coding.panel.markSelected();
  });
  // Stripes are measured once the new text has settled; other regions do not move the text.
  document.body.addEventListener("htmx:afterSettle", function (event) {
    if (swapped(event, "coding-area")) { coding.stripes.draw(); coding.panel.markSelected(); }
  });

  // A coding write answers with the code panel's new counts as well (swapped out of band): it
  // is told the query the panel is drawn with now, its filters and focused code.
  document.body.addEventListener("htmx:configRequest", function (event) {
    var panel = $("code-panel");
    var url = panel && panel.getAttribute("hx-get");
    if (url && event.detail.verb === "post") event.detail.headers["X-Code-Panel"] = url.slice(url.indexOf("?") + 1);
  });

  // ---- Others' coding appears within a few seconds. ----
  function poll() {
    var current = coding.area();
    if (!current || document.visibilityState !== "visible") return;
    var busy = coding.currentSelection() || coding.picker.isOpen() ||
      (document.activeElement && document.activeElement.tagName === "TEXTAREA");
    if (busy) return;
    fetch(current.dataset.stateUrl, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (data && coding.area() && data.state !== coding.area().dataset.state) {
          htmx.trigger(document.body, "coding-changed");
        }
      })
      .catch(function () { /* offline for a moment: try again next time */ });
  }

  function start() {
    if (!coding.area()) return;
    coding.picker.rememberOrder();
    coding.stripes.draw();
    var panel = $("excerpt-panel");
    if (panel && panel.dataset.excerptId) { state.selectedExcerpt = Number(panel.dataset.excerptId); coding.panel.markSelected(); }
    // Opened from a quote (?excerpt=<id>): bring the excerpt into view unless it already is.
    if (state.selectedExcerpt !== null && /[?&]excerpt=\d/.test(window.location.search)) {
      var mark = coding.textBox() && coding.textBox().querySelector('mark[data-excerpts~="' + state.selectedExcerpt + '"]');
      var box = mark && mark.getBoundingClientRect();
      if (box && (box.top < 0 || box.bottom > window.innerHeight)) coding.panel.scrollToExcerpt(state.selectedExcerpt);
    }
    window.addEventListener("resize", coding.stripes.draw);
    setInterval(poll, POLL_MS);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
