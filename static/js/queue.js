/*
 * contentfeed — the rep's queue page keeps itself current. No dependencies, loaded with `defer`;
 * without it the page is the same, reloaded by hand.
 *
 *  - #queue-live[data-version]  the queue sections. Every second (while the tab is shown) the
 *                               script asks [data-queue-live]'s data-changes-url "anything
 *                               new?" with the version; 204 means no. On a change it fetches
 *                               the page again and swaps #queue-live's content, keeping the
 *                               focus and the scroll position. Errors back off (up to 30 s).
 *  - button[data-queue-notify]  "Notify me": asks for the browser's permission; when given,
 *                               each lead that arrives shows a notification (name, company),
 *                               also while the tab is in the background (asked every 10 s).
 */
(function () {
  "use strict";

  var live = document.getElementById("queue-live");
  var controls = document.querySelector("[data-queue-live]");
  if (!live || !controls || !window.fetch || !window.DOMParser) return;

  var POLL_MS = 1000;
  var HIDDEN_POLL_MS = 10000;
  var MAX_BACKOFF_MS = 30000;
  var STORAGE_KEY = "contentfeed.queue.notify";

  var url = controls.getAttribute("data-changes-url");
  var version = live.getAttribute("data-version") || "";
  var button = controls.querySelector("[data-queue-notify]");
  var status = controls.querySelector("[data-queue-status]");
  var delay = POLL_MS;
  var timer = null;
  var busy = false;

  function text(name) {
    return controls.getAttribute("data-text-" + name) || "";
  }

  function say(message) {
    if (!status) return;
    status.textContent = "";
    window.setTimeout(function () { status.textContent = message; }, 50);
  }

  /* ------------------------------------------------------------ notifications */

  function canNotify() {
    return "Notification" in window;
  }

  function notifying() {
    var wanted = false;
    try { wanted = window.localStorage.getItem(STORAGE_KEY) === "on"; } catch (e) { wanted = false; }
    return canNotify() && Notification.permission === "granted" && wanted;
  }

  function remember(on) {
    try { window.localStorage.setItem(STORAGE_KEY, on ? "on" : "off"); } catch (e) { /* private mode */ }
  }

  function showButton() {
    if (!button || !canNotify()) return;
    button.hidden = false;
    var on = notifying();
    button.setAttribute("aria-pressed", on ? "true" : "false");
    button.textContent = on ? text("on") : text("off");
    if (Notification.permission === "denied") {
      button.disabled = true;
      button.setAttribute("aria-disabled", "true");
      button.title = text("blocked");
    }
  }

  function toggle() {
    if (notifying()) {
      remember(false);
      showButton();
      return;
    }
    var asked = Notification.requestPermission(function () { /* older browsers */ });
    Promise.resolve(asked).then(function () {
      if (Notification.permission === "granted") {
        remember(true);
      } else if (Notification.permission === "denied") {
        say(text("blocked"));
      }
      showButton();
    });
  }

  function notify(arrived) {
    (arrived || []).slice(0, 5).forEach(function (lead) {
      if (notifying()) {
        try {
          var note = new Notification(text("title"), {
            body: lead.company && lead.company !== "—" ? lead.name + " · " + lead.company : lead.name,
            tag: "contentfeed-lead-" + lead.id
          });
          note.onclick = function () {
            window.focus();
            window.location.href = lead.url;
            note.close();
          };
        } catch (e) { /* some browsers only notify from a service worker */ }
      }
    });
  }

  /* ------------------------------------------------------------------ refresh */

  function focusKey(element) {
    if (!element || element === document.body || !live.contains(element)) return null;
    if (element.id) return "#" + CSS.escape(element.id);
    if (element.tagName === "A" && element.getAttribute("href")) {
      return 'a[href="' + CSS.escape(element.getAttribute("href")) + '"]';
    }
    var form = element.form || element.closest("form");
    if (form && form.getAttribute("action")) {
      return 'form[action="' + CSS.escape(form.getAttribute("action")) + '"] ' + element.tagName.toLowerCase();
    }
    return null;
  }

  function swap(fresh) {
    var key = focusKey(document.activeElement);
    var x = window.scrollX;
    var y = window.scrollY;
    live.innerHTML = fresh.innerHTML;
    if (key) {
      var again = live.querySelector(key);
      if (again) again.focus({ preventScroll: true });
    }
    window.scrollTo(x, y);
    // app.js makes overflowing tables keyboard-scrollable on resize: do it for the new ones.
    window.dispatchEvent(new Event("resize"));
  }

  function refresh(answer) {
    return window.fetch(window.location.pathname + window.location.search, {
      credentials: "same-origin",
      cache: "no-store"
    }).then(function (response) {
      if (!response.ok) throw new Error("page " + response.status);
      return response.text();
    }).then(function (html) {
      var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("queue-live");
      if (!fresh) throw new Error("no queue in the page");
      swap(fresh);
      version = answer.version;
      live.setAttribute("data-version", version);
      var arrived = answer.arrived || [];
      if (arrived.length) {
        say(text("arrived").split("%(name)s").join(arrived[arrived.length - 1].name));
        notify(arrived);
      } else {
        say(text("updated"));
      }
    });
  }

  function next() {
    window.clearTimeout(timer);
    timer = null;
    if (document.visibilityState === "hidden" && !notifying()) return; // resumes when shown
    var wait = document.visibilityState === "hidden" ? Math.max(delay, HIDDEN_POLL_MS) : delay;
    timer = window.setTimeout(poll, wait);
  }

  function poll() {
    if (busy) return;
    busy = true;
    window.fetch(url + "?since=" + encodeURIComponent(version), {
      credentials: "same-origin",
      cache: "no-store",
      headers: { Accept: "application/json" }
    }).then(function (response) {
      if (response.status === 204) return null;
      var type = response.headers.get("Content-Type") || "";
      if (!response.ok || type.indexOf("application/json") !== 0) {
        throw new Error("changes " + response.status); // signed out, server busy: back off
      }
      return response.json();
    }).then(function (answer) {
      return answer ? refresh(answer) : null;
    }).then(function () {
      delay = POLL_MS;
    }, function () {
      delay = Math.min(delay * 2, MAX_BACKOFF_MS);
    }).then(function () {
      busy = false;
      next();
    });
  }

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "visible") {
      window.clearTimeout(timer);
      poll();
    } else {
      next();
    }
  });

  if (button) button.addEventListener("click", toggle);
  showButton();
  next();
})();
