// @ts-check
/**
 * Saved conversations (issue 15), private to this browser: IndexedDB database `asknotes`, object store
 * `conversations` keyed by id. They survive reloads and server restarts (nothing is kept on the server).
 * Without IndexedDB (a private window that refuses it) the store lives in memory for this tab.
 */

/**
 * @typedef {import('./render-answer.js').Source} Source
 * @typedef {{
 *   question: string, answer: string, sources: Source[], cited: number[], answerable: boolean,
 *   state: 'done' | 'stopped' | 'error', notice?: string, error?: string
 * }} SavedTurn
 * @typedef {{
 *   id: string, title: string, createdAt: number, updatedAt: number,
 *   model: string | null, scope: string | null, turns: SavedTurn[],
 *   noteHashes: Record<string, string>
 * }} Conversation
 */

const DATABASE = 'asknotes';
const STORE = 'conversations';

/**
 * @template T
 * @param {IDBRequest<T>} request
 * @returns {Promise<T>}
 */
function done(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** @returns {Promise<IDBDatabase | null>} */
function openDatabase() {
  return new Promise((resolve) => {
    let request;
    try {
      request = indexedDB.open(DATABASE, 1);
    } catch {
      resolve(null);
      return;
    }
    request.onupgradeneeded = () => {
      if (!request.result.objectStoreNames.contains(STORE)) request.result.createObjectStore(STORE, { keyPath: 'id' });
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => resolve(null);
    request.onblocked = () => resolve(null);
  });
}

/**
 * @typedef {{
 *   list(): Promise<Conversation[]>,
 *   get(id: string): Promise<Conversation | undefined>,
 *   put(conversation: Conversation): Promise<void>,
 *   remove(id: string): Promise<void>,
 *   persistent: boolean
 * }} ConversationStore
 */

/** @returns {Promise<ConversationStore>} */
export async function openConversationStore() {
  const database = await openDatabase();
  /** @param {Conversation[]} all */
  const newestFirst = (all) => all.sort((a, b) => b.updatedAt - a.updatedAt);
  if (database === null) {
    /** @type {Map<string, Conversation>} */
    const memory = new Map();
    return {
      persistent: false,
      list: async () => newestFirst([...memory.values()].map((item) => structuredClone(item))),
      get: async (id) => structuredClone(memory.get(id)),
      put: async (conversation) => void memory.set(conversation.id, structuredClone(conversation)),
      remove: async (id) => void memory.delete(id),
    };
  }
  /** @param {IDBTransactionMode} mode */
  const store = (mode) => database.transaction(STORE, mode).objectStore(STORE);
  return {
    persistent: true,
    list: async () => newestFirst(/** @type {Conversation[]} */ (await done(store('readonly').getAll()))),
    get: async (id) => /** @type {Conversation | undefined} */ (await done(store('readonly').get(id))),
    put: async (conversation) => void (await done(store('readwrite').put(conversation))),
    remove: async (id) => void (await done(store('readwrite').delete(id))),
  };
}

/** A new, empty conversation (saved once it has a first question). @returns {Conversation} */
export function newConversation() {
  const now = Date.now();
  return { id: crypto.randomUUID(), title: '', createdAt: now, updatedAt: now, model: null, scope: null, turns: [], noteHashes: {} };
}

/** The title a conversation gets from its first question: one line, at most 80 characters. @param {string} question */
export function titleFrom(question) {
  const line = question.replace(/\s+/g, ' ').trim();
  return line.length > 80 ? `${line.slice(0, 79)}…` : line;
}

const OPEN_KEY = 'asknotes.currentConversation';

/** Remembers which conversation is open (null: none), so a reload reopens it. @param {string | null} id */
export function rememberOpenConversation(id) {
  try {
    if (id === null) localStorage.removeItem(OPEN_KEY);
    else localStorage.setItem(OPEN_KEY, id);
  } catch {
    /* storage disabled */
  }
}

/** The conversation open before the reload, if any. @returns {string | null} */
export function lastOpenConversation() {
  try {
    return localStorage.getItem(OPEN_KEY);
  } catch {
    return null; // storage disabled
  }
}
