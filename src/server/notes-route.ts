/**
 * `GET /notes/<relative path>`: the raw text of an indexed note, for citation links. The URL is
 * decoded exactly once, here, and anything that could step outside NOTES_DIR is refused before
 * `readNote` (the real gate: it serves only notes in the index) is asked. Every refusal is a plain
 * 404, so probing learns nothing about what exists outside the notes.
 */
import type { RequestHandler, Response } from 'express';
import { AppError } from '../errors.ts';
import type { NoteFiles } from '../notes/note-files.ts';

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

/** `?page=N`: a page number, or undefined when absent; a malformed one is a bad request. */
function pageParameter(query: URLSearchParams): number | undefined {
  const raw = query.get('page');
  if (raw === null) return undefined;
  if (!/^[1-9]\d{0,5}$/.test(raw)) throw new AppError('invalid_request', '`page` must be a page number (1, 2, …).');
  return Number(raw);
}

function sendText(res: Response, text: string): void {
  res.setHeader('Content-Type', 'text/plain; charset=utf-8');
  res.setHeader('Cache-Control', 'no-cache');
  // Stricter than the page's policy: a note opened on its own can run nothing, even if sniffed as HTML.
  res.setHeader('Content-Security-Policy', "default-src 'none'; sandbox");
  res.send(text);
}

/**
 * `readNote` serves a note's text. With `files`: `<file>.pdf` serves the PDF and `?page=N` that
 * page's text (the lines its citations count), and `?links` a Markdown note's wikilinks as JSON.
 */
export function notesRoute(readNote: (relativePath: string) => Promise<string | undefined>, files?: NoteFiles): RequestHandler {
  return async (req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    // Mounted at /notes, so req.url is the raw remainder ("/day1/compose.md?x"), not yet decoded.
    const [encodedPath = '', search = ''] = req.url.split('?', 2);
    const path = notePathFromUrl(encodedPath.replace(/^\//, ''));
    const query = new URLSearchParams(search);
    const notFound = new AppError('not_found', 'No such note in the index.');
    if (path === undefined) throw notFound;
    if (files !== undefined && /\.pdf$/i.test(path)) {
      const page = pageParameter(query);
      if (page !== undefined) {
        const text = await files.pdfPage(path, page);
        if (text === undefined) throw new AppError('not_found', 'No such page of a note in the index.');
        return sendText(res, text);
      }
      const bytes = await files.pdf(path);
      if (bytes === undefined) throw notFound;
      res.setHeader('Content-Type', 'application/pdf');
      res.setHeader('Cache-Control', 'no-cache');
      res.setHeader('Content-Disposition', `inline; filename*=UTF-8''${encodeURIComponent(path.split('/').pop() ?? 'note.pdf')}`);
      res.setHeader('Content-Security-Policy', "default-src 'none'; object-src 'self'; frame-ancestors 'self'");
      res.send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      return;
    }
    if (files !== undefined && query.has('links')) {
      const links = await files.links(path);
      if (links === undefined) throw notFound;
      res.setHeader('Cache-Control', 'no-cache');
      res.json({ note: path, links });
      return;
    }
    const text = await readNote(path);
    if (text === undefined) throw notFound;
    sendText(res, text);
  };
}
