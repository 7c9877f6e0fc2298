// immunotox app: the only script the page runs (served by the app; CSP forbids inline script).
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("[data-action='print']").forEach(function (b) {
    b.addEventListener("click", function () { window.print(); });
  });
});
