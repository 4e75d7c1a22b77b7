/* Lists that change while one watches them (the queue, the dashboard, an incident)
   carry data-refresh="SECONDS" on <body>: the page reloads itself, unless the
   viewer is typing in a form. Without JavaScript, reload by hand. */
(function () {
  "use strict";
  var seconds = parseInt(document.body.getAttribute("data-refresh"), 10);
  if (!seconds || seconds < 15) { return; }
  var dirty = false;
  document.addEventListener("input", function () { dirty = true; });
  window.setTimeout(function reload() {
    var active = document.activeElement;
    var typing = active && /^(INPUT|TEXTAREA|SELECT)$/.test(active.tagName);
    if (dirty || typing) { window.setTimeout(reload, seconds * 1000); return; }
    window.location.reload();
  }, seconds * 1000);
})();
