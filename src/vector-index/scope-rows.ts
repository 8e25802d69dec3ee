/**
 * Which chunks of an index a scope (issue 15: note-path globs and/or tags) selects. A chunk is in
 * scope when its note matches any glob (when globs are given) and has any of the tags, or a tag
 * nested under one (when tags are given). Both index backends judge notes with these predicates.
 */
import picomatch from 'picomatch';
import { normalizeTag, tagMatches } from '../notes/note-tags.ts';
import type { IndexedChunk } from './indexed-chunk.ts';

export interface ScopeFilter {
  /** Globs over note paths relative to NOTES_DIR (`projects/**`, `*.md`, `daily/2024-*.md`). */
  notes?: string[];
  /** Tags without `#`; `project` also selects `project/asknotes`. */
  tags?: string[];
}

/** The chunks of a files-backend index a question may use: `allows(row)` by label (= position in `chunks`). */
export interface RowScope {
  allows(row: number): boolean;
  /** How many rows are allowed. */
  size: number;
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

/** Whether a note (its path and tags) is in scope. */
export function noteInScope(filter: ScopeFilter): (path: string, tags: readonly string[]) => boolean {
  const byNote = notePredicate(filter);
  const byTags = tagPredicate(filter);
  return (path, tags) => (byNote?.(path) ?? true) && (byTags?.(tags) ?? true);
}

/** The rows of `chunks` in scope. Notes are judged once each, not once per chunk. */
export function scopeRows(chunks: readonly IndexedChunk[], filter: ScopeFilter): RowScope {
  const inScope = noteInScope(filter);
  const noteVerdicts = new Map<string, boolean>();
  const mask = new Uint8Array(chunks.length);
  let size = 0;
  chunks.forEach((chunk, row) => {
    let verdict = noteVerdicts.get(chunk.note);
    if (verdict === undefined) {
      verdict = inScope(chunk.note, chunk.tags);
      noteVerdicts.set(chunk.note, verdict);
    }
    if (verdict) {
      mask[row] = 1;
      size += 1;
    }
  });
  return { allows: (row) => mask[row] === 1, size };
}
