/*
 * contentfeed — import progress. No dependencies, no build step. Loaded with `defer`.
 *
 * On an unfinished import's page, posts to the step endpoint one chunk at a time and
 * updates the <progress> bar and the counts until every row has been looked at, then
 * loads the report. The button pauses and resumes. Without JavaScript the same button
 * is a plain form that processes the next rows and comes back to the page.
 */
(function () {
  "use strict";

  var ANNOUNCE_EVERY_MS = 8000;
  var RETRIES = 3;

  // The page's language (texts from <html data-texts>, see app.js): t("Pause"), and
  // t("Importing: %(status)s", { status: text }) for a text with a value in it.
  function t(text, values) {
    var out = window.contentfeed && window.contentfeed.t ? window.contentfeed.t(text) : text;
    Object.keys(values || {}).forEach(function (key) {
      out = out.split("%(" + key + ")s").join(values[key]);
    });
    return out;
  }

  function init() {
    var card = document.querySelector("[data-import-step]");
    if (card) run(card);
    var report = document.getElementById("report");
    if (report && window.location.hash === "#report") report.focus({ preventScroll: true });
  }

  function run(card) {
    var stepUrl = card.getAttribute("data-import-step");
    var reportUrl = card.getAttribute("data-import-report");
    var form = card.querySelector("[data-import-form]");
    var button = card.querySelector("[data-import-toggle]");
    var bar = card.querySelector("progress");
    var status = card.querySelector("[data-import-status]");
    var percent = card.querySelector("[data-import-percent]");
    var live = card.querySelector("[data-import-announce]");
    var title = card.querySelector("[data-import-title]");
    var meta = document.querySelector('meta[name="csrf-token"]');
    var token = meta ? meta.getAttribute("content") : "";
    var running = false;
    var failures = 0;
    var lastAnnounced = 0;
    var problem = null;

    card.classList.add("is-live");

    function announce(text) {
      lastAnnounced = Date.now();
      live.textContent = "";
      window.setTimeout(function () { live.textContent = text; }, 60);
    }

    function show(progress) {
      bar.max = Math.max(progress.total, 1);
      bar.value = progress.processed;
      var share = progress.total ? Math.floor((progress.processed * 100) / progress.total) : 100;
      if (percent) percent.textContent = share + "%";
      status.textContent = progress.summary;
    }

    function setProblem(text) {
      if (!problem) {
        problem = document.createElement("p");
        problem.className = "field-error import-progress__problem";
        problem.setAttribute("role", "alert");
        form.parentNode.insertBefore(problem, form);
      }
      problem.textContent = text;
    }

    function clearProblem() {
      if (problem) {
        problem.parentNode.removeChild(problem);
        problem = null;
      }
    }

    function setRunning(on) {
      running = on;
      card.classList.toggle("is-running", on);
      button.textContent = on ? t("Pause") : t("Resume");
      button.classList.toggle("btn-primary", !on);
      button.classList.toggle("btn-secondary", on);
      if (title) title.textContent = on ? t("Importing") : t("Paused");
    }

    function finish(progress) {
      setRunning(false);
      if (title) title.textContent = t("Finished");
      button.disabled = true;
      button.textContent = t("Loading the report…");
      announce(t("Import finished: %(summary)s. Loading the report.", { summary: progress.summary }));
      window.setTimeout(function () {
        // Same path with #report: replace the URL, then reload to get the report.
        window.history.replaceState(null, "", reportUrl);
        window.location.reload();
      }, 700);
    }

    function failed(message, canRetry) {
      if (canRetry && failures <= RETRIES) {
        window.setTimeout(step, 1000 * Math.pow(2, failures));
        return;
      }
      setRunning(false);
      setProblem(message);
      announce(t("Import paused. %(problem)s", { problem: message }));
    }

    function step() {
      if (!running) return;
      window.fetch(stepUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": token, Accept: "application/json" }
      }).then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        if (response.ok && type.indexOf("application/json") === 0) {
          return response.json().then(function (progress) {
            failures = 0;
            clearProblem();
            show(progress);
            if (progress.finished) {
              finish(progress);
              return;
            }
            if (Date.now() - lastAnnounced > ANNOUNCE_EVERY_MS) announce(progress.summary);
            step();
          });
        }
        failures += 1;
        if (response.ok || response.status === 401) {
          failed(t("You have been signed out. Reload the page and sign in to continue."), false);
        } else if (response.status === 400) {
          failed(t("The page expired. Reload it to continue the import."), false);
        } else if (response.status === 404 || response.status === 403) {
          failed(t("This import is no longer available to you."), false);
        } else {
          failed(t("The server couldn't process the next rows. Press Resume to try again."), response.status >= 500);
        }
      }, function () {
        failures += 1;
        failed(t("The connection was lost. Press Resume to try again."), true);
      });
    }

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      setRunning(!running);
      if (running) {
        failures = 0;
        clearProblem();
        announce(t("Import continues."));
        step();
      } else {
        announce(t("Import paused: %(status)s", { status: status.textContent }));
      }
    });

    setRunning(true);
    announce(t("Importing: %(status)s", { status: status.textContent }));
    step();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
