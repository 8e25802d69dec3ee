/**
 * Scoped questions (issue 15): which chunks a question may be answered from. A scope is a list of
 * note-path globs (relative to NOTES_DIR, matched with picomatch) and/or a list of tags; a chunk is
 * in scope when its note matches any glob (when globs are given) and has any of the tags, or a tag
 * nested under one (when tags are given). Retrieval applies the scope inside each search (BM25,
 * exact scan, HNSW filter; the index backend judges notes with `vector-index/scope-rows.ts`), so a
 * scoped question still gets its k best sources from the scope. Here: what the door checks.
 */
import picomatch from 'picomatch';
import type { ScopeFilter } from '../vector-index/scope-rows.ts';

export type { ScopeFilter } from '../vector-index/scope-rows.ts';

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

/** Whether a scope restricts anything (empty lists restrict nothing). */
export function isScoped(filter: ScopeFilter | undefined): filter is ScopeFilter {
  return (filter?.notes ?? []).length > 0 || (filter?.tags ?? []).length > 0;
}
