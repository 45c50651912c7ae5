// Keyboard shortcuts, and a caret that moves through the text by word and line (the "?" button
// lists the shortcuts). Keys typed into the picker go to the picker; keys typed into a field stay there.
(function () {
  "use strict";
  var coding = window.peercodingCoding;
  var $ = coding.$;

  // Shortcuts press the page's own buttons, so a key does exactly what its button does.
  function clickById(id) { var node = $(id); if (node) node.click(); }

  // Without a caret in the text, put one at the first text visible on screen rather than at the very top.
  function ensureCaret() {
    var selection = window.getSelection();
    var box = coding.textBox();
    if (selection.rangeCount && box.contains(selection.anchorNode)) return;
    var walker = document.createTreeWalker(box, NodeFilter.SHOW_TEXT);
    var node = walker.nextNode();
    var viewTop = 0;
    while (node) {
      var rect = node.parentElement.getBoundingClientRect();
      if (rect.bottom > viewTop + 60) break;
      node = walker.nextNode();
    }
    if (node) selection.collapse(node, 0);
  }

  // Arrows move by word and line, Home and End to the line's edges; Shift extends the selection.
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

  // Ctrl+Enter saves the memo, Escape leaves it for the text.
  function memoKeys(event) {
    if (event.target.id !== "excerpt-memo") return false;
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      event.target.form.requestSubmit();
      return true;
    }
    if (event.key === "Escape") {
      event.target.blur();
      if (coding.textBox()) coding.textBox().focus({ preventScroll: true });
      return true;
    }
    return false;
  }

  // Single letters, and Alt+arrows that move the open excerpt's edges by a word.
  function pageKeys(event) {
    if (event.altKey && (event.key === "ArrowLeft" || event.key === "ArrowRight")) {
      event.preventDefault();
      var edge = event.shiftKey ? "end" : "start";
      clickById("move-" + edge + "-" + (event.key === "ArrowLeft" ? "left" : "right"));
      return;
    }
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    if ((event.key === "c" || event.key === "Enter") && coding.currentSelection()) {
      event.preventDefault();
      coding.picker.open();
    } else if (event.key === "n" || event.key === "p") {
      event.preventDefault();
      coding.panel.step(event.key === "n" ? 1 : -1);
    } else if (event.key === "m" && $("excerpt-memo")) {
      event.preventDefault();
      $("excerpt-memo").focus();
    } else if (event.key === "Delete" && $("delete-excerpt")) {
      event.preventDefault();
      clickById("delete-excerpt");
    } else if (event.key === "Escape") {
      window.getSelection().removeAllRanges();
    } else if (event.key === "?") {
      clickById("help-button");
    }
  }

  document.addEventListener("keydown", function (event) {
    if (!coding.area()) return;
    if (coding.picker.isOpen()) { if (event.target.id === "picker-filter") coding.picker.keys(event); return; }
    if (event.key === "z" && (event.ctrlKey || event.metaKey) && !coding.typing(event.target)) {
      event.preventDefault();
      clickById("undo-button");
      return;
    }
    if (memoKeys(event)) return;
    if (coding.typing(event.target)) return;
    if (event.target === coding.textBox() && textKeys(event)) return;
    pageKeys(event);
  });

  coding.onClick(function (target) {
    if (target.id !== "help-button") return;
    var hidden = $("shortcut-help").classList.toggle("hidden");
    target.setAttribute("aria-expanded", hidden ? "false" : "true");
  });
})();
