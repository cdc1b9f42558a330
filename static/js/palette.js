// Keyboard shortcuts and the command palette (views/layout/palette.templ).
// An enhancement only: every page the palette opens is a link of the
// navigation, and every action a control of the page itself.
//
//   /          focus the page's search box
//   Ctrl+K ⌘K  open (or close) the command palette
//   g p, g a, g o, g e, g q   follow the navigation link, when the page has it
//   j, k       next / previous table row (its first link takes the focus;
//              Enter then opens it like any link)
//   ?          the list of shortcuts
//
// Single keys never fire while typing in a field, while a dialog is open,
// or with Ctrl, Alt or Meta held (Shift only where the character needs
// it: "?" and "/" on many layouts).
(function () {
  "use strict";

  var GO = { p: "nav-policies", a: "nav-audit", o: "nav-review", e: "nav-expiring", q: "nav-casco" };
  var G_TIMEOUT = 1500;
  // A Mac keyboard: the palette opens with ⌘K there.
  var MAC = /Mac|iPhone|iPad/.test((navigator.userAgentData && navigator.userAgentData.platform) || navigator.platform || "");

  function editable(el) {
    if (!el || el.nodeType !== 1) return false;
    if (el.isContentEditable) return true;
    return /^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName);
  }

  function fold(s) {
    return s.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase();
  }

  // Dialogs give the focus back to where it was when they close.
  function openDialog(d) {
    d._return = document.activeElement;
    d.showModal();
  }

  function wireDialog(d) {
    d.addEventListener("close", function () {
      var back = d._return;
      d._return = null;
      if (back && back.isConnected && typeof back.focus === "function") back.focus();
    });
    // A click on the backdrop (outside the box) closes it.
    d.addEventListener("click", function (e) {
      if (e.target === d) d.close();
    });
    d.querySelectorAll("[data-close-dialog]").forEach(function (b) {
      b.addEventListener("click", function () { d.close(); });
    });
  }

  function searchBox() {
    return document.querySelector(
      'main [role="search"] input[type="search"], main [role="search"] input[type="text"], main input[type="search"]');
  }

  // Rows the keyboard moves through: visible table rows with a link.
  function rows() {
    return Array.prototype.filter.call(document.querySelectorAll("main table tbody tr"), function (tr) {
      return tr.getClientRects().length > 0 && tr.querySelector("a[href]");
    });
  }

  function moveRow(step) {
    var list = rows();
    if (!list.length) return false;
    var active = document.activeElement;
    var i = list.indexOf(active && active.closest ? active.closest("tr") : null);
    if (i < 0) i = list.indexOf(document.querySelector("tr.kb-row"));
    var next = i < 0 ? (step > 0 ? 0 : list.length - 1) : Math.min(list.length - 1, Math.max(0, i + step));
    list.forEach(function (tr) { tr.classList.remove("kb-row"); });
    var tr = list[next];
    tr.classList.add("kb-row");
    tr.querySelector("a[href]").focus();
    tr.scrollIntoView({ block: "nearest" });
    return true;
  }

  // ---- The command palette: a combobox over a listbox (WAI-ARIA APG,
  // list autocomplete with automatic selection).
  var palette, input, list, status;
  var entries = null; // option elements the page may offer, in server order
  var findOption = null; // "Open policy …", filled with the typed id
  var loading = null;
  var shown = [];
  var active = -1;
  var enterPending = false;

  function setStatus(text) {
    if (status.textContent !== text) status.textContent = text;
  }

  function load() {
    if (entries || loading) return;
    setStatus(status.dataset.loading);
    var url = palette.dataset.src + "?from=" + encodeURIComponent(location.pathname);
    loading = fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (res) {
        // A redirect is the sign-in page: the session has ended.
        if (!res.ok || res.redirected) throw new Error(String(res.status));
        return res.text();
      })
      .then(function (html) {
        var tpl = document.createElement("template");
        tpl.innerHTML = html;
        var ul = tpl.content.querySelector("[data-palette-entries]");
        entries = [];
        Array.prototype.forEach.call(ul ? ul.children : [], function (li, n) {
          if (li.getAttribute("role") !== "option") return;
          li.id = "palette-opt-" + n;
          li.setAttribute("aria-selected", "false");
          if (li.hasAttribute("data-palette-find")) {
            findOption = li;
            return;
          }
          // An action of the page is offered only where the page shows
          // its control (a policy already cancelled has no cancel button).
          if (li.dataset.click && !document.querySelector(li.dataset.click)) return;
          var label = li.querySelector(".palette-label");
          li._label = fold(label ? label.textContent.trim() : "");
          li._text = fold(li.textContent + " " + (li.dataset.keywords || ""));
          entries.push(li);
        });
        render();
        if (enterPending) {
          enterPending = false;
          if (active >= 0) choose(shown[active]);
        }
      })
      .catch(function () {
        loading = null;
        enterPending = false;
        setStatus(status.dataset.failed);
      });
  }

  // idLike: what a pasted id looks like (no spaces, a digit or an
  // underscore); such a query puts "Open policy" first.
  function idLike(q) {
    return /^(tpol|lpol)_/i.test(q) || /^\S+$/.test(q) && /[\d_]/.test(q);
  }

  function render() {
    if (!entries) return;
    var q = input.value.trim();
    var fq = fold(q);
    var words = fq.split(/\s+/).filter(Boolean);
    var matched = entries.filter(function (li) {
      // An action whose control an in-page update removed since the
      // entries came is no longer offered.
      if (li.dataset.click && !document.querySelector(li.dataset.click)) return false;
      return words.every(function (w) { return li._text.indexOf(w) >= 0; });
    });
    if (fq) {
      // Labels that start with the query first; otherwise server order.
      matched = matched.filter(function (li) { return li._label.indexOf(fq) === 0; })
        .concat(matched.filter(function (li) { return li._label.indexOf(fq) !== 0; }));
    }
    if (findOption && q && /^\S{3,100}$/.test(q)) {
      var label = findOption.querySelector(".palette-label");
      // A function, so that "$&" or "$'" in the query stay as typed.
      label.textContent = findOption.dataset.template.replace("{id}", function () { return q; });
      findOption._query = q;
      if (idLike(q)) matched.unshift(findOption); else matched.push(findOption);
    }
    shown = matched;
    list.replaceChildren.apply(list, shown);
    list.hidden = shown.length === 0;
    input.setAttribute("aria-expanded", shown.length ? "true" : "false");
    setActive(q && shown.length ? 0 : -1);
    setStatus(shown.length ? status.dataset.count.replace("{n}", shown.length) : status.dataset.empty);
  }

  function setActive(i) {
    active = i;
    shown.forEach(function (li, n) { li.setAttribute("aria-selected", n === i ? "true" : "false"); });
    if (i >= 0) {
      input.setAttribute("aria-activedescendant", shown[i].id);
      shown[i].scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

  function choose(li) {
    if (!li) return;
    var control = li.dataset.click ? document.querySelector(li.dataset.click) : null;
    if (control) {
      // The page's own control runs the action; the focus goes back to it
      // (or wherever the action then moves it).
      palette._return = control;
      palette.close();
      control.click();
      return;
    }
    var href = li.dataset.href;
    if (li === findOption) {
      var u = new URL(href, location.href);
      u.searchParams.set("q", li._query);
      href = u.pathname + u.search;
    }
    palette._return = null;
    palette.close();
    location.assign(href);
  }

  function openPalette() {
    if (palette.open) return;
    openDialog(palette);
    input.value = "";
    if (entries) render(); else load();
    input.focus();
  }

  function onPaletteKey(e) {
    // keyCode 229: a key an input method is still composing with (Safari
    // sends the Enter that ends a composition so, isComposing unset).
    if (e.isComposing || e.keyCode === 229) return;
    var n = shown.length;
    switch (e.key) {
      case "ArrowDown":
        e.preventDefault();
        if (n) setActive(active + 1 >= n ? 0 : active + 1);
        break;
      case "ArrowUp":
        e.preventDefault();
        if (n) setActive(active <= 0 ? n - 1 : active - 1);
        break;
      // Home and End stay the text box's: they move the caret, as the
      // ARIA combobox pattern has them in an editable combobox.
      case "Enter":
        e.preventDefault();
        if (!entries) enterPending = true;
        else if (active >= 0) choose(shown[active]);
        else if (n === 1) choose(shown[0]);
        break;
      // Escape: the dialog's own cancel closes it.
    }
  }

  function setUpPalette() {
    palette = document.getElementById("palette");
    if (!palette || typeof palette.showModal !== "function") {
      palette = null;
      return;
    }
    input = document.getElementById("palette-input");
    list = document.getElementById("palette-list");
    status = document.getElementById("palette-status");
    wireDialog(palette);
    input.addEventListener("input", render);
    input.addEventListener("keydown", onPaletteKey);
    list.addEventListener("click", function (e) {
      var li = e.target.closest('[role="option"]');
      if (li) choose(li);
    });
    list.addEventListener("mousemove", function (e) {
      var li = e.target.closest('[role="option"]');
      var i = shown.indexOf(li);
      if (i >= 0 && i !== active) setActive(i);
    });
  }

  // ---- The keys.
  var gAt = 0;

  function onKey(e) {
    if (e.defaultPrevented || e.isComposing || e.keyCode === 229) return;
    var k = e.key;
    // ⌘K on a Mac, where Ctrl+K in a text field deletes to the end of
    // the line; Ctrl+K elsewhere.
    if ((k === "k" || k === "K") && (MAC ? e.metaKey : e.ctrlKey) && !e.altKey && !e.shiftKey) {
      // A chord, not typing: it works from a field too.
      if (!palette) return;
      e.preventDefault();
      if (palette.open) palette.close();
      else if (!document.querySelector("dialog[open]")) openPalette();
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey) {
      gAt = 0;
      return;
    }
    if (editable(e.target) || editable(document.activeElement) || document.querySelector("dialog[open]")) return;
    if (gAt && Date.now() - gAt < G_TIMEOUT) {
      gAt = 0;
      var link = GO[k] && document.querySelector('[data-testid="' + GO[k] + '"]');
      if (link && link.href) {
        e.preventDefault();
        location.assign(link.href);
      }
      return;
    }
    gAt = 0;
    switch (k) {
      case "/":
        var box = searchBox();
        if (box) {
          e.preventDefault();
          box.focus();
          if (typeof box.select === "function") box.select();
        }
        break;
      case "?":
        var help = document.getElementById("shortcuts-help");
        if (help && typeof help.showModal === "function") {
          e.preventDefault();
          help.querySelectorAll("[data-nav]").forEach(function (line) {
            line.hidden = !document.querySelector('[data-testid="' + line.dataset.nav + '"]');
          });
          openDialog(help);
        }
        break;
      case "g":
        if (!e.shiftKey) gAt = Date.now();
        break;
      case "j":
      case "k":
        if (!e.shiftKey && moveRow(k === "j" ? 1 : -1)) e.preventDefault();
        break;
    }
  }

  function start() {
    setUpPalette();
    var help = document.getElementById("shortcuts-help");
    if (help && typeof help.showModal === "function") wireDialog(help);
    document.addEventListener("keydown", onKey);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
