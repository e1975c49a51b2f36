// Forms with data-confirm ask before an irreversible action (a file, not an inline handler: the CSP forbids those).
document.addEventListener("submit", function (event) {
  var form = event.target;
  var question = form.getAttribute && form.getAttribute("data-confirm");
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
