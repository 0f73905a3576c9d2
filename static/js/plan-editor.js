/*
 * The plan page's editor: no input is ever lost, and the keyboard works.
 *
 * - Every open edit form ([data-plan-form][data-draft-key]) keeps what the user types in
 *   localStorage under "plan-draft:<plan>:<part>:<revision>", so a closed tab, a crash or an
 *   ended session loses nothing. When the form opens again the draft is offered back; restoring
 *   it also restores the revision it was written against, so if someone saved meanwhile the
 *   server shows both versions to merge instead of overwriting theirs.
 * - A successful save (the server sends the "plan-saved" event) clears the part's drafts.
 * - An opened form gets the focus on its first field; Escape cancels it (not the merge form:
 *   leaving it discards the user's version, which only its own link should do).
 * - A save that meets an ended session or a server error keeps the form and says so.
 *
 * Texts come from data-msg-* attributes on #plan (the templates translate them).
 */
(function () {
  "use strict";

  var PREFIX = "plan-draft:";
  var SKIPPED = { csrfmiddlewaretoken: true, revision: true };
  var lastSubmitted = null;

  function message(name, value) {
    var root = document.getElementById("plan");
    var text = (root && root.getAttribute("data-msg-" + name)) || "";
    return value === undefined ? text : text.replace("%s", value);
  }

  function storage() {
    try {
      return window.localStorage;
    } catch (error) {
      return null; // storage disabled: editing still works, only without drafts
    }
  }

  function fields(form) {
    return Array.prototype.filter.call(form.elements, function (element) {
      return element.name && !SKIPPED[element.name] && element.type !== "submit" &&
        element.type !== "button" && element.type !== "hidden";
    });
  }

  function valuesOf(form) {
    var values = {};
    fields(form).forEach(function (element) {
      if (element.type === "checkbox" || element.type === "radio") {
        values[element.name] = values[element.name] || [];
        if (element.checked) {
          values[element.name].push(element.value);
        }
      } else if (element.multiple) {
        values[element.name] = Array.prototype.filter.call(element.options, function (option) {
          return option.selected;
        }).map(function (option) { return option.value; });
      } else {
        values[element.name] = element.value;
      }
    });
    return values;
  }

  function applyValues(form, values) {
    fields(form).forEach(function (element) {
      if (!Object.prototype.hasOwnProperty.call(values, element.name)) {
        return;
      }
      var value = values[element.name];
      if (element.type === "checkbox" || element.type === "radio") {
        element.checked = [].concat(value).indexOf(element.value) !== -1;
      } else if (element.multiple) {
        Array.prototype.forEach.call(element.options, function (option) {
          option.selected = [].concat(value).indexOf(option.value) !== -1;
        });
      } else {
        element.value = value;
      }
    });
  }

  function revisionOf(form) {
    var field = form.elements.namedItem("revision");
    return field ? field.value : "";
  }

  function saveDraft(form) {
    var store = storage();
    if (!store) {
      return;
    }
    var draft = { savedAt: Date.now(), revision: revisionOf(form), values: valuesOf(form) };
    try {
      store.setItem(form.getAttribute("data-draft-key"), JSON.stringify(draft));
    } catch (error) {
      // Storage full or refused: nothing else to do; the form itself still holds the input.
    }
  }

  function draftsOf(part) {
    var store = storage();
    var found = [];
    if (!store) {
      return found;
    }
    for (var index = 0; index < store.length; index += 1) {
      var key = store.key(index);
      if (key && key.indexOf(part) === 0) {
        try {
          found.push({ key: key, draft: JSON.parse(store.getItem(key)) });
        } catch (error) {
          found.push({ key: key, draft: null });
        }
      }
    }
    return found;
  }

  function clearDrafts(part) {
    var store = storage();
    if (!store || !part || part.indexOf(PREFIX) !== 0) {
      return;
    }
    draftsOf(part).forEach(function (entry) { store.removeItem(entry.key); });
  }

  function latestDraft(form) {
    var latest = null;
    draftsOf(form.getAttribute("data-draft-part")).forEach(function (entry) {
      if (entry.draft && entry.draft.values && (!latest || entry.draft.savedAt > latest.savedAt)) {
        latest = entry.draft;
      }
    });
    return latest;
  }

  function sameValues(a, b) {
    return JSON.stringify(a) === JSON.stringify(b);
  }

  function notice(form, kind, text, buttons) {
    var old = form.querySelector("[data-plan-notice]");
    if (old) {
      old.remove();
    }
    var box = document.createElement("div");
    box.className = "alert alert-" + kind + " py-2";
    box.setAttribute("role", kind === "danger" ? "alert" : "status");
    box.setAttribute("data-plan-notice", "");
    var paragraph = document.createElement("p");
    paragraph.className = buttons && buttons.length ? "mb-2" : "mb-0";
    paragraph.textContent = text;
    box.appendChild(paragraph);
    (buttons || []).forEach(function (button) { box.appendChild(button); });
    form.insertBefore(box, form.firstElementChild ? form.firstElementChild.nextSibling : null);
    return box;
  }

  function button(label, className, onClick) {
    var element = document.createElement("button");
    element.type = "button";
    element.className = "btn btn-sm me-2 " + className;
    element.textContent = label;
    element.addEventListener("click", onClick);
    return element;
  }

  function offerDraft(form) {
    var draft = latestDraft(form);
    if (!draft || sameValues(draft.values, valuesOf(form))) {
      return;
    }
    var when = new Date(draft.savedAt).toLocaleString(document.documentElement.lang || undefined);
    var text = message("draft", when);
    if (draft.revision && draft.revision !== revisionOf(form)) {
      text += " " + message("draft-older");
    }
    var box = notice(form, "info", text, [
      button(message("restore"), "btn-primary", function () {
        applyValues(form, draft.values);
        var revision = form.elements.namedItem("revision");
        if (revision && draft.revision) {
          revision.value = draft.revision; // so a save over someone else's change shows the merge
        }
        saveDraft(form);
        box.remove();
        focusFirstField(form);
      }),
      button(message("discard"), "btn-outline-dark", function () {
        clearDrafts(form.getAttribute("data-draft-part"));
        box.remove();
        focusFirstField(form);
      }),
    ]);
  }

  function focusFirstField(form) {
    var invalid = form.querySelector(".is-invalid");
    var first = invalid || fields(form)[0] || form.querySelector("button[type=submit]");
    if (first) {
      first.focus();
    }
  }

  function setUp(form, focus) {
    if (form.hasAttribute("data-plan-ready")) {
      return;
    }
    form.setAttribute("data-plan-ready", "");
    if (form.hasAttribute("data-draft-key")) {
      var timer = null;
      form.addEventListener("input", function () {
        window.clearTimeout(timer);
        timer = window.setTimeout(function () { saveDraft(form); }, 300);
      });
      form.addEventListener("change", function () { saveDraft(form); });
      form.addEventListener("submit", function () { saveDraft(form); });
      if (form.hasAttribute("data-plan-merge")) {
        // The server has just sent the user's input back; drafts of the older revision
        // would only offer the same input again.
        clearDrafts(form.getAttribute("data-draft-part"));
        saveDraft(form);
      } else {
        offerDraft(form);
      }
    }
    form.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        var cancel = form.querySelector("[data-plan-cancel]");
        if (cancel) {
          event.preventDefault();
          cancel.click();
        }
      }
    });
    var discard = form.querySelector("[data-draft-discard]");
    if (discard) {
      discard.addEventListener("click", function () {
        clearDrafts(form.getAttribute("data-draft-part"));
      });
    }
    if (focus) {
      if (form.hasAttribute("data-plan-merge")) {
        var conflict = form.querySelector("fieldset textarea, fieldset input, fieldset select");
        (conflict || form).focus();
      } else {
        focusFirstField(form);
      }
    }
  }

  function closestForm(element) {
    return element && element.closest ? element.closest("form[data-plan-form]") : null;
  }

  // New content from htmx: set up its forms and put the focus where the user continues.
  document.addEventListener("htmx:load", function (event) {
    var element = event.detail.elt;
    if (element === document.body || !element.querySelectorAll) {
      return;
    }
    var forms = element.matches("form[data-plan-form]") ? [element] :
      Array.prototype.slice.call(element.querySelectorAll("form[data-plan-form]"));
    forms.forEach(function (form, index) { setUp(form, index === 0); });
    // After a save or a cancel the focused control is gone: continue at the changed part.
    if (!forms.length && element.closest("#plan") && document.activeElement === document.body) {
      var section = element.closest("section");
      var target = (element.matches("[data-plan-focus]") ? element : null) ||
        element.querySelector("[data-plan-focus]") ||
        (section && section.querySelector("[data-plan-focus]"));
      if (target) {
        target.focus();
      }
    }
  });

  document.addEventListener("htmx:beforeRequest", function (event) {
    lastSubmitted = closestForm(event.detail.elt);
  });

  // The server confirmed the save: the part's drafts are no longer needed.
  document.addEventListener("plan-saved", function (event) {
    var form = closestForm(event.target) || lastSubmitted;
    if (form) {
      clearDrafts(form.getAttribute("data-draft-part"));
    }
  });

  // An ended session answers with the login page: keep the form and the draft instead.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    var form = closestForm(event.detail.requestConfig && event.detail.requestConfig.elt);
    var login = document.getElementById("plan");
    login = login && login.getAttribute("data-login-url");
    if (form && xhr && xhr.responseURL && login &&
        xhr.responseURL.indexOf(login.split("?")[0]) !== -1) {
      event.detail.shouldSwap = false;
      saveDraft(form);
      var link = document.createElement("a");
      link.href = login;
      link.target = "_blank";
      link.rel = "noopener";
      link.className = "alert-link";
      link.textContent = message("login");
      notice(form, "danger", message("session"), [link]);
    }
  });

  document.addEventListener("htmx:responseError", function (event) {
    var form = closestForm(event.detail.elt);
    if (form) {
      saveDraft(form);
      notice(form, "danger", message("error", event.detail.xhr.status));
    }
  });

  document.addEventListener("htmx:sendError", function (event) {
    var form = closestForm(event.detail.elt);
    if (form) {
      saveDraft(form);
      notice(form, "danger", message("offline"));
    }
  });

  // Drafts nobody came back to in a month (the item was deleted, say) are dropped.
  function dropStaleDrafts() {
    var store = storage();
    var before = Date.now() - 30 * 24 * 60 * 60 * 1000;
    draftsOf(PREFIX).forEach(function (entry) {
      if (!entry.draft || !(entry.draft.savedAt > before)) {
        store.removeItem(entry.key);
      }
    });
  }

  // A form open on the page as it loads (the page without htmx, or a reload): set it up.
  function setUpPage() {
    dropStaleDrafts();
    var forms = document.querySelectorAll("#plan form[data-plan-form]");
    Array.prototype.forEach.call(forms, function (form, index) { setUp(form, index === 0); });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUpPage);
  } else {
    setUpPage();
  }
})();
