// @ts-check
/**
 * Whether the notes a saved conversation cites changed since (issue 15): the hash of each cited note
 * is recorded with the conversation when it is first cited, and compared with the index's hashes
 * (`GET /index/status`) when the conversation is opened again.
 */
import { apiFetch } from './api.js';

/** @typedef {import('./conversation-store.js').Conversation} Conversation */
/** @typedef {import('./conversation-store.js').SavedTurn} SavedTurn */

/** The hash of every indexed note, from `/index/status`; null when it cannot be had. @returns {Promise<Map<string, string> | null>} */
export async function indexedNoteHashes() {
  try {
    const response = await apiFetch('index/status', { headers: { Accept: 'application/json' } });
    if (!response.ok) return null;
    /** @type {{ notes?: { path: string, hash: string | null }[] }} */
    const body = await response.json();
    return new Map((body.notes ?? []).filter((note) => note.hash !== null).map((note) => [note.path, /** @type {string} */ (note.hash)]));
  } catch {
    return null;
  }
}

/**
 * Records the hash of each note the turns cite, as first cited (a later citation keeps the first hash).
 * @param {Record<string, string>} recorded the conversation's `noteHashes`, updated in place
 * @param {SavedTurn[]} turns
 * @param {Map<string, string>} hashes
 */
export function recordCitedHashes(recorded, turns, hashes) {
  for (const turn of turns) {
    for (const source of turn.sources) {
      if (!turn.cited.includes(source.n) || recorded[source.note] !== undefined) continue;
      const hash = hashes.get(source.note);
      if (hash !== undefined) recorded[source.note] = hash;
    }
  }
}

/**
 * The cited notes that changed since, in words: "a.md (edited)", "b.md (no longer indexed)".
 * @param {Record<string, string>} recorded
 * @param {Map<string, string>} hashes
 */
export function changedCitedNotes(recorded, hashes) {
  return Object.entries(recorded)
    .filter(([path, hash]) => hashes.get(path) !== hash)
    .map(([path]) => `${path} (${hashes.has(path) ? 'edited' : 'no longer indexed'})`);
}
