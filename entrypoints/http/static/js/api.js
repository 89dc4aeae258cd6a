// The API client: tokens, one shared refresh, problem details turned into ApiError.
//
// The access token lives only in this module's memory. The refresh token is stored (IndexedDB,
// token_store.js) so that a reload or a second tab stays logged in (README: "Where the tokens
// live").

import { clearToken, readToken, writeToken } from "./token_store.js";

const PROBLEM_BASE = "https://todo.dev/problems/";

let accessToken = null;
let currentUser = null;
let refreshing = null; // the one refresh in flight, shared by every request that needs it
const sessionListeners = new Set();
const otherTabs = new BroadcastChannel("todo.session");

/** A failed request: `status`, the problem document (`detail`, `errors`, `type`) if any. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem?.detail || problem?.title || `Request failed (${status})`);
    this.status = status;
    this.problem = problem || {};
    this.type = this.problem.type?.startsWith(PROBLEM_BASE)
      ? this.problem.type.slice(PROBLEM_BASE.length)
      : "";
    this.errors = Array.isArray(this.problem.errors) ? this.problem.errors : [];
  }
}

/** Called with (user, reason) whenever the session starts, changes or ends (user = null). */
export function onSessionChange(listener) {
  sessionListeners.add(listener);
}

function notify(reason) {
  for (const listener of sessionListeners) listener(currentUser, reason);
}

export function user() {
  return currentUser;
}

async function accept(pair) {
  await writeToken(pair.refresh_token); // stored before any other tab may take its turn
  accessToken = pair.access_token;
  const changed = currentUser?.id !== pair.user.id;
  currentUser = pair.user;
  if (changed) notify("login");
}

/** Forget the session here and in the other tabs of this browser. */
export async function endSession(reason = "logout") {
  const hadSession = Boolean(accessToken || currentUser);
  accessToken = null;
  currentUser = null;
  await clearToken();
  otherTabs.postMessage("ended");
  if (hadSession) notify(reason);
}

// Another tab logged out: so does this one.
otherTabs.addEventListener("message", (event) => {
  if (event.data !== "ended" || !currentUser) return;
  accessToken = null;
  currentUser = null;
  notify("logout");
});

async function readProblem(response) {
  const type = response.headers.get("Content-Type") || "";
  if (!type.includes("json")) return null;
  try {
    return await response.json();
  } catch {
    return null;
  }
}

async function send(method, path, { body, headers = {}, token } = {}) {
  const init = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  if (token) init.headers.Authorization = `Bearer ${token}`;
  try {
    return await fetch(`/api${path}`, init);
  } catch {
    throw new ApiError(0, { detail: "The server cannot be reached. Check your connection." });
  }
}

/** Rotate the refresh token. Concurrent callers share one request, and tabs take turns (Web
 * Locks) so that two of them never present the same token: a reused token ends the session. */
export function refresh() {
  if (!refreshing) {
    const run = () => rotate();
    const locked = navigator.locks ? navigator.locks.request("todo.refresh", run) : run();
    refreshing = locked.finally(() => {
      refreshing = null;
    });
  }
  return refreshing;
}

async function rotate() {
  const token = await readToken(); // read inside the lock: another tab may have rotated it
  if (!token) {
    await endSession("expired");
    throw new ApiError(401, { detail: "Please log in." });
  }
  const response = await send("POST", "/auth/refresh", { body: { refresh_token: token } });
  if (!response.ok) {
    const problem = await readProblem(response);
    if (response.status === 401 || response.status === 400) {
      await endSession("expired");
    }
    throw new ApiError(response.status, problem);
  }
  await accept(await response.json());
}

const SESSION_OVER = new Set(["session-ended", "invalid-token", "authentication-required"]);

/** An authenticated request. Without an access token (a reload), or on a 401 `token-expired`,
 * the session is refreshed once and the request retried once. Returns the Response. */
export async function request(method, path, options = {}) {
  if (!accessToken) await refresh();
  let usedToken = accessToken;
  let response = await send(method, path, { ...options, token: usedToken });
  if (response.status === 401) {
    const problem = await readProblem(response);
    if (problem?.type === `${PROBLEM_BASE}token-expired`) {
      // Another request may have refreshed meanwhile: then its new token is enough.
      if (accessToken === usedToken) await refresh();
      usedToken = accessToken;
      response = await send(method, path, { ...options, token: usedToken });
      if (response.ok) return response;
      if (response.status !== 401) throw new ApiError(response.status, await readProblem(response));
      const again = await readProblem(response);
      if (SESSION_OVER.has(typeOf(again)) || typeOf(again) === "token-expired") {
        await endSession("expired");
      }
      throw new ApiError(401, again);
    }
    if (SESSION_OVER.has(typeOf(problem))) await endSession("expired");
    throw new ApiError(401, problem);
  }
  if (!response.ok) throw new ApiError(response.status, await readProblem(response));
  return response;
}

function typeOf(problem) {
  return problem?.type?.startsWith(PROBLEM_BASE) ? problem.type.slice(PROBLEM_BASE.length) : "";
}

/** `request` that returns the JSON body (or null for a 204). */
export async function call(method, path, options) {
  const response = await request(method, path, options);
  return response.status === 204 ? null : response.json();
}

/** A request that needs no session (register, login, password reset). */
export async function anonymous(method, path, body) {
  const response = await send(method, path, { body });
  if (!response.ok) throw new ApiError(response.status, await readProblem(response));
  return response.status === 204 || response.status === 202 ? null : response.json();
}

export async function register(fields) {
  await accept(await anonymous("POST", "/auth/register", fields));
}

export async function login(fields) {
  await accept(await anonymous("POST", "/auth/login", fields));
}

/** Resume a stored session after a reload; false when there is none (or it has ended). */
export async function resume() {
  if (!(await readToken())) return false;
  try {
    await refresh();
    return true;
  } catch (error) {
    if (error.status === 0) throw error; // offline: keep the token for a later try
    return false;
  }
}

/** Log out here and on the server. The refresh token goes along, so an expired access token
 * still ends the session; the local session ends whatever the server answers. */
export async function logout() {
  const token = await readToken();
  const bearer = accessToken;
  try {
    await send("POST", "/auth/logout", {
      body: token ? { refresh_token: token } : undefined,
      token: bearer,
    });
  } finally {
    await endSession("logout");
  }
}

export async function logoutEverywhere() {
  await request("POST", "/auth/logout-all");
  await endSession("logout");
}

export function setUser(updated) {
  currentUser = updated;
  notify("profile");
}
