// @ts-check
/**
 * Whether the notes a saved conversation cites changed since (issue 15): the hash of each cited note
 * is recorded with the conversation when it is first cited, and compared with the index's hashes
 * (`GET /index/status?note=…`, for those notes only) when the conversation is opened again.
 */
import { apiFetch } from './api.js';

/** @typedef {import('./conversation-store.js').Conversation} Conversation */
/** @typedef {import('./conversation-store.js').SavedTurn} SavedTurn */

/** Notes per `/index/status?note=…` request (the server takes up to 100; URLs stay short). */
const NOTES_PER_REQUEST = 40;

/**
 * The hashes of the named notes, from `/index/status?note=a.md&note=b.md` (only those notes' lines,
 * not the whole index's: about 1 MB on a 7,424-note folder); a note not in the map is not indexed.
 * Null when they cannot be had.
 * @param {Iterable<string>} paths
 * @returns {Promise<Map<string, string> | null>}
 */
export async function indexedNoteHashes(paths) {
  const wanted = [...new Set(paths)];
  /** @type {Map<string, string>} */
  const hashes = new Map();
  try {
    for (let start = 0; start < wanted.length; start += NOTES_PER_REQUEST) {
      const query = new URLSearchParams(wanted.slice(start, start + NOTES_PER_REQUEST).map((path) => ['note', path]));
      const response = await apiFetch(`index/status?${query}`, { headers: { Accept: 'application/json' } });
      if (!response.ok) return null;
      /** @type {{ notes?: { path: string, hash: string | null }[] }} */
      const body = await response.json();
      for (const note of body.notes ?? []) if (note.hash !== null) hashes.set(note.path, note.hash);
    }
    return hashes;
  } catch {
    return null;
  }
}

/**
 * The notes the turns cite whose hash is not recorded yet.
 * @param {Record<string, string>} recorded
 * @param {SavedTurn[]} turns
 */
export function unrecordedCitedNotes(recorded, turns) {
  return new Set(turns.flatMap((turn) => turn.sources.filter((source) => turn.cited.includes(source.n) && recorded[source.note] === undefined).map((source) => source.note)));
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
