// Margin stripes: one per code of each excerpt, beside the lines it covers.
(function () {
  "use strict";
  var coding = window.peercodingCoding;
  var LANE = 18;

  function margin() { return document.querySelector("#coding-area .margin"); }

  // Where the excerpt's highlights are, relative to the margin; null when it has none.
  function extentOf(excerpt, origin) {
    var marks = coding.textBox().querySelectorAll('mark[data-excerpts~="' + excerpt.id + '"]');
    if (!marks.length) return null;
    var top = marks[0].getBoundingClientRect().top - origin;
    var bottom = marks[marks.length - 1].getBoundingClientRect().bottom - origin;
    return { top: top, bottom: Math.max(bottom, top + 14) };
  }

  function makeStripe(excerpt, code, name, extent, lane) {
    var node = document.createElement("button");
    node.type = "button";
    node.tabIndex = -1;
    node.className = "stripe c-" + code + (excerpt.id === coding.state.selectedExcerpt ? " selected" : "");
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

  function draw() {
    var box = margin();
    if (!box || !coding.textBox()) return;
    box.textContent = "";
    var origin = box.getBoundingClientRect().top;
    var name = coding.codeNamer();
    var stripes = [];
    coding.excerptData().forEach(function (excerpt) {
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
    box.appendChild(nodes);
    box.style.width = Math.max(1, lanes.length) * LANE + "px";
  }

  // One excerpt's stripes, after it changed: the others stay where they are; the new ones take
  // the first lane free beside their lines.
  function redrawOf(excerpt, id) {
    var box = margin();
    if (!box) return;
    var old = box.querySelectorAll('.stripe[data-excerpt-id="' + id + '"]');
    Array.prototype.forEach.call(old, function (node) { node.remove(); });
    var taken = Array.prototype.map.call(box.querySelectorAll(".stripe"), function (node) {
      return { lane: Number(node.dataset.lane), top: Number(node.dataset.top), bottom: Number(node.dataset.bottom) };
    });
    var extent = excerpt && extentOf(excerpt, box.getBoundingClientRect().top);
    if (extent) {
      var name = coding.codeNamer();
      excerpt.codes.forEach(function (code) {
        var lane = 0;
        var busy = function (s) { return s.lane === lane && s.top < extent.bottom + 2 && s.bottom > extent.top - 2; };
        while (taken.some(busy)) lane++;
        box.appendChild(makeStripe(excerpt, code, name(code), extent, lane));
        taken.push({ lane: lane, top: extent.top, bottom: extent.bottom });
      });
    }
    var lanes = taken.reduce(function (most, s) { return Math.max(most, s.lane + 1); }, 1);
    box.style.width = lanes * LANE + "px";
  }

  coding.stripes = { draw: draw, redrawOf: redrawOf };
})();
