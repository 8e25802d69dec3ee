/**
 * Pure: what changed in the notes folder since an index was written, the same for every backend
 * (files: the manifest's notes; Postgres: the notes table). A note is unchanged when its bytes
 * (hash) and its title are; failures count too, since `/index/status` reports them.
 */
import type { NoteFailure } from '../notes/load-notes.ts';

/** What an index remembers of a note. */
export interface IndexedNoteEntry {
  hash: string;
  title: string;
}

/** What the diff reads of a note now. */
export interface NoteIdentity {
  path: string;
  hash: string;
  title: string;
}

export interface NoteDiff<Note extends NoteIdentity> {
  /** New notes and notes whose bytes or title changed, in the order given. */
  changed: Note[];
  /** Paths the index holds that are no longer in the folder, in the index's order. */
  deleted: string[];
  /** Whether the set of failed notes (path and reason) differs. */
  failuresChanged: boolean;
  /** Nothing to write: no note changed or went, and the same notes fail for the same reasons. */
  same: boolean;
}

export function noteUnchanged(before: IndexedNoteEntry | undefined, note: NoteIdentity): boolean {
  return before !== undefined && before.hash === note.hash && before.title === note.title;
}

function failureKey(failures: readonly NoteFailure[]): string {
  return failures
    .map((failure) => `${failure.path}\0${failure.reason}`)
    .sort()
    .join('\n');
}

export function diffNotes<Note extends NoteIdentity>(
  before: ReadonlyMap<string, IndexedNoteEntry>,
  notes: readonly Note[],
  failuresBefore: readonly NoteFailure[],
  failuresNow: readonly NoteFailure[],
): NoteDiff<Note> {
  const changed = notes.filter((note) => !noteUnchanged(before.get(note.path), note));
  const present = new Set(notes.map((note) => note.path));
  const deleted = [...before.keys()].filter((path) => !present.has(path));
  const failuresChanged = failureKey(failuresBefore) !== failureKey(failuresNow);
  return { changed, deleted, failuresChanged, same: changed.length === 0 && deleted.length === 0 && !failuresChanged };
}
