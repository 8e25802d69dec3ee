/**
 * Scoping by note: `{notes?: [glob…], tags?: [tag…]}` (SPEC "Additions": the `filter` of
 * `POST /ask`, and MCP `search_notes`/`list_notes`). Pure: a filter is resolved against the
 * indexed notes' paths and tags into the set of notes retrieval may use, so it applies inside
 * both halves of the hybrid search rather than after them.
 *
 * Globs are over paths relative to NOTES_DIR, "/"-separated: `*` and `?` stay within one path
 * segment, `**` spans segments (`day1/**`, `**\/compose.md`), everything else is literal.
 * A pattern without a wildcard also matches a folder of that name (`day1` = `day1/**`).
 */
import { z } from 'zod';

export interface NoteFilter {
  /** Globs over note paths; a note matching any of them is in scope. */
  notes?: string[] | undefined;
  /** Tags (front matter `tags`, without "#", any case); a note carrying any of them is in scope. */
  tags?: string[] | undefined;
}

export const MAX_FILTER_ENTRIES = 50;
const MAX_PATTERN_CHARS = 500;

const entry = (what: string) =>
  z
    .string({ error: `each ${what} must be a string` })
    .trim()
    .min(1, { error: `a ${what} must not be empty` })
    .max(MAX_PATTERN_CHARS, { error: `a ${what} must be at most ${MAX_PATTERN_CHARS} characters` })
    .refine((value) => !/[\u0000-\u001f\u007f\\]/.test(value), { error: `a ${what} must not contain control characters or backslashes` });

/** The smallest schema for a filter; shared by every door that accepts one. */
export const noteFilterSchema = z.strictObject(
  {
    notes: z.array(entry('note glob')).max(MAX_FILTER_ENTRIES, { error: `at most ${MAX_FILTER_ENTRIES} globs` }).optional(),
    tags: z
      .array(entry('tag').transform((tag) => tag.replace(/^#+/, '')))
      .max(MAX_FILTER_ENTRIES, { error: `at most ${MAX_FILTER_ENTRIES} tags` })
      .optional(),
  },
  {
    error: (issue) =>
      issue.code === 'unrecognized_keys'
        ? `has unknown field ${issue.keys.map((key) => `"${key.slice(0, 40)}"`).join(', ')}: a filter has "notes" (globs) and/or "tags"`
        : 'must be an object with "notes" (globs) and/or "tags"',
  },
);

/** A glob as a regular expression over a whole relative path. */
export function globToRegExp(glob: string): RegExp {
  const pattern = glob.replace(/^\.\//, '').replace(/\/+$/, '');
  let source = '';
  for (let at = 0; at < pattern.length; at++) {
    const char = pattern[at]!;
    if (char === '*' && pattern[at + 1] === '*') {
      // `**/` matches zero or more whole segments; a trailing `**` matches the rest.
      const slash = pattern[at + 2] === '/';
      source += slash ? '(?:[^/]*/)*' : '.*';
      at += slash ? 2 : 1;
    } else if (char === '*') source += '[^/]*';
    else if (char === '?') source += '[^/]';
    else source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  // A pattern without wildcards also names a folder: everything under it.
  const folder = /[*?]/.test(pattern) ? '' : '(?:/.*)?';
  return new RegExp(`^${source}${folder}$`);
}

export interface FilterableNote {
  path: string;
  tags: readonly string[];
}

/** A predicate for one filter; both fields given means both must hold. */
export function compileNoteFilter(filter: NoteFilter): (note: FilterableNote) => boolean {
  const globs = filter.notes?.map(globToRegExp);
  const tags = filter.tags === undefined ? undefined : new Set(filter.tags.map((tag) => tag.toLowerCase()));
  return (note) =>
    (globs === undefined || globs.some((glob) => glob.test(note.path))) &&
    (tags === undefined || note.tags.some((tag) => tags.has(tag.toLowerCase())));
}

/** True when the filter scopes nothing (absent, or with no field set). */
export function isEmptyFilter(filter: NoteFilter | undefined): boolean {
  return filter === undefined || (filter.notes === undefined && filter.tags === undefined);
}
