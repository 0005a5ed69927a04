/**
 * The console's only script, served from the app (/console/static/console.js; the CSP allows no other and
 * no inline script). Progressive enhancement: every screen works without it. It adds keyboard shortcuts
 * (any element with `data-key`), focusing a finding's cell, the comment rule checked before a decision is
 * sent (the rule's text comes from the server, in `data-require-<decision>`), and saving the decision
 * draft while typing, so that a reload or a closed tab loses nothing.
 */
export const CONSOLE_JS = `"use strict";
(function () {
  function typing(t) {
    if (!t || !t.tagName) return false;
    var n = t.tagName.toLowerCase();
    return n === "input" || n === "textarea" || n === "select" || t.isContentEditable;
  }

  // Keyboard: j/k between files, a/r/c mark the file, n the next unreviewed file.
  document.addEventListener("keydown", function (e) {
    if (e.defaultPrevented || e.ctrlKey || e.metaKey || e.altKey || typing(e.target)) return;
    if (!/^[a-z]$/.test(e.key)) return;
    var el = document.querySelector('[data-key="' + e.key + '"]');
    if (!el || el.disabled) return;
    e.preventDefault();
    el.click();
  });

  // Findings: clicking one focuses its cell (its tooltip then shows the rule).
  function focusCell(id) {
    var cell = id && document.getElementById(id);
    if (!cell) return false;
    cell.focus({ preventScroll: true });
    cell.scrollIntoView({ block: "nearest", inline: "nearest" });
    return true;
  }
  document.addEventListener("click", function (e) {
    var a = e.target && e.target.closest ? e.target.closest("a[data-cell]") : null;
    if (a && focusCell(a.getAttribute("data-cell"))) {
      e.preventDefault();
      history.replaceState(null, "", "#" + a.getAttribute("data-cell"));
    }
  });
  if (location.hash.length > 1) focusCell(decodeURIComponent(location.hash.slice(1)));

  var form = document.querySelector("form[data-decision-form]");
  if (!form) return;
  var comment = form.querySelector("textarea[name=comment]");
  var error = document.getElementById("comment-error");
  var state = document.getElementById("save-state");

  function chosen() {
    var r = form.querySelector("input[name=decision]:checked");
    return r ? r.value : "";
  }
  function showError(text) {
    error.textContent = text;
    comment.setAttribute("aria-invalid", text ? "true" : "false");
  }

  // The comment rule, before sending: the server checks it again.
  form.addEventListener("submit", function (e) {
    var submitter = e.submitter;
    if (submitter && submitter.hasAttribute("formaction")) return; // saving a draft needs no decision
    var d = chosen();
    if (!d) {
      e.preventDefault();
      showError("choose a decision first");
      return;
    }
    var why = form.getAttribute("data-require-" + d);
    if (why && !comment.value.trim()) {
      e.preventDefault();
      showError(why);
      comment.focus();
      return;
    }
    dirty = false;
  });

  // Drafts are saved as the reviewer types, and when the page is left with unsaved changes.
  var url = form.getAttribute("data-autosave");
  var dirty = false;
  var timer = null;
  function body() {
    var p = new URLSearchParams();
    p.set("_csrf", form.querySelector("input[name=_csrf]").value);
    p.set("comment", comment.value);
    if (chosen()) p.set("decision", chosen());
    return p;
  }
  function save() {
    timer = null;
    if (!dirty) return;
    dirty = false;
    state.textContent = "Saving draft…";
    fetch(url, { method: "POST", body: body(), headers: { "x-console-fetch": "1" }, credentials: "same-origin" })
      .then(function (res) {
        if (res.ok) {
          state.textContent = "Draft saved " + new Date().toLocaleTimeString();
          state.setAttribute("data-saved", "true");
        } else {
          return res.text().then(function (t) { state.textContent = "Draft not saved: " + t; });
        }
      })
      .catch(function () { dirty = true; state.textContent = "Draft not saved: the server is not reachable"; });
  }
  function changed() {
    dirty = true;
    state.removeAttribute("data-saved");
    if (error.textContent) showError("");
    if (timer) clearTimeout(timer);
    timer = setTimeout(save, 1200);
  }
  comment.addEventListener("input", changed);
  form.querySelectorAll("input[name=decision]").forEach(function (r) {
    r.addEventListener("change", function () { changed(); save(); });
  });
  window.addEventListener("pagehide", function () {
    if (dirty && navigator.sendBeacon) navigator.sendBeacon(url, body());
  });
})();
`;
