/* First-response countdowns: every element with data-countdown-to counts down to
   that instant, once a second. Time is taken from the server (data-server-now on
   <body>) so that a wrong clock on the viewer's machine does not skew it. The page
   shows the same text without JavaScript, as of when it was served.
   The words follow pages_incident.countdown_text: under a minute left is "less than
   a minute left" (data-soon), the first minute past due "overdue by less than a
   minute" (data-just) — never "0 min". The state badge that names the countdown
   (data-state-of) is kept in step: at risk from data-warn-at, breached from the
   due instant, so the two never disagree. */
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

  function words(el, left) {
    var unit = el.getAttribute("data-day-unit") || "d";
    if (left >= 60) { return el.getAttribute("data-left").replace("{time}", compact(left, unit)); }
    if (left > 0) { return el.getAttribute("data-soon"); }
    if (left > -60) { return el.getAttribute("data-just"); }
    return el.getAttribute("data-over").replace("{time}", compact(-left, unit));
  }

  function keepBadge(el, now, left) {
    if (!el.id) { return; }
    var badge = document.querySelector('[data-state-of="' + el.id + '"]');
    if (!badge) { return; }
    var warn = Date.parse(el.getAttribute("data-warn-at") || "");
    var state = left <= 0 ? "breached" : (!isNaN(warn) && now >= warn ? "at-risk" : "pending");
    if (badge.getAttribute("data-state") === state) { return; }
    var label = badge.getAttribute("data-label-" + state);
    if (!label) { return; }
    badge.classList.remove("state-" + badge.getAttribute("data-state"));
    badge.classList.add("state-" + state);
    badge.setAttribute("data-state", state);
    badge.textContent = label;
  }

  function tick() {
    var now = Date.now() + skew;
    var items = document.querySelectorAll("[data-countdown-to]");
    for (var i = 0; i < items.length; i++) {
      var el = items[i];
      var due = Date.parse(el.getAttribute("data-countdown-to"));
      if (isNaN(due)) { continue; }
      var left = Math.round((due - now) / 1000);
      var text = words(el, left);
      if (el.textContent !== text) { el.textContent = text; }
      el.classList.toggle("overdue", left <= 0);
      keepBadge(el, now, left);
    }
  }

  tick();
  window.setInterval(tick, 1000);
})();
