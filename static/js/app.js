// Behaviour shared by every page. Plain JavaScript; no inline scripts (CSP forbids them).
(function () {
  "use strict";

  // Messages that arrive with htmx responses (HX-Trigger "notify") show in the messages region.
  document.body.addEventListener("notify", function (event) {
    var region = document.getElementById("messages");
    if (!region || !event.detail) return;
    var p = document.createElement("p");
    p.className = "message message-" + (event.detail.level || "info");
    p.setAttribute("role", "status");
    p.textContent = event.detail.message || "";
    region.appendChild(p);
    setTimeout(function () { p.remove(); }, 8000);
  });

  // A failed htmx request must never fail silently: tell the user, keep what they typed.
  document.body.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr.status;
    if (status === 401 || event.detail.xhr.getResponseHeader("HX-Trigger")) return; // the server said what to do
    var text = status === 403 ? "You do not have permission to do that." :
      status === 404 ? "That item no longer exists; reload the page to see the current state." :
      status === 409 ? "Someone else changed this meanwhile; reload to see their change. Your text is kept." :
      "Something went wrong on the server (" + status + "). Nothing was lost; please try again.";
    document.body.dispatchEvent(new CustomEvent("notify", { detail: { level: "error", message: text } }));
  });
  document.body.addEventListener("htmx:sendError", function () {
    document.body.dispatchEvent(new CustomEvent("notify", {
      detail: { level: "error", message: "The server could not be reached. Check the connection and try again." }
    }));
  });
})();
