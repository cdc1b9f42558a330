// Progressive enhancements; every page works without this file.
// - [data-copy] buttons copy their value to the clipboard.
// - the cancel panel, once swapped in, takes the focus (keyboard and
//   screen-reader users land where the work continues).
// - input[data-viewer-zone] gets the browser's IANA time zone, for the
//   "times in my zone" preference.
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
    root.querySelectorAll("input[data-viewer-zone]").forEach(function (i) {
      i.value = Intl.DateTimeFormat().resolvedOptions().timeZone || i.value;
    });
    var lang = document.documentElement.lang || undefined;
    var fmt = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short" });
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    root.querySelectorAll("time[data-local-time]").forEach(function (t) {
      if (t.dataset.enhanced) return;
      t.dataset.enhanced = "1";
      var when = new Date(t.getAttribute("datetime"));
      if (isNaN(when)) return;
      // The UTC line the server wrote becomes the viewer's own local time.
      var line = t.parentNode;
      line.setAttribute("data-testid", "viewer-time");
      line.textContent = zone + ": ";
      t.textContent = fmt.format(when);
      line.appendChild(t);
      var policyDay = t.getAttribute("datetime").slice(0, 10);
      var viewerDay = when.toLocaleDateString("en-CA");
      if (policyDay !== viewerDay) {
        var flag = document.createElement("span");
        flag.className = "badge day-differs";
        flag.textContent = t.dataset.dayDiffers || "≠";
        line.parentNode.appendChild(flag);
      }
    });
  }

  document.addEventListener("DOMContentLoaded", function () { enhance(document); });
  document.addEventListener("htmx:afterSettle", function (e) {
    enhance(e.target);
    // A panel swapped in by the user's action takes the keyboard focus:
    // the first field in error, else the first control, else its message.
    if (e.target.id === "cancel-panel") {
      var el = e.target.querySelector("[aria-invalid=true]") ||
        e.target.querySelector("select, textarea, input:not([type=hidden]), [data-testid=cancel-message]");
      if (el) {
        if (!el.matches("select, textarea, input")) el.setAttribute("tabindex", "-1");
        el.focus();
      }
    }
  });
})();
