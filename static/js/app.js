// Progressive enhancements; every page works without this file.
// - [data-copy] buttons copy their value to the clipboard.
// - content swapped in by htmx puts the focus on its [data-swap-focus]
//   element (an error summary, a review's heading, a progress message):
//   keyboard and screen-reader users land where the work continues;
//   without one, a swap that replaced the focused control (a poll) puts
//   the focus back on the same control in the new content.
// - select[data-submit-on-change] sends its form on a choice; the form's
//   [data-no-js-submit] button is hidden while this script runs.
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

  document.addEventListener("DOMContentLoaded", function () {
    enhance(document);
    submitOnChange(document);
    themeInPlace(document);
  });
  document.addEventListener("htmx:afterSettle", function (e) {
    enhance(e.target);
    submitOnChange(e.target);
    themeInPlace(e.target);
    swapFocus(e);
  });

  // --- Focus after a swap (issue 14) ---------------------------------
  // The server marks where the work continues with [data-swap-focus]. It
  // takes the focus when the user's own action (a submit, a click)
  // brought the content, or when the focus was inside what the swap
  // replaced (a polled progress message being read); a poll never pulls
  // the focus away from elsewhere on the page.
  // Content without such a mark (a polled offers table) gets the focus
  // back on the control that stands where the focused one stood: the
  // same link or button, found by its id, address, name or test id. A
  // poll then no longer sends a keyboard user back to the top of the
  // page while they tab through it.
  var focusWasIn = null, focusSame = null;
  document.addEventListener("htmx:beforeSwap", function (e) {
    var a = document.activeElement, t = e.detail.target;
    focusWasIn = a && a !== document.body && t && t.contains(a) ? t : null;
    focusSame = focusWasIn ? sameAs(a) : null;
  });
  function sameAs(el) {
    if (el.id) return "#" + CSS.escape(el.id);
    var sel = el.tagName.toLowerCase();
    ["name", "value", "href", "data-testid", "data-provider"].forEach(function (n) {
      var v = el.getAttribute(n);
      if (v !== null) sel += "[" + n + '="' + CSS.escape(v) + '"]';
    });
    return sel;
  }
  function swapFocus(e) {
    var cfg = e.detail && e.detail.requestConfig;
    var ev = cfg && cfg.triggeringEvent;
    var byUser = !!ev && /^(submit|click|keydown|keyup|change)$/.test(ev.type);
    if (!byUser && !focusWasIn) return;
    var root = e.target;
    if (!root || !root.querySelector) return;
    var el = root.matches("[data-swap-focus]") ? root : root.querySelector("[data-swap-focus]");
    var lost = !document.activeElement || document.activeElement === document.body;
    if (!el && focusSame && lost) el = root.matches(focusSame) ? root : root.querySelector(focusSame);
    if (el && document.contains(el)) el.focus();
  }

  // --- Selects that apply on change (issue 14) -----------------------
  // A choice made with the mouse, or with Enter in the open list, sends
  // the form at once. Arrow keys and typing on a closed select change
  // it at every press, so a change made that way waits for Enter (or
  // the Apply button, which shows again for it) instead of reloading
  // the page half way through the list.
  function submitOnChange(root) {
    if (!root.querySelectorAll) return;
    root.querySelectorAll("select[data-submit-on-change]").forEach(function (s) {
      var form = s.form;
      if (s.dataset.submitReady || !form || !form.requestSubmit) return;
      s.dataset.submitReady = "1";
      var button = form.querySelector("[data-no-js-submit]");
      if (button) button.style.display = "none";
      var keyed = false;
      s.addEventListener("pointerdown", function () { keyed = false; });
      s.addEventListener("keydown", function (e) {
        if (e.key === "Enter") {
          if (keyed) {
            e.preventDefault();
            keyed = false;
            form.requestSubmit(button || undefined);
          }
          return;
        }
        if (/^(Arrow|Page|Home|End)/.test(e.key) || e.key.length === 1 && e.key !== " ") keyed = true;
      });
      s.addEventListener("change", function () {
        if (keyed) {
          if (button) button.style.display = "";
          return;
        }
        form.requestSubmit(button || undefined);
      });
    });
  }

  // --- Colours applied in place ---------------------------------------
  // The colours change on the page at once and are saved in the
  // background: no reload, so nothing typed into a form on the page is
  // lost and the focus stays on the select. Without JavaScript (or when
  // saving fails) the form is sent as it is.
  function themeInPlace(root) {
    if (!root.querySelectorAll) return;
    root.querySelectorAll("select[data-apply-theme]").forEach(function (s) {
      var form = s.form;
      if (s.dataset.themeReady || !form || !window.fetch) return;
      s.dataset.themeReady = "1";
      var button = form.querySelector("[data-no-js-submit]");
      if (button) button.style.display = "none";
      s.addEventListener("change", function () {
        if (s.value) document.documentElement.setAttribute("data-theme", s.value);
        else document.documentElement.removeAttribute("data-theme");
        fetch(form.action, { method: "POST", body: new URLSearchParams(new FormData(form)), credentials: "same-origin", redirect: "manual" })
          .then(function (res) {
            if (res.type !== "opaqueredirect" && !res.ok) throw new Error(String(res.status));
          })
          .catch(function () { form.submit(); });
      });
    });
  }
})();
