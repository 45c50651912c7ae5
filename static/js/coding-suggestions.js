// Code suggestions: the switch loads the panel; each suggestion gets a dashed outline in its own
// margin, in its code's colour. On a focused suggestion, "a" accepts and "x" rejects it.
(function () {
  "use strict";
  var coding = window.peercodingCoding;
  var offsets = window.peercodingOffsets;
  var KEY = "peercoding-suggestions";
  var LANE = 10;

  function toggle() { return coding.$("suggestions-switch"); }
  function slot() { return coding.$("suggestion-slot"); }
  function margin() { return document.querySelector("#coding-area .suggestion-margin"); }
  function items() { return document.querySelectorAll("#suggestion-panel .suggestion"); }

  function extentOf(start, end, origin) {
    var box = coding.textBox();
    var lines = box ? offsets.linesCovering(box, start, end) : [];
    if (!lines.length) return null;
    var top = lines[0].getBoundingClientRect().top - origin;
    return { top: top, bottom: Math.max(lines[lines.length - 1].getBoundingClientRect().bottom - origin, top + 14) };
  }

  function draw() {
    var box = margin();
    if (!box) return;
    box.textContent = "";
    if (!toggle() || !toggle().checked) return;
    var origin = box.getBoundingClientRect().top;
    var lanes = {};
    Array.prototype.forEach.call(items(), function (item) {
      var extent = extentOf(Number(item.dataset.start), Number(item.dataset.end), origin);
      if (!extent) return;
      var key = item.dataset.start;
      var lane = lanes[key] = (lanes[key] === undefined ? 0 : lanes[key] + 1);
      var mark = document.createElement("button");
      mark.type = "button";
      mark.tabIndex = -1;
      mark.className = "suggestion-mark c-" + item.dataset.code;
      mark.style.top = extent.top + "px";
      mark.style.height = (extent.bottom - extent.top) + "px";
      mark.style.left = (lane * LANE) + "px";
      mark.title = item.getAttribute("aria-label");
      mark.addEventListener("click", function () { item.focus(); item.scrollIntoView({ block: "nearest" }); });
      box.appendChild(mark);
    });
  }

  function load() {
    var box = toggle();
    if (!box) return;
    if (box.checked) {
      htmx.ajax("GET", box.dataset.url, { target: "#suggestion-slot", swap: "innerHTML" });
    } else {
      slot().textContent = "";
      draw();
    }
  }

  // The first suggestion at or after where the answered one stood gets the focus, so a run of
  // suggestions can be answered from the keyboard alone.
  var answeredAt = null;

  document.addEventListener("keydown", function (event) {
    var item = event.target.closest && event.target.closest("#suggestion-panel .suggestion");
    if (!item || event.ctrlKey || event.metaKey || event.altKey) return;
    var button = event.key === "a" ? item.querySelector(".accept-suggestion")
      : event.key === "x" ? item.querySelector(".reject-suggestion") : null;
    if (!button) return;
    event.preventDefault();
    event.stopPropagation();
    answeredAt = Array.prototype.indexOf.call(items(), item);
    button.click();
  }, true);

  document.body.addEventListener("htmx:afterSettle", function () {
    draw();
    if (answeredAt === null) return;
    var list = items();
    if (list.length) list[Math.min(answeredAt, list.length - 1)].focus();
    answeredAt = null;
  });

  document.addEventListener("change", function (event) {
    if (event.target !== toggle()) return;
    sessionStorage.setItem(KEY, toggle().checked ? "1" : "0");
    load();
  });

  function start() {
    if (toggle() && sessionStorage.getItem(KEY) === "1") {
      toggle().checked = true;
      load();
    }
    window.addEventListener("resize", draw);
  }

  coding.suggestions = { draw: draw };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
