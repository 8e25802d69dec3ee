/**
 * Pure: any note (Markdown with vault syntax, plain text, or a PDF's pages) -> chunks of one shape.
 *
 * - Markdown and text go through `chunkMarkdown`; what is embedded then gets the words a reader sees
 *   (`displayText`: wikilinks as their alias or target name, callout markers dropped) and the note's
 *   front-matter aliases beside its title. Chunk text and line ranges stay the note's own lines.
 * - A PDF is chunked page by page (a chunk never spans two pages); its chunks carry `page` (1-based)
 *   and line ranges within that page's text (`read-pdf.ts` makes the lines).
 * Anything here that changes chunks or their embedded text for the same note bumps `CHUNKER_VERSION`.
 */
import { createHash } from 'node:crypto';
import { chunkMarkdown, type Chunk, type ChunkOptions } from './chunk-markdown.ts';
import { displayText } from './vault-syntax.ts';

/** What the chunker needs of a note (every `Note` is one). */
export interface ChunkableNote {
  path: string;
  title: string;
  text: string;
  /** Front matter `aliases`: more names of the same note, embedded and indexed beside its title. */
  aliases?: string[];
  /** A PDF's text, one string per page: the note is chunked page by page. */
  pages?: string[];
}

export interface NoteChunk extends Chunk {
  /** For a PDF: the 1-based page; `lines` are then lines of that page's text. */
  page?: number;
}

/** The note's title with its aliases: the words every chunk of it is found by. */
export function titleWords(note: Pick<ChunkableNote, 'title' | 'aliases'>): string {
  const others = (note.aliases ?? []).filter((alias) => alias !== note.title);
  return others.length === 0 ? note.title : `${note.title} (${others.join(', ')})`;
}

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}

/** The chunks of one note, best split first; see the module comment. */
export function chunkNote(note: ChunkableNote, options: ChunkOptions = {}): NoteChunk[] {
  const title = titleWords(note);
  const withShownWords = (chunk: Chunk): Chunk => ({
    ...chunk,
    heading: displayText(chunk.heading),
    // `embedText` starts with the note's title (chunk-markdown.ts): the aliases go beside it.
    embedText: `${title}${displayText(chunk.embedText.slice(note.title.length))}`,
  });
  if (note.pages === undefined) return chunkMarkdown(note, options).map(withShownWords);
  const chunks: NoteChunk[] = [];
  note.pages.forEach((text, index) => {
    const page = index + 1;
    for (const chunk of chunkMarkdown({ path: note.path, title: note.title, text }, options)) {
      // The same text on two pages (a running header) must still give two ids.
      chunks.push({ ...withShownWords(chunk), id: sha256(`${chunk.id}\npage ${page}`).slice(0, 20), page });
    }
  });
  return chunks;
}
