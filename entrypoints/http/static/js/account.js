// The account page: name and email, password, log out everywhere, delete the account.

import * as api from "./api.js";
import { confirmDialog, field, formAlert, h, heading, onSubmit, show, toast } from "./dom.js";

function password(name, autocomplete, id) {
  return h("input", { name, id, type: "password", required: true, autocomplete });
}

function profileForm(signedInAs) {
  const user = api.user();
  const name = h("input", { name: "name", id: "account-name", type: "text", maxLength: 100 });
  const email = h("input", { name: "email", id: "account-email", type: "email" });
  name.value = user.name || "";
  email.value = user.email;
  const form = h(
    "form.card",
    { noValidate: true, "aria-labelledby": "profile-title" },
    h("h2", { id: "profile-title" }, "Profile"),
    formAlert(),
    field("Name", name),
    field("Email", email),
    field(
      "Current password",
      h("input", {
        name: "current_password",
        id: "account-current-password",
        type: "password",
        autocomplete: "current-password",
      }),
      "Needed only to change your email.",
    ),
    h("button.primary", { type: "submit" }, "Save profile"),
  );
  onSubmit(form, async (data) => {
    const current = api.user();
    const body = {};
    const newName = String(data.get("name")).trim();
    if (newName !== (current.name || "")) body.name = newName || null;
    if (String(data.get("email")).trim() !== current.email) {
      body.email = data.get("email");
      if (data.get("current_password")) body.current_password = data.get("current_password");
    }
    if (!Object.keys(body).length) {
      toast("Nothing to change.");
      return;
    }
    const updated = await api.call("PATCH", "/auth/me", { body });
    api.setUser(updated);
    signedInAs.textContent = `Logged in as ${updated.email}`;
    form.elements.current_password.value = "";
    toast("Profile saved.");
  });
  return form;
}

function passwordForm() {
  const form = h(
    "form.card",
    { noValidate: true, "aria-labelledby": "password-title" },
    h("h2", { id: "password-title" }, "Password"),
    formAlert(),
    field("Current password", password("current_password", "current-password", "pw-current")),
    field(
      "New password",
      password("new_password", "new-password", "pw-new"),
      "8 to 128 characters. Your other devices will be logged out.",
    ),
    h("button.primary", { type: "submit" }, "Change password"),
  );
  onSubmit(form, async (data) => {
    await api.call("POST", "/auth/password", {
      body: {
        current_password: data.get("current_password"),
        new_password: data.get("new_password"),
      },
    });
    form.reset();
    toast("Password changed. Other devices are logged out.");
  });
  return form;
}

function sessionsCard() {
  const button = h("button.secondary", { type: "button" }, "Log out everywhere");
  button.addEventListener("click", async () => {
    const sure = await confirmDialog(
      "Log out on every device, this one included?",
      "Log out everywhere",
    );
    if (!sure) return;
    try {
      await api.logoutEverywhere();
      toast("Logged out on every device.");
    } catch (error) {
      if (typeof error.status !== "number") throw error;
      toast(error.message);
    }
  });
  return h(
    "section.card",
    { "aria-labelledby": "sessions-title" },
    h("h2", { id: "sessions-title" }, "Sessions"),
    h("p", {}, "Lost a device, or used a shared computer? End every session at once."),
    button,
  );
}

function deleteForm() {
  const form = h(
    "form.card.danger-zone",
    { noValidate: true, "aria-labelledby": "delete-title" },
    h("h2", { id: "delete-title" }, "Delete account"),
    h("p", {}, "Your account and all your tasks are deleted at once. This cannot be undone."),
    formAlert(),
    field("Password", password("password", "current-password", "delete-password")),
    h("button.danger", { type: "submit" }, "Delete my account"),
  );
  onSubmit(form, async (data) => {
    const sure = await confirmDialog(
      "Delete your account and every task in it, for good?",
      "Delete for good",
    );
    if (!sure) return;
    await api.call("DELETE", "/auth/me", { body: { password: data.get("password") } });
    await api.endSession("deleted");
    toast("Your account is deleted.");
  });
  return form;
}

export function accountView() {
  const signedInAs = h("p.intro", {}, `Logged in as ${api.user().email}`);
  show(
    h(
      "section.account",
      { "aria-labelledby": "page-title" },
      Object.assign(heading("Account"), { id: "page-title" }),
      signedInAs,
      profileForm(signedInAs),
      passwordForm(),
      sessionsCard(),
      deleteForm(),
    ),
  );
}
