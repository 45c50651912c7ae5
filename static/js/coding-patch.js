// Showing one's own write in place: the server answers a write with the excerpt as it is now
// ("coding-saved"), and only the lines that excerpt touches are rebuilt.
(function () {
  "use strict";
  var coding = window.peercodingCoding;
  var offsets = window.peercodingOffsets;

  // Where the line's speaker labels are, as code point ranges within it.
  function speakerLabels(para, line) {
    var labels = [], seen = 0;
    Array.prototype.forEach.call(para.childNodes, function (node) {
      var size = node.textContent.length;
      if (node.nodeType === 1 && node.classList.contains("speaker")) {
        labels.push([offsets.toCodePoints(line, seen), offsets.toCodePoints(line, Math.min(seen + size, line.length))]);
      }
      seen += size;
    });
    return labels;
  }

  // Where the line's runs begin and end, in code points within it: its edges, its labels' edges
  // and the edges of the excerpts on it, sorted and each once.
  function cutsOf(length, start, labels, here) {
    var cuts = [0, length];
    labels.forEach(function (label) { cuts.push(label[0], label[1]); });
    here.forEach(function (e) { cuts.push(Math.max(0, e.start - start), Math.min(length, e.end - start)); });
    return cuts.sort(function (a, b) { return a - b; }).filter(function (c, i, all) { return i === 0 || c !== all[i - 1]; });
  }

  function markOf(piece, ids, classes) {
    var node = document.createElement("mark");
    var top = classes[ids[ids.length - 1]]; // coloured after the newest excerpt, as on the server
    node.className = "hl depth-" + Math.min(ids.length, 4) + (top ? " " + top : "");
    node.dataset.excerpts = ids.join(" ");
    node.textContent = piece;
    return node;
  }

  // The twin of spans.layout and the transcript_text tag for one line: a run of text per set of
  // covering excerpts, in a mark coloured after the newest of them; speaker labels kept.
  function layoutLine(para, excerpts) {
    var text = para.textContent;
    var newline = text.charAt(text.length - 1) === "\n";
    var line = newline ? text.slice(0, -1) : text;
    var units = offsets.codePointStarts(line);
    var length = units.length - 1;
    var start = Number(para.dataset.start), end = start + length;
    var labels = speakerLabels(para, line);
    var here = excerpts.filter(function (e) { return e.start < end && e.end > start; });
    var cuts = cutsOf(length, start, labels, here);
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
        node = markOf(piece, ids, classes);
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

  // The page's list of excerpts with this one put in (or the removed id taken out); returns the
  // excerpt as the page had it before, or null.
  function storeExcerpt(list, detail, id) {
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
    coding.$("excerpt-data").dataset.json = JSON.stringify(list);
    return old;
  }

  // The server's answer to one's own write: the excerpt as it is now (or the id removed).
  function patchExcerpt(detail) {
    var list = coding.excerptData();
    var id = detail.excerpt ? detail.excerpt.id : detail.removed;
    var old = storeExcerpt(list, detail, id);
    coding.area().dataset.state = shiftedState(coding.area().dataset.state, detail.delta);
    if (old && detail.excerpt && sameLook(old, detail.excerpt)) return; // a memo: nothing to redraw
    var lines = [];
    [old, detail.excerpt].forEach(function (e) {
      if (!e) return;
      offsets.linesCovering(coding.textBox(), e.start, e.end).forEach(function (line) {
        if (lines.indexOf(line) === -1) lines.push(line);
      });
    });
    lines.forEach(function (line) { layoutLine(line, list); });
    coding.stripes.redrawOf(detail.excerpt, id);
    coding.panel.markSelected();
  }

  document.body.addEventListener("coding-saved", function (event) {
    var detail = event.detail;
    var area = coding.area();
    if (!area || !coding.$("excerpt-data") || area.dataset.filtered === "1") {
      // A filtered view may not show the excerpt at all: let the server say what it shows.
      htmx.trigger(document.body, "coding-changed");
      return;
    }
    var box = coding.textBox(), selection = window.getSelection();
    var selecting = selection.rangeCount > 0 && box.contains(selection.anchorNode);
    patchExcerpt(detail);
    // The selection just coded lived in the rebuilt lines: leave the caret after the excerpt,
    // where the keyboard goes on from.
    if (selecting && detail.excerpt) offsets.selectCodePoints(box, detail.excerpt.end, detail.excerpt.end);
    else if (selecting) selection.removeAllRanges();
    htmx.trigger(document.body, "coding-patched");
  });
})();
