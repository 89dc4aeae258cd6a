// What the list and the editor both need to know about a task's fields.

/** "a, B ,,c" → ["a", "B", "c"] (the server lower-cases and removes duplicates). */
export function splitTags(text) {
  return String(text || "")
    .split(",")
    .map((tag) => tag.trim())
    .filter(Boolean);
}

/** Today's date where the person is, as the API writes dates (YYYY-MM-DD). */
export function today() {
  const now = new Date();
  const pad = (n) => String(n).padStart(2, "0");
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}`;
}

/** "overdue", "today", "later" or "" (no due date, or done). */
export function dueState(task) {
  if (!task.due_date || task.completed) return "";
  const now = today();
  if (task.due_date < now) return "overdue";
  return task.due_date === now ? "today" : "later";
}

export function formatDate(isoDate) {
  const [year, month, day] = isoDate.split("-").map(Number);
  const date = new Date(year, month - 1, day);
  const options = { month: "short", day: "numeric", weekday: "short" };
  if (year !== new Date().getFullYear()) options.year = "numeric";
  return date.toLocaleDateString(undefined, options);
}

/** The writable fields of a task: what an undo sends to create it again. */
export function taskFields(task) {
  const { title, description, due_date, priority, starred, completed, tags, category } = task;
  return { title, description, due_date, priority, starred, completed, tags, category };
}
