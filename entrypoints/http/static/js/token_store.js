// Where the refresh token lives between page loads: IndexedDB, shared by the tabs of this
// browser. Not localStorage: Chromium hands a localStorage write to another tab's process late,
// so a tab taking its turn to refresh could still read the token another tab has just rotated,
// and presenting a rotated token ends the session. An IndexedDB transaction started after
// another tab's write has committed always sees that write. (README: "Where the tokens live".)

const DATABASE = "todo";
const STORE = "session";
const KEY = "refresh_token";

let opening = null;
let available = true;
let fallback = null; // where IndexedDB is unavailable: this tab only, gone on reload

function open() {
  opening ??= new Promise((resolve, reject) => {
    const request = indexedDB.open(DATABASE, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  return opening;
}

async function transact(mode, work) {
  let database;
  try {
    database = await open();
  } catch {
    available = false;
    return null;
  }
  return new Promise((resolve, reject) => {
    const transaction = database.transaction(STORE, mode);
    const request = work(transaction.objectStore(STORE));
    transaction.oncomplete = () => resolve(request.result ?? null); // committed: others see it
    transaction.onerror = () => reject(transaction.error);
    transaction.onabort = () => reject(transaction.error);
  });
}

export async function readToken() {
  const stored = await transact("readonly", (store) => store.get(KEY));
  return available ? stored : fallback;
}

export async function writeToken(token) {
  fallback = token;
  await transact("readwrite", (store) => store.put(token, KEY));
}

export async function clearToken() {
  fallback = null;
  await transact("readwrite", (store) => store.delete(KEY));
}
