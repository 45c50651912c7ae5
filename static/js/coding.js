// The transcript page: selection, the code picker, keyboard shortcuts, margin stripes, polling.
// The server renders everything; this file only does what the browser must.
(function () {
  "use strict";
  var offsets = window.peercodingOffsets;
  var selectedExcerpt = null; // id of the excerpt open in the side panel
  var pending = null; // code point offsets of the selection the picker will code
  var chosen = []; // code ids toggled in the picker
  var lastAttempt = null; // the selection of the coding request in flight
  var POLL_MS = 4000;

  function $(id) { return document.getElementById(id); }
  function area() { return $("coding-area"); }
  function textBox() { return $("transcript-text"); }
  function canCode() { return area() && area().dataset.canCode === "1"; }
  function csrf() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }
  function excerptData() {
    var node = $("excerpt-data");
    return node ? JSON.parse(node.dataset.json) : [];
  }
  function notify(level, message) {
    document.body.dispatchEvent(new CustomEvent("notify", { detail: { level: level, message: message } }));
  }
  function token() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2);
  }
  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }
  function snap() { var box = $("snap-words"); return box && box.checked ? "1" : "0"; }
  function projectKey() { return "peercoding-recent-" + (document.querySelector(".project-name") || {}).textContent; }

  // ---- Margin stripes: one per code of each excerpt, beside the lines it covers. ----
  function drawStripes() {
    var margin = document.querySelector("#coding-area .margin"), box = textBox();
    if (!margin || !box) return;
    margin.textContent = "";
    var origin = margin.getBoundingClientRect().top;
    var stripes = [];
    excerptData().forEach(function (excerpt) {
      var marks = box.querySelectorAll('mark[data-excerpts~="' + excerpt.id + '"]');
      if (!marks.length) return;
      var top = marks[0].getBoundingClientRect().top - origin;
      var bottom = marks[marks.length - 1].getBoundingClientRect().bottom - origin;
      excerpt.codes.forEach(function (code) {
        stripes.push({ top: top, bottom: Math.max(bottom, top + 14), excerpt: excerpt, code: code });
      });
    });
    stripes.sort(function (a, b) { return a.top - b.top || b.bottom - a.bottom; });
    var lanes = [];
    stripes.forEach(function (stripe) {
      var lane = 0;
      while (lane < lanes.length && lanes[lane] > stripe.top - 2) lane++;
      lanes[lane] = stripe.bottom;
      var node = document.createElement("button");
      node.type = "button";
      node.tabIndex = -1;
      node.className = "stripe c-" + stripe.code[0] + (stripe.excerpt.id === selectedExcerpt ? " selected" : "");
      node.dataset.excerptId = stripe.excerpt.id;
      node.style.top = stripe.top + "px";
      node.style.height = (stripe.bottom - stripe.top) + "px";
      node.style.left = (lane * 18) + "px";
      node.title = stripe.code[1] + " · " + stripe.excerpt.coder;
      var label = document.createElement("span");
      label.textContent = stripe.code[1] + " · " + stripe.excerpt.coder;
      node.appendChild(label);
      margin.appendChild(node);
    });
    margin.style.width = Math.max(1, lanes.length) * 18 + "px";
  }

  function markSelected() {
    var box = textBox();
    if (!box) return;
    Array.prototype.forEach.call(box.querySelectorAll("mark.selected"), function (m) { m.classList.remove("selected"); });
    if (selectedExcerpt === null) return;
    Array.prototype.forEach.call(box.querySelectorAll('mark[data-excerpts~="' + selectedExcerpt + '"]'), function (m) {
      m.classList.add("selected");
    });
    Array.prototype.forEach.call(document.querySelectorAll(".stripe"), function (s) {
      s.classList.toggle("selected", Number(s.dataset.excerptId) === selectedExcerpt);
    });
  }

  // ---- Opening an excerpt in the side panel. ----
  function openExcerpt(id, scroll) {
    var panel = $("excerpt-panel");
    var showing = panel && Number(panel.dataset.excerptId) === id;
    selectedExcerpt = id;
    markSelected();
    if (showing) {
      if (scroll) scrollToExcerpt(id);
      return;
    }
    var url = area().dataset.excerptUrl.replace(/\/0\/$/, "/" + id + "/");
    htmx.ajax("GET", url, { target: "#excerpt-panel", swap: "outerHTML" });
    if (scroll) scrollToExcerpt(id);
  }

  function scrollToExcerpt(id) {
    var mark = textBox().querySelector('mark[data-excerpts~="' + id + '"]');
    if (mark) mark.scrollIntoView({ block: "center" });
  }

  function excerptAt(mark) {
    var ids = mark.dataset.excerpts.split(" ").map(Number);
    var data = excerptData();
    // Prefer the shortest excerpt under the pointer; a second click cycles to the next one.
    ids.sort(function (a, b) {
      var ea = data.find(function (e) { return e.id === a; }), eb = data.find(function (e) { return e.id === b; });
      return (ea.end - ea.start) - (eb.end - eb.start);
    });
    var index = ids.indexOf(selectedExcerpt);
    return ids[(index + 1) % ids.length];
  }

  function step(direction) {
    var focus = $("focus-code");
    var codeId = focus ? Number(focus.dataset.codeId) : null;
    var list = excerptData().filter(function (e) {
      return codeId === null || e.codes.some(function (c) { return c[0] === codeId; });
    }).sort(function (a, b) { return a.start - b.start || a.end - b.end; });
    if (!list.length) { notify("info", "No excerpts to move to."); return; }
    var current = list.findIndex(function (e) { return e.id === selectedExcerpt; });
    var next = current === -1 ? (direction > 0 ? 0 : list.length - 1) : (current + direction + list.length) % list.length;
    openExcerpt(list[next].id, true);
  }

  // ---- Applying codes to the selection. ----
  function currentSelection() {
    var box = textBox();
    return box ? offsets.selectionCodePoints(box) : null;
  }

  function apply(codeIds, newName) {
    var target = pending || currentSelection();
    if (!target) { notify("error", "Select some text first."); return; }
    var values = { start: target.start, end: target.end, codes: codeIds.join(","), snap: snap(), client_token: token() };
    if (newName) values.new_code = newName;
    rememberRecent(codeIds);
    htmx.ajax("POST", area().dataset.applyUrl, {
      target: "#excerpt-panel", swap: "outerHTML", values: values
    });
    lastAttempt = target;
    pending = null;
  }

  // If coding a selection fails (a lost session, the server unreachable), select it again so
  // the user can retry without hunting for the passage.
  function restoreAttempt() {
    if (!lastAttempt || !textBox()) return;
    offsets.selectCodePoints(textBox(), lastAttempt.start, lastAttempt.end);
    lastAttempt = null;
  }
  document.body.addEventListener("htmx:responseError", restoreAttempt);
  document.body.addEventListener("htmx:sendError", restoreAttempt);
  document.body.addEventListener("htmx:afterRequest", function (event) {
    if (event.detail.successful) lastAttempt = null;
  });

  function rememberRecent(ids) {
    try {
      var recent = JSON.parse(localStorage.getItem(projectKey()) || "[]");
      ids.slice().reverse().forEach(function (id) {
        recent = [Number(id)].concat(recent.filter(function (r) { return r !== Number(id); }));
      });
      localStorage.setItem(projectKey(), JSON.stringify(recent.slice(0, 9)));
    } catch (e) { /* private browsing: no recents */ }
  }

  function recentIds() {
    try { return JSON.parse(localStorage.getItem(projectKey()) || "[]"); } catch (e) { return []; }
  }

  // ---- The quick code picker. ----
  function pickerItems() { return Array.prototype.slice.call($("picker-list").querySelectorAll("li[role=option]")); }
  function visibleItems() { return pickerItems().filter(function (li) { return !li.classList.contains("hidden"); }); }

  function openPicker() {
    if (!canCode() || !$("code-picker")) return;
    pending = currentSelection();
    if (!pending) { notify("error", "Select some text first."); return; }
    chosen = [];
    var text = textBox().textContent;
    var quote = text.slice(offsets.toUtf16(text, pending.start), offsets.toUtf16(text, pending.end));
    $("picker-quote").textContent = "“" + (quote.length > 160 ? quote.slice(0, 160) + "…" : quote) + "”";
    $("picker-filter").value = "";
    orderByRecent();
    filterPicker();
    $("code-picker").showModal();
    $("picker-filter").focus();
  }

  function closePicker() {
    var dialog = $("code-picker");
    if (dialog && dialog.open) dialog.close();
    var box = textBox();
    if (box) box.focus({ preventScroll: true });
  }

  function orderByRecent() {
    var list = $("picker-list");
    var items = pickerItems();
    var recent = recentIds();
    items.forEach(function (li) { li.querySelector(".pick-number") && (li.querySelector(".pick-number").textContent = ""); });
    items.sort(function (a, b) { return Number(a.dataset.order) - Number(b.dataset.order); });
    var numbered = [];
    recent.forEach(function (id) {
      var li = $("pick-" + id);
      if (li && numbered.length < 9) numbered.push(li);
    });
    numbered.forEach(function (li, i) { li.querySelector(".pick-number").textContent = String(i + 1); });
    var rest = items.filter(function (li) { return numbered.indexOf(li) === -1 && !li.dataset.new; });
    numbered.concat(rest).forEach(function (li) { list.appendChild(li); });
    var create = $("pick-new");
    if (create) list.appendChild(create);
  }

  function filterPicker() {
    var query = $("picker-filter").value.trim().toLowerCase();
    var words = query.split(/\s+/).filter(Boolean);
    var exact = false;
    pickerItems().forEach(function (li) {
      if (li.dataset.new) return;
      var hay = li.dataset.search;
      var show = words.every(function (w) { return hay.indexOf(w) !== -1; });
      li.classList.toggle("hidden", !show);
      if (li.querySelector(".pick-name").textContent.toLowerCase() === query) exact = true;
      li.setAttribute("aria-selected", chosen.indexOf(li.dataset.codeId) !== -1 ? "true" : "false");
    });
    var create = $("pick-new");
    if (create) {
      create.classList.toggle("hidden", !query || exact);
      $("pick-new-name").textContent = $("picker-filter").value.trim();
    }
    var first = visibleItems()[0];
    setActive(first || null);
    updateCount();
  }

  function setActive(li) {
    pickerItems().forEach(function (item) { item.classList.remove("active"); });
    var input = $("picker-filter");
    if (li) {
      li.classList.add("active");
      li.scrollIntoView({ block: "nearest" });
      input.setAttribute("aria-activedescendant", li.id);
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

  function activeItem() { return $("picker-list").querySelector("li.active"); }

  function toggle(li) {
    if (!li || li.dataset.new) return;
    var id = li.dataset.codeId;
    var at = chosen.indexOf(id);
    if (at === -1) chosen.push(id); else chosen.splice(at, 1);
    li.setAttribute("aria-selected", at === -1 ? "true" : "false");
    updateCount();
  }

  function updateCount() {
    $("picker-count").textContent = chosen.length ? chosen.length + " chosen" : "";
  }

  function applyFromPicker() {
    var active = activeItem();
    var newName = active && active.dataset.new ? $("picker-filter").value.trim() : "";
    var ids = chosen.slice();
    if (!ids.length && active && !active.dataset.new) ids = [active.dataset.codeId];
    if (!ids.length && !newName) { notify("error", "Choose a code first."); return; }
    var target = pending;
    closePicker();
    pending = target;
    apply(ids, newName);
  }

  function pickerKeys(event) {
    var items = visibleItems();
    var active = activeItem();
    var index = items.indexOf(active);
    var filterEmpty = $("picker-filter").value === "";
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      var next = event.key === "ArrowDown" ? Math.min(index + 1, items.length - 1) : Math.max(index - 1, 0);
      setActive(items[next] || null);
    } else if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      toggle(active);
    } else if (event.key === "Enter") {
      event.preventDefault();
      applyFromPicker();
    } else if (event.key === " " && filterEmpty) {
      event.preventDefault();
      toggle(active);
    } else if (/^[1-9]$/.test(event.key) && filterEmpty) {
      event.preventDefault();
      var numbered = pickerItems().filter(function (li) {
        var n = li.querySelector(".pick-number");
        return n && n.textContent === event.key;
      })[0];
      if (numbered) { toggle(numbered); setActive(numbered); }
    } else if (event.key === "Escape") {
      event.preventDefault();
      closePicker();
    }
  }

  // ---- Keyboard caret and selection inside the text. ----
  function ensureCaret() {
    var selection = window.getSelection();
    var box = textBox();
    if (selection.rangeCount && box.contains(selection.anchorNode)) return;
    var walker = document.createTreeWalker(box, NodeFilter.SHOW_TEXT);
    var node = walker.nextNode();
    var viewTop = 0;
    // Start at the first text visible on screen rather than at the very top.
    while (node) {
      var rect = node.parentElement.getBoundingClientRect();
      if (rect.bottom > viewTop + 60) break;
      node = walker.nextNode();
    }
    if (node) selection.collapse(node, 0);
  }

  function textKeys(event) {
    var selection = window.getSelection();
    var arrows = { ArrowLeft: ["backward", "word"], ArrowRight: ["forward", "word"], ArrowUp: ["backward", "line"], ArrowDown: ["forward", "line"] };
    if (arrows[event.key] && !event.altKey && !event.ctrlKey && !event.metaKey) {
      event.preventDefault();
      ensureCaret();
      selection.modify(event.shiftKey ? "extend" : "move", arrows[event.key][0], arrows[event.key][1]);
      return true;
    }
    if ((event.key === "Home" || event.key === "End") && !event.ctrlKey) {
      event.preventDefault();
      ensureCaret();
      selection.modify(event.shiftKey ? "extend" : "move", event.key === "Home" ? "backward" : "forward", "lineboundary");
      return true;
    }
    return false;
  }

  function click(id) { var node = $(id); if (node) node.click(); }

  document.addEventListener("keydown", function (event) {
    if (!area()) return;
    var picker = $("code-picker");
    if (picker && picker.open) { if (event.target.id === "picker-filter") pickerKeys(event); return; }
    if (event.key === "z" && (event.ctrlKey || event.metaKey) && !typing(event.target)) {
      event.preventDefault();
      click("undo-button");
      return;
    }
    if (event.target.id === "excerpt-memo" && event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      event.target.form.requestSubmit();
      return;
    }
    if (event.key === "Escape" && event.target.id === "excerpt-memo") {
      event.target.blur();
      if (textBox()) textBox().focus({ preventScroll: true });
      return;
    }
    if (typing(event.target)) return;
    if (event.target === textBox() && textKeys(event)) return;
    if (event.altKey && (event.key === "ArrowLeft" || event.key === "ArrowRight")) {
      event.preventDefault();
      var edge = event.shiftKey ? "end" : "start";
      click("move-" + edge + "-" + (event.key === "ArrowLeft" ? "left" : "right"));
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if ((event.key === "c" || event.key === "Enter") && currentSelection()) {
      event.preventDefault();
      openPicker();
    } else if (event.key === "n" || event.key === "p") {
      event.preventDefault();
      step(event.key === "n" ? 1 : -1);
    } else if (event.key === "m" && $("excerpt-memo")) {
      event.preventDefault();
      $("excerpt-memo").focus();
    } else if (event.key === "Delete" && $("delete-excerpt")) {
      event.preventDefault();
      click("delete-excerpt");
    } else if (event.key === "Escape") {
      window.getSelection().removeAllRanges();
    } else if (event.key === "?") {
      click("help-button");
    }
  });

  // ---- Clicks. ----
  document.addEventListener("click", function (event) {
    if (!area()) return;
    var target = event.target;
    var stripe = target.closest(".stripe");
    if (stripe) { openExcerpt(Number(stripe.dataset.excerptId), true); return; }
    var mark = target.closest("mark.hl");
    if (mark && window.getSelection().isCollapsed) { openExcerpt(excerptAt(mark), false); return; }
    var codeButton = target.closest(".code-button");
    if (codeButton) {
      if (canCode() && currentSelection()) {
        apply([codeButton.dataset.codeId]);
      } else {
        var link = codeButton.parentElement.querySelector(".focus-link");
        if (link) link.click();
      }
      return;
    }
    var option = target.closest("#picker-list li[role=option]");
    if (option) {
      if (option.dataset.new) { setActive(option); applyFromPicker(); } else { toggle(option); setActive(option); }
      return;
    }
    if (target.id === "picker-apply") { applyFromPicker(); return; }
    if (target.id === "picker-cancel") { closePicker(); return; }
    if (target.id === "prev-excerpt" || target.id === "next-excerpt") { step(target.id === "next-excerpt" ? 1 : -1); return; }
    if (target.id === "help-button") {
      var help = $("shortcut-help");
      var hidden = help.classList.toggle("hidden");
      target.setAttribute("aria-expanded", hidden ? "false" : "true");
      return;
    }
    if (target.id === "reselect-button") {
      var range = currentSelection();
      if (!range) { notify("error", "Select the new extent in the text first."); return; }
      htmx.ajax("POST", target.dataset.url, {
        target: "#excerpt-panel", swap: "outerHTML",
        values: { start: range.start, end: range.end, version: target.dataset.version, snap: snap() }
      });
    }
  });

  // Keep the hidden list of codes in the excerpt form in step with its checkboxes.
  document.addEventListener("change", function (event) {
    if (event.target.classList.contains("excerpt-code")) {
      var ids = Array.prototype.filter.call(document.querySelectorAll(".excerpt-code"), function (box) { return box.checked; })
        .map(function (box) { return box.value; });
      $("excerpt-codes").value = ids.join(",");
    }
  });

  document.addEventListener("input", function (event) {
    if (event.target.id === "picker-filter") filterPicker();
  });

  // ---- After htmx swaps: redraw, keep focus, follow the selected excerpt. ----
  var textHadFocus = false;
  document.body.addEventListener("htmx:beforeSwap", function (event) {
    textHadFocus = document.activeElement === textBox();
    // Never throw away a memo being written: only its own form's answer may replace it.
    var memo = $("excerpt-memo");
    var target = event.detail.target;
    var fromForm = event.detail.requestConfig && event.detail.requestConfig.elt &&
      event.detail.requestConfig.elt.closest && event.detail.requestConfig.elt.closest("#excerpt-form");
    if (memo && target && target.id === "excerpt-panel" && memo.value !== memo.defaultValue && !fromForm) {
      event.detail.shouldSwap = false;
      notify("warning", "Save or undo your memo first; it was kept.");
    }
  });
  document.body.addEventListener("htmx:afterSwap", function (event) {
    var panel = $("excerpt-panel");
    if (panel) {
      var id = panel.dataset.excerptId;
      selectedExcerpt = id ? Number(id) : null;
    }
    if (event.detail.target && event.detail.target.id === "coding-area" || $("coding-area") === event.detail.elt) {
      drawStripes();
      if (textHadFocus && textBox()) textBox().focus({ preventScroll: true });
    }
    markSelected();
  });
  document.body.addEventListener("htmx:afterSettle", function () { drawStripes(); markSelected(); });

  // ---- Others' coding appears within a few seconds. ----
  function poll() {
    var current = area();
    if (!current || document.visibilityState !== "visible") return;
    var busy = currentSelection() || ($("code-picker") && $("code-picker").open) ||
      (document.activeElement && document.activeElement.tagName === "TEXTAREA");
    if (busy) return;
    fetch(current.dataset.stateUrl, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (data && area() && data.state !== area().dataset.state) {
          htmx.trigger(document.body, "coding-changed");
        }
      })
      .catch(function () { /* offline for a moment: try again next time */ });
  }

  function start() {
    if (!area()) return;
    if ($("picker-list")) pickerItems().forEach(function (li, i) { li.dataset.order = String(i); });
    drawStripes();
    var panel = $("excerpt-panel");
    if (panel && panel.dataset.excerptId) { selectedExcerpt = Number(panel.dataset.excerptId); markSelected(); }
    // Opened from a quote (?excerpt=<id>): bring the excerpt into view unless it already is.
    if (selectedExcerpt !== null && /[?&]excerpt=\d/.test(window.location.search)) {
      var mark = textBox() && textBox().querySelector('mark[data-excerpts~="' + selectedExcerpt + '"]');
      var box = mark && mark.getBoundingClientRect();
      if (box && (box.top < 0 || box.bottom > window.innerHeight)) scrollToExcerpt(selectedExcerpt);
    }
    window.addEventListener("resize", drawStripes);
    setInterval(poll, POLL_MS);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
