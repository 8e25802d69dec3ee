/**
 * `GET /notes/<relative path>`: the raw text of an indexed note, for citation links. The URL is
 * decoded exactly once, here, and anything that could step outside NOTES_DIR is refused before
 * `readNote` (the real gate: it serves only notes in the index) is asked. Every refusal is a plain
 * 404, so probing learns nothing about what exists outside the notes.
 */
import type { RequestHandler } from 'express';
import { AppError } from '../errors.ts';

const MAX_NOTE_URL_CHARS = 1024;

/**
 * The note path asked for by the still-encoded part of the URL after `/notes/`, or undefined
 * when it is malformed or could only be an attempt to leave NOTES_DIR.
 */
export function notePathFromUrl(encodedPath: string): string | undefined {
  if (encodedPath === '' || encodedPath.length > MAX_NOTE_URL_CHARS) return undefined;
  let path: string;
  try {
    path = decodeURIComponent(encodedPath);
  } catch {
    // Malformed percent-encoding is a bad link, not a server error.
    return undefined;
  }
  // NUL truncates paths in C-level file APIs; backslashes are separators on Windows.
  if (/[\u0000-\u001f\u007f\\]/.test(path)) return undefined;
  // Absolute paths, POSIX or Windows drive (`C:`).
  if (path.startsWith('/') || /^[a-z]:/i.test(path)) return undefined;
  // `..`, `.`, empty segments, and hidden files or folders (never indexed anyway).
  if (path.split('/').some((segment) => segment === '' || segment.startsWith('.'))) return undefined;
  // Still-encoded dots, slashes or NULs after one decode means it was double-encoded on purpose.
  if (/%(2e|2f|5c|00)/i.test(path)) return undefined;
  return path;
}

export function notesRoute(readNote: (relativePath: string) => Promise<string | undefined>): RequestHandler {
  return async (req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    // Mounted at /notes, so req.url is the raw remainder ("/day1/compose.md?x"), not yet decoded.
    const encoded = (req.url.split('?')[0] ?? '').replace(/^\//, '');
    const path = notePathFromUrl(encoded);
    const text = path === undefined ? undefined : await readNote(path);
    if (text === undefined) throw new AppError('not_found', 'No such note in the index.');
    res.setHeader('Content-Type', 'text/plain; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache');
    // Stricter than the page's policy: a note opened on its own can run nothing, even if sniffed as HTML.
    res.setHeader('Content-Security-Policy', "default-src 'none'; sandbox");
    res.send(text);
  };
}
