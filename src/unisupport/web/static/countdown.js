/* First-response countdowns: every element with data-countdown-to counts down to
   that instant, once a second. Time is taken from the server (data-server-now on
   <body>) so that a wrong clock on the viewer's machine does not skew it. The page
   shows the same text without JavaScript, as of when it was served. */
(function () {
  "use strict";
  var body = document.body;
  var serverNow = Date.parse(body.getAttribute("data-server-now"));
  var skew = isNaN(serverNow) ? 0 : serverNow - Date.now();

  function compact(seconds, dayUnit) {
    var minutes = Math.floor(Math.max(0, seconds) / 60);
    var days = Math.floor(minutes / 1440);
    var hours = Math.floor((minutes % 1440) / 60);
    var mins = minutes % 60;
    if (days) { return days + " " + dayUnit + " " + hours + " h"; }
    if (hours) { return hours + " h " + (mins < 10 ? "0" : "") + mins + " min"; }
    return mins + " min";
  }

  function tick() {
    var now = Date.now() + skew;
    var items = document.querySelectorAll("[data-countdown-to]");
    for (var i = 0; i < items.length; i++) {
      var el = items[i];
      var due = Date.parse(el.getAttribute("data-countdown-to"));
      if (isNaN(due)) { continue; }
      var left = Math.round((due - now) / 1000);
      var template = left > 0 ? el.getAttribute("data-left") : el.getAttribute("data-over");
      var text = template.replace("{time}", compact(Math.abs(left), el.getAttribute("data-day-unit") || "d"));
      if (el.textContent !== text) { el.textContent = text; }
      el.classList.toggle("overdue", left <= 0);
    }
  }

  tick();
  window.setInterval(tick, 1000);
})();
