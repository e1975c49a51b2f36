/* DMP upload: drag and drop onto the drop zone, and a progress bar while sending (no library, no CDN).
   Without JavaScript the form posts normally. */
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  if (!form || !window.XMLHttpRequest || !window.FormData) { return; }
  var zone = document.getElementById("dropzone");
  var input = form.querySelector("input[type=file]");
  var nameOut = document.getElementById("file-name");
  var bar = document.getElementById("upload-progress");
  var error = document.getElementById("upload-error");
  var button = form.querySelector("button[type=submit]");

  function showName() {
    nameOut.textContent = input.files && input.files.length ? input.files[0].name : "";
  }
  input.addEventListener("change", showName);
  ["dragenter", "dragover"].forEach(function (type) {
    zone.addEventListener(type, function (event) { event.preventDefault(); zone.classList.add("is-over"); });
  });
  ["dragleave", "drop"].forEach(function (type) {
    zone.addEventListener(type, function (event) { event.preventDefault(); zone.classList.remove("is-over"); });
  });
  zone.addEventListener("drop", function (event) {
    if (event.dataTransfer && event.dataTransfer.files.length) {
      input.files = event.dataTransfer.files;
      showName();
    }
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    error.textContent = "";
    var request = new XMLHttpRequest();
    request.open("POST", form.action || window.location.href);
    request.setRequestHeader("X-Requested-With", "XMLHttpRequest");
    bar.hidden = false;
    bar.value = 0;
    button.disabled = true;
    request.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) { bar.value = Math.round((e.loaded / e.total) * 100); }
    });
    request.addEventListener("load", function () {
      var body = {};
      try { body = JSON.parse(request.responseText); } catch (ignored) { body = {}; }
      if (request.status < 300 && body.redirect) {
        bar.value = 100;
        window.location.assign(body.redirect);
        return;
      }
      button.disabled = false;
      bar.hidden = true;
      error.textContent = body.detail || form.getAttribute("data-error") || "Erreur";
      error.focus();
    });
    request.addEventListener("error", function () {
      button.disabled = false;
      bar.hidden = true;
      error.textContent = "Erreur réseau : réessayez.";
    });
    request.send(new FormData(form));
  });
}());
