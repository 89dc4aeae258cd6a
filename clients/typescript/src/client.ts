// Every operation of the Todo API called through openapi-fetch with the types openapi-typescript
// generates from the committed openapi.json (`npm run check`). If the document changes shape,
// this file stops compiling: a path, a field, a parameter or a status that a front end relies on.
import createClient from "openapi-fetch";
import type { components, operations, paths } from "./schema";

type Task = components["schemas"]["TaskRead"];
type TokenPair = components["schemas"]["TokenPairRead"];
type Problem = components["schemas"]["Problem"];

export function todoApi(baseUrl: string, accessToken?: string) {
  return createClient<paths>({
    baseUrl,
    headers: accessToken ? { Authorization: `Bearer ${accessToken}` } : {},
  });
}

type Api = ReturnType<typeof todoApi>;

function explain(problem: Problem): string {
  const fields = (problem.errors ?? []).map((e) => `${e.field} ${e.message}`);
  return [problem.title, problem.detail, ...fields].join("; ");
}

export async function signUp(api: Api): Promise<TokenPair> {
  const { data, error } = await api.POST("/api/v1/auth/register", {
    body: { email: "ada@example.com", password: "analytical engine", name: "Ada" },
  });
  if (error) throw new Error(explain(error));
  return data;
}

export async function accountFlow(api: Api, pair: TokenPair): Promise<void> {
  await api.POST("/api/v1/auth/login", {
    body: { email: pair.user.email, password: "analytical engine" },
  });
  const refreshed = await api.POST("/api/v1/auth/refresh", {
    body: { refresh_token: pair.refresh_token },
  });
  const expiresIn: number | undefined = refreshed.data?.expires_in;
  const me = await api.GET("/api/v1/auth/me");
  const name: string | null | undefined = me.data?.name;
  await api.GET("/api/v1/auth/profile");
  await api.PATCH("/api/v1/auth/me", { body: { name: null } });
  await api.PUT("/api/v1/auth/profile", {
    body: { email: "lovelace@example.com", current_password: "analytical engine" },
  });
  await api.POST("/api/v1/auth/password", {
    body: { current_password: "analytical engine", new_password: "difference engine" },
  });
  await api.POST("/api/v1/auth/password-reset", { body: { email: "ada@example.com" } });
  await api.POST("/api/v1/auth/password-reset/confirm", {
    body: { token: "from-the-email", new_password: "difference engine no. 2" },
  });
  await api.POST("/api/v1/auth/logout", {}); // the body is optional
  await api.POST("/api/v1/auth/logout", { body: { refresh_token: pair.refresh_token } });
  await api.POST("/api/v1/auth/logout-all");
  await api.DELETE("/api/v1/auth/me", { body: { password: "difference engine" } });
  void expiresIn;
  void name;
}

export async function taskFlow(api: Api): Promise<Task[]> {
  const created = await api.POST("/api/v1/tasks", {
    body: { title: "Buy milk", priority: "high", due_date: "2026-03-01", tags: ["errands"] },
  });
  if (created.error) throw new Error(explain(created.error));
  const task: Task = created.data;
  const etag = created.response.headers.get("ETag") ?? "*";
  const path = { task_id: task.id };

  await api.GET("/api/v1/tasks/{task_id}", { params: { path } });
  const patched = await api.PATCH("/api/v1/tasks/{task_id}", {
    params: { path, header: { "If-Match": etag } },
    body: { description: null, starred: true, category: "work" },
  });
  const version: number | undefined = patched.data?.version;
  await api.PUT("/api/v1/tasks/{task_id}", { params: { path }, body: { title: "Buy oat milk" } });
  await api.PATCH("/api/v1/tasks/{task_id}/complete", { params: { path } }); // toggles
  await api.PATCH("/api/v1/tasks/{task_id}/complete", { params: { path }, body: { completed: true } });

  const page = await api.GET("/api/v1/tasks", {
    params: {
      query: {
        status: "pending",
        priority: ["high", "medium"],
        tag: ["errands"],
        due_before: "2026-12-31",
        sort: "-due_date",
        limit: 50,
      },
    },
  });
  const total = Number(page.response.headers.get("X-Total-Count"));
  const next = page.response.headers.get("Link");

  await api.DELETE("/api/v1/tasks/{task_id}", { params: { path, header: { "If-Match": etag } } });
  const cleared = await api.DELETE("/api/v1/tasks", { params: { query: { status: "completed" } } });
  const deleted: number | undefined = cleared.data?.deleted;
  void version;
  void total;
  void next;
  void deleted;
  return page.data ?? [];
}

export async function serviceFlow(api: Api): Promise<boolean> {
  const health = await api.GET("/health");
  const ready = await api.GET("/health/ready");
  return health.data?.status === "ok" && ready.response.ok;
}

// Every operationId of the document, each named where it is called above: a new operation
// makes this fail to compile until a call to it is added.
export const calledOperations = {
  register: true,
  logIn: true,
  refreshSession: true,
  getCurrentUser: true,
  getProfile: true,
  updateCurrentUser: true,
  updateProfile: true,
  changePassword: true,
  requestPasswordReset: true,
  confirmPasswordReset: true,
  logOut: true,
  logOutEverywhere: true,
  deleteAccount: true,
  createTask: true,
  getTask: true,
  updateTask: true,
  putTask: true,
  completeTask: true,
  listTasks: true,
  deleteTask: true,
  clearCompletedTasks: true,
  getHealth: true,
  getReadiness: true,
} as const satisfies Record<keyof operations, true>;
