// The pages before a session: log in, register, forgot password, and the reset link's page.

import * as api from "./api.js";
import { field, formAlert, h, heading, navigate, onSubmit, show, toast } from "./dom.js";

const PASSWORD_HINT = "8 to 128 characters; not a common password or your email.";

function input(name, type, props = {}) {
  return h("input", { name, type, required: true, ...props });
}

function card(title, intro, form, ...after) {
  return h(
    "section.card.narrow",
    { "aria-labelledby": "page-title" },
    Object.assign(heading(title), { id: "page-title" }),
    intro ? h("p.intro", {}, intro) : null,
    form,
    ...after,
  );
}

export function loginView() {
  const form = h(
    "form",
    { noValidate: true },
    formAlert(),
    field("Email", input("email", "email", { autocomplete: "username" })),
    field("Password", input("password", "password", { autocomplete: "current-password" })),
    h("button.primary", { type: "submit" }, "Log in"),
  );
  onSubmit(form, async (data) => {
    await api.login({ email: data.get("email"), password: data.get("password") });
    navigate("");
  });
  show(
    card(
      "Log in",
      "Welcome back. Your tasks are waiting.",
      form,
      h(
        "p.links",
        {},
        h("a", { href: "#/register" }, "Create an account"),
        h("a", { href: "#/forgot" }, "Forgot your password?"),
      ),
    ),
  );
}

export function registerView() {
  const form = h(
    "form",
    { noValidate: true },
    formAlert(),
    field("Name (optional)", input("name", "text", { required: false, autocomplete: "name" })),
    field("Email", input("email", "email", { autocomplete: "email" })),
    field(
      "Password",
      input("password", "password", { autocomplete: "new-password" }),
      PASSWORD_HINT,
    ),
    h("button.primary", { type: "submit" }, "Create account"),
  );
  onSubmit(form, async (data) => {
    const fields = { email: data.get("email"), password: data.get("password") };
    if (data.get("name").trim()) fields.name = data.get("name");
    await api.register(fields);
    toast("Welcome! Add your first task below.");
    navigate("");
  });
  show(
    card(
      "Create your account",
      "Plan your day in a list that keeps up with you.",
      form,
      h("p.links", {}, h("a", { href: "#/login" }, "I already have an account")),
    ),
  );
}

export function forgotView() {
  const form = h(
    "form",
    { noValidate: true },
    formAlert(),
    field("Email", input("email", "email", { autocomplete: "email" })),
    h("button.primary", { type: "submit" }, "Send reset link"),
  );
  const sent = h("p.success", { role: "status" });
  onSubmit(form, async (data) => {
    await api.anonymous("POST", "/auth/password-reset", { email: data.get("email") });
    sent.textContent =
      "If an account uses that email, a link to choose a new password is on its way. " +
      "It works once, for a limited time.";
  });
  show(
    card(
      "Forgot your password?",
      "We will email you a link to choose a new one.",
      form,
      sent,
      h("p.links", {}, h("a", { href: "#/login" }, "Back to log in")),
    ),
  );
}

export function resetView(params) {
  const token = params.get("token") || "";
  const form = h(
    "form",
    { noValidate: true },
    formAlert(),
    field(
      "New password",
      input("new_password", "password", { autocomplete: "new-password" }),
      PASSWORD_HINT,
    ),
    h("button.primary", { type: "submit" }, "Set new password"),
  );
  onSubmit(form, async (data) => {
    await api.anonymous("POST", "/auth/password-reset/confirm", {
      token,
      new_password: data.get("new_password"),
    });
    await api.endSession("reset"); // every session ended on the server, this one too
    toast("Your password is changed. Log in with the new one.");
    navigate("login");
  });
  const missing = token ? null : h("p.form-alert", { role: "alert" }, "This link has no token.");
  show(
    card(
      "Choose a new password",
      "Every device logged in to your account will be logged out.",
      missing,
      form,
      h("p.links", {}, h("a", { href: "#/forgot" }, "Send a new link")),
    ),
  );
}
