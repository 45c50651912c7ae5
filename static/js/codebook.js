// The codebook page: drag a code onto another to make it a subtheme, or onto the strip at the
// end to make it a theme. Dropping fills the Move form (the keyboard way) and submits it, so
// the server does the same checks either way. Plain HTML5 drag events; no inline scripts.
(function () {
  "use strict";
  var dragged = null;

  function row(target) { return target && target.closest ? target.closest(".code-row, .top-drop") : null; }
  function clearTargets() {
    Array.prototype.forEach.call(document.querySelectorAll(".drop-target"), function (node) {
      node.classList.remove("drop-target");
    });
  }
  function inside(parent, child) {
    // A code cannot go under itself or its own subthemes: rows after it with a deeper depth.
    if (!parent || !child) return false;
    if (parent === child) return true;
    var depth = function (node) { var m = /depth-(\d+)/.exec(node.className); return m ? +m[1] : 0; };
    var base = depth(child), node = child.nextElementSibling;
    while (node && depth(node) > base) {
      if (node === parent) return true;
      node = node.nextElementSibling;
    }
    return false;
  }

  document.addEventListener("dragstart", function (event) {
    var source = event.target.closest && event.target.closest(".code-row[draggable=true]");
    if (!source) return;
    dragged = source;
    source.classList.add("dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", source.dataset.codeId);
  });

  document.addEventListener("dragend", function () {
    if (dragged) dragged.classList.remove("dragging");
    dragged = null;
    clearTargets();
  });

  document.addEventListener("dragover", function (event) {
    var target = row(event.target);
    if (!dragged || !target || inside(target, dragged)) return;
    event.preventDefault(); // allows the drop
    event.dataTransfer.dropEffect = "move";
    if (!target.classList.contains("drop-target")) {
      clearTargets();
      target.classList.add("drop-target");
    }
  });

  document.addEventListener("dragleave", function (event) {
    var target = row(event.target);
    if (target && !target.contains(event.relatedTarget)) target.classList.remove("drop-target");
  });

  document.addEventListener("drop", function (event) {
    var target = row(event.target);
    if (!dragged || !target || inside(target, dragged)) return;
    event.preventDefault();
    var form = document.getElementById("move-form");
    if (!form) return;
    form.querySelector("[name=code]").value = dragged.dataset.codeId;
    form.querySelector("[name=parent]").value = target.dataset.codeId || "";
    clearTargets();
    form.requestSubmit();
  });

  // New codes get their colour class from codes.css: fetch it again after the codebook changes.
  document.body.addEventListener("codes-changed", function () {
    var link = document.getElementById("codes-css");
    if (!link) return;
    var url = link.href.split("?")[0] + "?v=" + Date.now();
    var fresh = link.cloneNode();
    fresh.href = url;
    fresh.addEventListener("load", function () { link.remove(); });
    link.after(fresh);
  });
})();
