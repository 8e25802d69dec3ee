/**
 * What `GET /notes/<path>` serves besides a note's text: a PDF's bytes, one page's text (the same
 * lines the index cites, from `read-pdf.ts`), and a Markdown note's wikilinks resolved to notes.
 * Only indexed notes are served; paths go through the same checks as every other read of NOTES_DIR.
 */
import { createHash } from 'node:crypto';
import { realpath } from 'node:fs/promises';
import { resolve } from 'node:path';
import { isNotePath, isPdfPath, MAX_NOTE_BYTES, MAX_PDF_BYTES, readNoteBytes } from './load-notes.ts';
import { readPdf } from './read-pdf.ts';
import { resolveLinks, resolverFor, type ResolvedLink } from './resolve-links.ts';

export interface NoteFiles {
  /** The bytes of an indexed PDF, or undefined. */
  pdf(relativePath: string): Promise<Uint8Array | undefined>;
  /** The text of page `page` (1-based) of an indexed PDF, lines as indexed; undefined past its last page. */
  pdfPage(relativePath: string, page: number): Promise<string | undefined>;
  /** The wikilinks of an indexed Markdown note with the notes they open, or undefined. */
  links(relativePath: string): Promise<ResolvedLink[] | undefined>;
}

export interface NoteFilesOptions {
  notesDir: string;
  /** The indexed notes (the live index's `manifest.notes`), or undefined while there is no index. */
  indexed(): Record<string, unknown> | undefined;
}

/** Parsed PDFs kept for `?page=N` (a reader pages through one document): a few, by content hash. */
const PAGE_CACHE_SIZE = 4;

export function createNoteFiles(options: NoteFilesOptions): NoteFiles {
  const pageCache = new Map<string, string[]>();

  async function bytesOf(relativePath: string): Promise<Uint8Array | undefined> {
    const indexed = options.indexed();
    if (indexed === undefined || !Object.hasOwn(indexed, relativePath) || !isNotePath(relativePath)) return undefined;
    let root: string;
    try {
      root = await realpath(resolve(options.notesDir));
    } catch {
      return undefined;
    }
    const bytes = await readNoteBytes(root, relativePath, isPdfPath(relativePath) ? MAX_PDF_BYTES : MAX_NOTE_BYTES);
    return typeof bytes === 'string' ? undefined : bytes;
  }

  async function pagesOf(bytes: Uint8Array): Promise<string[] | undefined> {
    const key = createHash('sha256').update(bytes).digest('hex');
    const cached = pageCache.get(key);
    if (cached !== undefined) return cached;
    const read = await readPdf(bytes);
    if ('reason' in read) return undefined;
    pageCache.set(key, read.pages);
    if (pageCache.size > PAGE_CACHE_SIZE) pageCache.delete(pageCache.keys().next().value!);
    return read.pages;
  }

  return {
    async pdf(relativePath) {
      return isPdfPath(relativePath) ? bytesOf(relativePath) : undefined;
    },
    async pdfPage(relativePath, page) {
      const bytes = isPdfPath(relativePath) ? await bytesOf(relativePath) : undefined;
      const pages = bytes === undefined ? undefined : await pagesOf(bytes);
      return pages?.[page - 1];
    },
    async links(relativePath) {
      if (isPdfPath(relativePath)) return undefined;
      const bytes = await bytesOf(relativePath);
      const indexed = options.indexed();
      if (bytes === undefined || indexed === undefined) return undefined;
      let text: string;
      try {
        text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
      } catch {
        return undefined;
      }
      return resolveLinks(text.replace(/\r\n/g, '\n'), 1, relativePath, resolverFor(indexed));
    },
  };
}
