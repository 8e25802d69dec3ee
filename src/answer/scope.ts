/**
 * Scoped questions (issue 15): which chunks a question may be answered from. A scope is a list of
 * note-path globs (relative to NOTES_DIR, matched with picomatch) and/or a list of tags; a chunk is
 * in scope when its note matches any glob (when globs are given) and has any of the tags, or a tag
 * nested under one (when tags are given). Retrieval applies the scope inside each search (BM25,
 * exact scan, HNSW filter), so a scoped question still gets its k best sources from the scope.
 */
import picomatch from 'picomatch';
import { normalizeTag, tagMatches } from '../notes/note-tags.ts';
import type { IndexedChunk } from '../vector-index/index-store.ts';

export interface ScopeFilter {
  /** Globs over note paths relative to NOTES_DIR (`projects/**`, `*.md`, `daily/2024-*.md`). */
  notes?: string[];
  /** Tags without `#`; `project` also selects `project/asknotes`. */
  tags?: string[];
}

/** The chunks of an index a question may use: `allows(row)` by label (= position in `chunks`). */
export interface RowScope {
  allows(row: number): boolean;
  /** How many rows are allowed. */
  size: number;
}

export const MAX_SCOPE_ENTRIES = 50;
export const MAX_GLOB_CHARS = 300;

/** Why a glob cannot be used, or undefined when it can (checked at the door, named in the 400). */
export function globProblem(glob: string): string | undefined {
  if (glob.trim() === '') return 'must not be empty';
  if (glob.length > MAX_GLOB_CHARS) return `must be at most ${MAX_GLOB_CHARS} characters`;
  if (glob.includes('\\') || glob.includes('\0')) return 'must use "/" between folders';
  if (glob.startsWith('/') || /^[A-Za-z]:/.test(glob)) return 'must be relative to the notes folder';
  if (glob.split('/').includes('..')) return 'must not contain ".."';
  try {
    picomatch.makeRe(glob);
  } catch (error) {
    return `is not a valid glob (${error instanceof Error ? error.message : String(error)})`;
  }
  return undefined;
}

/** A folder written as `projects/` means everything under it. */
function expandGlob(glob: string): string {
  return glob.endsWith('/') ? `${glob}**` : glob;
}

/** A note-path test for a scope, or undefined when the scope does not restrict notes. */
function notePredicate(filter: ScopeFilter): ((path: string) => boolean) | undefined {
  const globs = (filter.notes ?? []).map(expandGlob);
  if (globs.length === 0) return undefined;
  return picomatch(globs, { dot: false });
}

function tagPredicate(filter: ScopeFilter): ((tags: readonly string[]) => boolean) | undefined {
  const wanted = (filter.tags ?? []).map((tag) => normalizeTag(tag)).filter((tag) => tag !== undefined);
  if ((filter.tags ?? []).length === 0) return undefined;
  return (tags) => tags.some((tag) => wanted.some((want) => tagMatches(tag, want)));
}

/** Whether a scope restricts anything (empty lists restrict nothing). */
export function isScoped(filter: ScopeFilter | undefined): filter is ScopeFilter {
  return (filter?.notes ?? []).length > 0 || (filter?.tags ?? []).length > 0;
}

/** The rows of `chunks` in scope. Notes are judged once each, not once per chunk. */
export function scopeRows(chunks: readonly IndexedChunk[], filter: ScopeFilter): RowScope {
  const byNote = notePredicate(filter);
  const byTags = tagPredicate(filter);
  const noteVerdicts = new Map<string, boolean>();
  const mask = new Uint8Array(chunks.length);
  let size = 0;
  chunks.forEach((chunk, row) => {
    let verdict = noteVerdicts.get(chunk.note);
    if (verdict === undefined) {
      verdict = (byNote?.(chunk.note) ?? true) && (byTags?.(chunk.tags) ?? true);
      noteVerdicts.set(chunk.note, verdict);
    }
    if (verdict) {
      mask[row] = 1;
      size += 1;
    }
  });
  return { allows: (row) => mask[row] === 1, size };
}
