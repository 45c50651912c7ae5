// The quick code picker: a dialog over the selection, filtered as one types, recent codes numbered 1-9.
(function () {
  "use strict";
  var coding = window.peercodingCoding;
  var offsets = window.peercodingOffsets;
  var $ = coding.$;
  var state = coding.state;
  var chosen = []; // code ids toggled in the picker

  function items() { return Array.prototype.slice.call($("picker-list").querySelectorAll("li[role=option]")); }
  function visibleItems() { return items().filter(function (li) { return !li.classList.contains("hidden"); }); }
  function activeItem() { return $("picker-list").querySelector("li.active"); }
  function isOpen() { return Boolean($("code-picker") && $("code-picker").open); }

  // The codebook's order, kept so that reordering by recent use can start from it each time.
  function rememberOrder() {
    if ($("picker-list")) items().forEach(function (li, i) { li.dataset.order = String(i); });
  }

  function open() {
    if (!coding.canCode() || !$("code-picker")) return;
    state.pending = coding.currentSelection();
    if (!state.pending) { coding.notify("error", "Select some text first."); return; }
    chosen = [];
    var quote = offsets.sliceCodePoints(coding.textBox().textContent, state.pending.start, state.pending.end);
    $("picker-quote").textContent = "“" + (quote.length > 160 ? quote.slice(0, 160) + "…" : quote) + "”";
    $("picker-filter").value = "";
    orderByRecent();
    filter();
    $("code-picker").showModal();
    $("picker-filter").focus();
  }

  function close() {
    var dialog = $("code-picker");
    if (dialog && dialog.open) dialog.close();
    var box = coding.textBox();
    if (box) box.focus({ preventScroll: true });
  }

  // The recent codes first, numbered 1-9, then the rest in codebook order; "create" last.
  function orderByRecent() {
    var list = $("picker-list");
    var all = items();
    all.forEach(function (li) { li.querySelector(".pick-number") && (li.querySelector(".pick-number").textContent = ""); });
    all.sort(function (a, b) { return Number(a.dataset.order) - Number(b.dataset.order); });
    var numbered = [];
    coding.recentIds().forEach(function (id) {
      var li = $("pick-" + id);
      if (li && numbered.length < 9) numbered.push(li);
    });
    numbered.forEach(function (li, i) { li.querySelector(".pick-number").textContent = String(i + 1); });
    var rest = all.filter(function (li) { return numbered.indexOf(li) === -1 && !li.dataset.new; });
    numbered.concat(rest).forEach(function (li) { list.appendChild(li); });
    var create = $("pick-new");
    if (create) list.appendChild(create);
  }

  // Show the codes whose name or definition holds every word typed; offer to create the name
  // typed when no code has it exactly.
  function filter() {
    var query = $("picker-filter").value.trim().toLowerCase();
    var words = query.split(/\s+/).filter(Boolean);
    var exact = false;
    items().forEach(function (li) {
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
    items().forEach(function (item) { item.classList.remove("active"); });
    var input = $("picker-filter");
    if (li) {
      li.classList.add("active");
      li.scrollIntoView({ block: "nearest" });
      input.setAttribute("aria-activedescendant", li.id);
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

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

  // Code the selection with the codes chosen, else the active one, else a new code of the name typed.
  function applyChosen() {
    var active = activeItem();
    var newName = active && active.dataset.new ? $("picker-filter").value.trim() : "";
    var ids = chosen.slice();
    if (!ids.length && active && !active.dataset.new) ids = [active.dataset.codeId];
    if (!ids.length && !newName) { coding.notify("error", "Choose a code first."); return; }
    close();
    coding.apply(ids, newName);
  }

  // Keys typed in the picker's filter box.
  function keys(event) {
    var shown = visibleItems();
    var active = activeItem();
    var index = shown.indexOf(active);
    var filterEmpty = $("picker-filter").value === "";
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      var next = event.key === "ArrowDown" ? Math.min(index + 1, shown.length - 1) : Math.max(index - 1, 0);
      setActive(shown[next] || null);
    } else if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      toggle(active);
    } else if (event.key === "Enter") {
      event.preventDefault();
      applyChosen();
    } else if (event.key === " " && filterEmpty) {
      event.preventDefault();
      toggle(active);
    } else if (/^[1-9]$/.test(event.key) && filterEmpty) {
      event.preventDefault();
      var numbered = items().filter(function (li) {
        var n = li.querySelector(".pick-number");
        return n && n.textContent === event.key;
      })[0];
      if (numbered) { toggle(numbered); setActive(numbered); }
    } else if (event.key === "Escape") {
      event.preventDefault();
      close();
    }
  }

  coding.onClick(function (target) {
    var option = target.closest("#picker-list li[role=option]");
    if (option) {
      if (option.dataset.new) { setActive(option); applyChosen(); } else { toggle(option); setActive(option); }
      return;
    }
    if (target.id === "picker-apply") { applyChosen(); return; }
    if (target.id === "picker-cancel") close();
  });

  document.addEventListener("input", function (event) {
    if (event.target.id === "picker-filter") filter();
  });

  coding.picker = { open: open, isOpen: isOpen, keys: keys, rememberOrder: rememberOrder };
})();
