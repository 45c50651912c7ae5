// Offsets: the browser counts UTF-16 code units, peercoding stores Unicode code points.
// This is the one place where the page converts; transcripts/spans.py is its twin on the server.
(function () {
  "use strict";

  function isHighSurrogate(code) { return code >= 0xd800 && code <= 0xdbff; }

  // Code points in text.slice(0, units). An offset between the halves of a surrogate pair
  // moves back to the start of that character, so an emoji is never split.
  function toCodePoints(text, units) {
    if (units < 0 || units > text.length) throw new RangeError("offset outside the text");
    var points = 0;
    for (var i = 0; i < units; i++) {
      var code = text.charCodeAt(i);
      if (isHighSurrogate(code) && i + 1 < text.length) {
        if (i + 1 >= units) break; // units falls inside the pair
        i++;
      }
      points++;
    }
    return points;
  }

  // UTF-16 code units before the code point at `points`.
  function toUtf16(text, points) {
    var units = 0;
    for (var p = 0; p < points; p++) {
      if (units >= text.length) throw new RangeError("offset outside the text");
      units += isHighSurrogate(text.charCodeAt(units)) ? 2 : 1;
    }
    return units;
  }

  // The UTF-16 offset of each code point of text, and text.length last: [k] is where code point k starts.
  function codePointStarts(text) {
    var starts = [0];
    for (var i = 0; i < text.length; ) {
      i += isHighSurrogate(text.charCodeAt(i)) && i + 1 < text.length ? 2 : 1;
      starts.push(i);
    }
    return starts;
  }

  // The text between code points start and end.
  function sliceCodePoints(text, start, end) {
    return text.slice(toUtf16(text, start), toUtf16(text, end));
  }

  // The children of `container` that code points [start, end) touch, in order. Each child is one
  // line holding its first code point in data-start, as the transcript_text tag writes them.
  function linesCovering(container, start, end) {
    var lines = container.children, lo = 0, hi = lines.length - 1, found = [];
    while (lo < hi) {
      var mid = (lo + hi + 1) >> 1;
      if (Number(lines[mid].dataset.start) <= start) lo = mid; else hi = mid - 1;
    }
    for (var i = lo; i < lines.length && (i === lo || Number(lines[i].dataset.start) < end); i++) found.push(lines[i]);
    return found;
  }

  // The selection inside `container` as UTF-16 offsets into container.textContent, or null.
  function selectionUnits(container) {
    var selection = window.getSelection();
    if (!selection || selection.rangeCount === 0 || selection.isCollapsed) return null;
    var range = selection.getRangeAt(0);
    if (!container.contains(range.commonAncestorContainer) && range.commonAncestorContainer !== container) {
      // Clamp a selection that spills outside the text.
      var clamped = document.createRange();
      clamped.selectNodeContents(container);
      if (range.compareBoundaryPoints(Range.START_TO_START, clamped) > 0) clamped.setStart(range.startContainer, range.startOffset);
      if (range.compareBoundaryPoints(Range.END_TO_END, clamped) < 0) clamped.setEnd(range.endContainer, range.endOffset);
      range = clamped;
    }
    var before = document.createRange();
    before.selectNodeContents(container);
    before.setEnd(range.startContainer, range.startOffset);
    var start = before.toString().length;
    var end = start + range.toString().length;
    return end > start ? { start: start, end: end } : null;
  }

  // The selection as code point offsets into the stored text, or null.
  function selectionCodePoints(container) {
    var units = selectionUnits(container);
    if (!units) return null;
    var text = container.textContent;
    return { start: toCodePoints(text, units.start), end: toCodePoints(text, units.end) };
  }

  // Select [start, end) code points of the container's text (used to show an excerpt).
  function selectCodePoints(container, start, end) {
    var text = container.textContent;
    var from = toUtf16(text, start), to = toUtf16(text, end);
    var walker = document.createTreeWalker(container, NodeFilter.SHOW_TEXT);
    var range = document.createRange();
    var seen = 0, node, startSet = false;
    while ((node = walker.nextNode())) {
      var length = node.data.length;
      if (!startSet && from <= seen + length) { range.setStart(node, from - seen); startSet = true; }
      if (startSet && to <= seen + length) { range.setEnd(node, to - seen); break; }
      seen += length;
    }
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  window.peercodingOffsets = {
    toCodePoints: toCodePoints,
    toUtf16: toUtf16,
    codePointStarts: codePointStarts,
    sliceCodePoints: sliceCodePoints,
    linesCovering: linesCovering,
    selectionUnits: selectionUnits,
    selectionCodePoints: selectionCodePoints,
    selectCodePoints: selectCodePoints
  };
})();
