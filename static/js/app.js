/*
 * contentfeed — small progressive enhancements. No dependencies, no build step.
 * Loaded with `defer`. Everything works without it; this only makes it nicer.
 *
 *  - .nav-toggle            collapses/expands the header menu on small screens
 *  - details.nav-group      a header menu group closes on a click elsewhere or Escape
 *  - .flash__close          dismisses a flash message
 *  - button[data-copy-target="#id"]  copies the text (or value) of #id
 *  - a[data-share-copy="#id"]  copies #id's text while the link opens LinkedIn; when the
 *                           seller comes back to the tab, shows its data-share-return prompt
 *  - form[data-confirm="…"] asks for confirmation before submitting
 *                           (also button[data-confirm] on the submitter)
 *  - .table-wrap            becomes keyboard-scrollable when it overflows
 */
(function () {
  "use strict";

  var root = document.documentElement;
  root.classList.remove("no-js");
  root.classList.add("js");

  /* ---------------------------------------------------------------- helpers */

  // The page's language: <html data-texts> holds the scripts' texts translated, keyed by
  // their English wording (absent in English).
  var texts = {};
  try { texts = JSON.parse(root.getAttribute("data-texts") || "{}"); } catch (e) { texts = {}; }

  function t(text) {
    return Object.prototype.hasOwnProperty.call(texts, text) ? texts[text] : text;
  }

  function $all(selector, scope) {
    return Array.prototype.slice.call((scope || document).querySelectorAll(selector));
  }

  function findTarget(selector) {
    if (!selector) return null;
    // "#id" → getElementById, so ids with ":" or "." work too.
    if (/^#[^\s>+~,\[]+$/.test(selector)) {
      return document.getElementById(selector.slice(1));
    }
    try {
      return document.querySelector(selector);
    } catch (e) {
      return null;
    }
  }

  var liveRegion = null;
  function announce(message) {
    if (!liveRegion) {
      liveRegion = document.getElementById("live-region");
      if (!liveRegion) {
        liveRegion = document.createElement("div");
        liveRegion.id = "live-region";
        liveRegion.className = "visually-hidden";
        liveRegion.setAttribute("aria-live", "polite");
        liveRegion.setAttribute("aria-atomic", "true");
        document.body.appendChild(liveRegion);
      }
    }
    // Clear first so repeating the same message is announced again.
    liveRegion.textContent = "";
    window.setTimeout(function () {
      liveRegion.textContent = message;
    }, 60);
  }

  /* ------------------------------------------------------------- nav toggle */

  function setNav(toggle, open) {
    var menu = document.getElementById(toggle.getAttribute("aria-controls"));
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    var label = toggle.querySelector(".visually-hidden");
    if (label) label.textContent = open ? t("Close menu") : t("Menu");
    if (menu) menu.classList.toggle("is-open", open);
  }

  function initNav() {
    $all(".nav-toggle").forEach(function (toggle) {
      setNav(toggle, false);
      toggle.addEventListener("click", function () {
        setNav(toggle, toggle.getAttribute("aria-expanded") !== "true");
      });
    });

    // A header menu group (<details class="nav-group">) closes on a click elsewhere or Escape.
    document.addEventListener("click", function (event) {
      $all(".nav-group[open]").forEach(function (group) {
        if (!group.contains(event.target)) group.removeAttribute("open");
      });
    });

    document.addEventListener("keydown", function (event) {
      if (event.key !== "Escape") return;
      $all(".nav-group[open]").forEach(function (group) {
        group.removeAttribute("open");
        var summary = group.querySelector("summary");
        if (summary) summary.focus();
      });
      $all('.nav-toggle[aria-expanded="true"]').forEach(function (toggle) {
        setNav(toggle, false);
        toggle.focus();
      });
    });
  }

  /* ---------------------------------------------------------- flash dismiss */

  function initFlashes() {
    document.addEventListener("click", function (event) {
      var button = event.target.closest ? event.target.closest(".flash__close") : null;
      if (!button) return;
      var flash = button.closest(".flash");
      if (!flash) return;
      var container = flash.parentElement;
      var hadFocus = document.activeElement === button;
      flash.parentNode.removeChild(flash);
      if (hadFocus) {
        // Keep keyboard users somewhere sensible.
        var next = container && container.querySelector(".flash__close");
        var main = document.getElementById("main");
        if (next) next.focus();
        else if (main) main.focus({ preventScroll: true });
      }
      if (container && container.classList.contains("flashes") && !container.children.length) {
        container.parentNode.removeChild(container);
      }
    });
  }

  /* ------------------------------------------------------- copy to clipboard */

  function textOf(element) {
    if (!element) return "";
    var tag = element.tagName;
    if (tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT") return element.value;
    // innerText = the text as rendered (line breaks, no template indentation);
    // falls back to textContent for hidden elements.
    var text = typeof element.innerText === "string" && element.offsetParent !== null
      ? element.innerText
      : element.textContent;
    return (text || "").trim();
  }

  function legacyCopy(text) {
    var active = document.activeElement;
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.setAttribute("aria-hidden", "true");
    area.style.position = "fixed";
    area.style.top = "0";
    area.style.left = "-9999px";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    area.setSelectionRange(0, text.length);
    var ok = false;
    try {
      ok = document.execCommand("copy");
    } catch (e) {
      ok = false;
    }
    document.body.removeChild(area);
    if (active && typeof active.focus === "function") active.focus({ preventScroll: true });
    return ok;
  }

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).then(
        function () { return true; },
        function () { return legacyCopy(text); }
      );
    }
    return Promise.resolve(legacyCopy(text));
  }

  function selectContents(element) {
    if (!element) return;
    if (element.select) {
      element.select();
      return;
    }
    var selection = window.getSelection && window.getSelection();
    if (!selection) return;
    var range = document.createRange();
    range.selectNodeContents(element);
    selection.removeAllRanges();
    selection.addRange(range);
  }

  function flashButton(button, label, stateClass) {
    var labelNode = button.querySelector(".copy-btn__label") || button;
    if (!button.hasAttribute("data-copy-original")) {
      button.setAttribute("data-copy-original", labelNode.innerHTML);
    }
    window.clearTimeout(button._copyTimer);
    labelNode.textContent = label;
    button.classList.remove("is-copied", "is-failed");
    button.classList.add(stateClass);
    button._copyTimer = window.setTimeout(function () {
      labelNode.innerHTML = button.getAttribute("data-copy-original");
      button.removeAttribute("data-copy-original");
      button.classList.remove(stateClass);
    }, 2000);
  }

  function initCopy() {
    document.addEventListener("click", function (event) {
      var button = event.target.closest ? event.target.closest("[data-copy-target]") : null;
      if (!button) return;
      event.preventDefault();
      var target = findTarget(button.getAttribute("data-copy-target"));
      if (!target) return;
      var text = textOf(target);
      copyText(text).then(function (ok) {
        if (ok) {
          flashButton(button, t("Copied \u2713"), "is-copied");
          announce(button.getAttribute("data-copy-message") || t("Copied to clipboard."));
        } else {
          selectContents(target);
          flashButton(button, t("Press Ctrl+C"), "is-failed");
          announce(t("Couldn't copy automatically. The text is selected: press Control+C or Command+C to copy it."));
        }
      });
    });
  }

  /* ------------------------------------------------------- share on LinkedIn */

  // "Post on LinkedIn" opens LinkedIn in a new tab (the link works without this script). The
  // post is copied on the way, for a composer that comes up empty. Once the seller has left
  // the tab (the page was hidden or lost focus) and comes back, the card's prompt asks
  // "Posted it?" with the same Mark posted form as the card; "Not now" closes it.
  function initShare() {
    var pending = null;

    document.addEventListener("click", function (event) {
      var link = event.target.closest ? event.target.closest("a[data-share-copy]") : null;
      if (!link) return;
      var post = findTarget(link.getAttribute("data-share-copy"));
      if (post) {
        copyText(textOf(post)).then(function (ok) {
          if (ok) announce(t("Copied to clipboard."));
        });
      }
      var prompt = findTarget(link.getAttribute("data-share-return"));
      pending = prompt ? { prompt: prompt, link: link, away: document.visibilityState === "hidden" } : null;
    });

    function away() {
      if (pending) pending.away = true;
    }

    function back() {
      if (!pending || !pending.away || document.visibilityState === "hidden") return;
      var prompt = pending.prompt;
      pending = null;
      prompt.hidden = false;
      prompt.scrollIntoView({ block: "nearest" });
      prompt.focus({ preventScroll: true });
    }

    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "hidden") away();
      else back();
    });
    window.addEventListener("blur", away);
    window.addEventListener("focus", back);

    document.addEventListener("click", function (event) {
      var button = event.target.closest ? event.target.closest("[data-share-dismiss]") : null;
      if (!button) return;
      var prompt = button.closest(".share-return");
      if (!prompt) return;
      prompt.hidden = true;
      var card = prompt.closest(".feed-card");
      var share = card && card.querySelector("a[data-share-copy]");
      if (share) share.focus();
    });
  }

  /* ----------------------------------------------------------------- confirm */

  function initConfirm() {
    document.addEventListener("submit", function (event) {
      var form = event.target;
      if (!form || form.tagName !== "FORM") return;
      var submitter = event.submitter;
      var message = (submitter && submitter.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
      if (message && !window.confirm(message)) {
        event.preventDefault();
        event.stopImmediatePropagation();
      }
    }, true);
  }

  /* ------------------------------------------------- scrollable table wraps */

  function initTableWraps() {
    $all(".table-wrap").forEach(function (wrap) {
      if (wrap.scrollWidth > wrap.clientWidth + 1 && !wrap.hasAttribute("tabindex")) {
        wrap.setAttribute("tabindex", "0");
        if (!wrap.hasAttribute("role")) wrap.setAttribute("role", "region");
        if (!wrap.hasAttribute("aria-label") && !wrap.hasAttribute("aria-labelledby")) {
          var caption = wrap.querySelector("caption");
          wrap.setAttribute("aria-label", caption ? caption.textContent.trim() : t("Table (scrolls sideways)"));
        }
      }
    });
  }

  /* -------------------------------------------------------------------- init */

  function init() {
    initNav();
    initFlashes();
    initCopy();
    initShare();
    initConfirm();
    initTableWraps();
    var resizeTimer;
    window.addEventListener("resize", function () {
      window.clearTimeout(resizeTimer);
      resizeTimer = window.setTimeout(initTableWraps, 200);
    });
  }

  // Small public surface for pages that insert content dynamically.
  window.contentfeed = {
    announce: announce,
    t: t,
    copyText: copyText
  };

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
