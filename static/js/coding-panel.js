// The excerpt open in the side panel: opening one from the text or the margin, moving to the
// next or previous, its codes and memo form.
(function () {
  "use strict";
  var coding = window.peercodingCoding;
  var $ = coding.$;
  var state = coding.state;

  function markSelected() {
    var box = coding.textBox();
    if (!box) return;
    Array.prototype.forEach.call(box.querySelectorAll("mark.selected"), function (m) { m.classList.remove("selected"); });
    if (state.selectedExcerpt === null) return;
    Array.prototype.forEach.call(box.querySelectorAll('mark[data-excerpts~="' + state.selectedExcerpt + '"]'), function (m) {
      m.classList.add("selected");
    });
    Array.prototype.forEach.call(document.querySelectorAll(".stripe"), function (s) {
      s.classList.toggle("selected", Number(s.dataset.excerptId) === state.selectedExcerpt);
    });
  }

  function open(id, scroll) {
    var panel = $("excerpt-panel");
    var showing = panel && Number(panel.dataset.excerptId) === id;
    state.selectedExcerpt = id;
    markSelected();
    if (showing) {
      if (scroll) scrollToExcerpt(id);
      return;
    }
    var url = coding.area().dataset.excerptUrl.replace(/\/0\/$/, "/" + id + "/");
    htmx.ajax("GET", url, { target: "#excerpt-panel", swap: "outerHTML" });
    if (scroll) scrollToExcerpt(id);
  }

  function scrollToExcerpt(id) {
    var mark = coding.textBox().querySelector('mark[data-excerpts~="' + id + '"]');
    if (mark) mark.scrollIntoView({ block: "center" });
  }

  function excerptAt(mark) {
    var ids = mark.dataset.excerpts.split(" ").map(Number);
    var data = coding.excerptData();
    // Prefer the shortest excerpt under the pointer; a second click cycles to the next one.
    ids.sort(function (a, b) {
      var ea = data.find(function (e) { return e.id === a; }), eb = data.find(function (e) { return e.id === b; });
      return (ea.end - ea.start) - (eb.end - eb.start);
    });
    var index = ids.indexOf(state.selectedExcerpt);
    return ids[(index + 1) % ids.length];
  }

  // Open the next (1) or previous (-1) excerpt, of the focused code when one is focused.
  function step(direction) {
    var focus = $("focus-code");
    var codeId = focus ? Number(focus.dataset.codeId) : null;
    var list = coding.excerptData().filter(function (e) {
      return codeId === null || e.codes.indexOf(codeId) !== -1;
    }).sort(function (a, b) { return a.start - b.start || a.end - b.end; });
    if (!list.length) { coding.notify("info", "No excerpts to move to."); return; }
    var current = list.findIndex(function (e) { return e.id === state.selectedExcerpt; });
    var next = current === -1 ? (direction > 0 ? 0 : list.length - 1) : (current + direction + list.length) % list.length;
    open(list[next].id, true);
  }

  // "Set to selection": the open excerpt takes the extent selected in the text.
  function reselect(button) {
    var range = coding.currentSelection();
    if (!range) { coding.notify("error", "Select the new extent in the text first."); return; }
    htmx.ajax("POST", button.dataset.url, {
      target: "#excerpt-panel", swap: "outerHTML",
      values: { start: range.start, end: range.end, version: button.dataset.version, snap: coding.snap() }
    });
  }

  coding.onClick(function (target) {
    var stripe = target.closest(".stripe");
    if (stripe) { open(Number(stripe.dataset.excerptId), true); return; }
    var mark = target.closest("mark.hl");
    if (mark && window.getSelection().isCollapsed) { open(excerptAt(mark), false); return; }
    if (target.id === "prev-excerpt" || target.id === "next-excerpt") { step(target.id === "next-excerpt" ? 1 : -1); return; }
    if (target.id === "reselect-button") reselect(target);
  });

  // Keep the hidden list of codes in the excerpt form in step with its checkboxes.
  document.addEventListener("change", function (event) {
    if (event.target.classList.contains("excerpt-code")) {
      var ids = Array.prototype.filter.call(document.querySelectorAll(".excerpt-code"), function (box) { return box.checked; })
        .map(function (box) { return box.value; });
      $("excerpt-codes").value = ids.join(",");
    }
  });

  // Never throw away a memo being written: only its own form's answer may replace it.
  document.body.addEventListener("htmx:beforeSwap", function (event) {
    var memo = $("excerpt-memo");
    var target = event.detail.target;
    var fromForm = event.detail.requestConfig && event.detail.requestConfig.elt &&
      event.detail.requestConfig.elt.closest && event.detail.requestConfig.elt.closest("#excerpt-form");
    if (memo && target && target.id === "excerpt-panel" && memo.value !== memo.defaultValue && !fromForm) {
      event.detail.shouldSwap = false;
      coding.notify("warning", "Save or undo your memo first; it was kept.");
    }
  });

  coding.panel = { markSelected: markSelected, open: open, scrollToExcerpt: scrollToExcerpt, step: step };
})();
