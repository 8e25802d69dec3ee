/** The only reader of NOTES_DIR. Never writes to it. (Implementation: see issue 2.) */

export interface Note {
  /** Path relative to NOTES_DIR, with forward slashes, e.g. "day1/compose.md". */
  path: string;
  /** Front matter `title`, else the first `# heading`, else the file name without extension. */
  title: string;
  tags: string[];
  /** The decoded file text (BOM removed, line endings as in the file). */
  text: string;
  /** sha256 of the raw file bytes, hex. */
  hash: string;
}

export interface NoteFailure {
  path: string;
  reason: string;
}

export interface LoadedNotes {
  notes: Note[];
  failures: NoteFailure[];
}
