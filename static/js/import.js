// Upload transcript files one at a time so each gets its own progress and result row.
// Without this script the form still works: it posts every file at once.
(function () {
  "use strict";
  var form = document.getElementById("import-form");
  if (!form || !window.FormData) return;
  var input = form.querySelector("input[type=file]");
  var progress = document.getElementById("import-progress");
  var status = document.getElementById("import-status");
  var rows = document.getElementById("import-result-rows");
  var token = form.querySelector("input[name=csrfmiddlewaretoken]").value;

  function send(file, index, total) {
    return new Promise(function (resolve) {
      var data = new FormData();
      data.append("files", file, file.name);
      var xhr = new XMLHttpRequest();
      xhr.open("POST", form.action);
      xhr.setRequestHeader("HX-Request", "true");
      xhr.setRequestHeader("X-CSRFToken", token);
      xhr.upload.onprogress = function (event) {
        if (event.lengthComputable) progress.value = (index + event.loaded / event.total) / total;
      };
      xhr.onload = function () {
        if (xhr.status === 200) {
          var holder = document.createElement("template");
          holder.innerHTML = xhr.responseText;
          Array.prototype.forEach.call(holder.content.querySelectorAll("tr"), function (tr) {
            rows.appendChild(tr);
            // A big file goes to the background worker: its row follows the job's progress.
            if (window.htmx) window.htmx.process(tr);
          });
        } else {
          rows.appendChild(errorRow(file.name, xhr.status === 403 ? "You may not import into this project." :
            xhr.status === 413 ? "The file is too large." : "The server could not import it (" + xhr.status + ")."));
        }
        resolve();
      };
      xhr.onerror = function () {
        rows.appendChild(errorRow(file.name, "The server could not be reached; nothing was saved. Try again."));
        resolve();
      };
      xhr.send(data);
    });
  }

  function errorRow(name, message) {
    var tr = document.createElement("tr");
    tr.className = "import-refused";
    var a = document.createElement("td"); a.textContent = name;
    var b = document.createElement("td"); b.textContent = "Refused: " + message;
    tr.appendChild(a); tr.appendChild(b); tr.appendChild(document.createElement("td"));
    return tr;
  }

  form.addEventListener("submit", function (event) {
    var files = Array.prototype.slice.call(input.files);
    if (!files.length) return;
    event.preventDefault();
    var button = form.querySelector("button[type=submit]");
    button.disabled = true;
    progress.classList.remove("hidden");
    progress.value = 0;
    var chain = Promise.resolve();
    files.forEach(function (file, index) {
      chain = chain.then(function () {
        status.textContent = "Importing " + (index + 1) + " of " + files.length + ": " + file.name;
        return send(file, index, files.length);
      });
    });
    chain.then(function () {
      progress.value = 1;
      var refused = rows.querySelectorAll(".import-refused").length;
      status.textContent = "Done: " + files.length + " file" + (files.length === 1 ? "" : "s") + " processed" +
        (refused ? ", " + refused + " refused (see below)." : ".");
      button.disabled = false;
      input.value = "";
    });
  });
})();
