// Start-up and the hash router: #/ (tasks), #/account, #/login, #/register, #/forgot,
// #/reset?token=…  Routes live in the fragment, so the server only ever serves `/`.

import * as api from "./api.js";
import { accountView } from "./account.js";
import { forgotView, loginView, registerView, resetView } from "./auth.js";
import { navigate as go, toast } from "./dom.js";
import { tasksView } from "./tasks.js";

const PUBLIC = { login: loginView, register: registerView, forgot: forgotView, reset: resetView };
const PRIVATE = { "": tasksView, account: accountView };

function parseHash() {
  const raw = location.hash.replace(/^#\/?/, "");
  const [path, query = ""] = raw.split("?");
  return { path, params: new URLSearchParams(query) };
}

function route() {
  const { path, params } = parseHash();
  const signedIn = Boolean(api.user());
  document.getElementById("nav").hidden = !signedIn;
  if (path in PUBLIC) {
    if (signedIn && path !== "reset") return go("");
    return PUBLIC[path](params);
  }
  if (!signedIn) return go("login");
  return (PRIVATE[path] || PRIVATE[""])(params);
}

api.onSessionChange((user, reason) => {
  document.getElementById("nav").hidden = !user;
  if (user) return;
  if (reason === "expired") toast("Your session has ended. Please log in again.");
  if (!(parseHash().path in PUBLIC)) go("login"); // a reset link opened meanwhile stays open
});

document.getElementById("logout").addEventListener("click", async () => {
  await api.logout();
  toast("You are logged out.");
});

window.addEventListener("hashchange", route);

async function start() {
  try {
    await api.resume();
  } catch {
    toast("The server cannot be reached. Try again in a moment.");
  }
  route();
}

start();
