/**
 * MCP clients that list the `notes://` resources are told when that list changes
 * (`notifications/resources/list_changed`, which the SDK's McpServer declares with `listChanged`):
 * a note added, removed or renamed, or the first index build finishing. The library is polled —
 * listing is an in-memory walk of the served index — and a change is the list of paths and titles
 * differing from the last look; the first look only records it.
 */
import type { NotesLibrary } from '../../library/notes-library.ts';

/** How often the note list is compared while a client is connected. */
export const NOTE_LIST_POLL_MS = 2_000;

export interface NoteListFollower {
  /** Looks now (the poll calls it); resolves once any change was announced. */
  check(): Promise<void>;
  close(): void;
}

/** The list as a comparable string; empty while the index is not ready (it has no notes to list yet). */
async function signature(library: NotesLibrary): Promise<string> {
  try {
    return (await library.list()).map((note) => `${note.path}\u0000${note.title}`).join('\u0001');
  } catch {
    return '';
  }
}

export function followNoteList(library: NotesLibrary, announce: () => void, pollMs = NOTE_LIST_POLL_MS): NoteListFollower {
  let last: string | undefined;
  let looking: Promise<void> | undefined;
  const check = (): Promise<void> => {
    looking ??= (async () => {
      const now = await signature(library);
      if (last !== undefined && now !== last) announce();
      last = now;
    })().finally(() => (looking = undefined));
    return looking;
  };
  void check();
  const timer = setInterval(() => void check(), pollMs);
  timer.unref();
  return { check, close: () => clearInterval(timer) };
}
