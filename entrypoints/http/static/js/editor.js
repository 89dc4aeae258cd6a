// The edit dialog. The save carries If-Match with the version the person saw, so a change made
// meanwhile elsewhere (another tab, another device) is never overwritten silently: a 412.

import * as api from "./api.js";
import { clearProblem, field, formAlert, h, showProblem } from "./dom.js";
import { splitTags } from "./task_fields.js";

const CONFLICT =
  "This task was changed somewhere else (another tab or device) after you opened it, " +
  "so your changes were not saved.";

export function openEditor(task, saved) {
  let current = task;
  const input = (name, props = {}) => h("input", { name, id: `edit-${name}`, ...props });
  const form = h(
    "form.editor",
    { method: "dialog", noValidate: true },
    h("h2", { id: "editor-title" }, "Edit task"),
    formAlert(),
    field("Title", input("title", { type: "text", required: true, maxLength: 255 })),
    field("Description", h("textarea", { name: "description", id: "edit-description", rows: 4, maxLength: 10000 })),
    h(
      "div.grid",
      {},
      field("Due date", input("due_date", { type: "date" })),
      field(
        "Priority",
        h(
          "select",
          { name: "priority", id: "edit-priority" },
          h("option", { value: "low" }, "Low"),
          h("option", { value: "medium" }, "Medium"),
          h("option", { value: "high" }, "High"),
        ),
      ),
      field("Tags", input("tags", { type: "text" }), "Separated by commas"),
      field("Category", input("category", { type: "text", maxLength: 50 })),
    ),
    h(
      "div.checks",
      {},
      h(
        "label.checkbox",
        {},
        input("starred", { type: "checkbox" }),
        h("span", {}, "Starred"),
      ),
      h(
        "label.checkbox",
        {},
        input("completed", { type: "checkbox" }),
        h("span", {}, "Done"),
      ),
    ),
    h(
      "div.actions",
      {},
      h("button", { type: "button", value: "cancel", onclick: () => dialog.close() }, "Cancel"),
      h("button.primary", { type: "submit" }, "Save"),
    ),
  );
  const dialog = h("dialog.editor-dialog", { "aria-labelledby": "editor-title" }, form);

  function fill(values) {
    const { elements } = form;
    elements.title.value = values.title;
    elements.description.value = values.description || "";
    elements.due_date.value = values.due_date || "";
    elements.priority.value = values.priority;
    elements.tags.value = values.tags.join(", ");
    elements.category.value = values.category || "";
    elements.starred.checked = values.starred;
    elements.completed.checked = values.completed;
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (form.getAttribute("aria-busy") === "true") return;
    form.setAttribute("aria-busy", "true");
    clearProblem(form);
    const data = new FormData(form);
    const text = (name) => (String(data.get(name)).trim() ? data.get(name) : null);
    const edited = {
      title: data.get("title"),
      description: text("description"),
      due_date: text("due_date"),
      priority: data.get("priority"),
      tags: splitTags(data.get("tags")),
      category: text("category"),
      starred: data.get("starred") === "on",
      completed: data.get("completed") === "on",
    };
    // Only what the person changed is sent: a PATCH, not a copy of the whole form.
    const body = Object.fromEntries(
      Object.entries(edited).filter(
        ([name, value]) => JSON.stringify(value) !== JSON.stringify(current[name] ?? null),
      ),
    );
    if (!Object.keys(body).length) {
      form.removeAttribute("aria-busy");
      dialog.close();
      return;
    }
    try {
      const updated = await api.call("PATCH", `/tasks/${current.id}`, {
        body,
        headers: { "If-Match": `"${current.version}"` },
      });
      saved(updated);
      dialog.close();
    } catch (error) {
      if (typeof error.status !== "number") throw error;
      if (error.status === 412) conflict();
      else if (error.status === 404) {
        showProblem(form, { message: "This task no longer exists (deleted elsewhere).", errors: [] });
      } else showProblem(form, error);
    } finally {
      form.removeAttribute("aria-busy");
    }
  });

  function conflict() {
    const alert = form.querySelector(".form-alert");
    const reload = h(
      "button.secondary",
      {
        type: "button",
        onclick: async () => {
          current = await api.call("GET", `/tasks/${current.id}`);
          saved(current);
          fill(current);
          clearProblem(form);
          form.elements.title.focus();
        },
      },
      "Load the latest version",
    );
    alert.replaceChildren(h("p.conflict", {}, CONFLICT), reload);
    alert.hidden = false;
    reload.focus();
  }

  dialog.addEventListener("close", () => dialog.remove());
  document.body.append(dialog);
  fill(task);
  dialog.showModal();
  form.elements.title.focus();
}
