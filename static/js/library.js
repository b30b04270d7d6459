/*
 * contentfeed — library pages. No dependencies, no build step; loaded with `defer`.
 * Every page works without it; this adds what only a browser can do live:
 *
 *  - form[data-content-form]   pre-fills title / summary / image from the page at the URL
 *                              (debounced while typing, and on blur) into fields the
 *                              marketer left empty, with a status line and a live link card
 *  - [data-preview-url]        re-renders each variant for the chosen seller as it is typed
 *                              (POST JSON with the CSRF token from <meta name="csrf-token">)
 *  - button[data-insert]       inserts a placeholder at the cursor of its variant's textarea
 */
(function () {
  "use strict";

  var PREFILL_DELAY_MS = 500;
  var PREVIEW_DELAY_MS = 350;
  var NUMBERS = window.Intl ? new Intl.NumberFormat(document.documentElement.lang || "en") : null;

  // The page's language (texts from <html data-texts>, see app.js): t("Pause"), and
  // t("Importing: %(status)s", { status: text }) for a text with a value in it.
  function t(text, values) {
    var out = window.contentfeed && window.contentfeed.t ? window.contentfeed.t(text) : text;
    Object.keys(values || {}).forEach(function (key) {
      out = out.split("%(" + key + ")s").join(values[key]);
    });
    return out;
  }

  function number(n) {
    return NUMBERS ? NUMBERS.format(n) : String(n);
  }

  function $(selector, scope) {
    return (scope || document).querySelector(selector);
  }

  function $all(selector, scope) {
    return Array.prototype.slice.call((scope || document).querySelectorAll(selector));
  }

  function debounce(fn, ms) {
    var timer = null;
    return function () {
      var args = arguments;
      window.clearTimeout(timer);
      timer = window.setTimeout(function () { fn.apply(null, args); }, ms);
    };
  }

  function announce(message) {
    if (window.contentfeed && window.contentfeed.announce) window.contentfeed.announce(message);
  }

  function csrfToken() {
    var meta = $('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function webAddress(value) {
    try {
      var url = new URL(value);
      var host = url.hostname;
      var plausible = host.indexOf(".") > 0 || host === "localhost" || host.charAt(0) === "[";
      return (url.protocol === "http:" || url.protocol === "https:") && plausible ? url : null;
    } catch (e) {
      return null;
    }
  }

  function readJson(response) {
    return response.json().then(
      function (data) { return { ok: response.ok, data: data || {} }; },
      function () { return { ok: false, data: {} }; }
    );
  }

  /* ------------------------------------------------- add / edit: pre-fill + card */

  function initContentForm() {
    var form = $("form[data-content-form]");
    if (!form) return;
    var url = form.querySelector('input[name="url"]');
    var file = form.querySelector('input[type="file"]');
    var status = $("[data-prefill-status]", form);
    var prefilledFrom = form.querySelector('input[name="prefilled_from"]');
    var endpoint = form.getAttribute("data-prefill-url");
    var fields = {
      title: form.querySelector('[data-prefill="title"]'),
      description: form.querySelector('[data-prefill="description"]'),
      image: form.querySelector('[data-prefill="image"]')
    };
    var card = {
      image: $("[data-card-image]"),
      placeholder: $("[data-card-placeholder]"),
      title: $("[data-card-title]"),
      domain: $("[data-card-domain]")
    };
    var lastAsked = "";
    var controller = null;

    function setStatus(state, message) {
      if (!status) return;
      status.className = "prefill-status" + (state ? " is-" + state : "");
      status.textContent = message;
    }

    function chosenFile() {
      return file && file.files && file.files.length ? file.files[0] : null;
    }

    function updateCard() {
      if (!card.title) return;
      var title = fields.title ? fields.title.value.trim() : "";
      card.title.textContent = title || card.title.getAttribute("data-empty");
      card.title.classList.toggle("is-placeholder", !title);

      var upload = chosenFile();
      var address = url ? webAddress(url.value.trim()) : null;
      var domain = upload ? upload.name : address ? address.hostname.replace(/^www\./, "") : "";
      card.domain.textContent = domain || card.domain.getAttribute("data-empty");

      var image = fields.image ? webAddress(fields.image.value.trim()) : null;
      if (image && card.image) {
        if (card.image.getAttribute("src") !== image.href) card.image.setAttribute("src", image.href);
        card.image.hidden = false;
        card.placeholder.hidden = true;
      } else if (card.image) {
        card.image.hidden = true;
        card.placeholder.hidden = false;
      }
    }

    // A field may be filled from the page when it is empty or still holds what the page gave.
    function fill(field, value) {
      if (!field || !value) return 0;
      var current = field.value.trim();
      if (current && current !== field.getAttribute("data-prefilled")) return 0;
      field.value = value;
      field.setAttribute("data-prefilled", value);
      return 1;
    }

    function prefill() {
      if (!url || !endpoint) return;
      var value = url.value.trim();
      updateCard();
      if (value === lastAsked) return;
      if (!webAddress(value)) {
        lastAsked = "";
        setStatus("", "");
        return;
      }
      lastAsked = value;
      if (controller) controller.abort();
      controller = window.AbortController ? new AbortController() : null;
      setStatus("busy", t("Fetching preview…"));
      fetch(endpoint + "?url=" + encodeURIComponent(value), {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
        signal: controller ? controller.signal : undefined
      })
        .then(readJson)
        .then(function (result) {
          if (value !== url.value.trim()) return; // the address changed meanwhile
          var data = result.data;
          if (!result.ok) {
            setStatus("note", data.message || t("Couldn't read that address. Fill in the fields yourself."));
            return;
          }
          var filled = fill(fields.title, data.title) + fill(fields.description, data.description) +
            fill(fields.image, data.image);
          // Saving reads the page again for the LinkedIn pre-flight (og: tags, image).
          if (prefilledFrom && !data.note) prefilledFrom.value = value;
          updateCard();
          if (data.note) {
            setStatus("note", data.note);
          } else if (filled) {
            setStatus("ok", t("Pre-filled from the page ✓"));
          } else {
            setStatus("ok", t("Read the page ✓ Your own text is kept."));
          }
        })
        .catch(function (error) {
          if (error && error.name === "AbortError") return;
          lastAsked = "";
          setStatus("note", t("Couldn't read the page just now. Fill in the fields yourself, or try again."));
        });
    }

    if (url && endpoint) {
      url.addEventListener("input", debounce(prefill, PREFILL_DELAY_MS));
      url.addEventListener("blur", prefill);
      url.addEventListener("change", prefill);
    }
    if (url) url.addEventListener("input", updateCard);
    [fields.title, fields.image].forEach(function (field) {
      if (field) field.addEventListener("input", updateCard);
    });
    if (file) {
      file.addEventListener("change", function () {
        updateCard();
        if (chosenFile()) setStatus("ok", t("The file is checked and stored when you save."));
        else setStatus("", "");
      });
    }
    if (card.image) {
      card.image.addEventListener("error", function () {
        card.image.hidden = true;
        card.placeholder.hidden = false;
      });
    }
    updateCard();
  }

  /* ---------------------------------------------------- item page: live previews */

  function initPreviews() {
    var section = $("[data-preview-url]");
    if (!section) return;
    var endpoint = section.getAttribute("data-preview-url");
    var limit = parseInt(section.getAttribute("data-limit"), 10) || 3000;
    var select = $("[data-preview-seller]", section);
    var variants = $all("[data-variant]", section);

    function sellerId() {
      return select && select.value ? parseInt(select.value, 10) : null;
    }

    function sourceText(variant) {
      var source = $("[data-variant-source]", variant);
      if (!source) return "";
      return source.tagName === "TEXTAREA" ? source.value : source.textContent;
    }

    function showAuthor() {
      if (!select) return;
      var option = select.options[select.selectedIndex];
      var name = option.getAttribute("data-name") || option.textContent;
      var title = option.getAttribute("data-title") || "";
      var initials = name.split(/\s+/).slice(0, 2).map(function (part) { return part.charAt(0); }).join("");
      $all("[data-preview-name]", section).forEach(function (el) { el.textContent = name; });
      $all("[data-preview-title]", section).forEach(function (el) { el.textContent = title; });
      $all("[data-preview-initials]", section).forEach(function (el) { el.textContent = initials; });
    }

    function show(variant, rendered, length, warnings, error) {
      var text = $("[data-preview-text]", variant);
      var count = $("[data-preview-count]", variant);
      var list = $("[data-preview-warnings]", variant);
      var problem = $("[data-preview-error]", variant);
      text.classList.toggle("is-empty", !rendered);
      text.textContent = rendered ||
        (error ? t("This variant can't be shown until the problem is fixed.") : t("Start typing to see the post as a seller will share it."));
      count.textContent = rendered ? t("%(length)s / %(limit)s characters", { length: number(length), limit: number(limit) }) : "";
      count.classList.toggle("is-over", length > limit);
      list.innerHTML = "";
      (warnings || []).forEach(function (warning) {
        var item = document.createElement("li");
        item.textContent = warning;
        list.appendChild(item);
      });
      problem.textContent = error || "";
      problem.hidden = !error;
    }

    function refresh(variant) {
      var body = sourceText(variant);
      if (!body.trim()) {
        show(variant, "", 0, [], "");
        return;
      }
      var ticket = (variant._previewTicket || 0) + 1;
      variant._previewTicket = ticket;
      variant.classList.add("is-loading");
      fetch(endpoint, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json",
          "X-CSRFToken": csrfToken()
        },
        body: JSON.stringify({ body: body, seller_id: sellerId() })
      })
        .then(readJson)
        .then(function (result) {
          if (ticket !== variant._previewTicket) return; // a newer request is on its way
          variant.classList.remove("is-loading");
          var data = result.data;
          if (!result.ok) {
            show(variant, "", 0, [], data.message || t("The preview couldn't be made."));
          } else {
            show(variant, data.rendered, data.length, data.warnings, data.error);
          }
        })
        .catch(function () {
          if (ticket !== variant._previewTicket) return;
          variant.classList.remove("is-loading");
          show(variant, "", 0, [], t("The preview couldn't be reached. Check your connection and try again."));
        });
    }

    variants.forEach(function (variant) {
      var source = $("[data-variant-source]", variant);
      if (source && source.tagName === "TEXTAREA") {
        source.addEventListener("input", debounce(function () { refresh(variant); }, PREVIEW_DELAY_MS));
      }
    });

    if (select) {
      select.addEventListener("change", function () {
        showAuthor();
        variants.forEach(refresh);
        var option = select.options[select.selectedIndex];
        announce(t("Previews now show the posts as %(name)s would share them.", { name: option.getAttribute("data-name") || option.textContent }));
      });
      // The browser may restore an earlier choice on reload; the server drew the sample seller.
      if (select.value) {
        showAuthor();
        variants.forEach(refresh);
      }
    }
    // A refused variant comes back with its typed text: show what is wrong with it live too.
    variants.forEach(function (variant) {
      var problem = $(".form-field--invalid [data-variant-source]", variant);
      if (problem && problem.value.trim()) refresh(variant);
    });
  }

  /* ------------------------------------------------------ placeholder insertion */

  function initPlaceholders() {
    $all("[data-variant] textarea").forEach(function (area) {
      area.addEventListener("blur", function () {
        area._caret = [area.selectionStart, area.selectionEnd];
      });
    });
    document.addEventListener("click", function (event) {
      var button = event.target.closest ? event.target.closest("[data-insert]") : null;
      if (!button) return;
      var variant = button.closest("[data-variant]");
      var area = variant ? $("textarea", variant) : null;
      if (!area) return;
      var text = button.getAttribute("data-insert");
      // Where the cursor was when the textarea lost focus to this button; else at the end.
      var caret = area._caret || [area.value.length, area.value.length];
      var start = Math.min(caret[0], area.value.length);
      var end = Math.min(caret[1], area.value.length);
      if (start > 0 && !/\s$/.test(area.value.slice(0, start))) text = " " + text;
      area.focus();
      area.setRangeText ? area.setRangeText(text, start, end, "end")
        : (area.value = area.value.slice(0, start) + text + area.value.slice(end));
      area.dispatchEvent(new Event("input", { bubbles: true }));
    });
  }

  function init() {
    initContentForm();
    initPreviews();
    initPlaceholders();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
