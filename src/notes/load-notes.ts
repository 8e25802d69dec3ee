/**
 * The only reader of NOTES_DIR. Never writes to it: every file is opened read-only.
 *
 * Which files are notes: `.md`, `.markdown`, `.txt`, `.pdf` (any case) under the folder, recursively,
 * except anything whose path has a segment starting with "." or named `node_modules`.
 * Symlinks: a symlinked *file* is read when it resolves inside the folder; a symlinked *folder* is
 * never followed (its notes, when inside, are already read at their real path; this also rules out
 * loops); a symlink resolving outside the folder is reported as a failure and not followed.
 * A file that cannot become a note (unreadable, too large, not UTF-8, binary) is a `NoteFailure`
 * with a reason, never an exception: one bad file must not stop the rest from being indexed.
 */
import { createHash } from 'node:crypto';
import { constants, type Dirent } from 'node:fs';
import { access, open, readdir, realpath, stat } from 'node:fs/promises';
import { basename, extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { firstLevelOneHeading, splitFrontMatter } from './markdown-facts.ts';
import { describeNotesFolderError, errorCode, FolderProblem } from './folder-problem.ts';
import { noteTags } from './note-tags.ts';
import { readPdf } from './read-pdf.ts';
import { frontMatterAliases } from './vault-syntax.ts';

export interface Note {
  /** Path relative to NOTES_DIR, with forward slashes, e.g. "day1/compose.md". */
  path: string;
  /** Front matter `title`, else the first `# heading`, else the file name without extension. */
  title: string;
  /** Front matter `tags` and inline `#tags`, lower case, each once (`note-tags.ts`). */
  tags: string[];
  /**
   * The decoded file text (BOM removed, line endings as in the file). Front matter, when present,
   * is still at the top so that line numbers match the file; the chunker skips it.
   */
  text: string;
  /** sha256 of the raw file bytes, hex. */
  hash: string;
  /** Problems that did not stop the note from loading, e.g. front matter that is not valid YAML. */
  warnings?: string[];
  /** Front matter `aliases`: other names of this note (vault-syntax.ts). */
  aliases?: string[];
  /** A PDF's text, one string per page (`text` is then the pages joined); chunked page by page. */
  pages?: string[];
}

export interface NoteFailure {
  path: string;
  reason: string;
}

export interface LoadedNotes {
  notes: Note[];
  failures: NoteFailure[];
}

export const NOTE_EXTENSIONS: readonly string[] = ['.md', '.markdown', '.txt', '.pdf'];

/** Larger files are skipped with a reason: notes are hand-written; a 5 MiB "note" is a dump or an accident. */
export const MAX_NOTE_BYTES = 5 * 1024 * 1024;
/** PDFs carry fonts and images besides their text: a book or a slide deck is often tens of MiB. */
export const MAX_PDF_BYTES = 200 * 1024 * 1024;

/** True for a path or file name ending in `.pdf` (any case). */
export function isPdfPath(path: string): boolean {
  return extname(path).toLowerCase() === '.pdf';
}

export interface LoadNotesOptions {
  maxBytes?: number;
  signal?: AbortSignal;
}

/** True for a file name with a note extension (`.md`, `.markdown`, `.txt`, any case). */
export function isNoteFileName(name: string): boolean {
  return NOTE_EXTENSIONS.includes(extname(name).toLowerCase());
}

/** Hidden files and folders and `node_modules` are never notes (for watchers' ignore rules too). */
export function isIgnoredName(name: string): boolean {
  return name.startsWith('.') || name === 'node_modules';
}

/**
 * True when a relative, "/"-separated path could name a note: no empty, "." or ".." segments,
 * no hidden or `node_modules` segments, a note extension. Purely textual; no file system access.
 */
export function isNotePath(relativePath: string): boolean {
  if (relativePath === '' || relativePath.includes('\\') || relativePath.includes('\0')) return false;
  if (relativePath.startsWith('/') || /^[A-Za-z]:/.test(relativePath)) return false;
  const segments = relativePath.split('/');
  if (segments.some((segment) => segment === '' || isIgnoredName(segment))) return false;
  return isNoteFileName(segments[segments.length - 1] ?? '');
}

/** True when `target` (a real path) lies strictly inside `root` (a real path). */
export function isInside(root: string, target: string): boolean {
  const path = relative(root, target);
  return path !== '' && path !== '..' && !path.startsWith(`..${sep}`) && !isAbsolute(path);
}

/**
 * Checks that NOTES_DIR is a readable folder, throwing a FolderProblem in plain words when it is
 * not; run before anything is written, so a bad NOTES_DIR leaves no index folder behind.
 */
export async function checkNotesFolder(notesDir: string): Promise<void> {
  await notesRoot(notesDir);
}

/** The real path of the notes folder; a missing folder is a configuration error, so it throws. */
async function notesRoot(notesDir: string): Promise<string> {
  const root = resolve(notesDir);
  let real: string;
  try {
    real = await realpath(root);
    if (!(await stat(real)).isDirectory()) throw describeNotesFolderError('ENOTDIR', root);
    // A folder the user cannot list would otherwise look like an empty vault.
    await access(real, constants.R_OK | constants.X_OK);
  } catch (error) {
    if (error instanceof FolderProblem) throw error;
    throw describeNotesFolderError(errorCode(error), root, error);
  }
  return real;
}

interface Listing {
  /** Relative "/" paths of note files, sorted. */
  files: string[];
  failures: NoteFailure[];
}

async function walk(root: string, signal?: AbortSignal): Promise<Listing> {
  const files: string[] = [];
  const failures: NoteFailure[] = [];

  async function visit(directory: string, prefix: string): Promise<void> {
    signal?.throwIfAborted();
    let entries: Dirent[];
    try {
      entries = await readdir(directory, { withFileTypes: true });
    } catch (error) {
      if (prefix === '') throw error;
      failures.push({ path: prefix, reason: `the folder cannot be read (${describeError(error)})` });
      return;
    }
    for (const entry of entries) {
      if (isIgnoredName(entry.name)) continue;
      const path = prefix === '' ? entry.name : `${prefix}/${entry.name}`;
      const absolute = join(directory, entry.name);
      if (entry.isDirectory()) {
        await visit(absolute, path);
      } else if (entry.isSymbolicLink()) {
        const failure = await checkSymlink(root, absolute, path, entry.name);
        if (failure === 'note') files.push(path);
        else if (failure !== undefined) failures.push(failure);
      } else if (isNoteFileName(entry.name)) {
        if (entry.isFile()) files.push(path);
        else failures.push({ path, reason: 'not a regular file (a pipe, socket or device); skipped' });
      }
    }
  }

  await visit(root, '');
  files.sort(byPath);
  return { files, failures };
}

/** 'note' when the link is a note to read; a failure to report; undefined to skip it silently. */
async function checkSymlink(
  root: string,
  absolute: string,
  path: string,
  name: string,
): Promise<'note' | NoteFailure | undefined> {
  let target: string;
  try {
    target = await realpath(absolute);
  } catch (error) {
    return isNoteFileName(name) ? { path, reason: `broken symlink (${describeError(error)}); skipped` } : undefined;
  }
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(target)).isDirectory();
  } catch {
    return undefined;
  }
  if (!isInside(root, target)) {
    if (!isDirectory && !isNoteFileName(name)) return undefined;
    return { path, reason: 'symlink pointing outside the notes folder; not followed' };
  }
  // Folder links inside the folder would only repeat notes already read at their real paths (or loop).
  if (isDirectory || !isNoteFileName(name)) return undefined;
  if (relative(root, target).split(sep).some(isIgnoredName)) {
    return { path, reason: 'symlink pointing to a hidden or node_modules file; not followed' };
  }
  return 'note';
}

/** Every note file under the folder (see the module comment), relative "/" paths, sorted. */
export async function listNoteFiles(notesDir: string): Promise<string[]> {
  return (await walk(await notesRoot(notesDir))).files;
}

/** Reads and parses every note; failures are collected, never thrown. Sorted by path. */
export async function loadNotes(notesDir: string, options: LoadNotesOptions = {}): Promise<LoadedNotes> {
  const root = await notesRoot(notesDir);
  const listing = await walk(root, options.signal);
  const notes: Note[] = [];
  const failures = [...listing.failures];
  // A few reads in flight: enough to hide latency without opening hundreds of files at once.
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < listing.files.length) {
      const path = listing.files[next];
      next += 1;
      if (path === undefined) break;
      options.signal?.throwIfAborted();
      const result = await readNote(root, path, options.maxBytes ?? MAX_NOTE_BYTES);
      if ('reason' in result) failures.push(result);
      else notes.push(result);
    }
  };
  await Promise.all(Array.from({ length: Math.min(8, listing.files.length) }, worker));
  notes.sort(byPath);
  failures.sort(byPath);
  return { notes, failures };
}

/**
 * Loads one note by its relative path (for a watcher reacting to one change): the same rules as
 * `loadNotes`, including the path and symlink checks. A failure is returned, not thrown.
 */
export async function loadNote(
  notesDir: string,
  relativePath: string,
  options: LoadNotesOptions = {},
): Promise<Note | NoteFailure> {
  if (!isNotePath(relativePath)) return { path: relativePath, reason: 'not a note path (hidden, outside or wrong extension)' };
  const root = await notesRoot(notesDir);
  return readNote(root, relativePath, options.maxBytes ?? MAX_NOTE_BYTES);
}

async function readNote(root: string, path: string, maxBytes: number): Promise<Note | NoteFailure> {
  const pdf = isPdfPath(path);
  const read = await readNoteBytes(root, path, pdf ? Math.max(maxBytes, MAX_PDF_BYTES) : maxBytes);
  if (typeof read === 'string') return { path, reason: read };
  return pdf ? parsePdfNote(path, read) : parseNote(path, read);
}

/** Bytes of a PDF to a Note with its pages' text, or the reason there is none (`read-pdf.ts`). */
export async function parsePdfNote(path: string, bytes: Uint8Array, signal?: AbortSignal): Promise<Note | NoteFailure> {
  const hash = createHash('sha256').update(bytes).digest('hex');
  const read = await readPdf(bytes, signal === undefined ? {} : { signal });
  if ('reason' in read) return { path, reason: read.reason };
  const title = read.title ?? basename(path).slice(0, basename(path).length - extname(path).length);
  return { path, title, tags: [], text: read.pages.join('\n'), hash, pages: read.pages };
}

/**
 * The raw bytes of `root/path`, or the reason they cannot be had. Checks the real path is inside the
 * folder and not hidden, refuses non-regular files before opening (opening a FIFO would block), and
 * re-checks the size after reading in case the file grew in between.
 */
export async function readNoteBytes(root: string, path: string, maxBytes: number): Promise<Uint8Array | string> {
  try {
    const real = await realpath(join(root, ...path.split('/')));
    if (!isInside(root, real)) return 'symlink pointing outside the notes folder; not followed';
    if (relative(root, real).split(sep).some(isIgnoredName)) {
      return 'symlink pointing to a hidden or node_modules file; not followed';
    }
    const info = await stat(real);
    if (!info.isFile()) return 'not a regular file; skipped';
    if (info.size > maxBytes) return tooLarge(info.size, maxBytes);
    // O_NONBLOCK: should the file be swapped for a FIFO after the check, open must not hang.
    const handle = await open(real, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0) | (constants.O_NOFOLLOW ?? 0));
    try {
      const opened = await handle.stat();
      if (!opened.isFile()) return 'not a regular file; skipped';
      if (opened.size > maxBytes) return tooLarge(opened.size, maxBytes);
      const bytes = await handle.readFile();
      if (bytes.length > maxBytes) return tooLarge(bytes.length, maxBytes);
      return bytes;
    } finally {
      await handle.close();
    }
  } catch (error) {
    return `cannot be read (${describeError(error)})`;
  }
}

function tooLarge(size: number, maxBytes: number): string {
  return `${formatMiB(size)} is larger than the ${formatMiB(maxBytes)} limit for a note; skipped`;
}

function formatMiB(bytes: number): string {
  const mib = bytes / (1024 * 1024);
  return mib >= 0.1 ? `${Number(mib.toFixed(1))} MiB` : `${bytes} bytes`;
}

function describeError(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  switch (code) {
    case 'ENOENT':
      return 'it no longer exists';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'ELOOP':
      return 'too many symlinks, probably a loop';
    case 'EISDIR':
      return 'it is a folder';
    default:
      return typeof code === 'string' ? code : error instanceof Error ? error.message : String(error);
  }
}

/**
 * Pure: bytes to a Note, or the reason they are not one. Accepts UTF-8 with or without a BOM;
 * rejects UTF-16 (common from Windows editors), invalid UTF-8 and NUL bytes (binary files).
 */
export function parseNote(path: string, bytes: Uint8Array): Note | NoteFailure {
  const hash = createHash('sha256').update(bytes).digest('hex');
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    return { path, reason: 'the file is UTF-16 encoded; save it as UTF-8' };
  }
  let text: string;
  try {
    // A fresh decoder each time: a fatal decoder that threw is left in an unusable state for streaming.
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return { path, reason: 'not valid UTF-8 text (a binary file, or another encoding such as Latin-1); save it as UTF-8' };
  }
  if (text.includes('\0')) return { path, reason: 'contains NUL bytes, so it looks like a binary file; skipped' };
  const frontMatter = splitFrontMatter(text);
  const title =
    scalarText(frontMatter.data['title']) ??
    firstLevelOneHeading(text) ??
    basename(path).slice(0, basename(path).length - extname(path).length);
  const note: Note = { path, title, tags: noteTags(frontMatter.data['tags'], text), text, hash };
  if (frontMatter.problem !== undefined) note.warnings = [frontMatter.problem];
  const aliases = frontMatterAliases(frontMatter.data);
  if (aliases.length > 0) note.aliases = aliases;
  return note;
}

function scalarText(value: unknown): string | undefined {
  if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'bigint') return undefined;
  const text = String(value).trim();
  return text === '' ? undefined : text;
}

function byPath(left: { path: string } | string, right: { path: string } | string): number {
  const a = typeof left === 'string' ? left : left.path;
  const b = typeof right === 'string' ? right : right.path;
  // Code-unit order, not locale order: the same on every machine.
  return a < b ? -1 : a > b ? 1 : 0;
}
