/**
 * Reads one note for `GET /notes/<path>` (citation links). Everything that could reach outside the
 * notes folder resolves to `undefined` (the route answers 404): traversal, absolute paths, drive
 * letters, backslashes, NUL bytes, hidden or `node_modules` segments, other extensions, folders,
 * and symlinks whose real path is outside the folder (both sides go through `realpath`).
 * The server additionally checks that the path is an indexed note.
 */
import { realpath } from 'node:fs/promises';
import { resolve } from 'node:path';
import { MAX_NOTE_BYTES, isNotePath, readNoteBytes } from './load-notes.ts';

/**
 * The note's text (decoded UTF-8, BOM removed, line endings as in the file), or undefined.
 * `relativePath` is the already URL-decoded path, "/"-separated.
 */
export async function readNoteFile(notesDir: string, relativePath: string): Promise<string | undefined> {
  // `isNotePath` rejects "", "..", ".", hidden segments, "\\", NUL, "/abs" and "C:"-style paths.
  if (typeof relativePath !== 'string' || relativePath.length > 4096 || !isNotePath(relativePath)) return undefined;
  let root: string;
  try {
    root = await realpath(resolve(notesDir));
  } catch {
    return undefined;
  }
  const bytes = await readNoteBytes(root, relativePath, MAX_NOTE_BYTES);
  if (typeof bytes === 'string') return undefined;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}
