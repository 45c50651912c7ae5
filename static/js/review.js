// Review pages: copy a quote with its citation. Everything else is links, forms and htmx.
(function () {
  "use strict";

  function notify(level, message) {
    document.body.dispatchEvent(new CustomEvent("notify", { detail: { level: level, message: message } }));
  }

  // For browsers without the asynchronous clipboard (or pages not served over HTTPS).
  function copyWithSelection(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "visually-hidden";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (error) { ok = false; }
    area.remove();
    return ok;
  }

  function copy(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).then(function () { return true; }, function () { return copyWithSelection(text); });
    }
    return Promise.resolve(copyWithSelection(text));
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest(".copy-quote");
    if (!button) return;
    copy(button.dataset.copy).then(function (ok) {
      if (ok) {
        button.dataset.copied = "1";
        notify("success", "Quote copied with its citation.");
      } else {
        notify("error", "Copying is blocked here; select the quote and copy it by hand.");
      }
    });
  });
})();
