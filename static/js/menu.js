/* The header's menu button on a phone (a file, not inline: the CSP forbids inline scripts).
   Without JavaScript the whole menu shows; with it, narrow screens fold it behind the button. */
(function () {
  "use strict";
  var button = document.querySelector(".menu-button");
  var nav = document.getElementById("main-nav");
  if (!button || !nav) { return; }
  document.documentElement.classList.add("js-menu");
  button.hidden = false;
  button.addEventListener("click", function () {
    var open = button.getAttribute("aria-expanded") !== "true";
    button.setAttribute("aria-expanded", open ? "true" : "false");
    nav.classList.toggle("is-open", open);
  });
}());
