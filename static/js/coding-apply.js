// Coding the selection: from the picker or a code panel button; the codes used lately.
(function () {
  "use strict";
  var coding = window.peercodingCoding;
  var offsets = window.peercodingOffsets;
  var state = coding.state;
  var lastAttempt = null; // the selection of the coding request in flight

  // Names this request so that a double submit codes once.
  function token() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2);
  }

  function apply(codeIds, newName) {
    var target = state.pending || coding.currentSelection();
    if (!target) { coding.notify("error", "Select some text first."); return; }
    var values = { start: target.start, end: target.end, codes: codeIds.join(","), snap: coding.snap(), client_token: token() };
    if (newName) values.new_code = newName;
    rememberRecent(codeIds);
    htmx.ajax("POST", coding.area().dataset.applyUrl, {
      target: "#excerpt-panel", swap: "outerHTML", values: values
    });
    lastAttempt = target;
    state.pending = null;
  }

  // If coding a selection fails (a lost session, the server unreachable), select it again so
  // the user can retry without hunting for the passage.
  function restoreAttempt() {
    if (!lastAttempt || !coding.textBox()) return;
    offsets.selectCodePoints(coding.textBox(), lastAttempt.start, lastAttempt.end);
    lastAttempt = null;
  }
  document.body.addEventListener("htmx:responseError", restoreAttempt);
  document.body.addEventListener("htmx:sendError", restoreAttempt);
  document.body.addEventListener("htmx:afterRequest", function (event) {
    if (event.detail.successful) lastAttempt = null;
  });

  // ---- The codes used lately, newest first, kept per project in this browser. ----
  function recentKey() { return "peercoding-recent-" + (document.querySelector(".project-name") || {}).textContent; }

  function rememberRecent(ids) {
    try {
      var recent = JSON.parse(localStorage.getItem(recentKey()) || "[]");
      ids.slice().reverse().forEach(function (id) {
        recent = [Number(id)].concat(recent.filter(function (r) { return r !== Number(id); }));
      });
      localStorage.setItem(recentKey(), JSON.stringify(recent.slice(0, 9)));
    } catch (e) { /* private browsing: no recents */ }
  }

  function recentIds() {
    try { return JSON.parse(localStorage.getItem(recentKey()) || "[]"); } catch (e) { return []; }
  }

  // A code panel button codes the selection, or shows the code's definition when there is none.
  coding.onClick(function (target) {
    var codeButton = target.closest(".code-button");
    if (!codeButton) return;
    if (coding.canCode() && coding.currentSelection()) {
      apply([codeButton.dataset.codeId]);
    } else {
      var link = codeButton.parentElement.querySelector(".focus-link");
      if (link) link.click();
    }
  });

  coding.apply = apply;
  coding.recentIds = recentIds;
})();
