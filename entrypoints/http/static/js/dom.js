// Small DOM helpers. Text is always set as text (never parsed as HTML): task titles are stored
// exactly as typed, so "<b>" must show as "<b>".

/** h("button.primary", {type: "submit", onclick}, "Save") builds an element. */
export function h(tag, props = {}, ...children) {
  const [name, ...classes] = tag.split(".");
  const element = document.createElement(name);
  if (classes.length) element.className = classes.join(" ");
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) element.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(element.dataset, value);
    else if (key in element && !key.startsWith("aria") && key !== "list") element[key] = value;
    else element.setAttribute(key, value === true ? "" : value);
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
}

/** A labelled form field; its error message goes in the <p> the input points to. */
export function field(label, input, hint) {
  const id = input.id || `f-${input.name}`;
  input.id = id;
  const error = h("p.field-error", { id: `${id}-error`, hidden: true });
  const described = [hint ? `${id}-hint` : null, `${id}-error`].filter(Boolean).join(" ");
  input.setAttribute("aria-describedby", described);
  return h(
    "div.field",
    {},
    h("label", { htmlFor: id }, label),
    input,
    hint ? h("p.hint", { id: `${id}-hint` }, hint) : null,
    error,
  );
}

/** The view's heading, focused on arrival so screen readers announce the new page. */
export function heading(text) {
  return h("h1", { tabIndex: -1 }, text);
}

export function show(view, ...children) {
  const root = document.getElementById("view");
  root.replaceChildren(view, ...children);
  const title = root.querySelector("h1");
  (title || root).focus();
  document.title = title ? `${title.textContent} · Todo` : "Todo";
}

/** Show a problem: its `errors[]` beside the fields they name, the rest in the form's alert. */
export function showProblem(form, error) {
  clearProblem(form);
  const alert = form.querySelector(".form-alert");
  const unplaced = [];
  for (const item of error.errors || []) {
    const name = String(item.field || "").split(".")[0];
    const input = name && form.elements.namedItem(name);
    if (input instanceof HTMLElement) {
      input.setAttribute("aria-invalid", "true");
      const slot = document.getElementById(`${input.id}-error`);
      if (slot) {
        slot.textContent = slot.hidden ? item.message : `${slot.textContent}; ${item.message}`;
        slot.hidden = false;
        continue;
      }
    }
    unplaced.push(item.field ? `${item.field}: ${item.message}` : item.message);
  }
  if (alert) {
    alert.replaceChildren(h("p", {}, error.message));
    if (unplaced.length) alert.append(h("ul", {}, unplaced.map((text) => h("li", {}, text))));
    alert.hidden = false;
  }
  const first = form.querySelector("[aria-invalid=true]");
  if (first) first.focus();
}

export function clearProblem(form) {
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  for (const slot of form.querySelectorAll(".field-error")) {
    slot.hidden = true;
    slot.textContent = "";
  }
  const alert = form.querySelector(".form-alert");
  if (alert) alert.hidden = true;
}

export function formAlert() {
  return h("div.form-alert", { role: "alert", hidden: true });
}

/** Run `work` for a submitted form: the button is busy meanwhile, a failure is shown. */
export function onSubmit(form, work) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (form.getAttribute("aria-busy") === "true") return;
    form.setAttribute("aria-busy", "true");
    clearProblem(form);
    try {
      await work(new FormData(form));
    } catch (error) {
      if (typeof error?.status !== "number") throw error; // a bug, not an answer
      showProblem(form, error);
    } finally {
      form.removeAttribute("aria-busy");
    }
  });
}

/** A short message at the bottom of the screen, with an optional action (Undo). */
export function toast(message, action, seconds = 6) {
  const box = document.getElementById("toasts");
  const note = h("div.toast", {}, h("span", {}, message));
  let timer;
  const close = () => {
    clearTimeout(timer);
    note.remove();
  };
  if (action) {
    note.append(
      h(
        "button.link-button",
        {
          type: "button",
          onclick: () => {
            close();
            action.run();
          },
        },
        action.label,
      ),
    );
  }
  box.append(note);
  while (box.children.length > 3) box.firstElementChild.remove();
  timer = setTimeout(close, seconds * 1000);
  return close;
}

/** A modal yes/no question in a <dialog> (Escape answers no). */
export function confirmDialog(message, confirmLabel) {
  return new Promise((resolve) => {
    const dialog = h(
      "dialog.confirm",
      { "aria-labelledby": "confirm-text" },
      h("p", { id: "confirm-text" }, message),
      h(
        "form.actions",
        { method: "dialog" },
        h("button", { value: "no", type: "submit" }, "Cancel"),
        h("button.danger", { value: "yes", type: "submit" }, confirmLabel),
      ),
    );
    dialog.addEventListener("close", () => {
      dialog.remove();
      resolve(dialog.returnValue === "yes");
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** Go to a route (`""`, `"account"`, `"login"`…); the router in main.js listens. */
export function navigate(path) {
  if (location.hash === `#/${path}`) window.dispatchEvent(new HashChangeEvent("hashchange"));
  else location.hash = `#/${path}`;
}
