// The task list: add, filter, search, sort, load more, edit, complete, star, delete with undo,
// clear completed.

import * as api from "./api.js";
import { openEditor } from "./editor.js";
import {
  confirmDialog,
  field,
  formAlert,
  h,
  heading,
  onSubmit,
  show,
  toast,
} from "./dom.js";
import { dueState, formatDate, splitTags, taskFields } from "./task_fields.js";

const SORTS = [
  ["-created_at", "Newest first"],
  ["created_at", "Oldest first"],
  ["due_date", "Due date, soonest first"],
  ["-due_date", "Due date, latest first"],
  ["-priority", "Priority, high first"],
  ["priority", "Priority, low first"],
  ["title", "Title, A to Z"],
  ["-title", "Title, Z to A"],
  ["-updated_at", "Recently changed"],
  ["updated_at", "Least recently changed"],
];
const STATUSES = [
  ["all", "All"],
  ["pending", "To do"],
  ["completed", "Done"],
];
const PAGE_SIZE = 50;
const TYPING_PAUSE_MS = 250;

// Kept across visits to the account page; the next person to log in starts afresh.
const DEFAULT_FILTERS = { status: "all", priority: "", tag: "", category: "", q: "", sort: "-created_at" };
const filters = { ...DEFAULT_FILTERS };
api.onSessionChange((user) => {
  if (!user) Object.assign(filters, DEFAULT_FILTERS);
});

export function tasksView() {
  const list = h("ul.tasks", { "aria-label": "Tasks" });
  const count = h("p.count", { "aria-live": "polite" }, "\u00a0");
  const listAlert = h("div.form-alert", { role: "alert", hidden: true });
  const more = h("button.secondary.more", { type: "button", hidden: true }, "Load more");
  let tasks = [];
  let next = null;
  let total = 0;
  let generation = 0; // answers to an older query are dropped

  function query() {
    const params = new URLSearchParams({ sort: filters.sort, limit: String(PAGE_SIZE) });
    if (filters.status !== "all") params.set("status", filters.status);
    if (filters.priority) params.set("priority", filters.priority);
    for (const tag of splitTags(filters.tag)) params.append("tag", tag);
    if (filters.category.trim()) params.set("category", filters.category.trim());
    if (filters.q.trim()) params.set("q", filters.q.trim());
    return `/tasks?${params}`;
  }

  async function load(path, append) {
    const mine = ++generation;
    list.setAttribute("aria-busy", "true");
    more.disabled = true; // one click, one page
    try {
      const response = await api.request("GET", path);
      const page = await response.json();
      if (mine !== generation) return;
      tasks = append ? [...tasks, ...page] : page;
      total = Number(response.headers.get("X-Total-Count") || tasks.length);
      next = nextLink(response.headers.get("Link"));
      listAlert.hidden = true;
      render();
    } catch (error) {
      if (mine !== generation || typeof error.status !== "number") throw error;
      if (error.status === 401) return; // the session ended: the router takes over
      listAlert.replaceChildren(h("p", {}, error.message));
      listAlert.hidden = false;
    } finally {
      if (mine === generation) {
        list.removeAttribute("aria-busy");
        more.disabled = false;
      }
    }
  }

  const reload = () => load(query(), false);

  function render() {
    list.replaceChildren(...tasks.map(taskItem));
    if (!tasks.length) list.append(h("li.empty", {}, emptyText()));
    count.textContent = total
      ? `Showing ${tasks.length} of ${total} ${total === 1 ? "task" : "tasks"}`
      : "No tasks";
    more.hidden = !next;
  }

  function emptyText() {
    const filtered = filters.status !== "all" || filters.priority || filters.tag ||
      filters.category.trim() || filters.q.trim();
    return filtered ? "No tasks match these filters." : "Nothing to do yet. Add a task above.";
  }

  function replaceTask(updated) {
    const index = tasks.findIndex((task) => task.id === updated.id);
    if (index < 0) return;
    const hidden = (filters.status === "pending" && updated.completed) ||
      (filters.status === "completed" && !updated.completed);
    if (hidden) {
      tasks.splice(index, 1);
      total -= 1;
    } else {
      tasks[index] = updated;
    }
    render();
  }

  function taskItem(task) {
    const due = dueState(task);
    const label = task.title;
    const check = h("input.check", {
      type: "checkbox",
      checked: task.completed,
      "aria-label": `Done: ${label}`,
      onchange: () => act(() => setCompleted(task, check.checked)),
    });
    const meta = h(
      "div.meta",
      {},
      task.due_date
        ? h(`span.badge.due.${due}`, {}, dueText(task.due_date, due))
        : null,
      h(`span.badge.priority.${task.priority}`, {}, `${task.priority} priority`),
      task.category ? h("span.badge.category", {}, task.category) : null,
      task.tags.map((tag) =>
        h(
          "button.tag",
          { type: "button", title: `Show tasks tagged ${tag}`, onclick: () => filterByTag(tag) },
          `#${tag}`,
        ),
      ),
    );
    return h(
      `li.task${task.completed ? ".done" : ""}${due === "overdue" || due === "today" ? `.${due}` : ""}`,
      { dataset: { id: task.id } },
      check,
      h(
        "div.body",
        {},
        h("span.title", {}, task.title),
        task.description ? h("p.description", {}, task.description) : null,
        meta,
      ),
      h(
        "div.actions",
        {},
        h(
          "button.icon.star",
          {
            type: "button",
            "aria-pressed": String(task.starred),
            "aria-label": `Star: ${label}`,
            title: task.starred ? "Starred" : "Star",
            onclick: () => act(() => setStarred(task)),
          },
          task.starred ? "\u2605" : "\u2606",
        ),
        h(
          "button.icon",
          { type: "button", "aria-label": `Edit: ${label}`, onclick: () => edit(task) },
          "Edit",
        ),
        h(
          "button.icon.delete",
          { type: "button", "aria-label": `Delete: ${label}`, onclick: () => act(() => remove(task)) },
          "Delete",
        ),
      ),
    );
  }

  async function act(work) {
    try {
      await work();
    } catch (error) {
      if (typeof error.status !== "number") throw error;
      if (error.status === 401) return;
      toast(error.message);
      if (error.status === 404 || error.status === 412) reload(); // changed elsewhere
    }
  }

  async function setCompleted(task, completed) {
    const updated = await api.call("PATCH", `/tasks/${task.id}/complete`, { body: { completed } });
    replaceTask(updated);
  }

  async function setStarred(task) {
    const updated = await api.call("PATCH", `/tasks/${task.id}`, {
      body: { starred: !task.starred },
    });
    replaceTask(updated);
  }

  async function remove(task) {
    await api.request("DELETE", `/tasks/${task.id}`);
    tasks = tasks.filter((item) => item.id !== task.id);
    total -= 1;
    render();
    toast(`Deleted \u201c${task.title}\u201d.`, {
      label: "Undo",
      run: () =>
        act(async () => {
          await api.call("POST", "/tasks", { body: taskFields(task) });
          toast(`Restored \u201c${task.title}\u201d.`);
          await reload();
        }),
    });
    list.focus();
  }

  function edit(task) {
    openEditor(task, (updated) => replaceTask(updated));
  }

  function filterByTag(tag) {
    filters.tag = tag;
    toolbar.querySelector("[name=tag]").value = tag;
    reload();
  }

  async function clearCompleted() {
    const sure = await confirmDialog(
      "Delete every completed task? This cannot be undone.",
      "Clear completed",
    );
    if (!sure) return;
    await act(async () => {
      const { deleted } = await api.call("DELETE", "/tasks?status=completed");
      toast(deleted === 1 ? "Cleared 1 completed task." : `Cleared ${deleted} completed tasks.`);
      await reload();
    });
  }

  more.addEventListener("click", () => load(next, true));
  list.tabIndex = -1;
  const toolbar = filterBar(reload);
  show(
    h(
      "section.tasks-page",
      { "aria-labelledby": "page-title" },
      h(
        "div.page-head",
        {},
        Object.assign(heading("Tasks"), { id: "page-title" }),
        h(
          "button.secondary",
          { type: "button", onclick: () => clearCompleted() },
          "Clear completed",
        ),
      ),
      newTaskForm(reload),
      toolbar,
      h("div.list-head", {}, count),
      listAlert,
      list,
      more,
    ),
  );
  reload();
}

function dueText(date, state) {
  if (state === "overdue") return `Overdue \u00b7 ${formatDate(date)}`;
  if (state === "today") return "Due today";
  return `Due ${formatDate(date)}`;
}

/** The `next` URL of a Link header, as a path under /api (the client adds the prefix). */
function nextLink(header) {
  if (!header) return null;
  for (const part of header.split(",")) {
    const match = part.match(/<([^>]*)>\s*;\s*rel="?next"?/);
    if (match) {
      const url = new URL(match[1], location.origin);
      return `${url.pathname.replace(/^\/api/, "")}${url.search}`;
    }
  }
  return null;
}

function newTaskForm(reload) {
  const title = h("input", {
    name: "title",
    type: "text",
    required: true,
    maxLength: 255,
    placeholder: "What needs doing?",
    autocomplete: "off",
  });
  const details = h(
    "details.more-fields",
    {},
    h("summary", {}, "More options"),
    h(
      "div.grid",
      {},
      field("Description", h("textarea", { name: "description", rows: 3, maxLength: 10000 })),
      field("Due date", h("input", { name: "due_date", type: "date" })),
      field(
        "Priority",
        h(
          "select",
          { name: "priority" },
          h("option", { value: "low" }, "Low"),
          h("option", { value: "medium", defaultSelected: true }, "Medium"),
          h("option", { value: "high" }, "High"),
        ),
      ),
      field("Tags", h("input", { name: "tags", type: "text" }), "Separated by commas"),
      field("Category", h("input", { name: "category", type: "text", maxLength: 50 })),
      h(
        "div.field.checkbox",
        {},
        h("input", { name: "starred", type: "checkbox", id: "new-starred" }),
        h("label", { htmlFor: "new-starred" }, "Starred"),
      ),
    ),
  );
  const form = h(
    "form.new-task.card",
    { noValidate: true, "aria-label": "Add a task" },
    formAlert(),
    h(
      "div.add-row",
      {},
      field("New task", title),
      h("button.primary", { type: "submit" }, "Add"),
    ),
    details,
  );
  onSubmit(form, async (data) => {
    const body = {
      title: data.get("title"),
      priority: data.get("priority"),
      starred: data.get("starred") === "on",
      tags: splitTags(data.get("tags")),
    };
    for (const name of ["description", "due_date", "category"]) {
      if (String(data.get(name)).trim()) body[name] = data.get(name);
    }
    try {
      await api.call("POST", "/tasks", { body });
    } catch (error) {
      if (error.errors?.some((item) => !item.field?.startsWith("title"))) details.open = true;
      throw error;
    }
    form.reset();
    details.open = false;
    title.focus();
    toast(`Added \u201c${body.title.trim()}\u201d.`);
    await reload();
  });
  // Escape empties the title (and folds the options) without leaving the field.
  form.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && !event.defaultPrevented) {
      form.reset();
      details.open = false;
      title.focus();
    }
  });
  return form;
}

function filterBar(reload) {
  let timer;
  const later = () => {
    clearTimeout(timer);
    timer = setTimeout(reload, TYPING_PAUSE_MS);
  };
  const bind = (element, key, delayed) => {
    element.value = filters[key];
    element.addEventListener(delayed ? "input" : "change", () => {
      filters[key] = element.value;
      if (delayed) later();
      else reload();
    });
    return element;
  };
  const status = h(
    "fieldset.segmented",
    {},
    h("legend", {}, "Show"),
    STATUSES.map(([value, text]) =>
      h(
        "label",
        {},
        h("input", {
          type: "radio",
          name: "status",
          value,
          checked: filters.status === value,
          onchange: () => {
            filters.status = value;
            reload();
          },
        }),
        h("span", {}, text),
      ),
    ),
  );
  const form = h(
    "form.filters.card",
    { role: "search", "aria-label": "Filter tasks", onsubmit: (event) => event.preventDefault() },
    field("Search", bind(h("input", { name: "q", type: "search" }), "q", true)),
    field(
      "Sort",
      bind(
        h("select", { name: "sort" }, SORTS.map(([value, text]) => h("option", { value }, text))),
        "sort",
      ),
    ),
    status,
    field(
      "Priority",
      bind(
        h(
          "select",
          { name: "priority_filter", id: "f-priority-filter" },
          h("option", { value: "" }, "Any"),
          h("option", { value: "high" }, "High"),
          h("option", { value: "medium" }, "Medium"),
          h("option", { value: "low" }, "Low"),
        ),
        "priority",
      ),
    ),
    field("Tag", bind(h("input", { name: "tag", type: "text", id: "f-tag-filter" }), "tag", true)),
    field(
      "Category",
      bind(h("input", { name: "category", type: "text", id: "f-category-filter" }), "category", true),
    ),
  );
  return form;
}
