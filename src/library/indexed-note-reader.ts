/**
 * The one gate between the doors and NOTES_DIR: a path is read only when the loaded index has it as
 * a note, and then only through `readNoteFile` (no traversal, no symlinks out). Everything else —
 * unknown, failed, outside the folder — is `undefined`, never an error that could say what exists.
 */
import { readNoteFile } from '../notes/read-note-file.ts';
import type { SearchableIndex } from '../vector-index/index-backend.ts';

export function indexedNoteReader(
  notesDir: string,
  current: () => { index: Pick<SearchableIndex, 'manifest'> } | undefined,
): (relativePath: string) => Promise<string | undefined> {
  return async (relativePath) => {
    const manifest = current()?.index.manifest;
    if (manifest === undefined || typeof relativePath !== 'string' || !Object.hasOwn(manifest.notes, relativePath)) return undefined;
    return readNoteFile(notesDir, relativePath);
  };
}
