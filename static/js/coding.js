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
  // A code's name by id: from the page's list, or the code panel for a code made since.
  function codeNamer() {
    var node = $("excerpt-data");
    var names = node && node.dataset.codes ? JSON.parse(node.dataset.codes) : {};
    return function (id) {
      if (names[id] !== undefined) return names[id];
      var button = document.querySelector('.code-button[data-code-id="' + id + '"]');
      return button ? button.dataset.codeName : "";
    };
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
  var LANE = 18;

  // Where the excerpt's highlights are, relative to the margin; null when it has none.
  function extentOf(excerpt, origin) {
    var marks = textBox().querySelectorAll('mark[data-excerpts~="' + excerpt.id + '"]');
    if (!marks.length) return null;
    var top = marks[0].getBoundingClientRect().top - origin;
    var bottom = marks[marks.length - 1].getBoundingClientRect().bottom - origin;
    return { top: top, bottom: Math.max(bottom, top + 14) };
  }

  function makeStripe(excerpt, code, name, extent, lane) {
    var node = document.createElement("button");
    node.type = "button";
    node.tabIndex = -1;
    node.className = "stripe c-" + code + (excerpt.id === selectedExcerpt ? " selected" : "");
    node.dataset.excerptId = excerpt.id;
    node.dataset.lane = lane;
    node.dataset.top = extent.top;
    node.dataset.bottom = extent.bottom;
    node.style.top = extent.top + "px";
    node.style.height = (extent.bottom - extent.top) + "px";
    node.style.left = (lane * LANE) + "px";
    node.title = name + " · " + excerpt.coder;
    var label = document.createElement("span");
    label.textContent = name + " · " + excerpt.coder;
    node.appendChild(label);
    return node;
  }

  function drawStripes() {
    var margin = document.querySelector("#coding-area .margin"), box = textBox();
    if (!margin || !box) return;
    margin.textContent = "";
    var origin = margin.getBoundingClientRect().top;
    var name = codeNamer();
    var stripes = [];
    excerptData().forEach(function (excerpt) {
      var extent = extentOf(excerpt, origin);
      if (!extent) return;
      excerpt.codes.forEach(function (code) { stripes.push({ extent: extent, excerpt: excerpt, code: code }); });
    });
    stripes.sort(function (a, b) { return a.extent.top - b.extent.top || b.extent.bottom - a.extent.bottom; });
    var lanes = [];
    var nodes = document.createDocumentFragment();
    stripes.forEach(function (stripe) {
      var lane = 0;
      while (lane < lanes.length && lanes[lane] > stripe.extent.top - 2) lane++;
      lanes[lane] = stripe.extent.bottom;
      nodes.appendChild(makeStripe(stripe.excerpt, stripe.code, name(stripe.code), stripe.extent, lane));
    });
    margin.appendChild(nodes);
    margin.style.width = Math.max(1, lanes.length) * LANE + "px";
  }

  // One excerpt's stripes, after it changed: the others stay where they are; the new ones take
  // the first lane free beside their lines.
  function redrawStripesOf(excerpt, id) {
    var margin = document.querySelector("#coding-area .margin");
    if (!margin) return;
    var old = margin.querySelectorAll('.stripe[data-excerpt-id="' + id + '"]');
    Array.prototype.forEach.call(old, function (node) { node.remove(); });
    var taken = Array.prototype.map.call(margin.querySelectorAll(".stripe"), function (node) {
      return { lane: Number(node.dataset.lane), top: Number(node.dataset.top), bottom: Number(node.dataset.bottom) };
    });
    var extent = excerpt && extentOf(excerpt, margin.getBoundingClientRect().top);
    if (extent) {
      var name = codeNamer();
      excerpt.codes.forEach(function (code) {
        var lane = 0;
        var busy = function (s) { return s.lane === lane && s.top < extent.bottom + 2 && s.bottom > extent.top - 2; };
        while (taken.some(busy)) lane++;
        margin.appendChild(makeStripe(excerpt, code, name(code), extent, lane));
        taken.push({ lane: lane, top: extent.top, bottom: extent.bottom });
      });
    }
    var lanes = taken.reduce(function (most, s) { return Math.max(most, s.lane + 1); }, 1);
    margin.style.width = lanes * LANE + "px";
  }

  // ---- Showing one's own write in place: only the lines the excerpt touches are rebuilt. ----
  // The twin of spans.layout and the transcript_text tag for one line: a run of text per set of
  // covering excerpts, in a mark coloured after the newest of them; speaker labels kept.
  function layoutLine(para, excerpts) {
    var text = para.textContent;
    var newline = text.charAt(text.length - 1) === "\n";
    var line = newline ? text.slice(0, -1) : text;
    var units = offsets.codePointStarts(line);
    var length = units.length - 1;
    var start = Number(para.dataset.start), end = start + length;
    var labels = [], seen = 0;
    Array.prototype.forEach.call(para.childNodes, function (node) {
      var size = node.textContent.length;
      if (node.nodeType === 1 && node.classList.contains("speaker")) {
        labels.push([offsets.toCodePoints(line, seen), offsets.toCodePoints(line, Math.min(seen + size, line.length))]);
      }
      seen += size;
    });
    var here = excerpts.filter(function (e) { return e.start < end && e.end > start; });
    var cuts = [0, length];
    labels.forEach(function (label) { cuts.push(label[0], label[1]); });
    here.forEach(function (e) { cuts.push(Math.max(0, e.start - start), Math.min(length, e.end - start)); });
    cuts = cuts.sort(function (a, b) { return a - b; }).filter(function (c, i, all) { return i === 0 || c !== all[i - 1]; });
    var classes = {};
    here.forEach(function (e) { classes[e.id] = e.cls; });
    var nodes = [];
    for (var i = 0; i + 1 < cuts.length; i++) {
      var a = cuts[i], b = cuts[i + 1];
      var piece = line.slice(units[a], units[b]);
      var ids = here.filter(function (e) { return e.start - start <= a && a < e.end - start; })
        .map(function (e) { return e.id; }).sort(function (x, y) { return x - y; });
      var inLabel = labels.some(function (label) { return label[0] <= a && a < label[1]; });
      var node;
      if (ids.length) {
        node = document.createElement("mark");
        var top = classes[ids[ids.length - 1]]; // coloured after the newest excerpt, as on the server
        node.className = "hl depth-" + Math.min(ids.length, 4) + (top ? " " + top : "");
        node.dataset.excerpts = ids.join(" ");
        node.textContent = piece;
      } else if (!inLabel && nodes.length && typeof nodes[nodes.length - 1] === "string") {
        nodes[nodes.length - 1] += piece;
        continue;
      } else {
        node = piece;
      }
      if (inLabel) {
        var span = document.createElement("span");
        span.className = "speaker";
        span.append(node);
        node = span;
      }
      nodes.push(node);
    }
    if (newline) nodes.push("\n");
    para.replaceChildren.apply(para, nodes);
  }

  // The lines (div.para, in order, each with its first code point in data-start) that [start, end) touches.
  function linesOf(start, end) {
    var lines = textBox().children, lo = 0, hi = lines.length - 1, found = [];
    while (lo < hi) {
      var mid = (lo + hi + 1) >> 1;
      if (Number(lines[mid].dataset.start) <= start) lo = mid; else hi = mid - 1;
    }
    for (var i = lo; i < lines.length && (i === lo || Number(lines[i].dataset.start) < end); i++) found.push(lines[i]);
    return found;
  }

  function sameLook(a, b) {
    return a.start === b.start && a.end === b.end && a.cls === b.cls && JSON.stringify(a.codes) === JSON.stringify(b.codes) &&
      a.coder === b.coder;
  }

  // The polling token (count-sum of ids-sum of versions, see coding.state_token) once one's own
  // write is counted: if the server's differs at the next poll, someone else changed something.
  function shiftedState(state, delta) {
    var parts = String(state).split("-").map(Number);
    if (parts.length !== 3 || parts.some(isNaN)) return "";
    return parts.map(function (part, i) { return part + delta[i]; }).join("-");
  }

  // The server's answer to one's own write: the excerpt as it is now (or the id removed).
  function patchExcerpt(detail) {
    var list = excerptData();
    var id = detail.excerpt ? detail.excerpt.id : detail.removed;
    var index = list.findIndex(function (e) { return e.id === id; });
    var old = index === -1 ? null : list[index];
    if (index !== -1) list.splice(index, 1);
    if (detail.excerpt) {
      var e = detail.excerpt;
      // In reading order, as the server lists them: by start, end, then id.
      var at = list.findIndex(function (o) {
        return o.start > e.start || (o.start === e.start && (o.end > e.end || (o.end === e.end && o.id > e.id)));
      });
      list.splice(at === -1 ? list.length : at, 0, e);
    }
    $("excerpt-data").dataset.json = JSON.stringify(list);
    area().dataset.state = shiftedState(area().dataset.state, detail.delta);
    if (old && detail.excerpt && sameLook(old, detail.excerpt)) return; // a memo: nothing to redraw
    var lines = [];
    [old, detail.excerpt].forEach(function (e) {
      if (e) linesOf(e.start, e.end).forEach(function (line) { if (lines.indexOf(line) === -1) lines.push(line); });
    });
    lines.forEach(function (line) { layoutLine(line, list); });
    redrawStripesOf(detail.excerpt, id);
    markSelected();
  }

  document.body.addEventListener("coding-saved", function (event) {
    var detail = event.detail;
    if (!area() || !$("excerpt-data") || area().dataset.filtered === "1") {
      // A filtered view may not show the excerpt at all: let the server say what it shows.
      htmx.trigger(document.body, "coding-changed");
      return;
    }
    var box = textBox(), selection = window.getSelection();
    var selecting = selection.rangeCount > 0 && box.contains(selection.anchorNode);
    patchExcerpt(detail);
    // The selection just coded lived in the rebuilt lines: leave the caret after the excerpt,
    // where the keyboard goes on from.
    if (selecting && detail.excerpt) offsets.selectCodePoints(box, detail.excerpt.end, detail.excerpt.end);
    else if (selecting) selection.removeAllRanges();
    htmx.trigger(document.body, "coding-patched");
  });

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
      return codeId === null || e.codes.indexOf(codeId) !== -1;
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
    if (swapped(event, "coding-area") && textHadFocus && textBox()) textBox().focus({ preventScroll: true });
    markSelected();
  });
  // Stripes are measured once the new text has settled; other regions do not move the text.
  document.body.addEventListener("htmx:afterSettle", function (event) {
    if (swapped(event, "coding-area")) { drawStripes(); markSelected(); }
  });
  function swapped(event, id) {
    return (event.detail.target && event.detail.target.id === id) || $(id) === event.detail.elt;
  }

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
