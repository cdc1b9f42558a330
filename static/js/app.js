// Progressive enhancements; every page works without this file.
// - [data-copy] buttons copy their value to the clipboard.
// - <time datetime data-local-time> gains the viewer's own local time and
//   a warning when its calendar day differs from the policy's.
(function () {
  "use strict";

  function enhance(root) {
    root.querySelectorAll("button[data-copy]").forEach(function (b) {
      if (!navigator.clipboard) return;
      b.hidden = false;
      b.addEventListener("click", function () {
        navigator.clipboard.writeText(b.dataset.copy).then(function () {
          var label = b.textContent;
          b.textContent = "✓";
          setTimeout(function () { b.textContent = label; }, 1200);
        });
      });
    });
    var lang = document.documentElement.lang || undefined;
    var fmt = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short" });
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    root.querySelectorAll("time[data-local-time]").forEach(function (t) {
      if (t.dataset.enhanced) return;
      t.dataset.enhanced = "1";
      var when = new Date(t.getAttribute("datetime"));
      if (isNaN(when)) return;
      var span = document.createElement("span");
      span.className = "local-time";
      span.setAttribute("data-testid", "viewer-time");
      var policyDay = t.getAttribute("datetime").slice(0, 10);
      var viewerDay = when.toLocaleDateString("en-CA");
      span.textContent = zone + ": " + fmt.format(when) + (policyDay !== viewerDay ? " ⚠" : "");
      if (policyDay !== viewerDay) span.title = policyDay + " ≠ " + viewerDay;
      t.parentNode.parentNode.appendChild(span);
    });
  }

  document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  document.addEventListener("htmx:afterSettle", function (e) { enhance(e.target); });
})();
