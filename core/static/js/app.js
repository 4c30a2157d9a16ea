/* Contacts: the little glue htmx leaves to us — the modal, toasts, focus and error notices. */
(function () {
  "use strict";
  var TOAST_MS = 8000;

  function modal() { return document.getElementById("modal"); }

  function closeModal() {
    var dialog = modal();
    if (dialog && dialog.open) dialog.close();
  }

  function focusFirst(root) {
    var target = root.querySelector("[aria-invalid='true']") || root.querySelector("[autofocus]");
    if (target) target.focus();
    // htmx focuses [autofocus] again when it settles (20 ms later), which would pull the cursor
    // out of a field the person has already moved to: focus once, here, and drop the attribute.
    root.querySelectorAll("[autofocus]").forEach(function (el) { el.removeAttribute("autofocus"); });
  }

  function scheduleToasts(root) {
    (root || document).querySelectorAll(".toast:not([data-timer])").forEach(function (toast) {
      toast.setAttribute("data-timer", "1");
      var timer = setTimeout(function () { toast.remove(); }, TOAST_MS);
      // Hovering or focusing a toast keeps it; leaving starts the clock again.
      toast.addEventListener("mouseenter", function () { clearTimeout(timer); });
      toast.addEventListener("focusin", function () { clearTimeout(timer); });
      toast.addEventListener("mouseleave", function () { timer = setTimeout(function () { toast.remove(); }, TOAST_MS); });
    });
  }

  function showToast(text, kind) {
    var box = document.getElementById("toasts");
    if (!box) return;
    var toast = document.createElement("div");
    toast.className = "toast toast-" + (kind || "info");
    toast.setAttribute("role", kind === "error" ? "alert" : "status");
    var span = document.createElement("span");
    span.className = "toast-text";
    span.textContent = text;
    var close = document.createElement("button");
    close.type = "button";
    close.className = "toast-close";
    close.setAttribute("data-dismiss", "");
    close.setAttribute("aria-label", "Dismiss");
    close.textContent = "\u00d7";
    toast.appendChild(span);
    toast.appendChild(close);
    box.appendChild(toast);
    scheduleToasts(box);
  }

  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail.target;
    if (target && target.id === "modal-body") {
      var dialog = modal();
      if (dialog && !dialog.open) dialog.showModal();
      focusFirst(target);
    } else if (target && target.closest && target.closest("#modal-body")) {
      focusFirst(document.getElementById("modal-body"));
    }
  });

  document.addEventListener("htmx:afterSettle", function () {
    scheduleToasts(document);
    // After a 422/409 the form is swapped in again: put the cursor in the first field to fix.
    var body = document.getElementById("modal-body");
    var invalid = body && body.querySelector("[aria-invalid='true']");
    if (invalid && !invalid.contains(document.activeElement) && !invalid.dataset.focused) {
      invalid.dataset.focused = "1";
      invalid.focus();
    }
  });

  // Filters live in the URL: leave empty ones, and the defaults named in data-drop-empty="sort=name",
  // out of GET requests so the address (which htmx pushes) stays short and readable.
  document.addEventListener("htmx:configRequest", function (event) {
    var root = event.detail.elt.closest("[data-drop-empty]");
    if (event.detail.verb !== "get" || !root) return;
    var data = event.detail.formData;
    if (!data) return;
    var defaults = new URLSearchParams(root.getAttribute("data-drop-empty") || "");
    Array.from(new Set(data.keys())).forEach(function (key) {
      var fallback = defaults.has(key) ? defaults.get(key) : "";
      if (data.getAll(key).every(function (value) { return value === "" || value === fallback; })) data.delete(key);
    });
  });

  // htmx's history snapshot keeps the HTML, not the controls' current values (and it is taken after the user
  // already changed a select for the next request), so after Back/Forward set every control of a
  // [data-url-state] form from the restored URL. A parameter missing from the URL means the first option
  // (the default: "All", or the default sort) or an empty field.
  function syncControlsFromUrl() {
    var params = new URLSearchParams(window.location.search);
    document.querySelectorAll("form[data-url-state]").forEach(function (form) {
      Array.from(form.elements).forEach(function (el) {
        if (!el.name || /^(hidden|submit|button|reset|file|password)$/.test(el.type)) return;
        var value = params.has(el.name) ? params.get(el.name) : null;
        if (el.tagName === "SELECT") {
          var match = value === null ? null : Array.from(el.options).find(function (o) { return o.value === value; });
          Array.from(el.options).forEach(function (o, i) {
            var chosen = match ? o === match : i === 0;
            o.selected = chosen;
            o.toggleAttribute("selected", chosen);
          });
        } else if (el.type === "checkbox" || el.type === "radio") {
          el.checked = value !== null && params.getAll(el.name).indexOf(el.value) !== -1;
        } else {
          el.value = value || "";
          el.setAttribute("value", el.value);
        }
      });
    });
  }
  document.addEventListener("htmx:historyRestore", syncControlsFromUrl);
  // bfcache / plain back navigation to a full page: the browser may restore stale form state too.
  window.addEventListener("pageshow", function (event) { if (event.persisted) syncControlsFromUrl(); });
  document.addEventListener("htmx:oobAfterSwap", function () { scheduleToasts(document); });

  document.body.addEventListener("closeModal", closeModal);

  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    var elt = event.detail.elt;
    var messages = { 400: "The request was refused; reload the page and try again.", 403: "You do not have permission to do that.",
      404: "This record no longer exists, or you may not see it.", 429: "Too many requests; wait a minute and try again." };
    var text = messages[xhr.status] || "Something went wrong (" + xhr.status + "). Try again in a moment.";
    var body = elt && elt.classList && elt.classList.contains("panel") ? elt.querySelector(".panel-body") : null;
    if (body) body.textContent = "This panel could not be loaded.";
    showToast(text, "error");
  });

  document.addEventListener("htmx:sendError", function () {
    showToast("The server could not be reached. Check your connection and try again.", "error");
  });

  document.addEventListener("click", function (event) {
    var dismiss = event.target.closest("[data-dismiss]");
    if (dismiss) {
      var toast = dismiss.closest(".toast");
      if (toast) toast.remove();
      return;
    }
    if (event.target.closest("[data-close-modal]")) closeModal();
    // An export link carries the filters its form shows now (they change without a page load).
    var exportLink = event.target.closest("a[data-export-from]");
    var source = exportLink && document.querySelector(exportLink.getAttribute("data-export-from"));
    if (source) {
      var query = new URLSearchParams();
      new FormData(source).forEach(function (value, key) { if (value !== "") query.append(key, value); });
      exportLink.href = exportLink.href.split("?")[0] + (query.toString() ? "?" + query.toString() : "");
    }
  });


  // Bulk selection on the contacts list: row checkboxes (form="bulk-form"), "select the page", and
  // "select all N matching" (scope=all: the server applies the action to the list's filter).
  function bulkForm() { return document.getElementById("bulk-form"); }

  function updateSelection() {
    var form = bulkForm();
    if (!form) return;
    var scope = document.getElementById("bulk-scope");
    var label = document.getElementById("bulk-selected");
    var checked = document.querySelectorAll("input[name='ids'][form='bulk-form']:checked").length;
    if (scope.value === "all") {
      label.textContent = "All " + (scope.getAttribute("data-label") || "") + " matching selected";
    } else {
      label.textContent = checked ? checked + " selected" : "No rows selected";
    }
    form.setAttribute("data-selected", scope.value === "all" ? "all" : String(checked));
  }

  function resetSelection() {
    var scope = document.getElementById("bulk-scope");
    if (scope) scope.value = "ids";
    var page = document.getElementById("select-page");
    if (page) page.checked = false;
    updateSelection();
  }

  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.id === "select-page") {
      document.querySelectorAll("input[name='ids'][form='bulk-form']").forEach(function (box) { box.checked = el.checked; });
      if (!el.checked) document.getElementById("bulk-scope").value = "ids";
      updateSelection();
    } else if (el.name === "ids" && el.getAttribute("form") === "bulk-form") {
      if (!el.checked) document.getElementById("bulk-scope").value = "ids";
      updateSelection();
    }
  });

  document.addEventListener("click", function (event) {
    var all = event.target.closest("#select-all-matching");
    if (!all) return;
    var scope = document.getElementById("bulk-scope");
    if (!scope) return;
    scope.value = "all";
    scope.setAttribute("data-label", all.getAttribute("data-label") || "");
    document.querySelectorAll("input[name='ids'][form='bulk-form']").forEach(function (box) { box.checked = true; });
    var page = document.getElementById("select-page");
    if (page) page.checked = true;
    updateSelection();
  });

  // A bulk action that asks first (data-confirm on its option, e.g. "Move to the trash").
  document.addEventListener("htmx:confirm", function (event) {
    var elt = event.detail.elt;
    if (!elt || elt.id !== "bulk-form") return;
    var option = elt.querySelector("#bulk-action option:checked");
    var question = option && option.getAttribute("data-confirm");
    if (!question) return;
    event.preventDefault();
    if (window.confirm(question)) event.detail.issueRequest(true);
  });

  // New rows (a filter, a bulk action done): the old selection no longer means anything. Rows that
  // "load more" adds while all matching are selected are part of the selection: shown checked.
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.detail.target && event.detail.target.id === "rows") { resetSelection(); return; }
    var scope = document.getElementById("bulk-scope");
    if (scope && scope.value === "all") {
      document.querySelectorAll("input[name='ids'][form='bulk-form']").forEach(function (box) { box.checked = true; });
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    scheduleToasts(document);
    var dialog = modal();
    if (dialog) {
      // Empty the dialog once closed (Escape, Cancel or closeModal) so stale forms never reappear.
      dialog.addEventListener("close", function () { document.getElementById("modal-body").innerHTML = ""; });
      // A click on the backdrop (outside the dialog box) closes it.
      dialog.addEventListener("click", function (event) { if (event.target === dialog) closeModal(); });
    }
  });
})();

/* Contact details: repeatable rows in the contact form (add from the group's <template>, remove the row),
   and list exports that follow the filters in the current URL. */
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var add = event.target.closest("[data-add-row]");
    if (add) {
      var group = add.closest("[data-repeat]");
      var row = group.querySelector("template").content.firstElementChild.cloneNode(true);
      group.querySelector(".repeat-rows").appendChild(row);
      var input = row.querySelector("input, textarea");
      if (input) input.focus();
      return;
    }
    var remove = event.target.closest("[data-remove-row]");
    if (remove) {
      var fieldset = remove.closest("[data-repeat]");
      remove.closest(".repeat-row").remove();
      var next = fieldset && fieldset.querySelector("[data-add-row]");
      if (next) next.focus();
      return;
    }
    var exporter = event.target.closest("[data-export-current]");
    if (exporter) {
      var params = new URLSearchParams(window.location.search);
      params.delete("cursor");
      exporter.href = exporter.href.split("?")[0] + (params.toString() ? "?" + params.toString() : "");
    }
  });
})();
