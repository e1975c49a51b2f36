/* The copy's progress while it is being prepared (a file, not inline: the CSP forbids inline scripts).
   Every few seconds it reads the same page again and updates the progress bar in place (announced politely to
   screen readers); once the copy is no longer in preparation it shows the page's new state. A button stops it
   (WCAG 2.2.1). Without JavaScript the page offers its "Actualiser" link. */
(function () {
  "use strict";
  var live = document.getElementById("rr-live");
  if (!live || !window.fetch || !window.DOMParser) { return; }
  var seconds = parseInt(live.getAttribute("data-refresh-seconds"), 10) || 5;
  var stop = document.getElementById("rr-stop");
  var timer = null;

  function poll() {
    fetch(window.location.href, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (response) { return response.ok ? response.text() : Promise.reject(response.status); })
      .then(function (html) {
        var next = new DOMParser().parseFromString(html, "text/html").getElementById("rr-live");
        if (!next) { window.location.reload(); return; }
        var bar = document.getElementById("rr-progress");
        var nextBar = next.querySelector("#rr-progress");
        var text = document.getElementById("rr-percent");
        var nextText = next.querySelector("#rr-percent");
        if (bar && nextBar) { bar.value = nextBar.value; bar.textContent = nextBar.textContent; }
        if (text && nextText) { text.textContent = nextText.textContent; }
        timer = window.setTimeout(poll, seconds * 1000);
      })
      .catch(function () { timer = window.setTimeout(poll, seconds * 1000); });
  }

  if (stop) {
    stop.hidden = false;
    stop.addEventListener("click", function () {
      window.clearTimeout(timer);
      timer = null;
      stop.hidden = true;
    });
  }
  timer = window.setTimeout(poll, seconds * 1000);
}());
