/* The contact form's tag input: chips that edit the hidden comma-separated "tags" field, fed by
   the autocomplete fragment (GET /tags/options?q=, swapped into #tag-options by htmx). */
(function () {
  "use strict";

  function names(box) {
    return Array.prototype.map.call(box.querySelectorAll("[data-tag-name]"), function (li) {
      return li.getAttribute("data-tag-name");
    });
  }

  function sync(box) {
    box.querySelector("[data-tag-value]").value = names(box).join(", ");
  }

  function clearOptions(box) {
    var options = box.querySelector(".tag-options-box");
    if (options) options.innerHTML = "";
    var entry = box.querySelector("[data-tag-entry]");
    if (entry) entry.setAttribute("aria-expanded", "false");
  }

  function addTag(box, name, style) {
    name = (name || "").replace(/,/g, " ").replace(/\s+/g, " ").trim();
    if (!name) return;
    var lower = name.toLowerCase();
    if (names(box).some(function (n) { return n.toLowerCase() === lower; })) return;
    var li = document.createElement("li");
    li.className = "chip";
    li.setAttribute("data-tag-name", name);
    if (style) li.setAttribute("style", style);
    li.appendChild(document.createTextNode(name));
    var remove = document.createElement("button");
    remove.type = "button";
    remove.className = "chip-remove";
    remove.setAttribute("data-remove-tag", "");
    remove.setAttribute("aria-label", "Remove tag " + name);
    remove.textContent = "\u00d7";
    li.appendChild(remove);
    box.querySelector("[data-tag-chips]").appendChild(li);
    sync(box);
  }

  document.addEventListener("click", function (event) {
    var add = event.target.closest("[data-add-tag]");
    var box = event.target.closest("[data-tag-input]");
    if (add && box) {
      event.preventDefault();
      addTag(box, add.getAttribute("data-add-tag"), add.classList.contains("chip") ? add.getAttribute("style") : "");
      var entry = box.querySelector("[data-tag-entry]");
      entry.value = "";
      clearOptions(box);
      entry.focus();
      return;
    }
    var remove = event.target.closest("[data-remove-tag]");
    if (remove && box) {
      event.preventDefault();
      remove.closest("[data-tag-name]").remove();
      sync(box);
      box.querySelector("[data-tag-entry]").focus();
    }
  });

  document.addEventListener("keydown", function (event) {
    var entry = event.target.closest && event.target.closest("[data-tag-entry]");
    if (!entry) return;
    var box = entry.closest("[data-tag-input]");
    if (event.key === "Enter" || event.key === ",") {
      event.preventDefault();  // never submit the contact form from here
      var first = box.querySelector(".tag-options-box [data-add-tag]");
      var typed = entry.value.trim();
      var match = first && first.getAttribute("data-add-tag").toLowerCase() === typed.toLowerCase() ? first : null;
      addTag(box, typed, match && match.classList.contains("chip") ? match.getAttribute("style") : "");
      entry.value = "";
      clearOptions(box);
    } else if (event.key === "Backspace" && !entry.value) {
      var chips = box.querySelectorAll("[data-tag-name]");
      if (chips.length) { chips[chips.length - 1].remove(); sync(box); }
    } else if (event.key === "Escape") {
      clearOptions(box);
    }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (target && target.classList && target.classList.contains("tag-options-box")) {
      var entry = target.closest("[data-tag-input]").querySelector("[data-tag-entry]");
      entry.setAttribute("aria-expanded", target.children.length ? "true" : "false");
    }
  });
})();
