// The transcript page is a handful of plain files sharing this one object, window.peercodingCoding.
// transcript_detail.html loads them in order, each deferred:
//   offsets.js        code points and UTF-16 offsets, selections (window.peercodingOffsets)
//   coding-page.js    this file: where things are on the page, the state the parts share
//   coding-stripes.js margin stripes, one per code of each excerpt
//   coding-patch.js   one's own write shown in place, without reloading the text
//   coding-panel.js   the excerpt open in the side panel; moving between excerpts
//   coding-apply.js   coding the selection; recently used codes
//   coding-picker.js  the quick code picker dialog
//   coding-keys.js    keyboard shortcuts and the caret in the text
//   coding.js         after htmx swaps, polling for others' coding, and the start
// The server renders everything; these files only do what the browser must.
(function () {
  "use strict";
  var offsets = window.peercodingOffsets;

  var coding = (window.peercodingCoding = {
    state: {
      selectedExcerpt: null, // id of the excerpt open in the side panel
      pending: null // code point offsets of the selection the picker will code
    }
  });

  function $(id) { return document.getElementById(id); }
  function area() { return $("coding-area"); }
  function textBox() { return $("transcript-text"); }

  coding.$ = $;
  coding.area = area;
  coding.textBox = textBox;
  coding.canCode = function () { return area() && area().dataset.canCode === "1"; };

  coding.excerptData = function () {
    var node = $("excerpt-data");
    return node ? JSON.parse(node.dataset.json) : [];
  };

  // A code's name by id: from the page's list, or the code panel for a code made since.
  coding.codeNamer = function () {
    var node = $("excerpt-data");
    var names = node && node.dataset.codes ? JSON.parse(node.dataset.codes) : {};
    return function (id) {
      if (names[id] !== undefined) return names[id];
      var button = document.querySelector('.code-button[data-code-id="' + id + '"]');
      return button ? button.dataset.codeName : "";
    };
  };

  // The selection in the text as code point offsets, or null.
  coding.currentSelection = function () {
    var box = textBox();
    return box ? offsets.selectionCodePoints(box) : null;
  };

  coding.notify = function (level, message) {
    document.body.dispatchEvent(new CustomEvent("notify", { detail: { level: level, message: message } }));
  };

  coding.typing = function (target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  };

  // Whether the "snap to words" box is ticked, as the server's form wants it.
  coding.snap = function () { var box = $("snap-words"); return box && box.checked ? "1" : "0"; };

  // Listen to clicks only while the page shows a coding area.
  coding.onClick = function (handle) {
    document.addEventListener("click", function (event) {
      if (area()) handle(event.target);
    });
  };
})();
